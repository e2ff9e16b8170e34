/*
 * sim/board.h on the emulated STM32F103: the same board interface as the simulator, so
 * flashbridge-sim's socket server (sim/sim_main.c) and in-process tests drive the real
 * firmware binary unchanged. Plus the measurements and test hooks of emu.h.
 *
 * The internal flash model covers the whole part (64 KiB Blue Pill, 128 KiB STeaMi): at
 * power-up of the board the ELF's flash contents are written as a programmer would (not
 * through the FPEC: no busy time, no erase count). Blue Pill: the image area (first
 * 60 KiB) is erased and written, the config region (last 4 KiB) stays as stored in the
 * image. STeaMi: only the pages the ELF occupies from 0x0800C000 are erased and written;
 * everything else (DAPLink bootloader, factory config page, config journal, DAPLink's
 * user config page) stays as stored in the image.
 *
 * STeaMi start-up: a real DAPLink bootloader in the image runs as any code would. With
 * the bootloader area blank, a stand-in does what DAPLink's bootloader does before it
 * starts an interface image (source/daplink/bootloader/main_bootloader.c main() and
 * source/daplink/validation.c validate_bin_nvic_base(), read for its behaviour): the
 * initial SP must lie in 0x20000000..0x20005000 and the Reset, NMI and HardFault
 * vectors in 0x0800C000..0x08020000 (both ends included; stm32f103xb_bl.c's regions);
 * then VTOR = 0x0800C000, CONTROL = 0, SP and PC from the table. An image that fails is
 * not started (the real bootloader stays in MAINTENANCE mode).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_internal.h"
#include "emu_vcd.h"

static const emu_board_pins_t boards[] = {
    /* firmware/port/stm32f103/boards/bluepill.h */
    {.name = "bluepill",
     .scl = {1, 10}, .sda = {1, 11},
     .sck = {0, 5}, .miso = {0, 6}, .mosi = {0, 7}, .cs = {0, 4},
     .spi_remap = false, .needs_jtag_off = false,
     .flash_size = 0x10000u, .image_base = 0u, .config_base = 0xF000u},
    /* firmware/port/stm32f103/boards/steami.h: SPI1 remapped onto JTAG pins PB3/PB4 */
    {.name = "steami",
     .scl = {1, 10}, .sda = {1, 11},
     .sck = {1, 3}, .miso = {1, 4}, .mosi = {1, 5}, .cs = {2, 15},
     .spi_remap = true, .needs_jtag_off = true,
     /* stm32f103xb_steami.ld */
     .flash_size = 0x20000u, .image_base = 0xC000u, .config_base = 0x1EC00u},
};

static emu_options_t opts;
static const emu_board_pins_t *opt_pins = &boards[0];

/* Time allowed for the firmware to boot and enable its I2C target. */
#define BOOT_LIMIT_NS 2000000000ull
#define BOOT_STEP_NS 100000ull

int emu_configure(const emu_options_t *opt)
{
    opts = *opt;
    opt_pins = NULL;
    const char *b = opt->board ? opt->board : "bluepill";
    for (size_t i = 0; i < sizeof boards / sizeof boards[0]; i++) {
        if (strcmp(boards[i].name, b) == 0)
            opt_pins = &boards[i];
    }
    if (!opt_pins) {
        fprintf(stderr, "flashbridge-emu: unknown board '%s' (bluepill or steami)\n", b);
        return -1;
    }
    return 0;
}

/* The programmer (see the file comment). */
static void program_firmware(void)
{
    uint8_t *arr = (uint8_t *)(uintptr_t)f1m_array(E.f1);
    uint32_t base = EMU_IMAGE_BASE, end = EMU_CONFIG_BASE;
    if (base) /* the pages the image occupies, as DAPLink's page-wise programming */
        end = (E.elf.flash_len + F1M_PAGE - 1u) / F1M_PAGE * F1M_PAGE;
    memset(arr + base, 0xFF, end - base);
    memcpy(arr + base, E.elf.flash + base, E.elf.flash_len - base);
    flash_sync_all();
    emu_decode_cache_clear();
}

#define BL_SIZE 0xBC00u /* DAPLink bootloader area, daplink_addr.h DAPLINK_ROM_BL_SIZE */

const char *emu_boot_vectors(uint32_t *sp, uint32_t *pc, uint32_t *vtor)
{
    const uint8_t *fl = E.flash_mem;
    uint32_t base = 0;
    *vtor = 0;
    if (EMU_IMAGE_BASE) {
        bool blank = true;
        for (uint32_t i = 0; i < BL_SIZE && blank; i++)
            blank = fl[i] == 0xFF;
        if (blank) { /* the stand-in */
            base = EMU_IMAGE_BASE;
            uint32_t w[4];
            memcpy(w, fl + base, sizeof w);
            bool ok = w[0] >= 0x20000000u && w[0] <= 0x20005000u;
            for (int i = 1; i < 4; i++)
                ok = ok && w[i] >= EMU_FLASH_BASE + base && w[i] <= EMU_FLASH_BASE + 0x20000u;
            *sp = w[0];
            *pc = w[1];
            if (!ok)
                return "DAPLink bootloader stand-in: the image at 0x0800C000 fails "
                       "validate_bin_nvic (SP, Reset, NMI, HardFault): it stays in MAINTENANCE";
            *vtor = EMU_FLASH_BASE + base;
            /* The clocks as the bootloader leaves them (DAPLink's stm32f103xb sdk.c
             * sdk_init(): HSE x9 = 72 MHz on the PLL, APB1 /2, two flash wait states):
             * the firmware must not assume the reset state. */
            E.rcc.cr |= (1u << 16) | (1u << 24); /* HSEON, PLLON */
            E.rcc.hse_ready = E.rcc.pll_ready = emu_now();
            E.rcc.cfgr = (1u << 16) | (7u << 18) | (4u << 8) | (2u << 2) | 2u;
            E.fl.acr = (E.fl.acr & ~7u) | 2u;
            E.rcc.hclk = E.rcc.pclk2 = 72000000u;
            E.rcc.pclk1 = 36000000u;
            emu_set_hclk(72000000u);
            return NULL;
        }
    }
    memcpy(sp, fl, 4);
    memcpy(pc, fl + 4, 4);
    return NULL;
}

static void run_boot(void)
{
    uint64_t end = emu_now() + BOOT_LIMIT_NS;
    while (E.powered && !i2c_listening() && emu_now() < end)
        emu_run_to(emu_now() + BOOT_STEP_NS);
    if (E.powered && !i2c_listening())
        fprintf(stderr, "flashbridge-emu: ERROR: the firmware did not enable its I2C target "
                        "within 2 s of power-up\n");
}

int board_open(const board_config_t *cfg)
{
    if (E.open) {
        fprintf(stderr, "flashbridge-emu: board already open\n");
        return -1;
    }
    if (!opts.elf_path) {
        fprintf(stderr, "flashbridge-emu: no firmware ELF given\n");
        return -1;
    }
    memset(&E, 0, sizeof E);
    E.opt = opts;
    E.pins = opt_pins;
    E.bus_hz = cfg->bus_hz ? cfg->bus_hz : 100000u;
    if (E.bus_hz < 1000u || E.bus_hz > 1000000u) {
        fprintf(stderr, "flashbridge-emu: bus clock %u Hz out of range\n", (unsigned)E.bus_hz);
        return -1;
    }
    E.thread_limit = EMU_NEVER;
    E.i2c.evt_since = EMU_NEVER;
    if (emu_elf_load(&E.elf, opts.elf_path, EMU_FLASH_BASE, EMU_CONFIG_BASE) != 0)
        return -1;
    for (uint32_t i = 0; i < EMU_IMAGE_BASE && i < E.elf.flash_len; i++) {
        if (E.elf.flash[i] != 0xFF) {
            fprintf(stderr, "flashbridge-emu: %s loads below 0x%08x: not an image for the %s "
                            "(build it with BOARD=%s)\n",
                    opts.elf_path, (unsigned)(EMU_FLASH_BASE + EMU_IMAGE_BASE), E.pins->name,
                    E.pins->name);
            emu_elf_free(&E.elf);
            return -1;
        }
    }
    E.pc = cfg->powercut;
    E.w25 = w25m_create(cfg->flash_image, cfg->timing_max ? W25M_TIMING_MAX : W25M_TIMING_TYPICAL,
                        E.pc);
    if (!E.w25) {
        perror(cfg->flash_image ? cfg->flash_image : "flashbridge-emu: flash model");
        emu_elf_free(&E.elf);
        return -1;
    }
    E.f1 = f1m_create(cfg->config_image, EMU_FLASH_SIZE,
                      cfg->timing_max ? F1M_TIMING_MAX : F1M_TIMING_TYPICAL, E.pc);
    E.ram = aligned_alloc(4096, EMU_SRAM_SIZE);
    E.flash_mem = aligned_alloc(4096, EMU_FLASH_WINDOW);
    if (!E.f1 || !E.ram || !E.flash_mem) {
        perror(cfg->config_image ? cfg->config_image : "flashbridge-emu: config model");
        board_close();
        return -1;
    }
    program_firmware();
    if (emu_cpu_create() != 0 || (opts.trace_path && vcd_open(opts.trace_path) != 0)) {
        board_close();
        return -1;
    }
    i2c_bus_init();
    usb_bus_init();
    E.open = true;
    emu_power_on();
    E.rcc.csr |= 0x0C000000u; /* PORRSTF, PINRSTF */
    run_boot();
    return 0;
}

void board_close(void)
{
    if (E.open && E.opt.print_stats)
        emu_stats_print(stderr);
    vcd_close();
    emu_cpu_destroy();
    if (E.w25)
        w25m_destroy(E.w25);
    if (E.f1)
        f1m_destroy(E.f1);
    free(E.ram);
    free(E.flash_mem);
    emu_elf_free(&E.elf);
    memset(&E, 0, sizeof E);
}

board_xfer_status_t board_transfer(uint8_t addr7, const uint8_t *w, size_t wlen, uint8_t *r,
                                   size_t rlen, size_t *wacked)
{
    emu_i2c_begin(addr7, w, wlen, r, rlen, EMU_HOLD_NONE);
    return emu_i2c_finish(wacked);
}

void board_wait(uint64_t ns)
{
    emu_run_to(emu_now() + ns);
    vcd_flush(emu_now() > 1000000u ? emu_now() - 1000000u : 0);
}

uint64_t board_now(void)
{
    return emu_now();
}

uint64_t board_transfer_ns(size_t wlen, size_t rlen)
{
    uint64_t bits = 1 + 9 + 9 * (uint64_t)wlen + 1;
    if (rlen > 0) {
        bits += 9 * (uint64_t)rlen;
        if (wlen > 0)
            bits += 1 + 9;
    }
    return bits * 1000000000ull / E.bus_hz;
}

static void power_up(void)
{
    if (E.pc && E.pc->dead)
        powercut_restore(E.pc);
    w25m_power_on(E.w25);
    f1m_reset(E.f1);
    emu_power_on();
    E.rcc.csr |= 0x0C000000u;
    run_boot();
}

void board_power_cycle(uint64_t off_ns)
{
    if (E.powered)
        emu_power_off();
    emu_run_to(emu_now() + off_ns);
    power_up();
}

void board_factory_reset(void)
{
    if (E.powered)
        emu_power_off();
    w25m_wipe(E.w25);
    f1m_wipe(E.f1);
    program_firmware();
    E.stats.watchdog_resets = 0;
    power_up();
}

/* Test fixtures (board.h), as on the simulated board: the power-cut runner restarts
 * every cut run from saved images. The config array is the whole internal flash, the
 * firmware included, so a saved copy boots the same firmware. */
const uint8_t *board_flash_array(size_t *len)
{
    *len = W25M_SIZE;
    return w25m_array(E.w25);
}

const uint8_t *board_config_array(size_t *len)
{
    *len = f1m_size(E.f1);
    return f1m_array(E.f1);
}

void board_load_images(const uint8_t *flash, const uint8_t *config)
{
    if (E.powered)
        emu_power_off();
    w25m_load(E.w25, flash);
    f1m_load(E.f1, config);
    flash_sync_all();
    emu_decode_cache_clear();
    E.stats.watchdog_resets = 0;
    power_up();
}

bool board_power_dead(void)
{
    return !E.powered || (E.pc && E.pc->dead);
}

uint32_t board_watchdog_resets(void)
{
    return (uint32_t)E.stats.watchdog_resets;
}

int board_sync(void)
{
    int r = 0;
    if (w25m_sync(E.w25) != 0) {
        perror("flashbridge-emu: flash image");
        r = -1;
    }
    if (f1m_sync(E.f1) != 0) {
        perror("flashbridge-emu: config image");
        r = -1;
    }
    return r;
}

int emu_open_bare(const char *board)
{
    const emu_board_pins_t *pins = NULL;
    for (size_t i = 0; i < sizeof boards / sizeof boards[0]; i++) {
        if (strcmp(boards[i].name, board) == 0)
            pins = &boards[i];
    }
    if (!pins || E.open)
        return -1;
    memset(&E, 0, sizeof E);
    E.opt = opts;
    E.pins = pins;
    E.bus_hz = 100000u;
    E.thread_limit = EMU_NEVER;
    E.i2c.evt_since = EMU_NEVER;
    E.st.next_wrap = EMU_NEVER;
    E.hz = 8000000u;
    E.backup_domain_set = true;
    i2c_bus_init();
    usb_bus_init();
    periph_reset();
    E.open = true;
    E.powered = true; /* the peripherals have power; no CPU runs (E.uc is NULL) */
    return 0;
}

/* ---- measurements ---- */

const emu_stats_t *emu_stats(void)
{
    return &E.stats;
}

void emu_stats_reset(void)
{
    uint64_t wd = E.stats.watchdog_resets;
    memset(&E.stats, 0, sizeof E.stats);
    E.stats.watchdog_resets = wd;
}

void emu_stats_print(FILE *f)
{
    const emu_stats_t *s = &E.stats;
    fprintf(f, "flashbridge-emu: %s, %s\n", E.pins->name, E.opt.elf_path);
    fprintf(f, "  time %.6f s; %llu instructions (%llu main loop), %llu cycles, CPI %.2f\n",
            (double)emu_now() / 1e9, (unsigned long long)s->insns,
            (unsigned long long)E.thread_insns, (unsigned long long)s->cycles, emu_cpi());
    fprintf(f, "  I2C: %llu bus bytes (%llu while the flash was busy), %llu handler entries, "
               "%llu handler instructions (%.1f per byte)\n",
            (unsigned long long)s->i2c_bus_bytes, (unsigned long long)s->i2c_bytes_while_flash_busy,
            (unsigned long long)s->i2c_entries, (unsigned long long)s->i2c_handler_insns,
            s->i2c_bus_bytes ? (double)s->i2c_handler_insns / (double)s->i2c_bus_bytes : 0.0);
    fprintf(f, "  I2C latency (event to handler): worst %.3f us (event while at %s), mean %.3f us\n",
            (double)s->i2c_latency_max_ns / 1e3,
            s->i2c_latency_worst_at[0] ? s->i2c_latency_worst_at : "-",
            s->i2c_latency_n ? (double)s->i2c_latency_sum_ns / (double)s->i2c_latency_n / 1e3 : 0.0);
    fprintf(f, "  I2C stretching: %llu after ADDR, %llu data (BTF), %.3f us in all, worst %.3f us; "
               "OVR %llu, lost %llu, duplicate reads %llu, tx overwritten %llu, timeouts %llu\n",
            (unsigned long long)s->i2c_stretch_addr, (unsigned long long)s->i2c_stretch_data,
            (double)s->i2c_stretch_ns / 1e3, (double)s->i2c_stretch_max_ns / 1e3,
            (unsigned long long)s->i2c_ovr, (unsigned long long)s->i2c_rx_lost,
            (unsigned long long)s->i2c_rx_dup, (unsigned long long)s->i2c_tx_lost,
            (unsigned long long)s->i2c_timeouts);
    i2c_stats_print(f);
    usb_stats_print(f);
    fprintf(f, "  internal flash: %llu operations, busy %.3f ms; stalls %llu (%.3f ms)\n",
            (unsigned long long)s->flash_ops, (double)s->flash_busy_ns / 1e6,
            (unsigned long long)s->stalls, (double)s->stall_ns / 1e6);
    for (unsigned i = 0; i < s->n_stall_sites; i++)
        fprintf(f, "    stall: %s x%llu\n", s->stall_site[i].where,
                (unsigned long long)s->stall_site[i].n);
    fprintf(f, "  SPI bytes %llu; faults %llu; violations %llu; watchdog resets %llu; system "
               "resets %llu\n",
            (unsigned long long)s->spi_bytes, (unsigned long long)s->faults,
            (unsigned long long)s->violations, (unsigned long long)s->watchdog_resets,
            (unsigned long long)s->system_resets);
}

/* ---- test hooks ---- */

uint32_t emu_symbol(const char *name)
{
    return emu_elf_addr(&E.elf, name);
}

const char *emu_describe(uint32_t addr, char *buf, size_t n)
{
    return emu_elf_describe(&E.elf, addr, buf, n);
}

bool emu_run_to_address(uint32_t addr, uint64_t max_ns)
{
    uint64_t end = emu_now() + max_ns;
    E.break_addr = addr;
    while (E.break_addr && emu_now() < end)
        emu_run_to(end);
    bool hit = E.break_addr == 0;
    E.break_addr = 0;
    return hit;
}

bool emu_run_thread_insns(uint64_t n, uint64_t max_ns, uint64_t *done)
{
    uint64_t end = emu_now() + max_ns, start = E.thread_insns, target = start + n;
    while (E.thread_insns < target && emu_now() < end) {
        E.thread_limit = target;
        emu_run_to(end);
    }
    E.thread_limit = EMU_NEVER;
    if (done)
        *done = E.thread_insns - start;
    return E.thread_insns >= target;
}

bool emu_poke32(uint32_t addr, uint32_t value)
{
    bool ok = uc_mem_write(E.uc, addr, &value, sizeof value) == UC_ERR_OK;
    emu_kick();
    return ok;
}

void emu_set_primask(bool masked)
{
    uint32_t v = masked;
    uc_reg_write(E.uc, UC_ARM_REG_PRIMASK, &v);
    emu_kick();
}

uint64_t emu_thread_insns(void)
{
    return E.thread_insns;
}
