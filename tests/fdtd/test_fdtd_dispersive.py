"""FDTD with dispersive materials (the default) against the exact solver with the true
dispersion (slow: real time stepping)."""

from __future__ import annotations

import math

import pytest
from conftest import meep_or_skip

mp = meep_or_skip()

from wgm import fdtd  # noqa: E402
from wgm.exact import solver as exact  # noqa: E402
from wgm.fdtd.settings import FdtdSettings  # noqa: E402
from wgm.model.dispersion_fit import model_resonator  # noqa: E402
from wgm.model.materials import ConstantIndex, library_material, nanocrystal_film  # noqa: E402
from wgm.model.resonator import Coating, Disk, Resonator, Search  # noqa: E402

pytestmark = pytest.mark.slow

LAMBDA_REL_TOL = 1e-3  # the acceptance (stated accuracy of [fdtd])
Q_REL_TOL = 0.05


def test_nanocrystal_film_near_its_edge_matches_exact_with_true_dispersion():
    """A 2-D-limit silica disk (R = 1.5 µm) with 100 nm of the real nanocrystal film (fill 0.5)
    over 544-566 nm, where k falls from 1.2e-4 to 3e-6 (the absorption edge's tail): every exact
    TE mode with Q >= 100 found, λ within 0.1 %, Q within 5 %.  Measured (84 px/µm, ~10 s):
    λ -4.7e-4 / -2.7e-4, Q -1.4 % / -1.2 %; fit error alone (exact model vs true) <= 1e-5 in λ
    and 0.9 % in Q; the per-line correction moves Q by +1.0 % / +0.7 %.  With the materials
    frozen at the band centre (56 and 112 px/µm) l = 26 falls out of the band and l = 25 is off by
    +1.7e-3 in λ and -20 % in Q."""
    res = Resonator(Disk(1.5, math.inf, library_material("silica")), (Coating(0.1, nanocrystal_film(0.5)),),
                    ConstantIndex(1.0))
    search = Search((544.0, 566.0), 1, ("TE",))
    true = [m for m in exact.solve(res, search).modes if m.Q >= 100]
    assert len(true) == 2  # TE1 l = 25, 26
    spec = fdtd.solve(res, search, FdtdSettings(resolution_px_per_um=84.0))
    assert spec.run_info["materials"] == "dispersive"
    fits = spec.run_info["material_fits"]
    assert [f["n_poles"] for f in fits] == [1, 3, 0]  # silica, film, air (regression values)
    for t in true:
        found = [m for m in spec.modes if (m.polarization, m.l, m.radial_order) == (t.polarization, t.l, t.radial_order)]
        assert found, f"exact mode {t} not found by FDTD"
        m = found[0]
        assert m.wavelength_nm == pytest.approx(t.wavelength_nm, rel=LAMBDA_REL_TOL)
        assert m.Q == pytest.approx(t.Q, rel=Q_REL_TOL)
        assert m.correction_q_rel is not None and abs(m.correction_q_rel) < 0.05
    # the reference FDTD identifies against: the exact modes of the fitted model
    model = exact.solve(model_resonator(res, fits), search).modes
    assert [m.l for m in model] == [t.l for t in true]
