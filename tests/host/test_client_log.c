/*
 * Line-by-line logging (fb_log_*) against the mock target: bytes and frames for many
 * line sizes, register reads per frame, the delay rule, flush verification, repairs of
 * refused frames and bus errors, the v1 fallback, and order with the client's other
 * calls.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "flashbridge.h"
#include "flashbridge/protocol.h"
#include "mock_target.h"

typedef struct fixture {
    mock_target_t m;
    fb_client_t c;
    fb_log_t log;
} fixture_t;

static int setup_v11(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    mock_init(&f->m);
    fb_client_init(&f->c, &f->m.base, FB_I2C_ADDR);
    *state = f;
    return 0;
}

/* Protocol 2.0 with the streaming extension: the firmware's. */
static int setup_ext(void **state)
{
    setup_v11(state);
    ((fixture_t *)*state)->m.ext = true;
    ((fixture_t *)*state)->m.v2 = true;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    mock_free(&f->m);
    free(f);
    return 0;
}

static unsigned reg_reads(const mock_target_t *m)
{
    unsigned k = 0;
    for (size_t i = 0; i < m->nlog; i++)
        k += m->log[i].wlen == 1 && m->log[i].rlen > 0;
    return k;
}

static unsigned count_reg(const mock_target_t *m, uint8_t reg)
{
    unsigned k = 0;
    for (size_t i = 0; i < m->nlog; i++)
        k += m->log[i].wlen == 1 && m->log[i].rlen > 0 && m->log[i].w[0] == reg;
    return k;
}

/* Write data as lines of the given sizes (cycled), one fb_log_write per line. */
static void write_lines(fb_log_t *log, const uint8_t *data, size_t total, const size_t *sizes,
                        size_t nsizes)
{
    size_t at = 0;
    for (size_t k = 0; at < total; k++) {
        size_t n = sizes[k % nsizes];
        if (n > total - at)
            n = total - at;
        assert_int_equal(fb_log_write(log, data + at, n), FB_HOST_OK);
        at += n;
    }
}

/* ---- bytes and frames ---- */

static void test_log_bytes_for_many_line_sizes(void **state)
{
    fixture_t *f = *state;
    static const size_t sizes[] = {1, 2, 29, 30, 31, 55, 80, 127, 255, 256, 257, 600, 1000};
    enum { N = 6000 };
    uint8_t *data = malloc(N);
    uint32_t at = 0;
    for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
        test_pattern(data, N, (uint32_t)s + 1);
        size_t n = N - s * 37; /* totals that end anywhere in a frame */
        assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
        unsigned frames0 = mock_count_frames(&f->m, FB_CMD_APPEND_CRC);
        write_lines(&f->log, data, n, &sizes[s], 1);
        assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
        assert_int_equal(f->m.file_size, at + n);
        assert_memory_equal(f->m.file + at, data, n);
        /* Coalesced, and every frame but the one the flush sent ends where a 256-byte
         * page of the file ends (one page program per frame): after a first short
         * frame up to the page boundary, whole pages. */
        unsigned frames = mock_count_frames(&f->m, FB_CMD_APPEND_CRC) - frames0;
        uint32_t head = (256u - at % 256u) % 256u;
        unsigned expect = head >= n ? 1u : (head ? 1u : 0u) + (unsigned)((n - head + 255) / 256);
        assert_int_equal(frames, expect);
        uint32_t end = at;
        for (unsigned k = 0; k < frames; k++) {
            const mock_xfer_t *x = mock_nth_frame(&f->m, FB_CMD_APPEND_CRC, frames0 + k);
            end += (uint32_t)(x->wlen - FB_APPEND_CRC_OVERHEAD);
            if (k + 1 < frames)
                assert_int_equal(end % 256u, 0);
        }
        assert_int_equal(end, at + n);
        at += (uint32_t)n;
    }
    assert_null(f->c.log);
    assert_int_equal(f->m.credit_violations, 0);
    assert_int_equal(f->m.dropped, 0);
    assert_int_equal(f->c.stats.resyncs + f->c.stats.bus_retries, 0);
    free(data);
}

static void test_log_mixed_lines_and_write_line(void **state)
{
    fixture_t *f = *state;
    enum { N = 20000 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 77);
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    uint32_t r = 12345;
    size_t at = 0;
    while (at < N) {
        r = r * 1103515245u + 12345u;
        size_t n = 30 + (r >> 16) % 51;
        if (n > N - at)
            n = N - at;
        assert_int_equal(fb_log_write(&f->log, data + at, n), FB_HOST_OK);
        at += n;
    }
    assert_int_equal(fb_log_write_line(&f->log, "no newline"), FB_HOST_OK);
    assert_int_equal(fb_log_write_line(&f->log, "has one\n"), FB_HOST_OK);
    assert_int_equal(fb_log_write_line(&f->log, ""), FB_HOST_OK);
    assert_int_equal(fb_log_write(&f->log, NULL, 0), FB_HOST_OK);
    assert_int_equal(fb_log_flush(&f->log), FB_HOST_OK);
    static const char tail[] = "no newline\nhas one\n\n\n";
    assert_int_equal(f->m.file_size, N + strlen(tail));
    assert_memory_equal(f->m.file, data, N);
    assert_memory_equal(f->m.file + N, tail, strlen(tail));
    assert_int_equal(f->log.written, N + strlen(tail));
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    free(data);
}

/* 1,000 lines of 30 bytes: a status read only when a burst of credits is used up, and
 * STREAM_STATE only at open and at the flush. The mock runs a frame as it arrives, so
 * every EXT_STATUS read gives the four slots: the count is exact. */
static void test_log_register_reads_per_frame(void **state)
{
    fixture_t *f = *state;
    enum { LINES = 1000, LEN = 30 };
    uint8_t line[LEN];
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    unsigned open_reads = reg_reads(&f->m);
    for (unsigned i = 0; i < LINES; i++) {
        test_pattern(line, LEN, i);
        assert_int_equal(fb_log_write(&f->log, line, LEN), FB_HOST_OK);
    }
    unsigned frames = mock_count_frames(&f->m, FB_CMD_APPEND_CRC);
    assert_int_equal(frames, LINES * LEN / 256);
    unsigned reads = reg_reads(&f->m) - open_reads;
    assert_int_equal(reads, (frames + 3) / 4); /* one EXT_STATUS per 4 frames */
    assert_int_equal(fb_log_flush(&f->log), FB_HOST_OK);
    frames = mock_count_frames(&f->m, FB_CMD_APPEND_CRC);
    assert_int_equal(frames, (LINES * LEN + 255) / 256);
    assert_true(reg_reads(&f->m) <= frames / 2);
    assert_int_equal(count_reg(&f->m, FB_CMD_STREAM_STATE), 2); /* open, flush */
    assert_int_equal(f->m.file_size, LINES * LEN);
    assert_int_equal(f->m.credit_violations, 0);
    assert_int_equal(f->m.max_burst, FB_QUEUE_DEPTH);
}

/* A target that keeps each frame queued for two status reads: credits come one or two
 * at a time, and still never more frames than the free slots. */
static void test_log_slow_target_respects_credits(void **state)
{
    fixture_t *f = *state;
    f->m.cmd_polls = 2;
    enum { N = 10000 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 5);
    static const size_t sizes[] = {55};
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    write_lines(&f->log, data, N, sizes, 1);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    assert_memory_equal(f->m.file, data, N);
    assert_int_equal(f->m.credit_violations, 0);
    assert_int_equal(f->m.dropped, 0);
    free(data);
}

/* ---- the delay rule ---- */

static void test_log_delay_rule(void **state)
{
    fixture_t *f = *state;
    const fb_log_opts_t opts = {.delay_ms = 10};
    uint8_t line[30];
    test_pattern(line, sizeof line, 1);
    assert_int_equal(fb_log_open(&f->log, &f->c, &opts), FB_HOST_OK);
    assert_int_equal(fb_log_write(&f->log, line, sizeof line), FB_HOST_OK);
    f->m.now_us += 9999; /* not yet 10 ms after the first byte */
    assert_int_equal(fb_log_write(&f->log, line, sizeof line), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 0);
    f->m.now_us += 1; /* 10 ms: this write sends the partial frame, its own bytes too */
    assert_int_equal(fb_log_write(&f->log, line, sizeof line), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 1);
    assert_int_equal(mock_nth_frame(&f->m, FB_CMD_APPEND_CRC, 0)->wlen, 90 + 5);
    /* The clock starts again with the next first byte. */
    f->m.now_us += 50000;
    assert_int_equal(fb_log_write(&f->log, line, sizeof line), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 1);
    f->m.now_us += 10000;
    assert_int_equal(fb_log_write(&f->log, line, 5), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 2);
    assert_int_equal(mock_nth_frame(&f->m, FB_CMD_APPEND_CRC, 1)->wlen, 35 + 5);
    /* Sent frames are the target's to store: here they are, without a flush. */
    assert_int_equal(f->m.file_size, 125);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
}

static void test_log_delay_zero_sends_every_write(void **state)
{
    fixture_t *f = *state;
    const fb_log_opts_t opts = {.delay_ms = 0};
    uint8_t line[80];
    test_pattern(line, sizeof line, 2);
    assert_int_equal(fb_log_open(&f->log, &f->c, &opts), FB_HOST_OK);
    unsigned reads0 = reg_reads(&f->m);
    for (unsigned i = 0; i < 12; i++)
        assert_int_equal(fb_log_write(&f->log, line, 40 + i), FB_HOST_OK);
    /* Each write goes out at once; a write that crosses a 256-byte page of the file
     * goes as two frames, split at the page's end (546 bytes: two crossings). */
    unsigned frames = mock_count_frames(&f->m, FB_CMD_APPEND_CRC);
    assert_int_equal(frames, 14);
    uint32_t end = 0, want = 0;
    unsigned k = 0;
    for (unsigned i = 0; i < 12; i++) {
        want += 40 + i;
        while (end < want) {
            const mock_xfer_t *x = mock_nth_frame(&f->m, FB_CMD_APPEND_CRC, k++);
            uint32_t len = (uint32_t)(x->wlen - FB_APPEND_CRC_OVERHEAD);
            assert_true(end / 256u == (end + len - 1) / 256u); /* within one page */
            end += len;
        }
        assert_int_equal(end, want); /* nothing of the next write in this one's frames */
    }
    assert_int_equal(k, frames);
    /* Still pipelined: at most a status read per 4 frames, none per call. */
    assert_true(reg_reads(&f->m) - reads0 <= (frames + 3) / 4);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
}

static void test_log_default_delay_keeps_a_partial_frame(void **state)
{
    fixture_t *f = *state;
    uint8_t line[30];
    test_pattern(line, sizeof line, 3);
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_int_equal(f->log.delay_ms, FB_LOG_DELAY_MS_DEFAULT);
    for (unsigned i = 0; i < 8; i++) {
        assert_int_equal(fb_log_write(&f->log, line, sizeof line), FB_HOST_OK);
        f->m.now_us += 100000; /* 0.7 s in all: under a second */
    }
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 0);
    f->m.now_us += 200000; /* the first byte is now 1.0 s old */
    assert_int_equal(fb_log_write(&f->log, line, 10), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 1);
    assert_int_equal(f->m.file_size, 250);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
}

/* A host that stops without flush or close (a reset): what it sent is the target's, so
 * only the buffer is lost, under one frame, and with delay_ms set none of it older than
 * delay_ms at the last write. */
static void test_log_host_reset_loses_only_the_buffer(void **state)
{
    fixture_t *f = *state;
    const fb_log_opts_t opts = {.delay_ms = 50};
    f->m.cmd_polls = 1;
    enum { N = 9000 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 27);
    assert_int_equal(fb_log_open(&f->log, &f->c, &opts), FB_HOST_OK);
    size_t at = 0;
    for (unsigned i = 0; at < N; i++) {
        size_t n = 30 + i % 51 < N - at ? 30 + i % 51 : N - at;
        assert_int_equal(fb_log_write(&f->log, data + at, n), FB_HOST_OK);
        at += n;
        f->m.now_us += 20000; /* a line per 20 ms: frames fill slower than delay_ms */
    }
    /* The host is gone; the target runs what it queued. */
    while (f->m.qn > 0) {
        uint8_t reg = FB_CMD_EXT_STATUS, st;
        assert_int_equal(f->m.base.ops->xfer(&f->m.base, FB_I2C_ADDR, &reg, 1, &st, 1), 0);
    }
    assert_true(f->log.n < 256);
    assert_int_equal(f->m.file_size, N - f->log.n);
    assert_memory_equal(f->m.file, data, f->m.file_size);
    /* The oldest byte still buffered came at most 50 ms before the last write. */
    assert_true(f->m.now_us - 20000 - f->log.first_us < 50000);
    free(data);
}

/* ---- flush verification and errors ---- */

/* The target acknowledges the flush's frame on the bus, then reboots and loses it with
 * its sequence state (no error bit says so): the flush's STREAM_STATE check finds the
 * file short and says by how much. */
static void test_log_flush_reports_missing_bytes(void **state)
{
    fixture_t *f = *state;
    f->m.last_seq = 100;
    uint8_t data[300];
    test_pattern(data, sizeof data, 9);
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_int_equal(fb_log_write(&f->log, data, sizeof data), FB_HOST_OK);
    f->m.reboot_frame = 2; /* the flush's 44-byte frame */
    assert_int_equal(fb_log_flush(&f->log), FB_HOST_ELOST);
    assert_int_equal(f->log.missing, 44);
    assert_int_equal(f->m.file_size, 256);
    /* The error sticks, and the client is released by close. */
    assert_int_equal(fb_log_write(&f->log, data, 10), FB_HOST_ELOST);
    assert_int_equal(fb_log_flush(&f->log), FB_HOST_ELOST);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 2);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_ELOST);
    assert_null(f->c.log);
    assert_int_equal(fb_log_write(&f->log, data, 10), FB_HOST_EINVAL);
    assert_string_equal(fb_strerror(FB_HOST_ELOST),
                        "bytes written to the log are missing on the target");
}

/* The file grew under the log beyond what it sent (another host's frame took its
 * sequence number): not "missing", a protocol error. */
static void test_log_flush_finds_a_foreign_writer(void **state)
{
    fixture_t *f = *state;
    uint8_t data[100];
    test_pattern(data, sizeof data, 10);
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_int_equal(fb_log_write(&f->log, data, sizeof data), FB_HOST_OK);
    /* Another host appends 150 bytes with the next sequence number. */
    uint8_t other[150 + 5] = {FB_CMD_APPEND_CRC, 1, 149};
    memset(other + 3, 'x', 150);
    uint16_t crc = fb_crc16(FB_EXT_CRC_INIT, other, 153);
    other[153] = (uint8_t)(crc >> 8);
    other[154] = (uint8_t)crc;
    assert_int_equal(f->m.base.ops->xfer(&f->m.base, FB_I2C_ADDR, other, sizeof other, NULL, 0), 0);
    int rc = fb_log_flush(&f->log);
    assert_int_equal(rc, FB_HOST_EPROTO);
    assert_int_equal(f->log.missing, 0);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_EPROTO);
}

static void test_log_corrupted_frames_are_sent_again(void **state)
{
    fixture_t *f = *state;
    enum { N = 30 * 256 + 100 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 11);
    static const size_t sizes[] = {30, 80, 55};
    f->m.cmd_polls = 1;
    f->m.corrupt_frame = 6; /* refused for its CRC; the ones after it for their seq */
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    write_lines(&f->log, data, N, sizes, 3);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    assert_int_equal(f->m.crc_errors, 1);
    assert_int_equal(f->c.stats.resyncs, 1);
    assert_int_equal(f->m.file_size, N);
    assert_memory_equal(f->m.file, data, N);
    free(data);
}

/* The flush's own frame refused: the flush repairs it before it checks. */
static void test_log_corrupted_last_frame_is_repaired_by_flush(void **state)
{
    fixture_t *f = *state;
    uint8_t data[600];
    test_pattern(data, sizeof data, 12);
    f->m.corrupt_frame = 3;
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_int_equal(fb_log_write(&f->log, data, sizeof data), FB_HOST_OK);
    assert_int_equal(fb_log_flush(&f->log), FB_HOST_OK);
    assert_int_equal(f->c.stats.resyncs, 1);
    assert_int_equal(f->m.file_size, sizeof data);
    assert_memory_equal(f->m.file, data, sizeof data);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
}

static void test_log_bus_errors_are_sent_again(void **state)
{
    fixture_t *f = *state;
    enum { N = 20 * 256 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 13);
    static const size_t sizes[] = {30};
    f->m.nack_frame = 3;     /* never got there */
    f->m.lost_ack_frame = 9; /* got there; the host heard a bus error */
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    write_lines(&f->log, data, N, sizes, 1);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    assert_int_equal(f->c.stats.bus_retries, 2);
    assert_int_equal(f->m.file_size, N);
    assert_memory_equal(f->m.file, data, N);
    free(data);
}

/* A lost acknowledgement on a target whose queue is full: the copy takes a slot the
 * credits did not count, a later frame meets a full queue (QUEUE_FULL), and the log
 * goes back to it. */
static void test_log_queue_full_is_repaired(void **state)
{
    fixture_t *f = *state;
    enum { N = 24 * 256 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 14);
    static const size_t sizes[] = {80};
    f->m.cmd_polls = 3;
    f->m.lost_ack_frame = 6;
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    write_lines(&f->log, data, N, sizes, 1);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    assert_true(f->m.dropped >= 1);
    assert_true(f->c.stats.resyncs >= 1);
    assert_int_equal(f->m.file_size, N);
    assert_memory_equal(f->m.file, data, N);
    free(data);
}

/* EXT_STATUS shows ERROR but ERRORS reads 0 (another host read it): the log cannot
 * tell whether its frames were refused, so it asks STREAM_STATE instead of guessing. */
static void test_log_error_flag_without_bits_is_checked(void **state)
{
    fixture_t *f = *state;
    enum { N = 12 * 256 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 26);
    static const size_t sizes[] = {55};
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    f->m.error_flag_stuck = true;
    write_lines(&f->log, data, N, sizes, 1);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    assert_true(f->c.stats.resyncs >= 1);
    assert_int_equal(f->m.file_size, N);
    assert_memory_equal(f->m.file, data, N);
    free(data);
}

static void test_log_file_full_sticks(void **state)
{
    fixture_t *f = *state;
    uint8_t data[2000];
    test_pattern(data, sizeof data, 15);
    f->m.file_cap = 600;
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    int rc = fb_log_write(&f->log, data, sizeof data);
    if (rc == FB_HOST_OK)
        rc = fb_log_flush(&f->log);
    assert_int_equal(rc, FB_HOST_EDEVICE);
    assert_true(f->c.last_error & FB_ERR_FILE_FULL);
    assert_int_equal(f->c.stats.resyncs, 0);
    assert_int_equal(f->m.file_size, 512);
    assert_int_equal(fb_log_write(&f->log, data, 1), FB_HOST_EDEVICE);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_EDEVICE);
}

static void test_log_absent_target(void **state)
{
    fixture_t *f = *state;
    f->m.absent = true;
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_ENACK);
    assert_null(f->c.log);
}

static void test_log_bad_arguments(void **state)
{
    fixture_t *f = *state;
    fb_log_t other;
    assert_int_equal(fb_log_open(NULL, &f->c, NULL), FB_HOST_EINVAL);
    assert_int_equal(fb_log_open(&f->log, NULL, NULL), FB_HOST_EINVAL);
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_int_equal(fb_log_open(&other, &f->c, NULL), FB_HOST_EINVAL); /* one per client */
    assert_int_equal(fb_log_write(&f->log, NULL, 3), FB_HOST_EINVAL);
    assert_int_equal(fb_log_write_line(&f->log, NULL), FB_HOST_EINVAL);
    assert_int_equal(fb_log_write(NULL, "x", 1), FB_HOST_EINVAL);
    assert_int_equal(fb_log_flush(NULL), FB_HOST_EINVAL);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_EINVAL);
    assert_int_equal(fb_log_flush(&f->log), FB_HOST_EINVAL);
    assert_int_equal(f->m.file_size, 0);
}

/* ---- targets without the extension ---- */

static void test_log_falls_back_to_write_data(void **state)
{
    fixture_t *f = *state; /* a v1.1 target: no CAPS, no APPEND_CRC */
    enum { N = 3000 };
    uint8_t data[N];
    test_pattern(data, N, 16);
    static const size_t sizes[] = {30, 55, 80};
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_false(f->log.ext);
    write_lines(&f->log, data, N, sizes, 3);
    /* Coalesced there too: 240 bytes as 8 full 30-byte frames, the rest at the flush. */
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), N / 240 * 8);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 0);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), (N + 29) / 30);
    assert_int_equal(f->m.file_size, N);
    assert_memory_equal(f->m.file, data, N);
    assert_int_equal(f->m.dropped, 0);
}

static void test_log_caps_v1_target_gets_write_data(void **state)
{
    fixture_t *f = *state;
    f->m.caps_version = 1;
    uint8_t data[500];
    test_pattern(data, sizeof data, 17);
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_false(f->log.ext);
    assert_int_equal(fb_log_write(&f->log, data, sizeof data), FB_HOST_OK);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 0);
    assert_int_equal(f->m.file_size, sizeof data);
    assert_memory_equal(f->m.file, data, sizeof data);
}

static void test_log_v1_failure_is_reported(void **state)
{
    fixture_t *f = *state;
    uint8_t data[100];
    test_pattern(data, sizeof data, 18);
    f->m.file_cap = 40;
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_int_equal(fb_log_write(&f->log, data, sizeof data), FB_HOST_OK); /* buffered */
    assert_int_equal(fb_log_flush(&f->log), FB_HOST_EDEVICE);
    assert_true(f->c.last_error & FB_ERR_FILE_FULL);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_EDEVICE);
}

/* ---- order with the client's other calls ---- */

/* fb_file_append, fb_file_clear and the rest flush the open log first, and the log
 * numbers its next frame from where the target is then. */
static void test_log_interleaves_with_other_calls(void **state)
{
    fixture_t *f = *state;
    uint8_t a[700], b[300], c[500], d[90], e[40];
    test_pattern(a, sizeof a, 20);
    test_pattern(b, sizeof b, 21);
    test_pattern(c, sizeof c, 22);
    test_pattern(d, sizeof d, 23);
    test_pattern(e, sizeof e, 24);
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_int_equal(fb_log_write(&f->log, a, sizeof a), FB_HOST_OK); /* 188 buffered */
    assert_int_equal(fb_file_append(&f->c, b, sizeof b), FB_HOST_OK);
    assert_int_equal(fb_log_write(&f->log, c, sizeof c), FB_HOST_OK);
    /* The log numbers from the file's end (1000) and fills to the page's end (24 bytes),
     * then a whole page; 220 bytes stay buffered. */
    assert_int_equal(f->m.file_size, 700 + 300 + 24 + 256);
    uint8_t back[1000];
    assert_int_equal(fb_file_read(&f->c, 0, back, sizeof back), FB_HOST_OK); /* flushes */
    assert_memory_equal(back, a, 700);
    assert_memory_equal(back + 700, b, 300);
    assert_int_equal(f->m.file_size, 1500);
    assert_memory_equal(f->m.file + 1000, c, 500);
    assert_int_equal(fb_log_write(&f->log, d, sizeof d), FB_HOST_OK);
    assert_int_equal(fb_file_clear(&f->c), FB_HOST_OK);
    assert_int_equal(f->m.file_size, 0); /* d was stored, then cleared, in call order */
    assert_int_equal(fb_log_write(&f->log, e, sizeof e), FB_HOST_OK);
    uint8_t cfg[30] = {1, 2, 3};
    assert_int_equal(fb_config_write(&f->c, 0, cfg, sizeof cfg), FB_HOST_OK);
    assert_int_equal(f->m.file_size, sizeof e);
    assert_memory_equal(f->m.file, e, sizeof e);
    assert_int_equal(fb_log_write(&f->log, d, sizeof d), FB_HOST_OK);
    uint8_t bits = 0xEE;
    assert_int_equal(fb_error(&f->c, &bits), FB_HOST_OK);
    assert_int_equal(bits, 0);
    assert_int_equal(f->m.file_size, sizeof e + sizeof d);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_OK);
    assert_memory_equal(f->m.file + sizeof e, d, sizeof d);
    assert_int_equal(f->c.stats.resyncs, 0);
}

/* A log whose flush fails blocks the other calls with its error instead of letting them
 * reorder or lose bytes; closing it frees the client. */
static void test_log_failed_flush_blocks_other_calls(void **state)
{
    fixture_t *f = *state;
    uint8_t data[100];
    test_pattern(data, sizeof data, 25);
    f->m.file_cap = 50;
    assert_int_equal(fb_log_open(&f->log, &f->c, NULL), FB_HOST_OK);
    assert_int_equal(fb_log_write(&f->log, data, sizeof data), FB_HOST_OK);
    assert_int_equal(fb_file_append(&f->c, data, 10), FB_HOST_EDEVICE);
    assert_int_equal(fb_file_clear(&f->c), FB_HOST_EDEVICE);
    assert_int_equal(f->m.file_size, 0);
    assert_int_equal(fb_log_close(&f->log), FB_HOST_EDEVICE);
    assert_int_equal(fb_file_clear(&f->c), FB_HOST_OK);
}

int main(void)
{
#define T(fn, setup) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_log_bytes_for_many_line_sizes, setup_ext),
        T(test_log_mixed_lines_and_write_line, setup_ext),
        T(test_log_register_reads_per_frame, setup_ext),
        T(test_log_slow_target_respects_credits, setup_ext),
        T(test_log_delay_rule, setup_ext),
        T(test_log_delay_zero_sends_every_write, setup_ext),
        T(test_log_default_delay_keeps_a_partial_frame, setup_ext),
        T(test_log_host_reset_loses_only_the_buffer, setup_ext),
        T(test_log_flush_reports_missing_bytes, setup_ext),
        T(test_log_flush_finds_a_foreign_writer, setup_ext),
        T(test_log_corrupted_frames_are_sent_again, setup_ext),
        T(test_log_corrupted_last_frame_is_repaired_by_flush, setup_ext),
        T(test_log_bus_errors_are_sent_again, setup_ext),
        T(test_log_queue_full_is_repaired, setup_ext),
        T(test_log_error_flag_without_bits_is_checked, setup_ext),
        T(test_log_file_full_sticks, setup_ext),
        T(test_log_absent_target, setup_ext),
        T(test_log_bad_arguments, setup_ext),
        T(test_log_falls_back_to_write_data, setup_v11),
        T(test_log_caps_v1_target_gets_write_data, setup_ext),
        T(test_log_v1_failure_is_reported, setup_v11),
        T(test_log_interleaves_with_other_calls, setup_ext),
        T(test_log_failed_flush_blocks_other_calls, setup_ext),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
