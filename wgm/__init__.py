"""wgm: whispering-gallery modes of microspheres, microdisks and microrings.

Describe a resonator (:mod:`wgm.resonator`, :mod:`wgm.materials`), load it from a TOML
config (:mod:`wgm.config`), and find its modes with the exact solver (:mod:`wgm.exact`).
"""

__version__ = "0.1.0"

from wgm.config import Config, load_config, parse_config  # noqa: E402
from wgm.errors import ConfigError, UserError, WgmError  # noqa: E402
from wgm.exact.solver import solve  # noqa: E402
from wgm.model.materials import ConstantIndex, library_material, nanocrystal_film  # noqa: E402
from wgm.model.resonator import Coating, Disk, Resonator, Ring, Search, Sphere  # noqa: E402
from wgm.records import Mode, ModeSpectrum  # noqa: E402

__all__ = [
    "__version__", "Config", "load_config", "parse_config", "ConfigError", "UserError", "WgmError",
    "solve", "ConstantIndex", "library_material", "nanocrystal_film", "Coating", "Disk", "Resonator",
    "Ring", "Search", "Sphere", "Mode", "ModeSpectrum",
]
