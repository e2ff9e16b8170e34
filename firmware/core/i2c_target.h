/*
 * I2C target events, called by the port's I2C interrupt handler (and only from there).
 * They only move bytes and post complete frames to the main loop (core/mailbox.h);
 * each returns in bounded time. On the STM32F103 they run from SRAM (FB_RAMFUNC).
 *
 * Sequence of one transaction: fb_i2c_addr(false), fb_i2c_write_byte()..., then either
 * fb_i2c_stop() or a repeated start fb_i2c_addr(true), fb_i2c_read_byte()...,
 * fb_i2c_stop(). fb_i2c_abort() may replace fb_i2c_stop() at any point.
 */
#ifndef FB_CORE_I2C_TARGET_H
#define FB_CORE_I2C_TARGET_H

#include <stdbool.h>
#include <stdint.h>

#include "ramfunc.h"

/* Address matched; read = true when the controller will read (a repeated start after a
 * write ends the write phase here). */
void fb_i2c_addr(bool read) FB_RAMFUNC;
/* A byte written by the controller. true = ACK it, false = NACK. */
bool fb_i2c_write_byte(uint8_t byte) FB_RAMFUNC;
/* The controller reads a byte: return it. Called exactly once per byte the controller
 * clocks out, never ahead of it (a port must not preload a byte the controller may not
 * read): the count is what a streaming chunk's consumption is judged by. */
uint8_t fb_i2c_read_byte(void) FB_RAMFUNC;
/* STOP (or the controller's final NACK of a read) ended the transaction. */
void fb_i2c_stop(void) FB_RAMFUNC;
/* Bus error or aborted transfer: the partial frame is discarded, nothing is posted. */
void fb_i2c_abort(void) FB_RAMFUNC;

/* main loop, at boot before the I2C interrupt is enabled: forget any transaction. */
void fb_i2c_reset(void);

#endif
