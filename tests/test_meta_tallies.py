"""MetaFlow's running tallies (mezan.meta.tallies) equal the statistics recomputed from the whole history, whatever
the order of solves, improvements of an instance's best, warm starts, best-known values, deleted rows, re-clusterings
and other processes' appends; and a decision reads only what it needs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mezan.meta import MetaFlow, history, memory, tallies
from mezan.meta.features import FEATURE_COST, features
from mezan.problems import QAPProblem
from mezan.store import Store

SOLVERS = ("qap.rots", "qap.anneal", "qapflow.fft")


def _problems(count, seed=0):
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        n = int(rng.integers(4, 7))
        problem = QAPProblem(rng.integers(0, 9, (n, n)), rng.integers(0, 9, (n, n)))
        out.append((problem.fingerprint(), {**features(problem), FEATURE_COST: 0.001}))
    return out


PROBLEMS = _problems(6)


def _append(store, step):
    which, solver, objective, best_known, warm, lower = step
    key, feats = PROBLEMS[which]
    store.define(memory.SCHEMA)
    store.append_solve(after=memory.mark_warm if warm else None, fingerprint=key, problem_type="qap", features=feats,
                       solver=SOLVERS[solver], time_limit=1.0, objective=objective, best_known=best_known,
                       lower_bound=lower, wall_time=0.5, seed=0, status="timeout")


def _same(store):
    flow = MetaFlow(store, seed=0)
    clustering = flow._clustering("qap")
    clusters = [None] + ([] if clustering is None else list(range(clustering.k)))
    for cluster in clusters:
        expected = history.arms(flow.rewarded_history("qap"), clustering, cluster)
        got = tallies.arms(store, "qap", clustering, cluster)
        assert set(got) == {s for s, a in expected.items() if a.plays} | {s for s, a in got.items() if not a.plays}
        for solver, arm in expected.items():
            assert got[solver].plays == arm.plays
            assert got[solver].total == pytest.approx(arm.total, abs=1e-9)
            assert got[solver].total_sq == pytest.approx(arm.total_sq, abs=1e-9)


steps = st.lists(st.tuples(st.integers(0, len(PROBLEMS) - 1), st.integers(0, len(SOLVERS) - 1),
                           st.one_of(st.none(), st.integers(50, 500).map(float)),
                           st.one_of(st.none(), st.just(60.0)), st.booleans(),
                           st.one_of(st.none(), st.just(40.0))), min_size=1, max_size=30)


@settings(max_examples=40, deadline=None)
@given(first=steps, second=steps, recluster=st.booleans(), delete=st.booleans())
def test_tallies_equal_the_statistics_recomputed_from_the_history(first, second, recluster, delete):
    store = Store(":memory:")
    for step in first:
        _append(store, step)
    _same(store)  # folded from scratch
    if recluster and len({PROBLEMS[s[0]][0] for s in first}) >= 2:
        MetaFlow(store, seed=0).fit_clusters("qap")
        _same(store)  # a new clustering: the tallies start again
    if delete:
        store.delete_solves([r.id for r in store.solves()][::2])
        _same(store)  # deleted rows: the tallies start again
    for step in second:  # folded in one at a time, as solves are recorded
        _append(store, step)
        _same(store)


def test_rows_appended_by_another_store_object_are_folded_in_once(tmp_path):
    path = tmp_path / "mezan.db"
    one, two = Store(path), Store(path)
    for k in range(5):
        _append(one if k % 2 else two, (k % 3, k % 2, 100.0 + k, None, False, None))
        _same(one)
        _same(two)
    arms = tallies.arms(one, "qap", None, None)
    assert sum(a.plays for a in arms.values()) == 5


def test_a_decision_reads_each_history_row_once(monkeypatch):
    store = Store(":memory:")
    for k in range(40):
        _append(store, (k % 6, k % 3, 100.0 + k % 7, None, False, None))
    flow = MetaFlow(store, seed=0)
    problem = QAPProblem(*np.random.default_rng(3).integers(0, 9, (2, 5, 5)))
    flow.select(problem)  # folds the 40 rows in
    read = []
    checked = store._record
    monkeypatch.setattr(store, "_record", lambda row: read.append(row[0]) or checked(row))
    for _ in range(3):
        flow.select(problem)
        flow.difficulty(problem)
    assert read == []  # nothing re-read: the tallies answer
    _append(store, (0, 0, 90.0, None, False, None))  # a new best for instance 0: its earlier solves are re-rewarded
    flow.select(problem)
    assert len(read) == len(set(read)) and max(read) == 41 and len(read) <= 1 + len(store.solves(
        fingerprint=PROBLEMS[0][0]))
