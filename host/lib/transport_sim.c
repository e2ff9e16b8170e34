/*
 * Transport to flashbridge-sim over its Unix-domain socket (docs/SIM-PROTOCOL.md).
 *
 * Requests are answered strictly in order, so one request is one write of the frame and
 * one read of the reply. Any framing surprise (wrong op, impossible length, EOF) means
 * the two sides no longer agree on where a message starts: the connection is marked
 * broken and every later call fails with FB_HOST_EIO instead of reading garbage.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fb_transport.h"
#include "flashbridge.h"

#define SIM_PROTOCOL_VERSION 2u

#define OP_TRANSFER 0x01u
#define OP_WAIT 0x02u
#define OP_TIME 0x03u
#define OP_POWER_CYCLE 0x04u
#define OP_SHUTDOWN 0x05u
#define OP_HELLO 0x06u
#define OP_REPLY 0x80u

#define ST_OK 0x00u
#define ST_NACK_ADDR 0x01u
#define ST_NACK_DATA 0x02u

#define XFER_MAX 4096u /* per-direction limit of TRANSFER */
#define REQ_HDR 3u     /* op:u8 len:u16 */
#define REPLY_HDR 4u   /* op:u8 status:u8 len:u16 */
#define XFER_HDR 5u    /* addr7:u8 wlen:u16 rlen:u16 */

typedef struct sim_transport {
    fb_transport_t base;
    int fd;
    bool broken;
    uint32_t bus_hz;
    uint64_t last_ns; /* last virtual time the simulator told us */
    /* Room for the largest request and reply (a 4096-byte TRANSFER either way). */
    uint8_t buf[REPLY_HDR + 2 + XFER_MAX + XFER_HDR];
} sim_transport_t;

static const struct fb_transport_ops sim_ops;

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* Whole buffer out, across short writes and signals. MSG_NOSIGNAL: a simulator that
 * went away must give us EPIPE, not kill the process with SIGPIPE. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Exactly n bytes in, across short reads and signals; EOF is an error here because we
 * only read when the protocol promises bytes. */
static int read_all(int fd, uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0) {
            errno = ECONNRESET;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/*
 * One request/reply exchange. The request payload must already be in s->buf at offset
 * REQ_HDR. On return (0) the reply payload is at s->buf[REPLY_HDR..], its length in
 * *rlen and its status in *status. The reply payload may not exceed max_reply.
 */
static int exchange(sim_transport_t *s, uint8_t op, size_t plen, size_t max_reply,
                    uint8_t *status, size_t *rlen)
{
    if (s->broken)
        return FB_HOST_EIO;
    s->buf[0] = op;
    put_u16(s->buf + 1, (uint16_t)plen);
    if (write_all(s->fd, s->buf, REQ_HDR + plen) != 0)
        goto broken;
    if (read_all(s->fd, s->buf, REPLY_HDR) != 0)
        goto broken;
    size_t n = get_u16(s->buf + 2);
    if (s->buf[0] != (op | OP_REPLY) || n > max_reply ||
        n > sizeof s->buf - REPLY_HDR) {
        errno = EPROTO;
        goto broken;
    }
    *status = s->buf[1];
    if (read_all(s->fd, s->buf + REPLY_HDR, n) != 0)
        goto broken;
    *rlen = n;
    return FB_HOST_OK;
broken:
    s->broken = true;
    return FB_HOST_EIO;
}

static int sim_xfer(fb_transport_t *t, uint8_t addr7, const uint8_t *w, size_t wlen,
                    uint8_t *r, size_t rlen)
{
    sim_transport_t *s = (sim_transport_t *)t;
    if (wlen > XFER_MAX || rlen > XFER_MAX || (wlen && !w) || (rlen && !r))
        return FB_HOST_EIO;
    uint8_t *p = s->buf + REQ_HDR;
    p[0] = addr7;
    put_u16(p + 1, (uint16_t)wlen);
    put_u16(p + 3, (uint16_t)rlen);
    if (wlen)
        memcpy(p + XFER_HDR, w, wlen);
    uint8_t status;
    size_t n;
    int rc = exchange(s, OP_TRANSFER, XFER_HDR + wlen, 2 + rlen, &status, &n);
    if (rc)
        return rc;
    switch (status) {
    case ST_OK:
        /* wacked:u16 then exactly the bytes we asked for. */
        if (n != 2 + rlen)
            return FB_HOST_EIO;
        if (rlen)
            memcpy(r, s->buf + REPLY_HDR + 2, rlen);
        return FB_HOST_OK;
    case ST_NACK_ADDR:
    case ST_NACK_DATA:
        return FB_HOST_ENACK;
    default:
        return FB_HOST_EIO;
    }
}

/* Requests whose reply is now_ns:u64 (WAIT, TIME, POWER_CYCLE). */
static int time_request(sim_transport_t *s, uint8_t op, const uint64_t *arg)
{
    size_t plen = 0;
    if (arg) {
        put_u64(s->buf + REQ_HDR, *arg);
        plen = 8;
    }
    uint8_t status;
    size_t n;
    int rc = exchange(s, op, plen, 8, &status, &n);
    if (rc)
        return rc;
    if (status != ST_OK || n != 8)
        return FB_HOST_EIO;
    s->last_ns = get_u64(s->buf + REPLY_HDR);
    return FB_HOST_OK;
}

static int sim_sleep_us(fb_transport_t *t, uint64_t us)
{
    /* Saturate rather than wrap: a huge sleep stays huge. */
    uint64_t ns = us > UINT64_MAX / 1000u ? UINT64_MAX : us * 1000u;
    return time_request((sim_transport_t *)t, OP_WAIT, &ns);
}

static uint64_t sim_now_us(fb_transport_t *t)
{
    sim_transport_t *s = (sim_transport_t *)t;
    /* On failure the last known time is the best answer the interface allows; the
     * next transfer will report the broken link. */
    (void)time_request(s, OP_TIME, NULL);
    return s->last_ns / 1000u;
}

static void sim_close(fb_transport_t *t)
{
    sim_transport_t *s = (sim_transport_t *)t;
    close(s->fd);
    free(s);
}

static const struct fb_transport_ops sim_ops = {
    .xfer = sim_xfer,
    .sleep_us = sim_sleep_us,
    .now_us = sim_now_us,
    .close = sim_close,
};

fb_transport_t *fb_transport_sim_open(const char *socket_path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (!socket_path) {
        errno = EINVAL;
        return NULL;
    }
    if (strlen(socket_path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return NULL;
    }
    strcpy(sa.sun_path, socket_path);

    sim_transport_t *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    s->base.ops = &sim_ops;
    s->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s->fd < 0) {
        free(s);
        return NULL;
    }
    int rc;
    do
        rc = connect(s->fd, (const struct sockaddr *)&sa, sizeof sa);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        goto fail;

    /* HELLO first: refuse a simulator speaking another version before any transfer. */
    uint8_t status;
    size_t n;
    if (exchange(s, OP_HELLO, 0, 5, &status, &n) != FB_HOST_OK)
        goto fail;
    /* Version 2 only adds the USB operations: a version 1 server serves I2C alike. */
    if (status != ST_OK || n != 5 || s->buf[REPLY_HDR] < 1 ||
        s->buf[REPLY_HDR] > SIM_PROTOCOL_VERSION) {
        errno = EPROTO;
        goto fail;
    }
    s->bus_hz = (uint32_t)s->buf[REPLY_HDR + 1] << 24 | (uint32_t)s->buf[REPLY_HDR + 2] << 16 |
                (uint32_t)s->buf[REPLY_HDR + 3] << 8 | s->buf[REPLY_HDR + 4];
    return &s->base;

fail: {
    int saved = errno;
    close(s->fd);
    free(s);
    errno = saved;
    return NULL;
}
}

int fb_transport_sim_power_cycle(fb_transport_t *t, uint64_t off_ns)
{
    if (!t || t->ops != &sim_ops)
        return FB_HOST_EINVAL;
    return time_request((sim_transport_t *)t, OP_POWER_CYCLE, &off_ns);
}

int fb_transport_sim_shutdown(fb_transport_t *t)
{
    if (!t || t->ops != &sim_ops)
        return FB_HOST_EINVAL;
    sim_transport_t *s = (sim_transport_t *)t;
    uint8_t status;
    size_t n;
    int rc = exchange(s, OP_SHUTDOWN, 0, 0, &status, &n);
    if (rc)
        return rc;
    return status == ST_OK ? FB_HOST_OK : FB_HOST_EIO;
}
