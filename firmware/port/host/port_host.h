/*
 * The host port: hal.h implemented over the device models, in virtual time.
 *
 * The port only turns hal calls into model calls and into time spent. It does not
 * schedule anything itself: the machine that runs it (sim/board.c) provides virtual
 * time and decides what happens while the main loop spends it (interrupt delivery,
 * watchdog). The machine is passed in as hooks rather than linked in, so the port
 * library depends only on the models, and a test can drive it with a fake machine.
 *
 * Costs charged to the main loop (virtual ns), chosen from the STM32F103 figures in
 * /work/shared/reference/hardware-facts.md:
 *  - SPI at 18 MHz: 8 bits = 444 ns per byte, plus PORT_HOST_SPI_CALL_NS per hal_spi_xfer
 *    (polled driver: register set-up and the wait for the last byte's BSY).
 *  - internal flash: whatever the f1flash model says each half-word program or page
 *    erase takes, plus nothing else (the unlock/lock register writes are a few cycles).
 *  - reads of the internal flash, chip-select edges, hal_millis, irq masking: free.
 */
#ifndef FB_PORT_HOST_H
#define FB_PORT_HOST_H

#include <stdbool.h>
#include <stdint.h>

#include "f1flash_model.h"
#include "powercut.h"
#include "w25q64_model.h"

#define PORT_HOST_SPI_BYTE_NS 444u
#define PORT_HOST_SPI_CALL_NS 500u

/* Internal flash of the STM32F103C8 and the part of it the core may use: the last
 * 4 KiB (4 pages), below which the firmware image lives on the real part. */
#define PORT_HOST_IFLASH_SIZE        65536u
#define PORT_HOST_IFLASH_REGION_BASE (60u * 1024u)
#define PORT_HOST_IFLASH_REGION_SIZE 4096u

/* Bounds on the waits for the internal flash's BSY, well above the datasheet maxima
 * (70 us per half-word, 40 ms per page erase) so they only catch a stuck interface. */
#define PORT_HOST_IFLASH_PROGRAM_BOUND_NS 1000000ull
#define PORT_HOST_IFLASH_ERASE_BOUND_NS   100000000ull

/* Read-only factory config page at this offset of the internal flash model (below the
 * region), as the STeaMi has one; 0 (the default) for none. */
void port_host_set_factory_page(uint32_t offset);

typedef struct port_host_machine {
    /* Current virtual time in ns (the main loop's time; equal to the bus time while an
     * interrupt is being delivered). */
    uint64_t (*now)(void);
    /* The main loop spends ns (interrupts falling due meanwhile are delivered). Only
     * called from the main loop with interrupts unmasked. */
    void (*consume)(uint64_t ns);
    /* The main loop sleeps until virtual time t or until the next interrupt, whichever
     * comes first. */
    void (*sleep_until)(uint64_t t);
    /* The main loop kicked the watchdog. */
    void (*watchdog_kick)(void);
    /* Power is gone: the main loop stops for good. Never returns. */
    void (*halt)(void);
} port_host_machine_t;

/* Connect the port to its machine and devices (any may be NULL only in tests that do
 * not touch that device); pc may be NULL (no power cuts). Then port_host_reset(). */
void port_host_attach(const port_host_machine_t *machine, w25m_t *spi_flash, f1m_t *iflash,
                      powercut_t *pc);
/* MCU reset at virtual time boot_ns: interrupts unmasked, chip select released (a rising
 * edge the W25Q64 sees, so a half-sent program command runs, as on hardware), hal_millis()
 * and the SysTick phase start again. */
void port_host_reset(uint64_t boot_ns);
/* Power is cut for the whole board: forget the chip-select state without an edge (the
 * flash loses power too). Call before the models' power-on and port_host_reset(). */
void port_host_power_off(void);
/* True while the main loop holds interrupts masked (hal_irq_save). */
bool port_host_irq_masked(void);

#endif
