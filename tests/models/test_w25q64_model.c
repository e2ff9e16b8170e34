/*
 * W25Q64JV model against the datasheet rules (Winbond W25Q64JV rev. I): each test names
 * the rule it holds the model to.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tmpdir.h"
#include "w25_spi.h"
#include "w25q64_model.h"

#define T0 1000u /* virtual time of the first instruction of a test */

#define KIB 1024u

/* Datasheet figures, written out here so that a change in the model shows up. */
#define US 1000ull
#define MS 1000000ull
#define S  1000000000ull

enum {
    WRSR1 = 0x01, PP = 0x02, READ = 0x03, WRDI = 0x04, RDSR1 = 0x05, WREN = 0x06,
    FREAD = 0x0B, WRSR3 = 0x11, RDSR3 = 0x15, SE = 0x20, WRSR2 = 0x31, RDSR2 = 0x35,
    BE32 = 0x52, CE60 = 0x60, RSTEN = 0x66, RST = 0x99, JEDEC = 0x9F, RDID = 0xAB,
    PD = 0xB9, CEC7 = 0xC7, BE64 = 0xD8, SUS = 0x75, RES = 0x7A,
};
#define SR2_SUS 0x80u
#define TSUS (20 * US)

static int setup(void **state)
{
    *state = w25m_create(NULL, W25M_TIMING_TYPICAL, NULL);
    return *state != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    w25m_destroy(*state);
    return 0;
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

/* Program one byte to 0x00 and wait for the end of the program. */
static uint64_t zero_byte(w25m_t *m, uint64_t now, uint32_t addr)
{
    uint8_t z = 0x00;
    spi_wren_program(m, now, addr, &z, 1);
    return w25m_busy_until(m);
}

/* ---- identification ---- */

static void test_jedec_id(void **state)
{
    w25m_t *m = *state;
    uint8_t tx[7] = {JEDEC}, rx[7];
    spi_cmd(m, T0, tx, rx, sizeof tx);
    uint8_t want[6] = {0xEF, 0x40, 0x17, 0xEF, 0x40, 0x17}; /* repeats: documented */
    assert_memory_equal(rx + 1, want, sizeof want);
}

static void test_device_id_after_three_dummies(void **state)
{
    w25m_t *m = *state;
    uint8_t tx[6] = {RDID}, rx[6];
    spi_cmd(m, T0, tx, rx, sizeof tx);
    assert_int_equal(rx[1], 0xFF);
    assert_int_equal(rx[3], 0xFF);
    assert_int_equal(rx[4], 0x16);
    assert_int_equal(rx[5], 0x16);
}

/* ---- status registers and write enable ---- */

static void test_status_register_defaults(void **state)
{
    w25m_t *m = *state;
    assert_int_equal(spi_status(m, T0, RDSR1), 0x00);
    assert_int_equal(spi_status(m, T0, RDSR2), 0x00);
    assert_int_equal(spi_status(m, T0, RDSR3), 0x60);
}

static void test_wren_sets_and_wrdi_clears_wel(void **state)
{
    w25m_t *m = *state;
    spi_op(m, T0, WREN);
    assert_int_equal(spi_status(m, T0, RDSR1), 0x02);
    spi_op(m, T0, WRDI);
    assert_int_equal(spi_status(m, T0, RDSR1), 0x00);
}

static void test_wren_with_extra_byte_not_executed(void **state)
{
    w25m_t *m = *state;
    uint8_t tx[2] = {WREN, 0x00};
    spi_cmd(m, T0, tx, NULL, sizeof tx);
    assert_int_equal(spi_status(m, T0, RDSR1), 0x00);
}

/* "Read Status Register": the status byte is sent again for every further byte, BUSY live. */
static void test_status_repeats_with_live_busy(void **state)
{
    w25m_t *m = *state;
    uint8_t z = 0x00;
    spi_wren_program(m, T0, 0, &z, 1);
    uint64_t end = w25m_busy_until(m);

    w25m_select(m, true, T0);
    w25m_xfer(m, RDSR1, T0);
    assert_int_equal(w25m_xfer(m, 0, T0), 0x03);      /* BUSY | WEL */
    assert_int_equal(w25m_xfer(m, 0, end - 1), 0x03); /* still busy */
    assert_int_equal(w25m_xfer(m, 0, end), 0x00);     /* done: WEL cleared too */
    w25m_select(m, false, end);
}

/* ---- page program ---- */

static void test_program_without_wel_is_ignored(void **state)
{
    w25m_t *m = *state;
    uint8_t z = 0x00;
    spi_addr_cmd(m, T0, PP, 0x100, &z, NULL, 1);
    assert_int_equal(w25m_array(m)[0x100], 0xFF);
    assert_false(w25m_busy(m, T0));
    assert_int_equal(w25m_total_programs(m), 0);
    assert_int_equal(w25m_violations(m), 1);
}

static void test_program_only_clears_bits(void **state)
{
    w25m_t *m = *state;
    uint8_t a = 0xF0, b = 0x0F, ff = 0xFF;
    uint64_t t = T0;
    spi_wren_program(m, t, 0x200, &a, 1);
    t = w25m_busy_until(m);
    spi_wren_program(m, t, 0x200, &b, 1);
    t = w25m_busy_until(m);
    assert_int_equal(spi_read_byte(m, t, 0x200), 0x00);
    spi_wren_program(m, t, 0x200, &ff, 1); /* 0xFF cannot bring bits back */
    t = w25m_busy_until(m);
    assert_int_equal(spi_read_byte(m, t, 0x200), 0x00);
    assert_int_equal(w25m_violations(m), 0);
}

static void test_program_touches_only_bytes_sent(void **state)
{
    w25m_t *m = *state;
    uint8_t d[3] = {0x11, 0x22, 0x33};
    spi_wren_program(m, T0, 0x1005, d, sizeof d);
    const uint8_t *a = w25m_array(m);
    assert_memory_equal(a + 0x1005, d, sizeof d);
    assert_true(all_bytes(a + 0x1000, 5, 0xFF));
    assert_true(all_bytes(a + 0x1008, W25M_PAGE - 8, 0xFF));
    assert_int_equal(w25m_total_programs(m), 1);
}

/* "Page Program (02h)": bytes past the end of the page wrap to its start. */
static void test_program_wraps_within_page(void **state)
{
    w25m_t *m = *state;
    uint8_t d[32];
    for (unsigned i = 0; i < sizeof d; i++)
        d[i] = (uint8_t)i;
    spi_wren_program(m, T0, 0x10F0, d, sizeof d);
    const uint8_t *a = w25m_array(m);
    assert_memory_equal(a + 0x10F0, d, 16);
    assert_memory_equal(a + 0x1000, d + 16, 16);
    assert_int_equal(a[0x1100], 0xFF); /* the next page is untouched */
    assert_int_equal(a[0x1010], 0xFF);
    assert_int_equal(w25m_violations(m), 1);
}

/* More than 256 bytes: the last 256 are the ones programmed. */
static void test_program_more_than_a_page_keeps_last_256(void **state)
{
    w25m_t *m = *state;
    uint8_t d[300];
    for (unsigned i = 0; i < sizeof d; i++)
        d[i] = (uint8_t)(i < 256 ? 0x00 : 0xA0 + i - 256);
    spi_wren_program(m, T0, 0x2000, d, sizeof d);
    const uint8_t *a = w25m_array(m);
    assert_memory_equal(a + 0x2000, d + 256, 44);
    assert_true(all_bytes(a + 0x2000 + 44, W25M_PAGE - 44, 0x00));
    assert_int_equal(w25m_violations(m), 1);
}

static void test_program_without_data_not_executed(void **state)
{
    w25m_t *m = *state;
    spi_op(m, T0, WREN);
    spi_addr_cmd(m, T0, PP, 0x3000, NULL, NULL, 0);
    assert_false(w25m_busy(m, T0));
    assert_int_equal(w25m_total_programs(m), 0);
    assert_int_equal(spi_status(m, T0, RDSR1), 0x02); /* WEL still set */
}

/* ---- reads ---- */

static void test_read_is_continuous_and_wraps_at_end(void **state)
{
    w25m_t *m = *state;
    uint8_t hi[2] = {0x12, 0x34}, lo[2] = {0x56, 0x78}, got[4];
    spi_wren_program(m, T0, W25M_SIZE - 2, hi, 2);
    uint64_t t = w25m_busy_until(m);
    spi_wren_program(m, t, 0, lo, 2);
    t = w25m_busy_until(m);
    spi_read(m, t, W25M_SIZE - 2, got, sizeof got);
    uint8_t want[4] = {0x12, 0x34, 0x56, 0x78};
    assert_memory_equal(got, want, sizeof want);
}

/* 0Bh: address, one dummy byte, then data. */
static void test_fast_read_has_one_dummy_byte(void **state)
{
    w25m_t *m = *state;
    uint8_t d[2] = {0xA1, 0xB2}, got[3];
    spi_wren_program(m, T0, 0x4000, d, 2);
    uint64_t t = w25m_busy_until(m);
    spi_addr_cmd(m, t, FREAD, 0x4000, NULL, got, sizeof got);
    assert_int_equal(got[0], 0xFF); /* dummy */
    assert_int_equal(got[1], 0xA1);
    assert_int_equal(got[2], 0xB2);
}

/* ---- erase extents ---- */

struct extent_case {
    uint8_t opcode;
    uint32_t base, size;
};

static void check_erase_extent(w25m_t *m, const struct extent_case *c)
{
    uint64_t t = T0;
    uint32_t marks[4] = {c->base - 1, c->base, c->base + c->size - 1, c->base + c->size};
    for (unsigned i = 0; i < 4; i++)
        t = zero_byte(m, t, marks[i]);
    spi_wren_erase(m, t, c->opcode, c->base);
    const uint8_t *a = w25m_array(m);
    assert_int_equal(a[marks[0]], 0x00);
    assert_true(all_bytes(a + c->base, c->size, 0xFF));
    assert_int_equal(a[marks[3]], 0x00);
    assert_int_equal(w25m_violations(m), 0);
}

static void test_sector_erase_extent(void **state)
{
    const struct extent_case c = {SE, 0x3000, 4 * KIB};
    check_erase_extent(*state, &c);
}

static void test_block32_erase_extent(void **state)
{
    const struct extent_case c = {BE32, 0x18000, 32 * KIB};
    check_erase_extent(*state, &c);
}

static void test_block64_erase_extent(void **state)
{
    const struct extent_case c = {BE64, 0x30000, 64 * KIB};
    check_erase_extent(*state, &c);
}

static void check_chip_erase(w25m_t *m, uint8_t opcode)
{
    uint64_t t = zero_byte(m, T0, 0);
    t = zero_byte(m, t, W25M_SIZE / 2);
    t = zero_byte(m, t, W25M_SIZE - 1);
    spi_op(m, t, WREN);
    spi_op(m, t, opcode);
    assert_true(w25m_busy(m, t));
    assert_true(all_bytes(w25m_array(m), W25M_SIZE, 0xFF));
}

static void test_chip_erase_c7(void **state)
{
    check_chip_erase(*state, CEC7);
}

static void test_chip_erase_60(void **state)
{
    check_chip_erase(*state, CE60);
}

static void test_erase_with_extra_byte_not_executed(void **state)
{
    w25m_t *m = *state;
    uint64_t t = zero_byte(m, T0, 0x5000);
    uint8_t tx[5] = {SE, 0x00, 0x50, 0x00, 0x00};
    spi_op(m, t, WREN);
    spi_cmd(m, t, tx, NULL, sizeof tx);
    assert_false(w25m_busy(m, t));
    assert_int_equal(w25m_array(m)[0x5000], 0x00);
}

/* ---- busy durations (datasheet AC characteristics) ---- */

struct timing_case {
    uint8_t opcode; /* 0 = page program */
    uint64_t typical, maximum;
};

static const struct timing_case timing_cases[] = {
    {PP, 400 * US, 3 * MS},         /* tPP */
    {SE, 45 * MS, 400 * MS},        /* tSE */
    {BE32, 120 * MS, 1600 * MS},    /* tBE1 */
    {BE64, 150 * MS, 2000 * MS},    /* tBE2 */
    {CEC7, 20 * S, 100 * S},        /* tCE */
    {WRSR1, 10 * MS, 15 * MS},      /* tW (no typical in the datasheet) */
};

static void start_timed(w25m_t *m, uint8_t opcode, uint64_t t)
{
    uint8_t z = 0x00, sr = 0x00;
    switch (opcode) {
    case PP:
        spi_wren_program(m, t, 0, &z, 1);
        break;
    case CEC7:
        spi_op(m, t, WREN);
        spi_op(m, t, CEC7);
        break;
    case WRSR1:
        spi_op(m, t, WREN);
        spi_cmd(m, t, (uint8_t[]){WRSR1, sr}, NULL, 2);
        break;
    default:
        spi_wren_erase(m, t, opcode, 0);
        break;
    }
}

static void check_durations(w25m_timing_t timing)
{
    for (size_t i = 0; i < sizeof timing_cases / sizeof timing_cases[0]; i++) {
        const struct timing_case *c = &timing_cases[i];
        uint64_t d = timing == W25M_TIMING_MAX ? c->maximum : c->typical;
        w25m_t *m = w25m_create(NULL, timing, NULL);
        assert_non_null(m);
        start_timed(m, c->opcode, T0);
        assert_int_equal(w25m_busy_until(m), T0 + d);
        assert_true(w25m_busy(m, T0 + d - 1));
        assert_int_equal(spi_status(m, T0 + d - 1, RDSR1) & 0x03, 0x03);
        assert_false(w25m_busy(m, T0 + d));
        assert_int_equal(spi_status(m, T0 + d, RDSR1) & 0x03, 0x00);
        w25m_destroy(m);
    }
}

static void test_busy_durations_typical(void **state)
{
    (void)state;
    check_durations(W25M_TIMING_TYPICAL);
}

static void test_busy_durations_max(void **state)
{
    (void)state;
    check_durations(W25M_TIMING_MAX);
}

static void test_times_table(void **state)
{
    (void)state;
    w25m_times_t t = w25m_times(W25M_TIMING_TYPICAL);
    assert_int_equal(t.page_program, 400 * US);
    assert_int_equal(t.chip_erase, 20 * S);
    t = w25m_times(W25M_TIMING_MAX);
    assert_int_equal(t.sector_erase, 400 * MS);
    assert_int_equal(t.write_status, 15 * MS);
}

/* ---- while BUSY only 05h/35h/15h ---- */

static void test_commands_ignored_while_busy(void **state)
{
    w25m_t *m = *state;
    uint64_t t = zero_byte(m, T0, 0x100);
    uint8_t z = 0x00;
    spi_wren_program(m, t, 0x8000, &z, 1);
    uint64_t end = w25m_busy_until(m);
    uint64_t mid = t + 1;

    spi_op(m, mid, WREN);
    assert_int_equal(spi_read_byte(m, mid, 0x100), 0xFF); /* really 0x00 */
    uint8_t tx[4] = {JEDEC}, rx[4];
    spi_cmd(m, mid, tx, rx, sizeof tx);
    assert_true(all_bytes(rx, sizeof rx, 0xFF));
    spi_addr_cmd(m, mid, SE, 0x8000, NULL, NULL, 0);
    assert_int_equal(w25m_violations(m), 4);

    assert_int_equal(spi_status(m, mid, RDSR1), 0x03); /* status reads still work */
    assert_int_equal(spi_status(m, mid, RDSR3), 0x60);
    assert_int_equal(w25m_busy_until(m), end);          /* the erase did not start */
    assert_int_equal(spi_status(m, end, RDSR1), 0x00);  /* the WREN was not taken */
    assert_int_equal(spi_read_byte(m, end, 0x100), 0x00);
    assert_int_equal(w25m_violations(m), 4);
}

/* ---- erase alignment, counters ---- */

static void test_unaligned_erase_is_counted_and_erases_container(void **state)
{
    w25m_t *m = *state;
    uint64_t t = zero_byte(m, T0, 0x1000);
    t = zero_byte(m, t, 0x1FFF);
    t = zero_byte(m, t, 0x8000);
    spi_wren_erase(m, t, SE, 0x1010);
    assert_int_equal(w25m_violations(m), 1);
    assert_int_equal(w25m_array(m)[0x1000], 0xFF);
    assert_int_equal(w25m_array(m)[0x1FFF], 0xFF);
    t = w25m_busy_until(m);
    spi_wren_erase(m, t, BE32, 0x9000);
    assert_int_equal(w25m_violations(m), 2);
    assert_int_equal(w25m_array(m)[0x8000], 0xFF);
    assert_int_equal(w25m_erase_count(m, 8), 1);
}

static void test_erase_counters(void **state)
{
    w25m_t *m = *state;
    uint64_t t = T0;
    spi_wren_erase(m, t, SE, 0x1000);
    t = w25m_busy_until(m);
    spi_wren_erase(m, t, SE, 0x1000);
    t = w25m_busy_until(m);
    spi_wren_erase(m, t, BE32, 0x8000); /* sectors 8..15 */
    t = w25m_busy_until(m);
    spi_wren_erase(m, t, BE64, 0x10000); /* sectors 16..31 */
    t = w25m_busy_until(m);
    t = zero_byte(m, t, 0);
    t = zero_byte(m, t, 1);
    assert_int_equal(w25m_erase_count(m, 0), 0);
    assert_int_equal(w25m_erase_count(m, 1), 2);
    assert_int_equal(w25m_erase_count(m, 7), 0);
    assert_int_equal(w25m_erase_count(m, 8), 1);
    assert_int_equal(w25m_erase_count(m, 15), 1);
    assert_int_equal(w25m_erase_count(m, 16), 1);
    assert_int_equal(w25m_erase_count(m, 31), 1);
    assert_int_equal(w25m_erase_count(m, 32), 0);
    spi_op(m, t, WREN);
    spi_op(m, t, CEC7);
    assert_int_equal(w25m_erase_count(m, 0), 1);
    assert_int_equal(w25m_erase_count(m, 1), 3);
    assert_int_equal(w25m_erase_count(m, W25M_SECTORS - 1), 1);
    assert_int_equal(w25m_total_erases(m), 5);
    assert_int_equal(w25m_total_programs(m), 2);
}

/* ---- power-down, reset, unknown instructions ---- */

static void test_power_down_accepts_only_release(void **state)
{
    w25m_t *m = *state;
    uint8_t tx[4] = {JEDEC}, rx[4];
    spi_op(m, T0, PD);
    spi_cmd(m, T0, tx, rx, sizeof tx);
    assert_true(all_bytes(rx, sizeof rx, 0xFF));
    spi_op(m, T0, WREN);
    spi_op(m, T0, RDID); /* release: tRES1 = 3 us before the next instruction */
    uint64_t t = T0;
    spi_cmd(m, t + 3 * US - 1, tx, rx, sizeof tx);
    assert_int_equal(rx[1], 0xFF);
    spi_cmd(m, t + 3 * US, tx, rx, sizeof tx);
    assert_int_equal(rx[1], 0xEF);
    assert_int_equal(spi_status(m, t + 3 * US, RDSR1), 0x00); /* WREN was ignored */
    assert_int_equal(w25m_violations(m), 0);
}

static void test_reset_needs_enable_first(void **state)
{
    w25m_t *m = *state;
    spi_op(m, T0, WREN);
    spi_op(m, T0, RST); /* without 66h: nothing */
    assert_int_equal(spi_status(m, T0, RDSR1), 0x02);
    spi_op(m, T0, RSTEN);
    spi_op(m, T0, RDSR1); /* anything between 66h and 99h cancels the enable */
    spi_op(m, T0, RST);
    assert_int_equal(spi_status(m, T0, RDSR1), 0x02);
    spi_op(m, T0, RSTEN);
    spi_op(m, T0, RST);
    assert_true(w25m_busy(m, T0 + 30 * US - 1)); /* tRST */
    assert_false(w25m_busy(m, T0 + 30 * US));
    assert_int_equal(spi_status(m, T0 + 30 * US, RDSR1), 0x00);
}

static void test_reset_during_erase_leaves_sector_undefined(void **state)
{
    w25m_t *m = *state;
    uint8_t page[W25M_PAGE];
    uint64_t t = T0;
    memset(page, 0x00, sizeof page);
    for (uint32_t p = 0; p < W25M_SECTOR; p += W25M_PAGE) {
        spi_wren_program(m, t, 0x6000 + p, page, sizeof page);
        t = w25m_busy_until(m);
    }
    spi_wren_erase(m, t, SE, 0x6000);
    uint64_t mid = t + 10 * MS;
    spi_op(m, mid, RSTEN);
    spi_op(m, mid, RST);
    assert_int_equal(w25m_violations(m), 2); /* both sent while busy */
    assert_int_equal(w25m_busy_until(m), mid + 30 * US);
    assert_false(all_bytes(w25m_array(m) + 0x6000, W25M_SECTOR, 0xFF));
    assert_false(all_bytes(w25m_array(m) + 0x6000, W25M_SECTOR, 0x00));
}

static void test_unknown_instruction_ignored(void **state)
{
    w25m_t *m = *state;
    uint8_t tx[4] = {0x4B, 0, 0, 0}, rx[4]; /* Read Unique ID: not modelled */
    spi_op(m, T0, WREN);
    spi_cmd(m, T0, tx, rx, sizeof tx);
    assert_true(all_bytes(rx, sizeof rx, 0xFF));
    assert_int_equal(spi_status(m, T0, RDSR1), 0x02);
    assert_int_equal(w25m_xfer(m, JEDEC, T0), 0xFF); /* not selected */
}

/* ---- write status, block protection ---- */

static void test_write_status_needs_wel(void **state)
{
    w25m_t *m = *state;
    spi_cmd(m, T0, (uint8_t[]){WRSR1, 0x04}, NULL, 2);
    assert_int_equal(spi_status(m, T0, RDSR1), 0x00);
    assert_int_equal(w25m_violations(m), 1);
}

static void test_block_protect_top_128k(void **state)
{
    w25m_t *m = *state;
    uint8_t z = 0x00;
    spi_op(m, T0, WREN);
    spi_cmd(m, T0, (uint8_t[]){WRSR1, 0x04}, NULL, 2); /* BP0: upper 1/64 */
    uint64_t t = w25m_busy_until(m);
    assert_int_equal(spi_status(m, t, RDSR1), 0x04);

    spi_wren_program(m, t, 0x7E0000, &z, 1);
    assert_int_equal(w25m_array(m)[0x7E0000], 0xFF);
    spi_op(m, t, CEC7); /* WEL is still set: a chip erase is refused too */
    assert_false(w25m_busy(m, t));
    assert_int_equal(w25m_violations(m), 2);

    t = zero_byte(m, t, 0x7DFFFF);
    assert_int_equal(w25m_array(m)[0x7DFFFF], 0x00);

    /* CMP=1: the complement is protected. */
    spi_op(m, t, WREN);
    spi_cmd(m, t, (uint8_t[]){WRSR2, 0x40}, NULL, 2);
    t = w25m_busy_until(m);
    assert_int_equal(spi_status(m, t, RDSR2), 0x40);
    spi_wren_program(m, t, 0x7E0000, &z, 1);
    assert_int_equal(w25m_array(m)[0x7E0000], 0x00);
    t = w25m_busy_until(m);
    spi_wren_program(m, t, 0x000000, &z, 1);
    assert_int_equal(w25m_array(m)[0], 0xFF);
    assert_int_equal(w25m_violations(m), 3);
}

static void test_status_lock_until_power_cycle(void **state)
{
    w25m_t *m = *state;
    spi_op(m, T0, WREN);
    spi_cmd(m, T0, (uint8_t[]){WRSR2, 0x01}, NULL, 2); /* SRL */
    uint64_t t = w25m_busy_until(m);
    spi_op(m, t, WREN);
    spi_cmd(m, t, (uint8_t[]){WRSR1, 0x1C}, NULL, 2);
    assert_false(w25m_busy(m, t));
    assert_int_equal(spi_status(m, t, RDSR1), 0x02);
    w25m_power_off(m, t);
    w25m_power_on(m);
    assert_int_equal(spi_status(m, t, RDSR2), 0x00);
}

/* ---- image file ---- */

static void test_image_persists_and_sync_writes_file(void **state)
{
    (void)state;
    tmpdir_t d = {0};
    assert_int_equal(tmpdir_create(&d), 0);
    char path[128];
    snprintf(path, sizeof path, "%s", tmpdir_path(&d, "w25.img"));

    w25m_t *m = w25m_create(path, W25M_TIMING_TYPICAL, NULL);
    assert_non_null(m);
    assert_int_equal(file_size(path), W25M_SIZE);
    uint8_t data[4] = {0xDE, 0xAD, 0xBE, 0xEF}, got[4];
    spi_wren_program(m, T0, 0x123456, data, sizeof data);
    assert_int_equal(w25m_sync(m), 0);
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, got, sizeof got, 0x123456), sizeof got);
    close(fd);
    assert_memory_equal(got, data, sizeof data);
    w25m_destroy(m);

    m = w25m_create(path, W25M_TIMING_TYPICAL, NULL);
    assert_non_null(m);
    assert_memory_equal(w25m_array(m) + 0x123456, data, sizeof data);
    assert_int_equal(w25m_array(m)[0], 0xFF);
    w25m_destroy(m);
    tmpdir_remove(&d);
}

static void test_wrong_size_image_rejected(void **state)
{
    (void)state;
    tmpdir_t d = {0};
    assert_int_equal(tmpdir_create(&d), 0);
    char path[128];
    snprintf(path, sizeof path, "%s", tmpdir_path(&d, "short.img"));
    assert_int_equal(file_fill(path, W25M_SIZE - 1, 0xFF), 0);
    errno = 0;
    assert_null(w25m_create(path, W25M_TIMING_TYPICAL, NULL));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(file_size(path), W25M_SIZE - 1); /* left alone */
    assert_int_equal(file_fill(path, 0, 0xFF), 0);
    assert_null(w25m_create(path, W25M_TIMING_TYPICAL, NULL));
    assert_int_equal(errno, EINVAL);
    tmpdir_remove(&d);
}

/* ---- power cuts ---- */

static void test_each_started_operation_is_one_step(void **state)
{
    (void)state;
    powercut_t pc;
    powercut_init(&pc, 0, 1);
    w25m_t *m = w25m_create(NULL, W25M_TIMING_TYPICAL, &pc);
    assert_non_null(m);
    uint8_t z = 0x00;
    spi_addr_cmd(m, T0, PP, 0, &z, NULL, 1); /* refused: no WEL, no step */
    uint64_t t = zero_byte(m, T0, 0);
    spi_wren_erase(m, t, SE, 0);
    t = w25m_busy_until(m);
    spi_op(m, t, WREN);
    spi_cmd(m, t, (uint8_t[]){WRSR3, 0x60}, NULL, 2);
    assert_int_equal(pc.steps, 3);
    assert_false(pc.dead);
    w25m_destroy(m);
}

/* Bytes in programming order from first: a done prefix, at most one byte part-way,
 * the rest untouched. Returns the length of the done prefix. */
static size_t check_program_prefix(const uint8_t *got, const uint8_t *old,
                                   const uint8_t *target, size_t len, size_t first)
{
    size_t k = 0;
    while (k < len && got[(first + k) % len] == target[(first + k) % len])
        k++;
    size_t done = k;
    if (k < len) {
        size_t i = (first + k) % len;
        assert_int_equal(got[i] & old[i], got[i]);          /* only cleared bits */
        assert_int_equal(got[i] & target[i], target[i]);    /* not past the target */
        k++;
    }
    for (; k < len; k++)
        assert_int_equal(got[(first + k) % len], old[(first + k) % len]);
    return done;
}

static void test_cut_during_program_leaves_prefix_and_dead_bus(void **state)
{
    (void)state;
    uint8_t old[W25M_PAGE], target[W25M_PAGE], data[W25M_PAGE];
    unsigned partial = 0;
    for (uint32_t seed = 1; seed <= 20; seed++) {
        powercut_t pc;
        powercut_init(&pc, 2, seed);
        w25m_t *m = w25m_create(NULL, W25M_TIMING_TYPICAL, &pc);
        assert_non_null(m);
        uint64_t t = zero_byte(m, T0, 0x10000); /* step 1 */
        for (unsigned i = 0; i < W25M_PAGE; i++)
            data[i] = (uint8_t)(0x0F ^ i);
        memcpy(old, w25m_array(m) + 0x20000, W25M_PAGE);
        for (unsigned i = 0; i < W25M_PAGE; i++)
            target[i] = old[i] & data[i];
        spi_wren_program(m, t, 0x20000, data, W25M_PAGE); /* step 2: power dies */
        assert_true(pc.dead);
        size_t done = check_program_prefix(w25m_array(m) + 0x20000, old, target,
                                           W25M_PAGE, 0);
        partial += done > 0 && done < W25M_PAGE;

        uint8_t tx[4] = {JEDEC}, rx[4];
        spi_cmd(m, t, tx, rx, sizeof tx);
        assert_true(all_bytes(rx, sizeof rx, 0xFF));
        assert_false(w25m_busy(m, t));
        spi_wren_program(m, t, 0x30000, data, 1);
        assert_int_equal(w25m_array(m)[0x30000], 0xFF);
        assert_int_equal(pc.steps, 2);

        powercut_restore(&pc);
        w25m_power_on(m);
        spi_cmd(m, t, tx, rx, sizeof tx);
        assert_int_equal(rx[1], 0xEF);
        assert_int_equal(spi_status(m, t, RDSR1), 0x00);
        t = zero_byte(m, t, 0x30000);
        assert_int_equal(w25m_array(m)[0x30000], 0x00);
        assert_int_equal(pc.steps, 3);
        w25m_destroy(m);
    }
    assert_true(partial > 10); /* most seeds stop part-way, not at an end */
}

/* A cut page program that wrapped: the prefix starts at the first column sent. */
static void test_cut_program_prefix_starts_at_column(void **state)
{
    (void)state;
    powercut_t pc;
    powercut_init(&pc, 1, 7);
    w25m_t *m = w25m_create(NULL, W25M_TIMING_TYPICAL, &pc);
    assert_non_null(m);
    uint8_t old[W25M_PAGE], target[W25M_PAGE], data[W25M_PAGE];
    memset(data, 0x00, sizeof data);
    memset(old, 0xFF, sizeof old);
    memset(target, 0x00, sizeof target);
    spi_wren_program(m, T0, 0x40080, data, W25M_PAGE);
    check_program_prefix(w25m_array(m) + 0x40000, old, target, W25M_PAGE, 0x80);
    w25m_destroy(m);
}

static void test_cut_during_erase_leaves_block_undefined(void **state)
{
    (void)state;
    uint8_t page[W25M_PAGE];
    memset(page, 0x5A, sizeof page);
    for (uint32_t seed = 1; seed <= 10; seed++) {
        powercut_t pc;
        /* steps: 16 page programs, one byte outside, then the erase */
        powercut_init(&pc, W25M_SECTOR / W25M_PAGE + 2, seed);
        w25m_t *m = w25m_create(NULL, W25M_TIMING_TYPICAL, &pc);
        assert_non_null(m);
        uint64_t t = T0;
        for (uint32_t p = 0; p < W25M_SECTOR; p += W25M_PAGE) {
            spi_wren_program(m, t, 0x7000 + p, page, sizeof page);
            t = w25m_busy_until(m);
        }
        t = zero_byte(m, t, 0x8000); /* neighbour outside the sector */
        spi_wren_erase(m, t, SE, 0x7000);
        assert_true(pc.dead);
        const uint8_t *a = w25m_array(m) + 0x7000;
        unsigned erased_chunks = 0, old_chunks = 0;
        for (uint32_t i = 0; i < W25M_SECTOR; i++)
            assert_int_equal(a[i] & 0x5A, 0x5A); /* only bits towards erased */
        for (uint32_t c = 0; c < W25M_SECTOR; c += 16) {
            erased_chunks += all_bytes(a + c, 16, 0xFF);
            old_chunks += all_bytes(a + c, 16, 0x5A);
        }
        /* some 16-byte chunks erased, some untouched, the others part-way */
        assert_true(erased_chunks > 0);
        assert_true(old_chunks > 0);
        assert_true(erased_chunks + old_chunks < W25M_SECTOR / 16);
        assert_int_equal(w25m_array(m)[0x8000], 0x00);
        assert_int_equal(w25m_erase_count(m, 7), 1);
        assert_int_equal(spi_read_byte(m, t, 0x8000), 0xFF); /* dead bus */
        w25m_destroy(m);
    }
}

static void test_power_off_during_program_and_power_on(void **state)
{
    w25m_t *m = *state;
    uint8_t old[W25M_PAGE], data[W25M_PAGE];
    memset(old, 0xFF, sizeof old);
    memset(data, 0x00, sizeof data);
    spi_wren_program(m, T0, 0x50000, data, sizeof data);
    w25m_power_off(m, T0 + 1);
    size_t done = check_program_prefix(w25m_array(m) + 0x50000, old, data, W25M_PAGE, 0);
    assert_true(done < W25M_PAGE); /* what the model's fixed seed leaves */
    assert_int_equal(spi_status(m, T0 + 1, RDSR1), 0xFF); /* unpowered: bus floats */
    w25m_power_on(m);
    spi_op(m, T0 + 2, WREN); /* WEL does not survive a power cycle */
    w25m_power_off(m, T0 + 2);
    w25m_power_on(m);
    assert_int_equal(spi_status(m, T0 + 2, RDSR1), 0x00);
    /* a half-sent instruction, then power-on forgets it */
    w25m_select(m, true, T0 + 2);
    w25m_xfer(m, WREN, T0 + 2);
    w25m_power_off(m, T0 + 2);
    w25m_power_on(m);
    assert_false(w25m_busy(m, T0 + 2));
    assert_int_equal(spi_status(m, T0 + 2, RDSR1), 0x00);
}

/* ---- erase/program suspend (75h) and resume (7Ah) ---- */

/* Fill a 4 KiB sector at addr with v (page programs, waiting for each). */
static uint64_t fill_sector(w25m_t *m, uint64_t t, uint32_t addr, uint8_t v)
{
    uint8_t page[W25M_PAGE];
    memset(page, v, sizeof page);
    for (uint32_t p = 0; p < W25M_SECTOR; p += W25M_PAGE) {
        spi_wren_program(m, t, addr + p, page, sizeof page);
        t = w25m_busy_until(m);
    }
    return t;
}

/* "Erase / Program Suspend (75h)": BUSY clears within tSUS, SUS reads 1 at once; the
 * erase then needs what it still needed after a resume, plus the tSUS in which a resumed
 * operation makes no progress. */
static void test_suspend_erase_busy_clears_within_tsus(void **state)
{
    w25m_t *m = *state;
    uint64_t t = fill_sector(m, T0, 0x10000, 0x00);
    spi_wren_erase(m, t, SE, 0x10000);
    uint64_t t_susp = t + 10 * MS;
    spi_op(m, t_susp, SUS);
    assert_int_equal(spi_status(m, t_susp, RDSR2) & SR2_SUS, SR2_SUS);
    assert_int_equal(spi_status(m, t_susp + TSUS - 1, RDSR1) & 0x01, 0x01);
    assert_int_equal(spi_status(m, t_susp + TSUS, RDSR1) & 0x01, 0x00);
    /* suspended: reads elsewhere are served, the erase does not progress */
    uint64_t t_res = t_susp + 500 * MS;
    assert_int_equal(spi_read_byte(m, t_res - 1, 0x20000), 0xFF);
    spi_op(m, t_res, RES);
    assert_int_equal(spi_status(m, t_res, RDSR2) & SR2_SUS, 0);
    /* 45 ms in all: 10 ms done before the suspend, 35 ms left, from tSUS after resume */
    assert_int_equal(w25m_busy_until(m), t_res + TSUS + 35 * MS);
    assert_true(w25m_busy(m, t_res + TSUS + 35 * MS - 1));
    assert_false(w25m_busy(m, t_res + TSUS + 35 * MS));
    uint8_t back[W25M_SECTOR];
    spi_read(m, t_res + TSUS + 35 * MS, 0x10000, back, sizeof back);
    assert_true(all_bytes(back, sizeof back, 0xFF));
    assert_int_equal(w25m_violations(m), 0);
}

/* Suspend is ignored when nothing runs, during a chip erase or a status write, and when
 * something is already suspended ("will be ignored by the device"). */
static void test_suspend_ignored_when_not_allowed(void **state)
{
    w25m_t *m = *state;
    spi_op(m, T0, SUS); /* idle */
    assert_int_equal(spi_status(m, T0, RDSR2) & SR2_SUS, 0);
    spi_op(m, T0, WREN);
    spi_op(m, T0, CEC7);
    spi_op(m, T0 + MS, SUS);
    assert_int_equal(spi_status(m, T0 + MS, RDSR2) & SR2_SUS, 0);
    assert_true(w25m_busy(m, T0 + MS + TSUS));
    uint64_t t = w25m_busy_until(m);
    uint8_t sr[2] = {WRSR1, 0x00};
    spi_op(m, t, WREN);
    spi_cmd(m, t, sr, NULL, sizeof sr);
    spi_op(m, t + MS, SUS);
    assert_int_equal(spi_status(m, t + MS, RDSR2) & SR2_SUS, 0);
    assert_true(w25m_busy(m, t + MS + TSUS));
    t = w25m_busy_until(m);
    spi_wren_erase(m, t, BE64, 0x30000);
    spi_op(m, t + MS, SUS);
    spi_op(m, t + MS + TSUS, SUS); /* SUS = 1: ignored */
    assert_false(w25m_busy(m, t + MS + TSUS));
    assert_int_equal(w25m_violations(m), 0);
}

/* While an erase is suspended: no erase, no status write (refused, counted); page
 * programs outside the suspended block are done, inside it refused. */
static void test_erase_suspended_forbids_erase_status_and_own_block(void **state)
{
    w25m_t *m = *state;
    uint64_t t = fill_sector(m, T0, 0x40000, 0x00);
    t = fill_sector(m, t, 0x50000, 0x00);
    spi_wren_erase(m, t, BE32, 0x40000);
    t += MS;
    spi_op(m, t, SUS);
    t += TSUS;
    spi_wren_erase(m, t, SE, 0x50000);
    assert_false(w25m_busy(m, t));
    assert_int_equal(spi_read_byte(m, t, 0x50000), 0x00);
    uint8_t sr[2] = {WRSR1, 0x1C};
    spi_op(m, t, WREN);
    spi_cmd(m, t, sr, NULL, sizeof sr);
    assert_int_equal(spi_status(m, t, RDSR1) & 0x1C, 0);
    assert_int_equal(w25m_violations(m), 2);
    uint8_t z = 0x00;
    spi_wren_program(m, t, 0x47000, &z, 1); /* inside the suspended 32 KiB block */
    assert_false(w25m_busy(m, t));
    assert_int_equal(w25m_violations(m), 3);
    spi_wren_program(m, t, 0x60000, &z, 1); /* another sector: allowed */
    assert_true(w25m_busy(m, t));
    t = w25m_busy_until(m);
    assert_int_equal(spi_read_byte(m, t, 0x60000), 0x00);
    spi_op(m, t, RES);
    t = w25m_busy_until(m);
    uint8_t back[W25M_SECTOR];
    spi_read(m, t, 0x40000, back, sizeof back);
    assert_true(all_bytes(back, sizeof back, 0xFF));
    assert_int_equal(w25m_violations(m), 3);
}

/* While a program is suspended: no program, no status write. */
static void test_program_suspended_forbids_program(void **state)
{
    w25m_t *m = *state;
    uint8_t z[W25M_PAGE];
    memset(z, 0x00, sizeof z);
    spi_wren_program(m, T0, 0x1000, z, sizeof z);
    spi_op(m, T0 + 100 * US, SUS);
    uint64_t t = T0 + 100 * US + TSUS;
    assert_int_equal(spi_status(m, t, RDSR2) & SR2_SUS, SR2_SUS);
    spi_wren_program(m, t, 0x9000, z, 1);
    assert_false(w25m_busy(m, t));
    assert_int_equal(spi_read_byte(m, t, 0x9000), 0xFF);
    assert_int_equal(w25m_violations(m), 1);
    spi_op(m, t, RES);
    t = w25m_busy_until(m);
    assert_int_equal(t, T0 + 100 * US + TSUS + TSUS + 300 * US);
    uint8_t back[W25M_PAGE];
    spi_read(m, t, 0x1000, back, sizeof back);
    assert_true(all_bytes(back, sizeof back, 0x00));
}

/* Resume is ignored unless SUS = 1 and BUSY = 0; a suspend within tSUS of a resume
 * breaks the datasheet's rule: counted and ignored; suspending again after tSUS works,
 * and each cycle costs the erase tSUS. */
static void test_resume_rules_and_suspend_too_soon(void **state)
{
    w25m_t *m = *state;
    spi_op(m, T0, RES); /* nothing suspended */
    assert_false(w25m_busy(m, T0));
    assert_int_equal(w25m_violations(m), 0);
    spi_wren_erase(m, T0, SE, 0x2000);
    uint64_t end = w25m_busy_until(m);
    uint64_t t = T0 + MS;
    spi_op(m, t, SUS);
    spi_op(m, t + TSUS / 2, RES); /* still BUSY: refused */
    assert_int_equal(w25m_violations(m), 1);
    assert_int_equal(spi_status(m, t + TSUS, RDSR2) & SR2_SUS, SR2_SUS);
    t += TSUS;
    spi_op(m, t, RES);
    spi_op(m, t + TSUS - 1, SUS); /* too soon */
    assert_int_equal(w25m_violations(m), 2);
    assert_int_equal(spi_status(m, t + TSUS - 1, RDSR2) & SR2_SUS, 0);
    /* suspended then resumed at once, again and again: no progress at all */
    uint64_t last = w25m_busy_until(m);
    for (int i = 0; i < 100; i++) {
        t += TSUS;
        spi_op(m, t, SUS);
        t += TSUS;
        spi_op(m, t, RES);
    }
    assert_true(w25m_busy_until(m) >= last + 200 * TSUS);
    assert_true(w25m_busy_until(m) > end);
    assert_int_equal(w25m_violations(m), 2);
}

/* Reads of the suspended block are undefined: the model returns a partial state. */
static void test_suspended_block_reads_partial(void **state)
{
    w25m_t *m = *state;
    uint64_t t = fill_sector(m, T0, 0x3000, 0x00);
    spi_wren_erase(m, t, SE, 0x3000);
    spi_op(m, t + MS, SUS);
    uint8_t back[W25M_SECTOR];
    spi_read(m, t + MS + TSUS, 0x3000, back, sizeof back);
    assert_false(all_bytes(back, sizeof back, 0xFF));
    assert_false(all_bytes(back, sizeof back, 0x00));
}

/* "a power cut while suspended resets the device: SUS reads 0 at power-up, the suspend
 * is forgotten and the block may hold partly erased data"; resume is then ignored. */
static void test_power_cut_while_suspended(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 5; seed++) {
        powercut_t pc;
        /* steps: 16 programs, the erase, then the suspend: power dies while suspended */
        powercut_init(&pc, W25M_SECTOR / W25M_PAGE + 2, seed);
        w25m_t *m = w25m_create(NULL, W25M_TIMING_TYPICAL, &pc);
        assert_non_null(m);
        uint64_t t = fill_sector(m, T0, 0x7000, 0x5A);
        spi_wren_erase(m, t, SE, 0x7000);
        assert_false(pc.dead);
        spi_op(m, t + MS, SUS);
        assert_true(pc.dead);
        powercut_restore(&pc);
        w25m_power_on(m);
        t += 2 * MS;
        assert_int_equal(spi_status(m, t, RDSR2) & SR2_SUS, 0);
        assert_int_equal(spi_status(m, t, RDSR1) & 0x01, 0);
        spi_op(m, t, RES);
        assert_false(w25m_busy(m, t));
        const uint8_t *a = w25m_array(m) + 0x7000;
        assert_false(all_bytes(a, W25M_SECTOR, 0xFF));
        assert_false(all_bytes(a, W25M_SECTOR, 0x5A));
        for (uint32_t i = 0; i < W25M_SECTOR; i++)
            assert_int_equal(a[i] & 0x5A, 0x5A);
        w25m_destroy(m);
    }
}

/* A board power cycle (no controller) while suspended does the same. */
static void test_power_off_while_suspended(void **state)
{
    w25m_t *m = *state;
    uint64_t t = fill_sector(m, T0, 0x7000, 0x00);
    spi_wren_erase(m, t, SE, 0x7000);
    spi_op(m, t + MS, SUS);
    w25m_power_off(m, t + 2 * MS);
    w25m_power_on(m);
    assert_int_equal(spi_status(m, t + 2 * MS, RDSR2) & SR2_SUS, 0);
    assert_false(all_bytes(w25m_array(m) + 0x7000, W25M_SECTOR, 0xFF));
    /* the block can be erased again */
    spi_wren_erase(m, t + 2 * MS, SE, 0x7000);
    assert_true(all_bytes(w25m_array(m) + 0x7000, W25M_SECTOR, 0xFF));
    assert_int_equal(w25m_violations(m), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_suspend_erase_busy_clears_within_tsus, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspend_ignored_when_not_allowed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_suspended_forbids_erase_status_and_own_block,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_suspended_forbids_program, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resume_rules_and_suspend_too_soon, setup, teardown),
        cmocka_unit_test_setup_teardown(test_suspended_block_reads_partial, setup, teardown),
        cmocka_unit_test(test_power_cut_while_suspended),
        cmocka_unit_test_setup_teardown(test_power_off_while_suspended, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jedec_id, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_id_after_three_dummies, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_register_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wren_sets_and_wrdi_clears_wel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wren_with_extra_byte_not_executed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_status_repeats_with_live_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_without_wel_is_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_only_clears_bits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_touches_only_bytes_sent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_program_wraps_within_page, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_more_than_a_page_keeps_last_256, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_program_without_data_not_executed, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_read_is_continuous_and_wraps_at_end, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_fast_read_has_one_dummy_byte, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sector_erase_extent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block32_erase_extent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block64_erase_extent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chip_erase_c7, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chip_erase_60, setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_with_extra_byte_not_executed, setup,
                                        teardown),
        cmocka_unit_test(test_busy_durations_typical),
        cmocka_unit_test(test_busy_durations_max),
        cmocka_unit_test(test_times_table),
        cmocka_unit_test_setup_teardown(test_commands_ignored_while_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unaligned_erase_is_counted_and_erases_container,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_erase_counters, setup, teardown),
        cmocka_unit_test_setup_teardown(test_power_down_accepts_only_release, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_needs_enable_first, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reset_during_erase_leaves_sector_undefined, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_unknown_instruction_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_status_needs_wel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_block_protect_top_128k, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_lock_until_power_cycle, setup, teardown),
        cmocka_unit_test(test_image_persists_and_sync_writes_file),
        cmocka_unit_test(test_wrong_size_image_rejected),
        cmocka_unit_test(test_each_started_operation_is_one_step),
        cmocka_unit_test(test_cut_during_program_leaves_prefix_and_dead_bus),
        cmocka_unit_test(test_cut_program_prefix_starts_at_column),
        cmocka_unit_test(test_cut_during_erase_leaves_block_undefined),
        cmocka_unit_test_setup_teardown(test_power_off_during_program_and_power_on, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
