"""Per-scenario configuration of the whole selection pipeline: AutoFolio's idea (Lindauer, Hoos, Hutter & Schaub,
"AutoFolio: An Automatically Configured Algorithm Selector", JAIR 53, 2015), with Optuna's TPE sampler as the
optimiser.

A :class:`Configuration` fixes every choice :func:`mezan.meta.schedules.evaluate` makes by default: the approach and
its hyperparameters (forest sizes, leaf size, features per split, neighbours, ``auto``'s switching level), the
imputation of missing features, feature selection, which feature steps are computed, and the pre-solving schedule's
size (slots, share of the cutoff). :data:`SPACE` is the one list of those choices: the optimiser samples it, a
configuration file is checked against it, and the docs print it.

:func:`configure` searches the space on the rows it is given and nothing else: each trial scores a configuration by
an inner cross-validation of the whole pipeline (``inner_folds`` folds of those rows, drawn from the seed; per inner
fold a selector and a plan are fitted on the others), by the mean cost (PAR10 or quality) of its out-of-fold
decisions. The first trial is the default configuration, so the configuration returned is never worse than the
default *on the inner cross-validation* (the outer folds say whether that holds out of sample).
:func:`evaluate_configured` is the honest (nested) evaluation: inside every outer fold of the scenario's ``cv.arff``,
:func:`configure` runs on the training folds only, and the fold's test instances are then decided by the
configuration it found.

Budgets are wall-clock seconds. A trial is not started when the trials so far say it would end past the budget (the
slowest finished trial is the estimate; the first ``capacity`` trials always start, the default among them), and the
trials in flight are waited for, so a search overruns its budget by at most one trial: :attr:`Configured.seconds`
says how long it took. Trials run on any :mod:`mezan.dist` executor (threads, processes, a Dask cluster); with a
``storage`` file the trials are kept (Optuna's journal), and calling again with the same file resumes the search.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import optuna  # the meta extra (mezan.meta checks it is installed before this module loads)
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend

from mezan.dist import LocalExecutor, executor_from
from mezan.errors import InvalidParameterError
from mezan.inputs import read_text
from mezan.meta.aslib import Scenario
from mezan.meta.schedules import (
    FEATURE_STEPS,
    MAX_PRESOLVE_SHARE,
    MAX_SLOTS,
    Evaluation,
    evaluate,
    evaluate_fold,
    evaluation_of,
)
from mezan.meta.selectors import AUTO_APPROACHES, IMPUTE, cheaper
from mezan.running import check_seed

INNER_FOLDS = 3
"""Inner cross-validation folds a trial scores a configuration by."""

SWITCH_ALPHA = 0.1
""":func:`configure` leaves its start only for a trial cheaper at this level (see there)."""

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
        """``value`` if it is in this dimension, else an error naming ``name``."""
        if self.kind == "choice":
            if value not in self.choices or isinstance(value, bool) != any(isinstance(c, bool) for c in self.choices):
                raise InvalidParameterError(f"configuration: {name} must be one of "
                                            f"{', '.join(map(str, self.choices))}; got {value!r}")
            return value
        integral = self.kind == "int"
        number = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        if not number or (integral and int(value) != value) or not self.low <= value <= self.high:
            what = "an integer" if integral else "a number"
            raise InvalidParameterError(f"configuration: {name} must be {what} in [{self.low:g}, {self.high:g}]; "
                                        f"got {value!r}")
        return int(value) if integral else float(value)


def _forests(c: dict[str, Any]) -> bool:
    return c["approach"] in ("auto", "regression", "ensemble", "forest_mean") or c.get("select_features", False)


SPACE: dict[str, Param] = {
    "approach": Param("choice", CONFIG_APPROACHES),
    "trees": Param("int", low=30, high=300, log=True, used=_forests),
    "pairwise_trees": Param("int", low=10, high=60, log=True,
                            used=lambda c: c["approach"] in ("auto", "pairwise", "ensemble")),
    "max_features": Param("choice", ("sqrt", "log2", "0.3", "0.6", "1.0")),
    "leaf": Param("int", low=1, high=12, log=True),
    "neighbours": Param("int", low=3, high=64, log=True, used=lambda c: c["approach"] in ("auto", "knn", "ensemble")),
    "centre": Param("choice", (True, False), used=_forests),
    "switch_alpha": Param("choice", (0.0, 0.02, 0.05, 0.1, 0.2), used=lambda c: c["approach"] == "auto"),
    "impute": Param("choice", IMPUTE),
    "select_features": Param("choice", (False, True)),
    "schedules": Param("choice", (True, False), runtime_only=True),
    "feature_steps": Param("choice", FEATURE_STEPS, used=lambda c: c.get("schedules", True), runtime_only=True),
    "presolve_slots": Param("int", low=0, high=3, used=lambda c: c.get("schedules", True), runtime_only=True),
    "presolve_share": Param("float", low=0.01, high=0.3, log=True,
                            used=lambda c: c.get("schedules", True) and c.get("presolve_slots", 1) > 0,
                            runtime_only=True),
}
"""The configuration space: name -> :class:`Param`, in the order Optuna samples it (a dimension's ``used`` reads the
ones before it). ``max_features`` is the forests' features per split (a share of them, or a rule)."""


@dataclass(frozen=True)
class Configuration:
    """Every choice of the selection pipeline; the defaults are MetaFlow's default pipeline (``approach="auto"``),
    chosen on the seven reference scenarios as a group (docs: benchmarks). The fields are :data:`SPACE`'s names."""

    approach: str = "auto"
    trees: int = 100
    pairwise_trees: int = 25
    max_features: str = "sqrt"
    leaf: int = 2
    neighbours: int = 16
    centre: bool = True
    switch_alpha: float = 0.1
    impute: str = "median"
    select_features: bool = False
    schedules: bool = True
    feature_steps: str = "auto"
    presolve_slots: int = MAX_SLOTS
    presolve_share: float = MAX_PRESOLVE_SHARE

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Configuration:
        """A configuration from a mapping of some of its fields (the rest keep their defaults), each checked
        against :data:`SPACE`; an unknown name is an error that lists the known ones."""
        if not isinstance(values, dict):
            raise InvalidParameterError(f"configuration must be a mapping of names to values; got "
                                        f"{type(values).__name__}")
        unknown = sorted(set(values) - set(SPACE))
        if unknown:
            raise InvalidParameterError(f"configuration: unknown name(s) {', '.join(map(repr, unknown))}; known: "
                                        f"{', '.join(SPACE)}")
        return cls(**{name: SPACE[name].check(name, value) for name, value in values.items()})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def selector_options(self) -> dict[str, Any]:
        """What :class:`mezan.meta.selectors.AlgorithmSelector` takes of this configuration."""
        share = {"sqrt": "sqrt", "log2": "log2"}.get(self.max_features)
        return {"trees": self.trees, "pairwise_trees": self.pairwise_trees, "neighbours": self.neighbours,
                "max_features": share if share is not None else float(self.max_features), "leaf": self.leaf,
                "centre": self.centre, "switch_alpha": self.switch_alpha, "impute": self.impute,
                "select_features": self.select_features}

    def evaluate_options(self) -> dict[str, Any]:
        """The keyword arguments of :func:`mezan.meta.schedules.evaluate` (and ``evaluate_fold``) for this
        configuration."""
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


def inner_costs(scenario: Scenario, config: Configuration, *, seed: int = 0, folds: int = INNER_FOLDS) -> np.ndarray:
    """The cost of ``config``'s out-of-fold decision on each of ``scenario``'s instances, by an inner
    cross-validation of ``folds`` seeded folds (the scenario's own folds are not used)."""
    inner = scenario.subset(np.arange(len(scenario.instances)), inner_folds(len(scenario.instances), folds, seed))
    return evaluate(inner, seed=seed, **config.evaluate_options()).costs


def inner_cost(scenario: Scenario, config: Configuration, *, seed: int = 0, folds: int = INNER_FOLDS) -> float:
    """The mean of :func:`inner_costs`: what a trial scores a configuration by."""
    return float(inner_costs(scenario, config, seed=seed, folds=folds).mean())


def _trial_task(task: tuple[Scenario, dict[str, Any], int, int]) -> tuple[np.ndarray, float]:
    """(per-instance inner costs, seconds) of one trial: what an executor's worker runs."""
    scenario, values, seed, folds = task
    started = time.perf_counter()
    costs = inner_costs(scenario, Configuration(**values), seed=seed, folds=folds)
    return costs, time.perf_counter() - started


@dataclass(frozen=True)
class Configured:
    """What :func:`configure` found: the chosen ``config`` and its ``inner_cost``, the start's inner cost
    (``default_cost``; None when the budget ended before the start was scored: ``config`` is then the start), the
    lowest inner cost of any trial (``best_cost``: the chosen one's only when the evidence says so, see
    :func:`configure`), the trials scored (in this call and before it, with a resumed storage), the seconds this call
    took, and why it ``ended`` ("budget" or "trials")."""

    config: Configuration
    inner_cost: float | None
    default_cost: float | None
    best_cost: float | None
    trials: int
    seconds: float
    ended: str

    def to_dict(self) -> dict[str, Any]:
        return {"configuration": self.config.to_dict(), "inner_cost": self.inner_cost,
                "default_inner_cost": self.default_cost, "best_inner_cost": self.best_cost, "trials": self.trials,
                "seconds": round(self.seconds, 3), "ended": self.ended}


def _check_budget(budget: Any, name: str = "budget") -> float:
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) or budget <= 0:
        raise InvalidParameterError(f"{name} must be a positive number of seconds; got {budget!r}")
    return float(budget)


def _study(scenario: Scenario, seed: int, storage: str | Path | None, start_params: dict[str, Any]) -> Any:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    sampler = optuna.samplers.TPESampler(seed=seed % 2**32, n_startup_trials=8)
    store = None if storage is None else JournalStorage(JournalFileBackend(str(storage)))
    study = optuna.create_study(direction="minimize", sampler=sampler, storage=store, load_if_exists=True,
                                study_name=f"{scenario.name}-seed{seed}-{len(scenario.instances)}")
    if not study.trials:
        study.enqueue_trial(start_params)
    return study


def _start_cost(study: Any, wanted: dict[str, Any]) -> float | None:
    for t in study.trials:
        if t.state == optuna.trial.TrialState.COMPLETE and t.params == wanted:
            return float(t.value)
    return None


def configure(scenario: Scenario, *, budget: float, seed: int = 0, folds: int = INNER_FOLDS, executor: Any = None,
              workers: int = 1, storage: str | Path | None = None, max_trials: int | None = None,
              start: Configuration = DEFAULT, fixed: tuple[str, ...] = (), switch_alpha: float = SWITCH_ALPHA,
              progress: Callable[[int, float, float], Any] | None = None) -> Configured:
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
        Wall-clock seconds for the search (see the module docstring for how a trial in flight is counted).
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
    progress : callable, optional
        ``progress(trials, seconds, best inner cost)`` after every trial.

    Returns
    -------
    Configured
        The best configuration found and how the search went.
    """
    budget = _check_budget(budget)
    seed = check_seed(seed)
    if isinstance(folds, bool) or not isinstance(folds, int) or not 2 <= folds <= len(scenario.instances):
        raise InvalidParameterError(f"folds must be an integer in [2, {len(scenario.instances)}] (the instances); "
                                    f"got {folds!r}")
    if max_trials is not None and (isinstance(max_trials, bool) or not isinstance(max_trials, int) or max_trials < 1):
        raise InvalidParameterError(f"max_trials must be an integer >= 1; got {max_trials!r}")
    if not (isinstance(switch_alpha, (int, float)) and 0.0 <= switch_alpha < 1.0):
        raise InvalidParameterError(f"switch_alpha must be in [0, 1) (0: the lowest inner cost decides); got "
                                    f"{switch_alpha!r}")
    unknown = sorted(set(fixed) - set(SPACE))
    if unknown:
        raise InvalidParameterError(f"fixed: unknown name(s) {', '.join(map(repr, unknown))}; known: "
                                    f"{', '.join(SPACE)}")
    searched = _searched(scenario.runtime, tuple(fixed))
    study = _study(scenario, seed, storage, _start_params(searched, start))
    started = time.perf_counter()
    own = LocalExecutor(workers, processes=True) if executor is None and workers > 1 else None
    try:
        ended = _search(study, _Trials(scenario, seed, folds, start, searched), started + budget, own or executor,
                        max_trials, progress, started)
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
    then the one of those with the lowest inner cost. None when no trial was scored."""
    if not complete:
        return None
    start = next((t for t in complete if t.params == start_params), None)
    if start is None or alpha <= 0:  # no start to compare with (or the plain minimum asked for)
        return min(complete, key=lambda t: t.value)
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

    def task(self, trial: Any) -> tuple[Scenario, dict[str, Any], int, int]:
        return self.scenario, _sample(trial, self.searched, self.start).to_dict(), self.seed, self.folds


def _search(study: Any, trials: _Trials, deadline: float, executor: Any, max_trials: int | None,
            progress: Callable[[int, float, float], Any] | None, started: float) -> str:
    """Ask, run and tell trials until the deadline or ``max_trials``; returns why it ended."""
    done = len([t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE])
    slowest = 0.0

    def room() -> bool:
        return time.perf_counter() + slowest <= deadline

    if executor is None:  # here, one trial after the other
        while (max_trials is None or done < max_trials) and room():
            trial = study.ask()
            costs, seconds = _trial_task(trials.task(trial))
            _tell(study, trial, costs)
            done, slowest = done + 1, max(slowest, seconds)
            if progress is not None:
                progress(done, time.perf_counter() - started, study.best_value)
        return "trials" if max_trials is not None and done >= max_trials else "budget"
    with executor_from(executor) as ex:
        running: dict[Any, Any] = {}

        def fill() -> None:
            while len(running) < ex.capacity and (max_trials is None or done + len(running) < max_trials) and room():
                trial = study.ask()
                running[ex.submit(_trial_task, trials.task(trial))] = trial

        fill()
        while running:
            task = next(iter(ex.as_completed(list(running))))
            trial = running.pop(task)
            costs, seconds = task.result()
            _tell(study, trial, costs)
            done, slowest = done + 1, max(slowest, seconds)
            if progress is not None:
                progress(done, time.perf_counter() - started, study.best_value)
            fill()
    return "trials" if max_trials is not None and done >= max_trials else "budget"


def _tell(study: Any, trial: Any, costs: np.ndarray) -> None:
    """Record a trial: its mean inner cost, and the per-instance costs the final choice tests (kept in the journal)."""
    trial.set_user_attr("costs", [float(c) for c in costs])
    study.tell(trial, float(np.mean(costs)))


@dataclass(frozen=True)
class ConfiguredEvaluation:
    """:func:`evaluate_configured`'s result: the out-of-fold ``evaluation`` (as :func:`mezan.meta.schedules.evaluate`
    returns it) and, per outer fold in order, what :func:`configure` found on its training folds."""

    evaluation: Evaluation
    folds: list[Configured]


def evaluate_configured(scenario: Scenario, *, budget: float, seed: int = 0, folds: int = INNER_FOLDS,
                        executor: Any = None, workers: int = 1, max_trials: int | None = None,
                        start: Configuration = DEFAULT, fixed: tuple[str, ...] = (),
                        switch_alpha: float = SWITCH_ALPHA,
                        progress: Callable[[int], Any] | None = None) -> ConfiguredEvaluation:
    """Nested evaluation: for every outer fold of the scenario's ``cv.arff``, :func:`configure` on the other folds
    only, then the fold decided by the configuration found.

    The outer folds run as tasks on ``executor`` (or ``workers`` local processes; 1: here, one after the other),
    each searching one trial after the other, so that a fold's search stops on its own clock. ``budget`` is the whole
    evaluation's wall-clock seconds: with c folds running at once, each fold's search gets 0.9 x budget x c / folds
    (a tenth is kept for fitting the folds' final selectors). ``max_trials``, ``start``, ``fixed`` and
    ``switch_alpha`` are :func:`configure`'s, per fold; ``progress(fold)`` after each outer fold, in fold order."""
    budget = _check_budget(budget)
    seed = check_seed(seed)
    outer = sorted(set(int(v) for v in scenario.folds))
    options = {"seed": seed, "folds": folds, "max_trials": max_trials, "start": start, "fixed": tuple(fixed),
               "switch_alpha": switch_alpha}
    results: list[tuple[Configured, Any]] = []
    if executor is None and workers <= 1:
        share = 0.9 * budget / len(outer)
        for fold in outer:
            results.append(_configured_fold((scenario, fold, share, options)))
            if progress is not None:
                progress(fold)
    else:
        own = LocalExecutor(min(workers, len(outer)), processes=True) if executor is None else None
        try:
            with executor_from(own or executor) as ex:
                share = 0.9 * budget * min(ex.capacity, len(outer)) / len(outer)
                tasks = [ex.submit(_configured_fold, (scenario, fold, share, options)) for fold in outer]
                try:
                    for fold, task in zip(outer, tasks, strict=True):  # in fold order: the result does not depend
                        results.append(task.result())                   # on which fold ends first
                        if progress is not None:
                            progress(fold)
                finally:
                    for task in tasks:
                        task.cancel()
        finally:
            if own is not None:
                own.close()
    return ConfiguredEvaluation(evaluation_of(scenario, outer, [d for _, d in results]), [c for c, _ in results])


def _configured_fold(task: tuple[Scenario, int, float, dict[str, Any]]) -> tuple[Configured, Any]:
    """One outer fold of :func:`evaluate_configured`: (what the search on its training folds found, the fold's
    decisions by that configuration)."""
    scenario, fold, share, options = task
    train = np.flatnonzero(scenario.folds != fold)
    inner = scenario.subset(train, inner_folds(len(train), options["folds"], options["seed"]))
    found = configure(inner, budget=max(share, 1e-3), **options)
    return found, evaluate_fold(scenario, fold, seed=options["seed"], **found.config.evaluate_options())


def read_config(path: str | Path) -> Configuration:
    """The configuration a ``mezan meta aslib configure --out FILE`` wrote (or a JSON mapping of names to values)."""
    text = read_text(path, what="configuration file")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidParameterError(f"{path}: not JSON ({exc.msg} at line {exc.lineno})") from None
    values = data.get("configuration", data) if isinstance(data, dict) else data
    try:
        return Configuration.from_dict(values)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"{path}: {exc}") from None


__all__ = ["CONFIG_APPROACHES", "DEFAULT", "INNER_FOLDS", "SPACE", "SWITCH_ALPHA", "Configuration", "Configured",
           "ConfiguredEvaluation", "Param", "configure", "evaluate_configured", "inner_cost", "inner_costs",
           "inner_folds", "read_config"]
