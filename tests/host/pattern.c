#include "pattern.h"

#include <string.h>

void test_pattern(uint8_t *p, size_t n, uint32_t seed)
{
    uint32_t s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        p[i] = (uint8_t)s;
    }
    for (size_t i = 20; i + 40 <= n; i += 1500)
        memset(p + i, 0xFF, 40);
}
