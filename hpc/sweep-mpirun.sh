#!/bin/bash
# A `wgm sweep` over MPI on this machine, without Slurm.
#   hpc/sweep-mpirun.sh NP CONFIG OUTDIR [wgm sweep args...]
#   e.g. hpc/sweep-mpirun.sh 4 sims/silica_microsphere.toml results/radius --vary resonator.radius_um=4:6:21
# NP ranks (more than the cores only with --oversubscribe, added then); ranks per simulation,
# results, resuming and exit status as in hpc/sweep.sbatch.  Uses ${WGM:-.venv/bin/wgm};
# extra mpirun options in WGM_MPIRUN_ARGS.
set -euo pipefail
if [ $# -lt 3 ] || ! [ "$1" -ge 1 ] 2>/dev/null; then
  echo "usage: hpc/sweep-mpirun.sh NP CONFIG OUTDIR [wgm sweep args...]" >&2
  exit 2
fi
np=$1; config=$2; out=$3; shift 3
export OMP_NUM_THREADS=1 MPLBACKEND=Agg
if [ "$(id -u)" -eq 0 ]; then export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1; fi
opts=()
# --all: plain nproc obeys OMP_NUM_THREADS (set to 1 above)
if [ "$np" -gt "$(nproc --all)" ]; then opts+=(--oversubscribe); fi
# shellcheck disable=SC2086  # WGM_MPIRUN_ARGS: several words
exec mpirun -np "$np" "${opts[@]}" ${WGM_MPIRUN_ARGS:-} "${WGM:-.venv/bin/wgm}" sweep "$config" --out "$out" "$@"
