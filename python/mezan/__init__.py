"""MEZAN: a meta-learning optimization platform with a fast C++ QAP core.

The C++ core (``mezan._core``) holds every algorithm; this package adds the Python API:
``mezan.qap`` (solve, a scipy-compatible ``quadratic_assignment``, QAPLIB I/O, generators),
``mezan.evo`` (EvoFlow), ``mezan.meta`` (MetaFlow: solver selection that learns, behind
``mezan.solve``), ``mezan.problems`` (typed problem records) and the ``mezan`` command line.
"""

from mezan import errors
from mezan.errors import InvalidParameterError, InvalidProblemError, MezanError

__version__ = "0.1.0"
__all__ = ["errors", "MezanError", "InvalidProblemError", "InvalidParameterError", "solve", "__version__"]


def solve(problem, B=None, **options):
    """Solve any problem record with the solver MetaFlow selects; see :func:`mezan.meta.solve.solve`."""
    from mezan.meta.solve import solve as meta_solve

    return meta_solve(problem, B, **options)
