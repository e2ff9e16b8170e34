/*
 * Winbond W25Q64JV SPI NOR flash model (8 MiB), faithful to the datasheet.
 *
 * Driven byte by byte as the SPI bus would: select, exchange bytes, deselect. Program
 * and erase commands execute when chip select rises, as the datasheet says, and keep
 * BUSY for the datasheet time (typical or maximum). Rules enforced: Write Enable before
 * every program/erase, WEL cleared when it ends; while BUSY only Read Status 1/2/3
 * (05h/35h/15h) is answered and every other command is ignored; page program wraps
 * within its 256-byte page and only clears bits; erases are aligned to their size.
 * Commands: 06 04 05 35 15 03 0B 02 20 52 D8 C7 60 9F AB B9 66 99.
 *
 * Time is virtual: every call takes the current time in nanoseconds.
 */
#ifndef FB_MODELS_W25Q64_MODEL_H
#define FB_MODELS_W25Q64_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "powercut.h"

#define W25M_SIZE          (8u * 1024u * 1024u)
#define W25M_PAGE          256u
#define W25M_SECTOR        4096u
#define W25M_SECTORS       (W25M_SIZE / W25M_SECTOR)

typedef enum { W25M_TIMING_TYPICAL, W25M_TIMING_MAX } w25m_timing_t;

/* Operation durations in ns for the given timing (datasheet table 9.7, tPP tSE tBE1
 * tBE2 tCE tW). */
typedef struct w25m_times {
    uint64_t page_program, sector_erase, block32_erase, block64_erase, chip_erase,
        write_status;
} w25m_times_t;
w25m_times_t w25m_times(w25m_timing_t timing);

typedef struct w25m w25m_t;

/* Create a device. image_path: file holding the 8 MiB array, created erased (0xFF) if
 * missing, written back as operations complete; NULL keeps it in memory. pc may be
 * NULL (no power cuts). Returns NULL on error (errno set). */
w25m_t *w25m_create(const char *image_path, w25m_timing_t timing, powercut_t *pc);
void w25m_destroy(w25m_t *m);

/* Chip select: low = true starts a command, false ends it (and starts program/erase). */
void w25m_select(w25m_t *m, bool low, uint64_t now_ns);
/* One SPI byte exchange while selected; returns MISO. */
uint8_t w25m_xfer(w25m_t *m, uint8_t mosi, uint64_t now_ns);

bool w25m_busy(const w25m_t *m, uint64_t now_ns);
/* Time at which the running operation ends (0 if none). */
uint64_t w25m_busy_until(const w25m_t *m);
/* Power came back after a cut: BUSY, WEL and any half-sent command are gone. */
void w25m_power_on(w25m_t *m);

/* Test/inspection access (not a device function). */
const uint8_t *w25m_array(const w25m_t *m);
uint32_t w25m_erase_count(const w25m_t *m, uint32_t sector);
uint64_t w25m_total_erases(const w25m_t *m);
uint64_t w25m_total_programs(const w25m_t *m);
/* Write the array back to its image file now. 0 or -1 (errno). */
int w25m_sync(w25m_t *m);

#endif
