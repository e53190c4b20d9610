"""Result records: JSON / CSV / HDF5 round trips and atomic writes."""

from __future__ import annotations

import json
import math

import pytest

from wgm.exact import solver as exact
from wgm.model.materials import ConstantIndex, nanocrystal_film
from wgm.model.resonator import Coating, Resonator, Search, Sphere
from wgm.records import Mode, ModeSpectrum, atomic_write


@pytest.fixture(scope="module")
def spectrum():
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, nanocrystal_film(0.5)),))
    return exact.solve(res, Search((540.0, 600.0), 2))


def test_json_round_trip(spectrum):
    again = ModeSpectrum.from_json(spectrum.to_json())
    assert again.modes == spectrum.modes
    assert again.resonator == spectrum.resonator and again.search == spectrum.search
    json.loads(spectrum.to_json())  # strict JSON: no NaN / Infinity


def test_json_of_very_high_q_is_valid():
    """A 40 µm sphere's TE1 mode has Q ~ 1e105 (finite): strict JSON, read back exactly."""
    res = Resonator(Sphere(40.0, ConstantIndex(1.45)))
    spec = exact.solve(res, Search((530.0, 530.5), 1, ("TE",)))
    assert len(spec.modes) == 1 and math.isfinite(spec.modes[0].Q) and spec.modes[0].Q > 1e30
    d = json.loads(spec.to_json())
    assert d["modes"][0]["Q"] == spec.modes[0].Q
    assert ModeSpectrum.from_json(spec.to_json()).modes == spec.modes


def test_json_of_unbounded_q():
    """An infinite Q is written ``"inf"`` (the one rule: JSON has no infinity) and read back
    as inf; files written before the rule had ``null`` there, which still reads as inf."""
    res = Resonator(Sphere(40.0, ConstantIndex(1.45)))
    mode = Mode("TE", 672, 672, 1, 530.09, math.inf, fsr_nm=None)
    spec = ModeSpectrum(res, Search((530.0, 530.5), 1, ("TE",)), "exact", (mode,), {"wgm": "test"})
    d = json.loads(spec.to_json())
    assert d["modes"][0]["Q"] == "inf" and d["modes"][0]["fsr_nm"] is None
    assert d["modes"][0]["size_parameter"] == [None, None]  # NaN: missing
    again = ModeSpectrum.from_json(spec.to_json()).modes[0]
    assert again.Q == math.inf and again.fsr_nm is None and all(math.isnan(x) for x in again.size_parameter)
    d["modes"][0]["Q"] = None
    assert ModeSpectrum.from_dict(d).modes[0].Q == math.inf


def test_hdf5(spectrum, tmp_path):
    h5py = pytest.importorskip("h5py")
    path = spectrum.to_hdf5(tmp_path / "modes.h5")
    with h5py.File(path) as f:
        assert list(f["modes/wavelength_nm"][:]) == [m.wavelength_nm for m in spectrum.modes]
        assert json.loads(f.attrs["config"])["resonator"]["radius_um"] == 2.0
    assert [p.name for p in tmp_path.iterdir()] == ["modes.h5"]


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    """Interrupted after the data were written but before the rename: the old file stays
    whole and the temporary file is removed."""
    import os

    p = tmp_path / "x.json"
    atomic_write(p, "old")

    def interrupted(fd):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        atomic_write(p, "new" * 1000)
    assert p.read_text() == "old"
    assert [q.name for q in tmp_path.iterdir()] == ["x.json"]


def test_families_and_linewidth(spectrum):
    fams = spectrum.families()
    assert set(fams) <= {"TE1", "TE2", "TM1", "TM2"}
    for fam, modes in fams.items():
        ls = [m.l for m in modes]
        assert ls == sorted(ls)
        wl = [m.wavelength_nm for m in modes]
        assert all(a > b for a, b in zip(wl, wl[1:])), "wavelength falls as l grows within a family"
    m = spectrum.modes[0]
    assert m.linewidth_nm == pytest.approx(m.wavelength_nm / m.Q)


def test_comparison_of_unbounded_q_follows_the_one_rule():
    """An exact/FDTD pair whose Q are both unbounded (a lossless mode): the CSV says ``inf``
    and leaves the undefined relative difference blank, the JSON says ``"inf"`` — before, the
    CSV wrote ``nan`` and ``--method both --json`` ended in a ValueError traceback."""
    from wgm.records import comparison_csv, comparison_rows, json_text

    exact = Mode("TE", 30, 30, 1, 560.0, math.inf)
    fdtd = Mode("TE", 30, 30, 1, 559.9, math.inf, q_resolved=False)
    lines = comparison_csv([(exact, fdtd)]).splitlines()
    row = dict(zip(lines[0].split(","), lines[1].split(",")))
    assert row["Q_exact"] == row["Q_fdtd"] == "inf" and row["Q_rel_diff"] == ""
    assert float(row["wavelength_rel_diff"]) == pytest.approx(559.9 / 560.0 - 1, rel=1e-12)
    doc = json.loads(json_text({"comparison": comparison_rows([(exact, fdtd)])}))
    assert doc["comparison"][0]["Q_exact"] == "inf" and doc["comparison"][0]["Q_rel_diff"] is None
