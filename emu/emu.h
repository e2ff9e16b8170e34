/*
 * flashbridge-emu: the unmodified STM32F103 firmware ELF on an emulated Cortex-M3
 * (Unicorn) with register-level models of what it touches. The board interface
 * (sim/board.h) is implemented by emu_board.c, so the socket server of flashbridge-sim
 * (sim/sim_main.c) serves the emulated board unchanged.
 *
 * This header adds what board.h has no word for: which ELF and board, the trace, the
 * measurements, and the hooks the emulator tests need (breakpoints, instruction-exact
 * stepping, a controller that holds the bus before an event).
 *
 * One emulator per process, like the simulated board.
 */
#ifndef FB_EMU_H
#define FB_EMU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "board.h"

typedef struct emu_options {
    const char *elf_path;   /* required */
    const char *board;      /* "bluepill" (default) or "steami": pins checked against it */
    const char *trace_path; /* VCD of I2C and SPI, NULL = none */
    bool print_stats;       /* summary on stderr at board_close() */
    /* The shared bus (emu_i2c.c): other controllers' transfers to other targets at this
     * share of bus time, 0..90 (%); 0 = we are alone on the bus. */
    unsigned bus_traffic_pct;
    /* A byte left in DR when a read ends (controller NACK, STOP, START): kept and sent
     * first by the next read (true), or dropped (false). RM0008 does not say. */
    bool dr_keep;
    /* The controller gives up on SCL held low after this long; 0 = 35000 (Linux
     * i2c-bcm2835's ~35 ms). */
    uint32_t stretch_timeout_us;
    /* Faults injected into this share of our controller's transfers (0..100 %): a bus
     * error, lost arbitration, a read NACKed early, an abort mid-byte. */
    unsigned fault_pct;
    uint32_t seed; /* of the traffic and fault generator; 0 = 1 */
    /* DTOG_RX after a SETUP on a control endpoint: RM0008 §23.4.2 "Control transfers"
     * says DTOG_TX and DTOG_RX are "set to 1 and 0 respectively" without saying whether
     * before or after the reception's own toggle. false (default): the toggle follows,
     * DTOG_RX reads 1 (the next OUT is DATA1); true: DTOG_RX reads 0 as written. */
    bool usb_setup_rx0;
} emu_options_t;

/* Before board_open(). 0, or -1 (message on stderr) for an unknown board. */
int emu_configure(const emu_options_t *opt);

/* ---- measurements ---- */

#define EMU_STALL_SITES 16
typedef struct emu_stats {
    uint64_t insns, cycles;            /* executed instructions, CPU cycles (powered) */
    uint64_t thread_insns;             /* main loop (thread mode) instructions */
    uint64_t i2c_entries;              /* I2C2_EV/ER handler entries */
    uint64_t i2c_handler_insns;        /* instructions executed in them */
    uint64_t i2c_bus_bytes;            /* address and data bytes clocked on the bus */
    uint64_t i2c_bytes_while_flash_busy;
    uint64_t i2c_latency_max_ns;       /* I2C event (flag set) to handler entry */
    uint64_t i2c_latency_sum_ns, i2c_latency_n;
    char i2c_latency_worst_at[64];     /* where the CPU was when that event came */
    uint64_t i2c_stretch_addr;         /* ADDR held SCL past the controller's low time */
    uint64_t i2c_stretch_data;         /* BTF: a byte event not serviced before the next
                                        * byte completed (an overrun without stretching) */
    uint64_t i2c_stretch_ns, i2c_stretch_max_ns;
    uint64_t i2c_ovr;                  /* OVR raised (NOSTRETCH = 1 only) */
    uint64_t i2c_rx_lost, i2c_rx_dup;  /* bytes overwritten unread / DR read without data */
    uint64_t i2c_tx_lost;              /* DR written over an unsent byte */
    uint64_t i2c_timeouts;             /* controller gave up on a stretched bus */
    uint64_t i2c_stretches;            /* stretches that outlasted the controller's low time */
    uint64_t i2c_stretch_tx;           /* read bytes after the first: BTF, SCL held until
                                        * the DR write (the firmware writes no byte ahead) */
    uint64_t i2c_line_drives;          /* SCL/SDA pulled low by our GPIOs (not the peripheral) */
    uint64_t i2c_forced_conditions;    /* START/STOP made by our GPIOs (SDA moved, SCL high) */
    uint64_t i2c_our_transfers;        /* transfers of our controller (to any address) */
    uint64_t others_transfers;         /* other devices' transfers completed */
    uint64_t others_bus_ns;            /* bus time they took */
    uint64_t others_disturbed;         /* ... that our target delayed or drove a line in */
    uint64_t faults_injected[4];       /* BERR, ARLO, early NACK, abort mid-byte */
    uint64_t stalls, stall_ns;         /* flash accesses while the flash was busy */
    unsigned n_stall_sites;
    struct {
        char where[64];
        uint64_t n;
    } stall_site[EMU_STALL_SITES];
    uint64_t flash_ops, flash_busy_ns; /* internal flash program/erase operations */
    uint64_t spi_bytes;
    uint64_t faults;                   /* HardFault entries (emulator or firmware) */
    uint64_t violations;               /* driver/configuration errors reported */
    uint64_t watchdog_resets, system_resets;
    /* USB: host transactions by kind and outcome, bytes, SOFs sent */
    uint64_t usb_setup, usb_out, usb_in, usb_ack, usb_nak, usb_stall, usb_noanswer;
    uint64_t usb_bytes_in, usb_bytes_out, usb_sofs, usb_resets;
    uint64_t usb_bus_ns; /* bus time of the host's transactions */
} emu_stats_t;

const emu_stats_t *emu_stats(void);
/* Zero the counters (a test measures a window). */
void emu_stats_reset(void);
void emu_stats_print(FILE *f);
/* Average cycles per instruction so far (the timing model, for reports). */
double emu_cpi(void);

/* ---- test hooks ---- */

/* Address of a firmware symbol (Thumb bit cleared), 0 if absent. */
uint32_t emu_symbol(const char *name);
/* "function+0xoffset" for a firmware address, into buf. */
const char *emu_describe(uint32_t addr, char *buf, size_t n);
/* Run until the CPU is about to execute addr (true), or max_ns passed (false). */
bool emu_run_to_address(uint32_t addr, uint64_t max_ns);
/* Run until at least n more main-loop (thread mode) instructions have executed; stops
 * at the boundary before the next one, or at the end of the IT block that boundary is
 * in (the emulator neither stops nor preempts inside one). *done gets how many executed
 * (n or slightly more). False if max_ns passed first. */
bool emu_run_thread_insns(uint64_t n, uint64_t max_ns, uint64_t *done);
uint64_t emu_thread_insns(void);
/* A 32-bit store at addr as the CPU would make it (SRAM, or a register through its
 * model): for tests that provoke a situation the firmware never creates by itself. */
bool emu_poke32(uint32_t addr, uint32_t value);
/* Set or clear PRIMASK, as if the main loop masked interrupts for a while. */
void emu_set_primask(bool masked);
/* Current program counter and exception number (0 = main loop). */
uint32_t emu_pc(void);
unsigned emu_exception(void);

/* A controller transfer that can pause before one of its events (the controller may
 * hold SCL or SDA as long as it likes): EMU_HOLD_STOP holds the STOP condition (the
 * target's STOPF comes at release), EMU_HOLD_READ_ADDR the acknowledge clock of the
 * read address (ADDR comes at release). */
enum emu_hold { EMU_HOLD_NONE, EMU_HOLD_STOP, EMU_HOLD_READ_ADDR };
void emu_i2c_begin(uint8_t addr7, const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen,
                   enum emu_hold hold);
/* Run until the transfer reaches its hold point (true) or ends/max_ns passes (false). */
bool emu_i2c_run_to_hold(uint64_t max_ns);
/* The held event happens now, at the current instruction boundary. */
void emu_i2c_release(void);
/* Run the transfer to its end; returns its status like board_transfer(). */
board_xfer_status_t emu_i2c_finish(size_t *wacked);
/* After emu_i2c_begin(): the read phase after the repeated start addresses addr7 (a
 * write to us ended by a repeated start to another device). */
void emu_i2c_set_read_address(uint8_t addr7);
/* The bare machine, for model tests: the board's peripherals without firmware (no ELF,
 * no CPU: the core stays unpowered, time still runs with emu_run_to via board_wait).
 * Registers are reached with emu_reg_read / emu_reg_write as the CPU would (32-bit
 * accesses). 0 or -1. Close with board_close(). */
int emu_open_bare(const char *board);
uint32_t emu_reg_read(uint32_t addr);
void emu_reg_write(uint32_t addr, uint32_t value);
/* Pending state of an NVIC interrupt line's request (the level the peripheral drives). */
bool emu_irq_line(unsigned irq);

/* Change the share of our transfers that get a fault injected (--fault-pct). */
void emu_set_fault_pct(unsigned pct);

#endif
