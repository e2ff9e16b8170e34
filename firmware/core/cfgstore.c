/*
 * Config zone, first version: two copies (A/B), each = data page + header page.
 * Header (16 bytes at the start of the header page): "FBC1", sequence (u32 BE),
 * CRC-16 of the 1024 data bytes, CRC-16 of header bytes 0..9 (both BE), 4 x 0xFF.
 */
#include "cfgstore.h"

#include <string.h>

#include "crc.h"
#include "errors.h"
#include "flashbridge/protocol.h"
#include "hal.h"

#define HDR_SIZE 16u
#define MAGIC "FBC1"
#define PROGRAM_CHUNK 256u

enum step { ST_IDLE, ST_ERASE_HEADER, ST_ERASE_DATA, ST_PROGRAM_DATA, ST_PROGRAM_HEADER };

static struct {
    uint8_t zone[FB_CONFIG_SIZE]; /* RAM mirror */
    int8_t current;               /* copy holding the zone, -1 = none (all 0xFF) */
    uint32_t seq;
    enum step step;
    uint16_t programmed;          /* data bytes programmed in this store */
} cfg;

static uint32_t copy_base(int copy)
{
    /* Each copy takes two pages; the port guarantees the region holds four. */
    return hal_iflash_region_base() + (uint32_t)copy * 2u * hal_iflash_page_size();
}

static uint32_t header_addr(int copy)
{
    return copy_base(copy) + hal_iflash_page_size();
}

static void header_build(uint8_t h[HDR_SIZE], uint32_t seq, uint16_t data_crc)
{
    memcpy(h, MAGIC, 4);
    h[4] = (uint8_t)(seq >> 24);
    h[5] = (uint8_t)(seq >> 16);
    h[6] = (uint8_t)(seq >> 8);
    h[7] = (uint8_t)seq;
    h[8] = (uint8_t)(data_crc >> 8);
    h[9] = (uint8_t)data_crc;
    uint16_t crc = fb_crc16(FB_CRC16_INIT, h, 10);
    h[10] = (uint8_t)(crc >> 8);
    h[11] = (uint8_t)crc;
    memset(&h[12], 0xFF, 4);
}

/* Copy c is valid if its header checks and its data matches the header's CRC; the
 * data is then left in cfg.zone. */
static bool load_copy(int c, uint32_t *seq)
{
    uint8_t h[HDR_SIZE];
    hal_iflash_read(header_addr(c), h, sizeof h);
    uint16_t hcrc = fb_crc16(FB_CRC16_INIT, h, 10);
    if (memcmp(h, MAGIC, 4) != 0 || h[10] != (uint8_t)(hcrc >> 8) || h[11] != (uint8_t)hcrc)
        return false;
    hal_iflash_read(copy_base(c), cfg.zone, FB_CONFIG_SIZE);
    uint16_t dcrc = fb_crc16(FB_CRC16_INIT, cfg.zone, FB_CONFIG_SIZE);
    if (h[8] != (uint8_t)(dcrc >> 8) || h[9] != (uint8_t)dcrc)
        return false;
    *seq = (uint32_t)h[4] << 24 | (uint32_t)h[5] << 16 | (uint32_t)h[6] << 8 | h[7];
    return true;
}

void cfg_mount(void)
{
    uint32_t seq[2];
    bool ok0 = load_copy(0, &seq[0]);
    bool ok1 = load_copy(1, &seq[1]);
    cfg.step = ST_IDLE;
    cfg.current = -1;
    cfg.seq = 0;
    if (ok0 && (!ok1 || (int32_t)(seq[0] - seq[1]) > 0))
        cfg.current = 0;
    else if (ok1)
        cfg.current = 1;
    if (cfg.current < 0) {
        memset(cfg.zone, FB_CONFIG_ERASED, FB_CONFIG_SIZE);
        return;
    }
    cfg.seq = seq[cfg.current];
    (void)load_copy(cfg.current, &seq[cfg.current]); /* zone may hold the other copy */
}

static int store_start(void)
{
    FB_ASSERT(cfg.step == ST_IDLE);
    cfg.step = ST_ERASE_HEADER;
    cfg.programmed = 0;
    return FB_EAGAIN;
}

int cfg_write_start(uint16_t off, const uint8_t *data, size_t n)
{
    if (off > FB_CONFIG_SIZE || n > FB_CONFIG_SIZE - off)
        return FB_EINVAL;
    memcpy(&cfg.zone[off], data, n);
    return store_start();
}

int cfg_clear_start(void)
{
    memset(cfg.zone, FB_CONFIG_ERASED, FB_CONFIG_SIZE);
    return store_start();
}

static int step(int target)
{
    switch (cfg.step) {
    case ST_ERASE_HEADER:
        /* Header first: from here on the target copy cannot be mistaken for valid. */
        cfg.step = ST_ERASE_DATA;
        return hal_iflash_erase_page(header_addr(target));
    case ST_ERASE_DATA:
        cfg.step = ST_PROGRAM_DATA;
        return hal_iflash_erase_page(copy_base(target));
    case ST_PROGRAM_DATA: {
        uint32_t at = cfg.programmed;
        cfg.programmed = (uint16_t)(cfg.programmed + PROGRAM_CHUNK);
        if (cfg.programmed >= FB_CONFIG_SIZE)
            cfg.step = ST_PROGRAM_HEADER;
        return hal_iflash_program(copy_base(target) + at, &cfg.zone[at], PROGRAM_CHUNK);
    }
    default: { /* ST_PROGRAM_HEADER: the commit point */
        uint8_t h[HDR_SIZE];
        header_build(h, cfg.seq + 1u, fb_crc16(FB_CRC16_INIT, cfg.zone, FB_CONFIG_SIZE));
        cfg.step = ST_IDLE;
        return hal_iflash_program(header_addr(target), h, HDR_SIZE);
    }
    }
}

int cfg_poll(void)
{
    if (cfg.step == ST_IDLE)
        return FB_OK;
    int target = cfg.current == 0 ? 1 : 0;
    bool last = cfg.step == ST_PROGRAM_HEADER;
    int err = step(target);
    if (err) {
        cfg_mount(); /* the mirror goes back to what is stored */
        return err;
    }
    if (!last)
        return FB_EAGAIN;
    cfg.current = (int8_t)target;
    cfg.seq++;
    return FB_OK;
}

void cfg_read(uint16_t off, uint8_t *dst, size_t n)
{
    size_t have = off < FB_CONFIG_SIZE ? FB_CONFIG_SIZE - off : 0;
    if (have > n)
        have = n;
    memcpy(dst, &cfg.zone[off < FB_CONFIG_SIZE ? off : 0], have);
    memset(dst + have, 0xFF, n - have);
}
