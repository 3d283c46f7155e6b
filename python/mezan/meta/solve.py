"""Deprecated module name: the code lives in :mod:`mezan.meta.metasolve` (this name was shadowed by the function
``mezan.meta.solve``). Importing it warns; it goes in the next release."""

import warnings

from mezan.meta.metasolve import as_problem, solve

warnings.warn("mezan.meta.solve (the module) is deprecated: import mezan.meta.metasolve, or call mezan.solve",
              DeprecationWarning, stacklevel=2)

__all__ = ["as_problem", "solve"]
