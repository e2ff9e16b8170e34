/* The port contract of a USB full-speed device controller (TinyUSB's dcd split; our own
 * functions). The portable device core (usbd.c) calls these; a port implements them
 * (port/stm32f103/usb_f1.c), the unit tests fake them (tests/msc/fake_dcd.c).
 *
 * Every function is called from the main loop only. Endpoints are named by address:
 * 0x00 / 0x80 are EP0's OUT / IN halves, 0x02 bulk OUT, 0x81 bulk IN. Packets are at most
 * DCD_MPS bytes. After a packet is received (SETUP or OUT event) the endpoint NAKs
 * until dcd_ep_arm_out(); after an IN packet is sent (IN event) it NAKs until the next
 * dcd_ep_write(). */
#ifndef FB_USB_DCD_H
#define FB_USB_DCD_H

#include <stdbool.h>
#include <stdint.h>

#define DCD_MPS 64u

enum dcd_event_type {
    DCD_EV_RESET,   /* bus reset: address 0, only EP0 open, ready for a SETUP */
    DCD_EV_SETUP,   /* 8 bytes on EP0: dcd_ep_read(0x00) */
    DCD_EV_OUT,     /* a packet on OUT endpoint ep: dcd_ep_read(ep) */
    DCD_EV_IN,      /* the packet queued on IN endpoint ep was acknowledged */
    DCD_EV_SUSPEND, /* 3 ms without traffic: the bus is suspended */
    DCD_EV_RESUME,  /* traffic again after a suspend */
};

struct dcd_event {
    enum dcd_event_type type;
    uint8_t ep;
};

/* Next event from the controller: true and *ev filled, or false when none waits. */
bool dcd_poll(struct dcd_event *ev);
/* The address from SET_ADDRESS; called once its status stage has completed. */
void dcd_set_address(uint8_t addr);
/* Opens a bulk endpoint (DCD_MPS bytes), NAKing, data toggle DATA0. */
void dcd_ep_open(uint8_t ep);
/* Closes every endpoint but EP0 (SET_CONFIGURATION 0). */
void dcd_ep_close_all(void);
/* Copies the packet received on OUT endpoint ep (at most max bytes); its length. */
uint16_t dcd_ep_read(uint8_t ep, uint8_t *buf, uint16_t max);
/* OUT endpoint ep accepts its next packet (clears a STALL on EP0's OUT half). */
void dcd_ep_arm_out(uint8_t ep);
/* Queues one packet of len <= DCD_MPS bytes (0: a zero-length packet) on IN endpoint ep. */
void dcd_ep_write(uint8_t ep, const uint8_t *buf, uint16_t len);
/* Withdraws a packet queued on IN endpoint ep: NAKing, data toggle unchanged. */
void dcd_ep_cancel(uint8_t ep);
/* Halts endpoint ep: every token gets STALL (on EP0, until the next SETUP). */
void dcd_ep_stall(uint8_t ep);
/* Clears a halt: NAKing, data toggle back to DATA0 (USB 2.0 §9.4.5). */
void dcd_ep_unstall(uint8_t ep);
bool dcd_ep_stalled(uint8_t ep);

#endif
