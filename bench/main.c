/*
 * flashbridge-bench: see bench.h. Prints a table and writes the figures as JSON.
 *
 *   flashbridge-bench [--out FILE] [--server NAME=PATH]... [--size BYTES]
 *                     [--speeds 100,400] [--config-writes N] [--line-timings typ,max]
 *                     [--no-lines]
 *
 * Every (server, bus speed, client) triple runs on a freshly started board with erased
 * flash: append a file of --size bytes (pseudo-random, 0xFF bytes included), read it
 * back and compare, then --config-writes WRITE_CONFIG of 28 bytes (latency of each),
 * then CLEAR_CONFIG and CLEAR_FLASH, and the same append again over the cleared file
 * (whose sectors now hold old data and are erased as the appends reach them). All times
 * are the board's virtual time.
 *
 * Line by line: the same --size bytes written as lines of 30, 55, 80 and a pseudo-random
 * 30..80 bytes, one call per line, on a fresh board per (server, speed, flash timing,
 * line size, writer): fb_log_write per line, and fb_file_append per line to compare.
 * Timed from the first call to the end of the final flush; then read back and compared.
 *
 * Bus capacity = payload bytes x 9 bits / bit rate: what the bus could carry if every
 * clock carried payload (hardware-facts.md, "I2C bus capacity").
 */
#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "flashbridge/protocol.h"

#define MAX_SERVERS 4
#define MAX_SPEEDS 4
#define NCLIENTS 2
#define NTIMINGS 2
#define NKINDS 4
#define NLINERS 3 /* the last, a large write, runs once per speed and timing */

typedef struct result {
    double append_s, read_s;
    double append_pct, read_pct;
    double reappend_s, reappend_pct; /* after CLEAR_FLASH: sectors erased on the way */
    double cfg_p50_ms, cfg_p99_ms;
    double clear_config_ms, clear_flash_ms;
    fb_stream_stats_t stats;
} result_t;

static const bench_client_t *const clients[NCLIENTS] = {&bench_client_v1, &bench_client_ext};

typedef struct line_result {
    double seconds, pct;
    size_t lines;
    fb_stream_stats_t stats;
} line_result_t;

static const bench_liner_t *const liners[NLINERS] = {&bench_liner_log, &bench_liner_append,
                                                     &bench_liner_large};
static const char *const timing_names[NTIMINGS] = {"typ", "max"};
/* Line sizes: min..max bytes (pseudo-random when they differ). */
static const struct {
    const char *name;
    unsigned min, max;
} kinds[NKINDS] = {{"30", 30, 30}, {"55", 55, 55}, {"80", 80, 80}, {"30..80", 30, 80}};

static struct {
    bench_server_t servers[MAX_SERVERS];
    unsigned nservers;
    unsigned speeds[MAX_SPEEDS];
    unsigned nspeeds;
    size_t size;
    unsigned config_writes;
    const char *out;
    bool lines;
    bool timing[NTIMINGS]; /* flash timings of the line-by-line runs */
} opt;

static double now_s(bench_ctx_t *x)
{
    return (double)x->t->ops->now_us(x->t) / 1e6;
}

static double pct_of_bus(size_t bytes, unsigned khz, double seconds)
{
    return (double)bytes * 9.0 / (khz * 1000.0) / seconds * 100.0;
}

static void fill(uint8_t *p, size_t n)
{
    uint32_t s = 0x9E3779B9u;
    for (size_t i = 0; i < n; i++) {
        s ^= s << 13;
        s ^= s >> 17;
        s ^= s << 5;
        p[i] = (uint8_t)s;
    }
    for (size_t i = 1000; i + 64 < n; i += 4096)
        memset(p + i, 0xFF, 64); /* runs of 0xFF: data, not an end mark */
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double percentile(const double *v, size_t n, double p)
{
    size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    return v[rank > n ? n - 1 : rank - 1];
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "flashbridge-bench: %s: %s\n", what, fb_strerror(rc));
    return -1;
}

static int run_one(const bench_server_t *srv, unsigned khz, const bench_client_t *cl,
                   const uint8_t *data, uint8_t *back, result_t *r)
{
    server_proc_t p;
    if (server_start(srv, khz, &p) != 0)
        return -1;
    int ret = -1;
    bench_ctx_t x = {0};
    x.t = fb_transport_sim_open(p.sock);
    if (!x.t) {
        perror("flashbridge-bench: connect");
        goto out;
    }
    int rc = cl->open(&x);
    if (rc) {
        fail("open", rc);
        goto out;
    }
    double t0 = now_s(&x);
    if ((rc = cl->append(&x, data, opt.size))) {
        fail("append", rc);
        goto out;
    }
    double t1 = now_s(&x);
    memset(back, 0, opt.size);
    if ((rc = cl->read(&x, back, opt.size))) {
        fail("read", rc);
        goto out;
    }
    double t2 = now_s(&x);
    if (memcmp(back, data, opt.size) != 0) {
        fprintf(stderr, "flashbridge-bench: %s read back other bytes than it appended\n",
                cl->name);
        goto out;
    }
    r->append_s = t1 - t0;
    r->read_s = t2 - t1;
    r->append_pct = pct_of_bus(opt.size, khz, r->append_s);
    r->read_pct = pct_of_bus(opt.size, khz, r->read_s);

    double *lat = calloc(opt.config_writes ? opt.config_writes : 1, sizeof *lat);
    for (unsigned i = 0; i < opt.config_writes; i++) {
        uint16_t off = (uint16_t)((i * FB_WRITE_CONFIG_MAX) % (FB_CONFIG_SIZE - FB_WRITE_CONFIG_MAX));
        double a = now_s(&x);
        if ((rc = cl->config_write(&x, off, data + i, FB_WRITE_CONFIG_MAX))) {
            free(lat);
            fail("config write", rc);
            goto out;
        }
        lat[i] = (now_s(&x) - a) * 1e3;
    }
    qsort(lat, opt.config_writes, sizeof *lat, cmp_double);
    r->cfg_p50_ms = opt.config_writes ? percentile(lat, opt.config_writes, 50) : 0;
    r->cfg_p99_ms = opt.config_writes ? percentile(lat, opt.config_writes, 99) : 0;
    free(lat);
    double a = now_s(&x);
    if ((rc = cl->clear_config(&x))) {
        fail("clear config", rc);
        goto out;
    }
    double b = now_s(&x);
    if ((rc = cl->clear_flash(&x))) {
        fail("clear flash", rc);
        goto out;
    }
    double c = now_s(&x);
    r->clear_config_ms = (b - a) * 1e3;
    r->clear_flash_ms = (c - b) * 1e3;
    if ((rc = cl->append(&x, data, opt.size))) {
        fail("append after clear", rc);
        goto out;
    }
    r->reappend_s = now_s(&x) - c;
    r->reappend_pct = pct_of_bus(opt.size, khz, r->reappend_s);
    r->stats = x.c.stats;
    ret = 0;
out:
    fb_transport_close(x.t);
    server_stop(&p);
    return ret;
}

/* One line-by-line run on a fresh board. */
static int run_lines(const bench_server_t *srv, unsigned khz, unsigned timing,
                     const bench_liner_t *ln, unsigned kind, const uint8_t *data, uint8_t *back,
                     line_result_t *r)
{
    static const char *const typ[] = {NULL};
    static const char *const max[] = {"--timing", "max", NULL};
    server_proc_t p;
    if (server_start_args(srv, khz, timing ? max : typ, &p) != 0)
        return -1;
    int ret = -1;
    bench_ctx_t *x = calloc(1, sizeof *x);
    if (!x)
        goto out;
    x->t = fb_transport_sim_open(p.sock);
    if (!x->t) {
        perror("flashbridge-bench: connect");
        goto out;
    }
    int rc = ln->open(x);
    if (rc) {
        fail("line open", rc);
        goto out;
    }
    uint32_t lcg = 0x2545F491u;
    size_t lines = 0;
    double t0 = now_s(x);
    for (size_t at = 0; at < opt.size; lines++) {
        size_t n = kinds[kind].min;
        if (kinds[kind].max > kinds[kind].min) {
            lcg = lcg * 1103515245u + 12345u;
            n += (lcg >> 16) % (kinds[kind].max - kinds[kind].min + 1);
        }
        if (n > opt.size - at)
            n = opt.size - at;
        if ((rc = ln->line(x, data + at, n))) {
            fail("line write", rc);
            goto out;
        }
        at += n;
    }
    if ((rc = ln->finish(x))) {
        fail("line flush", rc);
        goto out;
    }
    double t1 = now_s(x);
    memset(back, 0, opt.size);
    if ((rc = fb_file_read(&x->c, 0, back, opt.size))) {
        fail("line read back", rc);
        goto out;
    }
    if (memcmp(back, data, opt.size) != 0) {
        fprintf(stderr, "flashbridge-bench: %s lines read back other bytes\n", ln->name);
        goto out;
    }
    r->seconds = t1 - t0;
    r->pct = pct_of_bus(opt.size, khz, r->seconds);
    r->lines = lines;
    r->stats = x->c.stats;
    ret = 0;
out:
    if (x) {
        fb_transport_close(x->t);
        free(x->bulk);
    }
    free(x);
    server_stop(&p);
    return ret;
}

static void print_row(unsigned khz, const bench_client_t *cl, const result_t *r)
{
    printf("%3u kHz  %-4s %8.0f B/s %5.1f %%  %8.0f B/s %5.1f %%  %7.1f / %7.1f ms  %8.1f ms  "
           "%7.1f ms  %8.0f B/s %5.1f %%\n",
           khz, cl->name, (double)opt.size / r->append_s, r->append_pct,
           (double)opt.size / r->read_s, r->read_pct, r->cfg_p50_ms, r->cfg_p99_ms,
           r->clear_config_ms, r->clear_flash_ms, (double)opt.size / r->reappend_s,
           r->reappend_pct);
}

static void json_result(FILE *f, const result_t *r, const char *indent)
{
    fprintf(f,
            "{\n%s  \"append\": {\"seconds\": %.6f, \"bytes_per_s\": %.1f, \"percent_of_bus\": %.2f},\n"
            "%s  \"read\": {\"seconds\": %.6f, \"bytes_per_s\": %.1f, \"percent_of_bus\": %.2f},\n"
            "%s  \"append_after_clear\": {\"seconds\": %.6f, \"bytes_per_s\": %.1f, "
            "\"percent_of_bus\": %.2f},\n"
            "%s  \"config_write_ms\": {\"p50\": %.3f, \"p99\": %.3f},\n"
            "%s  \"clear_config_ms\": %.3f,\n%s  \"clear_flash_ms\": %.3f,\n"
            "%s  \"recoveries\": {\"bus_retries\": %u, \"resyncs\": %u, \"read_restarts\": %u, "
            "\"not_ready\": %u}\n%s}",
            indent, r->append_s, (double)opt.size / r->append_s, r->append_pct, indent,
            r->read_s, (double)opt.size / r->read_s, r->read_pct, indent, r->reappend_s,
            (double)opt.size / r->reappend_s, r->reappend_pct, indent, r->cfg_p50_ms,
            r->cfg_p99_ms, indent, r->clear_config_ms, indent, r->clear_flash_ms, indent,
            r->stats.bus_retries, r->stats.resyncs, r->stats.read_restarts,
            r->stats.not_ready, indent);
}

static void json_lines(FILE *f, const line_result_t lres[MAX_SPEEDS][NTIMINGS][NKINDS][NLINERS])
{
    for (unsigned k = 0; k < opt.nspeeds; k++) {
        fprintf(f, "      \"%ukHz\": {\n", opt.speeds[k]);
        bool first = true;
        for (unsigned t = 0; t < NTIMINGS; t++) {
            if (!opt.timing[t])
                continue;
            fprintf(f, "%s        \"%s\": {\n", first ? "" : ",\n", timing_names[t]);
            first = false;
            const line_result_t *lr = &lres[k][t][0][NLINERS - 1];
            fprintf(f,
                    "          \"%s\": {\"seconds\": %.6f, \"bytes_per_s\": %.1f, "
                    "\"percent_of_bus\": %.2f},\n",
                    liners[NLINERS - 1]->name, lr->seconds, (double)opt.size / lr->seconds,
                    lr->pct);
            for (unsigned d = 0; d < NKINDS; d++) {
                fprintf(f, "          \"%s\": {", kinds[d].name);
                for (unsigned l = 0; l + 1 < NLINERS; l++) {
                    const line_result_t *r = &lres[k][t][d][l];
                    fprintf(f,
                            "%s\"%s\": {\"lines\": %zu, \"seconds\": %.6f, \"bytes_per_s\": "
                            "%.1f, \"percent_of_bus\": %.2f, \"bus_retries\": %u, "
                            "\"resyncs\": %u}",
                            l ? ", " : "", liners[l]->name, r->lines, r->seconds,
                            (double)opt.size / r->seconds, r->pct, r->stats.bus_retries,
                            r->stats.resyncs);
                }
                fprintf(f, "}%s\n", d + 1 < NKINDS ? "," : "");
            }
            fprintf(f, "        }");
        }
        fprintf(f, "\n      }%s\n", k + 1 < opt.nspeeds ? "," : "");
    }
}

static int write_json(const result_t res[MAX_SERVERS][MAX_SPEEDS][NCLIENTS],
                      const line_result_t lres[MAX_SERVERS][MAX_SPEEDS][NTIMINGS][NKINDS][NLINERS])
{
    FILE *f = fopen(opt.out, "w");
    if (!f) {
        fprintf(stderr, "flashbridge-bench: %s: %s\n", opt.out, strerror(errno));
        return -1;
    }
    fprintf(f, "{\n  \"file_bytes\": %zu,\n  \"config_writes\": %u,\n", opt.size,
            opt.config_writes);
    fprintf(f, "  \"time\": \"virtual bus time of the simulated board\",\n");
    fprintf(f, "  \"bus_capacity\": \"payload bytes x 9 bits / bit rate\",\n");
    fprintf(f, "  \"clients\": {\"%s\": \"%s\", \"%s\": \"%s\"},\n", clients[0]->name,
            clients[0]->what, clients[1]->name, clients[1]->what);
    fprintf(f, "  \"servers\": {\n");
    for (unsigned s = 0; s < opt.nservers; s++) {
        fprintf(f, "    \"%s\": {\n", opt.servers[s].name);
        for (unsigned k = 0; k < opt.nspeeds; k++) {
            const result_t *v1 = &res[s][k][0], *ext = &res[s][k][1];
            fprintf(f, "      \"%ukHz\": {\n", opt.speeds[k]);
            fprintf(f, "        \"capacity_bytes_per_s\": %.1f,\n", opt.speeds[k] * 1000.0 / 9.0);
            for (unsigned c = 0; c < NCLIENTS; c++) {
                fprintf(f, "        \"%s\": ", clients[c]->name);
                json_result(f, &res[s][k][c], "        ");
                fprintf(f, ",\n");
            }
            fprintf(f, "        \"ratio_ext_to_v1\": {\"append\": %.2f, \"read\": %.2f}\n",
                    v1->append_s / ext->append_s, v1->read_s / ext->read_s);
            fprintf(f, "      }%s\n", k + 1 < opt.nspeeds ? "," : "");
        }
        fprintf(f, "    }%s\n", s + 1 < opt.nservers ? "," : "");
    }
    fprintf(f, "  }");
    if (opt.lines) {
        fprintf(f, ",\n  \"line_by_line\": {\n");
        fprintf(f, "    \"what\": \"%zu bytes as lines of the given size, one call per line, "
                   "timed from the first call to the end of the final flush\",\n",
                opt.size);
        fprintf(f, "    \"writers\": {");
        for (unsigned l = 0; l < NLINERS; l++)
            fprintf(f, "%s\"%s\": \"%s\"", l ? ", " : "", liners[l]->name, liners[l]->what);
        fprintf(f, "},\n");
        fprintf(f, "    \"servers\": {\n");
        for (unsigned s = 0; s < opt.nservers; s++) {
            fprintf(f, "    \"%s\": {\n", opt.servers[s].name);
            json_lines(f, lres[s]);
            fprintf(f, "    }%s\n", s + 1 < opt.nservers ? "," : "");
        }
        fprintf(f, "    }\n  }");
    }
    fprintf(f, "\n}\n");
    return fclose(f) == 0 ? 0 : -1;
}

static int usage(void)
{
    fprintf(stderr, "usage: flashbridge-bench [--out FILE] [--server NAME=PATH]... "
                    "[--size BYTES] [--speeds 100,400] [--config-writes N] "
                    "[--line-timings typ,max] [--no-lines]\n");
    return 2;
}

static int parse_speeds(char *s)
{
    opt.nspeeds = 0;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        unsigned long v = strtoul(tok, NULL, 10);
        if ((v != 100 && v != 400) || opt.nspeeds == MAX_SPEEDS)
            return -1;
        opt.speeds[opt.nspeeds++] = (unsigned)v;
    }
    return opt.nspeeds ? 0 : -1;
}

static int parse_timings(char *s)
{
    opt.timing[0] = opt.timing[1] = false;
    for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ",")) {
        if (strcmp(tok, "typ") == 0)
            opt.timing[0] = true;
        else if (strcmp(tok, "max") == 0)
            opt.timing[1] = true;
        else
            return -1;
    }
    return opt.timing[0] || opt.timing[1] ? 0 : -1;
}

static void print_lines(const bench_server_t *srv,
                        line_result_t lres[MAX_SPEEDS][NTIMINGS][NKINDS][NLINERS],
                        const uint8_t *data, uint8_t *back, int *failed)
{
    printf("\nline by line: %zu bytes as lines, one call per line, final flush included, "
           "on %s\n", opt.size, srv->name);
    for (unsigned l = 0; l < NLINERS; l++)
        printf("  %-6s %s\n", liners[l]->name, liners[l]->what);
    printf("%-8s %-6s %-7s %-7s %-24s %-28s %s\n", "bus", "flash", "line", "calls",
           "log (% of bus)", "append per line (% of bus)", "large (% of bus)");
    for (unsigned k = 0; k < opt.nspeeds; k++) {
        for (unsigned t = 0; t < NTIMINGS; t++) {
            if (!opt.timing[t])
                continue;
            for (unsigned d = 0; d < NKINDS; d++) {
                for (unsigned l = 0; l < NLINERS; l++) {
                    if (l == NLINERS - 1 && d > 0)
                        continue; /* one large write per speed and timing */
                    if (run_lines(srv, opt.speeds[k], t, liners[l], d, data, back,
                                  &lres[k][t][d][l]) != 0) {
                        *failed = 1;
                        return;
                    }
                }
                const line_result_t *lg = &lres[k][t][d][0], *ap = &lres[k][t][d][1];
                const line_result_t *lw = &lres[k][t][0][NLINERS - 1];
                printf("%3u kHz  %-6s %-7s %-7zu %8.0f B/s %5.1f %%     %8.0f B/s %5.1f %%"
                       "         %8.0f B/s %5.1f %%\n",
                       opt.speeds[k], timing_names[t], kinds[d].name, lg->lines,
                       (double)opt.size / lg->seconds, lg->pct, (double)opt.size / ap->seconds,
                       ap->pct, (double)opt.size / lw->seconds, lw->pct);
                fflush(stdout);
            }
        }
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"out", required_argument, NULL, 'o'},
        {"server", required_argument, NULL, 's'},
        {"size", required_argument, NULL, 'n'},
        {"speeds", required_argument, NULL, 'k'},
        {"config-writes", required_argument, NULL, 'c'},
        {"line-timings", required_argument, NULL, 't'},
        {"no-lines", no_argument, NULL, 'L'},
        {NULL, 0, NULL, 0},
    };
    /* flashbridge-sim always; other servers speaking its protocol with --server. */
    opt.servers[opt.nservers++] = (bench_server_t){"flashbridge-sim", FB_SIM_PATH};
    opt.size = 256u * 1024u;
    opt.config_writes = 100;
    opt.speeds[0] = 100;
    opt.speeds[1] = 400;
    opt.nspeeds = 2;
    opt.lines = true;
    opt.timing[0] = opt.timing[1] = true;
    int ch;
    while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o':
            opt.out = optarg;
            break;
        case 's': {
            char *eq = strchr(optarg, '=');
            if (!eq || eq == optarg || !eq[1] || opt.nservers == MAX_SERVERS)
                return usage();
            *eq = '\0';
            opt.servers[opt.nservers++] = (bench_server_t){optarg, eq + 1};
            break;
        }
        case 'n':
            opt.size = strtoul(optarg, NULL, 0);
            if (opt.size == 0 || opt.size > FB_FILE_CAPACITY)
                return usage();
            break;
        case 'k':
            if (parse_speeds(optarg) != 0)
                return usage();
            break;
        case 'c':
            opt.config_writes = (unsigned)strtoul(optarg, NULL, 0);
            break;
        case 't':
            if (parse_timings(optarg) != 0)
                return usage();
            break;
        case 'L':
            opt.lines = false;
            break;
        default:
            return usage();
        }
    }
    if (optind != argc)
        return usage();

    uint8_t *data = malloc(opt.size), *back = malloc(opt.size);
    if (!data || !back) {
        free(data);
        free(back);
        return 1;
    }
    fill(data, opt.size);
    static result_t res[MAX_SERVERS][MAX_SPEEDS][NCLIENTS];
    static line_result_t lres[MAX_SERVERS][MAX_SPEEDS][NTIMINGS][NKINDS][NLINERS];
    for (unsigned s = 0; s < opt.nservers; s++) {
        printf("flashbridge-bench: %zu-byte file on %s, virtual bus time\n", opt.size,
               opt.servers[s].name);
        for (unsigned c = 0; c < NCLIENTS; c++)
            printf("  %-4s %s\n", clients[c]->name, clients[c]->what);
        printf("%-13s %-22s %-22s %-21s %-11s %-10s %s\n", "bus    client",
               "append (% of bus)", "read (% of bus)", "config write p50/p99", "CLEAR_CONFIG",
               "CLEAR_FLASH", "append after clear");
        for (unsigned k = 0; k < opt.nspeeds; k++) {
            for (unsigned c = 0; c < NCLIENTS; c++) {
                if (run_one(&opt.servers[s], opt.speeds[k], clients[c], data, back,
                            &res[s][k][c]) != 0) {
                    free(data);
                    free(back);
                    return 1;
                }
                print_row(opt.speeds[k], clients[c], &res[s][k][c]);
                fflush(stdout);
            }
            const result_t *v1 = &res[s][k][0], *ext = &res[s][k][1];
            printf("%3u kHz  ext/v1: append x%.1f, read x%.1f\n", opt.speeds[k],
                   v1->append_s / ext->append_s, v1->read_s / ext->read_s);
        }
        if (opt.lines) {
            int failed = 0;
            print_lines(&opt.servers[s], lres[s], data, back, &failed);
            if (failed) {
                free(data);
                free(back);
                return 1;
            }
        }
    }
    free(data);
    free(back);
    if (opt.out) {
        if (write_json(res, lres) != 0)
            return 1;
        printf("figures written to %s\n", opt.out);
    }
    return 0;
}
