/*
 * STM32F103 internal flash model against RM0008 section 3.3 and the STM32F103x8
 * datasheet's flash characteristics.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "f1flash_model.h"
#include "tmpdir.h"

#define KEY1 0x45670123u
#define KEY2 0xCDEF89ABu
#define T0   1000u

/* Datasheet figures written out, so that a change in the model shows up. */
#define TPROG_TYP 52500u
#define TPROG_MAX 70000u
#define TERASE_TYP 30000000u /* midpoint of 20..40 ms: no typical in the datasheet */
#define TERASE_MAX 40000000u

static int setup(void **state)
{
    *state = f1m_create(NULL, 0, F1M_TIMING_TYPICAL, NULL);
    return *state != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    f1m_destroy(*state);
    return 0;
}

static void unlock(f1m_t *m)
{
    f1m_write_key(m, KEY1);
    f1m_write_key(m, KEY2);
}

static uint16_t half(const f1m_t *m, uint32_t off)
{
    const uint8_t *a = f1m_array(m);
    return (uint16_t)(a[off] | (a[off + 1] << 8));
}

static bool all_bytes(const uint8_t *p, size_t n, uint8_t v)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != v)
            return false;
    return true;
}

/* ---- lock ---- */

static void test_default_size_and_erased(void **state)
{
    f1m_t *m = *state;
    assert_int_equal(f1m_size(m), 65536);
    assert_true(all_bytes(f1m_array(m), 65536, 0xFF));
    assert_true(f1m_locked(m));
}

static void test_unlock_sequence_and_relock(void **state)
{
    f1m_t *m = *state;
    assert_int_equal(f1m_program(m, 0, 0x1234, T0), F1M_WRPRTERR);
    assert_int_equal(f1m_erase_page(m, 0, T0), F1M_WRPRTERR);
    f1m_write_key(m, KEY1);
    assert_true(f1m_locked(m)); /* half-way */
    f1m_write_key(m, KEY2);
    assert_false(f1m_locked(m));
    assert_int_equal(f1m_program(m, 0, 0x1234, T0), F1M_OK);
    f1m_lock(m);
    assert_true(f1m_locked(m));
    assert_int_equal(f1m_program(m, 2, 0x1234, T0 + TPROG_MAX), F1M_WRPRTERR);
    unlock(m); /* CR.LOCK is not a wrong sequence: the keys work again */
    assert_false(f1m_locked(m));
    assert_int_equal(f1m_violations(m), 0);
}

/* After one wrong key write: the right sequence no longer opens the FPEC (each of its
 * writes is one more wrong write) until a reset. */
static void check_jammed_until_reset(f1m_t *m)
{
    assert_true(f1m_locked(m));
    assert_int_equal(f1m_violations(m), 1);
    unlock(m);
    assert_true(f1m_locked(m));
    assert_int_equal(f1m_violations(m), 3);
    assert_int_equal(f1m_program(m, 0, 0, T0), F1M_WRPRTERR);
    f1m_reset(m);
    unlock(m);
    assert_false(f1m_locked(m));
}

static void test_wrong_first_key_locks_until_reset(void **state)
{
    f1m_t *m = *state;
    f1m_write_key(m, KEY2);
    check_jammed_until_reset(m);
}

static void test_wrong_second_key_locks_until_reset(void **state)
{
    f1m_t *m = *state;
    f1m_write_key(m, KEY1);
    f1m_write_key(m, KEY1);
    check_jammed_until_reset(m);
}

static void test_keys_while_unlocked_lock_until_reset(void **state)
{
    f1m_t *m = *state;
    unlock(m);
    f1m_write_key(m, KEY1);
    check_jammed_until_reset(m);
}

static void test_lock_does_not_clear_a_wrong_sequence(void **state)
{
    f1m_t *m = *state;
    f1m_write_key(m, 0);
    f1m_lock(m);
    check_jammed_until_reset(m);
}

/* ---- program ---- */

static void test_program_little_endian(void **state)
{
    f1m_t *m = *state;
    unlock(m);
    assert_int_equal(f1m_program(m, 0x10, 0x1234, T0), F1M_OK);
    assert_int_equal(f1m_array(m)[0x10], 0x34);
    assert_int_equal(f1m_array(m)[0x11], 0x12);
    assert_int_equal(f1m_array(m)[0x12], 0xFF);
}

/* PM0075 "Main Flash memory programming": a non-erased half-word takes only 0x0000, else PGERR. */
static void test_pgerr_on_programmed_cell(void **state)
{
    f1m_t *m = *state;
    unlock(m);
    assert_int_equal(f1m_program(m, 0x20, 0x1234, T0), F1M_OK);
    uint64_t t = f1m_busy_until(m);
    assert_int_equal(f1m_program(m, 0x20, 0x1030, t), F1M_PGERR); /* even bits-only */
    assert_int_equal(half(m, 0x20), 0x1234);
    assert_false(f1m_busy(m, t)); /* nothing started */
    assert_int_equal(f1m_program(m, 0x20, 0xFFFF, t), F1M_PGERR);
    assert_int_equal(half(m, 0x20), 0x1234);
}

static void test_zero_over_programmed_cell(void **state)
{
    f1m_t *m = *state;
    unlock(m);
    assert_int_equal(f1m_program(m, 0x40, 0x1234, T0), F1M_OK);
    uint64_t t = f1m_busy_until(m);
    assert_int_equal(f1m_program(m, 0x40, 0x0000, t), F1M_OK);
    assert_int_equal(half(m, 0x40), 0x0000);
    t = f1m_busy_until(m);
    assert_int_equal(f1m_program(m, 0x40, 0x0000, t), F1M_OK);
}

static void test_odd_or_outside_offset(void **state)
{
    f1m_t *m = *state;
    unlock(m);
    assert_int_equal(f1m_program(m, 1, 0x0000, T0), F1M_EALIGN);
    assert_int_equal(f1m_program(m, 65536, 0x0000, T0), F1M_EALIGN);
    assert_int_equal(f1m_erase_page(m, 65536, T0), F1M_EALIGN);
    assert_false(f1m_busy(m, T0));
    assert_int_equal(f1m_program(m, 65534, 0x0000, T0), F1M_OK);
}

static void check_program_time(f1m_timing_t timing, uint64_t tprog)
{
    f1m_t *m = f1m_create(NULL, 0, timing, NULL);
    assert_non_null(m);
    unlock(m);
    assert_int_equal(f1m_program_ns(m), tprog);
    assert_int_equal(f1m_program(m, 0, 0xAAAA, T0), F1M_OK);
    assert_int_equal(f1m_busy_until(m), T0 + tprog);
    assert_true(f1m_busy(m, T0 + tprog - 1));
    assert_int_equal(f1m_program(m, 2, 0x5555, T0 + tprog - 1), F1M_EBUSY);
    assert_int_equal(f1m_erase_page(m, 1024, T0 + tprog - 1), F1M_EBUSY);
    assert_false(f1m_busy(m, T0 + tprog));
    assert_int_equal(f1m_program(m, 2, 0x5555, T0 + tprog), F1M_OK);
    assert_int_equal(half(m, 2), 0x5555);
    f1m_destroy(m);
}

static void test_program_busy_typical(void **state)
{
    (void)state;
    check_program_time(F1M_TIMING_TYPICAL, TPROG_TYP);
}

static void test_program_busy_max(void **state)
{
    (void)state;
    check_program_time(F1M_TIMING_MAX, TPROG_MAX);
}

/* ---- erase ---- */

static void check_erase_time(f1m_timing_t timing, uint64_t terase)
{
    f1m_t *m = f1m_create(NULL, 0, timing, NULL);
    assert_non_null(m);
    unlock(m);
    uint64_t t = T0;
    const uint32_t marks[4] = {1023, 1024, 2047, 2048};
    for (unsigned i = 0; i < 4; i++) {
        assert_int_equal(f1m_program(m, marks[i] & ~1u, 0x0000, t), F1M_OK);
        t = f1m_busy_until(m);
    }
    assert_int_equal(f1m_erase_ns(m), terase);
    assert_int_equal(f1m_erase_page(m, 1024 + 100, t), F1M_OK); /* any address in it */
    assert_true(f1m_busy(m, t + terase - 1));
    assert_int_equal(f1m_program(m, 4096, 0, t + terase - 1), F1M_EBUSY);
    assert_false(f1m_busy(m, t + terase));
    assert_true(all_bytes(f1m_array(m) + 1024, F1M_PAGE, 0xFF));
    assert_int_equal(half(m, 1022), 0x0000);
    assert_int_equal(half(m, 2048), 0x0000);
    assert_int_equal(f1m_erase_count(m, 0), 0);
    assert_int_equal(f1m_erase_count(m, 1), 1);
    assert_int_equal(f1m_erase_count(m, 2), 0);
    f1m_destroy(m);
}

static void test_erase_page_typical(void **state)
{
    (void)state;
    check_erase_time(F1M_TIMING_TYPICAL, TERASE_TYP);
}

static void test_erase_page_max(void **state)
{
    (void)state;
    check_erase_time(F1M_TIMING_MAX, TERASE_MAX);
}

static void test_erase_counts(void **state)
{
    f1m_t *m = *state;
    unlock(m);
    uint64_t t = T0;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(f1m_erase_page(m, 5 * F1M_PAGE, t), F1M_OK);
        t = f1m_busy_until(m);
    }
    assert_int_equal(f1m_erase_page(m, 63 * F1M_PAGE, t), F1M_OK);
    assert_int_equal(f1m_erase_count(m, 5), 3);
    assert_int_equal(f1m_erase_count(m, 63), 1);
    assert_int_equal(f1m_erase_count(m, 4), 0);
    assert_int_equal(f1m_erase_count(m, 64), 0); /* outside */
}

/* ---- power ---- */

static void check_dead(f1m_t *m, uint64_t t)
{
    assert_int_equal(f1m_program(m, 0x100, 0, t), F1M_EDEAD);
    assert_int_equal(f1m_erase_page(m, 0, t), F1M_EDEAD);
    assert_false(f1m_busy(m, t));
}

static void test_cut_during_program(void **state)
{
    (void)state;
    unsigned partial = 0;
    for (uint32_t seed = 1; seed <= 20; seed++) {
        powercut_t pc;
        powercut_init(&pc, 2, seed);
        f1m_t *m = f1m_create(NULL, 0, F1M_TIMING_TYPICAL, &pc);
        assert_non_null(m);
        unlock(m);
        assert_int_equal(f1m_program(m, 0, 0x1111, T0), F1M_OK);
        uint64_t t = f1m_busy_until(m);
        assert_int_equal(f1m_program(m, 8, 0x0F0F, t), F1M_EDEAD); /* step 2 */
        assert_true(pc.dead);
        uint16_t v = half(m, 8);
        assert_int_equal(v & 0x0F0F, 0x0F0F); /* only bits that had to clear did */
        partial += v != 0x0F0F && v != 0xFFFF;
        check_dead(m, t);
        assert_int_equal(pc.steps, 2);

        powercut_restore(&pc);
        f1m_reset(m);
        assert_true(f1m_locked(m));
        unlock(m);
        assert_int_equal(f1m_program(m, 16, 0x2222, t), F1M_OK);
        assert_int_equal(pc.steps, 3);
        f1m_destroy(m);
    }
    assert_true(partial > 10);
}

static void test_cut_during_erase(void **state)
{
    (void)state;
    for (uint32_t seed = 1; seed <= 10; seed++) {
        powercut_t pc;
        powercut_init(&pc, F1M_PAGE / 2 + 1, seed);
        f1m_t *m = f1m_create(NULL, 4096, F1M_TIMING_TYPICAL, &pc);
        assert_non_null(m);
        unlock(m);
        uint64_t t = T0;
        for (uint32_t off = 0; off < F1M_PAGE; off += 2) {
            assert_int_equal(f1m_program(m, F1M_PAGE + off, 0xA55A, t), F1M_OK);
            t = f1m_busy_until(m);
        }
        assert_int_equal(f1m_erase_page(m, F1M_PAGE, t), F1M_EDEAD);
        const uint8_t *a = f1m_array(m) + F1M_PAGE;
        for (uint32_t i = 0; i < F1M_PAGE; i += 2) {
            assert_int_equal(a[i] & 0x5A, 0x5A);
            assert_int_equal(a[i + 1] & 0xA5, 0xA5);
        }
        assert_false(all_bytes(a, F1M_PAGE, 0xFF));
        assert_int_equal(f1m_erase_count(m, 1), 1);
        check_dead(m, t);
        f1m_destroy(m);
    }
}

static void test_power_off_during_erase(void **state)
{
    f1m_t *m = *state;
    unlock(m);
    uint64_t t = T0;
    for (uint32_t off = 0; off < F1M_PAGE; off += 2) {
        assert_int_equal(f1m_program(m, off, 0x0000, t), F1M_OK);
        t = f1m_busy_until(m);
    }
    assert_int_equal(f1m_erase_page(m, 0, t), F1M_OK);
    f1m_power_off(m, t + TERASE_TYP / 2);
    assert_false(all_bytes(f1m_array(m), F1M_PAGE, 0xFF));
    assert_false(all_bytes(f1m_array(m), F1M_PAGE, 0x00));
    check_dead(m, t + TERASE_TYP);
    f1m_reset(m);
    unlock(m);
    assert_int_equal(f1m_erase_page(m, 0, t + TERASE_TYP), F1M_OK);
}

/* ---- image ---- */

static void test_image_persists(void **state)
{
    (void)state;
    tmpdir_t d = {0};
    assert_int_equal(tmpdir_create(&d), 0);
    char path[128];
    snprintf(path, sizeof path, "%s", tmpdir_path(&d, "f1.img"));
    f1m_t *m = f1m_create(path, 8192, F1M_TIMING_TYPICAL, NULL);
    assert_non_null(m);
    assert_int_equal(file_size(path), 8192);
    unlock(m);
    assert_int_equal(f1m_program(m, 0x1000, 0xBEEF, T0), F1M_OK);
    assert_int_equal(f1m_sync(m), 0);
    uint8_t got[2];
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, got, 2, 0x1000), 2);
    close(fd);
    assert_int_equal(got[0], 0xEF);
    assert_int_equal(got[1], 0xBE);
    f1m_destroy(m);

    m = f1m_create(path, 8192, F1M_TIMING_TYPICAL, NULL);
    assert_non_null(m);
    assert_int_equal(half(m, 0x1000), 0xBEEF);
    assert_int_equal(half(m, 0), 0xFFFF);
    f1m_destroy(m);
    tmpdir_remove(&d);
}

static void test_wrong_size_rejected(void **state)
{
    (void)state;
    tmpdir_t d = {0};
    assert_int_equal(tmpdir_create(&d), 0);
    char path[128];
    snprintf(path, sizeof path, "%s", tmpdir_path(&d, "f1.img"));
    assert_int_equal(file_fill(path, 4096, 0xFF), 0);
    errno = 0;
    assert_null(f1m_create(path, 8192, F1M_TIMING_TYPICAL, NULL));
    assert_int_equal(errno, EINVAL);
    assert_int_equal(file_size(path), 4096);
    errno = 0;
    assert_null(f1m_create(path, 2048, F1M_TIMING_TYPICAL, NULL)); /* too big too */
    assert_int_equal(errno, EINVAL);
    errno = 0;
    assert_null(f1m_create(NULL, 1000, F1M_TIMING_TYPICAL, NULL)); /* not whole pages */
    assert_int_equal(errno, EINVAL);
    tmpdir_remove(&d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_default_size_and_erased, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unlock_sequence_and_relock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wrong_first_key_locks_until_reset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_wrong_second_key_locks_until_reset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_keys_while_unlocked_lock_until_reset, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lock_does_not_clear_a_wrong_sequence, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_program_little_endian, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pgerr_on_programmed_cell, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_over_programmed_cell, setup, teardown),
        cmocka_unit_test_setup_teardown(test_odd_or_outside_offset, setup, teardown),
        cmocka_unit_test(test_program_busy_typical),
        cmocka_unit_test(test_program_busy_max),
        cmocka_unit_test(test_erase_page_typical),
        cmocka_unit_test(test_erase_page_max),
        cmocka_unit_test_setup_teardown(test_erase_counts, setup, teardown),
        cmocka_unit_test(test_cut_during_program),
        cmocka_unit_test(test_cut_during_erase),
        cmocka_unit_test_setup_teardown(test_power_off_during_erase, setup, teardown),
        cmocka_unit_test(test_image_persists),
        cmocka_unit_test(test_wrong_size_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
