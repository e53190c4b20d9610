"""The exact solver against an independent 30-digit mpmath reference (``mpmath_reference.py``).

Layered spheres, layered 2-D cylinders (disk, coated disk, ring), absorbing and non-air
surroundings: ``wgm.exact.solve_order`` is compared with a root of the reference
characteristic equation found by ``mp.findroot`` from the package's own root (perturbed by
~1e-6); the radial order is checked by counting the nodes of the reference radial function;
the 2-D disk is checked against Table D of the theory notes and the ring against the Meep
tutorial's exact value (notes §2.0).  The reference is itself validated against Tables S
and D, seeded from the tables, not from the package.
"""

from __future__ import annotations

import cmath
import functools
import math
import re
from dataclasses import dataclass

import pytest

from conftest import TABLE_S
from mpmath_reference import count_interior_nodes, reference_root
from wgm.exact import solver as exact
from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Coating, Disk, Resonator, Ring, Sphere

# Double-precision solver vs a 30-digit reference: Re x is a well-conditioned root, good to a
# few ulp (observed ≤ 5e-15); 1e-11 leaves room for the conditioning of layered transfers
# without hiding a wrong root (neighbouring roots are ≥ 1e-2 apart).
RE_X_REL_TOL = 1e-11
# Im x and Q: the package claims a relative Q accuracy of ~1e-7 (notes §6 suggest 1e-6).
IM_X_REL_TOL = 1e-7
Q_REL_TOL = 1e-7
# Table D prints Re x with 14 significant digits (rounding ≤ 5e-14 relative, far below
# RE_X_REL_TOL) and Im x, Q with 8 (rounding ≤ 5e-8 relative, inside Q_REL_TOL).
# The reference itself must reproduce the table to its printed digits.
TABLE_RE_X_REL_TOL = RE_X_REL_TOL
TABLE_Q_REL_TOL = Q_REL_TOL
REF_TABLE_RE_X_REL_TOL = 1e-13  # 14 printed digits
REF_TABLE_Q_REL_TOL = 6e-8  # 8 printed digits: ≤ 5e-8 rounding

SEED_REL = 1e-6  # the reference starts this far (relative, along 1 - i) from the package root

C = ConstantIndex
INF = math.inf


@dataclass(frozen=True)
class Case:
    """One mode: the wgm resonator and, written out independently, its radial stack."""

    name: str
    resonator: Resonator
    kind: str  # "sphere" | "cylinder"
    radii: tuple  # layer outer radii, innermost first (µm)
    indices: tuple  # layer indices (complex)
    n_background: complex
    pol: str
    order: int
    q: int

    @property
    def id(self):
        return f"{self.name}-{self.pol}-l{self.order}-q{self.q}"


def _cases(name, resonator, kind, radii, indices, nb, modes):
    return [Case(name, resonator, kind, tuple(radii), tuple(indices), nb, pol, l, q) for pol, l, q in modes]


COATED = Resonator(Sphere(2.0, C(1.46)), (Coating(0.05, C(2.0)),))
TWO_SHELL = Resonator(Sphere(2.0, C(1.45)), (Coating(0.1, C(1.6)), Coating(0.03, C(2.2), index_in_stack=1)))
ABSORBING = Resonator(Sphere(2.0, C(1.46)), (Coating(0.05, C(1.9, 0.05)),))
WATER = Resonator(Sphere(3.0, C(1.59)), (), C(1.33))
DISK = Resonator(Disk(2.0, INF, C(2.0)))
COATED_DISK = Resonator(Disk(2.0, INF, C(1.6)), (Coating(0.05, C(2.4)),))
RING = Resonator(Ring(radius_um=2.0, width_um=1.0, height_um=INF, material=C(3.4)))

CASES = (
    _cases("coated-sphere", COATED, "sphere", (2.0, 2.05), (1.46, 2.0), 1.0,
           [("TE", 29, 1), ("TE", 29, 2), ("TM", 29, 1), ("TM", 29, 2)])
    + _cases("two-shell-sphere", TWO_SHELL, "sphere", (2.0, 2.1, 2.13), (1.45, 1.6, 2.2), 1.0,
             [("TE", 29, 1), ("TE", 29, 2), ("TM", 29, 1), ("TM", 29, 2)])
    + _cases("absorbing-shell", ABSORBING, "sphere", (2.0, 2.05), (1.46, 1.9 + 0.05j), 1.0,
             [("TE", 29, 1), ("TM", 29, 1), ("TE", 29, 2)])
    + _cases("sphere-in-water", WATER, "sphere", (3.0,), (1.59,), 1.33,
             [("TE", 45, 1), ("TM", 45, 1), ("TE", 45, 2)])
    + _cases("disk-2d", DISK, "cylinder", (2.0,), (2.0,), 1.0,
             [("TE", 29, 1), ("TM", 29, 1), ("TE", 29, 2), ("TM", 29, 2)])
    + _cases("coated-disk-2d", COATED_DISK, "cylinder", (2.0, 2.05), (1.6, 2.4), 1.0,
             [("TE", 20, 1), ("TM", 20, 1)])
    # a ring's hole is the surrounding medium (n = 1)
    + _cases("ring-2d", RING, "cylinder", (1.0, 2.0), (1.0, 3.4), 1.0,
             [("TE", 4, 1), ("TM", 4, 1), ("TE", 8, 1), ("TM", 8, 2)])
)


@functools.lru_cache(maxsize=None)
def package_mode(case: Case):
    return exact.solve_order(case.resonator, case.pol, case.order, case.q)


@functools.lru_cache(maxsize=None)
def reference(case: Case) -> complex:
    x_pkg = complex(*package_mode(case).size_parameter)
    x0 = x_pkg + SEED_REL * abs(x_pkg) * cmath.exp(-0.25j * math.pi)
    return reference_root(case.kind, case.pol, case.order, case.radii, case.indices, case.n_background, x0)


def _q(x: complex) -> float:
    return x.real / (-2.0 * x.imag)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_solver_matches_mpmath_reference(case):
    mode = package_mode(case)
    x_pkg = complex(*mode.size_parameter)
    x_ref = reference(case)
    assert mode.polarization == case.pol and mode.l == case.order and mode.radial_order == case.q
    assert x_pkg.real == pytest.approx(x_ref.real, rel=RE_X_REL_TOL)
    assert x_pkg.imag == pytest.approx(x_ref.imag, rel=IM_X_REL_TOL)
    assert mode.Q == pytest.approx(_q(x_ref), rel=Q_REL_TOL)
    assert mode.wavelength_nm == pytest.approx(2000 * math.pi * case.radii[-1] / x_ref.real, rel=RE_X_REL_TOL)
    assert not mode.note, mode.note  # nothing here is near a precision limit


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_radial_order_is_node_count_plus_one(case):
    """q − 1 = sign changes of the reference v(r), 0 < r < r_N, at Re x (notes §1.1)."""
    nodes = count_interior_nodes(case.kind, case.pol, case.order, case.radii, case.indices, reference(case))
    assert nodes == package_mode(case).radial_order - 1 == case.q - 1


def test_reference_shell_of_core_index_is_homogeneous():
    """Self-check of the reference's transfer: a shell of the core's index changes nothing."""
    x0 = 24.6 - 0.002j
    one = reference_root("sphere", "TM", 30, (2.05,), (1.45,), 1.0, x0)
    two = reference_root("sphere", "TM", 30, (2.0, 2.05), (1.45, 1.45), 1.0, x0)
    assert abs(two - one) < 1e-14 * abs(one)
    one = reference_root("cylinder", "Hz", 12, (2.0,), (2.0,), 1.0, 7.9 - 0.001j)
    two = reference_root("cylinder", "Hz", 12, (1.3, 2.0), (2.0, 2.0), 1.0, 7.9 - 0.001j)
    assert abs(two - one) < 1e-14 * abs(one)


# --------------------------------------------------------------------------------------
# Table S (sphere) and Table D (2-D disk) of the theory notes

# n, pol, m, q, Re x, Im x, Q, J_m zeros ("Ez" = TE, "Hz" = TM).
TABLE_D = [
    (1.45, "Ez", 10, 1, 8.7076046968211, -0.16451991, 26.463681, 0),
    (1.45, "Ez", 10, 2, 11.430601675473, -0.41613961, 13.734095, 1),
    (1.45, "Ez", 20, 1, 16.362411669572, -0.022862911, 357.83745, 0),
    (1.45, "Ez", 20, 2, 19.324797295424, -0.2031348, 47.566437, 1),
    (1.45, "Ez", 30, 1, 23.798396701033, -0.001802878, 6600.1129, 0),
    (1.45, "Ez", 30, 2, 27.068094402655, -0.058555971, 231.1301, 1),
    (1.45, "Ez", 50, 1, 38.345401796582, -4.8248896e-6, 3973707.7, 0),
    (1.45, "Ez", 50, 2, 42.177679302217, -0.001007698, 20927.739, 1),
    (1.45, "Hz", 10, 1, 9.0201725121454, -0.28534551, 15.805703, 0),
    (1.45, "Hz", 10, 2, 11.366382601578, -1.2926415, 4.396572, 1),
    (1.45, "Hz", 20, 1, 16.767110969717, -0.036485714, 229.77639, 0),
    (1.45, "Hz", 20, 2, 19.521680244042, -0.40571128, 24.058587, 1),
    (1.45, "Hz", 30, 1, 24.243516608501, -0.0027792965, 4361.4484, 0),
    (1.45, "Hz", 30, 2, 27.369700483093, -0.10416048, 131.38237, 1),
    (1.45, "Hz", 50, 1, 38.815201696696, -7.1715904e-6, 2706178.1, 0),
    (1.45, "Hz", 50, 2, 42.591146902162, -0.0016448121, 12947.116, 1),
    (2.0, "Ez", 10, 1, 6.5423635073971, -0.0034692725, 942.90135, 0),
    (2.0, "Ez", 10, 2, 8.4150711255043, -0.048163331, 87.359729, 1),
    (2.0, "Ez", 20, 1, 12.063569841646, -3.2963579e-6, 1829833.1, 0),
    (2.0, "Ez", 20, 2, 14.279276213642, -0.00038208727, 18685.883, 1),
    (2.0, "Ez", 30, 1, 17.421168203138, -1.5628856e-9, 5.5733985e+9, 0),
    (2.0, "Ez", 30, 2, 19.878753560904, -6.1811004e-7, 16080271.0, 1),
    (2.0, "Ez", 50, 1, 27.945507690365, -1.6245053e-16, 8.6012362e+16, 0),
    (2.0, "Ez", 50, 2, 30.763789186183, -3.3444005e-13, 4.599298e+13, 1),
    (3.4, "Ez", 10, 1, 3.9068221082878, -3.1630231e-7, 6175772.4, 0),
    (3.4, "Ez", 10, 2, 5.0425454666868, -2.1843847e-5, 115422.56, 1),
    (3.4, "Ez", 20, 1, 7.1405833792224, -1.8387789e-14, 1.9416645e+14, 0),
    (3.4, "Ez", 20, 2, 8.4585421113953, -7.7053816e-12, 5.4887237e+11, 1),
    (3.4, "Ez", 30, 1, 10.288453713201, -5.5227014e-22, 9.3146931e+21, 0),
    (3.4, "Ez", 30, 2, 11.74279682248, -7.5912035e-19, 7.7344764e+18, 1),
    (3.4, "Ez", 50, 1, 16.476336706393, -2.2459141e-37, 3.6680692e+37, 0),
    (3.4, "Ez", 50, 2, 18.139424151968, -1.6675113e-33, 5.4390707e+33, 1),
    (2.0, "Hz", 10, 1, 6.9749689700619, -0.0056345346, 618.9481, 0),
    (2.0, "Hz", 10, 2, 8.752033627251, -0.1238521, 35.332601, 1),
    (2.0, "Hz", 20, 1, 12.505873444345, -4.5498915e-6, 1374304.6, 0),
    (2.0, "Hz", 20, 2, 14.706353676689, -0.00065811685, 11173.057, 1),
    (2.0, "Hz", 30, 1, 17.863188140077, -2.0430488e-9, 4.3716988e+9, 0),
    (2.0, "Hz", 30, 2, 20.317486514763, -9.3591986e-7, 10854288.0, 1),
    (2.0, "Hz", 50, 1, 28.38603290255, -2.0256869e-16, 7.0065204e+16, 0),
    (2.0, "Hz", 50, 2, 31.205605342481, -4.5834033e-13, 3.4041959e+13, 1),
    (3.4, "Hz", 10, 1, 4.216638246182, -2.3315238e-7, 9042666.3, 0),
    (3.4, "Hz", 10, 2, 5.3650797425763, -2.1896764e-5, 122508.5, 1),
    (3.4, "Hz", 20, 1, 7.4407760237685, -1.196368e-14, 3.1097355e+14, 0),
    (3.4, "Hz", 20, 2, 8.7697868165726, -5.9139339e-12, 7.4145121e+11, 1),
    (3.4, "Hz", 30, 1, 10.584444356109, -3.4275084e-22, 1.5440435e+22, 0),
    (3.4, "Hz", 30, 2, 12.048076064651, -5.3110172e-19, 1.1342532e+19, 1),
    (3.4, "Hz", 50, 1, 16.76824912846, -1.3355905e-37, 6.2774665e+37, 0),
    (3.4, "Hz", 50, 2, 18.438498483187, -1.0758638e-33, 8.5691603e+33, 1),
]
_PKG_POL = {"Ez": "TE", "Hz": "TM"}


def _row_id(r):
    return f"n{r[0]}-{r[1]}-m{r[2]}-q{r[3]}"


@pytest.mark.parametrize("n, pol, m, q, re_x, im_x, Q, zeros", TABLE_D, ids=[_row_id(r) for r in TABLE_D])
def test_table_d_disk(n, pol, m, q, re_x, im_x, Q, zeros):
    """Every row of Table D (cheap: no mpmath), including Q ~ 1e37."""
    mode = exact.solve_order(Resonator(Disk(1.0, INF, C(n))), _PKG_POL[pol], m, q)
    x = complex(*mode.size_parameter)
    assert x.real == pytest.approx(re_x, rel=TABLE_RE_X_REL_TOL)
    assert mode.Q == pytest.approx(Q, rel=TABLE_Q_REL_TOL)
    assert mode.radial_order == q == zeros + 1
    assert mode.wavelength_nm == pytest.approx(2000 * math.pi / re_x, rel=TABLE_RE_X_REL_TOL)


# The reference, seeded from the table (not from the package), reproduces it to its printed digits.
_REF_D_ROWS = [r for r in TABLE_D if (r[0], r[1], r[2], r[3]) in {
    (1.45, "Hz", 10, 2), (2.0, "Ez", 30, 2), (3.4, "Ez", 50, 1), (3.4, "Hz", 50, 1), (2.0, "Hz", 50, 2)}]
_REF_S_ROWS = [r for r in TABLE_S if (r[0], r[1], r[2], r[3]) in {
    (1.45, "TE", 20, 1), (1.45, "TM", 10, 2), (2.0, "TE", 50, 3), (2.0, "TM", 50, 1)}]


def _table_seed(re_x, im_x):
    return complex(re_x, im_x) * (1 + 1e-4) - 1e-4j * abs(im_x)


@pytest.mark.parametrize("n, pol, m, q, re_x, im_x, Q, zeros", _REF_D_ROWS, ids=[_row_id(r) for r in _REF_D_ROWS])
def test_reference_reproduces_table_d(n, pol, m, q, re_x, im_x, Q, zeros):
    x = reference_root("cylinder", pol, m, (1.0,), (n,), 1.0, _table_seed(re_x, im_x))
    assert x.real == pytest.approx(re_x, rel=REF_TABLE_RE_X_REL_TOL)
    assert _q(x) == pytest.approx(Q, rel=REF_TABLE_Q_REL_TOL)
    assert count_interior_nodes("cylinder", pol, m, (1.0,), (n,), x) == zeros == q - 1


@pytest.mark.parametrize("n, pol, l, q, re_x, im_x, Q, _lly, _sch", _REF_S_ROWS,
                         ids=[f"m{r[0]}-{r[1]}-l{r[2]}-q{r[3]}" for r in _REF_S_ROWS])
def test_reference_reproduces_table_s(n, pol, l, q, re_x, im_x, Q, _lly, _sch):
    x = reference_root("sphere", pol, l, (1.0,), (n,), 1.0, _table_seed(re_x, im_x))
    assert x.real == pytest.approx(re_x, rel=REF_TABLE_RE_X_REL_TOL)
    assert _q(x) == pytest.approx(Q, rel=REF_TABLE_Q_REL_TOL)
    assert count_interior_nodes("sphere", pol, l, (1.0,), (n,), x) == q - 1


# --------------------------------------------------------------------------------------
# Meep's ring (notes §2.0): n = 3.4, inner radius 1, outer radius 2 (Meep length unit 1 µm),
# Ez, m = 4; exact f = 0.147431033, Q = 343.92.  Tolerances: half a unit of the last digit.
MEEP_F = 0.147431033
MEEP_F_ABS_TOL = 5e-10
MEEP_Q = 343.92
MEEP_Q_ABS_TOL = 5e-3


def test_meep_ring_m4():
    case = Case("meep-ring", RING, "cylinder", (1.0, 2.0), (1.0, 3.4), 1.0, "TE", 4, 1)
    mode = package_mode(case)
    f = mode.size_parameter[0] / (2 * math.pi * 2.0)  # Meep units: f = 1/λ[µm]
    assert f == pytest.approx(MEEP_F, abs=MEEP_F_ABS_TOL)
    assert 1000.0 / mode.wavelength_nm == pytest.approx(MEEP_F, abs=MEEP_F_ABS_TOL)
    assert mode.Q == pytest.approx(MEEP_Q, abs=MEEP_Q_ABS_TOL)
    x_ref = reference(case)
    assert x_ref.real / (4 * math.pi) == pytest.approx(MEEP_F, abs=MEEP_F_ABS_TOL)
    assert _q(x_ref) == pytest.approx(MEEP_Q, abs=MEEP_Q_ABS_TOL)
    assert count_interior_nodes(case.kind, case.pol, 4, case.radii, case.indices, x_ref) == 0


# --------------------------------------------------------------------------------------
# Layered stacks at high Q.  Contract: Im x is within IM_X_REL_TOL of the reference, or the
# mode says it is not: a note "Q uncertain by <p> %" (or the older "Q known to <eps> only")
# whose figure covers the actual error, or ``q_resolved = False`` with a Q that really is a
# lower bound.  Through a shell or a ring's hole the package's Im x is limited to roughly
# eps_double × |x| (the homogeneous sphere/disk keep ~1e-15 relative, Tables S/D), and the
# error goes unflagged until it passes ~1e-3: the xfails below record the measured errors.

_KNOWN = "known: layered-stack Im x loses relative precision at high Q, unflagged"
HIGH_Q_CASES = [
    pytest.param(Case("coated-sphere", COATED, "sphere", (2.0, 2.05), (1.46, 2.0), 1.0, "TE", 60, 1),
                 id="coated-sphere-TE-l60-q1"),  # Q 2.7e13: error 2.1e-3, flagged "0.6 %"
    pytest.param(Case("ring-2d", RING, "cylinder", (1.0, 2.0), (1.0, 3.4), 1.0, "TE", 45, 1),
                 id="ring-2d-TE-m45-q1"),  # Q 4.4e33: Im x 300x too large, reported as a lower bound
    pytest.param(Case("coated-sphere", COATED, "sphere", (2.0, 2.05), (1.46, 2.0), 1.0, "TM", 60, 1),
                 id="coated-sphere-TM-l60-q1"),
    pytest.param(Case("two-shell-sphere", TWO_SHELL, "sphere", (2.0, 2.1, 2.13), (1.45, 1.6, 2.2), 1.0,
                      "TM", 60, 1),
                 id="two-shell-sphere-TM-l60-q1"),
    pytest.param(Case("coated-disk-2d", COATED_DISK, "cylinder", (2.0, 2.05), (1.6, 2.4), 1.0, "TE", 35, 1),
                 id="coated-disk-2d-TE-m35-q1"),
    pytest.param(Case("ring-2d", RING, "cylinder", (1.0, 2.0), (1.0, 3.4), 1.0, "TM", 29, 1),
                 id="ring-2d-TM-m29-q1"),
]


def _claimed_im_uncertainty(note: str) -> float:
    m = re.search(r"Q uncertain by ([0-9.eE+-]+) %", note or "")
    if m:
        return float(m.group(1)) / 100
    m = re.search(r"Q known to ([0-9.eE+-]+) only", note or "")
    return float(m.group(1)) if m else 0.0


@pytest.mark.parametrize("case", HIGH_Q_CASES)
def test_layered_high_q_accurate_or_flagged(case):
    mode = package_mode(case)
    x_pkg = complex(*mode.size_parameter)
    x_ref = reference(case)
    assert x_pkg.real == pytest.approx(x_ref.real, rel=RE_X_REL_TOL)
    if getattr(mode, "q_resolved", True) is False:
        assert 0 < mode.Q <= _q(x_ref) * (1 + Q_REL_TOL), "reported lower bound exceeds the true Q"
        return
    err = abs(x_pkg.imag / x_ref.imag - 1)
    allowed = max(IM_X_REL_TOL, mode.q_rel_error or 0.0, _claimed_im_uncertainty(mode.note))
    assert err <= allowed, f"Im x off by {err:.2e} relative (Q {mode.Q:.4e} vs {_q(x_ref):.4e}); note {mode.note!r}"
