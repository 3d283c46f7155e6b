"""Per-instance algorithm selectors over a cost matrix: one interface, several approaches, an automatic choice.

Every selector is fitted on (features, costs) — features (instances x features, NaN where missing), costs
(instances x algorithms, lower is better) — and predicts an algorithm index per instance. Features are imputed
(training medians; 0 in a column missing on every training row) and standardised first (a column with values beyond
:data:`LARGE` divided by its largest magnitude before, the result clipped to [-:data:`CLIP`, :data:`CLIP`], so that
no value near the float limit overflows); with ``select_features``, only those of at least mean importance in a
(centred, joint) regression forest of the training rows are kept (scikit-learn's SelectFromModel rule), per fit.
Fitted on no feature column at all, every approach runs the training rows' single best algorithm
(:data:`FALLBACK`, what :attr:`AlgorithmSelector.chosen` then says).

- ``regression``: a random forest predicting every algorithm's log cost (runtime-like costs) or cost at once
  (one multi-output forest: the trees' splits are shared by all algorithms, each leaf holds a cost per algorithm;
  ``joint=False``: one forest per algorithm, the empirical performance models of SATzilla 2009 and LLAMA's
  regression approach); the algorithm with the lowest prediction. The joint forest was 2-20x faster and at or
  below the per-algorithm forests' m-hat on all seven reference scenarios (bench/aslib_eval.py). On a large
  portfolio the forest predicts at most :data:`OUTPUT_WORK` (algorithm x training row) targets: the portfolio's most
  complementary part (:func:`_portfolio`).
  ``centre`` (default): the targets are relative, each instance's (log) costs minus their mean over the algorithms.
  A split then pays for telling the algorithms apart, not for telling hard instances from easy ones (which moves
  every algorithm alike and does not change the pick): the forest's squared error over centred targets is, up to a
  factor k, its error over all k (k - 1) / 2 pairwise differences — pairwise regression in one forest. It lowered the
  regression m-hat on five of the seven reference scenarios (mean 0.290 -> 0.250; MAXSAT12-PMS 0.138 -> 0.076,
  CSP-Minizinc-Obj-2016 0.428 -> 0.273) at the same cost.
- ``pairwise``: for every pair of contenders (the algorithms best on some training instance, and the single best) a
  random-forest classifier of "which is cheaper", each training instance weighted by the cost difference; the
  algorithm with the most votes (SATzilla 2011's cost-sensitive pairwise classification). At most the contenders
  whose pairs fit :data:`PAIRWISE_WORK` classifier rows are compared (the most complementary, :func:`_portfolio`).
- ``knn``: the k nearest training instances in the standardised feature space; the algorithm with the lowest
  total cost over them (SUNNY's neighbourhood, restricted to one algorithm).
- ``forest_mean``: the (centred, joint) regression forest used as an adaptive neighbourhood (the weights of
  Meinshausen's quantile regression forests): per algorithm, the mean *cost* (not log cost) of the training
  instances that share the instance's leaves, averaged over the trees. The pick then minimises the expected cost
  that is scored (PAR10), where ``regression``'s log costs minimise a geometric mean and underrate rare timeouts:
  SAT11-RAND 0.205 -> 0.068, SAT11-HAND 0.311 -> 0.246, but CSP-2010 0.144 -> 0.295 and SAT11-INDU 0.672 -> 0.801
  (bench/aslib_eval.py). Not among ``auto``'s candidates: with it the lowest-inner-cost choice got worse (mean m-hat
  0.281 -> 0.303; more candidates, more room for a noisy inner cross-validation to pick the wrong one).
- ``ensemble``: regression, pairwise and knn fitted side by side; each ranks the algorithms on an instance, and the
  algorithm with the best mean rank is chosen (a Borda vote: the approaches' scores are on different scales, their
  ranks are not).
- ``auto``: regression, pairwise, knn or ensemble, chosen by an inner cross-validation on the training data only
  (the AutoFolio idea: the choice is made per scenario by data, never by hand). Regression is the default; another
  approach replaces it only if its inner cost is lower *and* a one-sided paired t-test on the training instances
  where their picks' costs differ (at least :data:`SWITCH_MIN_ROWS`) says so at ``switch_alpha`` (0.1,
  Bonferroni-split over the three alternatives) — the rule DeepThink uses to leave its robust default. The plain
  lowest inner cost (``switch_alpha=0``) let noise decide: on CSP-2010 (two algorithms) it went to pairwise on some
  folds (m-hat 0.173 against regression's 0.144), on CSP-Minizinc-Obj-2016 (100 instances) to kNN (0.494 against
  0.273); with the test, the mean m-hat over the seven reference scenarios went from 0.281 to 0.233 and the
  switches that stay are those the data support (SAT11-RAND: 0.205 with regression, 0.066 with the switch).
  ``judge`` replaces the per-instance costs when the picks are used inside a larger plan (:mod:`mezan.meta.schedules`
  costs them with their pre-solving plan, so an instance the plan pre-solves counts as a tie); the test reads the
  same costs. ``inner_costs`` keeps each candidate's mean. The ensemble's inner picks come from the three
  approaches' inner scores, so judging it costs no further fit.

Deterministic for a seed (an integer in [0, 2**63 - 1]; scikit-learn gets :func:`mezan.meta.model.sklearn_seed` of it).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.errors import InvalidParameterError
from mezan.meta.model import sklearn_seed
from mezan.running import check_seed

BASE_APPROACHES = ("regression", "pairwise", "knn")  # the ensemble's members
AUTO_APPROACHES = (*BASE_APPROACHES, "ensemble")  # what ``auto`` chooses among
APPROACHES = (*AUTO_APPROACHES, "forest_mean")
EVALUATED = ("auto", *APPROACHES, "sunny")
"""What an ASlib evaluation runs (``mezan meta aslib evaluate --approach``): a selector's approach, ``auto``, or
SUNNY's schedules (:mod:`mezan.meta.sunny`). The one list the CLI's choices and help read."""
FALLBACK = "single_best"
"""What a selector fitted on no feature at all runs, whatever its approach: the training rows' single best algorithm
(lowest mean cost) on every instance — with nothing to tell the instances apart, the only sound pick."""

LARGE = 1e100
"""A feature column with a value beyond this magnitude is divided by its largest magnitude before it is
standardised (its mean and squares would overflow); the others are standardised as they are."""

CLIP = 1e6
"""Standardised values are clipped to [-CLIP, CLIP]: a test value millions of training deviations away (or 1e308)
stays finite, and within float32 (scikit-learn's trees), and no less far from every training row."""

UNPICKED = np.inf
"""The score of an algorithm a fitted model does not rank (beyond the work caps below): never the minimum."""


def _borda(scores: list[np.ndarray]) -> np.ndarray:
    """Mean rank of each algorithm over the score matrices (rows x algorithms, lower is better; ties share ranks)."""
    from scipy.stats import rankdata  # start-up time: mezan.solve imports mezan.meta

    return np.mean([rankdata(s, axis=1) for s in scores], axis=0)


PAIRWISE_WORK = 60_000
"""At most this many (pair x training row) classifier rows in one pairwise fit: k contenders cost k (k - 1) / 2
forests, each on at most every training row (those where the pair's costs differ). Beyond it the contenders are cut
to the largest portfolio within it (:func:`_portfolio`): on 1,800 rows and 300 features a pair costs about 0.12 s,
so 70 contenders (2,415 pairs) would cost 5 minutes a fit, and 8 (28 pairs) cost 3.4 s."""

OUTPUT_WORK = 40_000
"""At most this many (algorithm x training row) targets in one regression forest: the joint forest's split search
costs in proportion to its outputs (2.9 s for 70 outputs against 1.1 s for 5, on 1,800 rows and 300 features).
Beyond it the forest predicts the largest portfolio within it (:func:`_portfolio`) and the other algorithms are never
picked (:data:`UNPICKED`). The reference scenarios' largest (QBF-2014: 14 x 1,128; MAXSAT15-PMS-INDU: 29 x 541) are
under 16k."""


def _portfolio(costs: np.ndarray, candidates: np.ndarray, limit: int) -> np.ndarray:
    """At most ``limit`` (at least 1) of the ``candidates`` (column indices, sorted): all of them when they fit;
    else, from the single best among them, greedily the one that most lowers the training rows' oracle (the mean over
    rows of the lowest cost among those kept; ties to the lower index) — the portfolio's most complementary part."""
    if len(candidates) <= max(1, limit):
        return candidates
    sbs = int(candidates[np.argmin(costs[:, candidates].mean(axis=0))])
    chosen, oracle = [sbs], costs[:, sbs]
    while len(chosen) < limit:
        rest = [int(a) for a in candidates if a not in chosen]
        pick = rest[int(np.argmin(np.minimum(oracle[:, None], costs[:, rest]).mean(axis=0)))]
        chosen.append(pick)
        oracle = np.minimum(oracle, costs[:, pick])
    return np.sort(np.array(chosen))


def _contenders(costs: np.ndarray) -> np.ndarray:
    """The algorithms the pairwise vote compares: those best on at least one training instance (where not all tie), and
    the single best (an algorithm never best anywhere rarely is the right pick; k algorithms cost k (k - 1) / 2
    classifiers) — at most the largest portfolio within :data:`PAIRWISE_WORK`."""
    best = costs.min(axis=1, keepdims=True)
    differs = costs.max(axis=1) > best[:, 0]  # an instance where all tie (e.g. all time out) tells nothing
    keep = (costs[differs] <= best[differs]).any(axis=0)
    keep[int(np.argmin(costs.mean(axis=0)))] = True
    limit = max(2, int((1 + np.sqrt(1 + 8 * PAIRWISE_WORK / max(1, len(costs)))) // 2))  # k (k - 1) / 2 x rows
    return _portfolio(costs, np.flatnonzero(keep), limit)


def _modelled(costs: np.ndarray) -> np.ndarray:
    """The algorithms a regression forest predicts: all, or the largest portfolio within :data:`OUTPUT_WORK`."""
    return _portfolio(costs, np.arange(costs.shape[1]), max(2, OUTPUT_WORK // max(1, len(costs))))


IMPUTE = ("median", "mean")
"""How a selector fills a missing feature value (``AlgorithmSelector.impute``): its column's training median or mean."""

SWITCH_MIN_ROWS = 10
"""``auto`` leaves its default only on evidence from at least this many training rows where the costs differ."""


def cheaper(mine: np.ndarray, theirs: np.ndarray, alpha: float) -> bool:
    """Whether the per-row costs ``mine`` are lower than ``theirs`` (paired, same rows): a one-sided paired t-test at
    ``alpha`` on the rows where they differ (at least :data:`SWITCH_MIN_ROWS`; differences all equal: their sign)."""
    from scipy.stats import ttest_rel  # start-up time: mezan.solve imports mezan.meta

    differ = mine != theirs
    if differ.sum() < SWITCH_MIN_ROWS:
        return False
    d = mine[differ] - theirs[differ]
    if not np.isfinite(d).all():
        return False
    if np.ptp(d) == 0:  # every differing row moved by the same amount: no spread to test, the sign says it all
        return bool(d[0] < 0)
    with warnings.catch_warnings():  # near-constant differences: scipy warns of precision loss; p stays usable
        warnings.simplefilter("ignore", RuntimeWarning)
        p = ttest_rel(mine[differ], theirs[differ], alternative="less").pvalue
    return bool(np.isfinite(p) and p < alpha)


def _prepare(features: np.ndarray, impute: str = "median") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(fills, means, scales, spans) of training features, for imputation and standardisation: a value that is
    missing (NaN, or not finite) is imputed by its column's median (``impute="mean"``: mean) over the training rows,
    by 0 in a column missing on every training row; a column with values beyond :data:`LARGE` is divided by its span
    (largest magnitude) first."""
    features = np.asarray(features, dtype=float)
    finite = np.isfinite(features)
    seen = finite.any(axis=0)
    medians = np.zeros(features.shape[1])
    if seen.any():  # only the columns with a value: numpy warns of an all-NaN slice otherwise
        observed = np.where(finite, features, np.nan)[:, seen]
        with np.errstate(over="ignore", invalid="ignore"):  # values near the float limit: handled below
            middle = np.nanmedian(observed, axis=0) if impute == "median" else np.nanmean(observed, axis=0)
        if not np.isfinite(middle).all():  # the mean of the middle (or all) values overflowed: the median's lower one
            middle = np.where(np.isfinite(middle), middle, np.nanquantile(observed, 0.5, axis=0, method="lower"))
        medians[seen] = middle
    filled = np.where(finite, features, medians)
    top = np.abs(filled).max(axis=0, initial=0.0)
    spans = np.where(top > LARGE, top, 1.0)
    filled = filled / spans
    means, scales = filled.mean(axis=0), filled.std(axis=0)
    return medians, means, np.where(scales > 0, scales, 1.0), spans


def standardise(prep: tuple[np.ndarray, ...], features: np.ndarray) -> np.ndarray:
    """Features imputed and standardised by :func:`_prepare`'s (medians, means, scales, spans) of the training rows,
    clipped to [-:data:`CLIP`, :data:`CLIP`]."""
    medians, means, scales, spans = prep
    with np.errstate(over="ignore"):  # a value far outside the training range: clipped below
        x = (np.where(np.isfinite(features), features, medians) / spans - means) / scales
    return np.clip(x, -CLIP, CLIP)


def nearest(x: np.ndarray, train_x: np.ndarray, k: int) -> np.ndarray:
    """(rows x k) indices of each row's k nearest training rows (Euclidean; ties by training order). Squared
    distances as |x|^2 + |t|^2 - 2 x.t: no (rows x training rows x features) temporary."""
    d = (x**2).sum(axis=1)[:, None] + (train_x**2).sum(axis=1)[None, :] - 2.0 * x @ train_x.T
    return np.argsort(d, axis=1, kind="stable")[:, :k]


@dataclass
class AlgorithmSelector:
    """``AlgorithmSelector(approach, seed=0).fit(features, costs).predict(features) -> algorithm indices``."""

    approach: str = "auto"
    seed: int = 0
    log_costs: bool = True  # regression on log(cost): for runtimes (positive, heavy-tailed)
    trees: int = 100
    pairwise_trees: int = 25  # per pair: k (k - 1) / 2 forests, so smaller ones
    neighbours: int = 16
    inner_folds: int = 3
    jobs: int = 1  # threads per regression forest fit (scikit-learn's n_jobs; the small pairwise forests use one)
    joint: bool = True  # regression: one multi-output forest for all algorithms (False: one forest per algorithm)
    max_features: float | str = "sqrt"  # features tried per split in the regression forests (as the classifiers)
    centre: bool = True  # regression: each instance's targets minus their mean (see the module docstring)
    switch_alpha: float = 0.1  # auto: leaves regression only on this evidence (see the module docstring); 0: argmin
    select_features: bool = False  # keep the features of at least mean importance in a forest of the training data
    leaf: int = 2  # the forests' min_samples_leaf
    impute: str = "median"  # a missing feature value: its column's training "median" or "mean"
    chosen: str = ""
    inner_picks: Any = field(default=None, repr=False)  # out-of-fold picks on the training rows (inner CV)
    judge: Any = field(default=None, repr=False)  # judge(picks) -> per-row costs of out-of-fold picks (default: costs)
    inner_costs: dict[str, float] = field(default_factory=dict, repr=False)  # auto: candidates' mean inner costs
    _models: Any = field(default=None, repr=False)
    _prep: Any = field(default=None, repr=False)
    _train: Any = field(default=None, repr=False)
    _columns: Any = field(default=None, repr=False)  # select_features: the kept feature columns
    # the algorithms the fitted model ranks (regression: those it predicts; pairwise: the contenders), the others
    # never picked; None: every algorithm (and a selector stored before the work caps: its own rule, see there)
    _algorithms: Any = field(default=None, repr=False)

    def fit(self, features: np.ndarray, costs: np.ndarray, *,
            inner_scores: dict[str, np.ndarray] | None = None) -> AlgorithmSelector:
        """Fit on (features, costs). ``inner_scores``: out-of-fold scores (rows x algorithms) of base approaches on
        these rows, already computed with this selector's options and seed (e.g. by a probe selector): ``auto``'s
        inner cross-validation uses them instead of fitting those approaches again."""
        features = np.asarray(features, dtype=float)
        costs = np.asarray(costs, dtype=float)
        if features.ndim != 2 or costs.ndim != 2 or features.shape[0] != costs.shape[0]:
            raise InvalidParameterError(f"features (instances x features) and costs (instances x algorithms) must have "
                                        f"one row per instance; got {features.shape} and {costs.shape}")
        known = dict(inner_scores or {})
        for name, scores in known.items():
            if name not in BASE_APPROACHES or np.shape(scores) != costs.shape:
                raise InvalidParameterError(f"inner_scores must map base approaches ({', '.join(BASE_APPROACHES)}) to "
                                            f"(rows x algorithms) scores of shape {costs.shape}; got {name!r} with "
                                            f"shape {np.shape(scores)}")
        if self.approach not in (*APPROACHES, "auto", FALLBACK):
            raise InvalidParameterError(f"approach must be one of auto, {', '.join(APPROACHES)}; got {self.approach!r}")
        self.seed = check_seed(self.seed)
        if self.impute not in IMPUTE:
            raise InvalidParameterError(f"impute must be one of {', '.join(IMPUTE)}; got {self.impute!r}")
        if isinstance(self.leaf, bool) or not isinstance(self.leaf, (int, np.integer)) or self.leaf < 1:
            raise InvalidParameterError(f"leaf (the forests' min_samples_leaf) must be an integer >= 1; got "
                                        f"{self.leaf!r}")
        if not 0.0 <= self.switch_alpha < 1.0:
            raise InvalidParameterError(f"switch_alpha must be in [0, 1) (0: the lowest inner cost decides); got "
                                        f"{self.switch_alpha!r}")
        self.inner_picks = None
        self.inner_costs = {}
        if features.shape[1] == 0:  # nothing tells the instances apart: the single best (see FALLBACK)
            self.chosen = FALLBACK
        else:
            self.chosen = self._choose(features, costs, known) if self.approach == "auto" else self.approach
        self._prep = _prepare(features, self.impute)
        self._columns = None
        if self.select_features and self.chosen != FALLBACK:
            self._columns = self._selected(self._transform(features), costs)
        x = self._transform(features)
        self._algorithms = None
        self._models = getattr(self, f"_fit_{self.chosen}")(x, costs)
        self._train = (x, costs)
        return self

    def predict(self, features: np.ndarray) -> np.ndarray:
        """The chosen algorithm (column index) per row of ``features``."""
        return np.argmin(self.scores(features), axis=1)

    def scores(self, features: np.ndarray) -> np.ndarray:
        """(rows x algorithms) scores, lower is better: predicted (log) costs, minus pairwise votes, or the
        neighbourhood's total cost — what :meth:`predict` minimises, to rank a subset of the algorithms."""
        if self._models is None:
            raise InvalidParameterError("fit the selector before predicting")
        return getattr(self, f"_scores_{self.chosen}")(self._transform(np.asarray(features, dtype=float)))

    # ---- internals ----------------------------------------------------------------------------------------
    def _transform(self, features: np.ndarray) -> np.ndarray:
        x = standardise(self._prep, features)
        return x if self._columns is None else x[:, self._columns]

    def _selected(self, x: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """Feature selection on the training rows: the features whose impurity importance in a (centred, joint)
        regression forest is at least the mean importance (scikit-learn's SelectFromModel rule), constant ones
        never (their importance is 0)."""
        importances = self._forest(x, self._relative_target(costs)).feature_importances_
        keep = importances >= importances.mean()
        return keep if keep.any() else np.ones(x.shape[1], dtype=bool)

    def _sibling(self, approach: str, select_features: bool | None = None) -> AlgorithmSelector:
        """A selector with this one's options and another approach."""
        return AlgorithmSelector(approach, seed=self.seed, log_costs=self.log_costs, trees=self.trees,
                                 pairwise_trees=self.pairwise_trees, neighbours=self.neighbours, jobs=self.jobs,
                                 max_features=self.max_features, joint=self.joint, centre=self.centre,
                                 select_features=self.select_features if select_features is None else select_features,
                                 leaf=self.leaf, impute=self.impute)

    def out_of_fold_scores(self, features: np.ndarray, costs: np.ndarray, approach: str) -> np.ndarray:
        """Scores (rows x algorithms) of ``approach`` on the given (training) rows, each row scored by a selector
        fitted on the other inner folds only."""
        if approach == "ensemble":
            return _borda([self.out_of_fold_scores(features, costs, a) for a in BASE_APPROACHES])
        rng = np.random.default_rng(self.seed)
        folds = rng.permutation(len(costs)) % self.inner_folds
        scores = np.zeros(costs.shape)
        for f in range(self.inner_folds):
            train, test = folds != f, folds == f
            if not test.any():
                continue
            if train.sum() < 2:  # too few rows to fit: the algorithms' mean costs
                scores[test] = costs.mean(axis=0)
                continue
            scores[test] = self._sibling(approach).fit(features[train], costs[train]).scores(features[test])
        return scores

    def out_of_fold(self, features: np.ndarray, costs: np.ndarray, approach: str) -> np.ndarray:
        """Picks of ``approach`` on the given (training) rows, each row predicted by a selector fitted on the other
        inner folds only."""
        return np.argmin(self.out_of_fold_scores(features, costs, approach), axis=1)

    def fit_inner_picks(self, features: np.ndarray, costs: np.ndarray) -> np.ndarray:
        """Out-of-fold picks of the fitted approach on its training rows (kept from the automatic choice when it
        made them): what a pre-solving schedule is chosen against."""
        if self.inner_picks is None:
            self.inner_picks = self.out_of_fold(np.asarray(features, dtype=float), np.asarray(costs, dtype=float),
                                                self.chosen)
        return self.inner_picks

    def _choose(self, features: np.ndarray, costs: np.ndarray, known: dict[str, np.ndarray]) -> str:
        scores = {a: np.asarray(known[a], dtype=float) if a in known else self.out_of_fold_scores(features, costs, a)
                  for a in BASE_APPROACHES}
        scores["ensemble"] = _borda([scores[a] for a in BASE_APPROACHES])
        rows = np.arange(len(costs))
        picks = {a: np.argmin(scores[a], axis=1) for a in AUTO_APPROACHES}
        judged = {a: np.asarray(costs[rows, p] if self.judge is None else self.judge(p), dtype=float)
                  for a, p in picks.items()}
        self.inner_costs = {a: float(c.mean()) for a, c in judged.items()}
        default = AUTO_APPROACHES[0]
        others = [a for a in AUTO_APPROACHES if a != default]
        switch = [a for a in others if self.inner_costs[a] < self.inner_costs[default]
                  and (self.switch_alpha <= 0 or cheaper(judged[a], judged[default], self.switch_alpha / len(others)))]
        best = min([default, *switch], key=lambda a: (self.inner_costs[a], AUTO_APPROACHES.index(a)))
        self.inner_picks = picks[best]
        return best

    def _target(self, costs: np.ndarray) -> np.ndarray:
        return np.log10(np.maximum(costs, 1e-3)) if self.log_costs and (costs > 0).all() else costs

    def _forest(self, x: np.ndarray, y: np.ndarray) -> Any:
        """The regression forest of this selector's options, fitted on (x, y)."""
        from sklearn.ensemble import RandomForestRegressor  # start-up time: mezan.solve imports mezan.meta

        if y.ndim == 2 and y.shape[1] == 1:  # one algorithm: scikit-learn wants (and warns for) a 1-d target
            y = y[:, 0]
        return RandomForestRegressor(n_estimators=self.trees, random_state=sklearn_seed(self.seed), n_jobs=self.jobs,
                                     min_samples_leaf=self.leaf, max_features=self.max_features).fit(x, y)

    def _relative_target(self, costs: np.ndarray, columns: np.ndarray | None = None) -> np.ndarray:
        """The forests' targets: (log) costs, of ``columns`` only when given (whether to take logs is decided on all
        of them), centred per row over those columns."""
        y = self._target(costs)
        if columns is not None:  # C order, as y: a column-indexed copy is F-ordered, its row means round differently
            y = np.ascontiguousarray(y[:, columns])
        if self.centre:  # relative costs: the forest's splits serve the ranking, not the instance's hardness
            y = y - y.mean(axis=1, keepdims=True)
        return y

    def _fit_regression(self, x: np.ndarray, costs: np.ndarray) -> Any:
        modelled = _modelled(costs)
        if len(modelled) < costs.shape[1]:
            self._algorithms = modelled
        y = self._relative_target(costs, self._algorithms)
        if self.joint:  # one multi-output forest: every algorithm's cost predicted from the same trees
            return [self._forest(x, y)]
        return [self._forest(x, y[:, a]) for a in range(y.shape[1])]

    def _scores_regression(self, x: np.ndarray) -> np.ndarray:
        if self.joint:
            predicted = np.asarray(self._models[0].predict(x)).reshape(len(x), -1)
        else:
            predicted = np.column_stack([m.predict(x) for m in self._models])
        if self._algorithms is None:
            return predicted
        scores = np.full((len(x), self._train[1].shape[1]), UNPICKED)
        scores[:, self._algorithms] = predicted
        return scores

    def _fit_forest_mean(self, x: np.ndarray, costs: np.ndarray) -> Any:
        forest = self._forest(x, self._relative_target(costs))  # always one multi-output forest
        leaves = forest.apply(x)  # (training rows x trees)
        means = []  # per tree: the mean cost of the training rows in each of its leaves (leaf id -> row)
        for t in range(leaves.shape[1]):
            ids, rows = np.unique(leaves[:, t], return_inverse=True)
            total = np.zeros((len(ids), costs.shape[1]))
            np.add.at(total, rows, costs)
            means.append((ids, total / np.bincount(rows)[:, None]))
        return forest, means

    def _scores_forest_mean(self, x: np.ndarray) -> np.ndarray:
        forest, means = self._models
        leaves = forest.apply(x)
        out = np.zeros((len(x), means[0][1].shape[1]))
        for t, (ids, mean) in enumerate(means):
            out += mean[np.searchsorted(ids, leaves[:, t])]
        return out / len(means)

    def _fit_pairwise(self, x: np.ndarray, costs: np.ndarray) -> Any:
        from sklearn.ensemble import RandomForestClassifier  # start-up time: mezan.solve imports mezan.meta

        def fit_pair(pair: tuple[int, int]) -> tuple[int, int, Any]:
            a, b = pair
            diff = costs[:, a] - costs[:, b]
            weight = np.abs(diff)
            label = (diff < 0).astype(int)  # 1: a is cheaper
            if weight.sum() == 0 or len(np.unique(label[weight > 0])) < 2:
                return a, b, int(np.sum(weight * (label == 1)) >= np.sum(weight * (label == 0)))
            clf = RandomForestClassifier(n_estimators=self.pairwise_trees, random_state=sklearn_seed(self.seed),
                                         n_jobs=1, min_samples_leaf=self.leaf)
            return a, b, clf.fit(x[weight > 0], label[weight > 0], sample_weight=weight[weight > 0])

        self._algorithms = keep = _contenders(costs)
        return [fit_pair((int(a), int(b))) for i, a in enumerate(keep) for b in keep[i + 1:]]

    def _scores_pairwise(self, x: np.ndarray) -> np.ndarray:
        k = self._train[1].shape[1]
        votes = np.full((len(x), k), -1.0)  # below any contender's votes: never chosen
        # a selector stored before the work caps kept no contenders: its rule then was the uncapped one, and every
        # contender has a fitted pair (or there is one contender, the single best, and no pair)
        contenders = self._algorithms
        if contenders is None:
            paired = sorted({int(a) for a, b, _ in self._models} | {int(b) for a, b, _ in self._models})
            contenders = paired or _contenders(self._train[1])
        votes[:, contenders] = 0.0
        for a, b, model in self._models:
            a_wins = np.full(len(x), float(model)) if isinstance(model, int) else model.predict_proba(x)[:, -1]
            if not isinstance(model, int) and list(model.classes_) == [0]:
                a_wins = np.zeros(len(x))
            votes[:, a] += a_wins
            votes[:, b] += 1.0 - a_wins
        return -votes

    def _fit_ensemble(self, x: np.ndarray, costs: np.ndarray) -> Any:
        # x is standardised (and its features selected): the members' preparation is the identity
        return [self._sibling(a, select_features=False).fit(x, costs) for a in BASE_APPROACHES]

    def _scores_ensemble(self, x: np.ndarray) -> np.ndarray:
        return _borda([member.scores(x) for member in self._models])

    def _fit_single_best(self, x: np.ndarray, costs: np.ndarray) -> Any:  # noqa: ARG002 - the fit interface
        return int(np.argmin(costs.mean(axis=0)))

    def _scores_single_best(self, x: np.ndarray) -> np.ndarray:
        return np.tile(self._train[1].mean(axis=0), (len(x), 1))

    def _fit_knn(self, x: np.ndarray, costs: np.ndarray) -> Any:  # noqa: ARG002 - the fit interface; kNN keeps the data
        return True

    def _scores_knn(self, x: np.ndarray) -> np.ndarray:
        train_x, train_costs = self._train
        return train_costs[nearest(x, train_x, min(self.neighbours, len(train_x)))].sum(axis=1)


def cross_validate(features: np.ndarray, costs: np.ndarray, folds: np.ndarray, *, approach: str = "auto",
                   seed: int = 0, log_costs: bool = True, progress: Any = None) -> tuple[np.ndarray, list[str]]:
    """Out-of-fold selections: for every fold, a selector fitted on the other folds only predicts it. Returns the
    algorithm index per instance and the approach each fold's selector used."""
    picks = np.zeros(len(costs), dtype=int)
    used = []
    for f in sorted(set(int(v) for v in folds)):
        test = folds == f
        model = AlgorithmSelector(approach, seed=seed, log_costs=log_costs).fit(features[~test], costs[~test])
        picks[test] = model.predict(features[test])
        used.append(model.chosen)
        if progress is not None:
            progress(f)
    return picks, used
