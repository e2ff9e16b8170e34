/*
 * The one mechanism for state shared between the I2C interrupt and the main loop.
 *
 * Everything the two sides share lives in this module and nowhere else: the command
 * queue, the ERROR register, the registers the main loop publishes (file name, file
 * size) and the prepared-response double buffer.
 *
 * Rule: the I2C interrupt runs at the highest priority, so its accesses are atomic
 * with respect to the main loop; the main loop touches shared fields only inside
 * hal_irq_save()/hal_irq_restore() (PRIMASK saved and restored, never blindly enabled),
 * which every mb_* main-loop function below does internally. The interrupt never writes
 * the main loop's task state: it only appends frames to the queue and reads/clears the
 * registers.
 *
 * Queue: a ring of FB_QUEUE_DEPTH frames. The interrupt fills the slot at head and
 * publishes it by advancing head; the main loop processes the frame at tail in place
 * and frees it (advances tail) only when the command has finished, so "head != tail"
 * is exactly the STATUS BUSY bit and DEPTH - (head - tail) the free-slot count.
 */
#ifndef FB_CORE_MAILBOX_H
#define FB_CORE_MAILBOX_H

#include <stdbool.h>
#include <stdint.h>

#include "flashbridge/protocol.h"
#include "ramfunc.h"

/* A frame longer than FB_FRAME_MAX is posted with len = FB_FRAME_OVERLONG so the main
 * loop can reject it; its bytes past FB_FRAME_MAX were dropped. */
#define FB_FRAME_OVERLONG (FB_FRAME_MAX + 1u)

typedef struct fb_frame {
    uint8_t len;
    uint8_t data[FB_FRAME_MAX];
} fb_frame_t;

/* ---- main loop side ---- */
void mb_init(void);
/* The oldest queued command, or NULL. Stays valid (and unchanged) until mb_pop(). */
const fb_frame_t *mb_peek(void);
/* The command at the tail has finished: free its slot. */
void mb_pop(void);
/* OR bits into the ERROR register (FB_ERR_FAILED is added by the caller). */
void mb_set_error(uint8_t bits);
void mb_publish_filename(const uint8_t name[FB_FILENAME_LEN]);
void mb_publish_file_size(uint32_t size);
/* Background erasing in progress (STATUS ERASING). */
void mb_set_erasing(bool on);
/* Buffer to prepare the next response in, or NULL while the interrupt is still sending
 * from it (try again on a later pass). */
uint8_t *mb_response_back(void);
/* Make the back buffer the one served to plain reads and set STATUS READY. */
void mb_response_publish(void);

/* ---- interrupt side (FB_RAMFUNC: called from the I2C handler) ---- */
/* Slot the interrupt assembles the next frame in, or NULL when the queue is full. */
fb_frame_t *mb_isr_slot(void) FB_RAMFUNC;
/* Publish the slot filled since mb_isr_slot(). */
void mb_isr_post(void) FB_RAMFUNC;
void mb_isr_set_error(uint8_t bits) FB_RAMFUNC;
uint8_t mb_isr_error(void) FB_RAMFUNC;
/* The host has been sent these ERROR bits: clear them (bits set since stay). */
void mb_isr_clear_error(uint8_t bits) FB_RAMFUNC;
uint8_t mb_isr_status(void) FB_RAMFUNC;
uint32_t mb_isr_file_size(void) FB_RAMFUNC;
const uint8_t *mb_isr_filename(void) FB_RAMFUNC;
/* A READ command was queued: the current response no longer answers the host. */
void mb_isr_response_stale(void) FB_RAMFUNC;
/* Start/stop serving the prepared response; NULL when none is ready. */
const uint8_t *mb_isr_response_begin(void) FB_RAMFUNC;
void mb_isr_response_end(void) FB_RAMFUNC;

#endif
