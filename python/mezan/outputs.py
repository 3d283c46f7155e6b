"""Every file a command writes goes through here: one check before any work, one atomic write after it.

:func:`check_output` (and :func:`check_output_folder` for an output that is a folder) is called before a command
starts its work, so that a path that cannot be written is refused at once — not after a study has run for an hour;
:func:`write_atomic` checks again and writes: into a temporary file in the target's own folder, flushed to disk,
then moved over the target in one step, so a reader never sees half a file and a failed write leaves the old one.
:func:`write_csv` is the one CSV writer: its text cells never start a spreadsheet formula (:func:`spreadsheet_safe`).

The rules, for every output option (``--out``, ``--latex``, ``--selections``, ``--plot``, a folder argument):

- MEZAN's store is never overwritten, not even with ``--force``: the default store (``$MEZAN_HOME/mezan.db``), the
  ``--store`` given, any existing SQLite database, and their companion files (``-wal``, ``-shm``, ``-journal``,
  ``.key``) are refused by name; a folder output never goes into the store's own folder;
- an existing file is overwritten only with ``force=True`` (the command's ``--force``), a non-empty folder is
  written into only with it;
- a missing parent folder, a folder where a file is expected, a place that cannot be written, a full disk: an
  :class:`~mezan.errors.InvalidParameterError` that names the option and the path, never a traceback.

A device or a pipe that exists (``/dev/null``, a named pipe) is written in place, with ``--force``, since it cannot be
replaced; a write error there (``/dev/full``) is the same clear error.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import stat
import tempfile
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

from mezan.errors import InvalidParameterError, MezanError
from mezan.store import default_path

SQLITE_HEADER = b"SQLite format 3\x00"
STORE_COMPANIONS = ("-wal", "-shm", "-journal", ".key")
"""Files SQLite and MEZAN keep beside a store file ``X``: ``X-wal``, ``X-shm``, ``X-journal`` and ``X.key``."""

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
"""A text cell starting with one of these is a formula to a spreadsheet (OWASP's list, and the full-width forms)."""

Writer = Callable[[Path], None]
"""Writes the whole output to the path it is given (a temporary file beside the target)."""


def _show(path: str | os.PathLike) -> str:
    """The path as the user gave it, quoted when it holds characters that would garble a one-line message."""
    text = os.fsdecode(path)
    return text if text.isprintable() else repr(text)


def _refuse(option: str, path: str | os.PathLike, reason: str) -> InvalidParameterError:
    return InvalidParameterError(f"{option}: cannot write {_show(path)}: {reason}")


def _resolved(path: str | os.PathLike, option: str) -> Path:
    """The real location of ``path`` (symbolic links followed), refusing what is not a path at all."""
    try:
        text = os.fspath(path)
    except TypeError:
        raise InvalidParameterError(f"{option}: expected a file path, got {path!r}") from None
    if not text:
        raise InvalidParameterError(f"{option}: expected a file path, got an empty string")
    try:
        return Path(os.path.realpath(text))
    except (OSError, ValueError) as exc:  # a NUL byte, a loop of links, a name too long
        raise _refuse(option, text, str(exc)) from None


def _stat(path: Path, option: str, shown: str | os.PathLike) -> os.stat_result | None:
    try:
        return path.stat()
    except (FileNotFoundError, NotADirectoryError):  # nothing there (the folder above says why: _check_folder)
        return None
    except (OSError, ValueError) as exc:
        raise _refuse(option, shown, getattr(exc, "strerror", None) or str(exc)) from None


def _is_sqlite(path: Path) -> bool:
    """Whether ``path`` is a regular file whose first bytes are SQLite's header (a pipe is never opened)."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False
        with path.open("rb") as handle:
            return handle.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except (OSError, ValueError):
        return False


def _store_files(store: str | os.PathLike | None) -> list[Path]:
    """The store files to protect: the default store, the one given, and each one's companions."""
    bases: list[Path] = []
    with contextlib.suppress(MezanError, OSError, RuntimeError, ValueError):  # no home folder: nothing to protect
        bases.append(Path(os.path.realpath(default_path())))
    if store is not None and os.fspath(store) != ":memory:" and "://" not in os.fspath(store):
        with contextlib.suppress(OSError, ValueError):
            bases.append(Path(os.path.realpath(store)))
    return [Path(f"{base}{suffix}") for base in bases for suffix in ("", *STORE_COMPANIONS)]


def _same_file(a: Path, b: Path) -> bool:
    """The same file by name, or by device and inode (a hard link)."""
    if a == b:
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _check_not_store(target: Path, option: str, shown: str | os.PathLike,
                     store: str | os.PathLike | None) -> None:
    """Refuse a target that is a store file or a companion of one, whatever ``force`` says."""
    protected = _store_files(store)
    if any(_same_file(target, p) for p in protected):
        raise _refuse(option, shown, "it is a file of MEZAN's store (history, experiments, keys and jobs); it is "
                                     "never overwritten, not even with --force")
    if _is_sqlite(target):
        raise _refuse(option, shown, "it is an SQLite database (a store); it is never overwritten, not even with "
                                     "--force")
    for suffix in STORE_COMPANIONS:
        if target.name.endswith(suffix) and len(target.name) > len(suffix):
            base = target.with_name(target.name[:-len(suffix)])
            if _is_sqlite(base) or any(_same_file(base, p) for p in protected):
                raise _refuse(option, shown, f"it is a companion file ({suffix}) of the store {base}; it is never "
                                             f"overwritten, not even with --force")


def _check_folder(folder: Path, option: str, shown: str | os.PathLike) -> None:
    """The folder an output goes into exists, is a folder, and can be written."""
    info = _stat(folder, option, shown)
    if info is None:
        raise _refuse(option, shown, f"the folder {folder} does not exist")
    if not stat.S_ISDIR(info.st_mode):
        raise _refuse(option, shown, f"{folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise _refuse(option, shown, f"the folder {folder} is not writable")


def _kind(info: os.stat_result | None) -> str | None:
    """None (nothing there), ``file``, ``folder``, ``stream`` (a device or a pipe, written in place) or ``other``."""
    if info is None:
        return None
    if stat.S_ISREG(info.st_mode):
        return "file"
    if stat.S_ISDIR(info.st_mode):
        return "folder"
    if stat.S_ISCHR(info.st_mode) or stat.S_ISFIFO(info.st_mode):
        return "stream"
    return "other"


def _checked(path: str | os.PathLike, option: str, force: bool,
             store: str | os.PathLike | None) -> tuple[Path, str | None]:
    """:func:`check_output`'s work: the resolved target and what is there now."""
    target = _resolved(path, option)
    _check_not_store(target, option, path, store)
    kind = _kind(_stat(target, option, path))
    if kind == "folder":
        raise _refuse(option, path, "it is a folder; give the path of a file")
    if kind == "other":
        raise _refuse(option, path, "it is not a regular file (a socket or a special file)")
    if kind is not None and not force:
        raise _refuse(option, path, "it is a device or a pipe; add --force to write to it" if kind == "stream"
                      else "the file exists; add --force to overwrite it")
    if kind != "stream":
        _check_folder(target.parent, option, path)
    return target, kind


def check_output(path: str | os.PathLike, *, option: str = "--out", force: bool = False,
                 store: str | os.PathLike | None = None) -> Path:
    """Check, before any work, that a command may write the file ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        The output file, as the user gave it.
    option : str
        The option or argument that gave it (``--out``, ``--latex``, ...): every message names it.
    force : bool
        Whether an existing file may be overwritten (the command's ``--force``).
    store : str or os.PathLike, optional
        The ``--store`` the command uses; the default store is protected in any case.

    Returns
    -------
    pathlib.Path
        The resolved target (symbolic links followed).

    Raises
    ------
    InvalidParameterError
        The path is a store file (even with ``force``), an existing file (without ``force``), a folder, or lies in a
        folder that is missing or not writable; the message names ``option`` and ``path``.
    """
    return _checked(path, option, force, store)[0]


def check_output_folder(path: str | os.PathLike, *, option: str = "--out", force: bool = False,
                        store: str | os.PathLike | None = None) -> Path:
    """Check, before any work, that a command may write its files into the folder ``path`` (created if new).

    Parameters
    ----------
    path : str or os.PathLike
        The output folder, as the user gave it.
    option : str
        The option or argument that gave it: every message names it.
    force : bool
        Whether a folder that is not empty may be written into (files of the same names are replaced).
    store : str or os.PathLike, optional
        The ``--store`` the command uses; the default store is protected in any case.

    Returns
    -------
    pathlib.Path
        The resolved folder (symbolic links followed).

    Raises
    ------
    InvalidParameterError
        The path is a file, the store's own folder, a non-empty folder (without ``force``), or its parent is missing
        or not writable.
    """
    folder = _resolved(path, option)
    info = _stat(folder, option, path)
    if info is not None and not stat.S_ISDIR(info.st_mode):
        raise _refuse(option, path, "it exists and is not a folder")
    if any(_same_file(folder, p.parent) for p in _store_files(store)):
        raise _refuse(option, path, "it is the folder of MEZAN's store; give a folder of its own")
    if info is None:
        _check_folder(folder.parent, option, path)
        return folder
    try:
        empty = not any(folder.iterdir())
    except OSError as exc:
        raise _refuse(option, path, exc.strerror or str(exc)) from None
    if not empty and not force:
        raise _refuse(option, path, "the folder exists and is not empty; add --force to write into it (files of the "
                                    "same names are replaced, others are left)")
    _check_folder(folder, option, path)
    return folder


def make_folder(path: str | os.PathLike, *, option: str = "--out", force: bool = False,
                store: str | os.PathLike | None = None) -> Path:
    """:func:`check_output_folder`, then create the folder if it is new; returns the resolved folder.

    Parameters
    ----------
    path : str or os.PathLike
        The output folder.
    option : str
        The option or argument that gave it.
    force : bool
        Whether a folder that is not empty may be written into.
    store : str or os.PathLike, optional
        The ``--store`` the command uses.

    Returns
    -------
    pathlib.Path
        The folder, which exists now.
    """
    folder = check_output_folder(path, option=option, force=force, store=store)
    try:
        folder.mkdir(exist_ok=True)
    except OSError as exc:
        raise _refuse(option, path, exc.strerror or str(exc)) from None
    return folder


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _fill(temporary: Path, data: str | bytes | Writer, encoding: str) -> None:
    """Write ``data`` to ``temporary`` and flush it to the disk."""
    if callable(data):
        data(temporary)
    else:
        temporary.write_bytes(data.encode(encoding) if isinstance(data, str) else data)
    descriptor = os.open(temporary, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sync_folder(folder: Path) -> None:
    with contextlib.suppress(OSError):  # some file systems cannot sync a folder; the rename itself is done
        descriptor = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)


def _put(temporary: Path, target: Path, force: bool) -> None:
    """Move the finished temporary file onto the target: replacing it with ``force``, else only if there is still
    nothing there (a hard link fails if a file appeared since the check; where links are not supported, a rename)."""
    if not force:
        try:
            os.link(temporary, target)
        except FileExistsError:
            raise
        except OSError:  # no hard links on this file system
            if os.path.lexists(target):
                raise FileExistsError(target) from None
            os.replace(temporary, target)
        else:
            temporary.unlink()
    else:
        os.replace(temporary, target)


def _write_stream(target: Path, data: str | bytes | Writer, encoding: str) -> None:
    if callable(data):
        data(target)
        return
    with open(target, "wb") as handle:
        handle.write(data.encode(encoding) if isinstance(data, str) else data)


def write_atomic(path: str | os.PathLike, data: str | bytes | Writer, *, option: str = "--out", force: bool = False,
                 store: str | os.PathLike | None = None, encoding: str = "utf-8") -> Path:
    """Write a whole file at once: a temporary file in the target's folder, flushed to disk, then moved onto it.

    Parameters
    ----------
    path : str or os.PathLike
        The output file (checked again by :func:`check_output`: the situation may have changed since the command
        checked it before its work).
    data : str, bytes or callable
        The content (text is encoded with ``encoding``), or a function that writes the whole output to the path it
        is given (e.g. ``lambda p: fig.savefig(p, format="png")``).
    option : str
        The option or argument that gave the path: every message names it.
    force : bool
        Whether an existing file may be replaced.
    store : str or os.PathLike, optional
        The ``--store`` the command uses.
    encoding : str
        The encoding of text ``data``.

    Returns
    -------
    pathlib.Path
        The resolved path written.

    Raises
    ------
    InvalidParameterError
        Any reason of :func:`check_output`, or the write failed (disk full, permission): the target is then left as
        it was, and no temporary file remains.
    """
    target, kind = _checked(path, option, force, store)
    if kind == "stream":
        try:
            _write_stream(target, data, encoding)
        except OSError as exc:
            raise _refuse(option, path, exc.strerror or str(exc)) from None
        return target
    mode = (target.stat().st_mode & 0o7777) if kind == "file" else (0o666 & ~_umask())
    temporary = None
    try:
        descriptor, name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name[:64]}.",
                                           suffix=".partial")
        os.close(descriptor)
        temporary = Path(name)
        _fill(temporary, data, encoding)
        os.chmod(temporary, mode)
        _put(temporary, target, force)
        temporary = None
    except FileExistsError:
        raise _refuse(option, path, "the file exists; add --force to overwrite it") from None
    except OSError as exc:
        raise _refuse(option, path, exc.strerror or str(exc)) from None
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()
    _sync_folder(target.parent)
    return target


def _numeric_text(text: str) -> bool:
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def spreadsheet_safe(value: Any) -> Any:
    """A CSV cell that a spreadsheet opens as what it is: a text cell that would start a formula (``=``, ``+``,
    ``-``, ``@``, a tab or a carriage return, or their full-width forms) gets a leading single quote (OWASP's rule);
    numbers, and text that is a plain number (``-1.5``), are unchanged.

    Parameters
    ----------
    value : Any
        A cell's value.

    Returns
    -------
    Any
        ``value``, or ``"'" + value`` for a text cell that a spreadsheet would run.
    """
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not _numeric_text(value):
        return "'" + value
    return value


def csv_text(columns: Iterable[str], rows: Iterable[Mapping[str, Any]]) -> str:
    """Rows as CSV text (a header line, then one line per row), every cell through :func:`spreadsheet_safe`.

    Parameters
    ----------
    columns : iterable of str
        The column names, in order.
    rows : iterable of mapping
        One mapping per row, column name to value (a missing column is empty).

    Returns
    -------
    str
        The CSV text (``\\r\\n`` line ends, as the csv module writes them).
    """
    names = list(columns)
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow([spreadsheet_safe(c) for c in names])
    for row in rows:
        writer.writerow([spreadsheet_safe(row.get(c)) for c in names])
    return buffer.getvalue()


def write_csv(path: str | os.PathLike, columns: Iterable[str], rows: Iterable[Mapping[str, Any]], *,
              option: str = "--out", force: bool = False, store: str | os.PathLike | None = None) -> Path:
    """Write rows as a CSV file (:func:`csv_text`), atomically (:func:`write_atomic`); returns the path written.

    Parameters
    ----------
    path : str or os.PathLike
        The output file.
    columns : iterable of str
        The column names, in order.
    rows : iterable of mapping
        One mapping per row.
    option : str
        The option that gave the path.
    force : bool
        Whether an existing file may be replaced.
    store : str or os.PathLike, optional
        The ``--store`` the command uses.

    Returns
    -------
    pathlib.Path
        The resolved path written.
    """
    return write_atomic(path, csv_text(columns, rows), option=option, force=force, store=store)


__all__ = ["FORMULA_STARTS", "STORE_COMPANIONS", "check_output", "check_output_folder", "csv_text", "make_folder",
           "spreadsheet_safe", "write_atomic", "write_csv"]
