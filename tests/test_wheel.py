"""`make wheel`: a manylinux wheel (auditwheel-repaired) that installs and solves where there is no compiler."""

import fcntl
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

import mezan

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


def built_wheel() -> Path:
    """``make wheel`` (it builds only when a source file changed since its last build: the set-up of ``make test``
    built it), under a lock so that tests on two workers never build at once; the newest manylinux wheel."""
    (REPO / "dist").mkdir(exist_ok=True)
    with open(REPO / "dist" / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        subprocess.run(["make", "-o", "setup", "wheel"], cwd=REPO, check=True, capture_output=True, timeout=1200)
    wheels = sorted(REPO.glob(f"dist/mezan-{mezan.__version__}-*manylinux*.whl"), key=lambda p: p.stat().st_mtime)
    assert wheels, "make wheel wrote no manylinux wheel"
    return wheels[-1]


def test_the_manylinux_wheel_installs_and_solves_without_a_toolchain(tmp_path):
    wheel = built_wheel()
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps", "--no-compile",
                    "--disable-pip-version-check", str(wheel)], check=True, timeout=300)
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


CORE_TESTS = ["tests/test_bindings.py", "tests/test_scipy_compat.py", "tests/test_solve.py", "tests/test_evo.py",
              "tests/test_qaplib.py"]
"""The core's tests, which ``pip install mezan`` alone must pass: the bindings, QAPFlow's solve (every method and
mode), the scipy drop-in, EvoFlow and the QAPLIB reader. (The kernels', bounds' and branch and bound's own tests
exercise the same compiled core; the main suite runs them.)"""


def test_the_core_installs_alone_and_passes_its_tests(tmp_path):
    """``pip install WHEEL`` (no extra) into a fresh venv: numpy, typer and rich (no scipy); the core's tests pass
    there (with the test tools and scipy, the drop-in's reference, added after), ``mezan solve`` works, and a
    component without its extra says which extra to install."""
    wheel = built_wheel()
    venv = tmp_path / "core"
    # A venv without its own pip, filled by this environment's pip (--python): the same packages land in it, without
    # seeding a pip there; --no-compile: no byte-compiling of scipy's thousand modules that the tests never import.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    pip = [sys.executable, "-m", "pip", "--python", python, "--disable-pip-version-check"]
    subprocess.run([*pip, "install", "-q", "--no-compile", str(wheel)], check=True, timeout=600)
    listed = subprocess.run([*pip, "list", "--format=freeze"], capture_output=True, text=True, check=True).stdout
    names = {line.split("==")[0].lower() for line in listed.split()}
    assert {"numpy", "typer", "rich", "mezan"} <= names
    assert not names & {"scipy", "scikit-learn", "ortools", "networkx", "statsmodels", "pandas", "fastapi", "dask"}, \
        names
    env = {"PATH": f"{venv / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "MEZAN_HOME": str(tmp_path / "home")}
    solved = subprocess.run([str(venv / "bin" / "mezan"), "solve", "nug12", "--time", "2", "--json"],
                            capture_output=True, text=True, env=env, timeout=120)
    assert solved.returncode == 0, solved.stderr
    assert '"objective": 578' in solved.stdout
    for component, extra in (("mezan.meta", "meta"), ("mezan.flows", "flows"), ("mezan.bench", "bench")):
        refused = subprocess.run([python, "-c", f"import {component}"], capture_output=True, text=True, env=env)
        assert refused.returncode == 1 and "MissingExtraError" in refused.stderr, refused.stderr
        assert f"pip install 'mezan[{extra}]'" in refused.stderr
    # the test extra: pytest, hypothesis and scipy (the drop-in's reference)
    subprocess.run([*pip, "install", "-q", "--no-compile", f"{wheel}[test]"], check=True, timeout=600)
    tests = subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow", *CORE_TESTS],
                           cwd=REPO, capture_output=True, text=True, env=env, timeout=1200)
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-2000:]
