"""Writing result files: atomically (readers never see half a file), with the permissions the
user's umask gives a new file, CSV cells at full precision, JSON without NaN/inf.

The one place that knows how a result reaches the disk.
"""

from __future__ import annotations

import csv
import io
import math
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

def csv_cell(v):
    """One CSV cell: blank for None, floats at full precision (``repr``)."""
    if v is None:
        return ""
    return repr(v) if isinstance(v, float) else v


def csv_table(columns, rows) -> str:
    """CSV text: a header of ``columns``, then one line per dict in ``rows`` (missing keys blank)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(columns)
    for row in rows:
        w.writerow([csv_cell(row.get(c)) for c in columns])
    return buf.getvalue()


def with_finite_floats(v, nonfinite=None):
    """Plain data (dicts, lists, tuples) with every NaN/inf float replaced: by ``nonfinite``,
    or by its text (``"inf"``, ``"nan"``, as config files write them) when ``nonfinite="text"``.
    JSON has no infinity."""
    if isinstance(v, float) and not math.isfinite(v):
        return str(v) if nonfinite == "text" else nonfinite
    if isinstance(v, dict):
        return {k: with_finite_floats(x, nonfinite) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [with_finite_floats(x, nonfinite) for x in v]
    return v


def _json_default(obj):
    if hasattr(obj, "item"):  # numpy scalars
        return obj.item()
    raise TypeError(f"cannot serialise {type(obj).__name__}")


@contextmanager
def atomic_path(path):
    """Yield a temporary path beside ``path``; on success rename it to ``path``, on any
    failure (or interruption) remove it.  Readers never see a half-written file."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + path.suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
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
