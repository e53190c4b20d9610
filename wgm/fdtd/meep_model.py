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
from wgm.model.resonator import Disk, Resonator, Sphere

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


def geometry(res: Resonator, pl: FdtdPlan):
    """(objects, background medium); objects are listed outermost first (later objects take
    precedence in Meep), so layer ``Layer.index = j`` is object ``len(objects) - 1 - j``."""
    mp = meep()
    layers = res.layers()
    n_lay = len(layers)
    media = [medium(p) for p in pl.media]
    objs = []
    inf = mp.inf
    if res.substrate is not None:
        half = layers[-1].half_height_um
        depth = pl.cell_z_um / 2 - half
        objs.append(mp.Block(center=mp.Vector3(pl.cell_r_um / 2, 0, -half - depth / 2),
                             size=mp.Vector3(inf, inf, depth), material=media[n_lay + 1]))
    for lay in reversed(layers):  # outermost first: later objects take precedence
        r, material = lay.outer_radius_um, media[lay.index]
        h = inf if res.is_2d else 2 * lay.half_height_um
        if isinstance(res.shape, Sphere):
            objs.append(mp.Sphere(radius=r, center=mp.Vector3(), material=material))
        elif isinstance(res.shape, Disk):
            objs.append(mp.Block(center=mp.Vector3(r / 2, 0, 0), size=mp.Vector3(r, inf, h), material=material))
        else:
            w = r - lay.inner_radius_um
            objs.append(mp.Block(center=mp.Vector3(r - w / 2, 0, 0), size=mp.Vector3(w, inf, h), material=material))
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
    objs, background = geometry_ if geometry_ is not None else geometry(res, pl)
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
                         symmetries=symmetries, force_complex_fields=True)


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
