"""One vocabulary: ``progress`` for the progress callback and ``initial`` for the starting solution in every entry
point; the old names still work for one release, with a DeprecationWarning, and giving both is an error."""

from __future__ import annotations

import importlib
import sys

import numpy as np
import pytest

import mezan
from mezan import registry
from mezan.dist import LocalExecutor, watch
from mezan.errors import InvalidParameterError
from mezan.evo import TSP, evolve
from mezan.qap import load, solve

NUG12 = load("nug12")


def test_qap_solve_takes_initial_and_progress():
    seen = []
    start = np.arange(12)
    result = solve(NUG12, None, method="local_first", time_limit=None, initial=start,
                   progress=lambda b, t: seen.append(b))
    assert result.objective <= float(mezan.qap.objective(NUG12, None, start))
    assert seen and seen[-1] == result.objective


def test_qap_solve_old_names_warn_and_still_work():
    start = np.arange(12)
    with pytest.warns(DeprecationWarning, match=r"mezan.qap.solve: the argument P0= is deprecated.*use initial="):
        old = solve(NUG12, None, method="local_first", time_limit=None, P0=start)
    new = solve(NUG12, None, method="local_first", time_limit=None, initial=start)
    assert old.objective == new.objective
    seen = []
    with pytest.warns(DeprecationWarning, match="callback= is deprecated.*use progress="):
        solve(NUG12, None, method="rots", max_iter=500, time_limit=None, seed=1, callback=lambda b, t: seen.append(b))
    assert seen


def test_giving_both_names_is_an_error():
    with pytest.raises(InvalidParameterError, match="give initial= or its deprecated name P0=, not both"):
        solve(NUG12, None, method="rots", time_limit=0.1, initial=np.arange(12), P0=np.arange(12))
    with pytest.raises(InvalidParameterError, match="give progress= or its deprecated name callback=, not both"):
        evolve(TSP(np.ones((5, 5)) - np.eye(5)), time_limit=0.1, progress=print, callback=print)


def test_evolve_and_mezan_solve_take_progress():
    seen = []
    D = np.random.default_rng(0).random((12, 12))
    evolve(TSP(D + D.T), max_evaluations=2000, time_limit=None, seed=0, progress=lambda b, t: seen.append(b))
    assert seen
    with pytest.warns(DeprecationWarning, match="mezan.evo.evolve: the argument callback="):
        evolve(TSP(D + D.T), max_evaluations=500, time_limit=None, seed=0, callback=lambda b, t: None)
    seen.clear()
    result = mezan.solve(NUG12, time_limit=0.5, seed=1, record=False, solver="qap.rots",
                         progress=lambda b, t: seen.append(b))
    assert seen and min(seen) == result.objective
    with pytest.warns(DeprecationWarning, match="mezan.solve: the argument callback="):
        mezan.solve(NUG12, time_limit=0.2, seed=1, record=False, solver="qap.rots", callback=lambda b, t: None)


def test_registered_solvers_take_initial(monkeypatch):
    rots = registry.get("qap.rots")  # the built-ins are registered before the registry is swapped below
    with pytest.warns(DeprecationWarning, match="takes_start is deprecated"):
        assert rots.takes_start
    monkeypatch.setattr(registry, "_SOLVERS", dict(registry._SOLVERS))  # the test's solver leaves with the test
    assert rots.takes_initial
    start = np.arange(12)
    result = rots.solve(NUG12, time_limit=0.2, seed=1, initial=start, options={"max_iter": 1})
    assert result.solution is not None
    with pytest.warns(DeprecationWarning, match="start= is deprecated"):
        rots.solve(NUG12, time_limit=0.2, seed=1, start=start, options={"max_iter": 1})
    with pytest.warns(DeprecationWarning, match="takes_start= is deprecated"):
        solver = registry.register("test.vocabulary_old_flag", "qap", lambda problem, **kw: None, takes_start=True)
    assert solver.takes_initial


def test_watch_takes_progress_and_warns_on_on_progress():
    with LocalExecutor(1) as ex:
        task = ex.submit(sum, [1, 2])
        assert watch([task], progress=lambda t, v: False)
        task = ex.submit(sum, [1, 2])
        with pytest.warns(DeprecationWarning, match="on_progress= is deprecated"):
            assert watch([task], on_progress=lambda t, v: False)


def test_mezan_solve_refuses_options_of_the_other_kind():
    with pytest.raises(InvalidParameterError, match="workers does not apply to a single problem"):
        mezan.solve(NUG12, time_limit=0.1, workers=2, record=False)
    request = {"type": "composite", "subproblems": [{"id": "a", "type": "matrix_game", "payoff": [[1, -1], [-1, 1]]}]}
    with pytest.raises(InvalidParameterError, match="solver, record does not apply to a composite request"):
        mezan.solve(request, solver="qap.rots", record=False)


def test_submodules_load_lazily_and_the_old_module_name_warns():
    assert mezan.problems.QAPProblem is importlib.import_module("mezan.problems").QAPProblem
    assert "qap" in dir(mezan)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        mezan.nope  # noqa: B018
    sys.modules.pop("mezan.meta.solve", None)
    with pytest.warns(DeprecationWarning, match=r"mezan.meta.solve \(the module\) is deprecated"):
        module = importlib.import_module("mezan.meta.solve")
    assert module.solve is mezan.meta.metasolve.solve
