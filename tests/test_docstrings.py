"""Help that tells the truth: every public function and class (docs/public_api.py, the list the API reference is
generated from) has a numpy-style docstring whose Parameters match its signature, checked by numpydoc's
validation."""

from __future__ import annotations

import sys
from pathlib import Path

import numpydoc.validate as numpydoc_validate
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "docs"))
import public_api

CHECKS = {
    "GL06": "an unknown section",
    "GL07": "sections out of order",
    "GL08": "no docstring",
    "PR01": "a parameter of the signature is not documented",
    "PR02": "a documented parameter is not in the signature",
    "PR03": "parameters documented out of order",
    "PR04": "a parameter without a type",
    "PR06": "a type named the long way (integer, string, boolean)",
    "PR07": "a parameter without a description",
    "PR10": "a parameter line without a space before the colon",
    "RT01": "no Returns section",
    "RT03": "a return value without a description",
    "SS01": "no summary",
    "SS03": "a summary that does not end with a period",
    "SS05": "a summary in the third person (Returns ... instead of Return ...)",
    "YD01": "no Yields section",
}
"""The numpydoc checks enforced (numpydoc's codes); See Also, Examples and the extended summary are not required."""

OBJECTS = sorted({f"{obj.__module__}.{obj.__qualname__}" for _, _, obj in public_api.documented()})


def test_the_public_api_is_listed_once_and_imports():
    assert len(OBJECTS) > 100
    assert "mezan.qap.solve.solve" in OBJECTS and "mezan.solve" in OBJECTS


@pytest.mark.parametrize("path", OBJECTS)
def test_public_docstring_is_numpydoc(path):
    errors = [f"{code} ({CHECKS[code]}): {message}"
              for code, message in numpydoc_validate.validate(path)["errors"] if code in CHECKS]
    assert not errors, f"{path}:\n  " + "\n  ".join(errors)
