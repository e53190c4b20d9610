"""Lasing thresholds of a resonator whose gain region is a ``cspbbr3-nc`` nanocrystal film.

The film's one model (:mod:`wgm.model.nanocrystal`) gives its complex index at an excitation
⟨N⟩ per crystal, absorption, bleaching and gain included.  The threshold is the ⟨N⟩ at which
the mode's loaded frequency becomes real (``1/Q(⟨N⟩) + 1/Q_ss + 1/Q_c = 0``), the mode
followed in ⟨N⟩ from the passive one; nothing is cancelled or added by hand.  The exact solver
for spheres and the 2-D limit (:func:`film_threshold`, :func:`film_thresholds`), FEM for every
other axisymmetric shape (:func:`fem_film_threshold`, :func:`fem_film_thresholds`), and the
links to the pulsed rate equations (:func:`film_rates`, :func:`film_crystals`,
:func:`film_pulsed`).  Conventions and confinement factors: :mod:`wgm.lasing.threshold`, whose
primitives (the mode followed by continuation, its 1/Q, the confinement) this module uses.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq

from wgm.errors import SolverError
from wgm.lasing.threshold import (_MAX_HALVINGS, SkippedMode, _follow, _inv_q, _solve, confinement, extra_inv_q,
                                  group_index, region_indices, with_gain)
from wgm.model.resonator import Resonator
from wgm.units import cm_from_nm

__all__ = ["MAX_EXCITATION", "film_region", "at_excitation", "FilmThreshold", "film_threshold", "excitation_curve",
           "FilmLasingMode", "FilmThresholdResult", "film_thresholds", "film_threshold_vs_radius", "film_rates",
           "fem_film_threshold", "FemThresholdResult", "fem_film_thresholds", "film_crystals", "film_pulsed"]

log = logging.getLogger(__name__)

MAX_EXCITATION = 50.0
# the excitations at which a mode is followed until its growth rate changes sign: dense at
# low ⟨N⟩ where the band edge fills (transparency near 1.15), continuation-friendly steps
_EXCITATION_LADDER = (0.0, 0.05, 0.1, 0.2, 0.3, 0.45, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.5,
                      8.0, 10.0, 13.0, 16.0, 20.0, 25.0, 32.0, 40.0, MAX_EXCITATION)


def film_region(res: Resonator, region: str):
    """``{layer index: film}`` when every layer of ``region`` is a ``cspbbr3-nc`` film, else None."""
    from wgm.model.nanocrystal import film_of

    layers = res.layers()
    films = {j: film_of(layers[j].material) for j in res.region_layers(region)}
    if all(f is not None and f is layers[j].material for j, f in films.items()):
        return films
    return None


def at_excitation(res: Resonator, region: str, excitation: float) -> Resonator:
    """``res`` with the ``cspbbr3-nc`` films of ``region`` at ``excitation`` pairs per crystal."""
    from wgm.model.nanocrystal import with_excitation

    films = film_region(res, region)
    if films is None:
        raise SolverError(f"the gain region '{region}' is not a cspbbr3-nc film")
    return res.with_layer_materials({j: with_excitation(f, excitation) for j, f in films.items()})


class _ExcitationFollower:
    """One mode followed in the excitation ⟨N⟩ by continuation (Newton from the root at the
    nearest excitation already solved; a step Newton cannot follow is split in two)."""

    def __init__(self, res: Resonator, region: str, polarization: str, l: int, x0: complex):
        self.res, self.region, self.pol, self.l = res, region, polarization, l
        self.roots = {0.0: x0}

    def __call__(self, excitation: float, depth: int = 0) -> complex:
        if excitation in self.roots:
            return self.roots[excitation]
        near = min(self.roots, key=lambda n: abs(n - excitation))
        try:
            x = _follow(at_excitation(self.res, self.region, excitation), self.pol, self.l, self.roots[near])
        except SolverError:
            if depth >= _MAX_HALVINGS:
                raise
            self(0.5 * (near + excitation), depth + 1)
            return self(excitation, depth + 1)
        self.roots[excitation] = x
        return x


def _film_group_index(res: Resonator, region: str, wavelength_nm: float) -> tuple[float, float]:
    """(n, n_g) of the region's material at one wavelength (mean over its layers)."""
    return (float(np.mean([x.real for x in region_indices(res, region, wavelength_nm)])),
            group_index(res, region, wavelength_nm))


@dataclass(frozen=True)
class FilmThreshold:
    """The lasing threshold of one mode of a resonator whose gain region is a ``cspbbr3-nc``
    film: the excitation at which the mode's (loaded) frequency becomes real.

    ``threshold_gain_per_cm`` is the film's net material gain ``−4π k/λ`` at the threshold
    (excitation and wavelength); ``closed_form_gain_per_cm`` is ``2π n_g/(λ Q_rest Γ_pw)``
    with ``Q_rest`` the loaded Q of the passive mode without the film's extinction and
    ``Γ_pw = Γ_resp n_g/n`` (``Γ_resp``: response of ``1/Q`` to ``n → n(1 + iρ)`` in the
    film; ``n``, ``n_g``: the film's index and group index at the threshold), all taken at
    the operating point: the film at the threshold excitation with its extinction at the
    lasing wavelength removed (the real index keeps the pumped film's Kramers–Kronig change,
    which pulls the mode).  To first order in the film's extinction the two agree.  ``confinement`` (Γ_pw) is None where the film's
    group index is not positive (anomalous dispersion inside its absorption line): there Γ_pw
    is no share of anything.
    """

    polarization: str
    l: int
    radial_order: int
    wavelength_nm: float                   # passive mode
    Q: float                               # passive mode, intrinsic (radiation + absorption)
    region: str
    extra_inv_q: float                     # 1/Q_ss + 1/Q_c: losses the solver does not see
    threshold_excitation: float | None     # ⟨N⟩ per crystal; None: none up to MAX_EXCITATION
    threshold_wavelength_nm: float | None
    threshold_gain_per_cm: float | None    # net material gain of the film at threshold
    response_confinement: float
    rest_Q: float                          # loaded Q without the film's extinction
    film_index: float | None               # n of the film at threshold
    group_index: float | None              # n_g of the film at threshold
    confinement: float | None              # Γ_pw = Γ_resp n_g / n (None if n_g <= 0)
    closed_form_gain_per_cm: float | None  # 2π n / (λ Q_rest Γ_resp) = 2π n_g / (λ Q_rest Γ_pw)
    note: str = ""

    @property
    def loaded_Q(self) -> float:
        return 1.0 / (1.0 / self.Q + self.extra_inv_q)

    def to_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__} | {"loaded_Q": self.loaded_Q}


def film_threshold(res: Resonator, region: str, polarization: str, l: int, radial_order: int, *,
                   extra_inv_q: float = 0.0) -> FilmThreshold:
    """Threshold excitation of one mode (gain region: a ``cspbbr3-nc`` film), by the exact
    solver: the root in ⟨N⟩ of ``1/Q(⟨N⟩) + extra_inv_q`` (``extra_inv_q`` = 1/Q_ss + 1/Q_c,
    the losses outside the solver), the mode followed in ⟨N⟩ from the passive one."""
    from wgm.exact.characteristic import LayeredStack

    if film_region(res, region) is None:
        raise SolverError(f"the gain region '{region}' is not a cspbbr3-nc film")
    passive = _solve(res, polarization, l, radial_order)
    lam = passive.wavelength_nm
    follow = _ExcitationFollower(res, region, polarization, l, complex(*passive.size_parameter))

    def net(excitation: float) -> float:  # > 0: the mode grows
        return -(_inv_q(follow(excitation)) + extra_inv_q)

    stack = LayeredStack.from_resonator(res)
    n_th = lam_th = g_th = n_film = n_g = gam_pw = closed = None
    note = ""
    lo = 0.0
    if net(0.0) >= 0:
        n_th = 0.0
    else:
        for hi in _EXCITATION_LADDER[1:]:
            if net(hi) > 0:
                n_th = float(brentq(net, lo, hi, xtol=1e-10, rtol=1e-9))
                break
            lo = hi
    # the operating point: the film at the threshold excitation (passive if none), and the
    # same without the film's extinction at the mode's wavelength (Q_rest, Γ_resp there)
    state = res if n_th is None else at_excitation(res, region, n_th)
    x_state = follow(n_th if n_th is not None else 0.0)
    lam_state = float(stack.wavelength_nm(x_state.real))
    k_state = float(np.mean([x.imag for x in region_indices(state, region, lam_state)]))
    rest = with_gain(state, region, k_gain=k_state)
    rest_inv_q = _inv_q(_follow(rest, polarization, l, x_state)) + extra_inv_q
    gam = confinement(rest, region, polarization, l, radial_order)
    if n_th is None:
        note = f"no threshold up to ⟨N⟩ = {MAX_EXCITATION:g}: the film's gain never reaches this mode's losses"
    else:
        lam_th = lam_state
        g_th = -4 * math.pi * k_state / cm_from_nm(lam_th)
        n_film, n_g = _film_group_index(state, region, lam_th)
        if gam > 0:
            closed = 2 * math.pi * n_film / (cm_from_nm(lam_th) * gam) * rest_inv_q
        if n_g > 0 and gam > 0:
            gam_pw = gam * n_g / n_film
        else:
            note = (f"the film's group index at {lam_th:.2f} nm is {n_g:.3g} (anomalous dispersion): "
                    "Γ_pw is not defined there")
    return FilmThreshold(polarization=polarization, l=l, radial_order=radial_order, wavelength_nm=lam, Q=passive.Q,
                         region=region, extra_inv_q=extra_inv_q, threshold_excitation=n_th,
                         threshold_wavelength_nm=lam_th, threshold_gain_per_cm=g_th, response_confinement=gam,
                         rest_Q=1.0 / rest_inv_q if rest_inv_q > 0 else math.inf, film_index=n_film, group_index=n_g,
                         confinement=gam_pw, closed_form_gain_per_cm=closed, note=note)


def excitation_curve(res: Resonator, region: str, polarization: str, l: int, radial_order: int, excitations):
    """The mode's size parameter ``x = k0 R`` (complex) at each excitation of ``excitations``
    (increasing, from 0), followed from the passive mode."""
    passive = _solve(res, polarization, l, radial_order)
    follow = _ExcitationFollower(res, region, polarization, l, complex(*passive.size_parameter))
    return [follow(float(n)) for n in excitations]


@dataclass(frozen=True)
class FilmLasingMode:
    """A mode of a film-coated resonator, its threshold, and the pump fluence that gives it."""

    mode: object                               # Mode (passive)
    threshold: FilmThreshold
    fluence_mj_per_cm2: float | None = None    # pump fluence per pulse at the threshold excitation

    @property
    def can_lase(self) -> bool:
        return self.threshold.threshold_excitation is not None

    def to_dict(self) -> dict:
        d = self.mode.to_dict()
        t = self.threshold
        d.update({k: getattr(t, k) for k in ("threshold_excitation", "threshold_wavelength_nm",
                                             "threshold_gain_per_cm", "response_confinement", "confinement",
                                             "film_index", "group_index", "rest_Q", "closed_form_gain_per_cm")})
        d.update({"loaded_Q": t.loaded_Q, "threshold_fluence_mj_per_cm2": self.fluence_mj_per_cm2,
                  "can_lase": self.can_lase})
        if t.note:
            d["note"] = "; ".join(x for x in (d.get("note"), t.note) if x)
        return d


@dataclass(frozen=True)
class FilmThresholdResult:
    """Every mode of a search with its threshold excitation, ranked: lowest first.

    ``margin`` is the second mode's threshold excitation over the first's (how far the pump
    can be raised above the first threshold before a second mode starts, in ⟨N⟩; the pump
    fluence of two-photon pumping grows as its square root)."""

    resonator: Resonator
    search: object
    region: str
    modes: tuple[FilmLasingMode, ...]
    skipped: tuple[SkippedMode, ...] = ()
    pump: object = None
    pulsed: object = None                      # the rate-equation result, if computed

    @property
    def lasing(self) -> tuple[FilmLasingMode, ...]:
        return tuple(m for m in self.modes if m.can_lase)

    @property
    def first(self) -> FilmLasingMode | None:
        return self.lasing[0] if self.lasing else None

    @property
    def margin(self) -> float | None:
        las = self.lasing
        if len(las) < 2 or not las[0].threshold.threshold_excitation:
            return None
        return las[1].threshold.threshold_excitation / las[0].threshold.threshold_excitation

    def to_dict(self) -> dict:
        from wgm.config import Config, config_to_dict

        first = self.first
        d = {"config": config_to_dict(Config(self.resonator, self.search)), "model": "cspbbr3-nc film",
             "region": self.region, "modes": [m.to_dict() for m in self.modes],
             "skipped": [m.to_dict() for m in self.skipped],
             "first_to_lase": first.to_dict() if first is not None else None, "margin": self.margin}
        if self.pump is not None:
            d["pump"] = self.pump.to_dict()
        if self.pulsed is not None:
            d["pulsed"] = self.pulsed.to_dict()
        return d


def film_thresholds(res: Resonator, search, region: str, *, pump=None, losses=None) -> FilmThresholdResult:
    """Threshold excitation of every mode of ``search`` (exact solver), the film of ``region``
    being a ``cspbbr3-nc`` film; ``losses`` (the ``[losses]`` table) adds each mode's losses
    outside the solver (1/Q_ss + 1/Q_c), ``pump`` (a :class:`~wgm.lasing.pump.TwoPhotonPump`)
    gives the fluence of each threshold."""
    from wgm.exact.solver import solve
    from wgm.model.nanocrystal import emission_line_nm
    from wgm.records.emission import emission_figures

    films = film_region(res, region)
    if films is None:
        raise SolverError(f"the gain region '{region}' is not a cspbbr3-nc film")
    spectrum = solve(res, search)
    # β of each mode (the pulsed rate equations' spontaneous seed): the film's own line
    spectrum = emission_figures(spectrum, region, *emission_line_nm(next(iter(films.values()))))
    out, skipped = [], []
    for m in spectrum.modes:
        extra = extra_inv_q(res, losses, m.wavelength_nm)
        try:
            ft = film_threshold(res, region, m.polarization, m.l, m.radial_order, extra_inv_q=extra)
        except SolverError as exc:
            log.warning("threshold: %s l=%d q=%d (Q %.3g) skipped: %s", m.polarization, m.l, m.radial_order, m.Q, exc)
            skipped.append(SkippedMode(m.polarization, m.l, m.radial_order, m.wavelength_nm, m.Q, str(exc)))
            continue
        fluence = None
        if pump is not None and ft.threshold_excitation is not None:
            fluence = pump.fluence_from_excitation(ft.threshold_excitation)
        out.append(FilmLasingMode(m, ft, fluence))
    out.sort(key=lambda lm: (lm.threshold.threshold_excitation is None, lm.threshold.threshold_excitation or 0.0,
                             lm.mode.wavelength_nm))
    return FilmThresholdResult(res, search, region, tuple(out), tuple(skipped), pump=pump)


def film_threshold_vs_radius(res: Resonator, search, region: str, radii_um, *, pump=None,
                             losses=None) -> list[dict]:
    """For each core radius: the mode that lases first (lowest threshold excitation), its
    threshold, the pump fluence, and the margin to the second mode (one flat row each)."""
    from dataclasses import replace

    rows = []
    for r in radii_um:
        rr = replace(res, shape=replace(res.shape, radius_um=float(r)))
        result = film_thresholds(rr, search, region, pump=pump, losses=losses)
        diameter = 2 * float(r) + 2 * sum(c.thickness_um for c in res.coatings)
        row = {"radius_um": float(r), "diameter_um": diameter}
        first = result.first
        if first is not None:
            m, t = first.mode, first.threshold
            row.update({"polarization": m.polarization, "l": m.l, "radial_order": m.radial_order,
                        "wavelength_nm": t.threshold_wavelength_nm, "Q": t.loaded_Q, "confinement": t.confinement,
                        "threshold_excitation": t.threshold_excitation,
                        "threshold_gain_per_cm": t.threshold_gain_per_cm, "margin": result.margin})
        row["threshold_fluence_mj_per_cm2"] = None if first is None else first.fluence_mj_per_cm2
        rows.append(row)
    return rows


def film_rates(res: Resonator, region: str, polarization: str, l: int, radial_order: int, excitations, *,
               extra_inv_q: float = 0.0) -> dict:
    """The photon-number rates (1/ps) of one mode versus the film's excitation, for the rate
    equations (:mod:`wgm.lasing.pulsed`):

    * ``net_rate_per_ps``: ``2 Im ω − ω/Q_extra`` (= ``−ω/Q_loaded``; > 0 above threshold);
    * ``film_rate_per_ps``: the band-edge transition's share of it (net stimulated emission
      per photon: the net rate minus that of the mode with the film's band-edge line taken
      out, whose other losses stay);
    * ``wavelength_nm`` and ``omega_per_ps`` of the passive mode.
    """
    from wgm.exact.characteristic import LayeredStack
    from wgm.model.nanocrystal import without_band_edge
    from wgm.units import omega_rad_per_ps

    films = film_region(res, region)
    if films is None:
        raise SolverError(f"the gain region '{region}' is not a cspbbr3-nc film")
    xs = excitation_curve(res, region, polarization, l, radial_order, excitations)
    stack = LayeredStack.from_resonator(res)
    lam = float(stack.wavelength_nm(xs[0].real))
    omega = omega_rad_per_ps(lam)
    bare = res.with_layer_materials({j: without_band_edge(f) for j, f in films.items()})
    x_bare = _follow(bare, polarization, l, xs[0])
    base = -omega * (_inv_q(x_bare) + extra_inv_q)
    net = [-omega * (_inv_q(x) + extra_inv_q) for x in xs]
    return {"wavelength_nm": lam, "omega_per_ps": omega, "excitation": [float(n) for n in excitations],
            "net_rate_per_ps": net, "film_rate_per_ps": [r - base for r in net]}


# ----------------------------------------------------------------------------------------
# Shapes the exact solver cannot do: the same threshold (the excitation at which the loaded
# frequency becomes real) by the finite-element engine, one mode (one m) at a time.

_FEM_BRACKET = (0.1, 0.3, 1.0, 3.0, 10.0, MAX_EXCITATION)
_FEM_BAND_REL = 0.01          # each solve looks for the mode within ±1 % of its last wavelength
FEM_EXCITATION_XTOL = 1e-4    # relative tolerance of the threshold excitation (FEM solves are costly)


def _fem_mode_at(res, search, settings, mode, wavelength_nm: float):
    """The mode of the FEM solve of ``res`` nearest ``wavelength_nm`` with the labels of ``mode``."""
    from dataclasses import replace

    from wgm.fem import solve as fem_solve

    band = (wavelength_nm * (1 - _FEM_BAND_REL), wavelength_nm * (1 + _FEM_BAND_REL))
    sub = replace(search, wavelength_nm=band, polarizations=(mode.polarization,))
    spec = fem_solve(res, sub, replace(settings, m=(mode.m,), error_estimate=False))
    same = [m for m in spec.modes if m.m == mode.m and m.radial_order == mode.radial_order
            and (m.polar_order is None or mode.polar_order is None or m.polar_order == mode.polar_order)]
    if not same:
        raise SolverError(f"{mode.polarization} m={mode.m} q={mode.radial_order}: the mode was lost near "
                          f"{wavelength_nm:.3f} nm")
    return min(same, key=lambda m: abs(m.wavelength_nm - wavelength_nm))


def fem_film_threshold(res: Resonator, search, settings, mode, region: str, *, extra_inv_q: float = 0.0) -> dict:
    """Threshold excitation of one FEM mode (gain region: a ``cspbbr3-nc`` film) by the
    finite-element engine: the root in ⟨N⟩ of ``1/Q(⟨N⟩) + extra_inv_q``, each evaluation an
    FEM solve of the mode's m near its last wavelength (the film's index at the mode's own
    complex frequency, as FEM does for every dispersive material).  Returns a flat record."""
    if film_region(res, region) is None:
        raise SolverError(f"the gain region '{region}' is not a cspbbr3-nc film")
    last = {"lam": mode.wavelength_nm}
    seen: dict[float, object] = {0.0: mode}

    def f(n: float) -> float:
        if n not in seen:
            seen[n] = _fem_mode_at(at_excitation(res, region, n), search, settings, mode, last["lam"])
        last["lam"] = seen[n].wavelength_nm
        return 1.0 / seen[n].Q + extra_inv_q

    n_th, lo = None, 0.0
    if f(0.0) <= 0:
        n_th = 0.0
    else:
        for hi in _FEM_BRACKET:
            if f(hi) < 0:
                n_th = float(brentq(f, lo, hi, rtol=FEM_EXCITATION_XTOL, xtol=1e-6))
                break
            lo = hi
    rec = {"polarization": mode.polarization, "m": mode.m, "radial_order": mode.radial_order,
           "polar_order": mode.polar_order, "wavelength_nm": mode.wavelength_nm, "Q": mode.Q,
           "loaded_Q": 1.0 / (1.0 / mode.Q + extra_inv_q), "threshold_excitation": n_th,
           "threshold_wavelength_nm": None, "fem_solves": len(seen) - 1}
    if n_th is not None:
        at = seen.get(n_th) or _fem_mode_at(at_excitation(res, region, n_th), search, settings, mode, last["lam"])
        rec["threshold_wavelength_nm"] = at.wavelength_nm
    return rec


@dataclass(frozen=True)
class FemThresholdResult:
    """Every FEM mode of a search with its threshold excitation (flat records), lowest first."""

    resonator: Resonator
    search: object
    region: str
    modes: tuple[dict, ...]
    skipped: tuple[dict, ...] = ()
    pump: object = None

    @property
    def lasing(self) -> tuple[dict, ...]:
        return tuple(m for m in self.modes if m["threshold_excitation"] is not None)

    @property
    def margin(self) -> float | None:
        las = self.lasing
        if len(las) < 2 or not las[0]["threshold_excitation"]:
            return None
        return las[1]["threshold_excitation"] / las[0]["threshold_excitation"]

    def to_dict(self) -> dict:
        from wgm.config import Config, config_to_dict

        las = self.lasing
        d = {"config": config_to_dict(Config(self.resonator, self.search)), "model": "cspbbr3-nc film",
             "method": "fem", "region": self.region, "modes": list(self.modes), "skipped": list(self.skipped),
             "first_to_lase": las[0] if las else None, "margin": self.margin}
        if self.pump is not None:
            d["pump"] = self.pump.to_dict()
        return d


def fem_film_thresholds(res: Resonator, search, settings, region: str, *, pump=None,
                        losses=None) -> FemThresholdResult:
    """:func:`fem_film_threshold` for every mode FEM finds in ``search`` (the passive solve
    first), ranked by threshold excitation."""
    from dataclasses import replace

    from wgm.fem import solve as fem_solve

    if film_region(res, region) is None:
        raise SolverError(f"the gain region '{region}' is not a cspbbr3-nc film")
    spectrum = fem_solve(res, search, replace(settings, error_estimate=False))
    out, skipped = [], []
    for m in spectrum.modes:
        extra = extra_inv_q(res, losses, m.wavelength_nm)
        try:
            rec = fem_film_threshold(res, search, settings, m, region, extra_inv_q=extra)
        except SolverError as exc:
            log.warning("threshold (FEM): %s m=%d q=%s skipped: %s", m.polarization, m.m, m.radial_order, exc)
            skipped.append({"polarization": m.polarization, "m": m.m, "radial_order": m.radial_order,
                            "wavelength_nm": m.wavelength_nm, "Q": m.Q, "reason": str(exc)})
            continue
        n = rec["threshold_excitation"]
        rec["threshold_fluence_mj_per_cm2"] = (pump.fluence_from_excitation(n)
                                               if pump is not None and n is not None else None)
        out.append(rec)
    out.sort(key=lambda r: (r["threshold_excitation"] is None, r["threshold_excitation"] or 0.0, r["wavelength_nm"]))
    return FemThresholdResult(res, search, region, tuple(out), tuple(skipped), pump=pump)


# ----------------------------------------------------------------------------------------
# Pulsed pumping of the film's candidates (wgm.lasing.pulsed): the rates of each mode versus
# the excitation, its β, and the number of crystals in the film.

PULSED_CANDIDATES = 4          # the modes of lowest CW threshold simulated together
_CURVE_POINTS = 32             # excitations of each mode's rate curve (0 and a geometric ladder)
DEFAULT_EDGE_NM = 10.0         # crystal size for counting the crystals when edge_nm is not given
_HEIGHT_2D_UM = 1.0            # the 2-D limit: the film per µm of height


def film_crystals(res: Resonator, region: str) -> tuple[float, str]:
    """(number of nanocrystals in the region's film, how it was counted): film volume × fill
    fraction / edge³ (spheres: the shells; the 2-D limit: per µm of height)."""
    from wgm.units import NM3_PER_UM3

    films = film_region(res, region)
    if films is None:
        raise SolverError(f"the gain region '{region}' is not a cspbbr3-nc film")
    layers = res.layers()
    count, notes = 0.0, []
    for j, film in films.items():
        params = dict(film.params)
        edge = params.get("edge_nm") or DEFAULT_EDGE_NM
        if params.get("edge_nm") is None:
            notes.append(f"crystals counted as {DEFAULT_EDGE_NM:g} nm cubes (no edge_nm)")
        r_in, r_out = layers[j].inner_radius_um, layers[j].outer_radius_um
        if res.is_2d:
            vol = math.pi * (r_out ** 2 - r_in ** 2) * _HEIGHT_2D_UM
            notes.append(f"2-D limit: the film of {_HEIGHT_2D_UM:g} µm height")
        elif res.kind == "sphere":
            vol = 4.0 / 3.0 * math.pi * (r_out ** 3 - r_in ** 3)
        else:
            raise SolverError(f"counting the crystals of a {res.kind}'s film is not implemented")
        count += vol * NM3_PER_UM3 * film.fill_fraction / edge ** 3
    return count, "; ".join(dict.fromkeys(notes))


def film_pulsed(result: FilmThresholdResult, pump, *, candidates: int = PULSED_CANDIDATES, **kw):
    """The rate equations (:func:`wgm.lasing.pulsed.pulsed_thresholds`) for the ``candidates``
    modes of ``result`` with the lowest CW thresholds, sharing the film's carriers: each mode's
    rates versus ⟨N⟩ from the exact solver (:func:`film_rates`), its β from the emission
    figures (the film's emission line), the crystals counted by :func:`film_crystals`."""
    from wgm.lasing.pulsed import ModeCurve, pulsed_thresholds

    las = result.lasing[:candidates]
    if not las:
        return None
    res, region = result.resonator, result.region
    top = min(MAX_EXCITATION, max(2.0, 3.0 * max(lm.threshold.threshold_excitation for lm in las)))
    grid = (0.0,) + tuple(float(x) for x in np.geomspace(1e-3 * top, top, _CURVE_POINTS - 1))
    curves = []
    for lm in las:
        m = lm.mode
        r = film_rates(res, region, m.polarization, m.l, m.radial_order, grid, extra_inv_q=lm.threshold.extra_inv_q)
        beta = m.beta if getattr(m, "beta", None) is not None else 0.0
        curves.append(ModeCurve(f"{m.polarization}{m.radial_order} l={m.l}", r["wavelength_nm"], grid,
                                r["net_rate_per_ps"], r["film_rate_per_ps"], beta))
    from dataclasses import replace

    n_nc, how = film_crystals(res, region)
    note = "; ".join(x for x in (how, "each mode takes carriers from the whole film (the 2l+1 members of a sphere's "
                                      "multiplet and the modes' overlap with the film are not resolved): the "
                                      "second mode's start and the margin are estimates") if x)
    return replace(pulsed_thresholds(curves, pump, n_nc, **kw), note=note)
