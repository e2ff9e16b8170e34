/*
 * The data file on the W25Q64: one append-only file with an 8.3 name, power-loss safe.
 *
 * On-flash format (docs/STORAGE.md): file bytes in the data area used as a ring, in one
 * or more extents (a new extent starts after a CLEAR, or where an interrupted append
 * left bytes behind); the last two 4 KiB sectors hold a metadata log of 16-byte records
 * (name, size, extents, erase progress), so the size is known without looking at the
 * data and data with 0xFF bytes reads back exactly.
 *
 * Operations are started and then polled (df_poll) from the main loop, one at a time.
 * CLEAR only writes a record; the sectors that held data are erased afterwards by
 * df_background(), in the largest blocks that fit, while the file keeps working.
 */
#ifndef FB_CORE_DATAFILE_H
#define FB_CORE_DATAFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "flashbridge/protocol.h"

#define DF_APPEND_MAX 256u
/* Extents the file may have between two CLEARs. An interrupted append is repaired in
 * place and adds none, except within two sectors of the capacity (one per cut there,
 * each past a page boundary, so at most the pages left there: docs/STORAGE.md). */
#define DF_MAX_EXTENTS 34u

/* Forget everything (boot); the file reads as empty until df_mount() succeeds. */
void df_reset(void);
/* Read the metadata log (device idle). 0, or a flash error. Reads 4 KiB + 48 bytes
 * whatever the file size. */
int df_mount(void);

/* Start an operation: 0 when already complete, FB_EAGAIN when df_poll() must follow,
 * or an error (nothing changed). An append reads its data in place until it finishes:
 * the engine's queue slot holding the frame stays put until then (no 256-byte copy). */
int df_append_start(const uint8_t *data, size_t n);
int df_set_name_start(const uint8_t name[FB_FILENAME_LEN]);
int df_clear_start(void);
/* FB_EAGAIN while running, 0 when done (the new state is committed), or an error
 * (the committed state is unchanged). */
int df_poll(void);
/* The running step waits milliseconds (an erase): the caller may sleep. */
bool df_long_wait(void);

/* Background erasing after a CLEAR. One step: FB_EAGAIN while work remains, 0 when
 * none is left, or an error. */
int df_background(void);
/* Background work is pending (STATUS shows ERASING). */
bool df_background_pending(void);
/* The background eraser is in the middle of a device operation: it must be finished
 * (df_background() until this is false) before a foreground operation or a read. */
bool df_background_busy(void);

/* The chip holds data flashbridge did not write and cannot import (EXT_STATUS
 * FOREIGN): nothing is erased, appends and renames fail with FB_EFULL, the file reads
 * as empty, until df_clear_start() (the host's CLEAR_FLASH) makes all of it ours. */
bool df_foreign(void);

/* Copy n file bytes at offset; bytes past the end of the file read as 0xFF. */
int df_read(uint32_t offset, uint8_t *dst, size_t n);
uint32_t df_size(void);
/* Changes before the file's bytes below its size or its name change (CLEAR, rename,
 * mount); appends leave it. For readers outside the engine (the USB drive). */
uint32_t df_generation(void);
const uint8_t *df_name(void);
/* 8.3 rules: 11 bytes, name part non-empty, allowed characters, spaces only as
 * trailing padding of each part. */
bool df_name_valid(const uint8_t name[FB_FILENAME_LEN]);

#endif
