"""Above threshold: the light-in/light-out curve of one mode with a saturable two-level gain
film (Meep's ``MultilevelAtom``), :func:`lasing_curve`.

One azimuthal number m, the 2-D limit (a 1-D cell in r).  The gain region's layers get a
Meep MultilevelAtom (level 1 pumped to 2 at R_p, 2 decays to 1 at Γ21, a Lorentzian 2 → 1
line) on top of their background ε.  Caveat (Meep's multilevel-atom.cpp): with the complex
fields of m ≠ 0 the population update sees one travelling e^{imφ} wave, so a run cannot
model competition between ±m or standing-wave hole burning in φ.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time

import numpy as np

from wgm import units
from wgm.errors import SolverError, UserError
from wgm.fdtd import meep_model as mm
from wgm.fdtd.plan import plan
from wgm.fdtd.settings import FdtdSettings
from wgm.model.resonator import Resonator, Search

__all__ = ["lasing_curve"]

log = logging.getLogger(__name__)

_LASING_PERIODS_PER_SAMPLE = 0.2   # the flux and phase are sampled five times per optical period
_LASING_WINDOW_PERIODS = 100       # shortest averaging window, in optical periods
_LASING_WINDOW_TIMES = 3.0         # ... and at least this many photon lifetimes and population times
_LASING_MAX_WINDOWS = 200          # default time limit, in windows
_LASING_SMALL_SEED = 1e-4          # a below-threshold run starts at this share of the lasing level
_LASING_LINEAR = 1e-3              # "far below the lasing level": below this share of it
_LASING_CONST_RATE = 0.05          # a decay rate that changes less than this between windows is constant


def _lasing_geometry(res, pl, prediction, model, pump_rate):
    """The passive geometry with the region's media replaced by background + two-level atom
    (its coupling weighted by the share of each pixel the film fills, as for loss)."""
    media = [mm.medium(p) for p in pl.media]
    layers = res.region_layers(model.region, "lasing.region")
    g21, n0 = prediction.decay_rate, prediction.density
    n2 = n0 * pump_rate / (pump_rate + g21)  # start at the unsaturated steady state: no population transient
    for lay, sigma in zip(layers, prediction.couplings):
        atom = mm.two_level_atom(sigma, pump_rate, prediction.transition_frequency, prediction.linewidth_frequency,
                                 g21, (n0 - n2, n2))  # isotropic film
        media[lay] = mm.medium(pl.media[lay], susceptibilities=[atom])
    return mm.geometry(res, pl, media=media, m=model.m)


class _FluxProbe:
    """Samples the outward Poynting flux per unit height through the cylinder r = r_flux,
    P = 2π r · ½ Re(E_φ H_z* − E_z H_φ*) (the cycle average of one e^{−iωt} wave), the
    field phase at the monitor point (frequency) and |E|² in the gain film."""

    def __init__(self, r_flux, r_mon, r_film, component):
        self.pf, self.pm, self.pg = mm.point(r_flux), mm.point(r_mon), mm.point(r_film)
        self.component = mm.component(component)
        ez, hp, ep, hz, er = (mm.component(c) for c in ("Ez", "Hp", "Ep", "Hz", "Er"))
        self.r = r_flux
        self.t, self.power, self.phase, self.film = [], [], [], []

        def step(sim):
            g = sim.get_field_point
            e_z, h_p, e_p, h_z = (g(c, self.pf) for c in (ez, hp, ep, hz))
            self.t.append(sim.meep_time())
            self.power.append(math.pi * self.r * (e_p * np.conj(h_z) - e_z * np.conj(h_p)).real)
            self.phase.append(np.angle(g(self.component, self.pm)))
            self.film.append(sum(abs(g(c, self.pg)) ** 2 for c in (ez, er, ep)))
            if not math.isfinite(self.power[-1]):
                raise SolverError(f"lasing: fields blew up (NaN/Inf) at t = {sim.meep_time():.4g}: the coupling "
                                  f"σ may be too large for the time step (raise the resolution)")

        self.step = step

    def window(self, t0):
        """Samples since t0: times, powers, phases."""
        i = int(np.searchsorted(np.asarray(self.t), t0))
        return np.asarray(self.t[i:]), np.asarray(self.power[i:]), np.asarray(self.phase[i:])


def _window_stats(t, p, ph):
    mean = float(np.mean(p))
    pos = p > 0
    rate = float(np.polyfit(t[pos], np.log(p[pos]), 1)[0]) if pos.sum() > 3 else math.nan
    # e^{−iωt}: the phase falls by 2π f per unit time
    f = float(-np.polyfit(t, np.unwrap(ph), 1)[0] / (2 * math.pi)) if len(t) > 3 else math.nan
    return mean, rate, f


def _lasing_sim(res, pl, m, component, geometry, background, fcen, amplitude):
    """A gain run: the plan's full cell (no mirror), a complex (e^{−iωt}) seed pulse, i.e. one
    travelling wave, the one the population update models.  Returns (sim, pulse duration)."""
    df = 0.05 * fcen
    sim = mm.simulation(res, pl, m, component, fcen, df, +1, geometry_=(geometry, background), amplitude=amplitude)
    mm.init_sim(sim)
    return sim, 2 * mm.PULSE_CUTOFF / df


def lasing_curve(res: Resonator, model, prediction=None, settings: FdtdSettings | None = None):
    """FDTD light-in/light-out curve of one mode with a saturable two-level gain film.

    Parameters
    ----------
    res : Resonator
        A disk or ring in the 2-D limit (infinite thickness: a 1-D cell in r, z-invariant).
    model : wgm.lasing.TwoLevelGain
        The mode (m, polarization, radial order), the gain region, the two-level line and the
        pump rates (relative to the predicted threshold).
    prediction : wgm.lasing.LasingPrediction, optional
        From :func:`wgm.lasing.predict_lasing_threshold` (computed if not given): it fixes the
        model's couplings and the pump-rate unit.
    settings : FdtdSettings, optional
        Resolution, pad and PML overrides.

    Returns
    -------
    wgm.lasing.LasingCurve
        For each pump rate: the output power (outward Poynting flux per µm of height through
        a cylinder in the middle of the pad, averaged over the last window), the lasing
        wavelength (from the phase of the field) and whether the run reached steady state.

    Steady state: the run is cut into windows of at least 100 optical periods and three
    photon lifetimes and population times.  It is *lasing* once two consecutive window means
    agree within ``model.settle_rel`` and so does their geometric (Aitken) extrapolation;
    *below threshold* once the power decays at a constant rate (within 5 % between windows)
    while below 10⁻³ of the lasing level (the linear regime: the steady state is zero
    output); otherwise, at the time limit (``model.max_time_ps``, default 200 windows),
    *not settled*.  Seeds (a Gaussian pulse at the mode) are chosen near the expected level,
    which shortens the runs but does not set the result: the steady state is an attractor.
    """
    from wgm.lasing import LasingCurve, LasingPoint, predict_lasing_threshold

    mm.meep()  # fail early without Meep
    if not res.is_2d:
        raise UserError("wgm lasing runs the 2-D limit only (a disk or ring with thickness_um/height_um = inf: "
                        "a 1-D cell in r); finite shapes would need the flux through a closed surface in (r, z)")
    if prediction is None:
        prediction = predict_lasing_threshold(res, model)
    settings = settings or FdtdSettings()
    frozen = res.frozen_at(prediction.gain.wavelength_nm)
    f0 = prediction.frequency
    band = Search((units.wavelength_nm_from_freq(1.01 * f0), units.wavelength_nm_from_freq(0.99 * f0)), 1)
    # the full cell (from the axis): the two-level runs are cheap 1-D cells
    pl = plan(frozen, band, dataclasses.replace(settings, m=(model.m,), symmetry=False, wavelength_nm=None, domain="full"))
    for w in pl.warnings:
        log.warning("lasing: %s", w)
    m = model.m
    component = "Ez" if model.polarization == "TE" else "Hz"
    layers = frozen.layers()
    r_out = layers[-1].outer_radius_um
    r_flux = r_out + 0.5 * pl.pad_um
    lay = frozen.region_layers(model.region, "lasing.region")[0]
    r_film = pl.monitor_r_um if lay == 0 else 0.5 * (layers[lay].inner_radius_um + layers[lay].outer_radius_um)
    period = 1.0 / f0
    tau_c = prediction.gain.Q / (2 * math.pi * f0)  # photon (energy) lifetime

    # calibration (passive, seed amplitude 1): film intensity and flux per unit seed², and the
    # passive Q of the FDTD model from the energy decay
    geo, bg = mm.geometry(frozen, pl, m=model.m)
    sim, t_src = _lasing_sim(frozen, pl, m, component, geo, bg, f0, 1.0)
    probe = _FluxProbe(r_flux, pl.monitor_r_um, r_film, component)
    t_cal = t_src + 2 * tau_c
    sim.run(mm.at_every(_LASING_PERIODS_PER_SAMPLE * period, probe.step), until=t_cal)
    t, p, _ = probe.window(t_src + 0.5 * tau_c)
    film = np.asarray(probe.film[-len(t):])
    rate_cal = float(np.polyfit(t, np.log(np.maximum(p, 1e-300)), 1)[0])
    q_fdtd = 2 * math.pi * f0 / -rate_cal if rate_cal < 0 else math.inf
    e2_per_amp2 = float(np.mean(film[: max(len(film) // 10, 1)]))
    log.info("lasing: passive FDTD Q %.5g (exact %.5g), resolution %g px/µm, cell %.3g µm",
             q_fdtd, prediction.gain.Q, pl.resolution, pl.cell_r_um)

    g21, rth = prediction.decay_rate, prediction.pump_rate_threshold
    x_th = prediction.inversion_threshold
    sigma = prediction.couplings[0]  # of the first layer of the region, where r_film is
    w_a = 2 * math.pi * prediction.transition_frequency
    gam = 2 * math.pi * prediction.linewidth_frequency

    def expected_e2(rp):
        # uniform-field rate equations with the inversion clamped at ΔN_th: the stimulated rate
        # W = σ|E|²/(2γω_a) (Meep's population update with ħω_a = ω_a) balances the pump
        w = (rp * (1 - x_th) - g21 * (1 + x_th)) / (2 * x_th)
        return 2 * gam * w_a * w / sigma

    top = max(model.pump_rates_rel)
    level_top = expected_e2(top * rth) if top > 1 else expected_e2(2 * rth)
    points = []
    p_ref = None  # the largest lasing output measured so far: the "lasing level"
    t_limit_user = units.meep_time_from_ps(model.max_time_ps) if model.max_time_ps else None
    t_start = time.monotonic()
    for rel in sorted(model.pump_rates_rel, reverse=True):
        rp = rel * rth
        target = expected_e2(rp) if rel > 1 else _LASING_SMALL_SEED * level_top
        amp = math.sqrt(max(target, 1e-30) / max(e2_per_amp2, 1e-300))
        geo, bg = _lasing_geometry(frozen, pl, prediction, model, rp)
        sim, t_src = _lasing_sim(frozen, pl, m, component, geo, bg, f0, amp)
        window = max(_LASING_WINDOW_PERIODS * period, _LASING_WINDOW_TIMES * tau_c,
                     _LASING_WINDOW_TIMES / (rp + g21))
        t_limit = t_limit_user or _LASING_MAX_WINDOWS * window
        probe = _FluxProbe(r_flux, pl.monitor_r_um, r_film, component)
        sample = mm.at_every(_LASING_PERIODS_PER_SAMPLE * period, probe.step)
        sim.run(sample, until=t_src)
        means, rates, state, freq = [], [], "not settled", math.nan
        lasing_level = p_ref if p_ref is not None else None
        while sim.meep_time() < t_src + t_limit:
            t0 = sim.meep_time()
            sim.run(sample, until=window)
            mean, rate, freq = _window_stats(*probe.window(t0))
            means.append(mean)
            rates.append(rate)
            if len(means) < 2:
                continue
            d1 = means[-1] - means[-2]
            steady = abs(d1) <= model.settle_rel * abs(means[-1]) and means[-1] > 0
            if steady and len(means) >= 3:
                d0 = means[-2] - means[-3]
                q = d1 / d0 if d0 else 0.0
                if 0 < q < 1:  # geometric approach: the remaining change is d1 q/(1 − q)
                    steady = abs(d1 * q / (1 - q)) <= model.settle_rel * abs(means[-1])
            if steady:
                state = "lasing"
                break
            level = lasing_level if lasing_level is not None else _flux_level(probe, e2_per_amp2, level_top)
            if (rates[-1] < 0 and rates[-2] < 0 and abs(rates[-1] - rates[-2]) <= _LASING_CONST_RATE * abs(rates[-1])
                    and means[-1] < _LASING_LINEAR * level):
                state = "below threshold"
                break
        run_time = sim.meep_time()
        point = LasingPoint(rel, rp, means[-1] if means else math.nan,
                            units.wavelength_nm_from_freq(freq) if freq and math.isfinite(freq) else math.nan,
                            state, rates[-1] if rates else math.nan, run_time, len(means))
        points.append(point)
        if state == "lasing":
            p_ref = max(p_ref or 0.0, point.output_power)
        else:
            (log.warning if state == "not settled" else log.info)(
                "lasing: R_p = %.3g × predicted threshold: %s after %.0f time units", rel, state, run_time)
        log.info("lasing: R_p = %.3g × threshold: %s, P = %.4g, λ = %.4f nm, %.0f time units (%d windows), "
                 "%.0f s elapsed", rel, state, point.output_power, point.wavelength_nm, run_time, len(means),
                 time.monotonic() - t_start)
    points.sort(key=lambda pt: pt.pump_rate_rel)
    info = {"resolution_px_per_um": pl.resolution, "cell_r_um": pl.cell_r_um, "pad_um": pl.pad_um,
            "pml_um": pl.pml_um, "flux_radius_um": r_flux, "seed_radius_um": pl.monitor_r_um,
            "passive_Q_fdtd": q_fdtd, "passive_Q_exact": prediction.gain.Q,
            "photon_lifetime": tau_c, "meep_version": mm.meep_version()}
    return LasingCurve(res, model, prediction, tuple(points), info)


def _flux_level(probe, e2_per_amp2, level_e2):
    """The lasing level in flux units before any run has lased: the expected film intensity at
    the highest pump rate, converted with this run's flux per film intensity."""
    film = np.asarray(probe.film[-50:])
    pw = np.asarray(probe.power[-50:])
    ratio = float(np.mean(pw) / np.mean(film)) if np.mean(film) > 0 else 0.0
    return abs(ratio) * level_e2
