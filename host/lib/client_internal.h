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
/* The APPEND_CRC stream behind fbi_ext_append and the log (client_stream.c).
 * start: reads STREAM_STATE (numbers from the target's last accepted frame + 1).
 * put: one frame of n (1..payload) bytes, copied; returns once it is sent, after the
 *   status reads, waits and go-back-N repairs that needs (a register read only when
 *   the credits of the last one are used up).
 * finish: everything sent, the target idle, STREAM_STATE checked against what was
 *   sent (repairing refusals); EPROTO with a->missing when the target lacks bytes. */
int fbi_append_start(fb_appender_t *a, fb_client_t *c);
int fbi_append_put(fb_appender_t *a, const uint8_t *data, size_t n);
int fbi_append_finish(fb_appender_t *a);
/* The target takes APPEND_CRC frames with their length (CAPS version >= 2): after
 * fb_protocol(). */
bool fbi_use_append_crc(const fb_client_t *c);
/* v1 appends: 30-byte WRITE_DATA frames on STATUS credits, then idle and ERROR. */
int fbi_v1_append(fb_client_t *c, const uint8_t *buf, size_t len);
/* Flush the log open on c (if any, and not inside a log call), then mark it to read
 * STREAM_STATE again before its next frame: the caller is about to use the target. */
int fbi_log_sync(fb_client_t *c);
int fbi_ext_read(fb_client_t *c, uint32_t offset, uint8_t *buf, size_t len);

#endif
