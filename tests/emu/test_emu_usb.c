/*
 * The USB device peripheral model (emu/emu_usb.c) on the bare machine: registers driven
 * directly, as a driver would, and the host's transactions through board_usb_*; no
 * firmware. Each case checks one RM0008 §23 behaviour (or USB 2.0 rule) the firmware's
 * driver depends on, so a model that got it wrong (or kinder) fails here first.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "emu.h"

static uint32_t nk; /* NAKed repeats (none asked for here) */

#define US 1000ull
#define MS 1000000ull

#define RCC_CR 0x40021000u
#define RCC_CFGR 0x40021004u
#define RCC_APB1ENR 0x4002101Cu
#define GPIOA_CRH 0x40010804u
#define GPIOA_ODR 0x4001080Cu
#define RCC_APB2ENR 0x40021018u

#define USB 0x40005C00u
#define EPR(n) (USB + 4u * (n))
#define CNTR (USB + 0x40u)
#define ISTR (USB + 0x44u)
#define FNR (USB + 0x48u)
#define DADDR (USB + 0x4Cu)
#define BTABLE (USB + 0x50u)
#define PMA 0x40006000u

#define CTR_RX 0x8000u
#define DTOG_RX 0x4000u
#define STAT_RX 0x3000u
#define SETUP 0x0800u
#define T_CONTROL 0x0200u
#define T_BULK 0x0000u
#define KIND 0x0100u
#define CTR_TX 0x0080u
#define DTOG_TX 0x0040u
#define STAT_TX 0x0030u
#define TOGGLES (DTOG_RX | STAT_RX | DTOG_TX | STAT_TX)
#define RX(s) ((uint16_t)((s) << 12))
#define TX(s) ((uint16_t)((s) << 4))
enum { DIS, STALL, NAK, VALID };

#define CTRM 0x8000u
#define RESETM 0x0400u
#define SUSPM 0x0800u
#define SOFM 0x0200u
#define I_CTR 0x8000u
#define I_WKUP 0x1000u
#define I_SUSP 0x0800u
#define I_RESET 0x0400u
#define I_SOF 0x0200u
#define I_ESOF 0x0100u
#define IRQ_LP 20u

static uint16_t rd(uint32_t a)
{
    return (uint16_t)emu_reg_read(a);
}

static void wr(uint32_t a, uint32_t v)
{
    emu_reg_write(a, v);
}

/* PMA byte offset (even) to its APB address: 16-bit words at a 32-bit stride. */
static void pma_w(unsigned off, uint16_t v)
{
    wr(PMA + off * 2u, v);
}

static uint16_t pma_r(unsigned off)
{
    return rd(PMA + off * 2u);
}

static void pma_put(unsigned off, const uint8_t *d, size_t n)
{
    for (size_t i = 0; i < n; i += 2)
        pma_w(off + (unsigned)i, (uint16_t)(d[i] | (i + 1 < n ? d[i + 1] << 8 : 0)));
}

/* Set an endpoint register's fields as a driver must: toggle bits written as the
 * difference, CTR bits written 1 (unchanged). */
static void ep_set(unsigned n, uint16_t want)
{
    uint16_t cur = rd(EPR(n));
    wr(EPR(n), (want & 0x070Fu) | ((cur ^ want) & TOGGLES) | CTR_RX | CTR_TX);
}

static void clocks(bool usb_on, bool usbpre)
{
    wr(RCC_CR, 0x83u | (1u << 16)); /* HSION, HSEON */
    board_wait(3 * MS);
    wr(RCC_CFGR, (1u << 16) | (7u << 18) | (usbpre ? 1u << 22 : 0u)); /* HSE x9 = 72 MHz */
    wr(RCC_CR, emu_reg_read(RCC_CR) | (1u << 24));
    board_wait(1 * MS);
    /* SYSCLK from the PLL (72 MHz: time steps of 13.9 ns), APB1 / 2, 2 wait states. */
    wr(0x40022000u, 0x12u);
    wr(RCC_CFGR, emu_reg_read(RCC_CFGR) | (4u << 8) | 2u);
    board_wait(1 * US);
    if (usb_on)
        wr(RCC_APB1ENR, 1u << 23);
}

static uint64_t g_reset_end;

/* The peripheral out of power-down, a bus reset, EP0 as a 64-byte control endpoint at
 * address 0 with the given STAT. */
static void device_up(uint16_t ep0_stat)
{
    wr(CNTR, 0x0001u); /* FRES, PDWN cleared */
    board_wait(2 * US);
    wr(CNTR, 0);
    wr(ISTR, 0);
    assert_true(board_usb_reset(10 * MS));
    assert_true(rd(ISTR) & I_RESET);
    wr(ISTR, (uint16_t)~I_RESET);
    wr(BTABLE, 0);
    pma_w(0, 0x40);   /* ADDR0_TX */
    pma_w(2, 0);      /* COUNT0_TX */
    pma_w(4, 0x80);   /* ADDR0_RX */
    pma_w(6, 0x8400); /* COUNT0_RX: BL_SIZE 1, NUM_BLOCK 1: 64 bytes */
    ep_set(0, T_CONTROL | ep0_stat);
    wr(DADDR, 0x80);
    g_reset_end = board_now();
}

static int open_bare(void **state)
{
    (void)state;
    emu_options_t o = {.elf_path = "none", .board = "bluepill"};
    assert_int_equal(emu_configure(&o), 0);
    assert_int_equal(emu_open_bare("bluepill"), 0);
    return 0;
}

static int open_bare_rx0(void **state)
{
    (void)state;
    emu_options_t o = {.elf_path = "none", .board = "bluepill", .usb_setup_rx0 = true};
    assert_int_equal(emu_configure(&o), 0);
    assert_int_equal(emu_open_bare("bluepill"), 0);
    return 0;
}

static int close_bare(void **state)
{
    (void)state;
    board_close();
    return 0;
}

static const uint8_t get_dev[8] = {0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00};

/* Reset values; no answer before the clock, the transceiver and the address are set. */
static void test_reset_state_and_no_answer(void **state)
{
    (void)state;
    uint64_t v0 = emu_stats()->violations;
    assert_int_equal(emu_reg_read(CNTR), 0); /* USBEN off: reads 0, reported */
    assert_true(emu_stats()->violations > v0);
    clocks(true, false);
    assert_int_equal(rd(CNTR), 0x0003);
    assert_int_equal(rd(ISTR), 0);
    assert_int_equal(rd(DADDR), 0);
    for (unsigned i = 0; i < 8; i++)
        assert_int_equal(rd(EPR(i)), 0);
    /* PDWN and FRES set: nobody answers. */
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_NOANSWER);
    device_up(RX(VALID) | TX(NAK));
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_ACK);
    /* EF cleared: no answer even at the right address. */
    wr(DADDR, 0x00);
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_NOANSWER);
    wr(DADDR, 0x85);
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_NOANSWER);
    assert_int_equal(board_usb_setup(5, 0, get_dev), BOARD_USB_ACK);
    /* An endpoint no EPnR claims. */
    assert_int_equal(board_usb_setup(5, 3, get_dev), BOARD_USB_NOANSWER);
    /* ISTR.RESET pending: reception disabled until it is cleared. */
    assert_true(board_usb_reset(10 * MS));
    ep_set(0, T_CONTROL | RX(VALID));
    wr(DADDR, 0x80);
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_NOANSWER);
    wr(ISTR, (uint16_t)~I_RESET);
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_ACK);
}

/* A 48 MHz USB clock only: PLL 72 MHz with USBPRE = 1 gives 72 MHz, no answer. */
static void test_wrong_usb_clock(void **state)
{
    (void)state;
    clocks(true, true);
    uint64_t v0 = emu_stats()->violations;
    wr(CNTR, 0x0001u);
    board_wait(2 * US);
    wr(CNTR, 0);
    assert_false(rd(ISTR) & I_RESET);
    board_usb_reset(10 * MS);
    assert_false(rd(ISTR) & I_RESET); /* the reset was not even seen */
    assert_true(emu_stats()->violations > v0);
}

static void test_fres_before_tstartup_reported(void **state)
{
    (void)state;
    clocks(true, false);
    uint64_t v0 = emu_stats()->violations;
    wr(CNTR, 0x0001u);
    wr(CNTR, 0); /* at once: less than 1 us */
    assert_true(emu_stats()->violations > v0);
}

/* Packet memory: 16-bit words at a 32-bit stride; the high half reads 0. */
static void test_pma_stride(void **state)
{
    (void)state;
    clocks(true, false);
    wr(PMA + 0, 0xABCD1234u);
    wr(PMA + 4, 0x5678u);
    assert_int_equal(emu_reg_read(PMA + 0), 0x1234u);
    assert_int_equal(emu_reg_read(PMA + 4), 0x5678u);
    assert_int_equal(pma_r(0), 0x1234u);
    assert_int_equal(pma_r(2), 0x5678u);
    /* 0x40006000 + 1020 is PMA byte 510, the last word. */
    wr(PMA + 1020, 0xBEEFu);
    assert_int_equal(pma_r(510), 0xBEEFu);
}

/* EPnR: rc_w0 CTR bits, toggle-on-1 DTOG/STAT, read-only SETUP, rw TYPE/KIND/EA. */
static void test_epr_write_semantics(void **state)
{
    (void)state;
    clocks(true, false);
    device_up(RX(VALID) | TX(NAK));
    wr(EPR(1), 0x0001u); /* EA = 1, no toggles */
    assert_int_equal(rd(EPR(1)), 0x0001u);
    wr(EPR(1), STAT_RX | DTOG_TX | 0x0001u); /* toggles: STAT_RX 00 -> 11, DTOG_TX 1 */
    assert_int_equal(rd(EPR(1)), STAT_RX | DTOG_TX | 0x0001u);
    wr(EPR(1), RX(1) | 0x0001u); /* toggling bit 12 only: STAT_RX 11 -> 10 */
    assert_int_equal(rd(EPR(1)) & STAT_RX, RX(NAK));
    wr(EPR(1), SETUP | KIND | 0x0601u); /* SETUP is read-only; TYPE, KIND, EA written */
    assert_int_equal(rd(EPR(1)) & (SETUP | KIND | 0x060Fu), KIND | 0x0601u);
    /* A SETUP on EP0 sets CTR_RX; writing 1 keeps it, writing 0 clears it. */
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_ACK);
    uint16_t r = rd(EPR(0));
    assert_true(r & CTR_RX);
    wr(EPR(0), (r & 0x070Fu) | CTR_RX | CTR_TX);
    assert_true(rd(EPR(0)) & CTR_RX);
    assert_int_equal(rd(EPR(0)) & TOGGLES, r & TOGGLES); /* writing 0s toggles nothing */
    wr(EPR(0), (r & 0x070Fu) | CTR_TX);
    assert_false(rd(EPR(0)) & CTR_RX);
    assert_true(rd(EPR(0)) & SETUP); /* until the next completed OUT */
}

/* SETUP: accepted whatever STAT_RX says; SETUP + CTR_RX; both STAT NAK; DTOG_TX 1;
 * DTOG_RX 1 (default option); data and COUNT_RX in the packet memory. */
static void setup_accepted(uint16_t stat, bool rx0)
{
    clocks(true, false);
    device_up(stat);
    wr(CNTR, CTRM);
    assert_false(emu_irq_line(IRQ_LP));
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_ACK);
    uint16_t r = rd(EPR(0));
    assert_true(r & CTR_RX);
    assert_true(r & SETUP);
    assert_int_equal(r & STAT_RX, RX(NAK));
    assert_int_equal(r & STAT_TX, TX(NAK));
    assert_true(r & DTOG_TX);
    assert_int_equal(!!(r & DTOG_RX), !rx0);
    for (unsigned i = 0; i < 8; i += 2)
        assert_int_equal(pma_r(0x80 + i), get_dev[i] | get_dev[i + 1] << 8);
    assert_int_equal(pma_r(6) & 0x3FF, 8);
    assert_int_equal(pma_r(6) & 0xFC00, 0x8400); /* BL_SIZE/NUM_BLOCK kept */
    uint16_t istr = rd(ISTR);
    assert_true(istr & I_CTR);
    assert_int_equal(istr & 0x1F, 0x10); /* DIR = 1 (OUT), EP_ID 0 */
    assert_true(emu_irq_line(IRQ_LP));
    wr(EPR(0), (r & 0x070Fu) | CTR_TX); /* clear CTR_RX */
    assert_false(emu_irq_line(IRQ_LP));
    assert_false(rd(ISTR) & I_CTR);
}

static void test_setup_stat_valid(void **state)
{
    (void)state;
    setup_accepted(RX(VALID) | TX(NAK), false);
}

static void test_setup_stat_stall(void **state)
{
    (void)state;
    setup_accepted(RX(STALL) | TX(STALL), false);
}

static void test_setup_stat_disabled(void **state)
{
    (void)state;
    setup_accepted(RX(DIS) | TX(DIS), false);
}

static void test_setup_dtog_rx0_option(void **state)
{
    (void)state;
    setup_accepted(RX(NAK) | TX(NAK), true);
}

/* A SETUP into a buffer smaller than 8 bytes: overrun, STALL, no CTR. A SETUP to a
 * bulk endpoint: nothing answers. */
static void test_setup_overrun_and_non_control(void **state)
{
    (void)state;
    clocks(true, false);
    device_up(RX(VALID) | TX(NAK));
    pma_w(6, 0x0400u * 2u); /* BL_SIZE 0, NUM_BLOCK 2: 4 bytes */
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_STALL);
    assert_false(rd(EPR(0)) & CTR_RX);
    ep_set(0, T_BULK | RX(VALID));
    pma_w(6, 0x8400);
    assert_int_equal(board_usb_setup(0, 0, get_dev), BOARD_USB_NOANSWER);
}

/* IN: STAT decides; VALID sends COUNT_TX bytes with DATA<DTOG_TX>, then CTR_TX, the
 * toggle flips, STAT_TX goes to NAK; a packet longer than the host's maximum is babble
 * (not acknowledged: nothing changes). */
static void test_in_transactions(void **state)
{
    (void)state;
    clocks(true, false);
    device_up(RX(VALID) | TX(NAK));
    uint8_t d[64];
    size_t n;
    bool d1;
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_NAK);
    ep_set(0, T_CONTROL | RX(VALID) | TX(STALL));
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_STALL);
    ep_set(0, T_CONTROL | RX(VALID) | TX(DIS));
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_NOANSWER);
    static const uint8_t desc[18] = {18, 1, 0x00, 0x02, 0, 0, 0, 64, 0x83, 0x04,
                                     0x40, 0x57, 0x00, 0x01, 1, 2, 3, 1};
    pma_put(0x40, desc, sizeof desc);
    pma_w(2, 18);
    ep_set(0, T_CONTROL | RX(VALID) | TX(VALID) | DTOG_TX);
    assert_int_equal(board_usb_in(0, 0, d, 8, &n, &d1, 0, &nk), BOARD_USB_BABBLE);
    uint16_t r = rd(EPR(0));
    assert_int_equal(r & STAT_TX, TX(VALID));
    assert_false(r & CTR_TX);
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_ACK);
    assert_int_equal(n, 18);
    assert_true(d1);
    assert_memory_equal(d, desc, 18);
    r = rd(EPR(0));
    assert_true(r & CTR_TX);
    assert_false(r & DTOG_TX);
    assert_int_equal(r & STAT_TX, TX(NAK));
    assert_int_equal(rd(ISTR) & 0x1F, 0x00); /* DIR 0: IN */
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_NAK);
    /* A zero-length packet, DATA0. */
    pma_w(2, 0);
    ep_set(0, T_CONTROL | RX(VALID) | TX(VALID));
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_ACK);
    assert_int_equal(n, 0);
    assert_false(d1);
}

/* OUT: toggle check (a repeat is ACKed and dropped), overrun STALLs, STATUS_OUT, NAK. */
static void test_out_transactions(void **state)
{
    (void)state;
    clocks(true, false);
    device_up(RX(NAK) | TX(NAK));
    uint8_t d[64];
    memset(d, 0xA5, sizeof d);
    assert_int_equal(board_usb_out(0, 0, true, d, 10, 0, &nk), BOARD_USB_NAK);
    ep_set(0, T_CONTROL | RX(STALL));
    assert_int_equal(board_usb_out(0, 0, true, d, 10, 0, &nk), BOARD_USB_STALL);
    ep_set(0, T_CONTROL | RX(DIS));
    assert_int_equal(board_usb_out(0, 0, true, d, 10, 0, &nk), BOARD_USB_NOANSWER);
    ep_set(0, T_CONTROL | RX(VALID) | DTOG_RX);
    /* Wrong toggle (DATA0 while DTOG_RX = 1): ACK, nothing received. */
    assert_int_equal(board_usb_out(0, 0, false, d, 10, 0, &nk), BOARD_USB_ACK);
    assert_false(rd(EPR(0)) & CTR_RX);
    assert_int_equal(rd(EPR(0)) & STAT_RX, RX(VALID));
    assert_int_equal(board_usb_out(0, 0, true, d, 10, 0, &nk), BOARD_USB_ACK);
    uint16_t r = rd(EPR(0));
    assert_true(r & CTR_RX);
    assert_false(r & SETUP);
    assert_false(r & DTOG_RX);
    assert_int_equal(r & STAT_RX, RX(NAK));
    assert_int_equal(pma_r(6) & 0x3FF, 10);
    assert_int_equal(pma_r(0x80), 0xA5A5);
    /* Overrun: 65 bytes into 64. */
    wr(EPR(0), (r & 0x070Fu) | CTR_TX);
    ep_set(0, T_CONTROL | RX(VALID));
    uint8_t big[65] = {0};
    assert_int_equal(board_usb_out(0, 0, false, big, 65, 0, &nk), BOARD_USB_STALL);
    assert_false(rd(EPR(0)) & CTR_RX);
    /* STATUS_OUT: a non-empty OUT is STALLed, a zero-length one ACKed. */
    ep_set(0, T_CONTROL | KIND | RX(VALID));
    assert_int_equal(board_usb_out(0, 0, false, d, 1, 0, &nk), BOARD_USB_STALL);
    assert_int_equal(board_usb_out(0, 0, false, d, 0, 0, &nk), BOARD_USB_ACK);
    assert_true(rd(EPR(0)) & CTR_RX);
    assert_int_equal(pma_r(6) & 0x3FF, 0);
}

/* SOF every 1 ms: FNR.FN counts, LCK after two; the bus idles: ESOF each missed frame
 * (LSOF counts), SUSP after three, once; FSUSP and the host's resume: WKUP. */
static void test_sof_esof_suspend_wakeup(void **state)
{
    (void)state;
    clocks(true, false);
    device_up(RX(VALID) | TX(NAK));
    wr(CNTR, SOFM | SUSPM);
    wr(ISTR, 0);
    board_wait(1 * MS + 10 * US);
    assert_true(rd(ISTR) & I_SOF);
    assert_true(emu_irq_line(IRQ_LP));
    uint16_t fn0 = rd(FNR) & 0x7FF;
    board_wait(3 * MS);
    uint16_t fnr = rd(FNR);
    assert_int_equal(fnr & 0x7FF, (fn0 + 3) & 0x7FF);
    assert_true(fnr & (1u << 13)); /* LCK */
    assert_true(fnr & (1u << 15)); /* RXDP: idle J */
    assert_false(rd(ISTR) & (I_ESOF | I_SUSP));
    wr(ISTR, 0);
    board_usb_suspend();
    board_wait(2 * MS + 100 * US);
    assert_true(rd(ISTR) & I_ESOF);
    assert_false(rd(ISTR) & I_SUSP);
    assert_int_equal((rd(FNR) >> 11) & 3, 2);
    board_wait(1 * MS);
    assert_true(rd(ISTR) & I_SUSP);
    wr(ISTR, 0);
    wr(CNTR, SOFM | SUSPM | 0x0008u | 0x0004u); /* FSUSP, LPMODE */
    board_wait(10 * MS);
    assert_false(rd(ISTR) & I_SUSP); /* once, until a reset re-arms it */
    /* The host resumes with the next transaction: WKUP, LPMODE cleared by hardware. */
    uint8_t d[8];
    size_t n;
    bool d1;
    (void)board_usb_in(0, 0, d, 8, &n, &d1, 0, &nk);
    assert_true(rd(ISTR) & I_WKUP);
    assert_false(rd(CNTR) & 0x0004u);
}

/* A bus reset clears DADDR and every EPnR, sets RESET, raises the line if RESETM. */
static void test_bus_reset_clears(void **state)
{
    (void)state;
    clocks(true, false);
    device_up(RX(VALID) | TX(NAK));
    wr(DADDR, 0x85);
    ep_set(1, T_BULK | RX(VALID) | 0x0001u);
    wr(CNTR, RESETM);
    assert_false(emu_irq_line(IRQ_LP));
    assert_true(board_usb_reset(10 * MS));
    assert_int_equal(rd(DADDR), 0);
    assert_int_equal(rd(EPR(0)), 0);
    assert_int_equal(rd(EPR(1)), 0);
    assert_true(rd(ISTR) & I_RESET);
    assert_true(emu_irq_line(IRQ_LP));
    wr(ISTR, (uint16_t)~I_RESET);
    assert_false(emu_irq_line(IRQ_LP));
    /* FRES is a reset too. */
    wr(DADDR, 0x80);
    wr(CNTR, 0x0001u | RESETM);
    assert_true(rd(ISTR) & I_RESET);
    assert_int_equal(rd(DADDR), 0);
}

/* Bus time: an IN answered with NAK costs token + 6.5 bit turnaround + handshake; a
 * packet of 0xFF bytes costs its stuffed bits; nothing starts across a SOF. */
static void test_bus_time(void **state)
{
    (void)state;
    clocks(true, false);
    device_up(RX(VALID) | TX(NAK));
    uint8_t d[64];
    size_t n;
    bool d1;
    /* Just after a SOF, so no frame boundary interferes. */
    board_wait(1 * MS + 10 * US);
    uint64_t t0 = board_now();
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_NAK);
    uint64_t nak_ns = board_now() - t0;
    /* 35 + 6.5 + 19 bits = 60.5 bits = 5041.7 ns (no stuffing in these packets). */
    assert_in_range(nak_ns, 5041, 5041 + 2 * 14);
    uint8_t zeros[8] = {0}, ones[8];
    memset(ones, 0xFF, sizeof ones);
    pma_w(2, 8);
    pma_put(0x40, zeros, 8);
    ep_set(0, T_CONTROL | RX(VALID) | TX(VALID));
    t0 = board_now();
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_ACK);
    uint64_t tz = board_now() - t0;
    pma_put(0x40, ones, 8);
    ep_set(0, T_CONTROL | RX(VALID) | TX(VALID) | DTOG_TX); /* same DATA0 PID */
    t0 = board_now();
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_ACK);
    uint64_t tf = board_now() - t0;
    /* 64 ones: 10 stuffed bits (every sixth), plus what the CRC changes: 9..13 bits. */
    assert_in_range(tf - tz, 9 * 83, 13 * 84);
    /* A transaction that would cross the next SOF waits for it: SOFs come every 1 ms
     * from the reset's end (t_end). */
    uint64_t t_end = g_reset_end;
    uint64_t next_sof = t_end + ((board_now() - t_end) / MS + 1) * MS;
    board_wait(next_sof - 3 * US - board_now());
    uint16_t fn_before = rd(FNR) & 0x7FF;
    assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk), BOARD_USB_NAK);
    /* SOF (35 bits) + 2 bits gap + the 60.5-bit NAK transaction after the SOF */
    assert_true(board_now() >= next_sof + 8000);
    assert_int_equal(rd(FNR) & 0x7FF, (fn_before + 1) & 0x7FF);
}

/* NAKed repeats inside one call (retry_ns) are the same transactions, at the same
 * times, as the host repeating them one by one; across a SOF too. */
static void test_nak_retry_equals_repeats(void **state)
{
    (void)state;
    clocks(true, false);
    device_up(RX(VALID) | TX(NAK));
    uint8_t d[64];
    size_t n;
    bool d1;
    const uint64_t windows[2] = {100 * US, 1500 * US};
    for (unsigned w = 0; w < 2; w++) {
        board_wait(g_reset_end + (4 * w + 1) * MS + 10 * US - board_now());
        uint64_t a0 = board_now(), nak0 = emu_stats()->usb_nak, in0 = emu_stats()->usb_in;
        assert_int_equal(board_usb_in(0, 0, d, 64, &n, &d1, windows[w], &nk), BOARD_USB_NAK);
        uint64_t a_dur = board_now() - a0, a_naks = nk;
        uint64_t a_stat = emu_stats()->usb_nak - nak0, a_in = emu_stats()->usb_in - in0;
        board_wait(g_reset_end + (4 * w + 3) * MS + 10 * US - board_now());
        uint64_t b0 = board_now();
        uint32_t k = 0;
        while (board_usb_in(0, 0, d, 64, &n, &d1, 0, &nk) == BOARD_USB_NAK &&
               board_now() - b0 < windows[w])
            k++;
        assert_int_equal(board_now() - b0, a_dur);
        assert_int_equal(k, a_naks);
        assert_int_equal(a_stat, a_naks + 1);
        assert_int_equal(a_in, a_naks + 1);
        assert_true(a_naks >= (windows[w] - 100 * US) / 5100); /* one SOF gap at most */
    }
}

/* PA12 driven low as a GPIO output while PDWN = 1: the host sees no device. */
static void test_detach_by_pa12(void **state)
{
    (void)state;
    clocks(true, false);
    wr(RCC_APB2ENR, 1u << 2); /* GPIOA */
    wr(GPIOA_CRH, (emu_reg_read(GPIOA_CRH) & ~(0xFu << 16)) | (0x2u << 16)); /* PA12 out */
    wr(GPIOA_ODR, 0);
    assert_false(board_usb_reset(10 * MS));
    wr(GPIOA_ODR, 1u << 12);
    assert_true(board_usb_reset(10 * MS));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_reset_state_and_no_answer, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_wrong_usb_clock, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_fres_before_tstartup_reported, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_pma_stride, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_epr_write_semantics, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_setup_stat_valid, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_setup_stat_stall, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_setup_stat_disabled, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_setup_dtog_rx0_option, open_bare_rx0, close_bare),
        cmocka_unit_test_setup_teardown(test_setup_overrun_and_non_control, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_in_transactions, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_out_transactions, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_sof_esof_suspend_wakeup, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_bus_reset_clears, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_bus_time, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_detach_by_pa12, open_bare, close_bare),
        cmocka_unit_test_setup_teardown(test_nak_retry_equals_repeats, open_bare, close_bare),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
