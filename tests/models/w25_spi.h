/*
 * Test helpers: whole W25Q64 instructions sent to the model as a driver would, each
 * byte at the same virtual time.
 */
#ifndef FB_TESTS_W25_SPI_H
#define FB_TESTS_W25_SPI_H

#include <stddef.h>
#include <stdint.h>

#include "w25q64_model.h"

/* One instruction: select, n bytes out (rx may be NULL), deselect. */
void spi_cmd(w25m_t *m, uint64_t now, const uint8_t *tx, uint8_t *rx, size_t n);
/* A one-byte instruction (06h, 04h, C7h, B9h, 66h, 99h ...). */
void spi_op(w25m_t *m, uint64_t now, uint8_t opcode);
/* Read Status Register opcode (05h/35h/15h): one byte. */
uint8_t spi_status(w25m_t *m, uint64_t now, uint8_t opcode);
/* Instruction, 24-bit address, then len bytes exchanged: tx (NULL = 0x00s) out, rx
 * (may be NULL) in. */
void spi_addr_cmd(w25m_t *m, uint64_t now, uint8_t opcode, uint32_t addr,
                  const uint8_t *tx, uint8_t *rx, size_t len);
/* Read Data (03h). */
void spi_read(w25m_t *m, uint64_t now, uint32_t addr, uint8_t *buf, size_t len);
/* Write Enable then Page Program of len bytes, both at now. */
void spi_wren_program(w25m_t *m, uint64_t now, uint32_t addr, const uint8_t *data,
                      size_t len);
/* Write Enable then an erase instruction with an address (20h/52h/D8h). */
void spi_wren_erase(w25m_t *m, uint64_t now, uint8_t opcode, uint32_t addr);
/* Byte at addr as seen through 03h. */
uint8_t spi_read_byte(w25m_t *m, uint64_t now, uint32_t addr);

#endif
