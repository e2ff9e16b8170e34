/*
 * flashbridge-sim: the simulated board's I2C bus on a Unix-domain socket
 * (docs/SIM-PROTOCOL.md).
 *
 * SIGINT/SIGTERM stay blocked except inside ppoll(), so a signal can only arrive while
 * the server waits for a client or for bytes; it then syncs the images and exits
 * cleanly instead of dying with the board half-written.
 */
#define _GNU_SOURCE /* ppoll, accept4 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "board.h"

#define SIM_PROTOCOL_VERSION 2u
#define XFER_MAX 4096u
#define USB_PACKET_MAX 1023u      /* the largest full-speed data payload */
#define USB_RESET_MAX_NS 1000000000u
#define MAX_CLIENTS 8

enum {
    OP_TRANSFER = 0x01,
    OP_WAIT = 0x02,
    OP_TIME = 0x03,
    OP_POWER_CYCLE = 0x04,
    OP_SHUTDOWN = 0x05,
    OP_HELLO = 0x06,
    OP_USB_RESET = 0x07,
    OP_USB_SETUP = 0x08,
    OP_USB_OUT = 0x09,
    OP_USB_IN = 0x0A,
    OP_USB_SUSPEND = 0x0B,
};

enum { ST_OK = 0x00, ST_MALFORMED = 0xFE, ST_UNKNOWN = 0xFF };

static volatile sig_atomic_t g_signal;
static sigset_t g_wait_mask; /* signal mask while waiting: SIGINT/SIGTERM let through */
static uint32_t g_bus_hz;
static bool g_realtime;
static struct timespec g_wall_start;

static void on_signal(int sig)
{
    g_signal = sig;
}

/* The socket file is left behind: a newer simulator may already have replaced it at the
 * same path, and the next start removes a stale one anyway. */
static void quit(int code)
{
    int r = board_sync();
    board_close();
    exit(r == 0 ? code : 1);
}

/* Wait for fd (or only for the timeout when fd < 0). 1 ready, 0 timed out. */
static int wait_fd(int fd, short events, const struct timespec *timeout)
{
    struct pollfd pfd = { .fd = fd, .events = events };
    for (;;) {
        if (g_signal)
            quit(0);
        int r = ppoll(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0, timeout, &g_wait_mask);
        if (r >= 0)
            return r > 0;
        if (errno != EINTR) {
            perror("flashbridge-sim: ppoll");
            quit(1);
        }
    }
}

static bool write_full(int fd, const uint8_t *buf, size_t n)
{
    size_t sent = 0;
    while (sent < n) {
        ssize_t r = send(fd, buf + sent, n - sent, MSG_NOSIGNAL);
        if (r >= 0) {
            sent += (size_t)r;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
            wait_fd(fd, POLLOUT, NULL);
        } else {
            return false;
        }
    }
    return true;
}

static uint16_t get_u16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint64_t get_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

static void put_u16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static uint32_t get_u32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void put_u32(uint8_t *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (24 - 8 * i));
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

/* ---- --realtime ---- */

static uint64_t wall_elapsed_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    int64_t ns = (int64_t)(t.tv_sec - g_wall_start.tv_sec) * 1000000000 +
                 (t.tv_nsec - g_wall_start.tv_nsec);
    return ns > 0 ? (uint64_t)ns : 0;
}

/* Virtual time is where the board would be had it kept running meanwhile. */
static void realtime_catch_up(void)
{
    if (!g_realtime)
        return;
    uint64_t wall = wall_elapsed_ns();
    if (board_now() < wall)
        board_wait(wall - board_now());
}

/* The client must not see a reply before the time it describes has passed. */
static void realtime_hold_back(void)
{
    if (!g_realtime)
        return;
    for (;;) {
        uint64_t wall = wall_elapsed_ns();
        if (board_now() <= wall)
            return;
        uint64_t d = board_now() - wall;
        struct timespec ts = { .tv_sec = (time_t)(d / 1000000000u),
                               .tv_nsec = (long)(d % 1000000000u) };
        wait_fd(-1, 0, &ts);
    }
}

/* ---- requests ---- */

typedef struct reply {
    uint8_t status;
    uint16_t len;
    uint8_t payload[2 + XFER_MAX];
} reply_t;

static void op_transfer(const uint8_t *p, size_t len, reply_t *rep)
{
    if (len < 5) {
        rep->status = ST_MALFORMED;
        return;
    }
    uint8_t addr7 = p[0];
    size_t wlen = get_u16(p + 1), rlen = get_u16(p + 3);
    if (addr7 > 0x7F || wlen > XFER_MAX || rlen > XFER_MAX || len != 5 + wlen) {
        rep->status = ST_MALFORMED;
        return;
    }
    size_t wacked = 0;
    board_xfer_status_t st = board_transfer(addr7, p + 5, wlen, rep->payload + 2, rlen, &wacked);
    realtime_hold_back();
    rep->status = (uint8_t)st;
    put_u16(rep->payload, (uint16_t)wacked);
    rep->len = (uint16_t)(2 + (st == BOARD_ACK ? rlen : 0));
}

static void reply_time(reply_t *rep)
{
    put_u64(rep->payload, board_now());
    rep->len = 8;
}

/* USB operations (docs/SIM-PROTOCOL.md): the status carries the outcome. */
static void op_usb(uint8_t op, const uint8_t *p, size_t len, reply_t *rep)
{
    if (!board_usb_present()) {
        rep->status = ST_UNKNOWN;
        return;
    }
    switch (op) {
    case OP_USB_RESET: {
        if (len != 8 || get_u64(p) == 0 || get_u64(p) > USB_RESET_MAX_NS) {
            rep->status = ST_MALFORMED;
            return;
        }
        bool attached = board_usb_reset(get_u64(p));
        realtime_hold_back();
        rep->payload[0] = attached;
        put_u64(rep->payload + 1, board_now());
        rep->len = 9;
        return;
    }
    case OP_USB_SUSPEND:
        if (len != 0) {
            rep->status = ST_MALFORMED;
            return;
        }
        board_usb_suspend();
        reply_time(rep);
        return;
    case OP_USB_SETUP:
        if (len != 10 || p[0] > 0x7F || p[1] > 15) {
            rep->status = ST_MALFORMED;
            return;
        }
        rep->status = (uint8_t)board_usb_setup(p[0], p[1], p + 2);
        realtime_hold_back();
        reply_time(rep);
        return;
    case OP_USB_OUT: {
        if (len < 7 || len - 7 > USB_PACKET_MAX || p[0] > 0x7F || p[1] > 15 || p[2] > 1) {
            rep->status = ST_MALFORMED;
            return;
        }
        uint32_t naks = 0;
        board_usb_status_t st = board_usb_out(p[0], p[1], p[2] != 0, p + 7, len - 7,
                                              (uint64_t)get_u32(p + 3) * 1000u, &naks);
        realtime_hold_back();
        rep->status = (uint8_t)st;
        put_u32(rep->payload, naks);
        put_u64(rep->payload + 4, board_now());
        rep->len = 12;
        return;
    }
    case OP_USB_IN: {
        if (len != 8 || p[0] > 0x7F || p[1] > 15 || get_u16(p + 2) > USB_PACKET_MAX) {
            rep->status = ST_MALFORMED;
            return;
        }
        uint32_t naks = 0;
        size_t n = 0;
        bool data1 = false;
        board_usb_status_t st = board_usb_in(p[0], p[1], rep->payload + 13, get_u16(p + 2), &n,
                                             &data1, (uint64_t)get_u32(p + 4) * 1000u, &naks);
        realtime_hold_back();
        rep->status = (uint8_t)st;
        rep->payload[0] = data1;
        put_u32(rep->payload + 1, naks);
        put_u64(rep->payload + 5, board_now());
        rep->len = (uint16_t)(13 + (st == BOARD_USB_ACK ? n : 0));
        return;
    }
    default:
        rep->status = ST_UNKNOWN;
        return;
    }
}

/* Returns false when the server must exit after sending the reply. */
static bool handle(uint8_t op, const uint8_t *p, size_t len, reply_t *rep)
{
    rep->status = ST_OK;
    rep->len = 0;
    switch (op) {
    case OP_TRANSFER:
        op_transfer(p, len, rep);
        break;
    case OP_WAIT:
        if (len != 8 || get_u64(p) > UINT64_MAX - board_now()) {
            rep->status = ST_MALFORMED;
            break;
        }
        board_wait(get_u64(p));
        realtime_hold_back();
        reply_time(rep);
        break;
    case OP_TIME:
        if (len != 0) {
            rep->status = ST_MALFORMED;
            break;
        }
        reply_time(rep);
        break;
    case OP_POWER_CYCLE:
        if (len != 8 || get_u64(p) > UINT64_MAX - board_now()) {
            rep->status = ST_MALFORMED;
            break;
        }
        board_power_cycle(get_u64(p));
        realtime_hold_back();
        reply_time(rep);
        break;
    case OP_SHUTDOWN:
        if (len != 0) {
            rep->status = ST_MALFORMED;
            break;
        }
        return false;
    case OP_HELLO:
        if (len != 0) {
            rep->status = ST_MALFORMED;
            break;
        }
        rep->payload[0] = SIM_PROTOCOL_VERSION;
        put_u32(rep->payload + 1, g_bus_hz);
        rep->len = 5;
        break;
    case OP_USB_RESET:
    case OP_USB_SETUP:
    case OP_USB_OUT:
    case OP_USB_IN:
    case OP_USB_SUSPEND:
        op_usb(op, p, len, rep);
        break;
    default:
        rep->status = ST_UNKNOWN;
        break;
    }
    return true;
}

/* Several clients may be connected (an I2C client and a USB client on the same board):
 * the server takes one whole request at a time, from the clients in turn, and answers it
 * before the next; each request runs in virtual time from where the previous one left
 * it. A partial request waits for its remaining bytes without holding up the others. */
typedef struct client {
    int fd;
    size_t have;
    uint8_t buf[3 + 65535];
} client_t;

static client_t *g_clients[MAX_CLIENTS];

static void drop_client(int i)
{
    close(g_clients[i]->fd);
    free(g_clients[i]);
    g_clients[i] = NULL;
}

/* Read what the client has sent. false: it went away. */
static bool client_fill(client_t *c)
{
    for (;;) {
        size_t want = 3;
        if (c->have >= 3)
            want = 3 + (size_t)get_u16(c->buf + 1);
        if (c->have >= want)
            return true;
        ssize_t r = recv(c->fd, c->buf + c->have, want - c->have, 0);
        if (r > 0)
            c->have += (size_t)r;
        else if (r == 0)
            return false;
        else
            return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR;
    }
}

static bool client_ready(const client_t *c)
{
    return c->have >= 3 && c->have >= 3 + (size_t)get_u16(c->buf + 1);
}

/* Answer the client's complete request. false: the client is to be dropped. */
static bool client_serve(client_t *c)
{
    static reply_t rep;
    uint8_t op = c->buf[0];
    size_t len = get_u16(c->buf + 1);
    realtime_catch_up();
    bool go_on = handle(op, c->buf + 3, len, &rep);
    if (!go_on && board_sync() != 0)
        quit(1);
    c->have = 0;
    uint8_t out[4];
    out[0] = (uint8_t)(op | 0x80);
    out[1] = rep.status;
    put_u16(out + 2, rep.len);
    bool sent = write_full(c->fd, out, 4) && write_full(c->fd, rep.payload, rep.len);
    if (!go_on) {
        close(c->fd);
        quit(0);
    }
    return sent;
}

static void serve_all(int lfd) __attribute__((noreturn));
static void serve_all(int lfd)
{
    for (;;) {
        struct pollfd pfd[MAX_CLIENTS + 1];
        int idx[MAX_CLIENTS + 1];
        nfds_t n = 0;
        int nclients = 0;
        for (int i = 0; i < MAX_CLIENTS; i++) {
            if (g_clients[i]) {
                pfd[n] = (struct pollfd){ .fd = g_clients[i]->fd, .events = POLLIN };
                idx[n++] = i;
                nclients++;
            }
        }
        if (nclients < MAX_CLIENTS) {
            pfd[n] = (struct pollfd){ .fd = lfd, .events = POLLIN };
            idx[n++] = -1;
        }
        if (g_signal)
            quit(0);
        int r = ppoll(pfd, n, NULL, &g_wait_mask);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            perror("flashbridge-sim: ppoll");
            quit(1);
        }
        for (nfds_t k = 0; k < n; k++) {
            if (!pfd[k].revents)
                continue;
            if (idx[k] < 0) {
                int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
                if (fd < 0) {
                    if (errno == EINTR || errno == EAGAIN || errno == ECONNABORTED)
                        continue;
                    perror("flashbridge-sim: accept");
                    quit(1);
                }
                for (int i = 0; i < MAX_CLIENTS; i++) {
                    if (!g_clients[i]) {
                        g_clients[i] = calloc(1, sizeof(client_t));
                        if (!g_clients[i]) {
                            close(fd);
                            break;
                        }
                        g_clients[i]->fd = fd;
                        break;
                    }
                }
                continue;
            }
            /* One request per client per round: the clients take turns. */
            client_t *c = g_clients[idx[k]];
            if (!client_fill(c)) {
                drop_client(idx[k]);
                continue;
            }
            if (client_ready(c) && !client_serve(c))
                drop_client(idx[k]);
        }
    }
}

/* ---- start-up ---- */

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s --socket PATH [options]\n"
            "Serve the simulated flashbridge board's I2C bus on a Unix socket\n"
            "(protocol: docs/SIM-PROTOCOL.md).\n"
            "  --socket PATH        socket to listen on (a stale one is replaced)\n"
            "  --flash-image FILE   W25Q64 image (8 MiB; created erased if missing)\n"
            "  --config-image FILE  STM32F103 internal flash image (64 KiB; created\n"
            "                       erased if missing); both default to memory only\n"
            "  --bus-khz 100|400    I2C clock (default 100)\n"
            "  --timing typ|max     flash operation times (default typ)\n"
            "  --realtime           keep virtual time in step with the wall clock\n"
            "  --help               this text\n",
            argv0);
}

static int listen_on(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof sa.sun_path) {
        fprintf(stderr, "flashbridge-sim: socket path too long: %s\n", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            fprintf(stderr, "flashbridge-sim: %s exists and is not a socket\n", path);
            return -1;
        }
        unlink(path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(fd, 4) != 0) {
        perror(path);
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        { "socket", required_argument, NULL, 's' },
        { "flash-image", required_argument, NULL, 'f' },
        { "config-image", required_argument, NULL, 'c' },
        { "bus-khz", required_argument, NULL, 'b' },
        { "timing", required_argument, NULL, 't' },
        { "realtime", no_argument, NULL, 'r' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    board_config_t cfg = { .bus_hz = 100000u };
    const char *socket_path = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            socket_path = optarg;
            break;
        case 'f':
            cfg.flash_image = optarg;
            break;
        case 'c':
            cfg.config_image = optarg;
            break;
        case 'b':
            if (strcmp(optarg, "100") == 0) {
                cfg.bus_hz = 100000u;
            } else if (strcmp(optarg, "400") == 0) {
                cfg.bus_hz = 400000u;
            } else {
                fprintf(stderr, "flashbridge-sim: --bus-khz must be 100 or 400\n");
                return 2;
            }
            break;
        case 't':
            if (strcmp(optarg, "typ") == 0) {
                cfg.timing_max = false;
            } else if (strcmp(optarg, "max") == 0) {
                cfg.timing_max = true;
            } else {
                fprintf(stderr, "flashbridge-sim: --timing must be typ or max\n");
                return 2;
            }
            break;
        case 'r':
            g_realtime = true;
            break;
        case 'h':
            usage(stdout, argv[0]);
            return 0;
        default:
            usage(stderr, argv[0]);
            return 2;
        }
    }
    if (!socket_path || optind != argc) {
        usage(stderr, argv[0]);
        return 2;
    }
    g_bus_hz = cfg.bus_hz;

    sigset_t block;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigprocmask(SIG_BLOCK, &block, &g_wait_mask);
    sigdelset(&g_wait_mask, SIGINT);
    sigdelset(&g_wait_mask, SIGTERM);
    struct sigaction sa = { .sa_handler = on_signal }; /* no SA_RESTART: ppoll sees EINTR */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    if (board_open(&cfg) != 0)
        return 1;
    int lfd = listen_on(socket_path);
    if (lfd < 0) {
        board_close();
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &g_wall_start);
    printf("flashbridge-sim: listening on %s\n", socket_path);
    fflush(stdout);

    serve_all(lfd);
}
