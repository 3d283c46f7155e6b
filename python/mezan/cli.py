"""The ``mezan`` command line.

    mezan solve FILE [--method M | --mode M] [--time S] [--seed K] [--threads T] [--json]
    mezan instances
    mezan meta status|race|tournament|train|reset ...   (see mezan.meta.commands)

FILE is a QAPLIB ``.dat`` path or the name of a bundled instance (see ``mezan instances``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from mezan.errors import MezanError


def _load(spec: str):
    from mezan.qap import instances, read_qaplib

    path = Path(spec)
    if not path.exists() and spec in instances.shipped():
        path = instances.instance_path(spec)
    return read_qaplib(path)


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


def cmd_solve(args: argparse.Namespace) -> int:
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

    def on_improvement(best, elapsed):
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
        ("status", f"{result.status} ({result.message})"),
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

    for name in shipped():
        print(f"{name}\t{best_known(name)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    from mezan.qap import METHODS, MODES

    parser = argparse.ArgumentParser(prog="mezan", description="MEZAN optimization platform")
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("solve", help="solve a QAPLIB instance")
    p.add_argument("file", help="QAPLIB .dat file, or the name of a bundled instance")
    choice = p.add_mutually_exclusive_group()
    choice.add_argument("--method", default=None, choices=METHODS, help="one algorithm instead of a mode")
    choice.add_argument("--mode", default=None, choices=list(MODES), help="a QAPFlow mode (default: auto)")
    p.add_argument("--time", type=float, default=10.0, help="time limit in seconds (default 10)")
    p.add_argument("--seed", type=int, default=None)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--json", action="store_true", help="print the result record as JSON")
    p.set_defaults(func=cmd_solve)
    p = sub.add_parser("instances", help="list the bundled QAPLIB instances and best-known values")
    p.set_defaults(func=cmd_instances)
    from mezan.meta.commands import add_parser as add_meta

    add_meta(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MezanError as exc:
        print(f"mezan: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
