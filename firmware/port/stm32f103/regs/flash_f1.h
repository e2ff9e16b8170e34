/*
 * Embedded flash memory interface, STM32F10x (RM0008 §3.3.3, PM0075 §3 / §4).
 * Base 0x40022000.
 */
#ifndef FB_REGS_FLASH_F1_H
#define FB_REGS_FLASH_F1_H

#include <stdint.h>

typedef struct {
    volatile uint32_t ACR;     /* 0x00 access control */
    volatile uint32_t KEYR;    /* 0x04 FPEC key */
    volatile uint32_t OPTKEYR; /* 0x08 option byte key */
    volatile uint32_t SR;      /* 0x0C status */
    volatile uint32_t CR;      /* 0x10 control */
    volatile uint32_t AR;      /* 0x14 address (page erase) */
    uint32_t reserved;         /* 0x18 */
    volatile uint32_t OBR;     /* 0x1C option byte */
    volatile uint32_t WRPR;    /* 0x20 write protection */
} flash_t;
#define FLASH ((flash_t *)0x40022000u)

/* The main flash block and its memory-mapped read window. */
#define FLASH_BASE_ADDR 0x08000000u

/* FLASH_ACR, RM0008 §3.3.3: two wait states for 48 MHz < SYSCLK <= 72 MHz. */
#define FLASH_ACR_LATENCY_MASK 7u
#define FLASH_ACR_LATENCY_0    0u
#define FLASH_ACR_LATENCY_2    2u
#define FLASH_ACR_PRFTBE       (1u << 4)

/* FPEC unlock keys, PM0075 §2.3.1 */
#define FLASH_KEY1 0x45670123u
#define FLASH_KEY2 0xCDEF89ABu

/* FLASH_SR, PM0075 §4.3: EOP, PGERR and WRPRTERR are cleared by writing 1. */
#define FLASH_SR_BSY      (1u << 0)
#define FLASH_SR_PGERR    (1u << 2)
#define FLASH_SR_WRPRTERR (1u << 4)
#define FLASH_SR_EOP      (1u << 5)

/* FLASH_CR, PM0075 §4.4 */
#define FLASH_CR_PG   (1u << 0)
#define FLASH_CR_PER  (1u << 1)
#define FLASH_CR_MER  (1u << 2)
#define FLASH_CR_STRT (1u << 6)
#define FLASH_CR_LOCK (1u << 7)

#endif
