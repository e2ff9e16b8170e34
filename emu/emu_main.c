/*
 * flashbridge-emu ELF [--board bluepill|steami] [--trace FILE.vcd] [--stats]
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
