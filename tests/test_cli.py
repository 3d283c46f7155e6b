"""The mezan command line."""

import json
import subprocess
import sys

import pytest

from mezan.cli import main


def test_solve_json_on_a_bundled_instance(capsys):
    assert main(["solve", "nug12", "--time", "0.5", "--seed", "3", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["instance"] == "nug12" and record["best_known"] == 578
    assert record["objective"] == 578 and record["gap_to_best_known"] == 0.0
    assert record["seed"] == 3 and sorted(record["solution"]) == list(range(12))
    assert record["mode"] == "auto" and record["method"] == "bnb" and record["lower_bound"] == 578


def test_solve_table_on_a_file_path(tmp_path, capsys):
    from mezan.qap import instances

    assert main(["solve", str(instances.instance_path("had12")), "--time", "0.3", "--method", "anneal"]) == 0
    out = capsys.readouterr().out
    assert "objective" in out and "1,652" in out.split("best known")[1] and "anneal" in out  # best-known row


def test_bad_input_exits_2_with_a_clear_message(tmp_path):
    bad = tmp_path / "bad.dat"
    bad.write_text("3\n1 2 3\n")
    proc = subprocess.run([sys.executable, "-m", "mezan.cli", "solve", str(bad)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "bad.dat:2: expected 2*n*n = 18 matrix values for n = 3, found 3" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "mezan.cli", "solve", "nug12", "--time", "-1"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "time_limit must be positive" in proc.stderr
    proc = subprocess.run([sys.executable, "-m", "mezan.cli", "solve", "nug12", "--method", "rots", "--mode", "auto"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and "--method and --mode are mutually exclusive" in proc.stderr


def test_solve_json_problem_and_composite_request(tmp_path, capsys):
    from pathlib import Path

    problem = tmp_path / "schedule.json"
    tasks = [{"id": "a", "duration": 2}, {"id": "b", "duration": 4}]
    problem.write_text(json.dumps({"type": "workflow", "tasks": tasks, "precedences": [["a", "b"]]}))
    assert main(["solve", str(problem), "--time", "2", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["objective"] == 6 and record["solution"] == {"a": 0, "b": 2}
    assert record["solver"] == "workflow.schedule"
    request = Path(__file__).resolve().parents[1] / "examples" / "composite" / "request.json"
    assert main(["solve", str(request), "--time", "2", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "ok" and record["stages"] == [["assignment"], ["scheduling"], ["budget"]]
    assert main(["solve", str(problem), "--mode", "hybrid"]) == 2
    assert "--method and --mode apply to QAP problems only" in capsys.readouterr().err
    broken = tmp_path / "broken.json"
    broken.write_text("{")
    assert main(["solve", str(broken)]) == 2 and "line 1 column 2: not valid JSON" in capsys.readouterr().err


def test_bench_table_json_and_plots_through_typers_runner(tmp_path):
    from typer.testing import CliRunner

    from mezan.cli import build_app
    from mezan.errors import InvalidParameterError

    runner = CliRunner()
    result = runner.invoke(build_app(), ["bench", "sweep", "--modes", "auto,hybrid", "--time", "0.05", "--max-n", "12",
                                         "--plot", str(tmp_path / "gaps"), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    names = {r["instance"] for r in out["rows"]}
    assert names and all(r["n"] <= 12 for r in out["rows"]) and {r["mode"] for r in out["rows"]} == {"auto", "hybrid"}
    assert len(out["rows"]) == 2 * len(names)
    for r in out["rows"]:  # the gap is the row's own objective against the table's best-known value
        assert r["gap_to_best_known"] == pytest.approx((r["objective"] - r["best_known"]) / r["best_known"], abs=1e-12)
        assert r["objective"] >= r["best_known"]  # these are proven optima: nothing can beat them
        if r["status"] == "optimal":  # a proof of optimality must land on the known optimum
            assert r["objective"] == r["best_known"]
    assert out["plots"] == [str(tmp_path / "gaps.png"), str(tmp_path / "gaps.svg")]
    assert (tmp_path / "gaps.png").read_bytes()[:4] == b"\x89PNG" and b"<svg" in (tmp_path / "gaps.svg").read_bytes()
    result = runner.invoke(build_app(), ["bench", "sweep", "--modes", "fastest"])  # main() turns this into exit 2
    assert isinstance(result.exception, InvalidParameterError) and "unknown mode 'fastest'" in str(result.exception)
    result = runner.invoke(build_app(), ["instances", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["nug12"] == 578


def test_bench_plot_paths_are_refused_before_the_sweep_and_replaced_only_with_force(tmp_path, capsys):
    from mezan.store import default_path

    folder = tmp_path / "plots"
    folder.mkdir()
    sweep = ["bench", "sweep", "--modes", "auto", "--time", "0.05", "--max-n", "12", "--name", "plots", "--json"]
    assert main([*sweep, "--plot", str(folder / "missing" / "gaps")]) == 2
    assert "--plot: cannot write" in capsys.readouterr().err
    assert not default_path().exists()  # refused before the sweep logged anything in the store
    (folder / "gaps.svg").write_text("mine")
    assert main([*sweep, "--plot", str(folder / "gaps")]) == 2
    err = capsys.readouterr().err
    assert "--plot: cannot write" in err and "gaps.svg: the file exists; add --force" in err
    assert (folder / "gaps.svg").read_text() == "mine" and not (folder / "gaps.png").exists()
    assert main([*sweep, "--plot", str(folder / "gaps"), "--force"]) == 0
    assert (folder / "gaps.png").read_bytes()[:4] == b"\x89PNG" and b"<svg" in (folder / "gaps.svg").read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == ["gaps.png", "gaps.svg"]  # no temporary file left
