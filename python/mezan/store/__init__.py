"""MEZAN's state behind one interface, :class:`Store`, on two backends: an embedded SQLite file (WAL; the default,
under ``$MEZAN_HOME``) and a PostgreSQL database named by a URL (``postgresql://...``; ``mezan serve --store URL``
or ``$MEZAN_STORE``) that several service replicas share.

- :mod:`mezan.store.core`: the interface and what MEZAN itself keeps (history, ratings, signed artifacts);
- :mod:`mezan.store.sqlite`, :mod:`mezan.store.postgres`: the two backends (the second translates the SQL, written
  once in SQLite's dialect);
- :mod:`mezan.store.migrations`: the versioned schema, applied once and recorded in ``schema_version``.
"""

from mezan.store.core import (
    ARTIFACT_MAGIC,
    REAL_FIELDS,
    SCHEMA_VERSION,
    SOLVE_FIELDS,
    SolveRecord,
    Store,
    _signature,  # noqa: F401  (importable as before, when the store was one module; not public)
    canonical_sha256,
    checksum,
    checksum_matches,
    default_path,
    machine,
)
from mezan.store.errors import StoredDataError, StoreError, StoreUnavailable
from mezan.store.home import mezan_home
from mezan.store.migrations import LATEST as LATEST_MIGRATION
from mezan.store.postgres import is_url

__all__ = ["ARTIFACT_MAGIC", "LATEST_MIGRATION", "REAL_FIELDS", "SCHEMA_VERSION", "SOLVE_FIELDS", "SolveRecord",
           "Store", "StoreError", "StoreUnavailable", "StoredDataError", "canonical_sha256", "checksum",
           "checksum_matches", "default_path", "is_url", "machine", "mezan_home"]
