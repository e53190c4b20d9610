"""Optical materials: refractive index as an analytic function of (complex) wavelength.

Every material answers :meth:`Material.index` for an array of *complex* vacuum
wavelengths in µm, returning ``n + i k`` (``k > 0`` absorbs; time dependence
``exp(-iωt)``).  Complex wavelengths are what a quasi-normal mode has
(``λ = 2π c / ω`` with ``Im ω < 0``); evaluating the material there, rather than at
``Re λ``, makes the mode's Q include the material's dispersion self-consistently.

* :class:`ConstantIndex` – a fixed (possibly complex) index.
* :class:`Sellmeier` – an analytic Sellmeier formula (fused silica, Malitson 1965).
* :class:`TabulatedNK` – measured ``n, k`` tables, interpolated by piecewise cubics
  (PCHIP: no overshoot, so ``k`` never turns negative), continued to complex
  wavelengths to first order.
* :class:`EffectiveMedium` – nanocrystals in a ligand host (Maxwell Garnett or
  Bruggeman), e.g. a CsPbBr3 nanocrystal film.

Library names (:func:`library_material`): ``silica``, ``cspbbr3`` (= ``cspbbr3-brennan``),
``cspbbr3-ermolaev-o``, ``cspbbr3-ermolaev-e``, ``air``.  The nanocrystal film
``cspbbr3-nc`` takes parameters and is built by :func:`nanocrystal_film`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import numpy as np
from scipy.interpolate import PchipInterpolator

from wgm.errors import ConfigError, UserError, did_you_mean

__all__ = [
    "Material",
    "ConstantIndex",
    "Sellmeier",
    "TabulatedNK",
    "EffectiveMedium",
    "library_material",
    "nanocrystal_film",
    "read_nk_file",
    "LIBRARY",
    "NANOCRYSTAL_BULK",
]


class Material:
    """Base class.  Subclasses are frozen dataclasses with a ``name``."""

    def index(self, wavelength_um):
        """Complex refractive index ``n + i k`` at (complex) vacuum wavelengths in µm."""
        raise NotImplementedError

    @property
    def wavelength_range_nm(self) -> tuple[float, float]:
        """Wavelength range (nm) over which the material's data are valid."""
        return (0.0, math.inf)

    def to_config(self) -> dict:
        """The config-table keys that rebuild this material."""
        raise NotImplementedError

    def check_band(self, band_nm: tuple[float, float], key: str) -> None:
        """Raise :class:`ConfigError` if ``band_nm`` leaves the data range."""
        lo, hi = self.wavelength_range_nm
        if band_nm[0] < lo or band_nm[1] > hi:
            raise ConfigError(
                key, self.name,
                f"data cover {lo:g}–{hi:g} nm but the search band is "
                f"{band_nm[0]:g}–{band_nm[1]:g} nm; narrow search.wavelength_nm or choose another material")

    def n_at(self, wavelength_nm: float) -> complex:
        """Convenience: complex index at one real wavelength in nm."""
        return complex(self.index(np.array([wavelength_nm / 1000.0 + 0j]))[0])


@dataclass(frozen=True)
class ConstantIndex(Material):
    """Non-dispersive index ``n + i k`` (time dependence ``exp(−iωt)``: ``k > 0`` absorbs,
    ``k < 0`` amplifies)."""

    n: float
    k: float = 0.0

    def __post_init__(self):
        if not (math.isfinite(self.n) and self.n > 0):
            raise ValueError(f"ConstantIndex.n must be finite and > 0, got {self.n}")
        if not math.isfinite(self.k):
            raise ValueError(f"ConstantIndex.k must be finite, got {self.k}")

    @property
    def name(self) -> str:
        return f"n={self.n:g}" + (f"{self.k:+g}i" if self.k else "")

    def index(self, wavelength_um):
        return np.full(np.shape(wavelength_um), complex(self.n, self.k))

    def to_config(self) -> dict:
        return {"index": self.n} | ({"extinction": self.k} if self.k else {})


@dataclass(frozen=True)
class Sellmeier(Material):
    """``n² = 1 + Σ B_i λ² / (λ² − C_i²)`` (λ and C_i in µm), refractiveindex.info "formula 1"."""

    name: str
    B: tuple[float, ...]
    C_um: tuple[float, ...]
    range_um: tuple[float, float]

    def index(self, wavelength_um):
        lam2 = np.asarray(wavelength_um, dtype=complex) ** 2
        eps = np.ones_like(lam2)
        for b, c in zip(self.B, self.C_um):
            eps = eps + b * lam2 / (lam2 - c * c)
        return np.sqrt(eps)

    @property
    def wavelength_range_nm(self):
        return (1000.0 * self.range_um[0], 1000.0 * self.range_um[1])

    def to_config(self) -> dict:
        return {"material": self.name}


@dataclass(frozen=True)
class TabulatedNK(Material):
    """Measured ``n, k`` versus wavelength, interpolated with PCHIP cubics.

    At a complex wavelength ``λ = λ_r + i λ_i`` the index is continued analytically to first
    order, ``n(λ_r) + i λ_i n'(λ_r)``.  PCHIP is C¹, so this is continuous in ``λ_r`` (a
    higher-order Taylor series of a piecewise cubic jumps at the knots, which would stall the
    root finder), and it is exact to ``O((λ_i)²) = O((λ/2Q)²)``: for a mode of Q ≥ 100 the
    neglected term is below 1e-5 of the index.  Outside the table the end cubics
    extrapolate; the solver only reports modes inside the data range (see
    :meth:`Material.check_band`).
    """

    name: str
    wavelength_um: tuple[float, ...]
    n: tuple[float, ...]
    k: tuple[float, ...]
    source: str = ""
    _interp: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        lam = np.asarray(self.wavelength_um, dtype=float)
        if lam.ndim != 1 or len(lam) < 2:
            raise UserError(f"material '{self.name}': needs at least two wavelengths")
        if np.any(np.diff(lam) <= 0):
            raise UserError(f"material '{self.name}': wavelengths must increase strictly")
        nn, kk = np.asarray(self.n, float), np.asarray(self.k, float)
        if not (np.all(np.isfinite(nn)) and np.all(nn > 0)):
            raise UserError(f"material '{self.name}': n must be finite and > 0")
        if not (np.all(np.isfinite(kk)) and np.all(kk >= 0)):
            raise UserError(f"material '{self.name}': k must be finite and >= 0")
        object.__setattr__(self, "_interp", (PchipInterpolator(lam, nn), PchipInterpolator(lam, kk)))

    @property
    def wavelength_range_nm(self):
        return (1000.0 * self.wavelength_um[0], 1000.0 * self.wavelength_um[-1])

    def index(self, wavelength_um):
        lam = np.asarray(wavelength_um, dtype=complex)
        lr, li = lam.real, lam.imag
        n_i, k_i = self._interp
        value = n_i(lr) + 1j * k_i(lr)
        slope = n_i(lr, nu=1) + 1j * k_i(lr, nu=1)
        return value + 1j * li * slope

    def to_config(self) -> dict:
        if self.source.startswith("library:"):
            return {"material": self.source.split(":", 1)[1]}
        return {"nk_file": self.source}


@dataclass(frozen=True)
class EffectiveMedium(Material):
    """Spherical inclusions (fill fraction ``f``) in a host: Maxwell Garnett or Bruggeman.

    Maxwell Garnett: ``ε = ε_h (1 + 2 f β) / (1 − f β)``, ``β = (ε_i − ε_h)/(ε_i + 2 ε_h)``.
    Bruggeman: the root of ``f (ε_i − ε)/(ε_i + 2ε) + (1 − f)(ε_h − ε)/(ε_h + 2ε) = 0``
    on the passive branch (``Im ε ≥ 0``).
    """

    name: str
    inclusion: Material
    host: Material
    fill_fraction: float
    mixing: str = "maxwell-garnett"
    params: tuple = ()

    MIXINGS = ("maxwell-garnett", "bruggeman")

    def __post_init__(self):
        if not (0.0 < self.fill_fraction <= 1.0):
            raise ValueError(f"fill_fraction must be in (0, 1], got {self.fill_fraction}")
        if self.mixing not in self.MIXINGS:
            raise ValueError(f"mixing must be one of {self.MIXINGS}, got {self.mixing!r}")

    @property
    def wavelength_range_nm(self):
        a, b = self.inclusion.wavelength_range_nm, self.host.wavelength_range_nm
        return (max(a[0], b[0]), min(a[1], b[1]))

    def index(self, wavelength_um):
        ei = self.inclusion.index(wavelength_um) ** 2
        eh = self.host.index(wavelength_um) ** 2
        f = self.fill_fraction
        mg = eh * (1 + 2 * f * (ei - eh) / (ei + 2 * eh)) / (1 - f * (ei - eh) / (ei + 2 * eh))
        if self.mixing == "maxwell-garnett":
            return np.sqrt(mg)
        b = (3 * f - 1) * ei + (2 - 3 * f) * eh
        disc = np.sqrt(b * b + 8 * ei * eh)
        r1, r2 = (b + disc) / 4, (b - disc) / 4
        # the physical root is the one continuously connected to Maxwell Garnett at low f
        eps = np.where(np.abs(r1 - mg) <= np.abs(r2 - mg), r1, r2)
        return np.sqrt(eps)

    def to_config(self) -> dict:
        return {"material": self.name} | dict(self.params)


# --------------------------------------------------------------------------------------
# Files and the library

_DATA = {
    "cspbbr3-brennan": ("CsPbBr3_Brennan.yml", "bulk CsPbBr3, Brennan et al., MRS Commun. (2024)"),
    "cspbbr3-ermolaev-o": ("CsPbBr3_Ermolaev-o.yml", "bulk CsPbBr3 ordinary ray, Ermolaev et al., Nano Lett. 23, 2570 (2023)"),
    "cspbbr3-ermolaev-e": ("CsPbBr3_Ermolaev-e.yml", "bulk CsPbBr3 extraordinary ray, Ermolaev et al., Nano Lett. 23, 2570 (2023)"),
    "silica": ("SiO2_Malitson.yml", "fused silica, Malitson, JOSA 55, 1205 (1965)"),
}
_ALIASES = {"cspbbr3": "cspbbr3-brennan", "sio2": "silica", "fused-silica": "silica"}

LIBRARY = tuple(sorted(set(_DATA) | set(_ALIASES) | {"air", "cspbbr3-nc"}))
"""Every name accepted by ``material = ...`` in a config."""

NANOCRYSTAL_BULK = ("brennan", "ermolaev-o", "ermolaev-e")
"""Bulk data sets a ``cspbbr3-nc`` film can be built from."""


def parse_refractiveindex_yaml(text: str, name: str, source: str) -> Material:
    """Parse a refractiveindex.info database file ("tabulated nk" / "tabulated n" / "formula 1")."""
    import yaml  # PyYAML; only needed for this file format

    try:
        doc = yaml.safe_load(text)
        entry = doc["DATA"][0]
        kind = entry["type"]
    except Exception as exc:  # malformed YAML or missing DATA
        raise UserError(f"{source}: not a refractiveindex.info material file ({exc})") from None
    if kind == "formula 1":
        coeffs = [float(c) for c in str(entry["coefficients"]).split()]
        lo, hi = (float(v) for v in str(entry["wavelength_range"]).split())
        if coeffs[0] != 0:
            raise UserError(f"{source}: formula 1 with a constant term is not supported")
        return Sellmeier(name=name, B=tuple(coeffs[1::2]), C_um=tuple(coeffs[2::2]), range_um=(lo, hi))
    if kind in ("tabulated nk", "tabulated n"):
        rows = np.array([[float(v) for v in line.split()] for line in str(entry["data"]).strip().splitlines()])
        k = rows[:, 2] if kind == "tabulated nk" else np.zeros(len(rows))
        return TabulatedNK(name=name, wavelength_um=tuple(rows[:, 0]), n=tuple(rows[:, 1]),
                           k=tuple(k), source=source)
    raise UserError(f"{source}: data type '{kind}' is not supported (tabulated nk, tabulated n, formula 1 are)")


@lru_cache(maxsize=None)
def _library_file(key: str) -> Material:
    fname, _ = _DATA[key]
    text = resources.files("wgm.data").joinpath(fname).read_text(encoding="utf-8")
    return parse_refractiveindex_yaml(text, key, f"library:{key}")


def library_material(name: str, key: str = "material") -> Material:
    """A named library material (not ``cspbbr3-nc``, which takes parameters)."""
    canon = _ALIASES.get(name.lower(), name.lower())
    if canon == "air":
        return ConstantIndex(1.0)
    if canon in _DATA:
        return _library_file(canon)
    if canon == "cspbbr3-nc":
        raise ConfigError(key, name, "'cspbbr3-nc' needs parameters: give fill_fraction (and optionally "
                          "ligand_index, bulk, mixing) in the same table")
    raise ConfigError(key, name, f"unknown material{did_you_mean(name, LIBRARY)}; known: {', '.join(LIBRARY)}")


def nanocrystal_film(fill_fraction: float, ligand_index: float = 1.46, bulk: str = "brennan",
                     mixing: str = "maxwell-garnett") -> EffectiveMedium:
    """A CsPbBr3 nanocrystal film: bulk CsPbBr3 spheres in a ligand matrix.

    Parameters
    ----------
    fill_fraction : float
        Volume fraction of CsPbBr3, in (0, 1].  Spin-cast nanocrystal films are
        typically 0.3–0.6.
    ligand_index : float
        Index of the ligand matrix (oleic acid / oleylamine ≈ 1.46).
    bulk : str
        Bulk data set: ``"brennan"`` (200–2500 nm), ``"ermolaev-o"`` or ``"ermolaev-e"`` (500–949 nm).
    mixing : str
        ``"maxwell-garnett"`` (default; isolated nanocrystals) or ``"bruggeman"``.
    """
    if bulk not in NANOCRYSTAL_BULK:
        raise ConfigError("bulk", bulk, f"allowed: {', '.join(NANOCRYSTAL_BULK)}{did_you_mean(bulk, NANOCRYSTAL_BULK)}")
    inclusion = _library_file(f"cspbbr3-{bulk}")
    params = (("fill_fraction", fill_fraction), ("ligand_index", ligand_index), ("bulk", bulk), ("mixing", mixing))
    return EffectiveMedium(name="cspbbr3-nc", inclusion=inclusion, host=ConstantIndex(ligand_index),
                           fill_fraction=fill_fraction, mixing=mixing, params=params)


def read_nk_file(path: Path, wavelength_unit: str = "nm") -> Material:
    """A user's ``n, k`` table: a refractiveindex.info ``.yml`` file, or a text file with
    columns ``wavelength n [k]``, read by :func:`wgm.tables.read_table` (separators, header
    lines, ``#`` comments, strict numbers; every row the same number of columns).
    ``wavelength_unit`` is ``"nm"`` or ``"um"`` for text files; wavelengths must be positive,
    strictly increasing, and plausible optical wavelengths in that unit (50 nm-100 µm: else
    the file is in the other unit).  Errors name the file, the line and the value."""
    from wgm.tables import read_table  # the one text-table reader (rules in wgm.tables)

    path = Path(path)
    if path.suffix.lower() in (".yml", ".yaml"):
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read n,k file '{path}': {getattr(exc, 'strerror', None) or exc}") from None
        return parse_refractiveindex_yaml(text, path.stem, str(path))
    # µm per unit, and the plausible range of optical data in that unit (outside it, the
    # file is almost surely in the other unit: 0.5 "nm" or 500 "µm")
    units = {"nm": (1e-3, (50.0, 1e5)), "um": (1.0, (0.05, 100.0))}
    if wavelength_unit not in units:
        raise ConfigError("wavelength_unit", wavelength_unit, "allowed: 'nm', 'um'")
    scale, (lo, hi) = units[wavelength_unit]
    table = read_table(path)
    layout = "'wavelength n [k]'"
    if len(table) < 2:
        raise UserError(f"{path}: {len(table)} data row(s); needs at least two rows of {layout}")
    if table.n_columns not in (2, 3):
        raise UserError(f"{table.where(0)}: expected 2 or 3 columns ({layout[1:-1]}), got {table.n_columns}")
    lam = table.column(0, "wavelength")
    n = table.column(1, "n")
    k = table.column(2, "k") if table.n_columns == 3 else np.zeros(len(table))
    bad = np.flatnonzero(lam <= 0)
    if bad.size:
        i = int(bad[0])
        raise UserError(f"{table.where(i)}: wavelength {table.fields[i][0]} is not positive")
    wrong = np.flatnonzero(np.diff(lam) <= 0)
    if wrong.size:
        i = int(wrong[0]) + 1
        raise UserError(f"{table.where(i)}: wavelength {table.fields[i][0]} after {table.fields[i - 1][0]}: "
                        "wavelengths must increase strictly")
    if not (lo <= lam.min() and lam.max() <= hi):
        other = "um" if wavelength_unit == "nm" else "nm"
        raise UserError(f"{path}: wavelengths {table.fields[0][0]}-{table.fields[-1][0]} outside {lo:g}-{hi:g} "
                        f"{wavelength_unit}: are they in {other}? Set wavelength_unit = '{other}'")
    return TabulatedNK(name=path.stem, wavelength_um=tuple(lam * scale), n=tuple(n), k=tuple(k), source=str(path))
