/*
 * General-purpose and alternate-function I/O, STM32F10x (RM0008 §9).
 * GPIOA 0x40010800, GPIOB 0x40010C00, GPIOC 0x40011000, AFIO 0x40010000.
 */
#ifndef FB_REGS_GPIO_F1_H
#define FB_REGS_GPIO_F1_H

#include <stdint.h>

typedef struct {
    volatile uint32_t CRL;  /* 0x00 configuration, pins 0..7 */
    volatile uint32_t CRH;  /* 0x04 configuration, pins 8..15 */
    volatile uint32_t IDR;  /* 0x08 input data */
    volatile uint32_t ODR;  /* 0x0C output data */
    volatile uint32_t BSRR; /* 0x10 bit set (15:0) / reset (31:16) */
    volatile uint32_t BRR;  /* 0x14 bit reset */
    volatile uint32_t LCKR; /* 0x18 */
} gpio_t;
#define GPIOA ((gpio_t *)0x40010800u)
#define GPIOB ((gpio_t *)0x40010C00u)
#define GPIOC ((gpio_t *)0x40011000u)

/* One pin's 4-bit CNF[1:0]:MODE[1:0] field, RM0008 §9.2.1 / §9.2.2. */
#define GPIO_MODE_INPUT    0u
#define GPIO_MODE_OUT_10M  1u
#define GPIO_MODE_OUT_2M   2u
#define GPIO_MODE_OUT_50M  3u
#define GPIO_CNF_IN_FLOAT  (1u << 2)
#define GPIO_CNF_IN_PULL   (2u << 2) /* pull-up/down chosen by ODR */
#define GPIO_CNF_OUT_PP    (0u << 2)
#define GPIO_CNF_OUT_OD    (1u << 2)
#define GPIO_CNF_AF_PP     (2u << 2)
#define GPIO_CNF_AF_OD     (3u << 2)

/* Set the configuration nibble of one pin (read-modify-write of CRL or CRH). Inlined
 * everywhere, so the I2C recovery in SRAM does not call into flash. */
static inline __attribute__((always_inline)) void gpio_config(gpio_t *port, uint32_t pin,
                                                              uint32_t cnf_mode)
{
    volatile uint32_t *cr = pin < 8u ? &port->CRL : &port->CRH;
    uint32_t shift = (pin & 7u) * 4u;
    *cr = (*cr & ~(0xFu << shift)) | (cnf_mode << shift);
}

typedef struct {
    volatile uint32_t EVCR; /* 0x00 */
    volatile uint32_t MAPR; /* 0x04 remap and debug I/O configuration */
} afio_t;
#define AFIO ((afio_t *)0x40010000u)

/* AFIO_MAPR, RM0008 §9.4.2. SWJ_CFG is write-only (reads are undefined): never
 * carry a read value of it back into a write. */
#define AFIO_MAPR_SPI1_REMAP       (1u << 0)
#define AFIO_MAPR_SWJ_CFG_MASK     (7u << 24)
#define AFIO_MAPR_SWJ_CFG_JTAG_OFF (2u << 24) /* JTAG-DP disabled, SW-DP enabled */

#endif
