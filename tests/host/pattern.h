/*
 * Test data for the host library's append tests: pseudo-random bytes (xorshift32 from a
 * seed) with a 40-byte run of 0xFF every 1,500 bytes from offset 20, because bytes that
 * look erased are data too and must survive every path (mock, simulated board, firmware).
 */
#ifndef FB_TEST_PATTERN_H
#define FB_TEST_PATTERN_H

#include <stddef.h>
#include <stdint.h>

void test_pattern(uint8_t *p, size_t n, uint32_t seed);

#endif
