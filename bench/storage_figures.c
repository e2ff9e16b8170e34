/*
 * storage_figures: the storage timings docs/PROTOCOL.md and docs/DURABILITY.md quote,
 * measured in virtual time on the simulated board (storage_figures) and on the shipped
 * firmware under flashbridge-emu (storage_figures_emu ELF), at typical and at maximum
 * flash timing, I2C at 400 kHz. Times run from the end of the command's transfer until a
 * STATUS poll (every 10 us) finds it idle, so they include the firmware's CPU time.
 *   - the background check of a chip never formatted (power-up to ERASING clear);
 *   - CONFIG_COMMIT of a staged zone (BEGIN, 3 writes, COMMIT);
 *   - the WRITE_CONFIG that finds the journal full (a compaction replaying 28 records);
 *   - the append after an interrupted one (the repair: copy out, erase, copy back).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "flashbridge/protocol.h"
#include "powercut.h"
#ifdef FIGURES_EMU
#include "emu.h"
#endif

static powercut_t pc;

static bool xfer(const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    size_t acked;
    return board_transfer(FB_I2C_ADDR, w, wlen, r, rlen, &acked) == BOARD_ACK;
}

static uint8_t status(void)
{
    uint8_t cmd = FB_CMD_STATUS, st = 0xFF;
    if (!xfer(&cmd, 1, &st, 1)) {
        fprintf(stderr, "storage_figures: STATUS not answered\n");
        exit(1);
    }
    return st;
}

/* Send a frame; ms until STATUS shows it done (BUSY clear), polled every 10 us. */
static double command_ms(const uint8_t *f, size_t n)
{
    if (!xfer(f, n, NULL, 0))
        exit(1);
    uint64_t t0 = board_now();
    while (status() & FB_STATUS_BUSY)
        board_wait(10000);
    uint8_t cmd = FB_CMD_ERROR, err;
    if (!xfer(&cmd, 1, &err, 1) || err) {
        fprintf(stderr, "storage_figures: command 0x%02x failed\n", f[0]);
        exit(1);
    }
    return (double)(board_now() - t0) / 1e6;
}

static double wait_background_s(void)
{
    uint64_t t0 = board_now();
    while (status() & (FB_STATUS_BUSY | FB_STATUS_ERASING))
        board_wait(10000000);
    return (double)(board_now() - t0) / 1e9;
}

static void config_write(uint8_t *f, uint16_t off)
{
    memset(f, 0, 32);
    f[0] = FB_CMD_WRITE_CONFIG;
    f[1] = (uint8_t)(off >> 8);
    f[2] = (uint8_t)off;
    f[3] = 28;
    for (int i = 0; i < 28; i++)
        f[4 + i] = (uint8_t)(off + i);
}

static void run(bool timing_max)
{
    board_config_t cfg = {.bus_hz = 400000, .timing_max = timing_max, .powercut = &pc};
    powercut_init(&pc, 0, 7);
    if (board_open(&cfg) != 0)
        exit(2);
    const char *t = timing_max ? "max" : "typical";
    /* A chip never formatted: every page read and checked in the background. */
    printf("  [%s timing] fresh chip, power-up to the background check done: %.2f s\n", t,
           (double)board_now() / 1e9 + wait_background_s());

    uint8_t f[32];
    uint8_t c = FB_CMD_CONFIG_BEGIN;
    command_ms(&c, 1);
    for (uint16_t i = 0; i < 3; i++) {
        config_write(f, (uint16_t)(i * 300));
        command_ms(f, 32);
    }
    c = FB_CMD_CONFIG_COMMIT;
    printf("  [%s timing] CONFIG_COMMIT (2 page erases, 1040 B, CPU): %.1f ms\n", t,
           command_ms(&c, 1));
    /* The commit left an empty journal: 28 records fill it (29 fit a bank, the header
     * page's share included), the next write compacts. */
    double rec_max = 0, rec_sum = 0;
    int recs = 0;
    double compaction = 0;
    for (int i = 0; i < 40 && compaction == 0; i++) {
        config_write(f, (uint16_t)((i * 28) % 996));
        double ms = command_ms(f, 32);
        if (ms > 20.0) {
            compaction = ms;
        } else {
            rec_sum += ms;
            rec_max = ms > rec_max ? ms : rec_max;
            recs++;
        }
    }
    printf("  [%s timing] WRITE_CONFIG: one journal record %.2f ms (mean of %d, max %.2f); "
           "the one that compacts a full journal %.1f ms\n",
           t, rec_sum / recs, recs, rec_max, compaction);

    /* The append after an interrupted one: cut during the second page of a 256-byte
     * append at file offset 20, then 20 bytes. */
    uint8_t w[32] = {FB_CMD_WRITE_DATA, 20};
    command_ms(w, 32);
    uint8_t a[FB_EXT_FRAME_MAX] = {FB_CMD_APPEND_CRC, 1, 255};
    for (int i = 0; i < 256; i++)
        a[3 + i] = (uint8_t)i;
    uint16_t crc = 0xFFFF;
    for (int i = 0; i < 259; i++) {
        crc ^= (uint16_t)(a[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (uint16_t)((crc & 0x8000u) ? (unsigned)(crc << 1) ^ FB_EXT_CRC_POLY
                                             : (unsigned)(crc << 1));
    }
    a[259] = (uint8_t)(crc >> 8);
    a[260] = (uint8_t)crc;
    pc.cut_at = pc.steps + 2; /* the program of the frame's second page */
    xfer(a, sizeof a, NULL, 0);
    while (!board_power_dead())
        board_wait(10000);
    board_power_cycle(1000000);
    double repaired = command_ms(w, 32);
    double plain = command_ms(w, 32);
    printf("  [%s timing] WRITE_DATA 20 B after a cut append (sector repaired): %.1f ms; "
           "a plain one: %.2f ms\n",
           t, repaired, plain);
    board_close();
}

int main(int argc, char **argv)
{
#ifdef FIGURES_EMU
    if (argc < 2) {
        fprintf(stderr, "usage: storage_figures_emu ELF\n");
        return 2;
    }
    emu_options_t opt = {.elf_path = argv[1], .board = "bluepill"};
    printf("storage figures, emulated firmware (%s), I2C 400 kHz:\n", argv[1]);
    emu_configure(&opt);
#else
    (void)argc;
    (void)argv;
    printf("storage figures, simulated board, I2C 400 kHz:\n");
#endif
    run(false);
#ifdef FIGURES_EMU
    emu_configure(&opt);
#endif
    run(true);
    return 0;
}
