/*
 * flashbridge client, streaming extension (docs/PROTOCOL.md "Streaming extension").
 *
 * Appends: APPEND_CRC frames of up to 256 bytes, numbered from the target's last
 * accepted sequence number + 1. One STATUS read gives the free queue slots; that many
 * frames go out back to back; then STATUS again. In steady state the bus carries frames
 * and one STATUS read per burst, and the target programs one page while the next frames
 * wait in its queue.
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
#include <string.h>

#include "client_internal.h"
#include "flashbridge.h"
#include "flashbridge/protocol.h"

/* Go-back-N resumptions per append, restarts per read: beyond these the link is too
 * bad to make progress and the caller hears about it. */
#define RESYNC_MAX 16u
#define RESTART_MAX 16u
/* Frames that may be on their way when the target refuses one: the queue, one being
 * sent, retries. A larger gap between what we sent and what it accepted means the
 * target lost its state (rebooted) rather than our frames. */
#define IN_FLIGHT_MAX 32u

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

struct append {
    const uint8_t *buf;
    size_t len;
    size_t p;        /* payload per frame */
    size_t nframes;
    uint8_t seq0;    /* sequence number of frame 0 */
    uint32_t size0;  /* file size before the first frame */
    uint64_t budget; /* longest the target may take to free a slot */
};

static size_t bytes_of_frames(const struct append *a, size_t frames)
{
    size_t b = frames * a->p;
    return b < a->len ? b : a->len;
}

/* The target refused a frame: let its queue drain, then restart after the last frame it
 * accepted. *sent becomes the number of frames it holds. */
static int resync(fb_client_t *c, const struct append *a, size_t *sent)
{
    int rc = fbi_wait_idle_status(c, a->budget * 2u, NULL);
    if (rc && !(rc == FB_HOST_EDEVICE && recoverable(c->last_error)))
        return rc;
    uint8_t last;
    uint32_t size;
    rc = fb_stream_state(c, &last, NULL, &size);
    if (rc)
        return rc;
    uint8_t back = (uint8_t)(a->seq0 + *sent - 1u - last);
    if (back > *sent || back > IN_FLIGHT_MAX)
        return FB_HOST_EPROTO;
    *sent -= back;
    if (size != a->size0 + bytes_of_frames(a, *sent))
        return FB_HOST_EPROTO; /* the file changed under us */
    c->stats.resyncs++;
    return FB_HOST_OK;
}

int fbi_ext_append(fb_client_t *c, const uint8_t *buf, size_t len)
{
    struct append a = {buf, len, payload(c), 0, 0, 0, fb_timeout_us(FB_CMD_APPEND_CRC, 0)};
    a.nframes = (len + a.p - 1) / a.p;
    uint8_t last;
    int rc = fb_stream_state(c, &last, NULL, &a.size0);
    if (rc)
        return rc;
    a.seq0 = (uint8_t)(last + 1u);
    size_t sent = 0;
    unsigned credits = 0, resyncs = 0;
    uint64_t since = fbi_now_us(c);
    uint8_t frame[FB_EXT_FRAME_MAX];
    for (;;) {
        bool refused = false;
        if (sent == a.nframes) {
            /* All out: wait for the target to store them, then check it holds them all. */
            rc = fbi_wait_idle_status(c, a.budget * 2u, NULL);
            if (rc == FB_HOST_OK) {
                uint32_t size;
                rc = fb_stream_state(c, &last, NULL, &size);
                if (rc)
                    return rc;
                if (last == (uint8_t)(a.seq0 + a.nframes - 1u) && size == a.size0 + len)
                    return FB_HOST_OK;
                refused = true;
            } else if (rc == FB_HOST_EDEVICE && recoverable(c->last_error)) {
                refused = true;
            } else {
                return rc;
            }
        } else if (credits == 0) {
            uint8_t st;
            rc = fb_status(c, &st);
            if (rc)
                return rc;
            if (st & FB_STATUS_ERROR) {
                rc = fbi_collect_error(c);
                if (rc == FB_HOST_EDEVICE && recoverable(c->last_error))
                    refused = true;
                else if (rc)
                    return rc; /* file full, flash failure: nothing to retry */
            }
            if (!refused) {
                credits = st & FB_STATUS_QUEUE_MASK;
                if (credits == 0) {
                    if (fbi_elapsed_us(c, since) >= a.budget)
                        return FB_HOST_ETIMEOUT;
                    rc = c->t->ops->sleep_us(c->t, c->poll_us);
                    if (rc)
                        return rc;
                    continue;
                }
                since = fbi_now_us(c);
            }
        }
        if (refused) {
            if (++resyncs > RESYNC_MAX)
                return FB_HOST_EDEVICE; /* last_error says what kept failing */
            rc = resync(c, &a, &sent);
            if (rc)
                return rc;
            credits = 0;
            continue;
        }
        size_t at = sent * a.p;
        size_t n = len - at < a.p ? len - at : a.p;
        /* Protocol 2.0 frame: the data length (n - 1) is covered by the CRC, so a frame
         * that gains or loses bytes on the bus is refused instead of stored. */
        frame[0] = FB_CMD_APPEND_CRC;
        frame[1] = (uint8_t)(a.seq0 + sent);
        frame[2] = (uint8_t)(n - 1u);
        memcpy(&frame[3], buf + at, n);
        put_crc(frame, 3 + n);
        rc = send_retrying(c, frame, n + FB_APPEND_CRC_OVERHEAD);
        if (rc)
            return rc;
        sent++;
        credits--;
        if (credits == 0 || sent == a.nframes)
            fbi_progress(c, bytes_of_frames(&a, sent), len);
    }
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
    int rc = FB_HOST_OK;
    while (done < len) {
        bool restart = false;
        rc = request_stream(c, offset + (uint32_t)done, (uint32_t)(len - done));
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
