"""Resumable sweeps: many independent cells (instance × solver × seed × budget) on an executor, each recorded once.

Cells are keyed by the caller (an idempotency key: the same cell gets the same key in every run). The log is a
table of the embedded store, written only by the submitting process as results stream back in completion order:
a cell already logged is not submitted again, and a cell logged twice (a retried task, a sweep started twice) keeps
its first row. So a sweep interrupted by Ctrl-C or a killed client and started again runs only the missing cells.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from typing import Any

from mezan.dist.executor import Executor, Task
from mezan.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sweep_cells (
    sweep TEXT NOT NULL, key TEXT NOT NULL, created REAL NOT NULL, payload TEXT NOT NULL,
    PRIMARY KEY (sweep, key)
);
"""


class SweepLog:
    """The cells of one named sweep that have finished, in the store (``sweep_cells``: one row per cell)."""

    def __init__(self, store: Store, sweep: str) -> None:
        self.store, self.sweep = store, sweep
        store.define(_SCHEMA)

    def done(self) -> dict[str, Any]:
        """key -> payload of every logged cell."""
        rows = self.store.query("SELECT key, payload FROM sweep_cells WHERE sweep = ? ORDER BY created, key",
                                (self.sweep,))
        return {key: json.loads(payload) for key, payload in rows}

    def record(self, key: str, payload: Any) -> bool:
        """Log a cell's JSON payload once; False when the key was already logged (the first row stays)."""
        with self.store.transaction() as db:
            cursor = db.execute("INSERT OR IGNORE INTO sweep_cells (sweep, key, created, payload) VALUES (?, ?, ?, ?)",
                                (self.sweep, key, time.time(), json.dumps(payload)))
            return cursor.rowcount == 1


def run_cells(executor: Executor, cells: Mapping[str, tuple[Callable[..., Any], tuple[Any, ...]]], *,
              record: Callable[[str, Any], Any], skip: Mapping[str, Any] | None = None,
              advance: Callable[[str, Any], Any] | None = None, context: bool = False) -> dict[str, Any]:
    """Submit every cell not in ``skip`` (key -> ``(fn, args)``), call ``record(key, value)`` for each in
    completion order, then ``advance(key, value)`` (a progress bar). Returns key -> value of the cells run here.
    Ctrl-C (or any error) cancels the cells not finished and re-raises; what was recorded stays recorded."""
    skip = skip or {}
    tasks: dict[str, Task] = {}
    results: dict[str, Any] = {}
    try:
        for key, (fn, args) in cells.items():
            if key not in skip:
                tasks[key] = executor.submit(fn, *args, context=context)
        by_task = {task.key: key for key, task in tasks.items()}
        for task in executor.as_completed(tasks.values()):
            key = by_task[task.key]
            value = task.result()
            record(key, value)
            results[key] = value
            if advance is not None:
                advance(key, value)
    except BaseException:
        for key, task in tasks.items():
            if key not in results:
                task.cancel()
        raise
    return results


__all__ = ["SweepLog", "run_cells"]
