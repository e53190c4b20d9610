"""Config files: loading, --set overrides, round trip, and every kind of bad input."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from conftest import COATED_SPHERE_TOML
from wgm.config import apply_overrides, config_to_dict, load_config, parse_config, parse_set
from wgm.errors import ConfigError, UserError
from wgm.model.materials import EffectiveMedium
from wgm.model.resonator import Disk, Ring, Sphere

SIMS = sorted((Path(__file__).parent.parent / "sims").glob("*.toml"))

BASE = COATED_SPHERE_TOML + """
[surroundings]
index = 1.0
[search]
wavelength_nm = [520.0, 545.0]
max_radial_order = 3
"""


def write(tmp_path, text, name="c.toml"):
    p = tmp_path / name
    p.write_text(text)
    return p


def test_issue_example_loads(tmp_path):
    cfg = load_config(write(tmp_path, BASE))
    assert isinstance(cfg.resonator.shape, Sphere)
    assert cfg.resonator.shape.radius_um == 2.0
    assert cfg.resonator.coatings[0].thickness_um == 0.05
    assert cfg.resonator.outer_radius_um == pytest.approx(2.05)
    assert cfg.search.wavelength_nm == (520.0, 545.0)
    assert cfg.search.max_radial_order == 3


def test_set_overrides(tmp_path):
    cfg = load_config(write(tmp_path, BASE), ["resonator.radius_um=2.4", "resonator.coating.0.thickness_um=0.03",
                                              "search.wavelength_nm=[500, 510]", "resonator.material=silica",
                                              ])
    assert cfg.resonator.shape.radius_um == 2.4
    assert cfg.resonator.coatings[0].thickness_um == 0.03
    assert cfg.search.wavelength_nm == (500.0, 510.0)
    assert cfg.resonator.shape.material.name == "silica"  # material replaced the index


def test_set_material_replaces_nc_parameters(tmp_path):
    text = BASE.replace("index = 2.0", 'material = "cspbbr3-nc"\nfill_fraction = 0.5')
    cfg = load_config(write(tmp_path, text), ["resonator.coating.0.index=1.9"])
    assert cfg.resonator.coatings[0].material.n_at(530.0) == 1.9


def test_set_can_add_a_coating(tmp_path):
    text = BASE.replace("[[resonator.coating]]\nthickness_um = 0.05\nindex = 2.0\n", "")
    cfg = load_config(write(tmp_path, text), ["resonator.coating.0.thickness_um=0.02",
                                              "resonator.coating.0.material=cspbbr3-nc",
                                              "resonator.coating.0.fill_fraction=0.4"])
    film = cfg.resonator.coatings[0].material
    assert isinstance(film, EffectiveMedium) and film.fill_fraction == 0.4


def test_parse_set_values_are_data_not_code():
    with pytest.raises(UserError, match="is not a value"):
        parse_set("a.b=__import__('os').system('true')")
    assert parse_set("a.b=inf") == (["a", "b"], math.inf)
    assert parse_set('a.b="x y"') == (["a", "b"], "x y")
    assert parse_set("a.0.c=1e-3") == (["a", "0", "c"], 1e-3)
    with pytest.raises(UserError, match="KEY=VALUE"):
        parse_set("radius")


def test_override_gap_and_scalar_path():
    with pytest.raises(UserError, match="gap"):
        apply_overrides({"resonator": {"coating": []}}, ["resonator.coating.2.thickness_um=1"])
    with pytest.raises(UserError, match="is a value"):
        apply_overrides({"resonator": {"radius_um": 1.0}}, ["resonator.radius_um.x=1"])


@pytest.mark.parametrize("path", SIMS, ids=[p.name for p in SIMS])
def test_every_sim_loads_and_round_trips(path):
    cfg = load_config(path)
    again = parse_config(config_to_dict(cfg), base_dir=path.parent)
    assert again == cfg


def test_round_trip_of_all_shapes_and_materials(tmp_path):
    nk = write(tmp_path, "500 2.0 0.1\n600 1.9 0\n", "nk.txt")
    text = f"""
[resonator]
shape = "ring"
radius_um = 5.0
width_um = 1.0
height_um = 0.4
material = "silica"
[resonator.substrate]
nk_file = "{nk.name}"
[surroundings]
index = 1.33
extinction = 1e-6
[search]
wavelength_nm = [520, 560]
polarizations = ["TM"]
"""
    cfg = load_config(write(tmp_path, text))
    assert isinstance(cfg.resonator.shape, Ring) and cfg.resonator.shape.inner_radius_um == 4.0
    assert cfg.resonator.substrate.n_at(550.0) == pytest.approx(1.95 + 0.05j)
    assert parse_config(config_to_dict(cfg)) == cfg
    disk = load_config(write(tmp_path, BASE.replace('shape = "sphere"', 'shape = "disk"\nthickness_um = "inf"')))
    assert isinstance(disk.resonator.shape, Disk) and disk.resonator.is_2d


BAD = [
    # (description, config text or None for BASE, overrides, expected message fragment)
    ("negative radius", None, ["resonator.radius_um=-2"], "resonator.radius_um = -2.0: must be a finite number > 0"),
    ("zero coating", None, ["resonator.coating.0.thickness_um=0"], "resonator.coating.0.thickness_um = 0.0"),
    ("infinite sphere", None, ["resonator.radius_um=inf"], "resonator.radius_um = inf"),
    ("ring too wide", BASE.replace('shape = "sphere"', 'shape = "ring"\nwidth_um = 3\nheight_um = 1')
     .replace("[[resonator.coating]]\nthickness_um = 0.05\nindex = 2.0\n", ""), [], "must be < radius_um"),
    ("coating on ring", BASE.replace('shape = "sphere"', 'shape = "ring"\nwidth_um = 1\nheight_um = 1'), [],
     "shape 'ring' cannot take a coating"),
    ("unknown key", None, ["resonator.radius=2"], "did you mean 'radius_um'"),
    ("unknown table", BASE + "[serach]\nx=1\n", [], "did you mean 'search'"),
    ("key of other shape", None, ["resonator.width_um=1"], "belongs to 'ring'"),
    ("unknown material", None, ["resonator.coating.0.material=cspbbr"], "unknown material"),
    ("two materials", BASE.replace("index = 1.46", 'index = 1.46\nmaterial = "silica"'), [],
     "conflicts with resonator.index"),
    ("nc without fill", None, ["resonator.coating.0.index=0"], "must be a finite number > 0"),
    ("fill out of range", BASE.replace("index = 2.0", 'material = "cspbbr3-nc"\nfill_fraction = 1.5'), [],
     "fill_fraction = 1.5: must be in (0, 1]"),
    ("nc key on index", None, ["resonator.fill_fraction=0.3"], "only for material"),
    ("bad shape", None, ["resonator.shape=cube"], "allowed: 'sphere', 'disk', 'ring'"),
    ("band reversed", None, ["search.wavelength_nm=[600, 500]"], "0 < min < max"),
    ("band type", None, ["search.wavelength_nm=530"], "must be [min, max]"),
    ("radial order", None, ["search.max_radial_order=0"], "integer >= 1"),
    ("polarization", None, ['search.polarizations=["TE", "Ez"]'], "'TE', 'TM'"),
    ("no search", BASE.split("[search]")[0], [], "[search] table"),
    ("string radius", None, ['resonator.radius_um="two"'], "must be a number"),
    ("missing nk file", None, ['resonator.coating.0.nk_file="nope.txt"'], "file not found"),
    ("schema", "schema_version = 7\n" + BASE, [], "schema_version = 7"),
    ("water surroundings above core", None, ["surroundings.index=1.5", "resonator.coating.0.index=1.4"], None),
]


@pytest.mark.parametrize("desc, text, overrides, match", BAD, ids=[b[0] for b in BAD])
def test_bad_input_names_key_and_value(tmp_path, desc, text, overrides, match):
    path = write(tmp_path, text if text is not None else BASE)
    if match is None:
        load_config(path, overrides)  # valid config; physics checked by the solver
        return
    with pytest.raises(UserError) as err:
        load_config(path, overrides)
    assert match in str(err.value)
    assert "\n" not in str(err.value)


def test_band_outside_data_range_message(tmp_path):
    from wgm.exact.solver import solve

    cfg = load_config(write(tmp_path, BASE), ['resonator.coating.0.material="cspbbr3-ermolaev-o"',
                                              "search.wavelength_nm=[450, 520]"] + [])
    with pytest.raises(ConfigError, match="resonator.coating.0.material = 'cspbbr3-ermolaev-o': data cover"):
        solve(cfg.resonator, cfg.search)


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(UserError, match="not found"):
        load_config(tmp_path / "none.toml")
    with pytest.raises(UserError, match="malformed TOML"):
        load_config(write(tmp_path, "[resonator\nshape='sphere'"))
    text = BASE.replace("index = 2.0", 'nk_file = "missing.txt"')
    with pytest.raises(ConfigError, match="file not found"):
        load_config(write(tmp_path, text))


def test_nk_file_in_um_round_trips(tmp_path):
    """A text n,k file in µm keeps its wavelength_unit in config_to_dict (it used to be dropped,
    so the rebuilt config read the µm column as nm)."""
    (tmp_path / "film.txt").write_text("0.5 2.0\n0.6 1.8\n")
    (tmp_path / "c.toml").write_text(
        '[resonator]\nshape = "sphere"\nradius_um = 2.0\nindex = 1.5\n'
        '[[resonator.coating]]\nthickness_um = 0.05\nnk_file = "film.txt"\nwavelength_unit = "um"\n'
        '[search]\nwavelength_nm = [520, 560]\n')
    cfg = load_config(tmp_path / "c.toml")
    again = parse_config(config_to_dict(cfg))
    assert again.resonator.coatings[0].material.n_at(550.0) == cfg.resonator.coatings[0].material.n_at(550.0)


# --------------------------------------------------------------------------------------
# one rule for the material keys of a table, in files and in --set (defect 16)

NC_COATING = BASE.replace("index = 2.0", 'material = "cspbbr3-nc"\nfill_fraction = 0.5\nligand_index = 1.5')


def test_material_kinds_one_rule_file_refuses_set_replaces_with_warning(tmp_path, caplog):
    """A file that gives two kinds of material in one table is refused (no order between them);
    ``--set`` of one kind replaces the other and says what it dropped (it used to drop
    ``material`` and ``fill_fraction`` silently)."""
    both = NC_COATING.replace('material = "cspbbr3-nc"', 'index = 1.7\nmaterial = "cspbbr3-nc"')
    with pytest.raises(ConfigError, match="resonator.coating.0.material = 'cspbbr3-nc': conflicts with "
                                          "resonator.coating.0.index"):
        load_config(write(tmp_path, both))
    with caplog.at_level("WARNING", logger="wgm.config"):
        cfg = load_config(write(tmp_path, NC_COATING), ["resonator.coating.0.index=1.7"])
    assert cfg.resonator.coatings[0].material.n_at(530.0) == 1.7
    (record,) = [r for r in caplog.records if r.name == "wgm.config"]
    assert record.levelname == "WARNING"
    msg = record.getMessage()
    assert "--set resonator.coating.0.index=1.7" in msg
    for dropped in ("resonator.coating.0.material = 'cspbbr3-nc'", "resonator.coating.0.fill_fraction = 0.5",
                    "resonator.coating.0.ligand_index = 1.5"):
        assert dropped in msg


def test_set_another_library_material_drops_nc_parameters_with_warning(tmp_path, caplog):
    with caplog.at_level("WARNING", logger="wgm.config"):
        cfg = load_config(write(tmp_path, NC_COATING), ["resonator.coating.0.material=silica"])
    assert cfg.resonator.coatings[0].material.name == "silica"
    assert "resonator.coating.0.fill_fraction = 0.5" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="wgm.config"):  # same kind, its parameters kept: nothing to say
        cfg = load_config(write(tmp_path, NC_COATING), ["resonator.coating.0.fill_fraction=0.3"])
    assert cfg.resonator.coatings[0].material.fill_fraction == 0.3
    assert not caplog.records


def test_set_value_reports_dropped_keys():
    from wgm.config import set_value

    raw = {"resonator": {"index": 1.5, "extinction": 1e-3}}
    dropped = set_value(raw, ["resonator", "nk_file"], "film.txt", "test")
    assert dropped == {"resonator.index": 1.5, "resonator.extinction": 1e-3}
    assert raw == {"resonator": {"nk_file": "film.txt"}}


# --------------------------------------------------------------------------------------
# files with a byte-order mark (defect 17)


def test_config_with_byte_order_mark_loads(tmp_path):
    """Windows editors save UTF-8 with a BOM; tomllib alone says 'Invalid statement (line 1, column 1)'."""
    p = tmp_path / "bom.toml"
    p.write_bytes(b"\xef\xbb\xbf" + BASE.encode("utf-8"))
    assert load_config(p) == load_config(write(tmp_path, BASE))
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(BASE.replace("index = 1.46", "# r\xe9sonateur\nindex = 1.46").encode("latin-1"))
    with pytest.raises(UserError, match="not a UTF-8 text file"):
        load_config(bad)


# --------------------------------------------------------------------------------------
# one validated description of every table (gain, pump, lasing, sweep) and derived key sets

LASING_TABLES = """
[gain]
region = "coating"
peak_gain_per_cm = 800.0
peak_wavelength_nm = 530.0
[pump]
wavelength_nm = 800.0
[lasing]
m = 28
lifetime_ps = 0.2
"""


def test_gain_pump_lasing_tables_are_parsed(tmp_path):
    from wgm.lasing import parse_gain, parse_lasing, parse_pump

    cfg = load_config(write(tmp_path, BASE + LASING_TABLES))
    import tomllib

    raw = tomllib.loads(LASING_TABLES)
    assert cfg.gain == parse_gain(raw["gain"])
    assert cfg.pump == parse_pump(raw["pump"])
    # [lasing] takes its line from [gain] where it gives none
    assert cfg.lasing == parse_lasing(raw["lasing"], cfg.gain)
    assert cfg.lasing.transition_wavelength_nm == 530.0 and cfg.lasing.full_inversion_gain_per_cm == 800.0
    assert parse_config(config_to_dict(cfg)) == cfg
    plain = load_config(write(tmp_path, BASE))
    assert plain.gain is None and plain.pump is None and plain.lasing is None


@pytest.mark.parametrize("table, match", [
    ("[gain]\npeak_gain_per_cm = -5\n", "gain.peak_gain_per_cm = -5"),
    ("[gain]\npeak_gain = 5\n", "gain.peak_gain = 5: unknown key"),
    ("[pump]\npulse_fs = 0\n", "pump.pulse_fs = 0"),
    ("[lasing]\nlifetime_ps = 1\n", "lasing.m = (missing)"),
    ("[sweep]\nmethod = \"magic\"\n", "sweep.method = 'magic': allowed: 'exact', 'fdtd', 'fem'"),
    ("[sweep]\nvary = 3\n", "sweep.vary = 3"),
    ("[sweep]\nvari = [\"resonator.radius_um=2:3:3\"]\n", "did you mean 'vary'"),
])
def test_bad_gain_pump_lasing_sweep_tables_are_refused_on_load(tmp_path, table, match):
    """Before, load_config ignored these tables: a typo surfaced only in `wgm lasing` / `wgm sweep`."""
    with pytest.raises(ConfigError) as err:
        load_config(write(tmp_path, BASE + table))
    assert match in str(err.value)


def test_allowed_keys_are_the_dataclass_fields(tmp_path):
    """The unknown-key message lists what the table builds: the dataclass's fields."""
    from dataclasses import fields

    from wgm.fdtd.settings import FdtdSettings
    from wgm.model.resonator import Search

    for table, cls in (("fdtd", FdtdSettings), ("search", Search)):
        with pytest.raises(ConfigError) as err:
            load_config(write(tmp_path, BASE), [f"{table}.nonsense=1"])
        assert err.value.allowed.endswith("allowed here: " + ", ".join(sorted(f.name for f in fields(cls))))
    with pytest.raises(ConfigError, match="allowed here: bulk, .*, thickness_um, wavelength_unit"):
        load_config(write(tmp_path, BASE), ["resonator.coating.0.radius_um=1"])


@pytest.mark.parametrize("table, key", [("gain", "gain.region"), ("lasing", "lasing.region")])
def test_region_must_name_a_layer_of_the_resonator(table, key):
    """A [gain]/[lasing] region that names no layer of the resonator is refused at load, with
    its key (before, a bare sphere with ``region = "coating.1"`` loaded and failed later)."""
    raw = {"resonator": {"shape": "sphere", "radius_um": 2.0, "index": 1.45,
                         "coating": [{"thickness_um": 0.05, "index": 1.8}]},
           "search": {"wavelength_nm": [540.0, 560.0]},
           table: {"region": "coating.1", **({"m": 30} if table == "lasing" else {})}}
    with pytest.raises(ConfigError, match="has 1 coating") as exc:
        parse_config(raw)
    assert exc.value.key == key
    raw[table]["region"] = "coating.0"
    parse_config(raw)
