"""Per-scenario configuration of the whole selection pipeline: AutoFolio's idea (Lindauer, Hoos, Hutter & Schaub,
"AutoFolio: An Automatically Configured Algorithm Selector", JAIR 53, 2015), with Optuna's TPE sampler as the
optimiser.

A :class:`Configuration` fixes every choice :func:`mezan.meta.schedules.evaluate` makes by default: the approach and
its hyperparameters (forest sizes, leaf size, features per split, neighbours, ``auto``'s switching level), the
imputation of missing features, feature selection, which feature steps are computed, and the pre-solving schedule's
size (slots, share of the cutoff). :data:`SPACE` is the one list of those choices: the optimiser samples it and a
configuration file is checked against it.

:func:`configure` searches the space on the rows it is given and nothing else: each trial scores a configuration by
an inner cross-validation of the whole pipeline (``inner_folds`` folds of those rows, drawn from the seed; per inner
fold a selector and a plan are fitted on the others), by the mean cost (PAR10 or quality) of its out-of-fold
decisions. The first trial is the start (the default configuration unless another is given), and the search leaves
it only for a trial cheaper on the evidence (:func:`configure`), so the configuration returned is never worse than
the start *on the inner cross-validation* (the outer folds say whether that holds out of sample).
:func:`evaluate_configured` is the honest (nested) evaluation: inside every outer fold of the scenario's ``cv.arff``,
:func:`configure` runs on the training folds only, and the fold's test instances are then decided by the
configuration it found.

Budgets are wall-clock seconds. A trial is not started when the trials so far say it would end past the budget (the
slowest finished trial is the estimate; the first ``capacity`` trials always start, the start among them), and a
trial still running at the deadline stops after its current inner fold (it is recorded as pruned, and not scored):
a search overruns its budget by at most one inner fold of one trial, and when even the start was cut, the start is
returned unscored. :attr:`Configured.seconds` says how long it took. Trials run on any :mod:`mezan.dist` executor
(threads, processes, a Dask cluster); with a ``storage`` file the trials are kept (Optuna's journal), and calling
again with the same file resumes the search.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from mezan.dist import LocalExecutor, executor_from
from mezan.errors import InvalidParameterError
from mezan.extras import require
from mezan.inputs import read_json, shown
from mezan.meta.aslib import Scenario
from mezan.meta.schedules import (
    FEATURE_STEPS,
    MAX_PRESOLVE_SHARE,
    MAX_SLOTS,
    Evaluation,
    evaluate,
    evaluate_fold,
    evaluation_of,
    fold_results,
)
from mezan.meta.selectors import AUTO_APPROACHES, IMPUTE, cheaper
from mezan.running import check_seed

require("mezan.meta.configure (per-scenario configuration)", "configure")  # names the extra before Optuna is needed

import optuna  # noqa: E402 - after the check that names the extra it comes with
from optuna.storages import JournalStorage  # noqa: E402
from optuna.storages.journal import JournalFileBackend  # noqa: E402

INNER_FOLDS = 3
"""Inner cross-validation folds a trial scores a configuration by."""

MAX_CONFIG_BYTES = 64 * 1024
"""The largest configuration file read (one is a few hundred bytes)."""

SWITCH_ALPHA = 0.1
""":func:`configure` leaves its start only for a trial cheaper at this level (see there)."""

FINAL_FIT = 0.5
"""What fitting an outer fold's selector costs, as a share of one trial of :data:`INNER_FOLDS` inner folds: one fit
on all the training rows against three on two thirds of them (forests grow a little faster than the rows). Measured
0.4 on a synthetic scenario of 3,000 instances, 70 algorithms and 300 features (a final fit of about 27 s against
trials of 66-72 s; bench/aslib_eval.py --synthetic 3000x70x300), kept at 0.5 for margin.
:func:`evaluate_configured` keeps this much of its slowest trial at the end of each fold's share."""

CONFIG_APPROACHES = ("auto", *AUTO_APPROACHES, "forest_mean")
"""The approaches a configuration chooses among (``auto``: the default, its own inner choice)."""


@dataclass(frozen=True)
class Param:
    """One dimension of :data:`SPACE`: ``choices`` (categorical) or an integer or float range ``low``..``high``
    (``log``: sampled on a log scale); ``used(config)`` says whether it matters for a configuration (Optuna samples
    only those), and ``runtime_only`` marks the pre-solving choices, which a quality scenario does not have."""

    kind: str  # "choice", "int" or "float"
    choices: tuple[Any, ...] = ()
    low: float = 0.0
    high: float = 0.0
    log: bool = False
    used: Callable[[dict[str, Any]], bool] = lambda c: True
    runtime_only: bool = False

    def check(self, name: str, value: Any) -> Any:
        """``value`` if it is in this dimension, else an error naming ``name`` (the value shown cut short)."""
        got = _shown(value)
        if self.kind == "choice":
            if isinstance(value, bool) != any(isinstance(c, bool) for c in self.choices) or value not in self.choices:
                raise InvalidParameterError(f"configuration: {name} must be one of "
                                            f"{', '.join(map(repr, self.choices))}; got {got}")
            return value
        integral = self.kind == "int"
        number = isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
        if isinstance(value, bool) or not number or (integral and int(value) != value) \
                or not self.low <= value <= self.high:  # an int of any size compares without overflow
            what = "an integer" if integral else "a number"
            raise InvalidParameterError(f"configuration: {name} must be {what} in [{self.low:g}, {self.high:g}]; "
                                        f"got {got}")
        return int(value) if integral else float(value)


def _shown(value: Any, limit: int = 40) -> str:
    """A value for a message: its repr, cut to ``limit`` characters (a file's content is never echoed at length)."""
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 10**30:
        return f"an integer of {len(str(abs(value)))} digits"
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def _forests(c: dict[str, Any]) -> bool:
    return c["approach"] in ("auto", "regression", "ensemble", "forest_mean") or c.get("select_features", False)


def _pairwise(c: dict[str, Any]) -> bool:
    return c["approach"] in ("auto", "pairwise", "ensemble")


SPACE: dict[str, Param] = {
    "approach": Param("choice", CONFIG_APPROACHES),
    "select_features": Param("choice", (False, True)),
    "trees": Param("int", low=30, high=300, log=True, used=_forests),
    "pairwise_trees": Param("int", low=10, high=60, log=True, used=_pairwise),
    "max_features": Param("choice", ("sqrt", "log2", "0.3", "0.6", "1.0"), used=_forests),
    "leaf": Param("int", low=1, high=12, log=True, used=lambda c: _forests(c) or _pairwise(c)),
    "neighbours": Param("int", low=3, high=64, log=True, used=lambda c: c["approach"] in ("auto", "knn", "ensemble")),
    "centre": Param("choice", (True, False), used=_forests),
    "switch_alpha": Param("choice", (0.0, 0.02, 0.05, 0.1, 0.2), used=lambda c: c["approach"] == "auto"),
    "impute": Param("choice", IMPUTE),
    "schedules": Param("choice", (True, False), runtime_only=True),
    "feature_steps": Param("choice", FEATURE_STEPS, used=lambda c: c.get("schedules", True), runtime_only=True),
    "presolve_slots": Param("int", low=0, high=3, used=lambda c: c.get("schedules", True), runtime_only=True),
    "presolve_share": Param("float", low=0.01, high=0.3, log=True,
                            used=lambda c: c.get("schedules", True) and c.get("presolve_slots", 1) > 0,
                            runtime_only=True),
}
"""The configuration space: name -> :class:`Param`, in the order Optuna samples it (a dimension's ``used`` reads the
ones before it). ``max_features`` is the regression forests' features per split (a share of them, or a rule);
``leaf`` the minimum leaf size of every forest, the pairwise classifiers' too."""


@dataclass(frozen=True)
class Configuration:
    """Every choice of the selection pipeline, one field per name of :data:`SPACE`.

    The defaults are MetaFlow's default pipeline (``approach="auto"``), chosen on the seven reference scenarios as a
    group (docs: benchmarks).

    Parameters
    ----------
    approach : str, default "auto"
        The selector's approach (:data:`CONFIG_APPROACHES`).
    select_features : bool, default False
        Keep only the features of at least mean importance in a forest of the training rows.
    trees : int, default 100
        Trees of the regression forests.
    pairwise_trees : int, default 25
        Trees of each pairwise classifier.
    max_features : str, default "sqrt"
        Features tried per split of the regression forests: "sqrt", "log2" or a share ("0.3", "0.6", "1.0").
    leaf : int, default 2
        The forests' minimum leaf size.
    neighbours : int, default 16
        kNN's neighbourhood.
    centre : bool, default True
        Regression on relative costs (each instance's minus their mean).
    switch_alpha : float, default 0.1
        ``auto``'s level for leaving regression.
    impute : str, default "median"
        How a missing feature is filled: "median" or "mean" of its training column.
    schedules : bool, default True
        Runtime scenarios: choose a plan (pre-solving schedule and feature steps) per fold.
    feature_steps : str, default "auto"
        The feature steps computed: "auto" (chosen per fold), "default" or "all".
    presolve_slots : int, default 2
        Pre-solving slots at most.
    presolve_share : float, default 0.1
        The pre-solving schedule's share of the cutoff at most.
    """

    approach: str = "auto"
    select_features: bool = False
    trees: int = 100
    pairwise_trees: int = 25
    max_features: str = "sqrt"
    leaf: int = 2
    neighbours: int = 16
    centre: bool = True
    switch_alpha: float = 0.1
    impute: str = "median"
    schedules: bool = True
    feature_steps: str = "auto"
    presolve_slots: int = MAX_SLOTS
    presolve_share: float = MAX_PRESOLVE_SHARE

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Configuration:
        """Make a configuration from a mapping of some of its fields, each checked against :data:`SPACE`.

        Parameters
        ----------
        values : dict
            Names of :data:`SPACE` to values; the names not given keep their defaults.

        Returns
        -------
        Configuration
            The configuration.

        Raises
        ------
        InvalidParameterError
            Naming the field whose value is not in its dimension, or the unknown names (and the known ones).
        """
        if not isinstance(values, dict):
            raise InvalidParameterError(f"configuration must be a mapping of names to values; got "
                                        f"{type(values).__name__}")
        unknown = sorted(map(str, set(values) - set(SPACE)))
        if unknown:
            listed = ", ".join(_shown(u) for u in unknown[:5]) + (f" and {len(unknown) - 5} more" if len(unknown) > 5
                                                                   else "")
            raise InvalidParameterError(f"configuration: unknown name(s) {listed}; known: {', '.join(SPACE)}")
        return cls(**{name: SPACE[name].check(name, value) for name, value in values.items()})

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as a plain mapping (what a configuration file holds).

        Returns
        -------
        dict
            Name -> value, for every field.
        """
        return asdict(self)

    def selector_options(self) -> dict[str, Any]:
        """Return the options :class:`mezan.meta.selectors.AlgorithmSelector` takes of this configuration.

        Returns
        -------
        dict
            Keyword arguments of the selector.
        """
        share = {"sqrt": "sqrt", "log2": "log2"}.get(self.max_features)
        return {"trees": self.trees, "pairwise_trees": self.pairwise_trees, "neighbours": self.neighbours,
                "max_features": share if share is not None else float(self.max_features), "leaf": self.leaf,
                "centre": self.centre, "switch_alpha": self.switch_alpha, "impute": self.impute,
                "select_features": self.select_features}

    def evaluate_options(self) -> dict[str, Any]:
        """Return the keyword arguments of :func:`mezan.meta.schedules.evaluate` for this configuration.

        Returns
        -------
        dict
            The approach, the plan's options and the selector's options.
        """
        return {"approach": self.approach, "schedules": self.schedules, "feature_steps": self.feature_steps,
                "presolve_slots": self.presolve_slots, "presolve_share": self.presolve_share,
                **self.selector_options()}


DEFAULT = Configuration()


def _searched(runtime: bool, fixed: tuple[str, ...]) -> list[str]:
    """The dimensions a search samples: :data:`SPACE` but the ``fixed`` ones (and the pre-solving ones on a quality
    scenario)."""
    return [name for name, p in SPACE.items() if name not in fixed and not (p.runtime_only and not runtime)]


def _sample(trial: Any, searched: list[str], start: Configuration) -> Configuration:
    """The configuration an Optuna trial proposes: of the ``searched`` dimensions, those that matter for the ones
    sampled before (the others keep ``start``'s values)."""
    chosen: dict[str, Any] = {}
    for name in searched:
        p = SPACE[name]
        if not p.used({**asdict(start), **chosen}):
            continue
        if p.kind == "choice":
            chosen[name] = trial.suggest_categorical(name, list(p.choices))
        elif p.kind == "int":
            chosen[name] = trial.suggest_int(name, int(p.low), int(p.high), log=p.log)
        else:
            chosen[name] = trial.suggest_float(name, p.low, p.high, log=p.log)
    return Configuration(**{**asdict(start), **chosen})


def _start_params(searched: list[str], start: Configuration) -> dict[str, Any]:
    """The starting configuration as trial parameters (what the first trial evaluates)."""
    values = asdict(start)
    return {name: values[name] for name in searched if SPACE[name].used(values)}


def inner_folds(n: int, folds: int, seed: int) -> np.ndarray:
    """A seeded split of ``n`` rows into ``folds`` inner folds (1-based, sizes differing by at most one)."""
    return np.random.default_rng(check_seed(seed)).permutation(n) % folds + 1


class _OutOfTime(Exception):
    """A trial's search ran out of time between two of its inner folds."""


def inner_costs(scenario: Scenario, config: Configuration, *, seed: int = 0, folds: int = INNER_FOLDS,
                deadline: float | None = None) -> np.ndarray | None:
    """The cost of ``config``'s out-of-fold decision on each of ``scenario``'s instances, by an inner
    cross-validation of ``folds`` seeded folds (the scenario's own folds are not used); None when the wall clock
    (``time.time()``) passed ``deadline`` after some inner fold, before the last."""
    inner = scenario.subset(np.arange(len(scenario.instances)), inner_folds(len(scenario.instances), folds, seed))

    def on_time(_: int) -> None:
        if deadline is not None and time.time() > deadline:
            raise _OutOfTime

    try:
        return evaluate(inner, seed=seed, progress=on_time, **config.evaluate_options()).costs
    except _OutOfTime:
        return None


def inner_cost(scenario: Scenario, config: Configuration, *, seed: int = 0, folds: int = INNER_FOLDS) -> float:
    """The mean of :func:`inner_costs`: what a trial scores a configuration by."""
    return float(inner_costs(scenario, config, seed=seed, folds=folds).mean())


def _trial_task(task: tuple[Scenario, dict[str, Any], int, int, float]) -> tuple[np.ndarray | None, float]:
    """(per-instance inner costs, or None when it ran out of time; seconds) of one trial: what an executor's worker
    runs. ``task``'s last entry is the search's deadline on the wall clock (``time.time()``)."""
    scenario, values, seed, folds, deadline = task
    started = time.perf_counter()
    costs = inner_costs(scenario, Configuration(**values), seed=seed, folds=folds, deadline=deadline)
    return costs, time.perf_counter() - started


@dataclass(frozen=True)
class Configured:
    """What :func:`configure` found.

    Parameters
    ----------
    config : Configuration
        The configuration chosen (the start unless a trial beat it on the evidence; see :func:`configure`).
    inner_cost : float or None
        Its mean inner cross-validation cost; None when no trial was scored (``config`` is then the start).
    default_cost : float or None
        The start's inner cost (the default pipeline's unless another start was given); None if it was not scored.
    best_cost : float or None
        The lowest inner cost of any trial.
    trials : int
        The trials scored (in this call and before it, with a resumed storage).
    seconds : float
        The seconds this call took.
    ended : str
        Why the search ended: "budget" or "trials".
    """

    config: Configuration
    inner_cost: float | None
    default_cost: float | None
    best_cost: float | None
    trials: int
    seconds: float
    ended: str

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON values (what ``mezan meta aslib configure --out`` writes).

        Returns
        -------
        dict
            ``configuration`` (a mapping), ``inner_cost``, ``default_inner_cost``, ``best_inner_cost``, ``trials``,
            ``seconds`` and ``ended``.
        """
        return {"configuration": self.config.to_dict(), "inner_cost": self.inner_cost,
                "default_inner_cost": self.default_cost, "best_inner_cost": self.best_cost, "trials": self.trials,
                "seconds": round(self.seconds, 3), "ended": self.ended}


def _check_folds(folds: Any, scenario: Scenario) -> None:
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= len(scenario.instances):
        raise InvalidParameterError(f"folds must be an integer in [2, {len(scenario.instances)}] (the instances); "
                                    f"got {folds!r}")


def _check_budget(budget: Any, name: str = "budget") -> float:
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) or budget <= 0:
        raise InvalidParameterError(f"{name} must be a positive number of seconds; got {budget!r}")
    return float(budget)


def _study(scenario: Scenario, seed: int, storage: str | Path | None, identity: dict[str, Any]) -> Any:
    """The study of one search: named by everything its trials' costs depend on (the scenario and its rows, the
    seed, the inner folds, the start and the dimensions searched), so that a journal resumes only the same search;
    the start is enqueued unless a trial already scored (or waits to score) it. The sampler's seed moves on with the
    trials already kept, so that a resumed search does not draw its first proposals again."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    store = None if storage is None else JournalStorage(JournalFileBackend(str(storage)))
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True, default=str).encode()).hexdigest()[:16]
    name = f"{scenario.name}-{len(scenario.instances)}-seed{seed}-{digest}"
    kept = len(optuna.load_study(study_name=name, storage=store).trials) if store is not None and name in {
        s.study_name for s in optuna.get_all_study_summaries(store)} else 0
    sampler = optuna.samplers.TPESampler(seed=(seed + kept) % 2**32, n_startup_trials=8)
    study = optuna.create_study(direction="minimize", sampler=sampler, storage=store, load_if_exists=True,
                                study_name=name)
    start = identity["start"]
    states = (optuna.trial.TrialState.COMPLETE, optuna.trial.TrialState.WAITING)
    if not any(t.state in states and t.params == start for t in study.trials):
        study.enqueue_trial(start)
    return study


def _start_cost(study: Any, wanted: dict[str, Any]) -> float | None:
    for t in study.trials:
        if t.state == optuna.trial.TrialState.COMPLETE and t.params == wanted:
            return float(t.value)
    return None


def configure(scenario: Scenario, *, budget: float, seed: int = 0, folds: int = INNER_FOLDS, executor: Any = None,
              workers: int = 1, storage: str | Path | None = None, max_trials: int | None = None,
              start: Configuration = DEFAULT, fixed: tuple[str, ...] = (), switch_alpha: float = SWITCH_ALPHA,
              keep: float = 0.0, progress: Callable[[int, float, float], Any] | None = None) -> Configured:
    """Configure the selection pipeline for ``scenario`` (all of its instances: give it the training folds only).

    The configuration returned is the start unless a trial beat it on the evidence: the lowest inner cost among the
    trials whose per-instance inner costs are lower than the start's by a one-sided paired t-test at
    ``switch_alpha`` split over the other trials (Bonferroni) — the rule ``auto`` leaves regression by
    (:func:`mezan.meta.selectors.cheaper`). The lowest inner cost alone let noise decide: on a small inner
    cross-validation, the minimum over many trials is biased low.

    Parameters
    ----------
    scenario : Scenario
        The rows to configure on; its ``cv.arff`` folds are not used (the trials draw ``folds`` inner folds).
    budget : float
        Wall-clock seconds for the search and the ``keep`` work after it (a trial in flight at the end stops after
        its current inner fold).
    seed : int, default 0
        Seeds the sampler, the inner folds and the selectors.
    folds : int, default 3
        Inner cross-validation folds per trial.
    executor : Executor or str or distributed.Client or None, optional
        Where trials run (:func:`mezan.dist.executor_from`); None: ``workers`` local processes (1: here).
    workers : int, default 1
        Local worker processes when no ``executor`` is given.
    storage : str or pathlib.Path, optional
        A journal file that keeps the trials; the same file again resumes the search.
    max_trials : int, optional
        Stop after this many trials in all (counting resumed ones).
    start : Configuration, default DEFAULT
        The first trial, and the values of the dimensions a trial does not sample.
    fixed : tuple of str, default ()
        Names of :data:`SPACE` held at ``start``'s values (not searched).
    switch_alpha : float, default 0.1
        The level at which a trial must beat the start (0: the lowest inner cost decides).
    keep : float, default 0.0
        Work the caller does after the search, as a multiple of the slowest trial, that ``budget`` must also hold: a
        trial starts only when it and that work fit, and a trial in flight stops when only that work's time is left
        (:func:`evaluate_configured` keeps its fold's final fit).
    progress : callable, optional
        ``progress(trials, seconds, best inner cost)`` after every trial.

    Returns
    -------
    Configured
        The best configuration found and how the search went.
    """
    budget = _check_budget(budget)
    seed = check_seed(seed)
    _check_folds(folds, scenario)
    if max_trials is not None and (isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1):
        raise InvalidParameterError(f"max_trials must be an integer >= 1; got {max_trials!r}")
    if not (isinstance(switch_alpha, (int, float)) and 0.0 <= switch_alpha < 1.0):
        raise InvalidParameterError(f"switch_alpha must be in [0, 1) (0: the lowest inner cost decides); got "
                                    f"{switch_alpha!r}")
    if isinstance(keep, bool) or not isinstance(keep, (int, float)) or not 0.0 <= keep <= 100.0:
        raise InvalidParameterError(f"keep (work after the search, in slowest trials) must be in [0, 100]; got "
                                    f"{keep!r}")
    unknown = sorted(set(fixed) - set(SPACE))
    if unknown:
        raise InvalidParameterError(f"fixed: unknown name(s) {', '.join(map(repr, unknown))}; known: "
                                    f"{', '.join(SPACE)}")
    searched = _searched(scenario.runtime, tuple(fixed))
    study = _study(scenario, seed, storage, {"start": _start_params(searched, start), "searched": searched,
                                             "folds": folds, "rows": scenario.instances})
    started = time.perf_counter()
    own = LocalExecutor(workers, processes=True) if executor is None and workers > 1 else None
    try:
        ended = _search(study, _Trials(scenario, seed, folds, start, searched), started + budget, own or executor,
                        max_trials, progress, started, float(keep))
    finally:
        if own is not None:
            own.close()
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    chosen = _chosen(complete, _start_params(searched, start), switch_alpha)
    config = start if chosen is None else Configuration(**{**asdict(start), **chosen.params})
    return Configured(config, None if chosen is None else float(chosen.value),
                      _start_cost(study, _start_params(searched, start)),
                      min((float(t.value) for t in complete), default=None), len(complete),
                      time.perf_counter() - started, ended)


def _chosen(complete: list[Any], start_params: dict[str, Any], alpha: float) -> Any:
    """The trial :func:`configure` returns: the start, unless some trials are cheaper on the evidence (see there);
    then the one of those with the lowest inner cost. None (the start, unscored) when no trial was scored, or when
    the start was not (cut at the deadline while another trial ended): there is no evidence to leave it."""
    if not complete:
        return None
    if alpha <= 0:  # the plain minimum asked for
        return min(complete, key=lambda t: t.value)
    start = next((t for t in complete if t.params == start_params), None)
    if start is None:
        return None
    base = np.asarray(start.user_attrs.get("costs", []))
    others = [t for t in complete if t is not start]
    better = [t for t in others if t.value < start.value and len(t.user_attrs.get("costs", [])) == len(base)
              and cheaper(np.asarray(t.user_attrs["costs"]), base, alpha / len(others))]
    return min(better, key=lambda t: t.value) if better else start


@dataclass(frozen=True)
class _Trials:
    """What every trial of one search shares: the rows, the seed, the inner folds, the start and the dimensions
    searched."""

    scenario: Scenario
    seed: int
    folds: int
    start: Configuration
    searched: list[str]

    def task(self, trial: Any, deadline: float) -> tuple[Scenario, dict[str, Any], int, int, float]:
        return self.scenario, _sample(trial, self.searched, self.start).to_dict(), self.seed, self.folds, deadline


def _search(study: Any, trials: _Trials, deadline: float, executor: Any, max_trials: int | None,
            progress: Callable[[int, float, float], Any] | None, started: float, keep: float) -> str:
    """Ask, run and tell trials until the deadline (less ``keep`` slowest trials) or ``max_trials``; returns why it
    ended. A trial still running at that time stops after its current inner fold and is recorded as pruned (the
    search then ends); a trial that raises (or is interrupted) is recorded as failed, with every trial still running,
    before the error goes on."""
    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    slowest = 0.0
    out_of_time = False
    running: dict[Any, Any] = {}  # task (or None: run here) -> its trial
    wall_deadline = time.time() + (deadline - time.perf_counter())  # the trials may run in other processes

    def room() -> bool:
        return (not out_of_time and (max_trials is None or done + len(running) < max_trials)
                and time.perf_counter() + slowest * (1.0 + keep) <= deadline)

    def cut() -> float:  # when a trial submitted now stops: the time left for the work after the search is kept
        return wall_deadline - keep * slowest

    def told(trial: Any, result: tuple[np.ndarray | None, float]) -> None:
        nonlocal done, slowest, out_of_time
        costs, seconds = result
        if costs is None:  # cut at the deadline
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            out_of_time = True
            return
        _tell(study, trial, costs)
        done, slowest = done + 1, max(slowest, seconds)
        if progress is not None:
            progress(done, time.perf_counter() - started, study.best_value)

    try:
        if executor is None:  # here, one trial after the other
            while room():
                trial = study.ask()
                running[None] = trial
                result = _trial_task(trials.task(trial, cut()))
                del running[None]
                told(trial, result)
        else:
            with executor_from(executor) as ex:
                while True:
                    while len(running) < ex.capacity and room():
                        trial = study.ask()
                        running[ex.submit(_trial_task, trials.task(trial, cut()))] = trial
                    if not running:
                        break
                    task = next(iter(ex.as_completed(list(running))))
                    told(running.pop(task), task.result())
    except BaseException:
        for task, trial in running.items():
            if task is not None:
                task.cancel()
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
        raise
    return "trials" if max_trials is not None and done >= max_trials else "budget"


def _tell(study: Any, trial: Any, costs: np.ndarray) -> None:
    """Record a trial: its mean inner cost, and the per-instance costs the final choice tests (kept in the journal)."""
    trial.set_user_attr("costs", [float(c) for c in costs])
    study.tell(trial, float(np.mean(costs)))


@dataclass(frozen=True)
class ConfiguredEvaluation:
    """What :func:`evaluate_configured` returns.

    Parameters
    ----------
    evaluation : mezan.meta.schedules.Evaluation
        The out-of-fold decisions and their costs, as :func:`mezan.meta.schedules.evaluate` returns them.
    folds : list of Configured
        Per outer fold, in order, what :func:`configure` found on its training folds.
    """

    evaluation: Evaluation
    folds: list[Configured]


def evaluate_configured(scenario: Scenario, *, budget: float, seed: int = 0, folds: int = INNER_FOLDS,
                        executor: Any = None, workers: int = 1, max_trials: int | None = None,
                        start: Configuration = DEFAULT, fixed: tuple[str, ...] = (),
                        switch_alpha: float = SWITCH_ALPHA,
                        progress: Callable[[int], Any] | None = None) -> ConfiguredEvaluation:
    """Evaluate per-scenario configuration honestly: configured inside every outer fold on its training folds only.

    For every outer fold of the scenario's ``cv.arff``, :func:`configure` runs on the other folds only, then the
    fold's instances are decided by the configuration found.

    The outer folds run as tasks on ``executor`` (or ``workers`` local processes; 1: here, one after the other),
    each searching one trial after the other, so that a fold's search stops on its own clock. ``budget`` is the whole
    evaluation's wall-clock seconds: with c folds running at once, each fold gets budget / the number of waves of c
    folds, for its search and its final fit (the search keeps room for the fit: :data:`FINAL_FIT` of its slowest
    trial). Each fold's first trial starts whatever its share, and stops after an inner fold when the share is
    spent: the budget is then overrun by at most an inner fold and the final fit, per wave.

    Parameters
    ----------
    scenario : Scenario
        The scenario, with its ``cv.arff`` folds.
    budget : float
        Wall-clock seconds for the whole evaluation.
    seed : int, default 0
        Seeds every fold's search, inner folds and selectors.
    folds : int, default 3
        Inner cross-validation folds per trial.
    executor : Executor or str or distributed.Client or None, optional
        Where the outer folds run (:func:`mezan.dist.executor_from`); None: ``workers`` local processes.
    workers : int, default 1
        Local worker processes when no ``executor`` is given (1: here).
    max_trials : int, optional
        Per fold, as :func:`configure`'s.
    start : Configuration, default DEFAULT
        Where every fold's search starts.
    fixed : tuple of str, default ()
        Names of :data:`SPACE` held at ``start``'s values.
    switch_alpha : float, default 0.1
        As :func:`configure`'s.
    progress : callable, optional
        ``progress(fold)`` after each outer fold, in fold order.

    Returns
    -------
    ConfiguredEvaluation
        The out-of-fold evaluation and each fold's configuration.
    """
    budget = _check_budget(budget)
    seed = check_seed(seed)
    _check_folds(folds, scenario)
    outer = sorted(set(int(v) for v in scenario.folds))
    options = {"seed": seed, "folds": folds, "max_trials": max_trials, "start": start, "fixed": tuple(fixed),
               "switch_alpha": switch_alpha}
    def tasks(parallel: int) -> list[tuple[Scenario, int, float, dict[str, Any]]]:
        share = budget / math.ceil(len(outer) / parallel)  # per wave of `parallel` folds
        return [(scenario, fold, share, options) for fold in outer]

    results: list[tuple[Configured, Any]] = []
    for fold, result in zip(outer, fold_results(_configured_fold, tasks, executor=executor, workers=workers,
                                                count=len(outer)), strict=True):
        results.append(result)
        if progress is not None:
            progress(fold)
    return ConfiguredEvaluation(evaluation_of(scenario, outer, [d for _, d in results]), [c for c, _ in results])


def _configured_fold(task: tuple[Scenario, int, float, dict[str, Any]]) -> tuple[Configured, Any]:
    """One outer fold of :func:`evaluate_configured`: (what the search on its training folds found, the fold's
    decisions by that configuration)."""
    scenario, fold, share, options = task
    train = np.flatnonzero(scenario.folds != fold)
    inner = scenario.subset(train, inner_folds(len(train), options["folds"], options["seed"]))
    found = configure(inner, budget=max(share, 1e-3), keep=FINAL_FIT * INNER_FOLDS / options["folds"], **options)
    return found, evaluate_fold(scenario, fold, seed=options["seed"], **found.config.evaluate_options())


def read_config(path: str | Path) -> Configuration:
    """Read the configuration a ``mezan meta aslib configure --out FILE`` wrote.

    Parameters
    ----------
    path : str or pathlib.Path
        The file: that record, or a JSON mapping of names of :data:`SPACE` to values.

    Returns
    -------
    Configuration
        The configuration, checked against :data:`SPACE`.

    Raises
    ------
    InvalidParameterError
        Naming the file and the field whose value is wrong, or a file that is missing or a folder.
    InvalidProblemError
        When the file is too large, not UTF-8, not JSON or nested too deep.
    """
    data = read_json(path, what="configuration file", max_bytes=MAX_CONFIG_BYTES)
    values = data.get("configuration", data) if isinstance(data, dict) else data
    try:
        return Configuration.from_dict(values)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"{shown(path)}: {exc}") from None


__all__ = ["CONFIG_APPROACHES", "DEFAULT", "INNER_FOLDS", "SPACE", "SWITCH_ALPHA", "Configuration", "Configured",
           "ConfiguredEvaluation", "Param", "configure", "evaluate_configured", "inner_cost", "inner_costs",
           "inner_folds", "read_config"]
