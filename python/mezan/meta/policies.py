"""Bandit policies over solvers, per instance cluster: UCB1, Thompson sampling, greedy, random.

Each arm (a solver within a cluster) keeps the number of plays and the sum and sum of squares of its
rewards (in [0, 1], :mod:`mezan.meta.reward`).

- ``ucb`` — UCB1 (Auer, Cesa-Bianchi & Fischer 2002): an unplayed arm first, else the largest
  mean + c sqrt(ln N / n) with N the plays of all candidates; c defaults to sqrt(2).
- ``thompson`` — Thompson sampling (Thompson 1933; Chapelle & Li 2011): ``beta`` draws each arm's
  mean from Beta(1 + sum r, 1 + n - sum r) (a Bernoulli posterior fed fractional rewards);
  ``gaussian`` from the normal posterior of the mean with prior N(0.5, 0.5^2) and noise sd 0.2.
- ``greedy`` — an unplayed arm first, else the best mean. ``random`` — uniform.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from mezan.errors import InvalidParameterError

POLICIES = ("thompson", "ucb", "greedy", "random", "model")
BANDITS = ("thompson", "ucb", "greedy", "random")


@dataclass
class Arm:
    plays: int = 0
    total: float = 0.0
    total_sq: float = 0.0

    def add(self, reward: float) -> None:
        self.plays += 1
        self.total += reward
        self.total_sq += reward * reward

    @property
    def mean(self) -> float:
        return self.total / self.plays if self.plays else 0.0


def choose(policy: str, arms: dict[str, Arm], candidates: list[str], rng: np.random.Generator, *,
           exploration: float = math.sqrt(2), thompson: str = "beta") -> tuple[str, str]:
    """(chosen candidate, why) under a bandit policy; ``arms`` may lack candidates (= unplayed)."""
    if not candidates:
        raise InvalidParameterError("no candidate solvers to choose from")
    stats = {c: arms.get(c, Arm()) for c in candidates}
    if policy == "random":
        pick = candidates[int(rng.integers(len(candidates)))]
        return pick, "uniformly at random"
    unplayed = [c for c in candidates if stats[c].plays == 0]
    if policy in ("ucb", "greedy") and unplayed:
        return unplayed[0], "not tried yet in this cluster"
    if policy == "greedy":
        pick = max(candidates, key=lambda c: stats[c].mean)
        return pick, f"best mean reward {stats[pick].mean:.3f} over {stats[pick].plays} solves"
    if policy == "ucb":
        total = sum(a.plays for a in stats.values())
        score = {c: a.mean + exploration * math.sqrt(math.log(total) / a.plays) for c, a in stats.items()}
        pick = max(candidates, key=lambda c: score[c])
        return pick, (f"UCB1 index {score[pick]:.3f} (mean {stats[pick].mean:.3f}, {stats[pick].plays} solves, "
                      f"c = {exploration:.3g})")
    if policy == "thompson":
        if thompson == "beta":
            draws = {c: rng.beta(1.0 + a.total, 1.0 + a.plays - a.total) for c, a in stats.items()}
        elif thompson == "gaussian":
            prior_var, noise_var = 0.25, 0.04
            draws = {}
            for c, a in stats.items():
                var = 1.0 / (1.0 / prior_var + a.plays / noise_var)
                mean = var * (0.5 / prior_var + a.total / noise_var)
                draws[c] = rng.normal(mean, math.sqrt(var))
        else:
            raise InvalidParameterError(f"thompson must be 'beta' or 'gaussian', got {thompson!r}")
        pick = max(candidates, key=lambda c: draws[c])
        return pick, (f"Thompson ({thompson}) draw {draws[pick]:.3f} (mean {stats[pick].mean:.3f}, "
                      f"{stats[pick].plays} solves)")
    raise InvalidParameterError(f"policy must be one of {', '.join(POLICIES)}; got {policy!r}")
