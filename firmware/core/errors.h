/*
 * Error codes inside the firmware: negative, one meaning each; 0 is success and positive
 * values are counts. Bad input from the bus maps to an ERROR-register bit
 * (fb_err_to_bits); a broken internal invariant is an FB_ASSERT, never an error code.
 */
#ifndef FB_CORE_ERRORS_H
#define FB_CORE_ERRORS_H

#include <stdint.h>

enum {
    FB_OK = 0,
    FB_EINVAL = -1,   /* bad parameter from the host */
    FB_ENAME = -2,    /* invalid 8.3 filename */
    FB_EFULL = -3,    /* data file capacity reached */
    FB_EFLASH = -4,   /* a flash device reported a failure (PGERR, WEL not set) */
    FB_ETIMEOUT = -5, /* a hardware wait ran past its bound */
    FB_EAGAIN = -6,   /* operation still running: poll again */
    FB_ECORRUPT = -7, /* stored data is not as written (e.g. a cut left a page dirty) */
    FB_EUNKNOWN = -8, /* command byte not in the protocol */
    /* streaming extension (stream.c) */
    FB_ECRC = -9,     /* a frame's CRC does not match its bytes */
    FB_ESEQ = -10,    /* APPEND_CRC sequence number neither the next nor the last */
};

/* The ERROR-register bits that report err to the host (0 for FB_OK). */
uint8_t fb_err_to_bits(int err);

/* Broken invariants: on the host a test failure (abort), on the target a reset by the
 * watchdog path. Never used for anything the host can send. */
void fb_assert_failed(const char *file, int line);
#define FB_ASSERT(c) ((c) ? (void)0 : fb_assert_failed(__FILE__, __LINE__))

#endif
