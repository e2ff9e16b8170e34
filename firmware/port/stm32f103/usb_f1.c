/*
 * The F103's USB full-speed device peripheral (RM0008 §23) behind dcd.h, and its
 * start-up. Everything here runs in the main loop; the interrupt only wakes it.
 *
 * I2C first. The USB_LP interrupt has the lowest priority (PRIO_USB) and its handler
 * does one thing: it masks its own NVIC line and flags the main loop, which reads ISTR
 * and re-enables the line when it has handled what was pending. So no USB work ever
 * runs in interrupt context and the I2C interrupts (priority 0) preempt it anyway.
 * While the internal flash erases or programs, flash_f1.c masks every NVIC line but
 * I2C's: USB_LP stays pending and the peripheral answers NAK on every endpoint that is
 * not armed (it NAKs by itself after each transaction, RM0008 §23.4.2), so the host
 * only sees NAKs for up to 40 ms (one page erase). A SETUP is still acknowledged by the
 * hardware; its reply waits for the erase (USB 2.0 allows 500 ms for a data stage).
 *
 * Packet memory (docs/USB.md, device plan): BTABLE = 0; EP0 TX 0x40, RX 0x80; EP1 TX
 * 0xC0; EP2 RX 0x100, 64 bytes each. PMA byte address a is at CPU address
 * 0x40006000 + 2a, one half-word per 32-bit word (RM0008 §23.5.3).
 *
 * Start-up on the Blue Pill: its D+ pull-up (R10) is a fixed resistor from PA12 to
 * 3.3 V, so a PC never notices a firmware reset. PA12 is driven low for
 * USB_DETACH_MS first (an SE0 the host's port takes for a disconnect, USB 2.0 §7.1.7.3),
 * as Blue Pill USB projects do (stm32world.com wiki "STM32 USB Device Renumeration";
 * amitesh-singh.github.io, "Overcoming wrong pullup in blue pill"); then the pin goes
 * back to its reset state (floating input) and, once the USB is enabled, to the
 * transceiver (RM0008 §9.1.11: USBDP/USBDM are connected when the USB is on).
 */
#include <stddef.h>

#include "board.h"
#include "dcd.h"
#include "port.h"
#include "regs/cm3.h"
#include "regs/gpio_f1.h"
#include "regs/rcc_f1.h"
#include "regs/usb_f1.h"
#include "usb_f1.h"

#define USB_DETACH_MS 20u
/* tSTARTUP, the transceiver's start-up time after PDWN = 0: 1 us maximum (STM32F103x8
 * datasheet, USB startup time); waited out with a loop of >= 1 us at 72 MHz. */
#define STARTUP_LOOPS 200u

#define PMA_BTABLE  0x000u
#define PMA_EP0_TX  0x040u
#define PMA_EP0_RX  0x080u
#define PMA_EP1_TX  0x0C0u
#define PMA_EP2_RX  0x100u

enum usb_state { USB_OFF, USB_DETACHING, USB_ON };

static enum usb_state state = USB_OFF;
static uint32_t detach_ms;
static volatile uint8_t irq_seen; /* set by the handler, taken by the main loop */

static volatile uint32_t *pma(uint32_t a)
{
    return (volatile uint32_t *)(USB_PMA_BASE + 2u * a);
}

/* Buffer description table, RM0008 §23.5.3: per endpoint ADDR_TX, COUNT_TX, ADDR_RX,
 * COUNT_RX, 16 bits each. */
static volatile uint32_t *bd(uint32_t ep, uint32_t field)
{
    return pma(PMA_BTABLE + ep * 8u + field * 2u);
}
#define BD_ADDR_TX  0u
#define BD_COUNT_TX 1u
#define BD_ADDR_RX  2u
#define BD_COUNT_RX 3u

/* ---- EPnR writes (RM0008 §23.5.2): CTR bits written 1 (unchanged), toggle bits
 * written 1 only where they must flip, the read/write bits as they are. ---- */

static void ep_set_stat_tx(uint32_t n, uint32_t stat)
{
    uint32_t r = USB->EPR[n];
    USB->EPR[n] = ((r & (USB_EP_RW_MASK | USB_EP_STAT_TX)) ^ (stat << USB_STAT_TX_SHIFT)) |
                  USB_EP_CTR_RX | USB_EP_CTR_TX;
}

static void ep_set_stat_rx(uint32_t n, uint32_t stat)
{
    uint32_t r = USB->EPR[n];
    USB->EPR[n] = ((r & (USB_EP_RW_MASK | USB_EP_STAT_RX)) ^ (stat << USB_STAT_RX_SHIFT)) |
                  USB_EP_CTR_RX | USB_EP_CTR_TX;
}

/* STAT to NAK and DTOG to 0 in one write. */
static void ep_reset_tx(uint32_t n)
{
    uint32_t r = USB->EPR[n];
    USB->EPR[n] = ((r & (USB_EP_RW_MASK | USB_EP_STAT_TX | USB_EP_DTOG_TX)) ^
                   (USB_STAT_NAK << USB_STAT_TX_SHIFT)) |
                  USB_EP_CTR_RX | USB_EP_CTR_TX;
}

static void ep_reset_rx(uint32_t n)
{
    uint32_t r = USB->EPR[n];
    USB->EPR[n] = ((r & (USB_EP_RW_MASK | USB_EP_STAT_RX | USB_EP_DTOG_RX)) ^
                   (USB_STAT_NAK << USB_STAT_RX_SHIFT)) |
                  USB_EP_CTR_RX | USB_EP_CTR_TX;
}

/* Sets the read/write fields (type, address) without touching the toggle bits. */
static void ep_set_rw(uint32_t n, uint32_t rw)
{
    USB->EPR[n] = rw | USB_EP_CTR_RX | USB_EP_CTR_TX;
}

/* Bus reset: the peripheral has disabled every endpoint and cleared DADDR (RM0008
 * §23.4.2, "USB reset"); EP0 comes back as a control endpoint ready for a SETUP, and
 * the function is enabled at address 0. */
static void bus_reset(void)
{
    USB->BTABLE = PMA_BTABLE;
    *bd(0, BD_ADDR_TX) = PMA_EP0_TX;
    *bd(0, BD_COUNT_TX) = 0;
    *bd(0, BD_ADDR_RX) = PMA_EP0_RX;
    *bd(0, BD_COUNT_RX) = USB_COUNT_RX_64;
    ep_set_rw(0, USB_EP_TYPE_CONTROL); /* EA = 0 */
    ep_reset_tx(0);
    ep_reset_rx(0);
    ep_set_stat_rx(0, USB_STAT_VALID);
    for (uint32_t n = 1; n < 8u; n++)
        ep_set_rw(n, n); /* address fields as the numbers; STAT stays DISABLED */
    USB->DADDR = USB_DADDR_EF;
}

/* ---- dcd.h ---- */

bool dcd_poll(struct dcd_event *ev)
{
    if (state != USB_ON)
        return false;
    uint32_t istr = USB->ISTR;
    if (istr & USB_ISTR_RESET) {
        USB->ISTR = (uint16_t)~USB_ISTR_RESET;
        bus_reset();
        ev->type = DCD_EV_RESET;
        ev->ep = 0;
        return true;
    }
    if (istr & USB_ISTR_CTR) {
        uint32_t n = istr & USB_ISTR_EP_ID_MASK;
        uint32_t r = USB->EPR[n];
        if (r & USB_EP_CTR_TX) {
            USB->EPR[n] = (r & USB_EP_RW_MASK) | USB_EP_CTR_RX; /* clears CTR_TX only */
            ev->type = DCD_EV_IN;
            ev->ep = (uint8_t)(0x80u | n);
            return true;
        }
        if (r & USB_EP_CTR_RX) {
            USB->EPR[n] = (r & USB_EP_RW_MASK) | USB_EP_CTR_TX; /* clears CTR_RX only */
            /* SETUP is valid while CTR_RX is set, so it was read with it. */
            ev->type = (r & USB_EP_SETUP) ? DCD_EV_SETUP : DCD_EV_OUT;
            ev->ep = (uint8_t)n;
            return true;
        }
    }
    if (istr & USB_ISTR_SUSP) {
        /* RM0008 §23.4.5, suspend: FSUSP first (stops the SOF check), then LP_MODE.
         * The clocks stay on: the I2C side keeps serving (docs/USB.md). */
        USB->CNTR |= USB_CNTR_FSUSP;
        USB->CNTR |= USB_CNTR_LP_MODE;
        USB->ISTR = (uint16_t)~USB_ISTR_SUSP;
        ev->type = DCD_EV_SUSPEND;
        ev->ep = 0;
        return true;
    }
    if (istr & USB_ISTR_WKUP) {
        /* Resume: the hardware has cleared LP_MODE; the software clears FSUSP. */
        USB->CNTR &= ~(USB_CNTR_LP_MODE | USB_CNTR_FSUSP);
        USB->ISTR = (uint16_t)~USB_ISTR_WKUP;
        ev->type = DCD_EV_RESUME;
        ev->ep = 0;
        return true;
    }
    return false;
}

void dcd_set_address(uint8_t addr)
{
    USB->DADDR = USB_DADDR_EF | (addr & 0x7Fu);
}

void dcd_ep_open(uint8_t ep)
{
    uint32_t n = ep & 0x7Fu;
    ep_set_rw(n, USB_EP_TYPE_BULK | n);
    if (ep & 0x80u) {
        *bd(n, BD_ADDR_TX) = PMA_EP1_TX;
        *bd(n, BD_COUNT_TX) = 0;
        ep_reset_tx(n);
    } else {
        *bd(n, BD_ADDR_RX) = PMA_EP2_RX;
        *bd(n, BD_COUNT_RX) = USB_COUNT_RX_64;
        ep_reset_rx(n);
    }
}

void dcd_ep_close_all(void)
{
    for (uint32_t n = 1; n < 8u; n++) {
        ep_set_stat_tx(n, USB_STAT_DISABLED);
        ep_set_stat_rx(n, USB_STAT_DISABLED);
    }
}

uint16_t dcd_ep_read(uint8_t ep, uint8_t *buf, uint16_t max)
{
    uint32_t n = ep & 0x7Fu;
    uint32_t count = *bd(n, BD_COUNT_RX) & USB_COUNT_MASK;
    uint32_t addr = *bd(n, BD_ADDR_RX) & 0xFFFEu;
    if (count > max)
        count = max;
    for (uint32_t i = 0; i < count; i += 2u) {
        uint32_t w = *pma(addr + i);
        buf[i] = (uint8_t)w;
        if (i + 1u < count)
            buf[i + 1u] = (uint8_t)(w >> 8);
    }
    return (uint16_t)count;
}

void dcd_ep_arm_out(uint8_t ep)
{
    ep_set_stat_rx(ep & 0x7Fu, USB_STAT_VALID);
}

void dcd_ep_write(uint8_t ep, const uint8_t *buf, uint16_t len)
{
    uint32_t n = ep & 0x7Fu;
    uint32_t addr = *bd(n, BD_ADDR_TX) & 0xFFFEu;
    for (uint32_t i = 0; i < len; i += 2u) {
        uint32_t w = buf[i];
        if (i + 1u < len)
            w |= (uint32_t)buf[i + 1u] << 8;
        *pma(addr + i) = w;
    }
    *bd(n, BD_COUNT_TX) = len;
    ep_set_stat_tx(n, USB_STAT_VALID);
}

void dcd_ep_cancel(uint8_t ep)
{
    ep_set_stat_tx(ep & 0x7Fu, USB_STAT_NAK);
}

void dcd_ep_stall(uint8_t ep)
{
    if (ep & 0x80u)
        ep_set_stat_tx(ep & 0x7Fu, USB_STAT_STALL);
    else
        ep_set_stat_rx(ep, USB_STAT_STALL);
}

void dcd_ep_unstall(uint8_t ep)
{
    if (ep & 0x80u)
        ep_reset_tx(ep & 0x7Fu);
    else
        ep_reset_rx(ep);
}

bool dcd_ep_stalled(uint8_t ep)
{
    uint32_t r = USB->EPR[ep & 0x7Fu];
    uint32_t stat = ep & 0x80u ? (r & USB_EP_STAT_TX) >> USB_STAT_TX_SHIFT
                               : (r & USB_EP_STAT_RX) >> USB_STAT_RX_SHIFT;
    return stat == USB_STAT_STALL;
}

/* ---- start-up and the main loop's side ---- */

void usb_f1_start(void)
{
    /* 48 MHz only from the 72 MHz PLL (RM0008 §7.2: USBPRE = 0 divides by 1.5); the
     * fallback clocks (HSI 8 MHz, HSI PLL 64 MHz) cannot clock the USB. */
    if (port_clocks.source != PORT_CLOCK_HSE_PLL || port_clocks.sysclk_hz != 72000000u)
        return;
    RCC->APB2ENR |= RCC_APB2_IOPA;
    GPIOA->BRR = 1u << 12;
    gpio_config(GPIOA, 12u, GPIO_CNF_OUT_PP | GPIO_MODE_OUT_2M);
    detach_ms = port_ms;
    state = USB_DETACHING;
}

static void power_up(void)
{
    gpio_config(GPIOA, 12u, GPIO_CNF_IN_FLOAT | GPIO_MODE_INPUT); /* reset state */
    RCC->CFGR &= ~RCC_CFGR_USBPRE; /* valid before the clock is enabled (§7.3.2) */
    RCC->APB1ENR |= RCC_APB1_USB;
    /* RM0008 §23.4.2, system and power-on reset: CNTR comes up with FRES and PDWN set;
     * power the transceiver, wait tSTARTUP, then release the reset. */
    USB->CNTR = USB_CNTR_FRES;
    for (volatile uint32_t i = 0; i < STARTUP_LOOPS; i++) {
    }
    USB->CNTR = 0;
    USB->ISTR = 0; /* spurious events from before */
    USB->BTABLE = PMA_BTABLE;
    USB->CNTR = USB_CNTR_CTRM | USB_CNTR_RESETM | USB_CNTR_SUSPM | USB_CNTR_WKUPM;
    NVIC->IPR[IRQ_USB_LP_CAN1_RX0] = PRIO_USB;
    state = USB_ON;
    NVIC->ISER[IRQ_USB_LP_CAN1_RX0 / 32u] = 1u << (IRQ_USB_LP_CAN1_RX0 % 32u);
}

bool usb_f1_ready(void)
{
    if (state == USB_DETACHING && (uint32_t)(port_ms - detach_ms) >= USB_DETACH_MS)
        power_up();
    return state == USB_ON;
}

bool usb_f1_take_irq(void)
{
    if (!irq_seen)
        return false;
    irq_seen = 0;
    return true;
}

void usb_f1_irq_enable(void)
{
    if (state == USB_ON)
        NVIC->ISER[IRQ_USB_LP_CAN1_RX0 / 32u] = 1u << (IRQ_USB_LP_CAN1_RX0 % 32u);
}

bool usb_f1_running(void)
{
    return state == USB_ON;
}

void USB_LP_CAN1_RX0_IRQHandler(void)
{
    /* Only wakes the main loop (WFI) and tells it that ISTR has something: the line
     * stays masked until usb_f1_irq_enable(), since ISTR's events stay set until the
     * main loop has handled them. */
    NVIC->ICER[IRQ_USB_LP_CAN1_RX0 / 32u] = 1u << (IRQ_USB_LP_CAN1_RX0 % 32u);
    irq_seen = 1;
}
