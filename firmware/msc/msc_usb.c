/* USB mass storage over the device core: descriptors, GET_MAX_LUN and the Bulk-Only
 * Mass Storage Reset, and the bulk-only transport that moves scsi.c's CBWs, data and
 * CSWs through EP2 OUT / EP1 IN (BOT 1.0 §5, §6).
 *
 * Flow: a CBW is accepted only while one is expected (EP2 OUT is armed then, NAKing
 * otherwise); data goes out 64 bytes at a time from one 512-byte sector buffer; a halt
 * scsi.c asks for on the IN pipe holds the CSW back until the host clears it (the CSW
 * travels on that pipe); after an invalid CBW both pipes stay halted, whatever
 * CLEAR_FEATURE says, until the class reset (BOT 5.3.4 Reset Recovery, 6.6.1). */
#include "msc_usb.h"

#include <string.h>

#include "dcd.h"
#include "usbd.h"

#define REQ_BOT_RESET   0xFFu
#define REQ_GET_MAX_LUN 0xFEu

enum bot {
    BOT_OFF,        /* not configured */
    BOT_CBW,        /* EP2 OUT armed for a CBW */
    BOT_DATA,       /* sending the data phase */
    BOT_WAIT_CLEAR, /* IN halted by the data phase: the CSW follows its clearing */
    BOT_CSW,        /* the CSW is queued */
    BOT_HALTED,     /* invalid CBW: both halted until Reset Recovery */
};

static struct {
    struct msc *msc;
    bool (*acquire)(void);
    void (*release)(void);
    enum bot state;
    bool in_busy;               /* a packet is queued on EP1 IN */
    const uint8_t *last;        /* that packet, to queue again if a clear cancels it */
    uint16_t last_len;
    uint16_t buf_len, buf_off;  /* the data-phase chunk being sent from buf */
    uint8_t csw[MSC_CSW_LEN];
    uint8_t buf[FATVOL_SECTOR];
} b;

/* ---- descriptors ---- */

static const uint8_t config_desc[32] = {
    9, 2, 32, 0, 1, 1, 0, 0x80, 50,      /* configuration 1, bus powered, 100 mA */
    9, 4, 0, 0, 2, 0x08, 0x06, 0x50, 0,  /* interface 0: mass storage, SCSI, bulk-only */
    7, 5, MSC_USB_EP_IN, 0x02, 64, 0, 0, /* bulk IN, 64 bytes */
    7, 5, MSC_USB_EP_OUT, 0x02, 64, 0, 0, /* bulk OUT, 64 bytes */
};

static uint8_t device_desc[18] = {
    18, 1, 0x00, 0x02, /* USB 2.0 */
    0, 0, 0,           /* class per interface */
    64,                /* EP0 */
    (uint8_t)MSC_USB_VID, (uint8_t)(MSC_USB_VID >> 8),
    (uint8_t)MSC_USB_PID, (uint8_t)(MSC_USB_PID >> 8),
    0, 0,              /* bcdDevice: msc_usb_init */
    1, 2, 3,           /* manufacturer, product, serial number strings */
    1,                 /* one configuration */
};

static const char *strings[3] = {"flashbridge", "flashbridge disk", ""};
static const uint8_t endpoints[2] = {MSC_USB_EP_IN, MSC_USB_EP_OUT};

/* ---- transport ---- */

static void in_write(const uint8_t *p, uint16_t n)
{
    b.last = p;
    b.last_len = n;
    b.in_busy = true;
    dcd_ep_write(MSC_USB_EP_IN, p, n);
}

static void send_csw(void)
{
    if (!msc_csw(b.msc, b.csw))
        return;
    b.state = BOT_CSW;
    in_write(b.csw, MSC_CSW_LEN);
}

static void arm_cbw(void)
{
    b.state = BOT_CBW;
    if (!dcd_ep_stalled(MSC_USB_EP_OUT))
        dcd_ep_arm_out(MSC_USB_EP_OUT); /* else armed when the host clears the halt */
}

/* What scsi.c wants next, once the current chunk is out. */
static bool pump(void)
{
    if (b.state != BOT_DATA || b.in_busy)
        return false;
    if (b.buf_off < b.buf_len) {
        uint16_t n = (uint16_t)(b.buf_len - b.buf_off);
        if (n > DCD_MPS)
            n = DCD_MPS;
        in_write(b.buf + b.buf_off, n);
        b.buf_off = (uint16_t)(b.buf_off + n);
        return true;
    }
    switch (msc_action(b.msc)) {
    case MSC_SEND_DATA: {
        bool held = b.msc->cdb[0] == 0x28u && b.acquire;
        if (held && !b.acquire())
            return false; /* READ(10) waits for the source; IN NAKs meanwhile */
        b.buf_len = (uint16_t)msc_data_in(b.msc, b.buf);
        b.buf_off = 0;
        if (held)
            b.release();
        return true; /* the chunk, or the action a failure set, goes next time */
    }
    case MSC_STALL_IN:
        dcd_ep_stall(MSC_USB_EP_IN);
        b.state = BOT_WAIT_CLEAR;
        return true;
    case MSC_STALL_OUT:
        dcd_ep_stall(MSC_USB_EP_OUT);
        send_csw();
        return true;
    case MSC_SEND_CSW:
        send_csw();
        return true;
    default:
        return false;
    }
}

static void cbw(void)
{
    uint8_t pkt[DCD_MPS];
    uint16_t n = dcd_ep_read(MSC_USB_EP_OUT, pkt, sizeof pkt);
    if (b.state != BOT_CBW)
        return; /* never armed outside BOT_CBW */
    switch (msc_cbw(b.msc, pkt, n)) {
    case MSC_STALL_BOTH:
        dcd_ep_stall(MSC_USB_EP_IN);
        dcd_ep_stall(MSC_USB_EP_OUT);
        b.state = BOT_HALTED;
        break;
    default:
        b.state = BOT_DATA;
        b.buf_len = b.buf_off = 0;
        (void)pump();
        break;
    }
}

static void on_out(uint8_t ep)
{
    if (ep == MSC_USB_EP_OUT)
        cbw();
}

static void on_in(uint8_t ep)
{
    if (ep != MSC_USB_EP_IN)
        return;
    b.in_busy = false;
    if (b.state == BOT_CSW)
        arm_cbw();
    else
        (void)pump();
}

static void clear_halt(uint8_t ep)
{
    if (b.state == BOT_HALTED)
        return; /* BOT 6.6.1: stays halted until the class reset */
    dcd_ep_unstall(ep); /* DATA0 again, NAKing */
    if (ep == MSC_USB_EP_OUT && b.state == BOT_CBW)
        dcd_ep_arm_out(MSC_USB_EP_OUT);
    if (ep == MSC_USB_EP_IN) {
        if (b.state == BOT_WAIT_CLEAR)
            send_csw();
        else if (b.in_busy)
            dcd_ep_write(MSC_USB_EP_IN, b.last, b.last_len); /* the clear dropped it */
    }
}

static void configured(bool on)
{
    b.in_busy = false;
    if (on) {
        /* A new configuration follows a bus reset or a re-plug: the medium is loaded
         * again and no command is pending (scsi.h: msc_init at bus reset). */
        msc_init(b.msc, b.msc->vol);
        arm_cbw();
    } else {
        b.state = BOT_OFF;
    }
}

static int control(const struct usbd_setup *s, uint8_t *buf, uint16_t max)
{
    if ((s->type & 0x7Fu) != 0x21u || s->index != 0 || s->value != 0)
        return -1; /* class requests to interface 0 only */
    if (s->request == REQ_GET_MAX_LUN && s->type == 0xA1u && s->length == 1 && max >= 1) {
        buf[0] = 0; /* one LUN */
        return 1;
    }
    if (s->request == REQ_BOT_RESET && s->type == 0x21u && s->length == 0) {
        /* Ready for a CBW; halts and data toggles are left for the host to clear
         * (BOT 3.1). A packet still queued on IN is withdrawn. */
        if (b.in_busy && !dcd_ep_stalled(MSC_USB_EP_IN))
            dcd_ep_cancel(MSC_USB_EP_IN);
        b.in_busy = false;
        msc_reset(b.msc);
        arm_cbw();
        return 0;
    }
    return -1;
}

static const struct usbd_class cls = {
    .control = control,
    .configured = configured,
    .out = on_out,
    .in = on_in,
    .clear_halt = clear_halt,
};

static const struct usbd_config config = {
    .device = device_desc,
    .config = config_desc,
    .config_len = sizeof config_desc,
    .strings = strings,
    .n_strings = 3,
    .endpoints = endpoints,
    .n_endpoints = 2,
    .cls = &cls,
};

void msc_usb_serial(const uint8_t uid[12], char out[MSC_USB_SERIAL_LEN + 1u])
{
    static const char hex[] = "0123456789ABCDEF";
    for (unsigned i = 0; i < 12u; i++) {
        out[2u * i] = hex[uid[i] >> 4];
        out[2u * i + 1u] = hex[uid[i] & 0xFu];
    }
    out[MSC_USB_SERIAL_LEN] = '\0';
}

void msc_usb_init(const struct msc_usb_params *p)
{
    memset(&b, 0, sizeof b);
    b.msc = p->msc;
    b.acquire = p->acquire;
    b.release = p->release;
    device_desc[12] = (uint8_t)p->bcd_device;
    device_desc[13] = (uint8_t)(p->bcd_device >> 8);
    strings[2] = p->serial;
    usbd_init(&config);
}

bool msc_usb_task(void)
{
    bool did = usbd_task();
    return pump() || did;
}
