/*
 * The 1 KiB config zone in the F103's internal flash: a journal, power-loss safe.
 *
 * Format (docs/STORAGE.md): two banks of two pages. A bank holds a header, a snapshot of
 * the zone and a journal of checksummed write/clear records. A write appends one record
 * (no page erase); when the journal is full the zone is compacted into the other bank,
 * header last. Reads replay snapshot + journal, so no RAM mirror of the zone is kept.
 *
 * A transaction (begin, writes, commit) is staged in RAM and committed as one
 * compaction: a cut before the commit's header leaves the previous zone intact.
 * Stores run as steps from the main loop (cfg_poll); each step is one page erase or one
 * program of at most 256 bytes, during which the port keeps the I2C interrupt served.
 */
#ifndef FB_CORE_CFGSTORE_H
#define FB_CORE_CFGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Boot: find the newest valid bank and the end of its journal. Always succeeds. */
void cfg_mount(void);
/* Start storing a change: FB_EAGAIN (poll), 0 (staged in an open transaction), or
 * FB_EINVAL if off + n passes the zone. */
int cfg_write_start(uint16_t off, const uint8_t *data, size_t n);
int cfg_clear_start(void);
/* Transactions: begin stages the zone in RAM (a second begin restarts it); commit
 * stores the staged zone atomically (FB_EAGAIN, then cfg_poll), FB_EINVAL without a
 * begin; abort drops the staged changes. */
int cfg_begin(void);
int cfg_commit_start(void);
void cfg_abort(void);
/* One step: FB_EAGAIN while more remain, 0 when stored, or an error (nothing changed:
 * the state is re-read from the flash). */
int cfg_poll(void);
/* n bytes of the committed zone at off; past the zone reads 0xFF. */
void cfg_read(uint16_t off, uint8_t *dst, size_t n);
/* Changes before the committed zone's bytes change (every store, every mount). */
uint32_t cfg_generation(void);

#endif
