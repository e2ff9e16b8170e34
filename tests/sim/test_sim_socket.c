/*
 * flashbridge-sim as a program: start the built binary, speak the raw socket protocol
 * of docs/SIM-PROTOCOL.md, check replies, bad requests, image persistence and exit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FB_SIM_PATH
#error "FB_SIM_PATH must name the flashbridge-sim binary"
#endif

static char dir[64];
static char sock_path[128], flash_path[128], config_path[128];

typedef struct sim {
    pid_t pid;
    int fd;
} sim_t;

static void sim_start(sim_t *s, const char *extra)
{
    int out[2];
    assert_int_equal(pipe(out), 0);
    fflush(NULL);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(out[1], 1);
        close(out[0]);
        close(out[1]);
        execl(FB_SIM_PATH, FB_SIM_PATH, "--socket", sock_path, "--flash-image", flash_path,
              "--config-image", config_path, extra, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *f = fdopen(out[0], "r");
    assert_non_null(f);
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, f));
    char want[256];
    snprintf(want, sizeof want, "flashbridge-sim: listening on %s\n", sock_path);
    assert_string_equal(line, want);
    fclose(f);

    s->fd = socket(AF_UNIX, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, sock_path);
    assert_int_equal(connect(s->fd, (struct sockaddr *)&sa, sizeof sa), 0);
}

static int sim_wait_exit(sim_t *s)
{
    int status = 0;
    assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
    close(s->fd);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void send_all(int fd, const void *buf, size_t n)
{
    const uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = send(fd, p, n, MSG_NOSIGNAL);
        assert_true(r > 0);
        p += r;
        n -= (size_t)r;
    }
}

static void recv_all(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n > 0) {
        ssize_t r = recv(fd, p, n, 0);
        assert_true(r > 0);
        p += r;
        n -= (size_t)r;
    }
}

/* One request; returns the status, copies the reply payload (checked to be plen long
 * when plen >= 0). */
static uint8_t request(sim_t *s, uint8_t op, const void *payload, size_t len, void *reply,
                       long plen)
{
    uint8_t hdr[3] = { op, (uint8_t)(len >> 8), (uint8_t)len };
    send_all(s->fd, hdr, 3);
    if (len)
        send_all(s->fd, payload, len);
    uint8_t rh[4];
    recv_all(s->fd, rh, 4);
    assert_int_equal(rh[0], op | 0x80);
    size_t n = (size_t)(rh[2] << 8 | rh[3]);
    if (plen >= 0)
        assert_int_equal(n, (size_t)plen);
    static uint8_t sink[8192];
    recv_all(s->fd, reply ? reply : sink, n);
    return rh[1];
}

static uint64_t be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t sim_time(sim_t *s)
{
    uint8_t r[8];
    assert_int_equal(request(s, 0x03, NULL, 0, r, 8), 0);
    return be64(r);
}

static uint64_t sim_wait(sim_t *s, uint64_t ns)
{
    uint8_t p[8], r[8];
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(ns >> (56 - 8 * i));
    assert_int_equal(request(s, 0x02, p, 8, r, 8), 0);
    return be64(r);
}

/* TRANSFER to 0x3B; returns the bus status, rdata into r. */
static uint8_t sim_xfer(sim_t *s, const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    uint8_t req[5 + 64];
    req[0] = 0x3B;
    req[1] = (uint8_t)(wlen >> 8);
    req[2] = (uint8_t)wlen;
    req[3] = (uint8_t)(rlen >> 8);
    req[4] = (uint8_t)rlen;
    if (wlen)
        memcpy(req + 5, w, wlen);
    static uint8_t rep[2 + 4096];
    uint8_t st = request(s, 0x01, req, 5 + wlen, rep, -1);
    if (st == 0)
        memcpy(r, rep + 2, rlen);
    return st;
}

static void sim_wait_not_busy(sim_t *s)
{
    for (int i = 0; i < 5000; i++) {
        uint8_t reg = 0x80, st = 0xFF;
        assert_int_equal(sim_xfer(s, &reg, 1, &st, 1), 0);
        if (!(st & 0x80))
            return;
        sim_wait(s, 5000000);
    }
    fail_msg("target still busy");
}

static int setup(void **state)
{
    (void)state;
    strcpy(dir, "/tmp/fb-simsock-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(sock_path, sizeof sock_path, "%s/sim.sock", dir);
    snprintf(flash_path, sizeof flash_path, "%s/flash.bin", dir);
    snprintf(config_path, sizeof config_path, "%s/config.bin", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(sock_path);
    unlink(flash_path);
    unlink(config_path);
    rmdir(dir);
    return 0;
}

static void test_protocol(void **state)
{
    (void)state;
    sim_t s;
    sim_start(&s, "--bus-khz=400");

    uint8_t hello[5];
    assert_int_equal(request(&s, 0x06, NULL, 0, hello, 5), 0);
    assert_int_equal(hello[0], 2);
    assert_int_equal((uint32_t)hello[1] << 24 | hello[2] << 16 | hello[3] << 8 | hello[4],
                     400000);

    /* The firmware has booted before the socket opened: a few ms of virtual time. */
    uint64_t t_boot = sim_time(&s);
    assert_true(t_boot < 10000000u);
    uint8_t reg = 0x01, v = 0;
    assert_int_equal(sim_xfer(&s, &reg, 1, &v, 1), 0);
    assert_int_equal(v, 0x4C);
    assert_int_equal(sim_time(&s), t_boot + 39 * 2500);

    /* Address NACK: status 1, wacked 0, no rdata. */
    uint8_t req[6] = { 0x3C, 0, 1, 0, 1, 0x01 }, rep[8];
    assert_int_equal(request(&s, 0x01, req, sizeof req, rep, 2), 1);
    assert_int_equal(rep[0] << 8 | rep[1], 0);

    uint64_t t = sim_time(&s);
    assert_int_equal(sim_wait(&s, 1000000), t + 1000000);
    assert_int_equal(sim_time(&s), t + 1000000);

    /* Malformed: too short, wlen not matching, bad length for TIME; nothing changes. */
    t = sim_time(&s);
    uint8_t shortreq[3] = { 0x3B, 0, 1 };
    assert_int_equal(request(&s, 0x01, shortreq, 3, NULL, 0), 0xFE);
    uint8_t badlen[7] = { 0x3B, 0, 1, 0, 0, 0x01, 0x02 };
    assert_int_equal(request(&s, 0x01, badlen, 7, NULL, 0), 0xFE);
    uint8_t toolong[5] = { 0x3B, 0x10, 0x01, 0, 0 };
    assert_int_equal(request(&s, 0x01, toolong, 5, NULL, 0), 0xFE);
    assert_int_equal(request(&s, 0x03, "x", 1, NULL, 0), 0xFE);
    assert_int_equal(request(&s, 0x02, "abc", 3, NULL, 0), 0xFE);
    const uint8_t forever[8] = { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF };
    assert_int_equal(request(&s, 0x02, forever, 8, NULL, 0), 0xFE);
    assert_int_equal(sim_time(&s), t);
    /* Unknown op, with a payload that must be skipped. */
    assert_int_equal(request(&s, 0x42, "junk", 4, NULL, 0), 0xFF);
    /* The USB operations (version 2): the simulated board has no USB port. */
    const uint8_t reset_ns[8] = { 0, 0, 0, 0, 0, 0x98, 0x96, 0x80 };
    assert_int_equal(request(&s, 0x07, reset_ns, 8, NULL, 0), 0xFF);
    const uint8_t in_req[8] = { 0, 0, 0, 64, 0, 0, 0, 0 };
    assert_int_equal(request(&s, 0x0A, in_req, 8, NULL, 0), 0xFF);
    assert_int_equal(sim_time(&s), t);

    /* A second client is served while the first stays connected; both see one time. */
    sim_t s2 = s;
    s2.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa2 = { .sun_family = AF_UNIX };
    strcpy(sa2.sun_path, sock_path);
    assert_int_equal(connect(s2.fd, (struct sockaddr *)&sa2, sizeof sa2), 0);
    assert_int_equal(sim_wait(&s2, 500000), t + 500000);
    assert_int_equal(sim_time(&s), t + 500000);
    /* A request sent in pieces by one client does not hold up the other. */
    const uint8_t piece[2] = { 0x02, 0x00 };
    send_all(s2.fd, piece, sizeof piece);
    assert_int_equal(sim_time(&s), t + 500000);
    const uint8_t rest[9] = { 0x08, 0, 0, 0, 0, 0, 0, 0, 0x64 };
    send_all(s2.fd, rest, sizeof rest);
    uint8_t rh[4], rp[8];
    recv_all(s2.fd, rh, 4);
    recv_all(s2.fd, rp, 8);
    assert_int_equal(rh[1], 0);
    assert_int_equal(be64(rp), t + 500100);
    close(s2.fd);
    t = sim_time(&s);
    assert_int_equal(sim_time(&s), t);
    assert_int_equal(sim_xfer(&s, &reg, 1, &v, 1), 0);
    assert_int_equal(v, 0x4C);

    /* POWER_CYCLE returns the new time. */
    uint8_t off[8] = { 0, 0, 0, 0, 0, 0x0F, 0x42, 0x40 }, now[8];
    t = sim_time(&s);
    assert_int_equal(request(&s, 0x04, off, 8, now, 8), 0);
    /* 1 ms off, then the boot (a few ms at most) */
    assert_true(be64(now) > t + 1000000 && be64(now) < t + 11000000);

    assert_int_equal(request(&s, 0x05, NULL, 0, NULL, 0), 0);
    assert_int_equal(sim_wait_exit(&s), 0);
}

static void test_client_reconnects(void **state)
{
    (void)state;
    sim_t s;
    sim_start(&s, "--timing=typ");
    /* A client that leaves in the middle of a request. */
    uint8_t half[4] = { 0x01, 0x00, 0x06, 0x3B };
    send_all(s.fd, half, sizeof half);
    close(s.fd);

    s.fd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, sock_path);
    assert_int_equal(connect(s.fd, (struct sockaddr *)&sa, sizeof sa), 0);
    uint8_t reg = 0x01, v = 0;
    assert_int_equal(sim_xfer(&s, &reg, 1, &v, 1), 0);
    assert_int_equal(v, 0x4C);

    /* SIGTERM: clean exit. */
    kill(s.pid, SIGTERM);
    assert_int_equal(sim_wait_exit(&s), 0);
}

static void test_images_persist(void **state)
{
    (void)state;
    sim_t s;
    sim_start(&s, "--bus-khz=100");
    sim_wait_not_busy(&s);
    uint8_t frame[32] = { 0x30, 0x00, 0x00, 0x01, 0x5A };
    uint8_t none;
    assert_int_equal(sim_xfer(&s, frame, sizeof frame, &none, 0), 0);
    sim_wait_not_busy(&s);
    uint8_t reg = 0x81, err = 0xFF;
    assert_int_equal(sim_xfer(&s, &reg, 1, &err, 1), 0);
    assert_int_equal(err, 0);
    assert_int_equal(request(&s, 0x05, NULL, 0, NULL, 0), 0);
    assert_int_equal(sim_wait_exit(&s), 0);

    sim_start(&s, "--bus-khz=100");
    uint8_t rc[3] = { 0x31, 0, 0 };
    assert_int_equal(sim_xfer(&s, rc, 3, &none, 0), 0);
    sim_wait(&s, 100000000);
    sim_wait_not_busy(&s);
    static uint8_t resp[256];
    assert_int_equal(sim_xfer(&s, NULL, 0, resp, 256), 0);
    assert_int_equal(resp[0], 0x5A);
    assert_int_equal(resp[1], 0xFF);
    assert_int_equal(request(&s, 0x05, NULL, 0, NULL, 0), 0);
    assert_int_equal(sim_wait_exit(&s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_protocol, setup, teardown),
        cmocka_unit_test_setup_teardown(test_client_reconnects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_images_persist, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
