"""Parameter sweeps: axes, points, the result tables, resuming, failures, sharding, the CLI.

The physics of each point is the exact solver's (tested elsewhere); here every table is
checked against direct calls of that solver, and the bookkeeping (what was computed when)
against the run ids recorded in the point files.
"""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import pytest
from conftest import assert_same_table, meep_or_skip

import wgm.cli as cli
from wgm.config import load_config
from wgm.errors import UserError
from wgm.exact.solver import solve
from wgm.sweeps import PointStore, build_sweep, load_sweep, parse_axis, run_sweep

SIMS = Path(__file__).resolve().parent.parent / "sims"
SILICA = SIMS / "silica_microsphere.toml"  # bare 5 µm silica sphere, 525-545 nm: ~10 ms per point


def _read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def _run_ids(out_dir):
    """point index -> run id of the run that computed it."""
    meta = json.loads((Path(out_dir) / "sweep.json").read_text())
    return {p["point"]: p.get("run_id") for p in meta["points"]}


# --------------------------------------------------------------------------------------
# axes

@pytest.mark.parametrize("text, key, values", [
    ("resonator.radius_um=2:3:5", "resonator.radius_um", (2.0, 2.25, 2.5, 2.75, 3.0)),
    ("resonator.radius_um=2.1:2.1:1", "resonator.radius_um", (2.1,)),
    ("resonator.radius_um=0:0.3:4", "resonator.radius_um", (0.0, 0.1, 0.2, 0.3)),  # 0.1, not 0.1000000000001
    ("resonator.coating.0.thickness_um=0.02,0.05", "resonator.coating.0.thickness_um", (0.02, 0.05)),
    ("resonator.material=silica,cspbbr3", "resonator.material", ("silica", "cspbbr3")),
    ("search.wavelength_nm=[[520, 540], [540, 560]]", "search.wavelength_nm", ([520, 540], [540, 560])),
    ("fdtd.m = [[20], [21]]", "fdtd.m", ([20], [21])),
])
def test_axis_forms(text, key, values):
    a = parse_axis(text)
    assert a.key == key and a.values == values


@pytest.mark.parametrize("text, fragment", [
    ("radius", "expected KEY=START:STOP:N"),
    ("resonator radius=1,2", "dotted config key"),
    ("resonator.radius_um=", "no values"),
    ("resonator.radius_um=2:3:0", "whole number of points"),
    ("resonator.radius_um=2:3:2.5", "whole number of points"),
    ("resonator.radius_um=2:x:3", "finite numbers"),
    ("resonator.radius_um=[1, 2", "not a value"),
])
def test_axis_mistakes(text, fragment):
    with pytest.raises(UserError, match=fragment):
        parse_axis(text)


def _raw():
    return {"resonator": {"shape": "sphere", "radius_um": 2.0, "index": 1.46},
            "search": {"wavelength_nm": [540.0, 560.0], "max_radial_order": 1}}


def test_product_and_zip():
    s = build_sweep(_raw(), ["resonator.radius_um=2,2.5,3", "resonator.index=1.45,1.46"])
    assert len(s.points) == 6
    assert s.points[1].params == {"resonator.radius_um": 2.0, "resonator.index": 1.46}
    assert s.points[1].config.resonator.shape.radius_um == 2.0
    z = build_sweep(_raw(), ["resonator.radius_um=2,2.5", "resonator.index=1.45,1.46"], zip_axes=True)
    assert [p.params["resonator.index"] for p in z.points] == [1.45, 1.46]
    with pytest.raises(UserError, match="equal length"):
        build_sweep(_raw(), ["resonator.radius_um=2,2.5,3", "resonator.index=1.45,1.46"], zip_axes=True)


def test_sweep_table_in_config_and_cli_axis_replaces_it():
    raw = _raw() | {"sweep": {"vary": ["resonator.radius_um=2:3:3"], "method": "exact"}}
    assert [p.params["resonator.radius_um"] for p in build_sweep(raw).points] == [2.0, 2.5, 3.0]
    s = build_sweep(raw, ["resonator.radius_um=4,5"])
    assert [p.params["resonator.radius_um"] for p in s.points] == [4, 5]
    with pytest.raises(UserError, match="sweep.colour"):
        build_sweep(_raw() | {"sweep": {"colour": 1}})
    with pytest.raises(UserError, match="sweep.method"):
        build_sweep(raw | {"sweep": {"vary": ["resonator.radius_um=2"], "method": "magic"}})
    with pytest.raises(UserError, match="nothing to sweep"):
        build_sweep(_raw())


def test_invalid_point_names_point_and_key():
    with pytest.raises(UserError, match=r"sweep point 1 \(resonator.radius_um=-1\).*resonator.radius_um"):
        build_sweep(_raw(), ["resonator.radius_um=2,-1"])
    with pytest.raises(UserError, match="radius_mm"):
        build_sweep(_raw(), ["resonator.radius_mm=2,3"])
    with pytest.raises(UserError, match="same config"):
        build_sweep(_raw(), ["resonator.radius_um=2,2.0"])


def test_point_ids_follow_the_physics():
    a = build_sweep(_raw(), ["resonator.radius_um=2,3"])
    b = build_sweep(_raw() | {"fdtd": {"resolution_px_per_um": 40}}, ["resonator.radius_um=3,2"])
    assert {p.id for p in a.points} == {p.id for p in b.points}  # FDTD settings do not matter for exact
    c = build_sweep(_raw() | {"fdtd": {"resolution_px_per_um": 40}}, ["resonator.radius_um=2,3"], method="fdtd")
    assert not {p.id for p in a.points} & {p.id for p in c.points}


# --------------------------------------------------------------------------------------
# running

def test_tables_match_direct_solves(tmp_path):
    sweep = load_sweep(SILICA, ["resonator.radius_um=4:5:3", "search.max_radial_order=1,2"])
    result = run_sweep(sweep, tmp_path)
    rows = _read_csv(tmp_path / "results.csv")
    assert list(rows[0])[:3] == ["point", "resonator.radius_um", "search.max_radial_order"]
    n = 0
    for p in sweep.points:
        cfg = load_config(SILICA, [f"resonator.radius_um={p.params['resonator.radius_um']}",
                                   f"search.max_radial_order={p.params['search.max_radial_order']}"])
        direct = solve(cfg.resonator, cfg.search).modes
        mine = [r for r in rows if int(r["point"]) == p.index]
        assert len(mine) == len(direct) > 0
        for r, m in zip(mine, direct):
            assert (r["polarization"], int(r["l"]), int(r["radial_order"])) == (m.polarization, m.l, m.radial_order)
            assert float(r["wavelength_nm"]) == m.wavelength_nm and float(r["Q"]) == m.Q
            assert float(r["resonator.radius_um"]) == p.params["resonator.radius_um"]
        n += len(direct)
    assert len(rows) == n == len(result.rows())
    meta = json.loads((tmp_path / "sweep.json").read_text())
    assert meta["counts"] == {"points": 6, "done": 6, "failed": 0, "pending": 0}
    assert all(p["seconds"] > 0 and p["status"] == "done" for p in meta["points"])
    assert meta["sweep"]["axes"][0] == {"key": "resonator.radius_um", "values": [4.0, 4.5, 5.0]}
    for png in ("mode_map.png", "q.png", "fsr.png"):
        assert (tmp_path / png).stat().st_size > 10_000
    import h5py

    with h5py.File(tmp_path / "results.h5") as f:  # the same table in HDF5
        g = f["modes"]
        assert [float(v) for v in g["wavelength_nm"][:]] == [float(r["wavelength_nm"]) for r in rows]
        assert [v.decode() for v in g["polarization"][:]] == [r["polarization"] for r in rows]
        assert list(g["resonator.radius_um"][:]) == [float(r["resonator.radius_um"]) for r in rows]
        assert json.loads(f.attrs["metadata"])["counts"]["done"] == 6


def test_resume_computes_only_what_is_missing(tmp_path, caplog):
    sweep = load_sweep(SILICA, ["resonator.radius_um=4:5:6"])
    run_sweep(sweep, tmp_path, plots=False)
    first_csv = (tmp_path / "results.csv").read_text()
    first = _run_ids(tmp_path)
    assert len(set(first.values())) == 1
    # lose two points (as if the job had been killed before them) and leave a stale temporary file
    store = PointStore(tmp_path)
    for p in sweep.points[1:3]:
        store.path(p.id).unlink()
    (store.dir / f".{sweep.points[4].id}.json.abc.tmp.json").write_text('{"schema": "half')
    with caplog.at_level("INFO", logger="wgm.sweeps"):
        run_sweep(sweep, tmp_path, plots=False)
    assert "4 already done, 2 to do" in caplog.text
    second = _run_ids(tmp_path)
    recomputed = {i for i in second if second[i] != first[0]}
    assert recomputed == {1, 2}
    assert_same_table((tmp_path / "results.csv").read_text(), first_csv)
    # a third run computes nothing; an extended sweep computes only the new radii
    run_sweep(sweep, tmp_path, plots=False)
    assert _run_ids(tmp_path) == second
    wider = load_sweep(SILICA, ["resonator.radius_um=4:5:11"])  # the 6 old radii are among these 11
    with caplog.at_level("INFO", logger="wgm.sweeps"):
        run_sweep(wider, tmp_path, plots=False)
    assert "6 already done, 5 to do" in caplog.text


def test_corrupt_point_file_is_recomputed_with_a_warning(tmp_path, caplog):
    sweep = load_sweep(SILICA, ["resonator.radius_um=4,5"])
    run_sweep(sweep, tmp_path, plots=False)
    expected = (tmp_path / "results.csv").read_text()
    PointStore(tmp_path).path(sweep.points[0].id).write_text("{not json")
    run_sweep(sweep, tmp_path, plots=False)
    assert "unreadable point file" in caplog.text
    assert_same_table((tmp_path / "results.csv").read_text(), expected)


def test_failed_point_is_recorded_and_the_rest_completes(tmp_path):
    # 8 µm is beyond the silica data (210-6700 nm): that point fails, the others are computed
    sweep = load_sweep(SILICA, ['search.wavelength_nm=[[525, 545], [8000, 8050], [600, 620]]'])
    result = run_sweep(sweep, tmp_path, plots=False)
    assert result.counts == {"points": 3, "done": 2, "failed": 1, "pending": 0}
    meta = json.loads((tmp_path / "sweep.json").read_text())
    bad = meta["points"][1]
    assert bad["status"] == "failed" and "6700 nm" in bad["error"] and bad["n_modes"] == 0
    rows = _read_csv(tmp_path / "results.csv")
    assert {r["point"] for r in rows} == {"0", "2"}
    # resuming does not retry a failed point unless asked
    again = run_sweep(sweep, tmp_path, plots=False)
    assert _run_ids(tmp_path)[1] == bad["run_id"] and again.counts["failed"] == 1
    run_sweep(sweep, tmp_path, plots=False, retry_failed=True)
    assert _run_ids(tmp_path)[1] != bad["run_id"]


def test_shards_split_the_points_and_a_plain_run_completes(tmp_path):
    sweep = load_sweep(SILICA, ["resonator.radius_um=4:5:5"])
    r0 = run_sweep(sweep, tmp_path, shard=(0, 2), plots=False)
    assert r0.counts == {"points": 5, "done": 3, "failed": 0, "pending": 2}
    run_sweep(sweep, tmp_path, shard=(1, 2), plots=False)
    ids = _run_ids(tmp_path)
    assert len({ids[0], ids[2], ids[4]}) == 1 and len({ids[1], ids[3]}) == 1 and ids[0] != ids[1]
    final = run_sweep(sweep, tmp_path, plots=False)
    assert final.counts["done"] == 5 and _run_ids(tmp_path) == ids  # nothing recomputed


def test_two_axes_plot_one_panel_per_value(tmp_path):
    sweep = load_sweep(SILICA, ["resonator.radius_um=4:5:3", "resonator.index=1.45,1.47"])
    run_sweep(sweep, tmp_path)
    assert (tmp_path / "mode_map.png").stat().st_size > 10_000


# --------------------------------------------------------------------------------------
# the command line

def test_cli_sweep(tmp_path, capfd):
    out = tmp_path / "s"
    code = cli.main(["sweep", str(SILICA), "--vary", "resonator.radius_um=4,5", "--out", str(out), "-q"])
    assert code == 0
    printed = capfd.readouterr()  # the summary goes to file descriptor 1 (Meep's output is moved to 2)
    assert "2 done, 0 failed" in printed.out and printed.err == ""
    assert len(_read_csv(out / "results.csv")) > 0


def test_cli_progress_lines(tmp_path, caplog):
    with caplog.at_level("INFO", logger="wgm.sweeps"):
        cli.main(["sweep", str(SILICA), "--vary", "resonator.radius_um=4,5", "--out", str(tmp_path)])
    err = caplog.text
    assert "[1/2] point 0 (resonator.radius_um=4)" in err and "[2/2]" in err and "ETA" in err


def test_cli_failed_points_exit_1(tmp_path, capsys):
    code = cli.main(["sweep", str(SILICA), "--vary", "search.wavelength_nm=[[525, 545], [8000, 8050]]",
                     "--out", str(tmp_path), "-q"])
    assert code == 1
    assert "1 points failed" in capsys.readouterr().err


@pytest.mark.parametrize("extra, fragment", [
    (["--vary", "resonator.radius_um=4:5:x"], "whole number of points"),
    (["--vary", "resonator.radius_um=4,-5"], "sweep point 1"),
    (["--vary", "resonator.radius_um=4,5", "--shard", "2/2"], "0 <= I < N"),
    (["--vary", "resonator.radius_um=4,5", "--shard", "a"], "expected I/N"),
    (["--vary", "resonator.radius_um=4,5", "--procs-per-sim", "2"], "needs at least 2 MPI ranks"),
    ([], "nothing to sweep"),
])
def test_cli_mistakes_exit_2(tmp_path, capsys, extra, fragment):
    code = cli.main(["sweep", str(SILICA), "--out", str(tmp_path / "o"), *extra])
    err = capsys.readouterr().err
    assert code == 2 and fragment in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_interrupted_write_leaves_no_partial_file(tmp_path, monkeypatch):
    """An exception while a point file is written (disk full, kill) leaves no file behind."""
    sweep = load_sweep(SILICA, ["resonator.radius_um=4"])
    import wgm.records.files as results

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(results.os, "fsync", boom)
    with pytest.raises(OSError):
        run_sweep(sweep, tmp_path, plots=False)
    assert [f.name for f in (tmp_path / "points").iterdir()] == []


def test_cli_retry_failed_recomputes_only_with_the_flag(tmp_path, capsys):
    """``--retry-failed`` reaches the sweep: the failed point is computed again with it, not without."""
    args = ["sweep", str(SILICA), "--vary", "search.wavelength_nm=[[525, 545], [8000, 8050]]",
            "--out", str(tmp_path), "-q", "--no-plots"]
    assert cli.main(args) == 1
    first = _run_ids(tmp_path)
    assert cli.main(args) == 1  # resumed: nothing recomputed
    assert _run_ids(tmp_path) == first
    assert cli.main([*args, "--retry-failed"]) == 1  # the point fails again, but in this run
    again = _run_ids(tmp_path)
    assert again[1] != first[1] and again[0] == first[0]  # only the failed point
    capsys.readouterr()


# --------------------------------------------------------------------------------------
# point ids: n,k files by content, code versions; self-contained point files

NK_CONFIG = """
[resonator]
shape = "sphere"
radius_um = 4.0
nk_file = "glass_nk.txt"
[search]
wavelength_nm = [525.0, 545.0]
max_radial_order = 1
"""
NK_TABLE = "# wavelength_nm n k\n500 1.4630 0\n550 1.4600 0\n600 1.4580 0\n"


def _nk_project(where: Path) -> Path:
    where.mkdir(parents=True)
    (where / "glass_nk.txt").write_text(NK_TABLE)
    (where / "c.toml").write_text(NK_CONFIG)
    return where / "c.toml"


def test_moved_project_reuses_its_points(tmp_path, caplog):
    config = _nk_project(tmp_path / "a")
    run_sweep(load_sweep(config, ["resonator.radius_um=4,4.5"]), tmp_path / "a" / "out", plots=False)
    first = _run_ids(tmp_path / "a" / "out")
    (tmp_path / "a").rename(tmp_path / "b")  # the n,k file's absolute path changes, its data do not
    moved = load_sweep(tmp_path / "b" / "c.toml", ["resonator.radius_um=4,4.5"])
    with caplog.at_level("INFO", logger="wgm.sweeps"):
        run_sweep(moved, tmp_path / "b" / "out", plots=False)
    assert "2 already done, 0 to do" in caplog.text
    assert _run_ids(tmp_path / "b" / "out") == first


def test_edited_nk_file_recomputes(tmp_path):
    config = _nk_project(tmp_path / "p")
    out = tmp_path / "p" / "out"
    run_sweep(load_sweep(config, ["resonator.radius_um=4,4.5"]), out, plots=False)
    before = _read_csv(out / "results.csv")
    first = _run_ids(out)
    (tmp_path / "p" / "glass_nk.txt").write_text(NK_TABLE.replace("1.4600", "1.4700"))
    run_sweep(load_sweep(config, ["resonator.radius_um=4,4.5"]), out, plots=False)
    after = _read_csv(out / "results.csv")
    assert all(_run_ids(out)[i] != first[i] for i in (0, 1))  # new data, new points
    assert float(after[0]["wavelength_nm"]) != float(before[0]["wavelength_nm"])


def test_point_file_reloads_without_the_nk_file(tmp_path):
    from wgm.sweeps import PointResult

    config = _nk_project(tmp_path / "p")
    sweep = load_sweep(config, ["resonator.radius_um=4"])
    result = run_sweep(sweep, tmp_path / "out", plots=False)
    (tmp_path / "p" / "glass_nk.txt").unlink()
    text = PointStore(tmp_path / "out").path(sweep.points[0].id).read_text()
    rec = PointResult.from_dict(json.loads(text))
    original = result.results[0].spectrum
    assert rec.status == "done" and rec.spectrum.modes == original.modes
    mat = rec.spectrum.resonator.shape.material
    assert mat == original.resonator.shape.material  # the same table, name and source path
    assert mat.n_at(550.0) == pytest.approx(1.46, abs=1e-12)


_DATA = Path(__file__).resolve().parents[1] / "wgm" / "data"


@pytest.mark.parametrize("name, text, extra", [
    ("ps.yml", (_DATA / "PS_Sultanova.yml").read_text(encoding="utf-8"), ""),   # a formula file
    ("glass_um.txt", "0.500 1.4630\n0.550 1.4600\n0.600 1.4580\n", 'wavelength_unit = "um"\n'),
], ids=["formula-yml", "table-in-um"])
def test_every_kind_of_nk_file_sweeps_moves_and_reloads(tmp_path, caplog, name, text, extra):
    """A refractiveindex.info formula file and a table in µm, like a table in nm: the sweep
    runs, a moved project reuses its points, and a point reloads without the file (before: a
    formula file ended the sweep in a KeyError)."""
    from wgm.sweeps import PointResult

    project = tmp_path / "a"
    project.mkdir()
    (project / name).write_text(text, encoding="utf-8")
    (project / "c.toml").write_text(NK_CONFIG.replace('nk_file = "glass_nk.txt"\n', f'nk_file = "{name}"\n{extra}'))
    result = run_sweep(load_sweep(project / "c.toml", ["resonator.radius_um=4,4.5"]), project / "out", plots=False)
    assert result.counts["done"] == 2
    first = _run_ids(project / "out")
    project.rename(tmp_path / "b")
    moved = load_sweep(tmp_path / "b" / "c.toml", ["resonator.radius_um=4,4.5"])
    with caplog.at_level("INFO", logger="wgm.sweeps"):
        run_sweep(moved, tmp_path / "b" / "out", plots=False)
    assert "2 already done, 0 to do" in caplog.text and _run_ids(tmp_path / "b" / "out") == first
    (tmp_path / "b" / name).unlink()
    rec = PointResult.from_dict(json.loads(PointStore(tmp_path / "b" / "out").path(moved.points[0].id).read_text()))
    original = result.results[0].spectrum
    assert rec.spectrum.modes == original.modes
    assert rec.spectrum.resonator.shape.material.n_at(540.0) == original.resonator.shape.material.n_at(540.0)


def test_point_ids_follow_the_code_versions(monkeypatch):
    import wgm
    from wgm.fdtd import meep_model

    meep_or_skip()
    mp = meep_model.meep()
    raw = _raw() | {"fdtd": {"m": [20]}}
    exact, fdtd = build_sweep(raw, ["resonator.radius_um=2"]), build_sweep(raw, ["resonator.radius_um=2"],
                                                                          method="fdtd")
    monkeypatch.setattr(mp, "__version__", "0.0-test")
    assert build_sweep(raw, ["resonator.radius_um=2"], method="fdtd").points[0].id != fdtd.points[0].id
    assert build_sweep(raw, ["resonator.radius_um=2"]).points[0].id == exact.points[0].id  # no Meep in exact
    monkeypatch.setattr(wgm, "__version__", "0.0-test")
    assert build_sweep(raw, ["resonator.radius_um=2"]).points[0].id != exact.points[0].id


@pytest.mark.parametrize("points_dir_exists", [False, True], ids=["out-read-only", "points-read-only"])
def test_cli_unwritable_out_is_one_line_exit_2(points_dir_exists):
    """A --out directory the user may not write in (someone else's project): one line, exit 2,
    before any point is computed.  Root writes everywhere, so as root the run drops to nobody."""
    import os
    import shutil
    import subprocess
    import sys
    import tempfile

    root = Path(tempfile.mkdtemp(prefix="wgm-ro-"))  # not under pytest's 0700 tmp: nobody must reach it
    try:
        root.chmod(0o755)
        shutil.copy(SILICA, root / "c.toml")
        (root / "mpl").mkdir(mode=0o777)
        (root / "mpl").chmod(0o777)
        out = root / "out"
        (out / "points").mkdir(parents=True) if points_dir_exists else out.mkdir()
        for d in (out / "points", out):
            if d.exists():
                d.chmod(0o555)
        # nobody may not reach the checkout (e.g. under /root, mode 0700): give it a readable copy
        # of the package and the interpreter's real path (no venv directory to traverse)
        shutil.copytree(Path(cli.__file__).resolve().parents[1], root / "pkg" / "wgm",
                        ignore=shutil.ignore_patterns("__pycache__"))
        cmd = [os.path.realpath(sys.executable), "-m", "wgm", "sweep", str(root / "c.toml"), "--vary",
               "resonator.radius_um=4,5", "--out", str(out), "-q"]
        if os.geteuid() == 0:
            if shutil.which("setpriv") is None:
                pytest.skip("running as root without setpriv: cannot make a directory unwritable")
            cmd = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *cmd]
        env = {**os.environ, "PYTHONPATH": str(root / "pkg"), "MPLCONFIGDIR": str(root / "mpl"), "MPLBACKEND": "Agg"}
        r = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=300, cwd=root)
        assert r.returncode == 2, r.stderr
        assert r.stderr.startswith(f"wgm: error: --out {out}: cannot") and "Permission denied" in r.stderr
        assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
        assert not list((out / "points").glob("*")) if points_dir_exists else not (out / "points").exists()
    finally:
        for d in (root / "out" / "points", root / "out"):
            if d.exists():
                d.chmod(0o755)
        shutil.rmtree(root)


def test_progress_eta_is_the_cost_left_at_the_throughput_so_far(caplog):
    """Costs 1 and 3 (arbitrary units): the costly point done after 6 s leaves cost 1 at 0.5 per s."""
    from wgm.sweeps import PointResult, _Progress

    now = [100.0]
    progress = _Progress({0: 1.0, 1: 3.0}, clock=lambda: now[0])
    assert math.isnan(progress.eta_s())
    now[0] = 106.0
    with caplog.at_level("INFO", logger="wgm.sweeps"):
        progress.done(PointResult(1, "id1", {"x": 2}, "failed", None, "boom", 6.0))
    assert progress.eta_s() == pytest.approx(2.0, rel=1e-12)
    assert "[1/2] point 1 (x=2): FAILED: boom; 6.0 s on rank 0; ETA 0:00:02" in caplog.text
    progress.done(PointResult(0, "id0", {"x": 1}, "failed", None, "boom", 1.0))
    assert progress.eta_s() == 0.0


def test_point_summary_counts_the_modes_an_fdtd_run_missed():
    """sweep.json's point summaries say how many exact modes an FDTD point did not report (the
    point file holds them with their reasons): a sweep does not hide misses either."""
    from wgm.model.materials import ConstantIndex
    from wgm.model.resonator import Resonator, Search, Sphere
    from wgm.records import MissedMode, Mode, ModeSpectrum
    from wgm.sweeps import PointResult

    res, search = Resonator(Sphere(2.0, ConstantIndex(1.46))), Search((540.0, 600.0), 1)
    missed = (MissedMode("TM", 29, 29, 1, 552.0, 6.7e3, "amplitude-cut", ""),)
    spec = ModeSpectrum(res, search, "fdtd", (Mode("TE", 30, 29, 1, 565.0, 2.3e4),), {"wgm": "test"}, missing=missed)
    summary = PointResult(0, "id", {"resonator.radius_um": 2.0}, "done", spec).summary()
    assert summary["n_modes"] == 1 and summary["n_missing"] == 1
    back = PointResult.from_dict(json.loads(json.dumps(PointResult(0, "id", {}, "done", spec).to_dict())))
    assert back.spectrum.missing == missed
