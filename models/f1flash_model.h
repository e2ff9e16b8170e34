/*
 * STM32F103 internal flash model (the FPEC, RM0008 section 3.3 / PM0075).
 *
 * Functional level: unlock by key sequence, lock, 16-bit programming, page erase, with
 * the datasheet times and the errors the hardware raises. A register-level front end
 * (KEYR/CR/SR/AR) for the emulator sits on top of these functions.
 *
 * Rules enforced: a wrong key sequence locks the interface until reset; programming or
 * erasing while locked fails (WRPRTERR-like); programming a half-word that is not 0xFFFF
 * with anything other than 0x0000 sets PGERR and leaves the cell unchanged; odd
 * addresses are refused; while busy, no new operation starts.
 */
#ifndef FB_MODELS_F1FLASH_MODEL_H
#define FB_MODELS_F1FLASH_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "powercut.h"

#define F1M_PAGE    1024u
#define F1M_SIZE_C8 65536u /* STM32F103C8 (Blue Pill) */

typedef enum { F1M_TIMING_TYPICAL, F1M_TIMING_MAX } f1m_timing_t;

/* Results of f1m_* operations. */
enum {
    F1M_OK = 0,
    F1M_PGERR = -1,    /* destination half-word not erased */
    F1M_WRPRTERR = -2, /* interface locked (or write-protected) */
    F1M_EBUSY = -3,    /* previous operation still running */
    F1M_EALIGN = -4,   /* odd address or outside the array */
    F1M_EDEAD = -5,    /* power is off */
};

typedef struct f1m f1m_t;

/* size: bytes of flash, a multiple of F1M_PAGE; 0 means F1M_SIZE_C8. image_path as for
 * w25m_create: created erased if missing, an existing file must hold exactly size
 * bytes (else NULL, errno EINVAL). Starts locked, as after reset. */
f1m_t *f1m_create(const char *image_path, uint32_t size, f1m_timing_t timing,
                  powercut_t *pc);
void f1m_destroy(f1m_t *m);

/* Write one word to FLASH_KEYR. Keys must come as 0x45670123 then 0xCDEF89AB; any other
 * sequence locks the interface until f1m_reset() (on the chip the wrong write also
 * raises a bus error: here it is counted in f1m_violations and reported on stderr).
 * Writing KEYR while already unlocked is a wrong sequence too. */
void f1m_write_key(f1m_t *m, uint32_t key);
void f1m_lock(f1m_t *m);
bool f1m_locked(const f1m_t *m);
/* System reset (power-on too): locked again, busy cleared. An operation still running
 * is taken as finished; use f1m_power_off() first to model losing power during it. */
void f1m_reset(f1m_t *m);
/* Test fixture, not a device function: back to a new part, instantly (array erased,
 * counters zero, reset state). */
void f1m_wipe(f1m_t *m);
/* Test fixture: put a saved array (f1m_size() bytes) back, instantly, in reset state. */
void f1m_load(f1m_t *m, const uint8_t *image);
/* Power removed at now_ns without the powercut controller: an operation still running
 * is left half done as by a cut (no step counted); every operation returns F1M_EDEAD
 * until f1m_reset(). */
void f1m_power_off(f1m_t *m, uint64_t now_ns);

/* Start programming one half-word at byte offset (even), stored little-endian as the
 * Cortex-M3 does. Busy for tPROG. Checks in this order: power (F1M_EDEAD), lock
 * (F1M_WRPRTERR), busy (F1M_EBUSY), alignment/range (F1M_EALIGN), erased destination
 * (F1M_PGERR: nothing starts). Each started operation is one power-cut step; if power
 * dies during it the result is F1M_EDEAD and the cell is left half programmed. */
int f1m_program(f1m_t *m, uint32_t offset, uint16_t value, uint64_t now_ns);
/* Start erasing the page containing offset. Busy for tERASE. Same checks (without
 * PGERR) and the same power-cut behaviour: a cut leaves the page undefined. */
int f1m_erase_page(f1m_t *m, uint32_t offset, uint64_t now_ns);
bool f1m_busy(const f1m_t *m, uint64_t now_ns);
uint64_t f1m_busy_until(const f1m_t *m);

/* tPROG and tERASE for the timing chosen: typical 52.5 us and 30 ms, maximum 70 us and
 * 40 ms (STM32F103x8 datasheet, Flash memory characteristics). The datasheet gives no
 * typical page erase time, only 20 ms min and 40 ms max: 30 ms is the midpoint. */
uint64_t f1m_program_ns(const f1m_t *m);
uint64_t f1m_erase_ns(const f1m_t *m);

/* Reading (what the CPU sees when not busy). */
const uint8_t *f1m_array(const f1m_t *m);
uint32_t f1m_size(const f1m_t *m);
uint32_t f1m_erase_count(const f1m_t *m, uint32_t page);
/* Wrong key writes seen so far. */
uint32_t f1m_violations(const f1m_t *m);
/* Flush the image file. 0 or -1 (errno). */
int f1m_sync(f1m_t *m);

#endif
