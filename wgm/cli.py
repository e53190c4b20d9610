"""The ``wgm`` command line: a thin layer over the library.

``wgm modes CONFIG [--method exact] [--set KEY=VALUE ...] [--json] [--out DIR]``
``wgm sweep CONFIG --vary KEY=START:STOP:N [...] --out DIR [--method exact|fdtd] [--procs-per-sim K]``
``wgm fit SPECTRUM CONFIG --free KEY[,KEY...] [--json] [--out DIR]``
``wgm compare SPECTRUM CONFIG [--method exact|fdtd] [--json] [--out DIR]``
``wgm threshold CONFIG [--gain-region REGION] [--json] [--out DIR]``
``wgm lasing CONFIG [--set KEY=VALUE ...] [--json] [--out DIR]``
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

from . import __version__, parallel  # parallel: ranks only; mpi4py is imported under mpirun alone
from .errors import UserError, WgmError
from .results import csv_table, with_finite_floats

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

    def output_args(sp, out_help):
        sp.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
        sp.add_argument("--out", type=Path, metavar="DIR", help=out_help)
        sp.add_argument("-v", "--verbose", action="store_true", help="progress on stderr")

    def measured_args(sp):
        sp.add_argument("spectrum", type=Path,
                        help="measured spectrum (two columns: wavelength nm, intensity; CSV/TSV/spaces) "
                             "or a list of peak wavelengths (one column)")
        sp.add_argument("config", type=Path, help="TOML config file of the resonator")
        sp.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key (repeatable)")
        sp.add_argument("--snr", type=float, default=None, metavar="S",
                        help="peak detection: prominence of at least S times the noise (default 5)")
        sp.add_argument("--min-prominence", type=float, default=None, metavar="P",
                        help="peak detection: prominence threshold in intensity units (instead of --snr)")
        sp.add_argument("--tolerance-nm", type=float, default=None, metavar="T",
                        help="farthest a peak may be from its mode (default: a fifth of the model's line spacing)")
        output_args(sp, "write the result (JSON, CSV) and an overlay plot (PNG)")

    fi = sub.add_parser("fit", help="assign measured peaks to modes and fit resonator parameters",
                        description="Label the peaks of a measured spectrum (TE/TM, l, radial order) and fit "
                                    "the free config keys (e.g. the radius) with the exact solver. The first "
                                    "free key is searched globally (start ± --search-range).")
    measured_args(fi)
    fi.add_argument("--free", required=True, metavar="KEY[,KEY...]",
                    help="config keys to fit, e.g. resonator.radius_um,resonator.coating.0.thickness_um")
    fi.add_argument("--search-range", type=float, default=0.10, metavar="F",
                    help="global search of the first free key over start × (1 ± F) (default 0.10)")

    co = sub.add_parser("compare", help="overlay computed modes on a measured spectrum (no fitting)",
                        description="Compute the modes of the configured resonator over the measured range and "
                                    "assign each measured peak to the nearest mode.")
    measured_args(co)
    co.add_argument("--method", choices=["exact", "fdtd"], default="exact", help="solver (default exact)")

    th = sub.add_parser("threshold", help="threshold gain of every mode of a resonator with a gain film",
                        description="Confinement factor and threshold material gain (cm⁻¹) of every mode of the "
                                    "search (exact solver), compared with the film's gain spectrum (the config's "
                                    "[gain] table; default: a CsPbBr3-nanocrystal band, 500 cm⁻¹ at 525 nm).")
    th.add_argument("config", type=Path, help="TOML config file")
    th.add_argument("--gain-region", default=None, metavar="REGION",
                    help="core, coating (all coatings) or coating.N (default: [gain] region, else coating)")
    th.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config key, e.g. --set gain.peak_gain_per_cm=800 (repeatable)")
    th.add_argument("--radii-um", default=None, metavar="START:STOP:N",
                    help="also: the first mode to lase and its two-photon pump threshold ([pump] table) for N "
                         "core radii -> pump_threshold.csv/.png (with --out) and 'pump' in --json")
    output_args(th, "write threshold.json, threshold.csv, threshold.png")

    la = sub.add_parser("lasing", help="FDTD L-L curve of one mode with a saturable two-level gain film",
                        description="Output power versus pump rate of one mode (the config's [lasing] table: m, "
                                    "pump rates relative to the predicted threshold, the two-level line) by FDTD "
                                    "(Meep MultilevelAtom; 2-D limit), against the threshold predicted from the "
                                    "exact threshold gain.")
    la.add_argument("config", type=Path, help="TOML config file with a [lasing] table")
    la.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config key, e.g. --set lasing.pump_rates_rel=[0.8,1.5,2] (repeatable)")
    output_args(la, "write lasing.json, lasing.csv and lasing.png to DIR")

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


def _read_peaks(args):
    """The measurement: (MeasuredSpectrum or None, peak wavelengths, their errors or None, peak records)."""
    from .spectra import MeasuredSpectrum, find_peaks, read_measurement

    data = read_measurement(args.spectrum)
    if not isinstance(data, MeasuredSpectrum):
        return None, list(data), None, []
    kw = {}
    if args.min_prominence is not None:
        kw["min_prominence"] = args.min_prominence
    if args.snr is not None:
        kw["snr"] = args.snr
    peaks = find_peaks(data, **kw)
    if not peaks:
        raise UserError(f"{args.spectrum}: no peaks above the detection threshold (lower --snr or --min-prominence)")
    log.info("%d peaks in %s", len(peaks), args.spectrum)
    return data, [p.wavelength_nm for p in peaks], [p.wavelength_err_nm for p in peaks], peaks


def _assignment_table(assignments) -> str:
    lines = [f"{'measured_nm':>12} {'pol':>4} {'l':>5} {'q':>3} {'model_nm':>12} {'residual_pm':>12}"]
    for a in assignments:
        if a.label is None:
            lines.append(f"{a.measured_nm:12.4f} {'-':>4} {'-':>5} {'-':>3} {'-':>12} {'unassigned':>12}")
        else:
            lines.append(f"{a.measured_nm:12.4f} {a.polarization:>4} {a.l:5d} {a.radial_order:3d} "
                         f"{a.model_nm:12.4f} {1000 * a.residual_nm:12.2f}")
    return "\n".join(lines)


def _assignments_csv(assignments) -> str:
    cols = ["measured_nm", "measured_err_nm", "polarization", "l", "radial_order", "model_nm", "residual_nm",
            "model_Q"]
    return csv_table(cols, (a.to_dict() for a in assignments))


def _write_measured_outputs(out_dir, doc, assignments, fig) -> list:
    from . import plotting
    from .results import atomic_write

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"--out {out_dir}: cannot create directory ({exc.strerror})") from None
    name = doc["command"]
    atomic_write(out_dir / f"{name}.json", json.dumps(doc, indent=2, allow_nan=False))
    atomic_write(out_dir / "assignments.csv", _assignments_csv(assignments))
    return [out_dir / f"{name}.json", out_dir / "assignments.csv",
            plotting.save(fig, out_dir / f"{name}.png")]


def _cmd_fit(args, out) -> int:
    from . import plotting
    from .config import apply_overrides, read_config_file
    from .fitting import fit

    raw = apply_overrides(read_config_file(args.config), args.overrides)
    measured, peaks, errs, records = _read_peaks(args)
    keys = [k.strip() for k in args.free.split(",") if k.strip()]
    result = fit(raw, peaks, keys, peak_errors_nm=errs, search_range=args.search_range,
                 tolerance_nm=args.tolerance_nm, base_dir=args.config.parent, source=str(args.spectrum))
    doc = with_finite_floats({"command": "fit", **result.to_dict(), "peaks": [p.to_dict() for p in records]})
    if args.out is not None:
        fig = plotting.overlay_figure(result.model.modes, result.best.assignments, measured,
                                      title=f"fit of {args.spectrum.name}: " + ", ".join(
                                          f"{k} = {v['value']:.6g}" for k, v in result.parameters.items()))
        for path in _write_measured_outputs(args.out, doc, result.best.assignments, fig):
            log.info("wrote %s", path)
    if args.json:
        out.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return 0
    lines = [f"fit of {len(peaks)} peaks of {args.spectrum}: {result.best.n_assigned} assigned, "
             f"rms residual {1000 * result.best.rms_residual_nm:.2f} pm (tolerance {result.tolerance_nm:.3g} nm)"]
    for key, p in result.parameters.items():
        err = f" ± {p['stderr']:.2g}" if p["stderr"] is not None else ""
        lines.append(f"  {key} = {p['value']:.6g}{err}   (start {p['start']:g})")
    amb = doc["ambiguity"]
    if amb is not None:
        lines.append(f"  next-best assignment: rms {1000 * amb['next_best_rms_residual_nm']:.2f} pm, cost "
                     f"x{amb['cost_ratio']:.3g}, " + ", ".join(f"{k} = {v:.6g}" for k, v in
                                                            amb["next_best_parameters"].items()))
    lines.append(_assignment_table(result.best.assignments))
    if args.out is not None:
        lines.append(f"results in {args.out}/")
    out.write("\n".join(lines) + "\n")
    return 0


def _cmd_compare(args, out) -> int:
    from . import plotting
    from .config import load_config
    from .fitting import assign, default_tolerance_nm
    from .resonator import Search

    cfg = load_config(args.config, args.overrides)
    measured, peaks, errs, records = _read_peaks(args)
    lo, hi = (float(measured.wavelength_nm[0]), float(measured.wavelength_nm[-1])) if measured is not None \
        else (min(peaks), max(peaks))
    pad = max(2.0, 0.01 * hi)  # modes just outside the range still pair with peaks near its edges
    search = Search((lo - pad, hi + pad), cfg.search.max_radial_order, cfg.search.polarizations)
    if args.method == "fdtd":
        from . import fdtd

        spectrum = fdtd.solve(cfg.resonator, search, cfg.fdtd)
    else:
        from .exact import solve

        spectrum = solve(cfg.resonator, search)
    tol = args.tolerance_nm or default_tolerance_nm(spectrum.modes, peaks, errs)
    assignments = assign(peaks, spectrum.modes, tol, errs)
    res = [a.residual_nm for a in assignments if a.residual_nm is not None]
    rms = math.sqrt(sum(r * r for r in res) / len(res)) if res else None
    doc = with_finite_floats({"command": "compare", "source": str(args.spectrum), "method": args.method,
                      "tolerance_nm": tol, "rms_residual_nm": rms, "n_peaks": len(peaks), "n_assigned": len(res),
                      "assignments": [a.to_dict() for a in assignments], "peaks": [p.to_dict() for p in records],
                      "model": spectrum.to_dict()})
    if args.out is not None:
        fig = plotting.overlay_figure(spectrum.modes, assignments, measured,
                                      title=f"{args.spectrum.name} vs {args.method} modes of {args.config.name}")
        for path in _write_measured_outputs(args.out, doc, assignments, fig):
            log.info("wrote %s", path)
    if args.json:
        out.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return 0
    head = (f"{len(peaks)} peaks of {args.spectrum}, {len(res)} within {tol:.3g} nm of a {args.method} mode"
            + (f" (rms {1000 * rms:.2f} pm)" if rms is not None else ""))
    out.write(head + "\n" + _assignment_table(assignments) + "\n"
              + (f"results in {args.out}/\n" if args.out is not None else ""))
    return 0


def _cmd_threshold(args, out) -> int:
    from dataclasses import replace

    from . import plotting
    from .config import apply_overrides, parse_config, read_config_file
    from .gain import parse_gain, parse_pump, threshold_vs_radius, thresholds
    from .results import atomic_write

    raw = apply_overrides(read_config_file(args.config), args.overrides)
    cfg = parse_config(raw, base_dir=args.config.parent, source=str(args.config))
    gain = parse_gain(raw.get("gain"))
    if args.gain_region is not None:
        gain = replace(gain, region=args.gain_region)
    pump = parse_pump(raw.get("pump"))
    radii = None
    if args.radii_um is not None:
        from .sweep import parse_axis

        radii = parse_axis(f"resonator.radius_um={args.radii_um}", "--radii-um").values
        if not all(isinstance(r, (int, float)) and r > 0 for r in radii):
            raise UserError(f"--radii-um {args.radii_um}: radii must be positive numbers")
    result = thresholds(cfg.resonator, cfg.search, gain)
    doc = with_finite_floats(result.to_dict())
    rows = None
    if radii is not None:
        rows = threshold_vs_radius(cfg.resonator, cfg.search, gain, pump, radii)
        doc["pump"] = with_finite_floats({"model": pump.to_dict(), "vs_radius": rows})
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {args.out}: cannot create directory ({exc.strerror})") from None
        atomic_write(args.out / "threshold.json", json.dumps(doc, indent=2, allow_nan=False))
        cols = ["polarization", "l", "radial_order", "wavelength_nm", "Q", "confinement", "threshold_gain_per_cm",
                "closed_form_gain_per_cm", "threshold_wavelength_nm", "available_gain_per_cm", "pump_margin",
                "can_lase"]
        atomic_write(args.out / "threshold.csv", csv_table(cols, doc["modes"]))
        plotting.save(plotting.threshold_figure(result), args.out / "threshold.png")
        if rows is not None:
            keys = ["radius_um", "diameter_um", "polarization", "l", "radial_order", "wavelength_nm", "Q",
                    "confinement", "threshold_gain_per_cm", "peak_gain_needed_per_cm", "threshold_fluence_mj_per_cm2"]
            atomic_write(args.out / "pump_threshold.csv", csv_table(keys, rows))
            plotting.save(plotting.pump_figure(rows, pump), args.out / "pump_threshold.png")
    if args.json:
        out.write(json.dumps(doc, indent=2, allow_nan=False) + "\n")
        return 0
    g = result.gain
    lines = [f"{len(result.modes)} modes, gain in {g.region}: available {g.peak_gain_per_cm:g} cm⁻¹ at "
             f"{g.peak_wavelength_nm:g} nm (FWHM {g.fwhm_nm:g} nm); {len(result.lasing)} can lase",
             f"{'pol':>4} {'l':>5} {'q':>3} {'wavelength_nm':>14} {'Q':>10} {'Gamma':>7} {'g_th_cm-1':>11} "
             f"{'closed_form':>11} {'available':>10} {'margin':>8}"]
    for lm in result.modes:
        m, mg = lm.mode, lm.gain
        lines.append(f"{m.polarization:>4} {m.l:5d} {m.radial_order:3d} {m.wavelength_nm:14.4f} {m.Q:10.4g} "
                     f"{mg.confinement:7.4f} {mg.threshold_gain_per_cm:11.4g} {mg.closed_form_gain_per_cm:11.4g} "
                     f"{lm.available_gain_per_cm:10.4g} {lm.pump_margin:8.3g}{'  lases' if lm.can_lase else ''}")
    if rows is not None:
        lines.append(f"two-photon pump threshold at {pump.wavelength_nm:g} nm vs core radius (model: [pump]):")
        for r in rows:
            f = r["threshold_fluence_mj_per_cm2"]
            lines.append(f"  R = {r['radius_um']:8.4g} µm: " + ("no mode lases" if f is None else
                         f"{r['polarization']}{r['radial_order']} l={r['l']} at {r['wavelength_nm']:.2f} nm, "
                         f"g_th {r['threshold_gain_per_cm']:.3g} cm⁻¹, F_th {f:.3g} mJ/cm²"))
    if args.out is not None:
        lines.append(f"results in {args.out}/")
    out.write("\n".join(lines) + "\n")
    return 0


def _cmd_lasing(args, out) -> int:
    from .config import apply_overrides, parse_config, read_config_file
    from .gain import parse_gain, parse_lasing, predict_lasing_threshold

    raw = apply_overrides(read_config_file(args.config), args.overrides)
    cfg = parse_config(raw, base_dir=args.config.parent, source=str(args.config))
    model = parse_lasing(raw.get("lasing"), parse_gain(raw.get("gain")))
    if not cfg.resonator.is_2d:
        raise UserError("wgm lasing runs the 2-D limit only: resonator.thickness_um (disk) or height_um (ring) "
                        "= inf")
    if args.out is not None:
        try:
            args.out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"--out {args.out}: cannot create directory ({exc.strerror})") from None
    prediction = predict_lasing_threshold(cfg.resonator, model)  # before Meep: mistakes end here
    from . import fdtd

    curve = fdtd.lasing_curve(cfg.resonator, model, prediction, cfg.fdtd)
    if args.out is not None:
        from . import plotting

        written = curve.write(args.out)
        written.append(plotting.save(plotting.lasing_figure(curve), args.out / "lasing.png"))
        for path in written:
            log.info("wrote %s", path)
    if args.json:
        out.write(curve.to_json() + "\n")
        return 0
    p, g = curve.prediction, curve.prediction.gain
    fit = curve.fit
    lines = [f"{model.polarization}{model.radial_order} m={model.m}: {g.wavelength_nm:.3f} nm, Q {g.Q:.5g}, "
             f"Γ {g.confinement:.3f}, g_th {g.threshold_gain_per_cm:.4g} cm⁻¹ (exact)",
             f"predicted threshold pump rate {p.pump_rate_threshold_per_ps:.4g} /ps (inversion "
             f"{p.inversion_threshold:.3f} N0; lifetime {model.lifetime_ps:g} ps)",
             f"{'pump/pred':>9} {'pump_per_ps':>11} {'output_power':>13} {'wavelength_nm':>13}  state"]
    for pt in curve.points:
        d = pt.to_dict()
        lines.append(f"{pt.pump_rate_rel:9.3f} {d['pump_rate_per_ps']:11.4g} {pt.output_power:13.5g} "
                     f"{pt.wavelength_nm:13.4f}  {pt.state}")
    if fit is None:
        lines.append("FDTD threshold: fewer than two lasing points, no fit")
    else:
        lines.append(f"FDTD threshold (line through the {fit['points']} lasing points): {fit['threshold_rel']:.4f} "
                     f"× predicted ({100 * (fit['threshold_rel'] - 1):+.2f} %)")
    if args.out is not None:
        lines.append(f"results in {args.out}/")
    out.write("\n".join(lines) + "\n")
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


def main(argv=None) -> int:
    """Entry point of the ``wgm`` console script."""
    import os

    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if getattr(args, "verbose", False) else logging.WARNING,
                        format="wgm: %(message)s", stream=sys.stderr)
    out = sys.stdout
    saved = None
    if (args.command == "modes" and args.method in ("fdtd", "both") or args.command == "sweep"
            or args.command == "compare" and args.method == "fdtd" or args.command == "lasing"):
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
        if args.command == "fit":
            return _cmd_fit(args, out)
        if args.command == "compare":
            return _cmd_compare(args, out)
        if args.command == "threshold":
            return _cmd_threshold(args, out)
        if args.command == "lasing":
            return _cmd_lasing(args, out)
        return _cmd_materials(args)
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
        if saved is not None:
            out.close()
            os.dup2(saved, 1)
            os.close(saved)


if __name__ == "__main__":
    sys.exit(main())
