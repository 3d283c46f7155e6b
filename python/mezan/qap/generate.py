"""Instance generators for sizes and structures the QAPLIB reference set lacks.

- :func:`taillard_a`: Taillard's uniform "tai..a" style — symmetric flows and distances drawn
  uniformly from 0..99, zero diagonals (hard, flat landscapes).
- :func:`grid_manhattan`: "nug/sko" style — Manhattan distances between the cells of a rows x cols
  grid, sparse symmetric integer flows.
- :func:`ring_circulant`: locations on a ring (circular distances), circulant flows — both matrices
  structured, the case the fft mode multiplies by FFT.
- :func:`taillard_b`: Taillard's "real-life-like" ``tai..b`` style — Euclidean distances between
  clustered points, sparse heavy-tailed flows (high flow dominance).
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


def ring_circulant(n: int, seed: int | None = None, density: float = 0.3) -> QAPProblem:
    """n locations on a ring, distance min(|k - l|, n - |k - l|); circulant symmetric flows
    ``A[i, j] = w[(j - i) mod n]`` with ``w[d] = u[d] + u[n - d]`` (so that A is symmetric), u integer
    1..9 on a random fraction ``density`` of the offsets d = 1..n-1 and 0 elsewhere."""
    n = integer_at_least("n", n, 3)
    if not 0 < density <= 1:
        raise InvalidParameterError(f"density must lie in (0, 1], got {density}")
    rng = np.random.default_rng(seed)
    w = rng.integers(1, 10, n) * (rng.random(n) < density)
    w[0] = 0
    w = w + np.roll(w[::-1], 1)  # w[d] = w[n - d]: symmetric flows
    i, j = np.indices((n, n))
    ring = np.minimum(np.abs(i - j), n - np.abs(i - j))
    return QAPProblem(w[(j - i) % n].astype(np.int64), ring.astype(np.int64), name=f"ring{n}")


def taillard_b(n: int, seed: int | None = None) -> QAPProblem:
    """In the style of Taillard's ``tai..b`` (1995): locations are points in clusters of about 8
    around uniform centres in a 1000 x 1000 square, distances their rounded Euclidean distances;
    flows are symmetric, zero for 70 % of the pairs and ``floor(10 ** U(0, 3))`` otherwise (few
    large flows dominate). Not a byte-for-byte reproduction of Taillard's generator."""
    n = integer_at_least("n", n, 2)
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1000, size=(max(1, n // 8), 2))
    points = centres[rng.integers(len(centres), size=n)] + rng.normal(0, 40, size=(n, 2))
    B = np.rint(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    flows = np.floor(10.0 ** rng.uniform(0, 3, size=(n, n))).astype(np.int64) * (rng.random((n, n)) < 0.3)
    flows = np.triu(flows, 1)
    return QAPProblem(flows + flows.T, B, name=f"taillard_b{n}")


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
