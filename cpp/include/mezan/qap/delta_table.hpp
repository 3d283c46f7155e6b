// DeltaTable: the swap delta of every pair of movable facilities, kept exact after each move.
//
// After exchanging the locations of r and s (p -> p'), a pair (u, v) disjoint from {r, s} changes by
// (Taillard 1991, "Robust taboo search for the QAP", Parallel Computing 17):
//   Delta(p',u,v) = Delta(p,u,v) + (x_u - x_v)(y_u - y_v) + (x'_u - x'_v)(y'_u - y'_v)
// with x_u = a_ru - a_su, y_u = b_{p'_s p'_u} - b_{p'_r p'_u}, x'_u = a_ur - a_us,
// y'_u = b_{p'_u p'_s} - b_{p'_u p'_r}. For symmetric instances the two products are equal, so one
// is computed and doubled. x, y are gathered once per move into contiguous scratch vectors, so the
// O(1)-per-pair update is a branch-free, vectorisable loop; the 2m - 3 pairs touching r or s are
// recomputed in O(n) each. A move therefore costs O(n^2) and allocates nothing.
//
// Only facilities listed in `movable` may move (the others are fixed, e.g. by a partial match);
// pairs are indexed by positions in that list, a < b, stored in an m x m row-major table.
#pragma once
#include <vector>

#include "mezan/core/stop_token.hpp"
#include "mezan/qap/objective.hpp"

namespace mezan::qap {

template <class T>
class DeltaTable {
 public:
  DeltaTable(const Instance<T>& inst, std::vector<int> movable)
      : inst_(inst), movable_(std::move(movable)), m_(static_cast<int>(movable_.size())),
        d_(static_cast<std::size_t>(m_) * m_, T(0)), x_(m_), y_(m_), x2_(m_), y2_(m_) {}

  int size() const { return m_; }
  const std::vector<int>& movable() const { return movable_; }

  /// Recompute every entry for permutation p: O(m^2 n), the swap_delta formula evaluated on
  /// permuted copies of B (row i of bp holds b_{p_i p_k}, of bpt b_{p_k p_i}) so that the inner
  /// loops are contiguous. Checks `stop` once per row and returns false if it fired (the table is
  /// then incomplete and must not be used).
  bool reset(const std::vector<int>& p, StopToken* stop = nullptr) {
    const int n = inst_.n();
    const bool sym = inst_.symmetric();
    std::vector<T> bp(static_cast<std::size_t>(n) * n), bpt(sym ? 0 : bp.size());
    for (int i = 0; i < n; ++i) {
      const T* brow = inst_.b_row(p[i]);
      T* out = bp.data() + static_cast<std::size_t>(i) * n;
      for (int k = 0; k < n; ++k) out[k] = brow[p[k]];
    }
    if (!sym)
      for (int i = 0; i < n; ++i)
        for (int k = 0; k < n; ++k) bpt[static_cast<std::size_t>(k) * n + i] = bp[static_cast<std::size_t>(i) * n + k];
    for (int a = 0; a < m_; ++a) {
      if (stop && stop->should_stop()) return false;
      const int r = movable_[a];
      const T* ar = inst_.a_row(r);
      const T* bpr = bp.data() + static_cast<std::size_t>(r) * n;
      for (int b = a + 1; b < m_; ++b) {
        const int s = movable_[b];
        const T* as = inst_.a_row(s);
        const T* bps = bp.data() + static_cast<std::size_t>(s) * n;
        T sum = 0;
        if (sym) {  // 2 sum_{k != r,s} (a_rk - a_sk)(b_{p_s p_k} - b_{p_r p_k}) + diagonal term
          for (int k = 0; k < n; ++k) sum += (ar[k] - as[k]) * (bps[k] - bpr[k]);
          sum -= (ar[r] - as[r]) * (bps[r] - bpr[r]) + (ar[s] - as[s]) * (bps[s] - bpr[s]);
          at(a, b) = 2 * sum + (ar[r] - as[s]) * (bps[s] - bpr[r]);
          continue;
        }
        const T* atr = inst_.at_row(r);
        const T* ats = inst_.at_row(s);
        const T* btr = bpt.data() + static_cast<std::size_t>(r) * n;
        const T* bts = bpt.data() + static_cast<std::size_t>(s) * n;
        for (int k = 0; k < n; ++k) sum += (atr[k] - ats[k]) * (bts[k] - btr[k]) + (ar[k] - as[k]) * (bps[k] - bpr[k]);
        sum -= (atr[r] - ats[r]) * (bts[r] - btr[r]) + (ar[r] - as[r]) * (bps[r] - bpr[r]);
        sum -= (atr[s] - ats[s]) * (bts[s] - btr[s]) + (ar[s] - as[s]) * (bps[s] - bpr[s]);
        at(a, b) = sum + (ar[r] - as[s]) * (bps[s] - bpr[r]) + (ar[s] - as[r]) * (bps[r] - bpr[s]);
      }
    }
    return true;
  }

  /// Delta of exchanging movable facilities a < b (positions in movable()).
  T operator()(int a, int b) const { return d_[static_cast<std::size_t>(a) * m_ + b]; }
  const T* row(int a) const { return d_.data() + static_cast<std::size_t>(a) * m_; }

  /// Exchange the locations of movable facilities a < b in p and bring every entry up to date.
  void apply_swap(std::vector<int>& p, int a, int b) {
    const int r = movable_[a], s = movable_[b];
    std::swap(p[r], p[s]);
    const int pr = p[r], ps = p[s];
    const T* ar = inst_.a_row(r);
    const T* as = inst_.a_row(s);
    const T* br = inst_.b_row(pr);
    const T* bs = inst_.b_row(ps);
    const bool sym = inst_.symmetric();
    for (int c = 0; c < m_; ++c) {
      const int u = movable_[c];
      const int pu = p[u];
      x_[c] = sym ? 2 * (ar[u] - as[u]) : ar[u] - as[u];
      y_[c] = bs[pu] - br[pu];
    }
    if (!sym) {
      const T* atr = inst_.at_row(r);
      const T* ats = inst_.at_row(s);
      const T* btr = inst_.bt_row(pr);
      const T* bts = inst_.bt_row(ps);
      for (int c = 0; c < m_; ++c) {
        const int u = movable_[c];
        const int pu = p[u];
        x2_[c] = atr[u] - ats[u];
        y2_[c] = bts[pu] - btr[pu];
      }
    }
    const T* x = x_.data();
    const T* y = y_.data();
    const T* x2 = x2_.data();
    const T* y2 = y2_.data();
    for (int u = 0; u < m_; ++u) {
      T* du = d_.data() + static_cast<std::size_t>(u) * m_;
      const T xu = x[u], yu = y[u];
      if (sym) {
        for (int v = u + 1; v < m_; ++v) du[v] += (xu - x[v]) * (yu - y[v]);
      } else {
        const T x2u = x2[u], y2u = y2[u];
        for (int v = u + 1; v < m_; ++v) du[v] += (xu - x[v]) * (yu - y[v]) + (x2u - x2[v]) * (y2u - y2[v]);
      }
    }
    // Pairs touching a or b were updated with a wrong formula above: recompute them exactly.
    for (int c = 0; c < m_; ++c) {
      if (c != a) set(c, a, p);
      if (c != b) set(c, b, p);
    }
  }

 private:
  T& at(int a, int b) { return d_[static_cast<std::size_t>(a) * m_ + b]; }
  void set(int c, int e, const std::vector<int>& p) {
    if (c < e)
      at(c, e) = swap_delta(inst_, p, movable_[c], movable_[e]);
    else
      at(e, c) = swap_delta(inst_, p, movable_[e], movable_[c]);
  }

  const Instance<T>& inst_;
  std::vector<int> movable_;
  int m_;
  std::vector<T> d_;
  std::vector<T> x_, y_, x2_, y2_;
};

}  // namespace mezan::qap
