#!/bin/sh
# flashbridge-msc against a fake device (fake_usb_device.py, written from USB 2.0 ch. 9
# and BOT 1.0, not from the firmware): a correct device is read whole (the image checked
# block by block); awkward ones (NAKs, a STALLed data stage with NOT READY, a unit
# attention mid-read, NOT READY at first) are coped with; broken descriptors make it
# fail with a message naming the field; a device that NAKs a control request past 5 s or
# a SCSI command past 30 s (Linux's timeouts) fails it.
# test_msc_checks.sh MSC
set -eu
msc=$1
here=$(dirname "$0")
dir=$(mktemp -d /tmp/fb-msc-checks-XXXXXX)
dev_pid=
trap '[ -n "$dev_pid" ] && kill "$dev_pid" 2>/dev/null; rm -rf "$dir"' EXIT INT TERM
fails=0

run() { # defect -> msc exit status; output in $dir/out
    rm -f "$dir/dev.log" "$dir/s.sock"
    /usr/bin/python3 "$here/fake_usb_device.py" "$dir/s.sock" ${1:+--defect "$1"} >"$dir/dev.log" 2>&1 &
    dev_pid=$!
    until grep -q listening "$dir/dev.log" 2>/dev/null; do sleep 0.02; done
    rc=0
    "$msc" --sim "$dir/s.sock" --image "$dir/img" -v >"$dir/out" 2>&1 || rc=$?
    kill "$dev_pid" 2>/dev/null || true
    wait "$dev_pid" 2>/dev/null || true
    dev_pid=
    return "$rc"
}

expect_image() { # defect what-to-see-in-the-log
    if ! run "$1"; then
        echo "FAIL [$1]: flashbridge-msc failed"; sed 's/^/    /' "$dir/out"; fails=$((fails + 1)); return
    fi
    /usr/bin/python3 -c "
import sys
d = open('$dir/img', 'rb').read()
want = b''.join(bytes(((l * 7 + i) & 0xFF) for i in range(512)) for l in range(64))
sys.exit(0 if d == want else 1)" || { echo "FAIL [$1]: image differs"; fails=$((fails + 1)); return; }
    if [ -n "$2" ] && ! grep -q "$2" "$dir/out"; then
        echo "FAIL [$1]: log lacks \"$2\""; sed 's/^/    /' "$dir/out"; fails=$((fails + 1)); return
    fi
    echo "ok   [${1:-none}]: image exact${2:+, log shows \"$2\"}"
}

expect_fail() { # defect message-part
    if run "$1"; then
        echo "FAIL [$1]: flashbridge-msc accepted the device"; fails=$((fails + 1)); return
    fi
    if ! grep -q "$2" "$dir/out"; then
        echo "FAIL [$1]: message lacks \"$2\":"; sed 's/^/    /' "$dir/out"; fails=$((fails + 1)); return
    fi
    echo "ok   [$1]: $(grep 'flashbridge-msc' "$dir/out" | head -1)"
}

expect_image "" "READ(10)"
expect_image nak ""
expect_image stall-data "CLEAR_FEATURE(ENDPOINT_HALT) 0x81"
expect_image ua "UNIT ATTENTION 06/28/00"
expect_image busy "sense 02/04/01"
expect_fail dev-blength "bLength 17"
expect_fail mps0 "bMaxPacketSize0 12"
expect_fail no-serial "iSerialNumber 0"
expect_fail serial-chars "is not 0-9 or A-F"
expect_fail class "class 08 subclass 02"
expect_fail ep-size "wMaxPacketSize 100"
expect_fail ep-type "bmAttributes 0x03"
expect_fail total "wTotalLength"
expect_fail attributes "bmAttributes 0x40"
expect_fail hang-ctl "5 s control request"
expect_fail hang-bulk "30 s SCSI command"
[ "$fails" -eq 0 ] || { echo "$fails case(s) failed"; exit 1; }
echo "all cases passed"
