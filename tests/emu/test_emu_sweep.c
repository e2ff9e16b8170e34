/*
 * Preemption sweep on the real firmware: the I2C interrupt at every instruction boundary
 * of the main loop's handling of a command (the race of the seed issue: the interrupt
 * posting frames and answering STATUS while the main loop takes, runs and retires one).
 *
 * Scenario (400 kHz): a CONFIG_COMMIT keeps the main loop in internal-flash work (~95 ms)
 * while a WRITE_DATA frame A is queued behind it and a second transfer is sent up to just
 * before its final event, where the controller holds the bus. The snapshot point P is the
 * main loop's first fb_core_poll() after the commit retires: from there it takes frame A,
 * appends it to the W25Q64 and retires it. The window is every main-loop instruction from
 * P up to the next fb_core_poll() after that retirement (counted by a reference run).
 * For each boundary k of the window, one run from P: execute exactly k main-loop
 * instructions, then release the held event, which raises the I2C interrupt right there:
 *   variant "post": the STOP of WRITE_DATA frame B (the interrupt posts B to the queue);
 *   variant "status": the read address of a STATUS read (the interrupt snapshots STATUS).
 * Each run then completes the session and checks the outcome: both frames appended in
 * order with the right bytes, no error, the queue empty; STATUS read as "busy with A"
 * before A retires and "idle" after, switching exactly once along the sweep.
 *
 * Snapshot/restore: each run is a fork() of the process stopped at P (CPU, SRAM, every
 * model copied on write; the flash images are in private memory), so a run costs only
 * its own instructions. Two runs at a time (2 cores).
 *
 * FB_SWEEP_LIMIT=N (environment, for development) sweeps only the first N boundaries;
 * the single busy-to-idle STATUS transition is then not required.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "emu_harness.h"
#include "flashbridge/protocol.h"

#define MS 1000000ull
#define PARALLEL 2

enum variant { V_POST, V_STATUS };

typedef struct {
    uint32_t k;
    uint32_t window; /* reference run: main-loop instructions from P to the window's end */
    uint8_t ok;
    uint8_t status; /* V_STATUS: the STATUS byte read at boundary k */
    uint8_t in_it;
    char why[61];
} result_t;

static uint8_t data_a[30], data_b[30];
static uint8_t status_byte; /* V_STATUS: what the held STATUS read returned */
static uint32_t base_size;
static uint32_t sym_poll, sym_pop;

static void fail(result_t *r, const char *why)
{
    if (r->ok) {
        r->ok = 0;
        snprintf(r->why, sizeof r->why, "%s", why);
    }
}

static uint32_t file_size(void)
{
    uint8_t b[4] = {0};
    if (!h_reg(FB_CMD_FILE_SIZE, b, 4))
        return UINT32_MAX;
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* After the held event: finish the session and check what the firmware made of it. */
static void complete_and_check(enum variant v, result_t *r)
{
    size_t acked = 0;
    if (emu_i2c_finish(&acked) != BOARD_ACK)
        fail(r, "held transfer not acknowledged");
    if (!h_wait_idle(200000, 50 * MS))
        fail(r, "never idle");

    uint8_t err = 0xEE, sec[96];
    if (!h_reg(FB_CMD_ERROR, &err, 1) || err != 0)
        fail(r, "ERROR set");
    uint8_t st = h_status();
    if ((st & (FB_STATUS_BUSY | FB_STATUS_QUEUE_MASK)) != FB_QUEUE_DEPTH)
        fail(r, "queue not empty at the end");
    uint32_t want = base_size + (v == V_POST ? 60u : 30u);
    if (file_size() != want)
        fail(r, "wrong file size");
    /* Sector 0 holds every appended byte: read just those. */
    static const uint8_t rs[3] = {FB_CMD_READ_SECTOR, 0, 0};
    uint32_t nread = base_size + 60u;
    if (nread > sizeof sec || !h_xfer(rs, 3, NULL, 0) || !h_wait_idle(100000, 50 * MS) ||
        !h_xfer(NULL, 0, sec, nread))
        fail(r, "READ_SECTOR failed");
    else if (memcmp(&sec[base_size], data_a, 30) != 0 ||
             (v == V_POST && memcmp(&sec[base_size + 30], data_b, 30) != 0))
        fail(r, "appended bytes wrong");
    const emu_stats_t *s = emu_stats();
    if (s->faults || s->violations || s->stalls || s->watchdog_resets)
        fail(r, "emulator reported a fault, violation, stall or reset");
}

/* Run k main-loop instructions from P, raise the interrupt, finish, check. */
static result_t one_run(enum variant v, uint32_t k)
{
    result_t r = {.k = k, .ok = 1};
    uint64_t done = 0;
    if (!emu_run_thread_insns(k, 100 * MS, &done)) {
        fail(&r, "boundary not reached");
        return r;
    }
    /* A boundary inside an IT block: the run stops at the block's end instead. */
    r.in_it = done != k;
    emu_i2c_release();
    complete_and_check(v, &r);
    r.status = status_byte;
    return r;
}

static const uint8_t status_cmd = FB_CMD_STATUS;

/* The held transfer of each variant. */
static void begin_held(enum variant v)
{
    static uint8_t frame_b[32] = {FB_CMD_WRITE_DATA, 30};
    memcpy(&frame_b[2], data_b, 30);
    if (v == V_POST)
        emu_i2c_begin(FB_I2C_ADDR, frame_b, sizeof frame_b, NULL, 0, EMU_HOLD_STOP);
    else
        emu_i2c_begin(FB_I2C_ADDR, &status_cmd, 1, &status_byte, 1, EMU_HOLD_READ_ADDR);
}

/* Fresh board, up to the snapshot point P. Returns false if the scenario did not unfold. */
static bool setup_to_p(enum variant v)
{
    h_open(&emu_targets[0], 400000, NULL);
    sym_poll = emu_symbol("fb_core_poll");
    sym_pop = emu_symbol("mb_pop");
    if (!sym_poll || !sym_pop) {
        fprintf(stderr, "fb_core_poll / mb_pop not in the ELF\n");
        return false;
    }
    for (unsigned i = 0; i < 30; i++) {
        data_a[i] = (uint8_t)(0x40 + i);
        data_b[i] = (uint8_t)(0xC0 - i);
    }
    /* A formatted data file with something in it, and no background work pending. */
    uint8_t seed[30];
    memset(seed, 0x5A, sizeof seed);
    if (!h_write_data(seed, 30) || !h_wait_idle(50000, 500 * MS))
        return false;
    base_size = file_size();
    /* F0: a config commit (long internal-flash work); F1: frame A queued behind it. */
    if (!h_cmd(FB_CMD_CONFIG_BEGIN) || !h_wait_idle(50000, 50 * MS) ||
        !h_cmd(FB_CMD_CONFIG_COMMIT) || !h_write_data(data_a, 30))
        return false;
    /* The held transfer must start shortly before P: the firmware abandons a transfer
     * that shows no event for 100 ms. A first child finds when P comes. */
    int fds[2];
    uint64_t t_p = 0;
    if (pipe(fds) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t t = 0;
        if (emu_run_to_address(sym_pop, 500 * MS) && emu_run_to_address(sym_poll, 10 * MS))
            t = board_now();
        _exit(write(fds[1], &t, sizeof t) == (ssize_t)sizeof t ? 0 : 1);
    }
    bool got = read(fds[0], &t_p, sizeof t_p) == (ssize_t)sizeof t_p;
    waitpid(pid, NULL, 0);
    close(fds[0]);
    close(fds[1]);
    if (!got || t_p == 0) {
        fprintf(stderr, "the main loop never retired the commit\n");
        return false;
    }
    if (t_p > board_now() + 5 * MS)
        board_wait(t_p - board_now() - 5 * MS);
    begin_held(v);
    if (!emu_i2c_run_to_hold(3 * MS)) {
        fprintf(stderr, "the held transfer did not reach its hold point\n");
        return false;
    }
    /* The commit retires (mb_pop), then the main loop comes back to fb_core_poll: P. */
    if (!emu_run_to_address(sym_pop, 500 * MS) || !emu_run_to_address(sym_poll, 10 * MS)) {
        fprintf(stderr, "the main loop never retired the commit\n");
        return false;
    }
    return emu_exception() == 0;
}

/* Reference run (in a child): instructions from P to the first fb_core_poll() after frame
 * A retires. */
static uint32_t measure_window(void)
{
    uint64_t t0 = emu_thread_insns();
    if (!emu_run_to_address(sym_pop, 50 * MS) || !emu_run_to_address(sym_poll, 10 * MS))
        return 0;
    return (uint32_t)(emu_thread_insns() - t0);
}

/* A child run: fork at P; the child runs and writes its result to its own pipe. */
typedef struct {
    pid_t pid;
    int fd;
    uint32_t k;
} child_t;

static bool spawn(child_t *c, enum variant v, uint32_t k, bool reference)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    fflush(NULL);
    c->k = k;
    c->pid = fork();
    if (c->pid < 0)
        return false;
    if (c->pid != 0) {
        close(fds[1]);
        c->fd = fds[0];
        return true;
    }
    close(fds[0]);
    result_t r;
    if (reference) {
        memset(&r, 0, sizeof r);
        r.k = k;
        r.window = measure_window();
        r.ok = r.window != 0;
    } else {
        r = one_run(v, k);
    }
    ssize_t n = write(fds[1], &r, sizeof r);
    _exit(n == (ssize_t)sizeof r ? 0 : 1);
}

/* Wait for one of the running children; a child that died without a result fails its
 * boundary instead of hanging the sweep. */
static bool reap(child_t *cs, unsigned *running, result_t *out)
{
    int status = 0;
    pid_t pid = wait(&status);
    if (pid < 0)
        return false;
    for (unsigned i = 0; i < *running; i++) {
        if (cs[i].pid != pid)
            continue;
        if (read(cs[i].fd, out, sizeof *out) != (ssize_t)sizeof *out || out->k != cs[i].k) {
            memset(out, 0, sizeof *out);
            out->k = cs[i].k;
            snprintf(out->why, sizeof out->why, "run died (wait status 0x%x)", (unsigned)status);
        }
        close(cs[i].fd);
        cs[i] = cs[--*running];
        return true;
    }
    return false;
}

static int sweep_from_p(enum variant v);

static int sweep(enum variant v)
{
    int rc = setup_to_p(v) ? sweep_from_p(v) : 1;
    h_close();
    return rc;
}

static int sweep_from_p(enum variant v)
{
    child_t cs[PARALLEL];
    unsigned running = 0;
    result_t ref;
    if (!spawn(&cs[running++], v, 0, true) || !reap(cs, &running, &ref) || !ref.ok) {
        fprintf(stderr, "reference run failed\n");
        return 1;
    }
    uint32_t n = ref.window;
    printf("window: %u main-loop instructions from P\n", n);
    fflush(stdout);
    const char *limit = getenv("FB_SWEEP_LIMIT");
    bool whole = !limit || (uint32_t)atoi(limit) >= n;
    if (!whole)
        n = (uint32_t)atoi(limit);
    result_t *res = calloc(n + 1u, sizeof *res);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uint32_t next = 0, done = 0; done <= n;) {
        while (running < PARALLEL && next <= n) {
            if (!spawn(&cs[running], v, next++, false))
                return 1;
            running++;
        }
        result_t r;
        if (!reap(cs, &running, &r) || r.k > n)
            return 1;
        res[r.k] = r;
        done++;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);

    unsigned failures = 0, in_it = 0, transitions = 0, busy = 0, idle = 0;
    for (uint32_t k = 0; k <= n; k++) {
        result_t *r = &res[k];
        in_it += r->in_it;
        if (v == V_STATUS) {
            uint8_t s = r->status & (uint8_t)~FB_STATUS_ERASING;
            bool is_busy = s == (FB_STATUS_BUSY | (FB_QUEUE_DEPTH - 1u));
            bool is_idle = s == FB_QUEUE_DEPTH;
            if (!is_busy && !is_idle)
                fail(r, "STATUS neither busy-with-A nor idle");
            busy += is_busy;
            idle += is_idle;
            if (k > 0 && is_busy != ((res[k - 1].status & (uint8_t)~FB_STATUS_ERASING) ==
                                     (FB_STATUS_BUSY | (FB_QUEUE_DEPTH - 1u))))
                transitions++;
            if (k > 0 && is_busy && idle)
                fail(r, "STATUS busy again after idle");
        }
        if (!r->ok) {
            if (failures < 10)
                printf("  boundary %u: %s (STATUS 0x%02x)\n", k, r->why, r->status);
            failures++;
        }
    }
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("preemption sweep (%s): %u instruction boundaries covered (%u inside IT blocks, "
           "interrupt taken at the block's end), %u failures, %.1f s",
           v == V_POST ? "STOP of WRITE_DATA B posts the frame" : "STATUS read snapshots the queue",
           n + 1u, in_it, failures, secs);
    if (v == V_STATUS)
        printf("; STATUS busy at %u boundaries then idle at %u (%u transition)", busy, idle,
               transitions);
    printf("\n");
    free(res);
    if (v == V_STATUS && whole && transitions != 1)
        return 1;
    return failures ? 1 : 0;
}

int main(void)
{
    int rc = sweep(V_POST);
    rc |= sweep(V_STATUS);
    return rc;
}
