#!/usr/bin/env bash
# A throw-away single-node Slurm cluster for tests and for trying the job-array
# script on one machine. Everything (munge key and socket, slurm.conf, state,
# spool, logs, PID files) lives under one private directory; nothing is written
# to /etc or /var. The daemons are stopped by the PIDs in their PID files.
#
# Usage:
#   scripts/slurm/local-cluster.sh up DIR     # create DIR, start munged, slurmctld, slurmd,
#                                             # wait until the node is idle, print the env line
#   scripts/slurm/local-cluster.sh down DIR   # cancel its jobs, stop the three daemons by PID
#   scripts/slurm/local-cluster.sh env DIR    # print: export SLURM_CONF=DIR/slurm.conf
#
# Then, in the same shell:
#   eval "$(scripts/slurm/local-cluster.sh env DIR)"
#   sbatch --wait --array=0-3 scripts/slurm/clustersim-array.sbatch configs/small.ron out 8 2021
#
# Needs root (slurmd runs jobs as their user) and Debian's packages slurmctld,
# slurmd, slurm-client and munge. Both daemons listen on 127.0.0.1 only.
# Ports: SLURMCTLD_PORT and SLURMD_PORT if set,
# else the first free pair from 6817/6818 upwards. CLUSTER_WAIT_SECS bounds the
# wait for readiness (default 30). If `up` fails at any point, whatever it had
# started is stopped again (an EXIT trap) and the daemons' log tails are printed.
set -euo pipefail

die() {
    echo "local-cluster: $*" >&2
    exit 1
}

usage() {
    echo "usage: $0 up|down|env DIR" >&2
    exit 2
}

[[ $# -eq 2 ]] || usage
action=$1
dir=$2

# True when something already listens on 127.0.0.1:$1.
port_busy() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Print "<pid>" from a PID file when that process is alive and runs the named
# program (a stale file whose PID was reused by something else is ignored).
live_pid() {
    local file=$1 name=$2 pid comm
    [[ -s $file ]] || return 1
    pid=$(tr -dc '0-9' <"$file")
    [[ -n $pid ]] || return 1
    comm=$(cat "/proc/$pid/comm" 2>/dev/null) || return 1
    [[ $comm == "$name"* ]] || return 1
    echo "$pid"
}

# Stop daemons by their PID files ("file:name" pairs) together: TERM to all,
# wait up to 10 s for all, then KILL whatever is left.
stop_daemons() {
    local pair pid i
    local -a pids=() names=()
    for pair in "$@"; do
        pid=$(live_pid "${pair%%:*}" "${pair##*:}") || continue
        kill -TERM "$pid" 2>/dev/null || continue
        pids+=("$pid")
        names+=("${pair##*:}")
    done
    for ((i = 0; i < 100; i++)); do
        local alive=0
        for pid in "${pids[@]}"; do
            kill -0 "$pid" 2>/dev/null && alive=1
        done
        ((alive)) || return 0
        sleep 0.1
    done
    for i in "${!pids[@]}"; do
        if kill -0 "${pids[i]}" 2>/dev/null; then
            echo "local-cluster: ${names[i]} (pid ${pids[i]}) ignored TERM; sending KILL" >&2
            kill -KILL "${pids[i]}" 2>/dev/null || true
        fi
    done
}

cmd_down() {
    [[ -d $dir ]] || return 0
    if [[ -f $dir/slurm.conf ]] && live_pid "$dir/run/slurmctld.pid" slurmctld >/dev/null; then
        # Jobs of this private cluster only: SLURM_CONF points at it.
        SLURM_CONF=$dir/slurm.conf timeout 5 scancel --quiet --user="$(id -un)" 2>/dev/null || true
    fi
    stop_daemons "$dir/run/slurmd.pid:slurmd" "$dir/run/slurmctld.pid:slurmctld"
    # Last: the Slurm daemons authenticate through munged while they stop.
    stop_daemons "$dir/run/munged.pid:munged"
}

print_logs() {
    local f
    for f in "$dir"/log/*.log; do
        [[ -f $f ]] || continue
        echo "---- tail of $f" >&2
        tail -n 20 "$f" >&2
    done
}

# The EXIT trap of `up`: on failure, show the logs and stop what was started.
on_failed_up() {
    local rc=$?
    if [[ $rc -ne 0 ]]; then
        print_logs
        cmd_down
    fi
}

cmd_up() {
    local tool
    for tool in munged mungekey slurmctld slurmd scontrol sinfo sbatch; do
        command -v "$tool" >/dev/null 2>&1 \
            || die "$tool not found (install Debian's slurmctld slurmd slurm-client munge)"
    done
    [[ $(id -u) -eq 0 ]] || die "must run as root (slurmd and munged need it)"
    if [[ -e $dir/run/slurmctld.pid ]] && live_pid "$dir/run/slurmctld.pid" slurmctld >/dev/null; then
        die "$dir already has a running slurmctld; run '$0 down $dir' first"
    fi

    # From here on, any failure stops what was started.
    trap on_failed_up EXIT

    mkdir -p "$dir"
    dir=$(cd "$dir" && pwd)
    # munged refuses a socket whose ancestors are not all searchable by others
    # (a mktemp -d directory is 0700: chmod it 0755 before calling `up`).
    local anc=$dir
    while [[ $anc != / ]]; do
        anc=$(dirname "$anc")
        [[ $(( 0$(stat -c %a "$anc") & 01 )) -ne 0 ]] \
            || die "$anc is not searchable by others (munged needs o+x on every parent of its socket)"
    done
    mkdir -p "$dir"/{key,munge,state,spool,log,run}
    chmod 0700 "$dir/key"
    # munged refuses a socket directory that is not 0755.
    chmod 0755 "$dir" "$dir/munge"

    local ctld_port=${SLURMCTLD_PORT:-} slurmd_port=${SLURMD_PORT:-} p
    if [[ -z $ctld_port || -z $slurmd_port ]]; then
        for ((p = 6817; p < 6999; p += 2)); do
            if ! port_busy "$p" && ! port_busy $((p + 1)); then
                ctld_port=$p
                slurmd_port=$((p + 1))
                break
            fi
        done
        [[ -n $ctld_port ]] || die "no free port pair between 6817 and 6999"
    fi

    mungekey --create --force --keyfile="$dir/key/munge.key" >/dev/null
    munged --key-file="$dir/key/munge.key" \
        --socket="$dir/munge/munge.socket.2" \
        --pid-file="$dir/run/munged.pid" \
        --log-file="$dir/log/munged.log" \
        --seed-file="$dir/munge/munged.seed"

    # This host's exact CPUs and memory, or the node drains.
    local node_line host
    node_line=$(slurmd -C | head -n 1)
    [[ $node_line == NodeName=* ]] || die "slurmd -C printed no NodeName line: $node_line"
    host=${node_line#NodeName=}
    host=${host%% *}

    cat >"$dir/slurm.conf" <<EOF
# Generated by scripts/slurm/local-cluster.sh: a throw-away single-node cluster.
ClusterName=clustersim$$
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
# Bind both daemons to 127.0.0.1 (SlurmctldHost, NodeAddr), not 0.0.0.0.
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket=$dir/munge/munge.socket.2
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MailProg=/bin/true
MpiDefault=none
MinJobAge=5
SchedulerParameters=sched_min_interval=0,batch_sched_delay=0
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
$node_line NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=main Nodes=ALL Default=YES MaxTime=INFINITE State=UP
EOF

    export SLURM_CONF=$dir/slurm.conf
    slurmctld -f "$SLURM_CONF"
    slurmd -f "$SLURM_CONF"

    local wait_secs=${CLUSTER_WAIT_SECS:-30} deadline state=""
    deadline=$((SECONDS + wait_secs))
    until scontrol ping 2>/dev/null | grep -q 'is UP'; do
        ((SECONDS < deadline)) || die "slurmctld not UP after ${wait_secs} s"
        sleep 0.2
    done
    until [[ $state == idle ]]; do
        ((SECONDS < deadline)) || die "node not idle after ${wait_secs} s (state: '$state')"
        sleep 0.2
        state=$(sinfo -h -o %t 2>/dev/null | head -n 1 | tr -d '*~#')
    done

    trap - EXIT
    echo "export SLURM_CONF=$dir/slurm.conf"
}

case $action in
    up) cmd_up ;;
    down) cmd_down ;;
    env) echo "export SLURM_CONF=$(cd "$dir" && pwd)/slurm.conf" ;;
    *) usage ;;
esac
