/*
 * The port contract: everything the core needs from a board, as free functions.
 *
 * Each port (port/stm32f103, port/host) implements every function below; tests mock
 * them. Every line says which context may call the function and what its return means.
 * Errors are negative FB_E* codes (core/errors.h); 0 is success.
 *
 * The I2C direction is the other way round: the port calls the core's fb_i2c_*()
 * functions (core/i2c_target.h) from its I2C interrupt.
 */
#ifndef FB_HAL_H
#define FB_HAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- Interrupt masking: the one mechanism for state shared with the I2C interrupt ----
 * main loop: mask interrupts and return the previous mask (PRIMASK); never a blind
 * enable/disable, so critical sections nest. */
uint32_t hal_irq_save(void);
/* main loop: restore the mask returned by the matching hal_irq_save(). */
void hal_irq_restore(uint32_t saved);

/* ---- Time ----
 * any context: milliseconds since boot, wrapping at 2^32 (compare by subtraction). */
uint32_t hal_millis(void);
/* main loop: nothing to do until the next interrupt (I2C event or the 1 ms tick);
 * returns after one arrived. On hardware this is WFI. */
void hal_idle(void);

/* ---- SPI bus to the W25Q64 (mode 0, MSB first) ----
 * main loop: drive chip select low. */
void hal_spi_select(void);
/* main loop: drive chip select high (ends the flash command). */
void hal_spi_deselect(void);
/* main loop: full-duplex transfer of n bytes; tx may be NULL (sends 0xFF), rx may be
 * NULL (discards). Returns 0, or FB_ETIMEOUT if the peripheral did not finish in time
 * (the port has then reset it). */
int hal_spi_xfer(const uint8_t *tx, uint8_t *rx, size_t n);

/* ---- Internal flash (the config zone's pages) ----
 * Addresses are byte offsets from the start of the internal flash.
 * main loop: size of one erase page in bytes (1024 on the F103C8). */
uint32_t hal_iflash_page_size(void);
/* main loop: first byte offset and size of the region the core may use. */
uint32_t hal_iflash_region_base(void);
uint32_t hal_iflash_region_size(void);
/* main loop: offset of a 1 KiB page holding the board's factory config zone, which the
 * core reads as the zone until its own region holds one and never erases or programs;
 * 0 when the board has none (offset 0 is the vector table, never such a page). */
uint32_t hal_iflash_factory_page(void);
/* main loop: copy n bytes at offset into dst (plain memory read on hardware). */
void hal_iflash_read(uint32_t offset, void *dst, size_t n);
/* main loop: unlock, erase the page containing offset, relock. Blocks for the erase
 * (20-40 ms) with the I2C interrupt still served. 0, FB_EFLASH (the interface reported
 * an error) or FB_ETIMEOUT. */
int hal_iflash_erase_page(uint32_t offset);
/* main loop: unlock, program n bytes (n even, offset even) as half-words, relock.
 * Blocks about 52 us per half-word with the I2C interrupt still served. 0, FB_EFLASH
 * (PGERR: the half-word was not erased, or WRPRTERR) or FB_ETIMEOUT. */
int hal_iflash_program(uint32_t offset, const void *src, size_t n);

/* ---- Watchdog ----
 * main loop only: the main loop is alive. */
void hal_watchdog_kick(void);

#endif /* FB_HAL_H */
