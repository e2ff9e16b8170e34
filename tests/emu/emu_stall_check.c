/*
 * emu_stall_check ELF BOARD EXPECT: run I2C traffic at 400 kHz while the firmware
 * commits a config transaction (internal-flash erases and programs) and require the
 * stall detector to report at least one stall at a site naming EXPECT (a function or
 * table). Used on firmware built to break the SRAM rule (test_stall_break.sh); the good
 * build's zero-stall result is checked by test_emu_iflash.
 * Exit 0 when caught, 1 when not (or on error).
 */
#include <stdio.h>
#include <string.h>

#include "emu_harness.h"
#include "flashbridge/protocol.h"

#define MS 1000000ull

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s ELF BOARD EXPECT\n", argv[0]);
        return 2;
    }
    const emu_target_t t = {argv[2], argv[1]};
    h_open(&t, 400000, NULL);
    uint8_t z[28];
    memset(z, 0x33, sizeof z);
    bool ok = h_cmd(FB_CMD_CONFIG_BEGIN) && h_wait_idle(50000, 50 * MS) &&
              h_write_config(0, z, sizeof z) && h_wait_idle(50000, 50 * MS) &&
              h_cmd(FB_CMD_CONFIG_COMMIT);
    /* Register reads and probes for as long as the commit runs: each ends with STOP
     * or the controller's NACK, the events the interrupt handler ends transfers on. */
    uint64_t end = board_now() + 400 * MS;
    uint8_t b[11];
    while (ok && board_now() < end && (h_status() & FB_STATUS_BUSY)) {
        ok = h_reg(FB_CMD_GET_FILENAME, b, sizeof b) && h_reg(FB_CMD_WHO_AM_I, b, 1) &&
             h_xfer(NULL, 0, NULL, 0);
    }
    const emu_stats_t *s = emu_stats();
    emu_stats_print(stdout);
    bool named = false;
    for (unsigned i = 0; i < s->n_stall_sites; i++)
        named |= strstr(s->stall_site[i].where, argv[3]) != NULL;
    bool caught = ok && s->stalls > 0 && named;
    printf("%s: %llu stalls (%.3f ms of CPU time lost), worst I2C latency %.3f ms, %s\n",
           argv[1], (unsigned long long)s->stalls, (double)s->stall_ns / 1e6,
           (double)s->i2c_latency_max_ns / 1e6,
           !ok ? "the session failed" : caught ? "caught, naming the culprit" : "NOT caught");
    h_close();
    return caught ? 0 : 1;
}
