/*
 * fb_log against the simulated board (flashbridge-sim as a process, through
 * transport_sim): line-by-line logs stored byte for byte, the register reads they cost
 * on a real queue, order with fb_file_append / fb_file_clear, and what a power cut of
 * the target may take from a log.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fb_transport.h"
#include "pattern.h"
#include "flashbridge.h"
#include "flashbridge/protocol.h"
#include "sim_proc.h"

/* A transport in front of the simulator's that counts what the client does. */
typedef struct counting {
    fb_transport_t base;
    fb_transport_t *in;
    unsigned reg_reads; /* write of one register byte, then a read */
    unsigned append_frames;
} counting_t;

static int cnt_xfer(fb_transport_t *t, uint8_t addr7, const uint8_t *w, size_t wlen,
                    uint8_t *r, size_t rlen)
{
    counting_t *k = (counting_t *)t;
    k->reg_reads += wlen == 1 && rlen > 0;
    k->append_frames += wlen > 0 && rlen == 0 && w[0] == FB_CMD_APPEND_CRC;
    return k->in->ops->xfer(k->in, addr7, w, wlen, r, rlen);
}

static int cnt_sleep(fb_transport_t *t, uint64_t us)
{
    counting_t *k = (counting_t *)t;
    return k->in->ops->sleep_us(k->in, us);
}

static uint64_t cnt_now(fb_transport_t *t)
{
    counting_t *k = (counting_t *)t;
    return k->in->ops->now_us(k->in);
}

static void cnt_close(fb_transport_t *t)
{
    (void)t; /* the fixture closes the inner transport */
}

static const struct fb_transport_ops cnt_ops = {cnt_xfer, cnt_sleep, cnt_now, cnt_close};

typedef struct ctx {
    sim_proc_t sim;
    fb_transport_t *t;
    counting_t k;
    fb_client_t c;
    fb_log_t log;
} ctx_t;

static int setup_with(void **state, const char *khz)
{
    ctx_t *x = calloc(1, sizeof *x);
    const char *const extra[] = {"--bus-khz", khz, NULL};
    assert_int_equal(sim_dir_init(&x->sim), 0);
    assert_int_equal(sim_start(&x->sim, extra), 0);
    x->t = fb_transport_sim_open(x->sim.sock);
    assert_non_null(x->t);
    x->k.base.ops = &cnt_ops;
    x->k.in = x->t;
    fb_client_init(&x->c, &x->k.base, FB_I2C_ADDR);
    *state = x;
    return 0;
}

static int setup_100k(void **state)
{
    return setup_with(state, "100");
}

static int setup_400k(void **state)
{
    return setup_with(state, "400");
}

static int teardown(void **state)
{
    ctx_t *x = *state;
    fb_transport_close(x->t);
    assert_int_equal(sim_stop(&x->sim), 0);
    sim_dir_remove(&x->sim);
    free(x);
    return 0;
}

/* The file is at bytes, then data[0..n). */
static void expect_file_at(ctx_t *x, uint32_t at, const uint8_t *data, size_t n)
{
    uint32_t size = 0;
    assert_int_equal(fb_file_size(&x->c, &size), FB_HOST_OK);
    assert_int_equal(size, at + n);
    uint8_t *back = malloc(n);
    assert_int_equal(fb_file_read(&x->c, at, back, n), FB_HOST_OK);
    assert_memory_equal(back, data, n);
    free(back);
}

static void expect_file(ctx_t *x, const uint8_t *data, size_t n)
{
    expect_file_at(x, 0, data, n);
}

/* 1,000 lines of 30 bytes at 400 kHz: coalesced into full frames, with at most one
 * register read per two frames on the firmware's real queue. */
static void log_30_byte_lines_register_reads(void **state)
{
    ctx_t *x = *state;
    enum { LINES = 1000, LEN = 30 };
    uint8_t *data = malloc(LINES * LEN);
    test_pattern(data, LINES * LEN, 1);
    assert_int_equal(fb_log_open(&x->log, &x->c, NULL), FB_HOST_OK);
    /* A fresh board checks and erases its first data sector when the first frames
     * arrive (they wait 45 ms in the queue): start the count behind that. */
    assert_int_equal(fb_log_write(&x->log, data, 256), FB_HOST_OK);
    assert_int_equal(fb_log_flush(&x->log), FB_HOST_OK);
    x->k.reg_reads = 0;
    x->k.append_frames = 0;
    for (unsigned i = 0; i < LINES; i++)
        assert_int_equal(fb_log_write(&x->log, data + i * LEN, LEN), FB_HOST_OK);
    assert_int_equal(fb_log_close(&x->log), FB_HOST_OK);
    unsigned frames = x->k.append_frames;
    assert_int_equal(frames, (LINES * LEN + 255) / 256);
    print_message("frames %u, register reads %u\n", frames, x->k.reg_reads);
    assert_true(x->k.reg_reads <= frames / 2);
    assert_int_equal(x->c.stats.resyncs + x->c.stats.bus_retries, 0);
    expect_file_at(x, 256, data, LINES * LEN);
    free(data);
}

/* Lines of 30..80 bytes at 100 kHz, with fb_file_append and fb_file_clear between them:
 * the file holds every byte in call order. */
static void log_mixed_lines_interleaved(void **state)
{
    ctx_t *x = *state;
    enum { N = 12000, M = 700 };
    uint8_t *data = malloc(N), *other = malloc(M), *expect = malloc(2 * N + M);
    test_pattern(data, N, 2);
    test_pattern(other, M, 3);
    assert_int_equal(fb_log_open(&x->log, &x->c, NULL), FB_HOST_OK);
    uint32_t r = 7;
    size_t at = 0, e = 0;
    int phase = 0;
    while (at < N) {
        r = r * 1103515245u + 12345u;
        size_t n = 30 + (r >> 16) % 51;
        if (n > N - at)
            n = N - at;
        assert_int_equal(fb_log_write(&x->log, data + at, n), FB_HOST_OK);
        memcpy(expect + e, data + at, n);
        at += n;
        e += n;
        if (phase == 0 && at > N / 3) {
            assert_int_equal(fb_file_append(&x->c, other, M), FB_HOST_OK);
            memcpy(expect + e, other, M);
            e += M;
            phase = 1;
        } else if (phase == 1 && at > 2 * N / 3) {
            assert_int_equal(fb_file_clear(&x->c), FB_HOST_OK);
            e = 0;
            phase = 2;
        }
    }
    assert_int_equal(fb_log_flush(&x->log), FB_HOST_OK);
    expect_file(x, expect, e);
    assert_int_equal(fb_log_close(&x->log), FB_HOST_OK);
    free(data);
    free(other);
    free(expect);
}

/* A power cut of the target while frames are in its queue: every byte whose flush
 * returned is there; of the rest, the file holds a prefix, and the next flush says
 * exactly how many bytes are missing. */
static void log_power_cut_keeps_flushed_bytes(void **state)
{
    ctx_t *x = *state;
    enum { N = 8000, LEN = 40 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 4);
    assert_int_equal(fb_log_open(&x->log, &x->c, NULL), FB_HOST_OK);
    for (size_t at = 0; at < N / 2; at += LEN)
        assert_int_equal(fb_log_write(&x->log, data + at, LEN), FB_HOST_OK);
    assert_int_equal(fb_log_flush(&x->log), FB_HOST_OK);
    const uint32_t flushed = N / 2;
    for (size_t at = N / 2; at < N; at += LEN)
        assert_int_equal(fb_log_write(&x->log, data + at, LEN), FB_HOST_OK);
    assert_int_equal(fb_transport_sim_power_cycle(x->t, 1000000), FB_HOST_OK);
    assert_int_equal(x->t->ops->sleep_us(x->t, 500000), FB_HOST_OK); /* boot, mount */
    int rc = fb_log_flush(&x->log);
    uint32_t size = 0;
    assert_int_equal(fb_file_size(&x->c, &size), FB_HOST_OK);
    assert_true(size >= flushed);
    print_message("after the cut: flush %s, file %u of %u bytes\n", fb_strerror(rc), size, (unsigned)N);
    if (rc == FB_HOST_OK) {
        assert_int_equal(size, N);
    } else {
        assert_int_equal(rc, FB_HOST_ELOST);
        assert_int_equal(x->log.missing, N - size);
        assert_true(x->log.missing <= 5 * 256); /* the queue, and the flush's frame */
    }
    assert_int_equal(fb_log_close(&x->log), rc);
    uint8_t *back = malloc(size);
    assert_int_equal(fb_file_read(&x->c, 0, back, size), FB_HOST_OK);
    assert_memory_equal(back, data, size);
    free(back);
    free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(log_30_byte_lines_register_reads, setup_400k, teardown),
        cmocka_unit_test_setup_teardown(log_mixed_lines_interleaved, setup_100k, teardown),
        cmocka_unit_test_setup_teardown(log_power_cut_keeps_flushed_bytes, setup_400k, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
