/*
 * Data file on the W25Q64. See datafile.h and docs/STORAGE.md for the format.
 *
 * Metadata log: sectors META0/META1 at FB_FILE_CAPACITY. Slot 0 of a sector is its
 * header (generation), slots 1..255 are records appended in order. The sector with the
 * valid header of the highest generation is active; the last valid record of each type
 * wins. When the active sector is full, the current state is written to the other
 * sector, header last, so a cut at any point leaves one complete, valid sector.
 */
#include "datafile.h"

#include <string.h>

#include "crc.h"
#include "errors.h"
#include "w25q64.h"

#define REC_SIZE 16u
#define SLOTS (W25Q_SECTOR / REC_SIZE)
#define META_BASE FB_FILE_CAPACITY
#define META_MAGIC 0x46424D31u /* "FBM1" */

enum rec_type { REC_HEADER = 'H', REC_NAME = 'N', REC_SIZE_T = 'S' };

enum step {
    ST_IDLE,
    ST_DATA_NEXT,    /* decide the next append chunk */
    ST_BLANK_CHECK,  /* entering a sector: is it erased? */
    ST_ERASE_WAIT,
    ST_PROGRAM_WAIT,
    ST_META,         /* write the record that commits the operation */
    ST_META_WAIT,
    ST_COMPACT_ERASE_WAIT,
    ST_COMPACT_NAME_WAIT,
    ST_COMPACT_SIZE_WAIT,
    ST_COMPACT_HEADER_WAIT,
};

static struct {
    /* committed state */
    uint32_t size;
    uint8_t name[FB_FILENAME_LEN];
    bool meta_valid;     /* the active sector has a valid header */
    uint8_t active;      /* 0 or 1 */
    uint32_t gen;
    uint16_t next_slot;  /* first free record slot in the active sector */
    /* running operation */
    enum step step;
    enum rec_type rec;   /* record that commits it */
    uint32_t new_size;
    uint8_t new_name[FB_FILENAME_LEN];
    uint32_t pos;        /* next flash address to program */
    uint16_t done;       /* payload bytes programmed */
    uint16_t len;        /* payload bytes */
    uint16_t chunk;      /* bytes in the program running now */
    uint16_t check_off;  /* blank-check progress in the sector being entered */
    uint8_t buf[DF_APPEND_MAX];
} df;

static uint32_t meta_addr(uint8_t sector, uint16_t slot)
{
    return META_BASE + (uint32_t)sector * W25Q_SECTOR + (uint32_t)slot * REC_SIZE;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static uint32_t get32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Record: type, 11 payload bytes, 2 reserved zero bytes, CRC-16 (big-endian) of 0..13. */
static void record_build(uint8_t r[REC_SIZE], enum rec_type type, uint32_t value,
                         const uint8_t *name)
{
    memset(r, 0, REC_SIZE);
    r[0] = (uint8_t)type;
    if (type == REC_NAME) {
        memcpy(&r[1], name, FB_FILENAME_LEN);
    } else {
        put32(&r[1], value);
        if (type == REC_HEADER)
            put32(&r[5], META_MAGIC);
    }
    uint16_t crc = fb_crc16(FB_CRC16_INIT, r, REC_SIZE - 2);
    r[14] = (uint8_t)(crc >> 8);
    r[15] = (uint8_t)crc;
}

static bool record_ok(const uint8_t r[REC_SIZE])
{
    uint16_t crc = fb_crc16(FB_CRC16_INIT, r, REC_SIZE - 2);
    return r[14] == (uint8_t)(crc >> 8) && r[15] == (uint8_t)crc;
}

static bool all_erased(const uint8_t *p, size_t n)
{
    while (n--)
        if (*p++ != 0xFF)
            return false;
    return true;
}

void df_reset(void)
{
    memset(&df, 0, sizeof df);
    memcpy(df.name, FB_DEFAULT_FILENAME, FB_FILENAME_LEN);
}

/* Header of sector s: its generation if valid. */
static int read_header(uint8_t s, bool *valid, uint32_t *gen)
{
    uint8_t r[REC_SIZE];
    int err = w25q_read(meta_addr(s, 0), r, sizeof r);
    *valid = !err && r[0] == REC_HEADER && record_ok(r) && get32(&r[5]) == META_MAGIC;
    *gen = get32(&r[1]);
    return err;
}

int df_mount(void)
{
    bool valid[2];
    uint32_t gen[2];
    df_reset();
    for (uint8_t s = 0; s < 2; s++) {
        int err = read_header(s, &valid[s], &gen[s]);
        if (err)
            return err;
    }
    if (!valid[0] && !valid[1])
        return FB_OK; /* never written: empty file, default name */
    /* Serial-number comparison so the generation may wrap. */
    df.active = (!valid[0] || (valid[1] && (int32_t)(gen[1] - gen[0]) > 0)) ? 1 : 0;
    df.gen = gen[df.active];
    df.meta_valid = true;
    df.next_slot = 1;
    uint8_t chunk[W25Q_PAGE];
    for (uint16_t slot = 0; slot < SLOTS; slot++) {
        if (slot % (W25Q_PAGE / REC_SIZE) == 0) {
            int err = w25q_read(meta_addr(df.active, slot), chunk, sizeof chunk);
            if (err)
                return err;
        }
        if (slot == 0)
            continue;
        const uint8_t *r = &chunk[(slot % (W25Q_PAGE / REC_SIZE)) * REC_SIZE];
        if (all_erased(r, REC_SIZE))
            continue;
        /* A slot that is not erased is used, even when torn by a cut: never reprogram. */
        df.next_slot = (uint16_t)(slot + 1);
        if (!record_ok(r))
            continue;
        if (r[0] == REC_SIZE_T && get32(&r[1]) <= FB_FILE_CAPACITY)
            df.size = get32(&r[1]);
        else if (r[0] == REC_NAME)
            memcpy(df.name, &r[1], FB_FILENAME_LEN);
    }
    return FB_OK;
}

static int begin_op(enum rec_type rec, enum step first)
{
    FB_ASSERT(df.step == ST_IDLE);
    df.rec = rec;
    df.new_size = df.size;
    memcpy(df.new_name, df.name, FB_FILENAME_LEN);
    df.step = first;
    return FB_EAGAIN;
}

int df_append_start(const uint8_t *data, size_t n)
{
    if (n > DF_APPEND_MAX)
        return FB_EINVAL;
    if (n > FB_FILE_CAPACITY - df.size)
        return FB_EFULL;
    if (n == 0)
        return FB_OK;
    memcpy(df.buf, data, n);
    df.len = (uint16_t)n;
    df.done = 0;
    df.pos = df.size;
    df.check_off = 0;
    begin_op(REC_SIZE_T, ST_DATA_NEXT);
    df.new_size = df.size + (uint32_t)n;
    return FB_EAGAIN;
}

int df_set_name_start(const uint8_t name[FB_FILENAME_LEN])
{
    if (!df_name_valid(name))
        return FB_ENAME;
    begin_op(REC_NAME, ST_META);
    memcpy(df.new_name, name, FB_FILENAME_LEN);
    return FB_EAGAIN;
}

int df_clear_start(void)
{
    /* Logical clear: the data sectors are erased lazily, when an append enters them. */
    begin_op(REC_SIZE_T, ST_META);
    df.new_size = 0;
    return FB_EAGAIN;
}

static int program_record(uint8_t sector, uint16_t slot, enum rec_type type)
{
    uint8_t r[REC_SIZE];
    uint32_t value = type == REC_HEADER ? df.gen + 1u : df.new_size;
    record_build(r, type, value, df.new_name);
    return w25q_program_start(meta_addr(sector, slot), r, sizeof r);
}

static int step_data_next(void)
{
    if (df.done == df.len) {
        df.step = ST_META;
        return FB_EAGAIN;
    }
    if (df.pos % W25Q_SECTOR == 0 && df.check_off < W25Q_SECTOR) {
        df.step = ST_BLANK_CHECK;
        return FB_EAGAIN;
    }
    uint16_t room = (uint16_t)(W25Q_PAGE - df.pos % W25Q_PAGE);
    uint16_t left = (uint16_t)(df.len - df.done);
    df.chunk = left < room ? left : room;
    /* Programming only clears bits: bytes a cut left behind past the committed size
     * would corrupt the new data. Refuse rather than store garbage. */
    uint8_t cur[W25Q_PAGE];
    int err = w25q_read(df.pos, cur, df.chunk);
    if (err)
        return err;
    if (!all_erased(cur, df.chunk))
        return FB_ECORRUPT;
    err = w25q_program_start(df.pos, &df.buf[df.done], df.chunk);
    if (err)
        return err;
    df.step = ST_PROGRAM_WAIT;
    return FB_EAGAIN;
}

/* Entering a new sector: erase it only if something is left in it (a cleared file's
 * old data); a blank sector is not erased again (wear). One page read per pass. */
static int step_blank_check(void)
{
    uint8_t page[W25Q_PAGE];
    int err = w25q_read(df.pos + df.check_off, page, sizeof page);
    if (err)
        return err;
    if (!all_erased(page, sizeof page)) {
        err = w25q_erase_start(W25Q_ERASE_4K, df.pos);
        if (err)
            return err;
        df.step = ST_ERASE_WAIT;
        return FB_EAGAIN;
    }
    df.check_off = (uint16_t)(df.check_off + W25Q_PAGE);
    if (df.check_off >= W25Q_SECTOR)
        df.step = ST_DATA_NEXT;
    return FB_EAGAIN;
}

static int step_meta(void)
{
    if (df.meta_valid && df.next_slot < SLOTS) {
        int err = program_record(df.active, df.next_slot, df.rec);
        /* The slot may be torn even on error: never reuse it. */
        df.next_slot++;
        if (err)
            return err;
        df.step = ST_META_WAIT;
        return FB_EAGAIN;
    }
    uint8_t target = df.meta_valid ? (uint8_t)(df.active ^ 1u) : 0u;
    int err = w25q_erase_start(W25Q_ERASE_4K, meta_addr(target, 0));
    if (err)
        return err;
    df.step = ST_COMPACT_ERASE_WAIT;
    return FB_EAGAIN;
}

static void commit(void)
{
    df.size = df.new_size;
    memcpy(df.name, df.new_name, FB_FILENAME_LEN);
    df.step = ST_IDLE;
}

static int then_wait(int err)
{
    return err ? err : FB_EAGAIN;
}

/* A device wait finished: move to what follows it. */
static int step_after_wait(void)
{
    uint8_t target = df.meta_valid ? (uint8_t)(df.active ^ 1u) : 0u;
    switch (df.step) {
    case ST_ERASE_WAIT:
        df.check_off = W25Q_SECTOR;
        df.step = ST_DATA_NEXT;
        return FB_EAGAIN;
    case ST_PROGRAM_WAIT:
        df.pos += df.chunk;
        df.done = (uint16_t)(df.done + df.chunk);
        df.check_off = 0;
        df.step = ST_DATA_NEXT;
        return FB_EAGAIN;
    case ST_META_WAIT:
        commit();
        return FB_OK;
    case ST_COMPACT_ERASE_WAIT:
        df.step = ST_COMPACT_NAME_WAIT;
        return then_wait(program_record(target, 1, REC_NAME));
    case ST_COMPACT_NAME_WAIT:
        df.step = ST_COMPACT_SIZE_WAIT;
        return then_wait(program_record(target, 2, REC_SIZE_T));
    case ST_COMPACT_SIZE_WAIT:
        df.step = ST_COMPACT_HEADER_WAIT;
        return then_wait(program_record(target, 0, REC_HEADER));
    case ST_COMPACT_HEADER_WAIT:
        df.active = target;
        df.gen++;
        df.meta_valid = true;
        df.next_slot = 3;
        commit();
        return FB_OK;
    default:
        FB_ASSERT(0);
        return FB_EFLASH;
    }
}

int df_poll(void)
{
    int ret;
    switch (df.step) {
    case ST_IDLE:
        return FB_OK;
    case ST_DATA_NEXT:
        ret = step_data_next();
        break;
    case ST_BLANK_CHECK:
        ret = step_blank_check();
        break;
    case ST_META:
        ret = step_meta();
        break;
    default:
        ret = w25q_poll();
        if (ret == FB_OK)
            ret = step_after_wait();
        break;
    }
    if (ret != FB_EAGAIN && ret != FB_OK)
        df.step = ST_IDLE; /* failed: committed state unchanged */
    return ret;
}

bool df_long_wait(void)
{
    return w25q_long_wait();
}

int df_read(uint32_t offset, uint8_t *dst, size_t n)
{
    size_t have = offset < df.size ? df.size - offset : 0;
    if (have > n)
        have = n;
    memset(dst + have, 0xFF, n - have);
    return have ? w25q_read(offset, dst, have) : FB_OK;
}

uint32_t df_size(void)
{
    return df.size;
}

const uint8_t *df_name(void)
{
    return df.name;
}

static bool name_char_ok(uint8_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        return true;
    return c != 0 && strchr("!#$%&'()-@^_`{}~", c) != NULL;
}

/* One space-padded part: characters first, then only spaces. */
static bool part_ok(const uint8_t *p, size_t n)
{
    size_t i = 0;
    while (i < n && p[i] != ' ') {
        if (!name_char_ok(p[i]))
            return false;
        i++;
    }
    while (i < n)
        if (p[i++] != ' ')
            return false;
    return true;
}

bool df_name_valid(const uint8_t name[FB_FILENAME_LEN])
{
    return name[0] != ' ' && part_ok(name, 8) && part_ok(&name[8], 3);
}
