/*
 * The emulator's models where the shipped firmware never goes by itself, provoked from
 * outside on the running firmware:
 *   - a late I2C handler (the main loop holding PRIMASK) makes the target stretch SCL
 *     and the bus wait; with NOSTRETCH set it overruns instead and the bytes are lost;
 *   - a main loop that stops refreshing the IWDG in time ends in a watchdog reset, and
 *     the firmware boots again;
 *   - a firmware run on the wrong board's pins fails loudly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "emu_harness.h"
#include "flashbridge/protocol.h"

#define US 1000ull
#define MS 1000000ull
#define I2C2_CR1 0x40005800u
#define CR1_PE_ACK 0x0401u
#define CR1_NOSTRETCH 0x0080u
#define IWDG_KR 0x40003000u
#define IWDG_PR 0x40003004u
#define IWDG_RLR 0x40003008u

static uint32_t file_size(void)
{
    uint8_t b[4] = {0};
    assert_true(h_reg(FB_CMD_FILE_SIZE, b, 4));
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* A WRITE_DATA frame whose bytes arrive while interrupts are masked for masked_ns. */
static board_xfer_status_t frame_with_masked_handler(uint64_t masked_ns)
{
    static uint8_t f[32] = {FB_CMD_WRITE_DATA, 30};
    for (unsigned i = 0; i < 30; i++)
        f[2 + i] = (uint8_t)(0x30 + i);
    emu_i2c_begin(FB_I2C_ADDR, f, sizeof f, NULL, 0, EMU_HOLD_NONE);
    board_wait(100 * US); /* address and a few bytes with the handler running */
    emu_set_primask(true);
    board_wait(masked_ns);
    emu_set_primask(false);
    size_t acked = 0;
    return emu_i2c_finish(&acked);
}

/* A Blue Pill past its boot-time background work, the data file formatted. */
static int setup(void **state)
{
    (void)state;
    h_open(&emu_targets[0], 400000, NULL);
    uint8_t d[30] = {0};
    if (!h_write_data(d, 30) || !h_wait_idle(100 * US, 500 * MS))
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    h_close();
    return 0;
}

static void late_handler_stretches_the_clock(void **state)
{
    (void)state;
    uint32_t before = file_size();
    emu_stats_reset();
    assert_int_equal(frame_with_masked_handler(200 * US), BOARD_ACK);
    assert_true(h_wait_idle(100 * US, 500 * MS));
    const emu_stats_t *s = emu_stats();
    printf("PRIMASK held 200 us during a frame: %llu late byte event(s), SCL held %.1f us "
           "in all (worst %.1f us), OVR %llu\n",
           (unsigned long long)s->i2c_stretch_data, (double)s->i2c_stretch_ns / 1e3,
           (double)s->i2c_stretch_max_ns / 1e3, (unsigned long long)s->i2c_ovr);
    assert_true(s->i2c_stretch_data >= 1);
    assert_true(s->i2c_stretch_max_ns > 150 * US); /* the bus waited for the handler */
    assert_int_equal(s->i2c_ovr, 0);
    assert_int_equal(s->i2c_rx_lost, 0);
    assert_int_equal(file_size(), before + 30); /* nothing lost */
}

static void late_handler_without_stretching_overruns(void **state)
{
    (void)state;
    uint32_t before = file_size();
    assert_true(emu_poke32(I2C2_CR1, CR1_PE_ACK | CR1_NOSTRETCH));
    emu_stats_reset();
    assert_int_equal(frame_with_masked_handler(200 * US), BOARD_ACK);
    assert_true(emu_poke32(I2C2_CR1, CR1_PE_ACK));
    assert_true(h_wait_idle(100 * US, 500 * MS));
    const emu_stats_t *s = emu_stats();
    printf("same with NOSTRETCH: OVR %llu, %llu received byte(s) lost, SCL held %.1f us\n",
           (unsigned long long)s->i2c_ovr, (unsigned long long)s->i2c_rx_lost,
           (double)s->i2c_stretch_ns / 1e3);
    assert_true(s->i2c_ovr >= 1);
    assert_true(s->i2c_rx_lost >= 1);
    assert_int_equal(s->i2c_stretch_data, 0);
    /* The firmware sees OVR and drops the damaged frame: nothing is appended. */
    assert_int_equal(file_size(), before);
}

static void watchdog_expiry_resets_and_the_firmware_boots_again(void **state)
{
    (void)state;
    assert_int_equal(board_watchdog_resets(), 0);
    /* ~0.8 ms timeout (RLR 7, /4 at 40 kHz): the main loop sleeps up to 1 ms in WFI
     * between SysTick interrupts, so it cannot refresh it in time. */
    assert_true(emu_poke32(IWDG_KR, 0x5555));
    assert_true(emu_poke32(IWDG_PR, 0));
    assert_true(emu_poke32(IWDG_RLR, 7));
    board_wait(1 * MS); /* PVU/RVU: the new values apply at the next refresh */
    board_wait(20 * MS);
    assert_int_equal(board_watchdog_resets(), 1);
    board_wait(50 * MS); /* boot again; its own IWDG set-up is back to ~1 s */
    uint8_t id = 0;
    assert_true(h_reg(FB_CMD_WHO_AM_I, &id, 1));
    assert_int_equal(id, FB_WHO_AM_I_VALUE);
    board_wait(1500 * MS);
    assert_int_equal(board_watchdog_resets(), 1);
    assert_int_equal(emu_stats()->faults, 0);
}

/* Each firmware on the other board: the images are placed for their own part (the Blue
 * Pill's at 0x08000000, the STeaMi's after DAPLink's bootloader at 0x0800C000), so the
 * emulator refuses to load either on the wrong board, as a programmer would refuse
 * it or, on the STeaMi, the bootloader would not start it. */
static void wrong_board_fails_loudly(void **state)
{
    (void)state;
    for (int i = 0; i < 2; i++) {
        emu_options_t o = {.elf_path = emu_targets[i].elf, .board = emu_targets[1 - i].board};
        board_config_t cfg = {.bus_hz = 400000};
        assert_int_equal(emu_configure(&o), 0);
        assert_int_not_equal(board_open(&cfg), 0);
        printf("%s firmware on the %s board: refused\n", emu_targets[i].board,
               emu_targets[1 - i].board);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(late_handler_stretches_the_clock, setup, teardown),
        cmocka_unit_test_setup_teardown(late_handler_without_stretching_overruns, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(watchdog_expiry_resets_and_the_firmware_boots_again,
                                        setup, teardown),
        cmocka_unit_test_teardown(wrong_board_fails_loudly, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
