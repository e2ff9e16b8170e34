/*
 * The simulator transport against a fake flashbridge-sim in a thread: request bytes,
 * reply status mapping, virtual time, and framing under short reads, signals, a
 * peer that lies about the reply and a peer that hangs up.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "fb_transport.h"
#include "flashbridge.h"

typedef struct fake_sim {
    char dir[64];
    char path[128];
    int lfd;
    _Atomic int cfd; /* the accepted connection, -1 before */
    pthread_t th;
    /* Behaviour. */
    uint8_t version;
    bool dribble;        /* send replies one byte per write */
    unsigned delay_us;   /* wait before each reply */
    bool lie_op;         /* answer with the wrong op byte */
    bool short_ok_reply; /* TRANSFER status 0 but no read data */
    bool hang_up;        /* close instead of answering the next request */
    bool close_after_hello; /* hang up right after answering HELLO */
    _Atomic bool closed; /* the server has closed its end */
    /* Observations (written before the reply goes out, read after it arrived). */
    uint64_t now_ns;
    uint8_t req[8200];
    size_t req_len;
    unsigned requests;
    bool shutdown;
} fake_sim_t;

static int rd(int fd, uint8_t *p, size_t n)
{
    while (n) {
        ssize_t k = read(fd, p, n);
        if (k <= 0)
            return -1;
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

static void wr(fake_sim_t *s, int fd, const uint8_t *p, size_t n)
{
    if (s->delay_us)
        usleep(s->delay_us);
    size_t step = s->dribble ? 1 : n;
    while (n) {
        size_t k = n < step ? n : step;
        /* MSG_NOSIGNAL: a client that failed and left must not kill the test run. */
        if (send(fd, p, k, MSG_NOSIGNAL) != (ssize_t)k)
            return;
        p += k;
        n -= k;
        if (s->dribble)
            usleep(50);
    }
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void reply(fake_sim_t *s, int fd, uint8_t op, uint8_t status, const uint8_t *pl,
                  size_t n)
{
    uint8_t out[8200];
    out[0] = (uint8_t)((s->lie_op ? op + 1 : op) | 0x80);
    out[1] = status;
    out[2] = (uint8_t)(n >> 8);
    out[3] = (uint8_t)n;
    memcpy(out + 4, pl, n);
    wr(s, fd, out, 4 + n);
}

static void *server(void *arg)
{
    fake_sim_t *s = arg;
    int fd = accept(s->lfd, NULL, NULL);
    if (fd < 0)
        return NULL;
    s->cfd = fd;
    for (;;) {
        uint8_t h[3];
        if (rd(fd, h, 3))
            break;
        size_t len = (size_t)(h[1] << 8 | h[2]);
        uint8_t *p = s->req + 3;
        if (len > sizeof s->req - 3 || rd(fd, p, len))
            break;
        memcpy(s->req, h, 3);
        s->req_len = 3 + len;
        s->requests++;
        if (s->hang_up)
            break;
        uint8_t pl[8200];
        switch (h[0]) {
        case 0x06: /* HELLO */
            pl[0] = s->version;
            pl[1] = 0, pl[2] = 0x01, pl[3] = 0x86, pl[4] = 0xA0; /* 100 kHz */
            reply(s, fd, 0x06, 0, pl, 5);
            if (s->close_after_hello)
                goto out;
            break;
        case 0x01: { /* TRANSFER */
            uint8_t addr = p[0];
            size_t wlen = (size_t)(p[1] << 8 | p[2]), rlen = (size_t)(p[3] << 8 | p[4]);
            const uint8_t *w = p + 5;
            if (addr != 0x3B) {
                pl[0] = pl[1] = 0;
                reply(s, fd, 0x01, 1, pl, 2);
            } else if (wlen && w[0] == 0xEE) {
                pl[0] = 0, pl[1] = 1;
                reply(s, fd, 0x01, 2, pl, 2);
            } else if (wlen && w[0] == 0xEF) {
                reply(s, fd, 0x01, 0xFE, pl, 0);
            } else if (s->short_ok_reply) {
                pl[0] = 0, pl[1] = (uint8_t)wlen;
                reply(s, fd, 0x01, 0, pl, 2);
            } else {
                pl[0] = (uint8_t)(wlen >> 8), pl[1] = (uint8_t)wlen;
                for (size_t i = 0; i < rlen; i++)
                    pl[2 + i] = (uint8_t)(i ^ (wlen ? w[0] : 0xA5));
                reply(s, fd, 0x01, 0, pl, 2 + rlen);
            }
            break;
        }
        case 0x02: /* WAIT */
        case 0x04: /* POWER_CYCLE */
            s->now_ns += get_u64(p);
            put_u64(pl, s->now_ns);
            reply(s, fd, h[0], 0, pl, 8);
            break;
        case 0x03: /* TIME */
            put_u64(pl, s->now_ns);
            reply(s, fd, 0x03, 0, pl, 8);
            break;
        case 0x05: /* SHUTDOWN */
            s->shutdown = true;
            reply(s, fd, 0x05, 0, pl, 0);
            close(fd);
            return NULL;
        default:
            reply(s, fd, h[0], 0xFF, pl, 0);
            break;
        }
    }
out:
    close(fd);
    s->closed = true;
    return NULL;
}

static int setup(void **state)
{
    fake_sim_t *s = calloc(1, sizeof *s);
    snprintf(s->dir, sizeof s->dir, "/tmp/fbsimtestXXXXXX");
    if (!mkdtemp(s->dir)) {
        free(s);
        return -1;
    }
    snprintf(s->path, sizeof s->path, "%s/sock", s->dir);
    s->version = 1;
    s->cfd = -1;
    s->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, s->path);
    if (bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) || listen(s->lfd, 1)) {
        close(s->lfd);
        rmdir(s->dir);
        free(s);
        return -1;
    }
    /* The server thread inherits a mask with SIGALRM blocked, so the signals of the
     * EINTR test only ever interrupt the client side. */
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, &old);
    pthread_create(&s->th, NULL, server, s);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    *state = s;
    return 0;
}

static int teardown(void **state)
{
    fake_sim_t *s = *state;
    /* Wake the server wherever it waits: in accept (no client came) or in read (a
     * failed assertion skipped the client's close). */
    shutdown(s->lfd, SHUT_RDWR);
    int cfd = s->cfd;
    if (cfd >= 0)
        shutdown(cfd, SHUT_RDWR);
    pthread_join(s->th, NULL);
    close(s->lfd);
    unlink(s->path);
    rmdir(s->dir);
    free(s);
    return 0;
}

static void test_hello_and_register_read(void **state)
{
    fake_sim_t *s = *state;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    assert_int_equal(s->req[0], 0x06); /* HELLO came first */
    assert_int_equal(s->req_len, 3);

    const uint8_t w = 0x80;
    uint8_t r[3];
    assert_int_equal(t->ops->xfer(t, 0x3B, &w, 1, r, sizeof r), FB_HOST_OK);
    const uint8_t expect_req[] = {0x01, 0x00, 0x06, 0x3B, 0x00, 0x01, 0x00, 0x03, 0x80};
    assert_int_equal(s->req_len, sizeof expect_req);
    assert_memory_equal(s->req, expect_req, sizeof expect_req);
    assert_int_equal(r[0], 0x80);
    assert_int_equal(r[1], 0x81);
    assert_int_equal(r[2], 0x82);
    fb_transport_close(t);
}

static void test_write_read_probe_shapes(void **state)
{
    fake_sim_t *s = *state;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    uint8_t frame[32];
    for (int i = 0; i < 32; i++)
        frame[i] = (uint8_t)i;
    frame[0] = 0x11;
    assert_int_equal(t->ops->xfer(t, 0x3B, frame, 32, NULL, 0), FB_HOST_OK);
    assert_int_equal(s->req_len, 3 + 5 + 32);
    assert_int_equal(s->req[2], 5 + 32);
    assert_memory_equal(s->req + 8, frame, 32);

    uint8_t r[256];
    assert_int_equal(t->ops->xfer(t, 0x3B, NULL, 0, r, sizeof r), FB_HOST_OK);
    assert_int_equal(s->req[4] << 8 | s->req[5], 0);   /* wlen */
    assert_int_equal(s->req[6] << 8 | s->req[7], 256); /* rlen */
    assert_int_equal(r[255], 255 ^ 0xA5);

    assert_int_equal(t->ops->xfer(t, 0x3B, NULL, 0, NULL, 0), FB_HOST_OK);
    assert_int_equal(s->req_len, 3 + 5);
    fb_transport_close(t);
}

static void test_status_mapping(void **state)
{
    fake_sim_t *s = *state;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    uint8_t r[4];
    const uint8_t nack_data = 0xEE, malformed = 0xEF, ok = 0x01;
    assert_int_equal(t->ops->xfer(t, 0x3C, &ok, 1, r, 1), FB_HOST_ENACK);
    assert_int_equal(t->ops->xfer(t, 0x3B, &nack_data, 1, NULL, 0), FB_HOST_ENACK);
    assert_int_equal(t->ops->xfer(t, 0x3B, &malformed, 1, r, 1), FB_HOST_EIO);
    /* None of those broke the stream. */
    assert_int_equal(t->ops->xfer(t, 0x3B, &ok, 1, r, 1), FB_HOST_OK);
    assert_int_equal(r[0], 0x01);
    /* OK status without the promised bytes is an I/O error, not data. */
    s->short_ok_reply = true;
    assert_int_equal(t->ops->xfer(t, 0x3B, &ok, 1, r, 4), FB_HOST_EIO);
    s->short_ok_reply = false;
    assert_int_equal(t->ops->xfer(t, 0x3B, &ok, 1, r, 1), FB_HOST_OK);
    fb_transport_close(t);
}

static void test_virtual_time(void **state)
{
    fake_sim_t *s = *state;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    assert_int_equal(t->ops->now_us(t), 0);
    assert_int_equal(t->ops->sleep_us(t, 1500), FB_HOST_OK);
    const uint8_t expect[] = {0x02, 0x00, 0x08, 0, 0, 0, 0, 0, 0x16, 0xE3, 0x60};
    assert_memory_equal(s->req, expect, sizeof expect); /* 1,500,000 ns big-endian */
    assert_int_equal(t->ops->now_us(t), 1500);
    assert_int_equal(s->req[0], 0x03);
    /* A sleep too long for nanoseconds saturates instead of wrapping to a short one. */
    assert_int_equal(t->ops->sleep_us(t, UINT64_MAX / 10), FB_HOST_OK);
    assert_int_equal(get_u64(s->req + 3), UINT64_MAX);
    fb_transport_close(t);
}

static void test_power_cycle_and_shutdown(void **state)
{
    fake_sim_t *s = *state;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    assert_int_equal(fb_transport_sim_power_cycle(t, 5000), FB_HOST_OK);
    assert_int_equal(s->req[0], 0x04);
    assert_int_equal(get_u64(s->req + 3), 5000);
    assert_int_equal(t->ops->now_us(t), 5);
    assert_int_equal(fb_transport_sim_shutdown(t), FB_HOST_OK);
    assert_true(s->shutdown);
    fb_transport_close(t);
}

static int other_xfer(fb_transport_t *t, uint8_t a, const uint8_t *w, size_t wl, uint8_t *r,
                      size_t rl)
{
    (void)t, (void)a, (void)w, (void)wl, (void)r, (void)rl;
    return 0;
}

static void test_sim_only_requests_check_transport(void **state)
{
    (void)state;
    static const struct fb_transport_ops other_ops = {.xfer = other_xfer};
    fb_transport_t other = {&other_ops};
    assert_int_equal(fb_transport_sim_power_cycle(&other, 1), FB_HOST_EINVAL);
    assert_int_equal(fb_transport_sim_shutdown(&other), FB_HOST_EINVAL);
    assert_int_equal(fb_transport_sim_shutdown(NULL), FB_HOST_EINVAL);
}

static void test_short_reads(void **state)
{
    fake_sim_t *s = *state;
    s->dribble = true;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    const uint8_t w = 0x10;
    uint8_t r[64];
    assert_int_equal(t->ops->xfer(t, 0x3B, &w, 1, r, sizeof r), FB_HOST_OK);
    for (unsigned i = 0; i < sizeof r; i++)
        assert_int_equal(r[i], (uint8_t)(i ^ 0x10));
    assert_int_equal(t->ops->sleep_us(t, 7), FB_HOST_OK);
    assert_int_equal(t->ops->now_us(t), 7);
    fb_transport_close(t);
}

static volatile sig_atomic_t alarms;

static void on_alarm(int sig)
{
    (void)sig;
    alarms++;
}

static void test_signals_do_not_break_framing(void **state)
{
    fake_sim_t *s = *state;
    /* Signals land in this thread (the server thread has them blocked) while it waits
     * in read(); without SA_RESTART each one interrupts the wait with EINTR. */
    struct sigaction sa = {.sa_handler = on_alarm}, old;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, &old);
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    s->delay_us = 20000;
    alarms = 0;
    struct itimerval it = {{0, 1000}, {0, 1000}}, off = {{0, 0}, {0, 0}};
    setitimer(ITIMER_REAL, &it, NULL);
    const uint8_t w = 0x22;
    uint8_t r[16];
    int rc = t->ops->xfer(t, 0x3B, &w, 1, r, sizeof r);
    int rc2 = t->ops->sleep_us(t, 3);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    assert_int_equal(rc, FB_HOST_OK);
    assert_int_equal(rc2, FB_HOST_OK);
    assert_int_equal(r[15], 15 ^ 0x22);
    assert_true(alarms > 0);
    s->delay_us = 0;
    fb_transport_close(t);
}

static void test_wrong_version_refused(void **state)
{
    fake_sim_t *s = *state;
    s->version = 3; /* 1 and 2 are served (2 adds USB operations) */
    errno = 0;
    assert_null(fb_transport_sim_open(s->path));
    assert_int_equal(errno, EPROTO);
}

static void test_desync_breaks_connection(void **state)
{
    fake_sim_t *s = *state;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    s->lie_op = true;
    const uint8_t w = 0x01;
    uint8_t r[1];
    assert_int_equal(t->ops->xfer(t, 0x3B, &w, 1, r, 1), FB_HOST_EIO);
    s->lie_op = false;
    unsigned n = s->requests;
    /* Once the framing is in doubt nothing more is sent or trusted. */
    assert_int_equal(t->ops->xfer(t, 0x3B, &w, 1, r, 1), FB_HOST_EIO);
    assert_int_equal(t->ops->sleep_us(t, 1), FB_HOST_EIO);
    assert_int_equal(s->requests, n);
    fb_transport_close(t);
}

static void test_peer_hangs_up(void **state)
{
    fake_sim_t *s = *state;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    s->hang_up = true;
    const uint8_t w = 0x01;
    uint8_t r[1];
    assert_int_equal(t->ops->xfer(t, 0x3B, &w, 1, r, 1), FB_HOST_EIO);
    assert_int_equal(t->ops->xfer(t, 0x3B, &w, 1, r, 1), FB_HOST_EIO);
    fb_transport_close(t);
}

static void test_write_to_closed_peer_is_eio(void **state)
{
    fake_sim_t *s = *state;
    s->close_after_hello = true;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    while (!s->closed)
        usleep(100);
    /* The request write meets a closed socket: EPIPE, which must be an error code
     * rather than a SIGPIPE that ends the process. */
    const uint8_t w = 0x01;
    uint8_t r[1];
    assert_int_equal(t->ops->xfer(t, 0x3B, &w, 1, r, 1), FB_HOST_EIO);
    fb_transport_close(t);
}

static void test_oversized_transfer_refused_locally(void **state)
{
    fake_sim_t *s = *state;
    fb_transport_t *t = fb_transport_sim_open(s->path);
    assert_non_null(t);
    static uint8_t big[4097];
    unsigned n = s->requests;
    assert_int_equal(t->ops->xfer(t, 0x3B, big, sizeof big, NULL, 0), FB_HOST_EIO);
    assert_int_equal(t->ops->xfer(t, 0x3B, NULL, 0, big, sizeof big), FB_HOST_EIO);
    assert_int_equal(s->requests, n);
    /* The largest allowed transfer goes through. */
    assert_int_equal(t->ops->xfer(t, 0x3B, big, 4096, big, 4096), FB_HOST_OK);
    fb_transport_close(t);
}

static void test_open_errors(void **state)
{
    (void)state;
    errno = 0;
    assert_null(fb_transport_sim_open("/nonexistent-dir/fb.sock"));
    assert_int_equal(errno, ENOENT);
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = '\0';
    errno = 0;
    assert_null(fb_transport_sim_open(longpath));
    assert_int_equal(errno, ENAMETOOLONG);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_hello_and_register_read),
        T(test_write_read_probe_shapes),
        T(test_status_mapping),
        T(test_virtual_time),
        T(test_power_cycle_and_shutdown),
        cmocka_unit_test(test_sim_only_requests_check_transport),
        T(test_short_reads),
        T(test_signals_do_not_break_framing),
        T(test_wrong_version_refused),
        T(test_desync_breaks_connection),
        T(test_peer_hangs_up),
        T(test_write_to_closed_peer_is_eio),
        T(test_oversized_transfer_refused_locally),
        cmocka_unit_test(test_open_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
