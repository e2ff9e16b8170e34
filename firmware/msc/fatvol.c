/* Read-only FAT volume generated per sector; see fatvol.h and docs/USB.md.
 *
 * Layout (superfloppy, no partition table): boot sector, FAT x2, the root directory
 * (its first sector holds our entries), then the data clusters: CONFIG.BIN, INFO.TXT, and a run reserved for the data
 * file's whole capacity. Because the geometry depends only on the capacity, a growing
 * file changes its directory entry, its FAT chain and INFO.TXT, nothing else. */
#include "fatvol.h"

#include <string.h>

#define RESERVED_SECTORS 1u
#define NUM_FATS         2u
#define ROOT_ENTRIES     512u /* we use 4; 512 is what the FAT spec asks of FAT16 "for
                               * maximum compatibility" */
#define ROOT_SECTORS     (ROOT_ENTRIES * 32u / FATVOL_SECTOR)
#define FAT12_MAX        4084u  /* clusters; more is FAT16 (Microsoft FAT spec rule) */
#define FAT16_MAX        65524u
#define MARGIN           16u /* clusters kept away from the FAT12/16 edge, where drivers
                              * that count clusters differently would disagree */
#define ATTR_RO          0x01u
#define ATTR_LABEL       0x08u
#define DOS_DATE_1980    0x0021u /* 1980-01-01: the device has no clock */
#define INFO_MAX_VERSION 32u

static const uint8_t k_config_name[FATVOL_NAME_LEN] = "CONFIG  BIN";
static const uint8_t k_info_name[FATVOL_NAME_LEN] = "INFO    TXT";
static const uint8_t k_fallback_name[FATVOL_NAME_LEN] = "DATA    BIN";

static void put16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v);
    put16(p + 2, v >> 16);
}

static uint32_t div_up(uint32_t a, uint32_t b)
{
    return a / b + (a % b != 0);
}

static uint32_t cluster_bytes(const struct fatvol *v)
{
    return (uint32_t)v->spc * FATVOL_SECTOR;
}

static uint32_t config_clusters(const struct fatvol *v)
{
    return div_up(FATVOL_CONFIG_SIZE, cluster_bytes(v));
}

static uint32_t info_cluster(const struct fatvol *v)
{
    return 2u + config_clusters(v);
}

static uint32_t file_clusters(const struct fatvol *v)
{
    return div_up(v->snap.size, cluster_bytes(v));
}

bool fatvol_init(struct fatvol *v, const struct fatvol_source *src, const struct fatvol_params *p)
{
    memset(v, 0, sizeof *v);
    v->src = src;
    v->version = p->version;
    v->capacity = p->capacity;
    /* Smallest cluster that keeps the count within FAT16: small clusters waste nothing
     * and the count alone picks FAT12 or FAT16. */
    uint32_t n = 0;
    for (v->spc = 1; v->spc <= 64; v->spc = (uint8_t)(v->spc * 2u)) {
        n = info_cluster(v) + 1u - 2u + div_up(p->capacity, cluster_bytes(v));
        if (n <= FAT16_MAX - MARGIN)
            break;
    }
    if (n > FAT16_MAX - MARGIN)
        return false;
    if (n + MARGIN > FAT12_MAX && n <= FAT12_MAX + MARGIN)
        n = FAT12_MAX + MARGIN + 1u; /* spare free clusters at the end */
    v->clusters = n;
    v->fat16 = n > FAT12_MAX;
    uint32_t fat_bytes = v->fat16 ? (n + 2u) * 2u : div_up((n + 2u) * 3u, 2u);
    v->fat_sectors = (uint16_t)div_up(fat_bytes, FATVOL_SECTOR);
    v->data_lba = RESERVED_SECTORS + NUM_FATS * v->fat_sectors + ROOT_SECTORS;
    v->total = v->data_lba + n * v->spc;
    v->file_cl = (uint16_t)(info_cluster(v) + 1u);
    v->serial = p->serial;
    fatvol_apply(v, true);
    return true;
}

uint32_t fatvol_sectors(const struct fatvol *v)
{
    return v->total;
}

/* ---- change policy ---- */

/* Anything but a pure append (or no change) needs a new snapshot at once: the old one
 * would show bytes that are gone. */
static bool changed_in_place(const struct fatvol *v, const struct fatvol_state *st)
{
    return st->file_gen != v->snap.file_gen || st->config_gen != v->snap.config_gen ||
           st->size < v->snap.size || memcmp(st->name, v->snap.name, FATVOL_NAME_LEN) != 0;
}

void fatvol_poll(struct fatvol *v, uint32_t now_ms)
{
    struct fatvol_state st;
    v->src->state(v->src->ctx, &st);
    if (changed_in_place(v, &st)) {
        v->due = true;
        return;
    }
    if (st.size == v->snap.size) {
        v->growing = false;
        return;
    }
    if (!v->growing) {
        v->growing = true;
        v->first_ms = now_ms;
        v->seen_ms = now_ms;
        v->seen_size = st.size;
    } else if (st.size != v->seen_size) {
        v->seen_size = st.size;
        v->seen_ms = now_ms;
    }
    if ((uint32_t)(now_ms - v->seen_ms) >= FATVOL_SETTLE_MS ||
        (uint32_t)(now_ms - v->first_ms) >= FATVOL_MAX_DELAY_MS)
        v->due = true;
}

static bool name_char_ok(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c != 0 && strchr("!#$%&'()-@^_`{}~", c) != NULL);
}

/* The data file's directory name: upper case; a name FAT cannot hold becomes DATA.BIN;
 * a clash with our own files gets "~1" in its name part. */
static void shown_name(struct fatvol *v)
{
    uint8_t *s = v->shown;
    memcpy(s, v->snap.name, FATVOL_NAME_LEN);
    bool ok = s[0] != ' ';
    bool in_pad[2] = {false, false};
    for (uint32_t i = 0; i < FATVOL_NAME_LEN && ok; i++) {
        uint32_t part = i >= 8;
        if (s[i] >= 'a' && s[i] <= 'z')
            s[i] = (uint8_t)(s[i] - 'a' + 'A');
        if (s[i] == ' ')
            in_pad[part] = true;
        else
            ok = !in_pad[part] && name_char_ok(s[i]);
    }
    if (!ok)
        memcpy(s, k_fallback_name, FATVOL_NAME_LEN);
    if (memcmp(s, k_config_name, FATVOL_NAME_LEN) == 0 ||
        memcmp(s, k_info_name, FATVOL_NAME_LEN) == 0) {
        uint32_t end = 0;
        while (end < 6 && s[end] != ' ')
            end++;
        s[end] = '~';
        s[end + 1] = '1';
    }
}

bool fatvol_apply(struct fatvol *v, bool force)
{
    struct fatvol_state st;
    v->src->state(v->src->ctx, &st);
    if (!force && !v->due && !changed_in_place(v, &st))
        return false;
    if (st.size > v->capacity)
        st.size = v->capacity;
    v->snap = st;
    shown_name(v);
    /* A new serial for every snapshot: a PC that compares serials after a media
     * change (Windows does) takes it as a new volume instead of trusting its cache. */
    v->serial++;
    v->due = false;
    v->growing = false;
    return true;
}

/* ---- sector builders ---- */

static void boot_sector(const struct fatvol *v, uint8_t *b)
{
    static const uint8_t jump_oem[11] = {0xEB, 0x3C, 0x90, 'F', 'L', 'S', 'H', 'B', 'R', 'D', 'G'};
    memcpy(b, jump_oem, sizeof jump_oem);
    put16(b + 11, FATVOL_SECTOR);
    b[13] = v->spc;
    put16(b + 14, RESERVED_SECTORS);
    b[16] = NUM_FATS;
    put16(b + 17, ROOT_ENTRIES);
    if (v->total < 0x10000u)
        put16(b + 19, v->total);
    else
        put32(b + 32, v->total);
    b[21] = 0xF8; /* media: fixed disk; repeated in FAT entry 0 */
    put16(b + 22, v->fat_sectors);
    put16(b + 24, 63); /* CHS geometry: only old BIOS code looks */
    put16(b + 26, 255);
    b[36] = 0x80;
    b[38] = 0x29; /* the serial, label and type below are present */
    put32(b + 39, v->serial);
    memcpy(b + 43, "FLASHBRIDGE", 11);
    memcpy(b + 54, v->fat16 ? "FAT16   " : "FAT12   ", 8);
    /* Boot code: not a system disk; halt if someone boots it anyway (cli; hlt; jmp). */
    b[62] = 0xFA;
    b[63] = 0xF4;
    b[64] = 0xEB;
    b[65] = 0xFD;
    b[510] = 0x55;
    b[511] = 0xAA;
}

static uint32_t fat_entry(const struct fatvol *v, uint32_t n)
{
    uint32_t eoc = v->fat16 ? 0xFFFFu : 0xFFFu;
    uint32_t ic = info_cluster(v);
    uint32_t fc = file_clusters(v);
    if (n == 0)
        return eoc & 0xFFF8u; /* media byte 0xF8 with the high bits set */
    if (n == 1 || n == ic)
        return eoc;
    if (n < ic) /* n >= 2 here */
        return n + 1u == ic ? eoc : n + 1u;
    if (n >= v->file_cl && n < v->file_cl + fc)
        return n + 1u == v->file_cl + fc ? eoc : n + 1u;
    return 0; /* free, or past the last cluster */
}

static void fat_sector(const struct fatvol *v, uint32_t s, uint8_t *b)
{
    uint32_t base = s * FATVOL_SECTOR;
    for (uint32_t i = 0; i < FATVOL_SECTOR; i++) {
        uint32_t at = base + i;
        if (v->fat16) {
            uint32_t e = fat_entry(v, at / 2u);
            b[i] = (uint8_t)(at & 1u ? e >> 8 : e);
        } else {
            /* FAT12: entries 2k and 2k+1 share three bytes, across sector edges too. */
            uint32_t k = at / 3u;
            uint32_t e0 = fat_entry(v, 2u * k), e1 = fat_entry(v, 2u * k + 1u);
            switch (at % 3u) {
            case 0: b[i] = (uint8_t)e0; break;
            case 1: b[i] = (uint8_t)((e0 >> 8) | (e1 << 4)); break;
            default: b[i] = (uint8_t)(e1 >> 4); break;
            }
        }
    }
}

static uint32_t put_str(uint8_t *b, uint32_t at, const char *s, uint32_t max)
{
    for (uint32_t i = 0; i < max && s[i] != '\0'; i++)
        b[at++] = (uint8_t)s[i];
    return at;
}

static uint32_t put_dec(uint8_t *b, uint32_t at, uint32_t n)
{
    char tmp[11];
    uint32_t i = sizeof tmp - 1u;
    tmp[i] = '\0';
    do {
        tmp[--i] = (char)('0' + n % 10u);
        n /= 10u;
    } while (n != 0);
    return put_str(b, at, &tmp[i], 10);
}

/* "NAME.EXT" from a space-padded 8.3 name. */
static uint32_t put_83(uint8_t *b, uint32_t at, const uint8_t *name)
{
    for (uint32_t i = 0; i < 8 && name[i] != ' '; i++)
        b[at++] = name[i];
    if (name[8] != ' ')
        b[at++] = '.';
    for (uint32_t i = 8; i < FATVOL_NAME_LEN && name[i] != ' '; i++)
        b[at++] = name[i];
    return at;
}

/* INFO.TXT into b (at most 512 bytes: it lives in one cluster); returns its length. */
static uint32_t info_text(const struct fatvol *v, uint8_t *b)
{
    uint32_t at = put_str(b, 0, "flashbridge firmware ", 32);
    at = put_str(b, at, v->version, INFO_MAX_VERSION);
    at = put_str(b, at, "\r\nData file: ", 32);
    at = put_83(b, at, v->shown);
    at = put_str(b, at, "\r\nFile size: ", 32);
    at = put_dec(b, at, v->snap.size);
    at = put_str(b, at, " bytes\r\nFree space: ", 32);
    at = put_dec(b, at, v->capacity - v->snap.size);
    at = put_str(b, at, " bytes\r\nConfig zone: CONFIG.BIN, 1024 bytes\r\n", 64);
    return at;
}

static void dir_entry(uint8_t *e, const uint8_t *name, uint8_t attr, uint32_t cl, uint32_t size)
{
    memcpy(e, name, FATVOL_NAME_LEN);
    e[11] = attr;
    put16(e + 16, DOS_DATE_1980); /* created */
    put16(e + 18, DOS_DATE_1980); /* accessed */
    put16(e + 24, DOS_DATE_1980); /* written */
    put16(e + 26, cl);
    put32(e + 28, size);
}

static void root_sector(const struct fatvol *v, uint8_t *b)
{
    uint32_t info_len = info_text(v, b);
    memset(b, 0, FATVOL_SECTOR);
    static const uint8_t label[FATVOL_NAME_LEN] = "FLASHBRIDGE";
    dir_entry(b, label, ATTR_LABEL, 0, 0);
    dir_entry(b + 32, k_config_name, ATTR_RO, 2, FATVOL_CONFIG_SIZE);
    dir_entry(b + 64, k_info_name, ATTR_RO, info_cluster(v), info_len);
    /* An empty file owns no cluster. */
    dir_entry(b + 96, v->shown, ATTR_RO, v->snap.size ? v->file_cl : 0, v->snap.size);
}

/* The source's bytes, then the seqlock check of fatvol.h's contract. */
static int source_read(struct fatvol *v, bool config, uint32_t off, uint8_t *b, uint32_t n)
{
    const struct fatvol_source *s = v->src;
    int rc = config ? s->read_config(s->ctx, off, b, n) : s->read_file(s->ctx, off, b, n);
    if (rc != FATVOL_OK)
        return rc < 0 && rc >= FATVOL_E_BUSY ? rc : FATVOL_E_IO;
    struct fatvol_state st;
    s->state(s->ctx, &st);
    if (config ? st.config_gen != v->snap.config_gen : st.file_gen != v->snap.file_gen) {
        memset(b, 0, n);
        return FATVOL_E_STALE;
    }
    return FATVOL_OK;
}

static int data_sector(struct fatvol *v, uint32_t lba, uint8_t *b)
{
    uint32_t rel = lba - v->data_lba;
    uint32_t cl = rel / v->spc + 2u;
    uint32_t in_cl = rel % v->spc * FATVOL_SECTOR;
    uint32_t ic = info_cluster(v);
    if (cl < ic) {
        uint32_t off = (cl - 2u) * cluster_bytes(v) + in_cl;
        if (off < FATVOL_CONFIG_SIZE) {
            uint32_t n = FATVOL_CONFIG_SIZE - off;
            return source_read(v, true, off, b, n < FATVOL_SECTOR ? n : FATVOL_SECTOR);
        }
    } else if (cl == ic) {
        if (in_cl == 0)
            info_text(v, b);
    } else if (cl >= v->file_cl) {
        uint32_t off = (cl - v->file_cl) * cluster_bytes(v) + in_cl;
        if (off < v->snap.size) {
            uint32_t n = v->snap.size - off;
            return source_read(v, false, off, b, n < FATVOL_SECTOR ? n : FATVOL_SECTOR);
        }
    }
    return FATVOL_OK;
}

int fatvol_read(struct fatvol *v, uint32_t lba, uint8_t *buf)
{
    memset(buf, 0, FATVOL_SECTOR);
    if (lba >= v->total)
        return FATVOL_E_RANGE;
    uint32_t root_lba = RESERVED_SECTORS + NUM_FATS * v->fat_sectors;
    if (lba >= v->data_lba)
        return data_sector(v, lba, buf);
    if (lba == 0)
        boot_sector(v, buf);
    else if (lba < root_lba)
        fat_sector(v, (lba - RESERVED_SECTORS) % v->fat_sectors, buf);
    else if (lba == root_lba)
        root_sector(v, buf);
    /* else: the rest of the root directory, free entries */
    return FATVOL_OK;
}
