/* Data flashbridge did not write (docs/STORAGE.md, "Chips we did not format" and
 * "STeaMi"): a W25Q64 in the v1 layout is imported without a byte of it changing,
 * anything else unrecognised is left alone (FOREIGN) until the host clears it, and a
 * board's factory config page is read as the zone and never written. Driven through
 * the interrupt entry points on the device models (mock_hal.c), like test_core. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "datafile.h"
#include "flashbridge/protocol.h"
#include "mock_hal.h"

#define V1_NAME_ADDR 0x7FF000u
#define V1_OLD_CONFIG 0x7FE000u
#define V1_SIZE 5000u
#define FACTORY 0xE000u /* a page below the mock's config region (60 KiB) */

static uint8_t v1_data[V1_SIZE];

static uint8_t v1_byte(uint32_t i)
{
    uint8_t b = (uint8_t)(i * 37u + (i >> 8));
    return b == 0xFF ? 0x20 : b; /* v1's file ends at the first 0xFF */
}

static uint32_t file_size(void)
{
    uint8_t b[4];
    mock_read_reg(FB_CMD_FILE_SIZE, b, 4);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void write_data(const uint8_t *d, uint8_t n)
{
    uint8_t f[32] = {FB_CMD_WRITE_DATA, n};
    memcpy(&f[2], d, n);
    mock_write(f, sizeof f);
    mock_run_idle();
}

static void command(uint8_t cmd)
{
    mock_write(&cmd, 1);
    mock_run_idle();
}

static void assert_file(const uint8_t *want, uint32_t n)
{
    assert_int_equal(file_size(), n);
    uint8_t out[256];
    for (uint32_t off = 0; off < n; off += 256) {
        mock_read_sector((uint16_t)(off / 256u), out);
        assert_memory_equal(out, &want[off], n - off < 256 ? n - off : 256);
    }
}

/* New models that the core has not booted on yet (mock_setup's boot formats a blank
 * chip); the test programs them, then mock_reboot(). */
static void unbooted_chip(void)
{
    mock_teardown();
    mock_w25 = w25m_create(NULL, W25M_TIMING_TYPICAL, NULL);
    mock_f1 = f1m_create(NULL, 65536u, F1M_TIMING_TYPICAL, NULL);
    assert_non_null(mock_w25);
    assert_non_null(mock_f1);
}

/* A chip as the v1 firmware leaves it: file bytes from 0, the name at 0x7FF000. */
static void make_v1_chip(const char *name)
{
    unbooted_chip();
    for (uint32_t i = 0; i < V1_SIZE; i++)
        v1_data[i] = v1_byte(i);
    mock_flash_program(0, v1_data, V1_SIZE);
    if (name)
        mock_flash_program(V1_NAME_ADDR, (const uint8_t *)name, FB_FILENAME_LEN);
}

static void v1_chip_comes_up_as_the_file_and_appends_after_it(void **state)
{
    (void)state;
    make_v1_chip("LEGACY  CSV");
    mock_reboot();
    mock_run_background();
    assert_false(df_foreign());
    uint8_t name[FB_FILENAME_LEN];
    mock_read_reg(FB_CMD_GET_FILENAME, name, sizeof name);
    assert_memory_equal(name, "LEGACY  CSV", FB_FILENAME_LEN);
    assert_file(v1_data, V1_SIZE);
    /* The file's bytes were neither moved nor rewritten. */
    assert_memory_equal(w25m_array(mock_w25), v1_data, V1_SIZE);

    static uint8_t want[V1_SIZE + 30];
    memcpy(want, v1_data, V1_SIZE);
    for (unsigned i = 0; i < 30; i++)
        want[V1_SIZE + i] = (uint8_t)(0xF0u + i % 16u);
    write_data(&want[V1_SIZE], 30);
    assert_int_equal(mock_error(), 0);
    assert_file(want, V1_SIZE + 30);
    assert_memory_equal(w25m_array(mock_w25), want, V1_SIZE + 30);

    /* The size is stored now: a reboot does not scan again (and a 0xFF appended would
     * not end the file). */
    mock_reboot();
    mock_run_background();
    assert_file(want, V1_SIZE + 30);
}

static void v1_chip_without_a_name_gets_the_default_name(void **state)
{
    (void)state;
    make_v1_chip(NULL);
    mock_reboot();
    mock_run_background();
    uint8_t name[FB_FILENAME_LEN];
    mock_read_reg(FB_CMD_GET_FILENAME, name, sizeof name);
    assert_memory_equal(name, FB_DEFAULT_FILENAME, FB_FILENAME_LEN);
    assert_file(v1_data, V1_SIZE);
}

/* v1's old config sector holds data: importing would erase it, so the whole chip is
 * left alone, appends and renames refused with FILE_FULL, until CLEAR_FLASH. */
static void foreign_chip_is_kept_until_the_host_clears_it(void **state)
{
    (void)state;
    make_v1_chip("LEGACY  CSV");
    mock_flash_program(V1_OLD_CONFIG, (const uint8_t *)"{\"old\":1}", 9);
    mock_reboot();
    mock_snapshot();
    mock_run_background();
    assert_true(df_foreign());
    assert_int_equal(file_size(), 0);

    uint8_t d[4] = {1, 2, 3, 4};
    write_data(d, sizeof d);
    assert_int_equal(mock_error(), FB_ERR_FILE_FULL | FB_ERR_FAILED);
    uint8_t ren[12] = {FB_CMD_SET_FILENAME, 'N', 'E', 'W', ' ', ' ', ' ', ' ', ' ', 'C', 'S', 'V'};
    mock_write(ren, sizeof ren);
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_FILE_FULL | FB_ERR_FAILED);
    mock_reboot();
    mock_run_background();
    assert_true(df_foreign());
    mock_assert_flash_unchanged();

    /* The host's explicit clear: all of it is ours now, and erased. */
    command(FB_CMD_CLEAR_FLASH);
    assert_int_equal(mock_error(), 0);
    assert_false(df_foreign());
    mock_run_background();
    const uint8_t *chip = w25m_array(mock_w25);
    for (uint32_t i = 0; i < V1_SIZE; i++)
        assert_int_equal(chip[i], 0xFF);
    write_data(d, sizeof d);
    assert_int_equal(mock_error(), 0);
    assert_file(d, sizeof d);
    mock_reboot();
    mock_run_background();
    assert_false(df_foreign());
    assert_file(d, sizeof d);
}

static void unknown_metadata_is_foreign(void **state)
{
    (void)state;
    static const uint8_t junk[] = "not a flashbridge log, not a v1 name sector";
    unbooted_chip();
    mock_flash_program(V1_NAME_ADDR + 0x100u, junk, sizeof junk);
    mock_reboot();
    mock_snapshot();
    mock_run_background();
    assert_true(df_foreign());
    mock_assert_flash_unchanged();
}

/* Metadata sectors blank and the blocks' first bytes blank: taken for a blank chip. The
 * eraser still checks every page before it erases: data it finds there is not ours. */
static void data_the_mount_did_not_see_is_not_erased(void **state)
{
    (void)state;
    static const uint8_t d[] = "someone else's bytes in the middle of a block";
    unbooted_chip();
    mock_flash_program(0x12345u, d, sizeof d);
    mock_reboot();
    assert_false(df_foreign());
    mock_run_background();
    assert_true(df_foreign());
    assert_memory_equal(w25m_array(mock_w25) + 0x12345u, d, sizeof d);
    mock_reboot();
    mock_run_background();
    assert_memory_equal(w25m_array(mock_w25) + 0x12345u, d, sizeof d);
}

static void blank_chip_is_not_foreign(void **state)
{
    (void)state;
    unbooted_chip();
    mock_reboot();
    mock_run_background();
    assert_false(df_foreign());
    uint8_t d[3] = {7, 8, 9};
    write_data(d, sizeof d);
    assert_int_equal(mock_error(), 0);
    assert_file(d, sizeof d);
}

/* ---- the STeaMi's factory config page ---- */

static const char factory_json[] = "{\"name\":\"STeaMi\",\"rev\":3,\"tmp\":{\"hts\":0.5}}";

static void boot_with_factory_page(void)
{
    uint8_t *img = malloc(f1m_size(mock_f1));
    assert_non_null(img);
    memcpy(img, f1m_array(mock_f1), f1m_size(mock_f1));
    memcpy(img + FACTORY, factory_json, sizeof factory_json - 1u);
    f1m_load(mock_f1, img);
    free(img);
    mock_iflash_factory = FACTORY;
    mock_reboot();
}

static void read_zone(uint8_t out[FB_CONFIG_SIZE])
{
    for (uint16_t off = 0; off < FB_CONFIG_SIZE; off = (uint16_t)(off + 256u)) {
        uint8_t f[3] = {FB_CMD_READ_CONFIG, (uint8_t)(off >> 8), (uint8_t)off};
        mock_write(f, sizeof f);
        mock_run_idle();
        mock_plain_read(&out[off], 256);
    }
}

static void factory_page_is_the_zone_and_is_never_written(void **state)
{
    (void)state;
    boot_with_factory_page();
    uint8_t page[1024], zone[FB_CONFIG_SIZE];
    memcpy(page, f1m_array(mock_f1) + FACTORY, sizeof page);
    read_zone(zone);
    assert_memory_equal(zone, page, FB_CONFIG_SIZE);

    /* A write: the zone is the factory content with the change; the page as it was. */
    uint8_t f[32] = {FB_CMD_WRITE_CONFIG, 0, 9, 6, '"', 'T', 'E', 'S', 'T', '"'};
    mock_write(f, sizeof f);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    uint8_t want[FB_CONFIG_SIZE];
    memcpy(want, page, sizeof want);
    memcpy(&want[9], "\"TEST\"", 6);
    read_zone(zone);
    assert_memory_equal(zone, want, sizeof want);
    mock_reboot();
    read_zone(zone);
    assert_memory_equal(zone, want, sizeof want);

    /* CLEAR_CONFIG empties the zone, not the factory page. */
    command(FB_CMD_CLEAR_CONFIG);
    read_zone(zone);
    memset(want, 0xFF, sizeof want);
    assert_memory_equal(zone, want, sizeof want);
    mock_reboot();
    read_zone(zone);
    assert_memory_equal(zone, want, sizeof want);
    assert_memory_equal(f1m_array(mock_f1) + FACTORY, page, sizeof page);
    assert_int_equal(f1m_erase_count(mock_f1, FACTORY / F1M_PAGE), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(v1_chip_comes_up_as_the_file_and_appends_after_it, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(v1_chip_without_a_name_gets_the_default_name, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(foreign_chip_is_kept_until_the_host_clears_it, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(unknown_metadata_is_foreign, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(data_the_mount_did_not_see_is_not_erased, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(blank_chip_is_not_foreign, mock_setup, mock_cleanup),
        cmocka_unit_test_setup_teardown(factory_page_is_the_zone_and_is_never_written, mock_setup, mock_cleanup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
