// Simulated annealing on 2-exchange moves for the QAP (Metropolis acceptance, geometric cooling).
//
// Calibration (once, O(samples * n)): from a random permutation, sample random swaps and collect
// the positive deltas. The start temperature accepts the median uphill move with probability 1/2,
// the final one accepts the 10th-percentile uphill move with probability 1e-3:
//   T0 = -median / ln(0.5),  Tf = -p10 / ln(1e-3),  T(f) = T0 (Tf / T0)^f
// where f in [0, 1] is the fraction of the budget used: iterations / max_iter when an iteration
// cap is given (deterministic for a seed), else elapsed / time limit, else cycles of 200 n^2
// iterations. Each iteration costs O(n) (swap_delta). When the iteration cap ends the run, a
// best-improvement descent from the best permutation seen makes the result a 2-exchange local optimum.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/qap/local_search.hpp"

namespace mezan::qap {

struct AnnealSchedule {
  double t_start = 0;
  double t_end = 0;
};

template <class T>
AnnealSchedule calibrate_temperature(const Instance<T>& inst, const std::vector<int>& movable, std::vector<int> p,
                                     Rng& rng, int samples = 2000) {
  const int m = static_cast<int>(movable.size());
  std::vector<double> uphill;
  uphill.reserve(samples);
  for (int k = 0; k < samples; ++k) {
    const int a = static_cast<int>(rng.below(m));
    int b = static_cast<int>(rng.below(m - 1));
    if (b >= a) ++b;
    const double d = static_cast<double>(swap_delta(inst, p, movable[a], movable[b]));
    if (d > 0) uphill.push_back(d);
  }
  AnnealSchedule s;
  if (uphill.empty()) {  // flat landscape: any positive temperature will do
    s.t_start = 1.0;
    s.t_end = 1e-3;
    return s;
  }
  std::sort(uphill.begin(), uphill.end());
  const double median = uphill[uphill.size() / 2];
  const double p10 = uphill[uphill.size() / 10];
  s.t_start = -median / std::log(0.5);
  s.t_end = std::min(s.t_start, -p10 / std::log(1e-3));
  return s;
}

/// Anneal from p (in/out: ends at the best permutation found). Returns the iterations done.
template <class T>
std::int64_t anneal(const Instance<T>& inst, const std::vector<int>& movable, std::vector<int>& p, Rng& rng,
                    StopToken& stop, Incumbent& incumbent, std::int64_t max_iter = -1) {
  const int m = static_cast<int>(movable.size());
  T cost = objective(inst, p);
  std::vector<int> best = p;
  T best_cost = cost;
  incumbent.offer(static_cast<double>(best_cost), best);
  if (m < 2) return 0;
  const AnnealSchedule sched = calibrate_temperature(inst, movable, p, rng);
  const double ratio = sched.t_end / sched.t_start;
  const std::int64_t cycle = 200LL * inst.n() * inst.n();
  double temperature = sched.t_start;
  std::int64_t it = 0;
  while (it != max_iter) {
    if ((it & 127) == 0) {
      if (stop.should_stop()) break;
      double f;
      if (max_iter > 0)
        f = static_cast<double>(it) / static_cast<double>(max_iter);
      else if (stop.has_deadline())
        f = stop.time_fraction();
      else
        f = static_cast<double>(it % cycle) / static_cast<double>(cycle);
      temperature = sched.t_start * std::pow(ratio, f);
    }
    ++it;
    const int a = static_cast<int>(rng.below(m));
    int b = static_cast<int>(rng.below(m - 1));
    if (b >= a) ++b;
    const int r = movable[a], s = movable[b];
    const T delta = swap_delta(inst, p, r, s);
    if (delta <= 0 || rng.uniform() < std::exp(-static_cast<double>(delta) / temperature)) {
      std::swap(p[r], p[s]);
      cost += delta;
      if (cost < best_cost) {
        best_cost = cost;
        best = p;
        incumbent.offer(static_cast<double>(best_cost), best);
      }
    }
    if ((it & 4095) == 0) incumbent.add_iterations(4096);
  }
  incumbent.add_iterations(it & 4095);
  // Polish: descend from the best permutation seen, unless the budget is already spent (then the
  // final low-temperature phase has been a descent already and the caller wants the answer now).
  p = best;
  if (!stop.should_stop()) {
    DeltaTable<T> table(inst, movable);
    if (table.reset(p, &stop)) {
      best_improvement(table, p, stop);
      incumbent.offer(static_cast<double>(objective(inst, p)), p);
    }
  }
  return it;
}

}  // namespace mezan::qap
