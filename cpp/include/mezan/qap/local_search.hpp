// 2-exchange local search for the QAP: descend until no swap of two movable facilities improves.
//
// first improvement: scan pairs in order, apply the first improving swap, continue the scan;
//                    O(n) per evaluated pair (swap_delta), stops after a full pass without a move.
// best improvement:  keep the DeltaTable, apply the best swap each step; O(m^2) scan plus the
//                    O(n^2) table update per move.
// Both return the number of moves applied and leave p at a local optimum (or where the stop
// token interrupted them).
#pragma once
#include <cstdint>
#include <vector>

#include "mezan/core/stop_token.hpp"
#include "mezan/qap/delta_table.hpp"

namespace mezan::qap {

template <class T>
std::int64_t first_improvement(const Instance<T>& inst, const std::vector<int>& movable, std::vector<int>& p,
                               StopToken& stop, std::int64_t max_moves = -1) {
  const int m = static_cast<int>(movable.size());
  std::int64_t moves = 0;
  bool improved = true;
  while (improved) {
    improved = false;
    for (int a = 0; a < m; ++a) {
      if (stop.should_stop()) return moves;
      for (int b = a + 1; b < m; ++b) {
        const int r = movable[a], s = movable[b];
        if (swap_delta(inst, p, r, s) < 0) {
          std::swap(p[r], p[s]);
          improved = true;
          if (++moves == max_moves) return moves;
        }
      }
    }
  }
  return moves;
}

/// Best-improvement descent on an already reset table (table.reset(p) done by the caller).
template <class T>
std::int64_t best_improvement(DeltaTable<T>& table, std::vector<int>& p, StopToken& stop,
                              std::int64_t max_moves = -1) {
  const int m = table.size();
  std::int64_t moves = 0;
  while (moves != max_moves && !stop.should_stop()) {
    T best = 0;
    int best_a = -1, best_b = -1;
    for (int a = 0; a < m; ++a) {
      const T* row = table.row(a);
      for (int b = a + 1; b < m; ++b)
        if (row[b] < best) {
          best = row[b];
          best_a = a;
          best_b = b;
        }
    }
    if (best_a < 0) break;  // local optimum
    table.apply_swap(p, best_a, best_b);
    ++moves;
  }
  return moves;
}

}  // namespace mezan::qap
