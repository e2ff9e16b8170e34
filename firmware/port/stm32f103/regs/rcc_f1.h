/*
 * Reset and clock control, STM32F10x low/medium/high density (RM0008 §7.3).
 * Base 0x40021000 (RM0008 Table 3, memory map).
 */
#ifndef FB_REGS_RCC_F1_H
#define FB_REGS_RCC_F1_H

#include <stdint.h>

typedef struct {
    volatile uint32_t CR;       /* 0x00 clock control */
    volatile uint32_t CFGR;     /* 0x04 clock configuration */
    volatile uint32_t CIR;      /* 0x08 clock interrupt */
    volatile uint32_t APB2RSTR; /* 0x0C */
    volatile uint32_t APB1RSTR; /* 0x10 */
    volatile uint32_t AHBENR;   /* 0x14 */
    volatile uint32_t APB2ENR;  /* 0x18 */
    volatile uint32_t APB1ENR;  /* 0x1C */
    volatile uint32_t BDCR;     /* 0x20 */
    volatile uint32_t CSR;      /* 0x24 */
} rcc_t;
#define RCC ((rcc_t *)0x40021000u)

/* RCC_CR, RM0008 §7.3.1 */
#define RCC_CR_HSION   (1u << 0)
#define RCC_CR_HSIRDY  (1u << 1)
#define RCC_CR_HSEON   (1u << 16)
#define RCC_CR_HSERDY  (1u << 17)
#define RCC_CR_HSEBYP  (1u << 18)
#define RCC_CR_CSSON   (1u << 19)
#define RCC_CR_PLLON   (1u << 24)
#define RCC_CR_PLLRDY  (1u << 25)

/* RCC_CFGR, RM0008 §7.3.2 */
#define RCC_CFGR_SW_MASK     (3u << 0)
#define RCC_CFGR_SW_HSI      (0u << 0)
#define RCC_CFGR_SW_PLL      (2u << 0)
#define RCC_CFGR_SWS_MASK    (3u << 2)
#define RCC_CFGR_SWS_HSI     (0u << 2)
#define RCC_CFGR_SWS_PLL     (2u << 2)
#define RCC_CFGR_HPRE_MASK   (15u << 4)  /* 0xxx: SYSCLK not divided */
#define RCC_CFGR_PPRE1_MASK  (7u << 8)
#define RCC_CFGR_PPRE1_DIV2  (4u << 8)
#define RCC_CFGR_PPRE2_MASK  (7u << 11)  /* 0xx: HCLK not divided */
#define RCC_CFGR_ADCPRE_MASK (3u << 14)
#define RCC_CFGR_ADCPRE_DIV6 (2u << 14)
#define RCC_CFGR_PLLSRC      (1u << 16)  /* 0: HSI/2, 1: HSE (through PLLXTPRE) */
#define RCC_CFGR_PLLXTPRE    (1u << 17)  /* 1: HSE/2 into the PLL */
#define RCC_CFGR_PLLMUL_MASK (15u << 18)
#define RCC_CFGR_PLLMUL(m)   ((uint32_t)((m) - 2u) << 18) /* x2 .. x16 */

/* RCC_CIR, RM0008 §7.3.3 */
#define RCC_CIR_CSSF (1u << 7)
#define RCC_CIR_CSSC (1u << 23)

/* RCC_APB2RSTR / RCC_APB2ENR, RM0008 §7.3.4 / §7.3.7 */
#define RCC_APB2_AFIO (1u << 0)
#define RCC_APB2_IOPA (1u << 2)
#define RCC_APB2_IOPB (1u << 3)
#define RCC_APB2_IOPC (1u << 4)
#define RCC_APB2_SPI1 (1u << 12)

/* RCC_APB1RSTR / RCC_APB1ENR, RM0008 §7.3.5 / §7.3.8 */
#define RCC_APB1_I2C2 (1u << 22)
#define RCC_APB1_BKP  (1u << 27)
#define RCC_APB1_PWR  (1u << 28)
#define RCC_BDCR_LSEON  (1u << 0)
#define RCC_BDCR_LSEBYP (1u << 2)

/* ---- Power control, RM0008 §5.4 (0x40007000) ---- */
#define PWR_CR (*(volatile uint32_t *)0x40007000u)
#define PWR_CR_DBP (1u << 8) /* backup domain (RCC_BDCR) write access */

/* ---- Debug MCU configuration, RM0008 §31.16.3 (0xE0042004) ---- */
#define DBGMCU_CR (*(volatile uint32_t *)0xE0042004u)
#define DBGMCU_CR_DBG_IWDG_STOP (1u << 8)

/* RCC_CSR, RM0008 §7.3.10 */
#define RCC_CSR_LSION (1u << 0)
#define RCC_CSR_RMVF  (1u << 24)

#endif
