"""The one module that knows about MPI ranks.

``wgm`` runs unchanged under ``mpirun`` / ``srun``:

* ``wgm modes``: Meep splits the one simulation over all ranks (domain decomposition);
  every rank executes the same library calls and only the I/O rank writes or logs.
* ``wgm sweep``: :func:`map_dynamic` spreads independent tasks (sweep points) over groups
  of ranks with dynamic scheduling: each group asks rank 0 for its next task when it is
  free, so cheap and expensive points mix without leaving ranks idle.  Rank 0 computes
  too: a light dispatcher thread answers the other groups while its main thread works.

Without MPI (or without mpi4py) the single process is the I/O rank and tasks run in order.
"""

from __future__ import annotations

import logging
import os
import pickle
import sys
import threading
import time
from typing import Callable, Sequence

from wgm.errors import SolverError, UserError

__all__ = ["launched_by_mpi", "rank", "size", "is_io_rank", "quiet_other_ranks", "on_io_rank", "map_dynamic", "abort"]

log = logging.getLogger(__name__)

_TAG_ASK = 71     # group leader -> rank 0: (finished task, its record), asking for the next
_TAG_TASK = 72    # rank 0 -> group leader: the next task index, or None (no more work)
_POLL_S = 0.005   # the dispatcher sleeps between polls: no busy core on rank 0
_SWITCH_S = 1e-4  # Python thread switch interval on rank 0 while it dispatches


# Set by MPI launchers in every process they start: OpenMPI's mpirun (OMPI_*, PMIX_RANK),
# MPICH/Intel MPI hydra and srun --mpi=pmi2 (PMI_RANK/PMI_SIZE), srun --mpi=pmix (PMIX_RANK),
# MVAPICH2.  Not SLURM_PROCID: Slurm sets it in every job step, the batch script included,
# where a serial `wgm modes` must stay serial.
_LAUNCH_VARS = ("OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE", "MV2_COMM_WORLD_SIZE")


def launched_by_mpi() -> bool:
    """True if an MPI launcher started this process (then, and only then, mpi4py is imported)."""
    return any(k in os.environ for k in _LAUNCH_VARS)


def _comm():
    # Only touch MPI if the process was started by an MPI launcher: importing mpi4py
    # initialises MPI, which is slow and pointless for a serial run.
    if not launched_by_mpi():
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


def abort(code: int = 1) -> None:
    """End every rank of the job (after an error on one rank, so that none waits forever)."""
    comm = _comm()
    if comm is not None and comm.Get_size() > 1:
        comm.Abort(code)


def on_io_rank(fn: Callable[[], object]):
    """Run ``fn`` on the I/O rank only and return its result on every rank.

    Whatever ``fn`` raises there is raised on every rank, so all ranks stop together instead
    of the others waiting for a rank that has left: the I/O rank re-raises the exception
    itself; the others raise a :class:`UserError` with the same message for a user's
    mistake, else the same exception if it can be sent between ranks, else a
    :class:`SolverError` naming it.
    """
    comm = _comm()
    if comm is None or comm.Get_size() == 1:
        return fn()
    if comm.Get_rank() != 0:
        outcome = comm.bcast(None, root=0)
        if outcome[0] == "ok":
            return outcome[1]
        raise outcome[1]
    try:
        result = fn()
    except BaseException as exc:
        comm.bcast(("error", _portable(exc)), root=0)
        raise
    try:
        comm.bcast(("ok", result), root=0)
    except Exception as exc:  # the result cannot be pickled: nothing was sent yet
        comm.bcast(("error", _portable(exc)), root=0)
        raise
    return result


def _portable(exc: BaseException) -> BaseException:
    """``exc`` as an exception that survives pickling (raised on the other ranks)."""
    if isinstance(exc, UserError):
        return UserError(str(exc))  # subclasses like ConfigError take other arguments
    try:
        copy = pickle.loads(pickle.dumps(exc))
        if type(copy) is type(exc) and str(copy) == str(exc):
            return copy
    except Exception:  # noqa: BLE001 - any failure to pickle: send a description instead
        pass
    return SolverError(f"on rank 0: {type(exc).__name__}: {exc}")


def map_dynamic(order: Sequence[int], work: Callable[[int], object], *, procs_per_task: int = 1,
                on_groups: Callable[[int, int], None] | None = None,
                on_leader: Callable[[int, object], None] | None = None,
                on_result: Callable[[int, object], None] | None = None) -> None:
    """Run ``work(i)`` for each task ``i`` of ``order`` over MPI, dynamically scheduled.

    Parameters
    ----------
    order : sequence of int
        Task indices in the order they are handed out (give the costliest first).  Only
        rank 0's copy is used.
    work : callable
        ``work(i) -> record``, called on every rank of one group for task ``i`` (the ranks
        of a group cooperate, e.g. in one domain-decomposed Meep simulation).
    procs_per_task : int
        Ranks per group; must divide the number of ranks.
    on_groups : callable, optional
        ``on_groups(n_groups, my_group)``, called once on every rank after the split
        (e.g. to tell Meep to run its simulations within the group).
    on_leader : callable, optional
        ``on_leader(i, record)`` on the group's first rank when task ``i`` is done (e.g. to
        write its result file: every finished task is saved at once).
    on_result : callable, optional
        ``on_result(i, record)`` on rank 0 for every finished task, one call at a time
        (progress, collection).

    Without MPI the tasks run in ``order`` in this process.  Records must be picklable.
    """
    comm = _comm()
    if procs_per_task < 1:
        raise UserError(f"--procs-per-sim {procs_per_task}: must be at least 1")
    if comm is None or comm.Get_size() == 1:
        if procs_per_task > 1:
            raise UserError(f"--procs-per-sim {procs_per_task} needs at least {procs_per_task} MPI ranks "
                            "(run under mpirun / srun)")
        if on_groups is not None:
            on_groups(1, 0)
        for i in order:
            rec = work(i)
            if on_leader is not None:
                on_leader(i, rec)
            if on_result is not None:
                on_result(i, rec)
        return
    _map_mpi(comm, list(order), work, procs_per_task, on_groups, on_leader, on_result)


def _map_mpi(comm, order, work, k, on_groups, on_leader, on_result) -> None:
    from mpi4py import MPI

    n_ranks, me = comm.Get_size(), comm.Get_rank()
    if n_ranks % k:
        raise UserError(f"--procs-per-sim {k} must divide the number of MPI ranks ({n_ranks})")
    if n_ranks // k > 1 and MPI.Query_thread() < MPI.THREAD_MULTIPLE:
        raise SolverError("the MPI library does not provide MPI_THREAD_MULTIPLE, which the sweep "
                          "scheduler on rank 0 needs; use an MPI built with thread support")
    n_groups, my_group = n_ranks // k, me // k
    group = comm.Split(my_group, me)  # contiguous blocks of k ranks, as Meep's divide_parallel_processes
    if on_groups is not None:
        on_groups(n_groups, my_group)
    leader = group.Get_rank() == 0

    dispatcher = None
    if me == 0:
        dispatcher = _Dispatcher(comm, order, [g * k for g in range(1, n_groups)], on_result)
        dispatcher.start()
    asks = _Asks(comm) if leader and me != 0 else None
    try:
        done = None  # (task, record) of the group's last finished task
        while True:
            if leader:
                task = dispatcher.local_next(done) if me == 0 else asks.next(done)
            task = group.bcast(task if leader else None, root=0)
            if task is None:
                break
            t0 = time.monotonic()
            rec = work(task)
            if leader and on_leader is not None:
                on_leader(task, rec)
            done = (task, rec)
            if asks is not None:
                asks.short_tasks = time.monotonic() - t0 < _PREFETCH_BELOW_S
    finally:
        if dispatcher is not None:
            dispatcher.join()
    group.Free()


_PREFETCH_BELOW_S = 1.0  # tasks shorter than this: keep the next one asked for in advance
_BYE = "bye"


class _Asks:
    """A remote group leader's requests to rank 0.  For short tasks the next task is asked
    for while the current one runs (rank 0 answers from a thread that must first get
    Python's GIL: a few ms that would otherwise idle this group between tasks); for long
    tasks only when free, so that no long task waits behind a busy group."""

    def __init__(self, comm):
        self.comm = comm
        self.pending = []   # receive requests of the asks not yet answered, oldest first
        self.short_tasks = False

    def _ask(self, done) -> None:
        self.comm.send(done, dest=0, tag=_TAG_ASK)
        self.pending.append(self.comm.irecv(source=0, tag=_TAG_TASK))

    def next(self, done):
        """Report ``done`` and return the next task (None: no more work)."""
        if done is not None or not self.pending:
            self._ask(done)
        task = self.pending.pop(0).wait()
        if task is None:
            for req in self.pending:  # the queue is empty: the other answers are None too
                req.wait()
            self.pending.clear()
            self.comm.send(_BYE, dest=0, tag=_TAG_ASK)
        elif self.short_tasks and len(self.pending) == 0:
            self._ask(None)
        return task


class _Dispatcher:
    """Rank 0's task queue: hands out tasks to rank 0's own group (a direct call) and, from a
    thread, to the other groups' leaders (MPI messages); reports finished tasks."""

    def __init__(self, comm, order, remote_leaders, on_result):
        self._comm = comm
        self._queue = list(reversed(order))  # pop() from the end = next in order
        self._remote = set(remote_leaders)
        self._on_result = on_result
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._serve, name="wgm-dispatcher", daemon=True)
        self._error: BaseException | None = None

    def start(self) -> None:
        # The thread needs Python's GIL for every MPI call it makes; by default a waiting thread
        # gets it only after 5 ms, several times per request.  A short switch interval makes
        # the answers prompt; it costs nothing while the thread sleeps.
        self._interval = sys.getswitchinterval()
        sys.setswitchinterval(_SWITCH_S)
        self._thread.start()

    def join(self) -> None:
        self._thread.join()
        sys.setswitchinterval(self._interval)
        if self._error is not None:
            raise self._error

    def _take(self, done):
        with self._lock:
            if done is not None and self._on_result is not None:
                self._on_result(*done)
            return self._queue.pop() if self._queue else None

    def local_next(self, done):
        if self._error is not None:
            raise self._error
        return self._take(done)

    def _serve(self) -> None:
        from mpi4py import MPI

        status = MPI.Status()
        try:
            while self._remote:
                if not self._comm.Iprobe(source=MPI.ANY_SOURCE, tag=_TAG_ASK, status=status):
                    time.sleep(_POLL_S)
                    continue
                src = status.Get_source()
                done = self._comm.recv(source=src, tag=_TAG_ASK)
                if isinstance(done, str) and done == _BYE:  # the leader has all its answers
                    self._remote.discard(src)
                    continue
                self._comm.send(self._take(done), dest=src, tag=_TAG_TASK)
        except BaseException as exc:  # noqa: BLE001 - reported, then the whole job ends
            self._error = exc
            log.error("sweep dispatcher on rank 0 failed: %s: %s", type(exc).__name__, exc)
            self._comm.Abort(1)
