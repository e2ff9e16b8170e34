#!/bin/sh
# cppcheck and clang-tidy over the STM32F103 port, for both boards (make firmware-lint).
# clang does not know GCC's long_call attribute (-Wno-unknown-attributes), and the
# C11 Annex K "use memcpy_s" advice does not apply to newlib.
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
port=$root/firmware/port/stm32f103
inc="-I$port -I$root/firmware/core -I$root/firmware/hal -I$root/firmware/drivers -I$root/include -I$root/firmware/usb -I$root/firmware/msc"
# The USB drive's portable files, built into the Blue Pill image only (FB_USB).
usb="$root/firmware/usb/usbd.c $root/firmware/msc/msc_usb.c $root/firmware/msc/usb_drive.c"
status=0
for board in BLUEPILL STEAMI; do
    if [ $board = BLUEPILL ]; then fb_usb=1; files="$port/*.c $usb"; else fb_usb=0; files="$port/*.c"; fi
    defs="-DFB_TARGET_STM32 -DFB_BOARD_$board -DFB_USB=$fb_usb"
    # shellcheck disable=SC2086
    cppcheck --enable=warning,style,performance,portability --std=c11 --quiet \
        --error-exitcode=1 $defs $inc $files || status=1
    for f in $files; do
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
