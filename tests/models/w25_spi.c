/* Test helpers: see w25_spi.h. */
#include "w25_spi.h"

void spi_cmd(w25m_t *m, uint64_t now, const uint8_t *tx, uint8_t *rx, size_t n)
{
    w25m_select(m, true, now);
    for (size_t i = 0; i < n; i++) {
        uint8_t r = w25m_xfer(m, tx[i], now);
        if (rx != NULL)
            rx[i] = r;
    }
    w25m_select(m, false, now);
}

void spi_op(w25m_t *m, uint64_t now, uint8_t opcode)
{
    spi_cmd(m, now, &opcode, NULL, 1);
}

uint8_t spi_status(w25m_t *m, uint64_t now, uint8_t opcode)
{
    uint8_t tx[2] = {opcode, 0x00}, rx[2];
    spi_cmd(m, now, tx, rx, 2);
    return rx[1];
}

void spi_addr_cmd(w25m_t *m, uint64_t now, uint8_t opcode, uint32_t addr,
                  const uint8_t *tx, uint8_t *rx, size_t len)
{
    uint8_t head[4] = {opcode, (uint8_t)(addr >> 16), (uint8_t)(addr >> 8), (uint8_t)addr};
    w25m_select(m, true, now);
    for (size_t i = 0; i < sizeof head; i++)
        w25m_xfer(m, head[i], now);
    for (size_t i = 0; i < len; i++) {
        uint8_t r = w25m_xfer(m, tx != NULL ? tx[i] : 0x00, now);
        if (rx != NULL)
            rx[i] = r;
    }
    w25m_select(m, false, now);
}

void spi_read(w25m_t *m, uint64_t now, uint32_t addr, uint8_t *buf, size_t len)
{
    spi_addr_cmd(m, now, 0x03, addr, NULL, buf, len);
}

void spi_wren_program(w25m_t *m, uint64_t now, uint32_t addr, const uint8_t *data,
                      size_t len)
{
    spi_op(m, now, 0x06);
    spi_addr_cmd(m, now, 0x02, addr, data, NULL, len);
}

void spi_wren_erase(w25m_t *m, uint64_t now, uint8_t opcode, uint32_t addr)
{
    spi_op(m, now, 0x06);
    spi_addr_cmd(m, now, opcode, addr, NULL, NULL, 0);
}

uint8_t spi_read_byte(w25m_t *m, uint64_t now, uint32_t addr)
{
    uint8_t b;
    spi_read(m, now, addr, &b, 1);
    return b;
}
