"""Shift-invert eigen-solves of the FEM pencil, and the self-consistent iteration of a mode
whose materials depend on its own complex frequency.

The unknowns constrained by walls (:func:`free_dofs`) are removed; scipy's ARPACK (``eigs``
in shift-invert mode, one sparse LU of ``A − σB`` per shift) returns the eigenvalues
``k0²`` nearest ``σ``.  The shift is complex: the cavity's quasi-normal modes lie below the
real axis, and a discretised PML has many modes just under it (a real shift would return
those first).
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np

from wgm.errors import SolverError
from wgm.fem.forms import Pencil
from wgm.fem.mesh import FemMesh

__all__ = ["Walls", "free_dofs", "solve_near", "Eigenpair", "Factor", "factorise", "rayleigh_functional",
           "residual_inverse_iteration"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Walls:
    """Boundary conditions: ``equator`` is ``"electric"`` (tangential E = 0), ``"magnetic"``
    (natural) or ``None`` (no wall: the mesh spans both sides); ``top`` likewise for the
    2-D limit's slab (``None`` elsewhere: the outer boundary behind the PML is electric)."""

    equator: str | None = None
    top: str | None = None


def free_dofs(fm: FemMesh, basis, m: int, walls: Walls) -> np.ndarray:
    """Indices of the unknowns not fixed by a wall: every outer boundary behind a PML, the
    inner wall of a reduced domain, z walls without PML and electric symmetry planes fix
    all their unknowns; on the axis ``u = 0`` and, for ``|m| ≥ 1``, the axial E_z too."""
    mesh = fm.mesh
    dom = fm.domain
    tol = 1e-9 * max(dom.r_hi, dom.z_hi - dom.z_lo)

    def facets(pred):
        return mesh.facets_satisfying(pred, boundaries_only=True)

    fixed = [facets(lambda x: np.abs(x[0] - dom.r_hi) < tol)]
    if dom.r_lo > 0:
        fixed.append(facets(lambda x: np.abs(x[0] - dom.r_lo) < tol))
    top_is_wall = walls.top is not None
    if not top_is_wall or walls.top == "electric":
        fixed.append(facets(lambda x: np.abs(x[1] - dom.z_hi) < tol))
    bottom = walls.equator if dom.half else None
    if not dom.half or bottom == "electric":
        fixed.append(facets(lambda x: np.abs(x[1] - dom.z_lo) < tol))
    fixed_dofs = [basis.get_dofs(np.concatenate(fixed)).all()]
    if dom.r_lo == 0:
        axis = facets(lambda x: np.abs(x[0]) < tol)
        dofs = basis.get_dofs(axis)
        u_idx = basis.split_indices()[1]
        all_axis = dofs.all()
        fixed_dofs.append(np.intersect1d(all_axis, u_idx))
        if abs(m) >= 1:
            fixed_dofs.append(np.setdiff1d(all_axis, u_idx))
    fixed_all = np.unique(np.concatenate(fixed_dofs))
    return np.setdiff1d(np.arange(basis.N), fixed_all)


SHIFT_OFFSETS = (3e-5, -7e-5, 2e-4)  # relative offsets of the shift from the target, tried in turn
ARPACK_TOL = 1e-9  # relative accuracy of the shift-inverted eigenvalues ν = 1/(k0² − σ): k0² to ~1e-9 |k0² − σ|, ~1e-13 of k0²


@dataclass
class Eigenpair:
    """One eigenpair: ``k0`` (1/µm, complex; Im < 0 for a decaying mode) and the full vector."""

    k0: complex
    vector: np.ndarray


LU_CHECK = 1e-8  # a factor is accepted when one solve's relative residual is below this


def factorise(M):
    """The sparse LU of a shifted matrix ``M = A − σB`` (CSC).  The pencil is complex symmetric,
    so SuperLU first runs in its symmetric mode: the minimum-degree order of ``M + Mᵀ`` with
    diagonal pivots (no row exchanges to spoil it).  On the 15 µm coated sphere's 36 k-unknown
    mesh that halves the fill and takes a third of the time of partial pivoting (0.77 s vs 2.4 s),
    with a residual of 4e-11 against 6e-12 (one measurement, load ~2).  Without pivoting a
    factor can be unstable; each is checked by the residual of one solve and, above
    :data:`LU_CHECK`, replaced by the partially pivoted factor.  Raises ``RuntimeError`` when
    ``M`` is exactly singular."""
    from scipy.sparse.linalg import splu

    try:
        lu = splu(M, permc_spec="MMD_AT_PLUS_A", diag_pivot_thresh=0.0, options={"SymmetricMode": True})
        b = np.random.default_rng(0).standard_normal(M.shape[0]) + 0j
        if np.linalg.norm(M @ lu.solve(b) - b) <= LU_CHECK * np.linalg.norm(b):
            return lu
        log.debug("FEM: the symmetric-mode LU's residual is too large; partial pivoting")
    except RuntimeError:
        log.debug("FEM: the symmetric-mode LU failed; partial pivoting")
    return splu(M, permc_spec="MMD_AT_PLUS_A")


@dataclass
class Factor:
    """One shift's sparse LU of ``A − σB`` on the free unknowns, kept so that modes near the
    shift can be iterated without a new factorisation (:func:`residual_inverse_iteration`)."""

    lu: object
    sigma: complex
    free: np.ndarray
    A: object  # A on the free unknowns
    B: dict  # each medium's mass matrix on the free unknowns


def solve_near(pencil: Pencil, eps: dict, free: np.ndarray, target_k0: complex, n_eig: int, *,
               with_factor: bool = False):
    """The ``n_eig`` eigenpairs whose ``k0²`` are nearest ``target_k0²``: shift-invert, one
    sparse LU of ``A − σB`` (SuperLU, minimum-degree ordering on A + Aᵀ: a third of COLAMD's
    fill on these meshes) and ARPACK on ``(A − σB)⁻¹ B``.  ``with_factor``: return
    ``(pairs, Factor)``."""
    from scipy.sparse.linalg import ArpackError, ArpackNoConvergence, LinearOperator, eigs

    A = pencil.A[free][:, free]
    B = pencil.mass(eps)[free][:, free].tocsr()
    n = A.shape[0]
    n_eig = min(n_eig, n - 2)
    ncv = min(n - 1, max(2 * n_eig + 1, 20))
    last = None
    for offset in SHIFT_OFFSETS:
        # never exactly on an eigenvalue (a target may be one to 1e-9): Arnoldi would break down
        sigma = (complex(target_k0) * (1 + offset)) ** 2
        try:
            lu = factorise((A - sigma * B).tocsc())
        except RuntimeError as exc:  # exactly singular at the shift
            last = exc
            continue
        op = LinearOperator((n, n), matvec=lambda x: lu.solve(B @ x), dtype=complex)
        try:
            nu, vecs = eigs(op, k=n_eig, ncv=ncv, which="LM", tol=ARPACK_TOL)
            break
        except ArpackNoConvergence as exc:
            nu, vecs = exc.eigenvalues, exc.eigenvectors
            log.warning("ARPACK converged %d of %d eigenvalues near k0 = %s", len(nu), n_eig, target_k0)
            break
        except ArpackError as exc:
            last = exc
    else:
        raise SolverError(f"the FEM eigen-solve near k0 = {target_k0:.6g}/µm failed: {last}")
    out = []
    for val, vec in zip(nu, vecs.T):
        if val == 0:
            continue
        k0 = np.sqrt(sigma + 1.0 / complex(val))
        if k0.real < 0:
            k0 = -k0
        full = np.zeros(pencil.A.shape[0], dtype=complex)
        full[free] = vec
        out.append(Eigenpair(complex(k0), full))
    if not with_factor:
        return out
    masses = {key: Bj[free][:, free].tocsr() for key, Bj in pencil.B.items()}
    return out, Factor(lu, sigma, free, A.tocsr(), masses)


RAYLEIGH_MAX_MOVE = 1e-2  # a root of the Rayleigh functional farther than this (relative) is not trusted


def rayleigh_functional(a: complex, b: dict, eps_at, k_start: complex, tol: float = 1e-15,
                        max_iter: int = 50) -> complex:
    """``k0`` with ``a = k0² Σ_j ε_j(k0) b_j`` (``a = xᵀAx``, ``b_j = xᵀB_j x`` of one vector;
    ``eps_at(k0)`` the media's permittivities): a root of ``k0 − sqrt(a / Σ_j ε_j(k0) b_j)``
    (principal root: Re k0 > 0) by the secant method (scipy) started at ``k_start``.  Not a
    plain fixed-point iteration of the square root: near an absorption edge the film's
    dispersion makes that map expand (|derivative| > 1: measured on the flagship's TE1 l = 33
    at 525.7 nm, which it threw 1.6e-4 off and then lost).  If the secant does not converge, or
    its root lies more than :data:`RAYLEIGH_MAX_MOVE` from ``k_start`` (possibly another root
    near a material's pole), ``k_start`` is returned (with a debug message): the callers
    follow with eigen-solves that settle the frequency."""
    import warnings

    from scipy.optimize import newton

    def residual(k):
        eps = eps_at(k)
        den = sum(complex(eps[j]) * bj for (j, _), bj in b.items())
        return k - np.sqrt(complex(a / den))  # numpy's principal root: Re ≥ 0

    k0 = complex(k_start)
    if residual(k0) == 0:
        return k0
    with warnings.catch_warnings():  # "tolerance reached" when two iterates agree to the last bit
        warnings.simplefilter("ignore", RuntimeWarning)
        k, info = newton(residual, k0, x1=k0 * (1 + 1e-7), tol=1e-300, rtol=tol, maxiter=max_iter,
                         disp=False, full_output=True)
    k = complex(k)
    if not (info.converged and np.isfinite(k) and relative_change(k, k0) <= RAYLEIGH_MAX_MOVE):
        log.debug("FEM: the Rayleigh functional's secant from k0 = %s did not settle (%s); kept", k0, info.flag)
        return k0
    return k


RII_MAX_RATE = 0.5  # residual inverse iteration only where it contracts at least this fast
# the returned pair's ‖(A − k0²B(ε(k0)))x‖ over ‖Ax‖ at most this: at convergence (successive k0
# within 1e-11) measured 3.5e-8 on the dispersive 2-D disk of the tests (k0 is stationary in x:
# its error is of the residual's square); a vector that is not an eigenvector is far above it
RII_RESIDUAL = 1e-6


def rii_contracts(k0: complex, sigma: complex, others) -> bool:
    """Whether residual inverse iteration with the shift ``sigma`` converges to the mode at
    ``k0`` rather than away from it: each other eigenvalue ``k_j²`` of the pencil (``others``:
    their k0, the shift's eigenpairs but this one) grows by ``|k0² − σ| / |k_j² − σ|`` per step,
    which must stay below :data:`RII_MAX_RATE`."""
    d = abs(complex(k0) ** 2 - sigma)
    return all(d <= RII_MAX_RATE * abs(complex(k) ** 2 - sigma) for k in others)


def residual_inverse_iteration(factor: Factor, eps_at, k_start: complex, vector: np.ndarray, tol: float,
                               max_iter: int = 40, give_up: float = 1e-3):
    """The eigenpair of the nonlinear problem ``(A − k0² B(ε(k0))) x = 0`` near ``(k_start,
    vector)``, iterated with a kept factor instead of new ones (Neumaier's residual inverse
    iteration, SIAM J. Numer. Anal. 22, 914 (1985)): ``k0`` from the Rayleigh functional of
    ``x``, then ``x ← x − (A − σB₀)⁻¹ (A − k0² B(ε(k0))) x``.  A fixed point solves the problem
    exactly.  Along another eigenvalue ``k_j²`` of the pencil the error grows by ``|k0² − σ| /
    |k_j² − σ|`` per step: the iteration moves *away* from the mode when another eigenvalue is
    nearer the shift (callers check :func:`rii_contracts` first).  Returns ``(k0, full
    vector)``, or ``None`` when successive ``k0`` do not agree to ``tol`` within ``max_iter``
    steps, ``k0`` leaves ``k_start`` by more than ``give_up`` (relative), the final residual is
    above :data:`RII_RESIDUAL`, or the vector is no longer the start's (overlap below 0.9): the
    caller then factorises anew."""
    free = factor.free
    x = np.array(vector[free], dtype=complex)

    def quotient(x, k_guess):
        Ax = factor.A @ x
        Bx = {key: Bj @ x for key, Bj in factor.B.items()}
        return rayleigh_functional(x @ Ax, {key: x @ v for key, v in Bx.items()}, eps_at, k_guess), Ax, Bx

    x /= np.linalg.norm(x)
    x0 = x.copy()
    k, Ax, Bx = quotient(x, complex(k_start))
    for _ in range(max_iter):  # at least one update of x before two k0 may agree
        eps = eps_at(k)
        x = x - factor.lu.solve(Ax - k * k * sum(complex(eps[j]) * v for (j, _), v in Bx.items()))
        x /= np.linalg.norm(x)
        k_new, Ax, Bx = quotient(x, k)
        if relative_change(k_new, k_start) > give_up:
            return None
        done = relative_change(k_new, k) < tol
        k = k_new
        if done:
            eps = eps_at(k)
            res = np.linalg.norm(Ax - k * k * sum(complex(eps[j]) * v for (j, _), v in Bx.items()))
            overlap = abs(np.vdot(x0, x))  # both normalised
            if res > RII_RESIDUAL * np.linalg.norm(Ax) or overlap < 0.9:
                log.debug("FEM: residual inverse iteration ended off the mode (residual %.2g, overlap %.3f)",
                          res / np.linalg.norm(Ax), overlap)
                return None
            full = np.zeros(vector.shape[0], dtype=complex)
            full[free] = x
            return k, full
    return None


def relative_change(a: complex, b: complex) -> float:
    return abs(a - b) / abs(b) if b else math.inf
