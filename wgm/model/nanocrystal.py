"""The CsPbBr3 nanocrystal film, passive and pumped: one model of its complex index.

A film of CsPbBr3 nanocrystals (cubes of edge ``L``) in a ligand matrix is described by the
index of one nanocrystal, mixed with the ligand by an effective-medium rule
(:class:`~wgm.model.materials.EffectiveMedium`).  The nanocrystal's index at an excitation of
``⟨N⟩`` electron-hole pairs per crystal (Poisson-distributed over the crystals) is

    ñ_NC(E; ⟨N⟩) = ñ_bulk(E − ΔE(L)) + Δñ_edge(E; ⟨N⟩)

* **Passive crystal** (``⟨N⟩ = 0``): measured bulk CsPbBr3 ``n + ik`` (absorption included),
  shifted up in photon energy by the **quantum-confinement shift** ``ΔE(L)`` of the first
  exciton: the series' absorption peak at that size minus the bulk data's exciton peak, from a
  published size series of CsPbBr3 nanocrystals (:data:`SIZE_SERIES`, Energies 14, 275
  (2021); interpolated in 1/L², the effective-mass form).  Without an edge length the bulk
  data are used unshifted.
* **Band edge**: the first-exciton transition of the ensemble is a Gaussian line (centre
  ``E_X``, the shifted exciton peak of the bulk data; full width ``linewidth_mev``, the
  ensemble's inhomogeneous width), of amplitude ``A``: the largest such Gaussian that stays
  under the crystal's measured absorption on its red side (bleaching never removes more
  absorption than the film has).
* **Bleaching with ⟨N⟩**: the band edge is two-fold (spin) degenerate; a crystal holding
  ``n`` pairs fills ``min(n, 2)/2`` of it.  With Poisson occupancy the filled share is
  ``a(⟨N⟩) = ⟨min(n, 2)⟩/2 = 1 − e^{−⟨N⟩}(1 + ⟨N⟩/2)``: absorption of the line falls as
  ``1 − a`` (:func:`band_edge_filling`).
* **Gain**: stimulated emission of the filled share ``a`` with the cross-section that the
  **McCumber relation** (D. E. McCumber, Phys. Rev. 136, A954 (1964)) ties to the
  absorption: ``σ_e(E) = σ_a(E) exp((E_X − E)/k_B T)`` (carriers thermalised within the band
  edge).  For a Gaussian line this is the same Gaussian shifted red by ``s²/k_BT`` (``s`` its
  standard deviation: 34 meV and 45 meV for an 80 meV line, the Stokes shift this model
  predicts) and scaled by ``exp(s²/2(k_BT)²)``.  The line's extinction is then
  ``A [G_a(E)(1 − a) − a G_e(E)]``: transparency at the line centre at ``a = ½``
  (``⟨N⟩ = 1.15``), earlier on its red side.
* ``gain_model = "two-level"`` instead: every crystal's band edge is a two-level transition
  with ``σ_e = σ_a`` (no thermalisation between crystals of different sizes): the emission line
  is the absorption line, the line's extinction ``A G_a(E)(1 − 2a)``, transparent at
  ``⟨N⟩ = 1.146`` at every wavelength (``g/α₀ = 1 − e^{−⟨N⟩}(2 + ⟨N⟩)``).  McCumber (the
  default) assumes the carriers thermalised over the whole ensemble's line, which gives gain on
  the line's red side at ``⟨N⟩ ≪ 1`` (single-exciton gain lasting τ_X); the two bracket the
  debated physics of nanocrystal gain.
* The real part of the change follows from Kramers–Kronig: a Gaussian absorption line
  ``A exp(−x²)`` has the complex index ``i A w(x)`` (``w`` the Faddeeva function,
  ``x = (E − E_c)/(√2 s)``), analytic also at the complex frequencies of decaying or growing
  modes, so the pumped film pulls the modes' frequencies consistently with its gain.

Not modeled: biexciton binding energy (the gain line is the McCumber image of the exciton
line), excited-state absorption, the size distribution beyond its Gaussian width,
non-uniform excitation through the film, heating.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np
from scipy.special import wofz

from wgm.errors import ConfigError
from wgm.model import validate
from wgm.model.materials import Material

__all__ = ["SIZE_SERIES", "SIZE_SERIES_SOURCE", "EDGE_RANGE_NM", "GAIN_MODELS", "exciton_energy_ev", "confinement_shift_ev",
           "bulk_exciton_ev", "band_edge_filling",
           "transparency_excitation", "NanocrystalCore", "nanocrystal_core", "with_excitation", "without_band_edge",
           "emission_line_nm",
           "film_of"]

from wgm.units import HC_EV_NM, K_B_EV_PER_K  # noqa: E402  (HC_EV_NM re-exported for tests)

# Published size series of CsPbBr3 nanocrystals: (edge length nm, first-exciton absorption
# peak eV): the two ends of the series of Energies 14, 275 (2021), doi:10.3390/en14020275
# (abstract: absorption peaks 2.570 -> 2.429 eV, PL 2.469 -> 2.391 eV, for sizes 9.9 -> 12.5 nm
# estimated there by the effective-mass approximation).  The only size series whose numbers
# we could read in a stored source; its per-sample table was not available.
SIZE_SERIES: tuple[tuple[float, float], ...] = ((9.9, 2.570), (12.5, 2.429))
SIZE_SERIES_SOURCE = "Energies 14, 275 (2021), doi:10.3390/en14020275 (abstract; sizes by effective-mass estimate)"
# edge lengths accepted: the series' range (a 1/L² law through its two points does not
# extrapolate: its E_0 lies 0.2 eV below the bulk exciton)
EDGE_RANGE_NM = (9.9, 12.5)
GAIN_MODELS = ("mccumber", "two-level")


def _fit_size_series():
    """``E(L) = E_0 + C/L²`` (the effective-mass form of confinement) through the points of
    :data:`SIZE_SERIES` (least squares; exact through two points): returns ``(E_0, C)``."""
    L = np.array([p[0] for p in SIZE_SERIES])
    E = np.array([p[1] for p in SIZE_SERIES])
    design = np.column_stack([np.ones_like(L), 1.0 / L ** 2])
    (e0, c), *_ = np.linalg.lstsq(design, E, rcond=None)
    return float(e0), float(c)


def exciton_energy_ev(edge_nm: float) -> float:
    """First-exciton absorption peak (eV) of crystals of edge ``edge_nm``: the size series,
    interpolated in ``1/L²`` (:func:`_fit_size_series`)."""
    e0, c = _fit_size_series()
    return e0 + c / edge_nm ** 2


def confinement_shift_ev(edge_nm: float | None, bulk_exciton_ev: float) -> float:
    """Blue shift (eV) of the first exciton of crystals of edge ``edge_nm`` from the bulk
    data's exciton peak ``bulk_exciton_ev``: the size series' absorption peak minus it, never
    negative (large crystals are bulk); 0 without an edge length."""
    if edge_nm is None:
        return 0.0
    return max(exciton_energy_ev(edge_nm) - bulk_exciton_ev, 0.0)


def band_edge_filling(excitation):
    """Filled share ``a = ⟨min(n, 2)⟩/2 = 1 − e^{−N}(1 + N/2)`` of a two-fold degenerate band
    edge for Poisson occupancy of mean ``N`` (0 at N = 0, ½ at N ≈ 1.146, → 1)."""
    n = np.asarray(excitation, dtype=float)
    return 1.0 - np.exp(-n) * (1.0 + 0.5 * n)


def transparency_excitation(filling: float) -> float:
    """The excitation ⟨N⟩ at which the band edge is filled to ``filling`` (inverse of
    :func:`band_edge_filling`, by bisection: it is monotonic)."""
    from scipy.optimize import brentq

    if not 0.0 <= filling < 1.0:
        raise ValueError(f"filling must be in [0, 1), got {filling}")
    if filling == 0.0:
        return 0.0
    return float(brentq(lambda n: float(band_edge_filling(n)) - filling, 0.0, 60.0, xtol=1e-12))


@dataclass(frozen=True)
class NanocrystalCore(Material):
    """The index of one CsPbBr3 nanocrystal at excitation ``excitation`` (module docstring).

    ``bulk`` is the measured bulk material; ``shift_ev`` the confinement shift applied to it;
    ``exciton_ev`` the centre of the band-edge line; ``sigma_ev`` its standard deviation;
    ``amplitude`` its peak extinction ``A``; ``kt_ev`` = k_B T.
    """

    bulk: Material
    shift_ev: float
    exciton_ev: float
    sigma_ev: float
    amplitude: float
    kt_ev: float
    excitation: float = 0.0
    edge_removed: bool = False   # the band-edge line taken out entirely (the film's other losses)
    gain_model: str = "mccumber"

    @property
    def name(self) -> str:
        return "cspbbr3-nanocrystal"

    @property
    def wavelength_range_nm(self):
        lo, hi = self.bulk.wavelength_range_nm
        if self.shift_ev == 0.0:
            return (lo, hi)
        # the shifted data cover the energies E = E_bulk + shift
        e_hi = HC_EV_NM / lo + self.shift_ev
        e_lo = HC_EV_NM / hi + self.shift_ev if math.isfinite(hi) and hi > 0 else 0.0
        return (HC_EV_NM / e_hi, HC_EV_NM / e_lo if e_lo > 0 else math.inf)

    @property
    def filling(self) -> float:
        return float(band_edge_filling(self.excitation))

    @property
    def emission_shift_ev(self) -> float:
        """Red shift of the emission line from the absorption line: ``s²/k_BT`` (McCumber); 0
        for the two-level model."""
        return self.sigma_ev ** 2 / self.kt_ev if self.gain_model == "mccumber" else 0.0

    @property
    def emission_gain_ratio(self) -> float:
        """Peak of the emission line over the absorption line's: ``exp(s²/2(k_BT)²)``
        (McCumber); 1 for the two-level model (σ_e = σ_a in every crystal)."""
        return math.exp(0.5 * (self.sigma_ev / self.kt_ev) ** 2) if self.gain_model == "mccumber" else 1.0

    def _line(self, energy_ev, centre_ev):
        """``i w(x)``, ``x = (E − E_c)/(√2 s)``: the complex index of a unit Gaussian line."""
        x = (np.asarray(energy_ev, dtype=complex) - centre_ev) / (math.sqrt(2.0) * self.sigma_ev)
        return 1j * wofz(x)

    def edge_change(self, energy_ev):
        """``Δñ`` of the band edge at the excitation (0 at ⟨N⟩ = 0), complex energies allowed."""
        if self.edge_removed:
            return -self.amplitude * self._line(energy_ev, self.exciton_ev)
        a = self.filling
        if a == 0.0:
            return np.zeros(np.shape(energy_ev), dtype=complex)
        absorb = self._line(energy_ev, self.exciton_ev)
        emit = self.emission_gain_ratio * self._line(energy_ev, self.exciton_ev - self.emission_shift_ev)
        return -a * self.amplitude * (absorb + emit)

    def _index_nm(self, wavelength_nm):
        lam = np.asarray(wavelength_nm, dtype=complex)
        energy = HC_EV_NM / lam
        passive = self.bulk.index(HC_EV_NM / (energy - self.shift_ev), outside="extrapolate")
        return passive + self.edge_change(energy)

    def to_config(self) -> dict:  # part of a film: the film's table rebuilds it
        raise NotImplementedError("a nanocrystal's index is part of a cspbbr3-nc film")


# The amplitude search: energies below the line centre down to this many standard deviations
# (beyond, the Gaussian is < 1e-11 of its peak and any measured tail exceeds it)
_AMPLITUDE_SPAN_SIGMA = 7.0
_AMPLITUDE_POINTS = 2001


def bulk_exciton_ev(bulk: Material) -> float:
    """The exciton peak (eV) of bulk data: the maximum of k on the band edge (460-560 nm)."""
    lo, hi = bulk.wavelength_range_nm
    lam = np.linspace(max(lo, 460.0), min(hi, 560.0), 2001)
    k = bulk.index(lam).imag
    return HC_EV_NM / lam[int(np.argmax(k))]


@lru_cache(maxsize=64)
def _core_cached(bulk: Material, edge_nm: float | None, sigma_ev: float, kt_ev: float,
                 gain_model: str) -> NanocrystalCore:
    lo, hi = bulk.wavelength_range_nm
    e_bulk = bulk_exciton_ev(bulk)
    shift_ev = confinement_shift_ev(edge_nm, e_bulk)
    e_x = e_bulk + shift_ev
    core = NanocrystalCore(bulk, shift_ev, e_x, sigma_ev, 1.0, kt_ev, gain_model=gain_model)
    # the largest Gaussian of this width under the shifted data's absorption on the red side
    e = np.linspace(e_x - _AMPLITUDE_SPAN_SIGMA * sigma_ev, e_x, _AMPLITUDE_POINTS)
    e = e[HC_EV_NM / (e - shift_ev) <= hi] if math.isfinite(hi) else e
    k_data = bulk.index(HC_EV_NM / (e - shift_ev)).imag
    gauss = np.exp(-0.5 * ((e - e_x) / sigma_ev) ** 2)
    amplitude = float(np.min(k_data / gauss))
    return replace(core, amplitude=amplitude)


def nanocrystal_core(bulk: Material, edge_nm: float | None, linewidth_mev: float, temperature_k: float,
                     excitation: float = 0.0, gain_model: str = "mccumber") -> NanocrystalCore:
    """The index of one nanocrystal of edge ``edge_nm`` (None: bulk edge) at an excitation."""
    sigma = linewidth_mev * 1e-3 / (2.0 * math.sqrt(2.0 * math.log(2.0)))
    core = _core_cached(bulk, None if edge_nm is None else float(edge_nm), sigma, K_B_EV_PER_K * temperature_k,
                        gain_model)
    return replace(core, excitation=float(excitation)) if excitation else core


def film_of(material: Material):
    """The ``cspbbr3-nc`` film behind ``material`` (itself, or the base of a wrapper), or None."""
    from wgm.model.materials import EffectiveMedium

    seen = 0
    while material is not None and seen < 8:
        if isinstance(material, EffectiveMedium) and isinstance(material.inclusion, NanocrystalCore):
            return material
        material = getattr(material, "base", None)
        seen += 1
    return None


def emission_line_nm(film) -> tuple[float, float]:
    """(peak, FWHM) in nm of the film's spontaneous-emission line: the McCumber image of the
    band-edge line (centre ``E_X − s²/k_BT``, the same width in energy)."""
    core = film_of(film).inclusion
    centre = core.exciton_ev - core.emission_shift_ev
    half = math.sqrt(2.0 * math.log(2.0)) * core.sigma_ev
    return HC_EV_NM / centre, HC_EV_NM / (centre - half) - HC_EV_NM / (centre + half)


def without_band_edge(film):
    """``film`` with its band-edge line taken out (neither absorbing nor amplifying): what the
    mode loses to everything but the band-edge transition."""
    if film_of(film) is not film:
        raise ConfigError("material", getattr(film, "name", film), "needs a cspbbr3-nc film")
    return replace(film, inclusion=replace(film.inclusion, edge_removed=True))


def with_excitation(film, excitation: float):
    """The ``cspbbr3-nc`` film ``film`` at excitation ⟨N⟩ = ``excitation`` per crystal."""
    from wgm.model.materials import nanocrystal_film

    if film_of(film) is not film:
        raise ConfigError("material", getattr(film, "name", film), "an excitation needs a cspbbr3-nc film")
    params = dict(film.params)
    params["excitation"] = validate.number("excitation", excitation)
    if params["excitation"] < 0:
        raise ConfigError("excitation", excitation, "must be >= 0 (excitons per nanocrystal)")
    return nanocrystal_film(**params)

