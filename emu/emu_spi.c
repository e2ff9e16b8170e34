/*
 * SPI1 as master (RM0008 §25.3.3, registers §25.5) with the W25Q64JV model behind the
 * board's chip select pin.
 *
 * One byte takes 8 SPI clocks of PCLK2 / 2^(BR+1). The transmit buffer feeds the shift
 * register: a byte written while the shifter is idle starts at once (TXE sets again),
 * a second one waits in the buffer (TXE = 0) and starts when the first ends. When a
 * byte ends, MISO's byte goes to the receive buffer (RXNE; OVR if the previous one was
 * not read) and the flash model sees the exchange at that instant. Evaluated lazily at
 * each register access or chip select change.
 */
#include <stdio.h>
#include <string.h>

#include "emu_internal.h"
#include "emu_vcd.h"

#define CR1_CPHA (1u << 0)
#define CR1_CPOL (1u << 1)
#define CR1_MSTR (1u << 2)
#define CR1_SPE (1u << 6)
#define CR1_LSBFIRST (1u << 7)
#define CR1_SSI (1u << 8)
#define CR1_SSM (1u << 9)
#define CR1_RXONLY (1u << 10)
#define CR1_DFF (1u << 11)
#define CR1_BIDIMODE (1u << 15)
#define CR2_ERRIE (1u << 5)
#define CR2_RXNEIE (1u << 6)
#define CR2_TXEIE (1u << 7)
#define SR_RXNE (1u << 0)
#define SR_TXE (1u << 1)
#define SR_MODF (1u << 5)
#define SR_OVR (1u << 6)
#define SR_BSY (1u << 7)

#define SPI_MAX_HZ 18000000u /* STM32F103 datasheet: SPI master up to 18 MHz */

static uint64_t byte_cycles(void)
{
    uint32_t div = 2u << ((E.spi.cr1 >> 3) & 7u);
    uint32_t per_pclk = E.rcc.pclk2 ? E.rcc.hclk / E.rcc.pclk2 : 1u;
    return 8ull * div * (per_pclk ? per_pclk : 1u);
}

/* The configuration the W25Q64 needs: master, mode 0 or 3, MSB first, 8-bit frames. */
static bool config_ok(void)
{
    uint32_t c = E.spi.cr1;
    bool ok = true;
    if (!(c & CR1_MSTR) || (c & (CR1_BIDIMODE | CR1_RXONLY))) {
        emu_violation("SPI1_CR1 = 0x%04x: not a full-duplex master", (unsigned)c);
        ok = false;
    }
    if (((c & CR1_CPOL) != 0) != ((c & CR1_CPHA) != 0)) {
        emu_violation("SPI1 in mode %u: the W25Q64 supports modes 0 and 3 only",
                      (unsigned)(c & 3u));
        ok = false;
    }
    if (c & (CR1_LSBFIRST | CR1_DFF)) {
        emu_violation("SPI1 LSB first or 16-bit frames: the W25Q64 needs MSB-first bytes");
        ok = false;
    }
    uint32_t hz = E.rcc.pclk2 / (2u << ((c >> 3) & 7u));
    if (hz > SPI_MAX_HZ)
        emu_violation("SPI1 clock %u Hz above the 18 MHz maximum", (unsigned)hz);
    return ok;
}

static void trace_byte(uint64_t start_cyc, uint64_t end_cyc, uint8_t mosi, uint8_t miso)
{
    if (!vcd_enabled())
        return;
    uint64_t s = emu_cyc_to_ns(start_cyc), e = emu_cyc_to_ns(end_cyc);
    uint64_t bit = (e - s) / 8u;
    if (bit < 2)
        bit = 2;
    for (int i = 0; i < 8; i++) {
        uint64_t b = s + (uint64_t)i * bit;
        vcd_edge(b, VCD_MOSI, (mosi >> (7 - i)) & 1u);
        vcd_edge(b, VCD_MISO, (miso >> (7 - i)) & 1u);
        vcd_edge(b + bit / 2u, VCD_SCK, 1); /* mode 0: sampled on the rising edge */
        vcd_edge(b + bit, VCD_SCK, 0);
    }
}

static void complete_byte(void)
{
    uint64_t t = emu_cyc_to_ns(E.spi.shift_end);
    uint8_t miso = 0xFF;
    /* Pins and mode are checked on every byte, selected or not: a firmware built for the
     * other board drives pins the W25Q64 is not on, and must not pass silently. */
    bool wired = gpio_spi_pins_ok();
    if (config_ok() && wired && E.gpio.cs_low)
        miso = w25m_xfer(E.w25, E.spi.shift, t);
    trace_byte(E.spi.shift_start, E.spi.shift_end, E.spi.shift, miso);
    E.stats.spi_bytes++;
    if (E.spi.rx_full)
        E.spi.ovr = true; /* the unread byte stays; this one is lost */
    else
        E.spi.rx = miso;
    E.spi.rx_full = true;
    if (E.spi.tx_full) {
        E.spi.shift = E.spi.tx;
        E.spi.tx_full = false;
        E.spi.shift_start = E.spi.shift_end;
        E.spi.shift_end += byte_cycles();
    } else {
        E.spi.shifting = false;
    }
}

static void spi_update(void)
{
    while (E.spi.shifting && E.cyc >= E.spi.shift_end)
        complete_byte();
}

bool spi_irq_level(void)
{
    spi_update();
    uint32_t c2 = E.spi.cr2;
    return ((c2 & CR2_TXEIE) && !E.spi.tx_full) || ((c2 & CR2_RXNEIE) && E.spi.rx_full) ||
           ((c2 & CR2_ERRIE) && (E.spi.ovr || E.spi.modf));
}

void spi_reset(void)
{
    memset(&E.spi, 0, sizeof E.spi);
}

uint32_t spi_read(uint32_t off)
{
    spi_update();
    switch (off) {
    case 0x00: return E.spi.cr1;
    case 0x04: return E.spi.cr2;
    case 0x08: {
        uint32_t v = (E.spi.tx_full ? 0u : SR_TXE) | (E.spi.rx_full ? SR_RXNE : 0u);
        if (E.spi.shifting || E.spi.tx_full)
            v |= SR_BSY;
        if (E.spi.ovr)
            v |= SR_OVR;
        if (E.spi.modf)
            v |= SR_MODF;
        return v;
    }
    case 0x0C: {
        uint8_t v = E.spi.rx;
        E.spi.rx_full = false;
        E.spi.ovr = false; /* OVR clears on DR then SR read: close enough for a poll loop */
        return v;
    }
    case 0x10: return E.spi.crcpr;
    case 0x1C: return E.spi.i2scfgr;
    default: return 0;
    }
}

void spi_write(uint32_t off, uint32_t v, uint32_t mask)
{
    spi_update();
    switch (off) {
    case 0x00: {
        uint32_t nv = ((E.spi.cr1 & ~mask) | (v & mask)) & 0xFFFFu;
        if ((E.spi.cr1 & CR1_SPE) && !(nv & CR1_SPE) && (E.spi.shifting || E.spi.tx_full))
            emu_violation("SPI1 disabled (SPE = 0) while busy: the byte in flight is cut");
        /* Master with software NSS at 0: mode fault, the peripheral drops out of master
         * mode (RM0008 §25.3.10). */
        if ((nv & CR1_SPE) && (nv & CR1_MSTR) && (nv & CR1_SSM) && !(nv & CR1_SSI)) {
            E.spi.modf = true;
            nv &= ~(CR1_SPE | CR1_MSTR);
            emu_violation("SPI1 mode fault: SSM = 1 with SSI = 0 in master mode");
        }
        E.spi.cr1 = nv;
        if (nv & CR1_SPE)
            (void)config_ok();
        break;
    }
    case 0x04:
        E.spi.cr2 = ((E.spi.cr2 & ~mask) | (v & mask)) & 0xE7u;
        break;
    case 0x0C:
        if (!(E.spi.cr1 & CR1_SPE)) {
            emu_violation("SPI1_DR written with SPE = 0: nothing is sent");
            break;
        }
        if (E.spi.tx_full)
            emu_violation("SPI1_DR written with TXE = 0: the waiting byte is overwritten");
        E.spi.tx = (uint8_t)v;
        E.spi.tx_full = true;
        if (!E.spi.shifting) {
            E.spi.shift = E.spi.tx;
            E.spi.tx_full = false;
            E.spi.shifting = true;
            E.spi.shift_start = E.cyc;
            E.spi.shift_end = E.cyc + byte_cycles();
        }
        break;
    case 0x10:
        E.spi.crcpr = v & mask & 0xFFFFu;
        break;
    case 0x1C:
        E.spi.i2scfgr = v & mask;
        break;
    default:
        break;
    }
    if (E.spi.cr2 & (CR2_TXEIE | CR2_RXNEIE | CR2_ERRIE))
        emu_kick(); /* the SPI1 interrupt line may have risen */
}

void spi_cs_changed(bool low)
{
    spi_update();
    uint64_t now = emu_now();
    if (E.spi.shifting || E.spi.tx_full)
        emu_violation("W25Q64 chip select %s while SPI1 is busy: the byte in flight is cut",
                      low ? "asserted" : "released");
    vcd_edge(now, VCD_CS, !low);
    if (E.w25)
        w25m_select(E.w25, low, now);
    if (E.pc && E.pc->dead)
        emu_kick(); /* releasing chip select started the step a power cut was armed for */
}
