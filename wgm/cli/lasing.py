"""``wgm threshold`` and ``wgm lasing``: which modes of a gain-coated resonator lase, and the L-L curve."""

from __future__ import annotations

from pathlib import Path

from wgm.cli.common import (_shape_phrase, exact_solves, log, make_out_dir, output_args, warn_losses_not_applied,
                            write_json)
from wgm.errors import UserError
from wgm.records import csv_table, with_finite_floats
from wgm.records.files import json_text

def register(sub) -> None:
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
    th.add_argument("--method", choices=("exact", "fem"), default=None,
                    help="engine of the thresholds (cspbbr3-nc films): exact (spheres, 2-D limit; default) or fem "
                         "(any axisymmetric shape; default where the exact solver cannot; one FEM solve per mode "
                         "and excitation step, ~10 per mode)")
    output_args(th, "write threshold.json, threshold.csv, threshold.png")

    la = sub.add_parser("lasing", help="FDTD L-L curve of one mode with a saturable two-level gain film",
                        description="Output power versus pump rate of one mode (the config's [lasing] table: m, "
                                    "pump rates relative to the predicted threshold, the two-level line) by FDTD "
                                    "(Meep MultilevelAtom; 2-D limit), against the threshold predicted from the "
                                    "exact threshold gain.")
    la.add_argument("config", type=Path, help="TOML config file with a [lasing] table")
    la.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="override a config key, e.g. --set lasing.pump_rates_rel=[0.8,1.5,2] (repeatable)")
    la.add_argument("--pulsed", default=None, metavar="R1,R2,...",
                    help="instead of the L-L curve: a pulsed pump (an instantaneous inversion of R x the CW "
                         "threshold inversion, then decay with lasing.lifetime_ps, which should be a few ps, longer "
                         "than the photon lifetime) -> the FDTD build-up of the mode against the exact-solver "
                         "prediction (buildup.json)")
    la.add_argument("--relax-to", choices=("transparency", "absorption"), default=None,
                    help="with --pulsed: the inversion decays to transparency (three levels; default) or to "
                         "full absorption (two levels)")
    output_args(la, "write lasing.json, lasing.csv and lasing.png (--pulsed: buildup.json) to DIR")
    th.set_defaults(run=cmd_threshold)
    la.set_defaults(run=cmd_lasing)


def cmd_threshold(args, out) -> int:
    from dataclasses import replace

    from wgm import plotting
    from wgm.config import apply_overrides, parse_config, read_config_file
    from wgm.lasing import GainSpectrum, TwoPhotonPump, threshold_vs_radius, thresholds
    from wgm.records import atomic_write

    raw = apply_overrides(read_config_file(args.config), args.overrides)
    cfg = parse_config(raw, base_dir=args.config.parent, source=str(args.config))
    gain = cfg.gain or GainSpectrum()  # the [gain] table, else the default band
    if args.gain_region is not None:
        gain = replace(gain, region=args.gain_region)
    cfg.resonator.region_layers(gain.region, "--gain-region" if args.gain_region is not None else "gain.region")
    pump = cfg.pump or TwoPhotonPump()
    radii = None
    if args.radii_um is not None:
        from wgm.sweeps import parse_axis

        radii = parse_axis(f"resonator.radius_um={args.radii_um}", "--radii-um").values
        if not all(isinstance(r, (int, float)) and r > 0 for r in radii):
            raise UserError(f"--radii-um {args.radii_um}: radii must be positive numbers")
    from wgm.lasing.film_threshold import film_region

    if film_region(cfg.resonator, gain.region) is not None:
        if cfg.gain is not None:
            raise UserError(f"[gain]: the gain region '{gain.region}' is a cspbbr3-nc film, whose gain comes from its "
                            "own model (bleaching and gain with the excitation ⟨N⟩); remove the [gain] table (a gain "
                            "band is for films of a plain index or material)")
        if args.method == "fem" or (args.method is None and not exact_solves(cfg.resonator)):
            if radii is not None:
                raise UserError("--radii-um: with --method fem (or shapes the exact solver cannot do) run "
                                "`wgm sweep` or one radius at a time")
            return _fem_threshold(args, out, cfg, gain.region, pump)
        return _film_threshold(args, out, cfg, gain.region, pump, radii)
    if args.method == "fem":
        raise UserError("--method fem: thresholds by FEM need a cspbbr3-nc film as the gain region (a gain band "
                        "is handled by the exact solver)")
    if not exact_solves(cfg.resonator):
        raise UserError(f"wgm threshold with a gain band uses the exact solver: spheres and the 2-D limit only, "
                        f"not a {_shape_phrase(cfg.resonator)} (a cspbbr3-nc film uses FEM there)")
    result = thresholds(cfg.resonator, cfg.search, gain, losses=cfg.losses)
    doc = with_finite_floats(result.to_dict())
    rows = None
    if radii is not None:
        rows = [r.to_dict() for r in threshold_vs_radius(cfg.resonator, cfg.search, gain, pump, radii)]
        doc["pump"] = with_finite_floats({"model": pump.to_dict(), "vs_radius": rows})
    if args.out is not None:
        make_out_dir(args.out)
        atomic_write(args.out / "threshold.json", json_text(doc))
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
        write_json(out, doc)
        return 0
    g = result.gain
    lines = [f"{len(result.modes)} modes, gain in {g.region}: available {g.peak_gain_per_cm:g} cm⁻¹ at "
             f"{g.peak_wavelength_nm:g} nm (FWHM {g.fwhm_nm:g} nm); {len(result.lasing)} can lase",
             f"{'pol':>4} {'l':>5} {'q':>3} {'wavelength_nm':>14} {'Q':>10} {'Gamma':>7} {'g_th_cm-1':>11} "
             f"{'closed_form':>11} {'available':>10} {'margin':>8}"]
    for lm in result.modes:
        m, mg = lm.mode, lm.gain
        lines.append(f"{m.polarization:>4} {m.l:5d} {m.radial_order:3d} {m.wavelength_nm:14.4f} {m.Q:10.4g} "
                     + (f"{mg.confinement:7.4f}" if mg.confinement is not None else f"{'n/a':>7}")
                     + f" {mg.threshold_gain_per_cm:11.4g} {mg.closed_form_gain_per_cm:11.4g} "
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


def _film_threshold(args, out, cfg, region, pump, radii) -> int:
    """``wgm threshold`` for a gain region made of a cspbbr3-nc film: thresholds in ⟨N⟩."""
    from wgm import plotting
    from wgm.lasing.film_threshold import film_threshold_vs_radius, film_thresholds
    from wgm.records import atomic_write

    from dataclasses import replace

    from wgm.lasing.film_threshold import film_pulsed

    losses = cfg.losses
    result = film_thresholds(cfg.resonator, cfg.search, region, pump=pump, losses=losses)
    if result.lasing and cfg.resonator.kind == "sphere":
        result = replace(result, pulsed=film_pulsed(result, pump))
    doc = with_finite_floats(result.to_dict())
    rows = None
    if radii is not None:
        rows = film_threshold_vs_radius(cfg.resonator, cfg.search, region, radii, pump=pump, losses=losses)
        doc["vs_radius"] = with_finite_floats(rows)
    if args.out is not None:
        make_out_dir(args.out)
        atomic_write(args.out / "threshold.json", json_text(doc))
        cols = ["polarization", "l", "radial_order", "wavelength_nm", "Q", "loaded_Q", "threshold_excitation",
                "threshold_wavelength_nm", "threshold_gain_per_cm", "response_confinement", "confinement",
                "group_index", "rest_Q", "closed_form_gain_per_cm", "threshold_fluence_mj_per_cm2", "can_lase"]
        atomic_write(args.out / "threshold.csv", csv_table(cols, doc["modes"]))
        plotting.save(plotting.film_threshold_figure(result), args.out / "threshold.png")
        if rows is not None:
            keys = ["radius_um", "diameter_um", "polarization", "l", "radial_order", "wavelength_nm", "Q",
                    "confinement", "threshold_excitation", "threshold_gain_per_cm", "margin",
                    "threshold_fluence_mj_per_cm2"]
            atomic_write(args.out / "pump_threshold.csv", csv_table(keys, rows))
            plotting.save(plotting.film_pump_figure(rows, pump), args.out / "pump_threshold.png")
    if args.json:
        write_json(out, doc)
        return 0
    out.write(_film_threshold_text(result, rows, args.out) + "\n")
    return 0


def _pulsed(args, out, cfg, model, prediction) -> int:
    """``wgm lasing --pulsed``: FDTD build-up after an instantaneous inversion vs the prediction."""
    from wgm.records import atomic_write

    try:
        rel = [float(x) for x in args.pulsed.split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--pulsed {args.pulsed}: give inversions relative to the CW threshold, e.g. 0.8,2,3") from None
    if not rel or any(not (r > 0) for r in rel) or any(r * prediction.inversion_threshold > 1 for r in rel):
        raise UserError(f"--pulsed {args.pulsed}: inversions must be > 0 and at most "
                        f"{1 / prediction.inversion_threshold:.3g} (full inversion) in units of the CW threshold")
    from wgm import fdtd

    relax_to = args.relax_to or "transparency"
    runs = fdtd.pulsed_buildup(cfg.resonator, model, rel, relax_to=relax_to, prediction=prediction,
                               settings=cfg.fdtd)
    doc = {"mode": {"polarization": model.polarization, "m": model.m, "radial_order": model.radial_order},
           "lifetime_ps": model.lifetime_ps, "relax_to": relax_to, "runs": [r.to_dict() for r in runs]}
    if args.out is not None:
        atomic_write(args.out / "buildup.json", json_text(with_finite_floats(doc)))
    if args.json:
        write_json(out, with_finite_floats(doc))
        return 0
    fmt = lambda v: "never" if v is None else f"{v:.3f}"  # noqa: E731
    lines = [f"{model.polarization}{model.radial_order} m={model.m}: pulsed pump (instantaneous inversion, decay "
             f"{model.lifetime_ps:g} ps to {relax_to}); times in ps, FDTD / predicted (exact solver)",
             f"{'dN0/dN_th':>9} " + " ".join(f"{'U x' + format(lv, 'g'):>17}" for lv in runs[0].levels)
             + f" {'peak':>17}"]
    for r in runs:
        cells = [f"{fmt(a) + ' / ' + fmt(b):>17}" for a, b in zip(r.buildup_ps, r.predicted_buildup_ps)]
        lines.append(f"{r.inversion_rel:9.3g} " + " ".join(cells) + f" {fmt(r.peak_ps) + ' / ' + fmt(r.predicted_peak_ps):>17}")
    if args.out is not None:
        lines.append(f"results in {args.out}/")
    out.write("\n".join(lines) + "\n")
    return 0


def _fem_threshold(args, out, cfg, region, pump) -> int:
    """``wgm threshold`` by FEM (a cspbbr3-nc film on any axisymmetric shape)."""
    from wgm.fem.settings import FemSettings
    from wgm.lasing.film_threshold import fem_film_thresholds
    from wgm.records import atomic_write

    settings = cfg.fem or FemSettings()
    result = fem_film_thresholds(cfg.resonator, cfg.search, settings, region, pump=pump, losses=cfg.losses)
    doc = with_finite_floats(result.to_dict())
    if args.out is not None:
        make_out_dir(args.out)
        atomic_write(args.out / "threshold.json", json_text(doc))
        cols = ["polarization", "m", "radial_order", "polar_order", "wavelength_nm", "Q", "loaded_Q",
                "threshold_excitation", "threshold_wavelength_nm", "threshold_fluence_mj_per_cm2", "fem_solves"]
        atomic_write(args.out / "threshold.csv", csv_table(cols, doc["modes"]))
    if args.json:
        write_json(out, doc)
        return 0
    las = result.lasing
    lines = [f"{len(result.modes)} modes (FEM), gain region {region} (cspbbr3-nc film: threshold = the excitation "
             f"⟨N⟩ per nanocrystal at which the mode's loaded frequency becomes real)"]
    if not las:
        lines.append("no mode reaches threshold up to ⟨N⟩ = 50")
    else:
        f = las[0]
        lines.append(f"first to lase: {f['polarization']} m={f['m']} q={f['radial_order']} at "
                     f"{f['threshold_wavelength_nm']:.3f} nm, ⟨N⟩_th {f['threshold_excitation']:.4g}")
        if result.margin is not None:
            lines.append(f"margin: the next mode starts at {result.margin:.3g}x the excitation")
    lines.append(f"{'pol':>4} {'m':>4} {'q':>3} {'p':>3} {'wavelength_nm':>14} {'Q_loaded':>10} {'<N>_th':>8} "
                 f"{'F_mJ/cm2':>9}")
    for r in result.modes:
        n = r["threshold_excitation"]
        f = r["threshold_fluence_mj_per_cm2"]
        lines.append(f"{r['polarization']:>4} {r['m']:4d} {r['radial_order'] or 0:3d} {r['polar_order'] or 0:3d} "
                     f"{r['wavelength_nm']:14.4f} {r['loaded_Q']:10.4g} " + (f"{n:8.4g}" if n is not None else f"{'none':>8}")
                     + (f" {f:9.4g}" if f is not None else ""))
    if args.out is not None:
        lines.append(f"results in {args.out}/")
    out.write("\n".join(lines) + "\n")
    return 0


def _film_threshold_text(result, rows, out_dir) -> str:
    las = result.lasing
    lines = [f"{len(result.modes)} modes, gain region {result.region} (cspbbr3-nc film: threshold = the excitation "
             f"⟨N⟩ per nanocrystal at which the mode's loaded frequency becomes real; exact solver)"]
    first = result.first
    if first is None:
        lines.append("no mode reaches threshold up to ⟨N⟩ = 50")
    else:
        m, t = first.mode, first.threshold
        f = first.fluence_mj_per_cm2
        lines.append(f"first to lase: {m.polarization}{m.radial_order} l={m.l} at {t.threshold_wavelength_nm:.3f} nm, "
                     f"⟨N⟩_th {t.threshold_excitation:.4g}" + (f", pump {f:.4g} mJ/cm²" if f is not None else ""))
        if result.margin is not None:
            s = las[1]
            lines.append(f"margin: the next mode, {s.mode.polarization}{s.mode.radial_order} l={s.mode.l} at "
                         f"{s.threshold.threshold_wavelength_nm:.3f} nm, starts at {result.margin:.3g}x the "
                         f"excitation ({result.margin ** 0.5:.3g}x the two-photon fluence)")
    lines.append(f"{'rank':>4} {'pol':>4} {'l':>5} {'q':>3} {'lambda_th_nm':>13} {'Q_loaded':>10} {'<N>_th':>8} "
                 f"{'g_th_cm-1':>10} {'closed_form':>11} {'Gamma_pw':>8} {'F_mJ/cm2':>9}")
    for i, lm in enumerate(result.modes, 1):
        m, t = lm.mode, lm.threshold
        if not lm.can_lase:
            lines.append(f"{'-':>4} {m.polarization:>4} {m.l:5d} {m.radial_order:3d} {m.wavelength_nm:13.4f} "
                         f"{t.loaded_Q:10.4g} {'none':>8}")
            continue
        gam = f"{t.confinement:8.4f}" if t.confinement is not None else f"{'n/a':>8}"
        f = f"{lm.fluence_mj_per_cm2:9.4g}" if lm.fluence_mj_per_cm2 is not None else f"{'':>9}"
        closed = f"{t.closed_form_gain_per_cm:11.4g}" if t.closed_form_gain_per_cm is not None else f"{'n/a':>11}"
        lines.append(f"{i:4d} {m.polarization:>4} {m.l:5d} {m.radial_order:3d} {t.threshold_wavelength_nm:13.4f} "
                     f"{t.loaded_Q:10.4g} {t.threshold_excitation:8.4g} {t.threshold_gain_per_cm:10.4g} "
                     f"{closed} {gam} {f}")
    pulsed = result.pulsed
    if pulsed is not None:
        p = pulsed.pump
        lines.append(f"pulsed pumping ({p.shape} {p.pulse_fs:g} fs at {p.wavelength_nm:g} nm, rate equations of the "
                     f"{len(pulsed.modes)} lowest-threshold modes sharing {pulsed.n_nc:.3g} crystals; criterion: "
                     f"output {pulsed.amplification or 0:g}x above the spontaneous background):")
        if pulsed.first is None:
            lines.append("  no mode lases within the fluences searched")
        else:
            lines.append(f"  first: {pulsed.first.label} at {pulsed.first.threshold_fluence_mj_per_cm2:.4g} mJ/cm² "
                         f"(⟨N⟩₀ {pulsed.first.pulse_excitation:.3g})")
            if pulsed.second is not None:
                lines.append(f"  second: {pulsed.second.label} starts at {pulsed.second_start_fluence_mj_per_cm2:.4g} "
                             f"mJ/cm² (margin {pulsed.margin:.3g}x)")
            else:
                lines.append("  no second mode starts within the fluences searched")
        if pulsed.note:
            lines.append(f"  note: {pulsed.note}")
    if rows is not None:
        lines.append("first mode to lase vs core radius:")
        for r in rows:
            n = r.get("threshold_excitation")
            lines.append(f"  R = {r['radius_um']:8.4g} µm: " + ("no mode lases" if n is None else
                         f"{r['polarization']}{r['radial_order']} l={r['l']} at {r['wavelength_nm']:.2f} nm, "
                         f"⟨N⟩_th {n:.3g}" + (f", F_th {r['threshold_fluence_mj_per_cm2']:.3g} mJ/cm²"
                                              if r['threshold_fluence_mj_per_cm2'] is not None else "")))
    if out_dir is not None:
        lines.append(f"results in {out_dir}/")
    return "\n".join(lines)


def cmd_lasing(args, out) -> int:
    from wgm.config import apply_overrides, parse_config, read_config_file
    from wgm.lasing import parse_lasing, predict_lasing_threshold

    raw = apply_overrides(read_config_file(args.config), args.overrides)
    cfg = parse_config(raw, base_dir=args.config.parent, source=str(args.config))
    # the [lasing] table (its line defaults from [gain]); without one: the error naming what it needs
    model = cfg.lasing if cfg.lasing is not None else parse_lasing(None, cfg.gain)
    if cfg.losses.any:
        warn_losses_not_applied("lasing", "the FDTD run and its prediction see the intrinsic Q")
    if not cfg.resonator.is_2d:
        raise UserError(f"wgm lasing runs the 2-D limit only (a disk or ring with resonator.thickness_um or "
                        f"height_um = inf), not a {_shape_phrase(cfg.resonator)}")
    if args.out is not None:
        make_out_dir(args.out)
    prediction = predict_lasing_threshold(cfg.resonator, model)  # before Meep: mistakes end here
    if args.pulsed is not None:
        return _pulsed(args, out, cfg, model, prediction)
    if args.relax_to is not None:
        raise UserError("--relax-to goes with --pulsed")
    from wgm import fdtd

    curve = fdtd.lasing_curve(cfg.resonator, model, prediction, cfg.fdtd)
    if args.out is not None:
        from wgm import plotting

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
