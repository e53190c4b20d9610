"""``wgm modes``: the modes of one resonator, by the exact solver, FDTD or both."""

from __future__ import annotations

import math
from pathlib import Path

from wgm import parallel
from wgm.cli.common import log, make_out_dir, write_json
from wgm.errors import UserError

def register(sub) -> None:
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
    m.set_defaults(run=cmd_modes)


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


def _format_comparison(pairs, model=None) -> str:
    what = ("exact: the true materials; fit: exact modes of the fitted models FDTD simulates, against the true "
            "ones; num: FDTD before its per-line correction against the fitted models" if model is not None
            else "exact: materials at the band centre, as in FDTD")
    lines = [f"{len(pairs)} modes found by both methods ({what})",
             f"{'pol':>4} {'l':>5} {'m':>5} {'q':>3} {'exact_nm':>12} {'fdtd_nm':>12} {'diff_%':>8} "
             f"{'Q_exact':>10} {'Q_fdtd':>10} {'diff_%':>7}"]
    for e, f in pairs:
        qf = f"{f.Q:10.4g}" if f.q_resolved else f">{f.Q:9.3g}"
        lines.append(f"{f.polarization:>4} {f.l:5d} {f.m:5d} {f.radial_order:3d} {e.wavelength_nm:12.4f} "
                     f"{f.wavelength_nm:12.4f} {100 * (f.wavelength_nm / e.wavelength_nm - 1):8.4f} "
                     f"{e.Q:10.4g} {qf} {100 * (f.Q / e.Q - 1):7.2f}")
    if model is not None:
        from wgm.records import comparison_rows

        lines.append(f"{'pol':>4} {'l':>5} {'q':>3} {'fit_dl_%':>9} {'fit_dQ_%':>9} {'num_dl_%':>9} {'num_dQ_%':>9}")
        for row in comparison_rows(pairs, model):
            if row["wavelength_nm_model"] is not None:
                lines.append(f"{row['polarization']:>4} {row['l']:5d} {row['radial_order']:3d} "
                             f"{100 * row['fit_wavelength_rel_diff']:9.4f} {100 * row['fit_Q_rel_diff']:9.2f} "
                             f"{100 * row['numerical_wavelength_rel_diff']:9.4f} {100 * row['numerical_Q_rel_diff']:9.2f}")
    return "\n".join(lines)


def _format_missing(spectrum) -> str:
    """One line per exact mode of the band the FDTD run did not report (empty when none)."""
    missing = getattr(spectrum, "missing", ())
    if not missing:
        return ""
    lines = [f"{len(missing)} exact mode{'s' * (len(missing) != 1)} of the FDTD band not found by FDTD "
             f"(reason; also in missing.csv with --out):"]
    for x in missing:
        lines.append(f"{x.polarization:>4} {x.l:5d} {x.m:5d} {x.radial_order:3d} {x.wavelength_nm:12.4f} "
                     f"{x.Q:10.4g}  {x.reason}{': ' + x.note if x.note else ''}")
    return "\n".join(lines) + "\n"


def cmd_modes(args, out) -> int:
    from wgm.config import load_config

    cfg = load_config(args.config, args.overrides)
    if args.fields and (args.method == "exact" or args.out is None):
        raise UserError("--fields needs --method fdtd (or both) and --out DIR")
    pairs = None
    if args.method in ("exact", "both"):
        from wgm.exact.solver import solve

        exact_spectrum = solve(cfg.resonator, cfg.search)  # fast; refuses shapes it cannot solve
        spectrum = exact_spectrum
    if args.method in ("fdtd", "both"):
        from wgm import fdtd

        spectrum = fdtd.solve(cfg.resonator, cfg.search, cfg.fdtd)  # logs the exact modes it missed
    model = None
    if args.method == "both":
        from wgm.records import comparison_rows, match_modes

        band = cfg.fdtd.band(cfg.search)
        fits = spectrum.run_info.get("material_fits")
        if fits:
            # dispersive FDTD: compare with the exact modes of the true materials, and show
            # those of the fitted models FDTD simulates (the fit error apart from the numerics)
            from wgm.model.dispersion_fit import model_resonator

            reference = solve(cfg.resonator, band)
            model = solve(model_resonator(cfg.resonator, fits), band)
        else:
            # band-centre FDTD (or constant indices only): the exact modes of that model
            lam_c = 2.0 / (1.0 / band.wavelength_nm[0] + 1.0 / band.wavelength_nm[1])
            reference = solve(cfg.resonator.frozen_at(lam_c), band)
        pairs = match_modes(reference, spectrum)
    if not parallel.is_io_rank():
        return 0
    if args.out is not None:
        from wgm import plotting
        from wgm.records import atomic_write, comparison_csv

        make_out_dir(args.out)
        if pairs is not None:
            written = exact_spectrum.write(args.out)
            written.append(plotting.save(plotting.spectrum_figure(exact_spectrum), args.out / "spectrum.png"))
            (args.out / "fdtd").mkdir(exist_ok=True)
            written += spectrum.write(args.out / "fdtd")
            written.append(plotting.save(plotting.spectrum_figure(spectrum), args.out / "fdtd" / "spectrum.png"))
            atomic_write(args.out / "comparison.csv", comparison_csv(pairs, model))
            written.append(args.out / "comparison.csv")
            written.append(plotting.save(plotting.comparison_figure(reference, spectrum, pairs),
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
            doc = {"exact": exact_spectrum.to_dict(), "fdtd": spectrum.to_dict(), "comparison": comparison_rows(pairs, model)}
            write_json(out, doc)
        else:
            out.write(_format_comparison(pairs, model) + "\n" + _format_missing(spectrum))
            if args.out is not None:
                out.write(f"results in {args.out}/\n")
        return 0
    if args.json:
        out.write(spectrum.to_json() + "\n")
    elif args.out is None:
        out.write(_format_table(spectrum) + "\n" + _format_missing(spectrum))
    else:
        out.write(_format_table(spectrum) + "\n" + _format_missing(spectrum) + f"results in {args.out}/\n")
    return 0
