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
    """Generate a uniform random instance in the style of Taillard's ``tai..a``.

    Flows and distances are symmetric integer matrices with zero diagonals and off-diagonal entries drawn uniformly
    from 0..99 (hard instances with flat landscapes).

    Parameters
    ----------
    n : int
        Size (facilities and locations), at least 2.
    seed : int or None, optional
        Seed of the random generator (``numpy.random.default_rng``): the same seed gives the same instance; None
        draws fresh entropy.

    Returns
    -------
    mezan.problems.QAPProblem
        The instance, named ``taillard_a<n>``.

    Raises
    ------
    mezan.errors.InvalidParameterError
        When ``n`` is not an integer >= 2.
    """
    n = integer_at_least("n", n, 2)
    rng = np.random.default_rng(seed)
    return QAPProblem(_symmetric_uniform(rng, n, 99), _symmetric_uniform(rng, n, 99), name=f"taillard_a{n}")


def grid_manhattan(rows: int, cols: int, seed: int | None = None, density: float = 0.6) -> QAPProblem:
    """Generate an instance on a grid with Manhattan distances, in the style of nug and sko.

    The locations are the cells of a ``rows`` x ``cols`` grid, B their Manhattan distances; the flows are symmetric
    integers 1..9 on a random fraction ``density`` of the facility pairs, 0 elsewhere.

    Parameters
    ----------
    rows : int
        Rows of the grid, at least 1.
    cols : int
        Columns of the grid, at least 1 (``rows * cols`` >= 2).
    seed : int or None, optional
        Seed of the random generator (``numpy.random.default_rng``): the same seed gives the same instance; None
        draws fresh entropy.
    density : float, default 0.6
        Fraction of the facility pairs with a non-zero flow, in (0, 1].

    Returns
    -------
    mezan.problems.QAPProblem
        The instance of size ``rows * cols``, named ``grid<rows>x<cols>``.

    Raises
    ------
    mezan.errors.InvalidParameterError
        When ``rows`` or ``cols`` is not a positive integer, ``rows * cols`` < 2, or ``density`` lies outside
        (0, 1].
    """
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
    """Generate an instance with circular distances and circulant flows.

    The n locations lie on a ring, the distance of k and l being ``min(abs(k - l), n - abs(k - l))``; the flows
    are circulant and symmetric, ``A[i, j] = w[(j - i) mod n]`` with ``w[d] = u[d] + u[n - d]`` (so that A is
    symmetric), u an integer 1..9 on a random fraction ``density`` of the offsets d = 1..n-1 and 0 elsewhere. Both
    matrices are structured: the case the ``fft`` mode multiplies by FFT.

    Parameters
    ----------
    n : int
        Size, at least 3.
    seed : int or None, optional
        Seed of the random generator (``numpy.random.default_rng``): the same seed gives the same instance; None
        draws fresh entropy.
    density : float, default 0.3
        Fraction of the offsets with a non-zero u, in (0, 1].

    Returns
    -------
    mezan.problems.QAPProblem
        The instance, named ``ring<n>``.

    Raises
    ------
    mezan.errors.InvalidParameterError
        When ``n`` is not an integer >= 3 or ``density`` lies outside (0, 1].
    """
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
    """Generate a real-life-like instance in the style of Taillard's ``tai..b`` (1995).

    The locations are points in clusters of about 8 around uniform centres in a 1000 x 1000 square, the distances
    their rounded Euclidean distances; the flows are symmetric, zero for 70 % of the pairs and
    ``floor(10 ** U(0, 3))`` otherwise (few large flows dominate). Not a byte-for-byte reproduction of Taillard's
    generator.

    Parameters
    ----------
    n : int
        Size, at least 2.
    seed : int or None, optional
        Seed of the random generator (``numpy.random.default_rng``): the same seed gives the same instance; None
        draws fresh entropy.

    Returns
    -------
    mezan.problems.QAPProblem
        The instance, named ``taillard_b<n>``.

    Raises
    ------
    mezan.errors.InvalidParameterError
        When ``n`` is not an integer >= 2.
    """
    n = integer_at_least("n", n, 2)
    rng = np.random.default_rng(seed)
    centres = rng.uniform(0, 1000, size=(max(1, n // 8), 2))
    points = centres[rng.integers(len(centres), size=n)] + rng.normal(0, 40, size=(n, 2))
    B = np.rint(np.hypot(*(points[:, None, :] - points[None, :, :]).transpose(2, 0, 1))).astype(np.int64)
    flows = np.floor(10.0 ** rng.uniform(0, 3, size=(n, n))).astype(np.int64) * (rng.random((n, n)) < 0.3)
    flows = np.triu(flows, 1)
    return QAPProblem(flows + flows.T, B, name=f"taillard_b{n}")


def lipa(n: int, seed: int | None = None) -> tuple[QAPProblem, np.ndarray, int]:
    """Generate an instance with a known optimum, built like Li & Pardalos (1992).

    The construction perturbs an instance whose objective is the same for every permutation, so that the
    perturbation's minimum is provable.

    Construction: B is symmetric with zero diagonal, 1 on the edges of a random graph G over the
    locations and uniform in 2..10 elsewhere. A = (J - I) + E, where E >= 0 is supported on the edges of
    G. For every permutation, ``f(p) = sum_{k != l} B[k, l] + sum_{(i, j) in G} E[i, j] B[p_i, p_j]``
    and every off-diagonal B is >= 1, so ``f(p) >= sum B + sum E`` — attained by the identity. The
    facilities are then relabelled at random, so the optimum is a random permutation.

    This follows the Li–Pardalos principle (a constant-cost instance plus a perturbation with a
    provable minimum); it is not a byte-for-byte reproduction of the original generator.

    Parameters
    ----------
    n : int
        Size, at least 3.
    seed : int or None, optional
        Seed of the random generator (``numpy.random.default_rng``): the same seed gives the same instance; None
        draws fresh entropy.

    Returns
    -------
    problem : mezan.problems.QAPProblem
        The instance, named ``lipa<n>``, its ``best_known`` set to the optimal value.
    optimal_permutation : numpy.ndarray of int64, shape (n,)
        An optimal permutation (``optimal_permutation[i]`` = location of facility i).
    optimal_value : int
        The optimal objective.

    Raises
    ------
    mezan.errors.InvalidParameterError
        When ``n`` is not an integer >= 3.
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
