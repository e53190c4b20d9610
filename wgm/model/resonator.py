r"""Immutable, validated descriptions of a resonator and of a mode search.

Lengths are in µm, wavelengths in nm, as their names say.  Every object checks itself on
construction and raises :class:`~wgm.errors.ConfigError` naming the config key, the value
and what is allowed, so the same message serves the Python API and the CLI.

Shapes (axis of revolution ``z``)::

    Sphere(radius_um)                       Disk(radius_um, thickness_um)       Ring(radius_um, width_um, height_um)
         .-~~~-.                             ______________                       __          __
        /       \                           |______________| thickness           |  |  hole  |  |  height
        \       /                            <-- radius -->                      |__|        |__|
         '-...-'                                                                 <-width->   (radius = outer)

    Toroid(major_radius_um, tube_radius_um)          Pedestal(radius_um, height_um) under a Disk
        __           __                                 ______________
       /  \   axis  /  \  tube (circle in r-z)         |______________|  disk
       \__/    |    \__/                                    |  |        pillar (e.g. silicon)
        <-major->                                        ____|__|____    substrate (optional)

``thickness_um = inf`` (disk) and ``height_um = inf`` (ring) are the 2-D limit: infinitely
tall cylinders, which the exact solver handles.  Coatings are conformal shells around a
sphere, disk or toroid's tube, innermost first.  The (r, z) cross-section every engine
meshes or rasterises is :mod:`wgm.model.section`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from wgm.errors import ConfigError
from wgm.model.materials import ConstantIndex, Material
from wgm.model.validate import integer, positive

__all__ = ["Sphere", "Disk", "Ring", "Toroid", "Pedestal", "Coating", "Resonator", "Search", "Layer", "POLARIZATIONS"]

POLARIZATIONS = ("TE", "TM")
"""Mie convention for every shape: TE has no electric field normal to the outer surface
(for a disk or ring in the 2-D limit: E along the axis, ``Ez``); TM has no magnetic field
normal to it (``Hz``).  Planar-photonics papers often call the disk ``Hz`` family "TE-like"."""


@dataclass(frozen=True)
class Sphere:
    """A sphere of radius ``radius_um`` (µm)."""

    radius_um: float
    material: Material

    kind = "sphere"

    def __post_init__(self):
        object.__setattr__(self, "radius_um", positive("resonator.radius_um", self.radius_um))


@dataclass(frozen=True)
class Disk:
    """A disk (cylinder) of radius ``radius_um`` and thickness ``thickness_um`` (µm; ``inf``: 2-D limit)."""

    radius_um: float
    thickness_um: float
    material: Material

    kind = "disk"

    def __post_init__(self):
        object.__setattr__(self, "radius_um", positive("resonator.radius_um", self.radius_um))
        object.__setattr__(self, "thickness_um",
                           positive("resonator.thickness_um", self.thickness_um, allow_inf=True))


@dataclass(frozen=True)
class Ring:
    """A ring of outer radius ``radius_um``, radial width ``width_um`` and height ``height_um`` (µm)."""

    radius_um: float
    width_um: float
    height_um: float
    material: Material

    kind = "ring"

    def __post_init__(self):
        object.__setattr__(self, "radius_um", positive("resonator.radius_um", self.radius_um))
        w = positive("resonator.width_um", self.width_um)
        if w >= self.radius_um:
            raise ConfigError("resonator.width_um", self.width_um,
                              f"must be < radius_um = {self.radius_um:g} (a ring of full width is shape = \"disk\")")
        object.__setattr__(self, "width_um", w)
        object.__setattr__(self, "height_um", positive("resonator.height_um", self.height_um, allow_inf=True))

    @property
    def inner_radius_um(self) -> float:
        return self.radius_um - self.width_um


@dataclass(frozen=True)
class Toroid:
    """A torus: a tube of radius ``tube_radius_um`` whose centre circle has radius
    ``major_radius_um`` (µm, from the axis).  ``radius_um`` is the outer (equatorial) radius."""

    major_radius_um: float
    tube_radius_um: float
    material: Material

    kind = "toroid"

    def __post_init__(self):
        big = positive("resonator.major_radius_um", self.major_radius_um)
        a = positive("resonator.tube_radius_um", self.tube_radius_um)
        if a >= big:
            raise ConfigError("resonator.tube_radius_um", self.tube_radius_um,
                              f"must be < major_radius_um = {big:g} (the tube may not reach the axis)")
        object.__setattr__(self, "major_radius_um", big)
        object.__setattr__(self, "tube_radius_um", a)

    @property
    def radius_um(self) -> float:
        """The outer radius ``major + tube`` (µm)."""
        return self.major_radius_um + self.tube_radius_um


@dataclass(frozen=True)
class Pedestal:
    """A cylindrical pillar of ``radius_um`` and ``height_um`` (µm) under a disk, centred on the
    axis, touching the bottom of the disk's outermost layer (config ``[resonator.pedestal]``).
    A substrate, if any, lies under the pillar."""

    radius_um: float
    height_um: float
    material: Material

    def __post_init__(self):
        object.__setattr__(self, "radius_um", positive("resonator.pedestal.radius_um", self.radius_um))
        object.__setattr__(self, "height_um", positive("resonator.pedestal.height_um", self.height_um))


@dataclass(frozen=True)
class Coating:
    """A conformal shell of ``thickness_um`` (µm)."""

    thickness_um: float
    material: Material
    index_in_stack: int = 0

    def __post_init__(self):
        object.__setattr__(self, "thickness_um", positive(
            f"resonator.coating.{self.index_in_stack}.thickness_um", self.thickness_um))


@dataclass(frozen=True)
class Layer:
    """One layer of a resonator, numbered the same way by every engine and every record:
    ``index`` 0 is the body (sphere, disk or ring), 1, 2, ... the coatings from the inside out
    (``resonator.coating.{index - 1}`` in the config).

    A sphere's layer ``j`` is the ball of ``outer_radius_um`` minus the layers inside it; a
    disk's is the cylinder of ``outer_radius_um`` and ``half_height_um`` (``inf``: 2-D limit)
    minus the inner ones; a ring's body spans ``inner_radius_um`` to ``outer_radius_um``; a
    toroid's layer is the tube of radius ``half_height_um`` around the centre circle, which
    spans ``inner_radius_um`` to ``outer_radius_um`` (their mean is the major radius).
    The media outside the layers continue the numbering (:mod:`wgm.model.section`):
    ``len(layers)`` the surroundings, ``len(layers) + 1`` the substrate, ``+ 2`` the pedestal.
    """

    index: int
    key: str
    material: Material
    outer_radius_um: float
    half_height_um: float
    inner_radius_um: float = 0.0

    @property
    def region(self) -> str:
        """The name of the layer as a gain region: ``"core"`` or ``"coating.N"``."""
        return "core" if self.index == 0 else f"coating.{self.index - 1}"


REGIONS_HELP = "allowed: 'core', 'coating', 'coating.N' (coating: every coating)"


@dataclass(frozen=True)
class Resonator:
    """A shape, its coatings (innermost first), the surrounding medium and an optional substrate.

    Examples
    --------
    >>> from wgm.model.materials import ConstantIndex
    >>> r = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(2.0)),))
    >>> r.outer_radius_um
    2.05
    """

    shape: Sphere | Disk | Ring | Toroid
    coatings: tuple[Coating, ...] = ()
    surroundings: Material = field(default_factory=lambda: ConstantIndex(1.0))
    substrate: Material | None = None
    pedestal: Pedestal | None = None

    def __post_init__(self):
        object.__setattr__(self, "coatings", tuple(self.coatings))
        if isinstance(self.shape, Toroid):
            if self.substrate is not None:
                raise ConfigError("resonator.substrate", self.substrate.name,
                                  "a toroid has no substrate here (allowed for 'disk' and 'ring')")
            tube = self.shape.tube_radius_um + sum(c.thickness_um for c in self.coatings)
            if tube >= self.shape.major_radius_um:
                raise ConfigError("resonator.coating", f"{tube - self.shape.tube_radius_um:g} µm in all",
                                  f"the coated tube (radius {tube:g} µm) must not reach the axis "
                                  f"(major_radius_um = {self.shape.major_radius_um:g})")
        if self.pedestal is not None:
            if not isinstance(self.shape, Disk) or math.isinf(self.shape.thickness_um):
                raise ConfigError("resonator.pedestal", f"under a {self.shape.kind}",
                                  "a pedestal stands under a disk of finite thickness_um only")
            if self.pedestal.radius_um >= self.outer_radius_um:
                raise ConfigError("resonator.pedestal.radius_um", self.pedestal.radius_um,
                                  f"must be < the disk's outer radius {self.outer_radius_um:g} µm "
                                  "(a pillar as wide as the disk is a substrate)")
        if self.coatings and isinstance(self.shape, Ring):
            raise ConfigError("resonator.coating", f"{len(self.coatings)} layer(s)",
                              "shape 'ring' cannot take a coating (allowed for 'sphere', 'disk' and 'toroid')")
        if self.substrate is not None:
            if isinstance(self.shape, Sphere):
                raise ConfigError("resonator.substrate", self.substrate.name,
                                  "a sphere has no substrate (allowed for 'disk' and 'ring')")
            if self.is_2d:
                raise ConfigError("resonator.substrate", self.substrate.name,
                                  "a substrate needs a finite thickness_um/height_um (inf is the 2-D limit)")

    @property
    def kind(self) -> str:
        return self.shape.kind

    @property
    def is_2d(self) -> bool:
        """True for infinitely tall disks and rings (the 2-D limit)."""
        if isinstance(self.shape, Disk):
            return math.isinf(self.shape.thickness_um)
        if isinstance(self.shape, Ring):
            return math.isinf(self.shape.height_um)
        return False

    @property
    def outer_radius_um(self) -> float:
        return self.shape.radius_um + sum(c.thickness_um for c in self.coatings)

    def materials(self) -> dict[str, Material]:
        """Every material by the config key where it is set."""
        out = {"resonator": self.shape.material, "surroundings": self.surroundings}
        for i, c in enumerate(self.coatings):
            out[f"resonator.coating.{i}"] = c.material
        if self.substrate is not None:
            out["resonator.substrate"] = self.substrate
        if self.pedestal is not None:
            out["resonator.pedestal"] = self.pedestal.material
        return out

    def check_band(self, band_nm: tuple[float, float]) -> None:
        """Raise :class:`ConfigError` (naming the config key) if a material has no data in the band."""
        for key, mat in self.materials().items():
            field_ = "nk_file" if "nk_file" in mat.to_config() else "material"
            mat.check_band(band_nm, f"{key}.{field_}")

    def frozen_at(self, wavelength_nm: float) -> "Resonator":
        """The same resonator with every material replaced by its constant index at one
        wavelength: what the FDTD engine simulates with ``[fdtd] materials = "band-centre"``.
        The extinction keeps its sign: ``k < 0`` (gain) stays gain, as FDTD simulates it."""
        from dataclasses import replace

        def freeze(mat):
            n = mat.n_at(wavelength_nm)
            return ConstantIndex(n.real, n.imag)

        shape = replace(self.shape, material=freeze(self.shape.material))
        coatings = tuple(replace(c, material=freeze(c.material)) for c in self.coatings)
        substrate = freeze(self.substrate) if self.substrate is not None else None
        pedestal = replace(self.pedestal, material=freeze(self.pedestal.material)) if self.pedestal else None
        return Resonator(shape, coatings, freeze(self.surroundings), substrate, pedestal)

    def layers(self) -> tuple[Layer, ...]:
        """The layers from the body outwards: the one numbering (0 = body, k = coating k − 1)
        every engine and record uses."""
        shape = self.shape
        if isinstance(shape, Toroid):
            big, a = shape.major_radius_um, shape.tube_radius_um
            out = [Layer(0, "resonator", shape.material, big + a, a, big - a)]
            for i, c in enumerate(self.coatings):
                a += c.thickness_um
                out.append(Layer(i + 1, f"resonator.coating.{i}", c.material, big + a, a, big - a))
            return tuple(out)
        if isinstance(shape, Sphere):
            r = h = shape.radius_um
        elif isinstance(shape, Disk):
            r, h = shape.radius_um, shape.thickness_um / 2
        else:
            r, h = shape.radius_um, shape.height_um / 2
        inner = shape.inner_radius_um if isinstance(shape, Ring) else 0.0
        out = [Layer(0, "resonator", shape.material, r, h, inner)]
        for i, c in enumerate(self.coatings):
            inner = r
            r += c.thickness_um
            h += c.thickness_um
            out.append(Layer(i + 1, f"resonator.coating.{i}", c.material, r, h, inner))
        return tuple(out)

    def region_layers(self, region: str, key: str = "gain.region") -> tuple[int, ...]:
        """The layer indices a region names: ``"core"`` -> (0,), ``"coating"`` -> every coating,
        ``"coating.N"`` -> (N + 1,).  ``key`` names the setting in errors."""
        n = len(self.coatings)
        if region == "core":
            return (0,)
        if region == "coating":
            if not n:
                raise ConfigError(key, region, "the resonator has no coating")
            return tuple(range(1, n + 1))
        if isinstance(region, str) and region.startswith("coating."):
            tail = region.split(".", 1)[1]
            if tail.isdigit() and int(tail) < n:
                return (int(tail) + 1,)
            raise ConfigError(key, region, f"the resonator has {n} coating(s)"
                              + (": " + ", ".join(f"coating.{i}" for i in range(n)) if n else ""))
        raise ConfigError(key, region, REGIONS_HELP)

    def with_layer_materials(self, materials: dict) -> "Resonator":
        """The same resonator with the materials of some layers replaced (``{index: material}``)."""
        from dataclasses import replace

        shape = replace(self.shape, material=materials[0]) if 0 in materials else self.shape
        coatings = tuple(replace(c, material=materials[i + 1]) if i + 1 in materials else c
                         for i, c in enumerate(self.coatings))
        return Resonator(shape, coatings, self.surroundings, self.substrate, self.pedestal)

    def radial_layers(self) -> tuple[Layer, ...]:
        """The exact solver's radial stack from the axis outwards: :meth:`layers`, with a ring's
        hole (filled with the surrounding medium) first, as ``index`` −1."""
        layers = self.layers()
        if isinstance(self.shape, Ring):
            hole = Layer(-1, "surroundings (ring hole)", self.surroundings, self.shape.inner_radius_um, math.inf)
            return (hole,) + layers
        return layers


@dataclass(frozen=True)
class Search:
    """Which modes to find: a wavelength band, radial orders ``1..max_radial_order``, polarizations."""

    wavelength_nm: tuple[float, float]
    max_radial_order: int = 3
    polarizations: tuple[str, ...] = POLARIZATIONS

    def __post_init__(self):
        band = self.wavelength_nm
        if (not isinstance(band, (tuple, list)) or len(band) != 2
                or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in band)):
            raise ConfigError("search.wavelength_nm", band, "must be [min, max] in nm, e.g. [520.0, 545.0]")
        lo, hi = float(band[0]), float(band[1])
        if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
            raise ConfigError("search.wavelength_nm", list(band), "must be [min, max] with 0 < min < max (nm)")
        object.__setattr__(self, "wavelength_nm", (lo, hi))
        integer("search.max_radial_order", self.max_radial_order, minimum=1)
        pols = tuple(self.polarizations)
        if not pols or any(p not in POLARIZATIONS for p in pols) or len(set(pols)) != len(pols):
            raise ConfigError("search.polarizations", list(pols), "must be a non-empty list of distinct 'TE', 'TM'")
        object.__setattr__(self, "polarizations", pols)
