/*
 * I2C target, interrupt side: assembles write frames, answers register reads at once,
 * serves the prepared response on plain reads, and posts command frames to the main
 * loop (mailbox.h). Nothing here waits or touches a flash device.
 *
 * Written bytes go straight into the free queue slot (up to FB_EXT_FRAME_MAX of them):
 * nothing is copied at STOP, so every event costs a few instructions whatever the frame
 * length. CRCs of streaming frames are checked by the main loop, not here.
 *
 * Read sources, in order of precedence when the controller starts reading:
 *  1. a register named by a one-byte write in the same transaction (repeated start);
 *  2. a register named by a one-byte write in the previous transaction that ended with
 *     STOP (write-then-plain-read), served once;
 *  3. the prepared response of the last READ command (0xFF while none is ready); a
 *     streaming chunk read in full is consumed and the next one takes its place.
 * Reads past the end of a source return 0xFF.
 */
#include "i2c_target.h"

#include "flashbridge/protocol.h"
#include "mailbox.h"

/* The longest register: every register read is served from a copy taken when the read
 * begins, never from live state the main loop may publish anew mid-read. */
#define SNAP_LEN FB_FILENAME_LEN
_Static_assert(SNAP_LEN >= FB_CAPS_LEN && SNAP_LEN >= FB_STREAM_STATE_LEN && SNAP_LEN >= 4,
               "a register does not fit the snapshot");

/* Interrupt-private state: only the I2C interrupt reads or writes it. */
static struct {
    fb_frame_t *slot;   /* queue slot this write fills; NULL when the queue was full */
    uint16_t rx_len;    /* bytes of the current write phase, saturating at OVERLONG */
    uint8_t cmd;        /* first byte of the current write phase */
    uint8_t selected;   /* register chosen by this transaction's write, 0 = none */
    uint8_t one_shot;   /* register for the next plain read, 0 = none */
    bool writing;       /* a write phase is in progress */
    bool sending_response;
    uint8_t clear_on_send; /* FB_CMD_ERROR / FB_CMD_ERRORS: snap[0] holds bits not yet
                            * sent, cleared once they go out; 0 = none */
    const uint8_t *src; /* current read source */
    uint16_t src_len;
    uint16_t pos;
    uint8_t snap[SNAP_LEN]; /* register value captured whole when the read began */
} t FB_RAMDATA;

static bool is_register(uint8_t cmd) FB_RAMFUNC;
static bool is_register(uint8_t cmd)
{
    return cmd == FB_CMD_WHO_AM_I || cmd == FB_CMD_GET_FILENAME || cmd == FB_CMD_STATUS ||
           cmd == FB_CMD_ERROR || cmd == FB_CMD_FILE_SIZE || cmd == FB_CMD_CAPS ||
           cmd == FB_CMD_STREAM_STATE || cmd == FB_CMD_EXT_STATUS || cmd == FB_CMD_ERRORS;
}

/* Point the read source at register reg, captured whole now: a multi-byte register read
 * is one value even if the main loop publishes a new one while the host clocks it out. */
static void select_register(uint8_t reg) FB_RAMFUNC;
static void select_register(uint8_t reg)
{
    t.src = t.snap;
    t.src_len = 1;
    switch (reg) {
    case FB_CMD_WHO_AM_I:
        t.snap[0] = FB_WHO_AM_I_VALUE;
        break;
    case FB_CMD_STATUS:
        t.snap[0] = mb_isr_status();
        break;
    case FB_CMD_EXT_STATUS:
        t.snap[0] = mb_isr_ext_status();
        break;
    case FB_CMD_ERROR:
        /* Cleared once the byte goes out (fb_i2c_read_byte), not here: a transfer
         * aborted before it must not lose the error. */
        t.snap[0] = mb_isr_error();
        t.clear_on_send = reg;
        break;
    case FB_CMD_ERRORS:
        t.snap[0] = mb_isr_errors();
        t.clear_on_send = reg;
        break;
    case FB_CMD_FILE_SIZE:
        mb_isr_file_size(t.snap);
        t.src_len = 4;
        break;
    case FB_CMD_STREAM_STATE:
        mb_isr_stream_state(t.snap);
        t.src_len = FB_STREAM_STATE_LEN;
        break;
    case FB_CMD_CAPS:
        mb_isr_caps(t.snap);
        t.src_len = FB_CAPS_LEN;
        break;
    default: /* FB_CMD_GET_FILENAME */
        mb_isr_filename(t.snap);
        t.src_len = FB_FILENAME_LEN;
        break;
    }
}

/* The write phase ended (STOP or repeated start): decide what the frame was. */
static void end_write(bool stop) FB_RAMFUNC;
static void end_write(bool stop)
{
    t.writing = false;
    if (t.rx_len == 0)
        return; /* address-only probe */
    if (t.rx_len == 1 && is_register(t.cmd)) {
        if (stop)
            t.one_shot = t.cmd;
        else
            t.selected = t.cmd;
        return;
    }
    if (!t.slot) {
        /* Never silently dropped: the host learns it from ERROR. */
        mb_isr_set_error(FB_ERR_QUEUE_FULL | FB_ERR_FAILED);
        return;
    }
    t.slot->len = t.rx_len;
    mb_isr_post();
}

static void end_read(void) FB_RAMFUNC;
static void end_read(void)
{
    if (t.sending_response)
        mb_isr_response_end(t.pos >= t.src_len);
    t.sending_response = false;
    t.clear_on_send = 0;
    t.src = 0;
    t.src_len = 0;
}

void fb_i2c_addr(bool read)
{
    if (t.writing)
        end_write(false);
    end_read();
    if (!read) {
        t.writing = true;
        t.rx_len = 0;
        t.slot = mb_isr_slot();
        t.selected = 0;
        t.one_shot = 0; /* a register chosen by an earlier write is for the very next read */
        return;
    }
    t.pos = 0;
    if (t.selected) {
        select_register(t.selected);
        t.selected = 0;
    } else if (t.one_shot) {
        select_register(t.one_shot);
        t.one_shot = 0;
    } else {
        uint16_t len = 0;
        t.src = mb_isr_response_begin(&len);
        t.src_len = len;
        t.sending_response = t.src != 0;
    }
}

bool fb_i2c_write_byte(uint8_t byte)
{
    if (!t.writing)
        return false;
    if (t.rx_len == 0)
        t.cmd = byte;
    if (t.slot && t.rx_len < FB_SLOT_LEN)
        t.slot->data[t.rx_len] = byte;
    if (t.rx_len < FB_FRAME_OVERLONG)
        t.rx_len++; /* FB_FRAME_OVERLONG marks an overlong frame */
    return true;
}

uint8_t fb_i2c_read_byte(void)
{
    if (t.pos >= t.src_len)
        return 0xFF;
    if (t.clear_on_send == FB_CMD_ERROR)
        mb_isr_clear_error(t.snap[0]);
    else if (t.clear_on_send == FB_CMD_ERRORS)
        mb_isr_clear_errors(t.snap[0]);
    t.clear_on_send = 0;
    return t.src[t.pos++];
}

void fb_i2c_stop(void)
{
    if (t.writing)
        end_write(true);
    end_read();
    t.selected = 0;
}

void fb_i2c_abort(void)
{
    t.writing = false;
    t.rx_len = 0;
    t.slot = 0;
    t.selected = 0;
    /* Not a complete read: a streaming chunk stays to be read again. */
    t.pos = 0;
    end_read();
}

void fb_i2c_reset(void)
{
    t.slot = 0;
    t.rx_len = 0;
    t.cmd = 0;
    t.selected = 0;
    t.one_shot = 0;
    t.writing = false;
    t.sending_response = false;
    t.clear_on_send = 0;
    t.src = 0;
    t.src_len = 0;
    t.pos = 0;
}
