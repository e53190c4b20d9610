"""FDTD orchestration: per m, one ring-down per wanted mirror class, narrow-band passes for
lines that need them, the guard that widens a reduced cell, and the assembled ModeSpectrum.

For each m and each mirror class (``E_z`` / ``H_z`` source, z-even when the structure is
symmetric in z) the engine

1. sizes the cell, PML and resolution from the wavelength, the densest material and the
   stated accuracy (the measured convergence of the method; all overridable in ``[fdtd]``;
   :mod:`wgm.fdtd.plan`);
2. excites the structure with a broadband pulse (point source just inside the rim, never
   within |m| pixels of the axis) and locates the lines with Harminv after a first stretch
   of ring-down (:mod:`wgm.fdtd.ringdown`);
3. adds DFT monitors at the line frequencies and continues the ring-down in chunks until
   every line of the band that matters is known to the stated accuracy (``accuracy_wavelength``,
   ``accuracy_q``: Harminv's error and the change between two analyses), rather than for a
   fixed time; lines are followed one-to-one from analysis to analysis;
4. gives a **narrow-band pass** of its own to a line of the band that does not settle, or
   whose DFT field would be mostly its stronger neighbours' (a line the pass does not confirm
   is a Harminv artefact and is left out);
5. classifies the polarization from the field energy in each component (Mie convention: TE
   has the smaller share of electric energy normal to the outer surface, TM of magnetic
   energy; :mod:`wgm.fdtd.analysis`) and reports Q as the exact solver does: negative with a
   note for a growing line (net gain), a lower bound (``q_resolved = False``) when the decay
   is not resolved above Harminv's error, the line did not settle or its decay time is far
   beyond the analysed record;
6. reports one mode per physical line (:func:`dedupe`) and, for spheres and the 2-D limit,
   lists the exact modes of the band, m set, polarizations and radial orders it did not
   report, with the reason where known (``ModeSpectrum.missing``, :func:`missing_modes`).

Materials (``[fdtd] materials``): ``"dispersive"`` (default) simulates each material as ``ε∞``
plus Lorentz poles fitted to its n, k over the band (:mod:`wgm.model.dispersion_fit`; the fits
are in ``run_info["material_fits"]`` and the log), and corrects each line to first order for
what the fit does not hold (``Mode.correction_wavelength_nm``, ``correction_q_rel``); lines are
identified against the exact modes of the fitted model.  ``"band-centre"``: ``ε = Re n²`` and
a conductivity that gives the band-centre ``Im n²`` (absorption, or gain for k < 0); each
line's Q is corrected to first order for the conductivity's 1/ω so that the loss is the
band-centre one at the line's own frequency.

For large resonators the cell is **reduced** (``[fdtd] domain``): a wall inside the core where
the field has decayed, and for spheres a z extent cut to the modes' polar band; a guard checks
every mode's own field at the cuts and widens the cell when it is not negligible there.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

from wgm import units
from wgm.exact import solver as exact
from wgm.fdtd import analysis
from wgm.fdtd import meep_model as mm
from wgm.fdtd.plan import FdtdPlan, full_domain, mirror_classes, plan, widen
from wgm.fdtd.ringdown import DroppedLine, RingdownLine, follow, ringdown, same_line
from wgm.fdtd.settings import FdtdSettings
from wgm.model.dispersion_fit import model_resonator
from wgm.model.resonator import Resonator, Search, Sphere
from wgm.records import MissedMode, ModeSpectrum

__all__ = ["solve", "use_process_groups"]

log = logging.getLogger(__name__)

_SAME_LINE = 1e-5  # relative wavelength difference below which two lines of one m and one identity are one mode
_SAME_LINE_ERRS = 5.0  # two reported lines closer than this many Harminv error bars are one line
_SAME_LINE_FLOOR = 1e-8  # ... or closer than this relative difference (below any Harminv resolution)
_MISS_MATCH = 3.0  # a dropped line is a missed exact mode's when closer than this x the stated accuracy in λ
_MIN_NARROW_DF = 0.01  # narrowest narrow-band pulse, relative to the frequency (its length is ~6/df)
_MAX_LEAKAGE = 0.2  # a line whose DFT field is more than this share its neighbours' gets a narrow-band pass
_PASS_COVERS = 0.25  # a narrow-band pass rang every line within this share of its pulse width of its centre
_UNRESOLVABLE_GAP = 2.0  # neighbours closer than this many linewidths: no narrow-band pass separates them
_MAX_WIDENINGS = 2  # then the full cell


@dataclass(frozen=True)
class _Found:
    """A line to record: the ring-down result it comes from and a note about its field."""

    result: RingdownLine
    note: str = ""


@dataclass(frozen=True)
class _Reported:
    """A reported mode with what the bookkeeping needs: its field profile, its Harminv line and
    the mirror class (source component) it comes from."""

    mode: object
    profile: object
    line: object
    component: str


def _in_search(search, freq) -> bool:
    lo, hi = search.wavelength_nm
    return lo <= units.wavelength_nm_from_freq(freq) <= hi


def _refine(res, pl, m, cls, label, settings, results, k, pool, search=None, dropped=None,
            passes=None) -> _Found | None:
    """Line ``k`` of a ring-down, replaced by a narrow-band pass of its own when it did not
    settle or its DFT field is mostly its neighbours' (``pool``: settled lines of earlier
    narrow-band passes of this class, reused for their neighbours; ``passes``: the earlier
    passes of this class as (centre, width, lines)).  Lines outside the search band get no pass
    (they are not reported).  None when a pass does not confirm the line (appended to
    ``dropped`` as a transient): its own, or an earlier one whose pulse was centred within a
    quarter of its width of the line (it rang the line's frequency and found nothing there)."""
    cur = results[k]
    line = cur.line
    if cur.settled and cur.leakage <= _MAX_LEAKAGE:
        return _Found(cur)
    if search is not None and not _in_search(search, line.freq):
        return _Found(cur)
    others = [o.line for j, o in enumerate(results) if j != k]
    gap = min([abs(line.freq - o.freq) for o in others] + [0.05 * line.freq])
    width = max([abs(line.decay)] + [abs(o.decay) for o in others if abs(line.freq - o.freq) == gap]) / math.pi
    reuse = [t for t in pool if same_line(t.line, line)]
    if reuse:
        return _Found(min(reuse, key=lambda t: abs(t.line.freq - line.freq)))
    for fcen, df, again in passes if passes is not None else ():
        if abs(line.freq - fcen) <= _PASS_COVERS * df:
            return _confirmed(results, k, again, label, line, dropped)
    if gap < _UNRESOLVABLE_GAP * width:
        # a neighbour within its linewidth: no pulse separates the two fields, and a narrow-band
        # pass would only ring down longer (Harminv still separates the lines' frequencies and
        # Q; an unsettled estimate is noted as such)
        away_pm = 1000 * abs(units.wavelength_nm_from_freq(line.freq + gap) - units.wavelength_nm_from_freq(line.freq))
        return _Found(cur, f"field mixed with a line {away_pm:.3g} pm away (within the linewidths)")
    # a narrow-band pass on this line alone: a clean signal for Harminv and a field profile
    # free of its (stronger) neighbours; the pulse lasts ~6/df: below _MIN_NARROW_DF the pass
    # would cost more than it isolates
    df = max(min(0.5 * gap, 0.05 * line.freq), 4 * abs(line.decay) / (2 * math.pi), _MIN_NARROW_DF * line.freq)
    log.info("fdtd %s: narrow-band pass at %.2f nm (%s)", label, units.wavelength_nm_from_freq(line.freq),
             "not settled" if not cur.settled else f"neighbours {100 * cur.leakage:.0f} % of its field")
    again = ringdown(res, pl, m, cls.component, cls.parity, label + " narrow", settings.max_periods,
                     fcen=line.freq, df=df, target=line.freq, accuracy_wavelength=settings.accuracy_wavelength,
                     accuracy_q=settings.accuracy_q)
    pool.extend(t for t in again if t.settled)
    if passes is not None:
        passes.append((line.freq, df, again))
    return _confirmed(results, k, again, label, line, dropped)


def _confirmed(results, k, again, label, line, dropped) -> _Found | None:
    """The narrow-band pass's estimate of broadband line ``k``, not of a neighbour it also rang:
    the lines of the pass are assigned one-to-one to the broadband lines (nearest first); a
    pass that has nothing for this line did not confirm it: a Harminv artefact of the
    broadband record, not a mode (None, and the line appended to ``dropped``)."""
    assigned = follow({j: o.line for j, o in enumerate(results)}, [t.line for t in again])
    if k in assigned:
        return _Found(again[assigned[k]])
    log.info("fdtd %s: the line at %.4f nm (Q %.3g) is not confirmed by its narrow-band pass: left out", label,
             units.wavelength_nm_from_freq(line.freq), line.Q)
    if dropped is not None:
        dropped.append(DroppedLine(line.freq, line.decay, "transient"))
    return None


def _solve_m(res, search, pl: FdtdPlan, m: int, settings: FdtdSettings, reference, dropped=None) -> list[_Reported]:
    """The modes of one azimuthal number, with their profiles, lines and classes.  Lines seen but
    not reported are appended to ``dropped`` as (component, :class:`DroppedLine`) when given."""
    out = []
    for cls in mirror_classes(res, pl, search, settings):
        label = f"m={m} {cls.component}"
        lost: list[DroppedLine] = []
        results = ringdown(res, pl, m, cls.component, cls.parity, label, settings.max_periods,
                           accuracy_wavelength=settings.accuracy_wavelength, accuracy_q=settings.accuracy_q,
                           dropped=lost)
        pool: list[RingdownLine] = []
        passes: list = []
        for k in range(len(results)):
            found = _refine(res, pl, m, cls, label, settings, results, k, pool, search, lost, passes)
            if found is None:
                continue
            r = found.result
            mode, prof = analysis.make_record(res, search, pl, m, cls.component, r.line, r.settled, r.field.fields,
                                              r.field.eps, reference, r.t_record, r.decay_spread)
            if mode is not None:
                if found.note:
                    mode = dataclasses.replace(mode, note="; ".join(x for x in (mode.note, found.note) if x))
                out.append(_Reported(mode, prof, r.line, cls.component))
            elif _in_search(search, r.line.freq):
                lost.append(DroppedLine(r.line.freq, r.line.decay, "outside-search"))
        if dropped is not None:
            dropped.extend((cls.component, d) for d in lost)
    return out


def dedupe(reported: list, orthogonal_classes: bool = False) -> list:
    """One physical line, one mode: of the reported modes of one m, lines that are the same
    (complex frequencies within ``_SAME_LINE_ERRS`` Harminv error bars, or equal to
    ``_SAME_LINE_FLOOR``), whatever their classification, and modes with one identity
    (polarization, l, q) within ``_SAME_LINE`` (a narrow-band pass that landed on a line
    already found), are reported once: the settled estimate with the smaller error.
    ``reported``: records with ``mode``, ``line`` and ``component`` (:class:`_Reported`).  With
    ``orthogonal_classes`` (the z mirror, or the 2-D limit's separate families) lines of the two
    source classes are never one line: a TE/TM near-degeneracy is two modes."""
    def same(a, b):
        if a.mode.m != b.mode.m:
            return False
        if orthogonal_classes and a.component != b.component:
            return False
        la, lb = a.line, b.line
        if abs(complex(la.freq - lb.freq, la.decay - lb.decay)) <= max(_SAME_LINE_ERRS * (la.err + lb.err),
                                                                       _SAME_LINE_FLOOR * la.freq):
            return True
        ida = (a.mode.polarization, a.mode.l, a.mode.radial_order)
        idb = (b.mode.polarization, b.mode.l, b.mode.radial_order)
        return ida == idb and abs(a.mode.wavelength_nm / b.mode.wavelength_nm - 1) < _SAME_LINE

    rank = sorted(range(len(reported)), key=lambda i: (not reported[i].mode.q_resolved, reported[i].line.err))
    keep: list[int] = []
    for i in rank:
        twin = next((j for j in keep if same(reported[i], reported[j])), None)
        if twin is None:
            keep.append(i)
        else:
            log.info("fdtd m=%d: one line reported twice (%s at %.4f nm and %s at %.4f nm): kept once",
                     reported[i].mode.m, reported[twin].mode.polarization, reported[twin].mode.wavelength_nm,
                     reported[i].mode.polarization, reported[i].mode.wavelength_nm)
    return [reported[i] for i in sorted(keep)]


def _mirror_class_of(res, pl: FdtdPlan, pol: str, l: int, m: int) -> str | None:
    """The source component whose class holds the exact mode (pol, l) at this m, or None
    when both classes do (no z mirror)."""
    if res.is_2d:
        return "Ez" if pol == "TE" else "Hz"
    if not pl.mirror_z:
        return None
    return "Ez" if (pol == "TE") == ((l - m) % 2 == 0) else "Hz"


def missing_modes(res, search, pl: FdtdPlan, settings: FdtdSettings, reference, modes, dropped, classes,
                  left_out=()) -> tuple:
    """The exact modes in the FDTD band, m set, polarizations and radial orders that the run
    did not report, each with the reason where the bookkeeping knows it.

    ``reference``: the exact spectrum (wider band, more radial orders: filtered here);
    ``modes``: the reported modes; ``dropped``: (m, component, :class:`DroppedLine`) of lines
    seen but not reported; ``classes``: the source components simulated;
    ``left_out``: reported lines left out at the cut of the reduced cell, as (m, Mode)."""
    if reference is None:
        return ()
    lo, hi = search.wavelength_nm
    found = {(md.polarization, md.l, md.radial_order, md.m) for md in modes if md.l is not None}
    cut = {(md.polarization, md.l, md.radial_order, m) for m, md in left_out if md.l is not None}
    out = []
    used = set()
    for m in pl.m_values:
        want = [e for e in reference.modes if lo <= e.wavelength_nm <= hi and e.polarization in search.polarizations
                and e.radial_order <= search.max_radial_order and (e.l == m if res.is_2d else e.l >= m)
                and (e.polarization, e.l, e.radial_order, m) not in found]
        for e in sorted(want, key=lambda e: e.wavelength_nm):
            f = units.freq_from_wavelength_nm(e.wavelength_nm)
            cls = _mirror_class_of(res, pl, e.polarization, e.l, m)
            key = (e.polarization, e.l, e.radial_order, m)
            reason, note = "unknown", ""
            tol = _MISS_MATCH * settings.accuracy_wavelength * f
            near = [(abs(d.freq - f), k, d) for k, (mm_, comp, d) in enumerate(dropped)
                    if mm_ == m and (cls is None or comp == cls) and k not in used
                    and abs(d.freq - f) <= max(tol, abs(d.decay))]
            merged = [md for md in modes if md.m == m and md.l is not None
                      and abs(units.freq_from_wavelength_nm(md.wavelength_nm) - f)
                      <= max(tol, units.freq_from_wavelength_nm(md.wavelength_nm) / (2 * abs(md.Q)))]
            if cls is not None and cls not in classes:
                reason = "not-excited"
                note = f"held by the {cls} source's mirror class, not simulated"
            elif key in cut:
                reason, note = "reduced-cell", f"left out at the cut (l - m = {e.l - m} > max_polar_order = " \
                                               f"{settings.max_polar_order})"
            elif near:
                _, k, d = min(near, key=lambda t: t[0])
                used.add(k)
                reason = d.reason
                note = f"line at {units.wavelength_nm_from_freq(d.freq):.4f} nm"
            elif merged:
                x = min(merged, key=lambda md: abs(md.wavelength_nm - e.wavelength_nm))
                reason = "merged"
                note = f"merged with {x.polarization}{x.radial_order} l={x.l} at {x.wavelength_nm:.4f} nm"
            elif (pl.domain == "reduced" and isinstance(res.shape, Sphere)
                  and e.l - m > settings.max_polar_order):
                reason = "reduced-cell"
                note = f"l - m = {e.l - m} > max_polar_order = {settings.max_polar_order}"
            out.append(MissedMode(e.polarization, e.l, m, e.radial_order, e.wavelength_nm, e.Q, reason, note))
    return tuple(out)


def use_process_groups(n_groups: int) -> None:
    """Run each later simulation within one of ``n_groups`` equal groups of MPI ranks
    (contiguous blocks of ranks), for independent simulations side by side (sweeps).

    Meep 1.25's ``merge_subgroup_data`` is broken with numpy >= 1.24; nothing here needs
    it: the sweep scheduler passes results between groups with mpi4py.
    """
    if n_groups > 1:
        mm.divide_processes(n_groups)
    else:
        mm.meep()  # Meep is needed all the same: say so now rather than at the first simulation


def _versions() -> dict:
    from wgm.records.files import versions

    return versions() | {"meep": mm.meep_version()}


def solve(res: Resonator, search: Search, settings: FdtdSettings | None = None) -> ModeSpectrum:
    """Modes of ``res`` in the band by FDTD (Meep, cylindrical coordinates).

    Parameters
    ----------
    res : Resonator
        Any shape: sphere, disk or ring, finite or 2-D, with coatings and a substrate.
    search : Search
    settings : FdtdSettings, optional
        Overrides of the automatic choices (m values, resolution, pad, PML, symmetry).

    Returns
    -------
    ModeSpectrum
        ``method = "fdtd"``; each mode carries ``harminv_error``, ``q_resolved``, the
        errors the engine expects (``wavelength_rel_error``, ``q_rel_error``), and
        ``l``/``radial_order`` where the exact solver identifies it.  ``profiles`` holds the
        (r, z) field of every mode; ``versions`` includes Meep's.  ``missing``: the exact modes
        (spheres, 2-D limit) of the band, m set, polarizations and radial orders that the run did
        not report, as :class:`~wgm.records.MissedMode` with the reason where known.
    """
    mm.meep()  # fail early without Meep
    settings = settings or FdtdSettings()
    search = settings.band(search)
    res.check_band(search.wavelength_nm)
    pl = plan(res, search, settings)
    for w in pl.warnings:
        log.warning("fdtd: %s", w)
    if not pl.m_values:
        log.warning("fdtd: no azimuthal numbers with modes in the band; give [fdtd] m = [...]")
    fits = [p.fit.to_dict() for p in pl.media if p.fit is not None]
    reference = None
    if isinstance(res.shape, Sphere) or res.is_2d:
        # identify lines against the exact modes of the model FDTD simulates: the fitted
        # dispersive materials, or every material frozen at the band centre (a wider band and
        # more radial orders, so that no neighbour is missing)
        lam_c = units.wavelength_nm_from_freq(pl.f_centre)
        lo, hi = search.wavelength_nm
        model = model_resonator(res, fits) if fits else res.frozen_at(lam_c)
        reference = exact.solve(model, Search((0.99 * lo, 1.01 * hi), max(search.max_radial_order, 3) + 2))
    e_wl, e_q = pl.grid_errors
    log.info("fdtd: resolution %g px/µm = %.1f px per shortest wavelength in the densest material: expected "
             "grid errors %.2g in wavelength, %.2g in Q (convergence model; asked %g, %g)", pl.resolution,
             pl.points_per_wavelength, e_wl, e_q, settings.accuracy_wavelength, settings.accuracy_q)
    log.info("fdtd: m = %s, resolution %g px/µm, %s cell r = %.4g..%.4g µm, |z| <= %.4g µm (PML %.3g "
             "included), pad %.3g, mirror z: %s, classes %s; %d cells (full domain: %d)", list(pl.m_values),
             pl.resolution, pl.domain, pl.r_min_um, pl.cell_r_um, pl.cell_z_um / 2, pl.pml_um, pl.pad_um,
             pl.mirror_z, [c.component for c in mirror_classes(res, pl, search, settings)], pl.cells,
             pl.full_cells)
    reported, cells, dropped, left_out = [], [], [], []
    t_start = time.monotonic()
    for i_m, m in enumerate(pl.m_values):
        pl_m = pl
        for widening in range(_MAX_WIDENINGS + 1):
            lost = []
            got_r = _solve_m(res, search, pl_m, m, settings, reference, lost)
            got = [(r.mode, r.profile) for r in got_r]
            if pl_m.domain != "reduced":
                break
            cut = [(md, prof, analysis.cut_shares(prof, pl_m)) for md, prof in got]
            bad = [(md, c) for md, prof, c in cut if analysis.cut_too_large(md, c) and analysis.is_target(md, settings)]
            if not bad:
                break
            md, c = bad[0]
            pl_m = widen(pl_m, res) if widening < _MAX_WIDENINGS else full_domain(pl_m, res)
            log.warning("fdtd m=%d: the %s mode at %.3f nm has %.2g of its energy at the inner wall and %.2g at "
                        "the z cut of the reduced cell: widening it to r >= %.4g µm, |z| <= %.4g µm", m,
                        md.family, md.wavelength_nm, c[0], c[1], pl_m.r_min_um, pl_m.cell_z_um / 2)
        dropped.extend((m, comp, d) for comp, d in lost)
        for r in got_r:
            md, prof = r.mode, r.profile
            if pl_m.domain == "reduced" and analysis.cut_too_large(md, analysis.cut_shares(prof, pl_m)):
                log.info("fdtd m=%d: %s l=%s at %.3f nm left out: it reaches the cut of the reduced cell "
                         "(polar order l - m > max_polar_order = %d)", m, md.polarization, md.l,
                         md.wavelength_nm, settings.max_polar_order)
                left_out.append((m, md))
                dropped.append((m, r.component, DroppedLine(r.line.freq, r.line.decay, "reduced-cell")))
                continue
            reported.append(r)
        cells.append({"m": m} | pl_m.describe())
        done = i_m + 1
        elapsed = time.monotonic() - t_start
        log.info("fdtd: m = %d done (%d/%d), %.0f s elapsed; estimate for the rest at the mean time per m "
                 "so far: %.0f s", m, done, len(pl.m_values), elapsed, elapsed / done * (len(pl.m_values) - done))
    # one physical line, one mode (a narrow-band pass that landed on a line already found, or one
    # line seen in two classes without the z mirror)
    reported = dedupe(reported, pl.mirror_z or res.is_2d)
    reported.sort(key=lambda r: r.mode.wavelength_nm)
    modes = tuple(r.mode for r in reported)
    classes = {c.component for c in mirror_classes(res, pl, search, settings)}
    missing = missing_modes(res, search, pl, settings, reference, modes, dropped, classes, left_out)
    if missing:
        log.warning("fdtd: %d exact mode(s) of the band not found by FDTD: %s", len(missing), "; ".join(
            f"{x.polarization}{x.radial_order} l={x.l} m={x.m} {x.wavelength_nm:.3f} nm ({x.reason})" for x in missing))
    return ModeSpectrum(resonator=res, search=search, method="fdtd", modes=modes,
                        versions=_versions(), profiles=tuple(r.profile for r in reported),
                        run_info={"fdtd_cells": cells, "materials": settings.materials}
                        | ({"material_fits": fits} if fits else {}), missing=missing)
