#include "fake_dcd.h"

#include <assert.h>
#include <string.h>

struct fake_dcd fd;

static void push(enum dcd_event_type t, uint8_t ep)
{
    assert(fd.qt - fd.qh < 32u);
    fd.q[fd.qt % 32u] = (struct dcd_event){t, ep};
    fd.qt++;
}

void fd_init(void)
{
    memset(&fd, 0, sizeof fd);
}

void fd_bus_reset(void)
{
    memset(fd.out, 0, sizeof fd.out);
    memset(fd.in, 0, sizeof fd.in);
    fd.out[0].open = fd.in[0].open = true;
    fd.address = 0;
    push(DCD_EV_RESET, 0);
}

/* A SETUP is always taken (RM0008 §23.4.2): both halves of EP0 NAK afterwards, IN's
 * toggle DATA1, OUT's DATA0... as the next data stage expects. */
enum fd_result fd_setup(const uint8_t pkt[8])
{
    memcpy(fd.out[0].data, pkt, 8);
    fd.out[0].len = 8;
    fd.out[0].stall = fd.in[0].stall = false;
    fd.out[0].armed = fd.in[0].queued = false;
    fd.in[0].toggle = 1;
    fd.out[0].toggle = 1;
    push(DCD_EV_SETUP, 0);
    return FD_ACK;
}

enum fd_result fd_out(uint8_t ep, const uint8_t *data, uint16_t len)
{
    struct fd_ep *e = &fd.out[ep & 0x7F];
    assert(len <= DCD_MPS);
    if (!e->open)
        return FD_NAK; /* no answer at all, really; the tests never do this */
    if (e->stall)
        return FD_STALL;
    if (!e->armed)
        return FD_NAK;
    memcpy(e->data, data, len);
    e->len = len;
    e->armed = false;
    e->toggle ^= 1u;
    push(DCD_EV_OUT, ep);
    return FD_ACK;
}

enum fd_result fd_in(uint8_t ep, uint8_t *data, uint16_t *len)
{
    struct fd_ep *e = &fd.in[ep & 0x7F];
    if (e->stall)
        return FD_STALL;
    if (!e->queued)
        return FD_NAK;
    memcpy(data, e->data, e->len);
    *len = e->len;
    e->queued = false;
    e->toggle ^= 1u;
    push(DCD_EV_IN, ep);
    return FD_ACK;
}

void fd_suspend(void)
{
    push(DCD_EV_SUSPEND, 0);
}

void fd_resume(void)
{
    push(DCD_EV_RESUME, 0);
}

/* ---- device side: dcd.h ---- */

bool dcd_poll(struct dcd_event *ev)
{
    if (fd.qh == fd.qt)
        return false;
    *ev = fd.q[fd.qh % 32u];
    fd.qh++;
    return true;
}

void dcd_set_address(uint8_t addr)
{
    fd.address = addr;
    fd.set_address_calls++;
}

void dcd_ep_open(uint8_t ep)
{
    struct fd_ep *e = ep & 0x80 ? &fd.in[ep & 0x7F] : &fd.out[ep];
    memset(e, 0, sizeof *e);
    e->open = true;
}

void dcd_ep_close_all(void)
{
    for (int n = 1; n < 8; n++) {
        memset(&fd.in[n], 0, sizeof fd.in[n]);
        memset(&fd.out[n], 0, sizeof fd.out[n]);
    }
}

uint16_t dcd_ep_read(uint8_t ep, uint8_t *buf, uint16_t max)
{
    struct fd_ep *e = &fd.out[ep & 0x7F];
    uint16_t n = e->len < max ? e->len : max;
    memcpy(buf, e->data, n);
    return n;
}

void dcd_ep_arm_out(uint8_t ep)
{
    struct fd_ep *e = &fd.out[ep & 0x7F];
    assert(e->open);
    e->stall = false;
    e->armed = true;
}

void dcd_ep_write(uint8_t ep, const uint8_t *buf, uint16_t len)
{
    struct fd_ep *e = &fd.in[ep & 0x7F];
    assert(e->open && len <= DCD_MPS && !e->queued);
    if (len)
        memcpy(e->data, buf, len);
    e->len = len;
    e->queued = true;
    e->stall = false;
}

void dcd_ep_cancel(uint8_t ep)
{
    fd.in[ep & 0x7F].queued = false;
}

void dcd_ep_stall(uint8_t ep)
{
    struct fd_ep *e = ep & 0x80 ? &fd.in[ep & 0x7F] : &fd.out[ep];
    e->stall = true;
    e->armed = e->queued = false;
}

void dcd_ep_unstall(uint8_t ep)
{
    struct fd_ep *e = ep & 0x80 ? &fd.in[ep & 0x7F] : &fd.out[ep];
    e->stall = false;
    e->armed = e->queued = false;
    e->toggle = 0;
}

bool dcd_ep_stalled(uint8_t ep)
{
    struct fd_ep *e = ep & 0x80 ? &fd.in[ep & 0x7F] : &fd.out[ep];
    return e->stall;
}
