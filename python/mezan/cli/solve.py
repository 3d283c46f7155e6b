"""The ``mezan`` command line (typer + rich; ``mezan --help``, ``mezan --install-completion``).

    mezan solve FILE [--method M | --mode M] [--time S] [--seed K] [--threads T] [--json]
    mezan instances
    mezan bench sweep [FOLDER] [--modes M,M...] [--time S] [--max-n N] [--seeds K] [--workers N | --scheduler ADDRESS |
                      --local-cluster N] [--name NAME] [--plot PATH [--force]] [--json]
    mezan bench run|list|register|reproduce|export|analyze|ab|report ...   (OptiBench: see mezan.bench.commands)
    mezan meta status|race|tournament|train|reset ...   (see mezan.meta.commands)
    mezan analyze FILE [--run] [--time T] [--json]          (DeepThink: mezan.agents.deepthink)
    mezan study [SPEC.json] --solvers S1,S2 --instances SPEC [--time T] [--seeds K] [--out REPORT.html] [--json]
    mezan agents show TOPIC | mezan agents list
    mezan mcp [--root DIR]                                (MCP server on stdio: mezan.mcp)
    mezan serve [--host H] [--port P] [--workers N] [--no-auth] ...
    mezan keys create|list|revoke ...
    mezan jobs submit|status|cancel ... --server URL

FILE is a QAPLIB ``.dat`` path, the name of a bundled instance (see ``mezan instances``), or a JSON
file: a wire-form problem (``{"type": "workflow", ...}``; MetaFlow picks the solver) or a composite
request (``{"type": "composite", ...}``, run by C2SC).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

from mezan.errors import InvalidParameterError, MezanError
from mezan.outputs import check_output, write_atomic


def _load(spec: str):
    """What a FILE argument names: a ``.json`` file's value (read by :func:`mezan.inputs.read_json`: size, UTF-8
    and nesting bounded), else the QAPProblem of a QAPLIB ``.dat`` file or a bundled instance's name."""
    from mezan.inputs import check_size, read_json
    from mezan.qap import instances, read_qaplib

    if spec.endswith(".json"):
        return read_json(spec, what="problem file")
    if spec in instances.shipped() and not os.path.lexists(spec):  # a bundled name, unless a file has it
        return read_qaplib(instances.instance_path(spec))
    check_size(spec, what="problem file")  # a folder, a bad path, or more than a file may hold: refused first
    return read_qaplib(spec)


def _pct(value):
    return "-" if value is None else f"{100 * value:.3f}%"


def _gap(objective, reference):
    """Relative gap to a best-known value: (objective - reference) / |reference|."""
    if reference is None:
        return None
    return (objective - reference) / max(abs(reference), 1e-12) if objective != reference else 0.0


def _bound_gap(objective, bound):
    """Relative gap to a lower bound, as in QAPResult.gap: (objective - bound) / |objective|."""
    if bound is None:
        return None
    return (objective - bound) / max(abs(objective), 1e-12) if objective != bound else 0.0


def _number(value):
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"


def cmd_solve_json(args: argparse.Namespace) -> int:
    """A wire-form problem or a composite request from a JSON file, through ``mezan.solve``."""
    import mezan
    from mezan.service.routes import jsonable  # numpy and non-finite values to plain JSON

    data = _load(args.file)
    options = {"time_limit": args.time, "seed": args.seed}
    if args.method or args.mode:
        if not isinstance(data, dict) or data.get("type") != "qap":
            raise InvalidParameterError("--method and --mode apply to QAP problems only")
        options["solver"] = f"qap.{args.method}" if args.method else f"qapflow.{args.mode}"
    result = mezan.solve(data, **options)
    record = jsonable(result.to_dict())
    if args.json:
        print(json.dumps(record))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{args.file}: result")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for k, v in record.items():
        table.add_row(k, json.dumps(v) if isinstance(v, (dict, list)) else str(v))
    Console().print(table)
    return 0


def cmd_solve(args: argparse.Namespace) -> int:
    if args.file.endswith(".json"):
        return cmd_solve_json(args)
    from rich.console import Console
    from rich.live import Live
    from rich.table import Table

    from mezan.qap import best_lower_bound, solve

    problem = _load(args.file)
    console = Console(stderr=True)
    bound = best_lower_bound(problem)[0] if problem.n <= 400 else None
    state = {"best": None, "start": time.perf_counter()}

    def panel() -> Table:
        table = Table(title=f"mezan solve {problem.name} (n = {problem.n}, {args.method or args.mode or 'auto'})",
                      show_header=False)
        best = state["best"]
        table.add_row("elapsed", f"{time.perf_counter() - state['start']:.1f} s / {args.time:g} s")
        table.add_row("best objective", "-" if best is None else _number(best))
        table.add_row("gap to bound", _pct(None if best is None else _bound_gap(best, bound)))
        table.add_row("gap to best known", _pct(None if best is None else _gap(best, problem.best_known)))
        return table

    def on_improvement(best, elapsed):  # noqa: ARG001 - the callback's signature; the panel keeps its own clock
        state["best"] = best

    live = None if args.json or not console.is_terminal else Live(panel(), console=console,
                                                                   refresh_per_second=8, get_renderable=panel)
    if live:
        live.start()
    try:
        result = solve(problem, None, method=args.method, mode=args.mode, time_limit=args.time, seed=args.seed,
                       threads=args.threads, callback=on_improvement)
    finally:
        if live:
            live.stop()
    if args.json:
        record = result.to_dict()
        record.update(instance=problem.name, n=problem.n, best_known=problem.best_known,
                      gap_to_best_known=_gap(result.objective, problem.best_known))
        print(json.dumps(record))
        return 0
    table = Table(title=f"{problem.name}: result")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    rows = [
        ("objective", _number(result.objective)),
        ("best known", "-" if problem.best_known is None else _number(problem.best_known)),
        ("gap to best known", _pct(_gap(result.objective, problem.best_known))),
        ("lower bound", "-" if result.lower_bound is None
         else f"{_number(result.lower_bound)} ({result.bound_method})"),
        ("gap to bound", _pct(result.gap)),
        ("status", f"{result.status} ({result.reason})"),
        ("mode / method", f"{result.mode or '-'} / {result.method} ({result.explanation})"),
        ("seed / threads", f"{result.seed} / {args.threads}"),
        ("iterations", f"{result.iterations:,}"),
        ("wall time", f"{result.wall_time:.2f} s"),
        ("permutation (0-based)", " ".join(map(str, result.permutation))),
    ]
    for k, v in rows:
        table.add_row(k, v)
    Console().print(table)
    return 0


def cmd_instances(args: argparse.Namespace) -> int:
    from mezan.qap import best_known, shipped

    if args.json:
        print(json.dumps({name: best_known(name) for name in shipped()}))
        return 0
    for name in shipped():
        print(f"{name}\t{best_known(name)}")
    return 0


def cmd_bench(args: argparse.Namespace) -> int:
    """Every mode on every instance of a folder (default: the bundled QAPLIB set) for each seed: a table of gaps and
    times, and plots (PNG and SVG) of the gap per instance when --plot is given.

    The cells (instance × mode × seed) run on an executor (:mod:`mezan.dist`): one local thread by default (runs one
    at a time, so wall times compare), ``--workers N`` local threads, ``--scheduler ADDRESS`` / ``$MEZAN_SCHEDULER``
    a Dask cluster, ``--local-cluster N`` a Dask cluster of N processes started here. Each finished cell is logged
    in the store under the sweep's name; ``--name NAME`` makes the sweep resumable: run again with the same name,
    it runs only the cells not logged yet."""
    import uuid

    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from mezan.dist import SweepLog, make_executor, run_cells
    from mezan.problems import to_wire
    from mezan.qap import MODES, instances, read_qaplib
    from mezan.registry import solve_wire
    from mezan.store import Store

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
                "gap_to_best_known": _gap(float(result.objective), problem.best_known),
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
        table.add_row(r["instance"], str(r["n"]), r["mode"], str(r["seed"]), r["method"], _number(r["objective"]),
                      "-" if r["best_known"] is None else _number(r["best_known"]), _pct(r["gap_to_best_known"]),
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


def build_app():
    """The typer application (commands of other modules are added here)."""
    import typer

    from mezan.qap import METHODS, MODES

    app = typer.Typer(name="mezan", help="MEZAN optimization platform", no_args_is_help=True,
                      context_settings={"help_option_names": ["-h", "--help"]})
    json_option = typer.Option(False, "--json", help="print the result as JSON")

    @app.command("solve")
    def solve(file: str = typer.Argument(..., help="QAPLIB .dat file, a bundled instance's name, or a JSON problem "
                                                   "or composite request"),
              method: str = typer.Option(None, "--method",
                                         help=f"one algorithm instead of a mode: {', '.join(METHODS)}"),
              mode: str = typer.Option(None, "--mode", help=f"a QAPFlow mode (default auto): {', '.join(MODES)}"),
              time: float = typer.Option(10.0, "--time", help="time limit in seconds"),
              seed: int = typer.Option(None, "--seed"), threads: int = typer.Option(1, "--threads"),
              json_: bool = json_option):
        """Solve a problem; a live panel shows the best objective while a QAP runs."""
        if method and mode:
            raise typer.BadParameter("--method and --mode are mutually exclusive: give one", param_hint="--method")
        if method and method not in METHODS:
            raise typer.BadParameter(f"{method!r}; methods: {', '.join(METHODS)}", param_hint="--method")
        if mode and mode not in MODES:
            raise typer.BadParameter(f"{mode!r}; modes: {', '.join(MODES)}", param_hint="--mode")
        return cmd_solve(argparse.Namespace(file=file, method=method, mode=mode, time=time, seed=seed,
                                            threads=threads, json=json_))

    @app.command("instances")
    def list_instances(json_: bool = json_option):
        """The bundled QAPLIB instances and their best-known values."""
        return cmd_instances(argparse.Namespace(json=json_))

    from mezan.bench.commands import bench_app

    bench_group = bench_app()
    app.add_typer(bench_group, name="bench")

    @bench_group.command("sweep")
    def bench(folder: str = typer.Argument(None, help="a folder of QAPLIB .dat files (default: the bundled set)"),
              modes: list[str] = typer.Option(None, "--modes", help="QAPFlow modes, comma-separated (default auto)"),
              time: float = typer.Option(1.0, "--time", help="seconds per run"),
              max_n: int = typer.Option(None, "--max-n", help="only instances with n <= this"),
              seed: int = typer.Option(0, "--seed", help="the first seed"),
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

    from mezan.agents.commands import add_commands as add_agents
    from mezan.meta.commands import add_commands as add_meta
    from mezan.service.commands import add_commands as add_service

    add_meta(app)
    add_service(app)
    add_agents(app)

    @app.command("mcp")
    def mcp_server(root: str = typer.Option(None, "--root", help="the only folder whose files the tools read "
                                                                "(default: the working directory); qaplib: names "
                                                                "also come from $MEZAN_QAPLIB")):
        """Serve MEZAN's tools (solve, analyze, study, instances, MetaFlow status) over MCP on stdio."""
        from mezan.mcp import main as serve_mcp

        return serve_mcp(root=root)
    return app


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (2 for bad input, with a one-line message)."""
    import typer
    import typer.main

    command = typer.main.get_command(build_app())
    try:
        result = command.main(args=argv, prog_name="mezan", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("mezan: aborted", file=sys.stderr)
        return 130
    except typer.TyperException as exc:  # usage errors: typer prints the usage line and the message
        exc.show()
        return getattr(exc, "exit_code", 2)
    except MezanError as exc:
        print(f"mezan: error: {exc}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
