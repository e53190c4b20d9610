"""The FDTD engine: Meep in cylindrical coordinates, one azimuthal number m per run.

Modules, one concept each: :mod:`~wgm.fdtd.settings` (the ``[fdtd]`` table),
:mod:`~wgm.fdtd.plan` (cell, resolution, m values, reduced domain, mirror classes: no Meep),
:mod:`~wgm.fdtd.meep_model` (the only module that imports Meep: media, geometry, the
``Simulation``, the Harminv adapter, the stderr filter), :mod:`~wgm.fdtd.ringdown` (ring-down and
Harminv line bookkeeping), :mod:`~wgm.fdtd.analysis` (field analysis, numpy only),
:mod:`~wgm.fdtd.run` (orchestration: :func:`solve`), :mod:`~wgm.fdtd.lasing_run` (the L-L
driver :func:`lasing_curve`) and :mod:`~wgm.fdtd.pulsed_run` (build-up after a short pump pulse,
:func:`pulsed_buildup`).

Importing this package (or any of its modules) does not import Meep, print, or register
``atexit`` handlers: Meep is loaded at the first simulation.

Note: the function :func:`plan` is exported here under the same name as the module
:mod:`wgm.fdtd.plan`; ``wgm.fdtd.plan`` is the function, ``from wgm.fdtd.plan import ...`` reaches
the module.
"""

from wgm.fdtd.lasing_run import lasing_curve
from wgm.fdtd.plan import FdtdPlan, plan
from wgm.fdtd.pulsed_run import pulsed_buildup
from wgm.fdtd.run import solve, use_process_groups
from wgm.fdtd.settings import FdtdSettings

__all__ = ["solve", "plan", "FdtdPlan", "lasing_curve", "pulsed_buildup", "use_process_groups", "FdtdSettings"]
