"""Parameter studies: one config, some of its keys varied over a grid, resumable.

A sweep is a base config (a TOML file, with ``--set`` overrides) and one or more *axes*,
each a dotted config key with a list of values::

    resonator.radius_um=2:3:11                 # 11 values from 2 to 3 (inclusive)
    resonator.coating.0.thickness_um=0.02,0.05 # a list
    search.wavelength_nm=[[520,560],[560,600]] # a TOML array (any values)

The points are the product of the axes (or, with ``zip``, the axes side by side).  Every
point is identified by a hash of its complete, validated config (an ``nk_file`` by its data,
not its path), the method and the versions of wgm (and Meep, for FDTD), and its result is
written atomically to ``DIR/points/<id>.json`` as soon as it is done: a sweep run again with
the same arguments skips the points already there (and a point keeps its file when the
sweep is extended or reordered, or the project moved).  A point file holds the n,k tables it
used, so it reads back without them.  A point whose computation fails is recorded with the
reason and the sweep goes on.

The tables and plots (``results.csv``, ``sweep.json``, ``*.png``) are derived from the point
files; they are rewritten as the sweep progresses and at its end.

In a config the axes may be given as::

    [sweep]
    vary = ["resonator.radius_um=2:3:11"]
    zip = false
    method = "exact"            # "exact" | "fdtd" | "fem"

Parallel runs (``mpirun``) are handled by :mod:`wgm.parallel`; this module does not know
about ranks.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import itertools
import json
import logging
import math
import socket
import tempfile
import time
import uuid
from dataclasses import dataclass, field, replace
from pathlib import Path

from wgm import parallel
from wgm.config import (Config, apply_overrides, config_to_dict, is_dotted_key, parse_config, parse_sweep_table,
                        parse_value, read_config_file, set_value)
from wgm.errors import ConfigError, UserError, WgmError
from wgm.records import CSV_COLUMNS, ModeSpectrum, atomic_write, csv_table, versions, with_finite_floats
from wgm.records.files import json_text, write_hdf5

__all__ = ["Axis", "Point", "Sweep", "SweepResult", "PointResult", "parse_axis", "load_sweep", "run_sweep",
           "METHODS"]

log = logging.getLogger(__name__)

METHODS = ("exact", "fdtd", "fem")
POINT_SCHEMA = "wgm.sweep.point/1"
_MAX_POINTS = 1_000_000


# --------------------------------------------------------------------------------------
# axes and points

@dataclass(frozen=True)
class Axis:
    """One swept config key and its values (numbers, strings, or any TOML value)."""

    key: str
    values: tuple

    def __post_init__(self):
        if not is_dotted_key(self.key):
            raise ConfigError("sweep.vary", self.key, "a dotted config key like resonator.radius_um")
        if not self.values:
            raise ConfigError(f"sweep.vary {self.key}", [], "at least one value")

    @property
    def path(self) -> list[str]:
        return self.key.split(".")


def parse_axis(text: str, where: str = "--vary") -> Axis:
    """Parse ``KEY=START:STOP:N``, ``KEY=v1,v2,...`` or ``KEY=[v1, v2, ...]`` (a TOML array)."""
    label = f"{where} {text!r}"
    if "=" not in text:
        raise UserError(f"{label}: expected KEY=START:STOP:N or KEY=v1,v2,... "
                        "e.g. resonator.radius_um=2:3:11")
    key, spec = (s.strip() for s in text.split("=", 1))
    if not is_dotted_key(key):
        raise UserError(f"{label}: '{key}' is not a dotted config key like resonator.radius_um")
    if not spec:
        raise UserError(f"{label}: no values after '='")
    if spec.startswith("["):
        values = parse_value(spec, label)
        if not isinstance(values, list):
            raise UserError(f"{label}: '{spec}' is not a TOML array")
    elif spec.count(":") == 2 and "," not in spec:
        start_s, stop_s, n_s = spec.split(":")
        start, stop, n = parse_value(start_s, label), parse_value(stop_s, label), parse_value(n_s, label)
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, stop)) \
                or not all(math.isfinite(v) for v in (start, stop)):
            raise UserError(f"{label}: START and STOP must be finite numbers")
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= _MAX_POINTS:
            raise UserError(f"{label}: N = {n_s!r} must be a whole number of points, 1 to {_MAX_POINTS}")
        if n == 1:
            values = [float(start)]
        else:
            # evenly spaced, ends exact; round to 12 significant digits so that 2.1 is 2.1
            values = [float(f"{start + (stop - start) * i / (n - 1):.12g}") for i in range(n)]
    else:
        values = [parse_value(v, label) for v in spec.split(",") if v.strip()]
    if not values:
        raise UserError(f"{label}: no values")
    return Axis(key, tuple(values))


@dataclass(frozen=True)
class Point:
    """One sweep point: its index, the varied values, the validated config and its id."""

    index: int
    params: dict
    config: Config = field(repr=False)
    id: str


def point_id(cfg: Config, method: str) -> str:
    """A stable hash of everything that determines a point's result: the validated config
    (a user's ``nk_file`` by its *contents*, not its path: a moved project keeps its points, an
    edited file gets new ones), the method, and the versions of the code that computes it
    (wgm; Meep for FDTD; scikit-fem and gmsh for FEM); the settings table of the other
    engines is left out."""
    d = config_to_dict(cfg)
    for engine in ("fdtd", "fem"):
        if method != engine:
            d.pop(engine, None)
    files = _nk_files(d)
    d = _replace_nk_files(d, lambda path: {"nk_sha256": hashlib.sha256(files[path]["text"].encode()).hexdigest()})
    text = json.dumps({"method": method, "config": d, "versions": _solver_versions(method)},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _solver_versions(method: str) -> dict:
    from wgm import __version__

    out = {"wgm": __version__}
    if method == "fdtd":
        from wgm.fdtd.meep_model import meep_version

        out["meep"] = meep_version()
    if method == "fem":
        from importlib import metadata

        for dist in ("scikit-fem", "gmsh"):  # read from the installed metadata: nothing is imported
            try:
                out[dist] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                out[dist] = None
    return out


def _nk_paths(d) -> list[str]:
    """Every ``nk_file`` path named in config data ``d`` (absolute, as ``config_to_dict`` writes)."""
    if isinstance(d, list):
        return [p for v in d for p in _nk_paths(v)]
    if not isinstance(d, dict):
        return []
    own = [d["nk_file"]] if isinstance(d.get("nk_file"), str) else []
    return own + [p for k, v in d.items() if k != "nk_file" for p in _nk_paths(v)]


def _nk_files(d) -> dict[str, dict]:
    """The user's n,k files (tables and refractiveindex.info formula files alike) that config
    data ``d`` names, by path: their name and text, as a point file stores them."""
    out = {}
    for path in _nk_paths(d):
        try:
            text = Path(path).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read n,k file '{path}': {getattr(exc, 'strerror', None) or exc}") from None
        out[path] = {"name": Path(path).name, "text": text}
    return out


def _replace_nk_files(d, new):
    """A copy of config data ``d`` with every ``nk_file`` replaced by the keys ``new(path)``
    (the table's other keys, e.g. ``wavelength_unit``, kept)."""
    if isinstance(d, list):
        return [_replace_nk_files(v, new) for v in d]
    if not isinstance(d, dict):
        return d
    out = {k: _replace_nk_files(v, new) for k, v in d.items() if k != "nk_file"}
    if "nk_file" in d:
        out.update(new(d["nk_file"]))
    return out


def _spectrum_from_dict(d: dict, files: dict) -> ModeSpectrum:
    """A point's spectrum from its file, its materials rebuilt from the n,k files stored with
    it (the user's files may have moved, changed or gone); the materials keep their original
    source path."""
    if not files:
        return ModeSpectrum.from_dict(d)
    with tempfile.TemporaryDirectory(prefix="wgm-point-") as tmp:
        copies = {}
        for i, (path, f) in enumerate(files.items()):
            copy_ = Path(tmp) / str(i) / f["name"]  # the same file name: the material's name is its stem
            copy_.parent.mkdir()
            copy_.write_text(f["text"], encoding="utf-8")
            copies[path] = str(copy_)
        try:
            config = _replace_nk_files(d["config"], lambda path: {"nk_file": copies[path]})
        except KeyError as exc:
            raise ValueError(f"the point file has no copy of the n,k file {exc}") from None
        spectrum = ModeSpectrum.from_dict({**d, "config": config})
    origin = {c: path for path, c in copies.items()}

    def restore(m):
        source = getattr(m, "source", None)
        return replace(m, source=origin[source]) if source in origin else m

    res = spectrum.resonator
    res = replace(res, shape=replace(res.shape, material=restore(res.shape.material)),
                  coatings=tuple(replace(c, material=restore(c.material)) for c in res.coatings),
                  surroundings=restore(res.surroundings),
                  substrate=restore(res.substrate) if res.substrate is not None else None)
    return replace(spectrum, resonator=res)


@dataclass(frozen=True)
class Sweep:
    """A validated sweep: base config, axes, method, and its points."""

    base: dict = field(repr=False)       # raw config (TOML data, overrides applied, no [sweep])
    axes: tuple[Axis, ...]
    zip: bool
    method: str
    base_dir: Path = field(default=Path("."), repr=False)
    source: str = ""
    points: tuple[Point, ...] = field(default=(), repr=False)

    @property
    def keys(self) -> list[str]:
        return [a.key for a in self.axes]

    def to_dict(self) -> dict:
        return with_finite_floats({"source": self.source, "method": self.method, "zip": self.zip,
                                   "axes": [{"key": a.key, "values": list(a.values)} for a in self.axes],
                                   "base_config": self.base})


def _expand(axes: tuple[Axis, ...], zip_axes: bool) -> list[tuple]:
    if zip_axes:
        lengths = {a.key: len(a.values) for a in axes}
        if len(set(lengths.values())) > 1:
            raise UserError(f"--zip needs axes of equal length; got {lengths}")
        return list(zip(*(a.values for a in axes)))
    total = math.prod(len(a.values) for a in axes)
    if total > _MAX_POINTS:
        raise UserError(f"the sweep has {total} points (product of the axes); at most {_MAX_POINTS}")
    return list(itertools.product(*(a.values for a in axes)))


def build_sweep(raw: dict, varies=(), *, zip_axes: bool | None = None, method: str | None = None,
                base_dir=None, source: str = "") -> Sweep:
    """Make a :class:`Sweep` from config data (with an optional ``[sweep]`` table) and axes
    given as ``KEY=...`` strings (which replace config axes of the same key)."""
    table = parse_sweep_table(raw) or {}  # keys and types checked by the config's parser
    raw = {k: v for k, v in raw.items() if k != "sweep"}
    cfg_varies = table.get("vary", [])
    if isinstance(cfg_varies, str):
        cfg_varies = [cfg_varies]
    axes: dict[str, Axis] = {}
    for text in cfg_varies:
        a = parse_axis(text, "sweep.vary")
        axes[a.key] = a
    for text in varies:
        a = parse_axis(text, "--vary")
        axes[a.key] = a
    if not axes:
        raise UserError("nothing to sweep: give --vary KEY=START:STOP:N (or vary = [...] in a [sweep] table)")
    if zip_axes is None:
        zip_axes = table.get("zip", False)
    if method is None:
        method = table.get("method", "exact")
    if method not in METHODS:
        raise ConfigError("sweep.method", method, f"allowed: {', '.join(METHODS)}")
    axes_t = tuple(axes.values())
    points = []
    seen: dict[str, int] = {}
    for i, values in enumerate(_expand(axes_t, zip_axes)):
        params = dict(zip((a.key for a in axes_t), values))
        point_raw = copy.deepcopy(raw)
        for a, v in zip(axes_t, values):
            set_value(point_raw, a.path, v, f"sweep axis {a.key}={v!r}")
        try:
            cfg = parse_config(point_raw, base_dir=base_dir, source=source)
        except ConfigError as exc:
            raise UserError(f"sweep point {i} ({_fmt_params(params)}): {exc}") from None
        pid = point_id(cfg, method)
        if pid in seen:
            raise UserError(f"sweep points {seen[pid]} and {i} are the same config "
                            f"({_fmt_params(params)}): repeated axis values?")
        seen[pid] = i
        points.append(Point(i, params, cfg, pid))
    return Sweep(raw, axes_t, zip_axes, method, Path(base_dir or "."), source, tuple(points))


def load_sweep(path, varies=(), overrides=(), *, zip_axes: bool | None = None,
               method: str | None = None) -> Sweep:
    """Read a config file, apply ``--set`` overrides and ``--vary`` axes: a :class:`Sweep`."""
    raw = apply_overrides(read_config_file(path), overrides)
    return build_sweep(raw, varies, zip_axes=zip_axes, method=method, base_dir=Path(path).parent,
                       source=str(path))


def _fmt_params(params: dict) -> str:
    return ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}" for k, v in params.items())


# --------------------------------------------------------------------------------------
# results

@dataclass(frozen=True)
class PointResult:
    """The outcome of one sweep point (``status`` is ``"done"`` or ``"failed"``)."""

    point: int
    id: str
    params: dict
    status: str
    spectrum: ModeSpectrum | None
    error: str = ""
    seconds: float = math.nan
    finished_utc: str = ""
    run_id: str = ""
    host: str = ""
    rank: int = 0
    nk_files: dict = field(default_factory=dict, repr=False, compare=False)  # path -> {name, text}

    def to_dict(self) -> dict:
        return {"schema": POINT_SCHEMA, "point": self.point, "id": self.id,
                "params": with_finite_floats(self.params),
                "status": self.status, "error": self.error,
                "seconds": self.seconds if math.isfinite(self.seconds) else None,
                "finished_utc": self.finished_utc, "run_id": self.run_id, "host": self.host,
                "rank": self.rank, "spectrum": self.spectrum.to_dict() if self.spectrum is not None else None,
                # self-contained: copies of the user's n,k files, by the path the config names
                "nk_files": self.nk_files}

    @classmethod
    def from_dict(cls, d: dict) -> "PointResult":
        if d.get("schema") != POINT_SCHEMA:
            raise ValueError(f"not a wgm sweep point (schema {d.get('schema')!r})")
        spec = _spectrum_from_dict(d["spectrum"], d.get("nk_files", {})) if d.get("spectrum") else None
        return cls(d["point"], d["id"], d["params"], d["status"], spec, d.get("error", ""),
                   d.get("seconds") if d.get("seconds") is not None else math.nan,
                   d.get("finished_utc", ""), d.get("run_id", ""),
                   d.get("host", ""), d.get("rank", 0), d.get("nk_files", {}))

    def summary(self) -> dict:
        """The record without the modes (for the metadata file)."""
        d = self.to_dict()
        del d["spectrum"], d["schema"], d["nk_files"]
        d["n_modes"] = len(self.spectrum.modes) if self.spectrum is not None else 0
        # FDTD and FEM points: the exact modes of the band the run did not report (each point's file
        # holds them with their reasons)
        d["n_missing"] = len(self.spectrum.missing) if self.spectrum is not None else 0
        return d


@dataclass(frozen=True)
class SweepResult:
    """All points of a sweep (done, failed or still pending), with the sweep that made them."""

    sweep: Sweep
    results: dict          # point index -> PointResult (finished points only)
    versions: dict = field(default_factory=versions)

    @property
    def counts(self) -> dict:
        done = sum(r.status == "done" for r in self.results.values())
        failed = sum(r.status == "failed" for r in self.results.values())
        return {"points": len(self.sweep.points), "done": done, "failed": failed,
                "pending": len(self.sweep.points) - done - failed}

    def rows(self) -> list[dict]:
        """One row per mode per finished point: ``point``, the varied keys, the mode fields."""
        out = []
        for i in sorted(self.results):
            r = self.results[i]
            if r.spectrum is None:
                continue
            for m in r.spectrum.modes:
                d = m.to_row()
                row = {"point": i, **r.params}
                row.update({c: d[c] for c in CSV_COLUMNS})
                out.append(row)
        return out

    def columns(self) -> list[str]:
        return ["point", *self.sweep.keys, *CSV_COLUMNS]

    def to_csv(self) -> str:
        return csv_table(self.columns(), self.rows())

    def to_dict(self) -> dict:
        """Metadata: the sweep, versions, counts, and every point's status and timing."""
        pts = []
        for p in self.sweep.points:
            r = self.results.get(p.index)
            pts.append(r.summary() | {"point": p.index} if r is not None else
                       {"point": p.index, "id": p.id, "params": with_finite_floats(p.params), "status": "pending"})
        return {"sweep": self.sweep.to_dict(), "versions": self.versions, "counts": self.counts, "points": pts}

    def to_hdf5(self, path) -> Path:
        """Write the table of :meth:`rows` (group ``modes``, one dataset per column, see
        :func:`wgm.records.files.hdf5_table`) and the metadata of :meth:`to_dict` (JSON
        attribute ``metadata``) to HDF5, atomically."""
        return write_hdf5(path, {"modes": (self.columns(), self.rows())}, {"metadata": self.to_dict()})

    def write(self, out_dir, *, plots: bool = True) -> list[Path]:
        """Write ``results.csv``, ``results.h5``, ``sweep.json`` (and the plots) atomically;
        return the paths."""
        out_dir = Path(out_dir)
        paths = [out_dir / "results.csv", out_dir / "sweep.json"]
        atomic_write(paths[0], self.to_csv())
        atomic_write(paths[1], json_text(self.to_dict(), indent=1))
        paths.append(self.to_hdf5(out_dir / "results.h5"))
        if plots and self.rows():
            from wgm import plotting

            paths += plotting.save_sweep_figures(self, out_dir)
        return paths




# --------------------------------------------------------------------------------------
# the point store

class PointStore:
    """``DIR/points/<id>.json``: one file per finished point, written atomically."""

    def __init__(self, out_dir):
        self.dir = Path(out_dir) / "points"

    def path(self, pid: str) -> Path:
        return self.dir / f"{pid}.json"

    def load(self, sweep: Sweep) -> dict[int, PointResult]:
        """The finished points of ``sweep`` found on disk (by id; index as in this sweep)."""
        found = {}
        by_id = {p.id: p for p in sweep.points}
        if not self.dir.is_dir():
            return found
        for f in self.dir.iterdir():
            if f.name.startswith(".") or f.suffix != ".json" or f.stem not in by_id:
                continue  # temporary files of an interrupted write, points of other sweeps
            try:
                rec = PointResult.from_dict(json.loads(f.read_text(encoding="utf-8")))
            except (OSError, ValueError, KeyError, TypeError, WgmError) as exc:
                log.warning("ignoring unreadable point file %s (%s): the point will be recomputed", f, exc)
                continue
            p = by_id[f.stem]
            found[p.index] = replace(rec, point=p.index, id=p.id, params=p.params)
        return found

    def save(self, rec: PointResult) -> Path:
        path = self.path(rec.id)
        atomic_write(path, json_text(rec.to_dict(), indent=None))
        return path


# --------------------------------------------------------------------------------------
# running

def _estimated_cost(point: Point, method: str) -> float:
    """Relative cost of a point, for scheduling (costliest first) and the ETA.

    Exact solver: ∝ the number of angular orders, i.e. the radius.  FEM: ∝ the meshed area
    of the (r, z) section, i.e. the radius squared, times the azimuthal numbers asked for (if
    given).  FDTD: cells × time steps per period (∝ resolution) × the number of azimuthal
    numbers, from the engine's own plan (which also finds points with no mode in the band:
    nearly free).
    """
    res = point.config.resonator
    if method == "exact":
        return res.shape.radius_um + sum(c.thickness_um for c in res.coatings)
    if method == "fem":
        m_values = point.config.fem.m
        return res.outer_radius_um ** 2 * (len(m_values) if m_values else 1)
    from wgm import fdtd

    cfg = point.config
    try:
        pl = fdtd.plan(res, cfg.fdtd.band(cfg.search), cfg.fdtd)
    except (WgmError, ArithmeticError, ValueError):
        return 0.0  # the point will fail quickly, with its reason
    return pl.cells * pl.resolution * max(len(pl.m_values), 0.05)


def solve_point(cfg: Config, method: str) -> ModeSpectrum:
    """The mode spectrum of one config by ``method``, with every mode's Q budget
    (:func:`wgm.records.budget.apply_q_budget`: ``Q`` the loaded Q)."""
    from wgm.records.budget import apply_q_budget

    if method == "fdtd":
        from wgm import fdtd

        spectrum = fdtd.solve(cfg.resonator, cfg.search, cfg.fdtd)
    elif method == "fem":
        from wgm import fem

        spectrum = fem.solve(cfg.resonator, cfg.search, cfg.fem)
    else:
        from wgm.exact.solver import solve

        spectrum = solve(cfg.resonator, cfg.search)
    return apply_q_budget(spectrum, cfg.losses)


def _fdtd_groups(n_groups: int, my_group: int) -> None:
    from wgm import fdtd

    fdtd.use_process_groups(n_groups)


@dataclass(frozen=True)
class _Outcome:
    """One point's computation as it travels between ranks: the modes, not the spectrum (its
    resonator's materials make a large pickle, and every rank has the point's config)."""

    modes: tuple | None          # None: the point failed
    versions: dict | None
    missing: tuple               # FDTD, FEM: the exact modes of the band the run did not report
    error: str
    seconds: float
    finished_utc: str
    host: str
    rank: int


def run_sweep(sweep: Sweep, out_dir, *, procs_per_sim: int = 1, shard: tuple[int, int] = (0, 1),
              retry_failed: bool = False, write_every_s: float = 30.0, plots: bool = True):
    """Compute every point of ``sweep`` not yet in ``out_dir`` and write the tables.

    Runs serially, or under MPI over groups of ``procs_per_sim`` ranks.  ``shard = (i, n)``
    restricts this run to the points with index ``≡ i (mod n)`` (one task of a job array).
    Returns the :class:`SweepResult` on the I/O rank, ``None`` on the other ranks.
    """
    out_dir = Path(out_dir)
    store = PointStore(out_dir)
    i_shard, n_shard = shard
    if not (n_shard >= 1 and 0 <= i_shard < n_shard):
        raise UserError(f"--shard {i_shard}/{n_shard}: need 0 <= I < N")

    have: dict[int, PointResult] = {}

    def prepare():  # on the I/O rank; the others learn the list of points to do
        try:
            store.dir.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {out_dir}: cannot create directory ({exc.strerror})") from None
        for d in (out_dir, store.dir):  # before any point is computed: can its result be kept?
            try:
                with tempfile.TemporaryFile(dir=d):
                    pass
            except OSError as exc:
                raise UserError(f"--out {out_dir}: cannot write in {d} ({exc.strerror})") from None
        have.update(store.load(sweep))
        todo = [p.index for p in sweep.points if p.index % n_shard == i_shard and
                (p.index not in have or (retry_failed and have[p.index].status == "failed"))]
        costs.update((i, _estimated_cost(sweep.points[i], sweep.method)) for i in todo)
        if parallel.size() > 1:  # dynamic scheduling: costliest first keeps the ranks busy to the end
            todo.sort(key=lambda i: -costs[i])
        return uuid.uuid4().hex[:12], todo  # one run id for all ranks of this run

    costs: dict[int, float] = {}
    run_id, todo = parallel.on_io_rank(prepare)
    n_total = len(sweep.points)
    if parallel.is_io_rank():
        log.info("sweep of %d points (%s, %s): %d already done, %d to do%s", n_total, sweep.method,
                 " x ".join(f"{a.key}: {len(a.values)} values" for a in sweep.axes), len(have), len(todo),
                 f" (shard {i_shard}/{n_shard})" if n_shard > 1 else "")

    results = dict(have)
    progress = _Progress(costs)
    last_write = time.monotonic()

    def work(i: int) -> _Outcome:
        p = sweep.points[i]
        t0 = time.perf_counter()
        spectrum, error = None, ""
        try:
            spectrum = solve_point(p.config, sweep.method)
        except WgmError as exc:
            error = str(exc)
        except (ArithmeticError, ValueError, RuntimeError) as exc:  # a numerical failure of this point
            log.debug("point %d failed", i, exc_info=True)
            error = f"{type(exc).__name__}: {exc}"
        return _Outcome(spectrum.modes if spectrum is not None else None,
                        spectrum.versions if spectrum is not None else None,
                        spectrum.missing if spectrum is not None else (), error, time.perf_counter() - t0,
                        _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), socket.gethostname(),
                        parallel.rank())

    def record(i: int, o: _Outcome) -> PointResult:
        p = sweep.points[i]
        search = p.config.fdtd.band(p.config.search) if sweep.method == "fdtd" else p.config.search
        spectrum = (ModeSpectrum(p.config.resonator, search, sweep.method, o.modes, o.versions, missing=o.missing)
                    if o.modes is not None else None)
        return PointResult(i, p.id, p.params, "done" if spectrum is not None else "failed", spectrum, o.error,
                           o.seconds, o.finished_utc, run_id, o.host, o.rank, _nk_files(config_to_dict(p.config)))

    def on_leader(i: int, outcome: _Outcome) -> None:
        store.save(record(i, outcome))

    def on_result(i: int, outcome: _Outcome) -> None:
        nonlocal last_write
        rec = record(i, outcome)
        results[i] = rec
        progress.done(rec)
        if time.monotonic() - last_write > write_every_s:  # tables readable while the sweep runs
            SweepResult(sweep, dict(results)).write(out_dir, plots=False)
            last_write = time.monotonic()

    parallel.map_dynamic(todo, work, procs_per_task=procs_per_sim,
                         on_groups=_fdtd_groups if sweep.method == "fdtd" else None,
                         on_leader=on_leader, on_result=on_result)
    if not parallel.is_io_rank():
        return None
    # points finished meanwhile by other shards (job arrays) are in the store too
    results = {**store.load(sweep), **results}
    out = SweepResult(sweep, results)
    out.write(out_dir, plots=plots)
    return out


class _Progress:
    """The sweep's progress: one log line per finished point (done/total, the point, its time)
    with an ETA, the estimated cost still to do at the throughput (cost per second) so far.
    Under MPI the throughput is that of all groups together, so the ETA needs no rank count."""

    def __init__(self, costs: dict[int, float], clock=time.monotonic):
        self._costs = dict(costs)   # point index -> estimated cost (see _estimated_cost)
        self._left = math.fsum(self._costs.values())
        self._done_cost = 0.0
        self._n_done = 0
        self._clock = clock
        self._t0 = clock()

    def eta_s(self) -> float:
        """Seconds until the last point is done (NaN until some estimated cost is done)."""
        if self._done_cost <= 0.0:
            return math.nan
        return max(self._clock() - self._t0, 0.0) * max(self._left, 0.0) / self._done_cost

    def done(self, rec: PointResult) -> None:
        self._n_done += 1
        c = self._costs.get(rec.point, 0.0)
        self._left -= c
        self._done_cost += c
        what = f"{len(rec.spectrum.modes)} modes" if rec.status == "done" else f"FAILED: {rec.error}"
        msg = (f"[{self._n_done}/{len(self._costs)}] point {rec.point} ({_fmt_params(rec.params)}): {what}; "
               f"{rec.seconds:.1f} s on rank {rec.rank}; ETA {_fmt_duration(self.eta_s())}")
        (log.warning if rec.status == "failed" else log.info)(msg)


def _fmt_duration(s: float) -> str:
    if not math.isfinite(s):
        return "?"
    s = int(round(s))
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"
