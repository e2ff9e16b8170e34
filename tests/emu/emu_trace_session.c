/*
 * emu_trace_session FILE.vcd: a short session on the emulated Blue Pill at 100 kHz with
 * the VCD trace on, for test_trace_sigrok.sh to decode: WHO_AM_I (write 01, repeated
 * START, read 4C), then a WRITE_DATA frame with the bytes 11 03 A5 5A C3 and zero
 * padding, then STATUS polls until the append is done (a W25Q64 page program on SPI).
 */
#include <stdio.h>

#include "emu_harness.h"
#include "flashbridge/protocol.h"

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s FILE.vcd\n", argv[0]);
        return 2;
    }
    h_open(&emu_targets[0], 100000, argv[1]);
    uint8_t id = 0;
    static const uint8_t data[3] = {0xA5, 0x5A, 0xC3};
    int ok = h_reg(FB_CMD_WHO_AM_I, &id, 1) && id == FB_WHO_AM_I_VALUE &&
             h_write_data(data, 3) && h_wait_idle(2000000, 200000000);
    board_wait(1000000);
    h_close();
    return ok ? 0 : 1;
}
