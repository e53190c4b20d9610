"""Pulsed pumping: single-mode rate equations for several modes that share one reservoir of
carriers (the excitons of the nanocrystal film), driven by the pump pulse of
:class:`~wgm.lasing.pump.TwoPhotonPump`.

Model (time in ps; Poisson occupancy of the nanocrystals assumed throughout):

* ``N`` = ⟨N⟩, excitons per nanocrystal; ``P1 = 1 − e^{−N}`` the share of crystals excited;
* carriers::

      dN/dt = G(t) − (N − P1)/τ_XX − P1/τ_X − Σ_m film_rate_m(N) S_m / n_nc

  (excitons beyond the first in a crystal decay with the Auger-limited τ_XX, a singly excited
  crystal with τ_X; each photon stimulated by the film removes one exciton, each one it
  absorbs adds one);
* photons in mode m::

      dS_m/dt = net_rate_m(N) S_m + β_m n_nc R_sp(N)

  with ``net_rate_m`` = 2 Im ω of the mode at excitation N minus its losses outside the solver
  (the photon-number growth rate; negative below threshold), and ``R_sp(N) = (QY/τ_X) N`` the
  film's spontaneous photon emission rate per crystal: every exciton radiates at the
  single-exciton radiative rate QY/τ_X (a choice: the radiative rate of a multi-exciton state
  is taken as that many single excitons; Auger makes its yield small anyway, and only the
  seed of the modes depends on it).

Threshold criterion (default, ``criterion="background"``): a mode lases when its output rises
above the spontaneous background within the gain window by the factor ``amplification``
(:data:`AMPLIFICATION` = 100): ``max_t S_m ≥ K · max_t B_m``, where the background ``B_m``
obeys the same photon equation with the mode's passive net rate, ``dB_m/dt = net_rate_m(0) B_m
+ β_m n_nc R_sp(N)`` (the spontaneous photons the mode would hold without amplification).  In
the CW limit (a long pulse) ``S/B = net(0)/net(N)``, so the criterion is met where the net loss
rate has fallen to 1/K of the passive one: the CW threshold to within 1/K of the passive loss
rate, whatever β n_nc.  The alternative ``criterion="photon"`` asks for a peak photon number
of ``photon_threshold`` (1: stimulated emission into the mode exceeds the spontaneous
emission into it), meaningful only where the spontaneous background stays ≪ 1 photon (high-Q
modes of large films fill with spontaneous photons below threshold: see
:func:`background_photons`).  The threshold fluence is the root in ``ln F``, every mode being
simulated together (the carriers are shared): the first mode to lase is the one with the
lowest fluence; the second one's threshold is then the fluence at which it starts with the
first one lasing.

Repetition: when the pulse period is not much longer than τ_X (residual excitation
``e^{−T/τ_X}`` above 10⁻⁹), pulses are repeated until the excitation left at the next pulse
is periodic; otherwise every pulse starts from an unexcited film.

Not modelled: the state-resolved occupancy (after a pulse the true distribution is not
Poisson: Auger empties multi-exciton states but keeps the excited share 1 − e^{−N₀} until τ_X,
which the Poisson closure does not), spatial hole burning and the film's non-uniform
excitation across the mode, spectral hole burning, thermal effects, excited-state absorption
beyond what ``net_rate`` contains, and the photon statistics below S ~ 1.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np

from wgm.lasing.pump import TwoPhotonPump

__all__ = ["ModeCurve", "Trajectory", "simulate", "peak_photons", "cw_threshold_excitation",
           "cw_threshold_generation_per_ps", "background_photons", "PulsedModeThreshold", "PulsedResult", "pulsed_thresholds",
           "CRITERION", "CRITERIA", "AMPLIFICATION"]

log = logging.getLogger(__name__)

AMPLIFICATION = 100.0
CRITERIA = {
    "background": "the mode's peak photon number during the pulse reaches {K:g}x the peak of its spontaneous "
                  "background (the photons spontaneous emission alone puts in the passive mode); all modes "
                  "simulated together",
    "photon": "the mode's peak photon number during the pulse reaches {P:g} (stimulated emission into the mode "
              "exceeds the spontaneous emission into it); all modes simulated together",
}
CRITERION = CRITERIA["background"].format(K=AMPLIFICATION)

# solver tolerances: the photon numbers are followed to 1e-8 relative, the carriers to 1e-12
# excitons per crystal absolute; the threshold root in ln F to 1e-7
_RTOL = 1e-8
_ATOL_N = 1e-12
_ATOL_S = 1e-12
_ROOT_XTOL = 1e-7
_PERIODIC_RESIDUAL = 1e-9   # e^{−T/τ_X} below this: pulses are independent
_PERIODIC_RTOL = 1e-6
_MAX_PULSES = 200
_BACKGROUND_SETTLE = 10.0   # passive photon lifetimes followed after the photons' peaks, for the background's
_BACKGROUND_WARN = 0.1      # spontaneous photons at half threshold above which the criterion is doubtful


def _positive_finite(name, value):
    v = float(value)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


@dataclass(frozen=True)
class ModeCurve:
    """One mode's photon-number rates versus the film's excitation (from the exact solver).

    ``excitation``: increasing grid of ⟨N⟩ (excitons per nanocrystal), starting at 0;
    ``net_rate_per_ps``: photon-number growth rate on the grid (2 Im ω minus the losses
    outside the solver; negative below threshold); ``film_rate_per_ps``: the film's net
    stimulated emission rate per photon (net rate + the loss rate of everything but the film's
    band-edge transition); ``beta``: the spontaneous-emission factor.  Between grid points the
    rates are interpolated monotonically (PCHIP); beyond the grid's end they stay at their last
    value (a warning is logged when a simulation gets there).
    """

    label: str
    wavelength_nm: float
    excitation: tuple[float, ...]
    net_rate_per_ps: tuple[float, ...]
    film_rate_per_ps: tuple[float, ...]
    beta: float

    def __post_init__(self):
        x = tuple(float(v) for v in self.excitation)
        net = tuple(float(v) for v in self.net_rate_per_ps)
        film = tuple(float(v) for v in self.film_rate_per_ps)
        if len(x) < 2 or x[0] != 0.0 or any(b <= a for a, b in zip(x, x[1:])):
            raise ValueError(f"mode {self.label}: excitation must be an increasing grid starting at 0")
        if len(net) != len(x) or len(film) != len(x):
            raise ValueError(f"mode {self.label}: net_rate_per_ps and film_rate_per_ps need one value per excitation")
        if not all(math.isfinite(v) for v in x + net + film):
            raise ValueError(f"mode {self.label}: rates must be finite")
        beta = float(self.beta)
        if not 0.0 <= beta <= 1.0:
            raise ValueError(f"mode {self.label}: beta must be in [0, 1], got {self.beta!r}")
        object.__setattr__(self, "excitation", x)
        object.__setattr__(self, "net_rate_per_ps", net)
        object.__setattr__(self, "film_rate_per_ps", film)
        object.__setattr__(self, "beta", beta)
        object.__setattr__(self, "wavelength_nm", _positive_finite("wavelength_nm", self.wavelength_nm))

    def to_dict(self) -> dict:
        return {"label": self.label, "wavelength_nm": self.wavelength_nm, "beta": self.beta,
                "excitation": list(self.excitation), "net_rate_per_ps": list(self.net_rate_per_ps),
                "film_rate_per_ps": list(self.film_rate_per_ps)}


class _Rates:
    """All modes' rates interpolated at once (one PCHIP when the modes share a grid)."""

    def __init__(self, modes):
        from scipy.interpolate import PchipInterpolator

        self.m = len(modes)
        self.grid_max = min(m.excitation[-1] for m in modes)
        same = all(m.excitation == modes[0].excitation for m in modes)
        groups = [modes] if same else [[m] for m in modes]
        self._f, self._top, self._last = [], [], []
        for grp in groups:
            cols = np.array([y for m in grp for y in (m.net_rate_per_ps, m.film_rate_per_ps)]).T
            self._f.append(PchipInterpolator(grp[0].excitation, cols, axis=0, extrapolate=False))
            self._top.append(grp[0].excitation[-1])
            self._last.append(cols[-1])

    def __call__(self, n: float):
        """(net rates, film rates) at excitation ``n`` (held at the grid's ends beyond it)."""
        n = max(float(n), 0.0)
        parts = [f(n) if n < top else last for f, top, last in zip(self._f, self._top, self._last)]
        v = parts[0] if len(parts) == 1 else np.concatenate(parts)
        return v[0::2], v[1::2]


@dataclass(frozen=True)
class Trajectory:
    """One simulated pulse: times (ps), excitation ⟨N⟩ and photon numbers (modes × times)."""

    t_ps: np.ndarray
    excitation: np.ndarray
    photons: np.ndarray
    initial_excitation: float          # residual carriers of earlier pulses
    pulses: int                        # pulses simulated to reach the periodic state (1: independent)
    background: np.ndarray | None = None   # spontaneous background of each mode (passive net rate)

    @property
    def peak_photons(self) -> np.ndarray:
        return self.photons.max(axis=1)

    @property
    def peak_background(self) -> np.ndarray:
        return self.background.max(axis=1)


def _kinetics(pump: TwoPhotonPump):
    return pump.biexciton_lifetime_ps, pump.exciton_lifetime_ns * 1e3, pump.quantum_yield


def _decay_rate(n, tau_xx, tau_x):
    p1 = -math.expm1(-n)
    return (n - p1) / tau_xx + p1 / tau_x


def _one_pulse(modes, rates, pump, n_nc, fluence, n_start, photons0, t_after_ps, samples):
    """Integrate one pulse from excitation ``n_start``: the pulse, then until every mode's net
    rate has fallen below zero for good (the peak is behind) or ``t_after_ps`` after it."""
    from scipy.integrate import solve_ivp

    tau_xx, tau_x, qy = _kinetics(pump)
    k_rad = qy / tau_x
    beta = np.array([m.beta for m in modes])
    lo, hi = pump.window_ps()
    big_g = pump.excitation_from_fluence(fluence) if fluence > 0 else 0.0
    norm = pump.pulse_ps / pump.shape_factor

    n_modes = len(modes)
    net0 = rates(0.0)[0]

    def rhs(t, y, pulse_on):
        n = y[0]
        s = y[1:1 + n_modes]
        b = y[1 + n_modes:]
        net, film = rates(n)
        g = 0.0
        if pulse_on and big_g > 0:
            g = big_g * float(pump_profile(t)) ** 2 * norm
        dn = g - _decay_rate(n, tau_xx, tau_x) - float(np.dot(film, s)) / n_nc
        spont = beta * n_nc * k_rad * max(n, 0.0)
        return np.concatenate(([dn], net * s + spont, net0 * b + spont))

    from wgm.lasing.pump import pulse_profile_per_ps

    def pump_profile(t):
        return pulse_profile_per_ps(pump.shape, pump.pulse_ps, t)

    y0 = np.concatenate(([n_start], photons0, photons0))
    atol = np.concatenate(([_ATOL_N], np.full(2 * len(modes), _ATOL_S)))
    ts, ys = [], []
    if big_g > 0:
        sol = solve_ivp(rhs, (lo, hi), y0, method="LSODA", args=(True,), rtol=_RTOL, atol=atol,
                        max_step=(hi - lo) / 200, dense_output=True)
        if not sol.success:
            raise RuntimeError(f"rate equations failed during the pulse: {sol.message}")
        tt = np.union1d(sol.t, np.linspace(lo, hi, samples))
        ts.append(tt)
        ys.append(sol.sol(tt))
        y0 = sol.y[:, -1]
        t0 = hi
    else:
        t0 = lo

    def falling(t, y, pulse_on):
        return float(np.max(rates(y[0])[0]))
    falling.terminal = True
    falling.direction = -1

    sol = solve_ivp(rhs, (t0, t0 + t_after_ps), y0, method="LSODA", args=(False,), rtol=_RTOL, atol=atol,
                    events=falling, dense_output=True)
    if not sol.success:
        raise RuntimeError(f"rate equations failed after the pulse: {sol.message}")
    tt = np.union1d(sol.t, np.linspace(t0, sol.t[-1], samples))
    ts.append(tt)
    ys.append(sol.sol(tt))
    # the photons are past their peaks; a background still rising (it relaxes at the passive
    # rate towards a level that falls with the carriers) peaks within a few passive lifetimes
    y_end = sol.y[:, -1]
    spont = beta * n_nc * k_rad * max(y_end[0], 0.0)
    if np.any(net0 * y_end[1 + n_modes:] + spont > 0) and sol.t[-1] < t0 + t_after_ps:
        extra = min(_BACKGROUND_SETTLE / float(np.min(np.abs(net0))), t0 + t_after_ps - sol.t[-1])
        sol = solve_ivp(rhs, (sol.t[-1], sol.t[-1] + extra), y_end, method="LSODA", args=(False,), rtol=_RTOL,
                        atol=atol, dense_output=True)
        if not sol.success:
            raise RuntimeError(f"rate equations failed after the pulse: {sol.message}")
        tt = np.linspace(sol.t[0], sol.t[-1], samples)[1:]
        ts.append(tt)
        ys.append(sol.sol(tt))
    t = np.concatenate(ts)
    y = np.concatenate(ys, axis=1)
    if float(np.max(y[0])) > rates.grid_max:
        log.warning("pulsed: the excitation reached %.3g, beyond the rate curves' grid (%.3g): rates held "
                    "at their last values", float(np.max(y[0])), rates.grid_max)
    return t, y


def _carriers_after(pump, n, t_ps):
    """⟨N⟩ left after ``t_ps`` of decay without pump and without stimulated emission."""
    from scipy.integrate import solve_ivp

    if n <= 0 or t_ps <= 0:
        return max(n, 0.0)
    tau_xx, tau_x, _ = _kinetics(pump)
    sol = solve_ivp(lambda t, y: [-_decay_rate(y[0], tau_xx, tau_x)], (0.0, t_ps), [n], method="LSODA",
                    rtol=1e-10, atol=1e-14)
    return max(float(sol.y[0, -1]), 0.0)


def simulate(modes, pump: TwoPhotonPump, n_nc: float, fluence_mj_per_cm2: float, *,
             initial_excitation: float | None = None, initial_photons=None, t_after_ps: float | None = None,
             samples: int = 400) -> Trajectory:
    """One pulse of the rate equations (module docstring) for ``modes`` (:class:`ModeCurve`)
    sharing the carriers of ``n_nc`` nanocrystals.

    ``initial_excitation``: the carriers at the pulse's start; ``None``: those left by earlier
    pulses (repeated to the periodic state when the period is not ≫ τ_X; 0 otherwise).
    ``initial_photons``: photons per mode at the start (default 0).  ``t_after_ps``: the longest
    time followed after the pulse (default 20 τ_XX + 20 photon lifetimes of the unexcited film);
    integration stops earlier once every mode's net rate falls below zero (the peaks are behind).
    """
    modes = tuple(modes)
    if not modes:
        raise ValueError("simulate needs at least one mode")
    n_nc = _positive_finite("n_nc", n_nc)
    rates = _Rates(modes)
    fluence = float(fluence_mj_per_cm2)
    if t_after_ps is None:
        slowest = max(1.0 / max(-float(rates(0.0)[0][i]), 1e-6) for i in range(len(modes)))
        t_after_ps = 20.0 * pump.biexciton_lifetime_ps + 20.0 * min(slowest, 1e4)
    photons0 = np.zeros(len(modes)) if initial_photons is None else np.asarray(initial_photons, dtype=float)
    if initial_excitation is not None:
        t, y = _one_pulse(modes, rates, pump, n_nc, fluence, float(initial_excitation), photons0, t_after_ps, samples)
        return _trajectory(t, y, float(initial_excitation), 1, len(modes))
    period = pump.period_ps
    _, tau_x, _ = _kinetics(pump)
    n_res, pulses = 0.0, 1
    t, y = _one_pulse(modes, rates, pump, n_nc, fluence, n_res, photons0, t_after_ps, samples)
    if math.exp(-period / tau_x) > _PERIODIC_RESIDUAL:
        for pulses in range(2, _MAX_PULSES + 1):
            nxt = _carriers_after(pump, float(y[0, -1]), period - (t[-1] - t[0]))
            if abs(nxt - n_res) <= _PERIODIC_RTOL * max(nxt, 1e-12):
                break
            n_res = nxt
            t, y = _one_pulse(modes, rates, pump, n_nc, fluence, n_res, photons0, t_after_ps, samples)
        else:
            log.warning("pulsed: no periodic state after %d pulses (residual ⟨N⟩ %.3g)", _MAX_PULSES, n_res)
    return _trajectory(t, y, n_res, pulses, len(modes))


def _trajectory(t, y, n_start, pulses, n_modes) -> Trajectory:
    return Trajectory(t, y[0], y[1:1 + n_modes], n_start, pulses, background=y[1 + n_modes:])


def peak_photons(modes, pump, n_nc, fluence_mj_per_cm2, **kw) -> np.ndarray:
    """Each mode's largest photon number during one (periodic) pulse."""
    return simulate(modes, pump, n_nc, fluence_mj_per_cm2, **kw).peak_photons


# ---------------------------------------------------------------------------------------
# CW limit

def cw_threshold_excitation(mode: ModeCurve) -> float | None:
    """The excitation at which the mode's net rate crosses zero (its CW threshold ⟨N⟩), or
    ``None`` if it stays negative on the grid."""
    from scipy.optimize import brentq

    rates = _Rates([mode])
    x, net = np.asarray(mode.excitation), np.asarray(mode.net_rate_per_ps)
    above = np.nonzero(net > 0)[0]
    if len(above) == 0:
        return None
    i = above[0]
    if i == 0:
        return 0.0
    return brentq(lambda n: float(rates(n)[0][0]), x[i - 1], x[i], xtol=1e-14, rtol=1e-13)


def cw_threshold_generation_per_ps(mode: ModeCurve, pump: TwoPhotonPump) -> float | None:
    """The constant generation (excitons per crystal per ps) that holds the carriers at the
    mode's CW threshold excitation: ``(N − P1)/τ_XX + P1/τ_X`` at the zero of the net rate."""
    n = cw_threshold_excitation(mode)
    if n is None:
        return None
    tau_xx, tau_x, _ = _kinetics(pump)
    return _decay_rate(n, tau_xx, tau_x)


# ---------------------------------------------------------------------------------------
# thresholds

@dataclass(frozen=True)
class PulsedModeThreshold:
    """One mode's pulsed threshold: the fluence (mJ/cm²) at which it meets the criterion
    (:data:`CRITERIA`) with every mode present, and the ⟨N⟩₀ that pulse creates; ``None``: not reached
    within the fluence range searched.  ``cw_threshold_excitation``: the zero of its net rate."""

    label: str
    wavelength_nm: float
    beta: float
    threshold_fluence_mj_per_cm2: float | None
    pulse_excitation: float | None            # ⟨N⟩₀ the threshold pulse creates
    cw_threshold_excitation: float | None
    background_photons: float | None = None   # spontaneous background at half the CW threshold ⟨N⟩

    def to_dict(self) -> dict:
        return {"label": self.label, "wavelength_nm": self.wavelength_nm, "beta": self.beta,
                "threshold_fluence_mj_per_cm2": self.threshold_fluence_mj_per_cm2,
                "pulse_excitation": self.pulse_excitation,
                "cw_threshold_excitation": self.cw_threshold_excitation,
                "background_photons": self.background_photons}


def background_photons(mode: ModeCurve, pump: TwoPhotonPump, n_nc: float) -> float | None:
    """The steady spontaneous background ``β n_nc R_sp(N)/(−net(N))`` of a mode at half its CW
    threshold excitation: the S = 1 criterion means "stimulated exceeds spontaneous" only if this
    is ≪ 1 (if it is not, S reaches 1 from spontaneous emission alone, below threshold)."""
    n_cw = cw_threshold_excitation(mode)
    if n_cw is None or n_cw == 0.0:
        return None
    net = float(_Rates([mode])(0.5 * n_cw)[0][0])
    k_rad = pump.quantum_yield / (pump.exciton_lifetime_ns * 1e3)
    return mode.beta * n_nc * k_rad * 0.5 * n_cw / -net


@dataclass(frozen=True)
class PulsedResult:
    """The pulsed thresholds of a set of modes sharing one film, ranked (lowest fluence first).

    ``first``: the mode that lases first; ``second_start_fluence_mj_per_cm2``: the fluence at
    which a second mode starts (with the first lasing); ``margin`` = second / first fluence."""

    pump: TwoPhotonPump
    n_nc: float
    modes: tuple[PulsedModeThreshold, ...]
    fluence_range_mj_per_cm2: tuple[float, float]
    criterion: str = field(default=CRITERION)
    photon_threshold: float | None = None
    amplification: float | None = AMPLIFICATION
    note: str = ""                            # how the inputs were made (e.g. how n_nc was counted)

    @property
    def lasing(self) -> tuple[PulsedModeThreshold, ...]:
        return tuple(m for m in self.modes if m.threshold_fluence_mj_per_cm2 is not None)

    @property
    def first(self) -> PulsedModeThreshold | None:
        return self.lasing[0] if self.lasing else None

    @property
    def second(self) -> PulsedModeThreshold | None:
        return self.lasing[1] if len(self.lasing) > 1 else None

    @property
    def second_start_fluence_mj_per_cm2(self) -> float | None:
        return None if self.second is None else self.second.threshold_fluence_mj_per_cm2

    @property
    def margin(self) -> float | None:
        if self.second is None:
            return None
        return self.second.threshold_fluence_mj_per_cm2 / self.first.threshold_fluence_mj_per_cm2

    def to_dict(self) -> dict:
        first, second = self.first, self.second
        return {"criterion": self.criterion, "photon_threshold": self.photon_threshold,
                "amplification": self.amplification, "note": self.note,
                "pump": self.pump.to_dict(), "n_nc": self.n_nc,
                "fluence_range_mj_per_cm2": list(self.fluence_range_mj_per_cm2),
                "modes": [m.to_dict() for m in self.modes],
                "first": None if first is None else first.label,
                "first_fluence_mj_per_cm2": None if first is None else first.threshold_fluence_mj_per_cm2,
                "second": None if second is None else second.label,
                "second_start_fluence_mj_per_cm2": self.second_start_fluence_mj_per_cm2,
                "margin": self.margin}


def pulsed_thresholds(modes, pump: TwoPhotonPump, n_nc: float, *, fluence_range_mj_per_cm2=None,
                      scan_points: int = 25, criterion: str = "background", amplification: float = AMPLIFICATION,
                      photon_threshold: float = 1.0, **kw) -> PulsedResult:
    """Every mode's pulsed threshold fluence (criterion: :data:`CRITERION`), the mode that lases
    first and the fluence at which a second one starts.

    The fluences searched default to those creating ⟨N⟩₀ from 10⁻³ to the end of the shortest
    rate grid (times the pulse length over τ_XX for pulses longer than τ_XX); a log-spaced scan of ``scan_points`` brackets each mode's first crossing of
    the criterion, refined by Brent's method in ``ln F``.  ``criterion``: ``"background"``
    (default: peak S ≥ ``amplification`` × peak of the spontaneous background) or ``"photon"``
    (peak S ≥ ``photon_threshold``; see :func:`background_photons` for when it means
    anything).  ``kw`` goes to :func:`simulate`.
    """
    from scipy.optimize import brentq

    modes = tuple(modes)
    labels = [m.label for m in modes]
    if len(set(labels)) != len(labels):
        raise ValueError("mode labels must be unique")
    if fluence_range_mj_per_cm2 is None:
        # a pulse longer than τ_XX holds ⟨N⟩ ≈ G τ at most, so it needs up to ⟨N⟩₀ ≈ N T/τ_XX
        top = min(m.excitation[-1] for m in modes) * max(1.0, pump.pulse_ps / pump.biexciton_lifetime_ps)
        fluence_range_mj_per_cm2 = (pump.fluence_from_excitation(1e-3 * top), pump.fluence_from_excitation(top))
    f_lo, f_hi = (float(v) for v in fluence_range_mj_per_cm2)
    if not 0 < f_lo < f_hi:
        raise ValueError(f"fluence range must be 0 < low < high, got {fluence_range_mj_per_cm2!r}")
    grid = np.geomspace(f_lo, f_hi, scan_points)
    if criterion not in CRITERIA:
        raise ValueError(f"criterion must be one of {sorted(CRITERIA)}, got {criterion!r}")
    if criterion == "background":
        level = math.log(_positive_finite("amplification", amplification))
    else:
        level = math.log(_positive_finite("photon_threshold", photon_threshold))

    def excess(f: float) -> np.ndarray:
        """ln(peak S) − ln(level · reference) per mode at fluence f (>= 0: lases)."""
        tr = simulate(modes, pump, n_nc, f, **kw)
        ref = np.log(np.maximum(tr.peak_background, 1e-300)) if criterion == "background" else 0.0
        return np.log(np.maximum(tr.peak_photons, 1e-300)) - ref - level

    logs = np.array([excess(f) for f in grid])
    out = []
    for i, m in enumerate(modes):
        col = logs[:, i]
        cross = np.nonzero(col >= 0)[0]
        fth = None
        if len(cross):
            j = cross[0]
            if j == 0:
                log.warning("pulsed: mode %s already lases at the lowest fluence searched (%.3g mJ/cm²)",
                            m.label, f_lo)
                fth = f_lo
            else:
                def g(lf, i=i):
                    return float(excess(math.exp(lf))[i])
                fth = math.exp(brentq(g, math.log(grid[j - 1]), math.log(grid[j]), xtol=_ROOT_XTOL))
        bg = background_photons(m, pump, n_nc)
        if criterion == "photon" and bg is not None and bg > _BACKGROUND_WARN:
            log.warning("pulsed: mode %s has %.3g photons of spontaneous background at half its CW threshold: "
                        "its threshold by the S = 1 criterion is set by spontaneous emission (β n_nc too large)",
                        m.label, bg)
        out.append(PulsedModeThreshold(m.label, m.wavelength_nm, m.beta, fth,
                                       None if fth is None else pump.excitation_from_fluence(fth),
                                       cw_threshold_excitation(m), bg))
    out.sort(key=lambda r: (r.threshold_fluence_mj_per_cm2 is None, r.threshold_fluence_mj_per_cm2 or 0.0,
                            r.wavelength_nm))
    text = CRITERIA[criterion].format(K=amplification, P=photon_threshold)
    return PulsedResult(pump, float(n_nc), tuple(out), (f_lo, f_hi), criterion=text,
                        photon_threshold=float(photon_threshold) if criterion == "photon" else None,
                        amplification=float(amplification) if criterion == "background" else None)
