/* The USB device core (usbd.c) and the mass-storage function (msc_usb.c) against a
 * fake controller: enumeration with our descriptors, the standard requests and their
 * errors (STALL), SET_ADDRESS after its status stage, the class requests, the
 * bulk-only transport end to end over a fake source (CBW, data, halts, CSW), Reset
 * Recovery after an invalid CBW, a busy source (IN NAKs, never a failed command),
 * control data stages that need a zero-length packet. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fake_dcd.h"
#include "fake_source.h"
#include "fatvol.h"
#include "msc_usb.h"
#include "scsi.h"
#include "usbd.h"

#define CAP (256u * 1024u)

static struct fake_source src;
static struct fatvol vol;
static struct msc msc;
static char serial[MSC_USB_SERIAL_LEN + 1];
static bool source_ready = true;
static int acquired, released;

static bool acquire(void)
{
    if (!source_ready)
        return false;
    acquired++;
    return true;
}

static void release(void)
{
    released++;
}

static void run(void)
{
    int idle = 0;
    for (int i = 0; i < 100000 && idle < 2; i++)
        idle = msc_usb_task() ? 0 : idle + 1;
}

static int setup(void **state)
{
    (void)state;
    static const uint8_t uid[12] = {0x12, 0x34, 0x56, 0x78, 0x9A, 0xBC,
                                    0xDE, 0xF0, 0x01, 0x23, 0x45, 0x67};
    fd_init();
    fake_init(&src, CAP);
    fake_append(&src, 5000, -1);
    static const struct fatvol_params p = {CAP, 0x1234u, "2.0"};
    assert_true(fatvol_init(&vol, &src.ops, &p));
    msc_init(&msc, &vol);
    msc_usb_serial(uid, serial);
    source_ready = true;
    acquired = released = 0;
    struct msc_usb_params up = {&msc, serial, 0x0200u, acquire, release};
    msc_usb_init(&up);
    fd_bus_reset();
    run();
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    fake_free(&src);
    return 0;
}

/* One control transfer as a host does it; FD_STALL if any stage was stalled. */
static enum fd_result ctrl(uint8_t type, uint8_t req, uint16_t value, uint16_t index,
                           uint16_t length, uint8_t *buf, uint16_t *got)
{
    uint8_t p[8] = {type, req, (uint8_t)value, (uint8_t)(value >> 8), (uint8_t)index,
                    (uint8_t)(index >> 8), (uint8_t)length, (uint8_t)(length >> 8)};
    uint16_t dummy;
    if (!got)
        got = &dummy;
    *got = 0;
    fd_setup(p);
    run();
    uint8_t pk[DCD_MPS];
    uint16_t n = 0;
    enum fd_result r;
    if (type & 0x80) {
        for (;;) {
            r = fd_in(0x80, pk, &n);
            if (r == FD_STALL)
                return r;
            assert_int_equal(r, FD_ACK);
            assert_true(*got + n <= length);
            memcpy(buf + *got, pk, n);
            *got = (uint16_t)(*got + n);
            run();
            if (n < DCD_MPS || *got == length)
                break;
        }
        r = fd_out(0x00, NULL, 0); /* status */
        if (r == FD_STALL)
            return r;
        assert_int_equal(r, FD_ACK);
        run();
    } else {
        r = fd_in(0x80, pk, &n); /* status */
        if (r == FD_STALL)
            return r;
        assert_int_equal(r, FD_ACK);
        assert_int_equal(n, 0);
        run();
    }
    return FD_ACK;
}

static void enumerate(void)
{
    uint8_t b[256];
    uint16_t n;
    assert_int_equal(ctrl(0x80, 6, 0x0100, 0, 64, b, &n), FD_ACK);
    assert_int_equal(ctrl(0x00, 5, 9, 0, 0, NULL, NULL), FD_ACK);
    assert_int_equal(fd.address, 9);
    assert_int_equal(ctrl(0x00, 9, 1, 0, 0, NULL, NULL), FD_ACK);
    assert_true(usbd_configured());
}

/* ---- enumeration and standard requests ---- */

static void test_device_descriptor(void **state)
{
    (void)state;
    uint8_t b[256];
    uint16_t n;
    assert_int_equal(ctrl(0x80, 6, 0x0100, 0, 8, b, &n), FD_ACK); /* Linux asks 8 first */
    assert_int_equal(n, 8);
    assert_int_equal(ctrl(0x80, 6, 0x0100, 0, 0xFF, b, &n), FD_ACK);
    assert_int_equal(n, 18);
    static const uint8_t want[18] = {18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x09, 0x12, 0x01, 0x00,
                                     0x00, 0x02, 1, 2, 3, 1};
    assert_memory_equal(b, want, 18);
}

static void test_set_address_after_status(void **state)
{
    (void)state;
    uint8_t p[8] = {0x00, 5, 42, 0, 0, 0, 0, 0};
    fd_setup(p);
    run();
    assert_int_equal(fd.set_address_calls, 0); /* not before the status stage */
    uint8_t pk[DCD_MPS];
    uint16_t n;
    assert_int_equal(fd_in(0x80, pk, &n), FD_ACK);
    assert_int_equal(n, 0);
    assert_int_equal(fd.set_address_calls, 0);
    run();
    assert_int_equal(fd.set_address_calls, 1);
    assert_int_equal(fd.address, 42);
    assert_int_equal(usbd_address(), 42);
    /* an address over 127 is a request error */
    assert_int_equal(ctrl(0x00, 5, 200, 0, 0, NULL, NULL), FD_STALL);
}

static void test_configuration_descriptor(void **state)
{
    (void)state;
    uint8_t b[256];
    uint16_t n;
    assert_int_equal(ctrl(0x80, 6, 0x0200, 0, 9, b, &n), FD_ACK); /* header first */
    assert_int_equal(n, 9);
    assert_int_equal(b[2] | b[3] << 8, 32);
    assert_int_equal(ctrl(0x80, 6, 0x0200, 0, 255, b, &n), FD_ACK);
    assert_int_equal(n, 32);
    static const uint8_t want[32] = {
        9, 2, 32, 0, 1, 1, 0, 0x80, 50,  9, 4, 0, 0, 2, 0x08, 0x06, 0x50, 0,
        7, 5, 0x81, 2, 64, 0, 0,         7, 5, 0x02, 2, 64, 0, 0};
    assert_memory_equal(b, want, 32);
    assert_int_equal(ctrl(0x80, 6, 0x0201, 0, 255, b, &n), FD_STALL); /* no config 1 */
}

static void test_strings(void **state)
{
    (void)state;
    uint8_t b[256];
    uint16_t n;
    assert_int_equal(ctrl(0x80, 6, 0x0300, 0, 255, b, &n), FD_ACK);
    static const uint8_t lang[4] = {4, 3, 0x09, 0x04};
    assert_int_equal(n, 4);
    assert_memory_equal(b, lang, 4);
    assert_int_equal(ctrl(0x80, 6, 0x0303, 0x0409, 255, b, &n), FD_ACK);
    assert_int_equal(n, 2 + 2 * 24);
    assert_int_equal(b[0], n);
    assert_int_equal(b[1], 3);
    const char *want = "123456789ABCDEF001234567";
    for (int i = 0; i < 24; i++) {
        assert_int_equal(b[2 + 2 * i], want[i]);
        assert_int_equal(b[3 + 2 * i], 0);
    }
    assert_int_equal(ctrl(0x80, 6, 0x0302, 0x0409, 255, b, &n), FD_ACK);
    assert_int_equal(n, 2 + 2 * 16); /* "flashbridge disk" */
    assert_int_equal(ctrl(0x80, 6, 0x0301, 0x0409, 2, b, &n), FD_ACK); /* length first */
    assert_int_equal(n, 2);
    assert_int_equal(b[0], 2 + 2 * 11); /* "flashbridge" */
    assert_int_equal(ctrl(0x80, 6, 0x0304, 0x0409, 255, b, &n), FD_STALL);
    assert_int_equal(ctrl(0x80, 6, 0x0600, 0, 10, b, &n), FD_STALL); /* qualifier: FS only */
    /* after a STALL the next SETUP is served */
    assert_int_equal(ctrl(0x80, 6, 0x0100, 0, 18, b, &n), FD_ACK);
    assert_int_equal(n, 18);
}

static void test_configuration_and_status(void **state)
{
    (void)state;
    uint8_t b[8];
    uint16_t n;
    /* in the default state (address 0) configuration requests are errors */
    assert_int_equal(ctrl(0x00, 9, 1, 0, 0, NULL, NULL), FD_STALL);
    assert_int_equal(ctrl(0x00, 5, 3, 0, 0, NULL, NULL), FD_ACK);
    assert_int_equal(ctrl(0x80, 8, 0, 0, 1, b, &n), FD_ACK);
    assert_int_equal(b[0], 0);
    assert_false(fd.in[1].open);
    /* class requests and bulk endpoints need the configured state */
    assert_int_equal(ctrl(0xA1, 0xFE, 0, 0, 1, b, &n), FD_STALL);
    assert_int_equal(ctrl(0x82, 0, 0, 0x81, 2, b, &n), FD_STALL);
    assert_int_equal(ctrl(0x00, 9, 2, 0, 0, NULL, NULL), FD_STALL); /* no configuration 2 */
    assert_int_equal(ctrl(0x00, 9, 1, 0, 0, NULL, NULL), FD_ACK);
    assert_int_equal(ctrl(0x80, 8, 0, 0, 1, b, &n), FD_ACK);
    assert_int_equal(b[0], 1);
    assert_true(fd.in[1].open && fd.out[2].open);
    assert_true(fd.out[2].armed); /* ready for a CBW */
    assert_int_equal(ctrl(0x80, 0, 0, 0, 2, b, &n), FD_ACK); /* device */
    assert_int_equal(n, 2);
    assert_int_equal(b[0] | b[1], 0);
    assert_int_equal(ctrl(0x81, 0, 0, 0, 2, b, &n), FD_ACK); /* interface 0 */
    assert_int_equal(ctrl(0x81, 0, 0, 1, 2, b, &n), FD_STALL); /* no interface 1 */
    assert_int_equal(ctrl(0x82, 0, 0, 0x81, 2, b, &n), FD_ACK);
    assert_int_equal(b[0], 0);
    assert_int_equal(ctrl(0x82, 0, 0, 0x83, 2, b, &n), FD_STALL); /* no such endpoint */
    assert_int_equal(ctrl(0x81, 10, 0, 0, 1, b, &n), FD_ACK); /* GET_INTERFACE */
    assert_int_equal(b[0], 0);
    assert_int_equal(ctrl(0x01, 11, 0, 0, 0, NULL, NULL), FD_ACK); /* SET_INTERFACE 0 */
    assert_int_equal(ctrl(0x01, 11, 1, 0, 0, NULL, NULL), FD_STALL);
    /* remote wakeup and test mode are not supported */
    assert_int_equal(ctrl(0x00, 3, 1, 0, 0, NULL, NULL), FD_STALL);
    assert_int_equal(ctrl(0x00, 3, 2, 0x0100, 0, NULL, NULL), FD_STALL);
    /* a vendor request */
    assert_int_equal(ctrl(0xC0, 0x33, 0, 0, 4, b, &n), FD_STALL);
    /* SET_CONFIGURATION 0 closes the bulk endpoints */
    assert_int_equal(ctrl(0x00, 9, 0, 0, 0, NULL, NULL), FD_ACK);
    assert_false(fd.in[1].open || fd.out[2].open);
    assert_false(usbd_configured());
}

static void test_class_requests(void **state)
{
    (void)state;
    uint8_t b[8];
    uint16_t n;
    enumerate();
    assert_int_equal(ctrl(0xA1, 0xFE, 0, 0, 1, b, &n), FD_ACK);
    assert_int_equal(n, 1);
    assert_int_equal(b[0], 0);
    assert_int_equal(ctrl(0xA1, 0xFE, 0, 0, 2, b, &n), FD_STALL); /* wLength must be 1 */
    assert_int_equal(ctrl(0xA1, 0xFE, 0, 1, 1, b, &n), FD_STALL); /* interface 1 */
    assert_int_equal(ctrl(0x21, 0xFF, 0, 0, 0, NULL, NULL), FD_ACK);
    assert_int_equal(ctrl(0x21, 0xFF, 1, 0, 0, NULL, NULL), FD_STALL);
    assert_int_equal(ctrl(0x21, 0xFF, 0, 0, 1, NULL, NULL), FD_STALL); /* OUT data */
    assert_int_equal(ctrl(0xA1, 0x42, 0, 0, 1, b, &n), FD_STALL);
}

static void test_bus_reset_and_suspend(void **state)
{
    (void)state;
    enumerate();
    fd_suspend();
    run();
    assert_true(usbd_suspended());
    fd_resume();
    run();
    assert_false(usbd_suspended());
    fd_bus_reset();
    run();
    assert_false(usbd_configured());
    assert_int_equal(usbd_address(), 0);
    assert_true(fd.out[0].armed);
    enumerate(); /* and again from the start */
}

/* ---- bulk-only transport ---- */

static uint32_t tag_no = 0x100;

static void cbw(uint8_t *c, uint32_t tag, uint32_t len, bool in, const uint8_t *cdb, uint8_t cl)
{
    memset(c, 0, MSC_CBW_LEN);
    memcpy(c, "USBC", 4);
    for (int i = 0; i < 4; i++) {
        c[4 + i] = (uint8_t)(tag >> (8 * i));
        c[8 + i] = (uint8_t)(len >> (8 * i));
    }
    c[12] = in ? 0x80 : 0;
    c[14] = cl;
    memcpy(c + 15, cdb, cl);
}

/* Reads bulk IN packets until a short one or max bytes; stops at a STALL. */
static enum fd_result bulk_in(uint8_t *buf, uint32_t max, uint32_t *got)
{
    *got = 0;
    for (;;) {
        uint8_t pk[DCD_MPS];
        uint16_t n;
        enum fd_result r = fd_in(0x81, pk, &n);
        if (r == FD_STALL)
            return r;
        assert_int_equal(r, FD_ACK);
        assert_true(*got + n <= max);
        memcpy(buf + *got, pk, n);
        *got += n;
        run();
        if (n < DCD_MPS || *got == max)
            return FD_ACK;
    }
}

static uint32_t le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void expect_csw(uint32_t tag, uint32_t residue, uint8_t status)
{
    uint8_t c[64];
    uint32_t n;
    assert_int_equal(bulk_in(c, 64, &n), FD_ACK);
    assert_int_equal(n, 13);
    assert_memory_equal(c, "USBS", 4);
    assert_int_equal(le32(c + 4), tag);
    assert_int_equal(le32(c + 8), residue);
    assert_int_equal(c[12], status);
    assert_true(fd.out[2].armed); /* the next CBW is welcome */
}

static void send_cbw(uint32_t tag, uint32_t len, bool in, const uint8_t *cdb, uint8_t cl)
{
    uint8_t c[MSC_CBW_LEN];
    cbw(c, tag, len, in, cdb, cl);
    assert_int_equal(fd_out(0x02, c, sizeof c), FD_ACK);
    run();
}

static void test_bot_inquiry_and_read(void **state)
{
    (void)state;
    enumerate();
    static const uint8_t inquiry[6] = {0x12, 0, 0, 0, 36, 0};
    uint8_t b[8192];
    uint32_t n;
    uint32_t tag = tag_no++;
    send_cbw(tag, 36, true, inquiry, 6);
    assert_int_equal(bulk_in(b, 36, &n), FD_ACK);
    assert_int_equal(n, 36);
    assert_memory_equal(b + 8, "flashbrgflashbridge disk2.0 ", 28);
    expect_csw(tag, 0, 0);
    /* 8 sectors from LBA 0: byte for byte what the volume builds */
    static const uint8_t read10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0};
    tag = tag_no++;
    send_cbw(tag, 4096, true, read10, 10);
    assert_int_equal(bulk_in(b, 4096, &n), FD_ACK);
    assert_int_equal(n, 4096);
    for (uint32_t s = 0; s < 8; s++) {
        uint8_t sec[FATVOL_SECTOR];
        assert_int_equal(fatvol_read(&vol, s, sec), FATVOL_OK);
        assert_memory_equal(b + s * FATVOL_SECTOR, sec, FATVOL_SECTOR);
    }
    expect_csw(tag, 0, 0);
    assert_int_equal(acquired, 8); /* one acquire per READ(10) sector, each released */
    assert_int_equal(released, 8);
    /* data toggles alternate across packets: 1 (INQUIRY) + 1 (CSW) + 64 + 1 packets */
    assert_int_equal(fd.in[1].toggle, (1 + 1 + 64 + 1) % 2);
}

static void test_bot_halt_then_csw(void **state)
{
    (void)state;
    enumerate();
    /* the host asks for 64 bytes of INQUIRY: 36 come, then IN halts (case Hi > Di) */
    static const uint8_t inquiry[6] = {0x12, 0, 0, 0, 64, 0};
    uint8_t b[128];
    uint32_t n;
    uint16_t m;
    uint32_t tag = tag_no++;
    send_cbw(tag, 64, true, inquiry, 6);
    assert_int_equal(bulk_in(b, 64, &n), FD_ACK);
    assert_int_equal(n, 36);
    assert_int_equal(fd_in(0x81, b, &m), FD_STALL);
    assert_int_equal(ctrl(0x82, 0, 0, 0x81, 2, b, &m), FD_ACK);
    assert_int_equal(b[0], 1); /* GET_STATUS shows the halt */
    assert_int_equal(ctrl(0x02, 1, 0, 0x81, 0, NULL, NULL), FD_ACK); /* CLEAR_FEATURE */
    assert_int_equal(fd.in[1].toggle, 0); /* DATA0 after the clear; the CSW follows */
    expect_csw(tag, 28, 0);
    /* a write is refused as "no data accepted": OUT halts, the CSW comes on IN */
    static const uint8_t write10[10] = {0x2A, 0, 0, 0, 0, 0, 0, 0, 1, 0};
    tag = tag_no++;
    send_cbw(tag, 512, false, write10, 10);
    uint8_t z[64] = {0};
    assert_int_equal(fd_out(0x02, z, 64), FD_STALL);
    assert_int_equal(ctrl(0x02, 1, 0, 0x02, 0, NULL, NULL), FD_ACK);
    {
        uint8_t c[64];
        assert_int_equal(bulk_in(c, 64, &n), FD_ACK);
        assert_int_equal(n, 13);
        assert_int_equal(le32(c + 4), tag);
        assert_int_equal(le32(c + 8), 512);
        assert_int_equal(c[12], 1);
    }
    assert_true(fd.out[2].armed);
    /* SET_FEATURE(ENDPOINT_HALT) by the host, then its clear */
    assert_int_equal(ctrl(0x02, 3, 0, 0x02, 0, NULL, NULL), FD_ACK);
    assert_int_equal(fd_out(0x02, z, 31), FD_STALL);
    assert_int_equal(ctrl(0x02, 1, 0, 0x02, 0, NULL, NULL), FD_ACK);
    assert_true(fd.out[2].armed);
}

static void test_bot_reset_recovery(void **state)
{
    (void)state;
    enumerate();
    uint8_t c[MSC_CBW_LEN];
    static const uint8_t tur[6] = {0};
    cbw(c, 7, 0, false, tur, 6);
    assert_int_equal(fd_out(0x02, c, 30), FD_ACK); /* 30 bytes: not a valid CBW */
    run();
    uint8_t b[64];
    uint16_t n;
    assert_int_equal(fd_in(0x81, b, &n), FD_STALL);
    assert_int_equal(fd_out(0x02, c, 31), FD_STALL);
    /* clearing the halts alone does not end it (BOT 6.6.1) */
    assert_int_equal(ctrl(0x02, 1, 0, 0x81, 0, NULL, NULL), FD_ACK);
    assert_int_equal(ctrl(0x02, 1, 0, 0x02, 0, NULL, NULL), FD_ACK);
    assert_int_equal(fd_in(0x81, b, &n), FD_STALL);
    assert_int_equal(fd_out(0x02, c, 31), FD_STALL);
    /* Reset Recovery: class reset, then both clears (BOT 5.3.4) */
    assert_int_equal(ctrl(0x21, 0xFF, 0, 0, 0, NULL, NULL), FD_ACK);
    assert_int_equal(ctrl(0x02, 1, 0, 0x81, 0, NULL, NULL), FD_ACK);
    assert_int_equal(ctrl(0x02, 1, 0, 0x02, 0, NULL, NULL), FD_ACK);
    uint32_t tag = tag_no++;
    send_cbw(tag, 0, false, tur, 6);
    expect_csw(tag, 0, 0);
}

static void test_busy_source_naks(void **state)
{
    (void)state;
    enumerate();
    source_ready = false;
    static const uint8_t read10[10] = {0x28, 0, 0, 0, 0, 40, 0, 0, 2, 0};
    uint32_t tag = tag_no++;
    send_cbw(tag, 1024, true, read10, 10);
    uint8_t b[1024];
    uint16_t n;
    for (int i = 0; i < 50; i++) {
        assert_int_equal(fd_in(0x81, b, &n), FD_NAK); /* waits, never fails */
        run();
    }
    source_ready = true;
    run();
    uint32_t got;
    assert_int_equal(bulk_in(b, 1024, &got), FD_ACK);
    assert_int_equal(got, 1024);
    uint8_t sec[FATVOL_SECTOR];
    assert_int_equal(fatvol_read(&vol, 41, sec), FATVOL_OK);
    assert_memory_equal(b + 512, sec, FATVOL_SECTOR);
    expect_csw(tag, 0, 0);
    assert_int_equal(acquired, released);
}

/* An ejected medium comes back with the next configuration (a bus reset, a re-plug). */
static void test_eject_then_bus_reset(void **state)
{
    (void)state;
    enumerate();
    static const uint8_t eject[6] = {0x1B, 0, 0, 0, 0x02, 0}; /* LOEJ=1 START=0 */
    static const uint8_t tur[6] = {0};
    uint32_t tag = tag_no++;
    send_cbw(tag, 0, false, eject, 6);
    expect_csw(tag, 0, 0);
    tag = tag_no++;
    send_cbw(tag, 0, false, tur, 6);
    expect_csw(tag, 0, 1); /* NOT READY, MEDIUM NOT PRESENT */
    fd_bus_reset();
    run();
    enumerate();
    tag = tag_no++;
    send_cbw(tag, 0, false, tur, 6);
    expect_csw(tag, 0, 0);
}

/* A class reset while a data phase is under way withdraws the queued packet. */
static void test_bot_reset_mid_data(void **state)
{
    (void)state;
    enumerate();
    static const uint8_t read10[10] = {0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0};
    send_cbw(tag_no++, 2048, true, read10, 10);
    uint8_t b[64];
    uint16_t n;
    assert_int_equal(fd_in(0x81, b, &n), FD_ACK);
    run();
    assert_int_equal(ctrl(0x21, 0xFF, 0, 0, 0, NULL, NULL), FD_ACK);
    assert_int_equal(fd_in(0x81, b, &n), FD_NAK);
    assert_true(fd.out[2].armed);
    static const uint8_t tur[6] = {0};
    uint32_t tag = tag_no++;
    send_cbw(tag, 0, false, tur, 6);
    expect_csw(tag, 0, 0);
}

/* ---- the core alone: multi-packet control replies and the zero-length packet ---- */

static uint8_t big_config[64] = {9, 2, 64, 0, 1, 1, 0, 0x80, 50};
static const uint8_t dev18[18] = {18, 1, 0, 2, 0, 0, 0, 64, 0x09, 0x12, 1, 0, 0, 2, 1, 2, 3, 1};
static const char *long_strings[1] = {"a string of forty characters, give or take"};
static int stub_control(const struct usbd_setup *s, uint8_t *buf, uint16_t max)
{
    (void)s, (void)buf, (void)max;
    return -1;
}
static void stub_on(bool on)
{
    (void)on;
}
static void stub_ep(uint8_t ep)
{
    (void)ep;
}
static const struct usbd_class stub = {stub_control, stub_on, stub_ep, stub_ep, stub_ep};
static const struct usbd_config zlp_cfg = {dev18, big_config, 64, long_strings, 1, NULL, 0, &stub};

static enum fd_result core_ctrl_in(uint16_t value, uint16_t length, uint8_t *buf, uint16_t *got,
                                   int *packets)
{
    uint8_t p[8] = {0x80, 6, (uint8_t)value, (uint8_t)(value >> 8), 0, 0, (uint8_t)length,
                    (uint8_t)(length >> 8)};
    fd_setup(p);
    while (usbd_task()) {
    }
    *got = 0;
    *packets = 0;
    for (;;) {
        uint8_t pk[DCD_MPS];
        uint16_t n;
        enum fd_result r = fd_in(0x80, pk, &n);
        if (r != FD_ACK)
            return r;
        (*packets)++;
        memcpy(buf + *got, pk, n);
        *got = (uint16_t)(*got + n);
        while (usbd_task()) {
        }
        if (n < DCD_MPS || *got == length)
            break;
    }
    /* the status stage is armed now, not before the last packet */
    assert_true(fd.out[0].armed);
    return fd_out(0x00, NULL, 0);
}

static void test_core_zero_length_packet(void **state)
{
    (void)state;
    usbd_init(&zlp_cfg);
    fd_bus_reset();
    while (usbd_task()) {
    }
    uint8_t b[256];
    uint16_t n;
    int packets;
    /* 64 bytes, asked 255: one full packet then a zero-length one */
    assert_int_equal(core_ctrl_in(0x0200, 255, b, &n, &packets), FD_ACK);
    assert_int_equal(n, 64);
    assert_int_equal(packets, 2);
    /* asked exactly 64: no zero-length packet */
    assert_int_equal(core_ctrl_in(0x0200, 64, b, &n, &packets), FD_ACK);
    assert_int_equal(packets, 1);
    /* a 2-packet string: 64 + 22 */
    assert_int_equal(core_ctrl_in(0x0301, 255, b, &n, &packets), FD_ACK);
    assert_int_equal(n, 2 + 2 * 42);
    assert_int_equal(packets, 2);
    /* while the first packet is out, an early status OUT gets a STALL (RM0008 §23.4.2) */
    uint8_t p[8] = {0x80, 6, 1, 3, 0, 0, 255, 0};
    fd_setup(p);
    while (usbd_task()) {
    }
    assert_int_equal(fd_out(0x00, NULL, 0), FD_STALL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_device_descriptor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_address_after_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configuration_descriptor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_strings, setup, teardown),
        cmocka_unit_test_setup_teardown(test_configuration_and_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_class_requests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bus_reset_and_suspend, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bot_inquiry_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bot_halt_then_csw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bot_reset_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_source_naks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bot_reset_mid_data, setup, teardown),
        cmocka_unit_test_setup_teardown(test_eject_then_bus_reset, setup, teardown),
        cmocka_unit_test_setup_teardown(test_core_zero_length_packet, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
