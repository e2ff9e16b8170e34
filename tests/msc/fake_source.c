#include "fake_source.h"

#include <stdlib.h>
#include <string.h>

static void state(void *ctx, struct fatvol_state *st)
{
    *st = ((struct fake_source *)ctx)->st;
}

static int read_file(void *ctx, uint32_t off, uint8_t *dst, uint32_t n)
{
    struct fake_source *f = ctx;
    f->file_reads++;
    if (f->read_rc != 0)
        return f->read_rc;
    if (f->clear_on_read != 0 && f->file_reads == f->clear_on_read)
        fake_clear(f); /* a CLEAR starting while the sector is read */
    if (off + n > f->capacity)
        return FATVOL_E_IO;
    memcpy(dst, f->file + off, n);
    return 0;
}

static int read_config(void *ctx, uint32_t off, uint8_t *dst, uint32_t n)
{
    struct fake_source *f = ctx;
    f->config_reads++;
    if (f->read_rc != 0)
        return f->read_rc;
    if (off + n > FATVOL_CONFIG_SIZE)
        return FATVOL_E_IO;
    memcpy(dst, f->config + off, n);
    return 0;
}

void fake_init(struct fake_source *f, uint32_t capacity)
{
    memset(f, 0, sizeof *f);
    f->file = malloc(capacity ? capacity : 1);
    memset(f->file, 0xFF, capacity); /* erased NOR */
    f->capacity = capacity;
    memcpy(f->st.name, "DATA    CSV", FATVOL_NAME_LEN);
    for (uint32_t i = 0; i < FATVOL_CONFIG_SIZE; i++)
        f->config[i] = (uint8_t)i;
    f->ops.state = state;
    f->ops.read_file = read_file;
    f->ops.read_config = read_config;
    f->ops.ctx = f;
}

void fake_free(struct fake_source *f)
{
    free(f->file);
    f->file = NULL;
}

void fake_append(struct fake_source *f, uint32_t n, int fill)
{
    for (uint32_t i = 0; i < n; i++) {
        uint32_t off = f->st.size + i;
        f->file[off] = fill >= 0 ? (uint8_t)fill : (uint8_t)(off * 7u + 3u);
    }
    f->st.size += n;
}

void fake_clear(struct fake_source *f)
{
    f->st.file_gen++;
    f->st.size = 0;
    memset(f->file, 0xFF, f->capacity);
}
