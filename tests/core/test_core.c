/* Core protocol and storage behaviour, driven through the interrupt entry points on the
 * device models (mock_hal.c). Each test names the rule it checks. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "crc.h"
#include "flashbridge/protocol.h"
#include "i2c_target.h"
#include "mock_hal.h"

static void send_write_data(const uint8_t *data, uint8_t n)
{
    uint8_t f[32] = {FB_CMD_WRITE_DATA, n};
    memcpy(&f[2], data, n);
    mock_write(f, sizeof f);
}

static void append(const uint8_t *data, size_t n)
{
    while (n) {
        uint8_t chunk = n > FB_WRITE_DATA_MAX ? FB_WRITE_DATA_MAX : (uint8_t)n;
        send_write_data(data, chunk);
        mock_run_idle();
        data += chunk;
        n -= chunk;
    }
    assert_int_equal(mock_error(), 0);
}

static uint32_t file_size(void)
{
    uint8_t b[4];
    mock_read_reg(FB_CMD_FILE_SIZE, b, 4);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void write_config(uint16_t off, const uint8_t *data, uint8_t n)
{
    uint8_t f[32] = {FB_CMD_WRITE_CONFIG, (uint8_t)(off >> 8), (uint8_t)off, n};
    memcpy(&f[4], data, n);
    mock_write(f, sizeof f);
    mock_run_idle();
}

static void read_config(uint16_t off, uint8_t out[256])
{
    uint8_t f[3] = {FB_CMD_READ_CONFIG, (uint8_t)(off >> 8), (uint8_t)off};
    mock_write(f, sizeof f);
    mock_run_idle();
    mock_plain_read(out, 256);
}

static void fill_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)((i * 131u + seed) ^ (i >> 7));
}

/* ---- registers ---- */

static void who_am_i_by_repeated_start_and_plain_read(void **state)
{
    (void)state;
    uint8_t id = 0;
    mock_read_reg(FB_CMD_WHO_AM_I, &id, 1);
    assert_int_equal(id, FB_WHO_AM_I_VALUE);
    uint8_t cmd = FB_CMD_WHO_AM_I;
    mock_write(&cmd, 1);
    id = 0;
    mock_plain_read(&id, 1);
    assert_int_equal(id, FB_WHO_AM_I_VALUE);
}

static void register_selection_does_not_outlive_the_next_write(void **state)
{
    (void)state;
    uint8_t cmd = FB_CMD_GET_FILENAME;
    mock_write(&cmd, 1); /* selected for a plain read that never comes */
    uint8_t d[28] = {'a', 'b', 'c'};
    write_config(0, d, 3);
    uint8_t out[256];
    read_config(0, out);
    assert_memory_equal(out, d, 3);
}

static void status_idle_shows_free_slots(void **state)
{
    (void)state;
    assert_int_equal(mock_status(), FB_QUEUE_DEPTH);
}

static void unknown_command_sets_sticky_error_cleared_by_read(void **state)
{
    (void)state;
    uint8_t cmd = 0x55;
    mock_snapshot();
    mock_write(&cmd, 1);
    mock_run_idle();
    /* Register polls do not clear it (a v1 defect): STATUS, EXT_STATUS, the other
     * registers. */
    assert_true(mock_status() & FB_STATUS_ERROR);
    assert_int_equal(mock_v1_status(), 0);
    uint8_t b[11];
    mock_read_reg(FB_CMD_GET_FILENAME, b, 11);
    mock_read_reg(FB_CMD_FILE_SIZE, b, 4);
    assert_true(mock_status() & FB_STATUS_ERROR);
    /* ERROR and ERRORS are independent: each read clears only its own register. */
    assert_int_equal(mock_error(), FB_ERR_UNKNOWN_CMD | FB_ERR_FAILED);
    assert_int_equal(mock_error(), 0);
    assert_true(mock_status() & FB_STATUS_ERROR);
    assert_int_equal(mock_errors(), FB_ERR_UNKNOWN_CMD | FB_ERR_FAILED);
    assert_int_equal(mock_errors(), 0);
    assert_false(mock_status() & FB_STATUS_ERROR);
    mock_assert_flash_unchanged();
}

static void error_survives_a_read_aborted_before_the_byte(void **state)
{
    (void)state;
    uint8_t cmd = 0x55;
    mock_write(&cmd, 1);
    mock_run_idle();
    /* Controller addresses ERROR, then the bus aborts before any byte is clocked out. */
    fb_i2c_addr(false);
    fb_i2c_write_byte(FB_CMD_ERROR);
    fb_i2c_addr(true);
    fb_i2c_abort();
    assert_int_equal(mock_error(), FB_ERR_UNKNOWN_CMD | FB_ERR_FAILED);
}

static void register_with_parameters_is_bad_param(void **state)
{
    (void)state;
    uint8_t f[2] = {FB_CMD_STATUS, 0};
    mock_write(f, 2);
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
}

static void probe_and_abort_post_nothing(void **state)
{
    (void)state;
    mock_write(NULL, 0);
    uint8_t f[32] = {FB_CMD_WRITE_DATA, 5, 1, 2, 3, 4, 5};
    mock_write_abort(f, sizeof f);
    assert_int_equal(mock_status(), FB_QUEUE_DEPTH);
    mock_run_idle();
    assert_int_equal(file_size(), 0);
    assert_int_equal(mock_error(), 0);
}

/* ---- bad frames: documented error, nothing changes ---- */

static void bad_frames_are_rejected_and_change_nothing(void **state)
{
    (void)state;
    static const struct {
        uint8_t len;
        uint8_t bytes[40];
        uint8_t err;
    } cases[] = {
        {11, {FB_CMD_SET_FILENAME, 'A', 'B'}, FB_ERR_BAD_PARAM},                /* short */
        {13, {FB_CMD_SET_FILENAME, 'A', 'B', ' ', ' ', ' ', ' ', ' ', ' ', 'C', 'S', 'V', 0},
         FB_ERR_BAD_PARAM},                                                     /* long */
        {31, {FB_CMD_WRITE_DATA, 3, 1, 2, 3}, FB_ERR_BAD_PARAM},                /* short */
        {32, {FB_CMD_WRITE_DATA, 31}, FB_ERR_BAD_PARAM},                         /* n > 30 */
        {33, {FB_CMD_WRITE_DATA, 1}, FB_ERR_BAD_PARAM},                          /* long */
        {40, {FB_CMD_WRITE_CONFIG, 0, 0, 1}, FB_ERR_BAD_PARAM},                  /* overlong */
        {2, {FB_CMD_READ_SECTOR, 0}, FB_ERR_BAD_PARAM},                          /* short */
        {3, {FB_CMD_READ_SECTOR, 0x80, 0x00}, FB_ERR_BAD_PARAM},                 /* 32768 */
        {32, {FB_CMD_WRITE_CONFIG, 0x03, 0xF0, 17}, FB_ERR_BAD_PARAM},           /* 1008+17 */
        {32, {FB_CMD_WRITE_CONFIG, 0x04, 0x00, 1}, FB_ERR_BAD_PARAM},            /* off 1024 */
        {32, {FB_CMD_WRITE_CONFIG, 0, 0, 29}, FB_ERR_BAD_PARAM},                 /* len > 28 */
        {3, {FB_CMD_READ_CONFIG, 0x04, 0x00}, FB_ERR_BAD_PARAM},                 /* off 1024 */
        {2, {FB_CMD_CLEAR_FLASH, 0}, FB_ERR_BAD_PARAM},
        {2, {FB_CMD_CLEAR_CONFIG, 0}, FB_ERR_BAD_PARAM},
        {12, {FB_CMD_SET_FILENAME, 'A', '.', 'B', ' ', ' ', ' ', ' ', ' ', 'C', 'S', 'V'},
         FB_ERR_BAD_NAME},
        {12, {FB_CMD_SET_FILENAME, ' ', 'A', ' ', ' ', ' ', ' ', ' ', ' ', 'C', 'S', 'V'},
         FB_ERR_BAD_NAME},
        {12, {FB_CMD_SET_FILENAME, 'A', 'b', ' ', ' ', ' ', ' ', ' ', ' ', 'C', 'S', 'V'},
         FB_ERR_BAD_NAME},
        {12, {FB_CMD_SET_FILENAME, 'A', 'B', ' ', ' ', ' ', ' ', ' ', ' ', 'C', '*', 'V'},
         FB_ERR_BAD_NAME},
        {1, {0x00}, FB_ERR_UNKNOWN_CMD},
        {32, {0xEE}, FB_ERR_UNKNOWN_CMD},
    };
    uint8_t name_before[11];
    mock_read_reg(FB_CMD_GET_FILENAME, name_before, 11);
    mock_snapshot();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mock_write(cases[i].bytes, cases[i].len);
        mock_run_idle();
        uint8_t err = mock_error();
        if (err != (cases[i].err | FB_ERR_FAILED))
            fail_msg("case %zu: error 0x%02x, expected 0x%02x", i, err,
                     cases[i].err | FB_ERR_FAILED);
    }
    mock_assert_flash_unchanged();
    uint8_t name_after[11];
    mock_read_reg(FB_CMD_GET_FILENAME, name_after, 11);
    assert_memory_equal(name_before, name_after, 11);
    assert_int_equal(file_size(), 0);
    uint8_t cfg[256];
    read_config(0, cfg);
    for (int i = 0; i < 256; i++)
        assert_int_equal(cfg[i], 0xFF);
}

/* ---- data file ---- */

static void append_with_ff_bytes_reads_back_exactly(void **state)
{
    (void)state;
    uint8_t data[100];
    memset(data, 0xFF, sizeof data);
    data[0] = 'x';
    data[99] = 'y';
    append(data, sizeof data);
    assert_int_equal(file_size(), 100);
    uint8_t out[256];
    mock_read_sector(0, out);
    assert_memory_equal(out, data, 100);
    for (int i = 100; i < 256; i++)
        assert_int_equal(out[i], 0xFF); /* v1 hosts stop at the first 0xFF past the end */
    mock_read_sector(32767, out);
    for (int i = 0; i < 256; i++)
        assert_int_equal(out[i], 0xFF);
}

static void appends_cross_page_and_sector_boundaries_and_survive_reboot(void **state)
{
    (void)state;
    size_t n = 3 * 4096 + 700;
    uint8_t *data = malloc(n);
    fill_pattern(data, n, 7);
    append(data, n);
    assert_int_equal(file_size(), n);
    mock_reboot();
    assert_int_equal(file_size(), n);
    uint8_t out[256];
    for (uint16_t s = 0; s * 256u < n; s++) {
        mock_read_sector(s, out);
        size_t have = n - s * 256u < 256 ? n - s * 256u : 256;
        assert_memory_equal(out, &data[s * 256u], have);
    }
    free(data);
}

static void response_survives_status_and_error_reads(void **state)
{
    (void)state;
    uint8_t data[30];
    fill_pattern(data, sizeof data, 3);
    append(data, sizeof data);
    uint8_t f[3] = {FB_CMD_READ_SECTOR, 0, 0};
    mock_write(f, 3);
    mock_run_idle();
    assert_true(mock_status() & FB_STATUS_READY);
    (void)mock_error();
    uint8_t id;
    mock_read_reg(FB_CMD_WHO_AM_I, &id, 1);
    uint8_t out[256];
    mock_plain_read(out, 256);
    assert_memory_equal(out, data, sizeof data);
    /* and it can be read again */
    mock_plain_read(out, 256);
    assert_memory_equal(out, data, sizeof data);
}

static void plain_read_before_response_ready_gives_ff(void **state)
{
    (void)state;
    uint8_t f[3] = {FB_CMD_READ_CONFIG, 0, 0};
    mock_write(f, 3);
    assert_true(mock_status() & FB_STATUS_BUSY);
    assert_false(mock_status() & FB_STATUS_READY);
    uint8_t out[4];
    mock_plain_read(out, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i], 0xFF);
    mock_run_idle();
    assert_true(mock_status() & FB_STATUS_READY);
}

static void commands_while_busy_queue_then_overflow_is_reported(void **state)
{
    (void)state;
    uint8_t d[30];
    for (int i = 0; i < 30; i++)
        d[i] = (uint8_t)i;
    /* No main-loop pass in between: the first frame is still waiting. */
    for (unsigned i = 0; i < FB_QUEUE_DEPTH; i++)
        send_write_data(d, 30);
    uint8_t st = mock_status();
    assert_true(st & FB_STATUS_BUSY);
    assert_int_equal(st & FB_STATUS_QUEUE_MASK, 0);
    send_write_data(d, 30); /* one too many */
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_QUEUE_FULL | FB_ERR_FAILED);
    assert_int_equal(file_size(), FB_QUEUE_DEPTH * 30u);
    uint8_t out[256];
    mock_read_sector(0, out);
    for (unsigned i = 0; i < FB_QUEUE_DEPTH * 30u; i++)
        assert_int_equal(out[i], i % 30);
}

static void frames_arriving_during_flash_work_are_queued(void **state)
{
    (void)state;
    uint8_t d[30];
    memset(d, 0xA5, sizeof d);
    send_write_data(d, 30);
    mock_run(3); /* the append is under way */
    assert_true(mock_status() & FB_STATUS_BUSY);
    send_write_data(d, 30);
    uint8_t name[12] = {FB_CMD_SET_FILENAME, 'L', 'O', 'G', ' ', ' ', ' ', ' ', ' ', 'T', 'X', 'T'};
    mock_write(name, sizeof name);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    assert_int_equal(file_size(), 60);
    uint8_t got[11];
    mock_read_reg(FB_CMD_GET_FILENAME, got, 11);
    assert_memory_equal(got, &name[1], 11);
}

static void set_filename_persists(void **state)
{
    (void)state;
    uint8_t name[12] = {FB_CMD_SET_FILENAME, 'D', 'A', 'T', 'A', '_', '1', ' ', ' ', 'C', 'S', ' '};
    mock_write(name, sizeof name);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    mock_reboot();
    uint8_t got[11];
    mock_read_reg(FB_CMD_GET_FILENAME, got, 11);
    assert_memory_equal(got, &name[1], 11);
    /* write-then-plain-read form of the register, as well */
    uint8_t cmd = FB_CMD_GET_FILENAME;
    mock_write(&cmd, 1);
    mock_plain_read(got, 11);
    assert_memory_equal(got, &name[1], 11);
}

static void clear_then_append_rewrites_from_zero(void **state)
{
    (void)state;
    uint8_t a[90], b[40];
    memset(a, 0x11, sizeof a);
    memset(b, 0x22, sizeof b);
    append(a, sizeof a);
    uint8_t clr = FB_CMD_CLEAR_FLASH;
    mock_write(&clr, 1);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    assert_int_equal(file_size(), 0);
    uint8_t out[256];
    mock_read_sector(0, out);
    for (int i = 0; i < 256; i++)
        assert_int_equal(out[i], 0xFF);
    append(b, sizeof b);
    mock_reboot();
    assert_int_equal(file_size(), 40);
    mock_read_sector(0, out);
    assert_memory_equal(out, b, 40);
    assert_int_equal(out[40], 0xFF);
}

static void metadata_compaction_keeps_name_and_size(void **state)
{
    (void)state;
    uint8_t name[12] = {FB_CMD_SET_FILENAME, 'K', 'E', 'E', 'P', ' ', ' ', ' ', ' ', 'B', 'I', 'N'};
    mock_write(name, sizeof name);
    mock_run_idle();
    /* 600 one-byte appends: more records than one metadata sector holds (255). */
    for (int i = 0; i < 600; i++) {
        uint8_t b = (uint8_t)i;
        send_write_data(&b, 1);
        mock_run_idle();
    }
    assert_int_equal(mock_error(), 0);
    mock_reboot();
    assert_int_equal(file_size(), 600);
    uint8_t got[11];
    mock_read_reg(FB_CMD_GET_FILENAME, got, 11);
    assert_memory_equal(got, &name[1], 11);
    uint8_t out[256];
    mock_read_sector(2, out);
    for (int i = 0; i < 88; i++)
        assert_int_equal(out[i], (uint8_t)(512 + i));
    assert_true(w25m_erase_count(mock_w25, FB_FILE_CAPACITY / 4096u) >= 1);
}

static void torn_metadata_record_is_ignored(void **state)
{
    (void)state;
    uint8_t d[10];
    memset(d, 0x42, sizeof d);
    append(d, sizeof d);
    /* A cut left half a record in the next slot: it must neither count nor be reused. */
    uint32_t meta = FB_FILE_CAPACITY;
    const uint8_t *arr = w25m_array(mock_w25);
    uint32_t slot = 0;
    while (arr[meta + slot * 16] != 0xFF)
        slot++;
    uint8_t torn[6] = {'S', 0x00, 0x00, 0x10, 0x00, 0x00};
    mock_flash_program(meta + slot * 16, torn, sizeof torn);
    mock_reboot();
    assert_int_equal(file_size(), 10);
    append(d, sizeof d);
    mock_reboot();
    assert_int_equal(file_size(), 20);
}

static void data_written_on_a_new_chip_survives_reboot_and_background_erase(void **state)
{
    (void)state;
    /* A new chip counts as dirty everywhere; blank blocks pass without a record. After a
     * reboot the eraser must still keep off the file. */
    uint8_t name[12] = {FB_CMD_SET_FILENAME, 'K', 'E', 'E', 'P', ' ', ' ', ' ', ' ', 'D', 'A', 'T'};
    mock_teardown();
    mock_w25 = w25m_create(NULL, W25M_TIMING_TYPICAL, NULL);
    mock_f1 = f1m_create(NULL, 65536u, F1M_TIMING_TYPICAL, NULL);
    mock_reboot();
    mock_write(name, sizeof name);
    mock_run_idle();
    uint8_t d[30];
    fill_pattern(d, sizeof d, 11);
    append(d, sizeof d);
    mock_reboot();
    mock_run_background();
    assert_int_equal(file_size(), 30);
    uint8_t out[256];
    mock_read_sector(0, out);
    assert_memory_equal(out, d, 30);
}

static void append_repairs_leftovers_of_an_interrupted_write(void **state)
{
    (void)state;
    uint8_t d[10], e[300];
    memset(d, 0x33, sizeof d);
    fill_pattern(e, sizeof e, 5);
    append(d, sizeof d);
    /* Bytes a cut left past the committed size: programming over them would AND them
     * into the new data. The sector is repaired in place (its file bytes copied to the
     * next sector, the sector erased, the bytes copied back): the file goes on right
     * after its last byte, with no gap and no extent. */
    uint8_t junk[3] = {0x00, 0x12, 0x00};
    mock_flash_program(12, junk, sizeof junk);
    append(e, sizeof e);
    assert_int_equal(file_size(), 310);
    mock_reboot();
    assert_int_equal(file_size(), 310);
    uint8_t out[256];
    mock_read_sector(0, out);
    assert_memory_equal(out, d, 10);
    assert_memory_equal(&out[10], e, 246);
    mock_read_sector(1, out);
    assert_memory_equal(out, &e[246], 54);
    assert_int_equal(out[54], 0xFF);
    assert_memory_equal(w25m_array(mock_w25), d, 10);       /* in place, */
    assert_memory_equal(&w25m_array(mock_w25)[10], e, 300); /* no gap */
    /* The copy left in the next sector is erased when the file reaches it. */
    uint8_t big[256];
    fill_pattern(big, sizeof big, 9);
    for (int i = 0; i < 16; i++)
        append(big, sizeof big);
    assert_int_equal(file_size(), 310 + 16 * 256);
    mock_reboot();
    uint8_t all[310 + 16 * 256];
    for (unsigned off = 0; off < sizeof all; off += 256) {
        mock_read_sector(off / 256, out);
        memcpy(&all[off], out, sizeof all - off < 256 ? sizeof all - off : 256);
    }
    assert_memory_equal(all, d, 10);
    assert_memory_equal(&all[10], e, 300);
    for (int i = 0; i < 16; i++)
        assert_memory_equal(&all[310 + i * 256], big, 256);
}

static void append_past_capacity_is_file_full(void **state)
{
    (void)state;
    /* Start from a file 10 bytes short of full: craft its metadata sector directly, on
     * a chip the firmware has not formatted yet. */
    mock_teardown();
    mock_w25 = w25m_create(NULL, W25M_TIMING_TYPICAL, NULL);
    mock_f1 = f1m_create(NULL, 65536u, F1M_TIMING_TYPICAL, NULL);
    uint8_t hdr[16] = {'H', 0, 0, 0, 1, 'F', 'B', 'M', '1'};
    uint8_t size[16] = {'S'};
    uint32_t s = FB_FILE_CAPACITY - 10;
    size[1] = (uint8_t)(s >> 24);
    size[2] = (uint8_t)(s >> 16);
    size[3] = (uint8_t)(s >> 8);
    size[4] = (uint8_t)s;
    uint16_t c = fb_crc16(0xFFFF, hdr, 14);
    hdr[14] = (uint8_t)(c >> 8);
    hdr[15] = (uint8_t)c;
    c = fb_crc16(0xFFFF, size, 14);
    size[14] = (uint8_t)(c >> 8);
    size[15] = (uint8_t)c;
    mock_flash_program(FB_FILE_CAPACITY, hdr, 16);
    mock_flash_program(FB_FILE_CAPACITY + 16, size, 16);
    mock_reboot();
    assert_int_equal(file_size(), s);
    uint8_t d[30] = {0};
    mock_snapshot();
    send_write_data(d, 11);
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_FILE_FULL | FB_ERR_FAILED);
    mock_assert_flash_unchanged();
    append(d, 10);
    assert_int_equal(file_size(), FB_FILE_CAPACITY);
}

static void spi_failure_reports_flash_error(void **state)
{
    (void)state;
    uint8_t d[5] = {1, 2, 3, 4, 5};
    send_write_data(d, 5);
    mock_spi_fail = 1;
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_FLASH | FB_ERR_FAILED);
    assert_int_equal(file_size(), 0);
}

/* ---- config zone ---- */

static void config_write_read_and_persist(void **state)
{
    (void)state;
    uint8_t d[28];
    fill_pattern(d, sizeof d, 9);
    write_config(1000, d, 24);
    write_config(5, d, 28);
    assert_int_equal(mock_error(), 0);
    mock_reboot();
    uint8_t out[256];
    read_config(0, out);
    assert_memory_equal(&out[5], d, 28);
    assert_int_equal(out[4], 0xFF);
    read_config(900, out);
    assert_memory_equal(&out[100], d, 24);
    for (int i = 124; i < 256; i++)
        assert_int_equal(out[i], 0xFF); /* past the zone */
}

static void config_clear_persists(void **state)
{
    (void)state;
    uint8_t d[28] = {1, 2, 3};
    write_config(0, d, 3);
    uint8_t clr = FB_CMD_CLEAR_CONFIG;
    mock_write(&clr, 1);
    mock_run_idle();
    mock_reboot();
    uint8_t out[256];
    read_config(0, out);
    for (int i = 0; i < 256; i++)
        assert_int_equal(out[i], 0xFF);
}

static void config_store_failure_keeps_previous_zone(void **state)
{
    (void)state;
    uint8_t a[4] = {0xA1, 0xA2, 0xA3, 0xA4}, b[4] = {0xB1, 0xB2, 0xB3, 0xB4};
    write_config(0, a, 4);
    mock_iflash_fail = 1;
    write_config(0, b, 4);
    assert_int_equal(mock_error(), FB_ERR_FLASH | FB_ERR_FAILED);
    uint8_t out[256];
    read_config(0, out);
    assert_memory_equal(out, a, 4);
    mock_reboot();
    read_config(0, out);
    assert_memory_equal(out, a, 4);
}

static void config_newest_valid_copy_wins(void **state)
{
    (void)state;
    uint8_t a[1] = {0x01}, b[1] = {0x02};
    write_config(0, a, 1);
    write_config(0, b, 1);
    mock_reboot();
    uint8_t out[256];
    read_config(0, out);
    assert_int_equal(out[0], 0x02);
}

static uint32_t config_page_erases(void)
{
    uint32_t n = 0;
    for (uint32_t p = 60; p < 64; p++)
        n += f1m_erase_count(mock_f1, p);
    return n;
}

static void config_writes_append_to_the_journal_without_erasing(void **state)
{
    (void)state;
    uint8_t d[28];
    fill_pattern(d, sizeof d, 1);
    write_config(0, d, 28); /* the first write formats a bank: 2 erases */
    uint32_t base = config_page_erases();
    assert_int_equal(base, 2);
    for (int i = 1; i < 28; i++) {
        d[0] = (uint8_t)i;
        write_config((uint16_t)(i * 28), d, 28);
    }
    assert_int_equal(mock_error(), 0);
    assert_int_equal(config_page_erases(), base); /* 27 more writes, no erase */
    /* 29 records fit a bank's journal: writes 31 and 61 compact, the second one into a
     * bank used before (its pages must really be erased first). */
    for (int i = 0; i < 40; i++) {
        write_config(0, d, 28);
        assert_int_equal(mock_error(), 0);
    }
    assert_int_equal(config_page_erases(), base + 2 * 2);
    mock_reboot();
    uint8_t out[256];
    read_config(0, out);
    assert_memory_equal(out, d, 28);
    read_config(27 * 28, out);
    assert_int_equal(out[0], 27);
    assert_memory_equal(&out[1], &d[1], 27);
}

static void config_transaction_commit_abort_and_rules(void **state)
{
    (void)state;
    uint8_t a[28], b[28], out[256];
    memset(a, 0xAA, sizeof a);
    memset(b, 0xBB, sizeof b);
    write_config(0, a, 28);
    uint8_t begin = FB_CMD_CONFIG_BEGIN, commit = FB_CMD_CONFIG_COMMIT, abort_ = FB_CMD_CONFIG_ABORT;
    mock_write(&commit, 1); /* no transaction open */
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
    mock_write(&begin, 1);
    mock_run_idle();
    write_config(0, b, 28);
    uint8_t clr = FB_CMD_CLEAR_CONFIG;
    mock_write(&clr, 1);
    mock_run_idle();
    write_config(100, b, 28);
    read_config(0, out); /* nothing visible before the commit */
    assert_memory_equal(out, a, 28);
    mock_write(&abort_, 1);
    mock_run_idle();
    read_config(0, out);
    assert_memory_equal(out, a, 28);
    /* A whole 1 KiB replaced in one transaction. */
    mock_write(&begin, 1);
    mock_run_idle();
    for (uint16_t off = 0; off < 1024; off = (uint16_t)(off + 28)) {
        uint8_t n = off + 28 <= 1024 ? 28 : (uint8_t)(1024 - off);
        write_config(off, b, n);
    }
    mock_write(&commit, 1);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    mock_reboot();
    for (uint16_t off = 0; off < 1024; off = (uint16_t)(off + 256)) {
        read_config(off, out);
        for (int i = 0; i < 256; i++)
            assert_int_equal(out[i], 0xBB);
    }
}

static void config_reboot_mid_transaction_keeps_the_old_zone(void **state)
{
    (void)state;
    uint8_t a[28], b[28], out[256];
    memset(a, 0x11, sizeof a);
    memset(b, 0x22, sizeof b);
    write_config(0, a, 28);
    uint8_t begin = FB_CMD_CONFIG_BEGIN;
    mock_write(&begin, 1);
    mock_run_idle();
    write_config(0, b, 28);
    mock_reboot();
    read_config(0, out);
    assert_memory_equal(out, a, 28);
}

static void config_torn_record_is_ignored_and_next_write_compacts(void **state)
{
    (void)state;
    uint8_t a[28], b[28], out[256];
    memset(a, 0x31, sizeof a);
    memset(b, 0x32, sizeof b);
    write_config(0, a, 28);
    /* Half a record at the end of the journal, as a cut leaves it. */
    const uint8_t *arr = f1m_array(mock_f1);
    uint32_t bank = arr[60 * 1024] == 'F' ? 60u * 1024u : 62u * 1024u;
    uint32_t end = bank + 1040;
    while (arr[end] != 0xFF || arr[end + 1] != 0xFF)
        end += 2;
    f1m_write_key(mock_f1, 0x45670123u);
    f1m_write_key(mock_f1, 0xCDEF89ABu);
    assert_int_equal(f1m_program(mock_f1, end, 0x1C57, mock_now_ns), 0); /* 'W', len 28 */
    mock_now_ns = f1m_busy_until(mock_f1);
    f1m_lock(mock_f1);
    mock_reboot();
    read_config(0, out);
    assert_memory_equal(out, a, 28);
    write_config(0, b, 28);
    assert_int_equal(mock_error(), 0);
    mock_reboot();
    read_config(0, out);
    assert_memory_equal(out, b, 28);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(who_am_i_by_repeated_start_and_plain_read, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(status_idle_shows_free_slots, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(register_selection_does_not_outlive_the_next_write, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(unknown_command_sets_sticky_error_cleared_by_read, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(error_survives_a_read_aborted_before_the_byte, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(register_with_parameters_is_bad_param, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(probe_and_abort_post_nothing, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(bad_frames_are_rejected_and_change_nothing, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(append_with_ff_bytes_reads_back_exactly, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(appends_cross_page_and_sector_boundaries_and_survive_reboot, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(response_survives_status_and_error_reads, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(plain_read_before_response_ready_gives_ff, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(commands_while_busy_queue_then_overflow_is_reported, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(frames_arriving_during_flash_work_are_queued, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(set_filename_persists, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(clear_then_append_rewrites_from_zero, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(metadata_compaction_keeps_name_and_size, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(torn_metadata_record_is_ignored, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(data_written_on_a_new_chip_survives_reboot_and_background_erase, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(append_repairs_leftovers_of_an_interrupted_write, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(append_past_capacity_is_file_full, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(spi_failure_reports_flash_error, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(config_write_read_and_persist, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(config_clear_persists, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(config_store_failure_keeps_previous_zone, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(config_newest_valid_copy_wins, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(config_writes_append_to_the_journal_without_erasing, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(config_transaction_commit_abort_and_rules, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(config_reboot_mid_transaction_keeps_the_old_zone, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(config_torn_record_is_ignored_and_next_write_compacts, mock_setup, mock_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
