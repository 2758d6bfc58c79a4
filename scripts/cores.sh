#!/usr/bin/env bash
# What two cores of this machine give at the moment: BIN ARGS alone on
# core 0, alone on core 1, then two copies at once (one on each core).
# Two independent copies share nothing in our code, so the speed-up they
# reach, (alone₀ + alone₁) / max(together₀, together₁), bounds what any
# two-thread run of the same work can reach here (shared caches, memory,
# and how the host schedules the VM's two cores). Compare a measured
# two-thread speed-up with this bound, taken in the same minutes.
#
#   scripts/cores.sh [-n ROUNDS] BIN -- ARGS...
#
# ARGS should run on one thread (e.g. `run --runs 200 --threads 1 --tables
# runs --quiet --force --out /tmp/c`); `--out DIR` becomes DIR.0 and DIR.1,
# one per core. Prints each round's times and the bound; exits 2 on bad usage.
set -euo pipefail

usage() {
    echo "usage: scripts/cores.sh [-n ROUNDS] BIN -- ARGS..." >&2
    exit 2
}

rounds=2
if [[ ${1:-} == -n ]]; then
    [[ ${2:-} =~ ^[1-9][0-9]*$ ]] || usage
    rounds=$2
    shift 2
fi
[[ $# -ge 2 && $2 == -- ]] || usage
bin=$1
shift 2
[[ -x $bin ]] || { echo "scripts/cores.sh: $bin is not an executable file" >&2; exit 2; }
command -v taskset > /dev/null || { echo "scripts/cores.sh: taskset (util-linux) is needed" >&2; exit 2; }
[[ $(nproc) -ge 2 ]] || { echo "scripts/cores.sh: needs two cores" >&2; exit 2; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Wall seconds of BIN on core CORE, into $tmp/CORE.
timed() {
    local core=$1 prev="" x t0 t1
    shift
    local -a argv=()
    for x in "$@"; do
        if [[ $prev == --out ]]; then argv+=("$x.$core"); else argv+=("$x"); fi
        prev=$x
    done
    t0=$(date +%s.%N)
    taskset -c "$core" "$bin" "${argv[@]}" > "$tmp/$core.log" 2>&1 ||
        { echo "scripts/cores.sh: $bin failed on core $core:" >&2; tail -5 "$tmp/$core.log" >&2; exit 1; }
    t1=$(date +%s.%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }' > "$tmp/$core"
}

for ((i = 1; i <= rounds; i++)); do
    timed 0 "$@"
    a0=$(cat "$tmp/0")
    timed 1 "$@"
    a1=$(cat "$tmp/1")
    timed 0 "$@" &
    p0=$!
    timed 1 "$@" &
    p1=$!
    wait "$p0"
    wait "$p1"
    t0=$(cat "$tmp/0") t1=$(cat "$tmp/1")
    awk -v a0="$a0" -v a1="$a1" -v t0="$t0" -v t1="$t1" -v i="$i" 'BEGIN {
        m = t0 > t1 ? t0 : t1
        printf "round %d: alone %.2f s (core 0) %.2f s (core 1); together %.2f s (core 0) %.2f s (core 1); two cores give %.2fx\n",
            i, a0, a1, t0, t1, (a0 + a1) / m
    }'
done
