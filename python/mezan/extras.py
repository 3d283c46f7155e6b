"""The optional parts of MEZAN and what each needs.

``pip install mezan`` gives the core (QAPFlow, EvoFlow, the scipy drop-in, the ``mezan solve`` command: numpy, typer
and rich); each extra adds a component. A component used without its extra raises
:class:`MissingExtraError`, which names the extra and the command that installs it."""

from __future__ import annotations

import importlib.util

from mezan.errors import MezanError

EXTRAS: dict[str, tuple[str, ...]] = {
    "flows": ("scipy", "ortools", "networkx"),
    "meta": ("scipy", "sklearn", "arff", "yaml"),
    "configure": ("optuna",),
    "bench": ("scipy", "statsmodels", "scikit_posthocs"),
    "service": ("fastapi", "uvicorn", "prometheus_client"),
    "postgres": ("psycopg", "psycopg_pool"),
    "distributed": ("dask", "distributed"),
    "mcp": ("mcp",),
    "parquet": ("pyarrow",),
    "plot": ("matplotlib",),
}
"""Extra -> the modules it brings (import names). pyproject.toml's optional-dependencies install them."""


class MissingExtraError(MezanError, ImportError):
    """A component was used without the extra that installs what it needs."""


def missing(extra: str) -> list[str]:
    """The modules of an extra that are not installed."""
    return [module for module in EXTRAS[extra] if importlib.util.find_spec(module) is None]


def require(component: str, *extras: str) -> None:
    """Raise :class:`MissingExtraError` unless every module of the extras is installed.

    Parameters
    ----------
    component : str
        What needs them, for the message (``"mezan.flows"``).
    *extras : str
        Keys of :data:`EXTRAS`.

    Raises
    ------
    MissingExtraError
        Naming the extra, the missing modules and the command that installs them.
    """
    for extra in extras:
        absent = missing(extra)
        if absent:
            raise MissingExtraError(f"{component} needs the '{extra}' extra ({', '.join(absent)} not installed): "
                                    f"pip install 'mezan[{extra}]' (from a checkout: pip install '.[{extra}]')")
