/*
 * Streaming extension, main-loop side. See stream.h and docs/PROTOCOL.md.
 *
 * Appends: the frame's length and CRC are checked here (the interrupt only stored the
 * bytes): the frame says how many data bytes it carries and the CRC covers that count,
 * so a frame that gained or lost bytes on the bus (trailing zeros, which a CRC without
 * final XOR would accept) is refused. Then
 * its sequence number against the last accepted one: the next number is appended, a
 * repeat of the last one is acknowledged without appending (the host retried after a
 * bus error that hid our ACK), anything else is refused so that no frame is ever
 * appended out of order. Frames wait in the mailbox queue while earlier ones program,
 * so the bus never waits on the flash.
 *
 * Reads: the two response slots hold chunk k (being read by the host) and chunk k+1
 * (prepared here meanwhile). A chunk read in full is consumed by the interrupt, which
 * frees its slot for chunk k+2 (xs_read_poll). Chunks are CRC-checked by the host.
 */
#include "stream.h"

#include <string.h>

#include "crc.h"
#include "datafile.h"
#include "errors.h"

static struct {
    uint8_t last_seq;     /* last accepted APPEND_CRC sequence number */
    bool append_running;  /* the engine runs an APPEND_CRC validated here */
    uint8_t pending_seq;  /* its sequence number */
    bool reading;         /* a streaming read has chunks left to prepare */
    uint32_t next;        /* file offset of the next chunk */
    uint32_t left;        /* bytes still to prepare */
    uint8_t chunk_seq;    /* index (mod 256) of the next chunk */
} xs;

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_crc(uint8_t *p, size_t n)
{
    uint16_t c = fb_crc16(FB_CRC16_INIT, p, n);
    p[n] = (uint8_t)(c >> 8);
    p[n + 1] = (uint8_t)c;
}

/* The last two of the n bytes are the CRC of the ones before. */
static bool crc_ok(const uint8_t *p, size_t n)
{
    uint16_t c = fb_crc16(FB_CRC16_INIT, p, n - 2);
    return p[n - 2] == (uint8_t)(c >> 8) && p[n - 1] == (uint8_t)c;
}

void xs_init(void)
{
    memset(&xs, 0, sizeof xs);
    uint8_t caps[FB_CAPS_LEN] = {
        FB_CAPS_MAGIC0, FB_CAPS_MAGIC1, FB_EXT_VERSION,
        FB_FEAT_APPEND_CRC | FB_FEAT_STREAM_READ,
        (uint8_t)(FB_EXT_PAYLOAD_MAX >> 8), (uint8_t)FB_EXT_PAYLOAD_MAX,
        FB_QUEUE_DEPTH, 0,
    };
    put_crc(caps, FB_CAPS_LEN - 2);
    mb_publish_caps(caps);
}

int xs_append_start(const fb_frame_t *f, bool flash_ok)
{
    /* Too short to hold its length byte, overlong (FB_FRAME_OVERLONG), or not the length
     * it declares: all are the frame check failing, like a bad CRC. */
    if (f->len < FB_APPEND_CRC_OVERHEAD + 1u || f->len > FB_EXT_FRAME_MAX ||
        f->len != f->data[2] + 1u + FB_APPEND_CRC_OVERHEAD || !crc_ok(f->data, f->len)) {
        mb_count_crc_error();
        return FB_ECRC;
    }
    uint8_t seq = f->data[1];
    if (seq == xs.last_seq)
        return FB_OK; /* a repeat: its data is already in the file */
    if (seq != (uint8_t)(xs.last_seq + 1u))
        return FB_ESEQ;
    if (!flash_ok)
        return FB_EFLASH;
    int err = df_append_start(&f->data[3], f->len - FB_APPEND_CRC_OVERHEAD);
    if (err == FB_OK || err == FB_EAGAIN) {
        xs.append_running = true;
        xs.pending_seq = seq;
    }
    return err;
}

void xs_command_done(int err, uint32_t file_size)
{
    if (!xs.append_running)
        return;
    xs.append_running = false;
    if (err != FB_OK)
        return;
    xs.last_seq = xs.pending_seq;
    mb_publish_append(xs.last_seq, file_size);
}

/* Prepare the next chunk in out (a free response slot) and serve it. */
static int fill_chunk(uint8_t *out)
{
    uint16_t n = xs.left < FB_EXT_PAYLOAD_MAX ? (uint16_t)xs.left : FB_EXT_PAYLOAD_MAX;
    out[0] = FB_CHUNK_TAG;
    out[1] = xs.chunk_seq;
    int err = df_read(xs.next, &out[2], n);
    if (err) {
        xs.reading = false;
        return err;
    }
    put_crc(out, 2u + n);
    if (!mb_response_commit((uint16_t)(n + FB_CHUNK_OVERHEAD), true)) {
        xs.reading = false; /* a newer READ command replaces this stream */
        return FB_OK;
    }
    xs.chunk_seq++;
    xs.next += n;
    xs.left -= n;
    if (xs.left == 0)
        xs.reading = false;
    return FB_OK;
}

void xs_read_cancel(void)
{
    xs.reading = false;
}

int xs_read_start(const fb_frame_t *f, bool flash_ok)
{
    xs_read_cancel();
    if (f->len != 1u + FB_LEN_STREAM_READ)
        return FB_EINVAL;
    if (!crc_ok(f->data, f->len)) {
        mb_count_crc_error();
        return FB_ECRC;
    }
    uint32_t off = get32(&f->data[1]), n = get32(&f->data[5]);
    if (n == 0 || off > FB_FILE_CAPACITY || n > FB_FILE_CAPACITY - off)
        return FB_EINVAL;
    if (!flash_ok)
        return FB_EFLASH;
    mb_response_reset();
    xs.reading = true;
    xs.next = off;
    xs.left = n;
    xs.chunk_seq = 0;
    uint8_t *out = mb_response_slot();
    if (!out) {
        xs.reading = false; /* a newer READ command already waits: it answers instead */
        return FB_OK;
    }
    return fill_chunk(out);
}

bool xs_read_poll(void)
{
    if (!xs.reading)
        return false;
    uint8_t *out = mb_response_slot();
    if (!out)
        return false;
    int err = fill_chunk(out);
    if (err)
        mb_background_failed(fb_err_to_bits(err)); /* its command has retired: ERRORS */
    return true;
}

bool xs_read_pending(void)
{
    return xs.reading && mb_response_slot() != NULL;
}
