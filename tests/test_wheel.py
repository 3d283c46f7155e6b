"""`make wheel`: a manylinux wheel (auditwheel-repaired) that installs and solves where there is no compiler."""

import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import mezan

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def test_the_manylinux_wheel_installs_and_solves_without_a_toolchain(tmp_path):
    subprocess.run(["make", "-o", "setup", "wheel"], cwd=REPO, check=True, capture_output=True, timeout=1200)
    wheels = sorted(REPO.glob(f"dist/mezan-{mezan.__version__}-*manylinux*.whl"), key=lambda p: p.stat().st_mtime)
    assert wheels, "make wheel wrote no manylinux wheel"
    wheel = wheels[-1]
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", str(wheel)],
                   check=True, timeout=300)
    # The dependencies (numpy, scipy, ...) come from this environment through a .pth, after the fresh venv's own
    # site-packages: mezan itself is the wheel's, nothing of it is built or imported from here.
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    Path(site, "zz_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    bare = tmp_path / "bin"  # PATH: the venv and a directory without a compiler or CMake
    bare.mkdir()
    env = {"PATH": f"{venv / 'bin'}:{bare}", "HOME": str(tmp_path), "MEZAN_HOME": str(tmp_path / "home")}
    script = (
        "import shutil, mezan, mezan._core\n"
        "assert not any(shutil.which(tool) for tool in ('g++', 'gcc', 'c++', 'cmake')), 'a toolchain is on PATH'\n"
        f"assert mezan._core.__file__.startswith({str(venv)!r}), mezan._core.__file__\n"
        "from mezan.qap import load, solve\n"
        "r = solve(load('nug12'), None, time_limit=5, seed=1)\n"
        "print(r.objective, r.status)\n")
    run = subprocess.run([str(python), "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["578", "optimal"]
