/*
 * The one mechanism for state shared between the I2C interrupt and the main loop.
 *
 * Everything the two sides share lives in this module and nowhere else: the command
 * queue, the ERROR and ERRORS registers, the registers the main loop publishes (file
 * name, file size, streaming state, capabilities) and the two prepared-response slots.
 *
 * Errors (docs/PROTOCOL.md, protocol 2.0): ERROR (0x81) is the v1 view, the result of
 * the newest queued command: posting a frame clears it, and a command's failure bits go
 * in only while no newer frame has been posted, so a v1 host that reads ERROR after its
 * command never sees another command's failure. ERRORS (0x86) accumulates every
 * failure bit (background work included) until an extension host reads it.
 *
 * Rule: the I2C interrupt runs at the highest priority, so its accesses are atomic
 * with respect to the main loop; the main loop touches shared fields only inside
 * hal_irq_save()/hal_irq_restore() (PRIMASK saved and restored, never blindly enabled),
 * which every mb_* main-loop function below does internally. The interrupt never writes
 * the main loop's task state: it only fills queue slots, reads/clears the registers and
 * consumes prepared responses.
 *
 * Queue: a ring of FB_QUEUE_DEPTH frames of up to FB_EXT_FRAME_MAX bytes. The interrupt
 * writes the bytes of a write transfer straight into the free slot at head (no copy at
 * STOP) and publishes it by advancing head; the main loop processes the frame at tail in
 * place and frees it (advances tail) only when the command has finished, so
 * "head != tail" is exactly the STATUS BUSY bit and DEPTH - (head - tail) the free-slot
 * count.
 *
 * Responses: two slots used as a FIFO of prepared responses. The main loop fills the
 * slot at wr and commits it; the interrupt serves the slot at rd to plain reads. A v1
 * response (READ_SECTOR, READ_CONFIG) stays until the next READ command; a streaming
 * chunk is consumed by a plain read that clocks it out in full, and rd moves on to the
 * next chunk, which the main loop prepared meanwhile in the other slot.
 */
#ifndef FB_CORE_MAILBOX_H
#define FB_CORE_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "flashbridge/protocol.h"
#include "ramfunc.h"

/* Bytes a queue slot holds: the longest frame of any command. */
#define FB_SLOT_LEN FB_EXT_FRAME_MAX
/* A frame longer than FB_SLOT_LEN is posted with len = FB_FRAME_OVERLONG so the main
 * loop can reject it; its bytes past FB_SLOT_LEN were dropped. */
#define FB_FRAME_OVERLONG (FB_SLOT_LEN + 1u)
/* Bytes a response slot holds: a v1 response or a streaming chunk. */
#define FB_RESPONSE_SLOT_LEN FB_CHUNK_MAX

typedef struct fb_frame {
    uint16_t len;
    uint8_t data[FB_SLOT_LEN];
} fb_frame_t;

/* ---- main loop side ---- */
void mb_init(void);
/* The oldest queued command, or NULL. Stays valid (and unchanged) until mb_pop(). */
const fb_frame_t *mb_peek(void);
/* The command at the tail has finished: free its slot. */
void mb_pop(void);
/* The command at the tail failed with bits (FB_ERR_FAILED included by the caller): into
 * ERRORS, and into ERROR only while it is still the newest posted command. */
void mb_command_failed(uint8_t bits);
/* Work that is no queued command failed (a background erase step, a streaming chunk
 * prepared after its command retired): ERRORS only, never blamed on a command. */
void mb_background_failed(uint8_t bits);
void mb_publish_filename(const uint8_t name[FB_FILENAME_LEN]);
void mb_publish_file_size(uint32_t size);
/* Background erasing in progress (EXT_STATUS ERASING). */
void mb_set_erasing(bool on);
/* The W25Q64 holds data flashbridge did not write, left untouched (EXT_STATUS FOREIGN,
 * datafile.h df_foreign). */
void mb_set_foreign(bool on);
/* An APPEND_CRC frame was accepted: its seq and the new file size, published together
 * (STREAM_STATE). */
void mb_publish_append(uint8_t seq, uint32_t size);
/* The CAPS register's bytes (constant after boot). */
void mb_publish_caps(const uint8_t caps[FB_CAPS_LEN]);
/* A streaming frame failed its CRC check: count it (STREAM_STATE). */
void mb_count_crc_error(void);

/* A READ command (READ_SECTOR, READ_CONFIG, STREAM_READ) is being executed: drop every
 * prepared response, and make the next slot to fill one no plain read is sending from. */
void mb_response_reset(void);
/* The slot to prepare the next response in, or NULL while both are taken (a chunk
 * waits to be read, the other is being sent). */
uint8_t *mb_response_slot(void);
/* The slot from mb_response_slot() holds len bytes: serve it to plain reads (STATUS
 * READY). consumable: a streaming chunk, gone once read in full; else it stays until
 * the next reset. Returns false, and drops it, when a newer READ command has arrived
 * meanwhile (its answer, not this one, is what the host waits for). */
bool mb_response_commit(uint16_t len, bool consumable);

/* ---- interrupt side (FB_RAMFUNC: called from the I2C handler) ---- */
/* Slot the interrupt writes the next frame into, or NULL when the queue is full. */
fb_frame_t *mb_isr_slot(void) FB_RAMFUNC;
/* Publish the slot filled since mb_isr_slot(). A READ command (READ_SECTOR,
 * READ_CONFIG, STREAM_READ) also withdraws the prepared responses: they no longer
 * answer the host. */
void mb_isr_post(void) FB_RAMFUNC;
/* A frame the host sent could not be queued: into ERROR and ERRORS. */
void mb_isr_set_error(uint8_t bits) FB_RAMFUNC;
uint8_t mb_isr_error(void) FB_RAMFUNC;
/* The host has been sent these ERROR bits: clear them (bits set since stay). */
void mb_isr_clear_error(uint8_t bits) FB_RAMFUNC;
uint8_t mb_isr_errors(void) FB_RAMFUNC;
/* The host has been sent these ERRORS bits: clear them. */
void mb_isr_clear_errors(uint8_t bits) FB_RAMFUNC;
/* STATUS (v1: BUSY or 0) and EXT_STATUS (every FB_STATUS_* bit). */
uint8_t mb_isr_status(void) FB_RAMFUNC;
uint8_t mb_isr_ext_status(void) FB_RAMFUNC;
/* Multi-byte registers, copied whole into out when a read begins: the interrupt runs
 * above the main loop, whose publishers write under hal_irq_save(), so each copy is
 * one consistent value however long the host takes to clock it out. */
void mb_isr_file_size(uint8_t out[4]) FB_RAMFUNC;
void mb_isr_filename(uint8_t out[FB_FILENAME_LEN]) FB_RAMFUNC;
void mb_isr_caps(uint8_t out[FB_CAPS_LEN]) FB_RAMFUNC;
/* STREAM_STATE, serialised into out (FB_STREAM_STATE_LEN bytes). */
void mb_isr_stream_state(uint8_t *out) FB_RAMFUNC;
/* Start serving the prepared response to a plain read: its bytes and *len, or NULL
 * when none is ready. */
const uint8_t *mb_isr_response_begin(uint16_t *len) FB_RAMFUNC;
/* The plain read ended; whole = every byte of the response was clocked out (a
 * streaming chunk is then consumed). */
void mb_isr_response_end(bool whole) FB_RAMFUNC;

#endif
