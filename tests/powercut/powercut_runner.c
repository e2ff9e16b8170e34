/*
 * Exhaustive power-cut runner (littlefs style) over the simulated board.
 *
 * For each scenario: run it once to count the program/erase steps it makes (the device
 * models count them), then for every step k start again from a new board, replay the
 * scenario's setup without cuts, arm the cut at step k of the scenario — power dies
 * during that step, leaving a page partly programmed or an erase block undefined — and
 * reboot. Then check what survived:
 *   - config zone: entirely as before or entirely as after the operation that was cut;
 *     a transaction counts as one operation ending at its COMMIT;
 *   - data file: size and bytes as before or as after the append/clear that was cut,
 *     never anything else; every acknowledged append is there;
 *   - file name: old or new;
 *   - after the background eraser has finished, the file is still intact, and an
 *     append still works;
 *   - erase suspend (scenarios "erase suspended ..."): reads and appends during the
 *     background erase suspend it, so cuts fall while it is suspended (the chip forgets
 *     the suspend, the block is left partly erased); after the eraser has finished,
 *     the whole old file's area reads erased (the block was erased again, not trusted).
 * The v1 import (a W25Q64 in the v1 layout met at power-up) is cut the same way at
 * every step it makes: the file, name and bytes, must come up unchanged every time.
 * Prints the number of cuts checked; exits non-zero on the first violation.
 *
 * Built twice: on the simulated board (the core on the host port) and, as
 * powercut_runner_emu, on flashbridge-emu running the shipped firmware ELF (both implement
 * sim/board.h; the models count and cut the steps the same way on both).
 *   powercut_runner [SCENARIO...]            (names, or parts of them; default all)
 *   powercut_runner_emu ELF [SCENARIO...]
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "flashbridge/protocol.h"
#include "powercut.h"
#ifdef POWERCUT_EMU
#include "emu.h"
#endif

#define MAX_FILE (96u * 1024u)

typedef enum { OP_CFG_WRITE, OP_CFG_CLEAR, OP_BEGIN, OP_COMMIT, OP_APPEND, OP_RENAME,
               OP_CLEAR, OP_WAIT, OP_CUT_APPEND, OP_READ } op_kind_t;

typedef struct op {
    op_kind_t kind;
    uint16_t a; /* offset / length / milliseconds */
    uint16_t b; /* length / seed */
    const char *name;
} op_t;

typedef struct state {
    uint8_t cfg[FB_CONFIG_SIZE];
    uint8_t name[FB_FILENAME_LEN];
    uint32_t size;
    uint8_t file[MAX_FILE];
} state_t;

typedef struct scenario {
    const char *name;
    const op_t *setup;
    size_t n_setup;
    const op_t *ops;
    size_t n_ops;
} scenario_t;

/* Erase-suspend scenarios: once the eraser is done, [0, this) of the W25Q64 is blank. */
static uint32_t erased_below;

static powercut_t pc;
static state_t committed, staged_after;
static uint8_t staged_cfg[FB_CONFIG_SIZE];
static bool in_txn;
static unsigned long cuts_checked;

static void die(const char *scenario, uint64_t k, const char *what)
{
    fprintf(stderr, "powercut: scenario %s, cut at step %llu: %s\n", scenario,
            (unsigned long long)k, what);
    exit(1);
}

static uint8_t pattern(uint32_t i, uint16_t seed)
{
    return (uint8_t)((i * 31u + seed * 7u) ^ (i >> 5) ^ (seed & 1u ? 0xFFu : 0x00u));
}

/* ---- bus helpers; false when the board died ---- */

static bool xfer(const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    size_t acked;
    return board_transfer(FB_I2C_ADDR, w, wlen, r, rlen, &acked) == BOARD_ACK;
}

static bool reg(uint8_t cmd, uint8_t *out, size_t n)
{
    return xfer(&cmd, 1, out, n);
}

static bool wait_idle(void)
{
    for (int i = 0; i < 200000; i++) {
        uint8_t st;
        if (!reg(FB_CMD_STATUS, &st, 1))
            return false;
        if (!(st & FB_STATUS_BUSY))
            return true;
        board_wait(200000);
    }
    fprintf(stderr, "powercut: target stayed busy\n");
    exit(1);
}

static bool wait_background(void)
{
    for (int i = 0; i < 2000000; i++) {
        uint8_t st;
        if (!reg(FB_CMD_EXT_STATUS, &st, 1))
            return false;
        if (!(st & (FB_STATUS_BUSY | FB_STATUS_ERASING)))
            return true;
        board_wait(1000000);
    }
    fprintf(stderr, "powercut: background erase never finished\n");
    exit(1);
}

static bool command(const uint8_t *frame, size_t n)
{
    uint8_t err;
    if (!xfer(frame, n, NULL, 0) || !wait_idle() || !reg(FB_CMD_ERROR, &err, 1))
        return false;
    if (err) {
        fprintf(stderr, "powercut: command 0x%02x failed: ERROR 0x%02x\n", frame[0], err);
        exit(1);
    }
    return true;
}

/* ---- operations: apply to the board and to the expected state ---- */

static void expect(const op_t *op, state_t *s)
{
    switch (op->kind) {
    case OP_CFG_WRITE:
        for (uint16_t i = 0; i < op->b; i++)
            (in_txn ? staged_cfg : s->cfg)[op->a + i] = pattern(op->a + i, op->b);
        break;
    case OP_CFG_CLEAR:
        memset(in_txn ? staged_cfg : s->cfg, 0xFF, FB_CONFIG_SIZE);
        break;
    case OP_BEGIN:
        memcpy(staged_cfg, s->cfg, FB_CONFIG_SIZE);
        break;
    case OP_COMMIT:
        memcpy(s->cfg, staged_cfg, FB_CONFIG_SIZE);
        break;
    case OP_APPEND:
        for (uint16_t i = 0; i < op->a; i++)
            s->file[s->size + i] = pattern(s->size + i, op->b);
        s->size += op->a;
        break;
    case OP_RENAME:
        memcpy(s->name, op->name, FB_FILENAME_LEN);
        break;
    case OP_CLEAR:
        s->size = 0;
        break;
    case OP_WAIT:
    case OP_CUT_APPEND: /* never acknowledged: the file is unchanged */
    case OP_READ:
        break;
    }
}


static bool perform(const op_t *op, const state_t *s)
{
    uint8_t f[32] = {0};
    switch (op->kind) {
    case OP_CFG_WRITE:
        f[0] = FB_CMD_WRITE_CONFIG;
        f[1] = (uint8_t)(op->a >> 8);
        f[2] = (uint8_t)op->a;
        f[3] = (uint8_t)op->b;
        for (uint16_t i = 0; i < op->b; i++)
            f[4 + i] = pattern(op->a + i, op->b);
        return command(f, 32);
    case OP_CFG_CLEAR:
        f[0] = FB_CMD_CLEAR_CONFIG;
        return command(f, 1);
    case OP_BEGIN:
        f[0] = FB_CMD_CONFIG_BEGIN;
        return command(f, 1);
    case OP_COMMIT:
        f[0] = FB_CMD_CONFIG_COMMIT;
        return command(f, 1);
    case OP_APPEND: /* one frame: run_ops splits appends */
        f[0] = FB_CMD_WRITE_DATA;
        f[1] = (uint8_t)op->a;
        for (uint16_t i = 0; i < op->a; i++)
            f[2 + i] = pattern(s->size + i, op->b);
        return command(f, 32);
    case OP_RENAME:
        f[0] = FB_CMD_SET_FILENAME;
        memcpy(&f[1], op->name, FB_FILENAME_LEN);
        return command(f, 12);
    case OP_CLEAR:
        f[0] = FB_CMD_CLEAR_FLASH;
        return command(f, 1);
    case OP_WAIT:
        board_wait((uint64_t)op->a * 1000000u);
        return !board_power_dead();
    case OP_CUT_APPEND: {
        /* Setup only: a WRITE_DATA of a bytes whose b-th program/erase step the power
         * dies in, leaving bytes past the end of the file; then the reboot. */
        f[0] = FB_CMD_WRITE_DATA;
        f[1] = (uint8_t)op->a;
        memset(&f[2], 0x5A, op->a);
        pc.cut_at = pc.steps + op->b;
        if (xfer(f, 32, NULL, 0))
            (void)wait_idle();
        if (!board_power_dead())
            return false;
        board_power_cycle(1000000);
        return true;
    }
    case OP_READ: { /* READ_SECTOR of what the file holds: suspends a running erase */
        f[0] = FB_CMD_READ_SECTOR;
        uint8_t buf[256];
        if (!xfer(f, 3, NULL, 0) || !wait_idle() || !xfer(NULL, 0, buf, sizeof buf))
            return false;
        uint32_t n = s->size < 256 ? s->size : 256;
        if (board_power_dead())
            return false;
        if (memcmp(buf, s->file, n) != 0) {
            fprintf(stderr, "powercut: a read during the background erase got other bytes\n");
            exit(1);
        }
        return true;
    }
    }
    return false;
}

/* The unit of work in flight when power died: one operation, or one frame of an
 * append (each frame is acknowledged, and so committed, on its own). */
static op_t inflight;

/* Run ops; true if all completed, false if power died (inflight says during what). The
 * expected committed state follows every unit that completed. */
static bool run_ops(const op_t *ops, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (ops[i].kind == OP_APPEND) {
            for (uint16_t done = 0; done < ops[i].a;) {
                uint16_t len = (uint16_t)(ops[i].a - done);
                if (len > FB_WRITE_DATA_MAX)
                    len = FB_WRITE_DATA_MAX;
                inflight = (op_t){OP_APPEND, len, ops[i].b, NULL};
                if (!perform(&inflight, &committed))
                    return false;
                expect(&inflight, &committed);
                done = (uint16_t)(done + len);
            }
            continue;
        }
        inflight = ops[i];
        if (!perform(&ops[i], &committed))
            return false;
        expect(&ops[i], &committed);
        if (ops[i].kind == OP_BEGIN)
            in_txn = true;
        if (ops[i].kind == OP_COMMIT)
            in_txn = false;
    }
    return true;
}

/* ---- checks after the reboot ---- */

static void read_config(uint8_t *out)
{
    for (uint16_t off = 0; off < FB_CONFIG_SIZE; off = (uint16_t)(off + 256)) {
        uint8_t f[3] = {FB_CMD_READ_CONFIG, (uint8_t)(off >> 8), (uint8_t)off};
        if (!xfer(f, 3, NULL, 0) || !wait_idle() || !xfer(NULL, 0, &out[off], 256))
            exit(2);
    }
}

static bool file_is(const state_t *s, uint32_t size)
{
    if (size != s->size)
        return false;
    uint8_t buf[256];
    for (uint32_t off = 0; off < size; off += 256) {
        uint8_t f[3] = {FB_CMD_READ_SECTOR, (uint8_t)(off >> 16), (uint8_t)(off >> 8)};
        if (!xfer(f, 3, NULL, 0) || !wait_idle() || !xfer(NULL, 0, buf, 256))
            exit(2);
        uint32_t n = size - off < 256 ? size - off : 256;
        if (memcmp(buf, &s->file[off], n) != 0)
            return false;
    }
    return true;
}

static void check(const scenario_t *sc, uint64_t k, const state_t *a, const state_t *b)
{
    uint8_t cfg[FB_CONFIG_SIZE], name[FB_FILENAME_LEN], sz[4];
    read_config(cfg);
    if (memcmp(cfg, a->cfg, sizeof cfg) != 0 && memcmp(cfg, b->cfg, sizeof cfg) != 0)
        die(sc->name, k, "config zone is neither the old nor the new one");
    if (!reg(FB_CMD_GET_FILENAME, name, sizeof name))
        exit(2);
    if (memcmp(name, a->name, sizeof name) != 0 && memcmp(name, b->name, sizeof name) != 0)
        die(sc->name, k, "file name is neither the old nor the new one");
    uint32_t size = 0;
    for (int pass = 0; pass < 2; pass++) {
        if (!reg(FB_CMD_FILE_SIZE, sz, 4))
            exit(2);
        size = (uint32_t)sz[0] << 24 | (uint32_t)sz[1] << 16 | (uint32_t)sz[2] << 8 | sz[3];
        if (!file_is(a, size) && !file_is(b, size))
            die(sc->name, k, pass ? "file damaged by the background eraser"
                                  : "file is neither the old nor the new one");
        if (!wait_background())
            exit(2);
    }
    size_t fl;
    const uint8_t *flash = board_flash_array(&fl);
    /* (unless the cut stopped the CLEAR itself: then the old file is still there) */
    for (uint32_t i = 0; size < erased_below && i < erased_below && i < fl; i++)
        if (flash[i] != 0xFF)
            die(sc->name, k, "a block the eraser was in at the cut was not erased again");
    /* Still usable: one more append lands and reads back. */
    uint8_t f[32] = {FB_CMD_WRITE_DATA, 5, 'a', 'f', 't', 'e', 'r'};
    uint8_t err;
    if (!xfer(f, 32, NULL, 0) || !wait_idle() || !reg(FB_CMD_ERROR, &err, 1) || err)
        die(sc->name, k, "append after the reboot failed");
}

static uint8_t *blank_flash, *blank_config;

/* A new board: new chips, once the firmware's background check of the never-formatted
 * W25Q64 is done (on the emulated firmware that check alone is ~10 s of CPU, so it runs
 * once and later scenarios start from a copy of its images). */
static void fresh_board(void)
{
    powercut_init(&pc, 0, 0x1234u);
    if (!blank_flash) {
        board_factory_reset();
        if (!wait_background())
            die("new board", 0, "background check of the new chip failed");
        size_t fl, cl;
        const uint8_t *f = board_flash_array(&fl), *c = board_config_array(&cl);
        blank_flash = malloc(fl);
        blank_config = malloc(cl);
        memcpy(blank_flash, f, fl);
        memcpy(blank_config, c, cl);
    } else {
        board_load_images(blank_flash, blank_config);
    }
    memset(&committed, 0, sizeof committed);
    memset(committed.cfg, 0xFF, sizeof committed.cfg);
    memcpy(committed.name, FB_DEFAULT_FILENAME, FB_FILENAME_LEN);
    in_txn = false;
}

static uint8_t *saved_flash, *saved_config;
static state_t saved_state;

/* After the setup and the background erase: the images and the expected state every
 * cut run starts from (a reboot on these images, as after a power cycle). */
static void save_start(void)
{
    size_t fl, cl;
    const uint8_t *f = board_flash_array(&fl), *c = board_config_array(&cl);
    saved_flash = realloc(saved_flash, fl);
    saved_config = realloc(saved_config, cl);
    memcpy(saved_flash, f, fl);
    memcpy(saved_config, c, cl);
    saved_state = committed;
}

static void restore_start(void)
{
    board_load_images(saved_flash, saved_config);
    committed = saved_state;
    in_txn = false;
}

static void run_scenario(const scenario_t *sc)
{
    fresh_board();
    if (!run_ops(sc->setup, sc->n_setup) || !wait_background())
        die(sc->name, 0, "setup failed without a cut");
    save_start();
    restore_start();
    uint64_t base = pc.steps;
    if (!run_ops(sc->ops, sc->n_ops))
        die(sc->name, 0, "scenario failed without a cut");
    uint64_t total = pc.steps - base;
    for (uint64_t k = 1; k <= total; k++) {
        restore_start();
        pc.cut_at = pc.steps + k;
        if (run_ops(sc->ops, sc->n_ops) || !board_power_dead())
            die(sc->name, k, "the armed cut never happened");
        /* Allowed outcomes: as before the unit in flight, or as after it. */
        staged_after = committed;
        expect(&inflight, &staged_after);
        board_power_cycle(1000000);
        check(sc, k, &committed, &staged_after);
        cuts_checked++;
    }
    printf("powercut: %-26s %5llu steps, each one cut and checked\n", sc->name,
           (unsigned long long)total);
}

/* ---- scenarios ---- */

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define CFGW(off, len) {OP_CFG_WRITE, (off), (len), NULL}
#define APPEND(len, seed) {OP_APPEND, (len), (seed), NULL}
#define WAIT_MS(ms) {OP_WAIT, (ms), 0, NULL}

static const op_t none[] = {WAIT_MS(1)};

static const op_t cfg_writes[] = {
    CFGW(0, 28), CFGW(28, 28), CFGW(1000, 24), CFGW(500, 1), CFGW(0, 28),
    {OP_CFG_CLEAR, 0, 0, NULL}, CFGW(100, 28),
};
/* 28 writes fill a bank's journal: the next ones compact into the other bank. */
static const op_t cfg_fill[] = {
    CFGW(0, 28), CFGW(28, 28), CFGW(56, 28), CFGW(84, 28), CFGW(112, 28), CFGW(140, 28),
    CFGW(168, 28), CFGW(196, 28), CFGW(224, 28), CFGW(252, 28), CFGW(280, 28),
    CFGW(308, 28), CFGW(336, 28), CFGW(364, 28), CFGW(392, 28), CFGW(420, 28),
    CFGW(448, 28), CFGW(476, 28), CFGW(504, 28), CFGW(532, 28), CFGW(560, 28),
    CFGW(588, 28), CFGW(616, 28), CFGW(644, 28), CFGW(672, 28),
};
/* Then enough writes for two compactions: the second reuses the first bank. */
static op_t cfg_compaction[36];
static const op_t cfg_txn[] = {
    {OP_BEGIN, 0, 0, NULL}, {OP_CFG_CLEAR, 0, 0, NULL}, CFGW(0, 28), CFGW(996, 28),
    CFGW(500, 17), {OP_COMMIT, 0, 0, NULL},
};
static const op_t near_sector_end[] = {APPEND(4000, 1)};
static const op_t appends[] = {APPEND(30, 2), APPEND(90, 3), APPEND(120, 4), APPEND(200, 5)};
static const op_t rename_ops[] = {
    {OP_RENAME, 0, 0, "LOG     CSV"}, APPEND(10, 6), {OP_RENAME, 0, 0, "RUN_2   TXT"},
};
static const op_t data_64k[] = {APPEND(30000, 7), APPEND(30000, 8), APPEND(5536, 9)};
static const op_t clear_then_append[] = {
    {OP_CLEAR, 0, 0, NULL}, APPEND(60, 10), WAIT_MS(400), APPEND(60, 11), WAIT_MS(400),
};
/* More one-frame appends than a metadata sector has slots (255): the log compacts into
 * the other sector at least once, wherever the setup left it. */
static const op_t meta_setup[] = {APPEND(100, 12)};
/* A 30-byte append at offset 2030 cut in its second page leaves bytes in pages 7 and 8;
 * the next append repairs sector 0 (copy out, record, erase, copy back, record), the one
 * after reaches sector 1 and erases the copy left there. */
static const op_t repair_setup[] = {APPEND(2030, 13), {OP_CUT_APPEND, 30, 2, NULL}};
static const op_t repair_ops[] = {APPEND(30, 14), APPEND(2100, 15)};
static op_t meta_compaction[260];
/* Erase suspend: a 64 KiB file cleared, then reads and appends while its block erases
 * (typical timing: 150 ms); each suspends the erase, the appends program meanwhile. */
#define READ0 {OP_READ, 0, 0, NULL}
/* (After the reboot the spare log sector is erased first, 45 ms, then the 64 KiB block.) */
static const op_t suspend_reads[] = {
    {OP_CLEAR, 0, 0, NULL}, APPEND(60, 20), WAIT_MS(30), READ0, WAIT_MS(3), READ0,
    WAIT_MS(10), READ0, WAIT_MS(40), READ0, READ0, WAIT_MS(30), READ0, WAIT_MS(30), READ0,
    WAIT_MS(40), READ0, WAIT_MS(300),
};
static const op_t suspend_appends[] = {
    {OP_CLEAR, 0, 0, NULL}, WAIT_MS(30), APPEND(30, 21), READ0, WAIT_MS(2), APPEND(30, 22),
    WAIT_MS(20), APPEND(90, 23), READ0, WAIT_MS(50), APPEND(30, 24), WAIT_MS(200),
};

/* ---- v1 import (docs/STORAGE.md): the steps happen at power-up ---- */

#define V1_SIZE 20000u
#define V1_NAME "LEGACY  CSV"
#define V1_NAME_ADDR 0x7FF000u

static uint8_t v1_byte(uint32_t i)
{
    uint8_t b = pattern(i, 77);
    return b == 0xFF ? 0x5A : b; /* v1's file ends at its first 0xFF */
}

static void run_import_scenario(void)
{
    const char *name = "v1 import at power-up";
    fresh_board();
    size_t fl, cl;
    (void)board_flash_array(&fl);
    const uint8_t *c = board_config_array(&cl);
    uint8_t *v1 = malloc(fl), *cfg = malloc(cl);
    if (!v1 || !cfg)
        exit(2);
    memset(v1, 0xFF, fl); /* a chip v1 wrote: nothing of ours on it (fresh_board formats) */
    memcpy(cfg, c, cl);
    for (uint32_t i = 0; i < V1_SIZE; i++)
        v1[i] = committed.file[i] = v1_byte(i);
    memcpy(&v1[V1_NAME_ADDR], V1_NAME, FB_FILENAME_LEN);
    memcpy(committed.name, V1_NAME, FB_FILENAME_LEN);
    committed.size = V1_SIZE;
    uint64_t base = pc.steps;
    board_load_images(v1, cfg);
    if (board_power_dead() || !wait_background())
        die(name, 0, "import failed without a cut");
    uint64_t total = pc.steps - base;
    if (total == 0)
        die(name, 0, "the import wrote nothing: not a v1 chip to the firmware?");
    check(&(scenario_t){name, NULL, 0, NULL, 0}, 0, &committed, &committed);
    for (uint64_t k = 1; k <= total; k++) {
        pc.cut_at = pc.steps + k;
        board_load_images(v1, cfg);
        for (int i = 0; i < 1000 && !board_power_dead(); i++)
            board_wait(1000000);
        if (!board_power_dead())
            die(name, k, "the armed cut never happened");
        board_power_cycle(1000000);
        /* Before the import or after it, the file is the v1 file. */
        check(&(scenario_t){name, NULL, 0, NULL, 0}, k, &committed, &committed);
        cuts_checked++;
    }
    printf("powercut: %-26s %5llu steps, each one cut and checked\n", name,
           (unsigned long long)total);
    free(v1);
    free(cfg);
}

/* Scenario name chosen by the command line's arguments from a on (all when none). */
static bool chosen(const char *name, int a, int argc, char **argv)
{
    bool yes = a >= argc;
    for (int k = a; k < argc; k++)
        yes = yes || strstr(name, argv[k]) != NULL;
    return yes;
}

int main(int argc, char **argv)
{
    int a = 1;
#ifdef POWERCUT_EMU
    if (argc < 2) {
        fprintf(stderr, "usage: powercut_runner_emu ELF [SCENARIO...]\n");
        return 2;
    }
    emu_options_t opt = {.elf_path = argv[a++], .board = "bluepill"};
    if (emu_configure(&opt) != 0)
        return 2;
    const char *board = "emulated firmware";
#else
    const char *board = "simulated board";
#endif
    for (size_t i = 0; i < N(cfg_compaction); i++)
        cfg_compaction[i] = (op_t)CFGW((uint16_t)(700 + (i % 11) * 28), 28);
    for (size_t i = 0; i < N(meta_compaction); i++)
        meta_compaction[i] = (op_t)APPEND(1 + i % 30, (uint16_t)(100 + i));
    board_config_t cfg = {.bus_hz = 400000, .powercut = &pc};
    if (board_open(&cfg) != 0)
        return 2;
    const scenario_t scenarios[] = {
        {"config writes", none, N(none), cfg_writes, N(cfg_writes)},
        {"config compaction", cfg_fill, N(cfg_fill), cfg_compaction, N(cfg_compaction)},
        {"config transaction", cfg_writes, N(cfg_writes), cfg_txn, N(cfg_txn)},
        {"appends across boundaries", near_sector_end, N(near_sector_end), appends, N(appends)},
        {"rename", none, N(none), rename_ops, N(rename_ops)},
        {"metadata compaction", meta_setup, N(meta_setup), meta_compaction, N(meta_compaction)},
        {"clear, background erase", data_64k, N(data_64k), clear_then_append,
         N(clear_then_append)},
        {"append after a cut (repair)", repair_setup, N(repair_setup), repair_ops,
         N(repair_ops)},
    };
    for (size_t i = 0; i < N(scenarios); i++)
        if (chosen(scenarios[i].name, a, argc, argv))
            run_scenario(&scenarios[i]);
    const scenario_t suspend_scenarios[] = {
        {"erase suspended by reads", data_64k, N(data_64k), suspend_reads, N(suspend_reads)},
        {"erase suspended by appends", data_64k, N(data_64k), suspend_appends,
         N(suspend_appends)},
    };
    erased_below = 65536u; /* data_64k's file, cleared */
    for (size_t i = 0; i < N(suspend_scenarios); i++)
        if (chosen(suspend_scenarios[i].name, a, argc, argv))
            run_scenario(&suspend_scenarios[i]);
    erased_below = 0;
    if (chosen("v1 import at power-up", a, argc, argv))
        run_import_scenario();
    board_close();
    free(saved_flash);
    free(saved_config);
    free(blank_flash);
    free(blank_config);
    printf("powercut (%s): %lu power cuts checked, all survived\n", board, cuts_checked);
    return 0;
}
