/* Shared interrupt/main-loop state; see mailbox.h for the locking rule. */
#include "mailbox.h"

#include <string.h>

#include "hal.h"

struct response {
    uint8_t buf[FB_RESPONSE_SLOT_LEN];
    uint16_t len;
    volatile bool ready;   /* prepared and not yet consumed */
    bool consumable;       /* a streaming chunk: gone once read in full */
};

/* Every field is read or written by the I2C interrupt unless marked "main only":
 * volatile so the main loop re-reads it inside each critical section. Placed in SRAM
 * (.data/.bss) on the target. */
static struct {
    fb_frame_t queue[FB_QUEUE_DEPTH];
    volatile uint8_t head; /* written by the interrupt only */
    volatile uint8_t tail; /* written by the main loop only */
    volatile uint8_t error;
    volatile bool erasing;
    volatile bool foreign;
    uint8_t filename[FB_FILENAME_LEN];
    volatile uint32_t file_size;
    volatile uint8_t append_seq;
    volatile uint16_t crc_errors;
    uint8_t caps[FB_CAPS_LEN];

    struct response resp[2];
    volatile uint8_t rd;          /* slot served to plain reads */
    uint8_t wr;                   /* main only: slot filled next */
    volatile bool sending;        /* the interrupt is sending from resp[sending_buf] */
    volatile uint8_t sending_buf;
    /* READ frames posted by the interrupt / popped by the main loop: their difference
     * is how many READ commands wait in the queue (wrapping counters). */
    volatile uint8_t reads_posted;
    uint8_t reads_done;           /* main only */
    bool in_read_cmd;             /* main only: a READ command is executing (not popped) */
} mb;

static uint8_t used_slots(void) FB_RAMFUNC;
static uint8_t used_slots(void)
{
    return (uint8_t)(mb.head - mb.tail);
}

static bool is_read_cmd(uint8_t cmd) FB_RAMFUNC;
static bool is_read_cmd(uint8_t cmd)
{
    return cmd == FB_CMD_READ_SECTOR || cmd == FB_CMD_READ_CONFIG || cmd == FB_CMD_STREAM_READ;
}

void mb_init(void)
{
    uint32_t s = hal_irq_save();
    memset(&mb, 0, sizeof mb);
    memcpy(mb.filename, FB_DEFAULT_FILENAME, FB_FILENAME_LEN);
    hal_irq_restore(s);
}

const fb_frame_t *mb_peek(void)
{
    uint32_t s = hal_irq_save();
    const fb_frame_t *f = used_slots() ? &mb.queue[mb.tail % FB_QUEUE_DEPTH] : NULL;
    hal_irq_restore(s);
    return f;
}

void mb_pop(void)
{
    uint32_t s = hal_irq_save();
    if (used_slots()) {
        const fb_frame_t *f = &mb.queue[mb.tail % FB_QUEUE_DEPTH];
        if (f->len > 0 && is_read_cmd(f->data[0]))
            mb.reads_done++;
        mb.tail++;
    }
    mb.in_read_cmd = false;
    hal_irq_restore(s);
}

void mb_set_error(uint8_t bits)
{
    uint32_t s = hal_irq_save();
    mb.error |= bits;
    hal_irq_restore(s);
}

void mb_publish_filename(const uint8_t name[FB_FILENAME_LEN])
{
    uint32_t s = hal_irq_save();
    memcpy(mb.filename, name, FB_FILENAME_LEN);
    hal_irq_restore(s);
}

void mb_publish_file_size(uint32_t size)
{
    uint32_t s = hal_irq_save();
    mb.file_size = size;
    hal_irq_restore(s);
}

void mb_set_erasing(bool on)
{
    uint32_t s = hal_irq_save();
    mb.erasing = on;
    hal_irq_restore(s);
}

void mb_set_foreign(bool on)
{
    uint32_t s = hal_irq_save();
    mb.foreign = on;
    hal_irq_restore(s);
}

void mb_publish_append(uint8_t seq, uint32_t size)
{
    uint32_t s = hal_irq_save();
    mb.append_seq = seq;
    mb.file_size = size;
    hal_irq_restore(s);
}

void mb_publish_caps(const uint8_t caps[FB_CAPS_LEN])
{
    uint32_t s = hal_irq_save();
    memcpy(mb.caps, caps, FB_CAPS_LEN);
    hal_irq_restore(s);
}

void mb_count_crc_error(void)
{
    uint32_t s = hal_irq_save();
    mb.crc_errors++;
    hal_irq_restore(s);
}

/* Under the lock: may the main loop publish a response now? Not when a READ command
 * newer than the one being answered waits in the queue. */
static bool response_wanted(void)
{
    uint8_t pending = (uint8_t)(mb.reads_posted - mb.reads_done);
    return pending == (mb.in_read_cmd ? 1u : 0u);
}

void mb_response_reset(void)
{
    uint32_t s = hal_irq_save();
    mb.resp[0].ready = false;
    mb.resp[1].ready = false;
    /* A plain read that began before keeps sending from its slot: start in the other. */
    mb.wr = mb.sending ? (uint8_t)(mb.sending_buf ^ 1u) : mb.rd;
    mb.rd = mb.wr;
    mb.in_read_cmd = true;
    hal_irq_restore(s);
}

uint8_t *mb_response_slot(void)
{
    uint32_t s = hal_irq_save();
    struct response *r = &mb.resp[mb.wr];
    bool busy = r->ready || (mb.sending && mb.sending_buf == mb.wr) || !response_wanted();
    hal_irq_restore(s);
    return busy ? NULL : r->buf;
}

bool mb_response_commit(uint16_t len, bool consumable)
{
    uint32_t s = hal_irq_save();
    bool ok = response_wanted();
    if (ok) {
        struct response *r = &mb.resp[mb.wr];
        r->len = len;
        r->consumable = consumable;
        r->ready = true;
        mb.wr ^= 1u;
    }
    hal_irq_restore(s);
    return ok;
}

/* ---- interrupt side ---- */

fb_frame_t *mb_isr_slot(void)
{
    if (used_slots() >= FB_QUEUE_DEPTH)
        return NULL;
    return &mb.queue[mb.head % FB_QUEUE_DEPTH];
}

static void read_posted(void) FB_RAMFUNC;
static void read_posted(void)
{
    mb.reads_posted++;
    mb.resp[0].ready = false;
    mb.resp[1].ready = false;
}

void mb_isr_post(void)
{
    const fb_frame_t *f = &mb.queue[mb.head % FB_QUEUE_DEPTH];
    if (is_read_cmd(f->data[0]))
        read_posted();
    mb.head++;
}

void mb_isr_set_error(uint8_t bits)
{
    mb.error |= bits;
}

uint8_t mb_isr_error(void)
{
    return mb.error;
}

void mb_isr_clear_error(uint8_t bits)
{
    mb.error &= (uint8_t)~bits;
}

uint8_t mb_isr_status(void)
{
    uint8_t used = used_slots();
    uint8_t st = (uint8_t)((FB_QUEUE_DEPTH - used) & FB_STATUS_QUEUE_MASK);
    if (used)
        st |= FB_STATUS_BUSY;
    if (mb.error)
        st |= FB_STATUS_ERROR;
    if (mb.resp[mb.rd].ready)
        st |= FB_STATUS_READY;
    if (mb.erasing)
        st |= FB_STATUS_ERASING;
    if (mb.foreign)
        st |= FB_STATUS_FOREIGN;
    return st;
}

uint32_t mb_isr_file_size(void)
{
    return mb.file_size;
}

const uint8_t *mb_isr_filename(void)
{
    return mb.filename;
}

const uint8_t *mb_isr_caps(void)
{
    return mb.caps;
}

void mb_isr_stream_state(uint8_t *out)
{
    uint32_t size = mb.file_size;
    uint16_t crc_errors = mb.crc_errors;
    out[0] = mb.append_seq;
    out[1] = (uint8_t)(crc_errors >> 8);
    out[2] = (uint8_t)crc_errors;
    out[3] = (uint8_t)(size >> 24);
    out[4] = (uint8_t)(size >> 16);
    out[5] = (uint8_t)(size >> 8);
    out[6] = (uint8_t)size;
}

const uint8_t *mb_isr_response_begin(uint16_t *len)
{
    struct response *r = &mb.resp[mb.rd];
    if (!r->ready)
        return NULL;
    mb.sending = true;
    mb.sending_buf = mb.rd;
    *len = r->len;
    return r->buf;
}

void mb_isr_response_end(bool whole)
{
    if (!mb.sending)
        return;
    struct response *r = &mb.resp[mb.sending_buf];
    if (whole && r->consumable && r->ready) {
        r->ready = false;
        /* The next chunk is in the other slot (or is being prepared there). A reset
         * since this read began has moved rd already: leave it. */
        if (mb.rd == mb.sending_buf)
            mb.rd ^= 1u;
    }
    mb.sending = false;
}
