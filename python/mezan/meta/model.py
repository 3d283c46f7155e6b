"""What MetaFlow learns offline with scikit-learn: instance clusters and a per-instance selector.

- :class:`Clustering` — k-means (k-means++ starts, 10 restarts) on standardised features, missing
  values imputed by the median; k = clamp(round(sqrt(m / 2)), 1, 8) for m distinct instances.
  Deterministic for a seed.
- :class:`Selector` — one regression per solver (a random forest of 200 trees, median imputation)
  predicting the reward of that solver from the instance features; the selector picks the solver
  with the highest prediction. Feature importances (mean decrease in impurity, averaged over the
  solvers' forests) say which features mattered.

Every MEZAN seed that reaches scikit-learn goes through :func:`sklearn_seed` (scikit-learn takes seeds in
[0, 2**32 - 1], MEZAN's are in [0, 2**63 - 1]).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from mezan.errors import InvalidParameterError
from mezan.running import check_seed, resolve_seed

MAX_CLUSTERS = 8
SKLEARN_SEEDS = 2**32
"""scikit-learn's ``random_state`` takes an integer in [0, 2**32 - 1]."""


def sklearn_seed(seed: int | None, name: str = "seed") -> int | None:
    """The ``random_state`` for scikit-learn of a MEZAN seed (:func:`mezan.running.check_seed`: an integer in
    [0, 2**63 - 1] or None, else InvalidParameterError naming ``name``): itself below 2**32 (so every result seeded so
    far is unchanged), a larger seed hashed to 32 bits by a :class:`numpy.random.SeedSequence` draw; None stays None
    (fresh entropy)."""
    seed = check_seed(seed, name=name)
    if seed is None:
        return None
    if not isinstance(seed, int):  # a numpy Generator or RandomState: one draw from it
        seed = resolve_seed(seed)
    if seed < SKLEARN_SEEDS:
        return seed
    return int(np.random.SeedSequence(seed).generate_state(1, np.uint32)[0])


def cluster_count(instances: int) -> int:
    return int(min(MAX_CLUSTERS, max(1, round(math.sqrt(instances / 2)))))


@dataclass
class Clustering:
    """k-means on standardised features; :meth:`predict` gives the cluster of one feature vector."""

    feature_names: tuple[str, ...]
    seed: int = 0
    k: int = 1
    instances: int = 0
    pipeline: object | None = None
    centers: np.ndarray | None = None  # standardised units, k x features

    def fit(self, X: np.ndarray, k: int | None = None) -> Clustering:
        from sklearn.cluster import KMeans  # start-up time: mezan.solve imports mezan.meta
        from sklearn.impute import SimpleImputer  # start-up time: mezan.solve imports mezan.meta
        from sklearn.pipeline import make_pipeline  # start-up time: mezan.solve imports mezan.meta
        from sklearn.preprocessing import StandardScaler  # start-up time: mezan.solve imports mezan.meta

        X = np.asarray(X, dtype=np.float64)
        self.instances = len(X)
        self.k = min(k or cluster_count(len(X)), max(1, len(np.unique(X, axis=0))))
        if np.all(np.isnan(X), axis=0).any():  # a feature never computed: impute 0 (it carries no information)
            X = np.where(np.all(np.isnan(X), axis=0), 0.0, X)
        self.pipeline = make_pipeline(SimpleImputer(strategy="median"), StandardScaler(),
                                      KMeans(n_clusters=self.k, n_init=10,
                                             random_state=sklearn_seed(self.seed)))
        self.pipeline.fit(X)
        self.centers = self.pipeline[-1].cluster_centers_
        return self

    def predict(self, x: np.ndarray) -> int:
        if self.pipeline is None:
            return 0
        return int(self.pipeline.predict(np.asarray(x, dtype=np.float64).reshape(1, -1))[0])

    def predict_many(self, X: np.ndarray) -> np.ndarray:
        """Clusters of many feature vectors at once (one call into scikit-learn)."""
        X = np.asarray(X, dtype=np.float64)
        if self.pipeline is None or len(X) == 0:  # (no row: nothing to reshape)
            return np.zeros(len(X), dtype=int)
        return self.pipeline.predict(X.reshape(len(X), -1)).astype(int)

    def describe(self, cluster: int, top: int = 3) -> str:
        """The features that set a cluster apart: the largest |standardised center| values."""
        if self.centers is None or cluster >= len(self.centers):
            return "no clustering fitted yet"
        center = self.centers[cluster]
        order = np.argsort(-np.abs(center))[:top]
        return ", ".join(f"{self.feature_names[i]} {'high' if center[i] > 0 else 'low'} ({center[i]:+.1f} sd)"
                         for i in order)


@dataclass
class Selector:
    """Per-solver random-forest regressions of reward on features."""

    feature_names: tuple[str, ...]
    seed: int = 0
    models: dict[str, object] = field(default_factory=dict)
    rows: int = 0

    def fit(self, X: np.ndarray, solvers: list[str], rewards: np.ndarray) -> Selector:
        """X: one feature row per observation; solvers and rewards: the solver and reward of each."""
        from sklearn.ensemble import RandomForestRegressor  # start-up time: mezan.solve imports mezan.meta
        from sklearn.impute import SimpleImputer  # start-up time: mezan.solve imports mezan.meta
        from sklearn.pipeline import make_pipeline  # start-up time: mezan.solve imports mezan.meta

        X = np.asarray(X, dtype=np.float64)
        X = np.where(np.all(np.isnan(X), axis=0), 0.0, X)
        rewards = np.asarray(rewards, dtype=np.float64)
        names = np.asarray(solvers)
        self.models, self.rows = {}, len(X)
        for solver in sorted(set(solvers)):
            mask = names == solver
            if mask.sum() < 3:
                continue
            model = make_pipeline(SimpleImputer(strategy="median", keep_empty_features=True),
                                  RandomForestRegressor(n_estimators=200, min_samples_leaf=2,
                                                        random_state=sklearn_seed(self.seed)))
            model.fit(X[mask], rewards[mask])
            self.models[solver] = model
        if not self.models:
            raise InvalidParameterError("not enough history to train a selector: every solver needs >= 3 recorded "
                                        "solves")
        return self

    def predict(self, x: np.ndarray, candidates: list[str] | None = None) -> dict[str, float]:
        x = np.asarray(x, dtype=np.float64).reshape(1, -1)
        names = [c for c in (candidates or list(self.models)) if c in self.models]
        return {c: float(self.models[c].predict(x)[0]) for c in names}

    def importances(self, top: int = 3) -> list[tuple[str, float]]:
        total = np.zeros(len(self.feature_names))
        for model in self.models.values():
            total += model[-1].feature_importances_
        total /= max(len(self.models), 1)
        order = np.argsort(-total)[:top]
        return [(self.feature_names[i], float(total[i])) for i in order]
