/* Streaming extension on the core (docs/PROTOCOL.md "Streaming extension"), driven
 * through the interrupt entry points on the device models (mock_hal.c): frame layouts
 * pinned to golden bytes, CRC and sequence checks, retries, pipelining, streaming reads.
 * Each test names the rule it checks. */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core.h"
#include "crc.h"
#include "flashbridge/protocol.h"
#include "i2c_target.h"
#include "mailbox.h"
#include "mock_hal.h"

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

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void put_crc(uint8_t *p, size_t n)
{
    uint16_t c = fb_crc16(FB_CRC16_INIT, p, n);
    p[n] = (uint8_t)(c >> 8);
    p[n + 1] = (uint8_t)c;
}

/* APPEND_CRC frame for n data bytes (1..256); returns its length. */
static size_t append_frame(uint8_t *f, uint8_t seq, const uint8_t *data, size_t n)
{
    f[0] = FB_CMD_APPEND_CRC;
    f[1] = seq;
    f[2] = (uint8_t)(n - 1);
    memcpy(&f[3], data, n);
    put_crc(f, 3 + n);
    return n + FB_APPEND_CRC_OVERHEAD;
}

static void send_append(uint8_t seq, const uint8_t *data, size_t n)
{
    uint8_t f[FB_EXT_FRAME_MAX];
    mock_write(f, append_frame(f, seq, data, n));
}

static void send_stream_read(uint32_t off, uint32_t len)
{
    uint8_t f[1 + FB_LEN_STREAM_READ] = {FB_CMD_STREAM_READ};
    put32(&f[1], off);
    put32(&f[5], len);
    put_crc(f, 9);
    mock_write(f, sizeof f);
}

struct stream_state {
    uint8_t seq;
    uint16_t crc_errors;
    uint32_t size;
};

static struct stream_state stream_state(void)
{
    uint8_t b[FB_STREAM_STATE_LEN];
    mock_read_reg(FB_CMD_STREAM_STATE, b, sizeof b);
    struct stream_state s = {b[0], (uint16_t)(b[1] << 8 | b[2]),
                             (uint32_t)b[3] << 24 | (uint32_t)b[4] << 16 |
                                 (uint32_t)b[5] << 8 | b[6]};
    return s;
}

/* Until the queue is empty, then a few more passes: a streaming read prepares its chunks
 * in passes with nothing queued. */
static void settle(void)
{
    mock_run_idle();
    mock_run(5);
}

/* Plain read of one chunk of n data bytes: checks its tag, seq and CRC, copies the data. */
static void read_chunk(uint8_t seq, uint8_t *data, size_t n)
{
    uint8_t c[FB_CHUNK_MAX];
    mock_plain_read(c, n + FB_CHUNK_OVERHEAD);
    assert_int_equal(c[0], FB_CHUNK_TAG);
    assert_int_equal(c[1], seq);
    uint16_t crc = fb_crc16(FB_CRC16_INIT, c, n + 2);
    assert_int_equal(c[n + 2], crc >> 8);
    assert_int_equal(c[n + 3], crc & 0xFF);
    memcpy(data, &c[2], n);
}

/* ---- layouts ---- */

static void crc_test_vector_matches_protocol_header(void **state)
{
    (void)state;
    assert_int_equal(fb_crc16(FB_EXT_CRC_INIT, "123456789", 9), FB_EXT_CRC_CHECK);
    assert_int_equal(FB_EXT_CRC_CHECK, 0x29B1);
    assert_int_equal(FB_EXT_CRC_INIT, FB_CRC16_INIT);
}

static void caps_register_layout(void **state)
{
    (void)state;
    /* Golden bytes (docs/PROTOCOL.md): "FB", version 2, features 3, 256, depth 4, 0, CRC. */
    static const uint8_t golden[FB_CAPS_LEN] = {0x46, 0x42, 0x02, 0x03, 0x01, 0x00,
                                                0x04, 0x00, 0x25, 0xC8};
    uint8_t caps[FB_CAPS_LEN + 2];
    mock_read_reg(FB_CMD_CAPS, caps, sizeof caps);
    assert_memory_equal(caps, golden, FB_CAPS_LEN);
    assert_int_equal(caps[FB_CAPS_LEN], 0xFF); /* past the register */
    /* Also by write, then plain read; and reading it changes nothing. */
    uint8_t cmd = FB_CMD_CAPS;
    mock_write(&cmd, 1);
    mock_plain_read(caps, FB_CAPS_LEN);
    assert_memory_equal(caps, golden, FB_CAPS_LEN);
    assert_int_equal(mock_status(), FB_QUEUE_DEPTH);
    assert_int_equal(mock_error(), 0);
}

static void append_frame_layout_golden_bytes(void **state)
{
    (void)state;
    /* APPEND_CRC seq 1, "abc": 12 01 02 61 62 63 45 3B (docs/PROTOCOL.md). */
    static const uint8_t golden[] = {0x12, 0x01, 0x02, 'a', 'b', 'c', 0x45, 0x3B};
    uint8_t f[16];
    assert_int_equal(append_frame(f, 1, (const uint8_t *)"abc", 3), sizeof golden);
    assert_memory_equal(f, golden, sizeof golden);
    /* One data byte 00: 12 01 00 00 45 3F. */
    static const uint8_t golden1[] = {0x12, 0x01, 0x00, 0x00, 0x45, 0x3F};
    assert_int_equal(append_frame(f, 1, (const uint8_t *)"", 1), sizeof golden1);
    assert_memory_equal(f, golden1, sizeof golden1);
    mock_write(golden, sizeof golden);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    struct stream_state s = stream_state();
    assert_int_equal(s.seq, 1);
    assert_int_equal(s.size, 3);
    assert_int_equal(s.crc_errors, 0);
    uint8_t out[256];
    mock_read_sector(0, out);
    assert_memory_equal(out, "abc", 3);
}

static void stream_read_frame_and_chunk_layout_golden_bytes(void **state)
{
    (void)state;
    send_append(1, (const uint8_t *)"xy", 2);
    mock_run_idle();
    /* STREAM_READ offset 0, length 2: 21 00000000 00000002 CRC. */
    uint8_t f[11] = {0x21, 0, 0, 0, 0, 0, 0, 0, 2};
    uint16_t c = fb_crc16(FB_CRC16_INIT, f, 9);
    f[9] = (uint8_t)(c >> 8);
    f[10] = (uint8_t)c;
    mock_write(f, sizeof f);
    settle();
    assert_true(mock_status() & FB_STATUS_READY);
    /* Chunk: tag 5A, seq 00, "xy", CRC F7 1E; then 0xFF past it. */
    static const uint8_t golden[] = {0x5A, 0x00, 'x', 'y', 0xF7, 0x1E};
    uint8_t got[8];
    mock_plain_read(got, sizeof got);
    assert_memory_equal(got, golden, sizeof golden);
    assert_int_equal(got[6], 0xFF);
    assert_int_equal(got[7], 0xFF);
}

/* ---- appends ---- */

static void full_frames_with_ff_bytes_append_exactly(void **state)
{
    (void)state;
    size_t n = 5 * FB_EXT_PAYLOAD_MAX + 77;
    uint8_t *data = malloc(n);
    fill(data, n, 1);
    memset(&data[100], 0xFF, 300); /* 0xFF across a frame boundary */
    uint8_t seq = 1;
    for (size_t pos = 0; pos < n; pos += FB_EXT_PAYLOAD_MAX, seq++) {
        size_t k = n - pos < FB_EXT_PAYLOAD_MAX ? n - pos : FB_EXT_PAYLOAD_MAX;
        send_append(seq, &data[pos], k);
        mock_run_idle();
    }
    assert_int_equal(mock_error(), 0);
    struct stream_state s = stream_state();
    assert_int_equal(s.seq, 6);
    assert_int_equal(s.size, n);
    mock_reboot();
    uint8_t out[256];
    for (uint16_t i = 0; i * 256u < n; i++) {
        mock_read_sector(i, out);
        size_t have = n - i * 256u < 256 ? n - i * 256u : 256;
        assert_memory_equal(out, &data[i * 256u], have);
    }
    free(data);
}

static void retry_with_same_sequence_number_does_not_duplicate(void **state)
{
    (void)state;
    uint8_t a[200], b[200];
    fill(a, sizeof a, 2);
    fill(b, sizeof b, 3);
    send_append(1, a, sizeof a);
    mock_run_idle();
    /* The host saw a bus error and sends frame 1 again: acknowledged, not appended. */
    send_append(1, a, sizeof a);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    assert_int_equal(stream_state().size, 200);
    /* The repeat may also sit in the queue right behind the original. */
    send_append(2, b, sizeof b);
    send_append(2, b, sizeof b);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    struct stream_state s = stream_state();
    assert_int_equal(s.seq, 2);
    assert_int_equal(s.size, 400);
    uint8_t out[256];
    mock_read_sector(0, out);
    assert_memory_equal(out, a, 200);
    assert_memory_equal(&out[200], b, 56);
}

static void corrupted_frame_is_rejected_and_changes_nothing(void **state)
{
    (void)state;
    uint8_t d[256];
    fill(d, sizeof d, 4);
    send_append(1, d, 10);
    mock_run_idle();
    mock_snapshot();
    uint8_t f[FB_EXT_FRAME_MAX];
    size_t len = append_frame(f, 2, d, sizeof d);
    f[100] ^= 0x04; /* one bit flipped on the bus */
    mock_write(f, len);
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_STREAM | FB_ERR_FAILED);
    mock_assert_flash_unchanged();
    struct stream_state s = stream_state();
    assert_int_equal(s.seq, 1);
    assert_int_equal(s.size, 10);
    assert_int_equal(s.crc_errors, 1);
    /* A corrupted CRC byte is the same failure. */
    len = append_frame(f, 2, d, sizeof d);
    f[len - 1] ^= 0x80;
    mock_write(f, len);
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_STREAM | FB_ERR_FAILED);
    assert_int_equal(stream_state().crc_errors, 2);
    mock_assert_flash_unchanged();
    /* The host sends the frame again, intact: accepted under the same number. */
    send_append(2, d, sizeof d);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    s = stream_state();
    assert_int_equal(s.seq, 2);
    assert_int_equal(s.size, 266);
}

static void out_of_sequence_frame_is_rejected_and_changes_nothing(void **state)
{
    (void)state;
    uint8_t d[50];
    fill(d, sizeof d, 5);
    send_append(1, d, sizeof d);
    mock_run_idle();
    mock_snapshot();
    send_append(3, d, sizeof d); /* frame 2 was lost */
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_STREAM | FB_ERR_FAILED);
    send_append(0, d, sizeof d); /* older than the last accepted */
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_STREAM | FB_ERR_FAILED);
    mock_assert_flash_unchanged();
    struct stream_state s = stream_state();
    assert_int_equal(s.seq, 1);
    assert_int_equal(s.size, 50);
    assert_int_equal(s.crc_errors, 0);
}

static void sequence_numbers_wrap_after_255(void **state)
{
    (void)state;
    uint8_t d = 0x5C;
    for (unsigned i = 1; i <= 300; i++) {
        send_append((uint8_t)i, &d, 1);
        mock_run_idle();
    }
    assert_int_equal(mock_error(), 0);
    struct stream_state s = stream_state();
    assert_int_equal(s.seq, 300 % 256);
    assert_int_equal(s.size, 300);
}

/* A frame that gained or lost bytes on the bus fails its check, whatever the bytes: the
 * data length is in the frame and covered by the CRC. STREAM error, counted with the CRC
 * errors, nothing appended, the sequence number unchanged. */
static void append_frame_of_the_wrong_length_is_rejected(void **state)
{
    (void)state;
    mock_snapshot();
    uint16_t errors = 0;
    struct {
        const uint8_t *f;
        size_t n;
    } bad[16];
    size_t nb = 0;
    /* Protocol 1.x's frame with a trailing zero (its CRC had no length to check and
     * trailing zeros passed it): docs/PROTOCOL.md test vector, now rejected. */
    static const uint8_t old_trailing[] = {0x12, 0x01, 0x61, 0x62, 0x63, 0xBA, 0xB7, 0x00};
    static const uint8_t old_two[] = {0x12, 0x01, 0x61, 0x62, 0x63, 0xBA, 0xB7, 0x00, 0x00};
    static const uint8_t old_exact[] = {0x12, 0x01, 0x61, 0x62, 0x63, 0xBA, 0xB7};
    /* The 2.0 frame for "abc" with one and two zeros after it, and cut short. */
    static const uint8_t new_plus1[] = {0x12, 0x01, 0x02, 0x61, 0x62, 0x63, 0x45, 0x3B, 0x00};
    static const uint8_t new_plus2[] = {0x12, 0x01, 0x02, 0x61, 0x62, 0x63, 0x45, 0x3B, 0x00,
                                        0x00};
    static const uint8_t new_short[] = {0x12, 0x01, 0x02, 0x61, 0x62, 0x63, 0x45};
    bad[nb].f = old_trailing, bad[nb++].n = sizeof old_trailing;
    bad[nb].f = old_two, bad[nb++].n = sizeof old_two;
    bad[nb].f = old_exact, bad[nb++].n = sizeof old_exact;
    bad[nb].f = new_plus1, bad[nb++].n = sizeof new_plus1;
    bad[nb].f = new_plus2, bad[nb++].n = sizeof new_plus2;
    bad[nb].f = new_short, bad[nb++].n = sizeof new_short;
    /* A length byte that does not match the data, with a CRC that is right for the bytes
     * sent: 2 data bytes that say 3. */
    static uint8_t says3[7] = {0x12, 0x01, 0x02, 0x61, 0x62};
    put_crc(says3, 5);
    bad[nb].f = says3, bad[nb++].n = sizeof says3;
    /* No data byte at all; header only. */
    static uint8_t empty[5] = {0x12, 0x01, 0x00};
    put_crc(empty, 3);
    bad[nb].f = empty, bad[nb++].n = sizeof empty;
    static const uint8_t header[] = {0x12, 0x01};
    bad[nb].f = header, bad[nb++].n = sizeof header;
    /* 256 data bytes and one more (overlong: the interrupt stops storing at 261). */
    static uint8_t big[FB_EXT_FRAME_MAX + 8];
    uint8_t d[257];
    fill(d, sizeof d, 11);
    append_frame(big, 1, d, 256);
    big[FB_EXT_FRAME_MAX] = 0x00;
    bad[nb].f = big, bad[nb++].n = FB_EXT_FRAME_MAX + 1;
    for (size_t i = 0; i < nb; i++) {
        mock_write(bad[i].f, bad[i].n);
        mock_run_idle();
        assert_int_equal(mock_error(), FB_ERR_STREAM | FB_ERR_FAILED);
        errors++;
        struct stream_state st = stream_state();
        assert_int_equal(st.seq, 0);
        assert_int_equal(st.size, 0);
        assert_int_equal(st.crc_errors, errors);
    }
    mock_assert_flash_unchanged();
    /* The same frames at their exact length are accepted: 1 and 256 data bytes. */
    uint8_t one[6];
    mock_write(one, append_frame(one, 1, d, 1));
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    mock_write(big, append_frame(big, 2, d, 256));
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    struct stream_state st = stream_state();
    assert_int_equal(st.seq, 2);
    assert_int_equal(st.size, 257);
    uint8_t out[256];
    mock_read_sector(0, out);
    assert_int_equal(out[0], d[0]);
    assert_memory_equal(&out[1], d, 255);
}

/* docs/PROTOCOL.md "Bus": an overlong frame is refused by its command byte first. */
static void overlong_frame_error_follows_its_command_byte(void **state)
{
    (void)state;
    mock_snapshot();
    uint8_t f[FB_EXT_FRAME_MAX + 40];
    memset(f, 0, sizeof f);
    const struct {
        uint8_t cmd, err;
    } cases[] = {
        {0x77, FB_ERR_UNKNOWN_CMD}, /* no such command */
        {FB_CMD_WRITE_DATA, FB_ERR_BAD_PARAM},
        {FB_CMD_READ_SECTOR, FB_ERR_BAD_PARAM},
        {FB_CMD_STATUS, FB_ERR_BAD_PARAM}, /* a register with parameters */
        {FB_CMD_APPEND_CRC, FB_ERR_STREAM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        f[0] = cases[i].cmd;
        mock_write(f, sizeof f);
        mock_run_idle();
        assert_int_equal(mock_error(), cases[i].err | FB_ERR_FAILED);
    }
    mock_assert_flash_unchanged();
}

/* docs/PROTOCOL.md "Prepared responses": a READ frame ends the response it replaces as it
 * arrives, even when it is then rejected. */
static void rejected_read_frame_drops_the_prepared_response(void **state)
{
    (void)state;
    uint8_t d[5] = {1, 2, 3, 4, 5};
    send_append(1, d, sizeof d);
    mock_run_idle();
    uint8_t rs[4] = {FB_CMD_READ_SECTOR, 0, 0, 0};
    mock_write(rs, 3);
    mock_run_idle();
    assert_true(mock_status() & FB_STATUS_READY);
    uint8_t out[8];
    mock_plain_read(out, 5);
    assert_memory_equal(out, d, 5);
    mock_write(rs, 4); /* one byte too many: BAD_PARAM */
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
    assert_false(mock_status() & FB_STATUS_READY);
    mock_plain_read(out, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(out[i], 0xFF);
}

static void bad_lengths_and_register_parameters_are_bad_param(void **state)
{
    (void)state;
    mock_snapshot();
    uint8_t r[12] = {FB_CMD_STREAM_READ};
    put32(&r[1], 0);
    put32(&r[5], 10);
    put_crc(r, 10); /* one byte too many */
    mock_write(r, 12);
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
    uint8_t regs[][2] = {{FB_CMD_CAPS, 0}, {FB_CMD_STREAM_STATE, 0}};
    for (size_t i = 0; i < 2; i++) {
        mock_write(regs[i], 2);
        mock_run_idle();
        assert_int_equal(mock_error(), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
    }
    send_stream_read(0, 0); /* empty */
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
    send_stream_read(FB_FILE_CAPACITY - 10, 11); /* past the capacity */
    mock_run_idle();
    assert_int_equal(mock_error(), FB_ERR_BAD_PARAM | FB_ERR_FAILED);
    mock_assert_flash_unchanged();
    assert_int_equal(stream_state().size, 0);
}

static void frames_queue_while_the_previous_one_programs(void **state)
{
    (void)state;
    uint8_t d[4 * 256];
    fill(d, sizeof d, 6);
    /* Four full frames back to back, no main-loop pass in between: all queued. */
    for (unsigned i = 0; i < FB_QUEUE_DEPTH; i++)
        send_append((uint8_t)(i + 1), &d[i * 256], 256);
    assert_int_equal(mock_status() & FB_STATUS_QUEUE_MASK, 0);
    mock_run(3); /* the first one is programming */
    assert_true(mock_status() & FB_STATUS_BUSY);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    assert_int_equal(stream_state().size, sizeof d);
    uint8_t out[256];
    for (uint16_t i = 0; i < 4; i++) {
        mock_read_sector(i, out);
        assert_memory_equal(out, &d[i * 256], 256);
    }
}

static void v1_and_ext_appends_interleave_in_order(void **state)
{
    (void)state;
    uint8_t v1[32] = {FB_CMD_WRITE_DATA, 3, 'v', '1', '!'};
    send_append(1, (const uint8_t *)"ext", 3);
    mock_write(v1, sizeof v1);
    send_append(2, (const uint8_t *)"EXT", 3);
    mock_run_idle();
    assert_int_equal(mock_error(), 0);
    uint8_t out[256];
    mock_read_sector(0, out);
    assert_memory_equal(out, "extv1!EXT", 9);
    assert_int_equal(out[9], 0xFF);
}

/* ---- streaming reads ---- */

static void append_all(const uint8_t *data, size_t n)
{
    uint8_t seq = (uint8_t)(stream_state().seq + 1);
    for (size_t pos = 0; pos < n; pos += 256, seq++) {
        send_append(seq, &data[pos], n - pos < 256 ? n - pos : 256);
        settle();
    }
    assert_int_equal(mock_error(), 0);
}

static void stream_read_serves_chunks_and_prepares_the_next_one_ahead(void **state)
{
    (void)state;
    size_t n = 1000;
    uint8_t data[1000], got[1000];
    fill(data, n, 7);
    memset(&data[250], 0xFF, 20);
    append_all(data, n);
    send_stream_read(100, 900); /* chunks of 256, 256, 256, 132 */
    settle();
    size_t pos = 0;
    for (uint8_t k = 0; pos < 900; k++) {
        /* The chunk is there without a main-loop pass: prepared while the host read the
         * previous one. */
        assert_true(mock_status() & FB_STATUS_READY);
        size_t c = 900 - pos < 256 ? 900 - pos : 256;
        read_chunk(k, &got[pos], c);
        pos += c;
        settle(); /* the main loop prepares chunk k+2 */
    }
    assert_memory_equal(got, &data[100], 900);
    /* The stream is over: nothing ready, plain reads give 0xFF. */
    assert_false(mock_status() & FB_STATUS_READY);
    uint8_t ff[4];
    mock_plain_read(ff, 4);
    for (int i = 0; i < 4; i++)
        assert_int_equal(ff[i], 0xFF);
    assert_int_equal(mock_error(), 0);
}

static void chunk_is_consumed_only_by_a_complete_read(void **state)
{
    (void)state;
    uint8_t data[600], got[256];
    fill(data, sizeof data, 8);
    append_all(data, sizeof data);
    send_stream_read(0, sizeof data);
    settle();
    uint8_t part[10];
    mock_plain_read(part, sizeof part); /* cut short */
    fb_i2c_addr(true);                  /* and a read aborted by a bus error */
    (void)fb_i2c_read_byte();
    fb_i2c_abort();
    read_chunk(0, got, 256); /* still chunk 0 */
    assert_memory_equal(got, data, 256);
    read_chunk(1, got, 256);
    assert_memory_equal(got, &data[256], 256);
}

static void reading_faster_than_prepared_gives_ff_until_ready(void **state)
{
    (void)state;
    uint8_t data[256 * 3], got[256];
    fill(data, sizeof data, 9);
    append_all(data, sizeof data);
    send_stream_read(0, sizeof data);
    settle(); /* chunks 0 and 1 prepared; 2 waits for a free slot */
    read_chunk(0, got, 256);
    read_chunk(1, got, 256);
    /* No main-loop pass yet: chunk 2 is not there, and the host is told so. */
    assert_false(mock_status() & FB_STATUS_READY);
    uint8_t c[FB_CHUNK_MAX];
    mock_plain_read(c, sizeof c);
    assert_int_equal(c[0], 0xFF);
    settle();
    read_chunk(2, got, 256);
    assert_memory_equal(got, &data[512], 256);
}

static void a_newer_read_command_replaces_the_stream(void **state)
{
    (void)state;
    uint8_t data[256 * 4], got[256];
    fill(data, sizeof data, 10);
    append_all(data, sizeof data);
    send_stream_read(0, sizeof data);
    settle();
    read_chunk(0, got, 256);
    /* v1 READ_SECTOR in the middle: its response, then no more chunks. */
    uint8_t sec[256];
    mock_read_sector(3, sec);
    assert_memory_equal(sec, &data[768], 256);
    mock_plain_read(sec, 256); /* v1 responses stay */
    assert_memory_equal(sec, &data[768], 256);
    settle();
    assert_true(mock_status() & FB_STATUS_READY);
    mock_plain_read(sec, 256);
    assert_memory_equal(sec, &data[768], 256);
    /* A new stream starts again at seq 0. */
    send_stream_read(512, 256);
    settle();
    read_chunk(0, got, 256);
    assert_memory_equal(got, &data[512], 256);
    /* A stream request with a bad CRC: rejected, and the old stream is gone too. */
    send_stream_read(0, 1024);
    settle();
    uint8_t f[11] = {FB_CMD_STREAM_READ, 0, 0, 0, 0, 0, 0, 4, 0, 0x12, 0x34};
    mock_write(f, sizeof f);
    settle();
    assert_int_equal(mock_error(), FB_ERR_STREAM | FB_ERR_FAILED);
    assert_false(mock_status() & FB_STATUS_READY);
    assert_int_equal(stream_state().crc_errors, 1);
}

static void chunk_prepared_while_a_read_command_arrives_is_dropped(void **state)
{
    (void)state;
    uint8_t data[256 * 4], got[256];
    fill(data, sizeof data, 11);
    append_all(data, sizeof data);
    send_stream_read(0, sizeof data);
    settle();
    read_chunk(0, got, 256); /* slot free for chunk 2 */
    /* The main loop takes the free slot to prepare chunk 2 ... */
    uint8_t *slot = mb_response_slot();
    assert_non_null(slot);
    /* ... the I2C interrupt brings a READ_SECTOR meanwhile ... */
    uint8_t f[3] = {FB_CMD_READ_SECTOR, 0, 2};
    mock_write(f, sizeof f);
    /* ... so the chunk must not be served as the answer the host now waits for. */
    assert_false(mb_response_commit(FB_CHUNK_MAX, true));
    assert_false(mock_status() & FB_STATUS_READY);
    settle();
    uint8_t sec[256];
    mock_plain_read(sec, 256);
    assert_memory_equal(sec, &data[512], 256);
}

static void stream_past_end_of_file_reads_ff(void **state)
{
    (void)state;
    uint8_t data[10], got[20];
    fill(data, sizeof data, 12);
    append_all(data, sizeof data);
    send_stream_read(0, 20);
    settle();
    read_chunk(0, got, 20);
    assert_memory_equal(got, data, 10);
    for (int i = 10; i < 20; i++)
        assert_int_equal(got[i], 0xFF);
}

static void stream_state_survives_v1_traffic_and_resets_at_boot(void **state)
{
    (void)state;
    send_append(1, (const uint8_t *)"a", 1);
    settle();
    uint8_t v1[32] = {FB_CMD_WRITE_DATA, 1, 'b'};
    mock_write(v1, sizeof v1);
    settle();
    struct stream_state s = stream_state();
    assert_int_equal(s.seq, 1);
    assert_int_equal(s.size, 2);
    mock_reboot();
    s = stream_state();
    assert_int_equal(s.seq, 0); /* hosts read it before a stream; never assume */
    assert_int_equal(s.size, 2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, mock_setup, mock_cleanup)
    const struct CMUnitTest tests[] = {
        T(crc_test_vector_matches_protocol_header),
        T(caps_register_layout),
        T(append_frame_layout_golden_bytes),
        T(stream_read_frame_and_chunk_layout_golden_bytes),
        T(full_frames_with_ff_bytes_append_exactly),
        T(retry_with_same_sequence_number_does_not_duplicate),
        T(corrupted_frame_is_rejected_and_changes_nothing),
        T(out_of_sequence_frame_is_rejected_and_changes_nothing),
        T(sequence_numbers_wrap_after_255),
        T(append_frame_of_the_wrong_length_is_rejected),
        T(overlong_frame_error_follows_its_command_byte),
        T(rejected_read_frame_drops_the_prepared_response),
        T(bad_lengths_and_register_parameters_are_bad_param),
        T(frames_queue_while_the_previous_one_programs),
        T(v1_and_ext_appends_interleave_in_order),
        T(stream_read_serves_chunks_and_prepares_the_next_one_ahead),
        T(chunk_is_consumed_only_by_a_complete_read),
        T(reading_faster_than_prepared_gives_ff_until_ready),
        T(a_newer_read_command_replaces_the_stream),
        T(chunk_prepared_while_a_read_command_arrives_is_dropped),
        T(stream_past_end_of_file_reads_ff),
        T(stream_state_survives_v1_traffic_and_resets_at_boot),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
