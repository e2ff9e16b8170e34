/* The i2c-dev transport without an adapter: I2C_RDWR message layout and errno mapping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "fb_i2cdev.h"
#include "flashbridge.h"

static void test_write_only(void **state)
{
    (void)state;
    struct i2c_msg m[2];
    const uint8_t w[3] = {0x20, 0x00, 0x05};
    assert_int_equal(fb_i2cdev_build_msgs(m, 0x3B, w, sizeof w, NULL, 0), 1);
    assert_int_equal(m[0].addr, 0x3B);
    assert_int_equal(m[0].flags, 0);
    assert_int_equal(m[0].len, 3);
    assert_ptr_equal(m[0].buf, w);
}

static void test_register_read_is_two_msgs(void **state)
{
    (void)state;
    struct i2c_msg m[2];
    const uint8_t reg = 0x80;
    uint8_t r[4];
    /* Both messages in one ioctl: the kernel puts a repeated start between them. */
    assert_int_equal(fb_i2cdev_build_msgs(m, 0x3B, &reg, 1, r, sizeof r), 2);
    assert_int_equal(m[0].addr, 0x3B);
    assert_int_equal(m[0].flags, 0);
    assert_int_equal(m[0].len, 1);
    assert_ptr_equal(m[0].buf, &reg);
    assert_int_equal(m[1].addr, 0x3B);
    assert_int_equal(m[1].flags, I2C_M_RD);
    assert_int_equal(m[1].len, 4);
    assert_ptr_equal(m[1].buf, r);
}

static void test_plain_read(void **state)
{
    (void)state;
    struct i2c_msg m[2];
    uint8_t r[256];
    assert_int_equal(fb_i2cdev_build_msgs(m, 0x3B, NULL, 0, r, sizeof r), 1);
    assert_int_equal(m[0].flags, I2C_M_RD);
    assert_int_equal(m[0].len, 256);
    assert_ptr_equal(m[0].buf, r);
}

static void test_probe_is_zero_length_write(void **state)
{
    (void)state;
    struct i2c_msg m[2];
    assert_int_equal(fb_i2cdev_build_msgs(m, 0x42, NULL, 0, NULL, 0), 1);
    assert_int_equal(m[0].addr, 0x42);
    assert_int_equal(m[0].flags, 0);
    assert_int_equal(m[0].len, 0);
}

static void test_rejects_unrepresentable(void **state)
{
    (void)state;
    struct i2c_msg m[2];
    static uint8_t big[65536];
    assert_int_equal(fb_i2cdev_build_msgs(m, 0x3B, big, sizeof big, NULL, 0), 0);
    assert_int_equal(fb_i2cdev_build_msgs(m, 0x3B, NULL, 0, big, sizeof big), 0);
    assert_int_equal(fb_i2cdev_build_msgs(m, 0x3B, NULL, 1, NULL, 0), 0);
    assert_int_equal(fb_i2cdev_build_msgs(m, 0x3B, NULL, 0, NULL, 1), 0);
    assert_int_equal(fb_i2cdev_build_msgs(m, 0x3B, big, 65535, NULL, 0), 1);
}

static void test_errno_mapping(void **state)
{
    (void)state;
    assert_int_equal(fb_i2cdev_map_errno(ENXIO), FB_HOST_ENACK);
    assert_int_equal(fb_i2cdev_map_errno(EREMOTEIO), FB_HOST_ENACK);
    assert_int_equal(fb_i2cdev_map_errno(EIO), FB_HOST_EIO);
    assert_int_equal(fb_i2cdev_map_errno(ETIMEDOUT), FB_HOST_EIO);
    assert_int_equal(fb_i2cdev_map_errno(EAGAIN), FB_HOST_EIO);
    assert_int_equal(fb_i2cdev_map_errno(0), FB_HOST_EIO);
}

static void test_open_failures(void **state)
{
    (void)state;
    errno = 0;
    assert_null(fb_transport_i2cdev_open("/nonexistent/i2c-99"));
    assert_int_equal(errno, ENOENT);
    /* Not an adapter: I2C_FUNCS fails, and open says so instead of failing later. */
    errno = 0;
    assert_null(fb_transport_i2cdev_open("/dev/null"));
    assert_int_equal(errno, ENOTTY);
    assert_null(fb_transport_i2cdev_open(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_write_only),
        cmocka_unit_test(test_register_read_is_two_msgs),
        cmocka_unit_test(test_plain_read),
        cmocka_unit_test(test_probe_is_zero_length_write),
        cmocka_unit_test(test_rejects_unrepresentable),
        cmocka_unit_test(test_errno_mapping),
        cmocka_unit_test(test_open_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
