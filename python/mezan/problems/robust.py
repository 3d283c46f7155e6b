"""DualFlow's records: robust (min-max) assignment, allocation and QAP over scenarios, and
zero-sum matrix games."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.errors import InvalidProblemError
from mezan.problems.allocation import AllocationProblem
from mezan.problems.fingerprint import Fingerprinted, shapes
from mezan.problems.qap import QAPProblem
from mezan.problems.values import (
    _is_index,
    _number,
    _scenario_stack,
    check_magnitude,
    check_scale,
    max_abs,
    wire_form,
)


@dataclass(frozen=True, eq=False)
class RobustAssignmentProblem(Fingerprinted):
    """Min–max assignment: the permutation with the best worst case over cost scenarios.

    The permutation p minimises ``max_s sum_i costs[s][i, p[i]]`` over the scenarios s.

    Wire form: ``{"type": "robust_assignment", "costs": [C_0, C_1, ...], "nominal": 0}`` — one n x n
    cost matrix per scenario; ``nominal`` is the scenario the price of robustness is measured on.

    Parameters
    ----------
    costs : array_like, shape (scenarios, n, n)
        One n x n cost matrix per scenario (at least one; finite, at most :data:`MAX_LP_VALUE` in magnitude).
        The record keeps a read-only float64 array: the given array itself when it already is one (it then
        becomes read-only).
    nominal : int, default 0
        The index of the nominal scenario, on which the price of robustness is measured.
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    InvalidProblemError
        When ``costs`` is not a non-empty stack of equally shaped finite square matrices, holds a value beyond
        :data:`MAX_LP_VALUE`, or ``nominal`` is not a scenario index.
    """

    costs: np.ndarray
    nominal: int = 0
    name: str | None = None
    problem_type: str = field(default="robust_assignment", init=False)

    def __post_init__(self) -> None:
        costs = _scenario_stack("costs", self.costs, square=True)
        check_magnitude("costs", costs)
        if not _is_index(self.nominal, len(costs)):
            raise InvalidProblemError(f"nominal must be a scenario index in [0, {len(costs) - 1}], got "
                                      f"{self.nominal!r}")
        object.__setattr__(self, "costs", costs)

    @property
    def n(self) -> int:
        return int(self.costs.shape[1])

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> RobustAssignmentProblem:
        if not isinstance(data, dict) or "costs" not in data:
            raise InvalidProblemError("a robust assignment needs 'costs': a list of n x n matrices")
        return cls(data["costs"], nominal=data.get("nominal", 0), name=data.get("name"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.problem_type, "name": self.name, "costs": self.costs.tolist(), "nominal": self.nominal}

    def canonical(self) -> tuple[dict[str, Any], tuple[np.ndarray, ...]]:
        return {"nominal": self.nominal, **shapes(costs=self.costs)}, (self.costs,)


@dataclass(frozen=True, eq=False)
class MatrixGameProblem(Fingerprinted):
    """A finite two-player zero-sum game: the row player receives ``payoff[i, j]`` from the column player.

    Wire form: ``{"type": "matrix_game", "payoff": [[...], ...]}``.

    Parameters
    ----------
    payoff : array_like, shape (rows, columns)
        ``payoff[i, j]``: what the row player receives when it plays row i and the column player column j (any
        number of rows and columns; finite, at most :data:`MAX_LP_VALUE` in magnitude). The record keeps a read-only
        float64 copy.
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    InvalidProblemError
        When ``payoff`` is not a finite numeric matrix or holds a value beyond :data:`MAX_LP_VALUE`.
    """

    payoff: np.ndarray
    name: str | None = None
    problem_type: str = field(default="matrix_game", init=False)

    def __post_init__(self) -> None:
        payoff = _scenario_stack("payoff", [self.payoff], square=False)[0]
        check_magnitude("payoff", payoff)
        object.__setattr__(self, "payoff", payoff)

    @property
    def n(self) -> int:
        return int(max(self.payoff.shape))

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> MatrixGameProblem:
        if not isinstance(data, dict) or "payoff" not in data:
            raise InvalidProblemError("a matrix game needs 'payoff': a matrix")
        return cls(data["payoff"], name=data.get("name"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.problem_type, "name": self.name, "payoff": self.payoff.tolist()}

    def canonical(self) -> tuple[dict[str, Any], tuple[np.ndarray, ...]]:
        return shapes(payoff=self.payoff), (self.payoff,)


@dataclass(frozen=True, eq=False)
class RobustAllocationProblem(Fingerprinted):
    """Max–min allocation: the allocation with the best worst-case total value over value scenarios.

    The allocation of ``base`` (its budgets, groups and bounds) maximises the worst total value over the
    scenarios. Items must have linear values (no utilities).

    Wire form: the allocation form plus ``"scenarios": [{"x": 3, "y": 1}, ...]`` (value per unit of each
    item in each scenario; an item missing from a scenario keeps its base value) and ``"nominal": 0``.

    Parameters
    ----------
    base : AllocationProblem
        The allocation: items (linear values only), budgets, groups and bounds.
    scenarios : tuple of dict
        One dict per scenario (at least one): item id -> value per unit in that scenario; an item missing from
        a scenario keeps its base value.
    nominal : int, default 0
        The index of the nominal scenario, on which the price of robustness is measured.
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    InvalidProblemError
        When there is no scenario, an item has a utility, a scenario names an unknown item or holds an invalid
        number, or ``nominal`` is not a scenario index.
    """

    base: AllocationProblem
    scenarios: tuple[dict[str, float], ...]
    nominal: int = 0
    name: str | None = None
    problem_type: str = field(default="robust_allocation", init=False)

    def __post_init__(self) -> None:
        if not self.scenarios:
            raise InvalidProblemError("scenarios must list at least one scenario")
        ids = {item.id for item in self.base.items}
        for k, item in enumerate(self.base.items):
            if item.utility is not None:
                raise InvalidProblemError(f"items[{k}] ({item.id}) has a utility: robust allocation needs linear "
                                          "values")
        for s, scenario in enumerate(self.scenarios):
            unknown = set(scenario) - ids
            if unknown:
                raise InvalidProblemError(f"scenarios[{s}] names unknown item(s) {sorted(unknown)}")
            for item_id, v in scenario.items():
                _number(f"scenarios[{s}][{item_id!r}]", v)
        if not _is_index(self.nominal, len(self.scenarios)):
            raise InvalidProblemError(f"nominal must be a scenario index in [0, {len(self.scenarios) - 1}], got "
                                      f"{self.nominal!r}")

    @property
    def n(self) -> int:
        return self.base.n

    def values(self, scenario: int) -> dict[str, float]:
        """Value per unit of every item in a scenario."""
        return {item.id: float(self.scenarios[scenario].get(item.id, item.value)) for item in self.base.items}

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> RobustAllocationProblem:
        if not isinstance(data, dict) or not isinstance(data.get("scenarios"), list):
            raise InvalidProblemError("a robust allocation needs 'scenarios': a list of item -> value objects")
        if not all(isinstance(s, dict) for s in data["scenarios"]):
            raise InvalidProblemError("every scenario must be an object of item id -> value")
        base = AllocationProblem.from_dict({k: v for k, v in data.items()
                                            if k not in ("scenarios", "nominal", "type")})
        return cls(base, tuple(dict(s) for s in data["scenarios"]), nominal=data.get("nominal", 0),
                   name=data.get("name"))

    def to_dict(self) -> dict[str, Any]:
        out = self.base.to_dict()
        out.update(type=self.problem_type, name=self.name, scenarios=[dict(s) for s in self.scenarios],
                   nominal=self.nominal)
        return out


@dataclass(frozen=True, eq=False)
class RobustQAPProblem(Fingerprinted):
    """Min–max QAP: the permutation with the best worst case over flow and distance scenarios.

    The permutation p minimises ``max_s sum_ij A_s[i, j] B_s[p[i], p[j]]`` over the scenarios s.

    Wire form: ``{"type": "robust_qap", "flows": [A_0, ...], "distances": [B_0, ...], "nominal": 0}`` —
    either list may hold a single matrix shared by every scenario.

    Parameters
    ----------
    flows : array_like, shape (scenarios, n, n)
        The flow matrix A_s of each scenario, or a single one (shape (1, n, n)) shared by every scenario.
        The record keeps a read-only float64 array: the given array itself when it already is one (it then
        becomes read-only).
    distances : array_like, shape (scenarios, n, n)
        The distance matrix B_s of each scenario, or a single one shared by every scenario (kept as ``flows``).
    nominal : int, default 0
        The index of the nominal scenario, on which the price of robustness is measured.
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Attributes
    ----------
    scenarios : int
        The number of scenarios: the larger of the two stacks' lengths.

    Raises
    ------
    InvalidProblemError
        When a stack is not a non-empty stack of finite square matrices, the two differ in n or n < 2, both hold
        several matrices but not as many, the scale (n^2 max ``abs(flows)`` max ``abs(distances)``) is beyond
        :data:`MAX_OBJECTIVE_SCALE`, or ``nominal`` is not a scenario index.
    """

    flows: np.ndarray
    distances: np.ndarray
    nominal: int = 0
    name: str | None = None
    problem_type: str = field(default="robust_qap", init=False)

    def __post_init__(self) -> None:
        flows = _scenario_stack("flows", self.flows, square=True)
        distances = _scenario_stack("distances", self.distances, square=True)
        if flows.shape[1] != distances.shape[1]:
            raise InvalidProblemError(f"flows and distances must be n x n with the same n, got {flows.shape[1]} and "
                                      f"{distances.shape[1]}")
        if flows.shape[1] < 2:
            raise InvalidProblemError("a QAP needs n >= 2")
        n = flows.shape[1]
        check_scale("flows and distances", [n, n, max_abs(flows), max_abs(distances)],
                    what="n^2 max|flows| max|distances| (a bound on every scenario's objective)")
        if len(flows) > 1 and len(distances) > 1 and len(flows) != len(distances):
            raise InvalidProblemError(f"flows has {len(flows)} scenarios and distances {len(distances)}: give the same "
                                      f"number, or one matrix to share")
        if not _is_index(self.nominal, max(len(flows), len(distances))):
            raise InvalidProblemError(f"nominal must be a scenario index in [0, {max(len(flows), len(distances)) - 1}]"
                                      f", got {self.nominal!r}")
        object.__setattr__(self, "flows", flows)
        object.__setattr__(self, "distances", distances)

    @property
    def n(self) -> int:
        return int(self.flows.shape[1])

    @property
    def scenarios(self) -> int:
        return max(len(self.flows), len(self.distances))

    def scenario(self, s: int) -> QAPProblem:
        """Scenario s as a QAP."""
        return QAPProblem(self.flows[min(s, len(self.flows) - 1)], self.distances[min(s, len(self.distances) - 1)])

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> RobustQAPProblem:
        if not isinstance(data, dict) or "flows" not in data or "distances" not in data:
            raise InvalidProblemError("a robust QAP needs 'flows' and 'distances': lists of n x n matrices")
        return cls(data["flows"], data["distances"], nominal=data.get("nominal", 0), name=data.get("name"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.problem_type, "name": self.name, "flows": self.flows.tolist(),
                "distances": self.distances.tolist(), "nominal": self.nominal}

    def canonical(self) -> tuple[dict[str, Any], tuple[np.ndarray, ...]]:
        return {"nominal": self.nominal, **shapes(flows=self.flows, distances=self.distances)}, (self.flows,
                                                                                                 self.distances)
