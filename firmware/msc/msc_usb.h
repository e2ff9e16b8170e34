/* The USB mass-storage function: our descriptors (docs/USB.md, "Device plan"), the
 * class requests and the bulk-only transport between the endpoints and scsi.c.
 * Portable (dcd.h below it, usbd.h beside it); main loop only. */
#ifndef FB_MSC_USB_H
#define FB_MSC_USB_H

#include <stdbool.h>
#include <stdint.h>

#include "scsi.h"

#define MSC_USB_VID        0x1209u /* pid.codes */
#define MSC_USB_PID        0x0001u /* pid.codes test PID: docs/USB.md says why */
#define MSC_USB_EP_IN      0x81u
#define MSC_USB_EP_OUT     0x02u
#define MSC_USB_SERIAL_LEN 24u     /* 96-bit unique ID as hex */

struct msc_usb_params {
    struct msc *msc;   /* initialised over its fatvol */
    const char *serial; /* MSC_USB_SERIAL_LEN hex digits */
    uint16_t bcd_device;
    /* Around each READ(10) sector: acquire returns false while the source would
     * answer FATVOL_E_BUSY for a reason that passes (a store in progress): the
     * transport then waits (bulk IN NAKs) instead of failing the command; release
     * follows every successful acquire. NULL: always ready. */
    bool (*acquire)(void);
    void (*release)(void);
};

/* Sets up the device core with our descriptors; call before the first msc_usb_task. */
void msc_usb_init(const struct msc_usb_params *p);
/* One step: one controller event, then the transport's progress. True when it did
 * something (call again soon), false when it waits for the bus or the source. */
bool msc_usb_task(void);

/* The serial number string from the 12 unique-ID bytes, in address order. */
void msc_usb_serial(const uint8_t uid[12], char out[MSC_USB_SERIAL_LEN + 1u]);

#endif
