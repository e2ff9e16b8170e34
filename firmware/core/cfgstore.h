/*
 * The 1 KiB config zone in the F103's internal flash.
 *
 * A RAM mirror answers reads; writes change the mirror and then store it. First
 * version (docs/STORAGE.md): two copies of the zone, each a data page and a header
 * page (sequence number, CRCs). A write goes to the copy that is not current, header
 * last, so a cut leaves either the old or the new zone. Stores run as steps from the
 * main loop (cfg_poll); each step is one page erase or one 256-byte program, during
 * which the port keeps the I2C interrupt served.
 */
#ifndef FB_CORE_CFGSTORE_H
#define FB_CORE_CFGSTORE_H

#include <stddef.h>
#include <stdint.h>

/* Boot: pick the newest valid copy (or all 0xFF). Always succeeds. */
void cfg_mount(void);
/* Start storing a change: FB_EAGAIN (poll), or FB_EINVAL if off + n passes the zone. */
int cfg_write_start(uint16_t off, const uint8_t *data, size_t n);
int cfg_clear_start(void);
/* One step: FB_EAGAIN while more remain, 0 when stored, or an error (the mirror is then
 * reloaded from the copy that is still current). */
int cfg_poll(void);
/* n bytes of the zone at off; past the zone reads 0xFF. */
void cfg_read(uint16_t off, uint8_t *dst, size_t n);

#endif
