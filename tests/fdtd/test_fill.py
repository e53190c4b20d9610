"""Fill fractions and the pixel averages of ε, loss and gain (wgm.fdtd.fill) against analytic
volumes, numerical quadrature and the exact mixing rules (fast: no Meep)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from wgm.fdtd import fill

# the fill fractions are exact formulas: only rounding separates them from the references
EXACT = 1e-12
QUAD = 1e-8  # scipy's adaptive quadrature of a discontinuous integrand, asked for 1e-11


def test_shell_in_a_1d_cell_fills_its_pixels_exactly():
    """A 50 nm shell (r from 1.5045 to 1.5545 µm) on a 1-D grid of 56 px/µm: the pixels it
    crosses hold exactly its volume ∫ r dr, and a pixel inside it is full."""
    shell = fill.Rect(1.5045, 1.5545, -math.inf, math.inf)
    dr = 1 / 56
    centres = np.arange(1.40, 1.70, dr) + 0.3 * dr
    vol = sum(fill.fraction(shell, r, 0.0, dr, 0.0) * ((r + dr / 2) ** 2 - (r - dr / 2) ** 2) / 2 for r in centres)
    assert vol == pytest.approx((1.5545**2 - 1.5045**2) / 2, rel=EXACT)
    assert fill.fraction(shell, 1.53, 0.0, dr, 0.0) == 1.0
    # a pixel straddling the inner boundary: the share of its ring beyond 1.5045 µm
    r = 1.5045 + 0.25 * dr
    a, b = r - dr / 2, r + dr / 2
    assert fill.fraction(shell, r, 0.0, dr, 0.0) == pytest.approx((b * b - 1.5045**2) / (b * b - a * a), rel=EXACT)


@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.25, 0.5), (0.5, 0.75), (0.75, 0.1)])
def test_sphere_volume_is_the_sum_of_its_pixels(offset):
    """A ball of radius 1 µm on a (r, z) grid of 20 px/µm shifted by fractions of a pixel: the
    pixels' fill fractions times their volumes (∫∫ r dr dz) add up to ∫∫ r dr dz over the ball's
    half disk, 2R³/3 (the pixel at the axis is cut there)."""
    d = 1 / 20
    ball = fill.Ball(1.0)
    rs = np.arange(-0.5 * d, 1.2, d) + offset[0] * d  # the first pixel is cut at the axis
    rs = rs[rs + d / 2 > 0]
    zs = np.arange(-1.2, 1.2, d) + offset[1] * d
    vol = 0.0
    for r in rs:
        for z in zs:
            a, b = max(r - d / 2, 0), r + d / 2
            vol += fill.fraction(ball, r, z, d, d) * (b * b - a * a) / 2 * d
    assert vol == pytest.approx(2 / 3, rel=EXACT)


@pytest.mark.parametrize("r, z", [(1.0, 0.0), (0.71, 0.70), (0.3, -0.95), (0.995, 0.1), (0.05, 1.0)])
def test_circle_area_in_a_pixel_matches_quadrature(r, z):
    """Pixels crossed by the unit circle (weight r): the exact fraction against scipy's
    adaptive quadrature of the indicator over the pixel."""
    d = 0.05
    a, b = max(r - d / 2, 0.0), r + d / 2
    inside, _ = integrate.quad(lambda zz: max(min(1 - zz * zz, b * b) - a * a, 0.0) / 2 if 1 - zz * zz > 0 else 0.0,
                               z - d / 2, z + d / 2, epsabs=1e-13, epsrel=1e-11, limit=200,
                               points=[p for p in (-math.sqrt(max(1 - b * b, 0)), math.sqrt(max(1 - b * b, 0)),
                                                   -math.sqrt(max(1 - a * a, 0)), math.sqrt(max(1 - a * a, 0)))
                                       if z - d / 2 < p < z + d / 2])
    ref = inside / ((b * b - a * a) / 2 * d)
    assert 0 < ref < 1
    assert fill.fraction(fill.Ball(1.0), r, z, d, d) == pytest.approx(ref, abs=QUAD)


def test_fractions_of_a_coated_disk_corner_sum_to_one_and_the_normal_bisects():
    """A 2-D pixel at the corner of a coated disk: shares of core, coating and surroundings sum
    to one; at the corner's diagonal the boundary normal is at 45°."""
    core = fill.Rect(0.0, 1.0, -0.2, 0.2)
    coat = fill.Rect(0.0, 1.05, -0.25, 0.25)
    regions = [fill.Region(coat, 1, core), fill.Region(core, 0)]
    d = 0.02
    f = fill.fractions(regions, 3, 2, 1.05, 0.25, d, d)
    assert f.sum() == pytest.approx(1.0, rel=EXACT)
    assert f[0] == 0 and f[2] == pytest.approx(0.75, rel=1e-2)  # weight r: a hair below 3/4 outside
    nr, nz = fill.normal(regions, 1.05, 0.25, d, d)
    assert abs(nr) == pytest.approx(abs(nz), rel=2e-2)
    assert fill.medium_at(regions, 2, 1.02, 0.0) == 1 and fill.medium_at(regions, 2, 0.5, 0.0) == 0


def test_pixel_averages_follow_the_mixing_rules_to_first_order_in_the_loss():
    """A pixel of three media (ε 2.13, 3.24, 1) with a Lorentzian (χ = σ L) or conductivity loss:
    along the boundary the pixel's ε is ⟨ε⟩, across it 1/⟨1/ε⟩ (Kottke, Meep's smoothing); the
    weighted strengths reproduce the imaginary part of those averages of the lossy media."""
    eps = np.array([2.13, 3.24, 1.0])
    f = np.array([0.3, 0.5, 0.2])
    sigma = np.array([0.0, 0.005, 0.0])
    L = 1e-3 + 0.2j  # the Lorentzian's value at some frequency, small: first order
    n = (0.6, 0.8)
    diag, off = fill.eps_tensor(eps, f, n)
    par, perp = float(f @ eps), 1 / float(f @ (1 / eps))
    # the tensor's eigenvalues: perp along n, par across
    m = np.array([[diag[0], off[1]], [off[1], diag[2]]])
    assert m @ np.array(n) == pytest.approx(perp * np.array(n), rel=EXACT)
    assert diag[1] == pytest.approx(par, rel=EXACT)
    s = fill.pole_strength(sigma, eps, f, (1.0, 0.0))  # boundary normal along r
    true_par = f @ (eps + sigma * L)
    true_perp = 1 / (f @ (1 / (eps + sigma * L)))
    assert (par + s[2] * L).imag == pytest.approx(true_par.imag, rel=EXACT)
    assert (perp + s[0] * L).imag == pytest.approx(true_perp.imag, rel=1e-3)
    omega = 2 * math.pi * 1.8
    cond = np.array([0.0, 0.05, 0.01])
    c = fill.conductivity(cond, eps, f, (1.0, 0.0))
    eps_c = eps * (1 + 1j * cond / omega)
    assert (par * (1 + 1j * c[2] / omega)).imag == pytest.approx((f @ eps_c).imag, rel=EXACT)
    assert (perp * (1 + 1j * c[0] / omega)).imag == pytest.approx((1 / (f @ (1 / eps_c))).imag, rel=1e-3)


# --------------------------------------------------------------------------------------
# off-axis circles: the cross-section of a toroid's tube (wgm.model.section.Circle)

BRUTE_N = 2000  # sub-samples per pixel side of the brute-force reference
# a midpoint rule on an indicator errs by at most the share of sub-cells the boundary crosses,
# about 2 N of N², i.e. 2/N (in practice far less: the errors of the cells cancel)
BRUTE = 2.0 / BRUTE_N


def _brute_fraction(circle, r, z, dr, dz):
    a, b = max(r - dr / 2, 0.0), r + dr / 2
    rs = a + (np.arange(BRUTE_N) + 0.5) * (b - a) / BRUTE_N
    zs = z - dz / 2 + (np.arange(BRUTE_N) + 0.5) * dz / BRUTE_N
    inside = (rs[:, None] - circle.centre_r_um) ** 2 + (zs[None, :] - circle.centre_z_um) ** 2 < circle.radius_um ** 2
    return float(np.sum(inside * rs[:, None]) / (np.sum(rs) * BRUTE_N))


@pytest.mark.parametrize("r, z, d", [
    (1.9, 0.0, 0.05),     # the outer equator of the tube
    (1.1, 0.0, 0.05),     # the inner equator (the hole's side)
    (1.5, 0.4, 0.05),     # the top of the tube
    (1.78, -0.29, 0.05),  # a slanted stretch of the boundary
    (1.2, 0.27, 0.07),    # another, a coarser pixel
    (1.5, 0.0, 1.0),      # a pixel larger than the tube: the whole circle inside it
    (1.16, 0.21, 0.05),
])
def test_off_axis_circle_fill_matches_a_brute_force_integral(r, z, d):
    """The exact share of a pixel (weight r) inside the circle (r − 1.5)² + z² < 0.4² against
    a sub-sampled integral of the indicator over the pixel."""
    circle = fill.Circle(1.5, 0.0, 0.4)
    f = fill.fraction(circle, r, z, d, d)
    ref = _brute_fraction(circle, r, z, d, d)
    assert f == pytest.approx(ref, abs=BRUTE)
    assert 0.0 <= f <= 1.0


def test_off_axis_circle_in_a_1d_row_and_shifted_in_z():
    """dz = 0 (a row at one height) and a circle off the equator: the chord's exact share."""
    circle = fill.Circle(1.5, 0.3, 0.4)
    r, z, dr = 1.88, 0.35, 0.05
    s = math.sqrt(0.4**2 - 0.05**2)
    a, b = r - dr / 2, r + dr / 2
    expect = (min(1.5 + s, b) ** 2 - a**2) / (b * b - a * a)
    assert fill.fraction(circle, r, z, dr, 0.0) == pytest.approx(expect, rel=EXACT)


@pytest.mark.parametrize("offset", [(0.0, 0.0), (0.3, 0.6), (0.5, 0.5), (0.85, 0.15)])
def test_torus_volume_is_the_sum_of_its_pixels(offset):
    """A tube of radius 0.4 µm around r = 1.5 µm on a grid of 20 px/µm shifted by fractions of a
    pixel: the pixels' shares times their ∫∫ r dr dz add up to the tube's, π a² R (Pappus)."""
    d = 1 / 20
    circle = fill.Circle(1.5, 0.0, 0.4)
    vol = 0.0
    for r in np.arange(1.0, 2.0, d) + offset[0] * d:
        for z in np.arange(-0.5, 0.5, d) + offset[1] * d:
            a, b = r - d / 2, r + d / 2
            vol += fill.fraction(circle, r, z, d, d) * (b * b - a * a) / 2 * d
    assert vol == pytest.approx(math.pi * 0.4**2 * 1.5, rel=EXACT)


def test_normal_of_an_off_axis_circle_points_from_its_centre():
    circle = fill.Circle(1.5, 0.0, 0.4)
    r, z = 1.5 + 0.4 * math.cos(0.7), 0.4 * math.sin(0.7)
    nr, nz = fill.normal([fill.Region(circle, 0)], r, z, 0.05, 0.05)
    assert abs(nr * math.sin(0.7) - nz * math.cos(0.7)) < 1e-12  # parallel to (cos, sin)
