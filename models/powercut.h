/*
 * Power-cut controller shared by the device models.
 *
 * Every program or erase operation a model accepts is one "step", counted across all
 * models that share the controller. A run first counts the steps of a scenario; a later
 * run from the same images sets cut_at = k and power dies during step k: that model
 * leaves the operation partly done (a prefix of a page, an erase block in an undefined
 * state), and from then on every model sharing the controller is dead (SPI returns
 * 0xFF, nothing is programmed) until the board is powered up again.
 */
#ifndef FB_MODELS_POWERCUT_H
#define FB_MODELS_POWERCUT_H

#include <stdbool.h>
#include <stdint.h>

typedef struct powercut {
    uint64_t steps;  /* program/erase steps started so far */
    uint64_t cut_at; /* 1-based step during which power dies; 0 = never */
    bool dead;       /* power is off */
    uint32_t rng;    /* xorshift state: what an interrupted operation leaves behind */
} powercut_t;

/* Arm the controller: power dies during step cut_at (0 = never); seed picks the damage. */
void powercut_init(powercut_t *pc, uint64_t cut_at, uint32_t seed);
/* Called by a model as it starts a program/erase step. True if power dies during it:
 * the model then applies the partial effect and the controller is dead. */
bool powercut_step(powercut_t *pc);
/* Deterministic pseudo-random word for partial effects. */
uint32_t powercut_rand(powercut_t *pc);
/* Power back on: steps keep counting, no further cut unless re-armed. */
void powercut_restore(powercut_t *pc);

#endif
