"""C2SC: compiling composite requests (order, stages, reference checks, every error case) and running
them (references resolved, failures propagate), including the shipped end-to-end example."""

import json

import numpy as np
import pytest

import mezan
from mezan import registry
from mezan.c2sc import PlanError, compile, run
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
    spans = {t["id"]: (scheduling["start"][t["id"]], scheduling["start"][t["id"]] + t["duration"]) for t in tasks}
    for i, a in enumerate(tasks):
        for j, b in enumerate(tasks[:i]):
            if researcher[i] == researcher[j]:
                assert spans[a["id"]][1] <= spans[b["id"]][0] or spans[b["id"]][1] <= spans[a["id"]][0]
    assert 0 <= budget["allocation"]["lab_hours"] <= scheduling["makespan"]
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
    assert money["allocation"]["a"] == pytest.approx(expected)
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
    assert result.results["m"] == {"status": "error",
                                   "reason": "subproblem 'm': this solver refuses everything"}
    assert result.results["q"]["status"] != "error" and result.status == "partial"


def test_a_reference_that_fails_at_run_time_is_an_error_naming_the_field():
    request = composite({**QAP, "id": "q"},
                        {**ALLOC, "id": "a", "depends_on": "q",
                         "items": [{"id": "x", "cost": 1, "value": 1, "max": "$q.solution[7]"}]})
    result = run(request, time_limit=0.5)
    assert result.results["a"]["status"] == "error"
    assert "field items[0].max" in result.results["a"]["reason"] and "7" in result.results["a"]["reason"]


@pytest.mark.parametrize("subs, message", [
    ([], "subproblems must be a non-empty list"),
    ([{**QAP}], r"subproblems\[0\]: missing field 'id'"),
    ([{**QAP, "id": "a"}, {**QAP, "id": "a"}], "id 'a' is used twice"),
    ([{"type": "tsp", "id": "a"}], r"subproblems\[0\] \(id 'a'\): unknown type 'tsp'"),
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
    ([{**QAP, "id": "q", "time_limit": -1}], "field time_limit: must be a positive number"),
])
def test_compile_errors_name_the_subproblem_and_field(subs, message):
    with pytest.raises(PlanError, match=message):
        compile(composite(*subs))


def test_single_wire_forms_go_through_mezan_solve():
    result = mezan.solve({**QAP, "name": "tiny"}, time_limit=0.5, seed=0)
    assert sorted(result.permutation.tolist()) == [0, 1, 2]
    with pytest.raises(PlanError, match="unknown problem type 'tsp'"):
        mezan.solve({"type": "tsp"})
    assert isinstance(WorkflowProblem.from_dict({"tasks": [{"id": "a", "duration": 1}]}), WorkflowProblem)
    assert np.isfinite(mezan.solve(ALLOC, time_limit=1.0).objective)
