"""The plumbing of the finite-element engine: the ``[fem]`` table, the new Mode fields in every
file format, ``--method`` (engines and pairs), the outputs of ``wgm modes --method fem`` and of
the pairs, and ``wgm sweep --method fem``.

The engine itself is replaced by a fake returning hand-made spectra (the physics of FEM is
tested in tests/fem): here only the bookkeeping around it is checked.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace

import numpy as np
import pytest

from conftest import COATED_SPHERE_TOML
from wgm.cli import main
from wgm.config import Config, config_to_dict, load_config, parse_config
from wgm.errors import ConfigError
from wgm.fem import FemSettings
from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Disk, Pedestal, Resonator, Search, Sphere, Toroid
from wgm.records import (COMPARISON_COLUMNS, CSV_COLUMNS, FieldProfile, MissedMode, Mode, ModeSpectrum,
                         comparison_csv, comparison_rows, match_modes, read_csv_table, read_hdf5_table)

SPHERE_CONFIG = COATED_SPHERE_TOML + """
[search]
wavelength_nm = [560.0, 620.0]
max_radial_order = 1
"""

DISK_CONFIG = """
[resonator]
shape = "disk"
radius_um = 2.5
thickness_um = 0.6
index = 1.46
[search]
wavelength_nm = [560.0, 600.0]
max_radial_order = 1
[fem]
m = [30]
[fdtd]
m = [30]
"""

SHARES = (("core", 0.9), ("coating.0", 0.06), ("surroundings", 0.04))


@pytest.fixture
def sphere_config(tmp_path):
    p = tmp_path / "sphere.toml"
    p.write_text(SPHERE_CONFIG)
    return p


@pytest.fixture
def disk_config(tmp_path):
    p = tmp_path / "disk.toml"
    p.write_text(DISK_CONFIG)
    return p


def fem_mode(pol, m, q, lam, Q, *, l=None, p=0, volume=1.25, shares=SHARES):  # noqa: E741
    return Mode(pol, l, m, q, lam, Q, polar_order=p, mode_volume_um3=volume, energy_shares=shares,
                wavelength_rel_error=2e-7, q_rel_error=1e-4, size_parameter=(30.0, -1e-4))


def profile(mode):
    """A hand-made field on a small (r, z) grid: E_phi peaked at r = 2.3 µm, z = 0."""
    r, z = np.linspace(0.0, 3.0, 31), np.linspace(-0.6, 0.6, 13)
    R, Z = np.meshgrid(r, z, indexing="ij")
    ep = np.exp(-((R - 2.3) / 0.15) ** 2 - (Z / 0.2) ** 2).astype(complex)
    zero = np.zeros_like(ep)
    eps = np.where((R <= 2.5) & (abs(Z) <= 0.3), 1.46 ** 2, 1.0)
    return FieldProfile(mode, r, z, eps, {"Er": zero, "Ep": ep, "Ez": zero, "Hr": zero, "Hp": zero, "Hz": zero},
                        0.0, 0.0)


class FakeFem:
    """Stands for wgm.fem.solve: records its calls, returns ``modes(resonator, search)``."""

    def __init__(self, modes, missing=()):
        self.modes, self.missing, self.calls = modes, missing, []

    def __call__(self, resonator, search, settings=None, *, fields=False):
        assert isinstance(settings, FemSettings)
        self.calls.append((resonator, search, settings, fields))
        modes = tuple(self.modes(resonator, search))
        return ModeSpectrum(resonator, search, "fem", modes, {"wgm": "test", "scikit-fem": "test"},
                            profiles=tuple(profile(md) for md in modes) if fields else (),
                            run_info={"elements": 1234}, missing=self.missing)


def fake_fdtd(modes):
    def solve(resonator, search, settings=None):
        return ModeSpectrum(resonator, search, "fdtd", tuple(modes), {"wgm": "test"})
    return solve


# --------------------------------------------------------------------------------------
# the [fem] table

def test_fem_table_round_trip_writes_only_what_differs(sphere_config):
    text = SPHERE_CONFIG + '[fem]\nm = [28, 29]\norder = 2\ndomain = "full"\nerror_estimate = false\n'
    sphere_config.write_text(text)
    cfg = load_config(sphere_config)
    assert cfg.fem == FemSettings(m=(28, 29), order=2, domain="full", error_estimate=False)
    d = config_to_dict(cfg)
    assert d["fem"] == {"domain": "full", "error_estimate": False, "m": [28, 29], "order": 2}
    assert parse_config(json.loads(json.dumps(d))) == cfg
    assert "fem" not in config_to_dict(replace(cfg, fem=FemSettings()))  # defaults are not written
    assert load_config(sphere_config, ["fem.pml_strength=3"]).fem.pml_strength == 3.0


@pytest.mark.parametrize("table, key, fragment", [
    ("ordr = 2", "fem.ordr", "(did you mean 'order'?); allowed here: accuracy_q, accuracy_wavelength, domain"),
    ("order = 4", "fem.order", "must be 2 or 3"),
    ("m = [-1]", "fem.m", "integers >= 0"),
    ('domain = "half"', "fem.domain", '"auto", "reduced" or "full"'),
    ("pml_um = -1", "fem.pml_um", ""),
])
def test_fem_table_mistakes_name_the_key(sphere_config, table, key, fragment):
    sphere_config.write_text(SPHERE_CONFIG + "[fem]\n" + table + "\n")
    with pytest.raises(ConfigError) as err:
        load_config(sphere_config)
    assert err.value.key == key and fragment in str(err.value)


def test_fem_table_mistake_on_the_command_line_exits_2(sphere_config, capsys):
    assert main(["modes", str(sphere_config), "--set", "fem.order=5"]) == 2
    err = capsys.readouterr().err
    assert "fem.order = 5" in err and err.count("\n") == 1


# --------------------------------------------------------------------------------------
# Mode's new fields in every format

def test_new_mode_fields_round_trip_json_csv_hdf5(tmp_path):
    md = fem_mode("TE", 30, 1, 575.5, 1.2e5, p=1)
    d = md.to_dict()
    assert d["energy_shares"] == {"core": 0.9, "coating.0": 0.06, "surroundings": 0.04}  # an object in JSON
    assert Mode.from_dict(json.loads(json.dumps(d))) == md
    res, search = Resonator(Disk(2.5, 0.6, ConstantIndex(1.46))), Search((560.0, 600.0), 1)
    spec = ModeSpectrum(res, search, "fem", (md, Mode("TM", None, 30, 1, 580.0, 9e4)), {"wgm": "test"})
    (row, plain), = [read_csv_table(spec.to_csv())]
    assert row["energy_shares"] == "core=0.9;coating.0=0.06;surroundings=0.04"
    assert row["polar_order"] == 1 and row["mode_volume_um3"] == 1.25
    new = lambda x: (x.polar_order, x.mode_volume_um3, x.energy_shares)  # noqa: E731
    assert new(Mode.from_dict(row)) == new(md)  # the CSV cells read back (the table has no size_parameter)
    assert plain["energy_shares"] is None and Mode.from_dict(plain).energy_shares is None
    spec.to_hdf5(tmp_path / "m.h5")
    import h5py

    with h5py.File(tmp_path / "m.h5") as f:
        rows = read_hdf5_table(f["modes"])
    assert list(rows[0]) == list(CSV_COLUMNS) and new(Mode.from_dict(rows[0])) == new(md)
    assert ModeSpectrum.from_json(spec.to_json()).modes == spec.modes


def test_files_written_before_the_new_fields_still_read():
    old = {"polarization": "TE", "l": 30, "m": 30, "radial_order": 1, "wavelength_nm": 575.0, "Q": 1e5,
           "fsr_nm": 18.0, "degeneracy": 61, "size_parameter": [32.0, -1e-4], "q_resolved": True, "note": ""}
    md = Mode.from_dict(old)
    assert (md.polar_order, md.mode_volume_um3, md.energy_shares, md.core_energy_share) == (None,) * 4


def test_missing_is_written_for_fem_and_fdtd_only(tmp_path):
    res, search = Resonator(Sphere(2.0, ConstantIndex(1.46))), Search((560.0, 600.0), 1)
    missed = (MissedMode("TM", 30, 30, 1, 580.0, 1e5, "unknown"),)
    for method, has in (("fem", True), ("fdtd", True), ("exact", False)):
        spec = ModeSpectrum(res, search, method, (), {"wgm": "test"}, missing=missed if has else ())
        paths = spec.write(tmp_path / method)
        assert ((tmp_path / method / "missing.csv") in paths) == has
        assert ("missing" in spec.to_dict()) == has
    back = ModeSpectrum.from_json((tmp_path / "fem" / "modes.json").read_text())
    assert back.missing == missed


# --------------------------------------------------------------------------------------
# matching and comparison of any pair

def test_comparison_exact_fdtd_format_is_unchanged():
    """The exact/FDTD comparison.csv keeps its columns (downstream scripts read them)."""
    assert COMPARISON_COLUMNS == (
        "polarization", "l", "m", "radial_order", "wavelength_nm_exact", "wavelength_nm_fdtd",
        "wavelength_rel_diff", "Q_exact", "Q_fdtd", "Q_rel_diff", "fdtd_q_resolved", "wavelength_nm_model",
        "Q_model", "fit_wavelength_rel_diff", "fit_Q_rel_diff", "numerical_wavelength_rel_diff",
        "numerical_Q_rel_diff")
    e, f = Mode("TE", 30, 30, 1, 560.0, 1e5), Mode("TE", 30, 30, 1, 560.1, 0.9e5)
    assert comparison_csv([(e, f)]).splitlines()[0] == ",".join(COMPARISON_COLUMNS)


def test_comparison_of_fem_and_fdtd_names_its_columns_after_them():
    e, f = fem_mode("TE", 30, 1, 580.0, 1e5), Mode("TE", None, 30, 1, 580.29, 0.8e5, q_resolved=False)
    (row,) = comparison_rows([(e, f)], names=("fem", "fdtd"))
    assert row["wavelength_nm_fem"] == 580.0 and row["wavelength_nm_fdtd"] == 580.29
    assert row["Q_fem"] == 1e5 and row["fdtd_q_resolved"] is False
    assert row["wavelength_rel_diff"] == pytest.approx(580.29 / 580.0 - 1, rel=1e-12)
    header = comparison_csv([(e, f)], names=("exact", "fem")).splitlines()[0].split(",")
    assert "wavelength_nm_exact" in header and "Q_fem" in header and "fem_q_resolved" in header


def _spec(method, modes, res=None):
    res = res or Resonator(Disk(2.5, 0.6, ConstantIndex(1.46)))
    return ModeSpectrum(res, Search((560.0, 600.0), 2), method, tuple(modes), {"wgm": "test"})


def test_modes_without_l_match_by_family_and_nearest_wavelength_in_the_window():
    fem = _spec("fem", [fem_mode("TE", 30, 1, 580.0, 1e5), fem_mode("TE", 30, 1, 583.0, 1e4, p=1),
                        fem_mode("TM", 30, 1, 585.0, 1e5), fem_mode("TE", 31, 1, 570.0, 1e5)])
    fdtd = _spec("fdtd", [Mode("TE", None, 30, 1, 582.6, 1e4),    # nearer 583.0 than 580.0
                          Mode("TE", None, 30, 1, 580.2, 1e5),    # 580.0
                          Mode("TM", None, 30, 1, 590.0, 1e5),    # 0.85 % off: outside the 0.5 % window
                          Mode("TE", None, 30, 2, 570.1, 1e5),    # no FEM mode of radial order 2
                          Mode("TE", None, 31, None, 570.0, 1e5)])  # radial order unknown: not matched
    pairs = match_modes(fem, fdtd)
    assert [(r.wavelength_nm, o.wavelength_nm) for r, o in pairs] == [(583.0, 582.6), (580.0, 580.2)]
    # each reference mode once: two FDTD lines near one FEM mode, the nearer one wins
    one = _spec("fem", [fem_mode("TE", 30, 1, 580.0, 1e5)])
    twice = _spec("fdtd", [Mode("TE", None, 30, 1, 580.9, 1e5), Mode("TE", None, 30, 1, 580.1, 1e5)])
    assert [(r.wavelength_nm, o.wavelength_nm) for r, o in match_modes(one, twice)] == [(580.0, 580.1)]
    assert match_modes(one, twice, window_rel=1e-4) == []


def test_sphere_modes_match_by_l_and_m_unless_the_reference_is_exact():
    sphere = Resonator(Sphere(2.0, ConstantIndex(1.46)))
    exact = _spec("exact", [Mode("TE", 30, 30, 1, 580.0, 1e5)], sphere)
    fem = _spec("fem", [fem_mode("TE", 30, 1, 580.001, 1e5, l=30, p=0),
                        fem_mode("TE", 29, 1, 580.002, 1e5, l=30, p=1)], sphere)
    assert len(match_modes(exact, fem)) == 2  # m = 30 and 29 of the l = 30 multiplet
    fdtd = _spec("fdtd", [Mode("TE", 30, 29, 1, 580.01, 1e5)], sphere)
    ((r, o),) = match_modes(fem, fdtd)
    assert r.m == o.m == 29


# --------------------------------------------------------------------------------------
# --method

@pytest.mark.parametrize("value", ["magic", "exact,exact", "exact,fem,fdtd", "fem;fdtd", "both,fem", ""])
def test_bad_method_values_exit_2_with_one_line(sphere_config, capsys, value):
    assert main(["modes", str(sphere_config), "--method", value]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "expected exact, fem, fdtd, both, or a pair" in err


def _toroid_config(monkeypatch, pedestal=False):
    if pedestal:
        res = Resonator(Disk(2.5, 0.6, ConstantIndex(1.46)), pedestal=Pedestal(1.0, 2.0, ConstantIndex(1.46)))
    else:
        res = Resonator(Toroid(3.0, 0.5, ConstantIndex(1.46)))
    cfg = Config(res, Search((560.0, 600.0), 1))
    monkeypatch.setattr("wgm.config.load_config", lambda path, overrides=(): cfg)
    return cfg


@pytest.mark.parametrize("method", ["exact", "exact,fdtd", "fem,exact"])
@pytest.mark.parametrize("pedestal, phrase", [(False, "not a toroid"), (True, "not a disk on a pedestal")])
def test_exact_with_a_shape_it_cannot_do_exits_2_with_one_line(monkeypatch, capsys, method, pedestal, phrase):
    _toroid_config(monkeypatch, pedestal)
    fem = FakeFem(lambda res, search: [])
    monkeypatch.setattr("wgm.fem.solve", fem)
    assert main(["modes", "toroid.toml", "--method", method]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and phrase in err and "use --method fem, fdtd or fem,fdtd" in err
    assert not fem.calls  # refused before any engine ran


def test_exact_solver_names_a_toroid_it_cannot_do():
    """The library refuses too (no AttributeError for a shape without thickness_um)."""
    from wgm.exact.solver import solve

    with pytest.raises(ConfigError) as err:
        solve(Resonator(Toroid(3.0, 0.5, ConstantIndex(1.46))), Search((560.0, 600.0), 1))
    assert err.value.key == "resonator.shape" and "needs --method fem or fdtd" in str(err.value)


# --------------------------------------------------------------------------------------
# wgm modes --method fem, and the pairs

def test_method_fem_writes_modes_plots_fields_and_missing(disk_config, tmp_path, capfd, monkeypatch):
    missed = (MissedMode("TM", 30, 30, 1, 590.0, 1e5, "unknown"),)
    fem = FakeFem(lambda res, search: [fem_mode("TE", 30, 1, 580.0, 1.2e5), fem_mode("TM", 30, 1, 585.0, 9e4)],
                  missed)
    monkeypatch.setattr("wgm.fem.solve", fem)
    out = tmp_path / "out"
    assert main(["modes", str(disk_config), "--method", "fem", "--out", str(out), "--fields"]) == 0
    ((res, search, settings, fields),) = fem.calls
    assert settings == FemSettings(m=(30,)) and fields is True
    text = capfd.readouterr().out
    assert "V_um3" in text and "core_%" in text and "  90.00" in text  # 90 % of the energy in the core
    assert "1 exact mode of the FEM band not found by FEM" in text
    names = {p.name for p in out.iterdir()}
    assert {"modes.json", "modes.csv", "missing.csv", "spectrum.png", "fields.h5"} <= names
    assert len([n for n in names if n.startswith("field_") and n.endswith(".png")]) == 2
    rows = list(csv.DictReader((out / "modes.csv").open()))
    assert rows[0]["energy_shares"] == "core=0.9;coating.0=0.06;surroundings=0.04"
    doc = json.loads((out / "modes.json").read_text())
    assert doc["method"] == "fem" and doc["modes"][0]["mode_volume_um3"] == 1.25
    import h5py

    with h5py.File(out / "fields.h5") as f:
        assert sorted(f) == ["mode_000", "mode_001"] and f["mode_000"]["Ep"].shape == (31, 13)


def test_method_fem_json_and_fields_without_out(disk_config, capfd, monkeypatch):
    """(capfd: with FEM or FDTD the command keeps file descriptor 1 for its result document.)"""
    monkeypatch.setattr("wgm.fem.solve", FakeFem(lambda res, search: [fem_mode("TE", 30, 1, 580.0, 1.2e5)]))
    assert main(["modes", str(disk_config), "--method", "fem", "--json"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert doc["method"] == "fem" and doc["missing"] == [] and doc["run"] == {"elements": 1234}
    assert main(["modes", str(disk_config), "--method", "fem", "--fields"]) == 2
    assert "--fields needs" in capfd.readouterr().err


@pytest.mark.parametrize("method", ["both", "fem,fdtd", "fdtd,fem"])
def test_both_is_fem_fdtd_for_a_finite_disk(disk_config, tmp_path, capfd, monkeypatch, method):
    fem = FakeFem(lambda res, search: [fem_mode("TE", 30, 1, 580.0, 1.2e5), fem_mode("TM", 30, 1, 585.0, 9e4)])
    monkeypatch.setattr("wgm.fem.solve", fem)
    monkeypatch.setattr("wgm.fdtd.solve", fake_fdtd([Mode("TE", None, 30, 1, 580.3, 1.0e5),
                                                     Mode("TM", None, 30, 1, 600.0, 9e4)]))
    out = tmp_path / "out"
    assert main(["modes", str(disk_config), "--method", method, "--out", str(out)]) == 0
    assert len(fem.calls) == 1
    text = capfd.readouterr().out
    assert "1 modes found by both methods (FDTD against FEM)" in text and "fem_nm" in text
    assert (out / "fem" / "modes.json").exists() and (out / "fdtd" / "modes.csv").exists()
    assert (out / "fem" / "missing.csv").exists() and (out / "comparison.png").exists()
    assert not (out / "modes.json").exists()  # no exact solver: nothing of it at the top
    (row,) = list(csv.DictReader((out / "comparison.csv").open()))
    assert float(row["wavelength_nm_fem"]) == 580.0 and float(row["wavelength_nm_fdtd"]) == 580.3
    assert row["l"] == "" and row["fdtd_q_resolved"] == "True"


def test_exact_fem_pair_on_a_sphere(sphere_config, tmp_path, capfd, monkeypatch):
    """exact,fem: the exact solver's files at the top, FEM's in fem/, every FEM mode matched to
    the exact mode of its l (the fake FEM returns the exact modes shifted by 1e-6, and the
    m = l − 1 member of each TE multiplet)."""
    from wgm.exact.solver import solve

    def modes(res, search):
        out = []
        for md in solve(res, search).modes:
            out.append(fem_mode(md.polarization, md.m, 1, md.wavelength_nm * (1 + 1e-6), md.Q, l=md.l, p=0))
            if md.polarization == "TE":
                out.append(fem_mode("TE", md.m - 1, 1, md.wavelength_nm * (1 + 2e-6), md.Q, l=md.l, p=1))
        return out

    monkeypatch.setattr("wgm.fem.solve", FakeFem(modes))
    out = tmp_path / "out"
    assert main(["modes", str(sphere_config), "--method", "fem,exact", "--out", str(out), "--json"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert set(doc) == {"exact", "fem", "comparison"}
    assert len(doc["comparison"]) == len(doc["fem"]["modes"]) > 0
    assert all(abs(r["wavelength_rel_diff"]) < 3e-6 for r in doc["comparison"])
    assert (out / "modes.json").exists() and (out / "fem" / "modes.json").exists()
    header = (out / "comparison.csv").read_text().splitlines()[0].split(",")
    assert header[4:6] == ["wavelength_nm_exact", "wavelength_nm_fem"] and "fem_q_resolved" in header


# --------------------------------------------------------------------------------------
# wgm sweep --method fem

def test_sweep_with_fem_writes_its_table_and_resumes(disk_config, tmp_path, capsys, monkeypatch):
    def modes(res, search):  # a mode whose wavelength follows the radius
        return [fem_mode("TE", 30, 1, 580.0 * res.shape.radius_um / 2.5, 1e5, volume=res.shape.radius_um)]

    fem = FakeFem(modes)
    monkeypatch.setattr("wgm.fem.solve", fem)
    out = tmp_path / "sweep"
    args = ["sweep", str(disk_config), "--method", "fem", "--vary", "resonator.radius_um=2.4:2.6:3", "--out",
            str(out), "--no-plots"]
    assert main(args) == 0
    assert len(fem.calls) == 3 and all(c[3] is False for c in fem.calls)
    rows = list(csv.DictReader((out / "results.csv").open()))
    assert [float(r["wavelength_nm"]) for r in rows] == pytest.approx([556.8, 580.0, 603.2])
    assert [float(r["mode_volume_um3"]) for r in rows] == [2.4, 2.5, 2.6]
    assert rows[0]["energy_shares"] == "core=0.9;coating.0=0.06;surroundings=0.04"
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["sweep"]["method"] == "fem" and meta["counts"]["done"] == 3
    point = json.loads(next((out / "points").glob("*.json")).read_text())
    assert point["spectrum"]["method"] == "fem" and "missing" in point["spectrum"]
    capsys.readouterr()
    assert main(args) == 0  # resumed: nothing computed again
    assert len(fem.calls) == 3
    assert list(csv.DictReader((out / "results.csv").open())) == rows
    # FEM settings belong to the point's identity; FDTD settings do not
    fem_ids = {p["id"] for p in meta["points"]}
    assert main(args + ["--set", "fdtd.m=[31]"]) == 0 and len(fem.calls) == 3
    assert main(args + ["--set", "fem.order=2"]) == 0 and len(fem.calls) == 6
    assert fem_ids.isdisjoint(p["id"] for p in json.loads((out / "sweep.json").read_text())["points"])


def test_sweep_method_mistake_exits_2_with_one_line(disk_config, tmp_path, capsys):
    assert main(["sweep", str(disk_config), "--method", "fem,fdtd", "--vary", "resonator.radius_um=2:3:2",
                 "--out", str(tmp_path / "s")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "a sweep runs one engine: exact, fdtd, fem" in err


def test_fake_engine_q_is_finite():
    """Guard of the fixtures above: the fake modes are ordinary finite-Q modes."""
    assert math.isfinite(fem_mode("TE", 30, 1, 580.0, 1e5).linewidth_nm)


def test_compare_with_measured_peaks_by_fem(disk_config, tmp_path, capfd, monkeypatch):
    """`wgm compare --method fem` assigns measured peaks to the FEM modes (fake engine)."""
    fem = FakeFem(lambda res, search: [fem_mode("TE", 30, 1, 580.0, 1.2e5), fem_mode("TM", 30, 1, 585.0, 9e4)])
    monkeypatch.setattr("wgm.fem.solve", fem)
    peaks = tmp_path / "peaks.csv"
    peaks.write_text("wavelength_nm\n580.05\n584.9\n")
    assert main(["compare", str(peaks), str(disk_config), "--method", "fem", "--json"]) == 0
    doc = json.loads(capfd.readouterr().out)
    assert doc["method"] == "fem" and len(fem.calls) == 1 and doc["model"]["method"] == "fem"
    assert doc["n_assigned"] == 2 and doc["rms_residual_nm"] == pytest.approx(math.sqrt((0.05**2 + 0.1**2) / 2))


def test_api_solve_fem_passes_the_settings_and_fields(monkeypatch):
    import wgm

    fem = FakeFem(lambda res, search: [fem_mode("TE", 30, 1, 580.0, 1.2e5)])
    monkeypatch.setattr("wgm.fem.solve", fem)
    res, search = Resonator(Disk(2.5, 0.6, ConstantIndex(1.46))), Search((560.0, 600.0), 1)
    spec = wgm.solve_fem(res, search, FemSettings(order=2), fields=True)
    assert spec.method == "fem" and len(spec.profiles) == 1
    assert fem.calls[0][2] == FemSettings(order=2) and fem.calls[0][3] is True


def test_sweep_plots_follow_fem_modes_of_each_polar_order(disk_config, tmp_path, capfd, monkeypatch):
    """Finite shapes have no l: a sweep's lines follow (polarization, radial order, m, polar
    order), so the p = 0 and p = 1 modes of one m are two lines, not one zigzag."""
    from wgm import plotting
    from wgm.sweeps import load_sweep, run_sweep

    def modes(res, search):
        s = res.shape.radius_um / 2.5
        return [fem_mode("TE", 30, 1, 580.0 * s, 1e5, p=0), fem_mode("TE", 30, 1, 590.0 * s, 1e4, p=1)]

    monkeypatch.setattr("wgm.fem.solve", FakeFem(modes))
    result = run_sweep(load_sweep(disk_config, ["resonator.radius_um=2.4:2.6:3"], method="fem"), tmp_path)
    lines = plotting._sweep_lines(result.rows(), "resonator.radius_um")
    assert sorted((k[3], [r["wavelength_nm"] for r in pts]) for k, pts in lines.items()) == [
        (0, pytest.approx([556.8, 580.0, 603.2])), (1, pytest.approx([566.4, 590.0, 613.6]))]
    assert (tmp_path / "mode_map.png").exists() and (tmp_path / "q.png").exists()


# Runs `wgm` with wgm.fem.solve replaced by a deterministic fake (a mode following the radius,
# and one missed exact mode): the scheduler and the point files, not FEM, under mpirun.
_FAKE_FEM_MAIN = r"""
import os
import sys
import time
import wgm.fem
from wgm.records import MissedMode, Mode, ModeSpectrum

def fake(res, search, settings=None, *, fields=False):
    # The fake is instant: without a hand-shake rank 0 may finish every point before rank 1
    # has asked for one.  Rank 1 leaves a marker; rank 0 waits for it (its dispatcher thread
    # keeps answering), so both ranks compute whatever the machine's load.
    from wgm import parallel
    if parallel.rank() == 1:
        open(MARKER, "w").close()
    elif parallel.size() > 1:
        t0 = time.monotonic()
        while not os.path.exists(MARKER) and time.monotonic() - t0 < 120:
            time.sleep(0.01)
    lam = 580.0 * res.shape.radius_um / 2.5
    mode = Mode("TE", None, 30, 1, lam, 1e5, polar_order=0, mode_volume_um3=res.shape.radius_um,
                energy_shares=(("core", 0.9), ("surroundings", 0.1)))
    return ModeSpectrum(res, search, "fem", (mode,), {"wgm": "test"},
                        missing=(MissedMode("TM", 30, 30, 1, lam + 5, 1e5, "unknown"),))

MARKER = os.environ["WGM_TEST_MARKER"]
wgm.fem.solve = fake
from wgm.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_mpirun_fem_sweep_identical_to_serial_and_keeps_the_missed_modes(disk_config, tmp_path):
    import os
    import shutil
    import subprocess
    import sys

    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("mpirun not installed")
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg",
           "WGM_TEST_MARKER": str(tmp_path / "rank1_computed")}
    script = tmp_path / "fake_fem_main.py"
    script.write_text(_FAKE_FEM_MAIN)
    args = ["sweep", str(disk_config), "--method", "fem", "--vary", "resonator.radius_um=2.0:3.0:6", "--no-plots",
            "-q", "--out"]
    outs = {}
    for name, prefix in (("serial", []), ("mpi", [mpirun, "-np", "2"])):
        outs[name] = tmp_path / name
        r = subprocess.run([*prefix, sys.executable, str(script), *args, str(outs[name])], capture_output=True,
                           text=True, env=env, timeout=300)
        assert r.returncode == 0, r.stderr[-3000:]
    assert (outs["mpi"] / "results.csv").read_text() == (outs["serial"] / "results.csv").read_text()
    meta = json.loads((outs["mpi"] / "sweep.json").read_text())
    assert {p["rank"] for p in meta["points"]} == {0, 1}  # both ranks computed
    assert [p["n_missing"] for p in meta["points"]] == [1] * 6  # the missed modes crossed the ranks
