#!/bin/sh
# cppcheck and clang-tidy over the STM32F103 port, for both boards (make firmware-lint).
# clang does not know GCC's long_call attribute (-Wno-unknown-attributes), and the
# C11 Annex K "use memcpy_s" advice does not apply to newlib.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
port=$root/firmware/port/stm32f103
inc="-I$port -I$root/firmware/core -I$root/firmware/hal -I$root/firmware/drivers -I$root/include"
status=0
for board in BLUEPILL STEAMI; do
    defs="-DFB_TARGET_STM32 -DFB_BOARD_$board"
    # shellcheck disable=SC2086
    cppcheck --enable=warning,style,performance,portability --std=c11 --quiet \
        --error-exitcode=1 $defs $inc "$port"/*.c || status=1
    for f in "$port"/*.c; do
        # shellcheck disable=SC2086
        out=$(clang-tidy --quiet \
            -checks=-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling \
            "$f" -- --target=arm-none-eabi -mcpu=cortex-m3 -mthumb -std=gnu11 \
            -isystem /usr/lib/arm-none-eabi/include -Wno-unknown-attributes \
            $defs $inc 2>&1 | grep -v "warnings\? generated" || true)
        if [ -n "$out" ]; then
            echo "$out"
            status=1
        fi
    done
done
[ $status -eq 0 ] && echo "firmware lint: cppcheck and clang-tidy quiet"
exit $status
