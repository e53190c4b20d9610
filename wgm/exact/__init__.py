"""The exact engine: layered spheres and the 2-D limit (infinite cylinders) from their
characteristic equations — Bessel functions (:mod:`wgm.exact.bessel`), asymptotic mode
positions (:mod:`wgm.exact.asymptotic`) and the root search (:mod:`wgm.exact.solver`)."""

from wgm.exact.solver import solve, solve_order  # noqa: F401
