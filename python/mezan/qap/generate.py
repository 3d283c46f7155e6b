"""Instance generators for sizes and structures the QAPLIB reference set lacks.

- :func:`taillard_a`: Taillard's uniform "tai..a" style — symmetric flows and distances drawn
  uniformly from 0..99, zero diagonals (hard, flat landscapes).
- :func:`grid_manhattan`: "nug/sko" style — Manhattan distances between the cells of a rows x cols
  grid, sparse symmetric integer flows.
- :func:`lipa`: an instance with a known optimal permutation, returned with it.
"""

from __future__ import annotations

import numpy as np

from mezan.errors import InvalidParameterError
from mezan.problems import QAPProblem
from mezan.running import integer_at_least


def _symmetric_uniform(rng: np.random.Generator, n: int, high: int) -> np.ndarray:
    m = rng.integers(0, high + 1, size=(n, n), dtype=np.int64)
    m = np.triu(m, 1)
    return m + m.T


def taillard_a(n: int, seed: int | None = None) -> QAPProblem:
    """Uniform random instance in the style of Taillard's ``tai..a`` (values 0..99, symmetric)."""
    n = integer_at_least("n", n, 2)
    rng = np.random.default_rng(seed)
    return QAPProblem(_symmetric_uniform(rng, n, 99), _symmetric_uniform(rng, n, 99), name=f"taillard_a{n}")


def grid_manhattan(rows: int, cols: int, seed: int | None = None, density: float = 0.6) -> QAPProblem:
    """Locations on a rows x cols grid with Manhattan distances (like nug/sko); flows are symmetric
    integers 1..9 on a random fraction ``density`` of the facility pairs, 0 elsewhere."""
    rows = integer_at_least("rows", rows, 1)
    cols = integer_at_least("cols", cols, 1)
    n = rows * cols
    if n < 2:
        raise InvalidParameterError(f"rows * cols must be >= 2, got {n}")
    if not 0 < density <= 1:
        raise InvalidParameterError(f"density must lie in (0, 1], got {density}")
    rng = np.random.default_rng(seed)
    r, c = np.divmod(np.arange(n), cols)
    B = np.abs(r[:, None] - r[None, :]) + np.abs(c[:, None] - c[None, :])
    mask = np.triu(rng.random((n, n)) < density, 1)
    flows = np.triu(rng.integers(1, 10, size=(n, n), dtype=np.int64), 1) * mask
    return QAPProblem(flows + flows.T, B.astype(np.int64), name=f"grid{rows}x{cols}")


def lipa(n: int, seed: int | None = None) -> tuple[QAPProblem, np.ndarray, int]:
    """Instance with a known optimum, built like Li & Pardalos (1992): perturb an instance whose
    objective is the same for every permutation, so that the perturbation's minimum is provable.

    Construction: B is symmetric with zero diagonal, 1 on the edges of a random graph G over the
    locations and uniform in 2..10 elsewhere. A = (J - I) + E, where E >= 0 is supported on the edges of
    G. For every permutation, ``f(p) = sum_{k != l} B[k, l] + sum_{(i, j) in G} E[i, j] B[p_i, p_j]``
    and every off-diagonal B is >= 1, so ``f(p) >= sum B + sum E`` — attained by the identity. The
    facilities are then relabelled at random, so the optimum is a random permutation.

    This follows the Li–Pardalos principle (a constant-cost instance plus a perturbation with a
    provable minimum); it is not a byte-for-byte reproduction of the original generator.

    Returns
    -------
    (problem, optimal_permutation, optimal_value)
    """
    n = integer_at_least("n", n, 3)
    rng = np.random.default_rng(seed)
    edges = np.triu(rng.random((n, n)) < min(1.0, 3.0 / n), 1)
    # Make G connected-ish: a random Hamiltonian path guarantees every location has an edge.
    order = rng.permutation(n)
    edges[np.minimum(order[:-1], order[1:]), np.maximum(order[:-1], order[1:])] = True
    edges = edges | edges.T
    B = _symmetric_uniform(rng, n, 8) + 2
    B[edges] = 1
    np.fill_diagonal(B, 0)
    E = np.where(edges, rng.integers(1, 10, size=(n, n)), 0)
    A = np.ones((n, n), dtype=np.int64) - np.eye(n, dtype=np.int64) + E
    # Relabel facilities: facility i of the new instance is old facility inv[i].
    relabel = rng.permutation(n)  # new index of old facility j
    inv = np.argsort(relabel)
    A_new = A[np.ix_(inv, inv)]
    optimum = inv.astype(np.int64)  # new facility i -> old facility inv[i] -> location inv[i]
    value = int(B.sum() + E.sum())  # the bound above, attained by `optimum`
    return QAPProblem(A_new, B.astype(np.int64), name=f"lipa{n}", best_known=value), optimum, value
