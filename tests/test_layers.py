"""The import contract of DESIGN.md, checked by import-linter (configured in pyproject.toml): a lower layer never
imports a higher one — not even inside a function — so a violation fails the suite."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_the_layers_run_one_way():
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    if lint is None:
        pytest.fail("import-linter is not installed: it is part of the [dev] extra")
    out = subprocess.run([lint, "--no-cache", str(REPO / "pyproject.toml")], cwd=REPO / "python",
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout
