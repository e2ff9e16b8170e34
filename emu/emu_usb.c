/*
 * The STM32F103's USB full-speed device peripheral (RM0008 §23) at register level, and
 * the host on its bus, in virtual time.
 *
 * Registers at 0x40005C00 (EPnR 0x00..0x1C, CNTR 0x40, ISTR 0x44, FNR 0x48, DADDR 0x4C,
 * BTABLE 0x50); the packet memory (PMA) at 0x40006000: 512 bytes as 256 16-bit words,
 * each at a 32-bit stride (RM0008 §23.5.3, "Buffer descriptor table": the APB sees the
 * 16-bit word in the low half of each 32-bit location, the high half reads 0).
 *
 * The host's side is one call per bus event (emu_board.c's board_usb_*): a bus reset, a
 * SETUP, OUT or IN transaction. Each costs its bus time at 12 Mbit/s (SYNC, PID, fields,
 * CRC, bit stuffing counted on the real bits, EOP), with the device answering after the
 * slowest turnaround USB 2.0 §7.1.18.1 allows (6.5 bit times) and the host waiting 18 bit
 * times for an answer that does not come. The CPU runs through the transaction: the
 * device decides at the end of the token (IN) or of the data packet (SETUP, OUT), the
 * endpoint's CTR, toggle and STAT change at the end of the handshake. While the bus is
 * active the host sends a SOF every 1 ms and never starts a transaction that would run
 * into the next one (USB 2.0 §11.2.5's EOF guard, simplified to "must end 4 us before").
 *
 * What the device answers (nothing = the host times out):
 *   - only with power, RCC_APB1ENR.USBEN, a 48 MHz USB clock (PLL 72 MHz with USBPRE=0,
 *     or 48 MHz with USBPRE=1), PDWN = 0 for at least tSTARTUP, FRES = 0, ISTR.RESET = 0
 *     (RM0008 §23.5.2 ISTR: "Reception and transmission are disabled until the RESET bit
 *     is cleared"), DADDR.EF = 1 and the token's address = DADDR.ADD, an EPnR whose EA is
 *     the token's endpoint (the first one, in register order);
 *   - SETUP (control endpoints only): accepted whatever STAT_RX says; SETUP + CTR_RX,
 *     DTOG_TX = 1, DTOG_RX per --usb-setup-dtog (emu.h), both STAT to NAK
 *     (RM0008 §23.4.2, "Control transfers");
 *   - OUT: STAT_RX DISABLED no answer, STALL, NAK; VALID: a data PID that is not DTOG_RX
 *     is ACKed and dropped (USB 2.0 §8.6.4); more bytes than the RX buffer
 *     (COUNTn_RX BL_SIZE/NUM_BLOCK) is a buffer overrun: STALL, no CTR (RM0008 §23.4.2
 *     "Reception"); EP_KIND = STATUS_OUT on a control endpoint STALLs non-empty OUTs;
 *     otherwise ACK, CTR_RX, DTOG_RX toggles, STAT_RX to NAK;
 *   - IN: STAT_TX DISABLED no answer, STALL, NAK; VALID sends COUNTn_TX bytes from
 *     ADDRn_TX with DATA<DTOG_TX>; the host ACKs (unless the packet is longer than the
 *     host asked for: babble, no ACK, nothing changes); CTR_TX, DTOG_TX toggles, STAT_TX
 *     to NAK.
 *   Isochronous and double-buffered endpoints are not modelled: a transaction to one is
 *   reported as a violation and gets no answer.
 *
 * Bus events: a reset (SE0) is detected 2.5 us in (USB 2.0 §7.1.7.5): ISTR.RESET, DADDR
 * and every EPnR cleared ("The function address and endpoint registers are reset by an
 * USB reset event", RM0008 ISTR bit 10). SOF: ISTR.SOF, FNR.FN, LSOF = 0, LCK after two
 * in a row. A SOF expected and missing (1 ms after the last, plus 5 us): ISTR.ESOF, LSOF
 * counts up to 3; three without traffic in between: ISTR.SUSP, once, armed by the next
 * USB reset (RM0008 ISTR bit 11). FSUSP = 1 and any activity on the bus: ISTR.WKUP,
 * LPMODE cleared. CNTR.FRES 0 -> 1 is a USB reset as well (ISTR.RESET, registers
 * cleared); clearing FRES within tSTARTUP (1 us, STM32F103x8 datasheet) of clearing
 * PDWN is reported.
 *
 * Interrupts: USB_LP_CAN1_RX0 (line 20) for every event whose CNTR mask is set and for
 * CTR of single-buffered endpoints; USB_HP_CAN1_TX (line 19) for CTR of isochronous
 * and double-buffered endpoints (RM0008 §23.3, Figure 221).
 *
 * Attachment: the Blue Pill's D+ pull-up is a resistor to 3.3 V on PA12, so the device
 * is attached from power-up; a firmware that drives PA12 low as a general-purpose output
 * while the transceiver is off (PDWN = 1) detaches it (the host's transactions and
 * resets get nothing, and board_usb_reset() says "not attached"). The remote wake-up
 * signalling (CNTR.RESUME) and the USBWakeUp EXTI line are not modelled.
 */
#include <stdio.h>
#include <string.h>

#include "emu_internal.h"

#define U E.usb

/* EPnR (RM0008 §23.5.2) */
#define EP_CTR_RX 0x8000u
#define EP_DTOG_RX 0x4000u
#define EP_STAT_RX 0x3000u
#define EP_SETUP 0x0800u
#define EP_TYPE 0x0600u
#define EP_KIND 0x0100u
#define EP_CTR_TX 0x0080u
#define EP_DTOG_TX 0x0040u
#define EP_STAT_TX 0x0030u
#define EP_EA 0x000Fu
#define EP_TOGGLE (EP_DTOG_RX | EP_STAT_RX | EP_DTOG_TX | EP_STAT_TX)
#define EP_RW (EP_TYPE | EP_KIND | EP_EA)
enum { STAT_DISABLED, STAT_STALL, STAT_NAK, STAT_VALID };
enum { TYPE_BULK, TYPE_CONTROL, TYPE_ISO, TYPE_INTERRUPT };

/* CNTR */
#define CNTR_FRES 0x0001u
#define CNTR_PDWN 0x0002u
#define CNTR_LPMODE 0x0004u
#define CNTR_FSUSP 0x0008u
#define CNTR_RESUME 0x0010u
#define CNTR_CTRM 0x8000u
#define CNTR_MASKS 0xFF00u
/* ISTR */
#define ISTR_CTR 0x8000u
#define ISTR_PMAOVR 0x4000u
#define ISTR_ERR 0x2000u
#define ISTR_WKUP 0x1000u
#define ISTR_SUSP 0x0800u
#define ISTR_RESET 0x0400u
#define ISTR_SOF 0x0200u
#define ISTR_ESOF 0x0100u
#define ISTR_FLAGS 0x7F00u
#define ISTR_DIR 0x0010u

#define PMA_SIZE 512u
#define T_STARTUP_NS 1000u       /* STM32F103x8 datasheet, USB tSTARTUP max */
#define RESET_DETECT_NS 2500u     /* USB 2.0 §7.1.7.5: SE0 for 2.5 us is a reset */
#define FRAME_NS 1000000u
#define ESOF_MARGIN_NS 5000u
#define EOF_GUARD_NS 4000u
#define RESUME_K_NS 20000000u     /* USB 2.0 §7.1.7.7: the host drives resume >= 20 ms */
#define RESUME_RECOVERY_NS 10000000u

/* Half-bit times at 12 Mbit/s: 1 bit = 1000/12 ns. */
static uint64_t hb_ns(uint64_t halfbits)
{
    return halfbits * 125u / 3u;
}
#define GAP_HOST_HB 4u      /* host to host packet: 2 bit times */
#define GAP_DEVICE_HB 13u   /* device response: 6.5 bit times (slowest allowed) */
#define TIMEOUT_HB 36u      /* host gives up: 18 bit times */

/* ---- wire ---- */

enum { PID_OUT = 0xE1, PID_IN = 0x69, PID_SOF = 0xA5, PID_SETUP = 0x2D, PID_DATA0 = 0xC3,
       PID_DATA1 = 0x4B, PID_ACK = 0xD2, PID_NAK = 0x5A, PID_STALL = 0x1E };

static uint8_t crc5(uint16_t v11)
{
    uint8_t crc = 0x1F;
    for (int i = 0; i < 11; i++) {
        bool b = ((v11 >> i) & 1u) ^ (crc >> 4 & 1u);
        crc = (uint8_t)((crc << 1) & 0x1Fu);
        if (b)
            crc ^= 0x05u;
    }
    return (uint8_t)(~crc & 0x1Fu);
}

static uint16_t crc16(const uint8_t *d, size_t n)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= d[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1u) ? (uint16_t)((crc >> 1) ^ 0xA001u) : (uint16_t)(crc >> 1);
    }
    return (uint16_t)~crc;
}

/* Bits on the wire of SYNC + bytes (LSB first) with bit stuffing (a 0 after six 1s),
 * plus the 3-bit EOP. */
static uint64_t wire_bits(uint8_t pid, const uint8_t *p, size_t n, bool with_crc16,
                          uint16_t token)
{
    uint64_t bits = 0;
    unsigned ones = 0;
    uint8_t pre[4] = {0x80, pid, 0, 0};
    size_t npre = 2;
    if (!with_crc16 && p == NULL) { /* token or handshake */
        if (pid == PID_OUT || pid == PID_IN || pid == PID_SOF || pid == PID_SETUP) {
            uint16_t f = (uint16_t)(token | (uint16_t)crc5(token) << 11);
            pre[2] = (uint8_t)f;
            pre[3] = (uint8_t)(f >> 8);
            npre = 4;
        }
    }
    uint16_t crc = with_crc16 ? crc16(p, n) : 0;
    uint8_t tail[2] = {(uint8_t)crc, (uint8_t)(crc >> 8)};
    const uint8_t *parts[3] = {pre, p, tail};
    const size_t lens[3] = {npre, p ? n : 0, with_crc16 ? 2u : 0u};
    for (int k = 0; k < 3; k++) {
        for (size_t i = 0; i < lens[k]; i++) {
            for (int b = 0; b < 8; b++) {
                bits++;
                if ((parts[k][i] >> b) & 1u) {
                    if (++ones == 6) {
                        bits++;
                        ones = 0;
                    }
                } else {
                    ones = 0;
                }
            }
        }
    }
    return bits + 3u;
}

static uint64_t token_hb(uint8_t pid, uint8_t addr, uint8_t ep)
{
    static uint64_t memo[4][128][16];
    unsigned k = pid == PID_OUT ? 0u : pid == PID_IN ? 1u : pid == PID_SETUP ? 2u : 3u;
    uint64_t *m = &memo[k][addr & 0x7Fu][ep & 15u];
    if (!*m)
        *m = 2u * wire_bits(pid, NULL, 0, false, (uint16_t)(addr | (uint16_t)ep << 7));
    return *m;
}

static uint64_t data_hb(bool data1, const uint8_t *d, size_t n)
{
    static const uint8_t none[1];
    return 2u * wire_bits(data1 ? PID_DATA1 : PID_DATA0, n ? d : none, n, true, 0);
}

static uint64_t handshake_hb(uint8_t pid)
{
    /* Every handshake PID has the same bits count (no stuffing in 8 bits after SYNC). */
    (void)pid;
    return 2u * 19u;
}

/* ---- the device ---- */

static unsigned stat_rx(uint16_t r)
{
    return (r >> 12) & 3u;
}

static unsigned stat_tx(uint16_t r)
{
    return (r >> 4) & 3u;
}

static unsigned ep_type(uint16_t r)
{
    return (r >> 9) & 3u;
}

static bool hp_endpoint(uint16_t r)
{
    return ep_type(r) == TYPE_ISO || (ep_type(r) == TYPE_BULK && (r & EP_KIND));
}

/* ISTR with CTR, DIR and EP_ID computed from the endpoint registers: the lowest-numbered
 * endpoint with a CTR (RM0008 ISTR bits 4:0). */
static uint16_t istr_value(void)
{
    uint16_t v = U.istr & ISTR_FLAGS;
    for (unsigned i = 0; i < 8; i++) {
        if (U.epr[i] & (EP_CTR_RX | EP_CTR_TX)) {
            v |= ISTR_CTR | (uint16_t)i;
            if (U.epr[i] & EP_CTR_RX)
                v |= ISTR_DIR;
            break;
        }
    }
    return v;
}

bool usb_lp_level(void)
{
    if (U.istr & U.cntr & ISTR_FLAGS)
        return true;
    if (!(U.cntr & CNTR_CTRM))
        return false;
    for (unsigned i = 0; i < 8; i++) {
        if ((U.epr[i] & (EP_CTR_RX | EP_CTR_TX)) && !hp_endpoint(U.epr[i]))
            return true;
    }
    return false;
}

bool usb_hp_level(void)
{
    if (!(U.cntr & CNTR_CTRM))
        return false;
    for (unsigned i = 0; i < 8; i++) {
        if ((U.epr[i] & (EP_CTR_RX | EP_CTR_TX)) && hp_endpoint(U.epr[i]))
            return true;
    }
    return false;
}

static void usb_raise(uint16_t flags)
{
    U.istr |= flags;
    emu_kick();
}

/* The USB clock: APB1ENR.USBEN and 48 MHz from the PLL through USBPRE (RM0008 §7.2.5). */
static uint32_t usb_clock_hz(void)
{
    if (!(E.rcc.apb1enr & (1u << 23)))
        return 0;
    uint32_t pll = rcc_pll_out_hz();
    return (E.rcc.cfgr & (1u << 22)) ? pll : pll / 3u * 2u;
}

/* The transceiver and the SIE can see the bus at all. */
static bool receiving(void)
{
    if (!E.powered || !E.open)
        return false;
    if (usb_clock_hz() != 48000000u) {
        if (!U.clock_reported && !(U.cntr & CNTR_PDWN)) {
            U.clock_reported = true;
            emu_violation("USB clock %u Hz (APB1ENR.USBEN %u, PLL %u Hz, USBPRE %u): the "
                          "peripheral needs 48 MHz and does not answer",
                          (unsigned)usb_clock_hz(), (unsigned)(E.rcc.apb1enr >> 23 & 1u),
                          (unsigned)rcc_pll_out_hz(), (unsigned)(E.rcc.cfgr >> 22 & 1u));
        }
        return false;
    }
    return !(U.cntr & CNTR_PDWN) && emu_now() >= U.analog_ready_ns && !(U.cntr & CNTR_FRES);
}

static bool attached(void)
{
    /* PA12 driven low while the transceiver does not own it: D+ low, detached. */
    return !(gpio_drives_low(0, 12) && (U.cntr & CNTR_PDWN));
}

/* A USB reset seen by the peripheral (bus reset, or FRES). */
static void usb_reset_event(void)
{
    U.daddr = 0;
    memset(U.epr, 0, sizeof U.epr);
    U.lck = false;
    U.sof_run = 0;
    U.missed = 0;
    U.susp_check = true;
    usb_raise(ISTR_RESET);
}

/* Activity on the bus while suspended (FSUSP): WKUP, LPMODE cleared by hardware. */
static void activity(void)
{
    U.missed = 0;
    if (U.cntr & CNTR_FSUSP) {
        U.cntr &= (uint16_t)~CNTR_LPMODE;
        usb_raise(ISTR_WKUP);
    }
}

void usb_reset(void)
{
    memset(U.epr, 0, sizeof U.epr);
    U.cntr = CNTR_FRES | CNTR_PDWN; /* RM0008 §23.5.2: CNTR resets to 0x0003 */
    U.istr = U.daddr = U.btable = 0;
    U.fn = 0;
    U.lsof = 0;
    U.lck = false;
    U.sof_run = 0;
    U.analog_ready_ns = EMU_NEVER;
    U.susp_check = false;
    U.missed = 0;
    U.esof_ns = EMU_NEVER;
    U.clock_reported = false;
    /* Packet memory content after reset is not defined: a pattern, not zeros. */
    for (unsigned i = 0; i < PMA_SIZE; i++)
        U.pma[i] = (uint8_t)(0x5Au ^ (i * 13u));
}

void usb_bus_init(void)
{
    U.bus = USB_BUS_IDLE;
    U.sof_ns = EMU_NEVER;
    U.host_frame = 0;
    U.reset_detect_ns = U.reset_end_ns = EMU_NEVER;
}

/* ---- registers ---- */

uint32_t usb_read(uint32_t off)
{
    usb_update();
    if (off < 0x20u)
        return U.epr[off / 4u];
    switch (off) {
    case 0x40: return U.cntr;
    case 0x44: return istr_value();
    case 0x48: {
        bool j = U.bus != USB_BUS_RESET; /* idle J: D+ high, D- low */
        return (uint32_t)U.fn | (uint32_t)U.lsof << 11 | (U.lck ? 1u << 13 : 0u) |
               (j ? 1u << 15 : 0u);
    }
    case 0x4C: return U.daddr;
    case 0x50: return U.btable;
    default: return 0;
    }
}

void usb_write(uint32_t off, uint32_t v, uint32_t mask)
{
    usb_update();
    if (U.watch) { /* a NAKed host transaction is being fast-forwarded (nak_forward) */
        U.watch_hit = true;
        emu_request_stop();
    }
    if ((mask & 0xFFFFu) != 0xFFFFu && off <= 0x50u) {
        /* RM0008 §23.5: the registers are accessed as half-words or words. */
        emu_violation("USB register 0x%02x written with a byte access: ignored", (unsigned)off);
        return;
    }
    uint16_t w = (uint16_t)v;
    if (off < 0x20u) {
        uint16_t *r = &U.epr[off / 4u];
        uint16_t nv = (uint16_t)((*r & ~EP_RW) | (w & EP_RW));
        nv ^= w & EP_TOGGLE;                                          /* toggle on 1 */
        nv &= (uint16_t)~((~w) & (*r) & (EP_CTR_RX | EP_CTR_TX));     /* rc_w0 */
        *r = nv;
        emu_kick();
        return;
    }
    switch (off) {
    case 0x40: {
        uint16_t old = U.cntr;
        uint16_t nv = (uint16_t)(w & 0xFF1Fu);
        U.cntr = nv;
        if ((old & CNTR_PDWN) && !(nv & CNTR_PDWN))
            U.analog_ready_ns = emu_now() + T_STARTUP_NS;
        if (nv & CNTR_PDWN)
            U.analog_ready_ns = EMU_NEVER;
        if (!(old & CNTR_FRES) && (nv & CNTR_FRES))
            usb_reset_event();
        if ((old & CNTR_FRES) && !(nv & CNTR_FRES)) {
            if (emu_now() < U.analog_ready_ns)
                emu_violation("USB CNTR.FRES cleared %s: wait tSTARTUP (1 us) after clearing "
                              "PDWN (RM0008 §23.4.1)",
                              (nv & CNTR_PDWN) ? "with PDWN = 1" : "within tSTARTUP of PDWN");
            /* The suspend timer runs from here: SOFs are expected every 1 ms. */
            U.susp_check = true;
            U.missed = 0;
            U.esof_ns = emu_now() + FRAME_NS + ESOF_MARGIN_NS;
        }
        emu_kick();
        usb_update();
        break;
    }
    case 0x44:
        U.istr &= (uint16_t)(w | ~ISTR_FLAGS); /* rc_w0; CTR, DIR, EP_ID read-only */
        emu_kick();
        break;
    case 0x48:
        break; /* FNR is read-only */
    case 0x4C:
        U.daddr = (uint16_t)(w & 0xFFu);
        break;
    case 0x50:
        U.btable = (uint16_t)(w & 0xFFF8u);
        break;
    default:
        break;
    }
}

uint32_t usb_pma_read(uint32_t off)
{
    if (off & 2u)
        return 0; /* the high half of each 32-bit location */
    unsigned i = (off / 4u) * 2u;
    if (i + 1u >= PMA_SIZE)
        return 0;
    return (uint32_t)U.pma[i] | (uint32_t)U.pma[i + 1] << 8;
}

void usb_pma_write(uint32_t off, uint32_t v, uint32_t mask)
{
    if (off & 2u)
        return;
    unsigned i = (off / 4u) * 2u;
    if (i + 1u >= PMA_SIZE)
        return;
    if ((mask & 0xFFFFu) != 0xFFFFu) {
        /* RM0008 §23.5.3: the packet memory is written as half-words. */
        emu_violation("USB packet memory 0x%08x written with a byte access: ignored",
                      (unsigned)(0x40006000u + off));
        return;
    }
    U.pma[i] = (uint8_t)v;
    U.pma[i + 1] = (uint8_t)(v >> 8);
}

/* Buffer descriptor table entry k (0 ADDR_TX, 1 COUNT_TX, 2 ADDR_RX, 3 COUNT_RX) of
 * endpoint register n, as the peripheral reads it: BTABLE + n*8 + k*2 in PMA bytes. */
static uint16_t bd_get(unsigned n, unsigned k)
{
    unsigned a = ((unsigned)U.btable + n * 8u + k * 2u) % PMA_SIZE;
    return (uint16_t)(U.pma[a] | U.pma[(a + 1u) % PMA_SIZE] << 8);
}

static void bd_set(unsigned n, unsigned k, uint16_t v)
{
    unsigned a = ((unsigned)U.btable + n * 8u + k * 2u) % PMA_SIZE;
    U.pma[a] = (uint8_t)v;
    U.pma[(a + 1u) % PMA_SIZE] = (uint8_t)(v >> 8);
}

/* RX buffer size from COUNTn_RX (RM0008 Table 177): BL_SIZE 0: 2-byte blocks, 1: 32. */
static unsigned rx_size(uint16_t count_rx)
{
    unsigned nb = (count_rx >> 10) & 31u;
    return (count_rx & 0x8000u) ? (nb + 1u) * 32u : nb * 2u;
}

static bool pma_copy_in(uint16_t addr, const uint8_t *d, size_t n)
{
    if ((size_t)addr + n > PMA_SIZE) {
        emu_violation("USB buffer at PMA 0x%03x + %zu bytes runs past the 512-byte packet "
                      "memory", (unsigned)addr, n);
        return false;
    }
    memcpy(U.pma + addr, d, n);
    return true;
}

/* ---- time-driven events ---- */

void usb_update(void)
{
    uint64_t now = emu_now();
    if (U.reset_unseen && U.bus == USB_BUS_RESET && receiving()) {
        /* The SIE needs the SE0 for 2.5 us from when it can see it. */
        U.reset_unseen = false;
        U.reset_detect_ns = now + RESET_DETECT_NS;
        if (U.reset_detect_ns > U.reset_end_ns)
            U.reset_detect_ns = EMU_NEVER;
    }
    for (;;) {
        uint64_t t = EMU_NEVER;
        int ev = 0;
        if (U.reset_detect_ns < t)
            t = U.reset_detect_ns, ev = 1;
        if (U.reset_end_ns < t)
            t = U.reset_end_ns, ev = 2;
        if (U.sof_ns < t)
            t = U.sof_ns, ev = 3;
        if (U.esof_ns < t)
            t = U.esof_ns, ev = 4;
        if (t > now)
            break;
        switch (ev) {
        case 1:
            /* SE0 seen only by a receiving transceiver: one that comes up while the
             * reset lasts sees it 2.5 us later (above). */
            U.reset_detect_ns = EMU_NEVER;
            if (receiving()) {
                usb_reset_event();
                activity();
            } else {
                U.reset_unseen = true;
            }
            break;
        case 2:
            U.reset_end_ns = EMU_NEVER;
            U.reset_unseen = false;
            U.bus = USB_BUS_ACTIVE;
            U.sof_ns = t + FRAME_NS;
            U.esof_ns = t + FRAME_NS + ESOF_MARGIN_NS;
            break;
        case 3: {
            /* The SOF packet ends 35 bits in; the frame number is then known. */
            U.sof_ns = t + FRAME_NS;
            U.sof_busy_ns = t + hb_ns(2u * 35u + GAP_HOST_HB);
            U.host_frame = (uint16_t)((U.host_frame + 1u) & 0x7FFu);
            E.stats.usb_sofs++;
            if (receiving()) {
                activity();
                U.fn = U.host_frame;
                U.lsof = 0;
                if (++U.sof_run >= 2)
                    U.lck = true;
                usb_raise(ISTR_SOF);
            }
            U.esof_ns = t + FRAME_NS + ESOF_MARGIN_NS;
            break;
        }
        case 4:
            U.esof_ns = t + FRAME_NS;
            if (!receiving() || (U.cntr & CNTR_FSUSP))
                break;
            U.sof_run = 0;
            if (U.lsof < 3)
                U.lsof++;
            U.missed++;
            usb_raise(ISTR_ESOF);
            if (U.missed >= 3 && U.susp_check) {
                U.susp_check = false;
                U.lck = false;
                usb_raise(ISTR_SUSP);
            }
            break;
        default:
            return;
        }
    }
}

uint64_t usb_next_event_ns(void)
{
    uint64_t t = U.reset_detect_ns;
    /* A transceiver coming out of power-down while a reset lasts. */
    if (U.reset_unseen && U.analog_ready_ns < t && U.analog_ready_ns > emu_now())
        t = U.analog_ready_ns;
    if (U.reset_end_ns < t)
        t = U.reset_end_ns;
    if (U.sof_ns < t)
        t = U.sof_ns;
    if (U.esof_ns < t)
        t = U.esof_ns;
    return t;
}

/* ---- the host ---- */

static void run_until(uint64_t t)
{
    if (t > emu_now())
        emu_run_to(t);
    usb_update();
}

/* A suspended or idle bus first resumes; the transaction then waits for room in the
 * frame. Returns the start time. */
static uint64_t host_slot(uint64_t duration_ns)
{
    if (U.bus == USB_BUS_RESET)
        run_until(U.reset_end_ns);
    if (U.bus != USB_BUS_ACTIVE) {
        uint64_t t = emu_now();
        if (U.bus == USB_BUS_SUSPENDED) {
            /* Resume: K for 20 ms (activity for the device), then SOFs, then the
             * recovery time before the first transaction. */
            if (receiving())
                activity();
            run_until(t + RESUME_K_NS);
            U.bus = USB_BUS_ACTIVE;
            U.sof_ns = emu_now();
            run_until(emu_now() + RESUME_RECOVERY_NS);
        } else {
            U.bus = USB_BUS_ACTIVE;
            U.sof_ns = t;
            run_until(t);
        }
    }
    for (;;) {
        uint64_t now = emu_now();
        if (now < U.sof_busy_ns) {
            run_until(U.sof_busy_ns);
            continue;
        }
        if (U.sof_ns == EMU_NEVER || now + duration_ns + EOF_GUARD_NS <= U.sof_ns)
            return now;
        run_until(U.sof_ns); /* then past the SOF packet (above) */
    }
}

/* The device's endpoint register for a token, or -1 when nothing answers. */
static int device_endpoint(uint8_t addr, uint8_t ep, bool *ok)
{
    *ok = false;
    if (!attached() || !receiving() || (U.istr & ISTR_RESET) || !(U.daddr & 0x80u) ||
        (U.daddr & 0x7Fu) != addr)
        return -1;
    for (unsigned i = 0; i < 8; i++) {
        if ((U.epr[i] & EP_EA) == ep) {
            if (hp_endpoint(U.epr[i])) {
                emu_violation("USB endpoint %u is isochronous or double-buffered: not modelled",
                              (unsigned)ep);
                return -1;
            }
            *ok = true;
            return (int)i;
        }
    }
    return -1;
}

static board_usb_status_t count(board_usb_status_t st, uint64_t t0)
{
    switch (st) {
    case BOARD_USB_ACK: E.stats.usb_ack++; break;
    case BOARD_USB_NAK: E.stats.usb_nak++; break;
    case BOARD_USB_STALL: E.stats.usb_stall++; break;
    default: E.stats.usb_noanswer++; break;
    }
    E.stats.usb_bus_ns += emu_now() - t0;
    return st;
}

bool board_usb_present(void)
{
    return true;
}

bool board_usb_reset(uint64_t ns)
{
    E.stats.usb_resets++;
    if (U.bus == USB_BUS_RESET)
        run_until(U.reset_end_ns);
    uint64_t t = emu_now();
    U.bus = USB_BUS_RESET;
    U.sof_ns = EMU_NEVER;
    U.esof_ns = EMU_NEVER; /* the suspend timer restarts after the reset */
    U.reset_end_ns = t + ns;
    if (ns >= RESET_DETECT_NS)
        U.reset_detect_ns = t + RESET_DETECT_NS;
    run_until(t + ns);
    if (U.reset_end_ns != EMU_NEVER) { /* ns == 0 */
        U.reset_end_ns = EMU_NEVER;
        U.bus = USB_BUS_ACTIVE;
        U.sof_ns = t + FRAME_NS;
    }
    return attached() && E.powered;
}

void board_usb_suspend(void)
{
    if (U.bus == USB_BUS_RESET)
        run_until(U.reset_end_ns);
    if (U.bus == USB_BUS_ACTIVE)
        U.bus = USB_BUS_SUSPENDED;
    U.sof_ns = EMU_NEVER;
}

board_usb_status_t board_usb_setup(uint8_t addr, uint8_t ep, const uint8_t setup[8])
{
    E.stats.usb_setup++;
    uint64_t tok = token_hb(PID_SETUP, addr, ep), dat = data_hb(false, setup, 8);
    uint64_t hs = handshake_hb(PID_ACK);
    uint64_t t0 = host_slot(hb_ns(tok + GAP_HOST_HB + dat + GAP_DEVICE_HB + hs));
    run_until(t0 + hb_ns(tok + GAP_HOST_HB + dat));
    bool ok;
    int n = device_endpoint(addr, ep, &ok);
    if (n < 0 || ep_type(U.epr[n]) != TYPE_CONTROL) {
        run_until(t0 + hb_ns(tok + GAP_HOST_HB + dat + TIMEOUT_HB));
        return count(BOARD_USB_NOANSWER, t0);
    }
    activity();
    uint16_t crx = bd_get((unsigned)n, 3);
    unsigned size = rx_size(crx);
    uint16_t a = bd_get((unsigned)n, 2) & 0x3FEu;
    if (size < 8u) {
        pma_copy_in(a, setup, size);
        run_until(t0 + hb_ns(tok + GAP_HOST_HB + dat + GAP_DEVICE_HB + handshake_hb(PID_STALL)));
        return count(BOARD_USB_STALL, t0);
    }
    pma_copy_in(a, setup, 8);
    bd_set((unsigned)n, 3, (uint16_t)((crx & 0xFC00u) | 8u));
    run_until(t0 + hb_ns(tok + GAP_HOST_HB + dat + GAP_DEVICE_HB + hs));
    uint16_t r = U.epr[n];
    r |= EP_CTR_RX | EP_SETUP;
    r = (uint16_t)((r & ~(EP_STAT_RX | EP_STAT_TX)) | STAT_NAK << 12 | STAT_NAK << 4);
    r |= EP_DTOG_TX;
    if (E.opt.usb_setup_rx0)
        r &= (uint16_t)~EP_DTOG_RX;
    else
        r |= EP_DTOG_RX;
    U.epr[n] = r;
    E.stats.usb_bytes_out += 8;
    emu_kick();
    return count(BOARD_USB_ACK, t0);
}

/* Start of the host's next transaction planned to last plan ns, at or after t: after
 * the SOF packet that ends at busy, and not across a SOF (the EOF guard); sof is the
 * next SOF after busy, the others follow every 1 ms (the bus stays active during a
 * request). As host_slot() decides, without running the CPU. */
/* The time run_until(ns) stops at: the first CPU cycle at or after it. */
static uint64_t at_cycle(uint64_t ns)
{
    return emu_cyc_to_ns(emu_ns_to_cyc(ns));
}

static uint64_t slot_after(uint64_t t, uint64_t plan, uint64_t busy, uint64_t sof)
{
    for (;;) {
        if (t < busy)
            t = at_cycle(busy);
        if (sof == EMU_NEVER || t + plan + EOF_GUARD_NS <= sof)
            return t;
        busy = sof + hb_ns(2u * 35u + GAP_HOST_HB);
        sof += FRAME_NS;
    }
}

/*
 * NAKed repeats without running each one: the device answers NAK again until the
 * firmware writes a USB register (nothing else it could do changes the answer), so the
 * CPU runs in one go up to the last repeat the retry budget allows, stopping at the first
 * USB register write (U.watch). The repeats whose decision point came before that write
 * were NAKs: counted, with their bus time, as if each had been run. Returns true with *t0
 * the start of the first repeat that must be decided for real (the caller runs it), or
 * false when the budget ran out with every repeat NAKed (time is then the last one's end).
 * lead: start to decision point; tail: decision point to the end of a NAKed transaction.
 */
static bool nak_forward(uint64_t lead, uint64_t tail, uint64_t plan, uint64_t t_start,
                        uint64_t retry, uint32_t *naks, uint64_t *t0, uint64_t *kind_count)
{
    /* The SOF schedule as it stands now (running the CPU moves U.sof_*). */
    uint64_t t_end = emu_now(), last_dec = 0, busy = U.sof_busy_ns, sof = U.sof_ns;
    unsigned k = 0;
    for (uint64_t e = t_end; e - t_start < retry; k++) {
        uint64_t st = slot_after(e, plan, busy, sof);
        last_dec = st + lead;
        e = at_cycle(last_dec + tail);
    }
    if (k == 0)
        return false;
    U.watch_hit = false;
    U.watch = true;
    if (last_dec > emu_now())
        emu_run_to(last_dec);
    U.watch = false;
    uint64_t tw = emu_now();
    bool hit = U.watch_hit || tw < last_dec;
    uint64_t e = t_end;
    for (unsigned i = 0; i < k; i++) {
        uint64_t st = slot_after(e, plan, busy, sof), dec = st + lead;
        if (hit && dec >= tw) {
            *t0 = st;
            usb_update();
            return true;
        }
        e = at_cycle(dec + tail);
        (*kind_count)++;
        E.stats.usb_nak++;
        E.stats.usb_bus_ns += e - st;
        if (i + 1 < k)
            (*naks)++;
    }
    run_until(e);
    return false;
}

board_usb_status_t board_usb_out(uint8_t addr, uint8_t ep, bool data1, const uint8_t *d,
                                 size_t len, uint64_t retry_ns, uint32_t *naks)
{
    uint64_t t_start = emu_now();
    *naks = 0;
    uint64_t tok = token_hb(PID_OUT, addr, ep), dat = data_hb(data1, d, len);
    uint64_t hs = handshake_hb(PID_ACK);
    uint64_t lead = hb_ns(tok + GAP_HOST_HB + dat), tail = hb_ns(GAP_DEVICE_HB + hs);
    uint64_t plan = hb_ns(tok + GAP_HOST_HB + dat + GAP_DEVICE_HB + hs);
    uint64_t t0 = host_slot(plan);
    for (;;) {
        E.stats.usb_out++;
        uint64_t t_data = t0 + lead;
        run_until(t_data);
        bool ok;
        int n = device_endpoint(addr, ep, &ok);
        unsigned st = n < 0 ? STAT_DISABLED : stat_rx(U.epr[n]);
        if (st == STAT_DISABLED) {
            run_until(t_data + hb_ns(TIMEOUT_HB));
            return count(BOARD_USB_NOANSWER, t0);
        }
        activity();
        uint64_t t_end = t_data + tail;
        if (st == STAT_STALL) {
            run_until(t_end);
            return count(BOARD_USB_STALL, t0);
        }
        if (st == STAT_NAK) {
            run_until(t_end);
            count(BOARD_USB_NAK, t0);
            if (emu_now() - t_start >= retry_ns)
                return BOARD_USB_NAK;
            (*naks)++;
            if (!nak_forward(lead, tail, plan, t_start, retry_ns, naks, &t0, &E.stats.usb_out))
                return BOARD_USB_NAK;
            continue;
        }
        uint16_t r = U.epr[n];
        if (data1 != !!(r & EP_DTOG_RX)) { /* a repeat: ACKed, dropped */
            run_until(t_end);
            return count(BOARD_USB_ACK, t0);
        }
        uint16_t crx = bd_get((unsigned)n, 3);
        unsigned size = rx_size(crx);
        uint16_t a = bd_get((unsigned)n, 2) & 0x3FEu;
        bool status_out = ep_type(r) == TYPE_CONTROL && (r & EP_KIND);
        if (len > size || (status_out && len > 0)) {
            if (len > size)
                pma_copy_in(a, d, size);
            run_until(t_end);
            return count(BOARD_USB_STALL, t0);
        }
        pma_copy_in(a, d, len);
        bd_set((unsigned)n, 3, (uint16_t)((crx & 0xFC00u) | len));
        run_until(t_end);
        r = U.epr[n];
        r |= EP_CTR_RX;
        r &= (uint16_t)~EP_SETUP;
        r ^= EP_DTOG_RX;
        r = (uint16_t)((r & ~EP_STAT_RX) | STAT_NAK << 12);
        U.epr[n] = r;
        E.stats.usb_bytes_out += len;
        emu_kick();
        return count(BOARD_USB_ACK, t0);
    }
}

board_usb_status_t board_usb_in(uint8_t addr, uint8_t ep, uint8_t *d, size_t max, size_t *len,
                                bool *data1, uint64_t retry_ns, uint32_t *naks)
{
    uint64_t t_start = emu_now();
    *naks = 0;
    *len = 0;
    *data1 = false;
    uint64_t tok = token_hb(PID_IN, addr, ep);
    /* Room for a full 64-byte packet: the host plans for its maximum. */
    uint64_t plan = hb_ns(tok + GAP_DEVICE_HB + 2u * (35u + 8u * 64u * 7u / 6u) + GAP_HOST_HB +
                          handshake_hb(PID_ACK));
    uint64_t lead = hb_ns(tok), tail = hb_ns(GAP_DEVICE_HB + handshake_hb(PID_NAK));
    uint64_t t0 = host_slot(plan);
    for (;;) {
        E.stats.usb_in++;
        uint64_t t_tok = t0 + lead;
        run_until(t_tok);
        bool ok;
        int n = device_endpoint(addr, ep, &ok);
        unsigned st = n < 0 ? STAT_DISABLED : stat_tx(U.epr[n]);
        if (st == STAT_DISABLED) {
            run_until(t_tok + hb_ns(TIMEOUT_HB));
            return count(BOARD_USB_NOANSWER, t0);
        }
        activity();
        if (st == STAT_STALL) {
            run_until(t_tok + tail);
            return count(BOARD_USB_STALL, t0);
        }
        if (st == STAT_NAK) {
            run_until(t_tok + tail);
            count(BOARD_USB_NAK, t0);
            if (emu_now() - t_start >= retry_ns)
                return BOARD_USB_NAK;
            (*naks)++;
            if (!nak_forward(lead, tail, plan, t_start, retry_ns, naks, &t0, &E.stats.usb_in))
                return BOARD_USB_NAK;
            continue;
        }
        uint16_t r = U.epr[n];
        uint16_t a = bd_get((unsigned)n, 0) & 0x3FEu;
        unsigned cnt = bd_get((unsigned)n, 1) & 0x3FFu;
        uint8_t buf[1024];
        if (a + cnt > PMA_SIZE) {
            emu_violation("USB IN buffer at PMA 0x%03x + %u bytes runs past the packet memory",
                          (unsigned)a, cnt);
            cnt = PMA_SIZE - a;
        }
        memcpy(buf, U.pma + a, cnt);
        bool d1 = r & EP_DTOG_TX;
        uint64_t t_data = t_tok + hb_ns(GAP_DEVICE_HB + data_hb(d1, buf, cnt));
        if (cnt > max) { /* babble: the host does not acknowledge */
            run_until(t_data + hb_ns(TIMEOUT_HB));
            E.stats.usb_noanswer++;
            E.stats.usb_bus_ns += emu_now() - t0;
            return BOARD_USB_BABBLE;
        }
        run_until(t_data + hb_ns(GAP_HOST_HB + handshake_hb(PID_ACK)));
        r = U.epr[n];
        r |= EP_CTR_TX;
        r ^= EP_DTOG_TX;
        r = (uint16_t)((r & ~EP_STAT_TX) | STAT_NAK << 4);
        U.epr[n] = r;
        emu_kick();
        memcpy(d, buf, cnt);
        *len = cnt;
        *data1 = d1;
        E.stats.usb_bytes_in += cnt;
        return count(BOARD_USB_ACK, t0);
    }
}

void usb_stats_print(FILE *f)
{
    const emu_stats_t *s = &E.stats;
    if (!(s->usb_setup | s->usb_in | s->usb_out | s->usb_resets))
        return;
    fprintf(f, "  USB: %llu resets, %llu SOFs; %llu SETUP, %llu OUT, %llu IN; ACK %llu, NAK %llu, "
               "STALL %llu, no answer %llu; %llu bytes in, %llu out; bus %.3f ms\n",
            (unsigned long long)s->usb_resets, (unsigned long long)s->usb_sofs,
            (unsigned long long)s->usb_setup, (unsigned long long)s->usb_out,
            (unsigned long long)s->usb_in, (unsigned long long)s->usb_ack,
            (unsigned long long)s->usb_nak, (unsigned long long)s->usb_stall,
            (unsigned long long)s->usb_noanswer, (unsigned long long)s->usb_bytes_in,
            (unsigned long long)s->usb_bytes_out, (double)s->usb_bus_ns / 1e6);
}
