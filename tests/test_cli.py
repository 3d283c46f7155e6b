"""The mezan command line."""

import json
import subprocess
import sys

from mezan.cli import main


def test_solve_json_on_a_bundled_instance(capsys):
    assert main(["solve", "nug12", "--time", "0.5", "--seed", "3", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["instance"] == "nug12" and record["best_known"] == 578
    assert record["objective"] == 578 and record["gap_to_best_known"] == 0.0
    assert record["seed"] == 3 and sorted(record["permutation"]) == list(range(12))
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
