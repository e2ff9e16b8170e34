/*
 * Winbond W25Q64JV model: see w25q64_model.h.
 *
 * References are to the W25Q64JV datasheet (Winbond, rev. I, 2017) by section title:
 * "Status Registers" and the description of each instruction.
 *
 * Program, erase and write-status change the array (or the register) when they start
 * and keep BUSY for their duration; the content before the change is kept so that an
 * operation interrupted by a reset or a power loss can be turned into the partial
 * state the datasheet warns about.
 */
#include "w25q64_model.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_file.h"
#include "partial_effect.h"

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull
#define NS_PER_S  1000000000ull

#define W25M_BLOCK32 (32u * 1024u)
#define W25M_BLOCK64 (64u * 1024u)

/* tRST: no instruction is accepted for 30 us after Reset Device (99h). */
#define T_RST_NS  (30u * NS_PER_US)
/* tRES1: Release Power-down (ABh) takes 3 us before the next instruction. */
#define T_RES1_NS (3u * NS_PER_US)
/* tSUS: BUSY clears at most 20 us after Erase/Program Suspend (75h); no suspend may
 * follow a Resume (7Ah) within tSUS ("Erase / Program Suspend (75h)", AC table). The
 * datasheet gives only the maximum, which is used at both timings. */
#define T_SUS_NS  (20u * NS_PER_US)
/* Largest operation that can be suspended: a 64 KiB block erase. */
#define SUSPENDABLE_MAX W25M_BLOCK64

enum opcode {
    CMD_WRITE_SR1 = 0x01,
    CMD_PAGE_PROGRAM = 0x02,
    CMD_READ = 0x03,
    CMD_WRITE_DISABLE = 0x04,
    CMD_READ_SR1 = 0x05,
    CMD_WRITE_ENABLE = 0x06,
    CMD_FAST_READ = 0x0B,
    CMD_WRITE_SR3 = 0x11,
    CMD_READ_SR3 = 0x15,
    CMD_SECTOR_ERASE = 0x20,
    CMD_WRITE_SR2 = 0x31,
    CMD_READ_SR2 = 0x35,
    CMD_BLOCK32_ERASE = 0x52,
    CMD_CHIP_ERASE_60 = 0x60,
    CMD_ENABLE_RESET = 0x66,
    CMD_SUSPEND = 0x75,
    CMD_RESUME = 0x7A,
    CMD_RESET = 0x99,
    CMD_JEDEC_ID = 0x9F,
    CMD_RELEASE_PD = 0xAB,
    CMD_POWER_DOWN = 0xB9,
    CMD_CHIP_ERASE_C7 = 0xC7,
    CMD_BLOCK64_ERASE = 0xD8,
};

/* "Status Registers". BUSY and WEL are derived, not stored in sr[0]. */
#define SR1_BUSY    0x01u
#define SR1_WEL     0x02u
#define SR1_BP_MASK 0x1Cu /* BP2..BP0 */
#define SR1_TB      0x20u
#define SR1_SEC     0x40u
#define SR1_SRP     0x80u
#define SR2_SRL     0x01u
#define SR2_LB_MASK 0x38u /* LB3..LB1: OTP, once 1 they stay 1 */
#define SR2_CMP     0x40u
#define SR2_SUS     0x80u /* volatile, read-only: an erase or program is suspended */
#define SR3_WPS     0x04u
/* Factory state of SR3: output driver strength DRV1,DRV0 = 1,1 (25%). */
#define SR3_FACTORY 0x60u

/* Bits Write Status Register-1/2/3 (01h/31h/11h) may change: SRP SEC TB BP2-0;
 * CMP LB3-1 QE SRL; DRV1 DRV0 WPS. */
static const uint8_t sr_writable[3] = {0xFC, 0x7B, 0x64};

/* JEDEC ID (9Fh): manufacturer EFh, memory type 40h, capacity 17h. The datasheet
 * stops at three bytes; this model repeats them for as long as the clock runs. */
static const uint8_t jedec_id[3] = {0xEF, 0x40, 0x17};
/* Device ID returned by ABh after three dummy bytes, repeated. */
#define DEVICE_ID 0x16u

/* OP_SUSPEND: the tSUS after 75h, BUSY still 1, the suspended operation set apart. */
enum op_kind { OP_NONE, OP_PROGRAM, OP_ERASE, OP_WRITE_STATUS, OP_RESET, OP_SUSPEND };

/* The instruction being clocked in while chip select is low. */
typedef struct spi_cmd {
    bool selected;
    bool ignored;     /* arrived while busy or powered down: no output, no effect */
    bool reset_armed; /* the instruction before this one was Enable Reset (66h) */
    uint8_t opcode;
    uint64_t nbytes;         /* bytes exchanged so far, the instruction included */
    uint8_t arg[3];          /* address bytes, or status register data bytes */
    uint32_t cursor;         /* next array address of a read */
    uint8_t page[W25M_PAGE]; /* page buffer of Page Program, 0xFF where not sent */
} spi_cmd_t;

struct w25m {
    image_file_t img;
    w25m_times_t times;
    powercut_t *pc;
    powercut_t own_rng; /* damage left by a reset when there is no controller */
    bool powered;       /* false between w25m_power_off() and w25m_power_on() */

    uint8_t sr[3]; /* non-volatile status registers; BUSY and WEL kept apart */
    bool wel;
    bool reset_enabled;
    bool powered_down;
    uint64_t wake_at; /* end of tRES1 after a release from power-down */

    /* The operation started last; running while now < busy_until. It progresses from
     * run_from on and needs `remaining` more: busy_until = run_from + remaining. */
    enum op_kind op;
    uint64_t busy_until;
    uint64_t run_from, remaining;
    uint32_t op_addr, op_len, op_first;
    uint8_t *undo; /* content of [op_addr, op_addr + op_len) before the operation */
    uint8_t undo_sr[3];

    /* Erase/Program Suspend: the suspended operation (SUS = 1 while `suspended`). Its
     * region holds a partial state while suspended; resume puts the target back. */
    bool suspended;
    enum op_kind susp_op;
    uint32_t susp_addr, susp_len, susp_first;
    uint64_t susp_remaining;
    uint64_t suspend_ok_at; /* a resume forbids a new suspend for tSUS */
    uint8_t *susp_undo, *susp_target; /* SUSPENDABLE_MAX bytes each */

    spi_cmd_t cmd;

    uint32_t violations;
    uint32_t erase_count[W25M_SECTORS];
    uint64_t total_erases, total_programs;
};

w25m_times_t w25m_times(w25m_timing_t timing)
{
    /* tW has no typical figure in the datasheet; 10 ms is used against a 15 ms max. */
    static const w25m_times_t typical = {
        .page_program = 400 * NS_PER_US,
        .sector_erase = 45 * NS_PER_MS,
        .block32_erase = 120 * NS_PER_MS,
        .block64_erase = 150 * NS_PER_MS,
        .chip_erase = 20 * NS_PER_S,
        .write_status = 10 * NS_PER_MS,
    };
    static const w25m_times_t maximum = {
        .page_program = 3 * NS_PER_MS,
        .sector_erase = 400 * NS_PER_MS,
        .block32_erase = 1600 * NS_PER_MS,
        .block64_erase = 2000 * NS_PER_MS,
        .chip_erase = 100 * NS_PER_S,
        .write_status = 15 * NS_PER_MS,
    };
    return timing == W25M_TIMING_MAX ? maximum : typical;
}

__attribute__((format(printf, 2, 3))) static void violation(w25m_t *m, const char *fmt, ...)
{
    va_list ap;
    m->violations++;
    fputs("w25q64 model: driver error: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static bool unpowered(const w25m_t *m)
{
    return !m->powered || (m->pc != NULL && m->pc->dead);
}

static bool busy_at(const w25m_t *m, uint64_t now)
{
    return m->op != OP_NONE && now < m->busy_until;
}

static bool asleep_at(const w25m_t *m, uint64_t now)
{
    return m->powered_down || now < m->wake_at;
}

static powercut_t *damage_rng(w25m_t *m)
{
    return m->pc != NULL ? m->pc : &m->own_rng;
}

/* 24-bit address; A23 does not exist on a 64 Mbit part and is ignored. */
static uint32_t cmd_address(const spi_cmd_t *c)
{
    uint32_t a = ((uint32_t)c->arg[0] << 16) | ((uint32_t)c->arg[1] << 8) | c->arg[2];
    return a % W25M_SIZE;
}

static uint8_t status_value(const w25m_t *m, unsigned reg, uint64_t now)
{
    /* SUS is set at once by 75h, while BUSY still runs out its tSUS. */
    if (reg == 1)
        return (uint8_t)(m->sr[1] | (m->suspended ? SR2_SUS : 0u));
    if (reg != 0)
        return m->sr[reg];
    uint8_t v = m->sr[0];
    /* WEL stays 1 until a program/erase/write-status cycle completes ("Write Enable (06h)"). */
    if (busy_at(m, now))
        v |= SR1_BUSY | (m->op == OP_RESET || m->op == OP_SUSPEND ? 0u : SR1_WEL);
    else if (m->wel)
        v |= SR1_WEL;
    return v;
}

/* ---- protection ("Status Register Memory Protection" tables) ---- */

/* [*lo, *hi) named by BP2..0, TB and SEC, before CMP: SEC=0 protects 64 KiB << BP
 * (1/64 .. 1/2 of the array), SEC=1 protects 4 KiB << (BP - 1) capped at 32 KiB,
 * BP=111 protects everything; TB picks the bottom instead of the top. */
static void bp_range(const uint8_t sr[3], uint32_t *lo, uint32_t *hi)
{
    unsigned bp = (sr[0] & SR1_BP_MASK) >> 2;
    uint32_t size;
    if (bp == 0)
        size = 0;
    else if (bp == 7)
        size = W25M_SIZE;
    else if (sr[0] & SR1_SEC)
        size = W25M_SECTOR << (bp < 4 ? bp - 1 : 3);
    else
        size = W25M_BLOCK64 << bp;
    *lo = (sr[0] & SR1_TB) ? 0 : W25M_SIZE - size;
    *hi = *lo + size;
}

/* True if any byte of [addr, addr + len) is protected. With WPS=1 the individual block
 * locks rule instead, and they are all set at power-up; the commands that clear them
 * (39h, 98h) are not modelled, so everything stays protected. */
static bool range_protected(const w25m_t *m, uint32_t addr, uint32_t len)
{
    if (m->sr[2] & SR3_WPS)
        return true;
    uint32_t lo, hi;
    bp_range(m->sr, &lo, &hi);
    if (m->sr[1] & SR2_CMP) /* CMP=1: the complement is protected */
        return !(lo <= addr && addr + len <= hi);
    return addr < hi && lo < addr + len;
}

/* ---- operations that run after chip select rises ---- */

/* Every program/erase/write-status needs WEL=1 ("Write Enable (06h)"). */
static bool write_enabled(w25m_t *m, const char *what, uint32_t addr)
{
    if (m->wel)
        return true;
    violation(m, "%s at 0x%06x without Write Enable (06h): ignored", what, addr);
    return false;
}

/* A program or erase also needs its whole target unprotected. */
static bool may_write(w25m_t *m, const char *what, uint32_t addr, uint32_t len)
{
    if (!write_enabled(m, what, addr))
        return false;
    if (range_protected(m, addr, len)) {
        violation(m, "%s at 0x%06x in a write-protected region: ignored", what, addr);
        return false;
    }
    return true;
}

/* Leave the running operation half done (power lost, or reset during BUSY). */
static void interrupt_op(w25m_t *m)
{
    uint8_t *dst = m->img.data + m->op_addr;
    switch (m->op) {
    case OP_PROGRAM:
        pe_interrupt_program(dst, m->undo, m->op_len, m->op_first, damage_rng(m));
        break;
    case OP_ERASE:
        pe_interrupt_erase(dst, m->undo, m->op_len, damage_rng(m));
        break;
    case OP_WRITE_STATUS:
        for (unsigned r = 0; r < 3; r++)
            m->sr[r] = pe_between(m->undo_sr[r], m->sr[r], powercut_rand(damage_rng(m)));
        break;
    default:
        break;
    }
    m->op = OP_NONE;
    m->busy_until = 0;
}

/* The change is already applied; BUSY runs for duration. WEL reads 1 while busy and 0
 * afterwards (status_value). One power-cut step: if power dies now, the operation is
 * left half done. */
static void start_op(w25m_t *m, enum op_kind kind, uint64_t duration, uint64_t now)
{
    m->op = kind;
    m->run_from = now;
    m->remaining = duration;
    m->busy_until = now + duration;
    m->wel = false;
    if (m->pc != NULL && powercut_step(m->pc))
        interrupt_op(m);
}

static void save_region(w25m_t *m, uint32_t addr, uint32_t len)
{
    m->op_addr = addr;
    m->op_len = len;
    memcpy(m->undo, m->img.data + addr, len);
}

/* Page Program (02h): data beyond the end of the page wraps to its start, and when more
 * than 256 bytes are sent the last 256 are kept. Programming only clears bits. */
static void page_program(w25m_t *m, uint64_t now)
{
    const spi_cmd_t *c = &m->cmd;
    uint32_t addr = cmd_address(c);
    uint32_t base = addr - addr % W25M_PAGE;
    uint64_t ndata = c->nbytes - 4;

    if (addr % W25M_PAGE + ndata > W25M_PAGE)
        violation(m, "page program at 0x%06x of %llu bytes wraps within its page", addr,
                  (unsigned long long)ndata);
    /* "Erase / Program Suspend (75h)": programs are not allowed while a program is
     * suspended; during an erase suspend only outside the suspended block (its content
     * is undefined until the erase completes). */
    if (m->suspended && (m->susp_op != OP_ERASE ||
                         (base < m->susp_addr + m->susp_len && m->susp_addr < base + W25M_PAGE))) {
        violation(m, "page program at 0x%06x while %s is suspended: ignored", addr,
                  m->susp_op == OP_ERASE ? "the erase of its block" : "a program");
        return;
    }
    if (!may_write(m, "page program", base, W25M_PAGE))
        return;
    save_region(m, base, W25M_PAGE);
    m->op_first = addr % W25M_PAGE;
    for (uint32_t i = 0; i < W25M_PAGE; i++)
        m->img.data[base + i] &= c->page[i];
    m->total_programs++;
    start_op(m, OP_PROGRAM, m->times.page_program, now);
}

/* Sector/block/chip erase: the block containing the address goes to 0xFF (the low
 * address bits are ignored, as by the chip; an unaligned address is still a driver
 * error). */
static void erase(w25m_t *m, uint32_t size, uint64_t duration, uint64_t now)
{
    uint32_t addr = size == W25M_SIZE ? 0 : cmd_address(&m->cmd);
    uint32_t base = addr - addr % size;

    if (addr != base)
        violation(m, "erase of %u KiB at unaligned 0x%06x (erases 0x%06x)", size / 1024u,
                  addr, base);
    if (m->suspended) {
        violation(m, "erase at 0x%06x while an operation is suspended: ignored", base);
        return;
    }
    if (!may_write(m, "erase", base, size))
        return;
    save_region(m, base, size);
    memset(m->img.data + base, 0xFF, size);
    for (uint32_t s = base / W25M_SECTOR; s < (base + size) / W25M_SECTOR; s++)
        m->erase_count[s]++;
    m->total_erases++;
    start_op(m, OP_ERASE, duration, now);
}

/* "Write Status Register-1/2/3": 01h takes SR1 and optionally SR2; 31h SR2; 11h
 * SR3. Refused while SRL=1 (locked until the next power cycle). */
static void write_status(w25m_t *m, unsigned first_reg, unsigned count, uint64_t now)
{
    if (m->sr[1] & SR2_SRL)
        return;
    if (m->suspended) {
        violation(m, "write status register while an operation is suspended: ignored");
        return;
    }
    if (!write_enabled(m, "write status register", 0))
        return;
    memcpy(m->undo_sr, m->sr, sizeof m->sr);
    for (unsigned k = 0; k < count; k++) {
        unsigned r = first_reg + k;
        m->sr[r] = (uint8_t)((m->sr[r] & ~sr_writable[r]) | (m->cmd.arg[k] & sr_writable[r]));
    }
    m->sr[1] |= m->undo_sr[1] & SR2_LB_MASK;
    start_op(m, OP_WRITE_STATUS, m->times.write_status, now);
}

/* Reset Device (99h): an operation in progress is abandoned half done, WEL clears, and
 * no instruction is taken for tRST. The non-volatile status bits stay. */
static void reset_device(w25m_t *m, uint64_t now)
{
    if (busy_at(m, now))
        interrupt_op(m);
    m->suspended = false; /* a suspended operation is forgotten, its region left partial */
    m->wel = false;
    m->op = OP_RESET;
    m->busy_until = now + T_RST_NS;
}

/* Erase/Program Suspend (75h): accepted only while a sector/block erase or a page
 * program runs and nothing is suspended; ignored otherwise (chip erase, write status,
 * BUSY = 0, SUS = 1), as the datasheet says. BUSY clears after tSUS, SUS reads 1 at
 * once. The operation's region holds a partial state while suspended (reads of it are
 * undefined, and a power cut leaves it so). A suspend within tSUS of a resume breaks the
 * datasheet's rule: counted, and ignored (the erase would otherwise never progress).
 * One power-cut step: a cut while suspended. */
static void suspend(w25m_t *m, uint64_t now)
{
    if (m->suspended || !busy_at(m, now) || (m->op != OP_PROGRAM && m->op != OP_ERASE) ||
        m->op_len > SUSPENDABLE_MAX)
        return;
    if (now < m->suspend_ok_at) {
        violation(m, "suspend %llu ns after a resume (tSUS is %u ns): ignored",
                  (unsigned long long)(now - (m->suspend_ok_at - T_SUS_NS)), (unsigned)T_SUS_NS);
        return;
    }
    uint64_t done = now > m->run_from ? now - m->run_from : 0;
    m->susp_op = m->op;
    m->susp_addr = m->op_addr;
    m->susp_len = m->op_len;
    m->susp_first = m->op_first;
    m->susp_remaining = m->remaining > done ? m->remaining - done : 1;
    memcpy(m->susp_undo, m->undo, m->op_len);
    memcpy(m->susp_target, m->img.data + m->op_addr, m->op_len);
    interrupt_op(m); /* the region as a cut would leave it */
    m->suspended = true;
    m->op = OP_SUSPEND;
    m->busy_until = now + T_SUS_NS;
    if (m->pc != NULL && powercut_step(m->pc)) {
        m->op = OP_NONE;
        m->busy_until = 0;
        m->suspended = false;
    }
}

/* Resume (7Ah): accepted only with SUS = 1 and BUSY = 0 (BUSY = 1 is refused in
 * begin_command). The operation goes on for what it still needed. The datasheet only
 * says no suspend may come within tSUS of a resume so that the erase progresses; the
 * model makes that literal: no progress during the first tSUS after a resume. */
static void resume(w25m_t *m, uint64_t now)
{
    if (!m->suspended)
        return;
    m->suspended = false;
    m->op = m->susp_op;
    m->op_addr = m->susp_addr;
    m->op_len = m->susp_len;
    m->op_first = m->susp_first;
    memcpy(m->undo, m->susp_undo, m->op_len);
    memcpy(m->img.data + m->op_addr, m->susp_target, m->op_len);
    m->remaining = m->susp_remaining;
    m->run_from = now + T_SUS_NS;
    m->busy_until = m->run_from + m->remaining;
    m->suspend_ok_at = now + T_SUS_NS;
}

static void release_power_down(w25m_t *m, uint64_t now)
{
    if (!m->powered_down)
        return;
    m->powered_down = false;
    m->wake_at = now + T_RES1_NS;
}

static uint32_t erase_size(uint8_t opcode)
{
    switch (opcode) {
    case CMD_SECTOR_ERASE:
        return W25M_SECTOR;
    case CMD_BLOCK32_ERASE:
        return W25M_BLOCK32;
    default:
        return W25M_BLOCK64;
    }
}

static uint64_t erase_time(const w25m_t *m, uint8_t opcode)
{
    switch (opcode) {
    case CMD_SECTOR_ERASE:
        return m->times.sector_erase;
    case CMD_BLOCK32_ERASE:
        return m->times.block32_erase;
    default:
        return m->times.block64_erase;
    }
}

/* Chip select rose: instructions that act now do so only if they were sent with exactly
 * their length (a program needs at least one data byte). */
static void end_command(w25m_t *m, uint64_t now)
{
    const spi_cmd_t *c = &m->cmd;
    uint64_t n = c->nbytes;

    if (n == 0 || c->ignored)
        return;
    switch (c->opcode) {
    case CMD_WRITE_ENABLE:
        if (n == 1)
            m->wel = true;
        break;
    case CMD_WRITE_DISABLE:
        if (n == 1)
            m->wel = false;
        break;
    case CMD_POWER_DOWN:
        if (n == 1)
            m->powered_down = true;
        break;
    case CMD_RELEASE_PD:
        release_power_down(m, now);
        break;
    case CMD_ENABLE_RESET:
        if (n == 1)
            m->reset_enabled = true;
        break;
    case CMD_RESET:
        if (n == 1 && c->reset_armed)
            reset_device(m, now);
        break;
    case CMD_SUSPEND:
        if (n == 1)
            suspend(m, now);
        break;
    case CMD_RESUME:
        if (n == 1)
            resume(m, now);
        break;
    case CMD_PAGE_PROGRAM:
        if (n > 4)
            page_program(m, now);
        break;
    case CMD_SECTOR_ERASE:
    case CMD_BLOCK32_ERASE:
    case CMD_BLOCK64_ERASE:
        if (n == 4)
            erase(m, erase_size(c->opcode), erase_time(m, c->opcode), now);
        break;
    case CMD_CHIP_ERASE_C7:
    case CMD_CHIP_ERASE_60:
        if (n == 1)
            erase(m, W25M_SIZE, m->times.chip_erase, now);
        break;
    case CMD_WRITE_SR1:
        if (n == 2 || n == 3)
            write_status(m, 0, (unsigned)n - 1, now);
        break;
    case CMD_WRITE_SR2:
    case CMD_WRITE_SR3:
        if (n == 2)
            write_status(m, c->opcode == CMD_WRITE_SR2 ? 1 : 2, 1, now);
        break;
    default:
        break;
    }
}

/* ---- bytes on the bus ---- */

static bool is_status_read(uint8_t opcode)
{
    return opcode == CMD_READ_SR1 || opcode == CMD_READ_SR2 || opcode == CMD_READ_SR3;
}

static bool is_reset(uint8_t opcode)
{
    return opcode == CMD_ENABLE_RESET || opcode == CMD_RESET;
}

/* The instruction byte. While BUSY only the status reads and Suspend are accepted (and
 * the reset pair, which aborts the operation); in power-down only ABh ("Power-down
 * (B9h)"). Any instruction other than 99h cancels a preceding 66h. */
static void begin_command(w25m_t *m, uint8_t opcode, uint64_t now)
{
    spi_cmd_t *c = &m->cmd;
    c->opcode = opcode;
    c->reset_armed = m->reset_enabled;
    m->reset_enabled = false;
    if (asleep_at(m, now)) {
        c->ignored = opcode != CMD_RELEASE_PD;
    } else if (busy_at(m, now) && !is_status_read(opcode) &&
               !(opcode == CMD_SUSPEND && m->op != OP_SUSPEND && m->op != OP_RESET)) {
        violation(m, "instruction %02Xh while busy until %llu ns (now %llu)%s", opcode,
                  (unsigned long long)m->busy_until, (unsigned long long)now,
                  is_reset(opcode) ? ": running operation will be aborted" : ": ignored");
        c->ignored = !is_reset(opcode);
    }
}

/* Read Data (03h) and Fast Read (0Bh): data from byte first_data on, the address
 * incrementing and wrapping from the end of the array to 0. */
static uint8_t read_byte(w25m_t *m, uint64_t i, uint64_t first_data)
{
    spi_cmd_t *c = &m->cmd;
    if (i < first_data)
        return 0xFF;
    if (i == first_data)
        c->cursor = cmd_address(c);
    uint8_t v = m->img.data[c->cursor];
    c->cursor = (c->cursor + 1) % W25M_SIZE;
    return v;
}

/* Byte i (1-based after the instruction) of an accepted instruction. */
static uint8_t command_byte(w25m_t *m, uint64_t i, uint8_t mosi, uint64_t now)
{
    spi_cmd_t *c = &m->cmd;
    if (i <= 3)
        c->arg[i - 1] = mosi;
    switch (c->opcode) {
    case CMD_READ_SR1:
        return status_value(m, 0, now);
    case CMD_READ_SR2:
        return status_value(m, 1, now);
    case CMD_READ_SR3:
        return status_value(m, 2, now);
    case CMD_JEDEC_ID:
        return jedec_id[(i - 1) % 3];
    case CMD_RELEASE_PD:
        return i > 3 ? DEVICE_ID : 0xFF;
    case CMD_READ:
        return read_byte(m, i, 4);
    case CMD_FAST_READ:
        return read_byte(m, i, 5);
    case CMD_PAGE_PROGRAM:
        if (i >= 4)
            c->page[(c->arg[2] + i - 4) % W25M_PAGE] = mosi;
        return 0xFF;
    default:
        return 0xFF;
    }
}

void w25m_select(w25m_t *m, bool low, uint64_t now_ns)
{
    spi_cmd_t *c = &m->cmd;
    if (unpowered(m)) {
        c->selected = false;
        return;
    }
    if (low && !c->selected) {
        memset(c, 0, sizeof *c);
        memset(c->page, 0xFF, sizeof c->page);
        c->selected = true;
    } else if (!low && c->selected) {
        c->selected = false;
        end_command(m, now_ns);
    }
}

uint8_t w25m_xfer(w25m_t *m, uint8_t mosi, uint64_t now_ns)
{
    spi_cmd_t *c = &m->cmd;
    if (unpowered(m) || !c->selected)
        return 0xFF;
    uint64_t i = c->nbytes++;
    if (i == 0) {
        begin_command(m, mosi, now_ns);
        return 0xFF;
    }
    return c->ignored ? 0xFF : command_byte(m, i, mosi, now_ns);
}

/* ---- life cycle and inspection ---- */

w25m_t *w25m_create(const char *image_path, w25m_timing_t timing, powercut_t *pc)
{
    w25m_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->undo = malloc(W25M_SIZE);
    m->susp_undo = malloc(SUSPENDABLE_MAX);
    m->susp_target = malloc(SUSPENDABLE_MAX);
    if (m->undo == NULL || m->susp_undo == NULL || m->susp_target == NULL ||
        image_open(&m->img, image_path, W25M_SIZE) != 0) {
        int err = errno;
        free(m->undo);
        free(m->susp_undo);
        free(m->susp_target);
        free(m);
        errno = err;
        return NULL;
    }
    m->times = w25m_times(timing);
    m->pc = pc;
    powercut_init(&m->own_rng, 0, 0);
    m->sr[2] = SR3_FACTORY;
    w25m_power_on(m);
    return m;
}

void w25m_destroy(w25m_t *m)
{
    if (m == NULL)
        return;
    image_close(&m->img);
    free(m->undo);
    free(m->susp_undo);
    free(m->susp_target);
    free(m);
}

bool w25m_busy(const w25m_t *m, uint64_t now_ns)
{
    return !unpowered(m) && busy_at(m, now_ns);
}

uint64_t w25m_busy_until(const w25m_t *m)
{
    return m->busy_until;
}

void w25m_power_off(w25m_t *m, uint64_t now_ns)
{
    if (busy_at(m, now_ns))
        interrupt_op(m);
    m->powered = false;
    m->cmd.selected = false;
}

void w25m_power_on(w25m_t *m)
{
    m->powered = true;
    m->op = OP_NONE;
    m->busy_until = 0;
    /* A suspend does not survive power loss: SUS reads 0, the region stays partial. */
    m->suspended = false;
    m->suspend_ok_at = 0;
    m->wel = false;
    m->reset_enabled = false;
    m->powered_down = false;
    m->wake_at = 0;
    memset(&m->cmd, 0, sizeof m->cmd);
    /* SRL=1 locks the status registers only until the next power cycle ("Status Registers", SRL). */
    m->sr[1] &= (uint8_t)~SR2_SRL;
}

void w25m_wipe(w25m_t *m)
{
    static const uint8_t erased[W25M_SECTOR] = {[0 ... W25M_SECTOR - 1] = 0xFF};
    /* Only sectors that are not blank are rewritten: a fixture for runs that start from
     * a new device many times a second (the fuzzer). */
    for (uint32_t a = 0; a < W25M_SIZE; a += W25M_SECTOR)
        if (memcmp(m->img.data + a, erased, W25M_SECTOR) != 0)
            memcpy(m->img.data + a, erased, W25M_SECTOR);
    memset(m->sr, 0, sizeof m->sr);
    m->sr[2] = SR3_FACTORY;
    memset(m->erase_count, 0, sizeof m->erase_count);
    m->total_erases = m->total_programs = 0;
    m->violations = 0;
    w25m_power_on(m);
}

void w25m_load(w25m_t *m, const uint8_t *image)
{
    for (uint32_t a = 0; a < W25M_SIZE; a += W25M_SECTOR)
        if (memcmp(m->img.data + a, image + a, W25M_SECTOR) != 0)
            memcpy(m->img.data + a, image + a, W25M_SECTOR);
    w25m_power_on(m);
}

const uint8_t *w25m_array(const w25m_t *m)
{
    return m->img.data;
}

uint32_t w25m_erase_count(const w25m_t *m, uint32_t sector)
{
    return sector < W25M_SECTORS ? m->erase_count[sector] : 0;
}

uint64_t w25m_total_erases(const w25m_t *m)
{
    return m->total_erases;
}

uint64_t w25m_total_programs(const w25m_t *m)
{
    return m->total_programs;
}

uint32_t w25m_violations(const w25m_t *m)
{
    return m->violations;
}

int w25m_sync(w25m_t *m)
{
    return image_sync(&m->img);
}
