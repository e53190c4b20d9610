"""Writing result files: atomically (readers never see half a file), with the permissions the
user's umask gives a new file, CSV cells at full precision, JSON without NaN/inf.

The one place that knows how a result reaches the disk.
"""

from __future__ import annotations

import csv
import io
import math
import os
import secrets
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
