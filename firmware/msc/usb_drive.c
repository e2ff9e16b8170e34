/* The fatvol source over the core (the contract in fatvol.h / docs/USB.md):
 * - size and name are the data file's committed state; file_gen is df_generation(),
 *   which the data file bumps before a CLEAR or rename changes anything, config_gen is
 *   cfg_generation(), bumped before every store;
 * - bytes come through the engine (core.h): FATVOL_E_BUSY while a command or a config
 *   store is under way, which the transport avoids by acquiring the W25Q64 before each
 *   READ(10) sector (the IN pipe NAKs meanwhile), so a PC sees it only as latency. */
#include "usb_drive.h"

#include <string.h>

#include "cfgstore.h"
#include "core.h"
#include "datafile.h"
#include "errors.h"
#include "fatvol.h"
#include "flashbridge/protocol.h"
#include "msc_usb.h"
#include "scsi.h"
#include "version.h"

static struct fatvol vol;
static struct msc msc;
static char serial[MSC_USB_SERIAL_LEN + 1u];

static void src_state(void *ctx, struct fatvol_state *st)
{
    (void)ctx;
    st->size = df_size();
    st->file_gen = df_generation();
    st->config_gen = cfg_generation();
    memcpy(st->name, df_name(), FATVOL_NAME_LEN);
}

static int result(int err)
{
    if (err == FB_OK)
        return FATVOL_OK;
    return err == FB_EAGAIN ? FATVOL_E_BUSY : FATVOL_E_IO;
}

static int src_file(void *ctx, uint32_t off, uint8_t *dst, uint32_t n)
{
    (void)ctx;
    return result(fb_core_usb_read_file(off, dst, n));
}

static int src_config(void *ctx, uint32_t off, uint8_t *dst, uint32_t n)
{
    (void)ctx;
    return result(fb_core_usb_read_config(off, dst, n));
}

static const struct fatvol_source source = {
    .state = src_state,
    .read_file = src_file,
    .read_config = src_config,
    .ctx = NULL,
};

void usb_drive_init(const uint8_t uid[12])
{
    msc_usb_serial(uid, serial);
    /* The volume serial: the unique ID folded to 32 bits, so two boards differ. */
    uint32_t vs = 0;
    for (unsigned i = 0; i < 12u; i++)
        vs = vs * 31u + uid[i];
    struct fatvol_params p = {
        .capacity = FB_FILE_CAPACITY,
        .serial = vs,
        .version = FB_FW_VERSION,
    };
    (void)fatvol_init(&vol, &source, &p); /* FB_FILE_CAPACITY is far below its limit */
    msc_init(&msc, &vol);
    struct msc_usb_params up = {
        .msc = &msc,
        .serial = serial,
        .bcd_device = FB_FW_VERSION_BCD,
        .acquire = fb_core_usb_acquire,
        .release = fb_core_usb_release,
    };
    msc_usb_init(&up);
}

bool usb_drive_task(uint32_t now_ms)
{
    fatvol_poll(&vol, now_ms);
    return msc_usb_task();
}
