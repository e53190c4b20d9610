"""Sweeps as real processes: ``mpirun -np 2`` against serial, and jobs killed at any moment.

Slow (each test runs whole ``wgm sweep`` processes, some under mpirun); ``make test`` runs
them.  Results must be identical, not close: with one rank per point (``--procs-per-sim
1``) a point is the same computation serially and under MPI (single-threaded BLAS/OpenMP,
as the Makefile and the hpc scripts set) — every cell equal, floats to 1e-12 relative
(conftest.TABLE_FLOAT_REL: the exact mode volume's last bits vary between computations).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import assert_same_table

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
COATED = ROOT / "sims" / "coated_microsphere.toml"    # ~0.1 s per point: a kill lands mid-sweep
DISK = ROOT / "sims" / "disk_2d.toml"
KILL_AXIS = "resonator.radius_um=2:3:101"
ENV = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
       "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}


def _mpirun():
    exe = shutil.which("mpirun")
    if exe is None:
        pytest.skip("mpirun not installed")
    return [exe, "-np", "2"]


def _wgm(*args, mpi=False):
    return [*(_mpirun() if mpi else []), sys.executable, "-m", "wgm", "sweep", *map(str, args)]


def _run(cmd, timeout=600):
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV, timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def _points(out):
    """Every point file parses (nothing half-written); return {point id: record}."""
    recs = {}
    for f in (Path(out) / "points").iterdir():
        if f.name.startswith("."):
            continue  # a temporary file of a write that was cut off: never read as a result
        recs[f.stem] = json.loads(f.read_text())
    return recs


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The 101-point exact sweep, serial and uninterrupted."""
    out = tmp_path_factory.mktemp("reference")
    _run(_wgm(COATED, "--vary", KILL_AXIS, "--out", out, "--no-plots", "-q"))
    return (out / "results.csv").read_text()


def test_mpirun_exact_sweep_identical_to_serial(tmp_path, reference):
    out = tmp_path / "mpi"
    r = _run(_wgm(COATED, "--vary", KILL_AXIS, "--out", out, "--no-plots", mpi=True))
    assert_same_table((out / "results.csv").read_text(), reference)
    meta = json.loads((out / "sweep.json").read_text())
    assert {p["rank"] for p in meta["points"]} == {0, 1}  # both ranks computed
    progress = [ln for ln in r.stderr.splitlines() if "ETA" in ln]
    assert len(progress) == 101 and "[101/101]" in progress[-1]  # one line per point, from rank 0 only


def test_mpirun_fdtd_sweep_identical_to_serial(tmp_path):
    """Two small 2-D disks by FDTD: one point per rank, then both ranks on each point (materials
    at the band centre: the band spans the film's absorption edge, which no Lorentz fit holds,
    and the test is about the ranks)."""
    args = [DISK, "--method", "fdtd", "--vary", "resonator.radius_um=1.0,1.1", "--set", "fdtd.m=[10]",
            "--set", 'fdtd.materials="band-centre"',
            "--set", "search.wavelength_nm=[500, 700]", "--no-plots", "-q"]
    _run(_wgm(*args, "--out", tmp_path / "serial"))
    _run(_wgm(*args, "--out", tmp_path / "mpi", mpi=True))
    serial = (tmp_path / "serial" / "results.csv").read_text()
    assert (tmp_path / "mpi" / "results.csv").read_text() == serial
    assert serial.count("\n") == 5  # header + TE and TM of each disk
    # --procs-per-sim 2: Meep's domain decomposition; the same modes within Harminv's error
    _run(_wgm(*args, "--out", tmp_path / "k2", "--procs-per-sim", "2", mpi=True))
    import csv
    a = list(csv.DictReader(open(tmp_path / "serial" / "results.csv")))
    b = list(csv.DictReader(open(tmp_path / "k2" / "results.csv")))
    assert [(r["point"], r["polarization"], r["l"]) for r in a] == [(r["point"], r["polarization"], r["l"]) for r in b]
    for x, y in zip(a, b):
        # Harminv's error estimate (Meep frequency units, f ~ 2): relative 1e-6 covers it here
        assert abs(float(x["wavelength_nm"]) / float(y["wavelength_nm"]) - 1) < 1e-6
        assert abs(float(x["Q"]) / float(y["Q"]) - 1) < 1e-4


def _start_and_wait(cmd, out, n_points):
    """Start a sweep and return the process once ``n_points`` point files exist."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=ENV,
                            start_new_session=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        d = Path(out) / "points"
        if d.is_dir() and sum(not f.name.startswith(".") for f in d.iterdir()) >= n_points:
            return proc
        if proc.poll() is not None:
            pytest.fail(f"sweep ended early: {proc.stderr.read()[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    pytest.fail("sweep too slow to start")


def _pids_with(fragment: str) -> list[int]:
    """Processes whose command line contains ``fragment`` (from /proc: no procps needed)."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if fragment in cmd and int(d.name) != os.getpid():
                pids.append(int(d.name))
    return pids


def _ended(proc, when: str) -> int:
    """The exit status of ``proc``, which must end within a minute (else: kill it, fail)."""
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        pytest.fail(f"the sweep did not end {when}")


def _resume_and_check(cmd, out, reference, killed_run_points):
    """Resume: only the missing points are computed, and the table is the uninterrupted one."""
    _run(cmd)
    assert_same_table((Path(out) / "results.csv").read_text(), reference)
    meta = json.loads((Path(out) / "sweep.json").read_text())
    runs = {p["id"]: p["run_id"] for p in meta["points"]}
    for pid, rec in killed_run_points.items():  # finished before the kill: kept, not recomputed
        assert runs[pid] == rec["run_id"]
    assert len(set(runs.values()) - {rec["run_id"] for rec in killed_run_points.values()}) == 1
    assert sum(1 for v in runs.values() if v not in {r["run_id"] for r in killed_run_points.values()}) \
        == 101 - len(killed_run_points)


def _interrupt_then_resume(out, reference, interrupt, *, mpi: bool, started: int):
    """Start the sweep, let ``started`` points finish, ``interrupt(proc)`` it, check what is
    on disk, then resume and check the result is the uninterrupted run's."""
    cmd = _wgm(COATED, "--vary", KILL_AXIS, "--out", out, "--no-plots", "-q", mpi=mpi)
    proc = _start_and_wait(cmd, out, started)
    interrupt(proc)
    before = _points(out)
    assert started <= len(before) < 101
    _resume_and_check(cmd, out, reference, before)


def test_sigkill_serial_then_resume(tmp_path, reference):
    def kill(proc):
        proc.kill()
        proc.wait(timeout=30)

    _interrupt_then_resume(tmp_path / "s", reference, kill, mpi=False, started=20)


def test_one_rank_killed_ends_the_job_then_resume(tmp_path, reference):
    out = tmp_path / "k"

    def kill_rank_1(proc):
        rank1 = None
        for pid in _pids_with(str(out)):
            try:
                environ = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            except OSError:
                continue
            if b"OMPI_COMM_WORLD_RANK=1" in environ:
                rank1 = pid
        assert rank1 is not None, "rank 1 not found"
        os.kill(rank1, signal.SIGKILL)
        assert _ended(proc, "after rank 1 was killed") != 0  # not a hang with rank 0 waiting for rank 1

    _interrupt_then_resume(out, reference, kill_rank_1, mpi=True, started=10)


def test_sigterm_to_mpirun_then_resume(tmp_path, reference):
    """What Slurm does at the time limit or on scancel."""
    out = tmp_path / "t"

    def terminate(proc):
        proc.send_signal(signal.SIGTERM)
        assert _ended(proc, "on SIGTERM") != 0
        assert not _pids_with(str(out))  # no rank left behind

    _interrupt_then_resume(out, reference, terminate, mpi=True, started=10)


# --------------------------------------------------------------------------------------
# wgm.parallel from the Python API

_ON_IO_RANK = r"""
import pickle, sys
from wgm import parallel
from wgm.errors import ConfigError

class Local(Exception):  # not importable by name elsewhere: cannot travel as itself
    pass

def zero_division():
    return 1 / 0

def bad_config():
    raise ConfigError("resonator.radius_um", -1.0, "must be positive")

def not_picklable():
    raise Local(lambda: 0)

def unpicklable_result():
    return lambda: 0

r = parallel.rank()
report = open(f"{sys.argv[1]}/rank{r}.txt", "w")  # one file per rank: mpirun interleaves stdout lines
for fn in (zero_division, bad_config, not_picklable, unpicklable_result):
    try:
        parallel.on_io_rank(fn)
        report.write(f"rank {r} {fn.__name__}: no error\n")
    except Exception as exc:
        report.write(f"rank {r} {fn.__name__}: {type(exc).__name__}: {exc}\n")
report.write(f"rank {r} after: {parallel.on_io_rank(lambda: 42)}\n")
report.close()
"""


def test_on_io_rank_raises_every_exception_on_every_rank(tmp_path):
    """An exception on rank 0 (not only a user's mistake) is raised on both ranks, which stay in
    step: no rank waits forever in a broadcast (bounded by a timeout)."""
    proc = subprocess.Popen([*_mpirun(), sys.executable, "-c", _ON_IO_RANK, str(tmp_path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**ENV, "PYTHONPATH": str(ROOT)},
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        proc.terminate()  # mpirun passes SIGTERM on to the ranks (SIGKILL would leave them behind)
        try:
            proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
        pytest.fail("a rank hung after an exception on rank 0")
    assert proc.returncode == 0, err[-3000:]
    text = "".join((tmp_path / f"rank{r}.txt").read_text() for r in (0, 1))
    lines = {ln.split(":", 1)[0]: ln.split(":", 1)[1].strip() for ln in text.splitlines()}
    for r in (0, 1):
        assert lines[f"rank {r} zero_division"].startswith("ZeroDivisionError: division by zero")
        assert lines[f"rank {r} bad_config"].endswith("resonator.radius_um = -1.0: must be positive")
        assert lines[f"rank {r} after"] == "42"
    assert lines["rank 0 not_picklable"].startswith("Local")
    assert lines["rank 1 not_picklable"].startswith("SolverError: on rank 0: Local")
    assert lines["rank 0 unpicklable_result"] != "no error" and lines["rank 1 unpicklable_result"] != "no error"
    assert lines["rank 0 bad_config"].startswith("ConfigError") and lines["rank 1 bad_config"].startswith("UserError")
