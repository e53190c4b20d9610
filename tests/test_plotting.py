"""Figures: what each one shows (axes, labels, lines, markers, colour bars), on hand-built
records, and the library's manners (no backend, no pyplot state)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection, QuadMesh

from wgm import plotting
from wgm.model.materials import ConstantIndex
from wgm.model.resonator import Coating, Disk, Resonator, Search, Sphere
from wgm.records import FieldProfile, Mode, ModeSpectrum, match_modes

ROOT = Path(__file__).resolve().parent.parent
SPHERE = Resonator(Sphere(2.0, ConstantIndex(1.46)), (Coating(0.05, ConstantIndex(1.8)),))
BAND = (540.0, 600.0)


def spectrum(modes, method="exact", band=BAND) -> ModeSpectrum:
    return ModeSpectrum(SPHERE, Search(band, 2), method, tuple(modes), {"wgm": "test"})


def te1_modes():
    """Three high-Q TE1 modes (l = 28..30), 20 nm apart."""
    return [Mode("TE", l, l, 1, lam, 1.0e5, fsr_nm=20.0) for l, lam in ((30, 550.0), (29, 570.0), (28, 590.0))]


def low_q_modes():
    """Five TM2 modes of Q = 10 (FWHM ~ 57 nm), 4 nm apart: broad lines that overlap."""
    return [Mode("TM", 20 + i, 20 + i, 2, 580.0 - 4 * i, 10.0) for i in range(5)]


def unknown_order_mode():
    """An FDTD mode whose radial order (and l) is unknown: family "TE?"."""
    return Mode("TE", None, 25, None, 575.0, 800.0, q_resolved=False)


def texts(fig) -> list[str]:
    out = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        out += [t.get_text() for t in ax.texts]
        out += [ax.get_xlabel(), ax.get_ylabel(), ax.get_title()]
        leg = ax.get_legend()
        if leg is not None:
            out += [t.get_text() for t in leg.get_texts()]
    return out


def legend_texts(ax) -> list[str]:
    leg = ax.get_legend()
    return [t.get_text() for t in leg.get_texts()] if leg is not None else []


def colorbar_axes(fig) -> list:
    """Axes that are colour bars (matplotlib marks them with ``_colorbar``)."""
    return [ax for ax in fig.axes if getattr(ax, "_colorbar", None) is not None]


def png_ok(fig, tmp_path, name="f.png") -> None:
    path = plotting.save(fig, tmp_path / name)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------
# spectrum

def test_spectrum_figure_with_unknown_radial_order(tmp_path):
    """Defect 5: a "TE?" family (FDTD, radial order unknown) crashed the family style with
    int("?") after the whole run.  It is drawn, in its own style, and named in the legend."""
    fig = plotting.spectrum_figure(spectrum(te1_modes() + [unknown_order_mode()], "fdtd"))
    ax = fig.axes[0]
    assert "TE q=?" in legend_texts(ax) and "TE q=1" in legend_texts(ax)
    style = plotting.FAMILY_STYLE("TE?")
    assert style != plotting.FAMILY_STYLE("TE1") and plotting.FAMILY_STYLE("TM?")["marker"] != style["marker"]
    png_ok(fig, tmp_path)


def test_spectrum_figure_points_and_lines():
    fig = plotting.spectrum_figure(spectrum(te1_modes() + low_q_modes()))
    ax, ax2 = fig.axes[:2]
    points = {line.get_label(): line for line in ax.get_lines()}
    assert set(points) == {"TE q=1", "TM q=2"}
    assert list(points["TE q=1"].get_ydata()) == [1.0e5] * 3 and len(points["TM q=2"].get_xdata()) == 5
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "Q"
    assert ax2.get_xlabel() == "wavelength (nm)"


def test_lorentzian_lines_have_equal_area():
    """Defect 19: unit-height lines let five overlapping Q = 10 modes make the tallest hump.
    With equal areas (peak ∝ Q), the three Q = 1e5 lines are the tallest; the label says so."""
    fig = plotting.spectrum_figure(spectrum(te1_modes() + low_q_modes()))
    ax2 = fig.axes[1]
    lines = {line.get_label(): np.asarray(line.get_ydata()) for line in ax2.get_lines()}
    assert lines["TE1"].max() == pytest.approx(1.0)
    # five Q = 10 lines of FWHM ≈ 57 nm against Q = 1e5 lines drawn at the resolution floor:
    # the ratio of peaks is ~ 1e-3 (unit heights gave the TM2 hump ≈ 4.4, the TE1 lines 1)
    assert lines["TM2"].max() < 0.01 * lines["TE1"].max()
    x = np.asarray(ax2.get_lines()[0].get_xdata())
    floor = 4 * (x[1] - x[0])  # the narrowest drawn FWHM (plotting: four grid steps)

    def area_in_band(modes):  # unit-area Lorentzians, the parts inside the plotted band
        hw = [max(m.wavelength_nm / m.Q, floor) / 2 for m in modes]
        return sum((math.atan((x[-1] - m.wavelength_nm) / h) - math.atan((x[0] - m.wavelength_nm) / h)) / math.pi
                   for m, h in zip(modes, hw))

    QUADRATURE = 1e-6  # trapezoids over lines at least four grid steps wide (3e-9 measured)
    assert np.trapz(lines["TM2"], x) / np.trapz(lines["TE1"], x) == pytest.approx(
        area_in_band(low_q_modes()) / area_in_band(te1_modes()), rel=QUADRATURE)
    assert "equal area" in ax2.get_ylabel()


def test_spectrum_labels_do_not_pile_up():
    """Forty modes within 2 nm: their l labels would overlap; only a few are drawn."""
    crowded = [Mode("TE", 100 + i, 100 + i, 1, 570.0 + 0.05 * i, 1.0e4) for i in range(40)]
    fig = plotting.spectrum_figure(spectrum(crowded))
    labels = fig.axes[0].texts
    assert 1 <= len(labels) <= 3
    spread = plotting.spectrum_figure(spectrum(te1_modes()))
    assert sorted(t.get_text() for t in spread.axes[0].texts) == ["28", "29", "30"]


def test_mode_spectrum_repr_is_short():
    """Defect 19: repr(ModeSpectrum) dumped the whole resonator and every mode."""
    r = repr(spectrum(te1_modes() + low_q_modes()))
    assert r == "<ModeSpectrum sphere, 540–600 nm: 8 modes (exact)>"


# --------------------------------------------------------------------------------------
# comparison

def test_comparison_figure_has_separate_error_axes():
    """Defect 19: the relative Q difference was drawn as "Q / 10" on the wavelength-error axis.
    Now each difference has its own axis, in %, and an unresolved FDTD Q is an open marker."""
    exact = spectrum(te1_modes())
    fdtd_modes = [Mode("TE", 30, 30, 1, 550.11, 0.9e5), Mode("TE", 29, 29, 1, 570.0, 2.0e4, q_resolved=False),
                  unknown_order_mode()]
    fdtd = spectrum(fdtd_modes, "fdtd")
    pairs = match_modes(exact, fdtd)
    fig = plotting.comparison_figure(exact, fdtd, pairs)
    ax, ax2, ax3 = fig.axes[:3]
    assert "Q / 10" not in " ".join(texts(fig))
    assert "λ" in ax2.get_ylabel() and "%" in ax2.get_ylabel() and "Q" not in ax2.get_ylabel()
    assert "Q" in ax3.get_ylabel() and "%" in ax3.get_ylabel()
    (wl,) = [line for line in ax2.get_lines() if line.get_marker() == "o"]
    assert list(wl.get_ydata()) == pytest.approx([100 * (550.11 / 550.0 - 1), 0.0])
    q_lines = {line.get_label(): line for line in ax3.get_lines() if line.get_marker() == "s"}
    assert list(q_lines["FDTD Q resolved"].get_ydata()) == pytest.approx([-10.0])
    assert list(q_lines["FDTD Q a lower bound"].get_ydata()) == pytest.approx([-80.0])
    assert q_lines["FDTD Q a lower bound"].get_markerfacecolor() == "none"
    assert "FDTD TE?" in legend_texts(ax)


# --------------------------------------------------------------------------------------
# field maps

def _profile(m=5):
    r = np.linspace(0.0, 2.5, 60)
    z = np.linspace(-1.0, 1.0, 41)
    R, Z = np.meshgrid(r, z, indexing="ij")
    ez = np.exp(-((R - 1.8) / 0.25) ** 2 - (Z / 0.3) ** 2).astype(complex)
    zero = np.zeros_like(ez)
    eps = np.where(np.hypot(R, Z) < 2.0, 1.46 ** 2, 1.0)
    mode = Mode("TE", None, m, 1, 560.0, 300.0)
    return FieldProfile(mode, r, z, eps, {"Er": zero, "Ep": zero, "Ez": ez}, 0.01, 0.9)


def test_field_figure_shows_both_planes(tmp_path):
    fig = plotting.field_figure(_profile(m=5))
    bars = colorbar_axes(fig)
    meshes = [c for ax in fig.axes if ax not in bars for c in ax.collections if isinstance(c, QuadMesh)]
    assert len(meshes) == 2 and len(bars) == 1 and "|E|²" in bars[0].get_ylabel()
    assert "m=5" in fig._suptitle.get_text()
    # the x-y map is a cos²(mφ) standing wave: 2m lobes round the ring where |E|² peaks
    xy = np.asarray(meshes[1].get_array()).reshape(361, 361)
    x = np.linspace(-2.5, 2.5, 361)
    phi = np.linspace(0, 2 * np.pi, 720, endpoint=False)
    ix = np.clip(np.searchsorted(x, 1.8 * np.cos(phi)), 0, 360)
    iy = np.clip(np.searchsorted(x, 1.8 * np.sin(phi)), 0, 360)
    ring = xy[iy, ix]
    above = ring > 0.5 * ring.max()
    lobes = np.sum(above & ~np.roll(above, 1))  # upward crossings of half the maximum
    assert lobes == 10
    png_ok(fig, tmp_path)


# --------------------------------------------------------------------------------------
# sweeps

def _sweep_result(points, extra_axes=()):
    """A SweepResult over radius_um (and ``extra_axes``) with hand-built modes per point:
    ``points`` maps a radius to a list of modes."""
    from wgm.sweeps import PointResult, SweepResult, build_sweep

    raw = {"resonator": {"shape": "sphere", "radius_um": 2.0, "index": 1.45},
           "search": {"wavelength_nm": [540.0, 600.0], "max_radial_order": 2}}
    radii = sorted(points)
    sw = build_sweep(raw, ["resonator.radius_um=" + ",".join(f"{r:g}" for r in radii), *extra_axes])
    results = {}
    for p in sw.points:
        modes = points[p.params["resonator.radius_um"]]
        spec = ModeSpectrum(p.config.resonator, p.config.search, "exact", tuple(modes), {"wgm": "test"})
        results[p.index] = PointResult(p.index, p.id, p.params, "done", spec)
    return SweepResult(sw, results, {"wgm": "test"})


def test_two_axes_give_one_panel_per_value_and_one_legend():
    res = _sweep_result({r: [Mode("TE", 30, 30, 1, 550.0 + 10 * r, 1e4), Mode("TM", 29, 29, 2, 560.0 + 10 * r, 1e2)]
                         for r in (2.0, 3.0)}, ["resonator.index=1.45,1.47,1.49"])
    fig = plotting.sweep_figure(res, "wavelength_nm")
    panels = [ax for ax in fig.axes if ax not in colorbar_axes(fig) and ax.get_visible()]
    assert [ax.get_title() for ax in panels] == [f"resonator.index = {n}" for n in (1.45, 1.47, 1.49)]
    assert all(len(ax.get_lines()) == 2 for ax in panels)
    assert [bool(ax.get_legend()) for ax in panels] == [False, False, True]  # one legend, outside the last
    assert legend_texts(panels[-1]) == ["TE q=1", "TM q=2"] and len(colorbar_axes(fig)) == 1


def test_mode_map_encodes_q_in_colour():
    """Defect 19: on the mode map a Q = 60 and a Q = 1e6 mode looked alike; the points are
    now coloured by Q on a log scale, with a colour bar."""
    res = _sweep_result({r: [Mode("TE", 30, 30, 1, 550.0 + 10 * r, 1.0e6), Mode("TM", 20, 20, 2, 560.0 + 10 * r, 60.0)]
                         for r in (2.0, 2.5, 3.0)})
    fig = plotting.sweep_figure(res, "wavelength_nm")
    (bar,) = colorbar_axes(fig)
    assert "Q" in bar.get_ylabel()
    ax = fig.axes[0]
    scatters = [c for c in ax.collections if isinstance(c, PathCollection)]
    colours = sorted(float(v) for c in scatters for v in c.get_array())
    assert colours == [60.0] * 3 + [1.0e6] * 3
    low, high = sorted(scatters, key=lambda c: float(c.get_array()[0]))
    assert low.norm is high.norm and low.norm(60.0) == pytest.approx(0.0) and high.norm(1e6) == pytest.approx(1.0)
    assert not np.allclose(low.to_rgba(60.0), high.to_rgba(1e6))
    assert ax.get_xlabel() == "resonator.radius_um" and ax.get_ylabel() == "resonance wavelength (nm)"
    assert {"TE q=1", "TM q=2"} <= set(legend_texts(ax))


def test_fsr_figure_breaks_jumps_and_marks_doubtful_values(tmp_path):
    """Defect 19: where a family's FSR jumps (11.08 nm next to 2.50 nm) the line joined the
    values into a tangle.  Lines break at jumps of more than FSR_JUMP_FACTOR, and values of
    modes whose radial order is noted as uncertain are crosses, not joined."""
    fsr = {2.0: 11.08, 2.5: 2.50, 3.0: 2.40, 3.5: 2.30}
    doubt = "radial order uncertain (root left its branch)"
    res = _sweep_result({r: [Mode("TE", 30, 30, 1, 550.0 + r, 1e4, fsr_nm=f),
                             Mode("TM", 29, 29, 2, 560.0 + r, 1e3, fsr_nm=3.0, note=doubt if r == 3.0 else "")]
                         for r, f in fsr.items()})
    fig = plotting.sweep_figure(res, "fsr_nm")
    ax = fig.axes[0]
    joined = {line.get_label(): line for line in ax.get_lines() if line.get_linestyle() != "None"}
    te = np.asarray(joined["TE q=1"].get_ydata(), dtype=float)
    assert np.isnan(te).sum() == 1 and np.nanmax(te[np.argmax(np.isnan(te)) + 1:]) == 2.5  # break after 11.08
    tm = np.asarray(joined["TM q=2"].get_ydata(), dtype=float)
    assert np.isnan(tm).sum() == 1  # the doubtful point left out of the line
    (crosses,) = [line for line in ax.get_lines() if line.get_marker() == "x"]
    assert list(crosses.get_xdata()) == [3.0] and crosses.get_label() == "FSR doubtful (note)"
    assert plotting.FSR_JUMP_FACTOR == 2.0
    assert [p.name for p in plotting.save_sweep_figures(res, tmp_path)] == ["mode_map.png", "q.png", "fsr.png"]


def test_q_sweep_figure_is_log_and_labels_lines():
    res = _sweep_result({r: [Mode("TE", 30, 30, 1, 550.0 + r, 1e3 * r)] for r in (2.0, 3.0)})
    fig = plotting.sweep_figure(res, "Q")
    ax = fig.axes[0]
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "quality factor Q"
    assert [t.get_text() for t in ax.texts] == ["l=30"]
    assert not colorbar_axes(fig)
    with pytest.raises(Exception, match="quantity"):
        plotting.sweep_figure(res, "linewidth")


# --------------------------------------------------------------------------------------
# measured spectra

def test_overlay_figure():
    from wgm.experiment.fitting import Assignment
    from wgm.experiment.spectra import MeasuredSpectrum

    modes = te1_modes() + [unknown_order_mode()]
    assignments = [Assignment(550.02, 0.005, "TE", 30, 1, 550.0), Assignment(570.01, None, "TE", 29, 1, 570.0),
                   Assignment(580.0, None, None, None, None, None)]
    lam = np.linspace(545.0, 595.0, 501)
    y = sum(1 / (1 + ((lam - c) / 0.1) ** 2) for c in (550.02, 570.01, 580.0))
    fig = plotting.overlay_figure(modes, assignments, MeasuredSpectrum(lam, y), title="fit")
    ax, ax2 = fig.axes[:2]
    assert sorted(t.get_text() for t in ax.texts) == ["TE1 29", "TE1 30"]  # assigned modes only
    assert "unassigned peak" in legend_texts(ax) and "measured" in legend_texts(ax)
    assert ax2.get_ylabel() == "model − measured (pm)"
    residuals = sorted(float(line.get_ydata()[0]) for line in ax2.get_lines() if line.get_marker() == "o")
    assert residuals == pytest.approx([-20.0, -10.0])
    assert ax.get_ylim()[1] > 1.0 and ax2.get_xlim() == pytest.approx((545.0, 595.0))


# --------------------------------------------------------------------------------------
# lasing

def test_threshold_figure():
    from wgm.lasing import GainSpectrum, LasingMode, ModeGain, ThresholdResult

    gain = GainSpectrum(region="coating", peak_gain_per_cm=500.0, peak_wavelength_nm=570.0, fwhm_nm=20.0)

    def lm(mode, threshold):
        mg = ModeGain(mode.polarization, mode.l, mode.radial_order, mode.wavelength_nm, mode.Q, "coating", 0.2, 0.2,
                      threshold, mode.wavelength_nm, 2.0, threshold)
        return LasingMode(mode, mg, float(gain.at(mode.wavelength_nm)))

    modes = tuple(sorted((lm(m, t) for m, t in zip(te1_modes(), (900.0, 50.0, 80.0))), key=lambda x: -x.pump_margin))
    result = ThresholdResult(SPHERE, Search(BAND, 1), gain, modes)
    fig = plotting.threshold_figure(result)
    ax, ax2 = fig.axes[:2]
    markers = [line for line in ax.get_lines() if line.get_marker() == "o"]
    filled = [line for line in markers if line.get_markerfacecolor() != "none"]
    assert len(markers) == 3 and len(filled) == len(result.lasing) == 1  # 570 nm: 500 cm⁻¹ available > 50
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "threshold gain (cm⁻¹)"
    (bars,) = ax2.collections
    assert len(bars.get_segments()) == 1
    assert bars.get_segments()[0][1][1] == pytest.approx(500.0 / 50.0 - 1)


def test_pump_figure():
    from wgm.lasing import TwoPhotonPump

    rows = [{"diameter_um": 4.0, "threshold_fluence_mj_per_cm2": 2.0, "polarization": "TE", "radial_order": 1, "l": 30},
            {"diameter_um": 6.0, "threshold_fluence_mj_per_cm2": 1.0, "polarization": "TE", "radial_order": 1, "l": 45},
            {"diameter_um": 2.0, "threshold_fluence_mj_per_cm2": None, "polarization": None, "radial_order": None,
             "l": None}]
    fig = plotting.pump_figure(rows, TwoPhotonPump())
    (ax,) = fig.axes
    line, missing = ax.get_lines()
    assert list(line.get_xdata()) == [4.0, 6.0] and list(line.get_ydata()) == [2.0, 1.0]
    assert list(missing.get_xdata()) == [2.0] and legend_texts(ax) == ["no mode lases"]
    assert sorted(t.get_text() for t in ax.texts) == ["TE1 30", "TE1 45"]
    assert ax.get_xlabel() == "outer diameter (µm)" and "800 nm" in ax.get_ylabel()


def test_lasing_figure():
    from wgm.lasing import LasingCurve, LasingPoint, LasingPrediction, ModeGain, TwoLevelGain

    res = Resonator(Disk(0.7, math.inf, ConstantIndex(1.46)), (Coating(0.2, ConstantIndex(1.8)),))
    model = TwoLevelGain(m=15, transition_wavelength_nm=543.34)
    mg = ModeGain("TE", 15, 1, 543.3, 2000.0, "coating", 0.3, 0.3, 100.0, 543.3, 2.0, 100.0)
    pred = LasingPrediction(mg, 1.84, 1.84, 0.07, 1.0, 0.01, 0.1, 0.0123, (0.1,), (1.8,))
    pts = [LasingPoint(r, 0.0123 * r, 1e-7, 543.3, "below threshold", -1e-3, 1000.0, 2) for r in (0.6, 0.9)]
    pts += [LasingPoint(r, 0.0123 * r, 0.3 * (r - 1.07), 543.3, "lasing", 0.0, 3000.0, 4) for r in (1.5, 2.0, 2.5)]
    pts += [LasingPoint(3.0, 0.0369, 0.5, 543.3, "not settled", 1e-3, 5000.0, 5)]
    fig = plotting.lasing_figure(LasingCurve(res, model, pred, tuple(pts), {}))
    (ax,) = fig.axes
    by_label = {line.get_label(): line for line in ax.get_lines()}
    assert list(by_label["lasing (steady state)"].get_xdata()) == [1.5, 2.0, 2.5]
    assert by_label["below threshold (field decays)"].get_markerfacecolor() == "none"
    assert list(by_label["not settled (time limit)"].get_xdata()) == [3.0]
    (fit,) = [line for k, line in by_label.items() if k.startswith("fit")]
    assert fit.get_xdata()[0] == pytest.approx(1.07) and fit.get_ydata()[0] == pytest.approx(0.0, abs=1e-12)
    assert list(by_label["predicted threshold (exact g_th)"].get_xdata()) == [1.0, 1.0]
    assert "pump rate / predicted threshold" in ax.get_xlabel()


# --------------------------------------------------------------------------------------
# manners

def test_import_and_figures_leave_the_backend_alone(tmp_path):
    """Defect 12: ``import wgm.plotting`` switched matplotlib to Agg for the whole process
    (a notebook lost its inline plots).  With the backend set to svg, importing wgm.plotting,
    making and saving a figure leave the backend as it was, and pyplot is never imported."""
    code = textwrap.dedent(f"""
        import sys, matplotlib
        before = matplotlib.get_backend()
        import wgm.plotting as p
        from tests.test_plotting import spectrum, te1_modes
        p.save(p.spectrum_figure(spectrum(te1_modes())), {str(tmp_path / 'x.png')!r})
        print(before, matplotlib.get_backend(), matplotlib.rcParams["backend"], "matplotlib.pyplot" in sys.modules)
    """)
    env = dict(os.environ, MPLBACKEND="svg", PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["svg", "svg", "svg", "False"]
    assert (tmp_path / "x.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
