"""Pulsed pumping, short-pulse limit: the build-up time of one mode after an instantaneous
inversion (the pump pulse much shorter than the gain lifetime).

Model (single mode, before gain depletion):

* at ``t = 0`` the pump leaves the film with inversion ``ΔN₀``; afterwards there is no pump
  and the inversion relaxes with the gain lifetime ``τ`` towards ``ΔN_∞`` ("floor"),
  ``ΔN(t) = ΔN_∞ + (ΔN₀ − ΔN_∞) e^{−t/τ}``.  ``ΔN_∞ = 0`` is gain that decays to
  transparency (the decay empties the upper level into a level the line does not couple;
  nanocrystal films: biexciton gain decaying by Auger to single excitons); ``ΔN_∞ = −N₀``
  is a two-level film that returns to full absorption;
* the mode's energy obeys ``dU/dt = r(ΔN(t)) U`` with the net growth rate
  ``r(ΔN) = 2 Im ω`` of the mode with the film's gain at inversion ``ΔN`` (exact solver:
  :func:`mode_growth_rate_per_ps`); stimulated emission does not deplete ``ΔN`` while ``U``
  is small (a weak seed), and there is no spontaneous emission into the mode (a deterministic
  seed ``U₀``);
* so ``ln U(t)/U(t₀) = ∫_{t₀}^{t} r(ΔN(t')) dt'``, and the **build-up time** ``t_b`` to reach
  ``U_b`` solves ``∫_{t₀}^{t_b} r dt = ln(U_b/U(t₀))``.  The energy peaks (before depletion)
  where ``r`` crosses zero, ``ΔN = ΔN_th``; if the integral up to there is below
  ``ln(U_b/U₀)`` the mode never builds up to ``U_b``: the pulsed threshold is above the CW one.

Validated against Meep's ``MultilevelAtom`` (``wgm.fdtd.pulsed_buildup``,
tests/fdtd/test_pulsed_buildup.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

from scipy.integrate import quad
from scipy.optimize import brentq

__all__ = ["inversion_at", "gain_window_end", "net_gain", "buildup_time", "mode_growth_rate_per_ps",
           "two_level_growth_rate", "first_crossing", "BuildupRun"]

_SPAN_LIFETIMES = 60.0  # search horizon for the end of the gain window, in lifetimes


def inversion_at(t: float, lifetime: float, inversion0: float, floor: float = 0.0) -> float:
    """``ΔN(t) = ΔN_∞ + (ΔN₀ − ΔN_∞) e^{−t/τ}`` (any consistent time unit)."""
    return floor + (inversion0 - floor) * math.exp(-t / lifetime)


def gain_window_end(growth_rate: Callable[[float], float], lifetime: float, inversion0: float,
                    floor: float = 0.0, start: float = 0.0) -> float:
    """The time at which the net growth rate ``r(ΔN(t))`` falls to zero (the peak of the mode's
    energy before depletion): ``start`` if it is not positive there, ``inf`` if the inversion
    never falls below threshold.  ``growth_rate`` must increase with the inversion."""
    def r(t):
        return growth_rate(inversion_at(t, lifetime, inversion0, floor))

    if not r(start) > 0:
        return start
    t_far = start + _SPAN_LIFETIMES * lifetime
    if r(t_far) > 0:
        return math.inf
    return brentq(r, start, t_far, xtol=1e-12 * lifetime, rtol=1e-12)


def net_gain(growth_rate: Callable[[float], float], lifetime: float, inversion0: float, t: float,
             floor: float = 0.0, start: float = 0.0) -> float:
    """``ln U(t)/U(start) = ∫_start^t r(ΔN(t')) dt'``."""
    val, _ = quad(lambda s: growth_rate(inversion_at(s, lifetime, inversion0, floor)), start, t,
                  epsabs=1e-12, epsrel=1e-10, limit=200)
    return float(val)


def buildup_time(growth_rate: Callable[[float], float], lifetime: float, inversion0: float, log_gain: float,
                 floor: float = 0.0, start: float = 0.0) -> float | None:
    """The build-up time: ``t_b`` with ``∫_start^{t_b} r(ΔN(t)) dt = log_gain``.

    Parameters
    ----------
    growth_rate : callable
        ``r(ΔN)``, the mode's net energy growth rate ``2 Im ω`` at inversion ``ΔN`` (negative
        below threshold), in 1/[time]; must increase with ``ΔN``.
    lifetime : float
        ``τ``, the decay time of the inversion, in [time].
    inversion0 : float
        ``ΔN₀``, the inversion the pump pulse leaves at ``t = 0`` (same unit as ``growth_rate``'s
        argument).
    log_gain : float
        ``ln(U_b/U(start))`` > 0: the energy rise that counts as built up.
    floor : float
        ``ΔN_∞``, the inversion the decay tends to (0: to transparency; ``−N₀``: a two-level
        film back in its ground state).
    start : float
        ``t₀``, the time the seed level ``U(t₀)`` refers to (e.g. the end of a seed pulse).

    Returns
    -------
    float or None
        ``t_b`` in [time] (from the pump, ``t = 0``), or ``None`` if the energy peaks (``r = 0``)
        before rising by ``log_gain``: no build-up.
    """
    if not log_gain > 0:
        raise ValueError(f"log_gain must be > 0, got {log_gain!r}")
    t_end = gain_window_end(growth_rate, lifetime, inversion0, floor, start)
    if t_end <= start:
        return None
    if math.isinf(t_end):  # the gain never ends: grow the bracket until the target is passed
        t_end = start + lifetime
        while net_gain(growth_rate, lifetime, inversion0, t_end, floor, start) < log_gain:
            t_end = start + 2 * (t_end - start)
    elif net_gain(growth_rate, lifetime, inversion0, t_end, floor, start) < log_gain:
        return None
    return brentq(lambda t: net_gain(growth_rate, lifetime, inversion0, t, floor, start) - log_gain,
                  start, t_end, xtol=1e-9 * lifetime, rtol=1e-10)


def mode_growth_rate_per_ps(res, region: str, polarization: str, l: int, radial_order: int,
                            gain_per_cm: float, x_start: complex | None = None) -> tuple[float, complex]:
    """The net energy growth rate ``r = 2 Im ω`` (1/ps; negative: decay) of one mode of ``res``
    with material gain ``gain_per_cm`` (intensity gain per length, at the mode) in ``region``,
    by the exact solver: the region's index gets ``−i k``, ``k = g λ/4π`` (as in
    :mod:`wgm.lasing.threshold`), materials as ``res`` has them (freeze them at the mode's
    wavelength first, as FDTD does).  Returns ``(r, x)`` with ``x`` the complex size
    parameter, a start for the next gain (continuation keeps the mode's identity)."""
    from wgm import units
    from wgm.exact.characteristic import LayeredStack
    from wgm.lasing.threshold import _follow, _solve, with_gain

    if x_start is None:
        x_start = complex(*_solve(res, polarization, l, radial_order).size_parameter)
    stack = LayeredStack.from_resonator(res)
    lam_nm = float(stack.wavelength_nm(x_start.real))
    k_gain = gain_per_cm * (lam_nm * 1e-7) / (4 * math.pi)
    x = _follow(with_gain(res, region, k_gain=k_gain), polarization, l, x_start)
    f = float(units.freq_from_wavelength_nm(float(stack.wavelength_nm(x.real))))
    omega_per_ps = float(units.rate_per_ps(2 * math.pi * f))  # Re ω in rad/ps
    return 2 * omega_per_ps * x.imag / x.real, x


def two_level_growth_rate(res, model, prediction, inversions=None):
    """``r(ΔN/N₀)`` (1/ps) of the lasing model's mode (``wgm.lasing.TwoLevelGain``) with the
    two-level film's small-signal gain ``g = (ΔN/N₀) g_full L(ω)`` (``L``: the line's shape at
    the mode, ``prediction.lineshape``), from the exact solver at ``inversions`` (default 13
    points from −0.2 to 1) and a cubic spline through them (``r`` is smooth and nearly linear
    in the gain).  ``res`` is frozen at the mode's wavelength here, as in FDTD."""
    import numpy as np
    from scipy.interpolate import CubicSpline

    from wgm.lasing.two_level import lasing_resonator

    frozen = lasing_resonator(res, model).resonator
    xs = np.linspace(-0.2, 1.0, 13) if inversions is None else np.sort(np.asarray(inversions, float))
    rates, x_prev = [], None
    for x in xs:
        g = float(x) * model.full_inversion_gain_per_cm * prediction.lineshape
        r, x_prev = mode_growth_rate_per_ps(frozen, model.region, model.polarization, model.m, model.radial_order,
                                            g, x_prev)
        rates.append(r)
    spline = CubicSpline(xs, rates)
    return lambda dn: float(spline(dn))


def first_crossing(times, log_energy, level_log: float, start_index: int = 0) -> float | None:
    """The first time at which ``log_energy`` reaches ``level_log`` (linear interpolation
    between samples), or ``None``."""
    for i in range(max(start_index, 1), len(times)):
        a, b = log_energy[i - 1], log_energy[i]
        if a < level_log <= b:
            return float(times[i - 1] + (level_log - a) / (b - a) * (times[i] - times[i - 1]))
    return None


@dataclass(frozen=True)
class BuildupRun:
    """One pulsed-pump run of the FDTD model (``wgm.fdtd.pulsed_buildup``) with its prediction.

    Times in ps from the pump (t = 0).  ``log_energy`` = ln U(t)/U(t₀), U the mode's energy
    (|E|² at a point of the gain film: one travelling e^{imφ} wave, so no optical-period
    ripple), ``t₀ = seed_end_ps`` the end of the seed pulse.  ``buildup_ps[k]``: the first time
    U reaches ``levels[k]``·U(t₀) (``None``: never).  ``peak_ps``: the time of the largest U
    (``None`` if U still rose at the end of the run).  ``predicted_*``: from
    :func:`buildup_time` and :func:`gain_window_end` with the exact solver's growth rate.
    ``depletion``: an estimate of the share of the inversion used by stimulated emission up
    to the end of the run (the prediction assumes ≪ 1).
    """

    inversion_rel: float              # ΔN₀ / ΔN_th (CW threshold inversion)
    inversion: float                  # ΔN₀ / N₀
    lifetime_ps: float
    relax_to: str                     # "transparency" (ΔN → 0) or "absorption" (ΔN → −N₀)
    seed_end_ps: float
    levels: tuple[float, ...]
    buildup_ps: tuple[float | None, ...]
    peak_ps: float | None
    peak_log_energy: float
    initial_rate_per_ps: float        # d ln U/dt fitted over the first 0.3 ps after t₀
    predicted_buildup_ps: tuple[float | None, ...]
    predicted_peak_ps: float
    predicted_peak_log_energy: float
    predicted_initial_rate_per_ps: float
    depletion: float
    run_ps: float
    times_ps: tuple[float, ...] = field(repr=False)
    log_energy: tuple[float, ...] = field(repr=False)

    def to_dict(self) -> dict:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        for k in ("levels", "buildup_ps", "predicted_buildup_ps", "times_ps", "log_energy"):
            d[k] = list(d[k])
        return d
