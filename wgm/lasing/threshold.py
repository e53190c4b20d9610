"""Lasing thresholds of the modes of a resonator with a gain region.

Conventions: fields ``exp(−iωt)``, complex index ``n + ik`` with ``k > 0`` absorbing and
``k < 0`` amplifying.  A gain region is ``"core"``, ``"coating"`` (every coating) or
``"coating.N"``.  Two kinds of gain region:

* **a ``cspbbr3-nc`` film** (:mod:`wgm.lasing.film_threshold`, which uses this module's
  primitives; FEM for shapes the exact solver cannot do): the film's one model
  (:mod:`wgm.model.nanocrystal`) gives its complex index at an excitation ⟨N⟩ per crystal,
  absorption, bleaching and gain included.  The threshold is the ⟨N⟩ at which the mode's
  loaded frequency becomes real (``1/Q(⟨N⟩) + 1/Q_ss + 1/Q_c = 0``), the mode followed in
  ⟨N⟩ from the passive one; nothing is cancelled or added by hand.
* **any other material with a gain band** (:func:`mode_gain`, :func:`thresholds`; the config's
  ``[gain]`` table): gain ``g`` (cm⁻¹) added on top of the passive index as ``k = −g λ/(4π)``
  (a dye or an inverted medium whose passive absorption is a separate loss); the threshold
  is the ``g`` at which the frequency becomes real, found with the exact solver.

Confinement.  ``Γ_resp`` is the response of the mode to a small relative change of the
region's index, ``n → n(1 + iρ)``: first-order perturbation theory gives
``δ(1/Q) = 2ρ Γ_resp`` with ``Γ_resp = ∫_region ε|E|² / ∫ ∂(ωε)/∂ω |E|²``.  An extinction
``k`` in the region is ``ρ = k/n``, so the first-order threshold gain is
``g_th = 2π n/(λ Q Γ_resp)``.  The reported confinement is ``Γ_pw = Γ_resp n_g/n`` (``n_g``
the gain material's group index), the one for which the usual closed form
``g_th = 2π n_g/(λ Q Γ_pw)`` holds; where ``n_g <= 0`` (inside an absorption line) ``Γ_pw`` is
not a share of anything and is reported as None.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, fields

import numpy as np
from scipy.optimize import brentq

from wgm.errors import SolverError
from wgm.lasing.spectrum import GainSpectrum
from wgm.model.materials import Material
from wgm.model.resonator import Resonator
from wgm.units import cm_from_nm

__all__ = ["WithGain", "with_gain", "region_indices", "ModeGain", "mode_gain", "confinement", "group_index",
           "closed_form_threshold_per_cm", "LasingMode", "SkippedMode", "ThresholdResult", "thresholds",
           "extra_inv_q"]

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
    confinement: float | None      # Γ_pw = Γ_resp n_g/n (None where n_g <= 0): 2π n_g/(λ Q Γ_pw) holds
    response_confinement: float    # ∂(1/Q)/∂(2ρ) for n -> n(1 + iρ) in the region (= Γ without dispersion)
    threshold_gain_per_cm: float   # exact: material gain at which Im ω = 0
    threshold_wavelength_nm: float  # the lasing wavelength at threshold
    group_index: float             # of the gain material
    closed_form_gain_per_cm: float  # 2π n_g / (λ Q Γ_pw) = 2π n / (λ Q Γ_resp)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _solve(res, pol, l, q):
    from wgm.exact.solver import solve_order

    return solve_order(res, pol, l, q)


def _follow(res, pol, l, x_start: complex) -> complex:
    """The root of (pol, l) of ``res`` nearest ``x_start`` (Newton from the mode of a nearby
    problem: continuation keeps the mode's identity even for lossy modes)."""
    from wgm.exact.characteristic import LayeredStack, find_root

    # a step cap well below the spacing of neighbouring roots (~1 in x) keeps Newton on this one
    x, ok, _ = find_root(LayeredStack.from_resonator(res), pol, np.array([l]), np.array([x_start]),
                         max_step=np.array([_MAX_NEWTON_STEP]))
    if not ok[0]:
        raise SolverError(f"{pol} l={l}: the mode could not be followed to this gain (Newton did not converge)")
    return complex(x[0])


def _inv_q(x: complex) -> float:
    """1/Q = −2 Im x / Re x (negative when the mode grows)."""
    return -2.0 * x.imag / x.real


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
    lam_cm = cm_from_nm(wavelength_nm)
    return 2 * math.pi * group_index / (lam_cm * Q * confinement_)


def mode_gain(res: Resonator, region: str, polarization: str, l: int, radial_order: int, *,
              extra_inv_q: float = 0.0) -> ModeGain:
    """Confinement factor and threshold gain (exact and closed form) of one mode;
    ``extra_inv_q`` (1/Q_ss + 1/Q_c) adds the losses outside the solver: the threshold is where
    the loaded frequency becomes real, and the closed form uses the loaded Q."""
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
        # (strongly lossy modes move fast) is split in two.  This is continuation (an adaptive
        # step that keeps the mode's identity), not a root bisection: the root in k is brentq's.
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

    def im_x(k_gain: float) -> float:  # > 0: the mode grows (the loaded 1/Q is negative)
        return -(_inv_q(at(k_gain)) + extra_inv_q)

    # first guess from first-order theory: 1/Q falls by 2 Γ k / n_r; the bracket grows
    # geometrically (in the order continuation needs: each gain from the last) until Im x > 0
    q_loaded = 1.0 / (1.0 / passive.Q + extra_inv_q)
    k_lo, k_hi = 0.0, max(n_r / (2 * q_loaded * gam), 1e-12) * 1.5 + max(k_region, 0.0)
    for _ in range(_MAX_BRACKET_STEPS):
        if im_x(k_hi) > 0:
            break
        k_lo, k_hi = k_hi, k_hi * _BRACKET_GROWTH
    else:
        raise SolverError(f"{polarization} l={l} q={radial_order}: no threshold found up to k = {k_hi:.3g}")
    k_th = brentq(im_x, k_lo, k_hi, xtol=1e-15, rtol=1e-10)
    x_th = at(k_th)
    from wgm.exact.characteristic import LayeredStack

    lam_th = float(LayeredStack.from_resonator(res).wavelength_nm(x_th.real))
    g_th = 4 * math.pi * k_th / cm_from_nm(lam_th)
    n_g = group_index(res, region, lam)
    # Γ_pw = Γ_resp n_g/n: the confinement whose closed form 2π n_g/(λ Q Γ_pw) equals the
    # first-order threshold 2π n/(λ Q Γ_resp); not a share where n_g <= 0 (inside an
    # absorption line): then None, and the closed form is given through Γ_resp
    gam_pw = gam * n_g / n_r if n_g > 0 else None
    closed = closed_form_threshold_per_cm(lam, q_loaded, gam, n_r)
    return ModeGain(polarization=polarization, l=l, radial_order=radial_order, wavelength_nm=lam, Q=passive.Q,
                    region=region, confinement=gam_pw, response_confinement=gam, threshold_gain_per_cm=g_th,
                    threshold_wavelength_nm=lam_th, group_index=n_g, closed_form_gain_per_cm=closed)


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
class SkippedMode:
    """A mode of the search whose threshold could not be computed, and why."""

    polarization: str
    l: int
    radial_order: int
    wavelength_nm: float
    Q: float
    reason: str

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True)
class ThresholdResult:
    """Every mode of a search with its threshold, ranked by how easily it lases."""

    resonator: Resonator
    search: object
    gain: GainSpectrum
    modes: tuple[LasingMode, ...]   # sorted: largest pump margin (first to lase) first
    skipped: tuple[SkippedMode, ...] = ()  # modes whose threshold could not be computed

    @property
    def lasing(self) -> tuple[LasingMode, ...]:
        return tuple(m for m in self.modes if m.can_lase)

    def to_dict(self) -> dict:
        from wgm.config import Config, config_to_dict

        return {"config": config_to_dict(Config(self.resonator, self.search)), "gain": self.gain.to_dict(),
                "modes": [m.to_dict() for m in self.modes], "skipped": [m.to_dict() for m in self.skipped],
                "first_to_lase": self.modes[0].to_dict() if self.modes and self.modes[0].can_lase else None}


def thresholds(res: Resonator, search, gain: GainSpectrum, *, losses=None) -> ThresholdResult:
    """Threshold gain of every mode of ``search`` (exact solver) against the film's gain;
    ``losses`` (the ``[losses]`` table) adds each mode's 1/Q_ss + 1/Q_c."""
    from wgm.exact.solver import solve

    spectrum = solve(res, search, energy=False)  # wavelengths and Q only
    out, skipped = [], []
    for m in spectrum.modes:
        try:
            mg = mode_gain(res, gain.region, m.polarization, m.l, m.radial_order,
                           extra_inv_q=extra_inv_q(res, losses, m.wavelength_nm))
        except SolverError as exc:
            log.warning("threshold: %s l=%d q=%d (Q %.3g) skipped: %s", m.polarization, m.l, m.radial_order, m.Q, exc)
            skipped.append(SkippedMode(m.polarization, m.l, m.radial_order, m.wavelength_nm, m.Q, str(exc)))
            continue
        out.append(LasingMode(m, mg, float(gain.at(mg.threshold_wavelength_nm))))
    out.sort(key=lambda lm: -lm.pump_margin)
    return ThresholdResult(resonator=res, search=search, gain=gain, modes=tuple(out), skipped=tuple(skipped))


def extra_inv_q(res: Resonator, losses, wavelength_nm: float) -> float:
    """``1/Q_ss + 1/Q_c`` of the ``[losses]`` table (:class:`~wgm.model.losses.Losses`) at one
    wavelength: the losses the solvers do not see (0 without losses)."""
    if losses is None:
        return 0.0
    from wgm.model.losses import scattering_q

    return 1.0 / scattering_q(res, losses, wavelength_nm) + 1.0 / losses.coupling_q
