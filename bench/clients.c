/*
 * The two clients the benchmark compares.
 *
 * v1: what the STeaMi MicroPython driver (DaplinkBridge/DaplinkFlash) does on the bus,
 * transfer for transfer: before every command it polls STATUS every 5 ms until BUSY
 * clears; appends go as 32-byte WRITE_DATA frames of 30 bytes; READ_SECTOR is followed
 * by a fixed 200 ms sleep, then a plain read of 256 bytes; WRITE_CONFIG frames by a
 * 50 ms sleep, CLEAR_CONFIG by 100 ms; ERROR is read at the end of a write.
 *
 * ext: the host library (host/lib) as it is, on a target that reports the streaming
 * extension; config writes and clears are the same v1 commands for both.
 */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "flashbridge/protocol.h"

#define V1_POLL_US 5000u
#define V1_SECTOR_SLEEP_US 200000u
#define V1_CONFIG_SLEEP_US 50000u
#define V1_CLEAR_CONFIG_SLEEP_US 100000u
#define V1_BUSY_TIMEOUT_US 30000000u /* _wait_busy(timeout_ms=30000) */

static int v1_xfer(bench_ctx_t *x, const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    return x->t->ops->xfer(x->t, FB_I2C_ADDR, w, wlen, r, rlen);
}

static int v1_sleep(bench_ctx_t *x, uint64_t us)
{
    return x->t->ops->sleep_us(x->t, us);
}

static int v1_reg(bench_ctx_t *x, uint8_t reg, uint8_t *v)
{
    return v1_xfer(x, &reg, 1, v, 1);
}

/* _wait_busy(): STATUS, and while BUSY sleep 5 ms and ask again. */
static int v1_wait_busy(bench_ctx_t *x)
{
    uint64_t start = x->t->ops->now_us(x->t);
    for (;;) {
        uint8_t st;
        int rc = v1_reg(x, FB_CMD_STATUS, &st);
        if (rc)
            return rc;
        if (!(st & FB_STATUS_BUSY))
            return FB_HOST_OK;
        if (x->t->ops->now_us(x->t) - start > V1_BUSY_TIMEOUT_US)
            return FB_HOST_ETIMEOUT;
        rc = v1_sleep(x, V1_POLL_US);
        if (rc)
            return rc;
    }
}

/* End of a write: idle, then ERROR. */
static int v1_finish(bench_ctx_t *x)
{
    int rc = v1_wait_busy(x);
    if (rc)
        return rc;
    uint8_t e;
    rc = v1_reg(x, FB_CMD_ERROR, &e);
    if (rc)
        return rc;
    return e ? FB_HOST_EDEVICE : FB_HOST_OK;
}

static int v1_open(bench_ctx_t *x)
{
    uint8_t id;
    int rc = v1_reg(x, FB_CMD_WHO_AM_I, &id);
    return rc ? rc : id == FB_WHO_AM_I_VALUE ? FB_HOST_OK : FB_HOST_EPROTO;
}

static int v1_append(bench_ctx_t *x, const uint8_t *buf, size_t len)
{
    for (size_t pos = 0; pos < len; pos += FB_WRITE_DATA_MAX) {
        size_t n = len - pos < FB_WRITE_DATA_MAX ? len - pos : FB_WRITE_DATA_MAX;
        uint8_t f[FB_FRAME_MAX] = {FB_CMD_WRITE_DATA, (uint8_t)n};
        memcpy(&f[2], buf + pos, n);
        int rc = v1_wait_busy(x);
        if (!rc)
            rc = v1_xfer(x, f, sizeof f, NULL, 0);
        if (rc)
            return rc;
    }
    return v1_finish(x);
}

static int v1_read(bench_ctx_t *x, uint8_t *buf, size_t len)
{
    for (size_t pos = 0; pos < len; pos += FB_SECTOR_SIZE) {
        uint16_t idx = (uint16_t)(pos / FB_SECTOR_SIZE);
        uint8_t sector[FB_RESPONSE_LEN];
        int rc = v1_wait_busy(x);
        if (!rc) {
            uint8_t f[3] = {FB_CMD_READ_SECTOR, (uint8_t)(idx >> 8), (uint8_t)idx};
            rc = v1_xfer(x, f, sizeof f, NULL, 0);
        }
        if (!rc)
            rc = v1_sleep(x, V1_SECTOR_SLEEP_US);
        if (!rc)
            rc = v1_xfer(x, NULL, 0, sector, sizeof sector);
        if (rc)
            return rc;
        size_t n = len - pos < FB_SECTOR_SIZE ? len - pos : FB_SECTOR_SIZE;
        memcpy(buf + pos, sector, n);
    }
    return FB_HOST_OK;
}

static int v1_config_write(bench_ctx_t *x, uint16_t offset, const uint8_t *buf, size_t len)
{
    for (size_t pos = 0; pos < len; pos += FB_WRITE_CONFIG_MAX) {
        size_t n = len - pos < FB_WRITE_CONFIG_MAX ? len - pos : FB_WRITE_CONFIG_MAX;
        uint16_t off = (uint16_t)(offset + pos);
        uint8_t f[FB_FRAME_MAX] = {FB_CMD_WRITE_CONFIG, (uint8_t)(off >> 8), (uint8_t)off,
                                   (uint8_t)n};
        memcpy(&f[4], buf + pos, n);
        int rc = v1_wait_busy(x);
        if (!rc)
            rc = v1_xfer(x, f, sizeof f, NULL, 0);
        if (!rc)
            rc = v1_sleep(x, V1_CONFIG_SLEEP_US);
        if (rc)
            return rc;
    }
    return v1_finish(x);
}

static int v1_clear_config(bench_ctx_t *x)
{
    uint8_t cmd = FB_CMD_CLEAR_CONFIG;
    int rc = v1_wait_busy(x);
    if (!rc)
        rc = v1_xfer(x, &cmd, 1, NULL, 0);
    if (!rc)
        rc = v1_sleep(x, V1_CLEAR_CONFIG_SLEEP_US);
    return rc ? rc : v1_finish(x);
}

static int v1_clear_flash(bench_ctx_t *x)
{
    uint8_t cmd = FB_CMD_CLEAR_FLASH;
    int rc = v1_wait_busy(x);
    if (!rc)
        rc = v1_xfer(x, &cmd, 1, NULL, 0);
    return rc ? rc : v1_finish(x);
}

const bench_client_t bench_client_v1 = {
    .name = "v1",
    .what = "v1 MicroPython driver: 30-byte frames, STATUS every 5 ms, 200 ms before each "
            "sector read",
    .open = v1_open,
    .append = v1_append,
    .read = v1_read,
    .config_write = v1_config_write,
    .clear_config = v1_clear_config,
    .clear_flash = v1_clear_flash,
};

static int ext_open(bench_ctx_t *x)
{
    fb_client_init(&x->c, x->t, FB_I2C_ADDR);
    uint8_t id;
    int rc = fb_who_am_i(&x->c, &id);
    fb_proto_t proto;
    if (!rc)
        rc = fb_protocol(&x->c, &proto);
    if (!rc && proto != FB_PROTO_EXT)
        rc = FB_HOST_ENOTSUP; /* the comparison needs a target with the extension */
    return rc;
}

static int ext_append(bench_ctx_t *x, const uint8_t *buf, size_t len)
{
    return fb_file_append(&x->c, buf, len);
}

static int ext_read(bench_ctx_t *x, uint8_t *buf, size_t len)
{
    return fb_file_read(&x->c, 0, buf, len);
}

static int ext_config_write(bench_ctx_t *x, uint16_t offset, const uint8_t *buf, size_t len)
{
    return fb_config_write(&x->c, offset, buf, len);
}

static int ext_clear_config(bench_ctx_t *x)
{
    return fb_config_clear(&x->c);
}

static int ext_clear_flash(bench_ctx_t *x)
{
    return fb_file_clear(&x->c);
}

const bench_client_t bench_client_ext = {
    .name = "ext",
    .what = "host library, streaming extension: 256-byte CRC frames on queue credits, "
            "streaming reads",
    .open = ext_open,
    .append = ext_append,
    .read = ext_read,
    .config_write = ext_config_write,
    .clear_config = ext_clear_config,
    .clear_flash = ext_clear_flash,
};

/* ---- line by line ---- */

static int log_open(bench_ctx_t *x)
{
    int rc = ext_open(x);
    return rc ? rc : fb_log_open(&x->log, &x->c, NULL);
}

static int log_line(bench_ctx_t *x, const uint8_t *buf, size_t len)
{
    return fb_log_write(&x->log, buf, len);
}

static int log_finish(bench_ctx_t *x)
{
    return fb_log_close(&x->log);
}

const bench_liner_t bench_liner_log = {
    .name = "log",
    .what = "fb_log_write per line (lines coalesced into 256-byte APPEND_CRC frames on queue "
            "credits, default delay_ms), fb_log_close at the end",
    .open = log_open,
    .line = log_line,
    .finish = log_finish,
};

static int append_finish(bench_ctx_t *x)
{
    (void)x; /* each fb_file_append returned with its bytes stored */
    return FB_HOST_OK;
}

const bench_liner_t bench_liner_append = {
    .name = "append",
    .what = "fb_file_append per line (a frame per line, stored before it returns)",
    .open = ext_open,
    .line = ext_append,
    .finish = append_finish,
};

/* The reference: the lines gathered in memory (no bus time), then one large append. */
static int large_line(bench_ctx_t *x, const uint8_t *buf, size_t len)
{
    if (x->bulk_len + len > x->bulk_cap) {
        size_t cap = x->bulk_cap ? x->bulk_cap * 2 : 65536;
        while (cap < x->bulk_len + len)
            cap *= 2;
        uint8_t *p = realloc(x->bulk, cap);
        if (!p)
            return FB_HOST_EINVAL;
        x->bulk = p;
        x->bulk_cap = cap;
    }
    memcpy(x->bulk + x->bulk_len, buf, len);
    x->bulk_len += len;
    return FB_HOST_OK;
}

static int large_finish(bench_ctx_t *x)
{
    int rc = fb_file_append(&x->c, x->bulk, x->bulk_len);
    free(x->bulk);
    x->bulk = NULL;
    x->bulk_len = x->bulk_cap = 0;
    return rc;
}

const bench_liner_t bench_liner_large = {
    .name = "large",
    .what = "reference: the same bytes in one fb_file_append (a large write)",
    .open = ext_open,
    .line = large_line,
    .finish = large_finish,
};
