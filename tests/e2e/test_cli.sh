#!/bin/sh
# CLI end to end: flashbridge against flashbridge-sim, checking output and exit codes.
# usage: test_cli.sh FLASHBRIDGE_SIM FLASHBRIDGE
set -u
sim=$1
cli=$2
dir=$(mktemp -d /tmp/fb-cli-XXXXXX)
sock="$dir/sim.sock"
pass=0
fail=0

start_sim() {
    # A restart must not find the previous run's "listening" line: the new process's
    # redirection may truncate the file only after the wait below has started.
    rm -f "$dir/sim.out"
    "$sim" --socket "$sock" --flash-image "$dir/flash.img" --config-image "$dir/cfg.img" \
        >"$dir/sim.out" 2>"$dir/sim.err" &
    sim_pid=$!
    i=0
    until grep -q listening "$dir/sim.out" 2>/dev/null; do
        i=$((i + 1))
        [ "$i" -lt 200 ] || { echo "sim did not start"; cat "$dir/sim.err"; exit 1; }
        sleep 0.02
    done
}
stop_sim() {
    kill -TERM "$sim_pid" 2>/dev/null
    wait "$sim_pid" 2>/dev/null
}
cleanup() {
    stop_sim
    rm -rf "$dir"
}
trap cleanup EXIT

# check NAME EXPECTED_EXIT [grep pattern for stdout+stderr] -- command...
check() {
    name=$1 want=$2 pattern=$3
    shift 3
    out=$("$@" 2>&1)
    got=$?
    if [ "$got" -ne "$want" ]; then
        echo "FAIL $name: exit $got, expected $want"; echo "$out" | sed 's/^/    /'
        fail=$((fail + 1)); return
    fi
    if [ -n "$pattern" ] && ! printf '%s\n' "$out" | grep -qiE "$pattern"; then
        echo "FAIL $name: output does not match /$pattern/"; echo "$out" | sed 's/^/    /'
        fail=$((fail + 1)); return
    fi
    echo "ok   $name"
    pass=$((pass + 1))
}

start_sim
fb="$cli --sim $sock"

check "info" 0 "0x4c" $fb info
check "status idle" 0 "" $fb status
check "config write text" 0 "" $fb config write 0 --text "hello config"
$fb config read --length 12 --out "$dir/cfg.bin"
printf 'hello config' >"$dir/want.bin"
check "config read matches" 0 "" cmp "$dir/cfg.bin" "$dir/want.bin"
check "config write past zone" 2 "" $fb config write 1020 --hex 0102030405
check "config clear" 0 "" $fb config clear
check "file name set" 0 "" $fb file name LOG.CSV
check "file name show" 0 "LOG.CSV" $fb file name
check "file name bad chars" 1 "bad (file)?name" $fb file name 'A*B.CSV'
check "file name too long" 2 "" $fb file name TOOLONGNAME.CSV
check "file name unchanged" 0 "LOG.CSV" $fb file name
# Data with 0xFF bytes, crossing pages and a sector.
head -c 5000 /dev/urandom >"$dir/data.bin"
printf '\377\377\377' >>"$dir/data.bin"
check "file put" 0 "" $fb file put "$dir/data.bin"
check "file size" 0 "^5003$" $fb file size
check "file get" 0 "" $fb file get --out "$dir/back.bin"
check "file round trip" 0 "" cmp "$dir/data.bin" "$dir/back.bin"
printf 'more' | $fb file put - 2>/dev/null
check "file put stdin" 0 "^5007$" $fb file size
check "file clear" 0 "" $fb file clear
check "file size after clear" 0 "^0$" $fb file size
check "usage error" 2 "unknown command" $fb frobnicate
check "wrong address" 3 "" $cli --sim "$sock" --addr 0x3c info
check "no simulator" 3 "" $cli --sim "$dir/nothing.sock" info
# Persistence across a restart of the board.
$fb config write 0 --text "persist" >/dev/null 2>&1
stop_sim
start_sim
$fb config read --length 7 --out "$dir/p.bin"
printf 'persist' >"$dir/pwant.bin"
check "config persists" 0 "" cmp "$dir/p.bin" "$dir/pwant.bin"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
