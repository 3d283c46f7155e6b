"""The public API: the one list the API reference pages and the docstring checks (tests/test_docstrings.py) read.

A module maps to the names it makes public: ``None`` means its ``__all__``. Functions and classes among them get an
API page each and must carry a numpy-style docstring whose Parameters match the signature; constants are listed on
their module's page.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Iterator
from typing import Any

PUBLIC: dict[str, list[str] | None] = {
    "mezan": ["solve", "compile", "MezanError", "InvalidProblemError", "InvalidParameterError"],
    "mezan.qap": None,
    "mezan.qap.generate": ["taillard_a", "taillard_b", "grid_manhattan", "ring_circulant", "lipa"],
    "mezan.evo": None,
    "mezan.meta": None,
    "mezan.meta.aslib": ["read_scenario", "score", "rescore", "Scenario", "Score"],
    "mezan.meta.configure": ["configure", "evaluate_configured", "read_config", "Configuration", "Configured",
                             "ConfiguredEvaluation", "SPACE"],
    "mezan.meta.synthetic": ["synthetic_scenario"],
    "mezan.flows": None,
    "mezan.c2sc": None,
    "mezan.problems": None,
    "mezan.results": ["Status", "Result"],
    "mezan.registry": ["solvers", "get", "register", "RegisteredSolver"],
    "mezan.errors": ["MezanError", "InvalidProblemError", "InvalidParameterError", "PartialMatchError",
                     "QAPLIBFormatError", "InstanceTooLargeError", "StoppedError", "SolverFailedError"],
    "mezan.store": ["Store", "StoreError", "StoredDataError", "mezan_home"],
    "mezan.extras": ["MissingExtraError", "require", "EXTRAS"],
    "mezan.bench": None,
    "mezan.agents.deepthink": ["deepthink"],
    "mezan.agents.atlas": ["run_study", "study"],
    "mezan.dist": ["LocalExecutor", "DaskExecutor", "Executor", "Task", "TaskContext", "make_executor",
                   "executor_from"],
}
"""Public module -> its public names (None: the module's ``__all__``)."""


def names(module: str) -> list[str]:
    """The public names of ``module``, in the order given."""
    listed = PUBLIC[module]
    return list(listed if listed is not None else importlib.import_module(module).__all__)


def objects() -> Iterator[tuple[str, str, Any]]:
    """Every public (module, name, object), functions and classes first-class, constants too."""
    for module in PUBLIC:
        mod = importlib.import_module(module)
        for name in names(module):
            yield module, name, getattr(mod, name)


def documented() -> Iterator[tuple[str, str, Any]]:
    """The public functions and classes: (module, name, object). Each gets an API page and a docstring check."""
    for module, name, obj in objects():
        if inspect.isfunction(obj) or inspect.isclass(obj) or inspect.isbuiltin(obj):
            yield module, name, obj
