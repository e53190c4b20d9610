"""The gain available in the film: a Gaussian band ``g(λ)`` (the config's ``[gain]`` table)."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np

from wgm.errors import ConfigError
from wgm.model import validate
from wgm.model.validate import from_table

__all__ = ["GainSpectrum", "parse_gain"]


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
        for f in fields(self):
            if f.name != "region":
                object.__setattr__(self, f.name, validate.positive(f"gain.{f.name}", getattr(self, f.name)))
        if not isinstance(self.region, str):
            raise ConfigError("gain.region", self.region, "allowed: 'core', 'coating', 'coating.N'")

    def at(self, wavelength_nm):
        """Available gain (cm⁻¹) at ``wavelength_nm``."""
        sigma = self.fwhm_nm / (2 * math.sqrt(2 * math.log(2)))
        return self.peak_gain_per_cm * np.exp(-0.5 * ((np.asarray(wavelength_nm) - self.peak_wavelength_nm) / sigma) ** 2)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def parse_gain(table) -> GainSpectrum:
    """The config's ``[gain]`` table (absent: the defaults)."""
    return from_table(table, "gain", GainSpectrum)
