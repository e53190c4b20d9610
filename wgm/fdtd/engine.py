"""FDTD engine: Meep in cylindrical coordinates, one 2-D (r, z) simulation per azimuthal
number m.  This is the only module of ``wgm`` that imports Meep.

For each m and each mirror class (z-even ``E_z`` / z-even ``H_z``, when the structure is
symmetric in z) the engine

1. sizes the cell, PML and resolution from the wavelength, the densest material and the
   thinnest layer (all overridable in ``[fdtd]``);
2. excites the structure with a broadband pulse (point source just inside the rim, never
   within |m| pixels of the axis) and locates the lines with Harminv after a first stretch
   of ring-down;
3. adds DFT monitors at the line frequencies and continues the ring-down in chunks until
   every line's frequency and Q settle (rather than for a fixed time);
4. gives a **narrow-band pass** of its own to a line that does not settle, or whose DFT
   field would be mostly its stronger neighbours';
5. classifies the polarization from the field energy in each component (Mie convention: TE
   has the smaller share of electric energy normal to the outer surface, TM of magnetic
   energy), and reports Q as a lower bound when the decay is not resolved above Harminv's
   error.

Materials are taken at the band centre: ``ε = Re n²`` and a conductivity that gives the
band-centre ``Im n²`` (absorption, or gain for k < 0); each line's Q is corrected to first
order for the conductivity's 1/ω so that the loss is the band-centre one at the line's own
frequency.  Dispersion across the band is not modelled in FDTD.

For large resonators the cell is **reduced** (``[fdtd] domain``): a wall inside the core where
the field has decayed, and for spheres a z extent cut to the modes' polar band; a guard checks
every mode's own field at the cuts and widens the cell when it is not negligible there.

Above threshold, :func:`lasing_curve` runs a saturable two-level gain film (Meep's
``MultilevelAtom``) for one m and returns the light-in/light-out curve.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from wgm import units
from wgm.exact import solver as exact
from wgm.errors import SolverError, UserError
from wgm.fdtd.settings import FdtdSettings
from wgm.model.resonator import Disk, Resonator, Ring, Search, Sphere
from wgm.records import FieldProfile, Mode, ModeSpectrum


def _import_meep():
    """Import Meep without its stdout banner and exit message (the library never prints;
    ``--json`` output must stay clean)."""
    import atexit
    import contextlib
    import io

    try:
        with contextlib.redirect_stdout(io.StringIO()):
            import meep
    except ImportError:
        return None
    report = getattr(meep, "report_elapsed_time", None)
    if report is not None:
        atexit.unregister(report)
    return meep


mp = _import_meep()  # Meep is optional for the rest of wgm; this module needs it

__all__ = ["solve", "FdtdPlan", "plan", "use_process_groups", "lasing_curve"]

log = logging.getLogger(__name__)

_HARMINV_Q_THRESH = 5.0  # keep lines down to Q = 5 (Meep's default 50 would hide absorbing-film modes)
_MIN_REL_AMP = 1e-3  # lines weaker than this fraction of the strongest are Harminv artefacts
_BROADBAND_PERIODS = 60  # ring-down before the lines are located (periods at the band centre)
_CHUNK_PERIODS = 40  # ring-down added between two Harminv analyses
_SETTLE_REL_Q = 0.01  # Q settled: relative change below this between two analyses ...
_SETTLE_REL_F = 1e-6  # ... and frequency change below this
_RESOLVED_DECAY_OVER_ERR = 10.0  # Q is resolved when |Im f| exceeds Harminv's error by this factor
_QUARTER = 0.25  # µm: cell sizes are rounded up to multiples of this
_SAME_LINE = 1e-5  # relative wavelength difference below which two lines of one m are one mode
_WEAK_EXTRA_CHUNKS = 4  # extra ring-down chunks granted to weak lines before a narrow-band pass
_MIN_NARROW_DF = 0.01  # narrowest narrow-band pulse, relative to the frequency (its length is ~6/df)
_MUST_SETTLE_AMP = 0.02  # lines at least this fraction of the strongest must settle in the broadband run
_PULSE_CUTOFF = 3.0  # Gaussian pulse length in widths each side (Meep's default 5 only lengthens the run)
_PAD_WAVELENGTHS = 2.0  # default gap between resonator and PML, in wavelengths in the surroundings
_PML_WAVELENGTHS = 2.0  # default PML thickness, in wavelengths in the surroundings
_MAX_LEAKAGE = 0.2  # a line whose DFT field is more than this share its neighbours' gets a narrow-band pass
# The reduced domain.  The inner wall is lossless: it shifts a mode by about the share of its
# energy it cuts off, so that share may be tiny.  The z-PML absorbs what reaches it: the share
# of the energy there must be small against the mode's own loss per cycle, 1/Q.
_CUT_DENSITY_R = 1e-8  # |field|² at the inner wall relative to the peak of the 2-D estimate
_CUT_SHARE_Z = 1e-3  # energy share beyond the z cut, times the expected Q
_Q_REF_CAP = 1e8  # Q beyond which FDTD does not resolve the decay anyway
_AUTO_SAVING = 1.0 / 3.0  # "auto" reduces the cell when that leaves at most this share of its cells
_GUARD_BAND = 0.25  # the guard looks at the energy this many wavelengths (vacuum) from a cut
_GUARD_INNER = 1e-5  # energy share next to the inner wall above which the cell is widened
_GUARD_Z_LOSS = 0.01  # (energy share next to the z-PML) x Q above which the cell is widened
_MAX_WIDENINGS = 2  # then the full cell
_VANISHED_AFTER = 3  # a strong line missing from this many analyses in a row is a transient
_UNRESOLVABLE_GAP = 2.0  # neighbours closer than this many linewidths: no narrow-band pass separates them


def _need_meep():
    if mp is None:
        raise UserError("--method fdtd needs Meep: on Debian `make setup` installs python3-meep-mpi-default; "
                        "with conda use environment.yml (conda-forge pymeep). Never `pip install meep`.")


# --------------------------------------------------------------------------------------
# Planning: cell, resolution, m values (pure: no time stepping)


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
    eps: tuple  # per object (outermost first): (epsilon, D_conductivity)
    warnings: tuple[str, ...]
    r_min_um: float = 0.0  # inner edge of the cell (a wall; 0: the axis)
    domain: str = "full"  # "full" or "reduced" (the cell actually planned)
    full_cells: int = 0  # cells of the full domain, for the record
    cut_z: bool = False  # the z extent is cut to the modes' (spheres, reduced domain)

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
        return {"domain": self.domain, "r_um": [self.r_min_um, self.cell_r_um],
                "z_um": [-self.cell_z_um / 2, self.cell_z_um / 2], "pml_um": self.pml_um,
                "resolution_px_per_um": self.resolution, "mirror_z": self.mirror_z, "cells": self.cells,
                "full_domain_cells": self.full_cells or self.cells}


def _quantum(resolution: float) -> float:
    """Cell sizes are multiples of this (µm): exact in binary and a whole number of pixels."""
    return _QUARTER if float(resolution * _QUARTER).is_integer() else 1.0


def _band_freqs(search: Search):
    lo, hi = search.wavelength_nm
    return units.freq_from_wavelength_nm(hi), units.freq_from_wavelength_nm(lo)


def _medium_params(material, f_centre):
    """(ε, σ_D) such that Meep's ε(ω) = ε + iεσ_D/ω equals n² at the band centre."""
    n = material.n_at(units.wavelength_nm_from_freq(f_centre))
    eps = n * n
    sigma = 2 * math.pi * f_centre * eps.imag / eps.real if eps.imag else 0.0
    return float(eps.real), float(sigma)


def _im_eps(eps_sigma, freq) -> float:
    """Im ε of Meep's conductivity model ``ε(1 + iσ/ω)`` at ``freq`` (the inverse of the above)."""
    eps, sigma = eps_sigma
    return eps * sigma / (2 * math.pi * freq)


def _layers_outward(res: Resonator):
    """(shape kind, list of (radius, half-height, material)) from the core outward."""
    shape = res.shape
    out = []
    if isinstance(shape, Sphere):
        r = shape.radius_um
        out.append((r, r, shape.material))
        for c in res.coatings:
            r += c.thickness_um
            out.append((r, r, c.material))
    elif isinstance(shape, Disk):
        r, h = shape.radius_um, shape.thickness_um / 2
        out.append((r, h, shape.material))
        for c in res.coatings:
            r += c.thickness_um
            h += c.thickness_um
            out.append((r, h, c.material))
    else:
        out.append((shape.radius_um, shape.height_um / 2, shape.material))
    return out


def _slab_neff(n_core, n_clad, thickness_um, lam_um, te: bool):
    """Fundamental-mode effective index of a symmetric slab (TE: E in the slab plane)."""
    from scipy.optimize import brentq

    k0 = 2 * math.pi / lam_um
    if math.isinf(thickness_um):
        return n_core

    def f(neff):
        kx = k0 * math.sqrt(max(n_core**2 - neff**2, 0.0))
        g = k0 * math.sqrt(max(neff**2 - n_clad**2, 0.0))
        ratio = 1.0 if te else (n_core / n_clad) ** 2
        return math.tan(kx * thickness_um / 2) - ratio * g / kx if kx > 0 else -1.0

    lo, hi = n_clad * (1 + 1e-9), n_core * (1 - 1e-12)
    # the fundamental mode is on the first branch of tan: kx t/2 < π/2
    hi_branch = math.sqrt(max(n_core**2 - (math.pi / (k0 * thickness_um)) ** 2, 0.0))
    lo = max(lo, hi_branch * (1 + 1e-12)) if hi_branch > n_clad else lo
    try:
        return brentq(f, lo, hi)
    except ValueError:
        return n_clad


def _exact_estimate(res: Resonator, search: Search):
    """The exact modes in the band (spheres and the 2-D limit), else None."""
    if isinstance(res.shape, Sphere) or res.is_2d:
        return exact.solve(res, search).modes
    return None


def _choose_m(res: Resonator, search: Search, f_centre: float, estimate=None) -> tuple[int, ...]:
    """Azimuthal numbers of the modes in the band, from the exact solver (spheres, 2-D) or
    from the 2-D solver with the slab effective index of the finite height (disks, rings)."""
    from wgm.model.materials import ConstantIndex
    from wgm.model.resonator import Coating

    lam_nm = units.wavelength_nm_from_freq(f_centre)
    if estimate is not None:
        return tuple(sorted({m.l for m in estimate}))
    shape = res.shape
    height = shape.thickness_um if isinstance(shape, Disk) else shape.height_um
    n_b = res.surroundings.n_at(lam_nm).real
    if res.substrate is not None:
        n_b = max(n_b, res.substrate.n_at(lam_nm).real)
    ms = set()
    for te_slab in (True, False):
        n_core = shape.material.n_at(lam_nm).real
        neff = _slab_neff(n_core, n_b, height, lam_nm / 1000, te_slab)
        if isinstance(shape, Disk):
            flat = Disk(shape.radius_um, math.inf, ConstantIndex(neff))
            coats = tuple(Coating(c.thickness_um, ConstantIndex(max(neff, c.material.n_at(lam_nm).real)),
                                  index_in_stack=i) for i, c in enumerate(res.coatings))
        else:
            flat = Ring(shape.radius_um, shape.width_um, math.inf, ConstantIndex(neff))
            coats = ()
        flat_res = Resonator(flat, coats, ConstantIndex(n_b))
        spec = exact.solve(flat_res, Search(search.wavelength_nm, search.max_radial_order,
                                            ("TM",) if te_slab else ("TE",)))
        ms.update(m.l for m in spec.modes)
    if not ms:
        return ()
    lo, hi = min(ms), max(ms)
    return tuple(range(max(lo - 1, 1), hi + 2))


def _inner_cut_um(m: int, n_max: float, f_hi: float, density: float) -> float:
    """Radius below which a field ``∝ exp(imφ)`` has decayed: there, ``ρ < m/(n k)`` for every
    material and frequency of the band, the field is evanescent in ρ (the centrifugal barrier).
    Its decay is bounded by the 2-D mode's ``J_m(n k ρ)`` with the densest index and the
    highest frequency (a sphere's ``j_l``, l >= m, decays sooner): the cut is where
    ``J_m²`` is ``density`` times its first maximum."""
    from scipy.special import jv

    k = n_max * units.wavenumber_per_um(f_hi)
    xs = np.linspace(m, m + 3 * m ** (1 / 3) + 3, 400)
    peak = float(np.max(jv(m, xs) ** 2))
    x_peak = float(xs[np.argmax(jv(m, xs) ** 2)])

    def log_ratio(x):
        v = float(jv(m, x)) ** 2
        return math.log(v / peak) if v > 0 else -math.inf

    target = math.log(density)
    lo, hi = 1e-9, x_peak  # log_ratio(lo) < target < log_ratio(hi) = 0; J_m rises monotonically in between
    if log_ratio(lo) >= target:
        return 0.0
    for _ in range(80):
        mid = 0.5 * (lo + hi)
        if log_ratio(mid) < target:
            lo = mid
        else:
            hi = mid
    return lo / k


def _polar_cut(p_max: int, share: float) -> float:
    """Smallest ξ such that the Hermite–Gauss functions ``H_p(ξ) exp(−ξ²/2)``, p <= p_max,
    have at most ``share`` of their |.|² beyond ±ξ.  Near the equator a sphere mode (l, m)
    goes as ``H_{l−m}(√m z/r) exp(−m z²/2r²)`` (its ``(1−u²)^{m/2}`` decays faster than the
    Gaussian, so the estimate is conservative)."""
    from numpy.polynomial import hermite

    xi = np.linspace(0.0, 14.0, 14001)
    worst = 0.0
    for p in range(p_max + 1):
        coef = np.zeros(p + 1)
        coef[p] = 1.0
        dens = (hermite.hermval(xi, coef) * np.exp(-xi**2 / 2)) ** 2
        tail = np.cumsum(dens[::-1])[::-1]
        tail = tail / tail[0]
        idx = int(np.argmax(tail < share)) if np.any(tail < share) else len(xi) - 1
        worst = max(worst, float(xi[idx]))
    return worst


def _reduced_domain(res: Resonator, settings: FdtdSettings, m_values, n_core, f_hi, estimate, z_half_full,
                    quantum):
    """(r_min, z_half) of the reduced domain, in whole quanta; (0, z_half_full) when nothing is saved.

    The wall is inside the core (at most 0.5 µm below its surface), where the field obeys the
    core's Helmholtz equation: ``n_core`` sets the caustic."""
    if not m_values or min(m_values) < 2:
        return 0.0, z_half_full
    m_min = min(m_values)
    r_core = _layers_outward(res)[0][0]
    r_min = _inner_cut_um(m_min, n_core, f_hi, _CUT_DENSITY_R)
    r_min = max(0.0, quantum * math.floor(min(r_min, r_core - 0.5) / quantum))
    z_half = z_half_full
    if isinstance(res.shape, Sphere) and estimate:
        # the share of the energy the z-PML may hold: small against the mode's own loss
        q_ref = min(max(abs(md.Q) for md in estimate), _Q_REF_CAP)
        share = min(_CUT_SHARE_Z / q_ref, 1e-6)
        r_out = _layers_outward(res)[-1][0]
        z_cut = _polar_cut(settings.max_polar_order, share) * r_out / math.sqrt(m_min)
        z_half = min(z_half_full, quantum * math.ceil(z_cut / quantum))
    return r_min, z_half


def plan(res: Resonator, search: Search, settings: FdtdSettings) -> FdtdPlan:
    """Decide cell, PML, resolution and m values (no Meep needed)."""
    f_lo, f_hi = _band_freqs(search)
    f_c = 0.5 * (f_lo + f_hi)
    lam_min_um = units.wavelength_nm_from_freq(f_hi) / 1000.0
    lam_c_um = units.wavelength_nm_from_freq(f_c) / 1000.0
    layers = _layers_outward(res)
    mats = [lay[2] for lay in layers] + [res.surroundings] + ([res.substrate] if res.substrate else [])
    n_max = max(m.n_at(1000 * lam_c_um).real for m in mats)
    thin = [c.thickness_um for c in res.coatings]
    if isinstance(res.shape, Ring):
        thin.append(res.shape.width_um)
    if isinstance(res.shape, Disk) and not res.is_2d:
        thin.append(res.shape.thickness_um)
    if isinstance(res.shape, Ring) and not res.is_2d:
        thin.append(res.shape.height_um)
    warnings = []
    if settings.resolution_px_per_um is not None:
        resolution = float(settings.resolution_px_per_um)
    else:
        resolution = settings.points_per_wavelength * n_max / lam_min_um
        if thin:
            resolution = max(resolution, settings.min_layer_px / min(thin))
        resolution = 4 * math.ceil(resolution / 4)  # a multiple of 4: see the cell rounding below
    ppw = resolution * lam_min_um / n_max
    if ppw < 10:
        warnings.append(f"resolution {resolution:g} px/µm gives {ppw:.1f} px per wavelength in the densest "
                        f"material (n = {n_max:.3g}); below 10 the frequencies are off by more than ~0.1 %")
    if thin and resolution * min(thin) < 2:
        warnings.append(f"the thinnest layer ({1000 * min(thin):.3g} nm) is {resolution * min(thin):.2g} px "
                        f"thick at {resolution:g} px/µm; below 2 px it is not resolved")
    # The r-PML of cylindrical coordinates is only a quasi-PML: Q converges once pad and PML
    # are about two wavelengths each (measured: a coated sphere of Q 6e4 reads 4.8e4 with one
    # wavelength each, 6.20e4 with two or more; exact 6.18e4)
    n_b = res.surroundings.n_at(1000 * lam_c_um).real
    pad = settings.pad_um if settings.pad_um is not None else _PAD_WAVELENGTHS * lam_c_um / n_b
    dpml = settings.pml_um if settings.pml_um is not None else _PML_WAVELENGTHS * lam_c_um / n_b
    r_out = layers[-1][0]
    # whole pixels (Meep otherwise rounds the cell itself, and says so on stdout): sizes are
    # multiples of a quantum that is exact in binary and a whole number of pixels
    quantum = _quantum(resolution)
    cell_r = quantum * math.ceil((r_out + pad + dpml) / quantum)
    if res.is_2d:
        cell_z = 0.0
        mirror = False
    else:
        half = layers[-1][1]
        cell_z = 2 * quantum * math.ceil((half + pad + dpml) / quantum)
        mirror = settings.symmetry and res.substrate is None
    estimate = _exact_estimate(res, search) if settings.m is None or settings.domain != "full" else None
    m_values = tuple(settings.m) if settings.m is not None else _choose_m(res, search, f_c, estimate)
    # the reduced domain: a wall inside the resonator, and (spheres) the modes' z extent
    n_core = layers[0][2].n_at(1000 * lam_c_um).real
    full = FdtdPlan(m_values, resolution, pad, dpml, cell_r, cell_z, mirror, f_lo, f_hi, f_c, 0.0, (), ())
    r_min, z_half = 0.0, cell_z / 2 - dpml
    if settings.domain != "full":
        r_min, z_half = _reduced_domain(res, settings, m_values, n_core, f_hi, estimate, z_half, quantum)
    domain, cut_z = "full", False
    if r_min > 0 or (cell_z and z_half < cell_z / 2 - dpml):
        z_red = 2 * quantum * math.ceil((z_half + dpml) / quantum) if cell_z else 0.0
        red = FdtdPlan(m_values, resolution, pad, dpml, cell_r, z_red, mirror, f_lo, f_hi, f_c, 0.0, (), (),
                       r_min_um=r_min)
        if settings.domain == "reduced" or red.cells <= _AUTO_SAVING * full.cells:
            domain, cut_z = "reduced", bool(cell_z) and z_red < cell_z
            cell_z = z_red
        else:
            r_min = 0.0
    # monitor and source just inside the outer surface of the core (~0.1 λ/n inside)
    mon_r = layers[0][0] - 0.1 * lam_c_um / n_core
    if isinstance(res.shape, Ring):
        mon_r = max(mon_r, res.shape.inner_radius_um + 0.5 * res.shape.width_um)
    if mon_r - r_min < 0.25 * lam_c_um / n_core:
        r_min = max(0.0, quantum * math.floor((mon_r - 0.5 * lam_c_um / n_core) / quantum))
    eps = tuple(_medium_params(m, f_c) for m in mats)
    return FdtdPlan(m_values, resolution, pad, dpml, cell_r, cell_z, mirror, f_lo, f_hi, f_c, mon_r, eps,
                    tuple(warnings), r_min_um=r_min, domain=domain, full_cells=full.cells, cut_z=cut_z)


# --------------------------------------------------------------------------------------
# Building the Meep simulation


def _medium(eps_sigma):
    eps, sigma = eps_sigma
    return mp.Medium(epsilon=eps, D_conductivity=sigma) if sigma else mp.Medium(epsilon=eps)


def _geometry(res: Resonator, pl: FdtdPlan):
    layers = _layers_outward(res)
    n_lay = len(layers)
    media = [_medium(e) for e in pl.eps]
    objs = []
    inf = mp.inf
    if res.substrate is not None:
        half = layers[-1][1]
        depth = pl.cell_z_um / 2 - half
        objs.append(mp.Block(center=mp.Vector3(pl.cell_r_um / 2, 0, -half - depth / 2),
                             size=mp.Vector3(inf, inf, depth), material=media[n_lay + 1]))
    for i in reversed(range(n_lay)):  # outermost first: later objects take precedence
        r, half, _ = layers[i]
        if isinstance(res.shape, Sphere):
            objs.append(mp.Sphere(radius=r, center=mp.Vector3(), material=media[i]))
        elif isinstance(res.shape, Disk):
            h = inf if res.is_2d else 2 * half
            objs.append(mp.Block(center=mp.Vector3(r / 2, 0, 0), size=mp.Vector3(r, inf, h), material=media[i]))
        else:
            w = res.shape.width_um
            h = inf if res.is_2d else 2 * half
            objs.append(mp.Block(center=mp.Vector3(r - w / 2, 0, 0), size=mp.Vector3(w, inf, h),
                                 material=media[i]))
    return objs, media[n_lay]


def _simulation(res, pl: FdtdPlan, m: int, component, fcen, df, parity: int):
    geometry, background = _geometry(res, pl)
    src_r = pl.monitor_r_um
    if src_r * pl.resolution < abs(m) + 2:
        raise SolverError(f"the source at r = {src_r:.3g} µm is within |m| = {abs(m)} pixels of the axis "
                          f"(Meep {mp.__version__} blows up there); raise the resolution or use a larger m")
    pulse = mp.GaussianSource(fcen, fwidth=df, cutoff=_PULSE_CUTOFF)
    sources = [mp.Source(pulse, component=component, center=_points(pl, m)[0])]
    symmetries = [mp.Mirror(mp.Z, phase=parity)] if pl.mirror_z else []
    if pl.r_min_um > 0:
        # a cell off the axis: Meep's cylindrical cell starts at r = geometry_center.x; its
        # inner edge is a metallic wall (the field has decayed there), the others are PML
        pml = [mp.PML(pl.pml_um, direction=mp.R, side=mp.High)]
        if pl.cell_z_um:
            pml.append(mp.PML(pl.pml_um, direction=mp.Z))
    else:
        pml = [mp.PML(pl.pml_um)]  # Meep puts none at r = 0
    return mp.Simulation(cell_size=mp.Vector3(pl.cell_r_um - pl.r_min_um, 0, pl.cell_z_um),
                         geometry_center=mp.Vector3(pl.r_min_um, 0, 0), geometry=geometry,
                         default_material=background, boundary_layers=pml,
                         resolution=pl.resolution, sources=sources, dimensions=mp.CYLINDRICAL, m=m,
                         symmetries=symmetries, force_complex_fields=True)


def _init_sim(sim) -> None:
    """``sim.init_sim()`` with Meep 1.25's stderr warning "grid volume is not an integer number
    of pixels" filtered out: its cylindrical check tests the size in µm rather than in pixels
    and fires for any non-integer size although the grid is exact (checked: a 4.25 µm cell at
    84 px/µm has 357 pixels).  Anything else Meep writes there is passed on to the log."""
    import os
    import sys
    import tempfile

    sys.stderr.flush()
    with tempfile.TemporaryFile() as tmp:
        saved = os.dup(2)
        os.dup2(tmp.fileno(), 2)
        try:
            sim.init_sim()
        finally:
            os.dup2(saved, 2)
            os.close(saved)
        tmp.seek(0)
        text = tmp.read().decode(errors="replace")
    for line in text.splitlines():
        if line.strip() and "not an integer number of pixels" not in line:
            log.warning("meep: %s", line.strip())


def _points(pl: FdtdPlan, m: int):
    """Monitor points: just inside the rim at the equator (also the source), and (finite
    cells) off the equator, where the l = m + 1, m + 2, ... modes have their maxima."""
    pts = [mp.Vector3(pl.monitor_r_um, 0, 0)]
    if pl.cell_z_um:
        pts.append(mp.Vector3(pl.monitor_r_um, 0, 0.6 * pl.monitor_r_um / math.sqrt(m + 1.0)))
    return pts


# --------------------------------------------------------------------------------------
# Running


@dataclass
class _Line:
    freq: float
    decay: float
    amp: complex
    err: float

    @property
    def Q(self):
        return self.freq / (-2 * self.decay) if self.decay else math.inf


class _Recorder:
    """Samples the field at the monitor points every time step, checks for blow-up, logs progress.

    ``step`` is the Meep step function (Meep inspects a plain function's argument count).
    """

    def __init__(self, component, points, label):
        self.component, self.points, self.label = component, points, label
        self.samples = [[] for _ in points]
        self.t_first = None
        self.t_last = None
        self.wall0 = time.monotonic()
        self.last_log = self.wall0
        self.t_expected = None

        def step(sim):
            t = sim.meep_time()
            # Meep also calls step functions when a new run() starts: one sample per time
            # step only, or Harminv sees a non-uniform series and reports spurious lines
            if self.t_last is not None and t <= self.t_last + 1e-9:
                return
            self.t_last = t
            v = [sim.get_field_point(self.component, p) for p in self.points]
            if self.t_first is None:
                self.t_first = t
            for series, value in zip(self.samples, v):
                series.append(value)
            if not np.all(np.isfinite(v)):
                raise SolverError(
                    f"{self.label}: fields blew up (NaN/Inf) at t = {sim.meep_time():.4g}; likely causes: a "
                    f"source within |m| pixels of the axis, a Courant factor too large for the materials, or gain")
            now = time.monotonic()
            if now - self.last_log > 10.0 and self.t_expected:
                t = sim.meep_time()
                rate = t / (now - self.wall0)
                log.info("fdtd %s: t = %.1f, expected up to %.1f (ETA <= %.0f s)", self.label, t,
                         self.t_expected, max((self.t_expected - t) / rate, 0.0))
                self.last_log = now

        self.step = step


def _harminv(samples, dt, f_lo, f_hi):
    if len(samples) < 20:
        return []
    # (a list: Meep 1.25's wrapper aborts the process on a numpy array)
    bands = mp.py_do_harminv([complex(v) for v in samples], float(dt), float(f_lo), float(f_hi), 100, 1.1,
                             _HARMINV_Q_THRESH, math.inf, 0.01, -1.0, -1.0)
    lines = [_Line(f.real, f.imag, complex(amp), abs(err)) for f, amp, err in bands]
    if not lines:
        return []
    top = max(abs(line.amp) for line in lines)
    return [line for line in lines if abs(line.amp) >= _MIN_REL_AMP * top and line.freq > 0]


def _harminv_points(series, dt, f_lo, f_hi):
    """Lines seen at any monitor point; a line seen at several keeps the estimate with the
    smallest error, and its largest amplitude."""
    merged = []
    for samples in series:
        for ln in _harminv(samples, dt, f_lo, f_hi):
            # one line seen at two points: closer than its linewidth or the two error bars
            twin = next((o for o in merged if abs(o.freq - ln.freq) < max(
                1e-4 * ln.freq, 3 * (o.err + ln.err), 0.5 * (abs(o.decay) + abs(ln.decay)))), None)
            if twin is None:
                merged.append(ln)
            elif ln.err < twin.err:
                amp = max(abs(twin.amp), abs(ln.amp))
                twin.freq, twin.decay, twin.err = ln.freq, ln.decay, ln.err
                twin.amp = ln.amp if abs(ln.amp) >= amp else twin.amp
            elif abs(ln.amp) > abs(twin.amp):
                twin.amp = ln.amp
    return sorted(merged, key=lambda c: c.freq)


def _leakage(i, lines, t_dft):
    """Estimated share of line i's DFT that is really its neighbours' Lorentzian tails."""
    li = lines[i]
    leak = 0.0
    for j, lj in enumerate(lines):
        if j != i:
            width = abs(lj.decay) / (2 * math.pi) + 1.0 / max(t_dft, 1e-9)
            leak += abs(lj.amp) / math.hypot(1.0, (li.freq - lj.freq) / width)
    return leak / max(abs(li.amp), 1e-300)


def _same_line(a, b) -> bool:
    """Two Harminv estimates of one line: closer than their widths or error bars."""
    return abs(a.freq - b.freq) <= max(2 * (abs(a.decay) + abs(b.decay)), 10 * (a.err + b.err), 1e-5 * a.freq)


def _dft_volume(pl):
    r_max = pl.cell_r_um - pl.pml_um
    return mp.Volume(center=mp.Vector3(0.5 * (pl.r_min_um + r_max), 0, 0),
                     size=mp.Vector3(r_max - pl.r_min_um, 0, 2 * pl.z_half_um))


_COMPONENTS = ("Er", "Ep", "Ez", "Hr", "Hp", "Hz")


def _ringdown(res, pl, m, component, parity, label, max_periods, fcen=None, df=None, target=None):
    """One simulation: a pulse, then the ring-down analysed in chunks until every line settles.

    The lines are located by Harminv after a first stretch of ring-down; DFT monitors at
    their frequencies are added then, so the field profiles integrate the pure ring-down.
    Every chunk, Harminv analyses the whole record over the band; each line is followed to
    the nearest line of the new analysis.

    The run stops when the lines that matter have settled: with ``target`` (a narrow-band
    pass) the line nearest that frequency; otherwise every line at least ``_MUST_SETTLE_AMP``
    as strong as the strongest (weaker lines get narrow-band passes of their own).

    Returns ``[(line, settled, (fields, eps), leakage), ...]``: ``leakage`` estimates how much
    of the line's DFT field is its neighbours' (then a narrow-band pass is needed).
    """
    f_lo, f_hi = pl.f_lo, pl.f_hi
    if fcen is None:
        fcen, df = pl.f_centre, 1.3 * (f_hi - f_lo) + 0.05 * pl.f_centre
    sim = _simulation(res, pl, m, component, fcen, df, parity)
    dt = 0.5 / pl.resolution  # Meep's Courant factor 0.5
    # Sample every step: the grid carries content up to ~1/(π Δt), which decimation would
    # alias into the band (seen as spurious lines); Harminv on 1e4-1e5 samples is cheap.
    rec = _Recorder(mp.Ez if component == mp.Ez else mp.Hz, _points(pl, m), label)
    t_src = 2 * _PULSE_CUTOFF / df
    locate = _BROADBAND_PERIODS / pl.f_centre
    rec.t_expected = t_src + locate + max_periods / pl.f_centre
    n_min = (t_src + locate + 2 * _CHUNK_PERIODS / pl.f_centre) / dt
    log.info("fdtd %s: %d cells, at least %.0f steps (%.2g cell updates); ring-down until Harminv settles",
             label, pl.cells, n_min, n_min * pl.cells)
    _init_sim(sim)
    sim.run(until=t_src)
    sim.run(rec.step, until=locate)
    sdt = sim.fields.dt
    lines = [ln for ln in _harminv_points(rec.samples, sdt, 0.97 * f_lo, 1.03 * f_hi)
             if 0.995 * f_lo <= ln.freq <= 1.005 * f_hi]
    if not lines:
        return []
    comps = [getattr(mp, c) for c in _COMPONENTS]
    dfts = [sim.add_dft_fields(comps, ln.freq, 0, 1, where=_dft_volume(pl)) for ln in lines]
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
        found = _harminv_points(rec.samples, sdt, 0.97 * f_lo, 1.03 * f_hi)
        log.debug("fdtd %s: t = %.1f: %s", label, sim.meep_time(),
                  ", ".join(f"{units.wavelength_nm_from_freq(c.freq):.4f} nm Q {c.Q:.4g} err {c.err:.1e}"
                            for c in found))
        for i, ln in enumerate(lines):
            if settled[i] or not found:
                continue
            ref = best[i]
            cur = min(found, key=lambda c: abs(c.freq - ref.freq))
            if not _same_line(cur, ref):
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
            # nothing more to learn once the line has rung down by ~20 e-folds
            if cur.decay < 0 and -2 * math.pi * cur.decay * elapsed > 20:
                settled[i] = True
            prev[i] = cur
    log.info("fdtd %s: ring-down of %.0f periods, %d line(s), %d settled", label,
             (sim.meep_time() - t_src) * pl.f_centre, len(lines), sum(settled.values()))
    eps = sim.get_array(component=mp.Dielectric, vol=_dft_volume(pl))
    t_dft = sim.meep_time() - t_dft0
    final = [best[i] for i in range(len(lines))]
    if vanished:
        log.info("fdtd %s: %d transient line(s) left out (seen when the lines were located, not after)",
                 label, len(vanished))
    kept = [i for i in range(len(lines)) if i not in vanished]
    kept_final = [final[i] for i in kept]
    out = []
    for k, i in enumerate(kept):
        fields = {c: sim.get_dft_array(dfts[i], getattr(mp, c), 0) for c in _COMPONENTS}
        out.append((final[i], settled[i], (fields, eps), _leakage(k, kept_final, t_dft)))
    return out


def _profile(fields_eps, pl: FdtdPlan, res: Resonator):
    """Arrange DFT arrays as (r, z) grids and measure the field energy per component."""
    fields, eps = fields_eps
    arrs = {}
    r_max = pl.cell_r_um - pl.pml_um
    for c, a in fields.items():  # keyed by component name
        a = np.atleast_2d(np.asarray(a))
        if pl.cell_z_um:
            a = a.T  # Meep returns cylindrical (r, z) slices as [z, r]
        else:
            a = a.reshape(-1, 1)
        arrs[c] = a
    e = np.asarray(eps, dtype=float)
    e = e.T if pl.cell_z_um else e.reshape(-1, 1)
    nr, nz = arrs["Ez"].shape
    r = np.linspace(pl.r_min_um, r_max, nr)
    z = np.linspace(-pl.z_half_um, pl.z_half_um, nz) if nz > 1 else np.zeros(1)
    w = r[:, None] * np.ones((1, nz))  # cylindrical volume element 2π r dr dz (constant factors drop)
    if e.shape != (nr, nz):
        e = np.ones((nr, nz))
    energy = {}
    for c, a in arrs.items():
        weight = e if c.startswith("E") else 1.0
        energy[c] = float(np.sum(weight * np.abs(a) ** 2 * w))
    # the components normal to the outer surface: r̂ of the sphere, or r̂ of a cylinder wall
    if isinstance(res.shape, Sphere):
        rho = np.hypot(r[:, None], z[None, :])
        rho[rho == 0] = 1.0
        cr, cz = r[:, None] / rho, z[None, :] / rho
        e_n = cr * arrs["Er"] + cz * arrs["Ez"]
        h_n = cr * arrs["Hr"] + cz * arrs["Hz"]
    else:
        e_n, h_n = arrs["Er"], arrs["Hr"]
    energy["E_normal"] = float(np.sum(e * np.abs(e_n) ** 2 * w))
    energy["H_normal"] = float(np.sum(np.abs(h_n) ** 2 * w))
    return r, z, e, arrs, energy


def _layer_map(res: Resonator, pl: FdtdPlan, r, z):
    """Index into ``pl.eps`` (layers from the core outward, surroundings, substrate) of every
    (r, z) point."""
    layers = _layers_outward(res)
    n_lay = len(layers)
    rr, zz = np.meshgrid(r, z, indexing="ij")
    idx = np.full(rr.shape, n_lay)
    if res.substrate is not None:
        idx[zz < -layers[-1][1]] = n_lay + 1
    for j in reversed(range(n_lay)):  # inner layers take precedence
        radius, half, _ = layers[j]
        if isinstance(res.shape, Sphere):
            inside = np.hypot(rr, zz) <= radius
        else:
            inside = (rr <= radius) & (np.abs(zz) <= half)
            if isinstance(res.shape, Ring):
                inside &= rr >= res.shape.inner_radius_um
        idx[inside] = j
    return idx


def _conductivity_correction(res, pl: FdtdPlan, r, z, eps, arrs, freq) -> float:
    """δ(1/Q) that turns Meep's conductivity losses at ``freq`` into those of the band-centre
    ``Im ε`` the material has in the model (first-order perturbation theory:
    ``δ(1/Q) = Σ_j δIm ε_j ∫_j |E|² / ∫ Re ε |E|²``).  Meep's ``D_conductivity`` gives
    ``Im ε = ε σ/ω``, right at the band centre only: a line 5 % away would otherwise carry 5 %
    too much or too little absorption (or gain)."""
    if not any(sigma for _, sigma in pl.eps):
        return 0.0
    e2 = sum(np.abs(arrs[c]) ** 2 for c in ("Er", "Ep", "Ez")) * r[:, None]
    denom = float(np.sum(eps * e2))
    if denom <= 0:
        return 0.0
    where = _layer_map(res, pl, r, z)
    delta = 0.0
    for j, eps_sigma in enumerate(pl.eps):
        if eps_sigma[1]:
            delta += (_im_eps(eps_sigma, pl.f_centre) - _im_eps(eps_sigma, freq)) * float(np.sum(e2[where == j]))
    return delta / denom


def _classify(energy):
    """Mie convention: TE has (almost) no electric field normal to the outer surface, TM no
    magnetic field.  Returns the polarization and the two normal-energy fractions."""
    e_tot = energy["Er"] + energy["Ep"] + energy["Ez"]
    h_tot = energy["Hr"] + energy["Hp"] + energy["Hz"]
    e_frac = energy["E_normal"] / e_tot if e_tot else 0.0
    h_frac = energy["H_normal"] / h_tot if h_tot else 0.0
    return ("TE" if e_frac < h_frac else "TM"), e_frac, h_frac


def _identify(res, pol, m, lam_nm, reference):
    """(l, q) of the exact mode this FDTD line is (spheres, 2-D limit), else (None, None)."""
    if reference is None:
        return None, None
    cands = [md for md in reference.modes if md.polarization == pol and md.l >= m
             and (not res.is_2d or md.l == m)]
    if not cands:
        return None, None
    best = min(cands, key=lambda md: abs(md.wavelength_nm - lam_nm))
    if abs(best.wavelength_nm - lam_nm) > 0.005 * lam_nm:
        return None, None
    return best.l, best.radial_order


def _radial_order_from_nodes(r, z, arrs, res):
    """Count maxima of |E|² along the equator inside the resonator (finite shapes)."""
    iz = int(np.argmin(np.abs(z)))
    e2 = sum(np.abs(arrs[c][:, iz]) ** 2 for c in ("Er", "Ep", "Ez"))
    r_out = _layers_outward(res)[-1][0]
    inside = e2[r <= r_out]
    if inside.size < 3:
        return None
    peak = inside.max()
    maxima = np.nonzero((inside[1:-1] > inside[:-2]) & (inside[1:-1] >= inside[2:]) & (inside[1:-1] > 0.05 * peak))[0]
    return int(len(maxima)) if len(maxima) else None


def _record(res, search, pl, m, component, found, settled, fe, reference):
    """A Mode and its FieldProfile from one settled line (None if outside the search)."""
    r, z, eps, arrs, energy = _profile(fe, pl, res)
    pol, e_normal, h_normal = _classify(energy)
    if pl.cell_z_um == 0:  # the 2-D limit: E_z and H_z families are exactly separate
        pol = "TE" if component == mp.Ez else "TM"
    lam = units.wavelength_nm_from_freq(found.freq)
    if not (search.wavelength_nm[0] <= lam <= search.wavelength_nm[1]) or pol not in search.polarizations:
        return None, None
    l, q = _identify(res, pol, m, lam, reference)
    note = []
    if q is None:
        q = _radial_order_from_nodes(r, z, arrs, res)
        if q is not None:
            note.append("radial order from the field's radial maxima")
    if q is not None and q > search.max_radial_order:
        return None, None
    resolved = found.decay < 0 and abs(found.decay) > _RESOLVED_DECAY_OVER_ERR * found.err
    Q = found.Q
    d_inv_q = _conductivity_correction(res, pl, r, z, eps, arrs, found.freq)
    if d_inv_q and resolved:
        Q = 1.0 / (1.0 / Q + d_inv_q)
        if abs(Q / found.Q - 1) > 1e-3:
            note.append(f"Q {100 * (Q / found.Q - 1):+.2g} % for the conductivity's 1/ω dispersion "
                        f"(absorption taken at the band centre, as in the exact comparison)")
    if not resolved:
        Q = found.freq / (2 * (abs(found.decay) + _RESOLVED_DECAY_OVER_ERR * found.err))
        note.append("Q is a lower bound (decay not resolved in the run)")
    if not settled:
        note.append("Harminv did not settle within the time limit")
    R = res.outer_radius_um
    mode = Mode(polarization=pol, l=l, m=m, radial_order=q, wavelength_nm=lam, Q=Q, fsr_nm=None, degeneracy=2,
                size_parameter=(units.wavenumber_per_um(found.freq) * R,
                                -units.wavenumber_per_um(found.freq) * R / (2 * Q) if resolved
                                else units.wavenumber_per_um(found.decay) * R),
                q_resolved=resolved, harminv_error=float(found.err), note="; ".join(note))
    prof = FieldProfile(mode=mode, r_um=r, z_um=z, epsilon=eps, fields=arrs,
                        e_normal_fraction=e_normal, h_normal_fraction=h_normal)
    return mode, prof


def _classes(res, pl, search, settings):
    """The mirror classes to run: (source component, mirror phase).  With the z mirror, the
    E_z class holds a sphere's TE modes of even polar order l − m and TM modes of odd order,
    the H_z class the others; in a reduced cell (polar orders <= max_polar_order) a class
    that holds no wanted family is skipped."""
    classes = [(mp.Ez, -1), (mp.Hz, +1)]
    if not (pl.mirror_z and pl.domain == "reduced" and isinstance(res.shape, Sphere)):
        return classes
    odd = settings.max_polar_order >= 1
    want_ez = "TE" in search.polarizations or ("TM" in search.polarizations and odd)
    want_hz = "TM" in search.polarizations or ("TE" in search.polarizations and odd)
    return [c for c, want in zip(classes, (want_ez, want_hz)) if want]


def _solve_m(res, search, pl, m, settings, reference):
    """The modes of one azimuthal number: [(Mode, FieldProfile), ...]."""
    out = []
    for component, parity in _classes(res, pl, search, settings):
        label = f"m={m} {'Ez' if component == mp.Ez else 'Hz'}"
        results = _ringdown(res, pl, m, component, parity, label, settings.max_periods)
        pool = []  # settled lines of this class's narrow-band passes, reused for their neighbours
        for k, (line, settled, fe, leak) in enumerate(results):
            note = ""
            if not settled or leak > _MAX_LEAKAGE:
                others = [o for j, (o, *_) in enumerate(results) if j != k]
                gap = min([abs(line.freq - o.freq) for o in others] + [0.05 * line.freq])
                width = max([abs(line.decay)] + [abs(o.decay) for o in others
                                                  if abs(line.freq - o.freq) == gap]) / math.pi
                reuse = [t for t in pool if _same_line(t[0], line)]
                if reuse:
                    line, settled, fe = reuse[0][:3]
                elif gap < _UNRESOLVABLE_GAP * width:
                    # a neighbour within its linewidth: no pulse separates the two fields, and a
                    # narrow-band pass would only ring down longer (Harminv still separates the
                    # lines' frequencies and Q; an unsettled estimate is noted as such)
                    note = (f"field mixed with a line {1000 * abs(units.wavelength_nm_from_freq(line.freq + gap) - units.wavelength_nm_from_freq(line.freq)):.3g} pm away "
                            "(within the linewidths)")
                else:
                    # a narrow-band pass on this line alone: a clean signal for Harminv and a
                    # field profile free of its (stronger) neighbours; the pulse lasts ~6/df:
                    # below _MIN_NARROW_DF the pass would cost more than it isolates
                    df = max(min(0.5 * gap, 0.05 * line.freq), 4 * abs(line.decay) / (2 * math.pi),
                             _MIN_NARROW_DF * line.freq)
                    log.info("fdtd %s: narrow-band pass at %.2f nm (%s)", label,
                             units.wavelength_nm_from_freq(line.freq),
                             "not settled" if not settled else f"neighbours {100 * leak:.0f} % of its field")
                    again = _ringdown(res, pl, m, component, parity, label + " narrow",
                                      settings.max_periods, fcen=line.freq, df=df, target=line.freq)
                    pool += [t for t in again if t[1]]
                    if again:
                        line, settled, fe, _ = min(again, key=lambda t: abs(t[0].freq - line.freq))
            mode, prof = _record(res, search, pl, m, component, line, settled, fe, reference)
            if mode is not None:
                if note:
                    mode = dataclasses.replace(mode, note="; ".join(x for x in (mode.note, note) if x))
                out.append((mode, prof))
    return out


def _cut_shares(prof, pl):
    """Shares of the mode's electric energy within ``_GUARD_BAND`` wavelengths of the inner
    wall and of the z-PML of a reduced cell: (inner, z)."""
    e2 = sum(np.abs(prof.fields[c]) ** 2 for c in ("Er", "Ep", "Ez")) * prof.epsilon * prof.r_um[:, None]
    total = float(np.sum(e2)) or 1.0
    band = _GUARD_BAND * units.wavelength_nm_from_freq(pl.f_centre) / 1000.0
    inner = float(np.sum(e2[prof.r_um < pl.r_min_um + band, :])) / total if pl.r_min_um > 0 else 0.0
    z_share = 0.0
    if pl.cut_z:
        z_share = float(np.sum(e2[:, np.abs(prof.z_um) > pl.z_half_um - band])) / total
    return inner, z_share


def _cut_too_large(mode, shares) -> bool:
    """The cut is not negligible: the inner wall could shift the mode by more than
    ``_GUARD_INNER`` or the z-PML take more than ``_GUARD_Z_LOSS`` of its loss."""
    inner, z_share = shares
    return inner > _GUARD_INNER or z_share * abs(mode.Q) > _GUARD_Z_LOSS


def _is_target(mode, settings) -> bool:
    """A mode the reduced cell is meant to hold (polar order known and small, or unknown)."""
    return mode.l is None or mode.l - abs(mode.m) <= settings.max_polar_order


def _widen(pl, res):
    """The reduced cell with the inner wall halfway to the axis and the z cut 1.5 times farther."""
    q = _quantum(pl.resolution)
    r_min = q * math.floor(0.5 * pl.r_min_um / q)
    cell_z = pl.cell_z_um
    if pl.cut_z:
        cell_z = 2 * q * math.ceil((1.5 * pl.z_half_um + pl.pml_um) / q)
    wider = dataclasses.replace(pl, r_min_um=r_min, cell_z_um=cell_z)
    full = _full_domain(pl, res)
    return full if wider.cells >= full.cells or cell_z >= full.cell_z_um else wider


def _full_domain(pl, res):
    layers = _layers_outward(res)
    q = _quantum(pl.resolution)
    cell_z = 2 * q * math.ceil((layers[-1][1] + pl.pad_um + pl.pml_um) / q) if pl.cell_z_um else 0.0
    return dataclasses.replace(pl, r_min_um=0.0, cell_z_um=cell_z, domain="full", cut_z=False)


def use_process_groups(n_groups: int) -> None:
    """Run each later simulation within one of ``n_groups`` equal groups of MPI ranks
    (contiguous blocks of ranks), for independent simulations side by side (sweeps).

    Meep 1.25's ``merge_subgroup_data`` is broken with numpy >= 1.24; nothing here needs
    it: the sweep scheduler passes results between groups with mpi4py.
    """
    if mp is None:
        raise UserError("--method fdtd needs Meep (python3-meep-mpi-default or conda-forge pymeep)")
    if n_groups > 1:
        mp.divide_parallel_processes(n_groups)


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
        ``method = "fdtd"``; each mode carries ``harminv_error`` and ``q_resolved``, and
        ``l``/``radial_order`` where the exact solver identifies it.  ``profiles`` holds the
        (r, z) field of every mode.
    """
    _need_meep()
    settings = settings or FdtdSettings()
    search = settings.band(search)
    mp.verbosity(0)
    res.check_band(search.wavelength_nm)
    pl = plan(res, search, settings)
    for w in pl.warnings:
        log.warning("fdtd: %s", w)
    if not pl.m_values:
        log.warning("fdtd: no azimuthal numbers with modes in the band; give [fdtd] m = [...]")
    reference = None
    if isinstance(res.shape, Sphere) or res.is_2d:
        # identify lines against the exact modes of the model FDTD simulates: materials frozen
        # at the band centre (a wider band and more radial orders, so that no neighbour is missing)
        lam_c = units.wavelength_nm_from_freq(pl.f_centre)
        lo, hi = search.wavelength_nm
        reference = exact.solve(res.frozen_at(lam_c), Search((0.99 * lo, 1.01 * hi),
                                                             max(search.max_radial_order, 3) + 2))
    log.info("fdtd: m = %s, resolution %g px/µm, %s cell r = %.4g..%.4g µm, |z| <= %.4g µm (PML %.3g "
             "included), pad %.3g, mirror z: %s; %d cells (full domain: %d)", list(pl.m_values), pl.resolution,
             pl.domain, pl.r_min_um, pl.cell_r_um, pl.cell_z_um / 2, pl.pml_um, pl.pad_um, pl.mirror_z, pl.cells,
             pl.full_cells)
    modes, profiles, cells = [], [], []
    t_start = time.monotonic()
    for i_m, m in enumerate(pl.m_values):
        pl_m = pl
        for widening in range(_MAX_WIDENINGS + 1):
            got = _solve_m(res, search, pl_m, m, settings, reference)
            if pl_m.domain != "reduced":
                break
            cut = [(md, prof, _cut_shares(prof, pl_m)) for md, prof in got]
            bad = [(md, c) for md, prof, c in cut if _cut_too_large(md, c) and _is_target(md, settings)]
            if not bad:
                break
            md, c = bad[0]
            pl_m = _widen(pl_m, res) if widening < _MAX_WIDENINGS else _full_domain(pl_m, res)
            log.warning("fdtd m=%d: the %s mode at %.3f nm has %.2g of its energy at the inner wall and %.2g at "
                        "the z cut of the reduced cell: widening it to r >= %.4g µm, |z| <= %.4g µm", m,
                        md.family, md.wavelength_nm, c[0], c[1], pl_m.r_min_um, pl_m.cell_z_um / 2)
        for md, prof in got:
            if pl_m.domain == "reduced":
                c = _cut_shares(prof, pl_m)
                if _cut_too_large(md, c):
                    log.info("fdtd m=%d: %s l=%s at %.3f nm left out: it reaches the cut of the reduced cell "
                             "(polar order l - m > max_polar_order = %d)", m, md.polarization, md.l,
                             md.wavelength_nm, settings.max_polar_order)
                    continue
            modes.append(md)
            profiles.append(prof)
        cells.append({"m": m} | pl_m.describe())
        done = i_m + 1
        elapsed = time.monotonic() - t_start
        eta = elapsed / done * (len(pl.m_values) - done)
        log.info("fdtd: m = %d done (%d/%d), %.0f s elapsed, ETA %.0f s", m, done, len(pl.m_values), elapsed, eta)
    # a narrow-band pass that lands on a line already found (a spurious Harminv line was its
    # target) would report that mode twice: keep one per (m, polarization, frequency)
    keep = []
    for i, md in enumerate(modes):
        if not any(modes[j].m == md.m and modes[j].polarization == md.polarization
                   and abs(modes[j].wavelength_nm / md.wavelength_nm - 1) < _SAME_LINE for j in keep):
            keep.append(i)
    order = sorted(keep, key=lambda i: modes[i].wavelength_nm)
    return ModeSpectrum(resonator=res, search=search, method="fdtd", modes=tuple(modes[i] for i in order),
                        profiles=tuple(profiles[i] for i in order), run_info={"fdtd_cells": cells})



# --------------------------------------------------------------------------------------
# Above threshold: saturable two-level gain
#
# One azimuthal number m, the 2-D limit (a 1-D cell in r).  The gain region's layers get a
# Meep MultilevelAtom (level 1 pumped to 2 at R_p, 2 decays to 1 at Γ21, a Lorentzian 2 → 1
# line) on top of their background ε.  Caveat (Meep's multilevel-atom.cpp): with the complex
# fields of m ≠ 0 the population update sees one travelling e^{imφ} wave, so a run cannot
# model competition between ±m or standing-wave hole burning in φ.

_LASING_PERIODS_PER_SAMPLE = 0.2   # the flux and phase are sampled five times per optical period
_LASING_WINDOW_PERIODS = 100       # shortest averaging window, in optical periods
_LASING_WINDOW_TIMES = 3.0         # ... and at least this many photon lifetimes and population times
_LASING_MAX_WINDOWS = 200          # default time limit, in windows
_LASING_SMALL_SEED = 1e-4          # a below-threshold run starts at this share of the lasing level
_LASING_LINEAR = 1e-3              # "far below the lasing level": below this share of it
_LASING_CONST_RATE = 0.05          # a decay rate that changes less than this between windows is constant


def _lasing_geometry(res, pl, prediction, model, pump_rate):
    """The passive geometry with the region's media replaced by background + two-level atom."""
    geometry, background = _geometry(res, pl)
    layers = res.region_layers(model.region, "lasing.region")
    g21, n0 = prediction.decay_rate, prediction.density
    n2 = n0 * pump_rate / (pump_rate + g21)  # start at the unsaturated steady state: no population transient
    for lay, sigma in zip(layers, prediction.couplings):
        eps, cond = pl.eps[lay]
        s = mp.Vector3(sigma, sigma, sigma)  # isotropic film
        transitions = [mp.Transition(1, 2, pumping_rate=pump_rate, frequency=prediction.transition_frequency,
                                     gamma=prediction.linewidth_frequency, sigma_diag=s),
                       mp.Transition(2, 1, transition_rate=g21)]
        atom = mp.MultilevelAtom(sigma=1.0, transitions=transitions, initial_populations=[n0 - n2, n2])
        medium = mp.Medium(epsilon=eps, D_conductivity=cond, E_susceptibilities=[atom]) if cond else \
            mp.Medium(epsilon=eps, E_susceptibilities=[atom])
        geometry[len(geometry) - 1 - lay].material = medium  # objects are listed outermost first
    return geometry, background


class _FluxProbe:
    """Samples the outward Poynting flux per unit height through the cylinder r = r_flux,
    P = 2π r · ½ Re(E_φ H_z* − E_z H_φ*) (the cycle average of one e^{−iωt} wave), the
    field phase at the monitor point (frequency) and |E|² in the gain film."""

    def __init__(self, r_flux, r_mon, r_film, component):
        self.pf, self.pm, self.pg = mp.Vector3(r_flux), mp.Vector3(r_mon), mp.Vector3(r_film)
        self.component = component
        self.r = r_flux
        self.t, self.power, self.phase, self.film = [], [], [], []

        def step(sim):
            g = sim.get_field_point
            ez, hp, ep, hz = (g(c, self.pf) for c in (mp.Ez, mp.Hp, mp.Ep, mp.Hz))
            self.t.append(sim.meep_time())
            self.power.append(math.pi * self.r * (ep * np.conj(hz) - ez * np.conj(hp)).real)
            self.phase.append(np.angle(g(self.component, self.pm)))
            self.film.append(abs(g(mp.Ez, self.pg)) ** 2 + abs(g(mp.Er, self.pg)) ** 2 + abs(g(mp.Ep, self.pg)) ** 2)
            if not math.isfinite(self.power[-1]):
                raise SolverError(f"lasing: fields blew up (NaN/Inf) at t = {sim.meep_time():.4g}: the coupling "
                                  f"σ may be too large for the time step (raise the resolution)")

        self.step = step

    def window(self, t0):
        """Samples since t0: times, powers, phases."""
        i = int(np.searchsorted(np.asarray(self.t), t0))
        return np.asarray(self.t[i:]), np.asarray(self.power[i:]), np.asarray(self.phase[i:])


def _window_stats(t, p, ph):
    mean = float(np.mean(p))
    pos = p > 0
    rate = float(np.polyfit(t[pos], np.log(p[pos]), 1)[0]) if pos.sum() > 3 else math.nan
    # e^{−iωt}: the phase falls by 2π f per unit time
    f = float(-np.polyfit(t, np.unwrap(ph), 1)[0] / (2 * math.pi)) if len(t) > 3 else math.nan
    return mean, rate, f


def _lasing_sim(res, pl, m, component, geometry, background, fcen, amplitude):
    df = 0.05 * fcen
    pulse = mp.GaussianSource(fcen, fwidth=df, cutoff=_PULSE_CUTOFF)
    # a complex (e^{−iωt}) seed: one travelling wave, the one the population update models
    src = mp.Source(pulse, component=component, center=_points(pl, m)[0], amplitude=amplitude)
    sim = mp.Simulation(cell_size=mp.Vector3(pl.cell_r_um, 0, pl.cell_z_um), geometry=geometry,
                        default_material=background, boundary_layers=[mp.PML(pl.pml_um)],
                        resolution=pl.resolution, sources=[src], dimensions=mp.CYLINDRICAL, m=m,
                        force_complex_fields=True)
    _init_sim(sim)
    return sim, 2 * _PULSE_CUTOFF / df


def lasing_curve(res: Resonator, model, prediction=None, settings: FdtdSettings | None = None):
    """FDTD light-in/light-out curve of one mode with a saturable two-level gain film.

    Parameters
    ----------
    res : Resonator
        A disk or ring in the 2-D limit (infinite thickness: a 1-D cell in r, z-invariant).
    model : wgm.gain.TwoLevelGain
        The mode (m, polarization, radial order), the gain region, the two-level line and the
        pump rates (relative to the predicted threshold).
    prediction : wgm.gain.LasingPrediction, optional
        From :func:`wgm.gain.predict_lasing_threshold` (computed if not given): it fixes the
        model's couplings and the pump-rate unit.
    settings : FdtdSettings, optional
        Resolution, pad and PML overrides.

    Returns
    -------
    wgm.gain.LasingCurve
        For each pump rate: the output power (outward Poynting flux per µm of height through
        a cylinder in the middle of the pad, averaged over the last window), the lasing
        wavelength (from the phase of the field) and whether the run reached steady state.

    Steady state: the run is cut into windows of at least 100 optical periods and three
    photon lifetimes and population times.  It is *lasing* once two consecutive window means
    agree within ``model.settle_rel`` and so does their geometric (Aitken) extrapolation;
    *below threshold* once the power decays at a constant rate (within 5 % between windows)
    while below 10⁻³ of the lasing level (the linear regime: the steady state is zero
    output); otherwise, at the time limit (``model.max_time_ps``, default 200 windows),
    *not settled*.  Seeds (a Gaussian pulse at the mode) are chosen near the expected level,
    which shortens the runs but does not set the result: the steady state is an attractor.
    """
    from wgm.lasing import LasingCurve, LasingPoint, predict_lasing_threshold
    from wgm.model.resonator import Search

    _need_meep()
    if not res.is_2d:
        raise UserError("wgm lasing runs the 2-D limit only (a disk or ring with thickness_um/height_um = inf: "
                        "a 1-D cell in r); finite shapes would need the flux through a closed surface in (r, z)")
    if prediction is None:
        prediction = predict_lasing_threshold(res, model)
    settings = settings or FdtdSettings()
    mp.verbosity(0)
    frozen = res.frozen_at(prediction.gain.wavelength_nm)
    f0 = prediction.frequency
    band = Search((units.wavelength_nm_from_freq(1.01 * f0), units.wavelength_nm_from_freq(0.99 * f0)), 1)
    from dataclasses import replace as _replace

    # the full cell (from the axis): the two-level runs are cheap 1-D cells
    pl = plan(frozen, band, _replace(settings, m=(model.m,), symmetry=False, wavelength_nm=None, domain="full"))
    for w in pl.warnings:
        log.warning("lasing: %s", w)
    m = model.m
    if pl.monitor_r_um * pl.resolution < abs(m) + 2:
        raise SolverError(f"the seed at r = {pl.monitor_r_um:.3g} µm is within |m| = {m} pixels of the axis")
    component = mp.Ez if model.polarization == "TE" else mp.Hz
    layers = _layers_outward(frozen)
    r_out = layers[-1][0]
    r_flux = r_out + 0.5 * pl.pad_um
    lay = frozen.region_layers(model.region, "lasing.region")[0]
    r_inner = 0.0 if lay == 0 else layers[lay - 1][0]
    r_film = pl.monitor_r_um if lay == 0 else 0.5 * (r_inner + layers[lay][0])
    period = 1.0 / f0
    tau_c = prediction.gain.Q / (2 * math.pi * f0)  # photon (energy) lifetime

    # calibration (passive, seed amplitude 1): film intensity and flux per unit seed², and the
    # passive Q of the FDTD model from the energy decay
    geo, bg = _geometry(frozen, pl)
    sim, t_src = _lasing_sim(frozen, pl, m, component, geo, bg, f0, 1.0)
    probe = _FluxProbe(r_flux, pl.monitor_r_um, r_film, component)
    t_cal = t_src + 2 * tau_c
    sim.run(mp.at_every(_LASING_PERIODS_PER_SAMPLE * period, probe.step), until=t_cal)
    t, p, _ = probe.window(t_src + 0.5 * tau_c)
    film = np.asarray(probe.film[-len(t):])
    rate_cal = float(np.polyfit(t, np.log(np.maximum(p, 1e-300)), 1)[0])
    q_fdtd = 2 * math.pi * f0 / -rate_cal if rate_cal < 0 else math.inf
    e2_per_amp2 = float(np.mean(film[: max(len(film) // 10, 1)]))
    log.info("lasing: passive FDTD Q %.5g (exact %.5g), resolution %g px/µm, cell %.3g µm",
             q_fdtd, prediction.gain.Q, pl.resolution, pl.cell_r_um)

    g21, rth = prediction.decay_rate, prediction.pump_rate_threshold
    x_th = prediction.inversion_threshold
    sigma = prediction.couplings[0]  # of the first layer of the region, where r_film is
    w_a = 2 * math.pi * prediction.transition_frequency
    gam = 2 * math.pi * prediction.linewidth_frequency

    def expected_e2(rp):
        # uniform-field rate equations with the inversion clamped at ΔN_th: the stimulated rate
        # W = σ|E|²/(2γω_a) (Meep's population update with ħω_a = ω_a) balances the pump
        w = (rp * (1 - x_th) - g21 * (1 + x_th)) / (2 * x_th)
        return 2 * gam * w_a * w / sigma

    top = max(model.pump_rates_rel)
    level_top = expected_e2(top * rth) if top > 1 else expected_e2(2 * rth)
    points = []
    p_ref = None  # the largest lasing output measured so far: the "lasing level"
    t_limit_user = units.meep_time_from_ps(model.max_time_ps) if model.max_time_ps else None
    t_start = time.monotonic()
    for rel in sorted(model.pump_rates_rel, reverse=True):
        rp = rel * rth
        target = expected_e2(rp) if rel > 1 else _LASING_SMALL_SEED * level_top
        amp = math.sqrt(max(target, 1e-30) / max(e2_per_amp2, 1e-300))
        geo, bg = _lasing_geometry(frozen, pl, prediction, model, rp)
        sim, t_src = _lasing_sim(frozen, pl, m, component, geo, bg, f0, amp)
        window = max(_LASING_WINDOW_PERIODS * period, _LASING_WINDOW_TIMES * tau_c,
                     _LASING_WINDOW_TIMES / (rp + g21))
        t_limit = t_limit_user or _LASING_MAX_WINDOWS * window
        probe = _FluxProbe(r_flux, pl.monitor_r_um, r_film, component)
        sample = mp.at_every(_LASING_PERIODS_PER_SAMPLE * period, probe.step)
        sim.run(sample, until=t_src)
        means, rates, state, freq = [], [], "not settled", math.nan
        lasing_level = p_ref if p_ref is not None else None
        while sim.meep_time() < t_src + t_limit:
            t0 = sim.meep_time()
            sim.run(sample, until=window)
            mean, rate, freq = _window_stats(*probe.window(t0))
            means.append(mean)
            rates.append(rate)
            if len(means) < 2:
                continue
            d1 = means[-1] - means[-2]
            steady = abs(d1) <= model.settle_rel * abs(means[-1]) and means[-1] > 0
            if steady and len(means) >= 3:
                d0 = means[-2] - means[-3]
                q = d1 / d0 if d0 else 0.0
                if 0 < q < 1:  # geometric approach: the remaining change is d1 q/(1 − q)
                    steady = abs(d1 * q / (1 - q)) <= model.settle_rel * abs(means[-1])
            if steady:
                state = "lasing"
                break
            level = lasing_level if lasing_level is not None else _flux_level(probe, e2_per_amp2, level_top)
            if (rates[-1] < 0 and rates[-2] < 0 and abs(rates[-1] - rates[-2]) <= _LASING_CONST_RATE * abs(rates[-1])
                    and means[-1] < _LASING_LINEAR * level):
                state = "below threshold"
                break
        run_time = sim.meep_time()
        point = LasingPoint(rel, rp, means[-1] if means else math.nan,
                            units.wavelength_nm_from_freq(freq) if freq and math.isfinite(freq) else math.nan,
                            state, rates[-1] if rates else math.nan, run_time, len(means))
        points.append(point)
        if state == "lasing":
            p_ref = max(p_ref or 0.0, point.output_power)
        else:
            (log.warning if state == "not settled" else log.info)(
                "lasing: R_p = %.3g × predicted threshold: %s after %.0f time units", rel, state, run_time)
        log.info("lasing: R_p = %.3g × threshold: %s, P = %.4g, λ = %.4f nm, %.0f time units (%d windows), "
                 "%.0f s elapsed", rel, state, point.output_power, point.wavelength_nm, run_time, len(means),
                 time.monotonic() - t_start)
    points.sort(key=lambda pt: pt.pump_rate_rel)
    info = {"resolution_px_per_um": pl.resolution, "cell_r_um": pl.cell_r_um, "pad_um": pl.pad_um,
            "pml_um": pl.pml_um, "flux_radius_um": r_flux, "seed_radius_um": pl.monitor_r_um,
            "passive_Q_fdtd": q_fdtd, "passive_Q_exact": prediction.gain.Q,
            "photon_lifetime": tau_c, "meep_version": getattr(mp, "__version__", "?")}
    return LasingCurve(res, model, prediction, tuple(points), info)


def _flux_level(probe, e2_per_amp2, level_e2):
    """The lasing level in flux units before any run has lased: the expected film intensity at
    the highest pump rate, converted with this run's flux per film intensity."""
    film = np.asarray(probe.film[-50:])
    pw = np.asarray(probe.power[-50:])
    ratio = float(np.mean(pw) / np.mean(film)) if np.mean(film) > 0 else 0.0
    return abs(ratio) * level_e2
