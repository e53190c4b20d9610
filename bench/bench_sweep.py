"""Benchmark of `wgm sweep`: parallel efficiency under MPI and exact-solver throughput.

1. FDTD: an 8-radius sweep of CsPbBr3-coated silica spheres (``sims/radius_sweep.toml``,
   radii 1.30-1.65 µm, TE, radial order 1, 560-580 nm, m chosen per point), serially and with
   ``mpirun -np 2``.  Goal on a 2-core machine: throughput ratio >= 1.8 (efficiency >= 90 %).
   The cost of a point grows with the radius, so the ranks only stay busy to the end with
   dynamic scheduling (costliest first).
2. Exact: 1000 radii (1.5-3.0 µm, 520-600 nm, radial orders 1-2, TE and TM), serially and with
   ``mpirun -np 2``.  Goal: under 30 s.

Every run is a real ``wgm sweep`` process (start-up and file writing included); the tables of
the serial and parallel runs must be identical.

Run:   .venv/bin/python bench/bench_sweep.py            (~10 min on 2 cores)
       .venv/bin/python bench/bench_sweep.py --part exact
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "sims" / "radius_sweep.toml"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg",
       "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
FDTD_ARGS = ["--method", "fdtd", "--vary", "resonator.radius_um=1.30:1.65:8", "--set", 'search.polarizations=["TE"]',
             "--set", "search.max_radial_order=1"]
EXACT_ARGS = ["--vary", "resonator.radius_um=1.5:3.0:1000"]
EFFICIENCY_GOAL = 0.90
EXACT_GOAL_S = 30.0


def sweep(out: Path, args, np_: int) -> float:
    """Wall time of one `wgm sweep` run (fresh output directory)."""
    shutil.rmtree(out, ignore_errors=True)
    cmd = [sys.executable, "-m", "wgm", "sweep", str(CONFIG), "--out", str(out), "-q", *args]
    if np_ > 1:
        cmd = [shutil.which("mpirun") or "mpirun", "-np", str(np_), *cmd]
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        sys.exit(f"sweep failed ({' '.join(cmd)}):\n{r.stderr[-3000:]}")
    return wall


def compare(a: Path, b: Path) -> str:
    same = (a / "results.csv").read_text() == (b / "results.csv").read_text()
    return "identical" if same else "DIFFERENT"


def point_times(out: Path):
    meta = json.loads((out / "sweep.json").read_text())
    return [(p["params"]["resonator.radius_um"], p["seconds"], p["rank"]) for p in meta["points"]]


def bench_ceiling(tmp: Path) -> float:
    """What two cores give two independent Meep runs here: one point alone, then two copies of
    it at once (separate processes, no MPI).  2 x alone / together is the best throughput
    ratio any scheduler can reach on this machine (memory bandwidth and caches are shared)."""
    args = [*FDTD_ARGS[:2], "--vary", "resonator.radius_um=1.5", *FDTD_ARGS[4:]]
    alone = sweep(tmp / "alone", args, 1)
    procs = []
    t0 = time.perf_counter()
    for k in (1, 2):
        out = tmp / f"together{k}"
        shutil.rmtree(out, ignore_errors=True)
        procs.append(subprocess.Popen([sys.executable, "-m", "wgm", "sweep", str(CONFIG), "--out", str(out), "-q",
                                       *args], env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
    for p in procs:
        p.wait()
    together = time.perf_counter() - t0
    ceiling = 2 * alone / together
    print(f"  one point alone {alone:.1f} s, two copies at once {together:.1f} s: best possible "
          f"throughput ratio on this machine {ceiling:.2f} (efficiency {100 * ceiling / 2:.1f} %)", flush=True)
    return ceiling


def bench_fdtd(tmp: Path) -> None:
    print("FDTD sweep: 8 radii 1.30-1.65 µm, coated sphere, TE q=1, 560-580 nm", flush=True)
    ceiling = bench_ceiling(tmp)
    t1 = sweep(tmp / "fdtd1", FDTD_ARGS, 1)
    print(f"  serial          {t1:8.1f} s", flush=True)
    t2 = sweep(tmp / "fdtd2", FDTD_ARGS, 2)
    print(f"  mpirun -np 2    {t2:8.1f} s", flush=True)
    ratio = t1 / t2
    print(f"  throughput ratio {ratio:.2f}, parallel efficiency {100 * ratio / 2:.1f} % "
          f"(goal >= {100 * EFFICIENCY_GOAL:.0f} %: {'met' if ratio / 2 >= EFFICIENCY_GOAL else 'NOT met'})")
    print(f"  relative to what the machine allows: {100 * ratio / ceiling:.1f} %")
    print(f"  tables: {compare(tmp / 'fdtd1', tmp / 'fdtd2')}")
    serial = point_times(tmp / "fdtd1")
    par = {r: (s, k) for r, s, k in point_times(tmp / "fdtd2")}
    print("  per point: radius_um  serial_s  mpi_s  rank")
    for r, s, _ in serial:
        print(f"             {r:8.3f}  {s:8.1f}  {par[r][0]:5.1f}  {par[r][1]}")
    busy = [sum(s for r, (s, k) in par.items() if k == rank) for rank in (0, 1)]
    print(f"  busy time per rank under MPI: {busy[0]:.1f} s, {busy[1]:.1f} s (sum of serial points "
          f"{sum(s for _, s, _ in serial):.1f} s)")


def bench_exact(tmp: Path) -> None:
    print("Exact sweep: 1000 radii 1.5-3.0 µm, coated sphere, 520-600 nm, q <= 2, TE+TM", flush=True)
    t1 = sweep(tmp / "ex1", EXACT_ARGS, 1)
    t2 = sweep(tmp / "ex2", EXACT_ARGS, 2)
    rows = (tmp / "ex1" / "results.csv").read_text().count("\n") - 1
    print(f"  serial          {t1:8.1f} s ({1000 * t1 / 1000:.0f} ms per point, {rows} modes)")
    print(f"  mpirun -np 2    {t2:8.1f} s  (goal < {EXACT_GOAL_S:.0f} s: {'met' if t2 < EXACT_GOAL_S else 'NOT met'}; "
          f"efficiency {100 * t1 / t2 / 2:.0f} %)")
    print(f"  tables: {compare(tmp / 'ex1', tmp / 'ex2')}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", choices=["all", "fdtd", "exact", "ceiling"], default="all")
    args = ap.parse_args()
    print(f"{os.cpu_count()} cores; {sys.executable}")
    with tempfile.TemporaryDirectory(prefix="wgm-bench-sweep-") as d:
        if args.part in ("all", "exact"):
            bench_exact(Path(d))
        if args.part in ("all", "fdtd"):
            bench_fdtd(Path(d))
        if args.part == "ceiling":
            bench_ceiling(Path(d))


if __name__ == "__main__":
    main()
