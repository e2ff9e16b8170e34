#!/bin/sh
# A board server for the benches with the USB busy: flashbridge-emu on the Blue Pill ELF,
# plus flashbridge-msc reading the whole USB volume again and again on the same socket
# for as long as the server runs. The bench's I2C requests take turns with the USB
# reader's (each at most 50 us of NAK retries), so the figures are those of a board
# whose USB drive is being read.
#   FB_EMU FB_ELF FB_MSC: the emulator, the firmware ELF, flashbridge-msc
#   make bench LATENCY_ARGS="--server emu-usb=tests/emu/flashbridge-emu-usb-reader.sh"
# Arguments: the server's (--socket PATH --bus-khz N ...), passed on to the emulator.
set -eu
emu=${FB_EMU:-build/host/bin/flashbridge-emu}
elf=${FB_ELF:-build/stm32f103/flashbridge.elf}
msc=${FB_MSC:-build/host/bin/flashbridge-msc}
sock=
prev=
for a in "$@"; do
    [ "$prev" = --socket ] && sock=$a
    prev=$a
done
[ -n "$sock" ] || { echo "flashbridge-emu-usb-reader: no --socket" >&2; exit 2; }
# The reader waits for the socket, then reads until the server is gone (a read that
# fails ends the loop); the emulator replaces this shell, so the caller's SIGTERM and
# its "listening" line are the emulator's own.
(
    while [ ! -S "$sock" ]; do sleep 0.02; done
    img=$(mktemp /tmp/fb-usb-reader-img-XXXXXX)
    while "$msc" --sim "$sock" --image "$img" --nak-retry-us 50 --max-restarts 1000 \
        >/dev/null 2>&1; do :; done
    rm -f "$img"
) &
exec "$emu" "$elf" --stats "$@"
