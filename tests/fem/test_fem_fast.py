"""The finite-element engine (wgm/fem), fast checks: the mesh, a closed PEC cylinder against its
closed-form eigenvalues (the axis conditions for m = 0, 1, 2 and the convergence order), a small
bare sphere against the exact solver, and the ``[fem]`` settings' validation."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

pytest.importorskip("skfem")
pytest.importorskip("gmsh")

from scipy.spatial import cKDTree  # noqa: E402
from scipy.special import jn_zeros, jnp_zeros  # noqa: E402

from wgm.errors import ConfigError  # noqa: E402
from wgm.exact import solver as exact  # noqa: E402
from wgm.fem import FemSettings, eigen, forms, solve  # noqa: E402
from wgm.fem.mesh import Domain, build_mesh  # noqa: E402
from wgm.fem.plan import plan  # noqa: E402
from wgm.model import section  # noqa: E402
from wgm.model.materials import ConstantIndex  # noqa: E402
from wgm.model.resonator import Coating, Disk, Resonator, Search, Sphere  # noqa: E402

# ---------------------------------------------------------------------------------------------
# the PEC cylinder: radius A, height D, index 1, a closed cavity (no PML)

A_UM, D_UM = 1.0, 1.5
CYL = Resonator(Disk(A_UM, D_UM, ConstantIndex(1.0)))
CYL_DOMAIN = Domain(0.0, A_UM, A_UM, -D_UM / 2, -D_UM / 2, D_UM / 2, D_UM / 2)
EPS_ONE = {0: 1.0, 1: 1.0}


def cylinder_k2(m: int, n_lowest: int = 4) -> list[float]:
    """The lowest closed-form k0² (1/µm²) of the PEC cylinder for azimuthal number m:
    TM (x_mn/a)² + (pπ/d)², p ≥ 0, and TE (x'_mn/a)² + (pπ/d)², p ≥ 1."""
    vals = [(x / A_UM) ** 2 + (p * math.pi / D_UM) ** 2 for x in jn_zeros(m, 4) for p in range(4)]
    vals += [(x / A_UM) ** 2 + (p * math.pi / D_UM) ** 2 for x in jnp_zeros(m, 4) for p in range(1, 4)]
    return sorted(vals)[:n_lowest]


_MESHES: dict = {}


def cylinder_mesh(h_um: float):
    if h_um not in _MESHES:
        _MESHES[h_um] = build_mesh(CYL, CYL_DOMAIN, {0: h_um, 1: h_um})
    return _MESHES[h_um]


def cylinder_eigenvalues(fm, order: int, m: int, n_eig: int = 10) -> np.ndarray:
    """Non-zero k0² of the closed cylinder near the lowest exact one (real shift)."""
    pencil, _ = forms.assemble(fm, order, m, 0.0)
    free = eigen.free_dofs(fm, pencil.basis, m, eigen.Walls(None))
    target = 0.9 * math.sqrt(cylinder_k2(m)[0])
    pairs = eigen.solve_near(pencil, EPS_ONE, free, complex(target), n_eig)
    k2 = np.sort(np.array([p.k0 ** 2 for p in pairs]).real)
    return k2[k2 > 1e-6]  # the gradient fields' kernel sits at k0² = 0 (round-off)


def worst_error(k2: np.ndarray, m: int) -> float:
    """The largest relative error of the four lowest exact k0² (each against its nearest eigenvalue)."""
    return max(float(np.min(np.abs(k2 - e)) / e) for e in cylinder_k2(m))


# Measured with this code (gmsh element size h, relative error of k0², worst of the 4 lowest modes
# of m = 0, 1, 2): P2 h = 0.4/0.2/0.1 µm → 7.9e-3 / 8.3e-4 / 6.6e-5; P3 → 1.8e-4 / 4.2e-6 / 9.7e-8
# (h^3.6–h^4 for P2, h^5.3–h^5.6 for P3: the expected h^(2p), a little lower because gmsh's meshes
# of sizes h and h/2 are not nested).  The tolerance at P3, h = 0.1 µm is 3× the worst measured.
CYL_H_UM = 0.1
CYL_P3_K2_TOL = 3e-7


@pytest.mark.parametrize("m", [0, 1, 2])
def test_pec_cylinder_matches_closed_form(m):
    k2 = cylinder_eigenvalues(cylinder_mesh(CYL_H_UM), 3, m)
    assert worst_error(k2, m) < CYL_P3_K2_TOL
    # no spurious eigenvalue between the exact ones: every computed one below the 4th exact is one of them
    exact_k2 = np.array(cylinder_k2(m))
    below = k2[k2 < exact_k2[-1] * 1.01]
    assert all(np.min(np.abs(exact_k2 - v)) / v < 1e-4 for v in below)


# The convergence order of k0² with h, fitted over h = 0.4, 0.2, 0.1 µm (the log-log slope of the
# worst error of m = 1's four lowest modes).  Measured: P2 3.7, P3 5.4; theory h^(2p) = 4 and 6.
# Lower bounds leave room for the non-nested meshes, and fail for one order less (h^(2p-1)),
# e.g. a geometry or quadrature error.
ORDER_SLOPE_MIN = {2: 3.4, 3: 5.0}


@pytest.mark.parametrize("order", [2, 3])
def test_pec_cylinder_convergence_order(order):
    hs = (0.4, 0.2, 0.1)
    errs = [worst_error(cylinder_eigenvalues(cylinder_mesh(h), order, 1), 1) for h in hs]
    slope = np.polyfit(np.log(hs), np.log(errs), 1)[0]
    assert slope > ORDER_SLOPE_MIN[order], (errs, slope)
    assert slope < 2 * order + 1.5, (errs, slope)  # not faster than theory: else the "exact" values are off


# ---------------------------------------------------------------------------------------------
# the mesh

def test_mesh_connectivity_sorted_and_unsorted_n2_is_wrong():
    """scikit-fem orients N2/N3 edge unknowns by a sign only: build_mesh must sort each triangle's
    vertices.  The same mesh with the vertices of each triangle rolled (still counter-clockwise)
    gives a wrong spectrum with N2 × P2, while the sorted one gives the exact eigenvalue."""
    fm = cylinder_mesh(0.2)
    t = fm.mesh.t
    assert type(fm.mesh).__name__ == "MeshTri2"
    assert np.all(np.diff(t, axis=0) > 0)
    rolled = np.stack([np.roll(t[:, k], k % 3) for k in range(t.shape[1])], axis=1)
    from skfem import MeshTri2

    unsorted = dataclasses.replace(fm, mesh=MeshTri2(fm.mesh.doflocs, rolled))
    assert np.array_equal(unsorted.mesh.doflocs, fm.mesh.doflocs)  # the same curved geometry
    k2_exact = cylinder_k2(1)[0]
    near = {}
    for name, mesh in (("sorted", fm), ("unsorted", unsorted)):
        k2 = cylinder_eigenvalues(mesh, 2, 1, n_eig=4)
        near[name] = k2[np.abs(k2 / k2_exact - 1) < 0.15]
    # sorted: the one eigenvalue within 15 %, to the P2 accuracy at h = 0.2 (measured 1.1e-4)
    assert len(near["sorted"]) == 1 and abs(near["sorted"][0] / k2_exact - 1) < 1e-3
    # unsorted (measured: 7.22, 7.37, 7.81, 8.56 for the exact 7.776): not the exact spectrum
    assert not (len(near["unsorted"]) == 1 and abs(near["unsorted"][0] / k2_exact - 1) < 1e-3)


COATED = Resonator(Sphere(1.0, ConstantIndex(1.45)), (Coating(0.05, ConstantIndex(2.0)),))
CURVE_TOL_UM = 1e-9  # gmsh places second-order nodes on the OpenCASCADE circle (round-off)


@pytest.fixture(scope="module")
def coated_mesh():
    pl = plan(COATED, Search((370.0, 380.0)), FemSettings(m=(20,)), pml_factor=1.5)
    return build_mesh(COATED, pl.domain, pl.sizes_um)


def test_mesh_medium_tags_agree_with_section(coated_mesh):
    fm = coated_mesh
    centroid = fm.mesh.p[:, fm.mesh.t].mean(axis=1)
    expected = section.medium_index(COATED, centroid[0], centroid[1])
    assert np.array_equal(fm.medium, expected)
    assert set(np.unique(fm.medium)) == {0, 1, 2}  # core, coating, surroundings
    # the PML flag: exactly the elements beyond r_pml (or z_pml_hi)
    dom = fm.domain
    beyond = (centroid[0] > dom.r_pml) | (centroid[1] > dom.z_pml_hi) | (centroid[1] < dom.z_pml_lo)
    assert np.array_equal(fm.in_pml, beyond)


def test_mesh_curved_nodes_on_circles(coated_mesh):
    """Every node (vertices and the curved sides' mid-nodes) of an interface between two media
    lies on that interface's circle."""
    fm = coated_mesh
    mesh = fm.mesh
    f2t = mesh.f2t
    inner = f2t[1] >= 0
    a, b = fm.medium[f2t[0, inner]], fm.medium[f2t[1, inner]]
    facets = np.nonzero(inner)[0]
    is_vertex = np.zeros(mesh.doflocs.shape[1], dtype=bool)
    is_vertex[mesh.t.ravel()] = True
    extra = mesh.doflocs[:, ~is_vertex]  # the second-order (mid-side) nodes
    for pair, radius in (({0, 1}, 1.0), ({1, 2}, 1.05)):
        sel = facets[[{int(x), int(y)} == pair for x, y in zip(a, b)]]
        assert len(sel) >= 10  # enough interface sides for the check to mean something
        ends = mesh.p[:, mesh.facets[:, sel].ravel()]
        mid_chord = mesh.p[:, mesh.facets[:, sel]].mean(axis=1)
        # each side's mid-node: the second-order node nearest the chord's midpoint
        _, which = cKDTree(extra.T).query(mid_chord.T)
        mids = extra[:, which]
        assert len(np.unique(which)) == len(sel)
        for pts in (ends, mids):
            assert np.max(np.abs(np.hypot(pts[0], pts[1]) - radius)) < CURVE_TOL_UM
        # the mid-nodes are curved: off the straight chord (the sagitta, ~h²/8a ≥ 1e-5 µm here)
        assert np.min(np.hypot(*(mids - mid_chord))) > 1e-6


# ---------------------------------------------------------------------------------------------
# a small bare sphere against the exact solver (n = 1.45, a = 1 µm, m = l = 20, q = 1)

# The accuracy goals (the defaults of FemSettings): 1e-6 in λ, 1e-3 in Q.
# Measured with this code: TE λ −1.7e-8, Q +3.0e-7; TM λ +1.4e-8, Q −4.8e-6.
SPHERE_LAMBDA_TOL = 1e-6
SPHERE_Q_TOL = 1e-3
SPHERE = Resonator(Sphere(1.0, ConstantIndex(1.45)))


@pytest.mark.parametrize("pol", ["TE", "TM"])
def test_small_sphere_against_exact(pol):
    ref = exact.solve_order(SPHERE, pol, 20, 1)
    band = (ref.wavelength_nm * 0.999, ref.wavelength_nm * 1.001)
    spec = solve(SPHERE, Search(band, max_radial_order=1, polarizations=(pol,)), FemSettings(m=(20,)))
    assert spec.method == "fem"
    assert len(spec.modes) == 1
    md = spec.modes[0]
    assert (md.polarization, md.l, md.m, md.radial_order, md.polar_order) == (pol, 20, 20, 1, 0)
    err_lam = abs(md.wavelength_nm / ref.wavelength_nm - 1)
    err_q = abs(md.Q / ref.Q - 1)
    assert err_lam < SPHERE_LAMBDA_TOL
    assert err_q < SPHERE_Q_TOL
    # the error estimates (coarse vs refined solve) bound the actual error of the reported mode
    # (measured: λ estimate 1.3e-7 / 4.0e-8 vs actual 1.7e-8 / 1.4e-8; Q 1.0e-4 / 1.2e-4 vs 3e-7 / 4.8e-6)
    assert md.wavelength_rel_error is not None and md.wavelength_rel_error >= err_lam
    assert md.q_rel_error is not None and md.q_rel_error >= err_q
    assert md.mode_volume_um3 > 0
    shares = dict(md.energy_shares)
    assert shares["core"] > 0.5 and sum(shares.values()) == pytest.approx(1.0, abs=1e-9)


# ---------------------------------------------------------------------------------------------
# [fem] validation

@pytest.mark.parametrize("kwargs, key", [
    ({"order": 4}, "fem.order"),
    ({"order": True}, "fem.order"),
    ({"domain": "half"}, "fem.domain"),
    ({"accuracy_wavelength": 0.0}, "fem.accuracy_wavelength"),
    ({"accuracy_wavelength": 0.1}, "fem.accuracy_wavelength"),
    ({"accuracy_q": 0.9}, "fem.accuracy_q"),
    ({"m": (-1,)}, "fem.m"),
    ({"m": ()}, "fem.m"),
    ({"m": (20.5,)}, "fem.m"),
    ({"elements_per_wavelength": -3.0}, "fem.elements_per_wavelength"),
    ({"pad_um": 0.0}, "fem.pad_um"),
    ({"pml_um": -1.0}, "fem.pml_um"),
    ({"pml_strength": 0.0}, "fem.pml_strength"),
    ({"pml_strength": 100.0}, "fem.pml_strength"),
    ({"symmetry": "yes"}, "fem.symmetry"),
    ({"error_estimate": 1}, "fem.error_estimate"),
    ({"modes_per_target": 0}, "fem.modes_per_target"),
    ({"max_unknowns": 10}, "fem.max_unknowns"),
])
def test_settings_validation_names_the_key(kwargs, key):
    with pytest.raises(ConfigError) as info:
        FemSettings(**kwargs)
    assert info.value.key == key


def test_settings_accept_and_normalise():
    s = FemSettings(m=[20, 21], pml_strength=3, accuracy_q=0.01)
    assert s.m == (20, 21) and isinstance(s.pml_strength, float) and s.accuracy_q == 0.01
    assert FemSettings(m=20).m == (20,)


def test_max_unknowns_refused_before_any_work():
    """A mesh beyond fem.max_unknowns is refused by the plan (no mesh is built), naming the key
    and how to fit; without the refined solve the budget is the plain mesh's."""
    search = Search((370.0, 380.0), max_radial_order=1)
    settings = FemSettings(m=(20,), max_unknowns=1000)
    with pytest.raises(ConfigError) as info:
        solve(SPHERE, search, settings)
    assert info.value.key == "fem.max_unknowns" and "unknowns" in info.value.allowed
    n = plan(SPHERE, search, FemSettings(m=(20,), error_estimate=False)).unknowns
    assert n > 1000
    # the refined solve (element size / 1.5) multiplies the budget by 1.5² = 2.25
    with pytest.raises(ConfigError):
        plan(SPHERE, search, FemSettings(m=(20,), max_unknowns=int(1.5 * n)))
    plan(SPHERE, search, FemSettings(m=(20,), max_unknowns=int(1.5 * n), error_estimate=False))


# ---------------------------------------------------------------------------------------------
# the 2-D limit (an infinitely tall disk, solved as a thin slab between walls) against the exact
# 2-D solver: R = 2 µm, n = 2, m = 14, q = 1 (Q 1.8e4 / 1.3e4) and q = 2 (Q 560 / 280).
# Measured with this code: λ −3.5e-8 / −2.3e-8 (TE q = 1, 2), +8.8e-9 / −3.9e-8 (TM); Q within
# 1.7e-6.  Held to the goals (1e-6 in λ, 1e-3 in Q); each solve takes < 1 s.
DISK_2D = Resonator(Disk(2.0, math.inf, ConstantIndex(2.0)))


@pytest.mark.parametrize("pol", ["TE", "TM"])
@pytest.mark.parametrize("q", [1, 2])
def test_2d_disk_against_exact(pol, q):
    ref = exact.solve_order(DISK_2D, pol, 14, q)
    band = (ref.wavelength_nm * 0.999, ref.wavelength_nm * 1.001)
    spec = solve(DISK_2D, Search(band, max_radial_order=q, polarizations=(pol,)), FemSettings(m=(14,)))
    (md,) = spec.modes
    assert (md.polarization, md.l, md.m, md.radial_order) == (pol, 14, 14, q)
    assert abs(md.wavelength_nm / ref.wavelength_nm - 1) < SPHERE_LAMBDA_TOL
    assert abs(md.Q / ref.Q - 1) < SPHERE_Q_TOL


# ---------------------------------------------------------------------------------------------
# a dielectric slab (n = 2, thickness 0.5 µm, filling the radius) across the middle of the PEC
# cylinder: flat dielectric interfaces that the normal E jumps across (the faces of a disk), with
# a closed-form answer.  Each waveguide mode of the can (cut-off k_c = x_mn/a for TM_z, x'_mn/a
# for TE_z) is a transverse resonance in z with β_j² = n_j² k0² − k_c² in each layer:
#   TM_z: ε E_z and ∂_z E_z continuous, ∂_z E_z = 0 at the PEC ends;
#   TE_z: H_z and ∂_z H_z continuous, H_z = 0 at the ends;
# even and odd in z.  Measured with this code (P3, element size 0.1 µm in air, 0.05 µm in the
# slab): relative error of k0² ≤ 7.3e-8 over the 3 lowest modes of m = 0, 1, 2 (1e-9 to 1e-11
# at half that size: the h^6 rate).  Tolerance 3× the worst.
SLAB_N, SLAB_T_UM = 2.0, 0.5
SLAB_K2_TOL = 3e-7


def _beta_tan(b2: float, x: float) -> float:
    """β tan(βx) for real β² (evanescent β = iκ: −κ tanh κx)."""
    if b2 >= 0:
        b = math.sqrt(b2)
        return b * math.tan(b * x)
    k = math.sqrt(-b2)
    return -k * math.tanh(k * x)


def _beta_cot(b2: float, x: float) -> float:
    """β cot(βx) for real β² (β → 0: 1/x)."""
    if b2 > 0:
        b = math.sqrt(b2)
        return b / math.tan(b * x)
    k = math.sqrt(-b2)
    return k / math.tanh(k * x) if k > 0 else 1.0 / x


def slab_cylinder_k2(m: int, n_lowest: int = 3) -> list[float]:
    from scipy.optimize import brentq

    eps, half_t, gap = SLAB_N**2, SLAB_T_UM / 2, (D_UM - SLAB_T_UM) / 2
    out = []
    for family, zeros in (("TM", jn_zeros(m, 3)), ("TE", jnp_zeros(m, 3))):
        for x in zeros:
            kc2 = (x / A_UM) ** 2
            if family == "TM":
                eqs = [lambda k: _beta_tan(eps * k * k - kc2, half_t) / eps + _beta_tan(k * k - kc2, gap),
                       lambda k: _beta_cot(eps * k * k - kc2, half_t) / eps - _beta_tan(k * k - kc2, gap)]
            else:
                eqs = [lambda k: _beta_tan(eps * k * k - kc2, half_t) - _beta_cot(k * k - kc2, gap),
                       lambda k: _beta_cot(eps * k * k - kc2, half_t) + _beta_cot(k * k - kc2, gap)]
            for f in eqs:
                ks = np.linspace(math.sqrt(kc2) / SLAB_N + 1e-6, 5.0, 4000)
                vals = [f(k) for k in ks]
                for k1, k2, v1, v2 in zip(ks, ks[1:], vals, vals[1:]):
                    if np.sign(v1) != np.sign(v2):
                        r = brentq(f, k1, k2, xtol=1e-14)
                        if abs(f(r)) < 1e-6 * (1 + abs(v1) + abs(v2)):  # a root, not a pole of tan
                            out.append(r * r)
    return sorted(out)[:n_lowest]


@pytest.mark.parametrize("m", [0, 1, 2])
def test_dielectric_slab_in_pec_cylinder(m):
    res = Resonator(Disk(A_UM, SLAB_T_UM, ConstantIndex(SLAB_N)))
    fm = build_mesh(res, CYL_DOMAIN, {0: CYL_H_UM / SLAB_N, 1: CYL_H_UM})
    exact_k2 = slab_cylinder_k2(m)
    pencil, _ = forms.assemble(fm, 3, m, 0.0)
    free = eigen.free_dofs(fm, pencil.basis, m, eigen.Walls(None))
    pairs = eigen.solve_near(pencil, {0: SLAB_N**2, 1: 1.0}, free, complex(0.9 * math.sqrt(exact_k2[0])), 10)
    k2 = np.array([p.k0**2 for p in pairs]).real
    for e in exact_k2:
        assert np.min(np.abs(k2 - e)) / e < SLAB_K2_TOL, (e, np.sort(k2))


# ---------------------------------------------------------------------------------------------
# dispersive materials without new factorisations: residual inverse iteration with the target's
# LU.  A 2-D disk (R = 2 µm) of a strongly dispersive, absorbing Lorentz material (ε∞ 3.2, a pole
# at f = 0.6/µm, γ 0.05, σ 0.8: n ≈ 1.58 + 0.024i at the mode, Q 46), TE m = 14 q = 1, started
# from the eigenpair of a shift 1e-3 off the mode with ε frozen there (the mode then moves by
# ~5e-4, beyond the Rayleigh-only limit CONSISTENT_ALREADY).  A fixed point of the iteration
# solves the nonlinear problem exactly: a fresh eigen-solve with ε at the returned k0 must have
# k0 itself as an eigenvalue (measured with this code 3e-16; tolerance 1e-10, ten times the
# iteration's stopping tolerance 1e-11), and k0 must be the exact solver's mode up to the FEM's
# discretisation error (measured 9.5e-7 at Q 46; tolerance 1e-5, the FEM's stated error for a
# thin high-index film, which this low-Q, strongly absorbing mode resembles more than a bare sphere).
RII_SELF_TOL = 1e-10
RII_EXACT_TOL = 1e-5


def test_residual_inverse_iteration_solves_the_dispersive_problem():
    from wgm import units
    from wgm.fem import run
    from wgm.model.lorentz import LorentzMaterial, LorentzPole

    res = Resonator(Disk(2.0, math.inf, LorentzMaterial(3.2, (LorentzPole(0.6, 0.05, 0.8),))))
    ref = exact.solve_order(res, "TE", 14, 1)
    k_ex = complex(*ref.size_parameter) / 2.0
    search = Search((ref.wavelength_nm * 0.99, ref.wavelength_nm * 1.01), max_radial_order=1, polarizations=("TE",))
    settings = FemSettings(m=(14,))
    pl = plan(res, search, settings, pml_factor=run.PML_FACTOR)
    fm = build_mesh(res, pl.domain, pl.sizes_um, pml_factor=run.PML_FACTOR)
    pencil, _ = forms.assemble(fm, pl.order, 14, settings.pml_strength)
    free = eigen.free_dofs(fm, pencil.basis, 14, pl.classes[0])
    materials = run._materials(res)
    target = k_ex * (1 + 1e-3)
    pairs, factor = eigen.solve_near(pencil, run._eps_at(materials, target), free, target, 4, with_factor=True)
    start = min(pairs, key=lambda p: abs(p.k0 - k_ex))
    assert eigen.relative_change(start.k0, k_ex) > run.CONSISTENT_ALREADY  # the case the iteration is for
    # the engine's route: the Rayleigh functional's root first (first order only: the vector
    # is still the one of ε frozen at the shift), then the iteration from there
    found = run._Found(14, 0, start.k0, start.vector, pencil, fm, {})
    k_fp = run._rayleigh_root(found, materials)
    got = eigen.residual_inverse_iteration(factor, lambda k: run._eps_at(materials, k), k_fp, start.vector,
                                           run.SELF_CONSISTENT_TOL)
    assert got is not None
    k0, _vector = got
    check = eigen.solve_near(pencil, run._eps_at(materials, k0), free, k0, 3)
    assert min(eigen.relative_change(p.k0, k0) for p in check) < RII_SELF_TOL
    assert eigen.relative_change(k0, k_ex) < RII_EXACT_TOL
    assert abs(units.wavelength_nm_from_k0(k0.real).real / ref.wavelength_nm - 1) < RII_EXACT_TOL


def test_sphere_plan_has_targets_only_where_the_exact_solver_has_modes():
    """Spheres: the exact estimate is complete, so an (m, class) without an estimated mode gets
    no shift (before: three spread shifts of 8 eigenvalues each, every eigenpair found there
    iterated to self-consistency and then dropped as a polar order > 0 member)."""
    res = Resonator(Sphere(2.0, ConstantIndex(1.45)), (Coating(0.05, ConstantIndex(2.0)),))
    search = Search((540.0, 560.0), max_radial_order=3)
    pl = plan(res, search, FemSettings())
    est = exact.solve(res, search).modes
    wanted = {(md.l, 0 if md.polarization == "TE" else 1) for md in est}
    assert set(pl.targets) == wanted
    assert all(tg.expected for tgs in pl.targets.values() for tg in tgs)
    # a user's m without an exact mode in the band: nothing to solve, and said so
    absent = max(l for l, _ in wanted) + 5
    pl = plan(res, search, FemSettings(m=(absent,)))
    assert not pl.targets and any(f"m = {absent}" in note for note in pl.notes)


def test_rayleigh_functional_converges_where_the_fixed_point_map_expands():
    """k0² ε(k0) = a with ε(k0) = 2 + 5 (k0 − 3): the root k0 = 3, where the map
    k0 ← sqrt(a/ε(k0)) has derivative −3.75 (a plain fixed-point iteration runs away from it,
    as it did near the nanocrystal film's absorption edge)."""
    eps_at = lambda k: {0: 2.0 + 5.0 * (k - 3.0)}  # noqa: E731
    k = eigen.rayleigh_functional(18.0, {(0, False): 1.0}, eps_at, 3.01 + 0.001j)
    assert abs(k - 3.0) < 1e-12


# the flagship's TE1 l = 33 (Q 75, at 525.7 nm, near the film's absorption edge): once lost by
# the self-consistent iteration (the fixed-point map of the Rayleigh quotient expands there).
# Held to the thin-film goals of the issue (1e-5 in λ, 1 % in Q); measured with this code
# 4.7e-7 and 7e-5.
def test_flagship_mode_at_the_absorption_edge_is_found():
    from wgm.model.materials import library_material, nanocrystal_film

    res = Resonator(Sphere(2.0, library_material("silica")), (Coating(0.05, nanocrystal_film(0.5, 1.46, "brennan")),))
    ref = exact.solve_order(res, "TE", 33, 1)
    search = Search((524.0, 527.0), max_radial_order=1, polarizations=("TE",))
    spec = solve(res, search, FemSettings(error_estimate=False))
    (md,) = spec.modes
    assert (md.polarization, md.l, md.radial_order) == ("TE", 33, 1)
    assert abs(md.wavelength_nm / ref.wavelength_nm - 1) < 1e-5
    assert abs(md.Q / ref.Q - 1) < 1e-2


def test_residual_inverse_iteration_is_not_used_where_it_would_leave_the_mode():
    """A 2×2 pencil A = diag(1.0020, 0.9996), one medium with ε(k) = 1 + 4 (k − 1), shift σ = 1
    (ε frozen at k = 1): the wanted mode k ≈ 1.00033 (k² − σ = 6.7e-4) has a neighbour nearer
    the shift (the linear pencil's 0.9996: 4e-4 away).  Each step multiplies the neighbour's
    share by 6.7e-4/4e-4 > 1: the iteration runs to the neighbour (reviewer's example).  The
    engine must not use it here (:func:`eigen.rii_contracts`), and the iteration itself must not
    return another mode as this one (overlap with the start vector)."""
    import scipy.sparse as sp
    from scipy.sparse.linalg import splu

    A = sp.diags([1.0020, 0.9996]).tocsr().astype(complex)
    B = {(0, False): sp.identity(2, format="csr", dtype=complex)}
    factor = eigen.Factor(splu((A - B[(0, False)]).tocsc()), 1.0, np.arange(2), A, B)
    eps_at = lambda k: {0: 1.0 + 4.0 * (k - 1.0)}  # noqa: E731
    k_mode = eigen.rayleigh_functional(1.0020, {(0, False): 1.0}, eps_at, 1.0003)
    k_other = math.sqrt(0.9996)  # the linear pencil's other eigenvalue at the shift
    assert not eigen.rii_contracts(k_mode, 1.0, [k_other])
    assert eigen.rii_contracts(k_mode, 1.0, [math.sqrt(0.99)])  # a far neighbour: fine
    start = np.array([1.0, 1e-3], dtype=complex)  # the mode, with a little of the neighbour
    got = eigen.residual_inverse_iteration(factor, eps_at, k_mode, start, 1e-11)
    assert got is None or abs(got[0] - k_mode) < 1e-9
