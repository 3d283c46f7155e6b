"""OptiBench's registry and experiments: runs recorded once and resumed after a kill, reproduction with drift,
exports, the environment snapshot, the A/B command, and bad input — one clear line, nothing stored."""

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from mezan.bench import experiments
from mezan.bench.analysis import analyze, load
from mezan.bench.experiments import Plan, export, reproduce, run_experiment
from mezan.bench.registry import Registry, environment
from mezan.cli import main
from mezan.errors import InvalidParameterError
from mezan.qap import instances as bundled
from mezan.store import Store

BIN = Path(sys.executable).parent


@pytest.fixture
def registry(tmp_path):
    return Registry(Store(tmp_path / "bench.db"))


def _capped_plan(**kwargs):
    return Plan(["generated:taillard_a:14:0-1", "qaplib:nug12"], ["rots", "anneal"], seeds=2, time_limit=30.0,
                max_iter=300, **kwargs)


def test_an_experiment_records_every_cell_once_with_its_environment(registry):
    plan = _capped_plan()
    experiment = run_experiment(plan, registry=registry)
    runs = registry.runs(experiment.id)
    assert len(runs) == 3 * 2 * 2 and len({r["cell"] for r in runs}) == len(runs)
    assert {r["seed"] for r in runs} == {0, 1} and all(r["config"] == {"max_iter": 300} for r in runs)
    assert all(r["status"] == "feasible" and r["objective"] is not None and r["trace"] for r in runs)
    assert all(r["memory_mb"] is None or r["memory_mb"] > 1 for r in runs)
    env = registry.environment(runs[0]["env_id"])
    assert env["python"] and env["cpu"] and env["cores"] >= 1 and env["compiler"].startswith(("gcc", "clang"))
    assert env == json.loads(json.dumps(environment())) and "-O" in env["build_flags"]
    # the same design again: the same experiment, nothing re-run, no duplicate row
    again = run_experiment(plan, registry=registry)
    assert again.id == experiment.id and len(registry.runs(experiment.id)) == len(runs)
    instance = registry.instance(runs[0]["problem_id"])
    assert len(instance["problem_id"]) == 64 and instance["source"] in ("generated", "qaplib")
    record = registry.run_record(runs[0])
    assert set(record) >= {"problem_id", "instance", "source", "size", "solver", "result", "environment"}
    assert set(record["result"]) == {"objective", "time", "memory_mb", "status"}
    assert set(record["environment"]) == {"python", "platform", "cpu"}
    nug = [registry.instance(r["problem_id"]) for r in runs if registry.instance(r["problem_id"])["name"] == "nug12"]
    assert nug[0]["best_known"] == 578 and nug[0]["file_sha256"] and nug[0]["path"].endswith("nug12.dat")


def test_every_cell_is_deterministic_for_its_seed_and_reproduces_exactly(registry):
    experiment = run_experiment(_capped_plan(), registry=registry)
    report = reproduce(experiment.id, registry=registry)
    assert report["reproduced"] and report["deterministic"] == report["runs"] == 12
    assert not report["correctness_drift"] and not report["seed_drift"]
    one = reproduce(str(registry.runs(experiment.id)[3]["id"]), registry=registry)
    assert one["runs"] == 1 and one["reproduced"]


def test_a_changed_seed_mapping_is_reported_as_drift(registry, monkeypatch):
    experiment = run_experiment(_capped_plan(), registry=registry)
    monkeypatch.setattr(experiments, "cell_seed", lambda seed, replicate: 1000 + seed + replicate)
    report = reproduce(experiment.id, registry=registry)
    assert not report["reproduced"]
    assert len(report["seed_drift"]) == 12 and report["seed_drift"][0]["seed_now"] >= 1000
    assert len(report["correctness_drift"]) >= 6  # a different seed, a different search: most objectives move
    assert main(["bench", "reproduce", experiment.id, "--store", str(registry.store.path)]) == 1


def test_performance_drift_and_environment_differences(registry, monkeypatch):
    experiment = run_experiment(Plan(["qaplib:nug12"], ["rots"], seeds=1, time_limit=30.0, max_iter=200),
                                registry=registry)
    real = experiments.run_cell

    def slow_cell(*args, **kwargs):
        value = real(*args, **kwargs)
        return {**value, "wall_time": value["wall_time"] + 1.0,
                "environment": {**value["environment"], "numpy": "0.0-test"}}

    monkeypatch.setattr(experiments, "run_cell", slow_cell)
    monkeypatch.setattr(experiments, "environment", lambda: {**environment(), "numpy": "0.0-test"})
    report = reproduce(experiment.id, registry=registry, tolerance=0.25)
    assert len(report["performance_drift"]) == 1 and report["performance_drift"][0]["ratio"] > 1.25
    assert not report["correctness_drift"]
    assert report["environment"]["numpy"]["now"] == "0.0-test"


def test_time_limited_runs_are_not_judged_for_correctness(registry):
    experiment = run_experiment(Plan(["qaplib:nug12"], ["anneal"], seeds=1, time_limit=0.05), registry=registry)
    report = reproduce(experiment.id, registry=registry)
    assert report["time_limited"] == 1 and report["deterministic"] == 0 and report["reproduced"]


def _tables(path):
    with sqlite3.connect(path) as db:
        have = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in
                ("bench_experiments", "bench_runs", "bench_instances") if t in have}


@pytest.mark.parametrize(("argv", "message"), [
    (["--instances", "qaplib:nug12", "--solvers", "rots,fastest"], "unknown solver 'fastest'"),
    (["--instances", "qaplib:nug99", "--solvers", "rots"], "no QAPLIB instance 'nug99'"),
    (["--instances", "generated:cubes:20", "--solvers", "rots"], "unknown generator 'cubes'"),
    (["--instances", "generated:taillard_a:x", "--solvers", "rots"], "sizes must be integers"),
    (["--instances", "/no/such/folder", "--solvers", "rots"], "not a folder or file"),
    (["--instances", "qaplib:nug12", "--solvers", "rots:depth=3"], "has no option 'depth'"),
    (["--instances", "qaplib:nug12", "--solvers", "rots", "--seeds", "0"],
     "--seeds must be an integer in [1, 10000], got 0"),
    (["--instances", "qaplib:nug12", "--solvers", "rots", "--time", "-1"], "--time must be a positive"),
    (["--instances", "qaplib:nug12", "--solvers", "allocflow.highs"], "solves allocation problems"),
])
def test_bad_input_is_one_clear_line_and_nothing_is_stored(tmp_path, capsys, argv, message):
    store = tmp_path / "s.db"
    Store(store)  # an empty store exists
    assert main(["bench", "run", *argv, "--store", str(store)]) == 2  # every check comes before any run
    err = capsys.readouterr().err.strip()
    assert message in err and err.startswith("mezan: error:") and "\n" not in err
    assert all(count == 0 for count in _tables(store).values())


def test_unknown_experiment_and_empty_experiment_are_clear_errors(registry, capsys):
    store = str(registry.store.path)
    for command in (["analyze", "exp-nope"], ["report", "exp-nope", "--out", "x.html"],
                    ["export", "exp-nope", "--out", "x.csv"], ["reproduce", "exp-nope"], ["reproduce", "999"]):
        assert main(["bench", *command, "--store", store]) == 2
        err = capsys.readouterr().err
        assert "no experiment 'exp-nope'" in err or "no run 999" in err
    registry.create_experiment("empty", {"instances": [], "solvers": []})
    assert main(["bench", "analyze", "empty", "--store", store]) == 2
    assert "experiment 'empty' has no runs" in capsys.readouterr().err
    assert main(["bench", "export", "empty", "--out", "x.csv", "--store", store]) == 2
    assert main(["bench", "export", "empty", "--format", "xml", "--out", "x", "--store", store]) == 2
    assert "--format must be csv, parquet or aslib" in capsys.readouterr().err


def test_a_tampered_instance_file_is_refused_until_registered_again(registry, tmp_path, capsys):
    folder = tmp_path / "instances"
    folder.mkdir()
    shutil.copy(bundled.instance_path("nug12"), folder / "mine.dat")
    plan = Plan([str(folder)], ["rots"], seeds=1, time_limit=30.0, max_iter=100)
    experiment = run_experiment(plan, registry=registry)
    text = (folder / "mine.dat").read_text().split("\n")
    text[2] = text[2].replace("1", "7", 1)  # one flow entry changed
    (folder / "mine.dat").write_text("\n".join(text))
    with pytest.raises(InvalidParameterError, match="changed since it was registered"):
        run_experiment(Plan([str(folder)], ["rots"], seeds=1, time_limit=30.0, max_iter=100), registry=registry,
                       name="other")
    assert [e.name for e in registry.experiments()] == [experiment.name]  # nothing stored
    with pytest.raises(InvalidParameterError, match="changed since it was registered"):
        reproduce(experiment.id, registry=registry)
    store = str(registry.store.path)
    assert main(["bench", "register", str(folder), "--store", store]) == 2
    assert "mezan bench register" in capsys.readouterr().err
    assert main(["bench", "register", str(folder), "--replace", "--store", store]) == 0
    run_experiment(Plan([str(folder)], ["rots"], seeds=1, time_limit=30.0, max_iter=100), registry=registry,
                   name="other")
    assert len(registry.instances()) == 2


def test_exports_csv_parquet_and_an_aslib_scenario(registry, tmp_path):
    experiment = run_experiment(Plan(["generated:taillard_a,grid_manhattan:12:0-1"], ["rots", "local_first"],
                                     seeds=2, time_limit=30.0, max_iter=150), registry=registry)
    import csv

    path = export(experiment.id, tmp_path / "runs.csv", registry=registry)
    with open(path) as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 16 and set(rows[0]) >= {"instance", "solver", "seed", "budget", "objective", "status",
                                                "wall_time", "memory_mb"}
    pyarrow_parquet = pytest.importorskip("pyarrow.parquet")
    table = pyarrow_parquet.read_table(export(experiment.name, tmp_path / "runs.parquet", fmt="parquet",
                                              registry=registry))
    assert table.num_rows == 16 and table.column("objective").to_pylist() == [float(r["objective"]) for r in rows]
    from mezan.meta.aslib import read_scenario

    scenario = read_scenario(export(experiment.id, tmp_path / "scenario", fmt="aslib", registry=registry))
    assert scenario.performance_type == "solution_quality" and len(scenario.instances) == 4
    assert sorted(scenario.algorithms) == ["qap.local_first:max_iter=150", "qap.rots:max_iter=150"]
    assert scenario.performance.shape == (4, 2) and (scenario.performance >= 0).all()


def test_analyze_json_has_the_contracted_fields(registry, capsys):
    experiment = run_experiment(Plan(["generated:taillard_a:16:0-5"], ["rots", "anneal", "local_first"], seeds=1,
                                     time_limit=30.0, max_iter=400), registry=registry)
    assert main(["bench", "analyze", experiment.id, "--json", "--store", str(registry.store.path)]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["runs"] == 18 and set(result["solvers"]) == {"qap.rots:max_iter=400", "qap.anneal:max_iter=400",
                                                               "qap.local_first:max_iter=400"}
    for value in result["solvers"].values():
        assert {"mean_gap", "mean_gap_ci", "success_rate"} <= set(value)
        assert value["mean_gap_ci"][0] <= value["mean_gap"] <= value["mean_gap_ci"][1]
    assert {"statistic", "p_value"} <= set(result["friedman"]) and len(result["pairwise"]) == 3
    data = load(registry, experiment.id)
    ranks = analyze(data)["friedman"]["average_ranks"]
    assert sum(ranks) == pytest.approx(6.0) and ranks[0] == min(ranks)  # 400 RoTS moves beat 400 annealing moves


@pytest.mark.slow
def test_a_killed_experiment_resumes_and_runs_every_cell_exactly_once(tmp_path):
    env = {**os.environ, "MEZAN_HOME": str(tmp_path)}
    argv = [str(BIN / "mezan"), "bench", "run", "--instances", "generated:taillard_a:20:0-4", "--solvers",
            "anneal,rots", "--seeds", "2", "--time", "0.25", "--name", "killed", "--json"]
    first = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    db = tmp_path / "mezan.db"
    deadline = time.monotonic() + 120
    count = 0
    while time.monotonic() < deadline:
        time.sleep(0.1)
        try:
            with sqlite3.connect(db) as conn:
                count = conn.execute("SELECT COUNT(*) FROM bench_runs").fetchone()[0]
        except sqlite3.OperationalError:
            continue
        if count >= 10:
            break
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=30)
    assert 10 <= count < 20, count
    second = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert second.returncode == 0, second.stderr
    summary = json.loads(second.stdout)
    assert summary["cells"] == 20 and summary["resumed_with"] >= 10 and summary["runs"] == 20
    assert summary["ran"] == 20 - summary["resumed_with"]
    with sqlite3.connect(db) as conn:
        cells = [r[0] for r in conn.execute("SELECT cell FROM bench_runs")]
    assert len(cells) == 20 and len(set(cells)) == 20


@pytest.mark.slow
def test_ab_command_stops_early_when_the_difference_is_large(capsys):
    assert main(["bench", "ab", "local_first", "rots", "--instances", "generated:taillard_a:20:0-9", "--time", "0.05",
                 "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["winner"] == "qap.rots" and result["trials"] == 10  # decided at the first look
    assert result["trials_saved"] == result["fixed_trials"] - 10 > 0
    low, high = result["difference_interval"]
    assert 0 < low <= result["mean_difference"] <= high and result["a12"] == 0.0
    assert main(["bench", "ab", "rots", "rots", "--instances", "qaplib:nug12"]) == 2
    assert "nothing to compare" in capsys.readouterr().err


# ---- instance specs: bounded, confined to a root, no path in a name, no file quoted -------------------------------
@pytest.mark.parametrize(("spec", "message"), [
    ("generated:taillard_a:8:0-100000000", "at most 10,000 instances per spec, this one names 100,000,001"),
    ("generated:taillard_a,lipa:8,9:0-2500", "at most 10,000 instances per spec, this one names 10,004"),
    ("generated:taillard_a:8:0-9223372036854775807", "this one names 9,223,372,036,854,775,808"),
    ("generated:taillard_a:100000000:0", "generated sizes must be from 3 to 5,000, got 100,000,000"),
    ("generated:taillard_a:2", "generated sizes must be from 3 to 5,000, got 2"),
    ("generated:taillard_a:8:-1", "seed must be an integer in [0, 2**63 - 1]"),
    ("generated:taillard_a:8:0-9223372036854775808", "seed must be an integer in [0, 2**63 - 1]"),
    ("qaplib:../../etc/passwd", "takes instance names (letters, digits, '_' and '-'), got '../../etc/passwd'"),
    ("qaplib:/etc/passwd", "'qaplib:' takes instance names"),
    ("qaplib:nug12,sub/nug12", "got 'sub/nug12'"),
])
def test_a_spec_beyond_its_bounds_is_refused_before_anything_is_built(spec, message):
    from mezan.bench.instances import parse

    began = time.perf_counter()
    with pytest.raises(InvalidParameterError) as caught:
        parse(spec)
    assert message in str(caught.value) and time.perf_counter() - began < 1.0


def test_generated_instances_that_would_not_fit_in_memory_are_refused_by_their_estimate(monkeypatch):
    from mezan.bench import instances
    from mezan.errors import InstanceTooLargeError

    monkeypatch.setattr(instances, "available_memory", lambda: 2**30)
    with pytest.raises(InstanceTooLargeError, match=r"100 generated instances need an estimated 1\.5 GiB .* only "
                                                    r"1\.0 GiB is available"):
        instances.parse("generated:taillard_a:1000:0-99")
    assert len(instances.parse("generated:taillard_a:20:0-99")) == 100


def test_the_root_confines_the_files_a_spec_names(tmp_path, monkeypatch):
    from mezan.bench.instances import parse

    root, outside, qaplib = tmp_path / "root", tmp_path / "outside", tmp_path / "qaplib"
    for folder in (root / "sub", outside, qaplib):
        folder.mkdir(parents=True)
    for folder in (root / "sub", outside, qaplib):
        shutil.copy(bundled.instance_path("nug12"), folder / "mine.dat")
    (root / "escape.dat").symlink_to(outside / "mine.dat")
    (qaplib / "away.dat").symlink_to(outside / "mine.dat")
    monkeypatch.setenv("MEZAN_QAPLIB", str(qaplib))
    monkeypatch.chdir(root)
    assert [i.name for i in parse("sub", root=root)] == ["mine"]  # relative to the root
    assert [i.name for i in parse(str(root / "sub" / "mine.dat"), root=root)] == ["mine"]
    assert [i.name for i in parse("qaplib:mine,nug12", root=root)] == ["mine", "nug12"]  # $MEZAN_QAPLIB, bundled
    for spec, outside_path in [(str(outside / "mine.dat"), outside / "mine.dat"), ("escape.dat", outside / "mine.dat"),
                               ("../outside", outside), (str(root), outside / "mine.dat"), ("/etc/passwd", None),
                               ("qaplib:away", outside / "mine.dat")]:
        with pytest.raises(InvalidParameterError, match="is outside the allowed") as caught:
            parse(spec, root=root)
        assert outside_path is None or f"{outside_path} is outside" in str(caught.value)
    assert len(parse(str(root))) == 1 and len(parse("qaplib:away")) == 1  # without a root (the command line): any


def test_a_file_that_does_not_parse_is_named_by_line_and_what_was_expected_never_quoted(tmp_path, capsys):
    from mezan.bench.instances import parse
    from mezan.errors import InvalidProblemError

    secret = "SECRET-31c7"
    (tmp_path / "first.dat").write_text(f"{secret} 1 2\n")
    (tmp_path / "size.dat").write_text("2.5\n1 2\n")
    (tmp_path / "extra.dat").write_text("2\n0 1\n1 0\n0 2\n2 0\n31337\n")
    (tmp_path / "deep.json").write_text("[" * 100_000)
    (tmp_path / "latin1.json").write_bytes(b'{"type": "qap", "name": "caf\xe9"}')
    (tmp_path / "wire.json").write_text(json.dumps({"type": secret}))
    expected = {"first.dat": "line 1: a finite number was expected here",
                "size.dat": "line 1: the size n was expected here, an integer from 2 to 1,000,000",
                "extra.dat": "line 6: the file should end after the two n x n matrices",
                "deep.json": "arrays and objects nest 100,000 deep, more than the 100 levels",
                "latin1.json": "not UTF-8 text (byte 28 of the file)",
                "wire.json": 'not a wire-form problem (a JSON object with a known "type"'}
    for name, message in expected.items():
        with pytest.raises(InvalidProblemError) as caught:
            parse(str(tmp_path / name), root=tmp_path)
        assert str(tmp_path / name) in str(caught.value) and message in str(caught.value)
        assert secret not in str(caught.value) and "31337" not in str(caught.value)
    store = str(tmp_path / "s.db")
    assert main(["bench", "register", str(tmp_path / "deep.json"), "--store", store]) == 2  # never a RecursionError
    err = capsys.readouterr().err
    assert "nest 100,000 deep" in err and "Traceback" not in err


@pytest.mark.parametrize(("seeds", "message"), [
    (99999999999999999999, r"--seeds must be an integer in \[1, 10000\]"),
    (0, r"--seeds must be an integer in \[1, 10000\]"),
    (True, r"--seeds must be an integer in \[1, 10000\]"),
])
def test_the_number_of_seeds_is_bounded_before_anything_runs(seeds, message):
    with pytest.raises(InvalidParameterError, match=message):
        Plan(["qaplib:nug12"], ["rots"], seeds=seeds, time_limit=0.05)


def test_an_experiment_of_more_than_a_million_solves_is_refused_by_its_size():
    with pytest.raises(InvalidParameterError, match=r"at most 1,000,000 solves; 200 instances x 2 solvers x 10,000"):
        Plan(["generated:taillard_a:8:0-199"], ["rots", "anneal"], seeds=10_000, time_limit=0.05)
