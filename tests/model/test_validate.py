"""The shared value checks (wgm.model.validate): what they accept, convert and how they refuse."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pytest

from wgm.errors import ConfigError
from wgm.model import validate


def test_number_and_positive():
    assert validate.number("a.b", 3) == 3.0 and isinstance(validate.number("a.b", 3), float)
    assert validate.number("a.b", "inf", allow_inf=True) == math.inf
    assert validate.positive("a.b", "inf", allow_inf=True) == math.inf
    assert validate.positive("a.b", 0, allow_zero=True) == 0.0
    for bad, message in ((True, "a.b = True: must be a number"), ("2", "a.b = '2': must be a number"),
                         (None, "a.b = (missing): is required"), (math.nan, "a.b = nan: must be a finite number")):
        with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
            validate.number("a.b", bad)
    with pytest.raises(ConfigError, match=r"a.b = 0.0: must be a finite number > 0"):
        validate.positive("a.b", 0)
    with pytest.raises(ConfigError, match=r"a.b = inf: must be a finite number > 0"):
        validate.positive("a.b", math.inf)
    with pytest.raises(ConfigError, match=r"a.b = -1.0: must be a number > 0 \(inf for the 2-D limit\)"):
        validate.positive("a.b", -1, allow_inf=True)
    with pytest.raises(ConfigError, match=r"a.b = 'lots': must be a finite number > 0"):  # what is allowed, too
        validate.positive("a.b", "lots")


def test_integer_fraction_choice():
    assert validate.integer("q", 3, minimum=1) == 3
    for bad in (0, 2.0, True):
        with pytest.raises(ConfigError, match="must be an integer >= 1"):
            validate.integer("q", bad, minimum=1)
    with pytest.raises(ConfigError, match="must be an integer from 0 to 20"):
        validate.integer("p", 21, minimum=0, maximum=20)
    assert validate.fraction("f", 1) == 1.0
    with pytest.raises(ConfigError, match=r"f = 0: must be in \(0, 1\]"):
        validate.fraction("f", 0)
    with pytest.raises(ConfigError, match=r"s = 0.5: must be in \(0, 0.5\)"):
        validate.fraction("s", 0.5, high=0.5, high_open=True)
    assert validate.choice("m", "um", ("nm", "um")) == "um"
    with pytest.raises(ConfigError, match="allowed: 'nm', 'um' \\(did you mean 'nm'\\?\\)"):
        validate.choice("m", "nmm", ("nm", "um"))


def test_check_keys_and_field_names():
    @dataclass
    class T:
        alpha: float = 1.0
        beta_nm: float = 2.0

    keys = validate.field_names(T)
    assert keys == {"alpha", "beta_nm"}
    assert validate.check_keys({"alpha": 1}, keys, "t") == {"alpha": 1}
    with pytest.raises(ConfigError, match="t.alpah = 1: unknown key \\(did you mean 'alpha'\\?\\); "
                                          "allowed here: alpha, beta_nm"):
        validate.check_keys({"alpah": 1}, keys, "t")
    with pytest.raises(ConfigError, match="t = 3: must be a table"):
        validate.check_keys(3, keys, "t")
