"""Benchmark: FDTD with dispersive materials (the default) against the band-centre model, at
equal settings, on the real nanocrystal film near its absorption edge.

Cases
-----
* default: a 2-D-limit silica disk (R = 1.5 µm, a 1-D cell) with 100 nm of ``cspbbr3-nc``
  (fill 0.5), 544-566 nm, TE, 84 px/µm: the two TE1 modes l = 25, 26 (Q 3.3e4, 1.4e4);
* ``--sphere``: the flagship (``sims/coated_microsphere.toml``: 2 µm silica sphere, 50 nm
  film), its FDTD band 545-600 nm, m = 29, default settings (minutes per run).

Both runs use the same resolution, cell and ring-down rules; only ``[fdtd] materials``
differs.  Reference: the exact solver with the true dispersive materials.  Goal: the
dispersive run takes at most 1.5x the band-centre run's wall time.

Run:   .venv/bin/python bench/bench_dispersive.py [--sphere] [-v]
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

from wgm import fdtd  # noqa: E402
from wgm.exact import solver as exact  # noqa: E402
from wgm.fdtd.settings import FdtdSettings  # noqa: E402
from wgm.model.materials import ConstantIndex, library_material, nanocrystal_film  # noqa: E402
from wgm.model.resonator import Coating, Disk, Resonator, Search, Sphere  # noqa: E402

RATIO_GOAL = 1.5


def the_case(sphere: bool):
    film = nanocrystal_film(0.5)
    if sphere:
        res = Resonator(Sphere(2.0, library_material("silica")), (Coating(0.05, film),), ConstantIndex(1.0))
        return res, Search((545.0, 600.0), 3), {"m": (29,)}
    res = Resonator(Disk(1.5, math.inf, library_material("silica")), (Coating(0.1, film),), ConstantIndex(1.0))
    return res, Search((544.0, 566.0), 1, ("TE",)), {"resolution_px_per_um": 84.0}


def run(res, search, materials, kw):
    t0 = time.perf_counter()
    spec = fdtd.solve(res, search, FdtdSettings(materials=materials, **kw))
    return spec, time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sphere", action="store_true", help="the flagship sphere (minutes per run)")
    ap.add_argument("-v", action="store_true", help="wgm's progress log on stderr")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO if args.v else logging.WARNING, format="%(message)s")
    res, search, kw = the_case(args.sphere)
    ref = {(m.polarization, m.l, m.radial_order): m for m in exact.solve(res, search).modes}
    times = {}
    for materials in ("band-centre", "dispersive"):
        spec, dt = run(res, search, materials, kw)
        times[materials] = dt
        print(f"{materials}: {dt:.1f} s, {len(spec.modes)} lines")
        for m in spec.modes:
            e = ref.get((m.polarization, m.l, m.radial_order))
            err = (f"λ {100 * (m.wavelength_nm / e.wavelength_nm - 1):+.4f} %  Q {100 * (m.Q / e.Q - 1):+.2f} %"
                   if e is not None else "(not identified)")
            print(f"  {m.polarization} l={m.l} q={m.radial_order} {m.wavelength_nm:.4f} nm Q {m.Q:.4g}: vs exact {err}")
        missed = [k for k in ref if k[1] is not None and k[1] >= min(kw.get("m", (0,)))
                  and all((m.polarization, m.l, m.radial_order) != k for m in spec.modes)]
        if missed:
            print(f"  exact modes not found: {missed}")
    ratio = times["dispersive"] / times["band-centre"]
    print(f"dispersive / band-centre wall time: {ratio:.2f} (goal <= {RATIO_GOAL})")


if __name__ == "__main__":
    main()
