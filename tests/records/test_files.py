"""Result files: permissions, the one non-finite rule, the one HDF5 table writer."""

from __future__ import annotations

import json
import math
import os
import stat

import numpy as np
import pytest

from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Resonator, Search, Sphere
from wgm.records import Mode, ModeSpectrum, atomic_write


def hand_spectrum() -> ModeSpectrum:
    """Two modes built by hand (no solver): one with an unbounded Q and no FSR."""
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)))
    modes = (Mode("TE", 20, 20, 1, 580.0, 1.0e5, fsr_nm=12.0, degeneracy=41),
             Mode("TM", 19, 19, 2, 560.0, float("inf"), degeneracy=39, q_resolved=False, note="lower bound"))
    return ModeSpectrum(res, Search((540.0, 600.0), 2), "exact", modes, {"wgm": "test"})


@pytest.fixture
def umask():
    """Set a umask for one test and restore the previous one afterwards."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask", [0o022, 0o002, 0o077])
def test_result_files_get_the_umask_permissions(umask, mask, tmp_path):
    """Defect 3: files were always 0600 (mkstemp's mode kept by the rename), so a shared
    project directory could not read them.  A result file gets 0666 & ~umask, like any new
    file, whichever writer makes it (text, HDF5, PNG)."""
    umask(mask)
    expected = 0o666 & ~mask
    text = tmp_path / "modes.json"
    atomic_write(text, "{}")
    h5 = hand_spectrum().to_hdf5(tmp_path / "modes.h5")
    from wgm import plotting

    png = plotting.save(plotting.spectrum_figure(hand_spectrum()), tmp_path / "spectrum.png")
    for p in (text, h5, png):
        assert stat.S_IMODE(p.stat().st_mode) == expected, (p.name, oct(p.stat().st_mode))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["modes.h5", "modes.json", "spectrum.png"]  # no temporaries


def test_replacing_a_file_keeps_the_new_permissions(umask, tmp_path):
    """An existing 0600 file (written by an old version) is replaced by one with the umask's mode."""
    p = tmp_path / "x.csv"
    p.write_text("old")
    p.chmod(0o600)
    umask(0o022)
    atomic_write(p, "new")
    assert p.read_text() == "new" and stat.S_IMODE(p.stat().st_mode) == 0o644



# --------------------------------------------------------------------------------------
# one rule for non-finite floats: NaN is missing (None), ±inf is a value

TABLE_COLUMNS = ("name", "count", "value", "flag", "extra")
TABLE = [
    {"name": "a", "count": 3, "value": 1.25, "flag": True, "extra": [1.0, math.inf]},
    {"name": "b", "count": None, "value": math.inf, "flag": False, "extra": None},
    {"name": "c", "count": 5, "value": -math.inf, "flag": True, "extra": {"x": math.nan}},
    {"name": "d", "count": 7, "value": math.nan, "flag": False, "extra": "text"},
    {"name": "e", "count": 9, "value": None, "flag": True, "extra": ""},
    {"name": "f", "count": 11, "value": np.float64(0.1), "flag": False, "extra": None},
]


def _expected(column):
    """The column read back by the rule: NaN → None, ±inf kept, numpy scalars as Python."""
    out = []
    for row in TABLE:
        v = row[column]
        v = v.item() if isinstance(v, np.generic) else v
        out.append(None if isinstance(v, float) and math.isnan(v) else v)
    return out


def test_rule_in_json():
    from wgm.records import json_text, restore_floats

    text = json_text({"rows": TABLE})
    assert "NaN" not in text and "Infinity" not in text
    back = restore_floats(json.loads(text))["rows"]
    for c in ("name", "count", "value", "flag"):
        assert [r[c] for r in back] == _expected(c), c
    assert back[0]["extra"] == [1.0, math.inf] and back[2]["extra"] == {"x": None}
    assert json.loads(text)["rows"][1]["value"] == "inf" and json.loads(text)["rows"][2]["value"] == "-inf"


def test_rule_in_csv():
    from wgm.records import csv_table, read_csv_table

    text = csv_table(TABLE_COLUMNS, TABLE)
    lines = text.splitlines()
    assert lines[2].split(",")[:3] == ["b", "", "inf"] and lines[4].split(",")[2] == ""  # inf written, NaN blank
    back = read_csv_table(text)
    for c in ("name", "count", "value", "flag"):
        assert [r[c] for r in back] == _expected(c), c
    assert repr(back[5]["value"]) == "0.1"  # full precision, numpy scalar as its Python value


def test_rule_in_hdf5(tmp_path):
    h5py = pytest.importorskip("h5py")
    from wgm.records import read_hdf5_table, write_hdf5

    path = write_hdf5(tmp_path / "t.h5", {"table": (TABLE_COLUMNS, TABLE)}, {"note": "x", "meta": {"q": math.inf}})
    with h5py.File(path) as f:
        assert f["table/value"].dtype.kind == "f" and f["table/flag"].dtype == bool
        assert list(f["table/value"][:3]) == [1.25, np.inf, -np.inf]
        assert f.attrs["note"] == "x" and json.loads(f.attrs["meta"]) == {"q": "inf"}
        back = read_hdf5_table(f["table"])
    assert list(back[0]) == list(TABLE_COLUMNS)  # column order kept
    for c in ("name", "count", "value", "flag"):
        expected = _expected(c)
        if c == "count":
            expected = [None if v is None else float(v) for v in expected]  # number columns are float
        assert [r[c] for r in back] == expected, c
    assert [r["extra"] for r in back] == ["[1.0, \"inf\"]", None, '{"x": null}', "text", None, None]


def test_mode_spectrum_and_sweep_share_the_hdf5_writer(tmp_path):
    """ModeSpectrum.to_hdf5 writes the table by the rule: an unbounded Q stays inf, a missing
    FSR is NaN, and the table reads back with the generic reader."""
    h5py = pytest.importorskip("h5py")
    from wgm.records import CSV_COLUMNS, read_hdf5_table

    spec = hand_spectrum()
    with h5py.File(spec.to_hdf5(tmp_path / "m.h5")) as f:
        rows = read_hdf5_table(f["modes"])
        assert json.loads(f.attrs["config"])["resonator"]["radius_um"] == 2.0 and f.attrs["method"] == "exact"
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["Q"] for r in rows] == [1.0e5, math.inf]
    assert [r["fsr_nm"] for r in rows] == [12.0, None]
    assert [r["polarization"] for r in rows] == ["TE", "TM"] and [r["q_resolved"] for r in rows] == [True, False]


def test_with_finite_floats_has_one_rule():
    from wgm.records import with_finite_floats

    assert with_finite_floats({"a": (math.nan, math.inf, -math.inf, 1.5)}) == {"a": [None, "inf", "-inf", 1.5]}
    with pytest.raises(TypeError):  # no second rule to choose
        with_finite_floats([1.0], "null")
