/* A small portable USB device core: EP0 control transfers, the standard requests of
 * USB 2.0 chapter 9 for one configuration, and a class hook for everything else.
 * No registers here (dcd.h is the port); main loop only; no heap, no queue: each call
 * of usbd_task() handles one controller event. docs/USB.md has the device plan. */
#ifndef FB_USB_USBD_H
#define FB_USB_USBD_H

#include <stdbool.h>
#include <stdint.h>

/* EP0 replies are built here whole (strings as UTF-16LE): the longest is a 46-character
 * string descriptor. */
#define USBD_EP0_BUF 96u

struct usbd_setup {
    uint8_t type;    /* bmRequestType */
    uint8_t request; /* bRequest */
    uint16_t value, index, length;
};

/* What the class (the interface's driver) is given. Endpoint halts on the class's
 * endpoints are the class's: CLEAR_FEATURE(ENDPOINT_HALT) calls clear_halt, which
 * decides whether to lift it (dcd_ep_unstall), since a class may have to keep it (BOT
 * 6.6.1: until Reset Recovery). */
struct usbd_class {
    /* A class or vendor request to the interface or one of its endpoints. Device-to-
     * host: returns the bytes written to buf (<= max); host-to-device without data:
     * returns 0. Returns -1 for a request the class does not know (STALL). */
    int (*control)(const struct usbd_setup *s, uint8_t *buf, uint16_t max);
    void (*configured)(bool on); /* SET_CONFIGURATION 1, or 0 / bus reset */
    void (*out)(uint8_t ep);     /* a packet waits on OUT endpoint ep */
    void (*in)(uint8_t ep);      /* the packet queued on IN endpoint ep was taken */
    void (*clear_halt)(uint8_t ep);
};

struct usbd_config {
    const uint8_t *device; /* device descriptor, 18 bytes */
    const uint8_t *config; /* configuration descriptor with its interface and endpoints */
    uint16_t config_len;
    const char *const *strings; /* string descriptors 1..n_strings, ASCII */
    uint8_t n_strings;
    const uint8_t *endpoints; /* endpoint addresses opened by SET_CONFIGURATION 1 */
    uint8_t n_endpoints;
    const struct usbd_class *cls;
};

void usbd_init(const struct usbd_config *c);
/* Handles the next controller event; false when there was none. */
bool usbd_task(void);
bool usbd_configured(void);
bool usbd_suspended(void);
uint8_t usbd_address(void);

#endif
