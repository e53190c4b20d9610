"""``wgm modes``: the modes of one resonator, by the exact solver, FEM or FDTD, or two of them
compared."""

from __future__ import annotations

import math
from pathlib import Path

from wgm import parallel
from wgm.cli.common import METHOD_HELP, log, make_out_dir, parse_method, resolve_method, write_json
from wgm.errors import UserError
from wgm.records.modes import ENGINE_LABELS

def register(sub) -> None:
    m = sub.add_parser("modes", help="find the modes of a resonator",
                       description="Find every mode of the configured resonator in the search band.")
    m.add_argument("config", type=Path, help="TOML config file")
    m.add_argument("--method", default="exact", metavar="METHOD", help=METHOD_HELP)
    m.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set resonator.radius_um=2.4 (repeatable)")
    m.add_argument("--json", action="store_true", help="print the result as one JSON object on stdout")
    m.add_argument("--out", type=Path, metavar="DIR", help="write modes.json, modes.csv and spectrum.png to DIR "
                   "(two methods: the exact solver's in DIR, FEM's in DIR/fem, FDTD's in DIR/fdtd, and "
                   "comparison.csv, comparison.png in DIR)")
    m.add_argument("--fields", action="store_true",
                   help="with --method fem or fdtd (alone or in a pair) and --out: per mode |E|² in the (r, z) "
                        "plane and the x-y map (PNG), and the raw fields (fields.h5), beside the engine's modes")
    m.add_argument("-v", "--verbose", action="store_true", help="progress and diagnostics on stderr")
    m.set_defaults(run=cmd_modes)


# The emission figures' columns (wgm.records.emission): Mode field, header, format, scale.
_EMISSION_COLUMNS = (("n_eff", "n_eff", "6.4f", 1.0), ("n_group", "n_g", "6.4f", 1.0),
                     ("purcell_factor", "F_max", "9.3g", 1.0), ("purcell_factor_mean", "F_mean", "9.3g", 1.0),
                     ("beta", "beta", "9.3g", 1.0))


def _emission(cfg, spectrum):
    """The spectrum with its emission figures: the emitting layer and line from ``[gain]``
    (region, peak_wavelength_nm, fwhm_nm) when the config has one; else, when the outermost
    coating is a cspbbr3-nc film, that film and its own emission line (the McCumber image of
    its band edge, wgm.model.nanocrystal); else the outermost coating (none if uncoated) and no
    line (a narrow emitter, no β)."""
    from wgm.model.nanocrystal import emission_line_nm, film_of
    from wgm.records.emission import emission_figures

    gain = getattr(cfg, "gain", None)
    res = spectrum.resonator
    if gain is not None:
        res.region_layers(gain.region, "gain.region")  # a region the resonator lacks: the user's key
        return emission_figures(spectrum, gain.region, gain.peak_wavelength_nm, gain.fwhm_nm)
    if res.coatings:
        layer = f"coating.{len(res.coatings) - 1}"
        film = film_of(res.coatings[-1].material)
        if film is not None:
            return emission_figures(spectrum, layer, *emission_line_nm(film))
    return emission_figures(spectrum)


def _q_head(modes) -> str:
    """The Q column's header: loaded once the Q budget is applied, else the engine's (intrinsic)."""
    return "Q_loaded" if any(md.q_intrinsic is not None for md in modes) else "Q"


def _budget_columns(modes) -> list[tuple[str, str]]:
    """The Q budget's columns present in ``modes`` (field, header): the engine's Q, radiation and
    absorption where split, surface scattering and coupling where finite for some mode."""
    cols = []
    if any(md.q_intrinsic is not None for md in modes):
        cols.append(("q_intrinsic", "Q_int"))
    if any(md.q_radiation is not None for md in modes):
        cols += [("q_radiation", "Q_rad"), ("q_absorption", "Q_abs")]
    for name, head in (("q_scattering", "Q_ss"), ("q_coupling", "Q_c")):
        if any(getattr(md, name) is not None and math.isfinite(getattr(md, name)) for md in modes):
            cols.append((name, head))
    return cols


def _format_table(spectrum) -> str:
    """The modes, one line each; FEM's polar order, mode volume and share of the electric energy
    in the core (exact spheres: volume and share too) in three more columns when the engine gives
    them; then the emission figures (n_eff, n_g, F_max, F_mean, beta) where computed."""
    modes = spectrum.modes
    polar = any(md.polar_order is not None for md in modes)
    volume = any(md.mode_volume_um3 is not None for md in modes)
    core = any(md.core_energy_share is not None for md in modes)
    emission = [(name, head, fmt, scale) for name, head, fmt, scale in _EMISSION_COLUMNS
                if any(getattr(md, name, None) is not None for md in modes)]
    emission = [(name, head, "10.4g", 1.0) for name, head in _budget_columns(modes)] + emission
    extra_head = (f" {'p':>3}" * polar + f" {'V_um3':>9}" * volume + f" {'core_%':>7}" * core
                  + "".join(f" {head:>{len(format(0, fmt))}}" for _, head, fmt, _ in emission))
    lines = [f"{len(modes)} modes of the {spectrum.resonator.kind} in "
             f"{spectrum.search.wavelength_nm[0]:g}-{spectrum.search.wavelength_nm[1]:g} nm ({spectrum.method})",
             f"{'pol':>4} {'l':>6} {'m':>6} {'q':>3} {'wavelength_nm':>14} {_q_head(modes):>12} {'linewidth_pm':>13} "
             f"{'fsr_nm':>9}{extra_head}  note"]
    dash = lambda v, fmt: format(v, fmt) if v is not None else "-".rjust(len(format(0, fmt)))  # noqa: E731
    for md in modes:
        q = (f"{md.Q:12.5g}" if md.q_resolved else f">{md.Q:11.4g}") if math.isfinite(md.Q) else f"{'inf':>12}"
        lw = f"{1000 * md.linewidth_nm:13.4g}" if math.isfinite(md.linewidth_nm) else f"{'0':>13}"
        fsr = f"{md.fsr_nm:9.4f}" if md.fsr_nm is not None else f"{'-':>9}"
        extra = ""
        if polar:
            extra += " " + dash(md.polar_order, "3d")
        if volume:
            extra += " " + dash(md.mode_volume_um3, "9.4g")
        if core:
            share = md.core_energy_share
            extra += " " + dash(100 * share if share is not None else None, "7.2f")
        for name, _, fmt, scale in emission:
            v = getattr(md, name, None)
            extra += " " + dash(scale * v if v is not None else None, fmt)
        lines.append(f"{md.polarization:>4} {dash(md.l, '6d')} {md.m:6d} {dash(md.radial_order, '3d')} "
                     f"{md.wavelength_nm:14.5f} "
                     f"{q} {lw} {fsr}{extra}  {md.note}")
    return "\n".join(lines)


def _format_comparison(pairs, model=None, names=("exact", "fdtd"), reference_note=None) -> str:
    a, b = names
    la, lb = ENGINE_LABELS[a], ENGINE_LABELS[b]
    if model is not None:
        what = ("exact: the true materials; fit: exact modes of the fitted models FDTD simulates, against the "
                "true ones; num: FDTD before its per-line correction against the fitted models")
    else:
        what = reference_note or f"{lb} against {la}"
    dash = lambda v, fmt: format(v, fmt) if v is not None else "-".rjust(len(format(0, fmt)))  # noqa: E731
    lines = [f"{len(pairs)} modes found by both methods ({what}); Q: each engine's intrinsic Q (radiation + "
             "absorption)",
             f"{'pol':>4} {'l':>5} {'m':>5} {'q':>3} {a + '_nm':>12} {b + '_nm':>12} {'diff_%':>8} "
             f"{'Q_' + a:>10} {'Q_' + b:>10} {'diff_%':>7}"]
    for e, f in pairs:
        qe, qo = e.intrinsic_q, f.intrinsic_q  # engines are compared by their own (intrinsic) Q
        qf = f"{qo:10.4g}" if f.q_resolved else f">{qo:9.3g}"
        lines.append(f"{f.polarization:>4} {dash(f.l, '5d')} {f.m:5d} {dash(f.radial_order, '3d')} "
                     f"{e.wavelength_nm:12.4f} "
                     f"{f.wavelength_nm:12.4f} {100 * (f.wavelength_nm / e.wavelength_nm - 1):8.4f} "
                     f"{qe:10.4g} {qf} {100 * (qo / qe - 1):7.2f}")
    if model is not None:
        from wgm.records import comparison_rows

        lines.append(f"{'pol':>4} {'l':>5} {'q':>3} {'fit_dl_%':>9} {'fit_dQ_%':>9} {'num_dl_%':>9} {'num_dQ_%':>9}")
        for row in comparison_rows(pairs, model, names):
            if row["wavelength_nm_model"] is not None:
                lines.append(f"{row['polarization']:>4} {row['l']:5d} {row['radial_order']:3d} "
                             f"{100 * row['fit_wavelength_rel_diff']:9.4f} {100 * row['fit_Q_rel_diff']:9.2f} "
                             f"{100 * row['numerical_wavelength_rel_diff']:9.4f} {100 * row['numerical_Q_rel_diff']:9.2f}")
    return "\n".join(lines)


def _format_missing(spectrum) -> str:
    """One line per exact mode of the band the FDTD or FEM run did not report (empty when none)."""
    missing = getattr(spectrum, "missing", ())
    if not missing:
        return ""
    label = ENGINE_LABELS.get(spectrum.method, spectrum.method)
    lines = [f"{len(missing)} exact mode{'s' * (len(missing) != 1)} of the {label} band not found by {label} "
             f"(reason; also in missing.csv with --out):"]
    for x in missing:
        lines.append(f"{x.polarization:>4} {x.l:5d} {x.m:5d} {x.radial_order:3d} {x.wavelength_nm:12.4f} "
                     f"{x.Q:10.4g}  {x.reason}{': ' + x.note if x.note else ''}")
    return "\n".join(lines) + "\n"


def _solve(engine: str, cfg, fields: bool):
    """The spectrum of one engine (exact first: fast, and it refuses what it cannot do)."""
    if engine == "exact":
        from wgm.exact.solver import solve

        return solve(cfg.resonator, cfg.search)
    if engine == "fem":
        from wgm import fem

        return fem.solve(cfg.resonator, cfg.search, cfg.fem, fields=fields)
    from wgm import fdtd

    return fdtd.solve(cfg.resonator, cfg.search, cfg.fdtd)  # logs the exact modes it missed


def _exact_reference_for_fdtd(cfg, spectrum):
    """The exact modes to compare an FDTD run with, and (dispersive FDTD) those of the fitted
    models it simulated."""
    from wgm.exact.solver import solve

    band = cfg.fdtd.band(cfg.search)
    fits = spectrum.run_info.get("material_fits")
    if fits:
        # dispersive FDTD: compare with the exact modes of the true materials, and show
        # those of the fitted models FDTD simulates (the fit error apart from the numerics)
        from wgm.model.dispersion_fit import model_resonator

        return solve(cfg.resonator, band), solve(model_resonator(cfg.resonator, fits), band)
    # band-centre FDTD (or constant indices only): the exact modes of that model
    lam_c = 2.0 / (1.0 / band.wavelength_nm[0] + 1.0 / band.wavelength_nm[1])
    return solve(cfg.resonator.frozen_at(lam_c), band), None


def cmd_modes(args, out) -> int:
    from wgm.config import load_config

    method = parse_method(args.method)  # a mistake is said before the config is read
    cfg = load_config(args.config, args.overrides)
    engines = resolve_method(method, cfg.resonator)
    if args.fields and (engines == ("exact",) or args.out is None):
        raise UserError("--fields needs --method fem or fdtd (alone or in a pair) and --out DIR")
    from wgm.records.budget import apply_q_budget

    # every engine's modes with their Q budget: Q is then the loaded Q ([losses] added)
    spectra = {name: _emission(cfg, apply_q_budget(_solve(name, cfg, args.fields), cfg.losses)) for name in engines}
    pairs = model = None
    names = engines if len(engines) == 2 else None
    note = None
    if names is not None:
        from wgm.records import comparison_rows, match_modes

        a, b = names
        reference = spectra[a]
        if names == ("exact", "fdtd"):
            reference, model = _exact_reference_for_fdtd(cfg, spectra[b])
            if model is None:
                note = "exact: materials at the band centre, as in FDTD"
        pairs = match_modes(reference, spectra[b])
    if not parallel.is_io_rank():
        return 0
    if args.out is not None:
        from wgm import plotting
        from wgm.records import atomic_write, comparison_csv

        make_out_dir(args.out)
        written = []
        for name, spectrum in spectra.items():
            # alone: everything in DIR; a pair: the exact solver's in DIR, the others' in DIR/<engine>
            where = args.out if names is None or name == "exact" else args.out / name
            where.mkdir(exist_ok=True)
            written += spectrum.write(where)
            written.append(plotting.save(plotting.spectrum_figure(spectrum), where / "spectrum.png"))
            if args.fields and name != "exact":
                written += plotting.save_field_maps(spectrum, where)
                written.append(spectrum.profiles_to_hdf5(where / "fields.h5"))
        if names is not None:
            atomic_write(args.out / "comparison.csv", comparison_csv(pairs, model, names))
            written.append(args.out / "comparison.csv")
            written.append(plotting.save(plotting.comparison_figure(reference, spectra[names[1]], pairs),
                                         args.out / "comparison.png"))
        for path in written:
            log.info("wrote %s", path)
    if names is not None:
        if args.json:
            doc = {name: spectra[name].to_dict() for name in names}
            doc["comparison"] = comparison_rows(pairs, model, names)
            write_json(out, doc)
        else:
            out.write(_format_comparison(pairs, model, names, note) + "\n"
                      + "".join(_format_missing(spectra[name]) for name in names))
            if args.out is not None:
                out.write(f"results in {args.out}/\n")
        return 0
    (spectrum,) = spectra.values()
    if args.json:
        out.write(spectrum.to_json() + "\n")
    elif args.out is None:
        out.write(_format_table(spectrum) + "\n" + _format_missing(spectrum))
    else:
        out.write(_format_table(spectrum) + "\n" + _format_missing(spectrum) + f"results in {args.out}/\n")
    return 0
