/*
 * The real firmware keeps serving I2C at 400 kHz while its main loop erases and programs
 * the internal flash (a config commit: two page erases and ~520 half-word programs; then
 * single WRITE_CONFIG journal records): zero stalls (nothing on the interrupt path
 * touches the flash), zero overruns, no byte lost or duplicated in either direction, and
 * the flash work itself correct. Prints the worst I2C interrupt latency and the handler
 * cost per byte. Both boards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "emu_harness.h"
#include "flashbridge/protocol.h"

#define MS 1000000ull

static const uint8_t name83[11] = {'E', 'M', 'U', 'T', 'E', 'S', 'T', ' ', 'B', 'I', 'N'};

typedef struct {
    uint8_t file[4096];
    uint32_t size;
    unsigned reads, bytes_checked, frames;
} ledger_t;

static uint8_t pattern(uint32_t i)
{
    return (uint8_t)(i * 151u + (i >> 8) * 7u + 3u);
}

/* One round of traffic: every register with a known value, read byte-exactly, and a
 * WRITE_DATA frame whenever the queue has room. */
static void traffic_round(ledger_t *L)
{
    uint8_t b[16];
    memset(b, 0xEE, sizeof b);
    assert_true(h_reg(FB_CMD_WHO_AM_I, b, 1));
    assert_int_equal(b[0], FB_WHO_AM_I_VALUE);
    memset(b, 0xEE, sizeof b);
    assert_true(h_reg(FB_CMD_GET_FILENAME, b, 11));
    assert_memory_equal(b, name83, 11);
    memset(b, 0xEE, sizeof b);
    assert_true(h_reg(FB_CMD_FILE_SIZE, b, 4));
    uint32_t sz = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    /* Published when an append finishes: never ahead of what was sent. */
    assert_true(sz <= L->size);
    uint8_t st = h_status();
    assert_int_equal(st & FB_STATUS_ERROR, 0);
    L->reads += 4;
    L->bytes_checked += 1 + 11 + 4 + 1;
    if ((st & FB_STATUS_QUEUE_MASK) > 0 && L->size + 30 <= sizeof L->file) {
        uint8_t d[30];
        for (unsigned i = 0; i < 30; i++)
            d[i] = L->file[L->size + i] = pattern(L->size + i);
        assert_true(h_write_data(d, 30));
        L->size += 30;
        L->frames++;
    }
}

static void traffic_until_idle(ledger_t *L, uint64_t max_ns)
{
    uint64_t end = board_now() + max_ns;
    unsigned rounds = 0;
    for (;;) {
        traffic_round(L);
        rounds++;
        if (rounds > 3 && !(h_status() & FB_STATUS_BUSY))
            return;
        assert_true(board_now() < end);
    }
}

static void check_config(const uint8_t zone[1024])
{
    uint8_t back[256];
    for (uint16_t off = 0; off < 1024; off += 256) {
        assert_true(h_read_prepared(FB_CMD_READ_CONFIG, off, back));
        assert_memory_equal(back, &zone[off], 256);
    }
}

static void check_file(const ledger_t *L)
{
    uint8_t b[4], sec[256];
    assert_true(h_reg(FB_CMD_FILE_SIZE, b, 4));
    assert_int_equal((uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3],
                     L->size);
    for (uint32_t s = 0; s * 256 < L->size; s++) {
        assert_true(h_read_prepared(FB_CMD_READ_SECTOR, (uint16_t)s, sec));
        uint32_t n = L->size - s * 256 < 256 ? L->size - s * 256 : 256;
        assert_memory_equal(sec, &L->file[s * 256], n);
    }
}

static void traffic_during_internal_flash_work(void **state)
{
    const emu_target_t *t = *state;
    static ledger_t L;
    memset(&L, 0, sizeof L);
    h_open(t, 400000, NULL);

    uint8_t f[12] = {FB_CMD_SET_FILENAME};
    memcpy(&f[1], name83, 11);
    assert_true(h_xfer(f, sizeof f, NULL, 0));
    assert_true(h_wait_idle(50000, 200 * MS));
    emu_stats_reset();

    /* A transaction: staged in RAM, then COMMIT = one compaction (erase, erase,
     * snapshot program, header program), ~70 ms of flash work. */
    uint8_t zone[1024];
    for (unsigned i = 0; i < sizeof zone; i++)
        zone[i] = (uint8_t)(i * 13u + 1u);
    assert_true(h_cmd(FB_CMD_CONFIG_BEGIN));
    for (uint16_t off = 0; off < 1024; off += 28) {
        uint8_t n = 1024 - off < 28 ? (uint8_t)(1024 - off) : 28;
        assert_true(h_write_config(off, &zone[off], n));
        assert_true(h_wait_idle(20000, 50 * MS));
    }
    assert_true(h_cmd(FB_CMD_CONFIG_COMMIT));
    traffic_until_idle(&L, 500 * MS);
    const emu_stats_t *s = emu_stats();
    uint64_t ops_commit = s->flash_ops, busy_bytes_commit = s->i2c_bytes_while_flash_busy;

    /* Single writes: one journal record (a few dozen half-word programs) each. */
    for (unsigned k = 0; k < 12; k++) {
        uint16_t off = (uint16_t)(k * 80u + 3u);
        for (unsigned i = 0; i < 20; i++)
            zone[off + i] = (uint8_t)(0xA0u + k + i);
        assert_true(h_write_config(off, &zone[off], 20));
        traffic_until_idle(&L, 200 * MS);
    }
    check_config(zone);
    check_file(&L);

    printf("%s: %llu internal-flash operations (%llu in the commit, %.1f ms busy), %llu I2C bus "
           "bytes while the flash was busy (%llu during the commit); %u register reads, %u "
           "bytes checked, %u WRITE_DATA frames\n",
           t->board, (unsigned long long)s->flash_ops, (unsigned long long)ops_commit,
           (double)s->flash_busy_ns / 1e6, (unsigned long long)s->i2c_bytes_while_flash_busy,
           (unsigned long long)busy_bytes_commit, L.reads, L.bytes_checked, L.frames);
    printf("%s: worst I2C interrupt latency (event to handler entry) %.3f us, event while at %s; "
           "mean %.3f us; handler %.1f instructions per bus byte; stalls %llu, OVR %llu, "
           "late byte events (BTF) %llu\n",
           t->board, (double)s->i2c_latency_max_ns / 1e3, s->i2c_latency_worst_at,
           s->i2c_latency_n ? (double)s->i2c_latency_sum_ns / (double)s->i2c_latency_n / 1e3 : 0.0,
           (double)s->i2c_handler_insns / (double)s->i2c_bus_bytes, (unsigned long long)s->stalls,
           (unsigned long long)s->i2c_ovr, (unsigned long long)s->i2c_stretch_data);
    emu_stats_print(stdout);

    assert_true(ops_commit >= 3);              /* erases and programs did happen */
    assert_true(busy_bytes_commit > 1000);     /* and the bus was busy meanwhile */
    assert_int_equal(s->stalls, 0);
    assert_int_equal(s->i2c_ovr, 0);
    assert_int_equal(s->i2c_stretch_data, 0);  /* no event late by a byte: no overrun
                                                * even without clock stretching */
    assert_int_equal(s->i2c_rx_lost, 0);
    assert_int_equal(s->i2c_rx_dup, 0);
    assert_int_equal(s->i2c_tx_lost, 0);
    assert_int_equal(s->i2c_timeouts, 0);
    assert_int_equal(s->faults, 0);
    assert_int_equal(s->violations, 0);
    assert_int_equal(s->watchdog_resets, 0);
    h_close();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_prestate(traffic_during_internal_flash_work, (void *)&emu_targets[0]),
        cmocka_unit_test_prestate(traffic_during_internal_flash_work, (void *)&emu_targets[1]),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
