"""The resolution rule from the stated accuracy against the exact solver (slow: time stepping).

A thin high-index shell is the case the old rule (2.5 px across the thinnest layer) over-resolved:
at the default grid (N = 18 px per shortest wavelength in the shell's n = 2.2, about 1.7 px
across the 25 nm shell) every line must be within the accuracy asked, and within the errors
the engine says it expects.
"""

from __future__ import annotations

import math

import pytest
from conftest import meep_or_skip

mp = meep_or_skip()

from wgm import fdtd  # noqa: E402
from wgm.exact import solver as exact  # noqa: E402
from wgm.fdtd.settings import FdtdSettings  # noqa: E402
from wgm.model.materials import ConstantIndex  # noqa: E402
from wgm.model.resonator import Coating, Disk, Resonator, Search, Sphere  # noqa: E402

pytestmark = pytest.mark.slow

# the accuracy asked by default (FdtdSettings: accuracy_wavelength, accuracy_q): what the tests
# of the engine ask, 0.1 % in wavelength and 5 % in Q
LAMBDA_REL_TOL = 1e-3
Q_REL_TOL = 0.05


def _shell(core):
    return Resonator(core, (Coating(0.025, ConstantIndex(2.2)),))


@pytest.mark.parametrize("pol, m", [("TE", 28), ("TM", 27)])
def test_thin_shell_2d_limit_within_the_stated_accuracy_at_defaults(pol, m):
    """2-D limit (a 1-D cell: the shell's interfaces sit where the grid puts them, the worst case
    measured for the model) of a 2 µm n = 1.46 disk with a 25 nm n = 2.2 shell: TE m = 28
    (603.1 nm, Q 1.1e4) and TM m = 27 (590.7 nm, Q 3.4e3).  A few seconds each."""
    res = _shell(Disk(2.0, math.inf, ConstantIndex(1.46)))
    search = Search((580.0, 620.0), 1, (pol,))
    settings = FdtdSettings(m=(m,))
    pl = fdtd.plan(res, search, settings)
    assert pl.resolution < 100  # the old rule: 2.5 px across 25 nm
    assert not pl.warnings
    (ref,) = [e for e in exact.solve(res, search).modes if e.l == m]
    (got,) = [md for md in fdtd.solve(res, search, settings).modes if md.l == m and md.polarization == pol]
    e_wl, e_q = abs(got.wavelength_nm / ref.wavelength_nm - 1), abs(got.Q / ref.Q - 1)
    assert e_wl < LAMBDA_REL_TOL and e_q < Q_REL_TOL
    # the errors the engine reports cover the true ones
    assert got.q_resolved and e_wl <= got.wavelength_rel_error and e_q <= got.q_rel_error


def test_thin_shell_sphere_within_the_stated_accuracy_at_defaults():
    """The issue's case: a 2 µm n = 1.46 sphere with a 25 nm n = 2.2 shell, TE1 l = m = 28
    (593.67 nm, Q 1.40e4) at the default grid.  About 1 min on one core."""
    res = _shell(Sphere(2.0, ConstantIndex(1.46)))
    search = Search((585.0, 605.0), 1, ("TE",))
    settings = FdtdSettings(m=(28,))
    (ref,) = [e for e in exact.solve(res, search).modes if e.l == 28]
    spec = fdtd.solve(res, search, settings)
    (got,) = [md for md in spec.modes if md.l == 28 and md.polarization == "TE"]
    e_wl, e_q = abs(got.wavelength_nm / ref.wavelength_nm - 1), abs(got.Q / ref.Q - 1)
    assert e_wl < LAMBDA_REL_TOL and e_q < Q_REL_TOL
    assert e_wl <= got.wavelength_rel_error and e_q <= got.q_rel_error
    conv = spec.run_info["fdtd_cells"][0]["convergence"]
    assert conv["expected_wavelength_rel_error"] < LAMBDA_REL_TOL and conv["order_p"] == 2


def test_high_q_pad_and_pml_defaults_do_not_limit_q():
    """Issue 13 item 6: the 2-D limit of a 3 µm n = 1.45 disk, TE m = 43 (566.3 nm, Q 4.01e5):
    at the default pad and PML (two wavelengths each) Q is within the stated accuracy, and
    doubling both moves it by less than 1 % (measured: -0.76 % vs -0.76 %; one wavelength each
    gives -27 %).  A few seconds."""
    res = Resonator(Disk(3.0, math.inf, ConstantIndex(1.45)))
    search = Search((555.0, 575.0), 1, ("TE",))
    (ref,) = [e for e in exact.solve(res, search).modes if e.l == 43]
    assert ref.Q > 1e5
    default = FdtdSettings(m=(43,), max_periods=40000)
    pl = fdtd.plan(res, search, default)
    doubled = FdtdSettings(m=(43,), max_periods=40000, pad_um=2 * pl.pad_um, pml_um=2 * pl.pml_um)
    qs = []
    for settings in (default, doubled):
        (got,) = [md for md in fdtd.solve(res, search, settings).modes if md.l == 43]
        assert got.q_resolved
        assert abs(got.wavelength_nm / ref.wavelength_nm - 1) < LAMBDA_REL_TOL
        assert abs(got.Q / ref.Q - 1) < Q_REL_TOL
        qs.append(got.Q)
    assert abs(qs[1] / qs[0] - 1) < 0.01
