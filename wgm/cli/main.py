"""The ``wgm`` command: the parser, assembled from one module per command group, and the
dispatch.

``wgm modes CONFIG [--method exact|fem|fdtd|both|A,B] [--set KEY=VALUE ...] [--json] [--out DIR]``
``wgm sweep CONFIG --vary KEY=START:STOP:N [...] --out DIR [--method exact|fem|fdtd] [--procs-per-sim K]``
``wgm fit SPECTRUM CONFIG --free KEY[,KEY...] [--json] [--out DIR]``
``wgm compare SPECTRUM CONFIG [--method exact|fem|fdtd] [--json] [--out DIR]``
``wgm threshold CONFIG [--gain-region REGION] [--json] [--out DIR]``
``wgm lasing CONFIG [--set KEY=VALUE ...] [--json] [--out DIR]``
``wgm materials [NAME ...] [--wavelength-nm W ...]``

Mistakes in the input (files, keys, values) end with a one-line message on stderr and
exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys

from wgm import __version__, parallel  # parallel: ranks only; mpi4py is imported under mpirun alone
from wgm.cli import experiment, lasing, materials, modes, sweep
from wgm.cli.common import EXIT_FAILURE, EXIT_USER_ERROR, io_rank_only, native_output
from wgm.errors import UserError, WgmError

GROUPS = (modes, sweep, experiment, lasing, materials)


def parser() -> argparse.ArgumentParser:
    """The argument parser of ``wgm``: every command group registers its subcommands."""
    p = argparse.ArgumentParser(prog="wgm", description="Whispering-gallery modes of microresonators.")
    p.add_argument("--version", action="version", version=f"wgm {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for group in GROUPS:
        group.register(sub)
    return p


# Commands that compute on every rank and write on the I/O rank themselves (``modes``: its
# checks of --out must run on every rank; ``sweep``: every group leader saves its points).
# Every other command is made rank-safe here: under MPI the other ranks compute alike but
# get no --out directory and a stdout that goes nowhere.
RANK_AWARE = ("modes", "sweep")


def _runs_meep(args) -> bool:
    return (args.command == "modes" and native_output(args.method) or args.command == "sweep"
            or args.command == "compare" and args.method in ("fdtd", "fem") or args.command == "lasing")


def main(argv=None) -> int:
    """Entry point of the ``wgm`` console script."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="wgm: %(message)s", stream=sys.stderr)
    out = sys.stdout
    saved = None
    opened = []
    if _runs_meep(args):
        if args.command == "sweep" and not args.quiet and not args.verbose and parallel.is_io_rank():
            logging.getLogger("wgm.sweeps").setLevel(logging.INFO)  # one progress line per finished point
        # Meep's C++ core writes to file descriptor 1; keep stdout for our results only
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(2, 1)
        out = os.fdopen(os.dup(saved), "w")
        opened.append(out)
    if not parallel.is_io_rank():  # under MPI only (parallel imports mpi4py only then)
        parallel.quiet_other_ranks()
        out = open(os.devnull, "w")  # one result document, from the I/O rank
        opened.append(out)
    try:
        if args.command not in RANK_AWARE:
            io_rank_only(args)
        return args.run(args, out)
    except UserError as exc:
        if args.command != "sweep" or parallel.is_io_rank():  # a sweep's mistakes are raised on every rank alike
            sys.stderr.write(f"wgm: error: {exc}\n")
        return EXIT_USER_ERROR
    except WgmError as exc:  # a failed computation (e.g. fields blew up): the reason, no traceback
        sys.stderr.write(f"wgm: failed: {exc}\n")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("wgm: interrupted\n")
        return 130
    finally:
        for f in opened:
            f.close()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


if __name__ == "__main__":
    sys.exit(main())
