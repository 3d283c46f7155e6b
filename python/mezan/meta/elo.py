"""Elo ratings of solvers from pairwise outcomes (Elo 1978; the chess convention).

A game is two solvers run on the same instance with the same budget: the lower objective wins
(score 1), equal objectives draw (0.5). With ratings R_a, R_b the expected score of a is
E_a = 1 / (1 + 10^((R_b - R_a) / 400)) and after the game R_a += K (S_a - E_a), R_b += K (S_b - E_b).
A race of k solvers is the k (k - 1) / 2 games between every pair, each against the ratings as they
stood before the race (so the order of the pairs does not matter).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

DEFAULT_K = 32.0
DEFAULT_RATING = 1500.0


def expected_score(rating_a: float, rating_b: float) -> float:
    """Probability-like expected score of a against b."""
    return 1.0 / (1.0 + 10.0 ** ((rating_b - rating_a) / 400.0))


def update(rating_a: float, rating_b: float, score_a: float, k: float = DEFAULT_K) -> tuple[float, float]:
    """New (R_a, R_b) after a game in which a scored ``score_a`` (1 win, 0.5 draw, 0 loss)."""
    e_a = expected_score(rating_a, rating_b)
    return rating_a + k * (score_a - e_a), rating_b + k * ((1.0 - score_a) - (1.0 - e_a))


def score(objective_a: float, objective_b: float, tolerance: float = 1e-9) -> float:
    """1 if a's objective is lower (minimisation), 0.5 within a relative tolerance, else 0."""
    if objective_a == objective_b or (
            math.isfinite(objective_a) and math.isfinite(objective_b)
            and abs(objective_a - objective_b) <= tolerance * max(1.0, abs(objective_a), abs(objective_b))):
        return 0.5
    return 1.0 if objective_a < objective_b else 0.0


def rate_race(ratings: dict[str, tuple[float, int]], objectives: dict[str, float], *, k: float = DEFAULT_K,
              initial: float = DEFAULT_RATING) -> dict[str, tuple[float, int]]:
    """Ratings (rating, games) after a race: every pair of ``objectives`` is one game, all scored
    against the ratings before the race; returns a new dict (solvers not in the race unchanged)."""
    before = {s: ratings.get(s, (initial, 0))[0] for s in objectives}
    change = dict.fromkeys(objectives, 0.0)
    games = {s: ratings.get(s, (initial, 0))[1] for s in objectives}
    names = list(objectives)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            s_a = score(objectives[a], objectives[b])
            e_a = expected_score(before[a], before[b])
            change[a] += k * (s_a - e_a)
            change[b] += k * ((1.0 - s_a) - (1.0 - e_a))
            games[a] += 1
            games[b] += 1
    out = dict(ratings)
    for s in names:
        out[s] = (before[s] + change[s], games[s])
    return out


def standings(ratings: dict[str, tuple[float, int]]) -> list[tuple[str, float, int]]:
    """(solver, rating, games), best first."""
    return sorted(((s, r, g) for s, (r, g) in ratings.items()), key=lambda t: (-t[1], t[0]))


def swiss_pairings(points: dict[str, float], played: Iterable[frozenset[str]],
                   byes: Iterable[str] = ()) -> list[tuple[str, str | None]]:
    """One Swiss-system round: with an odd number of players the lowest-ranked one that has not had a
    bye yet sits out (None); the others, sorted by points (name breaks ties), are each paired with
    the next one they have not met (a rematch only when nothing else is left)."""
    met, had_bye = set(played), set(byes)
    waiting = sorted(points, key=lambda s: (-points[s], s))
    pairs: list[tuple[str, str | None]] = []
    if len(waiting) % 2:
        bye = next((s for s in reversed(waiting) if s not in had_bye), waiting[-1])
        waiting.remove(bye)
        pairs.append((bye, None))
    while waiting:
        a = waiting.pop(0)
        b = next((c for c in waiting if frozenset((a, c)) not in met), waiting[0])
        waiting.remove(b)
        pairs.append((a, b))
    return pairs
