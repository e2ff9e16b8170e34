/*
 * The core's entry points for a port's main().
 *
 *   fb_core_init();
 *   for (;;) { if (!fb_core_poll()) hal_idle(); hal_watchdog_kick(); }
 */
#ifndef FB_CORE_CORE_H
#define FB_CORE_CORE_H

#include <stdbool.h>
#include <stdint.h>

/* main loop, once at boot (interrupts may already be enabled): mount the config zone
 * and the data file, publish the registers. */
void fb_core_init(void);
/* main loop: one step of work. Returns true when more work is ready at once (call
 * again), false when everything waits on an interrupt or a flash device (hal_idle()
 * until the next interrupt or tick is then fine). */
bool fb_core_poll(void);

/* The USB drive's reads, from the main loop between fb_core_poll() calls.
 * acquire: true when the W25Q64 may be read now (no command running; a background
 * erase is suspended until release). The reads return FB_OK, FB_EAGAIN (not now:
 * a command or store is under way) or a flash error. */
bool fb_core_usb_acquire(void);
void fb_core_usb_release(void);
int fb_core_usb_read_file(uint32_t off, uint8_t *dst, uint32_t n);
int fb_core_usb_read_config(uint32_t off, uint8_t *dst, uint32_t n);

#endif
