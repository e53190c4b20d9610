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

Shapes are those of the one cross-section description, :mod:`wgm.model.section`: a
:class:`~wgm.model.section.Circle` of the (r, z) half plane (on the axis a ball, off it a
torus' tube; :func:`Ball` makes the one centred at the origin) and a
:class:`~wgm.model.section.Rect` (an annulus ``r0 <= r <= r1``, ``z0 <= z <= z1``; infinite
bounds allowed).  A :class:`Region` is a shape minus an optional hole (the next layer inside
it, a subset of it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wgm.model.section import Circle, Rect

__all__ = ["Ball", "Circle", "Rect", "Region", "fraction", "fractions", "medium_at", "normal", "eps_tensor",
           "pole_strength", "conductivity"]


def Ball(radius_um: float) -> Circle:
    """The sphere ``r² + z² <= radius²``: the :class:`Circle` centred at the origin."""
    return Circle(0.0, 0.0, radius_um)


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


def _circle_ring_area(circle, a, b, u):
    """``∫ r dr`` over ``a < r < b`` inside the circle at height ``u = z − centre_z`` (µm²)."""
    rho2 = circle.radius_um ** 2 - u * u
    if rho2 <= 0:
        return 0.0
    s = math.sqrt(rho2)
    hi = _clip(circle.centre_r_um + s, a, b)
    lo = _clip(circle.centre_r_um - s, a, b)
    return 0.5 * (hi * hi - lo * lo) if hi > lo else 0.0


def _circle_fraction(circle, a, b, z, dz):
    """Share of the ring ``a < r < b``, ``|z' − z| < dz/2`` (weight r) inside the circle, exact.

    At height ``u = z' − centre_z`` the circle spans ``R ∓ s(u)``, ``s = √(ρ² − u²)``; clipped
    to ``[a, b]`` each end is a constant or ``R ∓ s``, so ``(hi² − lo²)/2`` is piecewise a sum
    of a constant, ``± 2R s(u)`` and ``ρ² − u²``, integrated in closed form between the heights
    where an end meets ``a`` or ``b`` (``∫ s du = (u s + ρ² asin(u/ρ))/2``)."""
    span = 0.5 * (b * b - a * a)
    R, rho = circle.centre_r_um, circle.radius_um
    if dz == 0:
        return _circle_ring_area(circle, a, b, z - circle.centre_z_um) / span
    c, d = z - 0.5 * dz - circle.centre_z_um, z + 0.5 * dz - circle.centre_z_um
    c, d = max(c, -rho), min(d, rho)
    if d <= c:
        return 0.0
    cuts = {c, d}
    for edge in (a, b):
        t2 = rho * rho - (edge - R) ** 2  # an end of the chord meets r = edge at u = ±√t2
        if t2 >= -1e-12 * rho * rho:  # (≈ 0, rounding included: the circle touches r = edge at one height)
            t = math.sqrt(max(t2, 0.0))
            cuts.update(x for x in (-t, t) if c < x < d)
    pts = sorted(cuts)

    def s_int(u):  # ∫ √(ρ² − u²) du = (u s + ρ² θ)/2, θ = asin(u/ρ) taken as atan2(u, s): well
        u = _clip(u, -rho, rho)  # conditioned at u → ±ρ, where asin's slope amplifies rounding
        s = math.sqrt(max((rho - u) * (rho + u), 0.0))
        return 0.5 * (u * s + rho * rho * math.atan2(u, s))

    def poly_int(lo_u, hi_u):  # ∫ (ρ² − u²) du
        return rho * rho * (hi_u - lo_u) - (hi_u ** 3 - lo_u ** 3) / 3.0

    total = 0.0
    for u0, u1 in zip(pts[:-1], pts[1:]):
        um = 0.5 * (u0 + u1)
        s = math.sqrt(max(rho * rho - um * um, 0.0))
        top, bot = R + s, R - s
        if top <= a or bot >= b:
            continue
        # 2 ∫ (hi² − lo²)/2 du, each end a constant or R ± s(u): (R ± s)² = R² ± 2Rs + (ρ² − u²)
        twice = 0.0
        for end, sign in ((top, +1), (bot, -1)):
            weight = 1.0 if sign > 0 else -1.0
            if end >= b:
                twice += weight * b * b * (u1 - u0)
            elif end <= a:
                twice += weight * a * a * (u1 - u0)
            else:
                twice += weight * (R * R * (u1 - u0) + sign * 2 * R * (s_int(u1) - s_int(u0)) + poly_int(u0, u1))
        total += 0.5 * twice
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
    in z), inside ``shape``, by volume of revolution (weight r).  Exact for both shapes (a
:class:`Circle` on or off the axis, a :class:`Rect`)."""
    a, b = _window(r, dr)
    if b <= a:
        return 1.0 if shape.contains(r, z) else 0.0
    if isinstance(shape, Circle):
        return _circle_fraction(shape, a, b, z, dz)
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
    circles (from their centre), else the gradient of the fill fraction of the shapes the pixel
    straddles."""
    if dz == 0:
        return 1.0, 0.0
    gr = gz = 0.0
    shapes = [reg.shape for reg in regions] + [reg.hole for reg in regions if reg.hole is not None]
    for s in shapes:
        f = fraction(s, r, z, dr, dz)
        if not 0.0 < f < 1.0:
            continue
        if isinstance(s, Circle):
            dr_c, dz_c = r - s.centre_r_um, z - s.centre_z_um
            rho = math.hypot(dr_c, dz_c)
            g = (dr_c / rho, dz_c / rho) if rho > 0 else (1.0, 0.0)
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
