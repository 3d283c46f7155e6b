"""ATLAS on planted truths: does the study find a real rule and reject spurious ones?

For each of 20 seeds: a synthetic portfolio (mezan.agents.planted) where solver A wins exactly when f2 > 0.5 (a coin
flip elsewhere), and one of pure noise. The study (HypothesisGenerator: depth-2 trees on pairwise wins;
CriticalAnalyzer: a one-sided binomial test on fresh instances of each rule's region) runs on each. Reported:
- recovered: the fraction of planted portfolios where a *confirmed* rule states the truth ("A beats B when f2 > t",
  |t - 0.5| <= 0.1) — target >= 90 %;
- rejected: the fraction of spurious rules (every rule of a noise portfolio, and every rule of a planted one that
  does not state the truth) that the critic marks refuted or inconclusive — target >= 95 %.

    python bench/study_planted.py [--seeds 20] [--instances 100] [--fresh 12]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--instances", type=int, default=100)
    parser.add_argument("--fresh", type=int, default=12)
    parser.add_argument("--out", default=str(REPO / "bench" / "results" / "study_planted.json"))
    args = parser.parse_args()
    from mezan.agents.atlas import run_study
    from mezan.agents.planted import PlantedPortfolio, recovered
    from mezan.store import Store

    started = time.perf_counter()
    found, spurious, rejected, rows = 0, 0, 0, []
    for seed in range(args.seeds):
        for planted in (True, False):
            portfolio = PlantedPortfolio(instances=args.instances, planted=planted, seed=seed)
            study = run_study(portfolio, ["A", "B"], seeds=1, fresh=args.fresh, store=Store(":memory:"), seed=seed)
            hits = [h for h in study["hypotheses"] if planted and recovered(h)]
            found += planted and any(h["verdict"] == "confirmed" for h in hits)
            for h in study["hypotheses"]:
                if h in hits:
                    continue
                spurious += 1
                rejected += h["verdict"] != "confirmed"
            rows.append({"seed": seed, "planted": planted,
                         "hypotheses": [(h["text"], h["verdict"]) for h in study["hypotheses"]]})
            print(f"seed {seed:2d} {'planted' if planted else 'noise  '}: " + "; ".join(
                f"{h['text']} -> {h['verdict']}" for h in study["hypotheses"]) or "no rule")
    recovery = found / args.seeds
    rejection = rejected / spurious if spurious else 1.0
    ok = recovery >= 0.9 and rejection >= 0.95
    print(f"recovered {found}/{args.seeds} planted rules ({recovery:.0%}, target >= 90 %); rejected {rejected}/"
          f"{spurious} spurious rules ({rejection:.0%}, target >= 95 %): {'met' if ok else 'NOT met'} "
          f"({time.perf_counter() - started:.0f} s)")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"recovered": recovery, "rejected": rejection, "spurious": spurious,
                                          "rows": rows, "met": ok}, indent=1))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
