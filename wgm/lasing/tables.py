"""The lasing config tables (``[gain]``, ``[pump]``, ``[lasing]``) into their dataclasses.

One reader for the three: the allowed keys are the dataclass's fields, the required ones
those without a default, and unknown keys are named with a suggestion.  One validator for
their numbers.
"""

from __future__ import annotations

import math
from dataclasses import MISSING, fields

from wgm.errors import ConfigError, did_you_mean

__all__ = ["table_keys", "from_table", "positive_number"]


def table_keys(cls) -> tuple[str, ...]:
    """The keys a table of ``cls`` may hold: its fields, in declaration order."""
    return tuple(f.name for f in fields(cls))


def from_table(table, name: str, cls, *, defaults: dict | None = None):
    """``cls`` built from the config table ``[name]`` over ``defaults``.

    An absent table gives the dataclass's defaults, unless a field without a default is
    neither in ``defaults`` nor in the table: then the table is required.  A required
    field's ``metadata["doc"]`` says what it is in the error.
    """
    keys = table_keys(cls)
    defaults = dict(defaults or {})
    required = [f for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
                and f.name not in defaults]
    if table is None:
        if required:
            f = required[0]
            raise ConfigError(name, None, f"a [{name}] table with at least {f.name} = ... is required "
                                          f"({f.name}: {f.metadata.get('doc', 'no default')})")
        table = {}
    if not isinstance(table, dict):
        raise ConfigError(name, table, "must be a table with keys " + ", ".join(sorted(keys)))
    for key in table:
        if key not in keys:
            raise ConfigError(f"{name}.{key}", table[key], f"unknown key{did_you_mean(key, keys)}; "
                              f"allowed here: {', '.join(sorted(keys))}")
    for f in required:
        if f.name not in table:
            raise ConfigError(f"{name}.{f.name}", None, f"is required: {f.metadata.get('doc', 'no default')}")
    return cls(**{**defaults, **table})


def positive_number(key: str, value, *, allow_zero: bool = False, allow_none: bool = False) -> float | None:
    """``value`` as a float if it is a finite number > 0 (``>= 0`` with ``allow_zero``; ``None``
    passes with ``allow_none``); else a :class:`ConfigError` naming ``key``.

    (The model's materials and shapes have validators of their own; one shared validator
    for every table belongs in ``wgm.config``.)
    """
    if value is None and allow_none:
        return None
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
    if not ok or value < 0 or (value == 0 and not allow_zero):
        raise ConfigError(key, value, "must be a positive number (finite, " + (">= 0)" if allow_zero else "> 0)"))
    return float(value)
