"""The ``wgm`` command line: a thin layer over the library, one module per command group
(:mod:`~wgm.cli.modes`, :mod:`~wgm.cli.sweep`, :mod:`~wgm.cli.experiment`,
:mod:`~wgm.cli.lasing`, :mod:`~wgm.cli.materials`) and :func:`~wgm.cli.main.main`."""

from wgm.cli.main import main  # noqa: F401
