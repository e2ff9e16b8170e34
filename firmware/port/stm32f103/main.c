/*
 * The STM32F103 port's main loop and the small hal.h pieces that belong to the CPU:
 * interrupt masking (PRIMASK), idling (WFI), fatal errors.
 */
#include "core.h"
#include "errors.h"
#include "hal.h"
#include "port.h"
#include "regs/cm3.h"
#include "regs/i2c_v1.h"
#include "regs/iwdg_f1.h"
#if FB_USB
#include "usb_drive.h"
#include "usb_f1.h"

/* RM0008 §30.2: the 96-bit unique device ID, read as bytes in address order. */
#define UID_BASE ((const volatile uint8_t *)0x1FFFF7E8u)
#endif

/* Where the last assertion failed, for a debugger attached after the fact (.bss:
 * lost on the watchdog reset, kept while the part spins waiting for it). */
static volatile struct {
    const char *file;
    int line;
} last_assert;

int main(void)
{
    systick_init();
    iwdg_start();
    spi_init();
    fb_core_init(); /* mounts the stores; the I2C interrupt is not on yet */
    i2c_init();
#if FB_USB
    uint8_t uid[12];
    for (unsigned i = 0; i < sizeof uid; i++)
        uid[i] = UID_BASE[i];
    usb_drive_init(uid);
    usb_f1_start();
#endif
#if FB_USB
    bool usb_again = false;
    uint32_t usb_ms = 0;
#endif
    for (;;) {
        bool more = fb_core_poll();
#if FB_USB
        /* One USB event per pass, after one engine step: neither starves the other,
         * and the I2C interrupt preempts both. The USB side runs when its interrupt
         * fired, when its last step did something, and once per millisecond (the
         * volume's settle timer, a transfer waiting for the W25Q64): an idle or
         * waiting drive costs the main loop nothing in between. */
        if (usb_f1_ready()) {
            bool irq = usb_f1_take_irq();
            uint32_t now = port_ms;
            if (irq || usb_again || now != usb_ms) {
                usb_ms = now;
                usb_again = usb_drive_task(now);
                more = more || usb_again;
                if (irq)
                    usb_f1_irq_enable();
            }
        }
#endif
        if (!more)
            hal_idle();
        hal_watchdog_kick();
    }
}

/* PRIMASK save/restore (PM0056 §2.3.7 / §3.11.2): the previous state comes back, so
 * critical sections nest and an interrupt-disabled caller stays disabled. The memory
 * clobbers keep the compiler from moving shared accesses out of the section. */
uint32_t hal_irq_save(void)
{
    uint32_t primask;
    __asm__ volatile("mrs %0, primask\n\tcpsid i" : "=r"(primask) : : "memory");
    return primask;
}

void hal_irq_restore(uint32_t saved)
{
    __asm__ volatile("msr primask, %0" : : "r"(saved) : "memory");
}

/* Sleep until the next interrupt: an I2C event or the 1 ms SysTick. A frame posted
 * between fb_core_poll() and WFI is therefore picked up within 1 ms. */
void hal_idle(void)
{
    cm3_wfi();
}

/* Broken invariant on the target: no recovery is attempted; the watchdog resets. */
void fb_assert_failed(const char *file, int line)
{
    last_assert.file = file;
    last_assert.line = line;
    port_fatal();
}

void port_fatal(void)
{
    cm3_disable_irq();
    I2C2->CR1 = 0;           /* PE = 0: never hold SCL/SDA while waiting for the reset */
    IWDG->KR = IWDG_KR_START; /* no-op if it runs already; never refreshed from here */
    for (;;) {
    }
}
