/*
 * The v1 MicroPython driver's timing, transfer for transfer, while the firmware is busy
 * with background work: fixed sleeps of 100 ms after READ_CONFIG, 200 ms after
 * READ_SECTOR, 50 ms after each WRITE_CONFIG and 100 ms after CLEAR_CONFIG, STATUS polled
 * every 5 ms before each command, and SteamiConfig's boot counter (load the JSON, add
 * one, save = clear then write). Run during the background erase of a cleared file
 * (1 MiB, 256 KiB at maximum timing, 64 KiB on the emulated firmware) and across config
 * journal compactions, at typical and maximum flash timing. The config never comes back
 * empty or changed, a sector never comes back wrong.
 *
 * The same binary runs against flashbridge-emu (the firmware ELF) when FB_SIM_CMD names
 * its wrapper (tests/e2e/CMakeLists.txt). ERROR attribution is not asserted here.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flashbridge.h"
#include "flashbridge/protocol.h"
#include "sim_proc.h"

#define MS 1000u /* transport sleeps are in microseconds */
/* The cleared file, so that several boot-counter rounds fall in its erase: 1 MiB (16
 * blocks of 64 KiB, 2.4 s) at typical timing, 256 KiB (8 s) at maximum; one block on the
 * emulated firmware, which runs much slower than the core on the host. */
#define BIG_FILE_TYP (1024u * 1024u)
#define BIG_FILE_MAX (256u * 1024u)
#define BIG_FILE_EMU (64u * 1024u)
#define SMALL_FILE 600u

typedef struct ctx {
    sim_proc_t sim;
    fb_transport_t *t;
    fb_client_t c;
    bool ext_status; /* ERASING is in EXT_STATUS (protocol 2.0), else in STATUS */
    uint8_t small[SMALL_FILE];
    unsigned erasing_seen;
    unsigned boot_count;
    bool running;
} ctx_t;

static int xfer(ctx_t *x, const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    return x->t->ops->xfer(x->t, FB_I2C_ADDR, w, wlen, r, rlen);
}

static void sleep_ms(ctx_t *x, unsigned ms)
{
    assert_int_equal(x->t->ops->sleep_us(x->t, (uint64_t)ms * MS), 0);
}

static uint8_t reg(ctx_t *x, uint8_t r)
{
    uint8_t v = 0;
    assert_int_equal(xfer(x, &r, 1, &v, 1), 0);
    return v;
}

/* _wait_busy(): STATUS every 5 ms until BUSY clears (30 s). Notes background erasing. */
static void wait_busy(ctx_t *x)
{
    for (unsigned i = 0; i < 6000; i++) {
        uint8_t st = reg(x, FB_CMD_STATUS);
        uint8_t er = x->ext_status ? reg(x, FB_CMD_EXT_STATUS) : st;
        if (er & FB_STATUS_ERASING)
            x->erasing_seen++;
        if (!(st & FB_STATUS_BUSY))
            return;
        sleep_ms(x, 5);
    }
    fail_msg("target stayed busy for 30 s");
}

static bool erasing(ctx_t *x)
{
    return reg(x, x->ext_status ? FB_CMD_EXT_STATUS : FB_CMD_STATUS) & FB_STATUS_ERASING;
}

/* read_config(): 256 bytes at a time (100 ms after each request), up to the first 0xFF. */
static size_t v1_read_config(ctx_t *x, uint8_t out[FB_CONFIG_SIZE])
{
    size_t n = 0;
    for (uint16_t off = 0; off + FB_RESPONSE_LEN <= FB_CONFIG_SIZE; off += FB_RESPONSE_LEN) {
        uint8_t f[3] = {FB_CMD_READ_CONFIG, (uint8_t)(off >> 8), (uint8_t)off};
        wait_busy(x);
        assert_int_equal(xfer(x, f, sizeof f, NULL, 0), 0);
        sleep_ms(x, 100);
        assert_int_equal(xfer(x, NULL, 0, &out[off], FB_RESPONSE_LEN), 0);
        for (unsigned i = 0; i < FB_RESPONSE_LEN; i++, n++)
            if (out[off + i] == 0xFF)
                return n;
    }
    return n;
}

/* save(): clear_config (100 ms), then write_config in 28-byte frames (50 ms each). */
static void v1_save_config(ctx_t *x, const char *json)
{
    size_t len = strlen(json);
    uint8_t clear = FB_CMD_CLEAR_CONFIG;
    wait_busy(x);
    assert_int_equal(xfer(x, &clear, 1, NULL, 0), 0);
    sleep_ms(x, 100);
    for (size_t pos = 0; pos < len; pos += FB_WRITE_CONFIG_MAX) {
        size_t n = len - pos < FB_WRITE_CONFIG_MAX ? len - pos : FB_WRITE_CONFIG_MAX;
        uint8_t f[FB_FRAME_MAX] = {FB_CMD_WRITE_CONFIG, (uint8_t)(pos >> 8), (uint8_t)pos,
                                   (uint8_t)n};
        memcpy(&f[4], json + pos, n);
        wait_busy(x);
        assert_int_equal(xfer(x, f, sizeof f, NULL, 0), 0);
        sleep_ms(x, 50);
    }
    wait_busy(x);
    (void)reg(x, FB_CMD_ERROR); /* as the driver does; its value is v1compat's to check */
}

/* read_sector(n): request, 200 ms, plain read of 256 bytes. */
static void v1_read_sector(ctx_t *x, uint16_t idx, uint8_t out[FB_RESPONSE_LEN])
{
    uint8_t f[3] = {FB_CMD_READ_SECTOR, (uint8_t)(idx >> 8), (uint8_t)idx};
    wait_busy(x);
    assert_int_equal(xfer(x, f, sizeof f, NULL, 0), 0);
    sleep_ms(x, 200);
    assert_int_equal(xfer(x, NULL, 0, out, FB_RESPONSE_LEN), 0);
}

/* write(): 30-byte WRITE_DATA frames, busy-wait before each, ERROR at the end. */
static void v1_write(ctx_t *x, const uint8_t *p, size_t len)
{
    for (size_t pos = 0; pos < len; pos += FB_WRITE_DATA_MAX) {
        size_t n = len - pos < FB_WRITE_DATA_MAX ? len - pos : FB_WRITE_DATA_MAX;
        uint8_t f[FB_FRAME_MAX] = {FB_CMD_WRITE_DATA, (uint8_t)n};
        memcpy(&f[2], p + pos, n);
        wait_busy(x);
        assert_int_equal(xfer(x, f, sizeof f, NULL, 0), 0);
    }
    wait_busy(x);
    (void)reg(x, FB_CMD_ERROR);
}

static void board_json(char *out, size_t n, unsigned bc)
{
    snprintf(out, n,
             "{\"rev\":3,\"name\":\"STeaMi-0042\",\"tc\":{\"hts221\":[1.02,-0.41]},"
             "\"mc\":[12,-40,7,1.0,0.98,1.01],\"ac\":[0.01,-0.02,0.03],\"bc\":%u}",
             bc);
}

/* SteamiConfig: load(), increment_boot_count(), save(); the loaded JSON must be exactly
 * the one saved last (never empty, never partial). */
static void boot_counter(ctx_t *x)
{
    uint8_t raw[FB_CONFIG_SIZE];
    char want[256];
    board_json(want, sizeof want, x->boot_count);
    size_t n = v1_read_config(x, raw);
    if (n != strlen(want) || memcmp(raw, want, n) != 0) {
        raw[n < sizeof raw ? n : sizeof raw - 1] = 0;
        fail_msg("config came back as \"%s\" (%zu bytes), saved \"%s\"", (char *)raw, n,
                 want);
    }
    x->boot_count++;
    board_json(want, sizeof want, x->boot_count);
    v1_save_config(x, want);
}

static void check_sector(ctx_t *x, uint16_t idx)
{
    uint8_t s[FB_RESPONSE_LEN];
    v1_read_sector(x, idx, s);
    for (unsigned i = 0; i < FB_RESPONSE_LEN; i++) {
        uint32_t a = (uint32_t)idx * FB_RESPONSE_LEN + i;
        uint8_t want = a < SMALL_FILE ? x->small[a] : 0xFF;
        if (s[i] != want)
            fail_msg("read_sector(%u) byte %u: 0x%02x, stored 0x%02x", idx, i, s[i], want);
    }
}

static void start(ctx_t *x, const char *timing)
{
    const char *extra[] = {"--timing", timing, "--bus-khz", "400", NULL};
    assert_int_equal(sim_dir_init(&x->sim), 0);
    assert_int_equal(sim_start(&x->sim, extra), 0);
    x->running = true;
    x->t = fb_transport_sim_open(x->sim.sock);
    assert_non_null(x->t);
    fb_client_init(&x->c, x->t, FB_I2C_ADDR);
    fb_caps_t caps;
    assert_int_equal(fb_caps(&x->c, &caps), 0);
    x->ext_status = caps.version >= 2;
    for (unsigned i = 0; i < SMALL_FILE; i++)
        x->small[i] = (uint8_t)(i * 7u + 3u);
    char json[256];
    x->boot_count = 41;
    board_json(json, sizeof json, x->boot_count);
    v1_save_config(x, json);
}

static int setup(void **state)
{
    *state = calloc(1, sizeof(ctx_t));
    return *state ? 0 : -1;
}

/* Also after a failed assertion: the board never outlives its test. */
static int teardown(void **state)
{
    ctx_t *x = *state;
    int rc = 0;
    if (x->running) {
        fb_transport_close(x->t);
        rc = sim_stop(&x->sim);
        sim_dir_remove(&x->sim);
    }
    free(x);
    return rc == 0 ? 0 : -1;
}

/* Append a big file (streaming client, fast), CLEAR_FLASH, then the v1 patterns until
 * the background erase has ended. */
static void during_background_erase(ctx_t *x, const char *timing)
{
    start(x, timing);
    /* A new chip is blank-checked in the background first: let that end, so that the
     * erasing seen below is the erase of the cleared file. */
    for (unsigned i = 0; i < 600 && erasing(x); i++)
        sleep_ms(x, 100);
    assert_false(erasing(x));
    const char *other = getenv("FB_SIM_CMD");
    uint32_t big_len = other && *other       ? BIG_FILE_EMU
                       : strcmp(timing, "max") ? BIG_FILE_TYP
                                               : BIG_FILE_MAX;
    uint8_t *big = malloc(big_len);
    assert_non_null(big);
    for (uint32_t i = 0; i < big_len; i++)
        big[i] = (uint8_t)(i ^ (i >> 8));
    assert_int_equal(fb_file_append(&x->c, big, big_len), 0);
    free(big);
    uint8_t clear = FB_CMD_CLEAR_FLASH;
    wait_busy(x);
    assert_int_equal(xfer(x, &clear, 1, NULL, 0), 0);
    wait_busy(x);
    x->erasing_seen = 0;
    v1_write(x, x->small, SMALL_FILE);
    unsigned rounds = 0, rounds_erasing = 0;
    do {
        bool was = erasing(x);
        boot_counter(x);
        check_sector(x, (uint16_t)(rounds % 3u));
        rounds++;
        rounds_erasing += was;
    } while (erasing(x) && rounds < 200);
    print_message("%s timing: %u boot-counter rounds, %u of them begun during the "
                  "background erase\n", timing, rounds, rounds_erasing);
    /* The rounds must really have met the eraser, or this test proves nothing. */
    assert_true(rounds_erasing >= 1);
    assert_false(erasing(x));
    boot_counter(x);
    check_sector(x, 0);
    check_sector(x, 2);
}

/* The boot counter 10 times: each save is a clear and 4 records, the journal compacts
 * into the other bank about every 7th save. */
static void across_config_compactions(ctx_t *x, const char *timing)
{
    start(x, timing);
    v1_write(x, x->small, SMALL_FILE);
    for (unsigned i = 0; i < 10; i++) {
        boot_counter(x);
        if (i % 4u == 0)
            check_sector(x, (uint16_t)(i % 3u));
    }
    boot_counter(x);
}

static void test_boot_counter_background_erase_typ(void **state)
{
    during_background_erase(*state, "typ");
}

static void test_boot_counter_background_erase_max(void **state)
{
    during_background_erase(*state, "max");
}

static void test_boot_counter_config_compaction_typ(void **state)
{
    across_config_compactions(*state, "typ");
}

static void test_boot_counter_config_compaction_max(void **state)
{
    across_config_compactions(*state, "max");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_boot_counter_background_erase_typ, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_counter_background_erase_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_boot_counter_config_compaction_typ, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_boot_counter_config_compaction_max, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
