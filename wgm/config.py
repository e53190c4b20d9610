"""TOML configuration files: parse, override with ``--set``, validate, build the objects.

A config is *data*: values are parsed (TOML, and ``--set`` values as TOML literals), never
evaluated.  Every problem raises :class:`~wgm.errors.ConfigError` naming the key.

Keys (the ones marked * are required)::

    schema_version = 1
    [resonator]
    shape = "sphere"            # * "sphere" | "disk" | "ring" | "toroid"
    radius_um = 2.0             # * outer radius of the core (ring: outer radius; not for a toroid)
    thickness_um = inf          # disk only: thickness (inf: 2-D limit)
    width_um, height_um         # ring only: radial width, height (inf: 2-D limit)
    major_radius_um, tube_radius_um  # toroid only (both required): the tube's centre circle
                                # and the tube's radius (< major_radius_um)
    <material keys>             # * the core material
    [[resonator.coating]]       # sphere / disk / toroid (around the tube): repeatable, innermost first
    thickness_um = 0.05         # *
    <material keys>             # *
    [resonator.substrate]       # disk / ring of finite height: half-space below (below the pedestal)
    <material keys>
    [resonator.pedestal]        # disk of finite thickness: a pillar on the axis under the disk
    radius_um = 1.0             # * (< the disk's outer radius)
    height_um = 1.0             # *
    <material keys>             # *
    [surroundings]              # default: index = 1.0
    <material keys>
    [search]
    wavelength_nm = [520, 545]  # * band (nm)
    max_radial_order = 3        # modes of radial order 1..3
    polarizations = ["TE", "TM"]
    [fdtd]                      # optional overrides of the FDTD engine (see FdtdSettings)
    m = [28, 29]                # azimuthal numbers; resolution_px_per_um, pad_um, pml_um,
                                # symmetry, max_periods, domain, max_polar_order, materials
                                # ("dispersive" | "band-centre"), accuracy_wavelength,
                                # accuracy_q
    [fem]                       # optional overrides of the finite-element engine (FemSettings;
    order = 3                   # every key optional): m, order (2 | 3), elements_per_wavelength,
                                # pad_um, pml_um, pml_strength, domain ("auto" | "reduced" |
                                # "full"), symmetry, accuracy_wavelength,
                                # accuracy_q, modes_per_target, error_estimate, max_unknowns
    [sweep]                     # the axes of `wgm sweep` (keys checked here, axes in wgm.sweeps):
                                # vary, zip, method ("exact" | "fdtd" | "fem")
    [gain]                      # the film's gain band (wgm.lasing.GainSpectrum): region,
                                # peak_gain_per_cm, peak_wavelength_nm, fwhm_nm
    [pump]                      # the two-photon pump model (wgm.lasing.TwoPhotonPump)
    [lasing]                    # the saturable two-level film of `wgm lasing` (TwoLevelGain)

Overrides (``--set KEY=VALUE``) and files follow one rule for the material keys of a table:
a table holds one way of giving its material (``index``, ``material`` or ``nk_file``).  Two
in the same file are refused as conflicting; an override of one *replaces* the table's other
(a later source wins over an earlier one) and drops the keys that belonged to it
(``extinction``; ``fill_fraction``, ``ligand_index``, ``bulk``, ``mixing``;
``wavelength_unit``) with a warning naming each dropped key and its value.

Material keys, exactly one of:

* ``index = 1.46`` (and optionally ``extinction = 1e-4``, the k of n + ik, time dependence
  exp(−iωt): k > 0 absorbs, k < 0 is gain — gain only in the core and coatings);
* ``material = "silica"`` (library name: see :data:`wgm.model.materials.LIBRARY`); for
  ``material = "cspbbr3-nc"`` also ``fill_fraction`` (required), ``ligand_index``,
  ``bulk``, ``mixing``;
* ``nk_file = "my_nk.txt"`` (relative to the config file; ``wavelength_unit = "nm" | "um"``).

and optionally, with any of them, ``extinction_per_cm = 5.0``: an intensity absorption
coefficient α ≥ 0 (cm⁻¹) added as ``k = αλ/(4π)`` (:class:`~wgm.model.materials.WithExtinction`;
kept when an override replaces the material).

The ``[losses]`` table (:mod:`wgm.model.losses`): ``roughness_nm``, ``correlation_length_nm``
(surface scattering of the outer surface), ``coupling_q`` (external coupling); see the README's
"Q budget".
"""

from __future__ import annotations

import copy
import inspect
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from wgm.errors import ConfigError, UserError
from wgm.fdtd.settings import FdtdSettings
from wgm.fem.settings import FemSettings
from wgm.lasing import parse_gain, parse_lasing, parse_pump
from wgm.lasing import GainSpectrum, TwoLevelGain, TwoPhotonPump
from wgm.model import validate
from wgm.model.materials import (
    EffectiveMedium,
    Material,
    ConstantIndex,
    WithExtinction,
    library_material,
    nanocrystal_film,
    read_nk_file,
)
from wgm.model.losses import Losses, losses_to_dict, parse_losses, scattering_q
from wgm.model.resonator import Coating, Disk, Pedestal, Resonator, Ring, Search, Sphere, Toroid

__all__ = ["Config", "load_config", "read_config_file", "parse_config", "apply_overrides", "parse_set",
           "parse_value", "is_dotted_key", "parse_sweep_table", "set_value", "config_to_dict", "SCHEMA_VERSION"]

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

# every key set is derived from what the table builds: a new dataclass field is a new key
_NC_KEYS = frozenset(inspect.signature(nanocrystal_film).parameters)   # fill_fraction, ligand_index, ...
_MATERIAL_KINDS = {"index": ("extinction",), "material": tuple(sorted(_NC_KEYS)), "nk_file": ("wavelength_unit",)}
_ADDED_LOSS_KEY = "extinction_per_cm"  # an absorption α (cm⁻¹) added to any kind of material
_MATERIAL_KEYS = frozenset(_MATERIAL_KINDS).union(*_MATERIAL_KINDS.values()) | {_ADDED_LOSS_KEY}
_SHAPE_KEYS = {cls.kind: validate.field_names(cls, exclude={"material"}) for cls in (Sphere, Disk, Ring, Toroid)}
_PEDESTAL_KEYS = validate.field_names(Pedestal, exclude={"material"}) | _MATERIAL_KEYS
_COATING_KEYS = validate.field_names(Coating, exclude={"material", "index_in_stack"}) | _MATERIAL_KEYS
_RESONATOR_KEYS = frozenset({"shape", "coating", "substrate", "pedestal"}).union(*_SHAPE_KEYS.values()) | _MATERIAL_KEYS
_SEARCH_KEYS = validate.field_names(Search)
_FDTD_KEYS = validate.field_names(FdtdSettings)
_FEM_KEYS = validate.field_names(FemSettings)
_SWEEP_KEYS = frozenset({"vary", "zip", "method"})  # the [sweep] table (wgm.sweeps builds the axes)
_SWEEP_METHODS = ("exact", "fdtd", "fem")


@dataclass(frozen=True)
class Config:
    """A validated configuration: every table of a config file.

    ``gain``, ``pump`` and ``lasing`` are ``None`` where the file has no such table (the
    commands that need them use their defaults, see :mod:`wgm.lasing`); ``sweep`` is the
    ``[sweep]`` table, key- and type-checked (its axes are built by :mod:`wgm.sweeps`);
    ``losses`` the ``[losses]`` table (:mod:`wgm.model.losses`; default: no added losses).
    """

    resonator: Resonator
    search: Search
    fdtd: FdtdSettings = field(default_factory=FdtdSettings)
    fem: FemSettings = field(default_factory=FemSettings)
    gain: GainSpectrum | None = None
    pump: TwoPhotonPump | None = None
    lasing: TwoLevelGain | None = None
    losses: Losses = field(default_factory=Losses)
    sweep: dict | None = field(default=None, compare=False)
    source: str = field(default="", compare=False)

    def to_dict(self) -> dict:
        return config_to_dict(self)


_TOP_KEYS = validate.field_names(Config, exclude={"source"}) | {"schema_version", "surroundings"}


# --------------------------------------------------------------------------------------
# reading and overriding


def read_config_file(path) -> dict:
    """Read a TOML config file into plain data (no validation).  A UTF-8 byte-order mark
    (Windows editors write one) is accepted."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"config file '{path}' not found") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not a UTF-8 text file ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise UserError(f"cannot read config file '{path}': {exc.strerror}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: malformed TOML: {exc}") from None


def load_config(path, overrides=()) -> Config:
    """Read a TOML config file, apply ``KEY=VALUE`` overrides, validate and build."""
    raw = apply_overrides(read_config_file(path), overrides)
    return parse_config(raw, base_dir=Path(path).parent, source=str(path))


_DOTTED_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*")
_BARE_WORD = re.compile(r"[A-Za-z0-9_.\-+/]+")


def is_dotted_key(key: str) -> bool:
    """True for a config key path like ``resonator.coating.0.thickness_um``."""
    return bool(_DOTTED_KEY.fullmatch(key))


def parse_value(text: str, where: str):
    """A value given as text (``--set``, ``--vary``): a TOML literal (``2.4``, ``inf``,
    ``"x y"``, ``[1, 2]``), or a bare word (``silica``) taken as a string.  Data only:
    nothing is evaluated.  ``where`` starts the error message."""
    text = text.strip()
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if _BARE_WORD.fullmatch(text):
            return text
        raise UserError(f"{where}: '{text}' is not a value (a number, a word, or a TOML literal; "
                        "quote strings: key=\"text\")") from None


def parse_set(item: str) -> tuple[list[str], object]:
    """Split ``a.b.0.c=VALUE`` into a key path and a value (:func:`parse_value`)."""
    if "=" not in item:
        raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. resonator.radius_um=2.4")
    key, text = item.split("=", 1)
    key = key.strip()
    if not is_dotted_key(key):
        raise UserError(f"--set {item!r}: '{key}' is not a dotted key like resonator.coating.0.thickness_um")
    return key.split("."), parse_value(text, f"--set {item!r}")


def apply_overrides(raw: dict, overrides) -> dict:
    """Return a copy of ``raw`` with each ``KEY=VALUE`` of ``overrides`` applied.

    Integer path parts index arrays of tables; the index one past the end appends a new table
    (so ``--set resonator.coating.0.thickness_um=0.05`` can add a first coating).  Setting
    ``index``, ``material`` or ``nk_file`` replaces the table's other way of giving a material
    and drops the keys that belonged to it, with a warning (logger ``wgm.config``) naming each
    dropped key and its value (see the module docstring for the rule).
    """
    raw = copy.deepcopy(raw)
    for item in overrides:
        path, value = parse_set(item)
        set_value(raw, path, value, f"--set {item}")
    return raw


def set_value(raw: dict, path: list[str], value, label: str) -> dict:
    """Set the dotted key ``path`` of ``raw`` to ``value`` in place (see :func:`apply_overrides`);
    ``label`` names the source of the change in error messages and warnings.

    Returns the keys the change dropped (``{dotted key: old value}``; empty for most keys)."""
    item = label
    node = raw
    for i, part in enumerate(path[:-1]):
        where = ".".join(path[: i + 1])
        nxt = path[i + 1]
        if isinstance(node, list):
            idx = int(part)
            if idx == len(node):
                node.append({})
            elif idx > len(node):
                raise UserError(f"{item}: {'.'.join(path[:i])} has {len(node)} entries; "
                                f"index {idx} would leave a gap")
            node = node[idx]
            continue
        if part.isdigit():
            raise UserError(f"{item}: '{'.'.join(path[:i])}' is not an array")
        if part not in node:
            node[part] = [] if nxt.isdigit() else {}
        node = node[part]
        if not isinstance(node, (dict, list)):
            raise UserError(f"{item}: '{where}' is a value, not a table")
    last = path[-1]
    if isinstance(node, list):
        raise UserError(f"{item}: cannot replace a whole table of '{'.'.join(path[:-1])}'")
    dropped = {}
    if last in _MATERIAL_KINDS:
        # setting one kind of material replaces the table's other kind and its parameters;
        # a library name other than cspbbr3-nc also ends the nanocrystal parameters
        gone = [k for other, params in _MATERIAL_KINDS.items() if other != last for k in (other, *params)]
        if last == "material" and str(value).lower() != "cspbbr3-nc":
            gone += sorted(_NC_KEYS)
        where = ".".join(path[:-1])
        for key in gone:
            if key in node:
                dropped[f"{where}.{key}" if where else key] = node.pop(key)
    if dropped:
        log.warning("%s replaces the material of '%s'; dropped %s", label, ".".join(path[:-1]) or "(top)",
                    ", ".join(f"{k} = {v!r}" for k, v in dropped.items()))
    node[last] = value
    return dropped


# --------------------------------------------------------------------------------------
# validation and building


def _number(table, key, where, default=None, *, allow_inf=False):
    """A number from a config table (``"inf"`` accepted where ``allow_inf``)."""
    return validate.number(f"{where}.{key}", table.get(key, default), allow_inf=allow_inf)


def build_material(table: dict, where: str, base_dir: Path | None, *, required: bool = True,
                   gain_allowed: bool = False) -> Material | None:
    """The material described by the material keys of ``table`` (a config table at key ``where``);
    ``extinction_per_cm`` (α ≥ 0, cm⁻¹) adds ``k = αλ/(4π)`` to it (:class:`WithExtinction`)."""
    if _ADDED_LOSS_KEY in table:
        rest = {k: v for k, v in table.items() if k != _ADDED_LOSS_KEY}
        if not any(k in rest for k in _MATERIAL_KINDS):
            raise ConfigError(f"{where}.{_ADDED_LOSS_KEY}", table[_ADDED_LOSS_KEY],
                              "only together with a material (index, material or nk_file)")
        if str(rest.get("material", "")).lower() == "cspbbr3-nc":
            raise ConfigError(f"{where}.{_ADDED_LOSS_KEY}", table[_ADDED_LOSS_KEY],
                              "not with a cspbbr3-nc film: its absorption is part of its model (bleaching and gain "
                              "with the excitation); give measured data with film_nk_file instead")
        base = build_material(rest, where, base_dir, required=required, gain_allowed=gain_allowed)
        alpha = validate.number(f"{where}.{_ADDED_LOSS_KEY}", table[_ADDED_LOSS_KEY])
        if alpha < 0:
            raise ConfigError(f"{where}.{_ADDED_LOSS_KEY}", alpha, "an absorption coefficient in cm⁻¹, >= 0 "
                              "(gain: give extinction < 0 with index, or a [gain] table)")
        return WithExtinction(base, alpha)
    given = [k for k in _MATERIAL_KINDS if k in table]
    if not given:
        if required:
            raise ConfigError(f"{where}.index", None, "a material is required: give index = <n>, "
                              "material = \"<name>\" or nk_file = \"<path>\"")
        return None
    if len(given) > 1:
        raise ConfigError(f"{where}.{given[1]}", table[given[1]], f"conflicts with {where}.{given[0]}: give only one")
    kind = given[0]
    extra_nc = sorted(_NC_KEYS & table.keys())
    if kind != "material" or str(table.get("material", "")).lower() != "cspbbr3-nc":
        if extra_nc:
            raise ConfigError(f"{where}.{extra_nc[0]}", table[extra_nc[0]],
                              "only for material = \"cspbbr3-nc\"")
    for kind_, params in _MATERIAL_KINDS.items():
        for param in params:
            if param in table and kind != kind_ and param not in _NC_KEYS:
                raise ConfigError(f"{where}.{param}", table[param], f"only together with {kind_}")
    if kind == "index":
        n = validate.positive(f"{where}.index", table["index"])
        k = _number(table, "extinction", where, 0.0)
        if k < 0 and not gain_allowed:
            raise ConfigError(f"{where}.extinction", k, "must be >= 0 here: gain (k < 0) only in the core or "
                              "a coating")
        return ConstantIndex(n, k)
    if kind == "material":
        name = table["material"]
        if not isinstance(name, str):
            raise ConfigError(f"{where}.material", name, "must be a string")
        if name.lower() == "cspbbr3-nc":
            return _nanocrystal_film(table, where, base_dir)
        return library_material(name, f"{where}.material")
    path = table["nk_file"]
    if not isinstance(path, str):
        raise ConfigError(f"{where}.nk_file", path, "must be a file path (string)")
    full = Path(path) if base_dir is None or Path(path).is_absolute() else Path(base_dir) / path
    unit = validate.choice(f"{where}.wavelength_unit", table.get("wavelength_unit", "nm"), ("nm", "um"))
    if not full.exists():
        raise ConfigError(f"{where}.nk_file", path, f"file not found (looked for {full})")
    return read_nk_file(full, unit)


def nanocrystal_defaults() -> dict:
    """The default parameters of a ``cspbbr3-nc`` film (those of :func:`nanocrystal_film`)."""
    return {k: p.default for k, p in inspect.signature(nanocrystal_film).parameters.items()
            if p.default is not inspect.Parameter.empty}


def _nanocrystal_film(table: dict, where: str, base_dir: Path | None = None) -> EffectiveMedium:
    """A ``cspbbr3-nc`` film from its table (``fill_fraction`` required)."""
    defaults = nanocrystal_defaults()
    if "fill_fraction" not in table:
        raise ConfigError(f"{where}.fill_fraction", None, "is required for material = \"cspbbr3-nc\": "
                          "the CsPbBr3 volume fraction, in (0, 1]")
    lig = validate.positive(f"{where}.ligand_index", table.get("ligand_index", defaults["ligand_index"]))
    given = {k: table[k] for k in _NC_KEYS if k in table and k not in ("fill_fraction", "ligand_index")}
    for key in ("film_nk_file", "gain_file"):  # data files, relative to the config's folder
        if key in given:
            if not isinstance(given[key], str):
                raise ConfigError(f"{where}.{key}", given[key], "must be a file path (string)")
            full = Path(given[key]) if base_dir is None or Path(given[key]).is_absolute() else Path(base_dir) / given[key]
            if not full.exists():
                raise ConfigError(f"{where}.{key}", given[key], f"file not found (looked for {full})")
            given[key] = str(full)
    try:  # the film checks its parameters under their own names
        return nanocrystal_film(table["fill_fraction"], lig, **given)
    except ConfigError as exc:
        raise ConfigError(f"{where}.{exc.key}", exc.value, exc.allowed) from None


def _parse_resonator(res_t, base_dir) -> tuple:
    """The shape, coatings and substrate of the ``[resonator]`` table."""
    validate.check_keys(res_t, _RESONATOR_KEYS, "resonator")
    shape = res_t.get("shape")
    validate.choice("resonator.shape", shape, tuple(_SHAPE_KEYS))
    for other_shape, keys in _SHAPE_KEYS.items():
        for key in keys - _SHAPE_KEYS[shape]:
            if key in res_t:
                raise ConfigError(f"resonator.{key}", res_t[key], f"not a key of shape '{shape}' "
                                  f"(it belongs to '{other_shape}')")
    core = build_material(res_t, "resonator", base_dir, gain_allowed=True)
    num = lambda key: _number(res_t, key, "resonator", allow_inf=True)  # noqa: E731  (the shapes check the sign)
    for key in sorted(_SHAPE_KEYS[shape]) if shape == "toroid" else ():
        if key not in res_t:
            raise ConfigError(f"resonator.{key}", None, f"is required for shape '{shape}' (its keys: "
                              f"{', '.join(sorted(_SHAPE_KEYS[shape]))})")
    if shape == "sphere":
        geom = Sphere(num("radius_um"), core)
    elif shape == "disk":
        geom = Disk(num("radius_um"), num("thickness_um"), core)
    elif shape == "toroid":
        geom = Toroid(num("major_radius_um"), num("tube_radius_um"), core)
    else:
        geom = Ring(num("radius_um"), num("width_um"), num("height_um"), core)

    coats_t = res_t.get("coating", [])
    if isinstance(coats_t, dict):
        coats_t = [coats_t]
    if not isinstance(coats_t, list):
        raise ConfigError("resonator.coating", coats_t, "must be an array of tables [[resonator.coating]]")
    coatings = []
    for i, ct in enumerate(coats_t):
        where = f"resonator.coating.{i}"
        validate.check_keys(ct, _COATING_KEYS, where)
        coatings.append(Coating(_number(ct, "thickness_um", where, allow_inf=True),
                                build_material(ct, where, base_dir, gain_allowed=True), index_in_stack=i))

    substrate = None
    if "substrate" in res_t:
        validate.check_keys(res_t["substrate"], _MATERIAL_KEYS, "resonator.substrate")
        substrate = build_material(res_t["substrate"], "resonator.substrate", base_dir)
    pedestal = None
    if "pedestal" in res_t:
        ped_t = res_t["pedestal"]
        if not isinstance(ped_t, dict):
            raise ConfigError("resonator.pedestal", ped_t, "must be a table [resonator.pedestal] with radius_um, "
                              "height_um and a material")
        validate.check_keys(ped_t, _PEDESTAL_KEYS, "resonator.pedestal")
        for key in ("radius_um", "height_um"):
            if key not in ped_t:
                raise ConfigError(f"resonator.pedestal.{key}", None, "is required (µm)")
        pedestal = Pedestal(_number(ped_t, "radius_um", "resonator.pedestal"),
                            _number(ped_t, "height_um", "resonator.pedestal"),
                            build_material(ped_t, "resonator.pedestal", base_dir))
    return geom, tuple(coatings), substrate, pedestal


def _parse_search(raw) -> Search:
    if "search" not in raw:
        raise ConfigError("search", None, "a [search] table with wavelength_nm = [min, max] is required")
    s_t = validate.check_keys(raw["search"], _SEARCH_KEYS, "search")
    if "wavelength_nm" not in s_t:
        raise ConfigError("search.wavelength_nm", None, "is required: [min, max] in nm")
    band = s_t["wavelength_nm"]
    pols = s_t.get("polarizations", ("TE", "TM"))
    return Search(wavelength_nm=tuple(band) if isinstance(band, list) else band,
                  max_radial_order=s_t.get("max_radial_order", 3),
                  polarizations=tuple(pols) if isinstance(pols, (list, tuple)) else pols)


def _parse_fdtd(raw) -> FdtdSettings:
    f_t = validate.check_keys(raw.get("fdtd", {}), _FDTD_KEYS, "fdtd")
    try:
        return FdtdSettings(**f_t)
    except ConfigError as exc:
        if exc.key.startswith("search."):  # the sub-band is validated like a search band
            raise ConfigError("fdtd." + exc.key.split(".", 1)[1], exc.value, exc.allowed) from None
        raise


def _parse_fem(raw) -> FemSettings:
    """The ``[fem]`` table (keys checked: an unknown one is refused with the allowed list;
    values by :class:`FemSettings`, whose errors name ``fem.KEY``)."""
    f_t = validate.check_keys(raw.get("fem", {}), _FEM_KEYS, "fem")
    return FemSettings(**f_t)


def parse_sweep_table(raw) -> dict | None:
    """The ``[sweep]`` table of ``raw`` with its keys and types checked (``None`` if absent);
    the axes themselves are parsed by :mod:`wgm.sweeps`."""
    if "sweep" not in raw:
        return None
    table = validate.check_keys(raw["sweep"], _SWEEP_KEYS, "sweep")
    vary = table.get("vary", [])
    if isinstance(vary, str):
        vary = [vary]
    if not isinstance(vary, list) or not all(isinstance(v, str) for v in vary):
        raise ConfigError("sweep.vary", table.get("vary"), 'a list of strings like "resonator.radius_um=2:3:11"')
    if "zip" in table and not isinstance(table["zip"], bool):
        raise ConfigError("sweep.zip", table["zip"], "must be true or false")
    if "method" in table:
        validate.choice("sweep.method", table["method"], _SWEEP_METHODS)
    return copy.deepcopy(table)


def parse_config(raw: dict, base_dir=None, source: str = "") -> Config:
    """Validate a config dictionary (as read from TOML) and build the objects: every table."""
    validate.check_keys(raw, _TOP_KEYS, "")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ConfigError("schema_version", version, f"this wgm reads schema_version = {SCHEMA_VERSION}")
    if "resonator" not in raw:
        raise ConfigError("resonator", None, "a [resonator] table is required")
    geom, coatings, substrate, pedestal = _parse_resonator(raw["resonator"], base_dir)
    sur_t = validate.check_keys(raw.get("surroundings", {"index": 1.0}), _MATERIAL_KEYS, "surroundings")
    surroundings = build_material(sur_t, "surroundings", base_dir)
    resonator = Resonator(geom, coatings, surroundings, substrate, pedestal)
    search = _parse_search(raw)
    fdtd = _parse_fdtd(raw)
    fem = _parse_fem(raw)
    gain = parse_gain(raw["gain"]) if "gain" in raw else None
    pump = parse_pump(raw["pump"]) if "pump" in raw else None
    lasing = parse_lasing(raw["lasing"], gain) if "lasing" in raw else None
    # a region the file names must exist in its resonator (the default "coating" of a file
    # without these tables is checked by the commands that use it)
    if gain is not None and "region" in raw["gain"]:
        resonator.region_layers(gain.region, "gain.region")
    if lasing is not None and "region" in raw["lasing"]:
        resonator.region_layers(lasing.region, "lasing.region")
    losses = parse_losses(raw.get("losses"))
    if losses.outer is not None or losses.interfaces:  # refuses a shape without a formula, a missing layer
        scattering_q(resonator, losses, 0.5 * (search.wavelength_nm[0] + search.wavelength_nm[1]))
    return Config(resonator, search, fdtd, fem, gain=gain, pump=pump, lasing=lasing, losses=losses,
                  sweep=parse_sweep_table(raw), source=source)


# --------------------------------------------------------------------------------------
# back to data


def _material_dict(mat: Material, base: dict | None = None) -> dict:
    out = dict(base or {})
    table = mat.to_config()
    if "nk_file" in table:  # a user's file (table or formula): an absolute path
        table["nk_file"] = str(Path(table["nk_file"]).resolve())
    out.update(table)
    return out


def resonator_to_dict(res: Resonator) -> dict:
    shape = res.shape
    d: dict = {"shape": shape.kind}
    if isinstance(shape, Toroid):
        d["major_radius_um"] = shape.major_radius_um
        d["tube_radius_um"] = shape.tube_radius_um
    else:
        d["radius_um"] = shape.radius_um
    if isinstance(shape, Disk):
        d["thickness_um"] = shape.thickness_um
    if isinstance(shape, Ring):
        d["width_um"] = shape.width_um
        d["height_um"] = shape.height_um
    d = _material_dict(shape.material, d)
    if res.coatings:
        d["coating"] = [_material_dict(c.material, {"thickness_um": c.thickness_um}) for c in res.coatings]
    if res.substrate is not None:
        d["substrate"] = _material_dict(res.substrate)
    if res.pedestal is not None:
        d["pedestal"] = _material_dict(res.pedestal.material, {"radius_um": res.pedestal.radius_um,
                                                               "height_um": res.pedestal.height_um})
    return d


def config_to_dict(cfg: Config) -> dict:
    """The plain-data form of a config (``parse_config(config_to_dict(c)) == c``).

    Infinite sizes are written as the string ``"inf"`` (JSON has no infinity): the records'
    one rule for non-finite floats (:func:`wgm.records.files.with_finite_floats`).
    """
    from wgm.records.files import with_finite_floats

    d = {
        "schema_version": SCHEMA_VERSION,
        "resonator": resonator_to_dict(cfg.resonator),
        "surroundings": _material_dict(cfg.resonator.surroundings),
        "search": {
            "wavelength_nm": list(cfg.search.wavelength_nm),
            "max_radial_order": cfg.search.max_radial_order,
            "polarizations": list(cfg.search.polarizations),
        },
    }
    defaults = FdtdSettings()
    fd = {k: (list(v) if isinstance(v, tuple) else v) for k in sorted(_FDTD_KEYS)
          if (v := getattr(cfg.fdtd, k)) != getattr(defaults, k)}
    if fd:
        d["fdtd"] = fd
    fem_defaults = FemSettings()
    fe = {k: (list(v) if isinstance(v, tuple) else v) for k in sorted(_FEM_KEYS)
          if (v := getattr(cfg.fem, k)) != getattr(fem_defaults, k)}
    if fe:
        d["fem"] = fe
    for name in ("gain", "pump", "lasing"):
        record = getattr(cfg, name)
        if record is not None:
            d[name] = {k: v for k, v in record.to_dict().items() if v is not None}
    if cfg.losses.any:
        d["losses"] = losses_to_dict(cfg.losses)
    if cfg.sweep is not None:
        d["sweep"] = copy.deepcopy(cfg.sweep)
    return with_finite_floats(d)
