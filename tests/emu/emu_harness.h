/*
 * In-process helpers for the emulator tests: open the emulated board on a firmware ELF
 * and speak the flashbridge protocol to it through board_transfer(), without sockets.
 */
#ifndef FB_TESTS_EMU_HARNESS_H
#define FB_TESTS_EMU_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "emu.h"

typedef struct emu_target {
    const char *board;
    const char *elf;
} emu_target_t;

/* The two firmware builds (CMake: FB_ELF_BLUEPILL, FB_ELF_STEAMI). */
extern const emu_target_t emu_targets[2];

/* Configure and open the board (in-memory images) at bus_hz; aborts the test program
 * with a message when the ELF is missing or does not boot. */
void h_open(const emu_target_t *t, uint32_t bus_hz, const char *trace);
/* The same with emulator options (o->elf_path and o->board must be set). */
void h_open_opts(const emu_options_t *o, uint32_t bus_hz);
void h_close(void);

/* One transfer that must be acknowledged throughout; returns false otherwise. */
bool h_xfer(const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen);
/* Register read: [reg], repeated START, n bytes. */
bool h_reg(uint8_t reg, uint8_t *out, size_t n);
uint8_t h_status(void);
/* Poll STATUS every poll_ns until BUSY clears; false after max_ns. */
bool h_wait_idle(uint64_t poll_ns, uint64_t max_ns);
/* Queued command frames. */
bool h_write_data(const uint8_t *data, uint8_t n);
bool h_write_config(uint16_t off, const uint8_t *data, uint8_t n);
bool h_cmd(uint8_t cmd);
/* READ_CONFIG / READ_SECTOR: command, wait, plain read of 256 bytes. */
bool h_read_prepared(uint8_t cmd, uint16_t arg, uint8_t out[256]);

#endif
