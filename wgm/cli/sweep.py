"""``wgm sweep``: a parameter study over MPI ranks or Slurm tasks, resumable."""

from __future__ import annotations

import sys
from pathlib import Path

from wgm import parallel
from wgm.cli.common import EXIT_FAILURE
from wgm.errors import UserError

def register(sub) -> None:
    sw = sub.add_parser("sweep", help="parameter study: modes over a grid of config values (MPI, resumable)",
                        description="Compute the modes at every point of a grid of config values. Run under "
                                    "mpirun/srun to spread the points over the ranks. Finished points are "
                                    "kept in DIR/points/: the same command run again resumes.")
    sw.add_argument("config", type=Path, help="TOML config file (may hold a [sweep] table)")
    sw.add_argument("--vary", action="append", default=[], metavar="KEY=VALUES",
                    help="a swept key: KEY=START:STOP:N (N values, ends included), KEY=v1,v2,... or "
                         "KEY=[v1, v2] (TOML array); repeatable, e.g. --vary resonator.radius_um=2:3:11")
    sw.add_argument("--zip", action="store_true", default=None,
                    help="pair the axes (equal lengths) instead of taking their product")
    sw.add_argument("--method", default=None, metavar="METHOD",
                    help="solver for every point: exact, fem or fdtd (default: [sweep] method, else exact)")
    sw.add_argument("--out", type=Path, required=True, metavar="DIR",
                    help="results: DIR/results.csv, DIR/sweep.json, plots, DIR/points/ (one file per point)")
    sw.add_argument("--procs-per-sim", type=int, default=1, metavar="K",
                    help="MPI ranks per simulation (FDTD domain decomposition); must divide the rank count")
    sw.add_argument("--shard", default=None, metavar="I/N",
                    help="only the points with index = I mod N (one task of a job array)")
    sw.add_argument("--retry-failed", action="store_true", help="compute again the points that failed before")
    sw.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config key for every point (repeatable)")
    sw.add_argument("--no-plots", action="store_true", help="tables only")
    sw.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    sw.add_argument("-v", "--verbose", action="store_true", help="progress and diagnostics on stderr")
    sw.set_defaults(run=cmd_sweep)


def _parse_shard(text):
    if text is None:
        return (0, 1)
    parts = text.split("/")
    if len(parts) != 2 or not all(p.strip().isdigit() for p in parts):
        raise UserError(f"--shard {text!r}: expected I/N with whole numbers, e.g. 0/4")
    i, n = (int(p) for p in parts)
    if not (n >= 1 and 0 <= i < n):
        raise UserError(f"--shard {text!r}: need N >= 1 and 0 <= I < N")
    return (i, n)


def cmd_sweep(args, out) -> int:
    from wgm.sweeps import METHODS, load_sweep, run_sweep

    if args.method is not None and args.method not in METHODS:
        raise UserError(f"--method {args.method!r}: a sweep runs one engine: {', '.join(METHODS)}")
    sweep = load_sweep(args.config, args.vary, args.overrides, zip_axes=args.zip, method=args.method)
    shard = _parse_shard(args.shard)
    try:
        result = run_sweep(sweep, args.out, procs_per_sim=args.procs_per_sim, shard=shard,
                           retry_failed=args.retry_failed, plots=not args.no_plots)
    except UserError:
        raise  # raised alike on every rank
    except BaseException as exc:
        if parallel.size() > 1:  # one rank failed: end the job instead of leaving the others waiting
            sys.stderr.write(f"wgm: rank {parallel.rank()}: {type(exc).__name__}: {exc}\n")
            sys.stderr.flush()
            parallel.abort(1)
        raise
    if result is None:  # not the I/O rank
        return 0
    c = result.counts
    out.write(f"sweep of {c['points']} points ({sweep.method}): {c['done']} done, {c['failed']} failed"
              + (f", {c['pending']} left to other shards" if c["pending"] else "")
              + f"; {len(result.rows())} mode rows; results in {args.out}/\n")
    if c["failed"]:
        sys.stderr.write(f"wgm: {c['failed']} points failed; reasons in {args.out}/sweep.json "
                         "(--retry-failed computes them again)\n")
        return EXIT_FAILURE
    return 0
