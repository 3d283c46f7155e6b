"""FFT products of the relaxation: structure detection, agreement with dense products, the fft mode."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezan import _core
from mezan.errors import InvalidProblemError
from mezan.problems import QAPProblem
from mezan.qap import solve
from mezan.qap.features import detect_structure

from conftest import numpy_objective

KINDS = ("circulant", "toeplitz", "grid_manhattan", "grid_euclidean")


def circulant(c):
    i, j = np.indices((len(c), len(c)))
    return c[(j - i) % len(c)]


def toeplitz(t, n):  # t[k] is the value on the diagonal j - i = k - (n - 1)
    i, j = np.indices((n, n))
    return t[j - i + n - 1]


def lattice(rows, cols, kind, unit=1.0):
    y, x = np.divmod(np.arange(rows * cols), cols)
    dy, dx = np.abs(y[:, None] - y), np.abs(x[:, None] - x)
    return unit * (dy + dx if kind == "grid_manhattan" else np.hypot(dy, dx))


def structured(kind, rows, cols, rng, symmetric):
    n = rows * cols
    if kind == "circulant":
        c = rng.uniform(0, 10, n)
        return circulant(c + np.roll(c[::-1], 1) if symmetric else c)
    if kind == "toeplitz":
        t = rng.uniform(0, 10, 2 * n - 1)
        return toeplitz(t + t[::-1] if symmetric else t, n)
    return lattice(rows, cols, kind, unit=float(rng.uniform(0.5, 3)))


def dense_gradient(A, B, P):
    return A @ P @ B.T + A.T @ P @ B


@st.composite
def structured_pairs(draw):
    rows, cols = draw(st.integers(2, 6)), draw(st.integers(2, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    kinds = [draw(st.sampled_from((*KINDS, "dense"))) for _ in range(2)]
    mats = []
    for kind in kinds:
        if kind == "dense":
            mats.append(rng.uniform(-5, 5, (rows * cols, rows * cols)))
        else:
            mats.append(structured(kind, rows, cols, rng, draw(st.booleans())))
    return mats[0], mats[1], kinds, rng


@settings(max_examples=120, deadline=None)
@given(structured_pairs())
def test_fft_gradient_agrees_with_dense_products(pair):
    A, B, kinds, rng = pair
    n = len(A)
    P = rng.uniform(0, 1, (n, n))
    fft = _core.RelaxationProducts(A, B, "fft")
    G, f = fft.gradient(P)
    expected = dense_gradient(A, B, P)
    assert np.max(np.abs(G - expected)) <= 1e-9 * np.max(np.abs(expected))
    assert f == pytest.approx(0.5 * np.sum(P * expected), rel=1e-9)
    structured_count = sum(k != "dense" for k in kinds)
    assert fft.path == {0: "gemm", 1: "mixed", 2: "fft"}[structured_count]
    gemm = _core.RelaxationProducts(A, B, "gemm")
    assert gemm.path == "gemm" and gemm.structure_a == gemm.structure_b == "dense"
    assert np.allclose(gemm.gradient(P)[0], expected, rtol=1e-12, atol=1e-12 * np.max(np.abs(expected)))


@pytest.mark.parametrize("kind", KINDS)
def test_structures_are_detected_within_the_tolerance_only(kind):
    rng = np.random.default_rng(4)
    M = structured(kind, 4, 6, rng, symmetric=False)
    assert detect_structure(M) == kind
    assert _core.detect_structure(M, 1e-9)[1:] == ((4, 6) if kind.startswith("grid") else (0, 0))
    small = M.copy()
    small[2, 5] += 1e-12 * np.max(np.abs(M))
    assert detect_structure(small) == kind
    large = M.copy()
    large[2, 5] += 1e-6 * np.max(np.abs(M))
    assert detect_structure(large) == "dense"
    assert detect_structure(large, tol=1e-5) == kind


def test_unstructured_matrices_use_gemm():
    rng = np.random.default_rng(0)
    for n in (5, 16, 30):
        A, B = rng.uniform(0, 10, (n, n)), rng.uniform(0, 10, (n, n))
        assert detect_structure(A) == detect_structure(B) == "dense"
        assert _core.RelaxationProducts(A, B, "fft").path == "gemm"
    with pytest.raises(InvalidProblemError, match="square"):
        detect_structure(np.zeros((3, 4)))


def test_structured_faq_follows_the_dense_faq():
    # From the barycenter a circulant instance is degenerate (the first gradient is constant, so the
    # LAP picks among ties); a random start and asymmetric kernels make the path unique, and then
    # the FFT products must reproduce it.
    rng = np.random.default_rng(2)
    A = structured("toeplitz", 5, 8, rng, symmetric=False)
    B = lattice(5, 8, "grid_euclidean", unit=1.5)
    fixed = np.full(40, -1, dtype=np.int32)
    fixed[[3, 17]] = [30, 2]
    for f in (fixed, np.full(40, -1, dtype=np.int32)):
        m = int(np.sum(f < 0))
        start = _core.faq_randomized_start(m, 7).reshape(m, m)
        dense = _core.faq(A, B, f, start, 30, 1e-6, products="gemm")
        fast = _core.faq(A, B, f, start, 30, 1e-6, products="fft")
        assert dense.products == "gemm" and fast.products == "fft"
        assert np.array_equal(dense.permutation, fast.permutation)
        assert fast.iterations == dense.iterations > 1
        assert fast.objective == pytest.approx(dense.objective, rel=1e-9)
        assert fast.objective == pytest.approx(numpy_objective(A, B, fast.permutation), rel=1e-12)


def test_automatic_products_use_fft_only_where_it_pays():
    euclidean = lattice(4, 6, "grid_euclidean")
    assert _core.RelaxationProducts(euclidean, euclidean, "fft").path == "fft"
    assert _core.RelaxationProducts(euclidean, euclidean, "auto").path == "gemm"  # n = 24 < 512
    manhattan = lattice(8, 8, "grid_manhattan")
    assert _core.RelaxationProducts(manhattan, manhattan, "auto").path == "fft"  # n = 64
    with pytest.raises(ValueError, match="products must be 'gemm', 'fft' or 'auto'"):
        _core.RelaxationProducts(manhattan, manhattan, "fastest")


def test_fft_mode_says_which_products_ran():
    rng = np.random.default_rng(5)
    A = structured("circulant", 8, 8, rng, symmetric=True).round()
    B = lattice(8, 8, "grid_manhattan")
    result = solve(QAPProblem(A, B), None, mode="fft", time_limit=0.5, seed=1)
    assert result.method == "fft" and "A by FFT (circulant)" in result.explanation
    assert "B by FFT (grid_manhattan)" in result.explanation
    assert result.objective == numpy_objective(A, B, result.permutation)
    small = solve(lattice(4, 6, "grid_euclidean"), lattice(6, 4, "grid_euclidean"), mode="fft", time_limit=0.3, seed=1)
    assert "by GEMM (grid_euclidean, FFT pays from n = 512)" in small.explanation
    plain = solve(rng.uniform(0, 9, (36, 36)).round(), rng.uniform(0, 9, (36, 36)).round(), mode="fft",
                  time_limit=0.3, seed=1)
    assert "A by GEMM (no structure) and B by GEMM (no structure)" in plain.explanation
