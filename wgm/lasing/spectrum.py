"""The gain available in the film: a Gaussian band ``g(λ)`` (the config's ``[gain]`` table)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wgm.errors import ConfigError

__all__ = ["GainSpectrum", "parse_gain"]

_GAIN_KEYS = {"region", "peak_gain_per_cm", "peak_wavelength_nm", "fwhm_nm"}


@dataclass(frozen=True)
class GainSpectrum:
    """The material gain available in the gain region, a Gaussian band ``g(λ)`` in cm⁻¹.

    The defaults describe a CsPbBr3-nanocrystal film at the order of magnitude reported for
    two-photon-pumped nanocrystal lasers (J. Am. Chem. Soc. 138 (2016): gain above 500 cm⁻¹
    near the 525 nm emission): peak 500 cm⁻¹ at 525 nm, 20 nm wide.  They are an assumption
    for a first look, not a measurement of your film: set the config's ``[gain]`` table.
    """

    region: str = "coating"
    peak_gain_per_cm: float = 500.0
    peak_wavelength_nm: float = 525.0
    fwhm_nm: float = 20.0

    def __post_init__(self):
        for key in ("peak_gain_per_cm", "peak_wavelength_nm", "fwhm_nm"):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
                raise ConfigError(f"gain.{key}", v, "must be a positive number")
        if not isinstance(self.region, str):
            raise ConfigError("gain.region", self.region, "allowed: 'core', 'coating', 'coating.N'")

    def at(self, wavelength_nm):
        """Available gain (cm⁻¹) at ``wavelength_nm``."""
        sigma = self.fwhm_nm / (2 * math.sqrt(2 * math.log(2)))
        return self.peak_gain_per_cm * np.exp(-0.5 * ((np.asarray(wavelength_nm) - self.peak_wavelength_nm) / sigma) ** 2)

    def to_dict(self) -> dict:
        return {"region": self.region, "peak_gain_per_cm": self.peak_gain_per_cm,
                "peak_wavelength_nm": self.peak_wavelength_nm, "fwhm_nm": self.fwhm_nm}


def _from_table(table, name: str, keys: set, cls):
    """Build ``cls`` from a config table, naming unknown keys (absent table: the defaults)."""
    if table is None:
        return cls()
    if not isinstance(table, dict):
        raise ConfigError(name, table, "must be a table with keys " + ", ".join(sorted(keys)))
    from wgm.errors import did_you_mean

    for key in table:
        if key not in keys:
            raise ConfigError(f"{name}.{key}", table[key], f"unknown key{did_you_mean(key, keys)}; "
                              f"allowed here: {', '.join(sorted(keys))}")
    return cls(**table)


def parse_gain(table) -> GainSpectrum:
    """The config's ``[gain]`` table (absent: the defaults)."""
    return _from_table(table, "gain", _GAIN_KEYS, GainSpectrum)
