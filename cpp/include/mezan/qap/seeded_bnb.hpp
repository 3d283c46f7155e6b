// seeded_branch_and_bound (method bnb): exact branch and bound (branch_bound.hpp) whose incumbent
// is first set by a short robust tabu search, unless the caller gave a start.
#pragma once
#include <cstdint>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/core/stop_token.hpp"
#include "mezan/qap/branch_bound.hpp"
#include "mezan/qap/instance.hpp"
#include "mezan/qap/tabu.hpp"

namespace mezan::qap {

/// RoTS iterations per facility of the seeding run. Branch and bound prunes against its incumbent,
/// so a good start is what makes pruning work, and RoTS finds one fast. The run stays short beside
/// the tree it seeds: 200 n moves of O(n^2) each are O(n^3) work, the order of a single node's
/// Gilmore–Lawler bound (n^2 assignment costs and an n x n LAP), while B&B explores many nodes.
inline constexpr std::int64_t kSeedTabuIterationsPerFacility = 200;

/// fixed: empty or n entries (location or -1); movable: the free facilities; p: the start, kept as
/// the incumbent when seed_with_tabu is false. Returns the nodes explored (at most cap when cap > 0);
/// *proven (if not null) tells whether the tree was exhausted, i.e. the incumbent is optimal.
template <class T>
std::int64_t seeded_branch_and_bound(const Instance<T>& inst, const std::vector<int>& fixed,
                                     const std::vector<int>& movable, std::vector<int> p, bool seed_with_tabu,
                                     const TabuOptions& tabu_options, Rng& rng, StopToken& stop, Incumbent& inc,
                                     std::int64_t cap, bool* proven) {
  if (seed_with_tabu) {
    RobustTabu<T> tabu(inst, movable, rng.next(), tabu_options);
    tabu.start(p, &stop);
    tabu.run(stop, inc, kSeedTabuIterationsPerFacility * inst.n());
    p = tabu.best();
  }
  BranchAndBound<T> bnb(inst, fixed);
  const BranchBoundReport r = bnb.run(p, stop, inc, cap);
  if (proven) *proven = r.proven;
  return r.nodes;
}

}  // namespace mezan::qap
