"""The [gain], [pump] and [lasing] tables: one reader, keys derived from the dataclasses."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import pytest

from wgm.errors import ConfigError
from wgm.lasing import (GainSpectrum, TwoLevelGain, TwoPhotonPump, parse_gain, parse_lasing, parse_pump)
from wgm.model.validate import field_names, from_table

TABLES = [("gain", parse_gain, GainSpectrum), ("pump", parse_pump, TwoPhotonPump),
          ("lasing", lambda t: parse_lasing(t), TwoLevelGain)]


@pytest.mark.parametrize("name, parse, cls", TABLES)
def test_allowed_keys_are_the_fields(name, parse, cls):
    """An unknown key is refused with the list of allowed keys, which is the dataclass's fields."""
    table = {"m": 15} if cls is TwoLevelGain else {}
    with pytest.raises(ConfigError) as exc:
        parse({**table, "no_such_key": 1.0})
    assert exc.value.key == f"{name}.no_such_key"
    assert exc.value.allowed.endswith("allowed here: " + ", ".join(sorted(f.name for f in fields(cls))))


@pytest.mark.parametrize("record", [GainSpectrum(region="coating.0", peak_gain_per_cm=300.0),
                                    TwoPhotonPump(pulse_fs=50.0, transparency_excitons=0.0),
                                    TwoLevelGain(m=15, pump_rates_rel=(0.5, 2.0), max_time_ps=40.0)],
                         ids=lambda r: type(r).__name__)
def test_record_round_trips_through_its_table(record):
    """Every key ``to_dict`` writes is a key the table accepts, and it reads back the same record."""
    parse = {GainSpectrum: parse_gain, TwoPhotonPump: parse_pump, TwoLevelGain: parse_lasing}[type(record)]
    assert parse(record.to_dict()) == record


def test_a_new_field_is_a_new_key():
    """The reader knows no key list of its own: a field added to a dataclass is accepted, a field
    without a default is required (its ``doc`` metadata says what it is)."""

    @dataclass(frozen=True)
    class Table:
        size_um: float = field(metadata={"doc": "the size of the thing"})
        colour: str = "red"

    assert field_names(Table) == {"size_um", "colour"}
    assert from_table({"size_um": 2.0, "colour": "blue"}, "thing", Table) == Table(2.0, "blue")
    assert from_table(None, "thing", Table, defaults={"size_um": 1.0}) == Table(1.0)
    with pytest.raises(ConfigError, match=r"a \[thing\] table with at least size_um = \.\.\. is required "
                                          r"\(size_um: the size of the thing\)"):
        from_table(None, "thing", Table)
    with pytest.raises(ConfigError, match="is required: the size of the thing") as exc:
        from_table({"colour": "blue"}, "thing", Table)
    assert exc.value.key == "thing.size_um"
    with pytest.raises(ConfigError, match="must be a table with keys colour, size_um"):
        from_table([1, 2], "thing", Table)


def test_numbers_become_floats():
    """An integer in a table (``peak_gain_per_cm = 500``) is stored as a float, as in [lasing]."""
    assert type(parse_gain({"peak_gain_per_cm": 500}).peak_gain_per_cm) is float
    assert type(parse_pump({"pulse_fs": 100}).pulse_fs) is float
    with pytest.raises(ConfigError, match=">= 0") as exc:
        parse_pump({"transparency_excitons": -1})
    assert exc.value.key == "pump.transparency_excitons"
