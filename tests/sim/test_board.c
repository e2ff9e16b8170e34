/*
 * The simulated board with the real core: bus timing, register reads, virtual time,
 * determinism, power cuts, the watchdog, and the masked-interrupt assertion.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "board.h"
#include "flashbridge/protocol.h"
#include "hal.h"

#define MS 1000000ull

static void open_board(uint32_t bus_hz, powercut_t *pc)
{
    board_config_t cfg = { .bus_hz = bus_hz, .powercut = pc };
    assert_int_equal(board_open(&cfg), 0);
}

static int teardown(void **state)
{
    (void)state;
    board_close();
    return 0;
}

static uint8_t read_reg(uint8_t reg)
{
    uint8_t v = 0;
    size_t wacked = 0;
    assert_int_equal(board_transfer(FB_I2C_ADDR, &reg, 1, &v, 1, &wacked), BOARD_ACK);
    assert_int_equal(wacked, 1);
    return v;
}

/* Polls STATUS the way a v1 host does, in virtual time. false if the board stopped
 * answering. */
static bool wait_not_busy(void)
{
    for (int i = 0; i < 10000; i++) {
        uint8_t reg = FB_CMD_STATUS, st = 0;
        size_t wacked;
        if (board_transfer(FB_I2C_ADDR, &reg, 1, &st, 1, &wacked) != BOARD_ACK)
            return false;
        if (!(st & FB_STATUS_BUSY))
            return true;
        board_wait(1 * MS);
    }
    fail_msg("still busy after 10 s");
    return false;
}

/* A new chip is checked in the background after boot (STATUS ERASING): let it finish
 * so that the steps counted next are the command's only. */
static void wait_quiet(void)
{
    for (int i = 0; i < 100000; i++) {
        uint8_t reg = FB_CMD_EXT_STATUS, st = 0xFF;
        size_t wacked;
        assert_int_equal(board_transfer(FB_I2C_ADDR, &reg, 1, &st, 1, &wacked), BOARD_ACK);
        if (!(st & (FB_STATUS_BUSY | FB_STATUS_ERASING)))
            return;
        board_wait(1 * MS);
    }
    fail_msg("background work never finished");
}

static void write_config_frame(uint16_t off, uint8_t byte, board_xfer_status_t want)
{
    uint8_t f[32] = { FB_CMD_WRITE_CONFIG, (uint8_t)(off >> 8), (uint8_t)off, 1, byte };
    size_t wacked = 0;
    assert_int_equal(board_transfer(FB_I2C_ADDR, f, sizeof f, NULL, 0, &wacked), want);
}

/* ---- bus timing ---- */

static void check_timing(uint32_t bus_hz)
{
    open_board(bus_hz, NULL);
    const uint64_t T = 1000000000ull / bus_hz;
    struct {
        size_t w, r;
        uint64_t bits;
    } cases[] = {
        { 0, 0, 1 + 9 + 1 },                     /* address-only probe */
        { 1, 1, (1 + 9 + 9) + (1 + 9) + 9 + 1 }, /* register read */
        { 32, 0, 1 + 9 + 9 * 32 + 1 },           /* v1 write frame */
        { 0, 256, 1 + 9 + 9 * 256 + 1 },         /* plain read of a response */
        { 1, 11, (1 + 9 + 9) + (1 + 9) + 9 * 11 + 1 },
    };
    static uint8_t w[32], r[256];
    w[0] = FB_CMD_STATUS; /* keeps the 32-byte write harmless: a rejected frame */
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(board_transfer_ns(cases[i].w, cases[i].r), cases[i].bits * T);
        uint64_t t0 = board_now();
        size_t wacked;
        board_transfer(FB_I2C_ADDR, w, cases[i].w, r, cases[i].r, &wacked);
        assert_int_equal(board_now() - t0, cases[i].bits * T);
    }
}

static void test_timing_100k(void **state)
{
    (void)state;
    check_timing(100000);
}

static void test_timing_400k(void **state)
{
    (void)state;
    check_timing(400000);
}

/* ---- registers and addressing ---- */

static void test_who_am_i(void **state)
{
    (void)state;
    open_board(0, NULL);
    assert_int_equal(read_reg(FB_CMD_WHO_AM_I), FB_WHO_AM_I_VALUE);
    /* Again after the firmware has certainly finished booting. */
    board_wait(500 * MS);
    assert_int_equal(read_reg(FB_CMD_WHO_AM_I), FB_WHO_AM_I_VALUE);
}

static void test_wrong_address_nacks(void **state)
{
    (void)state;
    open_board(0, NULL);
    uint8_t reg = FB_CMD_WHO_AM_I, v = 0x11;
    size_t wacked = 99;
    uint64_t t0 = board_now();
    assert_int_equal(board_transfer(FB_I2C_ADDR + 1, &reg, 1, &v, 1, &wacked),
                     BOARD_NACK_ADDR);
    assert_int_equal(wacked, 0);
    assert_int_equal(v, 0x11);
    assert_int_equal(board_now() - t0, 11 * 10000ull);
    /* The target still answers its own address. */
    assert_int_equal(read_reg(FB_CMD_WHO_AM_I), FB_WHO_AM_I_VALUE);
}

static void test_wait_advances_time(void **state)
{
    (void)state;
    open_board(0, NULL);
    /* The firmware boots (mounts its stores) before the board answers: a little time. */
    uint64_t t0 = board_now();
    assert_true(t0 > 0 && t0 < 10 * MS);
    board_wait(5 * MS);
    assert_int_equal(board_now(), t0 + 5 * MS);
    board_wait(0);
    assert_int_equal(board_now(), t0 + 5 * MS);
    board_wait(1234567);
    assert_int_equal(board_now(), t0 + 5 * MS + 1234567);
}

/* ---- determinism ---- */

typedef struct trace {
    uint64_t t[16];
    uint8_t bytes[300];
} trace_t;

static void run_script(trace_t *tr)
{
    memset(tr, 0, sizeof *tr);
    open_board(0, NULL);
    int n = 0;
    tr->bytes[0] = read_reg(FB_CMD_WHO_AM_I);
    tr->t[n++] = board_now();
    write_config_frame(0, 0x5A, BOARD_ACK);
    tr->t[n++] = board_now();
    assert_true(wait_not_busy());
    tr->t[n++] = board_now();
    uint8_t rc[3] = { FB_CMD_READ_CONFIG, 0, 0 };
    size_t wacked;
    assert_int_equal(board_transfer(FB_I2C_ADDR, rc, 3, NULL, 0, &wacked), BOARD_ACK);
    assert_true(wait_not_busy());
    tr->t[n++] = board_now();
    assert_int_equal(board_transfer(FB_I2C_ADDR, NULL, 0, tr->bytes + 1, 256, &wacked),
                     BOARD_ACK);
    tr->t[n++] = board_now();
    tr->bytes[257] = read_reg(FB_CMD_ERROR);
    tr->t[n++] = board_now();
    board_close();
}

static void test_determinism(void **state)
{
    (void)state;
    static trace_t a, b;
    run_script(&a);
    run_script(&b);
    assert_memory_equal(&a, &b, sizeof a);
    assert_int_equal(a.bytes[0], FB_WHO_AM_I_VALUE);
    assert_int_equal(a.bytes[1], 0x5A);
    assert_int_equal(a.bytes[2], 0xFF);
    assert_int_equal(a.bytes[257], 0);
}

/* ---- power cuts ---- */

/* The board advances pc behind the test's back: read it through a call. */
static uint64_t steps(const powercut_t *pc)
{
    return pc->steps;
}

static void test_power_cut_and_cycle(void **state)
{
    (void)state;
    /* Count the steps of boot, then of one config write. */
    powercut_t pc;
    powercut_init(&pc, 0, 1);
    open_board(0, &pc);
    wait_quiet();
    uint64_t boot_steps = steps(&pc);
    write_config_frame(0, 0x5A, BOARD_ACK);
    assert_true(wait_not_busy());
    uint64_t write_steps = steps(&pc) - boot_steps;
    assert_true(write_steps > 0);
    board_close();

    /* Same run, power dies during the write's first step. */
    powercut_init(&pc, boot_steps + 1, 1);
    open_board(0, &pc);
    wait_quiet();
    assert_false(board_power_dead());
    write_config_frame(0, 0x5A, BOARD_ACK);
    board_wait(200 * MS);
    assert_true(board_power_dead());
    uint64_t steps_at_cut = steps(&pc);

    uint8_t reg = FB_CMD_WHO_AM_I, v = 0;
    size_t wacked = 7;
    uint64_t t0 = board_now();
    assert_int_equal(board_transfer(FB_I2C_ADDR, &reg, 1, &v, 1, &wacked), BOARD_NACK_ADDR);
    assert_int_equal(wacked, 0);
    assert_int_equal(board_now() - t0, 11 * 10000ull);
    /* Dead firmware does nothing, whatever the time. */
    board_wait(2000 * MS);
    assert_int_equal(steps(&pc), steps_at_cut);

    board_power_cycle(10 * MS);
    assert_false(board_power_dead());
    assert_int_equal(read_reg(FB_CMD_WHO_AM_I), FB_WHO_AM_I_VALUE);
    /* The board works again: a fresh write lands. */
    write_config_frame(0, 0x5A, BOARD_ACK);
    assert_true(wait_not_busy());
    assert_int_equal(board_watchdog_resets(), 0);
}

static void test_power_cycle_without_cut(void **state)
{
    (void)state;
    open_board(0, NULL);
    write_config_frame(0, 0x42, BOARD_ACK);
    assert_true(wait_not_busy());
    uint64_t t0 = board_now();
    board_power_cycle(3 * MS);
    /* off time, then the boot */
    assert_true(board_now() > t0 + 3 * MS && board_now() < t0 + 13 * MS);
    assert_false(board_power_dead());
    uint8_t rc[3] = { FB_CMD_READ_CONFIG, 0, 0 }, resp[4];
    size_t wacked;
    assert_int_equal(board_transfer(FB_I2C_ADDR, rc, 3, NULL, 0, &wacked), BOARD_ACK);
    assert_true(wait_not_busy());
    assert_int_equal(board_transfer(FB_I2C_ADDR, NULL, 0, resp, sizeof resp, &wacked),
                     BOARD_ACK);
    assert_int_equal(resp[0], 0x42);
}

/* ---- watchdog ---- */

static void test_watchdog_quiet_under_traffic(void **state)
{
    (void)state;
    open_board(0, NULL);
    for (int i = 0; i < 300; i++) {
        (void)read_reg(FB_CMD_STATUS);
        if (i % 50 == 0) {
            write_config_frame((uint16_t)(i / 50), (uint8_t)i, BOARD_ACK);
            assert_true(wait_not_busy());
        }
        board_wait(10 * MS);
    }
    board_wait(5000 * MS); /* idle too */
    assert_int_equal(board_watchdog_resets(), 0);
    assert_false(board_power_dead());
}

/* ---- masked interrupts ---- */

/* Time passing with interrupts masked is a core bug: the port must abort, not let the
 * I2C interrupt starve. Run in a child so the abort does not end the test. */
static void test_consume_while_masked_asserts(void **state)
{
    (void)state;
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        if (devnull >= 0)
            dup2(devnull, 2);
        board_config_t cfg = { 0 };
        if (board_open(&cfg) != 0)
            _exit(3);
        (void)hal_irq_save();
        uint8_t b = 0;
        (void)hal_spi_xfer(&b, NULL, 1);
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGABRT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_timing_100k, teardown),
        cmocka_unit_test_teardown(test_timing_400k, teardown),
        cmocka_unit_test_teardown(test_who_am_i, teardown),
        cmocka_unit_test_teardown(test_wrong_address_nacks, teardown),
        cmocka_unit_test_teardown(test_wait_advances_time, teardown),
        cmocka_unit_test_teardown(test_determinism, teardown),
        cmocka_unit_test_teardown(test_power_cut_and_cycle, teardown),
        cmocka_unit_test_teardown(test_power_cycle_without_cut, teardown),
        cmocka_unit_test_teardown(test_watchdog_quiet_under_traffic, teardown),
        cmocka_unit_test(test_consume_while_masked_asserts),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
