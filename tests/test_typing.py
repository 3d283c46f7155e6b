"""The public entry points type-check (mypy, configured in pyproject.toml): ``mezan.solve``/``mezan.compile``,
the problem records, errors, budgets and seeds, the registry, C2SC, the store and isolated solves."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_public_modules_type_check():
    mypy = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), "--no-incremental",
            "--cache-dir", "/dev/null"]  # mypy is part of the [dev] extra: missing, this fails
    # the modules: pyproject.toml's [tool.mypy] files (the list `make lint` checks too)
    out = subprocess.run(mypy, cwd=REPO / "python", capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    checked = re.search(r"no issues found in (\d+) source files", out.stdout)
    assert checked and int(checked.group(1)) >= 20, out.stdout  # the list was read: every public module checked
