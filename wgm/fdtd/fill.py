"""How much of a pixel each medium fills, and the pixel's averaged ε, loss and gain (numpy and
the standard library only; no Meep).

Meep 1.25 averages only the non-dispersive ε over a pixel (subpixel smoothing); a conductivity
or a Lorentzian strength σ is sampled at the pixel's grid point, so a film a few pixels thick
absorbs (or amplifies) by the number of grid points that fall inside it, which jumps as the film
moves by a fraction of a pixel.  :mod:`wgm.fdtd.meep_model` therefore describes the pixels near
the boundaries of lossy or dispersive layers by a material function that returns, at each grid
point, the values computed here for the pixel centred there:

* the fill fractions ``f_k`` of the media (:func:`fractions`), with the weight ``r`` of the
  volume of revolution (a pixel of the (r, z) plane is a ring);
* ``ε∞`` as Meep's own smoothing would give it (:func:`eps_tensor`): ``<ε>`` along the
  boundary, ``1/<1/ε>`` across it;
* Lorentzian strengths and conductivities such that the pixel's ``Im ε`` (or, across the
  boundary, ``Im 1/ε``) is the fill-weighted one of the media, to first order in the loss
  (:func:`pole_strength`, :func:`conductivity`), so the pixel absorbs what its share of each
  medium absorbs.

Shapes live in the (r, z) half plane: :class:`Ball` (a sphere centred at the origin) and
:class:`Rect` (an annulus ``r0 < r < r1``, ``z0 < z < z1``; infinite bounds allowed).  A
:class:`Region` is a shape minus an optional hole (the next layer inside it, a subset of it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["Ball", "Rect", "Region", "fraction", "fractions", "medium_at", "normal", "eps_tensor",
           "pole_strength", "conductivity"]


@dataclass(frozen=True)
class Ball:
    """The sphere ``r² + z² < radius²`` (a disk of the (r, z) half plane)."""

    radius_um: float

    def contains(self, r: float, z: float) -> bool:
        return r * r + z * z < self.radius_um * self.radius_um


@dataclass(frozen=True)
class Rect:
    """The annulus ``r0 < r < r1``, ``z0 < z < z1`` (bounds may be infinite)."""

    r0_um: float
    r1_um: float
    z0_um: float
    z1_um: float

    def contains(self, r: float, z: float) -> bool:
        return self.r0_um <= r < self.r1_um and self.z0_um <= z < self.z1_um


@dataclass(frozen=True)
class Region:
    """Medium ``medium`` fills ``shape`` minus ``hole`` (``hole`` inside ``shape``, or None)."""

    shape: object
    medium: int
    hole: object = None

    def contains(self, r: float, z: float) -> bool:
        return self.shape.contains(r, z) and not (self.hole is not None and self.hole.contains(r, z))


def _clip(x, lo, hi):
    return lo if x < lo else hi if x > hi else x


def _window(r, dr):
    a = max(r - 0.5 * dr, 0.0)
    return a, max(r + 0.5 * dr, a)


def _ball_fraction(radius, a, b, z, dz):
    """Share of the ring ``a < r < b``, ``|z' − z| < dz/2`` (weight r) inside the ball."""
    R2, a2, b2 = radius * radius, a * a, b * b
    span = b2 - a2
    if dz == 0:
        return (_clip(R2 - z * z, a2, b2) - a2) / span
    c, d = z - 0.5 * dz, z + 0.5 * dz
    # the integrand clip(R² − z², a², b²) − a² is piecewise: b² − a², R² − a² − z², or 0
    cuts = {c, d}
    for s2 in (R2 - a2, R2 - b2):
        if s2 >= 0:  # (= 0: the boundary touches the pixel's corner at z = 0)
            s = math.sqrt(s2)
            cuts.update(x for x in (-s, s) if c < x < d)
    pts = sorted(cuts)
    total = 0.0
    for lo, hi in zip(pts[:-1], pts[1:]):
        g = R2 - (0.5 * (lo + hi)) ** 2
        if g >= b2:
            total += span * (hi - lo)
        elif g > a2:
            total += (R2 - a2) * (hi - lo) - (hi**3 - lo**3) / 3.0
    return total / (span * dz)


def _rect_fraction(rect, a, b, z, dz):
    fr = (_clip(rect.r1_um, a, b) ** 2 - _clip(rect.r0_um, a, b) ** 2) / (b * b - a * a)
    if dz == 0:
        fz = 1.0 if rect.z0_um <= z < rect.z1_um else 0.0
    else:
        c, d = z - 0.5 * dz, z + 0.5 * dz
        fz = (_clip(rect.z1_um, c, d) - _clip(rect.z0_um, c, d)) / dz
    return fr * fz


def fraction(shape, r: float, z: float, dr: float, dz: float) -> float:
    """Share of the pixel centred at (r, z), ``dr`` × ``dz`` (``dz = 0``: a 1-D cell, invariant
    in z), inside ``shape``, by volume of revolution (weight r).  Exact for both shapes."""
    a, b = _window(r, dr)
    if b <= a:
        return 1.0 if shape.contains(r, z) else 0.0
    if isinstance(shape, Ball):
        return _ball_fraction(shape.radius_um, a, b, z, dz)
    return _rect_fraction(shape, a, b, z, dz)


def _region_fraction(region, r, z, dr, dz):
    f = fraction(region.shape, r, z, dr, dz)
    if region.hole is not None and f > 0:
        f -= fraction(region.hole, r, z, dr, dz)
    return max(f, 0.0)


def fractions(regions, n_media: int, background: int, r: float, z: float, dr: float, dz: float) -> np.ndarray:
    """Fill fraction of each medium (index 0 .. n_media − 1) in the pixel centred at (r, z); the
    regions' visible parts must not overlap (nested layers are given as shape minus hole);
    ``background`` fills the rest."""
    f = np.zeros(n_media)
    for reg in regions:
        f[reg.medium] += _region_fraction(reg, r, z, dr, dz)
    f[background] += max(1.0 - f.sum(), 0.0)
    return f / f.sum()


def medium_at(regions, background: int, r: float, z: float) -> int:
    """The medium at a point: the last region containing it (Meep's precedence), else background."""
    for reg in reversed(regions):
        if reg.contains(r, z):
            return reg.medium
    return background


def normal(regions, r: float, z: float, dr: float, dz: float) -> tuple[float, float]:
    """Unit normal (n_r, n_z) of the boundaries crossing the pixel (sign arbitrary): radial for
    balls, else the gradient of the fill fraction of the shapes the pixel straddles."""
    if dz == 0:
        return 1.0, 0.0
    gr = gz = 0.0
    shapes = [reg.shape for reg in regions] + [reg.hole for reg in regions if reg.hole is not None]
    for s in shapes:
        f = fraction(s, r, z, dr, dz)
        if not 0.0 < f < 1.0:
            continue
        if isinstance(s, Ball):
            rho = math.hypot(r, z)
            g = (r / rho, z / rho) if rho > 0 else (1.0, 0.0)
        else:
            h = 0.5 * dr
            g = (fraction(s, r + h, z, dr, dz) - fraction(s, r - h, z, dr, dz),
                 fraction(s, r, z + h, dr, dz) - fraction(s, r, z - h, dr, dz))
        if gr * g[0] + gz * g[1] < 0:
            g = (-g[0], -g[1])
        gr, gz = gr + g[0], gz + g[1]
    norm = math.hypot(gr, gz)
    return (gr / norm, gz / norm) if norm > 0 else (1.0, 0.0)


def _par_perp(eps, f):
    eps, f = np.asarray(eps, dtype=float), np.asarray(f, dtype=float)
    return eps, f, float(np.dot(f, eps)), 1.0 / float(np.dot(f, 1.0 / eps))


def _tensor_diag(par, perp, n):
    nr, nz = n
    return (par + (perp - par) * nr * nr, par, par + (perp - par) * nz * nz)


def eps_tensor(eps, f, n) -> tuple[tuple[float, float, float], tuple[float, float, float]]:
    """The pixel's ε (diagonal (rr, φφ, zz), off-diagonal (rφ, rz, φz), Meep's order): ``<ε>``
    along the boundary of normal ``n`` = (n_r, n_z), ``1/<1/ε>`` across it (Meep's smoothing)."""
    _, _, par, perp = _par_perp(eps, f)
    nr, nz = n
    return _tensor_diag(par, perp, n), (0.0, (perp - par) * nr * nz, 0.0)


def pole_strength(sigma, eps, f, n, eps_full=None) -> tuple[float, float, float]:
    """Diagonal (rr, φφ, zz) of a Lorentzian strength for the pixel, from the strengths
    ``sigma[k]`` of one pole in each medium (0 where absent): along the boundary ``Σ f σ`` (the
    pixel's ``<ε>``), across it ``ε⊥² Σ f σ / ε²`` (its ``<1/ε>``), to first order in σ.  The
    weights across use ``eps_full`` (each medium's whole Re ε at the band centre, which sets the
    field's jump across the boundary; default ``eps``, the non-dispersive part)."""
    eps, f, _, _ = _par_perp(eps, f)
    full, _, _, perp = _par_perp(eps if eps_full is None else eps_full, f)
    s = np.asarray(sigma, dtype=float)
    return _tensor_diag(float(np.dot(f, s)), perp * perp * float(np.dot(f, s / full**2)), n)


def conductivity(sigma_d, eps, f, n, eps_full=None) -> tuple[float, float, float]:
    """Diagonal (rr, φφ, zz) of Meep's D-conductivity for the pixel (``Im ε = ε σ_D / ω``
    with the pixel's ε), from the media's ``sigma_d[k]``: along the boundary
    ``Σ f ε σ_D / <ε>``, across it ``(ε⊥,full² / ε⊥) Σ f ε σ_D / ε_full²``, to first order in σ_D
    (``eps_full``: each medium's whole Re ε at the band centre, default ``eps``; with it equal
    to ``eps`` the latter is ``ε⊥ Σ f σ_D / ε``)."""
    eps, f, par, perp = _par_perp(eps, f)
    full, _, _, perp_full = _par_perp(eps if eps_full is None else eps_full, f)
    s = np.asarray(sigma_d, dtype=float)
    across = perp_full * perp_full / perp * float(np.dot(f, eps * s / full**2))
    return _tensor_diag(float(np.dot(f, eps * s)) / par, across, n)
