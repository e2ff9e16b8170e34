/* Host library helpers that need no target: error strings, 8.3 names, time budgets. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "flashbridge.h"
#include "flashbridge/protocol.h"

static void test_strerror_every_code(void **state)
{
    (void)state;
    const int codes[] = {FB_HOST_OK,       FB_HOST_EIO,     FB_HOST_ENACK, FB_HOST_ETIMEOUT,
                         FB_HOST_EDEVICE, FB_HOST_EINVAL, FB_HOST_EPROTO, FB_HOST_ENOTSUP};
    const char *unknown = fb_strerror(-1000);
    assert_non_null(unknown);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        const char *s = fb_strerror(codes[i]);
        assert_non_null(s);
        assert_true(strlen(s) > 0);
        assert_string_not_equal(s, unknown);
        /* One meaning per code: no two codes share a message. */
        for (size_t k = 0; k < i; k++)
            assert_string_not_equal(s, fb_strerror(codes[k]));
    }
    assert_string_equal(fb_strerror(7), unknown);
}

static void test_error_bits_each(void **state)
{
    (void)state;
    char buf[200];
    const struct {
        uint8_t bit;
        const char *text;
    } cases[] = {
        {FB_ERR_BAD_PARAM, "bad parameter"},
        {FB_ERR_BAD_NAME, "bad filename"},
        {FB_ERR_FILE_FULL, "file full"},
        {FB_ERR_QUEUE_FULL, "queue full (command dropped)"},
        {FB_ERR_UNKNOWN_CMD, "unknown command"},
        {FB_ERR_FLASH, "flash failure"},
        {FB_ERR_STREAM, "stream frame rejected (bad CRC or sequence)"},
        {FB_ERR_FAILED, "command failed"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        assert_string_equal(fb_error_bits_str(cases[i].bit, buf, sizeof buf), cases[i].text);
    assert_string_equal(fb_error_bits_str(0, buf, sizeof buf), "none");
}

static void test_error_bits_combined(void **state)
{
    (void)state;
    char buf[200];
    assert_string_equal(fb_error_bits_str(FB_ERR_BAD_PARAM | FB_ERR_FAILED, buf, sizeof buf),
                        "bad parameter, command failed");
    assert_string_equal(
        fb_error_bits_str(FB_ERR_QUEUE_FULL | FB_ERR_FILE_FULL | FB_ERR_FAILED, buf, sizeof buf),
        "file full, queue full (command dropped), command failed");
    /* Every bit at once still fits a reasonable buffer. */
    fb_error_bits_str(0xFF, buf, sizeof buf);
    assert_non_null(strstr(buf, "bad parameter"));
    assert_non_null(strstr(buf, "command failed"));
}

static void test_error_bits_truncates_safely(void **state)
{
    (void)state;
    char buf[8];
    memset(buf, 'x', sizeof buf);
    const char *s = fb_error_bits_str(0xFF, buf, sizeof buf);
    assert_ptr_equal(s, buf);
    assert_true(strlen(buf) < sizeof buf);
    char one[1] = {'x'};
    fb_error_bits_str(0x01, one, 1);
    assert_int_equal(one[0], '\0');
    assert_string_equal(fb_error_bits_str(0x01, NULL, 0), "");
}

static void test_name_to_83_valid(void **state)
{
    (void)state;
    char n[FB_FILENAME_LEN];
    const struct {
        const char *in;
        const char *out;
    } ok[] = {
        {"LOG.CSV", "LOG     CSV"},
        {"DATA", "DATA       "},
        {"A.B", "A       B  "},
        {"ABCDEFGH.XYZ", "ABCDEFGHXYZ"},
        {"X.", "X          "},
        {"log.csv", "log     csv"}, /* case kept: the target judges characters */
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        memset(n, '#', sizeof n);
        assert_int_equal(fb_name_to_83(ok[i].in, n), FB_HOST_OK);
        assert_memory_equal(n, ok[i].out, FB_FILENAME_LEN);
    }
}

static void test_name_to_83_invalid(void **state)
{
    (void)state;
    char n[FB_FILENAME_LEN];
    const char *bad[] = {"", ".CSV", "ABCDEFGHI.CSV", "LOG.CSVX", "A.B.C", "ABCDEFGHI", "..", "A..B"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(n, '#', sizeof n);
        assert_int_equal(fb_name_to_83(bad[i], n), FB_HOST_EINVAL);
    }
    assert_int_equal(fb_name_to_83(NULL, n), FB_HOST_EINVAL);
}

static void test_name_from_83(void **state)
{
    (void)state;
    char d[16];
    fb_name_from_83("LOG     CSV", d, sizeof d);
    assert_string_equal(d, "LOG.CSV");
    fb_name_from_83("DATA       ", d, sizeof d);
    assert_string_equal(d, "DATA");
    fb_name_from_83("ABCDEFGHXYZ", d, sizeof d);
    assert_string_equal(d, "ABCDEFGH.XYZ");
    fb_name_from_83("A       B  ", d, sizeof d);
    assert_string_equal(d, "A.B");
    /* Truncated to the caller's buffer, always terminated. */
    char small[5];
    fb_name_from_83("ABCDEFGHXYZ", small, sizeof small);
    assert_string_equal(small, "ABCD");
    /* NUL bytes end a field rather than being printed. */
    const char withnul[FB_FILENAME_LEN] = {'A', 'B', 0, 0, 0, 0, 0, 0, 'T', 'X', 'T'};
    fb_name_from_83(withnul, d, sizeof d);
    assert_string_equal(d, "AB.TXT");
}

static void test_name_round_trip(void **state)
{
    (void)state;
    const char *names[] = {"LOG.CSV", "DATA", "ABCDEFGH.XYZ", "A.B", "X1_2.T"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char n[FB_FILENAME_LEN], d[16];
        assert_int_equal(fb_name_to_83(names[i], n), FB_HOST_OK);
        fb_name_from_83(n, d, sizeof d);
        assert_string_equal(d, names[i]);
    }
}

/* The budgets are the datasheet sums of fb_timeout_us's comment, x5 for the queue,
 * x1.5 margin: a change of any figure has to show up here. */
static void test_timeout_budgets(void **state)
{
    (void)state;
    const uint64_t compaction = 400000 + 40 * 3000;                /* 520 ms */
    const uint64_t repair = 3 * 400000 + 34 * 3000;                /* 1302 ms */
    const uint64_t write_data = 400000 + repair + 2 * 3000 + 3 * compaction; /* 3268 ms */
    const uint64_t config = 2 * 40000 + 520 * 70;                   /* 116.4 ms */
    const uint64_t ahead = 2000000 + compaction;                    /* 2520 ms */
    const uint64_t q = 1 + FB_QUEUE_DEPTH;
    assert_int_equal(fb_timeout_us(FB_CMD_WRITE_DATA, 0), (ahead + write_data * q) * 3 / 2);
    assert_int_equal(fb_timeout_us(FB_CMD_WRITE_DATA, 0), 28290000);
    assert_int_equal(fb_timeout_us(FB_CMD_CLEAR_FLASH, 0), (ahead + compaction * q) * 3 / 2);
    assert_int_equal(fb_timeout_us(FB_CMD_SET_FILENAME, 0), (ahead + compaction * q) * 3 / 2);
    assert_int_equal(fb_timeout_us(FB_CMD_WRITE_CONFIG, 0), (ahead + config * q) * 3 / 2);
    assert_int_equal(fb_timeout_us(FB_CMD_CLEAR_CONFIG, 0), (ahead + config * q) * 3 / 2);
    assert_int_equal(fb_timeout_us(FB_CMD_CONFIG_COMMIT, 0), (ahead + config * q) * 3 / 2);
    assert_int_equal(fb_timeout_us(FB_CMD_READ_SECTOR, 0), (ahead + 10000 * q) * 3 / 2);
    assert_int_equal(fb_timeout_us(FB_CMD_READ_CONFIG, 0), (ahead + 10000 * q) * 3 / 2);
    /* Does not depend on the file size (lazy erase on the target). */
    assert_int_equal(fb_timeout_us(FB_CMD_CLEAR_FLASH, FB_FILE_CAPACITY),
                     fb_timeout_us(FB_CMD_CLEAR_FLASH, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_strerror_every_code),
        cmocka_unit_test(test_error_bits_each),
        cmocka_unit_test(test_error_bits_combined),
        cmocka_unit_test(test_error_bits_truncates_safely),
        cmocka_unit_test(test_name_to_83_valid),
        cmocka_unit_test(test_name_to_83_invalid),
        cmocka_unit_test(test_name_from_83),
        cmocka_unit_test(test_name_round_trip),
        cmocka_unit_test(test_timeout_budgets),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
