// Exact QAP by depth-first branch and bound with Gilmore–Lawler bounds (Gilmore 1962, Lawler 1963;
// the single-assignment scheme surveyed in Burkard, Dell'Amico & Martello, "Assignment Problems",
// SIAM 2009, ch. 7.5).
//
// Facilities are assigned one per level in a fixed order (largest total flow first: those bounds
// bite hardest). With S assigned and facility f tentatively at location l, the bound is
//   cost(S + f) + LAP_{i, k free} ( lin[i][k] + a_ii b_kk + <a_i, b_k>_- )
// where lin[i][k] = sum_{j in S+f} a_ij b_{k p_j} + a_ji b_{p_j k} is exact (kept incrementally per
// level) and <a_i, b_k>_- is the minimal scalar product of a_i's entries towards unassigned
// facilities (ascending) with b_k's entries towards free locations (descending) — a valid lower bound
// on every completion, so pruning a child whose bound reaches the incumbent never loses the optimum.
// Children are explored best bound first. A node costs O(m^4) (m children x (m^3 scalar products +
// an m^3 LAP)) with m unassigned facilities; the search is exponential in the worst case, practical
// up to n ~ 15 on instances whose GLB gap is moderate, and it stops on the stop token or a node cap
// with its incumbent and the root bound.
//
// Reduced-cost pruning: a node's bound is a LAP over the cost matrix C above, and every completion
// costs at least cost(S) + sum_i C[i][p_i] >= bound + rc(f, l) when it puts the branching facility f
// at l, where rc is C's reduced cost under the LAP's optimal duals. So a child whose parent bound plus
// its reduced cost reaches the incumbent is pruned before its own O(m^3) bound is computed, and a
// child's bound is the larger of the two (the GLB is not monotone along a branch).
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/core/lap.hpp"
#include "mezan/qap/bounds.hpp"
#include "mezan/qap/objective.hpp"

namespace mezan::qap {

struct BranchBoundReport {
  std::vector<int> permutation;  // best permutation found (the incumbent)
  double lower_bound = 0;        // proven lower bound: the optimum if `proven`, else the root GLB
  bool proven = false;           // the search tree was exhausted: permutation is optimal
  std::int64_t nodes = 0;        // nodes whose children were bounded
  StopReason reason = StopReason::none;
};

template <class T>
class BranchAndBound {
 public:
  /// fixed: empty, or location of each facility (-1 if free): fixed facilities are assigned first.
  explicit BranchAndBound(const Instance<T>& inst, std::vector<int> fixed = {})
      : inst_(inst), n_(inst.n()), fixed_(fixed.empty() ? std::vector<int>(n_, -1) : std::move(fixed)),
        p_(n_, -1), done_(n_, 0), used_(n_, 0), lin_(static_cast<std::size_t>(n_ + 1) * n_ * n_, 0.0),
        rc_(static_cast<std::size_t>(n_) * n_ * n_, 0.0), children_(static_cast<std::size_t>(n_)) {
    for (auto& level : children_) level.reserve(static_cast<std::size_t>(n_));
    order_.resize(n_);
    std::iota(order_.begin(), order_.end(), 0);
    std::vector<double> weight(n_, 0.0);
    for (int i = 0; i < n_; ++i)
      for (int j = 0; j < n_; ++j) weight[i] += std::fabs(double(inst.a(i, j))) + std::fabs(double(inst.a(j, i)));
    std::stable_sort(order_.begin(), order_.end(), [&](int x, int y) {
      if ((fixed_[x] >= 0) != (fixed_[y] >= 0)) return fixed_[x] >= 0;
      return weight[x] > weight[y];
    });
    a_sorted_.resize(n_);
    b_sorted_.resize(n_);
    for (int i = 0; i < n_; ++i) {
      for (int j = 0; j < n_; ++j)
        if (j != i) {
          a_sorted_[i].push_back(j);
          b_sorted_[i].push_back(j);
        }
      std::sort(a_sorted_[i].begin(), a_sorted_[i].end(), [&](int x, int y) { return inst.a(i, x) < inst.a(i, y); });
      std::sort(b_sorted_[i].begin(), b_sorted_[i].end(), [&](int x, int y) { return inst.b(i, x) > inst.b(i, y); });
    }
  }

  /// Search; `initial` (a permutation, or empty) seeds the incumbent. Stops on the token or after
  /// max_nodes nodes (<= 0: no cap).
  BranchBoundReport run(const std::vector<int>& initial, StopToken& stop, Incumbent& incumbent,
                        std::int64_t max_nodes = -1) {
    best_ = std::numeric_limits<double>::infinity();
    if (!initial.empty()) {
      best_p_ = initial;
      best_ = static_cast<double>(objective(inst_, initial));
      incumbent.offer(best_, best_p_);
    }
    stop_ = &stop;
    incumbent_ = &incumbent;
    max_nodes_ = max_nodes;
    nodes_ = 0;
    aborted_ = false;
    BranchBoundReport report;
    report.lower_bound = gilmore_lawler_bound(inst_);
    if (best_ > report.lower_bound + 1e-9 * std::max(1.0, std::fabs(report.lower_bound))) {
      std::vector<double> root_rc(n_);
      const double root = bound(0, 0.0, root_rc.data());
      search(0, 0.0, root, root_rc.data());
    }
    report.permutation = best_p_;
    report.nodes = nodes_;
    report.proven = !aborted_;
    if (report.proven) report.lower_bound = best_;
    report.reason = aborted_ ? (stop.stop_requested() ? stop.reason() : StopReason::iteration_limit) : StopReason::none;
    incumbent.add_iterations(nodes_);
    return report;
  }

 private:
  double* lin(int depth) { return lin_.data() + static_cast<std::size_t>(depth) * n_ * n_; }

  /// Bound of the subproblem after the current assignment (S), whose fixed cost is `cost` and
  /// whose linear terms are lin(depth). Also the exact cost when everything is assigned. When
  /// `rc` (n entries) is given and a facility is left, rc[k] is set, for each free location k, to the
  /// reduced cost of putting the next branching facility, order_[depth], at k.
  double bound(int depth, double cost, double* rc = nullptr) {
    const double* l = lin(depth);
    rows_.clear();
    cols_.clear();
    for (int i = 0; i < n_; ++i)
      if (!done_[i]) rows_.push_back(i);
    for (int k = 0; k < n_; ++k)
      if (!used_[k]) cols_.push_back(k);
    const int m = static_cast<int>(rows_.size());
    if (m == 0) return cost;
    // Filtered sorted rows: a_i towards unassigned facilities, b_k towards free locations.
    fa_.assign(static_cast<std::size_t>(m) * m, 0.0);
    fb_.assign(static_cast<std::size_t>(m) * m, 0.0);
    for (int r = 0; r < m; ++r) {
      const int i = rows_[r];
      int c = 0;
      for (int j : a_sorted_[i])
        if (!done_[j]) fa_[static_cast<std::size_t>(r) * m + c++] = static_cast<double>(inst_.a(i, j));
      const int k = cols_[r];
      c = 0;
      for (int x : b_sorted_[k])
        if (!used_[x]) fb_[static_cast<std::size_t>(r) * m + c++] = static_cast<double>(inst_.b(k, x));
    }
    cost_.resize(static_cast<std::size_t>(m) * m);
    for (int r = 0; r < m; ++r) {
      const int i = rows_[r];
      const double* a = fa_.data() + static_cast<std::size_t>(r) * m;
      for (int c = 0; c < m; ++c) {
        const int k = cols_[c];
        const double* b = fb_.data() + static_cast<std::size_t>(c) * m;
        // four partial sums: independent chains the core overlaps (one chain waits on each add)
        double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        int t = 0;
        for (; t + 4 <= m - 1; t += 4) {
          s0 += a[t] * b[t];
          s1 += a[t + 1] * b[t + 1];
          s2 += a[t + 2] * b[t + 2];
          s3 += a[t + 3] * b[t + 3];
        }
        for (; t < m - 1; ++t) s0 += a[t] * b[t];
        const double msp = (s0 + s1) + (s2 + s3);
        cost_[static_cast<std::size_t>(r) * m + c] =
            l[static_cast<std::size_t>(i) * n_ + k] + static_cast<double>(inst_.a(i, i) * inst_.b(k, k)) + msp;
      }
    }
    solve_lap(cost_.data(), m, lap_work_, lap_);  // the node's LAP, in buffers kept across nodes
    const LapResult& lap = lap_;
    if (rc) {
      const int r = static_cast<int>(std::find(rows_.begin(), rows_.end(), order_[depth]) - rows_.begin());
      for (int c = 0; c < m; ++c)
        rc[cols_[c]] = std::max(0.0, cost_[static_cast<std::size_t>(r) * m + c] - lap.row_dual[r] - lap.col_dual[c]);
    }
    return cost + lap.cost;
  }

  /// Assign facility f to location l at `depth`: the next level's linear terms and the added cost.
  double assign(int depth, int f, int l) {
    const double* from = lin(depth);
    double* to = lin(depth + 1);
    const double added = from[static_cast<std::size_t>(f) * n_ + l] + static_cast<double>(inst_.a(f, f) * inst_.b(l, l));
    std::copy(from, from + static_cast<std::size_t>(n_) * n_, to);
    for (int i = 0; i < n_; ++i) {
      if (done_[i] || i == f) continue;
      const double afi = static_cast<double>(inst_.a(f, i)), aif = static_cast<double>(inst_.a(i, f));
      double* row = to + static_cast<std::size_t>(i) * n_;
      for (int k = 0; k < n_; ++k)
        if (!used_[k] && k != l) row[k] += aif * static_cast<double>(inst_.b(k, l)) + afi * static_cast<double>(inst_.b(l, k));
    }
    p_[f] = l;
    done_[f] = 1;
    used_[l] = 1;
    return added;
  }

  void unassign(int f, int l) {
    p_[f] = -1;
    done_[f] = 0;
    used_[l] = 0;
  }

  bool pruned(double bound) const { return bound >= best_ - 1e-9 * std::max(1.0, std::fabs(best_)); }

  /// Branch on facility order_[depth]; `lower` is this node's bound and rc[l] the reduced cost of
  /// putting the facility at location l (see bound()).
  void search(int depth, double cost, double lower, const double* rc) {
    if (aborted_) return;
    if (stop_->should_stop() || (max_nodes_ > 0 && nodes_ >= max_nodes_)) {
      aborted_ = true;
      return;
    }
    ++nodes_;
    const int f = order_[depth];
    const bool leaf_next = depth + 1 == n_;
    std::vector<std::pair<double, int>>& children = children_[static_cast<std::size_t>(depth)];  // kept per depth
    children.clear();
    double* child_rc = rc_.data() + static_cast<std::size_t>(depth) * n_ * n_;  // row l: child f -> l's rc
    for (int l = 0; l < n_; ++l) {
      if (used_[l] || (fixed_[f] >= 0 && l != fixed_[f])) continue;
      const double inherited = lower + rc[l];
      if (pruned(inherited)) continue;
      const double c = cost + assign(depth, f, l);
      const double b = std::max(inherited, bound(depth + 1, c, leaf_next ? nullptr : child_rc + static_cast<std::size_t>(l) * n_));
      unassign(f, l);
      if (!pruned(b)) children.emplace_back(b, l);
    }
    std::sort(children.begin(), children.end());
    for (const auto& [b, l] : children) {
      if (pruned(b)) break;  // the incumbent may have improved meanwhile
      const double c = cost + assign(depth, f, l);
      if (leaf_next) {
        best_ = c;
        best_p_ = p_;
        incumbent_->offer(best_, best_p_);
      } else {
        search(depth + 1, c, b, child_rc + static_cast<std::size_t>(l) * n_);
      }
      unassign(f, l);
      if (aborted_) return;
    }
  }

  const Instance<T>& inst_;
  int n_;
  std::vector<int> fixed_, order_, p_, best_p_;
  std::vector<char> done_, used_;
  std::vector<std::vector<int>> a_sorted_, b_sorted_;
  std::vector<double> lin_, fa_, fb_, cost_;
  LapWorkspace lap_work_;  // the nodes' LAPs reuse these arrays: no allocation per node
  LapResult lap_;
  std::vector<double> rc_;  // per depth, per child location: the reduced costs the child's node branches with
  std::vector<std::vector<std::pair<double, int>>> children_;  // per depth: its node's (bound, location) children
  std::vector<int> rows_, cols_;
  double best_ = 0;
  StopToken* stop_ = nullptr;
  Incumbent* incumbent_ = nullptr;
  std::int64_t max_nodes_ = -1, nodes_ = 0;
  bool aborted_ = false;
};

}  // namespace mezan::qap
