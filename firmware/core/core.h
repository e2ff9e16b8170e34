/*
 * The core's entry points for a port's main().
 *
 *   fb_core_init();
 *   for (;;) { if (!fb_core_poll()) hal_idle(); hal_watchdog_kick(); }
 */
#ifndef FB_CORE_CORE_H
#define FB_CORE_CORE_H

#include <stdbool.h>

/* main loop, once at boot (interrupts may already be enabled): mount the config zone
 * and the data file, publish the registers. */
void fb_core_init(void);
/* main loop: one step of work. Returns true when more work is ready at once (call
 * again), false when everything waits on an interrupt or a flash device (hal_idle()
 * until the next interrupt or tick is then fine). */
bool fb_core_poll(void);

#endif
