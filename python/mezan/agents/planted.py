"""A synthetic portfolio with a planted truth, to check that ATLAS finds real rules and rejects spurious ones.

Instances are feature vectors ``f1..f4`` drawn uniformly from [0, 1]; two solvers ``A`` and ``B`` get gaps of about
1-2 %. With a planted rule, ``A`` wins (by half a point of gap) exactly on the instances whose ``feature`` exceeds
``threshold``, and the winner is a coin flip everywhere else; without one (``planted=False``), every instance is a
coin flip: any rule found there is spurious. Fresh instances are drawn the same way, never reused.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mezan.agents.atlas import Outcome

FEATURES = ("f1", "f2", "f3", "f4")


class PlantedPortfolio:
    def __init__(self, *, instances: int = 40, feature: str = "f2", threshold: float = 0.5, planted: bool = True,
                 seed: int = 0) -> None:
        self.feature, self.threshold, self.planted = feature, threshold, planted
        self.rng = np.random.default_rng(seed)
        self._count = 0
        self._instances = [self._draw() for _ in range(instances)]

    def _draw(self) -> dict[str, Any]:
        self._count += 1
        return {"name": f"synthetic{self._count}", "features": {f: float(self.rng.random()) for f in FEATURES}}

    def instances(self) -> list[Any]:
        return self._instances

    def fresh(self, region: Any, count: int, seed: int) -> list[Any]:  # noqa: ARG002 - the portfolio's own stream
        out = []
        for _ in range(200 * count):
            if len(out) >= count:
                break
            candidate = self._draw()
            if region(candidate["features"]):
                out.append(candidate)
        return out

    def truth(self, features: dict[str, float]) -> bool:
        """Whether the planted rule makes A the winner here."""
        return self.planted and features[self.feature] > self.threshold

    def run(self, instances: list[Any], solvers: list[str], *, seeds: int, name: str) -> list[Outcome]:  # noqa: ARG002
        out = []
        for instance in instances:
            a_wins = self.truth(instance["features"]) or bool(self.rng.random() < 0.5)
            gaps: dict[str, list[float]] = {s: [] for s in solvers}
            for _ in range(seeds):
                base = float(self.rng.uniform(0.01, 0.02))
                gaps["A"].append(base if a_wins else base + 0.005)
                gaps["B"].append(base + 0.005 if a_wins else base)
            out.append(Outcome(instance["name"], instance["features"], gaps))
        return out


def recovered(rule: dict[str, Any], feature: str = "f2", threshold: float = 0.5, tolerance: float = 0.1) -> bool:
    """A rule that states the planted truth: A beats B above a threshold of the planted feature close to the true one
    (further conditions only narrow it)."""
    return rule["winner"] == "A" and any(name == feature and op == ">" and abs(t - threshold) <= tolerance
                                         for name, op, t in rule["conditions"])


__all__ = ["FEATURES", "PlantedPortfolio", "recovered"]
