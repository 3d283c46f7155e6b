"""The OptiBench registry: instances, environments, experiments and runs, as tables of the embedded store.

- ``bench_instances``: one row per problem (``problem_id`` = the sha256 fingerprint of its canonical form), with
  its name, source (``qaplib``, ``aslib``, ``generated`` + generator and seed, ``custom``), size, best-known value,
  the file path and file sha256 when it was read from a file, and MetaFlow's features of the problem (computed once,
  at registration: what the agents compare instances by).
- ``bench_files``: path -> the sha256 registered for it. A file whose bytes changed is refused
  (:meth:`Registry.check_file`) until registered again (:meth:`Registry.register_file` with ``replace=True``).
- ``bench_environments``: one row per distinct environment (:func:`environment`), keyed by its hash.
- ``bench_experiments``: an experiment's id, unique name and design (instances, solvers, seeds, budget).
- ``bench_runs``: one row per (experiment, cell) — the UNIQUE key makes a cell recorded twice keep its first
  row — with the solver and its configuration, budget, seed, the common result fields, peak memory, trace and
  the environment it ran in.

Every write is one store transaction; readers see whole rows.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy
import scipy

import mezan
from mezan import _core
from mezan.bench.instances import Instance
from mezan.errors import InvalidParameterError, MezanError
from mezan.store import Store

_SCHEMA = """
CREATE TABLE IF NOT EXISTS bench_instances (
    problem_id TEXT PRIMARY KEY, name TEXT NOT NULL, source TEXT NOT NULL, problem_type TEXT NOT NULL,
    size INTEGER NOT NULL, best_known REAL, generator TEXT, generator_seed INTEGER, path TEXT, file_sha256 TEXT,
    created REAL NOT NULL, features TEXT NOT NULL DEFAULT '{}'
);
CREATE TABLE IF NOT EXISTS bench_files (
    path TEXT PRIMARY KEY, sha256 TEXT NOT NULL, problem_id TEXT NOT NULL, registered REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_environments (env_id TEXT PRIMARY KEY, snapshot TEXT NOT NULL, created REAL NOT NULL);
CREATE TABLE IF NOT EXISTS bench_experiments (
    id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE, created REAL NOT NULL, design TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS bench_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT, experiment TEXT NOT NULL, cell TEXT NOT NULL, problem_id TEXT NOT NULL,
    solver TEXT NOT NULL, config TEXT NOT NULL, budget REAL, seed INTEGER, replicate INTEGER NOT NULL,
    objective REAL, status TEXT NOT NULL, lower_bound REAL, wall_time REAL, iterations INTEGER, memory_mb REAL,
    trace TEXT NOT NULL, env_id TEXT NOT NULL, created REAL NOT NULL,
    UNIQUE (experiment, cell)
);
CREATE INDEX IF NOT EXISTS bench_runs_by_experiment ON bench_runs (experiment);
"""

RUN_FIELDS = ("id", "experiment", "cell", "problem_id", "solver", "config", "budget", "seed", "replicate",
              "objective", "status", "lower_bound", "wall_time", "iterations", "memory_mb", "trace", "env_id",
              "created")
INSTANCE_FIELDS = ("problem_id", "name", "source", "problem_type", "size", "best_known", "generator",
                   "generator_seed", "path", "file_sha256", "created", "features")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _git_revision() -> str | None:
    """The git revision of the source tree MEZAN was imported from (an editable install), when there is one."""
    root = Path(mezan.__file__).resolve().parents[2]
    if not (root / ".git").exists():
        return None
    try:
        out = subprocess.run(["git", "-C", str(root), "rev-parse", "HEAD"], capture_output=True, text=True,
                             timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


@lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Return this process's environment, as recorded with every OptiBench run.

    Computed once per process (cached).

    Returns
    -------
    dict
        ``python``, ``implementation``, ``platform``, ``cpu`` (model), ``cores``, the versions ``mezan``,
        ``numpy`` and ``scipy``, the ``compiler``, ``build_type`` and ``build_flags`` of ``mezan._core``, ``git``
        (the revision when MEZAN runs from a checkout, else None) and ``executable``.
    """
    build = dict(_core.build_info())
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "platform": platform.platform(), "cpu": _cpu_model(), "cores": os.cpu_count(),
            "mezan": mezan.__version__, "numpy": numpy.__version__, "scipy": scipy.__version__,
            "compiler": build.get("compiler"), "build_type": build.get("build_type"), "build_flags": build.get("flags"),
            "git": _git_revision(), "executable": sys.executable}


def environment_id(snapshot: dict[str, Any]) -> str:
    canonical = json.dumps(snapshot, sort_keys=True, separators=(",", ":"), default=str)
    return "env-" + hashlib.sha256(canonical.encode()).hexdigest()[:16]


def _features(problem: Any) -> dict[str, float]:
    from mezan.meta.features import features  # the meta extra

    try:
        values = features(problem)
    except MezanError:  # a type without a feature extractor: compared by nothing
        return {}
    return {k: (None if isinstance(v, float) and v != v else v) for k, v in values.items()}  # NaN -> null


def _instance_row(row: tuple[Any, ...]) -> dict[str, Any]:
    out = dict(zip(INSTANCE_FIELDS, row, strict=True))
    out["features"] = {k: (float("nan") if v is None else v) for k, v in json.loads(out["features"]).items()}
    return out


@dataclass(frozen=True)
class Experiment:
    id: str
    name: str
    created: float
    design: dict[str, Any]


class Registry:
    """OptiBench's tables (instances, files, environments, experiments, runs) in a store.

    The tables are created in the store when missing (see :mod:`mezan.bench.registry`).

    Parameters
    ----------
    store : mezan.store.Store, optional
        The store holding the tables (default: the user's store, :class:`mezan.store.Store`).
    """

    def __init__(self, store: Store | None = None) -> None:
        self.store = store if store is not None else Store()
        self.store.define(_SCHEMA)

    # ---- instances and files -------------------------------------------------------------------
    def check_file(self, instance: Instance) -> None:
        """Refuse an instance read from a file whose bytes differ from the ones registered for that path."""
        if instance.path is None:
            return
        row = self.store.query("SELECT sha256 FROM bench_files WHERE path = ?", (instance.path,))
        if row and row[0][0] != instance.file_sha256:
            raise InvalidParameterError(
                f"instance file {instance.path} changed since it was registered (sha256 {row[0][0][:12]}… now "
                f"{instance.file_sha256[:12]}…): check it, then register it again with "
                f"`mezan bench register {instance.path} --replace`")

    def register(self, instance: Instance) -> str:
        """Record an instance (idempotent) and its file; returns its problem_id. A changed file is refused."""
        self.check_file(instance)
        problem = instance.problem
        known = self.store.query("SELECT 1 FROM bench_instances WHERE problem_id = ?", (instance.problem_id,))
        feats = "{}" if known else json.dumps(_features(problem), sort_keys=True)
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO bench_instances VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       (instance.problem_id, instance.name, instance.source, problem.problem_type, instance.size,
                        instance.best_known, instance.generator, instance.generator_seed, instance.path,
                        instance.file_sha256, time.time(), feats))
            if instance.path is not None:
                db.execute("INSERT OR IGNORE INTO bench_files VALUES (?, ?, ?, ?)",
                           (instance.path, instance.file_sha256, instance.problem_id, time.time()))
        return instance.problem_id

    def register_file(self, instance: Instance, *, replace: bool = False) -> str:
        """Register an instance read from a file; ``replace=True`` accepts a changed file (its new bytes become the
        registered ones; runs of the old problem keep their own instance row)."""
        if replace and instance.path is not None:
            with self.store.transaction() as db:
                db.execute("DELETE FROM bench_files WHERE path = ?", (instance.path,))
            with self.store.transaction() as db:
                db.execute("UPDATE bench_instances SET path = NULL WHERE path = ? AND problem_id != ?",
                           (instance.path, instance.problem_id))
        return self.register(instance)

    def instance(self, problem_id: str) -> dict[str, Any]:
        rows = self.store.query(f"SELECT {', '.join(INSTANCE_FIELDS)} FROM bench_instances WHERE problem_id = ?",
                                (problem_id,))
        if not rows:
            raise InvalidParameterError(f"no registered instance {problem_id[:16]}…")
        return _instance_row(rows[0])

    def instances(self) -> list[dict[str, Any]]:
        rows = self.store.query(f"SELECT {', '.join(INSTANCE_FIELDS)} FROM bench_instances ORDER BY name")
        return [_instance_row(r) for r in rows]

    # ---- environments ----------------------------------------------------------------------------
    def environment_id(self, snapshot: dict[str, Any]) -> str:
        env_id = environment_id(snapshot)
        with self.store.transaction() as db:
            db.execute("INSERT OR IGNORE INTO bench_environments VALUES (?, ?, ?)",
                       (env_id, json.dumps(snapshot, sort_keys=True, default=str), time.time()))
        return env_id

    def environment(self, env_id: str) -> dict[str, Any]:
        rows = self.store.query("SELECT snapshot FROM bench_environments WHERE env_id = ?", (env_id,))
        return json.loads(rows[0][0]) if rows else {}

    # ---- experiments -----------------------------------------------------------------------------
    def create_experiment(self, name: str, design: dict[str, Any]) -> Experiment:
        """The experiment of that name — created, or the existing one when its design is the same (a resume);
        a different design under an existing name is an error."""
        rows = self.store.query("SELECT id, name, created, design FROM bench_experiments WHERE name = ?", (name,))
        if rows:
            existing = Experiment(rows[0][0], rows[0][1], rows[0][2], json.loads(rows[0][3]))
            if existing.design != json.loads(json.dumps(design)):
                changed = sorted(k for k in set(design) | set(existing.design)
                                 if existing.design.get(k) != json.loads(json.dumps(design)).get(k))
                raise InvalidParameterError(f"--name {name!r}: an experiment of that name exists with another design "
                                            f"(differs in {', '.join(changed)}); choose another name")
            return existing
        experiment = Experiment("exp-" + uuid.uuid4().hex[:12], name, time.time(), design)
        with self.store.transaction() as db:
            db.execute("INSERT INTO bench_experiments VALUES (?, ?, ?, ?)",
                       (experiment.id, name, experiment.created, json.dumps(design)))
        return experiment

    def experiment(self, ref: str) -> Experiment:
        """An experiment by id or name; InvalidParameterError naming it when there is none."""
        rows = self.store.query("SELECT id, name, created, design FROM bench_experiments WHERE id = ? OR name = ?",
                                (ref, ref))
        if not rows:
            raise InvalidParameterError(f"no experiment {ref!r} (see `mezan bench list`)")
        return Experiment(rows[0][0], rows[0][1], rows[0][2], json.loads(rows[0][3]))

    def experiments(self) -> list[Experiment]:
        rows = self.store.query("SELECT id, name, created, design FROM bench_experiments ORDER BY created")
        return [Experiment(r[0], r[1], r[2], json.loads(r[3])) for r in rows]

    # ---- runs ------------------------------------------------------------------------------------
    def record_run(self, experiment: str, cell: str, run: dict[str, Any]) -> bool:
        """Record a cell's run once (the first row stays); False when it was already recorded."""
        values = (experiment, cell, run["problem_id"], run["solver"], json.dumps(run.get("config") or {},
                                                                                  sort_keys=True),
                  run.get("budget"), run.get("seed"), int(run["replicate"]), run.get("objective"), run["status"],
                  run.get("lower_bound"), run.get("wall_time"), run.get("iterations"), run.get("memory_mb"),
                  json.dumps(run.get("trace") or []), run["env_id"], time.time())
        with self.store.transaction() as db:
            self.store.lock(db, "bench_runs")  # ids commit in increasing order: runs(since=) never skips one
            cursor = db.execute(f"INSERT OR IGNORE INTO bench_runs ({', '.join(RUN_FIELDS[1:])}) VALUES "
                                f"({', '.join('?' * len(values))})", values)
            return cursor.rowcount == 1

    def runs(self, experiment: str | None = None, *, run_id: int | None = None, problem_id: str | None = None,
             since: int | None = None, traces: bool = True) -> list[dict[str, Any]]:
        """Runs of an experiment, one run, one instance, or those recorded after the run ``since`` (all runs: none
        given), in the order they were recorded; ``traces=False`` leaves each ``trace`` empty (the traces are most
        of a run's bytes)."""
        columns = [c if c != "trace" or traces else "'[]'" for c in RUN_FIELDS]
        query, args = f"SELECT {', '.join(columns)} FROM bench_runs", []
        if since is not None and (experiment, run_id, problem_id) != (None, None, None):
            raise InvalidParameterError("runs: give since alone, not with experiment, run_id or problem_id")
        if since is not None:
            query, args = query + " WHERE id > ?", [since]
        elif run_id is not None:
            query, args = query + " WHERE id = ?", [run_id]
        elif experiment is not None:
            query, args = query + " WHERE experiment = ?", [experiment]
        elif problem_id is not None:
            query, args = query + " WHERE problem_id = ?", [problem_id]
        out = []
        for r in self.store.query(query + " ORDER BY id", args):
            row = dict(zip(RUN_FIELDS, r, strict=True))
            row["config"] = json.loads(row["config"])
            row["trace"] = json.loads(row["trace"])
            out.append(row)
        return out

    def cells(self, experiment: str) -> set[str]:
        return {r[0] for r in self.store.query("SELECT cell FROM bench_runs WHERE experiment = ?", (experiment,))}

    def run_record(self, run: dict[str, Any]) -> dict[str, Any]:
        """A run in the original design's JSON form: ``problem_id``, ``instance``, ``source``, ``size``, ``solver``,
        ``result{objective, time, memory_mb, status}``, ``environment{python, platform, cpu}`` (plus the seed,
        budget, configuration and experiment)."""
        instance = self.instance(run["problem_id"])
        env = self.environment(run["env_id"])
        return {"problem_id": run["problem_id"], "instance": instance["name"], "source": instance["source"],
                "size": instance["size"], "solver": run["solver"], "config": run["config"], "seed": run["seed"],
                "budget": run["budget"], "experiment": run["experiment"],
                "result": {"objective": run["objective"], "time": run["wall_time"], "memory_mb": run["memory_mb"],
                           "status": run["status"]},
                "environment": {"python": env.get("python"), "platform": env.get("platform"), "cpu": env.get("cpu")}}


__all__ = ["INSTANCE_FIELDS", "RUN_FIELDS", "Experiment", "Registry", "environment", "environment_id"]
