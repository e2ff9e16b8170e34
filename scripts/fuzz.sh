#!/bin/sh
# Bounded libFuzzer run: fuzz.sh BINARY RUNS. Prints the executions done.
set -eu
bin=$1
runs=$2
corpus=$(mktemp -d)
trap 'rm -rf "$corpus"' EXIT
/usr/bin/python3 "$(dirname "$0")/../fuzz/make_seeds.py" "$corpus"
# Inputs that once found a bug run first, every time.
"$bin" "$(dirname "$0")"/../fuzz/regressions/* 2>"$corpus.log" || { tail -n 30 "$corpus.log" >&2; exit 1; }
"$bin" -runs="$runs" -max_total_time=240 -max_len=4096 -print_final_stats=1 \
    "$corpus" 2>"$corpus.log" || { tail -n 60 "$corpus.log" >&2; exit 1; }
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$corpus.log")
cov=$(sed -n 's/^#.*DONE *cov: \([0-9]*\).*/\1/p' "$corpus.log" | tail -n 1)
echo "fuzz: $execs executions of $(basename "$bin"), coverage $cov edges, no crash"
rm -f "$corpus.log"
