"""mezan.dist: where independent work runs — this machine's threads or processes, or a Dask cluster.

For example::

    from mezan.dist import executor_from
    with executor_from("tcp://host:8786") as ex:            # or None (local threads), a Client, an Executor
        tasks = [ex.submit(fn, x) for x in xs]
        for task in ex.as_completed(tasks): ...

:func:`executor_from` is how every layer turns its ``executor=`` argument into an :class:`Executor`: an executor is
used as given; a ``distributed.Client`` or an address string becomes a :class:`DaskExecutor`; None is
``MEZAN_SCHEDULER`` from the environment when set, else a :class:`LocalExecutor`. Generic: no solver logic here.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from mezan.dist.cluster import DaskExecutor
from mezan.dist.executor import CANCEL_GRACE, DistError, Executor, SchedulerLost, Task, TaskContext, new_key, watch
from mezan.dist.local import LocalExecutor
from mezan.dist.sweep import SweepLog, run_cells

SCHEDULER_ENV = "MEZAN_SCHEDULER"


def make_executor(executor: Any = None, *, workers: int | None = None, local_cluster: int | None = None,
                  quiet: bool = False) -> Executor:
    """Make a new executor from a user's choice; the caller closes it.

    An address or a ``distributed.Client`` gives a :class:`DaskExecutor`; ``local_cluster=N`` a Dask
    ``LocalCluster`` of N single-thread workers; None ``$MEZAN_SCHEDULER`` when set, else a :class:`LocalExecutor`
    of ``workers`` threads.

    Parameters
    ----------
    executor : str or distributed.Client or None, optional
        A scheduler address (``tcp://host:8786``), a ``distributed.Client`` (left open by the executor's
        ``close``), or None for ``$MEZAN_SCHEDULER`` when set, else local threads. An :class:`Executor` is not
        accepted here (:func:`executor_from` takes one as is).
    workers : int or None, optional
        Threads of the :class:`LocalExecutor` (default: the machine's cores); ignored for Dask.
    local_cluster : int or None, optional
        Start a Dask ``LocalCluster`` of this many single-thread worker processes instead (not with an
        ``executor``).
    quiet : bool, default False
        Silence Dask's client log (see :class:`DaskExecutor`); ignored for a local executor and a given client.

    Returns
    -------
    Executor
        A :class:`LocalExecutor` or a :class:`DaskExecutor`, connected and checked.

    Raises
    ------
    DistError
        When both an address and ``local_cluster`` are given, ``executor`` is of another kind, or the Dask
        cluster cannot be reached or its workers run other versions.
    InvalidParameterError
        When ``workers`` is not an integer >= 1.
    """
    if local_cluster is not None:
        if executor is not None:
            raise DistError("give a scheduler address or local_cluster, not both")
        return DaskExecutor(local_cluster=local_cluster, quiet=quiet)
    if executor is None:
        executor = os.environ.get(SCHEDULER_ENV) or None
        if executor is None:
            return LocalExecutor(workers)
    if isinstance(executor, str):
        return DaskExecutor(executor, quiet=quiet)
    if type(executor).__name__ == "Client" and type(executor).__module__.startswith("distributed"):
        return DaskExecutor(client=executor)
    raise DistError(f"executor must be a mezan.dist.Executor, a distributed.Client, a scheduler address or None; "
                    f"got {type(executor).__name__}")


@contextlib.contextmanager
def executor_from(executor: Any = None, *, workers: int | None = None,
                  local_cluster: int | None = None) -> Iterator[Executor]:
    """Provide the executor for one call, as a context manager: how every layer reads its ``executor=`` argument.

    The caller's own :class:`Executor` is used as is (and left open); anything else is given to
    :func:`make_executor`, and the executor made is closed on exit.

    Parameters
    ----------
    executor : Executor or str or distributed.Client or None, optional
        An executor (used as is), or what :func:`make_executor` takes: a scheduler address, a
        ``distributed.Client``, or None (``$MEZAN_SCHEDULER`` when set, else local threads).
    workers : int or None, optional
        Threads of a :class:`LocalExecutor` made here (default: the machine's cores).
    local_cluster : int or None, optional
        Start a Dask ``LocalCluster`` of this many single-thread workers instead.

    Yields
    ------
    Executor
        The executor to submit to.

    Raises
    ------
    DistError
        As :func:`make_executor`, when an executor has to be made.
    InvalidParameterError
        When ``workers`` is not an integer >= 1.
    """
    if isinstance(executor, Executor):
        yield executor
        return
    made = make_executor(executor, workers=workers, local_cluster=local_cluster)
    try:
        yield made
    finally:
        made.close()


__all__ = ["CANCEL_GRACE", "SCHEDULER_ENV", "DaskExecutor", "DistError", "Executor", "LocalExecutor", "SchedulerLost",
           "SweepLog", "Task", "TaskContext", "executor_from", "make_executor", "new_key", "run_cells", "watch"]
