"""The README's Python examples run as written (each ```python block, in order, in a fresh namespace)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def python_blocks() -> list[tuple[str, str]]:
    """(section heading, code) of every ```python block of the README."""
    blocks, heading = [], ""
    for match in re.finditer(r"^## ([^\n]+)$|^```python\n(.*?)^```", README.read_text(), re.M | re.S):
        if match.group(1):
            heading = match.group(1)
        else:
            blocks.append((heading, match.group(2)))
    return blocks


def test_the_readme_has_python_examples():
    headings = [h for h, _ in python_blocks()]
    assert len(headings) >= 8 and "C2SC: composite requests" in headings


@pytest.mark.parametrize(("heading", "code"), python_blocks(), ids=[h for h, _ in python_blocks()])
def test_a_readme_example_runs_as_written(heading, code, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md ({heading})", "exec"), {"__name__": "readme_example"})
