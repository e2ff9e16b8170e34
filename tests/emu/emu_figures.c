/*
 * emu_figures [BOARD]: the figures docs/EMULATOR.md quotes, measured on the emulated
 * firmware (virtual time, 400 kHz): boot time, each command's execution time (from the
 * frame's STOP to the main loop retiring it, mb_pop), the bus time of register reads
 * against the nominal bit count, and the interrupt handler's cost per byte.
 */
#include <stdio.h>
#include <string.h>

#include "emu_harness.h"
#include "flashbridge/protocol.h"

#define MS 1000000ull

static uint32_t sym_pop;

/* Send a command frame; time from the end of its transfer until the main loop retires
 * it. */
static double command_us(const uint8_t *f, size_t n)
{
    if (!h_xfer(f, n, NULL, 0))
        return -1.0;
    uint64_t t0 = board_now();
    if (!emu_run_to_address(sym_pop, 2000 * MS))
        return -1.0;
    double us = (double)(board_now() - t0) / 1e3;
    board_wait(1 * MS); /* the pop completes; the main loop goes idle */
    return us;
}

static void handler_cost(const char *what, const uint8_t *w, size_t wlen, size_t rlen)
{
    uint8_t r[256];
    emu_stats_reset();
    uint64_t t0 = board_now();
    size_t acked;
    board_transfer(FB_I2C_ADDR, w, wlen, r, rlen, &acked);
    uint64_t bus = board_now() - t0;
    board_wait(100000); /* the STOP's handler */
    const emu_stats_t *s = emu_stats();
    printf("  %-34s %3llu bus bytes, %4llu handler instructions (%.1f per byte), "
           "%2llu entries; bus %.1f us (nominal %.1f us)\n",
           what, (unsigned long long)s->i2c_bus_bytes, (unsigned long long)s->i2c_handler_insns,
           (double)s->i2c_handler_insns / (double)s->i2c_bus_bytes,
           (unsigned long long)s->i2c_entries, (double)bus / 1e3,
           (double)board_transfer_ns(wlen, rlen) / 1e3);
}

int main(int argc, char **argv)
{
    const emu_target_t *t = &emu_targets[argc > 1 && strcmp(argv[1], "steami") == 0];
    h_open(t, 400000, NULL);
    sym_pop = emu_symbol("mb_pop");
    printf("%s firmware on the emulator, I2C at 400 kHz, typical flash timing\n", t->board);
    printf("  boot (power-up to the I2C target enabled): %.3f ms\n", (double)board_now() / 1e6);
    board_wait(100 * MS); /* past the boot's background work */

    uint8_t f[32] = {FB_CMD_WRITE_DATA, 30};
    for (unsigned i = 0; i < 30; i++)
        f[2 + i] = (uint8_t)i;
    printf("  command execution, STOP of the frame to the command retired:\n");
    printf("    WRITE_DATA 30 B (first: formats the metadata)  %10.1f us\n", command_us(f, 32));
    printf("    WRITE_DATA 30 B                                %10.1f us\n", command_us(f, 32));
    uint8_t name[12] = {FB_CMD_SET_FILENAME, 'F', 'I', 'G', 'U', 'R', 'E', 'S', ' ', 'T', 'X', 'T'};
    printf("    SET_FILENAME                                   %10.1f us\n", command_us(name, 12));
    uint8_t rs[3] = {FB_CMD_READ_SECTOR, 0, 0};
    printf("    READ_SECTOR (256 B into the response)          %10.1f us\n", command_us(rs, 3));
    uint8_t wc[32] = {FB_CMD_WRITE_CONFIG, 0, 0, 28};
    printf("    WRITE_CONFIG 28 B (first: creates a bank)      %10.1f us\n", command_us(wc, 32));
    wc[2] = 28;
    printf("    WRITE_CONFIG 28 B (one journal record)         %10.1f us\n", command_us(wc, 32));
    uint8_t rc[3] = {FB_CMD_READ_CONFIG, 0, 0};
    printf("    READ_CONFIG                                    %10.1f us\n", command_us(rc, 3));
    uint8_t c = FB_CMD_CONFIG_BEGIN;
    printf("    CONFIG_BEGIN                                   %10.1f us\n", command_us(&c, 1));
    c = FB_CMD_CONFIG_COMMIT;
    printf("    CONFIG_COMMIT (2 page erases + 1040 B)         %10.1f us\n", command_us(&c, 1));
    c = FB_CMD_CLEAR_CONFIG;
    printf("    CLEAR_CONFIG                                   %10.1f us\n", command_us(&c, 1));
    c = FB_CMD_CLEAR_FLASH;
    printf("    CLEAR_FLASH                                    %10.1f us\n", command_us(&c, 1));
    board_wait(500 * MS);

    printf("  interrupt handler cost per transfer:\n");
    uint8_t reg = FB_CMD_STATUS;
    handler_cost("STATUS read (W 1, Sr, R 1)", &reg, 1, 1);
    reg = FB_CMD_GET_FILENAME;
    handler_cost("GET_FILENAME read (W 1, Sr, R 11)", &reg, 1, 11);
    handler_cost("WRITE_DATA frame (W 32)", f, 32, 0);
    board_wait(5 * MS);
    handler_cost("response read (R 256)", NULL, 0, 256);
    emu_stats_reset();
    board_wait(1000 * MS);
    const emu_stats_t *s = emu_stats();
    printf("  the second after the commands: %llu instructions, %llu cycles of 72,000,000 (%.2f %%)\n",
           (unsigned long long)s->insns, (unsigned long long)s->cycles,
           (double)s->cycles / 720000.0);
    h_close();
    return 0;
}
