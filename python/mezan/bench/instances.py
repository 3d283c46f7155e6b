"""Instance specifications for OptiBench: what ``--instances`` names, read into problems with their provenance.

- ``FOLDER`` (or one file): every QAPLIB ``.dat`` file and every wire-form ``.json`` problem in it (source
  ``custom``; the file's path and sha256 are kept, so a changed file is detected).
- ``qaplib:NAME[,NAME...]``: QAPLIB instances — bundled with MEZAN, else ``$MEZAN_QAPLIB/NAME.dat`` (source
  ``qaplib``; best-known values from MEZAN's table, or ``bks.csv`` beside the files).
- ``generated:KIND[,KIND...]:N[,N...][:SEEDS]``: MEZAN's generators (:mod:`mezan.qap.generate`) at sizes ``N`` for
  seeds ``SEEDS`` (``3``, ``0-4`` or ``1,5,9``; default ``0``); source ``generated`` with the generator and seed.

An :class:`Instance` can be loaded again from what the registry keeps (:func:`reload`), which is how a reproduced
run gets exactly its problem back — or learns that its file changed.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.problems import from_wire
from mezan.qap import generate, instances, read_qaplib

QAPLIB_ENV = "MEZAN_QAPLIB"
GENERATORS = ("taillard_a", "taillard_b", "grid_manhattan", "ring_circulant", "lipa")
SOURCES = ("qaplib", "aslib", "generated", "custom")


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


def _read_file(path: Path, source: str, best_known: dict[str, float] | None = None) -> Instance:
    sha = file_sha256(path)
    if path.suffix == ".json":
        try:
            problem = from_wire(json.loads(path.read_text()))
        except (OSError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
            raise InvalidProblemError(f"{path}: not a wire-form problem: {exc}") from None
        name = getattr(problem, "name", None) or path.stem
    else:
        problem = read_qaplib(path)
        name = path.stem
        if problem.best_known is None and best_known and name in best_known:
            problem = type(problem)(problem.A, problem.B, name=problem.name, best_known=best_known[name])
    return Instance(problem, name, source, path=str(path.resolve()), file_sha256=sha)


def _bks(folder: Path) -> dict[str, float]:
    path = folder / "bks.csv"
    if not path.exists():
        return {}
    table = {}
    with open(path, newline="") as handle:
        for row in csv.DictReader(handle):
            try:
                table[row["name"]] = float(row.get("bks") or row.get("best_known") or row.get("value") or "nan")
            except (KeyError, ValueError):
                continue
    return {k: v for k, v in table.items() if math.isfinite(v)}


def _seeds(text: str, spec: str) -> list[int]:
    try:
        if "-" in text.strip("-"):
            low, high = (int(x) for x in text.split("-"))
            if high < low:
                raise ValueError
            return list(range(low, high + 1))
        return [int(x) for x in text.split(",") if x]
    except ValueError:
        raise InvalidParameterError(f"--instances {spec!r}: seeds must look like 3, 0-4 or 1,5,9; got {text!r}") \
            from None


def generated(kind: str, n: int, seed: int) -> Any:
    """The problem a generator makes for (kind, n, seed)."""
    if kind not in GENERATORS:
        raise InvalidParameterError(f"unknown generator {kind!r}; generators: {', '.join(GENERATORS)}")
    if kind == "grid_manhattan":
        rows = max(d for d in range(1, math.isqrt(n) + 1) if n % d == 0)
        problem = generate.grid_manhattan(rows, n // rows, seed=seed)
    elif kind == "lipa":
        problem, _, value = generate.lipa(n, seed=seed)
        problem = type(problem)(problem.A, problem.B, name=problem.name, best_known=float(value))
    else:
        problem = getattr(generate, kind)(n, seed=seed)
    return type(problem)(problem.A, problem.B, name=f"{kind}{n}s{seed}", best_known=problem.best_known)


def parse(spec: str) -> list[Instance]:
    """The instances an ``--instances`` spec names (see the module docstring); a clear error for a bad spec."""
    if not isinstance(spec, str) or not spec.strip():
        raise InvalidParameterError("--instances: give FOLDER, qaplib:NAMES or generated:KIND:N[:SEEDS]")
    if spec.startswith("qaplib:"):
        names = [x for x in spec[len("qaplib:"):].split(",") if x]
        if not names:
            raise InvalidParameterError(f"--instances {spec!r}: no instance name after 'qaplib:'")
        folder = os.environ.get(QAPLIB_ENV)
        out = []
        for name in names:
            if name in instances.shipped():
                out.append(_read_file(instances.instance_path(name), "qaplib"))
            elif folder and (Path(folder) / f"{name}.dat").exists():
                out.append(_read_file(Path(folder) / f"{name}.dat", "qaplib", _bks(Path(folder))))
            else:
                where = f"${QAPLIB_ENV} ({folder})" if folder else f"${QAPLIB_ENV} (not set)"
                raise InvalidParameterError(f"--instances: no QAPLIB instance {name!r}: not bundled "
                                            f"({', '.join(instances.shipped())}) nor in {where}")
        return out
    if spec.startswith("generated:"):
        parts = spec.split(":")
        if len(parts) not in (3, 4):
            raise InvalidParameterError(f"--instances {spec!r}: write generated:KIND[,KIND]:N[,N][:SEEDS], "
                                        f"e.g. generated:taillard_a:20:0-4")
        kinds = [k for k in parts[1].split(",") if k]
        for kind in kinds:
            if kind not in GENERATORS:
                raise InvalidParameterError(f"--instances {spec!r}: unknown generator {kind!r}; generators: "
                                            f"{', '.join(GENERATORS)}")
        try:
            sizes = [int(x) for x in parts[2].split(",") if x]
        except ValueError:
            raise InvalidParameterError(f"--instances {spec!r}: sizes must be integers, got {parts[2]!r}") from None
        if not kinds or not sizes or min(sizes) < 3:
            raise InvalidParameterError(f"--instances {spec!r}: give at least one generator and sizes >= 3")
        seeds = _seeds(parts[3], spec) if len(parts) == 4 else [0]
        return [Instance(generated(kind, n, seed), f"{kind}{n}s{seed}", "generated", generator=f"{kind}:{n}",
                         generator_seed=seed) for kind in kinds for n in sizes for seed in seeds]
    path = Path(spec)
    if path.is_file():
        return [_read_file(path, "custom")]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".dat", ".json") and p.is_file())
        if not files:
            raise InvalidParameterError(f"--instances {spec!r}: no .dat or .json problem files in that folder")
        return [_read_file(p, "custom") for p in files]
    raise InvalidParameterError(f"--instances {spec!r}: not a folder or file, nor qaplib:NAMES or generated:KIND:N")


def reload(row: dict[str, Any]) -> Instance:
    """The instance a registry row describes, loaded again; InvalidParameterError when its file changed."""
    if row["source"] == "generated":
        kind, n = row["generator"].split(":")
        instance = Instance(generated(kind, int(n), int(row["generator_seed"])), row["name"], "generated",
                            generator=row["generator"], generator_seed=row["generator_seed"])
    elif row.get("path"):
        path = Path(row["path"])
        if not path.exists():
            raise InvalidParameterError(f"instance {row['name']!r}: its file {path} is gone")
        folder = path.parent
        instance = _read_file(path, row["source"], _bks(folder))
        if instance.file_sha256 != row["file_sha256"]:
            raise InvalidParameterError(f"instance {row['name']!r}: {path} changed since it was registered (sha256 "
                                        f"{row['file_sha256'][:12]}… now {instance.file_sha256[:12]}…)")
    else:
        raise InvalidParameterError(f"instance {row['name']!r} ({row['source']}) cannot be loaded again: no file")
    if instance.problem_id != row["problem_id"]:
        raise InvalidParameterError(f"instance {row['name']!r}: loaded again it is a different problem "
                                    f"(fingerprint {instance.problem_id[:12]}…, registered {row['problem_id'][:12]}…)")
    return instance


__all__ = ["GENERATORS", "QAPLIB_ENV", "SOURCES", "Instance", "file_sha256", "generated", "parse", "reload"]
