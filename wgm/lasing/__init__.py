"""Lasing of gain-coated resonators: confinement and threshold gain, the film's gain
spectrum, the two-photon pump and the two-level model of the L-L runs."""
