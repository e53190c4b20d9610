"""The pumped nanocrystal film (wgm.model.nanocrystal): passive limit, Poisson filling of the
band edge, McCumber transparency, Kramers–Kronig consistency, analytic continuation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.integrate import quad
from scipy.stats import poisson

from wgm.errors import ConfigError
from wgm.model.materials import EffectiveMedium, ConstantIndex, library_material, nanocrystal_film
from wgm.model.nanocrystal import (HC_EV_NM, band_edge_filling, film_of, transparency_excitation,
                                   with_excitation)

BULK = library_material("cspbbr3")


def test_passive_film_is_the_bulk_mix_when_unshifted():
    """⟨N⟩ = 0 and no edge length: the film is exactly the Maxwell-Garnett mix of the bulk data
    (only floating-point rounding of λ → E → λ differs)."""
    film = nanocrystal_film(0.45)
    plain = EffectiveMedium("mix", BULK, ConstantIndex(1.46), 0.45)
    lam = np.linspace(480.0, 620.0, 57)
    assert np.allclose(film.index(lam), plain.index(lam), rtol=1e-12, atol=0)


def test_filling_is_the_poisson_average_of_a_two_fold_band_edge():
    """a(N) = ⟨min(n, 2)⟩/2 over a Poisson distribution, summed directly (independent of the
    closed form); transparency of the line centre (a = ½) at ⟨N⟩ = 1.146 (the well-known
    value for a two-fold band edge)."""
    for n in (0.0, 0.1, 0.5, 1.0, 2.0, 4.0, 10.0):
        k = np.arange(0, 80)
        direct = float(np.sum(poisson.pmf(k, n) * np.minimum(k, 2))) / 2 if n > 0 else 0.0
        assert float(band_edge_filling(n)) == pytest.approx(direct, abs=1e-12)
    assert transparency_excitation(0.5) == pytest.approx(1.1462, abs=1e-4)


def test_mccumber_transparency_at_the_line_centre():
    """At the line centre E_X the McCumber factor is 1: the band-edge line is transparent when
    half filled, so the crystal's extinction there is the data's minus the line's amplitude."""
    film = with_excitation(nanocrystal_film(0.4, edge_nm=10.0), transparency_excitation(0.5))
    core = film.inclusion
    lam_x = HC_EV_NM / core.exciton_ev
    passive = BULK.n_at(HC_EV_NM / (core.exciton_ev - core.shift_ev))
    assert core.n_at(lam_x).imag == pytest.approx(passive.imag - core.amplitude, abs=1e-9)


def test_gain_red_of_the_edge_and_bleaching_bounded():
    """Pumped: gain (k < 0) appears red of the exciton line, the blue side stays absorbing;
    the line's amplitude never exceeds the data's extinction on the red side (bleaching removes
    no more absorption than the crystal has)."""
    core = nanocrystal_film(0.4, edge_nm=10.0).inclusion
    e = np.linspace(core.exciton_ev - 0.25, core.exciton_ev, 400)
    k_data = BULK.index(HC_EV_NM / (e - core.shift_ev)).imag
    line = core.amplitude * np.exp(-0.5 * ((e - core.exciton_ev) / core.sigma_ev) ** 2)
    assert np.all(line <= k_data * (1 + 1e-9))
    pumped = with_excitation(nanocrystal_film(0.4, edge_nm=10.0), 3.0)
    red = HC_EV_NM / (core.exciton_ev - core.emission_shift_ev)      # the emission line's peak
    blue = HC_EV_NM / (core.exciton_ev + 0.15)
    assert pumped.n_at(red).imag < 0 < pumped.n_at(blue).imag


def test_index_change_is_kramers_kronig_consistent():
    """Δn(E) = (1/π) P∫ Δκ(E')/(E' − E) dE' (narrow-line form of Kramers–Kronig), integrated
    numerically with quad's Cauchy weight — independent of the Faddeeva function used by the
    model.  Tolerance 1e-6 absolute: quadrature accuracy on a Gaussian, far below the change
    itself (~1e-2)."""
    core = with_excitation(nanocrystal_film(0.4, edge_nm=10.0), 2.0).inclusion
    span = 12 * core.sigma_ev
    lo, hi = core.exciton_ev - core.emission_shift_ev - span, core.exciton_ev + span
    for e in (core.exciton_ev - 0.08, core.exciton_ev, core.exciton_ev + 0.05):
        dk = lambda x: complex(core.edge_change(x)).imag  # noqa: E731
        pv, _ = quad(dk, lo, hi, weight="cauchy", wvar=e, limit=400)
        assert complex(core.edge_change(e)).real == pytest.approx(pv / math.pi, abs=1e-6)


def test_complex_wavelengths_are_an_analytic_continuation():
    """At a complex wavelength (a mode of Q ~ 1e3) the film's index follows its derivative on
    the real axis (Cauchy–Riemann): the quasi-normal modes see one analytic material.  The
    bulk data are continued to first order (TabulatedNK), so the tolerance is the second-order
    term, (λ/2Q)² |n''| ~ 1e-6 relative."""
    film = with_excitation(nanocrystal_film(0.4, edge_nm=10.0), 1.5)
    for lam in (515.0, 530.0, 545.0):
        h = 1e-3
        d = (film.n_at(lam + h) - film.n_at(lam - h)) / (2 * h)
        li = lam / 2e3
        assert complex(film.index(lam - 1j * li)) == pytest.approx(film.n_at(lam) - 1j * li * d, rel=2e-5)


def test_errors_name_the_key():
    with pytest.raises(ConfigError, match="edge_nm"):
        nanocrystal_film(0.4, edge_nm=1.0)
    with pytest.raises(ConfigError, match="excitation"):
        nanocrystal_film(0.4, excitation=-1.0)
    with pytest.raises(ConfigError, match="linewidth_mev"):
        nanocrystal_film(0.4, linewidth_mev=1000.0)
    with pytest.raises(ConfigError):
        with_excitation(ConstantIndex(1.8), 1.0)
    film = nanocrystal_film(0.4, edge_nm=10.0)
    assert film_of(film) is film and film_of(ConstantIndex(1.5)) is None
    assert dict(with_excitation(film, 2.0).params)["excitation"] == 2.0


def test_measured_files_replace_the_model(tmp_path):
    """A measured passive n,k file: the passive film is the file; pumped, the model's change is
    added.  A measured gain spectrum at ⟨N⟩_ref: the film's net gain at ⟨N⟩_ref is the file's,
    passive at 0, linear in the band-edge filling between.  Both through a config, with paths
    relative to the config's folder."""
    from wgm.config import load_config

    nk = tmp_path / "film_nk.txt"
    nk.write_text("# wavelength n k\n500 1.80 0.05\n540 1.75 0.001\n600 1.70 0.0001\n")
    gain = tmp_path / "gain.txt"
    gain.write_text("# wavelength_nm gain_per_cm\n510 -5000\n530 300\n550 100\n")
    cfg = tmp_path / "c.toml"
    cfg.write_text('schema_version = 1\n[resonator]\nshape = "sphere"\nradius_um = 2.0\nindex = 1.46\n'
                   '[[resonator.coating]]\nthickness_um = 0.05\nmaterial = "cspbbr3-nc"\nfill_fraction = 0.5\n'
                   'edge_nm = 10.0\nfilm_nk_file = "film_nk.txt"\ngain_file = "gain.txt"\ngain_excitation = 2.0\n'
                   '[search]\nwavelength_nm = [520.0, 560.0]\n')
    film = load_config(cfg).resonator.coatings[0].material
    from wgm.model.materials import read_nk_file

    measured = read_nk_file(nk)
    assert film.n_at(540.0) == pytest.approx(measured.n_at(540.0), rel=1e-12)
    pumped = with_excitation(film, 2.0)
    for lam, g in ((530.0, 300.0), (550.0, 100.0)):
        assert -4 * math.pi * pumped.n_at(lam).imag / (lam * 1e-7) == pytest.approx(g, rel=1e-9)
        assert pumped.n_at(lam).real == pytest.approx(measured.n_at(lam).real, rel=1e-12)
    half = with_excitation(film, transparency_excitation(float(band_edge_filling(2.0)) / 2))
    k0, k_ref = measured.n_at(530.0).imag, pumped.n_at(530.0).imag
    assert half.n_at(530.0).imag == pytest.approx((k0 + k_ref) / 2, rel=1e-6)
    # without a gain file, the model's change is added to the measured film
    model_only = nanocrystal_film(0.5, edge_nm=10.0)
    meas_only = nanocrystal_film(0.5, edge_nm=10.0, film_nk_file=str(nk))
    d_model = with_excitation(model_only, 1.5).n_at(535.0) - model_only.n_at(535.0)
    assert with_excitation(meas_only, 1.5).n_at(535.0) == pytest.approx(measured.n_at(535.0) + d_model, rel=1e-12)
    with pytest.raises(ConfigError, match="gain_excitation"):
        nanocrystal_film(0.5, gain_file=str(gain))


def test_confinement_shift_reproduces_the_size_series():
    """The film's exciton line sits at the source's absorption peaks (Energies 14, 275 (2021):
    2.570 eV at 9.9 nm, 2.429 eV at 12.5 nm; 1e-9: the interpolation passes through them) and
    blue-shifts monotonically as the crystals shrink; without an edge length, at the bulk data's
    exciton peak (Brennan et al.: 2.398 eV, 517 nm)."""
    from wgm.model.nanocrystal import SIZE_SERIES, bulk_exciton_ev

    for edge, e_abs in SIZE_SERIES:
        assert nanocrystal_film(0.5, edge_nm=edge).inclusion.exciton_ev == pytest.approx(e_abs, abs=1e-9)
    energies = [nanocrystal_film(0.5, edge_nm=e).inclusion.exciton_ev for e in (9.9, 10.5, 11.0, 12.0, 12.5)]
    assert all(a > b for a, b in zip(energies, energies[1:]))
    bulk = nanocrystal_film(0.5).inclusion
    assert bulk.shift_ev == 0.0 and bulk.exciton_ev == pytest.approx(bulk_exciton_ev(BULK))
    assert 2.39 < bulk.exciton_ev < 2.41
    # a shifted passive film absorbs where the bulk film did not: the edge moves with the line
    small = nanocrystal_film(0.5, edge_nm=10.0)
    # (the same bulk k, shifted; the mix with the ligand differs only through n, k at the two
    # wavelengths being the same bulk values: equal to rounding)
    assert small.n_at(HC_EV_NM / (bulk.exciton_ev + small.inclusion.shift_ev)).imag == pytest.approx(
        nanocrystal_film(0.5).n_at(HC_EV_NM / bulk.exciton_ev).imag, rel=1e-9)
    with pytest.raises(ConfigError, match="edge_nm"):
        nanocrystal_film(0.5, edge_nm=14.0)   # beyond the series: refused, not extrapolated


def test_two_level_model_is_transparent_at_1146_everywhere():
    """gain_model = "two-level": σ_e = σ_a in each crystal, so the band-edge line's extinction is
    A G(E) (1 − 2a): its change at ⟨N⟩ is −2a A G, g/α₀ = 2a − 1 = 1 − e^{−N}(2 + N) (the
    state-resolved limit without biexciton shift) at every energy; at ⟨N⟩ = 1.146 the line is
    transparent everywhere (the crystal keeps the data's extinction minus the line)."""
    n_tr = transparency_excitation(0.5)
    for n in (0.5, n_tr, 3.0):
        core = with_excitation(nanocrystal_film(0.4, edge_nm=12.0, gain_model="two-level"), n).inclusion
        for de in (-0.08, -0.03, 0.0, 0.04):
            e = core.exciton_ev + de
            line = core.amplitude * math.exp(-0.5 * (de / core.sigma_ev) ** 2)
            dk = complex(core.edge_change(e)).imag
            assert dk == pytest.approx(-2 * float(band_edge_filling(n)) * line, rel=1e-12)
            assert (line + dk) / line == pytest.approx(-(1 - math.exp(-n) * (2 + n)), abs=1e-12)
    with pytest.raises(ConfigError, match="gain_model"):
        nanocrystal_film(0.4, gain_model="laser")


def test_without_band_edge_removes_the_line_also_from_a_measured_film(tmp_path):
    """The film with its band-edge line taken out (the carriers' other losses, for the rate
    equations) differs from the passive film by the model's line, for a measured film too."""
    from wgm.model.nanocrystal import without_band_edge

    nk = tmp_path / "film_nk.txt"
    nk.write_text("# wavelength n k\n480 1.80 0.05\n540 1.75 0.01\n600 1.70 0.0001\n")
    for film in (nanocrystal_film(0.5, edge_nm=12.0), nanocrystal_film(0.5, edge_nm=12.0, film_nk_file=str(nk))):
        bare = without_band_edge(film)
        model, model_bare = nanocrystal_film(0.5, edge_nm=12.0), without_band_edge(nanocrystal_film(0.5, edge_nm=12.0))
        for lam in (500.0, 510.0, 525.0):
            assert bare.n_at(lam) - film.n_at(lam) == pytest.approx(model_bare.n_at(lam) - model.n_at(lam), rel=1e-9)
            assert bare.n_at(lam).imag < film.n_at(lam).imag
