"""mezan.dist: where independent work runs — this machine's threads or processes, or a Dask cluster.

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
    """A new executor from a user's choice (the caller closes it): an address or a ``distributed.Client`` → Dask;
    ``local_cluster=N`` → a Dask ``LocalCluster`` of N single-thread workers; None → ``$MEZAN_SCHEDULER`` when set,
    else a :class:`LocalExecutor` of ``workers`` threads. ``quiet``: see :class:`DaskExecutor`."""
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
    """The executor to use for one call: the caller's own :class:`Executor` as is (left open), or one made by
    :func:`make_executor` and closed on exit."""
    if isinstance(executor, Executor):
        yield executor
        return
    made = make_executor(executor, workers=workers, local_cluster=local_cluster)
    try:
        yield made
    finally:
        made.close()


__all__ = ["CANCEL_GRACE", "SCHEDULER_ENV", "DaskExecutor", "DistError", "Executor", "LocalExecutor", "SchedulerLost", "SweepLog", "Task",
           "TaskContext", "executor_from", "make_executor", "new_key", "run_cells", "watch"]
