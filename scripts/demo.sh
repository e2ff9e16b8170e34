#!/bin/sh
# `make run`: start the board, drive a short session through the CLI, stop it.
# demo.sh BUILD [ELF]: with a firmware ELF, the board is flashbridge-emu running that
# binary on the emulated STM32F103; without, flashbridge-sim running the core.
# The flash images live in BUILD/demo and persist between runs, as on a real board.
set -eu
build=${1:-build/host}
elf=${2:-}
cli="$build/bin/flashbridge"
state="$build/demo"
mkdir -p "$state"
sock="$state/fb.sock"

# The previous run's log says "listening" too: without this, the wait below can see it
# before the new simulator's redirection has truncated the file.
rm -f "$state/sim.log"
if [ -n "$elf" ]; then
    set -- "$build/bin/flashbridge-emu" "$elf"
    board="the emulated STM32F103 running $elf"
else
    set -- "$build/bin/flashbridge-sim"
    board="the simulated board"
fi
"$@" --socket "$sock" --flash-image "$state/w25q64.img" \
     --config-image "$state/stm32f103-flash.img" >"$state/sim.log" 2>&1 &
sim_pid=$!
trap 'kill "$sim_pid" 2>/dev/null || true' EXIT INT TERM
i=0
until grep -q "listening" "$state/sim.log" 2>/dev/null; do
    i=$((i + 1))
    if [ "$i" -gt 100 ] || ! kill -0 "$sim_pid" 2>/dev/null; then
        echo "demo: the board did not start:" >&2
        cat "$state/sim.log" >&2
        exit 1
    fi
    sleep 0.05
done

fb() {
    echo "\$ flashbridge $*"
    "$cli" --sim "$sock" "$@"
}

echo "== flashbridge demo on $board (virtual time, images in $state)"
fb info
cfg='{"board":"demo","rev":3}'
fb config write 0 --text "$cfg"
# The zone is 1 KiB and erased (0xFF) past the text: 0xFF is never a byte of UTF-8
# text, so dropping those bytes shows the text and keeps raw bytes off the terminal.
printf '%s\n' "\$ flashbridge config read | tr -d '\\377'"
shown=$("$cli" --sim "$sock" config read | LC_ALL=C tr -d '\377')
printf '%s\n' "$shown"
if [ "$shown" != "$cfg" ]; then
    echo "demo: the config zone holds something else than what was written" >&2
    exit 1
fi
fb file clear
fb file name LOG.CSV
log="$state/log.csv"
{
    echo "t_ms,temp_c,humidity"
    t=0
    while [ "$t" -lt 20 ]; do
        echo "$((t * 500)),$((21 + t % 3)).$((t * 7 % 10)),$((40 + t))"
        t=$((t + 1))
    done
} >"$log"
fb file put "$log"
fb file size
fb file get
fb status
if "$cli" --sim "$sock" file get | cmp -s - "$log"; then
    echo "== read back matches what was written ($(wc -c <"$log") bytes)"
else
    echo "demo: read back differs from what was written" >&2
    exit 1
fi
if [ -n "$elf" ]; then
    # The Blue Pill as a USB drive: flashbridge-msc plays the PC on the emulated USB bus
    # (enumeration, bulk-only transport, the whole volume read into an image), and mtools
    # lists the files a PC would see.
    echo "== the USB drive (flashbridge-msc reads the volume; ~20 s of virtual time)"
    echo "\$ flashbridge-msc --sim $sock --image $state/volume.img"
    "$build/bin/flashbridge-msc" --sim "$sock" --image "$state/volume.img"
    echo "\$ mdir -i $state/volume.img ::"
    MTOOLS_SKIP_CHECK=1 mdir -i "$state/volume.img" ::
    if MTOOLS_SKIP_CHECK=1 mtype -i "$state/volume.img" ::LOG.CSV | cmp -s - "$log"; then
        echo "== LOG.CSV on the USB drive matches what was written"
    else
        echo "demo: LOG.CSV on the USB drive differs from what was written" >&2
        exit 1
    fi
fi
kill -TERM "$sim_pid"
wait "$sim_pid" 2>/dev/null || true
trap - EXIT INT TERM
echo "== board stopped"
