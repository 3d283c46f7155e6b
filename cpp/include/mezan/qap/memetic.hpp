// Memetic search for the QAP — a population of tabu-improved solutions recombined by permutation
// crossovers, in the spirit of Drezner's hybrid GA (Drezner 2003, INFORMS J. Computing 15) and
// Benlic & Hao's BMA (Benlic & Hao 2015, Computers & OR 54).
//
//  * population: `population` permutations — the caller's start if it gives one, random ones for
//    the rest —, each improved by RoTS for `improve_iters` iterations. Defaults read the data
//    (memetic_defaults): 10 members and 300 n iterations; on data where both matrices are dense
//    (both_matrices_dense: Taillard-a, lipa, rou, had), 20 members and 100 n. The shorter child
//    runs are what pays there: measured on tai60a, one thread, 4 seeds, equal RoTS iterations, mean
//    gap after 6e6 iterations 0.46 % (10, 300 n), 0.39 % (10, 100 n), 0.39 % (20, 100 n); after
//    2.4e7, 0.30 % (20, 100 n) against 0.38 % (30, 100 n) and 0.45 % (20, 200 n). On tai60b
//    (sparse flows) the dense setting lost (0.09 % against 0 % after 6e6), hence the rule;
//  * generation: two distinct parents drawn uniformly, a crossover from EvoFlow's operators
//    (uniform-like by default; PMX and OX too), RoTS on the child, then EvoFlow's distance-based
//    replacement (copies dropped, near-copies compete with their nearest member, otherwise the worst
//    is replaced if beaten) — one implementation shared with mezan::evo;
//  * breakout: after `stagnation` generations without a new best, every member but the best gets
//    n/4 random swaps and is re-improved (keeps the population from collapsing).
// Cost per generation: O(n) crossover + improve_iters * O(n^2). Stops on the token or after max_iter
// RoTS iterations in total; every improvement goes to the shared Incumbent.
#pragma once
#include <cstdint>
#include <utility>
#include <vector>

#include "mezan/evo/engine.hpp"
#include "mezan/qap/assignment.hpp"
#include "mezan/qap/tabu.hpp"

namespace mezan::qap {

struct MemeticOptions {
  int population = 0;              // <= 0: 20 on dense data (both_matrices_dense), else 10
  std::int64_t improve_iters = 0;  // <= 0: 100 n on dense data, else 300 n
  int stagnation = 20;
  evo::Crossover crossover = evo::Crossover::uniform;
};

/// The defaults above for n and the data's density: {population, improve_iters}.
inline std::pair<int, std::int64_t> memetic_defaults(int n, bool dense) {
  return dense ? std::pair<int, std::int64_t>{20, 100LL * n} : std::pair<int, std::int64_t>{10, 300LL * n};
}

/// RoTS iterations spent building the default population (population x improve_iters), before any crossover.
inline std::int64_t memetic_setup_iterations(int n, bool dense) {
  const auto [population, improve] = memetic_defaults(n, dense);
  return population * improve;
}

/// `start`: the caller's starting permutation (the first member), or empty for random members only.
template <class T>
std::int64_t memetic(const Instance<T>& inst, const std::vector<int>& movable, const std::vector<int>& fixed,
                     Rng& rng, StopToken& stop, Incumbent& incumbent, std::int64_t max_iter,
                     const MemeticOptions& opt = {}, const TabuOptions& tabu_opt = {},
                     const std::vector<int>& start = {}) {
  const int n = inst.n();
  const auto [default_population, default_improve] = memetic_defaults(n, both_matrices_dense(inst));
  const int pop = opt.population > 0 ? std::max(2, opt.population) : default_population;
  const std::int64_t L = opt.improve_iters > 0 ? opt.improve_iters : default_improve;
  RobustTabu<T> tabu(inst, movable, rng.next(), tabu_opt);
  std::int64_t used = 0;
  auto budget_left = [&] { return max_iter <= 0 || used < max_iter; };
  // Improve p in place with one RoTS run; returns its cost.
  auto improve = [&](std::vector<int>& p) {
    tabu.start(p, &stop);
    const std::int64_t cap = max_iter > 0 ? std::min(L, max_iter - used) : L;
    used += tabu.run(stop, incumbent, cap);
    p = tabu.best();
    return static_cast<double>(tabu.best_cost());
  };
  evo::Population population(n, pop, evo::Distance::hamming);
  std::vector<int> p;
  if (!start.empty()) incumbent.offer(static_cast<double>(objective(inst, start)), start);  // never worse than it
  for (int k = 0; k < pop && !stop.should_stop() && budget_left(); ++k) {
    p = k == 0 && !start.empty() ? start : random_permutation(n, fixed, rng);
    const double f = improve(p);
    population.set(k, p.data(), f);
  }
  if (stop.stop_requested() || !budget_left()) return used;

  evo::Scratch scratch(n);
  std::vector<int> child(n);
  const int m = static_cast<int>(movable.size());
  double best = population.fitness()[population.best()];
  int since_best = 0;
  while (!stop.should_stop() && budget_left()) {
    const int a = static_cast<int>(rng.below(pop));
    const int b = (a + 1 + static_cast<int>(rng.below(pop - 1))) % pop;
    evo::crossover(opt.crossover, population.member(a), population.member(b), n, child.data(), rng, scratch);
    // Crossovers work on whole permutations: put fixed facilities back where they belong.
    if (!fixed.empty())
      for (int i = 0; i < n; ++i)
        if (fixed[i] >= 0 && child[i] != fixed[i]) {
          int j = 0;
          while (child[j] != fixed[i]) ++j;
          std::swap(child[i], child[j]);
        }
    p.assign(child.begin(), child.end());
    const double f = improve(p);
    population.insert(p.data(), f);
    if (f < best) {
      best = f;
      since_best = 0;
    } else if (++since_best >= opt.stagnation && m >= 2) {
      const int keep = population.best();
      for (int k = 0; k < pop && !stop.should_stop() && budget_left(); ++k) {
        if (k == keep) continue;
        p.assign(population.member(k), population.member(k) + n);
        for (int s = 0; s < std::max(1, n / 4); ++s) {
          const int x = movable[rng.below(m)], y = movable[rng.below(m)];
          std::swap(p[x], p[y]);
        }
        const double g = improve(p);
        population.set(k, p.data(), g);
        best = std::min(best, g);
      }
      since_best = 0;
    }
  }
  return used;
}

/// Iterated robust tabu search: RoTS runs of `round_iters` iterations (default 300 n), each from a
/// perturbation (n/8 to n/4 random swaps) of this run's best — or, every fourth round, of the
/// shared incumbent, so that threads working together share what they found.
template <class T>
std::int64_t iterated_tabu(const Instance<T>& inst, const std::vector<int>& movable, std::vector<int> p, Rng& rng,
                           StopToken& stop, Incumbent& incumbent, std::int64_t max_iter,
                           std::int64_t round_iters = 0, const TabuOptions& tabu_opt = {}) {
  const int n = inst.n();
  const int m = static_cast<int>(movable.size());
  const std::int64_t L = round_iters > 0 ? round_iters : 300LL * n;
  RobustTabu<T> tabu(inst, movable, rng.next(), tabu_opt);
  std::vector<int> own = p;
  T own_cost = objective(inst, own);
  std::int64_t used = 0;
  for (int round = 0; !stop.should_stop() && (max_iter <= 0 || used < max_iter); ++round) {
    tabu.start(p, &stop);
    used += tabu.run(stop, incumbent, max_iter > 0 ? std::min(L, max_iter - used) : L);
    if (tabu.best_cost() < own_cost) {
      own_cost = tabu.best_cost();
      own = tabu.best();
    }
    p = (round % 4 == 3 && incumbent.has_solution()) ? incumbent.solution() : own;
    if (m < 2) break;
    const int swaps = std::max(1, n / 8 + static_cast<int>(rng.below(std::max(1, n / 8))));
    for (int s = 0; s < swaps; ++s) std::swap(p[movable[rng.below(m)]], p[movable[rng.below(m)]]);
  }
  return used;
}

}  // namespace mezan::qap
