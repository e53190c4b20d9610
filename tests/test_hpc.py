"""The cluster scripts (hpc/, .ci/slurm-local.sh): shell syntax, a sweep through
hpc/sweep-mpirun.sh, and real Slurm jobs on a throw-away one-node Slurm on this machine.

The Slurm tests need root and the Debian packages (`bash .ci/slurm-local.sh install`); without
them they are skipped, unless WGM_REQUIRE_SLURM=1 (CI), which turns the skip into a failure.
"""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest


ROOT = Path(__file__).resolve().parents[1]
SLURM_LOCAL = ROOT / ".ci" / "slurm-local.sh"
SCRIPTS = sorted((ROOT / "hpc").glob("*.sbatch")) + sorted((ROOT / "hpc").glob("*.sh")) + [SLURM_LOCAL]
WGM = Path(sys.executable).with_name("wgm")
CONFIG = "sims/silica_microsphere.toml"
SWEEP_ARGS = ["--vary", "resonator.radius_um=4:5:4", "--method", "exact"]
RADII = np.linspace(4.0, 5.0, 4)
JOB_TIMEOUT = 300  # seconds, for all the jobs of one test


def _env(**extra) -> dict:
    env = dict(os.environ, WGM=str(WGM), OMP_NUM_THREADS="1", MPLBACKEND="Agg")
    if os.geteuid() == 0:
        env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
    env.update(extra)
    return env


def _check_results(out: Path) -> dict:
    """OUTDIR holds a complete sweep over the 4 radii; return sweep.json."""
    with open(out / "results.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows, "results.csv has no rows"
    radii = sorted({float(r["resonator.radius_um"]) for r in rows})
    np.testing.assert_allclose(radii, RADII, rtol=1e-9)
    assert all(float(r["wavelength_nm"]) > 0 for r in rows)
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["counts"] == {"points": 4, "done": 4, "failed": 0, "pending": 0}
    assert len(list((out / "points").glob("*.json"))) == 4
    return meta


# --------------------------------------------------------------------------------------
# A: syntax

@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_script_syntax(script):
    subprocess.run(["bash", "-n", str(script)], check=True, capture_output=True, text=True)
    if shutil.which("shellcheck"):
        r = subprocess.run(["shellcheck", "-s", "bash", str(script)], capture_output=True, text=True)
        assert r.returncode == 0, r.stdout + r.stderr


# --------------------------------------------------------------------------------------
# D: plain mpirun, no Slurm

@pytest.mark.slow
def test_sweep_mpirun(tmp_path):
    if not shutil.which("mpirun"):
        pytest.skip("mpirun not installed")
    out = tmp_path / "sweep"
    r = subprocess.run(["bash", "hpc/sweep-mpirun.sh", "2", CONFIG, str(out), *SWEEP_ARGS, "-q"],
                       cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=JOB_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    meta = _check_results(out)
    assert {p["rank"] for p in meta["points"]} <= {0, 1}
    # NP > cores: --oversubscribe is added, and the same command resumes (nothing to do)
    r = subprocess.run(["bash", "hpc/sweep-mpirun.sh", str(os.cpu_count() + 1), CONFIG, str(out), *SWEEP_ARGS,
                        "-q"], cwd=ROOT, env=_env(), capture_output=True, text=True, timeout=JOB_TIMEOUT)
    assert r.returncode == 0, r.stdout + r.stderr
    assert json.loads((out / "sweep.json").read_text())["points"] == meta["points"]


def test_sweep_mpirun_usage():
    r = subprocess.run(["bash", "hpc/sweep-mpirun.sh", "two", CONFIG], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


# --------------------------------------------------------------------------------------
# B, C: a real one-node Slurm

def _slurm_unavailable() -> str | None:
    if os.geteuid() != 0:
        return "needs root (starts slurmctld, slurmd, munged)"
    missing = [c for c in ("slurmctld", "slurmd", "munged", "sbatch", "squeue", "scontrol") if not shutil.which(c)]
    if missing:
        return f"Slurm not installed ({', '.join(missing)} missing): bash .ci/slurm-local.sh install"
    return None


def _local(cmd: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", str(SLURM_LOCAL), cmd], capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def slurm():
    """A running one-node Slurm: started here (and always stopped at the end), or reused if
    slurm-local.sh started it before (and then left running)."""
    reason = _slurm_unavailable()
    if reason:
        if os.environ.get("WGM_REQUIRE_SLURM") == "1":
            pytest.fail(f"WGM_REQUIRE_SLURM=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    already = "slurmctld: running" in _local("status", timeout=30).stdout
    try:
        r = _local("start")
        assert r.returncode == 0, f"slurm-local.sh start failed:\n{r.stdout}{r.stderr}"
        yield
    finally:
        if not already:
            r = _local("stop")
            assert r.returncode == 0, f"slurm-local.sh stop failed:\n{r.stdout}{r.stderr}"


def _sbatch(*args, env=None) -> str:
    r = subprocess.run(["sbatch", "--parsable", *args], cwd=ROOT, env=env or _env(),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout.strip().split(";")[0]


def _job_records(job: str) -> list[dict]:
    """scontrol's records of a job (one per array task): JobId, JobState, ExitCode, ..."""
    text = subprocess.run(["scontrol", "-o", "show", "job", job], capture_output=True, text=True).stdout
    return [dict(re.findall(r"(\w+)=(\S*)", line)) for line in text.splitlines() if line.strip()]


def _wait(jobs: list[str], logs: Path, timeout: float = JOB_TIMEOUT) -> list[dict]:
    """Poll squeue until none of ``jobs`` is pending or running (bounded: cancel and fail on
    timeout); return every job's scontrol records."""
    end = time.monotonic() + timeout
    while True:
        r = subprocess.run(["squeue", "-h", "-o", "%i %T", "-j", ",".join(jobs)],
                           capture_output=True, text=True, timeout=30)
        if r.returncode == 0 and not r.stdout.strip():
            break
        if time.monotonic() > end:
            subprocess.run(["scancel", *jobs], capture_output=True)
            pytest.fail(f"jobs {jobs} not finished after {timeout} s:\n{r.stdout}{r.stderr}\n" + _logs(logs))
        time.sleep(1)
    return [rec for j in jobs for rec in _job_records(j)]


def _logs(logs: Path) -> str:
    return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in sorted(logs.glob("*.log")))


def _assert_ok(records: list[dict], logs: Path) -> None:
    assert records, "no job records"
    bad = [(r.get("JobId"), r.get("ArrayTaskId"), r.get("JobState"), r.get("ExitCode"))
           for r in records if r.get("JobState") != "COMPLETED" or r.get("ExitCode") != "0:0"]
    assert not bad, f"jobs failed: {bad}\n" + _logs(logs)


@pytest.mark.slow
@pytest.mark.slurm
def test_sweep_sbatch(slurm, tmp_path):
    out, logs = tmp_path / "sweep", tmp_path / "logs"
    logs.mkdir()
    job = _sbatch("--ntasks=2", "--mem-per-cpu=500M", "--time=00:10:00", f"--output={logs}/%x-%j.log",
                  "hpc/sweep.sbatch", CONFIG, str(out), *SWEEP_ARGS)
    _assert_ok(_wait([job], logs), logs)
    meta = _check_results(out)
    assert len({p["run_id"] for p in meta["points"]}) == 1
    assert re.search(r"2 ranks via (srun|mpirun)", _logs(logs)), _logs(logs)


@pytest.mark.slow
@pytest.mark.slurm
def test_sweep_array_then_completion(slurm, tmp_path):
    """Two array tasks (ids 1-2: not starting at 0) each do their shard with mpirun; the
    dependent completion job finds nothing left and writes the final tables."""
    out, logs = tmp_path / "sweep", tmp_path / "logs"
    logs.mkdir()
    args = [CONFIG, str(out), *SWEEP_ARGS]
    array = _sbatch("--array=1-2", "--ntasks=1", "--mem-per-cpu=500M", "--time=00:10:00",
                    f"--output={logs}/%x-%A_%a.log", "hpc/sweep-array.sbatch", *args,
                    env=_env(WGM_LAUNCHER="mpirun"))
    final = _sbatch(f"--dependency=afterany:{array}", "--ntasks=2", "--mem-per-cpu=500M", "--time=00:10:00",
                    f"--output={logs}/%x-%j.log", "hpc/sweep.sbatch", *args)
    records = _wait([array, final], logs)
    assert sorted(r.get("ArrayTaskId") for r in records if r.get("ArrayTaskId")) == ["1", "2"]
    _assert_ok(records, logs)
    meta = _check_results(out)
    text = _logs(logs)
    assert "shard 0/2" in text and "shard 1/2" in text, text
    # shard I/2 did the points with index = I mod 2, in one run each; the completion job none
    run = {p["point"]: p["run_id"] for p in meta["points"]}
    assert run[0] == run[2] != run[1] == run[3], run


@pytest.mark.slow
@pytest.mark.slurm
def test_serial_wgm_in_a_batch_step_stays_serial(slurm, tmp_path):
    """In a batch script Slurm sets SLURM_PROCID although no MPI launcher ran (as for
    hpc/modes.sbatch): a plain `wgm modes` there must not import mpi4py (which starts MPI)."""
    logs, out = tmp_path / "logs", tmp_path / "modes"
    logs.mkdir()
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import os, sys\n"
        "from wgm.cli import main\n"
        f"code = main(['modes', {CONFIG!r}, '--out', {str(out)!r}, '--set', 'search.max_radial_order=1'])\n"
        "print('PROBE SLURM_PROCID', os.environ.get('SLURM_PROCID'), 'mpi4py', 'mpi4py' in sys.modules,\n"
        "      file=sys.stderr)\n"
        "sys.exit(code)\n")
    job = _sbatch("--ntasks=1", "--mem-per-cpu=500M", "--time=00:10:00", f"--output={logs}/%x-%j.log",
                  "--wrap", f"{sys.executable} {probe}", env=_env(PYTHONPATH=str(ROOT)))
    _assert_ok(_wait([job], logs), logs)
    text = _logs(logs)
    assert "PROBE SLURM_PROCID 0 mpi4py False" in text, text
    assert json.loads((out / "modes.json").read_text())["modes"]
