/*
 * Independent watchdog, STM32F10x (RM0008 §19.4). Base 0x40003000. Clocked by the
 * LSI RC (40 kHz nominal, 30..60 kHz over parts and temperature, datasheet).
 */
#ifndef FB_REGS_IWDG_F1_H
#define FB_REGS_IWDG_F1_H

#include <stdint.h>

typedef struct {
    volatile uint32_t KR;  /* 0x00 key */
    volatile uint32_t PR;  /* 0x04 prescaler */
    volatile uint32_t RLR; /* 0x08 reload */
    volatile uint32_t SR;  /* 0x0C status: PVU (0), RVU (1) */
} iwdg_t;
#define IWDG ((iwdg_t *)0x40003000u)

#define IWDG_KR_RELOAD 0xAAAAu
#define IWDG_KR_ACCESS 0x5555u /* enables writes to PR and RLR */
#define IWDG_KR_START  0xCCCCu
#define IWDG_PR_DIV32  3u
#define IWDG_SR_PVU    (1u << 0)
#define IWDG_SR_RVU    (1u << 1)

#endif
