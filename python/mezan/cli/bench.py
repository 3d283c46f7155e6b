"""``mezan bench run|list|register|reproduce|export|analyze|ab|report``: OptiBench from the command line.

Every command names what is wrong in one line (exit 2) and stores nothing on bad input; ``--json`` prints one
JSON object. Experiments run on the executor layer: one local thread by default (cells one at a time, so wall times
and memory compare), ``--workers N`` threads, ``--scheduler ADDRESS`` (or ``$MEZAN_SCHEDULER``) a Dask cluster.
"""

from __future__ import annotations

import argparse
import json
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from mezan.bench.ab import ab_test
from mezan.bench.analysis import analyze, load
from mezan.bench.experiments import Plan, export, reproduce, run_experiment
from mezan.bench.instances import parse
from mezan.bench.registry import Registry
from mezan.bench.report import check_report_paths, write_report
from mezan.cli import common
from mezan.cli.common import gap, number, pct
from mezan.dist import SweepLog, make_executor, run_cells
from mezan.errors import InvalidParameterError
from mezan.outputs import check_output, write_atomic
from mezan.problems import to_wire
from mezan.qap import MODES, instances, read_qaplib
from mezan.registry import solve_wire
from mezan.results import to_plain
from mezan.store import Store


def _registry(store: str | None) -> Registry:

    return Registry(Store(store) if store else None)


def jsonable(value: Any) -> Any:
    """Plain JSON (:func:`mezan.results.to_plain`): non-finite floats as null / "inf" / "-inf"."""
    return to_plain(value, nonfinite="text")


def _print_json(value: Any) -> None:
    print(json.dumps(jsonable(value)))


def _split(values: list[str] | None) -> list[str]:
    return [s for v in values or [] for s in v.split(",") if s]


def cmd_run(instances: list[str], solvers: list[str], *, seeds: int, seed: int, time: float, max_iter: int | None,
            name: str | None, workers: int, scheduler: str | None, local_cluster: int | None, store: str | None,
            json_: bool) -> int:


    plan = Plan(instances, _split(solvers), seeds=seeds, seed=seed, time_limit=time, max_iter=max_iter)
    registry = _registry(store)
    console = Console(stderr=True)
    executor = make_executor(scheduler, workers=workers, local_cluster=local_cluster, quiet=True)
    state: dict[str, Any] = {}
    try:
        with Progress(console=console, transient=True, disable=json_) as progress:
            def start(experiment, total, recorded):
                state.update(experiment=experiment, total=total, recorded=recorded)
                state["bar"] = progress.add_task(f"{experiment.name}: {len(plan.instances)} instances x "
                                                 f"{len(plan.solvers)} solvers x {seeds} seeds, {time:g} s each",
                                                 total=total, completed=recorded)

            experiment = run_experiment(plan, registry=registry, name=name, executor=executor, start=start,
                                        advance=lambda cell: progress.advance(state["bar"]))
    finally:
        executor.close()
    runs = registry.runs(experiment.id)
    summary = {"experiment": experiment.id, "name": experiment.name, "cells": state["total"],
               "resumed_with": state["recorded"], "ran": len(runs) - state["recorded"], "runs": len(runs)}
    if json_:
        _print_json(summary)
    else:
        resumed = f" ({state['recorded']} were recorded before: resumed)" if state["recorded"] else ""
        console.print(f"experiment {experiment.name} ({experiment.id}): {len(runs)} of {state['total']} cells "
                      f"recorded{resumed}")
        print(experiment.id)
    return 0


def cmd_list(store: str | None, json_: bool) -> int:
    registry = _registry(store)
    rows = [{"experiment": e.id, "name": e.name, "created": e.created, "runs": len(registry.cells(e.id)),
             **e.design} for e in registry.experiments()]
    if json_:
        _print_json(rows)
        return 0
    for r in rows:
        print(f"{r['experiment']}\t{r['name']}\t{r['runs']} runs\t{','.join(r['solvers'])}\t{' '.join(r['instances'])}")
    return 0


def cmd_register(specs: list[str], replace: bool, store: str | None, json_: bool) -> int:

    registry = _registry(store)
    found = [i for spec in specs for i in parse(spec)]
    rows = [{"problem_id": registry.register_file(i, replace=replace), "name": i.name, "source": i.source,
             "size": i.size, "path": i.path, "file_sha256": i.file_sha256} for i in found]
    if json_:
        _print_json(rows)
    else:
        for r in rows:
            print(f"{r['problem_id'][:16]}\t{r['name']}\t{r['source']}\tn={r['size']}\t{r['path'] or ''}")
    return 0


def cmd_reproduce(ref: str, tolerance: float, workers: int, scheduler: str | None, store: str | None,
                  json_: bool) -> int:

    executor = make_executor(scheduler, workers=workers, quiet=True)
    try:
        report = reproduce(ref, registry=_registry(store), tolerance=tolerance, executor=executor)
    finally:
        executor.close()
    if json_:
        _print_json(report)
        return 0 if report["reproduced"] else 1
    print(f"{report['name']}: {report['runs']} runs re-run ({report['deterministic']} deterministic, "
          f"{report['time_limited']} time-limited: their objectives are not compared)")
    for entry in report["seed_drift"]:
        print(f"  seed drift: run {entry['run']} ({entry['instance']}, {entry['solver']}) was seed {entry['seed']}, "
              f"the experiment now gives it seed {entry['seed_now']}")
    for entry in report["correctness_drift"]:
        print(f"  correctness drift: run {entry['run']} ({entry['instance']}, {entry['solver']}, seed "
              f"{entry['seed']}): objective {entry['objective']} then, {entry['objective_now']} now")
    for entry in report["performance_drift"]:
        print(f"  performance drift: run {entry['run']} ({entry['instance']}, {entry['solver']}): "
              f"{entry['wall_time']:.3f} s then, {entry['wall_time_now']:.3f} s now ({entry['ratio']:.2f}x, "
              f"tolerance {1 + tolerance:.2f}x)")
    for key, change in report["environment"].items():
        print(f"  environment: {key}: {change['recorded']} -> {change['now']}")
    print("reproduced: no drift" if report["reproduced"] else "DRIFT: see above")
    return 0 if report["reproduced"] else 1


def cmd_export(ref: str, fmt: str, out: str, store: str | None, force: bool = False, json_: bool = False) -> int:
    path = export(ref, out, fmt=fmt, registry=_registry(store), force=force)
    common.emit(json_, {"written": [str(path)]}, str(path))
    return 0


def _analysis(ref: str, store: str | None, alpha: float, target_gap: float) -> tuple[Registry, dict[str, Any]]:

    registry = _registry(store)
    return registry, analyze(load(registry, ref, target_gap=target_gap), alpha=alpha)


def cmd_analyze(ref: str, alpha: float, target_gap: float, store: str | None, json_: bool) -> int:

    _, result = _analysis(ref, store, alpha, target_gap)
    if json_:
        _print_json(result)
        return 0
    table = Table(title=f"{result['name']}: {result['runs']} runs on {result['instances']} instances")
    for column in ("solver", "mean gap", "95% CI", "median gap", "reached target", "avg rank"):
        table.add_column(column, justify="left" if column == "solver" else "right")
    ranks = dict(zip(result["solvers"], result["friedman"].get("average_ranks") or [], strict=False))
    for s, v in result["solvers"].items():
        low, high = v["mean_gap_ci"]
        table.add_row(s, f"{100 * (v['mean_gap'] or 0):.3f}%", f"[{100 * low:.3f}%, {100 * high:.3f}%]",
                      f"{100 * (v['median_gap'] or 0):.3f}%", f"{100 * v['success_rate']:.0f}%",
                      f"{ranks[s]:.2f}" if s in ranks else "-")
    console = Console()
    console.print(table)
    console.print(f"Friedman: {result['friedman']['verdict']}")
    for p in result["pairwise"]:
        console.print(f"{p['a']} vs {p['b']}: {p['verdict']}")
    return 0


def cmd_report(ref: str, out: str, latex: str | None, alpha: float, target_gap: float, store: str | None,
               force: bool = False, json_: bool = False) -> int:

    check_report_paths(out, latex, force=force, store=store)  # before the analysis: refused at once
    registry, result = _analysis(ref, store, alpha, target_gap)
    environments = {env_id: registry.environment(env_id) for env_id in result["environments"]}
    paths = [str(path) for path in write_report(result, environments, out, latex=latex, force=force, store=store)]
    common.emit(json_, {"written": paths}, *paths)
    return 0


def cmd_ab(a: str, b: str, instances: list[str], *, alpha: float, power: float, effect: float,
           max_trials: int | None, round_size: int, time: float, seed: int, workers: int, scheduler: str | None,
           json_: bool) -> int:


    console = Console(stderr=True)
    executor = make_executor(scheduler, workers=workers, quiet=True)

    def on_look(look):
        if not json_:
            low, high = look["continue_between"]
            console.print(f"after {look['trials']} trials: z = {look['z']:+.2f} (continue while {low:.2f} <= |z| < "
                          f"{high:.2f}): {look['verdict']}")

    try:
        result = ab_test(a, b, instances, alpha=alpha, power=power, effect=effect, max_trials=max_trials,
                         round_size=round_size, time_limit=time, seed=seed, executor=executor, on_look=on_look)
    finally:
        executor.close()
    if json_:
        _print_json(result)
        return 0
    low, high = result["difference_interval"]
    print(result["summary"])
    print(f"mean relative difference (A - B) {result['mean_difference']:+.4%}, repeated {100 * (1 - alpha):.0f}% "
          f"interval [{low:+.4%}, {high:+.4%}]; standardised effect {result['standardized_effect']:+.2f}; A12 "
          f"{result['a12']:.2f} ({result['a12_magnitude']}); trials saved vs the fixed design: "
          f"{result['trials_saved']}")
    return 0


def bench_app():
    """The ``mezan bench`` typer group (the CLI adds its ``sweep`` command)."""

    app = common.new_app(help=common.about("bench"))
    store_option = common.store_option()
    json_option = common.json_option()
    workers_option = typer.Option(1, "--workers", min=1, help="local threads running cells at once")
    instances_option = typer.Option(..., "--instances", help="FOLDER, qaplib:NAMES or generated:KIND:N[:SEEDS] "
                                                             "(repeat for several)")
    scheduler_option = typer.Option(None, "--scheduler", help="a Dask scheduler address (default: $MEZAN_SCHEDULER)")
    alpha_option = typer.Option(0.05, "--alpha", help="significance level")
    target_option = typer.Option(0.0, "--target-gap", help="a run reaches the target at this gap (0: the reference)")
    force_option = typer.Option(False, "--force", help="overwrite existing output files (aslib: write into a "
                                                       "non-empty folder); never the store")

    @app.command("run")
    def run(instances: list[str] = instances_option,
            solvers: list[str] = typer.Option(..., "--solvers", help="solvers, comma-separated: registered names or "
                                                                     "QAPFlow modes / QAP methods, NAME[:key=value]"),
            seeds: int = typer.Option(1, "--seeds", help="seeds per instance and solver"),
            seed: int = common.seed_option(help="the first seed (replicate k runs with seed + k)"),
            time: float = common.time_option(),
            max_iter: int = typer.Option(None, "--max-iter", help="an iteration cap per run (deterministic runs)"),
            name: str = typer.Option(None, "--name", help="the experiment's name (default: from its design)"),
            workers: int = workers_option, scheduler: str = scheduler_option,
            local_cluster: int = typer.Option(None, "--local-cluster", min=1, help="a Dask cluster of N processes"),
            store: str = store_option, json_: bool = json_option):
        """Run instances x solvers x seeds into the registry (resumable: run the same command again)."""
        return cmd_run(instances, solvers, seeds=seeds, seed=seed, time=time, max_iter=max_iter, name=name,
                       workers=workers, scheduler=scheduler, local_cluster=local_cluster, store=store, json_=json_)

    @app.command("list")
    def list_(store: str = store_option, json_: bool = json_option):
        """The experiments in the registry."""
        return cmd_list(store, json_)

    @app.command("register")
    def register(specs: list[str] = typer.Argument(..., help="instance specs (FOLDER, file, qaplib:, generated:)"),
                 replace: bool = typer.Option(False, "--replace", help="accept a file whose bytes changed"),
                 store: str = store_option, json_: bool = json_option):
        """Register instances (and their files' sha256) in the registry."""
        return cmd_register(specs, replace, store, json_)

    @app.command("reproduce")
    def reproduce(ref: str = typer.Argument(..., help="a run id or an experiment id / name"),
                  tolerance: float = typer.Option(0.25, "--tolerance", help="allowed slow-down of a capped run"),
                  workers: int = workers_option, scheduler: str = scheduler_option,
                  store: str = store_option, json_: bool = json_option):
        """Re-run recorded runs and report drift (exit 1 when there is drift)."""
        return cmd_reproduce(ref, tolerance, workers, scheduler, store, json_)

    @app.command("export")
    def export(ref: str = typer.Argument(..., help="an experiment id or name"),
               fmt: str = typer.Option("csv", "--format", help="csv, parquet or aslib"),
               out: str = typer.Option(..., "--out", help="the file (csv, parquet) or folder (aslib) to write"),
               force: bool = force_option, store: str = store_option, json_: bool = json_option):
        """Write an experiment's runs as CSV, Parquet or an ASlib scenario."""
        return cmd_export(ref, fmt, out, store, force, json_)

    @app.command("analyze")
    def analyze(ref: str = typer.Argument(..., help="an experiment id or name"), alpha: float = alpha_option,
                target_gap: float = target_option, store: str = store_option, json_: bool = json_option):
        """Statistics: gaps with bootstrap intervals, Friedman/Nemenyi, Wilcoxon-Holm, A12, profiles."""
        return cmd_analyze(ref, alpha, target_gap, store, json_)

    @app.command("report")
    def report(ref: str = typer.Argument(..., help="an experiment id or name"),
               out: str = typer.Option(..., "--out", help="the HTML file to write"),
               latex: str = typer.Option(None, "--latex", help="also write the main table as LaTeX to this file"),
               alpha: float = alpha_option, target_gap: float = target_option, force: bool = force_option,
               store: str = store_option, json_: bool = json_option):
        """One self-contained HTML report (inline SVG): CD diagram, profiles, anytime curves, tests, environment."""
        return cmd_report(ref, out, latex, alpha, target_gap, store, force, json_)

    @app.command("ab")
    def ab(a: str = typer.Argument(..., help="solver A"), b: str = typer.Argument(..., help="solver B"),
           instances: list[str] = instances_option, alpha: float = alpha_option,
           power: float = typer.Option(0.95, "--power", help="power at --effect"),
           effect: float = typer.Option(0.5, "--effect", help="the standardised effect worth detecting (Cohen's d_z)"),
           max_trials: int = typer.Option(None, "--max-trials", help="at most this many trials (default: the "
                                                                     "design's maximum for the power)"),
           round_size: int = typer.Option(2, "--round", min=1, help="trials per round between looks"),
           time: float = common.time_option(), seed: int = common.seed_option(help="the first trial's seed"),
           workers: int = workers_option, scheduler: str = scheduler_option,
           json_: bool = json_option):
        """A sequential paired A/B test: stops as soon as a group-sequential test decides."""
        return cmd_ab(a, b, instances, alpha=alpha, power=power, effect=effect, max_trials=max_trials,
                      round_size=round_size, time=time, seed=seed, workers=workers, scheduler=scheduler, json_=json_)

    return app


__all__ = ["bench_app", "jsonable", "register"]


def cmd_bench(args: argparse.Namespace) -> int:
    """Every mode on every instance of a folder (default: the bundled QAPLIB set) for each seed: a table of gaps and
    times, and plots (PNG and SVG) of the gap per instance when --plot is given.

    The cells (instance × mode × seed) run on an executor (:mod:`mezan.dist`): one local thread by default (runs one
    at a time, so wall times compare), ``--workers N`` local threads, ``--scheduler ADDRESS`` / ``$MEZAN_SCHEDULER``
    a Dask cluster, ``--local-cluster N`` a Dask cluster of N processes started here. Each finished cell is logged
    in the store under the sweep's name; ``--name NAME`` makes the sweep resumable: run again with the same name,
    it runs only the cells not logged yet."""



    if args.plot:  # refused now, not after the sweep ran
        _plot_paths(args.plot, force=getattr(args, "force", False))
    modes = [m for v in args.modes or ["auto"] for m in v.split(",") if m]
    for m in modes:
        if m not in MODES:
            raise InvalidParameterError(f"--modes: unknown mode {m!r}; modes: {', '.join(MODES)}")
    if args.folder:
        files = sorted(Path(args.folder).glob("*.dat"))
        if not files:
            raise InvalidParameterError(f"{args.folder}: no QAPLIB .dat files there")
    else:
        files = [instances.instance_path(name) for name in instances.shipped()]
    problems = [p for p in (read_qaplib(f) for f in files) if args.max_n is None or p.n <= args.max_n]
    if not problems:
        raise InvalidParameterError(f"no instance with n <= {args.max_n}")
    seeds = list(range(args.seed, args.seed + args.seeds))
    cells, about = {}, {}
    for problem in problems:
        wire = to_wire(problem)
        for mode in modes:
            for seed in seeds:
                key = f"{problem.fingerprint()[:16]}|{mode}|{seed}|{args.time:g}"
                cells[key] = (solve_wire, (f"qapflow.{mode}", wire, args.time, seed))
                about[key] = (problem, mode, seed)
    name = args.name or f"bench-{uuid.uuid4().hex[:12]}"
    log = SweepLog(Store(), f"bench:{name}")
    done = log.done()

    def row(key, result):
        problem, mode, seed = about[key]
        return {"instance": problem.name, "n": problem.n, "mode": mode, "seed": seed, "method": result.method,
                "objective": float(result.objective), "best_known": problem.best_known,
                "gap_to_best_known": gap(float(result.objective), problem.best_known),
                "wall_time": result.wall_time, "status": str(result.status)}

    console = Console(stderr=True)
    executor = make_executor(args.scheduler, workers=args.workers, local_cluster=args.local_cluster, quiet=True)
    try:
        with Progress(console=console, transient=True, disable=args.json) as progress:
            bar = progress.add_task(f"{len(problems)} instances x {len(modes)} modes x {len(seeds)} seeds, "
                                    f"{args.time:g} s each on {executor.describe()['threads']} threads",
                                    total=len(cells), completed=sum(k in done for k in cells))
            run_cells(executor, cells, skip=done, record=lambda key, result: log.record(key, row(key, result)),
                      advance=lambda key, result: progress.advance(bar))
    finally:
        executor.close()
    logged = log.done()
    rows = [logged[k] for k in cells]
    if done:
        console.print(f"resumed sweep {name!r}: {sum(k in done for k in cells)} of {len(cells)} cells were logged")
    plots = _bench_plots(rows, modes, args.plot, force=getattr(args, "force", False)) if args.plot else []
    if args.json:
        print(json.dumps({"rows": rows, "plots": plots}))
        return 0
    table = Table(title=f"mezan bench: {len(problems)} instances, {args.time:g} s per run")
    for column in ("instance", "n", "mode", "seed", "method", "objective", "best known", "gap", "time (s)"):
        table.add_column(column, justify="left" if column in ("instance", "mode", "method") else "right")
    for r in rows:
        table.add_row(r["instance"], str(r["n"]), r["mode"], str(r["seed"]), r["method"], number(r["objective"]),
                      "-" if r["best_known"] is None else number(r["best_known"]), pct(r["gap_to_best_known"]),
                      f"{r['wall_time']:.2f}")
    Console().print(table)
    for path in plots:
        print(f"plot: {path}")
    return 0


def _plot_paths(stem: str, *, force: bool) -> list[str]:
    """The chart's files, ``STEM.png`` and ``STEM.svg``, each checked by :func:`mezan.outputs.check_output`."""
    base = Path(stem).with_suffix("")
    paths = [str(base.with_suffix(".png")), str(base.with_suffix(".svg"))]
    for path in paths:
        check_output(path, option="--plot", force=force)
    return paths


def _bench_plots(rows: list[dict], modes: list[str], stem: str, *, force: bool = False) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise InvalidParameterError("--plot needs matplotlib (pip install 'mezan[plot]')") from None
    names = list(dict.fromkeys(r["instance"] for r in rows))
    fig, ax = plt.subplots(figsize=(max(6, 0.5 * len(names)), 4))
    width = 0.8 / len(modes)
    for k, mode in enumerate(modes):
        per_seed: dict[str, list[float]] = {}
        for r in rows:
            if r["mode"] == mode:
                per_seed.setdefault(r["instance"], []).append(100 * (r["gap_to_best_known"] or 0.0))
        gaps = {name: sum(v) / len(v) for name, v in per_seed.items()}  # the mean over seeds
        ax.bar([i + k * width for i in range(len(names))], [gaps.get(n, 0.0) for n in names], width, label=mode)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(names))], names, rotation=60, ha="right")
    ax.set_ylabel("gap to best known (%)")
    ax.legend()
    fig.tight_layout()
    paths = _plot_paths(stem, force=force)
    try:
        for path in paths:
            write_atomic(path, lambda target, kind=Path(path).suffix[1:]: fig.savefig(target, format=kind),
                         option="--plot", force=force)
    finally:
        plt.close(fig)
    return paths


def register(app: typer.Typer) -> None:
    """Add ``mezan bench``: OptiBench's commands and the QAPFlow sweep."""
    bench_group = bench_app()
    json_option = common.json_option()

    @bench_group.command("sweep")
    def bench(folder: str = typer.Argument(None, help="a folder of QAPLIB .dat files (default: the bundled set)"),
              modes: list[str] = typer.Option(None, "--modes", help="QAPFlow modes, comma-separated (default auto)"),
              time: float = common.time_option(),
              max_n: int = typer.Option(None, "--max-n", help="only instances with n <= this"),
              seed: int = common.seed_option(help="the first seed (replicate k runs with seed + k)"),
              seeds: int = typer.Option(1, "--seeds", min=1, help="seeds per instance and mode"),
              workers: int = typer.Option(1, "--workers", min=1, help="local threads running cells at once"),
              scheduler: str = typer.Option(None, "--scheduler",
                                            help="a Dask scheduler address (default: $MEZAN_SCHEDULER, else local)"),
              local_cluster: int = typer.Option(None, "--local-cluster", min=1,
                                                help="start a Dask cluster of N worker processes here"),
              name: str = typer.Option(None, "--name", help="the sweep's name: run again to resume it"),
              plot: str = typer.Option(None, "--plot", help="save the gap chart as PATH.png and PATH.svg"),
              force: bool = typer.Option(False, "--force", help="overwrite existing --plot files"),
              json_: bool = json_option):
        """QAPFlow modes over a folder of QAPLIB files: a quick table of gaps and times, plots on request."""
        return cmd_bench(argparse.Namespace(folder=folder, modes=modes, time=time, max_n=max_n, seed=seed, seeds=seeds,
                                            workers=workers, scheduler=scheduler, local_cluster=local_cluster,
                                            name=name, plot=plot, force=force, json=json_))

    app.add_typer(bench_group, name="bench")
