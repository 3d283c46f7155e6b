"""How much a user installs: the size of a fresh virtual environment with MEZAN's wheel alone (the core) and with
``[all]`` (every component).

    python bench/install_size.py [--wheel dist/mezan-...whl]

Builds the wheel with ``make wheel`` when none is given, then creates each environment in a temporary folder,
installs into it from PyPI (pip's cache applies) and reports its size on disk (``du``), its packages and the
largest of them. The core's target is at most 200 MB.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def folder_mb(path: Path) -> float:
    out = subprocess.run(["du", "-sk", str(path)], capture_output=True, text=True, check=True).stdout
    return int(out.split()[0]) / 1024


def measure(wheel: Path, extra: str, where: Path) -> None:
    venv = where / (extra or "core")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    target = f"{wheel}[{extra}]" if extra else str(wheel)
    subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    target], check=True)
    site = next((venv / "lib").glob("python*/site-packages"))
    sizes = sorted(((folder_mb(p), p.name) for p in site.iterdir() if not p.name.endswith(".dist-info")),
                   reverse=True)
    packages = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "list", "--format=freeze"],
                              capture_output=True, text=True, check=True).stdout.split()
    print(f"{extra or 'core':>5}: venv {folder_mb(venv):.0f} MB, {len(packages)} packages; largest: "
          + ", ".join(f"{name} {mb:.0f}" for mb, name in sizes[:6]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--wheel", help="the wheel to install (default: make wheel's newest)")
    args = parser.parse_args()
    if args.wheel is None:
        subprocess.run(["make", "wheel"], cwd=REPO, check=True, capture_output=True)
    wheel = Path(args.wheel) if args.wheel else sorted(REPO.glob("dist/mezan-*manylinux*.whl"),
                                                          key=lambda p: p.stat().st_mtime)[-1]
    with tempfile.TemporaryDirectory(prefix="mezan-install-size-") as tmp:
        for extra in ("", "all"):
            measure(wheel.resolve(), extra, Path(tmp))
    return 0


if __name__ == "__main__":
    sys.exit(main())
