"""MetaFlow's algorithm selectors on the ASlib scenarios of ../shared/aslib, by each scenario's own cv.arff folds.

For every scenario: out-of-fold decisions of each approach (regression, pairwise, knn) and of the automatic choice
(inner cross-validation on the training folds only); on runtime scenarios each fold also chooses, on its training
folds, a pre-solving schedule and which feature steps to compute — the default steps, all steps, or none (mezan.meta.
schedules; --no-schedules: the default steps, no schedule). A selector sees only the features of the steps its plan
pays for. Prints m̂ = (selector − VBS) / (SBS − VBS) per approach next
to the published anchor, the seconds the automatic choice took (the whole evaluation of one scenario, as
`mezan meta aslib evaluate` runs it) and the share of instances solved by a pre-solving slot. With --seeds N the whole
evaluation runs for seeds --seed .. --seed + N - 1: m̂ is then the mean over the seeds (each seed's in the JSON as
`<approach>_by_seed`), anchors are judged on that mean, and the seconds are the slowest seed's. One seed's m̂ moves a
small scenario by up to 0.1 (README), so compare approaches on several.

Approach ``configured`` is the nested per-scenario configuration (mezan.meta.configure.evaluate_configured): inside
every outer fold, Optuna configures the whole pipeline on the training folds only, within --configure seconds for the
whole scenario; run it beside ``auto`` (``--approaches auto,configured``) to measure what configuration gains.

``--synthetic IxAxF`` runs a synthetic runtime scenario of I instances, A algorithms and F features instead
(mezan.meta.synthetic: ten folds, four feature steps): what a selector costs at a size the reference scenarios lack.

    python bench/aslib_eval.py [--aslib ../shared/aslib] [--scenarios A,B]
                               [--approaches regression,pairwise,knn,sunny,auto,configured] [--configure 600]
                               [--seeds 1] [--no-schedules]
                               [--feature-steps auto|default|all] [--switch-alpha 0.1] [--select-features]
                               [--workers 2 | --scheduler ADDRESS] [--synthetic 3000x70x300] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from mezan.errors import InvalidParameterError
from mezan.meta.aslib import Scenario, read_scenario, score_costs
from mezan.meta.configure import evaluate_configured
from mezan.meta.schedules import evaluate
from mezan.meta.synthetic import synthetic_scenario

REPO = Path(__file__).resolve().parents[1]
ANCHORS = {"SAT11-HAND": 0.31, "SAT11-INDU": 0.77, "SAT11-RAND": 0.02, "QBF-2011": 0.05, "CSP-2010": 0.20,
           "MAXSAT12-PMS": 0.14, "CSP-Minizinc-Obj-2016": 0.025}
"""Published m̂ (lower is better), as the issue lists them: ICON 2015 best with feature costs, LLAMA 10-fold for
SAT11-INDU, the 2017 best for CSP-Minizinc-Obj-2016 (on a smaller version)."""


def _reference(aslib: str, names: str) -> Iterator[Scenario]:
    folders = sorted(p for p in Path(aslib).iterdir() if (p / "description.txt").exists())
    wanted = set(names.split(",")) if names else None
    return (read_scenario(p) for p in folders if wanted is None or p.name in wanted)


def _synthetic(parser: argparse.ArgumentParser, spec: str) -> list[Scenario]:
    try:
        instances, algorithms, features = (int(v) for v in spec.lower().split("x"))
        return [synthetic_scenario(instances=instances, algorithms=algorithms, features=features)]
    except (ValueError, InvalidParameterError) as exc:
        parser.error(f"--synthetic must be IxAxF (instances x algorithms x features), e.g. 3000x70x300; got {spec!r}"
                     f" ({exc})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aslib", default=str(REPO.parent / "shared" / "aslib"))
    parser.add_argument("--scenarios", default="")
    parser.add_argument("--approaches", default="regression,pairwise,knn,sunny,auto")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--seeds", type=int, default=1, help="seeds --seed .. --seed + N - 1; m̂ is their mean")
    parser.add_argument("--no-schedules", action="store_true")
    parser.add_argument("--feature-steps", default="auto", choices=("auto", "default", "all"),
                        help="with schedules: chosen per fold (auto), the default steps, or all steps")
    parser.add_argument("--switch-alpha", type=float, default=None,
                        help="auto's level for leaving regression (default: the selector's, 0.1; 0: lowest inner cost)")
    parser.add_argument("--select-features", action="store_true",
                        help="selectors keep the features of at least mean forest importance (per fit, training rows)")
    parser.add_argument("--workers", type=int, default=2, help="processes running the folds")
    parser.add_argument("--configure", type=float, default=600.0,
                        help="approach 'configured': seconds per scenario for the nested configuration and evaluation")
    parser.add_argument("--scheduler", default=None, help="run the folds on this Dask scheduler instead")
    parser.add_argument("--synthetic", default="", help="IxAxF: a synthetic scenario of that size instead")
    parser.add_argument("--json", default="")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error(f"--seeds must be at least 1, got {args.seeds}")
    if args.synthetic and args.scenarios:
        parser.error("give --synthetic or --scenarios, not both")
    scenarios = _synthetic(parser, args.synthetic) if args.synthetic else _reference(args.aslib, args.scenarios)
    approaches = [a for a in args.approaches.split(",") if a]
    rows = []
    print(f"{'scenario':<24}" + "".join(f"{a:>12}" for a in approaches)
          + f"{'anchor':>9}{'auto used':>30}{'auto s':>8}{'presolved':>10}")
    for scenario in scenarios:
        row = {"scenario": scenario.name, "sbs": None, "vbs": None, "schedules": not args.no_schedules}
        used: list[str] = []
        for approach in approaches:
            m_hats, seconds, presolved, no_features = [], [], [], []
            for seed in range(args.seed, args.seed + args.seeds):
                started = time.perf_counter()
                if approach == "configured":  # nested: configured inside every outer fold on its training folds
                    nested = evaluate_configured(scenario, budget=args.configure, seed=seed, workers=args.workers,
                                                 executor=args.scheduler)
                    result = nested.evaluation
                    row.setdefault("configured_folds", []).append([f.to_dict() for f in nested.folds])
                else:
                    result = evaluate(scenario, approach=approach, seed=seed, schedules=not args.no_schedules,
                                      feature_steps=args.feature_steps, workers=args.workers, executor=args.scheduler,
                                      **({} if args.switch_alpha is None else {"switch_alpha": args.switch_alpha}),
                                      **({"select_features": True} if args.select_features else {}))
                seconds.append(time.perf_counter() - started)
                s = score_costs(scenario, result.costs)
                m_hats.append(s.m_hat)
                row["sbs"], row["vbs"] = s.sbs, s.vbs
                if approach == "auto":
                    used += result.used
                    presolved.append(float(result.presolved(scenario).mean()))
                    no_features.append(len({id(p) for p in result.plans if p.steps == ()}))
            row[approach] = float(np.mean(m_hats))
            row[f"{approach}_by_seed"] = m_hats
            row[f"{approach}_seconds"] = max(seconds)
            if approach == "auto":
                row["presolved_share"] = float(np.mean(presolved))
                row["no_features_folds"] = max(no_features)
        row["auto_used"] = used
        chosen = Counter(f["configuration"]["approach"] for seed in row.get("configured_folds", []) for f in seed)
        row["configured_approaches"] = dict(chosen)
        rows.append(row)
        print(f"{scenario.name:<24}" + "".join(f"{row[a]:>12.3f}" for a in approaches)
              + f"{ANCHORS.get(scenario.name, float('nan')):>9.3f}{','.join(sorted(set(used))):>30}"
              + f"{row.get('auto_seconds', float('nan')):>8.0f}{row.get('presolved_share', float('nan')):>10.2f}"
              + (f"  configured {row['configured_seconds']:.0f} s: " + ", ".join(f"{a} x{k}" for a, k in chosen.items())
                 if "configured" in approaches else ""), flush=True)
    if {"auto", "configured"} <= set(approaches):
        lower = sum(r["configured"] < r["auto"] for r in rows)
        print(f"configured below auto on {lower} of {len(rows)}")
    for approach in approaches:
        values = [r[approach] for r in rows]
        below = sum(r[approach] <= ANCHORS.get(r["scenario"], -np.inf) for r in rows)
        print(f"{approach}: mean m̂ {np.mean(values):.3f}; at or below the anchor on {below} of {len(rows)}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
