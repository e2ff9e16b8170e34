/*
 * flashbridge client, streaming extension (docs/PROTOCOL.md "Streaming extension").
 *
 * Appends: APPEND_CRC frames of up to 256 bytes, numbered from the target's last
 * accepted sequence number + 1. One STATUS read gives the free queue slots; that many
 * frames go out back to back; then STATUS again. In steady state the bus carries frames
 * and one STATUS read per burst, and the target programs one page while the next frames
 * wait in its queue. The frames sent and not yet known executed stay in a window (a
 * STATUS read with ERROR clear that shows q frames queued proves every older one stored)
 * for the repairs below; fb_file_append and the log (client_log.c) share this code.
 *   - A bus error on a frame: the same frame again (same number). If the target did get
 *     the first copy, it acknowledges the second without appending it.
 *   - A frame the target refused (bad CRC on the wire, or out of sequence because one
 *     before it was refused or lost; ERROR bit FB_ERR_STREAM, or QUEUE_FULL after a
 *     retry took a slot twice): let the queue drain, read STREAM_STATE, and go on from
 *     the frame after the last accepted one (go-back-N). The file size in STREAM_STATE
 *     must match what those frames add up to, or something else wrote to the file.
 *
 * Reads: one STREAM_READ for the whole range, then one plain read per chunk. A chunk is
 * checked by its tag, index and CRC; a bad one (or a bus error during its read) asks
 * the stream again from that chunk's offset. A chunk read before it is prepared comes
 * back as 0xFF (not consumed): wait for STATUS READY and read it again.
 */
#include <stddef.h>
#include <string.h>

#include "client_internal.h"
#include "flashbridge.h"
#include "flashbridge/protocol.h"

/* Go-back-N resumptions per append, restarts per read: beyond these the link is too
 * bad to make progress and the caller hears about it. */
#define RESYNC_MAX 16u
#define RESTART_MAX 16u

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_crc(uint8_t *p, size_t n)
{
    uint16_t crc = fb_crc16(FB_EXT_CRC_INIT, p, n);
    p[n] = (uint8_t)(crc >> 8);
    p[n + 1] = (uint8_t)crc;
}

/* The last two of the n bytes are the CRC of the ones before. */
static bool crc_ok(const uint8_t *p, size_t n)
{
    uint16_t crc = fb_crc16(FB_EXT_CRC_INIT, p, n - 2);
    return p[n - 2] == (uint8_t)(crc >> 8) && p[n - 1] == (uint8_t)crc;
}

static bool caps_decode(const uint8_t b[FB_CAPS_LEN], fb_caps_t *caps)
{
    if (b[0] != FB_CAPS_MAGIC0 || b[1] != FB_CAPS_MAGIC1 || !crc_ok(b, FB_CAPS_LEN))
        return false;
    caps->version = b[2];
    caps->features = b[3];
    caps->max_payload = (uint16_t)(b[4] << 8 | b[5]);
    caps->queue_depth = b[6];
    return caps->version >= 1 && caps->max_payload >= 1 && caps->queue_depth >= 1;
}

/* After asking CAPS of a target without the extension: it took the byte for a command
 * and flags it as unknown once it has run. Wait for that, then clear the flag, unless
 * an error was pending before we asked (the host's to collect, not ours to hide). */
static int forget_probe(fb_client_t *c, uint8_t status_before)
{
    uint64_t start = fbi_now_us(c);
    uint8_t st;
    for (;;) {
        int rc = fb_v1_status(c, &st);
        if (rc)
            return rc;
        if (!(st & FB_STATUS_BUSY))
            break;
        if (fbi_elapsed_us(c, start) >= fb_timeout_us(FB_CMD_STATUS, 0))
            return FB_HOST_ETIMEOUT;
        rc = c->t->ops->sleep_us(c->t, c->poll_us);
        if (rc)
            return rc;
    }
    if ((st & FB_STATUS_ERROR) && !(status_before & FB_STATUS_ERROR)) {
        uint8_t bits;
        return fb_v1_error(c, &bits);
    }
    return FB_HOST_OK;
}

int fb_caps(fb_client_t *c, fb_caps_t *caps)
{
    if (!c || !c->t || !caps)
        return FB_HOST_EINVAL;
    /* The v1 registers: a target without CAPS has nothing else (a flashbridge 1.1 shows
     * its ERROR flag in STATUS), and fb_status() itself may be asking. */
    uint8_t st0, b[FB_CAPS_LEN];
    int rc = fb_v1_status(c, &st0);
    if (rc)
        return rc;
    rc = fbi_reg_read(c, FB_CMD_CAPS, b, sizeof b);
    if (rc)
        return rc;
    if (caps_decode(b, caps))
        return FB_HOST_OK;
    memset(caps, 0, sizeof *caps);
    rc = forget_probe(c, st0);
    return rc ? rc : FB_HOST_ENOTSUP;
}

int fb_protocol(fb_client_t *c, fb_proto_t *proto)
{
    if (!c || !c->t || !proto)
        return FB_HOST_EINVAL;
    if (c->proto == FB_PROTO_AUTO) {
        int rc = fb_caps(c, &c->caps);
        if (rc == FB_HOST_OK)
            c->proto = FB_PROTO_EXT;
        else if (rc == FB_HOST_ENOTSUP)
            c->proto = FB_PROTO_V1;
        else
            return rc; /* not known yet: ask again next time */
    }
    *proto = c->proto;
    return FB_HOST_OK;
}

int fb_stream_state(fb_client_t *c, uint8_t *seq, uint16_t *crc_errors, uint32_t *size)
{
    uint8_t b[FB_STREAM_STATE_LEN];
    int rc = fbi_reg_read(c, FB_CMD_STREAM_STATE, b, sizeof b);
    if (rc)
        return rc;
    if (seq)
        *seq = b[0];
    if (crc_errors)
        *crc_errors = (uint16_t)(b[1] << 8 | b[2]);
    if (size)
        *size = (uint32_t)b[3] << 24 | (uint32_t)b[4] << 16 | (uint32_t)b[5] << 8 | b[6];
    return FB_HOST_OK;
}

static size_t payload(const fb_client_t *c)
{
    size_t p = c->caps.max_payload;
    return p > FB_EXT_PAYLOAD_MAX ? FB_EXT_PAYLOAD_MAX : p;
}

/* Errors that lose a frame but not the stream: sending again from the target's last
 * accepted frame repairs them. */
static bool recoverable(uint8_t bits)
{
    const uint8_t fixable = FB_ERR_STREAM | FB_ERR_QUEUE_FULL;
    return (bits & fixable) && !(bits & ~(fixable | FB_ERR_FAILED));
}

static bool bus_error(int rc)
{
    return rc == FB_HOST_ENACK || rc == FB_HOST_EIO;
}

/* One write transaction; after a bus error the same bytes again, c->retries times. */
static int send_retrying(fb_client_t *c, const uint8_t *frame, size_t len)
{
    for (unsigned attempt = 0;; attempt++) {
        int rc = fbi_xfer(c, frame, len, NULL, 0);
        if (!bus_error(rc) || attempt >= c->retries)
            return rc;
        c->stats.bus_retries++;
    }
}

/*
 * The APPEND_CRC stream, shared by fb_file_append (one call) and fb_log (many): a window
 * of the frames sent and not yet known executed, in order, oldest first; window[0..nsent)
 * are on their way, window[nsent..count) wait for credits (after a go-back-N, or when
 * added without credits). Frame i of the window carries seq - count + i.
 */
_Static_assert(FB_LOG_FRAME == FB_EXT_PAYLOAD_MAX, "a window slot holds a whole frame");
#define REFUSED 1 /* internal: the target refused a frame, go back */
/* Queue slots the window can account for: one less than it holds, so a status read with
 * ERROR clear always lets a frame leave a full window. */
#define DEPTH_MAX (FB_LOG_WINDOW - 1u)

static unsigned win_slot(const fb_appender_t *a, unsigned i)
{
    return (a->head + i) % FB_LOG_WINDOW;
}

static uint32_t win_bytes(const fb_appender_t *a, unsigned from, unsigned to)
{
    uint32_t b = 0;
    for (unsigned i = from; i < to; i++)
        b += a->win[win_slot(a, i)].len;
    return b;
}

/* The k oldest frames are stored. */
static void win_drop(fb_appender_t *a, unsigned k)
{
    a->head = win_slot(a, k);
    a->count -= k;
    a->nsent -= k;
    if (k)
        a->resyncs = 0; /* progress */
}

int fbi_append_start(fb_appender_t *a, fb_client_t *c)
{
    memset(a, 0, offsetof(fb_appender_t, win));
    a->c = c;
    a->payload = payload(c);
    a->budget = fb_timeout_us(FB_CMD_APPEND_CRC, 0);
    uint8_t last;
    int rc = fb_stream_state(c, &last, NULL, &a->size);
    if (rc)
        return rc;
    a->seq = (uint8_t)(last + 1u);
    a->since = fbi_now_us(c);
    return FB_HOST_OK;
}

/* Window frame i on the bus. Protocol 2.0 frame: the data length (n - 1) is covered by
 * the CRC, so a frame that gains or loses bytes on the bus is refused, not stored. */
static int send_window_frame(fb_appender_t *a, unsigned i)
{
    const unsigned s = win_slot(a, i);
    const size_t n = a->win[s].len;
    uint8_t frame[FB_EXT_FRAME_MAX];
    frame[0] = FB_CMD_APPEND_CRC;
    frame[1] = (uint8_t)(a->seq - a->count + i);
    frame[2] = (uint8_t)(n - 1u);
    memcpy(&frame[3], a->win[s].data, n);
    put_crc(frame, 3 + n);
    return send_retrying(a->c, frame, n + FB_APPEND_CRC_OVERHEAD);
}

/* The target refused a frame: let its queue drain, then go on after the last frame it
 * accepted. The file size must be what the frames it holds add up to, or something
 * else wrote to the file (or the target lost its state): EPROTO, with the bytes it
 * lacks in missing. */
static int resync(fb_appender_t *a)
{
    fb_client_t *c = a->c;
    if (++a->resyncs > RESYNC_MAX)
        return FB_HOST_EDEVICE; /* last_error says what kept failing */
    int rc = fbi_wait_idle_status(c, a->budget * 2u, NULL);
    if (rc && !(rc == FB_HOST_EDEVICE && recoverable(c->last_error)))
        return rc;
    uint8_t last;
    uint32_t size;
    rc = fb_stream_state(c, &last, NULL, &size);
    if (rc)
        return rc;
    /* Frames of the window the target holds (frame 0 carries seq - count). */
    unsigned held = (uint8_t)(last - (uint8_t)(a->seq - a->count) + 1u);
    uint32_t base = a->size - win_bytes(a, 0, a->count);
    if (held > a->nsent || size != base + win_bytes(a, 0, held)) {
        a->missing = size < a->size ? a->size - size : 0;
        return FB_HOST_EPROTO;
    }
    win_drop(a, held); /* frames stored: progress, the refusal count starts again */
    a->nsent = 0; /* the rest goes again */
    a->credits = 0;
    a->since = fbi_now_us(c);
    c->stats.resyncs++;
    return FB_HOST_OK;
}

/* Commands in a queue of depth slots that shows free ones (a depth beyond what the
 * window accounts for counts as DEPTH_MAX). */
static unsigned queued_frames(unsigned depth, unsigned free)
{
    if (depth > DEPTH_MAX)
        depth = DEPTH_MAX;
    return depth > free ? depth - free : 0;
}

/* One status read: the frames it shows executed leave the window, its free slots
 * become credits. REFUSED when it shows a refusal to repair. */
static int read_credits(fb_appender_t *a)
{
    fb_client_t *c = a->c;
    uint8_t st;
    int rc = fb_status(c, &st);
    if (rc)
        return rc;
    if (st & FB_STATUS_ERROR) {
        rc = fbi_collect_error(c);
        if (rc == FB_HOST_OK && a->nsent > 0)
            return REFUSED; /* someone else read the bits: STREAM_STATE will tell */
        if (rc == FB_HOST_EDEVICE && recoverable(c->last_error))
            return REFUSED;
        if (rc)
            return rc; /* file full, flash failure: nothing to retry */
    }
    unsigned free = st & FB_STATUS_QUEUE_MASK;
    unsigned queued = queued_frames(c->caps.queue_depth, free);
    /* With ERROR clear, every frame older than the last `queued` ones we sent has run
     * and was accepted (a duplicate after a lost acknowledgement only keeps more). */
    if (a->nsent > queued)
        win_drop(a, a->nsent - queued);
    a->credits = free;
    if (free)
        a->since = fbi_now_us(c);
    return FB_HOST_OK;
}

/* Status read, repair or wait, once: called when the window needs credits or room. */
static int step(fb_appender_t *a)
{
    int rc = read_credits(a);
    if (rc == REFUSED)
        return resync(a);
    if (rc)
        return rc;
    if (a->credits == 0 || a->count == FB_LOG_WINDOW) {
        if (fbi_elapsed_us(a->c, a->since) >= a->budget)
            return FB_HOST_ETIMEOUT;
        return a->c->t->ops->sleep_us(a->c->t, a->c->poll_us);
    }
    return FB_HOST_OK;
}

/* Send every frame of the window not sent yet, as credits allow. */
static int pump(fb_appender_t *a)
{
    while (a->nsent < a->count) {
        if (a->credits == 0) {
            int rc = step(a);
            if (rc)
                return rc;
            continue;
        }
        int rc = send_window_frame(a, a->nsent);
        if (rc)
            return rc;
        a->nsent++;
        a->credits--;
    }
    return FB_HOST_OK;
}

int fbi_append_put(fb_appender_t *a, const uint8_t *data, size_t n)
{
    if (n == 0 || n > a->payload)
        return FB_HOST_EINVAL;
    while (a->count == FB_LOG_WINDOW) {
        int rc = a->nsent < a->count ? pump(a) : step(a);
        if (rc)
            return rc;
    }
    unsigned s = win_slot(a, a->count);
    memcpy(a->win[s].data, data, n);
    a->win[s].len = (uint16_t)n;
    a->count++;
    a->seq++;
    a->size += (uint32_t)n;
    return pump(a);
}

int fbi_append_finish(fb_appender_t *a)
{
    fb_client_t *c = a->c;
    for (;;) {
        int rc = pump(a);
        if (rc)
            return rc;
        /* All out: wait for the target to store them, then check it holds them all. */
        uint8_t st = 0;
        rc = fbi_wait_idle_status(c, a->budget * 2u, &st);
        if (rc == FB_HOST_OK) {
            uint8_t last;
            uint32_t size;
            rc = fb_stream_state(c, &last, NULL, &size);
            if (rc)
                return rc;
            if (last == (uint8_t)(a->seq - 1u) && size == a->size) {
                win_drop(a, a->count);
                a->credits = st & FB_STATUS_QUEUE_MASK; /* idle: every slot */
                a->since = fbi_now_us(c);
                return FB_HOST_OK;
            }
        } else if (!(rc == FB_HOST_EDEVICE && recoverable(c->last_error))) {
            return rc;
        }
        rc = resync(a);
        if (rc)
            return rc;
    }
}

int fbi_ext_append(fb_client_t *c, const uint8_t *buf, size_t len)
{
    fb_appender_t a;
    int rc = fbi_append_start(&a, c);
    for (size_t at = 0; rc == FB_HOST_OK && at < len;) {
        size_t n = len - at < a.payload ? len - at : a.payload;
        rc = fbi_append_put(&a, buf + at, n);
        at += n;
        if (a.credits == 0 || at == len)
            fbi_progress(c, at, len);
    }
    return rc ? rc : fbi_append_finish(&a);
}

/* Poll STATUS until the first chunk of a stream is ready (or an error shows). */
static int wait_ready(fb_client_t *c)
{
    uint64_t start = fbi_now_us(c);
    for (;;) {
        uint8_t st;
        int rc = fb_status(c, &st);
        if (rc)
            return rc;
        if (st & FB_STATUS_ERROR)
            return fbi_collect_error(c);
        if (st & FB_STATUS_READY)
            return FB_HOST_OK;
        if (fbi_elapsed_us(c, start) >= fb_timeout_us(FB_CMD_STREAM_READ, 0))
            return FB_HOST_ETIMEOUT;
        rc = c->t->ops->sleep_us(c->t, c->poll_us);
        if (rc)
            return rc;
    }
}

/* Ask for len bytes at offset as a stream. */
static int request_stream(fb_client_t *c, uint32_t offset, uint32_t len)
{
    uint8_t f[1 + FB_LEN_STREAM_READ];
    f[0] = FB_CMD_STREAM_READ;
    put32(&f[1], offset);
    put32(&f[5], len);
    put_crc(f, 9);
    int rc = send_retrying(c, f, sizeof f);
    return rc ? rc : wait_ready(c);
}

int fbi_ext_read(fb_client_t *c, uint32_t offset, uint8_t *buf, size_t len)
{
    const size_t p = payload(c);
    size_t done = 0;
    unsigned restarts = 0;
    uint8_t chunk[FB_CHUNK_MAX];
    while (done < len) {
        bool restart = false;
        int rc = request_stream(c, offset + (uint32_t)done, (uint32_t)(len - done));
        if (rc == FB_HOST_EDEVICE && !recoverable(c->last_error))
            return rc; /* a refused request (bad range, flash failure) */
        restart = rc != FB_HOST_OK;
        for (uint8_t k = 0; !restart && done < len;) {
            size_t n = len - done < p ? len - done : p;
            rc = fbi_xfer(c, NULL, 0, chunk, n + FB_CHUNK_OVERHEAD);
            if (rc) {
                restart = true; /* we cannot tell whether the target saw it all */
            } else if (chunk[0] == 0xFF && chunk[1] == 0xFF) {
                /* Not prepared yet (the line idles high): nothing was consumed. */
                c->stats.not_ready++;
                rc = wait_ready(c);
                if (rc == FB_HOST_EDEVICE && !recoverable(c->last_error))
                    return rc;
                restart = rc != FB_HOST_OK;
            } else if (chunk[0] != FB_CHUNK_TAG || chunk[1] != k ||
                       !crc_ok(chunk, n + FB_CHUNK_OVERHEAD)) {
                restart = true;
            } else {
                memcpy(buf + done, &chunk[2], n);
                done += n;
                k++;
                fbi_progress(c, done, len);
            }
        }
        if (restart) {
            if (++restarts > RESTART_MAX)
                return rc ? rc : FB_HOST_EPROTO;
            c->stats.read_restarts++;
        }
    }
    return FB_HOST_OK;
}
