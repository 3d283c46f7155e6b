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
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from mezan.deprecation import renamed
from mezan.errors import InvalidParameterError
from mezan.extras import MissingExtraError
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
    """A solver of the suite: a name, the problem type it solves and the function that runs it.

    Parameters
    ----------
    name : str
        The registered name (``"qap.rots"``, ``"qapflow.auto"``, ``"allocflow.highs"``, ...).
    problem_type : str
        The problem type it solves.
    description : str
        One line on what it does.
    run : callable
        The function that runs it (call :meth:`solve`, which checks the options and the result).
    takes_advisor : bool, default False
        A rule-based policy that asks a learned selector first (QAPFlow's auto).
    takes_initial : bool, default False
        It starts from a given solution (``initial=``: a warm start, e.g. a QAP permutation).
    options : tuple of str
        The configuration keywords ``run`` accepts (e.g. QAP's max_iter, threads, target).
    """

    name: str
    problem_type: str
    description: str
    run: Callable[..., Any]
    takes_advisor: bool = False  # a rule-based policy that asks a learned selector first (QAPFlow auto)
    takes_initial: bool = False  # starts from a given solution (``initial=``: a warm start, e.g. a QAP permutation)
    options: tuple[str, ...] = ()  # the configuration keywords ``run`` accepts (e.g. QAP's max_iter, threads)

    def solve(self, problem: Any, *, time_limit: float = 10.0, seed: int | None = None, stop: Any = None,
              progress: Callable[[float, float], Any] | None = None,
              advisor: Callable[[Any], tuple[str, str] | None] | None = None, initial: Any = None,
              options: dict[str, Any] | None = None, start: Any = None) -> Result:
        """Run the solver on a problem record.

        Nothing but the arguments is consulted: no store, no global state.

        Parameters
        ----------
        problem : problem record
            A record of this solver's problem type (:mod:`mezan.problems`).
        time_limit : float, default 10.0
            Wall-clock budget in seconds, counted from the call.
        seed : int, optional
            Random seed.
        stop : threading.Event, optional
            Setting it cancels the run (status "cancelled", the best so far returned).
        progress : callable, optional
            ``progress(best_objective, elapsed_seconds)`` when the best improves; returning True stops the run.
        advisor : callable, optional
            ``advisor(problem) -> (solver name, why) or None``; reaches only solvers with ``takes_advisor``.
        initial : object, optional
            A solution to start from; reaches only solvers with ``takes_initial``.
        options : dict, optional
            The solver's configuration, keywords among :attr:`options` (e.g. ``{"max_iter": 5000}``).
        start : object, optional
            Deprecated name of ``initial``.

        Returns
        -------
        Result
            The solver's result record, with ``solver`` set to this solver's name.

        Raises
        ------
        mezan.errors.InvalidParameterError
            An option this solver does not take, named.
        """
        initial = renamed(f"solver {self.name!r}.solve", "start", "initial", start, initial)
        extra: dict[str, Any] = dict(self.check_options(options))
        if self.takes_advisor:
            extra["advisor"] = advisor
        if self.takes_initial and initial is not None:
            extra["initial"] = initial
        guard = stop_check(stop)  # refuses a stop without is_set(); one whose is_set() raises stops the run
        result = self.run(problem, time_limit=time_limit, seed=seed, stop=guard if stop is not None else None,
                          progress=progress, **extra)
        guard.raise_error()
        if not isinstance(result, Result):
            raise TypeError(f"solver {self.name!r} returned {type(result).__name__}, not a mezan.results.Result")
        return result if result.solver == self.name else dataclasses.replace(result, solver=self.name)

    @property
    def takes_start(self) -> bool:
        """Deprecated name of :attr:`takes_initial` (a DeprecationWarning; removed in the next release)."""
        warnings.warn("RegisteredSolver.takes_start is deprecated and will be removed in the next release; use "
                      "takes_initial", DeprecationWarning, stacklevel=2)
        return self.takes_initial

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
_UNAVAILABLE: dict[str, str] = {}  # built-in module -> why its solvers are not registered (a missing extra)


def register(name: str, problem_type: str, run: Callable[..., Any], description: str = "", *,
             takes_advisor: bool = False, takes_initial: bool = False, options: tuple[str, ...] = (),
             takes_start: bool | None = None) -> RegisteredSolver:
    """Add a solver to the registry.

    Parameters
    ----------
    name : str
        A new name, ``family.variant[@problem_type]`` (e.g. ``"qap.rots"``).
    problem_type : str
        The problem type it solves, a key of :data:`mezan.problems.TYPES` (or ``"permutation"``).
    run : callable
        ``run(problem, *, time_limit, seed, stop, progress, **extra) -> Result``.
    description : str
        One line on what it does.
    takes_advisor : bool, default False
        ``run`` accepts ``advisor=`` (a learned selector asked first; see :meth:`RegisteredSolver.solve`).
    takes_initial : bool, default False
        ``run`` accepts ``initial=`` (a solution to start from).
    options : tuple of str
        The configuration keywords ``run`` accepts (e.g. ``("max_iter", "threads")``).
    takes_start : bool, optional
        Deprecated name of ``takes_initial``.

    Returns
    -------
    RegisteredSolver
        The registered solver.

    Raises
    ------
    mezan.errors.InvalidParameterError
        When a solver of that name is already registered.
    """
    if takes_start is not None:
        takes_initial = renamed("mezan.registry.register", "takes_start", "takes_initial", takes_start,
                                takes_initial or None) or False
    if name in _SOLVERS:
        raise InvalidParameterError(f"a solver named {name!r} is already registered")
    solver = RegisteredSolver(name, problem_type, description, run, takes_advisor, takes_initial, tuple(options))
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
            try:
                entries = importlib.import_module(module).solver_entries()
            except MissingExtraError as exc:  # a component whose extra is not installed offers no solver
                _UNAVAILABLE[module] = str(exc)
                continue
            for entry in entries:
                if entry["name"] not in _SOLVERS:
                    register(**entry)
        _LOADED = True


def solvers(problem_type: str | None = None) -> list[RegisteredSolver]:
    """Return the registered solvers.

    Parameters
    ----------
    problem_type : str, optional
        Only the solvers of this problem type (``"qap"``, ``"allocation"``, ...).

    Returns
    -------
    list of RegisteredSolver
        In registration order.
    """
    _load_builtins()
    return [s for s in _SOLVERS.values() if problem_type is None or s.problem_type == problem_type]


def get(name: str) -> RegisteredSolver:
    """Return the registered solver of this name.

    Parameters
    ----------
    name : str
        A registered name, e.g. ``"qap.rots"``.

    Returns
    -------
    RegisteredSolver
        The solver.

    Raises
    ------
    mezan.errors.InvalidParameterError
        No solver has that name (the message lists the registered ones).
    """
    _load_builtins()
    try:
        return _SOLVERS[name]
    except KeyError:
        absent = "".join(f"; not loaded: {why}" for why in _UNAVAILABLE.values())
        raise InvalidParameterError(f"no solver named {name!r}; registered: {', '.join(sorted(_SOLVERS))}{absent}") \
            from None


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
