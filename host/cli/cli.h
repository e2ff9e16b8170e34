/*
 * The flashbridge command-line tool as a library function, so that the tests can run
 * it against an in-process target and check its output and exit codes.
 */
#ifndef FB_CLI_H
#define FB_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "fb_transport.h"

/* Exit codes (also listed by --help). */
enum {
    FB_EXIT_OK = 0,
    FB_EXIT_DEVICE = 1,  /* the device reported an error */
    FB_EXIT_USAGE = 2,   /* bad arguments, unreadable input or unwritable output */
    FB_EXIT_COMM = 3,    /* no device, NACK, transport I/O, not a flashbridge */
    FB_EXIT_TIMEOUT = 4, /* the device stayed busy past its time budget */
};

/* Where the tool reads and writes; the tty flags choose the output formats (hex dump,
 * progress line) so that tests can ask for either. */
typedef struct fb_cli_io {
    FILE *in;
    FILE *out;
    FILE *err;
    bool out_tty;
    bool err_tty;
} fb_cli_io_t;

/* Run one command line (argv[0] is the program name). With injected != NULL the tool
 * talks to that transport (and does not close it) instead of opening --sim/--dev.
 * Returns the exit code. */
int fb_cli_run(const fb_cli_io_t *io, int argc, char **argv, fb_transport_t *injected);

/* fb_cli_run on stdin/stdout/stderr, with isatty() for the tty flags. */
int fb_cli_main(int argc, char **argv, fb_transport_t *injected);

#endif
