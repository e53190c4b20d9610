"""The `wgm` command: output contract, files, exit status 2 for user mistakes."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import COATED_SPHERE_TOML
from wgm.cli import main

ROOT = Path(__file__).parent.parent
SIMS = sorted((ROOT / "sims").glob("*.toml"))
CONFIG = COATED_SPHERE_TOML + """
[search]
wavelength_nm = [560.0, 620.0]
max_radial_order = 2
"""


@pytest.fixture
def config(tmp_path):
    p = tmp_path / "c.toml"
    p.write_text(CONFIG)
    return p


def test_json_contract(config, capsys):
    assert main(["modes", str(config), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["method"] == "exact"
    modes = out["modes"]
    assert modes
    for m in modes:
        assert m["polarization"] in ("TE", "TM")
        assert isinstance(m["l"], int) and isinstance(m["m"], int) and 1 <= m["radial_order"] <= 2
        assert 560 <= m["wavelength_nm"] <= 620 and m["Q"] > 0
    te1 = [m for m in modes if m["polarization"] == "TE" and m["radial_order"] == 1 and m["l"] == 29]
    assert round(te1[0]["wavelength_nm"], 1) == 599.9  # notes §0
    assert out["config"]["resonator"]["radius_um"] == 2.0


def test_set_changes_the_result(config, capsys):
    main(["modes", str(config), "--json"])
    base = json.loads(capsys.readouterr().out)["modes"]
    main(["modes", str(config), "--json", "--set", "resonator.coating.0.thickness_um=0.03"])
    thinner = json.loads(capsys.readouterr().out)
    assert thinner["config"]["resonator"]["coating"][0]["thickness_um"] == 0.03
    assert [m["wavelength_nm"] for m in thinner["modes"]] != [m["wavelength_nm"] for m in base]


def test_out_writes_json_csv_png(config, tmp_path, capsys):
    out = tmp_path / "res"
    assert main(["modes", str(config), "--out", str(out)]) == 0
    data = json.loads((out / "modes.json").read_text())
    rows = list(csv.DictReader((out / "modes.csv").open()))
    assert len(rows) == len(data["modes"]) > 0
    assert float(rows[0]["wavelength_nm"]) == pytest.approx(data["modes"][0]["wavelength_nm"], rel=1e-15)
    assert (out / "spectrum.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob(".*tmp")), "temporary files left behind"
    assert "modes of the sphere" in capsys.readouterr().out


def test_readable_table(config, capsys):
    assert main(["modes", str(config)]) == 0
    out = capsys.readouterr().out
    assert "wavelength_nm" in out and "TE" in out


@pytest.mark.parametrize("path", SIMS, ids=[p.name for p in SIMS])
def test_every_sim_runs(path, capsys):
    """Exact-solver configs run here; finite disks and rings (FEM or FDTD only) must say so."""
    from wgm.config import load_config

    cfg = load_config(path)
    if cfg.resonator.kind != "sphere" and not cfg.resonator.is_2d:
        assert main(["modes", str(path)]) == 2
        assert "use --method fem, fdtd or fem,fdtd" in capsys.readouterr().err
        return
    assert main(["modes", str(path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["modes"]


BAD_RUNS = [
    (["--set", "resonator.radius_um=-1"], "resonator.radius_um = -1.0"),
    (["--set", "resonator.radus_um=1"], "did you mean 'radius_um'"),
    (["--set", "surroundings.index=1.6", "--set", "resonator.coating.0.index=1.5"], "surroundings.index = 1.6"),
    (["--set", "resonator.coating.0.material=cspbbr3-ermolaev-o", "--set", "search.wavelength_nm=[450,520]"],
     "data cover 500–949 nm"),
    (["--set", "resonator.shape=disk", "--set", "resonator.thickness_um=0.3"],
     "not a finite disk; use --method fem, fdtd or fem,fdtd"),
    (["--set", "nonsense"], "expected KEY=VALUE"),
]


@pytest.mark.parametrize("extra, fragment", BAD_RUNS, ids=[b[1][:30] for b in BAD_RUNS])
def test_user_mistakes_exit_2_with_one_line(config, capsys, extra, fragment):
    assert main(["modes", str(config)] + extra) == 2
    err = capsys.readouterr().err
    assert fragment in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_missing_and_malformed_files_via_console_script(tmp_path):
    """The installed entry point: exit 2, one line, no traceback (subprocess: the real thing)."""
    bad = tmp_path / "bad.toml"
    bad.write_text("[resonator\n")
    for args, fragment in ((["modes", str(tmp_path / "none.toml")], "not found"),
                           (["modes", str(bad)], "malformed TOML")):
        r = subprocess.run([sys.executable, "-m", "wgm", *args], capture_output=True, text=True)
        assert r.returncode == 2
        assert fragment in r.stderr and "Traceback" not in r.stderr
        assert r.stdout == ""


def test_unknown_method_exits_2_with_one_line(config):
    """--method is checked by wgm (not argparse's two-line usage message): one line, exit 2."""
    r = subprocess.run([sys.executable, "-m", "wgm", "modes", str(config), "--method", "magic"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1
    assert "--method 'magic': expected exact, fem, fdtd, both, or a pair" in r.stderr


def test_materials_command(capsys):
    assert main(["materials"]) == 0
    assert "silica" in capsys.readouterr().out
    assert main(["materials", "silica", "--wavelength-nm", "532"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["n"] == pytest.approx(1.46071, abs=2e-5)
    assert main(["materials", "unobtainium"]) == 2


def test_hpc_modes_script(tmp_path):
    """hpc/modes.sbatch is a plain bash script too: run it as Slurm would (without Slurm)."""
    import os
    import shutil

    wgm_exe = Path(sys.executable).parent / "wgm"
    if not wgm_exe.exists():
        found = shutil.which("wgm")
        if found is None:
            pytest.skip("the wgm console script is not installed")
        wgm_exe = Path(found)
    out = tmp_path / "run"
    r = subprocess.run(["bash", str(ROOT / "hpc" / "modes.sbatch"), str(ROOT / "sims" / "silica_microsphere.toml"),
                        str(out), "--set", "search.max_radial_order=1"],
                       capture_output=True, text=True, cwd=ROOT, env={**os.environ, "WGM": str(wgm_exe)})
    assert r.returncode == 0, r.stderr
    modes = json.loads((out / "modes.json").read_text())["modes"]
    assert modes and all(m["radial_order"] == 1 for m in modes)
    r = subprocess.run(["bash", str(ROOT / "hpc" / "modes.sbatch")], capture_output=True, text=True)
    assert r.returncode == 2 and "usage" in r.stderr


def test_method_exact_fdtd_refuses_a_finite_shape_before_any_fdtd(capfd):
    """exact,fdtd needs the exact solver: a finite disk is refused at once (exit 2, one line).
    (--method both is fem,fdtd for such a shape: tests/test_cli_fem.py.)"""
    assert main(["modes", str(ROOT / "sims" / "microdisk.toml"), "--method", "exact,fdtd"]) == 2
    err = capfd.readouterr().err
    assert "--method exact,fdtd: the exact solver does spheres and the 2-D limit only, not a finite disk" in err
    assert err.count("\n") == 1


# --------------------------------------------------------------------------------------
# under mpirun: one result document, files written by the I/O rank only

# Runs `wgm` with an audit hook that reports, per rank, every file opened for writing (and
# every directory made) under --out: whatever module does the writing, it is seen.
_SPY = r"""
import os, sys
out = os.path.abspath(sys.argv[sys.argv.index("--out") + 1])
rank = os.environ.get("OMPI_COMM_WORLD_RANK", "?")
WRITE = os.O_WRONLY | os.O_RDWR | os.O_CREAT

def hook(event, args):
    if event == "open" and isinstance(args[0], (str, bytes, os.PathLike)):
        mode, flags = args[1], args[2]
        writes = any(c in mode for c in "wax+") if mode else bool(flags & WRITE)
    elif event == "os.mkdir":
        writes = True
    else:
        return
    path = os.path.abspath(os.fsdecode(args[0]))
    if writes and path.startswith(out):
        sys.stderr.write(f"SPY rank {rank} writes {path}\n")

sys.addaudithook(hook)
from wgm.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_mpirun_compare_fdtd_one_json_document_written_by_rank_0(tmp_path):
    """`wgm compare --method fdtd` under `mpirun -np 2` (Meep splits the cell over both ranks):
    stdout holds exactly one JSON document and only rank 0 writes into --out."""
    import os
    import shutil

    mpirun = shutil.which("mpirun")
    if mpirun is None:
        pytest.skip("mpirun not installed")
    peaks = tmp_path / "peaks.txt"
    # the two modes of this 1 µm disk at m = 10 (FDTD, 2 s); the band they span crosses the
    # film's absorption edge (no Lorentz fit holds it): materials at the band centre
    peaks.write_text("533.6\n587.1\n")
    out = tmp_path / "res"
    env = {**os.environ, "OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1",
           "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg", "PYTHONPATH": str(ROOT)}
    r = subprocess.run([mpirun, "-np", "2", sys.executable, "-c", _SPY, "compare", str(peaks),
                        str(ROOT / "sims" / "disk_2d.toml"), "--method", "fdtd", "--set", "fdtd.m=[10]",
                        "--set", "resonator.radius_um=1.0", "--set", 'fdtd.materials="band-centre"',
                        "--json", "--out", str(out)],
                       capture_output=True, text=True, env=env, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    doc, end = json.JSONDecoder().raw_decode(r.stdout)
    assert r.stdout[end:].strip() == "", "more than one document on stdout"
    assert doc["command"] == "compare" and doc["method"] == "fdtd" and doc["n_assigned"] == 2
    writers = {ln.split()[2] for ln in r.stderr.splitlines() if ln.startswith("SPY rank")}
    assert writers == {"0"}, r.stderr[-3000:]
    assert json.loads((out / "compare.json").read_text())["n_assigned"] == 2


def test_serial_command_in_a_slurm_batch_step_does_not_start_mpi(config):
    """In an `sbatch` script Slurm sets SLURM_PROCID (and more) although no MPI launcher ran:
    a plain `wgm modes` there stays serial (mpi4py, which initialises MPI, is never imported)."""
    import os

    launcher_vars = ("OMPI_", "PMI_", "PMIX_", "MV2_", "SLURM_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(launcher_vars)}
    env.update(SLURM_PROCID="0", SLURM_JOB_ID="17", SLURM_NTASKS="4", SLURM_LOCALID="0", SLURM_NODEID="0",
               PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    probe = ("import sys; from wgm.cli import main; code = main(['modes', sys.argv[1], '--json']); "
             "sys.stderr.write('MPI4PY ' + str('mpi4py' in sys.modules) + '\\n'); sys.exit(code)")
    r = subprocess.run([sys.executable, "-c", probe, str(config)], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["modes"]
    assert "MPI4PY False" in r.stderr


def test_fdtd_missed_modes_are_said_and_written(config, tmp_path, capfd, monkeypatch):
    """`wgm modes --method fdtd`: the exact modes FDTD did not find are in the summary, in
    modes.json and in missing.csv (FDTD stubbed: the bookkeeping, not Meep; the warning is the
    FDTD engine's own, logged once by wgm.fdtd.solve)."""
    import dataclasses

    from wgm import fdtd
    from wgm.config import load_config
    from wgm.records import MissedMode, Mode, ModeSpectrum

    cfg = load_config(config, [])
    missed = (MissedMode("TM", 29, 29, 1, 552.0, 6.7e3, "amplitude-cut", "line at 552.05 nm"),)

    def fake_solve(res, search, settings):
        return ModeSpectrum(res, search, "fdtd", (Mode("TE", 30, 29, 1, 565.0, 2.3e4),), {"wgm": "test"},
                            missing=missed)

    monkeypatch.setattr(fdtd, "solve", fake_solve)
    out_dir = tmp_path / "out"
    assert main(["modes", str(config), "--method", "fdtd", "--out", str(out_dir)]) == 0
    text = capfd.readouterr().out
    assert "1 exact mode of the FDTD band not found by FDTD" in text and "amplitude-cut" in text
    rows = list(csv.DictReader((out_dir / "missing.csv").open()))
    assert rows == [{"polarization": "TM", "l": "29", "m": "29", "radial_order": "1", "wavelength_nm": "552.0",
                     "Q": "6700.0", "reason": "amplitude-cut", "note": "line at 552.05 nm"}]
    assert json.loads((out_dir / "modes.json").read_text())["missing"][0]["reason"] == "amplitude-cut"
    assert dataclasses.is_dataclass(cfg.fdtd)
