/*
 * The client against the mock target: the bytes of every frame, the order of the
 * transactions, credit flow control, waiting, and each error path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "flashbridge.h"
#include "flashbridge/protocol.h"
#include "mock_target.h"

typedef struct fixture {
    mock_target_t m;
    fb_client_t c;
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    mock_init(&f->m);
    fb_client_init(&f->c, &f->m.base, FB_I2C_ADDR);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    mock_free(&f->m);
    free(f);
    return 0;
}

static void pattern(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7u + seed + (i >> 8));
}

/* Log entry i is a register read of reg (one byte written, rlen read). */
static void assert_register_read(const mock_target_t *m, size_t i, uint8_t reg, size_t rlen)
{
    const mock_xfer_t *e = mock_log(m, i);
    assert_non_null(e);
    assert_int_equal(e->wlen, 1);
    assert_int_equal(e->w[0], reg);
    assert_int_equal(e->rlen, rlen);
}

/* ---- registers ---- */

static void test_init_defaults(void **state)
{
    fixture_t *f = *state;
    fb_client_t c;
    memset(&c, 0xA5, sizeof c);
    fb_client_init(&c, &f->m.base, 0x42);
    assert_ptr_equal(c.t, &f->m.base);
    assert_int_equal(c.addr, 0x42);
    assert_int_equal(c.poll_us, 500);
    assert_int_equal(c.last_error, 0);
    assert_null(c.progress);
    assert_int_equal(f->m.nxfers, 0); /* init does not talk to the target */
}

static void test_who_am_i(void **state)
{
    fixture_t *f = *state;
    uint8_t id = 0;
    assert_int_equal(fb_who_am_i(&f->c, &id), FB_HOST_OK);
    assert_int_equal(id, FB_WHO_AM_I_VALUE);
    assert_int_equal(f->m.nxfers, 1);
    assert_register_read(&f->m, 0, FB_CMD_WHO_AM_I, 1);

    f->m.who_am_i = 0x12;
    assert_int_equal(fb_who_am_i(&f->c, &id), FB_HOST_EPROTO);
    assert_int_equal(id, 0x12);
}

static void test_wrong_address_nacks(void **state)
{
    fixture_t *f = *state;
    uint8_t id;
    f->c.addr = 0x3C;
    assert_int_equal(fb_who_am_i(&f->c, &id), FB_HOST_ENACK);
    f->c.addr = FB_I2C_ADDR;
    f->m.absent = true;
    assert_int_equal(fb_status(&f->c, &id), FB_HOST_ENACK);
}

static void test_status_and_error_registers(void **state)
{
    fixture_t *f = *state;
    uint8_t st, err;
    assert_int_equal(fb_status(&f->c, &st), FB_HOST_OK);
    assert_int_equal(st, FB_QUEUE_DEPTH);
    f->m.error = FB_ERR_BAD_PARAM | FB_ERR_FAILED;
    assert_int_equal(fb_status(&f->c, &st), FB_HOST_OK);
    assert_int_equal(st, FB_STATUS_ERROR | FB_QUEUE_DEPTH);
    assert_int_equal(fb_error(&f->c, &err), FB_HOST_OK);
    assert_int_equal(err, FB_ERR_BAD_PARAM | FB_ERR_FAILED);
    assert_int_equal(f->m.error, 0); /* reading cleared it */
    assert_register_read(&f->m, 0, FB_CMD_STATUS, 1);
    assert_register_read(&f->m, 2, FB_CMD_ERROR, 1);
    assert_int_equal(fb_status(&f->c, NULL), FB_HOST_EINVAL);
    assert_int_equal(fb_error(&f->c, NULL), FB_HOST_EINVAL);
}

static void test_file_size_big_endian(void **state)
{
    fixture_t *f = *state;
    uint32_t size = 0;
    f->m.size_override = true;
    f->m.size_value = 0x00123456;
    assert_int_equal(fb_file_size(&f->c, &size), FB_HOST_OK);
    assert_int_equal(size, 0x00123456);
    assert_register_read(&f->m, 0, FB_CMD_FILE_SIZE, 4);

    /* Larger than the file can be: not a flashbridge FILE_SIZE register. */
    f->m.size_value = FB_FILE_CAPACITY + 1;
    size = 7;
    assert_int_equal(fb_file_size(&f->c, &size), FB_HOST_EPROTO);
    assert_int_equal(size, 7);
    f->m.size_value = FB_FILE_CAPACITY;
    assert_int_equal(fb_file_size(&f->c, &size), FB_HOST_OK);
    assert_int_equal(size, FB_FILE_CAPACITY);
}

static void test_transport_eio_propagates(void **state)
{
    fixture_t *f = *state;
    uint8_t st;
    f->m.eio_xfer = 0;
    assert_int_equal(fb_status(&f->c, &st), FB_HOST_EIO);
    /* An I/O error while waiting ends the wait with that error. */
    f->m.cmd_polls = 3;
    f->m.eio_xfer = 3; /* 0 was the STATUS above; 1 the frame, 2 a STATUS, 3 the next */
    assert_int_equal(fb_file_clear(&f->c), FB_HOST_EIO);
}

/* ---- waiting ---- */

static void test_wait_idle_polls_until_not_busy(void **state)
{
    fixture_t *f = *state;
    f->m.cmd_polls = 5;
    f->c.poll_us = 700;
    assert_int_equal(fb_file_clear(&f->c), FB_HOST_OK);
    /* 5 STATUS reads while busy (the 5th completes it and reports idle). */
    assert_int_equal(f->m.status_reads, 5);
    assert_int_equal(f->m.sleeps, 4);
    assert_int_equal(f->m.slept_us, 4 * 700);
    assert_int_equal(f->m.error_reads, 0); /* no ERROR flag: no ERROR read */
    const mock_xfer_t *e = mock_log(&f->m, 0);
    assert_int_equal(e->wlen, 1);
    assert_int_equal(e->rlen, 0);
    assert_int_equal(e->w[0], FB_CMD_CLEAR_FLASH);
}

static void test_wait_idle_timeout(void **state)
{
    fixture_t *f = *state;
    f->m.stuck_busy = true;
    f->m.qn = 1; /* something in the queue that never finishes */
    f->c.poll_us = 1000;
    uint64_t t0 = f->m.now_us;
    assert_int_equal(fb_wait_idle(&f->c, 20000), FB_HOST_ETIMEOUT);
    uint64_t waited = f->m.now_us - t0;
    /* Gave it the whole budget, and not much more than one poll beyond. */
    assert_true(waited >= 20000);
    assert_true(waited <= 20000 + 1000);
    assert_int_equal(f->m.sleeps, 20);
    assert_int_equal(f->m.status_reads, 21);
}

static void test_wait_idle_timeout_counts_bus_time(void **state)
{
    fixture_t *f = *state;
    /* Time spent on the bus counts toward the budget too: now_us, not poll counts. */
    f->m.stuck_busy = true;
    f->m.qn = 1;
    f->m.xfer_cost_us = 500;
    f->c.poll_us = 500;
    assert_int_equal(fb_wait_idle(&f->c, 10000), FB_HOST_ETIMEOUT);
    assert_true(f->m.status_reads <= 11);
}

static void test_wait_idle_zero_timeout_still_polls_once(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fb_wait_idle(&f->c, 0), FB_HOST_OK);
    assert_int_equal(f->m.status_reads, 1);
}

static void test_wait_idle_device_error(void **state)
{
    fixture_t *f = *state;
    f->m.cmd_polls = 2;
    f->m.fail_cmd = FB_CMD_CLEAR_CONFIG;
    f->m.fail_bits = FB_ERR_FLASH;
    assert_int_equal(fb_config_clear(&f->c), FB_HOST_EDEVICE);
    assert_int_equal(f->c.last_error, FB_ERR_FLASH | FB_ERR_FAILED);
    assert_int_equal(f->m.error_reads, 1);
    assert_int_equal(f->m.error, 0);
    /* The error was consumed: the next command succeeds. */
    f->m.fail_cmd = 0;
    assert_int_equal(fb_config_clear(&f->c), FB_HOST_OK);
}

static void test_wait_idle_error_flag_without_bits(void **state)
{
    fixture_t *f = *state;
    /* STATUS said ERROR but ERROR reads 0 (another host read it meanwhile): no error. */
    f->m.error_flag_stuck = true;
    assert_int_equal(fb_wait_idle(&f->c, 1000), FB_HOST_OK);
    assert_int_equal(f->m.error_reads, 1);
    assert_int_equal(f->c.last_error, 0);
}

static void test_wait_idle_stale_error_reported(void **state)
{
    fixture_t *f = *state;
    f->m.error = FB_ERR_QUEUE_FULL | FB_ERR_FAILED;
    f->c.last_error = 0;
    assert_int_equal(fb_wait_idle(&f->c, 1000), FB_HOST_EDEVICE);
    assert_int_equal(f->c.last_error, FB_ERR_QUEUE_FULL | FB_ERR_FAILED);
}

/* ---- single commands ---- */

static void test_set_and_get_name_frames(void **state)
{
    fixture_t *f = *state;
    char n11[FB_FILENAME_LEN];
    assert_int_equal(fb_name_to_83("LOG.CSV", n11), FB_HOST_OK);
    assert_int_equal(fb_file_set_name(&f->c, n11), FB_HOST_OK);
    const mock_xfer_t *e = mock_log(&f->m, 0);
    const uint8_t expect[12] = {FB_CMD_SET_FILENAME, 'L', 'O', 'G', ' ', ' ', ' ',
                                ' ', ' ', 'C', 'S', 'V'};
    assert_int_equal(e->wlen, 12);
    assert_int_equal(e->rlen, 0);
    assert_memory_equal(e->w, expect, 12);
    assert_memory_equal(f->m.name, "LOG     CSV", 11);

    char got[FB_FILENAME_LEN];
    size_t before = f->m.nlog;
    assert_int_equal(fb_file_get_name(&f->c, got), FB_HOST_OK);
    assert_memory_equal(got, "LOG     CSV", 11);
    assert_register_read(&f->m, before, FB_CMD_GET_FILENAME, 11);
}

static void test_set_name_rejected_by_target(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fb_file_set_name(&f->c, "   BAD    X"), FB_HOST_EDEVICE);
    assert_int_equal(f->c.last_error, FB_ERR_BAD_NAME | FB_ERR_FAILED);
    assert_memory_equal(f->m.name, FB_DEFAULT_FILENAME, 11);
}

static void test_clear_frames(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fb_file_clear(&f->c), FB_HOST_OK);
    assert_int_equal(fb_config_clear(&f->c), FB_HOST_OK);
    const mock_xfer_t *a = mock_nth_frame(&f->m, FB_CMD_CLEAR_FLASH, 0);
    const mock_xfer_t *b = mock_nth_frame(&f->m, FB_CMD_CLEAR_CONFIG, 0);
    assert_non_null(a);
    assert_non_null(b);
    assert_int_equal(a->wlen, 1);
    assert_int_equal(b->wlen, 1);
    assert_int_equal(f->m.frames, 2);
}

static void test_command_nack(void **state)
{
    fixture_t *f = *state;
    f->m.nack_frame = 1;
    assert_int_equal(fb_file_clear(&f->c), FB_HOST_ENACK);
    assert_int_equal(f->m.nxfers, 1); /* no waiting after a refused frame */
}

/* ---- appends ---- */

static void test_append_frame_layout(void **state)
{
    fixture_t *f = *state;
    uint8_t data[65];
    pattern(data, sizeof data, 3);
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), 3);
    const size_t sizes[3] = {30, 30, 5};
    size_t at = 0;
    for (unsigned k = 0; k < 3; k++) {
        const mock_xfer_t *e = mock_nth_frame(&f->m, FB_CMD_WRITE_DATA, k);
        uint8_t expect[32] = {FB_CMD_WRITE_DATA, (uint8_t)sizes[k]};
        memcpy(expect + 2, data + at, sizes[k]);
        assert_int_equal(e->wlen, 32);
        assert_memory_equal(e->w, expect, 32); /* zero padded to 32 */
        at += sizes[k];
    }
    assert_int_equal(f->m.file_size, 65);
    assert_memory_equal(f->m.file, data, 65);
    /* Flow control starts from a STATUS read, never from a guess. */
    assert_register_read(&f->m, 0, FB_CMD_STATUS, 1);
}

static void test_append_exact_multiple(void **state)
{
    fixture_t *f = *state;
    uint8_t data[60];
    pattern(data, sizeof data, 1);
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), 2);
    assert_int_equal(mock_nth_frame(&f->m, FB_CMD_WRITE_DATA, 1)->w[1], 30);
}

static void test_append_empty_and_bad_args(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(fb_file_append(&f->c, NULL, 0), FB_HOST_OK);
    assert_int_equal(fb_file_append(&f->c, NULL, 5), FB_HOST_EINVAL);
    assert_int_equal(f->m.nxfers, 0);
}

static void test_append_credit_flow_control(void **state)
{
    fixture_t *f = *state;
    enum { N = 3000 };
    uint8_t *data = malloc(N);
    pattern(data, N, 9);
    f->m.cmd_polls = 3;
    assert_int_equal(fb_file_append(&f->c, data, N), FB_HOST_OK);
    assert_int_equal(f->m.file_size, N);
    assert_memory_equal(f->m.file, data, N);
    assert_int_equal(f->m.frames, (N + 29) / 30);
    /* Never a frame beyond the slots the last STATUS offered, so none dropped... */
    assert_int_equal(f->m.credit_violations, 0);
    assert_int_equal(f->m.dropped, 0);
    /* ...and the offered slots are used in one burst, without polling between. */
    assert_int_equal(f->m.max_burst, FB_QUEUE_DEPTH);
    free(data);
}

static void test_append_uses_partial_credits(void **state)
{
    fixture_t *f = *state;
    /* One slot frees per 2 STATUS reads: bursts of 1 after the first 4. */
    enum { N = 30 * 12 };
    uint8_t data[N];
    pattern(data, N, 2);
    f->m.cmd_polls = 2;
    assert_int_equal(fb_file_append(&f->c, data, N), FB_HOST_OK);
    assert_int_equal(f->m.credit_violations, 0);
    assert_int_equal(f->m.dropped, 0);
    assert_memory_equal(f->m.file, data, N);
    /* Waiting for a slot sleeps poll_us between STATUS reads rather than spinning. */
    assert_true(f->m.sleeps > 0);
}

static void test_append_v1_status(void **state)
{
    fixture_t *f = *state;
    /* A target whose STATUS has no slot count: one frame per idle STATUS. */
    enum { N = 200 };
    uint8_t data[N];
    pattern(data, N, 4);
    f->m.v1_status = true;
    f->m.cmd_polls = 1;
    assert_int_equal(fb_file_append(&f->c, data, N), FB_HOST_OK);
    assert_int_equal(f->m.dropped, 0);
    assert_int_equal(f->m.credit_violations, 0);
    assert_int_equal(f->m.max_burst, 1);
    assert_memory_equal(f->m.file, data, N);
}

static void test_append_nack_stops(void **state)
{
    fixture_t *f = *state;
    uint8_t data[300];
    pattern(data, sizeof data, 5);
    f->m.nack_frame = 3;
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_ENACK);
    /* Frames 1 and 2 went through; nothing after the refused third. */
    assert_int_equal(f->m.frames, 3);
    assert_int_equal(f->m.file_size, 60);
    assert_int_equal(f->m.log[f->m.nlog - 1].rc, FB_HOST_ENACK);
}

static void test_append_file_full_stops_early(void **state)
{
    fixture_t *f = *state;
    uint8_t data[600];
    pattern(data, sizeof data, 6);
    f->m.file_cap = 100;
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_EDEVICE);
    assert_int_equal(f->c.last_error, FB_ERR_FILE_FULL | FB_ERR_FAILED);
    assert_int_equal(f->m.file_size, 90);
    /* The failing frame was in the first burst; the next STATUS shows the error and
     * no further frame is sent. */
    assert_int_equal(f->m.frames, 4);
    assert_int_equal(f->m.error, 0);
}

static void test_append_timeout_when_queue_never_frees(void **state)
{
    fixture_t *f = *state;
    uint8_t data[300];
    pattern(data, sizeof data, 7);
    f->m.stuck_busy = true;
    f->c.poll_us = 100000; /* keep the test's poll count small */
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_ETIMEOUT);
    assert_int_equal(f->m.frames, FB_QUEUE_DEPTH);
    assert_int_equal(f->m.dropped, 0);
    assert_true(f->m.now_us >= fb_timeout_us(FB_CMD_WRITE_DATA, 0));
}

struct progress_log {
    unsigned calls;
    uint64_t last_done, total;
    bool monotonic;
};

static void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    struct progress_log *p = ctx;
    if (done < p->last_done)
        p->monotonic = false;
    p->calls++;
    p->last_done = done;
    p->total = total;
}

static void test_append_progress(void **state)
{
    fixture_t *f = *state;
    enum { N = 1000 };
    uint8_t data[N];
    pattern(data, N, 8);
    struct progress_log p = {.monotonic = true};
    f->c.progress = progress_cb;
    f->c.progress_ctx = &p;
    f->m.cmd_polls = 1;
    assert_int_equal(fb_file_append(&f->c, data, N), FB_HOST_OK);
    assert_true(p.calls >= 2);
    assert_true(p.monotonic);
    assert_int_equal(p.last_done, N);
    assert_int_equal(p.total, N);
}

/* ---- config writes ---- */

static void test_config_write_frames(void **state)
{
    fixture_t *f = *state;
    uint8_t data[60];
    pattern(data, sizeof data, 11);
    assert_int_equal(fb_config_write(&f->c, 10, data, sizeof data), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_CONFIG), 3);
    const unsigned offs[3] = {10, 38, 66}, lens[3] = {28, 28, 4};
    for (unsigned k = 0; k < 3; k++) {
        const mock_xfer_t *e = mock_nth_frame(&f->m, FB_CMD_WRITE_CONFIG, k);
        uint8_t expect[32] = {FB_CMD_WRITE_CONFIG, (uint8_t)(offs[k] >> 8), (uint8_t)offs[k],
                              (uint8_t)lens[k]};
        memcpy(expect + 4, data + (offs[k] - 10), lens[k]);
        assert_int_equal(e->wlen, 32);
        assert_memory_equal(e->w, expect, 32);
    }
    assert_memory_equal(f->m.config + 10, data, sizeof data);
    assert_int_equal(f->m.config[9], 0xFF);
    assert_int_equal(f->m.config[70], 0xFF);
}

static void test_config_write_high_offset_big_endian(void **state)
{
    fixture_t *f = *state;
    uint8_t data[24];
    pattern(data, sizeof data, 12);
    assert_int_equal(fb_config_write(&f->c, 1000, data, sizeof data), FB_HOST_OK);
    const mock_xfer_t *e = mock_nth_frame(&f->m, FB_CMD_WRITE_CONFIG, 0);
    assert_int_equal(e->w[1], 0x03);
    assert_int_equal(e->w[2], 0xE8);
    assert_int_equal(e->w[3], 24);
    for (int i = 28; i < 32; i++)
        assert_int_equal(e->w[i], 0);
    assert_memory_equal(f->m.config + 1000, data, 24);
}

static void test_config_write_bounds(void **state)
{
    fixture_t *f = *state;
    uint8_t data[FB_CONFIG_SIZE + 1] = {0};
    assert_int_equal(fb_config_write(&f->c, 1000, data, 25), FB_HOST_EINVAL);
    assert_int_equal(fb_config_write(&f->c, 0, data, FB_CONFIG_SIZE + 1), FB_HOST_EINVAL);
    assert_int_equal(fb_config_write(&f->c, 0xFFFF, data, 1), FB_HOST_EINVAL);
    assert_int_equal(f->m.nxfers, 0);
    assert_int_equal(fb_config_write(&f->c, 0, data, FB_CONFIG_SIZE), FB_HOST_OK);
    assert_int_equal(f->m.frames, (FB_CONFIG_SIZE + 27) / 28);
    assert_int_equal(f->m.credit_violations, 0);
}

static void test_config_write_flow_control(void **state)
{
    fixture_t *f = *state;
    uint8_t data[FB_CONFIG_SIZE];
    pattern(data, sizeof data, 13);
    f->m.cmd_polls = 4;
    assert_int_equal(fb_config_write(&f->c, 0, data, sizeof data), FB_HOST_OK);
    assert_int_equal(f->m.credit_violations, 0);
    assert_int_equal(f->m.dropped, 0);
    assert_int_equal(f->m.max_burst, FB_QUEUE_DEPTH);
    assert_memory_equal(f->m.config, data, sizeof data);
}

static void test_config_write_device_error(void **state)
{
    fixture_t *f = *state;
    uint8_t data[10] = {1};
    f->m.fail_cmd = FB_CMD_WRITE_CONFIG;
    f->m.fail_bits = FB_ERR_FLASH;
    assert_int_equal(fb_config_write(&f->c, 0, data, sizeof data), FB_HOST_EDEVICE);
    assert_int_equal(f->c.last_error, FB_ERR_FLASH | FB_ERR_FAILED);
}

/* ---- prepared reads ---- */

static void test_read_sector_sequence(void **state)
{
    fixture_t *f = *state;
    uint8_t file[700], out[256];
    pattern(file, sizeof file, 14);
    mock_set_file(&f->m, file, sizeof file);
    f->m.cmd_polls = 2;
    assert_int_equal(fb_file_read_sector(&f->c, 2, out), FB_HOST_OK);
    /* [0x20, 0, 2], STATUS polls, then a plain read of 256 with no command byte. */
    const mock_xfer_t *e = mock_log(&f->m, 0);
    assert_int_equal(e->wlen, 3);
    assert_int_equal(e->rlen, 0);
    const uint8_t expect[3] = {FB_CMD_READ_SECTOR, 0, 2};
    assert_memory_equal(e->w, expect, 3);
    assert_register_read(&f->m, 1, FB_CMD_STATUS, 1);
    const mock_xfer_t *last = mock_log(&f->m, f->m.nlog - 1);
    assert_int_equal(last->wlen, 0);
    assert_int_equal(last->rlen, 256);
    assert_int_equal(f->m.unprepared_reads, 0);
    /* 700 - 512 = 188 file bytes, then 0xFF. */
    assert_memory_equal(out, file + 512, 188);
    for (int i = 188; i < 256; i++)
        assert_int_equal(out[i], 0xFF);
}

static void test_read_sector_index_big_endian(void **state)
{
    fixture_t *f = *state;
    uint8_t out[256];
    assert_int_equal(fb_file_read_sector(&f->c, 0x1234, out), FB_HOST_OK);
    const mock_xfer_t *e = mock_log(&f->m, 0);
    assert_int_equal(e->w[1], 0x12);
    assert_int_equal(e->w[2], 0x34);
    size_t n = f->m.nlog;
    assert_int_equal(fb_file_read_sector(&f->c, FB_SECTOR_INDEX_MAX + 1, out), FB_HOST_EINVAL);
    assert_int_equal(f->m.nlog, n);
}

static void test_read_without_ready_is_proto_error(void **state)
{
    fixture_t *f = *state;
    uint8_t out[256];
    f->m.never_ready = true;
    assert_int_equal(fb_file_read_sector(&f->c, 0, out), FB_HOST_EPROTO);
    assert_int_equal(f->m.unprepared_reads, 0);
    /* No plain read was made: nothing to mistake for data. */
    assert_int_equal(mock_log(&f->m, f->m.nlog - 1)->wlen, 1);
}

static void test_read_device_error(void **state)
{
    fixture_t *f = *state;
    uint8_t out[256];
    f->m.fail_cmd = FB_CMD_READ_SECTOR;
    f->m.fail_bits = FB_ERR_BAD_PARAM;
    assert_int_equal(fb_file_read_sector(&f->c, 5, out), FB_HOST_EDEVICE);
    assert_int_equal(f->c.last_error, FB_ERR_BAD_PARAM | FB_ERR_FAILED);
}

static void test_file_read_slices(void **state)
{
    fixture_t *f = *state;
    uint8_t file[1000], out[300];
    pattern(file, sizeof file, 15);
    /* 0xFF inside the data must come back as data. */
    file[260] = 0xFF;
    file[261] = 0xFF;
    mock_set_file(&f->m, file, sizeof file);
    assert_int_equal(fb_file_read(&f->c, 250, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, file + 250, sizeof out);
    /* 250..549 touches sectors 0, 1 and 2, each once, in order. */
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_READ_SECTOR), 3);
    for (unsigned k = 0; k < 3; k++) {
        const mock_xfer_t *e = mock_nth_frame(&f->m, FB_CMD_READ_SECTOR, k);
        assert_int_equal(e->w[1], 0);
        assert_int_equal(e->w[2], k);
    }
    assert_int_equal(f->m.unprepared_reads, 0);
}

static void test_file_read_within_one_sector(void **state)
{
    fixture_t *f = *state;
    uint8_t file[600], out[10];
    pattern(file, sizeof file, 16);
    mock_set_file(&f->m, file, sizeof file);
    assert_int_equal(fb_file_read(&f->c, 300, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, file + 300, sizeof out);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_READ_SECTOR), 1);
    assert_int_equal(mock_nth_frame(&f->m, FB_CMD_READ_SECTOR, 0)->w[2], 1);
}

static void test_file_read_past_end_is_ff(void **state)
{
    fixture_t *f = *state;
    uint8_t file[100], out[50];
    pattern(file, sizeof file, 17);
    mock_set_file(&f->m, file, sizeof file);
    assert_int_equal(fb_file_read(&f->c, 80, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, file + 80, 20);
    for (int i = 20; i < 50; i++)
        assert_int_equal(out[i], 0xFF);
}

static void test_file_read_bounds(void **state)
{
    fixture_t *f = *state;
    uint8_t out[2];
    uint32_t last = (FB_SECTOR_INDEX_MAX + 1u) * FB_SECTOR_SIZE;
    assert_int_equal(fb_file_read(&f->c, last, out, 1), FB_HOST_EINVAL);
    assert_int_equal(fb_file_read(&f->c, last - 1, out, 2), FB_HOST_EINVAL);
    assert_int_equal(fb_file_read(&f->c, 0, NULL, 1), FB_HOST_EINVAL);
    assert_int_equal(f->m.nxfers, 0);
    assert_int_equal(fb_file_read(&f->c, 0, NULL, 0), FB_HOST_OK);
    assert_int_equal(fb_file_read(&f->c, last - 1, out, 1), FB_HOST_OK);
    assert_int_equal(mock_nth_frame(&f->m, FB_CMD_READ_SECTOR, 0)->w[1], 0x7F);
    assert_int_equal(mock_nth_frame(&f->m, FB_CMD_READ_SECTOR, 0)->w[2], 0xFF);
}

static void test_file_read_progress(void **state)
{
    fixture_t *f = *state;
    uint8_t file[1024], out[1024];
    pattern(file, sizeof file, 18);
    mock_set_file(&f->m, file, sizeof file);
    struct progress_log p = {.monotonic = true};
    f->c.progress = progress_cb;
    f->c.progress_ctx = &p;
    assert_int_equal(fb_file_read(&f->c, 0, out, sizeof out), FB_HOST_OK);
    assert_int_equal(p.calls, 4);
    assert_true(p.monotonic);
    assert_int_equal(p.last_done, 1024);
    assert_int_equal(p.total, 1024);
}

static void test_config_read_pieces(void **state)
{
    fixture_t *f = *state;
    uint8_t out[600];
    pattern(f->m.config, FB_CONFIG_SIZE, 19);
    assert_int_equal(fb_config_read(&f->c, 100, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, f->m.config + 100, sizeof out);
    /* 256-byte pieces starting exactly at 100, 356, 612. */
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_READ_CONFIG), 3);
    const unsigned offs[3] = {100, 356, 612};
    for (unsigned k = 0; k < 3; k++) {
        const mock_xfer_t *e = mock_nth_frame(&f->m, FB_CMD_READ_CONFIG, k);
        assert_int_equal(e->wlen, 3);
        assert_int_equal(e->w[1], offs[k] >> 8);
        assert_int_equal(e->w[2], offs[k] & 0xFF);
    }
    assert_int_equal(f->m.unprepared_reads, 0);
}

static void test_config_read_whole_zone_and_tail(void **state)
{
    fixture_t *f = *state;
    uint8_t out[FB_CONFIG_SIZE];
    pattern(f->m.config, FB_CONFIG_SIZE, 20);
    assert_int_equal(fb_config_read(&f->c, 0, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, f->m.config, sizeof out);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_READ_CONFIG), 4);
    /* The last 24 bytes: one piece, only the zone's bytes copied. */
    memset(out, 0, sizeof out);
    assert_int_equal(fb_config_read(&f->c, 1000, out, 24), FB_HOST_OK);
    assert_memory_equal(out, f->m.config + 1000, 24);
    assert_int_equal(out[24], 0);
}

static void test_config_read_bounds_before_bus(void **state)
{
    fixture_t *f = *state;
    uint8_t out[FB_CONFIG_SIZE + 1];
    assert_int_equal(fb_config_read(&f->c, 1000, out, 25), FB_HOST_EINVAL);
    assert_int_equal(fb_config_read(&f->c, 0, out, FB_CONFIG_SIZE + 1), FB_HOST_EINVAL);
    assert_int_equal(fb_config_read(&f->c, FB_CONFIG_SIZE, out, 1), FB_HOST_EINVAL);
    assert_int_equal(fb_config_read(&f->c, 0, NULL, 1), FB_HOST_EINVAL);
    assert_int_equal(f->m.nxfers, 0);
    assert_int_equal(fb_config_read(&f->c, FB_CONFIG_SIZE, out, 0), FB_HOST_OK);
    assert_int_equal(f->m.nxfers, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_init_defaults),
        T(test_who_am_i),
        T(test_wrong_address_nacks),
        T(test_status_and_error_registers),
        T(test_file_size_big_endian),
        T(test_transport_eio_propagates),
        T(test_wait_idle_polls_until_not_busy),
        T(test_wait_idle_timeout),
        T(test_wait_idle_timeout_counts_bus_time),
        T(test_wait_idle_zero_timeout_still_polls_once),
        T(test_wait_idle_device_error),
        T(test_wait_idle_error_flag_without_bits),
        T(test_wait_idle_stale_error_reported),
        T(test_set_and_get_name_frames),
        T(test_set_name_rejected_by_target),
        T(test_clear_frames),
        T(test_command_nack),
        T(test_append_frame_layout),
        T(test_append_exact_multiple),
        T(test_append_empty_and_bad_args),
        T(test_append_credit_flow_control),
        T(test_append_uses_partial_credits),
        T(test_append_v1_status),
        T(test_append_nack_stops),
        T(test_append_file_full_stops_early),
        T(test_append_timeout_when_queue_never_frees),
        T(test_append_progress),
        T(test_config_write_frames),
        T(test_config_write_high_offset_big_endian),
        T(test_config_write_bounds),
        T(test_config_write_flow_control),
        T(test_config_write_device_error),
        T(test_read_sector_sequence),
        T(test_read_sector_index_big_endian),
        T(test_read_without_ready_is_proto_error),
        T(test_read_device_error),
        T(test_file_read_slices),
        T(test_file_read_within_one_sector),
        T(test_file_read_past_end_is_ff),
        T(test_file_read_bounds),
        T(test_file_read_progress),
        T(test_config_read_pieces),
        T(test_config_read_whole_zone_and_tail),
        T(test_config_read_bounds_before_bus),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
