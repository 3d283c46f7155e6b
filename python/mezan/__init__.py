"""MEZAN: a meta-learning optimization platform with a fast C++ QAP core.

The C++ core (``mezan._core``) holds every algorithm; this package adds the Python API. :func:`solve` solves any
problem with the solver MetaFlow selects, and :func:`compile` checks a composite request. The components are
subpackages, imported when first used (``import mezan; mezan.qap`` works):

- ``mezan.qap``: QAPFlow (``solve``, the scipy drop-in ``quadratic_assignment``, QAPLIB I/O, bounds, generators);
- ``mezan.evo``: EvoFlow, evolutionary search over permutations;
- ``mezan.meta``: MetaFlow, solver selection that learns (features, Elo, policies, ASlib);
- ``mezan.flows``: WorkFlow, AllocFlow, GraphFlow and DualFlow;
- ``mezan.c2sc``: composite requests; ``mezan.problems``: the problem records; ``mezan.results``: the result
  records; ``mezan.registry``: the solver registry; ``mezan.errors``: the exceptions;
- ``mezan.bench`` (OptiBench), ``mezan.agents`` (DeepThink, ATLAS), ``mezan.dist`` (executors, Dask),
  ``mezan.store`` (MetaFlow's store), ``mezan.service`` (the HTTP service) and ``mezan.mcp`` (the MCP server).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

from mezan import errors
from mezan.deprecation import renamed
from mezan.errors import InvalidParameterError, InvalidProblemError, MezanError

if TYPE_CHECKING:
    from mezan.c2sc import CompositeResult, Plan
    from mezan.meta import MetaFlow
    from mezan.results import Result

try:  # the version is written once, in pyproject.toml; the installed metadata carries it
    __version__ = _metadata.version("mezan")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"

SUBMODULES = ("agents", "bench", "c2sc", "dist", "evo", "flows", "mcp", "meta", "problems", "qap", "registry",
              "results", "service", "store")
"""The subpackages and modules ``mezan.<name>`` imports on first access (PEP 562)."""

__all__ = ["InvalidParameterError", "InvalidProblemError", "MezanError", "__version__", "compile", "errors", "solve",
           *SUBMODULES]

COMPOSITE_ONLY = ("workers", "admit", "executor")
SINGLE_ONLY = ("solver", "metaflow", "record")


def __getattr__(name: str) -> Any:
    if name in SUBMODULES:
        return importlib.import_module(f"mezan.{name}")  # imported once; Python caches it as an attribute too
    raise AttributeError(f"module 'mezan' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(SUBMODULES))


def solve(problem: Any, B: Any = None, *, time_limit: float = 10.0, seed: int | None = None,
          solver: str = "auto", metaflow: MetaFlow | None = None, record: bool = True, stop: Any = None,
          progress: Callable[[float, float], Any] | None = None, workers: int | None = None,
          admit: Callable[[Any, float], float] | None = None, executor: Any = None,
          callback: Callable[[float, float], Any] | None = None) -> Result | CompositeResult:
    """Solve any problem with the solver MetaFlow selects, and learn from it.

    A problem record or QAP matrices run the solver MetaFlow's policy picks (or the one named by ``solver``); a
    wire-form dict (``{"type": "qap", ...}``) is read into its record first; a composite request
    (``{"type": "composite", ...}``) is compiled and run by C2SC, each subproblem by its solver.

    **What it records:** unless ``record=False``, every solve is appended to MetaFlow's store, the SQLite file
    ``$MEZAN_HOME/mezan.db`` (by default ``~/.mezan/mezan.db``): the problem's fingerprint and features, the
    solver, budget, objective, bound and time, and the best solution per problem (a later solve of the same
    problem starts from it). Set ``MEZAN_HOME`` to keep the store elsewhere. The solvers themselves
    (:func:`mezan.qap.solve`, ...) read and write nothing.

    Parameters
    ----------
    problem : problem record, array_like or dict
        A record of :mod:`mezan.problems` (e.g. a :class:`~mezan.problems.QAPProblem`), the QAP flow matrix
        ``A`` (then give ``B``), a wire-form dict, or a composite request.
    B : array_like, optional
        The QAP distance matrix when ``problem`` is the flow matrix.
    time_limit : float, default 10.0
        Wall-clock budget in seconds, counted from the call (a composite request: per subproblem, unless a
        subproblem sets its own).
    seed : int, optional
        Random seed of the solver (and of the selection, with a fresh MetaFlow).
    solver : str, default "auto"
        "auto" lets MetaFlow choose; or a registered solver name (:func:`mezan.registry.solvers`). Not for a
        composite request (each subproblem names its own).
    metaflow : MetaFlow, optional
        The selector and store to use (default: ``MetaFlow(seed=seed)`` on ``$MEZAN_HOME``).
    record : bool, default True
        Append the solve to the store. False leaves the store untouched (it is still read to choose).
    stop : threading.Event, optional
        Setting it cancels the solve (status "cancelled", the best so far returned).
    progress : callable, optional
        ``progress(best_objective, elapsed_seconds)`` when the best improves; returning True stops the solve.
    workers : int, optional
        A composite request: subproblems of a stage run at a time on this process's threads (default 2).
    admit : callable, optional
        A composite request: ``admit(problem, time_limit) -> time_limit`` applied to every subproblem (the
        service's size and time checks).
    executor : mezan.dist.Executor, distributed.Client, str or None, optional
        A composite request: where the subproblems of a stage run as tasks (see :mod:`mezan.dist`).
    callback : callable, optional
        Deprecated name of ``progress``.

    Returns
    -------
    Result or CompositeResult
        The solver's result record (:class:`mezan.results.Result`; :class:`mezan.qap.QAPResult` for a QAP) with
        ``solver`` set and an ``explanation`` that starts with why the solver was chosen; for a composite request
        a :class:`mezan.c2sc.CompositeResult` (``results`` per subproblem, an aggregate ``status``).

    Raises
    ------
    mezan.errors.InvalidProblemError
        A problem that is not valid, naming the field.
    mezan.errors.InvalidParameterError
        An option that is not valid, or one that does not apply to this kind of problem.
    mezan.c2sc.PlanError
        A composite request that does not compile (unknown type, cycle, dangling reference).

    Examples
    --------
    >>> import mezan
    >>> from mezan.qap import load
    >>> result = mezan.solve(load("nug12"), time_limit=1.0, seed=1, record=False)
    >>> result.objective
    578
    """
    progress = renamed("mezan.solve", "callback", "progress", callback, progress, stacklevel=3)
    composite = isinstance(problem, dict) and problem.get("type") == "composite"
    given = {"solver": solver != "auto", "metaflow": metaflow is not None, "record": record is not True,
             "workers": workers is not None, "admit": admit is not None, "executor": executor is not None,
             "B": B is not None}
    wrong = [name for name in ((*SINGLE_ONLY, "B") if composite else COMPOSITE_ONLY) if given[name]]
    if wrong:
        kind = "a composite request" if composite else "a single problem"
        raise InvalidParameterError(f"{', '.join(wrong)} does not apply to {kind}")
    from mezan import c2sc  # here, not at the top: `import mezan` stays light (the CLI's start-up time)

    if composite:
        return c2sc.run(problem, time_limit=time_limit, seed=seed, workers=2 if workers is None else workers,
                        stop=stop, progress=progress, admit=admit, executor=executor)
    if isinstance(problem, dict):
        problem = c2sc.from_wire(problem)
    from mezan.meta import metasolve  # as above

    return metasolve.solve(problem, B, time_limit=time_limit, solver=solver, seed=seed, metaflow=metaflow,
                           record=record, stop=stop, progress=progress)


def compile(request: dict[str, Any], *, admit: Callable[[Any, float], float] | None = None,
            default_time_limit: float = 10.0) -> Plan:
    """Compile a composite request into a plan, checking it completely before anything runs (C2SC).

    Parameters
    ----------
    request : dict
        A composite request, ``{"type": "composite", "subproblems": [...]}``.
    admit : callable, optional
        ``admit(problem, time_limit) -> time_limit``, applied to every subproblem without references.
    default_time_limit : float, default 10.0
        The budget of a subproblem that sets none.

    Returns
    -------
    Plan
        The subproblems ordered into stages of independent ones (``plan.stages``).

    Raises
    ------
    mezan.c2sc.PlanError
        A subproblem that is not valid, a dependency cycle or a dangling reference, named.
    """
    from mezan import c2sc  # as in solve()

    return c2sc.compile(request, admit=admit, default_time_limit=default_time_limit)
