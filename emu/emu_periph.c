/*
 * STM32F103 register map (RM0008 Table 3) and the small peripherals: RCC, GPIO/AFIO with
 * the board's pin checks, IWDG. FLASH, SPI1 and I2C2 have their own files.
 *
 * Every access to a peripheral whose bus clock is off (RCC_APBxENR) reads 0 and writes
 * nothing, as on the chip, and is reported: a driver that forgets a clock enable would
 * otherwise only fail on hardware.
 */
#include <stdio.h>
#include <string.h>

#include "emu_internal.h"
#include "emu_vcd.h"

#define PERIPH_ACCESS_CYCLES 2u /* AHB to APB bridge: see the timing model in emu_cpu.c */

/* ---- RCC (RM0008 §7.3) ---- */

#define RCC_CR_HSION (1u << 0)
#define RCC_CR_HSIRDY (1u << 1)
#define RCC_CR_HSEON (1u << 16)
#define RCC_CR_HSERDY (1u << 17)
#define RCC_CR_PLLON (1u << 24)
#define RCC_CR_PLLRDY (1u << 25)
#define RCC_CFGR_PLL_CONFIG (0x3Fu << 16) /* PLLSRC, PLLXTPRE, PLLMUL */
#define RCC_APB2_AFIO (1u << 0)
#define RCC_APB2_SPI1 (1u << 12)
#define RCC_APB1_I2C2 (1u << 22)
#define RCC_APB1_USB (1u << 23)
#define RCC_CSR_LSION (1u << 0)
#define RCC_CSR_LSIRDY (1u << 1)
#define RCC_CSR_RMVF (1u << 24)
#define RCC_CSR_IWDGRSTF (1u << 29)

#define HSI_HZ 8000000u
#define HSE_HZ 8000000u /* both boards: 8 MHz crystal */
#define LSI_HZ 40000u   /* nominal; datasheet range 30..60 kHz */
/* Start-up times (STM32F103x8 datasheet): HSI 2 us, HSE crystal 2 ms typical, PLL lock
 * 200 us maximum, LSI 85 us. */
#define T_HSI_NS 2000u
#define T_HSE_NS 2000000u
#define T_PLL_NS 200000u
#define T_LSI_NS 85000u

static bool rcc_ready(uint64_t at)
{
    return emu_now() >= at;
}

bool rcc_hsi_on(void)
{
    return (E.rcc.cr & RCC_CR_HSION) && rcc_ready(E.rcc.hsi_ready);
}

static uint32_t ahb_div(uint32_t hpre)
{
    static const uint16_t d[8] = {2, 4, 8, 16, 64, 128, 256, 512};
    return hpre < 8 ? 1u : d[hpre - 8];
}

static uint32_t apb_div(uint32_t ppre)
{
    return ppre < 4 ? 1u : 1u << (ppre - 3);
}

static uint32_t pll_hz(void)
{
    uint32_t cfgr = E.rcc.cfgr;
    uint32_t in = (cfgr & (1u << 16)) ? HSE_HZ / ((cfgr & (1u << 17)) ? 2u : 1u) : HSI_HZ / 2u;
    uint32_t mul = ((cfgr >> 18) & 15u) + 2u;
    return in * (mul > 16u ? 16u : mul);
}

uint32_t rcc_pll_out_hz(void)
{
    if (!(E.rcc.cr & RCC_CR_PLLON) || !rcc_ready(E.rcc.pll_ready))
        return 0;
    return pll_hz();
}

static uint32_t sysclk_hz(void)
{
    switch ((E.rcc.cfgr >> 2) & 3u) {
    case 1:
        return HSE_HZ;
    case 2:
        return pll_hz();
    default:
        return HSI_HZ;
    }
}

/* The clock tree follows CFGR (SWS, prescalers): HCLK drives the CPU's cycle count. */
static void rcc_clocks_changed(void)
{
    uint32_t sys = sysclk_hz();
    E.rcc.hclk = sys / ahb_div((E.rcc.cfgr >> 4) & 15u);
    E.rcc.pclk1 = E.rcc.hclk / apb_div((E.rcc.cfgr >> 8) & 7u);
    E.rcc.pclk2 = E.rcc.hclk / apb_div((E.rcc.cfgr >> 11) & 7u);
    if (sys > 72000000u)
        emu_violation("SYSCLK %u Hz above the 72 MHz maximum", (unsigned)sys);
    if (E.rcc.pclk1 > 36000000u)
        emu_violation("PCLK1 %u Hz above the 36 MHz APB1 maximum", (unsigned)E.rcc.pclk1);
    /* RM0008 §3.3.3: 0 wait states up to 24 MHz, 1 up to 48 MHz, 2 up to 72 MHz. */
    uint32_t need = E.rcc.hclk > 48000000u ? 2u : E.rcc.hclk > 24000000u ? 1u : 0u;
    if (flash_latency() < need)
        emu_violation("HCLK %u Hz with FLASH_ACR.LATENCY = %u (needs %u): flash reads fail",
                      (unsigned)E.rcc.hclk, (unsigned)flash_latency(), (unsigned)need);
    emu_set_hclk(E.rcc.hclk);
}

/* A switch to a source that is not ready yet happens once it is (RM0008 §7.2.6). */
static bool rcc_source_ready(uint32_t sw)
{
    switch (sw) {
    case 0:
        return rcc_hsi_on();
    case 1:
        return (E.rcc.cr & RCC_CR_HSEON) && rcc_ready(E.rcc.hse_ready);
    case 2:
        return (E.rcc.cr & RCC_CR_PLLON) && rcc_ready(E.rcc.pll_ready);
    default:
        return false;
    }
}

static void rcc_update(void)
{
    uint32_t sw = E.rcc.cfgr & 3u, sws = (E.rcc.cfgr >> 2) & 3u;
    if (sw != sws && sw != 3u && rcc_source_ready(sw)) {
        E.rcc.cfgr = (E.rcc.cfgr & ~0xCu) | sw << 2;
        rcc_clocks_changed();
    }
}

static uint64_t rcc_next_event_ns(void)
{
    uint32_t sw = E.rcc.cfgr & 3u, sws = (E.rcc.cfgr >> 2) & 3u;
    if (sw == sws)
        return EMU_NEVER;
    if (sw == 1 && (E.rcc.cr & RCC_CR_HSEON))
        return E.rcc.hse_ready;
    if (sw == 2 && (E.rcc.cr & RCC_CR_PLLON))
        return E.rcc.pll_ready;
    if (sw == 0 && (E.rcc.cr & RCC_CR_HSION))
        return E.rcc.hsi_ready;
    return EMU_NEVER;
}

static void rcc_reset_state(void)
{
    uint32_t csr_flags = E.rcc.csr & 0xFC000000u;
    uint32_t bdcr = E.rcc.bdcr; /* backup domain: kept by VBAT across resets */
    memset(&E.rcc, 0, sizeof E.rcc);
    E.rcc.bdcr = bdcr;
    E.rcc.cr = RCC_CR_HSION | (16u << 3);
    E.rcc.hsi_ready = 0;
    E.rcc.hse_ready = E.rcc.pll_ready = E.rcc.lsi_ready = EMU_NEVER;
    E.rcc.ahbenr = 0x14u; /* SRAM and FLITF clocks on */
    E.rcc.csr = csr_flags;
    E.rcc.hclk = E.rcc.pclk1 = E.rcc.pclk2 = HSI_HZ;
}

uint32_t rcc_read(uint32_t off)
{
    rcc_update();
    switch (off) {
    case 0x00: {
        uint32_t v = E.rcc.cr & ~(RCC_CR_HSIRDY | RCC_CR_HSERDY | RCC_CR_PLLRDY);
        if (rcc_hsi_on())
            v |= RCC_CR_HSIRDY;
        if ((v & RCC_CR_HSEON) && rcc_ready(E.rcc.hse_ready))
            v |= RCC_CR_HSERDY;
        if ((v & RCC_CR_PLLON) && rcc_ready(E.rcc.pll_ready))
            v |= RCC_CR_PLLRDY;
        return v;
    }
    case 0x04: return E.rcc.cfgr;
    case 0x08: return E.rcc.cir;
    case 0x0C: return E.rcc.apb2rstr;
    case 0x10: return E.rcc.apb1rstr;
    case 0x14: return E.rcc.ahbenr;
    case 0x18: return E.rcc.apb2enr;
    case 0x1C: return E.rcc.apb1enr;
    case 0x20: return E.rcc.bdcr;
    case 0x24: {
        uint32_t v = E.rcc.csr & ~RCC_CSR_LSIRDY;
        if ((v & RCC_CSR_LSION) && rcc_ready(E.rcc.lsi_ready))
            v |= RCC_CSR_LSIRDY;
        return v;
    }
    default: return 0;
    }
}

static void gpio_port_reset(unsigned port);

void rcc_write(uint32_t off, uint32_t v, uint32_t mask)
{
    rcc_update();
    uint64_t now = emu_now();
    uint32_t sws = (E.rcc.cfgr >> 2) & 3u;
    switch (off) {
    case 0x00: {
        uint32_t old = E.rcc.cr, nv = (old & ~mask) | (v & mask);
        /* The clock in use cannot be stopped (RM0008 §7.3.1). */
        if (sws == 0 || (sws == 2 && !(E.rcc.cfgr & (1u << 16))))
            nv |= RCC_CR_HSION;
        if (sws == 1 || (sws == 2 && (E.rcc.cfgr & (1u << 16))))
            nv |= old & RCC_CR_HSEON;
        if (sws == 2)
            nv |= old & RCC_CR_PLLON;
        nv &= 0x010D00F9u; /* writable bits: HSION HSITRIM HSEON HSEBYP CSSON PLLON */
        if ((nv & RCC_CR_HSION) && !(old & RCC_CR_HSION))
            E.rcc.hsi_ready = now + T_HSI_NS;
        if ((nv & RCC_CR_HSEON) && !(old & RCC_CR_HSEON))
            E.rcc.hse_ready = now + T_HSE_NS;
        if (!(nv & RCC_CR_HSEON))
            E.rcc.hse_ready = EMU_NEVER;
        if ((nv & RCC_CR_PLLON) && !(old & RCC_CR_PLLON)) {
            uint64_t src = (E.rcc.cfgr & (1u << 16)) ? E.rcc.hse_ready : E.rcc.hsi_ready;
            E.rcc.pll_ready = src == EMU_NEVER ? EMU_NEVER : (src > now ? src : now) + T_PLL_NS;
        }
        if (!(nv & RCC_CR_PLLON))
            E.rcc.pll_ready = EMU_NEVER;
        E.rcc.cr = nv;
        break;
    }
    case 0x04: {
        uint32_t nv = (E.rcc.cfgr & ~mask) | (v & mask);
        nv = (nv & ~0xCu) | (E.rcc.cfgr & 0xCu); /* SWS is read-only */
        if ((E.rcc.cr & RCC_CR_PLLON) && ((nv ^ E.rcc.cfgr) & RCC_CFGR_PLL_CONFIG))
            emu_violation("RCC_CFGR PLL configuration changed while the PLL is on");
        E.rcc.cfgr = nv;
        rcc_clocks_changed(); /* prescalers apply at once */
        rcc_update();
        break;
    }
    case 0x08:
        if (v & mask & (1u << 23))
            E.rcc.cir &= ~(1u << 7); /* CSSC clears CSSF */
        E.rcc.cir = (E.rcc.cir & ~(mask & 0x1F00u)) | (v & mask & 0x1F00u);
        break;
    case 0x0C: {
        uint32_t nv = (E.rcc.apb2rstr & ~mask) | (v & mask), rise = nv & ~E.rcc.apb2rstr;
        E.rcc.apb2rstr = nv;
        if (rise & RCC_APB2_SPI1)
            spi_reset();
        for (unsigned p = 0; p < 5; p++) {
            if (rise & (1u << (2 + p)))
                gpio_port_reset(p);
        }
        if (rise & RCC_APB2_AFIO) {
            E.gpio.mapr = E.gpio.evcr = 0;
            memset(E.gpio.exticr, 0, sizeof E.gpio.exticr);
        }
        break;
    }
    case 0x10: {
        uint32_t nv = (E.rcc.apb1rstr & ~mask) | (v & mask), rise = nv & ~E.rcc.apb1rstr;
        E.rcc.apb1rstr = nv;
        if (rise & RCC_APB1_I2C2)
            i2c_reset();
        if (rise & RCC_APB1_USB)
            usb_reset();
        break;
    }
    case 0x14: E.rcc.ahbenr = (E.rcc.ahbenr & ~mask) | (v & mask); break;
    case 0x18: E.rcc.apb2enr = (E.rcc.apb2enr & ~mask) | (v & mask); break;
    case 0x1C: E.rcc.apb1enr = (E.rcc.apb1enr & ~mask) | (v & mask); break;
    case 0x20:
        /* Backup domain: write-protected until PWR_CR.DBP (RM0008 §5.1.2, §7.3.9). */
        if (!(E.pwr_cr & (1u << 8)))
            emu_violation("RCC_BDCR written with PWR_CR.DBP = 0 (RM0008 §5.1.2): ignored");
        else
            E.rcc.bdcr = (E.rcc.bdcr & ~mask) | (v & mask & 0x18305u);
        break;
    case 0x24: {
        uint32_t nv = (E.rcc.csr & ~(mask & 1u)) | (v & mask & 1u);
        if ((nv & RCC_CSR_LSION) && !(E.rcc.csr & RCC_CSR_LSION))
            E.rcc.lsi_ready = now + T_LSI_NS;
        if (v & mask & RCC_CSR_RMVF)
            nv &= ~0xFC000000u;
        E.rcc.csr = nv;
        break;
    }
    default:
        break;
    }
    emu_kick();
}

/* ---- GPIO / AFIO (RM0008 §9) ---- */

#define CNF_MODE(port, pin) ((E.gpio.cr[port][(pin) / 8u] >> (((pin) % 8u) * 4u)) & 0xFu)

static bool is_output(uint32_t cm)
{
    return (cm & 3u) != 0;
}

static bool is_af_output(uint32_t cm)
{
    return is_output(cm) && (cm & 8u);
}

static const char *mode_name(uint32_t cm)
{
    static const char *const out[4] = {"output push-pull", "output open-drain",
                                       "alternate-function push-pull",
                                       "alternate-function open-drain"};
    static const char *const in[4] = {"analog input", "floating input", "input with pull",
                                      "reserved input mode"};
    return is_output(cm) ? out[cm >> 2] : in[cm >> 2];
}

static void gpio_port_reset(unsigned port)
{
    E.gpio.cr[port][0] = E.gpio.cr[port][1] = 0x44444444u; /* floating inputs */
    E.gpio.odr[port] = 0;
    E.gpio.lckr[port] = 0;
}

static bool same_pin(emu_pin_t a, unsigned port, unsigned pin)
{
    return a.port == port && a.pin == pin;
}

/* Level of an I2C line as the pin sees it: the bus is pulled up and idle between the
 * controller's transfers; a GPIO open-drain output at 0 pulls it down. */
static bool i2c_line(emu_pin_t p)
{
    bool v = i2c_bus_level(same_pin(p, E.pins->scl.port, E.pins->scl.pin));
    uint32_t cm = CNF_MODE(p.port, p.pin);
    if (is_output(cm) && !(cm & 8u) && !((E.gpio.odr[p.port] >> p.pin) & 1u))
        v = false;
    return v;
}

static uint32_t gpio_idr(unsigned port)
{
    uint32_t v = 0;
    for (unsigned pin = 0; pin < 16; pin++) {
        uint32_t cm = CNF_MODE(port, pin);
        bool level;
        if (same_pin(E.pins->scl, port, pin) || same_pin(E.pins->sda, port, pin))
            level = i2c_line(same_pin(E.pins->scl, port, pin) ? E.pins->scl : E.pins->sda);
        else if (is_output(cm))
            level = (E.gpio.odr[port] >> pin) & 1u;
        else if ((cm >> 2) == 2u)
            level = (E.gpio.odr[port] >> pin) & 1u; /* pull-up / pull-down from ODR */
        else
            level = same_pin(E.pins->miso, port, pin); /* MISO idles high */
        v |= (uint32_t)level << pin;
    }
    return v;
}

/* The chip select line follows its pin (a GPIO output); anything else leaves it to
 * the board's pull-up: deselected. */
static void gpio_outputs_changed(unsigned port, uint32_t old_odr)
{
    emu_pin_t cs = E.pins->cs;
    uint32_t cm = CNF_MODE(cs.port, cs.pin);
    bool low = is_output(cm) && !(cm & 8u) && !((E.gpio.odr[cs.port] >> cs.pin) & 1u);
    if (low && cs.port == 2u && cs.pin >= 14u && (E.rcc.bdcr & 1u)) {
        /* "The LSE has priority over the GPIO function" (RM0008 §9.2.1). */
        emu_violation("board %s: chip select PC%u driven while RCC_BDCR.LSEON = 1: the LSE "
                      "oscillator owns the pin", E.pins->name, (unsigned)cs.pin);
        low = false;
    }
    if (low != E.gpio.cs_low) {
        E.gpio.cs_low = low;
        spi_cs_changed(low);
    }
    /* Our GPIOs pulling SCL or SDA low: the shared bus counts every one. */
    if (port == E.pins->scl.port || port == E.pins->sda.port) {
        const emu_pin_t *pl[2] = {&E.pins->scl, &E.pins->sda};
        bool pulled[2];
        for (int i = 0; i < 2; i++) {
            uint32_t m = CNF_MODE(pl[i]->port, pl[i]->pin);
            pulled[i] = is_output(m) && !(m & 8u) && !((E.gpio.odr[pl[i]->port] >> pl[i]->pin) & 1u);
        }
        i2c_gpio_drive(pulled[0], pulled[1]);
    }
    /* The I2C recovery sequence drives the lines as GPIOs: show it in the trace. */
    uint32_t diff = old_odr ^ E.gpio.odr[port];
    if (vcd_enabled() && diff) {
        const emu_pin_t *lines[2] = {&E.pins->scl, &E.pins->sda};
        for (int i = 0; i < 2; i++) {
            if (lines[i]->port == port && (diff >> lines[i]->pin & 1u) &&
                is_output(CNF_MODE(port, lines[i]->pin)) && !(CNF_MODE(port, lines[i]->pin) & 8u))
                vcd_edge(emu_now(), i == 0 ? VCD_SCL : VCD_SDA,
                         (E.gpio.odr[port] >> lines[i]->pin) & 1u);
        }
    }
}

bool gpio_drives_low(unsigned port, unsigned pin)
{
    uint32_t cm = CNF_MODE(port, pin);
    return is_output(cm) && !(cm & 8u) && !((E.gpio.odr[port] >> pin) & 1u);
}

static uint32_t gpio_read(unsigned port, uint32_t off)
{
    switch (off) {
    case 0x00: return E.gpio.cr[port][0];
    case 0x04: return E.gpio.cr[port][1];
    case 0x08: return gpio_idr(port);
    case 0x0C: return E.gpio.odr[port];
    case 0x18: return E.gpio.lckr[port];
    default: return 0;
    }
}

static void gpio_write(unsigned port, uint32_t off, uint32_t v, uint32_t mask)
{
    uint32_t old = E.gpio.odr[port];
    switch (off) {
    case 0x00:
    case 0x04:
        E.gpio.cr[port][off / 4u] = (E.gpio.cr[port][off / 4u] & ~mask) | (v & mask);
        break;
    case 0x0C:
        E.gpio.odr[port] = ((old & ~mask) | (v & mask)) & 0xFFFFu;
        break;
    case 0x10: /* BSRR: set wins over reset */
        v &= mask;
        E.gpio.odr[port] = ((old & ~(v >> 16)) | v) & 0xFFFFu;
        break;
    case 0x14:
        E.gpio.odr[port] = old & ~(v & mask & 0xFFFFu);
        break;
    case 0x18:
        E.gpio.lckr[port] = (E.gpio.lckr[port] & ~mask) | (v & mask);
        break;
    default:
        break;
    }
    gpio_outputs_changed(port, old);
}

static uint32_t afio_read(uint32_t off)
{
    switch (off) {
    case 0x00: return E.gpio.evcr;
    case 0x04: return E.gpio.mapr & ~(7u << 24); /* SWJ_CFG is write-only */
    case 0x08: case 0x0C: case 0x10: case 0x14: return E.gpio.exticr[(off - 8u) / 4u];
    default: return 0;
    }
}

static void afio_write(uint32_t off, uint32_t v, uint32_t mask)
{
    switch (off) {
    case 0x00:
        E.gpio.evcr = (E.gpio.evcr & ~mask) | (v & mask);
        break;
    case 0x04:
        if (mask & (7u << 24))
            E.gpio.swj_cfg = (v >> 24) & 7u;
        E.gpio.mapr = (E.gpio.mapr & ~mask) | (v & mask);
        break;
    case 0x08: case 0x0C: case 0x10: case 0x14:
        E.gpio.exticr[(off - 8u) / 4u] = (E.gpio.exticr[(off - 8u) / 4u] & ~mask) | (v & mask);
        break;
    default:
        break;
    }
}

static void pin_error(const char *what, emu_pin_t p, const char *want)
{
    uint32_t cm = CNF_MODE(p.port, p.pin);
    emu_violation("board %s: %s on P%c%u is %s (CNF/MODE 0x%x), must be %s", E.pins->name, what,
                  'A' + p.port, p.pin, mode_name(cm), (unsigned)cm, want);
}

bool gpio_i2c_pins_ok(void)
{
    bool ok = true;
    const emu_pin_t *p[2] = {&E.pins->scl, &E.pins->sda};
    static const char *const n[2] = {"I2C2 SCL", "I2C2 SDA"};
    for (int i = 0; i < 2; i++) {
        uint32_t cm = CNF_MODE(p[i]->port, p[i]->pin);
        if (!is_af_output(cm) || !(cm & 4u)) {
            pin_error(n[i], *p[i], "alternate-function open-drain output");
            ok = false;
        }
    }
    if (!(E.rcc.apb2enr & (1u << (2 + E.pins->scl.port)))) {
        emu_violation("board %s: GPIO%c clock off while I2C2 uses its pins", E.pins->name,
                      'A' + E.pins->scl.port);
        ok = false;
    }
    return ok;
}

bool gpio_spi_pins_ok(void)
{
    bool ok = true;
    bool remap = E.gpio.mapr & 1u;
    if (remap != E.pins->spi_remap) {
        emu_violation("board %s: AFIO_MAPR.SPI1_REMAP = %d, but the W25Q64 is wired to the %s "
                      "pins",
                      E.pins->name, remap, E.pins->spi_remap ? "remapped" : "default");
        ok = false;
    }
    if (E.pins->needs_jtag_off && E.gpio.swj_cfg != 2u && E.gpio.swj_cfg != 4u) {
        emu_violation("board %s: SPI1 pins still belong to JTAG (AFIO_MAPR.SWJ_CFG = %u)",
                      E.pins->name, (unsigned)E.gpio.swj_cfg);
        ok = false;
    }
    const emu_pin_t *out[2] = {&E.pins->sck, &E.pins->mosi};
    static const char *const n[2] = {"SPI1 SCK", "SPI1 MOSI"};
    for (int i = 0; i < 2; i++) {
        uint32_t cm = CNF_MODE(out[i]->port, out[i]->pin);
        if (!is_af_output(cm) || (cm & 4u)) {
            pin_error(n[i], *out[i], "alternate-function push-pull output");
            ok = false;
        }
    }
    uint32_t cm = CNF_MODE(E.pins->miso.port, E.pins->miso.pin);
    if (is_output(cm) || ((cm >> 2) != 1u && (cm >> 2) != 2u)) {
        pin_error("SPI1 MISO", E.pins->miso, "a floating or pulled input");
        ok = false;
    }
    uint32_t cs = CNF_MODE(E.pins->cs.port, E.pins->cs.pin);
    if (!is_output(cs) || (cs & 8u)) {
        pin_error("W25Q64 /CS", E.pins->cs, "a general-purpose output");
        ok = false;
    }
    if ((E.rcc.apb2enr & (1u << (2 + E.pins->sck.port))) == 0 ||
        (E.rcc.apb2enr & (1u << (2 + E.pins->cs.port))) == 0) {
        emu_violation("board %s: a GPIO clock of the SPI pins is off", E.pins->name);
        ok = false;
    }
    return ok;
}

/* ---- IWDG (RM0008 §19.4) ---- */

#define IWDG_T_UPDATE_NS (5ull * 1000000000ull / LSI_HZ) /* PVU/RVU: 5 LSI periods */

static uint64_t iwdg_period_ns(uint32_t pr, uint32_t rlr)
{
    return ((uint64_t)rlr + 1u) * (4ull << pr) * 1000000000ull / LSI_HZ;
}

static void iwdg_reload(uint64_t now)
{
    if (now >= E.iwdg.pr_update_done)
        E.iwdg.pr_eff = E.iwdg.pr;
    if (now >= E.iwdg.rlr_update_done)
        E.iwdg.rlr_eff = E.iwdg.rlr;
    uint64_t old = E.iwdg.expire_ns;
    E.iwdg.reload_ns = now;
    E.iwdg.expire_ns = now + iwdg_period_ns(E.iwdg.pr_eff, E.iwdg.rlr_eff);
    /* A later expiry needs no rescheduling (the main loop reloads on every pass). */
    if (E.iwdg.expire_ns < old)
        emu_kick();
}

void iwdg_update(void)
{
    if (!E.iwdg.running || emu_now() < E.iwdg.expire_ns || E.reset_request)
        return;
    fprintf(stderr, "watchdog reset\n");
    E.stats.watchdog_resets++;
    E.rcc.csr |= RCC_CSR_IWDGRSTF;
    E.iwdg.running = false;
    E.reset_request = true;
    E.reset_cause = "watchdog reset";
    emu_kick();
}

static uint32_t iwdg_read(uint32_t off)
{
    uint64_t now = emu_now();
    switch (off) {
    case 0x04: return E.iwdg.pr;
    case 0x08: return E.iwdg.rlr;
    case 0x0C:
        return (now < E.iwdg.pr_update_done ? 1u : 0u) | (now < E.iwdg.rlr_update_done ? 2u : 0u);
    default: return 0; /* KR is write-only */
    }
}

static void iwdg_write(uint32_t off, uint32_t v)
{
    uint64_t now = emu_now();
    switch (off) {
    case 0x00:
        v &= 0xFFFFu;
        if (v == 0xCCCCu && !E.iwdg.running) {
            E.iwdg.running = true;
            E.iwdg.expire_ns = EMU_NEVER;
            E.rcc.csr |= RCC_CSR_LSION;
            iwdg_reload(now);
        } else if (v == 0xAAAAu) {
            iwdg_reload(now);
        }
        E.iwdg.unlocked = v == 0x5555u;
        break;
    case 0x04:
    case 0x08:
        if (!E.iwdg.unlocked) {
            emu_violation("IWDG_%s written without the 0x5555 key: ignored", off == 4 ? "PR" : "RLR");
            break;
        }
        if (off == 4) {
            E.iwdg.pr = v & 7u;
            E.iwdg.pr_update_done = now + IWDG_T_UPDATE_NS;
        } else {
            E.iwdg.rlr = v & 0xFFFu;
            E.iwdg.rlr_update_done = now + IWDG_T_UPDATE_NS;
        }
        break;
    default:
        break;
    }
}

/* ---- the register map ---- */

typedef struct region {
    uint32_t base;
    const char *name;
    uint8_t bus;     /* 0 always clocked, 1 APB1ENR, 2 APB2ENR */
    uint8_t bit;
    uint8_t kind;
} region_t;

enum { R_IWDG, R_I2C2, R_AFIO, R_GPIO, R_SPI1, R_RCC, R_FLASH, R_PWR, R_USB, R_PMA };

static const region_t regions[] = {
    {0x40005C00u, "USB", 1, 23, R_USB},    {0x40006000u, "USB packet memory", 1, 23, R_PMA},
    {0x40003000u, "IWDG", 0, 0, R_IWDG},   {0x40007000u, "PWR", 1, 28, R_PWR},   {0x40005800u, "I2C2", 1, 22, R_I2C2},
    {0x40010000u, "AFIO", 2, 0, R_AFIO},   {0x40010800u, "GPIOA", 2, 2, R_GPIO},
    {0x40010C00u, "GPIOB", 2, 3, R_GPIO},  {0x40011000u, "GPIOC", 2, 4, R_GPIO},
    {0x40011400u, "GPIOD", 2, 5, R_GPIO},  {0x40011800u, "GPIOE", 2, 6, R_GPIO},
    {0x40013000u, "SPI1", 2, 12, R_SPI1},  {0x40021000u, "RCC", 0, 0, R_RCC},
    {0x40022000u, "FLASH", 0, 0, R_FLASH},
};

static const region_t *find_region(uint32_t addr)
{
    for (size_t i = 0; i < sizeof regions / sizeof regions[0]; i++) {
        if (addr - regions[i].base < 0x400u)
            return &regions[i];
    }
    return NULL;
}

static bool clocked(const region_t *r, uint32_t addr)
{
    uint32_t en = r->bus == 1 ? E.rcc.apb1enr : r->bus == 2 ? E.rcc.apb2enr : 0xFFFFFFFFu;
    if (en & (1u << r->bit))
        return true;
    emu_violation("%s register 0x%08x accessed with its clock off (RCC_APB%uENR bit %u): "
                  "reads 0, writes ignored",
                  r->name, (unsigned)addr, (unsigned)r->bus, (unsigned)r->bit);
    return false;
}

static void unknown(uint32_t addr)
{
    for (unsigned i = 0; i < E.n_unknown; i++) {
        if (E.unknown_reported[i] == addr)
            return;
    }
    if (E.n_unknown < sizeof E.unknown_reported / sizeof E.unknown_reported[0])
        E.unknown_reported[E.n_unknown++] = addr;
    emu_violation("access to unmodelled peripheral register 0x%08x (reads 0, writes ignored)",
                  (unsigned)addr);
}

static uint32_t reg_read(uint32_t addr)
{
    const region_t *r = find_region(addr);
    if (!r) {
        unknown(addr);
        return 0;
    }
    if (!clocked(r, addr))
        return 0;
    uint32_t off = addr - r->base;
    switch (r->kind) {
    case R_IWDG: return iwdg_read(off);
    case R_PWR: return off == 0 ? E.pwr_cr : 0;
    case R_I2C2: return i2c_read(off);
    case R_AFIO: return afio_read(off);
    case R_GPIO: return gpio_read((r->base - 0x40010800u) / 0x400u, off);
    case R_SPI1: return spi_read(off);
    case R_RCC: return rcc_read(off);
    case R_USB: return usb_read(off);
    case R_PMA: return usb_pma_read(off);
    default: return fpec_read(off);
    }
}

static void reg_write(uint32_t addr, uint32_t v, uint32_t mask)
{
    const region_t *r = find_region(addr);
    if (!r) {
        unknown(addr);
        return;
    }
    if (!clocked(r, addr))
        return;
    uint32_t off = addr - r->base;
    switch (r->kind) {
    case R_IWDG: iwdg_write(off, v); break;
    case R_PWR:
        if (off == 0)
            E.pwr_cr = (E.pwr_cr & ~mask) | (v & mask & 0x1FFu);
        break;
    case R_I2C2: i2c_write(off, v, mask); break;
    case R_AFIO: afio_write(off, v, mask); break;
    case R_GPIO: gpio_write((r->base - 0x40010800u) / 0x400u, off, v, mask); break;
    case R_SPI1: spi_write(off, v, mask); break;
    case R_RCC: rcc_write(off, v, mask); break;
    case R_USB: usb_write(off, v, mask); break;
    case R_PMA: usb_pma_write(off, v, mask); break;
    default: fpec_write(off, v, mask); break;
    }
}

/* Sub-word accesses reach the 32-bit register with the other byte lanes masked. */
static uint64_t mmio_read(uc_engine *uc, uint64_t off, unsigned size, void *ud)
{
    (void)uc;
    (void)ud;
    uint32_t addr = EMU_PERIPH_BASE + (uint32_t)off;
    E.cyc += PERIPH_ACCESS_CYCLES;
    /* No re-evaluation here: a read only ever lowers an interrupt request; what it
     * releases (a stretched I2C clock) is rescheduled by the model itself. */
    uint32_t v = reg_read(addr & ~3u) >> (8 * (addr & 3u));
    return size >= 4 ? v : v & ((1u << (8 * size)) - 1u);
}

static void mmio_write(uc_engine *uc, uint64_t off, unsigned size, uint64_t value, void *ud)
{
    (void)uc;
    (void)ud;
    uint32_t addr = EMU_PERIPH_BASE + (uint32_t)off;
    unsigned sh = 8 * (addr & 3u);
    uint32_t mask = (size >= 4 ? 0xFFFFFFFFu : (1u << (8 * size)) - 1u) << sh;
    E.cyc += PERIPH_ACCESS_CYCLES;
    /* The models re-evaluate (emu_kick) when a write can raise an interrupt or move an
     * event; the SPI and GPIO writes of a polled transfer do neither. */
    reg_write(addr & ~3u, (uint32_t)value << sh, mask);
}

uint32_t emu_reg_read(uint32_t addr)
{
    return reg_read(addr & ~3u);
}

void emu_reg_write(uint32_t addr, uint32_t value)
{
    reg_write(addr & ~3u, value, 0xFFFFFFFFu);
}

int emu_map_peripherals(void)
{
    uc_err err = uc_mmio_map(E.uc, EMU_PERIPH_BASE, EMU_PERIPH_SIZE, mmio_read, NULL, mmio_write,
                             NULL);
    if (err != UC_ERR_OK) {
        fprintf(stderr, "flashbridge-emu: unicorn: %s\n", uc_strerror(err));
        return -1;
    }
    return 0;
}

/* ---- all peripherals ---- */

void periph_reset(void)
{
    if (!E.backup_domain_set) {
        /* A battery kept the backup domain of a previous firmware that ran the LSE:
         * LSEON set, PC14/PC15 taken by the oscillator until it is cleared. */
        E.backup_domain_set = true;
        E.rcc.bdcr = 1u | 2u; /* LSEON, LSERDY */
    }
    E.pwr_cr = 0;
    rcc_reset_state();
    bool cs_was_low = E.gpio.cs_low;
    memset(&E.gpio, 0, sizeof E.gpio);
    for (unsigned p = 0; p < 5; p++)
        gpio_port_reset(p);
    if (cs_was_low)
        spi_cs_changed(false); /* the pin floats: the board's pull-up deselects */
    memset(&E.iwdg, 0, sizeof E.iwdg);
    E.iwdg.rlr = E.iwdg.rlr_eff = 0xFFFu;
    E.iwdg.expire_ns = EMU_NEVER;
    fpec_reset();
    spi_reset();
    i2c_reset();
    usb_reset();
    emu_set_hclk(HSI_HZ);
}

void periph_update(void)
{
    rcc_update();
    iwdg_update();
    i2c_update();
    usb_update();
}

uint64_t periph_next_event_ns(void)
{
    uint64_t t = i2c_next_event_ns(), r = rcc_next_event_ns();
    if (r < t)
        t = r;
    if (E.iwdg.running && E.iwdg.expire_ns < t)
        t = E.iwdg.expire_ns;
    uint64_t u = usb_next_event_ns();
    return u < t ? u : t;
}
