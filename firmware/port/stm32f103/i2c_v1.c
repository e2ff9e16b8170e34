/*
 * I2C2 as a 7-bit target at FB_I2C_ADDR (0x3B), for controllers at 100 or 400 kHz:
 * the STM32F1 "v1" I2C peripheral (RM0008 §26), interrupt driven, clock stretching on.
 *
 * The handlers only move bytes between the peripheral and the core's fb_i2c_*()
 * (core/i2c_target.h); they and everything they call run from SRAM (.ramfunc) and
 * read only SRAM and peripheral registers, so they keep serving the bus while the
 * internal flash programs or erases (tools/ramcheck.py proves it from the ELF).
 *
 * A good citizen on a shared bus: the bus also carries other devices' transfers (the
 * STeaMi's sensors, a Blue Pill's neighbours). BUSY (SR2) is set during any of them
 * and both lines are high for much of each, so neither BUSY nor line levels sampled
 * now and then say that the bus is stuck. Therefore:
 *  - SCL and SDA are driven as GPIOs only at boot (ES096 recovery), and only after the
 *    lines were sampled high without a break for I2C_IDLE_PROOF_LOOPS with BUSY set:
 *    no transfer at 10 kHz or faster leaves both lines high that long.
 *  - At run time nothing drives the lines: a stall, a BTF or an interrupt storm that
 *    no transfer explains, and a BUSY that stays set on idle-looking lines for
 *    I2C_BUSY_STUCK_CHECKS x 10 ms, reset our peripheral only (SWRST and the
 *    configuration again, RM0008 §26.6.1 SWRST): it lets go of SCL and SDA and
 *    listens for the next START.
 *
 * Transmit (RM0008 §26.3.2 "Slave transmitter", figure "Transfer sequence diagram for
 * slave transmitter"): DR is written for the first byte at ADDR (EV3-1: TxE with the
 * shift register empty) and then only on TxE with BTF (the previous byte went out and
 * was ACKed; SCL is stretched until the DR write), never ahead on TxE alone. RM0008
 * does not say whether a byte left in DR at the controller's NACK or STOP is dropped or
 * sent at the next read; with no byte ever waiting in DR the answer does not matter,
 * and fb_i2c_read_byte() is called exactly once per byte the controller clocks out,
 * so the core's accounting is exact (a streaming chunk read one byte short stays).
 * ITBUFEN is off while we transmit: TxE alone is not an event then.
 *
 * Errata (ST ES096, STM32F101/102/103 medium density, "I2C peripheral limitations")
 * and reference-manual rules, and where each is answered:
 *  - "Some software events must be managed before the current byte is being
 *    transferred": I2C2_EV and I2C2_ER have the highest priority (port.h) and nothing
 *    else is enabled at that level; the main loop masks interrupts only for a few
 *    instructions (mailbox). -> i2c_init(), port.h
 *  - "Data valid time (tVD;DAT) violated without the OVR flag being set" with
 *    NOSTRETCH = 1: NOSTRETCH stays 0, the peripheral stretches SCL until each event
 *    is serviced. -> i2c_configure()
 *  - "I2C analog filter may provide wrong value, locking BUSY flag" (after a power-on
 *    reset or ESD): PE off, SCL/SDA as open-drain GPIOs through the documented toggle
 *    sequence, SWRST, fresh configuration. -> i2c_boot_recover(), at boot only.
 *  - ADDR is cleared by reading SR1 then SR2 (RM0008 §26.6.6). -> service_addr()
 *  - STOPF is cleared by reading SR1 then writing CR1 (RM0008 §26.6.6); the same
 *    write re-enables ACK after STOP. -> i2c_service()
 *  - BTF (RM0008 §26.6.6) is cleared by SR1 then DR: it is in the event mask in every
 *    state; one no transfer of ours explains (an aborted read) resets the peripheral,
 *    since it means SCL is stretched. -> i2c_service()
 *  - At the end of a target-transmit the controller's NACK sets AF, not STOPF
 *    (RM0008 §26.3.2, "slave transmitter"): AF is cleared explicitly (rc_w0) and ends
 *    the transaction. -> service_errors()
 *  - A byte we NACK (ACK = 0, RM0008 §26.3.3 "Slave receiver") is followed by no STOPF
 *    (STOPF needs an acknowledged byte, RM0008 §26.6.6): the transfer ends at that
 *    byte's RXNE and ACK is set again there, so no path leaves ACK off. -> i2c_service()
 *  - BERR, ARLO, OVR (RM0008 §26.3.4): flag cleared, the transaction aborted
 *    (fb_i2c_abort: the partial frame is dropped, queued frames and registers kept),
 *    ACK re-enabled. In target mode the hardware has already released the lines.
 *
 * Nothing holds the bus forever and nothing acknowledged is dropped: SysTick (i2c_tick)
 * asks the I2C context to look at a transfer that has seen no event for I2C_STALL_MS.
 * A write (we receive): if the bus went idle (BUSY clear) without a STOPF for us -- a
 * write ended by a repeated start to another device -- the transfer ended there and its
 * frame is posted; otherwise the controller is slow or another device's transfer runs,
 * and we hold no line: wait. A read (we transmit): we may be driving SDA for a
 * controller that vanished mid-byte, so the peripheral is reset (SWRST) and the read
 * aborted. Line levels are not used: on a shared bus a low line is usually someone
 * else's. All of it runs in I2C2_ER's context (pended by SysTick), so the I2C state is only
 * ever touched at the I2C priority.
 */
#include <stdbool.h>

#include "board.h"
#include "flashbridge/protocol.h"
#include "i2c_target.h"
#include "port.h"
#include "ramcheck_break.h"
#include "regs/cm3.h"
#include "regs/i2c_v1.h"

#define I2C_SERVICE_ROUNDS    4u    /* flag sets handled per interrupt entry */
#define I2C_STALL_MS          100u  /* addressed, no event for this long: look at the bus */
#define I2C_BUSY_CHECK_MS     10u   /* period of the stuck-BUSY check */
#define I2C_BUSY_STUCK_CHECKS 100u  /* 1 s of findings in a row before a SWRST */
#define I2C_STORM_LIMIT       1000u /* entries per tick; a 400 kHz bus makes < 100 */
#define I2C_LINE_WAIT_LOOPS   2000u /* boot recovery: wait for a line to follow (bounded) */
#define I2C_HALF_BIT_LOOPS    60u   /* boot recovery: ~5 us per step at 72 MHz */
/* Boot: both lines sampled high without a break this many times (>= 5 cycles each at
 * up to 72 MHz: >= 7 ms) before the bus counts as idle. */
#define I2C_IDLE_PROOF_LOOPS  100000u

/* TXE is not listed: we transmit on TxE with BTF only (see the top of the file). */
#define I2C_SR1_EVENTS (I2C_SR1_RXNE | I2C_SR1_RC_W0 | I2C_SR1_STOPF | I2C_SR1_ADDR | I2C_SR1_BTF)
#define SCL_BIT (1u << BOARD_I2C_SCL_PIN)
#define SDA_BIT (1u << BOARD_I2C_SDA_PIN)

/* All in SRAM (.bss). Written by the I2C handlers; SysTick only sets the req_* flags
 * (single-byte stores) and reads the rest. */
static struct {
    volatile uint32_t last_event_ms;
    volatile uint32_t entries;       /* interrupt entries since the last tick */
    volatile bool active;            /* addressed and not yet ended */
    volatile bool tx;                /* the active transfer is a read: we transmit */
    volatile bool req_stall_check;   /* SysTick: an addressed transfer went quiet */
    volatile bool req_busy_check;    /* SysTick: look for a stuck BUSY */
    bool nacking;                    /* ACK cleared: the next received byte is NACKed */
    uint8_t busy_stuck;
    /* Counters for a debugger; never reset. */
    struct {
        uint32_t berr, arlo, ovr, af, nack, stall, stray_btf, storm, busy_stuck, resets,
            ended_idle, boot_recoveries;
    } stats;
} i2c;

static void i2c_end(bool completed) I2C_HELPER_PLACEMENT;
static void i2c_configure(void) FB_RAMFUNC;
static void i2c_reset_peripheral(void) FB_RAMFUNC;
static void i2c_service(void) FB_RAMFUNC;

/* ---- SRAM: configuration ---- */

/* SWRST then the target configuration (RM0008 §26.6): FREQ = PCLK1 in MHz (data
 * setup/hold timing; >= 2 MHz for 100 kHz, >= 4 MHz for 400 kHz), own address with
 * OAR1 bit 14 kept at 1, all three interrupt enables, NOSTRETCH = 0 (ES096), ENGC = 0.
 * ACK can only be set once PE = 1 (the hardware clears it while PE = 0). SWRST lets go
 * of SCL and SDA; the fresh peripheral waits for the next START (RM0008 §26.6.1). */
static void i2c_configure(void)
{
    I2C2->CR1 = I2C_CR1_SWRST;
    I2C2->CR1 = 0;
    I2C2->CR2 = ((port_clocks.pclk1_hz / 1000000u) & I2C_CR2_FREQ_MASK) | I2C_CR2_ITERREN |
                I2C_CR2_ITEVTEN | I2C_CR2_ITBUFEN;
    I2C2->OAR1 = I2C_OAR1_BIT14 | I2C_OAR1_ADD7(FB_I2C_ADDR);
    I2C2->OAR2 = 0;
    I2C2->CR1 = I2C_CR1_PE;
    I2C2->CR1 = I2C_CR1_PE | I2C_CR1_ACK;
}

/* ---- SRAM: interrupt path ---- */

/* The transfer ended: STOP or the final NACK (completed), or an error. */
static void i2c_end(bool completed)
{
    if (i2c.nacking) {
        i2c.nacking = false;
        I2C2->CR1 |= I2C_CR1_ACK; /* ended before the NACKed byte: answer the next address */
    }
    if (!i2c.active)
        return;
    i2c.active = false;
    i2c.tx = false;
    if (completed)
        fb_i2c_stop();
    else
        fb_i2c_abort();
}

/* Our peripheral only (SWRST + configuration): never a line driven, whatever else is on
 * the bus; the partial frame of an active transfer is dropped, core state kept. */
static void i2c_reset_peripheral(void)
{
    i2c_end(false);
    i2c.stats.resets++;
    i2c.busy_stuck = 0;
    i2c_configure();
}

static inline __attribute__((always_inline)) void service_errors(uint32_t err)
{
    /* rc_w0: write 0 to exactly the flags seen, 1 to the others (RM0008 §26.6.6). */
    I2C2->SR1 = I2C_SR1_RC_W0 & ~err;
    if (err & I2C_SR1_AF) {
        /* The controller NACKed the last byte it read: the transfer is over, and that
         * byte was clocked out (no byte waits in DR). */
        i2c.stats.af++;
        i2c_end(i2c.tx);
    }
    if (err & (I2C_SR1_BERR | I2C_SR1_ARLO | I2C_SR1_OVR | I2C_SR1_PECERR | I2C_SR1_TIMEOUT)) {
        if (err & I2C_SR1_BERR)
            i2c.stats.berr++;
        if (err & I2C_SR1_ARLO)
            i2c.stats.arlo++;
        if (err & I2C_SR1_OVR)
            i2c.stats.ovr++;
        i2c_end(false);
    }
    I2C2->CR1 |= I2C_CR1_ACK;
}

static inline __attribute__((always_inline)) void service_addr(void)
{
    /* ACK the bytes of a write (and our address next time). */
    I2C2->CR1 |= I2C_CR1_ACK;
    i2c.nacking = false;
    /* ADDR clears on SR1 then SR2 (RM0008 §26.6.6); SR2.TRA says read or write.
     * SCL is stretched until this point, so no STOP can have followed the address. */
    (void)I2C2->SR1;
    bool read = (I2C2->SR2 & I2C_SR2_TRA) != 0;
    i2c.active = true; /* a repeated start: fb_i2c_addr() ends the previous phase */
    i2c.tx = read;
    fb_i2c_addr(read);
    if (read) {
        /* EV3-1 (RM0008 §26.3.2): TxE with the shift register empty; the byte goes
         * straight to the shift register. The next DR write waits for BTF. */
        I2C2->CR2 &= ~I2C_CR2_ITBUFEN;
        I2C2->DR = fb_i2c_read_byte();
    } else {
        I2C2->CR2 |= I2C_CR2_ITBUFEN; /* RXNE interrupts */
    }
}

/* A line sampled low: someone holds the bus (or a bit is on the wire). */
static inline __attribute__((always_inline)) bool lines_high(void)
{
    return (BOARD_I2C_PORT->IDR & (SCL_BIT | SDA_BIT)) == (SCL_BIT | SDA_BIT);
}

/* An addressed transfer has seen no event for I2C_STALL_MS. Called only after an SR1
 * read that showed no ADDR; the SR2 read here cannot complete an ADDR-clearing
 * sequence of an address that SR1 read did not show (RM0008 §26.6.6: the sequence is
 * SR1 read with ADDR set, then SR2). A line seen low proves nothing on a shared bus
 * (another device's transfer), so the lines are not looked at. */
static inline __attribute__((always_inline)) void stall_check(void)
{
    if (!i2c.active)
        return;
    if (!i2c.tx) {
        /* We hold nothing while receiving (SDA only during an ACK bit the controller
         * clocks, SCL only with an event pending). Bus idle without a STOPF for us: a
         * repeated start to another device then its STOP ended our write; its bytes
         * were acknowledged, keep them. BUSY set: a slow controller, or the other
         * device's transfer; the next ADDR or STOP ends ours. */
        if (!(I2C2->SR2 & I2C_SR2_BUSY)) {
            i2c.stats.ended_idle++;
            i2c_end(true);
        }
        return;
    }
    /* A read that went quiet: we may be holding SDA low (a 0 bit of a byte whose
     * controller vanished). Resetting our peripheral lets go and touches no other
     * device; the read is aborted, so a streaming chunk stays to be read again. */
    i2c.stats.stall++;
    i2c_reset_peripheral();
}

/* BUSY set while no transfer involves us and both lines read high, at every 10 ms
 * check for a second: most likely a STOP we missed. The peripheral is reset (SWRST
 * clears BUSY) but no line is driven: another device's transfer may be running. */
static inline __attribute__((always_inline)) void busy_check(void)
{
    if (!i2c.active && lines_high() && (I2C2->SR2 & I2C_SR2_BUSY)) {
        if (++i2c.busy_stuck >= I2C_BUSY_STUCK_CHECKS) {
            i2c.stats.busy_stuck++;
            i2c_reset_peripheral();
        }
        return;
    }
    i2c.busy_stuck = 0;
    if (!i2c.active && !(I2C2->CR1 & I2C_CR1_ACK))
        I2C2->CR1 |= I2C_CR1_ACK; /* never left unable to answer the next address */
}

#if defined(FB_RAMCHECK_BREAK_CONST)
/* .rodata, i.e. flash: what the checker must catch. */
static const uint8_t break_table[16] = {7, 1, 9, 4, 12, 0, 3, 3, 8, 15, 2, 6, 11, 5, 10, 14};
#endif

/* Both I2C2 vectors land here (same priority, so they never preempt each other): the
 * flags are taken from one SR1 snapshot per round in bus order -- the last byte of a
 * write (RXNE), errors and AF (end of a read), STOP, then a new address, then the
 * next byte to send -- because ADDR stretches SCL, nothing can follow it unseen. */
static void i2c_service(void)
{
    if (++i2c.entries > I2C_STORM_LIMIT) {
        i2c.stats.storm++;
        i2c.entries = 0;
        i2c_reset_peripheral();
        return;
    }
#if defined(FB_RAMCHECK_BREAK_CONST)
    i2c.stats.storm += break_table[i2c.entries & 15u];
#endif
    for (uint32_t round = 0; round < I2C_SERVICE_ROUNDS; round++) {
        uint32_t sr1 = I2C2->SR1;
        if (!(sr1 & I2C_SR1_EVENTS))
            break;
        i2c.last_event_ms = port_ms;
        if (sr1 & I2C_SR1_RXNE) {
            uint8_t byte = (uint8_t)I2C2->DR; /* also clears BTF */
            sr1 &= ~I2C_SR1_BTF;
            if (i2c.nacking) {
                /* This byte got our NACK: no STOPF will come (RM0008 §26.6.6), the
                 * transfer ends here, and ACK is back for the next address. */
                I2C2->CR1 |= I2C_CR1_ACK;
                i2c.stats.nack++;
                i2c_end(false);
            } else if (i2c.active && !i2c.tx && !fb_i2c_write_byte(byte)) {
                I2C2->CR1 &= ~I2C_CR1_ACK; /* NACK from the next byte on */
                i2c.nacking = true;
            }
        }
        if (sr1 & I2C_SR1_RC_W0)
            service_errors(sr1 & I2C_SR1_RC_W0);
        if (sr1 & I2C_SR1_STOPF) {
            I2C2->CR1 |= I2C_CR1_ACK; /* SR1 read + this CR1 write clear STOPF */
            i2c_end(true);
        }
        if (sr1 & I2C_SR1_ADDR) {
            service_addr();
        } else if (sr1 & I2C_SR1_BTF) {
            if ((sr1 & I2C_SR1_TXE) && i2c.active && i2c.tx) {
                I2C2->DR = fb_i2c_read_byte(); /* SR1 read + DR write clear BTF */
            } else {
                /* BTF with no transfer of ours to serve it (an aborted read): SCL is
                 * stretched by us; let go by resetting our peripheral. */
                i2c.stats.stray_btf++;
                i2c_reset_peripheral();
                return;
            }
        }
    }
    if (i2c.req_stall_check) {
        i2c.req_stall_check = false;
        if (!(I2C2->SR1 & I2C_SR1_ADDR))
            stall_check();
    }
    if (i2c.req_busy_check) {
        i2c.req_busy_check = false;
        if (!(I2C2->SR1 & I2C_SR1_ADDR))
            busy_check();
    }
}

void I2C2_EV_IRQHandler(void)
{
    i2c_service();
}

void I2C2_ER_IRQHandler(void)
{
    i2c_service();
}

/* SysTick context (lower priority): decide, then let I2C2_ER act. */
void i2c_tick(uint32_t now_ms)
{
    bool pend = false;
    i2c.entries = 0;
    if (i2c.active) {
        if ((uint32_t)(now_ms - i2c.last_event_ms) > I2C_STALL_MS &&
            now_ms % I2C_BUSY_CHECK_MS == 0) {
            i2c.req_stall_check = true;
            pend = true;
        }
    } else if (now_ms % I2C_BUSY_CHECK_MS == 0) {
        i2c.req_busy_check = true;
        pend = true;
    }
    if (pend)
        NVIC->ISPR[IRQ_I2C2_ER / 32u] = 1u << (IRQ_I2C2_ER % 32u);
}

/* ---- flash: boot ---- */

static void half_bit(void)
{
    for (volatile uint32_t n = 0; n < I2C_HALF_BIT_LOOPS; n++) {
    }
}

static void line_wait(uint32_t mask, uint32_t want)
{
    for (uint32_t n = 0; n < I2C_LINE_WAIT_LOOPS; n++) {
        if ((BOARD_I2C_PORT->IDR & mask) == want)
            break;
    }
    half_bit();
}

static void pins_af(uint32_t cnf)
{
    gpio_config(BOARD_I2C_PORT, BOARD_I2C_SCL_PIN, cnf | GPIO_MODE_OUT_10M);
    gpio_config(BOARD_I2C_PORT, BOARD_I2C_SDA_PIN, cnf | GPIO_MODE_OUT_10M);
}

/* Both lines high at every sample of a window longer than any bit of a transfer at
 * 10 kHz or faster: nobody is using the bus. */
static bool bus_idle_proven(void)
{
    for (uint32_t n = 0; n < I2C_IDLE_PROOF_LOOPS; n++) {
        if (!lines_high())
            return false;
    }
    return true;
}

/* ES096 "I2C analog filter may provide wrong value, locking BUSY flag": force a
 * transition on each line so the filters follow the pins again, then SWRST. Boot only,
 * and only on a bus proven idle (bus_idle_proven): the one place we drive the lines. */
static void i2c_boot_recover(void)
{
    gpio_t *g = BOARD_I2C_PORT;
    i2c.stats.boot_recoveries++;
    I2C2->CR1 = 0; /* PE = 0: the peripheral releases SCL and SDA */
    g->BSRR = SCL_BIT | SDA_BIT;
    pins_af(GPIO_CNF_OUT_OD);
    line_wait(SCL_BIT | SDA_BIT, SCL_BIT | SDA_BIT);
    g->BSRR = SDA_BIT << 16;
    line_wait(SDA_BIT, 0);
    g->BSRR = SCL_BIT << 16;
    line_wait(SCL_BIT, 0);
    g->BSRR = SCL_BIT;
    line_wait(SCL_BIT, SCL_BIT);
    g->BSRR = SDA_BIT;
    line_wait(SDA_BIT, SDA_BIT);
    pins_af(GPIO_CNF_AF_OD);
    i2c_configure();
}

void i2c_init(void)
{
    RCC->APB2ENR |= RCC_APB2_AFIO | BOARD_I2C_GPIO_EN;
    RCC->APB1ENR |= RCC_APB1_I2C2;
    RCC->APB1RSTR |= RCC_APB1_I2C2;
    RCC->APB1RSTR &= ~RCC_APB1_I2C2;
    pins_af(GPIO_CNF_AF_OD);
    i2c_configure();
    /* ES096: after a power-on reset the analog filter may hold BUSY on an idle bus.
     * BUSY is also set by another device's transfer that was running when PE rose:
     * recover only once the lines have proven the bus idle. */
    if ((I2C2->SR2 & I2C_SR2_BUSY) && bus_idle_proven() && (I2C2->SR2 & I2C_SR2_BUSY))
        i2c_boot_recover();
    i2c.last_event_ms = port_ms;

    NVIC->IPR[IRQ_I2C2_EV] = PRIO_I2C;
    NVIC->IPR[IRQ_I2C2_ER] = PRIO_I2C;
    NVIC->ICPR[IRQ_I2C2_EV / 32u] = (1u << (IRQ_I2C2_EV % 32u)) | (1u << (IRQ_I2C2_ER % 32u));
    NVIC->ISER[IRQ_I2C2_EV / 32u] = (1u << (IRQ_I2C2_EV % 32u)) | (1u << (IRQ_I2C2_ER % 32u));
}
