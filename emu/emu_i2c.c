/*
 * I2C2 in target mode (the STM32F1 "v1" peripheral, RM0008 §26), the controller on the
 * other end of the bus (the socket client's transfers), and the other devices that share
 * the bus, bit cell by bit cell.
 *
 * The controller runs the transfer of SIM-PROTOCOL.md: START, address, written bytes,
 * repeated START, address, read bytes, STOP, with bit period T. The target raises its
 * flags at the bus times the protocol document gives (ADDR at the end of the address's
 * acknowledge bit, RXNE at the end of a written byte's acknowledge bit, TXE as a read
 * byte starts, STOPF at the STOP) and, unlike the simulator, stretches SCL as the
 * hardware does (NOSTRETCH = 0), always after the acknowledge bit (the acknowledge
 * itself is never delayed):
 *   - after ADDR until it is cleared (SR1 then SR2 read);
 *   - after a written byte's acknowledge while DR still holds the previous one (BTF;
 *     the new byte waits in the shift register; released by reading DR);
 *   - before a read byte while DR is empty (BTF after the first byte; released by
 *     writing DR).
 * A stretch only delays the bus once it outlasts the controller's own SCL low time
 * (T/2): the next cell then starts that much later, so virtual bus time extends by what
 * the firmware was late. With NOSTRETCH = 1 the same situations are overruns (OVR): the
 * byte is lost (write) or the previous one sent again (read). A controller gives up on
 * SCL held low after --stretch-timeout-us (35 ms, Linux i2c-bcm2835) and fails the
 * transfer; the target keeps holding SCL until its firmware lets go, and nobody can
 * start a transfer meanwhile.
 *
 * The shared bus (--bus-traffic PCT): other controllers address other targets for PCT %
 * of bus time; every transfer waits for the bus to be free. Their STARTs set BUSY in our
 * peripheral, their STOPs clear it, their addresses never match. Every edge on SCL and
 * SDA is kept (bus_edge), so a GPIO read returns the true line levels at that instant.
 * Our GPIOs pulling a line low are counted (line drives; a START or STOP made that way,
 * and any other device's transfer they or our stretching touched).
 *
 * Where RM0008 is not explicit, each possibility is a mode:
 *   - a byte written to DR and not clocked out when a read ends (the controller's NACK,
 *     a STOP, a START): --dr-preload discard drops it; keep (the harsher) keeps it in
 *     DR, and the next read's ADDR moves it into the shift register at once, so it goes
 *     out first and the firmware's first DR write becomes the second byte;
 *   - STOPF is set only after a write phase whose last byte (or address) was ACKed
 *     ("after an acknowledge (if ACK = 1)");
 *   - PE = 0 or SWRST release the lines at once (the manual defers PE = 0 to the end of
 *     the transfer in master mode).
 *
 * Faults (--fault-pct): a bus error (a misplaced STOP in a written byte), lost
 * arbitration (another device drives SDA low during a read byte), a read NACKed early
 * by the controller, a controller that abandons a read in mid-byte (it stops at the
 * first 1 bit the target sends, a misplaced STOP, or clocks the byte out and NACKs it).
 * Our controller reports each as a failed transfer.
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
#define SR1_BERR (1u << 8)
#define SR1_ARLO (1u << 9)
#define SR1_AF (1u << 10)
#define SR1_OVR (1u << 11)
#define SR1_RC_W0 0xDF00u /* BERR ARLO AF OVR PECERR TIMEOUT SMBALERT */
#define SR2_BUSY (1u << 1)
#define SR2_TRA (1u << 2)
#define SR2_GENCALL (1u << 4)
#define SR2_DUALF (1u << 7)

/* The default --stretch-timeout-us: Linux i2c-bcm2835 gives up after about 35 ms. */
#define STRETCH_TIMEOUT_DEFAULT_US 35000u

/* Bus free time between a STOP and the next START (tBUF: 4.7 us at 100 kHz, 1.3 us at
 * 400 kHz; the half bit covers both). */
#define T_BUF_NS (bit_ns() / 2u)

enum { FAULT_NONE, FAULT_BERR, FAULT_ARLO, FAULT_NACK, FAULT_ABORT };

static uint64_t stretch_timeout_ns(void)
{
    uint32_t us = E.opt.stretch_timeout_us ? E.opt.stretch_timeout_us : STRETCH_TIMEOUT_DEFAULT_US;
    return (uint64_t)us * 1000u;
}

/* The controller (CTL) and the target registers (TGT). */
#define CTL E.i2c.m
#define TGT E.i2c

static uint64_t bit_ns(void)
{
    return 1000000000ull / E.bus_hz;
}

/* ---- the lines: every edge, in time order per line ---- */

#define EDGES 8192u /* per line; a transfer's edges are dropped only long after it ended */
static struct {
    uint64_t t[EDGES];
    bool v[EDGES];
    uint32_t n; /* edges recorded (the newest is at (n - 1) % EDGES) */
} lines[2];

static uint64_t rng_state = 1;

static uint32_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (uint32_t)(rng_state >> 16);
}

/* Line 0 = SCL, 1 = SDA (VCD_SCL, VCD_SDA). An edge earlier than the last one recorded
 * on its line (a controller resuming after a stretch) is recorded at the last one's time. */
static void bus_edge(uint64_t t, int sig, bool v)
{
    int l = sig == VCD_SCL ? 0 : 1;
    uint32_t n = lines[l].n;
    if (n) {
        uint32_t last = (n - 1u) % EDGES;
        if (t < lines[l].t[last])
            t = lines[l].t[last];
        if (lines[l].v[last] == v)
            return;
    } else if (v) {
        return; /* idle level */
    }
    lines[l].t[n % EDGES] = t;
    lines[l].v[n % EDGES] = v;
    lines[l].n = n + 1u;
    vcd_edge(t, sig, v);
}

static bool level_at(int l, uint64_t t)
{
    uint32_t n = lines[l].n, lo = n > EDGES ? n - EDGES : 0, hi = n;
    /* Newest edge at or before t: binary search over the ring's logical indices. */
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2u;
        if (lines[l].t[mid % EDGES] <= t)
            lo = mid + 1u;
        else
            hi = mid;
    }
    if (lo == 0)
        return n > EDGES ? lines[l].v[(n - EDGES) % EDGES] : true;
    return lines[l].v[(lo - 1u) % EDGES];
}

/* ---- trace: one cell per bit, SDA changes in the low half, SCL high in the middle ---- */

static void cell(uint64_t s, bool sda, uint64_t end)
{
    uint64_t T = bit_ns();
    bus_edge(s + T / 4u, VCD_SDA, sda);
    bus_edge(s + T / 2u, VCD_SCL, 1);
    bus_edge(end, VCD_SCL, 0);
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
static void bus_released(void);

static void release_lines(void)
{
    if (TGT.holding != STRETCH_NONE) {
        TGT.holding = STRETCH_NONE;
        TGT.rx_shift_full = false;
        bus_released();
    }
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
    TGT.rx_shift_full = false;
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
    if (TGT.holding == kind) {
        TGT.holding = STRETCH_NONE;
        if (CTL.stretch != kind)
            bus_released(); /* the controller gave up meanwhile */
    }
    if (CTL.stretch != kind)
        return;
    uint64_t now = emu_now(), half = bit_ns() / 2u, late = 0;
    if (now > CTL.stretch_edge + half)
        late = now - CTL.stretch_edge - half;
    if (late) {
        E.stats.i2c_stretches++;
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
    TGT.holding = kind;
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

/* ---- the other devices on the bus ---- */

enum { O_OFF, O_WAIT, O_BUSY };
static struct {
    int state;
    uint64_t next_ns;  /* O_WAIT: start no earlier; O_BUSY: the STOP ends here */
    uint64_t start_ns;
    bool disturbed;    /* this transfer waited for our held SCL */
} O;

static const uint8_t other_addrs[] = {0x0D, 0x1E, 0x29, 0x44, 0x48, 0x5F, 0x6A, 0x70};

/* The bus is in use (a transfer of anyone's, or our target holding SCL). */
/* In use by someone else than our controller: another device's transfer, or SCL held
 * by our target after the controller gave up. */
static bool bus_in_use_by_others(void)
{
    return O.state == O_BUSY || TGT.holding != STRETCH_NONE;
}

static bool bus_in_use(void)
{
    return CTL.state != M_IDLE || O.state == O_BUSY || TGT.holding != STRETCH_NONE;
}

/* A START on the bus (anyone's): our peripheral, if enabled, sees it. */
static void target_sees_start(void)
{
    TGT.released = false;
    TGT.addressed = false;
    if (target_alive())
        TGT.sr2 |= SR2_BUSY;
    TGT.tx_phase = false; /* TXE clears on a START (RM0008 §26.6.6) */
    if (!E.opt.dr_keep)
        TGT.tx_full = false;
}

static void target_sees_stop(void)
{
    TGT.sr2 &= ~(SR2_BUSY | SR2_TRA | SR2_GENCALL | SR2_DUALF);
    TGT.tx_phase = false;
    if (!E.opt.dr_keep)
        TGT.tx_full = false;
    TGT.rx_phase = false;
    TGT.addressed = false;
}

static void o_byte(uint64_t *t, uint8_t b, bool ack)
{
    uint64_t T = bit_ns();
    byte_cells(*t, b);
    cell(*t + 8u * T, !ack, *t + 9u * T);
    *t += 9u * T;
    /* Their target stretches now and then after the acknowledge, as ours does. */
    if (ack && rnd() % 8u == 0)
        *t += (uint64_t)(rnd() % 4u) * T / 2u;
}

/* One transfer of another controller to another target, from t: its edges are recorded
 * at once (nobody else can use the bus until its STOP); returns the STOP's end. */
static uint64_t o_build(uint64_t t)
{
    uint64_t T = bit_ns();
    uint8_t addr = other_addrs[rnd() % sizeof other_addrs];
    bus_edge(t + T / 2u, VCD_SDA, 0);
    bus_edge(t + T, VCD_SCL, 0);
    t += T;
    if (rnd() % 2u) { /* register read: [reg] Sr, 1..16 bytes */
        o_byte(&t, (uint8_t)(addr << 1), true);
        o_byte(&t, (uint8_t)rnd(), true);
        bus_edge(t + T / 8u, VCD_SDA, 1);
        bus_edge(t + T / 4u, VCD_SCL, 1);
        bus_edge(t + 3u * T / 4u, VCD_SDA, 0);
        bus_edge(t + T, VCD_SCL, 0);
        t += T;
        o_byte(&t, (uint8_t)(addr << 1 | 1u), true);
        unsigned n = 1u + rnd() % 16u;
        for (unsigned i = 0; i < n; i++)
            o_byte(&t, (uint8_t)rnd(), i + 1u < n);
    } else { /* write of 1..8 bytes */
        o_byte(&t, (uint8_t)(addr << 1), true);
        unsigned n = 1u + rnd() % 8u;
        for (unsigned i = 0; i < n; i++)
            o_byte(&t, (uint8_t)rnd(), true);
    }
    bus_edge(t + T / 8u, VCD_SDA, 0);
    bus_edge(t + T / 4u, VCD_SCL, 1);
    bus_edge(t + T, VCD_SDA, 1);
    return t + T;
}

static void o_schedule_after(uint64_t t, uint64_t busy_ns)
{
    unsigned pct = E.opt.bus_traffic_pct;
    /* Idle time such that busy / (busy + idle) = pct on average (uniform 0.5..1.5 x). */
    uint64_t mean = busy_ns * (100u - pct) / pct;
    uint64_t idle = mean / 2u + mean * (rnd() % 1024u) / 1024u;
    /* Our transfers take bus time too, and the others wait for them: keep their share
     * at pct of all time by shortening the idle time while they are behind. */
    if (t && E.stats.others_bus_ns * 100u < (uint64_t)pct * t)
        idle /= 4u;
    O.state = O_WAIT;
    O.next_ns = t + T_BUF_NS + idle;
}

static void o_step(void)
{
    uint64_t t = O.next_ns;
    if (O.state == O_BUSY) {
        E.stats.others_transfers++;
        E.stats.others_bus_ns += t - O.start_ns;
        if (O.disturbed)
            E.stats.others_disturbed++;
        O.disturbed = false;
        target_sees_stop();
        o_schedule_after(t, t - O.start_ns);
        if (CTL.state == M_START && CTL.wait_bus && TGT.holding == STRETCH_NONE)
            CTL.next_ns = t + T_BUF_NS; /* our controller was waiting for the bus */
        return;
    }
    if (bus_in_use()) {
        /* Wait for the bus: our controller's STOP or our target's release calls
         * bus_released(); a transfer that waits for our held SCL is disturbed by us. */
        if (TGT.holding != STRETCH_NONE && CTL.state == M_IDLE)
            O.disturbed = true;
        O.next_ns = EMU_NEVER;
        return;
    }
    O.start_ns = t;
    target_sees_start();
    O.next_ns = o_build(t);
    O.state = O_BUSY;
}

/* The bus became free (a STOP of ours, our target let go of SCL): whoever waits goes. */
static void bus_released(void)
{
    uint64_t now = emu_now();
    if (TGT.holding == STRETCH_NONE && CTL.state == M_IDLE && O.state != O_BUSY) {
        /* SCL and SDA go back high (our target held them when the controller had gone). */
        bus_edge(now, VCD_SCL, 1);
        bus_edge(now, VCD_SDA, 1);
    }
    if (O.state == O_WAIT && O.next_ns == EMU_NEVER && !bus_in_use())
        O.next_ns = now + T_BUF_NS;
    if (CTL.state == M_START && CTL.wait_bus && CTL.next_ns == EMU_NEVER && !bus_in_use_by_others())
        CTL.next_ns = now + T_BUF_NS;
    emu_kick();
}

void i2c_bus_init(void)
{
    memset(lines, 0, sizeof lines);
    memset(&O, 0, sizeof O);
    rng_state = E.opt.seed ? E.opt.seed : 1u;
    rng_state = rng_state * 0x9E3779B97F4A7C15ull | 1u;
    if (E.opt.bus_traffic_pct > 90u)
        E.opt.bus_traffic_pct = 90u;
    if (E.opt.bus_traffic_pct) {
        O.state = O_WAIT;
        O.next_ns = emu_now() + bit_ns() * (1u + rnd() % 64u);
    }
}

bool i2c_bus_level(bool scl)
{
    i2c_update();
    return level_at(scl ? 0 : 1, emu_now());
}

void i2c_gpio_drive(bool scl_low, bool sda_low)
{
    static bool was_scl, was_sda;
    uint64_t now = emu_now();
    bool busy = bus_in_use();
    if ((scl_low && !was_scl) || (sda_low && !was_sda)) {
        E.stats.i2c_line_drives++;
        if (O.state == O_BUSY)
            O.disturbed = true;
    }
    /* SDA moved by us while SCL is high: a START (falling) or STOP (rising) of ours. */
    if (sda_low != was_sda && !scl_low && level_at(0, now))
        E.stats.i2c_forced_conditions++;
    (void)busy;
    was_scl = scl_low;
    was_sda = sda_low;
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
    E.stats.i2c_our_transfers++;
    if (CTL.fault && CTL.status == BOARD_ACK)
        CTL.status = BOARD_NACK_DATA; /* the controller knows its transfer went wrong */
    bus_released();
    if (E.stop_on_i2c)
        emu_request_stop();
}

/* A misplaced STOP in the middle of a byte (RM0008 §26.3.4 BERR: the target sees it). */
static void misplaced_stop(uint64_t t)
{
    uint64_t T = bit_ns();
    bus_edge(t, VCD_SDA, 0);
    bus_edge(t + T / 4u, VCD_SCL, 1);
    CTL.berr = true;
    CTL.status = BOARD_NACK_DATA;
    CTL.ack = false;
    at(M_STOP_DONE, t + T / 2u);
}

static void m_step(void)
{
    uint64_t t = CTL.next_ns, T = bit_ns();
    switch (CTL.state) {
    case M_START:
        if (bus_in_use_by_others()) {
            CTL.wait_bus = true; /* bus_released() or the timeout restarts us */
            if (!CTL.wait_since)
                CTL.wait_since = t;
            CTL.next_ns = EMU_NEVER;
            break;
        }
        CTL.wait_bus = false;
        target_sees_start();
        bus_edge(t, VCD_SCL, 1);
        bus_edge(t, VCD_SDA, 1);
        bus_edge(t + T / 2u, VCD_SDA, 0);
        bus_edge(t + T, VCD_SCL, 0);
        CTL.rw = CTL.wlen == 0 && CTL.rlen > 0;
        at(M_ADDR_BITS, t + T);
        break;
    case M_ADDR_BITS:
        byte_cells(t, (uint8_t)((CTL.rw && CTL.wlen ? CTL.raddr7 : CTL.addr7) << 1 | CTL.rw));
        E.stats.i2c_bus_bytes++;
        at(M_ADDR_ACK, t + 8u * T);
        break;
    case M_ADDR_ACK:
        CTL.ack = target_acks(CTL.rw && CTL.wlen ? CTL.raddr7 : CTL.addr7);
        if (!CTL.ack)
            TGT.addressed = false; /* a repeated start to someone else: no longer ours */
        CTL.t = t;
        if (CTL.rw && CTL.hold == M_ADDR_DONE && CTL.ack) {
            bus_edge(t + T / 4u, VCD_SDA, 0);
            bus_edge(t + T / 2u, VCD_SCL, 1);
            CTL.state = M_ADDR_DONE;
            hold_here(); /* the controller keeps SCL high: ADDR comes at release */
            break;
        }
        cell(t, !CTL.ack, t + T);
        at(M_ADDR_DONE, t + T);
        break;
    case M_ADDR_DONE:
        if (CTL.held)
            bus_edge(t, VCD_SCL, 0);
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
            CTL.preloaded = false;
            if (TGT.tx_full) {
                /* --dr-preload keep: the byte left in DR by the last read goes to the
                 * shift register now; it is this read's first byte. */
                CTL.shifter = TGT.tx;
                TGT.tx_full = false;
                CTL.preloaded = true;
                E.stats.i2c_tx_lost++;
            }
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
        if (CTL.fault == FAULT_BERR && CTL.wi == CTL.fault_at) {
            E.stats.faults_injected[0]++;
            byte_cells(t, CTL.w[CTL.wi]); /* trace only: the bits before the STOP */
            misplaced_stop(t + (uint64_t)CTL.fault_bit * T);
            break;
        }
        byte_cells(t, CTL.w[CTL.wi]);
        E.stats.i2c_bus_bytes++;
        if (flash_busy_now())
            E.stats.i2c_bytes_while_flash_busy++;
        at(M_WACK, t + 8u * T);
        break;
    case M_WACK:
        CTL.lost = false;
        if (target_alive() && TGT.rx_full && (TGT.cr1 & CR1_NOSTRETCH)) {
            /* Overrun: the byte is lost (RM0008 §26.3.4). */
            TGT.sr1 |= SR1_OVR;
            E.stats.i2c_ovr++;
            E.stats.i2c_rx_lost++;
            CTL.lost = true;
            note_event(t);
        }
        at(M_WACK2, t);
        break;
    case M_WACK2:
        CTL.ack = target_alive() && TGT.addressed && (TGT.cr1 & CR1_ACK);
        cell(t, !CTL.ack, t + T);
        at(M_WACK_DONE, t + T);
        break;
    case M_WACK_DONE: {
        int next = CTL.wi + 1u < CTL.wlen ? M_WBYTE : CTL.rlen ? M_RSTART : M_STOP;
        bool stretched = false;
        if (target_alive() && TGT.addressed && !CTL.lost) {
            if (TGT.rx_full && !(TGT.cr1 & CR1_NOSTRETCH)) {
                /* DR still holds the previous byte: this one waits in the shift
                 * register, BTF, SCL stretched after the acknowledge (RM0008 §26.3.3). */
                TGT.rx_shift = CTL.w[CTL.wi];
                TGT.rx_shift_full = true;
                TGT.sr1 |= SR1_BTF;
                TGT.sr1_seen_btf = false;
                E.stats.i2c_stretch_data++;
                stretched = true;
            } else {
                TGT.rx = CTL.w[CTL.wi];
                TGT.rx_full = true;
                TGT.tx_full = false; /* DR is shared: the received byte replaces anything */
            }
            note_event(t);
        }
        if (!CTL.ack) {
            CTL.status = BOARD_NACK_DATA;
            next = M_STOP;
        } else {
            CTL.wacked++;
            CTL.wi++;
        }
        if (stretched)
            stretch(STRETCH_RX, t, next);
        else
            at(next, t);
        break;
    }
    case M_RSTART:
        bus_edge(t + T / 8u, VCD_SDA, 1);
        bus_edge(t + T / 4u, VCD_SCL, 1);
        bus_edge(t + 3u * T / 4u, VCD_SDA, 0);
        bus_edge(t + T, VCD_SCL, 0);
        TGT.tx_phase = false;
        if (!E.opt.dr_keep)
            TGT.tx_full = false;
        CTL.rw = true;
        at(M_ADDR_BITS, t + T);
        break;
    case M_RBYTE_START:
        if (!target_alive() || !TGT.addressed) {
            CTL.shifter = 0xFF; /* SDA released: the controller reads ones */
        } else if (CTL.preloaded && CTL.ri == 0) {
            note_event(t); /* TXE: the firmware's byte is the second one */
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
                E.stats.i2c_stretch_tx++;
                note_event(t);
            }
            stretch(STRETCH_TX, t, M_RBYTE_START);
            break;
        }
        at(M_RBYTE_BITS, t);
        break;
    case M_RBYTE_BITS:
        if (CTL.fault == FAULT_ABORT && CTL.ri == CTL.fault_at) {
            /* The controller stops clocking after fault_bit bits; it can make a STOP
             * only at a 1 bit (the target drives the 0s), so it clocks on to the first
             * one. None: the byte completes and the controller NACKs it. */
            E.stats.faults_injected[3]++;
            unsigned b = CTL.fault_bit;
            while (b < 8u && !((CTL.shifter >> (7u - b)) & 1u))
                b++;
            if (b < 8u) {
                byte_cells(t, CTL.shifter);
                misplaced_stop(t + (uint64_t)(b + 1u) * T);
                break;
            }
            CTL.fault = FAULT_NACK; /* handled at this byte's acknowledge */
            CTL.fault_at = CTL.ri;
            E.stats.faults_injected[2]--;
        }
        if (CTL.fault == FAULT_ARLO && CTL.ri == CTL.fault_at) {
            /* Another device pulls SDA low while we send a 1 (RM0008 §26.3.4 ARLO):
             * the target lets go of SDA for the rest of the byte. */
            E.stats.faults_injected[1]++;
            if (target_alive() && TGT.addressed) {
                TGT.sr1 |= SR1_ARLO;
                TGT.addressed = false;
                note_event(t + T);
            }
            CTL.shifter = 0x00;
            CTL.status = BOARD_NACK_DATA;
        }
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
        if (CTL.fault == FAULT_NACK && CTL.ri == CTL.fault_at) {
            E.stats.faults_injected[2]++;
            CTL.ack = false; /* a read one or more bytes short */
            CTL.status = BOARD_NACK_DATA;
        }
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
        bus_edge(t + T / 8u, VCD_SDA, 0);
        bus_edge(t + T / 4u, VCD_SCL, 1);
        if (CTL.hold == M_STOP_DONE) {
            CTL.state = M_STOP_DONE;
            hold_here(); /* SDA held low with SCL high: the STOP comes at release */
            break;
        }
        at(M_STOP_DONE, t + T);
        break;
    case M_STOP_DONE:
        CTL.held = false;
        bus_edge(t, VCD_SDA, 1);
        if (CTL.berr && target_alive() && TGT.addressed) {
            TGT.sr1 |= SR1_BERR; /* a STOP in the middle of a byte */
            note_event(t);
        }
        if (target_alive() && TGT.addressed && TGT.rx_phase && CTL.ack) {
            TGT.sr1 |= SR1_STOPF;
            TGT.sr1_seen_stopf = false;
            note_event(t);
        }
        target_sees_stop();
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
    for (;;) {
        uint64_t tc = CTL.state != M_IDLE ? CTL.next_ns : EMU_NEVER;
        uint64_t to = O.state != O_OFF ? O.next_ns : EMU_NEVER;
        if (tc <= now && tc <= to)
            m_step();
        else if (to <= now)
            o_step();
        else
            break;
    }
    uint64_t limit = stretch_timeout_ns();
    bool gave_up = false;
    if (CTL.stretch != STRETCH_NONE && now >= CTL.stretch_edge + limit) {
        char where[64];
        fprintf(stderr,
                "flashbridge-emu: ERROR: I2C controller timeout: SCL held low for %.1f ms by "
                "the target (firmware at %s)\n",
                (double)limit / 1e6, emu_where(E.cur_pc, where, sizeof where));
        CTL.status = CTL.ri || CTL.wi ? BOARD_NACK_DATA : BOARD_NACK_ADDR;
        CTL.stretch = STRETCH_NONE;
        gave_up = true;
    } else if (CTL.state == M_START && CTL.wait_bus && CTL.next_ns == EMU_NEVER &&
               now >= CTL.wait_since + limit) {
        fprintf(stderr, "flashbridge-emu: ERROR: I2C controller timeout: bus not free for "
                        "%.1f ms\n", (double)limit / 1e6);
        CTL.status = BOARD_NACK_ADDR;
        gave_up = true;
    }
    if (gave_up) {
        /* As a real host: the transfer fails; the target may still hold SCL. */
        E.stats.i2c_timeouts++;
        CTL.wait_bus = false;
        finish_transfer();
    }
}

uint64_t i2c_next_event_ns(void)
{
    uint64_t t = O.state != O_OFF ? O.next_ns : EMU_NEVER;
    if (CTL.state == M_IDLE)
        return t;
    uint64_t c = CTL.next_ns;
    if (CTL.stretch != STRETCH_NONE)
        c = CTL.stretch_edge + stretch_timeout_ns();
    else if (CTL.state == M_START && CTL.wait_bus && c == EMU_NEVER)
        c = CTL.wait_since + stretch_timeout_ns();
    return c < t ? c : t;
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
        if (TGT.sr1_seen_btf && (TGT.sr1 & SR1_BTF) && !TGT.tx_phase) {
            TGT.sr1 &= ~SR1_BTF;
            if (TGT.rx_shift_full) {
                /* The byte that waited in the shift register moves to DR (RXNE). */
                TGT.rx = TGT.rx_shift;
                TGT.rx_full = true;
                TGT.rx_shift_full = false;
                note_event(emu_now());
            }
            release_stretch(STRETCH_RX);
        }
        TGT.sr1_seen_btf = false;
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
        if ((nv & CR1_PE) && !(TGT.cr1 & CR1_PE) && bus_in_use())
            TGT.sr2 |= SR2_BUSY; /* enabled in the middle of someone's transfer */
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
    CTL.addr7 = CTL.raddr7 = addr7;
    CTL.w = w;
    CTL.wlen = wlen;
    CTL.r = r;
    CTL.rlen = rlen;
    CTL.status = BOARD_ACK;
    CTL.hold = hold == EMU_HOLD_STOP ? M_STOP_DONE : hold == EMU_HOLD_READ_ADDR ? M_ADDR_DONE : M_IDLE;
    if (E.opt.fault_pct && hold == EMU_HOLD_NONE && rnd() % 100u < E.opt.fault_pct) {
        /* BERR needs a written byte, the others a read byte. */
        int kinds[3], n = 0;
        if (rlen) {
            kinds[n++] = FAULT_ARLO;
            kinds[n++] = FAULT_ABORT;
            if (rlen > 1)
                kinds[n++] = FAULT_NACK;
        }
        if (wlen && !n)
            kinds[n++] = FAULT_BERR;
        else if (wlen && rnd() % 4u == 0)
            kinds[0] = FAULT_BERR;
        if (n) {
            CTL.fault = kinds[rnd() % (unsigned)n];
            if (CTL.fault == FAULT_BERR)
                CTL.fault_at = rnd() % wlen;
            else if (CTL.fault == FAULT_NACK)
                CTL.fault_at = rnd() % (rlen - 1u);
            else
                CTL.fault_at = rnd() % rlen;
            CTL.fault_bit = 1u + rnd() % 7u;
        }
    }
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
        emu_run_to(emu_now() + 10u * stretch_timeout_ns());
    }
    E.stop_on_i2c = false;
    if (wacked)
        *wacked = CTL.wacked;
    vcd_flush(emu_now() > 1000000u ? emu_now() - 1000000u : 0);
    return CTL.status;
}

void emu_i2c_set_read_address(uint8_t addr7)
{
    CTL.raddr7 = addr7;
}

void emu_set_fault_pct(unsigned pct)
{
    E.opt.fault_pct = pct > 100u ? 100u : pct;
}

void i2c_stats_print(FILE *f)
{
    const emu_stats_t *s = &E.stats;
    fprintf(f, "  shared bus: others %llu transfers, %.1f %% of %.3f s; disturbed by us %llu; "
               "our line drives %llu, forced START/STOP %llu; stretches %llu (max %.1f us), read-byte BTF %llu; "
               "faults injected BERR %llu ARLO %llu NACK %llu abort %llu\n",
            (unsigned long long)s->others_transfers,
            emu_now() ? 100.0 * (double)s->others_bus_ns / (double)emu_now() : 0.0,
            (double)emu_now() / 1e9, (unsigned long long)s->others_disturbed,
            (unsigned long long)s->i2c_line_drives, (unsigned long long)s->i2c_forced_conditions,
            (unsigned long long)s->i2c_stretches, (double)s->i2c_stretch_max_ns / 1e3,
            (unsigned long long)s->i2c_stretch_tx,
            (unsigned long long)s->faults_injected[0], (unsigned long long)s->faults_injected[1],
            (unsigned long long)s->faults_injected[2], (unsigned long long)s->faults_injected[3]);
}
