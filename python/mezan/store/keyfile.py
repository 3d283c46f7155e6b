"""The key that signs a store's artifacts, kept in a private file outside the database (see :mod:`mezan.store`)."""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from mezan.store.errors import StoredDataError


def _write_new_key(path: Path) -> None:
    """Write a new random key to ``path`` whole under another name, then link it: never seen half-written; when
    another process linked its key first, theirs is kept."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")  # mode 0600
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(os.urandom(32))
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, path)
    finally:
        os.unlink(temporary)


def read_key_file(path: Path, *, create: bool) -> bytes | None:
    """The 32-byte key in ``path`` (made first when missing and ``create``), or None when there is none.

    Parameters
    ----------
    path : pathlib.Path
        The key file.
    create : bool
        Whether to make a new key when the file is missing.

    Returns
    -------
    bytes or None
        The key.

    Raises
    ------
    StoredDataError
        When the file is not a regular file, is readable or writable by others, cannot be read or is not 32 bytes.
    """
    if create and not path.exists():
        _write_new_key(path)
    try:
        info = path.stat()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoredDataError(f"{path}: cannot read the store's key: {exc.strerror or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        raise StoredDataError(f"{path}: the store's key must be a file, found a "
                              f"{'folder' if stat.S_ISDIR(info.st_mode) else 'special file'}")
    if info.st_mode & 0o077:  # as ssh does with a private key: a key others can read or replace signs nothing
        raise StoredDataError(f"{path}: the store's key has permissions {stat.S_IMODE(info.st_mode):04o}, readable "
                              f"or writable by others; it signs MetaFlow's artifacts, so it must be private "
                              f"(chmod 600 {path})")
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise StoredDataError(f"{path}: cannot read the store's key: {exc.strerror or exc}") from None
    if len(key) != 32:
        raise StoredDataError(f"{path}: not a MEZAN store key (32 bytes expected, found {len(key)})")
    return key
