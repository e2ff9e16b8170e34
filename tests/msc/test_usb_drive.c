/* The USB drive over the real core and the device models (tests/core/mock_hal.c), with
 * the fake controller as the PC: the generation counters move before the bytes do, a
 * read never runs while a command is under way, a read during a background erase
 * suspends and resumes it, and the data file read back through USB (enumeration,
 * READ(10), the FAT16 layout) is byte for byte what was appended over I2C. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "cfgstore.h"
#include "core.h"
#include "datafile.h"
#include "errors.h"
#include "fake_dcd.h"
#include "flashbridge/protocol.h"
#include "hal.h"
#include "mock_hal.h"
#include "usb_drive.h"
#include "w25q64.h"

static void append(uint32_t seed, uint32_t n)
{
    while (n) {
        uint8_t k = n > FB_WRITE_DATA_MAX ? FB_WRITE_DATA_MAX : (uint8_t)n;
        uint8_t f[2 + FB_WRITE_DATA_MAX] = {FB_CMD_WRITE_DATA, k};
        for (uint8_t i = 0; i < k; i++)
            f[2 + i] = (uint8_t)((seed + i) * 13u + 7u);
        mock_write(f, sizeof f);
        mock_run_idle();
        seed += k;
        n -= k;
    }
}

static uint8_t pattern(uint32_t off)
{
    return (uint8_t)(off * 13u + 7u);
}

/* ---- the stores' generation counters ---- */

static void generations_move_before_bytes(void **state)
{
    (void)state;
    append(0, 300);
    uint32_t g = df_generation();
    append(300, 300); /* appends leave it */
    assert_int_equal(df_generation(), g);
    assert_int_equal(df_size(), 600);
    uint8_t clear = FB_CMD_CLEAR_FLASH;
    mock_write(&clear, 1);
    mock_run(1); /* the CLEAR has started: its record is not written yet */
    assert_int_not_equal(df_generation(), g);
    assert_int_equal(df_size(), 600);
    mock_run_idle();
    assert_int_equal(df_size(), 0);
    g = df_generation();
    uint8_t rename[1 + FB_FILENAME_LEN] = {FB_CMD_SET_FILENAME};
    memcpy(rename + 1, "LOG     TXT", FB_FILENAME_LEN);
    mock_write(rename, sizeof rename);
    mock_run(1);
    assert_int_not_equal(df_generation(), g);
    mock_run_idle();
    uint32_t c = cfg_generation();
    uint8_t wc[4 + FB_WRITE_CONFIG_MAX] = {FB_CMD_WRITE_CONFIG, 0, 16, 4, 1, 2, 3, 4};
    mock_write(wc, sizeof wc);
    mock_run(1);
    assert_int_not_equal(cfg_generation(), c);
    mock_run_idle();
    /* a transaction's staging changes nothing committed; its commit does */
    c = cfg_generation();
    uint8_t begin = FB_CMD_CONFIG_BEGIN, commit = FB_CMD_CONFIG_COMMIT;
    mock_write(&begin, 1);
    mock_run_idle();
    mock_write(wc, sizeof wc);
    mock_run_idle();
    assert_int_equal(cfg_generation(), c);
    mock_write(&commit, 1);
    mock_run(1);
    assert_int_not_equal(cfg_generation(), c);
    mock_run_idle();
}

/* ---- reads through the engine ---- */

static void reads_wait_for_commands(void **state)
{
    (void)state;
    append(0, 1000);
    uint8_t f[2 + FB_WRITE_DATA_MAX] = {FB_CMD_WRITE_DATA, FB_WRITE_DATA_MAX};
    mock_write(f, sizeof f);
    mock_run(1); /* the append is under way */
    uint8_t b[16];
    assert_false(fb_core_usb_acquire());
    assert_int_equal(fb_core_usb_read_file(0, b, sizeof b), FB_EAGAIN);
    mock_run_idle();
    assert_true(fb_core_usb_acquire());
    fb_core_usb_release();
    assert_int_equal(fb_core_usb_read_file(990, b, sizeof b), FB_OK);
    for (int i = 0; i < 10; i++)
        assert_int_equal(b[i], pattern(990u + (uint32_t)i));
    assert_int_equal(b[10], 0x00); /* the frame's zero data bytes, appended after */
    /* config: not between the steps of a store */
    uint8_t wc[4 + FB_WRITE_CONFIG_MAX] = {FB_CMD_WRITE_CONFIG, 0, 0, 2, 0xAB, 0xCD};
    mock_write(wc, sizeof wc);
    mock_run(1);
    int rc = fb_core_usb_read_config(0, b, 2);
    mock_run_idle();
    assert_true(rc == FB_EAGAIN || rc == FB_OK); /* FB_OK when the store took one step */
    assert_int_equal(fb_core_usb_read_config(0, b, 2), FB_OK);
    assert_int_equal(b[0], 0xAB);
    assert_int_equal(b[1], 0xCD);
}

static void reads_suspend_the_background_erase(void **state)
{
    (void)state;
    append(0, 20000);
    uint8_t clear = FB_CMD_CLEAR_FLASH;
    mock_write(&clear, 1);
    mock_run_idle();
    append(0, 3000);
    /* run until the eraser holds the chip with an erase */
    int i;
    for (i = 0; i < 2000000 && !df_background_busy(); i++)
        mock_run(1);
    assert_true(df_background_busy());
    bool ok = false;
    for (i = 0; i < 200000 && !ok; i++) { /* a resume gives the erase W25Q_MIN_RUN_MS */
        ok = fb_core_usb_acquire();
        if (!ok)
            mock_run(1);
    }
    assert_true(ok);
    uint8_t b[512];
    assert_int_equal(fb_core_usb_read_file(2000, b, sizeof b), FB_OK);
    for (uint32_t k = 0; k < sizeof b; k++)
        assert_int_equal(b[k], pattern(2000u + k));
    fb_core_usb_release();
    mock_run_background(); /* and the erase still finishes */
    assert_false(df_background_pending());
}

/* ---- the whole stack: I2C appends, USB reads ---- */

static void run_all(void)
{
    for (int i = 0; i < 200; i++) {
        bool more = usb_drive_task(hal_millis());
        mock_run(1);
        if (!more && i > 4)
            break;
    }
}

static enum fd_result ctrl(uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                           uint16_t length, uint8_t *buf)
{
    uint8_t p[8] = {type, req, (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)index,
                    (uint8_t)(index >> 8), (uint8_t)length, (uint8_t)(length >> 8)};
    fd_setup(p);
    run_all();
    uint8_t pk[DCD_MPS];
    uint16_t n, got = 0;
    if (type & 0x80) {
        for (;;) {
            enum fd_result r = fd_in(0x80, pk, &n);
            if (r != FD_ACK)
                return r;
            memcpy(buf + got, pk, n);
            got = (uint16_t)(got + n);
            run_all();
            if (n < DCD_MPS || got == length)
                break;
        }
        enum fd_result r = fd_out(0x00, NULL, 0);
        run_all();
        return r;
    }
    enum fd_result r = fd_in(0x80, pk, &n);
    run_all();
    return r;
}

/* READ(10) of count sectors into out; the CSW's status. */
static uint8_t read10(uint32_t lba, uint16_t count, uint8_t *out)
{
    static uint32_t tag = 1;
    uint8_t c[31] = {'U', 'S', 'B', 'C'};
    uint32_t len = count * 512u;
    memcpy(c + 4, &tag, 4); /* the host is little-endian like USB */
    memcpy(c + 8, &len, 4);
    c[12] = 0x80;
    c[14] = 10;
    uint8_t cdb[10] = {0x28, 0, (uint8_t)(lba >> 24), (uint8_t)(lba >> 16), (uint8_t)(lba >> 8),
                       (uint8_t)lba, 0, (uint8_t)(count >> 8), (uint8_t)count, 0};
    memcpy(c + 15, cdb, 10);
    assert_int_equal(fd_out(0x02, c, sizeof c), FD_ACK);
    run_all();
    uint32_t got = 0;
    uint8_t pk[DCD_MPS];
    uint16_t n;
    int waits = 0;
    while (got < len) {
        enum fd_result r = fd_in(0x81, pk, &n);
        if (r == FD_STALL)
            break;
        if (r == FD_NAK) {
            assert_true(++waits < 100000);
            run_all();
            continue;
        }
        memcpy(out + got, pk, n);
        got += n;
        run_all();
    }
    enum fd_result r;
    while ((r = fd_in(0x81, pk, &n)) != FD_ACK) {
        if (r == FD_STALL) {
            assert_int_equal(ctrl(0x02, 1, 0, 0x81, 0, NULL), FD_ACK);
            continue;
        }
        run_all();
    }
    run_all();
    assert_int_equal(n, 13);
    assert_memory_equal(pk, "USBS", 4);
    tag++;
    return pk[12];
}

static void file_through_usb(void **state)
{
    (void)state;
    const uint32_t size = 7000;
    append(0, size);
    uint8_t uid[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    fd_init();
    usb_drive_init(uid);
    fd_bus_reset();
    run_all();
    uint8_t b[512 * 16];
    assert_int_equal(ctrl(0x80, 6, 0x0100, 0, 18, b), FD_ACK);
    assert_int_equal(b[12] | b[13] << 8, 0x0200); /* bcdDevice: firmware 2.0 */
    assert_int_equal(ctrl(0x00, 5, 3, 0, 0, NULL), FD_ACK);
    assert_int_equal(ctrl(0x00, 9, 1, 0, 0, NULL), FD_ACK);
    /* boot sector: where the root directory and the data area are */
    assert_int_equal(read10(0, 1, b), 0);
    uint32_t reserved = b[14] | b[15] << 8, fats = b[16], roots = b[17] | b[18] << 8;
    uint32_t fat_sectors = b[22] | b[23] << 8, spc = b[13];
    uint32_t root = reserved + fats * fat_sectors, data = root + roots * 32u / 512u;
    assert_int_equal(read10(root, 1, b), 0);
    /* entry 0 is the label; find DATA.CSV */
    const uint8_t *e = NULL;
    for (int i = 1; i < 16; i++)
        if (memcmp(b + 32 * i, FB_DEFAULT_FILENAME, FB_FILENAME_LEN) == 0)
            e = b + 32 * i;
    assert_non_null(e);
    uint32_t cluster = e[26] | e[27] << 8;
    uint32_t fsize = e[28] | e[29] << 8 | (uint32_t)e[30] << 16 | (uint32_t)e[31] << 24;
    assert_int_equal(fsize, size);
    /* the file's clusters are one run (docs/USB.md, volume layout) */
    uint32_t lba = data + (cluster - 2u) * spc;
    uint32_t sectors = (size + 511u) / 512u;
    assert_true(sectors <= 16);
    assert_int_equal(read10(lba, (uint16_t)sectors, b), 0);
    for (uint32_t k = 0; k < size; k++)
        assert_int_equal(b[k], pattern(k));
    /* a CLEAR over I2C: the next command meets the media change; then the new file */
    uint8_t clear = FB_CMD_CLEAR_FLASH;
    mock_write(&clear, 1);
    mock_run_idle();
    assert_int_equal(read10(lba, 1, b), 1); /* CHECK CONDITION: UNIT ATTENTION */
    assert_int_equal(read10(root, 1, b), 0);
    for (int i = 1; i < 16; i++)
        if (memcmp(b + 32 * i, FB_DEFAULT_FILENAME, FB_FILENAME_LEN) == 0)
            e = b + 32 * i;
    assert_int_equal(e[28] | e[29] << 8, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(generations_move_before_bytes, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(reads_wait_for_commands, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(reads_suspend_the_background_erase, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(file_through_usb, mock_setup, mock_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
