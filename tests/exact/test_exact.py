"""The exact solver against the shared reference tables and against physics identities."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import TABLE_S, FixedIndex
from wgm.exact import solver as exact
from wgm.model.materials import ConstantIndex, library_material, nanocrystal_film
from wgm.model.resonator import Coating, Disk, Resonator, Search, Sphere

# Table S was computed with mpmath at 30-60 digits and printed with 14 significant digits
# (Re x) and 8 (Im x, Q).  The solver works in double precision, so it is held to the
# printed precision of the table, not to its own: Re x to 2e-12 relative (the last printed
# digit of Re x ~ 10 at 13 decimals), Im x / Q to 2e-7 relative (8 printed digits).
RE_X_REL_TOL = 2e-12
Q_REL_TOL = 2e-7


def sphere(n, radius_um=1.0, coatings=(), surroundings=1.0):
    return Resonator(Sphere(radius_um, ConstantIndex(n)), tuple(coatings), ConstantIndex(surroundings))


@pytest.mark.parametrize("m, pol, l, q, re_x, im_x, Q, _lly, _sch", TABLE_S,
                         ids=[f"m{r[0]}-{r[1]}-l{r[2]}-q{r[3]}" for r in TABLE_S])
def test_table_s(m, pol, l, q, re_x, im_x, Q, _lly, _sch):
    mode = exact.solve_order(sphere(m), pol, l, q)
    x = complex(*mode.size_parameter)
    assert x.real == pytest.approx(re_x, rel=RE_X_REL_TOL)
    assert mode.Q == pytest.approx(Q, rel=Q_REL_TOL)
    assert mode.radial_order == q and mode.l == l and mode.polarization == pol
    # with a = 1 µm, x = k0 a = 2π/λ[µm]
    assert mode.wavelength_nm == pytest.approx(2000 * math.pi / re_x, rel=RE_X_REL_TOL)


def test_coated_sphere_reference_values():
    """Theory notes §0: a 50 nm n = 2.0 shell on a 2 µm n = 1.46 sphere moves TE1 l = 29
    from 539.8 nm (Q 7.1e3) to 599.9 nm (Q 6.2e4): the solver reproduces all four figures."""
    bare = exact.solve_order(sphere(1.46, 2.0), "TE", 29, 1)
    coated = exact.solve_order(sphere(1.46, 2.0, [Coating(0.05, ConstantIndex(2.0))]), "TE", 29, 1)
    assert round(bare.wavelength_nm, 1) == 539.8 and round(bare.Q / 1e3, 1) == 7.1
    assert round(coated.wavelength_nm, 1) == 599.9 and round(coated.Q / 1e4, 1) == 6.2


def test_shell_of_core_index_is_the_bare_sphere():
    """A shell with the core's index is no shell: the layered transfer must reproduce the
    homogeneous root (tolerance: double-precision round-off through one extra layer)."""
    bare = exact.solve_order(sphere(1.45, 2.05), "TM", 40, 2)
    split = exact.solve_order(sphere(1.45, 2.0, [Coating(0.05, ConstantIndex(1.45))]), "TM", 40, 2)
    assert split.wavelength_nm == pytest.approx(bare.wavelength_nm, rel=1e-12)
    assert split.Q == pytest.approx(bare.Q, rel=1e-8)


def test_large_sphere_l2000_no_overflow_and_schiller_nu3():
    """l = 1000 and 2000 (a 115 µm silica-like sphere at 530 nm has l ≈ 2000): no overflow,
    and the residual of Schiller's corrected nine-term series falls like ν^-3 (notes §1.5):
    doubling l divides it by 8 (accepted 6.5-10: the next term still contributes), and it
    stays below 2e-7 in x at l = 2000 for q ≤ 3."""
    from wgm.exact import asymptotic

    for pol in ("TE", "TM"):
        for q in (1, 2, 3):
            res = []
            for l in (1000, 2000):
                x = exact.solve_order(sphere(1.45, 1.0), pol, l, q).size_parameter[0]
                assert math.isfinite(x)
                res.append(x - float(asymptotic.schiller(l + 0.5, q, 1.45, pol)))
            assert 6.5 < res[0] / res[1] < 10, (pol, q, res)
            assert abs(res[1]) < 2e-7


def test_asymptotic_seed_error_shrinks_with_l():
    """The LLY estimate converges onto the exact roots: error falls monotonically with l
    and is below 1e-3 in x by l = 300 (notes: 6.7e-4 for TE1 at l = 300)."""
    from wgm.exact import asymptotic

    errs = []
    for l in (20, 50, 100, 300):
        x = exact.solve_order(sphere(1.45), "TE", l, 1).size_parameter[0]
        errs.append(abs(float(asymptotic.lly(l + 0.5, 1, 1.45, "TE")) - x))
    assert all(a > b for a, b in zip(errs, errs[1:]))
    assert errs[-1] < 1e-3


class _Shifted:
    """A dispersive analytic material n(λ) = n0 + c (λ − λ0) (µm), for self-consistency tests."""

    analytic = True
    name = "linear"

    def __init__(self, n0, c, lam0):
        self.n0, self.c, self.lam0 = n0, c, lam0

    def index(self, wavelength_nm, *, outside="error"):
        return self.n0 + self.c * (np.asarray(wavelength_nm, dtype=complex) / 1000 - self.lam0)

    wavelength_range_nm = (0.0, math.inf)

    def check_band(self, band, key):
        return None


def test_dispersion_is_self_consistent():
    """The dispersive root x* solves the non-dispersive problem whose indices are the
    dispersive ones evaluated at x*'s complex wavelength (identity, to round-off)."""
    silica = library_material("silica")
    nc = nanocrystal_film(0.5)
    res = Resonator(Sphere(2.0, silica), (Coating(0.05, nc),))
    mode = exact.solve_order(res, "TE", 28, 1)
    x = complex(*mode.size_parameter)
    lam = 2 * math.pi * res.outer_radius_um / x
    frozen = Resonator(Sphere(2.0, FixedIndex(silica.index(1000 * lam))),
                       (Coating(0.05, FixedIndex(nc.index(1000 * lam))),))
    stack = exact.LayeredStack.from_resonator(frozen)
    F, *_ = exact.characteristic(stack, "TE", np.array([28]), np.array([x]))
    assert abs(F[0]) < 1e-9
    again = exact.solve_order(frozen, "TE", 28, 1)
    assert complex(*again.size_parameter) == pytest.approx(x, rel=1e-11)


def test_dispersion_changes_q_through_group_index():
    """With normal dispersion the radiative Q rises by about n_g/n (energy stored in the
    dispersive medium): the exact ratio is within 2 % of n_g/n for a radiation-limited TE1."""
    n0, lam0, c = 1.45, 0.75, -0.08  # dn/dλ = -0.08 /µm (silica-like × 3)
    mat = _Shifted(n0, c, lam0)
    res_d = Resonator(Sphere(2.0, mat))
    mode_d = exact.solve_order(res_d, "TE", 20, 1)
    lam = mode_d.wavelength_nm / 1000
    n = float(np.real(mat.index(1000 * lam)))
    mode_0 = exact.solve_order(sphere(n, 2.0), "TE", 20, 1)
    # dispersion acts on Im x at first order; Re x moves only at order 1/Q² (~6e-6 here)
    assert mode_d.wavelength_nm == pytest.approx(mode_0.wavelength_nm, rel=3 / mode_0.Q**2)
    n_g = n - lam * c
    assert mode_d.Q / mode_0.Q == pytest.approx(n_g / n, rel=0.02)


def test_absorption_lowers_q_by_the_confined_fraction():
    """Weak absorption k adds 1/Q_abs = Γ 2k/n (Γ: electric-energy fraction inside); for
    TE1 at l = 100 Γ is 0.95-0.99, so the added loss lies in 0.9-1.0 × 2k/n."""
    n, k = 1.45, 1e-5
    lossless = exact.solve_order(sphere(n), "TE", 100, 1)
    lossy = exact.solve_order(Resonator(Sphere(1.0, ConstantIndex(n, k))), "TE", 100, 1)
    assert lossy.Q < lossless.Q
    added = 1 / lossy.Q - 1 / lossless.Q
    assert 0.9 < added / (2 * k / n) < 1.0


def test_solve_finds_every_mode_in_band():
    """Completeness: the band search returns exactly the (pol, l, q ≤ 3) roots that lie in
    the band, each found individually, with consistent values and no duplicates."""
    res = sphere(1.45, 1.0)
    # x = 2π/λ[µm] in 24..40 -> λ = 157..262 nm
    band = (2000 * math.pi / 40.0, 2000 * math.pi / 24.0)
    spec = exact.solve(res, Search(band, 3))
    got = {(m.polarization, m.l, m.radial_order): m for m in spec.modes}
    assert len(got) == len(spec.modes)
    expected = {}
    for pol in ("TE", "TM"):
        for q in (1, 2, 3):
            for l in range(10, 60):
                m = exact.solve_order(res, pol, l, q)
                if band[0] <= m.wavelength_nm <= band[1]:
                    expected[(pol, l, q)] = m
    assert set(got) == set(expected)
    for key, m in expected.items():
        assert got[key].wavelength_nm == pytest.approx(m.wavelength_nm, rel=1e-11)
        assert got[key].Q == pytest.approx(m.Q, rel=1e-6)


def test_fsr_matches_neighbours_and_beats_naive_formula():
    """fsr_nm is the centred difference of the family's neighbours; for a 5 µm n = 1.46
    sphere the naive λ²/(2π n a) underestimates it by ~3 % (notes §5.4)."""
    res = sphere(1.46, 5.0)
    spec = exact.solve(res, Search((525.0, 545.0), 1, ("TE",)))
    fam = spec.families()["TE1"]
    mid = fam[len(fam) // 2]
    up = exact.solve_order(res, "TE", mid.l - 1, 1).wavelength_nm
    down = exact.solve_order(res, "TE", mid.l + 1, 1).wavelength_nm
    assert mid.fsr_nm == pytest.approx((up - down) / 2, rel=1e-10)
    naive = mid.wavelength_nm**2 / (2 * math.pi * 1.46 * 5000.0)
    assert 1.02 < mid.fsr_nm / naive < 1.05


def test_2d_disk_and_ring_limits():
    """Disk and ring with infinite height use cylinder functions (Table D / Meep ring)."""
    disk = Resonator(Disk(1.0, math.inf, ConstantIndex(1.45)))
    m = exact.solve_order(disk, "TE", 20, 1)  # Table D: 1.45 Ez m=20 q=1
    assert m.size_parameter[0] == pytest.approx(16.362411669572, rel=RE_X_REL_TOL)
    assert m.Q == pytest.approx(357.83745, rel=Q_REL_TOL)
    assert m.degeneracy == 2


def test_finite_disk_is_refused_with_a_clear_error():
    from wgm.errors import ConfigError

    with pytest.raises(ConfigError, match="thickness_um.*fdtd"):
        exact.solve(Resonator(Disk(2.0, 0.3, ConstantIndex(2.0))), Search((500, 600)))


def test_band_outside_material_data_is_refused():
    from wgm.errors import ConfigError

    res = Resonator(Sphere(2.0, library_material("cspbbr3-ermolaev-o")))
    with pytest.raises(ConfigError, match="data cover 500–949 nm"):
        exact.solve(res, Search((450.0, 600.0)))


TRICKY = {
    # high index contrast: TM roots sit very close to the node entries
    "n3.4 sphere": (Resonator(Sphere(1.0, ConstantIndex(3.4))), (900.0, 1500.0)),
    "n3.4 2-D disk": (Resonator(Disk(1.0, math.inf, ConstantIndex(3.4))), (900.0, 1500.0)),
    # a low-index outer shell: very high-Q core modes whose root and node entry nearly coincide
    "low-index shell": (Resonator(Sphere(1.5, ConstantIndex(2.4)), (Coating(0.3, ConstantIndex(1.4)),)),
                        (600.0, 700.0)),
    # a thick high-index shell guides its own modes
    "thick shell": (Resonator(Sphere(2.0, ConstantIndex(1.45)), (Coating(0.4, ConstantIndex(2.2)),)),
                    (550.0, 650.0)),
    "two shells, dispersive": (Resonator(Sphere(2.0, library_material("silica")),
                                         (Coating(0.02, ConstantIndex(1.6)), Coating(0.05, nanocrystal_film(0.4)))),
                               (520.0, 600.0)),
}


UNCERTAIN_LABEL = "radial order uncertain"
ROOT_RESIDUAL_TOL = 1e-8  # |F| at a listed pole (F is O(1) near a root; double-precision roots reach ~1e-12)


@pytest.mark.parametrize("name", list(TRICKY))
def test_band_search_is_complete_and_consistent(name):
    """Every family of certain labels is contiguous in l (a missed root leaves a gap), and
    each such mode is the one found on its own for its (pol, l, q), to round-off.  Modes whose
    label is flagged uncertain (two low-Q poles with one node count, e.g. TM l = 4 of the
    n = 3.4 sphere at 1457 and 1486 nm) are genuine roots of the characteristic equation."""
    res, band = TRICKY[name]
    spec = exact.solve(res, Search(band, 3))
    assert len(spec.modes) > 10
    stack = exact.LayeredStack.from_resonator(res)
    certain = [m for m in spec.modes if UNCERTAIN_LABEL not in m.note]
    fams = {}
    for m in certain:
        fams.setdefault((m.polarization, m.radial_order), []).append(m.l)
    for fam, ls in fams.items():
        ls = sorted(ls)
        assert ls == list(range(ls[0], ls[-1] + 1)), (fam, ls)
    for m in certain:
        alone = exact.solve_order(res, m.polarization, m.l, m.radial_order)
        assert alone.wavelength_nm == pytest.approx(m.wavelength_nm, rel=1e-10)
    for m in spec.modes:
        if m not in certain:
            F = exact.characteristic(stack, m.polarization, np.array([m.l]),
                                     np.array([complex(*m.size_parameter)])).F
            assert abs(F[0]) < ROOT_RESIDUAL_TOL, m
            assert m.fsr_nm is None


def test_unresolvable_q_is_a_flagged_lower_bound():
    """Lossless thick shell: Q ~ 1e17 is beyond what double precision resolves through a
    layer; such modes carry q_resolved = False, a positive lower bound and a note."""
    res, band = TRICKY["thick shell"]
    spec = exact.solve(res, Search(band, 1))
    unresolved = [m for m in spec.modes if not m.q_resolved]
    assert unresolved
    for m in unresolved:
        assert m.Q > 1e12 and "lower bound" in m.note
    assert all(m.Q > 0 for m in spec.modes)


def test_polarizations_share_one_evaluation():
    """characteristic with one polarization per point (as the band search uses it: TE and TM
    roots refined together) equals one call per polarization, to round-off."""
    res = Resonator(Sphere(2.0, library_material("silica")), (Coating(0.05, nanocrystal_film(0.5)),))
    stack = exact.LayeredStack.from_resonator(res)
    orders = np.array([27, 28, 29, 28])
    x = np.array([23.1 - 1e-4j, 23.5 - 2e-4j, 24.0 - 1e-3j, 23.7 - 5e-5j])
    pols = np.array(["TE", "TM", "TE", "TM"])
    F, y, d, logv = exact.characteristic(stack, pols, orders, x, want_logv=True)
    for pol in ("TE", "TM"):
        F1, y1, d1, logv1 = exact.characteristic(stack, pol, orders, x, want_logv=True)
        sel = pols == pol
        for a, b in ((F, F1), (y, y1), (d, d1), (np.exp(logv), np.exp(logv1))):
            np.testing.assert_allclose(a[sel], b[sel], rtol=1e-12)


# --- defect 14: a radius typed in nm; large spheres with a narrow band ----------------------

# The refusal must come from the work estimate, before any table is allocated: the child
# process gets 3 GB of address space (numpy + scipy need ~1 GB; the unguarded scan of a 5 mm
# sphere asked for ~20 GB) and 120 s (the estimate itself takes milliseconds; the margin is
# for a loaded machine importing scipy).
_REFUSAL_ADDRESS_SPACE = 3 * 1024**3
_REFUSAL_TIMEOUT_S = 120

_REFUSAL_SCRIPT = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
from wgm.errors import ConfigError
from wgm.exact import solver as exact
from wgm.model.materials import library_material
from wgm.model.resonator import Resonator, Search, Sphere
try:
    exact.solve(Resonator(Sphere(5000.0, library_material("silica"))), Search((520.0, 600.0), 3))
except ConfigError as err:
    print(err)
    sys.exit(0)
sys.exit(3)
"""


def test_radius_typed_in_nm_is_refused_quickly_in_one_line():
    """radius_um = 5000 (meant: 5000 nm) is refused with one line naming the key, the value,
    the estimate and the unit, inside a memory limit (before: MemoryError / killed)."""
    import os
    import subprocess
    import sys

    import wgm

    root = os.path.dirname(os.path.dirname(os.path.abspath(wgm.__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""), OMP_NUM_THREADS="1")
    proc = subprocess.run([sys.executable, "-c", _REFUSAL_SCRIPT.format(limit=_REFUSAL_ADDRESS_SPACE)],
                          capture_output=True, text=True, timeout=_REFUSAL_TIMEOUT_S, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
    line = proc.stdout.strip()
    assert "\n" not in line
    assert line.startswith("resonator.radius_um = 5000.0: ")
    assert "µm" in line and "radius_um = 5" in line  # the unit hint: 5000 nm = 5 µm
    assert "modes" in line and "GB" in line and "min" in line  # the estimate
    assert "search.wavelength_nm" in line  # what to do instead


def test_large_sphere_narrow_band_near_asymptotics():
    """A 300 µm silica sphere (sensing) in a 1 nm band at 1550 nm and a 0.3 nm band at 550 nm
    (l ≈ 1 700 and ≈ 4 900) solves, and every mode sits on Schiller's corrected series for
    its own (l, q) at the index at its own wavelength.  Tolerance: the series' error falls like
    ν^-3 (< 2e-7 in x at l = 2000, test above), and a neighbouring l or q is ≥ 0.6 away in x;
    1e-6 separates them by five orders of magnitude."""
    from wgm.exact import asymptotic

    silica = library_material("silica")
    res = Resonator(Sphere(300.0, silica))
    for band, l_expected in (((1549.5, 1550.5), 1700), ((549.85, 550.15), 4900)):
        spec = exact.solve(res, Search(band, 3))
        assert {(m.polarization, m.radial_order) for m in spec.modes} == {
            (p, q) for p in ("TE", "TM") for q in (1, 2, 3)}
        for m in spec.modes:
            assert abs(m.l - l_expected) < 0.05 * l_expected
            n = silica.n_at(m.wavelength_nm).real
            x_asym = float(asymptotic.schiller(m.l + 0.5, m.radial_order, n, m.polarization))
            assert abs(m.size_parameter[0] - x_asym) < 1e-6, (m, x_asym)


def test_scan_split_into_blocks_gives_the_same_modes(monkeypatch):
    """The scan table built in blocks of orders (the memory bound) finds the same modes as
    one table (identical values: the blocks evaluate the same functions)."""
    res, band = TRICKY["thick shell"]
    whole = exact.solve(res, Search(band, 3))
    monkeypatch.setattr(exact, "_SCAN_CHUNK_BYTES", 1e5)
    stack = exact.LayeredStack.from_resonator(res)
    assert len(exact._plan(stack, Search(band, 3)).blocks) > 5
    split = exact.solve(res, Search(band, 3))
    assert [(m.polarization, m.l, m.radial_order) for m in split.modes] == [
        (m.polarization, m.l, m.radial_order) for m in whole.modes]
    for a, b in zip(split.modes, whole.modes):
        assert a.wavelength_nm == pytest.approx(b.wavelength_nm, rel=1e-12)


# --- defect 9: solve_order placed its scan with the index at 550 nm -------------------------


def _steep_uv_material():
    """Data only at 200-400 nm (none at 550 nm), with a steep normal dispersion (n = 2.6 → 1.6,
    group index n − λ dn/dλ > 0 throughout): the index at a mode near 250 nm is far above the
    one at the data's long end, where the old code took it (550 nm clamped into the range)."""
    from wgm.model.materials import TabulatedNK

    return TabulatedNK(name="steep-uv", wavelength_nm=(200.0, 300.0, 400.0), n=(2.6, 2.0, 1.6), k=(0.0, 0.0, 0.0))


def test_solve_order_uses_the_index_at_the_modes_own_wavelength():
    """With the steep UV material the modes TE l = 24, q = 1, 2 of a 0.5 µm sphere lie near
    250 nm.  solve_order finds them (before: the scan began above the q = 1 root, at
    0.9 ν/n(400 nm), and the modes were missed or mislabelled), and each root and radial order
    is that of the non-dispersive sphere frozen at the mode's own complex index (an identity:
    tolerance is round-off), whose scan does not depend on where the index is taken."""
    mat = _steep_uv_material()
    res = Resonator(Sphere(0.5, mat))
    for q in (1, 2):
        mode = exact.solve_order(res, "TE", 24, q)
        assert 200 < mode.wavelength_nm < 400
        assert mode.radial_order == q
        x = complex(*mode.size_parameter)
        lam_um = 2 * math.pi * 0.5 / x
        frozen = Resonator(Sphere(0.5, FixedIndex(complex(mat.index(1000 * lam_um)))))
        again = exact.solve_order(frozen, "TE", 24, q)
        assert again.radial_order == q
        assert complex(*again.size_parameter) == pytest.approx(x, rel=1e-10)


def test_solve_without_energy_gives_the_same_modes_without_the_integrals():
    """``energy=False`` (a fit's trial solves, the other engines' estimates) skips the field
    integrals only: every wavelength and Q is the same to the last bit."""
    res = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0, 0.001)),))
    search = Search((560.0, 600.0), max_radial_order=2)
    full = exact.solve(res, search)
    bare = exact.solve(res, search, energy=False)
    assert [(m.polarization, m.l, m.radial_order, m.wavelength_nm, m.Q) for m in full.modes] == \
        [(m.polarization, m.l, m.radial_order, m.wavelength_nm, m.Q) for m in bare.modes]
    assert all(m.mode_volume_um3 is not None for m in full.modes)
    assert all(m.mode_volume_um3 is None and m.energy_shares is None for m in bare.modes)
