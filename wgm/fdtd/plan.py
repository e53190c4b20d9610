"""FDTD planning, before any time stepping and without Meep: the cell, the PML, the resolution,
the azimuthal numbers m (from the exact solver, for finite disks and rings from the 2-D solver
with the slab effective index of the finite height, for toroids from the sphere of their outer
radius: wgm.model.estimate), the reduced domain's cuts, and the mirror
classes (source components) the wanted polarizations need.

Everything here is in µm (= Meep's length unit) and Meep frequency units (1/µm).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass, field

from wgm import units
from wgm.errors import ConfigError
from wgm.fdtd.settings import FdtdSettings
from wgm.model.estimate import (choose_m as _choose_m,  # noqa: F401  (names the tests use)
                                exact_estimate as _exact_estimate, inner_cut_um as _inner_cut_um,
                                polar_cut as _polar_cut, slab_neff)
from wgm.model.resonator import Disk, Resonator, Ring, Search, Sphere, Toroid

__all__ = ["FdtdPlan", "MediumParams", "MirrorClass", "plan", "mirror_classes", "slab_neff", "widen",
           "full_domain", "grid_errors", "default_resolution", "CONVERGENCE_ORDER", "C_WAVELENGTH", "C_Q", "SAFETY"]

log = logging.getLogger(__name__)

_QUARTER = 0.25  # µm: cell sizes are rounded up to multiples of this
# The convergence model of the method (Meep 1.25, subpixel smoothing of the non-dispersive ε
# on), measured against the exact solver: a line's relative errors fall as the second power of
# the grid step,  |δλ/λ| <= C_λ / N²  and  |δQ/Q| <= C_Q / N²,  with N = λ_min / (n_max Δx)
# the points per shortest wavelength of the band in the densest material (thin layers included:
# subpixel smoothing keeps a thin lossless layer within the same bound down to about one pixel
# across, THIN_LAYER_MIN_PX).  The constants are envelopes over (README "Validation", bench/bench_resolution.py):
# a bare n = 1.46 disk (2-D limit, R = 2 µm, TE m = 28: C_λ 0.237-0.241, C_Q 3.2-3.7 at N = 7.7-31)
# and sphere (R = 2 µm, l = 20, 20-50 px/µm: C_λ 0.17-0.19), and a 25 nm n = 2.2 shell on them
# (TE and TM, 0.75-6 px across the shell; 2-D limit: C_λ up to 0.25, C_Q up to 13 -- the
# shell's place within a pixel scatters the errors, the TE Q most; sphere: C_λ <= 0.13, C_Q
# <= 2.2, its curved shell averages the placement); a 3 µm n = 1.45 sphere of Q 4.7e5: C_Q 9.7.
CONVERGENCE_ORDER = 2
C_WAVELENGTH = 0.25
C_Q = 13.0
THIN_LAYER_MIN_PX = 1.0  # thinner layers (in pixels) void the claim: a warning
SAFETY = 1.25  # the default grid meets the stated accuracy with this factor on the model's error
_PAD_WAVELENGTHS = 2.0  # default gap between resonator and PML, in wavelengths in the surroundings
_PML_WAVELENGTHS = 2.0  # default PML thickness, in wavelengths in the surroundings
# The reduced domain.  The inner wall is lossless: it shifts a mode by about the share of its
# energy it cuts off, so that share may be tiny.  The z-PML absorbs what reaches it: the share
# of the energy there must be small against the mode's own loss per cycle, 1/Q.
_CUT_DENSITY_R = 1e-8  # |field|² at the inner wall relative to the peak of the 2-D estimate
_CUT_SHARE_Z = 1e-3  # energy share beyond the z cut, times the expected Q
_Q_REF_CAP = 1e8  # Q beyond which FDTD does not resolve the decay anyway
_AUTO_SAVING = 1.0 / 3.0  # "auto" reduces the cell when that leaves at most this share of its cells


@dataclass(frozen=True)
class MediumParams:
    """One material of the FDTD model: Meep's ``ε(ω) = epsilon (1 + i d_conductivity / ω)``
    plus Lorentzian susceptibilities ``poles`` (:class:`wgm.model.lorentz.LorentzPole`, Meep
    units; ``epsilon`` is then ε∞)."""

    epsilon: float
    d_conductivity: float = 0.0
    poles: tuple = ()
    fit: object = field(default=None, compare=False)  # the DispersionFit behind it ("dispersive")

    def im_eps(self, freq: float) -> float:
        """Im ε of Meep's conductivity model at ``freq`` (Meep units)."""
        return self.epsilon * self.d_conductivity / (2 * math.pi * freq)


@dataclass(frozen=True)
class MirrorClass:
    """One simulation per m: the source/monitor field component (``"Ez"`` or ``"Hz"``) and the
    z-mirror phase Meep is given (used only when the plan has the mirror)."""

    component: str
    parity: int


@dataclass(frozen=True)
class FdtdPlan:
    """Everything decided before time stepping, in µm (= Meep units)."""

    m_values: tuple[int, ...]
    resolution: float
    pad_um: float
    pml_um: float
    cell_r_um: float
    cell_z_um: float  # 0 for the 2-D limit (a 1-D cell in r)
    mirror_z: bool
    f_lo: float
    f_hi: float
    f_centre: float
    monitor_r_um: float
    media: tuple[MediumParams, ...]  # the one numbering: layers, surroundings, substrate, pedestal
    warnings: tuple[str, ...]
    r_min_um: float = 0.0  # inner edge of the cell (a wall; 0: the axis)
    domain: str = "full"  # "full" or "reduced" (the cell actually planned)
    full_cells: int = 0  # cells of the full domain, for the record
    cut_z: bool = False  # the z extent is cut to the modes' (spheres, reduced domain)
    points_per_wavelength: float = math.nan  # N of the convergence model at this resolution

    @property
    def grid_errors(self) -> tuple[float, float]:
        """Expected relative errors (wavelength, Q) from the grid (the convergence model at N)."""
        return _model_errors(self.points_per_wavelength)

    @property
    def cells(self) -> int:
        nz = max(1, round(self.cell_z_um * self.resolution))
        if self.mirror_z:
            nz = max(1, nz // 2)
        return int(round((self.cell_r_um - self.r_min_um) * self.resolution)) * nz

    @property
    def z_half_um(self) -> float:
        """Half-height of the region inside the PML (0 for the 2-D limit)."""
        return self.cell_z_um / 2 - self.pml_um if self.cell_z_um else 0.0

    def describe(self) -> dict:
        """The cell used, for the output."""
        e_wl, e_q = self.grid_errors
        return {"domain": self.domain, "r_um": [self.r_min_um, self.cell_r_um],
                "z_um": [-self.cell_z_um / 2, self.cell_z_um / 2], "pml_um": self.pml_um, "pad_um": self.pad_um,
                "resolution_px_per_um": self.resolution, "mirror_z": self.mirror_z, "cells": self.cells,
                "full_domain_cells": self.full_cells or self.cells,
                "convergence": {"model": "|dλ/λ| <= C_λ/N^p, |dQ/Q| <= C_Q/N^p, N = points per shortest "
                                         "wavelength in the densest material",
                                "order_p": CONVERGENCE_ORDER, "C_wavelength": C_WAVELENGTH, "C_Q": C_Q,
                                "measured_on": "bare n = 1.46 disk (2-D limit) and sphere, R = 2 µm; 25 nm n = 2.2 "
                                               "shell on them, TE and TM; 3 µm n = 1.45 sphere, Q 4.7e5 "
                                               "(Meep 1.25)",
                                "safety_factor": SAFETY,
                                "points_per_wavelength": self.points_per_wavelength,
                                "expected_wavelength_rel_error": e_wl, "expected_q_rel_error": e_q}}


def quantum(resolution: float) -> float:
    """Cell sizes are multiples of this (µm): exact in binary and a whole number of pixels."""
    return _QUARTER if float(resolution * _QUARTER).is_integer() else 1.0


def _band_freqs(search: Search):
    lo, hi = search.wavelength_nm
    return units.freq_from_wavelength_nm(hi), units.freq_from_wavelength_nm(lo)


def medium_params(material, f_centre, settings: FdtdSettings | None = None, band_nm=None,
                  resolution: float | None = None) -> MediumParams:
    """One material as Meep simulates it (``settings.materials``).

    ``"band-centre"`` (or no ``settings``): (ε, σ_D) such that Meep's ε(ω) = ε + iεσ_D/ω equals
    n² at the band centre.  ``"dispersive"``: ``ε∞`` plus the Lorentz poles of
    :func:`wgm.model.dispersion_fit.fit_or_refuse` over ``band_nm`` (tolerance from the stated
    accuracy, poles below Meep's stability limit at ``resolution``); a band the fit cannot hold
    raises :class:`ConfigError` naming a band that works."""
    if settings is None or settings.materials == "band-centre":
        n = material.n_at(units.wavelength_nm_from_freq(f_centre))
        eps = n * n
        sigma = 2 * math.pi * f_centre * eps.imag / eps.real if eps.imag else 0.0
        return MediumParams(float(eps.real), float(sigma))
    fit = _fit(material, tuple(band_nm), settings.accuracy_wavelength, settings.accuracy_q, resolution)
    return MediumParams(fit.model.eps_inf, fit.d_conductivity, fit.model.poles, fit)


def _fit(material, band_nm, accuracy_wavelength, accuracy_q, resolution):
    """The dispersion fit of one material (cached: a material often recurs, and a sweep re-plans)."""
    from wgm.model import dispersion_fit as dfit

    key = (material, band_nm, accuracy_wavelength, accuracy_q, resolution)
    try:
        return _FITS[key]
    except (KeyError, TypeError):
        pass
    limit = dfit.meep_pole_limit(resolution) if resolution else None
    if limit is not None and limit < 1.05 * units.freq_from_wavelength_nm(band_nm[0]):
        raise ConfigError("fdtd.resolution_px_per_um", resolution,
                          f"Meep's Lorentz poles are stable only below 1/(π Δt) = {limit:.3g} (Meep units) at "
                          f"this resolution, under the band's own frequencies: raise the resolution")
    fit = dfit.fit_or_refuse(material, band_nm, dfit.FitTolerance.from_accuracy(accuracy_wavelength, accuracy_q),
                             f_max=None if limit is None else 0.9 * limit)
    if limit is not None and any(p.frequency >= limit for p in fit.model.poles):  # the bound makes this impossible
        raise ConfigError("fdtd.resolution_px_per_um", resolution,
                          f"a Lorentz pole of {fit.material} lies above Meep's stability limit {limit:.3g}")
    log.info("fdtd: %s", fit.describe())
    if len(_FITS) >= 64:  # a long sweep over material parameters: keep the cache small
        _FITS.clear()
    try:
        _FITS[key] = fit
    except TypeError:
        pass
    return fit


_FITS: dict = {}


def _reduced_domain(res: Resonator, settings: FdtdSettings, m_values, n_core, f_hi, estimate, z_half_full,
                    q):
    """(r_min, z_half) of the reduced domain, in whole quanta ``q``; (0, z_half_full) when nothing is saved.

    The wall is inside the core (at most 0.5 µm below its surface), where the field obeys the
    core's Helmholtz equation: ``n_core`` sets the caustic."""
    if not m_values or min(m_values) < 2:
        return 0.0, z_half_full
    m_min = min(m_values)
    layers = res.layers()
    r_core = layers[0].outer_radius_um
    r_min = _inner_cut_um(m_min, n_core, f_hi, _CUT_DENSITY_R)
    r_min = max(0.0, q * math.floor(min(r_min, r_core - 0.5) / q))
    z_half = z_half_full
    if isinstance(res.shape, Sphere) and estimate:
        # the share of the energy the z-PML may hold: small against the mode's own loss
        q_ref = min(max(abs(md.Q) for md in estimate), _Q_REF_CAP)
        share = min(_CUT_SHARE_Z / q_ref, 1e-6)
        r_out = layers[-1].outer_radius_um
        z_cut = _polar_cut(settings.max_polar_order, share) * r_out / math.sqrt(m_min)
        z_half = min(z_half_full, q * math.ceil(z_cut / q))
    return r_min, z_half


def _media_materials(res: Resonator) -> list:
    """The materials of the media in the one numbering (:mod:`wgm.model.section`): the layers,
    the surroundings, the substrate, the pedestal.  Without a substrate but with a pedestal the
    substrate's place holds the surroundings (no point of the cell is that medium)."""
    mats = [lay.material for lay in res.layers()] + [res.surroundings]
    if res.substrate is not None or res.pedestal is not None:
        mats.append(res.substrate if res.substrate is not None else res.surroundings)
    if res.pedestal is not None:
        mats.append(res.pedestal.material)
    return mats


def _z_extent_um(res: Resonator) -> float:
    """Half-height the cell must hold around z = 0: the outer layer, or the bottom of the
    pedestal below it (the cell stays symmetric; the pad and PML come on top of this)."""
    half = res.layers()[-1].half_height_um
    return half + (res.pedestal.height_um if res.pedestal is not None else 0.0)


def _thin_layers(res: Resonator) -> list[tuple[str, float]]:
    """(name, thickness in µm) of the layers whose thickness a grid must resolve: coatings,
    a ring's width, a finite disk's or ring's height."""
    out = [(f"coating {i + 1}", c.thickness_um) for i, c in enumerate(res.coatings)]
    if isinstance(res.shape, Ring):
        out.append(("ring width", res.shape.width_um))
    if isinstance(res.shape, Toroid):
        out.append(("toroid's tube diameter", 2 * res.shape.tube_radius_um))
    if not res.is_2d:
        if isinstance(res.shape, Disk):
            out.append(("disk thickness", res.shape.thickness_um))
        if isinstance(res.shape, Ring):
            out.append(("ring height", res.shape.height_um))
    return out


def _thin_layer_warnings(res: Resonator, resolution: float) -> list[str]:
    """Layers too thin for the convergence model's claim at this grid (measured limit: a
    layer of at least ``THIN_LAYER_MIN_PX`` pixels)."""
    out = []
    for name, t in _thin_layers(res):
        if t * resolution < THIN_LAYER_MIN_PX:
            out.append(f"the {name} ({1000 * t:.3g} nm) is {t * resolution:.2g} px thick at {resolution:g} px/µm: "
                       f"below {THIN_LAYER_MIN_PX:g} px the expected errors do not hold (measured); set "
                       f"fdtd.resolution_px_per_um >= {math.ceil(THIN_LAYER_MIN_PX / t):g} to resolve it")
    return out


def _model_errors(n_points: float) -> tuple[float, float]:
    return C_WAVELENGTH / n_points**CONVERGENCE_ORDER, C_Q / n_points**CONVERGENCE_ORDER


def grid_errors(resolution: float, n_max: float, lam_min_um: float) -> tuple[float, float]:
    """Relative errors (wavelength, Q) the convergence model expects at ``resolution`` (px/µm)
    for the shortest wavelength ``lam_min_um`` and the densest index ``n_max``."""
    return _model_errors(resolution * lam_min_um / n_max)


def default_resolution(accuracy_wavelength: float, accuracy_q: float, n_max: float, lam_min_um: float) -> float:
    """The coarsest grid (px/µm, a multiple of 4) at which the convergence model's errors,
    times ``SAFETY``, are within the stated accuracies."""
    p = CONVERGENCE_ORDER
    n_points = max((SAFETY * C_WAVELENGTH / accuracy_wavelength) ** (1 / p), (SAFETY * C_Q / accuracy_q) ** (1 / p))
    resolution = n_points * n_max / lam_min_um
    return float(4 * math.ceil(resolution / 4 - 1e-9))  # a multiple of 4: see the cell rounding in plan()


def plan(res: Resonator, search: Search, settings: FdtdSettings) -> FdtdPlan:
    """Decide cell, PML, resolution and m values (no Meep needed).

    **Resolution** (unless ``resolution_px_per_um`` is given): the coarsest grid at which the
    method's measured convergence model (module constants: the relative errors of a line's
    wavelength and Q fall as ``C / N²``, N the points per shortest wavelength of the band in
    the densest material; ``C_WAVELENGTH`` = 0.25, ``C_Q`` = 13, envelopes measured on bare
    and thin-shell disks and spheres, TE and TM) meets ``accuracy_wavelength`` and
    ``accuracy_q`` with the safety factor ``SAFETY`` (1.25 on the errors).  At the defaults
    (10⁻³, 5 %) that is N = 18.0 (set by Q; 17.7 for the wavelength).  Thin lossless layers do
    not set the grid: Meep's subpixel smoothing keeps them within the model down to about one
    pixel across (``THIN_LAYER_MIN_PX``); below that the claim fails (measured: a 10 nm
    n = 2.2 shell, TM, at 0.56 / 0.76 px was off by 3.2×10⁻³ / 1.3×10⁻³ in λ and −11 % / −5 %
    in Q), and the plan warns.  The model and the errors it expects are in :meth:`FdtdPlan.describe`
    (the run record) and, per mode, in ``Mode.wavelength_rel_error`` / ``q_rel_error``.
    """
    f_lo, f_hi = _band_freqs(search)
    f_c = 0.5 * (f_lo + f_hi)
    lam_min_um = units.wavelength_nm_from_freq(f_hi) / 1000.0
    lam_c_um = units.wavelength_nm_from_freq(f_c) / 1000.0
    layers = res.layers()
    mats = _media_materials(res)
    n_max = max(m.n_at(1000 * lam_c_um).real for m in mats)
    warnings = []
    if settings.resolution_px_per_um is not None:
        resolution = float(settings.resolution_px_per_um)
    else:
        resolution = default_resolution(settings.accuracy_wavelength, settings.accuracy_q, n_max, lam_min_um)
    ppw = resolution * lam_min_um / n_max
    e_wl, e_q = _model_errors(ppw)
    if e_wl > settings.accuracy_wavelength or e_q > settings.accuracy_q:
        warnings.append(f"resolution {resolution:g} px/µm gives {ppw:.1f} px per wavelength in the densest "
                        f"material (n = {n_max:.3g}): the expected errors ({e_wl:.2g} in wavelength, {e_q:.2g} in Q) "
                        f"exceed the accuracy asked ({settings.accuracy_wavelength:g}, {settings.accuracy_q:g})")
    warnings.extend(_thin_layer_warnings(res, resolution))
    # The r-PML of cylindrical coordinates is only a quasi-PML: Q converges once pad and PML
    # are about two wavelengths each (measured: a coated sphere of Q 6e4 reads 4.8e4 with one
    # wavelength each, 6.20e4 with two or more; exact 6.18e4).  High Q (README "Validation"):
    # a 2-D-limit disk of Q 4.0e5 reads -27 % with one wavelength each, -0.34 % with two and
    # -0.27..-0.33 % with either doubled; Q 1.5e6: +1.65 % (two) vs +2.23 % (four each); a 3 µm
    # sphere of Q 4.7e5 (reduced cell): -2.45 % vs -2.18 % with both doubled -- two wavelengths
    # do not limit Q up to 1e6 (the PML's thickness matters most: pad 1 + PML 4 gave -0.49 %)
    n_b = res.surroundings.n_at(1000 * lam_c_um).real
    pad = settings.pad_um if settings.pad_um is not None else _PAD_WAVELENGTHS * lam_c_um / n_b
    dpml = settings.pml_um if settings.pml_um is not None else _PML_WAVELENGTHS * lam_c_um / n_b
    r_out = layers[-1].outer_radius_um
    # whole pixels (Meep otherwise rounds the cell itself, and says so on stdout): sizes are
    # multiples of a quantum that is exact in binary and a whole number of pixels
    q = quantum(resolution)
    cell_r = q * math.ceil((r_out + pad + dpml) / q)
    if res.is_2d:
        cell_z = 0.0
        mirror = False
    else:
        cell_z = 2 * q * math.ceil((_z_extent_um(res) + pad + dpml) / q)
        mirror = settings.symmetry and res.substrate is None and res.pedestal is None
    estimate = _exact_estimate(res, search) if settings.m is None or settings.domain != "full" else None
    m_values = tuple(settings.m) if settings.m is not None else _choose_m(res, search, f_c, estimate)
    # the reduced domain: a wall inside the resonator, and (spheres) the modes' z extent
    n_core = layers[0].material.n_at(1000 * lam_c_um).real
    full = FdtdPlan(m_values, resolution, pad, dpml, cell_r, cell_z, mirror, f_lo, f_hi, f_c, 0.0, (), ())
    r_min, z_half = 0.0, cell_z / 2 - dpml
    if settings.domain != "full":
        r_min, z_half = _reduced_domain(res, settings, m_values, n_core, f_hi, estimate, z_half, q)
    domain, cut_z = "full", False
    if r_min > 0 or (cell_z and z_half < cell_z / 2 - dpml):
        z_red = 2 * q * math.ceil((z_half + dpml) / q) if cell_z else 0.0
        red = FdtdPlan(m_values, resolution, pad, dpml, cell_r, z_red, mirror, f_lo, f_hi, f_c, 0.0, (), (),
                       r_min_um=r_min)
        if settings.domain == "reduced" or red.cells <= _AUTO_SAVING * full.cells:
            domain, cut_z = "reduced", bool(cell_z) and z_red < cell_z
            cell_z = z_red
        else:
            r_min = 0.0
    # monitor and source just inside the outer surface of the core (~0.1 λ/n inside)
    mon_r = layers[0].outer_radius_um - 0.1 * lam_c_um / n_core
    if isinstance(res.shape, Ring):
        mon_r = max(mon_r, res.shape.inner_radius_um + 0.5 * res.shape.width_um)
    if mon_r - r_min < 0.25 * lam_c_um / n_core:
        r_min = max(0.0, q * math.floor((mon_r - 0.5 * lam_c_um / n_core) / q))
    media = tuple(medium_params(m, f_c, settings, search.wavelength_nm, resolution) for m in mats)
    return FdtdPlan(m_values, resolution, pad, dpml, cell_r, cell_z, mirror, f_lo, f_hi, f_c, mon_r, media,
                    tuple(warnings), r_min_um=r_min, domain=domain, full_cells=full.cells, cut_z=cut_z,
                    points_per_wavelength=ppw)


def mirror_classes(res: Resonator, pl: FdtdPlan, search: Search, settings: FdtdSettings) -> tuple[MirrorClass, ...]:
    """The simulations to run per m, only those a wanted polarization needs (Mie convention).

    * 2-D limit: the families are exactly separate, TE is ``E_z``, TM is ``H_z``.
    * Finite disks and rings: the vertically fundamental TE modes (E mostly along z at the rim)
      are excited by ``E_z``, the TM modes by ``H_z``; with the z mirror the other family appears
      in a class only with a node at z = 0 (a higher vertical order), which the slab model and
      the search do not count.  One class per wanted polarization.
    * Spheres with the z mirror: the ``E_z`` class holds TE modes of even polar order ``l − m``
      and TM modes of odd order, the ``H_z`` class the others.  Both classes are needed unless
      the reduced cell holds polar order 0 only (``max_polar_order = 0``).  Without the
      mirror both sources are kept (each excites what the other misses at z = 0)."""
    ez, hz = MirrorClass("Ez", -1), MirrorClass("Hz", +1)
    want_te, want_tm = "TE" in search.polarizations, "TM" in search.polarizations
    if isinstance(res.shape, Sphere):
        if not (pl.mirror_z and pl.domain == "reduced"):
            return (ez, hz)
        odd = settings.max_polar_order >= 1
        want_ez = want_te or (want_tm and odd)
        want_hz = want_tm or (want_te and odd)
    else:
        want_ez, want_hz = want_te, want_tm
    return tuple(c for c, want in ((ez, want_ez), (hz, want_hz)) if want)


def full_domain(pl: FdtdPlan, res: Resonator) -> FdtdPlan:
    """The plan with the full cell (from the axis, the whole height)."""
    q = quantum(pl.resolution)
    half = _z_extent_um(res)
    cell_z = 2 * q * math.ceil((half + pl.pad_um + pl.pml_um) / q) if pl.cell_z_um else 0.0
    return dataclasses.replace(pl, r_min_um=0.0, cell_z_um=cell_z, domain="full", cut_z=False)


def widen(pl: FdtdPlan, res: Resonator) -> FdtdPlan:
    """The reduced cell with the inner wall halfway to the axis and the z cut 1.5 times farther."""
    q = quantum(pl.resolution)
    r_min = q * math.floor(0.5 * pl.r_min_um / q)
    cell_z = pl.cell_z_um
    if pl.cut_z:
        cell_z = 2 * q * math.ceil((1.5 * pl.z_half_um + pl.pml_um) / q)
    wider = dataclasses.replace(pl, r_min_um=r_min, cell_z_um=cell_z)
    full = full_domain(pl, res)
    return full if wider.cells >= full.cells or cell_z >= full.cell_z_um else wider
