/*
 * The internal flash: its memory window, the FLASH interface registers (FPEC, RM0008
 * §3.3.3, PM0075 §3/§4) over models/f1flash_model.h, and the stall detector.
 *
 * Unicorn executes and reads the flash from E.flash_mem, a copy of the model's array
 * kept in step after every model operation (the model's array is the truth; it already
 * holds the result of an operation still BUSY). The window is mapped read-only, so a CPU
 * store into it reaches hook_write: with FLASH_CR.PG set and a half-word, that is a
 * program operation for the model. Unicorn still lands the stored bytes in E.flash_mem;
 * they are replaced with the model's content before the next instruction (E.fl.fixup).
 *
 * Stall detector: while the flash programs or erases, the CPU cannot fetch or read from
 * it (PM0075 §2.3). Any instruction fetched or data read from 0x08000000-0x0801FFFF or its
 * alias at 0 during that time is a stall: counted, reported with the ELF symbol of the
 * code that did it, and the CPU waits for the end of the operation: nothing executes
 * meanwhile, interrupts included, while the bus and the peripherals go on (the
 * controller sees SCL stretched for as long as the handler cannot run).
 */
#include <stdio.h>
#include <string.h>

#include "emu_internal.h"

#define SR_BSY (1u << 0)
#define SR_PGERR (1u << 2)
#define SR_WRPRTERR (1u << 4)
#define SR_EOP (1u << 5)
#define CR_PG (1u << 0)
#define CR_PER (1u << 1)
#define CR_MER (1u << 2)
#define CR_STRT (1u << 6)
#define CR_LOCK (1u << 7)
#define ACR_PRFTBE (1u << 4)
#define ACR_PRFTBS (1u << 5)

uint32_t flash_latency(void)
{
    return E.fl.acr & 7u;
}

void flash_sync_all(void)
{
    memcpy(E.flash_mem, f1m_array(E.f1), EMU_FLASH_SIZE);
    memset(E.flash_mem + EMU_FLASH_SIZE, 0xFF, EMU_FLASH_WINDOW - EMU_FLASH_SIZE);
}

static void sync_range(uint32_t off, uint32_t len)
{
    if (off >= EMU_FLASH_SIZE)
        return;
    if (len > EMU_FLASH_SIZE - off)
        len = EMU_FLASH_SIZE - off;
    memcpy(E.flash_mem + off, f1m_array(E.f1) + off, len);
}

void flash_fixup(void)
{
    E.fl.fixup = false;
    uint32_t off = E.fl.fixup_off, len = E.fl.fixup_len;
    if (off < EMU_FLASH_SIZE) {
        sync_range(off, len);
    } else if (off < EMU_FLASH_WINDOW) {
        if (len > EMU_FLASH_WINDOW - off)
            len = EMU_FLASH_WINDOW - off;
        memset(E.flash_mem + off, 0xFF, len);
    }
}

void fpec_reset(void)
{
    E.fl.acr = ACR_PRFTBE | ACR_PRFTBS; /* reset value 0x30 */
    E.fl.cr = CR_LOCK;
    E.fl.ar = 0;
    E.fl.sr = 0;
    E.fl.op_running = false;
    E.fl.busy_until_ns = 0;
    E.fl.busy_until_cyc = 0;
    if (E.f1)
        f1m_reset(E.f1);
}

static void fpec_update(void)
{
    if (E.fl.op_running && emu_now() >= E.fl.busy_until_ns) {
        E.fl.op_running = false;
        E.fl.sr |= SR_EOP;
    }
}

/* An operation the model accepted: BSY until it ends. */
static void op_started(const char *what)
{
    uint64_t now = emu_now();
    E.fl.op_running = true;
    E.fl.op = what;
    E.fl.busy_until_ns = f1m_busy_until(E.f1);
    E.fl.busy_until_cyc = emu_ns_to_cyc(E.fl.busy_until_ns);
    E.stats.flash_ops++;
    E.stats.flash_busy_ns += E.fl.busy_until_ns > now ? E.fl.busy_until_ns - now : 0;
}

static void model_result(int rc, const char *what, uint32_t addr)
{
    switch (rc) {
    case F1M_OK:
        op_started(what);
        break;
    case F1M_PGERR:
        E.fl.sr |= SR_PGERR;
        break;
    case F1M_WRPRTERR:
        E.fl.sr |= SR_WRPRTERR;
        break;
    case F1M_EBUSY:
        emu_violation("flash %s at 0x%08x started while BSY", what, (unsigned)addr);
        break;
    case F1M_EALIGN:
        emu_violation("flash %s at 0x%08x: address outside the array or odd", what, (unsigned)addr);
        break;
    default: /* F1M_EDEAD: power is gone; the board handles it */
        break;
    }
    if (E.pc && E.pc->dead)
        emu_kick();
}

uint32_t fpec_read(uint32_t off)
{
    fpec_update();
    switch (off) {
    case 0x00: {
        uint32_t v = E.fl.acr & ~ACR_PRFTBS;
        return v | ((v & ACR_PRFTBE) ? ACR_PRFTBS : 0u);
    }
    case 0x0C: return E.fl.sr | (flash_busy_now() ? SR_BSY : 0u);
    case 0x10: {
        uint32_t v = E.fl.cr & ~(CR_LOCK | CR_STRT);
        if (f1m_locked(E.f1))
            v |= CR_LOCK;
        if (flash_busy_now() && E.fl.op && strcmp(E.fl.op, "page erase") == 0)
            v |= CR_STRT; /* reset by hardware when BSY clears */
        return v;
    }
    case 0x14: return E.fl.ar;
    case 0x1C: return 0x03FFFFFCu; /* OBR: no read protection, option bytes erased */
    case 0x20: return 0xFFFFFFFFu; /* WRPR: nothing write-protected */
    default: return 0;
    }
}

static void start_erase(void)
{
    uint64_t now = emu_now();
    if (E.fl.cr & CR_PG) {
        emu_violation("FLASH_CR.STRT with PG still set: the erase does not start (clear PG after "
                      "programming)");
        return;
    }
    if (E.fl.cr & CR_MER) {
        emu_violation("mass erase requested: it would erase the firmware (not modelled)");
        return;
    }
    if (!(E.fl.cr & CR_PER)) {
        emu_violation("FLASH_CR.STRT without PER or MER");
        return;
    }
    if (!rcc_hsi_on()) {
        emu_violation("flash erase with the HSI off (PM0075: HSI must be on to program/erase)");
        return;
    }
    uint32_t a = E.fl.ar, offset = in_flash(a) ? (a >= EMU_FLASH_BASE ? a - EMU_FLASH_BASE : a) : ~0u;
    if (offset == ~0u || offset >= EMU_FLASH_SIZE) {
        emu_violation("page erase of 0x%08x (FLASH_AR) outside the flash", (unsigned)a);
        return;
    }
    if (offset < EMU_CONFIG_BASE || offset >= EMU_CONFIG_BASE + 0x1000u)
        emu_violation("page erase of 0x%08x: outside the config region (firmware image, "
                      "or the STeaMi's DAPLink pages)", (unsigned)a);
    model_result(f1m_erase_page(E.f1, offset, now), "page erase", a);
    sync_range(offset - offset % F1M_PAGE, F1M_PAGE);
}

void fpec_write(uint32_t off, uint32_t v, uint32_t mask)
{
    fpec_update();
    v &= mask;
    switch (off) {
    case 0x00:
        E.fl.acr = (E.fl.acr & ~mask) | (v & 0x1Fu);
        break;
    case 0x04:
        f1m_write_key(E.f1, v);
        break;
    case 0x0C: /* EOP, PGERR, WRPRTERR: write 1 to clear */
        E.fl.sr &= ~(v & (SR_EOP | SR_PGERR | SR_WRPRTERR));
        break;
    case 0x10: {
        if (f1m_locked(E.f1)) {
            if ((v & ~CR_LOCK) != 0)
                emu_violation("FLASH_CR written while locked: ignored");
            break;
        }
        if (flash_busy_now())
            emu_violation("FLASH_CR written while BSY");
        uint32_t nv = (E.fl.cr & ~mask) | (v & 0x1677u);
        E.fl.cr = nv & ~(CR_STRT | CR_LOCK);
        if (v & CR_STRT)
            start_erase();
        if (v & CR_LOCK)
            f1m_lock(E.f1);
        break;
    }
    case 0x14:
        E.fl.ar = (E.fl.ar & ~mask) | v;
        break;
    default:
        break;
    }
}

/* ---- stalls ---- */

void flash_stall_report(uint32_t addr, const char *kind)
{
    uint64_t now = emu_now(), until = E.fl.busy_until_ns;
    if (until <= now)
        return;
    char where[64], site[64];
    /* Named after the code that reads or writes, or after what is fetched (an
     * instruction, a vector); one site per function and kind. */
    uint32_t who = (kind[0] == 'd' || kind[0] == 'w') ? E.cur_pc : addr;
    emu_where(who, where, sizeof where);
    const emu_sym_t *s = emu_elf_lookup(&E.elf, who);
    snprintf(site, sizeof site, "%.40s (%.20s)", s ? s->name : where, kind);
    E.stats.stalls++;
    E.stats.stall_ns += until - now;
    unsigned i = 0;
    for (; i < E.stats.n_stall_sites; i++) {
        if (strcmp(E.stats.stall_site[i].where, site) == 0)
            break;
    }
    if (i == E.stats.n_stall_sites && i < EMU_STALL_SITES) {
        snprintf(E.stats.stall_site[i].where, sizeof E.stats.stall_site[i].where, "%s", site);
        E.stats.n_stall_sites++;
        fprintf(stderr,
                "flashbridge-emu: STALL: %s of 0x%08x at %s while the flash is busy (%s): the "
                "CPU waits %.1f us\n",
                kind, (unsigned)addr, where, E.fl.op ? E.fl.op : "?", (double)(until - now) / 1e3);
    }
    if (i < EMU_STALL_SITES)
        E.stats.stall_site[i].n++;
}

/* ---- hooks on the flash window ---- */

static void hook_read(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t v, void *ud)
{
    (void)uc;
    (void)type;
    (void)size;
    (void)v;
    (void)ud;
    E.cyc += flash_latency(); /* wait states: the prefetch buffer does not help data */
    if (flash_busy_now()) {
        flash_stall_report((uint32_t)addr, "data read");
        emu_wait_in_place(E.fl.busy_until_cyc);
    }
}

static bool hook_write(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                       void *ud)
{
    (void)uc;
    (void)type;
    (void)ud;
    uint32_t a = (uint32_t)addr, off = a >= EMU_FLASH_BASE ? a - EMU_FLASH_BASE : a;
    /* Unicorn writes the bytes after this returns: restore the model's before the next
     * instruction (widening the range if one instruction stores twice). */
    if (E.fl.fixup) {
        uint32_t lo = E.fl.fixup_off < off ? E.fl.fixup_off : off;
        uint32_t hi = E.fl.fixup_off + E.fl.fixup_len > off + (uint32_t)size
                          ? E.fl.fixup_off + E.fl.fixup_len
                          : off + (uint32_t)size;
        E.fl.fixup_off = lo;
        E.fl.fixup_len = hi - lo;
    } else {
        E.fl.fixup = true;
        E.fl.fixup_off = off;
        E.fl.fixup_len = (uint32_t)size;
    }
    if (flash_busy_now()) {
        flash_stall_report(a, "write");
        emu_wait_in_place(E.fl.busy_until_cyc);
    }
    fpec_update();
    if (!(E.fl.cr & CR_PG) || f1m_locked(E.f1)) {
        emu_violation("store to flash 0x%08x without FLASH_CR.PG (unlocked): ignored", (unsigned)a);
        return true;
    }
    if (size != 2) {
        emu_violation("%d-byte store to flash 0x%08x: only half-words program (PGERR)", size,
                      (unsigned)a);
        E.fl.sr |= SR_PGERR;
        return true;
    }
    if (!rcc_hsi_on()) {
        emu_violation("flash programming with the HSI off");
        return true;
    }
    if (off < EMU_CONFIG_BASE || off >= EMU_CONFIG_BASE + 0x1000u)
        emu_violation("flash programming at 0x%08x: outside the config region (firmware "
                      "image, or the STeaMi's DAPLink pages)", (unsigned)a);
    model_result(f1m_program(E.f1, off, (uint16_t)value, emu_now()), "program", a);
    return true;
}

int flash_hooks_install(void)
{
    uc_hook h;
    uc_err err = uc_hook_add(E.uc, &h, UC_HOOK_MEM_READ, (void *)hook_read, NULL, EMU_FLASH_BASE,
                             EMU_FLASH_BASE + EMU_FLASH_WINDOW - 1u);
    if (err == UC_ERR_OK)
        err = uc_hook_add(E.uc, &h, UC_HOOK_MEM_READ, (void *)hook_read, NULL, 0,
                          EMU_FLASH_WINDOW - 1u);
    if (err == UC_ERR_OK)
        err = uc_hook_add(E.uc, &h, UC_HOOK_MEM_WRITE_PROT, (void *)hook_write, NULL,
                          EMU_FLASH_BASE, EMU_FLASH_BASE + EMU_FLASH_WINDOW - 1u);
    if (err == UC_ERR_OK)
        err = uc_hook_add(E.uc, &h, UC_HOOK_MEM_WRITE_PROT, (void *)hook_write, NULL, 0,
                          EMU_FLASH_WINDOW - 1u);
    if (err != UC_ERR_OK) {
        fprintf(stderr, "flashbridge-emu: unicorn: %s\n", uc_strerror(err));
        return -1;
    }
    return 0;
}
