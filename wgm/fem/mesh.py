"""Curved triangular meshes of the (r, z) cross-section, with gmsh.

The resonator's media (:mod:`wgm.model.section`), the air around it and the PML are fragmented
into conforming pieces (OpenCASCADE), meshed with a size per piece (the local wavelength over
the element density; the PML coarser), and raised to second order so that the triangles'
curved sides lie on the true circles.  The result is a scikit-fem ``MeshTri2`` with sorted
connectivity (scikit-fem orients the Nédélec N2/N3 degrees of freedom correctly only then) and
the medium index of every element.

All lengths in µm.
"""

from __future__ import annotations

import logging

from dataclasses import dataclass

import numpy as np

from wgm.errors import SolverError
from wgm.model import section
from wgm.model.resonator import Resonator

__all__ = ["Domain", "FemMesh", "build_mesh"]

log = logging.getLogger(__name__)

_GMSH_TRIANGLE6 = 9  # gmsh's element type of the 6-node (quadratic) triangle


@dataclass(frozen=True)
class Domain:
    """The meshed rectangle ``r_lo ≤ r ≤ r_hi``, ``z_lo ≤ z ≤ z_hi`` (µm) and its PML.

    The PML is ``r > r_pml`` and, where ``z_pml_lo > z_lo`` (``z_pml_hi < z_hi``), below (above)
    those planes.  ``r_lo > 0``: an electric wall inside the resonator where the field has
    decayed (the reduced domain); ``r_lo = 0``: the axis.  ``half``: only ``z ≥ 0`` (the plane
    z = 0 is a symmetry wall).  Walls without PML at ``z_lo``/``z_hi`` (reduced sphere
    domains) are electric walls where the field has decayed."""

    r_lo: float
    r_pml: float
    r_hi: float
    z_lo: float
    z_pml_lo: float
    z_pml_hi: float
    z_hi: float
    half: bool = False

    @property
    def pml_depth_r(self) -> float:
        return self.r_hi - self.r_pml

    def describe(self) -> dict:
        return {k: getattr(self, k) for k in ("r_lo", "r_pml", "r_hi", "z_lo", "z_pml_lo", "z_pml_hi", "z_hi",
                                              "half")}


@dataclass
class FemMesh:
    """A curved mesh: ``mesh`` (scikit-fem ``MeshTri2``), ``medium`` (one-numbering index per
    element), ``in_pml`` (per element), the :class:`Domain` and the element sizes used."""

    mesh: object
    medium: np.ndarray
    in_pml: np.ndarray
    domain: Domain
    sizes_um: dict

    @property
    def n_elements(self) -> int:
        return int(self.mesh.t.shape[1])


def _gmsh():
    try:
        import gmsh
    except ImportError as exc:  # pragma: no cover - depends on the installation
        from wgm.errors import UserError

        raise UserError(f"the FEM engine needs gmsh (pip install gmsh; `make setup` installs it): {exc}") from None
    return gmsh


def _clip(shape, dom: Domain, margin: float):
    """A shape's rectangle clipped to the domain (with a margin, so that the domain's boundary
    cuts it): (x, y, dx, dy) for gmsh, or None when it misses the domain."""
    r0 = max(shape.r0_um, dom.r_lo - margin)
    r1 = min(shape.r1_um, dom.r_hi + margin)
    z0 = max(shape.z0_um, dom.z_lo - margin)
    z1 = min(shape.z1_um, dom.z_hi + margin)
    if r1 <= r0 or z1 <= z0:
        return None
    return r0, z0, r1 - r0, z1 - z0


def build_mesh(res: Resonator, dom: Domain, size_of_medium: dict, pml_factor: float = 1.5) -> FemMesh:
    """Mesh the cross-section of ``res`` in ``dom``; ``size_of_medium`` maps each medium index (one
    numbering) to its element size (µm); the PML's elements are ``pml_factor`` times the
    surroundings'."""
    gmsh = _gmsh()
    from skfem import MeshTri2

    media = section.media(res)
    n_lay = len(res.layers())
    # inputs in priority order: the innermost layer first, then the pedestal, the substrate
    prio = [m for m in media if m.index < n_lay]
    prio += [m for m in media if m.index == n_lay + section.PEDESTAL]
    prio += [m for m in media if m.index == n_lay + section.SUBSTRATE]
    span = max(dom.r_hi - dom.r_lo, dom.z_hi - dom.z_lo)
    margin = 0.05 * span
    initialized = gmsh.isInitialized()
    if not initialized:
        gmsh.initialize(readConfigFiles=False)
    try:
        gmsh.option.setNumber("General.Terminal", 0)
        gmsh.model.add("wgm-fem")
        occ = gmsh.model.occ
        box = occ.addRectangle(dom.r_lo, dom.z_lo, 0, dom.r_hi - dom.r_lo, dom.z_hi - dom.z_lo)
        inner = occ.addRectangle(dom.r_lo, dom.z_pml_lo, 0, dom.r_pml - dom.r_lo, dom.z_pml_hi - dom.z_pml_lo)
        tools = [(2, inner)]
        owners = [None]  # the medium of each tool after the first (None: the PML's inner rectangle)
        for med in prio:
            shp = med.shape
            if isinstance(shp, section.Circle):
                if (shp.centre_r_um + shp.radius_um <= dom.r_lo or shp.centre_z_um - shp.radius_um >= dom.z_hi
                        or shp.centre_z_um + shp.radius_um <= dom.z_lo):
                    continue
                tag = occ.addDisk(shp.centre_r_um, shp.centre_z_um, 0, shp.radius_um, shp.radius_um)
            else:
                rect = _clip(shp, dom, margin)
                if rect is None:
                    continue
                tag = occ.addRectangle(rect[0], rect[1], 0, rect[2], rect[3])
            tools.append((2, tag))
            owners.append(med.index)
        _, out_map = occ.fragment([(2, box)], tools)
        occ.synchronize()
        in_box = {t for d, t in out_map[0] if d == 2}
        in_inner = {t for d, t in out_map[1] if d == 2}
        owner_of: dict[int, int] = {}
        for k, pieces in enumerate(out_map[2:]):
            for d, t in pieces:
                if d == 2 and t not in owner_of:  # the first (innermost) owner wins
                    owner_of[t] = owners[k + 1]
        outside = [(2, t) for d, t in gmsh.model.getEntities(2) if t not in in_box]
        if outside:
            occ.remove(outside, recursive=True)
            occ.synchronize()
        surroundings = n_lay + section.SURROUNDINGS
        pieces = []
        fields = []
        for t in sorted(in_box):
            med = owner_of.get(t, surroundings)
            pml = t not in in_inner
            h = size_of_medium[med] * (pml_factor if pml else 1.0)
            pieces.append((t, med, pml))
            f = gmsh.model.mesh.field.add("Constant")
            gmsh.model.mesh.field.setNumber(f, "VIn", h)
            gmsh.model.mesh.field.setNumber(f, "VOut", 1e22)
            gmsh.model.mesh.field.setNumbers(f, "SurfacesList", [t])
            gmsh.model.mesh.field.setNumber(f, "IncludeBoundary", 1)
            fields.append(f)
        fmin = gmsh.model.mesh.field.add("Min")
        gmsh.model.mesh.field.setNumbers(fmin, "FieldsList", fields)
        gmsh.model.mesh.field.setAsBackgroundMesh(fmin)
        for opt in ("Mesh.MeshSizeExtendFromBoundary", "Mesh.MeshSizeFromPoints", "Mesh.MeshSizeFromCurvature"):
            gmsh.option.setNumber(opt, 0)
        gmsh.option.setNumber("Mesh.Algorithm", 6)
        try:
            gmsh.model.mesh.generate(2)
            gmsh.model.mesh.setOrder(2)
        except Exception as exc:  # gmsh raises plain Exceptions
            raise SolverError(f"gmsh could not mesh the cross-section ({exc}); check the shape's sizes "
                              f"against the wavelength, or set fem.elements_per_wavelength") from None
        node_tags, coords, _ = gmsh.model.mesh.getNodes()
        xy = coords.reshape(-1, 3)[:, :2]
        index = np.full(int(node_tags.max()) + 1, -1, dtype=np.int64)
        index[node_tags.astype(np.int64)] = np.arange(len(node_tags))
        t6, medium, in_pml = [], [], []
        for t, med, pml in pieces:
            types, _, nodes = gmsh.model.mesh.getElements(2, t)
            for typ, nd in zip(types, nodes):
                if typ != _GMSH_TRIANGLE6:
                    raise SolverError(f"gmsh returned element type {typ} (expected 6-node triangles)")
                conn = index[np.asarray(nd, dtype=np.int64)].reshape(-1, 6).T
                t6.append(conn)
                medium.append(np.full(conn.shape[1], med))
                in_pml.append(np.full(conn.shape[1], pml))
    finally:
        gmsh.model.remove()
        if not initialized:
            gmsh.finalize()
    t6 = np.hstack(t6)
    used = np.unique(t6)
    remap = np.full(xy.shape[0], -1, dtype=np.int64)
    remap[used] = np.arange(len(used))
    raw = MeshTri2(np.ascontiguousarray(xy[used].T), remap[t6])
    # scikit-fem orients N2/N3 edge DOFs by a sign only: rebuild with sorted vertex order
    mesh = MeshTri2(raw.doflocs, np.sort(raw.t, axis=0))
    sizes = {str(k): v for k, v in size_of_medium.items()}
    log.info("FEM mesh: %d curved triangles, domain %s", mesh.t.shape[1], dom.describe())
    return FemMesh(mesh, np.concatenate(medium), np.concatenate(in_pml), dom, sizes)
