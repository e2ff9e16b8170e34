/*
 * The simulated board: the portable core running on port/host, with the device models,
 * in deterministic virtual time. Used by flashbridge-sim (socket server), by tests that
 * need a board in-process, by the fuzzer and by the power-cut runner.
 *
 * Concurrency model: the firmware's main loop runs as a coroutine. Every port call that
 * takes time on hardware (SPI bytes, internal-flash program/erase, idle until the next
 * interrupt, a fixed cost per main-loop pass) hands control back to the board, which
 * delivers the I2C interrupt events that fall due in that time (in bus-bit order) and
 * resumes the main loop. So the I2C "interrupt" preempts the main loop only while it
 * waits inside a port call (between two SPI bytes, while the internal flash is busy,
 * in hal_idle), never in the middle of the core's own code; this is deterministic: the
 * same inputs give the same virtual times and bytes.
 *
 * Costs (virtual time): one main-loop pass 2 us besides its port calls; SPI 444 ns per
 * byte (18 MHz) + 500 ns per hal_spi_xfer; internal flash program/erase as the f1flash
 * model says; hal_idle sleeps to the next 1 ms SysTick or the next I2C event. Event
 * times: address matched at the end of the address byte's ACK bit, a written byte at the
 * end of its ACK bit, a read byte requested as the byte starts, STOP at the end.
 * A watchdog (IWDG, 1 s) reboots the core when the main loop stops kicking it.
 *
 * The board starts at virtual time 0 with the core not yet booted: fb_core_init() runs
 * in virtual time as soon as time advances (the first transfer or wait).
 *
 * One board per process (the port's functions are free functions).
 */
#ifndef FB_SIM_BOARD_H
#define FB_SIM_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "powercut.h"

typedef struct board_config {
    const char *flash_image;  /* W25Q64 image file, NULL = in memory */
    const char *config_image; /* F103 internal flash image file, NULL = in memory */
    uint32_t bus_hz;          /* I2C clock: 100000 (default when 0) or 400000 */
    bool timing_max;          /* flash operations take their datasheet maximum */
    powercut_t *powercut;     /* NULL = no power cuts */
} board_config_t;

/* Result of one I2C transfer. */
typedef enum {
    BOARD_ACK = 0,        /* every byte acknowledged */
    BOARD_NACK_ADDR = 1,  /* nobody answered the address (or the board is unpowered) */
    BOARD_NACK_DATA = 2,  /* the target NACKed a written byte */
} board_xfer_status_t;

/* Create the board and power it up (the core boots and mounts its stores). 0, or -1
 * on error (message on stderr). */
int board_open(const board_config_t *cfg);
void board_close(void);

/* One I2C transfer at address addr7: if wlen > 0 a write of w; then if rlen > 0 a read
 * of rlen bytes into r (after a repeated start when there was a write); then STOP.
 * Virtual time advances by the bus time of every bit. Returns the status; *wacked gets
 * the number of written bytes the target acknowledged. */
board_xfer_status_t board_transfer(uint8_t addr7, const uint8_t *w, size_t wlen,
                                   uint8_t *r, size_t rlen, size_t *wacked);
/* Let virtual time run for ns nanoseconds (the firmware keeps working). */
void board_wait(uint64_t ns);
uint64_t board_now(void);
/* Bus time in ns of a transfer with these lengths at the configured speed. */
uint64_t board_transfer_ns(size_t wlen, size_t rlen);
/* Power off for off_ns then on again: RAM state lost, flash images kept (an operation in
 * progress is cut as the models say), the core boots again. */
void board_power_cycle(uint64_t off_ns);
/* Test fixture: power off, both flash devices back to new (erased), power on and boot.
 * Lets a fuzzer start every input from the same state without re-creating the board. */
void board_factory_reset(void);
/* Test fixtures: the two flash arrays as they are now, and power off, put saved copies
 * back, power on and boot (restarting many runs from one image). */
const uint8_t *board_flash_array(size_t *len);
const uint8_t *board_config_array(size_t *len);
void board_load_images(const uint8_t *flash, const uint8_t *config);
/* Wear figures: erases so far of one W25Q64 4 KiB sector / one F103 1 KiB page. */
uint32_t board_flash_erases(uint32_t sector);
uint32_t board_config_erases(uint32_t page);
/* True once a power cut armed in the powercut controller has happened (until the next
 * board_power_cycle()). */
bool board_power_dead(void);
/* Times the watchdog has reset the core since board_open() (each also printed as
 * "watchdog reset" on stderr). */
uint32_t board_watchdog_resets(void);
/* Flush the images to their files. 0 or -1. */
int board_sync(void);

/* ---- the USB device port (docs/SIM-PROTOCOL.md, USB operations) ----
 * Only flashbridge-emu has one (the F103's USB peripheral model); on the simulated board
 * board_usb_present() is false and the other calls are never made. Each call is the
 * host's side of one bus event in virtual time: the firmware runs meanwhile. */
typedef enum {
    BOARD_USB_ACK = 0,
    BOARD_USB_NAK = 1,
    BOARD_USB_STALL = 2,
    BOARD_USB_NOANSWER = 3, /* no handshake / no data packet: the host timed out */
    BOARD_USB_BABBLE = 4,   /* IN: the device sent more than the host's maximum: not ACKed */
} board_usb_status_t;
bool board_usb_present(void);
/* Reset signalling (SE0) for ns, then the bus is active (SOF every 1 ms). Returns true
 * if the device is attached (D+ pulled up). */
bool board_usb_reset(uint64_t ns);
/* Stop sending SOFs (the bus idles: the device may suspend). The next transaction
 * resumes the bus first (20 ms of K, then SOFs). */
void board_usb_suspend(void);
board_usb_status_t board_usb_setup(uint8_t addr, uint8_t ep, const uint8_t setup[8]);
/* OUT and IN: a NAKed transaction is repeated, as a host controller does, until it is
 * answered otherwise or retry_ns has passed since the call (0: one transaction); *naks
 * counts the NAKed repeats before the last transaction. */
board_usb_status_t board_usb_out(uint8_t addr, uint8_t ep, bool data1, const uint8_t *d,
                                 size_t n, uint64_t retry_ns, uint32_t *naks);
/* IN token: up to max bytes into d; *n the length, *data1 the data PID's toggle. */
board_usb_status_t board_usb_in(uint8_t addr, uint8_t ep, uint8_t *d, size_t max, size_t *n,
                                bool *data1, uint64_t retry_ns, uint32_t *naks);

#endif
