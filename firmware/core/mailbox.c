/* Shared interrupt/main-loop state; see mailbox.h for the locking rule. */
#include "mailbox.h"

#include <string.h>

#include "hal.h"

/* Every field is read or written by the I2C interrupt: volatile so the main loop
 * re-reads it inside each critical section. Placed in SRAM (.data/.bss) on the target. */
static struct {
    fb_frame_t queue[FB_QUEUE_DEPTH];
    volatile uint8_t head; /* written by the interrupt only */
    volatile uint8_t tail; /* written by the main loop only */
    volatile uint8_t error;
    volatile bool erasing;
    uint8_t filename[FB_FILENAME_LEN];
    volatile uint32_t file_size;
    uint8_t response[2][FB_RESPONSE_LEN];
    volatile uint8_t front;     /* buffer served to plain reads */
    volatile bool ready;        /* front holds the answer to the last READ command */
    volatile bool sending;      /* the interrupt is sending from response[sending_buf] */
    volatile uint8_t sending_buf;
} mb;

static uint8_t used_slots(void) FB_RAMFUNC;
static uint8_t used_slots(void)
{
    return (uint8_t)(mb.head - mb.tail);
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
    if (used_slots())
        mb.tail++;
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

uint8_t *mb_response_back(void)
{
    uint32_t s = hal_irq_save();
    uint8_t back = (uint8_t)(mb.front ^ 1u);
    /* A plain read that began before the last publish keeps sending from the buffer
     * that has since become the back one: leave it alone until that read ends. */
    uint8_t *buf = (mb.sending && mb.sending_buf == back) ? NULL : mb.response[back];
    hal_irq_restore(s);
    return buf;
}

void mb_response_publish(void)
{
    uint32_t s = hal_irq_save();
    mb.front ^= 1u;
    mb.ready = true;
    hal_irq_restore(s);
}

/* ---- interrupt side ---- */

fb_frame_t *mb_isr_slot(void)
{
    if (used_slots() >= FB_QUEUE_DEPTH)
        return NULL;
    return &mb.queue[mb.head % FB_QUEUE_DEPTH];
}

void mb_isr_post(void)
{
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
    if (mb.ready)
        st |= FB_STATUS_READY;
    if (mb.erasing)
        st |= FB_STATUS_ERASING;
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

void mb_isr_response_stale(void)
{
    mb.ready = false;
}

const uint8_t *mb_isr_response_begin(void)
{
    if (!mb.ready)
        return NULL;
    mb.sending = true;
    mb.sending_buf = mb.front;
    return mb.response[mb.front];
}

void mb_isr_response_end(void)
{
    mb.sending = false;
}
