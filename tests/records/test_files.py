"""Result files: permissions, the one non-finite rule, the one HDF5 table writer."""

from __future__ import annotations

import os
import stat

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

