/* Mock flashbridge target; see mock_target.h for what it models and why. */
#include "mock_target.h"

#include <stdlib.h>
#include <string.h>

#include "flashbridge.h"

static void fail(mock_target_t *m, uint8_t bits)
{
    m->error |= bits | FB_ERR_FAILED;
}

static uint8_t status_value(const mock_target_t *m)
{
    uint8_t st = m->qn ? FB_STATUS_BUSY : 0;
    if (m->v1_status)
        return st;
    if (m->error || m->error_flag_stuck)
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
    m->ready = true;
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
        m->file = realloc(m->file, m->file_size + f[1] + 1);
        memcpy(m->file + m->file_size, f + 2, f[1]);
        m->file_size += f[1];
        return;
    case FB_CMD_READ_SECTOR: {
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
    memcpy(m->q[m->qn].frame, w, wlen);
    m->q[m->qn].len = wlen;
    m->q[m->qn].polls_left = m->cmd_polls;
    m->qn++;
    drain_ready(m);
}

static void on_register(mock_target_t *m, uint8_t reg, uint8_t *r, size_t rlen)
{
    uint8_t v[FB_FILENAME_LEN] = {0};
    size_t n = 0;
    switch (reg) {
    case FB_CMD_WHO_AM_I:
        v[0] = m->who_am_i;
        n = 1;
        break;
    case FB_CMD_GET_FILENAME:
        memcpy(v, m->name, FB_FILENAME_LEN);
        n = FB_FILENAME_LEN;
        break;
    case FB_CMD_STATUS:
        m->status_reads++;
        /* A STATUS read is the queue's clock tick. */
        if (m->qn && !m->stuck_busy && m->q[0].polls_left > 0)
            m->q[0].polls_left--;
        drain_ready(m);
        v[0] = status_value(m);
        /* v1 reports no slots: one frame per STATUS is what a careful client sends. */
        m->last_credits = m->v1_status ? (m->qn ? 0 : 1) : (v[0] & FB_STATUS_QUEUE_MASK);
        m->burst = 0;
        n = 1;
        break;
    case FB_CMD_ERROR:
        m->error_reads++;
        v[0] = m->error;
        m->error = 0;
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
    int rc = FB_HOST_OK;
    if (m->absent || addr7 != m->addr || idx == m->nack_xfer)
        rc = FB_HOST_ENACK;
    else if (idx == m->eio_xfer)
        rc = FB_HOST_EIO;
    else if (is_frame && m->nack_frame > 0 && (long)(m->frames + 1) == m->nack_frame) {
        /* Count the refused frame so later frames keep their numbers. */
        m->frames++;
        rc = FB_HOST_ENACK;
    }
    log_xfer(m, w, wlen, rlen, rc);
    if (rc)
        return rc;
    if (is_frame) {
        on_frame(m, w, wlen);
    } else if (wlen == 1 && rlen > 0) {
        on_register(m, w[0], r, rlen);
    } else if (wlen == 0 && rlen > 0) {
        /* Plain read: the prepared response, once. */
        if (!m->ready)
            m->unprepared_reads++;
        for (size_t i = 0; i < rlen; i++)
            r[i] = m->ready && i < FB_RESPONSE_LEN ? m->resp[i] : 0xFF;
        m->ready = false;
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
