"""FDTD engine: Meep in cylindrical coordinates, one 2-D (r, z) simulation per azimuthal
number m.  This is the only module of ``wgm`` that imports Meep.

For each m and each mirror class (z-even ``E_z`` / z-even ``H_z``, when the structure is
symmetric in z) the engine

1. sizes the cell, PML and resolution from the wavelength, the densest material and the
   thinnest layer (all overridable in ``[fdtd]``);
2. runs a **broadband** pass (Gaussian pulse over the band, point source and monitor just
   inside the rim, never within |m| pixels of the axis) and locates the lines with Harminv;
3. runs a **narrow-band** pass per line, extending the ring-down in chunks until Harminv's
   frequency and Q settle (rather than for a fixed time), while DFT monitors record the
   mode's field over the (r, z) plane;
4. classifies the polarization from the field energy in each component (TE: E mainly along
   z, no E normal to the surface; TM: H mainly along z), and reports Q as a lower bound when
   the decay is not resolved above Harminv's error.

Materials are taken at the band centre: ``ε = Re n²`` and a conductivity that gives the
band-centre ``Im n²`` (absorption).  Dispersion across the band is not modelled in FDTD.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from . import exact, units
from .errors import SolverError, UserError
from .resonator import Disk, FdtdSettings, Resonator, Ring, Search, Sphere
from .results import FieldProfile, Mode, ModeSpectrum


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

__all__ = ["solve", "FdtdPlan", "plan"]

log = logging.getLogger(__name__)

_HARMINV_Q_THRESH = 5.0  # keep lines down to Q = 5 (Meep's default 50 would hide absorbing-film modes)
_MIN_REL_AMP = 1e-3  # lines weaker than this fraction of the strongest are Harminv artefacts
_BROADBAND_PERIODS = 60  # ring-down analysed in the broadband pass (periods at the band centre)
_CHUNK_PERIODS = 40  # ring-down added between two Harminv analyses in a narrow-band pass
_SETTLE_REL_Q = 0.01  # Q settled: relative change below this between two analyses ...
_SETTLE_REL_F = 1e-6  # ... and frequency change below this
_RESOLVED_DECAY_OVER_ERR = 10.0  # Q is resolved when |Im f| exceeds Harminv's error by this factor
_NAN_CHECK_EVERY = 50  # time steps between blow-up checks


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

    @property
    def cells(self) -> int:
        nz = max(1, round(self.cell_z_um * self.resolution))
        if self.mirror_z:
            nz = max(1, nz // 2)
        return int(round(self.cell_r_um * self.resolution)) * nz


def _band_freqs(search: Search):
    lo, hi = search.wavelength_nm
    return units.freq_from_wavelength_nm(hi), units.freq_from_wavelength_nm(lo)


def _medium_params(material, f_centre):
    """(ε, σ_D) such that Meep's ε(ω) = ε + iεσ_D/ω equals n² at the band centre."""
    n = material.n_at(units.wavelength_nm_from_freq(f_centre))
    eps = n * n
    sigma = 2 * math.pi * f_centre * eps.imag / eps.real if eps.imag else 0.0
    return float(eps.real), float(sigma)


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


def _choose_m(res: Resonator, search: Search, f_centre: float) -> tuple[int, ...]:
    """Azimuthal numbers of the modes in the band, from the exact solver (spheres, 2-D) or
    from the 2-D solver with the slab effective index of the finite height (disks, rings)."""
    from .materials import ConstantIndex
    from .resonator import Coating

    lam_nm = units.wavelength_nm_from_freq(f_centre)
    if isinstance(res.shape, Sphere) or res.is_2d:
        spec = exact.solve(res, search)
        return tuple(sorted({m.l for m in spec.modes}))
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


def plan(res: Resonator, search: Search, settings: FdtdSettings) -> FdtdPlan:
    """Decide cell, PML, resolution and m values (no Meep needed)."""
    f_lo, f_hi = _band_freqs(search)
    f_c = 0.5 * (f_lo + f_hi)
    lam_min_um = 1.0 / f_hi
    lam_c_um = 1.0 / f_c
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
        resolution = 5 * math.ceil(resolution / 5)
    ppw = resolution * lam_min_um / n_max
    if ppw < 10:
        warnings.append(f"resolution {resolution:g} px/µm gives {ppw:.1f} px per wavelength in the densest "
                        f"material (n = {n_max:.3g}); below 10 the frequencies are off by more than ~0.1 %")
    if thin and resolution * min(thin) < 2:
        warnings.append(f"the thinnest layer ({1000 * min(thin):.3g} nm) is {resolution * min(thin):.2g} px "
                        f"thick at {resolution:g} px/µm; below 2 px it is not resolved")
    # quasi-PML of cylindrical coordinates: keep PML and pad about a wavelength each (notes §1.2)
    n_b = res.surroundings.n_at(1000 * lam_c_um).real
    pad = settings.pad_um if settings.pad_um is not None else max(lam_c_um / n_b, 0.5)
    dpml = settings.pml_um if settings.pml_um is not None else max(lam_c_um / n_b, 0.5)
    r_out = layers[-1][0]
    cell_r = r_out + pad + dpml
    if res.is_2d:
        cell_z = 0.0
        mirror = False
    else:
        half = layers[-1][1]
        cell_z = 2 * (half + pad + dpml)
        mirror = settings.symmetry and res.substrate is None
    # monitor and source just inside the outer surface of the core (~0.1 λ/n inside)
    n_core = layers[0][2].n_at(1000 * lam_c_um).real
    mon_r = layers[0][0] - 0.1 * lam_c_um / n_core
    if isinstance(res.shape, Ring):
        mon_r = max(mon_r, res.shape.inner_radius_um + 0.5 * res.shape.width_um)
    m_values = tuple(settings.m) if settings.m is not None else _choose_m(res, search, f_c)
    eps = tuple(_medium_params(m, f_c) for m in mats)
    return FdtdPlan(m_values, resolution, pad, dpml, cell_r, cell_z, mirror, f_lo, f_hi, f_c, mon_r, eps,
                    tuple(warnings))


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
    sources = [mp.Source(mp.GaussianSource(fcen, fwidth=df), component=component, center=mp.Vector3(src_r, 0, 0))]
    symmetries = [mp.Mirror(mp.Z, phase=parity)] if pl.mirror_z else []
    return mp.Simulation(cell_size=mp.Vector3(pl.cell_r_um, 0, pl.cell_z_um), geometry=geometry,
                         default_material=background, boundary_layers=[mp.PML(pl.pml_um)],
                         resolution=pl.resolution, sources=sources, dimensions=mp.CYLINDRICAL, m=m,
                         symmetries=symmetries, force_complex_fields=True)


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
    """Samples the monitor field, checks for blow-up, logs progress (``step`` is the Meep step function)."""

    def __init__(self, component, point, label, t_expected):
        self.component, self.point, self.label = component, point, label
        self.samples = []
        self.t0 = None
        self.wall0 = time.monotonic()
        self.last_log = self.wall0
        self.t_expected = t_expected
        self.steps = 0

        def step(sim):  # Meep inspects a plain function's argument count
            self(sim)

        self.step = step

    def __call__(self, sim):
        v = sim.get_field_point(self.component, self.point)
        self.samples.append(v)
        self.steps += 1
        if self.steps % _NAN_CHECK_EVERY == 0 and not np.isfinite(v):
            raise SolverError(
                f"{self.label}: fields blew up (NaN/Inf) at t = {sim.meep_time():.4g}; likely causes: a source "
                f"within |m| pixels of the axis, a Courant factor too large for the materials, or gain")
        now = time.monotonic()
        if now - self.last_log > 10.0:
            t = sim.meep_time()
            rate = t / (now - self.wall0) if now > self.wall0 else 0
            eta = (self.t_expected - t) / rate if rate > 0 else float("nan")
            log.info("fdtd %s: t = %.1f of ~%.1f, ETA %.0f s", self.label, t, self.t_expected, max(eta, 0.0))
            self.last_log = now


def _harminv(samples, dt, f_lo, f_hi):
    if len(samples) < 10:
        return []
    # (a list: Meep 1.25's wrapper aborts the process on a numpy array)
    bands = mp.py_do_harminv([complex(v) for v in samples], float(dt), float(f_lo), float(f_hi), 100, 1.1,
                             _HARMINV_Q_THRESH, math.inf, 0.01, -1.0, -1.0)
    lines = [_Line(f.real, f.imag, complex(amp), abs(err)) for f, amp, err in bands]
    if not lines:
        return []
    top = max(abs(line.amp) for line in lines)
    return [line for line in lines if abs(line.amp) >= _MIN_REL_AMP * top and line.freq > 0]


def _broadband(res, pl, m, component, parity, label):
    f_lo, f_hi = pl.f_lo, pl.f_hi
    df = 1.3 * (f_hi - f_lo) + 0.05 * pl.f_centre
    sim = _simulation(res, pl, m, component, pl.f_centre, df, parity)
    pt = mp.Vector3(pl.monitor_r_um, 0, 0)
    t_src = 2 * 5 / df  # Gaussian on until ~cutoff/width on both sides
    t_run = _BROADBAND_PERIODS / pl.f_centre
    rec = _Recorder(component, pt, label, t_src + t_run)
    log.info("fdtd %s: broadband pass, %d cells x %d steps", label, pl.cells,
             int((t_src + t_run) / (0.5 / pl.resolution)))
    sim.run(mp.after_sources(rec.step), until_after_sources=t_run)
    lines = _harminv(rec.samples, sim.fields.dt, 0.97 * f_lo, 1.03 * f_hi)
    return lines


def _narrow(res, pl, m, component, parity, line, neighbours, label, max_periods):
    """Ring-down of one line with a narrow-band source; returns the settled line and DFT fields."""
    gap = min([abs(line.freq - f) for f in neighbours] + [0.05 * line.freq])
    df = max(min(0.5 * gap, 0.05 * line.freq), 4 * abs(line.decay), 1e-4 * line.freq)
    sim = _simulation(res, pl, m, component, line.freq, df, parity)
    r_max = pl.cell_r_um - pl.pml_um
    if pl.cell_z_um:
        z_size = pl.cell_z_um - 2 * pl.pml_um
        vol = mp.Volume(center=mp.Vector3(r_max / 2, 0, 0), size=mp.Vector3(r_max, 0, z_size))
    else:
        vol = mp.Volume(center=mp.Vector3(r_max / 2, 0, 0), size=mp.Vector3(r_max, 0, 0))
    comps = [mp.Er, mp.Ep, mp.Ez, mp.Hr, mp.Hp, mp.Hz]
    dft = sim.add_dft_fields(comps, line.freq, 0, 1, where=vol)
    pt = mp.Vector3(pl.monitor_r_um, 0, 0)
    t_src = 2 * 5 / df
    chunk = _CHUNK_PERIODS / line.freq
    rec = _Recorder(component, pt, label, t_src + 4 * chunk)
    sim.run(until=t_src)
    prev, current, settled = None, None, False
    t_limit = t_src + max_periods / line.freq
    f_lo, f_hi = line.freq - df, line.freq + df
    while sim.meep_time() < t_limit:
        sim.run(rec.step, until=chunk)
        found = _harminv(rec.samples, sim.fields.dt, f_lo, f_hi)
        if not found:
            continue
        current = min(found, key=lambda c: abs(c.freq - line.freq))
        if prev is not None and abs(current.freq - prev.freq) <= _SETTLE_REL_F * current.freq and (
                abs(current.Q - prev.Q) <= _SETTLE_REL_Q * abs(current.Q)):
            settled = True
            break
        prev = current
    if current is None:
        return None, None, False
    fields = {c: sim.get_dft_array(dft, c, 0) for c in comps}
    eps = sim.get_array(component=mp.Dielectric, vol=vol)
    return current, (fields, eps), settled


def _profile(fields_eps, pl: FdtdPlan):
    """Arrange DFT arrays as (r, z) grids and measure the field energy per component."""
    fields, eps = fields_eps
    arrs = {}
    r_max = pl.cell_r_um - pl.pml_um
    for c, a in fields.items():
        a = np.atleast_2d(np.asarray(a))
        if pl.cell_z_um:
            a = a.T  # Meep returns cylindrical (r, z) slices as [z, r]
        else:
            a = a.reshape(-1, 1)
        arrs[c] = a
    e = np.asarray(eps, dtype=float)
    e = e.T if pl.cell_z_um else e.reshape(-1, 1)
    nr, nz = arrs[mp.Ez].shape
    r = np.linspace(0, r_max, nr)
    z = np.linspace(-(pl.cell_z_um / 2 - pl.pml_um), pl.cell_z_um / 2 - pl.pml_um, nz) if nz > 1 else np.zeros(1)
    w = r[:, None] * np.ones((1, nz))  # cylindrical volume element 2π r dr dz (constant factors drop)
    if e.shape != (nr, nz):
        e = np.ones((nr, nz))
    energy = {}
    for c, a in arrs.items():
        weight = e if c in (mp.Er, mp.Ep, mp.Ez) else 1.0
        energy[c] = float(np.sum(weight * np.abs(a) ** 2 * w))
    return r, z, e, arrs, energy


def _classify(energy):
    e_tot = energy[mp.Er] + energy[mp.Ep] + energy[mp.Ez]
    h_tot = energy[mp.Hr] + energy[mp.Hp] + energy[mp.Hz]
    ez = energy[mp.Ez] / e_tot if e_tot else 0.0
    hz = energy[mp.Hz] / h_tot if h_tot else 0.0
    return ("TE" if ez >= hz else "TM"), ez, hz


def _identify(res, search, pol, m, lam_nm, reference):
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
    e2 = sum(np.abs(arrs[c][:, iz]) ** 2 for c in (mp.Er, mp.Ep, mp.Ez))
    r_out = _layers_outward(res)[-1][0]
    inside = e2[r <= r_out]
    if inside.size < 3:
        return None
    peak = inside.max()
    maxima = np.nonzero((inside[1:-1] > inside[:-2]) & (inside[1:-1] >= inside[2:]) & (inside[1:-1] > 0.05 * peak))[0]
    return int(len(maxima)) if len(maxima) else None


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
    mp.verbosity(0)
    for key, mat in res.materials().items():
        field = "nk_file" if "nk_file" in mat.to_config() else "material"
        mat.check_band(search.wavelength_nm, f"{key}.{field}")
    pl = plan(res, search, settings)
    for w in pl.warnings:
        log.warning("fdtd: %s", w)
    if not pl.m_values:
        log.warning("fdtd: no azimuthal numbers with modes in the band; give [fdtd] m = [...]")
    reference = None
    if isinstance(res.shape, Sphere) or res.is_2d:
        reference = exact.solve(res, Search(search.wavelength_nm, max(search.max_radial_order, 3) + 2))
    log.info("fdtd: m = %s, resolution %g px/µm, cell %.3g x %.3g µm, pad %.3g, PML %.3g, mirror z: %s",
             list(pl.m_values), pl.resolution, pl.cell_r_um, pl.cell_z_um, pl.pad_um, pl.pml_um, pl.mirror_z)
    classes = [(mp.Ez, -1), (mp.Hz, +1)]
    max_periods = settings.max_periods
    modes, profiles = [], []
    t_start = time.monotonic()
    for i_m, m in enumerate(pl.m_values):
        for component, parity in classes:
            label = f"m={m} {'Ez' if component == mp.Ez else 'Hz'}"
            lines = _broadband(res, pl, m, component, parity, label)
            in_band = [ln for ln in lines if pl.f_lo * 0.995 <= ln.freq <= pl.f_hi * 1.005]
            for line in in_band:
                others = [o.freq for o in lines if o is not line]
                found, fe, settled = _narrow(res, pl, m, component, parity, line, others, label, max_periods)
                if found is None:
                    continue
                r, z, eps, arrs, energy = _profile(fe, pl)
                pol, ez_frac, hz_frac = _classify(energy)
                if pl.cell_z_um == 0:
                    pol = "TE" if component == mp.Ez else "TM"
                lam = units.wavelength_nm_from_freq(found.freq)
                if not (search.wavelength_nm[0] <= lam <= search.wavelength_nm[1]) or pol not in search.polarizations:
                    continue
                l, q = _identify(res, search, pol, m, lam, reference)
                note = []
                if q is None:
                    q = _radial_order_from_nodes(r, z, arrs, res)
                    if q is not None:
                        note.append("radial order from the field's radial maxima")
                resolved = abs(found.decay) > _RESOLVED_DECAY_OVER_ERR * found.err and found.decay < 0
                Q = found.Q
                if not resolved:
                    Q = found.freq / (2 * (abs(found.decay) + _RESOLVED_DECAY_OVER_ERR * found.err))
                    note.append("Q is a lower bound (decay not resolved in the run)")
                if not settled:
                    note.append("Harminv did not settle within the time limit")
                if q is not None and q > search.max_radial_order:
                    continue
                mode = Mode(polarization=pol, l=l, m=m, radial_order=q, wavelength_nm=lam, Q=Q, fsr_nm=None,
                            degeneracy=2, size_parameter=(2 * math.pi * found.freq * res.outer_radius_um,
                                                          2 * math.pi * found.decay * res.outer_radius_um),
                            q_resolved=resolved, harminv_error=float(found.err), note="; ".join(note))
                modes.append(mode)
                profiles.append(FieldProfile(mode=mode, r_um=r, z_um=z, epsilon=eps,
                                             fields={_NAMES[c]: a for c, a in arrs.items()},
                                             energy_fraction_ez=ez_frac, energy_fraction_hz=hz_frac))
        done = i_m + 1
        elapsed = time.monotonic() - t_start
        eta = elapsed / done * (len(pl.m_values) - done)
        log.info("fdtd: m = %d done (%d/%d), %.0f s elapsed, ETA %.0f s", m, done, len(pl.m_values), elapsed, eta)
    order = sorted(range(len(modes)), key=lambda i: modes[i].wavelength_nm)
    return ModeSpectrum(resonator=res, search=search, method="fdtd", modes=tuple(modes[i] for i in order),
                        profiles=tuple(profiles[i] for i in order))


_NAMES = {}
if mp is not None:
    _NAMES = {mp.Er: "Er", mp.Ep: "Ep", mp.Ez: "Ez", mp.Hr: "Hr", mp.Hp: "Hp", mp.Hz: "Hz"}
