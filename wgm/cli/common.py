"""What the commands share: output options, the output directory, the exit codes, the
one-line report of a user mistake."""

from __future__ import annotations

import logging
from pathlib import Path

from wgm import parallel
from wgm.errors import UserError
from wgm.records.files import json_text
from wgm.records.modes import ENGINES  # a pair's reference is the first of it in this order

log = logging.getLogger("wgm")

EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


def warn_losses_not_applied(command: str, what: str = "the model's Q are intrinsic (radiation + absorption)") -> None:
    """The one warning of the commands that do not apply a config's ``[losses]`` table."""
    log.warning("[losses] is not applied by wgm %s: %s", command, what)


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


# --------------------------------------------------------------------------------------
# --method: one engine, or two side by side

METHOD_HELP = ("exact: semi-analytic solver for spheres and the 2-D limit (default); fem: finite elements, "
               "any axisymmetric shape; fdtd: Meep in cylindrical coordinates, any axisymmetric shape; "
               "a pair exact,fdtd / exact,fem / fem,fdtd (any order): the two side by side, compared; "
               "both: exact,fdtd for spheres and the 2-D limit, fem,fdtd for the other shapes")
_METHOD_EXPECTED = "expected exact, fem, fdtd, both, or a pair exact,fdtd / exact,fem / fem,fdtd"


def parse_method(text: str) -> tuple[str, ...]:
    """The engines ``--method`` names: ``("exact",)``, ``("fem",)``, ``("fdtd",)``, ``("both",)``
    (resolved by :func:`resolve_method` once the shape is known) or a pair in reference order
    (exact, fem, fdtd: ``"fdtd,fem"`` is ``("fem", "fdtd")``).  Anything else is a
    :class:`UserError`."""
    t = str(text).strip().lower()
    if t in (*ENGINES, "both"):
        return (t,)
    parts = [p.strip() for p in t.split(",")]
    if len(parts) != 2 or not set(parts) <= set(ENGINES) or parts[0] == parts[1]:
        raise UserError(f"--method {text!r}: {_METHOD_EXPECTED}")
    return tuple(sorted(parts, key=ENGINES.index))


def exact_solves(resonator) -> bool:
    """True for the shapes the exact solver does: spheres and the 2-D limit."""
    from wgm.model.resonator import Sphere

    return isinstance(resonator.shape, Sphere) or resonator.is_2d


def _shape_phrase(resonator) -> str:
    if resonator.pedestal is not None:
        return f"{resonator.kind} on a pedestal"
    return resonator.kind if resonator.kind == "toroid" else f"finite {resonator.kind}"


def resolve_method(method: tuple[str, ...], resonator) -> tuple[str, ...]:
    """The engines to run for ``resonator``: ``both`` is exact,fdtd where the exact solver
    applies (spheres, the 2-D limit) and fem,fdtd elsewhere; a method with ``exact`` for a
    shape it cannot do is a one-line :class:`UserError`."""
    if method == ("both",):
        return ("exact", "fdtd") if exact_solves(resonator) else ("fem", "fdtd")
    if "exact" in method and not exact_solves(resonator):
        raise UserError(f"--method {','.join(method)}: the exact solver does spheres and the 2-D limit only, "
                        f"not a {_shape_phrase(resonator)}; use --method fem, fdtd or fem,fdtd (or both)")
    return method


def native_output(text: str) -> bool:
    """True when ``--method`` may run FDTD or FEM, whose native libraries (Meep's C++ core,
    gmsh) write to file descriptor 1; False for the exact solver alone and for a value that
    :func:`parse_method` refuses (the command reports it)."""
    try:
        return parse_method(text) != ("exact",)
    except UserError:
        return False
