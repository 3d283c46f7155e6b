// Robust tabu search (RoTS) for the QAP — Taillard, "Robust taboo search for the quadratic
// assignment problem", Parallel Computing 17 (1991) 443-455; tenure and aspiration as in Taillard's
// 2006 reference implementation.
//
// Each iteration applies the best admissible swap, even if it worsens the cost:
//  * tabu list: tabu[i][l] = the iteration until which facility i may not return to location l.
//    After moving r and s, each is forbidden to go back to its old location for a random tenure
//    t = floor(u^3 * tenure_max), u ~ U[0,1) (default tenure_max = 8n: short tenures are frequent,
//    long ones possible).
//  * a swap is authorised unless BOTH facilities would return to forbidden locations;
//  * aspiration: a swap is taken regardless of its tabu status if it yields a new best, or if one
//    of the two facilities has not occupied its target location for `aspiration` iterations
//    (default 5 n^2) — a long-term diversification that overrides the best-delta choice.
//  * if every swap is tabu and none aspires, the best swap is taken anyway.
// The delta table makes each iteration O(n^2) with no allocation.
//
// How an iteration is computed (never what it computes: reference_tabu.hpp keeps the first, plain
// version, and the tests check that both make the same moves in the same order):
//  * the scan (tabu_scan.hpp) reads the delta table and a matrix tabu_min[a][b] = min(tabu time of
//    each facility of the pair on the other's location), both rows contiguous, and takes one
//    branch-free argmin of (class, delta, pair order) — the selection rule above, pair by pair;
//  * the move (permuted_delta_table.hpp) updates the table with the distances kept permuted (BP =
//    B[p_i][p_k]), so the 2m - 3 exact recomputes run as one contiguous pass with the facilities as
//    vector lanes; then the tabu list and the 2m - 3 entries of tabu_min touching the move;
//  * integer data whose deltas provably stay within 2^28 run in 32-bit lanes (exact arithmetic modulo
//    2^32, see permuted_delta_table.hpp) with tabu times kept relative to a base iteration that moves
//    every clock_period iterations; other data run in 64-bit lanes (int64 or double);
//  * the hot loops are compiled twice, plain and AVX2, chosen once by CPU (simd.hpp).
//
// The search object is restartable: start(p) (re)initialises it from p; run() continues from the
// current state until the stop token fires or max_iter more iterations are done, offering every
// improvement of its own best to the shared Incumbent.
#pragma once
#include <algorithm>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/qap/objective.hpp"
#include "mezan/qap/permuted_delta_table.hpp"
#include "mezan/qap/tabu_scan.hpp"

namespace mezan::qap {

/// How the iterations are computed — never which moves they make (for tests and benchmarks).
struct TabuKernelOptions {
  bool simd = true;    // the AVX2 copy of the hot loops, if the CPU has AVX2
  bool narrow = true;  // integer data: 32-bit lanes when the data prove every delta fits
  std::int64_t clock_period = std::int64_t(1) << 28;  // 32-bit lanes: rebase the tabu clock this often (1..2^28)
};

struct TabuOptions {
  double tenure_max = 0;        // <= 0: 8 n
  double aspiration = 0;        // <= 0: 5 n^2
  TabuKernelOptions kernel;
};

template <class T>
class RobustTabu {
 public:
  RobustTabu(const Instance<T>& inst, std::vector<int> movable, std::uint64_t seed, TabuOptions options = {})
      : inst_(inst), movable_(movable), rng_(seed), tabu_(static_cast<std::size_t>(inst.n()) * inst.n()),
        period_(std::clamp<std::int64_t>(options.kernel.clock_period, 1, kMaxPeriod)) {
    const double n = inst.n();
    tenure_max_ = options.tenure_max > 0 ? options.tenure_max : 8.0 * n;
    aspiration_ = static_cast<std::int64_t>(options.aspiration > 0 ? options.aspiration : 5.0 * n * n);
    if constexpr (std::is_same_v<T, std::int64_t>) {
      const std::int64_t m = static_cast<std::int64_t>(movable.size());
      if (options.kernel.narrow && aspiration_ <= kMaxPeriod && m * (m + 15) < (std::int64_t(1) << 31) &&
          ring32_fits(inst))
        narrow_ = std::make_unique<Engine<std::uint32_t, std::int32_t>>(inst, std::move(movable), options.kernel.simd);
    }
    if (!narrow_) wide_ = std::make_unique<Engine<T, std::int64_t>>(inst, std::move(movable), options.kernel.simd);
  }

  /// (Re)start from permutation p: O(n^3) table initialisation, tabu list cleared. If `stop` fires
  /// during the initialisation, run() will only report p.
  void start(const std::vector<int>& p, StopToken* stop = nullptr) {
    const int n = inst_.n();
    p_ = p;
    cost_ = objective(inst_, p_);
    best_p_ = p_;
    best_cost_ = cost_;
    ready_ = narrow_ ? narrow_->table.reset(p_, stop) : wide_->table.reset(p_, stop);
    // Distinct negative values: nothing is tabu, nothing aspires by age at the start.
    for (int i = 0; i < n; ++i)
      for (int l = 0; l < n; ++l) tabu_[static_cast<std::size_t>(i) * n + l] = -(static_cast<std::int64_t>(n) * i + l);
    iteration_ = 0;
    if (narrow_)
      rebuild_tabu_min(*narrow_, 0);
    else
      rebuild_tabu_min(*wide_, 0);
  }

  /// Continue the search. Returns the number of iterations done by this call.
  std::int64_t run(StopToken& stop, Incumbent& incumbent, std::int64_t max_iter = -1) {
    return narrow_ ? run_on(*narrow_, stop, incumbent, max_iter) : run_on(*wide_, stop, incumbent, max_iter);
  }

  const std::vector<int>& best() const { return best_p_; }
  T best_cost() const { return best_cost_; }
  const std::vector<int>& current() const { return p_; }
  T current_cost() const { return cost_; }
  std::int64_t iteration() const { return iteration_; }
  /// Which kernel runs: "int32", "int64" or "double" lanes, "+avx2" if the AVX2 copy.
  std::string kernel() const {
    const bool simd = narrow_ ? narrow_->table.simd() : wide_->table.simd();
    const char* lanes = narrow_ ? "int32" : std::is_same_v<T, double> ? "double" : "int64";
    return std::string(lanes) + (simd ? "+avx2" : "");
  }

 private:
  /// Largest period of the 32-bit tabu clock and largest aspiration it allows (see rebuild_tabu_min).
  static constexpr std::int64_t kMaxPeriod = std::int64_t(1) << 28;

  /// The delta table and tabu_min[a][b] (same layout) in one lane width: S the table's values, C the
  /// tabu times'. C = int32: times relative to `base`, clamped to [lo, hi]; C = int64: absolute.
  template <class S, class C>
  struct Engine {
    Engine(const Instance<T>& inst, std::vector<int> movable, bool simd)
        : table(inst, std::move(movable), simd),
          tabu_min(static_cast<std::size_t>(table.size()) * table.stride(), std::numeric_limits<C>::max()) {}
    PermutedDeltaTable<S> table;
    std::vector<C> tabu_min;  // padding: C's max (never authorised, never aspired)
    std::int64_t base = 0, lo = std::numeric_limits<C>::min(), hi = std::numeric_limits<C>::max();
    C clock(std::int64_t t) const { return static_cast<C>(std::clamp(t - base, lo, hi)); }
  };

  /// min(tabu time of u on v's location, of v on u's) for movable facilities u, v.
  std::int64_t pair_tabu(int u, int v) const {
    const std::size_t n = static_cast<std::size_t>(inst_.n());
    return std::min(tabu_[u * n + p_[v]], tabu_[v * n + p_[u]]);
  }

  /// Recompute all of tabu_min with the clock based at `base`. For 32-bit times the stored value is
  /// t - base clamped to [-(aspiration + 1), 2^30]. While base <= it <= base + period (period <= 2^28),
  /// that changes no comparison: a time below the range is < it and < it - aspiration both before and
  /// after clamping; one above it is > it + ... and fails both, clamped or not.
  template <class S, class C>
  void rebuild_tabu_min(Engine<S, C>& e, std::int64_t base) {
    if constexpr (std::is_same_v<C, std::int32_t>) {
      e.base = base;
      e.lo = -(aspiration_ + 1);
      e.hi = std::int64_t(1) << 30;
    }
    const int m = e.table.size(), stride = e.table.stride();
    for (int a = 0; a < m; ++a)
      for (int b = a + 1; b < m; ++b)
        e.tabu_min[static_cast<std::size_t>(a) * stride + b] = e.clock(pair_tabu(movable_[a], movable_[b]));
  }

  /// After a move of positions a and b: the entries of tabu_min touching them.
  template <class S, class C>
  void refresh_tabu_min(Engine<S, C>& e, int a, int b) {
    const int m = e.table.size();
    const std::size_t stride = static_cast<std::size_t>(e.table.stride());
    const int r = movable_[a], s = movable_[b];
    C* tm = e.tabu_min.data();
    for (int c = 0; c < m; ++c) {
      const int u = movable_[c];
      if (c != a) tm[c < a ? c * stride + a : a * stride + c] = e.clock(pair_tabu(u, r));
      if (c != b && c != a) tm[c < b ? c * stride + b : b * stride + c] = e.clock(pair_tabu(u, s));
    }
  }

  template <class S, class C>
  std::int64_t run_on(Engine<S, C>& e, StopToken& stop, Incumbent& incumbent, std::int64_t max_iter) {
    const int n = inst_.n();
    const int m = e.table.size();
    incumbent.offer(static_cast<double>(best_cost_), best_p_);
    std::int64_t done = 0;
    if (m < 2 || !ready_) return 0;
    while (done != max_iter && !stop.should_stop()) {
      ++iteration_;
      const std::int64_t it = iteration_;
      ScanChoice choice;
      if constexpr (std::is_same_v<C, std::int32_t>) {
        if (it - e.base > period_) rebuild_tabu_min(e, it);
        const std::int64_t improve = std::max<std::int64_t>(best_cost_ - cost_, std::numeric_limits<std::int32_t>::min());
        const Scan32 q{e.table.row(0), e.tabu_min.data(), m, e.table.stride(), static_cast<std::int32_t>(it - e.base),
                       static_cast<std::int32_t>(it - aspiration_ - e.base), static_cast<std::int32_t>(improve)};
        choice = scan32(q, e.table.simd());
      } else {
        const Scan64<S> q{e.table.row(0), e.tabu_min.data(), m, e.table.stride(), it, it - aspiration_, cost_, best_cost_};
        choice = scan64(q, e.table.simd());
      }
      const int r = movable_[choice.a], s = movable_[choice.b];
      const int old_pr = p_[r], old_ps = p_[s];
      const T delta = static_cast<T>(e.table(choice.a, choice.b));
      e.table.apply_swap(p_, choice.a, choice.b);
      cost_ += delta;
      tabu_[static_cast<std::size_t>(r) * n + old_pr] = it + tenure();
      tabu_[static_cast<std::size_t>(s) * n + old_ps] = it + tenure();
      refresh_tabu_min(e, choice.a, choice.b);
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

  std::int64_t tenure() {
    const double u = rng_.uniform();
    return static_cast<std::int64_t>(u * u * u * tenure_max_);
  }

  const Instance<T>& inst_;
  std::vector<int> movable_;
  std::unique_ptr<Engine<std::uint32_t, std::int32_t>> narrow_;  // integer data in 32-bit lanes, or
  std::unique_ptr<Engine<T, std::int64_t>> wide_;                 // every other case
  Rng rng_;
  std::vector<std::int64_t> tabu_;  // tabu_[i * n + l]: iteration until which facility i may not return to l
  std::int64_t period_;
  double tenure_max_;
  std::int64_t aspiration_;
  std::vector<int> p_, best_p_;
  T cost_ = 0, best_cost_ = 0;
  std::int64_t iteration_ = 0;
  bool ready_ = false;  // the delta table is complete
};

}  // namespace mezan::qap
