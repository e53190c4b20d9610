"""Exceptions.  A :class:`UserError` is a mistake in the user's input: the CLI prints its
one-line message and exits with status 2, never a traceback."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["WgmError", "UserError", "ConfigError", "SolverError", "did_you_mean"]


class WgmError(Exception):
    """Base class of every error raised on purpose by ``wgm``."""


class UserError(WgmError, ValueError):
    """Bad input: a file, a key, a value.  The message says what is wrong and what is allowed."""


class ConfigError(UserError):
    """A configuration key has a bad value.

    Parameters
    ----------
    key : str
        Dotted key path, e.g. ``"resonator.coating.0.thickness_um"``.
    value : object
        The offending value (``None`` if the key is missing).
    allowed : str
        What is allowed instead.
    """

    def __init__(self, key: str, value: object, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        shown = "(missing)" if value is None else repr(value)
        super().__init__(f"{key} = {shown}: {allowed}")


class SolverError(WgmError, RuntimeError):
    """A numerical method failed in a way the input cannot explain."""


def did_you_mean(word: str, choices: Iterable[str]) -> str:
    """A ``" (did you mean 'x'?)"`` suffix, or ``""`` when nothing is close."""
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""
