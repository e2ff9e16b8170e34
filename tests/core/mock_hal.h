/*
 * A synchronous test port for the core: hal.h over the device models, with virtual time
 * that advances by fixed costs, and helpers that play the I2C controller by calling the
 * core's interrupt entry points directly (as the I2C interrupt would, between main-loop
 * steps). Fault injection for the error paths.
 */
#ifndef FB_TESTS_MOCK_HAL_H
#define FB_TESTS_MOCK_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "f1flash_model.h"
#include "w25q64_model.h"

extern w25m_t *mock_w25;
extern f1m_t *mock_f1;
extern uint64_t mock_now_ns;
extern int mock_irq_depth;
/* Fail the next n SPI transfers with FB_ETIMEOUT / internal-flash ops with FB_EFLASH. */
extern int mock_spi_fail;
extern int mock_iflash_fail;
/* Offset of a factory config page in the internal flash model (0: none, the default). */
extern uint32_t mock_iflash_factory;

/* Fresh in-memory models and a booted core. */
void mock_boot_fresh(void);
/* Boot the core again on the same models (a reset: RAM lost, flash kept). */
void mock_reboot(void);
void mock_teardown(void);

/* Run the main loop until the command queue is empty (bounded; fails the test if it
 * never empties). */
void mock_run_idle(void);
/* Run the main loop until no command is queued and no background erase is pending. */
void mock_run_background(void);
/* Run n main-loop passes. */
void mock_run(int passes);

/* cmocka fixture: fresh board before each test, everything freed after. */
int mock_setup(void **state);
int mock_cleanup(void **state);
/* Copy both flash arrays now; later assert that nothing was programmed or erased. */
void mock_snapshot(void);
void mock_assert_flash_unchanged(void);
/* READ_SECTOR idx, wait, plain read of the 256-byte response. */
void mock_read_sector(uint16_t idx, uint8_t out[256]);

/* I2C controller side. */
void mock_write(const uint8_t *bytes, size_t n);
void mock_write_abort(const uint8_t *bytes, size_t n);
void mock_read_reg(uint8_t reg, uint8_t *out, size_t n); /* write reg, repeated start, read */
void mock_plain_read(uint8_t *out, size_t n);
uint8_t mock_status(void);    /* EXT_STATUS (0x85): every status bit */
uint8_t mock_v1_status(void); /* STATUS (0x80): what v1 hosts see */
uint8_t mock_error(void);     /* ERROR (0x81): the newest command's result; clears */
uint8_t mock_errors(void);    /* ERRORS (0x86): all failures since last read; clears */
/* Program raw bytes into the W25Q64 model (test setup, bypassing the core). */
void mock_flash_program(uint32_t addr, const uint8_t *data, size_t n);

#endif
