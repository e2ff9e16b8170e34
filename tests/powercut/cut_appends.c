/*
 * Random power cuts during appends, many of them over the life of one file (issue 12: a
 * logger unplugged every day). Built twice: on the simulated board (the core on the host
 * port) and on flashbridge-emu (the shipped Blue Pill ELF); both implement sim/board.h.
 *
 * Each round sends one append frame — a v1 WRITE_DATA (1..30 bytes) or an APPEND_CRC
 * frame (1..256 bytes), at whatever offset the file has reached, so that frames straddle
 * pages and sectors — and cuts power during it:
 *   - "step" cuts: the models' power-cut controller kills the power during the k-th
 *     program/erase step of the frame (k random; a page left partly programmed, an erase
 *     block undefined: random damage);
 *   - "time" cuts: POWER_CYCLE after a random delay into the frame's busy time, as the
 *     socket servers do it (the operation in progress is cut as the models say).
 * Some rounds cut the frame after a cut again (the repair of the first cut is then cut).
 * After the reboot: the size is the old one or the old one plus the frame (never
 * acknowledged, so either is right), the bytes match; the next append (v1 or APPEND_CRC)
 * must be accepted and read back. The whole file is compared every 1000 rounds and at
 * the end. Prints the counts; exits non-zero on the first violation.
 *
 * usage: cut_appends CUTS [SEED]   (emulator build: cut_appends ELF CUTS [SEED])
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "flashbridge/protocol.h"
#include "powercut.h"
#ifdef CUT_EMU
#include "emu.h"
#endif

#define FILE_MAX (6u * 1024u * 1024u)

static powercut_t pc;
static uint8_t *expect; /* every byte the file must hold, in order */
static uint32_t size;   /* the file's size as last checked */
static uint8_t seq;     /* last APPEND_CRC sequence number accepted since the boot */
static uint32_t rng = 0x2545F491u;
static unsigned long rounds, step_cuts, chained_cuts, time_cuts, missed, v1_frames,
    crc_frames;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 17;
    rng ^= rng << 5;
    return rng;
}

/* CRC-16/CCITT-FALSE, written out here: the emulator build links no firmware code. */
static uint16_t crc16(const uint8_t *p, size_t n)
{
    uint16_t c = FB_EXT_CRC_INIT;
    while (n--) {
        c ^= (uint16_t)(*p++ << 8);
        for (int b = 0; b < 8; b++)
            c = (uint16_t)((c & 0x8000u) ? (unsigned)(c << 1) ^ FB_EXT_CRC_POLY : (unsigned)(c << 1));
    }
    return c;
}

static void fail(const char *what)
{
    fprintf(stderr, "cut_appends: round %lu (file %u bytes): %s\n", rounds, (unsigned)size,
            what);
    exit(1);
}

static bool xfer(const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    size_t acked;
    return board_transfer(FB_I2C_ADDR, w, wlen, r, rlen, &acked) == BOARD_ACK;
}

static bool reg(uint8_t cmd, uint8_t *out, size_t n)
{
    return xfer(&cmd, 1, out, n);
}

/* Poll STATUS as a host does (every 1 ms; the STeaMi driver polls every 5 ms); false
 * when the board died meanwhile. */
static bool wait_idle(void)
{
    for (int i = 0; i < 20000; i++) {
        uint8_t st;
        if (!reg(FB_CMD_STATUS, &st, 1))
            return false;
        if (!(st & FB_STATUS_BUSY))
            return true;
        board_wait(1000000);
    }
    fail("target stayed busy");
    return false;
}

/* One append frame of n bytes (the next n bytes of expect[] past size). */
static size_t build_frame(uint8_t *f, bool v1, uint32_t n)
{
    if (v1) {
        memset(f, 0, FB_FRAME_MAX);
        f[0] = FB_CMD_WRITE_DATA;
        f[1] = (uint8_t)n;
        memcpy(&f[2], &expect[size], n);
        return FB_FRAME_MAX;
    }
    f[0] = FB_CMD_APPEND_CRC;
    f[1] = (uint8_t)(seq + 1u);
    f[2] = (uint8_t)(n - 1u);
    memcpy(&f[3], &expect[size], n);
    uint16_t c = crc16(f, 3u + n);
    f[3 + n] = (uint8_t)(c >> 8);
    f[4 + n] = (uint8_t)c;
    return n + FB_APPEND_CRC_OVERHEAD;
}

static uint32_t read_size(void)
{
    uint8_t sz[4];
    if (!reg(FB_CMD_FILE_SIZE, sz, 4))
        fail("FILE_SIZE not answered");
    return (uint32_t)sz[0] << 24 | (uint32_t)sz[1] << 16 | (uint32_t)sz[2] << 8 | sz[3];
}

/* The file's bytes [from, to) against expect[]. */
static void check_bytes(uint32_t from, uint32_t to)
{
    uint8_t buf[256];
    for (uint32_t sec = from / 256u; sec * 256u < to; sec++) {
        uint8_t f[3] = {FB_CMD_READ_SECTOR, (uint8_t)(sec >> 8), (uint8_t)sec};
        if (!xfer(f, 3, NULL, 0) || !wait_idle() || !xfer(NULL, 0, buf, 256))
            fail("READ_SECTOR failed");
        uint32_t lo = sec * 256u < from ? from : sec * 256u;
        uint32_t hi = sec * 256u + 256u > to ? to : sec * 256u + 256u;
        if (memcmp(&buf[lo - sec * 256u], &expect[lo], hi - lo) != 0) {
            fprintf(stderr, "cut_appends: bytes differ in [%u, %u)\n", (unsigned)lo,
                    (unsigned)hi);
            fail("file bytes are not the acknowledged ones");
        }
    }
}

/* After a reboot: the frame of n bytes in flight is in the file entirely or not at all,
 * and the bytes of the sector the file ended in (the one a repair erases and rewrites;
 * the file starts at flash address 0 and does not wrap here, so file offsets are flash
 * addresses) are the acknowledged ones. */
static void check_after_cut(uint32_t n)
{
    seq = 0; /* a boot forgets the sequence numbers */
    uint32_t s = read_size();
    if (s != size && s != size + n)
        fail("size is neither the old one nor the old one plus the frame");
    uint32_t from = size - size % FB_ERASE_SECTOR;
    size = s;
    check_bytes(from, size);
}

/* An append that must succeed: n bytes (0: a random frame and length). */
static void append_ok(uint32_t n)
{
    bool v1 = n || (rnd() & 1u);
    if (!n)
        n = v1 ? 1u + rnd() % FB_WRITE_DATA_MAX : 1u + rnd() % FB_EXT_PAYLOAD_MAX;
    uint8_t f[FB_EXT_FRAME_MAX], err;
    size_t len = build_frame(f, v1, n);
    if (!xfer(f, len, NULL, 0) || !wait_idle() || !reg(FB_CMD_ERROR, &err, 1))
        fail("append after the cut: board died without a cut");
    if (err) {
        fprintf(stderr, "cut_appends: ERROR 0x%02x\n", err);
        fail("append after the cut was refused");
    }
    if (!v1)
        seq++;
    size += n;
    if (read_size() != size)
        fail("accepted append did not grow the file by its length");
    check_bytes(size - n, size);
}

/* One frame cut somewhere; returns after the reboot. True if the cut hit a
 * program/erase step. */
static bool cut_frame(uint32_t max_step)
{
    bool v1 = rnd() & 1u;
    uint32_t n = v1 ? 1u + rnd() % FB_WRITE_DATA_MAX : 1u + rnd() % FB_EXT_PAYLOAD_MAX;
    uint8_t f[FB_EXT_FRAME_MAX];
    size_t len = build_frame(f, v1, n);
    if (v1)
        v1_frames++;
    else
        crc_frames++;
    if (rnd() % 4u != 0u) {
        /* during the k-th program/erase step of the frame */
        pc.cut_at = pc.steps + 1u + rnd() % max_step;
        pc.rng = rnd();
        if (xfer(f, len, NULL, 0) && wait_idle()) {
            /* The frame needed fewer steps: it completed (not counted as a cut). */
            pc.cut_at = 0;
            board_power_cycle(1000000);
            missed++;
        } else {
            board_power_cycle(1000000);
            step_cuts++;
            check_after_cut(n);
            return true;
        }
    } else {
        /* POWER_CYCLE after a random time into the frame's work (0..3 ms) */
        pc.rng = rnd();
        if (!xfer(f, len, NULL, 0))
            fail("frame not acknowledged");
        board_wait(rnd() % 3000000u);
        board_power_cycle(1000000);
        time_cuts++;
    }
    check_after_cut(n);
    return false;
}

/* Issue 12's reproduction, as it was reported: [APPEND_CRC seq 1 of 256 bytes; wait about
 * half its busy time; POWER_CYCLE 1 ms; WRITE_DATA 20 bytes], repeated. The file locked
 * (FILE_FULL) at the 16th round before the repair. */
static void issue_reproduction(unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t f[FB_EXT_FRAME_MAX];
        size_t len = build_frame(f, false, 256);
        if (!xfer(f, len, NULL, 0))
            fail("APPEND_CRC not acknowledged");
        board_wait(400000u + rnd() % 400000u); /* busy ~0.9 ms: mid second page */
        board_power_cycle(1000000);
        check_after_cut(256);
        append_ok(20);
    }
}

int main(int argc, char **argv)
{
    int a = 1;
#ifdef CUT_EMU
    if (argc < 3) {
        fprintf(stderr, "usage: cut_appends_emu ELF CUTS [SEED]\n");
        return 2;
    }
    emu_options_t opt = {.elf_path = argv[a++], .board = "bluepill"};
    if (emu_configure(&opt) != 0)
        return 2;
#else
    if (argc < 2) {
        fprintf(stderr, "usage: cut_appends CUTS [SEED]\n");
        return 2;
    }
#endif
    unsigned long cuts = strtoul(argv[a++], NULL, 0);
    if (a < argc)
        rng = (uint32_t)strtoul(argv[a], NULL, 0) | 1u;
    expect = malloc(FILE_MAX);
    if (!expect)
        return 2;
    for (uint32_t i = 0; i < FILE_MAX; i++)
        expect[i] = (uint8_t)rnd();
    powercut_init(&pc, 0, 1);
    board_config_t cfg = {.bus_hz = 400000, .powercut = &pc};
    if (board_open(&cfg) != 0)
        return 2;
    /* The issue's start: CLEAR (a fresh chip: no data to erase), 20 bytes. */
    uint8_t clr = FB_CMD_CLEAR_FLASH, err;
    if (!xfer(&clr, 1, NULL, 0) || !wait_idle() || !reg(FB_CMD_ERROR, &err, 1) || err)
        fail("CLEAR failed");
    append_ok(20);
    issue_reproduction(50);
    unsigned long repro_size = size;
    while (step_cuts < cuts) {
        rounds++;
        if (size + 1024u > FILE_MAX)
            fail("test file buffer exhausted (raise FILE_MAX)");
        /* The next frame, and the repair it makes, cut too: up to 40 steps in. */
        if (cut_frame(2) && rnd() % 3u == 0u && cut_frame(40))
            chained_cuts++;
        append_ok(0);
        if (rounds % 1000u == 0u)
            check_bytes(0, size);
    }
    check_bytes(0, size);
    char erases[64] = "";
#ifndef CUT_EMU /* flashbridge-emu has no wear counters */
    unsigned long n_erases = 0;
    for (uint32_t s = 0; s < FB_FILE_CAPACITY / FB_ERASE_SECTOR; s++)
        n_erases += board_flash_erases(s);
    snprintf(erases, sizeof erases, "%lu data-sector erases (repairs); ", n_erases);
#endif
    printf("cut_appends: issue 12's reproduction, 50 rounds: every WRITE_DATA accepted "
           "(file %lu bytes)\n", repro_size);
    printf("cut_appends (%s): %lu power cuts in a program/erase step of an append (%lu of "
           "them during the frame after a cut), plus %lu POWER_CYCLEs 0-3 ms into a frame "
           "and %lu after a frame that ended before its armed step; %lu v1 and %lu "
           "APPEND_CRC frames; %severy next append accepted, file of %u bytes intact\n",
#ifdef CUT_EMU
           "emulated firmware",
#else
           "simulated board",
#endif
           step_cuts, chained_cuts, time_cuts, missed, v1_frames, crc_frames, erases,
           (unsigned)size);
    fprintf(stderr, "cut_appends: %.1f s of virtual time\n", (double)board_now() / 1e9);
    board_close();
    free(expect);
    return 0;
}
