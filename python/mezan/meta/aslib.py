"""ASlib scenarios (Bischl et al., "ASlib: a benchmark library for algorithm selection", AIJ 2016): read one, and
score a selection on it by the library's conventions.

A scenario folder holds ``description.txt`` (YAML), ``algorithm_runs.arff``, ``feature_values.arff``, ``cv.arff``,
and, when present, ``feature_costs.arff`` and ``feature_runstatus.arff``. ARFF files are read with liac-arff and
the description with PyYAML; a file that does not parse, or a field that is missing or of the wrong kind, raises
:class:`~mezan.errors.InvalidProblemError` naming the file (and the line, for ARFF rows and YAML syntax) and the
field. The files are read through :mod:`mezan.inputs` (size bounded, UTF-8 checked); the description may not use
YAML anchors and aliases (ASlib's descriptions never do; an alias "bomb" expands exponentially) nor nest deeper than
:data:`MAX_YAML_DEPTH`. Every field of the description that is used is checked for its type and shape against the
ASlib spec: ``performance_measures`` a non-empty list of names, ``performance_type`` (runtime or solution_quality)
and ``maximize`` (true or false) one per measure (or one scalar for all), ``feature_steps`` a mapping of step name
-> ``{provides: [features], requires: [steps]}`` (ASlib 1's plain list of features is read as ``provides``) whose
requirements are steps of it and form no cycle, ``default_steps`` distinct known steps (missing: every step; ``[]``:
none). A scenario has runs of at least 2 instances, a cutoff that is a positive finite number of seconds at most
:data:`MAX_MAGNITUDE` (runtime scenarios), solution qualities of magnitude at most :data:`MAX_MAGNITUDE` and at least
one successful run (quality scenarios), finite feature values (or ``?``), finite non-negative feature costs, and at
least 2 cross-validation folds.

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
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import arff  # liac-arff
import numpy as np
import yaml

from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.inputs import check_size, read_text

PAR_FACTOR = 10.0
SUCCESS_SHARE = 0.6  # repetitions: the median counts when at least this share of them succeeded
MAX_DESCRIPTION_BYTES = 2**20  # a description.txt is a few kilobytes
MAX_YAML_DEPTH = 32  # a description nests 3 levels (feature_steps -> step -> provides)


@dataclass(frozen=True)
class FeatureStep:
    name: str
    provides: tuple[str, ...]
    requires: tuple[str, ...] = ()


@dataclass(frozen=True)
class Scenario:
    """One ASlib scenario, as arrays over (instances x algorithms) and (instances x features).

    :func:`read_scenario` builds one from a scenario folder.

    Parameters
    ----------
    name : str
        The scenario's name: the description's ``scenario_id``, else the folder's name.
    path : pathlib.Path
        The scenario folder.
    performance_type : str
        "runtime" or "solution_quality" (of the first performance measure).
    maximize : bool
        Whether the first performance measure is maximised.
    cutoff : float or None
        The algorithm cutoff time in seconds (PAR10 charges 10 times it); None for a solution-quality scenario
        that gives no valid one.
    algorithms : list of str
        The algorithms, in the order of the matrix columns.
    instances : list of str
        The instances, in the order of the matrix rows.
    performance : numpy.ndarray, shape (instances, algorithms)
        The first performance measure: the median over the successful repetitions, NaN when the run did not
        succeed.
    ok : numpy.ndarray of bool, shape (instances, algorithms)
        Whether each run counts as successful.
    feature_names : list of str
        The features, in the order of the feature columns.
    features : numpy.ndarray, shape (instances, features)
        The feature values, NaN where missing.
    steps : dict
        Feature step name -> its ``FeatureStep`` (the features it provides, the steps it requires).
    default_steps : list of str
        The feature steps a selection computes by default.
    step_names : list of str, optional
        The feature steps in the order of the cost and status columns.
    step_costs : numpy.ndarray or None, optional
        (instances x steps) feature costs in seconds, or None when the scenario gives none.
    step_status : numpy.ndarray or None, optional
        (instances x steps) run status strings of the feature steps, or None.
    folds : numpy.ndarray of int, optional
        The ``cv.arff`` fold of each instance (1-based).

    Attributes
    ----------
    runtime : bool
        Whether the scenario measures runtime (read-only).
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

    def subset(self, rows: np.ndarray, folds: np.ndarray) -> Scenario:
        """The scenario on ``rows`` only (a boolean mask or indices), with ``folds`` (one per kept row) as its
        cross-validation split: how an inner cross-validation sees the training folds, and nothing else."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows, dtype=int)
        folds = np.asarray(folds, dtype=int)
        if folds.shape != rows.shape:
            raise InvalidParameterError(f"folds must give one fold per kept row ({len(rows)}); got shape "
                                        f"{folds.shape}")
        return replace(self, instances=[self.instances[i] for i in rows], performance=self.performance[rows],
                       ok=self.ok[rows], features=self.features[rows],
                       step_costs=None if self.step_costs is None else self.step_costs[rows],
                       step_status=None if self.step_status is None else self.step_status[rows], folds=folds)

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
    """Mean costs of a selection, the SBS and the VBS over the same instances.

    Parameters
    ----------
    selector : float
        The selection's mean cost.
    sbs : float
        The single best solver's mean cost (the SBS: the algorithm with the best mean cost over every instance of
        the scenario).
    vbs : float
        The virtual best solver's mean cost (the best algorithm per instance).
    sbs_algorithm : str
        The SBS's name.

    Attributes
    ----------
    m_hat : float
        m̂ = (selector − VBS) / (SBS − VBS): 0 is the VBS, 1 the SBS; NaN when the SBS equals the VBS (read-only).
    gap_closed : float
        1 − m̂, the share of the SBS–VBS gap the selection closes (read-only).
    """

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
    if not path.is_file():
        raise InvalidProblemError(f"{path}: missing")
    check_size(path, what="ASlib file")
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


class _DescriptionLoader(yaml.SafeLoader):
    """PyYAML's safe loader without anchors and aliases, and with the nesting bounded (an ASlib description uses
    neither; an alias "bomb" expands exponentially, deep nesting exhausts the recursion)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None) is not None:
            raise yaml.composer.ComposerError(None, None, "YAML anchors and aliases (&name, *name) are not "
                                                          "allowed in an ASlib description", event.start_mark)
        if self._depth >= MAX_YAML_DEPTH:
            raise yaml.composer.ComposerError(None, None, f"nested deeper than {MAX_YAML_DEPTH} levels",
                                              event.start_mark)
        self._depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


def _yaml_error(path: Path, exc: yaml.YAMLError) -> InvalidProblemError:
    """The YAML error by file, line and column, and the parser's problem (not its snippet of the file)."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or type(exc).__name__
    where = f"{path}, line {mark.line + 1} column {mark.column + 1}" if mark is not None else str(path)
    return InvalidProblemError(f"{where}: not valid YAML ({problem})")


def _description(folder: Path) -> dict[str, Any]:
    path = folder / "description.txt"
    if not path.is_file():
        raise InvalidProblemError(f"{path}: missing")
    text = read_text(path, what="ASlib file", max_bytes=MAX_DESCRIPTION_BYTES)
    try:
        data = yaml.load(text, Loader=_DescriptionLoader)  # a SafeLoader subclass: no arbitrary objects
    except yaml.YAMLError as exc:
        raise _yaml_error(path, exc) from None
    if not isinstance(data, dict):
        raise InvalidProblemError(f"{path}: a YAML mapping is expected at the top level")
    for key in ("performance_measures", "performance_type", "maximize", "feature_steps"):
        if key not in data:
            raise InvalidProblemError(f"{path}: field {key!r} is missing")
    return data


RUN_COLUMNS = ("instance_id", "repetition", "algorithm", "runstatus")
"""The columns of ``algorithm_runs.arff`` that are not performance measures."""

MAX_MAGNITUDE = 1e100
"""The largest magnitude of a solution quality and of a cutoff: the costs are summed, averaged and (in the regression
forests) squared, and these must stay finite (1e100 squared and summed over a million instances is 1e206); no
measurement comes near it."""


def _shown(value: Any, limit: int = 80) -> str:
    """``repr(value)``, cut to ``limit`` characters (a message never quotes a whole field back)."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _listing(names: Any, sep: str = ", ", limit: int = 10) -> str:
    """The first ``limit`` names joined (and how many more)."""
    names = list(names)
    head = sep.join(str(n)[:80] for n in names[:limit])
    return head if len(names) <= limit else f"{head}{sep}... ({len(names) - limit} more)"


def _listed(path: Path, key: str, value: Any, *, what: str) -> list[Any]:
    """A description field that holds a list (one scalar stands for a list of it, as ASlib's own readers accept)."""
    if isinstance(value, list):
        return value
    if value is None or isinstance(value, dict):
        raise InvalidProblemError(f"{path}: field {key!r} must be {what}, got {_shown(value)}")
    return [value]


def _per_measure(path: Path, key: str, value: Any, measures: list[str], *, what: str) -> list[Any]:
    """A field with one entry per performance measure (a scalar: the same for every measure)."""
    values = _listed(path, key, value, what=what)
    if isinstance(value, list) and len(values) != len(measures):
        raise InvalidProblemError(f"{path}: field {key!r} must have one entry per performance measure "
                                  f"({len(measures)}: {_listing(measures)}), got {len(values)}: {_shown(value)}")
    return values if isinstance(value, list) else values * len(measures)


def _name(value: Any) -> str | None:
    """A name as YAML gives it (a string, or a number written bare), else None."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    text = str(value)
    return text if text.strip() else None


def _names(path: Path, key: str, value: Any) -> list[str]:
    """A list of names (None: none)."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise InvalidProblemError(f"{path}: field {key!r} must be a list of names, got {_shown(value)}")
    names = [_name(v) for v in value]
    if None in names:
        raise InvalidProblemError(f"{path}: field {key!r} must be a list of names, got "
                                  f"{_shown(value[names.index(None)])} in it")
    return names  # type: ignore[return-value]


def _feature_steps(path: Path, value: Any) -> dict[str, FeatureStep]:
    """``feature_steps``: a mapping of step name -> ``{provides: [features], requires: [steps]}`` (ASlib 2; ASlib 1
    wrote the list of features alone), every required step one of them, and no step requiring itself through
    others."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidProblemError(f"{path}: field 'feature_steps' must be a mapping of step name -> {{provides: "
                                  f"[features], requires: [steps]}}, got {type(value).__name__} {_shown(value)}")
    steps: dict[str, FeatureStep] = {}
    for key, spec in value.items():
        name = _name(key)
        if name is None:
            raise InvalidProblemError(f"{path}: field 'feature_steps' has a step named {_shown(key)}: a name is "
                                      f"expected")
        where = f"feature_steps.{name[:80]}"
        if isinstance(spec, list):  # ASlib 1: the features it provides
            spec = {"provides": spec}
        if not isinstance(spec, dict) or "provides" not in spec:
            raise InvalidProblemError(f"{path}: field {where!r} must be a mapping holding a 'provides' list of "
                                      f"features, got {_shown(spec)}")
        steps[name] = FeatureStep(name, tuple(_names(path, f"{where}.provides", spec["provides"])),
                                  tuple(_names(path, f"{where}.requires", spec.get("requires"))))
    for step in steps.values():
        unknown = [r for r in step.requires if r not in steps]
        if unknown:
            raise InvalidProblemError(f"{path}: field 'feature_steps.{step.name}.requires' names unknown step "
                                      f"{_shown(unknown[0])} (steps: {_listing(steps)})")
    _no_cycle(path, steps)
    return steps


def _no_cycle(path: Path, steps: dict[str, FeatureStep]) -> None:
    """Refuse steps that require each other in a cycle (a depth-first search without recursion: a description may
    chain thousands of steps)."""
    done: set[str] = set()
    for root in steps:
        if root in done:
            continue
        trail: list[str] = [root]  # the path being explored, and each one's requirements still to visit
        on_trail = {root}
        todo: list[list[str]] = [list(steps[root].requires)]
        while trail:
            if not todo[-1]:
                on_trail.discard(trail[-1])
                done.add(trail.pop())
                todo.pop()
                continue
            step = todo[-1].pop()
            if step in on_trail:
                cycle = [*trail[trail.index(step):], step]
                raise InvalidProblemError(f"{path}: field 'feature_steps': the steps require each other in a cycle "
                                          f"({_listing(cycle, ' -> ')}); no order computes them")
            if step not in done:
                trail.append(step)
                on_trail.add(step)
                todo.append(list(steps[step].requires))


def _default_steps(path: Path, value: Any, steps: dict[str, FeatureStep], given: bool) -> list[str]:
    """``default_steps``: distinct names of feature steps (missing or null: every step; ``[]``: none)."""
    if not given or value is None:
        return list(steps)
    names = _names(path, "default_steps", value)
    seen: set[str] = set()
    for name in names:
        if name not in steps:
            raise InvalidProblemError(f"{path}: field 'default_steps' names unknown step {_shown(name)} "
                                      f"(feature_steps: {_listing(steps) or 'none'})")
        if name in seen:
            raise InvalidProblemError(f"{path}: field 'default_steps' lists step {_shown(name)} twice")
        seen.add(name)
    return names


@dataclass(frozen=True)
class _Description:
    name: str | None
    measure: str  # the first performance measure: what is scored
    performance_type: str
    maximize: bool
    cutoff: float | None
    steps: dict[str, FeatureStep]
    default_steps: list[str]


def _read_description(folder: Path) -> _Description:
    """``description.txt``, every field used checked for its type and shape (ASlib's spec), the file and the field
    named when one is not."""
    desc = _description(folder)
    path = folder / "description.txt"
    given = _listed(path, "performance_measures", desc["performance_measures"], what="a list of measure names")
    measures = _names(path, "performance_measures", given)
    if not measures:
        raise InvalidProblemError(f"{path}: field 'performance_measures' is empty: at least one measure is needed")
    reserved = [m for m in measures if m in RUN_COLUMNS]
    if reserved:
        raise InvalidProblemError(f"{path}: field 'performance_measures' names {_shown(reserved[0])}, a column of "
                                  f"algorithm_runs.arff that is not a measure")
    types = _per_measure(path, "performance_type", desc["performance_type"], measures,
                         what="runtime or solution_quality per measure")
    for value in types:
        if value not in ("runtime", "solution_quality"):
            raise InvalidProblemError(f"{path}: field 'performance_type' must be runtime or solution_quality (per "
                                      f"measure), got {_shown(value)}")
    maximize = _per_measure(path, "maximize", desc["maximize"], measures, what="true or false per measure")
    for value in maximize:
        if not isinstance(value, bool):
            raise InvalidProblemError(f"{path}: field 'maximize' must be true or false (or a list of them, one per "
                                      f"measure), got {_shown(desc['maximize'])}")
    cutoff = _cutoff(path, desc.get("algorithm_cutoff_time"), runtime=types[0] == "runtime")
    steps = _feature_steps(path, desc["feature_steps"])
    default_steps = _default_steps(path, desc.get("default_steps"), steps, "default_steps" in desc)
    scenario_id = desc.get("scenario_id")
    if scenario_id is not None and _name(scenario_id) is None:
        raise InvalidProblemError(f"{path}: field 'scenario_id' must be a name, got {_shown(scenario_id)}")
    return _Description(name=None if scenario_id is None else str(scenario_id), measure=measures[0],
                        performance_type=types[0], maximize=maximize[0], cutoff=cutoff, steps=steps,
                        default_steps=default_steps)


def _cutoff(path: Path, value: Any, *, runtime: bool) -> float | None:
    """``algorithm_cutoff_time``: a positive finite number of seconds, at most :data:`MAX_MAGNITUDE`, for a runtime
    scenario (PAR10 is 10 times it); a quality scenario has no use for it (None when it is not such a number)."""
    valid = isinstance(value, (int, float)) and not isinstance(value, bool) and bool(np.isfinite(value)) \
        and 0 < value <= MAX_MAGNITUDE
    if valid:
        return float(value)
    if runtime:
        raise InvalidProblemError(f"{path}: field 'algorithm_cutoff_time' must be a positive finite number of "
                                  f"seconds (at most {MAX_MAGNITUDE:g}) for a runtime scenario, got {_shown(value)}")
    return None


def _enough_instances(path: Path, instances: list[str]) -> None:
    """A scenario scores a selector out of fold: it needs runs of 2 instances at least."""
    if not instances:
        raise InvalidProblemError(f"{path}: no runs (its @DATA section is empty)")
    if len(instances) < 2:
        raise InvalidProblemError(f"{path}: runs of only 1 instance ({instances[0]!r}); a scenario needs at least 2 "
                                  f"(a selector is fitted on some and scored on the others)")


def _feature_cost(path: Path, row: int, step: str, value: Any) -> float:
    """A feature step's cost in seconds: a finite number >= 0; ? (missing) costs nothing."""
    if value is None:
        return 0.0
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise _bad_row(path, row, f"field {step} is a feature cost: a finite number of seconds >= 0 is expected, "
                                  f"got {value!r}")
    return float(value)


def read_scenario(folder: str | Path) -> Scenario:
    """Read an ASlib scenario folder.

    See :mod:`mezan.meta.aslib` for the files read, the checks made and the conventions (repetitions, costs).

    Parameters
    ----------
    folder : str or pathlib.Path
        The scenario folder (``description.txt``, ``algorithm_runs.arff``, ``feature_values.arff``, ``cv.arff``,
        and optionally ``feature_costs.arff`` and ``feature_runstatus.arff``).

    Returns
    -------
    Scenario
        The scenario, as arrays over (instances x algorithms) and (instances x features).

    Raises
    ------
    mezan.errors.InvalidProblemError
        When the folder is not a scenario folder, a file does not parse, or a field is missing or of the wrong
        kind; the message names the file (and the line, for ARFF rows and YAML syntax) and the field.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InvalidProblemError(f"{folder}: not a scenario folder")
    desc = _read_description(folder)
    inst_list, algo_list, performance, ok = _read_runs(folder / "algorithm_runs.arff", desc)
    row_of = {n: i for i, n in enumerate(inst_list)}
    feature_names, features = _read_features(folder / "feature_values.arff", row_of)
    step_names, step_costs, step_status = _read_steps(folder, row_of, list(desc.steps))
    folds = _read_folds(folder / "cv.arff", row_of, inst_list)
    return Scenario(name=desc.name or folder.name, path=folder, performance_type=desc.performance_type,
                    maximize=desc.maximize, cutoff=desc.cutoff, algorithms=algo_list, instances=inst_list,
                    performance=performance, ok=ok, feature_names=feature_names, features=features, steps=desc.steps,
                    default_steps=desc.default_steps, step_names=step_names, step_costs=step_costs,
                    step_status=step_status, folds=folds)


def _read_runs(rpath: Path, desc: _Description) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """``algorithm_runs.arff``: the instances and algorithms (in order of first appearance), the performance
    (instances x algorithms: the median of the successful repetitions, NaN where too few succeeded) and where it
    is defined."""
    measure, ptype = desc.measure, desc.performance_type
    runs = _arff(rpath)
    col = _columns(runs, rpath, ("instance_id", "algorithm", measure, "runstatus"))
    reps: dict[tuple[str, str], list[tuple[float, bool]]] = defaultdict(list)  # over repetitions: (value, ok)
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
        if value is not None and ptype == "solution_quality" and abs(value) > MAX_MAGNITUDE:
            raise _bad_row(rpath, r, f"field {measure} is a solution quality of magnitude at most "
                                     f"{MAX_MAGNITUDE:g} (costs are summed and squared), got {value!r}")
        instances.setdefault(str(inst))
        algorithms.setdefault(str(algo))
        ok = status == "ok" and value is not None
        reps[(str(inst), str(algo))].append((float(value) if value is not None else np.nan, ok))
    inst_list, algo_list = list(instances), list(algorithms)
    _enough_instances(rpath, inst_list)
    ii = {n: i for i, n in enumerate(inst_list)}
    ai = {n: i for i, n in enumerate(algo_list)}
    if len(reps) < len(inst_list) * len(algo_list):
        inst, algo = next((i, a) for i in inst_list for a in algo_list if (i, a) not in reps)
        raise InvalidProblemError(f"{rpath}: no run of algorithm {algo!r} on instance {inst!r} (every algorithm "
                                  f"needs a run on every instance)")
    performance = np.full((len(inst_list), len(algo_list)), np.nan)
    defined = np.zeros((len(inst_list), len(algo_list)), dtype=bool)
    for (inst, algo), values in reps.items():
        good = [v for v, k in values if k]
        if good and len(good) >= SUCCESS_SHARE * len(values):
            performance[ii[inst], ai[algo]] = float(np.median(good))
            defined[ii[inst], ai[algo]] = True
    if ptype == "solution_quality" and not defined.any():
        raise InvalidProblemError(f"{rpath}: no successful run (status ok with a {measure} value): a solution-quality "
                                  f"scenario then has no cost to score (a failed run costs the worst quality seen)")
    return inst_list, algo_list, performance, defined


def _read_features(fpath: Path, row_of: dict[str, int]) -> tuple[list[str], np.ndarray]:
    """``feature_values.arff``: the feature names and values (instances x features; NaN where missing: ``?``)."""
    ftable = _arff(fpath)
    fcol = _columns(ftable, fpath, ("instance_id",))
    feature_names = [a[0] for a in ftable["attributes"] if a[0] not in ("instance_id", "repetition")]
    features = np.full((len(row_of), len(feature_names)), np.nan)
    for r, row in enumerate(ftable["data"]):
        i = row_of.get(str(row[fcol["instance_id"]]))
        if i is None:
            continue
        for k, name in enumerate(feature_names):
            v = row[fcol[name]]
            if v is None:
                continue  # ? : missing (imputed by the selectors)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v):
                raise _bad_row(fpath, r, f"field {name} must be a finite number or ? (missing), got {v!r}")
            features[i, k] = float(v)
    return feature_names, features


def _read_steps(folder: Path, row_of: dict[str, int],
                step_names: list[str]) -> tuple[list[str], np.ndarray | None, np.ndarray | None]:
    """The optional ``feature_costs.arff`` and ``feature_runstatus.arff``: the feature steps' names (the
    description's, unless a file lists them), their costs (instances x steps) and run status, None where the
    file is absent."""
    step_costs = step_status = None
    cpath = folder / "feature_costs.arff"
    if cpath.exists():
        ctable = _arff(cpath)
        ccol = _columns(ctable, cpath, ("instance_id",))
        step_names = [a[0] for a in ctable["attributes"] if a[0] not in ("instance_id", "repetition")]
        step_costs = np.zeros((len(row_of), len(step_names)))
        for r, row in enumerate(ctable["data"]):
            i = row_of.get(str(row[ccol["instance_id"]]))
            if i is not None:
                step_costs[i] = [_feature_cost(cpath, r, s, row[ccol[s]]) for s in step_names]
    spath = folder / "feature_runstatus.arff"
    if spath.exists():
        stable = _arff(spath)
        scol = _columns(stable, spath, ("instance_id",))
        status_steps = [a[0] for a in stable["attributes"] if a[0] not in ("instance_id", "repetition")]
        if step_costs is None:
            step_names = status_steps
        step_status = np.full((len(row_of), len(step_names)), "ok", dtype=object)
        for row in stable["data"]:
            i = row_of.get(str(row[scol["instance_id"]]))
            if i is not None:
                for k, s in enumerate(step_names):
                    if s in scol:
                        step_status[i, k] = row[scol[s]] or "unknown"
    return step_names, step_costs, step_status


def _read_folds(vpath: Path, row_of: dict[str, int], inst_list: list[str]) -> np.ndarray:
    """``cv.arff``: each instance's fold (1-based; the first repetition's, when the file repeats them); every
    instance has one, and there are at least two folds."""
    vtable = _arff(vpath)
    vcol = _columns(vtable, vpath, ("instance_id", "fold"))
    folds = np.zeros(len(inst_list), dtype=int)
    for r, row in enumerate(vtable["data"]):
        if "repetition" in vcol and row[vcol["repetition"]] not in (1, 1.0):
            continue  # repeated cross-validation: the first repetition's folds
        i = row_of.get(str(row[vcol["instance_id"]]))
        if i is None:
            continue
        fold = row[vcol["fold"]]
        if not isinstance(fold, (int, float)) or isinstance(fold, bool) or not float(fold).is_integer() \
                or not 1 <= fold <= len(inst_list):
            raise _bad_row(vpath, r, f"field fold must be a positive whole number, at most the number of instances "
                                     f"({len(inst_list)}), got {fold!r}")
        if folds[i]:
            raise _bad_row(vpath, r, f"instance {inst_list[i]!r} has a second fold (first {folds[i]})")
        folds[i] = int(fold)
    if (folds == 0).any():
        missing = inst_list[int(np.argmax(folds == 0))]
        raise InvalidProblemError(f"{vpath}: instance {missing!r} has no fold")
    if len(set(folds.tolist())) < 2:
        raise InvalidProblemError(f"{vpath}: field fold: every instance is in fold {folds[0]}; cross-validation needs "
                                  f"at least 2 folds (a selector is fitted on the other folds)")
    return folds


# ---- scoring -----------------------------------------------------------------------------------------------

def plan_costs(scenario: Scenario, algorithm: np.ndarray, steps: list[str] | None = None,
               presolve: Sequence[tuple[int, float]] = (),
               schedules: Sequence[Sequence[tuple[int, float]] | None] | None = None,
               costs: np.ndarray | None = None) -> np.ndarray:
    """Per-instance cost of a plan on every instance: run the ``presolve`` schedule ((algorithm index, seconds) in
    order: an algorithm that solves the instance within its slot ends the run there, at the time it took), then
    compute the feature ``steps`` (default: the scenario's default steps; ``[]``: none), then run ``algorithm[i]``
    — or, where ``schedules[i]`` is given (runtime scenarios: a per-instance schedule such as SUNNY's), run its
    slots in order the same way, the run ending at the first slot that solves the instance.

    Runtime scenarios charge every slot and step paid before the instance was solved, end the run at a step whose
    status is ``presolved``, and count a run whose total passes the cutoff as a timeout (10 x cutoff). Quality
    scenarios cost the chosen algorithm's value (schedules and feature costs do not apply). ``costs``: the
    scenario's :meth:`Scenario.costs`, when the caller scores many plans of one scenario and has them already."""
    costs = scenario.costs() if costs is None else costs
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
    """Score a selection against the SBS and the VBS on the same instances.

    Parameters
    ----------
    scenario : Scenario
        The scenario.
    algorithm : numpy.ndarray of int
        The selection: an algorithm index (into ``scenario.algorithms``) per instance.
    steps : list of str, optional
        The feature steps computed before the algorithm runs (their costs are charged in runtime scenarios);
        None for the scenario's default steps, ``[]`` for none.
    instances : numpy.ndarray of bool, optional
        A mask of the instances to score on; None for all.

    Returns
    -------
    Score
        The mean costs of the selection, the SBS and the VBS over those instances.

    Raises
    ------
    mezan.errors.InvalidProblemError
        When ``steps`` names a step the scenario does not have.
    """
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
    """Score a selections record from the scenario's own data, re-costing every instance's decision independently.

    Parameters
    ----------
    scenario : Scenario
        The scenario the selections were made on.
    selections : dict
        The record ``mezan meta aslib evaluate --selections`` writes: ``{"selections": {instance: {"presolve":
        [[algorithm, seconds], ...], "feature_steps": [...], "algorithm": name}}}``, a decision for every instance
        of the scenario. A decision with a ``"schedule": [[algorithm, seconds], ...]`` runs that schedule after
        the features instead of ``algorithm`` alone.

    Returns
    -------
    Score
        The mean costs of the decisions, the SBS and the VBS over every instance.

    Raises
    ------
    mezan.errors.InvalidProblemError
        When the record is not of that form: no ``selections`` mapping, an instance without a decision naming one
        of the scenario's algorithms, a malformed ``presolve`` or ``schedule``, or an unknown feature step.
    """
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
