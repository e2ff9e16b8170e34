/*
 * The host port alone, driven by a fake machine: the time each hal call costs, the
 * internal-flash sequences and their errors, idle, millis, power death.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "errors.h"
#include "hal.h"
#include "port_host.h"

static struct {
    uint64_t now;
    uint64_t consumed;
    unsigned consume_calls;
    uint64_t slept_to;
    unsigned kicks;
    jmp_buf halted;
} fake;

static uint64_t f_now(void)
{
    return fake.now;
}

static void f_consume(uint64_t ns)
{
    fake.now += ns;
    fake.consumed += ns;
    fake.consume_calls++;
}

static void f_sleep_until(uint64_t t)
{
    fake.slept_to = t;
    fake.now = t;
}

static void f_kick(void)
{
    fake.kicks++;
}

static void f_halt(void)
{
    longjmp(fake.halted, 1);
}

static const port_host_machine_t machine = {
    .now = f_now,
    .consume = f_consume,
    .sleep_until = f_sleep_until,
    .watchdog_kick = f_kick,
    .halt = f_halt,
};

static w25m_t *flash;
static f1m_t *iflash;
static powercut_t pc;

static int setup(void **state)
{
    (void)state;
    memset(&fake, 0, sizeof fake);
    powercut_init(&pc, 0, 1);
    flash = w25m_create(NULL, W25M_TIMING_TYPICAL, &pc);
    iflash = f1m_create(NULL, PORT_HOST_IFLASH_SIZE, F1M_TIMING_TYPICAL, &pc);
    assert_non_null(flash);
    assert_non_null(iflash);
    port_host_attach(&machine, flash, iflash, &pc);
    port_host_reset(0);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    w25m_destroy(flash);
    f1m_destroy(iflash);
    return 0;
}

static void test_region(void **state)
{
    (void)state;
    assert_int_equal(hal_iflash_page_size(), 1024);
    assert_int_equal(hal_iflash_region_base(), 60 * 1024);
    assert_int_equal(hal_iflash_region_size(), 4096);
}

static void test_spi_cost_and_jedec_id(void **state)
{
    (void)state;
    uint8_t tx[4] = { 0x9F }, rx[4] = { 0 };
    hal_spi_select();
    assert_int_equal(hal_spi_xfer(tx, rx, 4), 0);
    hal_spi_deselect();
    assert_int_equal(fake.consumed, PORT_HOST_SPI_CALL_NS + 4 * PORT_HOST_SPI_BYTE_NS);
    assert_int_equal(rx[1], 0xEF);
    assert_int_equal(rx[2], 0x40);
    assert_int_equal(rx[3], 0x17);
    /* One consume per byte: an interrupt can fall between bytes. */
    assert_int_equal(fake.consume_calls, 5);
}

static void test_iflash_program_and_erase(void **state)
{
    (void)state;
    const uint32_t base = hal_iflash_region_base();
    const uint8_t data[4] = { 0x12, 0x34, 0x56, 0x78 };
    assert_int_equal(hal_iflash_program(base + 8, data, 4), 0);
    assert_int_equal(fake.consumed, 2 * f1m_program_ns(iflash));
    assert_true(f1m_locked(iflash));
    uint8_t back[6];
    hal_iflash_read(base + 6, back, 6);
    const uint8_t want[6] = { 0xFF, 0xFF, 0x12, 0x34, 0x56, 0x78 };
    assert_memory_equal(back, want, 6);

    /* Bits only clear by erasing: PGERR, reported as FB_EFLASH, cell unchanged. */
    const uint8_t other[2] = { 0x00, 0x11 };
    assert_int_equal(hal_iflash_program(base + 8, other, 2), FB_EFLASH);
    hal_iflash_read(base + 8, back, 2);
    assert_int_equal(back[0], 0x12);
    assert_true(f1m_locked(iflash));

    fake.consumed = 0;
    assert_int_equal(hal_iflash_erase_page(base + 100), 0);
    assert_int_equal(fake.consumed, f1m_erase_ns(iflash));
    hal_iflash_read(base + 8, back, 4);
    const uint8_t erased[4] = { 0xFF, 0xFF, 0xFF, 0xFF };
    assert_memory_equal(back, erased, 4);
    assert_true(f1m_locked(iflash));
}

static void test_millis_and_idle(void **state)
{
    (void)state;
    port_host_reset(5000000); /* booted at 5 ms of board time */
    fake.now = 5000000 + 2500000;
    assert_int_equal(hal_millis(), 2);
    hal_idle();
    assert_int_equal(fake.slept_to, 5000000 + 3000000);
    hal_idle();
    assert_int_equal(fake.slept_to, 5000000 + 4000000);
    hal_watchdog_kick();
    assert_int_equal(fake.kicks, 1);
}

static void test_irq_mask_nests(void **state)
{
    (void)state;
    assert_false(port_host_irq_masked());
    uint32_t outer = hal_irq_save();
    uint32_t inner = hal_irq_save();
    hal_irq_restore(inner);
    assert_true(port_host_irq_masked());
    hal_irq_restore(outer);
    assert_false(port_host_irq_masked());
}

static void test_power_death_halts(void **state)
{
    (void)state;
    powercut_init(&pc, 1, 7); /* the next program/erase step dies */
    const uint8_t data[2] = { 0, 0 };
    if (setjmp(fake.halted) == 0) {
        (void)hal_iflash_program(hal_iflash_region_base(), data, 2);
        fail_msg("the port went on after power died");
    }
    assert_true(pc.dead);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_region, setup, teardown),
        cmocka_unit_test_setup_teardown(test_spi_cost_and_jedec_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_iflash_program_and_erase, setup, teardown),
        cmocka_unit_test_setup_teardown(test_millis_and_idle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_irq_mask_nests, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_death_halts, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
