"""The FEM engine's plan: which m, which symmetry classes, the meshed domain and the element
sizes, the targets of the shift-invert solves, and the work (unknowns) before anything is
allocated.  No scikit-fem or gmsh here.  Lengths in µm, k0 in 1/µm.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field, replace

import numpy as np

from wgm import units
from wgm.errors import ConfigError, UserError
from wgm.fem.eigen import Walls
from wgm.fem.mesh import Domain
from wgm.fem.settings import FemSettings
from wgm.model import estimate, section
from wgm.model.resonator import Resonator, Search, Sphere, Toroid

__all__ = ["FemPlan", "Target", "plan", "ERROR_MODEL", "SAFETY", "REFINE"]

log = logging.getLogger(__name__)

ERROR_MODEL = {2: 5.3e-3, 3: 6.0e-4}
"""C_p of the wavelength error model |δλ/λ| ≤ C_p N^(−2p) (N elements per local wavelength,
element degree p), fitted at the theoretical order to measurements with this code against the
exact solver (bench/bench_fem.py part d: bare n = 1.45 sphere, m = 20, TE q = 1; P3 N = 3/4/5
→ 9.8e-7 / 1.1e-7 / 2.7e-8; P2 N = 4…10 → 1.8e-5 … 6.1e-7); the flagship coated sphere's modes
lie below it (N = 3: ≤ 1.1e-7 for Q ≥ 1e3)."""
Q_ERROR_MODEL = {2: 6.7, 3: 0.34}
"""The same for Q (bench/bench_fem.py part d, m = 20 TE, Q 411: P3 N = 3/4/5 → |δQ/Q| 4.6e-4 /
8.6e-5 / 2.4e-6; P2 N = 4 → 2.6e-3): an envelope at the theoretical order."""
SAFETY = 1.25  # the default mesh meets the stated accuracy with this factor on the model's error
REFINE = 1.25  # element size ratio of the error-estimate solve
PAD_WAVELENGTHS = 1.0  # default medium between resonator and PML, in wavelengths of the surroundings
PML_WAVELENGTHS = 2.0  # default PML thickness, likewise
MIN_ELEMENTS_PER_WAVELENGTH = 3.0
CUT_DENSITY = 1e-10  # |field|² at the inner wall of a reduced domain, relative to the peak
INNER_WALL_DEPTH_UM = 0.5  # the inner wall is at least this far inside the body's surface
CUT_SHARE_Z = 1e-10  # a sphere's energy share beyond the z walls of a reduced domain
AUTO_SAVING = 0.05  # "auto" reduces the domain when the inner wall is beyond this share of r
DOFS_PER_ELEMENT = {2: 7.2, 3: 15.2}  # unknowns per triangle, N_p × P_p (measured with scikit-fem: 7.13, 15.19)
CLUSTER = 3e-3
EXPECTED_EIGENVALUES = 4  # eigenvalues asked near an exactly estimated mode  # targets closer than this (relative in k0) share one shift
DEFAULT_Q_GUESS = 1e4  # the imaginary part of a target without an estimate of Q


@dataclass(frozen=True)
class Target:
    """A shift of the eigen-solver: complex ``k0`` (1/µm), how many eigenvalues to ask, and the
    modes expected near it (``expected``: their k0 when the estimate is exact, so that only the
    eigenpair nearest each is taken; empty: every cavity mode found is taken)."""

    k0: complex
    n_eig: int
    expected: tuple = ()


@dataclass(frozen=True)
class FemPlan:
    """What the FEM engine will solve (see :func:`plan`)."""

    m_values: tuple[int, ...]
    classes: tuple[Walls, ...]
    domain: Domain
    sizes_um: dict
    elements_per_wavelength: float
    order: int
    targets: dict  # (m, class index) -> tuple of Target
    estimate: tuple = ()  # the modes the targets come from (exact, or the flat estimate)
    estimate_kind: str = ""  # "exact", "flat" or "" (none)
    unknowns: int = 0  # estimate of the unknowns of one solve
    wavelength_error: float = 0.0  # the error model's expected |δλ/λ|
    q_error: float = 0.0  # the error model's expected |δQ/Q|
    notes: tuple = field(default=())

    def describe(self) -> dict:
        return {"m": list(self.m_values), "classes": [c.equator or "none" for c in self.classes],
                "domain": self.domain.describe(), "element_size_um": {str(k): v for k, v in self.sizes_um.items()},
                "elements_per_wavelength": self.elements_per_wavelength, "order": self.order,
                "unknowns_estimate": self.unknowns, "estimate": self.estimate_kind,
                "expected_wavelength_error": self.wavelength_error}

    def refined(self) -> "FemPlan":
        """The same plan with elements ``REFINE`` times smaller (the error-estimate solve)."""
        return replace(self, sizes_um={k: v / REFINE for k, v in self.sizes_um.items()},
                       elements_per_wavelength=self.elements_per_wavelength * REFINE,
                       unknowns=int(self.unknowns * REFINE**2),
                       wavelength_error=self.wavelength_error / REFINE ** (2 * self.order),
                       q_error=self.q_error / REFINE ** (2 * self.order))


def default_density(settings: FemSettings) -> float:
    """Elements per local wavelength that meet ``accuracy_wavelength`` by :data:`ERROR_MODEL`
    and ``accuracy_q`` by :data:`Q_ERROR_MODEL`."""
    p = settings.order
    n_lam = (SAFETY * ERROR_MODEL[p] / settings.accuracy_wavelength) ** (1.0 / (2 * p))
    n_q = (SAFETY * Q_ERROR_MODEL[p] / settings.accuracy_q) ** (1.0 / (2 * p))
    return max(n_lam, n_q, MIN_ELEMENTS_PER_WAVELENGTH)


def _indices(res: Resonator, lam_nm: float) -> dict:
    """Re n of every medium (one numbering) at a wavelength."""
    return {med.index: med.material.n_at(lam_nm).real for med in section.media(res)}


def _extent(res: Resonator):
    """(r_max, z_top, z_bottom) of everything that is not surroundings (µm; z_bottom −inf with a substrate)."""
    box = section.bounding_box_um(res)
    bottom = box.z0_um
    if res.pedestal is not None:
        bottom -= res.pedestal.height_um
    return box.r1_um, box.z1_um, bottom


def _domain(res: Resonator, settings: FemSettings, m_values, n_max, k_hi, lam_max_um, n_surr, estimate_modes):
    pad = settings.pad_um if settings.pad_um is not None else PAD_WAVELENGTHS * lam_max_um / n_surr
    pml = settings.pml_um if settings.pml_um is not None else PML_WAVELENGTHS * lam_max_um / n_surr
    r_max, z_top, z_bottom = _extent(res)
    r_pml = r_max + pad
    r_hi = r_pml + pml
    r_lo = 0.0
    reduced = settings.domain != "full" and m_values and min(m_values) >= 2
    if reduced:
        # the wall lies in the body, where the field obeys the body's Helmholtz equation: its
        # index sets the caustic (as in the FDTD planner); at most INNER_WALL_DEPTH_UM below its surface
        body = res.layers()[0]
        n_body = body.material.n_at(units.wavelength_nm_from_k0(k_hi).real).real
        cut = estimate.inner_cut_um(min(m_values), n_body, units.freq_from_k0(k_hi), CUT_DENSITY)
        r_wall_max = (body.outer_radius_um if not isinstance(res.shape, Toroid) else body.inner_radius_um) \
            - INNER_WALL_DEPTH_UM
        cut = min(cut, r_wall_max)
        if cut > 0 and (settings.domain == "reduced" or cut > AUTO_SAVING * r_hi):
            r_lo = cut
    if res.is_2d:
        return Domain(r_lo, r_pml, r_hi, 0.0, 0.0, 0.0, 0.0, half=True), True  # z extent set by the caller
    symmetric = res.substrate is None and res.pedestal is None
    half = symmetric and settings.symmetry
    z_pml_hi = z_top + pad
    z_hi = z_pml_hi + pml
    if isinstance(res.shape, Sphere) and r_lo > 0 and estimate_modes:
        q_ref = max(abs(md.Q) for md in estimate_modes)
        # beyond the walls at most 1e-10 of the energy, and 1e-7/Q above Q = 1e3 (the walls must
        # not limit the highest Q of the band)
        share = min(CUT_SHARE_Z, CUT_SHARE_Z / max(q_ref, 1.0) * 1e3)
        # a sphere's (l, q) is found as its m = l member (polar order 0): the walls hold that one
        z_cut = estimate.polar_cut(0, share) * r_max / math.sqrt(min(m_values))
        if z_cut < z_pml_hi:
            z_pml_hi = z_hi = z_cut
    if half:
        return Domain(r_lo, r_pml, r_hi, 0.0, 0.0, z_pml_hi, z_hi, half=True), True
    if symmetric:
        return Domain(r_lo, r_pml, r_hi, -z_hi, -z_pml_hi, z_pml_hi, z_hi), False
    z_pml_lo = z_bottom - pad
    return Domain(r_lo, r_pml, r_hi, z_pml_lo - pml, z_pml_lo, z_pml_hi, z_hi), False


def _area_by_medium(res: Resonator, dom: Domain, samples: int = 400) -> dict:
    """Approximate area (µm²) of each medium in the domain, PML included, by sampling."""
    r = np.linspace(dom.r_lo, dom.r_hi, samples)
    z = np.linspace(dom.z_lo, dom.z_hi, samples)
    rr, zz = np.meshgrid(r, z, indexing="ij")
    idx = section.medium_index(res, rr, zz)
    cell = (r[1] - r[0]) * (z[1] - z[0]) if samples > 1 else 0.0
    pml = (rr > dom.r_pml) | (zz > dom.z_pml_hi) | (zz < dom.z_pml_lo)
    out = {}
    for j in np.unique(idx):
        out[(int(j), False)] = float(np.count_nonzero((idx == j) & ~pml) * cell)
        out[(int(j), True)] = float(np.count_nonzero((idx == j) & pml) * cell)
    return out


def unknowns(res: Resonator, dom: Domain, sizes: dict, order: int, pml_factor: float) -> int:
    """Estimate of the unknowns of a mesh with these element sizes (equilateral triangles)."""
    n_el = 0.0
    for (j, pml), area in _area_by_medium(res, dom).items():
        h = sizes[j] * (pml_factor if pml else 1.0)
        n_el += area / (math.sqrt(3) / 4 * h * h)
    return int(n_el * DOFS_PER_ELEMENT[order])


def _cluster(ks: list[complex], n_per: int, expected: bool = False) -> tuple[Target, ...]:
    """Targets close in k0 (within :data:`CLUSTER`) share one shift, at their mean; ``expected``:
    the targets are the modes themselves (an exact estimate)."""
    out = []
    for k in sorted(ks, key=lambda c: c.real):
        if out and abs(k.real - out[-1][-1].real) < CLUSTER * k.real:
            out[-1].append(k)
        else:
            out.append([k])
    n_first = EXPECTED_EIGENVALUES if expected else n_per
    return tuple(Target(complex(np.mean([c.real for c in grp]), np.mean([c.imag for c in grp])),
                        min(50, n_first + 2 * (len(grp) - 1)), tuple(grp) if expected else ()) for grp in out)


def plan(res: Resonator, search: Search, settings: FemSettings, pml_factor: float = 1.5) -> FemPlan:
    """The plan of an FEM run; raises :class:`ConfigError` when the work exceeds ``max_unknowns``."""
    lo, hi = search.wavelength_nm
    lam_c = 0.5 * (lo + hi)
    f_c = units.freq_from_wavelength_nm(lam_c)
    notes = []
    est, kind = (), ""
    shift = 0.0
    if isinstance(res.shape, Sphere) or res.is_2d:
        est, kind = tuple(estimate.exact_estimate(res, search)), "exact"
    else:
        toroid = isinstance(res.shape, Toroid)
        try:
            if toroid:
                est, kind = tuple(estimate.toroid_estimate(res, search, f_c, key="fem.m")), "toroid"
                shift = estimate.toroid_m_shift(res)
            else:
                est, kind = tuple(estimate.flat_estimate(res, search, f_c, key="fem.m")), "flat"
        except UserError as exc:  # an estimate only guides the targets when m is given
            if settings.m is None:
                raise
            notes.append(f"no estimate of the modes ({exc}); targets spread over the band")
    if settings.m is not None:
        m_values = tuple(settings.m)
    elif kind == "exact":
        m_values = tuple(sorted({md.l for md in est}))
    else:
        m_values = estimate.choose_m(res, search, f_c, None, key="fem.m")
    idx_lo = _indices(res, lo)
    n_all = {j: max(n, _indices(res, hi)[j]) for j, n in idx_lo.items()}
    n_lay = len(res.layers())
    n_surr = n_all[n_lay + section.SURROUNDINGS]
    n_max = max(n_all.values())
    k_hi = units.k0_from_wavelength_nm(lo).real
    dom, half = _domain(res, settings, m_values, n_max, k_hi, units.um_from_nm(hi), n_surr, est)
    density = settings.elements_per_wavelength or default_density(settings)
    lam_min_um = units.um_from_nm(lo)
    sizes = {j: lam_min_um / (n * density) for j, n in n_all.items()}
    if res.is_2d:
        h_slab = min(sizes.values())
        dom = Domain(dom.r_lo, dom.r_pml, dom.r_hi, 0.0, 0.0, h_slab, h_slab, half=True)
        classes = (Walls("electric", "electric"), Walls("magnetic", "magnetic"))
    elif half:
        classes = (Walls("electric"), Walls("magnetic"))
    else:
        classes = (Walls(None),)
    n_unk = unknowns(res, dom, sizes, settings.order, pml_factor)
    budget = n_unk * (REFINE**2 if settings.error_estimate else 1.0)
    if budget > settings.max_unknowns:
        raise ConfigError("fem.max_unknowns", settings.max_unknowns,
                          f"this mesh needs ~{int(budget):,} unknowns"
                          + (" (with the refined error-estimate solve)" if settings.error_estimate else "")
                          + "; raise fem.max_unknowns (memory ~15 kB per unknown), or lower the accuracy "
                            "(fem.accuracy_wavelength), narrow the band, or set fem.error_estimate = false")
    targets = _targets(res, search, settings, est, kind, m_values, classes, half, shift)
    for m in m_values:
        if not any(targets.get((m, ci)) for ci in range(len(classes))):
            notes.append(f"m = {m}: the exact solver has no mode of this m in the band; not solved")
            log.warning("FEM: %s", notes[-1])
    p = settings.order
    return FemPlan(m_values, classes, dom, sizes, density, p, targets, est, kind, n_unk,
                   ERROR_MODEL[p] * density ** (-2 * p), Q_ERROR_MODEL[p] * density ** (-2 * p), tuple(notes))


def _class_of(pol: str, classes) -> int:
    """The symmetry class that holds a polar-order-0 mode: E_z even (TE, Mie) under an electric
    wall at z = 0, E_r even (TM) under a magnetic one."""
    if len(classes) == 1:
        return 0
    return 0 if pol == "TE" else 1


def _targets(res, search, settings, est, kind, m_values, classes, half, shift=0.0) -> dict:
    """Shifts per (m, class): an exact estimate's modes of that m in their class (none for a
    class without one: the estimate is complete); a flat
    estimate's modes of that m (both classes: the polar order 1 modes of the other parity lie
    near); a toroid's sphere-like estimate's modes whose l − shift is within 1.5 of m."""
    lo, hi = search.wavelength_nm
    out: dict = {}
    for m in m_values:
        for ci in range(len(classes)):
            ks = []
            for md in est:
                if kind == "toroid":
                    if abs(md.l - shift - m) > 1.5:
                        continue
                elif md.l != m:
                    continue
                if kind == "exact" and _class_of(md.polarization, classes) != ci:
                    continue
                k = units.k0_from_wavelength_nm(md.wavelength_nm)
                q = md.Q if math.isfinite(md.Q) and md.Q > 0 else DEFAULT_Q_GUESS
                ks.append(complex(k.real, -k.real / (2 * q)))
            if not ks and kind == "exact" and est:
                # the exact solver found every mode of the band: no polar-order-0 mode of this
                # class has this m (eigenpairs found here would all be dropped)
                continue
            spread = not ks
            if spread:  # no estimate: spread targets over the band
                n_t = 3
                ks = [complex(units.k0_from_wavelength_nm(lam).real, 0) for lam in np.linspace(lo, hi, n_t)]
                ks = [complex(k.real, -k.real / (2 * DEFAULT_Q_GUESS)) for k in ks]
            exact = kind == "exact" and bool(est)
            out[(m, ci)] = _cluster(ks, settings.modes_per_target, expected=exact and not spread)
    return out
