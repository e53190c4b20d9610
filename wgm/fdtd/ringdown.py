"""One simulation's ring-down: a pulse, the field sampled at the monitor points every time step,
Harminv analyses in chunks until the lines are known to the stated accuracy, DFT fields at the
lines' frequencies, and the bookkeeping of the lines from one analysis to the next (one-to-one:
two lines are never followed to one estimate).  Lines seen and then lost (transients, lines
under the amplitude cut) are returned as :class:`DroppedLine` records, never dropped silently.
Progress goes to ``logging`` with an estimate of the remaining time from the measured stepping
rate."""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from wgm import units
from wgm.errors import SolverError
from wgm.fdtd import meep_model as mm
from wgm.fdtd.analysis import MAX_DECAY_OVER_RECORD
from wgm.fdtd.meep_model import COMPONENTS, PULSE_CUTOFF, HarminvLine
from wgm.fdtd.plan import FdtdPlan

__all__ = ["DftField", "RingdownLine", "DroppedLine", "RunEstimate", "estimate_remaining", "ringdown",
           "same_line", "harminv_points", "merge_monitors", "follow", "line_done", "leakage"]

log = logging.getLogger(__name__)

_BROADBAND_PERIODS = 60  # ring-down before the lines are located (periods at the band centre)
_CHUNK_PERIODS = 40  # ring-down added between two Harminv analyses
_HARMINV_SHARE = 0.2  # a line is done when Harminv's error is below this fraction of the stated
#                       accuracy (the rest is the grid's) ...
_AGREE_SHARE = 0.5  # ... and two consecutive analyses agree within this fraction of it (Harminv's error
#                     bars are optimistic: the flagship's weak TE1 l = 30 line scatters by 1-2 % in Q
#                     between analyses with err/|Im f| = 3e-4)
_DONE_EFOLDS = 20  # nothing more to learn once a line has rung down (or grown) by this many e-folds
_MERGE_ERRS = 3.0  # one line at two monitors: estimates closer than this many error bars ...
_MERGE_WIDTH = 0.5  # ... or this fraction of the wider |Im f| (never beyond half the gap to a neighbour):
#                     early in a ring-down Harminv's error bars are optimistic (flagship TM1 l = 29 at
#                     t = 77: the two monitors' estimates 1.9e-5 apart, 25x their error bars, |Im f| 1.2e-4)
_WEAK_EXTRA_CHUNKS = 8  # extra ring-down chunks granted to weak lines of the band before a narrow-band
#                         pass (which costs ~700 periods: a pulse of 6/df with df = 1 % of f, then the ring-down)
_MUST_SETTLE_AMP = 0.02  # lines at least this fraction of the strongest must settle in the broadband run
_VANISHED_AFTER = 3  # a line missing from this many analyses in a row (at the end) is a transient
_PROGRESS_EVERY_S = 10.0  # wall-clock seconds between two progress messages


@dataclass(frozen=True)
class DftField:
    """The DFT field of one line on the (r, z) plane: Meep arrays by component name, and ε."""

    fields: dict
    eps: object


@dataclass(frozen=True)
class RingdownLine:
    """One line of a ring-down: its last Harminv estimate, whether it settled (known to the
    stated accuracy, :func:`line_done`), its DFT field and ``leakage``, the estimated share of
    that field that is really its neighbours'.  ``t_record`` is the length of the analysed
    record (time units) and ``decay_spread`` the change of ``Im f`` between the last two
    analyses that saw the line (inf if only one did)."""

    line: HarminvLine
    settled: bool
    field: DftField
    leakage: float
    t_record: float = math.inf
    decay_spread: float = 0.0


@dataclass(frozen=True)
class DroppedLine:
    """A line a ring-down saw but does not return: ``reason`` is ``"amplitude-cut"`` (weaker than
    Harminv's relative-amplitude cut, :data:`wgm.fdtd.meep_model.MIN_REL_AMP`) or ``"transient"``
    (seen when the lines were located, not in the last analyses)."""

    freq: float
    decay: float
    reason: str


@dataclass(frozen=True)
class RunEstimate:
    """Remaining wall time of a run, estimated from the measured stepping rate.

    ``to_earliest_stop_s``: until the earliest time the run can stop (it stops once Harminv's
    lines settle, usually soon after); ``to_limit_s``: until the time limit (``max_periods``),
    an upper bound; ``rate``: simulated time units per wall-clock second."""

    rate: float
    to_earliest_stop_s: float
    to_limit_s: float


def estimate_remaining(t_now: float, t_start: float, wall_s: float, t_earliest: float,
                       t_limit: float) -> RunEstimate | None:
    """Remaining wall time, from the simulated time ``t_now − t_start`` stepped in ``wall_s``
    seconds (time stepping only: building the model is not counted), to the simulated times
    ``t_earliest`` and ``t_limit``.  None before anything has been measured."""
    stepped = t_now - t_start
    if stepped <= 0 or wall_s <= 0:
        return None
    rate = stepped / wall_s
    return RunEstimate(rate, max(t_earliest - t_now, 0.0) / rate, max(t_limit - t_now, 0.0) / rate)


class _Recorder:
    """Samples the field at the monitor points every time step, checks for blow-up, logs progress.

    ``step`` is the Meep step function (Meep inspects a plain function's argument count).
    """

    def __init__(self, component, points, label):
        self.component, self.points, self.label = component, points, label
        self.samples = [[] for _ in points]
        self.t_first = None
        self.t_last = None
        self.wall_first = None
        self.last_log = time.monotonic()
        self.t_earliest = None  # simulated time of the earliest stop ...
        self.t_limit = None  # ... and of the time limit

        def step(sim):
            t = sim.meep_time()
            # Meep also calls step functions when a new run() starts: one sample per time
            # step only, or Harminv sees a non-uniform series and reports spurious lines
            if self.t_last is not None and t <= self.t_last + 1e-9:
                return
            self.t_last = t
            v = [sim.get_field_point(self.component, p) for p in self.points]
            if self.t_first is None:
                self.t_first, self.wall_first = t, time.monotonic()
            for series, value in zip(self.samples, v):
                series.append(value)
            if not np.all(np.isfinite(v)):
                raise SolverError(
                    f"{self.label}: fields blew up (NaN/Inf) at t = {t:.4g}; likely causes: a "
                    f"source within |m| pixels of the axis, a Courant factor too large for the materials, or gain")
            now = time.monotonic()
            if now - self.last_log > _PROGRESS_EVERY_S and self.t_limit:
                est = estimate_remaining(t, self.t_first, now - self.wall_first, self.t_earliest, self.t_limit)
                if est is not None:
                    log.info("fdtd %s: t = %.1f, stepping %.3g time units/s; estimate: %.0f s to the earliest "
                             "stop (the run ends once the lines settle), at most %.0f s (max_periods)",
                             self.label, t, est.rate, est.to_earliest_stop_s, est.to_limit_s)
                self.last_log = now

        self.step = step


def harminv_points(series, dt, f_lo, f_hi, weak=None) -> list[HarminvLine]:
    """Lines seen at any monitor point (:func:`merge_monitors`); lines under the amplitude cut
    at every monitor are appended to ``weak`` (a list) when given."""
    per = []
    cut = []
    for samples in series:
        w = [] if weak is not None else None
        per.append(mm.harminv(samples, dt, f_lo, f_hi, weak=w))
        cut.append(w or [])
    lines = merge_monitors(per)
    if weak is not None:
        for ln in merge_monitors(cut):
            if not any(_near(ln, o) for o in lines):
                weak.append(ln)
    return lines


def _dist(a: HarminvLine, b: HarminvLine) -> float:
    """Distance of two complex frequencies ``f + i Im f``."""
    return abs(complex(a.freq - b.freq, a.decay - b.decay))


def _near(a: HarminvLine, b: HarminvLine) -> bool:
    return _dist(a, b) <= max(_MERGE_ERRS * (a.err + b.err), _MERGE_WIDTH * max(abs(a.decay), abs(b.decay)))


def merge_monitors(per_monitor) -> list[HarminvLine]:
    """One list of lines from the lists of several monitor points.

    Lines of one monitor are never merged (Harminv resolved them).  A line of another monitor
    joins a line already listed only when the two are each other's nearest (in complex
    frequency), their estimates agree within ``_MERGE_ERRS`` error bars or ``_MERGE_WIDTH`` of
    the wider ``|Im f|``, and they are closer than half the gap to any other line of either
    list: so two distinct lines resolved by either monitor are never joined.  A joined line
    keeps the estimate with the smaller error and the larger amplitude."""
    merged: list[HarminvLine] = []
    for lines in per_monitor:
        lines = list(lines)
        if not merged:
            merged = lines
            continue
        joined = {}
        for j, b in enumerate(lines):
            if not merged:
                break
            i = min(range(len(merged)), key=lambda k: _dist(merged[k], b))
            a = merged[i]
            if min(range(len(lines)), key=lambda k: _dist(lines[k], a)) != j or not _near(a, b):
                continue
            gap = min([_dist(a, o) for k, o in enumerate(merged) if k != i]
                      + [_dist(b, o) for k, o in enumerate(lines) if k != j] + [math.inf])
            if _dist(a, b) < 0.5 * gap:
                joined[j] = i
        new = list(merged)
        for j, b in enumerate(lines):
            if j not in joined:
                new.append(b)
                continue
            a = merged[joined[j]]
            best = b if b.err < a.err else a
            amp = b.amp if abs(b.amp) > abs(a.amp) else a.amp
            new[joined[j]] = dataclasses.replace(best, amp=amp)
        merged = new
    return sorted(merged, key=lambda c: c.freq)


def leakage(i, lines, t_dft) -> float:
    """Estimated share of line i's DFT that is really its neighbours' Lorentzian tails."""
    li = lines[i]
    leak = 0.0
    for j, lj in enumerate(lines):
        if j != i:
            width = abs(lj.decay) / (2 * math.pi) + 1.0 / max(t_dft, 1e-9)
            leak += abs(lj.amp) / math.hypot(1.0, (li.freq - lj.freq) / width)
    return leak / max(abs(li.amp), 1e-300)


def same_line(a: HarminvLine, b: HarminvLine) -> bool:
    """Two Harminv estimates (two analyses, or two passes) that may be one line: complex
    frequencies closer than ten error bars, a quarter of the wider linewidth or 10⁻⁶ f.

    A gate, not an identification: a neighbour closer than that (two lines within a quarter
    of a linewidth, in Re f and Im f alike) is told apart by :func:`follow`, which assigns
    every line at most one estimate.  Real neighbours as close as TE2 l = 26 (Q 269) and
    TE1 l = 31 (Q 1.8×10⁴) of the flagship sphere, 0.45 nm apart, are not one line."""
    return _dist(a, b) <= max(10 * (a.err + b.err), 0.25 * max(abs(a.decay), abs(b.decay)), 1e-6 * a.freq)


def _may_follow(p: HarminvLine, c: HarminvLine) -> bool:
    """The gate of :func:`follow`: Re f within the two lines' widths, ten error bars or 10⁻⁵ f
    (loose: a line located early, from a short record, can be far off its later estimate)."""
    return abs(p.freq - c.freq) <= max(2 * (abs(p.decay) + abs(c.decay)), 10 * (p.err + c.err), 1e-5 * p.freq)


def follow(previous, found) -> dict:
    """One-to-one assignment of the new analysis ``found`` to the lines followed so far
    (``previous``: index -> last estimate): {index: position in ``found``}.  Pairs within a
    loose gate are taken nearest first in complex frequency, so one estimate never stands for
    two lines and a neighbour within the linewidth (of another Q) keeps its own estimate."""
    pairs = sorted((_dist(p, c), i, j) for i, p in previous.items() for j, c in enumerate(found) if _may_follow(p, c))
    out, used = {}, set()
    for _, i, j in pairs:
        if i not in out and j not in used:
            out[i] = j
            used.add(j)
    return out


def line_done(cur: HarminvLine, prev: HarminvLine | None, accuracy_wavelength: float, accuracy_q: float,
              t_record: float = math.inf) -> bool:
    """The line's wavelength and Q are known to the stated accuracy: Harminv's error is below
    ``_HARMINV_SHARE`` of it in f (relative: the wavelength's accuracy) and in Im f (relative:
    Q's), the previous analysis agreed within ``_AGREE_SHARE`` of it, and the analysed record
    ``t_record`` is long enough for the decay to count as resolved
    (:data:`wgm.fdtd.analysis.MAX_DECAY_OVER_RECORD`)."""
    if prev is None or cur.decay == 0 or 2 * math.pi * abs(cur.decay) * MAX_DECAY_OVER_RECORD * t_record < 1:
        return False
    tol_f = accuracy_wavelength * cur.freq
    tol_d = accuracy_q * abs(cur.decay)
    return (cur.err <= _HARMINV_SHARE * min(tol_f, tol_d) and abs(cur.freq - prev.freq) <= _AGREE_SHARE * tol_f
            and abs(cur.decay - prev.decay) <= _AGREE_SHARE * tol_d)


def ringdown(res, pl: FdtdPlan, m: int, component: str, parity: int, label: str, max_periods: float,
             fcen=None, df=None, target=None, accuracy_wavelength: float = 1e-3, accuracy_q: float = 0.05,
             dropped: list | None = None) -> list[RingdownLine]:
    """One simulation: a pulse, then the ring-down analysed in chunks until the lines that
    matter are known to the stated accuracy (:func:`line_done`), or ``max_periods``.

    The lines are located by Harminv after a first stretch of ring-down; DFT monitors at
    their frequencies are added then, so the field profiles integrate the pure ring-down.
    Every chunk, Harminv analyses the whole record over the band; the lines are followed to
    the new analysis one-to-one (:func:`follow`).

    The lines that matter: with ``target`` (a narrow-band pass) the line nearest that
    frequency; otherwise every line in the band ``[pl.f_lo, pl.f_hi]`` at least
    ``_MUST_SETTLE_AMP`` as strong as the strongest there (weaker lines get narrow-band passes
    of their own; lines in the margin around the band are followed but do not hold the run).
    A line missing from the last ``_VANISHED_AFTER`` analyses is a transient of the pulse: it
    is not returned but appended to ``dropped`` (a list of :class:`DroppedLine`, when given),
    as are the lines of the last analysis under Harminv's amplitude cut.
    """
    f_lo, f_hi = pl.f_lo, pl.f_hi
    if fcen is None:
        fcen, df = pl.f_centre, 1.3 * (f_hi - f_lo) + 0.05 * pl.f_centre
    sim = mm.simulation(res, pl, m, component, fcen, df, parity)
    dt = 0.5 / pl.resolution  # Meep's Courant factor 0.5
    # Sample every step: the grid carries content up to ~1/(π Δt), which decimation would
    # alias into the band (seen as spurious lines); Harminv on 1e4-1e5 samples is cheap.
    rec = _Recorder(mm.component(component), mm.monitor_points(pl, m), label)
    t_src = 2 * PULSE_CUTOFF / df
    locate = _BROADBAND_PERIODS / pl.f_centre
    rec.t_earliest = t_src + locate + 2 * _CHUNK_PERIODS / pl.f_centre
    rec.t_limit = t_src + locate + max_periods / pl.f_centre
    n_min = rec.t_earliest / dt
    log.info("fdtd %s: %d cells, at least %.0f steps (%.2g cell updates); ring-down until the lines are known "
             "to %.2g in wavelength and %.2g in Q", label, pl.cells, n_min, n_min * pl.cells,
             accuracy_wavelength, accuracy_q)
    mm.init_sim(sim)
    sim.run(until=t_src)
    sim.run(rec.step, until=locate)
    sdt = sim.fields.dt
    in_margin = lambda ln: 0.995 * f_lo <= ln.freq <= 1.005 * f_hi  # noqa: E731
    weak: list[HarminvLine] = []
    lines = [ln for ln in harminv_points(rec.samples, sdt, 0.97 * f_lo, 1.03 * f_hi, weak) if in_margin(ln)]
    if not lines:
        if dropped is not None:
            dropped.extend(DroppedLine(w.freq, w.decay, "amplitude-cut") for w in weak if in_margin(w))
        return []
    comps = [mm.component(c) for c in COMPONENTS]
    dfts = [sim.add_dft_fields(comps, ln.freq, 0, 1, where=mm.dft_volume(pl)) for ln in lines]
    t_dft0 = sim.meep_time()
    prev = {i: None for i in range(len(lines))}
    best = {i: ln for i, ln in enumerate(lines)}
    spread = {i: math.inf for i in range(len(lines))}  # |Δ Im f| between the last two sightings
    settled = {i: False for i in range(len(lines))}
    missing = {i: 0 for i in range(len(lines))}  # consecutive analyses (to the last) that did not see the line
    in_band = [i for i, ln in enumerate(lines) if f_lo <= ln.freq <= f_hi]
    top_amp = max([abs(lines[i].amp) for i in in_band] + [0.0])
    pending: list[HarminvLine] = []  # lines of the last analysis followed by none
    if target is not None:
        must = {min(range(len(lines)), key=lambda i: abs(lines[i].freq - target))}
    else:
        must = {i for i in in_band if abs(lines[i].amp) >= _MUST_SETTLE_AMP * top_amp}
    t_limit = sim.meep_time() + max_periods / pl.f_centre
    chunk = _CHUNK_PERIODS / pl.f_centre
    extra = 0  # chunks spent on weak lines after the strong ones settled (cheaper than a new pass)
    analyses = 0
    transient = lambda i: missing[i] >= min(_VANISHED_AFTER, max(analyses, 2))  # noqa: E731
    while sim.meep_time() < t_limit:
        if all(settled[i] or transient(i) for i in must):
            weak_open = [i for i in best if f_lo <= best[i].freq <= f_hi and not (settled[i] or transient(i))]
            if target is not None or not weak_open or extra >= _WEAK_EXTRA_CHUNKS:
                break
            extra += 1
        sim.run(rec.step, until=chunk)
        elapsed = sim.meep_time() - rec.t_first
        weak = []
        found = harminv_points(rec.samples, sdt, 0.97 * f_lo, 1.03 * f_hi, weak)
        analyses += 1
        log.debug("fdtd %s: t = %.1f: %s", label, sim.meep_time(),
                  ", ".join(f"{units.wavelength_nm_from_freq(c.freq):.4f} nm Q {c.Q:.4g} err {c.err:.1e} |a| {abs(c.amp):.2g}"
                            for c in found))
        # only lines of the band and its margin are followed (a broad line located early would
        # otherwise take the lines beyond, and hold the run to max_periods)
        near = [c for c in found if in_margin(c)]
        seen = {i: found.index(near[j]) for i, j in follow(best, near).items()}
        log.debug("fdtd %s: followed %s", label, ", ".join(
            f"{units.wavelength_nm_from_freq(best[i].freq):.4f}{'*' if i in must else ''}:"
            f"{'done' if settled[i] else 'seen' if i in seen else f'missing {missing[i] + 1}'}" for i in best))
        # a line of the band seen in two analyses in a row but followed by none (located badly,
        # or rising late): followed from now on, with a DFT monitor of its own
        fresh = [c for j, c in enumerate(found) if j not in seen.values() and in_margin(c)]
        for c in fresh:
            if any(same_line(c, q) for q in pending):
                i = len(lines)
                lines.append(c)
                dfts.append(sim.add_dft_fields(comps, c.freq, 0, 1, where=mm.dft_volume(pl)))
                best[i], prev[i], spread[i], settled[i], missing[i] = c, None, math.inf, False, 0
                seen[i] = found.index(c)
                if target is None and f_lo <= c.freq <= f_hi and abs(c.amp) >= _MUST_SETTLE_AMP * top_amp:
                    must.add(i)
                log.debug("fdtd %s: following a new line at %.4f nm", label, units.wavelength_nm_from_freq(c.freq))
        pending = [c for c in fresh if not any(same_line(c, best[i]) for i in best)]
        for i in range(len(lines)):
            if i not in seen:
                # not seen in this analysis: keep the previous estimate (a line missing from the
                # last _VANISHED_AFTER analyses is a transient and does not hold the run)
                missing[i] += 1
                continue
            cur = found[seen[i]]
            missing[i] = 0
            best[i] = cur
            p = prev[i]
            if p is not None:
                spread[i] = abs(cur.decay - p.decay)
            if (line_done(cur, p, accuracy_wavelength, accuracy_q, elapsed)
                    or 2 * math.pi * abs(cur.decay) * elapsed > _DONE_EFOLDS):
                settled[i] = True
            prev[i] = cur
    if any(d.swigobj is None for d in dfts):
        # a line followed from the last analysis on: Meep creates its DFT monitor at the next
        # run() only (an empty monitor has no field): one more chunk of ring-down for it
        sim.run(rec.step, until=chunk)
    t_record = sim.meep_time() - rec.t_first
    log.info("fdtd %s: ring-down of %.0f periods, %d line(s), %d known to the stated accuracy", label,
             (sim.meep_time() - t_src) * pl.f_centre, len(lines), sum(settled.values()))
    eps = sim.get_array(component=mm.component("Dielectric"), vol=mm.dft_volume(pl))
    t_dft = sim.meep_time() - t_dft0
    gone = [i for i in range(len(lines)) if not settled[i] and transient(i)]
    # a transient within the width of a line kept was an early second estimate of that line
    doubles = {i for i in gone if any(abs(best[i].freq - best[k].freq) <= abs(best[i].decay) + abs(best[k].decay)
                                      for k in range(len(lines)) if k not in gone)}
    if gone:
        log.info("fdtd %s: %d transient line(s) left out (seen when the lines were located, not after): %s", label,
                 len(gone), ", ".join(f"{units.wavelength_nm_from_freq(best[i].freq):.3f} nm" for i in gone))
    kept = [i for i in range(len(lines)) if i not in gone]
    kept_final = [best[i] for i in kept]
    if dropped is not None:
        dropped.extend(DroppedLine(best[i].freq, best[i].decay, "transient") for i in gone if i not in doubles)
        dropped.extend(DroppedLine(w.freq, w.decay, "amplitude-cut") for w in weak
                       if in_margin(w) and not any(same_line(w, k) for k in kept_final))
    out = []
    for k, i in enumerate(kept):
        fields = {c: sim.get_dft_array(dfts[i], mm.component(c), 0) for c in COMPONENTS}
        out.append(RingdownLine(best[i], settled[i], DftField(fields, eps), leakage(k, kept_final, t_dft),
                                t_record, spread[i]))
    return out
