"""The characteristic equation of a layered sphere or 2-D cylinder and its complex roots.

Exact (semi-analytic) quasi-normal modes of layered spheres and of layered, infinitely
tall cylinders (the 2-D limit of disks and rings).

Theory (see ``README.md`` and the references there).  In every homogeneous layer the
radial function is ``v = A f(n k0 r) + B g(n k0 r)`` with ``f, g`` the regular and
irregular Riccati–Bessel functions ``ψ_l, χ_l`` (sphere, ``v = r × Debye potential``) or
cylinder functions ``J_m, Y_m`` (2-D, ``v = E_z`` or ``H_z``).  ``v`` and ``p dv/dr`` are
continuous at every interface, with ``p = 1`` for TE (sphere TE, 2-D ``E_z``) and
``p = 1/n²`` for TM (sphere TM, 2-D ``H_z``).  Outside, ``v ∝ ξ_l`` or ``H_m^(1)``
(outgoing).  The resonance condition, solved for complex ``k0``, is

    F(k0) = p_N n_N y_N − p_b n_b D_out(n_b k0 r_N) = 0,

with ``y_N`` the interior log-derivative carried outward through the layers and
``D_out`` the outgoing log-derivative.  Everything is expressed through
log-derivatives and logarithms (:mod:`wgm.exact.bessel`), so nothing overflows for
``l`` in the thousands, and the tiny imaginary parts that set Q keep their relative
precision.

The band search that finds every root of a band is :mod:`wgm.exact.solver`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from wgm.exact import bessel
from wgm.errors import ConfigError
from wgm.model.resonator import Resonator, Sphere

__all__ = ["LayeredStack", "Characteristic", "characteristic", "Roots", "find_root"]

log = logging.getLogger(__name__)

_NEWTON_MAX_ITER = 60
_NEWTON_FD_STEP = 1e-7  # relative forward-difference step for F'(x)
_RE_TOL = 8 * np.finfo(float).eps  # relative convergence of Re x
_IM_TOL = 1e-10  # relative convergence of Im x
_POLE_FREE_UNTIL = 1e-6  # relative Newton step below which F itself is used (see find_root)
_LAYERED_IM_NOISE = 30 * np.finfo(float).eps  # |error of Im x| / |x| through shells (measured ≲ 3 eps)
_IM_EXTRA_ITER = 4  # Newton steps allowed for Im x after Re x has converged
_STALL_TOL = 1e-9  # |Newton step| / |x| below which a non-shrinking step is rounding noise


@dataclass(frozen=True)
class LayeredStack:
    """The numerical form of a resonator: radial layers and the background.

    ``x = k0 · outer_radius`` is the size parameter used internally.
    """

    radii_um: tuple[float, ...]
    materials: tuple
    background: object
    offset: float  # bessel.SPHERE or bessel.CYLINDER

    @classmethod
    def from_resonator(cls, res: Resonator) -> "LayeredStack":
        if not (isinstance(res.shape, Sphere) or res.is_2d):
            if res.kind in ("disk", "ring"):
                dim = "thickness_um" if res.kind == "disk" else "height_um"
                raise ConfigError(f"resonator.{dim}", getattr(res.shape, dim),
                                  "the exact method solves spheres and the 2-D limit (inf); "
                                  "a finite disk or ring needs --method fem or fdtd")
            raise ConfigError("resonator.shape", res.kind, "the exact method solves spheres and the 2-D limit; "
                              f"a {res.kind} needs --method fem or fdtd")
        layers = res.radial_layers()
        offset = bessel.SPHERE if isinstance(res.shape, Sphere) else bessel.CYLINDER
        return cls(tuple(L.outer_radius_um for L in layers), tuple(L.material for L in layers),
                   res.surroundings, offset)

    @property
    def outer_radius_um(self) -> float:
        return self.radii_um[-1]

    def wavelength_nm(self, x):
        """The (vacuum) wavelength in nm of size parameter(s) ``x = k0 · outer_radius``."""
        return 2000 * np.pi * self.outer_radius_um / x

    def size_parameter(self, wavelength_nm):
        """The size parameter ``x = k0 · outer_radius`` of a wavelength in nm."""
        return 2000 * np.pi * self.outer_radius_um / wavelength_nm

    def indices(self, x, *, real: bool = False):
        """Layer indices (list of arrays) and background index at size parameters ``x``.

        Otherwise the materials are evaluated at the complex ``λ``, extrapolated where a
        root finder's step leaves the data range (only modes inside it are reported:
        :meth:`Resonator.check_band`).

        With ``real`` (the real-axis scan): real parts at ``Re λ``, with ``λ`` clamped into
        each material's data range.  The scan starts far below the band to count radial
        nodes; clamping keeps the indices continuous there (a Sellmeier formula has poles in
        the infrared) without changing anything inside the band.
        """
        lam_nm = self.wavelength_nm(np.asarray(x, dtype=complex))
        if not real:
            return ([m.index(lam_nm, outside="extrapolate") for m in self.materials],
                    self.background.index(lam_nm, outside="extrapolate"))

        def at(mat):
            return mat.index(lam_nm.real, outside="clamp").real + 0j

        return [at(m) for m in self.materials], at(self.background)


class Characteristic(NamedTuple):
    """The resonance condition at some size parameters (see :func:`characteristic`)."""

    F: np.ndarray  # p_N n_N y_N − p_b n_b D_out; zero at a resonance
    y: np.ndarray  # interior log-derivative of v at r_N (units of n_N k0)
    d: np.ndarray  # the value y must take at a resonance
    logv: np.ndarray | None  # log v(r_N) of the interior solution (None unless asked for)


def characteristic(stack: LayeredStack, polarization, orders, x, *, table: bool = False,
                   real_index: bool = False, want_logv: bool = False) -> Characteristic:
    """Evaluate the resonance condition.

    Parameters
    ----------
    stack : LayeredStack
    polarization : {"TE", "TM"}, or an array of them (one per ``x``)
    orders : int array
        Angular number ``l`` (sphere) or ``m`` (2-D) per point, or a contiguous range with ``table``.
    x : complex array
        Size parameters ``k0 · r_N``.
    table : bool
        Evaluate every order of ``orders`` at every ``x`` (result shape ``(len(orders), len(x))``).
    real_index : bool
        Use the real part of every index at ``Re λ`` (for the real-axis scan).
    want_logv : bool
        Also compute ``logv`` (``None`` otherwise; it costs a complex log per order).

    Returns
    -------
    Characteristic
        A named tuple ``(F, y, d, logv)``:
    F : complex array
        ``p_N n_N y_N − p_b n_b D_out``; zero at a resonance.
    y : complex array
        Interior log-derivative of ``v`` at ``r_N`` (in units of ``n_N k0``).
    d : complex array
        ``p_b n_b D_out / (p_N n_N)``: the value ``y`` must take at a resonance.
    logv : complex array
        ``log v(r_N)`` of the interior solution (only its phase is used: its sign on the real axis).
    """
    terms = _radial_functions(stack, orders, x, table=table, real_index=real_index, want_logv=want_logv)
    return _match(terms, polarization, want_logv)


@dataclass(frozen=True)
class _LogPair:
    """Log-derivative ``D`` and logarithm ``L`` (``None`` where not needed) of a radial function."""

    D: np.ndarray
    L: np.ndarray | None


@dataclass(frozen=True)
class _ShellFunctions:
    """The two independent solutions ``f``, ``g`` of one shell at its inner (1) and outer (2) radius."""

    f1: _LogPair
    f2: _LogPair
    g1: _LogPair
    g2: _LogPair


@dataclass(frozen=True)
class _RadialFunctions:
    """The polarization-independent part of :func:`characteristic`: indices and the
    log-derivatives / logarithms of the radial functions of every layer (TE and TM share them)."""

    ns: list  # layer indices
    nb: np.ndarray  # background index
    core: _LogPair  # the regular function at the core surface
    d_out: np.ndarray  # outgoing log-derivative outside
    shells: list  # one _ShellFunctions per shell: the chosen pair of solutions


def _radial_functions(stack, orders, x, *, table=False, real_index=False, want_logv=False):
    x = np.atleast_1d(np.asarray(x, dtype=complex))
    orders = np.asarray(orders)
    ns, nb = stack.indices(x, real=real_index)
    frac = np.array(stack.radii_um) / stack.outer_radius_um
    nl = len(ns)

    # Gather the arguments of each kind of function into one call each (the recurrences
    # cost per order, not per point).  Shells need two independent solutions: {ψ, χ} is well
    # conditioned where the field is evanescent, {ξ⁽¹⁾, ξ⁽²⁾} where the shell is lossy and
    # oscillatory (there ψ and χ are both dominated by e^{|Im z|} and become dependent).
    z_core = ns[0] * x * frac[0]
    # each shell j ≥ 1 at its inner (side 0) and outer (side 1) radius
    shell_z = {(j, side): ns[j] * x * frac[j - 1 + side] for j in range(1, nl) for side in (0, 1)}
    keys = [("core", "regular"), ("outside", "outgoing")]
    requests = [("regular", z_core, want_logv), ("outgoing", nb * x, False)]
    for kind in bessel.KINDS:
        for js, z in shell_z.items():
            keys.append((js, kind))
            requests.append((kind, z, True))
    got = {key: _LogPair(*r) for key, r in zip(keys, bessel.evaluate(requests, orders, stack.offset, table=table))}

    shells = []
    with np.errstate(all="ignore"):
        for j in range(1, nl):
            def fn(side, kind):
                return got[((j, side), kind)]

            def sep(kind_a, kind_b):  # relative distinctness of two solutions at the inner radius
                Da, Db = fn(0, kind_a).D, fn(0, kind_b).D
                return np.abs(Da - Db) / np.maximum(np.maximum(np.abs(Da), np.abs(Db)), 1.0)

            use_std = sep("regular", "irregular") >= sep("outgoing", "incoming")

            def pick(side, std_kind, han_kind):
                a, b = fn(side, std_kind), fn(side, han_kind)
                return _LogPair(np.where(use_std, a.D, b.D), np.where(use_std, a.L, b.L))

            shells.append(_ShellFunctions(f1=pick(0, "regular", "outgoing"), f2=pick(1, "regular", "outgoing"),
                                          g1=pick(0, "irregular", "incoming"), g2=pick(1, "irregular", "incoming")))
    return _RadialFunctions(ns, nb, got[("core", "regular")], got[("outside", "outgoing")].D, shells)


def _match(terms: _RadialFunctions, polarization, want_logv):
    """F, y, d, logv of :func:`characteristic` for one polarization (or one per point)."""
    te = np.asarray(polarization) == "TE"
    ns, nb = terms.ns, terms.nb
    p = [np.where(te, 1.0 + 0j, 1.0 / n**2) for n in ns]
    pb = np.where(te, 1.0 + 0j, 1.0 / nb**2)
    with np.errstate(all="ignore"):
        y, logv = terms.core.D, terms.core.L
        for j, shell in enumerate(terms.shells, start=1):
            y = y * (p[j - 1] * ns[j - 1]) / (p[j] * ns[j])
            y, dlogv = _transfer(y, shell)
            if want_logv:
                logv = logv + dlogv
        a_N = p[-1] * ns[-1]
        d = pb * nb * terms.d_out / a_N
        F = a_N * (y - d)
    return Characteristic(F, y, d, logv)


def _transfer(y, shell: _ShellFunctions):
    """Carry the log-derivative ``y`` of ``v = f + β g`` from ``z1`` to ``z2`` within one layer.

    ``shell.f1 = (D_f(z1), log f(z1))`` etc.  Returns ``y(z2)`` and ``log v(z2) − log v(z1)``.
    With ``γ(z) = β g(z)/f(z)``: ``γ1 = (y − D_f1)/(D_g1 − y)``, ``γ2 = γ1 f1 g2 / (f2 g1)``,
    ``y2 = (D_f2 + γ2 D_g2)/(1 + γ2)``; all in logarithms, so nothing overflows.
    """
    Df1, Lf1, Df2, Lf2 = shell.f1.D, shell.f1.L, shell.f2.D, shell.f2.L
    Dg1, Lg1, Dg2, Lg2 = shell.g1.D, shell.g1.L, shell.g2.D, shell.g2.L
    log_g1 = np.log(y - Df1) - np.log(Dg1 - y)
    log_g2 = log_g1 + (Lf1 - Lf2 + Lg2 - Lg1)
    big = log_g2.real > 0
    g2 = np.exp(np.where(big, 0, log_g2))
    ig2 = np.exp(-np.where(big, log_g2, 0))
    y2 = np.where(big, (Df2 * ig2 + Dg2) / (ig2 + 1.0), (Df2 + g2 * Dg2) / (1.0 + g2))
    dlogv = (Lf2 - Lf1) + _log1pexp(log_g2) - _log1pexp(log_g1)
    return y2, dlogv


def _log1pexp(a):
    """log(1 + e^a) for complex a, overflow-free."""
    big = a.real > 0
    return np.where(big, a + np.log1p(np.exp(-np.where(big, a, 0))), np.log1p(np.exp(np.where(big, 0, a))))


class Roots(NamedTuple):
    """Result of :func:`find_root` (a named tuple ``(x, converged, im_error)``)."""

    x: np.ndarray  # size parameters of the roots (nan where Newton failed)
    converged: np.ndarray  # bool per root
    im_error: np.ndarray  # size of the last Newton step in Im x: the uncertainty of Im x


def find_root(stack: LayeredStack, polarization, orders, x0, *, max_step=None) -> Roots:
    """Newton's method in the complex plane for many resonances at once.

    The Jacobian is taken by forward differences along the real and imaginary axes.

    Parameters
    ----------
    polarization : {"TE", "TM"}, or an array of them (one per root)
    orders : int array
        Angular number per root.
    x0 : complex array
        Starting size parameters (e.g. real-axis estimates).
    max_step : float array, optional
        Largest allowed Newton step per root (keeps each root in its radial branch).

    Returns
    -------
    Roots
        A named tuple ``(x, converged, im_error)``:
    x : complex array
        Size parameters of the roots (``nan`` where Newton failed).
    converged : bool array
    im_error : float array
        Size of the last Newton step in ``Im x``: the numerical uncertainty of ``Im x``
        (reached when rounding noise stops the iteration before ``_IM_TOL``).
    """
    orders = np.asarray(orders)
    x = np.asarray(x0, dtype=complex).copy()
    n = len(x)
    pols = np.broadcast_to(np.asarray(polarization), (n,))
    # through shells Im x cannot be resolved below ~eps |x| (rounding of the transfer)
    im_floor = _LAYERED_IM_NOISE if len(stack.radii_um) > 1 else 0.0
    active = np.ones(n, dtype=bool)
    converged = np.zeros(n, dtype=bool)
    last = np.full(n, np.inf)
    last_re = np.full(n, np.inf)
    im_err = np.full(n, np.inf)
    post = np.zeros(n, dtype=int)
    small = np.zeros(n, dtype=int)
    cap = np.full(n, np.inf) if max_step is None else np.asarray(max_step, float)
    for _ in range(_NEWTON_MAX_ITER):
        idx = np.nonzero(active)[0]
        if len(idx) == 0:
            break
        log.debug("newton: %d active", len(idx))
        xa = x[idx]
        h = _NEWTON_FD_STEP * np.abs(xa)
        m = len(idx)
        F, _, _, logv = characteristic(stack, np.tile(pols[idx], 3), np.concatenate([orders[idx]] * 3),
                                       np.concatenate([xa, xa + h, xa + 1j * h]), want_logv=True)
        # Far from the root, Newton on G = F v(x)/v(xa): the same zeros as F but without F's
        # poles (the zeros of the interior solution v at the surface), which can sit
        # arbitrarily close to a root.  Near the root, on F itself: the rounding noise of the
        # phase of v would otherwise turn the real residual of F into an error of Im x.
        far = np.tile(last[idx] > _POLE_FREE_UNTIL * np.abs(xa), 3)
        with np.errstate(all="ignore"):
            F = np.where(far, F * np.exp(logv - np.tile(logv[:m], 3)), F)
        F0, Fr, Fi = F[:m], (F[m:2 * m] - F[:m]) / h, (F[2 * m:] - F[:m]) / h
        # Newton on (Re x, Im x) with the full 2x2 Jacobian: F is analytic for analytic
        # materials, but tabulated data are continued only to first order (not analytic), and
        # the real Jacobian keeps convergence quadratic in both cases.
        with np.errstate(all="ignore"):
            det = Fr.real * Fi.imag - Fi.real * Fr.imag
            dre = (-F0.real * Fi.imag + Fi.real * F0.imag) / det
            dim = (-Fr.real * F0.imag + Fr.imag * F0.real) / det
            step = dre + 1j * dim
        bad = ~np.isfinite(step)
        mag = np.abs(step)
        step = np.where(mag > cap[idx], step * cap[idx] / np.where(mag > 0, mag, 1), step)
        mag = np.abs(step)
        xn = xa + np.where(bad, 0, step)
        # Re x converges to its tolerance or stops at rounding noise (a tiny step that no longer
        # shrinks).  Im x, which can be 1e-37 of Re x, then gets up to _IM_EXTRA_ITER more
        # steps to reach its own relative tolerance; if it jitters instead, the size of its
        # last step is its uncertainty.
        d_re, d_im = np.abs(step.real), np.abs(step.imag)
        small[idx] = np.where(d_re <= _STALL_TOL * np.abs(xn), small[idx] + 1, 0)
        re_ok = (d_re <= (_RE_TOL + im_floor) * np.abs(xn.real)) | (small[idx] > _IM_EXTRA_ITER) | (
            (small[idx] > 0) & (d_re >= 0.5 * last_re[idx]))
        post[idx] = np.where(re_ok, post[idx] + 1, 0)
        im_ok = (d_im <= _IM_TOL * np.abs(xn.imag) + im_floor * np.abs(xn) + 1e-300) | (
            post[idx] > _IM_EXTRA_ITER)
        done = (re_ok & im_ok) | (F0 == 0)
        x[idx] = xn
        im_err[idx] = d_im
        last_re[idx] = d_re
        last[idx] = mag
        converged[idx[done & ~bad]] = True
        active[idx[done | bad]] = False
        x[idx[bad]] = np.nan
    # out of iterations but already at the noise floor
    late = active & (last <= _STALL_TOL * np.abs(x))
    converged |= late
    return Roots(x, converged, im_err)
