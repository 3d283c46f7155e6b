// Breakout local search for the QAP, after Benlic & Hao, "Breakout local search for the quadratic
// assignment problem", Applied Mathematics and Computation 219 (2013) 4800-4815 (MEZAN's own
// implementation of the published algorithm; no code of theirs).
//
// One cycle: a steepest descent on swaps (the best improving swap, from the delta table, until none
// improves: a local optimum), then a perturbation of L moves from that local optimum. The jump
// magnitude L adapts:
//  * the descent came back to the local optimum it left (same cost): L <- L + 1 (jump farther);
//  * it reached another one: L <- L0, and one more local optimum counts as "without a new best";
//  * no new best for `stagnation` consecutive local optima: a strong jump, L <- U[0.4, 0.6) n random
//    moves (never directed: directed moves lead back into the attractor the jump is meant to leave), and
//    the counter restarts.
// The perturbation type adapts too: with probability P = max(exp(-w / stagnation), P0), w = local
// optima since the last new best, the whole perturbation is directed — each move is the best swap whose
// pair is not tabu (swapped within the last gamma moves, gamma ~ U[0.7 n, 0.9 n)), taken even when it
// worsens the cost, aspiration on a new best; otherwise each move is, with probability Q, recency-based
// (the pair swapped least recently) and else random. No perturbation move may come back to the cost of
// the local optimum it leaves. Directed moves intensify around the attractor, random ones diversify:
// the balance shifts towards diversification the longer search stagnates.
//
// Constants: the paper's QAP setting L0 = max(5, ceil(0.15 n)), P0 = 0.75, Q = 0.3, except stagnation =
// 1,000 local optima (the paper: 2,500). Measured over 4 seeds x 5 s on generated ring (n = 100),
// Taillard-a and -b (n = 100) and tai60a, random strong jumps after 1,000 optima gave a lower mean best
// on all four than directed ones after 2,500: on a ring instance the search otherwise stays in the
// attractor it found in its first half second; tabu tenure on swapped pairs (not on facilities: a facility tabu would freeze
// nearly all of them after n moves).
// Cost: a descent or directed move O(m^2) (scan) + O(n^2) (table update); a recency move O(m^2); a
// random move O(n^2); the table is permuted_delta_table.hpp's (its update vectorised, 3.5-4x faster per
// move at n = 500-1,000 than DeltaTable's), and the descent's scan reads each row once as a vectorised
// minimum, returning to the row only when it holds a better swap. Nothing is allocated per move.
// Memory: the table's copies of the data (A, B, the permuted B, and their transposes if asymmetric: up
// to 5 n^2 values), the delta table and the pair clock (m^2 each). The object is
// restartable: start(p) (re)initialises it, run() continues for `cycles` cycles or `max_moves` moves or
// until the stop token fires, offering every new best to the shared Incumbent.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/qap/delta_table.hpp"
#include "mezan/qap/objective.hpp"
#include "mezan/qap/permuted_delta_table.hpp"

namespace mezan::qap {

namespace breakout_detail {
/// The least of row[from..to), from < to: a lane-wise minimum over whole vectors, then the lanes and the tail.
/// Only a minimum (no index), so it vectorises for every value type; exact, as every compare is.
template <class T>
MEZAN_ALWAYS_INLINE T row_least_body(const T* row, int from, int to) {
  using L = Lanes<T>;
  T least = row[from];
  int b = from + 1;
  if (to - b >= 2 * L::size) {
    typename L::Vec v = *reinterpret_cast<const typename L::Unaligned*>(row + b);
    for (b += L::size; b + L::size <= to; b += L::size) {
      const typename L::Vec x = *reinterpret_cast<const typename L::Unaligned*>(row + b);
      v = x < v ? x : v;
    }
    for (int l = 0; l < L::size; ++l) least = v[l] < least ? v[l] : least;
  }
  for (; b < to; ++b) least = row[b] < least ? row[b] : least;
  return least;
}
template <class T>
T row_least_plain(const T* row, int from, int to) {
  return row_least_body(row, from, to);
}
#if MEZAN_X86_DISPATCH
template <class T>
MEZAN_TARGET_AVX2 T row_least_avx2(const T* row, int from, int to) {
  return row_least_body(row, from, to);
}
#endif
}  // namespace breakout_detail

struct BreakoutOptions {
  double jump_initial = 0.15;  // L0 = max(5, ceil(jump_initial * m)), m the free facilities
  double jump_strong = 0.4;    // a strong jump: U[jump_strong, jump_strong + 0.2) * m moves
  int stagnation = 1000;       // local optima without a new best before a strong jump
  double directed_min = 0.75;  // P0
  double recency_share = 0.3;  // Q
  double tenure_min = 0.7;     // a swapped pair is tabu for U[tenure_min, tenure_min + 0.2) * m moves
};

/// Table: the delta table the search reads and updates — PermutedDeltaTable<T> (contiguous, vectorised
/// updates) by default; DeltaTable<T> computes the same entries the plain way and serves as the tests'
/// reference (the same moves, in the same order, from the same seed).
template <class T, class Table = PermutedDeltaTable<T>>
class BreakoutSearch {
 public:
  BreakoutSearch(const Instance<T>& inst, std::vector<int> movable, std::uint64_t seed, BreakoutOptions options = {})
      : inst_(inst), table_(inst, std::move(movable)), rng_(seed), options_(options),
        swapped_(static_cast<std::size_t>(table_.size()) * table_.size(), 0) {
    const int m = table_.size();
    jump0_ = std::min(std::max(5, static_cast<int>(std::ceil(options.jump_initial * m))), std::max(1, m));
    jump_ = jump0_;
  }

  /// (Re)start from permutation p: O(m^2 n) table initialisation; the jump, the counters and the pair clock
  /// restart.
  void start(const std::vector<int>& p, StopToken* stop = nullptr) {
    p_ = p;
    cost_ = objective(inst_, p_);
    best_p_ = p_;
    best_cost_ = cost_;
    ready_ = table_.reset(p_, stop);
    std::fill(swapped_.begin(), swapped_.end(), 0);
    clock_ = 0;
    jump_ = jump0_;
    since_best_ = 0;
    have_optimum_ = false;
    strong_ = false;
  }

  /// Continue for `cycles` descent + perturbation cycles (<= 0: until stopped) or `max_moves` moves (<= 0: no
  /// cap). Returns the moves done (descent and perturbation swaps).
  std::int64_t run(StopToken& stop, Incumbent& incumbent, std::int64_t cycles = -1, std::int64_t max_moves = -1) {
    incumbent.offer(static_cast<double>(best_cost_), best_p_);
    if (table_.size() < 2 || !ready_) return 0;
    const std::int64_t begin = clock_;
    std::int64_t reported = clock_;
    for (std::int64_t c = 0; (cycles <= 0 || c < cycles) && (max_moves <= 0 || clock_ - begin < max_moves); ++c) {
      if (stop.should_stop()) break;
      descend(stop, incumbent);
      if (stop.should_stop()) break;
      adapt_jump();
      perturb(incumbent);
      if (clock_ - reported >= 256) {
        incumbent.add_iterations(clock_ - reported);
        reported = clock_;
      }
    }
    incumbent.add_iterations(clock_ - reported);
    return clock_ - begin;
  }

  const std::vector<int>& best() const { return best_p_; }
  T best_cost() const { return best_cost_; }
  const std::vector<int>& current() const { return p_; }
  T current_cost() const { return cost_; }
  int jump() const { return jump_; }

 private:
  T row_least(const T* row, int from, int to) const {
#if MEZAN_X86_DISPATCH
    if (cpu_has_avx2()) return breakout_detail::row_least_avx2(row, from, to);
#endif
    return breakout_detail::row_least_plain(row, from, to);
  }

  std::int64_t& swapped(int a, int b) { return swapped_[static_cast<std::size_t>(a) * table_.size() + b]; }

  void swap_at(int a, int b, Incumbent& incumbent) {
    const T delta = table_(a, b);
    swapped(a, b) = ++clock_;
    table_.apply_swap(p_, a, b);
    cost_ += delta;
    if (cost_ < best_cost_) {
      best_cost_ = cost_;
      best_p_ = p_;
      since_best_ = 0;
      incumbent.offer(static_cast<double>(best_cost_), best_p_);
    }
  }

  /// Steepest descent: the best improving swap until none improves.
  void descend(StopToken& stop, Incumbent& incumbent) {
    const int m = table_.size();
    for (std::int64_t done = 1;; ++done) {
      int ba = -1, bb = -1;
      T best = T(0);
      for (int a = 0; a + 1 < m; ++a) {
        const T* row = table_.row(a);
        if constexpr (!std::is_same_v<Table, DeltaTable<T>>)  // the reference (DeltaTable) keeps the plain scan
          if (!(row_least(row, a + 1, m) < best)) continue;   // most rows: read once, vectorised
        for (int b = a + 1; b < m; ++b)  // the first entry of the row's least value, as one scalar pass finds it
          if (row[b] < best) {
            best = row[b];
            ba = a;
            bb = b;
          }
      }
      if (ba < 0) break;
      swap_at(ba, bb, incumbent);
      if ((done & 63) == 0 && stop.should_stop()) break;
    }
  }

  /// The jump magnitude for the next perturbation, from where this descent ended.
  void adapt_jump() {
    const int m = table_.size();
    if (since_best_ > options_.stagnation) {  // long stagnation: a strong jump
      since_best_ = 0;
      strong_ = true;
      jump_ = std::max(1, static_cast<int>(m * (options_.jump_strong + 0.2 * rng_.uniform())));
    } else if (have_optimum_ && cost_ == optimum_cost_) {
      jump_ = std::min(jump_ + 1, m);  // back in the same attractor: jump farther
    } else {
      ++since_best_;  // another local optimum, not a better one (a new best reset the counter in swap_at)
      jump_ = jump0_;
    }
    optimum_cost_ = cost_;
    have_optimum_ = true;
  }

  void perturb(Incumbent& incumbent) {
    const double w = static_cast<double>(since_best_);
    const bool directed = rng_.uniform() < std::max(std::exp(-w / options_.stagnation), options_.directed_min);
    const T origin = cost_;  // the local optimum's cost: no move may come back to it
    const bool strong = strong_;
    strong_ = false;
    for (int k = 0; k < jump_; ++k) {
      if (strong)
        random_move(origin, incumbent);
      else if (directed)
        directed_move(origin, incumbent);
      else if (rng_.uniform() < options_.recency_share)
        recency_move(incumbent);
      else
        random_move(origin, incumbent);
    }
  }

  /// The best swap of a non-tabu pair (tabu: swapped within the last gamma moves), aspiration on a new best.
  void directed_move(T origin, Incumbent& incumbent) {
    const int m = table_.size();
    const std::int64_t tenure = static_cast<std::int64_t>(m * (options_.tenure_min + 0.2 * rng_.uniform()));
    int ba = -1, bb = -1;
    T best = std::numeric_limits<T>::max();
    for (int a = 0; a < m; ++a) {
      const T* row = table_.row(a);
      const std::int64_t* clock_row = swapped_.data() + static_cast<std::size_t>(a) * m;
      for (int b = a + 1; b < m; ++b) {
        const T d = row[b];
        if (!(d < best) || cost_ + d == origin) continue;
        const bool free = clock_row[b] == 0 || clock_row[b] + tenure < clock_;
        if (free || cost_ + d < best_cost_) {
          best = d;
          ba = a;
          bb = b;
        }
      }
    }
    if (ba < 0) {
      random_move(origin, incumbent);
      return;
    }
    swap_at(ba, bb, incumbent);
  }

  /// The pair swapped least recently (never swapped first, in index order).
  void recency_move(Incumbent& incumbent) {
    const int m = table_.size();
    int ba = 0, bb = 1;
    std::int64_t oldest = std::numeric_limits<std::int64_t>::max();
    for (int a = 0; a < m; ++a) {
      const std::int64_t* clock_row = swapped_.data() + static_cast<std::size_t>(a) * m;
      for (int b = a + 1; b < m; ++b)
        if (clock_row[b] < oldest) {
          oldest = clock_row[b];
          ba = a;
          bb = b;
        }
    }
    swap_at(ba, bb, incumbent);
  }

  /// A random pair whose swap does not come back to the local optimum's cost (a few draws, then any pair).
  void random_move(T origin, Incumbent& incumbent) {
    const int m = table_.size();
    int a = 0, b = 1;
    for (int attempt = 0; attempt < 32; ++attempt) {
      a = static_cast<int>(rng_.below(static_cast<std::uint32_t>(m)));
      b = static_cast<int>(rng_.below(static_cast<std::uint32_t>(m - 1)));
      if (b >= a) ++b;
      if (a > b) std::swap(a, b);
      if (cost_ + table_(a, b) != origin) break;
    }
    swap_at(a, b, incumbent);
  }

  const Instance<T>& inst_;
  Table table_;
  Rng rng_;
  BreakoutOptions options_;
  std::vector<std::int64_t> swapped_;  // m x m, upper triangle: the move clock when the pair was last swapped
  std::int64_t clock_ = 0;             // moves done since start()
  int jump0_ = 5, jump_ = 5;
  int since_best_ = 0;  // local optima since the last new best
  bool have_optimum_ = false;
  bool strong_ = false;  // the next perturbation is a strong jump: random moves only
  T optimum_cost_ = 0;
  std::vector<int> p_, best_p_;
  T cost_ = 0, best_cost_ = 0;
  bool ready_ = false;
};

}  // namespace mezan::qap
