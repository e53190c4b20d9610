"""FDTD planning (cell, resolution, m values, warnings) and settings: fast, no time stepping."""

from __future__ import annotations

import math

import pytest

from wgm import fdtd
from wgm.config import parse_config
from wgm.errors import ConfigError
from wgm.model.materials import ConstantIndex
from wgm.fdtd.settings import FdtdSettings
from wgm.model.resonator import Coating, Disk, Resonator, Ring, Search, Sphere


def test_sphere_plan_defaults():
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0)),))
    pl = fdtd.plan(res, Search((590.0, 610.0), 1), FdtdSettings(domain="full"))
    # 16 px per wavelength in the densest material (n = 2 at 590 nm) -> 54.2, or 2.5 px across
    # the 50 nm shell -> 50; rounded up to a multiple of 4
    assert pl.resolution == 56
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
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0)),))
    pl = fdtd.plan(res, Search((590.0, 610.0), 1), FdtdSettings(m=(29,), resolution_px_per_um=20))
    text = " ".join(pl.warnings)
    assert "px per wavelength" in text and "thinnest layer" in text


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
