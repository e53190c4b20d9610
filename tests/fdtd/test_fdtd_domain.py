"""The FDTD reduced domain (planning, no time stepping), complex indices in the config and the
exact solver, and the conductivity correction: fast, no Meep time stepping."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.special import erfcinv, jv

from wgm.exact import solver as exact
from wgm import fdtd
from wgm.fdtd import analysis
from wgm.fdtd.plan import _inner_cut_um, _polar_cut
from wgm.config import parse_config
from wgm.errors import ConfigError
from wgm.model.materials import ConstantIndex
from wgm.fdtd.settings import FdtdSettings
from wgm.model.resonator import Coating, Resonator, Ring, Search, Sphere


def _big_sphere():
    """The issue's case: a 15 µm silica-like sphere with a 30 nm absorbing n = 2 film."""
    return Resonator(Sphere(15.0, ConstantIndex(1.46)), (Coating(0.03, ConstantIndex(2.0, 0.002)),))


def test_large_sphere_gets_a_reduced_cell_near_the_rim():
    res = _big_sphere()
    search = Search((529.0, 530.5), 1, ("TE",))
    pl = fdtd.plan(res, search, FdtdSettings(m=(252,)))
    full = fdtd.plan(res, search, FdtdSettings(m=(252,), domain="full"))
    assert pl.domain == "reduced" and full.domain == "full" and full.r_min_um == 0
    # the caustic of m = 252 in the core is at m / (n k) = 14.54 µm: the wall sits below it,
    # where the field has decayed, and well above the axis
    caustic = 252 / (1.46 * 2 * math.pi / 0.5305)
    assert 11.0 < pl.r_min_um < caustic - 0.5
    # z: the fundamental's Gaussian polar profile has a 1/e half-width R/sqrt(2m) = 0.67 µm in
    # energy; the cut is a few of those, far below the sphere's 15 µm half-height
    assert 2.5 < pl.z_half_um < 6.0 and pl.cut_z
    assert pl.cells < 0.1 * full.cells and pl.describe()["full_domain_cells"] == full.cells
    assert pl.monitor_r_um > pl.r_min_um + 1.0
    # whole pixels: Meep would otherwise round the cell (and print about it)
    for size in (pl.cell_r_um - pl.r_min_um, pl.cell_z_um, pl.r_min_um):
        assert float(size * pl.resolution).is_integer()


def test_cell_size_hardly_grows_with_the_radius():
    """The point of the reduced domain: cells grow like R^(1/3) (r) and R^(1/2) (z), not R^2."""
    cells = []
    for radius in (5.0, 20.0):
        res = Resonator(Sphere(radius, ConstantIndex(1.46)))
        pl = fdtd.plan(res, Search((600.0, 620.0), 1, ("TE",)),
                       FdtdSettings(resolution_px_per_um=30, domain="reduced"))
        assert pl.domain == "reduced"
        cells.append(pl.cells)
    assert cells[1] / cells[0] < 4.0  # the full cell would grow 16x


def test_auto_keeps_the_full_cell_when_little_is_saved_and_full_forces_it():
    ring = Resonator(Ring(2.0, 1.0, math.inf, ConstantIndex(3.4)))  # Meep's tutorial ring, m = 4
    pl = fdtd.plan(ring, Search((6500.0, 7000.0), 1), FdtdSettings())
    assert pl.domain == "full" and pl.r_min_um == 0
    res = _big_sphere()
    pl = fdtd.plan(res, Search((529.0, 530.5), 1), FdtdSettings(m=(252,), domain="full"))
    assert pl.domain == "full" and not pl.cut_z


def test_inner_cut_is_where_the_bessel_estimate_has_decayed():
    m, n, f = 252, 1.46, 1 / 0.529
    r = _inner_cut_um(m, n, f, 1e-8)
    k = n * 2 * math.pi * f
    xs = np.linspace(m, m + 30, 3000)
    peak = np.max(jv(m, xs) ** 2)
    # the bisection lands on the density asked for (to its own tolerance)
    assert jv(m, k * r) ** 2 / peak == pytest.approx(1e-8, rel=1e-3)


def test_polar_cut_matches_the_gaussian_tail():
    """p = 0: |exp(−ξ²/2)|² = exp(−ξ²), whose two-sided tail share beyond ξ is erfc(ξ)."""
    for share in (1e-6, 1e-10):
        assert _polar_cut(0, share) == pytest.approx(erfcinv(share), abs=2e-3)
    assert _polar_cut(2, 1e-8) > _polar_cut(1, 1e-8) > _polar_cut(0, 1e-8)


def test_domain_settings_are_validated():
    with pytest.raises(ConfigError, match="fdtd.domain"):
        FdtdSettings(domain="small")
    with pytest.raises(ConfigError, match="fdtd.max_polar_order"):
        FdtdSettings(max_polar_order=-1)
    raw = {"resonator": {"shape": "sphere", "radius_um": 2.0, "index": 1.46},
           "search": {"wavelength_nm": [700, 800]}, "fdtd": {"domain": "full", "max_polar_order": 0}}
    cfg = parse_config(raw)
    assert cfg.fdtd.domain == "full" and cfg.fdtd.max_polar_order == 0
    assert parse_config(cfg.to_dict()) == cfg


def _coated(k):
    return {"resonator": {"shape": "sphere", "radius_um": 2.0, "index": 1.46,
                          "coating": [{"thickness_um": 0.05, "index": 2.0, "extinction": k}]},
            "search": {"wavelength_nm": [590, 610], "max_radial_order": 1, "polarizations": ["TE"]}}


def test_negative_extinction_is_gain_in_core_and_coatings_only():
    cfg = parse_config(_coated(-1e-5))
    assert cfg.resonator.coatings[0].material.n_at(600.0) == complex(2.0, -1e-5)
    assert parse_config(cfg.to_dict()) == cfg
    raw = _coated(0.0) | {"surroundings": {"index": 1.33, "extinction": -1e-4}}
    with pytest.raises(ConfigError, match="surroundings.extinction.*gain"):
        parse_config(raw)
    with pytest.raises(ConfigError, match="extinction"):
        parse_config(_coated(float("nan")))


def test_exact_solver_with_gain_film():
    """Below threshold the film's gain lowers the loss linearly (first order in k); above it the
    mode grows: Q < 0, still a resolved number, with a note."""
    def inv_q(k):
        cfg = parse_config(_coated(k))
        (mode,) = exact.solve(cfg.resonator, cfg.search).modes
        return 1 / mode.Q, mode

    q0, _ = inv_q(0.0)
    q1, _ = inv_q(-1e-5)
    q2, _ = inv_q(-2e-5)
    assert q0 > q1 > q2 > 0
    # linear response: the second step lowers 1/Q as much as the first (to the second-order
    # change of the field, ~1e-3 here)
    assert (q0 - q2) == pytest.approx(2 * (q0 - q1), rel=1e-3)
    inv, mode = inv_q(-8e-5)  # twice the threshold k (g_th = 8.0 /cm at 600 nm -> k = 3.8e-5)
    assert inv < 0 and mode.q_resolved and "net gain" in mode.note


def test_conductivity_correction_restores_band_centre_absorption():
    """A field living only in an absorbing film: Meep's Im ε = εσ/ω is too small above the
    band centre by f_c/f; the correction adds back exactly the difference (per unit Re ε)."""
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0, 0.01)),))
    pl = fdtd.plan(res, Search((590.0, 610.0), 1), FdtdSettings(m=(29,), domain="full"))
    r = np.linspace(0.0, 3.0, 301)
    z = np.linspace(-0.5, 0.5, 101)
    rr, zz = np.meshgrid(r, z, indexing="ij")
    in_film = (np.hypot(rr, zz) > 2.0) & (np.hypot(rr, zz) <= 2.05)
    arrs = {c: np.zeros(rr.shape, complex) for c in ("Er", "Ep", "Ez")}
    arrs["Ez"][in_film] = 1.0
    eps_film, sigma = pl.media[1].epsilon, pl.media[1].d_conductivity
    eps = np.where(in_film, eps_film, 1.0)
    f = 1.05 * pl.f_centre
    d = analysis.conductivity_correction(res, pl, r, z, eps, arrs, f)
    im_c = eps_film * sigma / (2 * math.pi * pl.f_centre)
    assert im_c == pytest.approx(2 * 2.0 * 0.01, rel=1e-9)  # Im n² = 2nk at the band centre
    assert d == pytest.approx(im_c * (1 - 1 / 1.05) / eps_film, rel=1e-9)
