"""The checks every config value goes through, written once.

Each function takes the full dotted config ``key`` (for the message), the ``value`` as read
(TOML data or a Python argument) and returns it converted (``float`` / ``int`` / ...), or
raises :class:`~wgm.errors.ConfigError` naming the key, the value and what is allowed.
Booleans are never numbers here (TOML ``true`` is not ``1``).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import MISSING
from collections.abc import Iterable

from wgm.errors import ConfigError, did_you_mean

__all__ = ["number", "positive", "integer", "fraction", "choice", "check_keys", "field_names", "from_table"]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def number(key: str, value, *, allow_inf: bool = False) -> float:
    """A finite real number (``inf`` too with ``allow_inf``; the TOML string ``"inf"`` is
    accepted there, as JSON has no infinity)."""
    if value is None:
        raise ConfigError(key, None, "is required")
    if allow_inf and isinstance(value, str) and value.strip().lower() in ("inf", "+inf"):
        return math.inf
    if not _is_number(value):
        raise ConfigError(key, value, "must be a number")
    value = float(value)
    if math.isnan(value) or (math.isinf(value) and not (allow_inf and value > 0)):
        raise ConfigError(key, value, "must be a finite number")
    return value


def positive(key: str, value, *, allow_inf: bool = False, allow_zero: bool = False) -> float:
    """A number > 0 (>= 0 with ``allow_zero``), finite unless ``allow_inf`` (the 2-D limit)."""
    if allow_inf and isinstance(value, str) and value.strip().lower() in ("inf", "+inf"):
        return math.inf
    if allow_inf:
        allowed = "must be a number > 0 (inf for the 2-D limit)"
    else:
        allowed = "must be a finite number " + (">= 0" if allow_zero else "> 0")
    if value is None:
        raise ConfigError(key, None, "is required; " + allowed[len("must be "):])
    if not _is_number(value):
        raise ConfigError(key, value, allowed)
    value = float(value)
    low_ok = value >= 0 if allow_zero else value > 0
    if math.isnan(value) or not low_ok or (math.isinf(value) and not allow_inf):
        raise ConfigError(key, value, allowed)
    return value


def integer(key: str, value, *, minimum: int | None = None, maximum: int | None = None,
            meaning: str = "") -> int:
    """A whole number (not a float, not a bool) in ``[minimum, maximum]``; ``meaning`` is
    appended to the message (e.g. ``" (the azimuthal number of the lasing mode)"``)."""
    ok = isinstance(value, int) and not isinstance(value, bool)
    if ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return value
    if minimum is not None and maximum is not None:
        allowed = f"must be an integer from {minimum} to {maximum}"
    elif minimum is not None:
        allowed = f"must be an integer >= {minimum}"
    elif maximum is not None:
        allowed = f"must be an integer <= {maximum}"
    else:
        allowed = "must be an integer"
    raise ConfigError(key, value, allowed + meaning)


def fraction(key: str, value, *, low: float = 0.0, high: float = 1.0, high_open: bool = False) -> float:
    """A number in ``(low, high]`` (``(low, high)`` with ``high_open``)."""
    if not _is_number(value) or not math.isfinite(value) or not (
            low < value < high or (value == high and not high_open)):
        raise ConfigError(key, value, f"must be in ({low:g}, {high:g}{')' if high_open else ']'}")
    return float(value)


def choice(key: str, value, allowed: Iterable[str]) -> str:
    """One of ``allowed`` (with a did-you-mean suggestion)."""
    allowed = tuple(allowed)
    if value in allowed:
        return value
    hint = did_you_mean(value, allowed) if isinstance(value, str) else ""
    raise ConfigError(key, value, "allowed: " + ", ".join(repr(a) for a in allowed) + hint)


def check_keys(table, allowed: Iterable[str], where: str) -> dict:
    """``table`` must be a table (dict) whose keys are all in ``allowed``; returns it."""
    allowed = set(allowed)
    if not isinstance(table, dict):
        raise ConfigError(where, table, "must be a table with keys " + ", ".join(sorted(allowed)))
    for key in table:
        if key not in allowed:
            full = f"{where}.{key}" if where else key
            raise ConfigError(full, table[key],
                              f"unknown key{did_you_mean(key, allowed)}; allowed here: {', '.join(sorted(allowed))}")
    return table


def field_names(cls, *, exclude: Iterable[str] = ()) -> frozenset[str]:
    """The keys of a config table: the init fields of the dataclass it builds."""
    skip = set(exclude)
    return frozenset(f.name for f in dataclasses.fields(cls) if f.init and f.name not in skip)


def from_table(table, name: str, cls, *, defaults: dict | None = None):
    """``cls`` built from the config table ``[name]`` over ``defaults``: the allowed keys are
    the dataclass's fields, the required ones those without a default (not in ``defaults``).

    An absent table gives the dataclass's defaults, unless a field is required; a required
    field's ``metadata["doc"]`` says what it is in the error.  The values themselves are
    checked by the dataclass.
    """
    keys = field_names(cls)
    defaults = dict(defaults or {})
    required = [f for f in dataclasses.fields(cls) if f.init and f.default is MISSING
                and f.default_factory is MISSING and f.name not in defaults]
    if table is None:
        if required:
            f = required[0]
            raise ConfigError(name, None, f"a [{name}] table with at least {f.name} = ... is required "
                                          f"({f.name}: {f.metadata.get('doc', 'no default')})")
        table = {}
    check_keys(table, keys, name)
    for f in required:
        if f.name not in table:
            raise ConfigError(f"{name}.{f.name}", None, f"is required: {f.metadata.get('doc', 'no default')}")
    return cls(**{**defaults, **table})
