"""Measured spectra: reading them, and finding and fitting their peaks.

Two kinds of measurement file are read (:func:`read_measurement` tells them apart):

* a **spectrum**: two columns, wavelength (nm) and intensity (any unit), separated by commas,
  semicolons, tabs or spaces;
* a **peak list**: one column of peak wavelengths (nm), one value per line.

Both are read by the one table reader, :func:`wgm.tables.read_table` (header lines, ``#``
comments, separators, strict numbers: a line that is not data is an error naming the file,
the line and the value); this module adds what a measurement must be (column count,
positive, monotonic wavelengths in nm and not µm).

Peaks (:func:`find_peaks`) are detected by prominence (``scipy.signal.find_peaks``) above a
multiple of the estimated noise (:func:`noise_level`), then fitted (``curve_fit``) with a
Lorentzian — or a Voigt profile — on a linear background, in a window of a few widths around
the peak; peaks closer than a few widths are fitted jointly as a sum of profiles.  Every
fitted quantity comes with its standard error; the measured ``Q = λ / FWHM``.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import asdict, dataclass

import numpy as np
from scipy import signal, stats
from scipy.optimize import OptimizeWarning, curve_fit
from scipy.special import voigt_profile

from wgm.errors import UserError
from wgm.model import validate
from wgm.tables import TextTable, read_table

__all__ = ["MeasuredSpectrum", "Peak", "MeasuredPeaks", "read_spectrum", "read_peak_list", "read_measurement",
           "measured_peaks", "noise_level", "find_peaks", "lorentzian", "voigt", "synthetic_spectrum"]

log = logging.getLogger(__name__)

MIN_POINTS = 3              # fewest samples of a spectrum (a peak needs a sample on each side)
MICRON_LIMIT_NM = 50.0      # all wavelengths below this: the file is in µm, not nm
WINDOW_FWHM = 3.0           # fit window: ± this many FWHM around a peak (a Lorentzian is at 2.7 % of
                            # its height there, so the linear background is pinned by the wings)
MIN_WINDOW_SAMPLES = 8      # ... and at least this many samples on each side (narrow peaks, spikes);
                            # peaks closer than twice this are fitted jointly
UNRESOLVED = 1.05           # a fitted FWHM below this many sampling steps is not measured
POOR_FIT_P = 1e-3           # a fit whose χ² (against the noise level) is this improbable ...
POOR_FIT_RATIO = 1.25       # ... and whose residual exceeds the noise by this factor is flagged (the
                            # second test allows for the uncertainty of the noise estimate itself)
_FWHM_PER_SIGMA = 2.0 * math.sqrt(2.0 * math.log(2.0))   # Gaussian FWHM / standard deviation


# --------------------------------------------------------------------------------------
# records

@dataclass(frozen=True, eq=False)
class MeasuredSpectrum:
    """A measured spectrum on a strictly increasing wavelength grid.

    Attributes
    ----------
    wavelength_nm : numpy.ndarray
        Sample wavelengths (nm), strictly increasing (read-only float array).
    intensity : numpy.ndarray
        Intensity at each wavelength, any unit (read-only float array).
    source : str
        Where it came from (the file name), used in messages.
    """

    wavelength_nm: np.ndarray
    intensity: np.ndarray
    source: str = "spectrum"

    def __post_init__(self):
        lam = np.array(self.wavelength_nm, dtype=float)
        y = np.array(self.intensity, dtype=float)
        if lam.ndim != 1 or lam.shape != y.shape:
            raise UserError(f"{self.source}: wavelength_nm and intensity must be 1-D arrays of equal length "
                            f"(got shapes {lam.shape} and {y.shape})")
        if len(lam) < MIN_POINTS:
            raise UserError(f"{self.source}: {len(lam)} data points: a spectrum needs at least {MIN_POINTS}")
        if not (np.isfinite(lam).all() and np.isfinite(y).all()):
            raise UserError(f"{self.source}: wavelengths and intensities must be finite numbers")
        if not (np.diff(lam) > 0).all():
            raise UserError(f"{self.source}: wavelengths must increase strictly")
        lam.setflags(write=False)
        y.setflags(write=False)
        object.__setattr__(self, "wavelength_nm", lam)
        object.__setattr__(self, "intensity", y)

    def __len__(self) -> int:
        return len(self.wavelength_nm)

    @property
    def step_nm(self) -> float:
        """Median sampling step (nm)."""
        return float(np.median(np.diff(self.wavelength_nm)))


@dataclass(frozen=True)
class Peak:
    """One fitted peak of a measured spectrum.  Unknown errors are NaN (``None`` in :meth:`to_dict`).

    Attributes
    ----------
    wavelength_nm, wavelength_err_nm : float
        Centre of the fitted profile and its standard error (nm).
    fwhm_nm, fwhm_err_nm : float
        Full width at half maximum of the Lorentzian (for a Voigt fit: of its Lorentzian part,
        the Gaussian part being taken as the instrument's), nm.  For an unresolved peak
        (``q_resolved`` False) the sampling step: an upper bound.
    amplitude, amplitude_err : float
        Peak height above the background (intensity units).
    prominence : float
        Prominence at detection (``scipy.signal.find_peaks``), intensity units.
    Q, Q_err : float
        Measured quality factor ``wavelength_nm / fwhm_nm`` and its standard error (propagated
        with the covariance of centre and width); a lower bound when not ``q_resolved``.
    q_resolved : bool
        False when the width is not measured: the peak is narrower than the sampling step, or
        its fit failed (then every value is the detection's estimate).
    blended : bool
        True when the peak was fitted jointly with a neighbour closer than a few widths.
    gaussian_fwhm_nm, gaussian_fwhm_err_nm : float or None
        Gaussian FWHM of a Voigt fit (``None`` for a Lorentzian fit).
    note : str
        Warnings about this peak (blend, unresolved, poor or failed fit, edge), empty if none.
    """

    wavelength_nm: float
    wavelength_err_nm: float
    fwhm_nm: float
    fwhm_err_nm: float
    amplitude: float
    amplitude_err: float
    prominence: float
    Q: float
    Q_err: float
    q_resolved: bool = True
    blended: bool = False
    gaussian_fwhm_nm: float | None = None
    gaussian_fwhm_err_nm: float | None = None
    note: str = ""

    def to_dict(self) -> dict:
        """A JSON-ready dict, non-finite floats by the records' one rule (NaN: ``None``, ±inf: ``"inf"``)."""
        from wgm.records.files import with_finite_floats

        return with_finite_floats(asdict(self))


# --------------------------------------------------------------------------------------
# reading

def _read_table(path, what: str) -> TextTable:
    """The data rows of a measurement file (:func:`wgm.tables.read_table`); at least one."""
    table = read_table(path)
    if not len(table):
        raise UserError(f"{table.source}: no data (empty file, or no line of numbers); expected {what}")
    return table


def _check_wavelengths(t: TextTable, lam: np.ndarray) -> None:
    """Positive, and in nm rather than µm."""
    bad = np.flatnonzero(lam <= 0)
    if bad.size:
        i = int(bad[0])
        raise UserError(f"{t.where(i)}: wavelength {t.fields[i][0]} is not positive")
    if lam.max() < MICRON_LIMIT_NM:
        raise UserError(f"{t.where(0)}: wavelength {t.fields[0][0]}: all wavelengths are below "
                        f"{MICRON_LIMIT_NM:g}; are they in µm? Wavelengths must be in nm (multiply by 1000)")


_SPECTRUM = "2 columns (wavelength in nm, intensity)"
_PEAK_LIST = "1 column (peak wavelengths in nm, one per line)"


def read_spectrum(path) -> MeasuredSpectrum:
    """Read a two-column spectrum: wavelength (nm), intensity.

    Parameters
    ----------
    path : str or path-like
        CSV, TSV or white-space separated text; optional header line(s) and ``#`` comments
        (the rules of :func:`wgm.tables.read_table`).  Wavelengths must be strictly
        monotonic; a strictly decreasing file is reversed.

    Returns
    -------
    MeasuredSpectrum
        With ``source`` the path as given.

    Raises
    ------
    UserError
        Unreadable or empty file, wrong column count, a value that is not a finite number,
        wavelengths that repeat, are not monotonic, not positive, or look like µm.
    """
    t = _read_table(path, _SPECTRUM)
    if t.n_columns != 2:
        raise UserError(f"{t.where(0)}: {t.n_columns} column(s): a spectrum has 2 (wavelength in nm, intensity)")
    return _spectrum(t)


def _spectrum(t: TextTable) -> MeasuredSpectrum:
    lam = t.column(0, "wavelength")
    y = t.column(1, "intensity")
    if len(lam) < MIN_POINTS:
        raise UserError(f"{t.source}: {len(lam)} data points: a spectrum needs at least {MIN_POINTS}")
    _check_wavelengths(t, lam)
    step = np.diff(lam)
    descending = step[0] < 0  # the first step sets the order; every other must follow it
    wrong = np.flatnonzero(step >= 0 if descending else step <= 0)
    if wrong.size:
        i = int(wrong[0]) + 1
        prev = t.line_numbers[i - 1]
        if lam[i] == lam[i - 1]:
            raise UserError(f"{t.where(i)}: wavelength {t.fields[i][0]} repeats line {prev} (duplicated wavelengths)")
        order = "decrease" if descending else "increase"
        raise UserError(f"{t.where(i)}: wavelength {t.fields[i][0]} after {t.fields[i - 1][0]} on line "
                        f"{prev}: wavelengths must {order} monotonically (as they start)")
    if descending:
        log.info("%s: wavelengths decrease; reversed to increasing order", t.source)
        lam, y = lam[::-1], y[::-1]
    return MeasuredSpectrum(lam, y, t.source)


def read_peak_list(path) -> tuple[float, ...]:
    """Read a list of peak wavelengths (nm): one column, one value per line, any order.

    Returns
    -------
    tuple of float
        The wavelengths, sorted increasing.

    Raises
    ------
    UserError
        As :func:`read_spectrum`; a wavelength listed twice is an error too.
    """
    t = _read_table(path, _PEAK_LIST)
    if t.n_columns != 1:
        raise UserError(f"{t.where(0)}: {t.n_columns} columns: a peak list has 1 "
                        "(peak wavelengths in nm, one per line)")
    return _peak_list(t)


def _peak_list(t: TextTable) -> tuple[float, ...]:
    lam = t.column(0, "wavelength")
    _check_wavelengths(t, lam)
    order = np.argsort(lam, kind="stable")
    same = np.flatnonzero(np.diff(lam[order]) == 0)
    if same.size:
        first, again = sorted((int(order[same[0]]), int(order[same[0] + 1])))
        raise UserError(f"{t.where(again)}: wavelength {t.fields[again][0]} repeats line {t.line_numbers[first]} "
                        "(duplicated peak)")
    return tuple(float(v) for v in lam[order])


def read_measurement(path) -> MeasuredSpectrum | tuple[float, ...]:
    """Read a measurement file: two columns are a spectrum (:func:`read_spectrum`), one column
    a list of peak wavelengths (:func:`read_peak_list`)."""
    t = _read_table(path, f"{_SPECTRUM} or {_PEAK_LIST}")
    if t.n_columns == 1:
        return _peak_list(t)
    if t.n_columns == 2:
        return _spectrum(t)
    raise UserError(f"{t.where(0)}: {t.n_columns} columns: expected 2 (wavelength in nm, intensity) "
                    "or 1 (a list of peak wavelengths in nm)")


# --------------------------------------------------------------------------------------
# line shapes and synthetic data

def lorentzian(wavelength_nm, centre_nm, fwhm_nm, amplitude):
    """Lorentzian of peak height ``amplitude`` at ``centre_nm`` and full width ``fwhm_nm``."""
    return amplitude / (1.0 + (2.0 * (np.asarray(wavelength_nm) - centre_nm) / fwhm_nm) ** 2)


def voigt(wavelength_nm, centre_nm, lorentzian_fwhm_nm, gaussian_fwhm_nm, amplitude):
    """Voigt profile (Lorentzian ⊗ Gaussian) of peak height ``amplitude``, from the FWHMs of its
    Lorentzian and Gaussian parts (``scipy.special.voigt_profile``, normalised to its maximum)."""
    sigma, gamma = gaussian_fwhm_nm / _FWHM_PER_SIGMA, lorentzian_fwhm_nm / 2.0
    return amplitude * voigt_profile(np.asarray(wavelength_nm) - centre_nm, sigma, gamma) / voigt_profile(
        0.0, sigma, gamma)


def synthetic_spectrum(wavelengths_nm, fwhms_nm, amplitudes, *, grid_nm, noise: float = 0.0, background=0.0,
                       seed: int = 0) -> MeasuredSpectrum:
    """Lorentzian peaks plus background plus Gaussian noise, for tests and examples.

    Parameters
    ----------
    wavelengths_nm, fwhms_nm, amplitudes : sequence of float
        Centre, FWHM and height of each peak.
    grid_nm : array_like
        The sample wavelengths (nm), strictly increasing.
    noise : float
        Standard deviation of the Gaussian noise (intensity units).
    background : float or array_like
        Added to the peaks (a constant, or one value per sample).
    seed : int
        Seed of the noise (``numpy.random.default_rng``).
    """
    lam = np.asarray(grid_nm, dtype=float)
    y = np.zeros_like(lam) + background
    for c, w, a in zip(wavelengths_nm, fwhms_nm, amplitudes, strict=True):
        y += lorentzian(lam, c, w, a)
    y += np.random.default_rng(seed).normal(0.0, noise, lam.shape)
    return MeasuredSpectrum(lam, y, "synthetic")


# --------------------------------------------------------------------------------------
# peaks

def noise_level(spectrum: MeasuredSpectrum) -> float:
    """Standard deviation of the (white) noise of a spectrum, estimated robustly.

    The estimator is the median absolute deviation of the second differences
    ``y[i-1] - 2 y[i] + y[i+1]`` (standard deviation ``√6 σ`` for white noise), scaled to a
    Gaussian σ.  Second differences cancel any locally linear signal — the background and the
    flanks of peaks wider than a few samples — and the median ignores the few samples at the
    tops of peaks, so neither a sloped background nor the peaks inflate it, and there is no
    smoothing window to choose.  Correlated noise (a spectrometer that bins or smooths) is
    underestimated.
    """
    d2 = np.diff(spectrum.intensity, 2)
    sigma = stats.median_abs_deviation(d2, scale="normal") / math.sqrt(6.0)
    if sigma == 0.0:  # quantised data, mostly flat (e.g. zero counts): more than half the d2 vanish
        sigma = float(np.std(d2)) / math.sqrt(6.0)
    return float(sigma)


def find_peaks(spectrum: MeasuredSpectrum, *, min_prominence: float | None = None, snr: float = 5.0,
               profile: str = "lorentzian", max_peaks: int | None = None) -> tuple[Peak, ...]:
    """Detect the peaks of a spectrum and fit each with a line shape on a linear background.

    Parameters
    ----------
    spectrum : MeasuredSpectrum
    min_prominence : float, optional
        Detection threshold, in intensity units: the least prominence (``scipy.signal.find_peaks``)
        of a candidate, and the least fitted height above the background of a peak.  Default
        ``snr × noise_level(spectrum)``.
    snr : float
        Threshold in units of the noise, when ``min_prominence`` is not given; and the least
        significance (fitted height / its standard error) of a peak in any case.
    profile : {"lorentzian", "voigt"}
        Line shape.  A Voigt fit reports the Lorentzian FWHM as ``fwhm_nm`` (and ``Q``) and the
        Gaussian (instrumental) FWHM separately.
    max_peaks : int, optional
        Keep only this many peaks, the most prominent (all are fitted, so that a dropped
        neighbour still takes part in a joint fit).

    Returns
    -------
    tuple of Peak
        Sorted by wavelength.

    Notes
    -----
    Each peak is fitted in a window of ± ``WINDOW_FWHM`` widths (at least ``MIN_WINDOW_SAMPLES``
    samples a side), cut at the lowest sample between it and a neighbour fitted separately.
    Neighbours whose windows would hold each other's centre (closer than ``WINDOW_FWHM`` mean
    widths, or than ``2 × MIN_WINDOW_SAMPLES`` samples) are fitted jointly, as a sum of
    profiles on one background, and marked ``blended``.  A candidate whose fitted height is
    below the threshold, or below ``snr`` standard errors, is a noise maximum and is dropped
    (logged).  Standard errors are those of ``curve_fit``: the covariance scaled by the residual variance
    of the window, so a poor fit gets wider errors.  Fits whose residual is well above the noise
    are noted (a blend of unresolved peaks, or a different line shape); peaks narrower than the
    sampling step are reported with ``q_resolved=False``.
    """
    if profile not in ("lorentzian", "voigt"):
        raise UserError(f"profile = {profile!r}: 'lorentzian' or 'voigt'")
    if max_peaks is not None and max_peaks < 1:
        raise UserError(f"max_peaks = {max_peaks}: at least 1")
    lam, y = spectrum.wavelength_nm, spectrum.intensity
    noise = noise_level(spectrum)
    snr = validate.positive("snr", snr)
    if min_prominence is None:
        # noiseless (synthetic) data: a floor far below any real peak, above rounding ripples
        min_prominence = max(snr * noise, 1e-9 * float(np.ptp(y)))
    else:
        min_prominence = validate.positive("min_prominence", min_prominence)
    idx, props = signal.find_peaks(y, prominence=min_prominence)
    log.info("%s: %d candidate peaks of prominence above %.4g (noise %.4g)", spectrum.source, len(idx),
             min_prominence, noise)
    if not len(idx):
        return ()
    # first widths: at half prominence, interpolated between samples (underestimated for blends,
    # whose prominence is measured from the dip between them; the joint fit corrects that)
    _, _, left, right = signal.peak_widths(y, idx, rel_height=0.5, prominence_data=(
        props["prominences"], props["left_bases"], props["right_bases"]))
    samples = np.arange(len(lam))
    widths = np.interp(right, samples, lam) - np.interp(left, samples, lam)
    peaks = []
    for group, lo, hi in _groups(lam, y, idx, widths):
        peaks += _fit_group(lam, y, idx[group], widths[group], props["prominences"][group], lo, hi, noise, profile,
                            spectrum.source)
    # The prominence of a noise maximum is measured down to the lowest samples on either side,
    # extremes of long stretches of noise: in a flat region of N samples it reaches about
    # 2 √(2 ln N) σ (≈ 7σ for N = 1000), above any sensible threshold.  The fit tells such
    # candidates apart: their height above the local background is at the noise level, or
    # (a Lorentzian through two or three high samples, or traded against the background)
    # not significant against its own standard error.
    def real(p: Peak) -> bool:  # (an unknown error, NaN after a failed fit, rejects nothing)
        return p.amplitude >= min_prominence and not p.amplitude < snr * p.amplitude_err

    low = [p for p in peaks if not real(p)]
    if low:
        log.info("%s: %d candidate(s) rejected as noise (fitted height below %.4g or below %g standard errors): "
                 "%s nm", spectrum.source, len(low), min_prominence, snr,
                 ", ".join(f"{p.wavelength_nm:.4f}" for p in low))
        peaks = [p for p in peaks if real(p)]
    if max_peaks is not None and len(peaks) > max_peaks:
        log.info("%s: kept the %d most prominent of %d peaks", spectrum.source, max_peaks, len(peaks))
        peaks = sorted(sorted(peaks, key=lambda p: -p.prominence)[:max_peaks], key=lambda p: p.wavelength_nm)
    return tuple(peaks)


def _groups(lam, y, idx, widths):
    """Yield (members, lo, hi): indices into ``idx`` of peaks fitted together, and the sample
    range ``lam[lo:hi]`` of their window."""
    near = ((np.diff(lam[idx]) < WINDOW_FWHM * (widths[:-1] + widths[1:]) / 2)
            | (np.diff(idx) < 2 * MIN_WINDOW_SAMPLES))
    bounds = np.flatnonzero(~near) + 1          # a new group starts after each "far" gap
    groups = np.split(np.arange(len(idx)), bounds)
    for k, g in enumerate(groups):
        first, last = idx[g[0]], idx[g[-1]]
        lo = np.searchsorted(lam, lam[first] - WINDOW_FWHM * widths[g[0]])
        hi = np.searchsorted(lam, lam[last] + WINDOW_FWHM * widths[g[-1]], side="right")
        lo, hi = min(lo, first - MIN_WINDOW_SAMPLES), max(hi, last + MIN_WINDOW_SAMPLES + 1)
        # not past the lowest sample between this group and the next one, unless that leaves
        # fewer than MIN_WINDOW_SAMPLES (the neighbour is at least as far again)
        if k > 0:
            prev = idx[groups[k - 1][-1]]
            lo = max(lo, min(prev + int(np.argmin(y[prev:first])), first - MIN_WINDOW_SAMPLES))
        if k + 1 < len(groups):
            nxt = idx[groups[k + 1][0]]
            hi = min(hi, max(last + int(np.argmin(y[last:nxt])), last + MIN_WINDOW_SAMPLES) + 1)
        yield g, max(lo, 0), min(hi, len(lam))


def _fit_group(lam, y, idx, widths, prominences, lo, hi, noise, profile, source) -> list[Peak]:
    """Fit the peaks ``idx`` jointly in ``lam[lo:hi]``; one Peak each."""
    x0 = float(lam[idx].mean())  # fit in u = λ − x0: centres are small offsets
    u, v = lam[lo:hi] - x0, y[lo:hi]
    n, k = len(idx), (3 if profile == "lorentzian" else 4)   # parameters per peak
    shape = lorentzian if profile == "lorentzian" else voigt
    span = float(u[-1] - u[0])
    step = np.diff(lam)
    local_step = np.array([step[max(i - 1, 0):i + 1].mean() for i in idx])  # sampling step at each peak

    def model(u_, *p):
        out = p[0] + p[1] * u_
        for j in range(n):
            out = out + shape(u_, *p[2 + k * j: 2 + k * (j + 1)])
        return out

    # start: the background through the window's ends, each peak at its highest sample
    b1 = (v[-1] - v[0]) / span
    p0, lower, upper = [v[0] - b1 * u[0], b1], [-np.inf, -np.inf], [np.inf, np.inf]
    for i, w in zip(idx, widths):
        w = max(w, float(local_step.min()))
        height = max(y[i] - (p0[0] + b1 * (lam[i] - x0)), 1e-6 * prominences.max())
        shape_p0 = [lam[i] - x0, w, height] if k == 3 else [lam[i] - x0, w / 2, w / 2, height]
        # Centres inside the window.  Widths up to the window's (wider is background) and down to
        # the sampling step: narrower, a line is a one- or two-sample spike whose width, height
        # and centre trade against each other along flat directions of χ², where a fit crawls.
        # Heights at least the noise: a vanishing line would leave its centre and width free, a
        # flat direction again (a noise maximum, rejected afterwards, stops at the bound).
        shape_lo = [u[0], local_step.min(), noise] if k == 3 else [u[0], local_step.min(), 0.0, noise]
        shape_hi = [u[-1], span, np.inf] if k == 3 else [u[-1], span, span, np.inf]
        p0 += shape_p0
        lower += shape_lo
        upper += shape_hi
    neighbours = ", ".join(f"{c:.4f}" for c in lam[idx])
    # the fit's parameters are heights in units of the largest prominence and lengths in units
    # of the mean width, all of order one: the trust region of least_squares assumes it
    scale, length = float(prominences.max()), float(np.mean(p0[3::k]))
    units = np.full(len(p0), length)
    units[[0, *range(1 + k, len(p0), k)]] = scale
    units[1] = scale / length
    try:
        fitted, cov = _curve_fit(lambda u_, *q_: model(u_, *(np.asarray(q_) * units)) / scale, u, v / scale,
                                 np.clip(p0, lower, upper) / units, (np.divide(lower, units), np.divide(upper, units)))
    except (RuntimeError, ValueError) as exc:
        if profile == "voigt":  # two widths: a spike or a weak line leaves both to wander; try one
            log.info("%s: Voigt fit of the peak(s) at %s nm failed (%s); Lorentzian fit instead", source,
                     neighbours, exc)
            return _fit_group(lam, y, idx, widths, prominences, lo, hi, noise, "lorentzian", source)
        # keep the detection: centre at the highest sample, width at half prominence, errors unknown
        log.warning("%s: fit of the peak(s) at %s nm failed (%s); detection estimates kept", source,
                    neighbours, exc)
        return [Peak(float(lam[i]), math.nan, float(w), math.nan, float(a), math.nan, float(a),
                     float(lam[i] / w) if w > 0 else math.nan, math.nan, q_resolved=False, blended=n > 1,
                     note="; ".join(filter(None, [_blend_note(lam[idx], j),
                                                  f"fit failed ({exc}): detection estimates"])))
                for j, (i, w, a) in enumerate(zip(idx, widths, prominences))]

    p, cov = fitted * units, cov * np.outer(units, units)
    poor = []
    dof = len(u) - len(p)
    chi2 = float(np.sum((v - model(u, *p)) ** 2)) / noise ** 2 if noise > 0 else 0.0
    ratio = math.sqrt(chi2 / dof) if dof > 0 else 0.0
    if dof > 0 and stats.chi2.sf(chi2, dof) < POOR_FIT_P and ratio > POOR_FIT_RATIO:
        poor.append(f"poor fit: residual {ratio:.1f}× the noise (unresolved blend, or not a {profile} line?)")
    err = np.sqrt(np.diag(cov))
    out = []
    for j, i in enumerate(idx):
        s = 2 + k * j
        c, w, a = x0 + p[s], p[s + 1], p[s + k - 1]
        dc, dw, da = err[s], err[s + 1], err[s + k - 1]
        note = [_blend_note(x0 + p[2::k], j)]
        if min(c - lam[0], lam[-1] - c) < w:
            note.append("within one FWHM of the end of the spectrum: fit unreliable")
        unresolved = w < UNRESOLVED * local_step[j]   # at the lower bound: narrower than the sampling
        if unresolved and (k == 3 or p[s + 2] < local_step[j]):
            # the whole line is one or two samples: its fitted width and height are degenerate;
            # the height is that of the highest sample above the rest of the model (background
            # and neighbours), as uncertain as one sample
            rest = model(lam[i] - x0, *p) - shape(lam[i] - x0, *p[s:s + k])
            a, da = float(y[i] - rest), noise
        if unresolved:
            w, dw = float(local_step[j]), math.nan
            q, dq, resolved = c / w, math.nan, False
            note.append(("Lorentzian part " if k == 4 else "") + f"narrower than the sampling step {w:.4g} nm: "
                        "width unresolved, Q is a lower bound (or a spike)")
        else:
            grad = np.array([1.0 / w, -c / w ** 2])   # ∂Q/∂(centre, width)
            q, dq, resolved = c / w, math.sqrt(float(grad @ cov[s:s + 2, s:s + 2] @ grad)), True
            note += poor  # (a spike is no Lorentzian either: its own note says enough)
        gauss = (float(p[s + 2]), float(err[s + 2])) if k == 4 else (None, None)
        out.append(Peak(float(c), float(dc), float(w), float(dw), float(a), float(da), float(prominences[j]),
                        float(q), float(dq), q_resolved=resolved, blended=n > 1, gaussian_fwhm_nm=gauss[0],
                        gaussian_fwhm_err_nm=gauss[1], note="; ".join(filter(None, note))))
    return out


def _curve_fit(f, x, y, p0, bounds):
    """``curve_fit`` within bounds, by the dogbox method (quick when the solution is at a bound,
    e.g. a spike at the least width), else the trust-region reflective one (quick inside, e.g. a
    noise bump fitted as a broad line traded against the background); the covariance must be
    finite.  Raises the last method's RuntimeError."""
    for method in ("dogbox", "trf"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", OptimizeWarning)  # covariance not estimable: checked below
                p, cov = curve_fit(f, x, y, p0=p0, bounds=bounds, method=method, max_nfev=200 * len(p0))
        except RuntimeError as exc:
            error = exc
            continue
        if np.isfinite(cov).all():
            return p, cov
        error = RuntimeError("covariance not estimable")
    raise error


def _blend_note(centres, j) -> str:
    """Note of peak ``j`` of a joint fit: the other centres (nm); empty for a lone peak."""
    others = ", ".join(f"{c:.4f}" for i, c in enumerate(centres) if i != j)
    return f"fitted jointly with the peak(s) at {others} nm" if others else ""


@dataclass(frozen=True)
class MeasuredPeaks:
    """The peaks of a measurement file: from a spectrum (found and fitted by
    :func:`find_peaks`, with position errors) or from a list of peak wavelengths."""

    source: str
    wavelengths_nm: tuple[float, ...]
    errors_nm: tuple[float, ...] | None  # None for a plain list of peak wavelengths
    peaks: tuple[Peak, ...]  # the fitted peaks (empty for a list)
    spectrum: MeasuredSpectrum | None  # None for a list


def measured_peaks(path, *, snr: float | None = None, min_prominence: float | None = None) -> MeasuredPeaks:
    """The peaks of the measurement file ``path`` (:func:`read_measurement`): a spectrum's
    peaks found above ``snr`` × the noise (or ``min_prominence``), or the listed wavelengths.
    No peak at all is a :class:`UserError`."""
    data = read_measurement(path)
    if not isinstance(data, MeasuredSpectrum):
        return MeasuredPeaks(str(path), tuple(data), None, (), None)
    kw = {k: v for k, v in (("snr", snr), ("min_prominence", min_prominence)) if v is not None}
    peaks = tuple(find_peaks(data, **kw))
    if not peaks:
        raise UserError(f"{path}: no peaks above the detection threshold (lower --snr or --min-prominence)")
    log.info("%d peaks in %s", len(peaks), path)
    return MeasuredPeaks(str(path), tuple(p.wavelength_nm for p in peaks),
                         tuple(p.wavelength_err_nm for p in peaks), peaks, data)
