"""The one result contract every solver of MEZAN returns.

``Result`` holds the fields every layer reads — the service, C2SC references, MetaFlow's recording and the
CLI — under one name each: ``solution``, ``objective``, ``status``, ``lower_bound``, ``upper_bound``, ``gap``,
``solver``, ``seed``, ``wall_time``, ``iterations``, ``trace``, ``explanation`` and ``reason``. A family's
result extends it with the fields only that family has (a QAP's ``method``, a schedule's ``critical_path``)
and gives its solution and objective their familiar names as read-only views (``QAPResult.permutation``,
``WorkflowResult.makespan``, ``EvoResult.fitness``); ``to_dict`` never renames, so the wire form of every
result is the common fields plus the family's own.

Status vocabulary, one meaning for every family:

- ``optimal``: the solution is proven optimal.
- ``feasible``: a solution, not proven optimal; the solver ended by itself (converged, a cap, a target).
- ``timeout``: the time limit stopped the solver; ``solution`` is the best it found, or None when it found
  none before the limit.
- ``cancelled``: stopped by ``stop``, Ctrl-C or a cancel request; best so far, or None.
- ``infeasible`` / ``unbounded``: proven; ``solution`` is None and ``reason`` says why.
- ``error``: the solver failed; ``reason`` says how.

"No solution" is never a status of its own: it is ``solution is None`` (also :attr:`Result.has_solution`).
"""

from __future__ import annotations

import dataclasses
import enum
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

import numpy as np

from mezan.errors import InvalidParameterError

R = TypeVar("R", bound="Result")


# The signature inspect reports for an enum is Enum's functional API (value, names, module, ...; *values from
# Python 3.12), not the lookup Status(value) documented below: numpydoc's parameter checks are waived for this class.
class Status(str, enum.Enum):  # numpydoc ignore=PR01,PR02
    """How a solve ended (a ``str``: ``Status.OPTIMAL == "optimal"``).

    The members are OPTIMAL, FEASIBLE, TIMEOUT, CANCELLED, INFEASIBLE, UNBOUNDED and ERROR, one meaning for every
    family (see :mod:`mezan.results`). ``Status(value)`` looks a member up by its value.

    Parameters
    ----------
    value : str or Status
        The status name: "optimal", "feasible", "timeout", "cancelled", "infeasible", "unbounded" or "error".

    Raises
    ------
    ValueError
        When ``value`` is not a status name.
    """

    def __str__(self) -> str:
        return self.value

    OPTIMAL = "optimal"
    FEASIBLE = "feasible"
    TIMEOUT = "timeout"
    CANCELLED = "cancelled"
    INFEASIBLE = "infeasible"
    UNBOUNDED = "unbounded"
    ERROR = "error"


STATUSES = tuple(s.value for s in Status)


NONFINITE = ("keep", "null", "text")
"""What :func:`to_plain` makes of NaN and the infinities: keep them (Python's JSON writes NaN, which is not JSON),
null (the service and MCP), or null for NaN and the strings "inf" / "-inf" (the CLI's --json, where a bound may be
infinite)."""


def to_plain(value: Any, *, nonfinite: str = "keep") -> Any:
    """A JSON-ready copy: arrays and tuples as lists, numpy scalars as Python numbers, enums as their value, mapping
    keys as strings; NaN and infinities as ``nonfinite`` says (:data:`NONFINITE`). The one plain-JSON converter of
    the results, the service, MCP and the CLI."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {str(k): to_plain(v, nonfinite=nonfinite) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v, nonfinite=nonfinite) for v in value]
    if isinstance(value, np.ndarray):
        return to_plain(value.tolist(), nonfinite=nonfinite)
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value) and nonfinite != "keep":
        if nonfinite == "null" or math.isnan(value):
            return None
        return "inf" if value > 0 else "-inf"
    return value


_QUIET = ("explanation", "reason")
"""Fields a repr leaves out: sentences, read in full from the record itself."""


def compact(value: Any, width: int = 6) -> str:
    """A value as a repr shows it: numbers and short values whole, long sequences as their first items and length,
    long mappings as their first keys and size."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if isinstance(value, (list, tuple)) and len(value) > width:
        head = ", ".join(compact(v, 2) for v in value[:3])
        return f"[{head}, ...] ({len(value)} items)"
    if isinstance(value, dict) and len(value) > width:
        head = ", ".join(f"{k!r}: {compact(v, 2)}" for k, v in list(value.items())[:3])
        return f"{{{head}, ...}} ({len(value)} items)"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


@dataclass(frozen=True, kw_only=True, repr=False)
class Result:
    """Outcome of one solve (see :mod:`mezan.results` for the status vocabulary).

    The fields are keyword-only. A family's result (:class:`mezan.qap.QAPResult`, :class:`mezan.evo.EvoResult`,
    ...) extends this record with the fields only that family has.

    Parameters
    ----------
    solution : object, optional
        The family's solution (a permutation array, a schedule, an allocation, ...), or None when the run produced
        none.
    objective : float or None, optional
        The solution's objective value; None exactly when there is no solution.
    status : Status or str, default "feasible"
        How the run ended (:class:`Status`; a status name is converted).
    lower_bound : float or None, optional
        A proven lower bound on the optimum, when known.
    upper_bound : float or None, optional
        A proven upper bound on the optimum, when known (a minimisation's best solution is one).
    gap : float or None, optional
        Relative distance between the objective and the proven bound, when there is one.
    solver : str or None, optional
        The registered solver that ran (``qapflow.enhanced``, ``allocflow.highs``, ...).
    seed : int or None, optional
        The seed used (reuse it to reproduce); None for deterministic solvers that take none.
    wall_time : float, default 0.0
        Seconds spent.
    iterations : int, default 0
        Moves, evaluations or nodes done (the family says which); 0 when the solver does not count.
    trace : list of tuple of float, optional
        The anytime curve: (seconds, best objective) pairs; empty by default.
    explanation : str, default ""
        Why this solver or mode, and what it did.
    reason : str, default ""
        Why the run ended as it did, when that is worth saying (infeasibility, the cap that stopped it, ...).

    Attributes
    ----------
    has_solution : bool
        True when the run produced a solution (read-only).

    Raises
    ------
    mezan.errors.InvalidParameterError
        When ``status`` is not a status name, or exactly one of ``solution`` and ``objective`` is None.
    """

    solution: Any = None
    objective: float | None = None
    status: Status = Status.FEASIBLE
    lower_bound: float | None = None
    upper_bound: float | None = None
    gap: float | None = None
    solver: str | None = None
    seed: int | None = None
    wall_time: float = 0.0
    iterations: int = 0
    trace: list[tuple[float, float]] = field(default_factory=list)
    explanation: str = ""
    reason: str = ""

    ARRAY_FIELDS: ClassVar[tuple[str, ...]] = ()
    """Fields held as numpy arrays (``from_dict`` turns their lists back into arrays)."""

    def __post_init__(self) -> None:
        try:
            status = Status(self.status)
        except ValueError:
            raise InvalidParameterError(f"status must be one of {', '.join(STATUSES)}; got {self.status!r}") from None
        object.__setattr__(self, "status", status)
        if (self.solution is None) != (self.objective is None):
            raise InvalidParameterError("a result has a solution exactly when it has an objective; got "
                                        f"solution {'None' if self.solution is None else 'set'} and objective "
                                        f"{self.objective!r}")

    @property
    def has_solution(self) -> bool:
        """True when the run produced a solution (any status but infeasible, unbounded and error may)."""
        return self.solution is not None

    def __repr__(self) -> str:
        """One line: the fields that are set, long values shortened (the whole record: :meth:`to_dict`)."""
        shown = [f"{f.name}={compact(getattr(self, f.name))}" for f in dataclasses.fields(self)
                 if f.name not in _QUIET and getattr(self, f.name) is not None
                 and not (isinstance(getattr(self, f.name), (list, tuple, dict)) and not getattr(self, f.name))]
        return f"{type(self).__name__}({', '.join(shown)})"

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready dictionary of every field under its own name (no renaming)."""
        return {f.name: to_plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """The record ``to_dict`` wrote (unknown keys are refused, naming them)."""
        if not isinstance(data, dict):
            raise InvalidParameterError(f"a {cls.__name__} is read from a dict, got {type(data).__name__}")
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - names)
        if unknown:
            raise InvalidParameterError(f"unknown {cls.__name__} field(s): {', '.join(unknown)}")
        values = dict(data)
        for name in cls.ARRAY_FIELDS:
            if isinstance(values.get(name), list):
                values[name] = np.asarray(values[name])
        if "trace" in values:
            values["trace"] = [(float(t), v) for t, v in values["trace"]]
        return cls(**cls._decode(values))

    @classmethod
    def _decode(cls, values: dict[str, Any]) -> dict[str, Any]:
        """A family's own conversions from the wire form (identity by default)."""
        return values
