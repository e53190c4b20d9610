"""Results: typed records (:mod:`wgm.records.modes`) and how they reach the disk
(:mod:`wgm.records.files`)."""

from wgm.records.files import (atomic_path, atomic_write, csv_cell, csv_table, versions,  # noqa: F401
                               with_finite_floats)
from wgm.records.modes import (CSV_COLUMNS, FieldProfile, Mode, ModeSpectrum, comparison_csv,  # noqa: F401
                               match_modes)
