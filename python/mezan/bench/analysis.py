"""OptiBench statistics: which solver is better on an experiment's instances, by how much, and is it real.

Measures. A run's *gap* is ``(loss - reference) / |reference|`` where the reference is the instance's best-known
value when it has one, else the best objective any run of the experiment found on it (the report says which);
``loss`` is the objective (negated for a maximisation). A run *reaches the target* when its gap is at most
``target_gap`` (default 0: the reference itself); its *time to target* is the first time its anytime trace got
there (infinite when it never did). A run without a solution has an infinite gap (worst in every ranking, left out
of means and counted as failed).

Tests (scipy.stats, scikit-posthocs, statsmodels; Demšar, JMLR 7, 2006):
- per solver: mean and median gap with bootstrap (BCa) confidence intervals, success rate, median time to target;
- all solvers on the same instances (the per-instance mean gap over seeds is one block): the Friedman test
  (scipy's, corrected for ties; Demšar's uncorrected form beside it) with the Iman–Davenport F (from the
  uncorrected form, as in Demšar), average ranks, Nemenyi's critical difference and pairwise Nemenyi p-values;
- every pair: the Wilcoxon signed-rank test on the per-instance means (zero differences split between the signs,
  as in Demšar), Holm-corrected over the pairs, and the Vargha–Delaney A12 effect size over all runs;
- instances where every solver has the same value (e.g. all reached the best known) carry no evidence: they are
  counted and reported, and when every instance is such a tie the verdict says so instead of testing;
- Dolan–Moré performance profiles of the time to target and its empirical distribution per solver; anytime
  curves (median and quartiles of the gap over time).
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.bench.registry import Registry
from mezan.errors import InvalidParameterError
from mezan.problems import sense_of

A12_LABELS = ((0.56, "negligible"), (0.64, "small"), (0.71, "medium"), (1.01, "large"))


@dataclass
class Data:
    """An experiment's runs arranged for the statistics."""

    experiment: str
    name: str
    problem_type: str
    budget: float
    target_gap: float
    instances: list[str]  # problem ids, in registry order
    names: dict[str, str]
    families: dict[str, str]
    reference: dict[str, tuple[float, str]]  # problem id -> (reference loss, "best known" | "best found")
    solvers: list[str]
    gaps: dict[tuple[str, str], list[float]]  # (problem id, solver) -> gap per run (inf when no solution)
    times: dict[tuple[str, str], list[float]]  # time to target per run (inf when never reached)
    traces: dict[tuple[str, str], list[list[tuple[float, float]]]]  # gap traces per run
    environments: list[str] = field(default_factory=list)

    @property
    def runs(self) -> int:
        return sum(len(v) for v in self.gaps.values())


def family_of(row: dict[str, Any]) -> str:
    """A generated instance's generator; a QAPLIB or custom one's name prefix (``tai12a`` -> ``tai``)."""
    if row.get("generator"):
        return row["generator"].split(":")[0]
    match = re.match(r"[A-Za-z_]+", row["name"] or "")
    return match.group(0).rstrip("_") if match else "other"


def load(registry: Registry, experiment: str, *, target_gap: float = 0.0) -> Data:
    """Load an experiment's runs, arranged for the statistics.

    Each run's gap is measured against its instance's reference: the best-known value when there is one, else
    the best objective any run of the experiment found (see :mod:`mezan.bench.analysis`).

    Parameters
    ----------
    registry : Registry
        The OptiBench registry holding the experiment.
    experiment : str
        The experiment's id or name.
    target_gap : float, default 0.0
        The gap at which a run reaches the target (0: the reference itself); must be >= 0.

    Returns
    -------
    Data
        The experiment's instances, solvers, references, and per (instance, solver) the gaps, times to target and
        gap traces of its runs.

    Raises
    ------
    InvalidParameterError
        When ``target_gap`` is negative, or there is no such experiment or it has no runs.
    """
    from mezan.meta.ratings import loss  # the meta extra

    if not (isinstance(target_gap, (int, float)) and target_gap >= 0):
        raise InvalidParameterError(f"--target-gap must be >= 0, got {target_gap}")
    exp = registry.experiment(experiment)
    runs = registry.runs(exp.id)
    if not runs:
        raise InvalidParameterError(f"experiment {exp.name!r} has no runs: nothing to analyse")
    rows = {pid: registry.instance(pid) for pid in dict.fromkeys(r["problem_id"] for r in runs)}
    problem_type = next(iter(rows.values()))["problem_type"]
    sense = sense_of(problem_type)
    reference: dict[str, tuple[float, str]] = {}
    for pid, row in rows.items():
        found = [loss(r["objective"], sense) for r in runs if r["problem_id"] == pid and r["objective"] is not None]
        if row["best_known"] is not None:
            reference[pid] = (loss(row["best_known"], sense), "best known")
        elif found:
            reference[pid] = (min(found), "best found")
    present = set(r["solver"] for r in runs)  # the design's order (runs are recorded in completion order)
    solvers = [s for s in exp.design.get("solvers", []) if s in present]
    solvers += sorted(present - set(solvers))
    gaps: dict[tuple[str, str], list[float]] = {}
    times: dict[tuple[str, str], list[float]] = {}
    traces: dict[tuple[str, str], list[list[tuple[float, float]]]] = {}

    def gap_of(value: float, ref: float) -> float:
        return max(0.0, (value - ref) / max(abs(ref), 1e-12)) if value != ref else 0.0

    for r in sorted(runs, key=lambda r: (r["problem_id"], r["solver"], r["replicate"])):
        key = (r["problem_id"], r["solver"])
        ref = reference.get(r["problem_id"])
        if r["objective"] is None or ref is None:
            gaps.setdefault(key, []).append(math.inf)
            times.setdefault(key, []).append(math.inf)
            traces.setdefault(key, []).append([])
            continue
        gaps.setdefault(key, []).append(gap_of(loss(r["objective"], sense), ref[0]))
        trace = [(float(t), gap_of(loss(v, sense), ref[0])) for t, v in r["trace"]]
        if not trace:
            trace = [(float(r["wall_time"] or 0.0), gaps[key][-1])]
        traces.setdefault(key, []).append(trace)
        reached = [t for t, g in trace if g <= target_gap + 1e-12]
        times.setdefault(key, []).append(reached[0] if reached else math.inf)
    return Data(exp.id, exp.name, problem_type, float(exp.design.get("time", 0.0)), float(target_gap), list(rows),
                {pid: row["name"] for pid, row in rows.items()}, {pid: family_of(row) for pid, row in rows.items()},
                reference, solvers, gaps, times, traces, sorted({r["env_id"] for r in runs}))


# ---- small statistics ------------------------------------------------------------------------------------
def bootstrap_interval(values: np.ndarray, statistic: Any = np.mean, *, confidence: float = 0.95,
                       resamples: int = 2000, seed: int = 0) -> tuple[float, float]:
    """A BCa bootstrap interval (scipy.stats.bootstrap); a constant sample's interval is the point itself."""
    from scipy import stats  # on first use: ~1 s of start-up that every `mezan bench` command would pay

    values = np.asarray(values, dtype=float)
    values = values[np.isfinite(values)]
    if values.size == 0:
        return (math.nan, math.nan)
    if values.size == 1 or np.all(values == values[0]):
        point = float(statistic(values))
        return (point, point)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BCa on a near-degenerate sample warns and may return NaN: fall back
        result = stats.bootstrap((values,), statistic, confidence_level=confidence, n_resamples=resamples,
                                 method="BCa", random_state=np.random.default_rng(seed))
        low, high = result.confidence_interval
        if not (math.isfinite(low) and math.isfinite(high)):
            result = stats.bootstrap((values,), statistic, confidence_level=confidence, n_resamples=resamples,
                                     method="percentile", random_state=np.random.default_rng(seed))
            low, high = result.confidence_interval
    return (float(low), float(high))


def a12(x: Any, y: Any) -> float:
    """Vargha–Delaney A12 for losses: the probability that a run of ``x`` is better (lower) than one of ``y``,
    ties counting half. 0.5: no effect."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size == 0 or y.size == 0:
        return math.nan
    less = (x[:, None] < y[None, :]).sum()
    equal = (x[:, None] == y[None, :]).sum()
    return float((less + 0.5 * equal) / (x.size * y.size))


def a12_magnitude(value: float) -> str:
    distance = max(value, 1 - value)
    return next(label for limit, label in A12_LABELS if distance < limit)


def critical_difference(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference of average ranks: q_alpha sqrt(k (k + 1) / (6 N)), q_alpha the studentized
    range quantile over sqrt 2 (Demšar 2006, eq. in section 3.2.2)."""
    from scipy import stats  # on first use: ~1 s of start-up that every `mezan bench` command would pay

    q = stats.studentized_range.ppf(1 - alpha, k, np.inf) / math.sqrt(2)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def friedman(matrix: np.ndarray, alpha: float = 0.05) -> dict[str, Any]:
    """Friedman's test on an (instances x solvers) matrix of losses: the statistic, its p-value, the Iman–Davenport
    F and p-value, the average ranks (1 = best), Nemenyi's critical difference and pairwise p-values."""
    from scipy import stats  # on first use: ~1 s of start-up that every `mezan bench` command would pay

    n, k = matrix.shape
    ranks = np.vstack([stats.rankdata(row) for row in matrix])
    average = ranks.mean(axis=0)
    out: dict[str, Any] = {"instances": n, "solvers": k, "average_ranks": average.tolist(),
                           "critical_difference": critical_difference(k, n, alpha) if n >= 1 and k >= 2 else None}
    informative = ~np.all(matrix == matrix[:, :1], axis=1)
    out["tied_instances"] = int((~informative).sum())
    if k < 3 or n < 2:
        out.update(statistic=None, p_value=None, verdict=f"Friedman needs 3 or more solvers and 2 or more instances "
                                                         f"(here {k} and {n}): see the pairwise tests")
        return out
    if not informative.any():
        out.update(statistic=0.0, p_value=1.0, iman_davenport=None, iman_davenport_p=None, nemenyi=None,
                   verdict="every solver had the same result on every instance: no evidence either way")
        return out
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        statistic, p_value = stats.friedmanchisquare(*matrix.T)
    statistic, p_value = float(statistic), float(p_value)
    # Demšar's form from the average ranks, without scipy's correction for ties (his worked example's 9.28)
    plain = 12.0 * n / (k * (k + 1)) * (float(np.sum(average ** 2)) - k * (k + 1) ** 2 / 4.0)
    denominator = n * (k - 1) - plain
    f_value = (n - 1) * plain / denominator if denominator > 0 else math.inf
    f_p = float(stats.f.sf(f_value, k - 1, (k - 1) * (n - 1))) if math.isfinite(f_value) else 0.0

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import scikit_posthocs  # start-up time: it loads pandas and matplotlib (about 3 s); only this test needs it

        nemenyi = scikit_posthocs.posthoc_nemenyi_friedman(matrix).to_numpy().tolist()
    out.update(statistic=statistic, p_value=p_value, statistic_without_tie_correction=plain,
               iman_davenport=float(f_value), iman_davenport_p=f_p,
               nemenyi=nemenyi,
               verdict=f"the solvers differ (Friedman p = {p_value:.3g} < {alpha:g})" if p_value < alpha else
               f"no significant difference among the solvers (Friedman p = {p_value:.3g} >= {alpha:g})")
    return out


def wilcoxon(x: Any, y: Any) -> dict[str, Any]:
    """The Wilcoxon signed-rank test of paired losses (zero differences split between the signs): R+, R-, the
    statistic min(R+, R-) and the two-sided p-value; all-zero differences are a tie, not a test."""
    from scipy import stats  # on first use: ~1 s of start-up that every `mezan bench` command would pay

    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    d = x - y
    if np.all(d == 0):
        return {"r_plus": 0.0, "r_minus": 0.0, "statistic": None, "p_value": 1.0, "ties": int(d.size),
                "tie": True}
    ranks = stats.rankdata(np.abs(d))
    zero = ranks[d == 0].sum()
    r_plus = float(ranks[d > 0].sum() + zero / 2)
    r_minus = float(ranks[d < 0].sum() + zero / 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = stats.wilcoxon(x, y, zero_method="zsplit")
    return {"r_plus": r_plus, "r_minus": r_minus, "statistic": float(result.statistic),
            "p_value": float(result.pvalue), "ties": int((d == 0).sum()), "tie": False}


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjustment (statsmodels.stats.multitest)."""
    if not p_values:
        return []

    from statsmodels.stats.multitest import multipletests  # start-up time: statsmodels loads pandas

    return [float(p) for p in multipletests(p_values, method="holm")[1]]


def _finite(matrix: np.ndarray) -> np.ndarray:
    """Infinite losses (no solution) become worse than every finite one, so ranks stay right and tests run."""
    finite = matrix[np.isfinite(matrix)]
    worst = (float(finite.max()) if finite.size else 0.0) * 10 + 1.0
    return np.where(np.isfinite(matrix), matrix, worst)


def performance_profile(costs: np.ndarray, taus: np.ndarray) -> np.ndarray:
    """Dolan–Moré: for a (problems x solvers) cost matrix (inf = failed), the fraction of problems on which each
    solver is within a factor tau of the best, for every tau; problems no solver solved count as failures."""
    best = np.min(costs, axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(np.isfinite(costs), costs / np.maximum(best, 1e-9), np.inf)
    return np.array([[float(np.mean(ratio[:, s] <= tau)) for s in range(costs.shape[1])] for tau in taus])


def anytime(data: Data, solver: str, grid: np.ndarray) -> dict[str, list[float | None]]:
    """Median and quartiles over the solver's runs of the gap reached by each time of ``grid`` (runs without a
    point yet are left out at that time)."""
    out: dict[str, list[float | None]] = {"q1": [], "median": [], "q3": []}
    traces = [t for pid in data.instances for t in data.traces.get((pid, solver), [])]
    for t in grid:
        values = []
        for trace in traces:
            seen = [g for time, g in trace if time <= t]
            if seen:
                values.append(seen[-1])
        for name, q in (("q1", 25), ("median", 50), ("q3", 75)):
            out[name].append(float(np.percentile(values, q)) if values else None)
    return out


# ---- the analysis ----------------------------------------------------------------------------------------
def analyze(data: Data, *, alpha: float = 0.05, confidence: float = 0.95, resamples: int = 2000,
            seed: int = 0) -> dict[str, Any]:
    """Analyse an experiment: which solver is better on its instances, by how much, and whether it is real.

    Per solver: mean and median gap with bootstrap confidence intervals, success rate and median time to target;
    all solvers: the Friedman test with the Iman–Davenport F, average ranks and Nemenyi's critical difference;
    every pair: the Wilcoxon signed-rank test with Holm's correction and the Vargha–Delaney A12; and performance
    profiles, anytime curves and per-family means (see :mod:`mezan.bench.analysis`).

    Parameters
    ----------
    data : Data
        An experiment's runs, from :func:`load`.
    alpha : float, default 0.05
        The significance level of the tests, in (0, 1).
    confidence : float, default 0.95
        The confidence level of the bootstrap intervals.
    resamples : int, default 2000
        Bootstrap resamples per interval.
    seed : int, default 0
        The bootstrap's random seed.

    Returns
    -------
    dict
        JSON-ready: ``experiment``, ``name``, ``problem_type``, ``runs``, ``instances``, ``budget``,
        ``target_gap``, ``alpha``, ``confidence``, ``references`` (how many of each kind), ``solvers`` (per solver
        statistics), ``friedman``, ``pairwise`` (one entry per pair, with its verdict), ``profile``,
        ``time_to_target_ecdf``, ``anytime``, ``families`` and ``environments``.

    Raises
    ------
    InvalidParameterError
        When ``alpha`` is not in (0, 1), or a solver has no run on an instance (an unfinished experiment).
    """
    if not 0 < alpha < 1:
        raise InvalidParameterError(f"--alpha must be in (0, 1), got {alpha}")
    solvers, instances = data.solvers, data.instances
    missing = [(data.names[p], s) for p in instances for s in solvers if (p, s) not in data.gaps]
    if missing:
        raise InvalidParameterError(f"the experiment is incomplete: {missing[0][1]} has no run on {missing[0][0]} "
                                    f"({len(missing)} (instance, solver) pairs missing); run it again to finish it")
    per_solver = {s: _solver_summary(data, s, confidence, resamples, seed) for s in solvers}
    matrix = _finite(np.array([[np.mean(data.gaps[(p, s)]) if np.all(np.isfinite(data.gaps[(p, s)])) else np.inf
                                for s in solvers] for p in instances]))
    test = friedman(matrix, alpha) if len(solvers) >= 2 else {"statistic": None, "p_value": None,
                                                               "verdict": "one solver: nothing to compare"}
    if len(solvers) >= 2 and all(per_solver[s]["success_rate"] == 1.0 for s in solvers):
        test["verdict"] = ("every solver reached the target on every run: the experiment cannot tell them apart "
                           "(a harder instance set or a shorter budget would)")
    pairs = _pairwise(data, matrix, alpha)
    taus, profile = _time_to_target_profile(data)
    grid = _time_grid(data)
    ecdf = {s: [float(np.mean(np.array([t for p in instances for t in data.times[(p, s)]]) <= t)) for t in grid]
            for s in solvers}
    return {
        "experiment": data.experiment, "name": data.name, "problem_type": data.problem_type, "runs": data.runs,
        "instances": len(instances), "budget": data.budget, "target_gap": data.target_gap, "alpha": alpha,
        "confidence": confidence,
        "references": {"best known": sum(1 for v in data.reference.values() if v[1] == "best known"),
                       "best found": sum(1 for v in data.reference.values() if v[1] == "best found")},
        "solvers": per_solver, "friedman": test, "pairwise": pairs,
        "profile": {"metric": "time to target", "tau": taus.tolist(),
                    "rho": {s: profile[:, j].tolist() for j, s in enumerate(solvers)}},
        "time_to_target_ecdf": {"time": grid.tolist(), "fraction": ecdf},
        "anytime": {"time": grid.tolist(), **{s: anytime(data, s, grid) for s in solvers}},
        "families": _family_means(data), "environments": data.environments,
    }


def _solver_summary(data: Data, s: str, confidence: float, resamples: int, seed: int) -> dict[str, Any]:
    """One solver's runs over the instances: gaps (mean and median with bootstrap intervals), failures, success
    rate and the median time to target."""
    gaps = np.array([g for p in data.instances for g in data.gaps[(p, s)]])
    times = np.array([t for p in data.instances for t in data.times[(p, s)]])
    finite = gaps[np.isfinite(gaps)]
    reached = times[np.isfinite(times)]
    return {
        "runs": int(gaps.size), "failed": int((~np.isfinite(gaps)).sum()),
        "mean_gap": float(finite.mean()) if finite.size else None,
        "mean_gap_ci": list(bootstrap_interval(finite, np.mean, confidence=confidence, resamples=resamples,
                                               seed=seed)),
        "median_gap": float(np.median(finite)) if finite.size else None,
        "median_gap_ci": list(bootstrap_interval(finite, np.median, confidence=confidence, resamples=resamples,
                                                 seed=seed)),
        "success_rate": float(np.mean(gaps <= data.target_gap + 1e-12)),
        "time_to_target_median": float(np.median(reached)) if reached.size else None,
        "reached": int(reached.size),
    }


def _pairwise(data: Data, matrix: np.ndarray, alpha: float) -> list[dict[str, Any]]:
    """Every pair of solvers: Wilcoxon on the per-instance mean gaps (``matrix``: instances x solvers), Holm's
    adjustment over the pairs, A12 on the runs, and a verdict."""
    solvers, instances = data.solvers, data.instances
    pairs, raw = [], []
    for i, a in enumerate(solvers):
        for b in solvers[i + 1:]:
            w = wilcoxon(matrix[:, i], matrix[:, solvers.index(b)])
            runs_a = np.array([g for p in instances for g in data.gaps[(p, a)]])
            runs_b = np.array([g for p in instances for g in data.gaps[(p, b)]])
            effect = a12(_finite(runs_a), _finite(runs_b)) if runs_a.size and runs_b.size else math.nan
            pairs.append({"a": a, "b": b, **w, "a12": effect, "a12_magnitude": a12_magnitude(effect)})
            raw.append(w["p_value"])
    for pair, adjusted in zip(pairs, holm(raw), strict=True):
        pair["p_holm"] = adjusted
        better = pair["a"] if pair["r_minus"] > pair["r_plus"] else pair["b"]  # d = a - b: r_minus large -> a lower
        if pair["tie"]:
            pair["verdict"] = "identical on every instance: no evidence either way"
        elif len(instances) < 6:
            pair["verdict"] = (f"{len(instances)} instances are too few for the Wilcoxon test at alpha {alpha} "
                               f"(it needs 6 or more)")
        elif adjusted < alpha:
            effect = pair["a12"] if better == pair["a"] else 1 - pair["a12"]
            pair["verdict"] = (f"{better} is better (Wilcoxon p = {pair['p_value']:.3g}, Holm {adjusted:.3g}; "
                               f"A12 = {effect:.2f} for {better}, {pair['a12_magnitude']})")
        else:
            pair["verdict"] = f"no significant difference (Holm-adjusted p = {adjusted:.3g} >= {alpha})"
    return pairs


def _time_to_target_profile(data: Data) -> tuple[np.ndarray, np.ndarray]:
    """Performance profiles of the time to target, one problem per (instance, replicate): the ratios tau and,
    per tau and solver, the share of problems within tau of the fastest."""
    costs = []
    for p in data.instances:
        for rep in range(min(len(data.times[(p, s)]) for s in data.solvers)):
            costs.append([data.times[(p, s)][rep] for s in data.solvers])
    costs_arr = np.array(costs, dtype=float)
    finite_ratio = costs_arr[np.isfinite(costs_arr)]
    top = float(np.max(finite_ratio / max(np.min(finite_ratio), 1e-9))) if finite_ratio.size else 1.0
    taus = np.unique(np.geomspace(1.0, max(2.0, min(top * 1.05, 1e6)), 40))
    return taus, performance_profile(costs_arr, taus)


def _time_grid(data: Data) -> np.ndarray:
    """40 log-spaced times up to the budget or the longest time to target, for the ECDF and anytime curves."""
    horizon = max(data.budget, max((t for s in data.solvers for p in data.instances for t in data.times[(p, s)]
                                    if math.isfinite(t)), default=0.0), 1e-3)
    return np.geomspace(min(1e-3, horizon / 100), horizon, 40)


def _family_means(data: Data) -> dict[str, dict[str, Any]]:
    """Per instance family: how many instances, and each solver's mean finite gap over their runs."""
    families: dict[str, dict[str, Any]] = {}
    for family in sorted(set(data.families.values())):
        ids = [p for p in data.instances if data.families[p] == family]
        families[family] = {"instances": len(ids), "mean_gap": {
            s: (float(np.mean(v)) if (v := [g for p in ids for g in data.gaps[(p, s)] if math.isfinite(g)])
                else None) for s in data.solvers}}
    return families


__all__ = ["Data", "a12", "a12_magnitude", "analyze", "anytime", "bootstrap_interval", "critical_difference",
           "family_of", "friedman", "holm", "load", "performance_profile", "wilcoxon"]
