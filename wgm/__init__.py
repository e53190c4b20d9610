"""wgm: whispering-gallery modes of microspheres, microdisks and microrings.

Describe a resonator (:mod:`wgm.model`), load it from a TOML config (:func:`load_config`),
and find its modes with the exact solver (:func:`solve`), finite elements (:func:`solve_fem`)
or Meep FDTD (:func:`solve_fdtd`);
run parameter studies (:func:`sweep`), compare with a measurement (:func:`fit`) and find
which modes of a gain-coated resonator lase (:func:`thresholds`).  Results are typed
records (:class:`ModeSpectrum`, :class:`Mode`, ...) that write themselves as JSON, CSV and
HDF5.  The library never prints and never selects a matplotlib backend; figures come from
:mod:`wgm.plotting` (loaded on first use).
"""

from __future__ import annotations

__version__ = "0.1.0"

from pathlib import Path  # noqa: E402

from wgm.config import Config, load_config, parse_config  # noqa: E402
from wgm.errors import ConfigError, SolverError, UserError, WgmError  # noqa: E402
from wgm.exact import solve  # noqa: E402
from wgm.model.materials import ConstantIndex, library_material, nanocrystal_film  # noqa: E402
from wgm.model.resonator import Coating, Disk, Resonator, Ring, Search, Sphere  # noqa: E402
from wgm.records import FieldProfile, Mode, ModeSpectrum  # noqa: E402

__all__ = [
    "__version__", "Config", "load_config", "parse_config", "ConfigError", "UserError", "WgmError",
    "SolverError", "solve", "solve_fem", "solve_fdtd", "sweep", "fit", "thresholds", "ConstantIndex", "library_material",
    "nanocrystal_film", "Coating", "Disk", "Resonator", "Ring", "Search", "Sphere", "Mode", "ModeSpectrum",
    "FieldProfile",
]


def solve_fdtd(resonator: Resonator, search: Search, settings=None) -> ModeSpectrum:
    """The modes of ``resonator`` in ``search`` by Meep FDTD in cylindrical coordinates (any
    axisymmetric shape); ``settings`` is a :class:`wgm.fdtd.FdtdSettings` (the ``[fdtd]``
    table, e.g. ``cfg.fdtd``), default: automatic.  Meep is imported at the first call; under
    ``mpirun`` the ranks share the simulation and every rank returns the result."""
    from wgm import fdtd

    return fdtd.solve(resonator, search, settings)


def solve_fem(resonator: Resonator, search: Search, settings=None, *, fields: bool = False) -> ModeSpectrum:
    """The modes of ``resonator`` in ``search`` by finite elements (any axisymmetric shape);
    ``settings`` is a :class:`wgm.fem.FemSettings` (the ``[fem]`` table, e.g. ``cfg.fem``),
    default: automatic; ``fields``: also the field of every mode (``profiles``)."""
    from wgm import fem

    return fem.solve(resonator, search, settings, fields=fields)


def sweep(config, *, out, vary=(), overrides=(), method: str | None = None, zip_axes: bool | None = None,
          procs_per_sim: int = 1, shard: tuple[int, int] = (0, 1), retry_failed: bool = False,
          plots: bool = True):
    """A parameter study: the modes at every point of a grid of config values, resumable.

    ``config`` is a TOML file (it may hold a ``[sweep]`` table); ``vary`` adds axes as
    ``"KEY=START:STOP:N"``, ``"KEY=v1,v2"`` or ``"KEY=[TOML array]"`` strings; ``overrides``
    are ``"KEY=VALUE"`` strings applied to every point.  Results go to ``out`` (tables, plots
    and one file per point; points already there are reused).  Returns the
    :class:`wgm.sweeps.SweepResult` (``None`` on MPI ranks other than 0).
    """
    from wgm.sweeps import load_sweep, run_sweep

    s = load_sweep(config, tuple(vary), tuple(overrides), zip_axes=zip_axes, method=method)
    return run_sweep(s, out, procs_per_sim=procs_per_sim, shard=shard, retry_failed=retry_failed, plots=plots)


def fit(measurement, config, free, *, overrides=(), search_range: float = 0.10, tolerance_nm: float | None = None,
        snr: float | None = None, min_prominence: float | None = None):
    """Label the peaks of a measurement and fit the ``free`` config keys with the exact solver.

    ``measurement`` is a spectrum file (two columns: wavelength nm, intensity; peaks are found
    above ``snr`` × the noise or ``min_prominence``), a peak-list file (one column) or a
    sequence of peak wavelengths in nm; ``config`` a TOML file or config data (a dict);
    ``free`` dotted keys such as ``["resonator.radius_um"]`` — the first is searched over
    start × (1 ± ``search_range``).  Returns a :class:`wgm.experiment.fitting.FitResult`
    (``parameters``, ``best.assignments``, ``warnings`` for a poor or ambiguous fit).
    """
    from wgm.config import apply_overrides, read_config_file
    from wgm.experiment.fitting import fit as fit_peaks
    from wgm.experiment.spectra import measured_peaks

    if isinstance(config, dict):
        raw, base_dir = apply_overrides(config, overrides), None
    else:
        raw, base_dir = apply_overrides(read_config_file(config), overrides), Path(config).parent
    if isinstance(measurement, (str, Path)):
        m = measured_peaks(measurement, snr=snr, min_prominence=min_prominence)
        peaks, errors, source = list(m.wavelengths_nm), m.errors_nm, str(measurement)
    else:
        peaks, errors, source = [float(v) for v in measurement], None, "peak list"
    return fit_peaks(raw, peaks, [free] if isinstance(free, str) else list(free),
                     peak_errors_nm=None if errors is None else list(errors), search_range=search_range,
                     tolerance_nm=tolerance_nm, base_dir=base_dir, source=source)


def thresholds(config: Config, gain=None):
    """Confinement factor and threshold gain of every mode of ``config``'s search (exact
    solver), against the film's gain spectrum: ``gain`` (a :class:`wgm.lasing.GainSpectrum`),
    else the config's ``[gain]`` table, else the default CsPbBr3-nanocrystal band.  Returns a
    :class:`wgm.lasing.ThresholdResult` (modes ranked by pump margin)."""
    from wgm.lasing import GainSpectrum
    from wgm.lasing import thresholds as _thresholds

    gain = gain or config.gain or GainSpectrum()
    return _thresholds(config.resonator, config.search, gain)


def __getattr__(name: str):
    """Submodules loaded on first use: ``wgm.plotting`` (matplotlib), ``wgm.fdtd``, ``wgm.fem``."""
    if name in ("plotting", "fdtd", "fem", "sweeps", "lasing", "experiment", "exact", "model", "records"):
        import importlib

        return importlib.import_module(f"wgm.{name}")
    raise AttributeError(f"module 'wgm' has no attribute {name!r}")
