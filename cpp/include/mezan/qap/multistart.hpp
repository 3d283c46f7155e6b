// Multi-start methods of QAP: independent runs from fresh starts until the budget ends, each
// result offered to the shared incumbent.
//
//  multistart_local (method local): best-improvement descents (local_search.hpp) from random
//      permutations. One iteration per descent started plus one per move, so that an iteration
//      cap ends the loop even when every start is already a local optimum.
//  faq_multistart (method faq): FAQ (faq.hpp) from the barycenter (first run of the first thread
//      only: the barycenter is deterministic, so one FAQ from it suffices), then from scipy's
//      randomised starts, each relaxed solution rounded by a LAP.
#pragma once
#include <cstdint>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/core/stop_token.hpp"
#include "mezan/qap/assignment.hpp"
#include "mezan/qap/delta_table.hpp"
#include "mezan/qap/faq.hpp"
#include "mezan/qap/instance.hpp"
#include "mezan/qap/local_search.hpp"
#include "mezan/qap/objective.hpp"

namespace mezan::qap {

/// fixed: empty or n entries (location or -1); movable: the free facilities; p: the first start.
/// Returns the iterations done (moves + descents), at most cap when cap > 0.
template <class T>
std::int64_t multistart_local(const Instance<T>& inst, const std::vector<int>& fixed, const std::vector<int>& movable,
                              std::vector<int> p, Rng& rng, StopToken& stop, Incumbent& inc, std::int64_t cap) {
  DeltaTable<T> table(inst, movable);
  std::int64_t moves = 0;
  for (bool first = true; moves != cap && !stop.should_stop(); first = false) {
    if (!first) p = random_permutation(inst.n(), fixed, rng);
    if (!table.reset(p, &stop)) break;
    const std::int64_t m = 1 + best_improvement(table, p, stop, cap > 0 ? cap - moves - 1 : -1);
    moves += m;
    inc.add_iterations(m);
    inc.offer(static_cast<double>(objective(inst, p)), p);
  }
  return moves;
}

/// fixed: empty or n entries; movable: the free facilities; from_barycenter: whether the first
/// run starts from the barycenter. Returns the Frank–Wolfe iterations done; stops when a run is
/// stopped before its first iteration (the budget is spent).
template <class T>
std::int64_t faq_multistart(const Instance<T>& inst, const std::vector<int>& fixed_locations,
                            const std::vector<int>& movable, bool from_barycenter, const FaqOptions& options, Rng& rng,
                            StopToken& stop, Incumbent& inc, std::int64_t cap) {
  const int n = inst.n();
  const std::vector<double> a(inst.a_data().begin(), inst.a_data().end());
  const std::vector<double> b(inst.b_data().begin(), inst.b_data().end());
  const std::vector<int> fixed = fixed_locations.empty() ? std::vector<int>(n, -1) : fixed_locations;
  const int m = static_cast<int>(movable.size());
  std::int64_t iters = 0;
  for (std::int64_t start = 0; (cap < 0 || iters < cap) && !stop.should_stop(); ++start) {
    const std::vector<double> p0 = (start == 0 && from_barycenter) ? std::vector<double>{} : randomized_start(m, rng);
    const FaqResult r = faq(a.data(), b.data(), n, fixed, p0, options, &stop);
    iters += r.iterations;
    inc.add_iterations(r.iterations);
    inc.offer(static_cast<double>(objective(inst, r.permutation)), r.permutation);
    if (r.iterations == 0) break;
  }
  return iters;
}

}  // namespace mezan::qap
