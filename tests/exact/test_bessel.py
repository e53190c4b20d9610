"""Overflow-free Bessel log-derivatives and logarithms against scipy and mpmath."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special

from wgm.exact import bessel

# scipy (AMOS) is itself accurate to ~1e-14 where it does not overflow; the recurrences lose
# a few digits more over hundreds of orders: 1e-11 relative leaves room for both.
SCIPY_REL_TOL = 1e-11


def _riccati(kind, nu, z):
    s = np.sqrt(np.pi * z / 2)
    return {"regular": s * special.jv(nu, z), "irregular": -s * special.yv(nu, z),
            "outgoing": s * special.hankel1(nu, z), "incoming": s * special.hankel2(nu, z)}[kind]


def _cyl(kind, nu, z):
    return {"regular": special.jv(nu, z), "irregular": special.yv(nu, z),
            "outgoing": special.hankel1(nu, z), "incoming": special.hankel2(nu, z)}[kind]


def _deriv(kind, offset, k, z):
    f = _riccati if offset == bessel.SPHERE else _cyl
    nu = k + offset
    # f_k' = f_{k-1} - (k/z) f_k for both families
    return f(kind, nu - 1, z) / f(kind, nu, z) - k / z, f(kind, nu, z)


Z = np.array([3.3 - 0.02j, 17.0 + 0j, 40.5 - 0.7j, 95.0 + 0.4j, 60.0 + 3.0j])


@pytest.mark.parametrize("kind", bessel.KINDS)
@pytest.mark.parametrize("offset", [bessel.SPHERE, bessel.CYLINDER])
@pytest.mark.parametrize("k", [0, 1, 7, 40, 90])
def test_against_scipy(kind, offset, k):
    D, L = getattr(bessel, kind)(Z, np.full(Z.shape, k), offset)
    D_ref, f_ref = _deriv(kind, offset, k, Z)
    assert np.allclose(D, D_ref, rtol=SCIPY_REL_TOL, atol=0)
    assert np.allclose(np.exp(L), f_ref, rtol=SCIPY_REL_TOL, atol=0)


def test_table_mode_equals_per_point_mode():
    orders = np.arange(5, 40)
    D_t, L_t = bessel.regular(Z, orders, bessel.SPHERE, table=True)
    for i, k in enumerate(orders):
        D, L = bessel.regular(Z, np.full(Z.shape, k), bessel.SPHERE)
        assert np.array_equal(D_t[i], D)
        assert np.allclose(L_t[i], L, rtol=1e-13)


def test_large_order_stays_finite_where_scipy_overflows():
    """Order 3000 at the turning point's evanescent side: Y ~ 1e+400 overflows scipy,
    the log form does not; mpmath (30 digits) checks the log-derivative and logarithm."""
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 30
    z = np.array([1800.0 - 1e-9j])
    k = 3000
    assert not np.isfinite(special.yv(k + 0.5, z.real[0]))
    for kind, fn in (("irregular", lambda n, x: -mpmath.bessely(n, x)), ("regular", mpmath.besselj)):
        D, L = getattr(bessel, kind)(z, np.array([k]), bessel.SPHERE)
        zz = mpmath.mpc(z[0].real, z[0].imag)
        f = fn(k + 0.5, zz)
        D_ref = complex(fn(k - 0.5, zz) / f - k / zz)
        L_ref = complex(mpmath.log(mpmath.sqrt(mpmath.pi * zz / 2) * f))
        assert np.isfinite(D[0]) and np.isfinite(L[0])
        assert abs(D[0] - D_ref) / abs(D_ref) < 1e-12
        assert abs(L[0].real - L_ref.real) / abs(L_ref.real) < 1e-12


def test_bad_orders():
    with pytest.raises(ValueError, match="non-negative"):
        bessel.regular(Z, np.full(Z.shape, -1), bessel.SPHERE)
    with pytest.raises(ValueError, match="kind"):
        bessel.evaluate([("bessel", Z, False)], np.full(Z.shape, 3), bessel.SPHERE)
