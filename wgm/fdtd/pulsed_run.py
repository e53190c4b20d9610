"""Pulsed pumping, short-pulse limit: the build-up of one mode after an instantaneous inversion
of a two-level gain film (Meep's ``MultilevelAtom`` with initial populations), against the
prediction of :mod:`wgm.lasing.buildup`, :func:`pulsed_buildup`.

The pump pulse (~100 fs, much shorter than the gain lifetime) is modelled as an inversion
ΔN₀ present at t = 0 (``MultilevelAtom(initial_populations=...)``, supported by Meep 1.25) with
no pump afterwards; the inversion relaxes with the lifetime τ.  Meep 1.25 has no
time-dependent pumping (``Transition.pumping_rate`` is a constant), so a pump switched on for a
short time is not available; initial populations are the exact form of the short-pulse limit.
A weak seed (a Gaussian pulse at the mode, the source of the lasing runs) starts the field;
Meep's atoms have no spontaneous emission, so the seed is the only source.

One azimuthal number m in the 2-D limit (a 1-D cell in r), one travelling e^{imφ} wave (the
caveat of :mod:`wgm.fdtd.lasing_run` applies).
"""

from __future__ import annotations

import dataclasses
import logging
import math

import numpy as np

from wgm import units
from wgm.errors import SolverError, UserError
from wgm.fdtd import meep_model as mm
from wgm.fdtd.lasing_run import _lasing_sim
from wgm.fdtd.plan import plan
from wgm.fdtd.settings import FdtdSettings
from wgm.model.resonator import Search

__all__ = ["pulsed_buildup"]

log = logging.getLogger(__name__)

_SEED_AMPLITUDE = 1e-5      # the seed pulse amplitude (Meep units): depletion < 1e-5 here (reported per run)
_SETTLE_PERIODS = 20        # t₀ = end of the seed pulse + this many optical periods (non-mode field gone)
_CHUNK_PS = 0.25            # the run advances in chunks of this length, checking the stop rule
_PAST_PEAK = 1.0            # stop once ln U has fallen this far below its maximum ...
_MIN_AFTER_SEED_PS = 0.5    # ... but not before this long after t₀
_INITIAL_FIT_PS = 0.3       # the initial growth rate: a line through ln U over this window after t₀
_MAX_LIFETIMES = 6.0        # default time limit, in lifetimes
_DEPLETION_WARN = 1e-3      # warn when stimulated emission used more than this share of the inversion


def _pulsed_geometry(res, pl, prediction, model, inversion, relax_to):
    media = [mm.medium(p) for p in pl.media]
    layers = res.region_layers(model.region, "lasing.region")
    for lay, sigma in zip(layers, prediction.couplings):
        atom = mm.pulsed_atom(sigma, prediction.transition_frequency, prediction.linewidth_frequency,
                              prediction.decay_rate, inversion, relax_to, prediction.density)
        media[lay] = mm.medium(pl.media[lay], susceptibilities=[atom])
    return mm.geometry(res, pl, media=media, m=model.m)


def pulsed_buildup(res, model, inversions_rel, *, relax_to: str = "transparency", levels=(10.0, 30.0),
                   prediction=None, settings: FdtdSettings | None = None, max_time_ps: float | None = None):
    """FDTD build-up of one mode after an instantaneous inversion, with its prediction.

    Parameters
    ----------
    res : Resonator
        A disk or ring in the 2-D limit.
    model : wgm.lasing.TwoLevelGain
        The mode, the gain region, the line, the gain at full inversion and the gain lifetime
        (``lifetime_ps``: choose it longer than the photon lifetime Q/ω; a few ps keeps runs
        short).  Its pump rates are not used.
    inversions_rel : sequence of float
        ΔN₀ in units of the CW threshold inversion ΔN_th (ΔN₀/N₀ must not exceed 1).
    relax_to : ``"transparency"`` or ``"absorption"``
        What the inversion decays to: ΔN → 0 (three levels: the upper level decays to a level
        the line does not couple) or ΔN → −N₀ (two levels).
    levels : sequence of float
        Energy rises U_b/U(t₀) whose build-up times are measured and predicted.
    max_time_ps : float, optional
        Time limit per run (default 6 lifetimes).

    Returns
    -------
    tuple of wgm.lasing.buildup.BuildupRun
        One per inversion, in the given order.  A run stops once ln U has fallen 1 below its
        maximum (at least 0.5 ps after the seed), or at the time limit.
    """
    from wgm.lasing import predict_lasing_threshold
    from wgm.lasing.buildup import (BuildupRun, buildup_time, first_crossing, gain_window_end, net_gain,
                                    two_level_growth_rate)

    mm.meep()
    if not res.is_2d:
        raise UserError("the pulsed build-up runs the 2-D limit only (a disk or ring with thickness_um/height_um "
                        "= inf: a 1-D cell in r)")
    if relax_to not in ("transparency", "absorption"):
        raise UserError(f"relax_to must be 'transparency' or 'absorption', got {relax_to!r}")
    if prediction is None:
        prediction = predict_lasing_threshold(res, model)
    settings = settings or FdtdSettings()
    x_th = prediction.inversion_threshold
    xs = [float(r) * x_th for r in inversions_rel]
    if any(not 0 < x <= 1 for x in xs):
        raise UserError(f"inversions_rel must give 0 < ΔN₀/N₀ <= 1 (ΔN_th/N₀ = {x_th:.4g}): got {list(inversions_rel)}")
    floor = 0.0 if relax_to == "transparency" else -1.0
    rate = two_level_growth_rate(res, model, prediction, np.linspace(min(floor, -0.2), 1.0, 13))  # r(ΔN/N₀), 1/ps
    tau = model.lifetime_ps
    tau_c_ps = float(prediction.gain.Q / units.rate_per_ps(2 * math.pi * prediction.frequency))
    if tau <= tau_c_ps:
        log.warning("pulsed build-up: the gain lifetime %.3g ps is not longer than the photon lifetime Q/ω = %.3g ps: "
                    "the mode can hardly grow within the gain window", tau, tau_c_ps)

    frozen = res.frozen_at(prediction.gain.wavelength_nm)
    f0 = prediction.frequency
    band = Search((units.wavelength_nm_from_freq(1.01 * f0), units.wavelength_nm_from_freq(0.99 * f0)), 1)
    pl = plan(frozen, band, dataclasses.replace(settings, m=(model.m,), symmetry=False, wavelength_nm=None,
                                                domain="full"))
    for w in pl.warnings:
        log.warning("pulsed build-up: %s", w)
    component = "Ez" if model.polarization == "TE" else "Hz"
    layers = frozen.layers()
    lay = frozen.region_layers(model.region, "lasing.region")[0]
    r_film = pl.monitor_r_um if lay == 0 else 0.5 * (layers[lay].inner_radius_um + layers[lay].outer_radius_um)
    comps = [mm.component(c) for c in ("Er", "Ep", "Ez")]
    p_film = mm.point(r_film)
    period = 1.0 / f0
    ps = units.meep_time_from_ps(1.0)
    sigma = prediction.couplings[0]
    w_a = 2 * math.pi * prediction.transition_frequency
    gam = 2 * math.pi * prediction.linewidth_frequency
    t_limit = units.meep_time_from_ps(max_time_ps if max_time_ps else _MAX_LIFETIMES * tau)

    runs = []
    for rel, x0 in zip(inversions_rel, xs):
        geo, bg = _pulsed_geometry(frozen, pl, prediction, model, x0, relax_to)
        sim, t_src = _lasing_sim(frozen, pl, model.m, component, geo, bg, f0, _SEED_AMPLITUDE)
        t_seed = t_src + _SETTLE_PERIODS * period
        ts, e2 = [], []

        def sample(s):
            ts.append(s.meep_time())
            e2.append(sum(abs(s.get_field_point(c, p_film)) ** 2 for c in comps))

        step = mm.at_every(period, sample)
        sim.run(step, until=t_seed)
        i0 = len(ts) - 1
        u0 = e2[i0]
        while sim.meep_time() < t_limit:
            sim.run(step, until=units.meep_time_from_ps(_CHUNK_PS))
            if not all(math.isfinite(v) for v in e2[-5:]):
                raise SolverError(f"pulsed build-up: fields blew up at t = {sim.meep_time():.4g}")
            lu = np.log(np.asarray(e2[i0:]) / u0)
            if ts[-1] - ts[i0] >= units.meep_time_from_ps(_MIN_AFTER_SEED_PS) and lu[-1] < lu.max() - _PAST_PEAK:
                break
        t_ps = np.asarray(ts[i0:]) / ps
        lu = np.log(np.asarray(e2[i0:]) / u0)
        t0_ps = float(t_ps[0])
        k = int(np.argmax(lu))
        peak = float(t_ps[k]) if k < len(lu) - 1 else None
        win = t_ps <= t0_ps + _INITIAL_FIT_PS
        r_init = float(np.polyfit(t_ps[win], lu[win], 1)[0])
        # stimulated rate W = σ|E|²/(2γω_a) per unit time (Meep units; ħω_a = ω_a in Meep's update)
        w_stim = sigma * np.asarray(e2[i0:]) / (2 * gam * w_a) * ps   # per ps
        depletion = float(np.trapz(2 * w_stim, t_ps))

        t_end_pred = gain_window_end(rate, tau, x0, floor, t0_ps)
        pred_peak_log = net_gain(rate, tau, x0, t_end_pred, floor, t0_ps) if math.isfinite(t_end_pred) else math.inf
        r_pred0 = net_gain(rate, tau, x0, t0_ps + _INITIAL_FIT_PS, floor, t0_ps) / _INITIAL_FIT_PS
        run = BuildupRun(
            inversion_rel=float(rel), inversion=x0, lifetime_ps=tau, relax_to=relax_to, seed_end_ps=t0_ps,
            levels=tuple(float(v) for v in levels),
            buildup_ps=tuple(first_crossing(t_ps, lu, math.log(v)) for v in levels),
            peak_ps=peak, peak_log_energy=float(lu[k]), initial_rate_per_ps=r_init,
            predicted_buildup_ps=tuple(buildup_time(rate, tau, x0, math.log(v), floor, t0_ps) for v in levels),
            predicted_peak_ps=float(t_end_pred), predicted_peak_log_energy=float(pred_peak_log),
            predicted_initial_rate_per_ps=float(r_pred0), depletion=depletion, run_ps=float(t_ps[-1]),
            times_ps=tuple(float(v) for v in t_ps), log_energy=tuple(float(v) for v in lu))
        log.info("pulsed build-up: ΔN₀ = %.3g ΔN_th: t_b %s ps (predicted %s), peak %s ps at ln U/U₀ = %.3g "
                 "(predicted %.4g ps, %.3g), initial rate %.4g/ps (predicted %.4g), depletion %.2g",
                 rel, run.buildup_ps, run.predicted_buildup_ps, peak, run.peak_log_energy, t_end_pred,
                 pred_peak_log, r_init, r_pred0, depletion)
        if depletion > _DEPLETION_WARN:
            log.warning("pulsed build-up: ΔN₀ = %.3g ΔN_th: stimulated emission used ~%.2g of the inversion: the "
                        "prediction (no depletion) no longer applies near the end of the run", rel, depletion)
        runs.append(run)
    return tuple(runs)
