/*
 * Internals of the Linux i2c-dev transport, exposed so the tests can check the
 * message layout and the errno mapping without an I2C adapter.
 */
#ifndef FB_I2CDEV_H
#define FB_I2CDEV_H

#include <stddef.h>
#include <stdint.h>

#include <linux/i2c.h>

/* Describe one transaction as I2C_RDWR messages: a write (if wlen > 0, or a zero-length
 * write as an address probe when both lengths are 0), then a read with I2C_M_RD (if
 * rlen > 0); two messages in one ioctl give the repeated start. Returns the number of
 * messages (1 or 2), or 0 if a length does not fit a message (over 65535 bytes) or a
 * buffer is missing. */
unsigned fb_i2cdev_build_msgs(struct i2c_msg msgs[2], uint8_t addr7, const uint8_t *w,
                              size_t wlen, uint8_t *r, size_t rlen);

/* Map an errno from the I2C_RDWR ioctl to a FB_HOST_* code. */
int fb_i2cdev_map_errno(int err);

#endif
