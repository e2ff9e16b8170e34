/*
 * The simulated board: scheduler, virtual time, I2C bus timing, watchdog, power.
 *
 * Two threads of control share one OS thread through ucontext: the scheduler (whoever
 * calls board_*) and the firmware's main loop (a coroutine on its own stack). Virtual
 * time has two clocks: `now`, the bus time the scheduler has reached, and `main_t`, how
 * far the main loop has got. The scheduler never lets main_t pass the instant it is
 * running to (`run_until`): a port call that takes time stops there and hands back, the
 * scheduler delivers the interrupt due at that instant, and resumes the main loop. So an
 * interrupt lands at its exact bus time even in the middle of a 40 ms page erase, and
 * nothing depends on the wall clock or on OS scheduling.
 */
#include "board.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <ucontext.h>

#include "core.h"
#include "errors.h"
#include "f1flash_model.h"
#include "flashbridge/protocol.h"
#include "hal.h"
#include "i2c_target.h"
#include "port_host.h"
#include "w25q64_model.h"

#if defined(__SANITIZE_ADDRESS__)
#define BOARD_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define BOARD_ASAN 1
#endif
#endif
#ifdef BOARD_ASAN
/* ASan must be told about stack switches, or it mistakes the coroutine's frames for
 * overflows of the scheduler's stack. */
#include <sanitizer/common_interface_defs.h>
#endif

/* One pass of the main loop outside fb_core_poll()'s own port calls (the loop itself,
 * the call, the mailbox check): about 144 cycles at 72 MHz. A guess on the high side,
 * so that benchmarks do not flatter the firmware. */
#define POLL_COST_NS 2000ull
/* The IWDG timeout modelled; port/stm32f103 should configure the same 1 s so that the
 * simulator catches a main loop that would be reset on the target. */
#define WATCHDOG_NS 1000000000ull
#define MAIN_STACK_SIZE (256u * 1024u)

static struct {
    bool open;
    uint32_t bus_hz;
    w25m_t *flash;
    f1m_t *iflash;
    powercut_t *pc;

    uint64_t now;       /* scheduler: bus time reached */
    uint64_t main_t;    /* main loop: time reached, never past run_until */
    uint64_t run_until; /* instant the scheduler is running the main loop to */
    uint64_t last_kick;
    uint64_t irqs; /* interrupts delivered so far: what wakes hal_idle() */
    bool powered;  /* the main loop exists and may run */
    bool listening; /* the firmware has booted and enabled its I2C target */
    bool in_main;
    bool wd_expired;
    uint32_t wd_resets;

    void *stack;
    ucontext_t sched_ctx, main_ctx;
#ifdef BOARD_ASAN
    const void *sched_stack;
    size_t sched_stack_size;
#endif
} B;

/* ---- coroutine switching ---- */

static void enter_main(void)
{
    B.in_main = true;
#ifdef BOARD_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(&fake, B.stack, MAIN_STACK_SIZE);
#endif
    if (swapcontext(&B.sched_ctx, &B.main_ctx) != 0)
        abort();
#ifdef BOARD_ASAN
    __sanitizer_finish_switch_fiber(fake, NULL, NULL);
#endif
    B.in_main = false;
}

/* for_good: this coroutine will never be resumed (its stack is about to be freed). */
static void leave_main(bool for_good)
{
#ifdef BOARD_ASAN
    void *fake = NULL;
    __sanitizer_start_switch_fiber(for_good ? NULL : &fake, B.sched_stack,
                                   B.sched_stack_size);
#else
    (void)for_good;
#endif
    if (swapcontext(&B.main_ctx, &B.sched_ctx) != 0)
        abort();
#ifdef BOARD_ASAN
    __sanitizer_finish_switch_fiber(fake, &B.sched_stack, &B.sched_stack_size);
#endif
}

/* ---- the machine, as the port sees it (main-loop side) ---- */

static uint64_t m_now(void)
{
    return B.in_main ? B.main_t : B.now;
}

static void m_consume(uint64_t ns)
{
    FB_ASSERT(B.in_main);
    uint64_t end = B.main_t + ns;
    while (B.main_t < end) {
        uint64_t deadline = B.last_kick + WATCHDOG_NS;
        uint64_t lim = end;
        if (B.run_until < lim)
            lim = B.run_until;
        if (deadline < lim)
            lim = deadline;
        B.main_t = lim;
        if (B.main_t >= deadline) {
            B.wd_expired = true;
            leave_main(true);
            abort(); /* never resumed */
        }
        if (B.main_t >= B.run_until)
            leave_main(false);
    }
}

/* WFI: the scheduler's run_until is the next instant something may happen, so the
 * loop stops there, and goes on sleeping if it was not an interrupt. */
static void m_sleep_until(uint64_t t)
{
    uint64_t irqs = B.irqs;
    while (B.irqs == irqs && B.main_t < t) {
        uint64_t lim = t < B.run_until ? t : B.run_until;
        m_consume(lim - B.main_t);
    }
}

static void m_watchdog_kick(void)
{
    B.last_kick = B.main_t;
}

/* Power is gone at time t for the whole board: the main loop never runs again, and an
 * operation the other flash device was still busy with is cut at the same instant (the
 * device whose step the cut hit has already left its own half done). */
static void power_lost(uint64_t t)
{
    B.powered = false;
    port_host_power_off();
    w25m_power_off(B.flash, t);
    f1m_power_off(B.iflash, t);
}

static void m_halt(void)
{
    FB_ASSERT(B.in_main);
    power_lost(B.main_t);
    leave_main(true);
    abort(); /* never resumed */
}

static const port_host_machine_t machine = {
    .now = m_now,
    .consume = m_consume,
    .sleep_until = m_sleep_until,
    .watchdog_kick = m_watchdog_kick,
    .halt = m_halt,
};

/* The firmware's main(): what port/stm32f103 runs after its clock and peripheral set-up.
 * The pass cost is charged before the poll, not after it: an interrupt arriving during
 * that time is then seen by this poll instead of being slept through by hal_idle() (on
 * hardware only a few instructions separate the last check from WFI). */
static void main_entry(void)
{
#ifdef BOARD_ASAN
    __sanitizer_finish_switch_fiber(NULL, &B.sched_stack, &B.sched_stack_size);
#endif
    fb_core_init();
    /* The port enables the I2C peripheral only once the core is ready: until then the
     * address is not acknowledged, as on the target. */
    B.listening = true;
    for (;;) {
        FB_ASSERT(!port_host_irq_masked());
        m_consume(POLL_COST_NS);
        if (!fb_core_poll())
            hal_idle();
        hal_watchdog_kick();
    }
}

/* A fresh coroutine that starts at fb_core_init(): RAM state of the old one is gone
 * because nothing of it is ever run again. */
static void boot(uint64_t t)
{
    free(B.stack);
    B.stack = malloc(MAIN_STACK_SIZE);
    if (!B.stack || getcontext(&B.main_ctx) != 0) {
        perror("flashbridge board: coroutine");
        abort();
    }
    B.main_ctx.uc_stack.ss_sp = B.stack;
    B.main_ctx.uc_stack.ss_size = MAIN_STACK_SIZE;
    B.main_ctx.uc_link = NULL;
    makecontext(&B.main_ctx, main_entry, 0);
    B.main_t = t;
    B.last_kick = t;
    B.wd_expired = false;
    B.powered = true;
    B.listening = false;
    port_host_reset(t);
    /* Releasing chip select may have started the program step a cut was armed for. */
    if (B.pc && B.pc->dead)
        power_lost(t);
}

static void watchdog_reset(void)
{
    fprintf(stderr, "watchdog reset\n");
    B.wd_resets++;
    f1m_reset(B.iflash);
    boot(B.main_t);
}

/* ---- scheduler ---- */

static void run_to(uint64_t t);

/* Let the firmware boot (fb_core_init: mounting the stores) before anything else, as a
 * board does after power-up; the time it takes is virtual time like any other. */
static void run_boot(void)
{
    while (B.powered && !B.listening)
        run_to(B.now + 10000u);
}

static void run_to(uint64_t t)
{
    FB_ASSERT(!B.in_main);
    while (B.powered && B.main_t < t) {
        B.run_until = t;
        enter_main();
        if (B.wd_expired)
            watchdog_reset();
    }
    if (t > B.now)
        B.now = t;
}

/* An interrupt is about to run: the main loop is stopped inside a port call that
 * asserted interrupts were unmasked, so this only guards the invariant. */
static void irq_enter(void)
{
    FB_ASSERT(B.powered && !B.in_main && !port_host_irq_masked());
    B.irqs++;
}

static uint64_t bits_ns(uint64_t bits)
{
    return bits * 1000000000ull / B.bus_hz;
}

uint64_t board_transfer_ns(size_t wlen, size_t rlen)
{
    uint64_t bits = 1 + 9 + 9 * (uint64_t)wlen + 1;
    if (rlen > 0) {
        bits += 9 * (uint64_t)rlen;
        if (wlen > 0)
            bits += 1 + 9;
    }
    return bits_ns(bits);
}

board_xfer_status_t board_transfer(uint8_t addr7, const uint8_t *w, size_t wlen,
                                   uint8_t *r, size_t rlen, size_t *wacked)
{
    FB_ASSERT(B.open && !B.in_main);
    const uint64_t t0 = B.now;
    uint64_t bit = 1 + 9; /* START, address byte with its ACK */
    board_xfer_status_t st = BOARD_ACK;
    size_t acked = 0;

    run_to(t0 + bits_ns(bit));
    if (addr7 != FB_I2C_ADDR || !B.powered || !B.listening) {
        st = BOARD_NACK_ADDR;
        goto stop;
    }
    if (wlen > 0 || rlen == 0) {
        irq_enter();
        fb_i2c_addr(false);
        for (size_t i = 0; i < wlen; i++) {
            bit += 9;
            run_to(t0 + bits_ns(bit));
            if (!B.powered) {
                st = BOARD_NACK_DATA;
                goto stop;
            }
            irq_enter();
            if (!fb_i2c_write_byte(w[i])) {
                st = BOARD_NACK_DATA;
                goto stop;
            }
            acked++;
        }
        if (rlen == 0)
            goto stop;
        bit += 1 + 9; /* repeated START, address byte */
        run_to(t0 + bits_ns(bit));
        if (!B.powered) {
            st = BOARD_NACK_ADDR;
            goto stop;
        }
    }
    irq_enter();
    fb_i2c_addr(true);
    /* The target supplies each byte as it starts (TXE); the controller ACKs all but the
     * last, which ends the read. An unpowered target leaves SDA released: 0xFF. */
    for (size_t j = 0; j < rlen; j++) {
        run_to(t0 + bits_ns(bit + 9 * (uint64_t)j));
        if (B.powered) {
            irq_enter();
            r[j] = fb_i2c_read_byte();
        } else {
            r[j] = 0xFF;
        }
    }
    bit += 9 * (uint64_t)rlen;
stop:
    bit += 1;
    run_to(t0 + bits_ns(bit));
    /* Nothing was addressed after an address NACK: no event for the target. */
    if (st != BOARD_NACK_ADDR && B.powered) {
        irq_enter();
        fb_i2c_stop();
    }
    if (wacked)
        *wacked = acked;
    return st;
}

void board_wait(uint64_t ns)
{
    FB_ASSERT(B.open && ns <= UINT64_MAX - B.now);
    run_to(B.now + ns);
}

uint64_t board_now(void)
{
    return B.now;
}

void board_power_cycle(uint64_t off_ns)
{
    FB_ASSERT(B.open && !B.in_main);
    FB_ASSERT(off_ns <= UINT64_MAX - B.now);
    if (B.powered)
        power_lost(B.now);
    run_to(B.now + off_ns);
    if (B.pc && B.pc->dead)
        powercut_restore(B.pc);
    w25m_power_on(B.flash);
    f1m_reset(B.iflash);
    boot(B.now);
    run_boot();
}

void board_factory_reset(void)
{
    FB_ASSERT(B.open && !B.in_main);
    if (B.powered)
        power_lost(B.now);
    if (B.pc && B.pc->dead)
        powercut_restore(B.pc);
    w25m_wipe(B.flash);
    f1m_wipe(B.iflash);
    B.wd_resets = 0;
    boot(B.now);
    run_boot();
}

const uint8_t *board_flash_array(size_t *len)
{
    *len = W25M_SIZE;
    return w25m_array(B.flash);
}

const uint8_t *board_config_array(size_t *len)
{
    *len = f1m_size(B.iflash);
    return f1m_array(B.iflash);
}

void board_load_images(const uint8_t *flash, const uint8_t *config)
{
    FB_ASSERT(B.open && !B.in_main);
    if (B.powered)
        power_lost(B.now);
    if (B.pc && B.pc->dead)
        powercut_restore(B.pc);
    w25m_load(B.flash, flash);
    f1m_load(B.iflash, config);
    B.wd_resets = 0;
    boot(B.now);
    run_boot();
}

uint32_t board_flash_erases(uint32_t sector)
{
    return w25m_erase_count(B.flash, sector);
}

uint32_t board_config_erases(uint32_t page)
{
    return f1m_erase_count(B.iflash, page);
}

bool board_power_dead(void)
{
    return !B.powered || (B.pc && B.pc->dead);
}

uint32_t board_watchdog_resets(void)
{
    return B.wd_resets;
}

int board_sync(void)
{
    int r = 0;
    if (w25m_sync(B.flash) != 0) {
        perror("flashbridge board: flash image");
        r = -1;
    }
    if (f1m_sync(B.iflash) != 0) {
        perror("flashbridge board: config image");
        r = -1;
    }
    return r;
}

int board_open(const board_config_t *cfg)
{
    if (B.open) {
        fprintf(stderr, "flashbridge board: already open\n");
        return -1;
    }
    memset(&B, 0, sizeof B);
    B.bus_hz = cfg->bus_hz ? cfg->bus_hz : 100000u;
    if (B.bus_hz < 1000u || B.bus_hz > 1000000u) {
        fprintf(stderr, "flashbridge board: bus clock %u Hz out of range\n",
                (unsigned)B.bus_hz);
        return -1;
    }
    B.pc = cfg->powercut;
    B.flash = w25m_create(cfg->flash_image,
                          cfg->timing_max ? W25M_TIMING_MAX : W25M_TIMING_TYPICAL, B.pc);
    if (!B.flash) {
        perror(cfg->flash_image ? cfg->flash_image : "flashbridge board: flash model");
        return -1;
    }
    B.iflash = f1m_create(cfg->config_image, PORT_HOST_IFLASH_SIZE,
                          cfg->timing_max ? F1M_TIMING_MAX : F1M_TIMING_TYPICAL, B.pc);
    if (!B.iflash) {
        perror(cfg->config_image ? cfg->config_image : "flashbridge board: config model");
        w25m_destroy(B.flash);
        B.flash = NULL;
        return -1;
    }
    port_host_attach(&machine, B.flash, B.iflash, B.pc);
    B.open = true;
    boot(0);
    run_boot();
    return 0;
}

void board_close(void)
{
    if (!B.open)
        return;
    free(B.stack);
    B.stack = NULL;
    w25m_destroy(B.flash);
    f1m_destroy(B.iflash);
    B.flash = NULL;
    B.iflash = NULL;
    B.open = false;
}

/* The simulated board runs the portable core without a USB port: the socket server
 * answers the USB operations with "unknown" (docs/SIM-PROTOCOL.md). The calls below are
 * never made; they answer like a bus with nobody on it. */
bool board_usb_present(void)
{
    return false;
}

bool board_usb_reset(uint64_t ns)
{
    board_wait(ns);
    return false;
}

void board_usb_suspend(void)
{
}

board_usb_status_t board_usb_setup(uint8_t addr, uint8_t ep, const uint8_t setup[8])
{
    (void)addr;
    (void)ep;
    (void)setup;
    return BOARD_USB_NOANSWER;
}

board_usb_status_t board_usb_out(uint8_t addr, uint8_t ep, bool data1, const uint8_t *d, size_t n,
                                 uint64_t retry_ns, uint32_t *naks)
{
    (void)retry_ns;
    *naks = 0;
    (void)addr;
    (void)ep;
    (void)data1;
    (void)d;
    (void)n;
    return BOARD_USB_NOANSWER;
}

board_usb_status_t board_usb_in(uint8_t addr, uint8_t ep, uint8_t *d, size_t max, size_t *n,
                                bool *data1, uint64_t retry_ns, uint32_t *naks)
{
    (void)retry_ns;
    *naks = 0;
    (void)addr;
    (void)ep;
    (void)d;
    (void)max;
    *n = 0;
    *data1 = false;
    return BOARD_USB_NOANSWER;
}
