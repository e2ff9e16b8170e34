/*
 * I2C2 in target mode (the STM32F1 "v1" peripheral, RM0008 §26) and the controller on
 * the other end of the bus (the socket client's transfers), bit cell by bit cell.
 *
 * The controller runs the transfer of SIM-PROTOCOL.md: START, address, written bytes,
 * repeated START, address, read bytes, STOP, with bit period T. The target raises its
 * flags at the bus times the protocol document gives (ADDR at the end of the address's
 * acknowledge bit, RXNE at the end of a written byte's acknowledge bit, TXE as a read
 * byte starts, STOPF at the STOP) and, unlike the simulator, stretches SCL as the
 * hardware does (NOSTRETCH = 0):
 *   - after ADDR until it is cleared (SR1 then SR2 read);
 *   - before the acknowledge of a written byte while DR still holds the previous one
 *     (BTF; released by reading DR);
 *   - before a read byte while DR is empty (BTF after the first byte; released by
 *     writing DR).
 * A stretch only delays the bus once it outlasts the controller's own SCL low time
 * (T/2): the next cell then starts that much later, so virtual bus time extends by what
 * the firmware was late. With NOSTRETCH = 1 the same situations are overruns (OVR): the
 * byte is lost (write) or the previous one sent again (read).
 *
 * Assumptions where RM0008 is not explicit, chosen on the harsh side:
 *   - a byte preloaded in DR for a read that the controller NACKed is dropped at the STOP
 *     (or a START): RM0008's slave-transmitter sequence has software write DR at every
 *     EV3, including the one before the final NACK, and still shows EV3-1 (TxE with DR
 *     empty) after the next ADDR, so the hardware cannot send that byte later;
 *   - STOPF is set only after a write phase whose last byte (or address) was ACKed
 *     ("after an acknowledge (if ACK = 1)");
 *   - PE = 0 or SWRST release the lines at once (the manual defers PE = 0 to the end of
 *     the transfer in master mode).
 */
#include <stdio.h>
#include <string.h>

#include "emu_internal.h"
#include "emu_vcd.h"

#define CR1_PE (1u << 0)
#define CR1_ENGC (1u << 6)
#define CR1_NOSTRETCH (1u << 7)
#define CR1_START (1u << 8)
#define CR1_STOP (1u << 9)
#define CR1_ACK (1u << 10)
#define CR1_SWRST (1u << 15)
#define CR2_FREQ 0x3Fu
#define CR2_ITERREN (1u << 8)
#define CR2_ITEVTEN (1u << 9)
#define CR2_ITBUFEN (1u << 10)
#define OAR1_ADDMODE (1u << 15)
#define OAR1_BIT14 (1u << 14)
#define SR1_SB (1u << 0)
#define SR1_ADDR (1u << 1)
#define SR1_BTF (1u << 2)
#define SR1_STOPF (1u << 4)
#define SR1_RXNE (1u << 6)
#define SR1_TXE (1u << 7)
#define SR1_AF (1u << 10)
#define SR1_OVR (1u << 11)
#define SR1_RC_W0 0xDF00u /* BERR ARLO AF OVR PECERR TIMEOUT SMBALERT */
#define SR2_BUSY (1u << 1)
#define SR2_TRA (1u << 2)
#define SR2_GENCALL (1u << 4)
#define SR2_DUALF (1u << 7)

/* A controller gives up when SCL stays low this long (the firmware's own watchdog
 * releases the bus after 100 ms, so this only ends a hung firmware's transfer). */
#define STRETCH_TIMEOUT_NS 1000000000ull

/* The controller (CTL) and the target registers (TGT). */
#define CTL E.i2c.m
#define TGT E.i2c

static uint64_t bit_ns(void)
{
    return 1000000000ull / E.bus_hz;
}

/* ---- trace: one cell per bit, SDA changes in the low half, SCL high in the middle ---- */

static void cell(uint64_t s, bool sda, uint64_t end)
{
    uint64_t T = bit_ns();
    vcd_edge(s + T / 4u, VCD_SDA, sda);
    vcd_edge(s + T / 2u, VCD_SCL, 1);
    vcd_edge(end, VCD_SCL, 0);
}

static void byte_cells(uint64_t s, uint8_t b)
{
    uint64_t T = bit_ns();
    for (int i = 0; i < 8; i++)
        cell(s + (uint64_t)i * T, (b >> (7 - i)) & 1u, s + (uint64_t)(i + 1) * T);
}

/* ---- target side ---- */

static bool active_transfer(void)
{
    return CTL.state != M_IDLE;
}

bool i2c_ev_level(void)
{
    if (!(TGT.cr2 & CR2_ITEVTEN))
        return false;
    if (TGT.sr1 & (SR1_SB | SR1_ADDR | SR1_BTF | SR1_STOPF))
        return true;
    bool txe = TGT.tx_phase && !TGT.tx_full;
    return (TGT.cr2 & CR2_ITBUFEN) && (txe || TGT.rx_full);
}

bool i2c_er_level(void)
{
    return (TGT.cr2 & CR2_ITERREN) && (TGT.sr1 & SR1_RC_W0);
}

static bool handler_running(void)
{
    return E.nvic.cur == EXC_IRQ0 + IRQ_I2C2_EV || E.nvic.cur == EXC_IRQ0 + IRQ_I2C2_ER;
}

/* A flag was raised at time t: start the latency clock if it asks for an interrupt. */
static void note_event(uint64_t t)
{
    emu_kick();
    if (TGT.evt_since != EMU_NEVER || !(i2c_ev_level() || i2c_er_level()))
        return;
    TGT.evt_since = t;
    emu_where(E.cur_pc, TGT.evt_where, sizeof TGT.evt_where);
}

static void latency_met(void)
{
    if (TGT.evt_since == EMU_NEVER)
        return;
    uint64_t now = emu_now(), lat = now > TGT.evt_since ? now - TGT.evt_since : 0;
    E.stats.i2c_latency_sum_ns += lat;
    E.stats.i2c_latency_n++;
    if (lat > E.stats.i2c_latency_max_ns) {
        E.stats.i2c_latency_max_ns = lat;
        memcpy(E.stats.i2c_latency_worst_at, TGT.evt_where, sizeof TGT.evt_where);
    }
    TGT.evt_since = EMU_NEVER;
}

void i2c_on_handler_entry(void)
{
    E.stats.i2c_entries++;
    latency_met();
}

bool i2c_listening(void)
{
    return (TGT.cr1 & (CR1_PE | CR1_ACK)) == (CR1_PE | CR1_ACK) && (TGT.cr2 & CR2_ITEVTEN) &&
           (E.nvic.iser[IRQ_I2C2_EV / 32] & (1u << (IRQ_I2C2_EV % 32))) &&
           (E.rcc.apb1enr & (1u << 22));
}

/* The target stops driving the bus (reset, PE = 0, power loss): a stretch ends now. */
static void release_lines(void)
{
    if (!active_transfer())
        return;
    TGT.released = true;
    if (CTL.stretch != STRETCH_NONE) {
        CTL.stretch = STRETCH_NONE;
        uint64_t now = emu_now();
        CTL.next_ns = now > CTL.stretch_edge ? now : CTL.stretch_edge;
        emu_kick();
    }
}

static void regs_reset(void)
{
    TGT.cr1 = TGT.cr2 = TGT.oar1 = TGT.oar2 = TGT.ccr = 0;
    TGT.trise = 2;
    TGT.sr1 = TGT.sr2 = 0;
    TGT.rx_full = TGT.tx_full = TGT.tx_phase = false;
    TGT.sr1_seen_addr = TGT.sr1_seen_stopf = TGT.sr1_seen_btf = false;
}

void i2c_reset(void)
{
    regs_reset();
    release_lines();
    TGT.evt_since = EMU_NEVER;
    emu_kick();
}

void i2c_power_lost(void)
{
    i2c_reset();
}

/* The wait the target imposed is over at now: the controller's next clock edge comes
 * once its own low time has also passed. */
static void release_stretch(int kind)
{
    if (CTL.stretch != kind)
        return;
    uint64_t now = emu_now(), half = bit_ns() / 2u, late = 0;
    if (now > CTL.stretch_edge + half)
        late = now - CTL.stretch_edge - half;
    if (late) {
        if (kind == STRETCH_ADDR)
            E.stats.i2c_stretch_addr++;
        E.stats.i2c_stretch_ns += late;
        if (late > E.stats.i2c_stretch_max_ns)
            E.stats.i2c_stretch_max_ns = late;
    }
    CTL.stretch = STRETCH_NONE;
    CTL.next_ns = CTL.stretch_edge + late;
    CTL.release_ns = now;
    emu_kick();
}

static bool target_alive(void);

static void stretch(int kind, uint64_t edge, int then)
{
    if (!target_alive()) {
        /* Power died (or the peripheral was reset) since the event: nobody holds SCL. */
        CTL.state = then;
        CTL.next_ns = edge;
        return;
    }
    CTL.stretch = kind;
    CTL.stretch_edge = edge;
    CTL.state = then;
    CTL.next_ns = EMU_NEVER;
}

static bool target_alive(void)
{
    return E.powered && (TGT.cr1 & CR1_PE) && !(TGT.cr1 & CR1_SWRST) && !TGT.released;
}

static void check_timing_config(void)
{
    uint32_t freq = TGT.cr2 & CR2_FREQ;
    if (freq < 2u || freq > 36u)
        emu_violation("I2C_CR2.FREQ = %u: must be 2..36 (MHz)", (unsigned)freq);
    else if (freq * 1000000u != E.rcc.pclk1)
        emu_violation("I2C_CR2.FREQ = %u MHz but PCLK1 is %u Hz: data setup/hold times wrong",
                      (unsigned)freq, (unsigned)E.rcc.pclk1);
    if (E.bus_hz > 100000u && E.rcc.pclk1 < 4000000u)
        emu_violation("PCLK1 %u Hz is below the 4 MHz a 400 kHz bus needs", (unsigned)E.rcc.pclk1);
    if (!(TGT.oar1 & OAR1_BIT14))
        emu_violation("I2C_OAR1 bit 14 must be kept at 1 by software (RM0008 §26.6.3)");
}

/* Does the target acknowledge this address byte? */
static bool target_acks(uint8_t addr7)
{
    if (!target_alive())
        return false;
    if (!gpio_i2c_pins_ok())
        return false; /* the peripheral does not reach the pins: nobody answers */
    check_timing_config();
    if (!(TGT.cr1 & CR1_ACK))
        return false;
    bool own1 = !(TGT.oar1 & OAR1_ADDMODE) && ((TGT.oar1 >> 1) & 0x7Fu) == addr7;
    bool own2 = (TGT.oar2 & 1u) && ((TGT.oar2 >> 1) & 0x7Fu) == addr7;
    bool gc = addr7 == 0 && (TGT.cr1 & CR1_ENGC);
    if (own2 && !own1)
        TGT.sr2 |= SR2_DUALF;
    if (gc)
        TGT.sr2 |= SR2_GENCALL;
    return own1 || own2 || gc;
}

/* ---- controller: one step per bus event ---- */

static void at(int state, uint64_t t)
{
    CTL.state = state;
    CTL.next_ns = t;
}

static void hold_here(void)
{
    CTL.held = true;
    CTL.next_ns = EMU_NEVER;
    if (E.stop_on_i2c)
        emu_request_stop();
}

static void finish_transfer(void)
{
    CTL.state = M_IDLE;
    CTL.next_ns = EMU_NEVER;
    CTL.done = true;
    if (E.stop_on_i2c)
        emu_request_stop();
}

static void m_step(void)
{
    uint64_t t = CTL.next_ns, T = bit_ns();
    switch (CTL.state) {
    case M_START:
        TGT.released = false;
        TGT.addressed = false;
        if (target_alive())
            TGT.sr2 |= SR2_BUSY;
        TGT.tx_phase = false; /* TXE clears on a START (RM0008 §26.6.6) */
        TGT.tx_full = false;
        vcd_edge(t, VCD_SCL, 1);
        vcd_edge(t, VCD_SDA, 1);
        vcd_edge(t + T / 2u, VCD_SDA, 0);
        vcd_edge(t + T, VCD_SCL, 0);
        CTL.rw = CTL.wlen == 0 && CTL.rlen > 0;
        at(M_ADDR_BITS, t + T);
        break;
    case M_ADDR_BITS:
        byte_cells(t, (uint8_t)(CTL.addr7 << 1 | CTL.rw));
        E.stats.i2c_bus_bytes++;
        at(M_ADDR_ACK, t + 8u * T);
        break;
    case M_ADDR_ACK:
        CTL.ack = target_acks(CTL.addr7);
        CTL.t = t;
        if (CTL.rw && CTL.hold == M_ADDR_DONE && CTL.ack) {
            vcd_edge(t + T / 4u, VCD_SDA, 0);
            vcd_edge(t + T / 2u, VCD_SCL, 1);
            CTL.state = M_ADDR_DONE;
            hold_here(); /* the controller keeps SCL high: ADDR comes at release */
            break;
        }
        cell(t, !CTL.ack, t + T);
        at(M_ADDR_DONE, t + T);
        break;
    case M_ADDR_DONE:
            if (CTL.held)
            vcd_edge(t, VCD_SCL, 0);
        CTL.held = false;
        if (!CTL.ack) {
            CTL.status = BOARD_NACK_ADDR;
            at(M_STOP, t);
            break;
        }
        TGT.addressed = true;
        TGT.sr1 |= SR1_ADDR;
        TGT.sr1_seen_addr = false;
        if (CTL.rw) {
            TGT.sr2 |= SR2_TRA;
            TGT.tx_phase = true;
            TGT.rx_phase = false;
        } else {
            TGT.sr2 &= ~SR2_TRA;
            TGT.tx_phase = false;
            TGT.rx_phase = true;
        }
        note_event(t);
        {
            int next = CTL.rw ? M_RBYTE_START : CTL.wi < CTL.wlen ? M_WBYTE : CTL.rlen ? M_RSTART : M_STOP;
            if (TGT.cr1 & CR1_NOSTRETCH)
                at(next, t);
            else
                stretch(STRETCH_ADDR, t, next);
        }
        break;
    case M_WBYTE:
        byte_cells(t, CTL.w[CTL.wi]);
        E.stats.i2c_bus_bytes++;
        if (flash_busy_now())
            E.stats.i2c_bytes_while_flash_busy++;
        at(M_WACK, t + 8u * T);
        break;
    case M_WACK:
        CTL.lost = false;
        if (target_alive() && TGT.rx_full) {
            if (TGT.cr1 & CR1_NOSTRETCH) {
                /* Overrun: the byte is lost (RM0008 §26.3.4). */
                TGT.sr1 |= SR1_OVR;
                E.stats.i2c_ovr++;
                E.stats.i2c_rx_lost++;
                CTL.lost = true;
                note_event(t);
            } else {
                TGT.sr1 |= SR1_BTF;
                TGT.sr1_seen_btf = false;
                E.stats.i2c_stretch_data++;
                note_event(t);
                stretch(STRETCH_RX, t, M_WACK2);
                break;
            }
        }
        at(M_WACK2, t);
        break;
    case M_WACK2:
        CTL.ack = target_alive() && (TGT.cr1 & CR1_ACK);
        cell(t, !CTL.ack, t + T);
        at(M_WACK_DONE, t + T);
        break;
    case M_WACK_DONE:
        if (target_alive() && !CTL.lost) {
            TGT.rx = CTL.w[CTL.wi];
            TGT.rx_full = true;
            TGT.tx_full = false; /* DR is shared: the received byte replaces anything */
            note_event(t);
        }
        if (!CTL.ack) {
            CTL.status = BOARD_NACK_DATA;
            at(M_STOP, t);
            break;
        }
        CTL.wacked++;
        CTL.wi++;
        at(CTL.wi < CTL.wlen ? M_WBYTE : CTL.rlen ? M_RSTART : M_STOP, t);
        break;
    case M_RSTART:
        vcd_edge(t + T / 8u, VCD_SDA, 1);
        vcd_edge(t + T / 4u, VCD_SCL, 1);
        vcd_edge(t + 3u * T / 4u, VCD_SDA, 0);
        vcd_edge(t + T, VCD_SCL, 0);
        TGT.tx_phase = false;
        TGT.tx_full = false;
        CTL.rw = true;
        at(M_ADDR_BITS, t + T);
        break;
    case M_RBYTE_START:
        if (!target_alive()) {
            CTL.shifter = 0xFF; /* SDA released: the controller reads ones */
        } else if (TGT.tx_full) {
            CTL.shifter = TGT.tx;
            TGT.tx_full = false;
            /* TXE again: the next byte may be written. After a stretch the cell may
             * start before the DR write that ended it; the flag cannot. */
            note_event(t > CTL.release_ns ? t : CTL.release_ns);
        } else if (TGT.cr1 & CR1_NOSTRETCH) {
            TGT.sr1 |= SR1_OVR; /* underrun: the previous byte goes out again */
            E.stats.i2c_ovr++;
            CTL.shifter = TGT.tx;
            note_event(t);
        } else {
            if (CTL.ri > 0) {
                TGT.sr1 |= SR1_BTF;
                TGT.sr1_seen_btf = false;
                E.stats.i2c_stretch_data++;
                note_event(t);
            }
            stretch(STRETCH_TX, t, M_RBYTE_START);
            break;
        }
        at(M_RBYTE_BITS, t);
        break;
    case M_RBYTE_BITS:
        if (CTL.ri < CTL.rlen)
            CTL.r[CTL.ri] = CTL.shifter;
        byte_cells(t, CTL.shifter);
        E.stats.i2c_bus_bytes++;
        if (flash_busy_now())
            E.stats.i2c_bytes_while_flash_busy++;
        at(M_RACK, t + 8u * T);
        break;
    case M_RACK:
        CTL.ack = CTL.ri + 1u < CTL.rlen;
        cell(t, !CTL.ack, t + T);
        at(M_RACK_DONE, t + T);
        break;
    case M_RACK_DONE:
        CTL.ri++;
        if (CTL.ack) {
            at(M_RBYTE_START, t);
            break;
        }
        if (target_alive() && TGT.addressed) {
            TGT.sr1 |= SR1_AF; /* the controller's NACK ends a target-transmit */
            note_event(t);
        }
        at(M_STOP, t);
        break;
    case M_STOP:
        vcd_edge(t + T / 8u, VCD_SDA, 0);
        vcd_edge(t + T / 4u, VCD_SCL, 1);
        if (CTL.hold == M_STOP_DONE) {
            CTL.state = M_STOP_DONE;
            hold_here(); /* SDA held low with SCL high: the STOP comes at release */
            break;
        }
        at(M_STOP_DONE, t + T);
        break;
    case M_STOP_DONE:
        CTL.held = false;
        vcd_edge(t, VCD_SDA, 1);
        if (target_alive() && TGT.addressed && TGT.rx_phase && CTL.ack) {
            TGT.sr1 |= SR1_STOPF;
            TGT.sr1_seen_stopf = false;
            note_event(t);
        }
        TGT.sr2 &= ~(SR2_BUSY | SR2_TRA | SR2_GENCALL | SR2_DUALF);
        TGT.tx_phase = false;
        TGT.tx_full = false;
        TGT.rx_phase = false;
        TGT.addressed = false;
        finish_transfer();
        break;
    default:
        CTL.next_ns = EMU_NEVER;
        break;
    }
}

void i2c_update(void)
{
    uint64_t now = emu_now();
    while (CTL.state != M_IDLE && CTL.next_ns <= now)
        m_step();
    if (CTL.stretch != STRETCH_NONE && now >= CTL.stretch_edge + STRETCH_TIMEOUT_NS) {
        char where[64];
        fprintf(stderr,
                "flashbridge-emu: ERROR: I2C controller timeout: SCL held low for 1 s by the "
                "target (firmware at %s)\n",
                emu_where(E.cur_pc, where, sizeof where));
        E.stats.i2c_timeouts++;
        CTL.status = CTL.ri || CTL.wi ? BOARD_NACK_DATA : BOARD_NACK_ADDR;
        CTL.stretch = STRETCH_NONE;
        TGT.sr2 &= ~SR2_BUSY;
        finish_transfer();
    }
}

uint64_t i2c_next_event_ns(void)
{
    if (CTL.state == M_IDLE)
        return EMU_NEVER;
    if (CTL.stretch != STRETCH_NONE)
        return CTL.stretch_edge + STRETCH_TIMEOUT_NS;
    return CTL.next_ns;
}

/* ---- registers ---- */

uint32_t i2c_read(uint32_t off)
{
    i2c_update();
    switch (off) {
    case 0x00: return TGT.cr1;
    case 0x04: return TGT.cr2;
    case 0x08: return TGT.oar1;
    case 0x0C: return TGT.oar2;
    case 0x10: {
        /* DR: the received byte; the read also clears BTF after an SR1 read. */
        if (!TGT.rx_full)
            E.stats.i2c_rx_dup++;
        uint8_t v = TGT.tx_phase ? TGT.tx : TGT.rx;
        TGT.rx_full = false;
        if (TGT.sr1_seen_btf && (TGT.sr1 & SR1_BTF) && !TGT.tx_phase)
            TGT.sr1 &= ~SR1_BTF;
        TGT.sr1_seen_btf = false;
        release_stretch(STRETCH_RX);
        return v;
    }
    case 0x14: {
        uint32_t v = TGT.sr1;
        if (TGT.rx_full)
            v |= SR1_RXNE;
        if (TGT.tx_phase && !TGT.tx_full)
            v |= SR1_TXE;
        TGT.sr1_seen_addr = (v & SR1_ADDR) != 0;
        TGT.sr1_seen_stopf = (v & SR1_STOPF) != 0;
        TGT.sr1_seen_btf = (v & SR1_BTF) != 0;
        if (handler_running())
            latency_met(); /* an event raised while the handler runs: served now */
        return v;
    }
    case 0x18: {
        uint32_t v = TGT.sr2;
        if (TGT.sr1_seen_addr && (TGT.sr1 & SR1_ADDR)) { /* ADDR: SR1 read then SR2 read */
            TGT.sr1 &= ~SR1_ADDR;
            release_stretch(STRETCH_ADDR);
        }
        TGT.sr1_seen_addr = false;
        return v;
    }
    case 0x1C: return TGT.ccr;
    case 0x20: return TGT.trise;
    default: return 0;
    }
}

void i2c_write(uint32_t off, uint32_t v, uint32_t mask)
{
    i2c_update();
    switch (off) {
    case 0x00: {
        uint32_t nv = (TGT.cr1 & ~mask) | (v & mask);
        if (nv & CR1_SWRST) {
            regs_reset();
            TGT.cr1 = CR1_SWRST;
            release_lines();
            break;
        }
        if (nv & (CR1_START | CR1_STOP))
            emu_violation("I2C_CR1 START/STOP set: master mode is not modelled");
        if (!(nv & CR1_PE)) {
            nv &= ~CR1_ACK; /* ACK cannot be set while PE = 0 */
            if (TGT.cr1 & CR1_PE) {
                TGT.sr1 = 0;
                TGT.sr2 = 0;
                TGT.rx_full = TGT.tx_full = TGT.tx_phase = false;
                release_lines();
            }
        }
        if (TGT.sr1_seen_stopf && (TGT.sr1 & SR1_STOPF)) /* STOPF: SR1 read then CR1 write */
            TGT.sr1 &= ~SR1_STOPF;
        TGT.sr1_seen_stopf = false;
        TGT.cr1 = nv & 0xBFFBu;
        break;
    }
    case 0x04:
        TGT.cr2 = ((TGT.cr2 & ~mask) | (v & mask)) & 0x1F3Fu;
        break;
    case 0x08:
        TGT.oar1 = ((TGT.oar1 & ~mask) | (v & mask)) & 0xC3FFu;
        break;
    case 0x0C:
        TGT.oar2 = ((TGT.oar2 & ~mask) | (v & mask)) & 0xFFu;
        break;
    case 0x10:
        if (TGT.tx_phase && TGT.tx_full)
            E.stats.i2c_tx_lost++;
        TGT.tx = (uint8_t)v;
        TGT.tx_full = true;
        TGT.rx_full = false;
        if (TGT.sr1_seen_btf && (TGT.sr1 & SR1_BTF) && TGT.tx_phase)
            TGT.sr1 &= ~SR1_BTF;
        TGT.sr1_seen_btf = false;
        release_stretch(STRETCH_TX);
        break;
    case 0x14: {
        /* rc_w0: a 0 written to a flag clears it, a 1 leaves it. */
        uint32_t clear = SR1_RC_W0 & mask & ~v;
        TGT.sr1 &= ~clear;
        break;
    }
    case 0x1C:
    case 0x20:
        if (TGT.cr1 & CR1_PE)
            emu_violation("I2C_%s written with PE = 1 (RM0008: configure only when disabled)",
                          off == 0x1C ? "CCR" : "TRISE");
        if (off == 0x1C)
            TGT.ccr = (TGT.ccr & ~mask) | (v & mask);
        else
            TGT.trise = (TGT.trise & ~mask) | (v & mask);
        break;
    default:
        break;
    }
    emu_kick();
}

/* ---- test and board interface ---- */

void emu_i2c_begin(uint8_t addr7, const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen,
                   enum emu_hold hold)
{
    i2c_update();
    memset(&CTL, 0, sizeof CTL);
    CTL.addr7 = addr7;
    CTL.w = w;
    CTL.wlen = wlen;
    CTL.r = r;
    CTL.rlen = rlen;
    CTL.status = BOARD_ACK;
    CTL.hold = hold == EMU_HOLD_STOP ? M_STOP_DONE : hold == EMU_HOLD_READ_ADDR ? M_ADDR_DONE : M_IDLE;
    at(M_START, emu_now());
    emu_kick();
}

bool emu_i2c_run_to_hold(uint64_t max_ns)
{
    uint64_t end = emu_now() + max_ns;
    E.stop_on_i2c = true;
    while (!CTL.held && CTL.state != M_IDLE && emu_now() < end)
        emu_run_to(end);
    E.stop_on_i2c = false;
    return CTL.held;
}

void emu_i2c_release(void)
{
    if (!CTL.held)
        return;
    CTL.next_ns = emu_now();
    emu_kick();
}

board_xfer_status_t emu_i2c_finish(size_t *wacked)
{
    E.stop_on_i2c = true;
    while (CTL.state != M_IDLE) {
        if (CTL.held)
            emu_i2c_release();
        emu_run_to(emu_now() + 10u * STRETCH_TIMEOUT_NS);
    }
    E.stop_on_i2c = false;
    if (wacked)
        *wacked = CTL.wacked;
    vcd_flush(emu_now() > 1000000u ? emu_now() - 1000000u : 0);
    return CTL.status;
}
