/* A fake USB device controller behind dcd.h, played by the host side of the tests:
 * the host sends SETUP/OUT tokens and asks for IN packets and gets what a real
 * controller would answer (ACK, NAK, STALL); the device side sees dcd_poll() events.
 * Data toggles are tracked per endpoint half, as the hardware would. */
#ifndef FB_TEST_FAKE_DCD_H
#define FB_TEST_FAKE_DCD_H

#include <stdbool.h>
#include <stdint.h>

#include "dcd.h"

enum fd_result { FD_ACK, FD_NAK, FD_STALL };

struct fd_ep {
    bool open, stall, armed, queued;
    uint8_t toggle;
    uint8_t data[DCD_MPS];
    uint16_t len;
};

struct fake_dcd {
    struct fd_ep out[8], in[8];
    uint8_t address;
    int set_address_calls;
    struct dcd_event q[32];
    unsigned qh, qt;
};

extern struct fake_dcd fd;

void fd_init(void);
/* Host side. */
void fd_bus_reset(void);
enum fd_result fd_setup(const uint8_t pkt[8]);
enum fd_result fd_out(uint8_t ep, const uint8_t *data, uint16_t len);
enum fd_result fd_in(uint8_t ep, uint8_t *data, uint16_t *len);
void fd_suspend(void);
void fd_resume(void);

#endif
