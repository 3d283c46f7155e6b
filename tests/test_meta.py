"""MetaFlow: Elo, bandits, clustering, features, reward, selection, races, training, mezan.solve, CLI."""

import json
import math

import numpy as np
import pytest

import mezan
from mezan import registry
from mezan.cli import main
from mezan.errors import InvalidParameterError
from mezan.meta import MetaFlow, elo
from mezan.meta.features import QAP_FEATURES, features
from mezan.meta.model import Clustering
from mezan.meta.policies import Arm, choose
from mezan.meta.reward import reference, reward
from mezan.meta.simulate import Outcomes, plot_regret, simulate_regret
from mezan.qap import generate, load, solve
from mezan.store import Store

FAST = ["qap.rots", "qap.local_first"]


# ---- Elo -------------------------------------------------------------------------------------
def test_elo_matches_hand_computed_values():
    assert elo.expected_score(1500, 1500) == 0.5
    # E = 1 / (1 + 10^(-200/400)) = 0.7597469266...
    assert elo.expected_score(1600, 1400) == pytest.approx(0.7597469266479578)
    a, b = elo.update(1600, 1400, 1.0, k=32)
    assert a == pytest.approx(1600 + 32 * (1 - 0.7597469266479578)) == pytest.approx(1607.6880983472653)
    assert b == pytest.approx(1392.3119016527347)
    a, b = elo.update(1600, 1400, 0.0, k=20)  # the upset: the favourite loses 20 * 0.7597
    assert a == pytest.approx(1584.8050614670409) and b == pytest.approx(1415.1949385329591)
    # A race of three from 1500: a beats both (+16 +16), b beats c (+16 -16), c loses both.
    after = elo.rate_race({}, {"a": 1.0, "b": 2.0, "c": 3.0}, k=32)
    assert after == {"a": (1532.0, 2), "b": (1500.0, 2), "c": (1468.0, 2)}
    assert elo.rate_race({}, {"a": 5.0, "b": 5.0}) == {"a": (1500.0, 1), "b": (1500.0, 1)}  # a draw
    assert elo.score(1.0, 2.0) == 1.0 and elo.score(2.0, 1.0) == 0.0 and elo.score(3.0, 3.0) == 0.5


def test_swiss_pairings_avoid_rematches_and_give_byes():
    pairs = elo.swiss_pairings({"a": 2, "b": 2, "c": 1, "d": 0}, [frozenset("ab")])
    assert pairs == [("a", "c"), ("b", "d")]
    assert elo.swiss_pairings({"a": 1, "b": 0, "c": 0}, []) == [("c", None), ("a", "b")]
    assert elo.swiss_pairings({"a": 1, "b": 0, "c": 0}, [], byes=["c"]) == [("b", None), ("a", "c")]


# ---- bandits ---------------------------------------------------------------------------------
@pytest.mark.parametrize(("policy", "variant"), [("ucb", "beta"), ("thompson", "beta"), ("thompson", "gaussian")])
def test_bandits_find_the_best_arm(policy, variant):
    means = {"low": 0.3, "mid": 0.5, "best": 0.7}
    found = 0
    for seed in range(20):
        rng = np.random.default_rng(seed)
        arms: dict[str, Arm] = {}
        for _ in range(1500):
            pick, _ = choose(policy, arms, list(means), rng, thompson=variant)
            arms.setdefault(pick, Arm()).add(float(rng.random() < means[pick]))
        found += max(arms, key=lambda s: arms[s].plays) == "best"
    assert found >= 18, f"{policy}/{variant} found the best arm in {found}/20 seeds"


def test_policies_refuse_bad_arguments():
    rng = np.random.default_rng(0)
    with pytest.raises(InvalidParameterError, match="policy must be one of"):
        choose("epsilon", {}, ["a"], rng)
    with pytest.raises(InvalidParameterError, match="no candidate"):
        choose("ucb", {}, [], rng)
    with pytest.raises(InvalidParameterError, match="policy must be one of"):
        MetaFlow(":memory:", policy="best")
    with pytest.raises(InvalidParameterError, match="exploration must be >= 0"):
        MetaFlow(":memory:", exploration=-1)
    with pytest.raises(InvalidParameterError, match=r"'allocflow\.highs' solves 'allocation' problems, not 'qap'"):
        MetaFlow(":memory:").select(load("nug12"), ["qap.rots", "allocflow.highs"])


# ---- reward, clustering, features ------------------------------------------------------------
def test_reward_prefers_the_best_known_value_then_best_seen_then_the_bound():
    assert reference(100.0, 90.0, 80.0) == (100.0, "best_known")
    assert reference(None, 90.0, 80.0) == (90.0, "best_seen")
    assert reference(None, None, 80.0) == (80.0, "lower_bound")
    assert reward(100.0, 100.0) == 1.0
    assert reward(101.0, 100.0) == pytest.approx(math.exp(-1))  # a 1 % gap with gap_scale 0.01
    assert reward(99.0, 100.0) == 1.0  # better than the reference
    assert reward(101.0, 100.0, wall_time=5, time_limit=10, time_weight=0.5) == pytest.approx(0.75 * math.exp(-1))


def test_clustering_is_stable_for_a_seed_and_finds_separated_groups():
    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(0, 1, (30, 4)), rng.normal(8, 1, (30, 4))])
    first = Clustering(("a", "b", "c", "d"), seed=3).fit(X, k=2)
    second = Clustering(("a", "b", "c", "d"), seed=3).fit(X, k=2)
    labels = [first.predict(x) for x in X]
    assert labels == [second.predict(x) for x in X]
    assert len(set(labels[:30])) == 1 and len(set(labels[30:])) == 1 and labels[0] != labels[-1]
    assert "sd" in first.describe(labels[0])


def test_features_are_numbers_in_a_fixed_order_and_deterministic():
    problem = load("nug12")
    f = features(problem)
    assert tuple(f) == QAP_FEATURES and all(isinstance(v, float) for v in f.values())
    assert f == features(problem)
    assert f["n"] == 12 and f["symmetric"] == 1.0 and 0 < f["glb_ratio"] <= 1.0 and f["probe_improvement"] > 0
    grid = features(generate.grid_manhattan(4, 5, seed=0))
    assert grid["structured_B"] == 1.0 and grid["structured_A"] == 0.0


# ---- MetaFlow --------------------------------------------------------------------------------
def test_selection_is_deterministic_with_a_seed(tmp_path):
    store = Store(tmp_path / "m.db")
    problems = [generate.taillard_a(12, seed=s) for s in range(3)]
    flow = MetaFlow(store, seed=1)
    for p in problems:
        flow.race(p, FAST, time_limit=0.05, seed=0)
    picks = [[MetaFlow(store, seed=7).select(p)[0] for p in problems] for _ in range(2)]
    assert picks[0] == picks[1]
    assert all(pick in flow.candidates(problems[0]) for pick in picks[0])


def test_cold_start_uses_qapflows_default_then_the_policy_takes_over():
    flow = MetaFlow(":memory:", seed=0)
    assert flow.select(load("nug12"))[0] == "qap.bnb"
    name, why = flow.select(load("nug20"))
    assert name == "qapflow.enhanced" and "cold start" in why
    flow.race(load("nug20"), ["qapflow.hybrid", "qapflow.fft"], time_limit=0.05, seed=0)
    assert "cold start" not in flow.select(load("nug20"))[1]


def test_race_records_rates_and_ranks(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    problem = load("chr12a")
    race = flow.race(problem, FAST, time_limit=0.1, seed=2)
    objectives = {s: r.objective for s, r in race.results.items()}
    assert race.ranking == sorted(objectives, key=lambda s: (objectives[s], s))
    ratings = flow.ratings()
    # each solver: one race game against the other and one solve game against the instance
    assert set(ratings) == set(FAST) and all(g == 2 for _, g in ratings.values())
    scope = flow.store.ratings("qap:global")  # the two solvers and the instance, on one scale
    assert len(scope) == 3 and sum(r for r, _ in scope.values()) == pytest.approx(3 * 1500.0)  # Elo is zero-sum
    assert flow.store.count_solves() == 2 and {r.race for r in flow.store.solves()} == {race.race_id}
    with pytest.raises(InvalidParameterError, match="at least two"):
        flow.race(problem, ["qap.rots"], time_limit=0.1)
    with pytest.raises(InvalidParameterError, match=r"no solver named 'qap\.nope'"):
        flow.race(problem, ["qap.rots", "qap.nope"], time_limit=0.1)


def test_tournament_is_swiss_and_rebuilt_ratings_match_replayed_races(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    problems = [generate.taillard_a(10, seed=s) for s in range(2)]
    solvers = ["qap.rots", "qap.local_first", "qap.anneal"]
    result = flow.tournament(problems, solvers, rounds=2, time_limit=0.05, seed=1)
    assert sum(result.points.values()) == 2 * 2  # per round: one game (1 point) + one bye (1 point)
    byes = [g for g in result.games if g[2] is None]
    assert len(byes) == 2 and len({g[1] for g in byes}) == 2  # the bye moves on
    before = flow.ratings()
    flow.rebuild_ratings()
    after = flow.ratings()
    assert set(after) == set(before) and all(after[s][1] == before[s][1] for s in before)
    assert all(after[s][0] == pytest.approx(before[s][0]) for s in before)
    assert next(s for s, _, _ in result.standings()) == max(result.points, key=lambda s: (result.points[s],
                                                                                            before[s][0]))


def test_train_then_model_policy_and_qapflow_auto_asks_an_advisor_it_is_given():
    flow = MetaFlow(seed=0)  # the default store, under this test's private MEZAN_HOME
    problems = [generate.taillard_a(16, seed=s) for s in range(2)] + [generate.grid_manhattan(4, 4, seed=1)]
    for p in problems:
        for _ in range(2):
            flow.race(p, ["qapflow.hybrid", "qap.rots"], time_limit=0.05, seed=0)
    report = flow.train()
    assert report.observations == 12 and set(report.solvers) == {"qapflow.hybrid", "qap.rots"}
    name, why = MetaFlow(policy="model", seed=0).select(problems[0], ["qapflow.hybrid", "qap.rots"])
    assert name in ("qapflow.hybrid", "qap.rots") and "features that mattered" in why
    # A library solve reads nothing from disk: with a trained model stored, auto is still rule-based ...
    rule_based = solve(problems[0], None, mode="auto", time_limit=0.2, seed=0)
    assert rule_based.method == "rots" and "asked by" not in rule_based.explanation
    # ... unless the caller passes the advisor explicitly (as mezan.solve does).
    result = solve(problems[0], None, mode="auto", time_limit=0.2, seed=0, advisor=flow.advisor())
    assert "asked by the solver's own policy" in result.explanation and result.method in ("hybrid", "rots")
    via_registry = registry.get("qapflow.auto").solve(problems[0], time_limit=0.2, seed=0, advisor=flow.advisor())
    assert "asked by the solver's own policy" in via_registry.explanation
    flow.store.reset()  # forgetting the model: the advisor has nothing to offer, auto is rule-based again
    assert solve(problems[0], None, mode="auto", time_limit=0.2, seed=0, advisor=flow.advisor()).method == "rots"


def test_mezan_solve_selects_records_and_explains(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=3)
    problem = load("nug12")
    result = mezan.solve(problem, time_limit=0.3, seed=1, metaflow=flow)
    assert result.solver in flow.candidates(problem) and result.explanation.startswith("MetaFlow thompson policy")
    assert sorted(result.permutation.tolist()) == list(range(12))
    (record,) = flow.store.solves()
    assert record.solver == result.solver and record.objective == result.objective and record.time_limit == 0.3
    named = mezan.solve(problem.A, problem.B, solver="qap.rots", time_limit=0.1, seed=1, metaflow=flow)
    assert named.solver == "qap.rots" and named.explanation.startswith("solver 'qap.rots' requested")
    assert flow.store.count_solves() == 2
    with pytest.raises(InvalidParameterError, match="no solver named"):
        mezan.solve(problem, solver="qap.fastest", metaflow=flow)
    with pytest.raises(mezan.InvalidProblemError, match="problem record"):
        mezan.solve([[1, 2], [3, 4]], metaflow=flow)
    assert flow.store.count_solves() == 2  # bad input stored nothing


# ---- regret simulator ------------------------------------------------------------------------
def test_regret_simulator_learns_a_clustered_outcome_matrix(tmp_path):
    rng = np.random.default_rng(0)
    groups = np.repeat([0, 1, 2], 20)
    feats = np.zeros((60, len(QAP_FEATURES)))
    feats[:, 0] = groups * 10 + rng.normal(0, 0.5, 60)
    rewards = np.full((60, 3), 0.4) + rng.uniform(0, 0.05, (60, 3))
    rewards[np.arange(60), groups] = 0.9  # the best solver depends on the group
    outcomes = Outcomes([f"i{k}" for k in range(60)], ["s0", "s1", "s2"], rewards, feats, ["f"] * 60)
    curves = simulate_regret(outcomes, steps=600, seed=1, clusters=3)
    for policy in ("ucb", "thompson"):
        assert curves[policy][-1] < 0.3 * curves["random"][-1]
        first, second = curves[policy][299], curves[policy][-1] - curves[policy][299]
        assert second < first  # sublinear: the second half adds less regret than the first
    image = plot_regret(curves, tmp_path / "regret.png")
    assert image.stat().st_size > 1000


# ---- CLI -------------------------------------------------------------------------------------
def test_meta_cli_status_race_train_reset(tmp_path, capsys):
    store = str(tmp_path / "cli.db")
    folder = tmp_path / "instances"
    folder.mkdir()
    from mezan.qap import write_qaplib

    for s in range(2):
        p = generate.taillard_a(10, seed=s)
        write_qaplib(folder / f"t{s}.dat", p.A, p.B)
    assert main(["meta", "race", str(folder / "t0.dat"), "--solvers", ",".join(FAST), "--time", "0.05",
                 "--store", store, "--json"]) == 0
    race = json.loads(capsys.readouterr().out)
    assert race["races"][0]["ranking"] and set(race["ratings"]) == set(FAST)
    assert main(["meta", "tournament", str(folder), "--solvers", ",".join(FAST), "--rounds", "2", "--time", "0.05",
                 "--store", store]) == 0
    assert "Swiss tournament" in capsys.readouterr().out
    assert main(["meta", "status", "--json", "--store", store]) == 0
    status = json.loads(capsys.readouterr().out)
    assert status["records"] == 6 and status["ratings"]["qap:global"]
    assert main(["meta", "train", "--store", store]) == 0
    assert "trained on 6 solves" in capsys.readouterr().out
    assert main(["meta", "reset", "--store", store]) == 2  # refuses without --yes
    assert "--yes" in capsys.readouterr().err
    assert main(["meta", "reset", "--yes", "--store", store]) == 0
    assert "reset" in capsys.readouterr().out
    assert main(["meta", "status", "--json", "--store", store]) == 0
    assert json.loads(capsys.readouterr().out)["records"] == 0


def test_rating_scopes_carry_the_problem_type_and_a_rebuild_touches_only_its_own(tmp_path):
    # Re-clustering one problem type used to delete every rating row (every other type's Elo erased), and
    # "cluster:N" scopes of different types collided.
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    flow.store.set_ratings("matrix_game:global", {"dualflow.matrix_game": (1600.0, 7)})
    flow.store.set_ratings("matrix_game:cluster:0", {"dualflow.matrix_game": (1610.0, 3)})
    for s in range(4):  # the fourth QAP instance triggers the first QAP clustering, hence a QAP rebuild
        flow.race(generate.taillard_a(8, seed=s), ["qap.rots", "qap.anneal"], time_limit=0.02, seed=0)
    assert flow._clustering("qap") is not None
    assert flow.ratings(problem_type="matrix_game") == {"dualflow.matrix_game": (1600.0, 7)}
    assert flow.ratings(0, problem_type="matrix_game") == {"dualflow.matrix_game": (1610.0, 3)}
    assert set(flow.ratings(problem_type="qap")) == {"qap.rots", "qap.anneal"}
    assert set(flow.ratings()) == {"qap.rots", "qap.anneal", "dualflow.matrix_game"}
    assert all(scope.split(":")[0] in ("qap", "matrix_game") for scope in flow.store.rating_scopes())


def test_an_older_store_with_untyped_rating_scopes_is_migrated_from_its_races(tmp_path):
    flow = MetaFlow(tmp_path / "m.db", seed=0)
    flow.race(generate.taillard_a(8, seed=1), ["qap.rots", "qap.anneal"], time_limit=0.02, seed=0)
    expected = flow.ratings(problem_type="qap")
    store = flow.store
    store.replace_ratings({"global": expected, "cluster:0": expected})  # what an older version wrote
    migrated = MetaFlow(store, seed=0)
    assert set(store.rating_scopes()) == {"qap:global"}
    # one race game and one solve game each
    assert migrated.ratings(problem_type="qap") == expected and sum(g for _, g in expected.values()) == 4
