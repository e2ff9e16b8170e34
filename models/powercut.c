/* Power-cut controller: see powercut.h. */
#include "powercut.h"

/* Any non-zero word will do: xorshift must never hold 0 (it would stay 0 for ever). */
#define POWERCUT_DEFAULT_SEED 0x9E3779B9u

void powercut_init(powercut_t *pc, uint64_t cut_at, uint32_t seed)
{
    pc->steps = 0;
    pc->cut_at = cut_at;
    pc->dead = false;
    pc->rng = seed != 0 ? seed : POWERCUT_DEFAULT_SEED;
}

bool powercut_step(powercut_t *pc)
{
    pc->steps++; /* 1-based, so cut_at = 0 never matches */
    if (pc->steps == pc->cut_at) {
        pc->dead = true;
        return true;
    }
    return false;
}

/* Marsaglia's xorshift32 (13, 17, 5): full period over the non-zero words. */
uint32_t powercut_rand(powercut_t *pc)
{
    uint32_t x = pc->rng != 0 ? pc->rng : POWERCUT_DEFAULT_SEED;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    pc->rng = x;
    return x;
}

void powercut_restore(powercut_t *pc)
{
    pc->dead = false;
    pc->cut_at = 0;
}
