"""The Q budget of every mode: radiation, absorption per medium, surface scattering, coupling.

The engines compute the intrinsic Q (``Q_int``: radiation and the materials' absorption
together).  :func:`apply_q_budget` splits it and adds the losses of ``[losses]``
(:mod:`wgm.model.losses`)::

    1/Q = 1/Q_rad + Σ_i 1/Q_abs,i + 1/Q_ss + 1/Q_c,     1/Q_rad = 1/Q_int − Σ_i 1/Q_abs,i

and sets each mode's ``Q`` to this loaded Q (the engine's stays in ``q_intrinsic``).

Absorption per medium ``i`` (first-order perturbation in the extinction ``k_i``):

* exact solver (``method == "exact"``): the response of ``1/Q`` to ``n_i → n_i (1 + iρ)`` in that
  medium alone, ``Γ_i = ∂(1/Q)/∂ρ / 2`` (central difference, Newton from the mode's own root), gives
  ``1/Q_abs,i = 2 Γ_i k_i / n_i``; this includes the materials' dispersion (the response of the
  frequency, not only the energy share);
* FEM (and any engine that fills ``Mode.energy_shares``): ``1/Q_abs,i = η_i Im ε_i / Re ε_i`` with
  ``η_i`` the share of ``∫ ε|E|²`` in medium ``i`` (no dispersion correction);
* FDTD: the same from the shares of its field profile (:func:`profile_energy_shares`) when fields
  were computed (``--fields``); without them absorption is not split from radiation
  (``q_radiation`` and ``q_absorption`` stay ``None``; ``Q_int`` still enters the loaded Q whole).

A medium of negative ``k`` (gain) gives a negative ``Q_abs,i``.
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass

import numpy as np

from wgm.model.losses import Losses, scattering_q
from wgm.model.materials import Material
from wgm.records.modes import Mode, ModeSpectrum

__all__ = ["apply_q_budget", "absorption_from_shares", "absorption_exact", "loaded_q", "profile_energy_shares"]

log = logging.getLogger(__name__)

_RHO = 1e-4
"""Relative size of the imaginary index step of the exact solver's perturbation: small enough that
the O(ρ²) error of the central difference is ~1e-8 relative, large enough that the step
(2ρΓ in 1/Q) is far above the root's rounding (~1e-13 relative in x)."""


def loaded_q(*qs) -> float:
    """``1/Σ(1/Q)`` over the given Qs (``None`` and ``inf`` left out; ``inf`` if no loss; one Q
    alone is returned as it is, not rounded through its inverse)."""
    finite = [q for q in qs if q is not None and q != math.inf]
    if len(finite) <= 1:
        return finite[0] if finite else math.inf
    inv = sum(1.0 / q for q in finite)
    return 1.0 / inv if inv != 0 else math.inf


def _media(resonator) -> dict[str, Material]:
    from wgm.model.section import media

    return {m.name: m.material for m in media(resonator)}


def profile_energy_shares(profile, resonator) -> tuple[tuple[str, float], ...] | None:
    """The share of ``∫ Re ε |E|²`` in each medium of a field profile's (r, z) grid (trapezoids,
    weight r; the 2-D limit's one-z profile over r only), by the medium names of
    :mod:`wgm.model.section`; ``None`` for an empty field."""
    from scipy import integrate

    from wgm.model.section import media, medium_index

    r, z = np.asarray(profile.r_um, float), np.asarray(profile.z_um, float)
    dens = np.real(np.asarray(profile.epsilon)) * profile.intensity() * r[:, None]
    where = medium_index(resonator, r[:, None], z[None, :])

    def integral(a):
        a = integrate.trapezoid(a, r, axis=0) if r.size > 1 else a.sum(axis=0)
        return float(integrate.trapezoid(a, z) if z.size > 1 else a.sum())

    total = integral(dens)
    if not total > 0:
        return None
    return tuple((m.name, integral(np.where(where == m.index, dens, 0.0)) / total) for m in media(resonator))


def absorption_from_shares(mode: Mode, resonator, shares=None) -> tuple[tuple[str, float], ...] | None:
    """``Q_abs,i`` of each absorbing medium from the mode's energy shares (or ``shares`` given)
    (``1/Q_abs,i = η_i Im ε_i / Re ε_i``); ``None`` when there are no shares."""
    shares = mode.energy_shares if shares is None else shares
    if shares is None:
        return None
    mats = _media(resonator)
    out = []
    for name, share in shares:
        mat = mats.get(name)
        if mat is None:
            continue
        n = mat.n_at(mode.wavelength_nm)
        if n.imag == 0:
            continue
        eps = n * n
        inv = share * eps.imag / eps.real
        out.append((name, 1.0 / inv if inv else math.inf))
    return tuple(out)


@dataclass(frozen=True)
class _Scaled(Material):
    """``base`` with its index multiplied by ``1 + iρ`` (the perturbation of the exact budget)."""

    base: Material
    rho: float

    @property
    def name(self) -> str:
        return self.base.name

    @property
    def wavelength_range_nm(self):
        return self.base.wavelength_range_nm

    def _index_nm(self, wavelength_nm):
        return self.base._index_nm(wavelength_nm) * (1 + 1j * self.rho)


def _with_scaled(resonator, name: str, rho: float):
    """``resonator`` with the medium ``name`` (core, coating.N, surroundings) scaled by 1 + iρ."""
    if name == "core":
        shape = dataclasses.replace(resonator.shape, material=_Scaled(resonator.shape.material, rho))
        return dataclasses.replace(resonator, shape=shape)
    if name.startswith("coating."):
        j = int(name.split(".")[1])
        coats = list(resonator.coatings)
        coats[j] = dataclasses.replace(coats[j], material=_Scaled(coats[j].material, rho))
        return dataclasses.replace(resonator, coatings=tuple(coats))
    if name == "surroundings":
        return dataclasses.replace(resonator, surroundings=_Scaled(resonator.surroundings, rho))
    raise ValueError(f"the exact solver has no medium {name!r}")


def _inv_q(x) -> np.ndarray:
    return -2.0 * x.imag / x.real


def absorption_exact(modes, resonator) -> list[tuple[tuple[str, float], ...]]:
    """``Q_abs,i`` of each absorbing medium of each exact-solver mode, by the response of the
    mode's ``1/Q`` to an imaginary index step in that medium alone (see the module docstring)."""
    from wgm.exact.characteristic import LayeredStack, find_root

    mats = _media(resonator)
    out = [[] for _ in modes]
    if not modes:
        return []
    pols = np.array([md.polarization for md in modes])
    orders = np.array([md.l if md.l is not None else md.m for md in modes])
    x0 = np.array([complex(*md.size_parameter) for md in modes])
    for name, mat in mats.items():
        ks = [mat.n_at(md.wavelength_nm) for md in modes]
        if all(n.imag == 0 for n in ks):
            continue
        inv = []
        for rho in (-_RHO / 2, _RHO / 2):
            stack = LayeredStack.from_resonator(_with_scaled(resonator, name, rho))
            roots = find_root(stack, pols, orders, x0, max_step=np.full(len(modes), 0.5))
            if not np.all(roots.converged):
                bad = [f"{md.polarization} {orders[i]} q={md.radial_order}" for i, md in enumerate(modes)
                       if not roots.converged[i]]
                log.warning("Q budget: the perturbed root of %s did not converge (medium %s)", ", ".join(bad), name)
            inv.append(np.where(roots.converged, _inv_q(roots.x), np.nan))
        gamma = (inv[1] - inv[0]) / (2 * _RHO)
        for i, n in enumerate(ks):
            if n.imag == 0:
                continue
            q_inv = 2 * gamma[i] * n.imag / n.real
            out[i].append((name, 1.0 / q_inv if q_inv else math.inf))
    return [tuple(o) for o in out]


def _budget_mode(mode: Mode, by_layer, q_ss: float, q_c: float) -> Mode:
    q_int = mode.Q
    if by_layer is None:
        q_rad = q_abs = None
        q = loaded_q(q_int, q_ss, q_c)
    else:
        inv_abs = sum(1.0 / q for _, q in by_layer if math.isfinite(q) and not math.isnan(q))
        q_abs = 1.0 / inv_abs if inv_abs else math.inf
        inv_rad = (1.0 / q_int if math.isfinite(q_int) else 0.0) - inv_abs
        if not inv_abs:
            q_rad = q_int  # nothing absorbs: the engine's Q as it is
        else:
            q_rad = 1.0 / inv_rad if inv_rad > 0 else math.inf  # ≤ 0: within the perturbation's accuracy
        q = loaded_q(q_int, q_ss, q_c)  # = 1/(1/Q_rad + Σ 1/Q_abs,i + 1/Q_ss + 1/Q_c)
    return dataclasses.replace(mode, Q=q, q_intrinsic=q_int, q_radiation=q_rad, q_absorption=q_abs,
                               q_scattering=q_ss, q_coupling=q_c, q_absorption_by_layer=by_layer)


def apply_q_budget(spectrum: ModeSpectrum, losses: Losses | None = None) -> ModeSpectrum:
    """The spectrum with every mode's Q budget (module docstring) and ``Q`` the loaded Q.

    Without losses and absorption the loaded Q is the engine's Q, unchanged.  Applying it twice
    is refused (the engine's Q would be lost)."""
    losses = losses or Losses()
    if any(md.q_intrinsic is not None for md in spectrum.modes):
        raise ValueError("the Q budget is already applied to this spectrum")
    res = spectrum.resonator
    modes = list(spectrum.modes)
    if spectrum.method == "exact" and modes:
        by_layer = absorption_exact(modes, res)
    else:
        by_layer = [absorption_from_shares(md, res) for md in modes]
        if spectrum.profiles:  # FDTD: the shares of the field profiles, where computed
            by_key = {(p.mode.polarization, p.mode.m, p.mode.radial_order, p.mode.wavelength_nm): p
                      for p in spectrum.profiles}
            for i, md in enumerate(modes):
                p = by_key.get((md.polarization, md.m, md.radial_order, md.wavelength_nm))
                if by_layer[i] is None and p is not None:
                    by_layer[i] = absorption_from_shares(md, res, profile_energy_shares(p, res))
    out = []
    for md, layers in zip(modes, by_layer):
        q_ss = scattering_q(res, losses, md.wavelength_nm)
        out.append(_budget_mode(md, layers, q_ss, losses.coupling_q))
    return dataclasses.replace(spectrum, modes=tuple(out), losses=losses if losses.any else None)
