/*
 * The streaming extension, main-loop side (docs/PROTOCOL.md "Streaming extension"):
 * APPEND_CRC frames (CRC-checked, sequence-numbered appends of up to 256 bytes) and
 * STREAM_READ (file bytes served as CRC-checked chunks, each prepared while the host
 * reads the one before). The engine hands these commands here and calls the hooks below;
 * the interrupt side is the shared i2c_target.c / mailbox.c.
 */
#ifndef FB_CORE_STREAM_H
#define FB_CORE_STREAM_H

#include <stdbool.h>

#include "mailbox.h"

/* Boot: forget the sequence state and any streaming read, publish CAPS and
 * STREAM_STATE. */
void xs_init(void);

/* Start an APPEND_CRC frame: FB_OK when done at once (a repeat of the last accepted
 * frame: acknowledged, nothing appended), FB_EAGAIN when the data file must be polled
 * (df_poll), or an error with nothing changed: FB_ECRC (length or CRC), FB_ESEQ,
 * FB_EFLASH (flash_ok false), or df_append_start()'s. */
int xs_append_start(const fb_frame_t *f, bool flash_ok);
/* The command the engine just finished (err as reported to the host): if it was an
 * accepted APPEND_CRC, record its sequence number with the new file size. */
void xs_command_done(int err, uint32_t file_size);

/* Start a STREAM_READ: FB_OK (its first chunk is prepared) or an error with nothing
 * prepared (FB_EINVAL, FB_ECRC, FB_EFLASH, or df_read()'s). Any STREAM_READ frame, valid
 * or not, ends the streaming read that was running. */
int xs_read_start(const fb_frame_t *f, bool flash_ok);
/* Another READ command (READ_SECTOR, READ_CONFIG) replaces the streaming read. */
void xs_read_cancel(void);
/* Main loop, while no data-file operation runs: prepare the next chunk of the running
 * streaming read if a response slot is free. true = did some work. */
bool xs_read_poll(void);
/* A chunk of the running streaming read waits to be prepared and a slot is free. */
bool xs_read_pending(void);

#endif
