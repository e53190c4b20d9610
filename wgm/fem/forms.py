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
    """The assembled pencil: ``A`` (stiffness, depends on m) and the mass matrices with ε = 1
    per medium and side of the PML (``B[(j, in_pml)]``), the basis and the element order.
    Outside the PML the mass matrices are real: ``x^H B[(j, False)] x`` is the electric energy
    of a field in medium j (over ε, without the 2π of the azimuth)."""

    A: object
    B: dict
    basis: object
    order: int
    m: int

    def mass(self, eps: dict):
        """``Σ_j ε_j B_j`` for the media's permittivities ``eps`` ({medium index: complex ε})."""
        out = None
        for (j, _), Bj in self.B.items():
            term = Bj * complex(eps[j])
            out = term if out is None else out + term
        return out

    def energy_by_group(self, eps: dict, x) -> dict:
        """``Re ε_j · x^H B x`` for each (medium, in PML) group: the electric energy there (in
        the PML the modulus of the stretched form, only good to compare shares)."""
        xc = np.conj(x)
        out = {}
        for (j, pml), Bj in self.B.items():
            val = xc @ (Bj @ x)
            out[(j, pml)] = abs(val) * eps[j].real if pml else val.real * eps[j].real
        return out


def elements(order: int):
    """The product element N_p × P_p."""
    from skfem import ElementTriN1, ElementTriN2, ElementTriN3, ElementTriP1, ElementTriP2, ElementTriP3

    return {1: ElementTriN1() * ElementTriP1(), 2: ElementTriN2() * ElementTriP2(),
            3: ElementTriN3() * ElementTriP3()}[order]


def _stretch_fields(stretch: Stretch, basis):
    """The weights of the forms at the quadrature points, each computed once: with r̃, s_r, s_z
    of the stretch, ``a = s_z/(s_r r̃)``, ``b = s_r/(s_z r̃)`` (the in-plane gradients and E_t
    of the stiffness), ``c = r̃/(s_r s_z)`` (the curl), and the mass's ``ma = s_z r̃/s_r``,
    ``mb = s_r r̃/s_z``, ``mc = s_r s_z/r̃``."""
    x = np.asarray(basis.global_coordinates())
    rt, sr = stretch.r(x[0])
    sz = stretch.z(x[1])
    return {"a": sz / (sr * rt), "b": sr / (sz * rt), "c": rt / (sr * sz),
            "ma": sz * rt / sr, "mb": sr * rt / sz, "mc": sr * sz / rt}


@dataclass
class Stiffness:
    """The m-independent parts of the stiffness: ``A(m) = K0 − m K1 + m² K2`` (``w = ∇u − m E_t``
    is linear in m), assembled once per mesh."""

    K0: object
    K1: object
    K2: object

    def at(self, m: int):
        return (self.K0 - float(m) * self.K1 + float(m) ** 2 * self.K2).tocsr()


def assemble(fm: FemMesh, order: int, m: int, sigma_max: float, masses: dict | None = None, basis=None,
             stiffness: Stiffness | None = None) -> tuple[Pencil, Stiffness]:
    """The pencil for azimuthal number ``m``; the mass matrices ``B[(j, in_pml)]`` and the
    stiffness parts (they do not depend on m) are assembled unless given."""
    from skfem import Basis, BilinearForm

    stretch = Stretch(fm.domain, sigma_max)
    intorder = 2 * order + INTORDER_EXTRA
    if basis is None:
        basis = Basis(fm.mesh, elements(order), intorder=intorder)

    if stiffness is None:
        @BilinearForm(dtype=np.complex128)
        def k0(E, u, F, v, w):
            return w.a * u.grad[0] * v.grad[0] + w.b * u.grad[1] * v.grad[1] + w.c * E.curl * F.curl

        @BilinearForm(dtype=np.complex128)
        def k1(E, u, F, v, w):
            return w.a * (u.grad[0] * F[0] + E[0] * v.grad[0]) + w.b * (u.grad[1] * F[1] + E[1] * v.grad[1])

        @BilinearForm(dtype=np.complex128)
        def k2(E, u, F, v, w):
            return w.a * E[0] * F[0] + w.b * E[1] * F[1]

        coeff = _stretch_fields(stretch, basis)
        stiffness = Stiffness(*(form.assemble(basis, **coeff).tocsr() for form in (k0, k1, k2)))

    @BilinearForm(dtype=np.complex128)
    def mass(E, u, F, v, w):
        return w.ma * E[0] * F[0] + w.mb * E[1] * F[1] + w.mc * u * v

    if masses is None:
        masses = {}
        for j in np.unique(fm.medium):
            for pml in (False, True):
                sel = np.nonzero((fm.medium == j) & (fm.in_pml == pml))[0]
                if not len(sel):
                    continue
                sub = Basis(fm.mesh, elements(order), intorder=intorder, elements=sel)
                masses[(int(j), pml)] = mass.assemble(sub, **_stretch_fields(stretch, sub)).tocsr()
    return Pencil(stiffness.at(m), masses, basis, order, m), stiffness
