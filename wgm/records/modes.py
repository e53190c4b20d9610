"""Typed result records: :class:`Mode`, :class:`ModeSpectrum`, :class:`FieldProfile`.

A :class:`ModeSpectrum` carries the resonator and search that produced it, the method
and the versions, so a result file is self-describing.
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

import numpy as np

from wgm.records.files import atomic_path, atomic_write, csv_table, json_text, versions, with_finite_floats, write_hdf5

@dataclass(frozen=True)
class Mode:
    """One resonance.

    Attributes
    ----------
    polarization : {"TE", "TM"}
        Mie convention (TE: no E normal to the surface; 2-D: ``E_z``).
    l : int
        Angular number (sphere); for the 2-D limit equal to ``m``.
    m : int
        Azimuthal number; for a sphere the equatorial representative ``m = l`` of the
        ``2l+1``-fold degenerate multiplet.
    radial_order : int
        1 + the number of radial field nodes inside the resonator.
    wavelength_nm : float
        Resonance wavelength ``2π c / Re ω`` (nm).
    Q : float
        ``Re ω / (−2 Im ω)``.
    fsr_nm : float or None
        Free spectral range of the mode's family at this mode (centred difference of the
        neighbours ``l ± 1``), nm.
    degeneracy : int
        ``2l + 1`` for a sphere, 2 for ``m > 0`` in the 2-D limit.
    size_parameter : (float, float)
        ``k0 × outer radius`` (real, imaginary) of the quasi-normal mode.
    q_resolved : bool
        False when ``Q`` is only a lower bound (numerical resolution reached).
    q_rel_error : float or None
        Estimated relative numerical uncertainty of ``Q`` (``None`` when not resolved).  Exact
        solver: the root finder's; FDTD: the grid's (the engine's measured convergence model
        at the resolution used) plus Harminv's.
    wavelength_rel_error : float or None
        Estimated relative numerical uncertainty of ``wavelength_nm`` (FDTD: the grid's from
        the convergence model plus Harminv's; ``None`` for the exact solver, whose roots are
        converged to machine precision).
    harminv_error : float or None
        Harminv's error estimate of the complex frequency (FDTD only), in Meep frequency units.
    note : str
        Warnings about this mode, empty when there are none.
    correction_wavelength_nm, correction_q_rel : float or None
        FDTD with dispersive materials: the first-order correction from the fitted material
        models to the true materials already included in ``wavelength_nm`` (nm, added) and ``Q``
        (relative); ``None`` otherwise.
    polar_order : int or None
        Number of field nodes along the polar direction (across the equatorial plane for
        finite shapes): ``l − |m|`` for a sphere; ``None`` where the engine does not say
        (exact solver for the 2-D limit, FDTD).
    mode_volume_um3 : float or None
        Mode volume ``V = ∫ ε|E|² dV / max(ε|E|²)`` (µm³), the one of the Purcell factor: FEM,
        the exact solver for spheres, FDTD from a field profile (via
        :func:`wgm.records.emission.emission_figures`); ``None`` otherwise (the 2-D limit).
    energy_shares : tuple of (str, float) or None
        Share of the electric energy ``∫ ε|E|²`` in each medium, by name: ``"core"``,
        ``"coating.0"``, ..., ``"surroundings"``, ``"substrate"``, ``"pedestal"`` (the layer
        numbering of :mod:`wgm.model.section`); FEM and the exact solver (spheres).  JSON: an object ``{name: share}``;
        CSV and HDF5 tables: one text cell ``core=0.93;coating.0=0.05;surroundings=0.02``
        (:func:`energy_shares_text`, read back by :func:`parse_energy_shares`).
        The exact solver fills both for spheres (:mod:`wgm.exact.fields`).
    purcell_factor : float or None
        Emission figures (:func:`wgm.records.emission.emission_figures`; ``None`` until
        computed).  Purcell factor ``F = (3/4π²)(λ/n)³ Q_eff/V_e`` of an emitter at the largest
        ``ε|E|²`` in the emitting layer, aligned with the field, its line centred on the mode:
        ``Q_eff = 1/(1/Q + 1/Q_em)``, ``Q_em`` the emitter line's ``λ/Δλ``, ``n`` the layer's
        index, ``V_e = ∫ε|E|² / max_layer(ε|E|²)``.
    purcell_factor_mean : float or None
        The same averaged over positions uniform in the emitting layer and over orientations:
        ``F̄ = (1/4π²)(λ/n)³ Q_eff η/V_layer`` (``η`` the layer's energy share, ``V_layer`` its
        volume).
    beta : float or None
        Spontaneous-emission factor: the fraction of the layer's emission (the emitter line as
        given) into this one mode, ``w F̄ / (Σ_k g_k w_k F̄_k + 1)`` over the modes of the emission
        band (``g`` the degeneracy, ``w`` the Lorentzian overlap of line and mode at their
        detuning; ``1``: emission into everything else at the bulk rate).
    n_eff : float or None
        Effective index ``m λ/(2π R)`` (sphere: ``(l + ½) λ/(2π R)``), ``R`` the outer radius
        of the outermost layer.
    n_group : float or None
        Group index ``λ²/(2π R · FSR)`` from the mode's free spectral range.
    q_intrinsic, q_radiation, q_absorption, q_scattering, q_coupling : float or None
        The Q budget (:func:`wgm.records.budget.apply_q_budget`; ``None`` until applied):
        ``q_intrinsic`` the engine's Q (radiation and absorption), the others its parts and the
        added losses of ``[losses]``; ``Q`` is then the loaded Q,
        ``1/Q = 1/Q_rad + Σ 1/Q_abs,i + 1/Q_ss + 1/Q_c``.  ``inf``: no such loss.  Where the
        engine gives neither energy shares nor a field profile (FDTD without fields), absorption
        is not split from radiation: ``q_radiation`` and ``q_absorption`` stay ``None``.
    q_absorption_by_layer : tuple of (str, float) or None
        ``Q_abs,i`` of each absorbing medium, by the layer names of ``energy_shares``.
    """

    polarization: str
    l: int | None
    m: int
    radial_order: int | None
    wavelength_nm: float
    Q: float
    fsr_nm: float | None = None
    degeneracy: int = 1
    size_parameter: tuple[float, float] = (math.nan, math.nan)
    q_resolved: bool = True
    q_rel_error: float | None = None
    wavelength_rel_error: float | None = None
    harminv_error: float | None = None
    note: str = ""
    correction_wavelength_nm: float | None = None
    correction_q_rel: float | None = None
    polar_order: int | None = None
    mode_volume_um3: float | None = None
    energy_shares: tuple[tuple[str, float], ...] | None = None
    purcell_factor: float | None = None
    purcell_factor_mean: float | None = None
    beta: float | None = None
    n_eff: float | None = None
    n_group: float | None = None
    q_intrinsic: float | None = None
    q_radiation: float | None = None
    q_absorption: float | None = None
    q_scattering: float | None = None
    q_coupling: float | None = None
    q_absorption_by_layer: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self):
        if self.q_absorption_by_layer is not None:
            by = self.q_absorption_by_layer
            if isinstance(by, str):
                by = parse_energy_shares(by)
            elif isinstance(by, dict):
                by = tuple(by.items())
            object.__setattr__(self, "q_absorption_by_layer",
                               tuple((str(k), math.inf if v is None else float(v)) for k, v in by))
        if self.energy_shares is not None:
            shares = self.energy_shares
            if isinstance(shares, str):
                shares = parse_energy_shares(shares)
            elif isinstance(shares, dict):
                shares = tuple(shares.items())
            object.__setattr__(self, "energy_shares", tuple((str(k), float(v)) for k, v in shares))

    @property
    def core_energy_share(self) -> float | None:
        """Share of the electric energy in the core (``None`` when the engine gives no shares)."""
        return dict(self.energy_shares).get("core") if self.energy_shares is not None else None

    @property
    def intrinsic_q(self) -> float:
        """The engine's Q (radiation and absorption): ``q_intrinsic`` once the Q budget is
        applied, else ``Q`` (what engines are compared by)."""
        return self.q_intrinsic if self.q_intrinsic is not None else self.Q

    @property
    def linewidth_nm(self) -> float:
        """Full width at half maximum ``λ / Q`` (nm)."""
        return self.wavelength_nm / self.Q if self.Q else math.inf

    @property
    def family(self) -> str:
        """``"TE1"``-style label of the (polarization, radial order) family (``"TE?"`` if unknown)."""
        return f"{self.polarization}{self.radial_order if self.radial_order is not None else '?'}"

    def to_dict(self) -> dict:
        """The fields (and ``linewidth_nm``) as plain Python data; non-finite floats are kept
        (the file writers of :mod:`wgm.records.files` apply the one rule)."""
        d = asdict(self)
        d["size_parameter"] = list(self.size_parameter)
        d["linewidth_nm"] = self.linewidth_nm
        d["energy_shares"] = dict(self.energy_shares) if self.energy_shares is not None else None
        for k in Q_BUDGET_FIELDS:
            d.pop(k)
        d.pop("q_absorption_by_layer")  # in q_budget
        d["q_budget"] = self.q_budget()
        return d

    def q_budget(self) -> dict | None:
        """The JSON form of the budget: ``{"radiation", "absorption", "scattering", "coupling",
        "intrinsic", "absorption_by_layer"}``, an infinite Q (no such loss) as ``None``;
        ``None`` when no budget was applied.  Without energy shares (FDTD) ``radiation`` and
        ``absorption`` are ``None`` and ``absorption_split`` is false."""
        if self.q_intrinsic is None:
            return None
        fin = lambda q: q if q is not None and math.isfinite(q) else None  # noqa: E731
        return {"radiation": fin(self.q_radiation), "absorption": fin(self.q_absorption),
                "scattering": fin(self.q_scattering), "coupling": fin(self.q_coupling),
                "intrinsic": fin(self.q_intrinsic),
                "absorption_by_layer": ({k: fin(v) for k, v in self.q_absorption_by_layer}
                                        if self.q_absorption_by_layer is not None else None),
                "absorption_split": self.q_radiation is not None}

    def to_row(self) -> dict:
        """:meth:`to_dict` for a table (CSV, HDF5): ``energy_shares`` as one text cell
        (:func:`energy_shares_text`)."""
        d = self.to_dict()
        d["energy_shares"] = energy_shares_text(self.energy_shares)
        d.pop("q_budget")
        for k in Q_BUDGET_FIELDS:
            d[k] = getattr(self, k)
        d["q_absorption_by_layer"] = energy_shares_text(self.q_absorption_by_layer)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "Mode":
        """Inverse of :meth:`to_dict`, also of its JSON form (``"inf"`` for an unbounded Q;
        files written before the one rule have ``null`` there)."""
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["Q"] = math.inf if kw.get("Q") is None else float(kw["Q"])
        budget = d.get("q_budget")
        if budget is not None:  # JSON: None is an infinite Q (no such loss), except unsplit radiation/absorption
            split = budget.get("absorption_split", True)
            inf = lambda v: math.inf if v is None else float(v)  # noqa: E731
            kw["q_intrinsic"] = inf(budget.get("intrinsic"))
            kw["q_scattering"] = inf(budget.get("scattering"))
            kw["q_coupling"] = inf(budget.get("coupling"))
            kw["q_radiation"] = inf(budget.get("radiation")) if split else None
            kw["q_absorption"] = inf(budget.get("absorption")) if split else None
            kw["q_absorption_by_layer"] = budget.get("absorption_by_layer")
        for k in Q_BUDGET_FIELDS:  # table rows: text cells
            if isinstance(kw.get(k), str):
                kw[k] = float(kw[k])
            elif kw.get(k) is not None and not isinstance(kw.get(k), float):
                kw[k] = float(kw[k])
        if kw.get("q_absorption_by_layer") == "":
            kw["q_absorption_by_layer"] = None
        kw["size_parameter"] = tuple(math.nan if x is None else float(x)
                                     for x in kw.get("size_parameter", (math.nan, math.nan)))
        for k in ("fsr_nm", "q_rel_error", "wavelength_rel_error", "harminv_error", "correction_wavelength_nm",
                  "correction_q_rel", "mode_volume_um3", *EMISSION_FIELDS):
            if isinstance(kw.get(k), str):
                kw[k] = float(kw[k])
        return cls(**kw)


Q_BUDGET_FIELDS = ("q_intrinsic", "q_radiation", "q_absorption", "q_scattering", "q_coupling")
"""The scalar fields of the Q budget (:func:`wgm.records.budget.apply_q_budget`)."""

EMISSION_FIELDS = ("purcell_factor", "purcell_factor_mean", "beta", "n_eff", "n_group")
"""The fields of :func:`wgm.records.emission.emission_figures`."""


def energy_shares_text(shares) -> str | None:
    """The energy shares as one table cell: ``name=share`` pairs joined by ``;`` (shares at
    full precision), ``None`` (a blank cell) when there are none."""
    if shares is None:
        return None
    return ";".join(f"{k}={float(v)!r}" for k, v in (shares.items() if isinstance(shares, dict) else shares))


def parse_energy_shares(text: str) -> tuple[tuple[str, float], ...]:
    """Inverse of :func:`energy_shares_text`."""
    out = []
    for part in text.split(";"):
        if part.strip():
            name, _, value = part.partition("=")
            out.append((name.strip(), float(value)))
    return tuple(out)


CSV_COLUMNS = ("polarization", "l", "m", "radial_order", "wavelength_nm", "Q", "linewidth_nm", "fsr_nm",
               "degeneracy", "q_resolved", "q_rel_error", "wavelength_rel_error", "harminv_error", "note",
               "correction_wavelength_nm", "correction_q_rel", "polar_order", "mode_volume_um3", "energy_shares",
               "purcell_factor", "purcell_factor_mean", "beta", "n_eff", "n_group",
               "q_intrinsic", "q_radiation", "q_absorption", "q_scattering", "q_coupling", "q_absorption_by_layer")

# The methods whose spectra list the modes of the band they did not find (``ModeSpectrum.missing``,
# written as missing.csv): FDTD and FEM, checked against the exact solver where it applies.
METHODS_WITH_MISSES = ("fdtd", "fem")

MISSED_REASONS = {
    "merged": "within the linewidth of a reported line (Harminv saw one line)",
    "amplitude-cut": "seen, but weaker than Harminv's relative-amplitude cut",
    "transient": "seen when the lines were located, then gone (taken for a transient of the pulse)",
    "not-excited": "its mirror class was not simulated",
    "reduced-cell": "beyond the reduced cell (its field reaches the cut)",
    "outside-search": "seen, but classified outside the search (polarization or radial order)",
    "unknown": "not seen (too weak at the source and monitor points, or not resolved)",
}


@dataclass(frozen=True)
class MissedMode:
    """An exact mode in an FDTD (or FEM) run's band, m set, polarizations and radial orders that
    the run did not report (spheres and the 2-D limit).

    Attributes
    ----------
    polarization, l, m, radial_order, wavelength_nm, Q
        The exact mode (of the model FDTD simulates), ``m`` the simulated azimuthal number.
    reason : str
        One of :data:`MISSED_REASONS`: ``"merged"``, ``"amplitude-cut"``, ``"transient"``,
        ``"not-excited"``, ``"reduced-cell"``, ``"outside-search"``, ``"unknown"``.
    note : str
        Details (e.g. the line it was merged with).
    """

    polarization: str
    l: int
    m: int
    radial_order: int
    wavelength_nm: float
    Q: float
    reason: str
    note: str = ""

    def __post_init__(self):
        if self.reason not in MISSED_REASONS:
            raise ValueError(f"MissedMode.reason {self.reason!r} is not one of {sorted(MISSED_REASONS)}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MissedMode":
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["Q"] = math.inf if kw.get("Q") is None else float(kw["Q"])
        return cls(**kw)


MISSED_COLUMNS = ("polarization", "l", "m", "radial_order", "wavelength_nm", "Q", "reason", "note")


@dataclass(frozen=True)
class ModeSpectrum:
    """The modes found for one resonator and search, with provenance."""

    resonator: object
    search: object
    method: str
    modes: tuple[Mode, ...]
    versions: dict = field(default_factory=lambda: versions())
    profiles: tuple = field(default=(), compare=False, repr=False)
    run_info: dict = field(default_factory=dict, compare=False, repr=False)  # e.g. the FDTD cells used
    missing: tuple = ()  # MissedMode: exact modes of the band an FDTD or FEM run did not report
    losses: object = None  # wgm.model.losses.Losses of the Q budget applied (None: none applied)

    @property
    def can_miss(self) -> bool:
        """True for the methods that list the exact modes they did not find (FDTD, FEM)."""
        return self.method in METHODS_WITH_MISSES

    def __len__(self):
        return len(self.modes)

    def __repr__(self) -> str:
        """Short: the resonator's kind, the band, how many modes, the method (not the whole
        resonator and every mode)."""
        lo, hi = self.search.wavelength_nm
        n = len(self.modes)
        missed = f", {len(self.missing)} missed" if self.missing else ""
        return (f"<ModeSpectrum {self.resonator.kind}, {lo:g}–{hi:g} nm: {n} mode{'s' * (n != 1)}{missed} "
                f"({self.method})>")

    def families(self) -> dict[str, list[Mode]]:
        """Modes grouped by family label (``"TE1"``, ``"TM2"``, ...), each sorted by l (then m)."""
        out: dict[str, list[Mode]] = {}
        for m in sorted(self.modes, key=lambda m: (m.family, m.l if m.l is not None else m.m, m.m)):
            out.setdefault(m.family, []).append(m)
        return out

    def config_dict(self) -> dict:
        from wgm.config import Config, config_to_dict
        from wgm.model.losses import Losses

        return config_to_dict(Config(self.resonator, self.search, losses=self.losses or Losses()))

    def to_dict(self) -> dict:
        """The JSON form: method, versions, config, modes (and run information), non-finite
        floats by the one rule of :mod:`wgm.records.files`."""
        return with_finite_floats({
            "method": self.method,
            "versions": self.versions,
            "config": self.config_dict(),
            "modes": [m.to_dict() for m in self.modes],
        } | ({"missing": [m.to_dict() for m in self.missing]} if self.can_miss else {})
          | ({"run": self.run_info} if self.run_info else {}))

    def to_json(self) -> str:
        return json_text(self.to_dict())

    def to_csv(self) -> str:
        return csv_table(CSV_COLUMNS, (m.to_row() for m in self.modes))

    def missing_csv(self) -> str:
        """CSV of the missed modes (``MISSED_COLUMNS``)."""
        return csv_table(MISSED_COLUMNS, (m.to_dict() for m in self.missing))

    def write(self, out_dir) -> list[Path]:
        """Write ``modes.json`` and ``modes.csv`` (and, for FDTD and FEM, ``missing.csv``: the
        exact modes of the band the run did not report) into ``out_dir`` (atomically); return the
        paths."""
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        paths = [out_dir / "modes.json", out_dir / "modes.csv"]
        atomic_write(paths[0], self.to_json())
        atomic_write(paths[1], self.to_csv())
        if self.can_miss:
            paths.append(out_dir / "missing.csv")
            atomic_write(paths[2], self.missing_csv())
        return paths

    def to_hdf5(self, path) -> Path:
        """Write the mode table (group ``modes``, one dataset per column, see
        :func:`wgm.records.files.hdf5_table`), the config, method and versions (attributes) to HDF5."""
        return write_hdf5(path, {"modes": (CSV_COLUMNS, [m.to_row() for m in self.modes])},
                          {"config": self.config_dict(), "method": self.method, "versions": self.versions})

    def profiles_to_hdf5(self, path) -> Path:
        """Write every field profile (FDTD, FEM) to HDF5: one group per mode, ``mode_000`` ..."""
        import h5py

        path = Path(path)
        with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
            f.attrs["config"] = json_text(self.config_dict(), None)
            for i, prof in enumerate(self.profiles):
                prof.to_hdf5_group(f.create_group(f"mode_{i:03d}"))
        return path

    @classmethod
    def from_json(cls, text: str) -> "ModeSpectrum":
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, d: dict) -> "ModeSpectrum":
        """Inverse of :meth:`to_dict`."""
        from wgm.config import parse_config

        cfg = parse_config(d["config"])
        return cls(cfg.resonator, cfg.search, d["method"], tuple(Mode.from_dict(m) for m in d["modes"]),
                   d.get("versions", {}), run_info=d.get("run", {}),
                   missing=tuple(MissedMode.from_dict(m) for m in d.get("missing", ())),
                   losses=cfg.losses if cfg.losses.any else None)


@dataclass(frozen=True)
class FieldProfile:
    """A mode's field in the (r, z) half-plane on a regular grid (FDTD: from a DFT at the mode
    frequency; FEM: the eigenvector sampled on the grid).

    ``fields`` maps component names (``"Er"``, ``"Ep"``, ``"Ez"``, ``"Hr"``, ``"Hp"``, ``"Hz"``)
    to complex arrays of shape ``(len(r_um), len(z_um))``; the full field is this times
    ``exp(i m φ)``.  ``e_normal_fraction`` (``h_normal_fraction``) is the share of the
    electric (magnetic) energy in the component normal to the outer surface: small for TE
    (TM) modes.
    """

    mode: Mode
    r_um: object
    z_um: object
    epsilon: object
    fields: dict
    e_normal_fraction: float
    h_normal_fraction: float

    def intensity(self):
        """|E|² on the (r, z) grid."""
        return sum(abs(self.fields[c]) ** 2 for c in ("Er", "Ep", "Ez"))

    def to_hdf5_group(self, group) -> None:
        group.create_dataset("r_um", data=self.r_um)
        group.create_dataset("z_um", data=self.z_um)
        group.create_dataset("epsilon", data=self.epsilon)
        for name, arr in self.fields.items():
            group.create_dataset(name, data=arr)
        for key, value in self.mode.to_row().items():
            group.attrs[key] = "" if value is None else value


# The engines in the order in which one is the reference of a comparison: the first of a pair
# in this order is the reference (exact > fem > fdtd).
ENGINES = ("exact", "fem", "fdtd")
ENGINE_LABELS = {"exact": "exact", "fem": "FEM", "fdtd": "FDTD"}

# Modes without an angular number l (finite disks, rings, toroids, pedestal disks) are matched
# by (polarization, m, radial order) and the nearest wavelength within this relative window:
# 0.5 % is a quarter of the free spectral range of a 10 µm silica disk at 600 nm (neighbouring
# m differ by ~2 %), and ten times the FDTD grid error of the default resolution (~5e-4).
MATCH_WINDOW_REL = 5e-3


def match_modes(reference: ModeSpectrum, other: ModeSpectrum, *,
                window_rel: float = MATCH_WINDOW_REL) -> list[tuple[Mode, Mode]]:
    """Pairs (reference mode, other mode) of the same mode (modes of ``other`` that are not
    identified are left out), in the order of ``other.modes``.

    * Both with an angular number ``l`` (spheres, the 2-D limit): equal polarization, ``l`` and
      radial order, and equal ``m`` unless the reference is the exact solver (whose ``m = l``
      stands for the whole degenerate multiplet).
    * Both without ``l`` (finite shapes): equal polarization, ``m`` and radial order (and polar order
      where both give it), then the nearest wavelength with ``|λ_other / λ_ref − 1| ≤
      window_rel`` (:data:`MATCH_WINDOW_REL`); each reference mode is matched at most once,
      the closest pairs first.
    """
    exact_ref = reference.method == "exact"
    by_l: dict = {}
    for m in reference.modes:
        if m.l is not None:
            by_l.setdefault((m.polarization, m.l, m.radial_order, None if exact_ref else m.m), m)
    found: dict[int, Mode] = {}
    loose = []  # (rel. difference, index in other, reference mode)
    for i, m in enumerate(other.modes):
        key = (m.polarization, m.l, m.radial_order, None if exact_ref else m.m)
        if m.l is not None and key in by_l:
            found[i] = by_l[key]
            continue
        if m.l is not None or m.radial_order is None:
            continue
        for r in reference.modes:
            if (r.polarization, r.m, r.radial_order) != (m.polarization, m.m, m.radial_order):
                continue
            if r.polar_order is not None and m.polar_order is not None and r.polar_order != m.polar_order:
                continue
            if r.l is not None:
                continue  # identified by l: matched by l above
            d = abs(m.wavelength_nm / r.wavelength_nm - 1)
            if d <= window_rel:
                loose.append((d, i, r))
    used: set[int] = set()
    for d, i, r in sorted(loose, key=lambda t: t[0]):
        if i not in found and id(r) not in used:
            found[i] = r
            used.add(id(r))
    return [(found[i], m) for i, m in enumerate(other.modes) if i in found]


def comparison_columns(reference: str = "exact", other: str = "fdtd") -> tuple[str, ...]:
    """The columns of a comparison of ``other`` against ``reference`` (engine names): for
    exact against FDTD :data:`COMPARISON_COLUMNS`; for another pair the same columns with the
    engines' names in place of ``exact`` and ``fdtd``."""
    return ("polarization", "l", "m", "radial_order", f"wavelength_nm_{reference}", f"wavelength_nm_{other}",
            "wavelength_rel_diff", f"Q_{reference}", f"Q_{other}", "Q_rel_diff", f"{other}_q_resolved",
            "wavelength_nm_model", "Q_model", "fit_wavelength_rel_diff", "fit_Q_rel_diff",
            "numerical_wavelength_rel_diff", "numerical_Q_rel_diff")


COMPARISON_COLUMNS = comparison_columns("exact", "fdtd")


def comparison_rows(pairs, model=None, names: tuple[str, str] = ("exact", "fdtd")) -> list[dict]:
    """One row per matched (reference, other) mode pair: both wavelengths and Q and their
    relative differences (other / reference − 1; :func:`comparison_columns` of ``names``, the
    two engines, reference first); non-finite values follow the one rule when written.

    ``model``: the exact modes of the model FDTD simulated (dispersive materials: the fitted
    Lorentz models), when ``pairs`` hold the true materials' exact modes: then the fit error
    (model against true) and the numerical error (FDTD before its per-line correction against
    the model) are given separately; ``None`` in those columns otherwise."""
    a, b = names
    by_key = {(m.polarization, m.l, m.radial_order): m for m in (model.modes if model is not None else ())}
    rows = []
    with np.errstate(invalid="ignore", divide="ignore"):
        for e, f in pairs:
            row = {"polarization": f.polarization, "l": f.l, "m": f.m, "radial_order": f.radial_order,
                   f"wavelength_nm_{a}": e.wavelength_nm, f"wavelength_nm_{b}": f.wavelength_nm,
                   "wavelength_rel_diff": f.wavelength_nm / e.wavelength_nm - 1, f"Q_{a}": e.intrinsic_q, f"Q_{b}": f.intrinsic_q,
                   "Q_rel_diff": float(np.float64(f.intrinsic_q) / np.float64(e.intrinsic_q) - 1), f"{b}_q_resolved": f.q_resolved,
                   "wavelength_nm_model": None, "Q_model": None, "fit_wavelength_rel_diff": None,
                   "fit_Q_rel_diff": None, "numerical_wavelength_rel_diff": None, "numerical_Q_rel_diff": None}
            md = by_key.get((f.polarization, f.l, f.radial_order)) if f.l is not None else None
            if md is not None:
                lam_raw = f.wavelength_nm - (f.correction_wavelength_nm or 0.0)
                q_raw = f.intrinsic_q / (1 + (f.correction_q_rel or 0.0))
                row.update({"wavelength_nm_model": md.wavelength_nm, "Q_model": md.Q,
                            "fit_wavelength_rel_diff": md.wavelength_nm / e.wavelength_nm - 1,
                            "fit_Q_rel_diff": float(np.float64(md.Q) / np.float64(e.intrinsic_q) - 1),
                            "numerical_wavelength_rel_diff": lam_raw / md.wavelength_nm - 1,
                            "numerical_Q_rel_diff": float(np.float64(q_raw) / np.float64(md.Q) - 1)})
            rows.append(row)
    return rows


def comparison_csv(pairs, model=None, names: tuple[str, str] = ("exact", "fdtd")) -> str:
    """CSV of matched modes (:func:`comparison_rows`)."""
    return csv_table(comparison_columns(*names), comparison_rows(pairs, model, names))
