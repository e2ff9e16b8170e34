/* The device core: EP0 and the USB 2.0 chapter 9 standard requests (usbd.h).
 *
 * Control transfers, as RM0008 §23.4.2 ("Control transfers") asks of the software and
 * the USB 2.0 spec §8.5.3 of any device: during an IN data stage the OUT half is
 * STALLed until the last packet is queued (a host that turns round too early gets a
 * STALL), then armed for the zero-length status OUT; a request without data is
 * answered by a zero-length status IN; anything not understood STALLs both halves of
 * EP0 until the next SETUP. SET_ADDRESS takes effect once its status stage has been
 * acknowledged (USB 2.0 §9.4.6), never before. */
#include "usbd.h"

#include <string.h>

#include "dcd.h"

#define DESC_DEVICE    1u
#define DESC_CONFIG    2u
#define DESC_STRING    3u

#define REQ_GET_STATUS        0u
#define REQ_CLEAR_FEATURE     1u
#define REQ_SET_FEATURE       3u
#define REQ_SET_ADDRESS       5u
#define REQ_GET_DESCRIPTOR    6u
#define REQ_GET_CONFIGURATION 8u
#define REQ_SET_CONFIGURATION 9u
#define REQ_GET_INTERFACE     10u
#define REQ_SET_INTERFACE     11u

#define FEATURE_ENDPOINT_HALT 0u

#define TYPE_DIR_IN     0x80u
#define TYPE_MASK       0x60u
#define TYPE_STANDARD   0x00u
#define RECIP_MASK      0x1Fu
#define RECIP_DEVICE    0u
#define RECIP_INTERFACE 1u
#define RECIP_ENDPOINT  2u

#define LANGID_EN_US 0x0409u

enum ep0_state {
    EP0_IDLE,
    EP0_DATA_IN,   /* IN packets of ep0.buf are being sent */
    EP0_STATUS_IN, /* the zero-length status packet is queued */
};

static struct {
    const struct usbd_config *cfg;
    uint8_t address, pending_address, configuration;
    bool suspended;
    enum ep0_state ep0;
    uint16_t len, sent, chunk;
    bool zlp; /* the data stage ends with a zero-length packet */
    uint8_t buf[USBD_EP0_BUF];
} d;

void usbd_init(const struct usbd_config *c)
{
    memset(&d, 0, sizeof d);
    d.cfg = c;
}

bool usbd_configured(void)
{
    return d.configuration != 0;
}

bool usbd_suspended(void)
{
    return d.suspended;
}

uint8_t usbd_address(void)
{
    return d.address;
}

static void ep0_stall(void)
{
    dcd_ep_stall(0x80);
    dcd_ep_stall(0x00);
    d.ep0 = EP0_IDLE;
}

static void ep0_send_chunk(void)
{
    uint16_t left = (uint16_t)(d.len - d.sent);
    d.chunk = left < DCD_MPS ? left : (uint16_t)DCD_MPS;
    bool last = d.sent + d.chunk == d.len && (d.chunk < DCD_MPS || !d.zlp);
    if (last)
        dcd_ep_arm_out(0x00); /* ready for the status stage */
    dcd_ep_write(0x80, d.buf + d.sent, d.chunk);
}

/* Starts an IN data stage of n bytes in d.buf, cut to what the host asked for. */
static void ep0_reply(uint16_t n, uint16_t asked)
{
    if (n > asked)
        n = asked;
    d.len = n;
    d.sent = 0;
    /* A short reply ends with a short packet; one that fills whole packets needs a
     * zero-length one to tell the host it is over (USB 2.0 §5.5.3). */
    d.zlp = n < asked && n % DCD_MPS == 0u;
    d.ep0 = EP0_DATA_IN;
    dcd_ep_stall(0x00);
    ep0_send_chunk();
}

static void ep0_status_in(void)
{
    d.ep0 = EP0_STATUS_IN;
    dcd_ep_write(0x80, NULL, 0);
}

static bool class_endpoint(uint8_t ep)
{
    for (uint8_t i = 0; i < d.cfg->n_endpoints; i++)
        if (d.cfg->endpoints[i] == ep)
            return true;
    return false;
}

/* An endpoint the request may name in the current state (§9.4: EP0 always, the
 * others only when configured). */
static bool endpoint_exists(uint8_t ep)
{
    if ((ep & 0x7Fu) == 0)
        return true;
    return d.configuration != 0 && class_endpoint(ep);
}

static uint16_t string_desc(uint8_t index, uint16_t langid, bool *ok)
{
    *ok = true;
    if (index == 0) {
        d.buf[0] = 4;
        d.buf[1] = DESC_STRING;
        d.buf[2] = (uint8_t)LANGID_EN_US;
        d.buf[3] = (uint8_t)(LANGID_EN_US >> 8);
        return 4;
    }
    /* One language: a request for another LANGID still gets the English strings
     * (Windows asks with the first LANGID it read; others ask 0x0409). */
    (void)langid;
    if (index > d.cfg->n_strings) {
        *ok = false;
        return 0;
    }
    const char *s = d.cfg->strings[index - 1u];
    uint16_t n = 2;
    for (; *s != '\0' && n + 2u <= USBD_EP0_BUF; s++) {
        d.buf[n++] = (uint8_t)*s;
        d.buf[n++] = 0;
    }
    d.buf[0] = (uint8_t)n;
    d.buf[1] = DESC_STRING;
    return n;
}

static bool get_descriptor(const struct usbd_setup *s)
{
    uint8_t type = (uint8_t)(s->value >> 8), index = (uint8_t)s->value;
    uint16_t n;
    if (s->type != TYPE_DIR_IN)
        return false;
    switch (type) {
    case DESC_DEVICE:
        if (index != 0)
            return false;
        n = d.cfg->device[0];
        memcpy(d.buf, d.cfg->device, n);
        break;
    case DESC_CONFIG:
        if (index != 0)
            return false;
        n = d.cfg->config_len;
        memcpy(d.buf, d.cfg->config, n);
        break;
    case DESC_STRING: {
        bool ok;
        n = string_desc(index, s->index, &ok);
        if (!ok)
            return false;
        break;
    }
    default:
        /* DEVICE_QUALIFIER (6) included: a full-speed-only device answers it with a
         * request error (USB 2.0 §9.6.2). */
        return false;
    }
    ep0_reply(n, s->length);
    return true;
}

static void set_configuration(uint8_t value)
{
    if (value == d.configuration)
        return;
    if (d.configuration != 0) {
        d.configuration = 0;
        dcd_ep_close_all();
        d.cfg->cls->configured(false);
    }
    if (value != 0) {
        d.configuration = value;
        for (uint8_t i = 0; i < d.cfg->n_endpoints; i++)
            dcd_ep_open(d.cfg->endpoints[i]);
        d.cfg->cls->configured(true);
    }
}

/* Standard requests: true when handled (a data or status stage was started). */
static bool standard(const struct usbd_setup *s)
{
    uint8_t recip = s->type & RECIP_MASK;
    bool in = (s->type & TYPE_DIR_IN) != 0;
    uint8_t ep = (uint8_t)s->index;
    switch (s->request) {
    case REQ_GET_DESCRIPTOR:
        return recip == RECIP_DEVICE && get_descriptor(s);
    case REQ_SET_ADDRESS:
        if (s->type != 0 || s->value > 127u || s->index != 0 || s->length != 0 ||
            d.configuration != 0)
            return false;
        d.pending_address = (uint8_t)s->value;
        ep0_status_in();
        return true;
    case REQ_GET_CONFIGURATION:
        if (s->type != TYPE_DIR_IN || s->value != 0 || s->index != 0 || s->length != 1 ||
            d.address == 0)
            return false;
        d.buf[0] = d.configuration;
        ep0_reply(1, s->length);
        return true;
    case REQ_SET_CONFIGURATION:
        if (s->type != 0 || s->value > 1u || s->index != 0 || s->length != 0 || d.address == 0)
            return false;
        set_configuration((uint8_t)s->value);
        ep0_status_in();
        return true;
    case REQ_GET_STATUS:
        if (!in || s->value != 0 || s->length != 2)
            return false;
        d.buf[0] = 0; /* bus powered, no remote wakeup; interface: reserved zero */
        d.buf[1] = 0;
        if (recip == RECIP_INTERFACE) {
            if (d.configuration == 0 || s->index != 0)
                return false;
        } else if (recip == RECIP_ENDPOINT) {
            if (!endpoint_exists(ep))
                return false;
            d.buf[0] = dcd_ep_stalled(ep) ? 1u : 0u;
        } else if (recip != RECIP_DEVICE || s->index != 0) {
            return false;
        }
        ep0_reply(2, s->length);
        return true;
    case REQ_CLEAR_FEATURE:
    case REQ_SET_FEATURE:
        /* Only ENDPOINT_HALT: no remote wakeup, no test modes (full speed). */
        if (s->type != RECIP_ENDPOINT || s->value != FEATURE_ENDPOINT_HALT || s->length != 0 ||
            !endpoint_exists(ep))
            return false;
        if ((ep & 0x7Fu) != 0) {
            if (s->request == REQ_SET_FEATURE)
                dcd_ep_stall(ep);
            else
                d.cfg->cls->clear_halt(ep);
        }
        ep0_status_in();
        return true;
    case REQ_GET_INTERFACE:
        if (s->type != (TYPE_DIR_IN | RECIP_INTERFACE) || s->value != 0 || s->index != 0 ||
            s->length != 1 || d.configuration == 0)
            return false;
        d.buf[0] = 0;
        ep0_reply(1, s->length);
        return true;
    case REQ_SET_INTERFACE:
        /* One alternate setting (0): accepted, nothing changes. */
        if (s->type != RECIP_INTERFACE || s->value != 0 || s->index != 0 || s->length != 0 ||
            d.configuration == 0)
            return false;
        ep0_status_in();
        return true;
    default:
        return false;
    }
}

static bool class_request(const struct usbd_setup *s)
{
    uint8_t recip = s->type & RECIP_MASK;
    if (d.configuration == 0 || (recip != RECIP_INTERFACE && recip != RECIP_ENDPOINT))
        return false;
    bool in = (s->type & TYPE_DIR_IN) != 0;
    if (!in && s->length != 0)
        return false; /* no class request of ours carries OUT data */
    int n = d.cfg->cls->control(s, d.buf, (uint16_t)(in ? s->length < USBD_EP0_BUF ? s->length
                                                                                  : USBD_EP0_BUF
                                                        : 0));
    if (n < 0)
        return false;
    if (in)
        ep0_reply((uint16_t)n, s->length);
    else
        ep0_status_in();
    return true;
}

static void setup(void)
{
    uint8_t p[8];
    if (dcd_ep_read(0x00, p, sizeof p) != sizeof p) {
        ep0_stall();
        return;
    }
    struct usbd_setup s = {
        .type = p[0],
        .request = p[1],
        .value = (uint16_t)(p[2] | p[3] << 8),
        .index = (uint16_t)(p[4] | p[5] << 8),
        .length = (uint16_t)(p[6] | p[7] << 8),
    };
    d.ep0 = EP0_IDLE; /* a SETUP ends whatever transfer was under way (§8.5.3) */
    bool ok = (s.type & TYPE_MASK) == TYPE_STANDARD ? standard(&s) : class_request(&s);
    if (!ok)
        ep0_stall();
}

static void ep0_in_done(void)
{
    switch (d.ep0) {
    case EP0_DATA_IN:
        d.sent = (uint16_t)(d.sent + d.chunk);
        if (d.sent < d.len || (d.zlp && d.chunk == DCD_MPS))
            ep0_send_chunk();
        else
            d.ep0 = EP0_IDLE; /* the status OUT is armed; its arrival needs nothing */
        break;
    case EP0_STATUS_IN:
        if (d.pending_address != d.address) {
            d.address = d.pending_address;
            dcd_set_address(d.address);
        }
        d.ep0 = EP0_IDLE;
        dcd_ep_arm_out(0x00);
        break;
    default:
        break;
    }
}

static void bus_reset(void)
{
    if (d.configuration != 0)
        d.cfg->cls->configured(false);
    d.configuration = 0;
    d.address = d.pending_address = 0;
    d.suspended = false;
    d.ep0 = EP0_IDLE;
    dcd_ep_arm_out(0x00);
}

bool usbd_task(void)
{
    struct dcd_event ev;
    if (!dcd_poll(&ev))
        return false;
    switch (ev.type) {
    case DCD_EV_RESET:
        bus_reset();
        break;
    case DCD_EV_SETUP:
        setup();
        break;
    case DCD_EV_OUT:
        if (ev.ep == 0x00) {
            uint8_t scratch[DCD_MPS];
            (void)dcd_ep_read(0x00, scratch, sizeof scratch); /* a status stage */
            dcd_ep_arm_out(0x00);
        } else if (d.configuration != 0) {
            d.cfg->cls->out(ev.ep);
        }
        break;
    case DCD_EV_IN:
        if (ev.ep == 0x80)
            ep0_in_done();
        else if (d.configuration != 0)
            d.cfg->cls->in(ev.ep);
        break;
    case DCD_EV_SUSPEND:
        d.suspended = true;
        break;
    case DCD_EV_RESUME:
        d.suspended = false;
        break;
    }
    return true;
}
