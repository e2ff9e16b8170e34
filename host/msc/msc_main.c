/*
 * flashbridge-msc: a USB host on the emulated board's bus (flashbridge-emu's socket,
 * docs/SIM-PROTOCOL.md USB operations). It enumerates the device as a PC does, checks
 * every descriptor against USB 2.0 chapter 9 and the Mass Storage Class Bulk-Only
 * Transport 1.0, then reads the whole volume with SCSI commands (SPC/SBC) into an image
 * file.
 *
 * Written against the specifications, not against the firmware: what a real host would
 * refuse is refused here with a message saying which field of which descriptor is wrong.
 *
 * Enumeration (the sequence Linux and Windows use): bus reset, 10 ms recovery,
 * GET_DESCRIPTOR(device) for 64 bytes at address 0, a second reset, SET_ADDRESS, 2 ms,
 * GET_DESCRIPTOR(device, 18), the configuration (9 bytes, then wTotalLength), string 0
 * (LANGIDs) and the strings the device names (manufacturer, product, serial number),
 * SET_CONFIGURATION, GET_MAX_LUN. Then INQUIRY, TEST UNIT READY, READ CAPACITY(10),
 * MODE SENSE(6), PREVENT ALLOW MEDIUM REMOVAL, READ(10) over the whole volume, and the
 * medium allowed again.
 *
 * Transactions: NAK is retried (each retry costs its bus time: virtual time runs on);
 * three transactions in a row without an answer fail the transfer (a host controller's
 * three strikes); a STALL on a bulk endpoint is cleared with CLEAR_FEATURE(ENDPOINT_HALT)
 * as BOT §6.7 says, then the CSW is read; a failed command (CSW status 1) is followed by
 * REQUEST SENSE; a phase error, a bad CSW or a CBW not taken is Reset Recovery (BOT
 * §5.3.4). UNIT ATTENTION (sense key 6) on a READ(10): the medium may have changed, the
 * image starts again from LBA 0 with a new READ CAPACITY.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define OP_WAIT 0x02
#define OP_TIME 0x03
#define OP_HELLO 0x06
#define OP_USB_RESET 0x07
#define OP_USB_SETUP 0x08
#define OP_USB_OUT 0x09
#define OP_USB_IN 0x0A
#define OP_USB_SUSPEND 0x0B

enum { USB_ACK, USB_NAK, USB_STALL, USB_NOANSWER, USB_BABBLE };
static const char *const usb_outcome[] = {"ACK", "NAK", "STALL", "no answer", "babble"};

#define MS 1000000ull
#define DEV_ADDR 7u        /* the address we give the device */
/* How long a PC waits before it gives up (Linux): a control request 5 s
 * (USB_CTRL_GET_TIMEOUT / USB_CTRL_SET_TIMEOUT, include/linux/usb.h), a SCSI command from
 * its CBW to its CSW 30 s (SD_TIMEOUT, drivers/scsi/sd.h). A transaction NAKed past the
 * deadline of the request it belongs to fails, as the PC's request would. */
#define CTRL_TIMEOUT_NS (5000ull * MS)
#define SCSI_TIMEOUT_NS (30000ull * MS)
#define STRIKES 3

static int g_fd = -1;
static bool g_verbose;
static uint64_t g_now;
static unsigned long g_naks, g_transactions;

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "flashbridge-msc: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static void vlog(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void vlog(const char *fmt, ...)
{
    if (!g_verbose)
        return;
    va_list ap;
    va_start(ap, fmt);
    printf("[%10.6f] ", (double)g_now / 1e9);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* ---- socket ---- */

static void io(bool out, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t r = out ? send(g_fd, p, n, MSG_NOSIGNAL) : recv(g_fd, p, n, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            fail("socket: %s", r == 0 ? "the emulator closed the connection" : strerror(errno));
        p += r;
        n -= (size_t)r;
    }
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* One request; returns the status, the payload in rep (up to cap bytes) and its length. */
static int request(uint8_t op, const uint8_t *pl, size_t n, uint8_t *rep, size_t cap, size_t *rn)
{
    uint8_t hdr[3] = {op, (uint8_t)(n >> 8), (uint8_t)n};
    io(true, hdr, 3);
    if (n)
        io(true, (uint8_t *)pl, n);
    uint8_t rh[4];
    io(false, rh, 4);
    size_t len = (size_t)rh[2] << 8 | rh[3];
    if (rh[0] != (op | 0x80) || len > cap)
        fail("socket: reply 0x%02x of %zu bytes to op 0x%02x", rh[0], len, op);
    if (len)
        io(false, rep, len);
    if (rn)
        *rn = len;
    if (rh[1] == 0xFF)
        fail("the server does not know op 0x%02x: not flashbridge-emu (flashbridge-sim has no "
             "USB port)", op);
    if (rh[1] == 0xFE)
        fail("the server calls op 0x%02x malformed", op);
    return rh[1];
}

static void wait_ns(uint64_t ns)
{
    uint8_t p[8], r[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(ns >> (56 - 8 * i));
    request(OP_WAIT, p, 8, r, sizeof r, NULL);
    g_now = be64(r);
}

static void connect_sim(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path)
        fail("socket path too long: %s", path);
    strcpy(sa.sun_path, path);
    g_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (g_fd < 0 || connect(g_fd, (struct sockaddr *)&sa, sizeof sa) != 0)
        fail("%s: %s", path, strerror(errno));
    uint8_t r[16];
    size_t n;
    if (request(OP_HELLO, NULL, 0, r, sizeof r, &n) != 0 || n != 5)
        fail("%s: not a flashbridge-sim socket", path);
    if (r[0] < 2)
        fail("%s: socket protocol version %u has no USB operations (2 needed)", path, r[0]);
    request(OP_TIME, NULL, 0, r, sizeof r, &n);
    g_now = be64(r);
}

/* ---- transactions ---- */

static bool usb_reset(uint64_t ns)
{
    uint8_t p[8], r[16];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(ns >> (56 - 8 * i));
    request(OP_USB_RESET, p, 8, r, sizeof r, NULL);
    g_now = be64(r + 1);
    vlog("bus reset %.1f ms: device %s", (double)ns / 1e6, r[0] ? "attached" : "NOT attached");
    return r[0] != 0;
}

static int tx_setup(uint8_t addr, const uint8_t s[8])
{
    uint8_t p[10] = {addr, 0}, r[16];
    memcpy(p + 2, s, 8);
    int st = request(OP_USB_SETUP, p, 10, r, sizeof r, NULL);
    g_now = be64(r);
    g_transactions++;
    return st;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* NAKed transactions are repeated by the server for up to one frame (1 ms of bus time,
 * each retry costing its own bus time as a host controller's would; --nak-retry-us);
 * the client then asks again, so it checks its own timeout every frame. Another client
 * of the same board waits that long for its turn: a shorter window lets it in sooner. */
static uint32_t g_nak_retry_us = 1000u;

static int tx_out(uint8_t addr, uint8_t ep, bool d1, const uint8_t *d, size_t n)
{
    uint8_t p[7 + 1023] = {addr, ep, d1, (uint8_t)(g_nak_retry_us >> 24),
                           (uint8_t)(g_nak_retry_us >> 16), (uint8_t)(g_nak_retry_us >> 8),
                           (uint8_t)g_nak_retry_us};
    memcpy(p + 7, d, n);
    uint8_t r[16];
    size_t rn;
    int st = request(OP_USB_OUT, p, 7 + n, r, sizeof r, &rn);
    if (rn != 12)
        fail("socket: OUT reply of %zu bytes", rn);
    g_naks += be32(r) + (st == USB_NAK);
    g_transactions += be32(r) + 1u;
    g_now = be64(r + 4);
    return st;
}

static int tx_in(uint8_t addr, uint8_t ep, uint8_t *d, size_t max, size_t *n, bool *d1)
{
    uint8_t p[8] = {addr, ep, (uint8_t)(max >> 8), (uint8_t)max, (uint8_t)(g_nak_retry_us >> 24),
                    (uint8_t)(g_nak_retry_us >> 16), (uint8_t)(g_nak_retry_us >> 8),
                    (uint8_t)g_nak_retry_us};
    static uint8_t r[13 + 1023];
    size_t rn;
    int st = request(OP_USB_IN, p, 8, r, sizeof r, &rn);
    if (rn < 13)
        fail("socket: short IN reply");
    *d1 = r[0] != 0;
    g_naks += be32(r + 1) + (st == USB_NAK);
    g_transactions += be32(r + 1) + 1u;
    g_now = be64(r + 5);
    *n = rn - 13;
    if (*n > max)
        fail("socket: IN reply longer than asked");
    memcpy(d, r + 13, *n);
    return st;
}

/* ---- pipes: transfers with NAK retries, toggles and three strikes ---- */

typedef struct pipe {
    uint8_t ep;       /* number (no direction bit) */
    bool in;
    unsigned mps;     /* wMaxPacketSize */
    bool toggle;      /* next DATA PID expected / sent */
} pipe_t;

static uint8_t g_addr;
static uint64_t g_deadline = UINT64_MAX; /* of the control request or SCSI command under way */

/* Outcome of a bulk or control data transfer. */
enum { XFER_OK, XFER_STALL };

/* Move up to len bytes; *done = bytes moved. A short packet ends an IN transfer. */
static int transfer(pipe_t *p, uint8_t *buf, size_t len, size_t *done, const char *what)
{
    size_t off = 0;
    int strikes = 0;
    bool zlp = len == 0;
    while (off < len || zlp) {
        size_t chunk = len - off < p->mps ? len - off : p->mps;
        int st;
        if (p->in) {
            size_t n = 0;
            bool d1 = false;
            uint8_t pk[1023];
            st = tx_in(g_addr, p->ep, pk, p->mps, &n, &d1);
            if (st == USB_ACK) {
                strikes = 0;
                if (d1 != p->toggle) {
                    vlog("%s: IN EP%u DATA%d repeated (expected DATA%d): dropped", what, p->ep,
                         d1, p->toggle);
                    continue;
                }
                p->toggle = !p->toggle;
                if (n > len - off)
                    fail("%s: EP%u IN sent %zu bytes where %zu remained of the %zu asked", what,
                         p->ep, n, len - off, len);
                memcpy(buf + off, pk, n);
                off += n;
                if (n < p->mps)
                    break; /* short packet: the transfer ends */
                zlp = false;
                continue;
            }
        } else {
            st = tx_out(g_addr, p->ep, p->toggle, buf + off, chunk);
            if (st == USB_ACK) {
                strikes = 0;
                p->toggle = !p->toggle;
                off += chunk;
                zlp = false;
                continue;
            }
        }
        if (st == USB_STALL) {
            vlog("%s: EP%u %s STALL", what, p->ep, p->in ? "IN" : "OUT");
            *done = off;
            return XFER_STALL;
        }
        if (st == USB_NAK) {
            if (g_now > g_deadline)
                fail("%s: EP%u %s still NAKed after the host's %s timeout", what, p->ep,
                     p->in ? "IN" : "OUT", p->ep ? "30 s SCSI command" : "5 s control request");
            continue;
        }
        if (++strikes >= STRIKES)
            fail("%s: EP%u %s: %s %d times in a row", what, p->ep, p->in ? "IN" : "OUT",
                 usb_outcome[st], STRIKES);
    }
    *done = off;
    return XFER_OK;
}

static unsigned g_mps0 = 8;

/* The stages of a control transfer on EP0, setup packet s. */
static int control_stages(const uint8_t s[8], uint8_t *data, uint16_t wlength, size_t *got,
                          const char *what)
{
    int strikes = 0, st;
    while ((st = tx_setup(g_addr, s)) != USB_ACK) {
        /* A device must accept a SETUP: NAK and STALL are protocol errors (USB 2.0 §8.5.3) */
        if (st == USB_NAK || st == USB_STALL)
            fail("%s: SETUP answered with %s (a device must ACK every SETUP, USB 2.0 §8.5.3)",
                 what, usb_outcome[st]);
        if (++strikes >= STRIKES)
            fail("%s: SETUP at address %u: no answer %d times", what, g_addr, STRIKES);
    }
    size_t n = 0;
    bool in = s[0] & 0x80;
    pipe_t p = {.ep = 0, .in = in, .mps = g_mps0, .toggle = true};
    if (wlength) {
        if (transfer(&p, data, wlength, &n, what) == XFER_STALL) {
            vlog("%s: STALL in the data stage", what);
            return XFER_STALL;
        }
    }
    /* Status stage: a zero-length packet, DATA1, the other way (IN when no data). */
    pipe_t ps = {.ep = 0, .in = !(in && wlength), .mps = g_mps0, .toggle = true};
    size_t z;
    uint8_t dummy[1];
    if (transfer(&ps, dummy, 0, &z, what) == XFER_STALL)
        return XFER_STALL;
    if (got)
        *got = n;
    return XFER_OK;
}

/* A control transfer on EP0. Returns XFER_OK or XFER_STALL; *got = data bytes. A control
 * request inside a SCSI command (CLEAR_FEATURE after a STALL) has its own deadline; the
 * command's comes back after it. */
static int control(uint8_t bmreq, uint8_t breq, uint16_t wvalue, uint16_t windex, uint8_t *data,
                   uint16_t wlength, size_t *got, const char *what)
{
    const uint8_t s[8] = {bmreq, breq, (uint8_t)wvalue, (uint8_t)(wvalue >> 8),
                          (uint8_t)windex, (uint8_t)(windex >> 8), (uint8_t)wlength,
                          (uint8_t)(wlength >> 8)};
    uint64_t outer = g_deadline;
    g_deadline = g_now + CTRL_TIMEOUT_NS;
    int rc = control_stages(s, data, wlength, got, what);
    g_deadline = outer;
    return rc;
}

/* ---- descriptors ---- */

static void need(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void need(bool ok, const char *fmt, ...)
{
    if (ok)
        return;
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "flashbridge-msc: descriptor error: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    exit(1);
}

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static void get_descriptor(uint8_t type, uint8_t index, uint16_t langid, uint8_t *buf,
                           uint16_t len, size_t *got, const char *what)
{
    if (control(0x80, 6, (uint16_t)(type << 8 | index), langid, buf, len, got, what) != XFER_OK)
        fail("%s: the device STALLed GET_DESCRIPTOR", what);
}

/* String descriptor as ASCII (fails on characters above 0x7E). */
static void get_string(uint8_t index, uint16_t langid, char *out, size_t cap, const char *name)
{
    uint8_t b[255];
    size_t n;
    char what[64];
    snprintf(what, sizeof what, "GET_DESCRIPTOR(string %u, %s)", index, name);
    get_descriptor(3, index, langid, b, 255, &n, what);
    need(n >= 2 && b[0] == n && b[1] == 3, "%s: %zu bytes, bLength %u, bDescriptorType %u "
         "(bLength must equal the bytes sent, type 3)", what, n, n ? b[0] : 0, n > 1 ? b[1] : 0);
    need(n % 2 == 0, "%s: odd bLength %zu (UTF-16LE code units)", what, n);
    size_t k = 0;
    for (size_t i = 2; i + 1 < n && k + 1 < cap; i += 2) {
        uint16_t c = le16(b + i);
        need(c >= 0x20 && c < 0x7F, "%s: character U+%04X at %zu", what, c, i / 2 - 1);
        out[k++] = (char)c;
    }
    out[k] = '\0';
}

typedef struct device {
    uint8_t dev[18];
    uint16_t vid, pid;
    char manufacturer[128], product[128], serial[128];
    uint8_t config_value, iface;
    pipe_t bin, bout;
} device_t;

static void check_device_descriptor(const uint8_t *d, size_t n, const char *what)
{
    need(n == 18, "%s: %zu bytes (a device descriptor is 18)", what, n);
    need(d[0] == 18, "%s: bLength %u (must be 18)", what, d[0]);
    need(d[1] == 1, "%s: bDescriptorType %u (must be 1, DEVICE)", what, d[1]);
    uint16_t bcd = le16(d + 2);
    need(bcd == 0x0200 || bcd == 0x0110 || bcd == 0x0100 || bcd == 0x0201,
         "%s: bcdUSB 0x%04x", what, bcd);
    need(d[7] == 8 || d[7] == 16 || d[7] == 32 || d[7] == 64,
         "%s: bMaxPacketSize0 %u (8, 16, 32 or 64 at full speed, USB 2.0 §9.6.1)", what, d[7]);
    need(d[4] == 0 || d[4] == 0xEF, "%s: bDeviceClass 0x%02x (a mass storage device declares "
         "its class in the interface: 0x00)", what, d[4]);
    need(d[17] >= 1, "%s: bNumConfigurations %u", what, d[17]);
}

static void check_config(device_t *dv, const uint8_t *c, size_t n)
{
    const char *w = "configuration descriptor";
    need(n >= 9 && c[0] == 9 && c[1] == 2, "%s: bLength %u type %u (must be 9, 2)", w, c[0], c[1]);
    need(le16(c + 2) == n, "%s: wTotalLength %u but %zu bytes came", w, le16(c + 2), n);
    need(c[4] >= 1, "%s: bNumInterfaces 0", w);
    need(c[5] != 0, "%s: bConfigurationValue 0 (0 means unconfigured)", w);
    need((c[7] & 0x80) && !(c[7] & 0x1F), "%s: bmAttributes 0x%02x (bit 7 must be 1, bits 4..0 "
         "zero)", w, c[7]);
    need(c[8] <= 250, "%s: bMaxPower %u (at most 250 = 500 mA)", w, c[8]);
    dv->config_value = c[5];
    unsigned ifaces = 0, eps_expected = 0, eps_seen = 0;
    bool in_msc = false, found = false;
    for (size_t off = c[0]; off < n;) {
        need(n - off >= 2, "descriptor at offset %zu truncated", off);
        uint8_t len = c[off], type = c[off + 1];
        need(len >= 2 && off + len <= n, "descriptor at offset %zu: bLength %u runs past "
             "wTotalLength %zu", off, len, n);
        if (type == 4) {
            need(len == 9, "interface descriptor at %zu: bLength %u (must be 9)", off, len);
            if (in_msc)
                need(eps_seen == eps_expected, "interface %u: bNumEndpoints %u but %u endpoint "
                     "descriptors follow", dv->iface, eps_expected, eps_seen);
            ifaces++;
            in_msc = c[off + 5] == 0x08;
            if (in_msc) {
                need(!found, "two mass storage interfaces");
                need(c[off + 6] == 0x06 && c[off + 7] == 0x50, "interface %u: class 08 subclass "
                     "%02x protocol %02x (flashbridge-msc speaks SCSI transparent 06 over "
                     "bulk-only 50)", c[off + 2], c[off + 6], c[off + 7]);
                need(c[off + 4] == 2, "interface %u: bNumEndpoints %u (bulk-only needs 2)",
                     c[off + 2], c[off + 4]);
                need(c[off + 3] == 0, "interface %u: bAlternateSetting %u", c[off + 2], c[off + 3]);
                dv->iface = c[off + 2];
                eps_expected = c[off + 4];
                eps_seen = 0;
                found = true;
            }
        } else if (type == 5) {
            need(len == 7, "endpoint descriptor at %zu: bLength %u (must be 7)", off, len);
            if (in_msc) {
                uint8_t ea = c[off + 2];
                uint16_t mps = le16(c + off + 4);
                need((ea & 0x70) == 0 && (ea & 0x0F) != 0, "endpoint 0x%02x: bEndpointAddress "
                     "(reserved bits set, or endpoint 0)", ea);
                need((c[off + 3] & 0x03) == 2, "endpoint 0x%02x: bmAttributes 0x%02x (bulk-only "
                     "needs bulk endpoints)", ea, c[off + 3]);
                need(mps == 8 || mps == 16 || mps == 32 || mps == 64, "endpoint 0x%02x: "
                     "wMaxPacketSize %u (full-speed bulk: 8, 16, 32 or 64, USB 2.0 §5.8.3)",
                     ea, mps);
                pipe_t *p = (ea & 0x80) ? &dv->bin : &dv->bout;
                need(p->ep == 0, "two bulk %s endpoints", (ea & 0x80) ? "IN" : "OUT");
                p->ep = ea & 0x0F;
                p->in = ea & 0x80;
                p->mps = mps;
                eps_seen++;
            }
        }
        off += len;
    }
    need(found, "no mass storage interface (class 08)");
    need(eps_seen == eps_expected, "interface %u: bNumEndpoints %u but %u endpoint descriptors",
         dv->iface, eps_expected, eps_seen);
    need(ifaces == c[4], "%s: bNumInterfaces %u but %u interface descriptors", w, c[4], ifaces);
    need(dv->bin.ep && dv->bout.ep, "the mass storage interface lacks a bulk %s endpoint",
         dv->bin.ep ? "OUT" : "IN");
}

static void enumerate(device_t *dv)
{
    /* A device that is not attached yet (a firmware holding D+ low to force a new
     * enumeration) is waited for; once it is, the hub's connect debounce (100 ms,
     * USB 2.0 §7.1.7.3) and a reset. */
    if (!usb_reset(10 * MS)) {
        uint64_t t0 = g_now;
        bool att = false;
        while (!att && g_now - t0 < 3000 * MS) {
            wait_ns(10 * MS);
            att = usb_reset(10 * MS);
        }
        if (!att)
            fail("no device on the bus for 3 s (D+ not pulled up)");
        wait_ns(100 * MS);
        if (!usb_reset(10 * MS))
            fail("the device detached again");
    }
    wait_ns(10 * MS); /* reset recovery, USB 2.0 §7.1.7.5 */
    g_addr = 0;
    g_mps0 = 64; /* a PC's first request: 64 bytes, whatever bMaxPacketSize0 is */
    uint8_t b[255];
    size_t n;
    get_descriptor(1, 0, 0, b, 64, &n, "GET_DESCRIPTOR(device, 64) at address 0");
    need(n >= 8, "first device descriptor: %zu bytes (at least 8)", n);
    need(b[0] == 18 && b[1] == 1, "first device descriptor: bLength %u type %u", b[0], b[1]);
    uint8_t first8[8];
    memcpy(first8, b, 8);
    g_mps0 = b[7];
    need(g_mps0 == 8 || g_mps0 == 16 || g_mps0 == 32 || g_mps0 == 64,
         "bMaxPacketSize0 %u", g_mps0);
    vlog("device descriptor (first read): %zu bytes, bMaxPacketSize0 %u", n, g_mps0);
    if (!usb_reset(10 * MS))
        fail("device gone after the second reset");
    wait_ns(10 * MS);
    if (control(0x00, 5, DEV_ADDR, 0, NULL, 0, NULL, "SET_ADDRESS") != XFER_OK)
        fail("SET_ADDRESS(%u) STALLed", DEV_ADDR);
    wait_ns(2 * MS); /* SetAddress recovery, USB 2.0 §9.2.6.3 */
    g_addr = DEV_ADDR;
    vlog("address %u", DEV_ADDR);
    get_descriptor(1, 0, 0, dv->dev, 18, &n, "GET_DESCRIPTOR(device, 18)");
    check_device_descriptor(dv->dev, n, "device descriptor");
    need(memcmp(dv->dev, first8, 8) == 0, "device descriptor differs between address 0 and %u",
         DEV_ADDR);
    dv->vid = le16(dv->dev + 8);
    dv->pid = le16(dv->dev + 10);
    get_descriptor(2, 0, 0, b, 9, &n, "GET_DESCRIPTOR(configuration, 9)");
    need(n == 9 && b[0] == 9 && b[1] == 2, "configuration descriptor: %zu bytes, bLength %u type "
         "%u", n, b[0], b[1]);
    uint16_t total = le16(b + 2);
    need(total >= 9 + 9 + 7 + 7 && total <= 255, "wTotalLength %u", total);
    uint8_t cfg[255];
    get_descriptor(2, 0, 0, cfg, total, &n, "GET_DESCRIPTOR(configuration, wTotalLength)");
    check_config(dv, cfg, n);
    /* Strings: LANGID list first. */
    get_descriptor(3, 0, 0, b, 255, &n, "GET_DESCRIPTOR(string 0)");
    need(n >= 4 && b[0] == n && b[1] == 3 && n % 2 == 0, "string descriptor 0 (LANGIDs): %zu "
         "bytes, bLength %u type %u", n, b[0], b[1]);
    uint16_t lang = le16(b + 2);
    bool us = false;
    for (size_t i = 2; i + 1 < n; i += 2)
        us = us || le16(b + i) == 0x0409;
    if (us)
        lang = 0x0409;
    dv->manufacturer[0] = dv->product[0] = dv->serial[0] = '\0';
    if (dv->dev[14])
        get_string(dv->dev[14], lang, dv->manufacturer, sizeof dv->manufacturer, "iManufacturer");
    if (dv->dev[15])
        get_string(dv->dev[15], lang, dv->product, sizeof dv->product, "iProduct");
    /* BOT 1.0 §4.1.1: a serial number is required, at least 12 characters 0-9 A-F. */
    need(dv->dev[16] != 0, "iSerialNumber 0: bulk-only devices must have a serial number "
         "(BOT 1.0 §4.1.1)");
    get_string(dv->dev[16], lang, dv->serial, sizeof dv->serial, "iSerialNumber");
    size_t sl = strlen(dv->serial);
    need(sl >= 12, "serial number \"%s\": %zu characters (at least 12, BOT 1.0 §4.1.1)",
         dv->serial, sl);
    for (size_t i = 0; i < sl; i++)
        need((dv->serial[i] >= '0' && dv->serial[i] <= '9') ||
             (dv->serial[i] >= 'A' && dv->serial[i] <= 'F'),
             "serial number \"%s\": '%c' is not 0-9 or A-F (BOT 1.0 §4.1.1)", dv->serial,
             dv->serial[i]);
    if (control(0x00, 9, dv->config_value, 0, NULL, 0, NULL, "SET_CONFIGURATION") != XFER_OK)
        fail("SET_CONFIGURATION(%u) STALLed", dv->config_value);
    dv->bin.toggle = dv->bout.toggle = false; /* DATA0 after SET_CONFIGURATION */
    uint8_t lun = 0;
    size_t got = 0;
    int r = control(0xA1, 0xFE, 0, dv->iface, &lun, 1, &got, "GET_MAX_LUN");
    if (r == XFER_STALL) {
        lun = 0; /* BOT §3.2: a device without LUNs may STALL */
    } else {
        need(got == 1, "GET_MAX_LUN returned %zu bytes (1)", got);
        need(lun <= 15, "GET_MAX_LUN %u (at most 15)", lun);
    }
    printf("device %04x:%04x \"%s\" \"%s\" serial %s; bulk IN 0x%02x OUT 0x%02x, %u bytes; "
           "max LUN %u\n",
           dv->vid, dv->pid, dv->manufacturer, dv->product, dv->serial, 0x80 | dv->bin.ep,
           dv->bout.ep, dv->bin.mps, lun);
}

/* ---- bulk-only transport, SCSI ---- */

static device_t g_dev;
static uint32_t g_tag = 0x46420000u;

typedef struct stats {
    const char *name;
    unsigned sent, good, failed;
} cmd_stat_t;
static cmd_stat_t g_stats[32];

static cmd_stat_t *stat_for(const char *name)
{
    const unsigned n = sizeof g_stats / sizeof g_stats[0];
    for (unsigned i = 0; i < n; i++) {
        if (!g_stats[i].name)
            g_stats[i].name = name;
        if (strcmp(g_stats[i].name, name) == 0)
            return &g_stats[i];
    }
    g_stats[n - 1].name = "(others)";
    return &g_stats[n - 1];
}

static void clear_halt(pipe_t *p)
{
    uint16_t ea = (uint16_t)(p->ep | (p->in ? 0x80u : 0u));
    if (control(0x02, 1, 0, ea, NULL, 0, NULL, "CLEAR_FEATURE(ENDPOINT_HALT)") != XFER_OK)
        fail("CLEAR_FEATURE(ENDPOINT_HALT) on 0x%02x STALLed", ea);
    p->toggle = false;
    vlog("CLEAR_FEATURE(ENDPOINT_HALT) 0x%02x", ea);
}

/* BOT §5.3.4: Bulk-Only Mass Storage Reset, then clear both halts. */
static void reset_recovery(const char *why)
{
    vlog("reset recovery: %s", why);
    if (control(0x21, 0xFF, 0, g_dev.iface, NULL, 0, NULL, "Bulk-Only Mass Storage Reset") !=
        XFER_OK)
        fail("Bulk-Only Mass Storage Reset STALLed (after %s)", why);
    clear_halt(&g_dev.bin);
    clear_halt(&g_dev.bout);
}

typedef struct sense {
    uint8_t key, asc, ascq;
} sense_t;

enum { CMD_GOOD = 0, CMD_FAILED = 1, CMD_PHASE = 2 };
static bool g_data_out; /* the next command's data phase goes to the device */

static int scsi(const char *name, const uint8_t *cdb, uint8_t cdblen, uint8_t *data,
                uint32_t len, uint32_t *residue, sense_t *sense);

static void request_sense(sense_t *s)
{
    uint8_t cdb[6] = {0x03, 0, 0, 0, 18, 0}, b[18];
    memset(s, 0, sizeof *s);
    if (scsi("REQUEST SENSE", cdb, 6, b, 18, NULL, NULL) != CMD_GOOD)
        fail("REQUEST SENSE failed");
    need((b[0] & 0x7F) == 0x70 || (b[0] & 0x7F) == 0x71, "sense data: response code 0x%02x "
         "(fixed format 0x70/0x71 asked for)", b[0]);
    s->key = b[2] & 0x0F;
    s->asc = b[12];
    s->ascq = b[13];
}

/* One command through the transport. Returns the CSW status; a failed command's sense
 * data in *sense (REQUEST SENSE sent) when sense is not NULL. */
static int scsi(const char *name, const uint8_t *cdb, uint8_t cdblen, uint8_t *data,
                uint32_t len, uint32_t *residue, sense_t *sense)
{
    cmd_stat_t *cs = stat_for(name);
    cs->sent++;
    bool out = g_data_out; /* this command's only: REQUEST SENSE below reads */
    g_data_out = false;
    uint32_t tag = ++g_tag;
    uint8_t cbw[31] = {'U', 'S', 'B', 'C'};
    memcpy(cbw + 4, &tag, 4); /* little-endian host: as the tag's bytes */
    cbw[8] = (uint8_t)len;
    cbw[9] = (uint8_t)(len >> 8);
    cbw[10] = (uint8_t)(len >> 16);
    cbw[11] = (uint8_t)(len >> 24);
    cbw[12] = len && !out ? 0x80 : 0x00;
    cbw[13] = 0;
    cbw[14] = cdblen;
    memcpy(cbw + 15, cdb, cdblen);
    size_t done;
    g_deadline = g_now + SCSI_TIMEOUT_NS;
    if (transfer(&g_dev.bout, cbw, 31, &done, name) == XFER_STALL) {
        reset_recovery("CBW STALLed");
        fail("%s: the CBW was refused (STALL)", name);
    }
    size_t got = 0;
    pipe_t *dp = out ? &g_dev.bout : &g_dev.bin;
    if (len && transfer(dp, data, len, &got, name) == XFER_STALL)
        clear_halt(dp); /* BOT §6.7.2 / §6.7.3: then the CSW */
    uint8_t csw[64];
    size_t cn = 0;
    int tries = 0;
    for (;;) {
        pipe_t *p = &g_dev.bin;
        if (transfer(p, csw, 13, &cn, name) == XFER_OK)
            break;
        clear_halt(p);
        if (++tries == 2) {
            reset_recovery("CSW STALLed twice");
            fail("%s: no CSW", name);
        }
    }
    if (cn != 13 || memcmp(csw, "USBS", 4) != 0 || memcmp(csw + 4, &tag, 4) != 0) {
        reset_recovery("invalid CSW");
        fail("%s: invalid CSW (%zu bytes, signature %.4s, tag %s)", name, cn, (char *)csw,
             memcmp(csw + 4, &tag, 4) == 0 ? "ok" : "wrong");
    }
    uint32_t res = (uint32_t)csw[8] | (uint32_t)csw[9] << 8 | (uint32_t)csw[10] << 16 |
                   (uint32_t)csw[11] << 24;
    int st = csw[12];
    if (st > 2) {
        reset_recovery("CSW status > 2");
        fail("%s: CSW status %d", name, st);
    }
    if (st == CMD_PHASE) {
        cs->failed++;
        vlog("SCSI %-30s -> PHASE ERROR", name);
        reset_recovery("phase error");
        return st;
    }
    if (res > len)
        fail("%s: CSW residue %u above the %u bytes asked", name, res, len);
    if (residue)
        *residue = res;
    if (st == CMD_GOOD) {
        cs->good++;
        vlog("SCSI %-30s -> GOOD, %zu bytes, residue %u", name, got, res);
        return st;
    }
    cs->failed++;
    if (sense) {
        request_sense(sense);
        vlog("SCSI %-30s -> CHECK CONDITION, sense %02X/%02X/%02X", name, sense->key, sense->asc,
             sense->ascq);
    } else {
        vlog("SCSI %-30s -> CHECK CONDITION", name);
    }
    return st;
}

static int tur_until_ready(void)
{
    uint8_t cdb[6] = {0};
    for (int i = 0; i < 100; i++) {
        sense_t s;
        if (scsi("TEST UNIT READY", cdb, 6, NULL, 0, NULL, &s) == CMD_GOOD)
            return 0;
        if (s.key == 6)
            continue; /* UNIT ATTENTION: reported once, then ready */
        if (s.key == 2 && s.asc == 0x04) {
            wait_ns(10 * MS);
            continue;
        }
        fail("TEST UNIT READY: sense %02X/%02X/%02X", s.key, s.asc, s.ascq);
    }
    fail("TEST UNIT READY: never ready");
}

static uint32_t read_capacity(void)
{
    uint8_t cdb[10] = {0x25}, b[8];
    for (int i = 0; i < 10; i++) {
        sense_t s;
        uint32_t res = 0;
        if (scsi("READ CAPACITY(10)", cdb, 10, b, 8, &res, &s) == CMD_GOOD) {
            need(res == 0, "READ CAPACITY(10): residue %u", res);
            uint32_t last = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
            uint32_t bl = (uint32_t)b[4] << 24 | (uint32_t)b[5] << 16 | (uint32_t)b[6] << 8 | b[7];
            if (bl != 512)
                fail("READ CAPACITY(10): block length %u (flashbridge-msc reads 512-byte blocks)",
                     bl);
            if (last == 0xFFFFFFFFu)
                fail("READ CAPACITY(10): capacity needs READ CAPACITY(16)");
            return last + 1u;
        }
        if (s.key != 6 && !(s.key == 2 && s.asc == 4))
            fail("READ CAPACITY(10): sense %02X/%02X/%02X", s.key, s.asc, s.ascq);
    }
    fail("READ CAPACITY(10) keeps failing");
}

static void usage(FILE *f)
{
    fprintf(f, "usage: flashbridge-msc --sim SOCKET --image OUT.img [-v] [--chunk SECTORS]\n"
               "Enumerate the emulated board's USB mass storage device (flashbridge-emu's "
               "socket),\ncheck its descriptors and read the whole volume into OUT.img.\n"
               "  -v               log every SCSI command and its status\n"
               "  --chunk N        sectors per READ(10) (default 64, 1..128)\n"
               "  --max-restarts N restarts from LBA 0 after a medium change (default 20)\n"
               "  --extra-commands also send what PCs send besides (READ FORMAT CAPACITIES,\n"
               "                   MODE SENSE(10), WRITE(10), READ(16), ...) and log the answers\n"
               "  --suspend-ms N   after enumeration, suspend the bus for N ms (no SOF; the\n"
               "                   device must suspend and wake up on the resume)\n"
               "  --nak-retry-us N NAKed transactions repeated by the server for up to N us\n"
               "                   per request (default 1000, 0 = one transaction)\n"
               );
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"sim", required_argument, NULL, 's'},     {"image", required_argument, NULL, 'i'},
        {"verbose", no_argument, NULL, 'v'},       {"chunk", required_argument, NULL, 'c'},
        {"max-restarts", required_argument, NULL, 'r'}, {"help", no_argument, NULL, 'h'},
        {"nak-retry-us", required_argument, NULL, 'n'},
        {"suspend-ms", required_argument, NULL, 'u'},
        {"extra-commands", no_argument, NULL, 'x'},
        {NULL, 0, NULL, 0},
    };
    const char *sock = NULL, *image = NULL;
    unsigned chunk = 64, max_restarts = 20, suspend_ms = 0;
    bool extra = false;
    int c;
    while ((c = getopt_long(argc, argv, "v", opts, NULL)) != -1) {
        switch (c) {
        case 's': sock = optarg; break;
        case 'i': image = optarg; break;
        case 'v': g_verbose = true; break;
        case 'c':
            chunk = (unsigned)strtoul(optarg, NULL, 0);
            if (chunk < 1 || chunk > 128) {
                usage(stderr);
                return 2;
            }
            break;
        case 'r': max_restarts = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'n': g_nak_retry_us = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 'u': suspend_ms = (unsigned)strtoul(optarg, NULL, 0); break;
        case 'x': extra = true; break;
        case 'h': usage(stdout); return 0;
        default: usage(stderr); return 2;
        }
    }
    if (!sock || !image || optind != argc) {
        usage(stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    connect_sim(sock);
    uint64_t t_start = g_now;
    enumerate(&g_dev);
    if (suspend_ms) {
        /* Selective suspend as a PC's autosuspend does it: no SOF for suspend_ms; the
         * next transaction resumes the bus (20 ms of K, USB 2.0 §7.1.7.7). */
        uint8_t r[8];
        request(OP_USB_SUSPEND, NULL, 0, r, sizeof r, NULL);
        wait_ns((uint64_t)suspend_ms * MS);
        vlog("bus suspended %u ms, resuming", suspend_ms);
    }

    uint8_t inq[36];
    uint8_t cdb_inq[6] = {0x12, 0, 0, 0, 36, 0};
    uint32_t res;
    sense_t s;
    if (scsi("INQUIRY", cdb_inq, 6, inq, 36, &res, &s) != CMD_GOOD)
        fail("INQUIRY failed: sense %02X/%02X/%02X", s.key, s.asc, s.ascq);
    need(res == 0 && inq[4] >= 31, "INQUIRY: %u bytes of 36 came, ADDITIONAL LENGTH %u "
         "(standard data is at least 36 bytes, SPC-2 §7.3.2)", 36 - res, inq[4]);
    need((inq[0] & 0x1F) == 0x00, "INQUIRY: peripheral device type 0x%02x (0 = direct access)",
         inq[0] & 0x1F);
    printf("INQUIRY: \"%.8s\" \"%.16s\" \"%.4s\"%s\n", inq + 8, inq + 16, inq + 32,
           (inq[1] & 0x80) ? ", removable" : "");
    tur_until_ready();
    uint32_t blocks = read_capacity();
    uint8_t ms[192];
    uint8_t cdb_ms[6] = {0x1A, 0, 0x3F, 0, 192, 0};
    if (scsi("MODE SENSE(6)", cdb_ms, 6, ms, 192, &res, &s) == CMD_GOOD) {
        need(192 - res >= 4 && ms[0] + 1u == 192 - res, "MODE SENSE(6): %u bytes came, MODE "
             "DATA LENGTH %u says %u (SPC §7.4.3)", 192 - res, ms[0], ms[0] + 1u);
        printf("MODE SENSE(6): %s\n", (ms[2] & 0x80) ? "write protected" : "writable");
    } else {
        printf("MODE SENSE(6): refused, sense %02X/%02X/%02X\n", s.key, s.asc, s.ascq);
    }
    uint8_t cdb_pa[6] = {0x1E, 0, 0, 0, 1, 0};
    if (scsi("PREVENT ALLOW MEDIUM REMOVAL", cdb_pa, 6, NULL, 0, NULL, &s) != CMD_GOOD)
        printf("PREVENT ALLOW MEDIUM REMOVAL: refused, sense %02X/%02X/%02X\n", s.key, s.asc,
               s.ascq);

    if (extra) {
        /* Commands PCs send besides the essential ones (Windows: READ FORMAT CAPACITIES,
         * MODE SENSE page 0x1C; macOS: MODE SENSE(10); Linux: SYNCHRONIZE CACHE, START
         * STOP UNIT at eject; any: a WRITE, READ(16), VPD pages): each answered one way
         * or another, the device still working after it. */
        static const struct {
            const char *name;
            uint8_t cdb[16], len;
            uint32_t alloc;
            bool out;
        } xs[] = {
            {"READ FORMAT CAPACITIES", {0x23, 0, 0, 0, 0, 0, 0, 0, 0xFC, 0}, 10, 252, false},
            {"MODE SENSE(10) page 3F", {0x5A, 0, 0x3F, 0, 0, 0, 0, 0, 0xC0, 0}, 10, 192, false},
            {"MODE SENSE(6) page 1C", {0x1A, 0, 0x1C, 0, 0xC0, 0}, 6, 192, false},
            {"MODE SENSE(6) page 08", {0x1A, 0, 0x08, 0, 0xC0, 0}, 6, 192, false},
            {"INQUIRY VPD 80", {0x12, 1, 0x80, 0, 0xFF, 0}, 6, 255, false},
            {"READ CAPACITY(16)", {0x9E, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0}, 16, 32,
             false},
            {"READ(16)", {0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0}, 16, 512, false},
            {"SYNCHRONIZE CACHE(10)", {0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 10, 0, false},
            {"START STOP UNIT (start)", {0x1B, 0, 0, 0, 1, 0}, 6, 0, false},
            {"WRITE(10)", {0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0}, 10, 512, true},
            {"TEST UNIT READY", {0}, 6, 0, false},
        };
        static uint8_t xb[512];
        for (size_t i = 0; i < sizeof xs / sizeof xs[0]; i++) {
            memset(xb, 0, sizeof xb);
            g_data_out = xs[i].out;
            int st = scsi(xs[i].name, xs[i].cdb, xs[i].len, xb, xs[i].alloc, &res, &s);
            g_data_out = false;
            if (st == CMD_GOOD)
                printf("%s: good, %u bytes\n", xs[i].name, xs[i].alloc - res);
            else if (st == CMD_FAILED)
                printf("%s: check condition, sense %02X/%02X/%02X\n", xs[i].name, s.key, s.asc,
                       s.ascq);
            else
                printf("%s: phase error (reset recovery done)\n", xs[i].name);
        }
    }

    uint8_t *img = NULL;
    unsigned restarts = 0;
    uint32_t lba = 0;
    img = malloc((size_t)blocks * 512u);
    if (!img)
        fail("out of memory for %u blocks", blocks);
    uint64_t t_read = g_now;
    while (lba < blocks) {
        uint32_t n = blocks - lba < chunk ? blocks - lba : chunk;
        uint8_t cdb[10] = {0x28, 0, (uint8_t)(lba >> 24), (uint8_t)(lba >> 16), (uint8_t)(lba >> 8),
                           (uint8_t)lba, 0, (uint8_t)(n >> 8), (uint8_t)n, 0};
        int st = scsi("READ(10)", cdb, 10, img + (size_t)lba * 512u, n * 512u, &res, &s);
        if (st == CMD_GOOD) {
            need(res == 0, "READ(10) at %u: residue %u on a good status", lba, res);
            lba += n;
            continue;
        }
        if (st == CMD_PHASE)
            fail("READ(10) at LBA %u: phase error", lba);
        if (s.key == 6 && s.asc == 0x28) {
            if (++restarts > max_restarts)
                fail("medium changed %u times while reading: giving up", restarts - 1);
            printf("READ(10) at LBA %u: UNIT ATTENTION 06/28/%02X (medium may have changed): "
                   "starting again from LBA 0\n", lba, s.ascq);
            uint32_t nb = read_capacity();
            if (nb != blocks) {
                uint8_t *ni = realloc(img, (size_t)nb * 512u);
                if (!ni)
                    fail("out of memory");
                img = ni;
                blocks = nb;
            }
            lba = 0;
            continue;
        }
        if (s.key == 2 && s.asc == 0x04) {
            wait_ns(1 * MS); /* becoming ready: retry */
            continue;
        }
        fail("READ(10) at LBA %u: sense %02X/%02X/%02X", lba, s.key, s.asc, s.ascq);
    }
    uint64_t t_end = g_now;
    uint8_t cdb_al[6] = {0x1E, 0, 0, 0, 0, 0};
    (void)scsi("PREVENT ALLOW MEDIUM REMOVAL", cdb_al, 6, NULL, 0, NULL, &s);

    FILE *f = fopen(image, "wb");
    if (!f || fwrite(img, 512u, blocks, f) != blocks || fclose(f) != 0)
        fail("%s: %s", image, strerror(errno));
    free(img);
    printf("image %s: %u blocks (%u bytes); read in %.3f s of virtual time (%.0f KiB/s), "
           "%u restart(s); %lu transactions, %lu NAKed; total %.3f s\n",
           image, blocks, blocks * 512u, (double)(t_end - t_read) / 1e9,
           (double)blocks * 512.0 / 1024.0 / ((double)(t_end - t_read) / 1e9), restarts,
           g_transactions, g_naks, (double)(g_now - t_start) / 1e9);
    for (unsigned i = 0; i < sizeof g_stats / sizeof g_stats[0] && g_stats[i].name; i++)
        printf("  SCSI %-30s sent %u, good %u, check condition %u\n", g_stats[i].name,
               g_stats[i].sent, g_stats[i].good, g_stats[i].failed);
    close(g_fd);
    return 0;
}
