/*
 * flashbridge CLI: parse the whole command line first (so a typo never reaches the
 * device), then open the transport, check WHO_AM_I, and run one command.
 */
#include <ctype.h>
#include <stdarg.h>
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "flashbridge.h"
#include "flashbridge/protocol.h"

#define PROG "flashbridge"
/* Reads for `file get` go in pieces so memory stays small; each piece is one streaming
 * read with the extension, so they are large enough for its request to be noise. */
#define GET_CHUNK (256u * FB_SECTOR_SIZE)

static const char usage_text[] =
    "usage: " PROG " [--sim SOCKET | --dev /dev/i2c-N] [--addr 0x3B] [--v1] [--quiet] COMMAND ...\n"
    "\n"
    "Talk to a flashbridge I2C storage co-processor.\n"
    "\n"
    "Connection (one of them; the environment gives defaults):\n"
    "  --sim SOCKET     flashbridge-sim socket          (FLASHBRIDGE_SIM)\n"
    "  --dev PATH       Linux I2C adapter, /dev/i2c-N   (FLASHBRIDGE_DEV)\n"
    "  --addr ADDR      7-bit target address (default 0x3B)\n"
    "  --v1             v1 frames only, even if the target has the streaming extension\n"
    "  --quiet, -q      no progress line and no informational messages\n"
    "  --help, -h       this text\n"
    "\n"
    "Commands:\n"
    "  info                           identity, status, file name and size\n"
    "  status                         decoded STATUS and ERROR bits (reading clears ERROR)\n"
    "  config read [--offset N] [--length N] [--out FILE]\n"
    "                                 config zone bytes (default: the whole 1024-byte zone);\n"
    "                                 hex dump on a terminal, raw bytes otherwise\n"
    "  config write OFFSET (--hex HEX | --in FILE|- | --text STRING)\n"
    "  config clear                   config zone back to all 0xFF\n"
    "  file name [NAME.EXT]           show or set the 8.3 file name\n"
    "  file put FILE|-                append a file (or stdin) to the data file\n"
    "  file log [--delay-ms N]        append stdin line by line as it comes (a log: lines\n"
    "                                 gathered into full frames; a partial frame goes at\n"
    "                                 the first line N ms (default 1000) after its first\n"
    "                                 byte, the rest at end of input, checked)\n"
    "  file get [--out FILE|-]        the whole data file (default: stdout)\n"
    "  file size                      data file size in bytes\n"
    "  file clear                     empty the data file\n"
    "\n"
    "Numbers may be decimal or 0x-prefixed hex.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  the device reported an error (the message names the ERROR bits)\n"
    "  2  usage error (bad arguments, unreadable input or unwritable output file)\n"
    "  3  communication error (no device, NACK, I/O error, not a flashbridge)\n"
    "  4  timeout (the device stayed busy too long)\n";

enum op {
    OP_NONE,
    OP_HELP,
    OP_INFO,
    OP_STATUS,
    OP_CONFIG_READ,
    OP_CONFIG_WRITE,
    OP_CONFIG_CLEAR,
    OP_FILE_NAME,
    OP_FILE_PUT,
    OP_FILE_LOG,
    OP_FILE_GET,
    OP_FILE_SIZE,
    OP_FILE_CLEAR,
};

struct args {
    const char *sim;
    const char *dev;
    uint8_t addr;
    bool quiet;
    bool v1;
    enum op op;
    unsigned offset;
    unsigned length;
    const char *out;   /* config read, file get */
    const char *in;    /* config write --in */
    const char *hex;   /* config write --hex */
    const char *text;  /* config write --text */
    const char *name;  /* file name NAME.EXT */
    const char *path;  /* file put */
    uint32_t delay_ms; /* file log */
};

typedef struct cli {
    const fb_cli_io_t *io;
    struct args a;
    fb_client_t client;
    /* Input of config write / file put, loaded and checked before the device is
     * opened so that bad input never reaches the bus. */
    const uint8_t *data;
    size_t len;
    uint8_t *owned;
    uint8_t hexbuf[FB_CONFIG_SIZE];
} cli_t;

/* ---- messages ---- */

static void msg(cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void msg(cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", cli->io->err);
    vfprintf(cli->io->err, fmt, ap);
    fputc('\n', cli->io->err);
    va_end(ap);
}

static int usage_error(cli_t *cli, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int usage_error(cli_t *cli, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(PROG ": ", cli->io->err);
    vfprintf(cli->io->err, fmt, ap);
    fputs("\nTry '" PROG " --help'.\n", cli->io->err);
    va_end(ap);
    return FB_EXIT_USAGE;
}

static int exit_code(int rc)
{
    switch (rc) {
    case FB_HOST_OK:
        return FB_EXIT_OK;
    case FB_HOST_EDEVICE:
        return FB_EXIT_DEVICE;
    case FB_HOST_EINVAL:
        return FB_EXIT_USAGE;
    case FB_HOST_ETIMEOUT:
        return FB_EXIT_TIMEOUT;
    default:
        return FB_EXIT_COMM;
    }
}

/* Report a library failure and turn it into the exit code. */
static int fail(cli_t *cli, int rc, const char *what)
{
    if (rc == FB_HOST_EDEVICE) {
        char bits[160];
        fb_error_bits_str(cli->client.last_error, bits, sizeof bits);
        msg(cli, "%s: device error 0x%02X: %s", what, cli->client.last_error, bits);
    } else {
        msg(cli, "%s: %s", what, fb_strerror(rc));
    }
    return exit_code(rc);
}

/* ---- argument parsing ---- */

/* Unsigned number, decimal or 0x hex, the whole string, at most max. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *v)
{
    if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
        return false;
    errno = 0;
    char *end;
    unsigned long x = strtoul(s, &end, 0);
    if (errno || *end || x > max)
        return false;
    *v = x;
    return true;
}

/* Option taking a value, as "--name VALUE" or "--name=VALUE". Returns 1 when argv[*i]
 * is that option (and *i then points at its value), 0 when it is not, -1 when the
 * value is missing. */
static int opt_value(int argc, char **argv, int *i, const char *name, const char **val)
{
    size_t n = strlen(name);
    if (strncmp(argv[*i], name, n) != 0)
        return 0;
    if (argv[*i][n] == '=') {
        *val = argv[*i] + n + 1;
        return 1;
    }
    if (argv[*i][n] != '\0')
        return 0;
    if (*i + 1 >= argc)
        return -1;
    *val = argv[++*i];
    return 1;
}

/* Options of a subcommand: each listed name may appear once with a value; anything
 * else starting with "--" is unknown; other words are positional. */
struct opt_spec {
    const char *name;
    const char **dst;
};

static int parse_sub(cli_t *cli, int argc, char **argv, int i, const struct opt_spec *opts,
                     size_t nopts, const char **pos, size_t max_pos, size_t *npos)
{
    *npos = 0;
    for (; i < argc; i++) {
        bool matched = false;
        for (size_t k = 0; k < nopts && !matched; k++) {
            const char *v;
            int r = opt_value(argc, argv, &i, opts[k].name, &v);
            if (r < 0)
                return usage_error(cli, "option %s needs a value", opts[k].name);
            if (r == 0)
                continue;
            if (*opts[k].dst)
                return usage_error(cli, "option %s given twice", opts[k].name);
            *opts[k].dst = v;
            matched = true;
        }
        if (matched)
            continue;
        /* "-" alone is a file name (stdin/stdout), not an option. */
        if (argv[i][0] == '-' && argv[i][1] != '\0')
            return usage_error(cli, "unknown option '%s'", argv[i]);
        if (*npos >= max_pos)
            return usage_error(cli, "unexpected argument '%s'", argv[i]);
        pos[(*npos)++] = argv[i];
    }
    return FB_EXIT_OK;
}

static int parse_config(cli_t *cli, int argc, char **argv, int i)
{
    struct args *a = &cli->a;
    if (i >= argc)
        return usage_error(cli, "config: expected read, write or clear");
    const char *sub = argv[i++];
    const char *pos[1];
    size_t npos;
    int rc;
    if (strcmp(sub, "read") == 0) {
        const char *off = NULL, *len = NULL;
        const struct opt_spec o[] = {{"--offset", &off}, {"--length", &len}, {"--out", &a->out}};
        rc = parse_sub(cli, argc, argv, i, o, 3, pos, 0, &npos);
        if (rc)
            return rc;
        unsigned long v = 0;
        if (off && !parse_uint(off, FB_CONFIG_SIZE, &v))
            return usage_error(cli, "bad --offset '%s' (0..%u)", off, FB_CONFIG_SIZE);
        a->offset = (unsigned)v;
        if (len) {
            if (!parse_uint(len, FB_CONFIG_SIZE, &v) || a->offset + v > FB_CONFIG_SIZE)
                return usage_error(cli, "bad --length '%s': the zone ends at %u", len,
                                   FB_CONFIG_SIZE);
            a->length = (unsigned)v;
        } else {
            a->length = FB_CONFIG_SIZE - a->offset;
        }
        a->op = OP_CONFIG_READ;
        return FB_EXIT_OK;
    }
    if (strcmp(sub, "write") == 0) {
        const struct opt_spec o[] = {{"--hex", &a->hex}, {"--in", &a->in}, {"--text", &a->text}};
        rc = parse_sub(cli, argc, argv, i, o, 3, pos, 1, &npos);
        if (rc)
            return rc;
        unsigned long v;
        if (npos != 1)
            return usage_error(cli, "config write: expected OFFSET");
        if (!parse_uint(pos[0], FB_CONFIG_SIZE - 1, &v))
            return usage_error(cli, "bad offset '%s' (0..%u)", pos[0], FB_CONFIG_SIZE - 1);
        a->offset = (unsigned)v;
        if (!!a->hex + !!a->in + !!a->text != 1)
            return usage_error(cli, "config write: give exactly one of --hex, --in, --text");
        a->op = OP_CONFIG_WRITE;
        return FB_EXIT_OK;
    }
    if (strcmp(sub, "clear") == 0) {
        rc = parse_sub(cli, argc, argv, i, NULL, 0, pos, 0, &npos);
        if (rc)
            return rc;
        a->op = OP_CONFIG_CLEAR;
        return FB_EXIT_OK;
    }
    return usage_error(cli, "config: unknown subcommand '%s'", sub);
}

static int parse_file(cli_t *cli, int argc, char **argv, int i)
{
    struct args *a = &cli->a;
    if (i >= argc)
        return usage_error(cli, "file: expected name, put, log, get, size or clear");
    const char *sub = argv[i++];
    const char *pos[1] = {NULL};
    size_t npos;
    int rc;
    if (strcmp(sub, "name") == 0) {
        rc = parse_sub(cli, argc, argv, i, NULL, 0, pos, 1, &npos);
        if (rc)
            return rc;
        a->name = pos[0];
        if (a->name) {
            char n11[FB_FILENAME_LEN];
            if (fb_name_to_83(a->name, n11) != FB_HOST_OK)
                return usage_error(cli, "'%s' is not an 8.3 name (NAME.EXT: 1-8 and 0-3 "
                                        "characters)", a->name);
        }
        a->op = OP_FILE_NAME;
        return FB_EXIT_OK;
    }
    if (strcmp(sub, "put") == 0) {
        rc = parse_sub(cli, argc, argv, i, NULL, 0, pos, 1, &npos);
        if (rc)
            return rc;
        if (npos != 1)
            return usage_error(cli, "file put: expected FILE or -");
        a->path = pos[0];
        a->op = OP_FILE_PUT;
        return FB_EXIT_OK;
    }
    if (strcmp(sub, "log") == 0) {
        const char *delay = NULL;
        const struct opt_spec o[] = {{"--delay-ms", &delay}};
        rc = parse_sub(cli, argc, argv, i, o, 1, pos, 0, &npos);
        if (rc)
            return rc;
        unsigned long v = FB_LOG_DELAY_MS_DEFAULT;
        if (delay && !parse_uint(delay, UINT32_MAX, &v))
            return usage_error(cli, "bad --delay-ms '%s'", delay);
        a->delay_ms = (uint32_t)v;
        a->op = OP_FILE_LOG;
        return FB_EXIT_OK;
    }
    if (strcmp(sub, "get") == 0) {
        const struct opt_spec o[] = {{"--out", &a->out}};
        rc = parse_sub(cli, argc, argv, i, o, 1, pos, 0, &npos);
        if (rc)
            return rc;
        a->op = OP_FILE_GET;
        return FB_EXIT_OK;
    }
    if (strcmp(sub, "size") == 0 || strcmp(sub, "clear") == 0) {
        rc = parse_sub(cli, argc, argv, i, NULL, 0, pos, 0, &npos);
        if (rc)
            return rc;
        a->op = strcmp(sub, "size") == 0 ? OP_FILE_SIZE : OP_FILE_CLEAR;
        return FB_EXIT_OK;
    }
    return usage_error(cli, "file: unknown subcommand '%s'", sub);
}

static int parse_args(cli_t *cli, int argc, char **argv)
{
    struct args *a = &cli->a;
    a->addr = FB_I2C_ADDR;
    int i = 1;
    /* Global options come before the command. */
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *v;
        int r;
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
            a->op = OP_HELP;
            return FB_EXIT_OK;
        }
        if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
            a->quiet = true;
            continue;
        }
        if (strcmp(argv[i], "--v1") == 0) {
            a->v1 = true;
            continue;
        }
        if ((r = opt_value(argc, argv, &i, "--sim", &v)) != 0) {
            if (r < 0 || !*v)
                return usage_error(cli, "--sim needs a socket path");
            a->sim = v;
            continue;
        }
        if ((r = opt_value(argc, argv, &i, "--dev", &v)) != 0) {
            if (r < 0 || !*v)
                return usage_error(cli, "--dev needs a device path");
            a->dev = v;
            continue;
        }
        if ((r = opt_value(argc, argv, &i, "--addr", &v)) != 0) {
            unsigned long x;
            /* 0x08..0x77: the 7-bit addresses I2C does not reserve. */
            if (r < 0 || !parse_uint(v, 0x77, &x) || x < 0x08)
                return usage_error(cli, "--addr needs a 7-bit address 0x08..0x77");
            a->addr = (uint8_t)x;
            continue;
        }
        return usage_error(cli, "unknown option '%s'", argv[i]);
    }
    if (a->sim && a->dev)
        return usage_error(cli, "--sim and --dev exclude each other");
    if (i >= argc)
        return usage_error(cli, "no command given");

    const char *cmd = argv[i++];
    if (strcmp(cmd, "help") == 0) {
        a->op = OP_HELP;
        return FB_EXIT_OK;
    }
    if (strcmp(cmd, "info") == 0 || strcmp(cmd, "status") == 0) {
        const char *pos[1];
        size_t npos;
        int rc = parse_sub(cli, argc, argv, i, NULL, 0, pos, 0, &npos);
        if (rc)
            return rc;
        a->op = strcmp(cmd, "info") == 0 ? OP_INFO : OP_STATUS;
        return FB_EXIT_OK;
    }
    if (strcmp(cmd, "config") == 0)
        return parse_config(cli, argc, argv, i);
    if (strcmp(cmd, "file") == 0)
        return parse_file(cli, argc, argv, i);
    return usage_error(cli, "unknown command '%s'", cmd);
}

/* ---- local files ---- */

static bool is_dash(const char *p)
{
    return p && strcmp(p, "-") == 0;
}

/* Read a whole stream, refusing more than max bytes (so a runaway pipe cannot eat the
 * memory). 0, -1 read error, -2 larger than max. */
static int slurp(FILE *f, size_t max, uint8_t **buf, size_t *len)
{
    size_t cap = 4096, n = 0;
    uint8_t *b = malloc(cap);
    if (!b)
        return -1;
    for (;;) {
        if (n == cap) {
            if (cap > max) {
                free(b);
                return -2;
            }
            uint8_t *nb = realloc(b, cap * 2);
            if (!nb) {
                free(b);
                return -1;
            }
            b = nb;
            cap *= 2;
        }
        size_t k = fread(b + n, 1, cap - n, f);
        n += k;
        if (k == 0)
            break;
    }
    if (ferror(f)) {
        free(b);
        return -1;
    }
    if (n > max) {
        free(b);
        return -2;
    }
    *buf = b;
    *len = n;
    return 0;
}

/* Load FILE or "-" (stdin); reports its own errors. Exit code. */
static int load_input(cli_t *cli, const char *path, size_t max, uint8_t **buf, size_t *len)
{
    FILE *f = is_dash(path) ? cli->io->in : fopen(path, "rb");
    if (!f) {
        msg(cli, "cannot open %s: %s", path, strerror(errno));
        return FB_EXIT_USAGE;
    }
    int r = slurp(f, max, buf, len);
    int saved = errno;
    if (f != cli->io->in)
        fclose(f);
    if (r == -2) {
        msg(cli, "%s is larger than %zu bytes", is_dash(path) ? "input" : path, max);
        return FB_EXIT_USAGE;
    }
    if (r < 0) {
        msg(cli, "cannot read %s: %s", is_dash(path) ? "input" : path, strerror(saved));
        return FB_EXIT_USAGE;
    }
    return FB_EXIT_OK;
}

/* Output FILE, or the tool's stdout for NULL / "-". */
static FILE *open_output(cli_t *cli, const char *path)
{
    if (!path || is_dash(path))
        return cli->io->out;
    FILE *f = fopen(path, "wb");
    if (!f)
        msg(cli, "cannot create %s: %s", path, strerror(errno));
    return f;
}

static int close_output(cli_t *cli, FILE *f, const char *path)
{
    int bad = f == cli->io->out ? fflush(f) != 0 || ferror(f) : fclose(f) != 0;
    if (bad) {
        msg(cli, "cannot write %s: %s", path && !is_dash(path) ? path : "output",
            strerror(errno));
        return FB_EXIT_USAGE;
    }
    return FB_EXIT_OK;
}

static bool hex_digit(int ch, uint8_t *v)
{
    if (ch >= '0' && ch <= '9')
        *v = (uint8_t)(ch - '0');
    else if (ch >= 'a' && ch <= 'f')
        *v = (uint8_t)(ch - 'a' + 10);
    else if (ch >= 'A' && ch <= 'F')
        *v = (uint8_t)(ch - 'A' + 10);
    else
        return false;
    return true;
}

/* "01 02:0a-FF" -> bytes. Separators (space, ':', '-', ',') may appear between digit
 * pairs. Returns the byte count, or -1 on a bad digit, an odd digit or too many bytes. */
static long parse_hex(const char *s, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (*s) {
        if (isspace((unsigned char)*s) || *s == ':' || *s == '-' || *s == ',') {
            s++;
            continue;
        }
        uint8_t hi, lo;
        if (!hex_digit(s[0], &hi) || !hex_digit(s[1], &lo) || n >= max)
            return -1;
        out[n++] = (uint8_t)(hi << 4 | lo);
        s += 2;
    }
    return (long)n;
}

static void hex_dump(FILE *f, unsigned base, const uint8_t *b, size_t len)
{
    for (size_t line = 0; line < len; line += 16) {
        const uint8_t *p = b + line;
        size_t n = len - line;
        if (n > 16)
            n = 16;
        fprintf(f, "%04zx ", base + line);
        for (size_t k = 0; k < 16; k++) {
            if (k < n)
                fprintf(f, " %02x", p[k]);
            else
                fputs("   ", f);
        }
        fputs("  |", f);
        for (size_t k = 0; k < n; k++)
            fputc(isprint(p[k]) ? p[k] : '.', f);
        fputs("|\n", f);
    }
}

/* ---- progress ---- */

struct progress {
    cli_t *cli;
    const char *verb;
    uint64_t base;  /* bytes done before the current library call */
    uint64_t total;
    int last_pct;
};

static void progress_cb(void *ctx, uint64_t done, uint64_t total)
{
    struct progress *p = ctx;
    (void)total; /* the library's total is per call; p->total is the whole job */
    uint64_t all = p->base + done;
    int pct = p->total ? (int)(all * 100u / p->total) : 100;
    /* Redraw only when the figure changes: a terminal is slow next to the bus. */
    if (pct == p->last_pct)
        return;
    p->last_pct = pct;
    fprintf(p->cli->io->err, "\r" PROG ": %s %" PRIu64 "/%" PRIu64 " bytes (%d%%)", p->verb,
            all, p->total, pct);
    fflush(p->cli->io->err);
}

/* Progress only on a terminal: a log file or pipe must not fill up with \r lines. */
static void progress_start(cli_t *cli, struct progress *p, const char *verb, uint64_t total)
{
    *p = (struct progress){cli, verb, 0, total, -1};
    if (!cli->io->err_tty || cli->a.quiet || total == 0)
        return;
    cli->client.progress = progress_cb;
    cli->client.progress_ctx = p;
}

static void progress_end(cli_t *cli, struct progress *p)
{
    if (cli->client.progress && p->last_pct >= 0)
        fputc('\n', cli->io->err);
    cli->client.progress = NULL;
    cli->client.progress_ctx = NULL;
}

/* ---- commands ---- */

/* st: fb_status()'s view (EXT_STATUS on a protocol 2.0 target). */
static void describe_status(uint8_t st, char *buf, size_t len)
{
    snprintf(buf, len, "%s%s%s%s%s, %u free queue slot%s", st & FB_STATUS_BUSY ? "busy" : "idle",
             st & FB_STATUS_ERROR ? ", error pending" : "",
             st & FB_STATUS_READY ? ", response ready" : "",
             st & FB_STATUS_ERASING ? ", erasing in the background" : "",
             st & FB_STATUS_FOREIGN ? ", flash holds data it did not write (kept)" : "",
             st & FB_STATUS_QUEUE_MASK, (st & FB_STATUS_QUEUE_MASK) == 1 ? "" : "s");
}

static int cmd_info(cli_t *cli)
{
    fb_client_t *c = &cli->client;
    uint8_t st;
    char name11[FB_FILENAME_LEN], name[16], desc[160];
    uint32_t size;
    int rc = fb_status(c, &st);
    if (rc)
        return fail(cli, rc, "reading STATUS");
    if ((rc = fb_file_get_name(c, name11)))
        return fail(cli, rc, "reading the file name");
    if ((rc = fb_file_size(c, &size)))
        return fail(cli, rc, "reading the file size");
    fb_proto_t proto;
    if ((rc = fb_protocol(c, &proto)))
        return fail(cli, rc, "reading the capabilities");
    fb_name_from_83(name11, name, sizeof name);
    describe_status(st, desc, sizeof desc);
    FILE *o = cli->io->out;
    fprintf(o, "device:    flashbridge at 0x%02X (WHO_AM_I 0x%02X)\n", c->addr,
            FB_WHO_AM_I_VALUE);
    fprintf(o, "status:    0x%02X %s\n", st, desc);
    fprintf(o, "file name: %s\n", name);
    fprintf(o, "file size: %" PRIu32 " bytes\n", size);
    if (proto == FB_PROTO_EXT)
        fprintf(o, "protocol:  streaming extension v%u (%u-byte frames, CRC-16, %u-slot queue)%s\n",
                c->caps.version, c->caps.max_payload, c->caps.queue_depth,
                c->caps.version < FB_EXT_VERSION ? "; appends as v1 frames (its APPEND_CRC "
                                                   "frame carries no length)"
                                                 : "");
    else
        fprintf(o, "protocol:  v1%s\n", cli->a.v1 ? " (forced by --v1)" : "");
    return FB_EXIT_OK;
}

static int cmd_status(cli_t *cli)
{
    uint8_t st, err;
    char desc[160], bits[160];
    int rc = fb_status(&cli->client, &st);
    if (rc)
        return fail(cli, rc, "reading STATUS");
    /* Read the error bits even when STATUS does not flag them: showing them is the
     * point of the command, and a v1 target never sets the flag. On a protocol 2.0
     * target this is ERRORS: every failure since the last look, not only the newest
     * command's. */
    if ((rc = fb_error(&cli->client, &err)))
        return fail(cli, rc, "reading ERROR");
    describe_status(st, desc, sizeof desc);
    fb_error_bits_str(err, bits, sizeof bits);
    fprintf(cli->io->out, "status: 0x%02X %s\n", st, desc);
    fprintf(cli->io->out, "error:  0x%02X %s\n", err, bits);
    return FB_EXIT_OK;
}

static int cmd_config_read(cli_t *cli)
{
    const struct args *a = &cli->a;
    uint8_t buf[FB_CONFIG_SIZE];
    int rc = fb_config_read(&cli->client, (uint16_t)a->offset, buf, a->length);
    if (rc)
        return fail(cli, rc, "reading the config zone");
    FILE *f = open_output(cli, a->out);
    if (!f)
        return FB_EXIT_USAGE;
    /* A terminal gets something readable; a pipe or file gets the bytes themselves. */
    if (!a->out && cli->io->out_tty)
        hex_dump(f, a->offset, buf, a->length);
    else
        fwrite(buf, 1, a->length, f);
    return close_output(cli, f, a->out);
}

static int cmd_config_write(cli_t *cli)
{
    const struct args *a = &cli->a;
    int rc = fb_config_write(&cli->client, (uint16_t)a->offset, cli->data, cli->len);
    if (rc)
        return fail(cli, rc, "writing the config zone");
    if (!a->quiet)
        msg(cli, "wrote %zu bytes at config offset %u", cli->len, a->offset);
    return FB_EXIT_OK;
}

static int cmd_config_clear(cli_t *cli)
{
    int rc = fb_config_clear(&cli->client);
    return rc ? fail(cli, rc, "clearing the config zone") : FB_EXIT_OK;
}

static int cmd_file_name(cli_t *cli)
{
    char name11[FB_FILENAME_LEN];
    int rc;
    if (cli->a.name) {
        /* Validated while parsing. */
        (void)fb_name_to_83(cli->a.name, name11);
        rc = fb_file_set_name(&cli->client, name11);
        return rc ? fail(cli, rc, "setting the file name") : FB_EXIT_OK;
    }
    char dotted[16];
    if ((rc = fb_file_get_name(&cli->client, name11)))
        return fail(cli, rc, "reading the file name");
    fb_name_from_83(name11, dotted, sizeof dotted);
    fprintf(cli->io->out, "%s\n", dotted);
    return FB_EXIT_OK;
}

static int cmd_file_put(cli_t *cli)
{
    struct progress p;
    progress_start(cli, &p, "put", cli->len);
    int rc = fb_file_append(&cli->client, cli->data, cli->len);
    progress_end(cli, &p);
    if (rc)
        return fail(cli, rc, "appending to the file");
    if (!cli->a.quiet)
        msg(cli, "appended %zu bytes", cli->len);
    return FB_EXIT_OK;
}

/* stdin to the file through fb_log, a line per write, as the lines arrive. */
static int cmd_file_log(cli_t *cli)
{
    const fb_log_opts_t opts = {.delay_ms = cli->a.delay_ms};
    fb_log_t log;
    int rc = fb_log_open(&log, &cli->client, &opts);
    if (rc)
        return fail(cli, rc, "opening the log");
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    unsigned long lines = 0;
    while ((n = getline(&line, &cap, cli->io->in)) > 0) {
        rc = fb_log_write(&log, line, (size_t)n);
        if (rc)
            break;
        lines++;
    }
    free(line);
    bool input_error = !rc && ferror(cli->io->in);
    /* Whatever came in is stored and checked, even when the input broke off. */
    int crc = fb_log_close(&log);
    if (!rc)
        rc = crc;
    if (rc == FB_HOST_ELOST) {
        msg(cli, "logging: %" PRIu32 " of %" PRIu64 " bytes are missing on the target",
            log.missing, log.written);
        return exit_code(rc);
    }
    if (rc)
        return fail(cli, rc, "logging to the file");
    if (input_error) {
        msg(cli, "reading the input: %s", strerror(errno));
        return FB_EXIT_USAGE;
    }
    if (!cli->a.quiet)
        msg(cli, "logged %" PRIu64 " bytes in %lu lines", log.written, lines);
    return FB_EXIT_OK;
}

static int cmd_file_get(cli_t *cli)
{
    const char *out = cli->a.out;
    uint32_t size;
    int rc = fb_file_size(&cli->client, &size);
    if (rc)
        return fail(cli, rc, "reading the file size");
    FILE *f = open_output(cli, out);
    if (!f)
        return FB_EXIT_USAGE;
    static uint8_t chunk[GET_CHUNK];
    struct progress p;
    progress_start(cli, &p, "get", size);
    int ex = FB_EXIT_OK;
    for (uint32_t pos = 0; pos < size;) {
        size_t n = size - pos < GET_CHUNK ? size - pos : GET_CHUNK;
        p.base = pos;
        rc = fb_file_read(&cli->client, pos, chunk, n);
        if (rc) {
            progress_end(cli, &p);
            ex = fail(cli, rc, "reading the file");
            break;
        }
        if (fwrite(chunk, 1, n, f) != n)
            break; /* reported by close_output */
        pos += (uint32_t)n;
    }
    progress_end(cli, &p);
    int cx = close_output(cli, f, out);
    return ex ? ex : cx;
}

static int cmd_file_size(cli_t *cli)
{
    uint32_t size;
    int rc = fb_file_size(&cli->client, &size);
    if (rc)
        return fail(cli, rc, "reading the file size");
    fprintf(cli->io->out, "%" PRIu32 "\n", size);
    return FB_EXIT_OK;
}

static int cmd_file_clear(cli_t *cli)
{
    int rc = fb_file_clear(&cli->client);
    return rc ? fail(cli, rc, "clearing the file") : FB_EXIT_OK;
}

/* Gather and check the bytes a command will send. Exit code. */
static int load_data(cli_t *cli)
{
    const struct args *a = &cli->a;
    if (a->op == OP_FILE_PUT) {
        int ex = load_input(cli, a->path, FB_FILE_CAPACITY, &cli->owned, &cli->len);
        cli->data = cli->owned;
        return ex;
    }
    if (a->op != OP_CONFIG_WRITE)
        return FB_EXIT_OK;
    if (a->hex) {
        long n = parse_hex(a->hex, cli->hexbuf, sizeof cli->hexbuf);
        if (n < 0)
            return usage_error(cli, "--hex: expected pairs of hex digits, at most %u bytes",
                               FB_CONFIG_SIZE);
        cli->data = cli->hexbuf;
        cli->len = (size_t)n;
    } else if (a->text) {
        cli->data = (const uint8_t *)a->text;
        cli->len = strlen(a->text);
    } else {
        int ex = load_input(cli, a->in, FB_CONFIG_SIZE, &cli->owned, &cli->len);
        if (ex)
            return ex;
        cli->data = cli->owned;
    }
    if (cli->len == 0)
        return usage_error(cli, "config write: no data");
    if (cli->len > FB_CONFIG_SIZE - a->offset)
        return usage_error(cli, "config write: %zu bytes at offset %u pass the end of the "
                                "%u-byte zone", cli->len, a->offset, FB_CONFIG_SIZE);
    return FB_EXIT_OK;
}

static int dispatch(cli_t *cli)
{
    switch (cli->a.op) {
    case OP_INFO:
        return cmd_info(cli);
    case OP_STATUS:
        return cmd_status(cli);
    case OP_CONFIG_READ:
        return cmd_config_read(cli);
    case OP_CONFIG_WRITE:
        return cmd_config_write(cli);
    case OP_CONFIG_CLEAR:
        return cmd_config_clear(cli);
    case OP_FILE_NAME:
        return cmd_file_name(cli);
    case OP_FILE_PUT:
        return cmd_file_put(cli);
    case OP_FILE_LOG:
        return cmd_file_log(cli);
    case OP_FILE_GET:
        return cmd_file_get(cli);
    case OP_FILE_SIZE:
        return cmd_file_size(cli);
    case OP_FILE_CLEAR:
        return cmd_file_clear(cli);
    default:
        return FB_EXIT_USAGE;
    }
}

/* ---- transport ---- */

static int open_transport(cli_t *cli, fb_transport_t **t)
{
    const char *sim = cli->a.sim, *dev = cli->a.dev;
    /* The command line beats the environment; the environment must not be ambiguous. */
    if (!sim && !dev) {
        const char *es = getenv("FLASHBRIDGE_SIM"), *ed = getenv("FLASHBRIDGE_DEV");
        sim = es && *es ? es : NULL;
        dev = ed && *ed ? ed : NULL;
        if (sim && dev)
            return usage_error(cli, "both FLASHBRIDGE_SIM and FLASHBRIDGE_DEV are set; "
                                    "choose with --sim or --dev");
    }
    if (sim) {
        *t = fb_transport_sim_open(sim);
        if (!*t) {
            msg(cli, "cannot connect to simulator %s: %s", sim, strerror(errno));
            return FB_EXIT_COMM;
        }
        return FB_EXIT_OK;
    }
    if (dev) {
        *t = fb_transport_i2cdev_open(dev);
        if (!*t) {
            msg(cli, "cannot open I2C adapter %s: %s", dev, strerror(errno));
            return FB_EXIT_COMM;
        }
        return FB_EXIT_OK;
    }
    return usage_error(cli, "no device: use --sim SOCKET or --dev /dev/i2c-N "
                            "(or set FLASHBRIDGE_SIM / FLASHBRIDGE_DEV)");
}

/* Before any command: is there a flashbridge at the address? A wrong --addr must not
 * send our command bytes to some other chip. */
static int check_identity(cli_t *cli)
{
    uint8_t id = 0;
    int rc = fb_who_am_i(&cli->client, &id);
    if (rc == FB_HOST_OK)
        return FB_EXIT_OK;
    if (rc == FB_HOST_EPROTO) {
        msg(cli, "the device at 0x%02X is not a flashbridge (WHO_AM_I 0x%02X, expected 0x%02X)",
            cli->client.addr, id, FB_WHO_AM_I_VALUE);
        return FB_EXIT_COMM;
    }
    if (rc == FB_HOST_ENACK) {
        msg(cli, "no device answers at 0x%02X", cli->client.addr);
        return FB_EXIT_COMM;
    }
    return fail(cli, rc, "reading WHO_AM_I");
}

int fb_cli_run(const fb_cli_io_t *io, int argc, char **argv, fb_transport_t *injected)
{
    /* Large (a config-zone buffer): static storage would make the function
     * non-reentrant for the tests, so the heap. */
    cli_t *cli = calloc(1, sizeof *cli);
    if (!cli) {
        fputs(PROG ": out of memory\n", io->err);
        return FB_EXIT_USAGE;
    }
    cli->io = io;
    int ex = parse_args(cli, argc, argv);
    if (!ex && cli->a.op == OP_HELP) {
        fputs(usage_text, io->out);
    } else if (!ex && !(ex = load_data(cli))) {
        fb_transport_t *t = injected;
        if (t || !(ex = open_transport(cli, &t))) {
            fb_client_init(&cli->client, t, cli->a.addr);
            if (cli->a.v1)
                cli->client.proto = FB_PROTO_V1;
            ex = check_identity(cli);
            if (!ex)
                ex = dispatch(cli);
            if (t != injected)
                fb_transport_close(t);
        }
    }
    free(cli->owned);
    free(cli);
    return ex;
}

int fb_cli_main(int argc, char **argv, fb_transport_t *injected)
{
    fb_cli_io_t io = {
        .in = stdin,
        .out = stdout,
        .err = stderr,
        .out_tty = isatty(STDOUT_FILENO) == 1,
        .err_tty = isatty(STDERR_FILENO) == 1,
    };
    int ex = fb_cli_run(&io, argc, argv, injected);
    if (fflush(stdout) != 0 && ex == FB_EXIT_OK) {
        fprintf(stderr, PROG ": cannot write output: %s\n", strerror(errno));
        ex = FB_EXIT_USAGE;
    }
    return ex;
}
