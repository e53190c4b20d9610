"""The one place that converts units: physical units and Meep's units, photon energies,
frequencies and lengths.

Meep is scale-invariant; ``wgm`` fixes its length unit ``a`` to 1 µm.  Then a Meep length
is a length in µm, a Meep frequency ``f = a/λ`` is ``1/λ[µm]``, and a Meep time unit is
``a/c`` = 3.336 fs.
"""

from __future__ import annotations

import math

MEEP_LENGTH_UM = 1.0
"""Meep's length unit a, in µm."""

C_UM_PER_FS = 0.299792458
"""Speed of light in µm/fs."""


def length_to_meep(length_um: float) -> float:
    """A length in µm as a Meep length."""
    return length_um / MEEP_LENGTH_UM


def freq_from_wavelength_nm(wavelength_nm):
    """Meep frequency of a vacuum wavelength in nm."""
    return MEEP_LENGTH_UM * 1000.0 / wavelength_nm


def wavelength_nm_from_freq(freq):
    """Vacuum wavelength in nm of a Meep frequency."""
    return MEEP_LENGTH_UM * 1000.0 / freq


def wavenumber_per_um(freq):
    """Vacuum wavenumber k0 (1/µm) of a (possibly complex) Meep frequency."""
    import math

    return 2 * math.pi * freq / MEEP_LENGTH_UM


def meep_time_to_fs(t: float) -> float:
    """A Meep time (units of a/c) in fs."""
    return t * MEEP_LENGTH_UM / C_UM_PER_FS


# --------------------------------------------------------------------------------------
# rates, line widths and gains of the two-level lasing model (Meep's MultilevelAtom)

PER_CM_PER_PER_UM = 1.0e4
"""A gain of 1 µm⁻¹ in cm⁻¹."""


def meep_time_from_ps(t_ps: float) -> float:
    """A time in ps as a Meep time (units of a/c)."""
    return t_ps * 1000.0 * C_UM_PER_FS / MEEP_LENGTH_UM


def rate_from_lifetime_ps(lifetime_ps: float) -> float:
    """A decay rate 1/τ (τ in ps) in Meep's rate units (per a/c): MultilevelAtom's
    ``transition_rate`` and ``pumping_rate`` (no 2π)."""
    return 1.0 / meep_time_from_ps(lifetime_ps)


def rate_per_ps(rate):
    """A Meep rate (per a/c) in 1/ps."""
    return rate * meep_time_from_ps(1.0)


def rate_from_per_ps(rate_per_ps_):
    """A rate in 1/ps in Meep's rate units (per a/c)."""
    return rate_per_ps_ / meep_time_from_ps(1.0)


def freq_width_from_wavelength_width_nm(wavelength_nm: float, fwhm_nm: float) -> float:
    """The full width (Meep frequency units, as MultilevelAtom's ``gamma``) of a line of
    full width ``fwhm_nm`` at ``wavelength_nm``: exact for the two edges λ ± Δλ/2."""
    lo, hi = wavelength_nm - fwhm_nm / 2, wavelength_nm + fwhm_nm / 2
    return freq_from_wavelength_nm(lo) - freq_from_wavelength_nm(hi)


def gain_per_cm_from_meep(gain_per_meep_length):
    """An intensity gain per Meep length in cm⁻¹."""
    return gain_per_meep_length / MEEP_LENGTH_UM * PER_CM_PER_PER_UM


def gain_to_meep(gain_per_cm):
    """An intensity gain in cm⁻¹ per Meep length."""
    return gain_per_cm / PER_CM_PER_PER_UM * MEEP_LENGTH_UM


def k0_from_wavelength_nm(wavelength_nm):
    """Vacuum wavenumber k0 = 2π/λ (1/µm) of a (possibly complex) wavelength in nm."""
    import cmath

    return 2 * cmath.pi * 1000.0 / wavelength_nm


def wavelength_nm_from_k0(k0):
    """Vacuum wavelength in nm of a (possibly complex) wavenumber k0 in 1/µm."""
    import cmath

    return 2 * cmath.pi * 1000.0 / k0


def um_from_nm(length_nm):
    """A length (e.g. a vacuum wavelength) in nm, in µm."""
    return length_nm / 1000.0


NM_PER_CM = 1.0e7
"""Nanometres in one centimetre."""


def extinction_from_absorption_per_cm(alpha_per_cm, wavelength_nm):
    """The extinction coefficient ``k = α λ / (4π)`` of an intensity absorption coefficient
    ``α`` (cm⁻¹) at vacuum wavelength(s) in nm (real or complex)."""
    import math

    return alpha_per_cm * (wavelength_nm / NM_PER_CM) / (4 * math.pi)


def freq_from_k0(k0):
    """Meep frequency of a vacuum wavenumber k0 in 1/µm (the inverse of :func:`wavenumber_per_um`)."""
    import math

    return k0 * MEEP_LENGTH_UM / (2 * math.pi)


HC_EV_NM = 1239.841984         # h c in eV nm: photon energy (eV) = HC_EV_NM / wavelength (nm)
K_B_EV_PER_K = 8.617333262e-5  # Boltzmann constant, eV/K
NM3_PER_UM3 = 1e9


def ev_from_nm(wavelength_nm):
    """Photon energy (eV) of a (complex) vacuum wavelength in nm; its own inverse."""
    return HC_EV_NM / wavelength_nm


def omega_rad_per_ps(wavelength_nm):
    """Angular frequency ω (rad/ps) of a vacuum wavelength in nm."""
    return 2 * math.pi * C_UM_PER_FS * 1e3 / (wavelength_nm * 1e-3)


def cm_from_nm(length_nm):
    """nm -> cm."""
    return length_nm * 1e-7
