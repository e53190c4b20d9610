"""FDTD package manners and conventions, fast (no time stepping): importing without Meep, one Q
convention with the exact solver, the gain kept by ``frozen_at``, the slab effective index,
the substrate error, the mirror classes a polarization needs, Meep's version in the record and
the run-time estimate."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import meep_or_skip, synthetic_fdtd_record

from wgm import fdtd, units
from wgm.errors import ConfigError, UserError
from wgm.exact import solver as exact
from wgm.fdtd import analysis, run
from wgm.fdtd.meep_model import HarminvLine
from wgm.fdtd.plan import mirror_classes, slab_neff
from wgm.fdtd.ringdown import estimate_remaining
from wgm.fdtd.settings import FdtdSettings
from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Coating, Disk, Resonator, Search, Sphere

ROOT = Path(__file__).resolve().parents[2]


def _python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          cwd=ROOT, env={"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "PATH": "/usr/bin:/bin"},
                          timeout=300)


# --- defect 12: importing wgm.fdtd does not import Meep, take over stdout or register atexit


def test_importing_the_fdtd_package_leaves_meep_stdout_and_atexit_alone():
    r = _python("""
        import atexit, sys
        registered = []  # the modules of the atexit handlers registered by the imports
        register = atexit.register
        atexit.register = lambda fn, *a, **k: (registered.append(getattr(fn, "__module__", "?")),
                                               register(fn, *a, **k))[1]
        stdout = sys.stdout
        import wgm.fdtd, wgm.fdtd.run, wgm.fdtd.plan, wgm.fdtd.meep_model, wgm.fdtd.ringdown
        import wgm.fdtd.analysis, wgm.fdtd.lasing_run
        assert "meep" not in sys.modules, "meep imported"
        assert sys.stdout is stdout, "stdout replaced"
        ours = [m for m in registered if m.split(".")[0] in ("wgm", "meep")]
        assert not ours, f"atexit handlers registered by {ours}"
        print("ok")
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok\n"


def test_meep_is_loaded_silently_at_first_use():
    meep_or_skip()
    r = _python("""
        import sys
        from wgm.fdtd import meep_model
        mp = meep_model.meep()
        assert "meep" in sys.modules and mp.__version__
        print("ok")
    """)
    assert r.returncode == 0, r.stderr
    # neither Meep's banner at import nor its "Elapsed run time" message at exit
    assert r.stdout == "ok\n"


# --- defect 6: a growing line has Q < 0 and the note "net gain", as in the exact solver


def _synthetic_line_record(decay, err=1e-9):
    """A 2-D disk, an E_z field with one maximum just inside the rim, and a settled Harminv line."""
    f = 0.5 * (units.freq_from_wavelength_nm(590.0) + units.freq_from_wavelength_nm(610.0))  # the band centre
    return synthetic_fdtd_record(HarminvLine(freq=f, decay=decay, amp=1.0 + 0j, err=err))


def test_growing_line_has_negative_q_and_a_net_gain_note():
    f = 1 / 0.6
    mode, prof = _synthetic_line_record(decay=+1e-5)  # grows; |Im f| = 1e4 x Harminv's error
    assert mode.q_resolved
    assert mode.Q == pytest.approx(-f / (2 * 1e-5), rel=0.02)  # f is the band centre, ~600 nm
    assert mode.Q < 0 and "net gain" in mode.note and "lower bound" not in mode.note
    assert mode.size_parameter[1] > 0  # Im ω > 0: growing (exp(−iωt)), as the exact solver's x
    # the exact solver's wording, so one filter finds both
    assert analysis.NET_GAIN_NOTE == "net gain: the mode grows (the gain is above its threshold)"


def test_decaying_and_unresolved_lines_keep_their_convention():
    mode, _ = _synthetic_line_record(decay=-1e-5)
    assert mode.q_resolved and mode.Q > 0 and "net gain" not in mode.note
    mode, _ = _synthetic_line_record(decay=+1e-9, err=1e-9)  # below Harminv's error: unresolved
    assert not mode.q_resolved and mode.Q > 0 and "lower bound" in mode.note


# --- defect 4: the exact reference of --method both keeps the gain FDTD simulates


def test_frozen_at_keeps_gain():
    film = ConstantIndex(2.0, -2e-5)
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, film),))
    frozen = res.frozen_at(600.0)
    assert frozen.coatings[0].material.n_at(600.0) == complex(2.0, -2e-5)
    # constant indices: freezing changes nothing, so the Q of the reference is the model's own
    search = Search((590.0, 610.0), 1, ("TE",))
    (a,) = exact.solve(res, search).modes
    (b,) = exact.solve(frozen, search).modes
    assert b.Q == pytest.approx(a.Q, rel=1e-9)
    passive = exact.solve(Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0)),)),
                          search).modes[0]
    assert b.Q > passive.Q  # the gain raises Q: the reference is not the passive resonator's


# --- defect 10: the slab effective index is right or an error, never a silent fallback


def test_slab_neff_without_guided_mode_is_an_error():
    with pytest.raises(UserError, match="no guided slab mode"):
        slab_neff(1.45, 1.45, 0.3, 1.55, True)
    with pytest.raises(UserError, match="no guided slab mode"):
        slab_neff(1.45, 3.48, 0.3, 1.55, False)


def test_slab_neff_follows_the_weak_guidance_limit():
    """Symmetric slab, half-thickness a, V = k0 a sqrt(n1² − n2²): the fundamental TE mode has
    b = (neff² − n2²)/(n1² − n2²) ≈ V² for V ≪ 1 (tan(V√(1−b)) = √(b/(1−b)) expanded), with a
    relative correction of order V².  The old code returned the cladding index for V ~ 1e-4."""
    n1, n2, lam = 1.5, 1.45, 1.55
    for t in (1e-4, 1e-3, 0.02):
        v = 2 * math.pi / lam * (t / 2) * math.sqrt(n1**2 - n2**2)
        neff = slab_neff(n1, n2, t, lam, True)
        b = (neff**2 - n2**2) / (n1**2 - n2**2)
        assert n2 < neff < n1
        assert b == pytest.approx(v**2, rel=max(5 * v**2, 1e-3))  # 1e-3: brentq's xtol on neff at V ~ 1e-4


def test_slab_neff_thick_slab_orders_polarizations():
    """Thick slab: neff → n_core; TM (E normal to the slab) is less confined than TE."""
    te = slab_neff(2.0, 1.0, 2.0, 0.8, True)
    tm = slab_neff(2.0, 1.0, 2.0, 0.8, False)
    assert 1.95 < tm < te < 2.0


# --- defect 15: a substrate denser than the disk


def _silica_on_silicon():
    return Resonator(Disk(3.0, 0.3, ConstantIndex(1.45)), substrate=ConstantIndex(4.1))


def test_denser_substrate_names_the_cause_the_key_and_the_way_out():
    with pytest.raises(ConfigError) as err:
        fdtd.plan(_silica_on_silicon(), Search((1500.0, 1600.0), 1), FdtdSettings())
    assert err.value.key == "resonator.substrate"
    text = str(err.value)
    assert "leaks into it" in text and "fdtd.m" in text and "surroundings.index" not in text


def test_denser_substrate_plans_with_m_given():
    pl = fdtd.plan(_silica_on_silicon(), Search((1500.0, 1600.0), 1), FdtdSettings(m=(15,)))
    assert pl.m_values == (15,) and not pl.mirror_z and pl.cell_z_um > 0.3
    # the grid counts points per wavelength in the densest material, the substrate (n = 4.1 at 1500 nm)
    from wgm.fdtd.plan import default_resolution

    assert pl.resolution == default_resolution(1e-3, 0.05, 4.1, 1.5)
    assert pl.media[-1].epsilon == pytest.approx(4.1**2)  # the substrate is the last medium


# --- defect 17: only the simulations a wanted polarization needs


def _components(res, search, settings=FdtdSettings()):
    pl = fdtd.plan(res, search, settings)
    return [c.component for c in mirror_classes(res, pl, search, settings)]


def test_mirror_classes_follow_the_wanted_polarizations():
    disk_2d = Resonator(Disk(2.0, math.inf, ConstantIndex(1.46)))
    band = (590.0, 610.0)
    st = FdtdSettings(m=(29,))
    assert _components(disk_2d, Search(band, 1, ("TM",)), st) == ["Hz"]  # Mie: TM is H_z in 2-D
    assert _components(disk_2d, Search(band, 1, ("TE",)), st) == ["Ez"]
    assert _components(disk_2d, Search(band, 1), st) == ["Ez", "Hz"]
    disk = Resonator(Disk(3.0, 0.3, ConstantIndex(2.0)))
    assert _components(disk, Search((760.0, 790.0), 1, ("TM",)), FdtdSettings(m=(40,))) == ["Hz"]
    # a sphere's mirror classes mix TE and TM by polar order: both, unless the reduced cell
    # holds polar order 0 only
    sphere = Resonator(Sphere(15.0, ConstantIndex(1.46)))
    s_band = Search((529.0, 530.5), 1, ("TM",))
    assert _components(sphere, s_band, FdtdSettings(m=(252,), domain="full")) == ["Ez", "Hz"]
    assert _components(sphere, s_band, FdtdSettings(m=(252,), domain="reduced", max_polar_order=0)) == ["Hz"]


# --- defect 7: the FDTD record names Meep's version


def test_fdtd_spectrum_records_meep_version(monkeypatch):
    mp = meep_or_skip()
    monkeypatch.setattr(run, "_solve_m", lambda *a, **k: [])  # no time stepping
    res = Resonator(Disk(3.0, 0.3, ConstantIndex(2.0)))
    spec = fdtd.solve(res, Search((760.0, 790.0), 1), FdtdSettings(m=(40,)))
    assert spec.versions["meep"] == mp.__version__
    assert spec.to_dict()["versions"]["meep"] == mp.__version__


# --- defect 17: an honest estimate of the remaining run time


def test_run_estimate_uses_the_measured_stepping_rate():
    # 100 time units stepped in 4 s (25 per s); the earliest stop at t = 300, the limit at 5000
    est = estimate_remaining(t_now=150.0, t_start=50.0, wall_s=4.0, t_earliest=300.0, t_limit=5000.0)
    assert est.rate == pytest.approx(25.0)
    assert est.to_earliest_stop_s == pytest.approx(6.0)
    assert est.to_limit_s == pytest.approx(194.0)
    # past the earliest stop: nothing left to it; before any stepping: no estimate
    assert estimate_remaining(400.0, 50.0, 14.0, 300.0, 5000.0).to_earliest_stop_s == 0.0
    assert estimate_remaining(50.0, 50.0, 0.0, 300.0, 5000.0) is None
