"""FDTD engine against the exact solver and Meep's own references (slow: real time stepping).

Run with ``pytest -m slow``; ``make test`` (and CI) run them.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import meep_or_skip

mp = meep_or_skip()

from wgm.exact import solver as exact  # noqa: E402
from wgm import fdtd
from wgm.model.materials import ConstantIndex  # noqa: E402
from wgm.fdtd.settings import FdtdSettings
from wgm.model.resonator import Coating, Disk, Resonator, Ring, Search, Sphere  # noqa: E402

pytestmark = pytest.mark.slow

# Acceptance of the issue: at default settings, FDTD within 0.1 % of the exact wavelength and
# 5 % of the exact Q (the default grid is chosen for them from the measured convergence model,
# ~18 px per wavelength in the densest material: <= 0.08 % expected; the quasi-PML at two
# wavelengths of pad and PML gives Q to <1 %).
LAMBDA_REL_TOL = 1e-3
Q_REL_TOL = 0.05


def _compare(res, search, settings):
    spec = fdtd.solve(res, search, settings)
    ref = exact.solve(res, Search(search.wavelength_nm, 3))
    pairs = []
    for m in spec.modes:
        match = [e for e in ref.modes if (e.polarization, e.l, e.radial_order) == (m.polarization, m.l, m.radial_order)]
        assert match, f"FDTD mode not identified: {m}"
        pairs.append((m, match[0]))
    return spec, pairs


def test_bare_sphere_matches_exact_at_defaults():
    """n = 1.46 sphere, R = 2 µm, m = 20: TE/TM with l = 20 and 21 (both mirror classes)."""
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)))
    spec, pairs = _compare(res, Search((700.0, 800.0), 1), FdtdSettings(m=(20,)))
    found = {(m.polarization, m.l) for m, _ in pairs}
    assert found == {("TE", 20), ("TM", 20), ("TE", 21), ("TM", 21)}
    for m, e in pairs:
        assert m.wavelength_nm == pytest.approx(e.wavelength_nm, rel=LAMBDA_REL_TOL)
        assert m.Q == pytest.approx(e.Q, rel=Q_REL_TOL)
        assert m.q_resolved and m.harminv_error < 1e-6
    prof = spec.profiles[0]
    assert prof.intensity().shape == (len(prof.r_um), len(prof.z_um))


def test_coated_sphere_matches_exact_at_defaults():
    """50 nm n = 2 shell on a 2 µm n = 1.46 sphere: TE1 l = 29 at 599.9 nm, Q 6.2e4."""
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0)),))
    spec, pairs = _compare(res, Search((590.0, 610.0), 1, ("TE",)), FdtdSettings(m=(29,)))
    assert [(m.polarization, m.l, m.radial_order) for m, _ in pairs] == [("TE", 29, 1)]
    m, e = pairs[0]
    assert m.wavelength_nm == pytest.approx(e.wavelength_nm, rel=LAMBDA_REL_TOL)
    assert m.Q == pytest.approx(e.Q, rel=Q_REL_TOL)


# Reduced domain (issue "FDTD for real-size microspheres"): 0.05 % in wavelength, 5 % in Q.
# Measured at 84 px/µm (the default then: 2.5 px across the 30 nm film): -0.017 % and -0.9 %; the
# wavelength error is the grid's (second order), Q the film's discretisation.
LARGE_LAMBDA_REL_TOL = 5e-4
LARGE_Q_REL_TOL = 0.05


def test_large_coated_sphere_in_reduced_domain_matches_exact():
    """``sims/large_microsphere.toml``: 15 µm n = 1.46 sphere with a 30 nm n = 2 + 0.002i film
    (absorption-limited Q ~ 5.8e3), TE1 l = m = 252: the automatic reduced cell (7 % of the full cell's pixels) agrees
    with the exact solver.  ~3.5 min on one core."""
    from wgm.config import load_config

    cfg = load_config(Path(__file__).resolve().parents[2] / "sims" / "large_microsphere.toml")
    res, band = cfg.resonator, cfg.fdtd.wavelength_nm
    assert res.shape.radius_um == 15.0 and res.coatings[0].material.n_at(530.0) == complex(2.0, 0.002)
    assert cfg.fdtd.m == (252,) and cfg.fdtd.max_polar_order == 0
    # the grid of the measurement above (the default before the accuracy rule of issue 13, which
    # gives 72 px/µm here): at 72 px/µm the ring-down of this staircased lossy film did not settle
    # within 20 min (at 64: 652 s), against ~3.5 min at 84
    settings = dataclasses.replace(cfg.fdtd, resolution_px_per_um=84.0)
    spec = fdtd.solve(res, cfg.search, settings)
    (cell,) = spec.run_info["fdtd_cells"]
    assert cell["domain"] == "reduced" and cell["cells"] < 0.1 * cell["full_domain_cells"]
    (ref,) = [m for m in exact.solve(res, Search(band, 1, ("TE",))).modes if m.l == 252]
    hits = [m for m in spec.modes if m.polarization == "TE" and m.l == 252]
    assert len(hits) == 1, spec.modes
    assert hits[0].wavelength_nm == pytest.approx(ref.wavelength_nm, rel=LARGE_LAMBDA_REL_TOL)
    assert hits[0].Q == pytest.approx(ref.Q, rel=LARGE_Q_REL_TOL)


def test_guard_widens_a_cut_that_is_too_tight(monkeypatch, caplog):
    """A z cut forced far inside the mode (ξ = 1: a third of its polar width) must be caught
    by the guard from the mode's own field and widened until the answer is right."""
    # (the module: ``wgm.fdtd.plan`` as an attribute is the exported function plan())
    monkeypatch.setattr(importlib.import_module("wgm.fdtd.plan"), "_polar_cut", lambda p_max, share: 1.0)
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0)),))
    band = (590.0, 610.0)
    settings = FdtdSettings(m=(29,), domain="reduced", max_polar_order=0)
    with caplog.at_level("WARNING", logger="wgm.fdtd"):
        spec = fdtd.solve(res, Search(band, 1, ("TE",)), settings)
    assert any("widening" in r.getMessage() for r in caplog.records)
    (cell,) = spec.run_info["fdtd_cells"]
    assert cell["z_um"][1] > 1.0  # widened beyond the forced 0.5 µm + PML
    (ref,) = [m for m in exact.solve(res, Search(band, 1, ("TE",))).modes if m.l == 29]
    hits = [m for m in spec.modes if m.polarization == "TE" and m.l == 29]
    assert len(hits) == 1
    assert hits[0].wavelength_nm == pytest.approx(ref.wavelength_nm, rel=LAMBDA_REL_TOL)
    assert hits[0].Q == pytest.approx(ref.Q, rel=Q_REL_TOL)


def test_2d_ring_matches_exact_and_converges_at_second_order():
    """Meep's tutorial ring (n = 3.4, radii 1-2 µm) in the 2-D limit (a 1-D cell in r), m = 4:
    exact f = 0.147431, Q = 343.9.  The frequency error falls like resolution^-2 (slope of
    log error vs log resolution within 2 ± 0.5: subpixel averaging keeps second order)."""
    res = Resonator(Ring(2.0, 1.0, math.inf, ConstantIndex(3.4)))
    search = Search((6500.0, 7100.0), 1, ("TE",))
    ref = exact.solve(res, search).modes[0]
    errs, resolutions = [], (20, 40, 80)
    for r in resolutions:
        spec = fdtd.solve(res, search, FdtdSettings(m=(4,), resolution_px_per_um=r))
        (m,) = spec.modes
        assert (m.polarization, m.l, m.radial_order) == ("TE", 4, 1)
        assert m.Q == pytest.approx(ref.Q, rel=Q_REL_TOL)
        errs.append(abs(m.wavelength_nm / ref.wavelength_nm - 1))
    slope = np.polyfit(np.log(resolutions), np.log(errs), 1)[0]
    assert -2.5 < slope < -1.5, (errs, slope)
    assert errs[-1] < LAMBDA_REL_TOL


def test_meep_ring_cyl_reference_values():
    """Meep's own python/tests/test_ring_cyl.py case reproduces the values published for the
    installed Meep version (1.25-1.32 and >= 1.33 differ: PR #3164); tolerance as Meep's test
    (inf-norm relative 1e-7 of the largest entry, Q)."""
    mp.verbosity(0)
    n, w, r, pad, dpml = 3.4, 1, 1, 4, 2
    sr = r + w + pad + dpml
    fcen, df = 0.15, 0.1
    sim = mp.Simulation(cell_size=mp.Vector3(sr, 0, 0),
                        geometry=[mp.Block(center=mp.Vector3(r + (w / 2)), size=mp.Vector3(w, mp.inf, mp.inf),
                                           material=mp.Medium(index=n))],
                        boundary_layers=[mp.PML(dpml)], resolution=10,
                        sources=[mp.Source(src=mp.GaussianSource(fcen, fwidth=df), component=mp.Ez,
                                           center=mp.Vector3(r + 0.1))],
                        dimensions=mp.CYLINDRICAL, m=3, split_chunks_evenly=False)
    h = mp.Harminv(mp.Ez, mp.Vector3(r + 0.1), fcen, df)
    sim.run(mp.after_sources(h), until_after_sources=200)
    m1 = h.modes[0]
    got = np.array([m1.freq, m1.decay, m1.Q, abs(m1.amp), m1.amp.real, m1.amp.imag])
    major, minor = (int(v) for v in mp.__version__.split(".")[:2])
    if (major, minor) >= (1, 33):
        want = np.array([0.1183512829, -6.90652379e-4, 85.680789968, 0.0257037383, -0.024019220, -0.009152006])
    else:
        want = np.array([0.11835455441250553, -6.907792691629741e-4, 85.66741917133473, 0.025701906263451237,
                         -0.024027038833537524, -0.009126302124459489])
    assert np.max(np.abs(got - want)) <= 1e-7 * np.max(np.abs(want))


# The slab effective-index method (EIM) separates r and z, which a disk whose radius is two
# wavelengths is not: for such microdisks it is good to a few per cent in wavelength.  Measured
# at 24 px/µm (regression values): TE17 796.59 nm vs EIM 810.07 (-1.7 %), TM17 802.35 vs 810.87
# (-1.0 %); the grid's own error at ~10 px per wavelength in the disk is ~0.3 %.  3 % separates
# "near the estimate" from a wrong m (the FSR here is ~5 %) or a wrong polarization family.
EIM_REL_TOL = 0.03


def test_finite_disk_runs_and_labels_modes():
    """A finite disk (no exact solution): modes carry m, a polarization and a radial order
    from the field, and lie near the slab-effective-index estimate."""
    from wgm.fdtd.plan import slab_neff

    res = Resonator(Disk(1.5, 0.4, ConstantIndex(2.0)))
    spec = fdtd.solve(res, Search((780.0, 820.0), 1), FdtdSettings(resolution_px_per_um=24))
    assert {m.polarization for m in spec.modes} == {"TE", "TM"}  # TE17 and TM17 are in the band
    for m in spec.modes:
        assert m.polarization in ("TE", "TM") and m.radial_order == 1 and m.l is None
        assert 780.0 <= m.wavelength_nm <= 820.0
        # Mie TE (E mostly along z) is the slab's TM mode (E normal to the slab), Mie TM its TE
        neff = slab_neff(2.0, 1.0, 0.4, m.wavelength_nm / 1000, te=m.polarization == "TM")
        band = Search((700.0, 900.0), 1, (m.polarization,))
        (est,) = [e for e in exact.solve(Resonator(Disk(1.5, math.inf, ConstantIndex(neff))), band).modes
                  if e.m == m.m]
        assert m.wavelength_nm == pytest.approx(est.wavelength_nm, rel=EIM_REL_TOL)
        # the finite height lowers the effective index: bluer than the infinitely tall disk's mode
        (tall,) = [e for e in exact.solve(Resonator(Disk(1.5, math.inf, ConstantIndex(2.0))),
                                          Search((700.0, 1100.0), 1, (m.polarization,))).modes if e.m == m.m]
        # (the slab indices, 1.79 and 1.86, are 7-11 % below 2; measured ratios 0.88 TE, 0.93 TM)
        assert m.wavelength_nm < 0.95 * tall.wavelength_nm


def test_disk_on_denser_substrate_runs_with_m_given():
    """A silica disk on silicon (defect 15): with ``fdtd.m`` given the run goes through (7 s).
    Every WGM leaks into a substrate denser than the disk, with no evanescent gap to cross: a
    line Harminv keeps (it drops Q < 5) must have a small positive Q (measured: no line at all
    is kept here; the bound 100 is loose, a guard against a spurious high-Q line)."""
    res = Resonator(Disk(2.0, 0.5, ConstantIndex(1.45)), substrate=ConstantIndex(4.1))
    spec = fdtd.solve(res, Search((1500.0, 1600.0), 1), FdtdSettings(m=(10,), resolution_px_per_um=16))
    assert spec.method == "fdtd" and spec.run_info["fdtd_cells"][0]["mirror_z"] is False
    assert all(0 < m.Q < 100 for m in spec.modes)


@pytest.mark.mpi
def test_mpi_two_ranks_match_serial(tmp_path):
    """mpirun -np 2 (domain decomposition) gives the serial modes within Harminv's error;
    only rank 0 writes."""
    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("mpirun not installed")
    cfg = tmp_path / "c.toml"
    cfg.write_text('[resonator]\nshape = "ring"\nradius_um = 2.0\nwidth_um = 1.0\nheight_um = "inf"\nindex = 3.4\n'
                   '[search]\nwavelength_nm = [5000.0, 9000.0]\nmax_radial_order = 1\npolarizations = ["TE"]\n'
                   '[fdtd]\nresolution_px_per_um = 20\n')
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
    runs = {}
    for np_ in (1, 2):
        out = tmp_path / f"np{np_}"
        cmd = [mpirun, "--oversubscribe", "-np", str(np_), sys.executable, "-m", "wgm", "modes", str(cfg),
               "--method", "fdtd", "--out", str(out), "--json"]
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=900)
        assert r.returncode == 0, r.stderr[-2000:]
        runs[np_] = json.loads(r.stdout)["modes"]
        assert (out / "modes.json").exists()
    assert len(runs[1]) == len(runs[2]) > 0
    for a, b in zip(runs[1], runs[2]):
        assert (a["polarization"], a["m"], a["l"]) == (b["polarization"], b["m"], b["l"])
        tol = 10 * max(a["harminv_error"], b["harminv_error"], 1e-12)
        assert abs(1000 / a["wavelength_nm"] - 1000 / b["wavelength_nm"]) <= max(tol, 1e-9)
        assert b["Q"] == pytest.approx(a["Q"], rel=1e-3)


FDTD_SIMS = [p for p in sorted((Path(__file__).resolve().parents[2] / "sims").glob("*.toml"))
             if p.name in ("microdisk.toml", "microring_on_substrate.toml")]


@pytest.mark.parametrize("path", FDTD_SIMS, ids=[p.name for p in FDTD_SIMS])
def test_fdtd_sims_run_at_low_resolution(path, tmp_path, capfd):
    """Every FDTD-only example in sims/ runs end to end (coarse grid: a smoke test).

    (capfd: with --method fdtd the CLI keeps file descriptor 1 for its results only and sends
    Meep's own prints to stderr, so the output is captured at the descriptor level.)"""
    from wgm.cli import main

    out = tmp_path / "out"
    assert main(["modes", str(path), "--method", "fdtd", "--set", "fdtd.resolution_px_per_um=20",
                 "--out", str(out), "--fields", "--json"]) == 0
    modes = json.loads(capfd.readouterr().out)["modes"]
    assert modes and all(m["polarization"] in ("TE", "TM") for m in modes)
    # the field files show whispering-gallery modes: one PNG per stored profile, each profile a
    # mode of the list, its |E|² peaking inside the resonator near its rim (beyond half the
    # outer radius: a WGM hugs the rim; within a 50 nm pixel-and-a-bit of the surface)
    import h5py

    from wgm.config import load_config

    r_out = load_config(path).resonator.outer_radius_um
    with h5py.File(out / "fields.h5", "r") as f:
        groups = [f[name] for name in f]
        assert len(groups) == len(list(out.glob("field_*.png"))) > 0
        for g in groups:
            assert any(abs(g.attrs["wavelength_nm"] - m["wavelength_nm"]) < 1e-9 for m in modes)
            e2 = sum(np.abs(g[c][()]) ** 2 for c in ("Er", "Ep", "Ez"))
            i_r, _ = np.unravel_index(np.argmax(e2), e2.shape)
            assert 0.5 * r_out < g["r_um"][i_r] < r_out + 0.05, (g.attrs["wavelength_nm"], g["r_um"][i_r])


# --- defects 4 and 6 of issue 12: `--method both` with a gain film -------------------------

GAIN_Q_TOL = 0.02  # relative, on 1/Q: an 11-pixel film at the default grid (README: FDTD Q within ~0.3 %)


@pytest.mark.parametrize("k", [-0.0002, -0.003], ids=["below-threshold", "above-threshold"])
def test_method_both_with_a_gain_film_compares_like_with_like(k, capfd):
    """A 0.7 µm 2-D disk with a 200 nm n = 1.8 film of gain k (the L-L example's geometry):
    `wgm modes --method both` compares FDTD with an exact reference that keeps the gain
    (before, the reference froze k to 0 and reported the passive Q 2974), and both engines
    report a growing mode alike, Q < 0 with "net gain" (before, FDTD reported a positive
    lower bound)."""
    import wgm.cli as cli

    cfg = Path(__file__).resolve().parents[2] / "sims" / "disk_2d.toml"
    sets = ["resonator.radius_um=0.7", "resonator.index=1.46", "resonator.coating.0.index=1.8",
            "resonator.coating.0.thickness_um=0.2", f"resonator.coating.0.extinction={k}", "fdtd.m=[15]",
            "search.max_radial_order=1", "search.wavelength_nm=[520,570]", 'search.polarizations=["TE"]']
    assert cli.main(["modes", str(cfg), "--method", "both", "--json", *[a for s in sets for a in ("--set", s)]]) == 0
    doc = json.loads(capfd.readouterr().out)
    (row,) = doc["comparison"]
    passive_q = 2974.0  # the passive TE1 m = 15 mode (README, sims/lasing_disk.toml)
    assert abs(1 / row["Q_exact"] - 1 / passive_q) > 0.2 / passive_q  # the gain matters here
    assert 1 / row["Q_fdtd"] == pytest.approx(1 / row["Q_exact"], rel=GAIN_Q_TOL)
    (fdtd_mode,) = doc["fdtd"]["modes"]
    grows = row["Q_exact"] < 0
    assert grows == (k == -0.003) and ("net gain" in fdtd_mode["note"]) == grows
