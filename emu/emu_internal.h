/*
 * Inside the emulator: the machine state every model shares, and the functions the
 * models offer each other. One machine per process (E).
 *
 * Time: E.cyc counts CPU (HCLK) cycles since the emulator started; nanoseconds are
 * derived piecewise (the clock changes once, when the firmware switches to the PLL).
 * The CPU advances E.cyc per executed instruction (emu_cpu.c, timing model); peripherals
 * are evaluated lazily at the time of each register access and at their scheduled
 * events (E.next_event_cyc), so nothing runs per cycle.
 */
#ifndef FB_EMU_INTERNAL_H
#define FB_EMU_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <unicorn/unicorn.h>

#include "emu.h"
#include "emu_elf.h"
#include "f1flash_model.h"
#include "powercut.h"
#include "w25q64_model.h"

#define EMU_FLASH_BASE   0x08000000u
/* The board's part (emu_board_pins_t): F103C8 64 KiB, or the STeaMi's F103CB 128 KiB,
 * the f1flash model's array; the config journal's first byte (never loaded from the
 * ELF); where the firmware image starts (after the STeaMi's DAPLink bootloader). */
#define EMU_FLASH_SIZE   (E.pins->flash_size)
#define EMU_FLASH_WINDOW 0x20000u /* decoded as flash (and watched by the stall detector) */
#define EMU_CONFIG_BASE  (E.pins->config_base)
#define EMU_IMAGE_BASE   (E.pins->image_base)
#define EMU_SRAM_BASE    0x20000000u
#define EMU_SRAM_SIZE    0x5000u
#define EMU_PERIPH_BASE  0x40000000u
#define EMU_PERIPH_SIZE  0x24000u
#define EMU_PPB_BASE     0xE0000000u
#define EMU_PPB_SIZE     0x100000u

#define EMU_NEVER UINT64_MAX

/* Exception numbers (ARMv7-M B1.5.2) and the interrupt lines used (RM0008 Table 63). */
enum {
    EXC_NMI = 2,
    EXC_HARDFAULT = 3,
    EXC_SVCALL = 11,
    EXC_PENDSV = 14,
    EXC_SYSTICK = 15,
    EXC_IRQ0 = 16,
    EMU_NIRQ = 60,
    EMU_NEXC = EXC_IRQ0 + EMU_NIRQ,
    IRQ_USB_HP = 19, /* USB_HP_CAN1_TX: CTR of isochronous / double-buffered endpoints */
    IRQ_USB_LP = 20, /* USB_LP_CAN1_RX0: every other USB event */
    IRQ_I2C2_EV = 33,
    IRQ_I2C2_ER = 34,
    IRQ_SPI1 = 35,
};

/* The board's pins (firmware/port/stm32f103/boards/): port index 0 = A, 1 = B, 2 = C. */
typedef struct emu_pin {
    uint8_t port, pin;
} emu_pin_t;
typedef struct emu_board_pins {
    const char *name;
    emu_pin_t scl, sda, sck, miso, mosi, cs;
    bool spi_remap; /* AFIO_MAPR.SPI1_REMAP */
    bool needs_jtag_off; /* SPI pins shared with JTAG: SWJ_CFG must release them */
    uint32_t flash_size, image_base, config_base; /* internal flash offsets */
} emu_board_pins_t;

/* ---- core peripherals ---- */
typedef struct emu_nvic {
    uint32_t iser[2], latch[2]; /* enabled; pending set by software or a pulse */
    uint8_t ipr[64];
    bool active[EMU_NEXC];
    uint8_t stack[16]; /* active exceptions, innermost last */
    unsigned depth;
    bool pend_nmi, pend_hardfault, pend_pendsv, pend_systick;
    uint32_t vtor, prigroup, scr, ccr, shcsr, cfsr, hfsr;
    uint8_t shpr[12]; /* system handler priorities, exceptions 4..15 */
    uint32_t cur;     /* exception running now (IPSR), 0 = thread */
} emu_nvic_t;

typedef struct emu_systick {
    uint32_t ctrl, load;
    uint32_t anchor_val;  /* VAL at anchor_cyc */
    uint64_t anchor_cyc;
    uint64_t next_wrap;   /* cycle of the next reload (counter reaching 0), EMU_NEVER */
    bool countflag;
} emu_systick_t;

/* ---- STM32F103 peripherals ---- */
typedef struct emu_rcc {
    uint32_t cr, cfgr, cir, apb2rstr, apb1rstr, ahbenr, apb2enr, apb1enr, bdcr, csr;
    uint64_t hsi_ready, hse_ready, pll_ready, lsi_ready; /* ns; EMU_NEVER while off */
    uint32_t hclk, pclk1, pclk2;                          /* Hz, as now configured */
} emu_rcc_t;

typedef struct emu_gpio {
    uint32_t cr[5][2]; /* CRL, CRH of ports A..E */
    uint32_t odr[5], lckr[5];
    uint32_t mapr, evcr, exticr[4];
    uint32_t swj_cfg; /* last SWJ_CFG written (the field reads back undefined) */
    bool cs_low;      /* the W25Q64's chip select as driven */
} emu_gpio_t;

typedef struct emu_iwdg {
    bool running, unlocked;
    uint32_t pr, rlr;         /* written values */
    uint32_t pr_eff, rlr_eff; /* values the counter uses (after the update delay) */
    uint64_t pr_update_done, rlr_update_done; /* ns: PVU / RVU clear */
    uint64_t reload_ns, expire_ns;
} emu_iwdg_t;

typedef struct emu_fpec {
    uint32_t acr, cr, ar, sr; /* sr: PGERR, WRPRTERR, EOP (BSY is computed) */
    bool op_running;          /* EOP is raised when it ends */
    uint64_t busy_until_ns, busy_until_cyc;
    const char *op;           /* "page erase" / "program" */
    /* A CPU store into the flash window is written by Unicorn before the model has its
     * say; the model's content is copied back before the next instruction. */
    bool fixup;
    uint32_t fixup_off, fixup_len;
} emu_fpec_t;

typedef struct emu_spi {
    uint32_t cr1, cr2, crcpr, i2scfgr;
    bool tx_full, shifting, rx_full, ovr, modf;
    uint8_t tx, shift, rx;
    uint64_t shift_start, shift_end; /* cycles */
} emu_spi_t;

/* Controller (the socket client's transfer) states: the step run at m.next_ns. */
enum {
    M_IDLE,
    M_START,
    M_ADDR_BITS,
    M_ADDR_ACK,
    M_ADDR_DONE,
    M_WBYTE,
    M_WACK,
    M_WACK2,
    M_WACK_DONE,
    M_RSTART,
    M_RBYTE_START,
    M_RBYTE_BITS,
    M_RACK,
    M_RACK_DONE,
    M_STOP,
    M_STOP_DONE,
};
enum { STRETCH_NONE, STRETCH_ADDR, STRETCH_RX, STRETCH_TX };

typedef struct emu_i2c {
    uint32_t cr1, cr2, oar1, oar2, ccr, trise;
    uint32_t sr1; /* SB ADDR BTF STOPF AF OVR BERR ARLO ... (RXNE/TXE computed) */
    uint32_t sr2; /* BUSY TRA GENCALL */
    bool rx_full, tx_full, tx_phase;
    uint8_t rx, tx;
    bool sr1_seen_addr, sr1_seen_stopf, sr1_seen_btf; /* first halves of clear sequences */
    bool addressed;   /* the current transfer matched us */
    bool rx_phase;    /* the current phase is a write from the controller */
    bool released;    /* PE = 0 or SWRST during a transfer: lines let go */
    int holding;      /* STRETCH_*: the target holds SCL low (even if the controller gave up) */
    uint8_t rx_shift; /* a received byte waiting in the shift register (BTF) */
    bool rx_shift_full;
    uint64_t evt_since; /* oldest event not yet met by a handler entry, EMU_NEVER */
    char evt_where[64];

    struct {
        int state;
        uint8_t addr7;
        uint8_t raddr7; /* address after the repeated start (another device's, or ours) */
        bool rw;      /* address byte being sent is a read */
        bool ack;     /* outcome of the current acknowledge bit */
        bool lost;    /* the byte in flight was lost to an overrun */
        const uint8_t *w;
        uint8_t *r;
        size_t wlen, rlen, wi, ri;
        board_xfer_status_t status;
        size_t wacked;
        uint64_t t;       /* start of the cell being run */
        uint64_t next_ns; /* next step, EMU_NEVER while stretched or held */
        int stretch;      /* STRETCH_*: what the target waits for */
        uint64_t stretch_edge;
        uint64_t release_ns; /* when the last stretch ended */
        int hold;         /* state held before (M_STOP_DONE / M_ADDR_DONE), or M_IDLE */
        bool held;
        uint8_t shifter;
        bool preloaded; /* dr-keep: the first read byte is the one kept in DR */
        bool done;
        int fault;      /* FAULT_*: injected into this transfer */
        size_t fault_at; /* byte index (of the write or read phase) */
        unsigned fault_bit;
        bool berr;      /* the STOP coming is misplaced (mid-byte): BERR */
        bool wait_bus;  /* START waits for the bus (others' transfer, our held SCL) */
        uint64_t wait_since;
    } m;
} emu_i2c_t;

/* USB full-speed device peripheral (RM0008 §23) and the host on its bus (emu_usb.c). */
enum { USB_BUS_IDLE, USB_BUS_RESET, USB_BUS_ACTIVE, USB_BUS_SUSPENDED };
typedef struct emu_usb {
    uint16_t epr[8];
    uint16_t cntr, istr, daddr, btable;
    uint16_t fn;      /* FNR.FN */
    uint8_t lsof;     /* FNR.LSOF */
    bool lck;         /* FNR.LCK */
    unsigned sof_run; /* consecutive SOFs (LCK after 2) */
    uint8_t pma[512];
    uint64_t analog_ready_ns; /* PDWN cleared + tSTARTUP; EMU_NEVER while PDWN = 1 */
    bool susp_check;          /* suspend detection armed (after a USB reset) */
    unsigned missed;          /* ESOFs without traffic in between */
    uint64_t esof_ns;         /* the device expects a SOF by then; EMU_NEVER = timer off */
    bool clock_reported;
    /* The host side (kept across the device's resets and power cycles). */
    int bus;
    uint64_t sof_ns;          /* host's next SOF, EMU_NEVER when it sends none */
    uint64_t sof_busy_ns;     /* the last SOF packet and the gap after it end then */
    uint16_t host_frame;
    uint64_t reset_detect_ns; /* SE0 long enough to be a reset (2.5 us in) */
    uint64_t reset_end_ns;
    bool reset_unseen;        /* the reset began while the device could not see it */
    bool watch, watch_hit;    /* stop the CPU at a USB register write (nak_forward) */
} emu_usb_t;

enum emu_stop {
    STOP_NONE,
    STOP_DEADLINE,
    STOP_REQUEST, /* a model or a test hook asked (E.stop_request) */
    STOP_WFI,
    STOP_RESET,
    STOP_FAULT,
    STOP_STALL, /* the CPU waits for the flash (E.stall_until_cyc) */
};

typedef struct emu {
    bool open;
    emu_options_t opt;
    const emu_board_pins_t *pins;
    emu_elf_t elf;
    uint32_t bus_hz;

    uc_engine *uc;
    uint8_t *ram;       /* EMU_SRAM_SIZE, mapped at 0x20000000 */
    uint8_t *flash_mem; /* EMU_FLASH_WINDOW, mapped at 0x08000000 and 0x00000000 */
    w25m_t *w25;
    f1m_t *f1;
    powercut_t *pc;

    /* time */
    uint64_t cyc;
    uint64_t seg_cyc, seg_ns; /* the current clock segment started here */
    uint32_t hz;              /* HCLK */
    uint64_t next_event_cyc;  /* the code hook takes its slow path from here on */
    uint64_t deadline_cyc;    /* run_to target */

    /* CPU */
    bool powered, sleeping, lockup;
    uint64_t stall_until_cyc; /* the CPU is stalled on a busy flash until then */
    enum emu_stop stop;
    bool stop_request;
    bool reset_request;
    const char *reset_cause;
    uint32_t cur_pc, seq_pc;
    uint32_t resume_pc; /* where uc_emu_start resumes when not from the PC register */
    bool resume_override;
    uint8_t it_left;        /* instructions left in the current IT block */
    bool exc_return_pending; /* last event was an exception return (tail-chain costs) */
    uint32_t break_addr;
    uint64_t thread_insns, thread_limit;
    uint64_t fault_addr;
    bool fault_pending_report;

    emu_nvic_t nvic;
    emu_systick_t st;
    emu_rcc_t rcc;
    emu_gpio_t gpio;
    emu_iwdg_t iwdg;
    emu_fpec_t fl;
    emu_spi_t spi;
    emu_i2c_t i2c;
    emu_usb_t usb;
    uint32_t pwr_cr;     /* PWR_CR (DBP guards RCC_BDCR) */
    uint32_t dbgmcu_cr;  /* DBGMCU_CR (0xE0042004) */
    bool backup_domain_set; /* RCC_BDCR given its battery-kept value once per open */

    bool stop_on_i2c; /* stop when the controller finishes or reaches its hold */
    emu_stats_t stats;
    uint64_t unknown_reported[16]; /* register addresses already warned about */
    unsigned n_unknown;
} emu_t;

extern emu_t E;

/* ---- emu_cpu.c ---- */
uint64_t emu_now(void);
uint64_t emu_ns_to_cyc(uint64_t ns);
uint64_t emu_cyc_to_ns(uint64_t cyc);
/* The clock changed (RCC): time stays continuous, cycles now count at hz. */
void emu_set_hclk(uint32_t hz);
/* Something may have changed interrupt state or event times: re-evaluate before the
 * next instruction. */
void emu_kick(void);
void emu_request_stop(void);
/* Time passes with the CPU frozen in the middle of an instruction (a data access that
 * stalls): the peripherals and the bus keep going. */
void emu_wait_in_place(uint64_t until_cyc);
/* Run the machine until time t (ns) or a stop request. */
void emu_run_to(uint64_t t);
int emu_cpu_create(void);
/* Forget decoded instructions (the code in flash or SRAM changed). */
void emu_decode_cache_clear(void);
void emu_cpu_destroy(void);
void emu_system_reset(const char *cause);
/* After a reset: the initial SP, PC and VTOR the CPU starts with (emu_board.c: the
 * vector table at 0, or on the STeaMi with no bootloader in the image the DAPLink
 * bootloader's hand-over to 0x0800C000). NULL, or why nothing would start. */
const char *emu_boot_vectors(uint32_t *sp, uint32_t *pc, uint32_t *vtor);
void emu_power_off(void);
void emu_power_on(void);
/* NVIC interface for the models. */
void emu_irq_latch(unsigned irq);
bool emu_irq_level(unsigned irq);
bool emu_exc_active(unsigned exc);
void emu_pend_systick(void);
/* A driver or configuration error: counted and printed (once per distinct text). */
void emu_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Name of the code at addr for messages. */
const char *emu_where(uint32_t addr, char *buf, size_t n);
uint32_t emu_ppb_read(uint32_t addr);
void emu_ppb_write(uint32_t addr, uint32_t val, uint32_t mask);

/* ---- emu_periph.c: register map, RCC, GPIO/AFIO, IWDG ---- */
void periph_reset(void);
void periph_update(void);
uint64_t periph_next_event_ns(void);
uint32_t rcc_read(uint32_t off);
void rcc_write(uint32_t off, uint32_t v, uint32_t mask);
bool rcc_hsi_on(void);
/* PLL output in Hz, 0 while the PLL is off or not locked. */
uint32_t rcc_pll_out_hz(void);
/* A GPIO configured as a general-purpose output that drives the pin low. */
bool gpio_drives_low(unsigned port, unsigned pin);
void iwdg_update(void);
/* Pin checks against the board, at the time of use. */
bool gpio_i2c_pins_ok(void);
bool gpio_spi_pins_ok(void);
int emu_map_peripherals(void);

/* ---- emu_flash.c ---- */
void fpec_reset(void);
uint32_t fpec_read(uint32_t off);
void fpec_write(uint32_t off, uint32_t v, uint32_t mask);
void flash_sync_all(void);
void flash_fixup(void);
/* A flash access while the flash is busy: counted and reported; the caller makes the
 * CPU wait (emu_stall_until or emu_wait_in_place). */
void flash_stall_report(uint32_t addr, const char *kind);
int flash_hooks_install(void);
uint32_t flash_latency(void);
static inline bool flash_busy_now(void)
{
    return E.cyc < E.fl.busy_until_cyc;
}
static inline bool in_flash(uint32_t a)
{
    return a - EMU_FLASH_BASE < EMU_FLASH_WINDOW || a < EMU_FLASH_WINDOW;
}

/* ---- emu_spi.c ---- */
void spi_reset(void);
uint32_t spi_read(uint32_t off);
void spi_write(uint32_t off, uint32_t v, uint32_t mask);
void spi_cs_changed(bool low);
bool spi_irq_level(void);

/* ---- emu_i2c.c ---- */
void i2c_reset(void);
uint32_t i2c_read(uint32_t off);
void i2c_write(uint32_t off, uint32_t v, uint32_t mask);
void i2c_update(void);
uint64_t i2c_next_event_ns(void);
bool i2c_ev_level(void);
bool i2c_er_level(void);
void i2c_on_handler_entry(void);
/* The firmware has enabled the target (PE, ACK, interrupts): the board "listens". */
bool i2c_listening(void);
void i2c_power_lost(void);
/* Board open: the shared bus starts idle (others' traffic, line history, generator). */
void i2c_bus_init(void);
/* Level of SCL (scl) or SDA on the bus now, from every device on it but our GPIOs. */
bool i2c_bus_level(bool scl);
/* Our GPIOs now pull SCL / SDA low (called on every change of the pins' set-up). */
void i2c_gpio_drive(bool scl_low, bool sda_low);
void i2c_stats_print(FILE *f);

/* ---- emu_usb.c ---- */
/* The peripheral to its reset state (system reset, power-up); the bus keeps its host. */
void usb_reset(void);
/* Board open: nobody on the bus yet (J idle, no SOF). */
void usb_bus_init(void);
uint32_t usb_read(uint32_t off);
void usb_write(uint32_t off, uint32_t v, uint32_t mask);
uint32_t usb_pma_read(uint32_t off);
void usb_pma_write(uint32_t off, uint32_t v, uint32_t mask);
void usb_update(void);
uint64_t usb_next_event_ns(void);
bool usb_lp_level(void);
bool usb_hp_level(void);
void usb_stats_print(FILE *f);

#endif
