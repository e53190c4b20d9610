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
   every line's frequency and Q settle (rather than for a fixed time);
4. gives a **narrow-band pass** of its own to a line that does not settle, or whose DFT
   field would be mostly its stronger neighbours';
5. classifies the polarization from the field energy in each component (Mie convention: TE
   has the smaller share of electric energy normal to the outer surface, TM of magnetic
   energy; :mod:`wgm.fdtd.analysis`) and reports Q as the exact solver does: negative with a
   note for a growing line (net gain), a lower bound when the decay is not resolved above
   Harminv's error.

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
from wgm.fdtd.ringdown import RingdownLine, ringdown, same_line
from wgm.fdtd.settings import FdtdSettings
from wgm.model.dispersion_fit import model_resonator
from wgm.model.resonator import Resonator, Search, Sphere
from wgm.records import ModeSpectrum

__all__ = ["solve", "use_process_groups"]

log = logging.getLogger(__name__)

_SAME_LINE = 1e-5  # relative wavelength difference below which two lines of one m are one mode
_MIN_NARROW_DF = 0.01  # narrowest narrow-band pulse, relative to the frequency (its length is ~6/df)
_MAX_LEAKAGE = 0.2  # a line whose DFT field is more than this share its neighbours' gets a narrow-band pass
_UNRESOLVABLE_GAP = 2.0  # neighbours closer than this many linewidths: no narrow-band pass separates them
_MAX_WIDENINGS = 2  # then the full cell


@dataclass(frozen=True)
class _Found:
    """A line to record: the ring-down result it comes from and a note about its field."""

    result: RingdownLine
    note: str = ""


def _refine(res, pl, m, cls, label, settings, results, k, pool) -> _Found:
    """Line ``k`` of a ring-down, replaced by a narrow-band pass of its own when it did not
    settle or its DFT field is mostly its neighbours' (``pool``: settled lines of earlier
    narrow-band passes of this class, reused for their neighbours)."""
    cur = results[k]
    line = cur.line
    if cur.settled and cur.leakage <= _MAX_LEAKAGE:
        return _Found(cur)
    others = [o.line for j, o in enumerate(results) if j != k]
    gap = min([abs(line.freq - o.freq) for o in others] + [0.05 * line.freq])
    width = max([abs(line.decay)] + [abs(o.decay) for o in others if abs(line.freq - o.freq) == gap]) / math.pi
    reuse = [t for t in pool if same_line(t.line, line)]
    if reuse:
        return _Found(reuse[0])
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
                     fcen=line.freq, df=df, target=line.freq)
    pool.extend(t for t in again if t.settled)
    if again:
        return _Found(min(again, key=lambda t: abs(t.line.freq - line.freq)))
    return _Found(cur)


def solve_m(res, search, pl: FdtdPlan, m: int, settings: FdtdSettings, reference):
    """The modes of one azimuthal number: [(Mode, FieldProfile), ...]."""
    out = []
    for cls in mirror_classes(res, pl, search, settings):
        label = f"m={m} {cls.component}"
        results = ringdown(res, pl, m, cls.component, cls.parity, label, settings.max_periods)
        pool: list[RingdownLine] = []
        for k in range(len(results)):
            found = _refine(res, pl, m, cls, label, settings, results, k, pool)
            r = found.result
            mode, prof = analysis.make_record(res, search, pl, m, cls.component, r.line, r.settled, r.field.fields,
                                              r.field.eps, reference)
            if mode is not None:
                if found.note:
                    mode = dataclasses.replace(mode, note="; ".join(x for x in (mode.note, found.note) if x))
                out.append((mode, prof))
    return out


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
        (r, z) field of every mode; ``versions`` includes Meep's.
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
    modes, profiles, cells = [], [], []
    t_start = time.monotonic()
    for i_m, m in enumerate(pl.m_values):
        pl_m = pl
        for widening in range(_MAX_WIDENINGS + 1):
            got = solve_m(res, search, pl_m, m, settings, reference)
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
        for md, prof in got:
            if pl_m.domain == "reduced" and analysis.cut_too_large(md, analysis.cut_shares(prof, pl_m)):
                log.info("fdtd m=%d: %s l=%s at %.3f nm left out: it reaches the cut of the reduced cell "
                         "(polar order l - m > max_polar_order = %d)", m, md.polarization, md.l,
                         md.wavelength_nm, settings.max_polar_order)
                continue
            modes.append(md)
            profiles.append(prof)
        cells.append({"m": m} | pl_m.describe())
        done = i_m + 1
        elapsed = time.monotonic() - t_start
        log.info("fdtd: m = %d done (%d/%d), %.0f s elapsed; estimate for the rest at the mean time per m "
                 "so far: %.0f s", m, done, len(pl.m_values), elapsed, elapsed / done * (len(pl.m_values) - done))
    # a narrow-band pass that lands on a line already found (a spurious Harminv line was its
    # target) would report that mode twice: keep one per (m, polarization, frequency)
    keep = []
    for i, md in enumerate(modes):
        if not any(modes[j].m == md.m and modes[j].polarization == md.polarization
                   and abs(modes[j].wavelength_nm / md.wavelength_nm - 1) < _SAME_LINE for j in keep):
            keep.append(i)
    order = sorted(keep, key=lambda i: modes[i].wavelength_nm)
    return ModeSpectrum(resonator=res, search=search, method="fdtd", modes=tuple(modes[i] for i in order),
                        versions=_versions(), profiles=tuple(profiles[i] for i in order),
                        run_info={"fdtd_cells": cells, "materials": settings.materials}
                        | ({"material_fits": fits} if fits else {}))
