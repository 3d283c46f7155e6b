"""The public entry points type-check (mypy, configured in pyproject.toml): ``mezan.solve``/``mezan.compile``,
the problem records, errors, budgets and seeds, the registry, C2SC, the store and isolated solves."""

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PUBLIC = ["mezan/__init__.py", "mezan/problems", "mezan/errors.py", "mezan/running.py", "mezan/registry.py",
          "mezan/isolated.py", "mezan/store.py", "mezan/c2sc", "mezan/results.py", "mezan/qap/result.py",
          "mezan/deprecation.py"]


@pytest.mark.slow
def test_the_public_modules_type_check():
    mypy = [sys.executable, "-m", "mypy", "--config-file", str(REPO / "pyproject.toml"), "--no-incremental",
            "--cache-dir", "/dev/null"]  # mypy is part of the [dev] extra: missing, this fails
    out = subprocess.run([*mypy, *PUBLIC], cwd=REPO / "python", capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
