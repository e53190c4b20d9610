"""Lasing of gain-coated resonators, one concept a module:

* :mod:`wgm.lasing.threshold` — confinement factor and threshold gain of each mode (exact
  solver), and which modes of a search can lase (:func:`thresholds`);
* :mod:`wgm.lasing.film_threshold` — thresholds in the excitation ⟨N⟩ of a ``cspbbr3-nc``
  film (exact solver and FEM), and the links to the pulsed rate equations;
* :mod:`wgm.lasing.spectrum` — the gain available in the film (``[gain]``);
* :mod:`wgm.lasing.pump` — the two-photon pump model (``[pump]``) and the fluence threshold
  versus size;
* :mod:`wgm.lasing.two_level` — the saturable two-level film of the L-L runs (``[lasing]``),
  the predicted threshold pump rate and the L-L records.
"""

from wgm.lasing.pump import PumpThreshold, TwoPhotonPump, parse_pump, threshold_vs_radius
from wgm.lasing.spectrum import GainSpectrum, parse_gain
from wgm.lasing.threshold import (LasingMode, ModeGain, SkippedMode, ThresholdResult, WithGain,
                                  closed_form_threshold_per_cm, confinement, mode_gain, thresholds, with_gain)
from wgm.lasing.two_level import (LasingCurve, LasingPoint, LasingPrediction, LasingResonator, TwoLevelGain,
                                  fit_threshold, lasing_resonator, parse_lasing, predict_lasing_threshold)

__all__ = ["GainSpectrum", "parse_gain",
           "WithGain", "with_gain", "ModeGain", "mode_gain", "confinement", "closed_form_threshold_per_cm",
           "LasingMode", "SkippedMode", "ThresholdResult", "thresholds",
           "TwoPhotonPump", "parse_pump", "PumpThreshold", "threshold_vs_radius",
           "TwoLevelGain", "parse_lasing", "LasingPrediction", "predict_lasing_threshold", "LasingResonator",
           "lasing_resonator", "LasingPoint",
           "LasingCurve", "fit_threshold"]
