"""MEZAN's stored history as an ASlib scenario (Bischl et al. 2016), for ASlib's own tools and for
:func:`mezan.meta.aslib.read_scenario`.

One problem type per scenario, of the ``solution_quality`` type: the performance measure ``gap`` is a run's
relative gap (objective - reference) / |reference| to the instance's reference — its best-known value when the
problem carried one, else the best objective recorded for it (the reward's reference, without the bound), so
instances of different scales are comparable and the SBS is a meaningful "best on average". Each recorded solve of
an (instance, solver) pair is one repetition; a solve without a finite objective has run status ``crash``, and a gap
beyond :data:`mezan.meta.aslib.MAX_MAGNITUDE` is written as that bound.
Features are MetaFlow's (one feature step, ``mezan``), with their measured computation time as the step's cost
when it was recorded (``?`` otherwise); ``cv.arff`` assigns the instances to min(10, instances) folds by a seeded
shuffle. Files are written with liac-arff and PyYAML.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path
from typing import Any

import arff  # liac-arff
import numpy as np
import yaml

from mezan.errors import InvalidParameterError
from mezan.meta.aslib import MAX_MAGNITUDE
from mezan.meta.features import FEATURE_COST, feature_names, sense_of
from mezan.meta.ratings import loss
from mezan.outputs import check_output_folder, make_folder, write_atomic
from mezan.running import check_seed
from mezan.store import Store

FOLDS = 10


def _dump(path: Path, relation: str, attributes: list[tuple[str, Any]], rows: list[list[Any]], *,
          option: str, store: str | Path | None) -> None:
    """One ARFF file of the scenario, written atomically (the folder was checked and created before)."""
    write_atomic(path, arff.dumps({"relation": relation, "attributes": attributes, "data": rows}), option=option,
                 force=True, store=store)


class _PlainDumper(yaml.SafeDumper):
    """YAML without anchors and aliases (a list used twice is written twice): ASlib readers, MEZAN's own among
    them, refuse aliases in a description (they are the way to a YAML bomb)."""

    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 - PyYAML's signature
        return True


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and math.isfinite(value) else None


def export_history(store: Store, folder: str | Path, *, problem_type: str = "qap", seed: int = 0,
                   name: str | None = None, force: bool = False, option: str = "folder") -> Path:
    """Write the stored solves of one problem type as an ASlib scenario folder; returns its path.

    The folder must be new or empty (or ``force``), and never the store's own: it is checked before the history is
    read (:func:`mezan.outputs.check_output_folder`); ``option`` names it in the errors.
    """
    check_seed(seed)
    check_output_folder(folder, option=option, force=force, store=store.path)
    records = store.solves(problem_type=problem_type)
    if not records:
        raise InvalidParameterError(f"problem_type: no recorded {problem_type!r} solves to export")
    out = Path(folder)
    scenario = name or f"MEZAN-{problem_type}"
    sense = sense_of(problem_type)

    best_seen: dict[str, float] = {}
    known: dict[str, float] = {}
    features: dict[str, dict[str, Any]] = {}
    for r in records:
        features[r.fingerprint] = r.features
        if r.best_known is not None:
            known[r.fingerprint] = float(r.best_known)
        if r.objective is not None:
            value = loss(float(r.objective), sense)
            best_seen[r.fingerprint] = min(best_seen.get(r.fingerprint, value), value)

    runs: list[tuple[Any, ...]] = []
    for r in records:
        reference = loss(known[r.fingerprint], sense) if r.fingerprint in known else best_seen.get(r.fingerprint)
        if r.objective is None or reference is None:
            runs.append((r.fingerprint, r.solver, None, "crash"))
            continue
        gap = max(0.0, (loss(float(r.objective), sense) - reference) / max(abs(reference), 1e-12))
        if not math.isfinite(gap):
            runs.append((r.fingerprint, r.solver, None, "crash"))
            continue
        runs.append((r.fingerprint, r.solver, min(gap, MAX_MAGNITUDE), "ok"))  # what read_scenario accepts
    budgets = [r.time_limit for r in records if r.time_limit is not None]
    return write_scenario(out, scenario, runs, features, problem_type=problem_type, seed=seed,
                          budget=max(budgets) if budgets else None, force=force, store=store.path, option=option)


def write_scenario(folder: str | Path, scenario: str, runs: list[list[Any]] | list[tuple[Any, ...]],
                   features: dict[str, dict[str, Any]], *, problem_type: str = "qap", seed: int = 0,
                   budget: float | None = None, force: bool = False, store: str | Path | None = None,
                   option: str = "folder") -> Path:
    """Write an ASlib scenario of the ``solution_quality`` type from runs ``(instance_id, solver, gap, runstatus)``
    (repetitions numbered in order) and each instance's MetaFlow features; returns the folder. Every solver must
    have run on every instance; the folder must be new or empty (or ``force``: the scenario's files are replaced,
    others left), never the store's (``store``: the store in use; the default one is protected in any case), and
    its parent must exist. Each file is written atomically; ``option`` names the folder in the errors."""
    seed = check_seed(seed)
    check_output_folder(folder, option=option, force=force, store=store)
    out = Path(folder)
    instances = list(dict.fromkeys(r[0] for r in runs))
    solvers = sorted({r[1] for r in runs})
    repetition: dict[tuple[str, str], int] = defaultdict(int)
    rows: list[list[Any]] = []
    for instance, solver, gap, status in runs:
        repetition[(instance, solver)] += 1
        rows.append([instance, repetition[(instance, solver)], solver, gap if status == "ok" else None, status])
    # an (instance, solver) pair never run would make the scenario ragged: it is reported, not invented
    missing = [(i, s) for i in instances for s in solvers if (i, s) not in repetition]
    if missing:
        i, s = missing[0]
        raise InvalidParameterError(f"solver {s!r} has no recorded solve of instance {i[:12]} ({len(missing)} "
                                    f"(instance, solver) pairs missing): ASlib needs every solver on every instance "
                                    f"(race them, e.g. `mezan meta race`)")
    make_folder(out, option=option, force=force, store=store)
    files: dict[str, Any] = {"option": option, "store": store}  # where each file goes, and what it never overwrites
    _dump(out / "algorithm_runs.arff", f"ALGORITHM_RUNS_{scenario}",
          [("instance_id", "STRING"), ("repetition", "NUMERIC"), ("algorithm", "STRING"), ("gap", "NUMERIC"),
           ("runstatus", ["ok", "timeout", "memout", "not_applicable", "crash", "other"])], rows, **files)

    names = list(feature_names(problem_type))
    _dump(out / "feature_values.arff", f"FEATURE_VALUES_{scenario}",
          [("instance_id", "STRING"), ("repetition", "NUMERIC")] + [(n, "NUMERIC") for n in names],
          [[i, 1] + [_number(features[i].get(n)) for n in names] for i in instances], **files)
    _dump(out / "feature_costs.arff", f"FEATURE_COSTS_{scenario}",
          [("instance_id", "STRING"), ("repetition", "NUMERIC"), ("mezan", "NUMERIC")],
          [[i, 1, _number(features[i].get(FEATURE_COST))] for i in instances], **files)
    _dump(out / "feature_runstatus.arff", f"FEATURE_RUNSTATUS_{scenario}",
          [("instance_id", "STRING"), ("repetition", "NUMERIC"),
           ("mezan", ["ok", "timeout", "memout", "presolved", "crash", "other", "unknown"])],
          [[i, 1, "ok"] for i in instances], **files)

    folds = min(FOLDS, len(instances))
    order = np.random.default_rng(seed).permutation(len(instances))
    fold_of = {instances[k]: 1 + position % folds for position, k in enumerate(order)}
    _dump(out / "cv.arff", f"CV_{scenario}", [("instance_id", "STRING"), ("repetition", "NUMERIC"),
                                              ("fold", "NUMERIC")],
          [[i, 1, fold_of[i]] for i in instances], **files)

    description = {
        "scenario_id": scenario,
        "performance_measures": ["gap"],
        "maximize": [False],
        "performance_type": ["solution_quality"],
        "algorithm_cutoff_time": budget if budget is not None else "?",
        "algorithm_cutoff_memory": "?",
        "features_cutoff_time": "?",
        "features_cutoff_memory": "?",
        "features_deterministic": names,
        "features_stochastic": [],
        "number_of_feature_steps": 1,
        "default_steps": ["mezan"],
        "feature_steps": {"mezan": {"provides": names}},
        "metainfo_algorithms": {s: {"configuration": "", "deterministic": False} for s in solvers},
    }
    write_atomic(out / "description.txt", yaml.dump(description, Dumper=_PlainDumper, sort_keys=False),
                 option=option, force=True, store=store)
    return out


__all__ = ["export_history", "write_scenario"]
