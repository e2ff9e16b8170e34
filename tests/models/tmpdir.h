/* Test helper: a private temporary directory for image files. */
#ifndef FB_TESTS_TMPDIR_H
#define FB_TESTS_TMPDIR_H

#include <stddef.h>

typedef struct tmpdir {
    char dir[64];
    char path[64 + 1 + 256]; /* scratch for tmpdir_path(): dir, slash, NAME_MAX */
} tmpdir_t;

/* Create a fresh directory under $TMPDIR (or /tmp). 0 or -1. */
int tmpdir_create(tmpdir_t *t);
/* dir/name, in t->path. */
const char *tmpdir_path(tmpdir_t *t, const char *name);
/* Remove the files in it and the directory. */
void tmpdir_remove(tmpdir_t *t);
/* Size of a file in bytes, -1 if it cannot be read. */
long long file_size(const char *path);
/* Write len bytes of value to a new file. 0 or -1. */
int file_fill(const char *path, size_t len, unsigned char value);

#endif
