#!/bin/sh
# USB end to end on the emulated Blue Pill: the real firmware ELF on flashbridge-emu,
# flashbridge-msc enumerating it and reading the whole volume into an image through
# bulk-only transport, then the image checked as a PC would see it:
#   fsck.fat -n        no error (dosfstools)
#   mdir               the volume's files, the data file with its exact size (mtools)
#   mcopy              the data file's bytes = `flashbridge file get`, CONFIG.BIN = the
#                      config zone (`flashbridge config read`)
#
# test_usb_e2e.sh CASE EMU ELF MSC CLI SIM
#   CASE  empty    an empty data file (cleared by flashbridge-sim, whose core writes the
#                  same flash format, with the blank chip's background check done); the
#                  bus suspended for 50 ms after enumeration (the device must wake up);
#                  commands PCs send besides (READ FORMAT CAPACITIES, MODE SENSE(10),
#                  WRITE(10): DATA PROTECT ...) before the volume is read
#         ff1m     a 1 MiB file of 0xFF bytes (written, and read back with file get, by
#                  flashbridge-sim on the same flash images, whose core writes the same
#                  format, because 1 MiB over the emulated I2C takes minutes; the
#                  emulated firmware mounts the file and serves it on USB)
#         growing  a blank chip, and a file that grows over I2C (a second client on
#                  the same socket) while flashbridge-msc reads and the firmware checks
#                  the chip in the background: the image's file must be a prefix of the
#                  final file and fsck clean
# Prints each step's wall time. dosfstools and mtools come from `make deps`.
set -eu
case_=$1 emu=$2 elf=$3 msc=$4 cli=$5 sim=$6
fsck=$(command -v fsck.fat || echo /usr/sbin/fsck.fat)
for t in "$fsck" mdir mcopy; do
    command -v "$t" >/dev/null 2>&1 || [ -x "$t" ] || {
        echo "test_usb_e2e: $t missing (make deps installs dosfstools and mtools)" >&2; exit 1; }
done
[ -f "$elf" ] || { echo "test_usb_e2e: firmware ELF missing: $elf (make firmware)" >&2; exit 1; }
export MTOOLS_SKIP_CHECK=1
dir=$(mktemp -d /tmp/fb-usb-e2e-XXXXXX)
emu_pid=
cleanup() {
    [ -n "$emu_pid" ] && kill "$emu_pid" 2>/dev/null || true
    [ -n "${grow_pid:-}" ] && kill "$grow_pid" 2>/dev/null || true
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM
sock=$dir/fb.sock
t0=$(date +%s.%N)
step() {
    printf '[%6.1f s] %s\n' "$(awk -v a="$(date +%s.%N)" -v b="$t0" 'BEGIN { print a - b }')" "$*"
}
fail() {
    echo "test_usb_e2e($case_): FAIL: $*" >&2
    [ -f "$dir/emu.log" ] && sed 's/^/  emu: /' "$dir/emu.log" >&2
    exit 1
}

# Start a server ($1 = its program and options) on $sock; waits for "listening".
start() {
    rm -f "$dir/emu.log"
    "$@" --socket "$sock" --flash-image "$dir/w25q64.img" \
         --config-image "$dir/stm32f103.img" --bus-khz 400 >"$dir/emu.log" 2>&1 &
    emu_pid=$!
    i=0
    until grep -q listening "$dir/emu.log" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -le 400 ] && kill -0 "$emu_pid" 2>/dev/null || fail "server did not start"
        sleep 0.05
    done
}
stop() {
    kill -TERM "$emu_pid"
    wait "$emu_pid" 2>/dev/null || true
    emu_pid=
}
fb() {
    "$cli" -q --sim "$sock" "$@"
}

# The image as a PC sees it; $1 = the data file's expected content.
check_image() {
    img=$1 want=$2
    out=$("$fsck" -n "$img" 2>&1) || fail "fsck.fat -n: $out"
    echo "$out" | sed 's/^/  fsck: /'
    list=$(mdir -i "$img" :: 2>&1) || fail "mdir: $list"
    echo "$list" | sed 's/^/  mdir: /'
    name=$(fb file name | tr -d ' \r\n')
    # mdir shows 8.3 names as "NAME     EXT"; mcopy wants NAME.EXT
    mcopy -n -i "$img" "::$name" "$dir/got.bin" 2>"$dir/mcopy.err" ||
        fail "mcopy ::$name: $(cat "$dir/mcopy.err")"
    mcopy -n -i "$img" ::CONFIG.BIN "$dir/config.bin" || fail "mcopy ::CONFIG.BIN"
    fb config read --out "$dir/config.ref"
    cmp -s "$dir/config.bin" "$dir/config.ref" || fail "CONFIG.BIN differs from config read"
    mcopy -n -i "$img" ::INFO.TXT "$dir/info.txt" || fail "mcopy ::INFO.TXT"
    sed 's/^/  INFO.TXT: /' "$dir/info.txt"
    echo "$list" | grep -q "$(echo "$name" | cut -d. -f1)" || fail "mdir does not list $name"
    if [ "$case_" = growing ]; then
        gs=$(wc -c <"$dir/got.bin")
        [ "$gs" -le "$(wc -c <"$want")" ] || fail "image's file ($gs B) longer than the final file"
        head -c "$gs" "$want" | cmp -s - "$dir/got.bin" ||
            fail "the image's file ($gs B) is not a prefix of the final file"
        step "image's $name: $gs bytes, a prefix of the final $(wc -c <"$want") bytes"
    else
        cmp -s "$dir/got.bin" "$want" ||
            fail "the image's $name ($(wc -c <"$dir/got.bin") B) differs from file get ($(wc -c <"$want") B)"
        step "image's $name = file get ($(wc -c <"$want") bytes); CONFIG.BIN = config read"
    fi
}

read_volume() {
    step "flashbridge-msc $*"
    "$msc" --sim "$sock" --image "$dir/vol.img" -v "$@" >"$dir/msc.log" 2>&1 ||
        { cat "$dir/msc.log" >&2; fail "flashbridge-msc failed"; }
    grep -v '^\[' "$dir/msc.log" | sed 's/^/  msc: /'
    grep -c 'SCSI' "$dir/msc.log" | sed 's/^/  SCSI commands logged: /'
}

# Virtual time on the server: WAIT ns (the firmware works meanwhile).
wait_virtual() {
    /usr/bin/python3 -c "
import socket, struct, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1])
s.sendall(struct.pack('>BHQ', 2, 8, int(sys.argv[2])))
assert s.recv(4, socket.MSG_WAITALL)[1] == 0 and len(s.recv(8, socket.MSG_WAITALL)) == 8
" "$sock" "$1"
}

case $case_ in
empty)
    # A blank W25Q64 is checked page by page in the background after the first
    # power-up (13 s, docs/EMULATOR.md); flashbridge-sim does that part, faster.
    start "$sim"
    fb file clear
    wait_virtual 20000000000
    fb status | grep -q erasing && fail "the background check did not end in 20 s"
    stop
    step "data file cleared, background check done (flashbridge-sim)"
    start "$emu" "$elf" --stats ${FB_EMU_EXTRA:-}
    step "firmware booted"
    # A PC's autosuspend between enumeration and the first command: the device suspends
    # (no SOF) and must wake up on the resume.
    # And the commands PCs send besides the essential ones (refused or answered, the
    # device must go on working).
    read_volume --suspend-ms 50 --extra-commands
    grep -q 'bus suspended 50 ms' "$dir/msc.log" || fail "no suspend in the session"
    grep -q '^WRITE(10): check condition, sense 07/27/00' "$dir/msc.log" ||
        fail "WRITE(10) not refused as write protected"
    fb file get --out "$dir/want.bin"
    check_image "$dir/vol.img" "$dir/want.bin"
    stop
    ;;
ff1m)
    start "$sim"
    head -c 1048576 /dev/zero | tr '\0' '\377' >"$dir/ff.bin"
    fb file clear
    fb file put "$dir/ff.bin"
    stop
    step "1 MiB of 0xFF written (flashbridge-sim)"
    start "$emu" "$elf" --stats ${FB_EMU_EXTRA:-}
    step "firmware booted on that flash"
    [ "$(fb file size)" = 1048576 ] || fail "file size $(fb file size) after the emulated boot"
    read_volume
    stop
    cp "$dir/emu.log" "$dir/emu-run.log"
    # 1 MiB back over the emulated I2C would take ~25 s of virtual time (minutes of wall
    # time); the images the emulated firmware leaves are read with flashbridge-sim.
    start "$sim"
    fb file get --out "$dir/want.bin"
    cmp -s "$dir/want.bin" "$dir/ff.bin" || fail "file get differs from what was put"
    check_image "$dir/vol.img" "$dir/want.bin"
    stop
    cp "$dir/emu-run.log" "$dir/emu.log"
    ;;
growing)
    start "$emu" "$elf" --stats ${FB_EMU_EXTRA:-}
    step "firmware booted"
    fb file clear
    i=0
    : >"$dir/sent.bin"
    # The appender: 20 records of 100 bytes, one every 100 ms of its own (virtual) time,
    # as a second client while flashbridge-msc reads.
    (
        while [ "$i" -lt 20 ]; do
            printf 'record %04d %0*d\n' "$i" 88 0 >"$dir/rec.bin"
            "$cli" -q --sim "$sock" file put "$dir/rec.bin" || exit 1
            cat "$dir/rec.bin" >>"$dir/sent.bin"
            i=$((i + 1))
        done
    ) &
    grow_pid=$!
    read_volume
    wait "$grow_pid" || fail "the I2C appender failed"
    grow_pid=
    fb file get --out "$dir/want.bin"
    cmp -s "$dir/want.bin" "$dir/sent.bin" || fail "file get differs from what was appended"
    grep -q 'UNIT ATTENTION' "$dir/msc.log" && step "a medium change was reported and the read restarted"
    check_image "$dir/vol.img" "$dir/want.bin"
    stop
    ;;
*)
    echo "usage: test_usb_e2e.sh empty|ff1m|growing EMU ELF MSC CLI SIM" >&2
    exit 2
    ;;
esac
sed 's/^/  emu: /' "$dir/emu.log" | grep -E 'instructions|USB:|I2C latency|stalls|violations' || true
step "PASS ($case_)"
