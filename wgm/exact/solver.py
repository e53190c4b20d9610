"""The exact engine's band search: every mode of layered spheres and of the 2-D limit in a
wavelength band, labelled, from the characteristic equation of
:mod:`wgm.exact.characteristic`.

Search strategy (robust, no seeds from the user):

1. *Scan.*  On the real axis, for every angular number in the band at once, evaluate a
   pole-free matching function ``W`` and the sign of the interior solution at the surface.
   Sign changes of ``v(r_N)`` are the values of ``x`` at which a new radial node enters the
   resonator (Sturm oscillation), so a zero of ``W`` after ``q − 1`` of them is the mode of
   radial order ``q``.
2. *Refine.*  Newton's method in the complex plane (derivative by forward difference),
   all modes of both polarizations at once, with materials evaluated at the mode's own
   complex wavelength.
3. *Low-Q poles.*  A pole far below the real axis can leave no zero of ``W`` there, and two
   low-Q branches of one angular number can cross.  Wherever a root of Q < 20 was found, that
   angular number and its neighbours are searched again from a grid of complex starts; every
   pole of Q ≥ 2 is listed with the scan's radial order (1 + node entries below ``Re x``).
   Two poles of one (polarization, l) with the same count are both listed, with a note that
   their radial order is uncertain.
4. *Families.*  Modes of equal (polarization, q) with certain labels form families; the free
   spectral range of each mode is the centred difference of its neighbours' wavelengths,
   omitted (with a note) where the family's spacing is not smooth (an absorption edge, strong
   dispersion) or the label of the mode is uncertain.

Before any table is allocated the work is estimated (:func:`_plan`); a search far beyond
what a band search can do (typically a radius typed in nm) is refused in one line, and the
scan table is built in blocks of angular numbers so that its memory stays bounded.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy import optimize

from wgm.exact import asymptotic
from wgm.exact import bessel
from wgm.exact.characteristic import (_LAYERED_IM_NOISE, LayeredStack, _match, _radial_functions,  # noqa: F401
                                      characteristic, find_root)  # (characteristic, find_root: public here too)
from wgm.errors import ConfigError, SolverError
from wgm.model.resonator import Resonator, Search
from wgm.records import Mode, ModeSpectrum

__all__ = ["solve", "solve_order", "characteristic", "LayeredStack", "find_root"]

log = logging.getLogger(__name__)

_Q_REL_WARN = 1e-3  # relative uncertainty of Q above which a mode is flagged
_Q_LOWER_BOUND = 0.1  # relative uncertainty above which only a lower bound of Q is reported
_SEPARATE_MAX_ITER = 60  # bisections to order a root and a node entry that share a grid interval
_SEPARATE_TOL = 1e-13  # relative bracket width at which they are taken to coincide
_SCAN_STEP = 0.15  # grid step in units of the radial-branch width scale (ν/2)^(1/3)/n_max

# Drift allowance of the band search: real-axis estimates this far outside the band are
# refined too, since a low-Q root moves by ~|Im x| = x/(2Q) on refinement.  1 % of x up to
# x = 300 (Q can be ~10 there); beyond, modes have Q ≫ 100 and 0.1 % of x is ample.
_DRIFT_FRACTION, _DRIFT_X_KNEE, _DRIFT_FRACTION_HIGH = 0.01, 300.0, 0.001

# Work and memory of a band search (defect 14: a radius typed in nm asked for ~20 GB).
# Measured with tracemalloc on the real-axis scan table (TE + TM): 147 B per (order, point)
# cell for a homogeneous stack, 660 with one shell, 1256 with two; rounded up.
_SCAN_BYTES_PER_CELL = 160.0
_SCAN_BYTES_PER_CELL_SHELL = 600.0
_SCAN_CHUNK_BYTES = 256e6  # the scan table is built in blocks of orders of at most this size
_REFINE_BATCH = 20000  # candidates refined together (memory ~1 kB each per Newton step)
_NEWTON_ITER_ESTIMATE = 8  # typical Newton steps per root (measured 6-10)
# Cost unit: one step of a Bessel recurrence at one point (one order, one argument).  Measured
# 5-10 ns per step on one core for the recurrences alone; whole searches (process time,
# silica spheres of 30-2000 µm) took 1-4x the estimate at 1e-8 s, so 2e-8 s is used.
# Searches estimated above _MAX_WORK_STEPS (≈ 10 min) are refused.
_SECONDS_PER_STEP = 2e-8
_MAX_WORK_STEPS = 3e10

# Low-Q poles (defect 13).  A pole far below the real axis may leave no zero of W there, and two
# low-Q branches of one (pol, l) can cross, so the scan alone misses some.  Wherever a found
# root has Q < _LOW_Q, its (pol, l) and the neighbouring l are searched again from a grid of
# complex starts; poles with Q < _MIN_Q (linewidth above half the frequency) are not listed.
_LOW_Q = 20.0
_MIN_Q = 2.0
_SEED_RE_STEP = 0.25  # real spacing of the complex starts, in units of π/n_max (radial-order spacing)
_SEED_IM_FRACTIONS = (0.02, 0.06, 0.12, 0.2)  # −Im x of the starts, as fractions of Re x (Q 25 … 2.5)
# FSR (defect 13/19): the centred difference is reported only between modes whose labels are
# certain, and only where the family's spacing is smooth: the spacings to l−1 and to l+1 may
# differ by at most max(_FSR_SMOOTH, _FSR_SMOOTH_NU / ν) of their mean (a smooth family has
# λ ∝ 1/ν, so they differ by ~2/ν); a one-sided value needs Q within _FSR_Q_RATIO of the
# neighbour's (an absorption edge changes Q by orders of magnitude between neighbours).
_FSR_SMOOTH = 0.2
_FSR_SMOOTH_NU = 4.0
_FSR_Q_RATIO = 10.0


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


@dataclass(frozen=True)
class _RealAxis:
    """The real-axis functions of one polarization (see :func:`_real_axis`)."""

    W: np.ndarray  # pole-free matching function
    sign: np.ndarray  # sign of the interior solution v(r_N)


def _real_axis(stack, pols, orders, x, *, table=False) -> list[_RealAxis]:
    """On the real axis (real indices): the pole-free matching function ``W`` and the sign of
    the interior solution ``v(r_N)``, one :class:`_RealAxis` per polarization in ``pols``
    (they share the radial functions, the bulk of the cost).

    ``W = sgn(v) (y − d) / sqrt(1 + y²)`` is continuous through the poles of ``y`` (zeros of
    ``v``) and vanishes where the interior and exterior admittances match.
    """
    terms = _radial_functions(stack, orders, x, table=table, real_index=True, want_logv=True)
    out = []
    for pol in pols:
        c = _match(terms, pol, want_logv=True)
        y, d = c.y.real, c.d.real
        sgn = np.where(np.cos(c.logv.imag) >= 0, 1.0, -1.0)
        with np.errstate(all="ignore"):
            W = sgn * (y - d) / np.sqrt(1.0 + y * y)
        out.append(_RealAxis(W, sgn))
    return out


@dataclass(frozen=True)
class _Bracket:
    """An interval ``[lo, hi]`` of x on the real axis that holds one sign change."""

    lo: float
    hi: float

    @property
    def centre(self) -> float:
        return 0.5 * (self.lo + self.hi)


@dataclass(frozen=True)
class _Zero:
    """A zero of ``W`` (a resonance seen from the real axis): its bracket and an estimate."""

    bracket: _Bracket
    x: float  # estimate inside the bracket


@dataclass(frozen=True)
class _Crossings:
    """The sign changes of one angular number on the scan grid."""

    l: int
    zeros: list  # _Zero: zeros of W
    nodes: list  # _Bracket: node entries (sign changes of v(r_N))


@dataclass(frozen=True)
class _Candidate:
    """A resonance located on the real axis: labels, start of the refinement and its radial branch."""

    polarization: str
    l: int
    q: int
    x: float  # real-axis estimate of the size parameter
    branch_lo: float  # the (q-1)-th node entry (or the grid start)
    branch_hi: float  # the q-th node entry (or the grid end)


@dataclass(frozen=True)
class _Root:
    """A refined resonance (complex size parameter) with its labels and quality flags."""

    polarization: str
    l: int
    q: int
    x: complex
    in_branch: bool  # stayed between the node entries that bound its radial branch
    q_rel_error: float  # relative numerical uncertainty of Im x (and so of Q)

    @property
    def Q(self) -> float:
        return abs(self.x.real / (2.0 * self.x.imag)) if self.x.imag else math.inf


def _separate(stack, pol, l, zeros, nodes):
    """Bisect pairs of brackets (one holding a zero of W, one a sign change of v) that are
    too close to be ordered from the grid, until the two brackets are disjoint.

    ``l``: angular numbers; ``zeros``, ``nodes``: lists of :class:`_Bracket`, one of each per
    pair.  Returns the narrowed ``(zeros, nodes)``.

    A bisection by hand, on purpose: every step evaluates all pairs in one batched Bessel
    recurrence (the cost is per order, not per point), and it stops as soon as the two
    brackets are disjoint rather than at a root.  scipy's bracketing solvers (``brentq``) are
    scalar, one full recurrence per call and pair (SciPy 1.10 here has no element-wise one).
    """
    if not zeros:
        return zeros, nodes
    l = np.asarray(l, dtype=int)
    zl = np.array([b.lo for b in zeros])
    zh = np.array([b.hi for b in zeros])
    pl = np.array([b.lo for b in nodes])
    ph = np.array([b.hi for b in nodes])
    for _ in range(_SEPARATE_MAX_ITER):
        todo = ~((zh < pl) | (ph < zl)) & ((zh - zl) > _SEPARATE_TOL * zh)
        if not todo.any():
            break
        idx = np.nonzero(todo)[0]
        zm, pm = 0.5 * (zl[idx] + zh[idx]), 0.5 * (pl[idx] + ph[idx])
        ra, = _real_axis(stack, (pol,), np.concatenate([l[idx]] * 4),
                         np.concatenate([zl[idx], zm, pl[idx], pm]) + 0j)
        k = len(idx)
        w_lo, w_mid, s_lo, s_mid = ra.W[:k], ra.W[k:2 * k], ra.sign[2 * k:3 * k], ra.sign[3 * k:]
        left_z = np.sign(w_lo) * np.sign(w_mid) < 0
        zh[idx] = np.where(left_z, zm, zh[idx])
        zl[idx] = np.where(left_z, zl[idx], zm)
        left_p = s_lo != s_mid
        ph[idx] = np.where(left_p, pm, ph[idx])
        pl[idx] = np.where(left_p, pl[idx], pm)
    return ([_Bracket(float(a), float(b)) for a, b in zip(zl, zh)],
            [_Bracket(float(a), float(b)) for a, b in zip(pl, ph)])


def _scan(stack, pols, orders, x_grid, q_max) -> list[_Candidate]:
    """Real-axis scan: candidate roots, polarization by polarization in the order of ``pols``.

    The q-th zero of ``W`` (counting the sign changes of ``v`` below it) is the mode of radial
    order q; the neighbouring sign changes of ``v`` bound its radial branch.
    """
    out = []
    for pol, ra in zip(pols, _real_axis(stack, pols, orders, x_grid, table=True)):
        out += _scan_one(stack, pol, orders, x_grid, q_max, ra)
    return out


def _scan_one(stack, pol, orders, x_grid, q_max, ra: _RealAxis) -> list[_Candidate]:
    """:func:`_scan` for one polarization, from its table of ``W`` and ``sgn``."""
    per_l = []
    close = []  # (row in per_l, index in its zeros, index in its nodes)
    for row, l in enumerate(orders):
        w, s = ra.W[row], ra.sign[row]
        ok = np.isfinite(w)
        pole_i = np.nonzero((s[:-1] != s[1:]) & ok[:-1] & ok[1:])[0]
        zero_i = np.nonzero((np.sign(w[:-1]) * np.sign(w[1:]) < 0) & ok[:-1] & ok[1:])[0]
        nodes = [_Bracket(x_grid[i], x_grid[i + 1]) for i in pole_i]
        # linear interpolation of W inside its grid interval
        zeros = [_Zero(_Bracket(x_grid[i], x_grid[i + 1]),
                       x_grid[i] + (x_grid[i + 1] - x_grid[i]) * w[i] / (w[i] - w[i + 1])) for i in zero_i]
        # a zero and a node entry in the same or adjacent grid intervals cannot be ordered
        # from the grid (high-Q modes behind a low-index layer, TM at high index contrast)
        for a, zi in enumerate(zero_i):
            for b, pi in enumerate(pole_i):
                if abs(int(zi) - int(pi)) <= 1:
                    close.append((row, a, b))
        per_l.append(_Crossings(int(l), zeros, nodes))
    z_new, p_new = _separate(stack, pol, [per_l[r].l for r, _, _ in close],
                             [per_l[r].zeros[a].bracket for r, a, _ in close],
                             [per_l[r].nodes[b] for r, _, b in close])
    for (row, a, b), zb, pb in zip(close, z_new, p_new):
        per_l[row].zeros[a] = _Zero(zb, zb.centre)
        per_l[row].nodes[b] = pb
    out = []
    for cr in per_l:
        centres = np.sort([p.centre for p in cr.nodes])
        for z in cr.zeros:
            q = 1 + int(np.searchsorted(centres, z.x))
            if q > q_max:
                continue
            lo = centres[q - 2] if q >= 2 else x_grid[0]
            hi = centres[q - 1] if q - 1 < len(centres) else x_grid[-1]
            out.append(_Candidate(pol, cr.l, q, float(z.x), float(lo), float(hi)))
    return out


@dataclass(frozen=True)
class _Plan:
    """Where and how a band search looks, and what it will cost (estimated before any table
    is allocated)."""

    x_band: tuple  # the band in size parameter x = k0 R
    x_lo: float  # the band with its margins (FSR neighbours, drift of low-Q roots)
    x_hi: float
    orders: np.ndarray  # angular numbers that can have a mode of order ≤ q_max in [x_lo, x_hi]
    x_grid: np.ndarray | None  # real-axis scan grid (None when the search is refused: not built)
    n_max: float  # largest index of the stack in the band
    blocks: tuple  # the orders split so that one block's scan table fits _SCAN_CHUNK_BYTES
    n_modes: int  # estimated number of modes in the band
    table_bytes: float  # memory of the whole scan table if built at once
    work_steps: float  # estimated Bessel-recurrence steps (scan + refinement)

    @property
    def seconds(self) -> float:
        return self.work_steps * _SECONDS_PER_STEP


def _grid_start(stack, nu: float, x_guess: float) -> float:
    """A scan start below the first node entry of order ``nu``: lowered from ``x_guess`` until no
    layer has its turning point inside (``n_j x r_j / R < ν`` with the real index at that x), so
    that counting node entries from the start gives the radial order."""
    frac = np.array(stack.radii_um) / stack.outer_radius_um
    x = x_guess
    for _ in range(200):
        ns, _nb = stack.indices(np.array([x + 0j]), real=True)
        if max(float(n[0].real) * f for n, f in zip(ns, frac)) * x < nu:
            return x
        x *= 0.95
    return x


def _plan(stack: LayeredStack, search: Search) -> _Plan:
    """The band search's grid and angular numbers, and its cost (no large allocation)."""
    x_band = (stack.size_parameter(search.wavelength_nm[1]), stack.size_parameter(search.wavelength_nm[0]))
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
    # neighbours on both sides for the FSR, and by the drift allowance (low-Q roots that drift).
    drift = (_DRIFT_FRACTION * min(x_band[1], _DRIFT_X_KNEE)
             + _DRIFT_FRACTION_HIGH * max(x_band[1] - _DRIFT_X_KNEE, 0.0))
    margin = 2.5 / n_min + drift
    x_lo, x_hi = max(x_band[0] - margin, 1e-3), x_band[1] + margin
    l_lo, l_hi = _order_range(stack, x_lo, x_hi, search.max_radial_order, n_max, n_min)
    orders = np.arange(l_lo, l_hi + 1)
    nu_lo = max(l_lo + stack.offset, 1.0)
    step = _scan_step(nu_lo, n_max)
    # start below the first node entry of the lowest order (5 % below ν/n_max for small
    # orders, a few branch widths for large ones), checked against the indices there
    shrink = max(0.95, 1.0 - 2.0 * (nu_lo / 2) ** (1 / 3) / nu_lo)
    x_start = max(min(_grid_start(stack, nu_lo, nu_lo / n_max * shrink), x_lo), 1e-3)
    n_points = int(math.ceil((x_hi + step - x_start) / step))
    n_shells = len(stack.radii_um) - 1
    cell_bytes = _SCAN_BYTES_PER_CELL + _SCAN_BYTES_PER_CELL_SHELL * n_shells
    rows = max(1, int(_SCAN_CHUNK_BYTES // (cell_bytes * n_points)))
    n_blocks = -(-len(orders) // rows)
    # cost: every scan block runs the recurrences to the top order at every grid point; every
    # candidate (≈ one per family and angular number in the extended band) takes Newton steps
    # of 3 evaluations each
    n_functions = 2 + 8 * n_shells
    top = max(l_hi, n_max * x_hi) + 10 * (n_max * x_hi) ** (1 / 3) + 30
    families = len(search.polarizations) * search.max_radial_order
    n_cands = families * (n_max * (x_hi - x_lo) + 1)
    work = (n_blocks * n_points * n_functions * top
            + n_cands * _NEWTON_ITER_ESTIMATE * 3 * n_functions * top)
    n_modes = int(round(families * (n_max * (x_band[1] - x_band[0]) + 1)))
    plan_grid = None
    if work <= _MAX_WORK_STEPS:  # only then is the grid worth building
        plan_grid = np.arange(x_start, x_hi + step, step)
    blocks = tuple(orders[i:i + rows] for i in range(0, len(orders), rows))
    return _Plan(x_band=x_band, x_lo=x_lo, x_hi=x_hi, orders=orders, x_grid=plan_grid, n_max=n_max, blocks=blocks,
                 n_modes=n_modes, table_bytes=cell_bytes * n_points * len(orders), work_steps=work)


def _check_workload(plan: _Plan, resonator: Resonator, search: Search) -> None:
    """Refuse, in one line naming the radius, a band search that would take far too long
    (typically a radius typed in nm: ``radius_um = 5000``)."""
    if plan.work_steps <= _MAX_WORK_STEPS:
        return
    lo, hi = search.wavelength_nm
    radius = resonator.shape.radius_um
    # a band that fits: the work scales about linearly with its width
    fit = (hi - lo) * _MAX_WORK_STEPS / plan.work_steps
    nice = 10.0 ** math.floor(math.log10(fit))
    nice *= max(k for k in (1, 2, 5) if k * nice <= fit)
    raise ConfigError(
        "resonator.radius_um", radius,
        f"radii are in µm (this is {radius / 1000:g} mm; {radius:g} nm would be radius_um = {radius / 1000:g}); "
        f"the exact search of {lo:g}-{hi:g} nm at this radius would have to find ≈ {plan.n_modes:.3g} modes "
        f"(angular numbers {plan.orders[0]}-{plan.orders[-1]}; a scan table of {len(plan.orders)} orders, "
        f"{plan.table_bytes / 1e9:.3g} GB at once) - about {plan.work_steps:.2g} Bessel-recurrence steps, "
        f"≈ {plan.seconds / 60:.0f} min on one core, above the {_MAX_WORK_STEPS * _SECONDS_PER_STEP / 60:.0f} min "
        f"this solver accepts; for a large resonator narrow search.wavelength_nm (to ≲ {nice:g} nm here)")


def solve(resonator: Resonator, search: Search, *, energy: bool = True) -> ModeSpectrum:
    """All modes of ``resonator`` in ``search.wavelength_nm`` with radial order ≤ ``search.max_radial_order``.

    Parameters
    ----------
    resonator : Resonator
        A sphere (any number of coatings) or a disk/ring in the 2-D limit.
    search : Search
    energy : bool
        Also integrate each mode's field: mode volume and energy share per layer (spheres).
        Callers that need only wavelengths and Q (a fit's trial solves, the other engines'
        estimates) pass False: the integrals took half of a fit's time.

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
    plan = _plan(stack, search)
    _check_workload(plan, resonator, search)
    log.info("exact: %s, orders %d..%d, scan of %d points in x = %.4g..%.4g (%d block(s) of orders)",
             resonator.kind, plan.orders[0], plan.orders[-1], len(plan.x_grid), plan.x_grid[0], plan.x_grid[-1],
             len(plan.blocks))
    cands = []
    for block in plan.blocks:
        cands += [c for c in _scan(stack, search.polarizations, block, plan.x_grid, search.max_radial_order)
                  if plan.x_lo <= c.x <= plan.x_hi]
    roots = _dedupe(_refine(stack, cands, plan.x_band))
    roots = roots + _low_q_poles(stack, search, plan, roots)
    records = _to_records(roots, stack, search)
    if energy:
        from wgm.exact.fields import with_energy  # mode volume and energy shares (spheres)

        records = with_energy(records, stack)
    return ModeSpectrum(resonator=resonator, search=search, method="exact", modes=tuple(records))


def _refine(stack, cands: list[_Candidate], x_band=None) -> list[_Root]:
    """Newton-refine scan candidates (all polarizations together, in batches of ``_REFINE_BATCH``)."""
    if len(cands) > _REFINE_BATCH:
        return [r for i in range(0, len(cands), _REFINE_BATCH)
                for r in _refine(stack, cands[i:i + _REFINE_BATCH], x_band)]
    if not cands:
        return []
    pol_arr = np.array([c.polarization for c in cands])
    l_arr = np.array([c.l for c in cands])
    x0 = np.array([c.x for c in cands], dtype=complex)
    lo = np.array([c.branch_lo for c in cands])
    hi = np.array([c.branch_hi for c in cands])
    roots = find_root(stack, pol_arr, l_arr, x0, max_step=0.5 * (hi - lo))
    x = roots.x
    # a root of order q stays in its branch, between the (q-1)-th and q-th node entries
    width = hi - lo
    in_branch = (x.real > lo - 0.05 * width) & (x.real < hi + 0.05 * width)
    out = []
    for i, c in enumerate(cands):
        if not roots.converged[i]:
            if x_band is None or x_band[0] <= c.x <= x_band[1]:
                log.warning("exact: %s l=%d q=%d did not converge (start x=%.6g)", c.polarization, c.l, c.q, c.x)
            continue
        # numerical uncertainty of Im x: the last Newton step, and for layered stacks the
        # rounding floor of the transfer through the layers (~eps |x|, measured against mpmath)
        floor = _LAYERED_IM_NOISE * abs(x[i]) if len(stack.radii_um) > 1 else 0.0
        rel = max(roots.im_error[i], floor) / abs(x[i].imag) if x[i].imag else math.inf
        out.append(_Root(c.polarization, c.l, c.q, complex(x[i]), bool(in_branch[i]), float(rel)))
    return out


def _node_entries(stack, pol: str, orders: np.ndarray, x_grid: np.ndarray, rows: int) -> dict:
    """Node entries (sign changes of v(r_N) on the scan grid) of every angular number in
    ``orders`` (a contiguous range), evaluated in blocks of ``rows`` orders."""
    out = {}
    for i in range(0, len(orders), rows):
        block = orders[i:i + rows]
        ra, = _real_axis(stack, (pol,), block, x_grid, table=True)
        for row, l in enumerate(block):
            e = np.nonzero(ra.sign[row, :-1] != ra.sign[row, 1:])[0]
            out[int(l)] = 0.5 * (x_grid[e] + x_grid[e + 1])
    return out


def _low_q_poles(stack, search: Search, plan: "_Plan", roots: list[_Root]) -> list[_Root]:
    """Poles of Q ≥ _MIN_Q in the extended band that the real-axis scan can miss: for every
    (pol, l) with a found root of Q < _LOW_Q (and its neighbours l ± 1), Newton from a grid of
    complex starts, from just below the turning point ν/n_max to one radial-order spacing
    beyond the q_max-th node entry (no pole of order ≤ q_max lies outside).  Each pole is
    labelled as the scan labels it: q − 1 = the number of node entries below Re x."""
    low = {(r.polarization, r.l) for r in roots if r.Q < _LOW_Q}
    todo = sorted({(pol, l + d) for pol, l in low for d in (-1, 0, 1)
                   if plan.orders[0] <= l + d <= plan.orders[-1]})
    if not todo:
        return []
    x_lo, x_hi, n_max = plan.x_lo, plan.x_hi, plan.n_max
    spacing = np.pi / n_max  # ~ distance between radial orders in x
    q_max = search.max_radial_order
    rows = len(plan.blocks[0])
    entries = {}
    for pol in sorted({p for p, _ in todo}):
        ls_pol = [l for p, l in todo if p == pol]
        for l, c in _node_entries(stack, pol, np.arange(min(ls_pol), max(ls_pol) + 1), plan.x_grid, rows).items():
            entries[(pol, l)] = c
    pols, ls, x0 = [], [], []
    for pol, l in todo:
        centres = entries[(pol, l)]
        lo = max(x_lo, 0.9 * (l + stack.offset) / n_max)
        hi = min(x_hi, centres[q_max - 1] + spacing if len(centres) >= q_max else x_hi)
        for a in np.arange(lo, hi + 1e-12, _SEED_RE_STEP * spacing):
            for f in _SEED_IM_FRACTIONS:
                pols.append(pol)
                ls.append(l)
                x0.append(complex(a, -f * a))
    if not x0:
        return []
    pols, ls, x0 = np.array(pols), np.array(ls), np.array(x0)
    # a step cap of one radial-order spacing keeps each start near its own pole
    found = find_root(stack, pols, ls, x0, max_step=np.full(len(x0), spacing))
    x = found.x
    with np.errstate(all="ignore"):
        Q = np.abs(x.real / (2.0 * x.imag))
    keep = found.converged & np.isfinite(x) & (x.real >= x_lo) & (x.real <= x_hi) & (x.imag < 0) & (Q >= _MIN_Q)
    out = []
    for i in np.nonzero(keep)[0]:
        pol, l, xi = str(pols[i]), int(ls[i]), complex(x[i])
        if any(r.polarization == pol and r.l == l and abs(r.x - xi) < 1e-7 * abs(xi) for r in roots + out):
            continue
        q = 1 + int(np.searchsorted(entries[(pol, l)], xi.real))
        if q > q_max:
            continue
        floor = _LAYERED_IM_NOISE * abs(xi) if len(stack.radii_um) > 1 else 0.0
        rel = max(found.im_error[i], floor) / abs(xi.imag)
        out.append(_Root(pol, l, q, xi, True, float(rel)))
    if out:
        log.info("exact: %d low-Q pole(s) found off the real axis", len(out))
    return out


def _label_notes(roots: list[_Root]) -> dict:
    """Why a root's radial order is uncertain (``id(root) → note``): two poles of one (pol, l)
    with the same node count at their Re x (low-Q branches that cross or swap), so that which
    one continues the family of that radial order is not defined."""
    notes = {}
    by_label = {}
    for r in roots:
        by_label.setdefault((r.polarization, r.l, r.q), []).append(r)
    for (pol, l, q), same in by_label.items():
        if len(same) > 1:
            for r in same:
                notes[id(r)] = (f"radial order uncertain: {len(same)} poles of {pol} l={l} have {q - 1} interior "
                                f"node(s) at their Re x (low-Q branches cross)")
    return notes


def _dedupe(roots: list[_Root]) -> list[_Root]:
    """Two scan candidates that converged to one root: keep the one that stayed in its branch."""
    keep = []
    for r in sorted(roots, key=lambda r: not r.in_branch):
        if any(k.polarization == r.polarization and k.l == r.l and abs(k.x - r.x) < 1e-7 * abs(r.x) for k in keep):
            continue
        if any((k.polarization, k.l, k.q) == (r.polarization, r.l, r.q) for k in keep):
            log.warning("exact: two distinct roots labelled %s l=%d q=%d; keeping both", r.polarization, r.l, r.q)
        keep.append(r)
    return keep


def _has_gain(stack, x) -> bool:
    """Whether any layer amplifies (k < 0) at the mode's frequency: only then is a growing
    mode (Q < 0) physical rather than rounding noise."""
    layer_n, _ = stack.indices(complex(x.real, 0.0))
    return any(np.imag(n) < 0 for n in layer_n)


def _fsr(r: _Root, family: dict, stack: LayeredStack):
    """Free spectral range (nm) of ``r`` from the neighbours ``l ± 1`` of its family (roots with
    certain labels only), and a note when it is omitted."""
    def lam(root):
        return stack.wavelength_nm(root.x.real)

    up, down = family.get(r.l - 1), family.get(r.l + 1)
    here = lam(r)
    if up is not None and down is not None:
        d_up, d_down = lam(up) - here, here - lam(down)
        mean = 0.5 * (d_up + d_down)
        tol = max(_FSR_SMOOTH, _FSR_SMOOTH_NU / (r.l + stack.offset))
        if d_up > 0 and d_down > 0 and abs(d_up - d_down) <= tol * mean:
            return mean, ""
        return None, (f"fsr_nm omitted: the family's spacing is not smooth here ({d_up:.3g} nm to l-1, "
                      f"{d_down:.3g} nm to l+1; Q {up.Q:.3g}, {r.Q:.3g}, {down.Q:.3g}: strong dispersion, "
                      f"absorption or crossing branches)")
    other = up if up is not None else down
    if other is None:
        return None, ""
    d = (lam(other) - here) if other is up else (here - lam(other))
    with np.errstate(all="ignore"):
        ratio = max(r.Q / other.Q, other.Q / r.Q)
    if d > 0 and not ratio > _FSR_Q_RATIO:  # (nan when both Q are beyond double range: fine)
        return d, ""
    return None, (f"fsr_nm omitted: Q changes from {r.Q:.3g} to {other.Q:.3g} at the only neighbour "
                  f"(l={other.l}; an absorption edge or another branch)")


def _to_records(roots: list[_Root], stack, search) -> list[Mode]:
    lam_lo, lam_hi = search.wavelength_nm
    label_notes = _label_notes(roots)
    families = {}  # (pol, q) → {l: root}, roots with certain labels only
    for r in roots:
        if r.in_branch and id(r) not in label_notes:
            families.setdefault((r.polarization, r.q), {})[r.l] = r
    records = []
    for r in roots:
        x, l = r.x, r.l
        lam = stack.wavelength_nm(x.real)
        if not (lam_lo <= lam <= lam_hi):
            continue
        notes = []
        if not r.in_branch:
            notes.append("radial order uncertain (root left its branch)")
            fsr = None
        elif id(r) in label_notes:
            notes.append(label_notes[id(r)])
            fsr = None
        else:
            fsr, fsr_note = _fsr(r, families[(r.polarization, r.q)], stack)
            if fsr_note:
                notes.append(fsr_note)
        Q = x.real / (-2.0 * x.imag) if x.imag != 0 else math.inf
        q_err = r.q_rel_error
        resolved = True
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
        records.append(Mode(polarization=r.polarization, l=l, m=l, radial_order=r.q, wavelength_nm=lam, Q=Q,
                            fsr_nm=fsr, degeneracy=degeneracy,
                            size_parameter=(x.real, x.imag), q_resolved=resolved,
                            q_rel_error=min(q_err, 1.0) if resolved else None,
                            note="; ".join(notes)))
    records.sort(key=lambda m: m.wavelength_nm)
    if not records:
        log.warning("exact: no modes of radial order <= %d in %g-%g nm", search.max_radial_order, lam_lo, lam_hi)
    return records


def _estimate_x(stack: LayeredStack, polarization: str, nu: float, radial_order: int) -> float:
    """Size parameter of the mode (ν, q) from the Lam–Leung–Young expansion with the indices
    taken at the mode's *own* wavelength: the root of ``x − x_LLY(n(x))`` (scipy ``brentq``;
    the real, clamped indices are continuous and bounded, so ``x − x_LLY`` changes sign between
    a fraction of and a few times ``ν/n``).  The largest layer index stands for the stack."""

    def indices(x):
        ns, nb = stack.indices(np.array([x + 0j]), real=True)
        return max(float(n[0].real) for n in ns), float(nb[0].real)

    def residual(x):
        n, nb = indices(x)
        m = max(n / nb, 1.0 + 1e-4)
        return x - float(asymptotic.lly(nu, radial_order, m, polarization)) / nb

    n0, nb0 = indices(stack.size_parameter(550.0))
    lo, hi = 0.25 * nu / n0, 4.0 * (nu + 3 * asymptotic.airy_zero(radial_order) * nu ** (1 / 3) + 10) / nb0
    for _ in range(20):
        if residual(lo) < 0:
            break
        lo *= 0.5
    for _ in range(20):
        if residual(hi) > 0:
            break
        hi *= 2.0
    if not residual(lo) < 0 < residual(hi):  # the expansion is meaningless here (tiny ν, m ≈ 1)
        return nu / n0
    return float(optimize.brentq(residual, lo, hi, xtol=1e-9 * nu, rtol=1e-12))


def solve_order(resonator: Resonator, polarization: str, order: int, radial_order: int) -> Mode:
    """The single mode (polarization, l or m, q): a convenience for tests and fitting.

    The scan that counts its radial order is placed with the indices at the mode's own
    wavelength (estimated from the asymptotic expansion), so dispersive materials and data
    that do not cover the visible are handled."""
    stack = LayeredStack.from_resonator(resonator)
    nu = order + stack.offset
    x_mode = _estimate_x(stack, polarization, max(nu, 1.0), radial_order)
    ns, nb = stack.indices(np.array([x_mode + 0j]), real=True)
    n_max = max(float(n[0].real) for n in ns)
    step = _scan_step(max(nu, 1.0), n_max)
    x_start = max(_grid_start(stack, nu, nu / n_max * 0.9), 0.05)
    x_end = (nu + 3 * asymptotic.airy_zero(radial_order + 1) * (nu / 2) ** (1 / 3) + 10) / float(nb[0].real)
    x_grid = np.arange(x_start, x_end, step)
    cands = [c for c in _scan(stack, (polarization,), np.array([order]), x_grid, radial_order)
             if c.q == radial_order]
    found = _refine(stack, cands[:1])
    if not found:
        raise SolverError(f"no {polarization} mode with order {order}, radial order {radial_order} found")
    search = Search((1.0, 1e9), radial_order, (polarization,))
    return _to_records(found, stack, search)[0]
