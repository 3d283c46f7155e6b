"""Synthetic ASlib scenarios of any size: for measuring selectors where the reference scenarios are small.

ASlib's scenarios have at most a few dozen algorithms and a few thousand instances; a selector must also finish on
portfolios of 70 algorithms, thousands of instances and hundreds of features. :func:`synthetic_scenario` builds a
runtime scenario of that shape from a latent model that has the structure selection exploits:

- **Instances** come from ``families`` families: each has a centre in a ``latent``-dimensional space, and an
  instance is its family's centre plus Gaussian noise, with a hardness (a common log-runtime shift) drawn per
  instance.
- **Algorithms**: each has a base speed and a sensitivity to each latent dimension (most are small; a few
  dimensions make it a specialist); log10 runtime = base + hardness + sensitivity . latent + noise. A run beyond
  the cutoff is a timeout (PAR10 charges ten cutoffs), so the single best algorithm loses to a per-family choice.
- **Features** are noisy, monotone but non-linear views of the hardness and of half the latent dimensions (tanh and
  exp of random projections, on scales from 1e-3 to 1e6), with a share of pure noise, a few constant columns and
  about 2 % missing values: what a feature extractor of a real domain gives. The other latent dimensions move the
  runtimes but no feature, so no selector reaches the oracle.
- **Feature steps**: ``steps`` steps, each providing a contiguous block of the features and requiring the one
  before it (as SAT's ``Pre`` -> ``Basic`` -> ...); each step costs a fraction of a second, growing with the
  instance's hardness. The default steps are the first half.
- **Folds**: ten, by a seeded shuffle.

Deterministic for a seed. Nothing here reads a real scenario: the model is generic, its parameters are arguments.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from mezan.errors import InvalidParameterError
from mezan.meta.aslib import FeatureStep, Scenario
from mezan.running import check_seed

FOLDS = 10
MISSING = 0.02  # share of feature values that are missing (NaN)
NOISE_FEATURES = 0.3  # share of the features that are pure noise
SPECIALIST = 0.35  # spread of an algorithm's sensitivity to its strong latent dimensions


def _check_size(name: str, value: object, low: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise InvalidParameterError(f"{name} must be an integer >= {low}; got {value!r}")
    return int(value)


def synthetic_scenario(*, instances: int = 3000, algorithms: int = 70, features: int = 300, steps: int = 4,
                       families: int = 12, latent: int = 8, cutoff: float = 3600.0, seed: int = 0) -> Scenario:
    """A runtime ASlib scenario from a latent model (see the module docstring).

    Parameters
    ----------
    instances : int, default 3000
        Rows (at least 20: ten folds of two).
    algorithms : int, default 70
        Columns of the performance matrix (at least 2).
    features : int, default 300
        Feature columns (at least ``steps``).
    steps : int, default 4
        Feature steps, each requiring the one before it; the first half are the default steps.
    families : int, default 12
        Instance families (clusters in the latent space).
    latent : int, default 8
        Dimensions of the latent space that runtimes and features are drawn from.
    cutoff : float, default 3600.0
        The algorithm cutoff in seconds; runs beyond it time out.
    seed : int, default 0
        Seeds everything; the same arguments give the same scenario.

    Returns
    -------
    Scenario
        Named ``SYNTHETIC-<instances>x<algorithms>x<features>-s<seed>``.
    """
    instances = _check_size("instances", instances, 2 * FOLDS)
    algorithms = _check_size("algorithms", algorithms, 2)
    steps = _check_size("steps", steps, 1)
    features = _check_size("features", features, steps)
    families = _check_size("families", families, 1)
    latent = _check_size("latent", latent, 1)
    if isinstance(cutoff, bool) or not (isinstance(cutoff, (int, float)) and np.isfinite(cutoff) and cutoff > 0):
        raise InvalidParameterError(f"cutoff must be a positive number of seconds; got {cutoff!r}")
    seed = check_seed(seed)
    rng = np.random.default_rng(seed)

    centres = rng.normal(0.0, 1.5, (families, latent))
    family = rng.integers(families, size=instances)
    z = centres[family] + rng.normal(0.0, 0.6, (instances, latent))
    hardness = rng.normal(0.0, 1.0, instances)

    base = rng.normal(np.log10(cutoff) - 1.2, 0.3, algorithms)
    sensitivity = rng.normal(0.0, 0.1, (algorithms, latent))
    specialist = rng.random((algorithms, latent)) < 2.0 / latent  # about two strong dimensions per algorithm
    sensitivity[specialist] += rng.normal(0.0, SPECIALIST, int(specialist.sum()))
    log_runtime = base + hardness[:, None] + z @ sensitivity.T + rng.normal(0.0, 0.25, (instances, algorithms))
    runtime = 10.0 ** np.maximum(log_runtime, -2.0)  # nothing runs in under 10 ms
    ok = runtime <= cutoff
    performance = np.where(ok, runtime, np.nan)

    signal = np.column_stack([z[:, :max(1, latent // 2)], hardness])  # what the features can see
    informative = features - round(NOISE_FEATURES * features)
    projection = rng.normal(0.0, 1.0, (signal.shape[1], informative))
    mixed = signal @ projection / np.sqrt(signal.shape[1])
    shape = rng.integers(3, size=informative)  # 0: linear, 1: tanh, 2: exp
    values = np.where(shape == 1, np.tanh(mixed), np.where(shape == 2, np.exp(np.clip(mixed, -20, 20)), mixed))
    values = values + rng.normal(0.0, 0.2, values.shape) * values.std(axis=0)
    noise = rng.normal(0.0, 1.0, (instances, features - informative))
    table = np.column_stack([values, noise]) * 10.0 ** rng.uniform(-3, 6, features)
    table = table[:, rng.permutation(features)]
    table[:, rng.choice(features, size=max(1, features // 100), replace=False)] = 1.0  # constant columns
    table[rng.random(table.shape) < MISSING] = np.nan

    names = [f"f{k:03d}" for k in range(features)]
    blocks = np.array_split(np.arange(features), steps)
    step_names = [f"step{s}" for s in range(steps)]
    feature_steps = {name: FeatureStep(name, tuple(names[k] for k in block), (step_names[s - 1],) if s else ())
                     for s, (name, block) in enumerate(zip(step_names, blocks, strict=True))}
    step_costs = rng.uniform(0.05, 0.5, steps) * 10.0 ** (0.5 * hardness[:, None])
    folds = 1 + rng.permutation(instances) % FOLDS
    return Scenario(name=f"SYNTHETIC-{instances}x{algorithms}x{features}-s{seed}", path=Path("."),
                    performance_type="runtime", maximize=False, cutoff=float(cutoff),
                    algorithms=[f"a{k:02d}" for k in range(algorithms)],
                    instances=[f"i{k:05d}" for k in range(instances)], performance=performance, ok=ok,
                    feature_names=names, features=table, steps=feature_steps,
                    default_steps=step_names[:max(1, steps // 2)], step_names=step_names, step_costs=step_costs,
                    step_status=None, folds=folds)


__all__ = ["synthetic_scenario"]
