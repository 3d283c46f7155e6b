"""A drop-in replacement for ``scipy.optimize.quadratic_assignment`` backed by the C++ core.

Same signature, same conventions (``col_ind[i]`` = node of B matched to node i of A, minimise
``trace(A^T P B P^T)`` unless ``maximize``), same result fields (``col_ind``, ``fun``, ``nit``),
same options per method:

- ``"faq"``: maximize, partial_match, rng, P0 ("barycenter", "randomized" or an (n-m) x (n-m)
  doubly stochastic matrix), shuffle_input (accepted; our LAP breaks ties deterministically, so
  shuffling only changes the seed use), maxiter (30), tol (0.03). One Frank–Wolfe run, as scipy.
- ``"2opt"``: maximize, partial_match, rng, partial_guess. One first-improvement descent, as scipy.
- ``"rots"`` (default), ``"anneal"``, ``"local"``: maximize, partial_match, rng, P0 (a permutation
  vector or matrix), maxiter (default 100 n iterations for rots/local, 2000 n for anneal — fixed
  caps keep results reproducible for a given rng), time_limit (seconds, default 10), target.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mezan import _core
from mezan.errors import InvalidParameterError
from mezan.problems import QAPProblem
from mezan.qap.solve import as_permutation, fixed_from_partial_match, kernel_arrays, objective, solve
from mezan.running import boolean, integer_at_least, numeric_array, real_number, resolve_seed


class OptimizeResult(dict):
    """Dictionary with attribute access, like ``scipy.optimize.OptimizeResult``."""

    def __getattr__(self, name: str) -> Any:
        try:
            return self[name]
        except KeyError as exc:
            raise AttributeError(name) from exc

    __setattr__ = dict.__setitem__
    __delattr__ = dict.__delitem__

    def __repr__(self) -> str:
        return "\n".join(f"{k:>8}: {v!r}" for k, v in self.items())


_COMMON = {"maximize", "partial_match", "rng"}
_OPTIONS = {
    "faq": _COMMON | {"P0", "shuffle_input", "maxiter", "tol"},
    "2opt": _COMMON | {"partial_guess"},
    "rots": _COMMON | {"P0", "maxiter", "time_limit", "target"},
    "anneal": _COMMON | {"P0", "maxiter", "time_limit", "target"},
    "local": _COMMON | {"P0", "maxiter", "time_limit", "target"},
}
_DEFAULT_ITERATIONS_PER_N = {"rots": 100, "local": 100, "anneal": 2000}


def quadratic_assignment(A, B, method: str = "rots", options: dict | None = None) -> OptimizeResult:
    """Approximate the QAP (or graph matching) like ``scipy.optimize.quadratic_assignment``.

    Minimise (or, with ``maximize``, maximise) ``trace(A^T P B P^T)`` over the permutation matrices P, that is
    ``sum_ij A[i, j] * B[col_ind[i], col_ind[j]]``. Same signature, conventions and result fields as scipy's; the
    default method is robust tabu search instead of FAQ.

    Parameters
    ----------
    A : array_like, shape (n, n)
        The square matrix A in the objective above (the flows, between the nodes of A).
    B : array_like, shape (n, n)
        The square matrix B in the objective above (the distances, between the nodes of B).
    method : {"rots", "anneal", "local", "faq", "2opt"}, default "rots"
        The algorithm: robust tabu search, simulated annealing, multi-start best-improvement 2-exchange, one
        Frank–Wolfe run on the relaxation (as scipy's "faq"), or one first-improvement 2-exchange descent (as
        scipy's "2opt").
    options : dict, optional
        Options of the method; a name the method does not take raises InvalidParameterError. Every method takes
        ``maximize`` (bool, default False), ``partial_match`` ((m, 2) array of ``[node of A, node of B]`` rows
        fixed in the matching) and ``rng`` (an int seed, a numpy Generator or None). Besides:

        - "faq": ``P0`` ("barycenter", the default, "randomized", or an (n - m) x (n - m) doubly stochastic
          matrix over the free nodes), ``shuffle_input`` (accepted for compatibility; no effect, the LAP breaks
          ties deterministically), ``maxiter`` (Frank–Wolfe steps, default 30) and ``tol`` (default 0.03).
        - "2opt": ``partial_guess`` ((k, 2) array of ``[node of A, node of B]`` rows: the start's assignment
          where ``partial_match`` does not fix one; random elsewhere).
        - "rots", "anneal", "local": ``P0`` (the start: a permutation vector or matrix), ``maxiter`` (default
          100 n iterations for rots and local, 2000 n for anneal: fixed caps keep results reproducible for a
          given ``rng``), ``time_limit`` (seconds, default 10) and ``target`` (stop once an objective at least
          this good is found).

    Returns
    -------
    OptimizeResult
        ``col_ind`` (int array: ``col_ind[i]`` is the node of B matched to node i of A), ``fun`` (the objective
        of that matching) and ``nit`` (iterations done).

    Raises
    ------
    mezan.errors.InvalidProblemError
        When A and B are not square matrices of the same size with finite entries.
    mezan.errors.InvalidParameterError
        An unknown method or option, or an option value out of range or of the wrong type; the message names it.
    mezan.errors.PartialMatchError
        A ``partial_match`` (or ``partial_guess``) that is not a partial matching, or that ``P0`` contradicts.
    """
    if not isinstance(method, str) or method not in _OPTIONS:
        raise InvalidParameterError(f"method must be one of {', '.join(_OPTIONS)}; got {method!r}")
    options = dict(options or {})
    unknown = sorted(set(options) - _OPTIONS[method])
    if unknown:
        raise InvalidParameterError(
            f"unknown option(s) {unknown} for method {method!r}; accepted: {sorted(_OPTIONS[method])}"
        )
    problem = QAPProblem(A, B)
    n = problem.n
    maximize = options.get("maximize", False)
    if isinstance(maximize, (int, np.integer)) and not isinstance(maximize, (bool, np.bool_)) and maximize in (0, 1):
        maximize = bool(maximize)  # scipy takes any truthy value; 0 and 1 are the unambiguous ones
    maximize = boolean("maximize", maximize)
    partial_match = options.get("partial_match")
    seed = resolve_seed(options.get("rng"))

    if method == "faq":
        return _faq(problem, maximize, partial_match, seed, options)
    if method == "2opt":
        fixed = fixed_from_partial_match(partial_match, n)
        guess = fixed_from_partial_match(options.get("partial_guess"), n, name="partial_guess")
        start = _complete(np.where(fixed >= 0, fixed, guess), seed)
        result = solve(problem, None, method="local_first", time_limit=None, seed=seed, maximize=maximize,
                       partial_match=partial_match, initial=start, lower_bound=False)
    else:
        maxiter = options.get("maxiter", _DEFAULT_ITERATIONS_PER_N[method] * n)
        start = None if options.get("P0") is None else as_permutation(options["P0"], n, name="P0")  # scipy's name
        result = solve(problem, None, method=method, time_limit=options.get("time_limit", 10.0),
                       max_iter=maxiter, seed=seed, maximize=maximize, partial_match=partial_match,
                       initial=start, target=options.get("target"), lower_bound=False)
    return OptimizeResult(col_ind=result.permutation, fun=result.objective, nit=result.iterations)


def _complete(partial: np.ndarray, seed: int) -> np.ndarray:
    """Fill the -1 entries of a partial assignment with the unused locations, in random order."""
    rng = np.random.default_rng(seed)
    used = np.zeros(partial.size, dtype=bool)
    used[partial[partial >= 0]] = True
    p = partial.copy()
    p[p < 0] = rng.permutation(np.nonzero(~used)[0])
    return p.astype(np.int32)


def _faq(problem: QAPProblem, maximize: bool, partial_match, seed: int, options: dict) -> OptimizeResult:
    n = problem.n
    fixed = fixed_from_partial_match(partial_match, n)
    m = int((fixed < 0).sum())
    maxiter = options.get("maxiter", 30)
    tol = options.get("tol", 0.03)
    maxiter = integer_at_least("maxiter", maxiter, 1, 2**31 - 1)  # the core's Frank-Wolfe counter is an int
    if real_number("tol", tol, finite=False) <= 0:
        raise InvalidParameterError(f"tol must be a positive number, got {tol!r}")
    P0 = options.get("P0", "barycenter")
    if isinstance(P0, str):
        if P0 == "barycenter":
            start = None
        elif P0 == "randomized":
            start = np.asarray(_core.faq_randomized_start(m, seed)).reshape(m, m)
        else:
            raise InvalidParameterError(f"P0 must be 'barycenter', 'randomized' or a matrix, got {P0!r}")
    else:
        start = numeric_array("P0", P0).astype(np.float64)
        if start.shape != (m, m):
            raise InvalidParameterError(f"P0 must have shape ({m}, {m}) (free nodes only), got {start.shape}")
        if (start < 0).any() or not (np.allclose(start.sum(0), 1) and np.allclose(start.sum(1), 1)):
            raise InvalidParameterError("P0 must be doubly stochastic (non-negative, rows and columns sum to 1)")
        start = np.ascontiguousarray(start)
    a, b, _ = kernel_arrays(problem, maximize)
    out = _core.faq(a.astype(np.float64), b.astype(np.float64), fixed, start, int(maxiter), float(tol))
    perm = np.asarray(out.permutation, dtype=np.int64)
    return OptimizeResult(col_ind=perm, fun=objective(problem, None, perm), nit=int(out.iterations))
