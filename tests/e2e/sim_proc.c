#include "sim_proc.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int sim_dir_init(sim_proc_t *s)
{
    memset(s, 0, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/fb-e2e-XXXXXX");
    if (!mkdtemp(s->dir))
        return -1;
    snprintf(s->sock, sizeof s->sock, "%s/sim.sock", s->dir);
    snprintf(s->flash_img, sizeof s->flash_img, "%s/w25q64.img", s->dir);
    snprintf(s->config_img, sizeof s->config_img, "%s/f103.img", s->dir);
    return 0;
}

/* FB_SIM_CMD in the environment names another server to run instead of flashbridge-sim
 * (same options, same socket protocol): tests/emu runs this suite against the real
 * firmware through a wrapper that starts flashbridge-emu on an ELF. */
static const char *server_path(void)
{
    const char *p = getenv("FB_SIM_CMD");
    return p && *p ? p : FB_SIM_PATH;
}

int sim_start(sim_proc_t *s, const char *const *extra)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    s->pid = fork();
    if (s->pid < 0)
        return -1;
    if (s->pid == 0) {
        const char *argv[24] = {server_path(), "--socket", s->sock, "--flash-image",
                                s->flash_img, "--config-image", s->config_img};
        int argc = 7;
        for (int i = 0; extra && extra[i] && argc < 23; i++)
            argv[argc++] = extra[i];
        argv[argc] = NULL;
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        execv(server_path(), (char *const *)argv);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[256];
    int ok = f && fgets(line, sizeof line, f) && strstr(line, "listening");
    if (f)
        fclose(f);
    return ok ? 0 : -1;
}

int sim_stop(sim_proc_t *s)
{
    int status = -1;
    if (s->pid <= 0)
        return -1;
    kill(s->pid, SIGTERM);
    waitpid(s->pid, &status, 0);
    s->pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void sim_dir_remove(sim_proc_t *s)
{
    unlink(s->sock);
    unlink(s->flash_img);
    unlink(s->config_img);
    rmdir(s->dir);
}

unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(len > 0 ? (size_t)len : 1);
    *n = fread(buf, 1, (size_t)len, f);
    fclose(f);
    return buf;
}
