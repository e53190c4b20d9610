"""``wgm fit`` and ``wgm compare``: a measured spectrum against the model."""

from __future__ import annotations

import math
from pathlib import Path

from wgm.cli.common import log, make_out_dir, output_args, warn_losses_not_applied, write_json
from wgm.errors import ConfigError
from wgm.model import validate
from wgm.records import csv_table, with_finite_floats
from wgm.records.files import json_text

def register(sub) -> None:
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
    co.add_argument("--method", choices=["exact", "fem", "fdtd"], default="exact",
                    help="solver (default exact; fem or fdtd for the shapes it cannot do)")
    fi.set_defaults(run=cmd_fit)
    co.set_defaults(run=cmd_compare)


# the options that must be positive numbers when given, and what they mean
_POSITIVE_OPTIONS = {
    "tolerance_nm": ("--tolerance-nm", "a positive number of nm (omit it for the default: a fifth of the "
                                       "model's line spacing)"),
    "snr": ("--snr", "a positive number (multiples of the noise)"),
    "min_prominence": ("--min-prominence", "a positive number (intensity units)"),
}


def _check_options(args) -> None:
    """Refuse a non-positive or non-finite value of a positive option, before any work: one
    line naming the option, the value and what is allowed (never silently replaced)."""
    for dest, (flag, meaning) in _POSITIVE_OPTIONS.items():
        value = getattr(args, dest, None)
        if value is not None:
            try:
                validate.positive(flag, value)
            except ConfigError:
                raise ConfigError(flag, value, f"must be {meaning}") from None


def _read_peaks(args):
    """The measurement: (MeasuredSpectrum or None, peak wavelengths, their errors or None, peak records)."""
    from wgm.experiment.spectra import measured_peaks

    m = measured_peaks(args.spectrum, snr=args.snr, min_prominence=args.min_prominence)
    return m.spectrum, list(m.wavelengths_nm), None if m.errors_nm is None else list(m.errors_nm), list(m.peaks)


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
    from wgm import plotting
    from wgm.records import atomic_write

    make_out_dir(out_dir)
    name = doc["command"]
    atomic_write(out_dir / f"{name}.json", json_text(doc))
    atomic_write(out_dir / "assignments.csv", _assignments_csv(assignments))
    return [out_dir / f"{name}.json", out_dir / "assignments.csv",
            plotting.save(fig, out_dir / f"{name}.png")]


def cmd_fit(args, out) -> int:
    from wgm import plotting
    from wgm.config import apply_overrides, read_config_file
    from wgm.experiment.fitting import fit

    _check_options(args)
    raw = apply_overrides(read_config_file(args.config), args.overrides)
    if raw.get("losses"):
        warn_losses_not_applied("fit")
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
        write_json(out, doc)
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


def cmd_compare(args, out) -> int:
    from wgm import plotting
    from wgm.config import load_config
    from wgm.experiment.fitting import assign, default_tolerance_nm
    from wgm.model.resonator import Search

    _check_options(args)
    cfg = load_config(args.config, args.overrides)
    if cfg.losses.any:
        warn_losses_not_applied("compare")
    measured, peaks, errs, records = _read_peaks(args)
    lo, hi = (float(measured.wavelength_nm[0]), float(measured.wavelength_nm[-1])) if measured is not None \
        else (min(peaks), max(peaks))
    pad = max(2.0, 0.01 * hi)  # modes just outside the range still pair with peaks near its edges
    search = Search((lo - pad, hi + pad), cfg.search.max_radial_order, cfg.search.polarizations)
    if args.method == "fdtd":
        from wgm import fdtd

        spectrum = fdtd.solve(cfg.resonator, search, cfg.fdtd)
    elif args.method == "fem":
        from wgm import fem

        spectrum = fem.solve(cfg.resonator, search, cfg.fem)
    else:
        from wgm.exact.solver import solve

        spectrum = solve(cfg.resonator, search)
    tol = args.tolerance_nm if args.tolerance_nm is not None else default_tolerance_nm(spectrum.modes, peaks, errs)
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
        write_json(out, doc)
        return 0
    head = (f"{len(peaks)} peaks of {args.spectrum}, {len(res)} within {tol:.3g} nm of a {args.method} mode"
            + (f" (rms {1000 * rms:.2f} pm)" if rms is not None else ""))
    out.write(head + "\n" + _assignment_table(assignments) + "\n"
              + (f"results in {args.out}/\n" if args.out is not None else ""))
    return 0
