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
