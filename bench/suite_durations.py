"""The suite's slow tests and their durations, from a JUnit XML report, for the suite's scheduling.

``tests/conftest.py`` starts the tests listed in ``tests/durations.json`` first, longest first, so that the
workers of ``pytest -n 2`` finish together (longest processing time first) instead of one long test running alone
at the end. Refresh the file after a change that makes a test much slower or faster:

    python -m pytest -n 2 --junitxml=/tmp/suite.xml && python bench/suite_durations.py /tmp/suite.xml
"""

from __future__ import annotations

import argparse
import json
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("junit", help="pytest's --junitxml report of a whole-suite run")
    parser.add_argument("--min-seconds", type=float, default=1.0, help="list the tests at least this long")
    parser.add_argument("--out", default=str(REPO / "tests" / "durations.json"))
    args = parser.parse_args()
    durations = {}
    for case in ET.parse(args.junit).iter("testcase"):
        seconds = float(case.get("time", 0))
        if seconds >= args.min_seconds:
            module = case.get("classname", "").replace(".", "/")
            durations[f"{module}.py::{case.get('name')}"] = round(seconds, 1)
    ordered = dict(sorted(durations.items(), key=lambda item: -item[1]))
    Path(args.out).write_text(json.dumps(ordered, indent=0) + "\n")
    print(f"{len(ordered)} tests of at least {args.min_seconds:g} s, {sum(ordered.values()):.0f} s in all: {args.out}")


if __name__ == "__main__":
    main()
