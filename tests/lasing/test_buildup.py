"""The short-pulse build-up prediction (wgm.lasing.buildup) against closed forms."""

from __future__ import annotations

import math

import pytest

from wgm import units
from wgm.lasing.buildup import (buildup_time, first_crossing, gain_window_end, inversion_at, mode_growth_rate_per_ps,
                                net_gain, two_level_growth_rate)
from wgm.lasing.two_level import TwoLevelGain, lasing_resonator, predict_lasing_threshold
from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Coating, Disk, Resonator

# the quadratures and root searches are converged far below this (tolerances 1e-10 inside)
NUMERIC_TOL = 1e-7

A, X_TH, TAU = 1.2, 0.3, 5.0   # a linear growth curve r = A (x/x_th − 1): rate 1/ps, lifetime ps


def linear(x):
    return A * (x / X_TH - 1.0)


def closed_net_gain(x0, t, floor=0.0):
    # ∫₀^t A((floor + (x0 − floor) e^{−s/τ})/x_th − 1) ds
    return A * ((floor / X_TH - 1.0) * t + (x0 - floor) / X_TH * TAU * (1 - math.exp(-t / TAU)))


@pytest.mark.parametrize("floor", [0.0, -1.0])
def test_gain_window_and_peak_against_closed_form(floor):
    x0 = 3 * X_TH
    t_end = gain_window_end(linear, TAU, x0, floor)
    assert t_end == pytest.approx(TAU * math.log((x0 - floor) / (X_TH - floor)), rel=NUMERIC_TOL)
    assert inversion_at(t_end, TAU, x0, floor) == pytest.approx(X_TH, rel=NUMERIC_TOL)
    assert net_gain(linear, TAU, x0, t_end, floor) == pytest.approx(closed_net_gain(x0, t_end, floor), rel=NUMERIC_TOL)


def test_buildup_time_solves_the_integral():
    x0 = 3 * X_TH
    target = 0.8 * closed_net_gain(x0, gain_window_end(linear, TAU, x0))
    tb = buildup_time(linear, TAU, x0, target)
    assert closed_net_gain(x0, tb) == pytest.approx(target, rel=NUMERIC_TOL)
    # from a later start the integral starts there: ∫_{t0}^{tb} r = target
    t0 = 0.4
    tb0 = buildup_time(linear, TAU, x0, 0.5 * target, start=t0)
    assert closed_net_gain(x0, tb0) - closed_net_gain(x0, t0) == pytest.approx(0.5 * target, rel=NUMERIC_TOL)


def test_constant_rate_and_no_buildup():
    assert buildup_time(lambda x: 2.0, TAU, 0.5, math.log(100)) == pytest.approx(math.log(100) / 2.0, rel=NUMERIC_TOL)
    assert gain_window_end(lambda x: 2.0, TAU, 0.5) == math.inf
    x0 = 3 * X_TH
    peak = closed_net_gain(x0, gain_window_end(linear, TAU, x0))
    assert buildup_time(linear, TAU, x0, 1.01 * peak) is None      # peaks below the level
    assert buildup_time(linear, TAU, 0.9 * X_TH, 1e-3) is None      # below threshold: decays
    with pytest.raises(ValueError):
        buildup_time(linear, TAU, x0, 0.0)


def test_first_crossing_interpolates():
    assert first_crossing([0.0, 1.0, 2.0], [0.0, 1.0, 3.0], 2.0) == pytest.approx(1.5)
    assert first_crossing([0.0, 1.0], [0.0, 1.0], 2.0) is None


# the example's 2-D disk (sims/lasing_disk.toml): TE1 m = 15 at 543.34 nm, Q 2974
RES = Resonator(Disk(0.7, math.inf, ConstantIndex(1.46)), (Coating(0.2, ConstantIndex(1.8)),), ConstantIndex(1.0))
MODEL = TwoLevelGain(m=15, transition_wavelength_nm=543.34, linewidth_nm=20.0, full_inversion_gain_per_cm=230.0)


def test_exact_growth_rate_limits():
    pred = predict_lasing_threshold(RES, MODEL)
    frozen = lasing_resonator(RES, MODEL).resonator
    # no gain: the passive decay rate ω/Q
    r0, _ = mode_growth_rate_per_ps(frozen, "coating", "TE", 15, 1, 0.0)
    omega = units.rate_per_ps(2 * math.pi * units.freq_from_wavelength_nm(pred.gain.wavelength_nm))
    assert r0 == pytest.approx(-omega / pred.gain.Q, rel=1e-6)
    # the exact threshold gain: zero growth (relative to the passive rate)
    r_th, _ = mode_growth_rate_per_ps(frozen, "coating", "TE", 15, 1, pred.gain.threshold_gain_per_cm)
    assert abs(r_th) < 1e-6 * abs(r0)
    # the two-level curve crosses zero at the predicted threshold inversion
    r = two_level_growth_rate(RES, MODEL, pred)
    assert abs(r(pred.inversion_threshold)) < 1e-5 * abs(r0)
    assert r(0.0) == pytest.approx(r0, rel=1e-6)


def test_cli_pulsed_refuses_bad_inversions(capsys):
    """`wgm lasing --pulsed`: inversions beyond full inversion or not numbers are user mistakes
    (exit 2, one line), found before any FDTD run."""
    from pathlib import Path

    import wgm.cli as cli

    cfg = Path(__file__).resolve().parents[2] / "sims" / "lasing_disk.toml"
    assert cli.main(["lasing", str(cfg), "--pulsed", "0.8,abc"]) == 2
    assert "--pulsed" in capsys.readouterr().err
    assert cli.main(["lasing", str(cfg), "--pulsed", "100"]) == 2
    assert "full inversion" in capsys.readouterr().err
