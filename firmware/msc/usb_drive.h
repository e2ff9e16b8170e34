/* The USB drive over the core's stores: the fatvol source (data file from datafile.c
 * through the engine's read path, CONFIG.BIN from cfgstore.c), the SCSI layer and the
 * USB function. Portable; the port calls it from its main loop (docs/USB.md). */
#ifndef FB_MSC_USB_DRIVE_H
#define FB_MSC_USB_DRIVE_H

#include <stdbool.h>
#include <stdint.h>

/* After fb_core_init(): uid = the chip's 12 unique-ID bytes (serial number, volume
 * serial). */
void usb_drive_init(const uint8_t uid[12]);
/* Main loop: the volume's change policy, one USB event, the transport's progress.
 * True when it did something. */
bool usb_drive_task(uint32_t now_ms);

#endif
