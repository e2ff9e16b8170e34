/* Partial effects of interrupted flash operations: see partial_effect.h. */
#include "partial_effect.h"

#include <string.h>

#define PE_CHUNK 16u

uint8_t pe_between(uint8_t old, uint8_t target, uint32_t rnd)
{
    uint8_t moving = (uint8_t)(old ^ target);
    return (uint8_t)(old ^ (moving & (uint8_t)rnd));
}

void pe_interrupt_program(uint8_t *dst, const uint8_t *old, size_t len, size_t first,
                          powercut_t *rng)
{
    size_t done = powercut_rand(rng) % (len + 1);
    for (size_t k = done; k < len; k++) {
        size_t i = (first + k) % len;
        dst[i] = k == done ? pe_between(old[i], dst[i], powercut_rand(rng)) : old[i];
    }
}

static void interrupt_chunk(uint8_t *dst, const uint8_t *old, size_t n, powercut_t *rng)
{
    switch (powercut_rand(rng) % 3) {
    case 0: /* not reached yet */
        memcpy(dst, old, n);
        break;
    case 1: /* done */
        break;
    default: /* some cells part-way */
        for (size_t i = 0; i < n; i++)
            dst[i] = pe_between(old[i], dst[i], powercut_rand(rng));
        break;
    }
}

void pe_interrupt_erase(uint8_t *dst, const uint8_t *old, size_t len, powercut_t *rng)
{
    for (size_t off = 0; off < len; off += PE_CHUNK) {
        size_t n = len - off < PE_CHUNK ? len - off : PE_CHUNK;
        interrupt_chunk(dst + off, old + off, n, rng);
    }
}
