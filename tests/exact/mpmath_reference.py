r"""Independent high-precision reference for the exact characteristic equations (mpmath).

Written from the equations alone, as an oracle for :mod:`wgm.exact`; it deliberately
imports nothing from ``wgm``.

Geometry and conventions
------------------------
Layers ``j = 1..N`` (innermost first) with outer radii ``r_1 < ... < r_N`` and constant
(possibly complex) indices ``n_j``; the background has index ``n_b``.  The unknown is the
complex size parameter ``x = k0 r_N``; time dependence is ``exp(-iωt)``, so outgoing
waves use ``H^(1)`` and a leaky resonance has ``Im x < 0`` (``Q = Re x / (-2 Im x)``).
Only ratios of radii matter; write ``ρ = k0 r = x r / r_N``.

* ``kind="sphere"``: angular number ``l``, Riccati–Bessel functions (ν = l + 1/2)

      ψ_l(z) =  sqrt(πz/2) J_ν(z)        (regular)
      χ_l(z) = -sqrt(πz/2) Y_ν(z)        (irregular)
      ξ_l(z) =  ψ_l(z) - i χ_l(z) = sqrt(πz/2) H^(1)_ν(z)   (outgoing)

  ``v`` is the radial Debye function; TE (Mie ``b_l`` poles) has ``p = 1``, TM (``a_l``)
  has ``p = 1/n²``.
* ``kind="cylinder"`` (infinitely tall, 2-D): azimuthal number ``m``, ``J_m``, ``Y_m``,
  ``H_m^(1) = J_m + i Y_m``; ``v = E_z`` ("TE", alias "Ez", ``p = 1``) or
  ``v = H_z`` ("TM", alias "Hz", ``p = 1/n²``).  A ring (annulus) is a two-layer cylinder
  whose core has the background index.

Both kinds use ``w(z) = z^s C_ν(z)`` (``s = 1/2`` with the ``sqrt(π/2)`` factor for the
sphere, ``s = 0`` for the cylinder), whose derivative is
``w'(z) = z^s [C_{ν-1}(z) - (ν - s) C_ν(z) / z]``.

Transfer (Aden–Kerker form): in layer ``j``, ``v = A_j f(n_j ρ) + B_j g(n_j ρ)`` with
``(f, g) = (ψ, χ)`` or ``(J, Y)``; the core has ``(A_1, B_1) = (1, 0)``.  At each interface
``v`` and ``p dv/dρ = p n [A f'(nρ) + B g'(nρ)]`` are continuous, which fixes
``(A_{j+1}, B_{j+1})`` by a 2×2 solve.  Outside ``v = C h(n_b ρ)`` with ``h = ξ`` or ``H^(1)``.  The resonance
condition, in log-derivative form (well scaled, ``O(1)`` near a WGM root), is

    F(x) = [p dv/dρ / v]_{ρ = x⁻}  -  p_b n_b h'(n_b x) / h(n_b x)  = 0 .

Radial order: ``q - 1`` is the number of sign changes of ``v(r)`` for ``0 < r < r_N`` at the
real frequency ``Re x`` (real parts of the indices, so that ``v`` is real), see
:func:`count_interior_nodes`.

mpmath keeps separate exponents for the real and imaginary parts of an ``mpc``, so tiny
``Im x`` (Q up to ~1e38) keep their relative precision at 30 digits (checked: the roots
of Table D's Q ~ 1e37 rows are identical at 30 and 50 digits).
"""

from __future__ import annotations

from mpmath import mp

__all__ = ["characteristic", "reference_root", "radial_function", "count_interior_nodes"]

DEFAULT_DPS = 30


def _is_te(polarization: str) -> bool:
    pol = polarization.upper()
    if pol in ("TE", "EZ"):
        return True
    if pol in ("TM", "HZ"):
        return False
    raise ValueError(f"polarization must be TE/Ez or TM/Hz, got {polarization!r}")


def _basis(kind: str, order: int, z, *, regular_only=False, values_only=False):
    """``(f, f', g, g')`` at complex ``z``: ``(ψ_l, ψ_l', χ_l, χ_l')`` or ``(J_m, J_m', Y_m, Y_m')``.

    ``regular_only`` skips ``g, g'`` and ``values_only`` skips the derivatives (``None`` in
    their place): the irregular functions of integer order are the slow part of mpmath here.
    """
    if kind == "sphere":
        nu, s = order + mp.mpf(1) / 2, mp.mpf(1) / 2
        pre = mp.sqrt(mp.pi * z / 2)
        sign_g = -1  # χ_l = -sqrt(πz/2) Y_ν
    elif kind == "cylinder":
        nu, s = mp.mpf(order), 0
        pre = 1
        sign_g = 1
    else:
        raise ValueError(f"kind must be 'sphere' or 'cylinder', got {kind!r}")
    c = (nu - s) / z
    J = mp.besselj(nu, z)
    f = pre * J
    fp = None if values_only else pre * (mp.besselj(nu - 1, z) - c * J)
    if regular_only:
        return f, fp, None, None
    Y = mp.bessely(nu, z)
    g = sign_g * pre * Y
    gp = None if values_only else sign_g * pre * (mp.bessely(nu - 1, z) - c * Y)
    return f, fp, g, gp


def _outgoing(kind: str, order: int, z):
    """``(h, h')``: ``ξ_l = ψ_l - iχ_l`` (sphere) or ``H_m^(1) = J_m + iY_m`` (cylinder)."""
    f, fp, g, gp = _basis(kind, order, z)
    sgn = -1 if kind == "sphere" else 1
    return f + sgn * 1j * g, fp + sgn * 1j * gp


def _coefficients(kind, te, order, radii, indices, x):
    """Per-layer ``(A_j, B_j)`` of ``v`` (core ``(1, 0)``) and ``(v, p dv/dρ)`` just inside ``r_N``."""
    R = radii[-1]
    p = (lambda n: 1) if te else (lambda n: 1 / n**2)
    coeffs = [(mp.mpc(1), mp.mpc(0))]
    n = indices[0]
    f, fp, _, _ = _basis(kind, order, n * x * radii[0] / R, regular_only=True)
    v, w = f, p(n) * n * fp
    for j in range(1, len(radii)):
        n = indices[j]
        a = p(n) * n
        f, fp, g, gp = _basis(kind, order, n * x * radii[j - 1] / R)
        # [f, g; a f', a g'] (A, B) = (v, w)
        det = a * (f * gp - fp * g)
        A = (a * gp * v - g * w) / det
        B = (f * w - a * fp * v) / det
        coeffs.append((A, B))
        f, fp, g, gp = _basis(kind, order, n * x * radii[j] / R)
        v, w = A * f + B * g, a * (A * fp + B * gp)
    return coeffs, v, w


def _prepare(radii, indices, n_background):
    if len(radii) != len(indices) or not radii:
        raise ValueError("radii and indices must be non-empty and of equal length")
    radii = [mp.mpf(r) for r in radii]
    if any(r2 <= r1 for r1, r2 in zip(radii, radii[1:])) or radii[0] <= 0:
        raise ValueError("radii must be positive and strictly increasing")
    return radii, [mp.mpc(n) for n in indices], mp.mpc(n_background)


def characteristic(kind, polarization, order, radii, indices, n_background, x):
    """``F(x)`` of the module docstring (an ``mpc``) at the current ``mp`` precision."""
    te = _is_te(polarization)
    radii, indices, nb = _prepare(radii, indices, n_background)
    x = mp.mpc(x)
    _, v, w = _coefficients(kind, te, order, radii, indices, x)
    h, hp = _outgoing(kind, order, nb * x)
    pb = 1 if te else 1 / nb**2
    return w / v - pb * nb * hp / h


def reference_root(kind, polarization, order, radii, indices, n_background, x0, *,
                   dps=DEFAULT_DPS, solver="secant"):
    """The complex root ``x = k0 r_N`` of :func:`characteristic` nearest the start ``x0``.

    ``mp.findroot`` (``solver="secant"`` from the two points ``x0`` and ``x0 (1 + 1e-6)``,
    or ``"muller"`` from three nearby points) at ``dps`` digits; returns a Python complex.
    Raises ``ValueError`` if the residual is not at the working-precision level.
    """
    _is_te(polarization)  # validate before any work
    with mp.workdps(dps):
        radii_, indices_, nb = _prepare(radii, indices, n_background)
        z0 = mp.mpc(x0)
        h = mp.mpf("1e-6") * abs(z0)

        def F(x):
            return characteristic(kind, polarization, order, radii_, indices_, nb, x)

        if solver == "secant":
            start = (z0, z0 + h)
        elif solver == "muller":
            start = (z0, z0 + h, z0 - 1j * h)
        else:
            raise ValueError(f"solver must be 'secant' or 'muller', got {solver!r}")
        root = mp.findroot(F, start, solver=solver, maxsteps=100)
        resid = abs(F(root))
        if not resid < mp.mpf(10) ** (-(dps - 8)):
            raise ValueError(f"reference root not converged: |F| = {mp.nstr(resid, 3)} at x = {root}")
        return complex(root)


def radial_function(kind, polarization, order, radii, indices, x, r_values, *, dps=20):
    """``v(r)`` (complex) at the radii ``r_values`` (same units as ``radii``), for a given ``x``.

    ``v`` is normalised by ``(A_1, B_1) = (1, 0)`` in the core; only ``r < r_N`` is allowed.
    """
    te = _is_te(polarization)
    with mp.workdps(dps):
        radii_, indices_, _ = _prepare(radii, indices, 1)
        x = mp.mpc(x)
        coeffs, _, _ = _coefficients(kind, te, order, radii_, indices_, x)
        R = radii_[-1]
        out = []
        for r in r_values:
            r = mp.mpf(r)
            if not 0 < r <= R:
                raise ValueError(f"r = {r} outside (0, r_N]")
            j = next(i for i, rj in enumerate(radii_) if r <= rj)
            A, B = coeffs[j]
            f, _, g, _ = _basis(kind, order, indices_[j] * x * r / R, regular_only=(j == 0), values_only=True)
            out.append(complex(A * f if j == 0 else A * f + B * g))
        return out


def count_interior_nodes(kind, polarization, order, radii, indices, x, *, samples=400, dps=20):
    """Number of sign changes of ``v(r)``, ``0 < r < r_N``, at the real frequency ``Re x``.

    The real parts of the indices are used, so that ``v`` is real (the node count is a
    property of the lossless structure).  ``samples`` equally spaced radii; 400 resolves
    ~10 samples per half-period for ``Re(n x) ≲ 100``.
    """
    xr = complex(x).real
    ns = [complex(n).real for n in indices]
    R = float(radii[-1])
    rs = [R * (k + 1) / (samples + 1) for k in range(samples)]
    v = radial_function(kind, polarization, order, radii, ns, xr, rs, dps=dps)
    vals = [c.real for c in v if c.real != 0]
    return sum(1 for a, b in zip(vals, vals[1:]) if (a < 0) != (b < 0))
