/* Start and stop flashbridge-sim from a test, with its images in a fresh directory. */
#ifndef FB_TESTS_SIM_PROC_H
#define FB_TESTS_SIM_PROC_H

#include <stddef.h>
#include <sys/types.h>

typedef struct sim_proc {
    pid_t pid;
    char dir[128];
    char sock[192];
    char flash_img[192];
    char config_img[192];
} sim_proc_t;

/* Make a temporary directory for the images (once per test). 0 or -1. */
int sim_dir_init(sim_proc_t *s);
/* Start the simulator on that directory's images; returns when it listens. 0 or -1.
 * extra: NULL or a NULL-terminated list of further options. */
int sim_start(sim_proc_t *s, const char *const *extra);
/* SIGTERM and wait; returns its exit status (0 on a clean exit). */
int sim_stop(sim_proc_t *s);
/* Remove the directory. */
void sim_dir_remove(sim_proc_t *s);
/* Read a whole file into a malloc'ed buffer; *n gets its size. */
unsigned char *read_file(const char *path, size_t *n);

#endif
