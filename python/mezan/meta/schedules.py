"""Plans for runtime scenarios: a pre-solving schedule and the feature-step choice, chosen on training data only.

A plan is what a selector does on an instance before its per-instance choice counts (ASlib's convention, as in
SATzilla's and AutoFolio's pre-solvers): run a short static schedule of algorithms (each an (algorithm, seconds)
slot; an instance solved in a slot costs the time spent so far), then compute the feature steps, then run the
selected algorithm. Easy instances thus never pay feature costs; when features cost more than selection gains, the
plan computes none and runs the training folds' single best algorithm.

:func:`choose_plan` searches, on the training rows only: feature steps in {the given steps, none}, and greedily up to
:data:`MAX_SLOTS` pre-solving slots, each an algorithm and a budget from :data:`SLOT_SHARES` x cutoff (at most
:data:`MAX_PRESOLVE_SHARE` x cutoff in all), scoring each candidate plan by :func:`mezan.meta.aslib.plan_costs` with
the selector's *out-of-fold* picks on the training rows (an in-sample pick would make selection look better than it
is and pre-solving worse). Cost: (algorithms x budgets) plan evaluations per slot, each O(training rows x steps).

:func:`evaluate` runs a scenario's own ``cv.arff`` folds with a selector and a plan per fold and returns every
instance's decision (schedule, steps, algorithm) and cost. With ``approach="auto"`` the inner cross-validation judges
each approach by the cost of its out-of-fold picks *inside their best plan*, so the approach and the plan are chosen
together, on the training folds only. Which steps are given (the default steps, or all of them when they provide
more features) is chosen per fold too (:func:`evaluate_fold`); a selector sees only the features of the steps its plan
pays for.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np

from mezan.dist import LocalExecutor, executor_from
from mezan.errors import InvalidParameterError
from mezan.meta.aslib import Scenario, plan_costs
from mezan.meta.selectors import FALLBACK, AlgorithmSelector
from mezan.meta.sunny import Schedule, SunnySchedules
from mezan.running import check_seed

SLOT_SHARES = (0.002, 0.005, 0.01, 0.02, 0.05, 0.1)
MAX_SLOTS = 2
MAX_PRESOLVE_SHARE = 0.1
FEATURE_STEPS = ("auto", "default", "all")
"""Which feature steps a fold computes (:func:`evaluate_fold`'s ``feature_steps``)."""


@dataclass(frozen=True)
class Plan:
    """``presolve``: (algorithm index, seconds) slots in order; ``steps``: the feature steps computed (empty: none,
    then every instance runs ``fallback``, the training single best)."""

    presolve: tuple[tuple[int, float], ...] = ()
    steps: tuple[str, ...] | None = None  # None: the scenario's default steps
    fallback: int | None = None


def _costs(scenario: Scenario, rows: np.ndarray, picks: np.ndarray, plan: Plan,
           costs: np.ndarray | None = None) -> np.ndarray:
    """Each of ``rows``' cost when ``plan`` runs with the selector's ``picks`` there (``costs``: the scenario's)."""
    algorithm = np.zeros(len(scenario.instances), dtype=int)
    algorithm[rows] = picks if plan.fallback is None else plan.fallback
    steps = None if plan.steps is None else list(plan.steps)
    return plan_costs(scenario, algorithm, steps, plan.presolve, costs=costs)[rows]


def _cost(scenario: Scenario, rows: np.ndarray, picks: np.ndarray, plan: Plan,
          costs: np.ndarray | None = None) -> float:
    return float(_costs(scenario, rows, picks, plan, costs).mean())


def choose_plan(scenario: Scenario, rows: np.ndarray, picks: np.ndarray, steps: tuple[str, ...] | None = None, *,
                slots: int = MAX_SLOTS, share: float = MAX_PRESOLVE_SHARE) -> Plan:
    """The plan with the lowest mean cost on the training ``rows`` (a boolean mask) given the selector's out-of-fold
    ``picks`` there, made with the features of ``steps`` (None: the default steps), with at most ``slots`` pre-solving
    slots of at most ``share`` x cutoff in all — see the module docstring. Quality scenarios: ``Plan(steps=steps)``."""
    if not scenario.runtime:
        return Plan(steps=steps)
    cutoff = float(scenario.cutoff)  # type: ignore[arg-type]
    costs = scenario.costs()  # once: every candidate plan is scored on it
    sbs = int(np.argmin(costs[rows].mean(axis=0)))
    computes = scenario.default_steps if steps is None else steps
    starts = [Plan(steps=steps)] + ([Plan(steps=(), fallback=sbs)] if computes else [])
    best, best_cost = starts[0], _cost(scenario, rows, picks, starts[0], costs)
    for start in starts:
        plan, cost = start, _cost(scenario, rows, picks, start, costs)
        for _ in range(slots):
            spent = sum(seconds for _, seconds in plan.presolve)
            candidates = [Plan((*plan.presolve, (a, slot * cutoff)), plan.steps, plan.fallback)
                          for a in range(len(scenario.algorithms)) for slot in SLOT_SHARES
                          if spent + slot * cutoff <= share * cutoff
                          and a not in {used for used, _ in plan.presolve}]
            scored = [(_cost(scenario, rows, picks, c, costs), k) for k, c in enumerate(candidates)]
            if not scored:
                break
            value, k = min(scored)
            if not value < cost:
                break
            plan, cost = candidates[k], value
        if cost < best_cost:
            best, best_cost = plan, cost
    return best


def solved_in_schedule(scenario: Scenario, presolve: tuple[tuple[int, float], ...]) -> np.ndarray:
    """Which instances a pre-solving schedule solves (some slot's algorithm finishes within the slot)."""
    costs = scenario.costs()
    solved = np.zeros(len(scenario.instances), dtype=bool)
    for a, seconds in presolve:
        solved |= costs[:, int(a)] <= seconds
    return solved


@dataclass(frozen=True)
class Evaluation:
    """Out-of-fold decisions on every instance: ``algorithm`` (index), each instance's fold ``plan``, the cost of
    each decision, the approach each fold's selector used, and (approach ``sunny``) each instance's schedule run
    after the features in place of ``algorithm`` alone (() where there is none). ``featureless``: some fold had no
    feature to select by (the scenario has none, or the steps computed provide none): its selector ran the training
    folds' single best algorithm (``used`` says ``single_best``), or SUNNY took every training instance as a
    neighbour."""

    algorithm: np.ndarray
    plans: list[Plan]
    costs: np.ndarray
    used: list[str]
    schedules: list[Schedule] | None = None
    featureless: bool = False

    def presolved(self, scenario: Scenario) -> np.ndarray:
        """Which instances their fold's pre-solving schedule solved."""
        out = np.zeros(len(self.plans), dtype=bool)
        for plan in {id(p): p for p in self.plans}.values():
            members = np.array([q is plan for q in self.plans])
            out |= members & solved_in_schedule(scenario, plan.presolve)
        return out

    def steps_of(self, scenario: Scenario, i: int) -> list[str]:
        plan = self.plans[i]
        steps = scenario.default_steps if plan.steps is None else list(plan.steps)
        return scenario.steps_closure(steps) if steps else []


def feature_step_choices(scenario: Scenario) -> list[tuple[str, ...] | None]:
    """The feature-step sets a fold chooses among: the default steps (None) and, when they provide fewer features,
    every step (a selector may only use the features of the steps it pays for)."""
    choices: list[tuple[str, ...] | None] = [None]
    every = tuple(scenario.steps)
    if every and scenario.feature_mask(list(every)).sum() > scenario.feature_mask(None).sum():
        choices.append(every)
    return choices


def _steps_by_probe(scenario: Scenario, train: np.ndarray, choices: list[tuple[str, ...] | None], approach: str,
                    seed: int, plan_options: dict[str, Any],
                    **selector_options: Any) -> tuple[tuple[str, ...] | None, np.ndarray, str]:
    """(steps, the probe's inner out-of-fold scores with them, the probe): the feature-step set whose probe selector
    has the lowest inner out-of-fold cost on the training rows, inside its best plan. The probe is ``approach``
    itself, or the (fast) regression forest for ``auto`` and ``ensemble``, whose inner cross-validation fits every
    approach."""
    costs = scenario.costs()
    probe = "regression" if approach in ("auto", "ensemble") else approach
    scored = []
    for k, steps in enumerate(choices):
        x = scenario.features[:, scenario.feature_mask(None if steps is None else list(steps))][train]
        selector = AlgorithmSelector(probe, seed=seed, log_costs=scenario.runtime, **selector_options)
        scores = selector.out_of_fold_scores(x, costs[train], probe)
        picks = np.argmin(scores, axis=1)
        scored.append((_cost(scenario, train, picks, choose_plan(scenario, train, picks, steps, **plan_options)), k,
                       scores))
    _, k, scores = min(scored, key=lambda item: item[:2])
    return choices[k], scores, probe


def _sunny_fold(scenario: Scenario, train: np.ndarray, test: np.ndarray,
                feature_steps: str) -> tuple[np.ndarray, Plan, str, list[Schedule]]:
    """One fold of approach ``sunny``: the features of the default steps (``feature_steps="all"``: every step), no
    pre-solving (the schedule starts with the neighbourhood's fastest algorithms), and SUNNY's schedule per test
    instance (:mod:`mezan.meta.sunny`) over the cutoff."""
    steps = tuple(scenario.steps) if feature_steps == "all" and scenario.steps else None
    x = scenario.features[:, scenario.feature_mask(None if steps is None else list(steps))]
    model = SunnySchedules().fit(x[train], scenario.costs()[train], scenario.cutoff if scenario.runtime else None)
    found = model.schedules(x[test])
    picks = np.array([schedule[0][0] for schedule in found], dtype=int)
    return picks, Plan(steps=steps), "sunny", found if scenario.runtime else [()] * len(found)


def evaluate_fold(scenario: Scenario, fold: int, *, approach: str = "auto", seed: int = 0, schedules: bool = True,
                  feature_steps: str = "auto", presolve_slots: int = MAX_SLOTS,
                  presolve_share: float = MAX_PRESOLVE_SHARE,
                  **selector_options: Any) -> tuple[np.ndarray, Plan, str, list[Schedule]]:
    """One fold of :func:`evaluate`: (the picks on the fold's instances, its plan, the approach used, per-instance
    schedules — empty but for ``sunny``), from a selector and a plan fitted on the other folds only. With
    ``schedules`` on a runtime scenario, the feature steps are chosen too (``feature_steps="auto"``: among
    :func:`feature_step_choices`, by a probe selector's inner out-of-fold cost inside its best plan), and the plan
    has at most ``presolve_slots`` pre-solving slots taking at most ``presolve_share`` x cutoff; the selector sees
    only the features of the steps its plan computes. ``approach="sunny"``: :func:`_sunny_fold`."""
    if feature_steps not in FEATURE_STEPS:
        raise InvalidParameterError(f"feature_steps must be one of {', '.join(FEATURE_STEPS)}; got {feature_steps!r}")
    if isinstance(presolve_slots, bool) or not isinstance(presolve_slots, (int, np.integer)) or presolve_slots < 0:
        raise InvalidParameterError(f"presolve_slots must be an integer >= 0; got {presolve_slots!r}")
    if not (isinstance(presolve_share, (int, float)) and 0.0 <= presolve_share <= 1.0):
        raise InvalidParameterError(f"presolve_share (of the cutoff) must be in [0, 1]; got {presolve_share!r}")
    plan_options = {"slots": int(presolve_slots), "share": float(presolve_share)}
    costs = scenario.costs()
    test = scenario.folds == fold
    train = ~test
    if approach == "sunny":
        return _sunny_fold(scenario, train, test, feature_steps)
    planned = schedules and scenario.runtime
    choices = feature_step_choices(scenario) if planned else [None]
    known: dict[str, np.ndarray] = {}  # the probe's inner out-of-fold scores: not computed twice
    if feature_steps != "auto" or len(choices) == 1:
        steps = choices[-1] if feature_steps == "all" else None
    else:
        steps, scores, probe = _steps_by_probe(scenario, train, choices, approach, seed, plan_options,
                                               **selector_options)
        known = {probe: scores}
    x = scenario.features[:, scenario.feature_mask(None if steps is None else list(steps))]

    def judge(picks: np.ndarray) -> np.ndarray:  # an approach's out-of-fold picks, costed with their best plan
        return _costs(scenario, train, picks, choose_plan(scenario, train, picks, steps, **plan_options))

    model = AlgorithmSelector(approach, seed=seed, log_costs=scenario.runtime, judge=judge if planned else None,
                              **selector_options)
    model.fit(x[train], costs[train], inner_scores=known if approach == "auto" else None)
    if approach in known:  # the same seeded inner cross-validation: not run twice
        model.inner_picks = np.argmin(known[approach], axis=1)
    plan = Plan(steps=steps)
    if planned:
        plan = choose_plan(scenario, train, model.fit_inner_picks(x[train], costs[train]), steps, **plan_options)
    picks = model.predict(x[test]) if plan.fallback is None else np.full(test.sum(), plan.fallback)
    return picks, plan, model.chosen, [()] * int(test.sum())


def _fold_task(task: tuple[Scenario, int, dict[str, Any]]) -> tuple[np.ndarray, Plan, str, list[Schedule]]:
    scenario, fold, options = task
    return evaluate_fold(scenario, fold, **options)


def evaluate(scenario: Scenario, *, approach: str = "auto", seed: int = 0, schedules: bool = True,
             workers: int = 1, executor: Any = None, progress: Callable[[int], Any] | None = None,
             **selector_options: Any) -> Evaluation:
    """Run the scenario's folds: per fold, a selector fitted on the other folds and (runtime scenarios, with
    ``schedules``) a plan chosen on them; every instance of the fold gets the plan and the selector's pick.
    The folds run as tasks on ``executor`` (:mod:`mezan.dist`: an executor, a Dask client or address), or, without
    one, in ``workers`` local processes (1: here); the result is the same (every fold is seeded alone)."""
    seed = check_seed(seed)
    folds = sorted(set(int(v) for v in scenario.folds))
    options = {"approach": approach, "seed": seed, "schedules": schedules, **selector_options}

    decisions = fold_results(_fold_task, lambda _: [(scenario, f, options) for f in folds], executor=executor,
                             workers=workers, count=len(folds))
    return evaluation_of(scenario, folds, decisions, progress)


def fold_results(fn: Callable[[Any], Any], tasks: Callable[[int], list[Any]], *, executor: Any, workers: int,
                 count: int) -> Iterator[Any]:
    """``fn(task)`` for every task, in order: here when there is no ``executor`` and ``workers <= 1``, else as tasks on
    ``executor`` (or ``min(workers, count)`` local processes). ``tasks(c)`` makes the ``count`` tasks knowing that c
    run at once. The results come in task order (they do not depend on which ends first); the tasks not yet done are
    cancelled when the caller stops early."""
    if executor is None and workers <= 1:
        yield from (fn(task) for task in tasks(1))
        return
    own = LocalExecutor(min(workers, count), processes=True) if executor is None else None
    try:
        with executor_from(own or executor) as ex:
            submitted = ex.map(fn, tasks(min(ex.capacity, count)))
            try:
                for task in submitted:
                    yield task.result()
            finally:
                for task in submitted:
                    task.cancel()
    finally:
        if own is not None:
            own.close()


def evaluation_of(scenario: Scenario, folds: list[int],
                  decisions: Iterable[tuple[np.ndarray, Plan, str, list[Schedule]]],
                  progress: Callable[[int], Any] | None = None) -> Evaluation:
    """The :class:`Evaluation` of per-fold decisions (:func:`evaluate_fold`'s results, in the order of ``folds``):
    each fold's instances get its picks, plan and schedules, costed by :func:`mezan.meta.aslib.plan_costs`."""
    n = len(scenario.instances)
    algorithm = np.zeros(n, dtype=int)
    plans: list[Plan] = [Plan()] * n
    out = np.zeros(n)
    used = []
    featureless = False
    found: list[Schedule] = [()] * n
    for f, (picks, plan, chosen, fold_schedules) in zip(folds, decisions, strict=True):
        test = scenario.folds == f
        algorithm[test] = picks
        whole = np.zeros(n, dtype=int)
        whole[test] = picks
        for i, schedule in zip(np.flatnonzero(test), fold_schedules, strict=True):
            plans[i] = plan
            found[i] = schedule
        out[test] = plan_costs(scenario, whole, None if plan.steps is None else list(plan.steps),
                               plan.presolve, found)[test]
        used.append(chosen)
        featureless |= chosen == FALLBACK or (chosen == "sunny" and not scenario.feature_mask(
            None if plan.steps is None else list(plan.steps)).any())
        if progress is not None:
            progress(f)
    return Evaluation(algorithm, plans, out, used, found if any(found) else None, featureless)

__all__ = ["FEATURE_STEPS", "MAX_PRESOLVE_SHARE", "MAX_SLOTS", "SLOT_SHARES", "Evaluation", "Plan", "choose_plan",
           "evaluate", "evaluate_fold", "evaluation_of", "feature_step_choices", "fold_results",
           "solved_in_schedule"]
