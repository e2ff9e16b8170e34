/*
 * flashbridge client: turns the calls of flashbridge.h into bus transactions.
 *
 * Shape of every operation (see docs/PROTOCOL.md for the target's side):
 *   - registers are one write+read transaction (repeated start), served at once;
 *   - commands are one write transaction of an exact length; the target queues them
 *     (FB_QUEUE_DEPTH slots) and reports BUSY until the queue has drained;
 *   - we never sleep a fixed time: we poll STATUS every poll_us, bounded by the
 *     datasheet-derived budget of fb_timeout_us();
 *   - streams of frames (appends, config writes) use the STATUS free-slot nibble as
 *     credits, so the queue never overflows and the bus is not wasted on polls;
 *   - file appends and reads go to client_stream.c when the target has the streaming
 *     extension (fb_protocol()).
 */
#include <string.h>

#include "client_internal.h"
#include "flashbridge.h"
#include "flashbridge/protocol.h"

#define DEFAULT_POLL_US 500u
#define DEFAULT_RETRIES 3u

void fb_client_init(fb_client_t *c, fb_transport_t *t, uint8_t addr7)
{
    memset(c, 0, sizeof *c);
    c->t = t;
    c->addr = addr7;
    c->poll_us = DEFAULT_POLL_US;
    c->retries = DEFAULT_RETRIES;
}

int fbi_xfer(fb_client_t *c, const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    if (!c || !c->t)
        return FB_HOST_EINVAL;
    return c->t->ops->xfer(c->t, c->addr, w, wlen, r, rlen);
}

int fbi_reg_read(fb_client_t *c, uint8_t reg, uint8_t *buf, size_t n)
{
    return fbi_xfer(c, &reg, 1, buf, n);
}

static int send_frame(fb_client_t *c, const uint8_t *frame, size_t len)
{
    return fbi_xfer(c, frame, len, NULL, 0);
}

uint64_t fbi_now_us(fb_client_t *c)
{
    return c->t->ops->now_us(c->t);
}

/* Elapsed time that tolerates a clock that steps back (never negative). */
uint64_t fbi_elapsed_us(fb_client_t *c, uint64_t since)
{
    uint64_t now = fbi_now_us(c);
    return now > since ? now - since : 0;
}

void fbi_progress(fb_client_t *c, uint64_t done, uint64_t total)
{
    if (c->progress)
        c->progress(c->progress_ctx, done, total);
}

int fb_who_am_i(fb_client_t *c, uint8_t *id)
{
    uint8_t v = 0;
    int rc = fbi_reg_read(c, FB_CMD_WHO_AM_I, &v, 1);
    if (rc)
        return rc;
    if (id)
        *id = v;
    /* Anything else at our address is not a flashbridge: stop before sending it
     * commands that could mean something else to that device. */
    return v == FB_WHO_AM_I_VALUE ? FB_HOST_OK : FB_HOST_EPROTO;
}

int fb_v1_status(fb_client_t *c, uint8_t *status)
{
    if (!status)
        return FB_HOST_EINVAL;
    return fbi_reg_read(c, FB_CMD_STATUS, status, 1);
}

int fb_v1_error(fb_client_t *c, uint8_t *bits)
{
    if (!bits)
        return FB_HOST_EINVAL;
    return fbi_reg_read(c, FB_CMD_ERROR, bits, 1);
}

int fb_status(fb_client_t *c, uint8_t *status)
{
    if (!c || !status)
        return FB_HOST_EINVAL;
    if (c->regs == FB_REGS_EXT)
        return fbi_reg_read(c, FB_CMD_EXT_STATUS, status, 1);
    int rc = fbi_reg_read(c, FB_CMD_STATUS, status, 1);
    if (rc || c->regs != FB_REGS_UNKNOWN)
        return rc;
    if (*status & FB_STATUS_QUEUE_MASK) {
        c->regs = FB_REGS_V1; /* flashbridge 1.x: the extension bits are in STATUS */
    } else if (*status == 0 && c->proto != FB_PROTO_V1) {
        /* Idle with no extension bit: protocol 2.0 (EXT_STATUS has them) or v1. A busy
         * 0x80 could be a 1.x target with a full queue: decide when it is idle. */
        fb_proto_t p;
        rc = fb_protocol(c, &p);
        if (rc)
            return rc;
        c->regs = p == FB_PROTO_EXT ? FB_REGS_EXT : FB_REGS_V1;
        if (c->regs == FB_REGS_EXT)
            return fbi_reg_read(c, FB_CMD_EXT_STATUS, status, 1);
    }
    return FB_HOST_OK;
}

static int read_errors(fb_client_t *c, uint8_t *bits)
{
    return fbi_reg_read(c, c->regs == FB_REGS_EXT ? FB_CMD_ERRORS : FB_CMD_ERROR, bits, 1);
}

int fb_error(fb_client_t *c, uint8_t *bits)
{
    if (!c || !bits)
        return FB_HOST_EINVAL;
    int rc = fbi_log_sync(c); /* the log's failures are the log's to report */
    return rc ? rc : read_errors(c, bits);
}

int fb_file_size(fb_client_t *c, uint32_t *size)
{
    uint8_t b[4];
    if (!size)
        return FB_HOST_EINVAL;
    int rc = fbi_reg_read(c, FB_CMD_FILE_SIZE, b, sizeof b);
    if (rc)
        return rc;
    uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
    /* A size the file cannot have means the register is not what we think it is
     * (e.g. a v1 target, which does not know FILE_SIZE). */
    if (v > FB_FILE_CAPACITY)
        return FB_HOST_EPROTO;
    *size = v;
    return FB_HOST_OK;
}

/* Read ERROR (clearing it) after STATUS showed its flag: EDEVICE with the bits kept in
 * last_error, or OK if it was already clear. */
int fbi_collect_error(fb_client_t *c)
{
    uint8_t bits = 0;
    int rc = read_errors(c, &bits);
    if (rc)
        return rc;
    if (!bits)
        return FB_HOST_OK;
    c->last_error = bits;
    return FB_HOST_EDEVICE;
}

/* fb_wait_idle that also hands back the last STATUS read (the one with BUSY clear). */
int fbi_wait_idle_status(fb_client_t *c, uint64_t timeout_us, uint8_t *last)
{
    if (!c || !c->t)
        return FB_HOST_EINVAL;
    uint64_t start = fbi_now_us(c);
    uint8_t st;
    for (;;) {
        int rc = fb_status(c, &st);
        if (rc)
            return rc;
        if (!(st & FB_STATUS_BUSY))
            break;
        if (fbi_elapsed_us(c, start) >= timeout_us)
            return FB_HOST_ETIMEOUT;
        rc = c->t->ops->sleep_us(c->t, c->poll_us);
        if (rc)
            return rc;
    }
    if (last)
        *last = st;
    /* A STATUS without extension bits (v1, or protocol 2.0 with v1 forced) has no ERROR
     * flag: read ERROR after the command, as v1 hosts do. */
    if ((st & FB_STATUS_ERROR) || !(st & FB_STATUS_QUEUE_MASK))
        return fbi_collect_error(c);
    return FB_HOST_OK;
}

int fb_wait_idle(fb_client_t *c, uint64_t timeout_us)
{
    if (!c || !c->t)
        return FB_HOST_EINVAL;
    int rc = fbi_log_sync(c);
    return rc ? rc : fbi_wait_idle_status(c, timeout_us, NULL);
}

/* A single command frame, then wait for the queue to drain. */
static int command(fb_client_t *c, const uint8_t *frame, size_t len)
{
    int rc = fbi_log_sync(c);
    if (rc)
        return rc;
    rc = send_frame(c, frame, len);
    if (rc)
        return rc;
    return fbi_wait_idle_status(c, fb_timeout_us(frame[0], 0), NULL);
}

/* READ_SECTOR / READ_CONFIG: send the request, wait for it to run, then take the
 * prepared response with a plain read (no command byte). */
static int prepared_read(fb_client_t *c, uint8_t cmd, uint16_t arg, uint8_t out[FB_RESPONSE_LEN])
{
    uint8_t frame[3] = {cmd, (uint8_t)(arg >> 8), (uint8_t)arg};
    int rc = send_frame(c, frame, sizeof frame);
    if (rc)
        return rc;
    uint8_t st = 0;
    rc = fbi_wait_idle_status(c, fb_timeout_us(cmd, 0), &st);
    if (rc)
        return rc;
    /* Without READY the plain read would return whatever the target has (0xFF or an
     * older response) and we would hand it back as data. A STATUS without extension
     * bits has no READY: there, BUSY clear means the response is prepared (v1). */
    if ((st & FB_STATUS_QUEUE_MASK) && !(st & FB_STATUS_READY))
        return FB_HOST_EPROTO;
    return fbi_xfer(c, NULL, 0, out, FB_RESPONSE_LEN);
}

/*
 * Stream of fixed-size frames with credit flow control: one STATUS read tells how many
 * queue slots are free; that many frames go out back to back without polling; then
 * STATUS again. So a frame never arrives at a full queue (which would drop it), and
 * the bus carries frames rather than polls while the target keeps up.
 */
typedef size_t (*frame_builder)(const void *ctx, size_t pos, uint8_t frame[FB_FRAME_MAX]);

static int stream_frames(fb_client_t *c, uint8_t cmd, size_t total, frame_builder build,
                         const void *ctx)
{
    uint64_t budget = fb_timeout_us(cmd, 0);
    uint64_t since = fbi_now_us(c);
    size_t done = 0;
    while (done < total) {
        uint8_t st;
        int rc = fb_status(c, &st);
        if (rc)
            return rc;
        /* Stop at the first reported failure (file full, flash error): the frames
         * after it would fail too, or append after a hole. */
        if (st & FB_STATUS_ERROR) {
            rc = fbi_collect_error(c);
            if (rc)
                return rc;
        }
        unsigned credits = st & FB_STATUS_QUEUE_MASK;
        /* An idle target has room for at least one command; a v1 target reports no
         * slots at all, so this keeps it working one frame at a time. */
        if (credits == 0 && !(st & FB_STATUS_BUSY))
            credits = 1;
        if (credits == 0) {
            if (fbi_elapsed_us(c, since) >= budget)
                return FB_HOST_ETIMEOUT;
            rc = c->t->ops->sleep_us(c->t, c->poll_us);
            if (rc)
                return rc;
            continue;
        }
        for (; credits > 0 && done < total; credits--) {
            uint8_t frame[FB_FRAME_MAX];
            size_t n = build(ctx, done, frame);
            rc = send_frame(c, frame, FB_FRAME_MAX);
            if (rc)
                return rc;
            done += n;
        }
        since = fbi_now_us(c);
        fbi_progress(c, done, total);
    }
    return fbi_wait_idle_status(c, budget, NULL);
}

struct append_ctx {
    const uint8_t *buf;
    size_t len;
};

static size_t build_write_data(const void *vctx, size_t pos, uint8_t frame[FB_FRAME_MAX])
{
    const struct append_ctx *a = vctx;
    size_t n = a->len - pos < FB_WRITE_DATA_MAX ? a->len - pos : FB_WRITE_DATA_MAX;
    memset(frame, 0, FB_FRAME_MAX);
    frame[0] = FB_CMD_WRITE_DATA;
    frame[1] = (uint8_t)n;
    memcpy(frame + 2, a->buf + pos, n);
    return n;
}

/* CAPS version 1 framed APPEND_CRC without its length (trailing bytes passed the
 * check): such a target gets v1 frames. */
bool fbi_use_append_crc(const fb_client_t *c)
{
    return c->proto == FB_PROTO_EXT && (c->caps.features & FB_FEAT_APPEND_CRC) &&
           c->caps.version >= FB_EXT_VERSION;
}

int fbi_v1_append(fb_client_t *c, const uint8_t *buf, size_t len)
{
    struct append_ctx a = {buf, len};
    return stream_frames(c, FB_CMD_WRITE_DATA, len, build_write_data, &a);
}

int fb_file_append(fb_client_t *c, const uint8_t *buf, size_t len)
{
    if (!c || !c->t || (!buf && len))
        return FB_HOST_EINVAL;
    if (len == 0)
        return FB_HOST_OK;
    fb_proto_t proto;
    int rc = fbi_log_sync(c);
    if (!rc)
        rc = fb_protocol(c, &proto);
    if (rc)
        return rc;
    if (fbi_use_append_crc(c))
        return fbi_ext_append(c, buf, len);
    return fbi_v1_append(c, buf, len);
}

struct config_ctx {
    uint16_t offset;
    const uint8_t *buf;
    size_t len;
};

static size_t build_write_config(const void *vctx, size_t pos, uint8_t frame[FB_FRAME_MAX])
{
    const struct config_ctx *cc = vctx;
    size_t n = cc->len - pos < FB_WRITE_CONFIG_MAX ? cc->len - pos : FB_WRITE_CONFIG_MAX;
    size_t off = cc->offset + pos;
    memset(frame, 0, FB_FRAME_MAX);
    frame[0] = FB_CMD_WRITE_CONFIG;
    frame[1] = (uint8_t)(off >> 8);
    frame[2] = (uint8_t)off;
    frame[3] = (uint8_t)n;
    memcpy(frame + 4, cc->buf + pos, n);
    return n;
}

int fb_config_write(fb_client_t *c, uint16_t offset, const uint8_t *buf, size_t len)
{
    if (!c || !c->t || (!buf && len) || (size_t)offset + len > FB_CONFIG_SIZE)
        return FB_HOST_EINVAL;
    if (len == 0)
        return FB_HOST_OK;
    int rc = fbi_log_sync(c);
    if (rc)
        return rc;
    struct config_ctx cc = {offset, buf, len};
    return stream_frames(c, FB_CMD_WRITE_CONFIG, len, build_write_config, &cc);
}

int fb_config_read(fb_client_t *c, uint16_t offset, uint8_t *buf, size_t len)
{
    if (!c || !c->t || (!buf && len) || (size_t)offset + len > FB_CONFIG_SIZE)
        return FB_HOST_EINVAL;
    int rc = fbi_log_sync(c);
    if (rc)
        return rc;
    /* The target answers 256 bytes from any offset, so the pieces start exactly where
     * we need them and only the last one is cut. */
    size_t done = 0;
    while (done < len) {
        uint8_t piece[FB_RESPONSE_LEN];
        rc = prepared_read(c, FB_CMD_READ_CONFIG, (uint16_t)(offset + done), piece);
        if (rc)
            return rc;
        size_t n = len - done < FB_RESPONSE_LEN ? len - done : FB_RESPONSE_LEN;
        memcpy(buf + done, piece, n);
        done += n;
    }
    return FB_HOST_OK;
}

int fb_config_clear(fb_client_t *c)
{
    const uint8_t frame[1] = {FB_CMD_CLEAR_CONFIG};
    return command(c, frame, sizeof frame);
}

int fb_file_set_name(fb_client_t *c, const char name11[11])
{
    if (!c || !name11)
        return FB_HOST_EINVAL;
    uint8_t frame[1 + FB_FILENAME_LEN];
    frame[0] = FB_CMD_SET_FILENAME;
    memcpy(frame + 1, name11, FB_FILENAME_LEN);
    return command(c, frame, sizeof frame);
}

int fb_file_get_name(fb_client_t *c, char name11[11])
{
    if (!name11)
        return FB_HOST_EINVAL;
    return fbi_reg_read(c, FB_CMD_GET_FILENAME, (uint8_t *)name11, FB_FILENAME_LEN);
}

int fb_file_clear(fb_client_t *c)
{
    const uint8_t frame[1] = {FB_CMD_CLEAR_FLASH};
    return command(c, frame, sizeof frame);
}

int fb_file_read_sector(fb_client_t *c, uint16_t index, uint8_t out[256])
{
    if (!c || !out || index > FB_SECTOR_INDEX_MAX)
        return FB_HOST_EINVAL;
    int rc = fbi_log_sync(c);
    return rc ? rc : prepared_read(c, FB_CMD_READ_SECTOR, index, out);
}

int fb_file_read(fb_client_t *c, uint32_t offset, uint8_t *buf, size_t len)
{
    if (!c || !c->t || (!buf && len))
        return FB_HOST_EINVAL;
    if (len == 0)
        return FB_HOST_OK;
    uint64_t end = (uint64_t)offset + len;
    if ((end - 1) / FB_SECTOR_SIZE > FB_SECTOR_INDEX_MAX)
        return FB_HOST_EINVAL;
    fb_proto_t proto;
    int rc = fbi_log_sync(c);
    if (!rc)
        rc = fb_protocol(c, &proto);
    if (rc)
        return rc;
    /* The extension serves the file's capacity; the last sectors v1 can name (the
     * metadata area, read as 0xFF) stay with READ_SECTOR. */
    if (proto == FB_PROTO_EXT && (c->caps.features & FB_FEAT_STREAM_READ) &&
        end <= FB_FILE_CAPACITY)
        return fbi_ext_read(c, offset, buf, len);
    size_t done = 0;
    while (done < len) {
        uint64_t pos = (uint64_t)offset + done;
        uint8_t sector[FB_SECTOR_SIZE];
        rc = prepared_read(c, FB_CMD_READ_SECTOR, (uint16_t)(pos / FB_SECTOR_SIZE), sector);
        if (rc)
            return rc;
        size_t at = (size_t)(pos % FB_SECTOR_SIZE);
        size_t n = FB_SECTOR_SIZE - at;
        if (n > len - done)
            n = len - done;
        memcpy(buf + done, sector + at, n);
        done += n;
        fbi_progress(c, done, len);
    }
    return FB_HOST_OK;
}
