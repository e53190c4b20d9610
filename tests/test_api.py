"""The notebook entry points of ``import wgm``: each does what the command of the same name does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import wgm

SIMS = Path(__file__).resolve().parents[1] / "sims"


def test_import_loads_neither_meep_nor_matplotlib_nor_mpi():
    """``import wgm`` is cheap and safe in a notebook: no Meep (its banner, its atexit), no
    matplotlib backend, no MPI initialisation; ``wgm.plotting`` loads on first use."""
    code = ("import sys, wgm; print(sorted(m for m in ('meep', 'matplotlib', 'mpi4py') if m in sys.modules)); "
            "wgm.plotting; print('matplotlib' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.split("\n")[:2] == ["[]", "True"]


def test_sweep_is_a_function_even_after_its_module_is_imported(tmp_path):
    import wgm.sweeps  # noqa: F401  (binds the module wgm.sweeps, not wgm.sweep)

    result = wgm.sweep(SIMS / "radius_sweep.toml", out=tmp_path, vary=["resonator.radius_um=2.0,2.1"], plots=False)
    assert result.counts["points"] == 2 and result.counts["done"] == 2
    direct = wgm.solve(*_res_search(SIMS / "radius_sweep.toml", 2.1))
    rows = [r for r in result.rows() if r["resonator.radius_um"] == 2.1]
    assert sorted(r["wavelength_nm"] for r in rows) == sorted(m.wavelength_nm for m in direct.modes)
    again = wgm.sweep(SIMS / "radius_sweep.toml", out=tmp_path, vary=["resonator.radius_um=2.0,2.1"], plots=False)
    assert again.counts["done"] == 2  # resumed from the point files


def _res_search(path, radius_um):
    cfg = wgm.load_config(path, [f"resonator.radius_um={radius_um}"])
    return cfg.resonator, cfg.search


def test_fit_of_a_peak_list_recovers_the_radius():
    """Peaks of a 2.07 µm coated sphere (exact solver, q = 1 and 2, Q > 200), fitted from the
    config's 2.0 µm: the radius to 0.1 % (the fitting module's acceptance), every l right."""
    cfg = wgm.load_config(SIMS / "coated_microsphere.toml",
                          ["resonator.radius_um=2.07", "search.wavelength_nm=[540, 600]", "search.max_radial_order=2"])
    truth = [m for m in wgm.solve(cfg.resonator, cfg.search).modes if m.Q > 200]
    result = wgm.fit([m.wavelength_nm for m in truth], SIMS / "coated_microsphere.toml", "resonator.radius_um",
                     overrides=["search.wavelength_nm=[540, 600]", "search.max_radial_order=2"])
    assert result.parameters["resonator.radius_um"]["value"] == pytest.approx(2.07, rel=1e-3)
    labels = {a.measured_nm: (a.polarization, a.l) for a in result.best.assignments}
    assert all(labels[m.wavelength_nm] == (m.polarization, m.l) for m in truth)


def test_thresholds_use_the_configs_gain_table():
    """The config's [gain] table (here edited with --set) is the gain spectrum used."""
    cfg = wgm.load_config(SIMS / "threshold_vs_size.toml", ["resonator.radius_um=3.0", "gain.peak_gain_per_cm=800"])
    result = wgm.thresholds(cfg)
    assert result.gain == cfg.gain and result.gain.peak_gain_per_cm == 800.0
    assert result.modes and all(lm.gain.threshold_gain_per_cm > 0 for lm in result.modes)
    assert all(lm.available_gain_per_cm == pytest.approx(cfg.gain.at(lm.gain.threshold_wavelength_nm), rel=1e-12)
               for lm in result.modes)
