"""The toroid and the pedestal in FDTD: Meep's own ε on the grid is the cross-section of
wgm.model.section (fast-ish: builds the simulations, no time stepping), and (slow) runs that
find a small toroid's TE and TM modes and a disk on a pillar on a substrate against FEM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import meep_or_skip
from wgm.fdtd.settings import FdtdSettings
from wgm.model import section
from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Coating, Disk, Pedestal, Resonator, Search, Toroid

meep_or_skip()

from wgm.fdtd import meep_model as mm  # noqa: E402
from wgm.fdtd.plan import plan  # noqa: E402

RES = 20.0  # px/µm: coarse, so that many pixels are far from every boundary
# Meep smooths ε over the pixel around each grid point (and the material function of a lossy
# film's zone does too), and its Dielectric output interpolates the Yee grid's values to the
# pixel centres: grid points within FAR_PX of a boundary may differ from the medium there
# (measured: every mismatch within 1.04 px of the torus' boundary at 20 px/µm)
FAR_PX = 1.5


def _eps_on_grid(res, m=10):
    pl = plan(res, Search((1000.0, 1040.0), 1), FdtdSettings(m=(m,), resolution_px_per_um=RES, domain="full",
                                                             materials="band-centre"))
    mp = mm.meep()
    sim = mm.simulation(res, pl, m, "Ez", pl.f_centre, 0.1 * pl.f_centre, -1)
    mm.init_sim(sim)
    vol = mm.dft_volume(pl)
    eps = np.asarray(sim.get_array(component=mp.Dielectric, vol=vol)).T  # (r, z)
    # the points are the pixels' centres: Meep 1.25's metadata gives them in z but a single
    # r = 0 in a cylindrical cell, so r is counted here (checked: the mismatches then all lie
    # within 1.04 px of the torus' boundary, against 1.5 px with r = i Δr)
    z = np.asarray(sim.get_array_metadata(vol=vol)[2])
    r = pl.r_min_um + (np.arange(eps.shape[0]) + 0.5) / RES
    assert eps.shape[1] == len(z)
    return pl, r, z, eps


def _distance_to_boundary_px(idx):
    """Grid points farther than FAR_PX pixels from a point of another medium."""
    from scipy import ndimage

    far = np.ones(idx.shape, bool)
    reach = int(math.ceil(FAR_PX))
    for k in np.unique(idx):
        far &= ~(ndimage.binary_dilation(idx == k, iterations=reach) & (idx != k))
    return far


def _check(res, pl, r, z, eps):
    idx = section.medium_index(res, r[:, None], z[None, :])
    eps_ref = np.array([p.epsilon for p in pl.media])[idx]
    far = _distance_to_boundary_px(idx)
    assert far.sum() > 0.8 * far.size
    assert np.all(np.abs(eps[far] - eps_ref[far]) < 1e-9), np.argwhere(far & (np.abs(eps - eps_ref) > 1e-9))[:5]
    return idx


def test_toroid_in_meep_is_the_section_torus():
    """A coated toroid (a lossy coating: its pixels near the boundaries are the material
    function's, wgm.fdtd.fill with off-axis circles): Meep's ε away from the boundaries is the
    medium of section.medium_index (Meep's Dielectric output is smoothed over about two pixels
    around a boundary: measured, a pixel 1 px outside the tube at its inner equator reads
    ε = 1.24, so only the points beyond FAR_PX are compared)."""
    res = Resonator(Toroid(1.5, 0.4, ConstantIndex(2.0)), (Coating(0.15, ConstantIndex(1.6, 0.01)),))
    pl, r, z, eps = _eps_on_grid(res)
    idx = _check(res, pl, r, z, eps)
    assert set(np.unique(idx)) == {0, 1, 2}
    bare = Resonator(Toroid(1.5, 0.4, ConstantIndex(2.0)))
    pl, r, z, eps = _eps_on_grid(bare)
    _check(bare, pl, r, z, eps)
    # the torus, not a cylinder or a sphere: the tube's top and bottom and the hole are there
    rr, zz = np.meshgrid(r, z, indexing="ij")
    tube = eps > 2.5  # (more than half the way from 1 to 4: boundary pixels included)
    assert rr[tube].min() == pytest.approx(1.1, abs=FAR_PX / RES) and rr[tube].max() == pytest.approx(1.9, abs=FAR_PX / RES)
    assert np.abs(zz[tube]).max() == pytest.approx(0.4, abs=FAR_PX / RES)


def test_pedestal_and_substrate_in_meep_are_the_section_ones():
    """A disk on a pillar standing on a substrate: Meep's ε is section.medium_index's media
    (disk 0, surroundings 1, substrate 2, pedestal 3), the pillar between the disk's bottom and
    the substrate."""
    res = Resonator(Disk(1.5, 0.3, ConstantIndex(1.45)), substrate=ConstantIndex(1.3),
                    pedestal=Pedestal(0.8, 0.6, ConstantIndex(2.5)))
    pl, r, z, eps = _eps_on_grid(res)
    assert [p.epsilon for p in pl.media] == pytest.approx([1.45**2, 1.0, 1.3**2, 2.5**2])
    idx = _check(res, pl, r, z, eps)
    assert set(np.unique(idx)) == {0, 1, 2, 3}
    # the pillar's grid points: under the disk's bottom (z = -0.15), down to -0.75, r < 0.8
    rr, zz = np.meshgrid(r, z, indexing="ij")
    pillar = np.isclose(eps, 2.5**2)
    assert rr[pillar].max() < 0.8 and zz[pillar].max() < -0.15 and zz[pillar].min() > -0.75


# --------------------------------------------------------------------------------------
# slow: runs


@pytest.mark.slow
def test_small_toroid_has_te_and_tm_modes_of_sensible_q():
    """A 1.5/0.4 µm n = 2 toroid, 1350-1450 nm, m = 11 and 12 (the planner's estimate covers
    them: see test below): TE m = 12 and TM m = 11 are found, Q resolved, below the Q of the
    modes of the sphere of the same outer radius near them (the sphere's 12180, TE l = 13 at
    1403 nm, and 3794, TM l = 12 at 1425 nm: the toroid's tube curves the mode more tightly
    in the polar direction and holds it less).  Measured with this code (28 px/µm, default
    accuracy): TE m = 12 at 1367.694 nm, Q 2147; TM m = 11 at 1430.719 nm, Q 938."""
    from wgm.fdtd import solve
    from wgm.model.estimate import choose_m

    res = Resonator(Toroid(1.5, 0.4, ConstantIndex(2.0)))
    search = Search((1350.0, 1450.0), 1)
    spec = solve(res, search, FdtdSettings(m=(11, 12)))
    got = {(md.polarization, md.m): md for md in spec.modes}
    assert set(got) == {("TE", 12), ("TM", 11)}
    te, tm = got["TE", 12], got["TM", 11]
    assert te.q_resolved and tm.q_resolved
    assert 100 < te.Q < 12180 and 100 < tm.Q < 3794
    # regression against the values measured with this code, to the run's own expected errors
    assert te.wavelength_nm == pytest.approx(1367.694, rel=2 * te.wavelength_rel_error)
    assert tm.wavelength_nm == pytest.approx(1430.719, rel=2 * tm.wavelength_rel_error)
    assert te.Q == pytest.approx(2147, rel=2 * te.q_rel_error) and tm.Q == pytest.approx(938, rel=2 * tm.q_rel_error)
    assert {11, 12} <= set(choose_m(res, search, 0.5 * (1 / 1.35 + 1 / 1.45)))


@pytest.mark.slow
def test_pedestal_leaking_to_the_substrate_matches_fem():
    """A 2 µm n = 2 disk 0.5 µm thick, TE m = 14, on a pillar of its own index (radius 1.5 µm,
    0.5 µm tall) standing on a substrate of that index: the pillar reaches under the rim,
    within the mode's evanescent tail below the disk, and leads into the substrate, a loss
    channel the bare disk lacks.  FDTD at 30 px/µm against FEM (asked for 10⁻⁶) within the
    errors the engine states for the mode (its convergence model: 8.4×10⁻⁴ in λ, 4.4 % in Q),
    and Q well below the bare disk's (FEM; FDTD agrees with it within 0.2 %,
    test_fdtd_zfaces.py).  Measured with this code: FEM 1212.88 nm, Q 1535 (bare 1207.20 nm,
    Q 2280); FDTD 1211.99 nm, Q 1532 (−7.4×10⁻⁴, −0.2 %; the default cell: Q 1535).  Before
    the substrate's and the pillar's faces went into the fill zone (Meep staircased their
    z faces): Q 1400 (−8.8 %).  A smaller cell than the default (pad 1.2 µm, about one
    wavelength, PML 1.8 µm) halves the run (~65 s)."""
    from wgm.fdtd import solve
    from wgm.fem import run as fem_run
    from wgm.fem.settings import FemSettings

    search = Search((1150.0, 1250.0), 1, ("TE",))
    n2 = ConstantIndex(2.0)
    bare = Resonator(Disk(2.0, 0.5, n2))
    on_pillar = Resonator(Disk(2.0, 0.5, n2), substrate=n2, pedestal=Pedestal(1.5, 0.5, n2))
    fem = FemSettings(m=(14,), accuracy_wavelength=1e-6)
    (alone,) = [md for md in fem_run.solve(bare, search, fem).modes if md.radial_order == 1]
    (ref,) = [md for md in fem_run.solve(on_pillar, search, fem).modes if md.radial_order == 1]
    settings = FdtdSettings(m=(14,), resolution_px_per_um=30, pad_um=1.2, pml_um=1.8)
    held = min(solve(on_pillar, search, settings).modes, key=lambda md: abs(md.wavelength_nm - ref.wavelength_nm))
    assert held.q_resolved
    assert abs(held.wavelength_nm / ref.wavelength_nm - 1) <= held.wavelength_rel_error
    assert abs(held.Q / ref.Q - 1) <= held.q_rel_error
    # the leak: the pillar takes a third of the bare disk's Q (FEM: 0.67)
    assert ref.Q < 0.8 * alone.Q and held.Q < 0.8 * alone.Q
