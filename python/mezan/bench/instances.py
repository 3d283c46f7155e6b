"""Instance specifications for OptiBench: what ``--instances`` names, read into problems with their provenance.

- ``FOLDER`` (or one file): every QAPLIB ``.dat`` file and every wire-form ``.json`` problem in it (source
  ``custom``; the file's path and sha256 are kept, so a changed file is detected).
- ``qaplib:NAME[,NAME...]``: QAPLIB instances — bundled with MEZAN, else ``$MEZAN_QAPLIB/NAME.dat`` (source
  ``qaplib``; best-known values from MEZAN's table, or ``bks.csv`` beside the files). A name is letters, digits,
  ``_`` and ``-`` only (never a path).
- ``generated:KIND[,KIND...]:N[,N...][:SEEDS]``: MEZAN's generators (:mod:`mezan.qap.generate`) at sizes ``N`` for
  seeds ``SEEDS`` (``3``, ``0-4`` or ``1,5,9``; default ``0``); source ``generated`` with the generator and seed.

Every spec is bounded before anything is built: at most :data:`MAX_INSTANCES_PER_SPEC` instances (a seed range is
counted, never enumerated, to check it), generated sizes ``3 <= N <=`` :data:`MAX_GENERATED_N`, and generated
instances whose matrices fit in the memory available. Files are read through :mod:`mezan.inputs` (size, UTF-8 and
JSON nesting bounded), and a QAPLIB file that does not parse is refused by file, line and what was expected there,
without quoting the file. ``root=`` confines the files a spec may name (the MCP server passes its ``--root``):
paths are resolved, symlinks included, and anything outside the root — or, for ``qaplib:`` names, outside
``$MEZAN_QAPLIB`` — is refused by name.

An :class:`Instance` can be loaded again from what the registry keeps (:func:`reload`), which is how a reproduced
run gets exactly its problem back — or learns that its file changed.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mezan.errors import InstanceTooLargeError, InvalidParameterError, InvalidProblemError, QAPLIBFormatError
from mezan.inputs import check_size, parse_json, read_bytes, shown
from mezan.problems import from_wire
from mezan.qap import generate, instances, read_qaplib
from mezan.running import available_memory, integer_at_least, resolve_seed

QAPLIB_ENV = "MEZAN_QAPLIB"
GENERATORS = ("taillard_a", "taillard_b", "grid_manhattan", "ring_circulant", "lipa")
SOURCES = ("qaplib", "aslib", "generated", "custom")

MAX_INSTANCES_PER_SPEC = 10_000
"""The most instances one spec may name (a folder's files, qaplib names, or kinds x sizes x seeds)."""

MAX_GENERATED_N = 5_000
"""The largest generated size: two n x n matrices of 8-byte values are 400 MB at n = 5,000, and a solve needs four
times that (:func:`mezan.qap.solve.estimate_memory`)."""

_QAPLIB_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_QAPLIB_LAYOUT = "QAPLIB: the size n, then two n x n matrices of numbers"


@dataclass(frozen=True, eq=False)
class Instance:
    """A problem and where it came from."""

    problem: Any
    name: str
    source: str
    generator: str | None = None
    generator_seed: int | None = None
    path: str | None = None
    file_sha256: str | None = None

    @property
    def problem_id(self) -> str:
        return self.problem.fingerprint()

    @property
    def size(self) -> int:
        """n for a QAP (the problem's ``n`` or ``size`` attribute; 0 when it has neither)."""
        return int(getattr(self.problem, "n", None) or getattr(self.problem, "size", None) or 0)

    @property
    def best_known(self) -> float | None:
        value = getattr(self.problem, "best_known", None)
        return None if value is None else float(value)


def file_sha256(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ---- reading files -------------------------------------------------------------------------------------------

def _qaplib_expected(what: str) -> str:
    """What the QAPLIB reader expected, from its message, without the token it quotes."""
    if what.endswith("is not a finite number"):
        return "a finite number was expected here"
    if what.startswith("the size n must be"):
        return "the size n was expected here, an integer from 2 to 1,000,000"
    if what.startswith("unexpected value"):
        return "the file should end after the two n x n matrices"
    if what.startswith(("cannot open", "empty file", "expected 2*n*n")):
        return what  # these quote nothing from the file
    return "not in the QAPLIB layout"


def _qaplib_error(path: Path, exc: QAPLIBFormatError) -> QAPLIBFormatError:
    """The reader's error named by file and line, saying what was expected there, quoting nothing of the file."""
    text = str(exc)
    rest = text[len(shown(path)):] if text.startswith(shown(path)) else ""
    located = re.match(r":(\d+): (.*)", rest, re.DOTALL)
    line, what = (int(located[1]), located[2]) if located else (0, rest.lstrip(": "))
    where = f"{shown(path)}, line {line}" if line else shown(path)
    return QAPLIBFormatError(f"{where}: {_qaplib_expected(what)} ({_QAPLIB_LAYOUT})")


def _read_dat(path: Path) -> Any:
    check_size(path, what="instance file")
    try:
        return read_qaplib(path)
    except QAPLIBFormatError as exc:
        raise _qaplib_error(path, exc) from None


def _read_wire(path: Path, data: bytes, trusted: bool) -> Any:
    """A wire-form problem from a JSON file's bytes; an untrusted caller learns what was expected, not the
    validation message (which may quote a value of the file)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidProblemError(f"instance file {shown(path)}: not UTF-8 text (byte {exc.start} of the "
                                  f"file)") from None
    value = parse_json(text.removeprefix("\ufeff"), source=f"instance file {shown(path)}")
    try:
        return from_wire(value)
    except (InvalidProblemError, InvalidParameterError) as exc:
        detail = f": {exc}" if trusted else (' (a JSON object with a known "type" and that type\'s fields was '
                                            'expected)')
        raise InvalidProblemError(f"{shown(path)}: not a wire-form problem{detail}") from None


def _read_file(path: Path, source: str, best_known: dict[str, float] | None = None, *,
               trusted: bool = True) -> Instance:
    if path.suffix == ".json":
        data = read_bytes(path, what="instance file")
        sha = hashlib.sha256(data).hexdigest()
        problem = _read_wire(path, data, trusted)
        name = getattr(problem, "name", None) or path.stem
    else:
        problem = _read_dat(path)
        sha = file_sha256(path)
        name = path.stem
        if problem.best_known is None and best_known and name in best_known:
            problem = type(problem)(problem.A, problem.B, name=problem.name, best_known=best_known[name])
    return Instance(problem, name, source, path=str(path.resolve()), file_sha256=sha)


def _bks(folder: Path) -> dict[str, float]:
    return instances.best_known_table(folder)


# ---- where files may be --------------------------------------------------------------------------------------

def _within(path: Path, folder: Path, spec: str, what: str) -> Path:
    """``path`` resolved (symlinks followed); refused by name unless it lies in ``folder`` (resolved). A loop of
    links (pathlib raises RuntimeError) or a path the system refuses (OSError) is refused by name too."""
    try:
        resolved, base = path.resolve(), folder.resolve()
    except (RuntimeError, OSError) as exc:  # RuntimeError: "Symlink loop from ..." (Python <= 3.12)
        why = "a loop of symbolic links" if isinstance(exc, RuntimeError) else (exc.strerror or "cannot be resolved")
        raise InvalidParameterError(f"--instances {shown(spec)}: {why}") from None
    if resolved != base and not resolved.is_relative_to(base):
        raise InvalidParameterError(f"--instances {spec!r}: {resolved} is outside the allowed {what} {base}")
    return resolved


def _allowed(spec: str, root: Path | None) -> Path:
    """The path a FOLDER/file spec names: as given without a root; else resolved (relative to the root) and inside
    it."""
    path = Path(spec)
    if root is None:
        return path
    return _within(path if path.is_absolute() else root / path, root, spec, "root")


def _folder_files(folder: Path, spec: str) -> list[Path]:
    """The ``.dat`` and ``.json`` files of a folder, counted as they are listed (a huge folder is refused early)."""
    found: list[Path] = []
    for entry in folder.iterdir():
        if entry.suffix in (".dat", ".json") and entry.is_file():
            found.append(entry)
            if len(found) > MAX_INSTANCES_PER_SPEC:
                raise InvalidParameterError(f"--instances {spec!r}: at most {MAX_INSTANCES_PER_SPEC:,} instances "
                                            f"per spec, this folder holds more")
    if not found:
        raise InvalidParameterError(f"--instances {spec!r}: no .dat or .json problem files in that folder")
    return sorted(found)


def _from_path(spec: str, root: Path | None) -> list[Instance]:
    path = _allowed(spec, root)
    trusted = root is None
    try:
        is_file, is_dir = path.is_file(), path.is_dir()
    except OSError as exc:  # a name too long, a loop of links: not "missing", and never a traceback
        raise InvalidParameterError(f"--instances {shown(spec)}: cannot read it ({exc.strerror or exc})") from None
    if is_file:
        return [_read_file(path, "custom", trusted=trusted)]
    if is_dir:
        files = _folder_files(path, spec)
        if root is not None:
            files = [_within(p, root, spec, "root") for p in files]
        return [_read_file(p, "custom", trusted=trusted) for p in files]
    raise InvalidParameterError(f"--instances {spec!r}: not a folder or file, nor qaplib:NAMES or generated:KIND:N")


# ---- qaplib: names -------------------------------------------------------------------------------------------

def _qaplib(spec: str, root: Path | None) -> list[Instance]:
    names = [x for x in spec[len("qaplib:"):].split(",") if x]
    if not names:
        raise InvalidParameterError(f"--instances {spec!r}: no instance name after 'qaplib:'")
    if len(names) > MAX_INSTANCES_PER_SPEC:
        raise InvalidParameterError(f"--instances: at most {MAX_INSTANCES_PER_SPEC:,} instances per spec, this one "
                                    f"names {len(names):,}")
    for name in names:
        if not _QAPLIB_NAME.fullmatch(name):
            raise InvalidParameterError(f"--instances: 'qaplib:' takes instance names (letters, digits, '_' and "
                                        f"'-'), got {name!r}")
    folder = os.environ.get(QAPLIB_ENV)
    out = []
    for name in names:
        if name in instances.shipped():
            out.append(_read_file(instances.instance_path(name), "qaplib"))
        elif folder and (Path(folder) / f"{name}.dat").is_file():
            path = Path(folder) / f"{name}.dat"
            if root is not None:
                path = _within(path, Path(folder), spec, f"${QAPLIB_ENV} folder")
            out.append(_read_file(path, "qaplib", _bks(Path(folder))))
        else:
            where = f"${QAPLIB_ENV} ({folder})" if folder else f"${QAPLIB_ENV} (not set)"
            raise InvalidParameterError(f"--instances: no QAPLIB instance {name!r}: not bundled "
                                        f"({', '.join(instances.shipped())}) nor in {where}")
    return out


# ---- generated: specs ----------------------------------------------------------------------------------------

def _seeds(text: str, spec: str) -> range | list[int]:
    """The seeds of a spec: a range (counted, never enumerated, to check the spec) or a short list."""
    try:
        if "-" in text.strip("-"):
            low, high = (int(x) for x in text.split("-"))
            if high < low:
                raise ValueError
            seeds: range | list[int] = range(low, high + 1)
        else:
            seeds = [int(x) for x in text.split(",") if x]
    except ValueError:
        raise InvalidParameterError(f"--instances {spec!r}: seeds must look like 3, 0-4 or 1,5,9; got {text!r}") \
            from None
    if not seeds:
        raise InvalidParameterError(f"--instances {spec!r}: seeds must look like 3, 0-4 or 1,5,9; got {text!r}")
    for seed in (seeds[0], seeds[-1]) if isinstance(seeds, range) else seeds:
        try:
            resolve_seed(seed)  # the library's seed parser: an integer in [0, 2**63 - 1]
        except InvalidParameterError as exc:
            raise InvalidParameterError(f"--instances {spec!r}: {exc}") from None
    return seeds


def _sizes(text: str, spec: str) -> list[int]:
    try:
        sizes = [int(x) for x in text.split(",") if x]
    except ValueError:
        raise InvalidParameterError(f"--instances {spec!r}: sizes must be integers, got {text!r}") from None
    for n in sizes:
        if not 3 <= n <= MAX_GENERATED_N:
            raise InvalidParameterError(f"--instances {spec!r}: generated sizes must be from 3 to "
                                        f"{MAX_GENERATED_N:,}, got {n:,}")
    return sizes


def _check_generated(spec: str, kinds: list[str], sizes: list[int], seeds: range | list[int]) -> None:
    """Refuse a spec naming too many instances, or more than the memory holds, before one is built."""
    per_size = seeds.stop - seeds.start if isinstance(seeds, range) else len(seeds)  # len() overflows at 2**63
    count = len(kinds) * len(sizes) * per_size
    if count > MAX_INSTANCES_PER_SPEC:
        raise InvalidParameterError(f"--instances {spec!r}: at most {MAX_INSTANCES_PER_SPEC:,} instances per spec, "
                                    f"this one names {count:,}")
    need = len(kinds) * per_size * sum(16 * n * n for n in sizes)
    have = available_memory()
    if need > have:
        raise InstanceTooLargeError(f"--instances {spec!r}: {count:,} generated instances need an estimated "
                                    f"{need / 2**30:.1f} GiB (two n x n matrices of 8-byte values each), only "
                                    f"{have / 2**30:.1f} GiB is available")


def _generated_spec(spec: str) -> tuple[list[str], list[int], range | list[int]]:
    parts = spec.split(":")
    if len(parts) not in (3, 4):
        raise InvalidParameterError(f"--instances {spec!r}: write generated:KIND[,KIND]:N[,N][:SEEDS], "
                                    f"e.g. generated:taillard_a:20:0-4")
    kinds = [k for k in parts[1].split(",") if k]
    for kind in kinds:
        if kind not in GENERATORS:
            raise InvalidParameterError(f"--instances {spec!r}: unknown generator {kind!r}; generators: "
                                        f"{', '.join(GENERATORS)}")
    sizes = _sizes(parts[2], spec)
    if not kinds or not sizes:
        raise InvalidParameterError(f"--instances {spec!r}: give at least one generator and sizes >= 3")
    seeds = _seeds(parts[3], spec) if len(parts) == 4 else [0]
    _check_generated(spec, kinds, sizes, seeds)
    return kinds, sizes, seeds


def _generated_instances(kinds: list[str], sizes: list[int], seeds: range | list[int]) -> Iterator[Instance]:
    for kind in kinds:
        for n in sizes:
            for seed in seeds:
                yield Instance(generated(kind, n, seed), f"{kind}{n}s{seed}", "generated", generator=f"{kind}:{n}",
                               generator_seed=seed)


def generated(kind: str, n: int, seed: int) -> Any:
    """The problem a generator makes for (kind, n, seed); n from 3 to :data:`MAX_GENERATED_N`."""
    if kind not in GENERATORS:
        raise InvalidParameterError(f"unknown generator {kind!r}; generators: {', '.join(GENERATORS)}")
    n = integer_at_least("n", n, 3, MAX_GENERATED_N)
    if kind == "grid_manhattan":
        rows = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
        problem = generate.grid_manhattan(rows, n // rows, seed=seed)
    elif kind == "lipa":
        problem, _, value = generate.lipa(n, seed=seed)
        problem = type(problem)(problem.A, problem.B, name=problem.name, best_known=float(value))
    else:
        problem = getattr(generate, kind)(n, seed=seed)
    return type(problem)(problem.A, problem.B, name=f"{kind}{n}s{seed}", best_known=problem.best_known)


# ---- specs ---------------------------------------------------------------------------------------------------

def parse(spec: str, *, root: str | os.PathLike | None = None) -> list[Instance]:
    """The instances an ``--instances`` spec names (see the module docstring); a clear error for a bad spec.

    Parameters
    ----------
    spec : str
        ``FOLDER`` or a file, ``qaplib:NAMES`` or ``generated:KIND:N[:SEEDS]``.
    root : str or os.PathLike, optional
        Confine the files the spec may name to this folder (symlinks resolved); ``qaplib:`` names may also come
        from ``$MEZAN_QAPLIB``. None (the trusted command line): any path.

    Returns
    -------
    list of Instance
        At most :data:`MAX_INSTANCES_PER_SPEC` of them.

    Raises
    ------
    InvalidParameterError
        A malformed spec, a path outside the root, or a spec beyond the bounds.
    InvalidProblemError
        A file that does not hold a problem (named with the line, for QAPLIB files).
    InstanceTooLargeError
        Generated instances that would not fit in the memory available.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidParameterError("--instances: give FOLDER, qaplib:NAMES or generated:KIND:N[:SEEDS]")
    if "\x00" in spec:  # no path holds one (the system refuses it); resolving it would raise a bare ValueError
        raise InvalidParameterError(f"--instances {shown(spec)}: a spec cannot hold a NUL byte")
    base = None if root is None else Path(root).resolve()
    if base is not None and not base.is_dir():
        raise InvalidParameterError(f"root: {root} is not a folder")
    if spec.startswith("qaplib:"):
        return _qaplib(spec, base)
    if spec.startswith("generated:"):
        return list(_generated_instances(*_generated_spec(spec)))
    return _from_path(spec, base)


def reload(row: dict[str, Any]) -> Instance:
    """The instance a registry row describes, loaded again; InvalidParameterError when its file changed."""
    if row["source"] == "generated":
        kind, n = row["generator"].split(":")
        instance = Instance(generated(kind, int(n), int(row["generator_seed"])), row["name"], "generated",
                            generator=row["generator"], generator_seed=row["generator_seed"])
    elif row.get("path"):
        path = Path(row["path"])
        if not path.exists():
            raise InvalidParameterError(f"instance {row['name']!r}: its file {shown(path)} is gone")
        folder = path.parent
        instance = _read_file(path, row["source"], _bks(folder))
        if instance.file_sha256 != row["file_sha256"]:
            raise InvalidParameterError(f"instance {row['name']!r}: {shown(path)} changed since it was registered "
                                        f"(sha256 {row['file_sha256'][:12]}… now {instance.file_sha256[:12]}…)")
    else:
        raise InvalidParameterError(f"instance {row['name']!r} ({row['source']}) cannot be loaded again: no file")
    if instance.problem_id != row["problem_id"]:
        raise InvalidParameterError(f"instance {row['name']!r}: loaded again it is a different problem "
                                    f"(fingerprint {instance.problem_id[:12]}…, registered {row['problem_id'][:12]}…)")
    return instance


__all__ = ["GENERATORS", "MAX_GENERATED_N", "MAX_INSTANCES_PER_SPEC", "QAPLIB_ENV", "SOURCES", "Instance",
           "file_sha256", "generated", "parse", "reload"]
