"""FDTD planning (cell, resolution, m values, warnings) and settings: fast, no time stepping."""

from __future__ import annotations

import math

import pytest

from wgm import fdtd
from wgm.config import parse_config
from wgm.errors import ConfigError
from wgm.model.materials import ConstantIndex
from wgm.fdtd.plan import default_resolution, grid_errors
from wgm.fdtd.settings import FdtdSettings
from wgm.model.resonator import Coating, Disk, Resonator, Ring, Search, Sphere


def test_sphere_plan_defaults():
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0)),))
    pl = fdtd.plan(res, Search((590.0, 610.0), 1), FdtdSettings(domain="full"))
    # from the stated accuracy: the convergence model's N points per shortest wavelength (590 nm)
    # in the densest material (n = 2), rounded up to a multiple of 4
    assert pl.resolution == default_resolution(1e-3, 0.05, 2.0, 0.59)
    assert pl.resolution % 4 == 0
    lam_c = 2 / (1 / 0.59 + 1 / 0.61)
    assert pl.pad_um == pytest.approx(2 * lam_c) and pl.pml_um == pytest.approx(2 * lam_c)
    # at least resonator + pad + PML, rounded up to 1/4 µm so that every size is whole pixels
    assert 0 <= pl.cell_r_um - (2.05 + 4 * lam_c) < 0.25
    assert 0 <= pl.cell_z_um - 2 * (2.05 + 4 * lam_c) < 0.5
    assert (pl.cell_r_um * pl.resolution).is_integer() and (pl.cell_z_um * pl.resolution / 2).is_integer()
    assert pl.mirror_z
    assert 29 in pl.m_values  # TE1 l = 29 sits at 599.9 nm
    assert pl.monitor_r_um < 2.0
    assert not pl.warnings


def test_2d_limit_is_a_1d_cell_without_mirror():
    res = Resonator(Ring(2.0, 1.0, math.inf, ConstantIndex(3.4)))
    pl = fdtd.plan(res, Search((6500.0, 7000.0), 1), FdtdSettings())
    assert pl.cell_z_um == 0 and not pl.mirror_z
    assert pl.m_values == (4,)
    assert 1.0 < pl.monitor_r_um < 2.0


def test_finite_disk_m_from_slab_effective_index():
    """A 300 nm silicon-nitride-like disk: the slab effective index picks m well below the
    bulk-index estimate 2π R n / λ."""
    res = Resonator(Disk(3.0, 0.3, ConstantIndex(2.0)))
    pl = fdtd.plan(res, Search((760.0, 790.0), 1), FdtdSettings())
    bulk_m = 2 * math.pi * 3.0 * 2.0 / 0.775
    assert pl.m_values and max(pl.m_values) < bulk_m
    assert min(pl.m_values) > 2 * math.pi * 3.0 * 1.0 / 0.775  # above the light line of the cladding
    assert pl.cell_z_um > 0.3 and pl.mirror_z


def test_substrate_breaks_the_mirror():
    res = Resonator(Ring(5.0, 1.0, 0.4, ConstantIndex(2.0)), substrate=ConstantIndex(1.45))
    pl = fdtd.plan(res, Search((1500.0, 1600.0), 1), FdtdSettings(m=(40,)))
    assert not pl.mirror_z and pl.m_values == (40,)


def test_coarse_grid_warnings():
    """A grid coarser than the accuracy asked, and a layer too thin for the model's claim."""
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.005, ConstantIndex(2.0)),))
    pl = fdtd.plan(res, Search((590.0, 610.0), 1), FdtdSettings(m=(29,), resolution_px_per_um=20))
    text = " ".join(pl.warnings)
    assert "px per wavelength" in text and "exceed the accuracy asked" in text
    assert "coating 1 (5 nm) is 0.1 px thick" in text


# --- the resolution rule from the stated accuracy (issue 13)

_LAM_MIN = 0.59


def _shell(t_um, n=2.2):
    return Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(t_um, ConstantIndex(n)),))


def test_default_resolution_meets_the_accuracy_with_the_safety_factor():
    """At the chosen grid the convergence model's errors, times the safety factor, are within
    the accuracy asked; one multiple of 4 coarser they are not."""
    from wgm.fdtd.plan import SAFETY

    for acc_wl, acc_q in ((1e-3, 0.05), (1e-4, 0.05), (1e-3, 0.005), (3e-3, 0.2)):
        res_ = default_resolution(acc_wl, acc_q, 2.2, _LAM_MIN)
        e_wl, e_q = grid_errors(res_, 2.2, _LAM_MIN)
        assert SAFETY * e_wl <= acc_wl and SAFETY * e_q <= acc_q
        e_wl, e_q = grid_errors(res_ - 4, 2.2, _LAM_MIN)
        assert SAFETY * e_wl > acc_wl or SAFETY * e_q > acc_q


def test_default_resolution_is_monotone_in_the_accuracy_and_the_index():
    accs = (3e-3, 1e-3, 3e-4, 1e-4)
    grid = [default_resolution(a, 0.05, 1.46, _LAM_MIN) for a in accs]
    assert grid == sorted(grid) and grid[0] < grid[-1]
    grid_q = [default_resolution(1e-2, a, 1.46, _LAM_MIN) for a in (0.2, 0.05, 0.01)]
    assert grid_q == sorted(grid_q) and grid_q[0] < grid_q[-1]
    assert default_resolution(1e-3, 0.05, 2.2, _LAM_MIN) > default_resolution(1e-3, 0.05, 1.46, _LAM_MIN)


def test_plan_resolution_follows_the_stated_accuracy():
    search = Search((590.0, 610.0), 1)
    coarse = fdtd.plan(_shell(0.025), search, FdtdSettings(m=(28,), accuracy_wavelength=3e-3, accuracy_q=0.2))
    default = fdtd.plan(_shell(0.025), search, FdtdSettings(m=(28,)))
    fine = fdtd.plan(_shell(0.025), search, FdtdSettings(m=(28,), accuracy_wavelength=2e-4))
    assert coarse.resolution < default.resolution < fine.resolution
    for pl in (coarse, default, fine):
        assert not pl.warnings
    # the expected errors are in the run record, with the model
    conv = default.describe()["convergence"]
    assert conv["order_p"] == 2 and conv["expected_wavelength_rel_error"] <= 1e-3
    assert conv["expected_q_rel_error"] <= 0.05


def test_thin_lossless_film_no_longer_sets_the_grid():
    """The old rule (2.5 px across the thinnest layer) gave 100 px/µm for a 25 nm shell and
    500 for a 5 nm one; now the grid depends on the index and the accuracy only."""
    search = Search((590.0, 610.0), 1)
    grids = {t: fdtd.plan(_shell(t), search, FdtdSettings(m=(28,))).resolution for t in (0.05, 0.025, 0.005)}
    assert len(set(grids.values())) == 1
    assert grids[0.025] < 100


def test_resolution_override_is_honoured():
    pl = fdtd.plan(_shell(0.025), Search((590.0, 610.0), 1), FdtdSettings(m=(28,), resolution_px_per_um=30))
    assert pl.resolution == 30
    assert pl.describe()["resolution_px_per_um"] == 30
    e_wl, e_q = pl.grid_errors
    assert e_wl == pytest.approx(grid_errors(30, 2.2, 0.59)[0])
    assert any("exceed the accuracy asked" in w for w in pl.warnings)


def test_expected_errors_add_the_grid_and_harminv():
    from wgm.fdtd.analysis import expected_errors
    from wgm.fdtd.meep_model import HarminvLine

    pl = fdtd.plan(_shell(0.025), Search((590.0, 610.0), 1), FdtdSettings(m=(28,)))
    g_wl, g_q = pl.grid_errors
    f, decay, err = 1 / 0.6, -1e-4, 1e-7
    line = HarminvLine(freq=f, decay=decay, amp=1.0, err=err)
    e_wl, e_q = expected_errors(pl, line, True)
    assert e_wl == pytest.approx(g_wl + err / f) and e_q == pytest.approx(g_q + err / 1e-4)
    assert expected_errors(pl, line, False)[1] is None


def test_removed_resolution_keys_are_refused():
    raw = {"resonator": {"shape": "sphere", "radius_um": 2.0, "index": 1.46},
           "search": {"wavelength_nm": [700, 800]}}
    for key in ("points_per_wavelength", "min_layer_px"):
        with pytest.raises(ConfigError, match=key):
            parse_config({**raw, "fdtd": {key: 16}})


def test_settings_validation_and_config():
    with pytest.raises(ConfigError, match="fdtd.m"):
        FdtdSettings(m=(-1,))
    with pytest.raises(ConfigError, match="fdtd.resolution_px_per_um"):
        FdtdSettings(resolution_px_per_um=0)
    raw = {"resonator": {"shape": "sphere", "radius_um": 2.0, "index": 1.46},
           "search": {"wavelength_nm": [700, 800]}, "fdtd": {"m": [20, 21], "resolution_px_per_um": 30}}
    cfg = parse_config(raw)
    assert cfg.fdtd.m == (20, 21) and cfg.fdtd.resolution_px_per_um == 30
    assert parse_config(cfg.to_dict()) == cfg
    with pytest.raises(ConfigError, match="did you mean 'resolution_px_per_um'"):
        parse_config({**raw, "fdtd": {"resolution": 30}})
