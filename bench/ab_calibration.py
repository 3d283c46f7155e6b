"""Calibration of OptiBench's sequential A/B test by simulation (the group-sequential design of
mezan.bench.sequential, with the paired t statistic mapped to the normal scale at each look).

The null is "A and B are equally good": their losses on a trial are exchangeable, so the paired differences are
symmetric about 0 (normal; the difference of two independent right-skewed lognormal losses; heavy-tailed t5). A
difference distribution that is skewed with mean 0 — two solvers that differ but are equal on average — is not this
null, and at the first looks the t statistic is not exact for it (as for any t-test on few pairs).

For each distribution of the paired differences, 1,000 experiments under the null (mean 0) and 1,000 under the
stated effect (mean = effect x sd) run look by look exactly as `mezan bench ab` does; reported:
- the false-positive rate (a winner declared under the null) against alpha (target: <= alpha + 1 point);
- the power under the stated effect (target: >= 80 %);
- the mean number of trials under the effect against the fixed-sample paired t-test with the same power at that
  effect (target: <= 60 %), and under the null.

    python bench/ab_calibration.py [--experiments 1000] [--effect 0.5] [--alpha 0.05] [--power 0.95]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def draws(kind: str, rng: np.random.Generator, size: int) -> np.ndarray:
    """Standardised (mean 0, sd 1) differences of a shape."""
    if kind == "normal":
        return rng.normal(0.0, 1.0, size)
    if kind == "skewed":  # A's and B's losses both lognormal(0, 1) (right-skewed like solver gaps), independent
        x, y = rng.lognormal(0.0, 1.0, size), rng.lognormal(0.0, 1.0, size)
        return (x - y) / np.sqrt(2 * (np.exp(1) - 1) * np.exp(1))
    if kind == "heavy":  # Student t with 5 degrees of freedom, scaled to sd 1
        return rng.standard_t(5, size) / np.sqrt(5 / 3)
    raise ValueError(kind)


def simulate(design, kind: str, mean: float, experiments: int, seed: int) -> tuple[float, float]:
    from mezan.bench import sequential

    rng = np.random.default_rng(seed)
    winners, trials = 0, []
    for _ in range(experiments):
        x = draws(kind, rng, design.max_trials) + mean
        for n in design.looks:
            decision = sequential.decide(design, x[:n])
            if decision.verdict != "continue":
                break
        winners += decision.verdict in ("A", "B")
        trials.append(decision.trials)
    return winners / experiments, float(np.mean(trials))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--experiments", type=int, default=1000)
    parser.add_argument("--effect", type=float, default=0.5)
    parser.add_argument("--alpha", type=float, default=0.05)
    parser.add_argument("--power", type=float, default=0.95)
    parser.add_argument("--round", type=int, default=2)
    parser.add_argument("--first-look", type=int, default=10)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "ab_calibration.json"))
    args = parser.parse_args()
    from mezan.bench import sequential

    started = time.perf_counter()
    design = sequential.design(args.alpha, args.power, args.effect, round_size=args.round,
                               first_look=args.first_look)
    print(f"design: alpha {args.alpha}, power {design.power:.3f} at effect {args.effect}; looks every {args.round} "
          f"trials from {design.looks[0]} to {design.max_trials}; fixed-sample t-test: {design.fixed} trials; "
          f"expected trials (theory, known variance): {design.expected_alternative:.1f} under the effect, "
          f"{design.expected_null:.1f} under the null")
    rows = []
    header = (f"{'differences':<12} {'false pos.':>10} {'power':>7} {'E[trials|effect]':>17} {'fixed (same power)':>19}"
              f" {'ratio':>6} {'E[trials|null]':>15}")
    print(header)
    for k, kind in enumerate(("normal", "skewed", "heavy")):
        fp, null_trials = simulate(design, kind, 0.0, args.experiments, seed=100 + k)
        power, alt_trials = simulate(design, kind, args.effect, args.experiments, seed=200 + k)
        fixed = sequential.fixed_sample(args.alpha, 1 - min(power, 0.999), args.effect)
        row = {"differences": kind, "false_positive_rate": fp, "power": power, "mean_trials_effect": alt_trials,
               "fixed_trials_same_power": fixed, "ratio": alt_trials / fixed, "mean_trials_null": null_trials}
        rows.append(row)
        print(f"{kind:<12} {fp:>10.3f} {power:>7.3f} {alt_trials:>17.1f} {fixed:>19d} {alt_trials / fixed:>6.3f} "
              f"{null_trials:>15.1f}")
    ok = all(r["false_positive_rate"] <= args.alpha + 0.01 and r["power"] >= 0.8 and r["ratio"] <= 0.6
             for r in rows)
    print(f"targets (false positives <= {args.alpha + 0.01:.2f}, power >= 0.80, ratio <= 0.60): "
          f"{'met' if ok else 'NOT met'} ({time.perf_counter() - started:.0f} s, {args.experiments} experiments each)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"design": {"alpha": args.alpha, "power": design.power,
                                                     "effect": args.effect, "looks": list(design.looks),
                                                     "upper": list(design.upper), "inner": list(design.inner),
                                                     "fixed": design.fixed},
                                          "experiments": args.experiments, "rows": rows, "met": ok}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
