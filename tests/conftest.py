"""Shared fixtures: the shared theory tables, tiny materials for tests."""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")

# A 2 µm sphere (n = 1.46) with a 50 nm n = 2 shell: the resonator tables of the config and
# CLI tests (each adds its own [search]).
COATED_SPHERE_TOML = """
[resonator]
shape = "sphere"
radius_um = 2.0
index = 1.46
[[resonator.coating]]
thickness_um = 0.05
index = 2.0
"""

# Table S of the theory notes (exact, mpmath 30-60 digits): homogeneous sphere in vacuum,
# x = k0 a.  Columns: m, pol, l, q, Re x, Im x, Q, LLY Re x, Schiller-9 Re x.
TABLE_S = [
    (1.45, "TE", 10, 1, 9.0966529563722, -0.15137913, 30.045929, 9.18260839, 9.03520259792),
    (1.45, "TE", 10, 2, 11.832433129122, -0.40547727, 14.590748, 11.77395864, 11.1533171058),
    (1.45, "TE", 10, 3, 14.402947459274, -0.4934411, 14.594394, 14.16688783, 12.6539448981),
    (1.45, "TE", 20, 1, 16.738651447004, -0.020372443, 410.81601, 16.79861285, 16.7552392384),
    (1.45, "TE", 20, 2, 19.714639047501, -0.19350643, 50.940528, 19.84329164, 19.6771283442),
    (1.45, "TE", 20, 3, 22.513407673032, -0.36378328, 30.943434, 22.55311851, 22.1747310822),
    (1.45, "TE", 30, 1, 24.166193878671, -0.001571268, 7690.0291, 24.19377036, 24.1717993704),
    (1.45, "TE", 30, 2, 27.452119584507, -0.054182701, 253.32919, 27.5693512, 27.4889264711),
    (1.45, "TE", 30, 3, 30.372845490375, -0.21529609, 70.537384, 30.52315862, 30.3467040864),
    (1.45, "TE", 50, 1, 38.705982759399, -4.1284144e-6, 4687754.0, 38.71634742, 38.7066897077),
    (1.45, "TE", 50, 2, 42.549831152638, -0.00089302406, 23823.452, 42.59169933, 42.5578617839),
    (1.45, "TE", 50, 3, 45.815778495883, -0.021904352, 1045.8145, 45.92524801, 45.8539153436),
    (1.45, "TE", 100, 1, 74.406188382382, -2.9320223e-13, 1.2688544e+14, 74.40958198, 74.4062483543),
    (1.45, "TE", 100, 2, 79.127391604161, -7.3581662e-10, 5.3768418e+10, 79.13915065, 79.1278761428),
    (1.45, "TE", 100, 3, 83.114324317063, -2.1650225e-7, 1.9194795e+8, 83.13909919, 83.116232765),
    (1.45, "TM", 10, 1, 9.3780620144335, -0.26529101, 17.675047, 9.632416252, 9.29396518836),
    (1.45, "TM", 10, 2, 11.71892117554, -1.1578471, 5.0606516, 12.1866476, 10.6730703606),
    (1.45, "TM", 10, 3, 13.319431952138, -1.3058936, 5.0997386, 14.54918723, 10.7647742043),
    (1.45, "TM", 20, 1, 17.132167600086, -0.032909501, 260.29212, 17.26626778, 17.1611502095),
    (1.45, "TM", 20, 2, 19.892765599584, -0.3859133, 25.77362, 20.28718445, 19.8756037492),
    (1.45, "TM", 20, 3, 22.532431137802, -0.98036399, 11.49187, 22.97755706, 22.0296531335),
    (1.45, "TM", 30, 1, 24.604322102997, -0.0024460518, 5029.3952, 24.66881341, 24.6136457981),
    (1.45, "TM", 30, 2, 27.745978455028, -0.096816353, 143.2918, 28.02616139, 27.8244020312),
    (1.45, "TM", 30, 3, 30.501115853799, -0.45454402, 33.551334, 30.96504142, 30.5214302773),
    (1.45, "TM", 50, 1, 39.171779677214, -6.1769571e-6, 3170799.1, 39.19834581, 39.1729533813),
    (1.45, "TM", 50, 2, 42.958980554269, -0.0014653454, 14658.312, 43.06067024, 42.9742505284),
    (1.45, "TM", 50, 3, 46.123664424096, -0.039344538, 586.15079, 46.38355321, 46.2030679722),
    (1.45, "TM", 100, 1, 74.888557862974, -4.2286516e-13, 8.8548981e+13, 74.89798534, 74.888656521),
    (1.45, "TM", 100, 2, 79.588889598124, -1.1185972e-9, 3.5575314e+10, 79.61932001, 79.5898235829),
    (1.45, "TM", 100, 3, 83.550136372943, -3.4546258e-7, 1.2092501e+8, 83.61252731, 83.5541273045),
    (2.0, "TE", 10, 1, 6.8262640719803, -0.0025356324, 1346.0674, 6.841077408, 6.83095503615),
    (2.0, "TE", 10, 2, 8.7177793482808, -0.040574041, 107.4305, 8.772613817, 8.7325976076),
    (2.0, "TE", 10, 3, 10.488374002031, -0.11721583, 44.739581, 10.55072141, 10.4546922167),
    (2.0, "TE", 20, 1, 12.334049422707, -2.2725052e-6, 2713756.1, 12.33729037, 12.3343866285),
    (2.0, "TE", 20, 2, 14.563631337362, -0.00028372831, 25664.749, 14.57848787, 14.5667165621),
    (2.0, "TE", 20, 3, 16.528829783344, -0.0058061344, 1423.3937, 16.57078909, 16.5424942147),
    (2.0, "TE", 30, 1, 17.686771586092, -1.0560273e-9, 8.3742017e+9, 17.6882688, 17.6868499325),
    (2.0, "TE", 30, 2, 20.154962194163, -4.3952392e-7, 22928174.0, 20.16150402, 20.1555419006),
    (2.0, "TE", 30, 3, 22.307537770539, -3.0335973e-5, 367674.67, 22.32425097, 22.309829764),
    (2.0, "TE", 50, 1, 28.206642676353, -1.0783468e-16, 1.3078651e+17, 28.20724212, 28.2066566891),
    (2.0, "TE", 50, 2, 31.03267617805, -2.2965345e-13, 6.7564142e+13, 31.03540589, 31.0327690887),
    (2.0, "TE", 50, 3, 33.460634385108, -7.0405372e-11, 2.3762842e+11, 33.46740233, 33.4609480911),
    (2.0, "TE", 100, 1, 54.075541822139, -6.7232951e-35, 4.0215059e+35, 54.0757251, 54.0755433015),
    (2.0, "TE", 100, 2, 57.515428516482, -1.8467713e-30, 1.5571888e+31, 57.51637654, 57.5154376339),
    (2.0, "TE", 100, 3, 60.423556679709, -5.2512307e-27, 5.7532758e+27, 60.42592971, 60.4235850095),
    (2.0, "TM", 10, 1, 7.2479009758806, -0.0043252649, 837.8563, 7.302020541, 7.25842197866),
    (2.0, "TM", 10, 2, 9.0355379515074, -0.10723316, 42.130335, 9.254460114, 9.10371075911),
    (2.0, "TM", 10, 3, 10.701778274637, -0.52366958, 10.218064, 11.0496813, 10.7184844501),
    (2.0, "TM", 20, 1, 12.771728418014, -3.2292782e-6, 1977489.6, 12.78818309, 12.7724836606),
    (2.0, "TM", 20, 2, 14.985104522204, -0.00050073167, 14963.208, 15.04276201, 14.9934168102),
    (2.0, "TM", 20, 3, 16.900585323155, -0.013125793, 643.79292, 17.04601872, 16.9437543887),
    (2.0, "TM", 30, 1, 18.125949191023, -1.4085502e-9, 6.4342576e+9, 18.13500097, 18.1261289778),
    (2.0, "TM", 30, 2, 20.590276681596, -6.7803183e-7, 15183857.0, 20.61850386, 20.5918953237),
    (2.0, "TM", 30, 3, 22.728942085831, -5.4167598e-5, 209802.01, 22.78965703, 22.7360302985),
    (2.0, "TM", 50, 1, 28.645595750909, -1.3614409e-16, 1.0520323e+17, 28.65005745, 28.6456282502),
    (2.0, "TM", 50, 2, 31.472673050036, -3.1851225e-13, 4.940575e+13, 31.48555754, 31.4729332148),
    (2.0, "TM", 50, 3, 33.897847862582, -1.0652679e-10, 1.591048e+11, 33.92356027, 33.8988324013),
    (2.0, "TM", 100, 1, 54.513141037062, -8.0985428e-35, 3.3656142e+35, 54.51493354, 54.5131444808),
    (2.0, "TM", 100, 2, 57.955386228269, -2.3496829e-30, 1.2332597e+31, 57.96022188, 57.9554113322),
    (2.0, "TM", 100, 3, 60.86432903078, -7.0101949e-27, 4.3411296e+27, 60.87357131, 60.864416044),
]


@dataclass(frozen=True)
class FixedIndex:
    """A test material with an arbitrary fixed complex index (k may be negative)."""

    value: complex
    name: str = "fixed"
    analytic = True

    def index(self, wavelength_nm, *, outside="error"):
        return np.full(np.shape(wavelength_nm), complex(self.value))

    @property
    def wavelength_range_nm(self):
        return (0.0, float("inf"))

    def check_band(self, band_nm, key):
        return None


@pytest.fixture
def fixed_index():
    return FixedIndex


def meep_or_skip():
    """Meep, loaded the way wgm loads it (banner swallowed, so a test capturing stdout sees
    only wgm's output), or skip the test where Meep is not installed."""
    from wgm.errors import UserError
    from wgm.fdtd import meep_model

    try:
        return meep_model.meep()
    except UserError:
        pytest.skip("Meep is not installed", allow_module_level=True)


def synthetic_fdtd_record(line, settled=True, t_record=float("inf"), spread=0.0):
    """``wgm.fdtd.analysis.make_record`` without Meep: a 2-D disk (R = 2 µm, n = 1.46, m = 29,
    590–610 nm), an E_z field with one maximum just inside the rim, and the Harminv ``line``
    (a :class:`wgm.fdtd.meep_model.HarminvLine`).  Returns (Mode, FieldProfile)."""
    import math

    from wgm import fdtd
    from wgm.fdtd import analysis
    from wgm.fdtd.settings import FdtdSettings
    from wgm.model.materials import ConstantIndex
    from wgm.model.resonator import Disk, Resonator, Search

    res = Resonator(Disk(2.0, math.inf, ConstantIndex(1.46)))
    search = Search((590.0, 610.0), 1)
    pl = fdtd.plan(res, search, FdtdSettings(m=(29,), domain="full"))
    nr = int(round((pl.cell_r_um - pl.pml_um - pl.r_min_um) * pl.resolution)) + 1
    r = np.linspace(pl.r_min_um, pl.cell_r_um - pl.pml_um, nr)
    fields = {c: np.zeros(nr, complex) for c in ("Er", "Ep", "Ez", "Hr", "Hp", "Hz")}
    fields["Ez"] = np.exp(-((r - 1.8) / 0.1) ** 2).astype(complex)
    eps = np.where(r <= 2.0, 1.46**2, 1.0)
    return analysis.make_record(res, search, pl, 29, "Ez", line, settled, fields, eps, None, t_record, spread)


# The exact solver's mode volume (wgm.exact.fields) differs in its last bits (~1e-15 relative)
# now and then between two computations of the same point: between the serial run and mpirun or
# a killed-then-resumed job, and also within one process (seen: the field values that the peak's
# refinement evaluates at single points differ in the last bit from run to run, so Brent's
# search ends 1e-12 apart; numpy's vectorised complex arithmetic is suspected, not proven).
# Tables of sweeps are compared with float cells to 1e-12 relative — far below the volume's own
# accuracy (~1e-8) — and every other cell exactly.
TABLE_FLOAT_REL = 1e-12


def assert_same_table(got: str, want: str) -> None:
    """Two CSV tables: the same header and rows, equal cells, floats to :data:`TABLE_FLOAT_REL`."""
    import csv
    import io
    import math

    a, b = list(csv.reader(io.StringIO(got))), list(csv.reader(io.StringIO(want)))
    assert len(a) == len(b) and a[0] == b[0]
    for ra, rb in zip(a[1:], b[1:]):
        assert len(ra) == len(rb)
        for name, x, y in zip(a[0], ra, rb):
            if x == y:
                continue
            # a float, or a "core=0.93;coating.0=0.05" cell of floats by name
            px = [c.split("=") for c in x.split(";")] if "=" in x else [("", x)]
            py = [c.split("=") for c in y.split(";")] if "=" in y else [("", y)]
            assert [k for k, _ in px] == [k for k, _ in py], (name, x, y)
            for (_, u), (_, v) in zip(px, py):
                try:
                    fu, fv = float(u), float(v)
                except ValueError:
                    raise AssertionError(f"{name}: {x!r} != {y!r}") from None
                assert math.isclose(fu, fv, rel_tol=TABLE_FLOAT_REL, abs_tol=0.0), (name, x, y)
