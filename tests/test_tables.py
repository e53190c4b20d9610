"""The one text-table reader (wgm.tables) and its two users, the n,k files
(wgm.model.materials.read_nk_file) and the measurement files (wgm.experiment.spectra):
one set of rules for both, each caller's own checks on top."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from wgm.errors import UserError
from wgm.experiment.spectra import read_spectrum
from wgm.model.materials import read_nk_file
from wgm.tables import read_table, split_fields


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


def message(reader, path) -> str:
    with pytest.raises(UserError) as info:
        reader(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path))
    return msg


@pytest.mark.parametrize("line, fields", [
    ("540;1.5", ["540", "1.5"]),
    ("540; 1,5", ["540", "1,5"]),            # the decimal comma stays one field (refused later)
    ("540\t1,5", ["540", "1,5"]),
    ("540, 1.5, 0", ["540", "1.5", "0"]),
    ("540 1,5", ["540", "1,5"]),             # white space with decimal commas, not comma-separated
    ("  540   1.5 ", ["540", "1.5"]),
    ("540,,2", ["540", "", "2"]),
])
def test_split_fields(line, fields):
    assert split_fields(line.strip()) == fields


def test_read_table_rows_and_line_numbers(tmp_path):
    t = read_table(write(tmp_path, "t.csv", "\ufeff# comment\nwl,n\n\n500,2.0  # first\n# note\n510,1.9\n"))
    assert t.line_numbers == (4, 6) and t.fields == (("500", "2.0"), ("510", "1.9")) and t.n_columns == 2
    np.testing.assert_array_equal(t.column(1, "n"), [2.0, 1.9])
    assert len(read_table(write(tmp_path, "e.txt", "# nothing\n"))) == 0   # empty: the caller decides


@pytest.mark.parametrize("text, fragments", [
    ("500 2.0\n510 abc\n", ["line 2", "'abc' is not a number"]),
    ("500;2,0\n510;1,9\n", ["line 1", "'2,0'", "decimal comma"]),
    ("500\t2,0\n510\t1,9\n", ["line 1", "'2,0'", "decimal comma"]),
    ("500 2,0\n510 1,9\n", ["line 1", "'2,0'", "decimal comma"]),
    ("500,2.0\n510,,1.9\n", ["line 2", "empty field"]),
    ("500 2.0\n510 1.9 0\n", ["line 2", "3 columns", "line 1 has 2"]),
])
def test_both_readers_refuse_alike(tmp_path, text, fragments):
    """The same mistake gets the same message (file, line, value) from the n,k reader and the
    spectrum reader: one set of rules."""
    path = write(tmp_path, "bad.txt", text)
    for reader in (read_nk_file, read_spectrum):
        msg = message(reader, path)
        for f in fragments:
            assert f in msg, (reader.__name__, f, msg)


def test_nan_names_file_line_and_value(tmp_path):
    msg = message(read_nk_file, write(tmp_path, "nan.txt", "500 2.0\n510 nan\n520 2.0\n"))
    assert "line 2" in msg and "n nan" in msg and "not a finite number" in msg


def test_nk_decimal_comma_is_not_a_third_column(tmp_path):
    """Before the one reader, "500 2,5" was read as three columns (500, 2, 5): k = 5."""
    with pytest.raises(UserError, match="decimal comma"):
        read_nk_file(write(tmp_path, "dc.txt", "500 2,5\n600 2,4\n"))


def test_nk_header_with_numbers_is_skipped_with_a_warning(tmp_path, caplog):
    path = write(tmp_path, "hdr.txt", "film 3, 50 nm thick\nwavelength n k\n500 2.0 0.1\n600 1.9 0\n")
    with caplog.at_level(logging.WARNING):
        mat = read_nk_file(path)
    assert mat.n_at(500.0) == pytest.approx(2.0 + 0.1j)
    assert "line 1" in caplog.text and "50 nm thick" in caplog.text


def test_nk_semicolons_and_tabs(tmp_path):
    assert read_nk_file(write(tmp_path, "s.csv", "500;2.0;0.1\n600;1.9;0\n")).n_at(600.0) == pytest.approx(1.9)
    assert read_nk_file(write(tmp_path, "t.tsv", "lambda\tn\n500\t2.0\n600\t1.9\n")).n_at(500.0) == pytest.approx(2.0)


@pytest.mark.parametrize("text, unit, fragments", [
    ("500 2.0\n490 2.1\n", "nm", ["line 2", "wavelength 490 after 500", "increase strictly"]),
    ("-500 2.0\n490 2.1\n", "nm", ["line 1", "wavelength -500", "not positive"]),
    ("0.5 2.0\n0.6 1.9\n", "nm", ["0.5-0.6", "outside 50-100000 nm", "wavelength_unit = 'um'"]),
    ("500 2.0\n600 1.9\n", "um", ["500-600", "outside 0.05-100 um", "wavelength_unit = 'nm'"]),
    ("500 2.0 0.1 7\n510 2.0 0 1\n", "nm", ["line 1", "2 or 3 columns", "got 4"]),
    ("500 2.0\n", "nm", ["1 data row", "at least two rows"]),
])
def test_nk_checks_name_line_and_value(tmp_path, text, unit, fragments):
    path = write(tmp_path, "nk.txt", text)
    with pytest.raises(UserError) as info:
        read_nk_file(path, unit)
    for f in fragments:
        assert f in str(info.value), (f, str(info.value))


def test_nk_unreadable_and_binary(tmp_path):
    assert "cannot read" in message(read_nk_file, tmp_path / "missing.txt")
    binary = tmp_path / "nk.bin"
    binary.write_bytes(b"\x00\x01nk\x00" * 4)
    assert "not a text file" in message(read_nk_file, binary)
