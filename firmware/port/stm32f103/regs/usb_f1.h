/*
 * USB full-speed device interface, STM32F103 (RM0008 §23.5). Registers at 0x40005C00,
 * 16 bits wide at a 32-bit stride; packet memory (PMA) at 0x40006000: 512 bytes seen by
 * the CPU as 256 half-words, each at a 32-bit stride (RM0008 §23.5.3, Figure 226:
 * PMA byte address a is at CPU address 0x40006000 + 2 * a, half-word aligned).
 */
#ifndef FB_REGS_USB_F1_H
#define FB_REGS_USB_F1_H

#include <stdint.h>

typedef struct {
    volatile uint32_t EPR[8]; /* 0x00..0x1C EPnR */
    volatile uint32_t reserved[8];
    volatile uint32_t CNTR;   /* 0x40 */
    volatile uint32_t ISTR;   /* 0x44 */
    volatile uint32_t FNR;    /* 0x48 */
    volatile uint32_t DADDR;  /* 0x4C */
    volatile uint32_t BTABLE; /* 0x50 */
} usb_t;
#define USB ((usb_t *)0x40005C00u)
#define USB_PMA_BASE 0x40006000u
#define USB_PMA_SIZE 512u

/* USB_CNTR, RM0008 §23.5.2 */
#define USB_CNTR_FRES    (1u << 0)
#define USB_CNTR_PDWN    (1u << 1)
#define USB_CNTR_LP_MODE (1u << 2)
#define USB_CNTR_FSUSP   (1u << 3)
#define USB_CNTR_RESUME  (1u << 4)
#define USB_CNTR_ESOFM   (1u << 8)
#define USB_CNTR_SOFM    (1u << 9)
#define USB_CNTR_RESETM  (1u << 10)
#define USB_CNTR_SUSPM   (1u << 11)
#define USB_CNTR_WKUPM   (1u << 12)
#define USB_CNTR_ERRM    (1u << 13)
#define USB_CNTR_PMAOVRM (1u << 14)
#define USB_CNTR_CTRM    (1u << 15)

/* USB_ISTR, RM0008 §23.5.2: event bits are rc_w0 (write 0 clears, 1 leaves); CTR,
 * DIR and EP_ID are read-only. */
#define USB_ISTR_EP_ID_MASK 0xFu
#define USB_ISTR_DIR    (1u << 4)
#define USB_ISTR_ESOF   (1u << 8)
#define USB_ISTR_SOF    (1u << 9)
#define USB_ISTR_RESET  (1u << 10)
#define USB_ISTR_SUSP   (1u << 11)
#define USB_ISTR_WKUP   (1u << 12)
#define USB_ISTR_ERR    (1u << 13)
#define USB_ISTR_PMAOVR (1u << 14)
#define USB_ISTR_CTR    (1u << 15)

/* USB_DADDR */
#define USB_DADDR_EF (1u << 7)

/* USB_EPnR, RM0008 §23.5.2: CTR_RX/CTR_TX rc_w0; DTOG_RX, STAT_RX, DTOG_TX, STAT_TX
 * toggle when written 1 (t); SETUP read-only; EP_TYPE, EP_KIND, EA read/write. */
#define USB_EP_EA_MASK   0x000Fu
#define USB_EP_STAT_TX   (3u << 4)
#define USB_EP_DTOG_TX   (1u << 6)
#define USB_EP_CTR_TX    (1u << 7)
#define USB_EP_KIND      (1u << 8)
#define USB_EP_TYPE_MASK (3u << 9)
#define USB_EP_TYPE_BULK    (0u << 9)
#define USB_EP_TYPE_CONTROL (1u << 9)
#define USB_EP_SETUP     (1u << 11)
#define USB_EP_STAT_RX   (3u << 12)
#define USB_EP_DTOG_RX   (1u << 14)
#define USB_EP_CTR_RX    (1u << 15)
/* the read/write bits, kept as they are on every write */
#define USB_EP_RW_MASK   (USB_EP_TYPE_MASK | USB_EP_KIND | USB_EP_EA_MASK)

/* STAT_TX / STAT_RX values (shifted to bit 0) */
#define USB_STAT_DISABLED 0u
#define USB_STAT_STALL    1u
#define USB_STAT_NAK      2u
#define USB_STAT_VALID    3u
#define USB_STAT_TX_SHIFT 4u
#define USB_STAT_RX_SHIFT 12u

/* USB_COUNTn_RX (in the PMA): BL_SIZE = 1 (32-byte blocks), NUM_BLOCK = 1: 64 bytes */
#define USB_COUNT_RX_BL_SIZE  (1u << 15)
#define USB_COUNT_RX_64       (USB_COUNT_RX_BL_SIZE | (1u << 10))
#define USB_COUNT_MASK        0x3FFu

/* RCC bits for the USB clock, RM0008 §7.3.2 / §7.3.8 */
#define RCC_CFGR_USBPRE  (1u << 22) /* 0: PLL / 1.5 (72 MHz -> 48 MHz) */
#define RCC_APB1_USB     (1u << 23)

/* Interrupt lines, RM0008 Table 63 */
#define IRQ_USB_HP_CAN1_TX  19u
#define IRQ_USB_LP_CAN1_RX0 20u

#endif
