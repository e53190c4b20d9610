"""Lasing of gain-coated resonators: confinement and threshold gain, the film's gain
spectrum, the two-photon pump and the two-level model of the L-L runs."""

from wgm.lasing.gain import (GainSpectrum, LasingCurve, TwoLevelGain, TwoPhotonPump, parse_gain,  # noqa: F401
                             parse_lasing, parse_pump, predict_lasing_threshold, threshold_vs_radius,
                             thresholds)
