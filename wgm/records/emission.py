r"""Emission figures of every mode of a spectrum: Purcell factor (at the field maximum and
averaged over the emitting layer), spontaneous-emission factor β, effective and group index.

Definitions (``λ`` the mode's wavelength, ``n`` the emitting layer's index, real part, mean
over the region's layers):

* Mode volume ``V = ∫ ε|E|² dV / max(ε|E|²)`` (µm³; ``ε = Re n²``; traveling-wave
  convention: the field ``E(r, z) e^{imφ}`` of one member of the ±m pair, so ``|E|²`` is
  independent of φ).  The engines fill it (:attr:`Mode.mode_volume_um3`): the exact solver
  for spheres (:mod:`wgm.exact.fields`), FEM; for FDTD :func:`profile_mode_volume_um3` gives
  it from a mode's field profile when fields were computed.  The 2-D limit has none (per unit
  height).
* Broad-emitter quality factor ``Q_eff = 1/(1/Q + 1/Q_em)``, ``Q_em = λ_em/Δλ_em`` of the
  emitter's line (``Δλ_em`` its FWHM); without a line ``Q_eff = Q`` (a narrow emitter).
* Purcell factor at the maximum of the layer, ``F = (3/4π²)(λ/n)³ Q_eff / V_e`` with
  ``V_e = ∫ε|E|² / max_layer(ε|E|²) = V / p`` (``p`` the layer's largest ``ε|E|²`` over the
  mode's largest): an emitter there, dipole along the field, line centred on the mode.  The
  exact solver gives ``p`` per layer; for FEM and FDTD spectra ``p = 1`` is used (the mode's
  own maximum: an upper bound when that maximum lies outside the layer; said in the note).
* Mean Purcell factor over emitters spread uniformly in the layer, randomly oriented:
  ``F̄ = (1/3)(3/4π²)(λ/n)³ Q_eff ⟨ε|E|²⟩_layer / ∫ε|E|² = (1/4π²)(λ/n)³ Q_eff η / V_layer``,
  ``η`` the layer's share of ``∫ε|E|²`` (:attr:`Mode.energy_shares`), ``V_layer`` its
  geometric volume (:func:`layer_volume_um3`).  The same for every member of a degenerate
  multiplet (the share does not depend on m).
* β of a mode: the fraction of the layer's spontaneous emission (emitters of the given line)
  that goes into that one mode, ``β = w F̄ / (Σ_k g_k w_k F̄_k + 1)``.  The sum runs over the
  modes of the spectrum within the emission band (the line's centre ± :data:`BAND_FWHMS`
  FWHM), ``g_k`` their degeneracy (``2l + 1`` spheres, 2 for ±m otherwise), ``w_k =
  (Δ_k/2)² / (δ_k² + (Δ_k/2)²)`` the overlap of the Lorentzian line with the mode at the
  detuning ``δ_k`` (``Δ_k = λ/Q_k + Δλ_em``: the same Lorentzian convolution as ``Q_eff``, so
  ``w = 1`` on resonance), and ``1`` the emission into everything else, at the bulk rate of
  the layer's medium (the normalization of ``F``).  So ``Σ_k g_k β_k ≤ 1``.
* Effective index ``n_eff = m λ / (2π R)`` for finite shapes and the 2-D limit, ``(l + ½) λ /
  (2π R)`` for spheres; ``R`` is the outer radius of the outermost layer (coating included;
  for a toroid the major radius plus the tube's radius).
* Group index ``n_g = λ² / (2π R · FSR)``, same ``R``, from the mode's ``fsr_nm`` (FEM, FDTD:
  from the modes ``m ± 1`` of the same family in the spectrum; ``None`` without them).

Not modeled: the emitter line as anything but a Lorentzian; the line's inhomogeneous
broadening as a distribution of emitters (it is taken as one homogeneous line of that width);
the change of the emission outside the modes by the resonator (the ``+1``: bulk rate); modes
outside the spectrum (FEM and FDTD solve chosen m only: β is then overestimated, said in the
note); emitters outside the layer; the Lorentzian tails of modes beyond the band.
"""

from __future__ import annotations

import logging
import math
from dataclasses import replace

import numpy as np
from scipy import integrate

from wgm.records.modes import FieldProfile, Mode, ModeSpectrum

__all__ = ["emission_figures", "layer_volume_um3", "profile_mode_volume_um3", "effective_index", "group_indices",
           "purcell_factor", "BAND_FWHMS", "default_emitting_layer"]

log = logging.getLogger(__name__)

BAND_FWHMS = 1.5
"""Half-width of the emission band in FWHM of the line: modes within ``λ_em ± 1.5 Δλ_em`` count
in β (the line's FWHM band ± one FWHM; a mode at the edge has overlap ``w ≈ 0.1``)."""

PURCELL_PREFACTOR = 3.0 / (4.0 * math.pi**2)


def purcell_factor(wavelength_nm: float, index: float, q_eff: float, volume_um3: float) -> float:
    """``(3/4π²) (λ/n)³ Q_eff / V`` (λ in nm, V in µm³)."""
    lam_um = wavelength_nm * 1e-3
    return PURCELL_PREFACTOR * (lam_um / index) ** 3 * q_eff / volume_um3


def default_emitting_layer(resonator) -> str | None:
    """The outermost coating (``"coating.N"``), ``None`` for an uncoated resonator."""
    n = len(resonator.coatings)
    return f"coating.{n - 1}" if n else None


def _shape_volume_um3(shape) -> float:
    from wgm.model.section import Circle

    if isinstance(shape, Circle):
        if shape.centre_r_um == 0.0:
            return 4.0 / 3.0 * math.pi * shape.radius_um**3
        return 2.0 * math.pi * shape.centre_r_um * math.pi * shape.radius_um**2  # Pappus: a torus' tube
    return math.pi * (shape.r1_um**2 - shape.r0_um**2) * (shape.z1_um - shape.z0_um)


def layer_volume_um3(resonator, index: int) -> float:
    """Geometric volume of layer ``index`` (µm³): its outer shape minus the layer inside it
    (layers are nested: :mod:`wgm.model.section`); ``inf`` in the 2-D limit."""
    from wgm.model.section import media

    med = media(resonator)
    vol = _shape_volume_um3(med[index].shape)
    if index > 0:
        vol -= _shape_volume_um3(med[index - 1].shape)
    return vol


def profile_mode_volume_um3(profile: FieldProfile) -> float | None:
    """``2π ∫ Re ε |E|² r dr dz / max(Re ε |E|²)`` of a field profile on its (r, z) grid
    (trapezoids; the grid spans the cell, PML included, where the field is negligible for a
    resolved mode); ``None`` for a profile of one z (the 2-D limit: no finite volume)."""
    r, z = np.asarray(profile.r_um, float), np.asarray(profile.z_um, float)
    if z.size < 2 or r.size < 2:
        return None
    dens = np.real(np.asarray(profile.epsilon)) * profile.intensity()
    peak = float(np.max(dens))
    if not peak > 0:
        return None
    total = integrate.trapezoid(integrate.trapezoid(dens * r[:, None], z, axis=1), r)
    return float(2 * math.pi * total / peak)


def effective_index(mode: Mode, resonator) -> float:
    """``(l + ½) λ/(2π R)`` (sphere) or ``m λ/(2π R)``; ``R`` the outer radius of the outermost layer."""
    from wgm.model.resonator import Sphere

    R_nm = resonator.layers()[-1].outer_radius_um * 1e3
    order = mode.l + 0.5 if isinstance(resonator.shape, Sphere) and mode.l is not None else mode.m
    return order * mode.wavelength_nm / (2 * math.pi * R_nm)


def _fsr_from_neighbours(mode: Mode, modes) -> float | None:
    """FSR (nm) from the modes ``m ± 1`` of the same polarization, radial and polar order."""
    if mode.radial_order is None:
        return None
    same = {md.m: md for md in modes if md is not mode and (md.polarization, md.radial_order, md.polar_order)
            == (mode.polarization, mode.radial_order, mode.polar_order)}
    lo, hi = same.get(mode.m + 1), same.get(mode.m - 1)  # m + 1: shorter wavelength
    if lo is not None and hi is not None:
        return 0.5 * (hi.wavelength_nm - lo.wavelength_nm)
    if lo is not None:
        return mode.wavelength_nm - lo.wavelength_nm
    if hi is not None:
        return hi.wavelength_nm - mode.wavelength_nm
    return None


def group_indices(spectrum: ModeSpectrum) -> list[float | None]:
    """``λ²/(2π R · FSR)`` per mode (``None`` without an FSR).  The exact solver's ``fsr_nm``
    (``None`` where it found the family's spacing not smooth); FEM and FDTD: from the modes
    ``m ± 1`` of the same family in the spectrum."""
    R_nm = spectrum.resonator.layers()[-1].outer_radius_um * 1e3
    out = []
    for md in spectrum.modes:
        fsr = md.fsr_nm
        if fsr is None and spectrum.method != "exact":  # the exact solver omits an FSR on purpose
            fsr = _fsr_from_neighbours(md, spectrum.modes)
        out.append(md.wavelength_nm**2 / (2 * math.pi * R_nm * fsr) if fsr and fsr > 0 else None)
    return out


def _exact_peaks(spectrum: ModeSpectrum) -> list[dict | None]:
    """Per mode: {medium: largest ε|E|² there / largest anywhere} (exact sphere modes), else None."""
    if spectrum.method != "exact":
        return [None] * len(spectrum.modes)
    from wgm.exact import bessel
    from wgm.exact.characteristic import LayeredStack
    from wgm.exact.fields import sphere_energy

    stack = LayeredStack.from_resonator(spectrum.resonator)
    if stack.offset != bessel.SPHERE:
        return [None] * len(spectrum.modes)
    out = []
    for md in spectrum.modes:
        try:
            out.append(dict(sphere_energy(stack, md.polarization, md.l, complex(*md.size_parameter)).peaks))
        except (ValueError, FloatingPointError, ZeroDivisionError):
            out.append(None)
    return out


def _add_note(mode: Mode, text: str) -> Mode:
    return replace(mode, note=f"{mode.note}; {text}" if mode.note else text)


def emission_figures(spectrum: ModeSpectrum, layer: str | None = "default", emission_peak_nm: float | None = None,
                     emission_fwhm_nm: float | None = None) -> ModeSpectrum:
    """The spectrum with ``purcell_factor``, ``purcell_factor_mean``, ``beta``, ``n_eff`` and
    ``n_group`` filled in every mode (definitions: the module docstring).

    Parameters
    ----------
    spectrum : ModeSpectrum
    layer : str or None
        The emitting region (``"core"``, ``"coating"``, ``"coating.N"``: the names of
        :meth:`Resonator.region_layers`); ``"default"``: the outermost coating, none for an
        uncoated resonator.  ``None`` (no emitting layer): the Purcell factor at the mode's own
        maximum (index of the core), no mean and no β.
    emission_peak_nm, emission_fwhm_nm : float, optional
        The emitter's line (Lorentzian).  Without a width: a narrow line (``Q_eff = Q``) and no
        β; without a centre, no β.

    A FDTD mode without a volume gets one from its field profile when the spectrum has
    profiles.  The parameters and any warning (the search band not covering the emission
    band) go to ``run_info["emission"]`` (left out when there is no layer, no line and no
    note); a warning is also logged.
    """
    from wgm.errors import ConfigError

    res = spectrum.resonator
    if layer == "default":
        layer = default_emitting_layer(res)
    indices = res.region_layers(layer, "emission.layer") if layer is not None else ()
    if emission_fwhm_nm is not None and not emission_fwhm_nm > 0:
        raise ConfigError("emission.fwhm_nm", emission_fwhm_nm, "must be > 0")
    if emission_peak_nm is not None and not emission_peak_nm > 0:
        raise ConfigError("emission.peak_nm", emission_peak_nm, "must be > 0")
    notes = []
    modes = list(spectrum.modes)
    if spectrum.method == "fdtd" and spectrum.profiles:
        by_mode = {id(p.mode): p for p in spectrum.profiles}
        by_eq = {(p.mode.polarization, p.mode.m, p.mode.radial_order, p.mode.wavelength_nm): p
                 for p in spectrum.profiles}
        for i, md in enumerate(modes):
            p = by_mode.get(id(md)) or by_eq.get((md.polarization, md.m, md.radial_order, md.wavelength_nm))
            if md.mode_volume_um3 is None and p is not None:
                modes[i] = replace(md, mode_volume_um3=profile_mode_volume_um3(p))
    peaks = _exact_peaks(replace(spectrum, modes=tuple(modes)))
    names = [res.layers()[j].region for j in indices]
    layer_vol = sum(layer_volume_um3(res, j) for j in indices) if indices else None
    if layer is not None and spectrum.method != "exact":
        notes.append("Purcell factor at the mode's own maximum (this engine gives no maximum per layer)")

    def layer_index(lam):
        js = indices if indices else (0,)
        return float(np.mean([res.layers()[j].material.n_at(lam).real for j in js]))

    def q_eff(md):
        if emission_fwhm_nm is None or emission_peak_nm is None:
            return md.Q
        q_em = emission_peak_nm / emission_fwhm_nm
        return 1.0 / (1.0 / md.Q + 1.0 / q_em)

    F, Fbar = [], []
    for md, pk in zip(modes, peaks):
        V = md.mode_volume_um3
        ok = V is not None and math.isfinite(V) and V > 0 and math.isfinite(md.Q) and md.Q > 0
        if not ok:
            F.append(None)
            Fbar.append(None)
            continue
        n = layer_index(md.wavelength_nm)
        if pk is not None and names:
            p = max(pk.get(name, 0.0) for name in names)
        elif pk is not None:  # no layer: at the mode's maximum, in the medium that holds it
            top = max(pk, key=pk.get)
            p = 1.0
            if top != "core" and top in {L.region for L in res.layers()}:
                n = float(res.layers()[[L.region for L in res.layers()].index(top)].material.n_at(md.wavelength_nm).real)
            elif top == "surroundings":
                n = float(res.surroundings.n_at(md.wavelength_nm).real)
        else:
            p = 1.0
        qe = q_eff(md)
        F.append(purcell_factor(md.wavelength_nm, n, qe, V / p) if p > 0 else 0.0)
        if names and md.energy_shares is not None and layer_vol and math.isfinite(layer_vol):
            shares = dict(md.energy_shares)
            eta = sum(shares.get(name, 0.0) for name in names)
            Fbar.append(purcell_factor(md.wavelength_nm, n, qe, layer_vol) * eta / 3.0)
        else:
            Fbar.append(None)

    beta = [None] * len(modes)
    if names and emission_peak_nm is not None and emission_fwhm_nm is not None:
        lo, hi = emission_peak_nm - BAND_FWHMS * emission_fwhm_nm, emission_peak_nm + BAND_FWHMS * emission_fwhm_nm
        s_lo, s_hi = spectrum.search.wavelength_nm
        if s_lo > lo or s_hi < hi:
            msg = (f"the search band {s_lo:g}-{s_hi:g} nm does not cover the emission band {lo:g}-{hi:g} nm "
                   f"(line centre ± {BAND_FWHMS:g} FWHM): β misses the modes outside and is overestimated")
            log.warning("emission: %s", msg)
            notes.append(msg)
        if spectrum.method != "exact":
            notes.append("β counts only the modes of the spectrum (the m solved): overestimated if modes of "
                         "the band are missing")

        def weight(md):
            half = 0.5 * (md.wavelength_nm / md.Q + emission_fwhm_nm)
            return half**2 / ((md.wavelength_nm - emission_peak_nm) ** 2 + half**2)

        band = [i for i, md in enumerate(modes) if lo <= md.wavelength_nm <= hi]
        if any(Fbar[i] is None for i in band):
            notes.append("no β: a mode of the emission band has no mean Purcell factor")
        else:
            total = 1.0 + sum(max(modes[i].degeneracy, 1) * weight(modes[i]) * Fbar[i] for i in band)
            for i, md in enumerate(modes):
                if Fbar[i] is not None:
                    beta[i] = weight(md) * Fbar[i] / total
    n_g = group_indices(replace(spectrum, modes=tuple(modes)))
    out = tuple(replace(md, purcell_factor=F[i], purcell_factor_mean=Fbar[i], beta=beta[i],
                        n_eff=effective_index(md, res), n_group=n_g[i]) for i, md in enumerate(modes))
    info = dict(spectrum.run_info)
    if layer is not None or emission_peak_nm is not None or emission_fwhm_nm is not None or notes:
        info["emission"] = {"layer": layer, "peak_nm": emission_peak_nm, "fwhm_nm": emission_fwhm_nm,
                            "layer_volume_um3": layer_vol, "notes": notes}
    return replace(spectrum, modes=out, run_info=info)
