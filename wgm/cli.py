"""The ``wgm`` command line: a thin layer over the library.

``wgm modes CONFIG [--method exact] [--set KEY=VALUE ...] [--json] [--out DIR]``
``wgm sweep CONFIG --vary KEY=START:STOP:N [...] --out DIR [--method exact|fdtd] [--procs-per-sim K]``
``wgm materials [NAME ...] [--wavelength-nm W ...]``

Mistakes in the input (files, keys, values) end with a one-line message on stderr and
exit status 2; no traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
from pathlib import Path

from . import __version__
from .errors import UserError, WgmError

log = logging.getLogger("wgm")

EXIT_USER_ERROR = 2
EXIT_FAILURE = 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="wgm", description="Whispering-gallery modes of microresonators.")
    p.add_argument("--version", action="version", version=f"wgm {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    m = sub.add_parser("modes", help="find the modes of a resonator",
                       description="Find every mode of the configured resonator in the search band.")
    m.add_argument("config", type=Path, help="TOML config file")
    m.add_argument("--method", choices=["exact", "fdtd", "both"], default="exact",
                   help="exact: semi-analytic solver for spheres and the 2-D limit (default); "
                        "fdtd: Meep in cylindrical coordinates, any axisymmetric shape; "
                        "both: the two, side by side (spheres and the 2-D limit)")
    m.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set resonator.radius_um=2.4 (repeatable)")
    m.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
    m.add_argument("--out", type=Path, metavar="DIR", help="write modes.json, modes.csv and spectrum.png to DIR")
    m.add_argument("--fields", action="store_true",
                   help="with --method fdtd and --out: per mode |E|² in the (r, z) plane and the x-y map "
                        "(PNG), and the raw fields (fields.h5)")
    m.add_argument("-v", "--verbose", action="store_true", help="progress and diagnostics on stderr")

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
    sw.add_argument("--method", choices=["exact", "fdtd"], default=None,
                    help="solver for every point (default: [sweep] method, else exact)")
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

    mat = sub.add_parser("materials", help="list library materials or print their index",
                         description="List the material library, or print n + ik of materials at given wavelengths.")
    mat.add_argument("names", nargs="*", help="library names (default: list all)")
    mat.add_argument("--wavelength-nm", type=float, action="append", default=[], metavar="W",
                     help="wavelength in nm (repeatable; default 520 540 560)")
    return p


def _format_table(spectrum) -> str:
    lines = [f"{len(spectrum.modes)} modes of the {spectrum.resonator.kind} in "
             f"{spectrum.search.wavelength_nm[0]:g}-{spectrum.search.wavelength_nm[1]:g} nm ({spectrum.method})",
             f"{'pol':>4} {'l':>6} {'m':>6} {'q':>3} {'wavelength_nm':>14} {'Q':>12} {'linewidth_pm':>13} "
             f"{'fsr_nm':>9}  note"]
    dash = lambda v, fmt: format(v, fmt) if v is not None else "-".rjust(len(format(0, fmt)))  # noqa: E731
    for md in spectrum.modes:
        q = (f"{md.Q:12.5g}" if md.q_resolved else f">{md.Q:11.4g}") if math.isfinite(md.Q) else f"{'inf':>12}"
        lw = f"{1000 * md.linewidth_nm:13.4g}" if math.isfinite(md.linewidth_nm) else f"{'0':>13}"
        fsr = f"{md.fsr_nm:9.4f}" if md.fsr_nm is not None else f"{'-':>9}"
        lines.append(f"{md.polarization:>4} {dash(md.l, '6d')} {md.m:6d} {dash(md.radial_order, '3d')} "
                     f"{md.wavelength_nm:14.5f} "
                     f"{q} {lw} {fsr}  {md.note}")
    return "\n".join(lines)


def _format_comparison(pairs) -> str:
    lines = [f"{len(pairs)} modes found by both methods (exact: materials at the band centre, as in FDTD)",
             f"{'pol':>4} {'l':>5} {'m':>5} {'q':>3} {'exact_nm':>12} {'fdtd_nm':>12} {'diff_%':>8} "
             f"{'Q_exact':>10} {'Q_fdtd':>10} {'diff_%':>7}"]
    for e, f in pairs:
        qf = f"{f.Q:10.4g}" if f.q_resolved else f">{f.Q:9.3g}"
        lines.append(f"{f.polarization:>4} {f.l:5d} {f.m:5d} {f.radial_order:3d} {e.wavelength_nm:12.4f} "
                     f"{f.wavelength_nm:12.4f} {100 * (f.wavelength_nm / e.wavelength_nm - 1):8.4f} "
                     f"{e.Q:10.4g} {qf} {100 * (f.Q / e.Q - 1):7.2f}")
    return "\n".join(lines)


def _cmd_modes(args, out) -> int:
    from . import parallel
    from .config import load_config

    cfg = load_config(args.config, args.overrides)
    if args.fields and (args.method == "exact" or args.out is None):
        raise UserError("--fields needs --method fdtd (or both) and --out DIR")
    pairs = None
    if args.method in ("exact", "both"):
        from .exact import solve

        exact_spectrum = solve(cfg.resonator, cfg.search)  # fast; refuses shapes it cannot solve
        spectrum = exact_spectrum
    if args.method == "both":
        from .results import match_modes

        # FDTD takes materials at its band centre: compare with the exact modes of that model
        band = cfg.fdtd.band(cfg.search)
        lam_c = 2.0 / (1.0 / band.wavelength_nm[0] + 1.0 / band.wavelength_nm[1])
        frozen = solve(cfg.resonator.frozen_at(lam_c), band)
    if args.method in ("fdtd", "both"):
        from . import fdtd

        spectrum = fdtd.solve(cfg.resonator, cfg.search, cfg.fdtd)
    if args.method == "both":
        pairs = match_modes(frozen, spectrum)
    if not parallel.is_io_rank():
        return 0
    if args.out is not None:
        from . import plotting
        from .results import atomic_write, comparison_csv

        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {args.out}: cannot create directory ({exc.strerror})") from None
        if pairs is not None:
            written = exact_spectrum.write(args.out)
            written.append(plotting.save(plotting.spectrum_figure(exact_spectrum), args.out / "spectrum.png"))
            (args.out / "fdtd").mkdir(exist_ok=True)
            written += spectrum.write(args.out / "fdtd")
            written.append(plotting.save(plotting.spectrum_figure(spectrum), args.out / "fdtd" / "spectrum.png"))
            atomic_write(args.out / "comparison.csv", comparison_csv(pairs))
            written.append(args.out / "comparison.csv")
            written.append(plotting.save(plotting.comparison_figure(frozen, spectrum, pairs),
                                         args.out / "comparison.png"))
            field_dir = args.out / "fdtd"
        else:
            written = spectrum.write(args.out)
            written.append(plotting.save(plotting.spectrum_figure(spectrum), args.out / "spectrum.png"))
            field_dir = args.out
        if args.fields:
            written += plotting.save_field_maps(spectrum, field_dir)
            written.append(spectrum.profiles_to_hdf5(field_dir / "fields.h5"))
        for path in written:
            log.info("wrote %s", path)
    if pairs is not None:
        if args.json:
            rows = [{"polarization": f.polarization, "l": f.l, "m": f.m, "radial_order": f.radial_order,
                     "wavelength_nm_exact": e.wavelength_nm, "wavelength_nm_fdtd": f.wavelength_nm,
                     "Q_exact": e.Q, "Q_fdtd": f.Q, "fdtd_q_resolved": f.q_resolved} for e, f in pairs]
            doc = {"exact": exact_spectrum.to_dict(), "fdtd": spectrum.to_dict(), "comparison": rows}
            out.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        else:
            out.write(_format_comparison(pairs) + "\n")
            if args.out is not None:
                out.write(f"results in {args.out}/\n")
        return 0
    if args.json:
        out.write(spectrum.to_json() + "\n")
    elif args.out is None:
        out.write(_format_table(spectrum) + "\n")
    else:
        out.write(_format_table(spectrum) + "\n" + f"results in {args.out}/\n")
    return 0


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


def _cmd_sweep(args, out) -> int:
    from . import parallel
    from .sweep import load_sweep, run_sweep

    sweep = load_sweep(args.config, args.vary, args.overrides, zip_axes=args.zip, method=args.method)
    shard = _parse_shard(args.shard)
    try:
        result = run_sweep(sweep, args.out, procs_per_sim=args.procs_per_sim, shard=shard,
                           plots=not args.no_plots)
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


def _cmd_materials(args) -> int:
    from .materials import LIBRARY, library_material

    if not args.names:
        for name in LIBRARY:
            if name == "cspbbr3-nc":
                sys.stdout.write(f"{name:20s} CsPbBr3 nanocrystal film (needs fill_fraction; "
                                 "ligand_index, bulk, mixing optional)\n")
                continue
            mat = library_material(name)
            lo, hi = mat.wavelength_range_nm
            sys.stdout.write(f"{name:20s} {lo:g}-{hi:g} nm\n")
        return 0
    waves = args.wavelength_nm or [520.0, 540.0, 560.0]
    for name in args.names:
        mat = library_material(name, "materials")
        for w in waves:
            n = mat.n_at(w)
            sys.stdout.write(json.dumps({"material": name, "wavelength_nm": w, "n": n.real, "k": n.imag}) + "\n")
    return 0


def parallel_io_rank() -> bool:
    from . import parallel

    return parallel.is_io_rank()


def main(argv=None) -> int:
    """Entry point of the ``wgm`` console script."""
    import os

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="wgm: %(message)s", stream=sys.stderr)
    out = sys.stdout
    saved = None
    if args.command == "modes" and args.method in ("fdtd", "both") or args.command == "sweep":
        from . import parallel

        parallel.quiet_other_ranks()
        if args.command == "sweep" and not args.quiet and not args.verbose and parallel.is_io_rank():
            logging.getLogger("wgm.sweep").setLevel(logging.INFO)  # one progress line per finished point
        # Meep's C++ core writes to file descriptor 1; keep stdout for our results only
        sys.stdout.flush()
        saved = os.dup(1)
        os.dup2(2, 1)
        out = os.fdopen(os.dup(saved), "w")
    try:
        if args.command == "modes":
            return _cmd_modes(args, out)
        if args.command == "sweep":
            return _cmd_sweep(args, out)
        return _cmd_materials(args)
    except UserError as exc:
        if args.command != "sweep" or parallel_io_rank():  # a sweep's mistakes are raised on every rank alike
            sys.stderr.write(f"wgm: error: {exc}\n")
        return EXIT_USER_ERROR
    except WgmError as exc:  # a failed computation (e.g. fields blew up): the reason, no traceback
        sys.stderr.write(f"wgm: failed: {exc}\n")
        return EXIT_FAILURE
    except KeyboardInterrupt:
        sys.stderr.write("wgm: interrupted\n")
        return 130
    finally:
        if saved is not None:
            out.close()
            os.dup2(saved, 1)
            os.close(saved)


if __name__ == "__main__":
    sys.exit(main())
