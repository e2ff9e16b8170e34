/*
 * Data file on the W25Q64. See datafile.h and docs/STORAGE.md for the format.
 *
 * Three small state machines share the device, one step per call:
 *  - the record writer appends one 16-byte record to the metadata log, or, when the
 *    active log sector is full, compacts: erases the other sector, writes the whole
 *    state there and its header last (the commit point of a compaction);
 *  - the eraser erases the ring range a CLEAR left dirty, block by block (largest
 *    block that fits, or 4 KiB when an append is waiting), recording its progress;
 *    and the log sector not in use (the spare, first), so that a compaction finds it blank
 *    and costs a few page programs, not a 4 KiB erase, on the path of a command;
 *  - the operation (append, rename, clear) uses the other two.
 * Every change of state is a record; the state in RAM is what replaying the log gives.
 * On any error the state is re-read from the flash, so RAM never runs ahead of it.
 */
#include "datafile.h"

#include <string.h>

#include "crc.h"
#include "errors.h"
#include "hal.h"
#include "w25q64.h"

#define CAP FB_FILE_CAPACITY
#define REC_SIZE 16u
#define SLOTS (W25Q_SECTOR / REC_SIZE)
#define META_MAGIC 0x46424D31u /* "FBM1" */
#define MAX_SKIPS 3u /* pages an interrupted append can have touched, plus one */
/* Repairs one append may make: the sector it was cut in, the copy left in the next one,
 * and a sector the cut append reached, plus one. */
#define MAX_REPAIRS 4u

enum rec_type {
    REC_HEADER = 'H', /* gen, magic */
    REC_NAME = 'N',   /* 11-byte name */
    REC_SIZE_T = 'S', /* size */
    REC_CLEAR = 'C',  /* start, dirty_lo, dirty_len: empty file from start */
    REC_EXTENT = 'X', /* f, a: file offset f continues at flash address a */
    REC_ERASED = 'E', /* dirty_lo, dirty_len: erase progress */
    REC_RELOC = 'R',  /* s, t, len: bytes [s, s+len) are held at t while sector s is
                       * erased and rewritten; len 0: the sector is whole again */
};

typedef struct extent {
    uint32_t f; /* file offset where the extent starts */
    uint32_t a; /* flash address of that byte (ring) */
} extent_t;

enum op_step {
    OP_IDLE,
    OP_APPEND_NEXT,
    OP_PROGRAM_WAIT,
    OP_RECORD, /* the operation's record is being written; then OP_AFTER_RECORD */
    OP_CLEAN_WAIT, /* erasing a free sector an interrupted append left bytes in */
    OP_OUT_ERASE,  /* repair: erasing the sector that will hold the copy */
    OP_OUT_WAIT,   /* repair: programming a page of the copy */
    OP_BACK_ERASE, /* repair: erasing the sector the cut was in */
    OP_BACK_WAIT,  /* repair: programming a page back from the copy */
};

enum er_step { ER_IDLE, ER_CHECK, ER_ERASE_WAIT, ER_RECORD };

enum rec_step { RS_IDLE, RS_WAIT, RS_COMPACT_ERASE, RS_COMPACT_WRITE, RS_COMPACT_HEADER };

static struct {
    /* state (what the log says) */
    uint32_t size;
    uint8_t name[FB_FILENAME_LEN];
    extent_t ext[DF_MAX_EXTENTS];
    uint8_t n_ext;
    uint32_t dirty_lo, dirty_len; /* ring range still to erase */
    uint32_t rl_s, rl_t; /* a repair in progress (REC_RELOC): reads of [rl_s, rl_s + */
    uint32_t rl_len;     /* rl_len) are served from rl_t; 0 = none */
    /* log position */
    bool meta_valid;
    uint8_t active;
    uint32_t gen;
    uint16_t next_slot;
    /* record writer */
    enum rec_step rs;
    uint8_t rec[REC_SIZE];
    uint8_t snap_i; /* compaction: next state record to write */
    /* eraser */
    enum er_step er;
    uint32_t er_addr, er_size, er_check;
    bool er_hurry; /* an append waits: small blocks */
    bool er_spare; /* the eraser works on the spare log sector, not the ring */
    bool spare_clean; /* the spare log sector is blank: erased since boot */
    bool spare_v1; /* the spare is v1's name sector (an imported chip): not erased ahead,
                    * so a DAPLink put back finds the name, until a compaction needs it */
    uint32_t er_force; /* bytes from dirty_lo erased without a blank check */
    /* operation */
    enum op_step op;
    bool op_continues; /* after its record, an append goes on programming */
    uint32_t pos;      /* next flash address to program */
    uint16_t len, done, chunk;
    uint8_t skips, repairs;
    uint32_t cp_s, cp_t, cp_len, cp_done; /* the repair's copy (out, then back) */
    const uint8_t *src; /* the frame's bytes: its queue slot is held until we finish */
    /* a chip flashbridge did not format (mount_unformatted) */
    bool foreign;    /* holds data we did not write: left untouched until a CLEAR */
    bool unverified; /* no log at mount: the eraser must not erase a block with data */
} df;

/* Changes before any byte the file shows below its size can change, or its name: a
 * CLEAR, a rename, a (re)mount. Outside df, which df_reset() wipes. The USB drive
 * (firmware/msc) uses it as a seqlock: docs/USB.md, "the source contract". */
static uint32_t df_gen;

/* ---- small helpers ---- */

static uint32_t ring_add(uint32_t a, uint32_t d)
{
    return (uint32_t)(((uint64_t)a + d) % CAP);
}

static uint32_t ring_dist(uint32_t from, uint32_t to)
{
    return to >= from ? to - from : CAP - from + to;
}

static bool in_dirty(uint32_t a)
{
    return df.dirty_len && ring_dist(df.dirty_lo, a) < df.dirty_len;
}

static uint32_t meta_addr(uint8_t sector, uint16_t slot)
{
    return CAP + (uint32_t)sector * W25Q_SECTOR + (uint32_t)slot * REC_SIZE;
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

static bool all_erased(const uint8_t *p, size_t n)
{
    while (n--)
        if (*p++ != 0xFF)
            return false;
    return true;
}

static uint32_t frontier(void)
{
    const extent_t *e = &df.ext[df.n_ext - 1];
    return ring_add(e->a, df.size - e->f);
}

/* Flash bytes the file occupies, gaps included. */
static uint32_t used(void)
{
    uint32_t u = ring_dist(df.ext[0].a, frontier());
    return (u == 0 && df.size > 0) ? CAP : u;
}

/* ---- records ---- */

/* Record: type, 13 payload bytes, CRC-16 (big-endian) of bytes 0..13. */
static void rec_build(uint8_t r[REC_SIZE], enum rec_type type, uint32_t v0, uint32_t v1,
                      uint32_t v2)
{
    memset(r, 0, REC_SIZE);
    r[0] = (uint8_t)type;
    if (type == REC_NAME) {
        memcpy(&r[1], df.name, FB_FILENAME_LEN);
    } else {
        put32(&r[1], v0);
        put32(&r[5], v1);
        put32(&r[9], v2);
    }
    uint16_t crc = fb_crc16(FB_CRC16_INIT, r, REC_SIZE - 2);
    r[14] = (uint8_t)(crc >> 8);
    r[15] = (uint8_t)crc;
}

static bool rec_ok(const uint8_t r[REC_SIZE])
{
    uint16_t crc = fb_crc16(FB_CRC16_INIT, r, REC_SIZE - 2);
    return r[14] == (uint8_t)(crc >> 8) && r[15] == (uint8_t)crc;
}

/* Apply one record to the state: the same code replays the log at mount and commits a
 * record once it is programmed. Values that cannot be right are ignored. */
static void rec_apply(const uint8_t r[REC_SIZE])
{
    uint32_t v0 = get32(&r[1]), v1 = get32(&r[5]), v2 = get32(&r[9]);
    switch (r[0]) {
    case REC_NAME:
        memcpy(df.name, &r[1], FB_FILENAME_LEN);
        break;
    case REC_SIZE_T:
        if (v0 <= CAP)
            df.size = v0;
        break;
    case REC_CLEAR:
        if (v0 < CAP && v1 < CAP && v2 <= CAP) {
            df.size = 0;
            df.n_ext = 1;
            df.ext[0].f = 0;
            df.ext[0].a = v0;
            df.dirty_lo = v1;
            df.dirty_len = v2;
            df.rl_len = 0;
        }
        break;
    case REC_RELOC:
        if (v0 < CAP && v0 % W25Q_SECTOR == 0 && v1 < CAP && v1 % W25Q_SECTOR == 0 &&
            v0 != v1 && v2 < W25Q_SECTOR) {
            df.rl_s = v0;
            df.rl_t = v1;
            df.rl_len = v2;
        }
        break;
    case REC_EXTENT:
        if (v1 < CAP && df.n_ext < DF_MAX_EXTENTS && v0 >= df.ext[df.n_ext - 1].f) {
            df.ext[df.n_ext].f = v0;
            df.ext[df.n_ext].a = v1;
            df.n_ext++;
        }
        break;
    case REC_ERASED:
        if (v0 < CAP && v1 <= CAP) {
            df.dirty_lo = v0;
            df.dirty_len = v1;
        }
        break;
    default:
        break;
    }
}

/* The state as records, for a compaction: name, the clear that set the first extent and
 * the erase progress, the other extents, a repair in progress, the size. */
static uint8_t snap_count(void)
{
    return (uint8_t)(df.n_ext + 2u + (df.rl_len ? 1u : 0u));
}

static void snap_build(uint8_t i, uint8_t r[REC_SIZE])
{
    if (i == 0)
        rec_build(r, REC_NAME, 0, 0, 0);
    else if (i == 1)
        rec_build(r, REC_CLEAR, df.ext[0].a, df.dirty_lo, df.dirty_len);
    else if (i < df.n_ext + 1u)
        rec_build(r, REC_EXTENT, df.ext[i - 1].f, df.ext[i - 1].a, 0);
    else if (i == df.n_ext + 1u && df.rl_len)
        rec_build(r, REC_RELOC, df.rl_s, df.rl_t, df.rl_len);
    else
        rec_build(r, REC_SIZE_T, df.size, 0, 0);
}

/* Compaction into the blank sector target: the next state record, or the header. */
static int rs_compact_write(uint8_t target)
{
    uint8_t r[REC_SIZE];
    int err;
    if (df.snap_i < snap_count()) {
        snap_build(df.snap_i, r);
        df.rs = RS_COMPACT_WRITE;
        err = w25q_program_start(meta_addr(target, (uint16_t)(1u + df.snap_i)), r, REC_SIZE);
        df.snap_i++;
        return err ? err : FB_EAGAIN;
    }
    /* Header last: until it is programmed the old sector stays the active one. */
    rec_build(r, REC_HEADER, df.gen + 1u, META_MAGIC, 0);
    df.rs = RS_COMPACT_HEADER;
    err = w25q_program_start(meta_addr(target, 0), r, REC_SIZE);
    return err ? err : FB_EAGAIN;
}

/* Start writing the record in df.rec. Its effect is applied to the state when it is on
 * the flash (or, for a compaction, before the state is written out). */
static int rs_start(void)
{
    if (df.meta_valid && df.next_slot < SLOTS) {
        int err = w25q_program_start(meta_addr(df.active, df.next_slot), df.rec, REC_SIZE);
        df.next_slot++; /* even on error the slot may be torn: never reuse it */
        if (err)
            return err;
        df.rs = RS_WAIT;
        return FB_EAGAIN;
    }
    rec_apply(df.rec);
    df.snap_i = 0;
    /* The eraser may be checking the spare: it is about to become the active sector. */
    if (df.er_spare && df.er == ER_CHECK)
        df.er = ER_IDLE;
    if (df.meta_valid && df.spare_clean) {
        df.spare_clean = false; /* it becomes the active sector */
        return rs_compact_write((uint8_t)(df.active ^ 1u));
    }
    uint8_t target = df.meta_valid ? (uint8_t)(df.active ^ 1u) : 0u;
    int err = w25q_erase_start(W25Q_ERASE_4K, meta_addr(target, 0));
    if (err)
        return err;
    df.rs = RS_COMPACT_ERASE;
    return FB_EAGAIN;
}

static int rs_poll(void)
{
    int err = w25q_poll();
    if (err)
        return err;
    uint8_t target = df.meta_valid ? (uint8_t)(df.active ^ 1u) : 0u;
    switch (df.rs) {
    case RS_WAIT:
        df.rs = RS_IDLE;
        rec_apply(df.rec);
        return FB_OK;
    case RS_COMPACT_ERASE:
    case RS_COMPACT_WRITE:
        return rs_compact_write(target);
    case RS_COMPACT_HEADER:
        if (target != 0)
            df.spare_v1 = false; /* this compaction erased v1's name sector */
        df.active = target;
        df.gen++;
        df.meta_valid = true;
        df.next_slot = (uint16_t)(1u + snap_count());
        df.rs = RS_IDLE;
        return FB_OK;
    default:
        FB_ASSERT(0);
        return FB_EFLASH;
    }
}

/* ---- eraser ---- */

static uint32_t erase_block_size(void)
{
    static const uint32_t sizes[] = {W25Q_BLOCK64, W25Q_BLOCK32, W25Q_SECTOR};
    for (unsigned i = df.er_hurry ? 2u : 0u; i < 3u; i++) {
        uint32_t s = sizes[i];
        /* aligned, inside what is dirty, and never reaching the metadata sectors */
        if (df.dirty_lo % s == 0 && df.dirty_len >= s && df.dirty_lo + s <= CAP)
            return s;
    }
    return W25Q_SECTOR;
}

/* The block at dirty_lo is erased: say so in the log. */
static int er_record(void)
{
    rec_build(df.rec, REC_ERASED, ring_add(df.dirty_lo, df.er_size),
              df.er_size >= df.dirty_len ? 0 : df.dirty_len - df.er_size, 0);
    df.er = ER_RECORD;
    return rs_start();
}

/* The spare log sector is not known to be blank (once formatted: a new chip's log is
 * made by its first compaction). */
static bool spare_wanted(void)
{
    return df.meta_valid && !df.spare_clean && !df.spare_v1;
}

/* The block is blank: a ring block is recorded, the spare only known in RAM (a reboot
 * erases it again). */
static int er_done(void)
{
    if (!df.er_spare) {
        df.er_force = df.er_force > df.er_size ? df.er_force - df.er_size : 0u;
        return er_record();
    }
    df.spare_clean = true;
    df.er = ER_IDLE;
    return FB_OK;
}

/* One eraser step: FB_EAGAIN while the current block is in progress, 0 once a block is
 * done or when there is nothing to erase. A block that is already blank is not erased
 * (wear, and time on a new chip). */
static int er_poll(void)
{
    uint8_t page[W25Q_PAGE];
    int err;
    bool forced;
    switch (df.er) {
    case ER_IDLE:
        if (!df.dirty_len && !spare_wanted())
            return FB_OK;
        /* The spare log sector first: any record may need a compaction, only appends
         * that reach the dirty range need the ring. */
        df.er_spare = spare_wanted();
        df.er_addr = df.er_spare ? meta_addr((uint8_t)(df.active ^ 1u), 0) : df.dirty_lo;
        df.er_size = df.er_spare ? W25Q_SECTOR : erase_block_size();
        df.er_check = 0;
        df.er = ER_CHECK;
        return FB_EAGAIN;
    case ER_CHECK:
        /* A block that reads blank is skipped, unless a cut may have stopped its erase
         * (running or suspended): partly erased cells can read 1 and not hold it. That
         * is only ever the spare, or the first block after a reboot (erasing goes in
         * order from dirty_lo, which advances only once a block is done). On a chip
         * that had no log at mount no erase of ours can have been cut, and every page
         * must be read: data there is not ours (below). The spare is a metadata sector,
         * which mount found blank. */
        forced = df.er_spare || (df.er_force && !df.unverified);
        if (forced)
            memset(page, 0, sizeof page);
        else if ((err = w25q_read(df.er_addr + df.er_check, page, sizeof page)))
            return err;
        if (!forced && !all_erased(page, sizeof page) && df.unverified) {
            /* The chip had no log at mount and data turns up where mount's samples
             * saw none: not ours, so not erased. The log is told that nothing is
             * left to erase, so a reboot does not erase it either. */
            df.foreign = true;
            df_gen++; /* the file now reads as empty */
            df.unverified = false;
            rec_build(df.rec, REC_ERASED, df.dirty_lo, 0, 0);
            df.er = ER_RECORD;
            return rs_start();
        }
        if (!all_erased(page, sizeof page)) {
            static const w25q_erase_t kind[] = {W25Q_ERASE_4K, W25Q_ERASE_32K, W25Q_ERASE_64K};
            unsigned k = df.er_size == W25Q_SECTOR ? 0u : df.er_size == W25Q_BLOCK32 ? 1u : 2u;
            err = w25q_erase_start(kind[k], df.er_addr);
            if (err)
                return err;
            df.er = ER_ERASE_WAIT;
            return FB_EAGAIN;
        }
        df.er_check += W25Q_PAGE;
        if (df.er_check < df.er_size)
            return FB_EAGAIN;
        /* Blank already: not erased (wear, and time on a new chip), but recorded like an
         * erase so that a reboot does not check it again. */
        return er_done();
    case ER_ERASE_WAIT:
        err = w25q_poll();
        return err ? err : er_done();
    default: /* ER_RECORD */
        err = rs_poll();
        if (err == FB_OK)
            df.er = ER_IDLE;
        return err;
    }
}

/* ---- mount ---- */

void df_reset(void)
{
    df_gen++;
    memset(&df, 0, sizeof df);
    memcpy(df.name, FB_DEFAULT_FILENAME, FB_FILENAME_LEN);
    df.n_ext = 1;
    /* Nothing known about the chip: all of it may hold old data. */
    df.dirty_lo = 0;
    df.dirty_len = CAP;
}

static int read_header(uint8_t s, bool *valid, uint32_t *gen)
{
    uint8_t r[REC_SIZE];
    int err = w25q_read(meta_addr(s, 0), r, sizeof r);
    *valid = !err && r[0] == REC_HEADER && rec_ok(r) && get32(&r[5]) == META_MAGIC;
    *gen = get32(&r[1]);
    return err;
}

/* ---- chips without a log: blank, v1, or someone else's (docs/STORAGE.md) ----
 *
 * The v1 firmware kept the file at address 0 up to its first 0xFF byte and the 11-byte
 * name at 0x7FF000 (our metadata sector 1); 0x7FE000 (our sector 0) was an external
 * config zone of an earlier version. Import writes our log into sector 0 and leaves the
 * file's bytes and the name sector as they are. Power-cut safety: before sector 0 is
 * touched, an import record (type 'I', the file size) is programmed into the name
 * sector's last slot, which v1 never used; until the log's header is programmed, a
 * mount that finds that record finishes the import, and before it the chip is still
 * plain v1. */
#define REC_IMPORT 'I'
#define IMPORT_SLOT (SLOTS - 1u)
#define V1_NAME_END 11u
#define SAMPLE_LEN 16u /* bytes read at the start of every 64 KiB data block */

/* Sector s, slots from..to-1 (ignoring skip): erased. Read a page at a time: mount
 * time on a blank chip stays a few milliseconds. */
static int slots_erased(uint8_t s, uint16_t from, uint16_t to, uint16_t skip, bool *erased)
{
    uint8_t page[W25Q_PAGE];
    *erased = true;
    for (uint16_t slot = from; slot < to;) {
        uint16_t n = (uint16_t)(W25Q_PAGE / REC_SIZE - slot % (W25Q_PAGE / REC_SIZE));
        if (n > to - slot)
            n = (uint16_t)(to - slot);
        int err = w25q_read(meta_addr(s, slot), page, (size_t)n * REC_SIZE);
        if (err)
            return err;
        for (uint16_t i = 0; i < n; i++) {
            if (slot + i != skip && !all_erased(&page[i * REC_SIZE], REC_SIZE)) {
                *erased = false;
                return FB_OK;
            }
        }
        slot = (uint16_t)(slot + n);
    }
    return FB_OK;
}

static bool rec_type_known(uint8_t t)
{
    return t == REC_NAME || t == REC_SIZE_T || t == REC_CLEAR || t == REC_EXTENT ||
           t == REC_ERASED;
}

/* Sector 0 as our first compaction leaves it when a cut stops it: records from slot 1
 * on, in order, the last one possibly torn, and the header (slot 0, programmed last)
 * torn or not there; nothing else. */
static int meta0_is_partial_log(bool *ours)
{
    uint8_t r[REC_SIZE];
    bool header = false, torn = false;
    uint16_t records = 0;
    *ours = false;
    for (uint16_t slot = 0; slot < SLOTS; slot++) {
        int err = w25q_read(meta_addr(0, slot), r, sizeof r);
        if (err)
            return err;
        bool erased = all_erased(r, sizeof r);
        if (slot == 0) {
            header = !erased;
            continue;
        }
        if (erased) {
            bool rest;
            err = slots_erased(0, slot, SLOTS, SLOTS, &rest);
            if (err || !rest)
                return err;
            break;
        }
        if (torn)
            return FB_OK; /* something after a torn record */
        torn = !(rec_ok(r) && rec_type_known(r[0]));
        records++;
    }
    *ours = records > 0 && !(header && torn);
    return FB_OK;
}

/* The v1 name sector: the name, then erased bytes (the import slot aside). */
static int v1_name_sector(bool *is_v1)
{
    uint8_t r[REC_SIZE];
    *is_v1 = false;
    int err = w25q_read(meta_addr(1, 0), r, sizeof r);
    if (err)
        return err;
    for (unsigned i = 0; i < V1_NAME_END; i++)
        if (r[i] == 0xFF)
            return FB_OK;
    if (!all_erased(&r[V1_NAME_END], REC_SIZE - V1_NAME_END))
        return FB_OK;
    return slots_erased(1, 1, SLOTS, IMPORT_SLOT, is_v1);
}

/* v1's end-of-file rule: the first 0xFF byte from address 0. Reads the whole file
 * once (8 MiB: about 4 s at 18 MHz), kicking the watchdog as it goes. */
static int v1_size(uint32_t *size)
{
    uint8_t page[W25Q_PAGE];
    for (uint32_t a = 0; a < CAP; a += W25Q_PAGE) {
        int err = w25q_read(a, page, sizeof page);
        if (err)
            return err;
        for (unsigned i = 0; i < sizeof page; i++) {
            if (page[i] == 0xFF) {
                *size = a + i;
                return FB_OK;
            }
        }
        if (a % W25Q_BLOCK64 == 0)
            hal_watchdog_kick();
    }
    *size = CAP;
    return FB_OK;
}

/* The start of every 64 KiB block erased: taken for a blank chip (mount stays short;
 * the eraser then checks every page before it erases, see df.unverified). */
static int data_samples_erased(bool *erased)
{
    uint8_t s[SAMPLE_LEN];
    *erased = true;
    for (uint32_t a = 0; a < CAP; a += W25Q_BLOCK64) {
        int err = w25q_read(a, s, sizeof s);
        if (err)
            return err;
        if (!all_erased(s, sizeof s)) {
            *erased = false;
            return FB_OK;
        }
    }
    return FB_OK;
}

static int wait_device(void)
{
    int err;
    while ((err = w25q_poll()) == FB_EAGAIN)
        ;
    return err;
}

/* Import the v1 file: its name and size become our state, and our log is written into
 * sector 0 by the record writer's compaction, driven by the eraser's record step (so
 * that STATUS shows the work and every command waits for it). */
static int import_v1(const uint8_t name[FB_FILENAME_LEN], uint32_t size, bool mark)
{
    if (mark) {
        uint8_t r[REC_SIZE];
        rec_build(r, (enum rec_type)REC_IMPORT, size, 0, 0);
        int err = w25q_program_start(meta_addr(1, IMPORT_SLOT), r, sizeof r);
        if (!err)
            err = wait_device();
        if (err)
            return err;
    }
    memcpy(df.name, name, FB_FILENAME_LEN);
    df.size = size;
    df.n_ext = 1;
    df.ext[0].f = 0;
    df.ext[0].a = 0;
    df.dirty_lo = 0;
    df.dirty_len = 0; /* nothing of the chip is ours to erase */
    df.spare_v1 = true;
    rec_build(df.rec, REC_SIZE_T, size, 0, 0);
    df.er = ER_RECORD;
    int err = rs_start();
    return err == FB_EAGAIN ? FB_OK : err;
}

/* The v1 name at 0x7FF000, or our default name where v1 never stored one. */
static int v1_name(uint8_t name[FB_FILENAME_LEN])
{
    int err = w25q_read(meta_addr(1, 0), name, FB_FILENAME_LEN);
    if (!err && all_erased(name, FB_FILENAME_LEN))
        memcpy(name, FB_DEFAULT_FILENAME, FB_FILENAME_LEN);
    return err;
}

static int mount_unformatted(void)
{
    uint8_t name[FB_FILENAME_LEN], r[REC_SIZE];
    int err = w25q_read(meta_addr(1, IMPORT_SLOT), r, sizeof r);
    if (err)
        return err;
    if (r[0] == REC_IMPORT && rec_ok(r) && get32(&r[1]) <= CAP) {
        /* An import a cut interrupted: sector 0 is ours, finish it. */
        err = v1_name(name);
        return err ? err : import_v1(name, get32(&r[1]), false);
    }
    bool v1, meta0_blank, meta1_blank, ours, data_blank = false;
    uint8_t first;
    if ((err = v1_name_sector(&v1)) != FB_OK ||
        (err = slots_erased(0, 0, SLOTS, SLOTS, &meta0_blank)) != FB_OK ||
        (err = slots_erased(1, 0, SLOTS, SLOTS, &meta1_blank)) != FB_OK ||
        (err = w25q_read(0, &first, 1)) != FB_OK)
        return err;
    /* v1: the name sector as v1 writes it, or never written (then our default name)
     * with file bytes at 0. Sector 0 must be blank: v1's old config zone is not ours
     * to erase. */
    if (meta0_blank && (v1 || (meta1_blank && first != 0xFF))) {
        uint32_t size;
        if ((err = v1_name(name)) != FB_OK || (err = v1_size(&size)) != FB_OK)
            return err;
        return import_v1(name, size, true);
    }
    ours = false;
    if (!meta0_blank && (err = meta0_is_partial_log(&ours)) != FB_OK)
        return err;
    if (meta1_blank && meta0_blank && (err = data_samples_erased(&data_blank)) != FB_OK)
        return err;
    if (meta1_blank && (ours || data_blank)) {
        /* Blank, or our own first format cut short: formatted as it always was (the
         * eraser checks every block before erasing it). */
        df.unverified = !ours;
        return FB_OK;
    }
    /* Someone else's data: nothing is erased until the host clears the chip. */
    df.foreign = true;
    df.dirty_len = 0;
    return FB_OK;
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
        return mount_unformatted();
    /* Serial-number comparison so the generation may wrap. */
    df.active = (!valid[0] || (valid[1] && (int32_t)(gen[1] - gen[0]) > 0)) ? 1 : 0;
    df.gen = gen[df.active];
    df.meta_valid = true;
    df.next_slot = 1;
    if (df.active == 0) {
        /* Our log in sector 0 and the import record still in sector 1: it is v1's name
         * sector, which the first compaction into it will erase, not the eraser. */
        uint8_t r[REC_SIZE];
        int err = w25q_read(meta_addr(1, IMPORT_SLOT), r, sizeof r);
        if (err)
            return err;
        df.spare_v1 = r[0] == REC_IMPORT && rec_ok(r);
    }
    /* A formatted log says what is dirty (its CLEAR and ERASED records): never guess,
     * an eraser let loose on the file would destroy it. */
    df.dirty_len = 0;
    uint8_t chunk[W25Q_PAGE];
    for (uint16_t slot = 1; slot < SLOTS; slot++) {
        uint16_t in_chunk = slot % (W25Q_PAGE / REC_SIZE);
        if (in_chunk == 0 || slot == 1) {
            int err = w25q_read(meta_addr(df.active, (uint16_t)(slot - in_chunk)), chunk,
                                sizeof chunk);
            if (err)
                return err;
        }
        const uint8_t *r = &chunk[in_chunk * REC_SIZE];
        if (all_erased(r, REC_SIZE))
            continue;
        /* A slot that is not erased is used, even when torn by a cut: never reprogram. */
        df.next_slot = (uint16_t)(slot + 1);
        if (rec_ok(r))
            rec_apply(r);
    }
    /* An extent recorded by an append that a cut then stopped before its size record
     * starts past the end of the file: it holds nothing. */
    while (df.n_ext > 1 && df.ext[df.n_ext - 1].f > df.size)
        df.n_ext--;
    /* The range to erase always ends where the file starts and never reaches into it:
     * whatever the log says, only whole free sectors can be dirty. */
    uint32_t f = frontier();
    uint32_t room = used() ? ring_dist(ring_add(f, (W25Q_SECTOR - f % W25Q_SECTOR) % W25Q_SECTOR),
                                       df.ext[0].a)
                           : CAP;
    if (df.dirty_len > room)
        df.dirty_len = room; /* whole sectors after the file's last one */
    df.dirty_lo = ring_add(df.ext[0].a, CAP - df.dirty_len);
    /* The largest block the eraser may have been in when power went (it starts at
     * dirty_lo): never trusted to read blank. */
    df.er_force = df.dirty_len < W25Q_BLOCK64 ? df.dirty_len : W25Q_BLOCK64;
    return FB_OK;
}

/* ---- operations ---- */

static int op_record(bool continues)
{
    df.op = OP_RECORD;
    df.op_continues = continues;
    return rs_start();
}

int df_append_start(const uint8_t *data, size_t n)
{
    FB_ASSERT(df.op == OP_IDLE);
    if (n > DF_APPEND_MAX)
        return FB_EINVAL;
    if (df.foreign)
        return FB_EFULL; /* no room that is ours until CLEAR_FLASH */
    if (n > CAP - used())
        return FB_EFULL;
    if (n == 0)
        return FB_OK;
    df.src = data;
    df.len = (uint16_t)n;
    df.done = 0;
    df.skips = 0;
    df.repairs = 0;
    df.pos = frontier();
    df.op = OP_APPEND_NEXT;
    return FB_EAGAIN;
}

int df_set_name_start(const uint8_t name[FB_FILENAME_LEN])
{
    FB_ASSERT(df.op == OP_IDLE);
    if (!df_name_valid(name))
        return FB_ENAME;
    if (df.foreign)
        return FB_EFULL;
    df_gen++;
    /* rec_build takes the name from the state: build from a copy, keep the state. */
    uint8_t old[FB_FILENAME_LEN];
    memcpy(old, df.name, sizeof old);
    memcpy(df.name, name, sizeof old);
    rec_build(df.rec, REC_NAME, 0, 0, 0);
    memcpy(df.name, old, sizeof old);
    return op_record(false);
}

int df_clear_start(void)
{
    FB_ASSERT(df.op == OP_IDLE);
    df_gen++; /* before the first byte changes */
    if (df.foreign || df.unverified) {
        /* The host clears a chip we did not write: all of it is to be erased. */
        df.foreign = false;
        df.unverified = false;
        rec_build(df.rec, REC_CLEAR, 0, 0, CAP);
        return op_record(false);
    }
    /* The new file starts at the next sector boundary after the old one: blank there,
     * so appends can go on at once while everything behind it is erased. */
    uint32_t start = ring_add(frontier(), (W25Q_SECTOR - frontier() % W25Q_SECTOR) % W25Q_SECTOR);
    uint32_t lo = df.dirty_len ? df.dirty_lo : df.ext[0].a - df.ext[0].a % W25Q_SECTOR;
    uint32_t len = ring_dist(lo, start);
    if (len == 0 && (df.size > 0 || df.dirty_len))
        len = CAP; /* the old file (or the dirt) went all round the ring */
    rec_build(df.rec, REC_CLEAR, start, lo, len);
    return op_record(false);
}

/* Free bytes from p (a flash address at or past the frontier) to the file's start. */
static uint32_t room_after(uint32_t p)
{
    uint32_t d = ring_dist(p, df.ext[0].a);
    if (d == 0)
        return (df.size == 0 && df.done == 0) ? CAP : 0;
    return d;
}

/* The eraser holds the device for an append's next step: a record it writes (which
 * may be compacting the log), or its erase, unless the engine suspended it; then the
 * append programs outside the erased block (it is inside the range still to erase) and
 * writes its records, but a record that needs a log compaction (an erase, refused
 * while one is suspended) waits. */
static bool eraser_in_the_way(void)
{
    if (df.er == ER_RECORD)
        return true;
    if (df.er != ER_ERASE_WAIT)
        return false;
    bool compaction_erases = !(df.meta_valid && (df.next_slot < SLOTS || df.spare_clean));
    return !w25q_suspended() || compaction_erases;
}

/* Let the eraser go on (resumed if an append suspended it, in small blocks) while it is
 * in an append's way: dirty_hit (the address the append needs is in the range still to
 * erase), or the eraser holds the device for the append's next step. An append that is
 * about to erase (a repair) needs the eraser's erase finished, not just suspended: the
 * W25Q64 refuses every erase while one is suspended. FB_OK: out of the way. */
static int wait_eraser(bool dirty_hit, bool erasing)
{
    bool held = erasing ? (df.er == ER_ERASE_WAIT || df.er == ER_RECORD) : eraser_in_the_way();
    if (!dirty_hit && !held) {
        df.er_hurry = false;
        return FB_OK;
    }
    int err = w25q_resume();
    if (err)
        return err;
    df.er_hurry = true;
    err = er_poll();
    return err == FB_OK ? FB_EAGAIN : err;
}

/* Repair, copy-out step: the next page of [cp_s, cp_s + cp_len) goes to cp_t (checked
 * blank first: the copy sector may hold what an earlier repair or cut left there).
 * When the copy is complete, the REC_RELOC record makes it the place reads come from. */
static int repair_out(void)
{
    if (df.cp_done == df.cp_len) {
        rec_build(df.rec, REC_RELOC, df.cp_s, df.cp_t, df.cp_len);
        return op_record(true);
    }
    uint8_t buf[W25Q_PAGE];
    uint32_t k = df.cp_len - df.cp_done;
    if (k > W25Q_PAGE - df.cp_done % W25Q_PAGE)
        k = W25Q_PAGE - df.cp_done % W25Q_PAGE;
    int err = w25q_read(df.cp_t + df.cp_done, buf, k);
    if (err)
        return err;
    if (!all_erased(buf, k)) {
        err = w25q_erase_start(W25Q_ERASE_4K, df.cp_t);
        if (err)
            return err;
        df.cp_done = 0;
        df.op = OP_OUT_ERASE;
        return FB_EAGAIN;
    }
    err = w25q_read(df.cp_s + df.cp_done, buf, k);
    if (!err)
        err = w25q_program_start(df.cp_t + df.cp_done, buf, k);
    if (err)
        return err;
    df.chunk = (uint16_t)k;
    df.op = OP_OUT_WAIT;
    return FB_EAGAIN;
}

/* Repair, copy-back step (the REC_RELOC record is committed, the sector erased): the next
 * page comes back from the copy; when all is back, a REC_RELOC of length 0 ends it. */
static int repair_back(void)
{
    if (df.cp_done == df.rl_len) {
        rec_build(df.rec, REC_RELOC, df.rl_s, df.rl_t, 0);
        return op_record(true);
    }
    uint8_t buf[W25Q_PAGE];
    uint32_t k = df.rl_len - df.cp_done;
    if (k > W25Q_PAGE - df.cp_done % W25Q_PAGE)
        k = W25Q_PAGE - df.cp_done % W25Q_PAGE;
    int err = w25q_read(df.rl_t + df.cp_done, buf, k);
    if (!err)
        err = w25q_program_start(df.rl_s + df.cp_done, buf, k);
    if (err)
        return err;
    df.chunk = (uint16_t)k;
    df.op = OP_BACK_WAIT;
    return FB_EAGAIN;
}

/* Bytes an interrupted append left at df.pos (programming over them would AND them into
 * the new data). Clean the flash there so that the file goes on where it is:
 *  - df.pos starts a sector that holds no file byte: erase that sector;
 *  - otherwise the sector holds the file's last bytes [S, df.pos) and the leftovers:
 *    copy those bytes to the next sector T, record that reads of them come from T, erase
 *    S, program them back, record that S is whole again (docs/STORAGE.md "Repair").
 * No capacity is lost and no record stays behind. Only when the file is within two
 * sectors of the capacity is there no room for the copy: then the file continues at the
 * next page in a new extent (the rest of the page is lost). */
static int clean_at_pos(void)
{
    uint32_t in_sector = df.pos % W25Q_SECTOR;
    uint32_t s = df.pos - in_sector;
    uint32_t t = ring_add(s, W25Q_SECTOR);
    uint32_t room = room_after(df.pos);
    int err;
    if (in_sector == 0 ? room >= W25Q_SECTOR : room >= W25Q_SECTOR - in_sector + W25Q_SECTOR) {
        if ((err = wait_eraser(in_dirty(in_sector ? t : s), true)) != FB_OK)
            return err;
        if (++df.repairs > MAX_REPAIRS)
            return FB_ECORRUPT; /* cleaned and still not blank: the chip is failing */
        if (in_sector == 0) {
            err = w25q_erase_start(W25Q_ERASE_4K, s);
            if (err)
                return err;
            df.op = OP_CLEAN_WAIT;
            return FB_EAGAIN;
        }
        df.cp_s = s;
        df.cp_t = t;
        df.cp_len = in_sector;
        df.cp_done = 0;
        return repair_out();
    }
    uint32_t room_in_page = W25Q_PAGE - df.pos % W25Q_PAGE;
    uint32_t next = ring_add(df.pos, room_in_page);
    if (++df.skips > MAX_SKIPS)
        return FB_ECORRUPT;
    if (df.n_ext >= DF_MAX_EXTENTS ||
        ring_dist(df.ext[0].a, next) + (uint32_t)(df.len - df.done) > CAP - W25Q_PAGE)
        return FB_EFULL;
    df.pos = next;
    rec_build(df.rec, REC_EXTENT, df.size + df.done, next, 0);
    return op_record(true);
}

/* Next piece of an append: finish a repair a cut interrupted, wait for the eraser where
 * the file meets the range still to erase, clean what an interrupted append left
 * behind, program a page's worth. */
static int append_next(void)
{
    int err;
    if (df.rl_len) {
        if ((err = wait_eraser(in_dirty(df.rl_s), true)) != FB_OK)
            return err;
        /* A repair is recorded but not finished (a cut): the sector must be whole again
         * before anything is programmed in it. Erasing it again is always safe: its
         * bytes are in the copy, where reads find them. */
        err = w25q_erase_start(W25Q_ERASE_4K, df.rl_s);
        if (err)
            return err;
        df.cp_done = 0;
        df.op = OP_BACK_ERASE;
        return FB_EAGAIN;
    }
    if ((err = wait_eraser(df.done < df.len && in_dirty(df.pos), false)) != FB_OK)
        return err;
    if (df.done == df.len) {
        rec_build(df.rec, REC_SIZE_T, df.size + df.len, 0, 0);
        return op_record(false);
    }
    uint16_t room = (uint16_t)(W25Q_PAGE - df.pos % W25Q_PAGE);
    uint16_t left = (uint16_t)(df.len - df.done);
    df.chunk = left < room ? left : room;
    uint8_t cur[W25Q_PAGE];
    err = w25q_read(df.pos, cur, df.chunk);
    if (err)
        return err;
    if (!all_erased(cur, df.chunk))
        return clean_at_pos();
    err = w25q_program_start(df.pos, &df.src[df.done], df.chunk);
    if (err)
        return err;
    df.op = OP_PROGRAM_WAIT;
    return FB_EAGAIN;
}

static int op_step(void)
{
    int err;
    switch (df.op) {
    case OP_APPEND_NEXT:
        return append_next();
    case OP_PROGRAM_WAIT:
        err = w25q_poll();
        if (err)
            return err;
        df.pos = ring_add(df.pos, df.chunk);
        df.done = (uint16_t)(df.done + df.chunk);
        df.op = OP_APPEND_NEXT;
        return FB_EAGAIN;
    case OP_CLEAN_WAIT:
        err = w25q_poll();
        if (err)
            return err;
        df.op = OP_APPEND_NEXT;
        return FB_EAGAIN;
    case OP_OUT_ERASE:
    case OP_OUT_WAIT:
        err = w25q_poll();
        if (err)
            return err;
        if (df.op == OP_OUT_WAIT)
            df.cp_done += df.chunk;
        return repair_out();
    case OP_BACK_ERASE:
    case OP_BACK_WAIT:
        err = w25q_poll();
        if (err)
            return err;
        if (df.op == OP_BACK_WAIT)
            df.cp_done += df.chunk;
        return repair_back();
    case OP_RECORD:
        err = rs_poll();
        if (err)
            return err;
        if (df.op_continues) {
            df.op = OP_APPEND_NEXT;
            return FB_EAGAIN;
        }
        df.op = OP_IDLE;
        return FB_OK;
    default:
        return FB_OK;
    }
}

int df_poll(void)
{
    int ret = op_step();
    if (ret != FB_EAGAIN && ret != FB_OK) {
        /* Failed: whatever the state machines believed, the flash says what is stored.
         * A failed mount (device gone) leaves the empty state of df_reset(). An erase
         * the append had suspended is abandoned: the eraser starts again from the log. */
        w25q_abort();
        (void)df_mount();
    }
    return ret;
}

bool df_long_wait(void)
{
    return w25q_long_wait();
}

int df_background(void)
{
    FB_ASSERT(df.op == OP_IDLE && !w25q_suspended());
    if (!df_background_pending())
        return FB_OK;
    int err = er_poll();
    if (err != FB_OK && err != FB_EAGAIN) {
        w25q_abort();
        (void)df_mount();
        return err;
    }
    return df_background_pending() ? FB_EAGAIN : FB_OK;
}

bool df_foreign(void)
{
    return df.foreign;
}

bool df_background_pending(void)
{
    return df.dirty_len != 0 || df.er != ER_IDLE || spare_wanted();
}

bool df_background_busy(void)
{
    return df.er == ER_ERASE_WAIT || df.er == ER_RECORD;
}

/* Read flash bytes [a, a + k) (not wrapping the ring), the ones a repair in progress
 * holds elsewhere from their copy. */
static int flash_read(uint32_t a, uint8_t *dst, size_t k)
{
    if (df.rl_len && a < df.rl_s + df.rl_len && a + k > df.rl_s) {
        if (a < df.rl_s) {
            size_t m = df.rl_s - a;
            int err = w25q_read(a, dst, m);
            if (err)
                return err;
            a += (uint32_t)m;
            dst += m;
            k -= m;
        }
        size_t m = df.rl_s + df.rl_len - a;
        if (m > k)
            m = k;
        int err = w25q_read(df.rl_t + (a - df.rl_s), dst, m);
        if (err)
            return err;
        a += (uint32_t)m;
        dst += m;
        k -= m;
    }
    return k ? w25q_read(a, dst, k) : FB_OK;
}

int df_read(uint32_t offset, uint8_t *dst, size_t n)
{
    while (n && offset < df.size) {
        uint8_t i = (uint8_t)(df.n_ext - 1);
        while (df.ext[i].f > offset)
            i--;
        uint32_t end = i + 1u < df.n_ext ? df.ext[i + 1].f : df.size;
        uint32_t a = ring_add(df.ext[i].a, offset - df.ext[i].f);
        size_t k = n;
        if (k > end - offset)
            k = end - offset;
        if (k > CAP - a)
            k = CAP - a;
        int err = flash_read(a, dst, k);
        if (err)
            return err;
        dst += k;
        offset += (uint32_t)k;
        n -= k;
    }
    memset(dst, 0xFF, n);
    return FB_OK;
}

uint32_t df_generation(void)
{
    return df_gen;
}

uint32_t df_size(void)
{
    return df.size;
}

const uint8_t *df_name(void)
{
    return df.name;
}

/* The v1 rule, DAPLink's FAT short-name check (docs/PROTOCOL.md "Filenames"): what a v1
 * host could store, it can store here. Upper case, digits, FAT's symbols, spaces (the
 * STeaMi driver pads "MY LOG" to "MY LOG  "), 0x7F and 0x80-0xFF; lower case and FAT's
 * forbidden characters are refused. */
static bool name_char_ok(uint8_t c)
{
    if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == ' ' || c >= 0x7Fu)
        return true;
    return c != 0 && strchr("!#$%&'()-@^_`{}~", c) != NULL;
}

bool df_name_valid(const uint8_t name[FB_FILENAME_LEN])
{
    /* FAT reserves a leading space (no name); a leading 0x05 stands for 0xE5. */
    if (name[0] == ' ')
        return false;
    for (size_t i = 0; i < FB_FILENAME_LEN; i++)
        if (!name_char_ok(name[i]) && !(i == 0 && name[i] == 0x05u))
            return false;
    return true;
}
