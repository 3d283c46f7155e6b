"""EvoFlow: evolutionary search over permutations with ``mezan.evo.evolve``.

Evolves a tour of 60 random cities (a built-in TSP: the genetic algorithm and its objective run in C++), then the
memetic variant (2-opt on every child), then a plain Python objective over permutations.

Run: python examples/evo/evolve_tsp.py   (about 2.5 seconds)
"""

import numpy as np

from mezan.evo import TSP, evolve

# 60 cities in the unit square and their Euclidean distance matrix
points = np.random.default_rng(0).random((60, 2))
D = np.sqrt(((points[:, None] - points[None]) ** 2).sum(-1))

# A steady-state GA: order crossover, inversion mutation, 1 second
ga = evolve(TSP(D), time_limit=1.0, seed=0, crossover="ox", mutation="inversion")
# The memetic variant: every child is improved by 2-opt
memetic = evolve(TSP(D), time_limit=1.0, seed=0, local_search=True)

print(f"{'variant':<8} {'tour length':>11} {'evaluations':>12} {'generations':>12}  status")
for name, res in (("GA", ga), ("memetic", memetic)):
    print(f"{name:<8} {res.objective:>11.3f} {res.evaluations:>12,} {res.generations:>12,}  {res.status}")
print(f"best tour starts {memetic.best[:10].tolist()} ... ({memetic.explanation})")

# Any Python callable f(permutation) -> float can be minimised too (called in batches by the C++ engine):
# here, the total jump between neighbours, minimised by sorted or reverse-sorted orders.
res = evolve(lambda p: float(np.abs(np.diff(p)).sum()), 20, max_evaluations=20_000, seed=1)
print(f"\ncallable objective: best {res.fitness} (optimum 19), {res.evaluations:,} evaluations: {res.best.tolist()}")
