"""One simulation's ring-down: a pulse, the field sampled at the monitor points every time step,
Harminv analyses in chunks until the lines settle, DFT fields at the lines' frequencies, and the
bookkeeping of the lines from one analysis to the next.  Progress goes to ``logging`` with an
estimate of the remaining time from the measured stepping rate."""

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
from wgm.fdtd.meep_model import COMPONENTS, PULSE_CUTOFF, HarminvLine
from wgm.fdtd.plan import FdtdPlan

__all__ = ["DftField", "RingdownLine", "RunEstimate", "estimate_remaining", "ringdown", "same_line",
           "harminv_points", "leakage"]

log = logging.getLogger(__name__)

_BROADBAND_PERIODS = 60  # ring-down before the lines are located (periods at the band centre)
_CHUNK_PERIODS = 40  # ring-down added between two Harminv analyses
_SETTLE_REL_Q = 0.01  # Q settled: relative change below this between two analyses ...
_SETTLE_REL_F = 1e-6  # ... and frequency change below this
_WEAK_EXTRA_CHUNKS = 4  # extra ring-down chunks granted to weak lines before a narrow-band pass
_MUST_SETTLE_AMP = 0.02  # lines at least this fraction of the strongest must settle in the broadband run
_VANISHED_AFTER = 3  # a strong line missing from this many analyses in a row is a transient
_PROGRESS_EVERY_S = 10.0  # wall-clock seconds between two progress messages


@dataclass(frozen=True)
class DftField:
    """The DFT field of one line on the (r, z) plane: Meep arrays by component name, and ε."""

    fields: dict
    eps: object


@dataclass(frozen=True)
class RingdownLine:
    """One line of a ring-down: its last Harminv estimate, whether it settled, its DFT field and
    ``leakage``, the estimated share of that field that is really its neighbours'."""

    line: HarminvLine
    settled: bool
    field: DftField
    leakage: float


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


def harminv_points(series, dt, f_lo, f_hi) -> list[HarminvLine]:
    """Lines seen at any monitor point; a line seen at several keeps the estimate with the
    smallest error, and its largest amplitude."""
    merged: list[HarminvLine] = []
    for samples in series:
        for ln in mm.harminv(samples, dt, f_lo, f_hi):
            # one line seen at two points: closer than its linewidth or the two error bars
            k = next((i for i, o in enumerate(merged) if abs(o.freq - ln.freq) < max(
                1e-4 * ln.freq, 3 * (o.err + ln.err), 0.5 * (abs(o.decay) + abs(ln.decay)))), None)
            if k is None:
                merged.append(ln)
                continue
            twin = merged[k]
            if ln.err < twin.err:
                amp = ln.amp if abs(ln.amp) >= abs(twin.amp) else twin.amp
                merged[k] = dataclasses.replace(ln, amp=amp)
            elif abs(ln.amp) > abs(twin.amp):
                merged[k] = dataclasses.replace(twin, amp=ln.amp)
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
    """Two Harminv estimates of one line: closer than their widths or error bars."""
    return abs(a.freq - b.freq) <= max(2 * (abs(a.decay) + abs(b.decay)), 10 * (a.err + b.err), 1e-5 * a.freq)


def ringdown(res, pl: FdtdPlan, m: int, component: str, parity: int, label: str, max_periods: float,
             fcen=None, df=None, target=None) -> list[RingdownLine]:
    """One simulation: a pulse, then the ring-down analysed in chunks until every line settles.

    The lines are located by Harminv after a first stretch of ring-down; DFT monitors at
    their frequencies are added then, so the field profiles integrate the pure ring-down.
    Every chunk, Harminv analyses the whole record over the band; each line is followed to
    the nearest line of the new analysis.

    The run stops when the lines that matter have settled: with ``target`` (a narrow-band
    pass) the line nearest that frequency; otherwise every line at least ``_MUST_SETTLE_AMP``
    as strong as the strongest (weaker lines get narrow-band passes of their own).
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
    log.info("fdtd %s: %d cells, at least %.0f steps (%.2g cell updates); ring-down until Harminv settles",
             label, pl.cells, n_min, n_min * pl.cells)
    mm.init_sim(sim)
    sim.run(until=t_src)
    sim.run(rec.step, until=locate)
    sdt = sim.fields.dt
    lines = [ln for ln in harminv_points(rec.samples, sdt, 0.97 * f_lo, 1.03 * f_hi)
             if 0.995 * f_lo <= ln.freq <= 1.005 * f_hi]
    if not lines:
        return []
    comps = [mm.component(c) for c in COMPONENTS]
    dfts = [sim.add_dft_fields(comps, ln.freq, 0, 1, where=mm.dft_volume(pl)) for ln in lines]
    t_dft0 = sim.meep_time()
    prev = {i: None for i in range(len(lines))}
    best = {i: ln for i, ln in enumerate(lines)}
    settled = {i: False for i in range(len(lines))}
    missing = {i: 0 for i in range(len(lines))}  # consecutive analyses that did not see the line
    vanished = set()  # strong when located, then gone: a transient of the pulse, not a mode
    if target is not None:
        must = {min(range(len(lines)), key=lambda i: abs(lines[i].freq - target))}
    else:
        top = max(abs(ln.amp) for ln in lines)
        must = {i for i, ln in enumerate(lines) if abs(ln.amp) >= _MUST_SETTLE_AMP * top}
    t_limit = sim.meep_time() + max_periods / pl.f_centre
    chunk = _CHUNK_PERIODS / pl.f_centre
    extra = 0  # chunks spent on weak lines after the strong ones settled (cheaper than a new pass)
    while sim.meep_time() < t_limit:
        if all(settled[i] or i in vanished for i in must):
            if all(settled.values()) or extra >= _WEAK_EXTRA_CHUNKS:
                break
            extra += 1
        sim.run(rec.step, until=chunk)
        elapsed = sim.meep_time() - rec.t_first
        found = harminv_points(rec.samples, sdt, 0.97 * f_lo, 1.03 * f_hi)
        log.debug("fdtd %s: t = %.1f: %s", label, sim.meep_time(),
                  ", ".join(f"{units.wavelength_nm_from_freq(c.freq):.4f} nm Q {c.Q:.4g} err {c.err:.1e}"
                            for c in found))
        for i in range(len(lines)):
            if settled[i] or not found:
                continue
            ref = best[i]
            cur = min(found, key=lambda c: abs(c.freq - ref.freq))
            if not same_line(cur, ref):
                # not seen in this analysis (a weak line): keep the previous estimate; a strong
                # line missing from _VANISHED_AFTER analyses in a row was never a mode (without
                # this, it would hold the run up to max_periods)
                missing[i] += 1
                if i in must and missing[i] >= _VANISHED_AFTER and len(must) > 1:
                    vanished.add(i)
                continue
            missing[i] = 0
            vanished.discard(i)
            best[i] = cur
            p = prev[i]
            if p is not None and abs(cur.freq - p.freq) <= _SETTLE_REL_F * cur.freq and (
                    abs(cur.Q - p.Q) <= _SETTLE_REL_Q * abs(cur.Q)):
                settled[i] = True
            # nothing more to learn once the line has rung down (or grown) by ~20 e-folds
            if 2 * math.pi * abs(cur.decay) * elapsed > 20:
                settled[i] = True
            prev[i] = cur
    log.info("fdtd %s: ring-down of %.0f periods, %d line(s), %d settled", label,
             (sim.meep_time() - t_src) * pl.f_centre, len(lines), sum(settled.values()))
    eps = sim.get_array(component=mm.component("Dielectric"), vol=mm.dft_volume(pl))
    t_dft = sim.meep_time() - t_dft0
    if vanished:
        log.info("fdtd %s: %d transient line(s) left out (seen when the lines were located, not after)",
                 label, len(vanished))
    kept = [i for i in range(len(lines)) if i not in vanished]
    kept_final = [best[i] for i in kept]
    out = []
    for k, i in enumerate(kept):
        fields = {c: sim.get_dft_array(dfts[i], mm.component(c), 0) for c in COMPONENTS}
        out.append(RingdownLine(best[i], settled[i], DftField(fields, eps), leakage(k, kept_final, t_dft)))
    return out
