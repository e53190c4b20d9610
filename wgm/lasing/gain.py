"""Gain and lasing thresholds of the modes of a resonator with a gain region (exact solver).

Conventions: fields ``exp(−iωt)``, complex index ``n + ik`` with ``k > 0`` absorbing and
``k < 0`` amplifying.  A gain region (``"core"``, ``"coating"`` = every coating, or
``"coating.N"``) gets material gain ``g`` (intensity gain per length, cm⁻¹) by adding
``k = −g λ / (4π)`` to its index.

Per mode (polarization, l, radial order) this module computes

* the **threshold gain** ``g_th``: the material gain at which the mode's complex frequency
  becomes real (``Im ω = 0``), found with the exact solver by a root search in ``g``;
* the **confinement factor** ``Γ``, the share of the mode's electric energy in the region with
  the dispersion-correct density ``∂(ωε)/∂ω |E|²``.  It comes from the mode's response to a
  small relative change of the region's index, ``n → n(1 + iρ)``: first-order perturbation
  theory gives ``δ(1/Q) = 2ρ ∫_region ε|E|² / ∫ ∂(ωε)/∂ω |E|²`` (the "response"
  confinement), and ``∂(ωε)/∂ω = ε (2n_g − n)/n`` in the region (its group index ``n_g``
  taken as uniform) turns that into the energy share.  Without dispersion the two agree;
* the **closed-form threshold** ``g_th ≈ 2π n_g / (λ Q Γ)`` for comparison, with the group
  index ``n_g`` of the gain material.

:func:`thresholds` does this for every mode of a search and compares each threshold with
the film's available gain (:class:`GainSpectrum`, the config's ``[gain]`` table): the modes
that can lase, ranked by their pump margin.

Above threshold (:class:`TwoLevelGain`, :func:`predict_lasing_threshold`,
:class:`LasingCurve`): a saturable two-level film, the threshold pump rate predicted from the
exact threshold gain, and the record of the FDTD L-L curve (``wgm.fdtd.lasing_curve``).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq

from wgm.errors import ConfigError, SolverError
from wgm.model.materials import Material
from wgm.model.resonator import Resonator

__all__ = ["WithGain", "with_gain", "region_indices", "ModeGain", "mode_gain", "confinement", "group_index",
           "GainSpectrum", "parse_gain", "LasingMode", "ThresholdResult", "thresholds", "TwoPhotonPump", "parse_pump",
           "threshold_vs_radius",
           "closed_form_threshold_per_cm", "TwoLevelGain", "parse_lasing", "LasingPrediction",
           "predict_lasing_threshold", "LasingPoint", "LasingCurve", "fit_threshold", "lasing_resonator"]

log = logging.getLogger(__name__)

_DK_REL = 1e-4           # relative step of the index perturbation for the confinement derivative
_BRACKET_GROWTH = 4.0    # the threshold bracket grows by this factor until the mode lases
_MAX_BRACKET_STEPS = 12
_MAX_NEWTON_STEP = 0.2   # in x = k0 R, when following a mode to another gain
_MAX_HALVINGS = 10       # a gain step Newton cannot follow is split in two, this many times


@dataclass(frozen=True)
class WithGain(Material):
    """``base`` with its index scaled by ``(1 + i·rel)`` and ``−i·k_gain`` added: the complex
    perturbations used to find thresholds (``k_gain > 0`` amplifies) and confinement."""

    base: Material
    k_gain: float = 0.0
    rel: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.base.name} with gain"

    @property
    def wavelength_range_nm(self):
        return self.base.wavelength_range_nm

    def index(self, wavelength_nm, *, outside: str = "error"):
        return self.base.index(wavelength_nm, outside=outside) * (1 + 1j * self.rel) - 1j * self.k_gain

    def to_config(self) -> dict:
        return self.base.to_config()


def with_gain(res: Resonator, region: str, *, k_gain: float = 0.0, rel: float = 0.0) -> Resonator:
    """``res`` with the materials of ``region`` wrapped in :class:`WithGain`."""
    layers = res.layers()
    return res.with_layer_materials({j: WithGain(layers[j].material, k_gain, rel)
                                     for j in res.region_layers(region)})


def region_indices(res: Resonator, region: str, wavelength_nm: float) -> list[complex]:
    """The complex indices of the region's layers at one wavelength."""
    layers = res.layers()
    return [layers[j].material.n_at(wavelength_nm) for j in res.region_layers(region)]


@dataclass(frozen=True)
class ModeGain:
    """Gain figures of one mode (see the module docstring)."""

    polarization: str
    l: int
    radial_order: int
    wavelength_nm: float           # passive mode (no gain)
    Q: float                       # passive mode
    region: str
    confinement: float             # Γ: share of the electric energy (dispersive density) in the region
    response_confinement: float    # ∂(1/Q)/∂(2ρ) for n -> n(1 + iρ) in the region (= Γ without dispersion)
    threshold_gain_per_cm: float   # exact: material gain at which Im ω = 0
    threshold_wavelength_nm: float  # the lasing wavelength at threshold
    group_index: float             # of the gain material
    closed_form_gain_per_cm: float  # 2π n_g / (λ Q Γ)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _solve(res, pol, l, q):
    from wgm.exact.solver import solve_order

    return solve_order(res, pol, l, q)


def _follow(res, pol, l, x_start: complex) -> complex:
    """The root of (pol, l) of ``res`` nearest ``x_start`` (Newton from the mode of a nearby
    problem: continuation keeps the mode's identity even for lossy modes)."""
    from wgm.exact.solver import LayeredStack, find_root

    # a step cap well below the spacing of neighbouring roots (~1 in x) keeps Newton on this one
    x, ok, _ = find_root(LayeredStack.from_resonator(res), pol, np.array([l]), np.array([x_start]),
                         max_step=np.array([_MAX_NEWTON_STEP]))
    if not ok[0]:
        raise SolverError(f"{pol} l={l}: the mode could not be followed to this gain (Newton did not converge)")
    return complex(x[0])


def _inv_q(x: complex) -> float:
    """1/Q = −2 Im x / Re x (negative when the mode grows)."""
    return -2.0 * x.imag / x.real


def _outer_radius_um(res: Resonator) -> float:
    """Outer radius (µm) of the layered stack: the length that makes ``x = k0 R``."""
    return res.radial_layers()[-1].outer_radius_um


def confinement(res: Resonator, region: str, polarization: str, l: int, radial_order: int) -> float:
    """Γ of one mode in ``region``.

    The region's indices are scaled by ``1 + iρ``, i.e. ``δε = 2iρ ε`` there; first-order
    perturbation theory gives ``δω/ω = −iρ Γ`` with ``Γ = ∫_region ε|E|² / ∫ ε|E|²``, so
    ``δ(1/Q) = 2ρΓ``.  Central difference in ``ρ = ±η/2``.
    """
    eta = _DK_REL
    x0 = complex(*_solve(res, polarization, l, radial_order).size_parameter)
    minus = _inv_q(_follow(with_gain(res, region, rel=-eta / 2), polarization, l, x0))
    plus = _inv_q(_follow(with_gain(res, region, rel=eta / 2), polarization, l, x0))
    return (plus - minus) / (2 * eta)


def group_index(res: Resonator, region: str, wavelength_nm: float) -> float:
    """Group index ``n − λ dn/dλ`` of the region's material (mean over its layers)."""
    h = 1e-3 * wavelength_nm
    n = lambda lam: float(np.mean([x.real for x in region_indices(res, region, lam)]))  # noqa: E731
    return n(wavelength_nm) - wavelength_nm * (n(wavelength_nm + h) - n(wavelength_nm - h)) / (2 * h)


def closed_form_threshold_per_cm(wavelength_nm: float, Q: float, confinement_: float, group_index: float) -> float:
    """``g_th = 2π n_g / (λ Q Γ)`` in cm⁻¹: the loss rate ω/Q converted to a gain per length at
    the gain material's group velocity ``c/n_g``, shared by the fraction Γ of the mode in the
    gain (first order in the gain; without dispersion ``n_g`` is the region's index)."""
    lam_cm = wavelength_nm * 1e-7
    return 2 * math.pi * group_index / (lam_cm * Q * confinement_)


def mode_gain(res: Resonator, region: str, polarization: str, l: int, radial_order: int) -> ModeGain:
    """Confinement factor and threshold gain (exact and closed form) of one mode."""
    passive = _solve(res, polarization, l, radial_order)
    gam = confinement(res, region, polarization, l, radial_order)
    if not gam > 0:
        raise SolverError(f"{polarization} l={l} q={radial_order}: no field in the gain region '{region}' "
                          f"(Γ = {gam:.3g})")
    lam = passive.wavelength_nm
    n_r = float(np.mean([n.real for n in region_indices(res, region, lam)]))
    k_region = float(np.mean([n.imag for n in region_indices(res, region, lam)]))

    x_passive = complex(*passive.size_parameter)
    last = {0.0: x_passive}

    def at(k_gain: float, depth: int = 0) -> complex:
        # Newton from the root at the nearest gain already solved; a step too long for Newton
        # (strongly lossy modes move fast) is split in two
        k_near = min(last, key=lambda k: abs(k - k_gain))
        try:
            x = _follow(with_gain(res, region, k_gain=k_gain), polarization, l, last[k_near])
        except SolverError:
            if depth >= _MAX_HALVINGS:
                raise
            at(0.5 * (k_near + k_gain), depth + 1)
            return at(k_gain, depth + 1)
        last[k_gain] = x
        return x

    def im_x(k_gain: float) -> float:
        return at(k_gain).imag

    # first guess from first-order theory: 1/Q falls by 2 Γ k / n_r
    k_lo, k_hi = 0.0, max(n_r / (2 * passive.Q * gam), 1e-12) * 1.5 + max(k_region, 0.0)
    for _ in range(_MAX_BRACKET_STEPS):
        if im_x(k_hi) > 0:
            break
        k_lo, k_hi = k_hi, k_hi * _BRACKET_GROWTH
    else:
        raise SolverError(f"{polarization} l={l} q={radial_order}: no threshold found up to k = {k_hi:.3g}")
    k_th = brentq(im_x, k_lo, k_hi, xtol=1e-15, rtol=1e-10)
    x_th = at(k_th)
    R = _outer_radius_um(res)
    lam_th = 2 * math.pi * R / x_th.real * 1000.0
    g_th = 4 * math.pi * k_th / (lam_th * 1e-7)
    n_g = group_index(res, region, lam)
    # Γ above is the response ∫_region ε|E|² / ∫ ∂(ωε)/∂ω |E|²; the share of the (dispersive)
    # electric energy in the region weights the numerator by ∂(ωε)/∂ω / ε = (2 n_g − n)/n too
    gam_energy = gam * (2 * n_g - n_r) / n_r
    closed = closed_form_threshold_per_cm(lam, passive.Q, gam_energy, n_g)
    return ModeGain(polarization, l, radial_order, lam, passive.Q, region, gam_energy, gam, g_th, lam_th, n_g,
                    closed)


# --------------------------------------------------------------------------------------
# the film's gain spectrum and the modes that can lase

_GAIN_KEYS = {"region", "peak_gain_per_cm", "peak_wavelength_nm", "fwhm_nm"}


@dataclass(frozen=True)
class GainSpectrum:
    """The material gain available in the gain region, a Gaussian band ``g(λ)`` in cm⁻¹.

    The defaults describe a CsPbBr3-nanocrystal film at the order of magnitude reported for
    two-photon-pumped nanocrystal lasers (J. Am. Chem. Soc. 138 (2016): gain above 500 cm⁻¹
    near the 525 nm emission): peak 500 cm⁻¹ at 525 nm, 20 nm wide.  They are an assumption
    for a first look, not a measurement of your film: set the config's ``[gain]`` table.
    """

    region: str = "coating"
    peak_gain_per_cm: float = 500.0
    peak_wavelength_nm: float = 525.0
    fwhm_nm: float = 20.0

    def __post_init__(self):
        for key in ("peak_gain_per_cm", "peak_wavelength_nm", "fwhm_nm"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"gain.{key}", v, "must be a positive number")
        if not isinstance(self.region, str):
            raise ConfigError("gain.region", self.region, "allowed: 'core', 'coating', 'coating.N'")

    def at(self, wavelength_nm):
        """Available gain (cm⁻¹) at ``wavelength_nm``."""
        sigma = self.fwhm_nm / (2 * math.sqrt(2 * math.log(2)))
        return self.peak_gain_per_cm * np.exp(-0.5 * ((np.asarray(wavelength_nm) - self.peak_wavelength_nm) / sigma) ** 2)

    def to_dict(self) -> dict:
        return {"region": self.region, "peak_gain_per_cm": self.peak_gain_per_cm,
                "peak_wavelength_nm": self.peak_wavelength_nm, "fwhm_nm": self.fwhm_nm}


def _from_table(table, name: str, keys: set, cls):
    """Build ``cls`` from a config table, naming unknown keys (absent table: the defaults)."""
    if table is None:
        return cls()
    if not isinstance(table, dict):
        raise ConfigError(name, table, "must be a table with keys " + ", ".join(sorted(keys)))
    from wgm.errors import did_you_mean

    for key in table:
        if key not in keys:
            raise ConfigError(f"{name}.{key}", table[key], f"unknown key{did_you_mean(key, keys)}; "
                              f"allowed here: {', '.join(sorted(keys))}")
    return cls(**table)


def parse_gain(table) -> GainSpectrum:
    """The config's ``[gain]`` table (absent: the defaults)."""
    return _from_table(table, "gain", _GAIN_KEYS, GainSpectrum)


@dataclass(frozen=True)
class LasingMode:
    """A mode, its gain figures, and whether the available gain reaches its threshold."""

    mode: object                 # Mode (passive)
    gain: ModeGain
    available_gain_per_cm: float

    @property
    def pump_margin(self) -> float:
        """Available / threshold gain: above 1 the mode can lase."""
        return self.available_gain_per_cm / self.gain.threshold_gain_per_cm

    @property
    def can_lase(self) -> bool:
        return self.pump_margin >= 1.0

    def to_dict(self) -> dict:
        d = self.mode.to_dict()
        d.update({"confinement": self.gain.confinement, "threshold_gain_per_cm": self.gain.threshold_gain_per_cm,
                  "closed_form_gain_per_cm": self.gain.closed_form_gain_per_cm,
                  "threshold_wavelength_nm": self.gain.threshold_wavelength_nm,
                  "gain_group_index": self.gain.group_index,
                  "available_gain_per_cm": self.available_gain_per_cm, "pump_margin": self.pump_margin,
                  "can_lase": self.can_lase})
        return d


@dataclass(frozen=True)
class ThresholdResult:
    """Every mode of a search with its threshold, ranked by how easily it lases."""

    resonator: Resonator
    search: object
    gain: GainSpectrum
    modes: tuple[LasingMode, ...]   # sorted: largest pump margin (first to lase) first
    skipped: tuple = ()             # modes whose threshold could not be computed, with the reason

    @property
    def lasing(self) -> tuple[LasingMode, ...]:
        return tuple(m for m in self.modes if m.can_lase)

    def to_dict(self) -> dict:
        from wgm.config import Config, config_to_dict

        return {"config": config_to_dict(Config(self.resonator, self.search)), "gain": self.gain.to_dict(),
                "modes": [m.to_dict() for m in self.modes], "skipped": list(self.skipped),
                "first_to_lase": self.modes[0].to_dict() if self.modes and self.modes[0].can_lase else None}


def thresholds(res: Resonator, search, gain: GainSpectrum) -> ThresholdResult:
    """Threshold gain of every mode of ``search`` (exact solver) against the film's gain."""
    from wgm.exact.solver import solve

    spectrum = solve(res, search)
    out, skipped = [], []
    for m in spectrum.modes:
        try:
            mg = mode_gain(res, gain.region, m.polarization, m.l, m.radial_order)
        except SolverError as exc:
            log.warning("threshold: %s l=%d q=%d (Q %.3g) skipped: %s", m.polarization, m.l, m.radial_order, m.Q, exc)
            skipped.append({"polarization": m.polarization, "l": m.l, "radial_order": m.radial_order,
                            "wavelength_nm": m.wavelength_nm, "Q": m.Q, "reason": str(exc)})
            continue
        out.append(LasingMode(m, mg, float(gain.at(mg.threshold_wavelength_nm))))
    out.sort(key=lambda lm: -lm.pump_margin)
    return ThresholdResult(res, search, gain, tuple(out), tuple(skipped))


# --------------------------------------------------------------------------------------
# two-photon pumping of the nanocrystal film

_H = 6.62607015e-34       # J s
_C = 2.99792458e8         # m/s
_GM = 1e-50               # Göppert-Mayer unit, cm⁴ s per photon
_PUMP_KEYS = {"wavelength_nm", "pulse_fs", "two_photon_cross_section_gm", "nanocrystal_density_per_cm3",
              "gain_cross_section_cm2", "transparency_excitons", "exciton_lifetime_ps"}


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
        for key in _PUMP_KEYS:
            v = getattr(self, key)
            ok = not isinstance(v, bool) and isinstance(v, (int, float)) and math.isfinite(v)
            if not ok or v < 0 or (v == 0 and key != "transparency_excitons"):
                raise ConfigError(f"pump.{key}", v, "must be a positive number"
                                  + (" (or 0)" if key == "transparency_excitons" else ""))

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
        return {k: getattr(self, k) for k in sorted(_PUMP_KEYS)}


def parse_pump(table) -> TwoPhotonPump:
    """The config's ``[pump]`` table (absent: the defaults)."""
    return _from_table(table, "pump", _PUMP_KEYS, TwoPhotonPump)


def threshold_vs_radius(res: Resonator, search, gain: GainSpectrum, pump: TwoPhotonPump, radii_um) -> list[dict]:
    """For each core radius: the mode that lases first (largest margin), its threshold gain, the
    peak of the gain band that puts that much gain at the mode, and the pump fluence that
    gives it (``None`` where no mode can lase within the film's gain band)."""
    rows = []
    for r in radii_um:
        rr = Resonator(replace(res.shape, radius_um=float(r)), res.coatings, res.surroundings, res.substrate)
        result = thresholds(rr, search, gain)
        best = next(iter(result.modes), None)
        row = {"radius_um": float(r), "diameter_um": 2 * float(r) + 2 * sum(c.thickness_um for c in res.coatings)}
        if best is not None and best.can_lase:
            # the pump must raise the whole band until its value at the mode reaches g_th
            g_peak = best.gain.threshold_gain_per_cm * gain.peak_gain_per_cm / best.available_gain_per_cm
            row.update({"polarization": best.mode.polarization, "l": best.mode.l,
                        "radial_order": best.mode.radial_order, "wavelength_nm": best.gain.threshold_wavelength_nm,
                        "Q": best.mode.Q, "confinement": best.gain.confinement,
                        "threshold_gain_per_cm": best.gain.threshold_gain_per_cm,
                        "peak_gain_needed_per_cm": g_peak,
                        "threshold_fluence_mj_per_cm2": pump.threshold_fluence_mj_per_cm2(g_peak)})
        else:
            row.update({"threshold_fluence_mj_per_cm2": None})
        rows.append(row)
    return rows


# --------------------------------------------------------------------------------------
# above threshold: a saturable two-level gain medium (Meep's MultilevelAtom), the threshold
# pump rate predicted from the exact threshold gain, and the FDTD light-in/light-out record

_LASING_KEYS = {"m", "polarization", "radial_order", "region", "pump_rates_rel", "transition_wavelength_nm",
                "linewidth_nm", "full_inversion_gain_per_cm", "lifetime_ps", "max_time_ps", "settle_rel"}
_DENSITY = 1.0  # N0 of the model (Meep units): only the product N0·σ enters the small-signal gain


def _finite_positive(key, v, *, allow_none=False):
    if v is None and allow_none:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ConfigError(f"lasing.{key}", v, "must be a finite number > 0")
    return float(v)


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

    m: int
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
            object.__setattr__(self, key, _finite_positive(key, getattr(self, key)))
        object.__setattr__(self, "max_time_ps", _finite_positive("max_time_ps", self.max_time_ps, allow_none=True))
        s = self.settle_rel
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s < 0.5:
            raise ConfigError("lasing.settle_rel", s, "must be a number in (0, 0.5), e.g. 0.01")
        if self.linewidth_nm >= self.transition_wavelength_nm:
            raise ConfigError("lasing.linewidth_nm", self.linewidth_nm, "must be below transition_wavelength_nm")

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in sorted(_LASING_KEYS)}
        d["pump_rates_rel"] = list(self.pump_rates_rel)
        return d


def parse_lasing(table, gain: GainSpectrum | None = None) -> TwoLevelGain:
    """The config's ``[lasing]`` table (required: ``m``).  The line, its width, the gain at full
    inversion and the region default to the ``[gain]`` table's peak wavelength, FWHM, peak gain
    and region."""
    if table is None:
        raise ConfigError("lasing", None, "a [lasing] table with at least m = <azimuthal number> is required")
    if not isinstance(table, dict):
        raise ConfigError("lasing", table, "must be a table with keys " + ", ".join(sorted(_LASING_KEYS)))
    from wgm.errors import did_you_mean

    for key in table:
        if key not in _LASING_KEYS:
            raise ConfigError(f"lasing.{key}", table[key], f"unknown key{did_you_mean(key, _LASING_KEYS)}; "
                              f"allowed here: {', '.join(sorted(_LASING_KEYS))}")
    if "m" not in table:
        raise ConfigError("lasing.m", None, "is required: the azimuthal number of the lasing mode")
    gain = gain or GainSpectrum()
    kw = {"region": gain.region, "transition_wavelength_nm": gain.peak_wavelength_nm,
          "linewidth_nm": gain.fwhm_nm, "full_inversion_gain_per_cm": gain.peak_gain_per_cm}
    kw.update(table)
    return TwoLevelGain(**kw)


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


def lasing_resonator(res: Resonator, model: TwoLevelGain) -> tuple[Resonator, float]:
    """The resonator FDTD simulates for the lasing run (materials frozen at the passive mode's
    wavelength) and that wavelength (nm)."""
    passive = _solve(res, model.polarization, model.m, model.radial_order)
    return res.frozen_at(passive.wavelength_nm), passive.wavelength_nm


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

    frozen, lam0 = lasing_resonator(res, model)
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
    return LasingPrediction(mg, f, f_a, df, shape, g21, x, g21 * (1 + x) / (1 - x), couplings, n_layers)


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
        import json

        from wgm.records import with_finite_floats

        return json.dumps(with_finite_floats(self.to_dict()), indent=2, allow_nan=False)

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
