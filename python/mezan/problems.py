"""Typed problem records shared by every layer (API, CLI, service).

Each record validates its data at construction and raises :class:`mezan.errors.InvalidProblemError`
with a message naming the field; ``to_dict``/``from_dict`` give the JSON wire form and
``fingerprint()`` a stable sha256 of a canonical encoding.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.errors import InvalidProblemError

MAX_OBJECTIVE_SCALE = 1e300
"""Largest n^2 max|A| max|B| (QAP and EvoFlow's permutation problems) the C++ core accepts
(``kMaxObjectiveScale`` in ``mezan/qap/instance.hpp``): every objective, swap delta, relaxation product and
LAP potential then stays finite in double with a factor 1e8 to spare."""

MAX_LP_VALUE = 1e12
"""Largest magnitude of a number in the linear-programming families (allocation, network design, robust
assignment and allocation, matrix games, workflow durations and capacities). HiGHS treats 1e20 as infinite
and its tolerances are relative to about 1e-9, so beyond this its answers are not reliable; data this large
should be rescaled (e.g. to thousands)."""


def max_abs(arr: np.ndarray) -> float:
    """max |entry| as a float, exact for integer arrays (np.abs wraps -2**63 to itself in int64); 0 if empty."""
    if arr.size == 0:
        return 0.0
    if np.issubdtype(arr.dtype, np.integer):
        return float(max(abs(int(arr.min())), abs(int(arr.max()))))
    return float(np.max(np.abs(arr)))


def check_scale(names: str, scale_terms: list[float], limit: float = MAX_OBJECTIVE_SCALE, what: str = "") -> None:
    """Refuse data whose objective scale (the product of ``scale_terms``, computed in logs: it may overflow)
    exceeds ``limit``, naming the fields (``names``) and the bound."""
    if any(t == 0 for t in scale_terms):
        return
    log_scale = float(sum(np.log10(abs(t)) for t in scale_terms))
    if not np.isfinite(log_scale) or log_scale > np.log10(limit):
        raise InvalidProblemError(
            f"{names}: {what or 'the objective scale'} is about 1e{log_scale:.0f}, beyond {limit:.0e}, the largest "
            f"MEZAN computes reliably in double precision; rescale the data")


def check_magnitude(name: str, arr: np.ndarray, limit: float = MAX_LP_VALUE) -> None:
    """Refuse an array with an entry beyond ``limit`` in magnitude, naming the first such entry."""
    if max_abs(arr) > limit:
        index = tuple(int(k) for k in np.argwhere(np.abs(arr) > limit)[0])
        where = "".join(f"[{k}]" for k in index)
        raise InvalidProblemError(f"{name}{where} = {arr[index]:g} exceeds {limit:.0e} in magnitude, the largest value "
                                  f"the LP solver handles reliably; rescale the data")


def wire_form(parse: Any) -> Any:
    """Decorate a record's ``from_dict``: a field of the wrong kind that the parser trips over before naming it
    (a bool where a list belongs, a list where a name belongs, ...) is an InvalidProblemError too, never a bare
    TypeError/ValueError/KeyError from the depths of the parser."""

    @functools.wraps(parse)
    def guarded(cls: Any, data: Any) -> Any:
        try:
            return parse(cls, data)
        except InvalidProblemError:
            raise
        except (TypeError, ValueError, KeyError, IndexError, AttributeError, OverflowError) as exc:
            kind = getattr(cls, "problem_type", cls.__name__)
            raise InvalidProblemError(f"malformed {kind} problem: {type(exc).__name__}: {exc}") from None

    return guarded


def as_matrix(name: str, value: Any) -> np.ndarray:
    """Convert ``value`` to a finite, numeric, square 2-D array, naming ``name`` in every error."""
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError, OverflowError):  # ragged lists and the like
        raise InvalidProblemError(f"{name} cannot be read as a matrix: give a list of equally long rows of "
                                  f"numbers") from None
    if arr.dtype == bool:
        arr = arr.astype(np.int64)
    if not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise InvalidProblemError(f"{name} must hold real numbers, got dtype {arr.dtype}")
    if arr.ndim != 2 or arr.shape[0] != arr.shape[1]:
        raise InvalidProblemError(f"{name} must be a square 2-D matrix, got shape {arr.shape}")
    if np.issubdtype(arr.dtype, np.floating):
        bad = ~np.isfinite(arr)
        if bad.any():
            i, j = (int(k) for k in np.argwhere(bad)[0])
            raise InvalidProblemError(f"{name} has a non-finite value ({arr[i, j]}) at [{i}, {j}]")
    return arr


@dataclass(frozen=True, eq=False)
class QAPProblem:
    """Quadratic assignment: minimise ``sum_ij A[i, j] * B[p[i], p[j]]`` over permutations ``p``.

    Parameters
    ----------
    A, B : array_like, shape (n, n)
        Flow (facilities) and distance (locations) matrices, finite real numbers, n >= 2.
    name : str, optional
        Instance name (e.g. the QAPLIB name, used to look up a best-known value).
    best_known : float, optional
        A reference objective (best known or proven optimum), used to report gaps.
    """

    A: np.ndarray
    B: np.ndarray
    name: str | None = None
    best_known: float | None = None
    problem_type: str = field(default="qap", init=False)

    def __post_init__(self) -> None:
        A = as_matrix("A", self.A)
        B = as_matrix("B", self.B)
        if A.shape != B.shape:
            raise InvalidProblemError(f"A and B must have the same shape, got A {A.shape} and B {B.shape}")
        if A.shape[0] < 2:
            raise InvalidProblemError(f"A and B must be at least 2x2 (a QAP needs n >= 2), got n = {A.shape[0]}")
        n = A.shape[0]
        check_scale("A and B", [n, n, max_abs(A), max_abs(B)],
                    what="n^2 max|A| max|B| (a bound on every objective)")
        A.setflags(write=False)
        B.setflags(write=False)
        object.__setattr__(self, "A", A)
        object.__setattr__(self, "B", B)

    @property
    def n(self) -> int:
        return int(self.A.shape[0])

    def to_dict(self) -> dict[str, Any]:
        return {
            "type": self.problem_type,
            "name": self.name,
            "best_known": self.best_known,
            "A": self.A.tolist(),
            "B": self.B.tolist(),
        }

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> QAPProblem:
        if not isinstance(data, dict):
            raise InvalidProblemError(f"a QAP problem must be a JSON object, got {type(data).__name__}")
        if data.get("type", "qap") != "qap":
            raise InvalidProblemError(f"type must be 'qap', got {data.get('type')!r}")
        for key in ("A", "B"):
            if key not in data:
                raise InvalidProblemError(f"missing field {key!r}")
        return cls(data["A"], data["B"], name=data.get("name"), best_known=data.get("best_known"))

    def fingerprint(self) -> str:
        """sha256 of the canonical encoding (type, shape, values as float64 little-endian)."""
        h = hashlib.sha256()
        h.update(json.dumps({"type": self.problem_type, "n": self.n}).encode())
        for m in (self.A, self.B):
            h.update(np.ascontiguousarray(m, dtype="<f8").tobytes())
        return h.hexdigest()


def _show(value: Any) -> str:
    """A number for a message (an int too large for a float is shown by its digits)."""
    try:
        return f"{value:g}"
    except OverflowError:
        digits = str(value)
        return f"{digits[:6]}... ({len(digits.lstrip('-'))} digits)"


def _number(where: str, value: Any, *, allow_none: bool = False) -> float | None:
    """A finite real number (bools refused), naming ``where`` in the error."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise InvalidProblemError(f"{where} must be a number, got {value!r}")
    if isinstance(value, (float, np.floating)) and not np.isfinite(value):
        raise InvalidProblemError(f"{where} must be finite, got {value!r}")
    if abs(value) > MAX_LP_VALUE:  # Python ints of any size compare exactly
        raise InvalidProblemError(f"{where} = {_show(value)} exceeds {MAX_LP_VALUE:.0e} in magnitude, the largest "
                                  f"value the LP solver handles reliably; rescale the data")
    return float(value)


@dataclass(frozen=True)
class AllocationItem:
    """One item of an allocation: a quantity in [min, max] (integer or not) with a cost per unit in
    each budget and either a linear value per unit or a concave piecewise-linear ``utility``.

    ``utility``: breakpoints ``((q0, u0), (q1, u1), ...)`` with q0 = min, increasing quantities and
    non-increasing slopes (diminishing returns); the value of a quantity is the interpolation, and the
    last breakpoint caps the quantity.
    """

    id: str
    cost: dict[str, float]
    value: float = 0.0
    min: float = 0.0
    max: float | None = None
    integer: bool = False
    group: str | None = None
    utility: tuple[tuple[float, float], ...] | None = None

    def value_of(self, quantity: float) -> float:
        """The item's value at a quantity (linear, or interpolated on the utility breakpoints)."""
        if self.utility is None:
            return self.value * quantity
        qs = [q for q, _ in self.utility]
        us = [u for _, u in self.utility]
        return float(np.interp(quantity, qs, us))


@dataclass(frozen=True, eq=False)
class AllocationProblem:
    """Budget and resource allocation: maximise the total value of item quantities subject to one or
    more budgets (sum of cost x quantity <= limit), group limits (min <= total quantity of a group's
    items <= max) and each item's bounds and integrality.

    Wire form (JSON)::

        {"type": "allocation", "budget": 100000,
         "items": [{"id": "x", "cost": 10, "value": 3, "min": 0, "max": 5, "integer": true}, ...]}

    Several budgets: ``"budgets": {"cash": 1e5, "staff": 40}`` and per-item ``"cost": {"cash": 10,
    "staff": 1}``; groups: ``"groups": {"lab": {"min": 1, "max": 4}}`` and per-item ``"group": "lab"``;
    diminishing returns: per-item ``"utility": [[0, 0], [2, 10], [5, 14]]`` instead of ``"value"``.
    """

    items: tuple[AllocationItem, ...]
    budgets: dict[str, float]
    groups: dict[str, tuple[float | None, float | None]] = field(default_factory=dict)
    name: str | None = None
    problem_type: str = field(default="allocation", init=False)

    def __post_init__(self) -> None:
        if not self.items:
            raise InvalidProblemError("items must list at least one item")
        for budget, amount in self.budgets.items():
            _number(f"budgets[{budget!r}]", amount)
        for group, (low, high) in self.groups.items():
            _number(f"groups[{group!r}].min", low, allow_none=True)
            _number(f"groups[{group!r}].max", high, allow_none=True)
        seen: set[str] = set()
        for k, item in enumerate(self.items):
            where = f"items[{k}]"
            _number(f"{where}.value", item.value)
            _number(f"{where}.min", item.min)
            _number(f"{where}.max", item.max, allow_none=True)
            for budget, c in item.cost.items():
                _number(f"{where}.cost[{budget!r}]", c)
            for j, (q, u) in enumerate(item.utility or ()):
                _number(f"{where}.utility[{j}][0]", q)
                _number(f"{where}.utility[{j}][1]", u)
            if not isinstance(item.id, str) or not item.id:
                raise InvalidProblemError(f"{where}.id must be a non-empty string")
            if item.id in seen:
                raise InvalidProblemError(f"{where}.id {item.id!r} is used twice")
            seen.add(item.id)
            for budget in item.cost:
                if budget not in self.budgets:
                    raise InvalidProblemError(f"{where}.cost names budget {budget!r}, which is not in budgets "
                                              f"({', '.join(self.budgets)})")
            if item.max is not None and item.min > item.max:
                raise InvalidProblemError(f"{where} ({item.id}): min {item.min:g} > max {item.max:g}")
            if item.group is not None and (not isinstance(item.group, str) or item.group not in self.groups):
                raise InvalidProblemError(f"{where}.group {item.group!r} is not in groups")
            if item.utility is not None:
                qs = [q for q, _ in item.utility]
                if len(qs) < 2 or qs[0] != item.min or any(b <= a for a, b in zip(qs, qs[1:], strict=False)):
                    raise InvalidProblemError(f"{where}.utility must start at the item's min ({item.min:g}) and have "
                                              f"at least two breakpoints with increasing quantities")
                slopes = [(u1 - u0) / (q1 - q0) for (q0, u0), (q1, u1) in zip(item.utility, item.utility[1:],
                                                                              strict=False)]
                if any(b > a + 1e-12 * max(1.0, abs(a)) for a, b in zip(slopes, slopes[1:], strict=False)):
                    raise InvalidProblemError(f"{where}.utility must be concave (non-increasing slopes: diminishing "
                                              f"returns), got slopes {[round(s, 6) for s in slopes]}")
                if item.max is not None and item.max != qs[-1]:
                    raise InvalidProblemError(f"{where}.max must equal the last utility breakpoint ({qs[-1]:g})")
        for name, (low, high) in self.groups.items():
            if low is not None and high is not None and low > high:
                raise InvalidProblemError(f"groups[{name!r}]: min {low:g} > max {high:g}")

    @property
    def n(self) -> int:
        return len(self.items)

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> AllocationProblem:
        if not isinstance(data, dict):
            raise InvalidProblemError(f"an allocation problem must be a JSON object, got {type(data).__name__}")
        if data.get("type", "allocation") != "allocation":
            raise InvalidProblemError(f"type must be 'allocation', got {data.get('type')!r}")
        if ("budget" in data) == ("budgets" in data):
            raise InvalidProblemError("give exactly one of 'budget' (a number) and 'budgets' (name -> limit)")
        if "budget" in data:
            budgets = {"budget": _number("budget", data["budget"])}
        else:
            if not isinstance(data["budgets"], dict) or not data["budgets"]:
                raise InvalidProblemError("budgets must be a non-empty object of name -> limit")
            budgets = {str(k): _number(f"budgets[{k!r}]", v) for k, v in data["budgets"].items()}
        groups = {}
        if not isinstance(data.get("groups") or {}, dict):
            raise InvalidProblemError("groups must be an object of name -> {\"min\", \"max\"}")
        for name, spec in (data.get("groups") or {}).items():
            if not isinstance(spec, dict) or set(spec) - {"min", "max"}:
                raise InvalidProblemError(f"groups[{name!r}] must be an object with 'min' and/or 'max'")
            groups[str(name)] = (_number(f"groups[{name!r}].min", spec.get("min"), allow_none=True),
                                 _number(f"groups[{name!r}].max", spec.get("max"), allow_none=True))
        items = data.get("items")
        if not isinstance(items, list):
            raise InvalidProblemError("items must be a list of objects")
        known = {"id", "cost", "value", "min", "max", "integer", "group", "utility"}
        parsed = []
        for k, raw in enumerate(items):
            where = f"items[{k}]"
            if not isinstance(raw, dict):
                raise InvalidProblemError(f"{where} must be an object")
            if set(raw) - known:
                raise InvalidProblemError(f"{where} has unknown field(s) {sorted(set(raw) - known)}")
            if "id" not in raw or "cost" not in raw:
                raise InvalidProblemError(f"{where} needs 'id' and 'cost'")
            cost = raw["cost"]
            if isinstance(cost, dict):
                cost = {str(b): _number(f"{where}.cost[{b!r}]", c) for b, c in cost.items()}
            elif len(budgets) == 1:
                cost = {next(iter(budgets)): _number(f"{where}.cost", cost)}
            else:
                raise InvalidProblemError(f"{where}.cost must be an object of budget -> cost when there are "
                                          f"several budgets")
            if "value" in raw and "utility" in raw:
                raise InvalidProblemError(f"{where}: give 'value' or 'utility', not both")
            utility = None
            if "utility" in raw:
                points = raw["utility"]
                if not isinstance(points, list) or not all(isinstance(p, list) and len(p) == 2 for p in points):
                    raise InvalidProblemError(f"{where}.utility must be a list of [quantity, value] pairs")
                utility = tuple((_number(f"{where}.utility[{j}][0]", q), _number(f"{where}.utility[{j}][1]", u))
                                for j, (q, u) in enumerate(points))
            integer = raw.get("integer", False)
            if not isinstance(integer, bool):
                raise InvalidProblemError(f"{where}.integer must be true or false")
            low = _number(f"{where}.min", raw.get("min", utility[0][0] if utility else 0.0))
            high = _number(f"{where}.max", raw.get("max", utility[-1][0] if utility else None), allow_none=True)
            parsed.append(AllocationItem(id=str(raw["id"]), cost=cost, value=_number(f"{where}.value",
                                                                                     raw.get("value", 0.0)),
                                         min=low, max=high, integer=integer, group=raw.get("group"), utility=utility))
        return cls(tuple(parsed), budgets, groups, name=data.get("name"))

    def to_dict(self) -> dict[str, Any]:
        items = []
        for item in self.items:
            d: dict[str, Any] = {"id": item.id, "cost": dict(item.cost), "min": item.min, "max": item.max,
                                 "integer": item.integer}
            if item.utility is not None:
                d["utility"] = [list(p) for p in item.utility]
            else:
                d["value"] = item.value
            if item.group is not None:
                d["group"] = item.group
            items.append(d)
        out: dict[str, Any] = {"type": self.problem_type, "name": self.name, "budgets": dict(self.budgets),
                               "items": items}
        if self.groups:
            out["groups"] = {g: {"min": lo, "max": hi} for g, (lo, hi) in self.groups.items()}
        return out

    def fingerprint(self) -> str:
        """sha256 of the canonical JSON of the wire form (name excluded)."""
        canonical = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _is_index(value: Any, count: int) -> bool:
    """An int (not a bool) in [0, count)."""
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)) and 0 <= value < count


def _scenario_stack(name: str, value: Any, square: bool) -> np.ndarray:
    """A non-empty stack of equally shaped finite matrices (scenarios), naming ``name`` in errors."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except OverflowError:
        raise InvalidProblemError(f"{name} holds a number beyond the range of a double") from None
    except (TypeError, ValueError) as exc:
        raise InvalidProblemError(f"{name} must be a list of equally shaped numeric matrices: {exc}") from exc
    if arr.ndim != 3 or arr.shape[0] < 1:
        raise InvalidProblemError(f"{name} must be a non-empty list of matrices, got shape {arr.shape}")
    if square and arr.shape[1] != arr.shape[2]:
        raise InvalidProblemError(f"{name} must hold square matrices, got {arr.shape[1]}x{arr.shape[2]}")
    bad = ~np.isfinite(arr)
    if bad.any():
        s, i, j = (int(k) for k in np.argwhere(bad)[0])
        raise InvalidProblemError(f"{name}[{s}] has a non-finite value at [{i}, {j}]")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class RobustAssignmentProblem:
    """Min–max assignment: a permutation p minimising max_s sum_i costs[s][i, p[i]] over scenarios s.

    Wire form: ``{"type": "robust_assignment", "costs": [C_0, C_1, ...], "nominal": 0}`` — one n x n
    cost matrix per scenario; ``nominal`` is the scenario the price of robustness is measured on.
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

    def fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps({"type": self.problem_type, "shape": self.costs.shape,
                                       "nominal": self.nominal}).encode())
        h.update(np.ascontiguousarray(self.costs, dtype="<f8").tobytes())
        return h.hexdigest()


@dataclass(frozen=True, eq=False)
class MatrixGameProblem:
    """A finite two-player zero-sum game: the row player receives ``payoff[i, j]`` from the column player.

    Wire form: ``{"type": "matrix_game", "payoff": [[...], ...]}``.
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

    def fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps({"type": self.problem_type, "shape": self.payoff.shape}).encode())
        h.update(np.ascontiguousarray(self.payoff, dtype="<f8").tobytes())
        return h.hexdigest()


@dataclass(frozen=True, eq=False)
class RobustAllocationProblem:
    """Max–min allocation: the allocation of ``base`` (budgets, groups, bounds) maximising the worst
    total value over value scenarios. Items must have linear values (no utilities).

    Wire form: the allocation form plus ``"scenarios": [{"x": 3, "y": 1}, ...]`` (value per unit of each
    item in each scenario; an item missing from a scenario keeps its base value) and ``"nominal": 0``.
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

    def fingerprint(self) -> str:
        canonical = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


NETWORK_TASKS = ("mst", "steiner", "min_cost_flow", "fixed_charge")


@dataclass(frozen=True, eq=False)
class NetworkDesignProblem:
    """Network topology design on a graph (GraphFlow). ``task``:

    - ``"mst"``: minimum spanning tree (forest) of the undirected graph by edge ``cost``;
    - ``"steiner"``: a tree connecting the ``terminals`` (a 2-approximation, see GraphFlow);
    - ``"min_cost_flow"``: route the nodes' ``supply`` (> 0 sources, < 0 sinks, summing to 0) along
      directed edges with ``capacity`` at minimum total ``cost`` x flow;
    - ``"fixed_charge"``: capacitated fixed-charge design — choose edges (paying ``fixed_cost``) and
      route the supplies on them (paying ``cost`` per unit), minimising the sum.

    Wire form::

        {"type": "network_design", "task": "fixed_charge",
         "nodes": [{"id": "a", "supply": 5}, {"id": "b"}, {"id": "c", "supply": -5}],
         "edges": [{"from": "a", "to": "b", "cost": 1, "capacity": 10, "fixed_cost": 20}, ...],
         "terminals": ["a", "c"]}                                     # terminals: steiner only
    """

    task: str
    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str, float, float | None, float], ...]  # (from, to, cost, capacity, fixed_cost)
    supply: dict[str, float] = field(default_factory=dict)
    terminals: tuple[str, ...] = ()
    name: str | None = None
    problem_type: str = field(default="network_design", init=False)

    def __post_init__(self) -> None:
        if self.task not in NETWORK_TASKS:
            raise InvalidProblemError(f"task must be one of {', '.join(NETWORK_TASKS)}; got {self.task!r}")
        if not self.nodes:
            raise InvalidProblemError("nodes must list at least one node")
        if len(set(self.nodes)) != len(self.nodes):
            raise InvalidProblemError("nodes: a node id is used twice")
        known = set(self.nodes)
        for k, (u, v, cost, capacity, fixed_cost) in enumerate(self.edges):
            _number(f"edges[{k}].cost", cost)
            _number(f"edges[{k}].capacity", capacity, allow_none=True)
            _number(f"edges[{k}].fixed_cost", fixed_cost)
            for end, node in (("from", u), ("to", v)):
                if node not in known:
                    raise InvalidProblemError(f"edges[{k}].{end} names unknown node {node!r}")
            if u == v:
                raise InvalidProblemError(f"edges[{k}] is a loop on {u!r}")
            if capacity is not None and capacity < 0:
                raise InvalidProblemError(f"edges[{k}].capacity must be >= 0, got {capacity:g}")
            if self.task in ("mst", "steiner") and cost < 0:
                raise InvalidProblemError(f"edges[{k}].cost must be >= 0 for a tree, got {cost:g}")
        for node, amount in self.supply.items():
            if node not in known:
                raise InvalidProblemError(f"supply names unknown node {node!r}")
            _number(f"supply[{node!r}]", amount)
        if self.task in ("min_cost_flow", "fixed_charge"):
            total = sum(self.supply.values())
            if abs(total) > 1e-9 * max(1.0, sum(abs(s) for s in self.supply.values())):
                raise InvalidProblemError(f"supplies must sum to 0 (sources > 0, sinks < 0), got {total:g}")
        if self.task == "steiner":
            if len(self.terminals) < 1:
                raise InvalidProblemError("terminals must list the nodes the Steiner tree connects")
            for t in self.terminals:
                if t not in known:
                    raise InvalidProblemError(f"terminals names unknown node {t!r}")

    @property
    def n(self) -> int:
        return len(self.nodes)

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> NetworkDesignProblem:
        if not isinstance(data, dict):
            raise InvalidProblemError(f"a network design problem must be a JSON object, got {type(data).__name__}")
        if data.get("type", "network_design") != "network_design":
            raise InvalidProblemError(f"type must be 'network_design', got {data.get('type')!r}")
        nodes, supply = [], {}
        if not isinstance(data.get("nodes"), list):
            raise InvalidProblemError("nodes must be a list of {'id': ..., 'supply': ...} objects")
        for k, raw in enumerate(data["nodes"]):
            if not isinstance(raw, dict) or "id" not in raw:
                raise InvalidProblemError(f"nodes[{k}] must be an object with an 'id'")
            nodes.append(str(raw["id"]))
            if "supply" in raw:
                supply[str(raw["id"])] = _number(f"nodes[{k}].supply", raw["supply"])
        edges = []
        if not isinstance(data.get("edges"), list):
            raise InvalidProblemError("edges must be a list of {'from', 'to', 'cost', ...} objects")
        for k, raw in enumerate(data["edges"]):
            if not isinstance(raw, dict) or not {"from", "to"} <= set(raw):
                raise InvalidProblemError(f"edges[{k}] needs 'from' and 'to'")
            edges.append((str(raw["from"]), str(raw["to"]), _number(f"edges[{k}].cost", raw.get("cost", 0.0)),
                          _number(f"edges[{k}].capacity", raw.get("capacity"), allow_none=True),
                          _number(f"edges[{k}].fixed_cost", raw.get("fixed_cost", 0.0))))
        if not isinstance(data.get("terminals") or [], list):
            raise InvalidProblemError("terminals must be a list of node ids")
        terminals = tuple(str(t) for t in data.get("terminals") or ())
        return cls(str(data.get("task")), tuple(nodes), tuple(edges), supply, terminals, name=data.get("name"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.problem_type, "task": self.task, "name": self.name,
                "nodes": [{"id": v, **({"supply": self.supply[v]} if v in self.supply else {})} for v in self.nodes],
                "edges": [{"from": u, "to": v, "cost": c, "capacity": cap, "fixed_cost": f}
                          for u, v, c, cap, f in self.edges],
                "terminals": list(self.terminals)}

    def fingerprint(self) -> str:
        canonical = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def find_cycle(nodes: Any, edges: Any) -> list[str]:
    """The nodes of a directed cycle, in order (each has an edge to the next, the last to the first), or [].

    Kahn's algorithm removes every node that no cycle passes through, in O(nodes + edges); a cycle is then walked
    among the nodes left (each keeps an in-edge from another one left). Linear time matters here: this check
    runs on every workflow and composite request before any size limit can apply to its solve.
    """
    nodes = list(dict.fromkeys(nodes))
    successors: dict[Any, list[Any]] = {v: [] for v in nodes}
    predecessors: dict[Any, list[Any]] = {v: [] for v in nodes}
    indegree: dict[Any, int] = dict.fromkeys(nodes, 0)
    for u, v in edges:
        for end in (u, v):
            if end not in successors:
                successors[end], predecessors[end], indegree[end] = [], [], 0
        successors[u].append(v)
        predecessors[v].append(u)
        indegree[v] += 1
    ready = [v for v, d in indegree.items() if d == 0]
    while ready:
        u = ready.pop()
        for v in successors[u]:
            indegree[v] -= 1
            if indegree[v] == 0:
                ready.append(v)
    left = {v for v, d in indegree.items() if d > 0}
    if not left:
        return []
    # Every node left has a predecessor left: walk predecessors until a node repeats; that loop is a cycle.
    seen: dict[Any, int] = {}
    walk: list[Any] = []
    v = next(u for u in successors if u in left)
    while v not in seen:
        seen[v] = len(walk)
        walk.append(v)
        v = next(u for u in predecessors[v] if u in left)
    cycle = walk[seen[v]:]
    cycle.reverse()  # walked against the edges
    position = {u: k for k, u in enumerate(successors)}  # the given order: report from its earliest node
    first = min(range(len(cycle)), key=lambda k: position[cycle[k]])
    return cycle[first:] + cycle[:first]


def _whole(where: str, value: Any) -> int:
    """A non-negative whole number (CP-SAT schedules in integer time and resource units)."""
    number = _number(where, value)
    if number < 0 or number != int(number):
        raise InvalidProblemError(f"{where} must be a whole number >= 0 (integer units), got {value!r}")
    return int(number)


@dataclass(frozen=True)
class WorkflowTask:
    """A task: ``duration`` time units, ``resources`` (name -> units held while it runs), and the
    ``agent`` that performs it (an agent does one task at a time), if any."""

    id: str
    duration: int
    resources: dict[str, int] = field(default_factory=dict)
    agent: str | None = None


@dataclass(frozen=True, eq=False)
class WorkflowProblem:
    """DAG task scheduling with renewable resources (RCPSP) and agents: minimise the makespan.

    Wire form::

        {"type": "workflow",
         "tasks": [{"id": "t1", "duration": 3, "resources": {"lab": 1}, "agent": 0}, ...],
         "precedences": [["t1", "t2"], ...],          # t2 starts after t1 ends
         "resources": {"lab": 2}}                       # capacities

    A precedence cycle is an error that names the cycle.
    """

    tasks: tuple[WorkflowTask, ...]
    precedences: tuple[tuple[str, str], ...] = ()
    resources: dict[str, int] = field(default_factory=dict)
    name: str | None = None
    problem_type: str = field(default="workflow", init=False)

    def __post_init__(self) -> None:
        if not self.tasks:
            raise InvalidProblemError("tasks must list at least one task")
        ids = [t.id for t in self.tasks]
        seen: set[str] = set()
        for k, task in enumerate(self.tasks):
            if not isinstance(task.id, str) or not task.id:
                raise InvalidProblemError(f"tasks[{k}].id must be a non-empty string")
            if task.id in seen:
                raise InvalidProblemError(f"tasks[{k}].id {task.id!r} is used twice")
            seen.add(task.id)
            _whole(f"tasks[{k}].duration", task.duration)
            for resource, units in task.resources.items():
                _whole(f"tasks[{k}].resources[{resource!r}]", units)
            for resource in task.resources:
                if resource not in self.resources:
                    raise InvalidProblemError(f"tasks[{k}] ({task.id}) uses resource {resource!r}, which is not in "
                                              f"resources ({', '.join(self.resources) or 'none'})")
        for resource, capacity in self.resources.items():
            _whole(f"resources[{resource!r}]", capacity)
        for k, (a, b) in enumerate(self.precedences):
            for end, task_id in (("first", a), ("second", b)):
                if task_id not in seen:
                    raise InvalidProblemError(f"precedences[{k}] names unknown task {task_id!r} ({end} of the pair)")
        cycle = find_cycle(ids, self.precedences)
        if cycle:
            raise InvalidProblemError("precedences form a cycle: " + " -> ".join(cycle + [cycle[0]]))

    @property
    def n(self) -> int:
        return len(self.tasks)

    @classmethod
    @wire_form
    def from_dict(cls, data: dict[str, Any]) -> WorkflowProblem:
        if not isinstance(data, dict):
            raise InvalidProblemError(f"a workflow problem must be a JSON object, got {type(data).__name__}")
        if data.get("type", "workflow") != "workflow":
            raise InvalidProblemError(f"type must be 'workflow', got {data.get('type')!r}")
        resources_raw = data.get("resources") or {}
        if not isinstance(resources_raw, dict):
            raise InvalidProblemError("resources must be an object of name -> capacity")
        resources = {str(r): _whole(f"resources[{r!r}]", c) for r, c in resources_raw.items()}
        if not isinstance(data.get("tasks"), list):
            raise InvalidProblemError("tasks must be a list of objects")
        tasks = []
        for k, raw in enumerate(data["tasks"]):
            where = f"tasks[{k}]"
            if not isinstance(raw, dict) or "id" not in raw or "duration" not in raw:
                raise InvalidProblemError(f"{where} needs 'id' and 'duration'")
            unknown = set(raw) - {"id", "duration", "resources", "agent"}
            if unknown:
                raise InvalidProblemError(f"{where} has unknown field(s) {sorted(unknown)}")
            uses = raw.get("resources") or {}
            if not isinstance(uses, dict):
                raise InvalidProblemError(f"{where}.resources must be an object of name -> units")
            tasks.append(WorkflowTask(str(raw["id"]), _whole(f"{where}.duration", raw["duration"]),
                                      {str(r): _whole(f"{where}.resources[{r!r}]", u) for r, u in uses.items()},
                                      None if raw.get("agent") is None else str(raw["agent"])))
        precedences = []
        if not isinstance(data.get("precedences") or [], list):
            raise InvalidProblemError("precedences must be a list of [before, after] pairs")
        for k, pair in enumerate(data.get("precedences") or []):
            if not isinstance(pair, (list, tuple)) or len(pair) != 2:
                raise InvalidProblemError(f"precedences[{k}] must be a pair [before, after]")
            precedences.append((str(pair[0]), str(pair[1])))
        return cls(tuple(tasks), tuple(precedences), resources, name=data.get("name"))

    def to_dict(self) -> dict[str, Any]:
        return {"type": self.problem_type, "name": self.name,
                "tasks": [{"id": t.id, "duration": t.duration, "resources": dict(t.resources), "agent": t.agent}
                          for t in self.tasks],
                "precedences": [list(p) for p in self.precedences], "resources": dict(self.resources)}

    def fingerprint(self) -> str:
        canonical = {k: v for k, v in self.to_dict().items() if k != "name"}
        return hashlib.sha256(json.dumps(canonical, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


@dataclass(frozen=True, eq=False)
class RobustQAPProblem:
    """Min–max QAP: a permutation p minimising max_s sum_ij A_s[i, j] B_s[p[i], p[j]] over scenarios s.

    Wire form: ``{"type": "robust_qap", "flows": [A_0, ...], "distances": [B_0, ...], "nominal": 0}`` —
    either list may hold a single matrix shared by every scenario.
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

    def fingerprint(self) -> str:
        h = hashlib.sha256(json.dumps({"type": self.problem_type, "flows": self.flows.shape,
                                       "distances": self.distances.shape, "nominal": self.nominal}).encode())
        for m in (self.flows, self.distances):
            h.update(np.ascontiguousarray(m, dtype="<f8").tobytes())
        return h.hexdigest()
