"""The reward of a solve: normalised quality at a fixed budget, in [0, 1].

For a minimisation with objective f and reference value f* (for a maximisation, f* - f):

    gap    = max(0, (f - f*) / |f*|)
    reward = exp(-gap / gap_scale)                   (gap_scale = 0.01: a 1 % gap scores 0.37)
    reward *= 1 - time_weight * min(1, wall_time / time_limit)   (optional cost weighting, default off)

The reference f* is, in order of preference: the best-known value of the instance (when the problem
record carries one), else the best objective ever recorded for the instance's fingerprint in the
store (this solve included), else the solve's lower bound (minimisation only). Because the second can improve later,
stored rewards are recomputed from the stored objectives whenever statistics are needed. The
exponential keeps the differences that matter between good QAP solvers (0.1 % against 0.5 %) apart,
where a linear scale to a large gap would squash them.
"""

from __future__ import annotations

import math

DEFAULT_GAP_SCALE = 0.01


def reference(best_known: float | None, best_seen: float | None, lower_bound: float | None) -> tuple[float | None, str]:
    """(value, which): "best_known", "best_seen", "lower_bound" or (None, "none")."""
    for value, name in ((best_known, "best_known"), (best_seen, "best_seen"), (lower_bound, "lower_bound")):
        if value is not None and math.isfinite(value):
            return float(value), name
    return None, "none"


def reward(objective: float | None, ref: float | None, *, sense: str = "min", gap_scale: float = DEFAULT_GAP_SCALE,
           wall_time: float | None = None, time_limit: float | None = None, time_weight: float = 0.0) -> float:
    """The reward of one solve (see the module docstring); 0.5 when there is no reference at all, 0
    without an objective (an infeasible or failed run). ``sense="max"`` for maximisation problems."""
    if ref is None or objective is None or not math.isfinite(objective):
        value = 0.5 if ref is None and objective is not None else 0.0
    else:
        worse_by = objective - ref if sense == "min" else ref - objective
        gap = max(0.0, worse_by / max(abs(ref), 1e-12))
        value = math.exp(-gap / gap_scale)
    if time_weight and time_limit and wall_time is not None:
        value *= 1.0 - time_weight * min(1.0, max(0.0, wall_time / time_limit))
    return value
