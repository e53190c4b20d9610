"""Benchmark of the finite-element engine (issue 14): speed, memory and accuracy.

Four parts, each printing a table (``--parts a,b,c,d``, default all):

a. **Large coated sphere, one m**: a silica-like sphere (n = 1.46) of radius 15 µm with a 30 nm
   absorbing film (n = 2.0 + 0.002i) in air; the TE and TM radial-order-1 modes of the one m
   (l = m) whose TE q = 1 mode is nearest 530 nm, in a band 0.3 nm wider than that pair on each
   side.  FEM at defaults (``FemSettings(m=(m,))``): wall time (goal < 10 s), λ and Q against
   the exact solver, unknowns, peak RSS of the solve, and the size of one sparse LU factor
   (``L.nnz + U.nnz`` of SuperLU, from re-factoring the coarse mesh's first shifted matrix
   through the engine's internal API: plan, mesh, assemble, free unknowns, ``eigen.factorise``).
b. **Flagship**: ``sims/coated_microsphere.toml`` (2 µm silica sphere, 50 nm CsPbBr3-nanocrystal
   film, dispersive, 520-600 nm, q <= 3), the whole band by the exact solver and by FEM at the
   file's settings, side by side (goal: both under a minute in all), and the per-mode agreement.
c. **FDTD vs FEM at equal accuracy**: a disk (R = 2 µm, 0.45 µm thick, n = 2, in air), one m,
   a narrow band (m = 15, 1100-1180 nm: TE q = 1 Q ~ 3e3, TM q = 1 Q ~ 9e3).  The reference is FEM at ``accuracy_wavelength = 1e-9``; FDTD at its defaults
   (``wgm.fdtd.solve``, in a subprocess so that Meep is imported there only); then FEM at an
   accuracy matched to FDTD's achieved one (its λ and Q errors against the reference, clamped
   to the allowed ranges).  Both timed in this one run (the ratio is the figure; absolute times
   depend on the machine's load).
d. **Convergence**: bare sphere (n = 1.45, R = 1 µm, m = 20), TE q = 1, λ error against the
   exact root versus elements per wavelength for P2 and P3 (no error-estimate solve), and the
   order fitted to the log-log slope (theory: error ∝ h^(2p)).

Every FEM solve runs in a forked child process, so that its peak RSS is its own (the engine's
``run_info["peak_memory_mb"]``, ``ru_maxrss`` of the process, starts from the parent's small
footprint).

Run:   OMP_NUM_THREADS=1 .venv/bin/python bench/bench_fem.py [--parts a,b,c,d] [-v]
       (one core; part c runs Meep for a few minutes)
Prints figures; not a test.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import multiprocessing as mproc
import os
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from wgm.exact import solver as exact  # noqa: E402
from wgm.fem import FemSettings  # noqa: E402
from wgm.fem.plan import ERROR_MODEL  # noqa: E402  (no scikit-fem or gmsh there)
from wgm.model.materials import ConstantIndex  # noqa: E402
from wgm.model.resonator import Coating, Disk, Resonator, Search, Sphere  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOAL_A_S = 10.0  # part a: one m of a 15 µm coated sphere, seconds
GOAL_B_S = 60.0  # part b: exact + FEM over the flagship's band, seconds
BYTES_PER_LU_ENTRY = 16  # complex128 values (the integer indices add ~4 bytes per entry)
REF_ACCURACY = 1e-9  # part c: the reference FEM's accuracy_wavelength
DISK = dict(radius_um=2.0, thickness_um=0.45, n=2.0)


# --------------------------------------------------------------------------------------
# helpers


def in_child(fn, *args):
    """``fn(*args)`` in a forked child (its own peak RSS); returns what ``fn`` returns."""
    ctx = mproc.get_context("fork")
    with ctx.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(fn, args)


def rel(a, b):
    return abs(a - b) / abs(b)


def fem_timed(res, search, settings):
    """(seconds, modes as dicts, run_info) of one ``wgm.fem.solve``."""
    import wgm.fem as fem

    t0 = time.perf_counter()
    spec = fem.solve(res, search, settings)
    wall = time.perf_counter() - t0
    modes = [dict(pol=md.polarization, l=md.l, m=md.m, q=md.radial_order, wl=md.wavelength_nm, Q=md.Q,
                  e_wl=md.wavelength_rel_error, e_q=md.q_rel_error) for md in spec.modes]
    missing = [(mm.polarization, mm.l, mm.radial_order, mm.wavelength_nm) for mm in spec.missing]
    return wall, modes, spec.run_info, missing


def lu_size(res, search, settings):
    """(unknowns, L.nnz + U.nnz, seconds) of the coarse mesh's first shifted matrix, through the
    engine's internal API (the same steps as :func:`wgm.fem.run._solve_plan`)."""
    from wgm.fem import eigen, run
    from wgm.fem.forms import assemble
    from wgm.fem.mesh import build_mesh
    from wgm.fem.plan import plan

    pl = plan(res, search, settings, pml_factor=run.PML_FACTOR)
    fm = build_mesh(res, pl.domain, pl.sizes_um, pml_factor=run.PML_FACTOR)
    m = pl.m_values[0]
    pencil, _ = assemble(fm, pl.order, m, settings.pml_strength)
    walls = pl.classes[0]
    free = eigen.free_dofs(fm, pencil.basis, m, walls)
    tg = pl.targets[(m, 0)][0]
    eps = run._eps_at(run._materials(res), tg.k0)
    A = pencil.A[free][:, free]
    B = pencil.mass(eps)[free][:, free]
    sigma = complex(tg.k0) ** 2
    t0 = time.perf_counter()
    lu = eigen.factorise((A - sigma * B).tocsc())
    return len(free), int(lu.L.nnz + lu.U.nnz), int(A.nnz), time.perf_counter() - t0


def fem_line(info, key):
    d = info.get(key)
    if not d:
        return f"{key}: -"
    return (f"{key}: {d['elements']} elements, {d['unknowns']} unknowns, mesh {d['mesh_s']:.2f} s, "
            f"assembly {d['assembly_s']:.2f} s, solve {d['solve_s']:.2f} s, {d['factorisations']} LU")


# --------------------------------------------------------------------------------------
# a. 15 µm coated sphere, one m


def part_a():
    res = Resonator(Sphere(15.0, ConstantIndex(1.46)), (Coating(0.03, ConstantIndex(2.0, 0.002)),))
    t0 = time.perf_counter()
    near = exact.solve(res, Search((520.0, 540.0), 1)).modes  # wide: TM q = 1 of the same l is 5.2 nm off
    t_ex = time.perf_counter() - t0
    m = min((md for md in near if md.polarization == "TE"), key=lambda md: abs(md.wavelength_nm - 530.0)).l
    ref = [md for md in near if md.l == m]
    assert {md.polarization for md in ref} == {"TE", "TM"}, "both q = 1 modes of l = m expected"
    band = (min(md.wavelength_nm for md in ref) - 0.3, max(md.wavelength_nm for md in ref) + 0.3)
    search = Search(band, 1)
    settings = FemSettings(m=(m,))
    wall, modes, info, missing = in_child(fem_timed, res, search, settings)
    n_free, lu_nnz, a_nnz, t_lu = in_child(lu_size, res, search, settings)
    print(f"a. 15 µm silica sphere (n 1.46) + 30 nm film n = 2.0+0.002i, in air; m = {m}, "
          f"band {band[0]:.3f}-{band[1]:.3f} nm, q = 1, FEM defaults (P{info['plan']['order']}, "
          f"{info['plan']['elements_per_wavelength']:.3g} el./λ, domain r {info['plan']['domain']['r_lo']:.2f}-"
          f"{info['plan']['domain']['r_hi']:.2f} µm, classes {info['plan']['classes']})")
    print(f"   exact solver (for the band): {t_ex:.2f} s")
    print(f"   FEM: {wall:.1f} s wall (goal < {GOAL_A_S:g} s: {'MET' if wall < GOAL_A_S else 'NOT MET'}), "
          f"peak RSS {info['peak_memory_mb']:.0f} MB")
    print(f"   {fem_line(info, 'coarse')}")
    print(f"   {fem_line(info, 'refined')}")
    print(f"   one LU (coarse mesh, class 0): {n_free} free unknowns, A nnz {a_nnz}, L+U nnz {lu_nnz} "
          f"(fill x{lu_nnz / a_nnz:.1f}, ~{lu_nnz * BYTES_PER_LU_ENTRY / 2**20:.0f} MB of values), "
          f"factorised in {t_lu:.1f} s")
    _agreement(ref, modes, missing)
    print()


def _agreement(ref, modes, missing):
    hdr = (f"   {'mode':<14} {'exact λ nm':>12} {'exact Q':>10} {'FEM λ nm':>12} {'FEM Q':>10} "
           f"{'dλ/λ':>9} {'dQ/Q':>9} {'est. dλ/λ':>9} {'est. dQ/Q':>9}")
    print(hdr)
    worst_l = worst_q = 0.0
    found = 0
    for rm in sorted(ref, key=lambda md: md.wavelength_nm):
        name = f"{rm.polarization} l={rm.l} q={rm.radial_order}"
        fm = [md for md in modes if (md["pol"], md["l"], md["q"]) == (rm.polarization, rm.l, rm.radial_order)]
        if not fm:
            print(f"   {name:<14} {rm.wavelength_nm:12.5f} {rm.Q:10.4g} {'not found':>12}")
            continue
        md = fm[0]
        found += 1
        dl, dq = rel(md["wl"], rm.wavelength_nm), rel(md["Q"], rm.Q)
        worst_l, worst_q = max(worst_l, dl), max(worst_q, dq)
        eq = f"{md['e_q']:9.1e}" if md["e_q"] is not None else f"{'-':>9}"
        print(f"   {name:<14} {rm.wavelength_nm:12.5f} {rm.Q:10.4g} {md['wl']:12.5f} {md['Q']:10.4g} "
              f"{dl:9.1e} {dq:9.1e} {md['e_wl']:9.1e} {eq}")
    keys = {(rm.polarization, rm.l, rm.radial_order) for rm in ref}
    extra = [md for md in modes if (md["pol"], md["l"], md["q"]) not in keys]
    for md in extra:
        print(f"   FEM only: {md['pol']} l={md['l']} q={md['q']} λ {md['wl']:.5f} nm Q {md['Q']:.4g}")
    for mm in missing:
        print(f"   FEM reports missing: {mm}")
    print(f"   {found} of {len(ref)} exact modes found; worst dλ/λ {worst_l:.1e}, dQ/Q {worst_q:.1e}")


# --------------------------------------------------------------------------------------
# b. the flagship config, whole band


def part_b():
    from wgm.config import load_config

    cfg = load_config(ROOT / "sims" / "coated_microsphere.toml")
    res, search = cfg.resonator, cfg.search
    t0 = time.perf_counter()
    ref = exact.solve(res, search).modes
    t_ex = time.perf_counter() - t0
    wall, modes, info, missing = in_child(fem_timed, res, search, cfg.fem)
    total = t_ex + wall
    print(f"b. flagship sims/coated_microsphere.toml: band {search.wavelength_nm[0]:g}-{search.wavelength_nm[1]:g} nm, "
          f"q <= {search.max_radial_order}; FEM P{info['plan']['order']}, m = {info['plan']['m'][0]}..."
          f"{info['plan']['m'][-1]} ({len(info['plan']['m'])} values), {info['plan']['elements_per_wavelength']:.3g} el./λ")
    print(f"   exact {t_ex:.1f} s ({len(ref)} modes), FEM {wall:.1f} s ({len(modes)} modes), peak RSS "
          f"{info['peak_memory_mb']:.0f} MB; together {total:.1f} s (goal < {GOAL_B_S:g} s: "
          f"{'MET' if total < GOAL_B_S else 'NOT MET'})")
    print(f"   {fem_line(info, 'coarse')}")
    print(f"   {fem_line(info, 'refined')}")
    _agreement(ref, modes, missing)
    print()


# --------------------------------------------------------------------------------------
# c. FDTD vs FEM at equal accuracy, finite disk


def disk():
    return Resonator(Disk(DISK["radius_um"], DISK["thickness_um"], ConstantIndex(DISK["n"])))


def fdtd_child(m, band):
    """Run in a subprocess (``--fdtd-child``): FDTD at defaults, timed; JSON on stdout's last line."""
    from wgm import fdtd
    from wgm.fdtd.settings import FdtdSettings

    res = disk()
    t0 = time.perf_counter()
    spec = fdtd.solve(res, Search(band, 1), FdtdSettings(m=(m,)))
    wall = time.perf_counter() - t0
    out = dict(wall=wall, modes=[dict(pol=md.polarization, m=md.m, q=md.radial_order, wl=md.wavelength_nm, Q=md.Q)
                                 for md in spec.modes],
               resolution=[c.get("resolution_px_per_um") for c in spec.run_info.get("fdtd_cells", ())])
    sys.stdout.write("\n" + json.dumps(out) + "\n")


def part_c(m, band):
    res = disk()
    search = Search(band, 1)
    wall_ref, ref, info_ref, _ = in_child(fem_timed, res, search,
                                          FemSettings(m=(m,), accuracy_wavelength=REF_ACCURACY, accuracy_q=1e-5))
    print(f"c. disk R = {DISK['radius_um']} µm, {DISK['thickness_um']} µm thick, n = {DISK['n']}, in air; m = {m}, "
          f"band {band[0]:g}-{band[1]:g} nm, q = 1")
    print(f"   reference FEM (accuracy_wavelength {REF_ACCURACY:g}): {wall_ref:.1f} s, "
          f"{info_ref['coarse']['unknowns']} unknowns; modes:")
    for md in ref:
        print(f"     {md['pol']} q={md['q']} λ {md['wl']:.6f} nm Q {md['Q']:.6g} (est. dλ/λ {md['e_wl']:.1e}, "
              f"dQ/Q {md['e_q'] if md['e_q'] is None else format(md['e_q'], '.1e')})")
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--fdtd-child", f"{m}", f"{band[0]},{band[1]}"],
                          capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    t_proc = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"   FDTD subprocess failed ({proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
        return
    fd = json.loads(proc.stdout.strip().splitlines()[-1])
    print(f"   FDTD defaults: {fd['wall']:.1f} s in fdtd.solve ({t_proc:.1f} s with the subprocess's imports), "
          f"resolution {fd['resolution']} px/µm; modes:")
    err_l = err_q = 0.0
    pairs = []
    for md in fd["modes"]:
        same = [r for r in ref if r["pol"] == md["pol"]]
        r = min(same, key=lambda r: abs(r["wl"] - md["wl"]), default=None)
        if r is None:
            print(f"     {md['pol']} λ {md['wl']:.6f} nm Q {md['Q']:.6g}: no reference mode")
            continue
        dl, dq = rel(md["wl"], r["wl"]), rel(md["Q"], r["Q"])
        pairs.append((md, r))
        err_l, err_q = max(err_l, dl), max(err_q, dq)
        print(f"     {md['pol']} q={md['q']} λ {md['wl']:.6f} nm Q {md['Q']:.6g}: dλ/λ {dl:.1e}, dQ/Q {dq:.1e} "
              f"against the reference")
    if not pairs:
        print("   no FDTD mode matched the reference: no ratio")
        return
    acc_l = min(max(err_l, 1e-9), 0.01)
    acc_q = min(max(err_q, 1e-6), 0.5)
    wall_m, got, info_m, _ = in_child(fem_timed, res, search,
                                      FemSettings(m=(m,), accuracy_wavelength=acc_l, accuracy_q=acc_q))
    print(f"   FEM matched (accuracy_wavelength {acc_l:.1e}, accuracy_q {acc_q:.1e}): {wall_m:.2f} s, "
          f"P{info_m['plan']['order']} {info_m['plan']['elements_per_wavelength']:.3g} el./λ, "
          f"{info_m['coarse']['unknowns']} unknowns; modes:")
    fem_l = fem_q = 0.0
    for md in got:
        r = min((r for r in ref if r["pol"] == md["pol"]), key=lambda r: abs(r["wl"] - md["wl"]), default=None)
        if r is None:
            continue
        dl, dq = rel(md["wl"], r["wl"]), rel(md["Q"], r["Q"])
        fem_l, fem_q = max(fem_l, dl), max(fem_q, dq)
        print(f"     {md['pol']} q={md['q']} λ {md['wl']:.6f} nm Q {md['Q']:.6g}: dλ/λ {dl:.1e}, dQ/Q {dq:.1e}")
    print(f"   ratio FDTD/FEM wall time = {fd['wall'] / wall_m:.0f} (FDTD {fd['wall']:.1f} s, worst dλ/λ {err_l:.1e} "
          f"dQ/Q {err_q:.1e}; FEM {wall_m:.2f} s, worst dλ/λ {fem_l:.1e} dQ/Q {fem_q:.1e})")
    print()


# --------------------------------------------------------------------------------------
# d. convergence


CONV = {2: (4.0, 5.0, 6.0, 8.0, 10.0), 3: (3.0, 4.0, 5.0, 6.0)}


def part_d():
    res = Resonator(Sphere(1.0, ConstantIndex(1.45)))
    m = 20
    ex = [md for md in exact.solve(res, Search((300.0, 600.0), 1, ("TE",))).modes if md.l == m][0]
    band = (ex.wavelength_nm * 0.99, ex.wavelength_nm * 1.01)
    search = Search(band, 1, ("TE",))
    print(f"d. convergence: bare sphere n = 1.45, R = 1 µm, m = l = {m}, TE q = 1, exact λ {ex.wavelength_nm:.8f} nm, "
          f"Q {ex.Q:.5g}")
    print(f"   {'order':>5} {'el./λ':>6} {'unknowns':>9} {'s':>6} {'dλ/λ':>9} {'dQ/Q':>9} {'slope':>8}")
    for p, dens in CONV.items():
        xs, ys = [], []
        for n in dens:
            st = FemSettings(m=(m,), order=p, elements_per_wavelength=n, error_estimate=False)
            wall, modes, info, _ = in_child(fem_timed, res, search, st)
            hit = [md for md in modes if md["pol"] == "TE" and md["q"] == 1]
            if not hit:
                print(f"   P{p:<4} {n:6.1f}  mode not found")
                continue
            dl, dq = rel(hit[0]["wl"], ex.wavelength_nm), rel(hit[0]["Q"], ex.Q)
            xs.append(n)
            ys.append(dl)
            local = f"{math.log(ys[-2] / dl) / math.log(xs[-2] / n):8.2f}" if len(ys) >= 2 else f"{'':8}"
            print(f"   P{p:<4} {n:6.1f} {info['coarse']['unknowns']:9d} {wall:6.2f} {dl:9.2e} {dq:9.2e} {local}")
        ok = [(x, y) for x, y in zip(xs, ys) if y > 1e-12]  # above the exact root's own accuracy
        if len(ok) >= 2:
            slope = np.polyfit(np.log([x for x, _ in ok]), np.log([y for _, y in ok]), 1)[0]
            print(f"   P{p}: fitted dλ/λ ∝ N^{slope:.2f} (theory N^-{2 * p}); C_p = "
                  f"{math.exp(np.mean(np.log([y for _, y in ok]) + 2 * p * np.log([x for x, _ in ok]))):.2g} "
                  f"at the theoretical order (the engine's model: {ERROR_MODEL[p]:.2g})")
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--parts", default="a,b,c,d")
    ap.add_argument("--disk-m", type=int, default=None, help="part c's m (default: from the reference solve)")
    ap.add_argument("--fdtd-child", nargs=2, metavar=("M", "BAND"), help=argparse.SUPPRESS)
    ap.add_argument("-v", "--verbose", action="store_true", help="the engines' progress log on stderr")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    logging.getLogger("skfem").setLevel(logging.WARNING)
    if args.fdtd_child:
        lo, hi = (float(v) for v in args.fdtd_child[1].split(","))
        fdtd_child(int(args.fdtd_child[0]), (lo, hi))
        return
    parts = args.parts.split(",")
    print(f"FEM benchmark, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}, load average {os.getloadavg()[0]:.2f} "
          f"({os.cpu_count()} CPUs)", flush=True)
    for p in parts:
        t0 = time.perf_counter()
        if p == "a":
            part_a()
        elif p == "b":
            part_b()
        elif p == "c":
            part_c(DISK_M if args.disk_m is None else args.disk_m, DISK_BAND)
        elif p == "d":
            part_d()
        print(f"   (part {p}: {time.perf_counter() - t0:.0f} s, load average {os.getloadavg()[0]:.2f})", flush=True)


DISK_M = 15
DISK_BAND = (1100.0, 1180.0)

if __name__ == "__main__":
    main()
