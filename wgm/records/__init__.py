"""Results: typed records (:mod:`wgm.records.modes`) and how they reach the disk
(:mod:`wgm.records.files`)."""

from wgm.records.files import (atomic_path, atomic_write, csv_cell, csv_table, csv_value, json_default,  # noqa: F401
                               json_text, read_csv_table, read_hdf5_table, restore_floats, versions,
                               with_finite_floats, write_hdf5)
from wgm.records.modes import (COMPARISON_COLUMNS, CSV_COLUMNS, ENGINE_LABELS, ENGINES, MATCH_WINDOW_REL,  # noqa: F401
                               METHODS_WITH_MISSES, MISSED_COLUMNS, MISSED_REASONS, comparison_columns,
                               energy_shares_text, parse_energy_shares,
                               FieldProfile, MissedMode, Mode, ModeSpectrum, comparison_csv, comparison_rows,
                               match_modes)
