"""DeepThink 3+1: what an expert works out about a problem before solving it, with a number behind every claim.

Three agents run in parallel as tasks of the executor layer (local threads by default), then a fourth:

- **Analyzer**: problem type, size, structure, features (and their cost), the best lower bound (and its cost), the
  difficulty on MetaFlow's instance Elo scale, the nearest known instances (OptiBench's recorded runs, by features)
  and which solver did best on each.
- **Optimizer**: from the anytime traces of the nearest instances, each solver's predicted gap at budgets of
  0.1 s … 60 s (mean and median over the runs, with the 10–90 % range); the solver: the robust default
  (:data:`DEFAULTS`, e.g. ``qapflow.auto``) unless a candidate beats it on the similar instances by a one-sided sign
  test at :data:`SWITCH_ALPHA` (a few noisy runs must not overturn a default measured on whole benchmarks); and the
  *knee*: the budget after which a step buys less than ``threshold`` of gap, in the mean and for the slow runs
  (90th percentile); beside it, MetaFlow's selector's choice.
- **Validator**: what can be certified (the lower bound and its gap to a quick incumbent; exact solving reachable or
  not), the checks a result must pass, the budget the nearest instances needed to reach their reference (the
  certification budget), and how many seeds tell the two best candidates apart (paired t-test, alpha 0.05, power
  0.8, at the effect seen on the nearest instances).
- **Synthesizer** (after them): one plan — solver, budget, seeds, what to report — with a stated rule where they
  disagree (:data:`CERTIFY_FACTOR`): the certification budget replaces the Optimizer's budget (its knee plus one
  step of margin) when it costs at most that factor times it, else the Optimizer's budget stays and the plan reports
  the bound gap instead. Its explanation names the
  features that separate the winners in the history (permutation importance of a forest trained on it) and the
  neighbours. A part that failed is named as missing, and the plan says what it fell back to.

Every finding is a post on the blackboard (topic ``deepthink:<fingerprint>:<time>``); ``run=True`` executes the
plan and posts the verified result. A ``stop`` (anything with ``is_set()``; the MCP server sets it when the request
is cancelled or the client goes away) is checked between the agents' steps and passed to every solve they run; once
it is set the analysis raises :class:`AnalysisStopped`.
"""

from __future__ import annotations

import functools
import math
import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.stats import binomtest
from sklearn.ensemble import RandomForestClassifier

from mezan import registry
from mezan.agents.blackboard import Blackboard
from mezan.agents.history import History, Known
from mezan.bench.registry import Registry
from mezan.bench.sequential import fixed_sample
from mezan.dist import LocalExecutor, executor_from
from mezan.errors import InvalidParameterError, StoppedError
from mezan.meta import MetaFlow
from mezan.meta.features import features
from mezan.qap import best_lower_bound, objective
from mezan.results import to_plain
from mezan.running import raise_if_stopped, real_number, time_limit_seconds
from mezan.store import Store

BUDGETS = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 60.0)
DEFAULT_THRESHOLD = 0.001  # a doubling of the budget that buys less than 0.1 point of gap is not worth it
CERTIFY_FACTOR = 4.0  # the Validator's certification budget wins when it is at most this many Optimizer budgets
NEIGHBOURS = 8
DEFAULTS = {"qap": "qapflow.auto"}  # the robust default a plan keeps unless history shows a better candidate
SWITCH_ALPHA = 0.1  # ... by a one-sided sign test over the neighbours at this level
TIE = 1e-9
AGENTS = ("Analyzer", "Optimizer", "Validator")
ATTRIBUTION_SEED = 0  # the attribution forest's random state: the explanation is a fact of the history, the same for
# every run seed (a forest per seed was 37 of DeepThink's 65 ms per analysis on a stream of seeds)
STOP_POLL = 0.05  # seconds between two looks at the stop while the agents work


class AnalysisStopped(StoppedError):
    """The analysis' ``stop`` was set: it ended between two of the agents' steps."""


def check_stop(stop: Any) -> None:
    """Raise :class:`AnalysisStopped` when ``stop`` (None, or anything with ``is_set()``) is set."""
    raise_if_stopped(stop, AnalysisStopped, "analysis")


@dataclass
class Context:
    """What the agents share: the problem, the store and the blackboard, the request; and the facts more than one
    agent reads (features, the history, the lower bound), each computed once, by whichever agent asks first."""

    problem: Any
    store: Store
    board: Blackboard
    topic: str
    candidates: list[str] | None
    max_budget: float | None
    threshold: float
    seed: int
    stop: Any = None
    _facts: dict[str, Any] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def check(self) -> None:
        """Raise :class:`AnalysisStopped` once the analysis' stop is set (called between an agent's steps)."""
        check_stop(self.stop)

    def _once(self, name: str, compute: Any) -> Any:
        self.check()
        with self._lock:
            if name not in self._facts:
                began = time.perf_counter()
                self._facts[name] = (compute(), time.perf_counter() - began)
            return self._facts[name][0]

    def seconds(self, name: str) -> float:
        """The wall time the fact ``name`` took to compute."""
        return self._facts[name][1]

    def history(self) -> History:
        return self._once("history", lambda: History.current(Registry(self.store), self.problem.problem_type))

    def features(self) -> dict[str, float]:
        return self._once("features", lambda: features(self.problem))

    def lower_bound(self) -> tuple[float | None, str | None]:
        """The best lower bound MEZAN computes for a QAP of n <= 400 (value, method); (None, None) otherwise."""
        def compute() -> tuple[float | None, str | None]:
            if self.problem.problem_type != "qap" or self.problem.n > 400:
                return None, None

            value, method = best_lower_bound(self.problem)
            return float(value), method

        return self._once("lower_bound", compute)


def _neighbour_summary(neighbours: list[tuple[Known, float]]) -> list[dict[str, Any]]:
    out = []
    for known, distance in neighbours:
        means = {s: known.mean_gap(s) for s in known.finals}
        best = known.best() if means else None
        out.append({"name": known.name, "problem_id": known.problem_id, "family": known.family,
                    "distance": distance, "mean_gap": means, "best": best})
    return out


def analyzer(ctx: Context) -> dict[str, Any]:
    ctx.check()
    problem = ctx.problem
    feats = ctx.features()
    out: dict[str, Any] = {"problem_type": problem.problem_type, "size": int(getattr(problem, "n", 0) or 0),
                           "features": feats, "feature_seconds": ctx.seconds("features")}
    if problem.problem_type == "qap":
        out["structure"] = {"symmetric": bool(feats.get("symmetric")), "A": "structured" if feats.get(
            "structured_A") else "dense", "B": "structured" if feats.get("structured_B") else "dense",
            "flow_dominance": feats.get("flow_dominance")}
        value, method = ctx.lower_bound()
        if value is not None:
            out["lower_bound"] = {"value": value, "method": method, "seconds": ctx.seconds("lower_bound")}
    ctx.check()
    difficulty = MetaFlow(ctx.store).difficulty(problem)
    out["difficulty"] = {"rating": difficulty.rating, "source": difficulty.source, "text": difficulty.describe()}
    neighbours = ctx.history().nearest(feats, NEIGHBOURS, problem_type=problem.problem_type)
    out["neighbours"] = _neighbour_summary(neighbours)
    ctx.board.post(ctx.topic, "Analyzer", "finding", out,
                   evidence=[f"instance:{n['problem_id']}" for n in out["neighbours"]])
    return out


def _predict(neighbours: list[tuple[Known, float]], solvers: list[str], budgets: list[float]) -> dict[str, Any]:
    """solver -> budget -> {mean, median, low, high, runs} of the neighbours' gaps at that budget (3 runs at least),
    over the runs that lasted the longest budget (the same runs at every budget)."""
    table: dict[str, dict[str, Any]] = {}
    horizon = max(budgets, default=0.0)
    for solver in solvers:
        row = {}
        for b in budgets:
            gaps = [g for known, _ in neighbours for g in known.gap_at(solver, b, horizon) if math.isfinite(g)]
            if len(gaps) >= 3:
                row[f"{b:g}"] = {"median": float(np.median(gaps)), "mean": float(np.mean(gaps)),
                                 "low": float(np.percentile(gaps, 10)),
                                 "high": float(np.percentile(gaps, 90)), "runs": len(gaps)}
        if row:
            table[solver] = row
    return table


def knee(curve: dict[str, dict[str, float]], threshold: float) -> float:
    """The smallest budget after which every further step of the curve gains less than ``threshold``, both in mean
    gap and in its 90th percentile (the slow runs: a knee is a claim that more time buys nothing, so it has to hold
    for them too)."""
    budgets = sorted(curve, key=float)
    chosen = budgets[-1]
    for i in range(len(budgets) - 1, 0, -1):
        before, after = curve[budgets[i - 1]], curve[budgets[i]]
        if max(before["mean"] - after["mean"], before["high"] - after["high"]) < threshold:
            chosen = budgets[i - 1]
        else:
            break
    return float(chosen)


def _duel(neighbours: list[tuple[Known, float]], solver: str, default: str, horizon: float) -> dict[str, Any]:
    """``solver`` against ``default`` on the neighbours where both ran to ``horizon``: each instance's mean gap at
    ``horizon`` decides it (ties left out); a one-sided sign test of the wins."""
    wins = losses = 0
    mine, theirs = [], []
    for known, _ in neighbours:
        a = [g for g in known.gap_at(solver, horizon) if math.isfinite(g)]
        b = [g for g in known.gap_at(default, horizon) if math.isfinite(g)]
        if not a or not b:
            continue
        mine.append(float(np.mean(a)))
        theirs.append(float(np.mean(b)))
        wins += mine[-1] < theirs[-1] - TIE
        losses += mine[-1] > theirs[-1] + TIE
    p = binomtest(wins, wins + losses, 0.5, alternative="greater").pvalue if wins + losses else 1.0
    return {"wins": wins, "losses": losses, "p_value": float(p), "gap": float(np.mean(mine)) if mine else math.nan,
            "gap_default": float(np.mean(theirs)) if theirs else math.nan,
            "gain": float(np.mean(theirs) - np.mean(mine)) if mine else 0.0}


def optimizer(ctx: Context) -> dict[str, Any]:
    ctx.check()
    problem = ctx.problem
    feats = ctx.features()
    history = ctx.history()
    neighbours = history.nearest(feats, NEIGHBOURS, problem_type=problem.problem_type)
    solvers = ctx.candidates or sorted({s for known, _ in neighbours for s in known.finals})
    recorded = max((b for known, _ in neighbours for runs in known.finals.values() for b, _ in runs), default=0.0)
    limit = recorded if ctx.max_budget is None else min(ctx.max_budget, recorded)  # no prediction past the history
    budgets = [b for b in BUDGETS if b <= limit + 1e-9] or ([limit] if limit > 0 else [])
    if ctx.max_budget is not None and ctx.max_budget not in budgets and ctx.max_budget <= recorded + 1e-9:
        budgets = sorted({*budgets, float(ctx.max_budget)})
    table = _predict(neighbours, solvers, budgets)
    ctx.check()
    selector, why = MetaFlow(ctx.store, seed=ctx.seed).select(problem, ctx.candidates) if ctx.candidates else \
        MetaFlow(ctx.store, seed=ctx.seed).select(problem)
    out: dict[str, Any] = {"solvers": solvers, "budgets": budgets, "predicted": table, "threshold": ctx.threshold,
                           "selector": {"solver": selector, "why": why}}
    if not table:
        out.update(solver=selector, budget=None, knee=None, source="selector",
                   statement=f"no history of similar instances with traces: the plan follows MetaFlow's selector "
                             f"({selector})")
    else:
        horizon = f"{max(budgets):g}"
        default = DEFAULTS.get(problem.problem_type)
        default = default if default in table else selector if selector in table else None
        duels = {s: _duel(neighbours, s, default, max(budgets)) for s in table if s != default} if default else {}
        better = [(d["p_value"], -d["gain"], s) for s, d in duels.items() if d["p_value"] < SWITCH_ALPHA
                  and d["gain"] > 0]
        if default is None:  # nothing to defend: the lowest predicted mean gap
            best = min(table, key=lambda s: (table[s].get(horizon, {}).get("mean", math.inf), s))
            why = f"{best} has the lowest predicted mean gap at {horizon} s"
        elif better:
            best = min(better)[2]
            d = duels[best]
            why = (f"{best} beats the default {default} on {d['wins']} of {d['wins'] + d['losses']} decided similar "
                   f"instances (sign test p = {d['p_value']:.3g} < {SWITCH_ALPHA}), mean gap {d['gap']:.3%} vs "
                   f"{d['gap_default']:.3%} at {horizon} s")
        else:
            best = default
            strongest = min(duels.items(), key=lambda kv: (kv[1]["p_value"], kv[0]), default=None)
            why = (f"no candidate beats the default {default} on the similar instances with evidence"
                   + (f" (closest: {strongest[0]}, {strongest[1]['wins']} wins {strongest[1]['losses']} losses, "
                      f"p = {strongest[1]['p_value']:.3g})" if strongest else "") + ": the plan keeps it")
        bent = knee(table[best], ctx.threshold)
        curve = sorted(float(b) for b in table[best])
        budget = next((b for b in curve if b > bent + 1e-12), bent)  # one step of margin past the knee
        at = table[best][f"{budget:g}"]
        out.update(solver=best, budget=budget, knee=bent, default=default, duels=duels, source="history",
                   statement=(f"on the {len(neighbours)} most similar known instances {why}; more time buys less "
                              f"than {ctx.threshold:.2g} of gap per step after {bent:g} s, even on the slowest of "
                              f"them; the plan takes {budget:g} s"
                              + (" (one step of margin: a knee a few runs share can still come early on a new "
                                 "instance)" if budget > bent else "")
                              + f"; predicted mean gap there {at['mean']:.3%} (10-90 %: {at['low']:.3%}-"
                                f"{at['high']:.3%})"))
    ctx.board.post(ctx.topic, "Optimizer", "finding", out,
                   evidence=[f"instance:{known.problem_id}" for known, _ in neighbours])
    return out


def _seeds_to_separate(neighbours: list[tuple[Known, float]], a: str, b: str) -> dict[str, Any] | None:
    diffs = []
    for known, _ in neighbours:
        ra, rb = known.finals.get(a, []), known.finals.get(b, [])
        diffs += [fa - fb for (_, fa), (_, fb) in zip(ra, rb, strict=False)]
    if len(diffs) < 3:
        return None
    d = np.array(diffs)
    sd = float(d.std(ddof=1))
    if sd == 0:
        return {"a": a, "b": b, "pairs": len(diffs), "effect": None, "seeds": None,
                "text": f"{a} and {b} gave the same gaps on every seen pair: seeds cannot tell them apart"}
    effect = abs(float(d.mean())) / sd
    seeds = fixed_sample(0.05, 0.2, effect) if effect >= 0.05 else None
    text = (f"{seeds} paired runs tell {a} and {b} apart (effect {effect:.2f} sd on {len(diffs)} seen pairs; "
            f"alpha 0.05, power 0.8)" if seeds else
            f"{a} and {b} differ by {effect:.2f} sd on the seen pairs: no practical number of seeds separates them")
    return {"a": a, "b": b, "pairs": len(diffs), "effect": effect, "seeds": seeds, "text": text}


def validator(ctx: Context) -> dict[str, Any]:
    ctx.check()
    problem = ctx.problem
    out: dict[str, Any] = {"checks": ["the solution is feasible (for a QAP: a permutation of 0..n-1)",
                                      "the objective recomputed from the solution equals the reported one",
                                      "the lower bound does not exceed the objective"]}
    if problem.problem_type == "qap":
        bound, method = ctx.lower_bound()
        quick = registry.get("qap.local_first").solve(problem, time_limit=5.0, seed=ctx.seed, stop=ctx.stop)
        ctx.check()
        gap = None if bound is None else (quick.objective - bound) / max(abs(quick.objective), 1e-12)
        out.update(lower_bound=bound, bound_method=method, incumbent=float(quick.objective), bound_gap=gap,
                   exact_reachable=problem.n <= 15,
                   certify=("exact branch and bound can prove optimality (n <= 15)" if problem.n <= 15 else
                            f"no proof of optimality expected at n = {problem.n}: the bound gap "
                            f"{'-' if gap is None else f'{gap:.2%}'} (one descent vs {method}) is what can be "
                            f"certified"))
    else:
        out.update(lower_bound=None, exact_reachable=False, certify="no bound is computed for this problem type")
    feats = ctx.features()
    neighbours = ctx.history().nearest(feats, NEIGHBOURS, problem_type=problem.problem_type)
    reach: dict[str, list[float]] = {}
    for known, _ in neighbours:
        for solver, runs in known.runs.items():
            for _budget, trace, _final in runs:
                hit = [t for t, g in trace if g <= 1e-12]
                reach.setdefault(solver, []).append(hit[0] if hit else math.inf)
    certification = None
    if reach:
        solver = min(reach, key=lambda s: (np.median(reach[s]), s))
        times = np.array(reach[solver])
        reached = int(np.isfinite(times).sum())
        if reached * 2 >= times.size and reached:
            certification = {"solver": solver, "budget": float(np.median(times)), "reached": reached,
                             "runs": int(times.size)}
    out["certification_budget"] = certification
    means = {}
    for known, _ in neighbours:
        for solver, runs in known.finals.items():
            means.setdefault(solver, []).extend(final for _, final in runs)
    ranked = sorted(means, key=lambda s: (np.mean(means[s]), s))
    out["seeds"] = _seeds_to_separate(neighbours, ranked[0], ranked[1]) if len(ranked) >= 2 else None
    ctx.board.post(ctx.topic, "Validator", "finding", out,
                   evidence=[f"instance:{known.problem_id}" for known, _ in neighbours])
    return out


def attributions(history: History, problem_type: str, features: dict[str, float], top: int = 3,
                 seed: int = 0) -> list[dict[str, Any]]:
    """Features that separate the winning solvers of the history: permutation importance of a random forest trained
    to predict each known instance's best solver from its features (sklearn); empty without enough history."""
    known = [k for k in history.known.values() if k.problem_type == problem_type and len(k.finals) >= 2]
    if len(known) < 6:
        return []
    names = sorted(set.intersection(*[{n for n, v in k.features.items() if isinstance(v, (int, float))
                                       and math.isfinite(v)} for k in known]))
    if not names:
        return []
    rows = tuple(tuple(float(k.features[n]) for n in names) for k in known)
    labels = tuple(k.best() for k in known)
    if len(set(labels)) < 2:
        return []
    scores = _forest_importance(rows, labels, seed)
    order = np.argsort(-scores)[:top]
    return [{"feature": names[i], "importance": float(scores[i]), "value": features.get(names[i])} for i in order
            if scores[i] > 0]


@functools.lru_cache(maxsize=8)
def _forest_importance(rows: tuple[tuple[float, ...], ...], labels: tuple[str, ...], seed: int) -> np.ndarray:
    """Permutation importance of a 25-tree forest fitted to predict ``labels`` from ``rows``. A function of its
    arguments only, so it is kept for the next analysis: on a stream of analyses the instances that separate
    solvers rarely change (a new instance enters only once two solvers have run on it), and the fit was most of
    DeepThink's time (40 of 80 ms)."""
    X, y = np.array(rows), np.array(labels)
    forest = RandomForestClassifier(n_estimators=25, random_state=seed).fit(X, y)
    scores = permutation_importance(forest, X, y, repeats=10, seed=seed)
    scores.setflags(write=False)
    return scores


def permutation_importance(model: Any, X: np.ndarray, y: np.ndarray, *, repeats: int = 10,
                           seed: int = 0) -> np.ndarray:
    """Mean drop of ``model``'s accuracy on (X, y) when one feature's column is shuffled (Breiman 2001), over
    ``repeats`` shuffles; every shuffled copy is predicted in one call (one pass over the forest, not
    features x repeats passes: 0.008 s instead of scikit-learn's 0.36 s for a 25-tree forest on 50 instances x
    16 features, 10 repeats)."""
    rng = np.random.default_rng(seed)
    base = float(np.mean(model.predict(X) == y))
    n, d = X.shape
    stacked = np.repeat(X[None, :, :], d * repeats, axis=0)
    for j in range(d):
        for r in range(repeats):
            stacked[j * repeats + r, :, j] = X[rng.permutation(n), j]
    hits = (model.predict(stacked.reshape(-1, d)).reshape(d * repeats, n) == y).mean(axis=1)
    return base - hits.reshape(d, repeats).mean(axis=1)


EXACT_SOLVERS = {"qap": "qap.bnb"}
"""The certifying solver of a problem type: the plan prefers it wherever the Validator says it can prove the optimum
within the budget (a proven optimum beats any heuristic's answer at the same cost)."""


def synthesizer(ctx: Context, parts: dict[str, dict[str, Any]], failures: dict[str, str]) -> dict[str, Any]:
    ctx.check()
    missing = [f"{name} failed ({failures[name]}): its part of the plan is missing" for name in failures]
    opt, val, ana = parts.get("Optimizer"), parts.get("Validator"), parts.get("Analyzer")
    if opt is not None:
        solver, budget = opt["solver"], opt["budget"]
        why_solver = opt["statement"]
    else:
        solver = "qapflow.auto" if ctx.problem.problem_type == "qap" else None
        budget = None
        why_solver = f"the Optimizer is missing, so the default ({solver or 'MetaFlow selection'})"
    default_budget = ctx.max_budget if ctx.max_budget is not None else 10.0
    rule = None
    certify = (val or {}).get("certification_budget")
    if budget is None:
        budget = default_budget
        rule = f"no knee (no history): the budget is {'the given limit' if ctx.max_budget else 'the default'}"
    if certify and certify["budget"] > budget:
        if certify["budget"] <= CERTIFY_FACTOR * budget and (ctx.max_budget is None
                                                              or certify["budget"] <= ctx.max_budget):
            rule = (f"the Validator asks for {certify['budget']:.3g} s to reach the reference (median of "
                    f"{certify['reached']}/{certify['runs']} similar runs of {certify['solver']}), more than the "
                    f"Optimizer's budget {budget:g} s; it costs at most {CERTIFY_FACTOR:g} times that, so the "
                    f"Validator wins")
            budget = float(certify["budget"])
        else:
            rule = (f"the Validator asks for {certify['budget']:.3g} s to reach the reference, more than "
                    f"{CERTIFY_FACTOR:g} times the Optimizer's budget {budget:g} s (or the limit): the Optimizer's "
                    f"budget wins, and the plan reports the bound gap instead of a certificate")
    if (val or {}).get("exact_reachable") and solver != EXACT_SOLVERS.get(ctx.problem.problem_type, solver):
        exact = EXACT_SOLVERS[ctx.problem.problem_type]
        rule = (f"the Validator says an exact solve can prove the optimum here ({val['certify']}): {exact} for "
                f"{default_budget:g} s instead of {solver} (it stops as soon as it has the proof)")
        solver, budget = exact, max(float(budget), default_budget)
    seeds = (val or {}).get("seeds") or None
    history = ctx.history()
    feats = (ana or {}).get("features") or ctx.features()
    mattered = attributions(history, ctx.problem.problem_type, feats, seed=ATTRIBUTION_SEED)
    names = [n["name"] for n in (ana or {}).get("neighbours", [])]
    explanation = [why_solver]
    if mattered:
        explanation.append("features that separate the winners in the history: " + ", ".join(
            f"{m['feature']} (importance {m['importance']:.2f}; here "
            + (f"{m['value']:.3g})" if isinstance(m["value"], (int, float)) else "not computed)")  # older history
            for m in mattered))
    if names:
        explanation.append("nearest known instances: " + ", ".join(names))
    if rule:
        explanation.append(rule)
    plan = {"solver": solver, "budget": float(budget), "seeds": 1,
            "compare_seeds": None if seeds is None else seeds.get("seeds"),
            "report": ["objective", "gap to the lower bound" if val and val.get("lower_bound") is not None
                       else "objective only (no bound)", "status", "the checks of the Validator"],
            "rule": rule, "explanation": explanation, "attributions": mattered, "missing": missing}
    ctx.board.post(ctx.topic, "Synthesizer", "decision", plan,
                   evidence=[f"post:{p.id}" for p in ctx.board.posts(ctx.topic) if p.author in AGENTS])
    return plan


def verify(problem: Any, result: Any, lower_bound: float | None) -> dict[str, Any]:
    """The Validator's checks on a result: feasibility, the objective recomputed, bound <= objective."""
    checks: dict[str, Any] = {"has_solution": result.objective is not None}
    if problem.problem_type == "qap" and result.objective is not None:
        p = np.asarray(result.solution)
        checks["feasible"] = bool(p.shape == (problem.n,) and np.array_equal(np.sort(p), np.arange(problem.n)))
        recomputed = float(objective(problem.A, problem.B, p)) if checks["feasible"] else None
        checks["objective_recomputed"] = recomputed
        checks["objective_matches"] = recomputed is not None and math.isclose(recomputed, float(result.objective),
                                                                              rel_tol=1e-9, abs_tol=1e-6)
        if lower_bound is not None:
            checks["bound_below_objective"] = lower_bound <= float(result.objective) + 1e-6
    checks["passed"] = all(v for k, v in checks.items() if isinstance(v, bool))
    return checks


def _max_budget(time_limit: Any) -> float | None:
    """The cap on the plan's budget: None for none (None or infinite), else positive seconds
    (:func:`mezan.running.time_limit_seconds`'s checks and messages)."""
    if time_limit is None:
        return None
    seconds = time_limit_seconds(time_limit)
    return None if math.isinf(seconds) else seconds


def _result(task: Any, stop: Any) -> Any:
    """A task's result, waited for in steps so that a stop set meanwhile ends the wait at once."""
    while not task.wait(STOP_POLL):
        check_stop(stop)
    return task.result()


def _run_agents(ex: Any, ctx: Context, agents: dict[str, Any]) -> tuple[dict[str, Any], dict[str, str], Any]:
    """The three agents in parallel, then the Synthesizer: (their parts, their failures, the plan)."""
    parts: dict[str, dict[str, Any]] = {}
    failures: dict[str, str] = {}
    tasks = {name: ex.submit(fn, ctx) for name, fn in agents.items()}
    for name, task in tasks.items():
        try:
            parts[name] = _result(task, ctx.stop)
        except AnalysisStopped:
            raise
        except Exception as exc:  # an agent's defect: named in the synthesis, never silent
            failures[name] = f"{type(exc).__name__}: {exc}"
            ctx.board.post(ctx.topic, name, "critique", {"failed": failures[name],
                                                         "traceback": traceback.format_exc(limit=3)})
    ctx.check()
    return parts, failures, _result(ex.submit(synthesizer, ctx, parts, failures), ctx.stop)


def deepthink(problem: Any, *, store: Store | None = None, candidates: list[str] | None = None,
              time_limit: float | None = None, threshold: float = DEFAULT_THRESHOLD, run: bool = False,
              seed: int = 0, executor: Any = None, topic: str | None = None, stop: Any = None) -> dict[str, Any]:
    """Analyse a problem with the DeepThink agents and plan its solve; optionally run the plan.

    The Analyzer, Optimizer and Validator run in parallel on local threads, then the Synthesizer turns their
    findings into one plan (solver, budget, seeds, what to report); every finding is posted on the blackboard
    under ``topic`` (see :mod:`mezan.agents.deepthink`).

    Parameters
    ----------
    problem : object
        A problem record (:class:`mezan.problems.QAPProblem`, ...).
    store : mezan.store.Store, optional
        The store holding the history (OptiBench's recorded runs) and the blackboard (default: the user's
        store).
    candidates : list of str, optional
        The registered solvers to choose among (default: those the similar instances' history holds, and
        MetaFlow's selection).
    time_limit : float or None, optional
        A cap on the plan's budget, in seconds (None or ``inf``: none).
    threshold : float, default DEFAULT_THRESHOLD
        The knee's threshold: more time is not worth it once a step of the budget buys less than this much gap
        (:data:`DEFAULT_THRESHOLD`: 0.001, a tenth of a point); > 0.
    run : bool, default False
        Also execute the plan and verify its result.
    seed : int, default 0
        The seed of MetaFlow's selection, of the Validator's quick incumbent and of the run.
    executor : LocalExecutor, optional
        Where the agents run: a :class:`mezan.dist.LocalExecutor` of threads (they share this process's store
        and blackboard); default: one of three threads.
    topic : str, optional
        The blackboard topic (default: ``deepthink:<fingerprint>:<time>``).
    stop : threading.Event, optional
        Anything with ``is_set()``: once set, the analysis ends between two of the agents' steps with
        :class:`AnalysisStopped`, and the run ends early.

    Returns
    -------
    dict
        ``topic``, ``plan`` (the Synthesizer's), ``analyzer``, ``optimizer`` and ``validator`` (each agent's
        findings, None when it failed), ``failures`` (agent -> error) and, with ``run=True``, ``result``: the
        solver, objective, status, wall time, seed, the Validator's ``checks`` and the ``bound_gap``.

    Raises
    ------
    InvalidParameterError
        When ``time_limit`` is not a positive number of seconds, ``threshold`` is not > 0, or ``executor`` is not
        a thread :class:`mezan.dist.LocalExecutor`.
    AnalysisStopped
        When ``stop`` is set during the analysis.
    """
    max_budget = _max_budget(time_limit)
    if real_number("threshold", threshold) <= 0:
        raise InvalidParameterError(f"threshold must be > 0, got {threshold}")
    store = store if store is not None else Store()
    board = Blackboard(store)
    topic = topic or f"deepthink:{problem.fingerprint()[:16]}:{time.time():.3f}"
    ctx = Context(problem, store, board, topic, candidates, max_budget, threshold, seed, stop)
    agents = {"Analyzer": analyzer, "Optimizer": optimizer, "Validator": validator}
    if executor is not None and not (isinstance(executor, LocalExecutor) and not executor.processes):
        raise InvalidParameterError("executor: DeepThink's agents share this process's store and blackboard, so they "
                                    "run on local threads (a mezan.dist.LocalExecutor without processes)")
    own = LocalExecutor(len(agents)) if executor is None else None
    try:
        with executor_from(own or executor) as ex:
            parts, failures, plan = _run_agents(ex, ctx, agents)
    finally:
        if own is not None:
            own.close()  # the agents see the stop at their next step: a stopped analysis ends here soon too
    out = {"topic": topic, "plan": plan, **{name.lower(): parts.get(name) for name in agents}, "failures": failures}
    if run and plan["solver"] is not None:
        check_stop(stop)
        result = registry.get(plan["solver"]).solve(problem, time_limit=plan["budget"], seed=seed, stop=stop)
        bound = (parts.get("Validator") or {}).get("lower_bound")
        checks = verify(problem, result, bound)
        record = {"solver": plan["solver"], "objective": result.objective, "solution": to_plain(result.solution),
                  "status": str(result.status),
                  "wall_time": result.wall_time, "seed": seed, "checks": checks,
                  "bound_gap": None if bound is None or result.objective is None else
                  (float(result.objective) - bound) / max(abs(float(result.objective)), 1e-12)}
        board.post(topic, "Synthesizer", "artifact", record)
        out["result"] = record
    return out


__all__ = ["AGENTS", "ATTRIBUTION_SEED", "BUDGETS", "CERTIFY_FACTOR", "DEFAULT_THRESHOLD", "AnalysisStopped",
           "attributions", "check_stop", "deepthink", "knee", "permutation_importance", "verify"]
