#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "crc.h"
#include "errors.h"

/* fb_crc16 lives in fb_core, which expects the port's assert hook. */
void fb_assert_failed(const char *file, int line)
{
    (void)file;
    (void)line;
    fail();
}

static void crc16_ccitt_false_check_value(void **state)
{
    (void)state;
    assert_int_equal(fb_crc16(FB_CRC16_INIT, "123456789", 9), 0x29B1);
    /* incremental use gives the same result */
    uint16_t c = fb_crc16(FB_CRC16_INIT, "1234", 4);
    assert_int_equal(fb_crc16(c, "56789", 5), 0x29B1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(crc16_ccitt_false_check_value)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
