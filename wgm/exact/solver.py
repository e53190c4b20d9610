"""Exact (semi-analytic) mode solver: quasi-normal modes of layered spheres and of
layered, infinitely tall cylinders (the 2-D limit of disks and rings).

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

Search strategy (robust, no seeds from the user):

1. *Scan.*  On the real axis, for every angular number in the band at once, evaluate a
   pole-free matching function ``W`` and the sign of the interior solution at the surface.
   Sign changes of ``v(r_N)`` are the values of ``x`` at which a new radial node enters the
   resonator (Sturm oscillation), so a zero of ``W`` after ``q − 1`` of them is the mode of
   radial order ``q``.
2. *Refine.*  Newton's method in the complex plane (derivative by forward difference),
   all modes of both polarizations at once, with materials evaluated at the mode's own
   complex wavelength.
3. *Families.*  Modes of equal (polarization, q) form families; the free spectral range of
   each mode is the centred difference of its neighbours' wavelengths.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from wgm.exact import asymptotic
from wgm.exact import bessel
from wgm.errors import ConfigError, SolverError
from wgm.model.resonator import Resonator, Search, Sphere
from wgm.records import Mode, ModeSpectrum

__all__ = ["solve", "characteristic", "LayeredStack", "find_root"]

log = logging.getLogger(__name__)

_NEWTON_MAX_ITER = 60
_NEWTON_FD_STEP = 1e-7  # relative forward-difference step for F'(x)
_RE_TOL = 8 * np.finfo(float).eps  # relative convergence of Re x
_IM_TOL = 1e-10  # relative convergence of Im x
_Q_REL_WARN = 1e-3  # relative uncertainty of Q above which a mode is flagged
_Q_LOWER_BOUND = 0.1  # relative uncertainty above which only a lower bound of Q is reported
_POLE_FREE_UNTIL = 1e-6  # relative Newton step below which F itself is used (see find_root)
_LAYERED_IM_NOISE = 30 * np.finfo(float).eps  # |error of Im x| / |x| through shells (measured ≲ 3 eps)
_IM_EXTRA_ITER = 4  # Newton steps allowed for Im x after Re x has converged
_STALL_TOL = 1e-9  # |Newton step| / |x| below which a non-shrinking step is rounding noise
_SEPARATE_MAX_ITER = 60  # bisections to order a root and a node entry that share a grid interval
_SEPARATE_TOL = 1e-13  # relative bracket width at which they are taken to coincide
_SCAN_STEP = 0.15  # grid step in units of the radial-branch width scale (ν/2)^(1/3)/n_max


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
            dim = "thickness_um" if res.kind == "disk" else "height_um"
            value = getattr(res.shape, dim)
            raise ConfigError(f"resonator.{dim}", value,
                              "the exact method solves spheres and the 2-D limit (inf); "
                              "a finite disk or ring needs --method fdtd")
        layers = res.radial_layers()
        offset = bessel.SPHERE if isinstance(res.shape, Sphere) else bessel.CYLINDER
        return cls(tuple(L.outer_radius_um for L in layers), tuple(L.material for L in layers),
                   res.surroundings, offset)

    @property
    def outer_radius_um(self) -> float:
        return self.radii_um[-1]

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
        lam_nm = 2000 * np.pi * self.outer_radius_um / np.asarray(x, dtype=complex)
        if not real:
            return ([m.index(lam_nm, outside="extrapolate") for m in self.materials],
                    self.background.index(lam_nm, outside="extrapolate"))

        def at(mat):
            return mat.index(lam_nm.real, outside="clamp").real + 0j

        return [at(m) for m in self.materials], at(self.background)


def characteristic(stack: LayeredStack, polarization, orders, x, *, table: bool = False,
                   real_index: bool = False, want_logv: bool = False):
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


@dataclass
class _RadialFunctions:
    """The polarization-independent part of :func:`characteristic`: indices and the
    log-derivatives / logarithms of the radial functions of every layer (TE and TM share them)."""

    ns: list  # layer indices
    nb: np.ndarray  # background index
    core: tuple  # (D, L) of the regular function at the core surface
    d_out: np.ndarray  # outgoing log-derivative outside
    shells: list  # per shell: (f1, f2, g1, g2), each (D, L), of the chosen pair of solutions


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
    shell_z = []
    for j in range(1, nl):
        shell_z += [ns[j] * x * frac[j - 1], ns[j] * x * frac[j]]
    requests = [("regular", z_core, want_logv), ("outgoing", nb * x, False)]
    for kind in bessel.KINDS:
        requests += [(kind, z, True) for z in shell_z]
    res = bessel.evaluate(requests, orders, stack.offset, table=table)
    nsz = len(shell_z)
    Dr, Lr = zip(*res[2:2 + nsz]) if nsz else ((), ())
    Di, Li = zip(*res[2 + nsz:2 + 2 * nsz]) if nsz else ((), ())
    Do, Lo = zip(*res[2 + 2 * nsz:2 + 3 * nsz]) if nsz else ((), ())
    Dn, Ln = zip(*res[2 + 3 * nsz:]) if nsz else ((), ())

    shells = []
    with np.errstate(all="ignore"):
        for j in range(1, nl):
            a, b = 2 * j - 2, 2 * j - 1  # z1, z2 of this shell
            sep_std = np.abs(Dr[a] - Di[a]) / np.maximum(np.maximum(np.abs(Dr[a]), np.abs(Di[a])), 1.0)
            sep_han = np.abs(Do[a] - Dn[a]) / np.maximum(np.maximum(np.abs(Do[a]), np.abs(Dn[a])), 1.0)
            use_std = sep_std >= sep_han
            pick = lambda s_, h_: np.where(use_std, s_, h_)  # noqa: E731
            f1, f2 = (pick(Dr[a], Do[a]), pick(Lr[a], Lo[a])), (pick(Dr[b], Do[b]), pick(Lr[b], Lo[b]))
            g1, g2 = (pick(Di[a], Dn[a]), pick(Li[a], Ln[a])), (pick(Di[b], Dn[b]), pick(Li[b], Ln[b]))
            shells.append((f1, f2, g1, g2))
    return _RadialFunctions(ns, nb, res[0], res[1][0], shells)


def _match(terms: _RadialFunctions, polarization, want_logv):
    """F, y, d, logv of :func:`characteristic` for one polarization (or one per point)."""
    te = np.asarray(polarization) == "TE"
    ns, nb = terms.ns, terms.nb
    p = [np.where(te, 1.0 + 0j, 1.0 / n**2) for n in ns]
    pb = np.where(te, 1.0 + 0j, 1.0 / nb**2)
    with np.errstate(all="ignore"):
        y, logv = terms.core
        for j, (f1, f2, g1, g2) in enumerate(terms.shells, start=1):
            y = y * (p[j - 1] * ns[j - 1]) / (p[j] * ns[j])
            y, dlogv = _transfer(y, f1, f2, g1, g2)
            if want_logv:
                logv = logv + dlogv
        a_N = p[-1] * ns[-1]
        d = pb * nb * terms.d_out / a_N
        F = a_N * (y - d)
    return F, y, d, logv


def _transfer(y, f1, f2, g1, g2):
    """Carry the log-derivative ``y`` of ``v = f + β g`` from ``z1`` to ``z2`` within one layer.

    ``f1 = (D_f(z1), log f(z1))`` etc.  Returns ``y(z2)`` and ``log v(z2) − log v(z1)``.
    With ``γ(z) = β g(z)/f(z)``: ``γ1 = (y − D_f1)/(D_g1 − y)``, ``γ2 = γ1 f1 g2 / (f2 g1)``,
    ``y2 = (D_f2 + γ2 D_g2)/(1 + γ2)``; all in logarithms, so nothing overflows.
    """
    (Df1, Lf1), (Df2, Lf2), (Dg1, Lg1), (Dg2, Lg2) = f1, f2, g1, g2
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


def find_root(stack: LayeredStack, polarization, orders, x0, *, max_step=None):
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
    return x, converged, im_err


# --------------------------------------------------------------------------------------
# The search


def _order_range(stack: LayeredStack, x_lo: float, x_hi: float, q_max: int, n_max: float, n_min: float):
    """Angular numbers that can have a mode of radial order ≤ q_max with x in [x_lo, x_hi]."""
    # Upper bound: a mode needs an oscillatory region, n_max x > ν.
    hi = int(math.ceil(n_max * x_hi)) + 2
    # Lower bound: the q_max mode of order ν sits below n_min x ≈ ν + 2^(-1/3) α_q ν^(1/3) + ...;
    # take a generous margin (the formula is an estimate, the scan is exact).
    alpha = asymptotic.airy_zero(q_max)
    nu = n_min * x_lo
    lo = int(math.floor(nu - 1.6 * alpha * (nu / 2) ** (1 / 3) - 4))
    return max(lo, 1 if stack.offset == bessel.SPHERE else 0), max(hi, 1)


def _scan_step(nu: float, n_max: float) -> float:
    """Real-axis grid step: a fraction of the width of a radial branch, ~(ν/2)^(1/3)/n_max in x."""
    return _SCAN_STEP * (nu / 2) ** (1 / 3) / n_max


def _real_axis(stack, pols, orders, x, *, table=False):
    """On the real axis (real indices): the pole-free matching function ``W`` and the sign of
    the interior solution ``v(r_N)``, as a list of ``(W, sgn)``, one per polarization in
    ``pols`` (they share the radial functions, the bulk of the cost).

    ``W = sgn(v) (y − d) / sqrt(1 + y²)`` is continuous through the poles of ``y`` (zeros of
    ``v``) and vanishes where the interior and exterior admittances match.
    """
    terms = _radial_functions(stack, orders, x, table=table, real_index=True, want_logv=True)
    out = []
    for pol in pols:
        _, y, d, logv = _match(terms, pol, want_logv=True)
        y, d = y.real, d.real
        sgn = np.where(np.cos(logv.imag) >= 0, 1.0, -1.0)
        with np.errstate(all="ignore"):
            W = sgn * (y - d) / np.sqrt(1.0 + y * y)
        out.append((W, sgn))
    return out


def _separate(stack, pol, items):
    """Bisect pairs of grid intervals (one holding a zero of W, one a sign change of v) that
    are too close to be ordered from the grid, until the two brackets are disjoint.

    ``items``: list of [l, z_lo, z_hi, p_lo, p_hi]; updated in place.
    """
    if not items:
        return
    arr = np.array(items, dtype=float)
    l = arr[:, 0].astype(int)
    for _ in range(_SEPARATE_MAX_ITER):
        zl, zh, pl, ph = arr[:, 1], arr[:, 2], arr[:, 3], arr[:, 4]
        todo = ~((zh < pl) | (ph < zl)) & ((zh - zl) > _SEPARATE_TOL * zh)
        if not todo.any():
            break
        idx = np.nonzero(todo)[0]
        zm, pm = 0.5 * (zl[idx] + zh[idx]), 0.5 * (pl[idx] + ph[idx])
        (W, sgn), = _real_axis(stack, (pol,), np.concatenate([l[idx]] * 4),
                               np.concatenate([zl[idx], zm, pl[idx], pm]) + 0j)
        k = len(idx)
        w_lo, w_mid, s_lo, s_mid = W[:k], W[k:2 * k], sgn[2 * k:3 * k], sgn[3 * k:]
        left_z = np.sign(w_lo) * np.sign(w_mid) < 0
        arr[idx, 2] = np.where(left_z, zm, zh[idx])
        arr[idx, 1] = np.where(left_z, zl[idx], zm)
        left_p = s_lo != s_mid
        arr[idx, 4] = np.where(left_p, pm, ph[idx])
        arr[idx, 3] = np.where(left_p, pl[idx], pm)
    items[:] = arr.tolist()


def _scan(stack, pols, orders, x_grid, q_max):
    """Real-axis scan: candidate roots ``(pol, l, q, x_estimate, branch_lo, branch_hi)``,
    polarization by polarization in the order of ``pols``.

    The q-th zero of ``W`` (counting the sign changes of ``v`` below it) is the mode of radial
    order q; the neighbouring sign changes of ``v`` bound its radial branch.
    """
    out = []
    for pol, (W, sgn) in zip(pols, _real_axis(stack, pols, orders, x_grid, table=True)):
        out += _scan_one(stack, pol, orders, x_grid, q_max, W, sgn)
    return out


def _scan_one(stack, pol, orders, x_grid, q_max, W, sgn):
    """:func:`_scan` for one polarization, from its table of ``W`` and ``sgn``."""
    per_l = []
    close = []
    for row, l in enumerate(orders):
        w, s = W[row], sgn[row]
        ok = np.isfinite(w)
        pole_i = np.nonzero((s[:-1] != s[1:]) & ok[:-1] & ok[1:])[0]
        zero_i = np.nonzero((np.sign(w[:-1]) * np.sign(w[1:]) < 0) & ok[:-1] & ok[1:])[0]
        poles = [[x_grid[i], x_grid[i + 1]] for i in pole_i]
        zeros = []
        for i in zero_i:
            # linear interpolation of W inside its grid interval
            xz = x_grid[i] + (x_grid[i + 1] - x_grid[i]) * w[i] / (w[i] - w[i + 1])
            zeros.append([x_grid[i], x_grid[i + 1], xz])
        # a zero and a node entry in the same or adjacent grid intervals cannot be ordered
        # from the grid (high-Q modes behind a low-index layer, TM at high index contrast)
        for zi, z in zip(zero_i, zeros):
            for pi, pole in zip(pole_i, poles):
                if abs(int(zi) - int(pi)) <= 1:
                    close.append((row, z, pole, [int(l), z[0], z[1], pole[0], pole[1]]))
        per_l.append((int(l), zeros, poles))
    items = [c[3] for c in close]
    _separate(stack, pol, items)
    for (row, z, pole, _), it in zip(close, items):
        z[0], z[1] = it[1], it[2]
        z[2] = 0.5 * (it[1] + it[2])
        pole[0], pole[1] = it[3], it[4]
    out = []
    for l, zeros, poles in per_l:
        centres = np.sort([0.5 * (p[0] + p[1]) for p in poles])
        for z_lo, z_hi, xz in zeros:
            q = 1 + int(np.searchsorted(centres, xz))
            if q > q_max:
                continue
            lo = centres[q - 2] if q >= 2 else x_grid[0]
            hi = centres[q - 1] if q - 1 < len(centres) else x_grid[-1]
            out.append((pol, l, q, float(xz), float(lo), float(hi)))
    return out


def solve(resonator: Resonator, search: Search) -> ModeSpectrum:
    """All modes of ``resonator`` in ``search.wavelength_nm`` with radial order ≤ ``search.max_radial_order``.

    Parameters
    ----------
    resonator : Resonator
        A sphere (any number of coatings) or a disk/ring in the 2-D limit.
    search : Search

    Returns
    -------
    ModeSpectrum
        Modes sorted by wavelength, each with polarization, l, m, radial order,
        wavelength (nm), Q and free spectral range (nm).

    Raises
    ------
    ConfigError
        For a finite disk/ring, or a band outside a material's data range.
    """
    stack = LayeredStack.from_resonator(resonator)  # refuses finite disks/rings (and so substrates)
    resonator.check_band(search.wavelength_nm)
    R = stack.outer_radius_um
    lam_lo, lam_hi = (w / 1000.0 for w in search.wavelength_nm)
    x_band = (2 * np.pi * R / lam_hi, 2 * np.pi * R / lam_lo)
    mid_x = np.array([0.5 * sum(x_band)])
    ns, nb = stack.indices(mid_x, real=True)
    n_layers = np.array([n[0].real for n in ns])
    n_b = float(nb[0].real)
    n_max = float(max(n_layers.max(), n_b * 1.0001))
    n_min = float(max(min(n_layers.min(), n_layers[-1]), n_b * 1.0001))
    if n_max <= n_b * 1.0001:
        raise ConfigError("surroundings.index", n_b,
                          f"must be lower than the resonator's index ({n_layers.max():.4g}) to confine light")
    # Extend the band by about two free spectral ranges, so that every family in the band has
    # neighbours on both sides for the FSR (and low-Q roots that drift are caught).
    margin = 2.5 / n_min + 0.01 * x_band[1]
    x_lo, x_hi = max(x_band[0] - margin, 1e-3), x_band[1] + margin
    l_lo, l_hi = _order_range(stack, x_lo, x_hi, search.max_radial_order, n_max, n_min)
    orders = np.arange(l_lo, l_hi + 1)
    nu_lo = max(l_lo + stack.offset, 1.0)
    step = _scan_step(nu_lo, n_max)
    x_start = max(min(nu_lo / n_max * 0.95, x_lo), 1e-3)
    x_grid = np.arange(x_start, x_hi + step, step)
    log.info("exact: %s, orders %d..%d, scan of %d points in x = %.4g..%.4g",
             resonator.kind, l_lo, l_hi, len(x_grid), x_grid[0], x_grid[-1])

    cands = [c for c in _scan(stack, search.polarizations, orders, x_grid, search.max_radial_order)
             if x_lo <= c[3] <= x_hi]
    modes = _dedupe(_refine(stack, cands, x_band))
    records = _to_records(modes, stack, search)
    return ModeSpectrum(resonator=resonator, search=search, method="exact", modes=tuple(records))


def _refine(stack, cands, x_band=None):
    """Newton-refine scan candidates (all polarizations in one run); returns
    (pol, l, q, x, in_branch, q_rel_error) tuples."""
    if not cands:
        return []
    pol_arr = np.array([c[0] for c in cands])
    l_arr = np.array([c[1] for c in cands])
    q_arr = np.array([c[2] for c in cands])
    x0 = np.array([c[3] for c in cands], dtype=complex)
    lo = np.array([c[4] for c in cands])
    hi = np.array([c[5] for c in cands])
    x, ok, im_err = find_root(stack, pol_arr, l_arr, x0, max_step=0.5 * (hi - lo))
    # a root of order q stays in its branch, between the (q-1)-th and q-th node entries
    width = hi - lo
    in_branch = (x.real > lo - 0.05 * width) & (x.real < hi + 0.05 * width)
    out = []
    for i in range(len(cands)):
        if not ok[i]:
            if x_band is None or x_band[0] <= x0[i].real <= x_band[1]:
                log.warning("exact: %s l=%d q=%d did not converge (start x=%.6g)", pol_arr[i], l_arr[i],
                            q_arr[i], x0[i].real)
            continue
        # numerical uncertainty of Im x: the last Newton step, and for layered stacks the
        # rounding floor of the transfer through the layers (~eps |x|, measured against mpmath)
        floor = _LAYERED_IM_NOISE * abs(x[i]) if len(stack.radii_um) > 1 else 0.0
        rel = max(im_err[i], floor) / abs(x[i].imag) if x[i].imag else math.inf
        out.append((str(pol_arr[i]), int(l_arr[i]), int(q_arr[i]), complex(x[i]), bool(in_branch[i]),
                    float(rel)))
    return out


def _dedupe(modes):
    """Two scan candidates that converged to one root: keep the one that stayed in its branch."""
    keep = []
    for m in sorted(modes, key=lambda m: not m[4]):
        pol, l, q, x = m[:4]
        if any(k[0] == pol and k[1] == l and abs(k[3] - x) < 1e-7 * abs(x) for k in keep):
            continue
        if any(k[:3] == (pol, l, q) for k in keep):
            log.warning("exact: two distinct roots labelled %s l=%d q=%d; keeping both", pol, l, q)
        keep.append(m)
    return keep


def _has_gain(stack, x) -> bool:
    """Whether any layer amplifies (k < 0) at the mode's frequency: only then is a growing
    mode (Q < 0) physical rather than rounding noise."""
    layer_n, _ = stack.indices(complex(x.real, 0.0))
    return any(np.imag(n) < 0 for n in layer_n)


def _to_records(modes, stack, search):
    R = stack.outer_radius_um
    lam_lo, lam_hi = search.wavelength_nm
    fam = {}
    for pol, l, q, x, *_ in modes:
        fam.setdefault((pol, q), {})[l] = 2 * np.pi * R / x.real * 1000.0
    records = []
    for pol, l, q, x, in_branch, q_err in modes:
        lam = 2 * np.pi * R / x.real * 1000.0
        if not (lam_lo <= lam <= lam_hi):
            continue
        f = fam[(pol, q)]
        if l - 1 in f and l + 1 in f:
            fsr = 0.5 * (f[l - 1] - f[l + 1])
        elif l - 1 in f:
            fsr = f[l - 1] - lam
        elif l + 1 in f:
            fsr = lam - f[l + 1]
        else:
            fsr = None
        Q = x.real / (-2.0 * x.imag) if x.imag != 0 else math.inf
        notes = []
        resolved = True
        if not in_branch:
            notes.append("radial order uncertain (root left its branch)")
        if not math.isfinite(Q) or abs(Q) > 1e300:
            Q, resolved = math.inf, False
            notes.append("radiative Q beyond double-precision range")
        elif Q < 0 and q_err <= _Q_LOWER_BOUND and _has_gain(stack, x):
            notes.append("net gain: the mode grows (the gain is above its threshold)")
        elif q_err > _Q_LOWER_BOUND or Q < 0:
            # rounding noise dominates Im x: report the Q that the noise still guarantees
            Q = x.real / (2.0 * (abs(x.imag) + 3.0 * q_err * abs(x.imag)))
            resolved = False
            notes.append("Q is a lower bound (beyond double-precision resolution of a layered resonator)")
        elif q_err > _Q_REL_WARN:
            notes.append(f"Q uncertain by {100 * q_err:.2g} % (rounding limit)")
        degeneracy = 2 * l + 1 if stack.offset == bessel.SPHERE else (2 if l > 0 else 1)
        records.append(Mode(polarization=pol, l=l, m=l, radial_order=q, wavelength_nm=lam, Q=Q,
                            fsr_nm=fsr, degeneracy=degeneracy,
                            size_parameter=(x.real, x.imag), q_resolved=resolved,
                            q_rel_error=min(q_err, 1.0) if resolved else None,
                            note="; ".join(notes)))
    records.sort(key=lambda m: m.wavelength_nm)
    if not records:
        log.warning("exact: no modes of radial order <= %d in %g-%g nm", search.max_radial_order, lam_lo, lam_hi)
    return records


def solve_order(resonator: Resonator, polarization: str, order: int, radial_order: int) -> Mode:
    """The single mode (polarization, l or m, q): a convenience for tests and fitting."""
    stack = LayeredStack.from_resonator(resonator)
    R = stack.outer_radius_um
    ns, nb = stack.indices(np.array([1.0 + 0j]) * (2 * np.pi * R / 0.55), real=True)
    n_max = max(float(n[0].real) for n in ns)
    nu = order + stack.offset
    step = _scan_step(max(nu, 1.0), n_max)
    x_start = max(nu / n_max * 0.9, 0.05)
    x_end = (nu + 3 * asymptotic.airy_zero(radial_order + 1) * (nu / 2) ** (1 / 3) + 10) / float(nb[0].real)
    x_grid = np.arange(x_start, x_end, step)
    cands = [c for c in _scan(stack, (polarization,), np.array([order]), x_grid, radial_order)
             if c[2] == radial_order]
    found = _refine(stack, cands[:1])
    if not found:
        raise SolverError(f"no {polarization} mode with order {order}, radial order {radial_order} found")
    search = Search((1.0, 1e9), radial_order, (polarization,))
    return _to_records(found, stack, search)[0]
