/*
 * What an interrupted program or erase leaves in a NOR array (power cut, reset).
 * Internal to the models library; shared by the W25Q64 and the STM32F1 flash models so
 * that both fail the same way. The choices come from the powercut controller's
 * generator, so a given seed always leaves the same damage.
 *
 * Each function takes dst holding the completed result and old holding the content
 * before the operation, and rewrites dst into an interrupted state.
 */
#ifndef FB_MODELS_PARTIAL_EFFECT_H
#define FB_MODELS_PARTIAL_EFFECT_H

#include <stddef.h>
#include <stdint.h>

#include "powercut.h"

/* A byte that has made part of the way from old to target: every bit that differs
 * takes either value, as the cells of an interrupted operation do. */
uint8_t pe_between(uint8_t old, uint8_t target, uint32_t rnd);

/* Interrupted program of len bytes: in programming order from index first (wrapping
 * within len), a random-length prefix is done, the next byte is part-done, the rest is
 * untouched. */
void pe_interrupt_program(uint8_t *dst, const uint8_t *old, size_t len, size_t first,
                          powercut_t *rng);

/* Interrupted erase: the region is undefined. Each 16-byte chunk is either still old,
 * fully erased, or part-way between (only bits going towards erased). */
void pe_interrupt_erase(uint8_t *dst, const uint8_t *old, size_t len, powercut_t *rng);

#endif
