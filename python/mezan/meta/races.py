"""Races and tournaments: solvers against each other on the same instance, budget and seed.

A race runs every solver on one problem, records each run through :meth:`MetaFlow.record` (which also plays each
solve's game against the instance) and then plays the race's pairwise games (:func:`mezan.meta.elo.rate_race`) in
the type's global scope and the problem's cluster. A tournament schedules races Swiss-style
(:func:`mezan.meta.elo.swiss_pairings`). Both are reached as :meth:`MetaFlow.race` and :meth:`MetaFlow.tournament`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mezan import registry
from mezan.dist import executor_from
from mezan.errors import InvalidParameterError
from mezan.meta import elo
from mezan.meta.features import problem_type, sense_of
from mezan.meta.ratings import loss

if TYPE_CHECKING:
    from mezan.meta.metaflow import MetaFlow


@dataclass
class RaceResult:
    """One race: each solver's result on the same instance, budget and seed.

    Parameters
    ----------
    results : dict
        Solver name -> its result record (:class:`mezan.results.Result`), in the order the solvers were given.
    ranking : list of str
        The solver names, best first (ties broken by name).
    cluster : int
        The problem's cluster when the race was rated.
    race_id : str
        The race's identifier, recorded with each of its solves.
    problem : object, optional
        The problem raced.
    """

    results: dict[str, Any]
    ranking: list[str]
    cluster: int
    race_id: str
    problem: Any = None


@dataclass
class TournamentResult:
    """A Swiss-system tournament: the points and the games played.

    Parameters
    ----------
    points : dict
        Solver name -> points (a win scores 1, a draw 0.5, a bye 1).
    games : list of tuple
        Every game played, in order, as ``(round, a, b, a's score)``; ``b`` is None for a bye.
    ratings : dict, optional
        Solver name -> Elo ``(rating, games)`` after the tournament, over the problem types' global scopes.
    """

    points: dict[str, float]
    games: list[tuple[int, str, str | None, float]]  # round, a, b, a's score
    ratings: dict[str, tuple[float, int]] = field(default_factory=dict)

    def standings(self) -> list[tuple[str, float, float]]:
        """(solver, points, rating), best first."""
        return sorted(((s, p, self.ratings.get(s, (elo.DEFAULT_RATING, 0))[0]) for s, p in self.points.items()),
                      key=lambda t: (-t[1], -t[2], t[0]))



def run_races(flow: MetaFlow, entries: Sequence[tuple[Any, Sequence[str]]], time_limit: float, seed: int | None,
              executor: Any = None, progress: Callable[[str, Any], Any] | None = None) -> list[RaceResult]:
    """Several independent races at once on an executor (:mod:`mezan.dist`; None: one local thread, or
    ``$MEZAN_SCHEDULER``): every (problem, solvers) entry's solves are tasks; ``progress(solver, result)`` is called
    as each arrives (completion order); once all are in, this process records every solve and rates every race in
    the order of ``entries`` and of each entry's solvers, so the store and the ratings do not depend on which worker
    finished first."""
    for problem, solvers in entries:
        if len(solvers) < 2:
            raise InvalidParameterError("a race needs at least two solvers")
        if len(set(solvers)) != len(solvers):
            raise InvalidParameterError(f"a race needs distinct solvers, got {list(solvers)}")
        flow._check_solvers(solvers, problem_type(problem))
    ids = [uuid.uuid4().hex for _ in entries]
    results: list[dict[str, Any]] = [{} for _ in entries]
    with executor_from(executor, workers=1) as ex:
        owner = {}
        tasks = []
        for k, (problem, solvers) in enumerate(entries):
            wire = registry.portable(problem)
            for name in solvers:
                task = ex.submit(registry.solve_wire, name, wire, time_limit, seed)
                owner[task.key] = (k, name)
                tasks.append(task)
        try:
            for task in ex.as_completed(tasks):
                k, name = owner[task.key]
                results[k][name] = task.result()
                if progress is not None:
                    progress(name, results[k][name])
        except BaseException:
            for task in tasks:
                task.cancel()
            raise
    for k, (problem, solvers) in enumerate(entries):
        for name in solvers:
            flow.record(problem, name, results[k][name], time_limit=time_limit, race=ids[k])
    return [_settle(flow, problem, {s: results[k][s] for s in solvers}, ids[k])
            for k, (problem, solvers) in enumerate(entries)]


def race(flow: MetaFlow, problem: Any, solvers: Sequence[str], time_limit: float, seed: int | None = None,
         progress: Callable[[str, Any], Any] | None = None, executor: Any = None) -> RaceResult:
    """Run every solver on the problem with the same budget and seed, record each run, and update
    the Elo ratings (global and in the problem's cluster) from every pair; the solves run as tasks on ``executor``
    (see :func:`run_races`)."""
    return run_races(flow, [(problem, solvers)], time_limit, seed, executor, progress)[0]


def _settle(flow: MetaFlow, problem: Any, results: dict[str, Any], race_id: str) -> RaceResult:
    """Rate a finished race from every pair (the type's global scope and the problem's cluster)."""
    kind = problem_type(problem)
    objectives = {s: loss(r.objective, sense_of(kind)) for s, r in results.items()}
    for scope in flow._scopes(problem):
        updated = elo.rate_race(flow.store.ratings(scope), objectives, k=flow.k_factor,
                                initial=flow.initial_rating)
        flow.store.set_ratings(scope, {s: updated[s] for s in objectives})
    ranking = sorted(objectives, key=lambda s: (objectives[s], s))
    cluster = flow.cluster_of(problem)
    flow.refresh(kind)
    return RaceResult(results, ranking, cluster, race_id, problem)


def tournament(flow: MetaFlow, problems: Sequence[Any], solvers: Sequence[str], rounds: int, time_limit: float,
               seed: int | None = None, progress: Callable[[int, str, str | None, float], Any] | None = None,
               executor: Any = None) -> TournamentResult:
    """A Swiss-system tournament: each round pairs solvers with equal or close points that have not
    met (:func:`mezan.meta.elo.swiss_pairings`), each pair races on the next problem in turn; a win
    scores 1, a draw 0.5, a bye 1. Every race is recorded and rated; a round's races run together on
    ``executor`` (:func:`run_races`) and are scored in pairing order."""
    if not problems:
        raise InvalidParameterError("a tournament needs at least one problem")
    if len(solvers) < 2 or len(set(solvers)) != len(solvers):
        raise InvalidParameterError(f"a tournament needs at least two distinct solvers, got {list(solvers)}")
    if not (isinstance(rounds, int) and rounds >= 1):
        raise InvalidParameterError(f"rounds must be an integer >= 1, got {rounds!r}")
    points = dict.fromkeys(solvers, 0.0)
    played: list[frozenset[str]] = []
    games: list[tuple[int, str, str | None, float]] = []
    turn = 0
    for round_number in range(1, rounds + 1):
        pairs = elo.swiss_pairings(points, played, [g[1] for g in games if g[2] is None])
        entries = []
        for a, b in pairs:
            if b is not None:
                entries.append((problems[turn % len(problems)], [a, b]))
                turn += 1
        outcomes = iter(run_races(flow, entries, time_limit, seed, executor)) if entries else iter(())
        for a, b in pairs:
            if b is None:
                points[a] += 1.0
                games.append((round_number, a, None, 1.0))
                continue
            result = next(outcomes)
            kind = problem_type(result.problem)
            s_a = elo.score(loss(result.results[a].objective, sense_of(kind)),
                            loss(result.results[b].objective, sense_of(kind)))
            points[a] += s_a
            points[b] += 1.0 - s_a
            played.append(frozenset((a, b)))
            games.append((round_number, a, b, s_a))
            if progress is not None:
                progress(round_number, a, b, s_a)
    return TournamentResult(points, games, flow.ratings())


__all__ = ["RaceResult", "TournamentResult", "race", "run_races", "tournament"]
