"""ASlib scenarios (Bischl et al., "ASlib: a benchmark library for algorithm selection", AIJ 2016): read one, and
score a selection on it by the library's conventions.

A scenario folder holds ``description.txt`` (YAML), ``algorithm_runs.arff``, ``feature_values.arff``, ``cv.arff``,
and, when present, ``feature_costs.arff`` and ``feature_runstatus.arff``. ARFF files are read with liac-arff and
the description with PyYAML; a file that does not parse, or a field that is missing or of the wrong kind, raises
:class:`~mezan.errors.InvalidProblemError` naming the file (and the line, for ARFF syntax errors) and the field.

Conventions (as the scenarios' READMEs and the published results use them):

- **Performance** of an (instance, algorithm) pair: with repetitions, the median over the repetitions when at
  least 60 % of them (6 of 10) succeeded, else a timeout.
- **Cost** of a run: runtime scenarios by PAR10 — a status other than ``ok``, or a runtime above the cutoff, costs
  10 x cutoff; solution-quality scenarios by the value of the first performance measure, negated when it is
  maximised (so lower is better everywhere).
- **Feature costs** (runtime scenarios): a selection that computes feature steps pays their cost on each
  instance; a step whose run status is ``presolved`` solved the instance there — the run ends with the cost paid
  so far; a total above the cutoff is a timeout (10 x cutoff).
- **SBS**: the algorithm with the best mean cost over all instances; **VBS**: the best algorithm per instance;
  m̂ = (selector − VBS) / (SBS − VBS) on mean costs (0 = VBS, 1 = SBS); gap closed = 1 − m̂.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from mezan.errors import InvalidProblemError

PAR_FACTOR = 10.0
SUCCESS_SHARE = 0.6  # repetitions: the median counts when at least this share of them succeeded


@dataclass(frozen=True)
class FeatureStep:
    name: str
    provides: tuple[str, ...]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """One ASlib scenario, as arrays over (instances x algorithms) and (instances x features).

    ``performance``: the first performance measure (median over successful repetitions, NaN when the run did not
    succeed); ``ok``: whether the run counts as successful; ``features``: NaN where missing; ``step_costs``:
    (instances x steps) seconds, or None when the scenario gives none; ``step_status``: (instances x steps) run
    status strings, or None; ``folds``: the ``cv.arff`` fold of each instance (1-based).
    """

    name: str
    path: Path
    performance_type: str  # "runtime" or "solution_quality"
    maximize: bool
    cutoff: float | None
    algorithms: list[str]
    instances: list[str]
    performance: np.ndarray
    ok: np.ndarray
    feature_names: list[str]
    features: np.ndarray
    steps: dict[str, FeatureStep]
    default_steps: list[str]
    step_names: list[str] = field(default_factory=list)
    step_costs: np.ndarray | None = None
    step_status: np.ndarray | None = None
    folds: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=int))

    @property
    def runtime(self) -> bool:
        return self.performance_type == "runtime"

    def costs(self) -> np.ndarray:
        """(instances x algorithms) costs: PAR10 runtimes, or the quality (negated when maximised)."""
        if self.runtime:
            assert self.cutoff is not None
            timeout = ~self.ok | ~(self.performance <= self.cutoff)
            return np.where(timeout, PAR_FACTOR * self.cutoff, self.performance)
        values = np.where(self.ok, self.performance, np.nan)
        values = -values if self.maximize else values  # lower is better from here on
        worst = np.nanmax(values) if np.isfinite(values).any() else 0.0
        return np.where(np.isfinite(values), values, worst)  # a failed run: the worst cost seen

    def steps_closure(self, steps: list[str]) -> list[str]:
        """The steps with everything they require, in the scenario's order of step columns."""
        wanted, todo = set(), list(steps)
        while todo:
            step = todo.pop()
            if step not in self.steps:
                raise InvalidProblemError(f"{self.name}: unknown feature step {step!r} (steps: "
                                          f"{', '.join(self.steps)})")
            if step not in wanted:
                wanted.add(step)
                todo.extend(self.steps[step].requires)
        order = self.step_names or list(self.steps)
        return [s for s in order if s in wanted]

    def feature_mask(self, steps: list[str] | None = None) -> np.ndarray:
        """Which feature columns a selector may use after computing ``steps`` (default: the default steps; ``[]``:
        none) and everything they require. A feature that no step provides costs nothing and is always there."""
        used = self.steps_closure(self.default_steps if steps is None else list(steps)) if self.steps else []
        provided = {f for s in used for f in self.steps[s].provides}
        listed = {f for s in self.steps.values() for f in s.provides}
        return np.array([f in provided or f not in listed for f in self.feature_names], dtype=bool)


@dataclass(frozen=True)
class Score:
    """Mean costs of a selection, the SBS and the VBS over the same instances, and m̂ = (selector − VBS) / (SBS −
    VBS)."""

    selector: float
    sbs: float
    vbs: float
    sbs_algorithm: str

    @property
    def m_hat(self) -> float:
        return float("nan") if self.sbs == self.vbs else (self.selector - self.vbs) / (self.sbs - self.vbs)

    @property
    def gap_closed(self) -> float:
        return 1.0 - self.m_hat


# ---- reading -----------------------------------------------------------------------------------------------

def _arff(path: Path) -> dict[str, Any]:
    import arff  # liac-arff

    try:
        with path.open(encoding="utf-8") as f:
            return arff.load(f)
    except FileNotFoundError:
        raise InvalidProblemError(f"{path}: missing") from None
    except UnicodeDecodeError as exc:
        raise InvalidProblemError(f"{path}: not UTF-8 text (byte {exc.start} of the file)") from None
    except arff.ArffException as exc:
        line = getattr(exc, "line", None)
        raise InvalidProblemError(f"{path}{'' if line in (None, -1) else f', line {line}'}: {exc}") from None


def _data_line(path: Path, row: int) -> int:
    """The line number (1-based) of data row ``row`` (0-based) of an ARFF file: for error messages only."""
    seen, data = -1, False
    with path.open(encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            text = line.strip()
            if not data:
                data = text.lower().startswith("@data")
            elif text and not text.startswith("%"):
                seen += 1
                if seen == row:
                    return number
    return -1


def _bad_row(path: Path, row: int, what: str) -> InvalidProblemError:
    return InvalidProblemError(f"{path}, line {_data_line(path, row)}: {what}")


def _columns(table: dict[str, Any], path: Path, required: tuple[str, ...]) -> dict[str, int]:
    names = [a[0] for a in table["attributes"]]
    index = {n: i for i, n in enumerate(names)}
    missing = [r for r in required if r not in index]
    if missing:
        raise InvalidProblemError(f"{path}: missing attribute(s) {', '.join(missing)} (has {', '.join(names)})")
    return index


def _description(folder: Path) -> dict[str, Any]:
    import yaml

    path = folder / "description.txt"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidProblemError(f"{path}: missing") from None
    except UnicodeDecodeError as exc:
        raise InvalidProblemError(f"{path}: not UTF-8 text (byte {exc.start} of the file)") from None
    except yaml.YAMLError as exc:
        raise InvalidProblemError(f"{path}: not valid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidProblemError(f"{path}: a YAML mapping is expected at the top level")
    for key in ("performance_measures", "performance_type", "maximize", "feature_steps"):
        if key not in data:
            raise InvalidProblemError(f"{path}: field {key!r} is missing")
    return data


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) else value


def read_scenario(folder: str | Path) -> Scenario:
    """Read an ASlib scenario folder (see the module docstring)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidProblemError(f"{folder}: not a scenario folder")
    desc = _description(folder)
    dpath = folder / "description.txt"
    measure = str(_first(desc["performance_measures"]))
    ptype = str(_first(desc["performance_type"]))
    if ptype not in ("runtime", "solution_quality"):
        raise InvalidProblemError(f"{dpath}: performance_type must be runtime or solution_quality, got {ptype!r}")
    maximize = _first(desc["maximize"])
    if not isinstance(maximize, bool):
        raise InvalidProblemError(f"{dpath}: field 'maximize' must be true or false (or a list of them), got "
                                  f"{desc['maximize']!r}")
    cutoff = desc.get("algorithm_cutoff_time")
    cutoff = float(cutoff) if isinstance(cutoff, (int, float)) else None
    if ptype == "runtime" and cutoff is None:
        raise InvalidProblemError(f"{dpath}: a runtime scenario needs a numeric algorithm_cutoff_time")
    steps = {}
    for name, spec in (desc["feature_steps"] or {}).items():
        if not isinstance(spec, dict) or not isinstance(spec.get("provides", []), list):
            raise InvalidProblemError(f"{dpath}: feature_steps.{name} must hold a 'provides' list")
        steps[str(name)] = FeatureStep(str(name), tuple(map(str, spec.get("provides") or ())),
                                       tuple(map(str, spec.get("requires") or ())))
    default_steps = [str(s) for s in (desc.get("default_steps") or list(steps))]

    # algorithm runs: (instance, algorithm) -> list of (value, ok) over repetitions
    rpath = folder / "algorithm_runs.arff"
    runs = _arff(rpath)
    col = _columns(runs, rpath, ("instance_id", "algorithm", measure, "runstatus"))
    reps: dict[tuple[str, str], list[tuple[float, bool]]] = defaultdict(list)
    instances: dict[str, None] = {}
    algorithms: dict[str, None] = {}
    for r, row in enumerate(runs["data"]):
        inst, algo = row[col["instance_id"]], row[col["algorithm"]]
        value, status = row[col[measure]], row[col["runstatus"]]
        if inst is None or algo is None:
            raise _bad_row(rpath, r, f"field {'instance_id' if inst is None else 'algorithm'} is missing")
        if value is not None and (not isinstance(value, (int, float)) or not np.isfinite(value)):
            raise _bad_row(rpath, r, f"field {measure} must be a finite number, got {value!r}")
        if value is not None and ptype == "runtime" and value < 0:
            raise _bad_row(rpath, r, f"field {measure} is a runtime and cannot be negative, got {value!r}")
        instances.setdefault(str(inst))
        algorithms.setdefault(str(algo))
        ok = status == "ok" and value is not None
        reps[(str(inst), str(algo))].append((float(value) if value is not None else np.nan, ok))
    inst_list, algo_list = list(instances), list(algorithms)
    ii = {n: i for i, n in enumerate(inst_list)}
    ai = {n: i for i, n in enumerate(algo_list)}
    if len(reps) < len(inst_list) * len(algo_list):
        inst, algo = next((i, a) for i in inst_list for a in algo_list if (i, a) not in reps)
        raise InvalidProblemError(f"{rpath}: no run of algorithm {algo!r} on instance {inst!r} (every algorithm "
                                  f"needs a run on every instance)")
    performance = np.full((len(inst_list), len(algo_list)), np.nan)
    ok = np.zeros((len(inst_list), len(algo_list)), dtype=bool)
    for (inst, algo), values in reps.items():
        good = [v for v, k in values if k]
        if good and len(good) >= SUCCESS_SHARE * len(values):
            performance[ii[inst], ai[algo]] = float(np.median(good))
            ok[ii[inst], ai[algo]] = True

    # features
    fpath = folder / "feature_values.arff"
    ftable = _arff(fpath)
    fcol = _columns(ftable, fpath, ("instance_id",))
    feature_names = [a[0] for a in ftable["attributes"] if a[0] not in ("instance_id", "repetition")]
    features = np.full((len(inst_list), len(feature_names)), np.nan)
    for row in ftable["data"]:
        i = ii.get(str(row[fcol["instance_id"]]))
        if i is None:
            continue
        for k, name in enumerate(feature_names):
            v = row[fcol[name]]
            if isinstance(v, (int, float)):
                features[i, k] = float(v)

    # feature costs and run status (optional)
    step_names = list(steps)
    step_costs = step_status = None
    cpath = folder / "feature_costs.arff"
    if cpath.exists():
        ctable = _arff(cpath)
        ccol = _columns(ctable, cpath, ("instance_id",))
        step_names = [a[0] for a in ctable["attributes"] if a[0] not in ("instance_id", "repetition")]
        step_costs = np.zeros((len(inst_list), len(step_names)))
        for row in ctable["data"]:
            i = ii.get(str(row[ccol["instance_id"]]))
            if i is not None:
                step_costs[i] = [float(row[ccol[s]]) if row[ccol[s]] is not None else 0.0 for s in step_names]
    spath = folder / "feature_runstatus.arff"
    if spath.exists():
        stable = _arff(spath)
        scol = _columns(stable, spath, ("instance_id",))
        status_steps = [a[0] for a in stable["attributes"] if a[0] not in ("instance_id", "repetition")]
        if step_costs is None:
            step_names = status_steps
        step_status = np.full((len(inst_list), len(step_names)), "ok", dtype=object)
        for row in stable["data"]:
            i = ii.get(str(row[scol["instance_id"]]))
            if i is not None:
                for k, s in enumerate(step_names):
                    if s in scol:
                        step_status[i, k] = row[scol[s]] or "unknown"

    # cross-validation folds
    vpath = folder / "cv.arff"
    vtable = _arff(vpath)
    vcol = _columns(vtable, vpath, ("instance_id", "fold"))
    folds = np.zeros(len(inst_list), dtype=int)
    for r, row in enumerate(vtable["data"]):
        if "repetition" in vcol and row[vcol["repetition"]] not in (1, 1.0):
            continue  # repeated cross-validation: the first repetition's folds
        i = ii.get(str(row[vcol["instance_id"]]))
        if i is None:
            continue
        fold = row[vcol["fold"]]
        if not isinstance(fold, (int, float)) or not float(fold).is_integer() or fold < 1:
            raise _bad_row(vpath, r, f"field fold must be a positive whole number, got {fold!r}")
        if folds[i]:
            raise _bad_row(vpath, r, f"instance {inst_list[i]!r} has a second fold (first {folds[i]})")
        folds[i] = int(fold)
    if (folds == 0).any():
        missing = inst_list[int(np.argmax(folds == 0))]
        raise InvalidProblemError(f"{vpath}: instance {missing!r} has no fold")
    return Scenario(name=str(desc.get("scenario_id", folder.name)), path=folder, performance_type=ptype,
                    maximize=maximize, cutoff=cutoff, algorithms=algo_list, instances=inst_list,
                    performance=performance, ok=ok, feature_names=feature_names, features=features, steps=steps,
                    default_steps=default_steps, step_names=step_names, step_costs=step_costs,
                    step_status=step_status, folds=folds)


# ---- scoring -----------------------------------------------------------------------------------------------

def plan_costs(scenario: Scenario, algorithm: np.ndarray, steps: list[str] | None = None,
               presolve: Sequence[tuple[int, float]] = (),
               schedules: Sequence[Sequence[tuple[int, float]] | None] | None = None) -> np.ndarray:
    """Per-instance cost of a plan on every instance: run the ``presolve`` schedule ((algorithm index, seconds) in
    order: an algorithm that solves the instance within its slot ends the run there, at the time it took), then
    compute the feature ``steps`` (default: the scenario's default steps; ``[]``: none), then run ``algorithm[i]``
    — or, where ``schedules[i]`` is given (runtime scenarios: a per-instance schedule such as SUNNY's), run its
    slots in order the same way, the run ending at the first slot that solves the instance.

    Runtime scenarios charge every slot and step paid before the instance was solved, end the run at a step whose
    status is ``presolved``, and count a run whose total passes the cutoff as a timeout (10 x cutoff). Quality
    scenarios cost the chosen algorithm's value (schedules and feature costs do not apply)."""
    costs = scenario.costs()
    n = len(scenario.instances)
    chosen = costs[np.arange(n), np.asarray(algorithm, dtype=int)]
    if not scenario.runtime:
        return chosen
    cutoff = float(scenario.cutoff)  # type: ignore[arg-type]
    timeout = PAR_FACTOR * cutoff
    out = np.zeros(n)
    paid = np.zeros(n)
    done = np.zeros(n, dtype=bool)
    for a, seconds in presolve:
        solved = ~done & (costs[:, int(a)] <= seconds)  # a PAR10 cost is above any slot: solved means ok in time
        out[solved] = paid[solved] + costs[solved, int(a)]
        done |= solved
        paid[~done] += seconds
    steps = scenario.default_steps if steps is None else steps
    used = scenario.steps_closure(steps) if steps else []
    for k in [scenario.step_names.index(s) for s in used if s in scenario.step_names]:
        if scenario.step_costs is not None:
            paid[~done] += scenario.step_costs[~done, k]
        if scenario.step_status is not None:
            ended = ~done & (scenario.step_status[:, k] == "presolved")
            out[ended] = paid[ended]
            done |= ended
    rest = ~done
    total = paid[rest] + chosen[rest]
    out[rest] = np.where((chosen[rest] >= timeout) | (total > cutoff), timeout, total)
    for i in np.flatnonzero(rest) if schedules is not None else ():
        if schedules[i]:
            out[i] = _run_schedule(costs[i], schedules[i], float(paid[i]), cutoff)
    return np.where(done & (out > cutoff), timeout, out)


def _run_schedule(costs: np.ndarray, schedule: Sequence[tuple[int, float]], paid: float, cutoff: float) -> float:
    """The cost of running ``schedule``'s slots in order after ``paid`` seconds: the first slot whose algorithm
    finishes within it ends the run; past the cutoff, or no slot solving it, is a timeout."""
    for a, seconds in schedule:
        if costs[int(a)] <= seconds:
            total = paid + float(costs[int(a)])
            return total if total <= cutoff else PAR_FACTOR * cutoff
        paid += float(seconds)
    return PAR_FACTOR * cutoff


def selection_costs(scenario: Scenario, algorithm: np.ndarray, steps: list[str] | None = None) -> np.ndarray:
    """Per-instance cost of running ``algorithm[i]`` (an index) on instance i after computing the feature
    ``steps`` (default: the scenario's default steps; ``[]``: none): :func:`plan_costs` without a presolving
    schedule."""
    return plan_costs(scenario, algorithm, steps)


def score(scenario: Scenario, algorithm: np.ndarray, steps: list[str] | None = None,
          instances: np.ndarray | None = None) -> Score:
    """Score a selection (an algorithm index per instance, after the feature ``steps``) against the SBS and VBS on
    the same instances (all, or the boolean mask ``instances``)."""
    return score_costs(scenario, selection_costs(scenario, algorithm, steps), instances)


def score_costs(scenario: Scenario, selector: np.ndarray, instances: np.ndarray | None = None) -> Score:
    """Score per-instance costs of any decisions (e.g. :func:`plan_costs` per fold) against the SBS and VBS on the
    same instances. The SBS is the best algorithm by mean cost over all instances of the scenario."""
    costs = scenario.costs()
    mask = np.ones(len(scenario.instances), dtype=bool) if instances is None else np.asarray(instances, dtype=bool)
    sbs = int(np.argmin(costs.mean(axis=0)))
    return Score(selector=float(np.asarray(selector)[mask].mean()), sbs=float(costs[mask, sbs].mean()),
                 vbs=float(costs[mask].min(axis=1).mean()), sbs_algorithm=scenario.algorithms[sbs])


def rescore(scenario: Scenario, selections: dict[str, Any]) -> Score:
    """Score a selections record (``{"selections": {instance: {"presolve": [[algorithm, seconds], ...],
    "feature_steps": [...], "algorithm": name}}}``, as ``mezan meta aslib evaluate --selections`` writes it; a
    decision with a ``"schedule": [[algorithm, seconds], ...]`` runs that schedule after the features instead of
    ``algorithm`` alone) from the scenario's own data: every instance's decision is re-costed independently."""
    chosen = selections.get("selections") if isinstance(selections, dict) else None
    if not isinstance(chosen, dict):
        raise InvalidProblemError("selections: a mapping 'selections' of instance -> decision is expected")
    index = {a: k for k, a in enumerate(scenario.algorithms)}
    algorithm = np.zeros(len(scenario.instances), dtype=int)
    schedules: list[tuple[tuple[int, float], ...]] = [()] * len(scenario.instances)  # () : run ``algorithm``
    groups: dict[tuple[Any, ...], list[int]] = defaultdict(list)  # instances sharing a plan are costed at once
    for i, inst in enumerate(scenario.instances):
        decision = chosen.get(inst)
        if not isinstance(decision, dict) or decision.get("algorithm") not in index:
            raise InvalidProblemError(f"selections: instance {inst!r} has no decision naming one of the scenario's "
                                      f"algorithms")
        algorithm[i] = index[decision["algorithm"]]
        try:
            presolve = tuple((index[a], float(t)) for a, t in decision.get("presolve", []))
        except (KeyError, TypeError, ValueError):
            raise InvalidProblemError(f"selections: instance {inst!r}: presolve must list [algorithm, seconds] "
                                      f"pairs of the scenario's algorithms") from None
        try:
            schedules[i] = tuple((index[a], float(t)) for a, t in decision.get("schedule", []))
        except (KeyError, TypeError, ValueError):
            raise InvalidProblemError(f"selections: instance {inst!r}: schedule must list [algorithm, seconds] "
                                      f"pairs of the scenario's algorithms") from None
        groups[(presolve, tuple(decision.get("feature_steps", scenario.default_steps)))].append(i)
    costs = np.zeros(len(scenario.instances))
    for (presolve, steps), members in groups.items():
        costs[members] = plan_costs(scenario, algorithm, list(steps), presolve, schedules)[members]
    return score_costs(scenario, costs)
