"""The one place that converts between physical units and Meep's units.

Meep is scale-invariant; ``wgm`` fixes its length unit ``a`` to 1 µm.  Then a Meep length
is a length in µm, a Meep frequency ``f = a/λ`` is ``1/λ[µm]``, and a Meep time unit is
``a/c`` = 3.336 fs.
"""

from __future__ import annotations

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
