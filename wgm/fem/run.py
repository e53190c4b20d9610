"""The FEM engine's run: plan, mesh, solve every (m, symmetry class) near its targets, keep the
cavity modes, iterate dispersive materials to self-consistency, label, estimate each mode's
error from a second solve on a refined mesh, and return a :class:`ModeSpectrum`.

Which eigenpairs are modes (the stated criterion, :func:`_is_cavity_mode`): at least 30 % of
the electric energy in the resonator's layers, at most max(5 %, 30/Q) in the PML, and, for
passive resonators, a decaying field (Im k0 < 0).  PML modes hold 70–100 % of their energy in
the PML and almost none in the resonator; cavity modes 1e-5–0.13 in the PML (measured on spheres
from Q 50 to 1e8; a leaky mode's share ≈ 7–16/Q).  For spheres and the 2-D limit, whose modes
the exact solver estimates, only the eigenpair nearest each estimate is taken.
"""

from __future__ import annotations

import logging
import math
import resource
import time
from dataclasses import dataclass, field

import numpy as np

from wgm import units
from wgm.fem import eigen, fields as fem_fields
from wgm.fem.forms import assemble
from wgm.fem.mesh import build_mesh
from wgm.fem.plan import REFINE, FemPlan, plan as make_plan
from wgm.fem.settings import FemSettings
from wgm.model import section
from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Resonator, Search, Sphere
from wgm.records.modes import FieldProfile, MissedMode, Mode, ModeSpectrum

__all__ = ["solve", "PML_SHARE_MAX", "RESONATOR_SHARE_MIN"]

log = logging.getLogger(__name__)

PML_SHARE_MAX = 0.05
PML_SHARE_Q = 30.0
RESONATOR_SHARE_MIN = 0.3
SELF_CONSISTENT_TOL = 1e-11
CONSISTENT_ALREADY = 1e-4  # see _self_consistent  # |Δk0/k0| between the materials' frequency and the mode's
MAX_SELF_CONSISTENT = 12
SAME_MODE = 1e-7  # eigenvalues closer than this (relative) from overlapping shifts are one mode
PML_FACTOR = 1.5  # the PML's elements are this much larger than the surroundings'
MATCH_REFINED = 1e-3
ERROR_FACTOR = 1.0 / (REFINE**2 - 1.0)  # see _errors
REFINE_MARGIN = 1e-3  # coarse modes this close outside the band are refined too (they may move in)
BAND_MARGIN = 0.02  # eigenpairs this far (relative) outside the band are not followed further
MATCH_ESTIMATE = 2e-3  # an eigenpair is the exactly estimated mode when this close (relative, k0)  # a refined solve's mode is the same mode within this relative distance in k0


@dataclass
class _Found:
    m: int
    ci: int
    k0: complex
    vector: np.ndarray = field(repr=False)
    pencil: object = field(repr=False)
    fm: object = field(repr=False)
    eps: dict = field(repr=False)
    polarization: str = ""
    radial_order: int | None = None
    polar_order: int | None = None
    e_frac: float = 0.0
    h_frac: float = 0.0
    pml_share: float = 0.0
    shares: dict = field(default_factory=dict)
    volume_um3: float = math.nan
    iterations: int = 0
    walls_equator: str | None = None  # the wall at z = 0 of the class (half meshes)
    peak_rz: tuple = (math.nan, math.nan)


def _materials(res: Resonator) -> dict:
    return {med.index: med.material for med in section.media(res)}


def _eps_at(materials: dict, k0: complex) -> dict:
    lam = units.wavelength_nm_from_k0(complex(k0))
    return {j: complex(mat.index(lam, outside="extrapolate")) ** 2 for j, mat in materials.items()}


def _has_gain(res: Resonator, band) -> bool:
    lam = 0.5 * (band[0] + band[1])
    return any(mat.n_at(lam).imag < 0 for mat in res.materials().values())


def _evaluate(found: _Found, res: Resonator, n_lay: int, label: bool = True) -> None:
    """Polarization, energy shares, mode volume and (``label``) radial and polar orders."""
    fm = found.fm
    eps_real = np.array([found.eps[int(j)].real for j in fm.medium])
    en = fem_fields.energies(found.pencil, fm, res, eps_real, found.vector)
    found.pml_share = en.share(fm.in_pml)
    inside = ~fm.in_pml
    inner_total = en.electric[inside].sum()
    names = {med.index: med.name for med in section.media(res)}
    found.shares = {names[int(j)]: float(en.electric[inside & (fm.medium == j)].sum() / inner_total)
                    for j in np.unique(fm.medium)} if inner_total > 0 else {}
    found.e_frac = float(en.e_normal[inside].sum() / inner_total) if inner_total > 0 else 0.0
    h_in = en.magnetic[inside].sum()
    found.h_frac = float(en.h_normal[inside].sum() / h_in) if h_in > 0 else 0.0
    found.polarization = "TE" if found.e_frac < found.h_frac else "TM"
    # ∫ over the meshed half-plane (both halves when only z ≥ 0 is meshed); the 2-D limit has
    # no finite volume
    halves = 2.0 if fm.domain.half else 1.0
    found.volume_um3 = (2 * math.pi * halves * inner_total / en.peak_density
                        if en.peak_density > 0 and not res.is_2d else math.nan)
    found.peak_rz = en.peak_rz
    if label:
        found.radial_order, found.polar_order = fem_fields.orders(found.pencil, fm, res, found.vector, en.peak_rz,
                                                                        polarization=found.polarization)
        if res.is_2d:
            found.polar_order = 0


def _self_consistent(found: _Found, materials: dict, free, factor: eigen.Factor | None = None,
                     band_nm: tuple | None = None, others=()) -> None:
    """Iterate the mode until its materials are evaluated at its own complex frequency: the
    root of the Rayleigh functional with the eigenvector held (stationary: first order in the
    change of ε; :func:`eigen.rayleigh_functional`), then, unless the materials' frequency was
    already within :data:`CONSISTENT_ALREADY` of the mode's (the Rayleigh step's error is then
    second order in the change of ε: on the flagship, whose modes mostly take this route, the
    FEM agrees with the exact solver to 9e-7, within its discretisation error), the nonlinear
    problem solved to :data:`SELF_CONSISTENT_TOL`: by residual inverse iteration with the
    target's ``factor`` (no new factorisation) where it contracts (``others``: the k0 of the
    shift's other eigenpairs, :func:`eigen.rii_contracts`), else by eigen-solves with the
    materials at the last frequency, until the two agree.  Trouble is a warning for a mode in
    ``band_nm`` (or when no band is given), a debug message for the eigenpairs just outside it
    that the search also follows."""
    def trouble(msg, *args):
        lam = units.wavelength_nm_from_k0(found.k0.real).real
        inside = band_nm is None or band_nm[0] <= lam <= band_nm[1]
        (log.warning if inside else log.debug)(msg, *args)

    k_fp = _rayleigh_root(found, materials)
    if eigen.relative_change(k_fp, found.k0) < CONSISTENT_ALREADY:
        found.k0, found.eps = k_fp, _eps_at(materials, k_fp)
        return
    if factor is not None and eigen.rii_contracts(k_fp, factor.sigma, others):
        got = eigen.residual_inverse_iteration(factor, lambda k: _eps_at(materials, k), k_fp, found.vector,
                                               SELF_CONSISTENT_TOL)
        if got is not None:
            found.k0, found.vector = got
            found.eps = _eps_at(materials, found.k0)
            return
    for it in range(MAX_SELF_CONSISTENT):
        if it > 0:
            k_fp = _rayleigh_root(found, materials)
        eps = _eps_at(materials, k_fp)
        pairs = eigen.solve_near(found.pencil, eps, free, k_fp, 3)
        best = min(pairs, key=lambda pr: abs(pr.k0 - k_fp), default=None)
        if best is None or eigen.relative_change(best.k0, k_fp) > MATCH_REFINED:
            trouble("FEM: the self-consistent re-solve near k0 = %.8g/µm lost the mode; the "
                    "Rayleigh-quotient value is kept", k_fp.real)
            found.k0, found.eps = k_fp, eps
            return
        found.iterations = it + 1
        converged = eigen.relative_change(best.k0, k_fp) < SELF_CONSISTENT_TOL
        found.k0, found.vector, found.eps = best.k0, best.vector, eps
        if converged:
            return
    trouble("FEM: mode near k0 = %.8g/µm not self-consistent after %d iterations", found.k0.real,
            MAX_SELF_CONSISTENT)


def _rayleigh_root(found: _Found, materials: dict) -> complex:
    """``k0`` of the Rayleigh functional of the mode's vector with the materials at ``k0``."""
    x = found.vector
    a = x @ (found.pencil.A @ x)
    b = {key: x @ (Bj @ x) for key, Bj in found.pencil.B.items()}
    return eigen.rayleigh_functional(a, b, lambda k: _eps_at(materials, k), found.k0)


def _screen(f: "_Found", n_lay: int) -> tuple[float, float]:
    """(PML share, resonator share) of an eigenpair's electric energy (sparse products only)."""
    groups = f.pencil.energy_by_group(f.eps, f.vector)
    total = sum(groups.values())
    if total <= 0:
        return 1.0, 0.0
    pml = sum(v for (j, p), v in groups.items() if p)
    inside = sum(v for (j, p), v in groups.items() if not p and j < n_lay)
    return pml / total, inside / total


def _solve_plan(res: Resonator, search: Search, settings: FemSettings, pl: FemPlan, seeds=None,
                label: bool = True) -> tuple[list, dict]:
    """Every accepted mode of a plan (``seeds``: {(m, ci): [k0, ...]} replace the plan's targets);
    ``label``: also count the field's maxima (radial and polar orders)."""
    materials = _materials(res)
    dispersive = any(not isinstance(mat, ConstantIndex) for mat in materials.values())
    gain = _has_gain(res, search.wavelength_nm)
    n_lay = len(res.layers())
    t0 = time.perf_counter()
    fm = build_mesh(res, pl.domain, pl.sizes_um, pml_factor=PML_FACTOR)
    info = {"elements": fm.n_elements, "mesh_s": time.perf_counter() - t0, "assembly_s": 0.0, "solve_s": 0.0,
            "unknowns": 0, "factorisations": 0}
    masses = basis = parts = None
    out: list[_Found] = []
    for m in pl.m_values:
        t1 = time.perf_counter()
        pencil, parts = assemble(fm, pl.order, m, settings.pml_strength, masses=masses, basis=basis, stiffness=parts)
        masses, basis = pencil.B, pencil.basis
        info["assembly_s"] += time.perf_counter() - t1
        info["unknowns"] = int(basis.N)
        for ci, walls in enumerate(pl.classes):
            free = eigen.free_dofs(fm, basis, m, walls)
            if seeds is None:
                targets = pl.targets.get((m, ci), ())
            else:
                targets = _cluster_seeds(seeds.get((m, ci), ()))  # each seed's nearest eigenpair
            kept: list[_Found] = []
            t2 = time.perf_counter()
            for tg in targets:
                eps = _eps_at(materials, tg.k0)
                info["factorisations"] += 1
                cands = []
                got = eigen.solve_near(pencil, eps, free, tg.k0, tg.n_eig, with_factor=dispersive)
                pairs, factor = got if dispersive else (got, None)
                for pr in pairs:
                    if any(eigen.relative_change(pr.k0, f.k0) < SAME_MODE for f in kept + cands):
                        continue
                    f = _Found(m, ci, pr.k0, pr.vector, pencil, fm, eps, walls_equator=walls.equator)
                    pml_share, res_share = _screen(f, n_lay)
                    if not _is_cavity_mode(f.k0, pml_share, res_share, gain):
                        continue
                    if not _near_band(f.k0, search):
                        continue
                    cands.append(f)
                if tg.expected:  # an exact estimate: the eigenpair nearest each expected mode
                    picked = []
                    for k_exp in tg.expected:
                        best = min(cands, key=lambda c: abs(c.k0 - k_exp), default=None)
                        if (best is not None and best not in picked
                                and eigen.relative_change(best.k0, k_exp) < MATCH_ESTIMATE):
                            picked.append(best)
                    cands = picked
                for f in cands:
                    if dispersive:
                        others = [pr.k0 for pr in pairs if pr.vector is not f.vector]
                        _self_consistent(f, materials, free, factor, search.wavelength_nm, others)
                        info["factorisations"] += f.iterations
                        if any(eigen.relative_change(f.k0, g.k0) < SAME_MODE for g in kept):
                            continue
                    kept.append(f)
            for f in kept:
                _evaluate(f, res, n_lay, label)
            info["solve_s"] += time.perf_counter() - t2
            out.extend(kept)
    return out, info


def _cluster_seeds(ks) -> tuple:
    """Targets of a refined solve: the coarse modes' k0, close ones sharing a shift."""
    from wgm.fem.plan import _cluster

    return _cluster(list(ks), 3, expected=True)


def _is_cavity_mode(k0: complex, pml_share: float, res_share: float, gain: bool) -> bool:
    """The stated criterion: at least :data:`RESONATOR_SHARE_MIN` of the electric energy in the
    resonator's layers, at most ``max(PML_SHARE_MAX, PML_SHARE_Q / Q)`` in the PML (a leaky
    mode's radiated share grows as 1/Q: measured ≈ 7–16/Q on spheres), and no growth unless
    something has gain."""
    if res_share < RESONATOR_SHARE_MIN:
        return False
    if k0.imag >= 0:
        return gain
    q = k0.real / (-2 * k0.imag)
    return pml_share <= max(PML_SHARE_MAX, PML_SHARE_Q / q)


def _near_band(k0: complex, search: Search) -> bool:
    """Within the band widened by :data:`BAND_MARGIN` (the materials' dispersion and the
    refinement can still move a mode by that much)."""
    lam = units.wavelength_nm_from_k0(k0.real).real
    lo, hi = search.wavelength_nm
    return lo * (1 - BAND_MARGIN) <= lam <= hi * (1 + BAND_MARGIN)


def _in_band(f: _Found, search: Search, margin: float = 0.0) -> bool:
    """Within the band (widened by ``margin``, relative) and of a polarization searched."""
    lam = units.wavelength_nm_from_k0(f.k0.real).real
    lo, hi = search.wavelength_nm
    return lo * (1 - margin) <= lam <= hi * (1 + margin) and f.polarization in search.polarizations


def _keep(f: _Found, res: Resonator, search: Search) -> bool:
    if not _in_band(f, search):
        return False
    if f.radial_order is not None and f.radial_order > search.max_radial_order:
        return False
    if isinstance(res.shape, Sphere) and f.polar_order is not None and f.polar_order != 0:
        return False  # a sphere's (l, q) is reported once, as its m = l member
    return True


def _record(f: _Found, res: Resonator, errors, notes) -> Mode:
    k = f.k0
    lam = units.wavelength_nm_from_k0(k.real).real  # resonance: 2π/Re k0 (not Re of 2π/k0)
    Q = k.real / (-2 * k.imag) if k.imag != 0 else math.inf
    e_lam, e_q = errors
    # Q is resolved unless the refined solve disagrees by half of it (without the refined solve
    # there is no estimate of its error: q_rel_error None)
    resolved = math.isfinite(Q) and (e_q is None or e_q < 0.5)
    if isinstance(res.shape, Sphere):
        l = f.m + (f.polar_order or 0)
    elif res.is_2d:
        l = f.m
    else:
        l = None
    radius = res.outer_radius_um
    note = list(notes)
    if f.polar_order is None:
        note.append("polar order not identified")
    if f.radial_order is None:
        note.append("radial order not identified")
    if Q < 0:
        note.append("net gain: the field grows (Q < 0)")
    return Mode(polarization=f.polarization, l=l, m=f.m, radial_order=f.radial_order, wavelength_nm=lam, Q=Q,
                degeneracy=(2 * l + 1) if isinstance(res.shape, Sphere) else (2 if f.m > 0 else 1),
                size_parameter=(k.real * radius, k.imag * radius), q_resolved=resolved,
                q_rel_error=e_q if resolved else None, wavelength_rel_error=e_lam, note="; ".join(note),
                polar_order=f.polar_order, mode_volume_um3=f.volume_um3,
                energy_shares=tuple(sorted(f.shares.items())))


def _errors(coarse: _Found, fine: _Found | None, pl: FemPlan):
    """(wavelength, Q) relative errors of the refined solve's mode: the change from the coarse
    solve times :data:`ERROR_FACTOR` (its error if it converges no faster than h²; the
    eigenvalue converges as h^(2p), but Q, decided in the PML, was seen converging slower),
    and at least the error model's value at the coarse density (gmsh's meshes are not nested:
    at the 1e-7 level the change between two meshes can be smaller than either's error)."""
    if fine is None:
        return pl.wavelength_error, None
    kc, kf = coarse.k0, fine.k0
    e_lam = max(ERROR_FACTOR * abs(kf.real - kc.real) / kf.real, pl.wavelength_error)
    qc = kc.real / (-2 * kc.imag) if kc.imag else math.inf
    qf = kf.real / (-2 * kf.imag) if kf.imag else math.inf
    e_q = (max(ERROR_FACTOR * abs(qf / qc - 1), pl.q_error)
           if math.isfinite(qc) and math.isfinite(qf) and qc != 0 else None)
    return e_lam, e_q


def _profile(f: _Found, mode: Mode, res: Resonator, samples: int = 240) -> FieldProfile:
    """The field on a regular (r, z) grid from the axis to the PML (zero inside the inner wall
    of a reduced domain and on the axis itself; both halves when only z ≥ 0 was meshed, by the
    class's parity).  H in units where H = curl E / (i k0) (μ = 1, k0 in 1/µm)."""
    dom = f.fm.domain
    r = np.linspace(0.0, dom.r_pml, samples)
    if res.is_2d:
        z = np.array([0.0])
        zq = np.full(1, 0.5 * dom.z_hi)
    else:
        z_top = min(dom.z_pml_hi, dom.z_hi)
        z_bot = -z_top if dom.half else max(dom.z_pml_lo, dom.z_lo)
        z = np.linspace(z_bot, z_top, samples)
        zq = np.abs(z) if dom.half else z
    rr, zz = np.meshgrid(r, zq, indexing="ij")
    meshed = rr > dom.r_lo + 1e-9 * dom.r_hi
    pts = np.vstack([rr[meshed], np.clip(zz[meshed], dom.z_lo, dom.z_hi)])
    vals = fem_fields.probe(f.pencil, f.vector, pts, derivatives=True)
    # mirror parity: an electric wall at z = 0 makes E_r, E_φ, H_z odd in z; a magnetic one E_z, H_r, H_φ
    odd = {"electric": ("Er", "Ep", "Hz"), "magnetic": ("Ez", "Hr", "Hp")}.get(f.walls_equator, ())
    below = np.asarray(z)[None, :] < 0
    comps = {}
    for name, arr in vals.items():
        a = np.zeros(rr.shape, dtype=complex)
        a[meshed] = arr / (1j * f.k0) if name.startswith("H") else arr  # H = curl E / (i k0), μ = 1
        if dom.half and not res.is_2d and name in odd:
            a = np.where(below, -a, a)
        comps[name] = a
    eps = np.zeros(rr.shape)
    idx = section.medium_index(res, rr, np.broadcast_to(np.asarray(z)[None, :], rr.shape))
    for j, e in f.eps.items():
        eps[idx == j] = e.real
    return FieldProfile(mode=mode, r_um=r, z_um=np.asarray(z), epsilon=eps, fields=comps,
                        e_normal_fraction=f.e_frac, h_normal_fraction=f.h_frac)


def _missing(res: Resonator, search: Search, pl: FemPlan, modes) -> tuple:
    """Exact modes of the band (spheres, 2-D; the plan's m) that the run did not report."""
    if pl.estimate_kind != "exact":
        return ()
    found = {(md.polarization, md.l, md.radial_order) for md in modes}
    out = []
    for md in pl.estimate:
        if md.l not in pl.m_values or md.polarization not in search.polarizations:
            continue
        if md.radial_order > search.max_radial_order:
            continue
        if (md.polarization, md.l, md.radial_order) not in found:
            out.append(MissedMode(md.polarization, md.l, md.l, md.radial_order, md.wavelength_nm, md.Q, "unknown",
                                  "not among the FEM eigenpairs near the targets"))
    return tuple(out)


def solve(res: Resonator, search: Search, settings: FemSettings, *, fields: bool = False) -> ModeSpectrum:
    """The modes of ``res`` in the band of ``search`` by finite elements (``method = "fem"``).

    ``fields``: also sample every mode's field on an (r, z) grid (``ModeSpectrum.profiles``)."""
    res.check_band(search.wavelength_nm)
    t0 = time.perf_counter()
    pl = make_plan(res, search, settings, pml_factor=PML_FACTOR)
    log.info("FEM plan: m = %s, %d class(es), ~%d unknowns, %.3g elements per wavelength, P%d",
             list(pl.m_values), len(pl.classes), pl.unknowns, pl.elements_per_wavelength, pl.order)
    if not pl.m_values:
        log.warning("FEM: no azimuthal number has a mode in the band")
        return ModeSpectrum(res, search, "fem", (), run_info={"plan": pl.describe(), "notes": list(pl.notes)})
    coarse, info = _solve_plan(res, search, settings, pl, label=not settings.error_estimate)
    run_info = {"plan": pl.describe(), "coarse": info, "notes": list(pl.notes)}
    fine_of: dict[int, _Found | None] = {}
    chosen = coarse
    if settings.error_estimate and coarse:
        fpl = pl.refined()
        seeds: dict = {}
        coarse = [f for f in coarse if _in_band(f, search, margin=REFINE_MARGIN)]
        for f in coarse:
            seeds.setdefault((f.m, f.ci), []).append(f.k0)
        fine, finfo = _solve_plan(res, search, settings, fpl, seeds=seeds, label=True)
        run_info["refined"] = finfo
        # one to one, nearest pairs first, same m, class and polarization
        pairs = sorted(((eigen.relative_change(g.k0, f.k0), i, j) for i, f in enumerate(coarse)
                        for j, g in enumerate(fine) if g.m == f.m and g.ci == f.ci
                        and g.polarization == f.polarization), key=lambda t: t[0])
        taken: set = set()
        for i in range(len(coarse)):
            fine_of[i] = None
        for dist, i, j in pairs:
            if dist > MATCH_REFINED or fine_of[i] is not None or j in taken:
                continue
            fine_of[i] = fine[j]
            taken.add(j)
        chosen = []
        for i, f in enumerate(coarse):
            g = fine_of[i]
            if g is None:  # label the coarse mode itself
                f.radial_order, f.polar_order = fem_fields.orders(f.pencil, f.fm, res, f.vector, f.peak_rz,
                                                                        polarization=f.polarization)
                if res.is_2d:
                    f.polar_order = 0
            chosen.append(g if g is not None else f)
    modes, profiles = [], []
    for i, f in enumerate(chosen):
        if not _keep(f, res, search):
            continue
        errs = _errors(coarse[i], fine_of.get(i), pl)
        notes = []
        if settings.error_estimate and fine_of.get(i) is None:
            notes.append("no refined solve matched: error from the error model")
        md = _record(f, res, errs, notes)
        modes.append(md)
        if fields:
            profiles.append(_profile(f, md, res))
    order = sorted(range(len(modes)), key=lambda j: modes[j].wavelength_nm)
    modes = [modes[j] for j in order]
    profiles = [profiles[j] for j in order] if profiles else []
    run_info["seconds"] = time.perf_counter() - t0
    run_info["peak_memory_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if not modes and coarse:
        log.warning("FEM: %d cavity mode(s) found, none in the band and search", len(coarse))
    spec = ModeSpectrum(res, search, "fem", tuple(modes), profiles=tuple(profiles), run_info=run_info,
                        missing=_missing(res, search, pl, modes))
    return spec
