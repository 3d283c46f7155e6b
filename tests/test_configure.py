"""Per-scenario configuration (mezan.meta.configure): the space and its checks, the search (the start first, never
worse on the inner cross-validation, resumable, on an executor, within its budget), the nested evaluation that never
reads an outer test fold, and the CLI's configure / evaluate --config / --configure."""

from __future__ import annotations

import json
import time
from dataclasses import fields, replace
from pathlib import Path

import numpy as np
import pytest

from mezan.cli import main
from mezan.dist import LocalExecutor
from mezan.errors import InvalidParameterError
from mezan.meta import configure as configure_module
from mezan.meta.aslib import FeatureStep, Scenario
from mezan.meta.configure import DEFAULT, SPACE, Configuration, configure, evaluate_configured, inner_cost, read_config

# a cheap search (kNN, no forest: a trial takes tens of milliseconds): what is tested is the search, not the
# selectors' quality
START = Configuration(approach="knn")
FIXED = ("approach", "select_features")


def planted(n: int = 48, seed: int = 0) -> Scenario:
    """Three algorithms; feature f0 tells which one solves an instance fast, f1 is noise; the features cost 2 s
    (cutoff 100), so pre-solving and the feature steps both matter."""
    rng = np.random.default_rng(seed)
    kind = np.arange(n) % 3
    performance = np.full((n, 3), np.nan)
    performance[np.arange(n), kind] = rng.uniform(1.0, 30.0, n)
    performance[np.arange(n), (kind + 1) % 3] = rng.uniform(40.0, 90.0, n)
    features = np.column_stack([kind + rng.normal(0, 0.1, n), rng.normal(0, 1, n)])
    return Scenario(name="PLANTED3", path=Path("."), performance_type="runtime", maximize=False, cutoff=100.0,
                    algorithms=["A", "B", "C"], instances=[f"i{k}" for k in range(n)], performance=performance,
                    ok=np.isfinite(performance), feature_names=["f0", "f1"], features=features,
                    steps={"s": FeatureStep("s", ("f0", "f1"))}, default_steps=["s"], step_names=["s"],
                    step_costs=np.full((n, 1), 2.0), step_status=None, folds=1 + np.arange(n) % 4)


def test_the_space_is_the_one_list_of_the_configurations_fields_and_the_defaults_are_in_it():
    assert [f.name for f in fields(Configuration)] == list(SPACE)
    assert Configuration.from_dict(DEFAULT.to_dict()) == DEFAULT
    assert Configuration.from_dict({"approach": "knn", "neighbours": 8}) == replace(DEFAULT, approach="knn",
                                                                                   neighbours=8)


@pytest.mark.parametrize(("values", "message"), [
    ({"aproach": "knn"}, "unknown name(s) 'aproach'; known: approach, select_features, trees"),
    ({f"k{i}": 1 for i in range(40)}, "unknown name(s) 'k0', 'k1', 'k10', 'k11', 'k12' and 35 more; known:"),
    ({"approach": "svm"}, "approach must be one of 'auto', 'regression'"),
    ({"max_features": 0.3}, "max_features must be one of 'sqrt', 'log2', '0.3', '0.6', '1.0'; got 0.3"),
    ({"trees": 10**400}, "trees must be an integer in [30, 300]; got an integer of 401 digits"),
    ({"impute": "x" * 1000}, "impute must be one of 'median', 'mean'; got 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."),
    ({"trees": 5000}, "trees must be an integer in [30, 300]; got 5000"),
    ({"trees": 50.5}, "trees must be an integer in [30, 300]; got 50.5"),
    ({"leaf": True}, "leaf must be an integer in [1, 12]; got True"),
    ({"centre": 1}, "centre must be one of True, False; got 1"),
    ({"presolve_share": float("nan")}, "presolve_share must be a number in [0.01, 0.3]; got nan"),
    (["approach"], "configuration must be a mapping of names to values; got list"),
])
def test_a_configuration_names_the_field_that_is_wrong(values, message):
    with pytest.raises(InvalidParameterError) as excinfo:
        Configuration.from_dict(values)
    assert message in str(excinfo.value)


def test_the_first_trial_is_the_start_and_the_best_is_never_worse_on_the_inner_cross_validation():
    s = planted()
    found = configure(s, budget=600, seed=1, max_trials=6, start=START, fixed=FIXED)
    assert found.trials == 6 and found.ended == "trials" and found.config.approach == "knn"
    assert found.default_cost == pytest.approx(inner_cost(s, START, seed=1))
    assert found.inner_cost <= found.default_cost
    assert found.inner_cost == pytest.approx(inner_cost(s, found.config, seed=1))  # the best is what it says


def test_the_start_is_left_only_for_a_trial_cheaper_on_the_evidence():
    s = planted()
    # kNN over all 36 training rows of an inner fold is the single best on every instance: a poor start
    poor = Configuration(approach="knn", neighbours=64)
    found = configure(s, budget=600, seed=4, max_trials=8, start=poor, fixed=FIXED)
    assert found.config.neighbours < 64 and found.inner_cost < found.default_cost
    assert found.best_cost <= found.inner_cost
    # with switch_alpha=0 the lowest inner cost decides, whatever the evidence
    plain = configure(s, budget=600, seed=4, max_trials=8, start=poor, fixed=FIXED, switch_alpha=0)
    assert plain.inner_cost == plain.best_cost
    with pytest.raises(InvalidParameterError, match="switch_alpha must be in"):
        configure(s, budget=600, start=poor, switch_alpha=1.5)


def test_the_search_resumes_from_its_journal_and_runs_on_an_executor(tmp_path):
    s = planted()
    journal = tmp_path / "trials.journal"
    first = configure(s, budget=600, seed=2, max_trials=2, start=START, fixed=FIXED, storage=journal)
    with LocalExecutor(2) as threads:
        again = configure(s, budget=600, seed=2, max_trials=5, start=START, fixed=FIXED, storage=journal,
                          executor=threads)
    assert (first.trials, again.trials) == (2, 5)
    assert again.default_cost == first.default_cost  # the start was scored once, in the first call
    assert again.inner_cost <= first.inner_cost
    # another start is another search, in the same journal: its own start is scored, nothing is mixed in
    other = configure(s, budget=600, seed=2, max_trials=1, start=replace(START, neighbours=5), fixed=FIXED,
                      storage=journal)
    assert other.trials == 1 and other.config == replace(START, neighbours=5)
    assert other.default_cost == pytest.approx(inner_cost(s, replace(START, neighbours=5), seed=2))


def test_a_budget_spent_at_once_cuts_even_the_start_and_returns_it_unscored():
    found = configure(planted(), budget=1e-6, seed=0, start=Configuration(approach="regression", trees=30))
    # the start ran its first inner fold (a forest and a plan: far more than a microsecond), then stopped
    assert found.ended == "budget" and found.trials == 0 and found.inner_cost is None and found.default_cost is None
    assert found.config == Configuration(approach="regression", trees=30)


def test_the_nested_evaluation_never_reads_the_outer_test_fold():
    s = planted()
    one = evaluate_configured(s, budget=600, seed=3, max_trials=4, start=START, fixed=FIXED)
    # change every runtime of the first outer fold's test instances: its configuration must not move
    test = s.folds == 1
    swapped = s.performance.copy()
    swapped[test] = swapped[test][:, ::-1]
    other = evaluate_configured(replace(s, performance=swapped, ok=np.isfinite(swapped)), budget=600, seed=3,
                                max_trials=4, start=START, fixed=FIXED)
    assert len(one.folds) == 4
    assert one.folds[0].config == other.folds[0].config and one.folds[0].inner_cost == other.folds[0].inner_cost
    assert np.array_equal(one.evaluation.algorithm[test], other.evaluation.algorithm[test])  # same features, picks
    assert not np.array_equal(one.evaluation.costs[test], other.evaluation.costs[test])  # but other costs
    with LocalExecutor(2) as threads:  # the folds as tasks: the same searches, the same decisions
        parallel = evaluate_configured(s, budget=600, seed=3, max_trials=4, start=START, fixed=FIXED,
                                       executor=threads)
    assert [f.config for f in parallel.folds] == [f.config for f in one.folds]
    assert np.array_equal(parallel.evaluation.costs, one.evaluation.costs)


def write_scenario(folder: Path, s: Scenario) -> Path:
    folder.mkdir()
    (folder / "description.txt").write_text(
        "scenario_id: PLANTED3\nperformance_measures:\n- runtime\nmaximize:\n- false\nperformance_type:\n- runtime\n"
        "algorithm_cutoff_time: 100\ndefault_steps:\n- s\nfeature_steps:\n  s:\n    provides:\n    - f0\n    - f1\n")
    runs = ["@RELATION runs", "@ATTRIBUTE instance_id STRING", "@ATTRIBUTE repetition NUMERIC",
            "@ATTRIBUTE algorithm STRING", "@ATTRIBUTE runtime NUMERIC", "@ATTRIBUTE runstatus {ok,timeout}", "@DATA"]
    for i, inst in enumerate(s.instances):
        for a, alg in enumerate(s.algorithms):
            value = s.performance[i, a]
            runs.append(f"{inst},1,{alg},{value if np.isfinite(value) else 100.0},"
                        f"{'ok' if np.isfinite(value) else 'timeout'}")
    (folder / "algorithm_runs.arff").write_text("\n".join(runs) + "\n")
    feats = ["@RELATION f", "@ATTRIBUTE instance_id STRING", "@ATTRIBUTE repetition NUMERIC",
             "@ATTRIBUTE f0 NUMERIC", "@ATTRIBUTE f1 NUMERIC", "@DATA"]
    feats += [f"{inst},1,{s.features[i, 0]},{s.features[i, 1]}" for i, inst in enumerate(s.instances)]
    (folder / "feature_values.arff").write_text("\n".join(feats) + "\n")
    cv = ["@RELATION cv", "@ATTRIBUTE instance_id STRING", "@ATTRIBUTE repetition NUMERIC",
          "@ATTRIBUTE fold NUMERIC", "@DATA"]
    cv += [f"{inst},1,{s.folds[i]}" for i, inst in enumerate(s.instances)]
    (folder / "cv.arff").write_text("\n".join(cv) + "\n")
    return folder


def test_the_cli_configures_writes_a_file_that_evaluate_reads_and_refuses_a_bad_one(tmp_path, capsys):
    folder = write_scenario(tmp_path / "planted", planted())
    start = tmp_path / "start.json"
    start.write_text(json.dumps({"approach": "knn", "neighbours": 4}))
    out = tmp_path / "config.json"
    # a kNN start takes milliseconds: it is scored well within the budget
    assert main(["meta", "aslib", "configure", str(folder), "--budget", "1", "--config", str(start), "--out",
                 str(out), "--workers", "1", "--json"]) == 0
    record = json.loads(capsys.readouterr().out)
    assert record["scenario"] == "PLANTED3" and record["trials"] >= 1 and json.loads(out.read_text()) == record
    assert read_config(out) == Configuration.from_dict(record["configuration"])
    assert (tmp_path / "config.json.trials").exists()  # the journal a second run resumes from
    assert main(["meta", "aslib", "evaluate", str(folder), "--config", str(out), "--workers", "1", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["approach"] == record["configuration"]["approach"] and evaluated["m_hat"] is not None
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"configuration": {"trees": "many"}}))
    assert main(["meta", "aslib", "evaluate", str(folder), "--config", str(bad)]) != 0
    assert "bad.json: configuration: trees must be an integer in [30, 300]; got 'many'" in capsys.readouterr().err
    for text in ("[" * 100_000, '{"trees": ' + "9" * 5000 + "}", "not json", ""):  # deep, huge number, not JSON
        bad.write_text(text)
        assert main(["meta", "aslib", "evaluate", str(folder), "--config", str(bad)]) != 0
        err = capsys.readouterr().err
        assert "configuration file" in err and "Traceback" not in err and len(err) < 600, err
    assert main(["meta", "aslib", "evaluate", str(folder), "--config", str(tmp_path)]) != 0
    assert "Traceback" not in capsys.readouterr().err
    # nested, each fold's search starting from the file, with a budget that cuts even the start: the start per fold
    assert main(["meta", "aslib", "evaluate", str(folder), "--configure", "0.01", "--config", str(start),
                 "--workers", "1", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["approach"] == "configured" and len(row["configured_folds"]) == 4
    assert all(f["configuration"] == {**DEFAULT.to_dict(), "approach": "knn", "neighbours": 4}
               for f in row["configured_folds"] if f["trials"] == 0)


def test_a_search_keeps_room_for_the_work_after_it(monkeypatch):
    s = planted()

    def trial(scenario, config, *, seed, folds, deadline):  # inner_costs' interface
        time.sleep(0.05)  # every trial takes 50 ms of wall clock, whatever the machine's load
        return np.full(len(scenario.instances), 1.0)

    monkeypatch.setattr(configure_module, "inner_costs", trial)
    # room kept for 100 slowest trials after the search: after the first trial (50 ms) a 2 s budget has none left
    kept = configure(s, budget=2.0, seed=4, start=START, fixed=FIXED, keep=100)
    assert kept.trials == 1 and kept.ended == "budget" and kept.config == START
    # room for 10 of them (0.5 s): trials run until 1.5 s are spent, about 30
    some = configure(s, budget=2.0, seed=4, start=START, fixed=FIXED, keep=10)
    free = configure(s, budget=2.0, seed=4, start=START, fixed=FIXED)
    assert 5 <= some.trials < free.trials and some.seconds < free.seconds
    with pytest.raises(InvalidParameterError, match=r"keep \(work after the search, in slowest trials\) must be in "
                                                    r"\[0, 100\]; got -1"):
        configure(s, budget=1.0, keep=-1)
    with pytest.raises(InvalidParameterError, match=r"folds must be an integer in \[2, 48\] \(the instances\); "
                                                    r"got 0"):
        evaluate_configured(s, budget=1.0, folds=0)
