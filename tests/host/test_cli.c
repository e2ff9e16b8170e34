/*
 * The flashbridge CLI run in-process against the mock target: argument parsing,
 * output formats, messages and exit codes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "flashbridge.h"
#include "flashbridge/protocol.h"
#include "mock_target.h"

typedef struct fixture {
    mock_target_t m;
    char *out, *err;
    size_t out_len, err_len;
    char tmpdir[64];
    char tmpfile[128];
} fixture_t;

static int setup(void **state)
{
    fixture_t *f = calloc(1, sizeof *f);
    mock_init(&f->m);
    snprintf(f->tmpdir, sizeof f->tmpdir, "/tmp/fbclitestXXXXXX");
    if (!mkdtemp(f->tmpdir)) {
        free(f);
        return -1;
    }
    snprintf(f->tmpfile, sizeof f->tmpfile, "%s/data.bin", f->tmpdir);
    /* The tool's defaults come from the environment: start from none. */
    unsetenv("FLASHBRIDGE_SIM");
    unsetenv("FLASHBRIDGE_DEV");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;
    mock_free(&f->m);
    free(f->out);
    free(f->err);
    unlink(f->tmpfile);
    rmdir(f->tmpdir);
    free(f);
    return 0;
}

struct run_opts {
    const void *in;
    size_t in_len;
    bool out_tty, err_tty;
    bool no_mock; /* open the transport from --sim/--dev/env like main() does */
};

/* Run the CLI with argv (NULL-terminated, without the program name); captures
 * stdout/stderr into f->out/f->err. */
static int run_with(fixture_t *f, const struct run_opts *o, const char *const *args)
{
    char *argv[32];
    int argc = 0;
    argv[argc++] = (char *)"flashbridge";
    while (*args)
        argv[argc++] = (char *)*args++;
    argv[argc] = NULL;
    free(f->out);
    free(f->err);
    f->out = f->err = NULL;
    static const char empty = 0;
    fb_cli_io_t io = {
        .in = fmemopen((void *)(o->in ? o->in : &empty), o->in ? o->in_len : 1, "rb"),
        .out = open_memstream(&f->out, &f->out_len),
        .err = open_memstream(&f->err, &f->err_len),
        .out_tty = o->out_tty,
        .err_tty = o->err_tty,
    };
    if (!o->in)
        fgetc(io.in); /* an empty stdin: consume the one placeholder byte */
    int rc = fb_cli_run(&io, argc, argv, o->no_mock ? NULL : &f->m.base);
    fclose(io.in);
    fclose(io.out);
    fclose(io.err);
    return rc;
}

#define RUN(f, ...) run_with((f), &(struct run_opts){0}, (const char *const[]){__VA_ARGS__, NULL})
#define RUN_OPTS(f, o, ...) run_with((f), (o), (const char *const[]){__VA_ARGS__, NULL})

static void assert_contains(const char *hay, const char *needle)
{
    if (!hay || !strstr(hay, needle))
        fail_msg("'%s' not found in '%s'", needle, hay ? hay : "(null)");
}

/* ---- usage ---- */

static void test_help_lists_exit_codes(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(RUN(f, "--help"), FB_EXIT_OK);
    assert_contains(f->out, "usage: flashbridge");
    assert_contains(f->out, "Exit status");
    assert_contains(f->out, "1  the device reported an error");
    assert_contains(f->out, "4  timeout");
    assert_int_equal(RUN(f, "help"), FB_EXIT_OK);
    assert_int_equal(f->m.nxfers, 0);
}

static void test_usage_errors_touch_nothing(void **state)
{
    fixture_t *f = *state;
    const char *const cases[][8] = {
        {NULL},
        {"bogus", NULL},
        {"--bogus", "info", NULL},
        {"--addr", "0x80", "info", NULL},
        {"--addr", "0x3", "info", NULL},
        {"--addr", "zz", "info", NULL},
        {"--addr", NULL},
        {"info", "extra", NULL},
        {"config", NULL},
        {"config", "erase", NULL},
        {"config", "read", "--offset", "1025", NULL},
        {"config", "read", "--offset", "1000", "--length", "25", NULL},
        {"config", "read", "--length", "-1", NULL},
        {"config", "read", "--offset", NULL},
        {"config", "write", "--hex", "00", NULL},
        {"config", "write", "0", NULL},
        {"config", "write", "0", "--hex", "00", "--text", "a", NULL},
        {"config", "write", "1024", "--hex", "00", NULL},
        {"config", "write", "0", "--hex", "0", NULL},
        {"config", "write", "0", "--hex", "zz", NULL},
        {"config", "write", "1020", "--text", "hello", NULL},
        {"config", "write", "0", "--text", "", NULL},
        {"config", "clear", "now", NULL},
        {"file", NULL},
        {"file", "name", "TOOLONGNAME.TXT", NULL},
        {"file", "name", "A.B.C", NULL},
        {"file", "name", "A", "B", NULL},
        {"file", "put", NULL},
        {"file", "put", "a", "b", NULL},
        {"file", "get", "--out", NULL},
        {"file", "get", "--out", "a", "--out", "b", NULL},
        {"file", "size", "--now", NULL},
        {"file", "log", "--delay-ms", "soon", NULL},
        {"file", "log", "--delay-ms", NULL},
        {"file", "log", "extra", NULL},
        {"--sim", "/x", "--dev", "/y", "info", NULL},
        {"file", "put", "/nonexistent/file", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int rc = run_with(f, &(struct run_opts){0}, cases[i]);
        if (rc != FB_EXIT_USAGE)
            fail_msg("case %zu (%s ...): exit %d, stderr: %s", i,
                     cases[i][0] ? cases[i][0] : "", rc, f->err);
        assert_true(strncmp(f->err, "flashbridge: ", 13) == 0);
        assert_int_equal(f->out_len, 0);
    }
    /* Bad input, including a missing input file, never reaches the bus. */
    assert_int_equal(f->m.nxfers, 0);
}

static void test_no_device_configured(void **state)
{
    fixture_t *f = *state;
    struct run_opts o = {.no_mock = true};
    assert_int_equal(RUN_OPTS(f, &o, "info"), FB_EXIT_USAGE);
    assert_contains(f->err, "--sim");
    setenv("FLASHBRIDGE_SIM", "/nonexistent/fb.sock", 1);
    setenv("FLASHBRIDGE_DEV", "/dev/i2c-99", 1);
    assert_int_equal(RUN_OPTS(f, &o, "info"), FB_EXIT_USAGE);
    assert_contains(f->err, "both");
    /* The command line beats the environment. */
    assert_int_equal(RUN_OPTS(f, &o, "--dev", "/nonexistent/i2c-7", "info"), FB_EXIT_COMM);
    assert_contains(f->err, "/nonexistent/i2c-7");
    unsetenv("FLASHBRIDGE_DEV");
    assert_int_equal(RUN_OPTS(f, &o, "info"), FB_EXIT_COMM);
    assert_contains(f->err, "cannot connect to simulator /nonexistent/fb.sock");
    unsetenv("FLASHBRIDGE_SIM");
    setenv("FLASHBRIDGE_DEV", "/dev/null", 1);
    assert_int_equal(RUN_OPTS(f, &o, "info"), FB_EXIT_COMM);
    assert_contains(f->err, "cannot open I2C adapter /dev/null");
}

/* ---- identity and communication errors ---- */

static void test_absent_device(void **state)
{
    fixture_t *f = *state;
    f->m.absent = true;
    assert_int_equal(RUN(f, "file", "size"), FB_EXIT_COMM);
    assert_contains(f->err, "flashbridge: no device answers at 0x3B");
}

static void test_addr_option(void **state)
{
    fixture_t *f = *state;
    f->m.addr = 0x40;
    assert_int_equal(RUN(f, "--addr", "0x40", "file", "size"), FB_EXIT_OK);
    assert_int_equal(RUN(f, "--addr=64", "file", "size"), FB_EXIT_OK);
    assert_int_equal(RUN(f, "file", "size"), FB_EXIT_COMM);
}

static void test_not_a_flashbridge(void **state)
{
    fixture_t *f = *state;
    f->m.who_am_i = 0x33;
    assert_int_equal(RUN(f, "file", "clear"), FB_EXIT_COMM);
    assert_contains(f->err, "not a flashbridge (WHO_AM_I 0x33");
    assert_int_equal(f->m.frames, 0); /* nothing sent to a stranger */
}

static void test_io_error_is_comm(void **state)
{
    fixture_t *f = *state;
    f->m.eio_xfer = 1; /* after WHO_AM_I */
    assert_int_equal(RUN(f, "status"), FB_EXIT_COMM);
    assert_contains(f->err, "transport I/O error");
}

static void test_nack_mid_command_is_comm(void **state)
{
    fixture_t *f = *state;
    f->m.nack_frame = 1;
    assert_int_equal(RUN(f, "config", "clear"), FB_EXIT_COMM);
    assert_contains(f->err, "did not acknowledge");
}

/* ---- info and status ---- */

static void test_info(void **state)
{
    fixture_t *f = *state;
    uint8_t data[1234] = {0};
    mock_set_file(&f->m, data, sizeof data);
    memcpy(f->m.name, "LOG     CSV", 11);
    assert_int_equal(RUN(f, "info"), FB_EXIT_OK);
    assert_contains(f->out, "WHO_AM_I 0x4C");
    assert_contains(f->out, "file name: LOG.CSV\n");
    assert_contains(f->out, "file size: 1234 bytes\n");
    assert_contains(f->out, "idle, 4 free queue slots");
}

static void test_status_decodes_bits(void **state)
{
    fixture_t *f = *state;
    f->m.error = FB_ERR_FILE_FULL | FB_ERR_FAILED;
    assert_int_equal(RUN(f, "status"), FB_EXIT_OK);
    assert_contains(f->out, "status: 0x44 idle, error pending, 4 free queue slots\n");
    assert_contains(f->out, "error:  0x84 file full, command failed\n");
    assert_int_equal(f->m.error, 0);
    assert_int_equal(RUN(f, "status"), FB_EXIT_OK);
    assert_contains(f->out, "error:  0x00 none\n");
}

/* ---- config ---- */

static void test_config_write_text_and_read_raw(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(RUN(f, "config", "write", "10", "--text", "hello"), FB_EXIT_OK);
    assert_memory_equal(f->m.config + 10, "hello", 5);
    assert_contains(f->err, "wrote 5 bytes at config offset 10");
    assert_int_equal(RUN(f, "config", "read", "--offset", "10", "--length", "5"), FB_EXIT_OK);
    assert_int_equal(f->out_len, 5);
    assert_memory_equal(f->out, "hello", 5);
}

static void test_config_read_default_whole_zone(void **state)
{
    fixture_t *f = *state;
    for (unsigned i = 0; i < FB_CONFIG_SIZE; i++)
        f->m.config[i] = (uint8_t)(i * 3);
    assert_int_equal(RUN(f, "config", "read"), FB_EXIT_OK);
    assert_int_equal(f->out_len, FB_CONFIG_SIZE);
    assert_memory_equal(f->out, f->m.config, FB_CONFIG_SIZE);
    assert_int_equal(RUN(f, "config", "read", "--offset=0x3F0"), FB_EXIT_OK);
    assert_int_equal(f->out_len, 16);
    assert_memory_equal(f->out, f->m.config + 0x3F0, 16);
}

static void test_config_read_hexdump_on_tty(void **state)
{
    fixture_t *f = *state;
    memcpy(f->m.config + 16, "AB\x01", 3);
    struct run_opts o = {.out_tty = true};
    assert_int_equal(RUN_OPTS(f, &o, "config", "read", "--offset", "16", "--length", "3"),
                     FB_EXIT_OK);
    /* Offset, 16 columns (missing ones blank), then the printable form. */
    assert_int_equal(strlen(f->out), 5 + 16 * 3 + 3 + 3 + 2);
    assert_true(strncmp(f->out, "0010  41 42 01    ", 18) == 0);
    assert_contains(f->out, "   |AB.|\n");
}

static void test_config_read_to_file(void **state)
{
    fixture_t *f = *state;
    memcpy(f->m.config, "xyz", 3);
    struct run_opts o = {.out_tty = true}; /* a file always gets raw bytes */
    assert_int_equal(RUN_OPTS(f, &o, "config", "read", "--length", "3", "--out", f->tmpfile),
                     FB_EXIT_OK);
    assert_int_equal(f->out_len, 0);
    FILE *in = fopen(f->tmpfile, "rb");
    char buf[8] = {0};
    assert_int_equal(fread(buf, 1, sizeof buf, in), 3);
    fclose(in);
    assert_memory_equal(buf, "xyz", 3);
}

static void test_config_write_hex(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(RUN(f, "--quiet", "config", "write", "0x3FD", "--hex", "01 a2:FF"),
                     FB_EXIT_OK);
    assert_int_equal(f->m.config[0x3FD], 0x01);
    assert_int_equal(f->m.config[0x3FE], 0xA2);
    assert_int_equal(f->m.config[0x3FF], 0xFF);
    assert_int_equal(f->err_len, 0); /* --quiet */
}

static void test_config_write_from_stdin(void **state)
{
    fixture_t *f = *state;
    uint8_t data[100];
    for (int i = 0; i < 100; i++)
        data[i] = (uint8_t)(255 - i);
    struct run_opts o = {.in = data, .in_len = sizeof data};
    assert_int_equal(RUN_OPTS(f, &o, "config", "write", "0", "--in", "-"), FB_EXIT_OK);
    assert_memory_equal(f->m.config, data, sizeof data);
    assert_int_equal(f->m.credit_violations, 0);
    /* More than the zone holds is refused before anything is written. */
    static uint8_t big[FB_CONFIG_SIZE + 1];
    struct run_opts ob = {.in = big, .in_len = sizeof big};
    unsigned frames = f->m.frames;
    assert_int_equal(RUN_OPTS(f, &ob, "config", "write", "0", "--in", "-"), FB_EXIT_USAGE);
    assert_int_equal(f->m.frames, frames);
}

static void test_config_clear_and_device_error(void **state)
{
    fixture_t *f = *state;
    f->m.config[5] = 0;
    assert_int_equal(RUN(f, "config", "clear"), FB_EXIT_OK);
    assert_int_equal(f->m.config[5], 0xFF);
    f->m.fail_cmd = FB_CMD_CLEAR_CONFIG;
    f->m.fail_bits = FB_ERR_FLASH;
    assert_int_equal(RUN(f, "config", "clear"), FB_EXIT_DEVICE);
    assert_contains(f->err, "flashbridge: clearing the config zone: device error 0xA0: "
                            "flash failure, command failed");
}

/* ---- file ---- */

static void test_file_name_show_and_set(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(RUN(f, "file", "name"), FB_EXIT_OK);
    assert_string_equal(f->out, "DATA.CSV\n");
    assert_int_equal(RUN(f, "file", "name", "LOG.TXT"), FB_EXIT_OK);
    assert_memory_equal(f->m.name, "LOG     TXT", 11);
    assert_int_equal(RUN(f, "file", "name"), FB_EXIT_OK);
    assert_string_equal(f->out, "LOG.TXT\n");
}

static void test_file_name_rejected_by_device(void **state)
{
    fixture_t *f = *state;
    f->m.fail_cmd = FB_CMD_SET_FILENAME;
    f->m.fail_bits = FB_ERR_BAD_NAME;
    assert_int_equal(RUN(f, "file", "name", "a*b.c"), FB_EXIT_DEVICE);
    assert_contains(f->err, "bad filename");
}

static void test_file_put_stdin_and_get(void **state)
{
    fixture_t *f = *state;
    enum { N = 1000 };
    uint8_t data[N];
    for (int i = 0; i < N; i++)
        data[i] = (uint8_t)(i % 7 == 0 ? 0xFF : i); /* 0xFF is data, not an end mark */
    f->m.cmd_polls = 2;
    struct run_opts o = {.in = data, .in_len = N};
    assert_int_equal(RUN_OPTS(f, &o, "file", "put", "-"), FB_EXIT_OK);
    assert_int_equal(f->m.file_size, N);
    assert_memory_equal(f->m.file, data, N);
    assert_int_equal(f->m.credit_violations, 0);
    assert_int_equal(f->m.dropped, 0);
    assert_contains(f->err, "appended 1000 bytes");
    assert_null(strchr(f->err, '\r')); /* not a terminal: no progress line */

    assert_int_equal(RUN(f, "file", "get"), FB_EXIT_OK);
    assert_int_equal(f->out_len, N);
    assert_memory_equal(f->out, data, N);
    assert_int_equal(f->err_len, 0);
}

static void test_file_put_from_file_and_get_to_file(void **state)
{
    fixture_t *f = *state;
    enum { N = 5000 }; /* more than one read chunk of the CLI */
    uint8_t *data = malloc(N);
    for (int i = 0; i < N; i++)
        data[i] = (uint8_t)(i * 13);
    FILE *o = fopen(f->tmpfile, "wb");
    fwrite(data, 1, N, o);
    fclose(o);
    assert_int_equal(RUN(f, "-q", "file", "put", f->tmpfile), FB_EXIT_OK);
    assert_int_equal(f->m.file_size, N);
    unlink(f->tmpfile);
    assert_int_equal(RUN(f, "file", "get", "--out", f->tmpfile), FB_EXIT_OK);
    assert_int_equal(f->out_len, 0);
    FILE *in = fopen(f->tmpfile, "rb");
    uint8_t *back = malloc(N + 1);
    assert_int_equal(fread(back, 1, N + 1, in), N);
    fclose(in);
    assert_memory_equal(back, data, N);
    free(back);
    free(data);
}

static void test_progress_only_on_tty(void **state)
{
    fixture_t *f = *state;
    enum { N = 3000 };
    uint8_t data[N];
    memset(data, 0x5A, sizeof data);
    struct run_opts o = {.in = data, .in_len = N, .err_tty = true};
    assert_int_equal(RUN_OPTS(f, &o, "file", "put", "-"), FB_EXIT_OK);
    assert_contains(f->err, "\rflashbridge: put ");
    assert_contains(f->err, "3000/3000 bytes (100%)\n");
    assert_int_equal(RUN_OPTS(f, &o, "file", "get"), FB_EXIT_OK);
    assert_contains(f->err, "\rflashbridge: get ");
    assert_contains(f->err, "3000/3000 bytes (100%)\n");
    /* --quiet silences it even on a terminal. */
    assert_int_equal(RUN_OPTS(f, &o, "--quiet", "file", "get"), FB_EXIT_OK);
    assert_int_equal(f->err_len, 0);
}

static void test_file_put_file_full(void **state)
{
    fixture_t *f = *state;
    static uint8_t data[500];
    f->m.file_cap = 200;
    struct run_opts o = {.in = data, .in_len = sizeof data};
    assert_int_equal(RUN_OPTS(f, &o, "file", "put", "-"), FB_EXIT_DEVICE);
    assert_contains(f->err, "file full");
}

/* `file log`: stdin line by line through fb_log, coalesced into full frames. */
static void test_file_log_lines(void **state)
{
    fixture_t *f = *state;
    f->m.ext = true;
    f->m.v2 = true;
    char *text = malloc(20000);
    size_t len = 0;
    for (int i = 0; i < 400; i++)
        len += (size_t)sprintf(text + len, "t=%d,temp=%d.%d,rh=%d\n", i * 10, 20 + i % 7, i % 10,
                               40 + i % 13);
    len += (size_t)sprintf(text + len, "last line without newline");
    struct run_opts o = {.in = text, .in_len = len};
    assert_int_equal(RUN_OPTS(f, &o, "file", "log", "--delay-ms", "0x10000"), FB_EXIT_OK);
    assert_int_equal(f->m.file_size, len);
    assert_memory_equal(f->m.file, text, len);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), (len + 255) / 256);
    char expect[64];
    snprintf(expect, sizeof expect, "logged %zu bytes in 401 lines", len);
    assert_contains(f->err, expect);
    assert_int_equal(f->out_len, 0);
    /* A target without the extension gets the same bytes in WRITE_DATA frames. */
    f->m.ext = false;
    f->m.v2 = false;
    f->m.file_size = 0;
    assert_int_equal(RUN_OPTS(f, &o, "-q", "file", "log"), FB_EXIT_OK);
    assert_int_equal(f->m.file_size, len);
    assert_memory_equal(f->m.file, text, len);
    assert_int_equal(f->err_len, 0);
    free(text);
}

static void test_file_log_file_full(void **state)
{
    fixture_t *f = *state;
    f->m.ext = true;
    f->m.v2 = true;
    f->m.file_cap = 300;
    static char text[1000];
    memset(text, 'x', sizeof text);
    for (size_t i = 49; i < sizeof text; i += 50)
        text[i] = '\n';
    struct run_opts o = {.in = text, .in_len = sizeof text};
    assert_int_equal(RUN_OPTS(f, &o, "file", "log"), FB_EXIT_DEVICE);
    assert_contains(f->err, "file full");
    assert_int_equal(f->m.file_size, 256);
}

static void test_file_size_clear(void **state)
{
    fixture_t *f = *state;
    uint8_t data[77] = {0};
    mock_set_file(&f->m, data, sizeof data);
    assert_int_equal(RUN(f, "file", "size"), FB_EXIT_OK);
    assert_string_equal(f->out, "77\n");
    assert_int_equal(RUN(f, "file", "clear"), FB_EXIT_OK);
    assert_int_equal(f->m.file_size, 0);
    assert_int_equal(RUN(f, "file", "get"), FB_EXIT_OK);
    assert_int_equal(f->out_len, 0);
}

static void test_timeout_exit_code(void **state)
{
    fixture_t *f = *state;
    f->m.stuck_busy = true;
    assert_int_equal(RUN(f, "file", "clear"), FB_EXIT_TIMEOUT);
    assert_contains(f->err, "timed out");
}

static void test_get_device_error_exit(void **state)
{
    fixture_t *f = *state;
    uint8_t data[300] = {0};
    mock_set_file(&f->m, data, sizeof data);
    f->m.fail_cmd = FB_CMD_READ_SECTOR;
    f->m.fail_bits = FB_ERR_FLASH;
    assert_int_equal(RUN(f, "file", "get"), FB_EXIT_DEVICE);
    assert_contains(f->err, "reading the file: device error");
}

/* ---- streaming extension ---- */

static void test_info_names_the_protocol(void **state)
{
    fixture_t *f = *state;
    assert_int_equal(RUN(f, "info"), FB_EXIT_OK);
    assert_contains(f->out, "protocol:  v1\n");
    assert_int_equal(f->m.error, 0); /* asking CAPS left nothing behind */
    f->m.ext = true;
    assert_int_equal(RUN(f, "info"), FB_EXIT_OK);
    assert_contains(f->out, "protocol:  streaming extension v2 (256-byte frames, CRC-16, "
                            "4-slot queue)\n");
    assert_int_equal(RUN(f, "--v1", "info"), FB_EXIT_OK);
    assert_contains(f->out, "protocol:  v1 (forced by --v1)\n");
}

static void test_put_and_get_use_the_extension_unless_v1(void **state)
{
    fixture_t *f = *state;
    enum { N = 70000 }; /* more than one read piece of the CLI */
    uint8_t *data = malloc(N);
    for (int i = 0; i < N; i++)
        data[i] = (uint8_t)(i % 5 == 0 ? 0xFF : i * 7);
    f->m.ext = true;
    f->m.cmd_polls = 1;
    struct run_opts o = {.in = data, .in_len = N};
    assert_int_equal(RUN_OPTS(f, &o, "file", "put", "-"), FB_EXIT_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_APPEND_CRC), (N + 255) / 256);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), 0);
    assert_int_equal(RUN(f, "file", "get"), FB_EXIT_OK);
    assert_int_equal(f->out_len, N);
    assert_memory_equal(f->out, data, N);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_STREAM_READ), 2);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_READ_SECTOR), 0);
    /* --v1: the same through 30-byte frames and READ_SECTOR. */
    assert_int_equal(RUN(f, "file", "clear"), FB_EXIT_OK);
    struct run_opts small = {.in = data, .in_len = 600};
    assert_int_equal(RUN_OPTS(f, &small, "--v1", "file", "put", "-"), FB_EXIT_OK);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_WRITE_DATA), 20);
    assert_int_equal(RUN(f, "--v1", "file", "get"), FB_EXIT_OK);
    assert_int_equal(f->out_len, 600);
    assert_memory_equal(f->out, data, 600);
    assert_int_equal(mock_count_frames(&f->m, FB_CMD_READ_SECTOR), 3);
    free(data);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_help_lists_exit_codes),
        T(test_usage_errors_touch_nothing),
        T(test_no_device_configured),
        T(test_absent_device),
        T(test_addr_option),
        T(test_not_a_flashbridge),
        T(test_io_error_is_comm),
        T(test_nack_mid_command_is_comm),
        T(test_info),
        T(test_status_decodes_bits),
        T(test_config_write_text_and_read_raw),
        T(test_config_read_default_whole_zone),
        T(test_config_read_hexdump_on_tty),
        T(test_config_read_to_file),
        T(test_config_write_hex),
        T(test_config_write_from_stdin),
        T(test_config_clear_and_device_error),
        T(test_file_name_show_and_set),
        T(test_file_name_rejected_by_device),
        T(test_file_put_stdin_and_get),
        T(test_file_put_from_file_and_get_to_file),
        T(test_progress_only_on_tty),
        T(test_file_put_file_full),
        T(test_file_log_lines),
        T(test_file_log_file_full),
        T(test_file_size_clear),
        T(test_timeout_exit_code),
        T(test_get_device_error_exit),
        T(test_info_names_the_protocol),
        T(test_put_and_get_use_the_extension_unless_v1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
