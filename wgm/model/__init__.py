"""What a resonator is: materials (:mod:`wgm.model.materials`), shapes, coatings and the one
list of layers every engine uses, and the search band (:mod:`wgm.model.resonator`)."""

from wgm.model.materials import ConstantIndex, Material, library_material, nanocrystal_film  # noqa: F401
from wgm.model.resonator import (POLARIZATIONS, Coating, Disk, Layer, Pedestal, Resonator, Ring, Search,  # noqa: F401
                                 Sphere, Toroid)
