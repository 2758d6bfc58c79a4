#!/usr/bin/env bash
# Time two builds side by side: each pair runs A and B at the same moment,
# one pinned to each core (taskset), sides swapped from pair to pair, so
# that both see the same machine. This VM's speed drifts by 10–20% within
# minutes, which alternated runs mistake for effects (docs/performance.md).
#
#   scripts/ab.sh [-n PAIRS] BIN_A BIN_B -- ARGS... [--vs ARGS_B...]
#
# ARGS are given to both binaries; they should run on one thread (e.g.
# `run --runs 200 --threads 1 --tables runs --quiet`). With `--vs`, side B
# gets ARGS_B instead: two commands of one build side by side, e.g. one
# `--scale 200` run against 200 runs (issue 11's cost per firm-step). Each
# side gets its own `--out` directory when its arguments contain `--out
# DIR` (DIR.a, DIR.b).
# Prints each pair's wall times and the sums; exits 2 on bad usage.
set -euo pipefail

usage() {
    echo "usage: scripts/ab.sh [-n PAIRS] BIN_A BIN_B -- ARGS... [--vs ARGS_B...]" >&2
    exit 2
}

pairs=4
if [[ ${1:-} == -n ]]; then
    [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage
    pairs=$2
    shift 2
fi
[[ $# -ge 3 && $3 == -- ]] || usage
a=$1 b=$2
shift 3
for bin in "$a" "$b"; do
    [[ -x $bin ]] || { echo "scripts/ab.sh: $bin is not an executable file" >&2; exit 2; }
done
# Side A's arguments, and side B's (the same unless `--vs` splits them).
args_a=() args_b=() vs=0
for x in "$@"; do
    if [[ $x == --vs && $vs == 0 ]]; then vs=1; continue; fi
    if [[ $vs == 0 ]]; then args_a+=("$x"); else args_b+=("$x"); fi
done
[[ ${#args_a[@]} -gt 0 ]] || usage
if [[ $vs == 0 ]]; then args_b=("${args_a[@]}"); fi
[[ ${#args_b[@]} -gt 0 ]] || usage
command -v taskset > /dev/null || { echo "scripts/ab.sh: taskset (util-linux) is needed" >&2; exit 2; }
[[ $(nproc) -ge 2 ]] || { echo "scripts/ab.sh: needs two cores" >&2; exit 2; }

# ARGS with `--out DIR` replaced by `--out DIR.<side>`.
args_for() {
    local side=$1 prev=""
    shift
    for x in "$@"; do
        if [[ $prev == --out ]]; then printf '%s\0' "$x.$side"; else printf '%s\0' "$x"; fi
        prev=$x
    done
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Wall seconds of BIN (side SIDE) on core CORE, into $tmp/SIDE.
timed() {
    local side=$1 core=$2 bin=$3
    shift 3
    local -a argv
    mapfile -d '' argv < <(args_for "$side" "$@")
    local t0 t1
    t0=$(date +%s.%N)
    taskset -c "$core" "$bin" "${argv[@]}" > "$tmp/$side.log" 2>&1 ||
        { echo "scripts/ab.sh: $bin failed (side $side):" >&2; tail -5 "$tmp/$side.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }' > "$tmp/$side"
}

sum_a=0 sum_b=0
for ((i = 1; i <= pairs; i++)); do
    # Sides swap cores each pair.
    ca=$(( (i + 1) % 2 )) cb=$(( i % 2 ))
    timed a "$ca" "$a" "${args_a[@]}" &
    pa=$!
    timed b "$cb" "$b" "${args_b[@]}" &
    pb=$!
    wait "$pa"
    wait "$pb"
    ta=$(cat "$tmp/a") tb=$(cat "$tmp/b")
    printf 'pair %d: A %.2f s (core %d)  B %.2f s (core %d)\n' "$i" "$ta" "$ca" "$tb" "$cb"
    sum_a=$(awk -v s="$sum_a" -v t="$ta" 'BEGIN { print s + t }')
    sum_b=$(awk -v s="$sum_b" -v t="$tb" 'BEGIN { print s + t }')
done
awk -v a="$sum_a" -v b="$sum_b" 'BEGIN { printf "sum: A %.2f s  B %.2f s  B/A %.4f\n", a, b, b / a }'
