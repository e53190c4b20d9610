"""Gain and lasing thresholds of the modes of a resonator with a gain region (exact solver).

Conventions: fields ``exp(−iωt)``, complex index ``n + ik`` with ``k > 0`` absorbing and
``k < 0`` amplifying.  A gain region (``"core"``, ``"coating"`` = every coating, or
``"coating.N"``) gets material gain ``g`` (intensity gain per length, cm⁻¹) by adding
``k = −g λ / (4π)`` to its index.

Per mode (polarization, l, radial order) this module computes

* the **threshold gain** ``g_th``: the material gain at which the mode's complex frequency
  becomes real (``Im ω = 0``), found with the exact solver by a root search in ``g``;
* the **confinement factor** ``Γ``: from the mode's response to a small gain in the region,
  ``Γ = −(n_r/2) ∂(1/Q)/∂k`` (a uniform relative perturbation ``δn = i η n/2`` for a region of
  several layers).  Without dispersion this is the fraction of the electric energy
  ``∫ε|E|²`` in the region (first-order perturbation theory);
* the **closed-form threshold** ``g_th ≈ 2π n_g / (λ Q Γ)`` for comparison, with the group
  index ``n_g`` of the gain material.

Not yet here (next steps of the lasing issue): gain spectra and the ``wgm threshold``
command, the FDTD check, saturable gain, two-photon pumping.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq

from .errors import ConfigError, SolverError
from .materials import Material
from .resonator import Resonator

__all__ = ["WithGain", "with_gain", "region_indices", "ModeGain", "mode_gain", "confinement", "group_index",
           "closed_form_threshold_per_cm"]

_DK_REL = 1e-4           # relative step of the index perturbation for the confinement derivative
_BRACKET_GROWTH = 4.0    # the threshold bracket grows by this factor until the mode lases
_MAX_BRACKET_STEPS = 12


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

    def index(self, wavelength_um):
        return self.base.index(wavelength_um) * (1 + 1j * self.rel) - 1j * self.k_gain

    def to_config(self) -> dict:
        return self.base.to_config()


def _region_slots(res: Resonator, region: str) -> list:
    """Which layers a region names: ``"core"`` -> [-1], ``"coating"`` -> all, ``"coating.N"`` -> [N]."""
    if region == "core":
        return [-1]
    if region == "coating":
        if not res.coatings:
            raise ConfigError("gain_region", region, "the resonator has no coating")
        return list(range(len(res.coatings)))
    if region.startswith("coating."):
        tail = region.split(".", 1)[1]
        if tail.isdigit() and int(tail) < len(res.coatings):
            return [int(tail)]
        raise ConfigError("gain_region", region, f"the resonator has {len(res.coatings)} coating(s): "
                          + ", ".join(f"coating.{i}" for i in range(len(res.coatings))))
    raise ConfigError("gain_region", region, "allowed: 'core', 'coating', 'coating.N'")


def with_gain(res: Resonator, region: str, *, k_gain: float = 0.0, rel: float = 0.0) -> Resonator:
    """``res`` with the materials of ``region`` wrapped in :class:`WithGain`."""
    slots = _region_slots(res, region)
    shape = res.shape
    if -1 in slots:
        shape = replace(shape, material=WithGain(shape.material, k_gain, rel))
    coatings = tuple(replace(c, material=WithGain(c.material, k_gain, rel)) if i in slots else c
                     for i, c in enumerate(res.coatings))
    return Resonator(shape, coatings, res.surroundings, res.substrate)


def region_indices(res: Resonator, region: str, wavelength_nm: float) -> list[complex]:
    """The complex indices of the region's layers at one wavelength."""
    mats = [res.shape.material if i == -1 else res.coatings[i].material for i in _region_slots(res, region)]
    return [m.n_at(wavelength_nm) for m in mats]


@dataclass(frozen=True)
class ModeGain:
    """Gain figures of one mode (see the module docstring)."""

    polarization: str
    l: int
    radial_order: int
    wavelength_nm: float           # passive mode (no gain)
    Q: float                       # passive mode
    region: str
    confinement: float             # Γ
    threshold_gain_per_cm: float   # exact: material gain at which Im ω = 0
    threshold_wavelength_nm: float  # the lasing wavelength at threshold
    group_index: float             # of the gain material
    closed_form_gain_per_cm: float  # 2π n_g / (λ Q Γ)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _solve(res, pol, l, q):
    from .exact import solve_order

    return solve_order(res, pol, l, q)


def _inv_q(mode) -> float:
    """1/Q = −2 Im x / Re x (negative when the mode grows)."""
    re, im = mode.size_parameter
    return -2.0 * im / re


def confinement(res: Resonator, region: str, polarization: str, l: int, radial_order: int) -> float:
    """Γ of one mode in ``region``.

    The region's indices are scaled by ``1 + iρ``, i.e. ``δε = 2iρ ε`` there; first-order
    perturbation theory gives ``δω/ω = −iρ Γ`` with ``Γ = ∫_region ε|E|² / ∫ ε|E|²``, so
    ``δ(1/Q) = 2ρΓ``.  Central difference in ``ρ = ±η/2``.
    """
    eta = _DK_REL
    minus = _inv_q(_solve(with_gain(res, region, rel=-eta / 2), polarization, l, radial_order))
    plus = _inv_q(_solve(with_gain(res, region, rel=eta / 2), polarization, l, radial_order))
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

    def im_x(k_gain: float) -> float:
        return _solve(with_gain(res, region, k_gain=k_gain), polarization, l, radial_order).size_parameter[1]

    # first guess from first-order theory: 1/Q falls by 2 Γ k / n_r
    k_hi = max(n_r / (2 * passive.Q * gam), 1e-12) * 1.5 + max(k_region, 0.0)
    for _ in range(_MAX_BRACKET_STEPS):
        if im_x(k_hi) > 0:
            break
        k_hi *= _BRACKET_GROWTH
    else:
        raise SolverError(f"{polarization} l={l} q={radial_order}: no threshold found up to k = {k_hi:.3g}")
    k_th = brentq(im_x, 0.0, k_hi, xtol=1e-15, rtol=1e-10)
    at_th = _solve(with_gain(res, region, k_gain=k_th), polarization, l, radial_order)
    lam_th = at_th.wavelength_nm
    g_th = 4 * math.pi * k_th / (lam_th * 1e-7)
    n_g = group_index(res, region, lam)
    closed = closed_form_threshold_per_cm(lam, passive.Q, gam, n_g)
    return ModeGain(polarization, l, radial_order, lam, passive.Q, region, gam, g_th, lam_th, n_g, closed)
