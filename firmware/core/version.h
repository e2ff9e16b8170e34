/* The firmware's version: INFO.TXT and INQUIRY show the string, the USB device
 * descriptor's bcdDevice the BCD form (docs/USB.md). Major.minor follows the protocol
 * version the firmware speaks (docs/PROTOCOL.md). */
#ifndef FB_CORE_VERSION_H
#define FB_CORE_VERSION_H

#define FB_FW_VERSION     "2.0"
#define FB_FW_VERSION_BCD 0x0200u

#endif
