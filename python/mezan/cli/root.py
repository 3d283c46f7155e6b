"""The root of the ``mezan`` command: the table of commands, loaded lazily, and :func:`main`.

``mezan --help`` lists the commands from :data:`COMMANDS` without importing them; a command's module is imported
when that command runs (or shows its own help). Each module has ``register(app)``, which adds its commands.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import typer
import typer.core
import typer.main

from mezan import __version__
from mezan.cli.common import COMMANDS, CONTEXT
from mezan.errors import MezanError

INTERRUPTED = 130
"""The exit code after Ctrl-C (128 + SIGINT, as shells report it); a solve prints its best so far first."""


def load(module: str) -> Any:
    """The click commands a CLI module registers, by name."""
    app = typer.Typer(rich_markup_mode=None, context_settings=CONTEXT)
    importlib.import_module(module).register(app)

    @app.callback()
    def _group() -> None:  # a callback makes typer build a group even for a module with one command
        pass

    return typer.main.get_command(app).commands


class LazyGroup(typer.core.TyperGroup):
    """A group whose commands are imported when one of them is resolved, not to list them."""

    def list_commands(self, ctx: Any) -> list[str]:  # noqa: ARG002  (click's signature)
        return list(COMMANDS)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:  # noqa: ARG002
        if cmd_name not in COMMANDS:
            return None
        return load(COMMANDS[cmd_name][0])[cmd_name]

    def format_commands(self, ctx: Any, formatter: Any) -> None:  # noqa: ARG002
        width = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [(name, about if len(about) <= width else about[: width - 3] + "...")
                for name, (_, about) in COMMANDS.items()]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def show_version(value: bool) -> None:
    if value:
        print(f"mezan {__version__}")
        raise typer.Exit()


def build_app() -> typer.Typer:
    """The ``mezan`` typer application: its commands come from :data:`COMMANDS` when used."""
    app = typer.Typer(name="mezan", cls=LazyGroup, rich_markup_mode=None, no_args_is_help=True,
                      context_settings=CONTEXT,
                      help="MEZAN: a meta-learning optimization platform. Ctrl-C stops a solve, which prints its "
                           f"best so far; the exit code is then {INTERRUPTED}. Bad input exits with 2 and one line.")

    @app.callback()
    def root(version: bool = typer.Option(False, "--version", callback=show_version, is_eager=True,
                                          help="print the version and exit")) -> None:
        pass

    return app


def main(argv: list[str] | None = None) -> int:
    """Run the command line and return the exit code (2 for bad input, with a one-line message)."""
    command = typer.main.get_command(build_app())
    try:
        result = command.main(args=argv, prog_name="mezan", standalone_mode=False)
    except typer.Exit as exc:
        return exc.exit_code
    except typer.Abort:
        print("mezan: aborted", file=sys.stderr)
        return INTERRUPTED
    except KeyboardInterrupt:
        print("mezan: interrupted", file=sys.stderr)
        return INTERRUPTED
    except typer.TyperException as exc:  # usage errors: typer prints the usage line and the message
        exc.show()
        return getattr(exc, "exit_code", 2)
    except MezanError as exc:
        print(f"mezan: error: {exc}", file=sys.stderr)
        return 2
    return result if isinstance(result, int) else 0
