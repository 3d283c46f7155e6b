"""OptiBench experiments: the cross product instances x solvers x seeds into the registry, resumable, on any
executor; reproduction with drift reports; export as CSV, Parquet or an ASlib scenario.

A cell is (instance, solver configuration, replicate); its seed is :func:`cell_seed` of the experiment's seed and
the replicate, so every cell is deterministic for its seed (with an iteration cap and one thread, its objective
is too). A cell's run is recorded once under the key ``problem_id|solver|replicate``: an experiment started again
(same command, or the same ``name``) runs only the cells not recorded yet.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from mezan.bench import instances as instance_specs
from mezan.bench.analysis import load
from mezan.bench.registry import Experiment, Registry, environment
from mezan.dist import executor_from, run_cells
from mezan.errors import InvalidParameterError
from mezan.outputs import check_output, check_output_folder, write_atomic, write_csv
from mezan.registry import get, solve_wire, solvers
from mezan.registry import portable as wire_of
from mezan.running import integer_at_least

DEFAULT_TOLERANCE = 0.25  # a reproduced run slower by more than this fraction (and 50 ms) is a performance drift
NOISE_FLOOR = 0.05  # seconds: wall-time differences below this are noise whatever the ratio


def cell_seed(seed: int, replicate: int) -> int:
    """The seed of a cell: the experiment's seed plus the replicate (replicate k of every solver and instance
    shares it, so the solvers are compared on the same seeds)."""
    return int(seed) + int(replicate)


def _value(text: str) -> Any:
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return {"true": True, "false": False}.get(text.lower(), text)


def parse_solver(spec: str) -> tuple[str, dict[str, Any]]:
    """``NAME[:key=value...]`` -> (registered name, configuration). A short name is a QAPFlow mode
    (``auto`` -> ``qapflow.auto``) or a QAP method (``rots`` -> ``qap.rots``)."""
    name, *pairs = spec.strip().split(":")
    registered = {s.name for s in solvers()}
    for candidate in (name, f"qapflow.{name}", f"qap.{name}"):
        if candidate in registered:
            break
    else:
        raise InvalidParameterError(f"--solvers: unknown solver {name!r}; registered: {', '.join(sorted(registered))}"
                                    f" (QAPFlow modes and QAP methods also by their short name)")
    config = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidParameterError(f"--solvers {spec!r}: a configuration is key=value, got {pair!r}")
        config[key] = _value(value)
    get(candidate).check_options(config)
    return candidate, config


def solver_label(name: str, config: dict[str, Any]) -> str:
    return ":".join([name, *(f"{k}={config[k]}" for k in sorted(config))])


def _peak_reset() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as handle:  # "5": reset the peak resident set size (Linux)
            handle.write("5")
        return True
    except OSError:
        return False


def _peak_mb() -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return None


def run_cell(solver: str, config: dict[str, Any], wire: Any, budget: float, seed: int, *,
             context: Any = None) -> dict[str, Any]:
    """One cell, on whichever worker runs it: the solver's result fields, the process's peak resident memory during
    the run (MB; the process's, so exact when the worker runs one cell at a time) and the worker's environment."""
    measured = _peak_reset()
    result = solve_wire(solver, wire, budget, seed, context=context, options=config)
    return {"objective": None if result.objective is None else float(result.objective),
            "status": str(result.status), "lower_bound": result.lower_bound, "wall_time": float(result.wall_time),
            "iterations": int(result.iterations), "memory_mb": _peak_mb() if measured else None,
            "trace": [[float(t), float(v)] for t, v in result.trace], "environment": environment()}


MAX_SEEDS = 10_000
"""The most seeds (replicates) per instance and solver an experiment runs."""
MAX_RUNS = 1_000_000
"""The most solves (instances x solvers x seeds) one experiment holds."""


class Plan:
    """A checked experiment design: instances, solvers and seeds, nothing stored yet.

    Every check runs at construction: the instance specs are read, the solver specs parsed and checked against
    the registry and the instances' problem type. :func:`run_experiment` runs the plan.

    Parameters
    ----------
    instance_specs_ : list of str
        Instance specs, as ``--instances`` takes them (:mod:`mezan.bench.instances`).
    solver_specs : list of str
        Solver specs, ``NAME[:key=value...]`` as ``--solvers`` takes them (a short name is a QAPFlow mode or a
        QAP method); no solver twice.
    seeds : int, default 1
        Replicates per instance and solver, in [1, :data:`MAX_SEEDS`].
    seed : int, default 0
        The experiment's seed: replicate k runs with seed ``seed + k``.
    time_limit : float, default 1.0
        Seconds per run (positive, finite).
    max_iter : int, optional
        An iteration cap given to every solver whose spec does not set its own ``max_iter`` (with one thread,
        runs then repeat exactly).
    instances : list of Instance, optional
        Instances already read; ``instance_specs_`` then only labels the design.

    Attributes
    ----------
    instances : list of Instance
        The plan's instances.
    solvers : list of (str, dict)
        (registered name, configuration) per solver.
    design : dict
        ``instances``, ``solvers``, ``seeds``, ``seed`` and ``time``: what an experiment records and resumes
        by.

    Raises
    ------
    InvalidParameterError
        When there is no instance or solver, a solver is unknown, named twice or does not solve an instance's
        problem type, an option is out of range, or the plan holds more than :data:`MAX_RUNS` runs.
    """

    def __init__(self, instance_specs_: list[str], solver_specs: list[str], *, seeds: int = 1, seed: int = 0,
                 time_limit: float = 1.0, max_iter: int | None = None,
                 instances: list[instance_specs.Instance] | None = None) -> None:
        if not instance_specs_ and not instances:
            raise InvalidParameterError("--instances: give at least one instance spec")
        if not solver_specs:
            raise InvalidParameterError("--solvers: give at least one solver")
        seeds = integer_at_least("--seeds", seeds, 1, MAX_SEEDS)
        if not (isinstance(time_limit, (int, float)) and math.isfinite(time_limit) and time_limit > 0):
            raise InvalidParameterError(f"--time must be a positive number of seconds, got {time_limit}")
        if max_iter is not None and int(max_iter) < 1:
            raise InvalidParameterError(f"--max-iter must be >= 1, got {max_iter}")
        self.instances = list(instances) if instances is not None else [
            i for spec in instance_specs_ for i in instance_specs.parse(spec)]
        self.solvers = []
        for spec in solver_specs:
            name, config = parse_solver(spec)
            if max_iter is not None and "max_iter" not in config:
                config = get(name).check_options({**config, "max_iter": int(max_iter)})
            self.solvers.append((name, config))
        labels = [solver_label(n, c) for n, c in self.solvers]
        if len(set(labels)) != len(labels):
            raise InvalidParameterError(f"--solvers: a solver is named twice ({', '.join(labels)})")
        for instance in self.instances:
            for name, _ in self.solvers:
                if get(name).problem_type != instance.problem.problem_type:
                    raise InvalidParameterError(f"--solvers: {name} solves {get(name).problem_type} problems; instance "
                                                f"{instance.name!r} is a {instance.problem.problem_type} problem")
        runs = len(self.instances) * len(self.solvers) * seeds
        if runs > MAX_RUNS:
            raise InvalidParameterError(f"an experiment runs at most {MAX_RUNS:,} solves; {len(self.instances):,} "
                                        f"instances x {len(self.solvers)} solvers x {seeds:,} seeds make {runs:,}")
        self.design = {"instances": list(instance_specs_), "solvers": labels, "seeds": int(seeds), "seed": int(seed),
                       "time": float(time_limit)}

    def default_name(self) -> str:
        """A name derived from the design: the same command resumes the same experiment."""
        canonical = json.dumps(self.design, sort_keys=True)
        return "design-" + hashlib.sha256(canonical.encode()).hexdigest()[:10]

    def cells(self) -> dict[str, tuple[Any, str, dict[str, Any], int]]:
        """cell key -> (instance, solver, configuration, replicate)."""
        out = {}
        for instance in self.instances:
            for name, config in self.solvers:
                for replicate in range(self.design["seeds"]):
                    out[f"{instance.problem_id[:16]}|{solver_label(name, config)}|{replicate}"] = (
                        instance, name, config, replicate)
        return out


def run_experiment(plan: Plan, *, registry: Registry | None = None, name: str | None = None, executor: Any = None,
                   start: Callable[[Experiment, int, int], Any] | None = None,
                   advance: Callable[[str], Any] | None = None) -> Experiment:
    """Run an experiment: every cell of a plan not yet recorded under the experiment's name.

    A cell is (instance, solver, replicate); each is recorded in the registry as it ends, so running the same
    plan under the same name again resumes it. Ctrl-C cancels the running cells; every cell recorded stays
    recorded.

    Parameters
    ----------
    plan : Plan
        The checked design.
    registry : Registry, optional
        Where the instances and runs are recorded (default: the user's store).
    name : str, optional
        The experiment's name (default: derived from the design, so the same command resumes the same
        experiment). An existing name with another design is an error.
    executor : object, optional
        Where the cells run: anything :func:`mezan.dist.executor_from` takes (default: a
        :class:`mezan.dist.LocalExecutor`, or ``$MEZAN_SCHEDULER`` when set).
    start : callable, optional
        ``start(experiment, total, recorded)``, called before the first cell with the number of cells and of
        those already recorded.
    advance : callable, optional
        ``advance(cell_key)``, called after each cell.

    Returns
    -------
    Experiment
        The experiment record (``id``, ``name``, ``created``, ``design``).

    Raises
    ------
    InvalidParameterError
        When an instance file changed since it was registered, or the name is taken by another design.
    """
    registry = registry or Registry()
    for instance in plan.instances:  # every check before anything is stored
        registry.check_file(instance)
    experiment = registry.create_experiment(name or plan.default_name(), plan.design)
    for instance in plan.instances:
        registry.register(instance)
    cells = plan.cells()
    recorded = registry.cells(experiment.id)
    wires = {i.problem_id: wire_of(i.problem) for i in plan.instances}
    jobs = {key: (run_cell, (solver, config, wires[instance.problem_id], plan.design["time"],
                             cell_seed(plan.design["seed"], replicate)))
            for key, (instance, solver, config, replicate) in cells.items()}
    if start is not None:
        start(experiment, len(cells), sum(k in recorded for k in cells))

    def record(key: str, value: dict[str, Any]) -> None:
        instance, solver, config, replicate = cells[key]
        env_id = registry.environment_id(value.pop("environment"))
        registry.record_run(experiment.id, key, {**value, "problem_id": instance.problem_id,
                                                 "solver": solver_label(solver, config), "config": config,
                                                 "budget": plan.design["time"], "replicate": replicate,
                                                 "seed": cell_seed(plan.design["seed"], replicate), "env_id": env_id})

    with executor_from(executor) as ex:
        run_cells(ex, jobs, skip=recorded, record=record, context=True,
                  advance=None if advance is None else (lambda key, _value: advance(key)))
    return experiment


def _run_ids(registry: Registry, ref: str) -> tuple[list[dict[str, Any]], Experiment]:
    if ref.isdigit():
        runs = registry.runs(run_id=int(ref))
        if not runs:
            raise InvalidParameterError(f"no run {ref} (run ids are in `mezan bench export`)")
        return runs, registry.experiment(runs[0]["experiment"])
    experiment = registry.experiment(ref)
    runs = registry.runs(experiment.id)
    if not runs:
        raise InvalidParameterError(f"experiment {experiment.name!r} has no runs")
    return runs, experiment


def deterministic(run: dict[str, Any]) -> bool:
    """A run whose objective must repeat exactly: capped by iterations on one thread, ended by its cap."""
    config = run["config"]
    return ("max_iter" in config and int(config.get("threads", 1)) == 1
            and run["status"] not in ("timeout", "cancelled", "error"))


def reproduce(ref: str, *, registry: Registry | None = None, tolerance: float = DEFAULT_TOLERANCE,
              executor: Any = None, advance: Callable[[], Any] | None = None) -> dict[str, Any]:
    """Run recorded runs again and report drift.

    One recorded run, or every run of an experiment, runs again as the experiment would run it now; the report
    names a different objective of a deterministic run (correctness), a deterministic run slower by more than
    ``tolerance`` (performance), a seed that the cell now maps to differently, and the environment's differences.
    Nothing is recorded.

    Parameters
    ----------
    ref : str
        A run id (digits) or an experiment's id or name.
    registry : Registry, optional
        The registry holding the runs (default: the user's store).
    tolerance : float, default DEFAULT_TOLERANCE
        The fraction by which a deterministic run may be slower (beyond a 50 ms noise floor) before it is a
        performance drift; >= 0 (:data:`DEFAULT_TOLERANCE`: 0.25).
    executor : object, optional
        Where the runs run: anything :func:`mezan.dist.executor_from` takes.
    advance : callable, optional
        ``advance()``, called after each run.

    Returns
    -------
    dict
        ``experiment``, ``name``, ``runs``, ``deterministic`` and ``time_limited`` (counts), ``tolerance``,
        ``correctness_drift``, ``performance_drift``, ``seed_drift`` (lists of runs), ``environment`` (what
        differs, recorded vs now) and ``reproduced`` (True when no run drifted).

    Raises
    ------
    InvalidParameterError
        When ``tolerance`` is negative, or there is no such run or experiment, or it has no runs.
    """
    registry = registry or Registry()
    if not (isinstance(tolerance, (int, float)) and tolerance >= 0):
        raise InvalidParameterError(f"--tolerance must be >= 0, got {tolerance}")
    runs, experiment = _run_ids(registry, str(ref))
    ids = dict.fromkeys(r["problem_id"] for r in runs)
    loaded = {pid: instance_specs.reload(registry.instance(pid)) for pid in ids}
    base = int(experiment.design["seed"])
    jobs = {}
    for run in runs:
        name = run["solver"].split(":")[0]
        jobs[str(run["id"])] = (run_cell, (name, run["config"], wire_of(loaded[run["problem_id"]].problem),
                                           run["budget"], cell_seed(base, run["replicate"])))
    fresh: dict[str, dict[str, Any]] = {}
    with executor_from(executor) as ex:
        run_cells(ex, jobs, record=fresh.__setitem__, context=True,
                  advance=None if advance is None else (lambda key, value: advance()))
    correctness, performance, seeds, noisy = [], [], [], 0
    environments = set()
    for run in runs:
        new = fresh[str(run["id"])]
        environments.add(run["env_id"])
        seed_now = cell_seed(base, run["replicate"])
        entry = {"run": run["id"], "instance": loaded[run["problem_id"]].name, "solver": run["solver"],
                 "seed": run["seed"], "objective": run["objective"], "objective_now": new["objective"],
                 "wall_time": run["wall_time"], "wall_time_now": new["wall_time"]}
        if seed_now != run["seed"]:
            seeds.append({**entry, "seed_now": seed_now})
        if not deterministic(run):
            noisy += 1
            continue
        if new["objective"] != run["objective"]:
            correctness.append(entry)
        slower = new["wall_time"] - run["wall_time"]
        if slower > NOISE_FLOOR and new["wall_time"] > (1 + tolerance) * run["wall_time"]:
            performance.append({**entry, "ratio": new["wall_time"] / max(run["wall_time"], 1e-9)})
    now = environment()
    differences = {}
    for env_id in sorted(environments):
        then = registry.environment(env_id)
        for key in sorted(set(then) | set(now)):
            if then.get(key) != now.get(key):
                differences.setdefault(key, {"recorded": then.get(key), "now": now.get(key)})
    return {"experiment": experiment.id, "name": experiment.name, "runs": len(runs),
            "deterministic": len(runs) - noisy, "time_limited": noisy, "tolerance": tolerance,
            "correctness_drift": correctness, "performance_drift": performance, "seed_drift": seeds,
            "environment": differences, "reproduced": not (correctness or performance or seeds)}


EXPORT_COLUMNS = ("run", "instance", "problem_id", "solver", "seed", "replicate", "budget", "objective", "status",
                  "wall_time", "memory_mb", "iterations")


def export_rows(registry: Registry, experiment: Experiment) -> list[dict[str, Any]]:
    runs = registry.runs(experiment.id)
    if not runs:
        raise InvalidParameterError(f"experiment {experiment.name!r} has no runs")
    names = {r["problem_id"]: registry.instance(r["problem_id"])["name"] for r in runs}
    return [{"run": r["id"], "instance": names[r["problem_id"]], "problem_id": r["problem_id"], "solver": r["solver"],
             "seed": r["seed"], "replicate": r["replicate"], "budget": r["budget"], "objective": r["objective"],
             "status": r["status"], "wall_time": r["wall_time"], "memory_mb": r["memory_mb"],
             "iterations": r["iterations"]} for r in runs]


def export(ref: str, out: str | Path, *, fmt: str = "csv", registry: Registry | None = None,
           force: bool = False) -> Path:
    """Write an experiment's runs: ``csv`` / ``parquet`` (one row per run) or ``aslib`` (a scenario folder).

    The output is checked before the store is read (:mod:`mezan.outputs`): the store itself is never overwritten,
    an existing file (a non-empty folder for ``aslib``) only with ``force``; every file is written atomically, and
    a CSV text cell never starts a spreadsheet formula.

    Parameters
    ----------
    ref : str
        The experiment's id or name.
    out : str or pathlib.Path
        The file to write (the folder, for ``aslib``).
    fmt : {"csv", "parquet", "aslib"}, default "csv"
        The format: one row per run (columns :data:`EXPORT_COLUMNS`), or an ASlib scenario.
    registry : Registry, optional
        The registry holding the experiment (default: the user's store).
    force : bool, default False
        Whether an existing file (a non-empty folder for ``aslib``) may be replaced.

    Returns
    -------
    pathlib.Path
        The file (or folder) written.

    Raises
    ------
    InvalidParameterError
        When ``fmt`` is unknown, ``out`` is refused (the store, or an existing output without ``force``), there
        is no such experiment or it has no runs, or ``parquet`` is asked for without pyarrow installed.
    """
    registry = registry or Registry()
    if fmt not in ("csv", "parquet", "aslib"):
        raise InvalidParameterError(f"--format must be csv, parquet or aslib, got {fmt!r}")
    store = registry.store.path
    if fmt == "aslib":
        check_output_folder(out, force=force, store=store)
    else:
        check_output(out, force=force, store=store)
    experiment = registry.experiment(ref)
    rows = export_rows(registry, experiment)
    out = Path(out)
    if fmt == "csv":
        write_csv(out, EXPORT_COLUMNS, rows, force=force, store=store)
        return out
    if fmt == "parquet":
        try:
            import pyarrow  # the parquet extra
            import pyarrow.parquet  # the parquet extra
        except ImportError:
            raise InvalidParameterError("--format parquet needs pyarrow (pip install 'mezan[parquet]')") from None
        table = pyarrow.Table.from_pylist(rows)
        write_atomic(out, lambda path: pyarrow.parquet.write_table(table, path), force=force, store=store)
        return out
    return _export_aslib(registry, experiment, out, force=force)


def _export_aslib(registry: Registry, experiment: Experiment, out: Path, *, force: bool = False) -> Path:
    from mezan.meta.aslib_export import write_scenario  # the meta extra
    from mezan.meta.features import features  # the meta extra

    data = load(registry, experiment.id)
    problems = {pid: instance_specs.reload(registry.instance(pid)).problem for pid in data.instances}
    runs = [(pid, solver, gap, "ok" if gap is not None and math.isfinite(gap) else "crash")
            for (pid, solver), gaps in data.gaps.items() for gap in gaps]
    return write_scenario(out, f"OptiBench-{experiment.name}", runs, {pid: features(p) for pid, p in problems.items()},
                          problem_type=data.problem_type, budget=experiment.design["time"], force=force,
                          store=registry.store.path, option="--out")


__all__ = ["DEFAULT_TOLERANCE", "EXPORT_COLUMNS", "Plan", "cell_seed", "deterministic", "export", "export_rows",
           "parse_solver", "reproduce", "run_cell", "run_experiment", "solver_label"]
