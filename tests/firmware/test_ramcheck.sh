#!/bin/sh
# tools/ramcheck.py must fail on firmware that breaks the SRAM rule. Builds one
# deliberately broken variant per kind (cmake -DFB_RAMCHECK_BREAK=<kind>, see
# firmware/port/stm32f103/ramcheck_break.h), runs the checker on each and requires
# a failure that names the offending function or table.
#   tests/firmware/test_ramcheck.sh [BUILD_DIR]     (run by `make firmware-check`)
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$root/build}
case $build in /*) ;; *) build=$root/$build ;; esac
python=/usr/bin/python3
status=0

# kind | text the checker's report must contain
cases='callee|call/branch to i2c_end at
veneer|linker veneers present (a call across flash/SRAM without long_call): __i2c_end_veneer
const|<break_table> loaded at
vtor|Reset_Handler never writes VTOR = fb_vectors_ram
iflash|iflash_begin: call/branch to iflash_wait_idle at'

echo "$cases" | while IFS='|' read -r kind expect; do
    dir=$build/stm32f103-break-$kind
    cmake -S "$root/firmware/port/stm32f103" -B "$dir" -G Ninja \
        -DCMAKE_TOOLCHAIN_FILE="$root/cmake/arm-none-eabi.cmake" \
        -DFB_BOARD=bluepill -DFB_RAMCHECK_BREAK="$kind" >/dev/null
    cmake --build "$dir" >"$dir/build.log" 2>&1 || { cat "$dir/build.log"; exit 1; }
    if "$python" "$root/tools/ramcheck.py" "$dir/flashbridge.elf" >"$dir/ramcheck.txt" 2>&1; then
        echo "FAIL  $kind: the checker passed a broken build ($dir/ramcheck.txt)"
        exit 1
    fi
    if ! grep -qF -- "$expect" "$dir/ramcheck.txt"; then
        echo "FAIL  $kind: the checker failed, but without naming the problem:"
        sed -n '/^FAIL/,$p' "$dir/ramcheck.txt"
        exit 1
    fi
    first=$(grep -F -m1 -- "$expect" "$dir/ramcheck.txt" | sed 's/^ *//')
    echo "ok    $kind: checker fails: $first"
done || status=1

[ $status -eq 0 ] && echo "ramcheck broken-build test: all variants rejected"
exit $status
