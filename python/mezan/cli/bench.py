"""``mezan bench run|list|register|reproduce|export|analyze|ab|report``: OptiBench from the command line.

Every command names what is wrong in one line (exit 2) and stores nothing on bad input; ``--json`` prints one
JSON object. Experiments run on the executor layer: one local thread by default (cells one at a time, so wall times
and memory compare), ``--workers N`` threads, ``--scheduler ADDRESS`` (or ``$MEZAN_SCHEDULER``) a Dask cluster.
"""

from __future__ import annotations

import json
import math
from typing import Any

from mezan.bench.registry import Registry


def _registry(store: str | None) -> Registry:
    from mezan.store import Store

    return Registry(Store(store) if store else None)


def jsonable(value: Any) -> Any:
    """Plain JSON: non-finite floats as null / "inf" / "-inf", numpy values as Python ones."""
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if hasattr(value, "tolist"):
        return value.tolist()
    return value


def _print_json(value: Any) -> None:
    print(json.dumps(jsonable(value)))


def _split(values: list[str] | None) -> list[str]:
    return [s for v in values or [] for s in v.split(",") if s]


def cmd_run(instances: list[str], solvers: list[str], *, seeds: int, seed: int, time: float, max_iter: int | None,
            name: str | None, workers: int, scheduler: str | None, local_cluster: int | None, store: str | None,
            json_: bool) -> int:
    from rich.console import Console
    from rich.progress import Progress

    from mezan.bench.experiments import Plan, run_experiment
    from mezan.dist import make_executor

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
    from mezan.bench.instances import parse

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
    from mezan.bench.experiments import reproduce
    from mezan.dist import make_executor

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


def cmd_export(ref: str, fmt: str, out: str, store: str | None, force: bool = False) -> int:
    from mezan.bench.experiments import export

    path = export(ref, out, fmt=fmt, registry=_registry(store), force=force)
    print(path)
    return 0


def _analysis(ref: str, store: str | None, alpha: float, target_gap: float) -> tuple[Registry, dict[str, Any]]:
    from mezan.bench.analysis import analyze, load

    registry = _registry(store)
    return registry, analyze(load(registry, ref, target_gap=target_gap), alpha=alpha)


def cmd_analyze(ref: str, alpha: float, target_gap: float, store: str | None, json_: bool) -> int:
    from rich.console import Console
    from rich.table import Table

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
               force: bool = False) -> int:
    from mezan.bench.report import check_report_paths, write_report

    check_report_paths(out, latex, force=force, store=store)  # before the analysis: refused at once
    registry, result = _analysis(ref, store, alpha, target_gap)
    environments = {env_id: registry.environment(env_id) for env_id in result["environments"]}
    for path in write_report(result, environments, out, latex=latex, force=force, store=store):
        print(path)
    return 0


def cmd_ab(a: str, b: str, instances: list[str], *, alpha: float, power: float, effect: float,
           max_trials: int | None, round_size: int, time: float, seed: int, workers: int, scheduler: str | None,
           json_: bool) -> int:
    from rich.console import Console

    from mezan.bench.ab import ab_test
    from mezan.dist import make_executor

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
    import typer

    app = typer.Typer(help="OptiBench: experiments into a registry, reproduction, statistics, A/B tests, reports",
                      no_args_is_help=True)
    store_option = typer.Option(None, "--store", help="store file (default $MEZAN_HOME/mezan.db)")
    json_option = typer.Option(False, "--json", help="print one JSON object")
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
            seed: int = typer.Option(0, "--seed", help="the first seed"),
            time: float = typer.Option(1.0, "--time", help="seconds per run"),
            max_iter: int = typer.Option(None, "--max-iter", help="an iteration cap per run (deterministic runs)"),
            name: str = typer.Option(None, "--name", help="the experiment's name (default: from its design)"),
            workers: int = typer.Option(1, "--workers", min=1, help="local threads running cells at once"),
            scheduler: str = scheduler_option,
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
                  workers: int = typer.Option(1, "--workers", min=1), scheduler: str = scheduler_option,
                  store: str = store_option, json_: bool = json_option):
        """Re-run recorded runs and report drift (exit 1 when there is drift)."""
        return cmd_reproduce(ref, tolerance, workers, scheduler, store, json_)

    @app.command("export")
    def export(ref: str = typer.Argument(..., help="an experiment id or name"),
               fmt: str = typer.Option("csv", "--format", help="csv, parquet or aslib"),
               out: str = typer.Option(..., "--out", help="the file (csv, parquet) or folder (aslib) to write"),
               force: bool = force_option, store: str = store_option):
        """Write an experiment's runs as CSV, Parquet or an ASlib scenario."""
        return cmd_export(ref, fmt, out, store, force)

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
               store: str = store_option):
        """One self-contained HTML report (inline SVG): CD diagram, profiles, anytime curves, tests, environment."""
        return cmd_report(ref, out, latex, alpha, target_gap, store, force)

    @app.command("ab")
    def ab(a: str = typer.Argument(..., help="solver A"), b: str = typer.Argument(..., help="solver B"),
           instances: list[str] = instances_option, alpha: float = alpha_option,
           power: float = typer.Option(0.95, "--power", help="power at --effect"),
           effect: float = typer.Option(0.5, "--effect", help="the standardised effect worth detecting (Cohen's d_z)"),
           max_trials: int = typer.Option(None, "--max-trials", help="at most this many trials (default: the "
                                                                     "design's maximum for the power)"),
           round_size: int = typer.Option(2, "--round", min=1, help="trials per round between looks"),
           time: float = typer.Option(1.0, "--time", help="seconds per run"), seed: int = typer.Option(0, "--seed"),
           workers: int = typer.Option(1, "--workers", min=1), scheduler: str = scheduler_option,
           json_: bool = json_option):
        """A sequential paired A/B test: stops as soon as a group-sequential test decides."""
        return cmd_ab(a, b, instances, alpha=alpha, power=power, effect=effect, max_trials=max_trials,
                      round_size=round_size, time=time, seed=seed, workers=workers, scheduler=scheduler, json_=json_)

    return app


__all__ = ["bench_app", "jsonable"]
