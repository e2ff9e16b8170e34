/* Power-cut controller: step counting, the cut, the generator, restore. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "powercut.h"

static void test_cut_happens_during_step_k(void **state)
{
    (void)state;
    powercut_t pc;
    powercut_init(&pc, 3, 1);
    assert_false(powercut_step(&pc));
    assert_false(powercut_step(&pc));
    assert_false(pc.dead);
    assert_true(powercut_step(&pc));
    assert_true(pc.dead);
    assert_int_equal(pc.steps, 3);
    assert_false(powercut_step(&pc)); /* once only */
    assert_int_equal(pc.steps, 4);
}

static void test_cut_at_zero_never_cuts(void **state)
{
    (void)state;
    powercut_t pc;
    powercut_init(&pc, 0, 1);
    for (int i = 0; i < 1000; i++)
        assert_false(powercut_step(&pc));
    assert_false(pc.dead);
    assert_int_equal(pc.steps, 1000);
}

static void test_restore_keeps_counting_without_cut(void **state)
{
    (void)state;
    powercut_t pc;
    powercut_init(&pc, 1, 1);
    assert_true(powercut_step(&pc));
    powercut_restore(&pc);
    assert_false(pc.dead);
    assert_int_equal(pc.cut_at, 0);
    assert_int_equal(pc.steps, 1);
    assert_false(powercut_step(&pc));
    assert_int_equal(pc.steps, 2);
}

static void test_rand_is_deterministic_per_seed(void **state)
{
    (void)state;
    powercut_t a, b, c;
    powercut_init(&a, 0, 42);
    powercut_init(&b, 0, 42);
    powercut_init(&c, 0, 43);
    unsigned differ = 0;
    for (int i = 0; i < 100; i++) {
        uint32_t x = powercut_rand(&a);
        assert_int_equal(x, powercut_rand(&b));
        differ += x != powercut_rand(&c);
    }
    assert_true(differ > 90);
}

static void test_rand_never_stuck_at_zero(void **state)
{
    (void)state;
    powercut_t pc;
    powercut_init(&pc, 0, 0); /* a zero seed would freeze xorshift */
    assert_int_not_equal(pc.rng, 0);
    for (int i = 0; i < 10000; i++)
        assert_int_not_equal(powercut_rand(&pc), 0);
    pc.rng = 0; /* even if a caller zeroes the state */
    assert_int_not_equal(powercut_rand(&pc), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cut_happens_during_step_k),
        cmocka_unit_test(test_cut_at_zero_never_cuts),
        cmocka_unit_test(test_restore_keeps_counting_without_cut),
        cmocka_unit_test(test_rand_is_deterministic_per_seed),
        cmocka_unit_test(test_rand_never_stuck_at_zero),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
