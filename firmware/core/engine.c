/*
 * The task engine: takes command frames from the mailbox in order and runs each to
 * completion as a non-blocking state machine, one step per fb_core_poll().
 *
 * A command keeps its queue slot until it has finished, so STATUS shows BUSY from the
 * moment the frame arrives until its result (error bits, prepared response, new file
 * size) is published.
 *
 * Background erasing never delays a command that does not use the W25Q64 (config,
 * registers, invalid frames). A read of the W25Q64 (READ_SECTOR, STREAM_READ and its
 * chunks) or an append suspends a running erase (75h), does its work and resumes it
 * (7Ah) when the command ends; the driver gives the erase W25Q_MIN_RUN_MS after each
 * resume, so it always progresses. Waits that remain are named in docs/PERFORMANCE.md.
 */
#include "core.h"

#include "cfgstore.h"
#include "datafile.h"
#include "errors.h"
#include "hal.h"
#include "i2c_target.h"
#include "mailbox.h"
#include "stream.h"
#include "w25q64.h"

enum state {
    ENG_FLASH_WAKE, /* waiting for the W25Q64 to finish what a reset left running */
    ENG_IDLE,
    ENG_DATAFILE,   /* a data-file operation runs */
    ENG_CONFIG,     /* a config-zone store runs */
};

/* Background erasing waits this long after the last command before it starts a block,
 * so that a host that appends right after a CLEAR does not share the device with it;
 * but it never waits more than ERASE_HOLDOFF_MAX_MS in all, so that a host that sends
 * a command every few milliseconds does not stop it. */
#define ERASE_HOLDOFF_MS 20u
#define ERASE_HOLDOFF_MAX_MS 100u

static struct {
    enum state state;
    bool flash_ok; /* the W25Q64 answered and its metadata mounted */
    uint32_t last_cmd_ms;
    bool held;           /* the eraser's next device operation is held off since held_ms */
    uint32_t held_ms;
} eng;

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void publish_file(void)
{
    mb_publish_filename(df_name());
    mb_publish_file_size(df_size());
    mb_set_foreign(df_foreign());
}

static void flash_ready(void)
{
    int err = w25q_init();
    if (err == FB_EAGAIN)
        return; /* still busy: ENG_FLASH_WAKE keeps polling */
    eng.flash_ok = err == FB_OK && df_mount() == FB_OK;
    if (!eng.flash_ok)
        df_reset();
    publish_file();
    eng.state = ENG_IDLE;
}

void fb_core_init(void)
{
    mb_init();
    fb_i2c_reset();
    xs_init();
    cfg_mount();
    df_reset();
    eng.flash_ok = false;
    eng.state = ENG_FLASH_WAKE;
    eng.last_cmd_ms = hal_millis();
    flash_ready();
}

/* Prepare the 256-byte response of READ_SECTOR / READ_CONFIG and serve it. */
static int prepare_response(const fb_frame_t *f)
{
    mb_response_reset();
    uint8_t *out = mb_response_slot();
    if (!out)
        return FB_OK; /* a newer READ command already waits: it answers instead */
    uint16_t arg = get16(&f->data[1]);
    if (f->data[0] == FB_CMD_READ_CONFIG) {
        cfg_read(arg, out, FB_RESPONSE_LEN);
    } else {
        int err = df_read((uint32_t)arg * FB_SECTOR_SIZE, out, FB_RESPONSE_LEN);
        if (err)
            return err;
    }
    mb_response_commit(FB_RESPONSE_LEN, false);
    return FB_OK;
}

static bool length_is(const fb_frame_t *f, uint8_t params)
{
    return f->len == params + 1u;
}

/* Validate a frame and start its work: FB_OK (done), FB_EAGAIN (running: the engine
 * state says which poll follows) or an error. Invalid frames change nothing. */
static int dispatch(const fb_frame_t *f)
{
    const uint8_t *d = f->data;
    if (d[0] == FB_CMD_READ_SECTOR || d[0] == FB_CMD_READ_CONFIG)
        xs_read_cancel(); /* any READ command, valid or not, ends a streaming read */
    switch (d[0]) {
    case FB_CMD_WHO_AM_I:
    case FB_CMD_GET_FILENAME:
    case FB_CMD_STATUS:
    case FB_CMD_ERROR:
    case FB_CMD_FILE_SIZE:
    case FB_CMD_CAPS:
    case FB_CMD_STREAM_STATE:
        return FB_EINVAL; /* registers take no parameters (one-byte forms never queue) */
    case FB_CMD_SET_FILENAME:
        if (!length_is(f, FB_LEN_SET_FILENAME))
            return FB_EINVAL;
        if (!eng.flash_ok)
            return FB_EFLASH;
        eng.state = ENG_DATAFILE;
        return df_set_name_start(&d[1]);
    case FB_CMD_CLEAR_FLASH:
        if (!length_is(f, 0))
            return FB_EINVAL;
        if (!eng.flash_ok)
            return FB_EFLASH;
        eng.state = ENG_DATAFILE;
        return df_clear_start();
    case FB_CMD_WRITE_DATA:
        if (!length_is(f, FB_LEN_WRITE_DATA) || d[1] > FB_WRITE_DATA_MAX)
            return FB_EINVAL;
        if (!eng.flash_ok)
            return FB_EFLASH;
        eng.state = ENG_DATAFILE;
        return df_append_start(&d[2], d[1]);
    case FB_CMD_READ_SECTOR:
        if (!length_is(f, FB_LEN_READ_SECTOR) || get16(&d[1]) > FB_SECTOR_INDEX_MAX)
            return FB_EINVAL;
        if (!eng.flash_ok)
            return FB_EFLASH;
        return prepare_response(f);
    case FB_CMD_WRITE_CONFIG:
        if (!length_is(f, FB_LEN_WRITE_CONFIG) || d[3] > FB_WRITE_CONFIG_MAX)
            return FB_EINVAL;
        eng.state = ENG_CONFIG;
        return cfg_write_start(get16(&d[1]), &d[4], d[3]);
    case FB_CMD_READ_CONFIG:
        if (!length_is(f, FB_LEN_READ_CONFIG) || get16(&d[1]) >= FB_CONFIG_SIZE)
            return FB_EINVAL;
        return prepare_response(f);
    case FB_CMD_CLEAR_CONFIG:
        if (!length_is(f, 0))
            return FB_EINVAL;
        eng.state = ENG_CONFIG;
        return cfg_clear_start();
    case FB_CMD_CONFIG_BEGIN:
        return length_is(f, 0) ? cfg_begin() : FB_EINVAL;
    case FB_CMD_CONFIG_COMMIT:
        if (!length_is(f, 0))
            return FB_EINVAL;
        eng.state = ENG_CONFIG;
        return cfg_commit_start();
    case FB_CMD_CONFIG_ABORT:
        if (!length_is(f, 0))
            return FB_EINVAL;
        cfg_abort();
        return FB_OK;
    /* streaming extension: stream.c */
    case FB_CMD_APPEND_CRC:
        eng.state = ENG_DATAFILE;
        return xs_append_start(f, eng.flash_ok);
    case FB_CMD_STREAM_READ:
        return xs_read_start(f, eng.flash_ok);
    default:
        return FB_EUNKNOWN;
    }
}

static void finish(int err)
{
    (void)w25q_resume(); /* a failure shows at the eraser's next poll */
    if (eng.state == ENG_DATAFILE) {
        publish_file();
        mb_set_erasing(df_background_pending());
    }
    xs_command_done(err, df_size());
    if (err)
        mb_command_failed(fb_err_to_bits(err));
    eng.state = ENG_IDLE;
    eng.last_cmd_ms = hal_millis();
    mb_pop();
}

/* Erase what a CLEAR freed while no command waits. */
static bool background(void)
{
    if (!eng.flash_ok || !df_background_pending()) {
        mb_set_erasing(false);
        return false;
    }
    mb_set_erasing(true);
    if (!df_background_busy()) {
        uint32_t now = hal_millis();
        if (!eng.held) {
            eng.held = true;
            eng.held_ms = now;
        }
        if ((uint32_t)(now - eng.last_cmd_ms) < ERASE_HOLDOFF_MS &&
            (uint32_t)(now - eng.held_ms) < ERASE_HOLDOFF_MAX_MS)
            return false;
    }
    int ret = df_background();
    mb_set_foreign(df_foreign()); /* the eraser may find data that is not ours */
    if (df_background_busy())
        eng.held = false; /* an erase or record started: the next one is held off again */
    if (ret != FB_OK && ret != FB_EAGAIN)
        mb_background_failed(fb_err_to_bits(ret)); /* no command's failure: ERRORS only */
    if (ret != FB_EAGAIN)
        mb_set_erasing(df_background_pending());
    return ret == FB_EAGAIN && !df_long_wait();
}

/* What a command needs of the W25Q64 while the background eraser holds it. */
enum flash_need {
    NEED_NONE,    /* never touches it */
    NEED_SUSPEND, /* reads it, or programs outside the erased block: suspend the erase */
    NEED_IDLE,    /* changes what the eraser works on: wait for its step to end */
};

static enum flash_need flash_need(const fb_frame_t *f)
{
    switch (f->data[0]) {
    case FB_CMD_READ_SECTOR:
    case FB_CMD_STREAM_READ:
    case FB_CMD_WRITE_DATA:
    case FB_CMD_APPEND_CRC:
        return NEED_SUSPEND;
    case FB_CMD_SET_FILENAME:
    case FB_CMD_CLEAR_FLASH:
        return NEED_IDLE;
    default:
        return NEED_NONE;
    }
}

/* The W25Q64 is free for the next read or append: no background step holds it, or its
 * erase is now suspended. */
static bool flash_free(enum flash_need need)
{
    if (need == NEED_NONE || !eng.flash_ok || !df_background_busy())
        return true;
    return need == NEED_SUSPEND && w25q_suspend() == FB_OK;
}

/* ---- the USB drive's reads (firmware/msc/usb_drive.c), between engine steps ----
 * The same path as READ_SECTOR: never while a command runs (an append or a store in
 * progress), and a background erase is suspended for the read and resumed after it
 * (the driver's W25Q_MIN_RUN_MS keeps the erase moving). */
static bool usb_held;

bool fb_core_usb_acquire(void)
{
    if (usb_held)
        return true;
    if (eng.state != ENG_IDLE || !flash_free(NEED_SUSPEND))
        return false;
    usb_held = true;
    return true;
}

void fb_core_usb_release(void)
{
    if (!usb_held)
        return;
    usb_held = false;
    (void)w25q_resume(); /* a failure shows at the eraser's next poll */
}

int fb_core_usb_read_file(uint32_t off, uint8_t *dst, uint32_t n)
{
    bool own = !usb_held;
    if (own && !fb_core_usb_acquire())
        return FB_EAGAIN;
    int err = df_read(off, dst, n);
    if (own)
        fb_core_usb_release();
    return err;
}

int fb_core_usb_read_config(uint32_t off, uint8_t *dst, uint32_t n)
{
    if (eng.state == ENG_CONFIG)
        return FB_EAGAIN; /* a store is between two steps */
    cfg_read((uint16_t)off, dst, n);
    return FB_OK;
}

bool fb_core_poll(void)
{
    int ret;
    switch (eng.state) {
    case ENG_FLASH_WAKE:
        ret = w25q_poll();
        if (ret != FB_EAGAIN)
            flash_ready();
        return ret != FB_EAGAIN;
    case ENG_DATAFILE:
        ret = df_poll();
        break;
    case ENG_CONFIG:
        ret = cfg_poll();
        break;
    default: {
        /* The next chunk of a streaming read first: a short SPI read, and the host may
         * be waiting for it. */
        if (eng.flash_ok && xs_read_pending() && flash_free(NEED_SUSPEND)) {
            (void)xs_read_poll();
            (void)w25q_resume();
            return true;
        }
        const fb_frame_t *f = mb_peek();
        /* Between background steps a command goes first; during one, see flash_need. */
        if (!f || !flash_free(flash_need(f)))
            return background();
        ret = dispatch(f);
        break;
    }
    }
    if (ret == FB_EAGAIN)
        return !(eng.state == ENG_DATAFILE && df_long_wait());
    finish(ret);
    return true;
}
