"""Gain figures of single modes (exact solver): confinement factors and thresholds.

Independent checks: (1) scaling every index of the problem, surroundings included, by
``1 + iρ`` changes ω by exactly ``1/(1 + iρ)``, so the confinement factors of all regions add
up to 1; (2) the exact threshold (a root search in the gain) agrees with the first-order
closed form 2π n_g/(λ Q Γ) up to the neglected second-order term, of relative size ~1/(QΓ).
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from conftest import meep_or_skip

from wgm.errors import ConfigError
from wgm.exact.solver import solve_order
from wgm.lasing.threshold import WithGain, confinement, mode_gain, with_gain
from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Coating, Resonator, Sphere

# the theory notes' coated sphere: 2 µm, n = 1.46, 50 nm n = 2.0 shell, in air
RES = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0)),), ConstantIndex(1.0))
MODES = [("TE", 29, 1), ("TM", 29, 1), ("TE", 27, 2)]


def _surroundings_gamma(res, pol, l, q, eta=1e-4):
    def inv_q(rel):
        m = solve_order(replace(res, surroundings=WithGain(res.surroundings, rel=rel)), pol, l, q)
        return -2 * m.size_parameter[1] / m.size_parameter[0]
    return (inv_q(eta / 2) - inv_q(-eta / 2)) / (2 * eta)


@pytest.mark.parametrize("label", MODES)
def test_confinement_factors_add_up_to_one(label):
    core = confinement(RES, "core", *label)
    coat = confinement(RES, "coating", *label)
    out = _surroundings_gamma(RES, *label)
    assert 0 < core < 1 and 0 < coat < 1 and 0 < out < 1
    # exact identity of the scaled problem; the central difference is accurate to ~η² = 1e-8
    assert core + coat + out == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("label", MODES)
def test_exact_threshold_matches_closed_form(label):
    g = mode_gain(RES, "coating", *label)
    # the root is a real frequency: Q at threshold is infinite
    at = solve_order(with_gain(RES, "coating", k_gain=g.threshold_gain_per_cm * g.threshold_wavelength_nm * 1e-7
                               / (4 * 3.141592653589793)), *label)
    assert abs(at.size_parameter[1]) < 1e-9 * at.size_parameter[0]
    # non-dispersive shell: n_g = n = 2.0, the energy share is the response confinement;
    # first order neglects terms of relative size ~1/(QΓ)
    assert g.group_index == pytest.approx(2.0)
    assert g.confinement == pytest.approx(g.response_confinement, rel=1e-6)
    assert g.closed_form_gain_per_cm == pytest.approx(g.threshold_gain_per_cm, rel=1.0 / (g.Q * g.confinement))


def test_threshold_values_of_the_coated_sphere():
    """Regression figures (measured with this code, consistent with the two checks above):
    the TE1 mode has the lowest threshold: high Q and 42 % of its energy in the film."""
    gains = {lab: mode_gain(RES, "coating", *lab) for lab in MODES}
    te1 = gains[("TE", 29, 1)]
    assert te1.confinement == pytest.approx(0.4238, abs=1e-3)
    assert te1.threshold_gain_per_cm == pytest.approx(7.994, rel=1e-3)
    assert min(gains.values(), key=lambda g: g.threshold_gain_per_cm) is te1


def test_absorbing_film_needs_more_gain():
    lossy = Resonator(RES.shape, (Coating(0.05, ConstantIndex(2.0, 1e-4)),), RES.surroundings)
    a, b = mode_gain(RES, "coating", "TE", 29, 1), mode_gain(lossy, "coating", "TE", 29, 1)
    # the gain must first cancel the film's own absorption 4πk/λ (~21 cm⁻¹ at 600 nm).  Exact,
    # not first order: at k_gain = k_th + 1e-4 the lossy film's index equals the lossless
    # film's at threshold, so the root (and λ_th) is the same; 1e-8 covers brentq's rtol 1e-10
    # on each k_th (~4e-5) relative to the difference (1e-4)
    assert b.threshold_wavelength_nm == pytest.approx(a.threshold_wavelength_nm, rel=1e-12)
    assert b.threshold_gain_per_cm - a.threshold_gain_per_cm == pytest.approx(
        4 * math.pi * 1e-4 / (a.threshold_wavelength_nm * 1e-7), rel=1e-8)


@pytest.mark.parametrize("region, fragment", [
    ("shell", "allowed: 'core', 'coating', 'coating.N'"),
    ("coating.3", "has 1 coating"),
])
def test_bad_region(region, fragment):
    with pytest.raises(ConfigError, match=fragment):
        confinement(RES, region, "TE", 29, 1)


def test_no_coating():
    bare = Resonator(RES.shape, (), RES.surroundings)
    with pytest.raises(ConfigError, match="no coating"):
        mode_gain(bare, "coating", "TE", 29, 1)


def test_threshold_command(tmp_path, capsys):
    """`wgm threshold`: every mode with Γ and g_th; with a strong gain band at the TE1 mode of the
    constant-index sphere, that mode lases first."""
    import json

    import wgm.cli as cli

    cfg = tmp_path / "c.toml"
    cfg.write_text('schema_version = 1\n[resonator]\nshape = "sphere"\nradius_um = 2.0\nindex = 1.46\n'
                   '[[resonator.coating]]\nthickness_um = 0.05\nindex = 2.0\n'
                   '[search]\nwavelength_nm = [590.0, 610.0]\nmax_radial_order = 1\n'
                   '[gain]\npeak_gain_per_cm = 50.0\npeak_wavelength_nm = 600.0\nfwhm_nm = 10.0\n')
    assert cli.main(["threshold", str(cfg), "--json", "--out", str(tmp_path / "o")]) == 0
    doc = json.loads(capsys.readouterr().out)
    first = doc["first_to_lase"]
    assert (first["polarization"], first["l"], first["radial_order"]) == ("TE", 29, 1)
    assert first["can_lase"] and first["available_gain_per_cm"] >= first["threshold_gain_per_cm"]
    # independent of the root search: the first-order closed form 2π n_g/(λ Q Γ) from the row's
    # own Q and Γ (n_g = n = 2.0: no dispersion), to the neglected order ~1/(QΓ)
    assert first["gain_group_index"] == pytest.approx(2.0)
    closed = 2 * math.pi * 2.0 / (first["wavelength_nm"] * 1e-7 * first["Q"] * first["confinement"])
    assert first["threshold_gain_per_cm"] == pytest.approx(closed, rel=1.0 / (first["Q"] * first["confinement"]))
    # regression value (measured with this code; see test_threshold_values_of_the_coated_sphere)
    assert first["threshold_gain_per_cm"] == pytest.approx(7.994, rel=1e-3)
    assert all({"confinement", "threshold_gain_per_cm"} <= set(m) for m in doc["modes"])
    assert (tmp_path / "o" / "threshold.png").stat().st_size > 10_000
    # bad gain parameters: one line, exit 2
    assert cli.main(["threshold", str(cfg), "--set", "gain.peak_gain_per_cm=-5"]) == 2
    assert "gain.peak_gain_per_cm" in capsys.readouterr().err
    assert cli.main(["threshold", str(cfg), "--gain-region", "shell"]) == 2
    assert "--gain-region = 'shell'" in (err := capsys.readouterr().err)  # the option, not a config key
    assert "allowed: 'core', 'coating', 'coating.N'" in err


def test_uniform_gain_sphere_matches_the_theory_notes():
    """Theory notes §5: for uniform-gain spheres of R = 2 µm, Γ_E ≈ 0.90–0.94 (TE here), and the
    closed form matches the exact threshold to 5–6 digits (first order at Q ~ 1e4-1e5)."""
    from wgm.exact.solver import solve
    from wgm.model.resonator import Search

    bare = Resonator(Sphere(2.0, ConstantIndex(1.46)), (), ConstantIndex(1.0))
    for m in solve(bare, Search((540.0, 600.0), 1)).modes:
        g = mode_gain(bare, "core", m.polarization, m.l, 1)
        if m.polarization == "TE":
            assert 0.90 <= g.confinement <= 0.94
        assert g.closed_form_gain_per_cm == pytest.approx(g.threshold_gain_per_cm, rel=1e-4)


# --------------------------------------------------------------------------------------
# two-photon pumping

def test_pump_model_round_trip():
    """The fluence returned creates, by two-photon absorption, exactly the excitons that give the
    requested gain: ⟨N⟩ = σ₂F²/(2τ_p(hν)²)·s and g = σ_g N_nc (⟨N⟩ − N_tr) (square pulse; the
    other shapes' factor is tested in test_pulsed)."""
    from wgm.lasing.pump import TwoPhotonPump

    p = TwoPhotonPump(shape="square", biexciton_lifetime_ps=1e9)  # s -> 1: no decay during the pulse
    h, c = 6.62607015e-34, 2.99792458e8
    for g in (0.0, 10.0, 500.0, 5000.0):
        f = p.threshold_fluence_mj_per_cm2(g) * 1e-3            # J/cm²
        photons = f / (h * c / 800e-9)                            # photons/cm²
        n = p.two_photon_cross_section_gm * 1e-50 * photons ** 2 / (2 * 100e-15)
        gain = p.gain_cross_section_cm2 * p.nanocrystal_density_per_cm3 * (n - p.transparency_excitons)
        assert gain == pytest.approx(g, abs=1e-9 * 5000)
    # a larger cross-section lowers the threshold as 1/sqrt(σ₂); decay during the pulse raises it
    assert TwoPhotonPump(two_photon_cross_section_gm=4e6).threshold_fluence_mj_per_cm2(100) == pytest.approx(
        TwoPhotonPump().threshold_fluence_mj_per_cm2(100) / 2, rel=1e-12)
    assert TwoPhotonPump(biexciton_lifetime_ps=0.05).threshold_fluence_mj_per_cm2(100) > \
        TwoPhotonPump().threshold_fluence_mj_per_cm2(100)


@pytest.mark.parametrize("table, fragment", [
    ({"pulse_fs": -1}, "pump.pulse_fs"),
    ({"two_photon_cross_section": 1e6}, "did you mean"),
    ({"nanocrystal_density_per_cm3": "lots"}, "must be a finite number > 0"),
])
def test_bad_pump_parameters(table, fragment):
    from wgm.lasing.pump import parse_pump

    with pytest.raises(ConfigError, match=fragment):
        parse_pump(table)


def test_pump_threshold_versus_radius(tmp_path, capsys):
    import json

    import wgm.cli as cli

    cfg = tmp_path / "c.toml"
    cfg.write_text('schema_version = 1\n[resonator]\nshape = "sphere"\nradius_um = 2.0\nindex = 1.46\n'
                   '[[resonator.coating]]\nthickness_um = 0.05\nindex = 2.0\n'
                   '[search]\nwavelength_nm = [590.0, 610.0]\nmax_radial_order = 1\n'
                   '[gain]\npeak_gain_per_cm = 50.0\npeak_wavelength_nm = 600.0\nfwhm_nm = 10.0\n'
                   '[pump]\ngain_cross_section_cm2 = 1e-16\n')
    assert cli.main(["threshold", str(cfg), "--radii-um", "2.0,2.05", "--json", "--out", str(tmp_path / "o")]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = doc["pump"]["vs_radius"]
    assert [r["radius_um"] for r in rows] == [2.0, 2.05]
    r0 = rows[0]
    assert (r0["polarization"], r0["l"]) == ("TE", 29)
    from wgm.lasing.pump import TwoPhotonPump

    expected = TwoPhotonPump(gain_cross_section_cm2=1e-16).threshold_fluence_mj_per_cm2(r0["peak_gain_needed_per_cm"])
    assert r0["threshold_fluence_mj_per_cm2"] == pytest.approx(expected)
    assert (tmp_path / "o" / "pump_threshold.png").stat().st_size > 5_000


def test_threshold_records():
    """Results are typed records: the pump table's rows, and the modes skipped by ``thresholds``."""
    from wgm.lasing import GainSpectrum, LasingMode, PumpThreshold, SkippedMode, ThresholdResult, thresholds
    from wgm.lasing.pump import TwoPhotonPump, threshold_vs_radius
    from wgm.model.resonator import Search

    search = Search((590.0, 610.0), 1)
    strong, weak = GainSpectrum(peak_gain_per_cm=50.0, peak_wavelength_nm=600.0, fwhm_nm=10.0), GainSpectrum()
    lases, dark = (threshold_vs_radius(RES, search, g, TwoPhotonPump(), [2.0])[0] for g in (strong, weak))
    assert isinstance(lases, PumpThreshold) and isinstance(lases.first, LasingMode)
    assert (lases.first.mode.polarization, lases.first.mode.l) == ("TE", 29)
    # the band's peak is raised until the gain at the mode is g_th
    assert strong.at(lases.first.gain.threshold_wavelength_nm) * lases.peak_gain_needed_per_cm / 50.0 == \
        pytest.approx(lases.first.gain.threshold_gain_per_cm, rel=1e-12)
    assert lases.to_dict()["l"] == 29 and lases.to_dict()["diameter_um"] == pytest.approx(4.1)
    # the default band (525 nm) leaves the 600 nm modes dark: no mode, no fluence
    assert dark.first is None and dark.to_dict() == {"radius_um": 2.0, "diameter_um": pytest.approx(4.1),
                                                     "threshold_fluence_mj_per_cm2": None}
    skip = SkippedMode("TE", 33, 1, 560.0, 75.1, "Newton did not converge")
    result = ThresholdResult(RES, search, strong, thresholds(RES, search, strong).modes, (skip,))
    assert result.to_dict()["skipped"] == [{"polarization": "TE", "l": 33, "radial_order": 1, "wavelength_nm": 560.0,
                                            "Q": 75.1, "reason": "Newton did not converge"}]


@pytest.mark.slow  # three FDTD runs, ~2.5 min
def test_fdtd_gain_extrapolates_to_the_exact_threshold():
    """FDTD with the film's gain as a negative conductivity: Q at 0, 30 and 60 % of the exact
    threshold gain; 1/Q is linear in the gain and its zero is the FDTD threshold (issue: within
    5 % of the exact one; measured here 1.5 %)."""
    import numpy as np

    from wgm import fdtd
    from wgm.fdtd.settings import FdtdSettings
    from wgm.model.resonator import Search

    meep_or_skip()
    g = mode_gain(RES, "coating", "TE", 29, 1)
    k_th = g.threshold_gain_per_cm * g.threshold_wavelength_nm * 1e-7 / (4 * np.pi)
    ks, inv_q = [], []
    for frac in (0.0, 0.3, 0.6):
        sp = fdtd.solve(with_gain(RES, "coating", k_gain=frac * k_th), Search((590.0, 610.0), 1),
                        FdtdSettings(m=(29,)))
        (mode,) = [m for m in sp.modes if (m.polarization, m.l, m.radial_order) == ("TE", 29, 1)]
        assert mode.q_resolved
        ks.append(frac * k_th)
        inv_q.append(1.0 / mode.Q)
    slope, intercept = np.polyfit(ks, inv_q, 1)
    assert -intercept / slope == pytest.approx(k_th, rel=0.05)
