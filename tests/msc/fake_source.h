/* An in-memory data file and config zone behind the fatvol_source interface, with
 * knobs to make reads fail or the file change in the middle of a read. */
#ifndef FB_TEST_FAKE_SOURCE_H
#define FB_TEST_FAKE_SOURCE_H

#include <stdint.h>

#include "fatvol.h"

struct fake_source {
    uint8_t *file; /* capacity bytes */
    uint32_t capacity;
    struct fatvol_state st;
    uint8_t config[FATVOL_CONFIG_SIZE];
    int read_rc;            /* returned by every read when not 0 */
    uint32_t clear_on_read; /* when non-zero: the Nth file read bumps file_gen first */
    uint32_t file_reads;
    uint32_t config_reads;
    struct fatvol_source ops;
};

/* Capacity bytes of file storage (calloc'ed), name "DATA    CSV", config 0..255 ramp. */
void fake_init(struct fake_source *f, uint32_t capacity);
void fake_free(struct fake_source *f);
/* Appends n bytes of value-at-offset pattern ((off * 7 + 3) & 0xFF), or fill if >= 0. */
void fake_append(struct fake_source *f, uint32_t n, int fill);
void fake_clear(struct fake_source *f);

#endif
