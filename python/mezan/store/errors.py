"""The store's exception types."""

from __future__ import annotations

from mezan.errors import MezanError


class StoreError(MezanError):
    """The store cannot be opened or is not a MEZAN store."""


class StoredDataError(StoreError):
    """Data read back from the store fails its checks: altered, foreign or of the wrong kind."""


class StoreUnavailable(StoreError):
    """The database server cannot be reached now (down, restarting, paused): try again later (the service answers
    503 with ``Retry-After``)."""
