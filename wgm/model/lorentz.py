"""Materials as ``ε∞`` plus Lorentzian susceptibilities: the dispersive model the FDTD engine
simulates, as a :class:`~wgm.model.materials.Material` that the exact solver can evaluate at a
mode's complex frequency (so "the exact modes of what FDTD simulates" is one call).

Meep's convention, in its frequency units (``f = 1/λ`` with λ in µm)::

    ε(f) = (ε∞ + Σ_n σ_n f_n² / (f_n² − f² − i f γ_n)) (1 + i σ_D / (2π f))

(``σ_D``: Meep's ``D_conductivity``, checked against ``meep.Medium.epsilon``) with time
dependence ``exp(−iωt)``: ``σ_n γ_n > 0`` absorbs, ``σ_n < 0`` (with ``γ_n > 0``) is gain.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wgm import units
from wgm.model.materials import Material

__all__ = ["LorentzPole", "LorentzMaterial"]


@dataclass(frozen=True)
class LorentzPole:
    """One Lorentzian term ``σ f0² / (f0² − f² − i f γ)`` (Meep frequency units, 1/µm)."""

    frequency: float
    gamma: float
    sigma: float

    def chi(self, freq):
        """The term at (complex) Meep frequencies ``freq``."""
        f = np.asarray(freq, dtype=complex)
        f0 = self.frequency
        return self.sigma * f0 * f0 / (f0 * f0 - f * f - 1j * f * self.gamma)


@dataclass(frozen=True)
class LorentzMaterial(Material):
    """``ε∞ + Σ`` Lorentzian poles, valid over ``band_nm`` (the band it was fitted or mapped for;
    outside it the model still evaluates, but no longer describes the source material)."""

    eps_inf: float
    poles: tuple[LorentzPole, ...]
    band_nm: tuple[float, float] = (0.0, math.inf)
    name: str = "lorentz model"
    d_conductivity: float = 0.0  # Meep's D_conductivity σ_D: ε(f) times (1 + i σ_D / (2π f))

    def epsilon(self, freq):
        """ε at (complex) Meep frequencies ``freq`` (1/µm)."""
        f = np.asarray(freq, dtype=complex)
        eps = np.full(f.shape, complex(self.eps_inf))
        for p in self.poles:
            eps = eps + p.chi(f)
        if self.d_conductivity:  # Meep multiplies the whole ε, susceptibilities included
            eps = eps * (1 + 1j * self.d_conductivity / (2 * math.pi * f))
        return eps

    def _index_nm(self, wavelength_nm):
        eps = self.epsilon(units.freq_from_wavelength_nm(np.asarray(wavelength_nm, dtype=complex)))
        n = np.sqrt(eps)
        # the branch with Re n > 0 (Im n then has the sign of Im ε: absorption or gain)
        return np.where(n.real < 0, -n, n)

    @property
    def wavelength_range_nm(self):
        return self.band_nm

    def to_config(self) -> dict:
        return {"eps_inf": self.eps_inf,
                "poles": [{"frequency": p.frequency, "gamma": p.gamma, "sigma": p.sigma} for p in self.poles],
                "band_nm": list(self.band_nm)} | ({"d_conductivity": self.d_conductivity} if self.d_conductivity else {})
