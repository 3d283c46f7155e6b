"""ATLAS: an empirical study of solvers carried through by named agents on the blackboard.

The question: which of these solvers is best on this instance set, and *when* does each win? The agents:

- **ResearchCoordinator** plans the study and assigns its tasks to the agents: an assignment problem over skill and
  workload, solved with MEZAN's own LAP (``mezan._core.solve_lap``);
- **ExperimentDesigner** fixes instances, budget and seeds, with a power argument: enough paired runs per solver
  pair to detect a large effect (d_z = 0.8, alpha 0.05, power 0.8);
- the experiment runs through OptiBench (:mod:`mezan.bench`, local or Dask);
- **ResultsInterpreter** applies OptiBench's statistics (Friedman/Nemenyi, Wilcoxon–Holm, A12);
- **HypothesisGenerator** turns pairwise wins into explicit rules ("A beats B when f > t"): a depth-2 decision tree
  per solver pair on the instances' features, one hypothesis per pure leaf (purity >= 0.8, support >= 3);
- **CriticalAnalyzer** (the antithesis) tests each rule on fresh instances of the region it covers (never the ones
  it was formed on): a one-sided binomial test of the claimed winner's wins against its losses (ties left out),
  with its assumptions checked (enough fresh instances, not all ties: a ceiling effect) —
  ``confirmed`` (p < alpha), ``refuted`` (the other solver wins at least as often) or ``inconclusive``;
- **EvidenceSynthesizer** keeps what survived and hands it to MetaFlow as training data: the confirming runs are
  appended to MetaFlow's history (race ``study:<topic>``), never as a hard-coded policy;
- **PublicationAssistant** writes the report: OptiBench's HTML report plus the hypotheses, their tests and verdicts,
  and a methods section from the recorded design and environment;
- **MethodologyValidator** checks reproducibility: seeds and environments recorded, and a sample of runs
  re-run with ``mezan bench reproduce``'s machinery.

Where the instances come from and how solvers are run is a :class:`Portfolio`: :class:`OptiBenchPortfolio` runs
MEZAN's solvers through OptiBench; a synthetic portfolio with a planted truth (bench/study_planted.py, the tests)
exercises the same agents.

A study takes a ``stop`` (anything with ``is_set()``, e.g. a ``threading.Event``; the MCP server sets it when the
request is cancelled or the client goes away): it is checked between units of work and relayed to the running
cells, which return at once, and the study raises :class:`StudyStopped` (what was recorded stays recorded).
"""

from __future__ import annotations

import html
import itertools
import math
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from scipy.stats import binomtest
from sklearn.tree import DecisionTreeClassifier

from mezan import _core
from mezan.agents.blackboard import Blackboard
from mezan.bench.analysis import analyze, load
from mezan.bench.experiments import Plan, parse_solver, reproduce, run_experiment
from mezan.bench.instances import Instance, generated, parse
from mezan.bench.registry import Registry
from mezan.bench.report import html_report
from mezan.bench.sequential import fixed_sample
from mezan.dist import DistError, Executor, Task, executor_from
from mezan.errors import InvalidParameterError, StoppedError
from mezan.meta.features import features
from mezan.outputs import write_atomic
from mezan.running import integer_at_least, raise_if_stopped, time_limit_seconds
from mezan.store import Store

AGENTS = ("ResearchCoordinator", "ExperimentDesigner", "ResultsInterpreter", "HypothesisGenerator",
          "CriticalAnalyzer", "EvidenceSynthesizer", "PublicationAssistant", "MethodologyValidator")
TASKS = ("plan", "design", "interpret", "hypothesize", "critique", "synthesize", "publish", "validate")
PURITY, SUPPORT = 0.8, 3
TIE = 1e-9  # gaps closer than this are a tie
MAX_STUDY_INSTANCES = 10_000  # instances of one study, over all its specs (each spec is bounded on its own too)
STOP_POLL = 0.05  # seconds between two looks at a study's stop while its runs go on


class StudyStopped(StoppedError):
    """The study's ``stop`` was set: it ended between two units of work (the runs recorded stay recorded)."""


def check_stop(stop: Any) -> None:
    """Raise :class:`StudyStopped` when ``stop`` (None, or anything with ``is_set()``) is set."""
    raise_if_stopped(stop, StudyStopped, "study")


class StoppableExecutor(Executor):
    """An executor that hands its tasks back in completion order until ``stop`` is set, then raises
    :class:`StudyStopped` (OptiBench's ``run_cells`` then cancels the cells not finished: a running solver sees its
    context set and returns at once). Submitting, capacity and description are the wrapped executor's."""

    def __init__(self, inner: Executor, stop: Any) -> None:
        self.inner, self.stop = inner, stop
        self.kind = inner.kind

    @property
    def capacity(self) -> int:
        return self.inner.capacity

    def submit(self, fn: Any, *args: Any, context: bool = False, key: str | None = None, **kwargs: Any) -> Task:
        check_stop(self.stop)
        return self.inner.submit(fn, *args, context=context, key=key, **kwargs)

    def as_completed(self, tasks: Iterable[Task], timeout: float | None = None) -> Iterator[Task]:
        pending = list(tasks)
        deadline = None if timeout is None else time.monotonic() + timeout
        while pending:
            check_stop(self.stop)
            done = [t.done() for t in pending]  # read once: a task ending between two reads is still yielded
            finished = [t for t, d in zip(pending, done, strict=True) if d]
            pending = [t for t, d in zip(pending, done, strict=True) if not d]
            yield from finished
            if deadline is not None and time.monotonic() > deadline and pending:
                raise DistError(f"{len(pending)} tasks did not finish within {timeout} s")
            if pending and not finished:
                pending[0].wait(STOP_POLL)

    def describe(self) -> dict[str, Any]:
        return self.inner.describe()


@dataclass
class Outcome:
    """One instance of a study: its features and each solver's gaps (one per seed)."""

    instance: str
    features: dict[str, float]
    gaps: dict[str, list[float]]
    runs: list[int] = field(default_factory=list)  # OptiBench run ids, when there are any


class Portfolio(Protocol):
    def instances(self) -> list[Any]: ...

    def fresh(self, region: Any, count: int, seed: int) -> list[Any]:
        """Up to ``count`` instances never used before whose features satisfy ``region(features)``."""

    def run(self, instances: list[Any], solvers: list[str], *, seeds: int, name: str) -> list[Outcome]: ...


# ---- rules ------------------------------------------------------------------------------------------------
@dataclass
class Rule:
    """``winner`` beats ``loser`` when every condition ``(feature, "<=" | ">", threshold)`` holds."""

    winner: str
    loser: str
    conditions: list[tuple[str, str, float]]
    support: int
    purity: float

    def holds(self, features: dict[str, float]) -> bool:
        for name, op, threshold in self.conditions:
            value = features.get(name)
            if value is None or not math.isfinite(value):
                return False
            if (value <= threshold) != (op == "<="):
                return False
        return True

    def text(self) -> str:
        if not self.conditions:
            return f"{self.winner} beats {self.loser} on every kind of instance seen"
        where = " and ".join(f"{n} {op} {t:.4g}" for n, op, t in self.conditions)
        return f"{self.winner} beats {self.loser} when {where}"

    def to_dict(self) -> dict[str, Any]:
        return {"winner": self.winner, "loser": self.loser, "conditions": [list(c) for c in self.conditions],
                "support": self.support, "purity": self.purity, "text": self.text()}


def _feature_names(outcomes: list[Outcome]) -> list[str]:
    sets = [{k for k, v in o.features.items() if isinstance(v, (int, float)) and math.isfinite(v)} for o in outcomes]
    return sorted(set.intersection(*sets)) if sets else []


def pairwise_labels(outcomes: list[Outcome], a: str, b: str) -> list[int | None]:
    """Per instance: 1 when ``a`` has the lower mean gap, 0 when ``b`` has, None for a tie."""
    out: list[int | None] = []
    for o in outcomes:
        ga, gb = float(np.mean(o.gaps[a])), float(np.mean(o.gaps[b]))
        out.append(None if abs(ga - gb) <= TIE else int(ga < gb))
    return out


def hypothesize(outcomes: list[Outcome], solvers: list[str], *, seed: int = 0) -> list[Rule]:
    """Rules from a depth-2 decision tree per solver pair over the instances' features (sklearn)."""
    names = _feature_names(outcomes)
    rules: list[Rule] = []
    if not names:
        return rules
    for i, a in enumerate(solvers):
        for b in solvers[i + 1:]:
            labels = pairwise_labels(outcomes, a, b)
            keep = [k for k, y in enumerate(labels) if y is not None]
            y = np.array([labels[k] for k in keep])
            if len(keep) < SUPPORT:
                continue
            X = np.array([[outcomes[k].features[n] for n in names] for k in keep])
            if len(set(y.tolist())) == 1:  # one solver wins everywhere: the rule "always"
                rules.append(Rule(a if y[0] == 1 else b, b if y[0] == 1 else a, [], len(y), 1.0))
                continue
            tree = DecisionTreeClassifier(max_depth=2, min_samples_leaf=SUPPORT, random_state=seed).fit(X, y)
            kept = [k for k in keep]
            rules += [refine(rule, [outcomes[k] for k in kept], [labels[k] for k in kept], a)
                      for rule in _leaf_rules(tree, names, a, b)]
    return rules


def refine(rule: Rule, outcomes: list[Outcome], labels: list[int | None], a: str) -> Rule:
    """A one-condition rule's threshold moved to the maximum-likelihood change point of the winner's win rate along
    that feature (two Bernoulli segments, the winner's side won at least :data:`PURITY` of its decided instances).
    A tree splits where the impurity drops most, which lies inside the mixed side when one side is pure and the
    other a coin flip; the change point is the boundary worth testing."""
    if len(rule.conditions) != 1:
        return rule
    name, op, _ = rule.conditions[0]
    sign = 1 if rule.winner == a else 0
    points = sorted((o.features[name], int(y == sign)) for o, y in zip(outcomes, labels, strict=True)
                    if y is not None)
    values = sorted({v for v, _ in points})

    def loglik(wins: int, total: int) -> float:
        if total == 0 or wins in (0, total):
            return 0.0
        p = wins / total
        return wins * math.log(p) + (total - wins) * math.log(1 - p)

    best = None
    for low, high in itertools.pairwise(values):
        t = (low + high) / 2
        inside = [w for v, w in points if (v <= t) == (op == "<=")]
        outside = [w for v, w in points if (v <= t) != (op == "<=")]
        if len(inside) < SUPPORT or sum(inside) < PURITY * len(inside):
            continue
        score = loglik(sum(inside), len(inside)) + loglik(sum(outside), len(outside))
        if best is None or score > best[0] + 1e-12:
            best = (score, t, len(inside), sum(inside) / len(inside))
    if best is None:
        return rule
    return Rule(rule.winner, rule.loser, [(name, op, best[1])], best[2], best[3])


def _leaf_rules(tree: Any, names: list[str], a: str, b: str) -> list[Rule]:
    t = tree.tree_
    out = []

    def walk(node: int, conditions: list[tuple[str, str, float]]) -> None:
        if t.children_left[node] == -1:
            counts = t.value[node][0] * t.n_node_samples[node] if t.value[node][0].sum() <= 1.0 + 1e-9 \
                else t.value[node][0]
            total = float(counts.sum())
            classes = tree.classes_.tolist()
            wins_a = float(counts[classes.index(1)]) if 1 in classes else 0.0
            purity_a = wins_a / total if total else 0.0
            for winner, loser, purity in ((a, b, purity_a), (b, a, 1 - purity_a)):
                if purity >= PURITY and total >= SUPPORT:
                    out.append(Rule(winner, loser, _simplify(conditions), round(total), purity))
            return
        name, threshold = names[t.feature[node]], float(t.threshold[node])
        walk(t.children_left[node], [*conditions, (name, "<=", threshold)])
        walk(t.children_right[node], [*conditions, (name, ">", threshold)])

    walk(0, [])
    return out


def _simplify(conditions: list[tuple[str, str, float]]) -> list[tuple[str, str, float]]:
    """One bound per (feature, direction): the tightest."""
    best: dict[tuple[str, str], float] = {}
    for name, op, t in conditions:
        key = (name, op)
        best[key] = t if key not in best else (min(best[key], t) if op == "<=" else max(best[key], t))
    return [(n, op, t) for (n, op), t in best.items()]


def critique(rule: Rule, fresh: list[Outcome], *, alpha: float = 0.05, minimum: int = 5) -> dict[str, Any]:
    """Test a rule on fresh instances of its region: wins and losses of the claimed winner (ties left out), a
    one-sided binomial test each way, and the assumptions (enough instances, not all ties)."""
    labels = pairwise_labels(fresh, rule.winner, rule.loser)
    wins = sum(1 for y in labels if y == 1)
    losses = sum(1 for y in labels if y == 0)
    ties = sum(1 for y in labels if y is None)
    out: dict[str, Any] = {"fresh": len(fresh), "wins": wins, "losses": losses, "ties": ties, "p_value": None,
                           "p_value_other_way": None, "assumptions": []}
    if len(fresh) < minimum:
        out["assumptions"].append(f"only {len(fresh)} fresh instances of the region (need {minimum})")
    if fresh and ties == len(fresh):
        out["assumptions"].append("every fresh instance is a tie: a ceiling effect, no evidence")
    if wins + losses == 0:
        out.update(verdict="inconclusive", reason="no decided fresh instance")
        return out
    p = binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue
    q = binomtest(losses, wins + losses, 0.5, alternative="greater").pvalue
    out.update(p_value=float(p), p_value_other_way=float(q))
    if out["assumptions"] and len(fresh) < minimum:
        out.update(verdict="inconclusive", reason=out["assumptions"][0])
    elif p < alpha:
        out.update(verdict="confirmed", reason=f"{rule.winner} won {wins} of {wins + losses} decided fresh "
                                               f"instances (binomial p = {p:.3g} < {alpha})")
    elif losses >= wins:
        out.update(verdict="refuted", reason=f"{rule.winner} won only {wins} of {wins + losses} decided fresh "
                                             f"instances" + (f" (the other way p = {q:.3g})" if q < alpha else ""))
    else:
        out.update(verdict="inconclusive", reason=f"{rule.winner} won {wins} of {wins + losses}: p = {p:.3g} "
                                                  f">= {alpha}")
    return out


# ---- the coordinator's assignment --------------------------------------------------------------------------
SKILLS = {  # agent -> task -> skill in [0, 1]
    "ResearchCoordinator": {"plan": 1.0, "synthesize": 0.5},
    "ExperimentDesigner": {"design": 1.0, "plan": 0.5, "validate": 0.4},
    "ResultsInterpreter": {"interpret": 1.0, "critique": 0.4},
    "HypothesisGenerator": {"hypothesize": 1.0, "interpret": 0.5},
    "CriticalAnalyzer": {"critique": 1.0, "validate": 0.5, "hypothesize": 0.3},
    "EvidenceSynthesizer": {"synthesize": 1.0, "interpret": 0.3},
    "PublicationAssistant": {"publish": 1.0, "synthesize": 0.3},
    "MethodologyValidator": {"validate": 1.0, "design": 0.4, "critique": 0.3},
}


EFFORT = {"plan": 0.2, "design": 0.5, "interpret": 0.5, "hypothesize": 0.5, "critique": 1.0, "synthesize": 0.2,
          "publish": 0.3, "validate": 0.8}  # relative work of each task (the critic and validator run experiments)


def assign(workload: dict[str, float] | None = None) -> dict[str, str]:
    """Task -> agent over a one-to-one assignment (MEZAN's LAP) minimising, summed over the tasks,
    ``(1 - skill) + workload[agent] * effort[task]``: an agent already loaded is given lighter work."""
    workload = workload or {}
    cost = np.array([[1.0 - SKILLS[agent].get(task, 0.0) + workload.get(agent, 0.0) * EFFORT[task] for task in TASKS]
                     for agent in AGENTS])
    rows, _ = _core.solve_lap(cost)  # rows[i] = the task given to agent i
    return {TASKS[int(rows[i])]: agent for i, agent in enumerate(AGENTS)}


# ---- the study ----------------------------------------------------------------------------------------------
def seeds_for_power(instances: int, *, effect: float = 0.8, alpha: float = 0.05, power: float = 0.8) -> int:
    """Seeds per instance so that a solver pair gets the paired runs a t-test needs to detect ``effect``."""
    return max(1, math.ceil(fixed_sample(alpha, 1 - power, effect) / max(instances, 1)))


def run_study(portfolio: Portfolio, solvers: list[str], *, seeds: int | None = None, fresh: int = 8,
              alpha: float = 0.05, store: Store | None = None, topic: str | None = None, seed: int = 0,
              analysis: Any = None, stop: Any = None) -> dict[str, Any]:
    """Carry a study through the ATLAS agents on any portfolio of instances and solvers.

    The ResearchCoordinator assigns the tasks, the ExperimentDesigner fixes the seeds, the main experiment runs,
    the ResultsInterpreter reads it, the HypothesisGenerator states rules ("A beats B when f > t") and the
    CriticalAnalyzer tests each on fresh instances of its region; every step is posted on the blackboard (see
    :mod:`mezan.agents.atlas`).

    Parameters
    ----------
    portfolio : Portfolio
        Where the instances come from and how the solvers run (:class:`OptiBenchPortfolio`, or a synthetic one).
    solvers : list of str
        The solvers compared (at least 2, none twice).
    seeds : int or None, optional
        Seeds per instance and solver, >= 1 (default: enough for the power argument, :func:`seeds_for_power`).
    fresh : int, default 8
        Fresh instances each rule is tested on (at most).
    alpha : float, default 0.05
        The significance level of the rules' tests.
    store : mezan.store.Store, optional
        The store holding the blackboard (default: the user's store).
    topic : str, optional
        The blackboard topic (default: ``study:<time>``).
    seed : int, default 0
        The seed of the hypotheses' decision trees and of the fresh instances' draws.
    analysis : callable, optional
        ``analysis(outcomes) -> dict``: the ResultsInterpreter's statistics (e.g. OptiBench's); default none.
    stop : threading.Event, optional
        Anything with ``is_set()``: checked before the experiment and each hypothesis' test, where the study
        then raises :class:`StudyStopped`.

    Returns
    -------
    dict
        ``topic``, ``design`` (with its power argument), ``results`` (the analysis), ``hypotheses`` (each rule
        with its verdict, the test's figures and the evidence runs), ``kept`` (the confirmed ones), ``outcomes``,
        ``assignment`` (task -> agent) and ``board`` (the :class:`mezan.agents.blackboard.Blackboard`).

    Raises
    ------
    InvalidParameterError
        When ``seeds`` is not an integer >= 1, fewer than 2 solvers are given or one is named twice, or the
        portfolio has no instance.
    StudyStopped
        When ``stop`` is set.
    """
    if seeds is not None:
        seeds = integer_at_least("seeds", seeds, 1)
    if len(solvers) < 2:
        raise InvalidParameterError("--solvers: a study compares at least 2 solvers")
    if len(set(solvers)) != len(solvers):
        raise InvalidParameterError(f"--solvers: a solver is named twice ({', '.join(solvers)})")
    board = Blackboard(store if store is not None else Store())
    topic = topic or f"study:{time.time():.3f}"
    assignment = assign()
    board.post(topic, "ResearchCoordinator", "decision",
               {"question": f"which of {', '.join(solvers)} is best on these instances, and when does each win?",
                "assignment": assignment, "method": "LAP on (1 - skill) + workload, mezan._core.solve_lap"})
    instances = portfolio.instances()
    if not instances:
        raise InvalidParameterError("--instances: no instance")
    planned = seeds if seeds is not None else seeds_for_power(len(instances))
    design = {"solvers": solvers, "instances": len(instances), "seeds": planned, "fresh_per_rule": fresh,
              "alpha": alpha, "power_argument": f"{planned} seed(s) x {len(instances)} instances give "
                                                f"{planned * len(instances)} paired runs per solver pair "
                                                f"(a paired t-test detects d_z = 0.8 at alpha 0.05 with power 0.8 "
                                                f"from {seeds_for_power(1)})"}
    design_post = board.post(topic, assignment["design"], "decision", design)
    check_stop(stop)
    outcomes = portfolio.run(instances, solvers, seeds=planned, name=f"{topic}:main")
    results = analysis(outcomes) if analysis is not None else {}
    results_post = board.post(topic, assignment["interpret"], "finding", results, parent=design_post,
                              evidence=[f"run:{r}" for o in outcomes for r in o.runs][:50])
    rules = hypothesize(outcomes, solvers, seed=seed)
    hypotheses = []
    for k, rule in enumerate(rules):
        check_stop(stop)
        post = board.post(topic, assignment["hypothesize"], "hypothesis", rule.to_dict(), parent=results_post)
        tested = portfolio.fresh(rule.holds, fresh, seed=seed + 7919 * (k + 1))
        checked = portfolio.run(tested, [rule.winner, rule.loser], seeds=1, name=f"{topic}:critique:{k}") \
            if tested else []
        verdict = critique(rule, checked, alpha=alpha)
        board.post(topic, assignment["critique"], "critique", verdict, parent=post,
                   evidence=[f"run:{r}" for o in checked for r in o.runs])
        hypotheses.append({**rule.to_dict(), **verdict, "evidence_runs": [r for o in checked for r in o.runs],
                           "outcomes": checked})
    kept = [h for h in hypotheses if h["verdict"] == "confirmed"]
    board.post(topic, assignment["synthesize"], "decision",
               {"kept": [h["text"] for h in kept], "dropped": [f"{h['text']}: {h['verdict']}" for h in hypotheses
                                                               if h["verdict"] != "confirmed"]})
    return {"topic": topic, "design": design, "results": results, "hypotheses": hypotheses, "kept": kept,
            "outcomes": outcomes, "assignment": assignment, "board": board}


# ---- OptiBench as the portfolio ------------------------------------------------------------------------------
def study_budget(time_limit: Any) -> float:
    """A study's seconds per run: :func:`mezan.running.time_limit_seconds`'s checks, and finite (every run of a
    study ends on its budget)."""
    try:
        seconds = time_limit_seconds(time_limit)
    except InvalidParameterError as exc:
        raise InvalidParameterError(f"--time: {exc}") from None
    if math.isinf(seconds):
        raise InvalidParameterError(f"--time: time_limit must be a finite number of seconds per run, got {time_limit}")
    return seconds


def _read_specs(specs: list[str], root: str | Path | None, stop: Any) -> list[Any]:
    """The instances of every spec (files confined to ``root`` when given), at most :data:`MAX_STUDY_INSTANCES`."""
    found: list[Any] = []
    for spec in specs:
        check_stop(stop)
        found += parse(spec, root=root)
        if len(found) > MAX_STUDY_INSTANCES:
            raise InvalidParameterError(f"--instances: a study takes at most {MAX_STUDY_INSTANCES:,} instances, "
                                        f"these specs name more")
    return found


class OptiBenchPortfolio:
    """MEZAN's solvers on instance specs through OptiBench (runs recorded in the registry, on any executor)."""

    def __init__(self, specs: list[str], *, time_limit: float = 1.0, store: Store | None = None,
                 executor: Any = None, max_iter: int | None = None, root: str | Path | None = None,
                 stop: Any = None) -> None:
        self.specs, self.time_limit, self.max_iter = specs, study_budget(time_limit), max_iter
        self.registry = Registry(store)
        self.executor = executor
        self._instances = _read_specs(specs, root, stop)
        self.experiments: list[str] = []
        self._used = {i.problem_id for i in self._instances}

    def instances(self) -> list[Any]:
        return self._instances

    def fresh(self, region: Any, count: int, seed: int) -> list[Any]:
        """Instances from the study's generators (same kinds and sizes, unused seeds) inside ``region``."""
        kinds = sorted({i.generator for i in self._instances if i.generator})
        out: list[Any] = []
        rng = np.random.default_rng(seed)
        for _ in range(6 * count):
            if not kinds or len(out) >= count:
                break
            kind, n = kinds[int(rng.integers(len(kinds)))].split(":")
            s = int(rng.integers(10_000, 2**31 - 1))
            instance = Instance(generated(kind, int(n), s), f"{kind}{n}s{s}", "generated", generator=f"{kind}:{n}",
                                generator_seed=s)
            if instance.problem_id in self._used:
                continue
            if region(features(instance.problem)):
                self._used.add(instance.problem_id)
                out.append(instance)
        return out

    def run(self, instances: list[Any], solvers: list[str], *, seeds: int, name: str) -> list[Outcome]:
        plan = Plan([f"{i.name}:{i.problem_id[:16]}" for i in instances], solvers, seeds=seeds,
                    time_limit=self.time_limit, max_iter=self.max_iter, instances=instances)
        experiment = run_experiment(plan, registry=self.registry, name=name, executor=self.executor)
        self.experiments.append(experiment.id)
        data = load(self.registry, experiment.id)
        runs = self.registry.runs(experiment.id)
        out = []
        for pid in data.instances:
            row = self.registry.instance(pid)
            gaps = {label.split(":")[0]: data.gaps[(pid, label)] for label in data.solvers}
            out.append(Outcome(row["name"], row["features"], gaps,
                               [r["id"] for r in runs if r["problem_id"] == pid]))
        return out


def study(solvers: list[str], specs: list[str], *, time_limit: float = 1.0, seeds: int | None = None,
          fresh: int = 8, alpha: float = 0.05, max_iter: int | None = None, store: Store | None = None,
          executor: Any = None, out: str | None = None, seed: int = 0, reproduce_sample: int = 2,
          root: str | Path | None = None, stop: Any = None) -> dict[str, Any]:
    """Run an ATLAS study of MEZAN's solvers on OptiBench instance specs; write the report when asked.

    :func:`run_study` on an :class:`OptiBenchPortfolio` (runs recorded in the OptiBench registry), then the
    EvidenceSynthesizer hands the runs that confirmed a rule to MetaFlow's history, the MethodologyValidator
    re-runs a sample of runs, and the PublicationAssistant writes the HTML report to ``out`` when given.

    Parameters
    ----------
    solvers : list of str
        Solver specs, as ``--solvers`` takes them (at least 2).
    specs : list of str
        Instance specs, as ``--instances`` takes them (:mod:`mezan.bench.instances`); at most
        :data:`MAX_STUDY_INSTANCES` instances in all. Fresh instances for the rules' tests come from the
        generators among them.
    time_limit : float, default 1.0
        Seconds per run (positive, finite).
    seeds : int or None, optional
        Seeds per instance and solver (default: enough for the power argument).
    fresh : int, default 8
        Fresh instances each rule is tested on (at most).
    alpha : float, default 0.05
        The significance level of the statistics and of the rules' tests.
    max_iter : int or None, optional
        An iteration cap for every run (with one thread, runs then repeat exactly, and the reproduction check
        compares objectives).
    store : mezan.store.Store, optional
        The store of the registry, the blackboard and MetaFlow's history (default: the user's store).
    executor : object, optional
        Where the runs run: anything :func:`mezan.dist.executor_from` takes.
    out : str, optional
        The HTML report's file; written atomically, replacing an existing file (never the store).
    seed : int, default 0
        The seed of the hypotheses and the fresh instances' draws.
    reproduce_sample : int, default 2
        How many of the study's runs the MethodologyValidator runs again.
    root : str or pathlib.Path, optional
        Confine the files the specs may name to this folder (:func:`mezan.bench.instances.parse`).
    stop : threading.Event, optional
        Anything with ``is_set()``: once set, the running cells are cancelled and the study ends between two runs
        with :class:`StudyStopped` (what was recorded stays recorded).

    Returns
    -------
    dict
        :func:`run_study`'s report without ``board`` and ``outcomes``, plus ``methodology`` (the reproduction
        check and its verdict), ``metaflow_rows`` (history rows added), ``experiments`` (OptiBench experiment
        ids), ``report`` (the path, when ``out`` is given) and ``posts`` (blackboard posts of the topic).

    Raises
    ------
    InvalidParameterError
        When a solver or instance spec is invalid, ``time_limit`` is not a positive finite number of seconds, or
        as :func:`run_study`.
    StudyStopped
        When ``stop`` is set.
    """
    if stop is None:
        return _study(solvers, specs, time_limit=time_limit, seeds=seeds, fresh=fresh, alpha=alpha,
                      max_iter=max_iter, store=store, executor=executor, out=out, seed=seed,
                      reproduce_sample=reproduce_sample, root=root, stop=None)
    with executor_from(executor) as inner:  # one executor for the whole study, its completions watched for stop
        return _study(solvers, specs, time_limit=time_limit, seeds=seeds, fresh=fresh, alpha=alpha,
                      max_iter=max_iter, store=store, executor=StoppableExecutor(inner, stop), out=out, seed=seed,
                      reproduce_sample=reproduce_sample, root=root, stop=stop)


def _study(solvers: list[str], specs: list[str], *, time_limit: float, seeds: int | None, fresh: int,
           alpha: float, max_iter: int | None, store: Store | None, executor: Any, out: str | None, seed: int,
           reproduce_sample: int, root: str | Path | None, stop: Any) -> dict[str, Any]:
    store = store if store is not None else Store()
    names = [parse_solver(s)[0] for s in solvers]
    portfolio = OptiBenchPortfolio(specs, time_limit=time_limit, store=store, executor=executor, max_iter=max_iter,
                                   root=root, stop=stop)
    state: dict[str, Any] = {}

    def interpret(_outcomes: list[Outcome]) -> dict[str, Any]:
        result = analyze(load(portfolio.registry, portfolio.experiments[-1]), alpha=alpha)
        state["analysis"] = result
        return {"experiment": result["experiment"], "friedman": result["friedman"]["verdict"],
                "pairwise": [p["verdict"] for p in result["pairwise"]],
                "mean_gap": {s: v["mean_gap"] for s, v in result["solvers"].items()}}

    found = run_study(portfolio, names, seeds=seeds, fresh=fresh, alpha=alpha, store=store, seed=seed,
                      analysis=interpret, stop=stop)
    board: Blackboard = found.pop("board")
    found.pop("outcomes")
    for h in found["hypotheses"]:
        h.pop("outcomes")
    # EvidenceSynthesizer: the runs that confirmed a rule become MetaFlow history (training data, not policy)
    recorded = _to_metaflow(store, portfolio, [r for h in found["kept"] for r in h["evidence_runs"]], found["topic"])
    board.post(found["topic"], found["assignment"]["synthesize"], "artifact",
               {"metaflow_history_rows": recorded, "race": f"study:{found['topic']}"})
    # MethodologyValidator: recorded seeds and environments, and a sample re-run
    methodology = _methodology(portfolio, reproduce_sample, stop)
    board.post(found["topic"], found["assignment"]["validate"], "finding", methodology)
    found.update(methodology=methodology, metaflow_rows=recorded, experiments=portfolio.experiments)
    if out is not None:
        page = publication(found, state.get("analysis"), portfolio)
        write_atomic(out, page, option="out", force=True,  # where the caller asked; never over the store
                     store=None if store is None else store.path)
        board.post(found["topic"], found["assignment"]["publish"], "artifact", {"report": str(out)})
        found["report"] = str(out)
    found["posts"] = len(board.posts(found["topic"]))
    return found


def _to_metaflow(store: Store, portfolio: OptiBenchPortfolio, run_ids: list[int], topic: str) -> int:
    wanted = set(run_ids)
    count = 0
    for experiment in portfolio.experiments:
        for run in portfolio.registry.runs(experiment):
            if run["id"] not in wanted:
                continue
            row = portfolio.registry.instance(run["problem_id"])
            store.append_solve(fingerprint=run["problem_id"], problem_type=row["problem_type"],
                               features={k: v for k, v in row["features"].items() if math.isfinite(v)},
                               solver=run["solver"].split(":")[0], time_limit=run["budget"],
                               objective=run["objective"], best_known=row["best_known"], wall_time=run["wall_time"],
                               seed=run["seed"], status=run["status"], race=f"study:{topic}")
            count += 1
    return count


def _methodology(portfolio: OptiBenchPortfolio, sample: int, stop: Any = None) -> dict[str, Any]:
    runs = [r for e in portfolio.experiments for r in portfolio.registry.runs(e)]
    out: dict[str, Any] = {"runs": len(runs), "seeds_recorded": all(r["seed"] is not None for r in runs),
                           "environments": sorted({r["env_id"] for r in runs}), "reproduced": []}
    for run in runs[:sample]:
        check_stop(stop)
        report = reproduce(str(run["id"]), registry=portfolio.registry,
                           executor=portfolio.executor if stop is not None else None)
        out["reproduced"].append({"run": run["id"], "deterministic": report["deterministic"],
                                  "drift": not report["reproduced"]})
    out["verdict"] = ("reproducible: seeds and environment recorded; sampled runs re-run without drift"
                      if out["seeds_recorded"] and not any(r["drift"] for r in out["reproduced"]) else
                      "NOT reproducible: see the sampled runs")
    if runs and not any(r["deterministic"] for r in out["reproduced"]):
        out["verdict"] += " (time-limited runs: objectives are not compared; use --max-iter for exact checks)"
    return out


def publication(found: dict[str, Any], analysis: dict[str, Any] | None, portfolio: OptiBenchPortfolio) -> str:
    """OptiBench's report of the main experiment plus the hypotheses, their tests and verdicts, and the methods."""
    e = html.escape
    registry = portfolio.registry
    environments = {env: registry.environment(env) for env in (analysis or {}).get("environments", [])}
    base = html_report(analysis, environments) if analysis else "<!DOCTYPE html><html><body></body></html>"
    rows = "".join(f"<tr class=hypothesis><td>{e(h['text'])}</td><td>{h['support']}</td><td>{h['purity']:.2f}</td>"
                   f"<td>{h['wins']}/{h['losses']}/{h['ties']}</td><td class=\"verdict {e(h['verdict'])}\">"
                   f"{e(h['verdict'])}</td><td>{e(h['reason'])}</td></tr>" for h in found["hypotheses"])
    table = ("<table class=hypotheses><thead><tr><th>hypothesis</th><th>support</th><th>purity</th>"
             "<th>fresh wins/losses/ties</th><th>verdict</th><th>evidence</th></tr></thead><tbody>" + rows +
             "</tbody></table>") if rows else "<p>No rule was pure enough to state (every pair split evenly).</p>"
    d = found["design"]
    env = next(iter(environments.values()), {})
    methods = (f"<h2>Methods</h2><p class=methods>{d['instances']} instances, solvers {e(', '.join(d['solvers']))}, "
               f"{d['seeds']} seed(s) each ({e(d['power_argument'])}); budget {portfolio.time_limit:g} s per run on "
               f"{e(str(env.get('cpu')))} ({env.get('cores')} cores), Python {e(str(env.get('python')))}, mezan "
               f"{e(str(env.get('mezan')))}, {e(str(env.get('compiler')))} {e(str(env.get('build_flags')))}. "
               f"Hypotheses: a depth-2 decision tree per solver pair on MetaFlow's features (leaves with purity "
               f"&ge; {PURITY} and &ge; {SUPPORT} instances); each tested on up to {d['fresh_per_rule']} fresh "
               f"generated instances of its region with a one-sided binomial test at alpha {d['alpha']}. "
               f"{e(found['methodology']['verdict'])}.</p>")
    section = f"<h2>Hypotheses (ATLAS, topic {e(found['topic'])})</h2>{table}{methods}"
    return base.replace("</body></html>", section + "</body></html>")


__all__ = ["AGENTS", "EFFORT", "MAX_STUDY_INSTANCES", "SKILLS", "TASKS", "OptiBenchPortfolio", "Outcome", "Portfolio",
           "Rule", "StoppableExecutor", "StudyStopped", "assign", "check_stop", "critique", "hypothesize",
           "pairwise_labels", "publication", "run_study", "seeds_for_power", "study", "study_budget"]
