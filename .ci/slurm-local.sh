#!/usr/bin/env bash
# A throw-away one-node Slurm (slurmctld + slurmd + munge) on this machine, for testing the
# hpc/ batch scripts (tests/test_hpc.py, CI).  Needs root and Debian/Ubuntu packages.
#
#   bash .ci/slurm-local.sh install   # apt-get install slurm-wlm munge (if missing)
#   bash .ci/slurm-local.sh start     # munged (if not running), slurm.conf, slurmctld, slurmd; wait for idle node
#   bash .ci/slurm-local.sh status    # what runs, sinfo
#   bash .ci/slurm-local.sh stop      # kill exactly the daemons `start` started (by pid), remove its files
#
# State (pids, spool, logs) lives in $WGM_SLURM_STATE (default /tmp/wgm-slurm).  The only file
# written outside it is /etc/slurm/slurm.conf (Slurm's commands read that path), marked with the
# header below; `start` refuses to touch a slurm.conf it did not write, `stop` removes it again.
# Timeouts: WGM_SLURM_TIMEOUT seconds (default 60) for each daemon to come up / go down.
set -euo pipefail

STATE=${WGM_SLURM_STATE:-/tmp/wgm-slurm}
CONF_DIR=/etc/slurm
CONF=$CONF_DIR/slurm.conf
MARK="# wgm-slurm-local: written by .ci/slurm-local.sh (throw-away test cluster; removed by 'stop')"
TIMEOUT=${WGM_SLURM_TIMEOUT:-60}
# libpmix-dev: Slurm's mpi/pmix plugin dlopens the unversioned libpmix.so; without it
# `srun --mpi=pmix` fails ("can not load PMIx library") and only mpirun works.
PKGS="slurm-wlm munge libpmix-dev"

die() { echo "slurm-local: error: $*" >&2; exit 1; }
say() { echo "slurm-local: $*" >&2; }

need_root() { [ "$(id -u)" -eq 0 ] || die "must run as root (it starts slurmctld/slurmd/munged and writes $CONF)"; }

# alive PID: the process exists (and is not a zombie)
alive() { [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null && [ "$(ps -o stat= -p "$1" 2>/dev/null | cut -c1)" != Z ]; }

pid_of() { if [ -s "$STATE/$1.pid" ]; then cat "$STATE/$1.pid"; fi; }

# wait_for SECONDS COMMAND...: poll COMMAND every 0.5 s until it succeeds (1 if it never does)
wait_for() {
  local secs=$1; shift
  local end=$((SECONDS + secs))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || return 1
    sleep 0.5
  done
}

ours_conf() { [ -f "$CONF" ] && head -n 1 "$CONF" | grep -qxF "$MARK"; }

cmd_install() {
  need_root
  local missing=() p
  for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  if [ ${#missing[@]} -eq 0 ]; then say "already installed: $PKGS"; return 0; fi
  command -v apt-get >/dev/null 2>&1 || die "need apt-get to install: ${missing[*]}"
  say "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1 \
    || { apt-get update -qq && apt-get install -y -qq "${missing[@]}" >/dev/null; } \
    || die "apt-get install ${missing[*]} failed"
  # the packages may try to start their services (systemd machines): not ours to keep running
  # without a config they just fail, which is fine.
}

write_conf() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc --all)  # --all: plain nproc obeys OMP_NUM_THREADS, which the Makefile sets to 1
  mem=$(free -m | awk '/^Mem:/ {print $2}')
  mem=$((mem * 95 / 100))   # a little below the total: slurmd drains a node with less than RealMemory
  mkdir -p "$CONF_DIR"
  cat > "$CONF.wgm-tmp" <<EOF
$MARK
# state, spool, logs and pid files: $STATE
ClusterName=wgmlocal
SlurmctldHost=$host
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$STATE/slurmctld
SlurmdSpoolDir=$STATE/slurmd
SlurmctldLogFile=$STATE/log/slurmctld.log
SlurmdLogFile=$STATE/log/slurmd.log
SlurmctldPidFile=$STATE/slurmctld.pid
SlurmdPidFile=$STATE/slurmd.pid
SlurmctldPort=${WGM_SLURMCTLD_PORT:-6817}
SlurmdPort=${WGM_SLURMD_PORT:-6818}
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
# no slurmdbd: finished jobs stay visible to 'scontrol show job' for MinJobAge seconds
MinJobAge=3600
JobCompType=jobcomp/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
NodeName=$host CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
EOF
  mv "$CONF.wgm-tmp" "$CONF"
}

node_idle() { sinfo -h -o '%t' 2>/dev/null | grep -Eq '^(idle|mix|alloc)'; }

cmd_start() {
  need_root
  local c
  for c in slurmctld slurmd munged sinfo; do
    command -v "$c" >/dev/null || die "$c not found: run '$0 install' first"
  done
  if [ -f "$CONF" ] && ! ours_conf; then
    die "$CONF exists and was not written by this script (a real Slurm setup?): refusing to touch it"
  fi
  if alive "$(pid_of slurmctld)" && alive "$(pid_of slurmd)"; then
    say "already running (slurmctld $(pid_of slurmctld), slurmd $(pid_of slurmd))"
    wait_for "$TIMEOUT" node_idle || die "node not idle; see $STATE/log"
    return 0
  fi
  local others
  others=$(ps -eo pid=,stat=,comm= | awk '$2 !~ /^Z/ && ($3 == "slurmctld" || $3 == "slurmd") {printf " %s", $1}')
  if [ -n "$others" ]; then
    die "slurmctld/slurmd already running, not started by this script (pids:$others): refusing"
  fi
  mkdir -p "$STATE"/{slurmctld,slurmd,log}
  chmod 755 "$STATE"

  # munge: reuse a running munged; otherwise start one and remember its pid
  if munge -n 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged already running: using it"
  else
    [ -f /etc/munge/munge.key ] || die "/etc/munge/munge.key missing (reinstall munge or run mungekey)"
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge 2>/dev/null || true
    rm -f /run/munge/munged.pid
    su -s /bin/sh munge -c /usr/sbin/munged || die "munged failed to start"
    wait_for "$TIMEOUT" test -s /run/munge/munged.pid || die "munged wrote no pid file"
    cp /run/munge/munged.pid "$STATE/munged.pid"
    wait_for "$TIMEOUT" sh -c 'munge -n | unmunge' || die "munge credentials do not work"
    say "munged started (pid $(pid_of munged))"
  fi

  write_conf
  rm -f "$STATE/slurmctld.pid" "$STATE/slurmd.pid"
  slurmctld -i || die "slurmctld failed; see $STATE/log/slurmctld.log"
  wait_for "$TIMEOUT" test -s "$STATE/slurmctld.pid" || die "slurmctld wrote no pid file; see $STATE/log/slurmctld.log"
  wait_for "$TIMEOUT" scontrol ping || die "slurmctld does not answer; see $STATE/log/slurmctld.log"
  slurmd || die "slurmd failed; see $STATE/log/slurmd.log"
  wait_for "$TIMEOUT" test -s "$STATE/slurmd.pid" || die "slurmd wrote no pid file; see $STATE/log/slurmd.log"
  if ! wait_for "$TIMEOUT" node_idle; then
    sinfo -N -l >&2 || true
    die "node not idle after ${TIMEOUT}s; see $STATE/log/"
  fi
  say "up: slurmctld $(pid_of slurmctld), slurmd $(pid_of slurmd); $(sinfo -h -o '%P %D %t %C' | head -n 1)"
}

dead() { ! alive "$1"; }

stop_pid() {   # stop_pid NAME: TERM the recorded pid (if it still is NAME), wait, KILL if needed
  local name=$1 pid
  pid=$(pid_of "$name")
  [ -n "$pid" ] || return 0
  if alive "$pid" && [ "$(ps -o comm= -p "$pid")" = "$name" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! wait_for "$TIMEOUT" dead "$pid"; then
      say "$name ($pid) ignored TERM: killing"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    say "stopped $name ($pid)"
  fi
  rm -f "$STATE/$name.pid"
}

cmd_stop() {
  need_root
  if alive "$(pid_of slurmctld)" && [ -n "$(squeue -h -o %A 2>/dev/null)" ]; then
    # cancel what is still queued or running, so no job steps outlive the daemons
    scancel --partition=debug 2>/dev/null || true
    sleep 1
  fi
  stop_pid slurmd
  stop_pid slurmctld
  stop_pid munged
  if ours_conf; then rm -f "$CONF"; fi
  if [ -d "$STATE" ]; then
    # keep the logs of the last run next to the state dir for post-mortems
    rm -rf "$STATE.last-logs"
    if [ -d "$STATE/log" ]; then mv "$STATE/log" "$STATE.last-logs"; fi
    rm -rf "$STATE"
  fi
  say "stopped"
}

cmd_status() {
  local n
  for n in munged slurmctld slurmd; do
    if alive "$(pid_of "$n")"; then echo "$n: running (pid $(pid_of "$n"))"; else echo "$n: not started by this script"; fi
  done
  if ours_conf; then echo "config: $CONF (ours)"; elif [ -f "$CONF" ]; then echo "config: $CONF (NOT ours)"; else echo "config: none"; fi
  if alive "$(pid_of slurmctld)"; then sinfo; squeue; fi
}

case "${1:-}" in
  install) cmd_install ;;
  start)   cmd_start ;;
  stop)    cmd_stop ;;
  status)  cmd_status ;;
  *) echo "usage: $0 install|start|stop|status" >&2; exit 2 ;;
esac
