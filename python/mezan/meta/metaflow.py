"""MetaFlow: learn which solver works for which instance, online and offline, and keep it in the store.

Every solve is recorded (features, solver, budget, objective, bound, time, seed, version, machine).
Online selection is a bandit per instance cluster (:mod:`mezan.meta.policies`) over the rewards of
:mod:`mezan.meta.reward`; offline, :meth:`MetaFlow.train` fits the clustering and a per-instance
selector (:mod:`mezan.meta.model`) used by the ``"model"`` policy — and, once trained, by QAPFlow's
``auto`` and ``instance_adaptive`` modes. Races (several solvers, one instance, one budget) feed Elo
ratings, global and per cluster (:mod:`mezan.meta.elo`); :meth:`MetaFlow.tournament` schedules races
Swiss-style. Every recorded solve is also a game between the solver and the instance on the same Elo
scale (:mod:`mezan.meta.ratings`), so solvers are rated after every solve and instances get a difficulty
(:meth:`MetaFlow.difficulty`). Ratings are a cache of the history: after a re-clustering they are
rebuilt by replaying it in order.

Recording (:meth:`MetaFlow.record`) only appends a row and plays that solve's game. Re-clustering,
rating rebuilds and training are explicit steps: :meth:`MetaFlow.refresh` re-clusters when the history
has doubled (``mezan.solve`` and races call it after recording), :meth:`MetaFlow.fit_clusters`,
:meth:`MetaFlow.rebuild_ratings` and :meth:`MetaFlow.train` run on request (``mezan meta recluster``,
``mezan meta rebuild-ratings``, ``mezan meta train``).

This class is the facade that holds the store, the policy and its randomness; the work is done by modules with one
job each: :mod:`mezan.meta.history` (the history as evidence: rewards, bandit arms, instances, cluster labels),
:mod:`mezan.meta.policies` (the online choice), :mod:`mezan.meta.training` (offline fits, stored as artifacts),
:mod:`mezan.meta.ratings` and :mod:`mezan.meta.elo` (games and their replay), :mod:`mezan.meta.races` (races and
tournaments) and :mod:`mezan.meta.memory` (the best solution per problem).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from mezan import registry
from mezan.errors import InvalidParameterError
from mezan.meta import elo, history, memory, races, tallies, training
from mezan.meta import ratings as rating_games
from mezan.meta.features import FEATURE_COST, feature_names, features, problem_type, sense_of, vector
from mezan.meta.model import Clustering, Selector
from mezan.meta.policies import BANDITS, POLICIES, Arm, choose
from mezan.meta.races import RaceResult, TournamentResult
from mezan.meta.reward import DEFAULT_GAP_SCALE, reference, reward
from mezan.meta.training import PerInstanceSelector, TrainReport
from mezan.results import Result
from mezan.running import check_seed
from mezan.store import Store, StoredDataError

QAP_CANDIDATES = ("qap.rots", "qap.anneal", "qapflow.fft", "qapflow.enhanced")
"""The QAP portfolio MetaFlow chooses among by default: one solver of each kind — robust tabu search
(``qap.rots``), simulated annealing (``qap.anneal``), relaxation first (``qapflow.fft``: Frank–Wolfe
on the relaxation, by FFT products where a matrix is structured, then RoTS) and evolutionary
(``qapflow.enhanced``: memetic). The other concrete modes (hybrid, nesterov, aggressive) end in the
same RoTS as these and measured within seed noise of them at a 1 s budget, so they would add arms
to explore and luck to the virtual best solver, not skill (bench/metaflow_eval.py); they stay
selectable by name. ``qap.bnb`` joins for n <= 15, where it proves optimality."""

DIFFICULTY_SAMPLE = 256
"""The most rated instances a difficulty prediction compares a new instance with (fingerprints are hashes, so the
first ones in name order are a sample of them all)."""


def global_scope(kind: str) -> str:
    """The rating scope of every race of one problem type (``qap:global``)."""
    return f"{kind}:global"


def cluster_scope(kind: str, cluster: int) -> str:
    """The rating scope of one cluster of one problem type (``qap:cluster:3``): clusters are per type."""
    return f"{kind}:cluster:{cluster}"


def _typed_scope(scope: str) -> bool:
    """A scope of this version (``<type>:global``, ``<type>:cluster:<k>``); older stores held ``global`` and
    ``cluster:<k>`` for every type at once."""
    head, _, rest = scope.partition(":")
    return bool(rest) and head != "cluster"


class MetaFlow:
    """Solver selection that learns from every solve.

    Parameters
    ----------
    store : Store, path or None
        The embedded store (default: ``$MEZAN_HOME/mezan.db``); ``":memory:"`` for a throwaway one.
    policy : {"thompson", "ucb", "greedy", "random", "model"}
        How :meth:`select` chooses; "model" needs :meth:`train` (until then it falls back to Thompson).
    seed : int or None
        Seeds the policies' randomness and the clustering: selection is deterministic for a seed.
    exploration : float
        UCB1's constant c (default sqrt(2)).
    thompson : {"beta", "gaussian"}
        Thompson sampling's posterior.
    k_factor, initial_rating : float
        Elo parameters (defaults 32 and 1500).
    gap_scale, time_weight : float
        Reward parameters (:mod:`mezan.meta.reward`).
    """

    def __init__(self, store: Store | str | None = None, policy: str = "thompson", seed: int | None = None, *,
                 exploration: float = math.sqrt(2), thompson: str = "beta", k_factor: float = elo.DEFAULT_K,
                 initial_rating: float = elo.DEFAULT_RATING, gap_scale: float = DEFAULT_GAP_SCALE,
                 time_weight: float = 0.0) -> None:
        if policy not in POLICIES:
            raise InvalidParameterError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")
        if not exploration >= 0:
            raise InvalidParameterError(f"exploration must be >= 0, got {exploration!r}")
        if thompson not in ("beta", "gaussian"):
            raise InvalidParameterError(f"thompson must be 'beta' or 'gaussian', got {thompson!r}")
        if not k_factor > 0:
            raise InvalidParameterError(f"k_factor must be > 0, got {k_factor!r}")
        if not gap_scale > 0:
            raise InvalidParameterError(f"gap_scale must be > 0, got {gap_scale!r}")
        if not 0 <= time_weight <= 1:
            raise InvalidParameterError(f"time_weight must lie in [0, 1], got {time_weight!r}")
        check_seed(seed)
        self.store = store if isinstance(store, Store) else Store(store)
        self.policy, self.seed = policy, seed
        self.exploration, self.thompson = exploration, thompson
        self.k_factor, self.initial_rating = k_factor, initial_rating
        self.gap_scale, self.time_weight = gap_scale, time_weight
        self.rng = np.random.default_rng(seed)
        self._features: dict[str, dict[str, float]] = {}
        self.refused: list[str] = []  # stored data refused and passed over (models count as missing): training.load
        if self.store.has_untyped_rating_scopes():
            try:
                self._migrate_ratings()
            except StoredDataError as exc:  # a MetaFlow (a server) still starts; the reads that need the data refuse
                self.refused.append(f"ratings not migrated: {exc}")

    def _migrate_ratings(self) -> None:
        """Ratings of an older store, whose scopes mixed every problem type: replayed per type from the stored
        races (the races are the record; ratings are derived from them), the untyped scopes removed."""
        for kind in sorted({r.problem_type for r in self.store.solves()}):
            self.rebuild_ratings(kind)
        self.store.delete_rating_scopes([scope for scope in self.store.rating_scopes() if not _typed_scope(scope)])

    # ---- instances ----------------------------------------------------------------------------
    def features(self, problem: Any) -> dict[str, float]:
        """Features of a problem, computed once per fingerprint (also reused from the store)."""
        key = problem.fingerprint()
        if key not in self._features:
            stored = self.store.latest_solve(key)
            if stored is not None:
                self._features[key] = stored.features
            else:
                began = time.perf_counter()
                computed = dict(features(problem))
                computed[FEATURE_COST] = time.perf_counter() - began
                self._features[key] = computed
        return self._features[key]

    def _clustering(self, kind: str) -> Clustering | None:
        return training.clustering(self.store, kind, self.refused)

    def cluster_of(self, problem: Any) -> int:
        """The problem's cluster under the stored clustering (0 before any clustering exists)."""
        clustering = self._clustering(problem_type(problem))
        if clustering is None:
            return 0
        return clustering.predict(vector(self.features(problem), clustering.feature_names))

    def advisor(self) -> Callable[[Any], tuple[str, str] | None]:
        """The advisor a rule-based policy may ask first (QAPFlow's auto and instance_adaptive modes, through
        ``qap.solve(..., advisor=...)`` or :meth:`mezan.registry.RegisteredSolver.solve`): ``advisor(problem)`` is
        the trained selector's choice among this MetaFlow's candidates, or None while no selector is trained for
        the problem's type. Learned state reaches a library solve only this way, explicitly."""

        refused: list[str] = []

        def advise(problem: Any) -> tuple[str, str] | None:
            if self.store.artifact_time(f"selector:{problem_type(problem)}") is None:
                return None
            try:
                model = MetaFlow(self.store, policy="model", seed=0)
                name, why = model.select(problem, self.candidates(problem))
            except StoredDataError as exc:  # no advice then: the solver's own rule decides; the caller may say why
                refused.append(str(exc))
                return None
            if model.refused:  # the trained model itself was refused: no advice rather than a bandit's pick
                refused.extend(model.refused)
                return None
            return name, f"{why} (asked by the solver's own policy)"

        advise.refused = refused  # type: ignore[attr-defined]
        return advise

    @staticmethod
    def candidates(problem: Any) -> list[str]:
        """Default candidate solvers: :data:`QAP_CANDIDATES` (+ qap.bnb for n <= 15) for a QAP,
        every registered solver of the problem's type otherwise."""
        kind = problem_type(problem)
        if kind == "qap":
            return list(QAP_CANDIDATES) + (["qap.bnb"] if problem.n <= 15 else [])
        return [s.name for s in registry.solvers(kind)]

    @staticmethod
    def cold_start(problem: Any, candidates: list[str]) -> str | None:
        """The choice before any candidate has a recorded solve in the problem's cluster: for a QAP the
        exact branch and bound up to n = 15, else the enhanced mode (the strongest on
        bench/qaplib_modes.py); None (let the policy choose) for other types or candidate sets."""
        if problem_type(problem) != "qap":
            return None
        preferred = "qap.bnb" if problem.n <= 15 else "qapflow.enhanced"
        return preferred if preferred in candidates else None

    # ---- history → statistics (mezan.meta.history) -------------------------------------------------
    def rewarded_history(self, kind: str) -> list[tuple[Any, float]]:
        """(record, reward) of every stored solve of a problem type that counts as evidence (not warm-started),
        rewards against today's references (which every solve's objective may set)."""
        return history.rewarded_history(self.store, kind, gap_scale=self.gap_scale, time_weight=self.time_weight)

    def arms(self, kind: str, cluster: int | None) -> dict[str, Arm]:
        """Bandit statistics per solver over the stored history, in one cluster or all (None): from the running
        tallies (:mod:`mezan.meta.tallies`) with the default reward parameters, else from the whole history."""
        clustering = self._clustering(kind)
        if self.gap_scale == DEFAULT_GAP_SCALE and self.time_weight == 0.0:
            return tallies.arms(self.store, kind, clustering, cluster)
        return history.arms(self.rewarded_history(kind), clustering, cluster)

    # ---- selection --------------------------------------------------------------------------------
    def select(self, problem: Any, candidates: Sequence[str] | None = None) -> tuple[str, str]:
        """(solver name, explanation): the policy's choice for this problem among ``candidates``."""
        kind = problem_type(problem)
        names = list(candidates) if candidates is not None else self.candidates(problem)
        if not names:
            raise InvalidParameterError("candidates must name at least one solver")
        self._check_solvers(names, kind)
        feats = self.features(problem)
        clustering = self._clustering(kind)
        cluster = 0 if clustering is None else clustering.predict(vector(feats, clustering.feature_names))
        where = (f"cluster {cluster} of {clustering.k} ({clustering.describe(cluster)})" if clustering is not None
                 else "no clustering yet")
        policy = self.policy
        model = policy == "model"
        selector: Selector | None = (training.load(self.store, f"selector:{kind}", Selector, self.refused)
                                     if model else None)
        per_instance: PerInstanceSelector | None = (
            training.load(self.store, f"per_instance_selector:{kind}", PerInstanceSelector, self.refused)
            if model else None)
        usable = [s for s in names if per_instance is not None and s in per_instance.solvers]
        if per_instance is not None and usable:
            scores = per_instance.model.scores(vector(feats, per_instance.feature_names)[None, :])[0]
            ranked = sorted(usable, key=lambda s: (scores[per_instance.solvers.index(s)], s))
            return ranked[0], (f"MetaFlow model policy: the per-instance selector ({per_instance.model.chosen}, chosen "
                               f"by inner cross-validation on {per_instance.instances} instances solved by "
                               f"{len(per_instance.solvers)} solvers) ranks {' > '.join(ranked)}; {where}")
        if policy == "model" and selector is not None:
            predicted = selector.predict(vector(feats, selector.feature_names), names)
            if predicted:
                pick = max(predicted, key=lambda s: predicted[s])
                mattered = ", ".join(f"{n} ({w:.2f})" for n, w in selector.importances())
                return pick, (f"MetaFlow model policy: predicted reward {predicted[pick]:.3f} for {pick} "
                              f"(next best {self._next_best(predicted, pick)}); features that mattered: {mattered}; "
                              f"{where}")
        if policy == "model":
            policy = "thompson"
            note = "no trained model covers these candidates yet, so Thompson sampling: "
        else:
            note = ""
        arms = self.arms(kind, cluster if clustering is not None else None)
        default = self.cold_start(problem, names) if policy != "random" else None
        if default is not None and not any(arms[c].plays for c in names if c in arms):
            return default, (f"MetaFlow {policy} policy: {note}cold start — no solve of these candidates is recorded "
                             f"here yet, so QAPFlow's default for n = {problem.n}; {where}")
        pick, why = choose(policy, arms, names, self.rng, exploration=self.exploration, thompson=self.thompson)
        ratings = self.ratings(cluster if clustering is not None else None, problem_type=kind)
        rated = ", ".join(f"{s} {ratings[s][0]:.0f}" for s in names if s in ratings) or "no races yet"
        return pick, f"MetaFlow {policy} policy: {note}{why}; {where}; Elo: {rated}"

    @staticmethod
    def _check_solvers(names: Sequence[str], kind: str) -> None:
        """Every name is a registered solver of this problem type (the registry names the known ones)."""
        for name in names:
            solver = registry.get(name)
            if solver.problem_type != kind:
                raise InvalidParameterError(f"solver {name!r} solves {solver.problem_type!r} problems, not {kind!r}")

    @staticmethod
    def _next_best(predicted: dict[str, float], pick: str) -> str:
        rest = sorted(((v, s) for s, v in predicted.items() if s != pick), reverse=True)
        return f"{rest[0][1]} {rest[0][0]:.3f}" if rest else "none"

    # ---- recording --------------------------------------------------------------------------------
    def record(self, problem: Any, solver: str, result: Any, *, time_limit: float | None = None,
               race: str | None = None, warm_start: bool = False) -> float:
        """Append a solve to the store; returns its reward (against today's reference). ``warm_start``: the solve
        started from a stored solution — recorded, but left out of the statistics and ratings (it says nothing of
        the solver's own skill)."""
        if not isinstance(result, Result):
            raise InvalidParameterError(f"result of {solver!r} must be a mezan.results.Result, got "
                                        f"{type(result).__name__}")
        objective = result.objective  # None for an infeasible or failed run: recorded, rewarded 0
        key = problem.fingerprint()
        kind = problem_type(problem)
        sense = sense_of(kind)
        bound = result.lower_bound
        best_known = getattr(problem, "best_known", None)
        self.store.define(memory.SCHEMA)
        self.store.append_solve(
            after=memory.mark_warm if warm_start else None,  # in the same transaction: never counted as evidence
            fingerprint=key, problem_type=kind, features=self.features(problem), solver=solver, time_limit=time_limit,
            objective=None if objective is None else float(objective),
            lower_bound=None if bound is None else float(bound),
            best_known=None if best_known is None else float(best_known),
            wall_time=result.wall_time, seed=result.seed, status=result.status.value, race=race)
        if not warm_start:
            self._rate_solve(problem, solver, None if objective is None else float(objective), best_known)
        ref, _ = reference(best_known, self.store.best_objective(key, sense), bound if sense == "min" else None)
        return reward(None if objective is None else float(objective), ref, sense=sense, gap_scale=self.gap_scale,
                      wall_time=result.wall_time, time_limit=time_limit,
                      time_weight=self.time_weight)

    def _rate_solve(self, problem: Any, solver: str, objective: float | None, best_known: float | None) -> None:
        """The solve game of one recorded solve: the solver against the instance, in the type's global scope and,
        once a clustering exists, in the instance's cluster (:mod:`mezan.meta.ratings`)."""
        kind = problem_type(problem)
        sense = sense_of(kind)
        key = problem.fingerprint()
        best_seen = self.store.best_objective(key, sense)  # this solve included
        target = best_known if best_known is not None else best_seen
        won = rating_games.reached(rating_games.loss(objective, sense),
                                   None if target is None else rating_games.loss(target, sense))
        for scope in self._scopes(problem):
            players = self.store.ratings(scope, names=[solver, rating_games.instance_player(key)])
            updated = rating_games.rate_solve(players, solver, key, won, k=self.k_factor, initial=self.initial_rating)
            self.store.set_ratings(scope, {p: updated[p] for p in (solver, rating_games.instance_player(key))})

    def _scopes(self, problem: Any) -> list[str]:
        """The rating scopes a game on this problem counts in: the type's global one and its cluster's."""
        kind = problem_type(problem)
        scopes = [global_scope(kind)]
        if self._clustering(kind) is not None:
            scopes.append(cluster_scope(kind, self.cluster_of(problem)))
        return scopes

    def refresh(self, kind: str = "qap") -> bool:
        """Re-cluster when due (:func:`mezan.meta.training.reclustering_due`: the number of distinct instances has
        doubled since the last fit, first at 4) and then rebuild the ratings. Returns True when it re-clustered.
        The trigger callers run after recording (``mezan.solve``, races); recording itself never re-clusters."""
        clustering = self._clustering(kind)
        if not training.reclustering_due(clustering, tallies.instance_count(self.store, kind, clustering)):
            return False
        self.fit_clusters(kind, tallies.instance_features(self.store, kind, clustering))
        return True

    def fit_clusters(self, kind: str = "qap", instances: dict[str, dict[str, float]] | None = None) -> Clustering:
        """Refit and store the clustering of a type's instances (default: every recorded one), then rebuild the
        type's ratings in the new clusters."""
        instances = instances if instances is not None else history.instances(self.store, kind)
        clustering = training.fit_clusters(self.store, kind, instances, self._model_seed)
        self.rebuild_ratings(kind)
        return clustering

    # ---- races, ratings, tournaments ----------------------------------------------------------------
    def race(self, problem: Any, solvers: Sequence[str], time_limit: float, seed: int | None = None,
             progress: Callable[[str, Any], Any] | None = None, executor: Any = None) -> RaceResult:
        """Run every solver on the problem with the same budget and seed, record each run, and update the Elo
        ratings (global and in the problem's cluster) from every pair (:func:`mezan.meta.races.race`). The solves
        run on ``executor`` (:mod:`mezan.dist`: an executor, a Dask client or address; None = one local thread, or
        ``$MEZAN_SCHEDULER``); only this process writes the store."""
        return races.race(self, problem, solvers, time_limit, seed=seed, progress=progress, executor=executor)

    def ratings(self, cluster: int | None = None, problem_type: str | None = None) -> dict[str, tuple[float, int]]:
        """Elo (rating, games) per solver, from its solves and races: over every game of ``problem_type`` (None: of
        every type — a solver solves one type, so the union is well defined), or in one of its clusters (then the
        type defaults to "qap"). Instances are on the same scale: :meth:`instance_ratings`."""
        if cluster is not None:
            return self.store.ratings(cluster_scope(problem_type or "qap", cluster),
                                      exclude_prefix=rating_games.INSTANCE)
        if problem_type is not None:
            return self.store.ratings(global_scope(problem_type), exclude_prefix=rating_games.INSTANCE)
        merged: dict[str, tuple[float, int]] = {}
        for scope in self.store.rating_scopes():
            if scope.endswith(":global"):
                merged.update(rating_games.solvers_only(self.store.ratings(scope)))
        return merged

    def instance_ratings(self, problem_type: str = "qap") -> dict[str, tuple[float, int]]:
        """Elo (rating, games) per instance fingerprint of a type: its difficulty on the solvers' scale."""
        return rating_games.instances_only(self.store.ratings(global_scope(problem_type)))

    def difficulty(self, problem: Any) -> rating_games.Difficulty:
        """The problem's difficulty on its type's Elo scale: its own rating once it has played solve games, else
        predicted from its features and those of rated instances of the type (nearest neighbours among at most
        :data:`DIFFICULTY_SAMPLE` of them, in fingerprint order: a sample that does not grow with the history), else
        the prior."""
        kind = problem_type(problem)
        scope, player = global_scope(kind), rating_games.instance_player(problem.fingerprint())
        own = self.store.ratings(scope, names=[player]).get(player)
        if own is not None and own[1] > 0:
            return rating_games.Difficulty(own[0], own[1], "rated")
        rated = rating_games.instances_only(self.store.ratings(scope, prefix=rating_games.INSTANCE,
                                                                limit=DIFFICULTY_SAMPLE))
        if not rated:
            return rating_games.Difficulty(self.initial_rating, 0, "prior")
        names = feature_names(kind)
        features_of = tallies.instance_features(self.store, kind, self._clustering(kind), list(rated))
        keys = [k for k in rated if k in features_of]
        if not keys:
            return rating_games.Difficulty(self.initial_rating, 0, "prior")
        X = np.array([vector(features_of[k], names) for k in keys])
        value, used = rating_games.predict_difficulty(vector(self.features(problem), names), X,
                                                      np.array([rated[k][0] for k in keys]))
        return rating_games.Difficulty(value, 0, "predicted", used)

    def rebuild_ratings(self, kind: str = "qap") -> None:
        """Replay every stored solve and race of a problem type, in order, into fresh global and cluster ratings
        (solvers and instances)."""
        clustering = self._clustering(kind)
        records = self.store.solves(problem_type=kind)
        labels = history.cluster_labels(clustering, records)

        def scopes_of(record: Any) -> list[str]:
            return [global_scope(kind)] + ([cluster_scope(kind, labels[record.fingerprint])]
                                           if clustering is not None else [])

        scopes = rating_games.replay(records, sense_of(kind), scopes_of, skip=memory.warm_started(self.store),
                                     k=self.k_factor, initial=self.initial_rating)
        self.store.replace_ratings(scopes, prefix=f"{kind}:")  # this type's scopes only

    def tournament(self, problems: Sequence[Any], solvers: Sequence[str], rounds: int, time_limit: float,
                   seed: int | None = None, progress: Callable[[int, str, str | None, float], Any] | None = None,
                   executor: Any = None) -> TournamentResult:
        """A Swiss-system tournament of races, each recorded and rated (:func:`mezan.meta.races.tournament`); a
        round's races run together on ``executor`` (as in :meth:`race`)."""
        return races.tournament(self, problems, solvers, rounds, time_limit, seed=seed, progress=progress,
                                executor=executor)

    # ---- offline learning ---------------------------------------------------------------------------
    def train(self, kind: str = "qap") -> TrainReport:
        """Refit the clustering, the reward model and the per-instance selector on the whole history and store
        them (:mod:`mezan.meta.training`)."""
        rows = self.rewarded_history(kind)
        if not rows:
            raise InvalidParameterError(f"no recorded {kind} solves to train on")
        clustering = self.fit_clusters(kind)
        selector = training.fit_reward_model(self.store, kind, rows, self._model_seed)
        per_instance = training.fit_per_instance(self.store, kind, rows, self._model_seed)
        return TrainReport(instances=clustering.instances, observations=len(rows), clusters=clustering.k,
                           solvers=tuple(sorted(selector.models)), importances=tuple(selector.importances(5)),
                           selector_approach=None if per_instance is None else per_instance.model.chosen,
                           selector_instances=0 if per_instance is None else per_instance.instances)

    @property
    def _model_seed(self) -> int:
        """The seed of the fitted models (clustering, selectors): this MetaFlow's, else 0."""
        return 0 if self.seed is None else self.seed

    def status(self) -> dict[str, Any]:
        """History counts, ratings (global and per cluster) and what has been trained."""
        clusters = {}
        for scope in self.store.rating_scopes():
            scoped = rating_games.solvers_only(self.store.ratings(scope))
            clusters[scope] = {s: {"rating": r, "games": g} for s, r, g in elo.standings(scoped)}
        per_solver: dict[str, int] = defaultdict(int)
        for r in self.store.solves():
            per_solver[r.solver] += 1
        clustering = self._clustering("qap")
        return {
            "store": str(self.store.path),
            "records": self.store.count_solves(),
            "instances": len(history.instances(self.store, "qap")),
            "rated_instances": len(self.instance_ratings("qap")),
            "solves_per_solver": dict(sorted(per_solver.items())),
            "ratings": clusters,
            "clusters": None if clustering is None else clustering.k,
            "model_trained": self.store.artifact_time("selector:qap") is not None,
            "policy": self.policy,
        }


__all__ = ["BANDITS", "QAP_CANDIDATES", "MetaFlow", "RaceResult", "TournamentResult", "TrainReport"]
