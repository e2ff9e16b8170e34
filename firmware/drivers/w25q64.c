/*
 * W25Q64JV driver. Instruction codes and times from the Winbond W25Q64JV datasheet
 * (rev. L): section 8 for the instructions, table 9.7 for tPP/tSE/tBE.
 */
#include "w25q64.h"

#include "errors.h"
#include "hal.h"

enum {
    CMD_WRITE_ENABLE = 0x06,
    CMD_READ_STATUS1 = 0x05,
    CMD_READ_DATA = 0x03,
    CMD_PAGE_PROGRAM = 0x02,
    CMD_SECTOR_ERASE = 0x20,
    CMD_BLOCK32_ERASE = 0x52,
    CMD_BLOCK64_ERASE = 0xD8,
    CMD_JEDEC_ID = 0x9F,
    CMD_RELEASE_PD = 0xAB,
    CMD_ENABLE_RESET = 0x66,
    CMD_RESET = 0x99,
    CMD_READ_STATUS2 = 0x35,
    CMD_SUSPEND = 0x75,
    CMD_RESUME = 0x7A,
};

#define SR1_BUSY 0x01u
#define SR1_WEL 0x02u
#define SR2_SUS 0x80u

/* tSUS is 20 us at most (section 9.7); two ticks of hal_millis() (at least one whole
 * millisecond) bound the wait for BUSY to clear after 75h. */
#define SUSPEND_BOUND_TICKS 2u

/* Bounds: datasheet maximum + 50 % + one tick of hal_millis() granularity. */
#define BOUND_MS(max_ms) ((max_ms) + (max_ms) / 2u + 2u)

/* The operation on the device, and an erase set aside by a suspend. */
static struct {
    bool running;
    bool long_op;
    bool erase; /* the running operation is an erase started here (suspendable) */
    uint32_t started_ms;
    uint32_t bound_ms;
    bool suspended;
    uint32_t susp_started_ms, susp_bound_ms, suspended_ms;
    bool resumed; /* resumed_ms is valid */
    uint32_t resumed_ms;
    int sticky_err; /* a failure w25q_suspend() saw, for the operation's owner to poll */
} drv;

static int command(const uint8_t *tx, size_t n, uint8_t *rx, size_t rn)
{
    hal_spi_select();
    int err = hal_spi_xfer(tx, NULL, n);
    if (!err && rn)
        err = hal_spi_xfer(NULL, rx, rn);
    hal_spi_deselect();
    return err;
}

static int read_status(uint8_t *sr)
{
    static const uint8_t cmd = CMD_READ_STATUS1;
    return command(&cmd, 1, sr, 1);
}

static int read_status2(uint8_t *sr)
{
    static const uint8_t cmd = CMD_READ_STATUS2;
    return command(&cmd, 1, sr, 1);
}

static int single(uint8_t op)
{
    return command(&op, 1, NULL, 0);
}

/* A reset also forgets a suspended erase: its block is left partly erased, and the
 * caller re-reads what the flash holds (the data file's mount never trusts it). The chip
 * takes no instruction for tRST (30 us): wait for BUSY to clear, two ticks at most. */
static void reset_device(void)
{
    (void)single(CMD_ENABLE_RESET);
    (void)single(CMD_RESET);
    drv.running = false;
    drv.suspended = false;
    uint32_t t0 = hal_millis();
    uint8_t sr = SR1_BUSY;
    while ((sr & SR1_BUSY) && (uint32_t)(hal_millis() - t0) <= SUSPEND_BOUND_TICKS)
        if (read_status(&sr))
            break;
}

/* WREN, then confirm WEL: a device that did not latch it would ignore the operation
 * and we would wait for nothing. */
static int write_enable(void)
{
    static const uint8_t wren = CMD_WRITE_ENABLE;
    uint8_t sr = 0;
    int err = command(&wren, 1, NULL, 0);
    if (!err)
        err = read_status(&sr);
    if (!err && (sr & (SR1_WEL | SR1_BUSY)) != SR1_WEL)
        err = FB_EFLASH;
    return err;
}

static void addr24(uint8_t *p, uint32_t addr)
{
    p[0] = (uint8_t)(addr >> 16);
    p[1] = (uint8_t)(addr >> 8);
    p[2] = (uint8_t)addr;
}

static void begin(uint32_t bound_ms, bool long_op)
{
    drv.running = true;
    drv.long_op = long_op;
    drv.erase = false;
    drv.started_ms = hal_millis();
    drv.bound_ms = bound_ms;
}

int w25q_init(void)
{
    static const uint8_t wake = CMD_RELEASE_PD, jedec = CMD_JEDEC_ID;
    uint8_t id[3];
    drv.running = false;
    drv.suspended = false; /* a reset or power loss forgets a suspend (SUS = 0) */
    int err = command(&wake, 1, NULL, 0);
    if (err)
        return err;
    uint8_t sr = 0;
    err = read_status(&sr);
    if (err)
        return err;
    if (sr & SR1_BUSY) {
        /* An operation from before our reset is still running: let it finish (its
         * longest possible kind, a 64 KB erase, bounds the wait). */
        begin(BOUND_MS(2000u), true);
        return FB_EAGAIN;
    }
    err = command(&jedec, 1, id, sizeof id);
    if (err)
        return err;
    return (id[0] == 0xEF && id[1] == 0x40 && id[2] == 0x17) ? FB_OK : FB_EFLASH;
}

int w25q_read(uint32_t addr, void *dst, size_t n)
{
    FB_ASSERT(!drv.running);
    uint8_t cmd[4] = {CMD_READ_DATA};
    addr24(&cmd[1], addr);
    return command(cmd, sizeof cmd, dst, n);
}

int w25q_program_start(uint32_t addr, const void *src, size_t n)
{
    FB_ASSERT(!drv.running);
    FB_ASSERT(n >= 1 && n <= W25Q_PAGE && (addr % W25Q_PAGE) + n <= W25Q_PAGE);
    int err = write_enable();
    if (err)
        return err;
    uint8_t cmd[4] = {CMD_PAGE_PROGRAM};
    addr24(&cmd[1], addr);
    hal_spi_select();
    err = hal_spi_xfer(cmd, NULL, sizeof cmd);
    if (!err)
        err = hal_spi_xfer(src, NULL, n);
    hal_spi_deselect(); /* CS high starts the program */
    if (err)
        return err;
    begin(BOUND_MS(3u), false);
    return FB_OK;
}

int w25q_erase_start(w25q_erase_t kind, uint32_t addr)
{
    static const struct {
        uint8_t cmd;
        uint32_t size;
        uint32_t max_ms;
    } k[] = {
        [W25Q_ERASE_4K] = {CMD_SECTOR_ERASE, W25Q_SECTOR, 400u},
        [W25Q_ERASE_32K] = {CMD_BLOCK32_ERASE, W25Q_BLOCK32, 1600u},
        [W25Q_ERASE_64K] = {CMD_BLOCK64_ERASE, W25Q_BLOCK64, 2000u},
    };
    FB_ASSERT(!drv.running);
    FB_ASSERT(addr % k[kind].size == 0);
    int err = write_enable();
    if (err)
        return err;
    uint8_t cmd[4] = {k[kind].cmd};
    addr24(&cmd[1], addr);
    FB_ASSERT(!drv.suspended); /* the chip refuses every erase while one is suspended */
    err = command(cmd, sizeof cmd, NULL, 0);
    if (err)
        return err;
    begin(BOUND_MS(k[kind].max_ms), true);
    drv.erase = true;
    drv.resumed = false;
    return FB_OK;
}

int w25q_poll(void)
{
    if (drv.sticky_err) {
        int e = drv.sticky_err;
        drv.sticky_err = FB_OK;
        return e;
    }
    if (!drv.running)
        return drv.suspended ? FB_EAGAIN : FB_OK; /* a suspended erase is not done */
    uint8_t sr = 0;
    int err = read_status(&sr);
    if (!err && !(sr & SR1_BUSY) && drv.erase) {
        /* BUSY also clears when an erase is suspended: one we did not suspend (a 75h
         * taken after we gave up waiting for it) is resumed, never taken as done. */
        uint8_t sr2 = 0;
        err = read_status2(&sr2);
        if (!err && (sr2 & SR2_SUS)) {
            err = single(CMD_RESUME);
            drv.resumed = true;
            drv.resumed_ms = hal_millis();
            if (!err)
                return FB_EAGAIN;
        }
    }
    if (!err && !(sr & SR1_BUSY)) {
        drv.running = false;
        return FB_OK;
    }
    if (err || (uint32_t)(hal_millis() - drv.started_ms) > drv.bound_ms) {
        reset_device();
        return err ? err : FB_ETIMEOUT;
    }
    return FB_EAGAIN;
}

bool w25q_long_wait(void)
{
    return drv.running && drv.long_op;
}

int w25q_suspend(void)
{
    if (drv.suspended)
        return FB_OK;
    if (!drv.running)
        return FB_OK;
    if (!drv.erase) {
        /* A program: tPP is short, wait for its end. A failure is kept for the
         * program's owner, whose next w25q_poll() reports it. */
        int err = w25q_poll();
        if (err != FB_OK && err != FB_EAGAIN) {
            drv.sticky_err = err;
            return FB_EAGAIN;
        }
        return err;
    }
    uint32_t now = hal_millis();
    /* "Erase/Program Suspend (75h)": no suspend within tSUS of a resume, and an erase
     * suspended again and again never ends: give it W25Q_MIN_RUN_MS (+1 tick of
     * granularity) after each resume. */
    if (drv.resumed && (uint32_t)(now - drv.resumed_ms) <= W25Q_MIN_RUN_MS)
        return FB_EAGAIN;
    int err = single(CMD_SUSPEND);
    uint8_t sr = SR1_BUSY, sr2 = 0;
    while (!err) {
        err = read_status(&sr);
        if (err || !(sr & SR1_BUSY) || (uint32_t)(hal_millis() - now) > SUSPEND_BOUND_TICKS)
            break;
    }
    if (!err && !(sr & SR1_BUSY))
        err = read_status2(&sr2);
    if (err)
        return err;
    if (sr & SR1_BUSY)
        return FB_EAGAIN; /* not taken (w25q_poll() resumes it should it be taken later) */
    if (!(sr2 & SR2_SUS)) {
        drv.running = false; /* ended before the suspend: done */
        return FB_OK;
    }
    drv.suspended = true;
    drv.running = false;
    drv.susp_started_ms = drv.started_ms;
    drv.susp_bound_ms = drv.bound_ms;
    drv.suspended_ms = hal_millis();
    return FB_OK;
}

int w25q_resume(void)
{
    if (!drv.suspended)
        return FB_OK;
    FB_ASSERT(!drv.running);
    int err = single(CMD_RESUME);
    uint32_t now = hal_millis();
    drv.suspended = false;
    drv.running = true;
    drv.long_op = true;
    drv.erase = true;
    drv.started_ms = drv.susp_started_ms;
    /* time spent suspended does not count against the erase's bound */
    drv.bound_ms = drv.susp_bound_ms + (uint32_t)(now - drv.suspended_ms) + 1u;
    drv.resumed = true;
    drv.resumed_ms = now;
    return err;
}

bool w25q_suspended(void)
{
    return drv.suspended;
}

void w25q_abort(void)
{
    if (drv.running || drv.suspended)
        reset_device();
    drv.sticky_err = FB_OK;
}
