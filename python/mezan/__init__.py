"""MEZAN: a meta-learning optimization platform with a fast C++ QAP core.

The C++ core (``mezan._core``) holds every algorithm; this package adds the Python API:
``mezan.qap`` (solve, a scipy-compatible ``quadratic_assignment``, QAPLIB I/O, generators),
``mezan.evo`` (EvoFlow), ``mezan.meta`` (MetaFlow: solver selection that learns, behind
``mezan.solve``), ``mezan.problems`` (typed problem records) and the ``mezan`` command line.
"""

from __future__ import annotations

from importlib import metadata as _metadata
from typing import TYPE_CHECKING, Any

from mezan import errors
from mezan.errors import InvalidParameterError, InvalidProblemError, MezanError

if TYPE_CHECKING:
    from mezan.c2sc import Plan

try:  # the version is written once, in pyproject.toml; the installed metadata carries it
    __version__ = _metadata.version("mezan")
except _metadata.PackageNotFoundError:  # run from a source tree that was never installed
    __version__ = "0+unknown"
__all__ = ["InvalidParameterError", "InvalidProblemError", "MezanError", "__version__", "compile", "errors", "solve"]


def solve(problem: Any, B: Any = None, **options: Any) -> Any:
    """Solve a problem: a problem record or QAP matrices ``A, B`` (MetaFlow picks the solver; see
    :func:`mezan.meta.solve.solve`), a single wire-form dict (``{"type": "qap", ...}``), or a composite
    request (``{"type": "composite", ...}``, run by C2SC: :func:`mezan.c2sc.run`)."""
    if isinstance(problem, dict):
        from mezan import c2sc

        if problem.get("type") == "composite":
            known = ("time_limit", "seed", "workers", "stop", "progress", "admit", "executor")
            unknown = sorted(set(options) - set(known))
            if unknown:
                raise InvalidParameterError(f"a composite request takes the options {', '.join(known)}; got "
                                            f"{', '.join(unknown)}")
            return c2sc.run(problem, **options)
        problem = c2sc.from_wire(problem)
    from mezan.meta.solve import solve as meta_solve

    return meta_solve(problem, B, **options)


def compile(request: dict[str, Any], **options: Any) -> Plan:
    """Compile a composite request into a plan (C2SC): see :func:`mezan.c2sc.compile` (``admit``,
    ``default_time_limit``)."""
    from mezan.c2sc import compile as compile_request

    return compile_request(request, **options)
