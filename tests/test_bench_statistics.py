"""OptiBench's statistics against independent references: Demšar's worked example (JMLR 7, 2006, table 6 and
section 3), hand-computed Wilcoxon and A12 cases, Holm's adjustment, and the group-sequential design's boundaries
against the published Lan–DeMets values; the A/B test's error rates by a small simulation."""

import math

import numpy as np
import pytest

from mezan.bench import sequential
from mezan.bench.analysis import (
    a12,
    a12_magnitude,
    bootstrap_interval,
    critical_difference,
    friedman,
    holm,
    performance_profile,
    wilcoxon,
)

# Demšar's table 6: AUC of C4.5 with/without m and cf tuning on 14 data sets. The table prints voting's C4.5+cf as
# 0.975 (rounded); his ranks (3.143, 2.000, 2.893, 1.964) come from the unrounded value, which beats C4.5+m+cf.
AUC = np.array([
    [0.763, 0.768, 0.771, 0.798], [0.599, 0.591, 0.590, 0.569], [0.954, 0.971, 0.968, 0.967],
    [0.628, 0.661, 0.654, 0.657], [0.882, 0.888, 0.886, 0.898], [0.936, 0.931, 0.916, 0.931],
    [0.661, 0.668, 0.609, 0.685], [0.583, 0.583, 0.563, 0.625], [0.775, 0.838, 0.866, 0.875],
    [1.000, 1.000, 1.000, 1.000], [0.940, 0.962, 0.965, 0.962], [0.619, 0.666, 0.614, 0.669],
    [0.972, 0.981, 0.97501, 0.975], [0.957, 0.978, 0.946, 0.970]])


def test_friedman_and_nemenyi_reproduce_demsars_worked_example():
    result = friedman(-AUC)  # losses: a higher AUC is better
    assert result["average_ranks"] == pytest.approx([3.143, 2.000, 2.893, 1.964], abs=5e-4)
    assert result["statistic_without_tie_correction"] == pytest.approx(9.28, abs=0.005)  # his chi^2_F
    assert result["iman_davenport"] == pytest.approx(3.69, abs=0.005)  # his F_F
    assert result["critical_difference"] == pytest.approx(1.25, abs=0.005)  # Nemenyi, alpha = 0.05
    assert critical_difference(4, 14, 0.10) == pytest.approx(1.12, abs=0.005)  # his alpha = 0.10 value
    assert result["statistic"] > result["statistic_without_tie_correction"]  # scipy corrects for the tied rows
    assert result["p_value"] < 0.05 and result["tied_instances"] == 1  # mushroom: 1.000 for all four
    nemenyi = np.array(result["nemenyi"])
    assert nemenyi.shape == (4, 4) and np.allclose(nemenyi, nemenyi.T)
    # C4.5 (rank 3.143) vs C4.5+m+cf (1.964): difference 1.18 < CD 1.25, so Nemenyi does not separate them
    assert nemenyi[0, 3] > 0.05


def test_wilcoxon_on_demsars_table_2_example():
    # C4.5 vs C4.5+m: Demšar's R+ = 93, R- = 12 (zero differences split between the signs), T = 12 < 21
    result = wilcoxon(-AUC[:, 0], -AUC[:, 1])
    assert (result["r_plus"], result["r_minus"], result["statistic"]) == (93.0, 12.0, 12.0)
    assert result["ties"] == 2 and result["p_value"] < 0.05


def test_wilcoxon_by_hand_and_a_tie_everywhere():
    # differences 1, 2, -3, 4, 5: ranks 1, 2, 3, 4, 5 -> R+ = 12, R- = 3; the exact two-sided p is 2 * 5/32
    result = wilcoxon([2, 4, 0, 8, 10], [1, 2, 3, 4, 5])
    assert (result["r_plus"], result["r_minus"], result["statistic"]) == (12.0, 3.0, 3.0)
    assert result["p_value"] == pytest.approx(10 / 32)
    tie = wilcoxon([1.0, 2.0, 3.0], [1.0, 2.0, 3.0])
    assert tie["tie"] and tie["p_value"] == 1.0 and tie["statistic"] is None


def test_a12_by_hand():
    # x better (lower) than y in 3 of 4 pairs... x = [1, 2], y = [2, 3]: pairs (1,2) (1,3) (2,2) (2,3) -> 3 + 0.5
    assert a12([1, 2], [2, 3]) == pytest.approx(3.5 / 4)
    assert a12([5, 5], [5, 5]) == 0.5
    assert a12([0], [1, 2, 3]) == 1.0 and a12([9], [1, 2, 3]) == 0.0
    assert [a12_magnitude(v) for v in (0.5, 0.6, 0.68, 0.9, 0.1)] == ["negligible", "small", "medium", "large",
                                                                      "large"]


def test_holm_by_hand():
    # sorted 0.01, 0.02, 0.04 times 3, 2, 1 -> 0.03, 0.04, 0.04 (monotone)
    assert holm([0.04, 0.01, 0.02]) == pytest.approx([0.04, 0.03, 0.04])


def test_bootstrap_interval_covers_the_mean_and_a_constant_sample_is_a_point():
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 1.0, 200)
    low, high = bootstrap_interval(x, np.mean)
    assert low < x.mean() < high and high - low < 0.5
    assert bootstrap_interval(np.zeros(10)) == (0.0, 0.0)


def test_performance_profile_by_hand():
    costs = np.array([[1.0, 2.0], [4.0, 2.0], [math.inf, 3.0], [math.inf, math.inf]])
    rho = performance_profile(costs, np.array([1.0, 2.0, 10.0]))
    assert rho[:, 0].tolist() == [0.25, 0.5, 0.5]  # best on 1 problem, within 2x on another; fails two
    assert rho[:, 1].tolist() == [0.5, 0.75, 0.75]


def test_group_sequential_bounds_match_the_published_lan_demets_values():
    fractions = tuple(k / 5 for k in range(1, 6))
    # O'Brien–Fleming-type and Pocock-type spending, 5 equally spaced looks, two-sided alpha = 0.05
    # (Jennison & Turnbull 2000, table 7.x; R's ldbounds/gsDesign print the same)
    obf = sequential._efficacy(fractions, 0.05, "obf", 0.0)
    assert obf == pytest.approx([4.877, 3.357, 2.680, 2.290, 2.031], abs=2e-3)
    pocock = sequential._efficacy(fractions, 0.05, "pocock", 0.0)
    assert pocock == pytest.approx([2.438, 2.427, 2.410, 2.397, 2.386], abs=2e-3)


def test_the_design_has_its_power_and_saves_trials_on_paper():
    d = sequential.design(0.05, 0.95, 0.5, round_size=2, first_look=10)
    assert d.power >= 0.95 - 1e-3
    assert d.fixed == sequential.fixed_sample(0.05, 0.05, 0.5)
    assert d.expected_alternative < 0.6 * d.fixed and d.expected_null < d.fixed
    assert all(0 <= a <= b for a, b in zip(d.inner, d.upper, strict=True)) and d.inner[-1] == d.upper[-1]


def test_decide_and_interval():
    d = sequential.design(0.05, 0.9, 0.5, round_size=5, first_look=10)
    big = np.full(10, 1.0) + np.linspace(-0.1, 0.1, 10)  # A much worse than B on every trial
    decision = sequential.decide(d, big)
    assert decision.verdict == "B" and decision.z > decision.upper
    low, high = sequential.repeated_interval(d, big, decision.look)
    assert low < 1.0 < high
    flat = np.array([0.1, -0.1] * 5)
    assert sequential.decide(d, flat).verdict in ("no difference", "continue")
    with pytest.raises(Exception, match="not a look"):
        sequential.decide(d, np.zeros(11))


@pytest.mark.slow
def test_sequential_test_by_simulation_keeps_alpha_and_power():
    d = sequential.design(0.05, 0.95, 0.5, round_size=2, first_look=10)
    rng = np.random.default_rng(11)

    def run(mu):
        x = rng.normal(mu, 1.0, d.max_trials)
        for n in d.looks:
            decision = sequential.decide(d, x[:n])
            if decision.verdict != "continue":
                return decision.verdict, n
        raise AssertionError("the last look always decides")

    null = [run(0.0) for _ in range(400)]
    alternative = [run(0.5) for _ in range(400)]
    false_positive = np.mean([v in ("A", "B") for v, _ in null])
    power = np.mean([v == "B" for v, _ in alternative])
    assert false_positive <= 0.05 + 0.03  # 400 runs: a binomial standard error of 1.1 points
    assert power >= 0.95 - 0.04
    assert np.mean([n for _, n in alternative]) < d.fixed
