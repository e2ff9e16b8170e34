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
 *   variant "status": the read address of an EXT_STATUS read (the interrupt snapshots it).
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
 *
 * Then the publisher sweeps (below main's helpers): every main-loop function that
 * publishes what the interrupt serves (file name, file size, streaming state, errors,
 * response slot, queue), each against a read of its register at every instruction
 * boundary of the publisher; the count of boundaries is printed per publisher.
 * FB_SWEEP_ONLY=post, status or publishers runs only that part.
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

/* EXT_STATUS: the queue's free-slot count as well as BUSY (STATUS shows BUSY only). */
static const uint8_t status_cmd = FB_CMD_EXT_STATUS;

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
           v == V_POST ? "STOP of WRITE_DATA B posts the frame" : "EXT_STATUS read snapshots the queue",
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

/* ==== Publisher sweeps ====
 * Every main-loop function that publishes state the interrupt serves, against a host
 * reading the matching register: the read's address event (where the interrupt captures
 * the register) at every instruction boundary of the publisher, its callees included
 * (the critical section, hal_irq_restore), from its entry to its return. Each read must
 * return the value before (old) or after (new) the publication whole, old up to one
 * boundary and new from there on: never a mix (the torn AABBBBBBBBB of issue 10), never
 * back. The rest of the read is clocked out while the main loop goes on, so a register
 * served from live state instead of a copy would show the mix.
 *
 * Each scenario: a CONFIG_COMMIT keeps the main loop busy (~95 ms) while the trigger
 * frame waits in the queue; the held register read starts shortly before the publisher
 * runs (found by a first child); P is the publisher's entry (after `skip` earlier
 * entries). */

typedef struct publisher {
    const char *fn;       /* the publisher's symbol */
    const char *what;     /* what it publishes */
    uint8_t reg;          /* register read (0: a plain read of the prepared response) */
    uint8_t rlen;         /* bytes read */
    unsigned skip;        /* entries of fn after the held read starts, before P */
    int (*trigger)(void); /* queue the frame that makes the main loop publish */
} publisher_t;

typedef struct {
    uint32_t k;
    uint8_t ok, in_it;
    uint8_t val[16];
    char why[40];
} pub_result_t;

/* CRC-16/CCITT-FALSE, the streaming extension's frame check. */
static uint16_t crc16(const uint8_t *p, size_t n)
{
    uint16_t c = 0xFFFF;
    while (n--) {
        c ^= (uint16_t)(*p++ << 8);
        for (int b = 0; b < 8; b++)
            c = (uint16_t)(c & 0x8000 ? c << 1 ^ 0x1021 : c << 1);
    }
    return c;
}

static int append_crc_frame(bool good_crc)
{
    uint8_t st[FB_STREAM_STATE_LEN];
    if (!h_reg(FB_CMD_STREAM_STATE, st, sizeof st))
        return 0;
    uint8_t f[32];
    size_t n = 0;
    f[n++] = FB_CMD_APPEND_CRC;
    f[n++] = (uint8_t)(st[0] + 1u);
#if FB_APPEND_CRC_OVERHEAD == 5
    f[n++] = 10 - 1; /* protocol 2.0 frame: n - 1 before the data */
#endif
    for (int i = 0; i < 10; i++)
        f[n++] = (uint8_t)(0xA0 + i);
    uint16_t c = crc16(f, n);
    f[n++] = (uint8_t)(c >> 8);
    f[n++] = (uint8_t)(good_crc ? c : c ^ 1u);
    return h_xfer(f, n, NULL, 0);
}

static int trig_set_filename(void)
{
    static const uint8_t f[12] = {FB_CMD_SET_FILENAME, 'B', 'B', 'B', 'B', 'B', 'B', 'B', 'B',
                                  'B', 'B', 'B'};
    return h_xfer(f, sizeof f, NULL, 0);
}

static int trig_write_data(void)
{
    uint8_t d[30];
    memset(d, 0x3C, sizeof d);
    return h_write_data(d, 30);
}

static int trig_append_crc(void)
{
    return append_crc_frame(true);
}

static int trig_append_bad_crc(void)
{
    return append_crc_frame(false);
}

static int trig_bad_read_sector(void)
{
    static const uint8_t f[3] = {FB_CMD_READ_SECTOR, 0x9C, 0x40}; /* read_sector(40000) */
    return h_xfer(f, sizeof f, NULL, 0);
}

static int trig_read_config(void)
{
    static const uint8_t f[3] = {FB_CMD_READ_CONFIG, 0, 0};
    return h_xfer(f, sizeof f, NULL, 0);
}

static const publisher_t publishers[] = {
    {"mb_publish_filename", "file name", FB_CMD_GET_FILENAME, FB_FILENAME_LEN, 0,
     trig_set_filename},
    {"mb_publish_file_size", "file size", FB_CMD_FILE_SIZE, 4, 0, trig_write_data},
    {"mb_publish_append", "streaming state (seq, size)", FB_CMD_STREAM_STATE,
     FB_STREAM_STATE_LEN, 0, trig_append_crc},
    {"mb_count_crc_error", "streaming state (CRC errors)", FB_CMD_STREAM_STATE,
     FB_STREAM_STATE_LEN, 0, trig_append_bad_crc},
    {"mb_command_failed", "errors (ERROR)", FB_CMD_ERROR, 1, 0, trig_bad_read_sector},
    {"mb_command_failed", "errors (ERRORS)", FB_CMD_ERRORS, 1, 0, trig_bad_read_sector},
    {"mb_response_commit", "response slot", 0, 16, 0, trig_read_config},
    /* The commit's own retirement is the first mb_pop: the trigger's is the second. */
    {"mb_pop", "queue (STATUS)", FB_CMD_STATUS, 1, 1, trig_write_data},
    {"mb_pop", "queue (EXT_STATUS)", FB_CMD_EXT_STATUS, 1, 1, trig_write_data},
};

static uint8_t pub_val[16];

static void pub_begin_held(const publisher_t *p)
{
    static uint8_t reg;
    reg = p->reg;
    memset(pub_val, 0xEE, sizeof pub_val);
    if (p->reg)
        emu_i2c_begin(FB_I2C_ADDR, &reg, 1, pub_val, p->rlen, EMU_HOLD_READ_ADDR);
    else
        emu_i2c_begin(FB_I2C_ADDR, NULL, 0, pub_val, p->rlen, EMU_HOLD_READ_ADDR);
}

/* Run to the (skip+1)-th entry of the publisher. */
static bool pub_run_to_p(const publisher_t *p, uint32_t sym, uint64_t max_ns)
{
    for (unsigned i = 0; i <= p->skip; i++) {
        if (!emu_run_to_address(sym, max_ns))
            return false;
        if (i < p->skip && !emu_run_thread_insns(1, MS, NULL))
            return false;
    }
    return true;
}

static bool pub_setup_to_p(const publisher_t *p, uint32_t sym)
{
    h_open(&emu_targets[0], 400000, NULL);
    /* A formatted file with something in it, a config zone with data, name AAAAAAAAAAA. */
    uint8_t d[30];
    memset(d, 0x5A, sizeof d);
    static const uint8_t name[12] = {FB_CMD_SET_FILENAME, 'A', 'A', 'A', 'A', 'A', 'A', 'A',
                                     'A', 'A', 'A', 'A'};
    static const uint8_t cfg[16] = "flashbridge cfg";
    if (!h_write_data(d, 30) || !h_wait_idle(50000, 500 * MS) || !h_xfer(name, 12, NULL, 0) ||
        !h_wait_idle(50000, 500 * MS) || !h_write_config(0, cfg, sizeof cfg) ||
        !h_wait_idle(50000, 500 * MS))
        return false;
    uint8_t e;
    (void)h_reg(FB_CMD_ERRORS, &e, 1);
    if (!h_cmd(FB_CMD_CONFIG_BEGIN) || !h_wait_idle(50000, 50 * MS) ||
        !h_cmd(FB_CMD_CONFIG_COMMIT) || !p->trigger())
        return false;
    int fds[2];
    uint64_t t_p = 0;
    if (pipe(fds) != 0)
        return false;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        uint64_t t = pub_run_to_p(p, sym, 500 * MS) ? board_now() : 0;
        _exit(write(fds[1], &t, sizeof t) == (ssize_t)sizeof t ? 0 : 1);
    }
    bool got = read(fds[0], &t_p, sizeof t_p) == (ssize_t)sizeof t_p;
    waitpid(pid, NULL, 0);
    close(fds[0]);
    close(fds[1]);
    if (!got || t_p == 0 || t_p < board_now() + 6 * MS) {
        fprintf(stderr, "%s: the publisher did not run late enough after the trigger\n", p->fn);
        return false;
    }
    board_wait(t_p - board_now() - 5 * MS);
    pub_begin_held(p);
    if (!emu_i2c_run_to_hold(3 * MS)) {
        fprintf(stderr, "%s: the held read did not reach its hold point\n", p->fn);
        return false;
    }
    return pub_run_to_p(p, sym, 500 * MS) && emu_exception() == 0;
}

/* Inside the publisher: its own code or one of the callees it may use. */
static bool in_publisher(const char *fn)
{
    static const char *const callees[] = {"hal_irq_save", "hal_irq_restore", "memcpy",
                                          "used_slots", "response_wanted", "is_read_cmd"};
    char buf[96];
    emu_describe(emu_pc(), buf, sizeof buf);
    size_t n = strcspn(buf, "+");
    if (strlen(fn) == n && strncmp(buf, fn, n) == 0)
        return true;
    for (size_t i = 0; i < sizeof callees / sizeof callees[0]; i++)
        if (strlen(callees[i]) == n && strncmp(buf, callees[i], n) == 0)
            return true;
    return false;
}

/* Reference (in a child): main-loop instructions from P until the publisher returned. */
static uint32_t pub_window(const publisher_t *p)
{
    uint32_t n = 0;
    while (in_publisher(p->fn)) {
        uint64_t done = 0;
        if (!emu_run_thread_insns(1, MS, &done) || n > 5000)
            return 0;
        n += (uint32_t)done;
    }
    return n;
}

static pub_result_t pub_one_run(uint32_t k)
{
    pub_result_t r = {.k = k, .ok = 1};
    uint64_t done = 0;
    if (!emu_run_thread_insns(k, 100 * MS, &done)) {
        snprintf(r.why, sizeof r.why, "boundary not reached");
        r.ok = 0;
        return r;
    }
    r.in_it = done != k;
    emu_i2c_release();
    size_t acked = 0;
    if (emu_i2c_finish(&acked) != BOARD_ACK) {
        snprintf(r.why, sizeof r.why, "read not acknowledged");
        r.ok = 0;
    }
    memcpy(r.val, pub_val, sizeof r.val);
    const emu_stats_t *s = emu_stats();
    if (s->faults || s->violations || s->stalls || s->watchdog_resets) {
        snprintf(r.why, sizeof r.why, "fault, violation, stall or reset");
        r.ok = 0;
    }
    return r;
}

typedef struct {
    pid_t pid;
    int fd;
} pub_child_t;

static bool pub_spawn(pub_child_t *c, const publisher_t *p, uint32_t k, bool reference)
{
    int fds[2];
    if (pipe(fds) != 0)
        return false;
    fflush(NULL);
    c->pid = fork();
    if (c->pid < 0)
        return false;
    if (c->pid) {
        close(fds[1]);
        c->fd = fds[0];
        return true;
    }
    close(fds[0]);
    pub_result_t r = {.k = k};
    if (reference) {
        r.k = pub_window(p);
        r.ok = r.k != 0;
    } else {
        r = pub_one_run(k);
    }
    _exit(write(fds[1], &r, sizeof r) == (ssize_t)sizeof r ? 0 : 1);
}

static bool pub_reap(pub_child_t *cs, unsigned *running, pub_result_t *out)
{
    int status = 0;
    pid_t pid = wait(&status);
    for (unsigned i = 0; pid > 0 && i < *running; i++) {
        if (cs[i].pid != pid)
            continue;
        if (read(cs[i].fd, out, sizeof *out) != (ssize_t)sizeof *out) {
            memset(out, 0, sizeof *out);
            out->k = UINT32_MAX;
        }
        close(cs[i].fd);
        cs[i] = cs[--*running];
        return true;
    }
    return false;
}

static void hex(char *buf, size_t len, const uint8_t *v, size_t n)
{
    size_t at = 0;
    for (size_t i = 0; i < n && at + 3 < len; i++)
        at += (size_t)snprintf(buf + at, len - at, "%02x", v[i]);
}

/* Returns the boundaries checked, 0 on failure. */
static uint32_t sweep_publisher(const publisher_t *p)
{
    uint32_t sym = 0;
    uint32_t checked = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    h_open(&emu_targets[0], 400000, NULL);
    sym = emu_symbol(p->fn);
    h_close();
    if (!sym) {
        fprintf(stderr, "%s not in the ELF\n", p->fn);
        return 0;
    }
    if (!pub_setup_to_p(p, sym)) {
        h_close();
        return 0;
    }
    pub_child_t cs[PARALLEL];
    unsigned running = 0;
    pub_result_t ref;
    if (!pub_spawn(&cs[running++], p, 0, true) || !pub_reap(cs, &running, &ref) || !ref.ok) {
        fprintf(stderr, "%s: reference run failed\n", p->fn);
        h_close();
        return 0;
    }
    uint32_t n = ref.k;
    pub_result_t *res = calloc(n + 1u, sizeof *res);
    bool ok = res != NULL;
    for (uint32_t next = 0, got = 0; ok && got <= n;) {
        while (running < PARALLEL && next <= n)
            ok = ok && pub_spawn(&cs[running++], p, next++, false);
        pub_result_t r;
        if (!ok || !pub_reap(cs, &running, &r) || r.k > n) {
            ok = false;
            break;
        }
        res[r.k] = r;
        got++;
    }
    while (running && pub_reap(cs, &running, &ref))
        ;
    h_close();
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!ok) {
        fprintf(stderr, "%s: a run failed\n", p->fn);
        free(res);
        return 0;
    }
    /* old = the value at the publisher's entry, new = after its return. */
    const uint8_t *oldv = res[0].val, *newv = res[n].val;
    unsigned failures = 0, in_it = 0, transitions = 0, olds = 0;
    if (memcmp(oldv, newv, p->rlen) == 0) {
        printf("  %s: the value did not change: nothing was checked\n", p->fn);
        failures++;
    }
    for (uint32_t k = 0; k <= n; k++) {
        pub_result_t *r = &res[k];
        in_it += r->in_it;
        bool is_old = memcmp(r->val, oldv, p->rlen) == 0;
        bool is_new = memcmp(r->val, newv, p->rlen) == 0;
        olds += is_old;
        if (k > 0 && is_new && memcmp(res[k - 1].val, oldv, p->rlen) == 0)
            transitions++;
        if (r->ok && !is_old && !is_new)
            r->ok = 0, snprintf(r->why, sizeof r->why, "neither old nor new (torn)");
        if (r->ok && is_old && k > 0 && memcmp(res[k - 1].val, newv, p->rlen) == 0)
            r->ok = 0, snprintf(r->why, sizeof r->why, "old again after new");
        if (!r->ok) {
            char h[40] = "";
            hex(h, sizeof h, r->val, p->rlen);
            if (failures < 5)
                printf("  %s boundary %u: %s (read %s)\n", p->fn, k, r->why, h);
            failures++;
        }
    }
    if (transitions != 1)
        failures++;
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    char ho[40] = "", hn[40] = "";
    hex(ho, sizeof ho, oldv, p->rlen);
    hex(hn, sizeof hn, newv, p->rlen);
    printf("publisher sweep %-20s x %-28s: %u boundaries checked (%u inside IT blocks), "
           "old %s at %u, new %s from there, %u failures, %.1f s\n",
           p->fn, p->what, n + 1u, in_it, ho, olds, hn, failures, secs);
    fflush(stdout);
    free(res);
    checked = failures ? 0 : n + 1u;
    return checked;
}

int main(void)
{
    /* FB_SWEEP_ONLY=post|status|publishers (development): only that part. */
    const char *only = getenv("FB_SWEEP_ONLY");
    bool all = !only || !*only;
    int rc = all || strcmp(only, "post") == 0 ? sweep(V_POST) : 0;
    rc |= all || strcmp(only, "status") == 0 ? sweep(V_STATUS) : 0;
    uint32_t total = 0;
    for (size_t i = 0; (all || strcmp(only, "publishers") == 0) &&
                       i < sizeof publishers / sizeof publishers[0]; i++) {
        uint32_t c = sweep_publisher(&publishers[i]);
        if (!c)
            rc = 1;
        total += c;
    }
    printf("publisher sweeps: %zu publisher/register pairs, %u boundaries checked in all\n",
           sizeof publishers / sizeof publishers[0], total);
    return rc;
}
