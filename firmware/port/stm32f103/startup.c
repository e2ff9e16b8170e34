/*
 * Start-up: the vector table, memory initialisation and the switch to a vector table
 * in SRAM.
 *
 * Why the table moves: while the internal flash programs or erases, every fetch from
 * it stalls the CPU (RM0008 §3.3.3, PM0075 §2.3). The exception entry reads the
 * handler address from the table in use, so with the table in flash an I2C event
 * waits up to 40 ms (a page erase) and the bus controller sees bytes lost. The table
 * is therefore copied to fb_vectors_ram[] and VTOR points there; the essential
 * handlers (SysTick, I2C2_EV, I2C2_ER) are themselves in SRAM (.ramfunc), so their
 * entries in the copy are SRAM addresses. tools/ramcheck.py proves this from the ELF.
 *
 * VTOR alignment (ARMv7-M ARM B3.2.5, PM0056 §4.4.4): the table base must be aligned
 * to its size rounded up to a power of two. 76 words (16 exceptions + 60 interrupt
 * lines, RM0008 Table 63) = 304 bytes -> 512-byte alignment.
 */
#include <stdint.h>

#include "port.h"
#include "ramcheck_break.h"
#include "regs/cm3.h"
#include "regs/rcc_f1.h"

#define VECTOR_COUNT 76u

#if FB_USB
#include "usb_f1.h"
#define USB_LP_HANDLER USB_LP_CAN1_RX0_IRQHandler /* IRQ 20, flash: masked during flash work */
#else
#define USB_LP_HANDLER Default_Handler
#endif

typedef void (*vector_t)(void);

/* Linker script symbols (stm32f103x8.ld). */
extern uint32_t _estack;
extern uint32_t __ramfunc_start, __ramfunc_end, __ramfunc_load;
extern uint32_t __data_start, __data_end, __data_load;
extern uint32_t __bss_start, __bss_end;

/* The table the hardware boots with (flash, at 0x08000000) and the SRAM copy that is
 * in use once Reset_Handler has run. */
extern const vector_t fb_vectors_flash[VECTOR_COUNT];
extern vector_t fb_vectors_ram[VECTOR_COUNT];

__attribute__((section(".ram_vectors"), aligned(512))) vector_t fb_vectors_ram[VECTOR_COUNT];

/* The 16 Cortex-M3 exceptions, then the 60 interrupt lines of RM0008 Table 63 (the
 * medium-density F103 implements 0..42; the rest are never enabled). */
__attribute__((section(".isr_vector"), used)) const vector_t fb_vectors_flash[VECTOR_COUNT] = {
    (vector_t)&_estack, /* initial main stack pointer: top of SRAM */
    Reset_Handler,
    NMI_Handler,
    HardFault_Handler,
    Default_Handler,    /* MemManage (disabled: escalates to HardFault) */
    Default_Handler,    /* BusFault */
    Default_Handler,    /* UsageFault */
    0, 0, 0, 0,         /* reserved */
    Default_Handler,    /* SVCall */
    Default_Handler,    /* DebugMonitor */
    0,                  /* reserved */
    Default_Handler,    /* PendSV */
    SysTick_Handler,    /* SRAM */
    /* IRQ 0..15: WWDG, PVD, TAMPER, RTC, FLASH, RCC, EXTI0..4, DMA1_Channel1..5 */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    /* IRQ 16..31: DMA1_Channel6..7, ADC1_2, USB_HP_CAN_TX, USB_LP_CAN_RX0, CAN_RX1,
     * CAN_SCE, EXTI9_5, TIM1_BRK, TIM1_UP, TIM1_TRG_COM, TIM1_CC, TIM2, TIM3, TIM4,
     * I2C1_EV */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    USB_LP_HANDLER,  Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    /* IRQ 32: I2C1_ER; 33: I2C2_EV; 34: I2C2_ER (both SRAM) */
    Default_Handler,
    I2C2_EV_IRQHandler,
    I2C2_ER_IRQHandler,
    /* IRQ 35..42: SPI1, SPI2, USART1..3, EXTI15_10, RTCAlarm, USBWakeup */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    /* IRQ 43..59: high-density lines (TIM8, ADC3, FSMC, SDIO, TIM5..7, SPI3, UART4/5,
     * DMA2), absent on the F103x8/xB */
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler, Default_Handler, Default_Handler, Default_Handler,
    Default_Handler,
};

/* Addresses as integers: the bounds are distinct linker symbols, not one C object. */
static void copy_words(uintptr_t dst, uintptr_t end, uintptr_t src)
{
    for (; dst < end; dst += 4u, src += 4u)
        *(uint32_t *)dst = *(const uint32_t *)src;
}

static void zero_words(uintptr_t dst, uintptr_t end)
{
    for (; dst < end; dst += 4u)
        *(uint32_t *)dst = 0;
}

void Reset_Handler(void)
{
    /* .ramfunc (code that must run from SRAM) and .data from their flash images;
     * .bss to zero. Interrupts are not enabled before this is done. */
    copy_words((uintptr_t)&__ramfunc_start, (uintptr_t)&__ramfunc_end,
               (uintptr_t)&__ramfunc_load);
    copy_words((uintptr_t)&__data_start, (uintptr_t)&__data_end, (uintptr_t)&__data_load);
    zero_words((uintptr_t)&__bss_start, (uintptr_t)&__bss_end);

    for (uint32_t i = 0; i < VECTOR_COUNT; i++)
        fb_vectors_ram[i] = fb_vectors_flash[i];
#if !defined(FB_RAMCHECK_BREAK_VTOR)
    cm3_dsb();
    SCB->VTOR = (uint32_t)(uintptr_t)fb_vectors_ram;
    cm3_dsb();
    cm3_isb();
#endif

    rcc_clock_init();
    rcc_lse_off();
    (void)main();
    port_fatal();
}

/* NMI: the clock security system saw the HSE fail (RM0008 §7.2.7): the hardware has
 * switched SYSCLK to HSI and stopped the PLL, so every clock the drivers were set up
 * for is wrong. Clear the flag and reset: rcc_clock_init() then finds no HSE and uses
 * the HSI PLL. Anything else here is fatal. */
void NMI_Handler(void)
{
    if (RCC->CIR & RCC_CIR_CSSF) {
        RCC->CIR = RCC_CIR_CSSC;
        cm3_dsb();
        SCB->AIRCR = SCB_AIRCR_VECTKEY | SCB_AIRCR_SYSRESETREQ;
        cm3_dsb();
    }
    port_fatal();
}

void HardFault_Handler(void)
{
    port_fatal();
}

void Default_Handler(void)
{
    port_fatal();
}
