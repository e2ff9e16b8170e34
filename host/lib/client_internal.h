/*
 * Helpers shared by the client's v1 code (client.c) and its streaming-extension code
 * (client_stream.c). Not part of the library's interface.
 */
#ifndef FB_CLIENT_INTERNAL_H
#define FB_CLIENT_INTERNAL_H

#include "flashbridge.h"

/* One bus transaction (see fb_transport_ops.xfer). */
int fbi_xfer(fb_client_t *c, const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen);
/* Register read: write reg, repeated start, read n bytes. */
int fbi_reg_read(fb_client_t *c, uint8_t reg, uint8_t *buf, size_t n);
uint64_t fbi_now_us(fb_client_t *c);
uint64_t fbi_elapsed_us(fb_client_t *c, uint64_t since);
void fbi_progress(fb_client_t *c, uint64_t done, uint64_t total);
/* Read ERROR (clearing it): FB_HOST_EDEVICE with the bits in last_error, or OK when it
 * was already clear. */
int fbi_collect_error(fb_client_t *c);
/* Poll STATUS until BUSY clears (timeout_us), hand back that STATUS, then collect the
 * error if its flag is set. */
int fbi_wait_idle_status(fb_client_t *c, uint64_t timeout_us, uint8_t *last);

/* Streaming-extension versions of fb_file_append / fb_file_read (arguments checked). */
int fbi_ext_append(fb_client_t *c, const uint8_t *buf, size_t len);
int fbi_ext_read(fb_client_t *c, uint32_t offset, uint8_t *buf, size_t len);

#endif
