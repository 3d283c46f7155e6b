// ReferenceRobustTabu: robust tabu search exactly as MEZAN first wrote it — DeltaTable (delta_table.hpp)
// updated by Taillard's formula with swap_delta() recomputing the pairs that touch a move, and a scalar
// scan reading the tabu list with a column walk. RobustTabu (tabu.hpp) must make the same moves in the
// same order for every instance, start and seed; the tests run both side by side
// (tests/test_rots_trajectory.py through mezan._core._testing). Not used by any solver.
//
// The algorithm, its options and its state are those of tabu.hpp (Taillard 1991, Taillard's 2006 tenure
// and aspiration rules); see there.
#pragma once
#include <cstdint>
#include <limits>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/qap/delta_table.hpp"
#include "mezan/qap/tabu.hpp"

namespace mezan::qap {

template <class T>
class ReferenceRobustTabu {
 public:
  ReferenceRobustTabu(const Instance<T>& inst, std::vector<int> movable, std::uint64_t seed, TabuOptions options = {})
      : inst_(inst), table_(inst, std::move(movable)), rng_(seed),
        tabu_(static_cast<std::size_t>(inst.n()) * inst.n()) {
    const double n = inst.n();
    tenure_max_ = options.tenure_max > 0 ? options.tenure_max : 8.0 * n;
    aspiration_ = static_cast<std::int64_t>(options.aspiration > 0 ? options.aspiration : 5.0 * n * n);
  }

  /// (Re)start from permutation p: O(n^3) table initialisation, tabu list cleared. If `stop` fires
  /// during the initialisation, run() will only report p.
  void start(const std::vector<int>& p, StopToken* stop = nullptr) {
    const int n = inst_.n();
    p_ = p;
    cost_ = objective(inst_, p_);
    best_p_ = p_;
    best_cost_ = cost_;
    ready_ = table_.reset(p_, stop);
    // Distinct negative values: nothing is tabu, nothing aspires by age at the start.
    for (int i = 0; i < n; ++i)
      for (int l = 0; l < n; ++l) tabu_[static_cast<std::size_t>(i) * n + l] = -(static_cast<std::int64_t>(n) * i + l);
    iteration_ = 0;
  }

  /// Continue the search. Returns the number of iterations done by this call.
  std::int64_t run(StopToken& stop, Incumbent& incumbent, std::int64_t max_iter = -1) {
    const int n = inst_.n();
    const int m = table_.size();
    const std::vector<int>& mv = table_.movable();
    incumbent.offer(static_cast<double>(best_cost_), best_p_);
    std::int64_t done = 0;
    if (m < 2 || !ready_) return 0;
    while (done != max_iter && !stop.should_stop()) {
      ++iteration_;
      const std::int64_t it = iteration_;
      const std::int64_t old = it - aspiration_;
      int ra = -1, rb = -1;
      T min_delta = std::numeric_limits<T>::max();
      bool already_aspired = false;
      int any_a = 0, any_b = 1;  // best move ignoring tabu status (used if every move is tabu)
      T any_delta = std::numeric_limits<T>::max();
      for (int a = 0; a < m; ++a) {
        const int r = mv[a];
        const std::int64_t* tabu_r = tabu_.data() + static_cast<std::size_t>(r) * n;
        const int pr = p_[r];
        const T* drow = table_.row(a);
        for (int b = a + 1; b < m; ++b) {
          const int s = mv[b];
          const T delta = drow[b];
          const std::int64_t t_r = tabu_r[p_[s]];
          const std::int64_t t_s = tabu_[static_cast<std::size_t>(s) * n + pr];
          const bool authorised = t_r < it || t_s < it;
          const bool aspired = t_r < old || t_s < old || cost_ + delta < best_cost_;
          if ((aspired && (!already_aspired || delta < min_delta)) ||
              (!aspired && !already_aspired && authorised && delta < min_delta)) {
            ra = a;
            rb = b;
            min_delta = delta;
            if (aspired) already_aspired = true;
          }
          if (delta < any_delta) {
            any_delta = delta;
            any_a = a;
            any_b = b;
          }
        }
      }
      if (ra < 0) {  // every move tabu and none aspired: take the best one anyway
        ra = any_a;
        rb = any_b;
        min_delta = any_delta;
      }
      const int r = mv[ra], s = mv[rb];
      const int old_pr = p_[r], old_ps = p_[s];
      table_.apply_swap(p_, ra, rb);
      cost_ += min_delta;
      tabu_[static_cast<std::size_t>(r) * n + old_pr] = it + tenure();
      tabu_[static_cast<std::size_t>(s) * n + old_ps] = it + tenure();
      ++done;
      if (cost_ < best_cost_) {
        best_cost_ = cost_;
        best_p_ = p_;
        incumbent.offer(static_cast<double>(best_cost_), best_p_);
      }
      if ((done & 255) == 0) incumbent.add_iterations(256);
    }
    incumbent.add_iterations(done & 255);
    return done;
  }

  const std::vector<int>& best() const { return best_p_; }
  T best_cost() const { return best_cost_; }
  const std::vector<int>& current() const { return p_; }
  T current_cost() const { return cost_; }
  std::int64_t iteration() const { return iteration_; }

 private:
  std::int64_t tenure() {
    const double u = rng_.uniform();
    return static_cast<std::int64_t>(u * u * u * tenure_max_);
  }

  const Instance<T>& inst_;
  DeltaTable<T> table_;
  Rng rng_;
  std::vector<std::int64_t> tabu_;
  double tenure_max_;
  std::int64_t aspiration_;
  std::vector<int> p_, best_p_;
  T cost_ = 0, best_cost_ = 0;
  std::int64_t iteration_ = 0;
  bool ready_ = false;  // the delta table is complete
};

}  // namespace mezan::qap
