"""Benchmark: FDTD wall time per azimuthal number versus sphere radius, reduced vs full cell.

Case (issue "FDTD for real-size microspheres"): a silica-like sphere (n = 1.46) of radius R with a
30 nm absorbing film (n = 2.0 + 0.002i) in air; for each R the fundamental TE mode (q = 1,
l = m) nearest 530 nm, found by the exact solver, and its own m; FDTD sub-band ±0.5 nm (at most
0.4 FSR) around it, TE only, ``max_polar_order = 0``, the resolution 84 px/µm at which the
README's table was measured (the default rule of that time: 2.5 px across the film; the rule is
now the stated accuracy, 72 px/µm here).

For every radius:

* **reduced**: ``wgm.fdtd.solve`` with ``domain = "reduced"``, timed by the wall clock (the
  whole engine: planning, ring-down until Harminv settles, DFT field, guard); its wavelength
  and Q are compared with the exact solver;
* **full cell**: the cost per unit of simulated time of the full (axis-to-PML) cell, measured
  by stepping it for a short stretch, times the simulated time the reduced run needed (the
  same mode needs the same ring-down).  At R = 2 µm the full cell is also run for real, as a
  check of that estimate.  Running it at 15-20 µm would take hours.

Then R = 15 µm again at 64 px/µm (below the 84 px/µm of the table), with its accuracy.

Goal: the reduced curve stays nearly flat; a 15 µm-radius coated sphere mode in under 2 min on
one core.

Run:   .venv/bin/python bench/bench_reduced.py [--radii 2,5,10,15,20] [-v]   (~20 min, one core)
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import logging
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from wgm.exact import solver as exact  # noqa: E402
from wgm import fdtd
from wgm.fdtd import meep_model
from wgm.model.materials import ConstantIndex  # noqa: E402
from wgm.fdtd.settings import FdtdSettings
from wgm.model.resonator import Coating, Resonator, Search, Sphere  # noqa: E402

mp = meep_model.meep()  # Meep, imported silently (no banner, no exit message)


def resonator(radius_um: float) -> Resonator:
    return Resonator(Sphere(radius_um, ConstantIndex(1.46)), (Coating(0.03, ConstantIndex(2.0, 0.002)),))


def target_mode(res):
    modes = exact.solve(res, Search((515.0, 545.0), 1, ("TE",))).modes
    return min(modes, key=lambda md: abs(md.wavelength_nm - 530.0))


TABLE_RESOLUTION = 84.0  # px/µm: the grid of the README's table (the default rule of that time)


def settings_for(mode, domain, resolution=None):
    half = min(0.5, 0.4 * mode.fsr_nm) if mode.fsr_nm else 0.5
    return FdtdSettings(m=(mode.l,), wavelength_nm=(mode.wavelength_nm - half, mode.wavelength_nm + half),
                        domain=domain, max_polar_order=0, resolution_px_per_um=resolution)


class Clock:
    """Simulated time reached by every simulation the engine builds (wraps ``meep_model.simulation``)."""

    def __init__(self):
        self.sim_time = 0.0
        self._orig = meep_model.simulation
        clock = self

        def wrapped(*args, **kwargs):
            sim = clock._orig(*args, **kwargs)
            run = sim.run

            def counting_run(*a, **k):
                t0 = sim.meep_time()
                out = run(*a, **k)
                clock.sim_time += sim.meep_time() - t0
                return out

            sim.run = counting_run
            return sim

        meep_model.simulation = wrapped

    def close(self):
        meep_model.simulation = self._orig


def solve_timed(res, mode, domain, resolution=None):
    st = settings_for(mode, domain, resolution)
    search = Search(st.wavelength_nm, 1, ("TE",))
    clock = Clock()
    t0 = time.monotonic()
    try:
        spec = fdtd.solve(res, search, st)
    finally:
        clock.close()
    wall = time.monotonic() - t0
    hits = [md for md in spec.modes if md.l == mode.l and md.polarization == "TE"]
    found = hits[0] if hits else None
    cell = spec.run_info["fdtd_cells"][0]
    return wall, clock.sim_time, found, cell


def seconds_per_time_unit(res, mode, domain, span=None):
    st = settings_for(mode, domain)
    pl = fdtd.plan(res, st.band(Search(st.wavelength_nm, 1, ("TE",))), st)
    sim = meep_model.simulation(res, pl, mode.l, "Ez", pl.f_centre, 0.1, -1)
    meep_model.init_sim(sim)
    sim.run(until=0.5)  # warm-up
    steps_span = span if span is not None else max(0.5, min(5.0, 2e8 / (pl.cells * 2 * pl.resolution)))
    t0 = time.monotonic()
    sim.run(until=steps_span)
    return (time.monotonic() - t0) / steps_span, pl.cells


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--radii", default="2,5,10,15,20")
    ap.add_argument("-v", action="store_true")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.v else logging.WARNING, format="%(name)s: %(message)s")
    mp.verbosity(0)
    radii = [float(x) for x in args.radii.split(",")]
    rows = []
    print(f"{'R µm':>6} {'m':>4} {'λ nm':>9} {'Q exact':>8} {'cells red.':>10} {'cells full':>10} "
          f"{'red. s':>7} {'sim t':>6} {'full s (est.)':>13} {'ratio':>6} {'dλ %':>8} {'dQ %':>6}", flush=True)
    for R in radii:
        res = resonator(R)
        mode = target_mode(res)
        wall, sim_t, found, cell = solve_timed(res, mode, "reduced", resolution=TABLE_RESOLUTION)
        s_red, c_red = seconds_per_time_unit(res, mode, "reduced")
        s_full, c_full = seconds_per_time_unit(res, mode, "full")
        full_est = wall * s_full / s_red
        dl = 100 * (found.wavelength_nm / mode.wavelength_nm - 1) if found else float("nan")
        dq = 100 * (found.Q / mode.Q - 1) if found else float("nan")
        rows.append((R, wall, full_est))
        print(f"{R:6.1f} {mode.l:4d} {mode.wavelength_nm:9.3f} {mode.Q:8.0f} {c_red:10d} {c_full:10d} "
              f"{wall:7.1f} {sim_t:6.0f} {full_est:13.0f} {full_est / wall:6.1f} {dl:8.4f} {dq:6.2f}",
              flush=True)
        if R <= 2.0:
            wall_f, sim_f, found_f, _ = solve_timed(res, mode, "full", resolution=TABLE_RESOLUTION)
            dlf = 100 * (found_f.wavelength_nm / mode.wavelength_nm - 1) if found_f else float("nan")
            dqf = 100 * (found_f.Q / mode.Q - 1) if found_f else float("nan")
            print(f"       full cell run for real at R = {R:g} µm: {wall_f:.1f} s (estimate {full_est:.0f} s), "
                  f"simulated time {sim_f:.0f}, dλ {dlf:.4f} %, dQ {dqf:.2f} %", flush=True)
    at15 = [r for r in rows if r[0] == 15.0]
    if at15:
        R, wall, full_est = at15[0]
        print(f"\nR = 15 µm: reduced {wall:.0f} s, full cell ~{full_est:.0f} s: ratio {full_est / wall:.1f}")
    if rows:
        print(f"reduced wall time from R = {rows[0][0]:g} to {rows[-1][0]:g} µm: {rows[0][1]:.0f} -> {rows[-1][1]:.0f} s "
              f"(x{rows[-1][1] / rows[0][1]:.2f}; the full cell: x{rows[-1][2] / rows[0][2]:.1f})")
    res = resonator(15.0)
    mode = target_mode(res)
    wall, sim_t, found, cell = solve_timed(res, mode, "reduced", resolution=64)
    print(f"R = 15 µm at 64 px/µm: {wall:.0f} s on one core, dλ "
          f"{100 * (found.wavelength_nm / mode.wavelength_nm - 1):.4f} %, dQ {100 * (found.Q / mode.Q - 1):.2f} %"
          if found else f"R = 15 µm at 64 px/µm: {wall:.0f} s, mode not found")


if __name__ == "__main__":
    main()
