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

#define F1M_PAGE 1024u

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

/* size: bytes of flash (65536 for a C8). image_path as for w25m_create (created erased). */
f1m_t *f1m_create(const char *image_path, uint32_t size, f1m_timing_t timing,
                  powercut_t *pc);
void f1m_destroy(f1m_t *m);

/* Write one word to FLASH_KEYR. Keys must come as 0x45670123 then 0xCDEF89AB; any other
 * sequence locks the interface until f1m_reset(). */
void f1m_write_key(f1m_t *m, uint32_t key);
void f1m_lock(f1m_t *m);
bool f1m_locked(const f1m_t *m);
/* System reset (power-on too): locked again, busy cleared. */
void f1m_reset(f1m_t *m);

/* Start programming one half-word at byte offset (even). Busy for tPROG. */
int f1m_program(f1m_t *m, uint32_t offset, uint16_t value, uint64_t now_ns);
/* Start erasing the page containing offset. Busy for tERASE. */
int f1m_erase_page(f1m_t *m, uint32_t offset, uint64_t now_ns);
bool f1m_busy(const f1m_t *m, uint64_t now_ns);
uint64_t f1m_busy_until(const f1m_t *m);

uint64_t f1m_program_ns(const f1m_t *m);
uint64_t f1m_erase_ns(const f1m_t *m);

/* Reading (what the CPU sees when not busy). */
const uint8_t *f1m_array(const f1m_t *m);
uint32_t f1m_size(const f1m_t *m);
uint32_t f1m_erase_count(const f1m_t *m, uint32_t page);
int f1m_sync(f1m_t *m);

#endif
