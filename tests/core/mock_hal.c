#include "mock_hal.h"

#include <stdarg.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "errors.h"
#include "flashbridge/protocol.h"
#include "hal.h"
#include "i2c_target.h"

#define SPI_NS_PER_BYTE 444u
#define POLL_COST_NS 2000u
#define REGION_BASE (60u * 1024u)
#define REGION_SIZE 4096u

w25m_t *mock_w25;
f1m_t *mock_f1;
uint64_t mock_now_ns;
int mock_irq_depth;
int mock_spi_fail;
int mock_iflash_fail;

void fb_assert_failed(const char *file, int line)
{
    fprintf(stderr, "FB_ASSERT failed at %s:%d\n", file, line);
    fail();
}

uint32_t hal_irq_save(void)
{
    return (uint32_t)mock_irq_depth++;
}

void hal_irq_restore(uint32_t saved)
{
    assert_int_equal(mock_irq_depth, saved + 1);
    mock_irq_depth = (int)saved;
}

uint32_t hal_millis(void)
{
    return (uint32_t)(mock_now_ns / 1000000u);
}

void hal_idle(void)
{
    mock_now_ns = (mock_now_ns / 1000000u + 1u) * 1000000u;
}

void hal_watchdog_kick(void) {}

void hal_spi_select(void)
{
    assert_int_equal(mock_irq_depth, 0);
    w25m_select(mock_w25, true, mock_now_ns);
}

void hal_spi_deselect(void)
{
    w25m_select(mock_w25, false, mock_now_ns);
}

int hal_spi_xfer(const uint8_t *tx, uint8_t *rx, size_t n)
{
    if (mock_spi_fail > 0) {
        mock_spi_fail--;
        return FB_ETIMEOUT;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t b = w25m_xfer(mock_w25, tx ? tx[i] : 0xFF, mock_now_ns);
        if (rx)
            rx[i] = b;
        mock_now_ns += SPI_NS_PER_BYTE;
    }
    return FB_OK;
}

uint32_t hal_iflash_page_size(void)
{
    return F1M_PAGE;
}

uint32_t hal_iflash_region_base(void)
{
    return REGION_BASE;
}

uint32_t hal_iflash_region_size(void)
{
    return REGION_SIZE;
}

uint32_t mock_iflash_factory;

uint32_t hal_iflash_factory_page(void)
{
    return mock_iflash_factory;
}

void hal_iflash_read(uint32_t offset, void *dst, size_t n)
{
    if (mock_iflash_factory && offset >= mock_iflash_factory &&
        offset + n <= mock_iflash_factory + F1M_PAGE) {
        memcpy(dst, f1m_array(mock_f1) + offset, n);
        return;
    }
    assert_true(offset >= REGION_BASE && offset + n <= REGION_BASE + REGION_SIZE);
    memcpy(dst, f1m_array(mock_f1) + offset, n);
}

static void wait_f1(void)
{
    mock_now_ns = f1m_busy_until(mock_f1) > mock_now_ns ? f1m_busy_until(mock_f1) : mock_now_ns;
}

static void unlock(void)
{
    f1m_write_key(mock_f1, 0x45670123u);
    f1m_write_key(mock_f1, 0xCDEF89ABu);
}

int hal_iflash_erase_page(uint32_t offset)
{
    assert_int_equal(mock_irq_depth, 0);
    assert_true(offset >= REGION_BASE && offset < REGION_BASE + REGION_SIZE);
    if (mock_iflash_fail > 0) {
        mock_iflash_fail--;
        return FB_EFLASH;
    }
    unlock();
    int r = f1m_erase_page(mock_f1, offset, mock_now_ns);
    wait_f1();
    f1m_lock(mock_f1);
    return r == F1M_OK ? FB_OK : FB_EFLASH;
}

int hal_iflash_program(uint32_t offset, const void *src, size_t n)
{
    assert_int_equal(mock_irq_depth, 0);
    assert_true(offset % 2 == 0 && n % 2 == 0);
    assert_true(offset >= REGION_BASE && offset + n <= REGION_BASE + REGION_SIZE);
    if (mock_iflash_fail > 0) {
        mock_iflash_fail--;
        return FB_EFLASH;
    }
    const uint8_t *p = src;
    int r = F1M_OK;
    unlock();
    for (size_t i = 0; i < n && r == F1M_OK; i += 2) {
        /* Little-endian half-words, as the Cortex-M3 stores them. */
        r = f1m_program(mock_f1, offset + (uint32_t)i, (uint16_t)(p[i] | p[i + 1] << 8),
                        mock_now_ns);
        wait_f1();
    }
    f1m_lock(mock_f1);
    return r == F1M_OK ? FB_OK : FB_EFLASH;
}

void mock_boot_fresh(void)
{
    mock_teardown();
    mock_now_ns = 0;
    mock_irq_depth = 0;
    mock_spi_fail = 0;
    mock_iflash_fail = 0;
    mock_iflash_factory = 0;
    mock_w25 = w25m_create(NULL, W25M_TIMING_TYPICAL, NULL);
    mock_f1 = f1m_create(NULL, 65536u, F1M_TIMING_TYPICAL, NULL);
    assert_non_null(mock_w25);
    assert_non_null(mock_f1);
    mock_reboot();
    /* A chip never formatted may hold anything: the firmware checks all of it first. */
    mock_run_background();
}

void mock_reboot(void)
{
    f1m_reset(mock_f1);
    fb_core_init();
    mock_run(50);
}

void mock_run_background(void)
{
    for (int i = 0; i < 20000000; i++) {
        if (!(mock_status() & (FB_STATUS_BUSY | FB_STATUS_ERASING)))
            return;
        mock_run(1);
    }
    fail_msg("background work never finished");
}

void mock_teardown(void)
{
    if (mock_w25)
        w25m_destroy(mock_w25);
    if (mock_f1)
        f1m_destroy(mock_f1);
    mock_w25 = NULL;
    mock_f1 = NULL;
}

void mock_run(int passes)
{
    for (int i = 0; i < passes; i++) {
        if (!fb_core_poll())
            hal_idle();
        mock_now_ns += POLL_COST_NS;
        assert_int_equal(mock_irq_depth, 0);
    }
}

void mock_run_idle(void)
{
    for (int i = 0; i < 20000000; i++) {
        if (!(mock_status() & FB_STATUS_BUSY))
            return;
        mock_run(1);
    }
    fail_msg("the command queue never emptied");
}

void mock_write(const uint8_t *bytes, size_t n)
{
    fb_i2c_addr(false);
    for (size_t i = 0; i < n; i++)
        assert_true(fb_i2c_write_byte(bytes[i]));
    fb_i2c_stop();
}

void mock_write_abort(const uint8_t *bytes, size_t n)
{
    fb_i2c_addr(false);
    for (size_t i = 0; i < n; i++)
        assert_true(fb_i2c_write_byte(bytes[i]));
    fb_i2c_abort();
}

void mock_read_reg(uint8_t reg, uint8_t *out, size_t n)
{
    fb_i2c_addr(false);
    assert_true(fb_i2c_write_byte(reg));
    fb_i2c_addr(true);
    for (size_t i = 0; i < n; i++)
        out[i] = fb_i2c_read_byte();
    fb_i2c_stop();
}

void mock_plain_read(uint8_t *out, size_t n)
{
    fb_i2c_addr(true);
    for (size_t i = 0; i < n; i++)
        out[i] = fb_i2c_read_byte();
    fb_i2c_stop();
}

uint8_t mock_status(void)
{
    uint8_t s;
    mock_read_reg(FB_CMD_EXT_STATUS, &s, 1);
    return s;
}

uint8_t mock_v1_status(void)
{
    uint8_t s;
    mock_read_reg(FB_CMD_STATUS, &s, 1);
    return s;
}

uint8_t mock_errors(void)
{
    uint8_t e;
    mock_read_reg(FB_CMD_ERRORS, &e, 1);
    return e;
}

uint8_t mock_error(void)
{
    uint8_t e;
    mock_read_reg(FB_CMD_ERROR, &e, 1);
    return e;
}

void mock_flash_program(uint32_t addr, const uint8_t *data, size_t n)
{
    while (n) {
        size_t chunk = W25M_PAGE - addr % W25M_PAGE;
        if (chunk > n)
            chunk = n;
        mock_now_ns = w25m_busy_until(mock_w25) + 1;
        w25m_select(mock_w25, true, mock_now_ns);
        w25m_xfer(mock_w25, 0x06, mock_now_ns);
        w25m_select(mock_w25, false, mock_now_ns);
        w25m_select(mock_w25, true, mock_now_ns);
        w25m_xfer(mock_w25, 0x02, mock_now_ns);
        w25m_xfer(mock_w25, (uint8_t)(addr >> 16), mock_now_ns);
        w25m_xfer(mock_w25, (uint8_t)(addr >> 8), mock_now_ns);
        w25m_xfer(mock_w25, (uint8_t)addr, mock_now_ns);
        for (size_t i = 0; i < chunk; i++)
            w25m_xfer(mock_w25, data[i], mock_now_ns);
        w25m_select(mock_w25, false, mock_now_ns);
        addr += (uint32_t)chunk;
        data += chunk;
        n -= chunk;
    }
    mock_now_ns = w25m_busy_until(mock_w25) + 1;
}

static uint8_t *snap_w25, *snap_f1;

int mock_setup(void **state)
{
    (void)state;
    mock_boot_fresh();
    return 0;
}

int mock_cleanup(void **state)
{
    (void)state;
    mock_teardown();
    free(snap_w25);
    free(snap_f1);
    snap_w25 = snap_f1 = NULL;
    return 0;
}

void mock_snapshot(void)
{
    free(snap_w25);
    free(snap_f1);
    snap_w25 = malloc(W25M_SIZE);
    snap_f1 = malloc(f1m_size(mock_f1));
    assert_non_null(snap_w25);
    assert_non_null(snap_f1);
    memcpy(snap_w25, w25m_array(mock_w25), W25M_SIZE);
    memcpy(snap_f1, f1m_array(mock_f1), f1m_size(mock_f1));
}

void mock_assert_flash_unchanged(void)
{
    assert_memory_equal(snap_w25, w25m_array(mock_w25), W25M_SIZE);
    assert_memory_equal(snap_f1, f1m_array(mock_f1), f1m_size(mock_f1));
}

void mock_read_sector(uint16_t idx, uint8_t out[256])
{
    uint8_t f[3] = {FB_CMD_READ_SECTOR, (uint8_t)(idx >> 8), (uint8_t)idx};
    mock_write(f, sizeof f);
    mock_run_idle();
    mock_plain_read(out, 256);
}
