"""``mezan meta ...``: MetaFlow's store, ratings, races, tournaments and training from the command line.

    mezan meta status [--json]
    mezan meta race FILE... [--solvers S,S...] [--time T] [--seed K] [--json]
    mezan meta tournament FOLDER [--rounds R] [--time T] [--max-n N] [--solvers S,S...] [--json]
    mezan meta train [--json]
    mezan meta reset --yes
    mezan meta aslib evaluate DIR [--approach auto|regression|pairwise|knn|ensemble|forest_mean] [--seed K] [--json]
        [--selections FILE [--force]] [--feature-steps auto|default|all]
        [--configure SECONDS] [--config FILE]
    mezan meta aslib configure DIR --budget SECONDS [--out FILE [--force]] [--config FILE] [--seed K] [--workers N]
        [--json]
    mezan meta aslib export DIR [--type T] [--seed K] [--force]

Every command takes ``--store PATH`` (default ``$MEZAN_HOME/mezan.db``). ``race`` and ``tournament`` run their solves
on ``--workers N`` local threads (default 1), ``--scheduler ADDRESS`` (or ``$MEZAN_SCHEDULER``) or
``--local-cluster N`` (:mod:`mezan.dist`); this process alone writes the store.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from mezan.cli import common
from mezan.dist import make_executor
from mezan.errors import InvalidParameterError
from mezan.meta.aslib import read_scenario, score, score_costs
from mezan.meta.aslib_export import export_history
from mezan.meta.metaflow import MetaFlow
from mezan.meta.races import run_races
from mezan.meta.schedules import FEATURE_STEPS, evaluate
from mezan.meta.selectors import EVALUATED
from mezan.outputs import check_output, check_output_folder, write_atomic
from mezan.qap import read_qaplib
from mezan.running import check_seed
from mezan.store import Store, StoredDataError


def _flow_store(args: argparse.Namespace) -> Store:
    """The store alone (no MetaFlow: its construction already reads the data being checked)."""
    return Store(args.store)


def _flow(args: argparse.Namespace):

    return MetaFlow(args.store, seed=getattr(args, "seed", None))


def _print_ratings(console, title: str, ratings: dict[str, dict[str, Any]]) -> None:

    table = Table(title=title)
    table.add_column("solver")
    table.add_column("Elo", justify="right")
    table.add_column("games", justify="right")
    for solver, row in ratings.items():
        table.add_row(solver, f"{row['rating']:.0f}", str(row["games"]))
    console.print(table)


def cmd_status(args: argparse.Namespace) -> int:

    status = _flow(args).status()
    if args.json:
        print(json.dumps(status, indent=1))
        return 0
    console = Console()
    console.print(f"store {status['store']}: {status['records']} solves recorded on {status['instances']} "
                  f"instances; clusters: {status['clusters'] or 'none yet'}; model trained: {status['model_trained']}")
    for solver, count in status["solves_per_solver"].items():
        console.print(f"  {solver}: {count} solves")
    for scope, ratings in status["ratings"].items():
        _print_ratings(console, f"Elo ratings ({scope})", ratings)
    return 0


def _problems(paths: list[str], max_n: int | None = None):

    problems = []
    for spec in paths:
        path = Path(spec)
        files = sorted(path.glob("*.dat")) if path.is_dir() else [path]
        for f in files:
            problem = read_qaplib(f)
            if max_n is None or problem.n <= max_n:
                problems.append(problem)
    if not problems:
        raise InvalidParameterError(f"no QAPLIB instances found in {', '.join(paths)}"
                                    + (f" with n <= {max_n}" if max_n else ""))
    return problems


def cmd_race(args: argparse.Namespace) -> int:


    flow = _flow(args)
    problems = _problems(args.files)
    console = Console(stderr=True)
    records = []
    entries = [(problem, args.solvers or flow.candidates(problem)) for problem in problems]
    executor = make_executor(args.scheduler, workers=args.workers, local_cluster=args.local_cluster, quiet=True)
    try:
        with Progress(console=console, transient=True) as progress:
            task = progress.add_task(f"{len(entries)} races on {executor.describe()['threads']} threads",
                                     total=sum(len(s) for _, s in entries))
            outcomes = run_races(flow, entries, args.time, args.seed, executor,
                                 progress=lambda name, result: progress.advance(task))
    finally:
        executor.close()
    for (problem, _), race in zip(entries, outcomes, strict=True):
        records.append({"instance": problem.name, "n": problem.n, "best_known": problem.best_known,
                        "cluster": race.cluster, "ranking": race.ranking,
                        "objectives": {s: r.objective for s, r in race.results.items()}})
    if args.json:
        print(json.dumps({"races": records, "ratings": flow.ratings()}, indent=1, default=float))
        return 0
    out = Console()
    for rec in records:
        table = Table(title=f"{rec['instance']} (n = {rec['n']}, best known {rec['best_known']}, "
                            f"cluster {rec['cluster']})")
        table.add_column("rank", justify="right")
        table.add_column("solver")
        table.add_column("objective", justify="right")
        for rank, solver in enumerate(rec["ranking"], 1):
            table.add_row(str(rank), solver, f"{rec['objectives'][solver]:,.6g}")
        out.print(table)
    _print_ratings(out, "Elo ratings (global)", {s: {"rating": r, "games": g} for s, (r, g) in
                                                  sorted(flow.ratings().items(), key=lambda kv: -kv[1][0])})
    return 0


def cmd_tournament(args: argparse.Namespace) -> int:

    flow = _flow(args)
    problems = _problems([args.folder], args.max_n)
    solvers = args.solvers or flow.candidates(problems[0])
    games = args.rounds * (len(solvers) // 2)

    executor = make_executor(args.scheduler, workers=args.workers, local_cluster=args.local_cluster, quiet=True)
    try:
        with Progress(console=Console(stderr=True), transient=True) as progress:
            task = progress.add_task(f"Swiss tournament, {len(solvers)} solvers, {args.rounds} rounds", total=games)
            result = flow.tournament(problems, solvers, args.rounds, args.time, seed=args.seed,
                                     progress=lambda *game: progress.advance(task), executor=executor)
    finally:
        executor.close()
    standings = result.standings()
    if args.json:
        print(json.dumps({"standings": [{"solver": s, "points": p, "rating": r} for s, p, r in standings],
                          "games": result.games}, indent=1))
        return 0
    table = Table(title=f"Swiss tournament: {args.rounds} rounds on {len(problems)} instances, {args.time:g} s each")
    for column in ("rank", "solver", "points", "Elo"):
        table.add_column(column, justify="left" if column == "solver" else "right")
    for rank, (solver, points, rating) in enumerate(standings, 1):
        table.add_row(str(rank), solver, f"{points:g}", f"{rating:.0f}")
    Console().print(table)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    flow, kind = _recorded(args)
    report = flow.train(kind)
    if args.json:
        print(json.dumps(report.__dict__, indent=1))
        return 0
    print(f"trained on {report.observations} solves of {report.instances} instances: {report.clusters} clusters, "
          f"selector for {', '.join(report.solvers)}")
    print("features that mattered: " + ", ".join(f"{n} ({w:.2f})" for n, w in report.importances))
    return 0


def _recorded(args: argparse.Namespace) -> tuple[MetaFlow, str]:
    """The MetaFlow and the --type, which must have recorded solves (the types recorded are named otherwise)."""
    flow, kind = _flow(args), args.problem_type
    if not flow.store.solves(problem_type=kind):
        recorded = sorted({r.problem_type for r in flow.store.solves()})
        raise InvalidParameterError(f"--type: no recorded {kind!r} solves in {flow.store.path} (recorded types: "
                                    f"{', '.join(recorded) or 'none'})")
    return flow, kind


def cmd_recluster(args: argparse.Namespace) -> int:
    flow, kind = _recorded(args)
    clustering = flow.fit_clusters(kind)
    common.emit(args.json, {"type": kind, "clusters": clustering.k, "instances": clustering.instances},
                f"{clustering.k} clusters of {clustering.instances} {kind} instances; ratings rebuilt")
    return 0


def cmd_rebuild_ratings(args: argparse.Namespace) -> int:
    flow, kind = _recorded(args)
    flow.rebuild_ratings(kind)
    record = {"type": kind, "solves": len(flow.store.solves(problem_type=kind)),
              "solvers": len(flow.ratings(problem_type=kind)), "instances": len(flow.instance_ratings(kind))}
    common.emit(args.json, record, f"{kind} ratings rebuilt from {record['solves']} recorded solves: "
                                   f"{record['solvers']} solvers, {record['instances']} instances")
    return 0


def _refused(names: list[str], read: Any) -> list[tuple[str, str]]:
    """(name, why) of every name whose ``read(name)`` the store refuses (:class:`StoredDataError`)."""
    out = []
    for name in names:
        try:
            read(name)
        except StoredDataError as exc:
            out.append((name, str(exc)))
    return out


def cmd_verify(args: argparse.Namespace) -> int:
    """Check every history row, rating and artifact; with ``repair``, delete those that fail (the history rows are
    lost; ratings and artifacts are derived: rebuild-ratings, train and recluster remake them). Exit 1 while anything
    fails."""
    store = _flow_store(args)
    checked, bad_rows = store.verify()
    bad_scopes = _refused(store.rating_scopes(), store.ratings)
    bad_artifacts = _refused(store.artifact_names(), store.get_artifact)
    failed = bool(bad_rows or bad_scopes or bad_artifacts)
    repaired = bool(args.repair and failed)
    if repaired:
        store.delete_solves(bad_rows)
        store.delete_rating_scopes([scope for scope, _ in bad_scopes])
        for name, _ in bad_artifacts:
            store.delete_artifact(name)
    record = {"store": str(store.path), "rows_checked": checked, "rows_failing": list(bad_rows),
              "ratings_refused": [why for _, why in bad_scopes], "artifacts_refused": [why for _, why in bad_artifacts],
              "repaired": repaired}
    common.emit(args.json, record,
                f"{store.path}: {checked} history rows checked, {len(bad_rows)} fail their checks; "
                f"{len(bad_scopes)} rating scopes and {len(bad_artifacts)} artifacts refused",
                *(f"  history row {row} fails its checks (checksum or kinds)" for row in bad_rows),
                *(f"  {why}" for _, why in bad_scopes + bad_artifacts),
                *([f"deleted {len(bad_rows)} history rows, {len(bad_scopes)} rating scopes and {len(bad_artifacts)} "
                   f"artifacts; `mezan meta rebuild-ratings`, `train` and `recluster` rebuild what is derived"]
                  if repaired else []))
    return 1 if failed and not repaired else 0


def cmd_reset(args: argparse.Namespace) -> int:
    if not args.yes:
        raise InvalidParameterError("mezan meta reset forgets every recorded solve, rating and model: add --yes")
    flow = _flow(args)
    flow.store.reset()
    common.emit(args.json, {"reset": str(flow.store.path)}, f"reset {flow.store.path}")
    return 0


def _scenario_folders(path: str) -> list[Path]:
    folder = Path(path)
    if (folder / "description.txt").exists():
        return [folder]
    found = sorted(p for p in folder.iterdir() if (p / "description.txt").exists()) if folder.is_dir() else []
    if not found:
        raise InvalidParameterError(f"{path}: neither an ASlib scenario folder nor a folder of them")
    return found


def selections_record(scenario, evaluation) -> dict[str, Any]:
    """The out-of-fold decision of every instance, in the form ``--selections`` writes and
    :func:`mezan.meta.aslib.rescore` reads."""
    chosen = {}
    for i, inst in enumerate(scenario.instances):
        entry: dict[str, Any] = {"algorithm": scenario.algorithms[evaluation.algorithm[i]]}
        if scenario.runtime:
            presolve = [[scenario.algorithms[a], seconds] for a, seconds in evaluation.plans[i].presolve]
            entry = {"presolve": presolve, "feature_steps": evaluation.steps_of(scenario, i), **entry}
            if evaluation.schedules and evaluation.schedules[i]:  # SUNNY: these slots run in place of algorithm
                entry["schedule"] = [[scenario.algorithms[a], seconds] for a, seconds in evaluation.schedules[i]]
        chosen[inst] = entry
    return {"scenario": scenario.name, "selections": chosen}


NO_FEATURES = (  # the "note" of a row, when it applies
    "no feature to select by (feature_values.arff has none, or the feature steps computed provide none): "
    "a fold without any ran its training folds' single best algorithm (approach sunny: one schedule from "
    "every training instance)")


def _evaluation_options(args: argparse.Namespace, config: Any) -> dict[str, Any]:
    """What ``evaluate`` is run with: the ``--config`` file's configuration, or the command's own options (with
    ``--configure``, each fold's search decides them, starting from the file's configuration or the default)."""
    if config is not None and getattr(args, "configure", None) is None:
        return config.evaluate_options()
    if args.approach not in EVALUATED:
        raise InvalidParameterError(f"--approach must be one of {', '.join(EVALUATED)}; got {args.approach!r}")
    if getattr(args, "feature_steps", "auto") not in FEATURE_STEPS:
        raise InvalidParameterError(f"--feature-steps must be one of {', '.join(FEATURE_STEPS)}; got "
                                    f"{args.feature_steps!r}")
    return {"approach": args.approach, "schedules": getattr(args, "schedules", True),
            "feature_steps": getattr(args, "feature_steps", "auto"),
            "select_features": getattr(args, "select_features", False)}


def _evaluate_one(scenario: Any, options: dict[str, Any], start: Any, budget: float | None, seed: int, workers: int,
                  executor: Any, advance: Any) -> tuple[Any, list[dict[str, Any]] | None]:
    """(the evaluation, per fold the configuration found: only with a ``budget``, nested from ``start``) of one
    scenario."""
    if budget is None:
        return evaluate(scenario, seed=seed, workers=workers, executor=executor, progress=advance, **options), None
    from mezan.meta.configure import evaluate_configured  # optional: the configure extra (Optuna), and start-up time

    nested = evaluate_configured(scenario, budget=budget, seed=seed, workers=workers, executor=executor, start=start,
                                 progress=advance)
    return nested.evaluation, [found.to_dict() for found in nested.folds]


def _configuration(path: str | None) -> Any:
    """The configuration in a ``--config`` file (None without one)."""
    if not path:
        return None
    from mezan.meta.configure import read_config  # optional: the configure extra (Optuna), and start-up time

    return read_config(path)


def _cluster(args: argparse.Namespace) -> Any:
    """The Dask executor of ``--scheduler`` (or $MEZAN_SCHEDULER) or ``--local-cluster``; None: local processes."""
    scheduler = getattr(args, "scheduler", None) or os.environ.get("MEZAN_SCHEDULER")
    if scheduler or getattr(args, "local_cluster", None):
        return make_executor(scheduler, local_cluster=getattr(args, "local_cluster", None), quiet=True)
    return None


def cmd_aslib_evaluate(args: argparse.Namespace) -> int:
    """Out-of-fold decisions on the scenario's cv.arff folds, scored by ASlib's conventions (mezan.meta.aslib)."""
    budget = getattr(args, "configure", None)
    if budget is not None and not (isinstance(budget, (int, float)) and math.isfinite(budget) and budget > 0):
        raise InvalidParameterError(f"--configure must be a positive number of seconds; got {budget!r}")
    config = _configuration(getattr(args, "config", None))
    options = _evaluation_options(args, config)
    seed = check_seed(args.seed, name="--seed")
    workers = getattr(args, "workers", None) or os.cpu_count() or 1
    force = getattr(args, "force", False)
    if args.selections:  # refused now, not after the whole evaluation
        check_output(args.selections, option="--selections", force=force, store=getattr(args, "store", None))
    rows, selections = [], []
    executor = _cluster(args)
    try:
        with Progress(transient=True, disable=args.json) as bar:
            for folder in _scenario_folders(args.dir):
                scenario = read_scenario(folder)
                task = bar.add_task(scenario.name, total=len(set(scenario.folds.tolist())))
                started = time.perf_counter()
                evaluation, configured = _evaluate_one(scenario, options, config, budget, seed, workers, executor,
                                                       lambda _, task=task: bar.advance(task))
                s = score_costs(scenario, evaluation.costs)
                presolved = int(evaluation.presolved(scenario).sum())  # solved by a pre-solving slot
                rows.append({"scenario": scenario.name, "approach": options["approach"],
                             "used": sorted(set(evaluation.used)), "selector": s.selector, "sbs": s.sbs,
                             "sbs_algorithm": s.sbs_algorithm, "vbs": s.vbs, "m_hat": _defined(s.m_hat),
                             "gap_closed": _defined(s.gap_closed), "presolved_instances": presolved,
                             "seconds": round(time.perf_counter() - started, 3)})
                if configured is not None:
                    rows[-1]["approach"] = "configured"
                    rows[-1]["configured_folds"] = configured
                if evaluation.featureless:
                    rows[-1]["note"] = NO_FEATURES
                selections.append(selections_record(scenario, evaluation))
    finally:
        if executor is not None:
            executor.close()
    if args.selections:
        write_atomic(args.selections, json.dumps(selections[0] if len(selections) == 1 else selections, indent=1),
                     option="--selections", force=force, store=getattr(args, "store", None))
    if args.json:
        print(json.dumps(rows[0] if len(rows) == 1 else rows, indent=1))
        return 0
    for r in rows:
        print(f"{r['scenario']}: selector {r['selector']:.4g} (approach {r['approach']}: {', '.join(r['used'])}), "
              f"SBS {r['sbs']:.4g} ({r['sbs_algorithm']}), VBS {r['vbs']:.4g}; "
              + (f"m_hat {r['m_hat']:.3f}, gap closed {r['gap_closed']:.3f}" if r["m_hat"] is not None
                 else "m_hat undefined: the single best is the virtual best (no gap to close)")
              + (f" ({r['note']})" if "note" in r else "") + f"; {r['seconds']:.1f} s")
    return 0


def cmd_aslib_configure(args: argparse.Namespace) -> int:
    """Configure the selection pipeline on one scenario (all its instances, by inner cross-validation) and write the
    configuration that ``evaluate --config`` reads; the trials are kept beside ``--out`` (``FILE.trials``), so the
    same command again resumes the search."""
    folders = _scenario_folders(args.dir)
    if len(folders) != 1:
        raise InvalidParameterError(f"{args.dir}: configure takes one scenario folder; this folder holds "
                                    f"{len(folders)}")
    from mezan.meta.configure import DEFAULT, configure  # optional: the configure extra (Optuna), and start-up time

    seed = check_seed(args.seed, name="--seed")
    if not (isinstance(args.budget, (int, float)) and math.isfinite(args.budget) and args.budget > 0):
        raise InvalidParameterError(f"--budget must be a positive number of seconds; got {args.budget!r}")
    force = getattr(args, "force", False)
    trials = Path(f"{args.out}.trials") if args.out else None
    if trials is not None and trials.exists() and not trials.is_file():
        raise InvalidParameterError(f"--out: {trials} (where the trials are kept) exists and is not a file")
    if args.out:  # an existing --out is overwritten without --force when its trials are resumed
        check_output(args.out, option="--out", force=force or (trials is not None and trials.is_file()))
    start = _configuration(getattr(args, "config", None)) or DEFAULT
    scenario = read_scenario(folders[0])
    executor = _cluster(args)
    try:
        with Progress(transient=True, disable=args.json) as bar:
            task = bar.add_task(f"{scenario.name}: configuring", total=args.budget)
            found = configure(scenario, budget=args.budget, seed=seed, executor=executor,
                              workers=getattr(args, "workers", None) or os.cpu_count() or 1,
                              storage=trials, start=start,
                              progress=lambda trials, seconds, best: bar.update(
                                  task, completed=min(seconds, args.budget),
                                  description=f"{scenario.name}: {trials} trials, best inner cost {best:.4g}"))
    finally:
        if executor is not None:
            executor.close()
    record = {"scenario": scenario.name, "seed": seed, "budget": args.budget, **found.to_dict()}
    if args.out:
        write_atomic(args.out, json.dumps(record, indent=1) + "\n", option="--out", force=True)
    if args.json:
        print(json.dumps(record, indent=1))
        return 0
    default = record["default_inner_cost"]
    print(f"{scenario.name}: {found.trials} trials in {found.seconds:.1f} s (ended by {found.ended})"
          + (f"; inner cost {found.inner_cost:.4g}" if found.inner_cost is not None else "; no trial scored")
          + (f" against the start's {default:.4g}" if default is not None else "")
          + (f"; written to {args.out}" if args.out else ""))
    print("  " + ", ".join(f"{k}={v}" for k, v in found.config.to_dict().items()))
    return 0


def _defined(value: float) -> float | None:
    """A score for JSON: None (null) where it is undefined (NaN: SBS = VBS), which JSON cannot hold."""
    return float(value) if np.isfinite(value) else None


def cmd_aslib_export(args: argparse.Namespace) -> int:

    force = getattr(args, "force", False)
    seed = check_seed(args.seed, name="--seed")
    check_output_folder(args.dir, option="DIRECTORY", force=force, store=args.store)  # before the store is opened
    flow = _flow(args)
    folder = export_history(flow.store, args.dir, problem_type=args.problem_type, seed=seed, force=force,
                            option="DIRECTORY")
    scenario = read_scenario(folder)  # what ASlib's readers see
    costs = scenario.costs()
    s = score(scenario, np.argmin(costs, axis=1))
    record = {"folder": str(folder), "instances": len(scenario.instances), "solvers": len(scenario.algorithms),
              "performance_type": scenario.performance_type, "sbs": float(s.sbs), "sbs_algorithm": s.sbs_algorithm,
              "vbs": float(s.vbs)}
    common.emit(args.json, record,
                f"{folder}: {len(scenario.instances)} instances x {len(scenario.algorithms)} solvers "
                f"({scenario.performance_type}, relative gap); SBS {s.sbs:.4g} ({s.sbs_algorithm}), VBS {s.vbs:.4g}")
    return 0


STORE = common.store_option()
JSON = common.json_option()
TYPE = typer.Option("qap", "--type", help="problem type (default qap)")
WORKERS = typer.Option(1, "--workers", min=1, help="local threads running solves at once")
SCHEDULER = typer.Option(None, "--scheduler", help="a Dask scheduler address (default: $MEZAN_SCHEDULER)")
LOCAL_CLUSTER = typer.Option(None, "--local-cluster", min=1, help="start a Dask cluster of N worker processes here")
SOLVERS = typer.Option(None, "--solvers", help="registered solver names, comma-separated or repeated "
                                               "(default: MetaFlow's candidates)")


def _names(values: list[str] | None) -> list[str] | None:
    """``--solvers`` as a list of names (comma-separated or repeated), None when not given."""
    return [s for v in values or [] for s in v.split(",") if s] or None


def add_race_commands(meta: typer.Typer) -> None:
    """``meta race`` and ``meta tournament``: solves that update the ratings."""

    @meta.command("race")
    def race(files: list[str] = typer.Argument(..., help="QAPLIB .dat files or folders"),
             solvers: list[str] = SOLVERS, time: float = common.time_option(),
             seed: int = common.seed_option(), json_: bool = JSON,
             store: str = STORE, workers: int = WORKERS, scheduler: str = SCHEDULER,
             local_cluster: int = LOCAL_CLUSTER):
        """Race solvers on each instance (all pairwise games update the Elo ratings)."""
        return cmd_race(argparse.Namespace(files=files, solvers=_names(solvers), time=time, seed=seed, json=json_,
                                           store=store, workers=workers, scheduler=scheduler,
                                           local_cluster=local_cluster))

    @meta.command("tournament")
    def tournament(folder: str = typer.Argument(..., help="a folder of QAPLIB .dat files"),
                   rounds: int = typer.Option(3, "--rounds", min=1, help="rounds of the Swiss system"),
                   max_n: int = typer.Option(None, "--max-n", help="only instances with n <= this"),
                   solvers: list[str] = SOLVERS, time: float = common.time_option(),
                   seed: int = common.seed_option(), json_: bool = JSON,
                   store: str = STORE, workers: int = WORKERS, scheduler: str = SCHEDULER,
                   local_cluster: int = LOCAL_CLUSTER):
        """Swiss-system tournament on a folder of instances; prints the standings."""
        return cmd_tournament(argparse.Namespace(folder=folder, rounds=rounds, max_n=max_n,
                                                 solvers=_names(solvers), time=time, seed=seed, json=json_,
                                                 store=store, workers=workers, scheduler=scheduler,
                                                 local_cluster=local_cluster))


def add_store_commands(meta: typer.Typer) -> None:
    """``meta status``, ``train``, ``verify``, ``recluster``, ``rebuild-ratings`` and ``reset``: the store."""

    @meta.command("status")
    def status(json_: bool = JSON, store: str = STORE):
        """Ratings (global and per cluster) and history counts."""
        return cmd_status(argparse.Namespace(json=json_, store=store))

    @meta.command("train")
    def train(problem_type: str = TYPE, json_: bool = JSON, store: str = STORE):
        """Fit the clustering and the per-instance selector of one problem type on its history."""
        return cmd_train(argparse.Namespace(problem_type=problem_type, json=json_, store=store))

    @meta.command("verify")
    def verify(repair: bool = typer.Option(False, "--repair", help="delete the rows and artifacts that fail"),
               store: str = STORE, json_: bool = JSON):
        """Check every history row's checksum, every rating and every artifact's signature; exit 1 while any fails."""
        return cmd_verify(argparse.Namespace(repair=repair, store=store, json=json_))

    @meta.command("recluster")
    def recluster(problem_type: str = TYPE, store: str = STORE, json_: bool = JSON):
        """Refit the instance clustering of one problem type, then rebuild its ratings."""
        return cmd_recluster(argparse.Namespace(problem_type=problem_type, store=store, json=json_))

    @meta.command("rebuild-ratings")
    def rebuild_ratings(problem_type: str = TYPE, store: str = STORE, json_: bool = JSON):
        """Replay the history of one problem type into fresh Elo ratings (solvers and instances)."""
        return cmd_rebuild_ratings(argparse.Namespace(problem_type=problem_type, store=store, json=json_))

    @meta.command("reset")
    def reset(yes: bool = typer.Option(False, "--yes", help="confirm"), store: str = STORE, json_: bool = JSON):
        """Forget the history, ratings and models."""
        return cmd_reset(argparse.Namespace(yes=yes, store=store, json=json_))


def aslib_app() -> typer.Typer:
    """``meta aslib export`` and ``meta aslib evaluate``: ASlib scenarios."""
    aslib = common.new_app(help="ASlib scenarios: evaluate MetaFlow's selectors by the scenario's own folds")

    @aslib.command("export")
    def export(directory: str = typer.Argument(..., help="the scenario folder to write (new or empty)"),
               problem_type: str = TYPE, seed: int = common.seed_option(help="seeds the cv.arff folds"),
               force: bool = typer.Option(False, "--force", help="write into a folder that is not empty (the "
                                                                 "scenario's files are replaced)"),
               store: str = STORE, json_: bool = JSON):
        """Write the stored history of one problem type as an ASlib scenario (solution quality: relative gap)."""
        return cmd_aslib_export(argparse.Namespace(dir=directory, problem_type=problem_type, seed=seed, store=store,
                                                   force=force, json=json_))

    @aslib.command("evaluate")
    def evaluate(directory: str = typer.Argument(..., help="an ASlib scenario folder, or a folder of them"),
                 approach: str = typer.Option("auto", "--approach",
                                              help=f"{', '.join(EVALUATED)} (sunny: a schedule per instance)"),
                 seed: int = common.seed_option(help="seeds the selectors' randomness"), json_: bool = JSON,
                 selections: str = typer.Option(None, "--selections", help="write the out-of-fold decisions here"),
                 force: bool = typer.Option(False, "--force", help="overwrite an existing --selections file"),
                 schedules: bool = typer.Option(True, "--schedules/--no-schedules",
                                                help="choose a pre-solving schedule and the feature steps per fold "
                                                     "(runtime scenarios)"),
                 feature_steps: str = typer.Option("auto", "--feature-steps",
                                                   help="with schedules: the feature steps computed — auto (chosen "
                                                        "per fold on its training folds), default or all"),
                 select_features: bool = typer.Option(False, "--select-features",
                                                      help="keep the features of at least mean importance in a forest "
                                                           "of each fit's training rows"),
                 workers: int = typer.Option(None, "--workers", min=1,
                                             help="processes running the folds (default: the CPU count; same result)"),
                 configure_budget: float = typer.Option(None, "--configure", min=0.001,
                                                        help="configure the pipeline inside every outer fold, on its "
                                                             "training folds only, within this many seconds per "
                                                             "scenario (nested: the m_hat reported is out of sample); "
                                                             "the search then decides --approach, --schedules, "
                                                             "--feature-steps and --select-features"),
                 config: str = typer.Option(None, "--config",
                                            help="a configuration file (meta aslib configure --out): its choices "
                                                 "replace --approach, --schedules, --feature-steps and "
                                                 "--select-features; with --configure, where each fold's search "
                                                 "starts"),
                 scheduler: str = SCHEDULER, local_cluster: int = LOCAL_CLUSTER):
        """Cross-validate a selector on the scenario's cv.arff folds: mean cost, SBS, VBS, m_hat, gap closed."""
        return cmd_aslib_evaluate(argparse.Namespace(dir=directory, approach=approach, seed=seed, json=json_,
                                                     select_features=select_features,
                                                     selections=selections, force=force, schedules=schedules,
                                                     workers=workers, configure=configure_budget, config=config,
                                                     feature_steps=feature_steps, scheduler=scheduler,
                                                     local_cluster=local_cluster))

    @aslib.command("configure")
    def configure_command(directory: str = typer.Argument(..., help="an ASlib scenario folder"),
                          budget: float = typer.Option(..., "--budget", min=0.001,
                                                       help="seconds for the search (wall clock)"),
                          out: str = typer.Option(None, "--out",
                                                  help="write the configuration here (JSON; evaluate --config reads "
                                                       "it); the trials are kept in FILE.trials, and the same command "
                                                       "again resumes from them"),
                          force: bool = typer.Option(False, "--force", help="overwrite an existing --out file"),
                          config: str = typer.Option(None, "--config",
                                                     help="start the search from this configuration file (default: "
                                                          "MetaFlow's default pipeline)"),
                          seed: int = common.seed_option(help="seeds the search, the inner folds and the selectors"),
                          workers: int = typer.Option(None, "--workers", min=1,
                                                      help="processes running the trials (default: the CPU count)"),
                          scheduler: str = SCHEDULER, local_cluster: int = LOCAL_CLUSTER, json_: bool = JSON):
        """Configure the whole selection pipeline for one scenario (Optuna over inner cross-validation)."""
        return cmd_aslib_configure(argparse.Namespace(dir=directory, budget=budget, out=out, force=force, config=config,
                                                      seed=seed,
                                                      workers=workers, scheduler=scheduler,
                                                      local_cluster=local_cluster, json=json_))

    return aslib


def register(app: typer.Typer) -> None:
    """Add ``mezan meta ...`` (the ``cmd_*`` functions above do the work)."""
    meta = common.new_app(help=common.about("meta"))
    add_store_commands(meta)
    add_race_commands(meta)
    meta.add_typer(aslib_app(), name="aslib")
    app.add_typer(meta, name="meta")
