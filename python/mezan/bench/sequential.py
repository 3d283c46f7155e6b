"""A group-sequential paired test: look at the data after every round of trials, stop as soon as it decides.

The procedure (Jennison & Turnbull, *Group Sequential Methods*, 2000, ch. 4–5 and 7; Lan & DeMets 1983;
Pampallona & Tsiatis 1994 for the inner "no difference" region):

- Data: paired differences ``d_i`` (A's loss minus B's loss on the same instance and seed), standardised effect
  ``delta = mean / sd``. H0: ``delta = 0``; the effect of interest is ``|delta| = effect`` (Cohen's d_z).
- Looks after ``n_1 < n_2 < ... < n_K = N`` pairs. At look k the paired t statistic is mapped to the normal scale
  with the same tail probability, ``z_k = Phi^-1(F_t(t_k; n_k - 1))``, so small early looks keep their size.
- Efficacy: stop and declare a winner when ``|z_k| >= b_k``. The ``b_k`` spend the two-sided ``alpha`` over the
  information fractions ``t_k = n_k / N`` with an alpha-spending function (Hwang–Shih–DeCani family, ``gamma``; or
  Lan–DeMets O'Brien–Fleming / Pocock types), computed with the futility region ignored ("non-binding"), so the
  type I error is at most ``alpha`` whether or not the futility stops are taken.
- Futility ("no practical difference"): stop when ``|z_k| < a_k``; the ``a_k`` spend ``beta`` under
  ``|delta| = effect`` with the same family, and ``a_K = b_K`` so the last look always decides.
- ``N`` (when not given): the smallest number of pairs whose design has power ``1 - beta`` at ``effect``.

Error guarantees: P(declare a winner | delta = 0) <= alpha and P(winner | |delta| = effect) >= 1 - beta, exactly
for normal differences with known variance, asymptotically (and checked by simulation, bench/ab_calibration.py)
with the variance estimated. The boundary crossing probabilities are computed by numerical integration of the
score process (Armitage, McPherson & Rowe 1969) on a grid: O(K m^2) for m grid points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
from scipy import optimize, special

from mezan.errors import InvalidParameterError

GRID = 401  # grid points for the score's density at each look
_ROOT_TWO_PI = math.sqrt(2 * math.pi)
_cdf = special.ndtr  # the standard normal CDF as a bare ufunc (scipy.stats.norm.cdf checks its arguments per call)


def _pdf(x: np.ndarray) -> np.ndarray:
    """The standard normal density, elementwise (what scipy.stats.norm.pdf computes, without its per-call checks)."""
    return np.exp(-0.5 * x * x) / _ROOT_TWO_PI


def spending(kind: str, alpha: float, gamma: float = 1.0):
    """The spending function ``f(t)`` (0 at t = 0, ``alpha`` at t = 1) of a family: ``"hsd"`` (Hwang–Shih–DeCani,
    ``gamma`` = 1 close to Pocock, -4 close to O'Brien–Fleming), ``"obf"`` and ``"pocock"`` (Lan–DeMets types)."""
    if kind == "hsd":
        if abs(gamma) < 1e-12:
            return lambda t: alpha * t
        return lambda t: alpha * (1 - math.exp(-gamma * t)) / (1 - math.exp(-gamma))
    if kind == "obf":  # each side spends alpha / 2 with the one-sided O'Brien–Fleming-type function
        z = -special.ndtri(alpha / 4)  # the normal's upper alpha/4 quantile (scipy.stats.norm.isf)
        return lambda t: 0.0 if t <= 0 else 4 * _cdf(-z / math.sqrt(t))
    if kind == "pocock":
        return lambda t: alpha * math.log(1 + (math.e - 1) * t)
    raise InvalidParameterError(f"spending: unknown family {kind!r}; families: hsd, obf, pocock")


def _transition(grid: np.ndarray, nxt: np.ndarray, step: float, drift: float) -> np.ndarray:
    """Kernel of the score's increment over information ``step``: N(drift * step, step), built in place (it is the
    design's inner loop: a GRID x GRID matrix per look)."""
    kernel = np.subtract.outer(grid + drift * step, nxt)
    kernel *= kernel
    kernel *= -0.5 / step
    np.exp(kernel, out=kernel)
    kernel *= 1 / (_ROOT_TWO_PI * math.sqrt(step))
    return kernel


class _Process:
    """The score ``S_k = z_k sqrt(I_k)`` (independent normal increments, mean ``drift * I_k``) on a grid, carried
    from look to look over the continuation region."""

    def __init__(self, drift: float) -> None:
        self.drift = drift
        self.info = 0.0
        self.grid: np.ndarray | None = None  # grid points (score scale) of the current continuation region
        self.weights: np.ndarray | None = None  # density x quadrature weight at each grid point

    def crossing(self, info: float, lower: float, upper: float) -> float:
        """P(continue so far and ``lower <= |S| / sqrt(info) < upper`` at this look) (z scale bounds)."""
        step = info - self.info
        lo, hi = lower * math.sqrt(info), upper * math.sqrt(info)
        sd = math.sqrt(step)
        if self.grid is None:
            mean = self.drift * info
            cdf = _cdf
            return float(cdf((hi - mean) / sd) - cdf((lo - mean) / sd) + cdf((-lo - mean) / sd)
                         - cdf((-hi - mean) / sd))
        mean = self.grid + self.drift * step
        cdf = _cdf
        p = cdf((hi - mean) / sd) - cdf((lo - mean) / sd) + cdf((-lo - mean) / sd) - cdf((-hi - mean) / sd)
        return float(np.dot(self.weights, p))

    def advance(self, info: float, inner: float, outer: float) -> None:
        """Move to the next look and keep the density on ``inner <= |z| < outer`` (the continuation region)."""
        root = math.sqrt(info)
        lo, hi = inner * root, outer * root
        if hi <= lo:  # nothing continues
            self.grid, self.weights, self.info = np.zeros(1), np.zeros(1), info
            return
        half = GRID // 2
        if lo > 0:
            pos = np.linspace(lo, hi, half)
            grid = np.concatenate([-pos[::-1], pos])
            w = np.full(half, (hi - lo) / (half - 1))
            w[0] = w[-1] = w[0] / 2
            quad = np.concatenate([w[::-1], w])
        else:
            grid = np.linspace(-hi, hi, GRID)
            quad = np.full(GRID, 2 * hi / (GRID - 1))
            quad[0] = quad[-1] = quad[0] / 2
        step = info - self.info
        if self.grid is None:
            density = _pdf((grid - self.drift * info) / math.sqrt(info)) / math.sqrt(info)
        else:
            density = self.weights @ _transition(self.grid, grid, step, self.drift)
        self.grid, self.weights, self.info = grid, density * quad, info


@dataclass(frozen=True)
class Design:
    """A group-sequential design: looks after ``looks`` pairs, efficacy bounds ``upper`` and futility bounds
    ``inner`` on the z scale (continue while ``inner[k] <= |z| < upper[k]``), and its operating characteristics."""

    alpha: float
    beta: float
    effect: float
    looks: tuple[int, ...]
    upper: tuple[float, ...]
    inner: tuple[float, ...]
    power: float  # P(a winner | |delta| = effect)
    expected_alternative: float  # expected pairs used when |delta| = effect
    expected_null: float  # expected pairs used when delta = 0 (futility stops taken)
    fixed: int  # pairs of the one-look t-test with the same alpha and power
    spending: str = "hsd"
    gamma: float = 1.0
    notes: tuple[str, ...] = field(default=())

    @property
    def max_trials(self) -> int:
        return self.looks[-1]

    def look_of(self, n: int) -> int | None:
        """The index of the look made after ``n`` pairs, or None."""
        return self.looks.index(n) if n in self.looks else None


def fixed_sample(alpha: float, beta: float, effect: float) -> int:
    """Pairs of the fixed-sample two-sided paired t-test with power ``1 - beta`` at ``effect`` (exact noncentral t)."""
    from scipy import stats  # start-up: scipy.stats takes about 1 s to load; only this sizing needs it (noncentral t)

    n = max(2, math.ceil(((-special.ndtri(alpha / 2) - special.ndtri(beta)) / effect) ** 2))
    while True:
        crit = stats.t.isf(alpha / 2, n - 1)
        nc = effect * math.sqrt(n)
        power = stats.nct.sf(crit, n - 1, nc) + stats.nct.cdf(-crit, n - 1, nc)
        if power >= 1 - beta:
            return n
        n += 1


def _efficacy(fractions: tuple[float, ...], alpha: float, kind: str, gamma: float) -> list[float]:
    spend = spending(kind, alpha, gamma)
    process = _Process(0.0)
    bounds: list[float] = []
    spent = 0.0
    for t in fractions:
        target = spend(t) - spent
        if target <= 1e-15:
            b = 40.0
        else:
            b = optimize.brentq(lambda c, t=t, target=target: process.crossing(t, c, 60.0) - target, 1e-6, 40.0,
                                xtol=1e-10)
        bounds.append(b)
        spent += process.crossing(t, b, 60.0)
        process.advance(t, 0.0, b)
    return bounds


def _futility(fractions, upper, drift, beta, kind, gamma):
    """Futility bounds spending beta under the alternative drift; returns (inner, power, stop probabilities)."""
    spend = spending(kind, beta, gamma)
    process = _Process(drift)
    inner, win, stop_at = [], 0.0, []
    spent = 0.0
    for k, t in enumerate(fractions):
        b = upper[k]
        if k == len(fractions) - 1:
            a = b
        else:
            target = spend(t) - spent
            reach = process.crossing(t, 0.0, b)
            a = b if reach <= target else optimize.brentq(
                lambda c, t=t, target=target: process.crossing(t, 0.0, c) - target, 0.0, b, xtol=1e-10)
        futile = process.crossing(t, 0.0, a)
        wins = process.crossing(t, b, 60.0)
        spent += futile
        win += wins
        stop_at.append(futile + wins)
        inner.append(a)
        process.advance(t, a, b)
    return inner, win, stop_at


def _null_stops(fractions, inner, upper):
    process = _Process(0.0)
    stops = []
    for k, t in enumerate(fractions):
        stops.append(process.crossing(t, 0.0, inner[k]) + process.crossing(t, upper[k], 60.0))
        process.advance(t, inner[k], upper[k])
    return stops


@lru_cache(maxsize=64)
def design(alpha: float = 0.05, power: float = 0.8, effect: float = 0.5, *, round_size: int = 5,
           max_trials: int | None = None, first_look: int = 10, kind: str = "hsd", gamma: float = 1.0) -> Design:
    """The group-sequential design for a paired two-sided test: looks every ``round_size`` pairs from ``first_look``
    on, at most ``max_trials`` pairs (default: the fewest for ``power`` at ``effect``)."""
    if not 0 < alpha < 0.5:
        raise InvalidParameterError(f"alpha must be in (0, 0.5), got {alpha}")
    if not 0.5 <= power < 1:
        raise InvalidParameterError(f"power must be in [0.5, 1), got {power}")
    if not effect > 0:
        raise InvalidParameterError(f"effect must be a positive standardised effect (Cohen's d_z), got {effect}")
    if round_size < 1 or first_look < 2:
        raise InvalidParameterError("round_size must be >= 1 and first_look >= 2")
    beta = 1 - power

    built: dict[int, tuple] = {}  # the search for N asks for some sizes twice

    def build(n_max: int):
        if n_max not in built:
            built[n_max] = _build(n_max)
        return built[n_max]

    def _build(n_max: int):
        looks = tuple(sorted({min(n_max, n) for n in range(first_look, n_max + round_size, round_size)}))
        fractions = tuple(n / n_max for n in looks)
        upper = _efficacy(fractions, alpha, kind, gamma)
        inner, win, stop_alt = _futility(fractions, upper, effect * math.sqrt(n_max), beta, kind, gamma)
        return looks, upper, inner, win, stop_alt

    fixed = fixed_sample(alpha, beta, effect)
    if max_trials is None:  # the fewest pairs with the power: a sequential design needs somewhat more than fixed
        low, high = max(first_look, fixed // 2), fixed
        while build(high)[3] < power:
            low, high = high, 2 * high
            if high > 20 * fixed:
                raise InvalidParameterError("no design reaches the power: use a larger effect or round size")
        while high - low > 1:
            mid = (low + high) // 2
            low, high = (low, mid) if build(mid)[3] >= power else (mid, high)
        n = high
    else:
        if max_trials < first_look:
            raise InvalidParameterError(f"max_trials must be >= {first_look} (the first look), got {max_trials}")
        n = max_trials
    looks, upper, inner, win, stop_alt = build(n)
    fractions = tuple(m / n for m in looks)
    stop_null = _null_stops(fractions, inner, upper)
    expected = lambda stops: float(sum(p * m for p, m in zip(stops, looks, strict=True))  # noqa: E731
                                   + (1 - sum(stops)) * looks[-1])
    notes = () if win >= power - 1e-3 else (f"max_trials {n} gives power {win:.3f} < {power} at effect {effect}",)
    return Design(alpha=alpha, beta=beta, effect=effect, looks=looks, upper=tuple(upper), inner=tuple(inner),
                  power=win, expected_alternative=expected(stop_alt), expected_null=expected(stop_null), fixed=fixed,
                  spending=kind, gamma=gamma, notes=notes)


def z_statistic(differences: np.ndarray) -> float:
    """The paired t statistic of ``differences`` mapped to the normal scale (same tail probability)."""
    d = np.asarray(differences, dtype=float)
    n = d.size
    mean, sd = float(d.mean()), float(d.std(ddof=1)) if n > 1 else 0.0
    if sd <= 1e-300 * max(1.0, abs(mean)):
        return 0.0 if mean == 0 else math.copysign(40.0, mean)
    t = mean / (sd / math.sqrt(n))
    # -ndtri(stdtr(df, -t)) is norm.isf(t.sf(t, df)) as scipy.stats computes it, without its per-call checks
    return float(np.clip(-special.ndtri(special.stdtr(n - 1, -t)), -40.0, 40.0)) + 0.0  # + 0.0: no "-0.0"


@dataclass(frozen=True)
class Decision:
    """What a look decided: ``"continue"``, ``"A"`` / ``"B"`` (the winner: lower loss), or ``"no difference"``."""

    verdict: str
    look: int
    trials: int
    z: float
    lower: float
    upper: float


def decide(d: Design, differences: np.ndarray) -> Decision:
    """The decision after ``len(differences)`` pairs (a look of the design). ``differences`` = A's loss - B's loss:
    a positive mean means B is better."""
    n = len(differences)
    k = d.look_of(n)
    if k is None:
        raise InvalidParameterError(f"{n} pairs is not a look of the design (looks: {list(d.looks)})")
    z = z_statistic(np.asarray(differences))
    b, a = d.upper[k], d.inner[k]
    if abs(z) >= b:
        verdict = "B" if z > 0 else "A"
    elif abs(z) < a or k == len(d.looks) - 1:
        verdict = "no difference"
    else:
        verdict = "continue"
    return Decision(verdict, k, n, z, a, b)


def repeated_interval(d: Design, differences: np.ndarray, look: int) -> tuple[float, float]:
    """The repeated confidence interval for the mean difference at a look (Jennison & Turnbull ch. 9): mean ±
    ``upper[look]`` standard errors; its coverage holds simultaneously over looks, so also after an early stop."""
    x = np.asarray(differences, dtype=float)
    se = float(x.std(ddof=1)) / math.sqrt(x.size) if x.size > 1 else float("inf")
    half = d.upper[look] * se
    return float(x.mean() - half), float(x.mean() + half)


__all__ = ["Decision", "Design", "decide", "design", "fixed_sample", "repeated_interval", "spending", "z_statistic"]
