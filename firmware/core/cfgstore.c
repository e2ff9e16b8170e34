/*
 * Config zone journal. Bank layout (2 KiB = two pages):
 *   [0, 16)      header: "FBJ1", sequence (u32 BE), CRC-16 of the snapshot,
 *                CRC-16 of header bytes 0..9, 4 x 0xFF
 *   [16, 1040)   snapshot of the zone
 *   [1040, 2048) journal: records, half-word aligned
 * Record: type ('W' write, 'C' clear), len, offset (u16 BE), len data bytes padded with
 * 0xFF to even, CRC-16 (BE) of everything before it.
 * Mount picks the valid bank (header CRC and snapshot CRC match) with the newest
 * sequence; its journal ends at the first erased half-word. With no valid bank the zone
 * is the board's factory config page when it has one (the STeaMi's, hal.h), else all
 * 0xFF; that page is only read: the first store snapshots it into a bank. A record that does not check
 * (torn by a cut) ends the journal too, and forces a compaction before the next record.
 */
#include "cfgstore.h"

#include <string.h>

#include "crc.h"
#include "errors.h"
#include "flashbridge/protocol.h"
#include "hal.h"

#define BANK_SIZE 2048u
#define HDR_SIZE 16u
#define SNAP_OFF HDR_SIZE
#define JOURNAL_OFF (SNAP_OFF + FB_CONFIG_SIZE)
#define MAGIC "FBJ1"
#define REC_HDR 4u
#define REC_MAX (REC_HDR + FB_WRITE_CONFIG_MAX + 2u)
#define CHUNK 256u

enum { REC_WRITE = 'W', REC_CLEAR = 'C' };

enum step {
    ST_IDLE,
    ST_RECORD,        /* program the pending record in the active journal */
    ST_ERASE_HEADER,  /* compaction into the other bank ... */
    ST_ERASE_REST,
    ST_SNAPSHOT,
    ST_HEADER,        /* ... its commit point */
};

static struct {
    int8_t active;     /* bank holding the zone, -1 = none (zone all 0xFF) */
    uint32_t seq;
    uint16_t jend;     /* end of the active journal (bank offset) */
    bool torn;         /* the journal ends in a torn record: compact before appending */
    enum step step;
    uint16_t done;     /* snapshot bytes programmed in this compaction */
    uint16_t snap_crc;
    bool from_stage;   /* compaction source: the transaction's staged zone */
    uint8_t rec[REC_MAX];
    uint8_t rec_len;   /* 0 = no pending record */
    bool txn;
} cfg;

/* The zone a transaction builds, committed as one compaction. */
static uint8_t stage[FB_CONFIG_SIZE];

static uint32_t bank_base(int b)
{
    return hal_iflash_region_base() + (uint32_t)b * BANK_SIZE;
}

static uint16_t get16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint8_t rec_size(uint8_t len)
{
    return (uint8_t)(REC_HDR + len + (len & 1u) + 2u);
}

/* Build a record in cfg.rec. */
static void rec_build(uint8_t type, uint16_t off, const uint8_t *data, uint8_t len)
{
    uint8_t *r = cfg.rec;
    r[0] = type;
    r[1] = len;
    put16(&r[2], off);
    if (len)
        memcpy(&r[REC_HDR], data, len);
    if (len & 1u)
        r[REC_HDR + len] = 0xFF;
    uint8_t body = (uint8_t)(REC_HDR + len + (len & 1u));
    put16(&r[body], fb_crc16(FB_CRC16_INIT, r, body));
    cfg.rec_len = rec_size(len);
}

/* Overlay a record's effect on the window [off, off + n) of the zone held in dst. */
static void rec_overlay(const uint8_t *r, uint16_t off, uint8_t *dst, size_t n)
{
    if (r[0] == REC_CLEAR) {
        memset(dst, FB_CONFIG_ERASED, n);
        return;
    }
    uint16_t ro = get16(&r[2]);
    for (uint8_t i = 0; i < r[1]; i++) {
        uint32_t z = (uint32_t)ro + i;
        if (z >= off && z < (uint32_t)off + n)
            dst[z - off] = r[REC_HDR + i];
    }
}

/* Read the record at bank offset pos of bank b into r; its size, or 0 at the end of the
 * journal (erased) and -1 for a record that does not check. */
static int rec_load(int b, uint16_t pos, uint8_t r[REC_MAX])
{
    if (pos + REC_HDR + 2u > BANK_SIZE)
        return 0;
    hal_iflash_read(bank_base(b) + pos, r, 2);
    if (r[0] == 0xFF && r[1] == 0xFF)
        return 0;
    if ((r[0] != REC_WRITE && r[0] != REC_CLEAR) || r[1] > FB_WRITE_CONFIG_MAX)
        return -1;
    uint8_t size = rec_size(r[1]);
    if (pos + size > BANK_SIZE)
        return -1;
    hal_iflash_read(bank_base(b) + pos, r, size);
    uint8_t body = (uint8_t)(size - 2u);
    if (get16(&r[body]) != fb_crc16(FB_CRC16_INIT, r, body))
        return -1;
    if (r[0] == REC_WRITE && (uint32_t)get16(&r[2]) + r[1] > FB_CONFIG_SIZE)
        return -1;
    return size;
}

/* The stored zone, window [off, off + n): snapshot, then the journal in order, then the
 * pending record (a compaction folds it in). */
static void zone_window(uint16_t off, uint8_t *dst, size_t n, bool with_pending)
{
    if (cfg.active < 0) {
        uint32_t factory = hal_iflash_factory_page();
        if (factory)
            hal_iflash_read(factory + off, dst, n);
        else
            memset(dst, FB_CONFIG_ERASED, n);
    } else {
        hal_iflash_read(bank_base(cfg.active) + SNAP_OFF + off, dst, n);
        uint8_t r[REC_MAX];
        for (uint16_t pos = JOURNAL_OFF; pos < cfg.jend;) {
            int size = rec_load(cfg.active, pos, r);
            if (size <= 0)
                break;
            rec_overlay(r, off, dst, n);
            pos = (uint16_t)(pos + size);
        }
    }
    if (with_pending && cfg.rec_len)
        rec_overlay(cfg.rec, off, dst, n);
}

static bool header_ok(int b, uint32_t *seq, uint16_t *snap_crc)
{
    uint8_t h[HDR_SIZE];
    hal_iflash_read(bank_base(b), h, sizeof h);
    if (memcmp(h, MAGIC, 4) != 0 || get16(&h[10]) != fb_crc16(FB_CRC16_INIT, h, 10))
        return false;
    *seq = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    *snap_crc = get16(&h[8]);
    uint16_t crc = FB_CRC16_INIT;
    uint8_t buf[64];
    for (uint16_t i = 0; i < FB_CONFIG_SIZE; i = (uint16_t)(i + sizeof buf)) {
        hal_iflash_read(bank_base(b) + SNAP_OFF + i, buf, sizeof buf);
        crc = fb_crc16(crc, buf, sizeof buf);
    }
    return crc == *snap_crc;
}

/* Changes before the committed zone's bytes can change (a store starts, a mount):
 * the USB drive's seqlock, docs/USB.md. Outside cfg, which cfg_mount() wipes. */
static uint32_t cfg_gen;

uint32_t cfg_generation(void)
{
    return cfg_gen;
}

void cfg_mount(void)
{
    cfg_gen++;
    uint32_t seq[2];
    uint16_t crc[2];
    bool ok0 = header_ok(0, &seq[0], &crc[0]);
    bool ok1 = header_ok(1, &seq[1], &crc[1]);
    memset(&cfg, 0, sizeof cfg);
    cfg.active = -1;
    if (ok0 && (!ok1 || (int32_t)(seq[0] - seq[1]) > 0))
        cfg.active = 0;
    else if (ok1)
        cfg.active = 1;
    if (cfg.active < 0)
        return;
    cfg.seq = seq[cfg.active];
    uint8_t r[REC_MAX];
    uint16_t pos = JOURNAL_OFF;
    for (;;) {
        int size = rec_load(cfg.active, pos, r);
        if (size == 0)
            break;
        if (size < 0) {
            cfg.torn = true; /* its length cannot be trusted: nothing goes after it */
            break;
        }
        pos = (uint16_t)(pos + size);
    }
    cfg.jend = pos;
}

static int store(void)
{
    FB_ASSERT(cfg.step == ST_IDLE);
    cfg_gen++;
    if (cfg.active >= 0 && !cfg.torn && !cfg.from_stage &&
        cfg.jend + cfg.rec_len <= BANK_SIZE)
        cfg.step = ST_RECORD;
    else
        cfg.step = ST_ERASE_HEADER;
    cfg.done = 0;
    return FB_EAGAIN;
}

int cfg_write_start(uint16_t off, const uint8_t *data, size_t n)
{
    if (off > FB_CONFIG_SIZE || n > FB_CONFIG_SIZE - off || n > FB_WRITE_CONFIG_MAX)
        return FB_EINVAL;
    if (cfg.txn) {
        memcpy(&stage[off], data, n);
        return FB_OK;
    }
    if (n == 0)
        return FB_OK;
    rec_build(REC_WRITE, off, data, (uint8_t)n);
    return store();
}

int cfg_clear_start(void)
{
    if (cfg.txn) {
        memset(stage, FB_CONFIG_ERASED, sizeof stage);
        return FB_OK;
    }
    rec_build(REC_CLEAR, 0, NULL, 0);
    return store();
}

int cfg_begin(void)
{
    zone_window(0, stage, sizeof stage, false);
    cfg.txn = true;
    return FB_OK;
}

int cfg_commit_start(void)
{
    if (!cfg.txn)
        return FB_EINVAL;
    cfg.from_stage = true;
    cfg.rec_len = 0;
    return store();
}

void cfg_abort(void)
{
    cfg.txn = false;
}

static int step(int target)
{
    uint8_t buf[CHUNK];
    int err;
    switch (cfg.step) {
    case ST_RECORD:
        cfg.step = ST_IDLE;
        err = hal_iflash_program(bank_base(cfg.active) + cfg.jend, cfg.rec, cfg.rec_len);
        if (!err) {
            cfg.jend = (uint16_t)(cfg.jend + cfg.rec_len);
            cfg.rec_len = 0;
        }
        return err;
    case ST_ERASE_HEADER:
        /* The header's page first: from here on this bank cannot pass for valid. */
        cfg.step = ST_ERASE_REST;
        return hal_iflash_erase_page(bank_base(target));
    case ST_ERASE_REST:
        cfg.step = ST_SNAPSHOT;
        cfg.snap_crc = FB_CRC16_INIT;
        return hal_iflash_erase_page(bank_base(target) + hal_iflash_page_size());
    case ST_SNAPSHOT:
        if (cfg.from_stage)
            memcpy(buf, &stage[cfg.done], CHUNK);
        else
            zone_window(cfg.done, buf, CHUNK, true);
        cfg.snap_crc = fb_crc16(cfg.snap_crc, buf, CHUNK);
        err = hal_iflash_program(bank_base(target) + SNAP_OFF + cfg.done, buf, CHUNK);
        cfg.done = (uint16_t)(cfg.done + CHUNK);
        if (cfg.done >= FB_CONFIG_SIZE)
            cfg.step = ST_HEADER;
        return err;
    default: { /* ST_HEADER: the commit point */
        uint8_t h[HDR_SIZE];
        uint32_t seq = cfg.seq + 1u;
        memcpy(h, MAGIC, 4);
        h[4] = (uint8_t)(seq >> 24);
        h[5] = (uint8_t)(seq >> 16);
        h[6] = (uint8_t)(seq >> 8);
        h[7] = (uint8_t)seq;
        put16(&h[8], cfg.snap_crc);
        put16(&h[10], fb_crc16(FB_CRC16_INIT, h, 10));
        memset(&h[12], 0xFF, 4);
        cfg.step = ST_IDLE;
        err = hal_iflash_program(bank_base(target), h, HDR_SIZE);
        if (!err) {
            cfg.active = (int8_t)target;
            cfg.seq = seq;
            cfg.jend = JOURNAL_OFF;
            cfg.torn = false;
            cfg.rec_len = 0;
            cfg.from_stage = false;
            cfg.txn = false;
        }
        return err;
    }
    }
}

int cfg_poll(void)
{
    if (cfg.step == ST_IDLE)
        return FB_OK;
    int err = step(cfg.active == 0 ? 1 : 0);
    if (err) {
        cfg_mount(); /* back to what the flash holds (a failed commit ends its transaction) */
        return err;
    }
    return cfg.step == ST_IDLE ? FB_OK : FB_EAGAIN;
}

void cfg_read(uint16_t off, uint8_t *dst, size_t n)
{
    size_t have = off < FB_CONFIG_SIZE ? FB_CONFIG_SIZE - off : 0;
    if (have > n)
        have = n;
    if (have)
        zone_window(off, dst, have, false);
    memset(dst + have, 0xFF, n - have);
}
