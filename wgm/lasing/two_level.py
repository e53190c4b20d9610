"""Above threshold: a saturable two-level gain film (Meep's ``MultilevelAtom``, the config's
``[lasing]`` table), the threshold pump rate predicted from the exact threshold gain, and the
record of the FDTD light-in/light-out curve (``wgm.fdtd.lasing_curve``)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, fields

import numpy as np

from wgm.errors import ConfigError
from wgm.lasing.spectrum import GainSpectrum
from wgm.model import validate
from wgm.model.validate import from_table
from wgm.lasing.threshold import ModeGain, _solve, mode_gain, region_indices
from wgm.model.resonator import Resonator
from wgm.records.files import json_text

__all__ = ["TwoLevelGain", "parse_lasing", "LasingPrediction", "predict_lasing_threshold", "LasingResonator",
           "lasing_resonator", "LasingPoint", "LasingCurve", "fit_threshold", "LASING_CSV_COLUMNS"]

log = logging.getLogger(__name__)

_DENSITY = 1.0  # N0 of the model (Meep units): only the product N0·σ enters the small-signal gain


@dataclass(frozen=True)
class TwoLevelGain:
    """The saturable gain film of the lasing run (config table ``[lasing]``).

    A two-level medium (Meep's ``MultilevelAtom``) on top of the region's background index:
    level 1 is pumped to level 2 at the rate ``R_p``, level 2 decays back at ``1/lifetime``,
    and the 2 → 1 transition is a Lorentzian line (``transition_wavelength_nm``, full width
    ``linewidth_nm``) whose gain at full inversion, at the line centre, is
    ``full_inversion_gain_per_cm``.  The small-signal inversion is
    ``ΔN₀ = N₀ (R_p − Γ₂₁)/(R_p + Γ₂₁)``.

    Physical: the line (wavelength, width) and the gain at full inversion.  Model choices:
    ``lifetime_ps`` (a real nanocrystal film has ~30 ps; shorter lifetimes reach steady state
    in fewer time steps and leave the threshold *in units of the predicted one* unchanged: it
    only scales the pump rates and the output power), and the absolute power scale (Meep
    units, set by the model's coupling; only ratios and the threshold are meaningful).

    ``pump_rates_rel`` are the pump rates of the L-L curve in units of the predicted
    threshold pump rate.
    """

    m: int = field(metadata={"doc": "the azimuthal number of the lasing mode"})
    polarization: str = "TE"
    radial_order: int = 1
    region: str = "coating"
    pump_rates_rel: tuple[float, ...] = (0.7, 0.9, 1.25, 1.5, 1.75, 2.0)
    transition_wavelength_nm: float = 525.0
    linewidth_nm: float = 20.0
    full_inversion_gain_per_cm: float = 500.0
    lifetime_ps: float = 0.1
    max_time_ps: float | None = None
    settle_rel: float = 0.01

    def __post_init__(self):
        m = self.m
        if isinstance(m, bool) or not isinstance(m, int) or m < 1:
            raise ConfigError("lasing.m", m, "must be an integer >= 1 (the azimuthal number of the lasing mode)")
        if self.polarization not in ("TE", "TM"):
            raise ConfigError("lasing.polarization", self.polarization, "allowed: 'TE', 'TM'")
        q = self.radial_order
        if isinstance(q, bool) or not isinstance(q, int) or q < 1:
            raise ConfigError("lasing.radial_order", q, "must be an integer >= 1")
        if not isinstance(self.region, str):
            raise ConfigError("lasing.region", self.region, "allowed: 'core', 'coating', 'coating.N'")
        rates = self.pump_rates_rel
        if not isinstance(rates, (list, tuple)) or not rates or any(
                isinstance(r, bool) or not isinstance(r, (int, float)) or not math.isfinite(r) or r <= 0 for r in rates):
            raise ConfigError("lasing.pump_rates_rel", rates,
                              "must be a non-empty list of numbers > 0 (pump rates / predicted threshold)")
        object.__setattr__(self, "pump_rates_rel", tuple(float(r) for r in rates))
        for key in ("transition_wavelength_nm", "linewidth_nm", "full_inversion_gain_per_cm", "lifetime_ps"):
            object.__setattr__(self, key, validate.positive(f"lasing.{key}", getattr(self, key)))
        if self.max_time_ps is not None:
            object.__setattr__(self, "max_time_ps", validate.positive("lasing.max_time_ps", self.max_time_ps))
        s = self.settle_rel
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s < 0.5:
            raise ConfigError("lasing.settle_rel", s, "must be a number in (0, 0.5), e.g. 0.01")
        if self.linewidth_nm >= self.transition_wavelength_nm:
            raise ConfigError("lasing.linewidth_nm", self.linewidth_nm, "must be below transition_wavelength_nm")

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in sorted(f.name for f in fields(self))}
        d["pump_rates_rel"] = list(self.pump_rates_rel)
        return d


def parse_lasing(table, gain: GainSpectrum | None = None) -> TwoLevelGain:
    """The config's ``[lasing]`` table (required: ``m``).  The line, its width, the gain at full
    inversion and the region default to the ``[gain]`` table's peak wavelength, FWHM, peak gain
    and region."""
    gain = gain or GainSpectrum()
    defaults = {"region": gain.region, "transition_wavelength_nm": gain.peak_wavelength_nm,
                "linewidth_nm": gain.fwhm_nm, "full_inversion_gain_per_cm": gain.peak_gain_per_cm}
    return from_table(table, "lasing", TwoLevelGain, defaults=defaults)


def _lorentz_denominator(omega, omega_a, gamma):
    """D(ω) of Meep's two-level polarization P'' + γP' + (ω_a² + γ²/4)P = −σΔN E:
    χ(ω) = −σΔN / D(ω) for fields exp(−iωt)."""
    return omega_a ** 2 + gamma ** 2 / 4 - omega ** 2 - 1j * gamma * omega


@dataclass(frozen=True)
class LasingPrediction:
    """The threshold pump rate predicted from the exact threshold gain (no FDTD).

    Meep units throughout (``a`` = 1 µm): frequencies f = 1/λ[µm], rates per a/c; the
    ``*_per_ps`` fields are the same rates in 1/ps.
    """

    gain: ModeGain                       # exact threshold gain and Γ of the mode (frozen materials)
    frequency: float                     # f of the mode at threshold
    transition_frequency: float          # f_a of the two-level line
    linewidth_frequency: float           # its full width (MultilevelAtom's gamma)
    lineshape: float                     # gain at the mode / gain at the line centre (same inversion)
    decay_rate: float                    # Γ21 = 1 / lifetime
    inversion_threshold: float           # ΔN_th / N0
    pump_rate_threshold: float           # R_p at threshold
    couplings: tuple[float, ...]         # MultilevelAtom σ of each layer of the region (inner first)
    layer_indices: tuple[float, ...]     # their background indices
    density: float = _DENSITY

    @property
    def pump_rate_threshold_per_ps(self) -> float:
        from wgm import units

        return float(units.rate_per_ps(self.pump_rate_threshold))

    def inversion(self, pump_rate: float) -> float:
        """Small-signal inversion ΔN₀/N0 = (R_p − Γ21)/(R_p + Γ21)."""
        return (pump_rate - self.decay_rate) / (pump_rate + self.decay_rate)

    def gain_per_cm(self, pump_rate: float, frequency: float | None = None) -> float:
        """Small-signal material gain (cm⁻¹) of the film at ``pump_rate`` and Meep frequency
        ``frequency`` (default: the mode's), from Meep's susceptibility: ``g = k0 (−Im χ)/n``."""
        from wgm import units

        f = self.frequency if frequency is None else frequency
        w, wa, gam = 2 * math.pi * f, 2 * math.pi * self.transition_frequency, 2 * math.pi * self.linewidth_frequency
        chi = -self.couplings[0] * self.density * self.inversion(pump_rate) / _lorentz_denominator(w, wa, gam)
        return float(units.gain_per_cm_from_meep(w * (-chi.imag) / self.layer_indices[0]))

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__ if k != "gain"}
        d["couplings"] = list(self.couplings)
        d["layer_indices"] = list(self.layer_indices)
        d["pump_rate_threshold_per_ps"] = self.pump_rate_threshold_per_ps
        d["mode"] = self.gain.to_dict()
        return d


@dataclass(frozen=True)
class LasingResonator:
    """The resonator FDTD simulates for the lasing run: materials frozen at the wavelength of
    the lasing mode without gain."""

    resonator: Resonator
    wavelength_nm: float          # of the passive mode, where the materials are frozen


def lasing_resonator(res: Resonator, model: TwoLevelGain) -> LasingResonator:
    """``res`` with its materials frozen at the wavelength of the model's passive mode."""
    passive = _solve(res, model.polarization, model.m, model.radial_order)
    return LasingResonator(res.frozen_at(passive.wavelength_nm), passive.wavelength_nm)


def predict_lasing_threshold(res: Resonator, model: TwoLevelGain) -> LasingPrediction:
    """The pump rate at which the film's small-signal gain equals the mode's exact threshold gain.

    1. ``g_th`` of the mode ``(polarization, l = m, radial_order)`` with the gain in
       ``model.region`` (:func:`mode_gain`, materials frozen at the mode's wavelength, as in
       FDTD): the region's index ``n − i k_th``, i.e. ``Im ε = −2 n k_th``;
    2. Meep's two-level susceptibility ``χ(ω) = −σΔN/(ω_a² + γ²/4 − ω² − iγω)`` (≈
       ``(σΔN/2ω)/(ω − ω_a + iγ/2)`` near the line) gives ``g = k0 (−Im χ)/n``; ``σ`` of each
       layer is set so that full inversion gives ``full_inversion_gain_per_cm`` at the line
       centre (``σ ∝ n``: the same material gain in every layer);
    3. ``ΔN_th/N0 = g_th / (g_full · lineshape(ω_th))`` and, from ``ΔN₀ = N0(R_p − Γ21)/(R_p + Γ21)``,
       ``R_p,th = Γ21 (1 + ΔN_th/N0)/(1 − ΔN_th/N0)``.

    Neglected: frequency pulling by ``Re χ`` when the line is detuned from the mode (the
    lineshape is taken at the exact threshold frequency), and ``Re ε`` changing by ``−k_th²``.
    """
    from wgm import units

    lr = lasing_resonator(res, model)
    frozen, lam0 = lr.resonator, lr.wavelength_nm
    mg = mode_gain(frozen, model.region, model.polarization, model.m, model.radial_order)
    f = float(units.freq_from_wavelength_nm(mg.threshold_wavelength_nm))
    f_a = float(units.freq_from_wavelength_nm(model.transition_wavelength_nm))
    df = float(units.freq_width_from_wavelength_width_nm(model.transition_wavelength_nm, model.linewidth_nm))
    w, wa, gam = 2 * math.pi * f, 2 * math.pi * f_a, 2 * math.pi * df
    shape = (w * w / abs(_lorentz_denominator(w, wa, gam)) ** 2) / (wa * wa / abs(_lorentz_denominator(wa, wa, gam)) ** 2)
    x = mg.threshold_gain_per_cm / (model.full_inversion_gain_per_cm * shape)
    if x >= 1:
        raise ConfigError("lasing.full_inversion_gain_per_cm", model.full_inversion_gain_per_cm,
                          f"the mode {model.polarization}{model.radial_order} m={model.m} needs "
                          f"{mg.threshold_gain_per_cm:.4g} cm⁻¹ at {mg.threshold_wavelength_nm:.2f} nm, where the "
                          f"line gives {shape:.3g} of its peak: the gain at full inversion must exceed "
                          f"{mg.threshold_gain_per_cm / shape:.4g} cm⁻¹ (or tune transition_wavelength_nm)")
    if x > 0.9:
        log.warning("lasing: threshold at %.0f %% inversion: the pump rate diverges near full inversion", 100 * x)
    g_full = float(units.gain_to_meep(model.full_inversion_gain_per_cm))
    n_layers = tuple(float(n.real) for n in region_indices(frozen, model.region, lam0))
    couplings = tuple(g_full * n * abs(_lorentz_denominator(wa, wa, gam)) ** 2 / (_DENSITY * gam * wa * wa)
                      for n in n_layers)
    g21 = float(units.rate_from_lifetime_ps(model.lifetime_ps))
    return LasingPrediction(gain=mg, frequency=f, transition_frequency=f_a, linewidth_frequency=df, lineshape=shape,
                            decay_rate=g21, inversion_threshold=x, pump_rate_threshold=g21 * (1 + x) / (1 - x),
                            couplings=couplings, layer_indices=n_layers)


@dataclass(frozen=True)
class LasingPoint:
    """One pump rate of the L-L curve (FDTD, steady state).

    ``output_power``: the outward Poynting flux through a cylinder outside the resonator, per
    µm of height (2-D limit), averaged over the last window of the run (Meep units, arbitrary
    scale).  ``state``: ``"lasing"`` (steady output), ``"below threshold"`` (the field decays
    at a constant rate far below the lasing level: the steady state is zero output) or
    ``"not settled"`` (the time limit came first).
    """

    pump_rate_rel: float          # / predicted threshold
    pump_rate: float              # Meep units
    output_power: float
    wavelength_nm: float          # of the field at the end of the run (lasing wavelength)
    state: str
    growth_rate: float            # d ln P / dt over the last window (Meep units)
    run_time: float               # Meep time units
    windows: int

    def to_dict(self) -> dict:
        from wgm import units

        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["pump_rate_per_ps"] = float(units.rate_per_ps(self.pump_rate))
        d["run_time_ps"] = float(self.run_time / units.meep_time_from_ps(1.0))
        return d


LASING_CSV_COLUMNS = ("pump_rate_rel", "pump_rate", "pump_rate_per_ps", "output_power", "wavelength_nm", "state",
                      "growth_rate", "run_time", "run_time_ps", "windows")


def fit_threshold(points) -> dict | None:
    """Line through the lasing points: ``P = slope (R − R_th)``.  ``None`` with fewer than two."""
    las = [p for p in points if p.state == "lasing"]
    if len(las) < 2:
        return None
    r = np.array([p.pump_rate_rel for p in las])
    pw = np.array([p.output_power for p in las])
    slope, icept = np.polyfit(r, pw, 1)
    if slope <= 0:
        return None
    resid = pw - (slope * r + icept)
    return {"threshold_rel": float(-icept / slope), "slope": float(slope), "points": len(las),
            "rms_residual_rel": float(np.sqrt(np.mean(resid ** 2)) / np.max(pw))}


@dataclass(frozen=True)
class LasingCurve:
    """An FDTD light-in/light-out curve of one mode with its predicted threshold."""

    resonator: Resonator
    model: TwoLevelGain
    prediction: LasingPrediction
    points: tuple[LasingPoint, ...]
    fdtd: dict                       # resolution, cell, flux radius, passive FDTD Q, ...

    @property
    def fit(self) -> dict | None:
        return fit_threshold(self.points)

    @property
    def fitted_threshold_rel(self) -> float | None:
        """The FDTD threshold in units of the predicted one (None: fewer than two lasing points)."""
        f = self.fit
        return None if f is None else f["threshold_rel"]

    def to_dict(self) -> dict:
        from wgm.config import Config, config_to_dict
        from wgm.model.resonator import Search
        from wgm.records import versions

        lam = self.prediction.gain.wavelength_nm
        cfg = config_to_dict(Config(self.resonator, Search((0.99 * lam, 1.01 * lam), self.model.radial_order)))
        fit = self.fit
        return {"command": "lasing", "versions": versions(), "config": cfg, "lasing": self.model.to_dict(),
                "prediction": self.prediction.to_dict(), "fdtd": dict(self.fdtd),
                "points": [p.to_dict() for p in self.points],
                "fit": fit,
                "threshold_rel_predicted": 1.0,
                "threshold_rel_fdtd": None if fit is None else fit["threshold_rel"],
                "threshold_pump_rate_per_ps_predicted": self.prediction.pump_rate_threshold_per_ps,
                "threshold_pump_rate_per_ps_fdtd": None if fit is None else
                fit["threshold_rel"] * self.prediction.pump_rate_threshold_per_ps}

    def to_json(self) -> str:
        return json_text(self.to_dict())

    def to_csv(self) -> str:
        from wgm.records import csv_table

        return csv_table(LASING_CSV_COLUMNS, (p.to_dict() for p in self.points))

    def write(self, out_dir) -> list:
        """``lasing.json`` and ``lasing.csv`` in ``out_dir`` (atomically); returns the paths."""
        from pathlib import Path

        from wgm.records import atomic_write

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / "lasing.json", out_dir / "lasing.csv"]
        atomic_write(paths[0], self.to_json())
        atomic_write(paths[1], self.to_csv())
        return paths
