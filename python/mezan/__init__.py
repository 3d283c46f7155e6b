"""MEZAN: a meta-learning optimization platform with a fast C++ QAP core.

The C++ core (``mezan._core``) holds every algorithm; this package adds the Python API:
``mezan.qap`` (solve, a scipy-compatible ``quadratic_assignment``, QAPLIB I/O, generators),
``mezan.problems`` (typed problem records) and the ``mezan`` command line.
"""

from mezan import errors
from mezan.errors import InvalidParameterError, InvalidProblemError, MezanError

__version__ = "0.1.0"
__all__ = ["errors", "MezanError", "InvalidProblemError", "InvalidParameterError", "__version__"]
