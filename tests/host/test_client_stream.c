/*
 * The client's streaming-extension code against the mock target: protocol choice and
 * fallback to v1, frame bytes, sequence numbers, retries after bus errors, go-back-N
 * after refused frames, chunk checks and restarts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "pattern.h"
#include "flashbridge.h"
#include "flashbridge/protocol.h"
#include "mock_target.h"

typedef struct fixture {
    mock_target_t m;
    fb_client_t c;
} fixture_t;

static int setup_v11(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    mock_init(&f->m);
    fb_client_init(&f->c, &f->m.base, FB_I2C_ADDR);
    *state = f;
    return 0;
}

/* A protocol 2.0 target with the streaming extension (the firmware's protocol). */
static int setup_ext(void **state)
{
    setup_v11(state);
    ((fixture_t *)*state)->m.ext = true;
    ((fixture_t *)*state)->m.v2 = true;
    return 0;
}

/* flashbridge 1.2-1.3: the extension, with its bits in STATUS and no EXT_STATUS. */
static int setup_ext_v1x(void **state)
{
    setup_v11(state);
    ((fixture_t *)*state)->m.ext = true;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    mock_free(&f->m);
    free(f);
    return 0;
}

/* Register reads of reg in the log. */
static unsigned count_reg_reads(const mock_target_t *m, uint8_t reg)
{
    unsigned k = 0;
    for (size_t i = 0; i < m->nlog; i++)
        k += m->log[i].wlen == 1 && m->log[i].rlen > 0 && m->log[i].w[0] == reg;
    return k;
}

/* ---- choosing the protocol ---- */

static void test_crc_check_value(void **state)
{
    (void)state;
    assert_int_equal(fb_crc16(FB_EXT_CRC_INIT, "123456789", 9), FB_EXT_CRC_CHECK);
}

static void test_caps_decoded(void **state)
{
    fixture_t *f = *state;
    fb_caps_t caps;
    assert_int_equal(fb_caps(&f->c, &caps), FB_HOST_OK);
    assert_int_equal(caps.version, FB_EXT_VERSION);
    assert_int_equal(caps.features, FB_FEAT_APPEND_CRC | FB_FEAT_STREAM_READ);
    assert_int_equal(caps.max_payload, 256);
    assert_int_equal(caps.queue_depth, FB_QUEUE_DEPTH);
    fb_proto_t p;
    assert_int_equal(fb_protocol(&f->c, &p), FB_HOST_OK);
    assert_int_equal(p, FB_PROTO_EXT);
    /* Asked once per client. */
    assert_int_equal(fb_protocol(&f->c, &p), FB_HOST_OK);
    assert_int_equal(f->m.caps_reads, 2);
}

static void test_fallback_to_v1_without_caps(void **state)
{
    fixture_t *f = *state; /* a v1.1 target: 0x83 is an unknown command to it */
    uint8_t data[100], back[100];
    test_pattern(data, sizeof data, 1);
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(f->c.proto, FB_PROTO_V1);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), 4);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 0);
    /* The unknown-command flag our question raised was cleared, not left behind. */
    assert_int_equal(f->m.error, 0);
    assert_int_equal(fb_file_read(&f->c, 0, back, sizeof back), FB_HOST_OK);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_STREAM_READ), 0);
    assert_true(mock_count_frames(&f->m, FB_CMD_READ_SECTOR) > 0);
    assert_int_equal(count_reg_reads(&f->m, FB_CMD_CAPS), 1);
    fb_caps_t caps;
    assert_int_equal(fb_caps(&f->c, &caps), FB_HOST_ENOTSUP);
}

static void test_probe_leaves_a_pending_error_alone(void **state)
{
    fixture_t *f = *state;
    f->m.error = FB_ERR_FILE_FULL | FB_ERR_FAILED;
    fb_proto_t p;
    assert_int_equal(fb_protocol(&f->c, &p), FB_HOST_OK);
    assert_int_equal(p, FB_PROTO_V1);
    assert_true(f->m.error & FB_ERR_FILE_FULL); /* still there for the host to read */
}

static void test_probe_on_a_v1_status_target(void **state)
{
    fixture_t *f = *state;
    f->m.v1_status = true; /* STeaMi firmware: STATUS has BUSY only */
    fb_proto_t p;
    assert_int_equal(fb_protocol(&f->c, &p), FB_HOST_OK);
    assert_int_equal(p, FB_PROTO_V1);
}

static void test_forced_v1_never_asks(void **state)
{
    fixture_t *f = *state;
    f->c.proto = FB_PROTO_V1;
    uint8_t data[300], back[300];
    test_pattern(data, sizeof data, 2);
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(fb_file_read(&f->c, 0, back, sizeof back), FB_HOST_OK);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(count_reg_reads(&f->m, FB_CMD_CAPS), 0);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), 10);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 0);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_STREAM_READ), 0);
}

static void test_transport_error_while_asking_is_not_cached(void **state)
{
    fixture_t *f = *state;
    f->m.eio_xfer = 1; /* the CAPS read */
    fb_proto_t p;
    assert_int_equal(fb_protocol(&f->c, &p), FB_HOST_EIO);
    assert_int_equal(f->c.proto, FB_PROTO_AUTO);
    assert_int_equal(fb_protocol(&f->c, &p), FB_HOST_OK);
    assert_int_equal(p, FB_PROTO_EXT);
}

/* ---- appends ---- */

/* A target whose CAPS says version 1 frames APPEND_CRC without a length (a frame with
 * trailing zeros passes its check there): appends go as v1 frames instead. */
static void test_caps_v1_target_gets_v1_appends(void **state)
{
    fixture_t *f = *state;
    f->m.caps_version = 1;
    uint8_t data[100];
    test_pattern(data, sizeof data, 4);
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(f->c.proto, FB_PROTO_EXT);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 0);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), 4);
    assert_memory_equal(f->m.file, data, sizeof data);
}

static void test_ext_append_frames(void **state)
{
    fixture_t *f = *state;
    uint8_t data[1000];
    test_pattern(data, sizeof data, 3);
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(f->c.proto, FB_PROTO_EXT);
    assert_int_equal(f->m.file_size, sizeof data);
    assert_memory_equal(f->m.file, data, sizeof data);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), 0);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 4);
    /* Frame k: 0x12, seq k+1 (the target's last accepted was 0), n - 1, data, CRC. */
    const size_t sizes[4] = {256, 256, 256, 232};
    for (unsigned k = 0; k < 4; k++) {
        const mock_xfer_t *e = mock_nth_frame(&f->m, FB_CMD_APPEND_CRC, k);
        assert_int_equal(e->wlen, sizes[k] + FB_APPEND_CRC_OVERHEAD);
        assert_int_equal(e->w[1], k + 1);
        assert_int_equal(e->w[2], sizes[k] - 1);
        assert_memory_equal(&e->w[3], data + 256 * k, MOCK_FRAME_LOG_MAX - 3);
    }
    assert_int_equal(f->m.last_seq, 4);
    assert_int_equal(f->m.credit_violations, 0);
    assert_int_equal(f->m.dropped, 0);
    assert_int_equal(f->m.max_burst, FB_QUEUE_DEPTH);
    assert_int_equal(f->c.stats.bus_retries + f->c.stats.resyncs, 0);
}

static void test_ext_append_numbers_from_the_target_and_wraps(void **state)
{
    fixture_t *f = *state;
    f->m.last_seq = 250;
    enum { N = 20 * 256 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 4);
    f->m.cmd_polls = 2; /* slots free slowly: credits of one or two */
    assert_int_equal(fb_file_append(&f->c, data, N), FB_HOST_OK);
    assert_int_equal(mock_nth_frame(&f->m, FB_CMD_APPEND_CRC, 0)->w[1], 251);
    assert_int_equal(mock_nth_frame(&f->m, FB_CMD_APPEND_CRC, 5)->w[1], 0);
    assert_int_equal(f->m.last_seq, (250 + 20) % 256);
    assert_memory_equal(f->m.file, data, N);
    assert_int_equal(f->m.credit_violations, 0);
    free(data);
}

static void test_ext_append_lost_ack_is_sent_again_once_appended(void **state)
{
    fixture_t *f = *state;
    uint8_t data[1024];
    test_pattern(data, sizeof data, 5);
    f->m.lost_ack_frame = 2; /* delivered, but the host hears a bus error */
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(f->c.stats.bus_retries, 1);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 5);
    /* Both copies carried seq 2; the target kept one. */
    assert_int_equal(mock_nth_frame(&f->m, FB_CMD_APPEND_CRC, 2)->w[1], 2);
    assert_int_equal(f->m.file_size, sizeof data);
    assert_memory_equal(f->m.file, data, sizeof data);
}

static void test_ext_append_nacked_frame_is_sent_again(void **state)
{
    fixture_t *f = *state;
    uint8_t data[700];
    test_pattern(data, sizeof data, 6);
    f->m.nack_frame = 1; /* never got there */
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(f->c.stats.bus_retries, 1);
    assert_memory_equal(f->m.file, data, sizeof data);
    assert_int_equal(f->m.file_size, sizeof data);
}

static void test_ext_append_gives_up_after_retries(void **state)
{
    fixture_t *f = *state;
    uint8_t data[100];
    test_pattern(data, sizeof data, 7);
    f->m.absent = true;
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_ENACK);
}

static void test_ext_append_corrupted_frame_goes_back(void **state)
{
    fixture_t *f = *state;
    enum { N = 10 * 256 + 17 };
    uint8_t *data = malloc(N);
    test_pattern(data, N, 8);
    f->m.corrupt_frame = 2; /* refused for its CRC; frames 3.. for their sequence */
    assert_int_equal(fb_file_append(&f->c, data, N), FB_HOST_OK);
    assert_int_equal(f->m.crc_errors, 1);
    assert_int_equal(f->c.stats.resyncs, 1);
    assert_int_equal(f->m.file_size, N);
    assert_memory_equal(f->m.file, data, N);
    assert_int_equal(f->m.error, 0);
    free(data);
}

static void test_ext_append_corrupted_last_frame_is_found_by_the_check(void **state)
{
    fixture_t *f = *state;
    uint8_t data[600];
    test_pattern(data, sizeof data, 9);
    f->m.corrupt_frame = 3;
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(f->c.stats.resyncs, 1);
    assert_int_equal(f->m.file_size, sizeof data);
    assert_memory_equal(f->m.file, data, sizeof data);
}

static void test_ext_append_file_full_is_not_retried(void **state)
{
    fixture_t *f = *state;
    uint8_t data[2000];
    test_pattern(data, sizeof data, 10);
    f->m.file_cap = 600;
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_EDEVICE);
    assert_true(f->c.last_error & FB_ERR_FILE_FULL);
    assert_int_equal(f->c.stats.resyncs, 0);
    assert_int_equal(f->m.file_size, 512);
}

static void test_ext_append_target_that_forgot_its_state_is_an_error(void **state)
{
    fixture_t *f = *state;
    uint8_t data[3000];
    test_pattern(data, sizeof data, 11);
    f->m.last_seq = 100;
    f->m.reboot_frame = 3; /* its sequence state is gone: our numbers mean nothing */
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_EPROTO);
}

/* ---- reads ---- */

static void test_ext_read_one_request_many_chunks(void **state)
{
    fixture_t *f = *state;
    uint8_t file[3000], out[2500];
    test_pattern(file, sizeof file, 12);
    mock_set_file(&f->m, file, sizeof file);
    assert_int_equal(fb_file_read(&f->c, 300, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, file + 300, sizeof out);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_STREAM_READ), 1);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_READ_SECTOR), 0);
    const mock_xfer_t *e = mock_nth_frame(&f->m, FB_CMD_STREAM_READ, 0);
    static const uint8_t head[9] = {0x21, 0, 0, 0x01, 0x2C, 0, 0, 0x09, 0xC4};
    assert_int_equal(e->wlen, 11);
    assert_memory_equal(e->w, head, sizeof head);
    /* Ten chunks, each read whole (data + 4), nothing read before it was ready. */
    assert_int_equal(f->m.plain_reads, 10);
    assert_int_equal(f->m.log[f->m.nlog - 1].rlen, 2500 - 9 * 256 + FB_CHUNK_OVERHEAD);
    assert_int_equal(f->c.stats.read_restarts + f->c.stats.not_ready, 0);
}

static void test_ext_read_bad_chunk_asks_again_from_its_offset(void **state)
{
    fixture_t *f = *state;
    uint8_t file[2000], out[2000];
    test_pattern(file, sizeof file, 13);
    mock_set_file(&f->m, file, sizeof file);
    f->m.corrupt_read = 3;
    assert_int_equal(fb_file_read(&f->c, 0, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, file, sizeof out);
    assert_int_equal(f->c.stats.read_restarts, 1);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_STREAM_READ), 2);
    const mock_xfer_t *e = mock_nth_frame(&f->m, FB_CMD_STREAM_READ, 1);
    assert_int_equal(e->w[3] << 8 | e->w[4], 512); /* chunk 2 starts at 512 */
}

static void test_ext_read_bus_error_asks_again(void **state)
{
    fixture_t *f = *state;
    uint8_t file[1000], out[1000];
    test_pattern(file, sizeof file, 14);
    mock_set_file(&f->m, file, sizeof file);
    f->m.eio_read = 2;
    assert_int_equal(fb_file_read(&f->c, 0, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, file, sizeof out);
    assert_int_equal(f->c.stats.read_restarts, 1);
}

static void test_ext_read_waits_for_a_late_chunk(void **state)
{
    fixture_t *f = *state;
    uint8_t file[800], out[800];
    test_pattern(file, sizeof file, 15);
    mock_set_file(&f->m, file, sizeof file);
    f->m.chunk_late = 2;
    assert_int_equal(fb_file_read(&f->c, 0, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, file, sizeof out);
    assert_int_equal(f->c.stats.not_ready, 2);
    assert_int_equal(f->c.stats.read_restarts, 0);
}

static void test_ext_read_refused_request_is_reported(void **state)
{
    fixture_t *f = *state;
    uint8_t out[16];
    f->m.fail_cmd = FB_CMD_STREAM_READ;
    f->m.fail_bits = FB_ERR_FLASH;
    assert_int_equal(fb_file_read(&f->c, 0, out, sizeof out), FB_HOST_EDEVICE);
    assert_int_equal(f->c.last_error, FB_ERR_FLASH | FB_ERR_FAILED);
}

static void test_ext_read_past_end_is_ff(void **state)
{
    fixture_t *f = *state;
    uint8_t file[10], out[40];
    test_pattern(file, sizeof file, 16);
    mock_set_file(&f->m, file, sizeof file);
    assert_int_equal(fb_file_read(&f->c, 0, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, file, 10);
    for (int i = 10; i < 40; i++)
        assert_int_equal(out[i], 0xFF);
}

static void test_stream_state_register(void **state)
{
    fixture_t *f = *state;
    uint8_t d[300] = {0};
    mock_set_file(&f->m, d, sizeof d);
    f->m.last_seq = 77;
    f->m.crc_errors = 0x0102;
    uint8_t seq;
    uint16_t crc;
    uint32_t size;
    assert_int_equal(fb_stream_state(&f->c, &seq, &crc, &size), FB_HOST_OK);
    assert_int_equal(seq, 77);
    assert_int_equal(crc, 0x0102);
    assert_int_equal(size, 300);
    assert_int_equal(fb_stream_state(&f->c, NULL, NULL, NULL), FB_HOST_OK);
}

/* ---- protocol 2.0 registers ---- */

/* A 2.0 target: its STATUS shows no extension bit, so the client asks CAPS once and then
 * polls EXT_STATUS and collects failures from ERRORS, never from STATUS/ERROR. */
static void test_v2_target_is_polled_through_ext_status_and_errors(void **state)
{
    fixture_t *f = *state;
    uint8_t data[1000], back[1000];
    test_pattern(data, sizeof data, 9);
    uint8_t cfg[40] = {1, 2, 3};
    assert_int_equal(fb_config_write(&f->c, 0, cfg, sizeof cfg), FB_HOST_OK);
    assert_int_equal(f->c.regs, FB_REGS_EXT);
    unsigned v1_status_reads = count_reg_reads(&f->m, FB_CMD_STATUS);
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(fb_file_read(&f->c, 0, back, sizeof back), FB_HOST_OK);
    assert_memory_equal(back, data, sizeof data);
    uint8_t out[40];
    assert_int_equal(fb_config_read(&f->c, 0, out, sizeof out), FB_HOST_OK);
    assert_memory_equal(out, cfg, sizeof cfg);
    assert_int_equal(count_reg_reads(&f->m, FB_CMD_STATUS), v1_status_reads);
    assert_true(f->m.ext_status_reads > 0);
    assert_int_equal(f->m.credit_violations, 0);
    assert_true(f->m.max_burst > 1); /* credits from EXT_STATUS's free-slot count */
    f->m.fail_cmd = FB_CMD_CLEAR_CONFIG;
    f->m.fail_bits = FB_ERR_FLASH;
    assert_int_equal(fb_config_clear(&f->c), FB_HOST_EDEVICE);
    assert_int_equal(f->c.last_error, FB_ERR_FLASH | FB_ERR_FAILED);
    assert_true(f->m.errors_reads > 0);
    assert_int_equal(f->m.error_reads, 0);
    assert_int_equal(count_reg_reads(&f->m, FB_CMD_CAPS), 1);
}

/* flashbridge 1.2-1.3 has no EXT_STATUS: its STATUS carries the bits, and stays in use. */
static void test_v1x_extension_target_keeps_status(void **state)
{
    fixture_t *f = *state;
    uint8_t data[600];
    test_pattern(data, sizeof data, 10);
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(f->c.regs, FB_REGS_V1);
    assert_int_equal(f->m.ext_status_reads, 0);
    assert_int_equal(f->m.errors_reads, 0);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), 3);
}

/* v1 forced against a 2.0 target: STATUS (BUSY only) and ERROR, as a v1 host; READ_SECTOR
 * is read once BUSY clears (no READY bit there), failures come from ERROR. */
static void test_forced_v1_on_a_v2_target(void **state)
{
    fixture_t *f = *state;
    f->c.proto = FB_PROTO_V1;
    uint8_t data[100], back[100];
    test_pattern(data, sizeof data, 11);
    assert_int_equal(fb_file_append(&f->c, data, sizeof data), FB_HOST_OK);
    assert_int_equal(fb_file_read(&f->c, 0, back, sizeof back), FB_HOST_OK);
    assert_memory_equal(back, data, sizeof data);
    assert_int_equal(f->m.ext_status_reads, 0);
    assert_int_equal(f->m.caps_reads, 0);
    f->m.fail_cmd = FB_CMD_WRITE_DATA;
    f->m.fail_bits = FB_ERR_FILE_FULL;
    assert_int_equal(fb_file_append(&f->c, data, 10), FB_HOST_EDEVICE);
    assert_int_equal(f->c.last_error, FB_ERR_FILE_FULL | FB_ERR_FAILED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc_check_value),
        cmocka_unit_test_setup_teardown(test_caps_decoded, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_fallback_to_v1_without_caps, setup_v11, teardown),
        cmocka_unit_test_setup_teardown(test_probe_leaves_a_pending_error_alone, setup_v11, teardown),
        cmocka_unit_test_setup_teardown(test_probe_on_a_v1_status_target, setup_v11, teardown),
        cmocka_unit_test_setup_teardown(test_forced_v1_never_asks, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_transport_error_while_asking_is_not_cached, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_append_frames, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_caps_v1_target_gets_v1_appends, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_append_numbers_from_the_target_and_wraps, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_append_lost_ack_is_sent_again_once_appended, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_append_nacked_frame_is_sent_again, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_append_gives_up_after_retries, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_append_corrupted_frame_goes_back, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_append_corrupted_last_frame_is_found_by_the_check, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_append_file_full_is_not_retried, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_append_target_that_forgot_its_state_is_an_error, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_read_one_request_many_chunks, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_read_bad_chunk_asks_again_from_its_offset, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_read_bus_error_asks_again, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_read_waits_for_a_late_chunk, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_read_refused_request_is_reported, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_ext_read_past_end_is_ff, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_stream_state_register, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_v2_target_is_polled_through_ext_status_and_errors, setup_ext, teardown),
        cmocka_unit_test_setup_teardown(test_v1x_extension_target_keeps_status, setup_ext_v1x, teardown),
        cmocka_unit_test_setup_teardown(test_forced_v1_on_a_v2_target, setup_ext, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
