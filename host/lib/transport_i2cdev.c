/*
 * Transport over a Linux I2C adapter (/dev/i2c-N) with the I2C_RDWR ioctl.
 *
 * I2C_RDWR rather than read()/write() on the device: a register read must be a write,
 * a repeated start and a read in one transaction, which only I2C_RDWR expresses, and it
 * takes the target address per message, so no I2C_SLAVE binding (which a kernel driver
 * owning the address would refuse) is needed.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <linux/i2c-dev.h>

#include "fb_i2cdev.h"
#include "fb_transport.h"
#include "flashbridge.h"

typedef struct i2cdev_transport {
    fb_transport_t base;
    int fd;
} i2cdev_transport_t;

unsigned fb_i2cdev_build_msgs(struct i2c_msg msgs[2], uint8_t addr7, const uint8_t *w,
                              size_t wlen, uint8_t *r, size_t rlen)
{
    /* i2c_msg.len is 16 bits. */
    if (wlen > UINT16_MAX || rlen > UINT16_MAX || (wlen && !w) || (rlen && !r))
        return 0;
    unsigned n = 0;
    if (wlen > 0 || rlen == 0) {
        /* The kernel only reads a write message's buffer; i2c_msg has no const. */
        msgs[n].addr = addr7;
        msgs[n].flags = 0;
        msgs[n].len = (uint16_t)wlen;
        msgs[n].buf = (uint8_t *)(uintptr_t)w;
        n++;
    }
    if (rlen > 0) {
        msgs[n].addr = addr7;
        msgs[n].flags = I2C_M_RD;
        msgs[n].len = (uint16_t)rlen;
        msgs[n].buf = r;
        n++;
    }
    return n;
}

int fb_i2cdev_map_errno(int err)
{
    switch (err) {
    case ENXIO:     /* most adapters: address not acknowledged */
    case EREMOTEIO: /* others (DesignWare, i.MX...): address or data NACK */
        return FB_HOST_ENACK;
    default:
        return FB_HOST_EIO;
    }
}

static int i2cdev_xfer(fb_transport_t *t, uint8_t addr7, const uint8_t *w, size_t wlen,
                       uint8_t *r, size_t rlen)
{
    i2cdev_transport_t *d = (i2cdev_transport_t *)t;
    struct i2c_msg msgs[2];
    unsigned n = fb_i2cdev_build_msgs(msgs, addr7, w, wlen, r, rlen);
    if (n == 0)
        return FB_HOST_EIO;
    struct i2c_rdwr_ioctl_data data = {.msgs = msgs, .nmsgs = n};
    int rc;
    do
        rc = ioctl(d->fd, I2C_RDWR, &data);
    while (rc < 0 && errno == EINTR);
    if (rc < 0)
        return fb_i2cdev_map_errno(errno);
    /* The ioctl returns how many messages went through; fewer is a failed transfer. */
    return (unsigned)rc == n ? FB_HOST_OK : FB_HOST_EIO;
}

static int i2cdev_sleep_us(fb_transport_t *t, uint64_t us)
{
    (void)t;
    struct timespec ts = {.tv_sec = (time_t)(us / 1000000u),
                          .tv_nsec = (long)(us % 1000000u) * 1000L};
    /* Resume with the remainder after a signal so the sleep is never cut short. */
    while (nanosleep(&ts, &ts) < 0) {
        if (errno != EINTR)
            return FB_HOST_EIO;
    }
    return FB_HOST_OK;
}

static uint64_t i2cdev_now_us(fb_transport_t *t)
{
    (void)t;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void i2cdev_close(fb_transport_t *t)
{
    i2cdev_transport_t *d = (i2cdev_transport_t *)t;
    close(d->fd);
    free(d);
}

static const struct fb_transport_ops i2cdev_ops = {
    .xfer = i2cdev_xfer,
    .sleep_us = i2cdev_sleep_us,
    .now_us = i2cdev_now_us,
    .close = i2cdev_close,
};

fb_transport_t *fb_transport_i2cdev_open(const char *dev_path)
{
    if (!dev_path) {
        errno = EINVAL;
        return NULL;
    }
    int fd = open(dev_path, O_RDWR | O_CLOEXEC);
    if (fd < 0)
        return NULL;
    /* Adapters that only do SMBus cannot do a repeated start of arbitrary length:
     * say so at open rather than fail on the first register read. */
    unsigned long funcs = 0;
    int err = 0;
    if (ioctl(fd, I2C_FUNCS, &funcs) < 0)
        err = errno; /* ENOTTY: not an I2C adapter at all */
    else if (!(funcs & I2C_FUNC_I2C))
        err = EOPNOTSUPP;
    if (err) {
        close(fd);
        errno = err;
        return NULL;
    }
    i2cdev_transport_t *d = calloc(1, sizeof *d);
    if (!d) {
        close(fd);
        return NULL;
    }
    d->base.ops = &i2cdev_ops;
    d->fd = fd;
    return &d->base;
}
