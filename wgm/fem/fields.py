"""What an FEM eigenvector says: energies per element and medium, the PML's share, the Mie
polarization, the radial and polar orders from the field's maxima, the mode volume, and the
field sampled on a grid (field maps, HDF5).

Field components from the unknowns: ``E_r, E_z`` (Nédélec part), ``E_φ = i u / r`` (Lagrange
part), and, with ``w = ∇u − m E_t``, ``curl E = (−i w_z / r, −curl E_t, i w_r / r)``
(``H = curl E / (i k0)``, μ = 1; only ratios of H are used here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wgm.model import section
from wgm.model.resonator import Resonator, Sphere, Toroid

__all__ = ["Energies", "energies", "probe", "orders", "normal_direction", "MAXIMUM_SHARE"]

MAXIMUM_SHARE = 0.05
"""Maxima of |E|² below this share of the largest are not counted as field maxima (the same
rule as the FDTD engine's radial order)."""
MAXIMUM_PROMINENCE = 0.3
"""...and must rise by this share of its own height above the dips on either side (the sampled
field jumps slightly between elements; a mode's maxima are separated by nodes or deep dips)."""


@dataclass
class Energies:
    """Per element: electric energy ``∫ Re ε |E|² r dr dz`` (``electric``), the part normal to
    the outer surface (``e_normal``), the magnetic ``∫ |curl E|² r dr dz`` and its normal part;
    the largest ``Re ε |E|²`` at a quadrature point (``peak_density``) and where it is
    (``peak_rz``)."""

    electric: np.ndarray
    e_normal: np.ndarray
    magnetic: np.ndarray
    h_normal: np.ndarray
    peak_density: float
    peak_rz: tuple[float, float]

    def share(self, mask) -> float:
        tot = self.electric.sum()
        return float(self.electric[mask].sum() / tot) if tot > 0 else 0.0


def normal_direction(res: Resonator, r, z):
    """Unit normal (n_r, n_z) of the outer surface near (r, z): radial from the centre of a
    sphere; r̂ for disks, rings and toroids (their modes hug the outer rim; the tube's own
    normal read 30 % of a toroid TE mode's energy as normal, r̂ 4 %, measured with FDTD)."""
    if isinstance(res.shape, Sphere):
        dr, dz = r, z
    else:
        return np.ones_like(r), np.zeros_like(z)
    norm = np.hypot(dr, dz)
    norm = np.where(norm > 0, norm, 1.0)
    return dr / norm, dz / norm


def energies(pencil, fm, res: Resonator, eps_real: np.ndarray, vector: np.ndarray) -> Energies:
    """The per-element energies of an eigenvector (``eps_real``: Re ε per element)."""
    basis = pencil.basis
    E, u = basis.interpolate(vector)
    x = _quadrature_points(basis)
    rr, zz = x[0], x[1]
    er, ez = E[0], E[1]
    ephi = 1j * np.asarray(u) / rr
    e2 = np.abs(er) ** 2 + np.abs(ez) ** 2 + np.abs(ephi) ** 2
    nr, nz = normal_direction(res, rr, zz)
    en2 = np.abs(nr * er + nz * ez) ** 2
    m = pencil.m
    wr = u.grad[0] - m * er
    wz = u.grad[1] - m * ez
    cr, cphi, cz = -1j * wz / rr, -E.curl, 1j * wr / rr
    h2 = np.abs(cr) ** 2 + np.abs(cphi) ** 2 + np.abs(cz) ** 2
    hn2 = np.abs(nr * cr + nz * cz) ** 2
    dx = basis.dx
    eps_q = eps_real[:, None]
    dens = eps_q * e2
    dens_field = np.where(fm.in_pml[:, None], 0.0, dens)
    i_el, i_q = np.unravel_index(int(np.argmax(dens_field)), dens_field.shape)
    return Energies(electric=np.sum(dens * rr * dx, axis=1), e_normal=np.sum(eps_q * en2 * rr * dx, axis=1),
                    magnetic=np.sum(h2 * rr * dx, axis=1), h_normal=np.sum(hn2 * rr * dx, axis=1),
                    peak_density=float(dens_field[i_el, i_q]), peak_rz=(float(rr[i_el, i_q]), float(zz[i_el, i_q])))


def _quadrature_points(basis):
    """Global coordinates of the quadrature points, shape (2, elements, points)."""
    return np.asarray(basis.global_coordinates())


def _locate(mesh, points):
    """(element index, reference coordinates) of points, by the straight-sided triangles of
    the mesh's vertices (on curved boundary elements a point is placed within O(h²·curvature))."""
    from skfem import MeshTri1

    flat = MeshTri1(mesh.p, mesh.t, sort_t=False)
    finder = flat.element_finder()
    cells = finder(points[0], points[1])
    v0 = mesh.p[:, mesh.t[0, cells]]
    e1 = mesh.p[:, mesh.t[1, cells]] - v0
    e2 = mesh.p[:, mesh.t[2, cells]] - v0
    d = points - v0
    det = e1[0] * e2[1] - e1[1] * e2[0]
    xi = (d[0] * e2[1] - d[1] * e2[0]) / det
    eta = (e1[0] * d[1] - e1[1] * d[0]) / det
    return cells, np.clip(np.vstack([xi, eta]), 0.0, 1.0)


def _dg_basis(pencil):
    """The discontinuous Lagrange basis of the element degree on the same mesh and quadrature
    (the components are projected onto it to be evaluated at points: scikit-fem evaluates
    Nédélec N3 functions only at shared reference points)."""
    from scipy.sparse.linalg import splu
    from skfem import BilinearForm, ElementDG, ElementTriP2, ElementTriP3, LinearForm

    cache = getattr(pencil, "_dg", None)
    if cache is None:
        elem = ElementDG(ElementTriP3() if pencil.order >= 3 else ElementTriP2())
        dg = pencil.basis.with_element(elem)
        lu = splu(BilinearForm(lambda p, q, w: p * q).assemble(dg).tocsc())
        load = LinearForm(lambda q, w: w.f * q)

        def project(values):
            """L² projection of quadrature-point values (elements × points) onto the DG space."""
            re = lu.solve(load.assemble(dg, f=np.real(values)))
            im = lu.solve(load.assemble(dg, f=np.imag(values)))
            return re + 1j * im

        cache = (dg, project)
        pencil._dg = cache
    return cache


def probe(pencil, vector, points, *, derivatives: bool = False) -> dict:
    """The field at ``points`` (2 × n array of (r, z), µm, inside the mesh): ``Er``, ``Ez``,
    ``Ep`` (complex arrays) and, with ``derivatives``, ``Hr``, ``Hp``, ``Hz`` up to the common
    factor ``1/(i k0)``.  Each component is projected element by element onto discontinuous
    Lagrange polynomials of the element degree, then evaluated."""
    basis = pencil.basis
    points = np.asarray(points, dtype=float)
    cells, X = _locate(basis.mesh, points)
    E, u = basis.interpolate(vector)
    q = {"Er": E[0], "Ez": E[1], "u": np.asarray(u)}
    if derivatives:
        m = pencil.m
        q["wr"] = u.grad[0] - m * E[0]
        q["wz"] = u.grad[1] - m * E[1]
        q["curl"] = E.curl
    dg, project = _dg_basis(pencil)
    phis = [np.asarray(dg.elem.gbasis(dg.mapping, X[:, :, None], k, tind=cells)[0])[..., 0] for k in range(dg.Nbfun)]
    vals = {}
    for name, arr in q.items():
        coef = project(arr)
        vals[name] = sum(phis[k] * coef[dg.element_dofs[k, cells]] for k in range(dg.Nbfun))
    r = points[0]
    out = {"Er": vals["Er"], "Ez": vals["Ez"], "Ep": 1j * vals["u"] / r}
    if derivatives:
        out["Hr"], out["Hp"], out["Hz"] = -1j * vals["wz"] / r, -vals["curl"], 1j * vals["wr"] / r
    return out


def _count_maxima(values) -> int:
    """Maxima above :data:`MAXIMUM_SHARE` of the largest, standing out by
    :data:`MAXIMUM_PROMINENCE` of their own height."""
    from scipy.signal import find_peaks

    v = np.asarray(values, float)
    if v.size < 3 or not np.any(v > 0):
        return 0
    peak = v.max()
    padded = np.concatenate([[0.0], v, [0.0]])
    idx, props = find_peaks(padded, height=MAXIMUM_SHARE * peak, prominence=0.0)
    return int(np.count_nonzero(props["prominences"] >= MAXIMUM_PROMINENCE * props["peak_heights"]))


def orders(pencil, fm, res: Resonator, vector, peak_rz, samples: int = 400,
           polarization: str = "TE") -> tuple[int | None, int | None]:
    """(radial order, polar order) from the maxima of |E|² (TE) or |H|² (TM: its field is
    tangential, so continuous across the interfaces, where E's normal part jumps and would add
    false maxima at a film) along the radial line through the
    field's peak (from the centre of the shape's section to its outer surface) and along the
    polar curve through it (sphere and toroid: the circle about the centre; disk, ring: the
    vertical line), mirrored across z = 0 when only the upper half is meshed."""
    dom = fm.domain
    outer = section.media(res)[len(res.layers()) - 1].shape
    r_pk, z_pk = peak_rz
    if isinstance(outer, section.Circle) and isinstance(res.shape, Toroid):
        # radial: the horizontal chord of the tube through the peak, from the tube's axis out
        # (a mode hugs the outer rim); polar: the arc about the tube's centre through the peak
        cr, cz = outer.centre_r_um, outer.centre_z_um
        half = math.sqrt(max(outer.radius_um**2 - (z_pk - cz) ** 2, 0.0))
        s = np.linspace(cr, cr + half * 0.999, samples)
        radial_pts = np.vstack([s, np.full_like(s, z_pk)])
        radial_pts = radial_pts[:, radial_pts[0] > dom.r_lo + 1e-9]
        rho = math.hypot(r_pk - cr, z_pk - cz)
        th = np.linspace(-math.pi / 2, math.pi / 2, samples)
        arc = np.vstack([cr + rho * np.cos(th), cz + rho * np.sin(th)])
    elif isinstance(outer, section.Circle):
        cr, cz = outer.centre_r_um, outer.centre_z_um
        rho = math.hypot(r_pk - cr, z_pk - cz)
        ang = math.atan2(z_pk - cz, r_pk - cr)
        # radial: from the inner wall (or centre) out to the surface, along the peak's direction
        s = np.linspace(0.0, outer.radius_um * 0.999, samples)
        pts = np.vstack([cr + s * math.cos(ang), cz + s * math.sin(ang)])
        keep = (pts[0] > dom.r_lo + 1e-9) & (pts[1] >= dom.z_lo) & (pts[1] <= dom.z_hi)
        radial_pts = pts[:, keep]
        # polar: the arc of radius rho about the centre within ±(π/2) of the outward direction
        th = np.linspace(-math.pi / 2, math.pi / 2, samples)
        arc = np.vstack([cr + rho * np.cos(th), cz + rho * np.sin(th)])
    else:
        lo = outer.r0_um if outer.r0_um > 0 else 0.0
        s = np.linspace(max(lo, dom.r_lo) + 1e-9, outer.r1_um * 0.999, samples)
        radial_pts = np.vstack([s, np.full_like(s, z_pk)])
        h = outer.z1_um if math.isfinite(outer.z1_um) else None
        arc = None if h is None else np.vstack([np.full(samples, r_pk), np.linspace(-h * 0.999, h * 0.999, samples)])
    magnetic = polarization == "TM"
    q = _count_maxima(_intensity(pencil, vector, radial_pts, magnetic)) if radial_pts.shape[1] >= 3 else None
    if arc is None or (dom.z_hi - dom.z_lo) < 1e-6:
        return q or None, 0
    if dom.half:
        arc = np.vstack([arc[0], np.abs(arc[1])])
    inside = (arc[0] > dom.r_lo + 1e-9) & (arc[1] >= dom.z_lo) & (arc[1] <= dom.z_hi) & (arc[0] < dom.r_pml)
    vals = np.zeros(arc.shape[1])
    if np.any(inside):
        vals[inside] = _intensity(pencil, vector, arc[:, inside], magnetic)
    p = _count_maxima(vals) - 1
    return (q or None), (p if p >= 0 else None)


def _intensity(pencil, vector, pts, magnetic: bool):
    f = probe(pencil, vector, pts, derivatives=magnetic)
    names = ("Hr", "Hp", "Hz") if magnetic else ("Er", "Ez", "Ep")
    return sum(np.abs(f[c]) ** 2 for c in names)
