"""What the commands share: output options, the output directory, the exit codes, the
one-line report of a user mistake."""

from __future__ import annotations

import logging
from pathlib import Path

from wgm import parallel
from wgm.errors import UserError
from wgm.records.files import json_text

log = logging.getLogger("wgm")

EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


def output_args(sp, out_help):
    """``--json``, ``--out DIR`` and ``-v`` of a command."""
    sp.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
    sp.add_argument("--out", type=Path, metavar="DIR", help=out_help)
    sp.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")


def overrides_arg(sp, example="resonator.radius_um=2.4"):
    """``--set KEY=VALUE`` (repeatable)."""
    sp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help=f"override a config key, e.g. --set {example} (repeatable)")


def make_out_dir(out: Path) -> None:
    """Create ``--out DIR``; a directory that cannot be made is the user's to fix."""
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out}: cannot create directory ({exc.strerror})") from None


def io_rank_only(args) -> None:
    """Under MPI, let only the I/O rank write ``--out DIR``: the I/O rank creates it first (a
    directory that cannot be made stops every rank alike, with one message), then the other
    ranks forget it, so they compute alongside (Meep needs every rank) but write nothing.
    Serially nothing changes."""
    out_dir = getattr(args, "out", None)
    if out_dir is None or parallel.size() == 1:
        return
    parallel.on_io_rank(lambda: make_out_dir(out_dir))
    if not parallel.is_io_rank():
        args.out = None


def write_json(out, doc) -> None:
    """One JSON document on ``out`` (non-finite floats by the records' one rule)."""
    out.write(json_text(doc) + "\n")
