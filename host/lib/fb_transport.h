/*
 * Host-side transports: how the library reaches a flashbridge target.
 *
 * A transport moves one I2C transaction (write, repeated start, read, stop) and knows
 * how to let time pass: on a real bus that is a sleep, on the simulated board it is a
 * WAIT request that advances virtual time.
 */
#ifndef FB_TRANSPORT_H
#define FB_TRANSPORT_H

#include <stddef.h>
#include <stdint.h>

typedef struct fb_transport fb_transport_t;

struct fb_transport_ops {
    /* One transaction: write wlen bytes (if any), then read rlen bytes (if any) after a
     * repeated start, then STOP. 0, FB_HOST_ENACK (address or data not acknowledged)
     * or FB_HOST_EIO. */
    int (*xfer)(fb_transport_t *t, uint8_t addr7, const uint8_t *w, size_t wlen,
                uint8_t *r, size_t rlen);
    /* Let us microseconds pass. 0 or FB_HOST_EIO. */
    int (*sleep_us)(fb_transport_t *t, uint64_t us);
    /* Monotonic time in microseconds (virtual on the simulated board). */
    uint64_t (*now_us)(fb_transport_t *t);
    void (*close)(fb_transport_t *t);
};

struct fb_transport {
    const struct fb_transport_ops *ops;
};

/* Connect to flashbridge-sim's socket. NULL on error (errno set). */
fb_transport_t *fb_transport_sim_open(const char *socket_path);
/* Simulator-only requests (see docs/SIM-PROTOCOL.md); t must come from sim_open. */
int fb_transport_sim_power_cycle(fb_transport_t *t, uint64_t off_ns);
int fb_transport_sim_shutdown(fb_transport_t *t);
/* Open a Linux i2c-dev bus (/dev/i2c-N), using the I2C_RDWR ioctl. NULL on error. */
fb_transport_t *fb_transport_i2cdev_open(const char *dev_path);

static inline void fb_transport_close(fb_transport_t *t)
{
    if (t)
        t->ops->close(t);
}

#endif
