"""TOML configuration files: parse, override with ``--set``, validate, build the objects.

A config is *data*: values are parsed (TOML, and ``--set`` values as TOML literals), never
evaluated.  Every problem raises :class:`~wgm.errors.ConfigError` naming the key.

Keys (the ones marked * are required)::

    schema_version = 1
    [resonator]
    shape = "sphere"            # * "sphere" | "disk" | "ring"
    radius_um = 2.0             # * outer radius of the core (ring: outer radius)
    thickness_um = inf          # disk only: thickness (inf: 2-D limit)
    width_um, height_um         # ring only: radial width, height (inf: 2-D limit)
    <material keys>             # * the core material
    [[resonator.coating]]       # sphere / disk: repeatable, innermost first
    thickness_um = 0.05         # *
    <material keys>             # *
    [resonator.substrate]       # disk / ring of finite height: half-space below
    <material keys>
    [surroundings]              # default: index = 1.0
    <material keys>
    [search]
    wavelength_nm = [520, 545]  # * band (nm)
    max_radial_order = 3        # modes of radial order 1..3
    polarizations = ["TE", "TM"]
    [fdtd]                      # optional overrides of the FDTD engine (see FdtdSettings)
    m = [28, 29]                # azimuthal numbers; resolution_px_per_um, pad_um, pml_um,
                                # symmetry, points_per_wavelength, min_layer_px, max_periods,
                                # domain, max_polar_order
    [sweep]                     # read by wgm.sweep (ignored here): vary, zip, method
    [gain]                      # read by wgm.gain (ignored here): region, peak_gain_per_cm,
                                # peak_wavelength_nm, fwhm_nm
    [pump]                      # read by wgm.gain: the two-photon pump model (TwoPhotonPump)
    [lasing]                    # read by wgm.gain: the saturable two-level film of `wgm lasing`

Material keys, exactly one of:

* ``index = 1.46`` (and optionally ``extinction = 1e-4``, the k of n + ik, time dependence
  exp(−iωt): k > 0 absorbs, k < 0 is gain — gain only in the core and coatings);
* ``material = "silica"`` (library name: see :data:`wgm.materials.LIBRARY`); for
  ``material = "cspbbr3-nc"`` also ``fill_fraction`` (required), ``ligand_index``,
  ``bulk``, ``mixing``;
* ``nk_file = "my_nk.txt"`` (relative to the config file; ``wavelength_unit = "nm" | "um"``).
"""

from __future__ import annotations

import copy
import math
import re
from dataclasses import dataclass, field
from pathlib import Path

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from wgm.errors import ConfigError, UserError, did_you_mean
from wgm.model.materials import (
    ConstantIndex,
    EffectiveMedium,
    Material,
    TabulatedNK,
    library_material,
    nanocrystal_film,
    read_nk_file,
)
from wgm.fdtd.settings import FdtdSettings
from wgm.model.resonator import Coating, Disk, Resonator, Ring, Search, Sphere

__all__ = ["Config", "load_config", "read_config_file", "parse_config", "apply_overrides", "parse_set",
           "set_value", "config_to_dict",
           "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

_MATERIAL_KEYS = {"index", "extinction", "material", "fill_fraction", "ligand_index", "bulk", "mixing",
                  "nk_file", "wavelength_unit"}
_NC_KEYS = {"fill_fraction", "ligand_index", "bulk", "mixing"}
_MATERIAL_KINDS = {"index": ("extinction",), "material": tuple(_NC_KEYS), "nk_file": ("wavelength_unit",)}
_SHAPE_KEYS = {
    "sphere": {"radius_um"},
    "disk": {"radius_um", "thickness_um"},
    "ring": {"radius_um", "width_um", "height_um"},
}
_RESONATOR_KEYS = {"shape", "coating", "substrate"} | set().union(*_SHAPE_KEYS.values()) | _MATERIAL_KEYS
_TOP_KEYS = {"schema_version", "resonator", "surroundings", "search", "fdtd", "sweep", "gain", "pump",
             "lasing"}  # read elsewhere
_FDTD_KEYS = {"m", "resolution_px_per_um", "pad_um", "pml_um", "symmetry", "points_per_wavelength",
              "min_layer_px", "max_periods", "wavelength_nm", "domain", "max_polar_order"}
_SEARCH_KEYS = {"wavelength_nm", "max_radial_order", "polarizations"}


@dataclass(frozen=True)
class Config:
    """A validated configuration: the resonator, the search, and FDTD settings."""

    resonator: Resonator
    search: Search
    fdtd: FdtdSettings = field(default_factory=FdtdSettings)
    source: str = field(default="", compare=False)

    def to_dict(self) -> dict:
        return config_to_dict(self)


# --------------------------------------------------------------------------------------
# reading and overriding


def read_config_file(path) -> dict:
    """Read a TOML config file into plain data (no validation)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UserError(f"config file '{path}' not found") from None
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


def parse_set(item: str) -> tuple[list[str], object]:
    """Split ``a.b.0.c=VALUE`` into a key path and a value parsed as a TOML literal.

    A bare word that is not valid TOML (``silica``) is taken as a string.
    """
    if "=" not in item:
        raise UserError(f"--set {item!r}: expected KEY=VALUE, e.g. resonator.radius_um=2.4")
    key, text = item.split("=", 1)
    key = key.strip()
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*(\.([A-Za-z_][A-Za-z0-9_]*|\d+))*", key):
        raise UserError(f"--set {item!r}: '{key}' is not a dotted key like resonator.coating.0.thickness_um")
    text = text.strip()
    try:
        value = tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        if re.fullmatch(r"[A-Za-z0-9_.\-+/]+", text):
            value = text
        else:
            raise UserError(f"--set {item!r}: '{text}' is not a TOML value (quote strings: key=\"text\")") from None
    return key.split("."), value


def apply_overrides(raw: dict, overrides) -> dict:
    """Return a copy of ``raw`` with each ``KEY=VALUE`` of ``overrides`` applied.

    Integer path parts index arrays of tables; the index one past the end appends a new table
    (so ``--set resonator.coating.0.thickness_um=0.05`` can add a first coating).  Setting
    ``index``, ``material`` or ``nk_file`` replaces the table's other way of giving a material.
    """
    raw = copy.deepcopy(raw)
    for item in overrides:
        path, value = parse_set(item)
        set_value(raw, path, value, f"--set {item}")
    return raw


def set_value(raw: dict, path: list[str], value, label: str) -> None:
    """Set the dotted key ``path`` of ``raw`` to ``value`` in place (see :func:`apply_overrides`);
    ``label`` names the source of the change in error messages."""
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
    if last in _MATERIAL_KINDS:
        # setting one kind of material replaces the table's other kind (and its parameters)
        for other, params in _MATERIAL_KINDS.items():
            if other != last:
                for key in (other, *params):
                    node.pop(key, None)
    node[last] = value


# --------------------------------------------------------------------------------------
# validation and building


def _check_keys(table: dict, allowed: set, where: str) -> None:
    if not isinstance(table, dict):
        raise ConfigError(where, table, "must be a table")
    for key in table:
        if key not in allowed:
            full = f"{where}.{key}" if where else key
            raise ConfigError(full, table[key],
                              f"unknown key{did_you_mean(key, allowed)}; allowed here: {', '.join(sorted(allowed))}")


def _number(table, key, where, default=None, *, integer=False):
    value = table.get(key, default)
    full = f"{where}.{key}"
    if value is None:
        raise ConfigError(full, None, "is required")
    if isinstance(value, str) and value.strip().lower() in ("inf", "+inf"):
        value = math.inf
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(full, value, "must be an integer" if integer else "must be a number")
    if integer and not isinstance(value, int):
        raise ConfigError(full, value, "must be an integer")
    return value


def build_material(table: dict, where: str, base_dir: Path | None, *, required: bool = True,
                   gain_allowed: bool = False) -> Material | None:
    """The material described by the material keys of ``table`` (a config table at key ``where``)."""
    given = [k for k in ("index", "material", "nk_file") if k in table]
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
    if "extinction" in table and kind != "index":
        raise ConfigError(f"{where}.extinction", table["extinction"], "only together with index = <n>")
    if "wavelength_unit" in table and kind != "nk_file":
        raise ConfigError(f"{where}.wavelength_unit", table["wavelength_unit"], "only together with nk_file")
    if kind == "index":
        n = _number(table, "index", where)
        k = _number(table, "extinction", where, 0.0)
        if not (math.isfinite(n) and n > 0):
            raise ConfigError(f"{where}.index", n, "must be a finite number > 0")
        if not math.isfinite(k):
            raise ConfigError(f"{where}.extinction", k, "must be a finite number (k > 0 absorbs, k < 0 is gain)")
        if k < 0 and not gain_allowed:
            raise ConfigError(f"{where}.extinction", k, "must be >= 0 here: gain (k < 0) only in the core or "
                              "a coating")
        return ConstantIndex(float(n), float(k))
    if kind == "material":
        name = table["material"]
        if not isinstance(name, str):
            raise ConfigError(f"{where}.material", name, "must be a string")
        if name.lower() == "cspbbr3-nc":
            f = _number(table, "fill_fraction", where)
            if not 0 < f <= 1:
                raise ConfigError(f"{where}.fill_fraction", f, "must be in (0, 1]")
            lig = _number(table, "ligand_index", where, 1.46)
            if not (math.isfinite(lig) and lig > 0):
                raise ConfigError(f"{where}.ligand_index", lig, "must be a finite number > 0")
            bulk = table.get("bulk", "brennan")
            mixing = table.get("mixing", "maxwell-garnett")
            if mixing not in EffectiveMedium.MIXINGS:
                raise ConfigError(f"{where}.mixing", mixing, f"allowed: {', '.join(EffectiveMedium.MIXINGS)}"
                                  f"{did_you_mean(str(mixing), EffectiveMedium.MIXINGS)}")
            try:
                return nanocrystal_film(float(f), float(lig), bulk, mixing)
            except ConfigError as exc:
                raise ConfigError(f"{where}.{exc.key}", exc.value, exc.allowed) from None
        return library_material(name, f"{where}.material")
    path = table["nk_file"]
    if not isinstance(path, str):
        raise ConfigError(f"{where}.nk_file", path, "must be a file path (string)")
    full = Path(path) if base_dir is None or Path(path).is_absolute() else Path(base_dir) / path
    unit = table.get("wavelength_unit", "nm")
    if unit not in ("nm", "um"):
        raise ConfigError(f"{where}.wavelength_unit", unit, "allowed: 'nm', 'um'")
    if not full.exists():
        raise ConfigError(f"{where}.nk_file", path, f"file not found (looked for {full})")
    return read_nk_file(full, unit)


def parse_config(raw: dict, base_dir=None, source: str = "") -> Config:
    """Validate a config dictionary (as read from TOML) and build the objects."""
    _check_keys(raw, _TOP_KEYS, "")
    version = raw.get("schema_version", SCHEMA_VERSION)
    if version != SCHEMA_VERSION:
        raise ConfigError("schema_version", version, f"this wgm reads schema_version = {SCHEMA_VERSION}")
    if "resonator" not in raw:
        raise ConfigError("resonator", None, "a [resonator] table is required")
    res_t = raw["resonator"]
    _check_keys(res_t, _RESONATOR_KEYS, "resonator")
    shape = res_t.get("shape")
    if shape not in _SHAPE_KEYS:
        raise ConfigError("resonator.shape", shape, "allowed: 'sphere', 'disk', 'ring'"
                          + (did_you_mean(str(shape), _SHAPE_KEYS) if shape else ""))
    for other_shape, keys in _SHAPE_KEYS.items():
        for key in keys - _SHAPE_KEYS[shape]:
            if key in res_t:
                raise ConfigError(f"resonator.{key}", res_t[key], f"not a key of shape '{shape}' "
                                  f"(it belongs to '{other_shape}')")
    core = build_material(res_t, "resonator", base_dir, gain_allowed=True)
    num = lambda key: _number(res_t, key, "resonator")  # noqa: E731
    if shape == "sphere":
        geom = Sphere(num("radius_um"), core)
    elif shape == "disk":
        geom = Disk(num("radius_um"), num("thickness_um"), core)
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
        _check_keys(ct, {"thickness_um"} | _MATERIAL_KEYS, where)
        coatings.append(Coating(_number(ct, "thickness_um", where), build_material(ct, where, base_dir, gain_allowed=True),
                                index_in_stack=i))

    substrate = None
    if "substrate" in res_t:
        _check_keys(res_t["substrate"], _MATERIAL_KEYS, "resonator.substrate")
        substrate = build_material(res_t["substrate"], "resonator.substrate", base_dir)

    sur_t = raw.get("surroundings", {"index": 1.0})
    _check_keys(sur_t, _MATERIAL_KEYS, "surroundings")
    surroundings = build_material(sur_t, "surroundings", base_dir)

    resonator = Resonator(geom, tuple(coatings), surroundings, substrate)

    if "search" not in raw:
        raise ConfigError("search", None, "a [search] table with wavelength_nm = [min, max] is required")
    s_t = raw["search"]
    _check_keys(s_t, _SEARCH_KEYS, "search")
    if "wavelength_nm" not in s_t:
        raise ConfigError("search.wavelength_nm", None, "is required: [min, max] in nm")
    band = s_t["wavelength_nm"]
    search = Search(
        wavelength_nm=tuple(band) if isinstance(band, list) else band,
        max_radial_order=s_t.get("max_radial_order", 3),
        polarizations=tuple(s_t.get("polarizations", ("TE", "TM"))) if isinstance(
            s_t.get("polarizations", ()), (list, tuple)) else s_t.get("polarizations"),
    )
    f_t = raw.get("fdtd", {})
    _check_keys(f_t, _FDTD_KEYS, "fdtd")
    try:
        fdtd = FdtdSettings(**f_t)
    except ConfigError as exc:
        if exc.key.startswith("search."):  # the sub-band is validated like a search band
            raise ConfigError("fdtd." + exc.key.split(".", 1)[1], exc.value, exc.allowed) from None
        raise
    return Config(resonator, search, fdtd, source=source)


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
    d: dict = {"shape": shape.kind, "radius_um": shape.radius_um}
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
    return d


def config_to_dict(cfg: Config) -> dict:
    """The plain-data form of a config (``parse_config(config_to_dict(c)) == c``).

    Infinite sizes are written as the string ``"inf"`` (JSON has no infinity).
    """
    def fix(v):
        if isinstance(v, float) and math.isinf(v):
            return "inf"
        if isinstance(v, dict):
            return {k: fix(x) for k, x in v.items()}
        if isinstance(v, list):
            return [fix(x) for x in v]
        return v

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
    return fix(d)
