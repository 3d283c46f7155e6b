"""MetaFlow learns from every solve: solver and instance ratings after each solve, difficulty, memory of solutions."""

import json
import re

import numpy as np
import pytest

import mezan
from mezan.cli import main
from mezan.meta import MetaFlow, memory
from mezan.meta.ratings import Difficulty
from mezan.problems import LinearOrderingProblem, QAPProblem, TSPProblem
from mezan.qap import generate, objective
from mezan.results import Result


def tsp(n, seed):
    rng = np.random.default_rng(seed)
    xy = rng.random((n, 2))
    return TSPProblem(np.sqrt(((xy[:, None] - xy[None]) ** 2).sum(-1)))


def test_every_solve_rates_solvers_and_instances_of_each_type(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    assert flow.ratings() == {}
    plays = [(generate.taillard_a(8, seed=1), "qap.rots"), (tsp(8, 1), "evo.ga@tsp"),
             (generate.taillard_a(8, seed=2), "qap.local_first"), (tsp(8, 2), "evo.memetic@tsp")]
    games: dict[str, int] = {}
    for problem, solver in plays:
        mezan.solve(problem, time_limit=0.05, seed=0, solver=solver, metaflow=flow)
        games[solver] = games.get(solver, 0) + 1
        kind = problem.problem_type
        rated = flow.ratings(problem_type=kind)
        assert rated[solver][1] == games[solver]  # rated right after this solve
        assert flow.instance_ratings(kind)[problem.fingerprint()][1] >= 1
    assert set(flow.ratings(problem_type="qap")) == {"qap.rots", "qap.local_first"}
    assert set(flow.ratings(problem_type="tsp")) == {"evo.ga@tsp", "evo.memetic@tsp"}
    assert len(flow.instance_ratings("qap")) == 2 and len(flow.instance_ratings("tsp")) == 2
    status = flow.status()
    assert status["rated_instances"] == 2
    assert all(not name.startswith("instance:") for scope in status["ratings"].values() for name in scope)


def test_instance_ratings_follow_a_planted_difficulty(tmp_path):
    """Easy instances carry a reference every solve reaches, hard ones one no solve can reach (below the optimum),
    medium ones their optimum, which the exact solver reaches and a single descent often does not."""
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    planted = {}
    for s in range(3):
        base = generate.taillard_a(9, seed=10 + s)
        optimum = mezan.solve(base, time_limit=5, seed=0, solver="qap.bnb", metaflow=flow, record=False).objective
        for level, reference in (("easy", 10.0 * optimum), ("medium", optimum), ("hard", 0.5 * optimum)):
            scale = {"easy": 1, "medium": 2, "hard": 3}[level]  # distinct instances (fingerprints) per level
            problem = QAPProblem(base.A * scale, base.B, best_known=reference * scale)
            planted[problem.fingerprint()] = level
            for solver in ("qap.bnb", "qap.local_first", "qap.local_first"):
                mezan.solve(problem, time_limit=2, seed=s, solver=solver, metaflow=flow)
    rated = flow.instance_ratings("qap")
    mean = {level: np.mean([r for key, (r, _) in rated.items() if planted[key] == level])
            for level in ("easy", "medium", "hard")}
    assert mean["easy"] < mean["medium"] < mean["hard"]


def test_difficulty_is_rated_predicted_or_prior(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    unseen = generate.taillard_a(10, seed=99)
    assert flow.difficulty(unseen) == Difficulty(1500.0, 0, "prior")
    # hard family: a reference no solve reaches; easy family: one every solve reaches
    for s in range(4):
        hard = QAPProblem(generate.taillard_a(10, seed=s).A, generate.taillard_a(10, seed=s).B, best_known=1.0)
        easy = generate.grid_manhattan(2, 5, seed=s)
        easy = QAPProblem(easy.A, easy.B, best_known=1e18)
        for problem in (hard, easy):
            mezan.solve(problem, time_limit=0.05, seed=0, solver="qap.local_first", metaflow=flow)
    rated = flow.instance_ratings("qap")
    hard_one = QAPProblem(generate.taillard_a(10, seed=0).A, generate.taillard_a(10, seed=0).B, best_known=1.0)
    own = flow.difficulty(hard_one)
    assert own.source == "rated" and own.games == 1 and own.rating == rated[hard_one.fingerprint()][0]
    predicted = flow.difficulty(unseen)
    assert predicted.source == "predicted" and predicted.neighbours == 5 and predicted.games == 0
    assert predicted.rating > 1500.0  # its nearest neighbours are the (hard) Taillard instances
    result = mezan.solve(unseen, time_limit=0.05, seed=0, solver="qap.local_first", metaflow=flow)
    assert "instance difficulty: Elo" in result.explanation and "predicted from the 5" in result.explanation


def test_a_second_solve_starts_from_the_stored_best_and_never_returns_worse(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    problem = generate.taillard_a(25, seed=5)
    first = mezan.solve(problem, time_limit=0.5, seed=0, solver="qap.rots", metaflow=flow)
    stored = memory.recall(flow.store, problem)
    assert stored is not None and stored.objective == first.objective and stored.solver == "qap.rots"
    assert objective(problem, None, stored.solution) == first.objective
    # a single descent from a random start would end far worse; from the stored best it cannot
    second = mezan.solve(problem, time_limit=0.5, seed=1, solver="qap.local_first", metaflow=flow)
    assert "warm start from the stored best solution" in second.explanation
    assert second.objective <= first.objective
    assert objective(problem, None, second.solution) == second.objective
    cold = mezan.solve(problem, time_limit=0.5, seed=1, solver="qap.local_first", metaflow=MetaFlow(":memory:"))
    assert cold.objective > first.objective  # the warm start, not luck, made the difference
    # the warm-started solve is in the history but is no evidence of qap.local_first's skill
    assert flow.store.count_solves() == 2 and len(memory.warm_started(flow.store)) == 1
    assert [r.solver for r, _ in flow.rewarded_history("qap")] == ["qap.rots"]
    assert "qap.local_first" not in flow.ratings()
    online = flow.store.ratings("qap:global")
    flow.rebuild_ratings("qap")
    assert flow.store.ratings("qap:global") == online


@pytest.mark.parametrize("kind", ["tsp", "linear_ordering"])
def test_a_solver_without_warm_start_still_never_returns_worse_than_the_stored_best(tmp_path, kind):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    problem = tsp(30, 3) if kind == "tsp" else LinearOrderingProblem(np.random.default_rng(3).random((30, 30)))
    best = mezan.solve(problem, time_limit=1.0, seed=0, solver=f"evo.memetic@{kind}", metaflow=flow)
    again = mezan.solve(problem, time_limit=0.01, seed=1, solver=f"evo.ga@{kind}", metaflow=flow)
    assert again.objective <= best.objective + 1e-9
    assert "floor: the stored best solution" in again.explanation


def _tamper(store, sql, args=()):
    with store.transaction() as db:
        db.execute(sql, args)


@pytest.mark.parametrize(("damage", "message"), [
    ("UPDATE solutions SET objective = objective - 1", "fails its checksum"),
    ("UPDATE solutions SET solution = '[0, 0, 1]'", "fails its checksum"),
    ("UPDATE solutions SET objective = 'low'", "fails its checksum"),
    ("UPDATE solutions SET solution = x'00ff'", "fails its checksum"),
])
def test_an_altered_stored_solution_is_refused_and_the_solve_runs_cold(tmp_path, damage, message):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    problem = generate.taillard_a(12, seed=1)
    mezan.solve(problem, time_limit=0.2, seed=0, solver="qap.rots", metaflow=flow)
    _tamper(flow.store, damage)
    with pytest.raises(memory.StoredSolutionError, match=message):
        memory.recall(flow.store, problem)
    result = mezan.solve(problem, time_limit=0.2, seed=0, solver="qap.rots", metaflow=flow)
    assert "stored solution refused" in result.explanation and message in result.explanation
    assert result.has_solution and objective(problem, None, result.solution) == result.objective
    assert memory.recall(flow.store, problem).objective == result.objective  # the verified solution replaced it


def _rewrite(store, fingerprint, problem_type, value, solution):
    """A row with a valid checksum but foreign or invalid content (what a buggy or older writer could leave)."""
    text = json.dumps(solution)
    check = memory._checksum(fingerprint, problem_type, value, text, "x")
    _tamper(store, "UPDATE solutions SET problem_type = ?, objective = ?, solution = ?, solver = 'x', checksum = ? "
                   "WHERE fingerprint = ?", (problem_type, value, text, check, fingerprint))


@pytest.mark.parametrize(("kind", "value", "solution", "message"), [
    ("tsp", 5.0, list(range(12)), "is for a 'tsp' problem, not 'qap'"),
    ("qap", 5.0, [0] * 12, "is not a permutation of 0..11"),
    ("qap", 5.0, list(range(11)), "needs a permutation of 12 entries"),
    ("qap", 5.0, list(range(12)), "has objective"),
])
def test_foreign_or_invalid_stored_solutions_are_refused_by_name(tmp_path, kind, value, solution, message):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    problem = generate.taillard_a(12, seed=1)
    mezan.solve(problem, time_limit=0.1, seed=0, solver="qap.rots", metaflow=flow)
    _rewrite(flow.store, problem.fingerprint(), kind, value, solution)
    with pytest.raises(memory.StoredSolutionError, match=message):
        memory.recall(flow.store, problem)
    again = mezan.solve(problem, time_limit=0.1, seed=0, solver="qap.rots", metaflow=flow)
    assert "stored solution refused" in again.explanation
    assert memory.recall(flow.store, problem).objective == again.objective  # its low claim barred nothing


def test_memory_keeps_only_a_better_verified_solution(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    problem = generate.taillard_a(10, seed=2)
    p = np.arange(10)
    value = objective(problem, None, p)
    assert memory.remember(flow.store, problem, Result(solution=p, objective=value, solver="a"))
    worse = np.roll(p, 1)
    assert objective(problem, None, worse) != value
    kept = objective(problem, None, worse) < value
    assert memory.remember(flow.store, problem, Result(solution=worse, objective=objective(problem, None, worse),
                                                       solver="b")) == kept
    lie = Result(solution=p[::-1].copy(), objective=1.0, solver="liar")  # a claim the solution does not back
    assert not memory.remember(flow.store, problem, lie)
    assert memory.recall(flow.store, problem).solver == ("b" if kept else "a")


def test_recording_does_not_recluster_refresh_does(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    for s in range(4):
        result = mezan.solve(generate.taillard_a(8, seed=s), time_limit=0.02, seed=0, solver="qap.local_first",
                             metaflow=flow, record=False)
        flow.record(generate.taillard_a(8, seed=s), "qap.local_first", result, time_limit=0.02)
    assert flow._clustering("qap") is None  # four instances recorded, nothing re-clustered as a side effect
    assert flow.refresh("qap") and flow._clustering("qap") is not None
    assert not flow.refresh("qap")  # not due again until the history doubles


def test_recluster_and_rebuild_ratings_commands(tmp_path, capsys):
    store = str(tmp_path / "m.db")
    flow = MetaFlow(store, seed=0)
    for s in range(3):
        mezan.solve(generate.taillard_a(8, seed=s), time_limit=0.02, seed=0, solver="qap.rots", metaflow=flow)
    before = flow.store.ratings("qap:global")
    assert main(["meta", "rebuild-ratings", "--store", store]) == 0
    assert "3 instances" in capsys.readouterr().out
    assert flow.store.ratings("qap:global") == before  # the replay plays the games the online updates played
    assert main(["meta", "recluster", "--store", store]) == 0
    assert "clusters of 3 qap instances" in capsys.readouterr().out
    assert main(["meta", "recluster", "--type", "tsp", "--store", store]) != 0
    assert "--type: no recorded 'tsp' solves" in capsys.readouterr().err


def _history_with_every_solver_on_every_instance(store):
    """Planted outcomes: qap.rots is best on the Taillard instances, qap.anneal on the grids, qap.local_first
    never; some (instance, solver) pairs have two repetitions."""
    flow = MetaFlow(store, seed=0)
    solvers = ["qap.rots", "qap.local_first", "qap.anneal"]
    problems = [generate.taillard_a(10, seed=s) for s in range(6)] + [generate.grid_manhattan(2, 5, seed=s)
                                                                     for s in range(6)]
    for k, problem in enumerate(problems):
        grid = k >= 6
        planted = {"qap.rots": 0.02 if grid else 0.0, "qap.local_first": 0.05, "qap.anneal": 0.0 if grid else 0.03}
        for solver in solvers:
            for repetition in range(2 if k % 3 == 0 else 1):
                value = 1000.0 * (k + 1) * (1 + planted[solver] + 0.001 * repetition)
                flow.record(problem, solver, Result(solution=np.arange(10), objective=value), time_limit=1.0)
    return flow, problems, solvers


def test_the_history_exports_as_an_aslib_scenario_the_reader_scores_identically(tmp_path):
    from mezan.meta.aslib import read_scenario, score
    from mezan.meta.aslib_export import export_history
    from mezan.meta.selectors import cross_validate

    flow, problems, solvers = _history_with_every_solver_on_every_instance(tmp_path / "m.db")
    folder = export_history(flow.store, tmp_path / "scenario", seed=3)
    scenario = read_scenario(folder)
    assert scenario.performance_type == "solution_quality" and not scenario.maximize
    assert sorted(scenario.algorithms) == sorted(solvers) and len(scenario.instances) == len(problems)
    assert sorted(set(scenario.folds.tolist())) == list(range(1, 11))
    assert np.isfinite(scenario.features[:, scenario.feature_names.index("n")]).all()
    assert scenario.step_costs is not None and (scenario.step_costs > 0).all()  # measured feature times
    # SBS / VBS computed independently from the store: median gap over repetitions per (instance, solver)
    gaps: dict[tuple[str, str], list[float]] = {}
    best: dict[str, float] = {}
    for r in flow.store.solves():
        best[r.fingerprint] = min(best.get(r.fingerprint, r.objective), r.objective)
    for r in flow.store.solves():
        gaps.setdefault((r.fingerprint, r.solver), []).append((r.objective - best[r.fingerprint])
                                                              / abs(best[r.fingerprint]))
    table = np.array([[np.median(gaps[(i, s)]) for s in scenario.algorithms] for i in scenario.instances])
    s = score(scenario, np.argmin(table, axis=1))
    assert s.vbs == pytest.approx(table.min(axis=1).mean())
    assert s.sbs == pytest.approx(table.mean(axis=0).min())
    assert s.sbs > s.vbs and s.sbs_algorithm == "qap.rots"  # planted: rots best on average, not everywhere
    assert s.selector == pytest.approx(s.vbs) and s.m_hat == pytest.approx(0.0)
    picks, _ = cross_validate(scenario.features, scenario.costs(), scenario.folds, approach="pairwise", log_costs=False)
    assert score(scenario, picks).m_hat < 0.5  # the families are told apart by their features, out of fold


def test_aslib_export_command_and_its_errors(tmp_path, capsys):
    store = str(tmp_path / "m.db")
    _history_with_every_solver_on_every_instance(store)
    assert main(["meta", "aslib", "export", str(tmp_path / "out"), "--store", store]) == 0
    out = capsys.readouterr().out
    assert "12 instances x 3 solvers" in out and "SBS" in out and "VBS" in out
    assert main(["meta", "aslib", "evaluate", str(tmp_path / "out"), "--approach", "knn", "--json"]) == 0
    row = json.loads(capsys.readouterr().out)
    assert row["scenario"] == "MEZAN-qap" and 0 <= row["vbs"] <= row["sbs"]
    assert main(["meta", "aslib", "export", str(tmp_path / "out"), "--store", store]) != 0  # not empty
    assert "exists and is not empty" in capsys.readouterr().err
    ragged = str(tmp_path / "r.db")
    flow = MetaFlow(ragged, seed=0)
    mezan.solve(generate.taillard_a(8, seed=0), time_limit=0.02, seed=0, solver="qap.rots", metaflow=flow)
    mezan.solve(generate.taillard_a(8, seed=1), time_limit=0.02, seed=0, solver="qap.anneal", metaflow=flow)
    assert main(["meta", "aslib", "export", str(tmp_path / "r"), "--store", ragged]) != 0
    assert "has no recorded solve of instance" in capsys.readouterr().err


def test_reset_forgets_the_memory_of_solutions(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    problem = generate.taillard_a(10, seed=2)
    mezan.solve(problem, time_limit=0.05, seed=0, solver="qap.rots", metaflow=flow)
    assert memory.recall(flow.store, problem) is not None
    flow.store.reset()
    assert memory.recall(flow.store, problem) is None and flow.store.count_solves() == 0


def test_train_fits_the_per_instance_selector_and_the_model_policy_uses_it(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    taillard = [generate.taillard_a(9, seed=s) for s in range(6)]
    grids = [generate.grid_manhattan(3, 3, seed=s) for s in range(6)]
    for k, problem in enumerate(taillard + grids):  # planted: rots wins the Taillard instances, anneal the grids
        grid = k >= 6
        p = np.arange(problem.n)
        value = objective(problem, None, p)
        for solver, worse in (("qap.rots", 0.05 if grid else 0.0), ("qap.anneal", 0.0 if grid else 0.05)):
            flow.record(problem, solver, Result(solution=p, objective=value * (1 + worse)), time_limit=1.0)
    flow.record(taillard[0], "qap.local_first", Result(solution=np.arange(9), objective=1.0), time_limit=1.0)
    report = flow.train()
    assert report.selector_approach in ("regression", "pairwise", "knn", "ensemble") and report.selector_instances == 12
    model = MetaFlow(tmp_path / "m.db", policy="model", seed=0)
    unseen_taillard, unseen_grid = generate.taillard_a(9, seed=50), generate.grid_manhattan(3, 3, seed=50)
    pick, why = model.select(unseen_taillard, ["qap.rots", "qap.anneal"])
    assert pick == "qap.rots" and "per-instance selector" in why and "12 instances" in why
    assert model.select(unseen_grid, ["qap.rots", "qap.anneal"])[0] == "qap.anneal"
    # a candidate the selector was not fitted on (too few instances) falls back to the reward model
    assert "per-instance selector" not in model.select(unseen_grid, ["qap.local_first"])[1]


@pytest.mark.parametrize(("damage", "message"), [
    ("UPDATE solves SET features = '{broken'", r"history row 1 fails its check"),
    ("INSERT OR REPLACE INTO ratings VALUES ('qap:global', 'qap.rots', 'high', 1)", r"rating of 'qap.rots'"),
])
def test_refused_metaflow_data_never_stops_a_solve_and_verify_repairs_it(tmp_path, capsys, damage, message):
    store = str(tmp_path / "m.db")
    problem = generate.taillard_a(8, seed=0)
    mezan.solve(problem, time_limit=0.05, seed=0, solver="qap.rots", metaflow=MetaFlow(store, seed=0))
    flow = MetaFlow(store, seed=0)
    flow.store._connection().execute(damage)
    rows = flow.store.count_solves()
    result = mezan.solve(problem, time_limit=0.05, seed=0, metaflow=flow)
    assert result.objective == objective(problem.A, problem.B, result.solution)
    assert "MetaFlow's stored data refused" in result.explanation and re.search(message, result.explanation)
    assert result.solver == "qap.bnb"  # the default for n <= 15, not a learned choice
    assert flow.store.count_solves() == rows  # not recorded on top of history that fails its checks
    capsys.readouterr()
    assert main(["meta", "verify", "--store", store]) == 1
    assert re.search(message, capsys.readouterr().out)
    assert main(["meta", "verify", "--repair", "--store", store]) == 0
    assert main(["meta", "verify", "--store", store]) == 0
    again = mezan.solve(problem, time_limit=0.05, seed=0, metaflow=MetaFlow(store, seed=0))
    assert "refused" not in again.explanation


def test_a_refused_model_counts_as_missing_the_solve_is_recorded_and_the_next_fit_replaces_it(tmp_path):
    store = str(tmp_path / "m.db")
    flow = MetaFlow(store, seed=0)
    for s in range(4):  # the fourth instance fits the first clustering
        mezan.solve(generate.taillard_a(8, seed=s), time_limit=0.05, seed=0, solver="qap.rots", metaflow=flow)
    assert flow._clustering("qap") is not None
    unsigned = "INSERT OR REPLACE INTO artifacts VALUES ('clustering:qap', 0, x'80049500')"  # e.g. an older MEZAN's
    flow.store._connection().execute(unsigned)
    rows = flow.store.count_solves()
    again = MetaFlow(store, seed=0)
    result = mezan.solve(generate.taillard_a(8, seed=0), time_limit=0.05, seed=0, metaflow=again)
    assert "a refused model counts as missing until refitted" in result.explanation
    assert "artifact 'clustering:qap' is not a signed MEZAN artifact" in result.explanation
    assert again.store.count_solves() == rows + 1  # the history is intact: the solve is recorded
    # and the refresh after recording found no (usable) clustering, so it fitted one: signed, the store heals
    assert main(["meta", "verify", "--store", store]) == 0
    fresh = MetaFlow(store, seed=0)
    assert fresh._clustering("qap") is not None and not fresh.refused


def test_train_takes_the_problem_type(tmp_path, capsys):
    store = str(tmp_path / "m.db")
    flow = MetaFlow(store, seed=0)
    for s in range(4):
        mezan.solve(tsp(8, s), time_limit=0.05, seed=0, metaflow=flow)
    assert main(["meta", "train", "--store", store]) != 0
    assert "--type: no recorded 'qap' solves" in capsys.readouterr().err
    code = main(["meta", "train", "--type", "tsp", "--store", store])
    out = capsys.readouterr()
    assert code == 0, out.err
    assert MetaFlow(store)._clustering("tsp") is not None and MetaFlow(store).store.artifact_time("selector:tsp")
