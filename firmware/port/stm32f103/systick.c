/*
 * The 1 ms tick (PM0056 §4.5): hal_millis() and the I2C watchdog.
 *
 * SysTick stays enabled while the internal flash programs or erases, so its handler
 * and everything it reaches are in SRAM (tools/ramcheck.py checks it).
 */
#include "hal.h"
#include "port.h"
#include "regs/cm3.h"

volatile uint32_t port_ms;

void systick_init(void)
{
    SCB->SHPR3 = (SCB->SHPR3 & ~(0xFFu << SCB_SHPR3_SYSTICK_SHIFT)) |
                 (PRIO_SYSTICK << SCB_SHPR3_SYSTICK_SHIFT);
    SYSTICK->LOAD = port_clocks.sysclk_hz / 1000u - 1u;
    SYSTICK->VAL = 0;
    SYSTICK->CTRL = SYSTICK_CTRL_CLKSOURCE | SYSTICK_CTRL_TICKINT | SYSTICK_CTRL_ENABLE;
}

void SysTick_Handler(void)
{
    uint32_t now = port_ms + 1u;
    port_ms = now;
    i2c_tick(now);
}

uint32_t hal_millis(void)
{
    return port_ms;
}
