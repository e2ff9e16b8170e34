/*
 * Durability figures on the simulated board (virtual time, device-model counters):
 *   - config zone: page erases per 10,000 writes of 28 bytes (journal vs the old
 *     firmware's one erase per write);
 *   - CLEAR: time until the host may append again, for an empty, a 64 KiB and a full file;
 *   - mount time after a power cycle with a full file;
 *   - erase counts per sector/page after a long mixed workload.
 * A benchmark, not a test: it prints figures (docs/DURABILITY.md quotes them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "flashbridge/protocol.h"

#define MS 1000000ull

static void xfer(const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    size_t acked;
    if (board_transfer(FB_I2C_ADDR, w, wlen, r, rlen, &acked) != BOARD_ACK) {
        fprintf(stderr, "bench: transfer not acknowledged\n");
        exit(1);
    }
}

static uint8_t status(void)
{
    uint8_t reg = FB_CMD_EXT_STATUS, st;
    xfer(&reg, 1, &st, 1);
    return st;
}

static void wait_mask(uint8_t mask)
{
    while (status() & mask)
        board_wait(100000);
}

static void check_no_error(void)
{
    uint8_t reg = FB_CMD_ERRORS, e;
    xfer(&reg, 1, &e, 1);
    if (e) {
        fprintf(stderr, "bench: ERROR 0x%02x\n", e);
        exit(1);
    }
}

/* Append n bytes as fast as the queue allows (free slots from STATUS). */
static void append(uint32_t n, uint8_t seed)
{
    uint8_t f[32] = {FB_CMD_WRITE_DATA};
    uint32_t done = 0;
    while (done < n) {
        uint8_t free_slots = status() & FB_STATUS_QUEUE_MASK;
        if (!free_slots) {
            board_wait(200000);
            continue;
        }
        while (free_slots-- && done < n) {
            uint8_t k = n - done > 30 ? 30 : (uint8_t)(n - done);
            f[1] = k;
            memset(&f[2], (uint8_t)(seed + done / 30), 30);
            xfer(f, 32, NULL, 0);
            done += k;
        }
    }
    wait_mask(FB_STATUS_BUSY);
    check_no_error();
}

static uint32_t config_erases(void)
{
    uint32_t n = 0;
    for (uint32_t p = 60; p < 64; p++)
        n += board_config_erases(p);
    return n;
}

static void config_wear(void)
{
    uint8_t f[32] = {FB_CMD_WRITE_CONFIG};
    uint32_t e0 = config_erases();
    for (int i = 0; i < 10000; i++) {
        uint16_t off = (uint16_t)((i * 28) % 996);
        f[1] = (uint8_t)(off >> 8);
        f[2] = (uint8_t)off;
        f[3] = 28;
        memset(&f[4], (uint8_t)i, 28);
        xfer(f, 32, NULL, 0);
        wait_mask(FB_STATUS_BUSY);
    }
    check_no_error();
    printf("config: %u page erases per 10,000 writes of 28 bytes (old firmware: 10,000)\n",
           config_erases() - e0);
}

static void clear_latency(const char *what, uint32_t size)
{
    uint8_t clr = FB_CMD_CLEAR_FLASH;
    xfer(&clr, 1, NULL, 0);
    wait_mask(FB_STATUS_BUSY | FB_STATUS_ERASING);
    if (size)
        append(size, 1);
    uint64_t t0 = board_now();
    xfer(&clr, 1, NULL, 0);
    wait_mask(FB_STATUS_BUSY);
    uint64_t t_clear = board_now() - t0;
    uint8_t f[32] = {FB_CMD_WRITE_DATA, 30};
    xfer(f, 32, NULL, 0);
    wait_mask(FB_STATUS_BUSY);
    uint64_t t_append = board_now() - t0;
    check_no_error();
    uint64_t t1 = board_now();
    wait_mask(FB_STATUS_ERASING);
    printf("clear of %-14s CLEAR done in %6.2f ms, first append done %6.2f ms after the "
           "CLEAR; background erase %8.1f ms\n",
           what, (double)t_clear / 1e6, (double)t_append / 1e6, (double)(board_now() - t1) / 1e6);
}

static void mount_time(void)
{
    uint8_t reg = FB_CMD_FILE_SIZE, sz[4];
    xfer(&reg, 1, sz, 4);
    uint64_t t0 = board_now();
    board_power_cycle(MS);
    printf("mount: power-up to answering with a %u-byte file: %.2f ms\n",
           (unsigned)((uint32_t)sz[0] << 24 | (uint32_t)sz[1] << 16 | (uint32_t)sz[2] << 8 | sz[3]),
           (double)(board_now() - t0 - MS) / 1e6);
}

static void endurance(void)
{
    /* A mixed day: 256 KiB of log, a rename, 100 config writes, a clear; 100 times. */
    uint8_t name[12] = {FB_CMD_SET_FILENAME, 'D', 'A', 'Y', ' ', ' ', ' ', ' ', ' ', 'C', 'S', 'V'};
    uint8_t cfg[32] = {FB_CMD_WRITE_CONFIG, 0, 0, 28};
    uint8_t clr = FB_CMD_CLEAR_FLASH;
    for (int day = 0; day < 100; day++) {
        append(256 * 1024, (uint8_t)day);
        xfer(name, sizeof name, NULL, 0);
        for (int i = 0; i < 100; i++) {
            cfg[2] = (uint8_t)(i * 9);
            xfer(cfg, 32, NULL, 0);
            wait_mask(FB_STATUS_BUSY);
        }
        xfer(&clr, 1, NULL, 0);
        wait_mask(FB_STATUS_BUSY);
    }
    wait_mask(FB_STATUS_BUSY | FB_STATUS_ERASING);
    check_no_error();
    uint32_t max_data = 0, max_meta = 0, max_cfg = 0;
    uint64_t sum = 0;
    for (uint32_t s = 0; s < FB_FILE_CAPACITY / 4096u; s++) {
        uint32_t e = board_flash_erases(s);
        sum += e;
        max_data = e > max_data ? e : max_data;
    }
    for (uint32_t s = FB_FILE_CAPACITY / 4096u; s < 2048u; s++)
        max_meta = board_flash_erases(s) > max_meta ? board_flash_erases(s) : max_meta;
    for (uint32_t p = 60; p < 64; p++)
        max_cfg = board_config_erases(p) > max_cfg ? board_config_erases(p) : max_cfg;
    printf("endurance: 100 x (256 KiB appended in 30-byte frames, rename, 100 config writes, "
           "clear)\n");
    printf("  W25Q64 data sectors: max %u erases, mean %.2f (100,000 rated)\n", max_data,
           (double)sum / (FB_FILE_CAPACITY / 4096u));
    printf("  W25Q64 metadata sectors: max %u erases (100,000 rated: %.0f such days)\n",
           max_meta, max_meta ? 100000.0 * 100 / max_meta : 0.0);
    printf("  F103 config pages: max %u erases (10,000 rated: %.0f such days)\n", max_cfg,
           max_cfg ? 10000.0 * 100 / max_cfg : 0.0);
}

int main(void)
{
    board_config_t cfg = {.bus_hz = 400000};
    if (board_open(&cfg) != 0)
        return 1;
    wait_mask(FB_STATUS_BUSY | FB_STATUS_ERASING);
    config_wear();
    clear_latency("an empty file", 0);
    clear_latency("a 64 KiB file", 64 * 1024);
    clear_latency("a full file", FB_FILE_CAPACITY);
    uint8_t clr = FB_CMD_CLEAR_FLASH;
    xfer(&clr, 1, NULL, 0);
    wait_mask(FB_STATUS_BUSY | FB_STATUS_ERASING);
    append(FB_FILE_CAPACITY, 3);
    mount_time();
    xfer(&clr, 1, NULL, 0);
    endurance();
    board_close();
    return 0;
}
