#include "emu_harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flashbridge/protocol.h"

const emu_target_t emu_targets[2] = {
    {"bluepill", FB_ELF_BLUEPILL},
    {"steami", FB_ELF_STEAMI},
};

void h_open(const emu_target_t *t, uint32_t bus_hz, const char *trace)
{
    if (access(t->elf, R_OK) != 0) {
        fprintf(stderr, "firmware ELF missing: %s (make firmware BOARD=%s)\n", t->elf, t->board);
        exit(1);
    }
    emu_options_t o = {.elf_path = t->elf, .board = t->board, .trace_path = trace};
    board_config_t cfg = {.bus_hz = bus_hz};
    if (emu_configure(&o) != 0 || board_open(&cfg) != 0) {
        fprintf(stderr, "cannot open the emulated %s board\n", t->board);
        exit(1);
    }
}

void h_open_opts(const emu_options_t *o, uint32_t bus_hz)
{
    if (access(o->elf_path, R_OK) != 0) {
        fprintf(stderr, "firmware ELF missing: %s (make firmware BOARD=%s)\n", o->elf_path,
                o->board);
        exit(1);
    }
    board_config_t cfg = {.bus_hz = bus_hz};
    if (emu_configure(o) != 0 || board_open(&cfg) != 0) {
        fprintf(stderr, "cannot open the emulated %s board\n", o->board);
        exit(1);
    }
}

void h_close(void)
{
    board_close();
}

bool h_xfer(const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    size_t acked = 0;
    return board_transfer(FB_I2C_ADDR, w, wlen, r, rlen, &acked) == BOARD_ACK && acked == wlen;
}

bool h_reg(uint8_t reg, uint8_t *out, size_t n)
{
    return h_xfer(&reg, 1, out, n);
}

uint8_t h_status(void)
{
    uint8_t st = 0xEE;
    if (!h_reg(FB_CMD_EXT_STATUS, &st, 1))
        return 0xEE;
    return st;
}

bool h_wait_idle(uint64_t poll_ns, uint64_t max_ns)
{
    uint64_t end = board_now() + max_ns;
    while (board_now() < end) {
        if (!(h_status() & FB_STATUS_BUSY))
            return true;
        board_wait(poll_ns);
    }
    return false;
}

bool h_write_data(const uint8_t *data, uint8_t n)
{
    uint8_t f[32] = {FB_CMD_WRITE_DATA, n};
    memcpy(&f[2], data, n);
    return h_xfer(f, sizeof f, NULL, 0);
}

bool h_write_config(uint16_t off, const uint8_t *data, uint8_t n)
{
    uint8_t f[32] = {FB_CMD_WRITE_CONFIG, (uint8_t)(off >> 8), (uint8_t)off, n};
    memcpy(&f[4], data, n);
    return h_xfer(f, sizeof f, NULL, 0);
}

bool h_cmd(uint8_t cmd)
{
    return h_xfer(&cmd, 1, NULL, 0);
}

bool h_read_prepared(uint8_t cmd, uint16_t arg, uint8_t out[256])
{
    uint8_t f[3] = {cmd, (uint8_t)(arg >> 8), (uint8_t)arg};
    return h_xfer(f, 3, NULL, 0) && h_wait_idle(20000, 50000000) && h_xfer(NULL, 0, out, 256);
}
