"""AllocFlow's record: budget and resource allocation."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mezan.errors import InvalidProblemError
from mezan.problems.fingerprint import Fingerprinted
from mezan.problems.values import _number, wire_form


@dataclass(frozen=True)
class AllocationItem:
    """One item of an allocation: a quantity to choose, with its costs and its value.

    The quantity lies in [min, max] (integer or not), costs ``cost[budget]`` per unit in each budget and is worth
    either a linear ``value`` per unit or a concave piecewise-linear ``utility``. The item's fields are checked by
    the :class:`AllocationProblem` that holds it.

    Parameters
    ----------
    id : str
        The item's id, unique in its problem (non-empty).
    cost : dict of str to float
        Budget name -> cost per unit of the item; each name must be a budget of the problem (a budget not named
        costs nothing).
    value : float, default 0.0
        Value per unit (a linear item; ignored when ``utility`` is given).
    min : float, default 0.0
        The smallest quantity.
    max : float or None, optional
        The largest quantity; None for no upper bound. With a ``utility``, None or the last breakpoint's
        quantity (which caps the quantity in any case).
    integer : bool, default False
        Whether the quantity must be a whole number.
    group : str or None, optional
        The group of the problem the item counts towards, if any.
    utility : tuple of (float, float), optional
        Breakpoints ``((q0, u0), (q1, u1), ...)`` of a concave value: q0 = ``min``, increasing quantities and
        non-increasing slopes (diminishing returns). The value of a quantity is the interpolation, and the last
        breakpoint caps the quantity. None for a linear ``value``.
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
class AllocationProblem(Fingerprinted):
    """Budget and resource allocation: maximise the total value of the items' quantities.

    The quantities are subject to one or more budgets (sum of cost x quantity <= limit), group limits (min <=
    total quantity of a group's items <= max) and each item's bounds and integrality.

    Wire form (JSON)::

        {"type": "allocation", "budget": 100000,
         "items": [{"id": "x", "cost": 10, "value": 3, "min": 0, "max": 5, "integer": true}, ...]}

    Several budgets: ``"budgets": {"cash": 1e5, "staff": 40}`` and per-item ``"cost": {"cash": 10,
    "staff": 1}``; groups: ``"groups": {"lab": {"min": 1, "max": 4}}`` and per-item ``"group": "lab"``;
    diminishing returns: per-item ``"utility": [[0, 0], [2, 10], [5, 14]]`` instead of ``"value"``.
    (The wire form's single ``"budget"`` is the budget named ``"budget"``.)

    Parameters
    ----------
    items : tuple of AllocationItem
        The items (at least one), with unique ids.
    budgets : dict of str to float
        Budget name -> limit.
    groups : dict of str to (float or None, float or None), optional
        Group name -> (min, max) of the total quantity of the group's items; None for no limit on that side.
        Default: no groups.
    name : str, optional
        The instance's name (a label: not part of the fingerprint).

    Raises
    ------
    InvalidProblemError
        When a field is invalid, naming it: no items, a duplicate or empty id, a number that is not finite or
        beyond :data:`MAX_LP_VALUE`, an unknown budget or group, min > max, or a utility that does not start at
        the item's min, is not concave or does not end at its max.
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
                if len(qs) < 2 or qs[0] != item.min or any(b <= a for a, b in itertools.pairwise(qs)):
                    raise InvalidProblemError(f"{where}.utility must start at the item's min ({item.min:g}) and have "
                                              f"at least two breakpoints with increasing quantities")
                slopes = [(u1 - u0) / (q1 - q0) for (q0, u0), (q1, u1) in zip(item.utility, item.utility[1:],
                                                                              strict=False)]
                if any(b > a + 1e-12 * max(1.0, abs(a)) for a, b in itertools.pairwise(slopes)):
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
