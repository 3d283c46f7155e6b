"""``mezan solve`` and ``mezan instances``.

    mezan solve FILE [--method M | --mode M] [--time S] [--seed K] [--threads T] [--json]
    mezan instances [--json]

FILE is a QAPLIB ``.dat`` path, the name of a bundled instance (see ``mezan instances``), or a JSON
file: a wire-form problem (``{"type": "workflow", ...}``; MetaFlow picks the solver) or a composite
request (``{"type": "composite", ...}``, run by C2SC).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from typing import Any

import typer
from rich.console import Console
from rich.live import Live
from rich.table import Table

import mezan
from mezan.cli import common
from mezan.cli.common import gap, number, pct
from mezan.errors import InvalidParameterError
from mezan.inputs import check_size, read_json
from mezan.qap import METHODS, MODES, best_known, best_lower_bound, read_qaplib, shipped
from mezan.qap import solve as solve_qap
from mezan.qap.instances import named
from mezan.results import to_plain

QAPLIB_ENV = "MEZAN_QAPLIB"
"""Where ``mezan solve NAME`` looks for an instance that is not bundled (as OptiBench's ``qaplib:NAME``)."""
QAPLIB_NAME = re.compile(r"[A-Za-z0-9_-]{1,64}")
"""A bare instance name (no path): looked up among the bundled instances and in ``$MEZAN_QAPLIB``."""


def qaplib_problem(spec: str) -> Any:
    """The QAPProblem a FILE argument names: a QAPLIB ``.dat`` file, else an instance's name, bundled or
    ``$MEZAN_QAPLIB/NAME.dat`` (with its best-known value from ``bks.csv`` there), as ``qaplib:NAME`` in OptiBench."""
    if not os.path.lexists(spec) and QAPLIB_NAME.fullmatch(spec):  # a name, unless a file has it
        return named(spec, os.environ.get(QAPLIB_ENV) or None)
    check_size(spec, what="problem file")  # a folder, a bad path, or more than a file may hold: refused first
    return read_qaplib(spec)


def _load(spec: str) -> Any:
    """What a FILE argument names: a ``.json`` file's value (read by :func:`mezan.inputs.read_json`: size, UTF-8
    and nesting bounded), else the QAPProblem of :func:`qaplib_problem`."""
    if spec.endswith(".json"):
        return read_json(spec, what="problem file")
    return qaplib_problem(spec)


def _bound_gap(objective, bound):
    """Relative gap to a lower bound, as in QAPResult.gap: (objective - bound) / |objective|."""
    if bound is None:
        return None
    return (objective - bound) / max(abs(objective), 1e-12) if objective != bound else 0.0


def cmd_solve_json(args: argparse.Namespace) -> int:
    """A wire-form problem or a composite request from a JSON file, through ``mezan.solve``."""

    data = _load(args.file)
    options = {"time_limit": args.time, "seed": args.seed}
    if args.method or args.mode:
        if not isinstance(data, dict) or data.get("type") != "qap":
            raise InvalidParameterError("--method and --mode apply to QAP problems only")
        options["solver"] = f"qap.{args.method}" if args.method else f"qapflow.{args.mode}"
    composite = isinstance(data, dict) and data.get("type") == "composite"
    if args.store and not composite:
        from mezan.meta import MetaFlow  # the meta extra: only a JSON problem needs it (a QAP file does not)

        options["metaflow"] = MetaFlow(store=args.store, seed=args.seed)
    elif args.store:
        raise InvalidParameterError("--store: a composite request records nothing (each subproblem runs its solver)")
    result = mezan.solve(data, **options)
    record = to_plain(result.to_dict(), nonfinite="null")
    if args.json:
        print(json.dumps(record))
        return 0
    console = Console()
    if composite:
        console.print(f"{args.file}: {record['status']} in {record.get('wall_time', 0):.2f} s")
        for name, sub in record["results"].items():
            console.print(_record_table(f"subproblem {name!r}", sub))
    else:
        console.print(_record_table(f"{args.file}: result", record))
    return 0


def _record_table(title: str, record: dict[str, Any]) -> Table:
    """A result record as a two-column table, the long values (solutions, traces) shortened to a line."""
    table = Table(title=title)
    table.add_column("field")
    table.add_column("value", overflow="fold")
    for key, value in record.items():
        if value is None or value == [] or value == {}:
            continue
        text = json.dumps(value) if isinstance(value, (dict, list)) else str(value)
        if key == "trace" and isinstance(value, list):
            text = f"{len(value)} points, last {json.dumps(value[-1])}"
        table.add_row(key, text if len(text) <= 200 else text[:197] + "...")
    return table


def cmd_solve(args: argparse.Namespace) -> int:
    if args.file.endswith(".json"):
        return cmd_solve_json(args)


    problem = _load(args.file)
    console = Console(stderr=True)
    bound = best_lower_bound(problem)[0] if problem.n <= 400 else None
    state = {"best": None, "start": time.perf_counter()}

    def panel() -> Table:
        table = Table(title=f"mezan solve {problem.name} (n = {problem.n}, {args.method or args.mode or 'auto'})",
                      show_header=False)
        best = state["best"]
        table.add_row("elapsed", f"{time.perf_counter() - state['start']:.1f} s / {args.time:g} s")
        table.add_row("best objective", "-" if best is None else number(best))
        table.add_row("gap to bound", pct(None if best is None else _bound_gap(best, bound)))
        table.add_row("gap to best known", pct(None if best is None else gap(best, problem.best_known)))
        return table

    def on_improvement(best, elapsed):  # noqa: ARG001 - progress's signature; the panel keeps its own clock
        state["best"] = best

    live = None if args.json or not console.is_terminal else Live(panel(), console=console,
                                                                   refresh_per_second=8, get_renderable=panel)
    if live:
        live.start()
    try:
        result = solve_qap(problem, None, method=args.method, mode=args.mode, time_limit=args.time, seed=args.seed,
                       threads=args.threads, progress=on_improvement)
    finally:
        if live:
            live.stop()
    if args.json:
        record = result.to_dict()
        record.update(instance=problem.name, n=problem.n, best_known=problem.best_known,
                      gap_to_best_known=gap(result.objective, problem.best_known))
        print(json.dumps(record))
        return 0
    table = Table(title=f"{problem.name}: result")
    table.add_column("field")
    table.add_column("value", overflow="fold")
    rows = [
        ("objective", number(result.objective)),
        ("best known", "-" if problem.best_known is None else number(problem.best_known)),
        ("gap to best known", pct(gap(result.objective, problem.best_known))),
        ("lower bound", "-" if result.lower_bound is None
         else f"{number(result.lower_bound)} ({result.bound_method})"),
        ("gap to bound", pct(result.gap)),
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

    if args.json:
        print(json.dumps({name: best_known(name) for name in shipped()}))
        return 0
    for name in shipped():
        print(f"{name}\t{best_known(name)}")
    return 0


def register(app: typer.Typer) -> None:
    """Add ``mezan solve`` and ``mezan instances``."""
    json_option = common.json_option()

    @app.command("solve", short_help=common.about("solve"))
    def solve(file: str = typer.Argument(..., help="QAPLIB .dat file, a bundled instance's name, or a JSON problem "
                                                   "or composite request"),
              method: str = typer.Option(None, "--method",
                                         help=f"one algorithm instead of a mode: {', '.join(METHODS)}"),
              mode: str = typer.Option(None, "--mode", help=f"a QAPFlow mode (default auto): {', '.join(MODES)}"),
              time: float = common.time_option(),
              seed: int = common.seed_option(),
              threads: int = typer.Option(1, "--threads", min=1, help="threads of the C++ pool (a QAP)"),
              store: str = common.store_option(), json_: bool = json_option):
        """Solve a problem; a live panel shows the best objective while a QAP runs."""
        if method and mode:
            raise typer.BadParameter("--method and --mode are mutually exclusive: give one", param_hint="--method")
        if method and method not in METHODS:
            raise typer.BadParameter(f"{method!r}; methods: {', '.join(METHODS)}", param_hint="--method")
        if mode and mode not in MODES:
            raise typer.BadParameter(f"{mode!r}; modes: {', '.join(MODES)}", param_hint="--mode")
        return cmd_solve(argparse.Namespace(file=file, method=method, mode=mode, time=time, seed=seed,
                                            threads=threads, store=store, json=json_))

    @app.command("instances", short_help=common.about("instances"))
    def list_instances(json_: bool = json_option):
        """The bundled QAPLIB instances and their best-known values."""
        return cmd_instances(argparse.Namespace(json=json_))
