#!/bin/sh
# The emulator's VCD trace is readable by sigrok: run a short session with --trace
# (emu_trace_session), decode it with sigrok-cli's i2c decoder and its spi+spiflash
# stack, and find the bytes the session exchanged on both buses.
#   test_trace_sigrok.sh EMU_TRACE_SESSION FILE.vcd
set -eu
session=$1
vcd=$2
command -v sigrok-cli >/dev/null || { echo "sigrok-cli missing (make deps)"; exit 1; }
"$session" "$vcd"
status=0
i2c=$(sigrok-cli -i "$vcd" -I vcd -P i2c:scl=scl:sda=sda \
      -A i2c=address-read:address-write:data-read:data-write)
spi=$(sigrok-cli -i "$vcd" -I vcd -P spi:clk=sck:mosi=mosi:miso=miso:cs=cs,spiflash -A spiflash)

# One line per byte, as "W 3B" (address write), "w 01" (data write), "R"/"r" for reads.
bytes=$(printf '%s\n' "$i2c" | sed -n 's/.*Address write: /W /p; s/.*Data write: /w /p;
        s/.*Address read: /R /p; s/.*Data read: /r /p' | tr '\n' ' ')
expect() { # name, pattern (extended regexp) in haystack
    if printf '%s\n' "$3" | grep -qE -- "$2"; then
        echo "ok    $1"
    else
        echo "FAIL  $1: /$2/ not found"
        status=1
    fi
}
expect "i2c: WHO_AM_I write, repeated START, 4C read" "W 3B w 01 R 3B r 4C" "$bytes"
expect "i2c: WRITE_DATA frame 11 03 A5 5A C3 00.." "W 3B w 11 w 03 w A5 w 5A w C3 w 00" "$bytes"
expect "spiflash: JEDEC ID EF 40 17 at boot" "Manufacturer ID: 0xef" "$spi"
expect "spiflash: device ID 17" "Device ID: 0x17" "$spi"
expect "spiflash: the three data bytes page-programmed" \
       "Page program \(addr 0x[0-9a-f]+, 3 bytes\): a5 5a c3" "$spi"
[ $status -eq 0 ] || { printf '%s\n' "$bytes" | head -c 2000; echo; }
exit $status
