"""Optical materials: refractive index as an analytic function of (complex) wavelength.

Every material answers :meth:`Material.index` for one or many (possibly *complex*)
vacuum wavelengths in **nm**, returning ``n + i k`` (``k > 0`` absorbs; time dependence
``exp(-iωt)``).  Complex wavelengths are what a quasi-normal mode has
(``λ = 2π c / ω`` with ``Im ω < 0``); evaluating the material there, rather than at
``Re λ``, makes the mode's Q include the material's dispersion self-consistently.

A wavelength whose real part lies outside the material's data range
(:attr:`Material.wavelength_range_nm`) is refused with a :class:`~wgm.errors.UserError`
naming the material, the wavelength and the range; ``outside="clamp"`` evaluates at the
nearest end of the range instead and ``outside="extrapolate"`` continues the formula or the
end cubics (what a root finder needs while it iterates: only modes inside the data range
are reported, see :meth:`Material.check_band`).

* :class:`ConstantIndex` – a fixed (possibly complex) index.
* :class:`Sellmeier` – an analytic Sellmeier formula (fused silica, Malitson 1965).
* :class:`TabulatedNK` – measured ``n, k`` tables, interpolated by piecewise cubics
  (PCHIP: no overshoot, so ``k`` never turns negative), continued to complex
  wavelengths to first order.
* :class:`EffectiveMedium` – nanocrystals in a ligand host (Maxwell Garnett or
  Bruggeman), e.g. a CsPbBr3 nanocrystal film.

Library names (:func:`library_material`; data files in ``wgm/data``, refractiveindex.info
format, each with its reference):

=====================  ==========================================================  ============
name (aliases)         source                                                      range (nm)
=====================  ==========================================================  ============
``silica``             fused silica, Sellmeier: Malitson, JOSA 55, 1205 (1965)      210–6700
``sapphire``           synthetic sapphire, ordinary ray, Sellmeier: Malitson &      200–5000
(``al2o3``)            Dodge, JOSA 62, 1405 (1972) / Dodge, CRC Handbook (1986)
``silicon`` (``si``)   crystalline Si, 300 K, n and k table (absorbing below        250–1450
                       1.1 µm): Green, Sol. Energ. Mat. Sol. Cells 92, 1305 (2008)
``water`` (``h2o``)    distilled water, 20 °C, Sellmeier: Daimon & Masumura,        182–1129
                       Appl. Opt. 46, 3811 (2007)
``polystyrene``        20 °C, Sellmeier fit to Sultanova et al., Acta Phys. Pol. A    436.8–1052
(``ps``)               116, 585 (2009)
``pmma``               20 °C, Sellmeier fit to Sultanova et al. (2009)               436.8–1052
``cspbbr3``            bulk CsPbBr3 (= ``cspbbr3-brennan``): Brennan et al., MRS    200–2500
                       Commun. (2024); ``cspbbr3-ermolaev-o`` / ``-e``: Ermolaev
                       et al., Nano Lett. 23, 2570 (2023)                          500–949
``air``                n = 1                                                       all
=====================  ==========================================================  ============

The nanocrystal film ``cspbbr3-nc`` takes parameters and is built by :func:`nanocrystal_film`.
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
from wgm.model import validate
from wgm.units import cm_from_nm

__all__ = [
    "Material",
    "WithExtinction",
    "ConstantIndex",
    "Sellmeier",
    "TabulatedNK",
    "EffectiveMedium",
    "NanocrystalFilm",
    "library_material",
    "nanocrystal_film",
    "read_nk_file",
    "library_source",
    "LIBRARY",
    "NANOCRYSTAL_BULK",
]


OUTSIDE = ("error", "clamp", "extrapolate")
"""What :meth:`Material.index` does with a wavelength outside the data range."""


class Material:
    """Base class.  Subclasses are frozen dataclasses with a ``name`` and implement
    :meth:`_index_nm` (the formula or interpolant, without range checks)."""

    def _index_nm(self, wavelength_nm: np.ndarray) -> np.ndarray:
        """``n + i k`` at an array of complex vacuum wavelengths in nm (no range check)."""
        raise NotImplementedError

    def index(self, wavelength_nm, *, outside: str = "error"):
        """Complex refractive index ``n + i k`` at (complex) vacuum wavelengths in nm.

        Parameters
        ----------
        wavelength_nm : float, complex or array of them
            Vacuum wavelength(s) in nm.  A scalar gives a ``complex``, an array an array of
            the same shape.
        outside : {"error", "clamp", "extrapolate"}
            For a wavelength whose real part is outside :attr:`wavelength_range_nm`:
            ``"error"`` raises :class:`~wgm.errors.UserError` (naming the material, the
            wavelength and the range); ``"clamp"`` moves the real part to the nearest end of
            the range (the exact solver's real-axis scan, which starts far below the band);
            ``"extrapolate"`` evaluates the formula or the end cubics anyway (a root finder's
            intermediate steps).
        """
        lam = np.asarray(wavelength_nm, dtype=complex)
        lo, hi = self.wavelength_range_nm
        if outside == "clamp":
            lam = np.clip(lam.real, lo, hi) + 1j * lam.imag
        elif outside == "error":
            bad = (lam.real < lo) | (lam.real > hi) | ~np.isfinite(lam)
            if np.any(bad):
                first = complex(lam[bad].flat[0])
                shown = f"{first.real:g}" if first.imag == 0 else f"{first:g}"
                raise UserError(f"material '{self.name}': wavelength {shown} nm is outside its data range "
                                f"{lo:g}–{hi:g} nm")
        elif outside != "extrapolate":
            raise ValueError(f"outside must be one of {OUTSIDE}, got {outside!r}")
        value = self._index_nm(np.atleast_1d(lam))
        return complex(value[0]) if lam.ndim == 0 else value.reshape(lam.shape)

    def n_at(self, wavelength_nm: float) -> complex:
        """``complex(index(wavelength_nm))``: the index at one wavelength in nm (range-checked)."""
        return complex(self.index(wavelength_nm))

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


@dataclass(frozen=True)
class ConstantIndex(Material):
    """Non-dispersive index ``n + i k`` (time dependence ``exp(−iωt)``: ``k > 0`` absorbs,
    ``k < 0`` amplifies)."""

    n: float
    k: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "n", validate.positive("index", self.n))
        object.__setattr__(self, "k", validate.number("extinction", self.k))

    @property
    def name(self) -> str:
        return f"n={self.n:g}" + (f"{self.k:+g}i" if self.k else "")

    def _index_nm(self, wavelength_nm):
        return np.full(np.shape(wavelength_nm), complex(self.n, self.k))

    def to_config(self) -> dict:
        return {"index": self.n} | ({"extinction": self.k} if self.k else {})


@dataclass(frozen=True)
class Sellmeier(Material):
    """``n² = 1 + Σ B_i λ² / (λ² − C_i²)`` (λ and C_i in µm), refractiveindex.info "formula 1"."""

    name: str
    B: tuple[float, ...]
    C_um: tuple[float, ...]
    range_nm: tuple[float, float]
    source: str = ""

    def _index_nm(self, wavelength_nm):
        lam2 = (np.asarray(wavelength_nm, dtype=complex) / 1000.0) ** 2
        eps = np.ones_like(lam2)
        for b, c in zip(self.B, self.C_um):
            eps = eps + b * lam2 / (lam2 - c * c)
        return np.sqrt(eps)

    @property
    def wavelength_range_nm(self):
        return (float(self.range_nm[0]), float(self.range_nm[1]))

    def to_config(self) -> dict:
        if self.source and not self.source.startswith("library:"):
            return {"nk_file": self.source}
        return {"material": self.name}


@dataclass(frozen=True)
class TabulatedNK(Material):
    """Measured ``n, k`` versus wavelength, interpolated with PCHIP cubics.

    At a complex wavelength ``λ = λ_r + i λ_i`` the index is continued analytically to first
    order, ``n(λ_r) + i λ_i n'(λ_r)``.  PCHIP is C¹, so this is continuous in ``λ_r`` (a
    higher-order Taylor series of a piecewise cubic jumps at the knots, which would stall the
    root finder), and it is exact to ``O((λ_i)²) = O((λ/2Q)²)``: for a mode of Q ≥ 100 the
    neglected term is below 1e-5 of the index.  Outside the table :meth:`Material.index`
    refuses (or, asked to, clamps or lets the end cubics extrapolate).
    """

    name: str
    wavelength_nm: tuple[float, ...]
    n: tuple[float, ...]
    k: tuple[float, ...]
    source: str = ""
    file_unit: str = "nm"  # the wavelength unit of a user's text file (for to_config)
    _interp: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        lam = np.asarray(self.wavelength_nm, dtype=float)
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
        return (float(self.wavelength_nm[0]), float(self.wavelength_nm[-1]))

    def _index_nm(self, wavelength_nm):
        lam = np.asarray(wavelength_nm, dtype=complex)
        lr, li = lam.real, lam.imag
        n_i, k_i = self._interp
        value = n_i(lr) + 1j * k_i(lr)
        slope = n_i(lr, nu=1) + 1j * k_i(lr, nu=1)
        return value + 1j * li * slope

    def to_config(self) -> dict:
        if self.source.startswith("library:"):
            return {"material": self.source.split(":", 1)[1]}
        return {"nk_file": self.source} | ({"wavelength_unit": self.file_unit} if self.file_unit != "nm" else {})


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
        object.__setattr__(self, "fill_fraction", validate.fraction("fill_fraction", self.fill_fraction))
        validate.choice("mixing", self.mixing, self.MIXINGS)

    @property
    def wavelength_range_nm(self):
        a, b = self.inclusion.wavelength_range_nm, self.host.wavelength_range_nm
        return (max(a[0], b[0]), min(a[1], b[1]))

    def _index_nm(self, wavelength_nm):
        # the film's own range (the intersection) was checked by index()
        ei = self.inclusion.index(wavelength_nm, outside="extrapolate") ** 2
        eh = self.host.index(wavelength_nm, outside="extrapolate") ** 2
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


@dataclass(frozen=True)
class NanocrystalFilm(EffectiveMedium):
    """A ``cspbbr3-nc`` film (:func:`nanocrystal_film`): the effective medium of the model's
    nanocrystals, optionally with measured data in place of parts of the model.

    * ``measured``: the film's measured passive ``n, k``; the pumped film is the measured film
      plus the model's change with the excitation (``ñ_model(⟨N⟩) − ñ_model(0)``).
    * ``gain``: a measured net material gain spectrum ``g(λ)`` (cm⁻¹) of the film at the
      excitation ``gain[2]``: the band-edge change is then taken linear in the band-edge filling
      ``a(⟨N⟩)`` through that measurement, ``k(⟨N⟩) = k₀ − (a/a_ref)(k₀ + gλ/4π)`` (``k₀`` the
      passive film's), with no change of the real index (no frequency pulling); outside the
      file's wavelengths the film is passive.
    """

    measured: Material | None = None
    gain: tuple | None = None      # (wavelengths nm, net gain cm⁻¹, excitation of the measurement)

    @property
    def wavelength_range_nm(self):
        lo, hi = super().wavelength_range_nm
        if self.measured is not None:
            a, b = self.measured.wavelength_range_nm
            lo, hi = max(lo, a), min(hi, b)
        return (lo, hi)

    def _passive_model(self) -> EffectiveMedium:
        from dataclasses import replace

        return EffectiveMedium(self.name, replace(self.inclusion, excitation=0.0, edge_removed=False), self.host,
                               self.fill_fraction, self.mixing, self.params)

    def _index_nm(self, wavelength_nm):
        model = super()._index_nm(wavelength_nm)
        if self.measured is None and self.gain is None:
            return model
        lam = np.asarray(wavelength_nm, dtype=complex)
        passive_model = self._passive_model()._index_nm(lam)
        passive = (self.measured.index(lam, outside="extrapolate") if self.measured is not None
                   else passive_model)
        if self.gain is None or self.inclusion.edge_removed:
            # the model's change (with the band-edge line taken out: the model's line removed)
            return passive + (model - passive_model)
        from wgm.model.nanocrystal import band_edge_filling

        w, g, n_ref = self.gain
        a_rel = float(band_edge_filling(self.inclusion.excitation)) / float(band_edge_filling(n_ref))
        inside = (lam.real >= w[0]) & (lam.real <= w[-1])
        g_at = np.interp(lam.real, w, g)
        k_net = -g_at * cm_from_nm(lam.real) / (4 * math.pi)
        change = np.where(inside, -a_rel * (passive.imag - k_net), 0.0)
        return passive + 1j * change

    def to_config(self) -> dict:
        return {"material": self.name} | dict(self.params)


# --------------------------------------------------------------------------------------
# Files and the library

_DATA = {
    "cspbbr3-brennan": ("CsPbBr3_Brennan.yml", "bulk CsPbBr3, Brennan et al., MRS Commun. (2024)"),
    "cspbbr3-ermolaev-o": ("CsPbBr3_Ermolaev-o.yml", "bulk CsPbBr3 ordinary ray, Ermolaev et al., Nano Lett. 23, 2570 (2023)"),
    "cspbbr3-ermolaev-e": ("CsPbBr3_Ermolaev-e.yml", "bulk CsPbBr3 extraordinary ray, Ermolaev et al., Nano Lett. 23, 2570 (2023)"),
    "silica": ("SiO2_Malitson.yml", "fused silica, Malitson, JOSA 55, 1205 (1965)"),
    "sapphire": ("Al2O3_Malitson-o.yml", "synthetic sapphire, ordinary ray, Malitson & Dodge, JOSA 62, 1405 (1972)"),
    "silicon": ("Si_Green-2008.yml", "crystalline silicon at 300 K, Green, Sol. Energ. Mat. Sol. Cells 92, 1305 (2008)"),
    "water": ("H2O_Daimon-20C.yml", "distilled water at 20 °C, Daimon & Masumura, Appl. Opt. 46, 3811 (2007)"),
    "polystyrene": ("PS_Sultanova.yml", "polystyrene, Sultanova et al., Acta Phys. Pol. A 116, 585 (2009)"),
    "pmma": ("PMMA_Sultanova.yml", "PMMA, Sultanova et al., Acta Phys. Pol. A 116, 585 (2009)"),
}
_ALIASES = {"cspbbr3": "cspbbr3-brennan", "sio2": "silica", "fused-silica": "silica", "al2o3": "sapphire",
            "si": "silicon", "h2o": "water", "ps": "polystyrene"}


@dataclass(frozen=True)
class WithExtinction(Material):
    """A material with an added absorption: ``k += α λ / (4π)``, ``α`` the intensity absorption
    coefficient in cm⁻¹ (``extinction_per_cm``), ``λ`` the (complex) vacuum wavelength.

    The real part of the base index is unchanged (the added loss's Kramers-Kronig partner is
    neglected): a way to give a measured or assumed extra loss of a library material."""

    base: Material
    extinction_per_cm: float

    def __post_init__(self):
        object.__setattr__(self, "extinction_per_cm",
                           validate.positive("extinction_per_cm", self.extinction_per_cm, allow_zero=True))

    @property
    def name(self) -> str:
        return f"{self.base.name}+alpha={self.extinction_per_cm:g}/cm"

    @property
    def wavelength_range_nm(self):
        return self.base.wavelength_range_nm

    def _index_nm(self, wavelength_nm):
        from wgm.units import extinction_from_absorption_per_cm

        lam = np.asarray(wavelength_nm, dtype=complex)
        return self.base._index_nm(lam) + 1j * extinction_from_absorption_per_cm(self.extinction_per_cm, lam)

    def to_config(self) -> dict:
        return self.base.to_config() | {"extinction_per_cm": self.extinction_per_cm}


LIBRARY = tuple(sorted(set(_DATA) | set(_ALIASES) | {"air", "cspbbr3-nc"}))
"""Every name accepted by ``material = ...`` in a config."""

NANOCRYSTAL_BULK = ("brennan", "ermolaev-o", "ermolaev-e")
"""Bulk data sets a ``cspbbr3-nc`` film can be built from."""


def library_source(name: str) -> str:
    """The published source of a library material's data (for listings and records)."""
    canon = _ALIASES.get(name.lower(), name.lower())
    if canon == "air":
        return "n = 1"
    if canon == "cspbbr3-nc":
        return "CsPbBr3 nanocrystals in a ligand matrix (effective medium of a bulk data set)"
    return _DATA[canon][1]


def parse_refractiveindex_yaml(text: str, name: str, source: str) -> Material:
    """Parse a refractiveindex.info database file ("tabulated nk" / "tabulated n" /
    "formula 1" / "formula 2")."""
    import yaml  # PyYAML; only needed for this file format

    try:
        doc = yaml.safe_load(text)
        entry = doc["DATA"][0]
        kind = entry["type"]
    except Exception as exc:  # malformed YAML or missing DATA
        raise UserError(f"{source}: not a refractiveindex.info material file ({exc})") from None
    if kind in ("formula 1", "formula 2"):
        coeffs = [float(c) for c in str(entry["coefficients"]).split()]
        lo, hi = (float(v) for v in str(entry["wavelength_range"]).split())
        if coeffs[0] != 0:
            raise UserError(f"{source}: {kind} with a constant term is not supported")
        poles = coeffs[2::2]
        if kind == "formula 2":  # poles given as C_i² (µm²)
            if any(c < 0 for c in poles):
                raise UserError(f"{source}: formula 2 with a negative pole C_i is not supported")
            poles = [math.sqrt(c) for c in poles]
        return Sellmeier(name=name, B=tuple(coeffs[1::2]), C_um=tuple(poles),
                         range_nm=(1000.0 * lo, 1000.0 * hi), source=source)
    if kind in ("tabulated nk", "tabulated n"):
        rows = np.array([[float(v) for v in line.split()] for line in str(entry["data"]).strip().splitlines()])
        k = rows[:, 2] if kind == "tabulated nk" else np.zeros(len(rows))
        return TabulatedNK(name=name, wavelength_nm=tuple(1000.0 * rows[:, 0]), n=tuple(rows[:, 1]),
                           k=tuple(k), source=source)
    raise UserError(f"{source}: data type '{kind}' is not supported "
                    "(tabulated nk, tabulated n, formula 1, formula 2 are)")


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
                     mixing: str = "maxwell-garnett", edge_nm: float | None = None, linewidth_mev: float = 80.0,
                     temperature_k: float = 300.0, excitation: float = 0.0, film_nk_file: str | None = None,
                     gain_file: str | None = None, gain_excitation: float | None = None,
                     gain_model: str = "mccumber") -> EffectiveMedium:
    """A CsPbBr3 nanocrystal film: nanocrystals in a ligand matrix, passive or pumped.

    The nanocrystal's index is the model of :mod:`wgm.model.nanocrystal` (measured bulk data
    shifted by the quantum confinement of the edge length, bleaching and McCumber gain of the
    band edge with the excitation), mixed with the ligand.

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
    edge_nm : float or None
        Edge length of the nanocrystals (cubes), 9.9–12.5 nm (the measured size series,
        :mod:`wgm.model.nanocrystal`): shifts the bulk edge by the confinement shift.  None: the
        bulk edge, unshifted.
    linewidth_mev : float
        Full width at half maximum of the ensemble's first-exciton line (meV), 10–300.
    temperature_k : float
        Temperature of the carriers (K) in the McCumber relation.
    excitation : float
        Mean number ⟨N⟩ of electron-hole pairs per nanocrystal (Poisson), >= 0: 0 is the
        passive film; pumped films bleach and gain.
    film_nk_file : str or None
        A measured ``n, k`` file of the passive film (formats of :func:`read_nk_file`, wavelengths
        in nm) in place of the model's passive film (the model's change with excitation is added).
    gain_model : str
        ``"mccumber"`` (default: the band edge's emission tied to its absorption by the McCumber
        relation, carriers thermalised over the ensemble) or ``"two-level"`` (σ_e = σ_a in every
        crystal: transparency at ⟨N⟩ = 1.146 at every wavelength).
    gain_file, gain_excitation : str or None, float or None
        A measured net material gain spectrum of the film (text columns ``wavelength_nm
        gain_per_cm``) and the excitation ⟨N⟩ at which it was measured (> 0): replaces the
        model's band-edge change (:class:`NanocrystalFilm`).
    """
    from wgm.model.nanocrystal import nanocrystal_core

    validate.choice("bulk", bulk, NANOCRYSTAL_BULK)
    if edge_nm is not None:
        from wgm.model.nanocrystal import EDGE_RANGE_NM

        edge_nm = validate.positive("edge_nm", edge_nm)
        if not EDGE_RANGE_NM[0] <= edge_nm <= EDGE_RANGE_NM[1]:
            raise ConfigError("edge_nm", edge_nm, f"nanocrystal edge length in nm, {EDGE_RANGE_NM[0]:g}-"
                              f"{EDGE_RANGE_NM[1]:g} (the reach of the measured size series); or leave it out "
                              "for the bulk edge, or give measured data (film_nk_file)")
    linewidth_mev = validate.positive("linewidth_mev", linewidth_mev)
    if not 10.0 <= linewidth_mev <= 300.0:
        raise ConfigError("linewidth_mev", linewidth_mev, "ensemble linewidth in meV, 10-300")
    temperature_k = validate.positive("temperature_k", temperature_k)
    excitation = validate.number("excitation", excitation)
    if not 0.0 <= excitation <= 50.0:
        raise ConfigError("excitation", excitation, "excitons per nanocrystal, 0-50")
    from wgm.model.nanocrystal import GAIN_MODELS

    validate.choice("gain_model", gain_model, GAIN_MODELS)
    inclusion = nanocrystal_core(_library_file(f"cspbbr3-{bulk}"), edge_nm, linewidth_mev, temperature_k,
                                 excitation, gain_model)
    params = (("fill_fraction", fill_fraction), ("ligand_index", ligand_index), ("bulk", bulk), ("mixing", mixing))
    defaults = (("edge_nm", edge_nm, None), ("linewidth_mev", linewidth_mev, 80.0),
                ("temperature_k", temperature_k, 300.0), ("excitation", excitation, 0.0))
    measured = gain = None
    if film_nk_file is not None:
        measured = _cached_nk_file(str(film_nk_file))
    if (gain_file is None) != (gain_excitation is None):
        raise ConfigError("gain_excitation" if gain_file is not None else "gain_file",
                          gain_excitation if gain_file is not None else gain_file,
                          "gain_file and gain_excitation go together: the measured gain spectrum and the excitation "
                          "⟨N⟩ per crystal at which it was measured")
    if gain_file is not None:
        gain_excitation = validate.positive("gain_excitation", gain_excitation)
        gain = _cached_gain_file(str(gain_file)) + (gain_excitation,)
    defaults += (("film_nk_file", film_nk_file, None), ("gain_file", gain_file, None),
                 ("gain_excitation", gain_excitation, None), ("gain_model", gain_model, "mccumber"))
    params += tuple((k, v) for k, v, d in defaults if v != d)
    return NanocrystalFilm(name="cspbbr3-nc", inclusion=inclusion, host=ConstantIndex(ligand_index),
                           fill_fraction=fill_fraction, mixing=mixing, params=params, measured=measured, gain=gain)


@lru_cache(maxsize=32)
def _cached_nk_file(path: str) -> Material:
    return read_nk_file(Path(path))


@lru_cache(maxsize=32)
def _cached_gain_file(path: str) -> tuple:
    """(wavelengths nm, gain cm⁻¹) of a measured gain spectrum (two text columns)."""
    from wgm.tables import read_table

    table = read_table(Path(path))
    if len(table) < 2 or table.n_columns != 2:
        raise UserError(f"{path}: a gain spectrum needs at least two rows of 'wavelength_nm gain_per_cm' "
                        f"({len(table)} rows of {table.n_columns} columns)")
    lam, g = table.column(0, "wavelength"), table.column(1, "gain")
    if np.any(np.diff(lam) <= 0):
        raise UserError(f"{path}: wavelengths must increase strictly")
    if not (50.0 <= lam.min() and lam.max() <= 1e5):
        raise UserError(f"{path}: wavelengths {lam.min():g}-{lam.max():g} are not in nm")
    return (tuple(lam), tuple(g))


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
    # nm per unit, and the plausible range of optical data in that unit (outside it, the
    # file is almost surely in the other unit: 0.5 "nm" or 500 "µm")
    units = {"nm": (1.0, (50.0, 1e5)), "um": (1000.0, (0.05, 100.0))}
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
    return TabulatedNK(name=path.stem, wavelength_nm=tuple(lam * scale), n=tuple(n), k=tuple(k), source=str(path),
                       file_unit=wavelength_unit)
