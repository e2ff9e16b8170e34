/*
 * End to end: flashbridge-sim as a separate process, driven over its socket through the
 * host library (fb_client) and, for bad frames, through raw transfers.
 */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "flashbridge.h"
#include "flashbridge/protocol.h"
#include "sim_proc.h"

typedef struct ctx {
    sim_proc_t sim;
    fb_transport_t *t;
    fb_client_t c;
} ctx_t;

static void connect_client(ctx_t *x)
{
    x->t = fb_transport_sim_open(x->sim.sock);
    assert_non_null(x->t);
    fb_client_init(&x->c, x->t, FB_I2C_ADDR);
}

static int setup_with(void **state, const char *const *extra)
{
    ctx_t *x = calloc(1, sizeof *x);
    assert_int_equal(sim_dir_init(&x->sim), 0);
    assert_int_equal(sim_start(&x->sim, extra), 0);
    connect_client(x);
    *state = x;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, NULL);
}

static int setup_400k(void **state)
{
    static const char *const extra[] = {"--bus-khz", "400", NULL};
    return setup_with(state, extra);
}

static int teardown(void **state)
{
    ctx_t *x = *state;
    fb_transport_close(x->t);
    assert_int_equal(sim_stop(&x->sim), 0);
    sim_dir_remove(&x->sim);
    free(x);
    return 0;
}

static void restart(ctx_t *x)
{
    fb_transport_close(x->t);
    assert_int_equal(sim_stop(&x->sim), 0);
    assert_int_equal(sim_start(&x->sim, NULL), 0);
    connect_client(x);
}

static void fill(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        p[i] = (uint8_t)s;
    }
}

static void info_registers(void **state)
{
    ctx_t *x = *state;
    uint8_t id = 0, st = 0xEE;
    uint32_t size = 1;
    char name[11];
    assert_int_equal(fb_who_am_i(&x->c, &id), 0);
    assert_int_equal(id, FB_WHO_AM_I_VALUE);
    assert_int_equal(fb_status(&x->c, &st), 0);
    /* A new chip may hold anything: the firmware checks it in the background. */
    assert_int_equal(st & ~FB_STATUS_ERASING, FB_QUEUE_DEPTH);
    assert_int_equal(fb_file_size(&x->c, &size), 0);
    assert_int_equal(size, 0);
    assert_int_equal(fb_file_get_name(&x->c, name), 0);
    assert_memory_equal(name, FB_DEFAULT_FILENAME, 11);
}

static void wrong_address_is_not_acknowledged(void **state)
{
    ctx_t *x = *state;
    uint8_t reg = FB_CMD_STATUS, v;
    assert_int_equal(x->t->ops->xfer(x->t, 0x3C, &reg, 1, &v, 1), FB_HOST_ENACK);
}

static void data_with_ff_bytes_and_boundaries_round_trip(void **state)
{
    ctx_t *x = *state;
    /* 9000 bytes: crosses 256-byte pages and two 4 KiB sectors; runs of 0xFF inside. */
    size_t n = 9000;
    uint8_t *data = malloc(n), *back = malloc(n);
    fill(data, n, 1);
    memset(&data[250], 0xFF, 20);
    memset(&data[4090], 0xFF, 12);
    data[n - 1] = 0xFF;
    assert_int_equal(fb_file_append(&x->c, data, 1000), 0);
    assert_int_equal(fb_file_append(&x->c, &data[1000], n - 1000), 0);
    uint32_t size = 0;
    assert_int_equal(fb_file_size(&x->c, &size), 0);
    assert_int_equal(size, n);
    restart(x);
    assert_int_equal(fb_file_size(&x->c, &size), 0);
    assert_int_equal(size, n);
    assert_int_equal(fb_file_read(&x->c, 0, back, n), 0);
    assert_memory_equal(back, data, n);
    /* v1 view: READ_SECTOR past the end is 0xFF */
    uint8_t sec[256];
    assert_int_equal(fb_file_read_sector(&x->c, (uint16_t)(n / 256), sec), 0);
    assert_memory_equal(sec, &data[(n / 256) * 256], n % 256);
    for (size_t i = n % 256; i < 256; i++)
        assert_int_equal(sec[i], 0xFF);
    free(data);
    free(back);
}

static void config_round_trip_and_clear(void **state)
{
    ctx_t *x = *state;
    uint8_t cfg[1024], back[1024];
    fill(cfg, sizeof cfg, 2);
    assert_int_equal(fb_config_write(&x->c, 0, cfg, sizeof cfg), 0);
    restart(x);
    assert_int_equal(fb_config_read(&x->c, 0, back, sizeof back), 0);
    assert_memory_equal(back, cfg, sizeof cfg);
    assert_int_equal(fb_config_read(&x->c, 1000, back, 24), 0);
    assert_memory_equal(back, &cfg[1000], 24);
    assert_int_equal(fb_config_clear(&x->c), 0);
    assert_int_equal(fb_config_read(&x->c, 0, back, sizeof back), 0);
    for (size_t i = 0; i < sizeof back; i++)
        assert_int_equal(back[i], 0xFF);
}

static void filename_set_get_and_bad_name(void **state)
{
    ctx_t *x = *state;
    char n11[11], got[11];
    assert_int_equal(fb_name_to_83("LOG.CSV", n11), 0);
    assert_int_equal(fb_file_set_name(&x->c, n11), 0);
    assert_int_equal(fb_file_get_name(&x->c, got), 0);
    assert_memory_equal(got, "LOG     CSV", 11);
    memcpy(n11, "BAD*NAME   ", 11);
    assert_int_equal(fb_file_set_name(&x->c, n11), FB_HOST_EDEVICE);
    assert_int_equal(x->c.last_error, FB_ERR_BAD_NAME | FB_ERR_FAILED);
    assert_int_equal(fb_file_get_name(&x->c, got), 0);
    assert_memory_equal(got, "LOG     CSV", 11);
}

/* Every bad-input case: the documented error bit, and both flash images unchanged. */
static void bad_input_sets_error_and_leaves_images_unchanged(void **state)
{
    ctx_t *x = *state;
    uint8_t seed[100];
    fill(seed, sizeof seed, 3);
    assert_int_equal(fb_file_append(&x->c, seed, sizeof seed), 0);
    assert_int_equal(fb_config_write(&x->c, 0, seed, 28), 0);
    size_t fn, cn;
    unsigned char *flash0 = read_file(x->sim.flash_img, &fn);
    unsigned char *conf0 = read_file(x->sim.config_img, &cn);
    assert_non_null(flash0);
    assert_non_null(conf0);
    static const struct {
        uint8_t len;
        uint8_t b[40];
        uint8_t err;
    } cases[] = {
        {5, {FB_CMD_SET_FILENAME, 'A'}, FB_ERR_BAD_PARAM},
        {20, {FB_CMD_WRITE_DATA, 1}, FB_ERR_BAD_PARAM},
        {32, {FB_CMD_WRITE_DATA, 31}, FB_ERR_BAD_PARAM},
        {40, {FB_CMD_WRITE_DATA, 1}, FB_ERR_BAD_PARAM},
        {3, {FB_CMD_READ_SECTOR, 0xFF, 0xFF}, FB_ERR_BAD_PARAM},
        {32, {FB_CMD_WRITE_CONFIG, 0x03, 0xFF, 2}, FB_ERR_BAD_PARAM},
        {32, {FB_CMD_WRITE_CONFIG, 0x10, 0x00, 1}, FB_ERR_BAD_PARAM},
        {3, {FB_CMD_READ_CONFIG, 0x04, 0x00}, FB_ERR_BAD_PARAM},
        {12, {FB_CMD_SET_FILENAME, 'a', '/', 'b', ' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '},
         FB_ERR_BAD_NAME},
        {1, {0x7E}, FB_ERR_UNKNOWN_CMD},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, cases[i].b, cases[i].len, NULL, 0), 0);
        int r = fb_wait_idle(&x->c, 1000000);
        assert_int_equal(r, FB_HOST_EDEVICE);
        if (x->c.last_error != (cases[i].err | FB_ERR_FAILED))
            fail_msg("case %zu: 0x%02x", i, x->c.last_error);
    }
    size_t fn2, cn2;
    unsigned char *flash1 = read_file(x->sim.flash_img, &fn2);
    unsigned char *conf1 = read_file(x->sim.config_img, &cn2);
    assert_int_equal(fn, fn2);
    assert_int_equal(cn, cn2);
    assert_memory_equal(flash0, flash1, fn);
    assert_memory_equal(conf0, conf1, cn);
    free(flash0);
    free(flash1);
    free(conf0);
    free(conf1);
}

/* Frames sent back to back without waiting for BUSY. */
static void commands_while_busy(void **state)
{
    ctx_t *x = *state;
    uint8_t one = 0x99;
    assert_int_equal(fb_file_append(&x->c, &one, 1), 0); /* metadata now formatted */
    uint8_t f[32] = {FB_CMD_WRITE_DATA, 30};
    for (int i = 0; i < 30; i++)
        f[2 + i] = (uint8_t)i;
    uint8_t st = 0;
    /* Each append needs ~1 ms of flash work and its frame ~2.9 ms of bus at 100 kHz:
     * frames arrive while the previous one programs, and none is lost. */
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, f, sizeof f, NULL, 0), 0);
    assert_int_equal(fb_status(&x->c, &st), 0);
    assert_true(st & FB_STATUS_BUSY);
    assert_int_equal(fb_wait_idle(&x->c, 5000000), 0);
    uint32_t size = 0;
    assert_int_equal(fb_file_size(&x->c, &size), 0);
    assert_int_equal(size, 1 + 6 * 30u);
    /* CLEAR_CONFIG keeps the main loop in page erases for ~60 ms: three frames queue
     * behind it, the next three find no free slot and are reported, not lost silently. */
    uint8_t clr = FB_CMD_CLEAR_CONFIG;
    assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, &clr, 1, NULL, 0), 0);
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, f, sizeof f, NULL, 0), 0);
    assert_int_equal(fb_wait_idle(&x->c, 5000000), FB_HOST_EDEVICE);
    assert_int_equal(x->c.last_error, FB_ERR_QUEUE_FULL | FB_ERR_FAILED);
    assert_int_equal(fb_file_size(&x->c, &size), 0);
    assert_int_equal(size, 1 + 9 * 30u);
    uint8_t back[30];
    assert_int_equal(fb_file_read(&x->c, 1 + 8 * 30u, back, 30), 0);
    assert_memory_equal(back, &f[2], 30);
}

static void clear_flash_empties_file(void **state)
{
    ctx_t *x = *state;
    uint8_t d[500];
    fill(d, sizeof d, 4);
    assert_int_equal(fb_file_append(&x->c, d, sizeof d), 0);
    assert_int_equal(fb_file_clear(&x->c), 0);
    uint32_t size = 1;
    assert_int_equal(fb_file_size(&x->c, &size), 0);
    assert_int_equal(size, 0);
    assert_int_equal(fb_file_append(&x->c, d, 10), 0);
    uint8_t back[10];
    assert_int_equal(fb_file_read(&x->c, 0, back, 10), 0);
    assert_memory_equal(back, d, 10);
}

static void one_megabyte_round_trip(void **state)
{
    ctx_t *x = *state;
    size_t n = 1024 * 1024;
    uint8_t *data = malloc(n), *back = malloc(n);
    fill(data, n, 5);
    assert_int_equal(fb_file_append(&x->c, data, n), 0);
    assert_int_equal(fb_file_read(&x->c, 0, back, n), 0);
    assert_memory_equal(back, data, n);
    free(data);
    free(back);
}

/* ---- streaming extension ---- */

static void put_crc(uint8_t *p, size_t n)
{
    uint16_t c = fb_crc16(FB_EXT_CRC_INIT, p, n);
    p[n] = (uint8_t)(c >> 8);
    p[n + 1] = (uint8_t)c;
}

/* The library streams with the extension; a v1-only client on the same board reads the
 * same bytes back; 0xFF runs across frame and chunk boundaries survive. The bus stays
 * busy: a regression guard well under the 90 % the benchmark shows (docs/PERFORMANCE.md). */
static void streaming_round_trip_with_ff_data(void **state)
{
    ctx_t *x = *state;
    size_t n = 128 * 1024 + 77;
    uint8_t *data = malloc(n), *back = malloc(n);
    fill(data, n, 6);
    memset(&data[200], 0xFF, 300);       /* across the first frame boundary */
    memset(&data[4096 - 10], 0xFF, 40);  /* across a flash sector */
    memset(&data[n - 50], 0xFF, 50);     /* the end of the file */
    uint64_t t0 = x->t->ops->now_us(x->t);
    assert_int_equal(fb_file_append(&x->c, data, n), 0);
    uint64_t t1 = x->t->ops->now_us(x->t);
    assert_int_equal(x->c.proto, FB_PROTO_EXT);
    assert_int_equal(x->c.caps.max_payload, FB_EXT_PAYLOAD_MAX);
    uint32_t size = 0;
    assert_int_equal(fb_file_size(&x->c, &size), 0);
    assert_int_equal(size, n);
    assert_int_equal(fb_file_read(&x->c, 0, back, n), 0);
    uint64_t t2 = x->t->ops->now_us(x->t);
    assert_memory_equal(back, data, n);
    assert_int_equal(x->c.stats.bus_retries + x->c.stats.resyncs + x->c.stats.read_restarts, 0);
    /* payload bits / bus bit rate (400 kHz) / elapsed */
    double ideal_us = (double)n * 9.0 / 400000.0 * 1e6;
    assert_true(ideal_us / (double)(t1 - t0) > 0.8);
    assert_true(ideal_us / (double)(t2 - t1) > 0.8);

    fb_client_t v1;
    fb_client_init(&v1, x->t, FB_I2C_ADDR);
    v1.proto = FB_PROTO_V1;
    memset(back, 0, n);
    assert_int_equal(fb_file_read(&v1, 0, back, 20000), 0);
    assert_memory_equal(back, data, 20000);
    free(data);
    free(back);
}

/* Raw frames on the simulated board: a repeated sequence number is acknowledged without
 * appending, a corrupted frame is refused with ERROR 0x40 and leaves the images alone. */
static void append_crc_repeat_and_corruption_on_the_board(void **state)
{
    ctx_t *x = *state;
    uint8_t seq;
    assert_int_equal(fb_stream_state(&x->c, &seq, NULL, NULL), 0);
    uint8_t f[FB_EXT_FRAME_MAX];
    f[0] = FB_CMD_APPEND_CRC;
    f[1] = (uint8_t)(seq + 1);
    f[2] = 255; /* 256 data bytes */
    fill(&f[3], 256, 7);
    put_crc(f, 259);
    for (int i = 0; i < 2; i++)
        assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, f, sizeof f, NULL, 0), 0);
    assert_int_equal(fb_wait_idle(&x->c, 1000000), 0);
    uint32_t size = 0;
    assert_int_equal(fb_file_size(&x->c, &size), 0);
    assert_int_equal(size, 256);

    assert_int_equal(sim_stop(&x->sim), 0); /* images on disk */
    size_t fn;
    unsigned char *flash0 = read_file(x->sim.flash_img, &fn);
    fb_transport_close(x->t);
    assert_int_equal(sim_start(&x->sim, NULL), 0);
    connect_client(x);
    /* A reboot starts the numbering again: the next number, only the CRC is wrong. */
    assert_int_equal(fb_stream_state(&x->c, &seq, NULL, NULL), 0);
    f[1] = (uint8_t)(seq + 1);
    put_crc(f, 259);
    f[77] ^= 0x01;
    assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, f, sizeof f, NULL, 0), 0);
    assert_int_equal(fb_wait_idle(&x->c, 1000000), FB_HOST_EDEVICE);
    assert_int_equal(x->c.last_error, FB_ERR_STREAM | FB_ERR_FAILED);
    uint16_t crc_errors = 0;
    assert_int_equal(fb_stream_state(&x->c, NULL, &crc_errors, &size), 0);
    assert_int_equal(crc_errors, 1);
    assert_int_equal(size, 256);
    fb_transport_close(x->t);
    assert_int_equal(sim_stop(&x->sim), 0);
    size_t fn2;
    unsigned char *flash1 = read_file(x->sim.flash_img, &fn2);
    assert_int_equal(fn, fn2);
    assert_memory_equal(flash0, flash1, fn);
    free(flash0);
    free(flash1);
    assert_int_equal(sim_start(&x->sim, NULL), 0);
    connect_client(x);
}

/* ---- the STeaMi v1 driver's patterns (issue 10) ----
 * What the unmodified DaplinkBridge/DaplinkFlash do on the bus: STATUS polled every 5 ms
 * until BUSY clears before each command, fixed sleeps after READ_SECTOR (200 ms), and
 * ERROR read at the end of write() only. */

static uint8_t v1_reg(ctx_t *x, uint8_t reg)
{
    uint8_t v = 0xEE;
    assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, &reg, 1, &v, 1), 0);
    return v;
}

static void v1_wait_busy(ctx_t *x)
{
    for (int i = 0; i < 6000; i++) { /* the driver's 30 s */
        uint8_t st = v1_reg(x, FB_CMD_STATUS);
        assert_true(st == 0x00 || st == FB_STATUS_BUSY); /* v1: nothing else, ever */
        if (st == 0x00)
            return;
        assert_int_equal(x->t->ops->sleep_us(x->t, 5000), 0);
    }
    fail_msg("STATUS never idle");
}

static void v1_send(ctx_t *x, const uint8_t *frame, size_t n)
{
    assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, frame, n, NULL, 0), 0);
}

/* DaplinkFlash.write(): 32-byte frames, each after BUSY clears; ERROR at the end. */
static uint8_t v1_write(ctx_t *x, const uint8_t *data, size_t n)
{
    for (size_t pos = 0; pos < n; pos += FB_WRITE_DATA_MAX) {
        uint8_t f[32] = {FB_CMD_WRITE_DATA};
        size_t k = n - pos < FB_WRITE_DATA_MAX ? n - pos : FB_WRITE_DATA_MAX;
        f[1] = (uint8_t)k;
        memcpy(&f[2], &data[pos], k);
        v1_wait_busy(x);
        v1_send(x, f, sizeof f);
    }
    v1_wait_busy(x);
    return v1_reg(x, FB_CMD_ERROR);
}

/* After each unchecked bad frame the driver can send, the next correct write() reads
 * ERROR 0x00 (it stored its data: an OSError would make a retrying caller store it
 * twice), idle STATUS reads 0x00, and the data is in the file once. */
static void v1_driver_error_is_not_blamed_on_the_next_write(void **state)
{
    ctx_t *x = *state;
    static const struct {
        const char *what;
        uint8_t len;
        uint8_t frame[12];
    } bad[] = {
        {"read_sector(40000)", 3, {FB_CMD_READ_SECTOR, 0x9C, 0x40}},
        {"set_filename(\"my log\", \"txt\")", 12,
         {FB_CMD_SET_FILENAME, 'm', 'y', ' ', 'l', 'o', 'g', ' ', ' ', 't', 'x', 't'}},
        {"unknown command byte", 1, {0x55}},
        {"short frame", 2, {FB_CMD_READ_SECTOR, 0x00}},
    };
    v1_wait_busy(x);
    assert_int_equal(v1_reg(x, FB_CMD_STATUS), 0x00);
    size_t total = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        v1_wait_busy(x);
        v1_send(x, bad[i].frame, bad[i].len);
        if (bad[i].frame[0] == FB_CMD_READ_SECTOR)
            assert_int_equal(x->t->ops->sleep_us(x->t, 200000), 0); /* the driver's sleep */
        v1_wait_busy(x);
        assert_int_equal(v1_reg(x, FB_CMD_STATUS), 0x00);
        uint8_t data[45];
        fill(data, sizeof data, (uint32_t)i + 40);
        uint8_t err = v1_write(x, data, sizeof data);
        if (err != 0)
            fail_msg("after %s, a correct write() read ERROR 0x%02x", bad[i].what, err);
        total += sizeof data;
        assert_int_equal(v1_reg(x, FB_CMD_STATUS), 0x00);
    }
    /* The extension's view kept every failure. */
    assert_true(v1_reg(x, FB_CMD_EXT_STATUS) & FB_STATUS_ERROR);
    assert_int_equal(v1_reg(x, FB_CMD_ERRORS), FB_ERR_BAD_PARAM | FB_ERR_BAD_NAME |
                                                   FB_ERR_UNKNOWN_CMD | FB_ERR_FAILED);
    uint32_t size = 0;
    assert_int_equal(fb_file_size(&x->c, &size), 0);
    assert_int_equal(size, total);
    /* A write() that fails itself still reports it (nothing blamed, nothing hidden):
     * WRITE_DATA with n > 30. */
    uint8_t f[32] = {FB_CMD_WRITE_DATA, 31};
    v1_wait_busy(x);
    v1_send(x, f, sizeof f);
    v1_wait_busy(x);
    assert_int_equal(v1_reg(x, FB_CMD_ERROR), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
}

/* v1's filename rule: the driver's set_filename("MY LOG", "TXT") is accepted. */
static void v1_driver_name_with_inner_space(void **state)
{
    ctx_t *x = *state;
    static const uint8_t f[12] = {FB_CMD_SET_FILENAME, 'M', 'Y', ' ', 'L', 'O', 'G',
                                  ' ', ' ', 'T', 'X', 'T'};
    v1_wait_busy(x);
    v1_send(x, f, sizeof f);
    v1_wait_busy(x);
    assert_int_equal(v1_reg(x, FB_CMD_ERROR), 0);
    uint8_t reg = FB_CMD_GET_FILENAME, name[11];
    assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, &reg, 1, name, 11), 0);
    assert_memory_equal(name, &f[1], 11);
}

/* BUSY clear, whatever else STATUS holds. */
static void wait_not_busy(ctx_t *x)
{
    for (int i = 0; i < 6000 && (v1_reg(x, FB_CMD_STATUS) & FB_STATUS_BUSY); i++)
        assert_int_equal(x->t->ops->sleep_us(x->t, 500), 0);
}

/* Issue 10's race: W[03 'BBBBBBBBBBB'] then at once W[04] Sr R11, while the main loop
 * stores and publishes the new name. Each read is one name whole (the old one or the new
 * one), never a mix such as AABBBBBBBBB; once idle it is the new one. */
static void get_filename_is_never_torn(void **state)
{
    ctx_t *x = *state;
    static const char names[2][12] = {"AAAAAAAAAAA", "BBBBBBBBBBB"};
    unsigned old_seen = 0, new_seen = 0;
    uint8_t f[12] = {FB_CMD_SET_FILENAME};
    memcpy(&f[1], names[0], 11);
    v1_send(x, f, sizeof f);
    wait_not_busy(x);
    for (unsigned i = 1; i <= 150; i++) {
        const char *want = names[i % 2], *before = names[(i + 1) % 2];
        memcpy(&f[1], want, 11);
        v1_send(x, f, sizeof f);
        /* The read starts 0, 20, 40 ... 2980 us after the STOP: across the instant the
         * new name is published, so that some reads are under way right then (an
         * 11-byte read lasts ~1.1 ms at 100 kHz). */
        assert_int_equal(x->t->ops->sleep_us(x->t, (i - 1) * 20u), 0);
        uint8_t reg = FB_CMD_GET_FILENAME, got[11];
        assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, &reg, 1, got, 11), 0);
        if (memcmp(got, want, 11) == 0)
            new_seen++;
        else if (memcmp(got, before, 11) == 0)
            old_seen++;
        else
            fail_msg("round %u: GET_FILENAME read \"%.11s\"", i, (const char *)got);
        wait_not_busy(x);
        assert_int_equal(x->t->ops->xfer(x->t, FB_I2C_ADDR, &reg, 1, got, 11), 0);
        assert_memory_equal(got, want, 11);
    }
    print_message("GET_FILENAME right after SET_FILENAME: old name %u times, new name %u "
                  "times, torn 0 times in 150\n", old_seen, new_seen);
    /* Both seen: the reads went across the publishing instant, so the check meant
     * something. */
    assert_true(old_seen > 0 && new_seen > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(info_registers, setup, teardown),
        cmocka_unit_test_setup_teardown(wrong_address_is_not_acknowledged, setup, teardown),
        cmocka_unit_test_setup_teardown(data_with_ff_bytes_and_boundaries_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(config_round_trip_and_clear, setup, teardown),
        cmocka_unit_test_setup_teardown(filename_set_get_and_bad_name, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_input_sets_error_and_leaves_images_unchanged, setup, teardown),
        cmocka_unit_test_setup_teardown(commands_while_busy, setup, teardown),
        cmocka_unit_test_setup_teardown(clear_flash_empties_file, setup, teardown),
        cmocka_unit_test_setup_teardown(one_megabyte_round_trip, setup_400k, teardown),
        cmocka_unit_test_setup_teardown(streaming_round_trip_with_ff_data, setup_400k, teardown),
        cmocka_unit_test_setup_teardown(append_crc_repeat_and_corruption_on_the_board, setup, teardown),
        cmocka_unit_test_setup_teardown(v1_driver_error_is_not_blamed_on_the_next_write, setup, teardown),
        cmocka_unit_test_setup_teardown(v1_driver_name_with_inner_space, setup, teardown),
        cmocka_unit_test_setup_teardown(get_filename_is_never_torn, setup, teardown),
    };
    /* FB_E2E_FILTER=pattern (development): only the matching tests. */
    if (getenv("FB_E2E_FILTER"))
        cmocka_set_test_filter(getenv("FB_E2E_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
