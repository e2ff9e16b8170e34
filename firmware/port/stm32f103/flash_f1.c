/*
 * Internal flash, the config region (hal_iflash_*): RM0008 §3.3, PM0075 §2.3 / §3.
 *
 * Layout, per board (BOARD_IFLASH_* in boards/): 1 KiB pages; 4 KiB that belong to
 * the core's config store (the Blue Pill: the last 4 KiB of its 64 KiB; the STeaMi: the
 * end of DAPLink's interface area), and on the STeaMi a factory config page that is
 * only ever read. The firmware image never overlaps them (the linker scripts).
 *
 * While the flash interface programs or erases, any fetch or read from the flash
 * stalls the CPU until it finishes (PM0075 §2.3). So the routines that start and wait
 * for an operation (flash_f1_erase_ram, flash_f1_program_ram and all they call) are
 * in .ramfunc, reached by long calls (no veneer in flash), and for their duration only
 * the essential interrupts stay enabled: I2C2_EV, I2C2_ER (NVIC) and SysTick (a system
 * exception, not in the NVIC), whose handlers are in SRAM too. Every other enabled
 * NVIC line is disabled through ICER and exactly that set re-enabled through ISER
 * afterwards (never a blind enable). tools/ramcheck.py verifies the SRAM rule.
 *
 * Wrappers in flash check the arguments, call the SRAM routine and, once the flash
 * is readable again, verify the result by reading it back.
 */
#include <string.h>

#include "board.h"
#include "errors.h"
#include "hal.h"
#include "port.h"
#include "ramcheck_break.h"
#include "regs/cm3.h"
#include "regs/flash_f1.h"
#include "regs/rcc_f1.h"

#define IFLASH_SIZE        BOARD_IFLASH_SIZE
#define IFLASH_PAGE        1024u
#define IFLASH_REGION_BASE BOARD_IFLASH_REGION_BASE
#define IFLASH_REGION_SIZE 0x1000u

/* Bounds: datasheet maxima are 70 us per half-word and 40 ms per page erase. port_ms
 * (SysTick, still running) gives the time; the loop count is a backstop in case the
 * tick is not advancing (a loop iteration takes well over 10 ns at 72 MHz). */
#define PROGRAM_BOUND_MS    2u
#define PROGRAM_BOUND_LOOPS 400000u
#define ERASE_BOUND_MS      100u
#define ERASE_BOUND_LOOPS   20000000u
#define HSI_BOUND_LOOPS     20000u

#define FLASH_SR_ERRORS (FLASH_SR_PGERR | FLASH_SR_WRPRTERR)

int flash_f1_erase_ram(uint32_t page_addr) FB_RAMFUNC;
int flash_f1_program_ram(uint32_t addr, const uint8_t *src, uint32_t n) FB_RAMFUNC;

/* ---- SRAM side ---- */

/* NVIC lines that stay enabled during an operation, per ISER/ICER word. */
static inline __attribute__((always_inline)) uint32_t essential_mask(uint32_t word)
{
    uint32_t m = 0;
    if (IRQ_I2C2_EV / 32u == word)
        m |= 1u << (IRQ_I2C2_EV % 32u);
    if (IRQ_I2C2_ER / 32u == word)
        m |= 1u << (IRQ_I2C2_ER % 32u);
    return m;
}

/* Disable every enabled NVIC line but the essential ones; saved[] gets what was
 * disabled. */
static inline __attribute__((always_inline)) void irq_mask_others(uint32_t saved[NVIC_WORDS])
{
    for (uint32_t w = 0; w < NVIC_WORDS; w++) {
        saved[w] = NVIC->ISER[w] & ~essential_mask(w);
        NVIC->ICER[w] = saved[w];
    }
    cm3_dsb();
    cm3_isb();
}

static inline __attribute__((always_inline)) void irq_unmask_others(const uint32_t saved[NVIC_WORDS])
{
    for (uint32_t w = 0; w < NVIC_WORDS; w++)
        NVIC->ISER[w] = saved[w];
}

/* port_ms keeps advancing: SysTick stays enabled during the operation. */
static inline __attribute__((always_inline)) uint32_t ms_now(void)
{
    return port_ms;
}

static int iflash_wait_idle(uint32_t bound_ms, uint32_t max_loops) IFLASH_WAIT_PLACEMENT;
static int iflash_wait_idle(uint32_t bound_ms, uint32_t max_loops)
{
    const uint32_t start = ms_now();
    for (uint32_t n = 0; n < max_loops; n++) {
        if (!(FLASH->SR & FLASH_SR_BSY))
            return FB_OK;
        if ((uint32_t)(ms_now() - start) > bound_ms)
            break;
    }
    return FB_ETIMEOUT;
}

/* HSI on (required to program/erase, PM0075 §2.3), BSY clear, FPEC unlocked
 * (KEYR = KEY1 then KEY2, PM0075 §2.3.1), status flags cleared. */
static int iflash_begin(void) FB_RAMFUNC;
static int iflash_begin(void)
{
    if (!(RCC->CR & RCC_CR_HSIRDY)) {
        RCC->CR |= RCC_CR_HSION;
        uint32_t n = 0;
        while (!(RCC->CR & RCC_CR_HSIRDY)) {
            if (++n > HSI_BOUND_LOOPS)
                return FB_ETIMEOUT;
        }
    }
    int err = iflash_wait_idle(ERASE_BOUND_MS, ERASE_BOUND_LOOPS);
    if (err)
        return err;
    if (FLASH->CR & FLASH_CR_LOCK) {
        FLASH->KEYR = FLASH_KEY1;
        FLASH->KEYR = FLASH_KEY2;
        if (FLASH->CR & FLASH_CR_LOCK)
            return FB_EFLASH; /* a wrong key sequence locks the FPEC until reset */
    }
    FLASH->SR = FLASH_SR_EOP | FLASH_SR_ERRORS;
    return FB_OK;
}

/* Wait for the operation just started. Some F103-compatible parts report BSY late:
 * let the write reach the interface and read SR once before polling BSY. */
static inline __attribute__((always_inline)) int iflash_finish(uint32_t bound_ms, uint32_t loops,
                                                               uint32_t *sr)
{
    cm3_dsb();
    (void)FLASH->SR;
    int err = iflash_wait_idle(bound_ms, loops);
    *sr = FLASH->SR;
    FLASH->SR = FLASH_SR_EOP | FLASH_SR_ERRORS;
    return err;
}

int flash_f1_erase_ram(uint32_t page_addr)
{
    uint32_t saved[NVIC_WORDS];
    irq_mask_others(saved);
    int err = iflash_begin();
    if (!err) {
        /* Page erase, PM0075 §2.3.4: PER, AR, STRT, wait BSY, then clear PER (a PER
         * or PG left set makes the next operation fail). */
        uint32_t sr;
        FLASH->CR |= FLASH_CR_PER;
        FLASH->AR = page_addr;
        FLASH->CR |= FLASH_CR_STRT;
        err = iflash_finish(ERASE_BOUND_MS, ERASE_BOUND_LOOPS, &sr);
        FLASH->CR &= ~FLASH_CR_PER;
        if (!err && (sr & FLASH_SR_ERRORS))
            err = FB_EFLASH;
    }
    FLASH->CR |= FLASH_CR_LOCK;
    irq_unmask_others(saved);
    return err;
}

int flash_f1_program_ram(uint32_t addr, const uint8_t *src, uint32_t n)
{
    uint32_t saved[NVIC_WORDS];
    irq_mask_others(saved);
    int err = iflash_begin();
    /* Programming, PM0075 §2.3.3: PG, one half-word store, wait BSY, check
     * PGERR/WRPRTERR, clear PG; a half-word at a time. */
    for (uint32_t i = 0; !err && i < n; i += 2u) {
        uint32_t sr;
        FLASH->CR |= FLASH_CR_PG;
        *(volatile uint16_t *)(addr + i) = (uint16_t)(src[i] | (uint16_t)(src[i + 1u] << 8));
        err = iflash_finish(PROGRAM_BOUND_MS, PROGRAM_BOUND_LOOPS, &sr);
        FLASH->CR &= ~FLASH_CR_PG;
        if (!err && (sr & FLASH_SR_ERRORS))
            err = FB_EFLASH;
    }
    FLASH->CR |= FLASH_CR_LOCK;
    irq_unmask_others(saved);
    return err;
}

/* ---- flash side (main loop) ---- */

static uint32_t primask(void)
{
    uint32_t p;
    __asm__ volatile("mrs %0, primask" : "=r"(p));
    return p;
}

/* offset..offset+n inside the config region: the firmware image is never touched. */
static int in_region(uint32_t offset, size_t n)
{
    return offset >= IFLASH_REGION_BASE && n <= IFLASH_REGION_SIZE &&
           offset - IFLASH_REGION_BASE <= IFLASH_REGION_SIZE - n;
}

uint32_t hal_iflash_page_size(void)
{
    return IFLASH_PAGE;
}

uint32_t hal_iflash_region_base(void)
{
    return IFLASH_REGION_BASE;
}

uint32_t hal_iflash_region_size(void)
{
    return IFLASH_REGION_SIZE;
}

uint32_t hal_iflash_factory_page(void)
{
    return BOARD_IFLASH_FACTORY;
}

void hal_iflash_read(uint32_t offset, void *dst, size_t n)
{
    FB_ASSERT(offset <= IFLASH_SIZE && n <= IFLASH_SIZE - offset);
    memcpy(dst, (const void *)(uintptr_t)(FLASH_BASE_ADDR + offset), n);
}

int hal_iflash_erase_page(uint32_t offset)
{
    FB_ASSERT(in_region(offset, 1));
    /* The I2C interrupt must be able to run while the CPU waits for the erase. */
    FB_ASSERT(primask() == 0);
    uint32_t page = FLASH_BASE_ADDR + (offset & ~(IFLASH_PAGE - 1u));
    int err = flash_f1_erase_ram(page);
    if (err)
        return err;
    const uint32_t *p = (const uint32_t *)(uintptr_t)page;
    for (uint32_t i = 0; i < IFLASH_PAGE / 4u; i++) {
        if (p[i] != 0xFFFFFFFFu)
            return FB_EFLASH;
    }
    return FB_OK;
}

int hal_iflash_program(uint32_t offset, const void *src, size_t n)
{
    FB_ASSERT((offset & 1u) == 0 && (n & 1u) == 0 && in_region(offset, n));
    FB_ASSERT(primask() == 0);
    if (n == 0)
        return FB_OK;
    uint32_t addr = FLASH_BASE_ADDR + offset;
    int err = flash_f1_program_ram(addr, (const uint8_t *)src, (uint32_t)n);
    if (err)
        return err;
    return memcmp((const void *)(uintptr_t)addr, src, n) == 0 ? FB_OK : FB_EFLASH;
}
