/*
 * I2C target, interrupt side: assembles write frames, answers register reads at once,
 * serves the prepared response on plain reads, and posts command frames to the main
 * loop (mailbox.h). Nothing here waits or touches a flash device.
 *
 * Read sources, in order of precedence when the controller starts reading:
 *  1. a register named by a one-byte write in the same transaction (repeated start);
 *  2. a register named by a one-byte write in the previous transaction that ended with
 *     STOP (write-then-plain-read), served once;
 *  3. the prepared response of the last READ_SECTOR / READ_CONFIG (0xFF while none is
 *     ready).
 * Reads past the end of a source return 0xFF.
 */
#include "i2c_target.h"

#include "flashbridge/protocol.h"
#include "mailbox.h"

/* Interrupt-private state: only the I2C interrupt reads or writes it. */
static struct {
    uint8_t rx[FB_FRAME_MAX];
    uint8_t rx_len;     /* bytes of the current write phase, saturating past FB_FRAME_MAX */
    uint8_t selected;   /* register chosen by this transaction's write, 0 = none */
    uint8_t one_shot;   /* register for the next plain read, 0 = none */
    bool writing;       /* a write phase is in progress */
    bool sending_response;
    bool error_pending; /* snap[0] holds ERROR bits not yet sent */
    const uint8_t *src; /* current read source */
    uint16_t src_len;
    uint16_t pos;
    uint8_t snap[4];    /* register value captured when the read began */
} t FB_RAMDATA;

static bool is_register(uint8_t cmd) FB_RAMFUNC;
static bool is_register(uint8_t cmd)
{
    return cmd == FB_CMD_WHO_AM_I || cmd == FB_CMD_GET_FILENAME || cmd == FB_CMD_STATUS ||
           cmd == FB_CMD_ERROR || cmd == FB_CMD_FILE_SIZE;
}

/* Point the read source at register reg. Values are captured now, so a multi-byte
 * register read is consistent even if the main loop updates it meanwhile. */
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
    case FB_CMD_ERROR:
        /* Cleared once the byte goes out (fb_i2c_read_byte), not here: a transfer
         * aborted before it must not lose the error. */
        t.snap[0] = mb_isr_error();
        t.error_pending = true;
        break;
    case FB_CMD_FILE_SIZE: {
        uint32_t size = mb_isr_file_size();
        t.snap[0] = (uint8_t)(size >> 24);
        t.snap[1] = (uint8_t)(size >> 16);
        t.snap[2] = (uint8_t)(size >> 8);
        t.snap[3] = (uint8_t)size;
        t.src_len = 4;
        break;
    }
    default: /* FB_CMD_GET_FILENAME: published by the main loop under its lock */
        t.src = mb_isr_filename();
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
    uint8_t cmd = t.rx[0];
    if (t.rx_len == 1 && is_register(cmd)) {
        if (stop)
            t.one_shot = cmd;
        else
            t.selected = cmd;
        return;
    }
    fb_frame_t *slot = mb_isr_slot();
    if (!slot) {
        /* Never silently dropped: the host learns it from ERROR. */
        mb_isr_set_error(FB_ERR_QUEUE_FULL | FB_ERR_FAILED);
        return;
    }
    uint8_t n = t.rx_len > FB_FRAME_MAX ? FB_FRAME_MAX : t.rx_len;
    for (uint8_t i = 0; i < n; i++)
        slot->data[i] = t.rx[i];
    slot->len = t.rx_len;
    if (cmd == FB_CMD_READ_SECTOR || cmd == FB_CMD_READ_CONFIG)
        mb_isr_response_stale();
    mb_isr_post();
}

static void end_read(void) FB_RAMFUNC;
static void end_read(void)
{
    if (t.sending_response)
        mb_isr_response_end();
    t.sending_response = false;
    t.error_pending = false;
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
        t.src = mb_isr_response_begin();
        t.src_len = t.src ? FB_RESPONSE_LEN : 0;
        t.sending_response = t.src != 0;
    }
}

bool fb_i2c_write_byte(uint8_t byte)
{
    if (!t.writing)
        return false;
    if (t.rx_len < FB_FRAME_MAX)
        t.rx[t.rx_len] = byte;
    if (t.rx_len <= FB_FRAME_MAX)
        t.rx_len++; /* FB_FRAME_MAX + 1 marks an overlong frame */
    return true;
}

uint8_t fb_i2c_read_byte(void)
{
    if (t.pos >= t.src_len)
        return 0xFF;
    if (t.error_pending) {
        mb_isr_clear_error(t.snap[0]);
        t.error_pending = false;
    }
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
    t.selected = 0;
    end_read();
}

void fb_i2c_reset(void)
{
    t.rx_len = 0;
    t.selected = 0;
    t.one_shot = 0;
    t.writing = false;
    t.sending_response = false;
    t.error_pending = false;
    t.src = 0;
    t.src_len = 0;
    t.pos = 0;
}
