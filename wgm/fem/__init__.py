"""The finite-element engine: full-vector eigenmodes of any axisymmetric resonator in the
(r, z) half-plane, one azimuthal number at a time (scikit-fem + gmsh + scipy; no Meep).

Entry point: :func:`solve` (imported lazily: ``import wgm.fem`` loads neither scikit-fem nor gmsh).
"""

from wgm.fem.settings import FemSettings

__all__ = ["FemSettings", "solve"]


def solve(resonator, search, settings=None, **kwargs):
    """The modes of ``resonator`` in ``search``'s band (a :class:`~wgm.records.modes.ModeSpectrum`
    with ``method = "fem"``); see :func:`wgm.fem.run.solve`."""
    from wgm.fem.run import solve as _solve

    return _solve(resonator, search, settings or FemSettings(), **kwargs)
