/*
 * SPI1 master for the W25Q64JV (RM0008 §25.3.3): mode 0 (CPOL = 0, CPHA = 0), MSB
 * first, 8-bit frames, software NSS (SSM = SSI = 1), baud rate PCLK2/4 = 18 MHz at
 * 72 MHz (16 MHz on the HSI fallback), the SPI and W25Q64 limits both allow it.
 * Chip select is a plain GPIO. Polled, one byte in flight: an I2C interrupt between
 * two bytes only delays the transfer, it can never overrun the receiver.
 * Every wait is bounded; on timeout the peripheral is reset through RCC and
 * reconfigured, and FB_ETIMEOUT returned.
 */
#include "board.h"
#include "errors.h"
#include "hal.h"
#include "port.h"
#include "regs/spi_f1.h"

/* One byte takes 8 SPI clocks = 32 CPU cycles at PCLK2/4; a loop iteration is a few
 * cycles, so this bound is only reached by a peripheral that has stopped. */
#define SPI_WAIT_LOOPS 20000u

static void spi_configure(void)
{
    SPI1->CR1 = 0;
    SPI1->CR2 = 0;
    SPI1->CR1 = SPI_CR1_MSTR | SPI_CR1_BR(1u) | SPI_CR1_SSM | SPI_CR1_SSI;
    SPI1->CR1 |= SPI_CR1_SPE;
}

void spi_init(void)
{
    RCC->APB2ENR |= RCC_APB2_AFIO | BOARD_SPI_GPIO_EN | BOARD_CS_GPIO_EN | RCC_APB2_SPI1;
    (void)RCC->APB2ENR;
#if BOARD_SPI_REMAP
    /* SPI1 on PB3/PB4/PB5 (RM0008 §9.3.10); PB3/PB4 are JTAG pins after reset, so
     * JTAG-DP goes off and SW-DP stays (§9.3.5). SWJ_CFG reads are undefined: the
     * field is rebuilt, never copied back. */
    AFIO->MAPR = (AFIO->MAPR & ~AFIO_MAPR_SWJ_CFG_MASK) | AFIO_MAPR_SWJ_CFG_JTAG_OFF |
                 AFIO_MAPR_SPI1_REMAP;
#endif
    BOARD_CS_PORT->BSRR = 1u << BOARD_CS_PIN; /* deselected before it drives */
    gpio_config(BOARD_CS_PORT, BOARD_CS_PIN, BOARD_CS_CNF_MODE);
    gpio_config(BOARD_SPI_PORT, BOARD_SPI_SCK_PIN, GPIO_CNF_AF_PP | GPIO_MODE_OUT_50M);
    gpio_config(BOARD_SPI_PORT, BOARD_SPI_MOSI_PIN, GPIO_CNF_AF_PP | GPIO_MODE_OUT_50M);
    gpio_config(BOARD_SPI_PORT, BOARD_SPI_MISO_PIN, GPIO_CNF_IN_FLOAT | GPIO_MODE_INPUT);
    spi_configure();
}

static int spi_wait(uint32_t mask, uint32_t want)
{
    for (uint32_t n = 0; n < SPI_WAIT_LOOPS; n++) {
        if ((SPI1->SR & mask) == want)
            return 1;
    }
    return 0;
}

static int spi_fail(void)
{
    RCC->APB2RSTR |= RCC_APB2_SPI1;
    RCC->APB2RSTR &= ~RCC_APB2_SPI1;
    spi_configure();
    return FB_ETIMEOUT;
}

void hal_spi_select(void)
{
    BOARD_CS_PORT->BSRR = 1u << (BOARD_CS_PIN + 16u);
}

void hal_spi_deselect(void)
{
    BOARD_CS_PORT->BSRR = 1u << BOARD_CS_PIN;
}

int hal_spi_xfer(const uint8_t *tx, uint8_t *rx, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!spi_wait(SPI_SR_TXE, SPI_SR_TXE))
            return spi_fail();
        SPI1->DR = tx ? tx[i] : 0xFFu;
        if (!spi_wait(SPI_SR_RXNE, SPI_SR_RXNE))
            return spi_fail();
        uint8_t b = (uint8_t)SPI1->DR;
        if (rx)
            rx[i] = b;
    }
    /* The last byte is clocked out when RXNE sets; BSY clears just after. */
    if (!spi_wait(SPI_SR_BSY, 0))
        return spi_fail();
    return FB_OK;
}
