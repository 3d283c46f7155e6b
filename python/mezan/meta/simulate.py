"""Regret of the selection policies on a recorded solver x instance outcome matrix.

An :class:`Outcomes` matrix holds the reward of every candidate solver on every instance (measured
once, e.g. by ``bench/metaflow_eval.py``, or collected from the store), plus the instances' feature
vectors. :func:`simulate_regret` replays a stream of instances drawn from it: each policy, with fresh
statistics, clusters the instance (k-means on the matrix's features, as MetaFlow does), picks a
solver, and receives that cell's reward; its regret at that step is the per-instance oracle's reward
(the best cell of the row) minus the reward received. Replaying costs microseconds per step, so
thousands of steps and many seeds are cheap. :func:`plot_regret` draws the cumulative curves
(matplotlib).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mezan.errors import InvalidParameterError
from mezan.inputs import read_json
from mezan.meta.features import QAP_FEATURES, vector
from mezan.meta.metaflow import MetaFlow
from mezan.meta.model import Clustering
from mezan.meta.policies import BANDITS, Arm, choose


@dataclass
class Outcomes:
    """rewards[i, s]: reward of solver s on instance i; features[i]: the instance's feature vector."""

    instances: list[str]
    solvers: list[str]
    rewards: np.ndarray
    features: np.ndarray
    families: list[str]

    def __post_init__(self) -> None:
        self.rewards = np.asarray(self.rewards, dtype=np.float64)
        self.features = np.asarray(self.features, dtype=np.float64)
        if self.rewards.shape != (len(self.instances), len(self.solvers)):
            raise InvalidParameterError(f"rewards must have shape ({len(self.instances)}, {len(self.solvers)}), "
                                        f"got {self.rewards.shape}")
        if len(self.features) != len(self.instances) or len(self.families) != len(self.instances):
            raise InvalidParameterError("features and families need one entry per instance")

    @classmethod
    def load(cls, path: str | Path) -> Outcomes:
        data = read_json(path, what="outcomes file")
        return cls(data["instances"], data["solvers"], np.array(data["rewards"]),
                   np.array([vector(f) for f in data["features"]]), data["families"])

    @classmethod
    def from_store(cls, store, solvers: list[str], problem_type: str = "qap") -> Outcomes:
        """The mean reward of each solver on each stored instance where every solver in ``solvers`` ran."""

        flow = MetaFlow(store)
        cells: dict[str, dict[str, list[float]]] = {}
        feats: dict[str, dict[str, float]] = {}
        for record, value in flow.rewarded_history(problem_type):
            cells.setdefault(record.fingerprint, {}).setdefault(record.solver, []).append(value)
            feats[record.fingerprint] = record.features
        keys = [k for k, row in cells.items() if all(s in row for s in solvers)]
        rewards = np.array([[np.mean(cells[k][s]) for s in solvers] for k in keys]).reshape(len(keys), len(solvers))
        return cls(keys, list(solvers), rewards, np.array([vector(feats[k]) for k in keys]), ["?"] * len(keys))


def simulate_regret(outcomes: Outcomes, policies: tuple[str, ...] = BANDITS, steps: int = 1000, seed: int = 0,
                    clusters: int | None = None, exploration: float = math.sqrt(2)) -> dict[str, np.ndarray]:
    """Cumulative regret per step of each policy against the per-instance oracle (same stream for all)."""
    for p in policies:
        if p not in BANDITS:
            raise InvalidParameterError(f"policies must be among {', '.join(BANDITS)}; got {p!r}")
    if steps < 1:
        raise InvalidParameterError(f"steps must be >= 1, got {steps}")
    rng = np.random.default_rng(seed)
    stream = rng.integers(len(outcomes.instances), size=steps)
    clustering = Clustering(QAP_FEATURES[: outcomes.features.shape[1]], seed=seed).fit(outcomes.features, clusters)
    labels = clustering.pipeline.predict(outcomes.features)
    oracle = outcomes.rewards.max(axis=1)
    curves = {}
    for p in policies:
        arms: dict[int, dict[str, Arm]] = {}
        policy_rng = np.random.default_rng(seed + 1)
        regret = np.empty(steps)
        for t, i in enumerate(stream):
            cluster_arms = arms.setdefault(int(labels[i]), {})
            pick, _ = choose(p, cluster_arms, outcomes.solvers, policy_rng, exploration=exploration)
            value = outcomes.rewards[i, outcomes.solvers.index(pick)]
            cluster_arms.setdefault(pick, Arm()).add(value)
            regret[t] = oracle[i] - value
        curves[p] = np.cumsum(regret)
    return curves


def plot_regret(curves: dict[str, np.ndarray], path: str | Path, title: str = "Cumulative regret") -> Path:
    """Save the cumulative regret curves as an image (PNG or SVG by the file suffix)."""
    try:
        import matplotlib  # the plot extra

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # the plot extra
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise InvalidParameterError("plotting needs matplotlib: pip install 'mezan[plot]'") from exc
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for name, curve in curves.items():
        ax.plot(np.arange(1, len(curve) + 1), curve, label=name)
    ax.set_xlabel("instances solved")
    ax.set_ylabel("cumulative regret (reward)")
    ax.set_title(title)
    ax.legend()
    ax.grid(alpha=0.3)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
