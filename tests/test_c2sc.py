"""C2SC: compiling composite requests (order, stages, reference checks, every error case) and running
them (references resolved, failures propagate), including the shipped end-to-end example."""

import json

import numpy as np
import pytest

import mezan
from mezan import registry
from mezan.c2sc import PlanError, compile, run
from mezan.errors import InvalidProblemError
from mezan.problems import WorkflowProblem

from conftest import REPO

QAP = {"type": "qap", "A": [[0, 2, 1], [2, 0, 3], [1, 3, 0]], "B": [[0, 1, 4], [1, 0, 2], [4, 2, 0]]}
ALLOC = {"type": "allocation", "budget": 10, "items": [{"id": "a", "cost": 2, "value": 3, "max": 4}]}


def composite(*subs):
    return {"type": "composite", "subproblems": list(subs)}


def test_the_shipped_example_runs_end_to_end():
    request = json.loads((REPO / "examples" / "composite" / "request.json").read_text())
    result = mezan.solve(request, time_limit=5.0, seed=0)
    assert result.status == "ok" and result.stages == [["assignment"], ["scheduling"], ["budget"]]
    assignment, scheduling, budget = (result.results[k] for k in ("assignment", "scheduling", "budget"))
    researcher = assignment["solution"]
    assert sorted(researcher) == [0, 1, 2, 3]
    # The schedule used the QAP's researchers as agents: no researcher does two tasks at once.
    tasks = request["subproblems"][1]["tasks"]
    start = scheduling["solution"]  # the common field (a schedule's solution: task id -> start)
    spans = {t["id"]: (start[t["id"]], start[t["id"]] + t["duration"]) for t in tasks}
    for i, a in enumerate(tasks):
        for j, b in enumerate(tasks[:i]):
            if researcher[i] == researcher[j]:
                assert spans[a["id"]][1] <= spans[b["id"]][0] or spans[b["id"]][1] <= spans[a["id"]][0]
    assert 0 <= budget["solution"]["lab_hours"] <= scheduling["objective"]
    assert budget["status"] == "optimal"


def test_independent_subproblems_share_a_stage_and_references_resolve():
    request = composite({**QAP, "id": "q1"}, {**QAP, "id": "q2"},
                        {**ALLOC, "id": "money", "depends_on": ["q1", "q2"],
                         "items": [{"id": "a", "cost": 2, "value": "$q1.objective", "max": "$q2.solution[0]"}]})
    plan = compile(request)
    assert plan.stages == [["q1", "q2"], ["money"]] and plan.order == ["q1", "q2", "money"]
    assert {(r.subproblem, r.where, r.text) for r in plan.references} == {
        ("money", "items[0].value", "$q1.objective"), ("money", "items[0].max", "$q2.solution[0]")}
    result = run(plan, time_limit=1.0, seed=0)
    q1, q2, money = (result.results[k] for k in ("q1", "q2", "money"))
    assert result.status == "ok"
    expected = min(q2["solution"][0], 5)  # the budget allows 5 units
    assert money["solution"]["a"] == pytest.approx(expected)
    assert money["objective"] == pytest.approx(q1["objective"] * expected)


def test_a_failed_parent_skips_its_dependents_and_names_it():
    request = composite({**ALLOC, "id": "broke", "items": [{"id": "a", "cost": 20, "value": 1, "min": 1}]},
                        {**QAP, "id": "fine"},
                        {**ALLOC, "id": "after", "depends_on": "broke"})
    result = run(request, time_limit=1.0)
    assert result.results["broke"]["status"] == "infeasible"
    assert result.results["after"] == {"status": "skipped",
                                       "reason": "not run: parent 'broke' ended with status 'infeasible'"}
    assert result.results["fine"]["status"] in ("optimal", "feasible", "timeout") and result.status == "partial"


def test_a_solver_error_fails_only_its_subproblem(monkeypatch):
    from mezan.errors import InvalidParameterError

    def refuse(problem, **options):
        raise InvalidParameterError("this solver refuses everything")

    monkeypatch.setitem(registry._SOLVERS, "allocflow.highs",
                        registry.RegisteredSolver("allocflow.highs", "allocation", "refuses", refuse))
    result = run(composite({**ALLOC, "id": "m"}, {**QAP, "id": "q"}), time_limit=0.5)
    m = result.results["m"]
    assert (m["status"], m["reason"], m["solution"]) == (
        "error", "subproblem 'm': this solver refuses everything", None)
    assert result.results["q"]["status"] != "error" and result.status == "partial"


def test_a_reference_that_fails_at_run_time_is_an_error_naming_the_field():
    request = composite({**QAP, "id": "q"},
                        {**ALLOC, "id": "a", "depends_on": "q",
                         "items": [{"id": "x", "cost": 1, "value": 1, "max": "$q.solution[7]"}]})
    result = run(request, time_limit=0.5)
    assert result.results["a"]["status"] == "error"
    assert "field items[0].max" in result.results["a"]["reason"] and "7" in result.results["a"]["reason"]


@pytest.mark.parametrize(("subs", "message"), [
    ([], "subproblems must be a non-empty list"),
    ([{**QAP}], r"subproblems\[0\]: missing field 'id'"),
    ([{**QAP, "id": "a"}, {**QAP, "id": "a"}], "id 'a' is used twice"),
    ([{"type": "knapsack", "id": "a"}], r"subproblems\[0\] \(id 'a'\): unknown type 'knapsack'"),
    ([{"type": "tsp", "id": "a"}], r"subproblems\[0\] \(id 'a'\): missing field 'D' for a 'tsp' subproblem"),
    ([{"type": "qap", "id": "a", "A": [[0]]}], "missing field 'B' for a 'qap' subproblem"),
    ([{**QAP, "id": "a", "depends_on": "ghost"}], "field depends_on: unknown subproblem 'ghost'"),
    ([{**QAP, "id": "a", "depends_on": "b"}, {**QAP, "id": "b", "depends_on": "a"}],
     r"dependency cycle \(each depends on the next\): a -> b -> a"),
    ([{**QAP, "id": "q"}, {**ALLOC, "id": "m", "items": [{"id": "x", "cost": 1, "value": "$q.objective"}]}],
     r"field items\[0\].value: reference \$q.objective names 'q', which is not a dependency"),
    ([{**QAP, "id": "q"}, {**ALLOC, "id": "m", "depends_on": "q",
                           "items": [{"id": "x", "cost": 1, "value": "$q.makespan"}]}],
     r"names field 'makespan', which a 'qap' solver does not produce"),
    ([{**ALLOC, "id": "m", "items": [{"id": "x", "cost": "free"}]}], r"\(id 'm'\): items\[0\].cost must be a number"),
    ([{**QAP, "id": "q", "solver": "allocflow.highs"}], "solves 'allocation' problems, not 'qap'"),
    ([{**QAP, "id": "q", "solver": "qap.nope"}], "field solver: no solver named 'qap.nope'"),
    ([{**QAP, "id": "q", "time_limit": -1}], "field time_limit must be positive, got -1"),
])
def test_compile_errors_name_the_subproblem_and_field(subs, message):
    with pytest.raises(PlanError, match=message):
        compile(composite(*subs))


def test_single_wire_forms_go_through_mezan_solve():
    result = mezan.solve({**QAP, "name": "tiny"}, time_limit=0.5, seed=0)
    assert sorted(result.permutation.tolist()) == [0, 1, 2]
    with pytest.raises(PlanError, match="unknown problem type 'knapsack'"):
        mezan.solve({"type": "knapsack"})
    with pytest.raises(InvalidProblemError, match="missing field 'D'"):
        mezan.solve({"type": "tsp"})
    assert isinstance(WorkflowProblem.from_dict({"tasks": [{"id": "a", "duration": 1}]}), WorkflowProblem)
    assert np.isfinite(mezan.solve(ALLOC, time_limit=1.0).objective)


# ---- the caller's admission hook, stop, reference shapes (issue 13) ----

def refuse_larger_than(n_max, seen=None):
    """An admission hook refusing problems with more than n_max items/facilities; records what it was given."""

    def admit(problem, time_limit):
        if seen is not None:
            seen.append((type(problem).__name__, problem.n, time_limit))
        if problem.n > n_max:
            raise InvalidProblemError(f"n = {problem.n} is larger than this caller allows ({n_max})")
        return time_limit

    return admit


def spy_on(monkeypatch, name, calls, before=None):
    """Replace a registered solver by one that records its time_limit (and runs ``before``), then solves."""
    real = registry.get(name)

    def run_spy(problem, *, time_limit, seed, stop=None, progress=None):
        calls.append(time_limit)
        if before is not None:
            before()
        return real.run(problem, time_limit=time_limit, seed=seed, stop=stop, progress=progress)

    monkeypatch.setitem(registry._SOLVERS, name, registry.RegisteredSolver(name, real.problem_type, "spy", run_spy))


BIG_QAP = {"type": "qap", "A": np.ones((5, 5)).tolist(), "B": np.eye(5).tolist()}


def test_admit_refuses_a_too_large_subproblem_at_compile_time_naming_it():
    seen = []
    request = composite({**QAP, "id": "small"}, {**BIG_QAP, "id": "big"})
    with pytest.raises(PlanError, match=r"subproblems\[1\] \(id 'big'\): n = 5 is larger than this caller allows"):
        compile(request, admit=refuse_larger_than(4, seen))
    assert ("QAPProblem", 3, 10.0) in seen  # the small one was admitted first, with the default time limit
    with pytest.raises(PlanError, match="id 'big'"):
        run(request, time_limit=1.0, admit=refuse_larger_than(4))  # run compiles with the same hook
    assert compile(request, admit=refuse_larger_than(5)).order == ["small", "big"]


def test_admit_caps_the_time_limit_every_subproblem_is_solved_with(monkeypatch):
    given, used = [], []

    def cap(problem, time_limit):
        given.append(time_limit)
        return min(time_limit, 2.0)  # below both limits, above an isolated HiGHS worker's start-up under load

    spy_on(monkeypatch, "allocflow.highs", used)
    request = composite({**ALLOC, "id": "own", "time_limit": 7}, {**ALLOC, "id": "default"})
    result = run(request, time_limit=3.0, admit=cap)
    assert result.status == "ok"
    assert used == [2.0, 2.0]  # the solver got the admitted limit, not 7 or 3
    assert sorted(set(given)) == [3.0, 7.0]  # the hook saw each subproblem's own limit, or the run's default


def test_admit_refuses_at_run_time_a_subproblem_whose_references_resolved_too_large():
    seen = []

    def admit(problem, time_limit):
        seen.append(type(problem).__name__)
        if getattr(problem, "budgets", {}).get("budget", 0) > 15:
            raise InvalidProblemError(f"budget {problem.budgets['budget']:g} is more than this caller allows")
        return time_limit

    request = composite({**QAP, "id": "q"},
                        {**ALLOC, "id": "m", "depends_on": "q", "budget": "$q.objective"},
                        {**ALLOC, "id": "after", "depends_on": "m"},
                        {**ALLOC, "id": "free", "budget": 3})
    plan = compile(request, admit=admit)  # m has a reference: admitted only once it is resolved
    assert seen == ["QAPProblem", "AllocationProblem", "AllocationProblem"]  # q, after, free
    result = run(plan, time_limit=1.0, seed=0, admit=admit)
    q, m, after, free = (result.results[k] for k in ("q", "m", "after", "free"))
    assert q["objective"] == 22 and q["status"] == "optimal"  # brute force: 2 (3*1 + 2*2 + 1*4)
    assert (m["status"], m["reason"], m["solution"]) == (
        "error", "subproblem 'm': budget 22 is more than this caller allows", None)
    assert after == {"status": "skipped", "reason": "not run: parent 'm' ended with status 'error'"}
    assert free["status"] == "optimal" and result.status == "partial"


def test_a_stop_set_before_the_run_cancels_every_subproblem():
    import threading

    stop = threading.Event()
    stop.set()
    request = composite({**QAP, "id": "q"}, {**ALLOC, "id": "m"}, {**ALLOC, "id": "after", "depends_on": "q"})
    result = run(request, time_limit=5.0, stop=stop)
    assert result.status == "failed"
    assert result.results == {
        sid: {"status": "cancelled", "reason": "not run: the composite request was cancelled"}
        for sid in ["q", "m", "after"]}


def test_once_stop_is_set_no_further_subproblem_starts(monkeypatch):
    import threading

    stop, used = threading.Event(), []
    spy_on(monkeypatch, "allocflow.highs", used, before=stop.set)  # the first stage sets stop while it runs
    request = composite({**ALLOC, "id": "first"}, {**QAP, "id": "second", "depends_on": "first"})
    result = run(request, time_limit=5.0, stop=stop)
    assert len(used) == 1
    assert result.results["first"]["status"] in ("cancelled", "optimal")  # HiGHS saw the stop, or beat the poll
    assert result.results["second"] == {"status": "cancelled",
                                        "reason": "not run: the composite request was cancelled"}


@pytest.mark.parametrize(("reference", "message"), [
    ("$q.objective[3]", r"'objective' holds a number, which cannot be indexed by \[3\]"),
    ("$q.solution.x", r"'solution' is a list; index it with \[k\], not \.x"),
    ("$q.solution[0][1]", r"'solution' holds a list, which cannot be indexed by \[0, 1\]"),
    ("$q.status.x", r"'status' holds a string, which cannot be indexed"),
])
def test_references_of_the_wrong_shape_are_rejected_at_compile_time(reference, message):
    request = composite({**QAP, "id": "q"}, {**ALLOC, "id": "m", "depends_on": "q", "budget": reference})
    with pytest.raises(PlanError, match=r"subproblems\[1\] \(id 'm'\), field budget: reference .*" + message):
        compile(request)


def test_a_dict_result_is_indexed_by_name_only():
    workflow = {"type": "workflow", "id": "w", "tasks": [{"id": "t1", "duration": 2}]}
    with pytest.raises(PlanError, match=r"'start' is keyed by names; use \.key, not \[0\]"):
        compile(composite(workflow, {**ALLOC, "id": "m", "depends_on": "w", "budget": "$w.start[0]"}))
    plan = compile(composite(workflow, {**ALLOC, "id": "m", "depends_on": "w", "budget": "$w.start.t1"}))
    assert [r.text for r in plan.references] == ["$w.start.t1"]


@pytest.mark.parametrize(("field", "reference"), [
    ("budget", "$q.solution"),        # a list where a number belongs
    ("budget", "$q.status"),          # a string where a number belongs
    ("items", "$q.objective"),        # a number where a list of objects belongs
    ("items", "$q.solution"),         # a list of numbers where a list of objects belongs
    ("groups", "$q.solution"),        # a list where an object belongs
])
def test_a_reference_resolving_to_a_wrong_typed_value_fails_that_subproblem(field, reference):
    request = composite({**QAP, "id": "q"}, {**ALLOC, "id": "m", "depends_on": "q", field: reference},
                        {**ALLOC, "id": "other"})
    result = run(request, time_limit=1.0, seed=0)
    m = result.results["m"]
    assert m["status"] == "error" and "subproblem 'm'" in m["reason"]
    assert "internal error" not in m["reason"]  # refused by validation, not a TypeError caught as a defect
    assert result.results["q"]["status"] == "optimal" and result.results["other"]["status"] == "optimal"
    assert result.status == "partial"


def test_a_reference_resolving_to_a_wrong_typed_value_in_a_workflow_fails_that_subproblem():
    request = composite({**QAP, "id": "q"},
                        {"type": "workflow", "id": "w", "depends_on": "q", "tasks": [{"id": "t1", "duration": 2}],
                         "precedences": "$q.objective"})
    w = run(request, time_limit=1.0, seed=0).results["w"]
    assert w["status"] == "error" and "subproblem 'w'" in w["reason"] and "internal error" not in w["reason"]
