/* Mock flashbridge target; see mock_target.h for what it models and why. */
#include "mock_target.h"

#include <stdlib.h>
#include <string.h>

#include "flashbridge.h"

/* A failure of the command at the head of the queue (or of a frame or register access
 * the target refused as it came). Protocol 2.0 puts it in ERRORS, and in ERROR only
 * while no newer command was posted; the STeaMi v1 firmware ignores unknown commands. */
static void fail(mock_target_t *m, uint8_t bits)
{
    if (m->v1_status && !m->v2 && bits == FB_ERR_UNKNOWN_CMD)
        return;
    bits |= FB_ERR_FAILED;
    m->errors |= bits;
    if (!m->v2 || m->qn <= 1)
        m->error |= bits;
}

/* The status with the extension bits: STATUS on 1.x, EXT_STATUS on 2.0. */
static uint8_t status_value(const mock_target_t *m)
{
    uint8_t st = m->qn ? FB_STATUS_BUSY : 0;
    if (m->v1_status)
        return st;
    if ((m->v2 ? m->errors : m->error) || m->error_flag_stuck)
        st |= FB_STATUS_ERROR;
    if (m->ready && !m->never_ready)
        st |= FB_STATUS_READY;
    st |= (uint8_t)(FB_QUEUE_DEPTH - m->qn);
    return st;
}

static void prepare(mock_target_t *m, const uint8_t *src, size_t avail)
{
    memset(m->resp, 0xFF, sizeof m->resp);
    if (avail)
        memcpy(m->resp, src, avail < FB_RESPONSE_LEN ? avail : FB_RESPONSE_LEN);
    m->resp_len = FB_RESPONSE_LEN;
    m->resp_consumable = false;
    m->ready = true;
}

static void put_crc(uint8_t *p, size_t n)
{
    uint16_t c = fb_crc16(FB_EXT_CRC_INIT, p, n);
    p[n] = (uint8_t)(c >> 8);
    p[n + 1] = (uint8_t)c;
}

static bool crc_ok(const uint8_t *p, size_t n)
{
    uint16_t c = fb_crc16(FB_EXT_CRC_INIT, p, n - 2);
    return p[n - 2] == (uint8_t)(c >> 8) && p[n - 1] == (uint8_t)c;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Next chunk of the running stream (instantly: the real target prepares it while the
 * host reads the one before). */
static void prepare_chunk(mock_target_t *m)
{
    uint32_t n = m->stream.left < FB_EXT_PAYLOAD_MAX ? m->stream.left : FB_EXT_PAYLOAD_MAX;
    memset(m->resp, 0xFF, sizeof m->resp);
    m->resp[0] = FB_CHUNK_TAG;
    m->resp[1] = m->stream.seq++;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t at = m->stream.next + i;
        m->resp[2 + i] = at < m->file_size ? m->file[at] : 0xFF;
    }
    put_crc(m->resp, 2 + n);
    m->resp_len = n + FB_CHUNK_OVERHEAD;
    m->resp_consumable = true;
    m->ready = true;
    m->stream.next += n;
    m->stream.left -= n;
    m->stream.on = m->stream.left > 0;
}

static void append_bytes(mock_target_t *m, const uint8_t *src, size_t n)
{
    m->file = realloc(m->file, m->file_size + n + 1);
    memcpy(m->file + m->file_size, src, n);
    m->file_size += n;
}

/* Run one command the way the target's task engine would. */
static void execute(mock_target_t *m, const uint8_t *f, size_t len)
{
    if (m->fail_cmd && f[0] == m->fail_cmd) {
        fail(m, m->fail_bits);
        return;
    }
    switch (f[0]) {
    case FB_CMD_SET_FILENAME:
        if (len != 1 + FB_LEN_SET_FILENAME)
            return fail(m, FB_ERR_BAD_PARAM);
        if (f[1] == ' ')
            return fail(m, FB_ERR_BAD_NAME);
        memcpy(m->name, f + 1, FB_FILENAME_LEN);
        return;
    case FB_CMD_CLEAR_FLASH:
        if (len != 1)
            return fail(m, FB_ERR_BAD_PARAM);
        m->file_size = 0;
        return;
    case FB_CMD_WRITE_DATA:
        if (len != 1 + FB_LEN_WRITE_DATA || f[1] > FB_WRITE_DATA_MAX)
            return fail(m, FB_ERR_BAD_PARAM);
        if (m->file_size + f[1] > m->file_cap)
            return fail(m, FB_ERR_FILE_FULL);
        append_bytes(m, f + 2, f[1]);
        return;
    case FB_CMD_APPEND_CRC: {
        if (!m->ext)
            return fail(m, FB_ERR_UNKNOWN_CMD);
        if (len < FB_APPEND_CRC_OVERHEAD + 1 || len > FB_EXT_FRAME_MAX ||
            len != f[2] + 1u + FB_APPEND_CRC_OVERHEAD || !crc_ok(f, len)) {
            m->crc_errors++;
            return fail(m, FB_ERR_STREAM);
        }
        if (f[1] == m->last_seq)
            return; /* a repeat */
        if (f[1] != (uint8_t)(m->last_seq + 1))
            return fail(m, FB_ERR_STREAM);
        size_t n = len - FB_APPEND_CRC_OVERHEAD;
        if (m->file_size + n > m->file_cap)
            return fail(m, FB_ERR_FILE_FULL);
        append_bytes(m, f + 3, n);
        m->last_seq = f[1];
        return;
    }
    case FB_CMD_STREAM_READ: {
        if (!m->ext)
            return fail(m, FB_ERR_UNKNOWN_CMD);
        m->stream.on = false;
        if (len != 1 + FB_LEN_STREAM_READ)
            return fail(m, FB_ERR_BAD_PARAM);
        if (!crc_ok(f, len)) {
            m->crc_errors++;
            return fail(m, FB_ERR_STREAM);
        }
        uint32_t off = get32(f + 1), n = get32(f + 5);
        if (n == 0 || off > FB_FILE_CAPACITY || n > FB_FILE_CAPACITY - off)
            return fail(m, FB_ERR_BAD_PARAM);
        m->stream.next = off;
        m->stream.left = n;
        m->stream.seq = 0;
        prepare_chunk(m);
        return;
    }
    case FB_CMD_READ_SECTOR: {
        m->stream.on = false;
        if (len != 1 + FB_LEN_READ_SECTOR)
            return fail(m, FB_ERR_BAD_PARAM);
        size_t at = (size_t)(f[1] << 8 | f[2]) * FB_SECTOR_SIZE;
        prepare(m, m->file + (at < m->file_size ? at : 0),
                at < m->file_size ? m->file_size - at : 0);
        return;
    }
    case FB_CMD_WRITE_CONFIG: {
        if (len != 1 + FB_LEN_WRITE_CONFIG)
            return fail(m, FB_ERR_BAD_PARAM);
        size_t off = (size_t)(f[1] << 8 | f[2]), n = f[3];
        if (n > FB_WRITE_CONFIG_MAX || off + n > FB_CONFIG_SIZE)
            return fail(m, FB_ERR_BAD_PARAM);
        memcpy(m->config + off, f + 4, n);
        return;
    }
    case FB_CMD_READ_CONFIG: {
        m->stream.on = false;
        if (len != 1 + FB_LEN_READ_CONFIG)
            return fail(m, FB_ERR_BAD_PARAM);
        size_t off = (size_t)(f[1] << 8 | f[2]);
        if (off >= FB_CONFIG_SIZE)
            return fail(m, FB_ERR_BAD_PARAM);
        prepare(m, m->config + off, FB_CONFIG_SIZE - off);
        return;
    }
    case FB_CMD_CLEAR_CONFIG:
        if (len != 1)
            return fail(m, FB_ERR_BAD_PARAM);
        memset(m->config, FB_CONFIG_ERASED, sizeof m->config);
        return;
    default:
        return fail(m, FB_ERR_UNKNOWN_CMD);
    }
}

static void pop(mock_target_t *m)
{
    execute(m, m->q[0].frame, m->q[0].len);
    memmove(&m->q[0], &m->q[1], sizeof m->q[0] * (FB_QUEUE_DEPTH - 1));
    m->qn--;
    if (m->qn)
        m->q[0].polls_left = m->cmd_polls;
}

/* Commands with nothing left to wait for run now. */
static void drain_ready(mock_target_t *m)
{
    while (m->qn && !m->stuck_busy && m->q[0].polls_left == 0)
        pop(m);
}

static void on_frame(mock_target_t *m, const uint8_t *w, size_t wlen)
{
    m->frames++;
    m->burst++;
    if (m->burst > m->max_burst)
        m->max_burst = m->burst;
    if (m->burst > m->last_credits)
        m->credit_violations++;
    if (m->qn == FB_QUEUE_DEPTH || wlen > sizeof m->q[0].frame) {
        m->dropped += m->qn == FB_QUEUE_DEPTH;
        fail(m, m->qn == FB_QUEUE_DEPTH ? FB_ERR_QUEUE_FULL : FB_ERR_BAD_PARAM);
        return;
    }
    if (m->v2)
        m->error = 0; /* a new queued command starts a fresh v1 result */
    memcpy(m->q[m->qn].frame, w, wlen);
    m->q[m->qn].len = wlen;
    m->q[m->qn].polls_left = m->cmd_polls;
    m->qn++;
    drain_ready(m);
}

static void on_register(mock_target_t *m, uint8_t reg, uint8_t *r, size_t rlen)
{
    uint8_t v[16] = {0}; /* the longest register: GET_FILENAME (11) */
    size_t n = 0;
    if (!m->ext && (reg == FB_CMD_CAPS || reg == FB_CMD_STREAM_STATE))
        reg = 0; /* unknown to a target without the extension */
    if (!m->v2 && (reg == FB_CMD_EXT_STATUS || reg == FB_CMD_ERRORS))
        reg = 0; /* unknown before protocol 2.0 */
    switch (reg) {
    case FB_CMD_CAPS: {
        const uint8_t caps[8] = {FB_CAPS_MAGIC0, FB_CAPS_MAGIC1, m->caps_version,
                                        FB_FEAT_APPEND_CRC | FB_FEAT_STREAM_READ,
                                        FB_EXT_PAYLOAD_MAX >> 8, FB_EXT_PAYLOAD_MAX & 0xFF,
                                        FB_QUEUE_DEPTH, 0};
        m->caps_reads++;
        memcpy(v, caps, sizeof caps);
        if (m->caps_version)
            v[2] = m->caps_version;
        put_crc(v, sizeof caps);
        n = FB_CAPS_LEN;
        break;
    }
    case FB_CMD_STREAM_STATE: {
        uint32_t s = (uint32_t)m->file_size;
        v[0] = m->last_seq;
        v[1] = (uint8_t)(m->crc_errors >> 8);
        v[2] = (uint8_t)m->crc_errors;
        v[3] = (uint8_t)(s >> 24);
        v[4] = (uint8_t)(s >> 16);
        v[5] = (uint8_t)(s >> 8);
        v[6] = (uint8_t)s;
        n = FB_STREAM_STATE_LEN;
        break;
    }
    case FB_CMD_WHO_AM_I:
        v[0] = m->who_am_i;
        n = 1;
        break;
    case FB_CMD_GET_FILENAME:
        memcpy(v, m->name, FB_FILENAME_LEN);
        n = FB_FILENAME_LEN;
        break;
    case FB_CMD_STATUS:
    case FB_CMD_EXT_STATUS:
        m->status_reads++;
        m->ext_status_reads += reg == FB_CMD_EXT_STATUS;
        /* A STATUS read is the queue's clock tick. */
        if (m->qn && !m->stuck_busy && m->q[0].polls_left > 0)
            m->q[0].polls_left--;
        drain_ready(m);
        v[0] = status_value(m);
        if (m->v2 && reg == FB_CMD_STATUS)
            v[0] &= FB_STATUS_BUSY; /* 2.0: STATUS is what v1 showed */
        /* v1 reports no slots: one frame per STATUS is what a careful client sends. */
        m->last_credits = !(v[0] & FB_STATUS_QUEUE_MASK) ? (m->qn ? 0 : 1)
                                                         : (v[0] & FB_STATUS_QUEUE_MASK);
        m->burst = 0;
        n = 1;
        break;
    case FB_CMD_ERROR:
        m->error_reads++;
        v[0] = m->error;
        m->error = 0;
        if (!m->v2)
            m->errors = 0;
        n = 1;
        break;
    case FB_CMD_ERRORS:
        m->errors_reads++;
        v[0] = m->errors;
        m->errors = 0;
        n = 1;
        break;
    case FB_CMD_FILE_SIZE: {
        uint32_t s = m->size_override ? m->size_value : (uint32_t)m->file_size;
        v[0] = (uint8_t)(s >> 24);
        v[1] = (uint8_t)(s >> 16);
        v[2] = (uint8_t)(s >> 8);
        v[3] = (uint8_t)s;
        n = 4;
        break;
    }
    default:
        fail(m, FB_ERR_UNKNOWN_CMD);
        break;
    }
    /* Past the register the target clocks out 0xFF, as an idle bus would read. */
    for (size_t i = 0; i < rlen; i++)
        r[i] = i < n ? v[i] : 0xFF;
}

static void log_xfer(mock_target_t *m, const uint8_t *w, size_t wlen, size_t rlen, int rc)
{
    if (m->nlog == m->caplog) {
        m->caplog = m->caplog ? m->caplog * 2 : 64;
        m->log = realloc(m->log, m->caplog * sizeof *m->log);
    }
    mock_xfer_t *e = &m->log[m->nlog++];
    memset(e, 0, sizeof *e);
    if (wlen)
        memcpy(e->w, w, wlen < MOCK_FRAME_LOG_MAX ? wlen : MOCK_FRAME_LOG_MAX);
    e->wlen = wlen;
    e->rlen = rlen;
    e->rc = rc;
}

static int mock_xfer(fb_transport_t *t, uint8_t addr7, const uint8_t *w, size_t wlen,
                     uint8_t *r, size_t rlen)
{
    mock_target_t *m = (mock_target_t *)t;
    long idx = (long)m->nxfers++;
    m->now_us += m->xfer_cost_us;
    bool is_frame = wlen > 0 && rlen == 0;
    bool is_plain_read = wlen == 0 && rlen > 0;
    long frame_no = is_frame ? (long)m->frames + 1 : 0;
    long read_no = is_plain_read ? (long)++m->plain_reads : 0;
    int rc = FB_HOST_OK;
    if (m->absent || addr7 != m->addr || idx == m->nack_xfer)
        rc = FB_HOST_ENACK;
    else if (idx == m->eio_xfer || (read_no && read_no == m->eio_read))
        rc = FB_HOST_EIO;
    else if (is_frame && m->nack_frame > 0 && frame_no == m->nack_frame) {
        /* Count the refused frame so later frames keep their numbers. */
        m->frames++;
        rc = FB_HOST_ENACK;
    }
    log_xfer(m, w, wlen, rlen, rc);
    if (rc)
        return rc;
    if (is_frame && frame_no == m->reboot_frame) {
        m->frames++;
        m->last_seq = 0;
        return FB_HOST_OK; /* acknowledged by the bus, then lost with the target's RAM */
    }
    if (is_frame) {
        uint8_t damaged[sizeof m->q[0].frame];
        if (frame_no == m->corrupt_frame && wlen <= sizeof damaged) {
            memcpy(damaged, w, wlen);
            damaged[wlen / 2] ^= 0x10; /* one bit flipped on the wire */
            w = damaged;
        }
        on_frame(m, w, wlen);
        if (frame_no == m->lost_ack_frame)
            return FB_HOST_EIO; /* it got there; the host cannot know */
    } else if (wlen == 1 && rlen > 0) {
        on_register(m, w[0], r, rlen);
    } else if (is_plain_read && m->ready && m->resp_consumable) {
        /* A streaming chunk: 0xFF while "not yet prepared", consumed by a full read. */
        if (m->chunk_late > 0) {
            m->chunk_late--;
            memset(r, 0xFF, rlen);
            return FB_HOST_OK;
        }
        for (size_t i = 0; i < rlen; i++)
            r[i] = i < m->resp_len ? m->resp[i] : 0xFF;
        if (rlen >= m->resp_len) {
            m->ready = false;
            if (m->stream.on)
                prepare_chunk(m);
        }
        if (read_no == m->corrupt_read)
            r[rlen / 2] ^= 0x01;
    } else if (is_plain_read) {
        /* Plain read: the prepared response, once. */
        if (!m->ready)
            m->unprepared_reads++;
        for (size_t i = 0; i < rlen; i++)
            r[i] = m->ready && i < FB_RESPONSE_LEN ? m->resp[i] : 0xFF;
        m->ready = false;
        if (read_no == m->corrupt_read)
            r[rlen / 2] ^= 0x01;
    } else if (wlen > 1 && rlen > 0) {
        fail(m, FB_ERR_BAD_PARAM);
        memset(r, 0xFF, rlen);
    }
    return FB_HOST_OK;
}

static int mock_sleep_us(fb_transport_t *t, uint64_t us)
{
    mock_target_t *m = (mock_target_t *)t;
    m->sleeps++;
    m->slept_us += us;
    m->now_us += us;
    return FB_HOST_OK;
}

static uint64_t mock_now_us(fb_transport_t *t)
{
    return ((mock_target_t *)t)->now_us;
}

static void mock_close(fb_transport_t *t)
{
    (void)t; /* the test owns the mock */
}

static const struct fb_transport_ops mock_ops = {
    .xfer = mock_xfer,
    .sleep_us = mock_sleep_us,
    .now_us = mock_now_us,
    .close = mock_close,
};

void mock_init(mock_target_t *m)
{
    memset(m, 0, sizeof *m);
    m->base.ops = &mock_ops;
    m->addr = FB_I2C_ADDR;
    m->who_am_i = FB_WHO_AM_I_VALUE;
    memcpy(m->name, FB_DEFAULT_FILENAME, FB_FILENAME_LEN);
    m->file_cap = FB_FILE_CAPACITY;
    memset(m->config, FB_CONFIG_ERASED, sizeof m->config);
    m->nack_xfer = -1;
    m->eio_xfer = -1;
    m->corrupt_frame = -1;
    m->lost_ack_frame = -1;
    m->corrupt_read = -1;
    m->eio_read = -1;
    m->reboot_frame = -1;
    m->caps_version = FB_EXT_VERSION;
    /* Before any STATUS read the client has no credits; an idle queue would give it
     * all slots, which is what the first STATUS read will say anyway. */
    m->last_credits = 0;
}

void mock_free(mock_target_t *m)
{
    free(m->file);
    free(m->log);
    m->file = NULL;
    m->log = NULL;
}

void mock_set_file(mock_target_t *m, const uint8_t *data, size_t len)
{
    m->file = realloc(m->file, len + 1);
    memcpy(m->file, data, len);
    m->file_size = len;
}

const mock_xfer_t *mock_log(const mock_target_t *m, size_t i)
{
    return i < m->nlog ? &m->log[i] : NULL;
}

const mock_xfer_t *mock_nth_frame(const mock_target_t *m, uint8_t cmd, unsigned k)
{
    for (size_t i = 0; i < m->nlog; i++) {
        const mock_xfer_t *e = &m->log[i];
        if (e->wlen > 0 && e->rlen == 0 && e->w[0] == cmd && e->rc == 0 && k-- == 0)
            return e;
    }
    return NULL;
}

unsigned mock_count_frames(const mock_target_t *m, uint8_t cmd)
{
    unsigned n = 0;
    for (size_t i = 0; i < m->nlog; i++) {
        const mock_xfer_t *e = &m->log[i];
        n += e->wlen > 0 && e->rlen == 0 && e->w[0] == cmd && e->rc == 0;
    }
    return n;
}
