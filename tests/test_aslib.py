"""ASlib scenarios: reading, PAR10, repetitions, feature costs and presolved steps, SBS / VBS / m̂, and the
selectors' out-of-fold evaluation (on a tiny scenario written here, and the shared ones when present)."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from mezan.errors import InvalidParameterError, InvalidProblemError
from mezan.meta.aslib import read_scenario, score, selection_costs
from mezan.meta.selectors import AlgorithmSelector, cross_validate

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


@pytest.mark.parametrize(("name", "text", "message"), [
    ("algorithm_runs.arff", RUNS.replace("@DATA", "@DATUM"), r"algorithm_runs\.arff"),
    ("algorithm_runs.arff", RUNS.replace("i1,1,A,10,ok", "i1,1,A,10,fine"), r"algorithm_runs\.arff, line \d+"),
    ("cv.arff", CV.replace("@ATTRIBUTE fold NUMERIC", "@ATTRIBUTE part NUMERIC"), r"cv\.arff: missing attribute"),
    ("description.txt", "scenario_id: [unclosed", r"description\.txt: not valid YAML"),
    ("description.txt", DESCRIPTION.replace("performance_type:\n- runtime\n", ""),
     r"description\.txt: field 'performance_type' is missing"),
])
def test_malformed_files_name_the_file_and_what_is_wrong(tmp_path, name, text, message):
    with pytest.raises(InvalidProblemError, match=message):
        read_scenario(tiny(tmp_path, **{name: text}))


def test_selectors_are_fitted_out_of_fold_only():
    rng = np.random.default_rng(0)
    n = 300
    x = rng.normal(size=(n, 4))
    costs = np.column_stack([np.where(x[:, 0] > 0, 1.0, 100.0), np.where(x[:, 0] > 0, 100.0, 1.0),
                             np.full(n, 60.0)])
    folds = np.arange(n) % 10 + 1
    for approach in ("regression", "pairwise", "knn", "auto"):
        picks, _ = cross_validate(x, costs, folds, approach=approach)
        assert costs[np.arange(n), picks].mean() < 10.0, approach  # the feature tells which: near the VBS (1.0)
    shuffled = rng.permutation(n)  # labels no longer follow the features: out-of-fold cannot beat the SBS (60)
    picks, _ = cross_validate(x, costs[shuffled], folds, approach="regression")
    assert costs[shuffled][np.arange(n), picks].mean() > 40.0
    with pytest.raises(InvalidParameterError, match="approach must be one of"):
        AlgorithmSelector("magic").fit(x, costs)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared ASlib folder is not here")
def test_every_shared_scenario_loads_with_known_sbs_and_vbs():
    names = sorted(p.name for p in SHARED.iterdir() if (p / "description.txt").exists())
    assert len(names) == 7
    for name in names:
        s = read_scenario(SHARED / name)
        costs = s.costs()
        assert costs.shape == (len(s.instances), len(s.algorithms)) and np.isfinite(costs).all()
        assert set(np.unique(s.folds)) == set(range(1, 11))
    indu = read_scenario(SHARED / "SAT11-INDU")  # pinned: PAR10 of the SBS and the VBS without feature costs
    plain = score(indu, np.zeros(len(indu.instances), dtype=int), steps=[])
    assert plain.sbs_algorithm == "glucose_2" and plain.sbs == pytest.approx(14605.90, abs=0.01)
    assert plain.vbs == pytest.approx(8187.52, abs=0.01)
