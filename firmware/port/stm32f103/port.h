/*
 * Inside the STM32F103 port: what its files share. The core sees only hal.h.
 *
 * Interrupt priorities (4 bits implemented, upper nibble of each priority byte):
 *   I2C2_EV, I2C2_ER  0x00  highest: ES096 I2C erratum "some software events must be
 *                           managed before the current byte is being transferred"
 *   SysTick           0x40  1 ms tick, I2C watchdog; never delays an I2C event
 *   USB_LP_CAN1_RX0   0xF0  lowest: only masks itself and wakes the main loop, which
 *                           does the USB work (usb_f1.c; Blue Pill build only)
 * No other interrupt is enabled.
 */
#ifndef FB_PORT_STM32F103_PORT_H
#define FB_PORT_STM32F103_PORT_H

#include <stdint.h>

#include "ramfunc.h"

#define IRQ_I2C2_EV 33u /* RM0008 Table 63 */
#define IRQ_I2C2_ER 34u
#define PRIO_I2C     0x00u
#define PRIO_SYSTICK 0x40u
#define PRIO_USB     0xF0u

/* Clock tree after rcc_clock_init(). */
typedef struct {
    uint32_t sysclk_hz; /* = HCLK */
    uint32_t pclk1_hz;  /* APB1: I2C2 */
    uint32_t pclk2_hz;  /* APB2: SPI1 */
    uint8_t source;     /* PORT_CLOCK_* */
} port_clocks_t;
#define PORT_CLOCK_HSI     0u /* PLL or HSE failed: HSI 8 MHz, no PLL */
#define PORT_CLOCK_HSE_PLL 1u /* BOARD_HSE_HZ crystal through the PLL = 72 MHz */
#define PORT_CLOCK_HSI_PLL 2u /* HSE failed: HSI/2 x16 = 64 MHz */

extern port_clocks_t port_clocks;

/* Milliseconds since boot, incremented by SysTick_Handler (SRAM). */
extern volatile uint32_t port_ms;

/* Reset_Handler, before main: clock tree from HSE (HSI fallback), bounded waits. */
void rcc_clock_init(void);
/* Reset_Handler, before main: LSE off, so PC14/PC15 are GPIOs (RM0008 §7.3.9). */
void rcc_lse_off(void);
/* main, at boot: 1 ms SysTick at PRIO_SYSTICK. */
void systick_init(void);
/* main, at boot: IWDG with a ~1 s timeout. */
void iwdg_start(void);
/* main, at boot: SPI1 master, mode 0, PCLK2/4, chip select high. */
void spi_init(void);
/* main, at boot, after fb_core_init(): I2C2 target at FB_I2C_ADDR, interrupts on. */
void i2c_init(void);
/* SysTick_Handler, every millisecond: the I2C watchdog (stall, stuck BUSY, storms). */
void i2c_tick(uint32_t now_ms) FB_RAMFUNC;

/* Fatal error: mask interrupts, release the I2C lines, let the IWDG reset the part. */
void port_fatal(void) __attribute__((noreturn));

/* Exception and interrupt handlers named in the vector table (startup.c). */
void Reset_Handler(void) __attribute__((noreturn));
void NMI_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void) FB_RAMFUNC;
void I2C2_EV_IRQHandler(void) FB_RAMFUNC;
void I2C2_ER_IRQHandler(void) FB_RAMFUNC;

int main(void);

#endif
