"""Two-photon pumping of the nanocrystal film (the config's ``[pump]`` table): the pump pulse
(shape, length, repetition), the excitons per nanocrystal a pulse of given fluence creates,
the film's kinetics used by the rate equations (:mod:`wgm.lasing.pulsed`), and the legacy
threshold-gain-to-fluence conversion versus the resonator's size."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from wgm.lasing.spectrum import GainSpectrum
from wgm.model import validate
from wgm.model.validate import from_table
from wgm.lasing.threshold import LasingMode, thresholds
from wgm.model.resonator import Resonator

__all__ = ["TwoPhotonPump", "parse_pump", "PumpThreshold", "threshold_vs_radius", "PULSE_SHAPES",
           "shape_factor", "pulse_profile_per_ps", "pulse_window_ps"]

_H = 6.62607015e-34       # J s
_C = 2.99792458e8         # m/s
_GM = 1e-50               # Göppert-Mayer unit, cm⁴ s per photon

PULSE_SHAPES = ("gaussian", "sech2", "square")
_ACOSH_SQRT2 = math.acosh(math.sqrt(2.0))   # sech²(x) = 1/2 at x = arccosh √2


def shape_factor(shape: str) -> float:
    """``s = τ ∫I² dt / (∫I dt)²`` of a pulse of FWHM (square: length) τ: the two-photon
    excitation of a pulse relative to a square pulse of the same fluence and length.

    * square: ``s = 1``;
    * Gaussian ``I ∝ exp(−4 ln2 t²/τ²)``: ``∫I = τ√(π/4ln2)``, ``∫I² = τ√(π/8ln2)``, hence
      ``s = √(2 ln2/π) ≈ 0.664``;
    * sech² ``I ∝ sech²(t/T)``, ``τ = 2 arccosh(√2) T``: ``∫I = 2T``, ``∫I² = 4T/3``, hence
      ``s = 2 arccosh(√2)/3 ≈ 0.588``.

    The fluence for a given excitation scales as ``1/√s``: ×1.227 (Gaussian) and ×1.305 (sech²)
    over a square pulse of the same length.
    """
    shape = validate.choice("pump.shape", shape, PULSE_SHAPES)
    if shape == "square":
        return 1.0
    if shape == "gaussian":
        return math.sqrt(2.0 * math.log(2.0) / math.pi)
    return 2.0 * _ACOSH_SQRT2 / 3.0


def pulse_window_ps(shape: str, fwhm_ps: float) -> tuple[float, float]:
    """The interval (ps) over which :func:`pulse_profile_per_ps` is integrated: the whole square
    pulse; ±3 FWHM of a Gaussian (its square, the two-photon rate, is down by 2⁻⁷²); ±20 T of a
    sech² (its square down by e⁻⁸⁰).  The pulse is centred in it."""
    if shape == "square":
        return 0.0, fwhm_ps
    if shape == "gaussian":
        return 0.0, 6.0 * fwhm_ps
    t = fwhm_ps / (2.0 * _ACOSH_SQRT2)
    return 0.0, 40.0 * t


def pulse_profile_per_ps(shape: str, fwhm_ps: float, t_ps):
    """The pulse's intensity versus time, normalised to unit area (1/ps), centred in
    :func:`pulse_window_ps` (numpy arrays accepted)."""
    import numpy as np

    t = np.asarray(t_ps, dtype=float)
    lo, hi = pulse_window_ps(shape, fwhm_ps)
    tc = 0.5 * (lo + hi)
    if shape == "square":
        return np.where((t >= 0.0) & (t <= fwhm_ps), 1.0 / fwhm_ps, 0.0)
    if shape == "gaussian":
        a = 4.0 * math.log(2.0) / fwhm_ps ** 2
        return np.exp(-a * (t - tc) ** 2) * math.sqrt(a / math.pi)
    big_t = fwhm_ps / (2.0 * _ACOSH_SQRT2)
    return 1.0 / (2.0 * big_t * np.cosh((t - tc) / big_t) ** 2)


@dataclass(frozen=True)
class TwoPhotonPump:
    """A two-photon-pumped nanocrystal film: the pump pulse and the film's kinetics.

    Pulse: ``shape`` ("gaussian" | "sech2" | "square"), ``pulse_fs`` (FWHM; square: length),
    ``wavelength_nm``, ``repetition_rate_khz``.  Two-photon generation per nanocrystal
    ``d⟨N⟩/dt = (σ₂/2) Φ(t)²`` (Φ the photon flux, photons/cm²/s), so a pulse of fluence F
    creates ``⟨N⟩₀ = (σ₂/2) s (F/hν)²/τ`` excitons per nanocrystal (``s``:
    :func:`shape_factor`; decay during the pulse is left to the rate equations).  The ½ is this
    convention's (σ₂ counts two photons absorbed per event): papers differ, check a σ₂'s source.

    Kinetics (the rate equations, :mod:`wgm.lasing.pulsed`): ``biexciton_lifetime_ps`` (τ_XX,
    the Auger-limited lifetime of the excitons beyond the first in a nanocrystal, which sets
    how long the gain lasts), ``exciton_lifetime_ns`` (τ_X of a singly excited nanocrystal) and
    ``quantum_yield`` (its radiative share; the radiative rate is QY/τ_X).

    Defaults, with their status (README "Pulsed pumping"):

    * σ₂ = 10⁶ GM at 800 nm: an order of magnitude for ~10 nm CsPbBr3 nanocrystals (reported
      values 10⁵–10⁶ GM, scattered by ~10×; not from a read source): an assumption;
    * 100 fs Gaussian pulses at 1 kHz (an amplified Ti:sapphire laser): an assumption;
    * τ_XX = 40 ps: an assumption inside the bracket of the sources read — CsPbCl3
      nanocrystals 20 ± 3 ps, CsPbBr3 nanocrystals' effective Auger lifetime up to 126 ps at
      low excitation (Nanomaterials 11, 463 (2021)); no CsPbBr3 τ_XX for ~10 nm crystals was
      found in a source actually read;
    * τ_X = 7 ns: the single-exciton lifetime of CsPbBr3 nanocrystals in Nanomaterials 11, 463
      (2021) (radiative lifetimes 1–29 ns across CsPbX3, Nano Lett. 15, 3692 (2015));
    * QY = 0.7: inside the "up to 90 %" of Nano Lett. 15, 3692 (2015); an assumption for a film.

    Legacy model (:func:`threshold_vs_radius`, threshold gain → fluence): film gain
    ``g = σ_g N_nc (⟨N⟩ − N_tr)`` with ``gain_cross_section_cm2`` σ_g ~ 10⁻¹⁴ cm²,
    ``nanocrystal_density_per_cm3`` N_nc ~ 7×10¹⁷ cm⁻³ (~50 % of the film), transparency
    ``transparency_excitons`` N_tr = 1 (biexciton gain); orders of magnitude, not measurements.
    """

    shape: str = "gaussian"
    wavelength_nm: float = 800.0
    pulse_fs: float = 100.0
    repetition_rate_khz: float = 1.0
    two_photon_cross_section_gm: float = 1.0e6
    biexciton_lifetime_ps: float = 40.0
    exciton_lifetime_ns: float = 7.0
    quantum_yield: float = 0.7
    nanocrystal_density_per_cm3: float = 7.0e17
    gain_cross_section_cm2: float = 1.0e-14
    transparency_excitons: float = 1.0

    def __post_init__(self):
        object.__setattr__(self, "shape", validate.choice("pump.shape", self.shape, PULSE_SHAPES))
        for f in fields(self):
            if f.name == "shape":
                continue
            if f.name == "quantum_yield":
                value = validate.fraction("pump.quantum_yield", self.quantum_yield)
            else:
                value = validate.positive(f"pump.{f.name}", getattr(self, f.name),
                                          allow_zero=f.name == "transparency_excitons")
            object.__setattr__(self, f.name, value)

    # ---- the pulse -------------------------------------------------------------------
    @property
    def shape_factor(self) -> float:
        """:func:`shape_factor` of this pulse's shape."""
        return shape_factor(self.shape)

    @property
    def photon_energy_j(self) -> float:
        return _H * _C / (self.wavelength_nm * 1e-9)

    @property
    def pulse_ps(self) -> float:
        return self.pulse_fs * 1e-3

    @property
    def period_ps(self) -> float:
        """Time between pulses."""
        return 1e9 / self.repetition_rate_khz

    def excitation_from_fluence(self, fluence_mj_per_cm2: float) -> float:
        """⟨N⟩₀, the excitons per nanocrystal a pulse of this fluence (mJ/cm²) creates:
        ``(σ₂/2) s (F/hν)²/τ``."""
        photons = float(fluence_mj_per_cm2) * 1e-3 / self.photon_energy_j        # photons/cm²
        sigma2 = self.two_photon_cross_section_gm * _GM                             # cm⁴ s
        return 0.5 * sigma2 * self.shape_factor * photons ** 2 / (self.pulse_fs * 1e-15)

    def fluence_from_excitation(self, excitation: float) -> float:
        """The pulse fluence (mJ/cm²) that creates ``excitation`` excitons per nanocrystal (the
        inverse of :meth:`excitation_from_fluence`)."""
        excitation = float(excitation)
        if excitation < 0:
            raise ValueError(f"excitation must be >= 0, got {excitation}")
        sigma2 = self.two_photon_cross_section_gm * _GM
        photons = math.sqrt(2.0 * excitation * self.pulse_fs * 1e-15 / (sigma2 * self.shape_factor))
        return 1e3 * photons * self.photon_energy_j

    def generation_per_ps(self, fluence_mj_per_cm2: float, t_ps):
        """G(t) (excitons per nanocrystal per ps) of one pulse: ``⟨N⟩₀ I(t)²/∫I²dt`` over
        :meth:`window_ps`."""
        p = pulse_profile_per_ps(self.shape, self.pulse_ps, t_ps)
        return self.excitation_from_fluence(fluence_mj_per_cm2) * p ** 2 * self.pulse_ps / self.shape_factor

    def window_ps(self) -> tuple[float, float]:
        """The pulse's interval (ps), pulse centred in it (:func:`pulse_window_ps`)."""
        return pulse_window_ps(self.shape, self.pulse_ps)

    # ---- legacy: threshold gain -> fluence --------------------------------------------
    def excitons_per_nanocrystal(self, gain_per_cm: float) -> float:
        """⟨N⟩ that gives the material gain ``gain_per_cm`` (legacy linear gain model)."""
        return self.transparency_excitons + gain_per_cm / (self.gain_cross_section_cm2 *
                                                           self.nanocrystal_density_per_cm3)

    def threshold_fluence_mj_per_cm2(self, gain_per_cm: float) -> float:
        """Pump fluence (mJ/cm²) per pulse that gives the material gain ``gain_per_cm`` at the
        end of the pulse (legacy linear gain model): the excitons needed, divided by the share
        ``(τ/τ_p)(1 − e^{−τ_p/τ})`` that survives the gain lifetime τ = τ_XX during a pulse of
        length τ_p, then :meth:`fluence_from_excitation` (shape factor included)."""
        ratio = self.pulse_ps / self.biexciton_lifetime_ps
        survive = -math.expm1(-ratio) / ratio  # expm1: exact also for pulses much shorter than τ
        return self.fluence_from_excitation(self.excitons_per_nanocrystal(gain_per_cm) / survive)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in sorted(f.name for f in fields(self))}


def parse_pump(table) -> TwoPhotonPump:
    """The config's ``[pump]`` table (absent: the defaults)."""
    return from_table(table, "pump", TwoPhotonPump)


@dataclass(frozen=True)
class PumpThreshold:
    """The mode that lases first at one core radius and its two-photon pump threshold."""

    radius_um: float                               # core radius
    diameter_um: float                             # outer diameter, coatings included
    first: LasingMode | None                       # largest pump margin; None: no mode can lase
    peak_gain_needed_per_cm: float | None = None   # the band's peak that puts g_th at that mode
    threshold_fluence_mj_per_cm2: float | None = None

    def to_dict(self) -> dict:
        """One flat row (the CSV/JSON columns); only radius, diameter and a ``None`` fluence
        where no mode lases."""
        d = {"radius_um": self.radius_um, "diameter_um": self.diameter_um}
        if self.first is not None:
            m, g = self.first.mode, self.first.gain
            d.update({"polarization": m.polarization, "l": m.l, "radial_order": m.radial_order,
                      "wavelength_nm": g.threshold_wavelength_nm, "Q": m.Q, "confinement": g.confinement,
                      "threshold_gain_per_cm": g.threshold_gain_per_cm,
                      "peak_gain_needed_per_cm": self.peak_gain_needed_per_cm})
        d["threshold_fluence_mj_per_cm2"] = self.threshold_fluence_mj_per_cm2
        return d


def threshold_vs_radius(res: Resonator, search, gain: GainSpectrum, pump: TwoPhotonPump,
                        radii_um) -> list[PumpThreshold]:
    """For each core radius: the mode that lases first (largest margin), its threshold gain, the
    peak of the gain band that puts that much gain at the mode, and the pump fluence that
    gives it (``first = None`` where no mode can lase within the film's gain band)."""
    rows = []
    for r in radii_um:
        rr = replace(res, shape=replace(res.shape, radius_um=float(r)))
        result = thresholds(rr, search, gain)
        best = next(iter(result.modes), None)
        diameter = 2 * float(r) + 2 * sum(c.thickness_um for c in res.coatings)
        if best is not None and best.can_lase:
            # the pump must raise the whole band until its value at the mode reaches g_th
            g_peak = best.gain.threshold_gain_per_cm * gain.peak_gain_per_cm / best.available_gain_per_cm
            rows.append(PumpThreshold(float(r), diameter, best, g_peak, pump.threshold_fluence_mj_per_cm2(g_peak)))
        else:
            rows.append(PumpThreshold(float(r), diameter, None))
    return rows
