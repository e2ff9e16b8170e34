/* VCD trace writer: see emu_vcd.h. */
#include "emu_vcd.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct {
    uint64_t t;
    uint64_t seq; /* arrival order: edges at the same instant keep it */
    uint8_t sig;
    uint8_t v;
} edge_t;

static const char *const names[VCD_NSIG] = {"scl", "sda", "cs", "sck", "mosi", "miso"};

static struct {
    FILE *f;
    edge_t *buf;
    size_t n, cap;
    uint64_t seq;
    uint64_t last_t; /* last time written: '#' lines must not go back */
    bool have_t;
    int8_t level[VCD_NSIG];
} V;

int vcd_open(const char *path)
{
    V.f = fopen(path, "w");
    if (!V.f) {
        perror(path);
        return -1;
    }
    fprintf(V.f, "$date flashbridge-emu $end\n$version flashbridge-emu $end\n"
                 "$timescale 1 ns $end\n$scope module board $end\n");
    for (int i = 0; i < VCD_NSIG; i++)
        fprintf(V.f, "$var wire 1 %c %s $end\n", '!' + i, names[i]);
    fprintf(V.f, "$upscope $end\n$enddefinitions $end\n#0\n$dumpvars\n");
    for (int i = 0; i < VCD_NSIG; i++) {
        V.level[i] = i == VCD_SCK ? 0 : 1; /* idle bus: pulled up; SPI mode 0 clock low */
        fprintf(V.f, "%d%c\n", V.level[i], '!' + i);
    }
    fprintf(V.f, "$end\n");
    V.have_t = true;
    V.last_t = 0;
    return 0;
}

bool vcd_enabled(void)
{
    return V.f != NULL;
}

void vcd_edge(uint64_t t_ns, int sig, bool v)
{
    if (!V.f)
        return;
    if (V.n == V.cap) {
        size_t cap = V.cap ? 2 * V.cap : 4096;
        edge_t *b = realloc(V.buf, cap * sizeof *b);
        if (!b)
            return; /* the trace loses edges rather than the emulator dying */
        V.buf = b;
        V.cap = cap;
    }
    V.buf[V.n++] = (edge_t){.t = t_ns, .seq = V.seq++, .sig = (uint8_t)sig, .v = v};
}

static int edge_cmp(const void *a, const void *b)
{
    const edge_t *x = a, *y = b;
    if (x->t != y->t)
        return x->t < y->t ? -1 : 1;
    return (x->seq > y->seq) - (x->seq < y->seq);
}

void vcd_flush(uint64_t horizon_ns)
{
    if (!V.f || V.n == 0)
        return;
    qsort(V.buf, V.n, sizeof *V.buf, edge_cmp);
    size_t k = 0;
    for (; k < V.n && V.buf[k].t < horizon_ns; k++) {
        const edge_t *e = &V.buf[k];
        if (V.level[e->sig] == e->v)
            continue;
        uint64_t t = e->t < V.last_t ? V.last_t : e->t;
        if (!V.have_t || t != V.last_t) {
            fprintf(V.f, "#%llu\n", (unsigned long long)t);
            V.last_t = t;
            V.have_t = true;
        }
        fprintf(V.f, "%d%c\n", e->v, '!' + e->sig);
        V.level[e->sig] = (int8_t)e->v;
    }
    for (size_t i = k; i < V.n; i++)
        V.buf[i - k] = V.buf[i];
    V.n -= k;
}

void vcd_close(void)
{
    if (!V.f)
        return;
    vcd_flush(UINT64_MAX);
    fprintf(V.f, "#%llu\n", (unsigned long long)(V.last_t + 1000u));
    fclose(V.f);
    free(V.buf);
    V.f = NULL;
    V.buf = NULL;
    V.n = V.cap = 0;
}
