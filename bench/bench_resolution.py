"""Benchmark of the resolution rule on a thin high-index shell (issue 13): ``wgm`` at its
defaults against a tutorial-style plain-Meep script, run time and error against the exact
solver, in one run.

Case: a sphere of radius 2.0 µm, n = 1.46, with a 25 nm shell of n = 2.2, in air; TE1 l = m = 28
(593.67 nm, Q 1.40e4), band 585-605 nm, one azimuthal number (m = 28), TE only.

* ``wgm``: ``wgm.fdtd.solve(res, Search(BAND, 1, ("TE",)), FdtdSettings(m=(28,)))``: the
  resolution from the stated accuracy (0.1 % in λ, 5 % in Q; ``wgm.fdtd.plan``), the z mirror,
  the ring-down analysed until it settles.
* "tutorial": plain Meep the way the tutorials do it (ring-cyl.py): 50 px/µm (about 1.25 px
  across the shell, subpixel smoothing on), pad and PML of 1 µm, a broadband Gaussian pulse from
  an E_z point (ring) source just inside the rim, no symmetry, ``Harminv`` at the source point
  after the source for a fixed 300 time units.

Goal (issue 13): wgm >= 3x faster than the script, wgm within the stated accuracy.
Also printed: the errors wgm expects per mode (``wavelength_rel_error``, ``q_rel_error``).

Run:   OMP_NUM_THREADS=1 .venv/bin/python bench/bench_resolution.py       (~3 min on one core)
       add --high-q to also print the pad/PML doubling check on a Q ~ 4e5 mode (2-D limit, ~1 min)
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from wgm import fdtd, units  # noqa: E402
from wgm.exact import solver as exact  # noqa: E402
from wgm.fdtd.meep_model import meep  # noqa: E402
from wgm.fdtd.settings import FdtdSettings  # noqa: E402
from wgm.model.materials import ConstantIndex  # noqa: E402
from wgm.model.resonator import Coating, Disk, Resonator, Search, Sphere  # noqa: E402

from meep_work import RUN_LOG  # noqa: E402  (bench/: counts Meep's work per solve)

mp = meep()


def work() -> str:
    """Simulations, steps and cell updates since the last call."""
    sims, steps, updates = len(RUN_LOG), sum(t for t, _ in RUN_LOG.values()), sum(t * c for t, c in RUN_LOG.values())
    RUN_LOG.clear()
    return f"{sims} sim(s), {steps} steps, {updates:.3g} cell updates"

R_UM, N_CORE, T_UM, N_SHELL = 2.0, 1.46, 0.025, 2.2
BAND_NM = (585.0, 605.0)
M = 28
TOL_WL, TOL_Q = 1e-3, 0.05
RATIO_GOAL = 3.0
TUT_RESOLUTION = 50
TUT_PAD_UM, TUT_PML_UM = 0.975, 1.0  # a whole number of pixels at 50 px/µm
TUT_T_AFTER = 300


def the_case() -> Resonator:
    return Resonator(Sphere(R_UM, ConstantIndex(N_CORE)), (Coating(T_UM, ConstantIndex(N_SHELL)),))


def tutorial():
    """The tutorial-style script: its own lines [(λ nm, Q)] and its wall time (s)."""
    t0 = time.perf_counter()
    lam_c = sum(BAND_NM) / 2000.0
    fcen = 1 / lam_c
    df = 1 / (BAND_NM[0] / 1000) - 1 / (BAND_NM[1] / 1000)
    sr = R_UM + T_UM + TUT_PAD_UM + TUT_PML_UM
    sz = 2 * sr
    geometry = [mp.Sphere(radius=R_UM + T_UM, center=mp.Vector3(), material=mp.Medium(index=N_SHELL)),
                mp.Sphere(radius=R_UM, center=mp.Vector3(), material=mp.Medium(index=N_CORE))]
    pt = mp.Vector3(R_UM - 0.1 * lam_c / N_CORE, 0, 0)
    sim = mp.Simulation(cell_size=mp.Vector3(sr, 0, sz), geometry=geometry, boundary_layers=[mp.PML(TUT_PML_UM)],
                        resolution=TUT_RESOLUTION, dimensions=mp.CYLINDRICAL, m=M,
                        sources=[mp.Source(mp.GaussianSource(fcen, fwidth=2 * df), component=mp.Ez, center=pt)])
    h = mp.Harminv(mp.Ez, pt, fcen, 2 * df)
    sim.run(mp.after_sources(h), until_after_sources=TUT_T_AFTER)
    lines = [(units.wavelength_nm_from_freq(md.freq), md.Q) for md in h.modes if md.freq > 0 and md.Q > 0]
    return lines, time.perf_counter() - t0


def rel(a, b):
    return abs(a / b - 1)


def high_q():
    """Pad/PML doubling check on a Q ~ 4e5 mode: the 2-D limit of a 3 µm silica disk, TE m = 43."""
    res = Resonator(Disk(3.0, math.inf, ConstantIndex(1.45)))
    band = (555.0, 575.0)
    (ref,) = [md for md in exact.solve(res, Search(band, 1, ("TE",))).modes if md.l == 43]
    print(f"\nhigh Q: 2-D limit of a 3 µm n = 1.45 disk, TE m = 43: exact {ref.wavelength_nm:.4f} nm, Q {ref.Q:.4g}")
    lam = sum(band) / 2000.0
    for k_pad, k_pml in ((1, 1), (2, 2), (4, 2), (2, 4), (4, 4), (None, None)):
        st = FdtdSettings(m=(43,), max_periods=40000,
                          pad_um=k_pad and k_pad * lam, pml_um=k_pml and k_pml * lam)
        t0 = time.perf_counter()
        spec = fdtd.solve(res, Search(band, 1, ("TE",)), st)
        dt = time.perf_counter() - t0
        pl = fdtd.plan(res, Search(band, 1, ("TE",)), st)
        for md in spec.modes:
            if md.l == 43:
                tag = "defaults" if k_pad is None else f"pad {k_pad} λ, PML {k_pml} λ"
                print(f"  {tag:<20} (pad {pl.pad_um:.2f}, PML {pl.pml_um:.2f} µm): dλ {100 * rel(md.wavelength_nm, ref.wavelength_nm):.4f} %"
                      f"  Q {md.Q:.4g} (dQ {100 * (md.Q / ref.Q - 1):+.2f} %, resolved {md.q_resolved}, "
                      f"expected ±{100 * (md.q_rel_error or math.nan):.2f} %)  {dt:.1f} s")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--high-q", action="store_true", help="also the pad/PML check on a Q ~ 4e5 mode")
    ap.add_argument("-v", "--verbose", action="store_true", help="wgm's progress log on stderr")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    mp.verbosity(0)
    res = the_case()
    search = Search(BAND_NM, 1, ("TE",))
    settings = FdtdSettings(m=(M,))
    (ref,) = [md for md in exact.solve(res, search).modes if md.l == M]
    pl = fdtd.plan(res, search, settings)
    print(f"thin shell: sphere R = {R_UM} µm n = {N_CORE} + {1000 * T_UM:g} nm n = {N_SHELL}, TE1 l = m = {M}: "
          f"exact {ref.wavelength_nm:.4f} nm, Q {ref.Q:.5g}; load average {os.getloadavg()[0]:.2f}")
    print(f"  wgm plan: {pl.resolution:g} px/µm ({pl.points_per_wavelength:.1f} px per shortest wavelength in "
          f"n = {N_SHELL}, {pl.resolution * T_UM:.2f} px across the shell), pad {pl.pad_um:.3f}, PML {pl.pml_um:.3f} µm; "
          f"expected errors {100 * pl.grid_errors[0]:.3f} % in λ, {100 * pl.grid_errors[1]:.2f} % in Q")
    t0 = time.perf_counter()
    spec = fdtd.solve(res, search, settings)
    t_wgm = time.perf_counter() - t0
    work_wgm = work()
    hits = [md for md in spec.modes if md.l == M and md.polarization == "TE"]
    lines, t_tut = tutorial()
    work_tut = work()
    near = [ln for ln in lines if rel(ln[0], ref.wavelength_nm) < 5e-3]
    rows = []
    if hits:
        md = hits[0]
        rows.append(("wgm", t_wgm, rel(md.wavelength_nm, ref.wavelength_nm), rel(md.Q, ref.Q),
                     f"expected ≤ {100 * md.wavelength_rel_error:.3f} % / {100 * (md.q_rel_error or math.nan):.2f} %; "
                     f"{work_wgm}"))
    else:
        rows.append(("wgm", t_wgm, math.nan, math.nan, "not found"))
    if near:
        lam, q = min(near, key=lambda ln: abs(ln[0] - ref.wavelength_nm))
        rows.append(("tutorial", t_tut, rel(lam, ref.wavelength_nm), rel(q, ref.Q),
                     f"{TUT_RESOLUTION} px/µm, {TUT_T_AFTER} time units; {work_tut}"))
    else:
        rows.append(("tutorial", t_tut, math.nan, math.nan, "not found"))
    print(f"  {'':<9} {'wall s':>7} {'dλ %':>8} {'dQ %':>7}")
    for name, t, e_wl, e_q, extra in rows:
        ok = e_wl <= TOL_WL and e_q <= TOL_Q
        print(f"  {name:<9} {t:7.1f} {100 * e_wl:8.4f} {100 * e_q:7.2f}  {'within' if ok else 'NOT within'} "
              f"0.1 %/5 %  {extra}")
    print(f"  load average after: {os.getloadavg()[0]:.2f}")
    ratio = t_tut / t_wgm
    met = ratio >= RATIO_GOAL and rows[0][2] <= TOL_WL and rows[0][3] <= TOL_Q
    print(f"ratio tutorial/wgm = {ratio:.2f} (goal >= {RATIO_GOAL:g}) -> goal {'MET' if met else 'NOT MET'}")
    if args.high_q:
        high_q()


if __name__ == "__main__":
    main()
