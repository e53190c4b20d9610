"""Asymptotic positions of whispering-gallery resonances of a homogeneous sphere or 2-D disk.

* :func:`lly` – Lam, Leung & Young, JOSA B 9, 1585 (1992): five terms plus the ``ν^-1`` term.
* :func:`schiller` – Schiller, Appl. Opt. 32, 2181 (1993), nine terms with the coefficient
  set corrected numerically against exact roots (the versions circulating in public code
  carry typos; with the corrected set the error after nine terms falls like ``ν^-3``).
* :func:`fsr_estimate` – free spectral range from the expansion (Airy-term corrected).

All take ``m = n_sphere / n_medium`` (relative index) and return the size parameter
``x = 2π a n_medium / λ``.  For a 2-D disk use the Bessel order ``ν = m`` (pass ``nu``).
These formulas give positions only (no Q) and are for homogeneous resonators: the
exact solver (:mod:`wgm.exact`) is the reference; this module is the fast estimate.
"""

from __future__ import annotations

import numpy as np
from scipy import special

__all__ = ["airy_zero", "lly", "schiller", "fsr_estimate"]


def airy_zero(q: int) -> float:
    """``α_q = |a_q|``, the q-th zero of Ai(−z) (α_1 = 2.33810741)."""
    return float(-special.ai_zeros(q)[0][q - 1])


def _check(polarization):
    if polarization not in ("TE", "TM"):
        raise ValueError(f"polarization must be 'TE' or 'TM', got {polarization!r}")


def lly(nu, q: int, m: float, polarization: str, *, nu_inverse_term: bool = False):
    """Lam–Leung–Young expansion of the resonance size parameter (five terms, through
    ``ν^-2/3``; with ``nu_inverse_term`` also the ``ν^-1`` term, Schiller's d3).

    Parameters
    ----------
    nu : float or array
        ``l + 1/2`` for a sphere, the azimuthal number ``m`` for a 2-D disk.
    q : int
        Radial order (1, 2, ...).
    m : float
        Relative index ``n / n_medium`` (> 1).
    polarization : {"TE", "TM"}
    nu_inverse_term : bool
        Add the ``O(ν^-1)`` term.
    """
    _check(polarization)
    nu = np.asarray(nu, float)
    a = airy_zero(q)
    P = m if polarization == "TE" else 1.0 / m
    p = 1.0 if polarization == "TE" else 1.0 / m**2
    s = np.sqrt(m * m - 1)
    nx = (nu + 2 ** (-1 / 3) * a * nu ** (1 / 3) - P / s
          + 0.3 * 2 ** (-2 / 3) * a * a * nu ** (-1 / 3)
          - 2 ** (-1 / 3) * P * (m * m - 2 * P * P / 3) * a * nu ** (-2 / 3) / s**3)
    if nu_inverse_term:
        nx = nx + ((10 - a**3) + 350 * m**4 * (1 - p) * p * (p * p + p - 1) / (m * m - 1) ** 2) / (700 * nu)
    return nx / m


def schiller(nu, q: int, m: float, polarization: str):
    """Schiller's nine-term expansion (corrected coefficients) of the resonance size parameter.

    Same parameters as :func:`lly`.  Accurate to ~1e-6 in x at l = 200 for m = 1.45 (TE),
    improving like ``ν^-3``; asymptotic, so it diverges at small l or high q.
    """
    _check(polarization)
    nu = np.asarray(nu, float)
    z = -airy_zero(q)  # the (negative) Airy zero ζ
    te = polarization == "TE"
    p = 1.0 if te else 1.0 / m**2
    m2 = m * m
    c = m2 - 1

    def e(k):
        if te:
            return 0.0
        if k == 4:
            v = (-8 + 12 * m**4 + m**8) / m**8
        elif k == 5:
            v = 7000 * m**-6 * (-28 - m2 + 56 * m**4 - 16 * m**6 - 7 * m**8 + 2 * m**10)
        elif k == 6:
            v = m**-8 * (5 * (-200 - 32 * m2 + 526 * m**4 - 226 * m**6 - 99 * m**8 + 62 * m**10 + 4 * m**12)
                         + 2 * (-400 + 272 * m2 + 744 * m**4 - 424 * m**6 - 366 * m**8 - 2 * m**10 + m**12) * z**3)
        elif k == 7:
            v = -269500 * m**-8 * (-232 + 160 * m2 + 543 * m**4 - 447 * m**6 - 186 * m**8 + 165 * m**10
                                   - 15 * m**12 + 4 * m**14)
        else:  # k == 8
            v = m**-10 * z * (
                -10 * (-459200 + 286000 * m2 + 1360312 * m**4 - 1305476 * m**6 - 433952 * m**8
                       + 717562 * m**10 - 209039 * m**12 - 21542 * m**14 + 7060 * m**16)
                + 3 * (336000 - 441600 * m2 - 626496 * m**4 + 891008 * m**6 + 306416 * m**8
                       - 505696 * m**10 - 72488 * m**12 - 7664 * m**14 + 2395 * m**16) * z**3)
        return c * v

    d = [
        -p,
        2 ** (1 / 3) * 3 * c * z * z / (20 * m),
        -(2 ** (2 / 3)) * m2 * p * (-3 + 2 * p * p) * z / 6,
        (350 * m**4 * (1 - p) * p * (-1 + p + p * p) + c * c * (10 + z**3)) / (700 * m),
        -(2 ** (1 / 3)) * m2 * z * z * (4 - m2 + e(4)) / 20,
        z * (40 * (-1 + 3 * m2 - 3 * m**4 + 351 * m**6) - 479 * c**3 * z**3 - e(5)) / (2 ** (4 / 3) * 63000 * m),
        (5 * m2 * (-13 - 16 * m2 + 4 * m**4) + 2 * m2 * (128 - 4 * m2 + m**4) * z**3 - e(6)) / 1400,
        z * z * (100 * (-551 + 2204 * m2 - 3306 * m**4 - 73256 * m**6 + 10229 * m**8)
                 - 20231 * c**4 * z**3 + e(7)) / (2 ** (2 / 3) * 16170000 * m),
        (m2 * z * (10 * (11082 + 44271 * m2 - 228 * m**4 + 7060 * m**6)
                   - 3 * (52544 + 48432 * m2 - 11496 * m**4 + 2395 * m**6) * z**3) + e(8)) / (2 ** (10 / 3) * 141750),
    ]
    x = nu / m - (z / m) * (nu / 2) ** (1 / 3)
    for k, dk in enumerate(d):
        x = x + dk / (nu ** (k / 3) * c ** ((k + 1) / 2))
    return x


def fsr_estimate(radius_um: float, wavelength_nm: float, n_group: float, nu: float, q: int = 1) -> float:
    """Free spectral range (nm) from the expansion: ``λ²/(2π a n_g) × [1 + (α_q/3) 2^(-1/3) ν^(-2/3) − …]``.

    The bracket (the Airy term) is why ``λ²/(2π a n)`` alone underestimates the FSR by a few
    per cent for spheres of a few µm.
    """
    a = airy_zero(q)
    bracket = 1 + (a / 3) * 2 ** (-1 / 3) * nu ** (-2 / 3) - 0.1 * 2 ** (-2 / 3) * a * a * nu ** (-4 / 3)
    lam_um = wavelength_nm / 1000.0
    return 1000.0 * lam_um**2 / (2 * np.pi * radius_um * n_group) * bracket
