/*
 * I2C, the STM32F1/F2/F4/L1 "v1" peripheral (RM0008 §26.6). I2C2 base 0x40005800.
 */
#ifndef FB_REGS_I2C_V1_H
#define FB_REGS_I2C_V1_H

#include <stdint.h>

typedef struct {
    volatile uint32_t CR1;   /* 0x00 */
    volatile uint32_t CR2;   /* 0x04 */
    volatile uint32_t OAR1;  /* 0x08 own address 1 */
    volatile uint32_t OAR2;  /* 0x0C */
    volatile uint32_t DR;    /* 0x10 */
    volatile uint32_t SR1;   /* 0x14 */
    volatile uint32_t SR2;   /* 0x18 */
    volatile uint32_t CCR;   /* 0x1C master clock control (unused in target mode) */
    volatile uint32_t TRISE; /* 0x20 master rise time (unused in target mode) */
} i2c_v1_t;
#define I2C2 ((i2c_v1_t *)0x40005800u)

/* I2C_CR1, RM0008 §26.6.1 */
#define I2C_CR1_PE        (1u << 0)
#define I2C_CR1_ENGC      (1u << 6)
#define I2C_CR1_NOSTRETCH (1u << 7)
#define I2C_CR1_START     (1u << 8)
#define I2C_CR1_STOP      (1u << 9)
#define I2C_CR1_ACK       (1u << 10)
#define I2C_CR1_SWRST     (1u << 15)

/* I2C_CR2, RM0008 §26.6.2 */
#define I2C_CR2_FREQ_MASK 0x3Fu /* PCLK1 in MHz */
#define I2C_CR2_ITERREN   (1u << 8)
#define I2C_CR2_ITEVTEN   (1u << 9)
#define I2C_CR2_ITBUFEN   (1u << 10)

/* I2C_OAR1, RM0008 §26.6.3: 7-bit address in ADD[7:1]; bit 14 must be kept at 1. */
#define I2C_OAR1_ADD7(a)  ((uint32_t)(a) << 1)
#define I2C_OAR1_BIT14    (1u << 14)
#define I2C_OAR1_ADDMODE  (1u << 15)

/* I2C_SR1, RM0008 §26.6.6. BERR, ARLO, AF, OVR, PECERR, TIMEOUT, SMBALERT are
 * rc_w0: cleared by writing 0, writing 1 leaves them. */
#define I2C_SR1_SB       (1u << 0)
#define I2C_SR1_ADDR     (1u << 1)
#define I2C_SR1_BTF      (1u << 2)
#define I2C_SR1_STOPF    (1u << 4)
#define I2C_SR1_RXNE     (1u << 6)
#define I2C_SR1_TXE      (1u << 7)
#define I2C_SR1_BERR     (1u << 8)
#define I2C_SR1_ARLO     (1u << 9)
#define I2C_SR1_AF       (1u << 10)
#define I2C_SR1_OVR      (1u << 11)
#define I2C_SR1_PECERR   (1u << 12)
#define I2C_SR1_TIMEOUT  (1u << 14)
#define I2C_SR1_SMBALERT (1u << 15)
#define I2C_SR1_RC_W0    (I2C_SR1_BERR | I2C_SR1_ARLO | I2C_SR1_AF | I2C_SR1_OVR | \
                          I2C_SR1_PECERR | I2C_SR1_TIMEOUT | I2C_SR1_SMBALERT)

/* I2C_SR2, RM0008 §26.6.7 */
#define I2C_SR2_MSL  (1u << 0)
#define I2C_SR2_BUSY (1u << 1)
#define I2C_SR2_TRA  (1u << 2)

#endif
