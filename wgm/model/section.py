r"""The (r, z) cross-section of a resonator: the one description of where each medium is that
every engine meshes (FEM) or rasterises (FDTD).

The media follow the one numbering of :meth:`Resonator.layers`: ``0 .. n−1`` the layers (body,
then coatings outwards), ``n`` the surroundings, ``n + 1`` the substrate, ``n + 2`` the
pedestal (:data:`SURROUNDINGS`, :data:`SUBSTRATE`, :data:`PEDESTAL` are the offsets after the
layers).  Each layer is its outer shape minus the layers inside it (a ring has one layer);
where shapes overlap, the innermost layer wins, then the pedestal, then the substrate.

Shapes are :class:`Circle` (a disk in the half-plane: centred on the axis it is a ball, off the
axis a torus' tube) and :class:`Rect` (a cylinder or annulus; infinite sides allowed).

>>> from wgm.model import ConstantIndex, Resonator, Sphere, Coating
>>> res = Resonator(Sphere(2.0, ConstantIndex(1.45)), (Coating(0.05, ConstantIndex(2.0)),))
>>> [m.name for m in media(res)]
['core', 'coating.0', 'surroundings']
>>> medium_index(res, [1.0, 2.02, 3.0], [0.0, 0.0, 0.0]).tolist()
[0, 1, 2]
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wgm.model.materials import Material
from wgm.model.resonator import Disk, Resonator, Ring, Sphere, Toroid

__all__ = ["Circle", "Rect", "Medium", "media", "medium_index", "SURROUNDINGS", "SUBSTRATE", "PEDESTAL",
           "resonator_bottom_um", "bounding_box_um"]

SURROUNDINGS, SUBSTRATE, PEDESTAL = 0, 1, 2
"""Offsets after the layers: medium ``len(res.layers()) + SUBSTRATE`` is the substrate."""


@dataclass(frozen=True)
class Circle:
    """The disk ``(r − centre_r)² + (z − centre_z)² <= radius²`` of the (r, z) half-plane (µm; closed)."""

    centre_r_um: float
    centre_z_um: float
    radius_um: float

    def contains(self, r, z):
        r, z = np.asarray(r, float), np.asarray(z, float)
        return (r - self.centre_r_um) ** 2 + (z - self.centre_z_um) ** 2 <= self.radius_um ** 2


@dataclass(frozen=True)
class Rect:
    """The rectangle ``r0 <= r <= r1``, ``z0 <= z <= z1`` of the (r, z) half-plane (µm; ±inf
    allowed; closed, like :class:`Circle`: the axis belongs to a rectangle starting there, and
    where shapes touch :func:`medium_index`'s precedence decides)."""

    r0_um: float
    r1_um: float
    z0_um: float
    z1_um: float

    def contains(self, r, z):
        r, z = np.asarray(r, float), np.asarray(z, float)
        return (r >= self.r0_um) & (r <= self.r1_um) & (z >= self.z0_um) & (z <= self.z1_um)


@dataclass(frozen=True)
class Medium:
    """One medium of the cross-section: its ``index`` in the one numbering, ``name`` (``"core"``,
    ``"coating.N"``, ``"surroundings"``, ``"substrate"``, ``"pedestal"``), the config ``key``
    of its material, the material, and its outer ``shape`` (``None`` for the surroundings)."""

    index: int
    name: str
    key: str
    material: Material
    shape: Circle | Rect | None


def resonator_bottom_um(res: Resonator) -> float:
    """z of the bottom of the resonator's outermost layer (µm; ``-inf`` in the 2-D limit)."""
    return -res.layers()[-1].half_height_um


def _layer_shape(res: Resonator, lay) -> Circle | Rect:
    if isinstance(res.shape, Sphere):
        return Circle(0.0, 0.0, lay.outer_radius_um)
    if isinstance(res.shape, Toroid):
        return Circle(res.shape.major_radius_um, 0.0, lay.half_height_um)
    r0 = lay.inner_radius_um if isinstance(res.shape, Ring) else 0.0
    return Rect(r0, lay.outer_radius_um, -lay.half_height_um, lay.half_height_um)


def media(res: Resonator) -> tuple[Medium, ...]:
    """Every medium of the cross-section, in the one numbering (absent substrate/pedestal left out)."""
    layers = res.layers()
    n = len(layers)
    out = [Medium(lay.index, lay.region, lay.key, lay.material, _layer_shape(res, lay)) for lay in layers]
    out.append(Medium(n + SURROUNDINGS, "surroundings", "surroundings", res.surroundings, None))
    bottom = resonator_bottom_um(res)
    if res.pedestal is not None:
        bottom -= res.pedestal.height_um
    if res.substrate is not None:
        out.append(Medium(n + SUBSTRATE, "substrate", "resonator.substrate", res.substrate,
                          Rect(0.0, math.inf, -math.inf, bottom)))
    if res.pedestal is not None:
        p = res.pedestal
        out.append(Medium(n + PEDESTAL, "pedestal", "resonator.pedestal", p.material,
                          Rect(0.0, p.radius_um, bottom, resonator_bottom_um(res))))
    return tuple(out)


def medium_index(res: Resonator, r, z) -> np.ndarray:
    """The medium (one numbering) at points ``(r, z)`` (µm, arrays broadcast)."""
    r, z = np.broadcast_arrays(np.asarray(r, float), np.asarray(z, float))
    all_media = media(res)
    n = len(res.layers())
    out = np.full(r.shape, n + SURROUNDINGS, dtype=int)
    done = np.zeros(r.shape, bool)
    order = [m for m in all_media if m.index < n]  # innermost layer first
    order += [m for m in all_media if m.index == n + PEDESTAL] + [m for m in all_media if m.index == n + SUBSTRATE]
    for med in order:
        hit = med.shape.contains(r, z) & ~done
        out[hit] = med.index
        done |= hit
    return out


def bounding_box_um(res: Resonator) -> Rect:
    """The smallest rectangle holding the resonator's layers (not the substrate/pedestal)."""
    layers = res.layers()
    outer = layers[-1]
    if isinstance(res.shape, Toroid):
        return Rect(outer.inner_radius_um, outer.outer_radius_um, -outer.half_height_um, outer.half_height_um)
    r0 = outer.inner_radius_um if isinstance(res.shape, Ring) else 0.0
    if isinstance(res.shape, (Sphere, Disk)):
        r0 = 0.0
    return Rect(r0, outer.outer_radius_um, -outer.half_height_um, outer.half_height_um)
