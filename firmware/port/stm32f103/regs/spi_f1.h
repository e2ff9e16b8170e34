/*
 * SPI, STM32F10x (RM0008 §25.5). SPI1 base 0x40013000 (on APB2).
 */
#ifndef FB_REGS_SPI_F1_H
#define FB_REGS_SPI_F1_H

#include <stdint.h>

typedef struct {
    volatile uint32_t CR1;     /* 0x00 */
    volatile uint32_t CR2;     /* 0x04 */
    volatile uint32_t SR;      /* 0x08 */
    volatile uint32_t DR;      /* 0x0C */
    volatile uint32_t CRCPR;   /* 0x10 */
    volatile uint32_t RXCRCR;  /* 0x14 */
    volatile uint32_t TXCRCR;  /* 0x18 */
    volatile uint32_t I2SCFGR; /* 0x1C */
} spi_f1_t;
#define SPI1 ((spi_f1_t *)0x40013000u)

/* SPI_CR1, RM0008 §25.5.1 */
#define SPI_CR1_CPHA     (1u << 0)
#define SPI_CR1_CPOL     (1u << 1)
#define SPI_CR1_MSTR     (1u << 2)
#define SPI_CR1_BR(div)  ((uint32_t)(div) << 3) /* fPCLK / 2^(div+1) */
#define SPI_CR1_SPE      (1u << 6)
#define SPI_CR1_LSBFIRST (1u << 7)
#define SPI_CR1_SSI      (1u << 8)
#define SPI_CR1_SSM      (1u << 9)
#define SPI_CR1_DFF      (1u << 11)

/* SPI_SR, RM0008 §25.5.3 */
#define SPI_SR_RXNE (1u << 0)
#define SPI_SR_TXE  (1u << 1)
#define SPI_SR_MODF (1u << 5)
#define SPI_SR_OVR  (1u << 6)
#define SPI_SR_BSY  (1u << 7)

#endif
