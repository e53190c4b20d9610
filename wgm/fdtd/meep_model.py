"""The one module of ``wgm`` that imports Meep, and only when a simulation is built: the media,
the geometry, the ``Simulation`` in cylindrical coordinates, the Harminv adapter and the filter
of Meep's stderr.  Importing this module does not import Meep, print anything or register
``atexit`` handlers.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from wgm.errors import SolverError, UserError
from wgm.fdtd.plan import FdtdPlan, MediumParams
from wgm.model.resonator import Resonator, Ring

__all__ = ["meep", "meep_version", "HarminvLine", "harminv", "simulation", "init_sim", "geometry",
           "monitor_points", "dft_volume", "COMPONENTS", "divide_processes"]

log = logging.getLogger(__name__)

_HARMINV_Q_THRESH = 5.0  # keep lines down to Q = 5 (Meep's default 50 would hide absorbing-film modes)
MIN_REL_AMP = 1e-3  # lines weaker than this fraction of the strongest are Harminv artefacts (or hidden)
PULSE_CUTOFF = 3.0  # Gaussian pulse length in widths each side (Meep's default 5 only lengthens the run)
COMPONENTS = ("Er", "Ep", "Ez", "Hr", "Hp", "Hz")

_MEEP = None


def meep():
    """The ``meep`` module, imported at the first call: its banner on stdout is swallowed (the
    library never prints; ``--json`` output must stay clean), its exit message (an ``atexit``
    handler) unregistered and its verbosity set to 0.  Raises :class:`UserError` without Meep."""
    global _MEEP
    if _MEEP is None:
        import atexit
        import contextlib
        import io

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                import meep as mp
        except ImportError:
            raise UserError("--method fdtd needs Meep: on Debian `make setup` installs python3-meep-mpi-default; "
                            "with conda use environment.yml (conda-forge pymeep). Never `pip install meep`.") from None
        report = getattr(mp, "report_elapsed_time", None)
        if report is not None:
            atexit.unregister(report)
        mp.verbosity(0)
        _MEEP = mp
    return _MEEP


def meep_version() -> str:
    """Meep's version (imports Meep)."""
    return str(getattr(meep(), "__version__", "unknown"))


def divide_processes(n_groups: int) -> None:
    """Split the MPI ranks into ``n_groups`` groups for independent simulations."""
    meep().divide_parallel_processes(n_groups)


def component(name: str):
    """Meep's constant for a field component name (``"Ez"``, ``"Hp"``, ...)."""
    return getattr(meep(), name)


def medium(params: MediumParams, susceptibilities=None):
    mp = meep()
    kw = {"epsilon": params.epsilon}
    if params.d_conductivity:
        kw["D_conductivity"] = params.d_conductivity
    sus = [mp.LorentzianSusceptibility(frequency=p.frequency, gamma=p.gamma, sigma=p.sigma) for p in params.poles]
    sus += list(susceptibilities or ())
    if sus:
        kw["E_susceptibilities"] = sus
    return mp.Medium(**kw)


# Thin lossy films (issue 13): Meep 1.25 samples conductivity and Lorentzian strengths at grid
# points, so the pixels near the boundaries of a lossy or dispersive layer are described by a
# material function giving each grid point its pixel's fill-weighted values (wgm.fdtd.fill).
_ZONE_PX = 2.0  # the material-function zone reaches this many pixels beyond the weighted boundaries
_PLAIN_PX = 4.0  # a layer thinner than this many pixels joins the zone of its neighbours
_OFFDIAG_PX = 8.0  # the r-z element of ε in the zone from |m| + this many pixels off the axis


def _lossy(med) -> bool:
    """A medium Meep would sample per grid point: conductivity or susceptibilities."""
    c = med.D_conductivity_diag
    return bool(c.x or c.y or c.z or med.E_susceptibilities)


def _object(shape, material, grow_um: float = 0.0, z_limit_um: float = math.inf):
    """The Meep object of a :mod:`wgm.model.section` shape, grown (shrunk, for negative
    ``grow_um``) on every side.  A :class:`Circle` on the axis is a sphere, off the axis a
    cylinder along φ (Meep's y in a cylindrical cell): the set ``(r − R)² + (z − z_c)² < a²``
    of every (r, z) plane, a torus (checked against Meep's own ε, tests/fdtd/test_shapes.py).
    Infinite z sides of a rectangle end at ``±z_limit_um`` (Meep needs finite centres)."""
    mp = meep()
    from wgm.model.section import Circle

    if isinstance(shape, Circle):
        centre = mp.Vector3(shape.centre_r_um, 0, shape.centre_z_um)
        if shape.centre_r_um == 0:
            return mp.Sphere(radius=shape.radius_um + grow_um, center=centre, material=material)
        return mp.Cylinder(radius=shape.radius_um + grow_um, height=mp.inf, axis=mp.Vector3(0, 1, 0),
                           center=centre, material=material)
    r0 = max(shape.r0_um - grow_um, 0.0) if shape.r0_um > 0 else 0.0
    r1 = shape.r1_um + grow_um
    if math.isinf(r1):
        r1 = r0 + 2 * z_limit_um if math.isfinite(z_limit_um) else mp.inf
    z0, z1 = shape.z0_um - grow_um, shape.z1_um + grow_um
    if math.isinf(z0) and math.isinf(z1):
        zc, h = 0.0, mp.inf
    else:
        z0, z1 = max(z0, -z_limit_um), min(z1, z_limit_um)
        zc, h = 0.5 * (z0 + z1), z1 - z0
    width = r1 - r0
    rc = 0.5 * (r0 + r1) if math.isfinite(width) else 0.0
    return mp.Block(center=mp.Vector3(rc, 0, zc), size=mp.Vector3(width, mp.inf, h), material=material)


def _thickness_um(res: Resonator, lay, layers) -> float:
    """The distance between a layer's inner and outer boundaries."""
    if lay.index > 0:
        inner = layers[lay.index - 1]
        return min(lay.outer_radius_um - inner.outer_radius_um, lay.half_height_um - inner.half_height_um)
    if isinstance(res.shape, Ring):
        return min(lay.outer_radius_um - lay.inner_radius_um, 2 * lay.half_height_um)
    return min(lay.outer_radius_um, lay.half_height_um)


def _flat_z_faces(shapes) -> bool:
    """Whether a layer has a face normal to z (a finite disk's or ring's top and bottom).

    Meep 1.25 smooths ε of its geometric objects in a cylindrical cell over the pixel's r extent
    only and samples it at the grid point's z (measured with ``fields.get_chi1inv``: across a
    Block's z face E_z gets 4 or 1 for n = 2 in air, never the pixel's 1/<1/ε>, while across
    its r face and in Cartesian cells the values are the smoothed ones).  Such faces are
    staircased, and a finite disk's wavelengths do not converge (R = 2 µm, 0.5 µm, n = 2,
    TE m = 14 at 30 / 60 / 90 px/µm: +4.4 / +5.6 / +1.5 ×10⁻³ against FEM and 3-D Cartesian
    Meep).  The layers' boundaries then go into the fill zone, whose pixels wgm.fdtd.fill
    weights in r and z (same disk: −6×10⁻⁴ / −3×10⁻⁶)."""
    from wgm.model.section import Rect

    return any(isinstance(s, Rect) and (math.isfinite(s.z0_um) or math.isfinite(s.z1_um)) for s in shapes)


def _mount_is_thick(shape, px: float) -> bool:
    """Whether a substrate's or pedestal's rectangle keeps a plain inside when shrunk by the
    zone's ``_ZONE_PX`` pixels on each face (the axis is no face): at least ``_PLAIN_PX``
    pixels across in r and in z."""
    width = shape.r1_um - shape.r0_um if shape.r0_um > 0 else shape.r1_um
    return min(width, shape.z1_um - shape.z0_um) >= _PLAIN_PX * px


def _susceptibility_key(s):
    """What makes two susceptibilities one Meep polarization (its ``susceptibility_equiv``
    ignores the strength σ): the kind, frequency and damping, or a multilevel atom's levels."""
    if hasattr(s, "transitions"):
        trans = tuple((t.from_level, t.to_level, t.transition_rate, t.frequency, tuple(t.sigma_diag), t.gamma,
                       t.pumping_rate) for t in s.transitions)
        return ("multilevel", trans, tuple(s.initial_populations))
    return (type(s).__name__, s.frequency, s.gamma)


def _re_eps(medium, freq: float) -> float:
    """Re ε_rr of a Meep medium at ``freq`` (its Lorentzian terms included; a saturable
    two-level atom, which Meep cannot evaluate, counted with its non-dispersive part only)."""
    mp = meep()
    sus = [s for s in medium.E_susceptibilities if not isinstance(s, mp.MultilevelAtom)]
    plain = mp.Medium(epsilon_diag=medium.epsilon_diag, E_susceptibilities=sus)
    return float(plain.epsilon(freq)[0, 0].real)


def _zone_function(regions, media, background: int, dr: float, dz: float, r_offdiag_um: float,
                   freq: float | None = None):
    """Meep material function: at each grid point, the pixel centred there with ε∞ smoothed as
    Meep would (anisotropic across a boundary) and conductivities and Lorentzian strengths
    weighted by the media's fill fractions (wgm.fdtd.fill).  A plain function (Meep 1.25 takes
    only those), ``do_averaging`` left False: Meep takes the value at the grid point.  The r-z
    element of the smoothed ε only beyond ``r_offdiag_um`` (|m| + 8 pixels): with it at every r
    Meep 1.25 blew up (NaN) on a 1 µm sphere with a 50 nm film at 40 px/µm, m = 14 (near the
    axis, where it forces some field components to zero within |m| pixels); with it beyond
    |m| + 8 pixels the same sphere ran stably for m = 2, 5, 14, 30 (measured, 200-600 time
    units).  Without it the smoothed ε is the diagonal only (λ of a coated sphere −0.045 %
    instead of −0.028 % at 80 px/µm).  The loss weights across a boundary use each medium's
    whole Re ε at ``freq`` (the band centre; ε∞ without it), which sets the field's jump there."""
    import copy

    import numpy as np

    from wgm.fdtd import fill

    mp = meep()
    n_media = len(media)
    eps = np.array([m.epsilon_diag.x for m in media])
    cond = np.array([m.D_conductivity_diag.x for m in media])
    eps_full = eps if freq is None else np.array([_re_eps(m, freq) for m in media])
    poles = {}  # one Meep polarization per (kind, frequency, γ): its strength in each medium
    for k, m in enumerate(media):
        for s in m.E_susceptibilities:
            key = _susceptibility_key(s)
            proto, strength = poles.setdefault(key, (s, np.zeros(n_media)))
            strength[k] += s.sigma_diag.x
    poles = list(poles.values())

    def material(p):
        r, z = p.x, p.z
        f = fill.fractions(regions, n_media, background, r, z, dr, dz)
        present = f > 1e-12
        if present.sum() == 1:
            return media[int(np.argmax(f))]
        n = fill.normal(regions, r, z, dr, dz)
        diag, off = fill.eps_tensor(eps, f, n)
        kw = {"epsilon_diag": mp.Vector3(*diag)}
        if r >= r_offdiag_um and off[1]:
            kw["epsilon_offdiag"] = mp.Vector3(*off)
        if np.any(cond[present]):
            kw["D_conductivity_diag"] = mp.Vector3(*fill.conductivity(cond, eps, f, n, eps_full))
        sus = []
        for proto, strength in poles:
            if np.any(strength[present]):
                s = copy.copy(proto)
                s.sigma_diag = mp.Vector3(*fill.pole_strength(strength, eps, f, n, eps_full))
                s.sigma_offdiag = mp.Vector3()
                sus.append(s)
        if sus:
            kw["E_susceptibilities"] = sus
        return mp.Medium(**kw)

    # Meep 1.25 finds susceptibilities and conductivities only in plain media of the geometry,
    # default_material and extra_materials, never inside a material function: every medium the
    # function may weight must be listed there (simulation() does so from this attribute), or
    # its susceptibility is dropped, and a conductivity is silently ignored unless some listed
    # medium has one (Meep issue #892)
    material.extra_materials = [m for m in media if _lossy(m)]
    return material


def geometry(res: Resonator, pl: FdtdPlan, media=None, m: int | None = None):
    """(objects, background medium), objects outermost first (later objects take precedence
    in Meep).  ``media`` (Meep media indexed like ``pl.media``; default ``medium(p)`` of each)
    replaces the plan's media, e.g. a gain run's layers with a two-level atom.  ``m``: the
    azimuthal number simulated (the smoothed ε of the film pixels gets its r-z element only
    beyond ``|m| + _OFFDIAG_PX`` pixels from the axis; without ``m``, nowhere).

    Thin films: where a layer has a conductivity or susceptibilities (loss, gain, dispersion),
    or its neighbour has, the pixels near their boundary (``_ZONE_PX`` either side) belong to
    one object whose material function gives every grid point its pixel's fill-weighted loss,
    gain and Lorentzian strengths and Meep's smoothed ε (:func:`_zone_function`); elsewhere
    the layers are plain objects with Meep's own subpixel smoothing.  Layers with faces normal
    to z (finite disks and rings) all go into the zone, whose smoothing covers the pixel's z
    extent, which Meep's does not in a cylindrical cell (:func:`_flat_z_faces`).  So do the
    faces of a substrate and a pedestal in a finite cell: each is a zone object (its rectangle
    grown by ``_ZONE_PX`` pixels) with its inside (shrunk by as much) a plain object in front,
    so that the material function is evaluated only near the faces, not over the half-space
    (disk R = 2 µm on a pillar on a substrate, all n = 2, TE m = 14, 30 px/µm: Q 1535 against
    FEM's 1535; 1400 with the substrate's top staircased).  The zone weights a lossy
    substrate's conductivity at its top; inside it Meep samples it per grid point."""
    from wgm.fdtd import fill

    from wgm.model import section

    layers = res.layers()
    n_lay = len(layers)
    media = list(media) if media is not None else [medium(p) for p in pl.media]
    all_media = section.media(res)
    shapes = [med.shape for med in all_media[:n_lay]]
    z_limit = max(pl.cell_z_um, pl.cell_r_um)  # beyond the cell: where infinite sides end
    px = 1.0 / pl.resolution
    dz = px if pl.cell_z_um else 0.0
    r_off = (abs(m) + _OFFDIAG_PX) * px if m is not None else math.inf
    # the pedestal stands on the substrate
    mounts = [med for offset in (section.SUBSTRATE, section.PEDESTAL) for med in all_media
              if med.index == n_lay + offset]
    regions = [fill.Region(med.shape, med.index) for med in mounts]
    nested = not isinstance(res.shape, Ring)
    for j in range(n_lay):
        regions.append(fill.Region(shapes[j], j, shapes[j - 1] if nested and j > 0 else None))
    zone_fn = []  # the one material function of every zone object, built when first needed

    def zone_material():
        if not zone_fn:
            zone_fn.append(_zone_function(regions, media, n_lay, px, dz, r_off, pl.f_centre))
        return zone_fn[0]

    objs = []
    for med in mounts:
        if pl.cell_z_um and _flat_z_faces([med.shape]):
            # its faces in the zone (Meep would staircase the z faces), its inside plain
            objs.append(_object(med.shape, zone_material(), _ZONE_PX * px, z_limit_um=z_limit))
            if _mount_is_thick(med.shape, px):
                objs.append(_object(med.shape, media[med.index], -_ZONE_PX * px, z_limit_um=z_limit))
        else:
            objs.append(_object(med.shape, media[med.index], z_limit_um=z_limit))
    lossy = [_lossy(m) for m in media[:n_lay + 1]]
    weighted = [j for j in range(n_lay) if lossy[j] or lossy[j + 1]]
    if (isinstance(res.shape, Ring) and lossy[n_lay]) or (pl.cell_z_um and _flat_z_faces(shapes)):
        weighted = list(range(n_lay))  # a ring's layers all touch the surroundings; z faces: below
    if not weighted:
        lo = hi = n_lay  # no zone: every layer a plain object
    else:
        lo, hi = min(weighted), max(weighted)
        while lo > 0 and _thickness_um(res, layers[lo], layers) < _PLAIN_PX * px:
            lo -= 1
        while hi < n_lay - 1 and _thickness_um(res, layers[hi + 1], layers) < _PLAIN_PX * px:
            hi += 1
    for j in reversed(range(n_lay)):  # outermost first
        if j == hi and weighted:
            zone = shapes[hi]
            if not nested:  # the rectangle around the ring's layers lo .. hi
                zone = fill.Rect(min(s.r0_um for s in shapes[lo:hi + 1]), zone.r1_um, zone.z0_um, zone.z1_um)
            objs.append(_object(zone, zone_material(), _ZONE_PX * px))
            if _thickness_um(res, layers[lo], layers) >= _PLAIN_PX * px:
                objs.append(_object(shapes[lo], media[lo], -_ZONE_PX * px))
        elif not (weighted and lo <= j <= hi):
            objs.append(_object(shapes[j], media[j]))
    return objs, media[n_lay]


def monitor_points(pl: FdtdPlan, m: int):
    """Monitor points: just inside the rim at the equator (also the source), and (finite
    cells) off the equator, where the l = m + 1, m + 2, ... modes have their maxima."""
    mp = meep()
    pts = [mp.Vector3(pl.monitor_r_um, 0, 0)]
    if pl.cell_z_um:
        pts.append(mp.Vector3(pl.monitor_r_um, 0, 0.6 * pl.monitor_r_um / math.sqrt(m + 1.0)))
    return pts


def simulation(res, pl: FdtdPlan, m: int, component_name: str, fcen, df, parity: int, geometry_=None,
               amplitude: complex = 1.0):
    """The cylindrical simulation of one m and one source component (``"Ez"``/``"Hz"``), with a
    Gaussian pulse at the first monitor point.  ``geometry_`` = (objects, background) replaces
    the passive geometry (gain runs)."""
    mp = meep()
    objs, background = geometry_ if geometry_ is not None else geometry(res, pl, m=m)
    src_r = pl.monitor_r_um
    if src_r * pl.resolution < abs(m) + 2:
        raise SolverError(f"the source at r = {src_r:.3g} µm is within |m| = {abs(m)} pixels of the axis "
                          f"(Meep {mp.__version__} blows up there); raise the resolution or use a larger m")
    pulse = mp.GaussianSource(fcen, fwidth=df, cutoff=PULSE_CUTOFF)
    sources = [mp.Source(pulse, component=component(component_name), center=monitor_points(pl, m)[0],
                         amplitude=amplitude)]
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
                         geometry_center=mp.Vector3(pl.r_min_um, 0, 0), geometry=objs,
                         default_material=background, boundary_layers=pml,
                         resolution=pl.resolution, sources=sources, dimensions=mp.CYLINDRICAL, m=m,
                         symmetries=symmetries, force_complex_fields=True,
                         extra_materials=[m for o in objs for m in getattr(o.material, "extra_materials", ())])


def init_sim(sim) -> None:
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


def dft_volume(pl: FdtdPlan):
    """The (r, z) plane inside the PML, where the DFT fields are taken."""
    mp = meep()
    r_max = pl.cell_r_um - pl.pml_um
    return mp.Volume(center=mp.Vector3(0.5 * (pl.r_min_um + r_max), 0, 0),
                     size=mp.Vector3(r_max - pl.r_min_um, 0, 2 * pl.z_half_um))


@dataclass(frozen=True)
class HarminvLine:
    """One Harminv line: ``freq`` = Re f, ``decay`` = Im f (negative: decaying; Meep units),
    its complex amplitude and Harminv's error estimate of the complex frequency."""

    freq: float
    decay: float
    amp: complex
    err: float

    @property
    def Q(self) -> float:
        """``Re f / (−2 Im f)``: negative for a growing line."""
        return self.freq / (-2 * self.decay) if self.decay else math.inf


def harminv(samples, dt, f_lo, f_hi, weak: list | None = None) -> list[HarminvLine]:
    """Harminv on one complex time series (Meep's wrapper, Q threshold lowered to 5), lines
    weaker than ``MIN_REL_AMP`` of the strongest and non-positive frequencies left out (the
    weak ones are appended to ``weak`` when a list is given: they are reported as missed, not
    lost)."""
    if len(samples) < 20:
        return []
    mp = meep()
    # (a list: Meep 1.25's wrapper aborts the process on a numpy array)
    bands = mp.py_do_harminv([complex(v) for v in samples], float(dt), float(f_lo), float(f_hi), 100, 1.1,
                             _HARMINV_Q_THRESH, math.inf, 0.01, -1.0, -1.0)
    lines = [HarminvLine(f.real, f.imag, complex(amp), abs(err)) for f, amp, err in bands]
    if not lines:
        return []
    top = max(abs(line.amp) for line in lines)
    if weak is not None:
        weak.extend(line for line in lines if abs(line.amp) < MIN_REL_AMP * top and line.freq > 0)
    return [line for line in lines if abs(line.amp) >= MIN_REL_AMP * top and line.freq > 0]


def two_level_atom(sigma: float, pump_rate: float, transition_frequency: float, linewidth_frequency: float,
                   decay_rate: float, populations: tuple[float, float]):
    """Meep's saturable two-level medium: level 1 pumped to 2 at ``pump_rate``, 2 decays to 1 at
    ``decay_rate``, a Lorentzian 2 → 1 line; isotropic coupling ``sigma``."""
    mp = meep()
    s = mp.Vector3(sigma, sigma, sigma)
    transitions = [mp.Transition(1, 2, pumping_rate=pump_rate, frequency=transition_frequency,
                                 gamma=linewidth_frequency, sigma_diag=s),
                   mp.Transition(2, 1, transition_rate=decay_rate)]
    return mp.MultilevelAtom(sigma=1.0, transitions=transitions, initial_populations=list(populations))


def point(r_um: float, z_um: float = 0.0):
    """A point of the (r, z) plane."""
    return meep().Vector3(r_um, 0, z_um)


def at_every(interval: float, step):
    """Meep's step-function wrapper calling ``step(sim)`` every ``interval`` time units."""
    return meep().at_every(interval, step)


def pulsed_atom(sigma: float, transition_frequency: float, linewidth_frequency: float, decay_rate: float,
                inversion: float, relax_to: str, density: float = 1.0):
    """A gain film inverted at t = 0 by an instantaneous pump (no pump afterwards), as Meep's
    ``MultilevelAtom`` with initial populations (levels numbered from 1, populations in that
    order) and a Lorentzian 1 ↔ 2 line; isotropic coupling ``sigma``.  ``inversion`` = ΔN₀/N₀.

    ``relax_to="transparency"``: three levels, N₁ = 0, N₂ = ΔN₀, N₃ = N₀ − ΔN₀; level 2 decays
    to the uncoupled level 3 at ``decay_rate``, so ΔN = N₂ − N₁ decays to 0.
    ``relax_to="absorption"``: two levels, N₂ = N₀(1 + x)/2, N₁ = N₀ − N₂; 2 decays to 1, so
    ΔN decays to −N₀."""
    mp = meep()
    s = mp.Vector3(sigma, sigma, sigma)
    line = mp.Transition(1, 2, frequency=transition_frequency, gamma=linewidth_frequency, sigma_diag=s)
    if relax_to == "transparency":
        transitions = [line, mp.Transition(2, 3, transition_rate=decay_rate)]
        populations = [0.0, density * inversion, density * (1.0 - inversion)]
    elif relax_to == "absorption":
        transitions = [line, mp.Transition(2, 1, transition_rate=decay_rate)]
        n2 = density * (1.0 + inversion) / 2
        populations = [density - n2, n2]
    else:
        raise ValueError(f"relax_to must be 'transparency' or 'absorption', got {relax_to!r}")
    return mp.MultilevelAtom(sigma=1.0, transitions=transitions, initial_populations=populations)
