"""wgm: whispering-gallery modes of microspheres, microdisks and microrings.

Describe a resonator (:mod:`wgm.resonator`, :mod:`wgm.materials`), load it from a TOML
config (:mod:`wgm.config`), and find its modes with the exact solver (:mod:`wgm.exact`).
"""

__version__ = "0.1.0"

from .config import Config, load_config, parse_config  # noqa: E402
from .errors import ConfigError, UserError, WgmError  # noqa: E402
from .exact import solve  # noqa: E402
from .materials import ConstantIndex, library_material, nanocrystal_film  # noqa: E402
from .resonator import Coating, Disk, Resonator, Ring, Search, Sphere  # noqa: E402
from .results import Mode, ModeSpectrum  # noqa: E402

__all__ = [
    "__version__", "Config", "load_config", "parse_config", "ConfigError", "UserError", "WgmError",
    "solve", "ConstantIndex", "library_material", "nanocrystal_film", "Coating", "Disk", "Resonator",
    "Ring", "Search", "Sphere", "Mode", "ModeSpectrum",
]
