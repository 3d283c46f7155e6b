"""mezan.evo.evolve: the steady-state genetic / memetic algorithm of the C++ core."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from mezan import _core
from mezan.deprecation import renamed
from mezan.errors import InstanceTooLargeError, InvalidParameterError
from mezan.evo.problems import QAP, TSP, LinearOrdering, PermutationProblem, native
from mezan.results import Result
from mezan.running import (
    MAX_THREADS,
    available_memory,
    check_budget,
    integer_at_least,
    real_number,
    resolve_seed,
    run_controlled,
)

CROSSOVERS = ("ox", "pmx", "cx", "position", "uniform")
MUTATIONS = ("swap", "insert", "inversion", "scramble")
SELECTIONS = ("tournament", "rank")
DISTANCES = ("hamming", "position")
_REASONS = {"time_limit": "time limit reached", "iteration_limit": "generation or evaluation cap reached",
            "target": "target objective reached", "cancelled": "cancelled", "none": "finished"}
MAX_POPULATION = 100_000
"""The largest population accepted (the engine holds population x n genes and a batch as large)."""


@dataclass(frozen=True, kw_only=True, repr=False)  # Result's compact repr
class EvoResult(Result):
    """Outcome of :func:`evolve`: the common fields of :class:`mezan.results.Result` and EvoFlow's own.

    The fields are keyword-only.

    Parameters
    ----------
    solution : numpy.ndarray of int, optional
        The best permutation found (also read as ``best``).
    objective : float, optional
        Its value, minimised (also read as ``fitness``).
    status : Status or str, default "feasible"
        "timeout", "cancelled" or "feasible" (a cap or the target ended the run); ``reason`` says which.
    lower_bound : float or None, optional
        A proven lower bound on the optimum; :func:`evolve` proves none and leaves it None.
    upper_bound : float or None, optional
        A proven upper bound on the optimum; left None by :func:`evolve`.
    gap : float or None, optional
        Relative distance between the objective and a proven bound; None without a bound.
    solver : str or None, optional
        The registered solver name when run through the registry (``evo.ga@tsp``, ``evo.memetic@qap``, ...).
    seed : int or None, optional
        The seed used (reuse it to reproduce).
    wall_time : float, default 0.0
        Seconds spent.
    iterations : int, default 0
        The objective evaluations, as ``evaluations``.
    trace : list of tuple of float, optional
        The anytime curve: (seconds, best fitness) pairs.
    explanation : str, default ""
        The algorithm that ran and its settings (population, crossover, mutation, selection).
    reason : str, default ""
        Why the run ended as it did, in words (time limit reached, a cap reached, target reached, ...).
    evaluations : int, default 0
        Objective evaluations, the initial population included.
    generations : int, default 0
        Generations run: batches of ``population`` children produced.

    Attributes
    ----------
    best : numpy.ndarray of int
        The solution under its EvoFlow name (read-only).
    fitness : float
        The objective under its EvoFlow name (read-only).

    Raises
    ------
    mezan.errors.InvalidParameterError
        When ``status`` is not a status name, or exactly one of ``solution`` and ``objective`` is None.
    """

    evaluations: int = 0
    generations: int = 0

    ARRAY_FIELDS: ClassVar[tuple[str, ...]] = ("solution",)

    @property
    def best(self) -> np.ndarray:
        """The solution under its EvoFlow name."""
        return self.solution

    @property
    def fitness(self) -> float:
        """The objective under its EvoFlow name."""
        return self.objective  # type: ignore[return-value]  # an EvoResult always has a solution


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise InvalidParameterError(f"{name} must be one of {', '.join(allowed)}; got {value!r}")
    return value


def evolve(
    objective: Any,
    n: int | None = None,
    *,
    kind: str = "permutation",
    population: int = 64,
    generations: int | None = None,
    time_limit: float | None = 10.0,
    max_evaluations: int | None = None,
    crossover: str = "ox",
    mutation: str = "swap",
    mutation_rate: float = 0.2,
    local_search: bool | None = None,
    selection: str = "tournament",
    tournament_size: int = 3,
    distance: str = "hamming",
    seed: Any = None,
    threads: int = 1,
    target: float | None = None,
    progress: Callable[[float, float], Any] | None = None,
    stop: Any = None,
    callback: Callable[[float, float], Any] | None = None,
) -> EvoResult:
    """Minimise a function of a permutation with a steady-state genetic (or memetic) algorithm.

    Each generation breeds ``population`` children, evaluates them (on ``threads`` for the built-in problems) and
    inserts them with distance-based replacement. The result depends only on the seed and the caps, not on
    ``threads`` (children are evaluated in parallel but generated and inserted in order).

    Parameters
    ----------
    objective : QAP, TSP, LinearOrdering, PermutationProblem, problem record or callable
        A built-in problem (runs entirely in C++; a :class:`mezan.problems.QAPProblem`, ``TSPProblem`` or
        ``LinearOrderingProblem`` too) or ``f(permutation) -> float``; a callable needs ``n``. An exception raised
        by the callable stops the run and propagates unchanged.
    n : int, optional
        Permutation length (required for a callable; checked against a built-in's size).
    kind : str, default "permutation"
        Only permutations are supported; real vectors are out of scope (use e.g. ``cma``).
    population : int, default 64
        Population size, in [2, 100,000].
    generations : int, optional
        Cap on generations (a generation is a batch of ``population`` children).
    time_limit : float or None, default 10.0
        Wall-clock budget in seconds; at least one of time_limit, generations, max_evaluations and target must
        bound the run.
    max_evaluations : int, optional
        Cap on objective evaluations.
    crossover : str, default "ox"
        One of :data:`mezan.evo.CROSSOVERS`: "ox", "pmx", "cx", "position", "uniform" (ULX).
    mutation : str, default "swap"
        One of :data:`mezan.evo.MUTATIONS`: "swap", "insert", "inversion", "scramble".
    mutation_rate : float, default 0.2
        Probability in [0, 1] that a child is mutated.
    local_search : bool or None
        Improve every child with the problem's built-in local search (QAP: swap descent; TSP: 2-opt on symmetric
        distances; linear ordering: insertions): the memetic variant.
    selection : str, default "tournament"
        Parent selection, "tournament" or "rank".
    tournament_size : int, default 3
        Contestants per tournament (drawn with replacement).
    distance : str, default "hamming"
        The distance of diversity-preserving replacement, "hamming" or "position".
    seed : int, numpy.random.Generator or None
        Random seed; the one used is reported in the result.
    threads : int, default 1
        Threads evaluating the children of the built-in problems.
    target : float, optional
        Stop as soon as an objective at least this good is found.
    progress : callable, optional
        ``progress(best_objective, elapsed_seconds)`` when the best improves; returning True stops the run.
    stop : threading.Event, optional
        Setting it cancels the run (status "cancelled", the best so far returned).
    callback : callable, optional
        Deprecated name of ``progress``.

    Returns
    -------
    EvoResult
        The best permutation (``solution``, also ``best``), its ``objective`` (also ``fitness``), ``status``,
        ``evaluations``, ``generations``, ``wall_time`` and the anytime ``trace``.

    Raises
    ------
    mezan.errors.InvalidParameterError
        An option out of range or of the wrong type, named.
    mezan.errors.InvalidProblemError
        A problem whose data is not valid.
    """
    progress = renamed("mezan.evo.evolve", "callback", "progress", callback, progress)
    if kind != "permutation":
        raise InvalidParameterError(
            f"kind={kind!r} is not supported: EvoFlow optimises permutations; for real vectors use a "
            "dedicated library such as cma"
        )
    objective = native(objective)  # a QAP, TSP or linear-ordering record of mezan.problems too
    if isinstance(objective, (QAP, TSP, LinearOrdering, PermutationProblem)):
        problem = objective
        if n is not None and n != problem.n:
            raise InvalidParameterError(f"n = {n} does not match the problem's size {problem.n}")
    elif callable(objective):
        if n is None:
            raise InvalidParameterError("n (the permutation length) is required with a callable objective")
        problem = PermutationProblem(objective, n)
    else:
        raise InvalidParameterError(
            "objective must be mezan.evo.QAP, TSP, LinearOrdering or a callable f(permutation) -> float, "
            f"got {type(objective).__name__}"
        )
    pop = integer_at_least("population", population, 2, MAX_POPULATION)
    need = 16 * pop * problem.n  # population genes + a batch of children (int32) and the engine's scratch
    if need > available_memory():
        raise InstanceTooLargeError(f"n = {problem.n} with population = {pop} needs an estimated "
                                    f"{need / 2**30:.1f} GiB (16 bytes per gene), only "
                                    f"{available_memory() / 2**30:.1f} GiB is available")
    gens = -1 if generations is None else integer_at_least("generations", generations)
    limit, evals = check_budget(time_limit, max_evaluations, "max_evaluations")
    if limit == 0.0 and evals < 0 and gens < 0 and target is None:
        raise InvalidParameterError("give a finite time_limit, generations, max_evaluations or target")
    if not isinstance(mutation_rate, (int, float, np.number)) or not 0.0 <= mutation_rate <= 1.0:
        raise InvalidParameterError(f"mutation_rate must lie in [0, 1], got {mutation_rate!r}")
    if local_search and not isinstance(problem, (QAP, TSP, LinearOrdering)):
        raise InvalidParameterError("local_search needs a built-in problem (QAP, TSP or LinearOrdering)")
    core_objective = problem.core_objective()
    if local_search and not core_objective.has_local_search:
        raise InvalidParameterError("local_search (2-opt) needs a symmetric distance matrix D")
    threads = integer_at_least("threads", threads, 1, MAX_THREADS)
    tournament = integer_at_least("tournament_size", tournament_size, 1, MAX_POPULATION)  # drawn with replacement
    if target is not None:
        target = real_number("target", target, finite=False)
    run_seed = resolve_seed(seed)
    control = _core.SolveControl(limit, None if target is None else float(target))
    run = run_controlled(
        lambda: _core.evolve(
            core_objective, pop, gens, evals, _choice("crossover", crossover, CROSSOVERS),
            _choice("mutation", mutation, MUTATIONS), float(mutation_rate), bool(local_search),
            _choice("selection", selection, SELECTIONS), tournament,
            _choice("distance", distance, DISTANCES), run_seed, threads, control,
        ),
        control, progress=progress, stop=stop,
    )
    raw = run.result
    reason = "cancelled" if run.interrupted else raw.reason.name
    status = {"time_limit": "timeout", "cancelled": "cancelled"}.get(reason, "feasible")
    variant = "memetic (children improved by local search)" if local_search else "genetic"
    return EvoResult(
        solution=np.asarray(raw.permutation, dtype=np.int64),
        objective=float(raw.objective),
        iterations=int(raw.evaluations),
        evaluations=int(raw.evaluations),
        generations=int(raw.generations),
        wall_time=run.wall_time,
        seed=run_seed,
        status=status,
        trace=[(float(t), float(v)) for t, v in raw.trace],
        explanation=f"steady-state {variant} algorithm: population {pop}, {crossover} crossover, {mutation} "
                    f"mutation, {selection} selection",
        reason=_REASONS.get(reason, reason),
    )
