r"""The field of an exact sphere mode: electric energy per layer, the mode volume and the
largest energy density in each layer.

The mode is the equatorial member ``m = l`` of the multiplet, at its complex size parameter
(the quasi-normal mode).  In every layer the radial function is ``v = A ψ_l(n k0 r) + B
χ_l(n k0 r)`` (Riccati–Bessel, :mod:`wgm.exact.characteristic`); ``A, B`` are carried outwards
from the regular core solution by the continuity of ``v`` and ``p dv/dr`` (``p = 1`` TE,
``1/n²`` TM).  The fields, up to one constant:

* TE: ``E = v/r · X_ll``;
* TM: ``E = (1/n²) [ i √(l(l+1)) v/r² Y_ll r̂ + (1/r) dv/dr (r̂ × X_ll) ]``

(``X_lm`` the vector spherical harmonic ``L Y_lm / √(l(l+1))``).  The angular integrals are
analytic (``∫|Y|² dΩ = ∫|X|² dΩ = 1``), so the electric energy per unit radius is

* TE: ``u(r) = ε |v|²``,
* TM: ``u(r) = (1/ε) [ l(l+1) |v|²/r² + |dv/dr|² ]``,

with ``ε = Re n²`` (the same ``Re ε`` as the FEM engine), integrated numerically (Simpson on
a grid of :data:`POINTS_PER_HALF_PERIOD` points per half period of the field).  The density
``ε|E|²`` is largest on the equator (for ``m = l ≥ 2``: ``|Y_ll|² ∝ sin^{2l} θ`` and ``|X_ll|²
∝ sin^{2l−2} θ (1 + cos² θ)``), where ``|Y_ll|² = c_l²`` and ``|X_ll|² = c_l² l/(l+1)``, with
``c_l² = (2l+1)! / (4π 4^l (l!)²)``.

Outside, the quasi-normal mode grows without bound (an outgoing wave at complex frequency);
the integral stops at :func:`outer_cut_um`: the turning point ``r_t = (l + ½)/(n_b Re k0)``,
where the field stops being evanescent and becomes the radiated wave (at least one
wavelength in the surroundings beyond the surface).  What lies beyond is radiation, not
stored energy; for the modes of a band search (Q ≳ 10²) it is below 10⁻³ of the total.

The functions are scipy's spherical Bessel functions in double precision: ``χ_l`` at the
surface overflows beyond ``l ≈ 700 / (atanh s − s)``, ``s = √(1 − n_b²/n_eff²)`` (≈ 3 700 for
silica in air); such modes (and any whose field fails the slope check, :data:`MATCH_TOL`)
get no volume (``None``), never a wrong one.

The 2-D limit (an infinitely tall cylinder) has no finite mode volume (it is per unit
height): :func:`sphere_energy` refuses it and the solver leaves the volume ``None``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize, special

from wgm.exact.characteristic import LayeredStack

__all__ = ["SphereEnergy", "sphere_energy", "outer_cut_um", "POINTS_PER_HALF_PERIOD"]

POINTS_PER_HALF_PERIOD = 20
"""Radial grid density: points per half period ``π/(Re n k0)`` of the field (V and the shares
change by < 3e-6 from 16 to 40 points, measured on l = 22…256; the peak is refined by a
bounded 1-D maximization)."""
_MIN_POINTS = 201
MATCH_TOL = 1e-5
"""Largest relative mismatch, at the outer surface, between the slope of the field carried
outward through the layers and that of the outgoing wave (zero at an exact root; measured
≲ 1e-9 for the modes of the tests).  A larger one (precision lost through a thick evanescent
shell) gives no result rather than a wrong one."""


@dataclass(frozen=True)
class SphereEnergy:
    """Electric energy of one exact sphere mode.

    Attributes
    ----------
    mode_volume_um3 : float
        ``∫ ε|E|² dV / max(ε|E|²)`` (µm³), the integral to :func:`outer_cut_um`.
    shares : tuple of (str, float)
        Share of ``∫ ε|E|²`` per medium: ``"core"``, ``"coating.0"``, ..., ``"surroundings"``.
    peaks : tuple of (str, float)
        Per medium: the largest ``ε|E|²`` in it over the largest anywhere (1 in the medium of
        the maximum).
    cut_um : float
        Where the integral outside stops.
    """

    mode_volume_um3: float
    shares: tuple[tuple[str, float], ...]
    peaks: tuple[tuple[str, float], ...]
    cut_um: float


def outer_cut_um(l: int, x: complex, stack: LayeredStack) -> float:
    """The radius where the integral outside stops (µm): the turning point ``(l + ½)/(n_b Re
    k0)``, but at least one wavelength in the surroundings beyond the surface."""
    R = stack.outer_radius_um
    k0 = x.real / R
    _, nb = stack.indices(np.array([x.real + 0j]), real=True)
    nb = float(np.real(nb[0]))
    return max((l + 0.5) / (nb * k0), R + 2 * math.pi / (nb * k0))


def _riccati(l: int, z, irregular: bool = True):
    """ψ_l(z) = z j_l(z), χ_l(z) = z y_l(z) and their derivatives (complex z); without
    ``irregular`` (the core) χ is not evaluated (it overflows near the centre) and ψ is set to
    0 where it underflows (``|z| < l``: ``|ψ_l| < (e|z|/2l)^l`` there, negligible)."""
    j, dj = special.spherical_jn(l, z), special.spherical_jn(l, z, derivative=True)
    f, df = z * j, j + z * dj
    if not irregular:
        small = np.abs(z) < l
        f = np.where(~np.isfinite(f) & small, 0.0, f)
        df = np.where(~np.isfinite(df) & small, 0.0, df)
        return f, df, np.zeros_like(f), np.zeros_like(f)
    y, dy = special.spherical_yn(l, z), special.spherical_yn(l, z, derivative=True)
    return f, df, z * y, y + z * dy


CORE_NEGLIGIBLE = 1e-20
"""The core's integral starts where ``|ψ_l|² ≤ (e z/2l)^{2l}`` (an upper bound relative to the
field's maximum, which is of order 1) falls below this: nothing of the energy is lost."""


def _core_start(l: int) -> float:
    """The ``z`` below which the regular function's energy is below :data:`CORE_NEGLIGIBLE`."""
    return 2 * l / math.e * CORE_NEGLIGIBLE ** (1 / (2 * l))


def _angular_peak(l: int) -> tuple[float, float]:
    """(|Y_ll|², |X_ll|²) on the equator."""
    c2 = math.exp(math.lgamma(2 * l + 2) - math.log(4 * math.pi) - l * math.log(4) - 2 * math.lgamma(l + 1))
    return c2, c2 * l / (l + 1)


def sphere_energy(stack: LayeredStack, polarization: str, l: int, x: complex) -> SphereEnergy:
    """The energy figures of the sphere mode ``(polarization, l)`` at size parameter ``x = k0 R``
    (complex: the quasi-normal mode), of its ``m = l`` member."""
    from wgm.exact import bessel

    if stack.offset != bessel.SPHERE:
        raise ValueError("sphere_energy: the 2-D limit has no finite mode volume (it is per unit height)")
    if l < 2:
        raise ValueError("sphere_energy: l >= 2 (the equatorial maximum is derived for l >= 2)")
    R = stack.outer_radius_um
    k0 = complex(x) / R
    ns, nb = stack.indices(np.array([complex(x)]))
    ns = [complex(n[0]) for n in ns] + [complex(nb[0])]
    te = polarization == "TE"
    edges = [0.0, *stack.radii_um, outer_cut_um(l, complex(x), stack)]
    names = ["core"] + [f"coating.{j}" for j in range(len(stack.radii_um) - 1)] + ["surroundings"]
    y2, x2 = _angular_peak(l)

    with np.errstate(all="ignore"):  # overflow (l ≳ 3 700) is detected and refused below
        return _integrate(stack, l, k0, ns, te, edges, names, y2, x2)


def _integrate(stack, l, k0, ns, te, edges, names, y2, x2) -> SphereEnergy:
    R = stack.outer_radius_um
    A, B = 1.0 + 0j, 0.0 + 0j
    totals, peaks = [], []
    for j, n in enumerate(ns):
        r0, r1 = edges[j], edges[j + 1]
        p = 1.0 if te else 1.0 / n**2
        if j > 0:  # carry (A, B) across r0 from the layer inside
            n_in = ns[j - 1]
            p_in = 1.0 if te else 1.0 / n_in**2
            f, df, g, dg = _riccati(l, n_in * k0 * r0, j > 1)
            v, dv = A * f + B * g, p_in * n_in * k0 * (A * df + B * dg)  # v, p dv/dr
            f, df, g, dg = _riccati(l, n * k0 * r0)
            dv = dv / (p * n * k0)
            if j == len(ns) - 1:
                # outside: the outgoing wave ξ = ψ + iχ itself (matching ψ and χ separately
                # cancels catastrophically where χ is huge); the root makes the slopes agree
                xi, dxi = f + 1j * g, df + 1j * dg
                mismatch = abs(dv / v - dxi / xi) / max(abs(dxi / xi), 1e-300)
                if not (np.isfinite(xi) and mismatch <= MATCH_TOL):
                    raise FloatingPointError(f"sphere_energy: the field does not match the outgoing wave "
                                             f"(relative slope mismatch {mismatch:.2g}, l = {l})")
                A = v / xi
                B = 1j * A
            else:
                det = f * dg - g * df
                A, B = (v * dg - g * dv) / det, (f * dv - v * df) / det
        eps = (n**2).real
        a, b = A, B

        def density(r, a=a, b=b, n=n, eps=eps, core=(j == 0)):
            """(energy per unit radius, equatorial ε|E|²) at radii r."""
            f, df, g, dg = _riccati(l, n * k0 * r, not core)
            v = a * f + b * g
            dvdr = n * k0 * (a * df + b * dg)
            v2, d2 = np.abs(v) ** 2, np.abs(dvdr) ** 2
            if te:
                return eps * v2, eps * v2 / r**2 * x2
            return (l * (l + 1) * v2 / r**2 + d2) / eps, (l * (l + 1) * v2 / r**4 * y2 + d2 / r**2 * x2) / eps

        lo = r0 if r0 > 0 else max(1e-6 * R, min(_core_start(l) / abs((n * k0).real), 0.5 * r1))
        half_periods = abs((n * k0).real) * (r1 - lo) / math.pi
        npts = max(_MIN_POINTS, int(POINTS_PER_HALF_PERIOD * half_periods) | 1)
        r = np.linspace(lo, r1, npts)
        u, peak = density(r)
        if not (np.all(np.isfinite(u)) and np.all(np.isfinite(peak))):
            raise FloatingPointError(f"sphere_energy: field not finite in {names[j]} (l = {l})")
        totals.append(_simpson(u, r))
        i = int(np.argmax(peak))
        best = float(peak[i])
        if 0 < i < npts - 1:  # refine between the neighbouring grid points
            res = optimize.minimize_scalar(lambda s: -float(density(np.array([s]))[1][0]),
                                           bounds=(r[i - 1], r[i + 1]), method="bounded",
                                           options={"xatol": 1e-9 * R})
            best = max(best, -float(res.fun))
        peaks.append(best)
    total = sum(totals)
    top = max(peaks)
    # ∫ ε|E|² dV = ∫ u(r) dr (angular integrals are 1), over max ε|E|²
    volume = total / top
    return SphereEnergy(mode_volume_um3=volume, shares=tuple(zip(names, (t / total for t in totals))),
                        peaks=tuple(zip(names, (p / top for p in peaks))), cut_um=edges[-1])


def _simpson(u: np.ndarray, r: np.ndarray) -> float:
    """Composite Simpson rule on the uniform, odd-length grid ``r``, summed by ``math.fsum``:
    the result does not depend on the array's alignment in memory (numpy's vectorised sums do,
    in the last bits), so a sweep resumed in another process writes the same digits."""
    n = len(r)
    w = np.full(n, 2.0)
    w[1:-1:2] = 4.0
    w[0] = w[-1] = 1.0
    h = (float(r[-1]) - float(r[0])) / (n - 1)
    return h / 3.0 * math.fsum((w * u).tolist())


def with_energy(modes, stack: LayeredStack) -> list:
    """The exact solver's sphere modes with ``mode_volume_um3`` and ``energy_shares`` filled
    (:func:`sphere_energy`); the 2-D limit's are returned as they are (no finite volume).  A
    mode whose field cannot be evaluated (l < 2, overflow) keeps ``None``, with a debug log."""
    import logging
    from dataclasses import replace

    from wgm.exact import bessel

    if stack.offset != bessel.SPHERE:
        return list(modes)
    out = []
    for md in modes:
        try:
            e = sphere_energy(stack, md.polarization, md.l, complex(*md.size_parameter))
        except (ValueError, FloatingPointError, ZeroDivisionError) as exc:
            logging.getLogger(__name__).debug("no mode volume for %s l=%s: %s", md.polarization, md.l, exc)
            out.append(md)
            continue
        out.append(replace(md, mode_volume_um3=e.mode_volume_um3, energy_shares=e.shares))
    return out
