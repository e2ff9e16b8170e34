/* The on-the-fly FAT volume: whole images built sector by sector, then checked by
 * dosfstools (fsck.fat -n) and mtools (mdir, mcopy back and compare bytes). */
#include <stdarg.h>
#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fake_source.h"
#include "fatvol.h"
#include "flashbridge/protocol.h"

#define MIB (1024u * 1024u)

struct image {
    uint8_t *bytes;
    uint32_t len;
    char path[64];
};

static void build(struct fatvol *v, struct image *img)
{
    uint32_t n = fatvol_sectors(v);
    img->len = n * FATVOL_SECTOR;
    img->bytes = malloc(img->len);
    assert_non_null(img->bytes);
    for (uint32_t lba = 0; lba < n; lba++)
        assert_int_equal(fatvol_read(v, lba, img->bytes + lba * FATVOL_SECTOR), FATVOL_OK);
    strcpy(img->path, "/tmp/fb_fatvol_XXXXXX");
    int fd = mkstemp(img->path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, img->bytes, img->len), (ssize_t)img->len);
    close(fd);
}

static void drop(struct image *img)
{
    unlink(img->path);
    free(img->bytes);
}

/* Runs cmd, returns its exit status; its output (stdout+stderr) in out. */
static int run(const char *cmd, char *out, size_t cap)
{
    char full[512];
    snprintf(full, sizeof full, "MTOOLS_SKIP_CHECK=1 %s 2>&1", cmd);
    FILE *p = popen(full, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = '\0';
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static uint8_t *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n ? (size_t)n : 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* mcopy ::NAME out of the image and compare with want. */
static void copy_back(const struct image *img, const char *name, const uint8_t *want, size_t len)
{
    char cmd[256], out[4096], dst[64] = "/tmp/fb_fatvol_out_XXXXXX";
    int fd = mkstemp(dst);
    assert_true(fd >= 0);
    close(fd);
    snprintf(cmd, sizeof cmd, "%s -n -o -i %s ::%s %s", MCOPY, img->path, name, dst);
    if (run(cmd, out, sizeof out) != 0)
        fail_msg("%s: %s", cmd, out);
    size_t got_len;
    uint8_t *got = slurp(dst, &got_len);
    unlink(dst);
    assert_int_equal(got_len, len);
    if (len != 0)
        assert_memory_equal(got, want, len);
    free(got);
}

/* fsck.fat finds nothing; mdir lists the label and the three files; every file copies
 * back with its exact bytes. */
static void check_image(const struct image *img, const struct fake_source *f, const char *name83)
{
    char cmd[256], out[8192];
    snprintf(cmd, sizeof cmd, "%s -n %s", FSCK_FAT, img->path);
    if (run(cmd, out, sizeof out) != 0)
        fail_msg("fsck.fat: %s", out);
    snprintf(cmd, sizeof cmd, "%s -i %s ::", MDIR, img->path);
    if (run(cmd, out, sizeof out) != 0)
        fail_msg("mdir: %s", out);
    assert_non_null(strstr(out, "FLASHBRIDGE"));
    assert_non_null(strstr(out, "CONFIG   BIN      1024"));
    assert_non_null(strstr(out, "INFO     TXT"));
    assert_non_null(strstr(out, "3 files"));
    char entry[32];
    const char *dot = strchr(name83, '.');
    snprintf(entry, sizeof entry, "%-8.*s %-3s %9u", (int)(dot ? dot - name83 : (long)strlen(name83)),
             name83, dot ? dot + 1 : "", (unsigned)f->st.size);
    if (!strstr(out, entry))
        fail_msg("no '%s' in:\n%s", entry, out);
    copy_back(img, name83, f->file, f->st.size);
    copy_back(img, "CONFIG.BIN", f->config, FATVOL_CONFIG_SIZE);
    char info[512];
    snprintf(info, sizeof info,
             "flashbridge firmware 9.8.7-test\r\nData file: %s\r\nFile size: %u bytes\r\n"
             "Free space: %u bytes\r\nConfig zone: CONFIG.BIN, 1024 bytes\r\n",
             name83, (unsigned)f->st.size, (unsigned)(f->capacity - f->st.size));
    copy_back(img, "INFO.TXT", (const uint8_t *)info, strlen(info));
}

/* The FAT type in the boot sector agrees with the cluster count (the rule PCs use). */
static void check_fat_type(const struct image *img, const char *want)
{
    const uint8_t *b = img->bytes;
    uint32_t spc = b[13], rsv = b[14] | b[15] << 8, fats = b[16];
    uint32_t root = (uint32_t)(b[17] | b[18] << 8) * 32u / 512u;
    uint32_t total = b[19] | b[20] << 8, fatsz = b[22] | b[23] << 8;
    if (total == 0)
        total = b[32] | b[33] << 8 | (uint32_t)b[34] << 16 | (uint32_t)b[35] << 24;
    uint32_t clusters = (total - rsv - fats * fatsz - root) / spc;
    assert_memory_equal(b + 54, want, 8);
    assert_true(strcmp(want, "FAT12   ") == 0 ? clusters < 4085 : clusters >= 4085 && clusters < 65525);
    /* nowhere near the edge, where drivers might count differently */
    assert_true(clusters + 16 <= 4084 || clusters >= 4085 + 16);
}

static const struct fatvol_params k_params_8m = {FB_FILE_CAPACITY, 0x12340000u, "9.8.7-test"};
static const struct fatvol_params k_params_1m = {MIB, 0x12340000u, "9.8.7-test"};

static void empty_file(void **state)
{
    (void)state;
    struct fake_source f;
    struct fatvol v;
    struct image img;
    fake_init(&f, FB_FILE_CAPACITY);
    assert_true(fatvol_init(&v, &f.ops, &k_params_8m));
    build(&v, &img);
    check_fat_type(&img, "FAT16   ");
    check_image(&img, &f, "DATA.CSV");
    /* an empty file owns no cluster: its entry (the fourth) says cluster 0 */
    const uint8_t *e = img.bytes + (1u + 2u * v.fat_sectors) * FATVOL_SECTOR + 3u * 32u;
    assert_memory_equal(e, "DATA    CSV", 11);
    assert_int_equal(e[26] | e[27] << 8, 0);
    drop(&img);
    fake_free(&f);
}

static void one_mib_of_ff(void **state)
{
    (void)state;
    struct fake_source f;
    struct fatvol v;
    struct image img;
    fake_init(&f, FB_FILE_CAPACITY);
    fake_append(&f, MIB, 0xFF);
    assert_true(fatvol_init(&v, &f.ops, &k_params_8m));
    build(&v, &img);
    check_image(&img, &f, "DATA.CSV");
    drop(&img);
    fake_free(&f);
}

static void odd_size_on_fat12(void **state)
{
    (void)state;
    struct fake_source f;
    struct fatvol v;
    struct image img;
    fake_init(&f, MIB);
    fake_append(&f, 100003, -1);
    assert_true(fatvol_init(&v, &f.ops, &k_params_1m));
    build(&v, &img);
    check_fat_type(&img, "FAT12   ");
    check_image(&img, &f, "DATA.CSV");
    drop(&img);
    fake_free(&f);
}

/* The largest data file flashbridge can hold fits, to the last byte. */
static void full_capacity(void **state)
{
    (void)state;
    struct fake_source f;
    struct fatvol v;
    struct image img;
    fake_init(&f, FB_FILE_CAPACITY);
    fake_append(&f, FB_FILE_CAPACITY, -1);
    assert_true(fatvol_init(&v, &f.ops, &k_params_8m));
    build(&v, &img);
    check_image(&img, &f, "DATA.CSV");
    drop(&img);
    fake_free(&f);
}

static uint32_t serial_of(const struct image *img)
{
    const uint8_t *b = img->bytes + 39;
    return b[0] | b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

/* Appends show only at a snapshot: until then the PC reads the old volume unchanged;
 * then a new, consistent volume with a new serial, and fatvol_apply says "changed". */
static void grows_between_reads(void **state)
{
    (void)state;
    struct fake_source f;
    struct fatvol v;
    struct image a, a2, b;
    fake_init(&f, MIB);
    fake_append(&f, 1000, -1);
    assert_true(fatvol_init(&v, &f.ops, &k_params_1m));
    build(&v, &a);
    check_image(&a, &f, "DATA.CSV");

    fake_append(&f, 5000, -1);
    fatvol_poll(&v, 100);
    fatvol_poll(&v, 100 + FATVOL_SETTLE_MS - 1);
    assert_false(fatvol_apply(&v, false));
    build(&v, &a2); /* still the first snapshot, byte for byte */
    assert_int_equal(a2.len, a.len);
    assert_memory_equal(a2.bytes, a.bytes, a.len);

    fatvol_poll(&v, 100 + FATVOL_SETTLE_MS);
    assert_true(fatvol_apply(&v, false));
    assert_false(fatvol_apply(&v, false)); /* once */
    build(&v, &b);
    assert_int_equal(b.len, a.len); /* geometry never moves */
    assert_int_not_equal(serial_of(&b), serial_of(&a));
    check_image(&b, &f, "DATA.CSV");
    drop(&a);
    drop(&a2);
    drop(&b);
    fake_free(&f);
}

/* A file that never stops growing still shows up, at most FATVOL_MAX_DELAY_MS late. */
static void steady_growth_max_delay(void **state)
{
    (void)state;
    struct fake_source f;
    struct fatvol v;
    fake_init(&f, MIB);
    assert_true(fatvol_init(&v, &f.ops, &k_params_1m));
    uint32_t t = 5000;
    for (; t < 5000 + FATVOL_MAX_DELAY_MS; t += 500) {
        fake_append(&f, 10, -1);
        fatvol_poll(&v, t);
        assert_false(fatvol_apply(&v, false));
    }
    fake_append(&f, 10, -1);
    fatvol_poll(&v, t);
    assert_true(fatvol_apply(&v, false));
    assert_int_equal(v.snap.size, f.st.size);
    fake_free(&f);
}

/* A CLEAR, a rename or a config write needs no settling: the old snapshot would show
 * bytes that are gone. Until the snapshot is taken, reading the file's data is refused. */
static void in_place_changes_are_immediate(void **state)
{
    (void)state;
    struct fake_source f;
    struct fatvol v;
    uint8_t s[FATVOL_SECTOR];
    fake_init(&f, MIB);
    fake_append(&f, 3000, -1);
    assert_true(fatvol_init(&v, &f.ops, &k_params_1m));
    uint32_t file_lba = v.data_lba + (v.file_cl - 2u) * v.spc;
    assert_int_equal(fatvol_read(&v, file_lba, s), FATVOL_OK);
    assert_int_equal(s[5], (uint8_t)(5 * 7 + 3));

    fake_clear(&f);
    assert_int_equal(fatvol_read(&v, file_lba, s), FATVOL_E_STALE);
    assert_true(fatvol_apply(&v, false));
    assert_int_equal(v.snap.size, 0);
    assert_int_equal(fatvol_read(&v, file_lba, s), FATVOL_OK);

    memcpy(f.st.name, "LOG     TXT", FATVOL_NAME_LEN);
    assert_true(fatvol_apply(&v, false));
    f.st.config_gen++;
    assert_int_equal(fatvol_read(&v, v.data_lba, s), FATVOL_E_STALE); /* CONFIG.BIN */
    assert_true(fatvol_apply(&v, false));
    assert_int_equal(fatvol_read(&v, v.data_lba, s), FATVOL_OK);
    assert_false(fatvol_apply(&v, false));
    fake_free(&f);
}

static void check_named(const char *name11, const char *shown)
{
    struct fake_source f;
    struct fatvol v;
    struct image img;
    fake_init(&f, MIB);
    memcpy(f.st.name, name11, FATVOL_NAME_LEN);
    fake_append(&f, 777, -1);
    assert_true(fatvol_init(&v, &f.ops, &k_params_1m));
    build(&v, &img);
    check_image(&img, &f, shown);
    drop(&img);
    fake_free(&f);
}

static void names(void **state)
{
    (void)state;
    check_named("log     txt", "LOG.TXT");       /* FAT short names are upper case */
    check_named("CONFIG  BIN", "CONFIG~1.BIN");  /* no clash with our own files */
    check_named("INFO    TXT", "INFO~1.TXT");
    check_named("NOEXT      ", "NOEXT");
    check_named("A B     TXT", "DATA.BIN");      /* not a FAT short name */
    check_named("A.B     TXT", "DATA.BIN");
    check_named("        TXT", "DATA.BIN");
}

/* A capacity whose cluster count would fall at the FAT12/FAT16 edge gets spare
 * clusters instead; both sides of the edge check clean. */
static void fat12_fat16_edge(void **state)
{
    (void)state;
    static const struct {
        uint32_t clusters;
        const char *type;
    } cases[] = {{4060, "FAT12   "}, {4070, "FAT16   "}, {4085, "FAT16   "},
                 {4100, "FAT16   "}, {4110, "FAT16   "}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct fake_source f;
        struct fatvol v;
        struct image img;
        uint32_t cap = (cases[i].clusters - 3u) * FATVOL_SECTOR; /* 2 config + 1 info */
        struct fatvol_params p = {cap, 1, "9.8.7-test"};
        fake_init(&f, cap);
        fake_append(&f, cap, -1);
        assert_true(fatvol_init(&v, &f.ops, &p));
        build(&v, &img);
        check_fat_type(&img, cases[i].type);
        check_image(&img, &f, "DATA.CSV");
        drop(&img);
        fake_free(&f);
    }
}

static void errors_and_range(void **state)
{
    (void)state;
    struct fake_source f;
    struct fatvol v;
    uint8_t s[FATVOL_SECTOR];
    fake_init(&f, MIB);
    fake_append(&f, 10, -1);
    assert_true(fatvol_init(&v, &f.ops, &k_params_1m));
    assert_int_equal(fatvol_read(&v, fatvol_sectors(&v), s), FATVOL_E_RANGE);
    assert_int_equal(fatvol_read(&v, fatvol_sectors(&v) - 1u, s), FATVOL_OK);
    f.read_rc = FATVOL_E_BUSY;
    assert_int_equal(fatvol_read(&v, v.data_lba, s), FATVOL_E_BUSY);
    f.read_rc = -77; /* anything else the source says is an I/O error */
    assert_int_equal(fatvol_read(&v, v.data_lba + (v.file_cl - 2u) * v.spc, s), FATVOL_E_IO);
    /* metadata sectors need no source read */
    f.read_rc = FATVOL_E_IO;
    assert_int_equal(fatvol_read(&v, 0, s), FATVOL_OK);
    assert_int_equal(fatvol_read(&v, 1, s), FATVOL_OK);
    /* too large a capacity is refused, not truncated */
    struct fatvol_params huge = {0xFFFFFFFFu, 1, "x"};
    assert_false(fatvol_init(&v, &f.ops, &huge));
    fake_free(&f);
}

/* CMake's find_program result: "<VAR>-NOTFOUND" when the package is missing. */
static int tools_present(void)
{
    static const char *const tools[] = {FSCK_FAT, MDIR, MCOPY};
    int ok = 1;
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++) {
        if (strstr(tools[i], "NOTFOUND") != NULL || access(tools[i], X_OK) != 0) {
            fprintf(stderr, "test_fatvol: %s missing: install dosfstools and mtools (make deps)\n",
                    tools[i]);
            ok = 0;
        }
    }
    return ok;
}

int main(void)
{
    if (!tools_present())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_file),
        cmocka_unit_test(one_mib_of_ff),
        cmocka_unit_test(odd_size_on_fat12),
        cmocka_unit_test(full_capacity),
        cmocka_unit_test(grows_between_reads),
        cmocka_unit_test(steady_growth_max_delay),
        cmocka_unit_test(in_place_changes_are_immediate),
        cmocka_unit_test(names),
        cmocka_unit_test(fat12_fat16_edge),
        cmocka_unit_test(errors_and_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
