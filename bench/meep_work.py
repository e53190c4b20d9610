"""Counting Meep's work in the benchmarks without touching wgm: a pass-through wrapper of
``Simulation.run`` that notes, per Simulation object, the time-step counter and the number of
grid cells Meep actually simulates (the symmetry-reduced grid when a mirror plane is used).
It adds one Python call per run() (not per step) and changes nothing in the simulation.
Installed on import."""

from __future__ import annotations

from wgm.fdtd.meep_model import meep

mp = meep()

RUN_LOG: dict[int, tuple[int, int]] = {}  # id(Simulation) -> (time steps, cells per step)
_orig_run = mp.Simulation.run


def owned_cells(sim) -> int:
    """Grid cells updated per step: Meep's own grid (reduced by the symmetry, if any)."""
    return int(sim.fields.gv.nowned_min())


def _counting_run(self, *args, **kwargs):
    try:
        return _orig_run(self, *args, **kwargs)
    finally:
        if self.fields is not None:
            RUN_LOG[id(self)] = (int(self.fields.t), owned_cells(self))


mp.Simulation.run = _counting_run
