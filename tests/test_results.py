"""The common result contract (mezan.results): one status vocabulary, solution <=> objective, wire round trip."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from mezan.errors import InvalidParameterError
from mezan.evo import EvoResult
from mezan.flows import NetworkResult, WorkflowResult
from mezan.qap import QAPResult
from mezan.results import STATUSES, Result, Status


def test_the_status_vocabulary_is_one_str_enum():
    assert STATUSES == ("optimal", "feasible", "timeout", "cancelled", "infeasible", "unbounded", "error")
    result = Result(solution=[0], objective=1.0, status="timeout")
    assert result.status is Status.TIMEOUT and result.status == "timeout" and f"{result.status}" == "timeout"
    with pytest.raises(InvalidParameterError, match="status must be one of optimal, feasible"):
        Result(status="no_solution")


def test_no_solution_is_solution_none_with_objective_none():
    assert not Result(status="timeout").has_solution
    with pytest.raises(InvalidParameterError, match="solution exactly when it has an objective"):
        Result(solution=None, objective=3.0)
    with pytest.raises(InvalidParameterError, match="solution exactly when it has an objective"):
        Result(solution=[1, 0])


def test_family_names_are_views_of_the_common_fields_not_renames():
    qap = QAPResult(solution=np.array([1, 0]), objective=4, method="rots")
    assert qap.permutation is qap.solution and "permutation" not in qap.to_dict()
    evo = EvoResult(solution=np.array([0, 1]), objective=2.5, evaluations=10)
    assert evo.best is evo.solution and evo.fitness == 2.5 and set(evo.to_dict()) >= {"solution", "objective"}
    schedule = WorkflowResult(solution={"a": 0, "b": 2}, objective=6, critical_path=["a", "b"])
    assert schedule.start == {"a": 0, "b": 2} and schedule.makespan == 6 and "makespan" not in schedule.to_dict()


@pytest.mark.parametrize("result", [
    QAPResult(solution=np.array([2, 0, 1]), objective=7, lower_bound=5.0, gap=2 / 7, status="feasible",
              trace=[(0.1, 9), (0.2, 7)], method="rots", seed=3),
    NetworkResult(solution=[("a", "b")], objective=1.5, status="optimal", flows={"a->b": 1.0}),
    WorkflowResult(status="infeasible", reason="task 'a' needs 3 units of 'lab', whose capacity is 2"),
])
def test_to_dict_and_from_dict_round_trip(result):
    back = type(result).from_dict(result.to_dict())
    assert back.to_dict() == result.to_dict() and type(back) is type(result)
    if isinstance(result.solution, np.ndarray):
        assert isinstance(back.solution, np.ndarray) and back.solution.dtype == np.int64


def test_from_dict_names_unknown_fields_and_results_are_frozen():
    with pytest.raises(InvalidParameterError, match="unknown QAPResult field"):
        QAPResult.from_dict({"solution": [0], "objective": 0, "makespan": 3})
    with pytest.raises(dataclasses.FrozenInstanceError):
        Result(status="error").status = "optimal"  # type: ignore[misc]
