"""Compare with experiment: assign measured peaks to modes and fit resonator parameters.

The model is the exact solver.  A fit has three stages:

1. *Global scan* of the first free parameter (e.g. ``resonator.radius_um``) over
   ``start × (1 ± search_range)``: the spectrum is solved on a coarse grid of that parameter,
   every mode (polarization, l, radial order) is followed as a track and interpolated on a
   fine grid, and at each fine value the measured peaks are scored against the nearest
   model lines with a truncated cost ``Σ min(d², τ²)`` (a peak farther than the tolerance τ
   from every line counts as spurious, a line without a peak costs nothing: missing peaks are
   normal).  The lowest local minima are the candidate assignments; no starting guess has to
   be close.
2. *Refinement* of each candidate: a one-to-one assignment of peaks to modes (Hungarian
   algorithm, with "spurious" as an option at cost τ²), then a least-squares fit of all free
   parameters to the assigned wavelengths with those integer labels fixed, re-assigned and
   refitted until the assignment is stable.
3. *Ranking*: candidates are ranked by the same truncated cost; the best one is the result,
   and how much worse the next distinct assignment is measures the ambiguity.  A poor or
   ambiguous result is flagged by named criteria (``POOR_*``, ``AMBIGUOUS_DELTA_CHI2``) in
   ``FitResult.warnings``.

Standard errors come from the Jacobian at the solution (``least_squares``' own), scaled by
the residual (the peak position errors, when known, weight the fit).
"""

from __future__ import annotations

import contextlib
import copy
import logging
import math
import threading
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares, linear_sum_assignment

from wgm.config import Config, config_to_dict, parse_config, parse_set, set_value
from wgm.errors import SolverError, UserError, WgmError
from wgm.model import validate
from wgm.model.resonator import Search
from wgm.records import ModeSpectrum

__all__ = ["Assignment", "Solution", "FitResult", "fit", "assign", "FreeParameter", "free_parameters",
           "default_tolerance_nm", "fit_quality_warnings", "POOR_RMS_PER_ERROR", "POOR_RMS_OF_TOLERANCE",
           "POOR_ASSIGNED_FRACTION", "AMBIGUOUS_DELTA_CHI2"]

log = logging.getLogger(__name__)

_COARSE_STEP = 0.005      # coarse grid of the scanned parameter: 0.5 % (tracks are nearly linear on it)
_MAX_CANDIDATES = 4       # assignments refined after the scan
_MAX_REASSIGN = 6         # assignment / refit rounds per candidate
_BAND_MARGIN = 0.03       # model band: the measured range ± 3 % (tracks must cover it while they move)
_SECOND_RANGE = 0.3       # the second free parameter is scanned over start × (1 ± 0.3) ...
_SECOND_STEPS = 5         # ... in this many values
_OUTLIER_SIGMAS = 5.0     # after the fit, a peak farther than 5 robust sigmas from its mode is unassigned
_TOL_FLOOR = 0.02         # ... but the tightened tolerance stays above 2 % of the initial one

# When a fit is reported as poor or ambiguous (FitResult.warnings; the CLI prints them on stderr)
POOR_RMS_PER_ERROR = 5.0       # poor: rms residual above 5× the median peak-position error (when
                               # known): the model misses the peaks by far more than they are measured
POOR_RMS_OF_TOLERANCE = 0.25   # poor: rms residual above a quarter of the assignment tolerance: the
                               # peaks sit loosely in their windows (the default tolerance is a fifth of
                               # the line spacing, so this is 5 % of it; a right fit is at the noise)
POOR_ASSIGNED_FRACTION = 0.5   # poor: fewer than half of the peaks assigned to a mode
AMBIGUOUS_DELTA_CHI2 = 25.0    # ambiguous: the runner-up assignment costs less than 25 times the best's
                               # residual variance (rms²) more than the best: as little as moving one
                               # peak by 5 rms, so with Gaussian peak errors of that size the data favour
                               # the best only by a likelihood ratio below e^12.5.  (Not the plain cost
                               # ratio: every spurious peak adds τ² to both costs, which pulls the ratio
                               # towards 1 for clear fits — 1.13 for a runner-up 160× worse in rms.)


@dataclass(frozen=True)
class FreeParameter:
    """A config key fitted to the measurement, with its starting value from the config."""

    key: str
    start: float


def free_parameters(raw: dict, keys) -> tuple[FreeParameter, ...]:
    """Validate ``--free`` keys against the config data: each must hold a positive number."""
    out = []
    for key in keys:
        path, _ = parse_set(f"{key}=0")
        node = raw
        try:
            for part in path:
                node = node[int(part)] if isinstance(node, list) else node[part]
        except (KeyError, IndexError, ValueError, TypeError):
            raise UserError(f"--free {key}: not in the config (give it a starting value there or with --set)") \
                from None
        if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node) or node <= 0:
            raise UserError(f"--free {key}: the config value {node!r} is not a positive number")
        out.append(FreeParameter(key, float(node)))
    if not out:
        raise UserError("--free: give at least one key to fit, e.g. --free resonator.radius_um")
    if len({p.key for p in out}) != len(out):
        raise UserError(f"--free {','.join(keys)}: a key is repeated")
    return tuple(out)


@dataclass(frozen=True)
class Assignment:
    """One measured peak and the mode it is assigned to (``polarization`` None: spurious)."""

    measured_nm: float
    measured_err_nm: float | None
    polarization: str | None
    l: int | None
    radial_order: int | None
    model_nm: float | None
    model_q: float | None = None

    @property
    def residual_nm(self) -> float | None:
        return None if self.model_nm is None else self.model_nm - self.measured_nm

    @property
    def label(self):
        return None if self.polarization is None else (self.polarization, self.l, self.radial_order)

    def to_dict(self) -> dict:
        return {"measured_nm": self.measured_nm, "measured_err_nm": self.measured_err_nm,
                "polarization": self.polarization, "l": self.l, "radial_order": self.radial_order,
                "model_nm": self.model_nm, "residual_nm": self.residual_nm, "model_Q": self.model_q}


@dataclass(frozen=True)
class Solution:
    """One assignment with its fitted parameters."""

    values: tuple[float, ...]
    stderr: tuple[float | None, ...]
    assignments: tuple[Assignment, ...]
    cost_nm2: float
    rms_residual_nm: float
    warnings: tuple[str, ...] = ()              # e.g. the assignment did not settle

    @property
    def n_assigned(self) -> int:
        return sum(a.polarization is not None for a in self.assignments)

    @property
    def labels(self) -> tuple:
        return tuple(a.label for a in self.assignments)


@dataclass(frozen=True)
class FitResult:
    """The best assignment and parameters, the runner-up, and what produced them."""

    free: tuple[FreeParameter, ...]
    best: Solution
    next_best: Solution | None
    tolerance_nm: float
    model: ModeSpectrum = field(repr=False)     # all modes at the best parameters
    config: Config = field(repr=False)          # the config at the best parameters
    source: str = ""
    warnings: tuple[str, ...] = ()              # poor or ambiguous fit, unsettled assignment (see fit())

    @property
    def parameters(self) -> dict:
        return {p.key: {"value": v, "stderr": e, "start": p.start}
                for p, v, e in zip(self.free, self.best.values, self.best.stderr)}

    def to_dict(self) -> dict:
        nb = self.next_best
        ambiguity = None
        if nb is not None:
            differ = sum(a.label != b.label for a, b in zip(self.best.assignments, nb.assignments))
            ambiguity = {
                "next_best_rms_residual_nm": nb.rms_residual_nm,
                "rms_ratio": nb.rms_residual_nm / self.best.rms_residual_nm if self.best.rms_residual_nm > 0
                else None,
                "cost_ratio": nb.cost_nm2 / self.best.cost_nm2 if self.best.cost_nm2 > 0 else None,
                "delta_chi2": _delta_chi2(self.best, nb),
                "next_best_parameters": {p.key: v for p, v in zip(self.free, nb.values)},
                "peaks_assigned_differently": differ,
            }
        return {
            "source": self.source,
            "parameters": self.parameters,
            "assignments": [a.to_dict() for a in self.best.assignments],
            "rms_residual_nm": self.best.rms_residual_nm,
            "n_peaks": len(self.best.assignments),
            "n_assigned": self.best.n_assigned,
            "n_spurious": len(self.best.assignments) - self.best.n_assigned,
            "tolerance_nm": self.tolerance_nm,
            "ambiguity": ambiguity,
            "warnings": list(self.warnings),
            "config": config_to_dict(self.config),
        }


# --------------------------------------------------------------------------------------
# the model

class _Model:
    """The exact solver as a function of the free parameters (spectra cached by value)."""

    def __init__(self, raw: dict, free, band_nm, base_dir):
        self.raw = raw
        self.free = free
        self.base_dir = base_dir
        self.band = band_nm
        self._cache: dict[tuple, ModeSpectrum] = {}
        cfg = self.config(tuple(p.start for p in free))
        self.max_q = cfg.search.max_radial_order
        self.pols = cfg.search.polarizations

    def config(self, values) -> Config:
        raw = copy.deepcopy(self.raw)
        for p, v in zip(self.free, values):
            set_value(raw, p.key.split("."), float(v), f"--free {p.key}")
        raw.setdefault("search", {})["wavelength_nm"] = list(self.band)
        try:
            return parse_config(raw, base_dir=self.base_dir)
        except UserError as exc:
            raise _OutOfDomain(str(exc)) from None

    def spectrum(self, values) -> ModeSpectrum:
        key = tuple(float(v) for v in values)
        if key not in self._cache:
            from wgm.exact.solver import solve

            cfg = self.config(key)
            if len(self._cache) > 256:
                self._cache.clear()
            # hundreds of trial solves: the solver's per-solve notes would drown the fit's own
            # log (the final model is solved again with them, see fit())
            with _quiet_trial_solves():
                self._cache[key] = solve(cfg.resonator, Search(self.band, self.max_q, self.pols), energy=False)
        return self._cache[key]

    def lines(self, values, labels) -> np.ndarray:
        """Model wavelengths of the given (polarization, l, q) labels at ``values``."""
        from wgm.exact.solver import solve_order

        spec = self.spectrum(values)
        by_label = {(m.polarization, m.l, m.radial_order): m.wavelength_nm for m in spec.modes}
        out = np.empty(len(labels))
        for i, lab in enumerate(labels):
            if lab in by_label:
                out[i] = by_label[lab]
            else:  # the mode has left the model band: solve it alone
                out[i] = solve_order(self.config(values).resonator, lab[0], lab[1], lab[2]).wavelength_nm
        return out


class _TrialSolveFilter(logging.Filter):
    """Drops the solver's records (below ERROR) made by one thread, counting them."""

    def __init__(self):
        super().__init__()
        self.thread = threading.get_ident()
        self.dropped = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.thread == self.thread and record.levelno < logging.ERROR:
            self.dropped += 1
            return False
        return True


@contextlib.contextmanager
def _quiet_trial_solves():
    """Silence the exact solver's notes (info and warnings: a trial radius with no mode in the
    band, say) during the fit's trial solves, without changing any logger's level: a filter
    on the solver's logger, for this thread's records only, removed on exit.  Errors pass."""
    from wgm.exact import solver

    quiet = _TrialSolveFilter()
    solver.log.addFilter(quiet)
    try:
        yield quiet
    finally:
        solver.log.removeFilter(quiet)
        if quiet.dropped:
            log.debug("fit: %d note(s) of a trial solve not shown", quiet.dropped)


class _OutOfDomain(WgmError):
    """Parameter values the config refuses (e.g. a negative thickness)."""


# --------------------------------------------------------------------------------------
# assignment

def _truncated(d2: np.ndarray, tol: float) -> np.ndarray:
    return np.minimum(d2, tol * tol)


def assign(peaks_nm, modes, tolerance_nm: float, peak_errors_nm=None) -> tuple[Assignment, ...]:
    """One-to-one assignment of measured peaks to modes minimising ``Σ min(d², τ²)``: a peak
    farther than ``tolerance_nm`` from every free mode is left unassigned (spurious)."""
    peaks = np.asarray(peaks_nm, dtype=float)
    errs = peak_errors_nm if peak_errors_nm is not None else [None] * len(peaks)
    modes = [m for m in modes if math.isfinite(m.wavelength_nm)]
    n, k = len(peaks), len(modes)
    lam = np.array([m.wavelength_nm for m in modes])
    cost = np.full((n, k + n), tolerance_nm ** 2 * 1.0001)  # columns k..: "spurious", one per peak
    if k:
        d2 = (peaks[:, None] - lam[None, :]) ** 2
        cost[:, :k] = np.where(d2 < tolerance_nm ** 2, d2, 1e30)
    rows, cols = linear_sum_assignment(cost)
    out = [None] * n
    for i, j in zip(rows, cols):
        if j < k:
            m = modes[j]
            out[i] = Assignment(float(peaks[i]), errs[i], m.polarization, m.l, m.radial_order, m.wavelength_nm,
                                m.Q if math.isfinite(m.Q) else None)
        else:
            out[i] = Assignment(float(peaks[i]), errs[i], None, None, None, None)
    return tuple(out)


def _cost(assignments, tol: float) -> float:
    r2 = [a.residual_nm ** 2 for a in assignments if a.residual_nm is not None]
    n_spurious = sum(a.residual_nm is None for a in assignments)
    return float(np.sum(_truncated(np.array(r2), tol))) + n_spurious * tol * tol


# --------------------------------------------------------------------------------------
# fitting

def fit(raw: dict, peaks_nm, free_keys, *, peak_errors_nm=None, search_range: float = 0.10,
        tolerance_nm: float | None = None, base_dir=None, source: str = "") -> FitResult:
    """Fit the ``free_keys`` of the config data ``raw`` to measured peak wavelengths.

    Parameters
    ----------
    raw : dict
        Config data (as read from TOML, ``--set`` applied); the free keys' values are the
        starting point, ``[search]`` gives the radial orders and polarizations considered.
    peaks_nm : sequence of float
        Measured peak wavelengths (nm).
    free_keys : sequence of str
        Dotted config keys to fit; the first is scanned globally over
        ``start × (1 ± search_range)``, all are refined by least squares.
    peak_errors_nm : sequence of float, optional
        Standard errors of the peak positions (weights of the fit).
    tolerance_nm : float, optional
        Farthest a peak may be from its mode; default: a fifth of the median spacing of the
        model's lines (at the starting parameters), at least 3 peak errors.

    Returns
    -------
    FitResult
        Its ``warnings`` say when the fit is poor or ambiguous (:func:`fit_quality_warnings`)
        or its assignment did not settle; each is also logged at WARNING level.
    """
    peaks = np.sort(np.asarray(peaks_nm, dtype=float))
    if len(peaks) < 2:
        raise UserError(f"{source or 'measurement'}: {len(peaks)} peak(s); a fit needs at least 2")
    if peak_errors_nm is not None:
        order = np.argsort(np.asarray(peaks_nm, dtype=float))
        peak_errors_nm = [float(np.asarray(peak_errors_nm, dtype=float)[i]) for i in order]
    if not 0 < search_range < 0.5:
        raise UserError(f"--search-range {search_range}: must be between 0 and 0.5 (a fraction of the start)")
    free = free_parameters(raw, free_keys)
    if len(peaks) <= len(free):
        raise UserError(f"{len(peaks)} peaks cannot determine {len(free)} free parameters")
    span = peaks[-1] - peaks[0]
    lo = peaks[0] - max(_BAND_MARGIN * peaks[0], span * 0.1)
    hi = peaks[-1] + max(_BAND_MARGIN * peaks[-1], span * 0.1)
    model = _Model(raw, free, (lo, hi), base_dir)
    start = tuple(p.start for p in free)
    if tolerance_nm is None:
        tolerance_nm = default_tolerance_nm(model.spectrum(start).modes, peaks, peak_errors_nm)
    else:
        tolerance_nm = validate.positive("tolerance_nm", tolerance_nm)
    log.info("fit: %d peaks, free %s, tolerance %.3g nm", len(peaks), ", ".join(p.key for p in free), tolerance_nm)

    candidates = []
    # the second free parameter (if any) is scanned coarsely too: its error moves the lines
    # differently for TE/TM and radial orders, which the first one alone cannot absorb
    seconds = [start[1:]] if len(free) < 2 else [
        (start[1] * f, *start[2:]) for f in 1 + np.linspace(-_SECOND_RANGE, _SECOND_RANGE, _SECOND_STEPS)]
    for others in seconds:
        candidates += _scan(model, free, start[0], others, peaks, tolerance_nm, search_range)
    candidates = [v for _, v in sorted(candidates)[:_MAX_CANDIDATES + 2 * (len(free) > 1)]]
    solutions: dict[tuple, Solution] = {}
    for values in candidates:
        try:
            sol = _refine(model, free, values, peaks, peak_errors_nm, tolerance_nm)
        except (_OutOfDomain, SolverError) as exc:
            log.info("fit: candidate %s abandoned (%s)", values, exc)
            continue
        if sol.labels not in solutions or sol.cost_nm2 < solutions[sol.labels].cost_nm2:
            solutions[sol.labels] = sol
        log.info("fit: candidate %s -> %s, rms %.4g nm, %d/%d assigned", _fmt(values),
                 _fmt(sol.values), sol.rms_residual_nm, sol.n_assigned, len(peaks))
    if not solutions:
        raise SolverError("no assignment of the peaks could be fitted; widen --search-range or check the config")
    ranked = sorted(solutions.values(), key=lambda s: (s.cost_nm2, -s.n_assigned))
    best = ranked[0]
    cfg = model.config(best.values)
    from wgm.exact.solver import solve

    spectrum = solve(cfg.resonator, Search(model.band, model.max_q, model.pols))
    next_best = ranked[1] if len(ranked) > 1 else None
    notes = best.warnings + fit_quality_warnings(best, next_best, tolerance_nm, peak_errors_nm)
    for note in notes:
        log.warning("fit: warning: %s", note)
    return FitResult(free, best, next_best, tolerance_nm, spectrum, cfg, source, notes)


def _delta_chi2(best: Solution, other: Solution) -> float:
    """How much more ``other`` costs than ``best``, in units of ``best``'s residual variance."""
    gap = other.cost_nm2 - best.cost_nm2
    var = best.rms_residual_nm ** 2
    if var > 0 and math.isfinite(var):
        return gap / var
    return math.inf if gap > 0 else 0.0


def fit_quality_warnings(best: Solution, next_best: Solution | None, tolerance_nm: float,
                         peak_errors_nm=None) -> tuple[str, ...]:
    """Why a fit is poor or ambiguous, by the named criteria (``POOR_*``, ``AMBIGUOUS_*``
    above); empty for a good fit."""
    out = []
    rms, n = best.rms_residual_nm, len(best.assignments)
    errs = np.asarray([e for e in (peak_errors_nm or []) if e is not None], dtype=float)
    errs = errs[np.isfinite(errs) & (errs > 0)]
    if len(errs) and rms > POOR_RMS_PER_ERROR * float(np.median(errs)):
        out.append(f"poor fit: rms residual {1000 * rms:.3g} pm is {rms / float(np.median(errs)):.3g}× the median "
                   f"peak-position error {1000 * float(np.median(errs)):.3g} pm (limit {POOR_RMS_PER_ERROR:g}×): "
                   "the model does not reproduce the peaks (missing free parameter, wrong material or shape?)")
    if rms > POOR_RMS_OF_TOLERANCE * tolerance_nm:
        out.append(f"poor fit: rms residual {1000 * rms:.3g} pm is {rms / tolerance_nm:.2f} of the tolerance "
                   f"{tolerance_nm:.3g} nm (limit {POOR_RMS_OF_TOLERANCE:g})")
    if best.n_assigned < POOR_ASSIGNED_FRACTION * n:
        out.append(f"poor fit: only {best.n_assigned} of {n} peaks assigned to a mode "
                   f"(limit {POOR_ASSIGNED_FRACTION:.0%})")
    if next_best is not None:
        gap = _delta_chi2(best, next_best)
        if gap < AMBIGUOUS_DELTA_CHI2:
            ratio = next_best.cost_nm2 / best.cost_nm2 if best.cost_nm2 > 0 else math.inf
            out.append(f"ambiguous fit: the next-best assignment ({_fmt(next_best.values)}, rms "
                       f"{1000 * next_best.rms_residual_nm:.3g} pm, cost {ratio:.3g}× the best's) is worse by only "
                       f"{gap:.3g} times the best's rms² (limit {AMBIGUOUS_DELTA_CHI2:g}): the labels are not "
                       "established")
    return tuple(out)


def _fmt(values) -> str:
    return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"


def default_tolerance_nm(modes, peaks_nm, peak_errors_nm=None) -> float:
    """A fifth of the median spacing of the model's lines within the measured range (a peak
    farther than that from every line is better called spurious), at least 3 peak errors."""
    peaks = np.sort(np.asarray(peaks_nm, dtype=float))
    lam = np.sort([m.wavelength_nm for m in modes])
    lam = lam[(lam > peaks[0]) & (lam < peaks[-1])]
    spacing = float(np.median(np.diff(lam))) if len(lam) > 2 else float(peaks[-1] - peaks[0]) / max(len(peaks), 1)
    tol = 0.2 * spacing
    errs = np.asarray(peak_errors_nm if peak_errors_nm is not None else [], dtype=float)
    errs = errs[np.isfinite(errs)]
    if len(errs):
        tol = max(tol, 3.0 * float(np.median(errs)))
    return tol


def _scan(model, free, p0, others, peaks, tol, search_range) -> list[tuple]:
    """Candidates ``(cost, parameter vector)``: the deepest minima of the truncated
    peak-to-line cost over the first free parameter around ``p0`` (the others fixed)."""
    start = (p0, *others)
    n_half = max(2, math.ceil(search_range / _COARSE_STEP))
    coarse = p0 * (1 + np.linspace(-search_range, search_range, 2 * n_half + 1))
    tracks: dict[tuple, np.ndarray] = {}
    for i, p in enumerate(coarse):
        try:
            spec = model.spectrum((p, *start[1:]))
        except (_OutOfDomain, SolverError):
            continue
        for m in spec.modes:
            tracks.setdefault((m.polarization, m.l, m.radial_order), np.full(len(coarse), np.nan))[i] = m.wavelength_nm
    if not tracks:
        raise SolverError("no modes near the measured peaks over the scanned range")
    lam = np.array(list(tracks.values()))                      # (tracks, coarse)
    slope = np.nanmax(np.abs(np.diff(lam, axis=1))) / (coarse[1] - coarse[0])
    n_fine = int(min(200_000, max(200, (coarse[-1] - coarse[0]) * slope / (tol / 4))))
    fine = np.linspace(coarse[0], coarse[-1], n_fine)
    # each track linearly between coarse points where it exists on both sides (NaN elsewhere)
    idx = np.clip(np.searchsorted(coarse, fine) - 1, 0, len(coarse) - 2)
    w = (fine - coarse[idx]) / (coarse[idx + 1] - coarse[idx])
    cost = np.zeros(n_fine)
    for chunk in np.array_split(np.arange(n_fine), max(1, n_fine // 2000)):
        lines = lam[:, idx[chunk]] * (1 - w[chunk]) + lam[:, idx[chunk] + 1] * w[chunk]   # (tracks, chunk)
        d2 = np.nanmin((lines[None, :, :] - peaks[:, None, None]) ** 2, axis=1, initial=np.inf)
        cost[chunk] = _truncated(d2, tol).sum(axis=0)
    # local minima, deepest first, at least one coarse step apart
    is_min = np.r_[True, cost[1:-1] <= cost[:-2], True] & np.r_[True, cost[1:-1] <= cost[2:], True]
    picks: list[tuple] = []
    for i in np.flatnonzero(is_min)[np.argsort(cost[is_min])]:
        if all(abs(fine[i] - q) > 0.25 * (coarse[1] - coarse[0]) for _, (q, *_r) in picks):
            picks.append((float(cost[i]), (float(fine[i]), *others)))
        if len(picks) == _MAX_CANDIDATES:
            break
    log.info("fit: scanned %s over %.6g-%.6g (%d values%s): candidates %s", free[0].key, coarse[0], coarse[-1],
             n_fine, "".join(f", {p.key} = {v:.6g}" for p, v in zip(free[1:], others)),
             ", ".join(f"{v[0]:.6g}" for _, v in picks))
    return picks


def _refine(model, free, values, peaks, errs, tol) -> Solution:
    """Assign, fit the free parameters with the labels fixed, re-assign; until stable.

    The returned assignments, residuals and cost are always those of the returned values.
    When the rounds run out (the last refit moved the parameters and the assignment at the
    new values has not been checked), the peaks are assigned once more at the final values and
    the solution says so in ``warnings``; if that assignment differs from the one fitted, the
    values are not a least-squares solution for it and no standard errors are given."""
    values = tuple(values)
    sigma = np.ones(len(peaks)) if errs is None else np.asarray(errs, dtype=float)
    good = np.isfinite(sigma) & (sigma > 0)
    sigma = np.where(good, sigma, np.median(sigma[good]) if good.any() else 1.0)
    scale = np.array([abs(v) for v in values])
    previous = None
    fitted = None          # (labels, least_squares result) of the last refit
    notes: list[str] = []
    tol_now = tol
    for _ in range(_MAX_REASSIGN):
        assigned = assign(peaks, model.spectrum(values).modes, tol_now, errs)
        labels = tuple(a.label for a in assigned)
        use = [i for i, a in enumerate(assigned) if a.label is not None]
        if len(use) <= len(free):
            break  # too few assigned peaks to fit: keep these values
        if labels == previous:
            # converged; now that the fit is good, a peak far outside the spread of the
            # others is better called unassigned than forced onto a mode: tighten and refit
            r = np.abs([assigned[i].residual_nm for i in use])
            tight = max(_OUTLIER_SIGMAS * 1.4826 * float(np.median(r)), _TOL_FLOOR * tol,
                        3.0 * float(np.median(sigma)) if errs is not None else 0.0)
            if tight >= tol_now or not (r > tight).any():
                break
            tol_now = tight
            continue
        previous = labels
        fun = _residual_function(model, [assigned[i].label for i in use], peaks[use], sigma[use])
        res = least_squares(fun, np.array(values), x_scale=scale, diff_step=1e-7, method="lm")
        values = tuple(float(v) for v in res.x)
        fitted = (labels, res)
    else:
        # the rounds ran out after a refit (or a tightening): assign at the final values
        assigned = assign(peaks, model.spectrum(values).modes, tol_now, errs)
        labels = tuple(a.label for a in assigned)
        use = [i for i, a in enumerate(assigned) if a.label is not None]
        changed = fitted is None or labels != fitted[0]
        notes.append(f"the peak assignment did not settle in {_MAX_REASSIGN} assign/refit rounds (start "
                     f"{_fmt(values)}): assignments and residuals are those at the returned values"
                     + ("; they differ from the assignment fitted, so no standard errors" if changed else ""))
        log.info("fit: %s", notes[-1])
    r = np.array([a.residual_nm for a in assigned if a.residual_nm is not None])
    rms = float(np.sqrt(np.mean(r ** 2))) if len(r) else math.inf
    stderr: tuple = tuple(None for _ in values)
    if fitted is not None and fitted[0] == labels and len(use) > len(values):
        # covariance from least_squares' Jacobian at the solution, scaled by the residual
        # (the peak errors, if given, fix only the relative weights)
        res = fitted[1]
        try:
            cov = np.linalg.inv(res.jac.T @ res.jac) * float(np.sum(res.fun ** 2)) / (len(use) - len(values))
            stderr = tuple(float(math.sqrt(c)) if c >= 0 else None for c in np.diag(cov))
        except np.linalg.LinAlgError:
            pass
    return Solution(values, stderr, assigned, _cost(assigned, tol), rms, tuple(notes))


def _residual_function(model, labels, measured, sigma):
    def fun(v):
        try:
            return (model.lines(tuple(v), labels) - measured) / sigma
        except (_OutOfDomain, SolverError):
            return np.full(len(measured), 1e6)  # outside the config's domain: far off
    return fun
