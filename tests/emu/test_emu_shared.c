/*
 * Shared-bus soak: the real firmware on the emulated board, on a bus where other
 * controllers talk to other targets for a given share of bus time (--bus-traffic), for
 * N minutes of virtual time, while we append to the data file (W25Q64 programs), clear
 * it (W25Q64 erases in the background) and rewrite the config (internal-flash programs
 * and erases). Faults are injected into a share of our transfers (bus error, lost
 * arbitration, a read NACKed early, an abort mid-byte); the client retries them, as a
 * real one would, and every other transfer must be correct.
 *
 * Passes when: every transfer of ours that had no fault injected was acknowledged and
 * returned the expected bytes; every read-back matches the ledger; our firmware drove
 * SCL or SDA as a GPIO 0 times and made 0 START/STOP conditions; 0 transfers of the
 * other devices were delayed or touched by us; others held >= the asked share of bus
 * time; the controller never timed out on a stretch. First, on every run: a streaming
 * chunk read one byte short is not consumed, a complete read is; a write frame ended by
 * a repeated start to another device (no STOPF for us) is stored.
 *
 *   test_emu_shared [--minutes M] [--traffic PCT] [--faults PCT] [--board B]
 *                   [--khz 100|400] [--dr-preload keep|discard] [--elf ELF]
 * Without --khz: 100 kHz (DR discard) then 400 kHz (DR keep). Prints the figures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu_harness.h"
#include "flashbridge/protocol.h"

#define MS 1000000ull
#define FILE_MAX (64u * 1024u)

static unsigned failures;

#define CHECK(cond, ...)                                                                  \
    do {                                                                                  \
        if (!(cond)) {                                                                    \
            failures++;                                                                   \
            fprintf(stderr, "FAIL %s:%d at %.3f s: ", __FILE__, __LINE__,                 \
                    (double)board_now() / 1e9);                                           \
            fprintf(stderr, __VA_ARGS__);                                                 \
            fputc('\n', stderr);                                                          \
            if (failures > 20)                                                            \
                exit(1);                                                                  \
        }                                                                                 \
    } while (0)

static uint32_t seed = 12345;
static uint32_t rnd(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 8;
}

static uint16_t crc16(uint16_t crc, const uint8_t *p, size_t n)
{
    while (n--) {
        crc ^= (uint16_t)(*p++ << 8);
        for (int i = 0; i < 8; i++)
            crc = (uint16_t)((crc & 0x8000u) ? ((unsigned)crc << 1) ^ 0x1021u : (unsigned)crc << 1);
    }
    return crc;
}

typedef struct {
    uint8_t file[FILE_MAX];
    uint32_t size;
    uint8_t config[1024];
    unsigned ours, retried, appends, clears, config_writes, sector_reads, config_reads;
} ledger_t;

static ledger_t L;

/* Our transfer: retried when the emulator injected a fault into it (the controller saw
 * it fail, as a real one would); any other failure counts. */
static bool xfer(const uint8_t *w, size_t wlen, uint8_t *r, size_t rlen)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        uint64_t f0 = 0;
        const emu_stats_t *s = emu_stats();
        for (int k = 0; k < 4; k++)
            f0 += s->faults_injected[k];
        L.ours++;
        size_t acked = 0;
        board_xfer_status_t st = board_transfer(FB_I2C_ADDR, w, wlen, r, rlen, &acked);
        uint64_t f1 = 0;
        for (int k = 0; k < 4; k++)
            f1 += s->faults_injected[k];
        if (f1 != f0) {
            L.retried++;
            board_wait(MS); /* a host's retry comes a little later */
            continue;
        }
        CHECK(st == BOARD_ACK && acked == wlen, "transfer [%02x..] %zu/%zu: status %d, %zu acked",
              wlen ? w[0] : 0xFF, wlen, rlen, (int)st, acked);
        return st == BOARD_ACK && acked == wlen;
    }
    CHECK(0, "8 faults in a row");
    return false;
}

static uint8_t reg1(uint8_t reg)
{
    uint8_t v = 0xEE;
    xfer(&reg, 1, &v, 1);
    return v;
}

static void wait_idle(void)
{
    uint64_t end = board_now() + 3000 * MS;
    while (board_now() < end) {
        if (!(reg1(FB_CMD_STATUS) & FB_STATUS_BUSY))
            return;
        board_wait(5 * MS);
    }
    CHECK(0, "BUSY for 3 s");
}

static uint32_t file_size(void)
{
    uint8_t reg = FB_CMD_FILE_SIZE, b[4] = {0};
    xfer(&reg, 1, b, 4);
    return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static void append(unsigned frames)
{
    for (unsigned k = 0; k < frames && L.size + 30u <= FILE_MAX; k++) {
        uint8_t f[32] = {FB_CMD_WRITE_DATA, 30};
        for (unsigned i = 0; i < 30; i++)
            f[2 + i] = L.file[L.size + i] = (uint8_t)rnd();
        if (!(reg1(FB_CMD_STATUS) & FB_STATUS_QUEUE_MASK))
            wait_idle();
        if (xfer(f, sizeof f, NULL, 0))
            L.size += 30;
        L.appends++;
    }
    wait_idle();
    uint32_t sz = file_size();
    CHECK(sz == L.size, "file size %u, expected %u", (unsigned)sz, (unsigned)L.size);
}

static void read_sector_check(void)
{
    if (!L.size)
        return;
    uint16_t idx = (uint16_t)(rnd() % ((L.size + 255u) / 256u));
    uint8_t f[3] = {FB_CMD_READ_SECTOR, (uint8_t)(idx >> 8), (uint8_t)idx}, b[256];
    xfer(f, 3, NULL, 0);
    wait_idle();
    memset(b, 0xEE, sizeof b);
    xfer(NULL, 0, b, 256);
    uint32_t base = (uint32_t)idx * 256u, n = L.size - base < 256u ? L.size - base : 256u;
    CHECK(memcmp(b, &L.file[base], n) == 0, "READ_SECTOR %u differs", (unsigned)idx);
    L.sector_reads++;
}

static void config_write_check(void)
{
    uint16_t off = (uint16_t)(rnd() % (1024u - 28u));
    uint8_t n = (uint8_t)(1u + rnd() % 28u);
    uint8_t f[32] = {FB_CMD_WRITE_CONFIG, (uint8_t)(off >> 8), (uint8_t)off, n};
    for (unsigned i = 0; i < n; i++)
        f[4 + i] = L.config[off + i] = (uint8_t)rnd();
    xfer(f, sizeof f, NULL, 0);
    wait_idle();
    L.config_writes++;
    uint16_t roff = (uint16_t)(off & ~0xFFu);
    if (roff > 1024u - 256u)
        roff = 1024u - 256u;
    uint8_t c[3] = {FB_CMD_READ_CONFIG, (uint8_t)(roff >> 8), (uint8_t)roff}, b[256];
    xfer(c, 3, NULL, 0);
    wait_idle();
    memset(b, 0xEE, sizeof b);
    xfer(NULL, 0, b, 256);
    CHECK(memcmp(b, &L.config[roff], 256) == 0, "READ_CONFIG at %u differs", (unsigned)roff);
    L.config_reads++;
}

/* A streaming chunk read one byte short stays; read in full, it is consumed. */
static void chunk_short_read_check(void)
{
    if (L.size < 600u)
        append(20);
    uint8_t f[11] = {FB_CMD_STREAM_READ, 0, 0, 0, 0, 0, 0, 2, 0};
    uint16_t crc = crc16(0xFFFF, f, 9);
    f[9] = (uint8_t)(crc >> 8);
    f[10] = (uint8_t)crc;
    xfer(f, 11, NULL, 0);
    wait_idle();
    board_wait(2 * MS);
    uint8_t a[260], b[260];
    xfer(NULL, 0, a, 259); /* one byte short */
    CHECK(a[0] == 0x5A && a[1] == 0, "chunk 0 header %02x %02x", a[0], a[1]);
    board_wait(MS);
    xfer(NULL, 0, b, 260);
    CHECK(b[0] == 0x5A && b[1] == 0 && memcmp(b + 2, L.file, 256) == 0,
          "chunk 0 read one byte short was consumed (next read: tag %02x seq %u)", b[0], b[1]);
    uint16_t c = crc16(0xFFFF, b, 258);
    CHECK(b[258] == (uint8_t)(c >> 8) && b[259] == (uint8_t)c, "chunk 0 CRC");
    board_wait(MS);
    xfer(NULL, 0, b, 260);
    CHECK(b[0] == 0x5A && b[1] == 1 && memcmp(b + 2, L.file + 256, 256) == 0,
          "chunk 0 read in full was not consumed (next read: tag %02x seq %u)", b[0], b[1]);
}

/* A WRITE_DATA frame ended by a repeated start to another device (0x50, absent: its
 * address is NACKed) and that device's STOP: no STOPF for us (RM0008), yet every byte
 * was acknowledged, so the frame must be stored (the firmware finds the bus idle). */
static void write_then_restart_elsewhere_check(void)
{
    uint8_t f[32] = {FB_CMD_WRITE_DATA, 30}, r[1];
    for (unsigned i = 0; i < 30; i++)
        f[2 + i] = L.file[L.size + i] = (uint8_t)rnd();
    L.ours++;
    emu_i2c_begin(FB_I2C_ADDR, f, sizeof f, r, 1, EMU_HOLD_NONE);
    emu_i2c_set_read_address(0x50);
    size_t acked = 0;
    board_xfer_status_t st = emu_i2c_finish(&acked);
    CHECK(st == BOARD_NACK_ADDR && acked == sizeof f, "Sr elsewhere: status %d, %zu acked",
          (int)st, acked);
    L.size += 30;
    board_wait(150 * MS);
    wait_idle();
    uint32_t sz = file_size();
    CHECK(sz == L.size, "frame ended by a repeated start elsewhere: file size %u, expected %u",
          (unsigned)sz, (unsigned)L.size);
}

static int run(const emu_target_t *t, uint32_t khz, bool keep, double minutes, unsigned pct,
               unsigned fault_pct)
{
    memset(&L, 0, sizeof L);
    memset(L.config, 0xFF, sizeof L.config);
    emu_options_t o = {.elf_path = t->elf, .board = t->board, .bus_traffic_pct = pct,
                       .dr_keep = keep, .seed = khz};
    h_open_opts(&o, khz * 1000u);
    unsigned before = failures;
    /* A fresh config zone: the ledger starts from 0xFF. */
    uint8_t cc = FB_CMD_CLEAR_CONFIG;
    xfer(&cc, 1, NULL, 0);
    wait_idle();
    CHECK(reg1(FB_CMD_WHO_AM_I) == FB_WHO_AM_I_VALUE, "WHO_AM_I");
    chunk_short_read_check();
    write_then_restart_elsewhere_check();
    /* Faults from here on (the check above reads with exact expectations). */
    emu_set_fault_pct(fault_pct);

    uint64_t end = (uint64_t)(minutes * 60e9);
    unsigned round = 0;
    while (board_now() < end) {
        round++;
        CHECK(reg1(FB_CMD_WHO_AM_I) == FB_WHO_AM_I_VALUE, "WHO_AM_I");
        append(1u + rnd() % 6u);
        read_sector_check();
        if (round % 5u == 0)
            config_write_check();
        if (round % 17u == 0 || L.size + 300u > FILE_MAX) {
            uint8_t c = FB_CMD_CLEAR_FLASH;
            xfer(&c, 1, NULL, 0);
            L.size = 0;
            L.clears++;
            wait_idle();
        }
        board_wait((100u + rnd() % 600u) * MS); /* the bus belongs to the others */
    }
    wait_idle();
    const emu_stats_t *s = emu_stats();
    double vmin = (double)board_now() / 60e9;
    double share = 100.0 * (double)s->others_bus_ns / (double)board_now();
    printf("shared bus, %s, %u kHz, DR %s: %.2f virtual minutes; others: %llu transfers, "
           "%.1f %% of bus time, %llu disturbed by us; ours: %u transfers (%u retried after "
           "%llu injected faults: BERR %llu, ARLO %llu, early NACK %llu, abort mid-byte %llu), "
           "%u appends, %u clears, %u config writes, %u sector and %u config reads; line "
           "drives by us %llu, forced START/STOP %llu; stretches beyond the controller's low "
           "time %llu (%llu of them after ADDR; mean %.2f us beyond it, longest %.2f us), "
           "read bytes sent after a BTF stretch %llu; controller timeouts %llu; internal "
           "flash ops %llu, W25Q64 SPI bytes %llu\n",
           t->board, (unsigned)khz, keep ? "keep" : "discard", vmin,
           (unsigned long long)s->others_transfers, share, (unsigned long long)s->others_disturbed,
           L.ours, L.retried,
           (unsigned long long)(s->faults_injected[0] + s->faults_injected[1] +
                                s->faults_injected[2] + s->faults_injected[3]),
           (unsigned long long)s->faults_injected[0], (unsigned long long)s->faults_injected[1],
           (unsigned long long)s->faults_injected[2], (unsigned long long)s->faults_injected[3],
           L.appends, L.clears, L.config_writes, L.sector_reads, L.config_reads,
           (unsigned long long)s->i2c_line_drives, (unsigned long long)s->i2c_forced_conditions,
           (unsigned long long)s->i2c_stretches, (unsigned long long)s->i2c_stretch_addr,
           s->i2c_stretches ? (double)s->i2c_stretch_ns / (double)s->i2c_stretches / 1e3 : 0.0,
           (double)s->i2c_stretch_max_ns / 1e3, (unsigned long long)s->i2c_stretch_tx,
           (unsigned long long)s->i2c_timeouts, (unsigned long long)s->flash_ops,
           (unsigned long long)s->spi_bytes);
    fflush(stdout);
    CHECK(vmin >= minutes, "only %.2f virtual minutes", vmin);
    CHECK(share >= (double)pct * 0.85, "others held %.1f %% of the bus, asked %u %%", share, pct);
    CHECK(s->others_transfers > 0, "no traffic of others");
    CHECK(s->others_disturbed == 0, "%llu transfers of others disturbed",
          (unsigned long long)s->others_disturbed);
    CHECK(s->i2c_line_drives == 0, "%llu line drives by our GPIOs",
          (unsigned long long)s->i2c_line_drives);
    CHECK(s->i2c_forced_conditions == 0, "%llu START/STOP forced by us",
          (unsigned long long)s->i2c_forced_conditions);
    CHECK(s->i2c_timeouts == 0, "%llu controller timeouts", (unsigned long long)s->i2c_timeouts);
    CHECK(s->i2c_rx_lost == 0 && s->i2c_rx_dup == 0 && s->i2c_ovr == 0, "bytes lost/dup/OVR");
    CHECK(s->violations == 0 && s->faults == 0 && s->watchdog_resets == 0 && s->stalls == 0,
          "violations %llu, faults %llu, watchdog resets %llu, stalls %llu",
          (unsigned long long)s->violations, (unsigned long long)s->faults,
          (unsigned long long)s->watchdog_resets, (unsigned long long)s->stalls);
    CHECK(fault_pct == 0 || L.retried > 0, "no fault was injected");
    CHECK(L.clears > 0 && L.config_writes > 0, "no erase of each kind");
    if (getenv("FB_SOAK_STATS"))
        emu_stats_print(stdout);
    h_close();
    return failures == before ? 0 : 1;
}

int main(int argc, char **argv)
{
    double minutes = 10.0;
    unsigned pct = 55, fault_pct = 1, khz = 0;
    const char *board = "bluepill", *dr = NULL, *elf = NULL;
    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--minutes") == 0)
            minutes = atof(argv[i + 1]);
        else if (strcmp(argv[i], "--traffic") == 0)
            pct = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--faults") == 0)
            fault_pct = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--board") == 0)
            board = argv[i + 1];
        else if (strcmp(argv[i], "--khz") == 0)
            khz = (unsigned)atoi(argv[i + 1]);
        else if (strcmp(argv[i], "--dr-preload") == 0)
            dr = argv[i + 1];
        else if (strcmp(argv[i], "--elf") == 0)
            elf = argv[i + 1];
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    emu_target_t other;
    const emu_target_t *t = strcmp(board, "steami") == 0 ? &emu_targets[1] : &emu_targets[0];
    if (elf) { /* another build of the firmware (an older one, to see what the soak finds) */
        other.board = t->board;
        other.elf = elf;
        t = &other;
    }
    int rc = 0;
    if (khz) {
        rc |= run(t, khz, dr && strcmp(dr, "keep") == 0, minutes, pct, fault_pct);
    } else {
        rc |= run(t, 100, dr ? strcmp(dr, "keep") == 0 : false, minutes, pct, fault_pct);
        rc |= run(t, 400, dr ? strcmp(dr, "keep") == 0 : true, minutes, pct, fault_pct);
    }
    printf("shared-bus soak: %s\n", rc ? "FAILED" : "passed");
    return rc;
}
