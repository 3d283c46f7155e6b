"""Instance features for solver selection: ``features(problem) -> dict`` of numbers.

QAP (:func:`qap_features`):

- size and matrix statistics (numpy, O(n^2)): ``n``, ``density_A``/``density_B`` (non-zero
  off-diagonal fraction), ``flow_dominance``/``distance_dominance`` (coefficient of variation x 100
  of the off-diagonal entries), ``symmetric``, ``diagonal`` (1 if A or B has a non-zero diagonal),
  ``range_A``/``range_B`` (log10 of 1 + max - min), ``structured_A``/``structured_B`` (1 if circulant,
  Toeplitz or a lattice distance matrix, detected by the C++ core);
- a probe (C++, deterministic): four first-improvement 2-exchange descents from seeded random
  permutations, each capped at 20 n moves — ``probe_improvement`` (mean relative improvement from the
  random start to the local optimum), ``probe_moves`` (mean moves per descent / n: short descents mean
  dense local optima), ``local_optimum_density`` (1 / (1 + moves per descent));
- bound and relaxation ratios (C++, O(n^3), n <= 400, else NaN): ``glb_ratio`` = Gilmore–Lawler
  bound / best probe objective, ``relaxation_ratio`` = the rounded FAQ solution (10 Frank–Wolfe
  steps) / best probe objective.

Other problem types plug in with :func:`register_features`; unknown types get ``{"n": size}`` when
the record has an ``n``. Every value is a float (NaN when not computed), so vectors line up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from mezan import _core
from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.problems import TYPES, QAPProblem
from mezan.problems import sense_of as table_sense
from mezan.qap.features import features as matrix_features
from mezan.qap.solve import gilmore_lawler_bound, kernel_arrays

QAP_FEATURES = ("n", "density_A", "density_B", "flow_dominance", "distance_dominance", "symmetric", "diagonal",
                "range_A", "range_B", "structured_A", "structured_B", "probe_improvement", "probe_moves",
                "local_optimum_density", "glb_ratio", "relaxation_ratio")

PROBE_DESCENTS = 4
PROBE_WORK = 100_000_000
"""Bounds a probe descent's moves to PROBE_WORK / n^2 (each costs O(n^2)), besides its 20 n: unchanged up to n = 171,
about 0.1 s a descent beyond (n = 2,000 would otherwise take minutes)."""
RATIO_MAX_N = 400

_EXTRACTORS: dict[str, Callable[[Any], dict[str, float]]] = {}
_SENSES: dict[str, str] = {}
_NAMES: dict[str, tuple[str, ...]] = {}


def register_features(problem_type: str, extractor: Callable[[Any], dict[str, float]], names: tuple[str, ...],
                      sense: str | None = None) -> None:
    """Plug in the feature extractor of a problem type.

    Registering a type again replaces its extractor.

    Parameters
    ----------
    problem_type : str
        The problem type, as the records' ``problem_type`` (``"qap"``, ``"tsp"``, ...).
    extractor : callable
        ``extractor(problem) -> dict`` of feature name -> float.
    names : tuple of str
        The names of the features the extractor returns, in vector order.
    sense : {"min", "max"}, optional
        Whether the type's objective is minimised or maximised: rewards and Elo games need to know which way is
        better. A type of the problem-type table (:data:`mezan.problems.TYPES`) has its sense there (a ``sense``
        given for it must agree); any other type must give one.

    Raises
    ------
    mezan.errors.InvalidParameterError
        When ``sense`` is neither "min" nor "max", contradicts the table, or is missing for a type the table
        does not hold.
    """
    known = TYPES[problem_type].sense if problem_type in TYPES else None
    if sense is None and known is None:
        raise InvalidParameterError(f"register_features({problem_type!r}): give sense='min' or 'max' (the type is not "
                                    f"in mezan.problems.TYPES, which holds the sense of the built-in types)")
    if sense is not None and sense not in ("min", "max"):
        raise InvalidParameterError(f"sense must be 'min' or 'max', got {sense!r}")
    if sense is not None and known is not None and sense != known:
        raise InvalidParameterError(f"sense {sense!r} for {problem_type!r} contradicts mezan.problems.TYPES "
                                    f"({known!r})")
    sense = sense or known
    _EXTRACTORS[problem_type] = extractor
    _SENSES[problem_type] = sense
    _NAMES[problem_type] = tuple(names)


FEATURE_COST = "feature_cost_seconds"
"""Key under which MetaFlow records how long computing an instance's features took (not a feature: no feature
vector includes it); the ASlib exporter writes it as the feature step's cost."""


def feature_names(problem_type: str) -> tuple[str, ...]:
    """The feature names of a problem type, in vector order (("n",) for unregistered types)."""
    return _NAMES.get(problem_type, ("n",))


def sense_of(problem_type: str) -> str:
    """"min" or "max" for a problem type: the problem-type table's, else the one registered with its features, else
    "min" (the library-only types, e.g. EvoFlow's callable objective, minimise)."""
    if problem_type not in TYPES and problem_type in _SENSES:
        return _SENSES[problem_type]
    return table_sense(problem_type)


def problem_type(problem: Any) -> str:
    if isinstance(problem, QAPProblem):
        return "qap"
    return str(getattr(problem, "problem_type", type(problem).__name__.lower()))


def features(problem: Any) -> dict[str, float]:
    """Return the features of a problem record (see :mod:`mezan.meta.features` for the QAP's).

    Parameters
    ----------
    problem : object
        A problem record (e.g. a :class:`mezan.problems.QAPProblem`).

    Returns
    -------
    dict
        Feature name -> float (NaN when not computed), from the type's registered extractor; ``{"n": size}`` for a
        type without one whose record has an ``n``.

    Raises
    ------
    mezan.errors.InvalidProblemError
        When the type has no registered extractor and the record has no ``n``.
    """
    kind = problem_type(problem)
    if kind in _EXTRACTORS:
        return _EXTRACTORS[kind](problem)
    if hasattr(problem, "n"):
        return {"n": float(problem.n)}
    raise InvalidProblemError(f"no feature extractor for problems of type {kind!r}; register one with "
                              "mezan.meta.features.register_features")


def _probe(problem: QAPProblem) -> tuple[float, float, float]:
    """(best objective, mean relative improvement, mean moves per descent) of the probe descents."""

    a, b, kind = kernel_arrays(problem, False)
    objective = getattr(_core, f"objective_{kind}")
    solve_kernel = getattr(_core, f"solve_{kind}")
    rng = np.random.default_rng(0)
    best, improvements, moves = math.inf, [], []
    cap = max(1, min(20 * problem.n, PROBE_WORK // (problem.n * problem.n)))  # a move costs O(n^2): work bounded
    for k in range(PROBE_DESCENTS):
        start = rng.permutation(problem.n).astype(np.int32)
        f0 = float(objective(a, b, start))
        control = _core.SolveControl(0.0, None)
        raw = solve_kernel(a, b, "local_first", k, 1, cap, start, None, control)
        f1 = float(raw.objective)
        best = min(best, f1)
        improvements.append((f0 - f1) / abs(f0) if f0 else 0.0)
        moves.append(float(raw.iterations))
    return best, float(np.mean(improvements)), float(np.mean(moves))


def qap_features(problem: QAPProblem) -> dict[str, float]:

    A, B, n = problem.A, problem.B, problem.n
    base = matrix_features(problem)  # densities, dominances, symmetry, structures (shared with QAPFlow)
    out = {
        "n": float(n),
        "density_A": base["density_A"],
        "density_B": base["density_B"],
        "flow_dominance": min(base["flow_dominance"], 1e4),  # inf for an all-zero matrix
        "distance_dominance": min(base["distance_dominance"], 1e4),
        "symmetric": float(base["symmetric"]),
        "diagonal": float(bool(np.any(np.diag(A)) or np.any(np.diag(B)))),
        "range_A": float(np.log10(1.0 + (float(A.max()) - float(A.min())))),  # in float: an int64 ptp may wrap
        "range_B": float(np.log10(1.0 + (float(B.max()) - float(B.min())))),
        "structured_A": float(base["structure_A"] != "dense"),
        "structured_B": float(base["structure_B"] != "dense"),
    }
    best, improvement, moves = _probe(problem)
    out["probe_improvement"] = improvement
    out["probe_moves"] = moves / n
    out["local_optimum_density"] = 1.0 / (1.0 + moves)
    out["glb_ratio"] = out["relaxation_ratio"] = math.nan
    if n <= RATIO_MAX_N and best > 0:

        out["glb_ratio"] = gilmore_lawler_bound(problem) / best
        a = np.ascontiguousarray(A, dtype=np.float64)
        b = np.ascontiguousarray(B, dtype=np.float64)
        relaxed = _core.faq(a, b, np.full(n, -1, dtype=np.int32), None, 10, 1e-3)
        out["relaxation_ratio"] = float(relaxed.objective) / best
    return out


register_features("qap", qap_features, QAP_FEATURES)


def allocation_features(problem: Any) -> dict[str, float]:
    """Size and shape of an allocation problem: items, budgets, groups, integer and utility shares,
    and how tight the budgets are (limit / cost of every item at its max, 1 when unbounded)."""
    items = problem.items
    tightness = []
    for budget, limit in problem.budgets.items():
        full = sum(i.cost.get(budget, 0.0) * (i.max if i.max is not None else math.inf) for i in items
                   if i.cost.get(budget, 0.0) > 0)
        tightness.append(min(1.0, limit / full) if full and math.isfinite(full) else 1.0)
    return {"n": float(len(items)), "budgets": float(len(problem.budgets)), "groups": float(len(problem.groups)),
            "integer_share": float(np.mean([i.integer for i in items])),
            "utility_share": float(np.mean([i.utility is not None for i in items])),
            "budget_tightness": float(np.mean(tightness))}


ALLOCATION_FEATURES = ("n", "budgets", "groups", "integer_share", "utility_share", "budget_tightness")
register_features("allocation", allocation_features, ALLOCATION_FEATURES)

# EvoFlow's permutation problems: their size (both are minimised: the tour length, the backward weight).
register_features("robust_allocation", lambda problem: {"n": float(problem.n)}, ("n",))  # max-min
register_features("tsp", lambda problem: {"n": float(problem.n)}, ("n",))
register_features("linear_ordering", lambda problem: {"n": float(problem.n)}, ("n",))


def vector(feats: dict[str, float], names: tuple[str, ...] = QAP_FEATURES) -> np.ndarray:
    """The features in a fixed order, ``names`` (default: the QAP features; see :func:`feature_names`),
    missing ones NaN."""
    return np.array([float(feats.get(k, math.nan)) for k in names], dtype=np.float64)
