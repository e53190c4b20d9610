r"""The weak form of Maxwell's equations in the (r, z) half-plane for fields ``∝ exp(imφ − iωt)``.

Unknowns (spurious-free: the gradient fields form the exact discrete kernel at eigenvalue 0):
the transverse field ``E_t = (E_r, E_z)`` in first-kind Nédélec elements N_p and ``u = −i r E_φ``
in Lagrange elements P_p.  With ``w = ∇u − m E_t``, the curl is ``(−i w_z / r, −curl E_t, i w_r / r)``
and every coefficient is real for real ε: the problem is the complex-symmetric pencil

    a(E, F) = ∫ [ (s_z/s_r) w_r(E) w_r(F) / r̃ + (s_r/s_z) w_z(E) w_z(F) / r̃ + r̃/(s_r s_z) curl E curl F ] dr dz
    b(E, F) = ∫ ε [ (s_z/s_r) r̃ E_r F_r + (s_r/s_z) r̃ E_z F_z + s_r s_z u v / r̃ ] dr dz

``a = k0² b`` (k0 = ω/c in 1/µm, lengths in µm; μ = 1).  The PML is the complex stretch
``r̃ = r + i∫σ_r``, ``s_r = 1 + iσ_r`` (and ``s_z`` likewise) with σ growing as the square of the
depth into the PML; outside it ``r̃ = r`` and ``s = 1``.  Bilinear (not sesquilinear) forms.

``b`` is assembled once per medium, so that a material's ε can change (dispersion, the
self-consistent iteration) without reassembly: ``B = Σ_j ε_j B_j``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from wgm.fem.mesh import Domain, FemMesh

__all__ = ["Stretch", "Pencil", "assemble", "INTORDER_EXTRA"]

INTORDER_EXTRA = 2  # quadrature of degree 2p + 2: the 1/r and PML weights are not polynomials


@dataclass(frozen=True)
class Stretch:
    """The PML's complex stretch of the coordinates (σ_max, profile ``σ = σ_max ((x − x0)/d)²``)."""

    domain: Domain
    sigma_max: float

    def _profile(self, x, x0, d):
        t = np.clip((x - x0) / d, 0.0, None) if d > 0 else np.zeros_like(x)
        return self.sigma_max * t**2, self.sigma_max * d * t**3 / 3.0

    def r(self, r):
        """(r̃, s_r) at r."""
        dom = self.domain
        sig, integral = self._profile(r, dom.r_pml, dom.r_hi - dom.r_pml)
        return r + 1j * integral, 1.0 + 1j * sig

    def z(self, z):
        """s_z at z (only s_z enters: z̃ appears in no weight)."""
        dom = self.domain
        sig_hi, _ = self._profile(z, dom.z_pml_hi, dom.z_hi - dom.z_pml_hi)
        sig_lo, _ = self._profile(-z, -dom.z_pml_lo, dom.z_pml_lo - dom.z_lo)
        return 1.0 + 1j * (sig_hi + sig_lo)


@dataclass
class Pencil:
    """The assembled pencil: ``A`` (stiffness, depends on m) and one mass matrix per medium
    (``B[j]``, with ε = 1), the basis and the element order."""

    A: object
    B: dict
    basis: object
    order: int
    m: int

    def mass(self, eps: dict):
        """``Σ_j ε_j B_j`` for the media's permittivities ``eps`` ({medium index: complex ε})."""
        out = None
        for j, Bj in self.B.items():
            term = Bj * complex(eps[j])
            out = term if out is None else out + term
        return out


def elements(order: int):
    """The product element N_p × P_p."""
    from skfem import ElementTriN1, ElementTriN2, ElementTriN3, ElementTriP1, ElementTriP2, ElementTriP3

    return {1: ElementTriN1() * ElementTriP1(), 2: ElementTriN2() * ElementTriP2(),
            3: ElementTriN3() * ElementTriP3()}[order]


def assemble(fm: FemMesh, order: int, m: int, sigma_max: float) -> Pencil:
    """Assemble ``A`` and the per-medium ``B_j`` on the mesh (complex, PML included)."""
    from skfem import Basis, BilinearForm

    stretch = Stretch(fm.domain, sigma_max)
    intorder = 2 * order + INTORDER_EXTRA
    basis = Basis(fm.mesh, elements(order), intorder=intorder)
    mm = float(m)

    @BilinearForm(dtype=np.complex128)
    def stiffness(E, u, F, v, w):
        rt, sr = stretch.r(w.x[0])
        sz = stretch.z(w.x[1])
        wr_e = u.grad[0] - mm * E.value[0]
        wz_e = u.grad[1] - mm * E.value[1]
        wr_f = v.grad[0] - mm * F.value[0]
        wz_f = v.grad[1] - mm * F.value[1]
        return ((sz / sr) * wr_e * wr_f / rt + (sr / sz) * wz_e * wz_f / rt
                + rt / (sr * sz) * E.curl * F.curl)

    @BilinearForm(dtype=np.complex128)
    def mass(E, u, F, v, w):
        rt, sr = stretch.r(w.x[0])
        sz = stretch.z(w.x[1])
        return (sz / sr) * rt * E.value[0] * F.value[0] + (sr / sz) * rt * E.value[1] * F.value[1] \
            + sr * sz * u * v / rt

    A = stiffness.assemble(basis).tocsr()
    B = {}
    for j in np.unique(fm.medium):
        sub = Basis(fm.mesh, elements(order), intorder=intorder, elements=np.nonzero(fm.medium == j)[0])
        B[int(j)] = mass.assemble(sub).tocsr()
    return Pencil(A, B, basis, order, m)
