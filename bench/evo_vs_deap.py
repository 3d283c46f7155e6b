"""EvoFlow vs DEAP's standard permutation GA on generated Euclidean TSP instances.

Both sides get the same population, the same wall time and the closest operators DEAP offers:
PMX crossover, a swap-type mutation with probability 0.2, tournament selection of size 3. DEAP
runs its eaSimple generational scheme (cxpb 0.7, mutpb 0.2, mutShuffleIndexes indpb 0.05 — the
DEAP TSP example) with the example's pure-Python tour evaluation; EvoFlow runs its steady-state
engine with the built-in C++ TSP objective, one thread, no local search. Reports, per instance,
the median over repeats of evaluations per second and final tour length.

    python bench/evo_vs_deap.py [--sizes 50 100 200] [--time 10] [--repeats 3] [--population 100]
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import time

import numpy as np
from deap import base, creator, tools

from mezan.evo import TSP, evolve


def euclidean_instance(n: int, seed: int) -> np.ndarray:
    pts = np.random.default_rng(seed).random((n, 2)) * 1000
    return np.sqrt(((pts[:, None] - pts[None]) ** 2).sum(-1))


def deap_ga(D: np.ndarray, population: int, budget: float, seed: int) -> tuple[float, int]:
    n = len(D)
    random.seed(seed)
    distance_map = D.tolist()

    def eval_tsp(individual):  # as in DEAP's TSP example
        distance = distance_map[individual[-1]][individual[0]]
        for gene1, gene2 in itertools.pairwise(individual):
            distance += distance_map[gene1][gene2]
        return (distance,)

    if not hasattr(creator, "FitnessMin"):
        creator.create("FitnessMin", base.Fitness, weights=(-1.0,))
        creator.create("Individual", list, fitness=creator.FitnessMin)
    toolbox = base.Toolbox()
    toolbox.register("indices", random.sample, range(n), n)
    toolbox.register("individual", tools.initIterate, creator.Individual, toolbox.indices)
    toolbox.register("population", tools.initRepeat, list, toolbox.individual)
    toolbox.register("mate", tools.cxPartialyMatched)
    toolbox.register("mutate", tools.mutShuffleIndexes, indpb=0.05)
    toolbox.register("select", tools.selTournament, tournsize=3)
    toolbox.register("evaluate", eval_tsp)

    start = time.perf_counter()
    pop = toolbox.population(n=population)
    evaluations = 0
    for ind in pop:
        ind.fitness.values = toolbox.evaluate(ind)
        evaluations += 1
    best = min(ind.fitness.values[0] for ind in pop)
    while time.perf_counter() - start < budget:  # eaSimple's loop, bounded by time
        offspring = toolbox.select(pop, len(pop))
        offspring = [toolbox.clone(ind) for ind in offspring]
        for i in range(1, len(offspring), 2):
            if random.random() < 0.7:
                offspring[i - 1], offspring[i] = toolbox.mate(offspring[i - 1], offspring[i])
                del offspring[i - 1].fitness.values, offspring[i].fitness.values
        for i in range(len(offspring)):
            if random.random() < 0.2:
                (offspring[i],) = toolbox.mutate(offspring[i])
                del offspring[i].fitness.values
        for ind in offspring:
            if not ind.fitness.valid:
                ind.fitness.values = toolbox.evaluate(ind)
                evaluations += 1
        pop[:] = offspring
        best = min(best, min(ind.fitness.values[0] for ind in pop))
    return best, evaluations / (time.perf_counter() - start)


def mezan_ga(D: np.ndarray, population: int, budget: float, seed: int) -> tuple[float, float]:
    result = evolve(TSP(D), population=population, time_limit=budget, seed=seed, crossover="pmx",
                    mutation="swap", mutation_rate=0.2, selection="tournament", tournament_size=3)
    return result.fitness, result.evaluations / result.wall_time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--time", type=float, default=10.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--population", type=int, default=100)
    args = parser.parse_args()
    print(f"Euclidean TSP, population {args.population}, {args.time:g} s per run, median of {args.repeats} seeds")
    print(f"{'n':>4} {'mezan evals/s':>14} {'deap evals/s':>13} {'ratio':>7} {'mezan length':>13} {'deap length':>12}")
    for n in args.sizes:
        D = euclidean_instance(n, seed=n)
        ours = [mezan_ga(D, args.population, args.time, s) for s in range(args.repeats)]
        theirs = [deap_ga(D, args.population, args.time, s) for s in range(args.repeats)]
        m_len, m_rate = (statistics.median(x) for x in zip(*ours, strict=True))
        d_len, d_rate = (statistics.median(x) for x in zip(*theirs, strict=True))
        print(f"{n:>4} {m_rate:>14,.0f} {d_rate:>13,.0f} {m_rate / d_rate:>6.1f}x {m_len:>13,.1f} {d_len:>12,.1f}",
              flush=True)


if __name__ == "__main__":
    main()
