"""The ``[losses]`` table: the losses no engine computes, added to every mode's Q budget.

Keys (all optional; without the table there are no extra losses)::

    [losses]
    roughness_nm = 2.5              # rms height σ of the outer surface's roughness (nm)
    correlation_length_nm = 5.0     # its correlation length B (nm); both or neither
    coupling_q = 1e5                # Q_c of the external coupling (taper, prism, substrate)
    [losses.interface.core]         # optional: the roughness of another interface, by the
    roughness_nm = 1.0              # name of the layer inside it ("core", "coating.0", ...)
    correlation_length_nm = 10.0

Surface scattering (:func:`sphere_scattering_q`) has a published closed form only for spheres
here; for a disk, ring or toroid a roughness is refused (:func:`scattering_q`).  The budget
itself is assembled by :mod:`wgm.records.budget`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from wgm.errors import ConfigError, UserError
from wgm.model import validate

__all__ = ["Roughness", "Losses", "parse_losses", "losses_to_dict", "sphere_scattering_q", "scattering_q",
           "SPHERE_SCATTERING_SOURCE"]

_ROUGH_KEYS = frozenset({"roughness_nm", "correlation_length_nm"})
_KEYS = _ROUGH_KEYS | {"coupling_q", "interface"}

SPHERE_SCATTERING_SOURCE = (
    "M. L. Gorodetsky, A. D. Pryamikov, V. S. Ilchenko, J. Opt. Soc. Am. B 17, 1051 (2000) "
    "(attribution as given by the task; the formula's text was checked only against a secondary "
    "source, Lin et al. via a public notebook, which labels this form 'Vernooy')")


@dataclass(frozen=True)
class Roughness:
    """A rough interface: rms height σ and correlation length B (nm), both > 0."""

    roughness_nm: float
    correlation_length_nm: float

    def __post_init__(self):
        object.__setattr__(self, "roughness_nm", validate.positive("roughness_nm", self.roughness_nm))
        object.__setattr__(self, "correlation_length_nm",
                           validate.positive("correlation_length_nm", self.correlation_length_nm))

    def to_dict(self) -> dict:
        return {"roughness_nm": self.roughness_nm, "correlation_length_nm": self.correlation_length_nm}


@dataclass(frozen=True)
class Losses:
    """The losses of the ``[losses]`` table.

    outer : Roughness or None
        Roughness of the outer surface (outermost layer / surroundings).
    interfaces : tuple of (str, Roughness)
        Roughness of inner interfaces, by the layer inside them (``"core"``, ``"coating.0"``...).
    coupling_q : float
        Q of the external coupling (``inf``: none).
    """

    outer: Roughness | None = None
    interfaces: tuple = ()
    coupling_q: float = math.inf

    def __post_init__(self):
        object.__setattr__(self, "coupling_q", validate.positive("losses.coupling_q", self.coupling_q,
                                                                 allow_inf=True))
        object.__setattr__(self, "interfaces", tuple((str(k), v) for k, v in self.interfaces))

    @property
    def any(self) -> bool:
        """True when the table adds a loss."""
        return self.outer is not None or bool(self.interfaces) or math.isfinite(self.coupling_q)

    def to_dict(self) -> dict:
        return losses_to_dict(self)


def _roughness(table: dict, where: str) -> Roughness | None:
    given = sorted(_ROUGH_KEYS & table.keys())
    if not given:
        return None
    if len(given) == 1:
        (other,) = _ROUGH_KEYS - set(given)
        raise ConfigError(f"{where}.{other}", None, f"is required together with {where}.{given[0]} (nm, > 0)")
    try:
        return Roughness(table["roughness_nm"], table["correlation_length_nm"])
    except ConfigError as exc:
        raise ConfigError(f"{where}.{exc.key}", exc.value, exc.allowed) from None


def parse_losses(table) -> Losses:
    """The ``[losses]`` table (see the module docstring); an unknown key or a bad value raises
    :class:`~wgm.errors.ConfigError` naming it."""
    if table is None:
        return Losses()
    if not isinstance(table, dict):
        raise ConfigError("losses", table, "must be a table [losses]")
    validate.check_keys(table, _KEYS, "losses")
    interfaces = []
    inter_t = table.get("interface", {})
    if not isinstance(inter_t, dict):
        raise ConfigError("losses.interface", inter_t, "must be tables [losses.interface.<layer>]")
    flat = {}
    for name, sub in inter_t.items():  # [losses.interface.coating.0] parses as {"coating": {"0": {...}}}
        if name == "coating" and isinstance(sub, dict) and sub and all(str(k).isdigit() for k in sub):
            flat.update({f"coating.{k}": v for k, v in sub.items()})
        else:
            flat[name] = sub
    for name, sub in flat.items():
        where = f"losses.interface.{name}"
        if not (name == "core" or (name.startswith("coating.") and name[8:].isdigit())):
            raise ConfigError(where, sub, 'a layer name: "core" or "coating.<i>" (the interface outside it)')
        if not isinstance(sub, dict):
            raise ConfigError(where, sub, "must be a table with roughness_nm and correlation_length_nm")
        validate.check_keys(sub, _ROUGH_KEYS, where)
        rough = _roughness(sub, where)
        if rough is None:
            raise ConfigError(f"{where}.roughness_nm", None, "is required (nm, > 0)")
        interfaces.append((name, rough))
    coupling = table.get("coupling_q", math.inf)
    if isinstance(coupling, str) and coupling.lower() == "inf":
        coupling = math.inf
    if isinstance(coupling, bool) or not isinstance(coupling, (int, float)) or not coupling > 0:
        raise ConfigError("losses.coupling_q", coupling, "the Q of the external coupling, a number > 0 (inf: none)")
    return Losses(_roughness(table, "losses"), tuple(interfaces), coupling)


def losses_to_dict(losses: Losses) -> dict:
    """The ``[losses]`` table of ``losses`` (empty when it adds nothing)."""
    d: dict = {}
    if losses.outer is not None:
        d.update(losses.outer.to_dict())
    if math.isfinite(losses.coupling_q):
        d["coupling_q"] = losses.coupling_q
    if losses.interfaces:
        d["interface"] = {name: r.to_dict() for name, r in losses.interfaces}
    return d


def sphere_scattering_q(wavelength_nm: float, diameter_um: float, index: float, roughness: Roughness) -> float:
    """Surface-scattering Q of a sphere's WGMs,

        Q_ss = 3 ε (ε + 2)² λ^{7/2} D^{1/2} / [(4π)³ (ε − 1)^{5/2} σ² B²],   ε = n²

    (``λ`` the wavelength, ``D`` the diameter, ``σ`` the rms roughness, ``B`` its correlation
    length, ``n`` the sphere's index; a sphere in vacuum).  Source: see
    :data:`SPHERE_SCATTERING_SOURCE`.  ``index`` is the index relative to the surroundings and
    ``wavelength_nm`` the wavelength in the surroundings (the caller's extension to a medium).
    """
    if not index > 1:
        raise UserError(f"surface scattering: the formula needs an index above the surroundings' (got relative "
                        f"index {index:g})")
    eps = index ** 2
    lam = wavelength_nm * 1e-9  # metres; the formula is dimensionless (λ^{7/2} D^{1/2} / (σ² B²))
    d = diameter_um * 1e-6
    s = roughness.roughness_nm * 1e-9
    b = roughness.correlation_length_nm * 1e-9
    return 3 * eps * (eps + 2) ** 2 * lam ** 3.5 * d ** 0.5 / ((4 * math.pi) ** 3 * (eps - 1) ** 2.5 * s ** 2 * b ** 2)


def scattering_q(resonator, losses: Losses, wavelength_nm: float) -> float:
    """``Q_ss`` of ``resonator`` at ``wavelength_nm`` (``inf`` without roughness).

    Sphere: :func:`sphere_scattering_q` with the outermost layer's index (relative to the
    surroundings) and outer diameter; a coated sphere's is an approximation (the formula is for a
    homogeneous sphere).  An inner interface's roughness (``losses.interface``) uses the same
    formula with that interface's diameter, the ratio of its two indices (higher over lower) and
    the wavelength in the lower-index side, a cruder approximation (it ignores the field's
    strength at that interface).  Other shapes: refused (no published
    closed form could be verified here).
    """
    if losses.outer is None and not losses.interfaces:
        return math.inf
    shape = resonator.shape
    if getattr(shape, "kind", "") != "sphere":
        key = "losses.roughness_nm" if losses.outer is not None else f"losses.interface.{losses.interfaces[0][0]}"
        raise UserError(f"{key}: surface scattering is modelled for spheres only, not for a {shape.kind} "
                        "(no verified closed form for a sidewall); remove the roughness keys")
    layers = resonator.layers()
    lam = wavelength_nm
    inv = 0.0
    outside = resonator.surroundings.n_at(lam).real
    if losses.outer is not None:
        outer = layers[-1]
        rel = outer.material.n_at(lam).real / outside
        if not rel > 1:
            raise ConfigError("losses.roughness_nm", losses.outer.roughness_nm,
                              f"surface scattering needs the outer layer's index above the surroundings' (relative "
                              f"index {rel:.4g} at {lam:.1f} nm)")
        inv += 1 / sphere_scattering_q(lam / outside, 2 * outer.outer_radius_um, rel, losses.outer)
    for name, rough in losses.interfaces:
        i = 0 if name == "core" else 1 + int(name.split(".")[1])
        if i >= len(layers):
            raise UserError(f"losses.interface.{name}: the resonator has no layer '{name}'")
        n_in = layers[i].material.n_at(lam).real
        n_out = layers[i + 1].material.n_at(lam).real if i + 1 < len(layers) else outside
        n_lo, n_hi = sorted((n_in, n_out))  # the formula's sphere is the denser side, its "vacuum" the other
        if not n_hi > n_lo:
            raise ConfigError(f"losses.interface.{name}", rough.roughness_nm,
                              f"surface scattering needs different indices on the two sides ({n_lo:.4g} at {lam:.1f} nm)")
        inv += 1 / sphere_scattering_q(lam / n_lo, 2 * layers[i].outer_radius_um, n_hi / n_lo, rough)
    return 1 / inv if inv > 0 else math.inf
