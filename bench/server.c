/* Start and stop a board server (flashbridge-sim or anything speaking its protocol). */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bench.h"

int server_start(const bench_server_t *s, unsigned bus_khz, server_proc_t *p)
{
    const char *none[] = {NULL};
    return server_start_args(s, bus_khz, none, p);
}

int server_start_args(const bench_server_t *s, unsigned bus_khz, const char *const *extra,
                      server_proc_t *p)
{
    memset(p, 0, sizeof *p);
    snprintf(p->dir, sizeof p->dir, "/tmp/fb-bench-XXXXXX");
    if (!mkdtemp(p->dir)) {
        perror("flashbridge-bench: mkdtemp");
        return -1;
    }
    snprintf(p->sock, sizeof p->sock, "%s/board.sock", p->dir);
    char khz[16];
    snprintf(khz, sizeof khz, "%u", bus_khz);
    int fds[2];
    if (pipe(fds) != 0) {
        perror("flashbridge-bench: pipe");
        return -1;
    }
    p->pid = fork();
    if (p->pid < 0) {
        perror("flashbridge-bench: fork");
        return -1;
    }
    if (p->pid == 0) {
        /* No image files: the board keeps its flash in memory and starts erased. */
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        const char *argv[16] = {s->path, "--socket", p->sock, "--bus-khz", khz};
        unsigned n = 5;
        while (*extra && n < 15)
            argv[n++] = *extra++;
        argv[n] = NULL;
        execv(s->path, (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256];
    int ok = f && fgets(line, sizeof line, f) && strstr(line, "listening");
    if (f)
        fclose(f);
    if (!ok) {
        fprintf(stderr, "flashbridge-bench: %s (%s) did not start\n", s->name, s->path);
        server_stop(p);
        return -1;
    }
    return 0;
}

void server_stop(server_proc_t *p)
{
    if (p->pid > 0) {
        kill(p->pid, SIGTERM);
        waitpid(p->pid, NULL, 0);
        p->pid = 0;
    }
    if (p->sock[0])
        unlink(p->sock);
    if (p->dir[0])
        rmdir(p->dir);
}
