"""A paired A/B test of two solvers that runs trials in rounds and stops as soon as the sequential test decides.

A trial is one (instance, seed): both solvers run on it, and its paired difference is ``(loss_A - loss_B) /
|reference|`` (the reference: the instance's best-known value, else the better of the two). Trials cycle through
the instances (seed 0 on each, then seed 1, ...). After the first look's trials and then after every round the
group-sequential design of :mod:`mezan.bench.sequential` decides: a winner, "no difference" (|effect| below the
one the design was powered for), or continue — and the report gives the effect with its repeated confidence
interval and the trials saved against the fixed-sample design of the same alpha and power.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from mezan.bench import sequential
from mezan.bench.analysis import a12, a12_magnitude
from mezan.bench.experiments import cell_seed, parse_solver, run_cell, solver_label
from mezan.bench.instances import parse as parse_instances
from mezan.dist import executor_from, run_cells
from mezan.errors import InvalidParameterError
from mezan.problems import sense_of
from mezan.registry import get
from mezan.registry import portable as wire_of


def ab_test(a: str, b: str, instance_specs: list[str], *, alpha: float = 0.05, power: float = 0.95,
            effect: float = 0.5, max_trials: int | None = None, round_size: int = 2, first_look: int = 10,
            time_limit: float = 1.0, seed: int = 0, executor: Any = None,
            on_look: Callable[[dict[str, Any]], Any] | None = None) -> dict[str, Any]:
    """Run the sequential A/B test of two solvers, stopping as soon as the group-sequential design decides.

    Trials (instance, seed) run in rounds on ``executor``, both solvers on each; after the first look and every
    round, the design of :mod:`mezan.bench.sequential` decides: a winner, no practical difference, or continue
    (see :mod:`mezan.bench.ab`).

    Parameters
    ----------
    a : str
        Solver A, a solver spec as ``--solvers`` takes it (``NAME[:key=value...]``, e.g. ``rots`` or
        ``qapflow.enhanced:threads=1``).
    b : str
        Solver B, likewise; it must differ from A.
    instance_specs : list of str
        Instance specs (:mod:`mezan.bench.instances`); trials cycle through their instances, which must all be of
        the type both solvers solve.
    alpha : float, default 0.05
        The test's two-sided significance level, in (0, 0.5).
    power : float, default 0.95
        The power at ``effect``, in [0.5, 1).
    effect : float, default 0.5
        The standardised effect (Cohen's d_z of the paired differences) the design is powered for; a smaller
        one is "no practical difference".
    max_trials : int, optional
        The most trials (default: the fewest that give ``power``).
    round_size : int, default 2
        Trials per round between two looks.
    first_look : int, default 10
        Trials before the first look (at least 2).
    time_limit : float, default 1.0
        Seconds per solve (positive, finite).
    seed : int, default 0
        The seed of replicate 0; replicate k uses ``seed + k``, the same for A and B.
    executor : object, optional
        Where the trials run: anything :func:`mezan.dist.executor_from` takes (default: local threads).
    on_look : callable, optional
        ``on_look(look)`` after every look, with ``{"trials", "z", "continue_between", "verdict"}`` (a progress
        display).

    Returns
    -------
    dict
        JSON-ready: ``a``, ``b``, ``winner`` (a label or None), ``verdict`` (``"winner"`` or the design's
        verdict), ``summary``, ``trials``, ``max_trials``, ``fixed_trials`` and ``trials_saved`` (against the
        fixed-sample design), ``mean_difference`` with its repeated confidence interval
        ``difference_interval``, ``standardized_effect``, ``a12`` and ``a12_magnitude``, ``looks``, ``design``,
        ``time_limit``, ``seed`` and ``instances``.

    Raises
    ------
    InvalidParameterError
        When a solver is unknown or both are the same, ``time_limit`` is not a positive number, there is no
        instance or one is of the wrong type, the design cannot be built from ``alpha``, ``power``, ``effect``
        and the trial counts, or a solver finds no solution on a trial.
    """
    name_a, config_a = parse_solver(a)
    name_b, config_b = parse_solver(b)
    label_a, label_b = solver_label(name_a, config_a), solver_label(name_b, config_b)
    if label_a == label_b:
        raise InvalidParameterError(f"A and B are the same solver ({label_a}): nothing to compare")
    if not (isinstance(time_limit, (int, float)) and math.isfinite(time_limit) and time_limit > 0):
        raise InvalidParameterError(f"--time must be a positive number of seconds, got {time_limit}")
    instances = [i for spec in instance_specs for i in parse_instances(spec)]
    if not instances:
        raise InvalidParameterError("--instances: no instance")
    for instance in instances:
        for name in (name_a, name_b):
            if get(name).problem_type != instance.problem.problem_type:
                raise InvalidParameterError(f"{name} solves {get(name).problem_type} problems; instance "
                                            f"{instance.name!r} is a {instance.problem.problem_type} problem")
    design = sequential.design(alpha, power, effect, round_size=round_size, max_trials=max_trials,
                               first_look=first_look)
    wires = [wire_of(i.problem) for i in instances]
    differences: list[float] = []
    losses: dict[str, list[float]] = {"A": [], "B": []}
    looks: list[dict[str, Any]] = []
    decision = None
    with executor_from(executor) as ex:
        for n in design.looks:
            jobs = {}
            for trial in range(len(differences), n):
                k, replicate = trial % len(instances), trial // len(instances)
                s = cell_seed(seed, replicate)
                jobs[f"{trial}|A"] = (run_cell, (name_a, config_a, wires[k], time_limit, s))
                jobs[f"{trial}|B"] = (run_cell, (name_b, config_b, wires[k], time_limit, s))
            values: dict[str, dict[str, Any]] = {}
            run_cells(ex, jobs, record=values.__setitem__, context=True)
            for trial in range(len(differences), n):
                instance = instances[trial % len(instances)]
                la, lb = (values[f"{trial}|{side}"]["objective"] for side in "AB")
                if la is None or lb is None:
                    raise InvalidParameterError(f"trial {trial}: {label_a if la is None else label_b} found no "
                                                f"solution of {instance.name!r} in {time_limit:g} s")
                sign = -1.0 if sense_of(instance.problem.problem_type) == "max" else 1.0
                la, lb = sign * la, sign * lb
                reference = sign * instance.best_known if instance.best_known is not None else min(la, lb)
                scale = max(abs(reference), 1e-12)
                differences.append((la - lb) / scale)
                losses["A"].append((la - reference) / scale)  # each on the instance's own scale
                losses["B"].append((lb - reference) / scale)
            decision = sequential.decide(design, np.array(differences))
            look = {"trials": n, "z": decision.z, "continue_between": [decision.lower, decision.upper],
                    "verdict": decision.verdict}
            looks.append(look)
            if on_look is not None:
                on_look(look)
            if decision.verdict != "continue":
                break
    assert decision is not None  # the design has at least one look
    d = np.array(differences)
    low, high = sequential.repeated_interval(design, d, decision.look)
    winner = {"A": label_a, "B": label_b}.get(decision.verdict)
    sd = float(d.std(ddof=1)) if d.size > 1 else 0.0
    effect_a12 = a12(np.array(losses["A"]), np.array(losses["B"]))
    words = (f"{winner} is better" if winner else
             f"no practical difference: the effect is below {effect} standard deviations")
    return {
        "a": label_a, "b": label_b, "winner": winner, "verdict": decision.verdict if winner is None else "winner",
        "summary": f"{words} after {decision.trials} trials (max {design.max_trials}; the fixed design needs "
                   f"{design.fixed})",
        "trials": decision.trials, "max_trials": design.max_trials, "fixed_trials": design.fixed,
        "trials_saved": design.fixed - decision.trials,
        "mean_difference": float(d.mean()), "difference_interval": [low, high],
        "standardized_effect": float(d.mean() / sd) if sd > 0 else (0.0 if d.mean() == 0 else math.copysign(
            math.inf, float(d.mean()))),
        "a12": effect_a12, "a12_magnitude": a12_magnitude(effect_a12), "looks": looks,
        "design": {"alpha": design.alpha, "power": design.power, "effect": design.effect,
                   "looks": list(design.looks), "upper": list(design.upper), "inner": list(design.inner),
                   "expected_trials_alternative": design.expected_alternative,
                   "expected_trials_null": design.expected_null, "spending": f"{design.spending} gamma={design.gamma}",
                   "notes": list(design.notes)},
        "time_limit": time_limit, "seed": seed, "instances": [i.name for i in instances],
    }


__all__ = ["ab_test"]
