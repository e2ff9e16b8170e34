/*
 * Winbond W25Q64JV SPI NOR flash model (8 MiB), faithful to the datasheet.
 *
 * Driven byte by byte as the SPI bus would: select, exchange bytes, deselect. Program
 * and erase commands execute when chip select rises, as the datasheet says, and keep
 * BUSY for the datasheet time (typical or maximum). Rules enforced: Write Enable before
 * every program/erase, WEL cleared when it ends; while BUSY only Read Status 1/2/3
 * (05h/35h/15h) is answered and every other command is ignored (the reset pair 66h/99h
 * excepted); page program wraps within its 256-byte page and only clears bits; an
 * erase clears the whole block containing its address (an unaligned address is a
 * driver error); Block Protect bits (BP2-0, TB, SEC, CMP, WPS) refuse program/erase
 * in their region. Write Status (01h/31h/11h) writes the non-volatile bits (50h,
 * volatile writes, is not modelled), busy for tW.
 * Erase/Program Suspend (75h) and Resume (7Ah) as the datasheet gives them: suspend
 * only during a sector/block erase or a page program (ignored otherwise, chip erase
 * included), BUSY clears after tSUS = 20 us and SUS (SR2 bit 7) reads 1; while an erase
 * is suspended, erases and status writes are refused and programs only outside its
 * block, while a program is suspended no program either; the suspended region reads
 * partly done; a suspend within tSUS of a resume is a driver error (ignored) and an
 * operation makes no progress in the first tSUS after a resume; a reset or power loss
 * forgets the suspend and leaves the region partly done.
 * Commands: 06 04 05 35 15 01 31 11 03 0B 02 20 52 D8 C7 60 75 7A 9F AB B9 66 99; any
 * other instruction is ignored. 9Fh repeats EF 40 17 for as long as it is clocked; ABh gives
 * 16h after three dummy bytes, repeated. 66h then 99h resets the device (an operation
 * in progress is abandoned half done; no instruction for tRST = 30 us); ABh after B9h
 * needs tRES1 = 3 us before the next instruction.
 *
 * Driver errors that the chip would silently ignore or tolerate are counted (see
 * w25m_violations) and reported on stderr, one line each.
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

/* Operation durations in ns for the given timing (datasheet AC Electrical
 * Characteristics: tPP tSE tBE1 tBE2 tCE tW; tW has no typical, 10 ms is used). */
typedef struct w25m_times {
    uint64_t page_program, sector_erase, block32_erase, block64_erase, chip_erase,
        write_status;
} w25m_times_t;
w25m_times_t w25m_times(w25m_timing_t timing);

typedef struct w25m w25m_t;

/* Create a device. image_path: file holding the 8 MiB array, created erased (0xFF) if
 * missing; an existing file must be exactly 8 MiB (else NULL with errno EINVAL). The
 * file is mapped shared, so it follows every change; w25m_sync() and w25m_destroy()
 * flush it. NULL keeps the array in memory. pc may be NULL (no power cuts). Returns
 * NULL on error (errno set). */
w25m_t *w25m_create(const char *image_path, w25m_timing_t timing, powercut_t *pc);
void w25m_destroy(w25m_t *m);

/* Chip select: low = true starts a command, false ends it (and starts program/erase). */
void w25m_select(w25m_t *m, bool low, uint64_t now_ns);
/* One SPI byte exchange while selected; returns MISO. */
uint8_t w25m_xfer(w25m_t *m, uint8_t mosi, uint64_t now_ns);

bool w25m_busy(const w25m_t *m, uint64_t now_ns);
/* Time at which the last operation started ends (0 if none since power-on or a cut). */
uint64_t w25m_busy_until(const w25m_t *m);
/* Power removed at now_ns without the powercut controller (a board power cycle): an
 * operation still running is left half done as by a cut; no power-cut step is counted.
 * The device answers nothing until w25m_power_on(). */
void w25m_power_off(w25m_t *m, uint64_t now_ns);
/* Power came back (after a cut or w25m_power_off): BUSY, WEL, power-down, a pending
 * Enable Reset and any half-sent command are gone; the array and the non-volatile
 * status bits stay (SRL, locked only until a power cycle, clears). */
void w25m_power_on(w25m_t *m);

/* Test/inspection access (not a device function). The array already holds the result
 * of an operation that is still BUSY. Erase counts are per 4 KiB sector (a block or
 * chip erase counts for every sector it covers); the totals count operations started
 * (page programs; erases of any size). */
const uint8_t *w25m_array(const w25m_t *m);
/* Back to a new device, instantly: array erased, status registers and counters at their
 * factory values, powered on. A test fixture (the fuzzer starts every input from it). */
void w25m_wipe(w25m_t *m);
/* Put a saved array back (W25M_SIZE bytes, e.g. a copy of w25m_array()), instantly, and
 * power on. A test fixture: runs that restart from the same image many times. */
void w25m_load(w25m_t *m, const uint8_t *image);
uint32_t w25m_erase_count(const w25m_t *m, uint32_t sector);
uint64_t w25m_total_erases(const w25m_t *m);
uint64_t w25m_total_programs(const w25m_t *m);
/* Driver errors seen so far: an erase address not aligned to the erase size, a page
 * program that wraps within its page, any instruction other than 05h/35h/15h/75h while
 * BUSY, a program/erase/write-status without WEL, a program/erase in a protected
 * region, an instruction forbidden while suspended, a suspend within tSUS of a resume. */
uint32_t w25m_violations(const w25m_t *m);
/* Write the array back to its image file now. 0 or -1 (errno). */
int w25m_sync(w25m_t *m);

#endif
