"""Every Python example under examples/ runs to completion and prints what it promises.

Each ``examples/**/*.py`` is found by glob (a new example is picked up automatically) and run as a newcomer would
run it — ``python examples/<dir>/<script>.py`` with this interpreter — in a subprocess whose working directory
and MEZAN_HOME are temporary folders, with a timeout. It must exit 0 and print the patterns listed for it in
:data:`EXPECTED`; a new example without an entry there fails until one is added. (``examples/cpp_host`` is built and
run by ``tests/test_cpp_host.py``.)
"""

import json
import os
import re
import subprocess
import sys

import pytest

from conftest import REPO

pytestmark = pytest.mark.slow  # each test runs a server or a script: seconds each

EXAMPLES = REPO / "examples"
SCRIPTS = sorted(EXAMPLES.rglob("*.py"))
TIMEOUT = 120  # seconds per example; each takes a few

# script (relative to examples/) -> regular expressions (multiline) its standard output must match
EXPECTED = {
    "agents/deepthink_atlas.py": [r"^DeepThink on had12: solver qap\.bnb", r"checks passed: True$",
                                  r"A beats B when f2 > [\d.]+\s+confirmed"],
    "composite/run.py": [r"^stages: assignment -> scheduling -> budget$", r"^status: ok "],
    "dask/scale_out.py": [r"^cluster up in .*'kind': 'dask'.*'workers': 2", r"^  seed 3: objective \d+",
                          r"^best of 4 independent solves: \d+; islands: \d+", r"mode 'islands'"],
    "evo/evolve_tsp.py": [r"^GA\s+\d+\.\d{3}\s+[\d,]+", r"^memetic\s+\d+\.\d{3}\s+[\d,]+",
                          r"^callable objective: best \d+"],
    "flows/allocflow.py": [r"^servers\s+8\.00$", r"^total value 55\.30, status optimal",
                           r"budget:staff \d", r"^knapsack.*: 22(\.0)?$"],
    "flows/dualflow.py": [r"^robust assignment \[1, 0\]: worst-case cost 10(\.0)?",
                          r"price of robustness 8(\.0)?$", r"^robust allocation .*'bonds': 10",
                          r"row strategy \[0\.333, 0\.333, 0\.333\].* value -?0\.000$"],
    "flows/graphflow.py": [r"^spanning tree: .* total cost 4(\.0)?$", r"^plant->hub\s+3\.0$",
                           r"total cost 52(\.0)? \(lower bound 52(\.0)?\), status optimal$"],
    "flows/workflow.py": [r"^review\s+9\s+10$", r"^makespan 10 \(lower bound 10\), status optimal$",
                          r"^critical path: design -> "],
    "mcp/client.py": [r"^server: mezan \(protocol .*\); tools: .*\bsolve_instance\b",
                      r"^solve_instance nug12: objective 578 \(best known 578\), status optimal"],
    "meta/metaflow.py": [r"^solve 1: qap\.\w+ -> 235528", r"warm start from the stored best\s+solution",
                         r"^race on had12, ranking: \['qap\.", r"m_hat = \d\.\d{3}"],
    "optibench/experiment.py": [r"^qap\.rots:max_iter=300\s+0\.00%", r"^Friedman: the solvers differ",
                                r"qap\.rots:max_iter=300 is better \(Wilcoxon"],
    "qap/scipy_dropin.py": [r"^faq\s+(\d+)\s+\1\s+\d+$",  # FAQ: the same objective as scipy's
                            r"^rots\s+-\s+\d+", r"^col_ind = \[[\d, ]+\], fun = \d+"],
    "qap/solve_qaplib.py": [r"^nug12: objective 578, status optimal, method bnb$",
                            r"^  lower_bound\s+2196", r"gap to the known optimum: \d+\.\d\d%$"],
    "service/client.py": [r"^server up at http://127\.0\.0\.1:\d+: health ok$",
                          r"^POST /mezan/solve -> 200: objective 578, status optimal", r"^server stopped$"],
}


def name(script):
    return script.relative_to(EXAMPLES).as_posix()


def run(script, tmp_path):
    home = tmp_path / "mezan-home"
    home.mkdir()
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env={**os.environ, "MEZAN_HOME": str(home)},
                          capture_output=True, text=True, timeout=TIMEOUT)
    assert proc.returncode == 0, f"{name(script)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr[-3000:]}"
    return proc.stdout


def test_every_expected_output_has_its_example():
    missing = sorted(set(EXPECTED) - {name(script) for script in SCRIPTS})
    assert not missing, f"EXPECTED names examples that do not exist (renamed or removed?): {missing}"


@pytest.mark.parametrize("script", SCRIPTS, ids=name)
def test_example_runs_and_prints_its_result(script, tmp_path):
    assert name(script) in EXPECTED, (f"examples/{name(script)} has no entry in EXPECTED (tests/test_examples.py): "
                                      f"add the expected output (patterns its stdout must match)")
    out = run(script, tmp_path)
    for pattern in EXPECTED[name(script)]:
        assert re.search(pattern, out, re.MULTILINE), f"{name(script)}: no match for {pattern!r} in\n{out}"
    if name(script) == "composite/run.py":
        check_composite_tables(out)


def check_composite_tables(out):
    """One table per subproblem of request.json: a ``[id] type by solver: ...`` title, a header, a rule, rows."""
    request = json.loads((EXAMPLES / "composite" / "request.json").read_text())
    ids = [sub["id"] for sub in request["subproblems"]]
    titles = re.findall(r"^\[(\w+)\] \w+ by [\w.]+: optimal, objective ", out, re.MULTILINE)
    assert sorted(titles) == sorted(ids)
    tables = re.findall(r"^\[(\w+)\].*\n  \w+ +\| +\w+\n  -+\+-+\n((?:  \S+ +\| +\S+\n)+)", out, re.MULTILINE)
    assert [sid for sid, _ in tables] == titles  # every title is followed by its table
    size = {"qap": lambda sub: len(sub["A"]), "workflow": lambda sub: len(sub["tasks"]),
            "allocation": lambda sub: len(sub["items"])}
    expected = {sub["id"]: size[sub["type"]](sub) for sub in request["subproblems"]}
    assert {sid: len(body.splitlines()) for sid, body in tables} == expected  # a row per solution entry
