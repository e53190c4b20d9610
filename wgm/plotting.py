"""Figures of mode spectra, sweeps, fits and lasing runs.

Every function returns a :class:`matplotlib.figure.Figure` made with the object-oriented
API: no pyplot, no global figure state, and the backend is never touched (a notebook keeps
its inline plots).  :func:`save` writes a figure as PNG atomically with the Agg canvas.
"""

from __future__ import annotations

import math
import re
from pathlib import Path

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from wgm.records import atomic_path

__all__ = ["spectrum_figure", "comparison_figure", "field_figure", "save", "save_field_maps", "FAMILY_STYLE",
           "sweep_figure", "save_sweep_figures", "overlay_figure", "threshold_figure", "pump_figure",
           "lasing_figure", "FSR_JUMP_FACTOR"]

_MARKERS = {"TE": "o", "TM": "s"}
_COLORS = {"TE": ["#1f77b4", "#2ca02c", "#17becf", "#7f7f7f"], "TM": ["#d62728", "#ff7f0e", "#e377c2", "#8c564b"]}
_UNKNOWN_ORDER_COLOR = "0.3"


def FAMILY_STYLE(family: str) -> dict:
    """Marker, colour and line style of a family label such as ``"TE1"`` (TE: filled
    circles, blue-green; TM: open squares, red-orange; shade by radial order).  A family whose
    radial order is unknown (``"TE?"``, FDTD) gets dark grey triangles and a dotted line."""
    pol, order = family[:2], family[2:]
    tm = pol == "TM"
    if not order.isdigit():
        return {"marker": "v" if tm else "^", "color": _UNKNOWN_ORDER_COLOR, "mfc": "none" if tm else None,
                "ls": ":"}
    colors = _COLORS.get(pol, _COLORS["TE"])
    return {"marker": _MARKERS.get(pol, "^"), "color": colors[(int(order) - 1) % len(colors)],
            "mfc": "none" if tm else None, "ls": "--" if tm else "-"}


def _family_legend(family: str) -> str:
    return f"{family[:2]} q={family[2:]}"


def _figure(width_in: float, height_in: float) -> Figure:
    return Figure(figsize=(width_in, height_in), layout="constrained")


def _spread(xs, ys, xlim, ylim, *, log_y=False, min_dx=0.035, min_dy=0.06) -> list[bool]:
    """Which of the points (x, y) to label so that no two labels are closer than ``min_dx``
    (fraction of the axis width) and ``min_dy`` (of its height): greedy, in the given order."""
    def frac(v, lim, log):
        a, b = (np.log10(lim[0]), np.log10(lim[1])) if log else lim
        v = np.log10(v) if log else v
        return (v - a) / (b - a) if b > a else 0.5

    placed, keep = [], []
    for x, y in zip(xs, ys):
        if not (np.isfinite(x) and np.isfinite(y)) or (log_y and y <= 0):
            keep.append(False)
            continue
        fx, fy = frac(x, xlim, False), frac(y, ylim, log_y)
        ok = all(abs(fx - px) >= min_dx or abs(fy - py) >= min_dy for px, py in placed)
        keep.append(ok)
        if ok:
            placed.append((fx, fy))
    return keep


def _title(spectrum) -> str:
    res = spectrum.resonator
    if res.kind == "toroid":
        size = f"R = {res.shape.major_radius_um:g} µm, tube a = {res.shape.tube_radius_um:g} µm"
    else:
        size = f"R = {res.shape.radius_um:g} µm"
    parts = [f"{res.kind}, {size}, {res.shape.material.name}"]
    for c in res.coatings:
        parts.append(f"+ {1000 * c.thickness_um:g} nm {c.material.name}")
    if res.pedestal is not None:
        p = res.pedestal
        parts.append(f"on a {p.material.name} pedestal (r = {p.radius_um:g} µm, h = {p.height_um:g} µm)")
    return " ".join(parts)


def q_label(modes) -> str:
    """The name of the Q a spectrum's modes carry: ``"Q (loaded)"`` once the Q budget is applied
    (:func:`wgm.records.budget.apply_q_budget`), else the engine's plain ``"Q"``."""
    if any(getattr(m, "q_intrinsic", None) is not None for m in modes):
        return "Q (loaded)"
    return "Q"


def _finite_q(modes, intrinsic: bool = False) -> np.ndarray:
    qs = [getattr(m, "intrinsic_q", m.Q) if intrinsic else m.Q for m in modes]
    return np.array([q if math.isfinite(q) and q > 0 else np.nan for q in qs], dtype=float)


def _q_limits(modes) -> tuple[float, float]:
    q = _finite_q(modes)
    q = q[np.isfinite(q)]
    if not len(q):
        return 1.0, 10.0
    return float(q.min()) / 2, float(q.max()) * 3


def spectrum_figure(spectrum, *, label_modes: bool = True):
    """Two panels: Q versus wavelength (log scale, one marker style per family, points
    labelled with l where there is room), and the modes as Lorentzian lines of equal area
    (as in an emission spectrum in which every mode carries the same power: peak ∝ Q).

    Parameters
    ----------
    spectrum : ModeSpectrum
    label_modes : bool
        Annotate points with their angular number l (labels that would overlap are left out).
    """
    fig = _figure(9, 6.5)
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    fams = spectrum.families()
    lo, hi = spectrum.search.wavelength_nm
    qlim = _q_limits(spectrum.modes)
    labels = []
    for fam, modes in fams.items():
        lam = np.array([m.wavelength_nm for m in modes])
        Q = _finite_q(modes)
        st = FAMILY_STYLE(fam)
        ax.semilogy(lam, Q, linestyle="none", marker=st["marker"], color=st["color"],
                    mfc=st["mfc"] or st["color"], ms=6, label=_family_legend(fam))
        labels += [(m, q, st["color"]) for m, q in zip(modes, Q) if m.l is not None]
    if label_modes and labels:
        labels.sort(key=lambda t: -t[1] if np.isfinite(t[1]) else 0.0)  # highest Q first
        keep = _spread([m.wavelength_nm for m, _, _ in labels], [q for _, q, _ in labels], (lo, hi), qlim,
                       log_y=True)
        for (m, q, color), k in zip(labels, keep):
            if k:
                ax.annotate(str(m.l), (m.wavelength_nm, q), textcoords="offset points", xytext=(0, 6),
                            ha="center", fontsize=7, color=color)
    ax.set_ylabel(q_label(spectrum.modes))
    ax.set_ylim(*qlim)
    ax.set_title(_title(spectrum) + f"  ({spectrum.method})", fontsize=10)
    ax.grid(True, which="both", alpha=0.25)
    if fams:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0))
    # Lorentzian lines of unit area: peak 2/(π FWHM) ∝ Q.  Lines narrower than the plot's
    # resolution are drawn at that width, so very high Q stays visible (and finite).
    grid = np.linspace(lo, hi, 8000)
    floor = 4 * (grid[1] - grid[0])  # narrowest drawn FWHM: four grid steps
    family_lines = {}
    for fam, modes in fams.items():
        line = np.zeros_like(grid)
        for m in modes:
            hw = max(m.linewidth_nm if math.isfinite(m.linewidth_nm) else 0.0, floor) / 2
            line += (hw / math.pi) / ((grid - m.wavelength_nm) ** 2 + hw ** 2)
        family_lines[fam] = line
    top = max((float(v.max()) for v in family_lines.values()), default=0.0) or 1.0
    for fam, line in family_lines.items():
        st = FAMILY_STYLE(fam)
        ax2.plot(grid, line / top, color=st["color"], lw=0.9, ls=st["ls"], label=fam)
    ax2.set_xlabel("wavelength (nm)")
    ax2.set_ylabel(f"lines of equal area\n(peak ∝ Q; FWHM ≥ {floor:.2g} nm)", fontsize=9)
    ax2.set_xlim(lo, hi)
    ax2.set_ylim(0, 1.08)
    return fig


def comparison_figure(reference_spectrum, other_spectrum, pairs):
    """The reference engine's modes (open markers) and the other's (filled) on one
    wavelength-Q plot; below, for every matched pair, the relative wavelength difference and,
    on its own axis, the relative Q difference (open markers: the other engine's Q is only a
    lower bound).  The engines are named after the spectra's methods (exact, FEM, FDTD)."""
    from wgm.records.modes import ENGINE_LABELS

    ra = ENGINE_LABELS.get(reference_spectrum.method, reference_spectrum.method)
    ob = ENGINE_LABELS.get(other_spectrum.method, other_spectrum.method)
    fig = _figure(9, 8)
    ax, ax2, ax3 = fig.subplots(3, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1, 1]})
    for fam, modes in reference_spectrum.families().items():
        st = FAMILY_STYLE(fam)
        ax.semilogy([m.wavelength_nm for m in modes], _finite_q(modes, True), ls="none", marker=st["marker"],
                    ms=10, mfc="none", color=st["color"], label=f"{ra} {fam}")
    for fam, modes in other_spectrum.families().items():
        st = FAMILY_STYLE(fam)
        ax.semilogy([m.wavelength_nm for m in modes], _finite_q(modes, True), ls="none", marker=st["marker"],
                    ms=5, color=st["color"], label=f"{ob} {fam}")
    ax.set_ylabel("Q (intrinsic)")
    ax.grid(True, which="both", alpha=0.25)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.005, 1.0))
    ax.set_title(_title(other_spectrum) + f"  ({ra}: open, {ob}: filled)", fontsize=10)
    ax2.plot([f.wavelength_nm for _, f in pairs], [100 * (f.wavelength_nm / e.wavelength_nm - 1) for e, f in pairs],
             "o", color="k", ms=4)
    dq = lambda e, f: 100 * (f.intrinsic_q / e.intrinsic_q - 1)  # noqa: E731
    resolved = [(f.wavelength_nm, dq(e, f)) for e, f in pairs if f.q_resolved]
    bound = [(f.wavelength_nm, dq(e, f)) for e, f in pairs if not f.q_resolved]
    if resolved:
        ax3.plot(*zip(*resolved), "s", color="C3", ms=5, label=f"{ob} Q resolved")
    if bound:
        ax3.plot(*zip(*bound), "s", mfc="none", color="C3", ms=5, label=f"{ob} Q a lower bound")
        ax3.legend(fontsize=7)
    if not pairs:
        ax2.text(0.5, 0.5, f"no {ob} mode matched to a {ra} one", transform=ax2.transAxes, ha="center",
                 va="center")
    for a, label in ((ax2, f"λ_{ob} / λ_{ra} − 1 (%)"), (ax3, f"Q_{ob} / Q_{ra} − 1 (%)")):
        a.axhline(0, color="0.5", lw=0.8)
        a.set_ylabel(label, fontsize=9)
        a.grid(alpha=0.3)
    ax3.set_xlabel("wavelength (nm)")
    ax3.set_xlim(*other_spectrum.search.wavelength_nm)
    return fig


def _mode_label(mode) -> str:
    lq = f", l={mode.l}" if mode.l is not None else ""
    q = f", q={mode.radial_order}" if mode.radial_order is not None else ""
    return f"{mode.polarization} m={mode.m}{lq}{q}, λ={mode.wavelength_nm:.3f} nm, Q={mode.Q:.4g}"


def field_figure(profile):
    """|E|² of one mode: the (r, z) half-plane, and the x-y map of its e^{imφ} pattern in
    the equatorial plane (standing wave cos(mφ): the ±m pair)."""
    r, z = np.asarray(profile.r_um), np.asarray(profile.z_um)
    inten = np.asarray(profile.intensity())
    inten = inten / inten.max() if inten.max() > 0 else inten
    fig = _figure(11, 4.8)
    ax1, ax2 = fig.subplots(1, 2)
    if len(z) > 1:
        ax1.pcolormesh(r, z, inten.T, shading="auto", cmap="magma", vmin=0, vmax=1)
        ax1.contour(r, z, np.asarray(profile.epsilon).T, levels=6, colors="w", linewidths=0.4, alpha=0.6)
        ax1.set_ylabel("z (µm)")
        ax1.set_aspect("equal")
    else:
        ax1.plot(r, inten[:, 0], color="k")
        ax1.set_ylabel("|E|² (norm.)")
    ax1.set_xlabel("r (µm)")
    ax1.set_title("|E|² in the (r, z) plane", fontsize=10)
    iz = int(np.argmin(np.abs(z)))
    radial = inten[:, iz]
    n = 361
    x = np.linspace(-r.max(), r.max(), n)
    X, Y = np.meshgrid(x, x)
    rho, phi = np.hypot(X, Y), np.arctan2(Y, X)
    amp = np.interp(rho, r, radial, right=0.0)
    mesh = ax2.pcolormesh(x, x, amp * np.cos(profile.mode.m * phi) ** 2, shading="auto", cmap="magma",
                          vmin=0, vmax=1)
    fig.colorbar(mesh, ax=ax2, label="|E|² (norm.)", shrink=0.85)
    ax2.set_aspect("equal")
    ax2.set_xlabel("x (µm)")
    ax2.set_ylabel("y (µm)")
    ax2.set_title("|E|² in the x-y plane (z = 0), cos(mφ) standing wave", fontsize=10)
    fig.suptitle(_mode_label(profile.mode), fontsize=11)
    return fig


def save_field_maps(spectrum, out_dir) -> list:
    """One PNG per mode profile (FDTD, FEM): ``field_<pol>_m<m>_<λ>nm.png``."""
    out = []
    for prof in spectrum.profiles:
        md = prof.mode
        name = f"field_{md.polarization}_m{md.m}_{md.wavelength_nm:.2f}nm.png"
        out.append(save(field_figure(prof), Path(out_dir) / name))
    return out


def save(fig, path) -> Path:
    """Save a figure as PNG atomically (temporary file, then rename).  matplotlib renders
    PNG with Agg whatever the backend is, and the figure's own canvas is left as it is."""
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=130, format="png")
    return path


# --------------------------------------------------------------------------------------
# sweeps

_MAX_PANELS = 12


def _sweep_lines(rows, xkey):
    """Rows grouped into lines that follow one mode as the swept value changes: same
    polarization, radial order and angular number l (or, when l is unknown, m and the polar
    order where the engine gives it: FEM's modes of a finite shape)."""
    lines: dict[tuple, list] = {}
    for r in rows:
        num = r["l"] if r["l"] is not None else r["m"]
        polar = r.get("polar_order") if r["l"] is None else None
        lines.setdefault((r["polarization"], r["radial_order"], num, polar), []).append(r)
    for pts in lines.values():
        pts.sort(key=lambda r: r[xkey])
    return lines


def _panels(result):
    """(title, rows) per combination of the axes other than the first (capped)."""
    keys = result.sweep.keys
    xkey, others = keys[0], keys[1:]
    rows = [r for r in result.rows() if isinstance(r[xkey], (int, float))]
    if not others or result.sweep.zip:
        return xkey, [("", rows)]
    groups: dict[tuple, list] = {}
    for r in rows:
        groups.setdefault(tuple(r[k] for k in others), []).append(r)
    panels = [(", ".join(f"{k} = {v:g}" if isinstance(v, float) else f"{k} = {v}" for k, v in zip(others, vals)),
               rs) for vals, rs in groups.items()]
    return xkey, panels[:_MAX_PANELS]


#: In ``fsr.png`` a mode's line is broken where its FSR changes by more than this factor
#: between neighbouring sweep points: a family label that swapped radial orders (or crossed an
#: absorption edge) makes such jumps, and joining them draws a tangle, not a trend.
FSR_JUMP_FACTOR = 2.0

#: Notes (``Mode.note``) that make a mode's FSR doubtful: it is then drawn as a cross, unjoined.
_FSR_DOUBT = re.compile(r"radial order uncertain|\bfsr\b|free spectral range", re.IGNORECASE)


def _break_jumps(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``x``, ``y`` with a NaN point (a break in the drawn line) between neighbours whose
    ``y`` differ by more than :data:`FSR_JUMP_FACTOR`."""
    xs, ys = list(x[:1]), list(y[:1])
    for i in range(1, len(y)):
        a, b = y[i - 1], y[i]
        if np.isfinite(a) and np.isfinite(b) and a > 0 and b > 0 and max(a / b, b / a) > FSR_JUMP_FACTOR:
            xs.append(np.nan)
            ys.append(np.nan)
        xs.append(x[i])
        ys.append(b)
    return np.array(xs, dtype=float), np.array(ys, dtype=float)


def _number(v) -> float:
    return np.nan if v is None or (isinstance(v, float) and not math.isfinite(v)) else float(v)


def sweep_figure(result, quantity: str):
    """One panel per combination of the other swept keys: ``quantity`` (``"wavelength_nm"``,
    ``"Q"`` or ``"fsr_nm"``) versus the first swept key; points of one mode (polarization,
    radial order, l) connected, line style by family, lines labelled with l at their right
    end where there is room.

    * ``"wavelength_nm"`` (the mode map): the points are coloured by Q (log colour scale, colour
      bar), so a Q = 60 mode and a Q = 10⁶ mode do not look alike.
    * ``"fsr_nm"``: lines are broken where the FSR jumps by more than :data:`FSR_JUMP_FACTOR`,
      and FSR values whose mode has a note doubting its radial order are crosses, unjoined.
    """
    if quantity not in ("wavelength_nm", "Q", "fsr_nm"):
        from wgm.errors import ConfigError

        raise ConfigError("quantity", quantity, "wavelength_nm, Q or fsr_nm")
    xkey, panels = _panels(result)
    n = len(panels)
    ncol = min(n, 3)
    nrow = math.ceil(n / ncol)
    fig = _figure(5.2 * ncol + 2.5 + (1.0 if quantity == "wavelength_nm" else 0.0), 4.2 * nrow)
    axes = np.atleast_1d(fig.subplots(nrow, ncol, squeeze=False)).ravel()
    loaded = any(r.get("q_intrinsic") not in (None, "") for _, rows in panels for r in rows)  # Q budget applied
    ylabel = {"wavelength_nm": "resonance wavelength (nm)", "Q": "quality factor Q" + " (loaded)" * loaded,
              "fsr_nm": "free spectral range (nm)"}[quantity]
    qs = np.array([_number(r["Q"]) for _, rows in panels for r in rows], dtype=float)
    qs = qs[np.isfinite(qs) & (qs > 0)]
    norm = LogNorm(vmin=float(qs.min()), vmax=float(max(qs.max(), 1.0001 * qs.min()))) if len(qs) else None
    colored = None
    legend = {}
    for ax, (title, rows) in zip(axes, panels):
        lines = _sweep_lines(rows, xkey)
        seen_fam = set()
        ends = []
        doubtful_shown = False
        for (pol, q, num, _), pts in sorted(lines.items(),
                                            key=lambda kv: (kv[0][0], kv[0][1] or 0, kv[0][2], kv[0][3] or 0)):
            x = np.array([p[xkey] for p in pts], dtype=float)
            y = np.array([_number(p[quantity]) for p in pts], dtype=float)
            if not np.isfinite(y).any():
                continue
            fam = f"{pol}{q if q is not None else '?'}"
            st = FAMILY_STYLE(fam)
            label = _family_legend(fam) if fam not in seen_fam else None
            seen_fam.add(fam)
            if quantity == "fsr_nm":
                doubt = np.array([bool(_FSR_DOUBT.search(p.get("note") or "")) for p in pts])
                if doubt.any():
                    ax.plot(x[doubt], y[doubt], ls="none", marker="x", color=st["color"], ms=5,
                            label=None if doubtful_shown else "FSR doubtful (note)")
                    doubtful_shown = True
                    y = np.where(doubt, np.nan, y)
                xl, yl = _break_jumps(x, y)
                ax.plot(xl, yl, ls=st["ls"], lw=1.0, marker=st["marker"], ms=3.5 if len(x) < 60 else 0,
                        color=st["color"], mfc=st["mfc"], label=label)
            elif quantity == "wavelength_nm" and norm is not None:
                ax.plot(x, y, ls=st["ls"], lw=0.8, color=st["color"], label=label)
                qv = np.array([_number(p["Q"]) for p in pts], dtype=float)
                ok = np.isfinite(qv) & (qv > 0) & np.isfinite(y)
                colored = ax.scatter(x[ok], y[ok], c=qv[ok], norm=norm, cmap="viridis", s=16,
                                     marker=_MARKERS.get(pol, "^"), edgecolors=st["color"], linewidths=0.6,
                                     zorder=3)
            else:
                ax.plot(x, y, ls=st["ls"], lw=1.0, marker=st["marker"], ms=3.5 if len(x) < 60 else 0,
                        color=st["color"], mfc=st["mfc"], label=label)
            ok = np.isfinite(y)
            if ok.any():
                ends.append((x[ok][-1], y[ok][-1], f"{'l' if pts[0]['l'] is not None else 'm'}={num}",
                             st["color"]))
        if quantity == "Q":
            ax.set_yscale("log")
        ax.relim()
        ax.autoscale_view()
        if ends:
            keep = _spread([e[0] for e in ends], [e[1] for e in ends], ax.get_xlim(), ax.get_ylim(),
                           log_y=quantity == "Q", min_dx=0.04, min_dy=0.035)
            for (xe, ye, text, color), k in zip(ends, keep):
                if k:
                    ax.annotate(text, (xe, ye), xytext=(3, 0), textcoords="offset points", fontsize=7,
                                color=color, va="center")
        ax.set_xlabel(xkey)
        ax.set_ylabel(ylabel)
        if title:
            ax.set_title(title, fontsize=9)
        ax.grid(alpha=0.3)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(lab, h)
    for ax in axes[n:]:
        ax.set_visible(False)
    if legend:  # one legend for all panels, outside the top-right one
        axes[ncol - 1].legend(legend.values(), legend.keys(), fontsize=8, title="family", title_fontsize=8,
                              loc="upper left", bbox_to_anchor=(1.02, 1.0))
    if colored is not None:
        fig.colorbar(colored, ax=list(axes[:n]), label=("Q (loaded)" if loaded else "Q") + " (marker colour)")
    fig.suptitle(f"{result.sweep.method} sweep: {ylabel} vs {xkey}", fontsize=10)
    return fig


def save_sweep_figures(result, out_dir) -> list:
    """``mode_map.png`` (wavelength), ``q.png`` and, when the method gives it, ``fsr.png``."""
    out_dir = Path(out_dir)
    paths = [save(sweep_figure(result, "wavelength_nm"), out_dir / "mode_map.png"),
             save(sweep_figure(result, "Q"), out_dir / "q.png")]
    if any(r["fsr_nm"] is not None for r in result.rows()):
        paths.append(save(sweep_figure(result, "fsr_nm"), out_dir / "fsr.png"))
    return paths


# --------------------------------------------------------------------------------------
# measured spectra

def overlay_figure(modes, assignments, measured=None, *, title: str = ""):
    """A measured spectrum (or its peaks) with the model's lines, and the residuals.

    Parameters
    ----------
    modes : sequence of Mode
        The model's modes in the measured range (all of them: unassigned ones are drawn thin).
    assignments : sequence of Assignment
        Measured peaks and the modes they are assigned to (``wgm.experiment.fitting.assign``).
    measured : MeasuredSpectrum, optional
        The measured curve; without it the peaks are drawn as stems.
    """
    fig = _figure(11, 6.5)
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.4, 1]})
    peaks = np.array([a.measured_nm for a in assignments])
    if measured is not None:
        y = np.asarray(measured.intensity, dtype=float)
        span = np.nanmax(y) - np.nanmin(y)
        ax.plot(measured.wavelength_nm, (y - np.nanmin(y)) / (span if span > 0 else 1), color="k", lw=0.8,
                label="measured")
        lo, hi = float(measured.wavelength_nm[0]), float(measured.wavelength_nm[-1])
    else:
        ax.vlines(peaks, 0, 1, color="k", lw=1.5, label="measured peaks")
        pad = 0.05 * (peaks.max() - peaks.min() + 1)
        lo, hi = float(peaks.min() - pad), float(peaks.max() + pad)
    assigned = {a.label: a for a in assignments if a.label is not None}
    seen = set()
    hits = []
    for m in modes:
        if not lo <= m.wavelength_nm <= hi:
            continue
        fam = m.family
        st = FAMILY_STYLE(fam)
        hit = (m.polarization, m.l, m.radial_order) in assigned
        ax.axvline(m.wavelength_nm, color=st["color"], ls=st["ls"], lw=1.4 if hit else 0.6,
                   alpha=0.9 if hit else 0.35, label=fam if fam not in seen else None)
        seen.add(fam)
        if hit:
            hits.append((m.wavelength_nm, f"{fam} {m.l}", st["color"]))
    hits.sort()
    keep = _spread([h[0] for h in hits], [1.0] * len(hits), (lo, hi), (0.0, 2.0), min_dx=0.012)
    for (lam, text, color), k in zip(hits, keep):  # rotated labels: one per 1.2 % of the width
        if k:
            ax.annotate(text, (lam, 1.02), rotation=90, fontsize=7, color=color, ha="center", va="bottom",
                        annotation_clip=False)
    spurious = [a.measured_nm for a in assignments if a.label is None]
    if spurious:
        ax.plot(spurious, [0.5] * len(spurious), "x", color="m", ms=8, label="unassigned peak")
    ax.set_ylabel("intensity (normalised)")
    ax.set_ylim(-0.05, 1.25)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.005, 1.0))
    if title:
        ax.set_title(title, fontsize=10, pad=28)
    res = [(a.measured_nm, 1000 * a.residual_nm, 1000 * (a.measured_err_nm or 0), a.polarization, a.radial_order)
           for a in assignments if a.residual_nm is not None]
    for lam, r, e, pol, q in res:
        st = FAMILY_STYLE(f"{pol}{q}")
        ax2.errorbar(lam, r, yerr=e if e > 0 else None, marker=st["marker"], color=st["color"], mfc=st["mfc"],
                     ls="none", capsize=2)
    ax2.axhline(0, color="0.5", lw=0.8)
    ax2.set_ylabel("model − measured (pm)")
    ax2.set_xlabel("wavelength (nm)")
    ax2.set_xlim(lo, hi)
    for a_ in (ax, ax2):
        a_.grid(alpha=0.3)
    return fig


# --------------------------------------------------------------------------------------
# lasing

def threshold_figure(result):
    """Threshold gain of every mode against the film's gain spectrum (log scale; filled:
    the mode can lase), and the modes that can lase as lines whose height is their pump
    margin above 1 (a ranking of which lase first, not a rate-equation spectrum)."""
    fig = _figure(9, 6.5)
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2.2, 1]})
    lo, hi = result.search.wavelength_nm
    lam = np.linspace(lo, hi, 400)
    ax.semilogy(lam, result.gain.at(lam), color="k", lw=1.5,
                label=f"available gain ({result.gain.peak_gain_per_cm:g} cm⁻¹ at {result.gain.peak_wavelength_nm:g} nm)")
    seen = set()
    for lm in result.modes:
        fam = lm.mode.family
        st = FAMILY_STYLE(fam)
        ax.semilogy(lm.gain.threshold_wavelength_nm, lm.gain.threshold_gain_per_cm, ls="none", marker=st["marker"],
                    color=st["color"], mfc=st["color"] if lm.can_lase else "none",
                    label=fam if fam not in seen else None)
        seen.add(fam)
        if lm.can_lase:
            ax.annotate(f"{lm.mode.l}", (lm.gain.threshold_wavelength_nm, lm.gain.threshold_gain_per_cm),
                        xytext=(3, 3), textcoords="offset points", fontsize=7, color=st["color"])
    ths = [lm.gain.threshold_gain_per_cm for lm in result.modes]
    ax.set_ylim(bottom=min(ths + [result.gain.peak_gain_per_cm]) / 20)  # not the gain band's far tails
    ax.set_ylabel("threshold gain (cm⁻¹)")
    ax.legend(fontsize=8, ncol=3)
    ax.grid(alpha=0.3, which="both")
    ax.set_title(f"{_title(result)}: gain in {result.gain.region}", fontsize=10)
    for lm in result.lasing:
        st = FAMILY_STYLE(lm.mode.family)
        ax2.vlines(lm.gain.threshold_wavelength_nm, 0, lm.pump_margin - 1, color=st["color"], lw=2)
    if not result.lasing:
        ax2.text(0.5, 0.5, "no mode reaches threshold", transform=ax2.transAxes, ha="center", va="center")
    ax2.set_ylabel("available / threshold − 1")
    ax2.set_xlabel("wavelength (nm)")
    ax2.set_xlim(lo, hi)
    ax2.grid(alpha=0.3)
    return fig


def pump_figure(rows, pump):
    """Threshold pump fluence (two-photon pumping) versus the sphere's outer diameter, each point
    labelled with the mode that lases first."""
    fig = _figure(8, 4.8)
    ax = fig.subplots()
    pts = [r for r in rows if r["threshold_fluence_mj_per_cm2"] is not None]
    if pts:
        d = [r["diameter_um"] for r in pts]
        f = [r["threshold_fluence_mj_per_cm2"] for r in pts]
        ax.plot(d, f, "o-", color="#1f77b4")
        for r in pts:
            ax.annotate(f"{r['polarization']}{r['radial_order']} {r['l']}", (r["diameter_um"],
                        r["threshold_fluence_mj_per_cm2"]), xytext=(3, 4), textcoords="offset points", fontsize=7)
    none = [r["diameter_um"] for r in rows if r["threshold_fluence_mj_per_cm2"] is None]
    if none:
        ax.plot(none, [ax.get_ylim()[0] if pts else 0] * len(none), "x", color="m", label="no mode lases")
        ax.legend(fontsize=8)
    ax.set_xlabel("outer diameter (µm)")
    ax.set_ylabel(f"threshold fluence at {pump.wavelength_nm:g} nm (mJ/cm²)")
    ax.set_title(f"two-photon pumping: σ₂ = {pump.two_photon_cross_section_gm:.2g} GM, "
                 f"{pump.pulse_fs:g} fs pulses (model parameters: see [pump])", fontsize=9)
    ax.grid(alpha=0.3)
    return fig


def film_threshold_figure(result):
    """A cspbbr3-nc film's thresholds: top, the film's net material gain versus wavelength at
    a few excitations ⟨N⟩ (its one model: absorption at 0, bleaching, McCumber gain), with
    each mode's net gain at threshold; bottom, each mode's threshold excitation (filled: it
    lases below ⟨N⟩ = 50; the first to lase ringed)."""
    from wgm.lasing.film_threshold import at_excitation
    from wgm.lasing.threshold import region_indices

    fig = _figure(9, 6.5)
    ax, ax2 = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1.6, 1]})
    lo, hi = result.search.wavelength_nm
    lam = np.linspace(lo, hi, 300)
    res = result.resonator
    first = result.first
    levels = [0.0, 0.5, 1.0, 2.0, 5.0]
    if first is not None and first.threshold.threshold_excitation not in levels:
        levels = sorted(levels + [first.threshold.threshold_excitation])
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    for i, n in enumerate(levels):
        film = at_excitation(res, result.region, n)
        k = np.array([np.mean([x.imag for x in region_indices(film, result.region, w)]) for w in lam])
        is_first = first is not None and n == first.threshold.threshold_excitation
        ax.plot(lam, -4 * np.pi * k / (lam * 1e-7), color="#d62728" if is_first else cmap(i / max(len(levels) - 1, 1)),
                lw=1.8 if is_first else 1.0, ls="--" if is_first else "-",
                label=f"⟨N⟩ = {n:.3g}" + (" (first threshold)" if is_first else ""))
    seen = set()
    for lm in result.lasing:
        fam = lm.mode.family
        st = FAMILY_STYLE(fam)
        t = lm.threshold
        ax.plot(t.threshold_wavelength_nm, t.threshold_gain_per_cm, ls="none", marker=st["marker"],
                color=st["color"], label=f"{fam} at threshold" if fam not in seen else None)
        seen.add(fam)
        ax2.semilogy(t.threshold_wavelength_nm, t.threshold_excitation, ls="none", marker=st["marker"],
                     color=st["color"], mfc=st["color"])
    if first is not None:
        t = first.threshold
        ax2.semilogy(t.threshold_wavelength_nm, t.threshold_excitation, ls="none", marker="o", ms=14, mfc="none",
                     color="k", label="first to lase")
        ax2.legend(fontsize=8)
    else:
        ax2.text(0.5, 0.5, "no mode reaches threshold", transform=ax2.transAxes, ha="center", va="center")
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.set_ylabel("film net gain (cm⁻¹)")
    ax.legend(fontsize=7, ncol=3)
    ax.grid(alpha=0.3)
    ax.set_title(f"{_title(result)}: gain region {result.region} (cspbbr3-nc film)", fontsize=10)
    ax2.set_ylabel("threshold ⟨N⟩ per crystal")
    ax2.set_xlabel("wavelength (nm)")
    ax2.set_xlim(lo, hi)
    ax2.grid(alpha=0.3, which="both")
    return fig


def film_pump_figure(rows, pump):
    """Threshold excitation and (with a pump model) fluence of the first mode to lase versus
    the outer diameter, each point labelled with that mode."""
    fig = _figure(8, 4.8)
    ax = fig.subplots()
    pts = [r for r in rows if r.get("threshold_excitation") is not None]
    key, label = "threshold_excitation", "threshold ⟨N⟩ per crystal"
    if pump is not None and pts and all(r.get("threshold_fluence_mj_per_cm2") is not None for r in pts):
        key, label = "threshold_fluence_mj_per_cm2", f"threshold fluence at {pump.wavelength_nm:g} nm (mJ/cm²)"
    if pts:
        ax.plot([r["diameter_um"] for r in pts], [r[key] for r in pts], "o-", color="#1f77b4")
        for r in pts:
            ax.annotate(f"{r['polarization']}{r['radial_order']} {r['l']}", (r["diameter_um"], r[key]),
                        xytext=(3, 4), textcoords="offset points", fontsize=7)
    none = [r["diameter_um"] for r in rows if r.get("threshold_excitation") is None]
    if none:
        ax.plot(none, [ax.get_ylim()[0] if pts else 0] * len(none), "x", color="m", label="no mode lases")
        ax.legend(fontsize=8)
    ax.set_xlabel("outer diameter (µm)")
    ax.set_ylabel(label)
    ax.grid(alpha=0.3)
    return fig


def lasing_figure(curve):
    """L-L curve (FDTD): output power against pump rate in units of the predicted threshold,
    the line fitted through the lasing points, and the predicted threshold (at 1)."""
    fig = _figure(7.5, 4.8)
    ax = fig.subplots()
    styles = {"lasing": dict(marker="o", color="#1f77b4", ls="none", label="lasing (steady state)"),
              "below threshold": dict(marker="o", mfc="none", color="#1f77b4", ls="none",
                                      label="below threshold (field decays)"),
              "not settled": dict(marker="x", color="m", ls="none", label="not settled (time limit)")}
    for state, st in styles.items():
        pts = [p for p in curve.points if p.state == state]
        if pts:
            ax.plot([p.pump_rate_rel for p in pts], [max(p.output_power, 0.0) for p in pts], **st)
    fit = curve.fit
    top = max(p.pump_rate_rel for p in curve.points)
    if fit is not None:
        x = np.linspace(fit["threshold_rel"], top, 50)
        ax.plot(x, fit["slope"] * (x - fit["threshold_rel"]), color="0.4", lw=1,
                label=f"fit: FDTD threshold {fit['threshold_rel']:.3f}")
    ax.axvline(1.0, color="#d62728", ls="--", lw=1.2, label="predicted threshold (exact g_th)")
    ax.set_xlim(0, top * 1.05)
    ax.set_ylim(bottom=-0.03 * max([p.output_power for p in curve.points] + [1e-300]))  # zeros stay visible
    m, pred = curve.model, curve.prediction
    ax.set_xlabel(f"pump rate / predicted threshold ({pred.pump_rate_threshold_per_ps:.3g} /ps)")
    ax.set_ylabel("output power per µm of height (Meep units)")
    ax.set_title(f"{_title(curve)}: {m.polarization}{m.radial_order} m = {m.m}, "
                 f"gain in {m.region}, lifetime {m.lifetime_ps:g} ps", fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    return fig

