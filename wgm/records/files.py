"""Writing result files: atomically (readers never see half a file), with the permissions the
user's umask gives a new file; CSV cells at full precision, strict JSON, HDF5 tables; one rule
for non-finite floats in all three (below), and readers that invert it.

The one place that knows how a result reaches the disk.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import secrets
from contextlib import contextmanager
from pathlib import Path

import numpy as np

# --------------------------------------------------------------------------------------
# The one rule for non-finite floats, in every file format:
#   * NaN is a missing value, like None: a blank CSV cell, JSON ``null``, NaN in an HDF5
#     number column; it reads back as None.
#   * ±inf is a value (an unbounded Q, an infinite height): ``"inf"`` / ``"-inf"`` in CSV
#     and in JSON (which has no infinity; config files write it so), ±inf in HDF5; it reads
#     back as ±inf.

_INF_TEXT = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf}


def plain_scalar(v):
    """One value by the rule: numpy scalars as Python scalars, NaN as None, ±inf as
    ``"inf"`` / ``"-inf"``; everything else unchanged."""
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return None if math.isnan(v) else ("inf" if v > 0 else "-inf")
    return v


def with_finite_floats(v):
    """Plain data (dicts, lists, tuples, numpy arrays) with every non-finite float written by
    the rule above: NaN as None, ±inf as ``"inf"`` / ``"-inf"``.  The result is valid JSON data."""
    if isinstance(v, dict):
        return {k: with_finite_floats(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, np.ndarray)):
        return [with_finite_floats(x) for x in v]
    return plain_scalar(v)


def restore_floats(v):
    """Inverse of :func:`with_finite_floats` for data read from JSON: ``"inf"`` / ``"-inf"``
    become ±inf (NaN was written as null and stays None)."""
    if isinstance(v, dict):
        return {k: restore_floats(x) for k, x in v.items()}
    if isinstance(v, list):
        return [restore_floats(x) for x in v]
    if isinstance(v, str) and v.strip().lower() in _INF_TEXT:
        return _INF_TEXT[v.strip().lower()]
    return v


def json_default(obj):
    """``default=`` for :func:`json.dumps`: numpy scalars and arrays, paths."""
    if isinstance(obj, (np.generic, np.ndarray)):
        return with_finite_floats(obj)
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"cannot serialise {type(obj).__name__}")


def json_text(doc, indent: int | None = 2) -> str:
    """Strict JSON (no NaN/Infinity tokens) of plain data, non-finite floats by the rule."""
    return json.dumps(with_finite_floats(doc), indent=indent, allow_nan=False, default=json_default)


def csv_cell(v):
    """One CSV cell: blank for None and NaN, ``inf`` / ``-inf``, floats at full precision (``repr``)."""
    v = plain_scalar(v)
    if v is None:
        return ""
    return repr(v) if isinstance(v, float) else v


def csv_value(cell: str):
    """Inverse of :func:`csv_cell` for one cell read back: blank → None, ``True``/``False``
    → bool, integers and floats (``inf`` included) → numbers, other text unchanged."""
    if cell == "":
        return None
    if cell in ("True", "False"):
        return cell == "True"
    for kind in (int, float):
        try:
            x = kind(cell)
        except ValueError:
            continue
        return None if isinstance(x, float) and math.isnan(x) else x
    return cell


def csv_table(columns, rows) -> str:
    """CSV text: a header of ``columns``, then one line per dict in ``rows`` (missing keys blank)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([csv_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def read_csv_table(text: str) -> list[dict]:
    """Rows of a CSV table written by :func:`csv_table`, cells read by :func:`csv_value`."""
    return [{k: csv_value(v) for k, v in row.items()} for row in csv.DictReader(io.StringIO(text))]


# --------------------------------------------------------------------------------------
# HDF5

def _python(v):
    return v.item() if isinstance(v, np.generic) else v


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def hdf5_table(group, columns, rows) -> None:
    """Write a table into an h5py group, one dataset per column (``columns`` also stored as the
    group's attribute ``columns``, which keeps their order):

    * a column of bools → bool;
    * a column of numbers and None → float, None and NaN as NaN, ±inf kept (the rule);
    * any other column → UTF-8 text: strings as they are, None as ``""``, other values as
      their JSON text (:func:`json_text`).
    """
    import h5py

    rows = list(rows)
    for c in columns:
        vals = [_python(r.get(c)) for r in rows]
        if vals and all(isinstance(v, bool) for v in vals):
            data = np.array(vals, dtype=bool)
        elif all(v is None or _is_number(v) for v in vals):
            data = np.array([np.nan if v is None else v for v in vals], dtype=float)
        else:
            text = ["" if v is None else v if isinstance(v, str) else json_text(v, None) for v in vals]
            data = np.array(text, dtype=h5py.string_dtype())
        group.create_dataset(c, data=data)
    group.attrs["columns"] = list(columns)


def read_hdf5_table(group) -> list[dict]:
    """Rows of a table written by :func:`hdf5_table`: NaN and ``""`` read back as None,
    numbers as Python floats, flags as bools, text as str."""
    columns = [c.decode() if isinstance(c, bytes) else str(c) for c in group.attrs["columns"]]
    cols = {}
    for c in columns:
        ds = group[c]
        if ds.dtype == bool:
            cols[c] = [bool(v) for v in ds[()]]
        elif ds.dtype.kind == "f":
            cols[c] = [None if math.isnan(v) else float(v) for v in ds[()]]
        else:
            cols[c] = [None if s == "" else s for s in ds.asstr()[()]]
    n = len(cols[columns[0]]) if columns else 0
    return [{c: cols[c][i] for c in columns} for i in range(n)]


def write_hdf5(path, tables: dict, attrs: dict | None = None) -> Path:
    """Write an HDF5 file atomically: each ``name: (columns, rows)`` of ``tables`` as a group
    (:func:`hdf5_table`), and file attributes (text as it is, other values as JSON text)."""
    import h5py

    path = Path(path)
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as f:
        for name, (columns, rows) in tables.items():
            hdf5_table(f.create_group(name), columns, rows)
        for key, value in (attrs or {}).items():
            f.attrs[key] = value if isinstance(value, str) else json_text(value, None)
    return path


# --------------------------------------------------------------------------------------
# atomic writes

def _new_temp_file(path: Path) -> Path:
    """Create an empty, unique temporary file beside ``path`` with the mode a new file gets
    (``0o666`` filtered by the umask and the directory's default ACL, both applied by the
    kernel), unlike :func:`tempfile.mkstemp`, whose files are always ``0o600``."""
    for _ in range(100):
        tmp = path.parent / f".{path.name}.{secrets.token_hex(6)}.tmp{path.suffix}"
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return tmp
    raise FileExistsError(f"no free temporary file name beside {path}")


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on any
    failure (or interruption) remove it.  Readers never see a half-written file, and the
    file gets the permissions the user's umask gives any new file (``0o666 & ~umask``),
    so a shared project directory can read it."""
    path = Path(path)
    tmp = _new_temp_file(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def atomic_write(path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (see :func:`atomic_path`), synced to disk."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8", newline="") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())


def versions() -> dict:
    """Versions of wgm and of the numerical libraries used."""
    import numpy
    import scipy

    from wgm import __version__

    return {"wgm": __version__, "numpy": numpy.__version__, "scipy": scipy.__version__}
