#!/bin/sh
# The stall detector must catch firmware that breaks the SRAM rule: builds the
# deliberately broken variants of firmware/port/stm32f103/ramcheck_break.h
# (cmake -DFB_RAMCHECK_BREAK=<kind>) and runs each on the emulator with I2C traffic
# during internal-flash work; each must stall, at the site named below.
#   test_stall_break.sh ROOT BUILD_PREFIX EMU_STALL_CHECK
set -eu
root=$1
prefix=$2
check=$3
status=0

# kind | what the stall report must name
cases='callee|i2c_end
veneer|i2c_end
const|i2c_service
vtor|fb_vectors_flash
iflash|iflash_wait_idle'

for line in $cases; do
    kind=${line%%|*}
    expect=${line#*|}
    dir=$prefix-$kind
    if ! cmake -S "$root/firmware/port/stm32f103" -B "$dir" -G Ninja \
            -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi.cmake" \
            -DFB_BOARD=bluepill -DFB_RAMCHECK_BREAK="$kind" >"$dir.log" 2>&1 ||
       ! cmake --build "$dir" >>"$dir.log" 2>&1; then
        cat "$dir.log"
        exit 1
    fi
    if "$check" "$dir/flashbridge.elf" bluepill "$expect" >"$dir/stall.txt" 2>&1; then
        echo "ok    $kind: $(grep -m1 'STALL:' "$dir/stall.txt" | sed 's/^flashbridge-emu: //')"
    else
        echo "FAIL  $kind: no stall naming $expect"
        cat "$dir/stall.txt"
        status=1
    fi
done
exit $status
