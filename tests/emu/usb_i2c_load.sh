#!/bin/sh
# I2C first, with USB active: the same I2C workload on the emulated Blue Pill twice,
# alone and while flashbridge-msc reads the whole USB volume, and the emulator's figures
# of each run (--stats): worst and mean I2C interrupt latency (event to handler entry),
# clock stretching, internal-flash operations and stalls (an instruction or vector fetch
# from the flash while it erases or programs), driver violations.
#
# usb_i2c_load.sh EMU ELF MSC CLI   (by hand; ~1-2 min; not in ctest)
#
# The workload, as a second client: 40 config writes (internal-flash journal programs,
# and the page erases of its compactions), 16 appends of 4 KiB to the data file with
# STATUS polled by the CLI, a file read back.
set -eu
emu=$1 elf=$2 msc=$3 cli=$4
dir=$(mktemp -d /tmp/fb-usb-load-XXXXXX)
emu_pid=
trap '[ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
sock=$dir/fb.sock
head -c 4096 /dev/urandom >"$dir/chunk.bin"

run() { # $1 = with-usb|alone
    rm -f "$dir"/*.img "$dir/emu.log"
    "$emu" "$elf" --stats --socket "$sock" --flash-image "$dir/w.img" \
        --config-image "$dir/c.img" --bus-khz 400 >"$dir/emu.log" 2>&1 &
    emu_pid=$!
    until grep -q listening "$dir/emu.log" 2>/dev/null; do sleep 0.05; done
    "$cli" -q --sim "$sock" file clear
    msc_pid=
    if [ "$1" = with-usb ]; then
        "$msc" --sim "$sock" --image "$dir/vol.img" >"$dir/msc.log" 2>&1 &
        msc_pid=$!
    fi
    i=0
    while [ "$i" -lt 40 ]; do
        "$cli" -q --sim "$sock" config write 0 --text "{\"n\":$i,\"pad\":\"$(printf '%0*d' $((i * 7)) 0)\"}"
        if [ $((i % 4)) -eq 0 ] && [ "$i" -lt 64 ]; then
            "$cli" -q --sim "$sock" file put "$dir/chunk.bin"
        fi
        i=$((i + 1))
    done
    j=0
    while [ "$j" -lt 6 ]; do
        "$cli" -q --sim "$sock" file put "$dir/chunk.bin"
        j=$((j + 1))
    done
    "$cli" -q --sim "$sock" file get --out "$dir/got.bin"
    [ "$(wc -c <"$dir/got.bin")" -eq $((16 * 4096)) ] || { echo "file size wrong" >&2; exit 1; }
    if [ -n "$msc_pid" ]; then
        wait "$msc_pid" || { cat "$dir/msc.log" >&2; exit 1; }
        grep '^image' "$dir/msc.log"
    fi
    kill -TERM "$emu_pid"
    wait "$emu_pid" 2>/dev/null || true
    emu_pid=
    echo "== $1"
    grep -E 'time |I2C latency|I2C stretching|USB:|internal flash|stall:|violations' "$dir/emu.log"
}
run alone
run with-usb
