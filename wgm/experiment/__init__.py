"""Comparison with experiment: reading measured spectra and finding their peaks
(:mod:`wgm.experiment.spectra`), assigning peaks to modes and fitting resonator parameters
(:mod:`wgm.experiment.fitting`)."""
