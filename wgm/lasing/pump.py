"""Two-photon pumping of the nanocrystal film: from a threshold gain to a threshold pump fluence
(the config's ``[pump]`` table), and the fluence threshold versus the resonator's size."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields, replace

from wgm.lasing.spectrum import GainSpectrum
from wgm.model import validate
from wgm.model.validate import from_table
from wgm.lasing.threshold import LasingMode, thresholds
from wgm.model.resonator import Resonator

__all__ = ["TwoPhotonPump", "parse_pump", "PumpThreshold", "threshold_vs_radius"]

_H = 6.62607015e-34       # J s
_C = 2.99792458e8         # m/s
_GM = 1e-50               # Göppert-Mayer unit, cm⁴ s per photon


@dataclass(frozen=True)
class TwoPhotonPump:
    """A two-photon-pumped nanocrystal film: from a threshold gain to a threshold fluence.

    Model (pulsed pumping, uniform film):

    * excitons per nanocrystal created by a pulse of fluence F and duration τ_p:
      ``⟨N⟩ = σ₂ F² / (2 τ_p (hν)²) · s``, with ``s = (τ/τ_p)(1 − e^{−τ_p/τ})`` the share that
      survives decay during the pulse (exciton lifetime τ; s → 1 for pulses much shorter);
    * material gain of the film ``g = σ_g N_nc (⟨N⟩ − N_tr)`` (gain cross-section σ_g per
      exciton above transparency N_tr, nanocrystal density N_nc);
    * hence ``F_th = hν √(2 τ_p (N_tr + g_th/(σ_g N_nc)) / (σ₂ s))``.

    Defaults are orders of magnitude for ~9 nm CsPbBr3 nanocrystals pumped at 800 nm by
    ~100 fs pulses, as in two-photon-pumped nanocrystal lasers (J. Am. Chem. Soc. 138 (2016)):
    σ₂ ~ 10⁶ GM, a film of ~50 % nanocrystals by volume (~7×10¹⁷ cm⁻³), σ_g ~ 10⁻¹⁴ cm²,
    transparency at one exciton per nanocrystal (biexciton gain), τ ~ 30 ps.  They are
    assumptions for a first estimate, not measured values: set the config's ``[pump]`` table.
    """

    wavelength_nm: float = 800.0
    pulse_fs: float = 100.0
    two_photon_cross_section_gm: float = 1.0e6
    nanocrystal_density_per_cm3: float = 7.0e17
    gain_cross_section_cm2: float = 1.0e-14
    transparency_excitons: float = 1.0
    exciton_lifetime_ps: float = 30.0

    def __post_init__(self):
        for f in fields(self):
            object.__setattr__(self, f.name, validate.positive(f"pump.{f.name}", getattr(self, f.name),
                                                                allow_zero=f.name == "transparency_excitons"))

    def excitons_per_nanocrystal(self, gain_per_cm: float) -> float:
        """⟨N⟩ that gives the material gain ``gain_per_cm``."""
        return self.transparency_excitons + gain_per_cm / (self.gain_cross_section_cm2 *
                                                           self.nanocrystal_density_per_cm3)

    def threshold_fluence_mj_per_cm2(self, gain_per_cm: float) -> float:
        """Pump fluence (mJ/cm²) per pulse that gives the material gain ``gain_per_cm``."""
        photon_j = _H * _C / (self.wavelength_nm * 1e-9)
        tau_p = self.pulse_fs * 1e-15
        ratio = tau_p / (self.exciton_lifetime_ps * 1e-12)
        survive = -math.expm1(-ratio) / ratio  # expm1: exact also for pulses much shorter than τ
        n = self.excitons_per_nanocrystal(gain_per_cm)
        sigma2 = self.two_photon_cross_section_gm * _GM
        return 1e3 * photon_j * math.sqrt(2 * tau_p * n / (sigma2 * survive))

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
