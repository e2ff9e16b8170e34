/*
 * STM32F103 internal flash (FPEC) model: see f1flash_model.h.
 *
 * References, by section title (numbers differ between revisions): PM0075 (STM32F10xxx
 * Flash memory programming manual) "Unlocking the Flash memory", "Main Flash memory
 * programming", "Flash memory erase"; RM0008 section 3.3 (embedded Flash memory);
 * STM32F103x8/xB datasheet, table "Flash memory characteristics".
 *
 * As in the W25Q64 model, an operation changes the array when it starts and the old
 * content is kept until the next one, so that a power loss during it can leave it half
 * done.
 */
#include "f1flash_model.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image_file.h"
#include "partial_effect.h"

/* FLASH_KEYR unlock keys (PM0075 "Unlocking the Flash memory"). */
#define F1M_KEY1 0x45670123u
#define F1M_KEY2 0xCDEF89ABu

#define NS_PER_US 1000ull
#define NS_PER_MS 1000000ull

/* tPROG typ 52.5 us, max 70 us; tERASE 20..40 ms (midpoint 30 ms used as typical). */
#define T_PROG_TYP_NS  52500ull
#define T_PROG_MAX_NS  (70u * NS_PER_US)
#define T_ERASE_TYP_NS (30u * NS_PER_MS)
#define T_ERASE_MAX_NS (40u * NS_PER_MS)

enum key_state {
    KEYS_LOCKED,   /* waiting for KEY1 */
    KEYS_HALF,     /* KEY1 seen, waiting for KEY2 */
    KEYS_UNLOCKED, /* FLASH_CR writable */
    KEYS_JAMMED,   /* wrong sequence: locked until reset */
};

enum op_kind { OP_NONE, OP_PROGRAM, OP_ERASE };

struct f1m {
    image_file_t img;
    uint32_t size;
    uint64_t prog_ns, erase_ns;
    powercut_t *pc;
    powercut_t own_rng; /* damage left by f1m_power_off() when there is no controller */
    bool powered;       /* false between f1m_power_off() and f1m_reset() */
    enum key_state keys;

    /* The operation started last; running while now < busy_until. */
    enum op_kind op;
    uint64_t busy_until;
    uint32_t op_addr, op_len;
    uint8_t undo[F1M_PAGE]; /* [op_addr, op_addr + op_len) before the operation */

    uint32_t *erase_counts; /* per page */
    uint32_t violations;
};

static bool unpowered(const f1m_t *m)
{
    return !m->powered || (m->pc != NULL && m->pc->dead);
}

static bool busy_at(const f1m_t *m, uint64_t now)
{
    return m->op != OP_NONE && now < m->busy_until;
}

static powercut_t *damage_rng(f1m_t *m)
{
    return m->pc != NULL ? m->pc : &m->own_rng;
}

/* The operation is abandoned part-way (power lost). */
static void interrupt_op(f1m_t *m)
{
    powercut_t *rng = damage_rng(m);
    uint8_t *dst = m->img.data + m->op_addr;
    if (m->op == OP_PROGRAM) {
        /* The 16 bits of a half-word are programmed together: each may or may not
         * have flipped. */
        for (uint32_t i = 0; i < m->op_len; i++)
            dst[i] = pe_between(m->undo[i], dst[i], powercut_rand(rng));
    } else if (m->op == OP_ERASE) {
        pe_interrupt_erase(dst, m->undo, m->op_len, rng);
    }
    m->op = OP_NONE;
    m->busy_until = 0;
}

/* Checks common to program and erase, in the order the API documents. */
static int check_start(const f1m_t *m, uint64_t now)
{
    if (unpowered(m))
        return F1M_EDEAD;
    if (m->keys != KEYS_UNLOCKED)
        return F1M_WRPRTERR;
    if (busy_at(m, now))
        return F1M_EBUSY;
    return F1M_OK;
}

static void save_region(f1m_t *m, uint32_t addr, uint32_t len)
{
    m->op_addr = addr;
    m->op_len = len;
    memcpy(m->undo, m->img.data + addr, len);
}

/* The change is applied; BSY runs for duration. One power-cut step. */
static int start_op(f1m_t *m, enum op_kind kind, uint64_t duration, uint64_t now)
{
    m->op = kind;
    m->busy_until = now + duration;
    if (m->pc != NULL && powercut_step(m->pc)) {
        interrupt_op(m);
        return F1M_EDEAD;
    }
    return F1M_OK;
}

int f1m_program(f1m_t *m, uint32_t offset, uint16_t value, uint64_t now_ns)
{
    int rc = check_start(m, now_ns);
    if (rc != F1M_OK)
        return rc;
    if (offset % 2 != 0 || offset >= m->size)
        return F1M_EALIGN;
    uint8_t *cell = m->img.data + offset;
    uint16_t old = (uint16_t)(cell[0] | (cell[1] << 8));
    /* PM0075 "Main Flash memory programming": a half-word that is not erased can only
     * be written with 0x0000; otherwise PGERR is set and nothing is programmed. */
    if (old != 0xFFFF && value != 0x0000)
        return F1M_PGERR;
    save_region(m, offset, 2);
    cell[0] = (uint8_t)value;
    cell[1] = (uint8_t)(value >> 8);
    return start_op(m, OP_PROGRAM, m->prog_ns, now_ns);
}

int f1m_erase_page(f1m_t *m, uint32_t offset, uint64_t now_ns)
{
    int rc = check_start(m, now_ns);
    if (rc != F1M_OK)
        return rc;
    if (offset >= m->size)
        return F1M_EALIGN;
    uint32_t base = offset - offset % F1M_PAGE;
    save_region(m, base, F1M_PAGE);
    memset(m->img.data + base, 0xFF, F1M_PAGE);
    m->erase_counts[base / F1M_PAGE]++;
    return start_op(m, OP_ERASE, m->erase_ns, now_ns);
}

/* PM0075 "Unlocking the Flash memory": KEY1 then KEY2 opens FLASH_CR; any other write
 * locks the FPEC until the next reset (and raises a bus error, which the model reports
 * instead). */
void f1m_write_key(f1m_t *m, uint32_t key)
{
    if (unpowered(m))
        return;
    if (m->keys == KEYS_LOCKED && key == F1M_KEY1) {
        m->keys = KEYS_HALF;
        return;
    }
    if (m->keys == KEYS_HALF && key == F1M_KEY2) {
        m->keys = KEYS_UNLOCKED;
        return;
    }
    m->keys = KEYS_JAMMED;
    m->violations++;
    fprintf(stderr,
            "f1flash model: driver error: FLASH_KEYR written with 0x%08x out of sequence: "
            "FPEC locked until reset\n",
            (unsigned)key);
}

void f1m_lock(f1m_t *m)
{
    if (m->keys != KEYS_JAMMED)
        m->keys = KEYS_LOCKED;
}

bool f1m_locked(const f1m_t *m)
{
    return m->keys != KEYS_UNLOCKED;
}

void f1m_reset(f1m_t *m)
{
    m->powered = true;
    m->keys = KEYS_LOCKED;
    m->op = OP_NONE;
    m->busy_until = 0;
}

void f1m_wipe(f1m_t *m)
{
    memset(m->img.data, 0xFF, m->size);
    memset(m->erase_counts, 0, (m->size / F1M_PAGE) * sizeof m->erase_counts[0]);
    m->violations = 0;
    f1m_reset(m);
}

void f1m_load(f1m_t *m, const uint8_t *image)
{
    memcpy(m->img.data, image, m->size);
    f1m_reset(m);
}

void f1m_power_off(f1m_t *m, uint64_t now_ns)
{
    if (busy_at(m, now_ns))
        interrupt_op(m);
    m->powered = false;
}

f1m_t *f1m_create(const char *image_path, uint32_t size, f1m_timing_t timing,
                  powercut_t *pc)
{
    if (size == 0)
        size = F1M_SIZE_C8;
    if (size % F1M_PAGE != 0) {
        errno = EINVAL;
        return NULL;
    }
    f1m_t *m = calloc(1, sizeof *m);
    if (m == NULL)
        return NULL;
    m->erase_counts = calloc(size / F1M_PAGE, sizeof *m->erase_counts);
    if (m->erase_counts == NULL || image_open(&m->img, image_path, size) != 0) {
        int err = errno;
        free(m->erase_counts);
        free(m);
        errno = err;
        return NULL;
    }
    m->size = size;
    m->prog_ns = timing == F1M_TIMING_MAX ? T_PROG_MAX_NS : T_PROG_TYP_NS;
    m->erase_ns = timing == F1M_TIMING_MAX ? T_ERASE_MAX_NS : T_ERASE_TYP_NS;
    m->pc = pc;
    powercut_init(&m->own_rng, 0, 0);
    f1m_reset(m);
    return m;
}

void f1m_destroy(f1m_t *m)
{
    if (m == NULL)
        return;
    image_close(&m->img);
    free(m->erase_counts);
    free(m);
}

bool f1m_busy(const f1m_t *m, uint64_t now_ns)
{
    return !unpowered(m) && busy_at(m, now_ns);
}

uint64_t f1m_busy_until(const f1m_t *m)
{
    return m->busy_until;
}

uint64_t f1m_program_ns(const f1m_t *m)
{
    return m->prog_ns;
}

uint64_t f1m_erase_ns(const f1m_t *m)
{
    return m->erase_ns;
}

const uint8_t *f1m_array(const f1m_t *m)
{
    return m->img.data;
}

uint32_t f1m_size(const f1m_t *m)
{
    return m->size;
}

uint32_t f1m_erase_count(const f1m_t *m, uint32_t page)
{
    return page < m->size / F1M_PAGE ? m->erase_counts[page] : 0;
}

uint32_t f1m_violations(const f1m_t *m)
{
    return m->violations;
}

int f1m_sync(f1m_t *m)
{
    return image_sync(&m->img);
}
