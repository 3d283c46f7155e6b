"""Request and response models of the HTTP API: they make the OpenAPI schema complete, with examples.
Pydantic checks types and ranges (422 naming the field); the problem records check the rest."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from mezan.qap.solve import MODES
from mezan.service.routes import MAX_SEED

QAP_EXAMPLE = {"A": [[0, 5, 2], [5, 0, 3], [2, 3, 0]], "B": [[0, 8, 15], [8, 0, 13], [15, 13, 0]], "mode": "auto",
               "time_limit": 1, "seed": 1}
EXAMPLES: dict[str, dict[str, Any]] = {
    "qapflow": QAP_EXAMPLE,
    "workflow": {"type": "workflow", "tasks": [{"id": "design", "duration": 3, "resources": {"lab": 1}},
                                               {"id": "build", "duration": 5, "resources": {"lab": 1}}],
                 "precedences": [["design", "build"]], "resources": {"lab": 1}, "time_limit": 2},
    "allocflow": {"type": "allocation", "budget": 10,
                  "items": [{"id": "a", "cost": {"budget": 4}, "value": 7, "max": 1, "integer": True},
                            {"id": "b", "cost": {"budget": 5}, "value": 8, "max": 1, "integer": True},
                            {"id": "c", "cost": {"budget": 3}, "value": 4, "max": 1, "integer": True}],
                  "time_limit": 2},
    "graphflow": {"type": "network_design", "task": "fixed_charge",
                  "nodes": [{"id": "plant", "supply": 5}, {"id": "hub"}, {"id": "city", "supply": -5}],
                  "edges": [{"from": "plant", "to": "hub", "cost": 1, "capacity": 10, "fixed_cost": 20},
                            {"from": "hub", "to": "city", "cost": 1, "capacity": 10, "fixed_cost": 20},
                            {"from": "plant", "to": "city", "cost": 6, "capacity": 10, "fixed_cost": 5}]},
    "dualflow": {"type": "matrix_game", "payoff": [[0, -1, 1], [1, 0, -1], [-1, 1, 0]]},
    "evoflow": {"type": "tsp", "D": [[0, 2, 9, 10], [2, 0, 6, 4], [9, 6, 0, 3], [10, 4, 3, 0]], "variant": "memetic",
                "time_limit": 0.5, "seed": 0},
    "mezan": {"type": "qap", "A": QAP_EXAMPLE["A"], "B": QAP_EXAMPLE["B"], "time_limit": 1, "seed": 0},
}


Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
"""A finite JSON number (an integer is one; ``true`` and ``"1"`` are not)."""


class Limits(BaseModel):
    """The budget fields every solve body shares, strictly typed: a bool or a string is a mistake, never a
    number."""

    time_limit: float = Field(10.0, gt=0, strict=True, allow_inf_nan=False,
                              description="seconds; capped by the server's max_time_limit")
    seed: int | None = Field(None, ge=0, le=MAX_SEED, strict=True,
                             description="an integer from 0 to 2**63 - 1; makes the run reproducible")


class QAPRequest(Limits):
    model_config = ConfigDict(json_schema_extra={"examples": [QAP_EXAMPLE]})
    A: list[list[Number]] = Field(description="flow matrix, n x n")
    B: list[list[Number]] = Field(description="distance matrix, n x n")
    mode: Literal[tuple(MODES)] = Field("auto", description="QAPFlow mode")  # type: ignore[valid-type]


class Bounds(BaseModel):
    lower: float | None
    upper: float


class QAPResponse(BaseModel):
    solution: list[int] = Field(description="0-based permutation: facility i goes to location solution[i]")
    objective: float
    wall_time: float = Field(description="seconds")
    objective_value: float = Field(description="deprecated: the same as objective (removed in the next release)")
    computation_time: float = Field(description="deprecated: the same as wall_time (removed in the next release)")
    backend: str
    mode: str = Field(description="the algorithm that ran")
    bounds: Bounds
    status: str
    explanation: str
    seed: int


def wire_model(route: str, types: tuple[str, ...]) -> type[BaseModel]:
    """A body model for a wire-form route: its ``type``, the limits, an optional solver; the problem's own
    fields pass through to its record (documented in the README and the example)."""
    kind = Literal[types]  # type: ignore[valid-type]
    fields = {"__annotations__": {"type": kind, "solver": str | None},
              "type": Field(types[0], description="problem type"),
              "solver": Field(None, description="a registered solver of that type (default: the type's own)"),
              "model_config": ConfigDict(extra="allow", json_schema_extra={"examples": [EXAMPLES[route]]})}
    return type(f"{route.capitalize()}Request", (Limits,), fields)


class JobCreated(BaseModel):
    id: str
    status: str


class Problem(BaseModel):
    """An error: what went wrong, and the field when one is to blame."""

    detail: Any


ERRORS = {code: {"model": Problem, "description": text} for code, text in (
    (401, "no API key, or an unknown or revoked one"), (403, "the key's scope does not allow this route"),
    (408, "the request body did not arrive within the server's body timeout"),
    (413, "request body too large"), (422, "malformed JSON, a wrong field, or a problem over the size limit"),
    (429, "rate limit or the key's quota of queued + running solves exceeded, or too many failed "
          "authentications from this address (see Retry-After)"),
    (503, "the solver queue is full (see Retry-After)"))}
SOLVE_ERRORS = ERRORS | {504: {"model": Problem, "description": "the solver did not stop within its time limit + "
                                                                "grace (the server replaced its worker)"}}
JOB_ERRORS = ERRORS | {404: {"model": Problem, "description": "no job with that id"}}
REPORT_ERRORS = ERRORS | {404: {"model": Problem, "description": "no experiment with runs of that id or name"}}
