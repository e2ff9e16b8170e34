/*
 * Independent watchdog (RM0008 §19.3): LSI ~40 kHz / 32 = 1.25 kHz, reload 1250 ->
 * ~1 s (0.67 .. 1.33 s over the LSI's 30..60 kHz range). Refreshed only by the main
 * loop (hal_watchdog_kick), so a hung main loop, a stuck interrupt storm or a fatal
 * error (port_fatal) ends in a reset. Once started it cannot be stopped.
 */
#include "hal.h"
#include "port.h"
#include "regs/iwdg_f1.h"
#include "regs/rcc_f1.h"

#define IWDG_RELOAD 1250u
#define IWDG_SR_WAIT_LOOPS 100000u /* PVU/RVU take ~5 LSI periods (RM0008 §19.4.4) */

void iwdg_start(void)
{
    /* A debugger halt stops the core, not the IWDG: without DBG_IWDG_STOP the part
     * resets ~1 s into any breakpoint (RM0008 §31.16.3, DBGMCU_CR). The register is
     * reachable from the core without a debugger attached. */
    DBGMCU_CR |= DBGMCU_CR_DBG_IWDG_STOP;
    IWDG->KR = IWDG_KR_START; /* starts the LSI and the counter */
    IWDG->KR = IWDG_KR_ACCESS;
    IWDG->PR = IWDG_PR_DIV32;
    IWDG->RLR = IWDG_RELOAD - 1u;
    for (uint32_t n = 0; n < IWDG_SR_WAIT_LOOPS && (IWDG->SR & (IWDG_SR_PVU | IWDG_SR_RVU)); n++) {
    }
    IWDG->KR = IWDG_KR_RELOAD;
}

void hal_watchdog_kick(void)
{
    IWDG->KR = IWDG_KR_RELOAD;
}
