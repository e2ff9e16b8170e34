/* Protocol 2.0's v1 semantics (docs/PROTOCOL.md "STATUS", "ERROR", "Filenames", "v1
 * behaviours"), driven through the interrupt entry points on the device models: STATUS
 * as v1 showed it, ERROR as the result of the newest queued command, ERRORS for the
 * extension, v1's filename rule, and registers captured whole when their read begins. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "flashbridge/protocol.h"
#include "i2c_target.h"
#include "mock_hal.h"

static void write_data(const uint8_t *data, uint8_t n)
{
    uint8_t f[32] = {FB_CMD_WRITE_DATA, n};
    memcpy(&f[2], data, n);
    mock_write(f, sizeof f);
}

static uint32_t file_size(void)
{
    uint8_t b[4];
    mock_read_reg(FB_CMD_FILE_SIZE, b, 4);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void set_name(const char name[11])
{
    uint8_t f[12] = {FB_CMD_SET_FILENAME};
    memcpy(&f[1], name, 11);
    mock_write(f, sizeof f);
}

/* The bad frames v1 hosts send without checking ERROR afterwards (issue 10). */
struct bad {
    const char *what;
    uint8_t len;
    uint8_t bytes[12];
    uint8_t bits;
};
static const struct bad bad_frames[] = {
    {"read_sector(40000)", 3, {FB_CMD_READ_SECTOR, 0x9C, 0x40}, FB_ERR_BAD_PARAM},
    {"set_filename(\"my log\")", 12,
     {FB_CMD_SET_FILENAME, 'm', 'y', ' ', 'l', 'o', 'g', ' ', ' ', 'T', 'X', 'T'}, FB_ERR_BAD_NAME},
    {"unknown command byte", 1, {0x55}, FB_ERR_UNKNOWN_CMD},
    {"short frame", 2, {FB_CMD_READ_CONFIG, 0}, FB_ERR_BAD_PARAM},
};

static void v1_status_is_busy_or_zero(void **state)
{
    (void)state;
    assert_int_equal(mock_v1_status(), 0x00);
    uint8_t d[30];
    memset(d, 0x3C, sizeof d);
    write_data(d, 30);
    assert_int_equal(mock_v1_status(), FB_STATUS_BUSY);
    assert_int_equal(mock_status(), FB_STATUS_BUSY | (FB_QUEUE_DEPTH - 1u));
    mock_run_idle();
    /* Idle with an error pending, a response ready and background erasing: still 0. */
    uint8_t bad = 0x55;
    mock_write(&bad, 1);
    mock_run_idle();
    for (int i = 0; i < 200; i++)
        write_data(d, 30), mock_run_idle();
    uint8_t clr = FB_CMD_CLEAR_FLASH;
    mock_write(&clr, 1);
    mock_run_idle();
    uint8_t rs[3] = {FB_CMD_READ_CONFIG, 0, 0};
    mock_write(rs, 3);
    mock_run_idle();
    uint8_t ext = mock_status();
    assert_true(ext & FB_STATUS_ERROR);
    assert_true(ext & FB_STATUS_READY);
    assert_true(ext & FB_STATUS_ERASING);
    assert_int_equal(ext & FB_STATUS_QUEUE_MASK, FB_QUEUE_DEPTH);
    assert_int_equal(mock_v1_status(), 0x00);
    mock_run_background();
    assert_int_equal(mock_v1_status(), 0x00);
}

/* The v1 driver's write(): frames, wait for BUSY to clear, read ERROR. After any of the
 * bad frames above, a correct write() must read ERROR 0; ERRORS keeps the failure. */
static void error_is_not_blamed_on_the_next_command(void **state)
{
    (void)state;
    uint8_t d[30];
    for (size_t i = 0; i < sizeof bad_frames / sizeof bad_frames[0]; i++) {
        const struct bad *b = &bad_frames[i];
        mock_write(b->bytes, b->len);
        mock_run_idle();
        assert_int_equal(mock_v1_status(), 0x00);
        memset(d, (int)i, sizeof d);
        write_data(d, 30);
        mock_run_idle();
        uint8_t err = mock_error();
        if (err != 0)
            fail_msg("%s, then a good write: ERROR 0x%02x", b->what, err);
        err = mock_errors();
        if (err != (b->bits | FB_ERR_FAILED))
            fail_msg("%s: ERRORS 0x%02x, expected 0x%02x", b->what, err, b->bits | FB_ERR_FAILED);
    }
    assert_int_equal(file_size(), 30u * (sizeof bad_frames / sizeof bad_frames[0]));
}

/* Same with the good frame queued behind the bad one before the main loop ran it: the
 * bad command fails while it is no longer the newest, so ERROR stays the good one's. */
static void failure_of_an_older_queued_command_stays_out_of_error(void **state)
{
    (void)state;
    uint8_t d[30] = {1, 2, 3};
    for (size_t i = 0; i < sizeof bad_frames / sizeof bad_frames[0]; i++) {
        const struct bad *b = &bad_frames[i];
        mock_write(b->bytes, b->len);
        write_data(d, 30);
        mock_run_idle();
        assert_int_equal(mock_error(), 0);
        assert_int_equal(mock_errors(), b->bits | FB_ERR_FAILED);
    }
}

/* The newest command's failure is what ERROR holds, whatever ran before; register polls
 * (STATUS every 5 ms, EXT_STATUS, ERRORS) do not clear it; reading ERROR does. */
static void error_reports_the_newest_command_until_read(void **state)
{
    (void)state;
    uint8_t d[30] = {0};
    write_data(d, 30);
    mock_write(bad_frames[0].bytes, bad_frames[0].len);
    mock_run_idle();
    for (int i = 0; i < 5; i++) {
        assert_int_equal(mock_v1_status(), 0);
        (void)mock_status();
    }
    assert_int_equal(mock_errors(), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
    assert_int_equal(mock_error(), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
    assert_int_equal(mock_error(), 0);
    /* Two failures in a row: the second command's result replaces the first's in
     * ERROR; ERRORS accumulates both. */
    mock_write(bad_frames[1].bytes, bad_frames[1].len);
    mock_run_idle();
    mock_write(bad_frames[2].bytes, bad_frames[2].len);
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_UNKNOWN_CMD | FB_ERR_FAILED);
    assert_int_equal(mock_errors(), FB_ERR_BAD_NAME | FB_ERR_UNKNOWN_CMD | FB_ERR_FAILED);
    /* A command that waits in the queue while ERROR is read: the host learns of its
     * failure at the next read. */
    mock_write(bad_frames[2].bytes, bad_frames[2].len);
    assert_int_equal(mock_error(), 0);
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_UNKNOWN_CMD | FB_ERR_FAILED);
}

/* A frame that meets a full queue is the newest thing the host sent: ERROR and ERRORS. */
static void queue_full_is_reported_in_both(void **state)
{
    (void)state;
    uint8_t d[30] = {0};
    for (unsigned i = 0; i <= FB_QUEUE_DEPTH; i++)
        write_data(d, 30);
    assert_int_equal(mock_error(), FB_ERR_QUEUE_FULL | FB_ERR_FAILED);
    assert_int_equal(mock_errors(), FB_ERR_QUEUE_FULL | FB_ERR_FAILED);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    assert_int_equal(file_size(), FB_QUEUE_DEPTH * 30u);
}

/* A background erase step that fails is no command's failure: ERRORS only. */
static void background_failure_goes_to_errors_only(void **state)
{
    (void)state;
    uint8_t d[30];
    memset(d, 0x77, sizeof d);
    for (int i = 0; i < 200; i++)
        write_data(d, 30), mock_run_idle();
    uint8_t clr = FB_CMD_CLEAR_FLASH;
    mock_write(&clr, 1);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    assert_true(mock_status() & FB_STATUS_ERASING);
    mock_spi_fail = 1000;
    mock_run(400);
    mock_spi_fail = 0;
    assert_int_equal(mock_error(), 0);
    assert_int_equal(mock_errors() & FB_ERR_FLASH, FB_ERR_FLASH);
}

/* v1's rule (DAPLink's FAT short-name check), the table of docs/PROTOCOL.md. */
static void filename_acceptance_follows_v1(void **state)
{
    (void)state;
    static const struct {
        char name[12];
        bool ok;
    } cases[] = {
        {"MY LOG  TXT", true},  /* the driver's set_filename("MY LOG", "TXT") */
        {"DATA    CSV", true},  {"A          ", true},  {"A B C D E F", true},
        {"LOG_2026TXT", true},  {"!#$%&'()-@^", true},  {"_`{}~   BIN", true},
        {"A\x7F      TXT", true}, {"\x80\xE9\xFF     TXT", true}, {"\x05X      TXT", true},
        {"my log  TXT", false}, {"LOG     txt", false}, {" LOG    TXT", false},
        {"           ", false}, {"A.B     TXT", false}, {"A*      TXT", false},
        {"A+      TXT", false}, {"A,      TXT", false}, {"A/      TXT", false},
        {"A:      TXT", false}, {"A;      TXT", false}, {"A<      TXT", false},
        {"A=      TXT", false}, {"A>      TXT", false}, {"A?      TXT", false},
        {"A[      TXT", false}, {"A\\      TXT", false}, {"A]      TXT", false},
        {"A|      TXT", false}, {"A\"      TXT", false}, {"A\x05      TXT", false},
        {"A\x1F      TXT", false}, {"\x00       TXT", false},
    };
    char want[11];
    memcpy(want, FB_DEFAULT_FILENAME, 11);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        set_name(cases[i].name);
        mock_run_idle();
        uint8_t err = mock_error();
        if (cases[i].ok)
            memcpy(want, cases[i].name, 11);
        if (err != (cases[i].ok ? 0 : FB_ERR_BAD_NAME | FB_ERR_FAILED))
            fail_msg("case %zu (\"%.11s\"): ERROR 0x%02x", i, cases[i].name, err);
        uint8_t got[11];
        mock_read_reg(FB_CMD_GET_FILENAME, got, 11);
        assert_memory_equal(got, want, 11);
    }
    mock_reboot();
    uint8_t got[11];
    mock_read_reg(FB_CMD_GET_FILENAME, got, 11);
    assert_memory_equal(got, want, 11);
}

/* Start a register read and clock out the first n bytes. */
static void begin_reg(uint8_t reg, uint8_t *out, size_t n)
{
    fb_i2c_addr(false);
    fb_i2c_write_byte(reg);
    fb_i2c_addr(true);
    for (size_t i = 0; i < n; i++)
        out[i] = fb_i2c_read_byte();
}

static void finish_reg(uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = fb_i2c_read_byte();
    fb_i2c_stop();
}

/* Issue 10: a register read that began before the main loop published a new value
 * returns the old value whole (AABBBBBBBBB was the bug). Each multi-byte register,
 * with the publisher running between the bytes. */
static void register_reads_are_captured_whole(void **state)
{
    (void)state;
    set_name("AAAAAAAAAAA");
    mock_run_idle();
    uint8_t got[11];
    for (size_t split = 1; split < 11; split++) {
        const char *next = split % 2 ? "BBBBBBBBBBB" : "AAAAAAAAAAA";
        const char *now = split % 2 ? "AAAAAAAAAAA" : "BBBBBBBBBBB";
        set_name(next);
        begin_reg(FB_CMD_GET_FILENAME, got, split);
        mock_run(500); /* the main loop stores and publishes the new name (no STATUS
                        * poll: the bus is in the middle of this read) */
        finish_reg(&got[split], 11 - split);
        assert_memory_equal(got, now, 11);
        mock_read_reg(FB_CMD_GET_FILENAME, got, 11);
        assert_memory_equal(got, next, 11);
    }
    /* FILE_SIZE and STREAM_STATE across an append that carries the size over a byte
     * boundary (255 -> 285). */
    uint8_t d[30] = {0};
    for (int i = 0; i < 8; i++)
        write_data(d, 30), mock_run_idle();
    write_data(d, 15), mock_run_idle();
    assert_int_equal(file_size(), 255);
    for (size_t split = 1; split < 4; split++) {
        uint32_t before = file_size();
        write_data(d, 30);
        begin_reg(FB_CMD_FILE_SIZE, got, split);
        mock_run(500);
        finish_reg(&got[split], 4 - split);
        uint32_t v = (uint32_t)got[0] << 24 | (uint32_t)got[1] << 16 | (uint32_t)got[2] << 8 | got[3];
        assert_int_equal(v, before);
        assert_int_equal(file_size(), before + 30);
    }
    for (size_t split = 1; split < FB_STREAM_STATE_LEN; split++) {
        uint32_t before = file_size();
        write_data(d, 30);
        begin_reg(FB_CMD_STREAM_STATE, got, split);
        mock_run(500);
        finish_reg(&got[split], FB_STREAM_STATE_LEN - split);
        uint32_t v = (uint32_t)got[3] << 24 | (uint32_t)got[4] << 16 | (uint32_t)got[5] << 8 | got[6];
        assert_int_equal(v, before);
        assert_int_equal(file_size(), before + 30);
    }
    /* CAPS: served from a copy like the others. */
    uint8_t caps1[FB_CAPS_LEN], caps2[FB_CAPS_LEN];
    mock_read_reg(FB_CMD_CAPS, caps1, FB_CAPS_LEN);
    begin_reg(FB_CMD_CAPS, caps2, 3);
    mock_run(10);
    finish_reg(&caps2[3], FB_CAPS_LEN - 3);
    assert_memory_equal(caps1, caps2, FB_CAPS_LEN);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(v1_status_is_busy_or_zero, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(error_is_not_blamed_on_the_next_command, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(failure_of_an_older_queued_command_stays_out_of_error, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(error_reports_the_newest_command_until_read, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(queue_full_is_reported_in_both, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(background_failure_goes_to_errors_only, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(filename_acceptance_follows_v1, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(register_reads_are_captured_whole, mock_setup, mock_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
