/* A read-only FAT12/FAT16 volume built one 512-byte sector at a time, on demand, from
 * the data file, the config zone and a generated INFO.TXT. No image is kept in RAM:
 * every sector is computed from a small snapshot of the source's state (size, name,
 * generations), so the volume a PC reads is always self-consistent.
 *
 * Portable: no USB, no registers, no OS. The SCSI layer (scsi.h) serves it; the
 * layout and the change policy are documented in docs/USB.md. */
#ifndef FB_FATVOL_H
#define FB_FATVOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FATVOL_SECTOR      512u
#define FATVOL_NAME_LEN    11u   /* 8 + 3, space padded, as FB_FILENAME_LEN */
#define FATVOL_CONFIG_SIZE 1024u /* CONFIG.BIN: the whole config zone */

/* Appends are shown once the file has not grown for FATVOL_SETTLE_MS, or at the latest
 * FATVOL_MAX_DELAY_MS after the first unshown append (a steady logger still shows up). */
#define FATVOL_SETTLE_MS    1000u
#define FATVOL_MAX_DELAY_MS 10000u

/* fatvol_read results */
#define FATVOL_OK       0
#define FATVOL_E_RANGE  (-1) /* LBA past the end of the volume */
#define FATVOL_E_STALE  (-2) /* the snapshot no longer matches the source: file cleared,
                              * renamed or config rewritten; fatvol_apply() then report
                              * a medium change */
#define FATVOL_E_IO     (-3) /* the source's read failed */
#define FATVOL_E_BUSY   (-4) /* the source cannot read now (flash busy): retry later */

/* What the source is now. Contract (the seqlock the volume relies on):
 * - size only grows by appends while file_gen stays the same;
 * - file_gen changes BEFORE any byte below the current size changes (at the start of a
 *   CLEAR), config_gen changes BEFORE the config zone's bytes change;
 * - size <= the capacity given to fatvol_init. */
struct fatvol_state {
    uint32_t size;
    uint32_t file_gen;
    uint32_t config_gen;
    uint8_t name[FATVOL_NAME_LEN];
};

/* Read callbacks return 0, FATVOL_E_IO or FATVOL_E_BUSY. */
struct fatvol_source {
    void (*state)(void *ctx, struct fatvol_state *st);
    int (*read_file)(void *ctx, uint32_t off, uint8_t *dst, uint32_t n);
    int (*read_config)(void *ctx, uint32_t off, uint8_t *dst, uint32_t n);
    void *ctx;
};

struct fatvol_params {
    uint32_t capacity;   /* largest data file size; fixes the geometry for good */
    uint32_t serial;     /* volume serial base (e.g. from the chip's unique ID) */
    const char *version; /* firmware version shown in INFO.TXT (<= 32 characters) */
};

struct fatvol {
    const struct fatvol_source *src;
    const char *version;
    /* geometry, fixed at init */
    uint32_t capacity;
    uint32_t total;    /* sectors */
    uint32_t clusters; /* data clusters */
    uint32_t data_lba;
    uint16_t fat_sectors;
    uint16_t file_cl; /* first cluster of the data file's reserved run */
    uint8_t spc;      /* sectors per cluster */
    uint8_t fat16;
    /* the snapshot every sector is built from */
    struct fatvol_state snap;
    uint8_t shown[FATVOL_NAME_LEN]; /* the data file's name in the directory */
    uint32_t serial;
    /* change policy */
    uint32_t seen_size, seen_ms, first_ms;
    bool growing, due;
};

/* Computes the geometry for params->capacity and takes the first snapshot.
 * Returns false if the capacity cannot be served (about 2 GiB and over). */
bool fatvol_init(struct fatvol *v, const struct fatvol_source *src, const struct fatvol_params *p);
uint32_t fatvol_sectors(const struct fatvol *v);

/* Produces sector lba of the current snapshot into buf (512 bytes). */
int fatvol_read(struct fatvol *v, uint32_t lba, uint8_t *buf);

/* Main loop: watches the source; appends become due under the settle policy above. */
void fatvol_poll(struct fatvol *v, uint32_t now_ms);

/* At a command boundary only (never between the sectors of one READ): takes a new
 * snapshot if one is due, if the source changed other than by appending, or if force.
 * Returns true when the volume changed: the SCSI layer reports UNIT ATTENTION. */
bool fatvol_apply(struct fatvol *v, bool force);

#endif
