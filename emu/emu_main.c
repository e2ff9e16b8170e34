/*
 * flashbridge-emu ELF [--board bluepill|steami] [--trace FILE.vcd] [--stats]
 *                 [--bus-traffic PCT] [--dr-preload keep|discard] [--stretch-timeout-us N]
 *                 [--fault-pct PCT] [--seed N] [--usb-setup-dtog rx1|rx0]
 *                 [flashbridge-sim options: --socket PATH --flash-image F --config-image F
 *                  --bus-khz 100|400 --timing typ|max --realtime]
 *
 * Runs the unmodified STM32F103 firmware ELF on the emulated board and serves its I2C bus
 * on the socket exactly as flashbridge-sim does (docs/SIM-PROTOCOL.md; same server code).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emu.h"
#include "sim_server.h"

static void usage(FILE *f, const char *argv0)
{
    fprintf(f,
            "usage: %s ELF --socket PATH [options]\n"
            "Run the STM32F103 firmware ELF on an emulated board and serve its I2C bus on a\n"
            "Unix socket (protocol: docs/SIM-PROTOCOL.md, as flashbridge-sim).\n"
            "  ELF, --elf ELF       firmware (build/stm32f103/flashbridge.elf)\n"
            "  --board NAME         bluepill (default) or steami: the pins checked\n"
            "  --trace FILE.vcd     I2C and SPI lines as a VCD (PulseView, sigrok-cli)\n"
            "  --stats              timing, latency and stall summary on stderr at exit\n"
            "  --bus-traffic PCT    other devices' transfers on the bus, PCT %% of bus time\n"
            "                       (0..90, default 0)\n"
            "  --dr-preload keep|discard  a byte left in I2C DR when a read ends is sent\n"
            "                       first by the next read (keep) or dropped (discard,\n"
            "                       default); RM0008 does not say which\n"
            "  --stretch-timeout-us N  the controller gives up on SCL held low after N us\n"
            "                       (default 35000, as Linux i2c-bcm2835)\n"
            "  --fault-pct PCT      inject a fault into PCT %% of the transfers (BERR, lost\n"
            "                       arbitration, early NACK, abort mid-byte): they fail\n"
            "  --seed N             seed of the traffic and fault generator\n"
            "  --usb-setup-dtog rx1|rx0  USB: DTOG_RX after a SETUP reads 1 (the\n"
            "                       reception's toggle follows RM0008's reset to 0, default)\n"
            "                       or 0; RM0008 does not say which\n"
            "  --socket PATH        socket to listen on (a stale one is replaced)\n"
            "  --flash-image FILE   W25Q64 image (8 MiB; created erased if missing)\n"
            "  --config-image FILE  STM32F103 internal flash image, the whole flash (64 KiB;\n"
            "                       128 KiB with --board steami); the firmware is written\n"
            "                       into it at start-up, the rest keeps its content (on\n"
            "                       the STeaMi: DAPLink bootloader, factory config page;\n"
            "                       a blank bootloader area runs a stand-in that starts\n"
            "                       the image at 0x0800C000 as DAPLink's does)\n"
            "  --bus-khz 100|400    I2C clock (default 100)\n"
            "  --timing typ|max     flash operation times (default typ)\n"
            "  --realtime           keep virtual time in step with the wall clock\n",
            argv0);
}

/* An unsigned number within [lo, hi], or -1. */
static long number(const char *v, long lo, long hi)
{
    char *end;
    long n = v ? strtol(v, &end, 10) : -1;
    if (!v || *v == '\0' || *end != '\0' || n < lo || n > hi)
        return -1;
    return n;
}

/* Value of option arg (either "--name=value" or the next argument). */
static const char *value_of(int argc, char **argv, int *i, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (eq)
        return eq + 1;
    if (*i + 1 >= argc)
        return NULL;
    return argv[++*i];
}

static int is_opt(const char *arg, const char *name)
{
    size_t n = strlen(name);
    return strncmp(arg, name, n) == 0 && (arg[n] == '\0' || arg[n] == '=');
}

int main(int argc, char **argv)
{
    emu_options_t opt = {0};
    char **rest = calloc((size_t)argc + 1u, sizeof *rest);
    if (!rest)
        return 1;
    int n = 0;
    rest[n++] = argv[0];
    static const char *const with_value[] = {"--socket", "--flash-image", "--config-image",
                                             "--bus-khz", "--timing"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = is_opt(a, "--elf")     ? &opt.elf_path
                           : is_opt(a, "--board") ? &opt.board
                           : is_opt(a, "--trace") ? &opt.trace_path
                                                  : NULL;
        if (dst) {
            if (!(*dst = value_of(argc, argv, &i, a))) {
                fprintf(stderr, "flashbridge-emu: %s needs a value\n", a);
                return 2;
            }
            continue;
        }
        if (is_opt(a, "--bus-traffic") || is_opt(a, "--stretch-timeout-us") ||
            is_opt(a, "--fault-pct") || is_opt(a, "--seed") || is_opt(a, "--dr-preload") ||
            is_opt(a, "--usb-setup-dtog")) {
            const char *v = value_of(argc, argv, &i, a);
            long val = 0;
            if (is_opt(a, "--usb-setup-dtog")) {
                if (v && (strcmp(v, "rx1") == 0 || strcmp(v, "rx0") == 0))
                    opt.usb_setup_rx0 = strcmp(v, "rx0") == 0;
                else
                    val = -1;
            } else if (is_opt(a, "--dr-preload")) {
                if (v && (strcmp(v, "keep") == 0 || strcmp(v, "discard") == 0))
                    opt.dr_keep = strcmp(v, "keep") == 0;
                else
                    val = -1;
            } else if (is_opt(a, "--bus-traffic")) {
                opt.bus_traffic_pct = (unsigned)(val = number(v, 0, 90));
            } else if (is_opt(a, "--fault-pct")) {
                opt.fault_pct = (unsigned)(val = number(v, 0, 100));
            } else if (is_opt(a, "--seed")) {
                opt.seed = (uint32_t)(val = number(v, 0, 0x7FFFFFFF));
            } else {
                opt.stretch_timeout_us = (uint32_t)(val = number(v, 1, 10000000));
            }
            if (val < 0) {
                fprintf(stderr, "flashbridge-emu: bad value for %s (see --help)\n", a);
                return 2;
            }
            continue;
        }
        if (strcmp(a, "--stats") == 0) {
            opt.print_stats = true;
            continue;
        }
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        }
        if (a[0] != '-' && !opt.elf_path) {
            opt.elf_path = a;
            continue;
        }
        rest[n++] = argv[i];
        for (size_t k = 0; k < sizeof with_value / sizeof with_value[0]; k++) {
            if (strcmp(a, with_value[k]) == 0 && i + 1 < argc)
                rest[n++] = argv[++i];
        }
    }
    if (!opt.elf_path) {
        usage(stderr, argv[0]);
        return 2;
    }
    if (emu_configure(&opt) != 0)
        return 2;
    rest[n] = NULL;
    return fb_sim_server_main(n, rest);
}
