"""The one fingerprint of every problem record: sha256 of a canonical encoding.

The encoding is, in order:

1. a JSON header ``{"type": <problem type>, <field>: <value>, ...}`` — the type first, then the record's
   non-array fields sorted by name (nested objects sorted by key too; every number written the same way
   whatever its Python or numpy type: an integral value as an integer, 3.0 and 3 alike), with ``json.dumps``'s
   default separators; the fields must state every array's shape (QAP's ``n``, the others' ``shapes``);
2. then each array, in the record's order, as C-ordered little-endian float64 bytes.

Names, best-known values and other labels are not part of a problem and stay out of its fingerprint.

QAP's header is ``{"type": "qap", "n": n}`` followed by A and B: exactly the bytes of the fingerprint MEZAN
has always written for QAP, so the fingerprints kept in MetaFlow stores stay valid.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

_EXACT_INTEGER = 2**53  # an integral float below this is written as the integer it equals


def canonical_value(value: Any) -> Any:
    """A JSON value in canonical form: objects with sorted keys, tuples as lists, numpy scalars as Python
    numbers, integral floats (below 2**53) as integers."""
    if isinstance(value, Mapping):
        return {str(k): canonical_value(value[k]) for k in sorted(value, key=str)}
    if isinstance(value, (list, tuple)):
        return [canonical_value(v) for v in value]
    if isinstance(value, np.ndarray):
        return canonical_value(value.tolist())
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isfinite(value) and value.is_integer() and abs(value) < _EXACT_INTEGER:
        return int(value)
    return value


def fingerprint(problem_type: str, fields: Mapping[str, Any], arrays: Iterable[np.ndarray] = ()) -> str:
    """sha256 (hex) of the canonical encoding of a problem (see the module docstring)."""
    header = {"type": problem_type, **{k: canonical_value(fields[k]) for k in sorted(fields)}}
    digest = hashlib.sha256(json.dumps(header).encode())
    for array in arrays:
        digest.update(np.ascontiguousarray(array, dtype="<f8").tobytes())
    return digest.hexdigest()


def shapes(**arrays: np.ndarray) -> dict[str, dict[str, list[int]]]:
    """``{"shapes": {name: shape}}``: the header field that states an array record's shapes."""
    return {"shapes": {name: [int(k) for k in array.shape] for name, array in arrays.items()}}


class Fingerprinted:
    """Mixin of every problem record: ``fingerprint()`` from the record's :meth:`canonical` form.

    The default canonical form is the wire form without ``type`` and ``name`` and no arrays (the records whose
    data are lists and objects); a record holding matrices overrides :meth:`canonical` to return its scalar
    fields and shapes, and the matrices themselves."""

    problem_type: str

    def canonical(self) -> tuple[dict[str, Any], tuple[np.ndarray, ...]]:
        """(non-array fields, arrays) of the canonical encoding."""
        wire = self.to_dict()  # type: ignore[attr-defined]
        return {k: v for k, v in wire.items() if k not in ("type", "name")}, ()

    def fingerprint(self) -> str:
        """sha256 of the canonical encoding (see :mod:`mezan.problems.fingerprint`)."""
        fields, arrays = self.canonical()
        return fingerprint(self.problem_type, fields, arrays)
