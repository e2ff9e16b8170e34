/* The F103 USB device port's own entry points (dcd.h has the rest). Main loop only,
 * except the handler. */
#ifndef FB_PORT_USB_F1_H
#define FB_PORT_USB_F1_H

#include <stdbool.h>

/* At boot, after the clocks: starts the detach (PA12 low), then the peripheral comes up
 * from usb_f1_ready(). Does nothing without the 72 MHz HSE PLL (no 48 MHz for USB). */
void usb_f1_start(void);
/* Each main-loop pass, before the device core: finishes the start-up when due; true
 * when the peripheral is on (dcd_poll() may be called). */
bool usb_f1_ready(void);
/* True (once) when the interrupt has fired since the last call: ISTR has events. */
bool usb_f1_take_irq(void);
/* After the device core has handled an event: unmasks the USB interrupt again. */
void usb_f1_irq_enable(void);
bool usb_f1_running(void);

void USB_LP_CAN1_RX0_IRQHandler(void);

#endif
