/*
 * The Cortex-M3 around Unicorn: memory map, the per-instruction timing model, the NVIC,
 * SCB and SysTick, exception entry and return, sleep (WFI), reset and the run loop.
 *
 * Debian 12's Unicorn 2.0.1 has an M-profile CPU but no NVIC/SCB: it never takes an
 * interrupt by itself. So:
 *  - every instruction passes through a code hook (fast path: a few compares and the
 *    cycle count); when an event is due the slow path evaluates the peripherals and,
 *    if an exception should preempt, performs the entry itself (push the 8-word frame,
 *    LR = EXC_RETURN, IPSR, PC from the table at VTOR). Writing PC in a code hook makes
 *    Unicorn restart there without executing the hooked instruction, so the exception
 *    is taken exactly at that instruction boundary;
 *  - the handler's BX to EXC_RETURN reaches the interrupt hook as intno 8
 *    (EXCP_EXCEPTION_EXIT) and is unstacked here;
 *  - uc_emu_stop() does not work from the interrupt hook, so stops are requested by
 *    making the next code hook take its slow path (emu_kick) and stopping from there;
 *  - WFI would halt Unicorn: the hook stops before it and the run loop sleeps instead.
 *
 * Timing model (cycles at HCLK, Cortex-M3 TRM "Instruction timings"):
 *   1 per instruction; +1 for a single load/store; LDM/STM/PUSH/POP 1 + registers;
 *   LDRD/STRD/TBB 3; multiply-long 2; UDIV/SDIV 7 (2..12, data dependent);
 *   +2 pipeline refill whenever the next instruction is not the sequential one (taken
 *   branch, exception entry/return); flash wait states (FLASH_ACR.LATENCY, 2 at 72 MHz)
 *   on every taken branch into flash and every data read from flash: the prefetch
 *   buffer hides them for sequential fetches (RM0008 §3.3.3); peripheral register
 *   access +2 (AHB-APB bridge); exception entry 12, return 10, tail-chain 6.
 * Instructions are not taken apart further: this is an estimate on the slow side for
 * the main loop and close for the straight-line interrupt path (see docs/EMULATOR.md
 * for the measured CPI).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "emu_vcd.h"

emu_t E;

#define EXC_RETURN_HANDLER 0xFFFFFFF1u
#define EXC_RETURN_THREAD_MSP 0xFFFFFFF9u
#define EXCP_EXCEPTION_EXIT 8u /* QEMU's internal exception number */
#define CCR_STKALIGN (1u << 9)
#define SCR_SLEEPDEEP (1u << 2)
#define CPUID_R1P1 0x411FC231u /* Cortex-M3 r1p1, the STM32F103's core */
#define ICSR_PENDSTSET (1u << 26)
#define ICSR_PENDSTCLR (1u << 25)
#define ICSR_PENDSVSET (1u << 28)
#define ICSR_PENDSVCLR (1u << 27)
#define ICSR_NMIPENDSET (1u << 31)

/* ---- time ---- */

uint64_t emu_cyc_to_ns(uint64_t cyc)
{
    if (cyc < E.seg_cyc)
        cyc = E.seg_cyc;
    return E.seg_ns + (uint64_t)((unsigned __int128)(cyc - E.seg_cyc) * 1000000000u / E.hz);
}

uint64_t emu_now(void)
{
    return emu_cyc_to_ns(E.cyc);
}

/* First cycle at or after time ns. */
uint64_t emu_ns_to_cyc(uint64_t ns)
{
    if (ns == EMU_NEVER)
        return EMU_NEVER;
    if (ns <= E.seg_ns)
        return E.seg_cyc;
    unsigned __int128 c = ((unsigned __int128)(ns - E.seg_ns) * E.hz + 999999999u) / 1000000000u;
    return c > EMU_NEVER - E.seg_cyc ? EMU_NEVER : E.seg_cyc + (uint64_t)c;
}

void emu_set_hclk(uint32_t hz)
{
    if (hz == E.hz)
        return;
    uint64_t now = emu_now();
    E.seg_cyc = E.cyc;
    E.seg_ns = now;
    E.hz = hz;
    /* Anything kept in cycles that stands for a time must follow. */
    if (E.fl.busy_until_ns > now)
        E.fl.busy_until_cyc = emu_ns_to_cyc(E.fl.busy_until_ns);
    emu_kick();
}

void emu_kick(void)
{
    E.next_event_cyc = 0;
}

void emu_request_stop(void)
{
    E.stop_request = true;
    emu_kick();
}

/* ---- messages ---- */

const char *emu_where(uint32_t addr, char *buf, size_t n)
{
    return emu_elf_describe(&E.elf, addr, buf, n);
}

void emu_violation(const char *fmt, ...)
{
    static char seen[64][160];
    static unsigned nseen;
    char msg[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    E.stats.violations++;
    for (unsigned i = 0; i < nseen; i++) {
        if (strcmp(seen[i], msg) == 0)
            return;
    }
    if (nseen < 64)
        memcpy(seen[nseen++], msg, sizeof msg);
    char where[64];
    fprintf(stderr, "flashbridge-emu: ERROR: %s (at %s, t=%.6f s)\n", msg,
            emu_where(E.cur_pc, where, sizeof where), (double)emu_now() / 1e9);
}

/* ---- NVIC ---- */

static bool irq_level_raw(unsigned irq)
{
    switch (irq) {
    case IRQ_I2C2_EV:
        return i2c_ev_level();
    case IRQ_I2C2_ER:
        return i2c_er_level();
    case IRQ_SPI1:
        return spi_irq_level();
    case IRQ_USB_LP:
        return usb_lp_level();
    case IRQ_USB_HP:
        return usb_hp_level();
    default:
        return false;
    }
}

bool emu_irq_level(unsigned irq)
{
    return irq < EMU_NIRQ && irq_level_raw(irq);
}

bool emu_irq_line(unsigned irq)
{
    return emu_irq_level(irq);
}

void emu_irq_latch(unsigned irq)
{
    if (irq < EMU_NIRQ)
        E.nvic.latch[irq / 32] |= 1u << (irq % 32);
    emu_kick();
}

bool emu_exc_active(unsigned exc)
{
    return exc < EMU_NEXC && E.nvic.active[exc];
}

void emu_pend_systick(void)
{
    E.nvic.pend_systick = true;
    emu_kick();
}

/* A level interrupt is pending while its line is high and it is not being handled
 * (ARMv7-M B3.4.1): once the handler returns with the line still high, it pends again. */
static bool irq_pending(unsigned irq)
{
    if (E.nvic.latch[irq / 32] & (1u << (irq % 32)))
        return true;
    return !E.nvic.active[EXC_IRQ0 + irq] && irq_level_raw(irq);
}

/* Priority of an exception: fixed negative ones, else the programmed byte (the F103
 * implements its upper 4 bits). */
static int exc_priority(unsigned exc)
{
    if (exc == EXC_NMI)
        return -2;
    if (exc == EXC_HARDFAULT)
        return -1;
    if (exc >= EXC_IRQ0)
        return E.nvic.ipr[exc - EXC_IRQ0];
    return E.nvic.shpr[exc - 4];
}

/* Group (preemption) priority: PRIGROUP splits off sub-priority bits (B1.5.4). */
static int group_priority(int prio)
{
    if (prio < 0)
        return prio;
    unsigned sub_bits = E.nvic.prigroup + 1u;
    return prio & (int)(0xFFu << sub_bits) & 0xFF;
}

static int execution_priority(bool with_masks)
{
    int p = 256;
    if (E.nvic.depth)
        p = group_priority(exc_priority(E.nvic.stack[E.nvic.depth - 1]));
    if (with_masks) {
        uint32_t primask = 0, basepri = 0;
        uc_reg_read(E.uc, UC_ARM_REG_PRIMASK, &primask);
        uint32_t faultmask = 0;
        uc_reg_read(E.uc, UC_ARM_REG_BASEPRI, &basepri);
        uc_reg_read(E.uc, UC_ARM_REG_FAULTMASK, &faultmask);
        basepri &= 0xF0u;
        if (faultmask & 1u)
            p = -1;
        if (basepri && group_priority((int)basepri) < p)
            p = group_priority((int)basepri);
        if ((primask & 1u) && p > 0)
            p = 0;
    }
    return p;
}

/* The pending exception with the highest priority (lowest number wins a tie), 0 if
 * none. */
static unsigned highest_pending(void)
{
    unsigned best = 0;
    int best_prio = 1000;
    const struct {
        bool pend;
        unsigned exc;
    } sys[] = {
        {E.nvic.pend_nmi, EXC_NMI},
        {E.nvic.pend_hardfault, EXC_HARDFAULT},
        {E.nvic.pend_pendsv, EXC_PENDSV},
        {E.nvic.pend_systick, EXC_SYSTICK},
    };
    for (size_t i = 0; i < sizeof sys / sizeof sys[0]; i++) {
        if (sys[i].pend && exc_priority(sys[i].exc) < best_prio) {
            best = sys[i].exc;
            best_prio = exc_priority(best);
        }
    }
    for (unsigned w = 0; w < 2; w++) {
        uint32_t cand = E.nvic.iser[w];
        while (cand) {
            unsigned irq = w * 32u + (unsigned)__builtin_ctz(cand);
            cand &= cand - 1u;
            if (irq < EMU_NIRQ && irq_pending(irq) && exc_priority(EXC_IRQ0 + irq) < best_prio) {
                best = EXC_IRQ0 + irq;
                best_prio = exc_priority(best);
            }
        }
    }
    return best;
}

/* The exception to take now, 0 if none preempts. */
static unsigned nvic_pick(void)
{
    unsigned exc = highest_pending();
    if (exc && group_priority(exc_priority(exc)) < execution_priority(true))
        return exc;
    return 0;
}

/* WFI wakes on an interrupt that would preempt were PRIMASK clear (B1.5.19). */
static bool wake_condition(void)
{
    unsigned exc = highest_pending();
    return exc && group_priority(exc_priority(exc)) < execution_priority(false);
}

static void clear_pending(unsigned exc)
{
    switch (exc) {
    case EXC_NMI:
        E.nvic.pend_nmi = false;
        break;
    case EXC_HARDFAULT:
        E.nvic.pend_hardfault = false;
        break;
    case EXC_PENDSV:
        E.nvic.pend_pendsv = false;
        break;
    case EXC_SYSTICK:
        E.nvic.pend_systick = false;
        break;
    default:
        if (exc >= EXC_IRQ0)
            E.nvic.latch[(exc - EXC_IRQ0) / 32] &= ~(1u << ((exc - EXC_IRQ0) % 32));
        break;
    }
}

/* ---- exception entry and return (ARMv7-M B1.5.6, B1.5.8) ---- */

static void stop_cpu(enum emu_stop why)
{
    uc_emu_stop(E.uc);
    E.stop = why;
}

static bool ram_range(uint32_t a, uint32_t n)
{
    return a >= EMU_SRAM_BASE && a - EMU_SRAM_BASE <= EMU_SRAM_SIZE - n;
}

static void lockup(const char *why)
{
    char where[64];
    fprintf(stderr, "flashbridge-emu: ERROR: CPU lockup: %s (at %s); waiting for the watchdog\n",
            why, emu_where(E.cur_pc, where, sizeof where));
    E.stats.faults++;
    E.lockup = true;
    stop_cpu(STOP_FAULT);
}

static bool read_word(uint32_t a, uint32_t *v)
{
    return uc_mem_read(E.uc, a, v, 4) == UC_ERR_OK;
}

static bool take_exception(unsigned exc, uint32_t ret_addr)
{
    static const int stacked[5] = {UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3,
                                   UC_ARM_REG_R12};
    uint32_t frame[8], sp, xpsr, control = 0;
    for (int i = 0; i < 5; i++)
        uc_reg_read(E.uc, stacked[i], &frame[i]);
    uc_reg_read(E.uc, UC_ARM_REG_LR, &frame[5]);
    uc_reg_read(E.uc, UC_ARM_REG_XPSR, &xpsr);
    uc_reg_read(E.uc, UC_ARM_REG_SP, &sp);
    uc_reg_read(E.uc, UC_ARM_REG_CONTROL, &control);
    if (control & 2u) {
        lockup("exception entry with the process stack in use (not modelled)");
        return true;
    }
    bool realign = (E.nvic.ccr & CCR_STKALIGN) && ((sp - 32u) & 4u);
    uint32_t fsp = sp - 32u - (realign ? 4u : 0u);
    frame[6] = ret_addr & ~1u;
    frame[7] = (xpsr & ~(1u << 9)) | (realign ? 1u << 9 : 0u) | (1u << 24);
    if (!ram_range(fsp, 32)) {
        lockup("exception frame outside SRAM (stack overflow)");
        return true;
    }
    memcpy(E.ram + (fsp - EMU_SRAM_BASE), frame, sizeof frame); /* host is little-endian */

    uint32_t vaddr = E.nvic.vtor + 4u * exc, vec = 0;
    if (in_flash(vaddr) && flash_busy_now()) {
        /* The entry waits for the flash; it is taken (re-picked) once the stall ends. */
        flash_stall_report(vaddr, "vector fetch");
        E.stall_until_cyc = E.fl.busy_until_cyc;
        stop_cpu(STOP_STALL);
        return true;
    }
    if (!read_word(vaddr, &vec) || !(vec & 1u)) {
        lockup(vec & 1u ? "vector table unreadable" : "vector without the Thumb bit");
        return true;
    }
    E.cyc += E.exc_return_pending ? 6u : 12u; /* tail-chain or full stacking */
    E.exc_return_pending = false;

    uint32_t lr = E.nvic.cur ? EXC_RETURN_HANDLER : EXC_RETURN_THREAD_MSP;
    uint32_t ipsr = exc, pc = vec | 1u;
    uc_reg_write(E.uc, UC_ARM_REG_SP, &fsp);
    uc_reg_write(E.uc, UC_ARM_REG_LR, &lr);
    uc_reg_write(E.uc, UC_ARM_REG_IPSR, &ipsr);
    uc_reg_write(E.uc, UC_ARM_REG_PC, &pc);
    clear_pending(exc);
    E.nvic.active[exc] = true;
    if (E.nvic.depth < sizeof E.nvic.stack)
        E.nvic.stack[E.nvic.depth++] = (uint8_t)exc;
    E.nvic.cur = exc;
    E.it_left = 0;
    E.seq_pc = vec & ~1u;
    if (exc == EXC_IRQ0 + IRQ_I2C2_EV || exc == EXC_IRQ0 + IRQ_I2C2_ER)
        i2c_on_handler_entry();
    if (exc == EXC_HARDFAULT)
        E.stats.faults++;
    emu_kick();
    return true;
}

static void exception_return(void)
{
    uint32_t pc = 0, sp = 0;
    uc_reg_read(E.uc, UC_ARM_REG_PC, &pc);
    uint32_t exc_return = pc | 1u;
    unsigned exc = E.nvic.cur;
    bool to_thread = (exc_return & 0xFu) != 0x1u;
    if (exc == 0 || (exc_return & 0xFFFFFFF0u) != 0xFFFFFFF0u || (exc_return & 0xFu) == 0xDu) {
        lockup("bad exception return");
        return;
    }
    E.nvic.active[exc] = false;
    if (E.nvic.depth)
        E.nvic.depth--;
    E.nvic.cur = E.nvic.depth ? E.nvic.stack[E.nvic.depth - 1] : 0;
    if (to_thread != (E.nvic.depth == 0)) {
        lockup("exception return to the wrong mode (active exceptions do not match)");
        return;
    }
    uc_reg_read(E.uc, UC_ARM_REG_SP, &sp);
    uint32_t frame[8];
    if (!ram_range(sp, 32)) {
        lockup("exception return frame outside SRAM");
        return;
    }
    memcpy(frame, E.ram + (sp - EMU_SRAM_BASE), sizeof frame);
    static const int stacked[5] = {UC_ARM_REG_R0, UC_ARM_REG_R1, UC_ARM_REG_R2, UC_ARM_REG_R3,
                                   UC_ARM_REG_R12};
    for (int i = 0; i < 5; i++)
        uc_reg_write(E.uc, stacked[i], &frame[i]);
    uc_reg_write(E.uc, UC_ARM_REG_LR, &frame[5]);
    sp += 32u + ((frame[7] >> 9) & 1u) * 4u;
    uint32_t xpsr = frame[7] & ~(1u << 9), ipsr = E.nvic.cur, rpc = frame[6] | 1u;
    uc_reg_write(E.uc, UC_ARM_REG_SP, &sp);
    uc_reg_write(E.uc, UC_ARM_REG_XPSR, &xpsr);
    uc_reg_write(E.uc, UC_ARM_REG_IPSR, &ipsr);
    uc_reg_write(E.uc, UC_ARM_REG_PC, &rpc);
    E.seq_pc = frame[6] & ~1u;
    E.exc_return_pending = true; /* the next hook charges 10 cycles, or 6 for a tail-chain */
    emu_kick();
}

static void fault(const char *what, uint32_t addr)
{
    char where[64];
    E.stats.faults++;
    fprintf(stderr, "flashbridge-emu: ERROR: fault: %s at %s (address 0x%08x): HardFault\n", what,
            emu_where(E.cur_pc, where, sizeof where), (unsigned)addr);
    if (E.nvic.cur == EXC_HARDFAULT || E.nvic.cur == EXC_NMI) {
        lockup("fault inside the HardFault/NMI handler");
        return;
    }
    E.nvic.pend_hardfault = true;
    E.nvic.hfsr |= 1u << 30; /* FORCED */
    emu_kick();
}

static void hook_intr(uc_engine *uc, uint32_t intno, void *ud)
{
    (void)uc;
    (void)ud;
    if (intno == EXCP_EXCEPTION_EXIT) {
        exception_return();
        return;
    }
    fault(intno == 1 ? "undefined instruction" : intno == 7 ? "breakpoint (BKPT)" : "CPU exception",
          E.cur_pc);
}

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t v,
                          void *ud)
{
    (void)uc;
    (void)type;
    (void)size;
    (void)v;
    (void)ud;
    E.fault_addr = addr;
    return false; /* stop: the run loop raises the HardFault */
}

/* ---- the code hook ---- */

static const uint8_t *host_ptr(uint32_t a)
{
    if (a - EMU_SRAM_BASE < EMU_SRAM_SIZE - 3u)
        return E.ram + (a - EMU_SRAM_BASE);
    if (a - EMU_FLASH_BASE < EMU_FLASH_WINDOW - 3u)
        return E.flash_mem + (a - EMU_FLASH_BASE);
    if (a < EMU_FLASH_WINDOW - 3u)
        return E.flash_mem + a;
    return NULL;
}

enum { INSN_PLAIN, INSN_WFI, INSN_MASK, INSN_IT };

/* Cycles of one instruction (see the timing model above) and what the hook must do
 * about it, packed as valid (bit 7) | kind (bits 6:5) | cycles (bits 4:0). Thumb-2
 * encodings: ARMv7-M ARM A5. */
static uint8_t decode(uint32_t a, uint32_t size)
{
    const uint8_t *p = host_ptr(a);
    int kind = INSN_PLAIN;
    unsigned cost = 1;
    if (!p)
        return 0x81;
    uint16_t h = (uint16_t)(p[0] | p[1] << 8);
    if (size == 2) {
        switch (h >> 12) {
        case 0x4:
            cost = (h & 0xF800u) == 0x4800u ? 2 : 1; /* LDR (literal) */
            break;
        case 0x5: case 0x6: case 0x7: case 0x8: case 0x9:
            cost = 2; /* single load/store */
            break;
        case 0xB:
            if ((h & 0x0600u) == 0x0400u) /* PUSH / POP */
                cost = 1u + (unsigned)__builtin_popcount(h & 0x1FFu);
            else if ((h & 0xFFE0u) == 0xB660u) /* CPSIE / CPSID */
                kind = INSN_MASK;
            else if (h == 0xBF30u || h == 0xBF20u) /* WFI, WFE */
                kind = INSN_WFI;
            else if ((h & 0xFF00u) == 0xBF00u && (h & 0xFu))
                kind = INSN_IT;
            break;
        case 0xC:
            cost = 1u + (unsigned)__builtin_popcount(h & 0xFFu); /* LDM / STM */
            break;
        default:
            break;
        }
    } else {
        uint16_t h2 = (uint16_t)(p[2] | p[3] << 8);
        if ((h & 0xFE00u) == 0xF800u)
            cost = 2; /* load/store single (all addressing modes) */
        else if ((h & 0xFE40u) == 0xE800u)
            cost = 1u + (unsigned)__builtin_popcount(h2); /* LDM / STM (.W) */
        else if ((h & 0xFE40u) == 0xE840u)
            cost = 3; /* LDRD / STRD / LDREX / STREX / TBB / TBH */
        else if ((h & 0xFFF0u) == 0xFBB0u || (h & 0xFFF0u) == 0xFB90u)
            cost = 7; /* UDIV / SDIV */
        else if ((h & 0xFF80u) == 0xFB80u)
            cost = 2; /* long multiplies */
        else if ((h & 0xFFF0u) == 0xF380u && (h2 & 0xFF00u) == 0x8800u)
            kind = INSN_MASK; /* MSR (PRIMASK, BASEPRI, ...) */
    }
    return (uint8_t)(0x80u | (unsigned)kind << 5 | (cost > 31u ? 31u : cost));
}

/* Decoded instructions, one slot per half-word of flash and SRAM: the firmware's code
 * does not change while it runs (SRAM code is copied at start-up, before it executes;
 * the slots are cleared at every reset and firmware load). */
static uint8_t dec_flash[EMU_FLASH_WINDOW / 2], dec_ram[EMU_SRAM_SIZE / 2];

void emu_decode_cache_clear(void)
{
    memset(dec_flash, 0, sizeof dec_flash);
    memset(dec_ram, 0, sizeof dec_ram);
}

static uint8_t decoded(uint32_t a, uint32_t size)
{
    uint8_t *slot = NULL;
    if (a - EMU_SRAM_BASE < EMU_SRAM_SIZE)
        slot = &dec_ram[(a - EMU_SRAM_BASE) / 2u];
    else if (a - EMU_FLASH_BASE < EMU_FLASH_WINDOW)
        slot = &dec_flash[(a - EMU_FLASH_BASE) / 2u];
    else if (a < EMU_FLASH_WINDOW)
        slot = &dec_flash[a / 2u];
    if (!slot)
        return decode(a, size);
    if (!*slot)
        *slot = decode(a, size);
    return *slot;
}

static unsigned it_length(uint32_t a)
{
    const uint8_t *p = host_ptr(a);
    return p ? 4u - (unsigned)__builtin_ctz(p[0] & 0xFu) : 0u;
}

static void schedule(void)
{
    uint64_t next = E.deadline_cyc;
    if (E.st.next_wrap < next)
        next = E.st.next_wrap;
    uint64_t ns = periph_next_event_ns();
    if (ns != EMU_NEVER) {
        uint64_t c = emu_ns_to_cyc(ns);
        if (c < next)
            next = c;
    }
    E.next_event_cyc = next;
}

static void systick_update(void);

/* Events due, stops, interrupts. true: the hooked instruction must not run now. */
static bool slow_path(uint32_t a, bool in_it)
{
    systick_update();
    periph_update();
    /* Nothing stops or preempts inside an IT block: Unicorn defers a stop requested
     * there to the end of the block, and the ITSTATE it keeps inside a translation block
     * is not visible to a hook, so it could not be stacked. The block's last
     * instruction re-evaluates (emu_kick). */
    if (in_it)
        return false;
    if (E.reset_request || (E.pc && E.pc->dead)) {
        stop_cpu(STOP_RESET);
        return true;
    }
    if (E.stop_request) {
        stop_cpu(STOP_REQUEST);
        return true;
    }
    if (E.cyc >= E.deadline_cyc) {
        stop_cpu(STOP_DEADLINE);
        return true;
    }
    unsigned exc = nvic_pick();
    if (exc)
        return take_exception(exc, a);
    schedule();
    return false;
}

static void hook_code(uc_engine *uc, uint64_t address, uint32_t size, void *ud)
{
    (void)uc;
    (void)ud;
    uint32_t a = (uint32_t)address;
    E.cur_pc = a;
    if (E.fl.fixup)
        flash_fixup();
    bool branched = a != E.seq_pc;
    bool in_it = E.it_left != 0;
    if (!in_it && (a == E.break_addr || (E.nvic.cur == 0 && E.thread_insns >= E.thread_limit))) {
        if (a == E.break_addr)
            E.break_addr = 0;
        E.thread_limit = EMU_NEVER;
        E.stop_request = true;
        stop_cpu(STOP_REQUEST);
        return;
    }
    /* A stopped instruction runs again on resume: seq_pc stays as it was, so a branch
     * into it is charged then, once. */
    if (E.cyc >= E.next_event_cyc && slow_path(a, in_it))
        return;
    unsigned cycles = 0;
    if (E.exc_return_pending) {
        E.exc_return_pending = false;
        E.cyc += 10;
    }
    if (branched) {
        cycles += 2;
        if (in_flash(a))
            cycles += flash_latency();
    }
    if (in_flash(a) && flash_busy_now()) {
        flash_stall_report(a, "instruction fetch");
        if (in_it) { /* cannot stop inside an IT block: wait right here */
            emu_wait_in_place(E.fl.busy_until_cyc);
        } else {
            E.stall_until_cyc = E.fl.busy_until_cyc;
            stop_cpu(STOP_STALL);
            return;
        }
    }
    uint8_t d = decoded(a, size);
    int kind = (d >> 5) & 3;
    cycles += d & 31u;
    E.stats.insns++;
    if (kind == INSN_WFI) {
        /* Not executed by Unicorn (it would halt): the run loop sleeps instead. */
        E.resume_pc = a + 2u;
        E.resume_override = true;
        E.cyc += 1;
        E.stats.cycles += 1;
        if (E.nvic.scr & SCR_SLEEPDEEP)
            emu_violation("WFI with SCB_SCR.SLEEPDEEP: Stop mode is not modelled");
        E.sleeping = !wake_condition();
        E.seq_pc = a + 2u;
        stop_cpu(STOP_WFI);
        return;
    }
    E.cyc += cycles;
    E.stats.cycles += cycles;
    E.seq_pc = a + size;
    if (E.nvic.cur == 0)
        E.thread_insns++;
    else if (E.nvic.cur == EXC_IRQ0 + IRQ_I2C2_EV || E.nvic.cur == EXC_IRQ0 + IRQ_I2C2_ER)
        E.stats.i2c_handler_insns++;
    if (in_it && --E.it_left == 0)
        emu_kick();
    if (kind == INSN_IT)
        E.it_left = (uint8_t)it_length(a);
    else if (kind == INSN_MASK)
        emu_kick(); /* PRIMASK/BASEPRI changes: pending interrupts are re-checked next */
}

/* ---- SysTick (PM0056 §4.5): counts HCLK (CLKSOURCE = 1) or HCLK/8 ---- */

#define ST_ENABLE 1u
#define ST_TICKINT 2u
#define ST_CLKSOURCE 4u
#define ST_COUNTFLAG (1u << 16)

static unsigned st_div(void)
{
    return (E.st.ctrl & ST_CLKSOURCE) ? 1u : 8u;
}

/* Ticks after the anchor at which the counter next reaches 0. */
static uint64_t st_first_zero(void)
{
    return E.st.anchor_val ? E.st.anchor_val : (uint64_t)E.st.load + 1u;
}

static uint32_t st_val(void)
{
    if (!(E.st.ctrl & ST_ENABLE))
        return E.st.anchor_val;
    uint64_t ticks = (E.cyc - E.st.anchor_cyc) / st_div();
    if (ticks == 0)
        return E.st.anchor_val;
    uint64_t z = st_first_zero();
    if (ticks < z)
        return E.st.anchor_val ? (uint32_t)(E.st.anchor_val - ticks) : (uint32_t)(E.st.load - (ticks - 1u));
    if (E.st.load == 0)
        return 0;
    uint64_t since = (ticks - z) % ((uint64_t)E.st.load + 1u);
    return since == 0 ? 0 : (uint32_t)(E.st.load - (since - 1u));
}

static void st_reanchor(uint32_t val)
{
    E.st.anchor_val = val;
    E.st.anchor_cyc = E.cyc;
    E.st.next_wrap = EMU_NEVER;
    if ((E.st.ctrl & ST_ENABLE) && E.st.load)
        E.st.next_wrap = E.cyc + st_first_zero() * st_div();
    emu_kick();
}

static void systick_update(void)
{
    if (E.cyc < E.st.next_wrap)
        return;
    E.st.countflag = true;
    if (E.st.ctrl & ST_TICKINT)
        E.nvic.pend_systick = true;
    uint64_t period = ((uint64_t)E.st.load + 1u) * st_div();
    uint64_t missed = (E.cyc - E.st.next_wrap) / period;
    E.st.next_wrap += (missed + 1u) * period;
}

static uint32_t systick_read(uint32_t off)
{
    systick_update();
    switch (off) {
    case 0x0: {
        uint32_t v = E.st.ctrl | (E.st.countflag ? ST_COUNTFLAG : 0u);
        E.st.countflag = false; /* COUNTFLAG clears on read */
        return v;
    }
    case 0x4:
        return E.st.load;
    case 0x8:
        return st_val();
    default:
        return 9000u; /* CALIB: 1 ms at HCLK/8 = 9 MHz (STM32F1) */
    }
}

static void systick_write(uint32_t off, uint32_t v)
{
    systick_update();
    switch (off) {
    case 0x0: {
        uint32_t val = st_val();
        E.st.ctrl = v & (ST_ENABLE | ST_TICKINT | ST_CLKSOURCE);
        st_reanchor(val);
        break;
    }
    case 0x4:
        E.st.load = v & 0xFFFFFFu;
        st_reanchor(st_val());
        break;
    case 0x8: /* any write clears the counter and COUNTFLAG */
        E.st.countflag = false;
        st_reanchor(0);
        break;
    default:
        break;
    }
}

/* ---- private peripheral bus: NVIC, SCB, SysTick ---- */

static void ppb_unknown(uint32_t addr)
{
    for (unsigned i = 0; i < E.n_unknown; i++) {
        if (E.unknown_reported[i] == addr)
            return;
    }
    if (E.n_unknown < sizeof E.unknown_reported / sizeof E.unknown_reported[0])
        E.unknown_reported[E.n_unknown++] = addr;
    emu_violation("access to unmodelled core register 0x%08x (reads 0, writes ignored)",
                  (unsigned)addr);
}

static uint32_t icsr_read(void)
{
    unsigned pend = highest_pending();
    uint32_t v = E.nvic.cur | (pend << 12);
    if (pend >= EXC_IRQ0)
        v |= 1u << 22; /* ISRPENDING */
    if (E.nvic.pend_systick)
        v |= ICSR_PENDSTSET;
    if (E.nvic.pend_pendsv)
        v |= ICSR_PENDSVSET;
    if (E.nvic.pend_nmi)
        v |= ICSR_NMIPENDSET;
    if (E.nvic.depth <= 1)
        v |= 1u << 11; /* RETTOBASE */
    return v;
}

/* Four priority bytes as the word register that holds them. */
static uint32_t bytes_word(const uint8_t *b, size_t n, uint32_t i)
{
    uint32_t v = 0;
    for (uint32_t k = 0; k < 4 && i + k < n; k++)
        v |= (uint32_t)b[i + k] << (8 * k);
    return v;
}

uint32_t emu_ppb_read(uint32_t addr)
{
    if (addr >= 0xE000E010u && addr < 0xE000E020u)
        return systick_read(addr - 0xE000E010u);
    if (addr >= 0xE000E100u && addr < 0xE000E500u) {
        uint32_t off = addr - 0xE000E100u, w = (off % 0x80u) / 4u;
        if (off >= 0x300u) {
            if (off < 0x320u) { /* IABR */
                uint32_t v = 0;
                for (unsigned i = 0; i < 32 && w < 2 && w * 32 + i < EMU_NIRQ; i++)
                    v |= (uint32_t)E.nvic.active[EXC_IRQ0 + w * 32 + i] << i;
                return v;
            }
            if (off < 0x300u + 64u) /* IPR bytes */
                return bytes_word(E.nvic.ipr, sizeof E.nvic.ipr, off - 0x300u);
            return 0;
        }
        if (w >= 2)
            return 0;
        if (off < 0x100u) /* ISER / ICER */
            return E.nvic.iser[w];
        uint32_t v = 0; /* ISPR / ICPR */
        for (unsigned i = 0; i < 32 && w * 32 + i < EMU_NIRQ; i++)
            v |= (uint32_t)irq_pending(w * 32 + i) << i;
        return v;
    }
    switch (addr) {
    case 0xE000E004u:
        return 1; /* ICTR: up to 64 lines */
    case 0xE000ED00u:
        return CPUID_R1P1;
    case 0xE000ED04u:
        return icsr_read();
    case 0xE000ED08u:
        return E.nvic.vtor;
    case 0xE000ED0Cu:
        return 0xFA050000u | E.nvic.prigroup << 8;
    case 0xE000ED10u:
        return E.nvic.scr;
    case 0xE000ED14u:
        return E.nvic.ccr;
    case 0xE000ED18u: case 0xE000ED1Cu: case 0xE000ED20u:
        return bytes_word(E.nvic.shpr, sizeof E.nvic.shpr, addr - 0xE000ED18u);
    case 0xE000ED24u:
        return E.nvic.shcsr;
    case 0xE000ED28u:
        return E.nvic.cfsr;
    case 0xE000ED2Cu:
        return E.nvic.hfsr;
    case 0xE0042004u: /* DBGMCU_CR (RM0008 §31.16.3): only the freeze bits matter here */
        return E.dbgmcu_cr;
    default:
        ppb_unknown(addr);
        return 0;
    }
}

static void bytes_into(uint8_t *dst, uint32_t v, uint32_t mask, uint8_t keep)
{
    for (unsigned i = 0; i < 4; i++) {
        if (mask & (0xFFu << (8 * i)))
            dst[i] = (uint8_t)(v >> (8 * i)) & keep;
    }
}

void emu_ppb_write(uint32_t addr, uint32_t v, uint32_t mask)
{
    emu_kick();
    if (addr >= 0xE000E010u && addr < 0xE000E020u) {
        systick_write(addr - 0xE000E010u, v);
        return;
    }
    if (addr >= 0xE000E100u && addr < 0xE000E500u) {
        uint32_t off = addr - 0xE000E100u, w = (off % 0x80u) / 4u;
        if (off >= 0x300u) {
            if (off < 0x300u + 64u) /* IPR: only the upper nibble is implemented */
                bytes_into(&E.nvic.ipr[off - 0x300u], v, mask, 0xF0u);
            return;
        }
        if (w >= 2)
            return;
        v &= mask;
        if (off < 0x80u)
            E.nvic.iser[w] |= v;
        else if (off < 0x100u)
            E.nvic.iser[w] &= ~v;
        else if (off < 0x180u)
            E.nvic.latch[w] |= v;
        else
            E.nvic.latch[w] &= ~v;
        if (w == 1) { /* lines 60..63 do not exist */
            E.nvic.iser[1] &= 0x0FFFFFFFu;
            E.nvic.latch[1] &= 0x0FFFFFFFu;
        }
        return;
    }
    switch (addr) {
    case 0xE000ED04u:
        if (v & ICSR_NMIPENDSET)
            E.nvic.pend_nmi = true;
        if (v & ICSR_PENDSVSET)
            E.nvic.pend_pendsv = true;
        if (v & ICSR_PENDSVCLR)
            E.nvic.pend_pendsv = false;
        if (v & ICSR_PENDSTSET)
            E.nvic.pend_systick = true;
        if (v & ICSR_PENDSTCLR)
            E.nvic.pend_systick = false;
        return;
    case 0xE000ED08u:
        E.nvic.vtor = v & 0x3FFFFF80u;
        /* 76 vectors (16 + 60) need a 512-byte aligned table (B3.2.5). */
        if (E.nvic.vtor & 0x1FFu)
            emu_violation("VTOR = 0x%08x is not aligned to 512 bytes for the 76-entry table",
                          (unsigned)E.nvic.vtor);
        return;
    case 0xE000ED0Cu:
        if ((v >> 16) != 0x05FAu) {
            emu_violation("AIRCR written without VECTKEY (0x%08x)", (unsigned)v);
            return;
        }
        E.nvic.prigroup = (v >> 8) & 7u;
        if (v & 5u) { /* SYSRESETREQ or VECTRESET */
            E.reset_request = true;
            E.reset_cause = "software reset (AIRCR.SYSRESETREQ)";
        }
        return;
    case 0xE000ED10u:
        E.nvic.scr = v & 0x16u;
        return;
    case 0xE000ED14u:
        E.nvic.ccr = v & 0x31Bu;
        return;
    case 0xE000ED18u: case 0xE000ED1Cu: case 0xE000ED20u:
        bytes_into(&E.nvic.shpr[addr - 0xE000ED18u], v, mask, 0xF0u);
        return;
    case 0xE000ED24u:
        E.nvic.shcsr = v & 0x70000u;
        return;
    case 0xE000ED28u:
        E.nvic.cfsr &= ~v;
        return;
    case 0xE000ED2Cu:
        E.nvic.hfsr &= ~v;
        return;
    case 0xE0042004u: /* reset by power-on only; no debugger here to halt the core */
        E.dbgmcu_cr = (E.dbgmcu_cr & ~mask) | (v & mask & 0x003FFF27u);
        return;
    case 0xE000EF00u: /* STIR */
        emu_irq_latch(v & 0x1FFu);
        return;
    default:
        ppb_unknown(addr);
        return;
    }
}

static uint64_t ppb_mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *ud)
{
    (void)uc;
    (void)ud;
    uint32_t addr = EMU_PPB_BASE + (uint32_t)off;
    uint32_t v = emu_ppb_read(addr & ~3u) >> (8 * (addr & 3u));
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1u);
}

static void ppb_mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *ud)
{
    (void)uc;
    (void)ud;
    uint32_t addr = EMU_PPB_BASE + (uint32_t)off;
    unsigned sh = 8 * (addr & 3u);
    uint32_t mask = (size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1u) << sh;
    emu_ppb_write(addr & ~3u, (uint32_t)value << sh, mask);
}

/* ---- reset, power ---- */

static void nvic_reset(void)
{
    memset(&E.nvic, 0, sizeof E.nvic);
    memset(&E.st, 0, sizeof E.st);
    E.st.next_wrap = EMU_NEVER;
}

/* Core and peripherals to their reset state; SRAM is kept (a system reset does not
 * clear it). The core fetches SP and PC from address 0 (the flash, BOOT0 = 0). */
static void cpu_reset(void)
{
    emu_decode_cache_clear();
    nvic_reset();
    periph_reset();
    E.sleeping = false;
    E.lockup = false;
    E.stall_until_cyc = 0;
    E.it_left = 0;
    E.exc_return_pending = false;
    E.resume_override = false;
    E.fl.fixup = false;
    uint32_t zero = 0, sp = 0, pc = 0, xpsr = 1u << 24, lr = 0xFFFFFFFFu;
    for (int r = UC_ARM_REG_R0; r <= UC_ARM_REG_R12; r++)
        uc_reg_write(E.uc, r, &zero);
    uc_reg_write(E.uc, UC_ARM_REG_CONTROL, &zero);
    uc_reg_write(E.uc, UC_ARM_REG_PRIMASK, &zero);
    uc_reg_write(E.uc, UC_ARM_REG_BASEPRI, &zero);
    uc_reg_write(E.uc, UC_ARM_REG_XPSR, &xpsr);
    uc_reg_write(E.uc, UC_ARM_REG_LR, &lr);
    const char *no_start = emu_boot_vectors(&sp, &pc, &E.nvic.vtor);
    uc_reg_write(E.uc, UC_ARM_REG_SP, &sp);
    uc_reg_write(E.uc, UC_ARM_REG_PC, &pc);
    E.seq_pc = pc & ~1u;
    if (no_start)
        lockup(no_start);
    else if (!(pc & 1u) || !in_flash(pc))
        lockup("reset vector is not a Thumb address in flash");
    emu_kick();
}

void emu_system_reset(const char *cause)
{
    E.reset_request = false;
    E.stats.system_resets++;
    (void)cause;
    cpu_reset();
}

/* Power is gone for the whole board: the CPU stops, and an operation either flash
 * device was busy with is cut at this instant (the device whose step a power cut hit
 * has already left its own half done). */
void emu_power_off(void)
{
    uint64_t now = emu_now();
    E.powered = false;
    E.sleeping = false;
    E.stall_until_cyc = 0;
    E.reset_request = false;
    E.iwdg.running = false; /* the watchdog loses power with the rest */
    i2c_power_lost();
    if (E.gpio.cs_low)
        E.gpio.cs_low = false;
    w25m_power_off(E.w25, now);
    f1m_power_off(E.f1, now);
    flash_sync_all();
    E.fl.busy_until_ns = E.fl.busy_until_cyc = 0;
    E.fl.op_running = false;
}

void emu_power_on(void)
{
    /* SRAM content after power-up is not defined: a fixed pattern (not zero) makes a
     * read of a variable that start-up forgot to initialise visible. */
    for (uint32_t i = 0; i < EMU_SRAM_SIZE; i++)
        E.ram[i] = (uint8_t)(0xA5u ^ (i * 37u));
    E.powered = true;
    E.seg_ns = emu_now();
    E.seg_cyc = E.cyc;
    E.hz = 8000000u; /* HSI until the firmware switches */
    cpu_reset();
}

/* ---- run loop ---- */

static void handle_uc_error(uc_err err)
{
    switch (err) {
    case UC_ERR_READ_UNMAPPED:
    case UC_ERR_WRITE_UNMAPPED:
    case UC_ERR_FETCH_UNMAPPED:
        fault(err == UC_ERR_FETCH_UNMAPPED ? "instruction fetch from unmapped memory"
                                           : "access to unmapped memory",
              (uint32_t)E.fault_addr);
        break;
    default:
        fault(uc_strerror(err), E.cur_pc);
        break;
    }
    /* Resume at the faulting instruction: the next hook takes the HardFault. */
    E.resume_pc = E.cur_pc;
    E.resume_override = true;
    if (E.lockup)
        E.stop = STOP_FAULT;
}

void emu_wait_in_place(uint64_t until_cyc)
{
    uint64_t deadline = E.deadline_cyc;
    while (E.cyc < until_cyc) {
        E.deadline_cyc = until_cyc;
        schedule();
        E.cyc = E.next_event_cyc > E.cyc ? E.next_event_cyc : E.cyc;
        systick_update();
        periph_update();
    }
    E.deadline_cyc = deadline;
    emu_kick();
}

/* Nothing executes (asleep, locked up, unpowered, stalled): time jumps to the next
 * event. */
static void idle_to(uint64_t target_cyc)
{
    E.deadline_cyc = target_cyc;
    schedule();
    uint64_t next = E.next_event_cyc;
    if (next > E.cyc)
        E.cyc = next;
    systick_update();
    periph_update();
    if (E.powered && E.sleeping && wake_condition()) {
        E.sleeping = false;
        emu_kick();
    }
}

void emu_run_to(uint64_t t)
{
    for (;;) {
        if (E.powered && E.pc && E.pc->dead)
            emu_power_off(); /* an armed power cut hit a flash step */
        if (E.reset_request && E.powered) {
            if (E.reset_cause && strstr(E.reset_cause, "watchdog") == NULL)
                fprintf(stderr, "flashbridge-emu: %s\n", E.reset_cause);
            emu_system_reset(E.reset_cause);
        }
        uint64_t target = emu_ns_to_cyc(t);
        if (E.stop_request || E.cyc >= target)
            break;
        if (E.powered && E.stall_until_cyc > E.cyc) {
            /* Stalled on the flash: frozen, not asleep (no wake-up, nothing taken). */
            bool sleeping = E.sleeping;
            E.sleeping = false;
            idle_to(E.stall_until_cyc < target ? E.stall_until_cyc : target);
            E.sleeping = sleeping;
            continue;
        }
        if (!E.powered || E.sleeping || E.lockup || !E.uc) { /* no CPU: the bare machine */
            idle_to(target);
            continue;
        }
        /* The first instruction re-evaluates everything (a wake-up, a release or a
         * pending interrupt from outside the CPU is taken there). */
        E.deadline_cyc = target;
        emu_kick();
        uint32_t pc = 0;
        if (E.resume_override) {
            pc = E.resume_pc;
            E.resume_override = false;
        } else {
            uc_reg_read(E.uc, UC_ARM_REG_PC, &pc);
        }
        E.stop = STOP_NONE;
        uc_err err = uc_emu_start(E.uc, pc | 1u, 0, 0, 0);
        if (err != UC_ERR_OK)
            handle_uc_error(err);
    }
    E.stop_request = false;
}

/* ---- set-up ---- */

/* System memory page 0x1FFFF000: the ST bootloader (not modelled: 0xFF), the flash size
 * register F_SIZE (0x1FFFF7E0, KiB), the 96-bit unique ID (0x1FFFF7E8, RM0008 §30) and
 * the option bytes (0x1FFFF800: RDP 0xA5 unprotected, USER 0xFF, as shipped). The unique
 * ID is fixed (the same every run, so a serial number built from it is too). */
#define EMU_SYSMEM_BASE 0x1FFFF000u
static uint8_t g_sysmem[0x1000] __attribute__((aligned(4096)));
static const uint8_t emu_uid[12] = {0x35, 0xFF, 0xD8, 0x05, 0x42, 0x4D, 0x36, 0x30,
                                    0x28, 0x13, 0x24, 0x43};

static void sysmem_fill(void)
{
    memset(g_sysmem, 0xFF, sizeof g_sysmem);
    uint16_t kib = (uint16_t)(EMU_FLASH_SIZE / 1024u);
    g_sysmem[0x7E0] = (uint8_t)kib;
    g_sysmem[0x7E1] = (uint8_t)(kib >> 8);
    memcpy(g_sysmem + 0x7E8, emu_uid, sizeof emu_uid);
    static const uint8_t ob[16] = {0xA5, 0x5A, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00,
                                   0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00, 0xFF, 0x00};
    memcpy(g_sysmem + 0x800, ob, sizeof ob);
}

int emu_cpu_create(void)
{
    uc_err err = uc_open(UC_ARCH_ARM, UC_MODE_THUMB | UC_MODE_MCLASS, &E.uc);
    if (err == UC_ERR_OK)
        err = uc_ctl_set_cpu_model(E.uc, UC_CPU_ARM_CORTEX_M3);
    /* 1 KiB pages (the smallest ARM allows): a store into a page that holds translated
     * code takes Unicorn's slow self-modifying-code check, and the SRAM code (.ramfunc)
     * shares its pages with the interrupt's data; smaller pages share less. */
    if (err == UC_ERR_OK)
        err = uc_ctl_set_page_size(E.uc, 1024);
    /* The flash window appears twice: at 0x08000000 and aliased at 0 (BOOT0 = 0). */
    if (err == UC_ERR_OK)
        err = uc_mem_map_ptr(E.uc, EMU_FLASH_BASE, EMU_FLASH_WINDOW, UC_PROT_READ | UC_PROT_EXEC,
                             E.flash_mem);
    if (err == UC_ERR_OK)
        err = uc_mem_map_ptr(E.uc, 0, EMU_FLASH_WINDOW, UC_PROT_READ | UC_PROT_EXEC, E.flash_mem);
    if (err == UC_ERR_OK)
        err = uc_mem_map_ptr(E.uc, EMU_SRAM_BASE, EMU_SRAM_SIZE, UC_PROT_ALL, E.ram);
    if (err == UC_ERR_OK) {
        sysmem_fill();
        err = uc_mem_map_ptr(E.uc, EMU_SYSMEM_BASE, sizeof g_sysmem, UC_PROT_READ, g_sysmem);
    }
    if (err == UC_ERR_OK)
        err = uc_mmio_map(E.uc, EMU_PPB_BASE, EMU_PPB_SIZE, ppb_mmio_read, NULL, ppb_mmio_write, NULL);
    uc_hook h;
    if (err == UC_ERR_OK)
        err = uc_hook_add(E.uc, &h, UC_HOOK_CODE, (void *)hook_code, NULL, 1, 0);
    if (err == UC_ERR_OK)
        err = uc_hook_add(E.uc, &h, UC_HOOK_INTR, (void *)hook_intr, NULL, 1, 0);
    if (err == UC_ERR_OK)
        err = uc_hook_add(E.uc, &h, UC_HOOK_MEM_UNMAPPED, (void *)hook_unmapped, NULL, 1, 0);
    if (err != UC_ERR_OK) {
        fprintf(stderr, "flashbridge-emu: unicorn: %s\n", uc_strerror(err));
        return -1;
    }
    if (emu_map_peripherals() != 0 || flash_hooks_install() != 0)
        return -1;
    E.thread_limit = EMU_NEVER;
    E.hz = 8000000u;
    return 0;
}

void emu_cpu_destroy(void)
{
    if (E.uc)
        uc_close(E.uc);
    E.uc = NULL;
}

double emu_cpi(void)
{
    return E.stats.insns ? (double)E.stats.cycles / (double)E.stats.insns : 0.0;
}

uint32_t emu_pc(void)
{
    return E.cur_pc;
}

unsigned emu_exception(void)
{
    return E.nvic.cur;
}

