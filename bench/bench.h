/*
 * flashbridge benchmark: throughput of file appends and reads as a share of the I2C
 * bus capacity, in the virtual bus time of a simulated board, for two clients side by
 * side; plus config-write latency and CLEAR times. See docs/PERFORMANCE.md.
 *
 * Servers are programs that speak docs/SIM-PROTOCOL.md on a Unix socket and take
 * `--socket PATH --bus-khz N` (flashbridge-sim today; flashbridge-emu, the real
 * firmware on an emulated Cortex-M3, is meant to join with `--server emu=PATH`).
 * Clients are the behaviours compared: the v1 MicroPython driver's, and the host
 * library's with the streaming extension. Then the same amount written line by line
 * (one call per line of 30, 55, 80 or 30..80 bytes), through fb_log and, to compare,
 * one fb_file_append per line.
 */
#ifndef FB_BENCH_H
#define FB_BENCH_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "flashbridge.h"

/* ---- servers (server.c) ---- */

typedef struct bench_server {
    const char *name; /* key in the results, e.g. "flashbridge-sim" */
    const char *path; /* executable */
} bench_server_t;

typedef struct server_proc {
    pid_t pid;
    char dir[64];
    char sock[96];
} server_proc_t;

/* Start a fresh board (erased flash, in memory) at bus_khz and wait until it listens.
 * 0 or -1 (message on stderr). */
int server_start(const bench_server_t *s, unsigned bus_khz, server_proc_t *p);
/* The same with more server options (NULL-terminated), e.g. --timing max. */
int server_start_args(const bench_server_t *s, unsigned bus_khz, const char *const *extra,
                      server_proc_t *p);
/* Stop it and remove its socket directory. */
void server_stop(server_proc_t *p);

/* ---- clients (clients.c) ---- */

typedef struct bench_ctx {
    fb_transport_t *t;
    fb_client_t c; /* the library client (ext) */
    fb_log_t log;  /* the line-by-line writer's log */
    uint8_t *bulk; /* the "large" writer's lines, gathered */
    size_t bulk_len, bulk_cap;
} bench_ctx_t;

typedef struct bench_client {
    const char *name;
    const char *what;
    int (*open)(bench_ctx_t *x);
    int (*append)(bench_ctx_t *x, const uint8_t *buf, size_t len);
    int (*read)(bench_ctx_t *x, uint8_t *buf, size_t len);
    int (*config_write)(bench_ctx_t *x, uint16_t offset, const uint8_t *buf, size_t len);
    int (*clear_config)(bench_ctx_t *x);
    int (*clear_flash)(bench_ctx_t *x);
} bench_client_t;

extern const bench_client_t bench_client_v1;
extern const bench_client_t bench_client_ext;

/* Line-by-line writers: open (not timed), one call per line, finish (the final flush;
 * timed), on a target with the streaming extension. */
typedef struct bench_liner {
    const char *name;
    const char *what;
    int (*open)(bench_ctx_t *x);
    int (*line)(bench_ctx_t *x, const uint8_t *buf, size_t len);
    int (*finish)(bench_ctx_t *x);
} bench_liner_t;

extern const bench_liner_t bench_liner_log;
extern const bench_liner_t bench_liner_append;
extern const bench_liner_t bench_liner_large;

#endif
