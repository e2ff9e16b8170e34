/* Backing store of a flash model: see image_file.h. */
#include "image_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_anonymous(image_file_t *img, size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    img->data = p;
    img->size = size;
    img->fd = -1;
    memset(img->data, 0xFF, size);
    return 0;
}

/* Open path, creating it if missing; *created tells which. */
static int open_or_create(const char *path, int *created)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd >= 0) {
        *created = 1;
        return fd;
    }
    if (errno != EEXIST)
        return -1;
    *created = 0;
    return open(path, O_RDWR | O_CLOEXEC);
}

/* A new file gets its size here; an existing one must already have it. */
static int check_size(int fd, size_t size, int created)
{
    struct stat st;
    if (created)
        return ftruncate(fd, (off_t)size);
    if (fstat(fd, &st) != 0)
        return -1;
    if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}

static int open_file(image_file_t *img, const char *path, size_t size)
{
    int created;
    int fd = open_or_create(path, &created);
    if (fd < 0)
        return -1;
    void *p = MAP_FAILED;
    if (check_size(fd, size, created) == 0)
        p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) {
        int err = errno;
        close(fd);
        if (created)
            unlink(path);
        errno = err;
        return -1;
    }
    img->data = p;
    img->size = size;
    img->fd = fd;
    if (created)
        memset(img->data, 0xFF, size);
    return 0;
}

int image_open(image_file_t *img, const char *path, size_t size)
{
    if (size == 0) {
        errno = EINVAL;
        return -1;
    }
    return path ? open_file(img, path, size) : open_anonymous(img, size);
}

int image_sync(image_file_t *img)
{
    if (img->fd < 0)
        return 0;
    return msync(img->data, img->size, MS_SYNC);
}

int image_close(image_file_t *img)
{
    int rc = image_sync(img);
    int err = errno;
    munmap(img->data, img->size);
    if (img->fd >= 0)
        close(img->fd);
    img->data = NULL;
    img->fd = -1;
    errno = err;
    return rc;
}
