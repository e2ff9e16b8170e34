/*
 * libFuzzer target: arbitrary sequences of I2C transfers, waits and power cycles fed to
 * the core running on the simulated board (device models, virtual time).
 *
 * Input: a stream of operations, each introduced by one byte:
 *   op % 8 == 0..4  transfer: [addr_sel][wlen][rlen] then wlen bytes
 *                   (addr_sel odd: 0x3B, else addr_sel >> 1; wlen % 48, rlen % 300)
 *   op % 8 == 5,6   wait: next byte * 50 us of virtual time
 *   op % 8 == 7     next byte 0xC7: power cycle (rare on purpose); any other byte x:
 *                   a streaming-extension frame with a valid CRC (random bytes would
 *                   almost never have one), corrupted when x & 1:
 *                     x & 0x80 == 0: APPEND_CRC [seq][l] then n data bytes, n = 256
 *                                    if l & 0x80, else (l & 0x3F) + 1; its length
 *                                    byte says n - 1 + (l & 0x40 ? 1 : 0) (a lie
 *                                    covered by the CRC), and (x >> 2) & 3 zero bytes
 *                                    follow the CRC (a frame lengthened on the bus)
 *                     x & 0x80:      STREAM_READ [off u24][len u16]; then, if x & 2, a
 *                                    plain read of one chunk (260 bytes)
 * Invariants checked after every transfer to our address and at the end:
 *   - WHO_AM_I always reads 0x4C, STATUS is consistent (BUSY iff a slot is used);
 *   - at the end, with the queue drained, STREAM_STATE's file size is FILE_SIZE's;
 *   - the firmware never asserts, and no sanitizer fires;
 *   - the queue drains: after the input, BUSY clears within the worst-case time.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"
#include "crc.h"
#include "flashbridge/protocol.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok, const char *what)
{
    if (!ok) {
        fprintf(stderr, "invariant broken: %s\n", what);
        abort();
    }
}

static uint8_t read_reg(uint8_t reg)
{
    uint8_t v = 0;
    size_t acked = 0;
    check(board_transfer(FB_I2C_ADDR, &reg, 1, &v, 1, &acked) == BOARD_ACK, "register read ACK");
    return v;
}

static void check_registers(void)
{
    check(read_reg(FB_CMD_WHO_AM_I) == FB_WHO_AM_I_VALUE, "WHO_AM_I");
    uint8_t st = read_reg(FB_CMD_EXT_STATUS);
    uint8_t v1 = read_reg(FB_CMD_STATUS);
    check(v1 == 0 || v1 == FB_STATUS_BUSY, "STATUS is 0x00 or 0x80 (v1)");
    uint8_t free_slots = st & FB_STATUS_QUEUE_MASK;
    check(free_slots <= FB_QUEUE_DEPTH, "free slots <= depth");
    check(((st & FB_STATUS_BUSY) != 0) == (free_slots < FB_QUEUE_DEPTH), "BUSY iff slot used");
}

/* With the queue drained, nothing moves between two register reads. */
static void check_idle_registers(void)
{
    uint8_t reg = FB_CMD_FILE_SIZE, size[4], state[FB_STREAM_STATE_LEN];
    size_t acked = 0;
    check(board_transfer(FB_I2C_ADDR, &reg, 1, size, 4, &acked) == BOARD_ACK, "FILE_SIZE");
    reg = FB_CMD_STREAM_STATE;
    check(board_transfer(FB_I2C_ADDR, &reg, 1, state, sizeof state, &acked) == BOARD_ACK,
          "STREAM_STATE");
    check(memcmp(size, &state[3], 4) == 0, "STREAM_STATE size is FILE_SIZE");
}

/* Op 7 other than a power cycle: a streaming frame built from the input (see top).
 * Returns the input bytes it used. */
static size_t ext_op(uint8_t x, const uint8_t *p, size_t left)
{
    uint8_t f[FB_EXT_FRAME_MAX + 4];
    size_t len, used, extra = 0;
    if (!(x & 0x80)) {
        if (left < 2)
            return left;
        /* Mostly short frames (cheap to simulate), full ones when the top bit says so. */
        size_t n = (p[1] & 0x80) ? FB_EXT_PAYLOAD_MAX : (size_t)(p[1] & 0x3F) + 1;
        if (n > left - 2)
            n = left - 2;
        if (n == 0)
            return left;
        f[0] = FB_CMD_APPEND_CRC;
        f[1] = p[0];
        f[2] = (uint8_t)(n - 1u + ((p[1] & 0x40) ? 1u : 0u));
        memcpy(&f[3], &p[2], n);
        len = n + 3;
        used = n + 2;
        extra = (x >> 2) & 3u;
    } else {
        if (left < 5)
            return left;
        uint8_t b[1 + FB_LEN_STREAM_READ] = {FB_CMD_STREAM_READ, 0, p[0], p[1], p[2], 0, 0,
                                             p[3], p[4]};
        memcpy(f, b, 9);
        len = 9;
        used = 5;
    }
    uint16_t c = fb_crc16(FB_CRC16_INIT, f, len);
    f[len] = (uint8_t)(c >> 8);
    f[len + 1] = (uint8_t)c;
    len += 2;
    if (x & 1)
        f[len / 2] ^= 0x20;
    memset(&f[len], 0, extra);
    len += extra;
    size_t acked = 0;
    board_transfer(FB_I2C_ADDR, f, len, NULL, 0, &acked);
    if ((x & 0x80) && (x & 2)) {
        uint8_t chunk[FB_CHUNK_MAX];
        board_wait(1000000u); /* 1 ms: the chunk is prepared within ~0.2 ms when idle */
        board_transfer(FB_I2C_ADDR, NULL, 0, chunk, sizeof chunk, &acked);
    }
    return used;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *flash0, *config0;
    if (!flash0) {
        /* Once: a new board, left until its background check of the new chip is done;
         * its images are where every input starts (a fresh boot on them). */
        board_config_t cfg = {0};
        if (board_open(&cfg) != 0)
            abort();
        while (read_reg(FB_CMD_EXT_STATUS) & (FB_STATUS_BUSY | FB_STATUS_ERASING))
            board_wait(10000000u);
        size_t fl, cl;
        const uint8_t *f = board_flash_array(&fl), *c = board_config_array(&cl);
        flash0 = malloc(fl);
        config0 = malloc(cl);
        if (!flash0 || !config0)
            abort();
        memcpy(flash0, f, fl);
        memcpy(config0, c, cl);
    }
    board_load_images(flash0, config0);
    uint8_t rbuf[300];
    size_t i = 0;
    while (i < size) {
        uint8_t op = data[i++] % 8;
        if (op <= 4) {
            if (size - i < 3)
                break;
            uint8_t sel = data[i], wlen = data[i + 1] % 48;
            uint16_t rlen = (uint16_t)(data[i + 2] % 300);
            i += 3;
            if (wlen > size - i)
                wlen = (uint8_t)(size - i);
            uint8_t addr = (sel & 1) ? FB_I2C_ADDR : (uint8_t)(sel >> 1);
            size_t acked = 0;
            board_transfer(addr, &data[i], wlen, rbuf, rlen, &acked);
            i += wlen;
            if (addr == FB_I2C_ADDR)
                check_registers();
        } else if (op <= 6) {
            if (i < size)
                board_wait((uint64_t)data[i++] * 50000u);
        } else if (i < size) {
            uint8_t x = data[i++];
            if (x == 0xC7)
                board_power_cycle(1000000u);
            else
                i += ext_op(x, &data[i], size - i);
            check_registers();
        }
    }
    /* Liveness: whatever was sent, the queue drains within the worst case of four
     * queued commands (each well under 1 s of datasheet-maximum flash work). */
    for (int ms = 0; ms < 5000 && (read_reg(FB_CMD_STATUS) & FB_STATUS_BUSY); ms++)
        board_wait(1000000u);
    check(!(read_reg(FB_CMD_STATUS) & FB_STATUS_BUSY), "queue drains");
    check_registers();
    check_idle_registers();
    check(board_watchdog_resets() == 0, "no watchdog reset");
    return 0;
}
