"""mezan.qap.solve: run one of the C++ QAP algorithms with a budget, progress and Ctrl-C support."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from mezan import _core
from mezan.deprecation import renamed
from mezan.errors import InstanceTooLargeError, InvalidParameterError, PartialMatchError
from mezan.problems import QAPProblem, max_abs
from mezan.qap.features import adaptive_method, detect_structure, features, is_dense
from mezan.qap.result import QAPResult
from mezan.running import (
    MAX_THREADS,
    available_memory,
    boolean,
    check_budget,
    integer_at_least,
    numeric_array,
    real_number,
    resolve_seed,
    run_controlled,
)

METHODS = tuple(_core.qap_method_names())  # the core's method table (solve.hpp): one list for Python, CLI and docs
"""rots: robust tabu search; anneal: simulated annealing; local: multi-start best-improvement
2-exchange; local_first: one first-improvement descent (scipy's "2opt"); faq: Frank–Wolfe relaxation;
bnb: exact branch and bound with Gilmore–Lawler bounds (proves optimality when it finishes);
memetic: population of RoTS-improved solutions recombined by EvoFlow's crossovers; iterated: RoTS
with perturbations, threads sharing the incumbent; hybrid: FAQ relaxation, then RoTS polish;
nesterov: Nesterov-accelerated entropic (Sinkhorn) projected gradient on the relaxation, then RoTS;
fft: hybrid with the relaxation's products by FFT for circulant, Toeplitz and lattice matrices
(detected automatically; GEMM for the others); breakout: breakout local search (Benlic & Hao 2013: adaptive jump
magnitude, directed/recency/random perturbations); balance: the relaxation and breakout in slices chosen by a
bandit controller, exchanging warm starts and immigrants; portfolio: breakout, RoTS and the relaxation under the
same controller on one thread, or one complementary member per thread"""

MODES = {
    "hybrid": "hybrid",
    "nesterov": "nesterov",
    "fft": "fft",
    "aggressive": "iterated",
    "enhanced": "memetic",
    "balance": "balance",
    "portfolio": "portfolio",
    "instance_adaptive": None,  # chosen from instance features by features.adaptive_method()
    "auto": None,  # chosen per instance by auto_method()
    "islands": None,  # auto's choice, dense rule off, per executor thread; rounds with migration (mezan.qap.islands)
}
"""The ten QAPFlow modes and the algorithm each runs (see the README)."""

EXACT_MAX_N = 15
SMALL_MAX_N = 30
TABLE_INIT_SECONDS_PER_N3 = 6e-10  # RoTS delta-table initialisation, n = 2,000 symmetric: 4.8 s
TABU_ITERATION_SECONDS_PER_N2 = 5e-10  # one RoTS iteration: 2.2 us at n = 60, 119 us at n = 500, 1,079 us at 1,000
MEMETIC_SETUPS = 3
"""The dense-data rule runs the memetic search only when the budget covers this many builds of its population."""


def memetic_pays(n: int, time_limit: float | None) -> bool:
    """True when the budget covers :data:`MEMETIC_SETUPS` builds of the memetic search's dense-data population
    (``_core.memetic_setup_iterations``: 20 members x 100 n RoTS iterations, ~5e-10 n^2 s each): about 10 s at
    n = 150, 125 s at n = 500. Below that the population is a few random-start tabu runs, and ``balance`` is kept."""
    setup = _core.memetic_setup_iterations(n, True) * TABU_ITERATION_SECONDS_PER_N2 * n**2
    return time_limit is None or not math.isfinite(time_limit) or time_limit >= MEMETIC_SETUPS * setup


def budget_is_short(n: int, time_limit: float | None) -> bool:
    """True when the budget is shorter than about five robust-tabu table initialisations
    (~6e-10 n^3 s each, measured here: 4.8 s at n = 2,000): search cannot pay before it ends."""
    return time_limit is not None and 0 < time_limit < 5 * TABLE_INIT_SECONDS_PER_N3 * n**3


def auto_method(n: int, time_limit: float | None, structures: tuple[str, str] = ("dense", "dense"),
                both_dense: bool = False) -> tuple[str, str]:
    """The "auto" mode's size-based policy: (method, why).

    n <= 15: exact branch and bound (proves optimality within seconds on QAPLIB-like instances, returns
    its best and bound otherwise); a budget too short for search (:func:`budget_is_short`): a
    relaxation first — ``fft`` when ``structures`` (of A and B, from
    :func:`mezan.qap.features.detect_structure`) has a structured matrix, else ``hybrid``; n <= 30:
    robust tabu search (reaches the best-known values of the QAPLIB instances of that size within a
    second); larger, when ``both_dense`` (both matrices at least 95 % non-zero, :func:`mezan.qap.features.is_dense`:
    unstructured random data such as Taillard-a) and the budget covers a few builds of its population
    (:func:`memetic_pays`): ``memetic`` — a population of robust-tabu-improved solutions, with its dense-data
    defaults (robust tabu search is the strongest local method on such data, Taillard 1995; measured in
    ``bench/frontier.py`` and on the benchmarks page); larger otherwise: ``balance`` — breakout local
    search and the relaxation in slices under a bandit controller (measured against the published BLS on every family
    of ``bench/qap_vs_bls.py``; the memetic search lost by 1.7 % on a Taillard-b instance where search with adaptive
    perturbation reaches 0 %).
    """
    if n <= EXACT_MAX_N:
        return "bnb", f"n = {n} <= {EXACT_MAX_N}: exact branch and bound"
    if budget_is_short(n, time_limit):
        structured = [s for s in structures if s != "dense"]
        if structured:
            return "fft", (f"time limit {time_limit:g} s is short for n = {n}: relaxation first with FFT products "
                           f"({', '.join(structured)}), then RoTS")
        return "hybrid", f"time limit {time_limit:g} s is short for n = {n}: relaxation first, then RoTS"
    if n <= SMALL_MAX_N:
        return "rots", f"n = {n} <= {SMALL_MAX_N}: robust tabu search"
    if both_dense and memetic_pays(n, time_limit):
        return "memetic", (f"n = {n} > {SMALL_MAX_N}, both matrices dense: memetic search (a population improved by "
                           "robust tabu search)")
    return "balance", (f"n = {n} > {SMALL_MAX_N}: balance (breakout local search and the relaxation, effort shifted "
                       "to the side that improves)")


def method_of(solver_name: str) -> str | None:
    """The QAP method a registered solver name runs: ``qap.<method>`` or ``qapflow.<mode>`` (concrete modes)."""
    family, _, name = solver_name.partition(".")
    if family == "qap" and name in METHODS:
        return name
    if family == "qapflow" and MODES.get(name):
        return MODES[name]
    return None


PORTFOLIO_LEADS = ("rots", "anneal", "local", "faq", "memetic", "iterated", "hybrid", "nesterov", "fft", "breakout")
"""Methods an advice may put at the head of a portfolio (the core orders the rest of its members)."""


def advised_method(problem: QAPProblem, advisor: Callable[[Any], Any] | None) -> tuple[str, str] | None:
    """What an advisor (e.g. MetaFlow's trained selector, :meth:`mezan.meta.MetaFlow.advisor`) chooses for the auto
    and instance_adaptive modes, as (method, why); None without an advisor or when it has nothing to offer."""
    if advisor is None:
        return None
    advice = advisor(problem)
    if advice is None:
        return None
    name, why = advice
    method = method_of(name)
    return None if method is None else (method, why)


def fft_explanation(problem: QAPProblem) -> str:
    """Which of A and B the fft mode multiplies by FFT, and as what (the core's automatic policy:
    FFT for a structure only from the size where it beats GEMM, ``_core.fft_pays_from``)."""
    parts = []
    for name, M in (("A", problem.A), ("B", problem.B)):
        kind = detect_structure(M)
        if kind == "dense":
            parts.append(f"{name} by GEMM (no structure)")
        elif problem.n < _core.fft_pays_from(kind):
            parts.append(f"{name} by GEMM ({kind}, FFT pays from n = {_core.fft_pays_from(kind)})")
        else:
            parts.append(f"{name} by FFT ({kind})")
    return "mode 'fft': relaxation products with " + " and ".join(parts) + ", then RoTS"


BOUND_MAX_N = 400
"""Lower bounds (Gilmore–Lawler and projection) computed automatically up to this n (both cost O(n^3))."""


def estimate_memory(n: int) -> int:
    """Bytes a solve needs for n: A, B, their transposes, the delta and tabu tables and the input copies
    (eight n x n arrays of 8-byte values)."""
    return 8 * 8 * n * n


def check_memory(n: int) -> None:
    need, have = estimate_memory(n), available_memory()
    if need > have:
        raise InstanceTooLargeError(
            f"n = {n} is too large for this machine: a solve needs an estimated {need / 2**30:.1f} GiB "
            f"(8 n^2 values of 8 bytes), only {have / 2**30:.1f} GiB is available"
        )


def kernel_arrays(problem: QAPProblem, maximize: bool) -> tuple[np.ndarray, np.ndarray, str]:
    """Pick the C++ value type: int64 when both matrices are integral and every objective/delta fits
    (checked by the core's int64_safe), double otherwise. Maximisation negates B."""
    A, B = problem.A, problem.B
    n = problem.n
    max_a, max_b = max_abs(A), max_abs(B)
    integral = all(np.issubdtype(m.dtype, np.integer) or bool(np.all(m == np.round(m))) for m in (A, B))
    if integral and max(max_a, max_b) < 2**62 and _core.int64_safe(max_a, max_b, n):  # every entry fits int64
        a, b, kind = np.ascontiguousarray(A, np.int64), np.ascontiguousarray(B, np.int64), "i64"
    else:
        a, b, kind = np.ascontiguousarray(A, np.float64), np.ascontiguousarray(B, np.float64), "f64"
    if maximize:
        b = -b
    return a, b, kind


def objective(A: Any, B: Any, permutation: Any) -> float:
    """Return the objective ``sum_ij A[i, j] * B[p[i], p[j]]`` of a permutation, computed by the core.

    Parameters
    ----------
    A : array_like, shape (n, n), or mezan.problems.QAPProblem
        The flow matrix (between facilities), or a problem record with ``B=None``.
    B : array_like, shape (n, n), or None
        The distance matrix (between locations); None when ``A`` is a problem record.
    permutation : array_like
        A permutation vector (``p[i]`` = location of facility i) or an n x n permutation matrix.

    Returns
    -------
    int or float
        The objective: an exact ``int`` for integer data (when every objective fits 64 bits), a float otherwise.

    Raises
    ------
    mezan.errors.InvalidProblemError
        When the matrices are not a valid QAP (square, same size, finite, n >= 2).
    mezan.errors.InvalidParameterError
        When ``permutation`` is not a permutation of 0..n-1 (or an n x n permutation matrix).
    """
    problem = A if isinstance(A, QAPProblem) and B is None else QAPProblem(A, B)
    p = as_permutation(permutation, problem.n, name="permutation")
    a, b, kind = kernel_arrays(problem, False)
    return getattr(_core, f"objective_{kind}")(a, b, p)


def gilmore_lawler_bound(A: Any, B: Any = None) -> float:
    """Return the Gilmore–Lawler lower bound on the minimum objective.

    The bound costs O(n^3).

    Parameters
    ----------
    A : array_like, shape (n, n), or mezan.problems.QAPProblem
        The flow matrix (between facilities), or a problem record with ``B=None``.
    B : array_like, shape (n, n), or None, optional
        The distance matrix (between locations); None when ``A`` is a problem record.

    Returns
    -------
    float
        A lower bound on ``min_p sum_ij A[i, j] * B[p[i], p[j]]``.

    Raises
    ------
    mezan.errors.InvalidProblemError
        When the matrices are not a valid QAP (square, same size, finite, n >= 2).
    """
    problem = A if isinstance(A, QAPProblem) and B is None else QAPProblem(A, B)
    a, b, kind = kernel_arrays(problem, False)
    return float(getattr(_core, f"gilmore_lawler_bound_{kind}")(a, b))


def projection_bound(A: Any, B: Any = None) -> float | None:
    """Return the projection (eigenvalue) lower bound of Hadley, Rendl & Wolkowicz (1992).

    The formula needs one symmetric matrix (the other is symmetrised). Cost: two symmetric eigenproblems of order
    n - 1 and one linear assignment problem, O(n^3). See ``cpp/include/mezan/qap/projection_bound.hpp``.

    Parameters
    ----------
    A : array_like, shape (n, n), or mezan.problems.QAPProblem
        The flow matrix (between facilities), or a problem record with ``B=None``.
    B : array_like, shape (n, n), or None, optional
        The distance matrix (between locations); None when ``A`` is a problem record.

    Returns
    -------
    float or None
        A lower bound on the minimum objective, rounded up for integer data; None when neither matrix is
        symmetric.

    Raises
    ------
    mezan.errors.InvalidProblemError
        When the matrices are not a valid QAP (square, same size, finite, n >= 2).
    """
    problem = A if isinstance(A, QAPProblem) and B is None else QAPProblem(A, B)
    a, b, kind = kernel_arrays(problem, False)
    value = _core.projection_bound(np.asarray(a, np.float64), np.asarray(b, np.float64))
    if value is None:
        return None
    return float(math.ceil(value)) if kind == "i64" else float(value)


def best_lower_bound(A: Any, B: Any = None) -> tuple[float, str]:
    """Return the best lower bound this module computes without search.

    That is the larger of the Gilmore–Lawler bound (:func:`gilmore_lawler_bound`) and the projection bound
    (:func:`projection_bound`). Neither dominates: the Gilmore–Lawler bound is stronger on sparse or dominant
    instances (chr, els, esc, scr, most tai..a), the projection bound on nug (n >= 14), had, tho, wil and tai..b —
    measured by ``bench/bounds.py``. Both cost O(n^3).

    Parameters
    ----------
    A : array_like, shape (n, n), or mezan.problems.QAPProblem
        The flow matrix (between facilities), or a problem record with ``B=None``.
    B : array_like, shape (n, n), or None, optional
        The distance matrix (between locations); None when ``A`` is a problem record.

    Returns
    -------
    value : float
        The lower bound on the minimum objective.
    method : str
        Which bound it is: "gilmore_lawler" or "projection".

    Raises
    ------
    mezan.errors.InvalidProblemError
        When the matrices are not a valid QAP (square, same size, finite, n >= 2).
    """
    problem = A if isinstance(A, QAPProblem) and B is None else QAPProblem(A, B)
    glb, pb = gilmore_lawler_bound(problem), projection_bound(problem)
    if pb is not None and pb > glb:
        return pb, "projection"
    return glb, "gilmore_lawler"


def fixed_from_partial_match(partial_match: Any, n: int, name: str = "partial_match") -> np.ndarray:
    """(m, 2) array of [facility, location] rows -> int32 array: location of each facility or -1."""
    fixed = np.full(n, -1, dtype=np.int32)
    if partial_match is None:
        return fixed
    pm = numeric_array(name, partial_match)
    if pm.size == 0:
        return fixed
    if pm.ndim != 2 or pm.shape[1] != 2:
        raise PartialMatchError(f"{name} must have shape (m, 2) of [facility, location] rows, got {pm.shape}")
    if not np.issubdtype(pm.dtype, np.integer):
        if not np.all(np.isfinite(pm)) or not np.all(pm == np.round(pm)):
            raise PartialMatchError(f"{name} must hold integer indices")
        if np.abs(pm).max() > n:  # out of range whatever it is: refused before a cast could overflow
            raise PartialMatchError(f"{name} indices must lie in [0, {n - 1}], got {pm.min():g}..{pm.max():g}")
        pm = pm.astype(np.int64)
    if pm.min() < 0 or pm.max() >= n:  # int64 here: any value out of range is caught, never cast
        raise PartialMatchError(f"{name} indices must lie in [0, {n - 1}], got {pm.min()}..{pm.max()}")
    for col, what in ((0, "facility"), (1, "location")):
        values, counts = np.unique(pm[:, col], return_counts=True)
        if (counts > 1).any():
            raise PartialMatchError(f"{name}: {what} {int(values[counts > 1][0])} appears more than once")
    fixed[pm[:, 0]] = pm[:, 1]
    return fixed


def as_permutation(value: Any, n: int, name: str = "initial") -> np.ndarray:
    """Accept a permutation vector (p[i] = location of i) or an n x n permutation matrix."""
    arr = numeric_array(name, value, allow_bool=True)
    if arr.ndim == 2:
        if arr.shape != (n, n) or not np.all((arr == 0) | (arr == 1)):
            raise InvalidParameterError(f"{name} as a matrix must be an {n}x{n} permutation matrix")
        if not (np.all(arr.sum(axis=0) == 1) and np.all(arr.sum(axis=1) == 1)):
            raise InvalidParameterError(f"{name} must be a permutation matrix (one 1 per row and column)")
        return np.argmax(arr, axis=1).astype(np.int32)
    if arr.ndim != 1 or arr.shape[0] != n:
        raise InvalidParameterError(f"{name} must be a permutation of length {n}, got shape {arr.shape}")
    if not np.issubdtype(arr.dtype, np.integer) or not np.array_equal(np.sort(arr), np.arange(n)):
        raise InvalidParameterError(f"{name} must be a permutation of 0..{n - 1}")
    return arr.astype(np.int32)


def solve(
    A: Any,
    B: Any,
    *,
    method: str | None = None,
    time_limit: float | None = 10.0,
    max_iter: int | None = None,
    seed: Any = None,
    maximize: bool = False,
    partial_match: Any = None,
    initial: Any = None,
    target: float | None = None,
    threads: int = 1,
    progress: Callable[[float, float], Any] | None = None,
    lower_bound: bool | None = None,
    stop: Any = None,
    mode: str | None = None,
    advisor: Callable[[Any], tuple[str, str] | None] | None = None,
    executor: Any = None,
    P0: Any = None,
    callback: Callable[[float, float], Any] | None = None,
) -> QAPResult:
    """Solve the quadratic assignment problem ``min_p sum_ij A[i, j] * B[p[i], p[j]]``.

    Give a ``method`` (one algorithm) or a ``mode`` (a QAPFlow mode), not both; with neither, ``mode="auto"``.

    Parameters
    ----------
    A : array_like, shape (n, n), or QAPProblem
        The flow matrix (between facilities), or a :class:`mezan.problems.QAPProblem` with ``B=None``.
    B : array_like, shape (n, n), or None
        The distance matrix (between locations); None when ``A`` is a problem record.
    method : str, optional
        One algorithm, a name of :data:`mezan.qap.METHODS` (whose docstring describes each): rots, anneal, local,
        local_first, faq, bnb, memetic, iterated, hybrid, nesterov, fft, breakout, balance, portfolio.
    time_limit : float or None, default 10.0
        Wall-clock budget in seconds, counted from the call (None or inf: none; then give ``max_iter`` or
        ``target``).
    max_iter : int, optional
        Iteration cap per thread (a move for rots/anneal/local_first; a move or a descent started for local; a
        Frank–Wolfe step for faq; a node for bnb; a RoTS iteration for memetic, iterated, hybrid and nesterov).
        With one thread and a cap, the result depends only on the input and the seed.
    seed : int, numpy.random.Generator or None
        Random seed in [0, 2**63 - 1]; the one used is reported in the result.
    maximize : bool, default False
        Maximise instead of minimise.
    partial_match : array_like, shape (m, 2), optional
        Rows ``[i, k]`` fixing facility i at location k.
    initial : array_like, optional
        The starting solution: a permutation vector (``p[i]`` = location of facility i) or a permutation matrix;
        it must agree with ``partial_match``.
    target : float, optional
        Stop as soon as an objective at least this good is found.
    threads : int, default 1
        Threads of the C++ pool: independent runs (different seeds, best kept), or the members of the
        ``portfolio``, ``aggressive`` and ``balance`` modes sharing one incumbent.
    progress : callable, optional
        ``progress(best_objective, elapsed_seconds)``, called from the calling thread when the best objective
        improves (polled every 20 ms and once at the end). Returning True stops the solve; an exception stops it
        and propagates.
    lower_bound : bool or None
        Compute a lower bound, the larger of the Gilmore–Lawler and projection bounds (:func:`best_lower_bound`):
        None computes it when n <= 400 (it costs O(n^3)), True or False forces it.
    stop : threading.Event, optional
        Setting it cancels the solve (status "cancelled", the best so far returned).
    mode : str, optional
        A QAPFlow mode, a key of :data:`mezan.qap.MODES`: hybrid, nesterov, fft, aggressive, enhanced, balance,
        portfolio, instance_adaptive, auto (the default when no ``method`` is given: exact branch and bound for
        n <= 15, RoTS up to n = 30, above it memetic when both matrices are dense and the budget allows, balance
        otherwise; :func:`auto_method`) or islands (auto's choice without the dense-data rule, on every
        thread of ``executor``, in rounds with ring migration). The result records the mode, the method that
        ran and why (``explanation``).
    advisor : callable, optional
        ``advisor(problem) -> (method, why) or None``, asked first by the auto and instance_adaptive modes and by
        portfolio to choose its lead (MetaFlow passes its trained selector, :meth:`mezan.meta.MetaFlow.advisor`).
        This function reads nothing else: the same arguments and seed give the same result, whatever is stored.
    executor : mezan.dist.Executor, distributed.Client, str or None, optional
        Where ``mode="islands"`` runs its islands: an executor, a Dask client or scheduler address, or None for
        ``$MEZAN_SCHEDULER`` when set, else this machine's threads. Other modes refuse it.
    P0 : array_like, optional
        Deprecated name of ``initial`` (a DeprecationWarning; removed in the next release).
    callback : callable, optional
        Deprecated name of ``progress`` (a DeprecationWarning; removed in the next release).

    Returns
    -------
    QAPResult
        The best permutation found (``solution``, also ``permutation``), its ``objective``, ``lower_bound``,
        ``gap``, ``status`` ("optimal", "timeout", "cancelled" or "feasible"), ``method``, ``mode``,
        ``explanation``, ``seed``, ``wall_time``, ``iterations`` and the anytime ``trace``. On Ctrl-C the best
        permutation so far is returned with status "cancelled".

    Raises
    ------
    mezan.errors.InvalidProblemError
        Matrices that are not square, of different sizes, not finite or out of the representable range.
    mezan.errors.InvalidParameterError
        An option out of range or of the wrong type, or both ``method`` and ``mode``; the message names it.
    mezan.errors.PartialMatchError
        A ``partial_match`` that is not a partial matching, or that ``initial`` contradicts.
    """
    initial = renamed("mezan.qap.solve", "P0", "initial", P0, initial)
    progress = renamed("mezan.qap.solve", "callback", "progress", callback, progress)
    request = validate(A, B, method=method, mode=mode, time_limit=time_limit, max_iter=max_iter, seed=seed,
                       maximize=maximize, partial_match=partial_match, initial=initial, target=target, threads=threads,
                       progress=progress, lower_bound=lower_bound, stop=stop, advisor=advisor, executor=executor)
    choice = choose(request)
    if choice.mode == "islands":
        from mezan.qap.islands import solve_islands  # import cycle: mezan.qap.islands imports mezan.qap.solve

        return solve_islands(request.problem, executor=request.executor, time_limit=request.time_limit,
                             max_iter=None if request.cap < 0 else request.cap, seed=request.seed,
                             initial=request.initial, target=request.target, progress=request.progress,
                             stop=request.stop, lower_bound=request.lower_bound)
    return build(request, choice, run(request, choice))


@dataclass(frozen=True)
class Request:
    """A solve's arguments once checked (:func:`validate`): what :func:`choose`, :func:`run` and :func:`build`
    read."""

    problem: QAPProblem
    method: str | None
    mode: str | None
    limit: float  # the core's time limit: 0.0 for none
    cap: int  # the core's iteration cap: -1 for none
    seed: int
    maximize: bool
    fixed: np.ndarray  # fixed[i] = location of facility i, -1 where free
    initial: np.ndarray | None
    target: float | None
    threads: int
    progress: Callable[[float, float], Any] | None
    lower_bound: bool | None
    stop: Any
    advisor: Callable[[Any], Any] | None
    executor: Any

    @property
    def time_limit(self) -> float | None:
        return None if self.limit == 0.0 else self.limit


@dataclass(frozen=True)
class Choice:
    """What runs (:func:`choose`): the method, the mode it came from, why, and a portfolio's leading members."""

    method: str
    mode: str | None
    explanation: str
    members: tuple[str, ...] = ()

    @classmethod
    def of(cls, mode: str, picked: tuple[str, str]) -> Choice:
        """A mode's choice from a rule's (method, why)."""
        return cls(picked[0], mode, picked[1])


def validate(A: Any, B: Any, *, method: Any, mode: Any, time_limit: Any, max_iter: Any, seed: Any, maximize: Any,
             partial_match: Any, initial: Any, target: Any, threads: Any, progress: Any, lower_bound: Any, stop: Any,
             advisor: Any, executor: Any) -> Request:
    """Check every argument of :func:`solve` (errors name the argument) and the memory the solve needs."""
    problem = A if isinstance(A, QAPProblem) and B is None else QAPProblem(A, B)
    n = problem.n
    if method is not None and mode is not None:
        raise InvalidParameterError(f"give method (one algorithm) or mode (a QAPFlow mode), not both; got "
                                    f"method={method!r} and mode={mode!r}")
    if method is None and mode is None:
        mode = "auto"
    if mode is not None and (not isinstance(mode, str) or mode not in MODES):
        raise InvalidParameterError(f"mode must be one of {', '.join(MODES)}; got {mode!r}")
    if method is not None and (not isinstance(method, str) or method not in METHODS):
        raise InvalidParameterError(f"method must be one of {', '.join(METHODS)}; got {method!r}")
    limit, cap = check_budget(time_limit, max_iter)
    if limit == 0.0 and cap < 0 and target is None and method != "local_first":
        raise InvalidParameterError("give a finite time_limit, max_iter or target: otherwise the solve never ends")
    if mode == "islands" and limit == 0.0 and cap < 0:
        raise InvalidParameterError("mode 'islands' runs in rounds of a time limit or of max_iter: give one")
    if executor is not None and mode != "islands":
        raise InvalidParameterError(f"executor applies to mode='islands' only; got mode={mode!r}")
    threads = integer_at_least("threads", threads, 1, MAX_THREADS)
    if target is not None:
        target = real_number("target", target, finite=False)  # -inf: never reached; +inf: any solution will do
    maximize = boolean("maximize", maximize)
    if lower_bound is not None:
        lower_bound = boolean("lower_bound", lower_bound)
    if progress is not None and not callable(progress):
        raise InvalidParameterError("progress must be callable as progress(best_objective, elapsed)")
    check_memory(n)
    fixed = fixed_from_partial_match(partial_match, n)
    if mode == "islands" and (maximize or (fixed >= 0).any()):
        raise InvalidParameterError("mode 'islands' minimises without partial_match; give another mode")
    if initial is not None:
        initial = as_permutation(initial, n)
        clash = np.nonzero((fixed >= 0) & (initial != fixed))[0]
        if clash.size:
            i = int(clash[0])
            raise PartialMatchError(
                f"initial conflicts with partial_match: initial puts facility {i} at location {initial[i]}, "
                f"partial_match fixes it at {fixed[i]}"
            )
    return Request(problem=problem, method=method, mode=mode, limit=limit, cap=cap, seed=resolve_seed(seed),
                   maximize=maximize, fixed=fixed, initial=initial, target=target, threads=threads, progress=progress,
                   lower_bound=lower_bound, stop=stop, advisor=advisor, executor=executor)


def choose(request: Request) -> Choice:
    """The method a request runs: the one it names, or its mode's choice (an advisor first where the mode asks
    one), with the reason."""
    problem, mode, n, time_limit = request.problem, request.mode, request.problem.n, request.time_limit
    if mode is None:
        return Choice(str(request.method), None, f"method {request.method!r} requested")
    learned = advised_method(problem, request.advisor) if mode in ("auto", "instance_adaptive", "portfolio") else None
    if learned is not None and mode == "portfolio":  # the advice leads the portfolio instead of replacing it
        members = (learned[0],) if learned[0] in PORTFOLIO_LEADS else ()
        lead = f"led by {learned[0]!r} ({learned[1]})" if members else f"the advice {learned[0]!r} cannot lead it"
        return Choice("portfolio", mode, f"mode 'portfolio', {lead}", members)
    if learned is not None:
        return Choice(learned[0], mode, learned[1])
    if mode == "auto":
        short = n > EXACT_MAX_N and budget_is_short(n, time_limit)
        structures = (detect_structure(problem.A), detect_structure(problem.B)) if short else ("dense", "dense")
        both_dense = n > SMALL_MAX_N and is_dense(problem.A) and is_dense(problem.B)
        return Choice.of(mode, auto_method(n, time_limit, structures, both_dense))
    if mode == "fft":
        return Choice("fft", mode, fft_explanation(problem))
    if mode == "instance_adaptive":
        return Choice.of(mode, adaptive_method(features(problem)))
    if mode == "islands":  # each island runs auto's choice for its round (mezan.qap.islands)
        return Choice.of(mode, auto_method(n, time_limit))
    return Choice(str(MODES[mode]), mode, f"mode {mode!r} runs {MODES[mode]!r}")


@dataclass(frozen=True)
class Run:
    """What the core returned (:func:`run`), with the kernel's value type and the objective's sign."""

    raw: Any
    wall_time: float
    interrupted: bool
    kind: str  # "i64" or "f64"
    sign: int  # -1 when maximising (the core minimises -objective)


def run(request: Request, choice: Choice) -> Run:
    """Run the C++ kernel of the chosen method (the GIL released; progress, stop and Ctrl-C relayed)."""
    sign = -1 if request.maximize else 1
    a, b, kind = kernel_arrays(request.problem, request.maximize)
    core_target = None if request.target is None else sign * float(request.target)
    control = _core.SolveControl(request.limit, core_target)
    solve_kernel = getattr(_core, f"solve_{kind}")
    fixed = request.fixed if (request.fixed >= 0).any() else None
    controlled = run_controlled(
        lambda: solve_kernel(a, b, choice.method, request.seed, request.threads, request.cap, request.initial, fixed,
                             control, list(choice.members)),
        control, progress=request.progress, sign=sign, stop=request.stop,
    )
    return Run(controlled.result, controlled.wall_time, controlled.interrupted, kind, sign)


STOP_REASONS = {
    "time_limit": "time limit reached",
    "iteration_limit": "iteration cap reached",
    "target": "target objective reached",
    "cancelled": "cancelled",
}
"""Why a run ended, in words (the core's stop reason -> the result's ``reason``)."""


def build(request: Request, choice: Choice, done: Run) -> QAPResult:
    """The result record of a run: the objective with its sign, the bound, the status and the reason."""
    raw, problem, maximize = done.raw, request.problem, request.maximize
    objective = done.sign * raw.objective
    bound = None
    bound_method = None
    if raw.proven_optimal and not maximize:
        bound, bound_method = float(objective), "branch_and_bound"
    elif not maximize and (request.lower_bound or (request.lower_bound is None and problem.n <= BOUND_MAX_N)):
        bound, bound_method = best_lower_bound(problem)
    reason = "cancelled" if done.interrupted else raw.reason.name
    if raw.proven_optimal or (bound is not None and objective <= bound + 1e-9 * max(1.0, abs(bound))):
        status = "optimal"
    elif reason == "cancelled":
        status = "cancelled"
    elif reason == "time_limit":
        status = "timeout"
    else:
        status = "feasible"
    gap = None
    if bound is not None:
        gap = 0.0 if objective == bound else (objective - bound) / max(abs(objective), 1e-12)
    finished = {"local_first": "converged (local optimum)", "bnb": "search tree exhausted"}.get(choice.method,
                                                                                                "finished")
    return QAPResult(
        solution=np.asarray(raw.permutation, dtype=np.int64),
        objective=objective,
        lower_bound=bound,
        upper_bound=None if maximize else objective,
        gap=gap,
        status=status,
        method=choice.method,
        mode=choice.mode,
        bound_method=bound_method,
        explanation=f"{choice.explanation}; {raw.summary}" if raw.summary else choice.explanation,
        seed=request.seed,
        wall_time=done.wall_time,
        iterations=int(raw.iterations),
        trace=[(float(tr), done.sign * (int(v) if done.kind == "i64" else v)) for tr, v in raw.trace],
        reason=finished if reason == "none" else STOP_REASONS.get(reason, reason),
    )
