"""The ``mezan`` command line: one module per command group, loaded when its command runs.

``mezan --help`` imports only :mod:`mezan.cli.root` and typer; ``mezan bench ...`` imports :mod:`mezan.cli.bench`,
and so on (:data:`mezan.cli.root.COMMANDS` is the table). The packages below the CLI know nothing of typer or rich.
"""

from mezan.cli.root import COMMANDS, build_app, main

__all__ = ["COMMANDS", "build_app", "main"]
