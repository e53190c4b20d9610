"""The ``[fem]`` table: the finite-element engine's settings (no scikit-fem or gmsh here)."""

from __future__ import annotations

from dataclasses import dataclass

from wgm.errors import ConfigError
from wgm.model.validate import positive as _positive

__all__ = ["FemSettings"]


@dataclass(frozen=True)
class FemSettings:
    """Settings of the finite-element engine (config table ``[fem]``); the defaults converge
    without tuning (see the README's validation section for what they reach).

    Attributes
    ----------
    m : tuple of int, optional
        Azimuthal numbers to solve (default: those of the modes in the band, as for FDTD).
    order : {2, 3}
        Polynomial degree p of the elements: Nédélec N_p (first kind) for (E_r, E_z), Lagrange
        P_p for the azimuthal part, on curved (quadratic) triangles.  Eigenvalue error ∝ h^(2p).
    elements_per_wavelength : float, optional
        Mesh density: the local wavelength λ0/n divided by the element size, in the resonator
        and around it (default: from ``accuracy_wavelength``, by the measured error model of
        :mod:`wgm.fem.plan`; 3 at the default accuracy).  The PML's elements are 1.5× coarser.
    pad_um, pml_um : float, optional
        Medium between the resonator and the PML, and the PML's thickness (default: one and
        two wavelengths in the surrounding medium at the band's longest wavelength).
    pml_strength : float
        σ_max of the PML's complex stretch ``1 + iσ(x)``, σ growing as ((x − x0)/d)² (default 2.5:
        round-trip reflection ~exp(−2 k0 σ_max d / 3) ≈ 1e-9 with the default thickness; stronger
        stretches on the same mesh gave spurious PML modes next to the cavity modes).
    domain : {"auto", "reduced", "full"}
        ``"full"``: the mesh reaches the axis.  ``"reduced"``: a wall inside the resonator
        where the field has decayed (below the body's caustic of the smallest m, |field|² 1e-10
        of its peak) and, for spheres, z walls where the polar-order-0 modes have decayed (a
        sphere's (l, q) is reported as its m = l member).  ``"auto"`` (default):
        reduced when the inner wall is beyond 5 % of the domain's outer radius (the field there
        is 1e-10 of its peak, so it costs no accuracy).
    symmetry : bool
        Structures symmetric in z (no substrate or pedestal): solve the upper half twice, with
        an electric and a magnetic wall at z = 0 (two half-size solves, cheaper than one).
    accuracy_wavelength, accuracy_q : float
        Relative accuracy wanted of the wavelengths (default 1e-6) and Q (default 1e-3); they
        set the mesh density.  Each mode's error is estimated from a second, refined solve.
    modes_per_target : int
        Eigenvalues asked of the shift-invert solver at each target (default 8).
    error_estimate : bool
        Solve again on a refined mesh (element size / 1.25) to estimate each mode's error
        (``wavelength_rel_error``, ``q_rel_error``).  Default true.
    max_unknowns : int
        Refuse (exit 2) a mesh with more unknowns than this (default 600 000, ~8 GB of sparse
        LU factor), with the settings that would fit.
    """

    m: tuple[int, ...] | None = None
    order: int = 3
    elements_per_wavelength: float | None = None
    pad_um: float | None = None
    pml_um: float | None = None
    pml_strength: float = 2.5
    domain: str = "auto"
    symmetry: bool = True
    accuracy_wavelength: float = 1e-6
    accuracy_q: float = 1e-3
    modes_per_target: int = 8
    error_estimate: bool = True
    max_unknowns: int = 600_000

    def __post_init__(self):
        if isinstance(self.order, bool) or self.order not in (2, 3):
            raise ConfigError("fem.order", self.order, "must be 2 or 3 (polynomial degree of the elements)")
        if self.domain not in ("auto", "reduced", "full"):
            raise ConfigError("fem.domain", self.domain, 'must be "auto", "reduced" or "full"')
        for key, hi in (("accuracy_wavelength", 0.01), ("accuracy_q", 0.5)):
            v = _positive(f"fem.{key}", getattr(self, key))
            if v > hi:
                raise ConfigError(f"fem.{key}", v, f"must be a relative accuracy in (0, {hi:g}]")
            object.__setattr__(self, key, float(v))
        if self.m is not None:
            ms = tuple(self.m) if isinstance(self.m, (list, tuple)) else (self.m,)
            if not ms or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in ms):
                raise ConfigError("fem.m", list(ms), "must be a list of integers >= 0, e.g. [28, 29, 30]")
            object.__setattr__(self, "m", ms)
        for key in ("elements_per_wavelength", "pad_um", "pml_um"):
            v = getattr(self, key)
            if v is not None:
                object.__setattr__(self, key, _positive(f"fem.{key}", v))
        s = _positive("fem.pml_strength", self.pml_strength)
        if s > 50:
            raise ConfigError("fem.pml_strength", s, "must be in (0, 50] (σ_max of the stretch 1 + iσ)")
        object.__setattr__(self, "pml_strength", float(s))
        for key in ("symmetry", "error_estimate"):
            if not isinstance(getattr(self, key), bool):
                raise ConfigError(f"fem.{key}", getattr(self, key), "must be true or false")
        for key, lo, hi in (("modes_per_target", 1, 50), ("max_unknowns", 1000, 10**8)):
            v = getattr(self, key)
            if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
                raise ConfigError(f"fem.{key}", v, f"must be an integer from {lo} to {hi}")
