/*
 * Host port: hal.h over the W25Q64 and STM32F1-flash models (see port_host.h).
 */
#include "port_host.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "errors.h"
#include "hal.h"

/* FLASH_KEYR unlock sequence, RM0008 3.3.3 / PM0075 2.3.1. */
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

#define SYSTICK_NS 1000000ull

static struct {
    const port_host_machine_t *m;
    w25m_t *spi_flash;
    f1m_t *iflash;
    powercut_t *pc;
    uint32_t primask;
    bool cs_low;
    uint64_t boot_ns;
} P;

void fb_assert_failed(const char *file, int line)
{
    fprintf(stderr, "%s:%d: assertion failed\n", file, line);
    fflush(stderr);
    abort();
}

void port_host_attach(const port_host_machine_t *machine, w25m_t *spi_flash, f1m_t *iflash,
                      powercut_t *pc)
{
    memset(&P, 0, sizeof P);
    P.m = machine;
    P.spi_flash = spi_flash;
    P.iflash = iflash;
    P.pc = pc;
}

void port_host_power_off(void)
{
    P.cs_low = false;
}

void port_host_reset(uint64_t boot_ns)
{
    P.primask = 0;
    P.boot_ns = boot_ns;
    if (P.cs_low && P.spi_flash)
        w25m_select(P.spi_flash, false, boot_ns);
    P.cs_low = false;
}

bool port_host_irq_masked(void)
{
    return P.primask != 0;
}

/* Every model call may be the step during which power dies; the main loop must not run
 * one more instruction after that. */
static void check_power(void)
{
    if (P.pc && P.pc->dead)
        P.m->halt();
}

/* On hardware time passing with PRIMASK set means the I2C interrupt waits, and the
 * STM32F1 I2C loses bytes when it is not serviced in time (errata ES096): a core that
 * does this has a bug, so make it loud. */
static void consume(uint64_t ns)
{
    FB_ASSERT(P.primask == 0);
    P.m->consume(ns);
}

uint32_t hal_irq_save(void)
{
    uint32_t prev = P.primask;
    P.primask = 1;
    return prev;
}

void hal_irq_restore(uint32_t saved)
{
    P.primask = saved;
}

uint32_t hal_millis(void)
{
    return (uint32_t)((P.m->now() - P.boot_ns) / SYSTICK_NS);
}

void hal_idle(void)
{
    FB_ASSERT(P.primask == 0);
    uint64_t since_boot = P.m->now() - P.boot_ns;
    P.m->sleep_until(P.boot_ns + (since_boot / SYSTICK_NS + 1) * SYSTICK_NS);
}

void hal_spi_select(void)
{
    FB_ASSERT(!P.cs_low);
    P.cs_low = true;
    w25m_select(P.spi_flash, true, P.m->now());
    check_power();
}

void hal_spi_deselect(void)
{
    FB_ASSERT(P.cs_low);
    P.cs_low = false;
    w25m_select(P.spi_flash, false, P.m->now());
    check_power();
}

int hal_spi_xfer(const uint8_t *tx, uint8_t *rx, size_t n)
{
    consume(PORT_HOST_SPI_CALL_NS);
    for (size_t i = 0; i < n; i++) {
        uint8_t miso = w25m_xfer(P.spi_flash, tx ? tx[i] : 0xFFu, P.m->now());
        check_power();
        if (rx)
            rx[i] = miso;
        /* Byte by byte, so an I2C event can fall between two bytes as on hardware. */
        consume(PORT_HOST_SPI_BYTE_NS);
    }
    return 0;
}

uint32_t hal_iflash_page_size(void)
{
    return F1M_PAGE;
}

uint32_t hal_iflash_region_base(void)
{
    return PORT_HOST_IFLASH_REGION_BASE;
}

uint32_t hal_iflash_region_size(void)
{
    return PORT_HOST_IFLASH_REGION_SIZE;
}

/* A board with a factory config page (the STeaMi's, at 0xBC00 of its 128 KiB) has it
 * at this offset of the model; 0: none. Only ever read. */
static uint32_t factory_page;

void port_host_set_factory_page(uint32_t offset)
{
    FB_ASSERT(offset == 0 || offset + F1M_PAGE <= PORT_HOST_IFLASH_REGION_BASE);
    factory_page = offset;
}

uint32_t hal_iflash_factory_page(void)
{
    return factory_page;
}

/* The core may only touch its own region: anything else would overwrite the firmware
 * on the real part. */
static void check_region(uint32_t offset, size_t n)
{
    FB_ASSERT(offset >= PORT_HOST_IFLASH_REGION_BASE);
    FB_ASSERT(n <= PORT_HOST_IFLASH_REGION_SIZE);
    FB_ASSERT(offset - PORT_HOST_IFLASH_REGION_BASE <= PORT_HOST_IFLASH_REGION_SIZE - n);
}

void hal_iflash_read(uint32_t offset, void *dst, size_t n)
{
    if (!factory_page || offset < factory_page || offset >= factory_page + F1M_PAGE)
        check_region(offset, n);
    else
        FB_ASSERT(n <= F1M_PAGE && offset - factory_page <= F1M_PAGE - n);
    memcpy(dst, f1m_array(P.iflash) + offset, n);
}

/* Wait for SR.BSY to clear, at most bound ns. */
static int wait_iflash(uint64_t bound)
{
    uint64_t now = P.m->now();
    uint64_t until = f1m_busy_until(P.iflash);
    if (!f1m_busy(P.iflash, now) || until <= now)
        return 0;
    if (until - now > bound) {
        consume(bound);
        return FB_ETIMEOUT;
    }
    consume(until - now);
    return 0;
}

static void unlock_iflash(void)
{
    f1m_write_key(P.iflash, FLASH_KEY1);
    f1m_write_key(P.iflash, FLASH_KEY2);
}

static int map_f1m(int r)
{
    if (r == F1M_OK)
        return 0;
    /* F1M_EDEAD is handled by check_power() before this is reached. */
    return FB_EFLASH;
}

int hal_iflash_erase_page(uint32_t offset)
{
    FB_ASSERT(P.primask == 0);
    check_region(offset - offset % F1M_PAGE, F1M_PAGE);
    int err = wait_iflash(PORT_HOST_IFLASH_ERASE_BOUND_NS);
    if (err == 0) {
        unlock_iflash();
        int r = f1m_erase_page(P.iflash, offset, P.m->now());
        check_power();
        err = map_f1m(r);
        if (err == 0) {
            err = wait_iflash(PORT_HOST_IFLASH_ERASE_BOUND_NS);
            check_power();
        }
    }
    f1m_lock(P.iflash);
    return err;
}

int hal_iflash_program(uint32_t offset, const void *src, size_t n)
{
    FB_ASSERT(P.primask == 0);
    FB_ASSERT(offset % 2 == 0 && n % 2 == 0);
    check_region(offset, n);
    const uint8_t *s = src;
    unlock_iflash();
    int err = 0;
    for (size_t i = 0; i < n && err == 0; i += 2) {
        err = wait_iflash(PORT_HOST_IFLASH_PROGRAM_BOUND_NS);
        if (err)
            break;
        /* The Cortex-M3 is little-endian: the half-word store puts s[i] at the lower
         * address. */
        uint16_t hw = (uint16_t)(s[i] | (unsigned)s[i + 1] << 8);
        int r = f1m_program(P.iflash, offset + (uint32_t)i, hw, P.m->now());
        check_power();
        err = map_f1m(r);
        if (err == 0) {
            err = wait_iflash(PORT_HOST_IFLASH_PROGRAM_BOUND_NS);
            check_power();
        }
    }
    f1m_lock(P.iflash);
    return err;
}

void hal_watchdog_kick(void)
{
    P.m->watchdog_kick();
}
