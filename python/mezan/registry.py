"""The solver suite: problem type -> solvers, behind one Solver protocol.

Every solver of MEZAN registers here (QAP methods and modes from :mod:`mezan.qap`, EvoFlow variants
from :mod:`mezan.evo`, AllocFlow from :mod:`mezan.flows`); selectors and services dispatch through
:func:`get` / :func:`solvers` only.
A solver is called as ``solver.solve(problem, time_limit=..., seed=..., stop=None, progress=None)``
where ``stop`` is an optional ``threading.Event`` that cancels the run when set and ``progress`` an
optional ``progress(best_objective, elapsed)`` callback; it returns its family's result record, a
:class:`mezan.results.Result` (``QAPResult``, ``EvoResult``, ...), with ``solver`` set to the registered name.
"""

from __future__ import annotations

import dataclasses
import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from mezan.errors import InvalidParameterError
from mezan.problems import TYPES, from_wire, to_wire
from mezan.results import Result
from mezan.running import stop_check


class Solver(Protocol):
    name: str
    problem_type: str

    def solve(self, problem: Any, *, time_limit: float, seed: int | None, stop: Any = None,
              progress: Callable[[float, float], Any] | None = None) -> Result: ...


@dataclass(frozen=True)
class RegisteredSolver:
    """A solver of the suite: a name, the problem type it solves and the function that runs it."""

    name: str
    problem_type: str
    description: str
    run: Callable[..., Any]
    takes_advisor: bool = False  # a rule-based policy that asks a learned selector first (QAPFlow auto)
    takes_start: bool = False  # starts from a given solution (``start=``: a warm start, e.g. a QAP permutation)
    options: tuple[str, ...] = ()  # the configuration keywords ``run`` accepts (e.g. QAP's max_iter, threads)

    def solve(self, problem: Any, *, time_limit: float = 10.0, seed: int | None = None, stop: Any = None,
              progress: Callable[[float, float], Any] | None = None,
              advisor: Callable[[Any], tuple[str, str] | None] | None = None, start: Any = None,
              options: dict[str, Any] | None = None) -> Result:
        """Run the solver. ``advisor`` (``advisor(problem) -> (solver name, why)`` or None) and ``start`` (a solution
        to start from) reach only solvers that take them; the others ignore them. ``options`` is a configuration
        (keywords among :attr:`options`, e.g. ``{"max_iter": 5000}``); an unknown one is an error. Nothing else is
        consulted: no store, no global state."""
        extra: dict[str, Any] = dict(self.check_options(options))
        if self.takes_advisor:
            extra["advisor"] = advisor
        if self.takes_start and start is not None:
            extra["start"] = start
        guard = stop_check(stop)  # refuses a stop without is_set(); one whose is_set() raises stops the run
        result = self.run(problem, time_limit=time_limit, seed=seed, stop=guard if stop is not None else None,
                          progress=progress, **extra)
        guard.raise_error()
        if not isinstance(result, Result):
            raise TypeError(f"solver {self.name!r} returned {type(result).__name__}, not a mezan.results.Result")
        return result if result.solver == self.name else dataclasses.replace(result, solver=self.name)

    def check_options(self, options: dict[str, Any] | None) -> dict[str, Any]:
        """``options`` as given, once every key is one this solver takes (else InvalidParameterError naming it)."""
        options = dict(options or {})
        for key in options:
            if key not in self.options:
                takes = f"it takes {', '.join(self.options)}" if self.options else "it takes none"
                raise InvalidParameterError(f"solver {self.name!r} has no option {key!r}: {takes}")
        return options


_SOLVERS: dict[str, RegisteredSolver] = {}
_BUILTIN_MODULES = ("mezan.qap", "mezan.evo", "mezan.flows")
_LOADED = False
_LOCK = threading.Lock()


def register(name: str, problem_type: str, run: Callable[..., Any], description: str = "", *,
             takes_advisor: bool = False, takes_start: bool = False, options: tuple[str, ...] = ()) -> RegisteredSolver:
    """Add a solver; the name must be new (``family.variant[@problem_type]``). ``takes_advisor`` / ``takes_start``:
    ``run`` accepts an ``advisor`` / a ``start`` keyword (see :meth:`RegisteredSolver.solve`); ``options``: the
    configuration keywords it accepts."""
    if name in _SOLVERS:
        raise InvalidParameterError(f"a solver named {name!r} is already registered")
    solver = RegisteredSolver(name, problem_type, description, run, takes_advisor, takes_start, tuple(options))
    _SOLVERS[name] = solver
    return solver


def _load_builtins() -> None:
    """Register the solvers the built-in packages offer (``solver_entries()`` of each), once. The registry imports
    them — never the reverse: the solver packages sit below it and know nothing of it."""
    global _LOADED
    if _LOADED:
        return
    with _LOCK:
        if _LOADED:
            return
        for module in _BUILTIN_MODULES:
            for entry in importlib.import_module(module).solver_entries():
                if entry["name"] not in _SOLVERS:
                    register(**entry)
        _LOADED = True


def solvers(problem_type: str | None = None) -> list[RegisteredSolver]:
    """Registered solvers, optionally only those for one problem type."""
    _load_builtins()
    return [s for s in _SOLVERS.values() if problem_type is None or s.problem_type == problem_type]


def get(name: str) -> RegisteredSolver:
    _load_builtins()
    try:
        return _SOLVERS[name]
    except KeyError:
        raise InvalidParameterError(f"no solver named {name!r}; registered: {', '.join(sorted(_SOLVERS))}") from None


def portable(problem: Any) -> Any:
    """What :func:`solve_wire` takes for a problem: its wire form, or the record itself for a type without one
    (EvoFlow's callable objective: it can run on local threads only)."""
    return to_wire(problem) if getattr(problem, "problem_type", None) in TYPES else problem


def solve_wire(name: str, wire: Any, time_limit: float = 10.0, seed: int | None = None, *,
               context: Any = None, options: dict[str, Any] | None = None) -> Result:
    """One registered solver on a wire-form problem: the task an executor (:mod:`mezan.dist`) runs on a worker.

    The problem travels as its wire form (a problem without one, e.g. EvoFlow's callable objective, as the record
    itself: it runs on local threads only) and the result comes back as the solver's result record; ``context`` (a
    :class:`mezan.dist.TaskContext`) is the run's ``stop`` and receives ``(best, elapsed)`` as progress;
    ``options``: the solver's configuration (see :meth:`RegisteredSolver.solve`)."""
    progress = None if context is None else (lambda best, elapsed: context.progress((best, elapsed)))
    problem = from_wire(wire) if isinstance(wire, dict) else wire
    return get(name).solve(problem, time_limit=time_limit, seed=seed, stop=context, progress=progress,
                           options=options)
