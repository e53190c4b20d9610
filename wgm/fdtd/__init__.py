"""The FDTD engine: Meep in cylindrical coordinates, one azimuthal number m per run.

Importing this package does not import Meep: Meep is loaded at the first simulation.
"""

from wgm.fdtd.settings import FdtdSettings  # noqa: F401
