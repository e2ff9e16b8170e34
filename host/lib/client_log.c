/*
 * flashbridge client, line-by-line logging (flashbridge.h "Line-by-line logging").
 *
 * The log only decides when bytes leave the host: it fills a 256-byte buffer and hands
 * it to the APPEND_CRC stream of client_stream.c (the fb_file_append code: credits,
 * window, retries, go-back-N) when it is full, on the delay rule, or on flush. So a
 * write costs no bus time until a frame is full, and a full frame costs what one frame
 * of a large fb_file_append costs.
 */
#include <string.h>

#include "client_internal.h"
#include "flashbridge.h"
#include "flashbridge/protocol.h"

static int check(const fb_log_t *log)
{
    if (!log || !log->c)
        return FB_HOST_EINVAL; /* never opened, or closed */
    return log->err;
}

/* A failure sticks: the log's view of what the target holds is no longer known. A
 * target that lost bytes the log had sent is reported as such, with their count. */
static int fail(fb_log_t *log, int rc)
{
    if (rc == FB_HOST_EPROTO && log->ext && log->a.missing) {
        log->missing = log->a.missing;
        rc = FB_HOST_ELOST;
    }
    log->err = rc;
    return rc;
}

/* The buffer goes to the target. */
static int send_buf(fb_log_t *log)
{
    if (log->n == 0)
        return FB_HOST_OK;
    int rc;
    if (log->ext) {
        /* Someone else used the target since our last frame (the client flushed us
         * first): number from where the target is now. */
        if (log->a.stale) {
            rc = fbi_append_start(&log->a, log->c);
            if (rc)
                return rc;
        }
        rc = fbi_append_put(&log->a, log->buf, log->n);
    } else {
        rc = fbi_v1_append(log->c, log->buf, log->n);
    }
    if (rc == FB_HOST_OK)
        log->n = 0;
    return rc;
}

int fb_log_open(fb_log_t *log, fb_client_t *c, const fb_log_opts_t *opts)
{
    if (!log || !c || !c->t || c->log)
        return FB_HOST_EINVAL;
    memset(log, 0, offsetof(fb_log_t, a));
    log->delay_ms = opts ? opts->delay_ms : FB_LOG_DELAY_MS_DEFAULT;
    fb_proto_t proto;
    int rc = fb_protocol(c, &proto);
    if (rc)
        return rc;
    log->ext = fbi_use_append_crc(c);
    if (log->ext) {
        rc = fbi_append_start(&log->a, c);
        if (rc)
            return rc;
        log->frame = log->a.payload;
        /* Settle where the status lives (EXT_STATUS or STATUS) now, so that the writes
         * pay exactly one register read per burst of credits. */
        uint8_t st;
        rc = fb_status(c, &st);
        if (rc)
            return rc;
    } else {
        /* Whole 30-byte WRITE_DATA frames. */
        log->frame = FB_LOG_FRAME / FB_WRITE_DATA_MAX * FB_WRITE_DATA_MAX;
    }
    log->c = c;
    c->log = log;
    return FB_HOST_OK;
}

/* Bytes the buffer takes before it goes out. An APPEND_CRC buffer ends where a 256-byte
 * page of the file ends, so that each frame costs the target one page program, not two
 * (a log opened on a file whose size is not a multiple of 256 sends one short frame,
 * then whole pages: 64 -> 67 % of the bus at 400 kHz with maximum flash timing in the
 * MicroPython package's figures). The file offset is the appender's: where its next
 * frame lands. */
static size_t room(const fb_log_t *log)
{
    enum { PAGE = 256 }; /* W25Q64JV page program unit (datasheet 8.2.13) */
    if (!log->ext)
        return log->frame;
    size_t to_page = PAGE - log->a.size % PAGE;
    return to_page < log->frame ? to_page : log->frame;
}

/* Copy bytes in; every full buffer goes out. now: the calling write's time. */
static int put(fb_log_t *log, const uint8_t *p, size_t len, uint64_t now)
{
    while (len > 0) {
        if (log->n == 0) {
            log->first_us = now;
            /* Someone else wrote since our last frame (the client flushed us first):
             * learn where the file ends now, so that this buffer ends on a page. */
            if (log->ext && log->a.stale) {
                int rc = fbi_append_start(&log->a, log->c);
                if (rc)
                    return rc;
            }
        }
        size_t cap = room(log);
        size_t k = cap > log->n ? cap - log->n : 0;
        if (k > len)
            k = len;
        memcpy(log->buf + log->n, p, k);
        log->n += k;
        log->written += k;
        log->dirty = true;
        p += k;
        len -= k;
        if (log->n >= cap) {
            int rc = send_buf(log);
            if (rc)
                return rc;
        }
    }
    return FB_HOST_OK;
}

/* The delay rule: a partial buffer whose first byte waited delay_ms goes now. */
static int after_write(fb_log_t *log, uint64_t now)
{
    if (log->n > 0 && now >= log->first_us &&
        now - log->first_us >= (uint64_t)log->delay_ms * 1000u)
        return send_buf(log);
    return FB_HOST_OK;
}

static int write_parts(fb_log_t *log, const uint8_t *a, size_t alen, const uint8_t *b,
                       size_t blen)
{
    int rc = check(log);
    if (rc)
        return rc;
    log->busy = true;
    /* One clock read per call: the delay rule needs no more resolution than that. */
    uint64_t now = fbi_now_us(log->c);
    rc = put(log, a, alen, now);
    if (!rc)
        rc = put(log, b, blen, now);
    if (!rc)
        rc = after_write(log, now);
    log->busy = false;
    return rc ? fail(log, rc) : FB_HOST_OK;
}

int fb_log_write(fb_log_t *log, const void *buf, size_t len)
{
    if (!buf && len)
        return FB_HOST_EINVAL;
    return write_parts(log, buf, len, NULL, 0);
}

int fb_log_write_line(fb_log_t *log, const char *text)
{
    if (!text)
        return FB_HOST_EINVAL;
    /* Always a newline after the text: the MicroPython package's write_line (and the
     * STeaMi DaplinkFlash.write_line before it) does the same, so one program gives the
     * same file from either host. */
    return write_parts(log, (const uint8_t *)text, strlen(text), (const uint8_t *)"\n", 1);
}

int fb_log_flush(fb_log_t *log)
{
    int rc = check(log);
    if (rc || !log->dirty)
        return rc;
    log->busy = true;
    rc = send_buf(log);
    /* v1 frames were stored and checked (idle, ERROR) as they went. */
    if (!rc && log->ext)
        rc = fbi_append_finish(&log->a);
    log->busy = false;
    if (rc)
        return fail(log, rc);
    log->dirty = false;
    return FB_HOST_OK;
}

int fb_log_close(fb_log_t *log)
{
    if (!log || !log->c)
        return FB_HOST_EINVAL;
    int rc = fb_log_flush(log);
    log->c->log = NULL;
    log->c = NULL;
    return rc;
}

int fbi_log_sync(fb_client_t *c)
{
    if (!c || !c->log || c->log->busy)
        return FB_HOST_OK;
    int rc = fb_log_flush(c->log);
    if (rc == FB_HOST_OK)
        c->log->a.stale = true;
    return rc;
}
