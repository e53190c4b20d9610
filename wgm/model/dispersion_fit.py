"""Fit a material's ``n, k`` over a band with ``ε∞`` plus Lorentzian poles: the dispersive model
the FDTD engine simulates (:class:`~wgm.model.lorentz.LorentzMaterial`, Meep's convention).

Method (variable projection).  For fixed pole frequencies ``f_n`` and dampings ``γ_n``, ε is
linear in ``ε∞`` and the strengths ``σ_n``: those come from scipy's bounded linear least
squares (:func:`scipy.optimize.lsq_linear`), so they are always the best for the poles and
always within their bounds (``σ_n ≥ 0``: passive, unless the material has gain in the band).
The pole frequencies and dampings are found by :func:`scipy.optimize.least_squares` (trust
region reflective, with bounds: ``γ_n ≥ 0``, ``f_n`` below Meep's stability limit) on the
residual of that linear solve; several starts per added pole.  Separating the linear
parameters halves the nonlinear problem and removes its worst conditioning (strength against
position of a distant pole); both solvers are scipy's, bounded and well tested.

The residual is in ε, weighted pointwise so that one unit is the tolerance on ``n``
(``Re Δε ≈ 2n Δn``) and on ``k`` (``Im Δε ≈ 2n Δk``); the number of poles grows from 0 until
the largest ``|Δn|`` and ``|Δk|`` of the evaluated fit are within the tolerance
(:class:`FitTolerance`), or :data:`MAX_POLES` is reached.

Most of ε stays in ``ε∞``: Meep subpixel-smooths only the non-dispersive part at interfaces
and staircases the poles (measured: a silica disk's pole of strength 0.5, a quarter of ε,
shifted a line by +2.5e-3 at 56 px/µm against -0.9e-3 with the cap below).  Each pole's
strength is bounded by :data:`_MAX_POLE_SHARE` (5 %) of Re ε, and poles lie between the band's
lowest frequency (none below: fitting artefacts there would ring inside the Harminv window)
and :data:`POLE_REACH` times its highest, below Meep's stability limit.  Silica's three-term
Sellmeier (Malitson) comes out with one lossless pole, ``|Δn|`` 2.0e-5 over 545-600 nm (3.6e-6
over 544-566 nm), ε∞ 94 % of ε; the nanocrystal film (fill 0.5) with 4 poles over 545-600 nm
(``|Δn|`` 3.9e-5, ``|Δk|`` 3e-6); across its absorption edge (520-620 nm) no fit holds.

A :class:`~wgm.model.materials.ConstantIndex` stays a constant ``ε`` (``N = 0``); its ``k`` is
Meep's conductivity, exact at the band centre (``d_conductivity``; the FDTD engine's per-line
correction then takes its ``1/ω`` to first order, as the band-centre model's did).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from wgm import units
from wgm.errors import ConfigError
from wgm.model.lorentz import LorentzMaterial, LorentzPole
from wgm.model.materials import ConstantIndex, Material

__all__ = ["FitTolerance", "DispersionFit", "fit_material", "fit_or_refuse", "meep_pole_limit", "model_from_dict",
           "model_resonator",
           "MAX_POLES", "POLE_REACH"]

MAX_POLES = 4  # beyond four poles a failing fit is fitting the data's shape, not gaining accuracy
POLE_REACH = 4.0  # poles at most this many times the band's highest frequency (ε∞ keeps most of ε)
_SAMPLES = 161  # points over the band (uniform in frequency); features narrower than ~1/100 band are absent
_MAX_POLE_SHARE = 0.05  # a pole's strength σ_n at most this share of Re ε (Meep smooths only ε∞)
_STARTS = 3  # starts optimised per added pole (the best of the ranked grid)
_FIT_SHARE_N = 0.2  # share of the stated wavelength accuracy given to the fit of n
_Q_K = 1e4  # modes up to this Q are held to the stated Q accuracy by the fit alone (see FitTolerance)


def meep_pole_limit(resolution: float, courant: float = 0.5) -> float:
    """Meep's stability limit for a Lorentzian's frequency: ``f_n < 1/(π Δt)``, ``Δt = S/resolution``."""
    return resolution / (math.pi * courant)


@dataclass(frozen=True)
class FitTolerance:
    """The fit must hold ``|Δn| <= n`` and ``|Δk| <= k_rel k + k_abs`` at every point of the band.

    :meth:`from_accuracy` derives it from the accuracy stated for the FDTD lines.  A mode with
    all its energy in one material moves by ``δλ/λ ≈ Δn/n_g <= Δn`` (n_g >= 1): a fifth of the
    wavelength accuracy goes to the fit of n (the rest is the grid's; the lossless parts of real
    materials fit far better, silica to ~1e-5).  A fit error Δk changes ``1/Q`` by at most
    ``2 Δk/n_g``.  Relative to the mode's own ``1/Q`` -- at least ``2k/n_g`` when the material's
    loss limits it -- that is ``Δk/k``: ``k_rel = accuracy_q`` holds the Q of any mode the
    material's absorption limits; ``k_abs = accuracy_q / (2 Q_k)``, ``Q_k = 1e4``, the Q of modes
    up to ``Q_k`` limited by anything else (radiation, another layer).  Beyond ``Q_k`` the per-line
    first-order correction (the residual Δε at the line's frequency over its energy) carries the
    rest; its own error is second order in the residual.  An absorption edge's Urbach tail is not
    Lorentzian: across the edge no fit holds ``k_rel`` and the band is refused."""

    n: float
    k_rel: float
    k_abs: float

    @classmethod
    def from_accuracy(cls, accuracy_wavelength: float, accuracy_q: float) -> "FitTolerance":
        return cls(_FIT_SHARE_N * accuracy_wavelength, accuracy_q, accuracy_q / (2 * _Q_K))

    def k_tol(self, k):
        return self.k_rel * np.abs(k) + self.k_abs


@dataclass(frozen=True)
class DispersionFit:
    """The model of one material over one band, and how well it holds there."""

    material: str
    band_nm: tuple[float, float]
    n_poles: int
    max_dn: float
    max_dk: float
    tolerance: FitTolerance
    model: LorentzMaterial
    d_conductivity: float = 0.0  # Meep's conductivity (constant-index materials with k only)
    k_over_tolerance: float = 0.0  # max over the band of |Δk| / its tolerance there

    @property
    def held(self) -> bool:
        return self.max_dn <= self.tolerance.n and self.k_over_tolerance <= 1.0

    @property
    def eps_inf_share(self) -> float:
        """ε∞ / Re ε at the band centre (how much of ε Meep's subpixel smoothing sees)."""
        lam = 0.5 * (self.band_nm[0] + self.band_nm[1])
        return float(self.model.eps_inf / self.model.epsilon(units.freq_from_wavelength_nm(lam)).real)

    def to_dict(self) -> dict:
        return {"material": self.material, "band_nm": list(self.band_nm), "n_poles": self.n_poles,
                "max_dn": self.max_dn, "max_dk": self.max_dk, "tolerance_n": self.tolerance.n,
                "tolerance_k": f"{self.tolerance.k_rel:g} k + {self.tolerance.k_abs:g}",
                "eps_inf": self.model.eps_inf, "eps_inf_share": self.eps_inf_share,
                "poles": [{"frequency": p.frequency, "gamma": p.gamma, "sigma": p.sigma} for p in self.model.poles],
                "d_conductivity": self.d_conductivity}

    def describe(self) -> str:
        return (f"{self.material}: {self.n_poles} Lorentz pole(s) over {self.band_nm[0]:.1f}-{self.band_nm[1]:.1f} nm, "
                f"max |dn| {self.max_dn:.2g} (tolerance {self.tolerance.n:.2g}), max |dk| {self.max_dk:.2g} "
                f"(tolerance {self.tolerance.k_rel:g} k + {self.tolerance.k_abs:.2g}), eps_inf {self.model.eps_inf:.4g} "
                f"= {100 * self.eps_inf_share:.0f} % of Re eps")


def _grid(band_nm):
    f_lo, f_hi = units.freq_from_wavelength_nm(band_nm[1]), units.freq_from_wavelength_nm(band_nm[0])
    f = np.linspace(f_lo, f_hi, _SAMPLES)
    return f, units.wavelength_nm_from_freq(f)


def _basis(f, poles_fg):
    """Columns of ε's linear model: 1 (ε∞) and each pole's shape ``f0²/(f0² − f² − i f γ)``."""
    cols = [np.ones_like(f, dtype=complex)]
    for f0, g in poles_fg:
        cols.append(f0 * f0 / (f0 * f0 - f * f - 1j * f * g))
    return np.stack(cols, axis=1)


def _linear(f, eps, w_re, w_im, poles_fg, gain: bool, sigma_cap: float = np.inf):
    """(coefficients, weighted residual) of the bounded linear least squares for ε∞ and σ_n."""
    from scipy.optimize import lsq_linear

    with np.errstate(all="ignore"):
        A = _basis(f, poles_fg)
    if not np.all(np.isfinite(A)) or np.max(np.abs(A)) > 1e12:  # a lossless pole on a sample: unusable
        return np.r_[1.0, np.zeros(len(poles_fg))], np.full(2 * len(f), 1e30)
    M = np.vstack([A.real * w_re[:, None], A.imag * w_im[:, None]])
    b = np.concatenate([eps.real * w_re, eps.imag * w_im])
    lo = np.r_[1.0, np.full(len(poles_fg), -sigma_cap if gain else 0.0)]
    hi = np.r_[np.inf, np.full(len(poles_fg), sigma_cap)]
    sol = lsq_linear(M, b, bounds=(lo, hi), method="bvls" if M.shape[1] < 8 else "trf", tol=1e-14)
    return sol.x, M @ sol.x - b


def _model(coef, poles_fg, band_nm, name):
    poles = tuple(LorentzPole(float(f0), float(g), float(s)) for (f0, g), s in zip(poles_fg, coef[1:]))
    return LorentzMaterial(float(coef[0]), poles, (float(band_nm[0]), float(band_nm[1])), name=f"{name} (Lorentz fit)")


def _errors(model, nk_true, lam, tol: FitTolerance):
    nk = model.index(lam, outside="extrapolate")
    dn = np.abs(nk.real - nk_true.real)
    dk = np.abs(nk.imag - nk_true.imag)
    return float(dn.max()), float(dk.max()), float(np.max(dk / tol.k_tol(nk_true.imag)))


def fit_material(material: Material, band_nm, tolerance: FitTolerance, *, f_max: float | None = None,
                 max_poles: int = MAX_POLES) -> DispersionFit:
    """The fewest Lorentz poles (0..max_poles) that hold ``material`` within ``tolerance`` over
    ``band_nm``, or the best ``max_poles`` fit (check :attr:`DispersionFit.held`).

    ``f_max``: the highest pole frequency allowed (Meep's stability limit, see
    :func:`meep_pole_limit`); default :data:`POLE_REACH` times the band's highest frequency."""
    from scipy.optimize import least_squares

    band_nm = (float(band_nm[0]), float(band_nm[1]))
    name = getattr(material, "name", "material")
    f_c = 0.5 * (units.freq_from_wavelength_nm(band_nm[0]) + units.freq_from_wavelength_nm(band_nm[1]))
    if isinstance(material, ConstantIndex):
        eps = complex(material.n, material.k) ** 2
        sigma_d = 2 * math.pi * f_c * eps.imag / eps.real if eps.imag else 0.0
        model = LorentzMaterial(float(eps.real), (), band_nm, name=f"{name} (constant)", d_conductivity=sigma_d)
        return DispersionFit(name, band_nm, 0, 0.0, 0.0, tolerance, model, sigma_d)
    f, lam = _grid(band_nm)
    nk = material.index(lam)
    # the fit is judged on a 4x finer grid than it is made on (a narrow feature between samples counts)
    lam_check = units.wavelength_nm_from_freq(np.linspace(f[0], f[-1], 4 * (_SAMPLES - 1) + 1))
    nk_check = material.index(lam_check)
    eps = nk * nk
    gain = bool(np.any(nk.imag < 0))
    lossless = bool(np.all(nk.imag == 0))
    # weights: one unit of residual is the tolerance (Re Δε ≈ 2n Δn, Im Δε ≈ 2n Δk)
    w_re = 1.0 / (2 * nk.real * tolerance.n)
    w_im = 1.0 / (2 * nk.real * tolerance.k_tol(nk.imag))
    f_lo, f_hi = float(f[0]), float(f[-1])
    reach = POLE_REACH * f_hi if f_max is None else min(POLE_REACH * f_hi, f_max)
    f_min = f_lo  # no poles below the band: fitting artefacts there would ring in the Harminv window
    f_lossless = 1.01 * f_hi  # lossless poles stay off the band (a lossless pole in it is a singularity)
    g_max = 2.0 * f_hi
    cap = _MAX_POLE_SHARE * float(np.max(eps.real))  # each pole's strength: ε∞ keeps most of ε

    def greedy(seed, w_im, lossless, max_poles):
        """Add poles one at a time from ``seed``, each round continuing from its best fit; the
        best overall (score, n, model, dn, dk, k ratio, poles), score <= 1 when it holds."""
        best = None
        poles_fg = list(seed)
        for n_poles in range(len(seed), max_poles + 1):
            if n_poles == len(seed):
                cand = [(_linear(f, eps, w_re, w_im, poles_fg, gain, cap)[0], poles_fg)]
            else:
                cand = add_pole(poles_fg, w_im, lossless)
            round_best = None
            for coef, fg in cand:
                model = _model(coef, fg, band_nm, name)
                dn, dk, kr = _errors(model, nk_check, lam_check, tolerance)
                entry = (max(dn / tolerance.n, kr), n_poles, model, dn, dk, kr, fg)
                if round_best is None or entry[0] < round_best[0]:
                    round_best = entry
            if round_best is None:  # every start failed: no more poles on this path
                break
            poles_fg = list(round_best[6])
            if best is None or round_best[0] < best[0]:
                best = round_best
            if best[0] <= 1.0:
                break
        return best

    def add_pole(poles_fg, w_im, lossless):
        # starts: the new pole on a grid of frequencies (just off the band's edges to the reach)
        # and dampings, ranked by the cheap linear solve alone; the best few are optimised
        lo_f = f_lossless if lossless else f_min
        grid_f = np.unique(np.clip(np.r_[f_hi * np.array([1.003, 1.01, 1.03, 1.1, 1.3]),
                                         np.geomspace(1.5 * f_hi, reach, 4),
                                         np.linspace(f_lo, f_hi, 5)], lo_f, reach))
        grid_g = [0.0] if lossless else [0.0, 1e-3 * f_hi, 1e-2 * f_hi, 5e-2 * f_hi]
        ranked = []
        for s0 in grid_f:
            for g0 in grid_g:
                r = _linear(f, eps, w_re, w_im, poles_fg + [(s0, g0)], gain, cap)[1]
                if np.all(np.isfinite(r)):
                    ranked.append((float(r @ r), s0, g0))
        ranked.sort()
        cand = []
        per = 1 if lossless else 2
        lb_one = [lo_f, 0.0][:per]
        ub_one = [reach, g_max][:per]
        for _, s0, g0 in ranked[:_STARTS]:
            init = poles_fg + [(s0, g0)]
            lb = np.array(lb_one * len(init))
            ub = np.array(ub_one * len(init))
            x0 = np.array([v for fg in init for v in fg[:per]])
            x0 = np.clip(x0, lb + 1e-9 * f_hi, ub - 1e-9 * f_hi)

            def unpack(x, per=per):
                return [(x[i * per], x[i * per + 1] if per == 2 else 0.0) for i in range(len(x) // per)]

            def resid(x, unpack=unpack):
                return _linear(f, eps, w_re, w_im, unpack(x), gain, cap)[1]

            with np.errstate(all="ignore"):
                try:
                    sol = least_squares(resid, x0, bounds=(lb, ub), x_scale="jac", xtol=1e-12, ftol=1e-12,
                                        gtol=1e-12, max_nfev=200 * len(x0))
                except (ValueError, np.linalg.LinAlgError):
                    continue
            fg = unpack(sol.x)
            coef, _ = _linear(f, eps, w_re, w_im, fg, gain, cap)
            cand.append((coef, fg))
        return cand

    best = greedy([], w_im, lossless, max_poles)
    if best[0] > 1.0 and not lossless and max_poles >= 2:
        # a second path: n first (lossless poles above the band, k ignored), then lossy poles for k
        seed = greedy([], 0.0 * w_im, True, 2)[6]
        alt = greedy([(fg[0], 0.0) for fg in seed], w_im, False, max_poles)
        if alt[0] < best[0]:
            best = alt
    score, n_best, model, dn, dk, kr, _ = best
    # drop poles the fit left at zero strength (they cost Meep time and do nothing)
    kept = tuple(p for p in model.poles if p.sigma != 0.0)
    if len(kept) != len(model.poles):
        model = LorentzMaterial(model.eps_inf, kept, model.band_nm, name=model.name)
    return DispersionFit(name, band_nm, len(model.poles), dn, dk, tolerance, model, 0.0, kr)


def fit_or_refuse(material: Material, band_nm, tolerance: FitTolerance, key: str = "fdtd.wavelength_nm",
                  f_max: float | None = None) -> DispersionFit:
    """:func:`fit_material`, or :class:`ConfigError` naming a band around the same centre that
    the fit holds (found by bisection on the band's width)."""
    fit = fit_material(material, band_nm, tolerance, f_max=f_max)
    if fit.held:
        return fit
    lo, hi = band_nm
    centre, width = 0.5 * (lo + hi), hi - lo
    ok, bad = 0.0, width
    for _ in range(8):
        mid = 0.5 * (ok + bad)
        if fit_material(material, (centre - mid / 2, centre + mid / 2), tolerance, f_max=f_max).held:
            ok = mid
        else:
            bad = mid
    # a band in whole nm, inside the bisection's, checked (the fit's success is not strictly
    # monotonic in the width)
    a, b = math.ceil(centre - ok / 2), math.floor(centre + ok / 2)
    while b - a >= 1 and not fit_material(material, (a, b), tolerance, f_max=f_max).held:
        a, b = a + 1, b - 1
    hint = (f"a band of at most {b - a} nm around {centre:.0f} nm would work "
            f"(e.g. fdtd.wavelength_nm = [{a}, {b}])" if b - a >= 1
            else f"no band of 1 nm or more around {centre:.0f} nm would work")
    raise ConfigError(key, [lo, hi], f"the {fit.n_poles}-pole Lorentz fit of '{fit.material}' misses its n, k by up "
                      f"to |dn| {fit.max_dn:.2g}, |dk| {fit.max_dk:.2g} over {lo:g}-{hi:g} nm (tolerance |dn| <= "
                      f"{tolerance.n:.2g}, |dk| <= {tolerance.k_rel:g} k + {tolerance.k_abs:.2g}, from "
                      f"fdtd.accuracy_wavelength and accuracy_q); {hint}; or fdtd.materials = \"band-centre\"")


def model_from_dict(d: dict) -> LorentzMaterial:
    """The :class:`LorentzMaterial` of a :meth:`DispersionFit.to_dict` record, valid at every
    frequency (it is what Meep simulates everywhere, not only over the fitted band)."""
    poles = tuple(LorentzPole(float(p["frequency"]), float(p["gamma"]), float(p["sigma"])) for p in d["poles"])
    return LorentzMaterial(float(d["eps_inf"]), poles, (0.0, math.inf), name=f"{d['material']} (Lorentz fit)",
                           d_conductivity=float(d.get("d_conductivity", 0.0)))


def model_resonator(res, fits) -> "object":
    """``res`` with every material (layers by ``Layer.index``, then the surroundings, then the
    substrate: the order of ``FdtdPlan.media``) replaced by its fitted model (``fits``: the
    :meth:`DispersionFit.to_dict` records, e.g. ``ModeSpectrum.run_info["material_fits"]``):
    the resonator whose exact modes are what FDTD simulates."""
    from wgm.model.resonator import Resonator

    models = [model_from_dict(d) for d in fits]
    n_lay = len(res.layers())
    if len(models) != n_lay + 1 + (res.substrate is not None):
        raise ValueError(f"{len(models)} fits for {n_lay} layers, the surroundings and the substrate")
    layered = res.with_layer_materials({j: models[j] for j in range(n_lay)})
    return Resonator(layered.shape, layered.coatings, models[n_lay], models[n_lay + 1] if res.substrate else None)
