"""The binding boundary (mezan._core), called directly: unknown option names are refused with the list of valid
ones, every array argument's shape is checked, the core's errors arrive as mezan.errors types, the reports are
read-only records with a StopReason enum, and test hooks live in _core._testing."""

import re

import numpy as np
import pytest

from mezan import _core
from mezan.errors import InvalidParameterError, InvalidProblemError

N = 5
RNG = np.random.default_rng(3)
A = RNG.random((N, N))
B = RNG.random((N, N))
AI, BI = (A * 10).astype(np.int64), (B * 10).astype(np.int64)
P = np.arange(N, dtype=np.int32)
FREE = np.full(N, -1, dtype=np.int32)


def control(time_limit=1.0):
    return _core.SolveControl(time_limit, None)


def evolve(**overrides):
    args = dict(objective=_core.qap_objective_f64(A, B), population=8, generations=3, max_evaluations=-1,
                crossover="ox", mutation="swap", mutation_rate=0.2, local_search=False, selection="tournament",
                tournament_size=2, distance="hamming", seed=0, threads=1, control=control())
    args.update(overrides)
    return _core.evolve(**args)


# ---- unknown names: refused, never a silent fallback, with the valid names listed --------------------------

UNKNOWN_NAMES = {
    "method": (lambda: _core.solve_f64(A, B, "tabu", 0, 1, 10, None, None, control()),
               ["rots", "anneal", "local", "local_first", "faq", "bnb", "memetic", "iterated", "hybrid", "nesterov",
                "fft"]),
    "products (faq)": (lambda: _core.faq(A, B, FREE, None, 5, 1e-3, products="fastest"), ["gemm", "fft", "auto"]),
    "products (RelaxationProducts)": (lambda: _core.RelaxationProducts(A, B, "fastest"), ["gemm", "fft", "auto"]),
    "crossover": (lambda: evolve(crossover="ox2"), ["ox", "pmx", "cx", "position", "uniform"]),
    "mutation": (lambda: evolve(mutation="flip"), ["swap", "insert", "inversion", "scramble"]),
    "selection": (lambda: evolve(selection="roulette"), ["tournament", "rank"]),
    "distance": (lambda: evolve(distance="position "), ["hamming", "position"]),
    "structure": (lambda: _core.fft_pays_from("hankel"),
                  ["dense", "circulant", "toeplitz", "grid_manhattan", "grid_euclidean"]),
    "crossover (_testing)": (lambda: _core._testing.evo_crossover("ox2", P, P),
                             ["ox", "pmx", "cx", "position", "uniform"]),
    "mutation (_testing)": (lambda: _core._testing.evo_mutate("flip", P), ["swap", "insert", "inversion", "scramble"]),
}


@pytest.mark.parametrize("label", UNKNOWN_NAMES)
def test_an_unknown_name_is_refused_with_the_valid_names(label):
    call, valid = UNKNOWN_NAMES[label]
    with pytest.raises(InvalidParameterError) as info:
        call()
    message = str(info.value)
    for name in valid:
        assert re.search(rf"\b{name}\b", message), (label, name, message)


def test_the_valid_selection_and_distance_names_are_honoured():
    for selection in ("tournament", "rank"):
        for distance in ("hamming", "position"):
            report = evolve(selection=selection, distance=distance)
            assert sorted(report.permutation.tolist()) == list(range(N))
    assert _core.fft_pays_from("circulant") == 64
    assert _core.fft_pays_from("dense") > 10**9  # never


# ---- shapes and lengths: every entry point that takes arrays -------------------------------------------------

NOT_SQUARE, OTHER_SIZE, VECTOR = np.ones((N, N + 1)), np.ones((N + 1, N + 1)), np.ones(N)
SHORT_P, LONG_P = np.arange(N - 1, dtype=np.int32), np.arange(N + 1, dtype=np.int32)


def pair_calls(kind, X, Y):
    """Every entry point taking the QAP pair (A, B)."""
    cast = (lambda M: np.asarray(M).astype(np.int64)) if kind == "i64" else (lambda M: M)
    X, Y = cast(X), cast(Y)
    return {
        "objective": lambda: getattr(_core, f"objective_{kind}")(X, Y, P),
        "swap_delta": lambda: getattr(_core, f"swap_delta_{kind}")(X, Y, P, 0, 1),
        "solve": lambda: getattr(_core, f"solve_{kind}")(X, Y, "rots", 0, 1, 10, None, None, control()),
        "gilmore_lawler_bound": lambda: getattr(_core, f"gilmore_lawler_bound_{kind}")(X, Y),
        "qap_objective": lambda: getattr(_core, f"qap_objective_{kind}")(X, Y),
        "delta_table (_testing)": lambda: getattr(_core._testing, f"delta_table_after_swaps_{kind}")(X, Y, P, []),
    }


def float_pair_calls(X, Y):
    return {
        "faq": lambda: _core.faq(X, Y, FREE, None, 5, 1e-3),
        "projection_bound": lambda: _core.projection_bound(X, Y),
        "RelaxationProducts": lambda: _core.RelaxationProducts(X, Y),
    }


@pytest.mark.parametrize("kind", ["i64", "f64"])
@pytest.mark.parametrize("bad", ["A not square", "B another size", "A a vector"])
def test_a_matrix_pair_of_the_wrong_shape_is_refused(kind, bad):
    X, Y = {"A not square": (NOT_SQUARE, B), "B another size": (A, OTHER_SIZE), "A a vector": (VECTOR, B)}[bad]
    calls = pair_calls(kind, X, Y) | (float_pair_calls(X, Y) if kind == "f64" else {})
    assert len(calls) == (9 if kind == "f64" else 6)
    for call in calls.values():
        with pytest.raises(InvalidProblemError, match="A and B must be square matrices of the same size"):
            call()


@pytest.mark.parametrize("bad", [NOT_SQUARE, VECTOR, np.ones((2, 2, 2))], ids=["not square", "vector", "3-D"])
def test_a_single_matrix_of_the_wrong_shape_is_refused(bad):
    calls = {
        "solve_lap": (lambda: _core.solve_lap(bad), "cost"),
        "detect_structure": (lambda: _core.detect_structure(bad), "M"),
        "tsp_objective": (lambda: _core.tsp_objective(bad), "D"),
        "linear_ordering_objective": (lambda: _core.linear_ordering_objective(bad), "W"),
    }
    for call, name in calls.values():
        with pytest.raises(InvalidProblemError, match=f"{name} must be a square matrix, got shape"):
            call()
    products = _core.RelaxationProducts(A, B)
    with pytest.raises(InvalidParameterError, match="P must be a square matrix"):
        products.gradient(bad)
    with pytest.raises(InvalidParameterError, match="P must be 5 x 5"):
        products.gradient(np.ones((N + 1, N + 1)))


@pytest.mark.parametrize("kind", ["i64", "f64"])
@pytest.mark.parametrize("p", [SHORT_P, LONG_P, np.zeros((N, 1), np.int32)], ids=["short", "long", "2-D"])
def test_a_permutation_of_the_wrong_length_is_refused(kind, p):
    X, Y = (AI, BI) if kind == "i64" else (A, B)
    objective = getattr(_core, f"qap_objective_{kind}")(X, Y)
    calls = [
        lambda: getattr(_core, f"objective_{kind}")(X, Y, p),
        lambda: getattr(_core, f"swap_delta_{kind}")(X, Y, p, 0, 1),
        lambda: objective.evaluate(p),
        lambda: objective.improve(p),
        lambda: getattr(_core._testing, f"delta_table_after_swaps_{kind}")(X, Y, p, []),
    ]
    for call in calls:
        with pytest.raises(InvalidParameterError, match=f"p must be a permutation of length {N}"):
            call()
    for make in (lambda: _core.tsp_objective(A + A.T), lambda: _core.linear_ordering_objective(A)):
        with pytest.raises(InvalidParameterError, match="p must be a permutation"):
            make().evaluate(p)
    with pytest.raises(InvalidParameterError):
        getattr(_core, f"solve_{kind}")(X, Y, "rots", 0, 1, 10, p, None, control())
    with pytest.raises(InvalidParameterError):
        getattr(_core, f"solve_{kind}")(X, Y, "rots", 0, 1, 10, None, p, control())


def test_faq_checks_fixed_and_its_start():
    with pytest.raises(InvalidParameterError, match="fixed must have n entries"):
        _core.faq(A, B, FREE[:-1], None, 5, 1e-3)
    with pytest.raises(InvalidParameterError, match=r"fixed\[i\] must be -1"):
        _core.faq(A, B, np.array([N, -1, -1, -1, -1], np.int32), None, 5, 1e-3)
    with pytest.raises(InvalidParameterError, match="P0 must be m x m"):
        _core.faq(A, B, FREE, np.full((N - 1, N - 1), 1.0 / (N - 1)), 5, 1e-3)


# ---- errors arrive as mezan.errors types --------------------------------------------------------------------


def test_core_errors_are_mezan_errors_by_kind():
    bad = A.copy()
    bad[0, 1] = np.nan
    with pytest.raises(InvalidProblemError, match="non-finite"):
        _core.objective_f64(bad, B, P)
    with pytest.raises(InvalidProblemError, match="n must be >= 2"):
        _core.solve_f64(np.ones((1, 1)), np.ones((1, 1)), "rots", 0, 1, 10, None, None, control())
    with pytest.raises(InvalidProblemError, match="not finite"):
        _core.solve_lap(np.array([[0.0, np.inf], [1.0, 0.0]]))
    with pytest.raises(InvalidParameterError, match=r"r must lie in \[0, 4\]"):
        _core.swap_delta_f64(A, B, P, N, 0)
    with pytest.raises(InvalidParameterError, match="initial must be a permutation"):
        _core.solve_f64(A, B, "rots", 0, 1, 10, np.array([0, 0, 1, 2, 3], np.int32), None, control())
    # both stay ValueErrors, as the exception hierarchy promises
    assert issubclass(InvalidProblemError, ValueError) and issubclass(InvalidParameterError, ValueError)


def test_qaplib_errors_keep_their_type(tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_text("2\n1 2 3\n")
    with pytest.raises(_core.QaplibError, match=r"bad\.dat:2"):
        _core.read_qaplib(str(bad))
    assert issubclass(_core.QaplibError, ValueError)


def test_error_types_are_handed_down_and_fall_back_to_value_error():
    try:
        _core._set_error_types(invalid_problem=ValueError, invalid_parameter=ValueError)
        with pytest.raises(ValueError, match="unknown structure 'hankel'") as info:
            _core.fft_pays_from("hankel")
        assert type(info.value) is ValueError
    finally:
        _core._set_error_types(invalid_problem=InvalidProblemError, invalid_parameter=InvalidParameterError)
    with pytest.raises(InvalidParameterError):
        _core.fft_pays_from("hankel")
    with pytest.raises(TypeError, match="subclass of ValueError"):
        _core._set_error_types(invalid_problem=RuntimeError, invalid_parameter=InvalidParameterError)


# ---- reports: read-only records, reasons as an enum --------------------------------------------------------


def test_solve_reports_are_read_only_records_with_a_stop_reason():
    for kind, X, Y in (("i64", AI, BI), ("f64", A, B)):
        report = getattr(_core, f"solve_{kind}")(X, Y, "rots", 0, 1, 50, None, None, control())
        assert type(report).__name__ == f"SolveReport{kind.upper()}"
        assert sorted(report.permutation.tolist()) == list(range(N))
        assert report.objective == getattr(_core, f"objective_{kind}")(X, Y, report.permutation)
        assert isinstance(report.objective, int if kind == "i64" else float)
        assert report.reason == _core.StopReason.iteration_limit and report.reason.name == "iteration_limit"
        assert report.iterations >= 1 and report.proven_optimal is False and report.trace
        for field in ("permutation", "objective", "iterations", "reason", "proven_optimal", "trace"):
            with pytest.raises(AttributeError):
                setattr(report, field, None)
    bnb = _core.solve_f64(A, B, "bnb", 0, 1, -1, None, None, control(5.0))
    assert bnb.proven_optimal and bnb.reason == _core.StopReason.none


def test_evolve_and_faq_reports_are_read_only():
    report = evolve()
    assert report.generations == 3 and report.evaluations > 0 and report.reason.name in ("none", "iteration_limit")
    faq = _core.faq(A, B, FREE, None, 5, 1e-3)
    assert faq.products == "gemm" and sorted(faq.permutation.tolist()) == list(range(N))
    for record, fields in ((report, ("permutation", "objective", "evaluations", "generations", "reason", "trace")),
                           (faq, ("permutation", "objective", "iterations", "products"))):
        for field in fields:
            with pytest.raises(AttributeError):
                setattr(record, field, None)


def test_stop_reason_enum_lists_every_reason():
    assert {r.name for r in _core.StopReason.__members__.values()} == {
        "none", "time_limit", "iteration_limit", "target", "cancelled"}
    timed = _core.solve_f64(A, B, "rots", 0, 1, -1, None, None, control(0.05))
    assert timed.reason == _core.StopReason.time_limit


# ---- test hooks live in _core._testing ---------------------------------------------------------------------

HOOKS = ["delta_table_after_swaps_i64", "delta_table_after_swaps_f64", "time_gradient", "evo_crossover",
         "evo_mutate"]


def test_test_hooks_live_in_the_testing_submodule():
    for name in HOOKS:
        assert hasattr(_core._testing, name), name
        assert not hasattr(_core, name), name
    assert not hasattr(_core.RelaxationProducts, "time_gradient")
    seconds = _core._testing.time_gradient(_core.RelaxationProducts(A, B), np.eye(N), 3)
    assert len(seconds) == 3 and all(s >= 0 for s in seconds)
