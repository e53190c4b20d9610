"""Field analysis of FDTD lines, numpy only (no Meep): (r, z) profiles and energies per
component, the layer map, the conductivity correction of Q, the Mie polarization, the radial
order from the field's maxima, the shares of energy at the cuts of a reduced cell, and the
Mode/FieldProfile record of one line."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wgm import units
from wgm.fdtd.plan import FdtdPlan, _media_materials
from wgm.model.resonator import Resonator, Search, Sphere, Toroid
from wgm.records import FieldProfile, Mode

__all__ = ["Profile", "profile", "layer_map", "conductivity_correction", "dispersion_correction", "classify",
           "make_record", "cut_shares", "cut_too_large", "is_target", "expected_errors", "q_bound",
           "RESOLVED_DECAY_OVER_ERR", "MAX_DECAY_OVER_RECORD",
           "NET_GAIN_NOTE"]

RESOLVED_DECAY_OVER_ERR = 10.0  # Q is resolved when |Im f| exceeds Harminv's error by this factor ...
# ... and the decay time 1/(2π|Im f|) is at most this many analysed records (the amplitude changes by
# > 0.1 % over the record).  Harminv resolves clean ring-downs far below one decay time: measured, the
# coated sphere's TE1 l = 29 (Q 6.2e4) within 0.5 % of the exact Q from a record of 1/167 of its decay
# time, the flagship's TE1 l = 29 (Q 1.59e4) within 0.3 % from 1/29
MAX_DECAY_OVER_RECORD = 1000.0
NET_GAIN_NOTE = "net gain: the mode grows (the gain is above its threshold)"  # as the exact solver says
_GUARD_BAND = 0.25  # the guard looks at the energy this many wavelengths (vacuum) from a cut
_GUARD_INNER = 1e-5  # energy share next to the inner wall above which the cell is widened
_GUARD_Z_LOSS = 0.01  # (energy share next to the z-PML) x Q above which the cell is widened
_E = ("Er", "Ep", "Ez")


@dataclass(frozen=True)
class Profile:
    """A line's DFT field on the (r, z) grid: ``fields[c][i_r, i_z]``, ε on the same grid, and
    the field energy per component plus ``E_normal``/``H_normal`` (normal to the outer surface)."""

    r_um: np.ndarray
    z_um: np.ndarray
    epsilon: np.ndarray
    fields: dict
    energy: dict


def profile(fields: dict, eps, pl: FdtdPlan, res: Resonator) -> Profile:
    """Arrange DFT arrays (Meep's layout) as (r, z) grids and measure the field energy per component."""
    arrs = {}
    r_max = pl.cell_r_um - pl.pml_um
    for c, a in fields.items():  # keyed by component name
        a = np.atleast_2d(np.asarray(a))
        arrs[c] = a.T if pl.cell_z_um else a.reshape(-1, 1)  # Meep returns (r, z) slices as [z, r]
    e = np.asarray(eps, dtype=float)
    e = e.T if pl.cell_z_um else e.reshape(-1, 1)
    nr, nz = arrs["Ez"].shape
    r = np.linspace(pl.r_min_um, r_max, nr)
    z = np.linspace(-pl.z_half_um, pl.z_half_um, nz) if nz > 1 else np.zeros(1)
    w = r[:, None] * np.ones((1, nz))  # cylindrical volume element 2π r dr dz (constant factors drop)
    if e.shape != (nr, nz):
        e = np.ones((nr, nz))
    energy = {}
    for c, a in arrs.items():
        weight = e if c.startswith("E") else 1.0
        energy[c] = float(np.sum(weight * np.abs(a) ** 2 * w))
    # the components normal to the outer surface: r̂ of the sphere, or r̂ of a cylinder wall
    if isinstance(res.shape, Sphere):
        rho = np.hypot(r[:, None], z[None, :])
        rho[rho == 0] = 1.0
        cr, cz = r[:, None] / rho, z[None, :] / rho
        e_n = cr * arrs["Er"] + cz * arrs["Ez"]
        h_n = cr * arrs["Hr"] + cz * arrs["Hz"]
    else:
        # r̂, the normal at the rim where the mode lives: also for a toroid, whose tube's own
        # normal turns to ẑ at its top and bottom, where a TE mode's E_z would count as normal
        # (measured: a 1.5/0.4 µm n = 2 toroid's TE line had 30 % of its E energy "normal" to
        # the tube, 4 % along r̂)
        e_n, h_n = arrs["Er"], arrs["Hr"]
    energy["E_normal"] = float(np.sum(e * np.abs(e_n) ** 2 * w))
    energy["H_normal"] = float(np.sum(np.abs(h_n) ** 2 * w))
    return Profile(r, z, e, arrs, energy)


def layer_map(res: Resonator, r, z) -> np.ndarray:
    """The medium of every (r, z) point of the grid ``r × z``, in the one numbering of
    ``FdtdPlan.media`` (:func:`wgm.model.section.medium_index`): the layers (0 = body), then
    the surroundings, the substrate, the pedestal."""
    from wgm.model.section import medium_index

    rr, zz = np.meshgrid(r, z, indexing="ij")
    return medium_index(res, rr, zz)


def conductivity_correction(res, pl: FdtdPlan, r, z, eps, arrs, freq) -> float:
    """δ(1/Q) that turns Meep's conductivity losses at ``freq`` into those of the band-centre
    ``Im ε`` the material has in the model (first-order perturbation theory:
    ``δ(1/Q) = Σ_j δIm ε_j ∫_j |E|² / ∫ Re ε |E|²``).  Meep's ``D_conductivity`` gives
    ``Im ε = ε σ/ω``, right at the band centre only: a line 5 % away would otherwise carry 5 %
    too much or too little absorption (or gain)."""
    if not any(p.d_conductivity for p in pl.media):
        return 0.0
    e2 = sum(np.abs(arrs[c]) ** 2 for c in _E) * r[:, None]
    denom = float(np.sum(eps * e2))
    if denom <= 0:
        return 0.0
    where = layer_map(res, r, z)
    delta = 0.0
    for j, p in enumerate(pl.media):
        if p.d_conductivity:
            delta += (p.im_eps(pl.f_centre) - p.im_eps(freq)) * float(np.sum(e2[where == j]))
    return delta / denom


def dispersion_correction(res, pl: FdtdPlan, r, z, arrs, freq: complex) -> complex:
    """First-order relative shift ``δf̃/f̃`` of a line at complex Meep frequency ``freq`` from
    the fitted models (what Meep simulates) to the true materials:

        δω̃/ω̃ = −Σ_j Δε_j ∫_j |E|² / (∫ ∂(ωε_model)/∂ω |E|² + ∫ |H|²),
        Δε_j = ε_true,j(ω̃) − ε_model,j(ω̃)

    with ``∫|H|² = ∫ ∂(ωε)/∂ω |E|²`` (equal electric and magnetic energy of a resonance, the
    dispersive medium's stored energy included), so the denominator is twice the electric
    energy; integrals over the (r, z) grid with the weight r (2π drops).  Each layer's energy
    is that of its pixels (``layer_map``).  For a constant-index material with k the model is
    Meep's conductivity, so this includes (to first order) the former conductivity correction."""
    if not any(p.fit is not None for p in pl.media):
        return 0j
    mats = _media_materials(res)
    e2 = sum(np.abs(arrs[c]) ** 2 for c in _E) * r[:, None]
    where = layer_map(res, r, z)
    lam = units.wavelength_nm_from_freq(complex(freq))
    f_r, h = float(np.real(freq)), 1e-4 * float(np.real(freq))
    num, den = 0j, 0.0
    for j, p in enumerate(pl.media):
        share = float(np.sum(e2[where == j]))
        if share == 0.0 or p.fit is None:
            continue
        model = p.fit.model
        d_energy = ((f_r + h) * model.epsilon(f_r + h) - (f_r - h) * model.epsilon(f_r - h)) / (2 * h)
        den += float(np.real(d_energy)) * share
        eps_true = complex(mats[j].index(lam, outside="extrapolate")) ** 2
        num += (eps_true - complex(model.epsilon(complex(freq)))) * share
    if den <= 0:
        return 0j
    return -num / (2 * den)


def classify(energy):
    """Mie convention: TE has (almost) no electric field normal to the outer surface, TM no
    magnetic field.  Returns the polarization and the two normal-energy fractions."""
    e_tot = energy["Er"] + energy["Ep"] + energy["Ez"]
    h_tot = energy["Hr"] + energy["Hp"] + energy["Hz"]
    e_frac = energy["E_normal"] / e_tot if e_tot else 0.0
    h_frac = energy["H_normal"] / h_tot if h_tot else 0.0
    return ("TE" if e_frac < h_frac else "TM"), e_frac, h_frac


def _identify(res, pol, m, lam_nm, reference):
    """(l, q) of the exact mode this FDTD line is (spheres, 2-D limit), else (None, None)."""
    if reference is None:
        return None, None
    cands = [md for md in reference.modes if md.polarization == pol and md.l >= m
             and (not res.is_2d or md.l == m)]
    if not cands:
        return None, None
    best = min(cands, key=lambda md: abs(md.wavelength_nm - lam_nm))
    if abs(best.wavelength_nm - lam_nm) > 0.005 * lam_nm:
        return None, None
    return best.l, best.radial_order


def radial_order_from_nodes(r, z, arrs, res):
    """Count maxima of |E|² along the equator inside the resonator (finite shapes)."""
    iz = int(np.argmin(np.abs(z)))
    e2 = sum(np.abs(arrs[c][:, iz]) ** 2 for c in _E)
    outer = res.layers()[-1]
    # (a toroid: the tube only; the hole's side of its inner surface holds the jump of E_r)
    r_in = outer.inner_radius_um if isinstance(res.shape, Toroid) else -math.inf
    inside = e2[(r <= outer.outer_radius_um) & (r >= r_in)]
    if inside.size < 3:
        return None
    peak = inside.max()
    maxima = np.nonzero((inside[1:-1] > inside[:-2]) & (inside[1:-1] >= inside[2:]) & (inside[1:-1] > 0.05 * peak))[0]
    return int(len(maxima)) if len(maxima) else None


def expected_errors(pl: FdtdPlan, line, resolved: bool):
    """(wavelength, Q) relative errors the engine expects of a line: the grid's (the plan's
    convergence model at its resolution) plus Harminv's (its error estimate of the complex
    frequency, relative to Re f and to the decay rate); Q's is None when the decay is not
    resolved (Q is then a lower bound)."""
    e_wl, e_q = pl.grid_errors
    err = abs(float(line.err))
    e_wl = e_wl + err / abs(line.freq)
    if not resolved:
        return e_wl, None
    return e_wl, e_q + err / abs(line.decay)


def q_bound(line, settled: bool, t_record: float = math.inf, decay_spread: float = 0.0):
    """(resolved, Q lower bound, note) of a Harminv line.

    Q is resolved when the line settled (known to the stated accuracy), ``|Im f|`` exceeds
    Harminv's error by ``RESOLVED_DECAY_OVER_ERR`` and the decay time ``1/(2π|Im f|)`` is at
    most ``MAX_DECAY_OVER_RECORD`` times the analysed record ``t_record``.  Otherwise Q is the
    positive lower bound ``f / (2 γ)`` with γ the largest decay rate the run cannot exclude:
    ``|Im f|`` plus the larger of ten error bars and the change between the last two analyses
    (``decay_spread``), and at least the slowest decay the record resolves.  (None when resolved.)"""
    d = abs(line.decay)
    long_decay = t_record > 0 and d * 2 * math.pi * MAX_DECAY_OVER_RECORD * t_record < 1
    if line.decay != 0 and d > RESOLVED_DECAY_OVER_ERR * line.err and settled and not long_decay:
        return True, None, ""
    spread = decay_spread if math.isfinite(decay_spread) else d
    floor = 1.0 / (2 * math.pi * MAX_DECAY_OVER_RECORD * t_record) if t_record > 0 and math.isfinite(t_record) else 0.0
    gamma = max(d + max(RESOLVED_DECAY_OVER_ERR * line.err, spread if not settled else 0.0), floor)
    if long_decay:
        why = f"decay time {1 / (2 * math.pi * max(d, 1e-300)):.3g} beyond {MAX_DECAY_OVER_RECORD:g} x the analysed record"
    elif not settled:
        why = "Harminv did not settle to the stated accuracy within the time limit"
    else:
        why = "decay not resolved above Harminv's error"
    return False, line.freq / (2 * gamma) if gamma > 0 else math.inf, f"Q is a lower bound ({why})"


def make_record(res, search: Search, pl: FdtdPlan, m: int, component: str, line, settled: bool, fields: dict,
                eps, reference, t_record: float = math.inf, decay_spread: float = 0.0):
    """A Mode and its FieldProfile from one Harminv line and its DFT field (``(None, None)`` if
    outside the search).  ``component`` is the source component of the class (``"Ez"``/``"Hz"``).

    Q follows the exact solver's convention: ``Re f / (−2 Im f)`` whenever the decay (or
    growth) is resolved (:func:`q_bound`), so a growing line (net gain) has Q < 0 and the note
    "net gain" (growth only for a settled line); otherwise ``q_resolved = False`` and Q is the
    positive lower bound the run allows.  With dispersive materials the line is moved to first
    order from the fitted model to the true materials (``correction_*`` of the mode; lines of
    unresolved Q keep the fitted model's wavelength)."""
    pr = profile(fields, eps, pl, res)
    r, z, arrs = pr.r_um, pr.z_um, pr.fields
    pol, e_normal, h_normal = classify(pr.energy)
    if pl.cell_z_um == 0:  # the 2-D limit: E_z and H_z families are exactly separate
        pol = "TE" if component == "Ez" else "TM"
    lam = units.wavelength_nm_from_freq(line.freq)
    if not (search.wavelength_nm[0] <= lam <= search.wavelength_nm[1]) or pol not in search.polarizations:
        return None, None
    l, q = _identify(res, pol, m, lam, reference)
    note = []
    if q is None:
        q = radial_order_from_nodes(r, z, arrs, res)
        if q is not None:
            note.append("radial order from the field's radial maxima")
    if q is not None and q > search.max_radial_order:
        return None, None
    resolved, q_low, why = q_bound(line, settled, t_record, decay_spread)
    # growth is reported (Q < 0, "net gain") only for a settled line: an unsettled estimate's sign
    # is not known (seen: a passive film's band-edge line at "Q = -43")
    growing = settled and line.decay > 0 and line.decay > RESOLVED_DECAY_OVER_ERR * line.err
    corr_lam = corr_q = None
    if resolved or growing:
        Q = line.Q
        dispersive = any(p.fit is not None for p in pl.media)
        delta = dispersion_correction(res, pl, r, z, arrs, complex(line.freq, line.decay)) if dispersive else 0j
        if dispersive:
            # the fitted model's line, moved to first order to the true materials' (reported per mode)
            f_true = complex(line.freq, line.decay) * (1 + delta)
            lam_true = units.wavelength_nm_from_freq(f_true.real)
            Q_true = f_true.real / (-2 * f_true.imag) if f_true.imag else math.inf
            corr_lam, corr_q = lam_true - lam, Q_true / Q - 1
            lam, Q = lam_true, Q_true
        d_inv_q = 0.0 if dispersive else conductivity_correction(res, pl, r, z, pr.epsilon, arrs, line.freq)
        if d_inv_q:
            Q = 1.0 / (1.0 / Q + d_inv_q)
            if abs(Q / line.Q - 1) > 1e-3:
                note.append(f"Q {100 * (Q / line.Q - 1):+.2g} % for the conductivity's 1/ω dispersion "
                            f"(absorption taken at the band centre, as in the exact comparison)")
        if Q < 0:
            note.append(NET_GAIN_NOTE)
        if not resolved:
            note.append("Q not resolved: " + why[len("Q is a lower bound ("):-1])
    else:
        Q = q_low
        note.append(why)
    sized = resolved or growing
    k_r = units.wavenumber_per_um(units.freq_from_wavelength_nm(lam)) * res.outer_radius_um
    e_wl, e_q = expected_errors(pl, line, resolved)
    mode = Mode(polarization=pol, l=l, m=m, radial_order=q, wavelength_nm=lam, Q=Q, fsr_nm=None, degeneracy=2,
                size_parameter=(k_r, -k_r / (2 * Q) if sized
                                else units.wavenumber_per_um(line.decay) * res.outer_radius_um),
                q_resolved=resolved, q_rel_error=e_q, wavelength_rel_error=e_wl, harminv_error=float(line.err),
                note="; ".join(note), correction_wavelength_nm=corr_lam, correction_q_rel=corr_q)
    prof = FieldProfile(mode=mode, r_um=r, z_um=z, epsilon=pr.epsilon, fields=arrs,
                        e_normal_fraction=e_normal, h_normal_fraction=h_normal)
    return mode, prof


def cut_shares(prof: FieldProfile, pl: FdtdPlan):
    """Shares of the mode's electric energy within ``_GUARD_BAND`` wavelengths of the inner
    wall and of the z-PML of a reduced cell: (inner, z)."""
    e2 = sum(np.abs(prof.fields[c]) ** 2 for c in _E) * prof.epsilon * prof.r_um[:, None]
    total = float(np.sum(e2)) or 1.0
    band = _GUARD_BAND * units.wavelength_nm_from_freq(pl.f_centre) / 1000.0
    inner = float(np.sum(e2[prof.r_um < pl.r_min_um + band, :])) / total if pl.r_min_um > 0 else 0.0
    z_share = 0.0
    if pl.cut_z:
        z_share = float(np.sum(e2[:, np.abs(prof.z_um) > pl.z_half_um - band])) / total
    return inner, z_share


def cut_too_large(mode, shares) -> bool:
    """The cut is not negligible: the inner wall could shift the mode by more than
    ``_GUARD_INNER`` or the z-PML take more than ``_GUARD_Z_LOSS`` of its loss."""
    inner, z_share = shares
    return inner > _GUARD_INNER or z_share * abs(mode.Q) > _GUARD_Z_LOSS


def is_target(mode, settings) -> bool:
    """A mode the reduced cell is meant to hold (polar order known and small, or unknown)."""
    return mode.l is None or mode.l - abs(mode.m) <= settings.max_polar_order
