"""The one module that knows about MPI ranks.

``wgm`` runs unchanged under ``mpirun``: Meep splits each simulation over the ranks
(domain decomposition), every rank executes the same library calls, and only the I/O
rank writes files, prints results or logs progress.  Without MPI (or without mpi4py) the
single process is the I/O rank.
"""

from __future__ import annotations

import logging
import os

__all__ = ["rank", "size", "is_io_rank", "quiet_other_ranks"]


def _comm():
    # Only touch MPI if the process was started by an MPI launcher: importing mpi4py
    # initialises MPI, which is slow and pointless for a serial run.
    launched = any(k in os.environ for k in ("OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "SLURM_PROCID"))
    if not launched:
        return None
    try:
        from mpi4py import MPI
    except ImportError:
        return None
    return MPI.COMM_WORLD


def rank() -> int:
    """This process's rank in MPI_COMM_WORLD (0 without MPI)."""
    comm = _comm()
    return comm.Get_rank() if comm is not None else 0


def size() -> int:
    """Number of MPI processes (1 without MPI)."""
    comm = _comm()
    return comm.Get_size() if comm is not None else 1


def is_io_rank() -> bool:
    """True on the one process that writes files and prints results."""
    return rank() == 0


def quiet_other_ranks() -> None:
    """Silence logging on every rank but the I/O rank (errors still show)."""
    if not is_io_rank():
        logging.getLogger("wgm").setLevel(logging.ERROR)
