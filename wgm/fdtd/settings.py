"""The ``[fdtd]`` table: overrides of the FDTD engine's automatic choices (no Meep here)."""

from __future__ import annotations

from dataclasses import dataclass

from wgm.errors import ConfigError
from wgm.model.resonator import Search
from wgm.model.validate import positive as _positive


@dataclass(frozen=True)
class FdtdSettings:
    """Overrides of the FDTD engine's automatic choices (config table ``[fdtd]``).

    Attributes
    ----------
    m : tuple of int, optional
        Azimuthal numbers to simulate (default: those of the modes in the band, from the
        exact solver or, for finite disks and rings, its slab-effective-index estimate).
    resolution_px_per_um : float, optional
        Grid resolution (default: the coarsest grid at which the measured convergence of the
        method meets ``accuracy_wavelength`` and ``accuracy_q`` with a safety factor; see
        :func:`wgm.fdtd.plan.plan`).  Thin lossless layers do not set it (subpixel smoothing).
    pad_um, pml_um : float, optional
        Space between the resonator and the PML, and PML thickness (default: two wavelengths
        in the surrounding medium each; the cylindrical PML is only a quasi-PML; measured not
        to limit Q up to ~1e6, doubling them changes Q by < 0.6 %).
    symmetry : bool
        Use the z mirror plane when the structure has one (halves the cost).
    max_periods : float
        Longest ring-down of one run, in optical periods.
    wavelength_nm : (float, float), optional
        A sub-band for FDTD (default: the search band): FDTD costs minutes where the exact
        solver costs milliseconds.
    domain : {"auto", "reduced", "full"}
        The (r, z) cell.  ``"full"``: from the axis to beyond the resonator.  ``"reduced"``:
        only where the modes live — a wall inside the resonator where the field has decayed
        (below the caustic of the smallest m) and, for spheres, the z extent of the modes up
        to polar order ``max_polar_order``; the engine checks every mode's field at the cuts
        and widens the cell when it is not negligible there.  ``"auto"`` (default): reduced
        when that leaves at most a third of the cells (large resonators).
    materials : {"dispersive", "band-centre"}
        ``"dispersive"`` (default): every material is a sum of Lorentzian susceptibilities on
        top of ``ε∞``, fitted to its n, k over the band (silica's Sellmeier exactly), so FDTD
        simulates the real dispersion and absorption.  ``"band-centre"``: every material frozen
        at the band centre (a constant ε and a conductivity), for comparison.
    accuracy_wavelength, accuracy_q : float
        The relative accuracy wanted of each line's wavelength (default 1e-3) and Q (default
        0.05).  The engine chooses the resolution and the ring-down length from them (pad
        and PML are two wavelengths each: measured not to limit Q up to 1.5e6), and reports per mode the accuracy it expects (``wavelength_rel_error``, ``q_rel_error``):
        the ring-down stops when every line of the band that matters has Harminv's error below a
        fifth of them and two consecutive analyses agreeing within half of them (or at
        ``max_periods``).
    max_polar_order : int
        Spheres, reduced domain: the cell holds the modes with ``l − |m|`` up to this (every
        (l, q) of a sphere is found as its ``m = l`` member, so 0 would do for the spectrum;
        modes beyond it that touch the cut are left out, with a note).
    """

    m: tuple[int, ...] | None = None
    resolution_px_per_um: float | None = None
    pad_um: float | None = None
    pml_um: float | None = None
    symmetry: bool = True
    max_periods: float = 2000.0
    wavelength_nm: tuple[float, float] | None = None
    domain: str = "auto"
    max_polar_order: int = 1
    materials: str = "dispersive"
    accuracy_wavelength: float = 1e-3
    accuracy_q: float = 0.05

    def __post_init__(self):
        if self.domain not in ("auto", "reduced", "full"):
            raise ConfigError("fdtd.domain", self.domain, 'must be "auto", "reduced" or "full"')
        if self.materials not in ("dispersive", "band-centre"):
            raise ConfigError("fdtd.materials", self.materials, 'must be "dispersive" or "band-centre"')
        for key, hi in (("accuracy_wavelength", 0.01), ("accuracy_q", 0.5)):
            v = _positive(f"fdtd.{key}", getattr(self, key))
            if v > hi:
                raise ConfigError(f"fdtd.{key}", v, f"must be a relative accuracy in (0, {hi:g}]")
            object.__setattr__(self, key, float(v))
        p = self.max_polar_order
        if isinstance(p, bool) or not isinstance(p, int) or not 0 <= p <= 20:
            raise ConfigError("fdtd.max_polar_order", p, "must be an integer from 0 to 20")
        if self.m is not None:
            ms = tuple(self.m) if isinstance(self.m, (list, tuple)) else (self.m,)
            if not ms or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in ms):
                raise ConfigError("fdtd.m", list(ms), "must be a list of integers >= 0, e.g. [28, 29, 30]")
            object.__setattr__(self, "m", ms)
        for key in ("resolution_px_per_um", "pad_um", "pml_um", "max_periods"):
            v = getattr(self, key)
            if v is not None:
                object.__setattr__(self, key, _positive(f"fdtd.{key}", v))
        if not isinstance(self.symmetry, bool):
            raise ConfigError("fdtd.symmetry", self.symmetry, "must be true or false")
        if self.wavelength_nm is not None:
            band = Search(tuple(self.wavelength_nm) if isinstance(self.wavelength_nm, list) else self.wavelength_nm)
            object.__setattr__(self, "wavelength_nm", band.wavelength_nm)

    def band(self, search: "Search") -> "Search":
        """The search restricted to the FDTD sub-band, if one is set."""
        if self.wavelength_nm is None:
            return search
        return Search(self.wavelength_nm, search.max_radial_order, search.polarizations)
