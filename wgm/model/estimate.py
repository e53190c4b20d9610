"""Estimates every engine's planner shares (no Meep, no mesher): the azimuthal numbers of the
modes in a band, the slab effective index of a finite height, and where a mode's field has
decayed (the inner wall below the caustic, the polar extent of a sphere's modes).

Lengths in µm, frequencies in 1/µm (``wgm.units``)."""

from __future__ import annotations

import contextlib
import logging
import math

import numpy as np

from wgm import units
from wgm.errors import ConfigError, UserError
from wgm.exact import solver as exact
from wgm.model.resonator import Disk, Resonator, Ring, Search, Sphere, Toroid

__all__ = ["slab_neff", "exact_estimate", "choose_m", "flat_estimate", "toroid_estimate", "toroid_m_shift", "bulk_m", "inner_cut_um", "polar_cut"]


def slab_neff(n_core, n_clad, thickness_um, lam_um, te: bool):
    """Fundamental-mode effective index of a symmetric slab (TE: E in the slab plane).

    A symmetric slab guides its fundamental mode at any thickness when ``n_core > n_clad``;
    otherwise there is no guided mode and :class:`~wgm.errors.UserError` is raised (never a
    silent fallback value)."""
    from scipy.optimize import brentq

    if math.isinf(thickness_um):
        return n_core
    if not n_core > n_clad:
        raise UserError(f"no guided slab mode: the core index {n_core:.4g} must exceed the cladding index "
                        f"{n_clad:.4g}")
    k0 = 2 * math.pi / lam_um
    ratio = 1.0 if te else (n_core / n_clad) ** 2

    def f(neff):
        kx = k0 * math.sqrt(max(n_core**2 - neff**2, 0.0))
        g = k0 * math.sqrt(max(neff**2 - n_clad**2, 0.0))
        return math.tan(kx * thickness_um / 2) - ratio * g / kx if kx > 0 else -math.inf

    # the fundamental mode is on the first branch of tan: kx t/2 < π/2, i.e. neff above hi_branch
    lo, hi = n_clad, n_core * (1 - 1e-12)
    hi_branch = math.sqrt(max(n_core**2 - (math.pi / (k0 * thickness_um)) ** 2, 0.0))
    if hi_branch >= n_clad:
        lo = hi_branch * (1 + 1e-12)
    f_lo, f_hi = f(lo), f(hi)
    # f(lo) = tan(kx t/2) > 0 (at the cladding index, or just above the branch's pole), and f
    # falls to -∞ at the core index: a bracket always exists for n_core > n_clad
    if not (f_lo > 0 > f_hi):
        raise UserError(f"slab effective index: no sign change of the dispersion relation between "
                        f"{lo:.6g} and {hi:.6g} (f = {f_lo:.3g}, {f_hi:.3g}) for n_core = {n_core:.4g}, "
                        f"n_clad = {n_clad:.4g}, thickness {thickness_um:.4g} µm at {lam_um:.4g} µm")
    return brentq(f, lo, hi, xtol=1e-14)


@contextlib.contextmanager
def _quiet_exact():
    """The exact solver's warnings silenced while it serves as an estimate."""
    logger = logging.getLogger(exact.__name__)
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def exact_estimate(res: Resonator, search: Search):
    """The exact modes in the band (spheres and the 2-D limit), else None."""
    if isinstance(res.shape, Sphere) or res.is_2d:
        return exact.solve(res, search, energy=False).modes
    return None


def choose_m(res: Resonator, search: Search, f_centre: float, estimate=None, key: str = "fdtd.m") -> tuple[int, ...]:
    """Azimuthal numbers of the modes in the band, from the exact solver (spheres, 2-D), from
    the 2-D solver with the slab effective index of the finite height (disks, rings; a
    pedestal is ignored): :func:`flat_estimate`, widened by one on each side; or (toroids)
    from the sphere of the same outer radius, :func:`toroid_estimate`, widened by twice
    :func:`toroid_m_shift` below and one on each side."""
    if estimate is not None:
        return tuple(sorted({m.l for m in estimate}))
    if isinstance(res.shape, Toroid):
        ls = {md.l for md in toroid_estimate(res, search, f_centre, key)}
        if not ls:
            return ()
        # twice the asymptotic shift: at small m it is larger (measured with FDTD, a 1.5/0.4 µm
        # n = 2 toroid: TE m = 12 at 1367.7 nm where the sphere has TE l = 13 at 1403.4 nm, a
        # shift of 1.4 in m for the asymptotic 0.59)
        shift = math.ceil(2 * toroid_m_shift(res))
        return tuple(range(max(min(ls) - shift - 1, 1), max(ls) + 2))
    ms = {m.l for m in flat_estimate(res, search, f_centre, key)}
    if not ms:
        return ()
    lo, hi = min(ms), max(ms)
    return tuple(range(max(lo - 1, 1), hi + 2))


def toroid_m_shift(res: Resonator) -> float:
    """How much lower a toroid's fundamental (polar order 0) m is than the sphere's l of the
    same outer radius at one frequency: ``(√(R/a) − 1)/2``, R the outer radius, a the outer
    tube radius.  Near the rim both go as ``n k R ≈ m + (p + ½) √(R/ρ) + O(m^⅓)`` (the
    polar motion of a WGM on a surface of polar radius of curvature ρ; a sphere has ρ = R and
    l = m + p), so at p = 0 they differ by ``(√(R/ρ) − 1)/2`` with ρ = a."""
    outer = res.layers()[-1]
    return 0.5 * (math.sqrt(outer.outer_radius_um / outer.half_height_um) - 1.0)


def toroid_estimate(res: Resonator, search: Search, f_centre: float, key: str = "fdtd.m") -> list:
    """The exact modes of the sphere of the toroid's outer radius (same body material,
    coatings and surroundings): the sphere-like estimate of a toroid.  A sphere mode of
    angular number l and a toroid mode of azimuthal number ``m ≈ l − toroid_m_shift`` share
    their frequency (polar order 0); :func:`choose_m` widens the m range by twice that shift
    and one on each side (checked against an FDTD run of a toroid, tests/fdtd/test_shapes.py)."""
    lam_nm = units.wavelength_nm_from_freq(f_centre)
    n_core = res.shape.material.n_at(lam_nm).real
    n_b = res.surroundings.n_at(lam_nm).real
    if n_b >= n_core:
        raise ConfigError("surroundings.index", f"{n_b:.4g}",
                          f"must be lower than the resonator's index ({n_core:.4g}) for guided modes; "
                          f"or give {key} = [...] to simulate chosen azimuthal numbers")
    sphere = Resonator(Sphere(res.shape.radius_um, res.shape.material), res.coatings, res.surroundings)
    with _quiet_exact():
        return list(exact.solve(sphere, search, energy=False).modes)


def flat_estimate(res: Resonator, search: Search, f_centre: float, key: str = "fdtd.m") -> list:
    """The exact modes (Mie labels) of the 2-D limit of a finite disk or ring whose index is the
    slab effective index of its height at ``f_centre`` (slab TE for the Mie TM modes, slab TM
    for Mie TE): estimates of the finite shape's fundamental (polar order 0) modes.  ``key``
    names the setting that gives m by hand, for the error messages."""
    from wgm.model.materials import ConstantIndex
    from wgm.model.resonator import Coating

    lam_nm = units.wavelength_nm_from_freq(f_centre)
    shape = res.shape
    if not isinstance(shape, (Disk, Ring)):  # a toroid: toroid_estimate (choose_m dispatches)
        raise ConfigError(key, None, f"the slab estimate of m is for disks and rings, not a {shape.kind}: give "
                          f"the azimuthal numbers by hand, e.g. {key} = "
                          f"[{bulk_m(res, shape.material.n_at(lam_nm).real, lam_nm)}]")
    height = shape.thickness_um if isinstance(shape, Disk) else shape.height_um
    n_core = shape.material.n_at(lam_nm).real
    n_b = res.surroundings.n_at(lam_nm).real
    if res.substrate is not None and res.pedestal is None:  # (a pedestal's substrate is far below)
        n_sub = res.substrate.n_at(lam_nm).real
        if n_sub >= n_core:
            raise ConfigError(
                "resonator.substrate", f"index {n_sub:.4g}",
                f"the substrate is denser than the resonator (index {n_core:.4g}): every whispering-gallery "
                f"mode leaks into it, so the modes in the band cannot be estimated to choose m automatically; "
                f"give the azimuthal numbers to simulate, e.g. {key} = [{bulk_m(res, n_core, lam_nm)}]")
        n_b = max(n_b, n_sub)
    if n_b >= n_core:
        raise ConfigError("surroundings.index", f"{n_b:.4g}",
                          f"must be lower than the resonator's index ({n_core:.4g}) for guided modes; "
                          f"or give {key} = [...] to simulate chosen azimuthal numbers")
    modes = []
    for te_slab in (True, False):
        neff = slab_neff(n_core, n_b, height, units.um_from_nm(lam_nm), te_slab)
        if isinstance(shape, Disk):
            flat = Disk(shape.radius_um, math.inf, ConstantIndex(neff))
            coats = tuple(Coating(c.thickness_um, ConstantIndex(max(neff, c.material.n_at(lam_nm).real)),
                                  index_in_stack=i) for i, c in enumerate(res.coatings))
        else:
            flat = Ring(shape.radius_um, shape.width_um, math.inf, ConstantIndex(neff))
            coats = ()
        flat_res = Resonator(flat, coats, ConstantIndex(n_b))
        with _quiet_exact():  # an estimate over a sub-band may hold no mode: not the user's concern
            spec = exact.solve(flat_res, Search(search.wavelength_nm, search.max_radial_order,
                                                ("TM",) if te_slab else ("TE",)), energy=False)
        modes.extend(spec.modes)
    return modes


def bulk_m(res: Resonator, n_core: float, lam_nm: float) -> int:
    """An upper bound for m near a wavelength: 2π R n_core / λ (the hint of an error message)."""
    return max(1, int(2 * math.pi * res.shape.radius_um * n_core / units.um_from_nm(lam_nm)))


def inner_cut_um(m: int, n_max: float, f_hi: float, density: float) -> float:
    """Radius below which a field ``∝ exp(imφ)`` has decayed: there, ``ρ < m/(n k)`` for every
    material and frequency of the band, the field is evanescent in ρ (the centrifugal barrier).
    Its decay is bounded by the 2-D mode's ``J_m(n k ρ)`` with the densest index and the
    highest frequency (a sphere's ``j_l``, l >= m, decays sooner): the cut is where
    ``J_m²`` is ``density`` times its first maximum."""
    from scipy.optimize import brentq
    from scipy.special import jv

    k = n_max * units.wavenumber_per_um(f_hi)
    xs = np.linspace(m, m + 3 * m ** (1 / 3) + 3, 400)
    peak = float(np.max(jv(m, xs) ** 2))
    x_peak = float(xs[np.argmax(jv(m, xs) ** 2)])

    def excess(x):  # J_m² rises monotonically from 0 to its first maximum
        return float(jv(m, x)) ** 2 / peak - density

    lo = 1e-9
    if excess(lo) >= 0:
        return 0.0
    return brentq(excess, lo, x_peak, xtol=1e-12 * x_peak) / k


def polar_cut(p_max: int, share: float) -> float:
    """Smallest ξ such that the Hermite–Gauss functions ``H_p(ξ) exp(−ξ²/2)``, p <= p_max,
    have at most ``share`` of their |.|² beyond ±ξ.  Near the equator a sphere mode (l, m)
    goes as ``H_{l−m}(√m z/r) exp(−m z²/2r²)`` (its ``(1−u²)^{m/2}`` decays faster than the
    Gaussian, so the estimate is conservative)."""
    from numpy.polynomial import hermite

    xi = np.linspace(0.0, 14.0, 14001)
    worst = 0.0
    for p in range(p_max + 1):
        coef = np.zeros(p + 1)
        coef[p] = 1.0
        dens = (hermite.hermval(xi, coef) * np.exp(-xi**2 / 2)) ** 2
        tail = np.cumsum(dens[::-1])[::-1]
        tail = tail / tail[0]
        idx = int(np.argmax(tail < share)) if np.any(tail < share) else len(xi) - 1
        worst = max(worst, float(xi[idx]))
    return worst
