"""Numeric text tables: the one reader of every user table (``n, k`` files, measured spectra,
peak lists).

One set of rules (:func:`read_table`):

* the file is text (UTF-8, a byte-order mark allowed; a header in a legacy 8-bit encoding
  such as "µm" in Latin-1 is read too, the numbers being ASCII); binary data are refused;
* ``#`` starts a comment, anywhere on a line; blank lines are ignored;
* fields are separated by semicolons, else tabs, else commas, else white space (the first
  of these present on the line);
* lines before the first line of numbers are header lines and skipped (one that contains
  numbers is skipped with a warning, so that a mistyped first data line is not lost
  unnoticed); after it, every line must be numbers, with the same number of fields;
* numbers are parsed, never evaluated; a decimal comma (``1,5``) is refused with a hint, so
  are empty fields; ``nan`` and ``inf`` parse, and :meth:`TextTable.column` refuses them.

Every refusal is a one-line :class:`~wgm.errors.UserError` naming the file, the line and the
value.  Checks that depend on what the table means (column count, units, ordering) are the
callers'.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from wgm.errors import UserError

__all__ = ["TextTable", "read_table", "split_fields"]

log = logging.getLogger(__name__)

_NUMBER_RE = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(nan|inf|infinity)", re.IGNORECASE)
_DECIMAL_COMMA_RE = re.compile(r"[+-]?\d+,\d+")


@dataclass(frozen=True)
class TextTable:
    """The data lines of a text table.

    Attributes
    ----------
    source : str
        The file name as given, used in messages.
    line_numbers : tuple of int
        File line number (1-based) of each data row.
    fields : tuple of tuple of str
        The fields of each row as written (every row has ``n_columns`` of them, each a number).
    """

    source: str
    line_numbers: tuple[int, ...]
    fields: tuple[tuple[str, ...], ...]

    def __len__(self) -> int:
        return len(self.fields)

    @property
    def n_columns(self) -> int:
        """Fields per row (0 for a table without data)."""
        return len(self.fields[0]) if self.fields else 0

    def where(self, row: int) -> str:
        """``"FILE line N"`` of data row ``row``, the start of a message about it."""
        return f"{self.source} line {self.line_numbers[row]}"

    def column(self, col: int, what: str) -> np.ndarray:
        """Column ``col`` as floats; a value that is not finite is refused, naming ``what`` it is."""
        values = np.array([float(r[col]) for r in self.fields], dtype=float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            i = int(bad[0])
            raise UserError(f"{self.where(i)}: {what} {self.fields[i][col]} is not a finite number "
                            "(NaN or infinity)")
        return values


def split_fields(line: str) -> list[str]:
    """The fields of a (comment-free, stripped) line: split at semicolons, else tabs, else
    commas, else white space.  A comma-split field with white space inside means the line is
    white-space separated with decimal commas (``540 1,5``): it is split at white space."""
    for sep in (";", "\t", ","):
        if sep in line:
            fields = [f.strip() for f in line.split(sep)]
            if sep == "," and any(len(f.split()) > 1 for f in fields):
                return line.split()
            return fields
    return line.split()


def _text(path) -> tuple[str, str]:
    name = str(path)
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise UserError(f"{name}: cannot read the file ({exc.strerror or exc})") from None
    if b"\0" in raw:
        raise UserError(f"{name}: not a text file (binary data); export it as CSV or text")
    try:
        return name, raw.decode("utf-8-sig")
    except UnicodeDecodeError:  # a header in a legacy encoding ("µm", "λ"); the numbers are ASCII anyway
        return name, raw.decode("latin-1")


def read_table(path) -> TextTable:
    """Read the numeric rows of a text table (rules in the module docstring).

    Parameters
    ----------
    path : str or path-like
        The file.

    Returns
    -------
    TextTable
        Possibly without rows (an empty file, or only headers and comments): how many rows
        are needed is the caller's to say.

    Raises
    ------
    UserError
        The file cannot be read or is binary; after the first line of numbers, a line with a
        field that is not a number, an empty field, or another number of fields; a decimal
        comma anywhere.
    """
    name, text = _text(path)
    numbers: list[int] = []
    rows: list[tuple[str, ...]] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        fields = split_fields(line)
        comma = [f for f in fields if _DECIMAL_COMMA_RE.fullmatch(f)]
        if comma:  # "532,1" after splitting at semicolons, tabs or spaces: no header looks like that
            raise UserError(f"{name} line {lineno}: {comma[0]!r} is not a number "
                            "(decimal comma? use a decimal point)")
        numeric = [bool(_NUMBER_RE.fullmatch(f)) for f in fields]
        if all(numeric):
            if rows and len(fields) != len(rows[0]):
                raise UserError(f"{name} line {lineno}: {len(fields)} columns, but line {numbers[0]} has "
                                f"{len(rows[0])} (wrong column count)")
            numbers.append(lineno)
            rows.append(tuple(fields))
        elif rows:
            bad = fields[numeric.index(False)]
            raise UserError(f"{name} line {lineno}: " + (f"{bad!r} is not a number" if bad else
                                                         f"empty field in {line!r}"))
        elif any(numeric):  # before the data, with numbers in it: a header, or a mistyped first data line?
            log.warning("%s line %d: skipped as a header line, although it contains numbers: %r", name, lineno, line)
        else:
            log.debug("%s line %d: header %r", name, lineno, line)
    return TextTable(name, tuple(numbers), tuple(rows))
