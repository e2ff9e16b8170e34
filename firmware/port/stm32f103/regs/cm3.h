/*
 * Cortex-M3 core peripherals used by the port: SCB, NVIC, SysTick.
 * Register names and offsets as in the ARMv7-M Architecture Reference Manual and
 * ST PM0056 (STM32F10xxx Cortex-M3 programming manual) §4.
 */
#ifndef FB_REGS_CM3_H
#define FB_REGS_CM3_H

#include <stdint.h>

/* ---- System control block, PM0056 §4.4 (0xE000ED00) ---- */
typedef struct {
    volatile uint32_t CPUID;
    volatile uint32_t ICSR;
    volatile uint32_t VTOR;  /* vector table offset; TBLOFF must be aligned, see startup.c */
    volatile uint32_t AIRCR;
    volatile uint32_t SCR;
    volatile uint32_t CCR;
    volatile uint32_t SHPR1; /* priorities of MemManage, BusFault, UsageFault */
    volatile uint32_t SHPR2; /* SVCall */
    volatile uint32_t SHPR3; /* PendSV (23:16), SysTick (31:24) */
    volatile uint32_t SHCSR;
} scb_t;
#define SCB ((scb_t *)0xE000ED00u)

#define SCB_AIRCR_VECTKEY      (0x05FAu << 16)
#define SCB_AIRCR_SYSRESETREQ  (1u << 2)
#define SCB_SHPR3_SYSTICK_SHIFT 24u

/* ---- Nested vectored interrupt controller, PM0056 §4.3 (0xE000E100) ----
 * The STM32F103 implements 4 priority bits: the upper nibble of each IPR byte. */
typedef struct {
    volatile uint32_t ISER[8]; /* 0xE000E100: write 1 to enable, read = enabled set */
    uint32_t reserved0[24];
    volatile uint32_t ICER[8]; /* 0xE000E180: write 1 to disable */
    uint32_t reserved1[24];
    volatile uint32_t ISPR[8]; /* 0xE000E200: write 1 to set pending */
    uint32_t reserved2[24];
    volatile uint32_t ICPR[8]; /* 0xE000E280: write 1 to clear pending */
    uint32_t reserved3[24];
    volatile uint32_t IABR[8];
    uint32_t reserved4[56];
    volatile uint8_t IPR[240]; /* 0xE000E400: one priority byte per interrupt */
} nvic_t;
#define NVIC ((nvic_t *)0xE000E100u)

/* Interrupt-enable words that cover the STM32F103's 60 interrupt lines. */
#define NVIC_WORDS 2u

/* ---- SysTick, PM0056 §4.5 (0xE000E010) ---- */
typedef struct {
    volatile uint32_t CTRL;
    volatile uint32_t LOAD;
    volatile uint32_t VAL;
    volatile uint32_t CALIB;
} systick_t;
#define SYSTICK ((systick_t *)0xE000E010u)

#define SYSTICK_CTRL_ENABLE    (1u << 0)
#define SYSTICK_CTRL_TICKINT   (1u << 1)
#define SYSTICK_CTRL_CLKSOURCE (1u << 2) /* 1 = processor clock (HCLK) */

/* ---- Instructions ---- */
static inline __attribute__((always_inline)) void cm3_dsb(void)
{
    __asm__ volatile("dsb" ::: "memory");
}

static inline __attribute__((always_inline)) void cm3_isb(void)
{
    __asm__ volatile("isb" ::: "memory");
}

static inline __attribute__((always_inline)) void cm3_disable_irq(void)
{
    __asm__ volatile("cpsid i" ::: "memory");
}

static inline __attribute__((always_inline)) void cm3_wfi(void)
{
    __asm__ volatile("wfi" ::: "memory");
}

#endif
