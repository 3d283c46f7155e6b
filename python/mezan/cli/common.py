"""What every command group of the CLI shares: how a typer application is made, and the common options."""

from __future__ import annotations

from typing import Any

import typer

CONTEXT = {"help_option_names": ["-h", "--help"]}

COMMANDS: dict[str, tuple[str, str]] = {
    "solve": ("mezan.cli.solve", "Solve a problem: a QAPLIB file, an instance's name or JSON."),
    "instances": ("mezan.cli.solve", "The bundled QAPLIB instances and their best-known values."),
    "bench": ("mezan.cli.bench", "OptiBench: experiments, statistics, A/B tests, sweeps."),
    "meta": ("mezan.cli.meta", "MetaFlow: history, ratings, races, training, ASlib."),
    "analyze": ("mezan.cli.agents", "DeepThink: analyse a problem and plan its solve."),
    "study": ("mezan.cli.agents", "ATLAS: study solvers on instances and test hypotheses."),
    "agents": ("mezan.cli.agents", "The agents' blackboard: list its topics, replay one."),
    "serve": ("mezan.cli.service", "Run the HTTP service."),
    "keys": ("mezan.cli.service", "API keys of the service (stored hashed)."),
    "jobs": ("mezan.cli.service", "Jobs on a running server: submit, status, cancel."),
    "mcp": ("mezan.cli.mcp", "Serve MEZAN's tools over MCP on stdio (for assistants)."),
}
"""Command name -> (the module that registers it, its one-line help): the one list of the CLI's commands. ``mezan
--help`` lists it without importing the modules; each command takes its short help from here."""


def about(name: str) -> str:
    """The one-line help of a top-level command."""
    return COMMANDS[name][1]


def new_app(help: str, **options: Any) -> typer.Typer:
    """A typer application with the CLI's settings: plain help (flags without a type), ``-h``, help when called
    without a command."""
    options.setdefault("no_args_is_help", True)
    return typer.Typer(help=help, rich_markup_mode=None, context_settings=CONTEXT, **options)


def json_option() -> Any:
    return typer.Option(False, "--json", help="print the result as JSON")


def store_option() -> Any:
    return typer.Option(None, "--store", help="the store: an SQLite file or a postgresql://user@host:port/database "
                                              "URL (default: $MEZAN_STORE, else $MEZAN_HOME/mezan.db)")


DEFAULT_SEED = 0
"""Every command's --seed default: the same command gives the same run where the run is deterministic."""


def seed_option(help: str = "the random seed, an integer in [0, 2**63 - 1]") -> Any:
    return typer.Option(DEFAULT_SEED, "--seed", help=help)


TIME_HELP = "the time limit in seconds"
"""Every solving command's --time; its default is :data:`DEFAULT_TIME` everywhere."""
DEFAULT_TIME = 10.0


def time_option(default: float = DEFAULT_TIME, help: str = TIME_HELP) -> Any:
    return typer.Option(default, "--time", help=help)


def pct(value: float | None) -> str:
    """A fraction as a percentage with three decimals, "-" for None."""
    return "-" if value is None else f"{100 * value:.3f}%"


def gap(objective: float, reference: float | None) -> float | None:
    """Relative gap to a best-known value: (objective - reference) / abs(reference); None without one."""
    if reference is None:
        return None
    return (objective - reference) / max(abs(reference), 1e-12) if objective != reference else 0.0


def number(value: float) -> str:
    """A number with thousands separators, whole numbers without decimals."""
    return f"{int(value):,}" if float(value).is_integer() else f"{value:,.6g}"


def emit(as_json: bool, record: dict[str, Any], *lines: str) -> None:
    """Print a command's outcome: ``record`` as one JSON object with ``--json``, else the lines for people."""
    import json

    if as_json:
        print(json.dumps(record))
    else:
        for line in lines:
            print(line)
