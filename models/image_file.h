/*
 * Backing store of a flash model: an image file mapped shared, or anonymous memory.
 * Internal to the models library.
 */
#ifndef FB_MODELS_IMAGE_FILE_H
#define FB_MODELS_IMAGE_FILE_H

#include <stddef.h>
#include <stdint.h>

typedef struct image_file {
    uint8_t *data; /* size bytes, readable and writable */
    size_t size;
    int fd; /* -1 for anonymous memory */
} image_file_t;

/* Map path (NULL = anonymous memory). A missing file is created erased (0xFF); an
 * existing file must hold exactly size bytes. 0, or -1 with errno set (EINVAL for a
 * file of the wrong size). */
int image_open(image_file_t *img, const char *path, size_t size);
/* Make the file current. 0, or -1 with errno set. */
int image_sync(image_file_t *img);
/* Sync and release. 0, or -1 with errno set if the sync failed. */
int image_close(image_file_t *img);

#endif
