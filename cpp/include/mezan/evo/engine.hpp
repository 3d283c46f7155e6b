// Steady-state genetic / memetic algorithm over permutations, generic over the objective.
//
// Each generation builds a batch of `population` children — two parents chosen by tournament
// (size k) or linear rank selection, a crossover, a mutation with probability mutation_rate —
// evaluates the batch (optionally improving each child with the objective's local search: the
// memetic variant), on the thread pool when the objective allows it, then inserts the children one
// by one with distance-based replacement:
//   * a child identical to a member (distance 0) is dropped;
//   * a child closer than min_distance to its nearest member competes with that member only
//     (crowding: it replaces it if better), which keeps near-copies from taking over;
//   * otherwise it replaces the worst member if it is better.
// The best member is only ever replaced by a better child. Distances: Hamming (positions that
// differ; threshold ceil(n/10)) or position distance (sum of position shifts; threshold n^2/30).
// Children are generated sequentially from one Rng and inserted in order, so the run depends only
// on the seed and the caps — never on the number of threads. Stops on the stop token, a generation
// cap or an evaluation cap, with the best permutation in the shared Incumbent.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <numeric>
#include <string>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/evo/objectives.hpp"
#include "mezan/evo/operators.hpp"

namespace mezan::evo {

enum class Selection { tournament, rank };
enum class Distance { hamming, position };

inline Selection parse_selection(const std::string& s) {
  if (s == "tournament") return Selection::tournament;
  if (s == "rank") return Selection::rank;
  throw unknown_name("selection", s, {"tournament", "rank"});
}

inline Distance parse_distance(const std::string& s) {
  if (s == "hamming") return Distance::hamming;
  if (s == "position") return Distance::position;
  throw unknown_name("distance", s, {"hamming", "position"});
}

struct EvoOptions {
  int population = 64;
  std::int64_t generations = -1;      // <= 0: no cap
  std::int64_t max_evaluations = -1;  // <= 0: no cap
  Crossover crossover = Crossover::ox;
  Mutation mutation = Mutation::swap;
  double mutation_rate = 0.2;
  bool local_search = false;
  Selection selection = Selection::tournament;
  int tournament_size = 3;
  Distance distance = Distance::hamming;
  std::uint64_t seed = 0;
  int threads = 1;
};

struct EvoReport {
  std::vector<int> best;
  double fitness = 0;
  std::int64_t evaluations = 0;
  std::int64_t generations = 0;
  StopReason reason = StopReason::none;
};

class Population {
 public:
  Population(int n, int size, Distance distance)
      : n_(n), size_(size), distance_(distance), genes_(static_cast<std::size_t>(n) * size),
        pos_(distance == Distance::position ? genes_.size() : 0), fitness_(size) {
    threshold_ = distance == Distance::hamming ? std::ceil(n / 10.0) : n * static_cast<double>(n) / 30.0;
  }
  int* member(int k) { return genes_.data() + static_cast<std::size_t>(k) * n_; }
  const int* member(int k) const { return genes_.data() + static_cast<std::size_t>(k) * n_; }
  std::vector<double>& fitness() { return fitness_; }
  int best() const { return static_cast<int>(std::min_element(fitness_.begin(), fitness_.end()) - fitness_.begin()); }
  int worst() const { return static_cast<int>(std::max_element(fitness_.begin(), fitness_.end()) - fitness_.begin()); }

  void set(int k, const int* p, double f) {
    std::copy(p, p + n_, member(k));
    fitness_[k] = f;
    if (distance_ == Distance::position)
      for (int i = 0; i < n_; ++i) pos_[static_cast<std::size_t>(k) * n_ + p[i]] = i;
  }

  /// Distance from p to member k, computed only up to `bound`: returns a value >= bound as soon as
  /// the distance reaches it (replacement only needs to know which members are closer than the
  /// threshold, so most comparisons stop after about threshold positions).
  double distance(const int* p, int k, double bound) const {
    if (distance_ == Distance::hamming) return hamming_distance(p, member(k), n_, bound);
    return position_distance(p, pos_.data() + static_cast<std::size_t>(k) * n_, n_, bound);
  }

  /// Distance-based replacement (see the header comment). Returns true if the child entered.
  bool insert(const int* child, double f) {
    int nearest = -1;
    double d_min = threshold_;
    for (int k = 0; k < size_; ++k) {
      const double d = distance(child, k, d_min);
      if (d < d_min) {
        d_min = d;
        nearest = k;
        if (d == 0) return false;  // a copy of member k
      }
    }
    const int target = nearest >= 0 ? nearest : worst();
    if (!(f < fitness_[target])) return false;
    set(target, child, f);
    return true;
  }

 private:
  int n_, size_;
  Distance distance_;
  std::vector<int> genes_, pos_;
  std::vector<double> fitness_;
  double threshold_;
};

inline EvoReport evolve(const PermutationObjective& objective, const EvoOptions& opt, StopToken& stop,
                        Incumbent& incumbent) {
  const int n = objective.size();
  const int pop = std::max(2, opt.population);
  Rng rng(opt.seed);
  std::unique_ptr<ThreadPool> pool;
  if (opt.threads > 1 && objective.thread_safe()) pool = std::make_unique<ThreadPool>(opt.threads);
  const bool improve = opt.local_search && objective.has_local_search();
  EvoReport report;

  // Initial population: random permutations (improved too in the memetic variant).
  std::vector<int> batch(static_cast<std::size_t>(n) * pop);
  std::vector<double> values(pop);
  for (int c = 0; c < pop; ++c) {
    int* p = batch.data() + static_cast<std::size_t>(c) * n;
    std::iota(p, p + n, 0);
    for (int k = n; k > 1; --k) std::swap(p[k - 1], p[rng.below(static_cast<std::uint32_t>(k))]);
  }
  objective.evaluate_batch(batch, pop, improve, values, stop, pool.get());
  report.evaluations = pop;
  Population population(n, pop, opt.distance);
  for (int c = 0; c < pop; ++c) population.set(c, batch.data() + static_cast<std::size_t>(c) * n, values[c]);
  auto publish = [&] {
    const int b = population.best();
    if (incumbent.has_solution() && !(population.fitness()[b] < incumbent.best())) return;
    const int* p = population.member(b);
    incumbent.offer(population.fitness()[b], std::vector<int>(p, p + n));
  };
  incumbent.add_iterations(pop);
  publish();

  Scratch scratch(n);
  std::vector<int> ranked(pop);
  while (!stop.should_stop()) {
    if (opt.generations > 0 && report.generations >= opt.generations) {
      report.reason = StopReason::iteration_limit;
      break;
    }
    int count = pop;
    if (opt.max_evaluations > 0) {
      const std::int64_t left = opt.max_evaluations - report.evaluations;
      if (left <= 0) {
        report.reason = StopReason::iteration_limit;
        break;
      }
      count = static_cast<int>(std::min<std::int64_t>(pop, left));
    }
    const std::vector<double>& fit = population.fitness();
    if (opt.selection == Selection::rank) {
      std::iota(ranked.begin(), ranked.end(), 0);
      std::sort(ranked.begin(), ranked.end(), [&](int x, int y) { return fit[x] < fit[y]; });
    }
    auto select = [&] {
      return opt.selection == Selection::rank ? rank_select(ranked, rng) : tournament(fit, opt.tournament_size, rng);
    };
    for (int c = 0; c < count; ++c) {
      const int a = select();
      int b = select();
      if (b == a) b = (a + 1 + static_cast<int>(rng.below(pop - 1))) % pop;
      int* child = batch.data() + static_cast<std::size_t>(c) * n;
      crossover(opt.crossover, population.member(a), population.member(b), n, child, rng, scratch);
      if (rng.uniform() < opt.mutation_rate) mutate(opt.mutation, child, n, rng);
    }
    objective.evaluate_batch(batch, count, improve, values, stop, pool.get());
    report.evaluations += count;
    for (int c = 0; c < count; ++c) population.insert(batch.data() + static_cast<std::size_t>(c) * n, values[c]);
    ++report.generations;
    incumbent.add_iterations(count);
    publish();
  }
  const int b = population.best();
  report.best.assign(population.member(b), population.member(b) + n);
  report.fitness = population.fitness()[b];
  if (stop.stop_requested()) report.reason = stop.reason();
  return report;
}

}  // namespace mezan::evo
