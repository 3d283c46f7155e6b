"""ASlib scenarios: reading, PAR10, repetitions, feature costs and presolved steps, SBS / VBS / m̂, and the
selectors' out-of-fold evaluation (on a tiny scenario written here, and the shared ones when present)."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import numpy as np
import pytest

from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.meta import selectors
from mezan.meta.aslib import read_scenario, score, score_costs, selection_costs
from mezan.meta.schedules import evaluate
from mezan.meta.selectors import UNPICKED, AlgorithmSelector, _contenders, _modelled, _portfolio, cross_validate
from mezan.meta.synthetic import synthetic_scenario

SHARED = Path(os.environ.get("MEZAN_ASLIB", Path(__file__).resolve().parents[2] / "shared" / "aslib"))

DESCRIPTION = """scenario_id: TINY
performance_measures:
- runtime
maximize:
- false
performance_type:
- runtime
algorithm_cutoff_time: 100
default_steps:
- base
feature_steps:
  base:
    provides:
    - f1
  extra:
    provides:
    - f2
    requires:
    - base
"""

RUNS = """@RELATION runs
@ATTRIBUTE instance_id STRING
@ATTRIBUTE repetition NUMERIC
@ATTRIBUTE algorithm STRING
@ATTRIBUTE runtime NUMERIC
@ATTRIBUTE runstatus {ok, timeout, memout, not_applicable, crash, other}
@DATA
i1,1,A,10,ok
i1,1,B,50,ok
i2,1,A,100,timeout
i2,1,B,20,ok
i3,1,A,5,ok
i3,1,B,120,ok
i4,1,A,30,ok
i4,2,A,40,ok
i4,3,A,100,timeout
i4,1,B,60,ok
i4,2,B,100,crash
i4,3,B,100,crash
"""

FEATURES = """@RELATION features
@ATTRIBUTE instance_id STRING
@ATTRIBUTE repetition NUMERIC
@ATTRIBUTE f1 NUMERIC
@ATTRIBUTE f2 NUMERIC
@DATA
i1,1,1.0,0.5
i2,1,2.0,?
i3,1,3.0,0.1
i4,1,4.0,0.2
"""

COSTS = """@RELATION costs
@ATTRIBUTE instance_id STRING
@ATTRIBUTE repetition NUMERIC
@ATTRIBUTE base NUMERIC
@ATTRIBUTE extra NUMERIC
@DATA
i1,1,2,1
i2,1,3,1
i3,1,95,1
i4,1,1,1
"""

STATUS = """@RELATION status
@ATTRIBUTE instance_id STRING
@ATTRIBUTE repetition NUMERIC
@ATTRIBUTE base {ok,timeout,memout,presolved,crash,other,unknown}
@ATTRIBUTE extra {ok,timeout,memout,presolved,crash,other,unknown}
@DATA
i1,1,ok,ok
i2,1,presolved,ok
i3,1,ok,ok
i4,1,ok,ok
"""

CV = """@RELATION cv
@ATTRIBUTE instance_id STRING
@ATTRIBUTE repetition NUMERIC
@ATTRIBUTE fold NUMERIC
@DATA
i1,1,1
i2,1,1
i3,1,2
i4,1,2
"""


def tiny(tmp_path: Path, **replace: str) -> Path:
    folder = tmp_path / "TINY"
    folder.mkdir(exist_ok=True)
    files = {"description.txt": DESCRIPTION, "algorithm_runs.arff": RUNS, "feature_values.arff": FEATURES,
             "feature_costs.arff": COSTS, "feature_runstatus.arff": STATUS, "cv.arff": CV, **replace}
    for name, text in files.items():
        (folder / name).write_text(text)
    return folder


def test_par10_repetitions_sbs_and_vbs_by_hand(tmp_path):
    s = read_scenario(tiny(tmp_path))
    assert s.algorithms == ["A", "B"] and s.instances == ["i1", "i2", "i3", "i4"] and s.cutoff == 100
    # i4: A succeeded 2 of 3 (>= 60 %): median of 30, 40 = 35; B 1 of 3: a timeout. i3/B: 120 > cutoff: PAR10.
    expected = np.array([[10, 50], [1000, 20], [5, 1000], [35, 1000]], dtype=float)
    assert np.array_equal(s.costs(), expected)
    plain = score(s, np.array([0, 1, 0, 0]), steps=[])  # the VBS choices, no feature costs
    assert plain.sbs_algorithm == "A" and plain.sbs == pytest.approx(1050 / 4) and plain.vbs == pytest.approx(70 / 4)
    assert plain.selector == pytest.approx(70 / 4) and plain.m_hat == pytest.approx(0.0)


def test_feature_costs_are_charged_and_a_presolved_step_ends_the_run(tmp_path):
    s = read_scenario(tiny(tmp_path))
    costs = selection_costs(s, np.array([0, 1, 0, 0]))  # default steps: base
    # i1: 2 + 10; i2: presolved by base after 3 s; i3: 95 + 5 = 100 (not above the cutoff); i4: 1 + 35
    assert np.array_equal(costs, [12, 3, 100, 36])
    extra = selection_costs(s, np.array([0, 1, 0, 0]), steps=["extra"])  # extra requires base: both are paid
    assert np.array_equal(extra, [13, 3, 1000, 37])  # i3: 95 + 1 + 5 > 100: a timeout


def test_quality_scenarios_use_the_raw_value_negated_when_maximised(tmp_path):
    description = DESCRIPTION.replace("- runtime\nmaximize:\n- false\nperformance_type:\n- runtime",
                                      "- obj\nmaximize:\n- true\nperformance_type:\n- solution_quality")
    runs = RUNS.replace("@ATTRIBUTE runtime NUMERIC", "@ATTRIBUTE obj NUMERIC")
    s = read_scenario(tiny(tmp_path, **{"description.txt": description, "algorithm_runs.arff": runs}))
    assert not s.runtime and s.costs()[0, 0] == -10 and s.costs()[2, 1] == -120
    assert np.array_equal(selection_costs(s, np.array([1, 1, 1, 1])), s.costs()[:, 1])  # no feature costs
    # failed runs (i2/A timed out, i4/B crashed 2 of 3) cost the worst value seen: 5, the lowest, negated
    assert s.costs()[1, 0] == -5 and s.costs()[3, 1] == -5
    assert score(s, np.array([1, 1, 1, 1]), steps=[]).vbs == pytest.approx((-50 - 20 - 120 - 35) / 4)


@pytest.mark.parametrize(("name", "text", "message"), [
    ("algorithm_runs.arff", RUNS.replace("@DATA", "@DATUM"), r"algorithm_runs\.arff"),
    ("algorithm_runs.arff", RUNS.replace("i1,1,A,10,ok", "i1,1,A,10,fine"), r"algorithm_runs\.arff, line \d+"),
    ("cv.arff", CV.replace("@ATTRIBUTE fold NUMERIC", "@ATTRIBUTE part NUMERIC"), r"cv\.arff: missing attribute"),
    ("description.txt", "scenario_id: [unclosed", r"description\.txt, line 1 column \d+: not valid YAML"),
    ("description.txt", DESCRIPTION.replace("performance_type:\n- runtime\n", ""),
     r"description\.txt: field 'performance_type' is missing"),
    ("description.txt", DESCRIPTION.replace("maximize:\n- false", "maximize:\n- 'false'"),
     r"description\.txt: field 'maximize' must be true or false"),
    ("algorithm_runs.arff", RUNS.replace("i1,1,A,10,ok", "i1,1,A,-10,ok"),
     r"algorithm_runs\.arff, line 8: field runtime is a runtime and cannot be negative"),
    ("algorithm_runs.arff", RUNS.replace("i1,1,B,50,ok\n", ""),
     r"algorithm_runs\.arff: no run of algorithm 'B' on instance 'i1'"),
    ("algorithm_runs.arff", RUNS.replace("i2,1,B,20,ok", "?,1,B,20,ok"),
     r"algorithm_runs\.arff, line 11: field instance_id is missing"),
    ("cv.arff", CV.replace("i2,1,1", "i2,1,?"), r"cv\.arff, line 7: field fold must be a positive whole number"),
    ("cv.arff", CV.replace("i2,1,1", "i2,1,2.5"), r"cv\.arff, line 7: field fold must be a positive whole number"),
    ("cv.arff", CV + "i1,1,2\n", r"cv\.arff, line 10: instance 'i1' has a second fold \(first 1\)"),
])
def test_malformed_files_name_the_file_and_what_is_wrong(tmp_path, name, text, message):
    with pytest.raises(InvalidProblemError, match=message):
        read_scenario(tiny(tmp_path, **{name: text}))


CUTOFF = "algorithm_cutoff_time: 100"
BAD_VALUES = [  # (file, its text, what the message says): each was read as nonsense or failed inside sklearn
    ("feature_costs.arff", COSTS.replace("i1,1,2,1", "i1,1,inf,1"),
     r"feature_costs\.arff, line 7: field base is a feature cost: a finite number of seconds >= 0 .* got inf"),
    ("feature_costs.arff", COSTS.replace("i1,1,2,1", "i1,1,nan,1"), r"feature_costs\.arff, line 7: field base .*nan"),
    ("feature_costs.arff", COSTS.replace("i1,1,2,1", "i1,1,-2,1"), r"feature_costs\.arff, line 7: field base .*-2"),
    ("feature_costs.arff", COSTS.replace("@ATTRIBUTE base NUMERIC", "@ATTRIBUTE base STRING")
     .replace("i1,1,2,1", "i1,1,abc,1"), r"feature_costs\.arff, line 7: field base .* got 'abc'"),
    ("algorithm_runs.arff", RUNS.replace("i1,1,A,10,ok", "i1,1,A,inf,ok"),
     r"algorithm_runs\.arff, line 8: field runtime must be a finite number"),
    ("algorithm_runs.arff", RUNS.replace("i1,1,A,10,ok", "i1,1,A,nan,ok"),
     r"algorithm_runs\.arff, line 8: field runtime must be a finite number"),
    ("feature_values.arff", FEATURES.replace("i1,1,1.0,0.5", "i1,1,inf,0.5"),
     r"feature_values\.arff, line 7: field f1 must be a finite number or \? \(missing\)"),
    ("description.txt", DESCRIPTION.replace(CUTOFF, "algorithm_cutoff_time: 0"),
     r"description\.txt: field 'algorithm_cutoff_time' must be a positive finite number of seconds"),
    ("description.txt", DESCRIPTION.replace(CUTOFF, "algorithm_cutoff_time: -5"), r"'algorithm_cutoff_time' .* got -5"),
    ("description.txt", DESCRIPTION.replace(CUTOFF, "algorithm_cutoff_time: true"), r"'algorithm_cutoff_time' .* True"),
    ("description.txt", DESCRIPTION.replace(CUTOFF, "algorithm_cutoff_time: .inf"), r"'algorithm_cutoff_time' .* inf"),
    ("description.txt", DESCRIPTION.replace(CUTOFF, "algorithm_cutoff_time: '?'"), r"'algorithm_cutoff_time' .* '\?'"),
    ("cv.arff", CV.replace("i2,1,1", "i2,1,1e300"),
     r"cv\.arff, line 7: field fold must be a positive whole number, at most the number of instances \(4\)"),
    ("cv.arff", CV.replace("i3,1,2", "i3,1,1").replace("i4,1,2", "i4,1,1"),
     r"cv\.arff: field fold: every instance is in fold 1; cross-validation needs at least 2 folds"),
    ("algorithm_runs.arff", RUNS.split("@DATA\n")[0] + "@DATA\ni1,1,A,10,ok\ni1,1,B,50,ok\n",
     r"algorithm_runs\.arff: runs of only 1 instance \('i1'\); a scenario needs at least 2"),
    ("algorithm_runs.arff", RUNS.split("@DATA\n")[0] + "@DATA\n", r"algorithm_runs\.arff: no runs"),
]


@pytest.mark.parametrize(("name", "text", "message"), BAD_VALUES)
def test_values_a_scenario_cannot_hold_are_refused_by_file_line_and_field(tmp_path, name, text, message):
    with pytest.raises(InvalidProblemError, match=message):
        read_scenario(tiny(tmp_path, **{name: text}))


@pytest.mark.parametrize(("name", "text", "message"), [BAD_VALUES[i] for i in (0, 7, 9, 12, 13, 14, 15)])
def test_evaluate_refuses_them_by_name_never_with_a_traceback_or_a_number_made_up(tmp_path, capsys, name, text,
                                                                                   message):
    from mezan.cli import main

    folder = tiny(tmp_path, **{name: text})
    assert main(["meta", "aslib", "evaluate", str(folder), "--approach", "knn", "--json", "--workers", "1"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "Traceback" not in out.err
    assert re.search(message, out.err) and str(folder / name) in out.err


def _bomb(levels: int = 30) -> str:
    """A YAML "billion laughs": each anchor lists the previous one 9 times (9 ** levels strings once expanded)."""
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{k}: &l{k} [{', '.join([f'*l{k - 1}'] * 9)}]" for k in range(1, levels)]
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize(("text", "message"), [
    (DESCRIPTION + _bomb(), r"description\.txt, line 20 column \d+: not valid YAML \(YAML anchors and aliases"),
    (DESCRIPTION + "deep: " + "[" * 100_000 + "\n", r"description\.txt, line 20 column \d+: .*nested deeper than 32"),
    (DESCRIPTION + "# padding\n" * 200_000, r"description\.txt: [\d,]+ bytes, more than the 1,048,576 bytes"),
])
def test_a_description_that_would_expand_or_recurse_without_bound_is_refused_at_once(tmp_path, text, message):
    folder = tiny(tmp_path, **{"description.txt": text})
    began = time.perf_counter()
    with pytest.raises(InvalidProblemError, match=message):
        read_scenario(folder)
    assert time.perf_counter() - began < 5.0


@pytest.mark.parametrize("name", ["cv.arff", "description.txt"])
def test_a_file_that_is_not_utf8_is_named(tmp_path, name):
    folder = tiny(tmp_path)
    (folder / name).write_bytes((folder / name).read_bytes().replace(b"i2", b"i\xff2").replace(b"TINY", b"T\xffNY"))
    with pytest.raises(InvalidProblemError, match=rf"{name.replace('.', '[.]')}: not UTF-8 text \(byte \d+"):
        read_scenario(folder)


@pytest.mark.slow
def test_selectors_are_fitted_out_of_fold_only():
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=(n, 4))
    costs = np.column_stack([np.where(x[:, 0] > 0, 1.0, 100.0), np.where(x[:, 0] > 0, 100.0, 1.0),
                             np.full(n, 60.0)])
    folds = np.arange(n) % 5 + 1  # five folds of 60: what is tested is that no fold's own rows are fitted
    for approach in ("regression", "pairwise", "knn", "forest_mean", "ensemble", "auto"):
        picks, _ = cross_validate(x, costs, folds, approach=approach)
        assert costs[np.arange(n), picks].mean() < 10.0, approach  # the feature tells which: near the VBS (1.0)
    shuffled = rng.permutation(n)  # labels no longer follow the features: out-of-fold cannot beat the SBS (60)
    picks, _ = cross_validate(x, costs[shuffled], folds, approach="regression")
    assert costs[shuffled][np.arange(n), picks].mean() > 40.0
    with pytest.raises(InvalidParameterError, match="approach must be one of"):
        AlgorithmSelector("magic").fit(x, costs)


def test_the_ensemble_votes_by_mean_rank():
    from mezan.meta.selectors import _borda

    # three members: two rank algorithm 1 first, one ranks it last; on scales that differ by orders of magnitude
    votes = _borda([np.array([[5.0, 1.0, 9.0]]), np.array([[-2.0, -30.0, -1.0]]), np.array([[2e3, 1e6, 1e3]])])
    assert np.allclose(votes, [[2.0, 5 / 3, 7 / 3]]) and int(np.argmin(votes)) == 1
    rng = np.random.default_rng(1)
    x = rng.normal(size=(120, 3))
    costs = np.column_stack([np.where(x[:, 1] > 0, 1.0, 50.0), np.where(x[:, 1] > 0, 50.0, 1.0)])
    model = AlgorithmSelector("ensemble", trees=20).fit(x[:100], costs[:100])
    assert [m.approach for m in model._models] == ["regression", "pairwise", "knn"]
    assert (model.predict(x[100:]) == np.where(x[100:, 1] > 0, 0, 1)).mean() >= 0.9


def test_pairwise_compares_only_the_contenders():
    from mezan.meta.selectors import _contenders

    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 3))
    # A and B split the instances; C (second everywhere) and D (worst) are never the best; the last 20 all time out
    costs = np.column_stack([np.where(x[:, 0] > 0, 1.0, 90.0), np.where(x[:, 0] > 0, 90.0, 1.0),
                             np.full(200, 40.0), np.full(200, 95.0)])
    costs[180:] = 1000.0
    assert _contenders(costs).tolist() == [0, 1, 2]  # C is the single best: kept; D is dropped
    model = AlgorithmSelector("pairwise").fit(x[:150], costs[:150])
    assert [(a, b) for a, b, _ in model._models] == [(0, 1), (0, 2), (1, 2)]  # 3 classifiers, not 6
    assert set(model.predict(x[150:]).tolist()) <= {0, 1, 2} and (model.scores(x[150:])[:, 3] > 0).all()
    assert (model.predict(x[150:180]) == np.where(x[150:180, 0] > 0, 0, 1)).mean() >= 0.9


def test_the_regression_forest_learns_relative_costs_not_hardness():
    rng = np.random.default_rng(0)
    n, k = 300, 4
    x = rng.random((n, 10))
    hard = 10 ** (4 * x[:, 0])  # the common mode: one feature scales every algorithm's cost by up to 10^4
    best = (x[:, 1] * k).astype(int)  # another feature tells which algorithm is three times faster
    ratio = np.full((n, k), 3.0)
    ratio[np.arange(n), best] = 1.0
    costs = hard[:, None] * ratio * np.exp(rng.normal(0.0, 0.3, (n, k)))
    right = {}
    for centre in (True, False):
        model = AlgorithmSelector("regression", centre=centre).fit(x[:200], costs[:200])
        right[centre] = (model.predict(x[200:]) == best[200:]).mean()
    # centred targets: the splits go to the feature that ranks the algorithms, not to the one that scales them all
    assert right[True] >= 0.9 and right[True] >= right[False] + 0.1, right


def test_forest_mean_minimises_the_mean_cost_where_log_regression_minimises_the_geometric_mean():
    rng = np.random.default_rng(3)
    n = 400
    x = rng.normal(size=(n, 3))
    # A: 1 s on 90 % of instances and a timeout (PAR10 10000) on the rest, at random; B: 100 s always.
    # Mean cost: A 1001, B 100 (B is right); mean log10 cost: A 0.4, B 2 (log regression takes A).
    a = np.where(rng.random(n) < 0.1, 10000.0, 1.0)
    costs = np.column_stack([a, np.full(n, 100.0)])
    by_log = AlgorithmSelector("regression").fit(x[:300], costs[:300]).predict(x[300:])
    by_mean = AlgorithmSelector("forest_mean").fit(x[:300], costs[:300])
    assert (by_log == 0).mean() > 0.9 and (by_mean.predict(x[300:]) == 1).mean() > 0.9
    # the scores are, per tree, the mean cost of the training rows in the test row's leaf, averaged over the trees
    costs[:, 1] = 100.0 + 50.0 * x[:, 1]  # B's cost follows a feature, so a wrong leaf would show
    small = AlgorithmSelector("forest_mean", trees=3).fit(x[:300], costs[:300])
    forest = small._models[0]
    train_leaves, test_leaves = forest.apply(small._transform(x[:300])), forest.apply(small._transform(x[300:]))
    expected = np.mean([[costs[:300][train_leaves[:, t] == test_leaves[i, t]].mean(axis=0) for t in range(3)]
                        for i in range(100)], axis=1)
    assert np.allclose(small.scores(x[300:]), expected)


def test_auto_leaves_regression_only_on_evidence():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(240, 4))
    noise = np.exp(rng.normal(size=(240, 3)))  # no feature tells anything: no approach can be better
    model = AlgorithmSelector("auto", trees=30).fit(x, noise)
    cheapest = min(model.inner_costs, key=model.inner_costs.get)
    assert cheapest != "regression", model.inner_costs  # noise made another approach look cheaper on the inner folds
    assert model.chosen == "regression"  # ... and the paired test keeps the default
    assert AlgorithmSelector("auto", switch_alpha=0.0, trees=30).fit(x, noise).chosen == cheapest
    with pytest.raises(InvalidParameterError, match="switch_alpha must be in"):
        AlgorithmSelector("auto", switch_alpha=1.5).fit(x, noise)
    # rare random timeouts: log regression takes A (geometric mean 2.5 against 100), the mean cost says B (1001 vs 100);
    # the cost-weighted pairwise vote sees it, and the paired test confirms it on the inner folds
    x = rng.normal(size=(440, 4))
    costs = np.column_stack([np.where(rng.random(440) < 0.1, 10000.0, 1.0), np.full(440, 100.0)])
    model = AlgorithmSelector("auto", trees=30).fit(x[:240], costs[:240])
    regression = AlgorithmSelector("regression", trees=30).fit(x[:240], costs[:240])
    held_out = np.arange(240, 440)
    assert model.chosen != "regression"
    assert costs[held_out, model.predict(x[240:])].mean() < 0.5 * costs[held_out, regression.predict(x[240:])].mean()


def test_the_switch_test_handles_ties_constant_and_infinite_differences():
    from mezan.meta.selectors import SWITCH_MIN_ROWS, cheaper

    base = np.full(40, 5.0)
    assert not cheaper(base.copy(), base, 0.05)  # all tied: nothing to switch for
    few = base.copy()
    few[:SWITCH_MIN_ROWS - 1] = 1.0
    assert not cheaper(few, base, 0.05)  # too few rows differ
    constant = base.copy()
    constant[:20] = 4.0  # every differing row one unit cheaper: no spread, the sign decides (no scipy warning)
    assert cheaper(constant, base, 0.05) and not cheaper(base, constant, 0.05)
    assert not cheaper(np.where(constant < 5.0, -np.inf, 5.0), base, 0.05)  # infinite costs never decide
    near = constant.copy()
    near[0] = 4.0 - 1e-12  # almost constant: scipy's precision-loss warning is not an error here
    assert cheaper(near, base, 0.05)


@pytest.mark.slow
@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared ASlib folder is not here")
def test_every_shared_scenario_loads_with_known_sbs_and_vbs():
    names = sorted(p.name for p in SHARED.iterdir() if (p / "description.txt").exists())
    assert len(names) >= 7
    for name in names:
        s = read_scenario(SHARED / name)
        costs = s.costs()
        assert costs.shape == (len(s.instances), len(s.algorithms)) and np.isfinite(costs).all()
        assert set(np.unique(s.folds)) == set(range(1, 11))
    indu = read_scenario(SHARED / "SAT11-INDU")  # pinned: PAR10 of the SBS and the VBS without feature costs
    plain = score(indu, np.zeros(len(indu.instances), dtype=int), steps=[])
    assert plain.sbs_algorithm == "glucose_2" and plain.sbs == pytest.approx(14605.90, abs=0.01)
    assert plain.vbs == pytest.approx(8187.52, abs=0.01)


def test_a_presolving_schedule_is_charged_slot_by_slot(tmp_path):
    from mezan.meta.aslib import plan_costs

    s = read_scenario(tiny(tmp_path))
    # slot (A, 10 s): i1 solved by A in 10 s, i3 in 5 s — neither pays features; i2 pays the slot, then its base
    # step presolves it (10 + 3); i4 (A's median 35 s) pays the slot, the base step (1) and the selected run
    costs = plan_costs(s, np.array([0, 1, 0, 0]), presolve=[(0, 10.0)])
    assert costs.tolist() == [10.0, 13.0, 5.0, 10.0 + 1.0 + 35.0]
    # no features at all: i2 is no longer presolved by the step, so B runs (10 + 20)
    assert plan_costs(s, np.array([0, 1, 0, 0]), steps=[], presolve=[(0, 10.0)]).tolist() == [10.0, 30.0, 5.0, 45.0]
    # a slot that does not fit: i4 with B times out (B succeeded on 1 of 3 repetitions)
    assert plan_costs(s, np.array([1, 1, 1, 1]), presolve=[(0, 10.0)])[3] == 1000.0


def _planted_runtime_scenario(n=40):
    """Half the instances: A solves them in 1 s, B in 50 s; the other half: A times out, B needs 20 s. Features
    cost 10 s on every instance (cutoff 100)."""
    from mezan.meta.aslib import FeatureStep, Scenario

    easy = np.arange(n) % 2 == 0
    performance = np.column_stack([np.where(easy, 1.0, np.nan), np.where(easy, 50.0, 20.0)])
    return Scenario(name="PLANTED", path=Path("."), performance_type="runtime", maximize=False, cutoff=100.0,
                    algorithms=["A", "B"], instances=[f"i{k}" for k in range(n)], performance=performance,
                    ok=np.isfinite(performance), feature_names=["f"], features=easy[:, None].astype(float),
                    steps={"s": FeatureStep("s", ("f",))}, default_steps=["s"], step_names=["s"],
                    step_costs=np.full((n, 1), 10.0), step_status=None, folds=1 + np.arange(n) % 10)


def test_the_plan_is_chosen_on_training_costs():
    from mezan.meta.schedules import Plan, choose_plan

    s = _planted_runtime_scenario()
    rows = np.ones(len(s.instances), dtype=bool)
    perfect = np.where(s.features[:, 0] > 0, 0, 1)  # even a perfect selector pays 10 s of features per instance
    # best: give A one second (solves the easy half at 1 s), compute no features, run B (the single best) on the rest
    assert choose_plan(s, rows, perfect) == Plan(presolve=((0, 1.0),), steps=(), fallback=1)


def test_the_selections_file_rescores_to_the_printed_m_hat(tmp_path, capsys):
    import json

    from mezan.cli import main
    from mezan.meta.aslib import rescore

    folder = tiny(tmp_path)
    out = tmp_path / "selections.json"
    assert main(["meta", "aslib", "evaluate", str(folder), "--approach", "knn", "--json",
                 "--selections", str(out)]) == 0
    printed = json.loads(capsys.readouterr().out)
    record = json.loads(out.read_text())
    assert record["scenario"] == "TINY" and set(record["selections"]) == {"i1", "i2", "i3", "i4"}
    assert all({"presolve", "feature_steps", "algorithm"} <= set(d) for d in record["selections"].values())
    assert rescore(read_scenario(folder), record).m_hat == pytest.approx(printed["m_hat"])
    record["selections"]["i1"]["algorithm"] = "Z"
    with pytest.raises(InvalidProblemError, match="instance 'i1' has no decision"):
        rescore(read_scenario(folder), record)


@pytest.mark.slow
def test_folds_in_worker_processes_give_the_same_decisions():
    from mezan.meta.schedules import evaluate

    s = _planted_runtime_scenario()
    one = evaluate(s, approach="regression", workers=1, trees=20)  # 20 trees: what is compared is the executors
    two = evaluate(s, approach="regression", workers=2, trees=20)
    assert np.array_equal(one.algorithm, two.algorithm) and np.array_equal(one.costs, two.costs)
    assert one.plans == two.plans and one.used == two.used


def _two_step_scenario(n: int = 100):
    """A solves group X in 30 s, B the rest in 30 s (each times out on the other's group; cutoff 100, so no
    pre-solving slot helps). The default step "s" (0.1 s) gives only noise; the extra step "t" (1 s) gives the group."""
    from mezan.meta.aslib import FeatureStep, Scenario

    rng = np.random.default_rng(3)
    group = np.arange(n) % 2 == 0
    performance = np.column_stack([np.where(group, 30.0, np.nan), np.where(group, np.nan, 30.0)])
    features = np.column_stack([rng.normal(size=n), group.astype(float)])
    return Scenario(name="TWO-STEP", path=Path("."), performance_type="runtime", maximize=False, cutoff=100.0,
                    algorithms=["A", "B"], instances=[f"i{k}" for k in range(n)], performance=performance,
                    ok=np.isfinite(performance), feature_names=["noise", "group"], features=features,
                    steps={"s": FeatureStep("s", ("noise",)), "t": FeatureStep("t", ("group",))},
                    default_steps=["s"], step_names=["s", "t"],
                    step_costs=np.column_stack([np.full(n, 0.1), np.full(n, 1.0)]), step_status=None,
                    folds=1 + np.arange(n) % 10)


@pytest.mark.slow
def test_a_selector_uses_only_the_features_of_the_steps_it_pays_for():
    from mezan.meta.schedules import evaluate, feature_step_choices

    s = _two_step_scenario()
    assert s.feature_mask(None).tolist() == [True, False] and s.feature_mask([]).tolist() == [False, False]
    assert s.feature_mask(["t"]).tolist() == [False, True]
    assert feature_step_choices(s) == [None, ("s", "t")]
    group = s.features[:, 1] > 0
    right = np.where(group, 0, 1)
    # 20 trees (the default is 100): the steps' logic is what is tested, and the group feature separates exactly
    default = evaluate(s, approach="regression", feature_steps="default", trees=20)
    every = evaluate(s, approach="regression", feature_steps="all", trees=20)
    chosen = evaluate(s, approach="regression", trees=20)
    # with the default step only, the group is unseen: many picks are wrong, whatever the plan
    assert (default.algorithm != right).mean() > 0.2
    # paying for "t" the selector sees the group: every pick right, each instance costs 30 s + 1.1 s of features
    assert np.array_equal(every.algorithm, right) and np.allclose(every.costs, 31.1)
    assert all(p.steps == ("s", "t") for p in every.plans)
    # the automatic choice finds that "t" pays on the training folds, and the selections file charges it
    assert np.array_equal(chosen.algorithm, right) and all(p.steps == ("s", "t") for p in chosen.plans)
    assert chosen.steps_of(s, 0) == ["s", "t"]
    with pytest.raises(InvalidParameterError, match="feature_steps"):
        evaluate(s, approach="regression", feature_steps="some")


def test_evaluate_json_holds_null_where_m_hat_is_undefined_and_a_bad_selections_path_is_refused_first(tmp_path,
                                                                                                      capsys):
    from mezan.cli import main

    dominated = RUNS.replace("i2,1,B,20,ok", "i2,1,B,100,timeout").replace("i1,1,B,50,ok", "i1,1,B,100,timeout")
    folder = tiny(tmp_path, **{"algorithm_runs.arff": dominated})  # A is the single and the virtual best
    assert main(["meta", "aslib", "evaluate", str(folder), "--approach", "knn", "--json", "--workers", "1"]) == 0

    def no_nan(token):
        raise AssertionError(f"not JSON: {token}")

    row = json.loads(capsys.readouterr().out, parse_constant=no_nan)
    assert row["sbs"] == row["vbs"] and row["m_hat"] is None and row["gap_closed"] is None
    assert main(["meta", "aslib", "evaluate", str(folder), "--approach", "knn", "--workers", "1"]) == 0
    assert "m_hat undefined" in capsys.readouterr().out
    missing = tmp_path / "no" / "such" / "folder" / "s.json"
    assert main(["meta", "aslib", "evaluate", str(folder), "--selections", str(missing)]) != 0
    assert f"--selections: cannot write {missing}" in capsys.readouterr().err


def test_sunny_schedules_the_smallest_set_that_solves_most_neighbours_in_slots_by_what_each_solves():
    from mezan.meta.sunny import schedule_for

    costs = np.array([[10, 1000, 50], [20, 1000, 1000], [1000, 5, 1000], [1000, 1000, 1000]], dtype=float)
    # {A, B} solves 3 of 4 (as does {A, B, C}, larger); A solves 2, B 1, and the backup A (lowest total) takes the
    # unsolved one's part: 3 + 1 parts of 100 / 4 s; A first (mean capped time 57.5 against B's 76.25)
    assert schedule_for(costs, cutoff=100.0, budget=100.0) == ((0, 75.0), (1, 25.0))
    assert schedule_for(costs, cutoff=100.0, budget=100.0, max_size=1) == ((0, 100.0),)  # A alone solves 2
    assert schedule_for(np.full((3, 2), 1000.0), cutoff=100.0, budget=80.0) == ((0, 80.0),)  # none solves: backup


def _alternating_scenario(n=20):
    """Half the instances: A in 1 s, B times out; the other half: A times out, B in 20 s. The one feature says
    nothing (constant); features cost 10 s (cutoff 100). Each fold holds one instance of each half, so every fold's
    16 nearest (tied) training instances are 8 and 8."""
    from mezan.meta.aslib import FeatureStep, Scenario

    even = np.arange(n) % 2 == 0
    performance = np.column_stack([np.where(even, 1.0, np.nan), np.where(even, np.nan, 20.0)])
    return Scenario(name="ALTERNATING", path=Path("."), performance_type="runtime", maximize=False, cutoff=100.0,
                    algorithms=["A", "B"], instances=[f"i{k}" for k in range(n)], performance=performance,
                    ok=np.isfinite(performance), feature_names=["f"], features=np.ones((n, 1)),
                    steps={"s": FeatureStep("s", ("f",))}, default_steps=["s"], step_names=["s"],
                    step_costs=np.full((n, 1), 10.0), step_status=None, folds=1 + (np.arange(n) // 2) % 10)


def test_sunny_runs_its_schedule_and_the_selections_file_rescores_it():
    from mezan.cli.meta import selections_record
    from mezan.meta.aslib import rescore, score_costs
    from mezan.meta.schedules import evaluate

    s = _alternating_scenario()
    result = evaluate(s, approach="sunny")
    assert set(result.schedules) == {((0, 50.0), (1, 50.0))}  # A and B each solve half the neighbours
    assert result.costs.tolist() == [10 + 1.0, 10 + 50 + 20.0] * 10  # B's instances wait out A's slot
    m_hat = score_costs(s, result.costs).m_hat  # (45.5 - 10.5) / (500.5 - 10.5): no single algorithm comes close
    assert m_hat == pytest.approx(35 / 490)
    record = selections_record(s, result)
    assert record["selections"]["i1"]["schedule"] == [["A", 50.0], ["B", 50.0]]
    assert rescore(s, record).m_hat == pytest.approx(m_hat)
    foreign = {"selections": {**record["selections"], "i1": {**record["selections"]["i1"], "schedule": [["Z", 1]]}}}
    with pytest.raises(InvalidProblemError, match="instance 'i1': schedule must list"):
        rescore(s, foreign)
    record["selections"]["i1"]["schedule"] = [["B", 10.0]]  # too short for B's 20 s: a timeout
    assert rescore(s, record).selector == pytest.approx(result.costs.mean() + (1000 - 80) / 20)


@pytest.mark.slow
def test_feature_selection_keeps_the_informative_features_of_the_training_rows_only():
    rng = np.random.default_rng(0)
    x = rng.random((200, 20))
    costs = np.column_stack([1 + 10 * x[:, 3], 6 - 5 * x[:, 3]])  # feature 3 decides, the rest is noise
    model = AlgorithmSelector("regression", select_features=True, log_costs=False).fit(x, costs)
    assert np.flatnonzero(model._columns).tolist() == [3]
    assert (model.predict(x) == np.argmin(costs, axis=1)).mean() > 0.95
    assert AlgorithmSelector("regression", log_costs=False).fit(x, costs)._columns is None  # optional: off by default
    auto = AlgorithmSelector("auto", select_features=True, log_costs=False).fit(x[:100], costs[:100])
    assert auto._columns is not None and auto._columns[3]  # auto selects on its own training rows too


# ---- issue 34: the description's fields, seeds, scenarios without features, and values that overflow --------------

STEPS = DESCRIPTION.split("default_steps:")[0]  # the description up to its steps
SHAPES = [  # (description.txt, what the message says): each was an IndexError or AttributeError in the reader
    (DESCRIPTION.replace("performance_type:\n- runtime", "performance_type: []"),
     r"field 'performance_type' must have one entry per performance measure \(1: runtime\), got 0"),
    (DESCRIPTION.replace("performance_measures:\n- runtime", "performance_measures: []"),
     r"field 'performance_measures' is empty"),
    (DESCRIPTION.replace("maximize:\n- false", "maximize: [true, false]"),
     r"field 'maximize' must have one entry per performance measure \(1: runtime\), got 2"),
    (DESCRIPTION.replace("performance_type:\n- runtime", "performance_type: {a: 1}"),
     r"field 'performance_type' must be runtime or solution_quality per measure, got \{'a': 1\}"),
    (DESCRIPTION.replace("performance_measures:\n- runtime", "performance_measures: runstatus"),
     r"field 'performance_measures' names 'runstatus', a column of algorithm_runs\.arff that is not a measure"),
    (STEPS + "default_steps: [base]\nfeature_steps: [a, b]\n",
     r"field 'feature_steps' must be a mapping of step name -> \{provides: \[features\], requires: \[steps\]\}, "
     r"got list \['a', 'b'\]"),
    (STEPS + "default_steps: [base]\nfeature_steps: abc\n", r"field 'feature_steps' must be a mapping .* got str"),
    (STEPS + "default_steps: []\nfeature_steps: {a: null}\n",
     r"field 'feature_steps\.a' must be a mapping holding a 'provides' list of features, got None"),
    (STEPS + "default_steps: []\nfeature_steps: {a: {provides: f1}}\n",
     r"field 'feature_steps\.a\.provides' must be a list of names, got 'f1'"),
    (DESCRIPTION.replace("default_steps:\n- base", "default_steps: [base, base]"),
     r"field 'default_steps' lists step 'base' twice"),
    (DESCRIPTION.replace("default_steps:\n- base", "default_steps: [s0]"),
     r"field 'default_steps' names unknown step 's0' \(feature_steps: base, extra\)"),
    (DESCRIPTION.replace("default_steps:\n- base", "default_steps: base"),
     r"field 'default_steps' must be a list of names, got 'base'"),
    (DESCRIPTION.replace("    - base\n", "    - nowhere\n"),
     r"field 'feature_steps\.extra\.requires' names unknown step 'nowhere' \(steps: base, extra\)"),
    (DESCRIPTION.replace("    provides:\n    - f1\n", "    provides:\n    - f1\n    requires:\n    - extra\n"),
     r"field 'feature_steps': the steps require each other in a cycle \((base -> extra -> base|extra -> base -> "
     r"extra)\)"),
    (DESCRIPTION.replace("scenario_id: TINY", "scenario_id: [a]"), r"field 'scenario_id' must be a name, got \['a'\]"),
]


@pytest.mark.parametrize(("text", "message"), SHAPES)
def test_a_description_field_of_the_wrong_type_or_shape_is_refused_by_name(tmp_path, capsys, text, message):
    from mezan.cli import main

    folder = tiny(tmp_path, **{"description.txt": text})
    with pytest.raises(InvalidProblemError, match=re.escape(str(folder / "description.txt")) + ": " + message):
        read_scenario(folder)
    assert main(["meta", "aslib", "evaluate", str(folder), "--approach", "knn", "--json", "--workers", "1"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "Traceback" not in out.err and re.search(message, out.err)


def test_the_fields_per_measure_aslib_1_steps_and_empty_default_steps_are_read_as_the_spec_says(tmp_path):
    two = DESCRIPTION.replace("performance_measures:\n- runtime", "performance_measures: [runtime, other]") \
        .replace("maximize:\n- false", "maximize: [false, true]") \
        .replace("performance_type:\n- runtime", "performance_type: [runtime, solution_quality]")
    s = read_scenario(tiny(tmp_path, **{"description.txt": two}))  # the first measure is scored
    assert s.runtime and not s.maximize and s.cutoff == 100
    old = STEPS + "default_steps: [base]\nfeature_steps:\n  base: [f1]\n  extra: [f2]\n"  # ASlib 1: the features
    s = read_scenario(tiny(tmp_path, **{"description.txt": old}))
    assert s.steps["base"].provides == ("f1",) and s.steps["extra"].requires == ()
    none = read_scenario(tiny(tmp_path, **{"description.txt": DESCRIPTION.replace("default_steps:\n- base",
                                                                                     "default_steps: []")}))
    assert none.default_steps == [] and not none.feature_mask(None).any()  # [] computes no step (missing: all)
    every = read_scenario(tiny(tmp_path, **{"description.txt": DESCRIPTION.replace("default_steps:\n- base\n", "")}))
    assert every.default_steps == ["base", "extra"]


QUALITY = DESCRIPTION.replace("- runtime\nmaximize:\n- false\nperformance_type:\n- runtime",
                              "- obj\nmaximize:\n- true\nperformance_type:\n- solution_quality")
QUALITY_RUNS = RUNS.replace("@ATTRIBUTE runtime NUMERIC", "@ATTRIBUTE obj NUMERIC")


@pytest.mark.parametrize(("name", "text", "message"), [
    ("algorithm_runs.arff", re.sub(r",(ok|crash)\n", ",timeout\n", QUALITY_RUNS),
     r"algorithm_runs\.arff: no successful run \(status ok with a obj value\): a solution-quality scenario then has "
     r"no cost to score"),
    ("algorithm_runs.arff", QUALITY_RUNS.replace("i1,1,A,10,ok", "i1,1,A,1e308,ok"),
     r"algorithm_runs\.arff, line 8: field obj is a solution quality of magnitude at most 1e\+100"),
    ("description.txt", DESCRIPTION.replace(CUTOFF, "algorithm_cutoff_time: 1e300"),
     r"field 'algorithm_cutoff_time' must be a positive finite number of seconds \(at most 1e\+100\)"),
    ("feature_values.arff", FEATURES.replace("i1,1,1.0,0.5", "i1,1,nan,0.5"),
     r"feature_values\.arff, line 7: field f1 must be a finite number or \? \(missing\), got nan"),
    ("feature_values.arff", FEATURES.replace("@ATTRIBUTE f1 NUMERIC", "@ATTRIBUTE f1 STRING")
     .replace("i1,1,1.0,0.5", "i1,1,abc,0.5"), r"feature_values\.arff, line 7: field f1 .* got 'abc'"),
])
def test_costs_that_make_no_sense_are_refused_not_scored(tmp_path, capsys, name, text, message):
    from mezan.cli import main

    replace = {"description.txt": QUALITY, "algorithm_runs.arff": QUALITY_RUNS} if "obj" in text else {}
    folder = tiny(tmp_path, **{**replace, name: text})
    with pytest.raises(InvalidProblemError, match=message):
        read_scenario(folder)
    assert main(["meta", "aslib", "evaluate", str(folder), "--approach", "knn", "--json", "--workers", "1"]) == 2
    out = capsys.readouterr()
    assert out.out == "" and "Traceback" not in out.err and re.search(message, out.err)


@pytest.mark.parametrize("seed", ["-1", str(2**63), "99999999999999999999"])
def test_a_seed_out_of_range_is_refused_by_its_option(tmp_path, capsys, seed):
    from mezan.cli import main

    folder = tiny(tmp_path)
    for approach in ("knn", "regression"):  # knn died in numpy's default_rng, regression in scikit-learn
        assert main(["meta", "aslib", "evaluate", str(folder), "--approach", approach, "--json", "--workers", "1",
                     "--seed", seed]) == 2
        out = capsys.readouterr()
        assert out.out == "" and "Traceback" not in out.err
        assert re.search(rf"--seed must be an integer in \[0, 2\*\*63 - 1\].*got {seed}", out.err)
    with pytest.raises(InvalidParameterError, match="seed must be an integer"):
        AlgorithmSelector("knn", seed=int(seed)).fit(np.ones((4, 1)), np.ones((4, 2)))


def test_every_seed_in_range_reaches_scikit_learn_in_its_range(tmp_path, capsys):
    from mezan.cli import main
    from mezan.meta.model import Clustering, Selector, sklearn_seed

    assert [sklearn_seed(s) for s in (None, 0, 7, 2**32 - 1)] == [None, 0, 7, 2**32 - 1]  # unchanged below 2**32
    big = [sklearn_seed(s) for s in (2**32, 2**32 + 1, 2**63 - 1)]
    assert all(0 <= b < 2**32 for b in big) and len(set(big)) == 3 and sklearn_seed(2**63 - 1) == big[2]
    with pytest.raises(InvalidParameterError, match=r"--seed must be an integer"):
        sklearn_seed(-1, name="--seed")
    top = 2**63 - 1
    x = np.random.default_rng(0).random((12, 3))
    assert Clustering(("a", "b", "c"), seed=top).fit(x, 2).k == 2  # KMeans refused this seed
    assert Selector(("a", "b", "c"), seed=top).fit(x, ["s"] * 12, x[:, 0]).models
    folder = tiny(tmp_path)
    for approach in ("regression", "pairwise", "ensemble", "forest_mean", "knn", "sunny", "auto"):
        assert main(["meta", "aslib", "evaluate", str(folder), "--approach", approach, "--json", "--workers", "1",
                     "--seed", str(top)]) == 0, approach
        assert json.loads(capsys.readouterr().out)["m_hat"] is not None


def _featureless(tmp_path: Path, runs: str = RUNS) -> Path:
    """TINY without any feature: no feature column, no step."""
    folder = tiny(tmp_path, **{
        "description.txt": STEPS + "feature_steps: {}\n", "algorithm_runs.arff": runs,
        "feature_values.arff": "@RELATION features\n@ATTRIBUTE instance_id STRING\n@ATTRIBUTE repetition NUMERIC\n"
                               "@DATA\ni1,1\ni2,1\ni3,1\ni4,1\n"})
    for name in ("feature_costs.arff", "feature_runstatus.arff"):
        (folder / name).unlink()
    return folder


@pytest.mark.parametrize("approach", ["regression", "pairwise", "knn", "forest_mean", "ensemble", "auto", "sunny"])
def test_a_scenario_without_features_runs_the_training_single_best_and_says_so(tmp_path, capsys, approach):
    from mezan.cli import main
    from mezan.meta.aslib import score_costs
    from mezan.meta.schedules import evaluate

    folder = _featureless(tmp_path)
    s = read_scenario(folder)
    assert s.feature_names == [] and s.features.shape == (4, 0)
    result = evaluate(s, approach=approach, schedules=False)
    assert result.featureless and result.used == (["sunny"] * 2 if approach == "sunny" else ["single_best"] * 2)
    if approach != "sunny":  # fold 1 (i1, i2) from i3, i4, where A is the single best; fold 2 from i1, i2: B
        assert result.algorithm.tolist() == [0, 0, 1, 1]
    assert main(["meta", "aslib", "evaluate", str(folder), "--approach", approach, "--json", "--workers", "1"]) == 0
    out = capsys.readouterr()
    row = json.loads(out.out)
    assert "Traceback" not in out.err and row["note"].startswith("no feature to select by")
    assert row["m_hat"] == pytest.approx(score_costs(s, evaluate(s, approach=approach).costs).m_hat)
    costs = [[1, 2], [3, 1], [1, 9]]  # A's mean 5/3, B's 4: A
    model = AlgorithmSelector(approach if approach != "sunny" else "knn").fit(np.zeros((3, 0)), costs)
    assert model.chosen == "single_best" and model.predict(np.zeros((2, 0))).tolist() == [0, 0]


@pytest.mark.parametrize("approach", ["regression", "pairwise", "knn", "forest_mean", "ensemble", "sunny"])
def test_one_algorithm_huge_and_missing_feature_values_give_sane_numbers_without_warnings(tmp_path, capsys,
                                                                                          approach):
    import warnings

    from mezan.cli import main
    from mezan.meta.schedules import evaluate

    huge = FEATURES.replace("i1,1,1.0,0.5", "i1,1,1e308,-1e308").replace("i2,1,2.0,?", "i2,1,1.5e308,?")
    cases = {
        "huge": {"feature_values.arff": huge},  # overflowed to inf when standardised: sklearn refused X
        "missing rows": {"feature_values.arff": FEATURES.split("@DATA\n")[0] + "@DATA\ni4,1,4.0,0.2\n"},
        "no rows": {"feature_values.arff": FEATURES.split("@DATA\n")[0] + "@DATA\n"},  # an all-NaN slice
        "one algorithm": {"algorithm_runs.arff": "\n".join(line for line in RUNS.splitlines()
                                                           if ",B," not in line) + "\n"},
    }
    for what, replace in cases.items():  # no step presolves an instance here: the VBS is a lower bound
        (tmp_path / what.replace(" ", "_")).mkdir()
        folder = tiny(tmp_path / what.replace(" ", "_"), **{"feature_runstatus.arff": STATUS.replace("presolved", "ok"),
                                                            **replace})
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            result = evaluate(read_scenario(folder), approach=approach)
        assert np.isfinite(result.costs).all() and (result.costs <= 1000).all(), what
        assert main(["meta", "aslib", "evaluate", str(folder), "--approach", approach, "--json", "--workers", "1"]) == 0
        out = capsys.readouterr()
        row = json.loads(out.out)
        assert out.err == "", what  # no warning leaks onto stderr
        assert row["vbs"] <= row["selector"] <= 1000 and row["vbs"] <= row["sbs"], what
        if what == "one algorithm":  # every selector runs it: no gap to close
            assert row["sbs"] == row["vbs"] and row["m_hat"] is None


def test_large_portfolios_are_cut_to_their_most_complementary_part(monkeypatch):
    # C is the single best; from it, A adds most to the oracle (it is best where C is weak), then B
    costs = np.array([[1.0, 9.0, 4.0, 8.0], [1.0, 9.0, 4.0, 8.0], [9.0, 2.0, 4.0, 3.0], [9.0, 9.0, 4.0, 9.0]])
    assert _portfolio(costs, np.arange(4), 1).tolist() == [2]
    assert _portfolio(costs, np.arange(4), 2).tolist() == [0, 2]
    assert _portfolio(costs, np.arange(4), 3).tolist() == [0, 1, 2]  # B (2 on row 3) before D (3 there)
    assert _portfolio(costs, np.arange(4), 9).tolist() == [0, 1, 2, 3]

    rng = np.random.default_rng(3)
    x = rng.normal(size=(300, 4))
    group = (x[:, 0] > 0).astype(int) + 2 * (x[:, 1] > 0).astype(int)  # four kinds of instance
    costs = rng.uniform(50.0, 100.0, (300, 30))
    costs[np.arange(300), group] = rng.uniform(1.0, 5.0, 300)  # algorithm k is the fast one on kind k
    for k in range(26):  # and each other algorithm is the best on one instance
        costs[10 * k, 4 + k] = 0.5
    monkeypatch.setattr(selectors, "PAIRWISE_WORK", 10**9)
    assert len(_contenders(costs)) == 30 and len(_modelled(costs)) == 30  # within the work limits: all
    monkeypatch.setattr(selectors, "PAIRWISE_WORK", 6 * 250)  # 4 contenders (6 pairs) on 250 rows
    monkeypatch.setattr(selectors, "OUTPUT_WORK", 5 * 250)  # 5 outputs
    assert _contenders(costs[:250]).tolist() == [0, 1, 2, 3]
    assert _modelled(costs[:250])[:4].tolist() == [0, 1, 2, 3] and len(_modelled(costs[:250])) == 5
    pairwise = AlgorithmSelector("pairwise", pairwise_trees=10).fit(x[:250], costs[:250])
    assert len(pairwise._models) == 6
    regression = AlgorithmSelector("regression", trees=30).fit(x[:250], costs[:250])
    scores = regression.scores(x[250:])
    assert np.isfinite(scores[:, _modelled(costs[:250])]).all() and (np.sort(scores, axis=1)[:, 5:] == UNPICKED).all()
    for model in (pairwise, regression):
        assert (model.predict(x[250:]) == group[250:]).mean() >= 0.9
    # a selector stored before the caps has no _algorithms (the class default, None, is read): pairwise reads its
    # contenders off its pairs, and a regression forest of every algorithm needs none
    before = pairwise.scores(x[250:])
    del pairwise.__dict__["_algorithms"]
    assert np.array_equal(pairwise.scores(x[250:]), before)
    every = AlgorithmSelector("regression", trees=30).fit(x[:100], costs[:100, :6])
    before = every.scores(x[250:])
    del every.__dict__["_algorithms"]
    assert np.array_equal(every.scores(x[250:]), before)


def test_auto_reuses_inner_scores_it_is_given_and_checks_them():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(90, 3))
    costs = np.column_stack([np.where(x[:, 0] > 0, 1.0, 30.0), np.where(x[:, 0] > 0, 30.0, 1.0), np.full(90, 10.0)])
    plain = AlgorithmSelector("auto", trees=20, pairwise_trees=5).fit(x, costs)
    probe = AlgorithmSelector("regression", trees=20, pairwise_trees=5)
    given = AlgorithmSelector("auto", trees=20, pairwise_trees=5).fit(
        x, costs, inner_scores={"regression": probe.out_of_fold_scores(x, costs, "regression")})
    assert given.chosen == plain.chosen and given.inner_costs == plain.inner_costs  # the probe's are auto's own
    assert (given.predict(x) == plain.predict(x)).all()
    # scores given are used as they are, not fitted again: regression "picks" algorithm 2 everywhere
    always_c = np.tile([1.0, 1.0, 0.0], (90, 1))
    told = AlgorithmSelector("auto", trees=20, pairwise_trees=5).fit(x, costs, inner_scores={"regression": always_c})
    assert told.inner_costs["regression"] == pytest.approx(10.0) and plain.inner_costs["regression"] < 5.0
    assert told.inner_costs["knn"] == plain.inner_costs["knn"]
    with pytest.raises(InvalidParameterError, match=r"inner_scores must map base approaches .* got 'regression' "
                                                    r"with shape \(90, 2\)"):
        AlgorithmSelector("auto").fit(x, costs, inner_scores={"regression": np.zeros((90, 2))})
    with pytest.raises(InvalidParameterError, match="got 'ensemble'"):
        AlgorithmSelector("auto").fit(x, costs, inner_scores={"ensemble": np.zeros((90, 3))})


def test_a_synthetic_scenario_has_the_shape_asked_for_and_structure_a_selector_finds():
    s = synthetic_scenario(instances=400, algorithms=12, features=40, steps=4, seed=5)
    assert s.performance.shape == (400, 12) and s.features.shape == (400, 40) and s.step_costs.shape == (400, 4)
    assert s.runtime and s.name == "SYNTHETIC-400x12x40-s5"
    assert s.default_steps == ["step0", "step1"] and s.steps["step2"].requires == ("step1",)
    assert sorted(f for step in s.steps.values() for f in step.provides) == s.feature_names
    assert sorted(np.bincount(s.folds)[1:]) == [40] * 10
    assert (s.ok == np.isfinite(s.performance)).all() and (s.performance[s.ok] <= s.cutoff).all()
    assert 0.01 < (~s.ok).mean() < 0.5 and 0.005 < np.isnan(s.features).mean() < 0.05
    again = synthetic_scenario(instances=400, algorithms=12, features=40, steps=4, seed=5)
    assert np.array_equal(again.performance, s.performance, equal_nan=True)
    assert not np.array_equal(synthetic_scenario(instances=400, algorithms=12, features=40, seed=6).performance,
                              s.performance, equal_nan=True)
    m_hat = score_costs(s, evaluate(s, approach="regression", schedules=False, trees=30).costs).m_hat
    assert m_hat < 0.6  # the features tell the algorithms apart (the single best is 1, the oracle 0)


@pytest.mark.parametrize(("arguments", "message"), [
    ({"instances": 5}, "instances must be an integer >= 20; got 5"),
    ({"algorithms": 1.5}, "algorithms must be an integer >= 2; got 1.5"),
    ({"features": 2, "steps": 3}, "features must be an integer >= 3; got 2"),
    ({"cutoff": float("inf")}, "cutoff must be a positive number of seconds; got inf"),
    ({"seed": -1}, "seed"),
])
def test_a_synthetic_scenario_names_the_argument_that_is_wrong(arguments, message):
    with pytest.raises(InvalidParameterError, match=re.escape(message)):
        synthetic_scenario(**arguments)
