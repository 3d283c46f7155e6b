// PermutedDeltaTable: the swap delta of every pair of movable facilities, kept exact after each move,
// with the flow/distance data laid out so that every loop of a move is contiguous and vectorisable.
// It computes exactly what DeltaTable (delta_table.hpp) computes — the same entries, by the same
// formulas, with the same floating-point operations in the same order — only faster. RobustTabu
// (tabu.hpp) and BreakoutSearch (breakout.hpp) run on it; DeltaTable stays the plain reference (and
// serves local search).
//
// A move (exchange the locations of movable facilities r = movable[a], s = movable[b]) costs O(n^2):
//  1. Permuted distances. BP[i][k] = B[p_i][p_k] (row i: the distances seen from facility i's location,
//     indexed by facility) and, for asymmetric data, its transpose BPT. Exchanging p_r and p_s exchanges
//     rows r, s and columns r, s of BP (and BPT): O(n). With BP, B[p_u][p_k] is BP[u][k] — no gather
//     through p anywhere below.
//  2. Taillard's O(1) update of each pair {u, v} disjoint from {r, s} (Taillard 1991, see delta_table.hpp):
//     d_uv += (x_u - x_v)(y_u - y_v) [+ (x'_u - x'_v)(y'_u - y'_v)], x and y gathered once per move into
//     contiguous vectors (y_u = BP[s][u] - BP[r][u], a row difference of BP). Elementwise: vectorised.
//  3. The 2m - 3 pairs touching r or s, recomputed exactly as swap_delta would. swap_delta(p, u, r) is
//     a sum over k of (A[u][k] - A[r][k]) (BP[r][k] - BP[u][k]) (plus a transposed term if asymmetric),
//     taken in the order k = 0..n-1, then O(1) corrections. Instead of one O(n) loop per pair, both
//     moved facilities are done in one pass over k with the facilities u as the vector lanes:
//         acc_r[u] += (A[k][u] - A[r][k]) (BP[r][k] - BP[k][u])       (symmetric: A[k][u] = A[u][k])
//     reads row k of A and of BP, contiguous in u, and keeps each lane's sum in k order, so even the
//     floating-point sums are the reference's, bit for bit (no reassociation, no FMA). When the
//     reference evaluates a pair with r first (u after r), the lane uses r first too: (A[r][k] - A[k][u])
//     (BP[k][u] - BP[r][k]) — the same product, to the sign of a zero. The O(1) corrections follow
//     swap_delta term by term (finish()).
//
// Storage type S. Real data: S = double. Integer data: S = std::uint32_t when the data allow it, else
// std::int64_t. With uint32_t every value is kept modulo 2^32 and all arithmetic (+, -, *) is done
// modulo 2^32 — a ring homomorphism of the integers, so each computed delta is the true delta modulo
// 2^32, whatever the intermediate values. If every true delta lies in (-2^31, 2^31), the 32-bit
// pattern read as int32 IS the true delta: exact. ring32_fits() proves that bound from the data once:
// |Delta| <= 4 n max|A| (max B - min B) (a swap changes at most 4n terms a_ij b_.., each by at most
// max|a| times the range of B) and symmetrically 4 n (max A - min A) max|B|; it asks for 2^28, which
// leaves the tabu scan room for its class offsets (tabu_scan.hpp). Eight 32-bit lanes per AVX2
// register instead of four 64-bit ones, and no 64-bit multiply (which AVX2 lacks).
//
// Memory: A (and A^T), B, BP (and BPT) in S, the m x stride table, O(n) scratch — O(n^2); nothing is
// allocated per move. Rows of the table are padded to stride >= m + 7 (a multiple of 8) so that an
// 8-lane scan may read past the last column of any row; the padding holds pad() and is never written.
// Only facilities listed in `movable` (ascending, as movable_facilities() returns) may move; pairs are
// indexed by positions in that list, a < b.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <type_traits>
#include <utility>
#include <vector>

#include "mezan/core/stop_token.hpp"
#include "mezan/qap/instance.hpp"
#include "mezan/qap/simd.hpp"

namespace mezan::qap {

/// True if the 32-bit ring storage is exact for this integer instance: every swap delta is bounded
/// by 2^28 in absolute value (see the header comment).
inline bool ring32_fits(const Instance<std::int64_t>& inst) {
  const int n = inst.n();
  auto stats = [](const std::vector<std::int64_t>& v) {
    double lo = static_cast<double>(v[0]), hi = lo, amax = 0;
    for (std::int64_t x : v) {
      lo = std::min(lo, static_cast<double>(x));
      hi = std::max(hi, static_cast<double>(x));
      amax = std::max(amax, std::abs(static_cast<double>(x)));
    }
    return std::pair<double, double>{amax, hi - lo};
  };
  const auto [amax_a, range_a] = stats(inst.a_data());
  const auto [amax_b, range_b] = stats(inst.b_data());
  const double bound = 4.0 * n * std::min(amax_a * range_b, range_a * amax_b);  // |Delta| <= bound
  return bound <= static_cast<double>(1 << 28);
}

template <class S>
class PermutedDeltaTable {
  static_assert(std::is_same_v<S, std::uint32_t> || std::is_same_v<S, std::int64_t> || std::is_same_v<S, double>,
                "PermutedDeltaTable<S>: S is std::uint32_t (integers mod 2^32), std::int64_t or double");

 public:
  static constexpr bool kRing32 = std::is_same_v<S, std::uint32_t>;
  /// What an entry means: the 32-bit ring's entries are int32 deltas.
  using Delta = std::conditional_t<kRing32, std::int32_t, S>;

  /// The value of the padding columns: in the 32-bit ring a delta larger than any real one (|d| <= 2^28),
  /// so that a padded lane never wins the scan; elsewhere 0 (the 64-bit scans mask the padding out).
  static constexpr S pad() { return kRing32 ? S((1u << 29) - 1) : S(0); }

  /// inst's value type T must be int64_t (for S = uint32_t, only if ring32_fits(inst)) or S itself.
  /// simd: use the AVX2 copy of the loops when the CPU has it.
  template <class T>
  PermutedDeltaTable(const Instance<T>& inst, std::vector<int> movable, bool simd = true)
      : n_(inst.n()), m_(static_cast<int>(movable.size())), stride_(((m_ + 7) + 7) / 8 * 8),
        sym_(inst.symmetric()), simd_(simd && cpu_has_avx2()), movable_(std::move(movable)),
        a_(convert(inst.a_data())), b_(convert(inst.b_data())), at_(sym_ ? std::vector<S>() : transpose(a_)),
        bp_(a_.size()), bpt_(sym_ ? 0 : a_.size()), d_(static_cast<std::size_t>(m_) * stride_, S(0)),
        x_(padded(m_)), y_(padded(m_)), x2_(padded(m_)), y2_(padded(m_)), acc_r_(n_), acc_s_(n_) {
    static_assert(std::is_same_v<T, S> || (kRing32 && std::is_same_v<T, std::int64_t>),
                  "PermutedDeltaTable<S>(Instance<T>): T must be S, or int64_t for the 32-bit ring");
    all_movable_ = m_ == n_;
    for (int c = 0; c < m_ && all_movable_; ++c) all_movable_ = movable_[c] == c;
    for (int a = 0; a < m_; ++a) std::fill(d_.begin() + row_offset(a) + m_, d_.begin() + row_offset(a + 1), pad());
  }

  int size() const { return m_; }
  /// Distance between the starts of two rows of the table (>= m + 7, a multiple of 8).
  int stride() const { return stride_; }
  const std::vector<int>& movable() const { return movable_; }
  bool simd() const { return simd_; }

  /// Delta of exchanging movable facilities a < b (positions in movable()).
  Delta operator()(int a, int b) const { return static_cast<Delta>(d_[row_offset(a) + b]); }
  /// Row a of the table: entries (a, b) for a < b < size(), then padding up to stride().
  const S* row(int a) const { return d_.data() + row_offset(a); }

  /// Recompute every entry for permutation p: O(m^2 n), DeltaTable::reset's loops on the same permuted
  /// matrices. Checks `stop` once per row and returns false if it fired (the table is then incomplete).
  bool reset(const std::vector<int>& p, StopToken* stop = nullptr) {
    const int n = n_;
    for (int i = 0; i < n; ++i) {
      const S* brow = b_.data() + at(p[i], 0);
      S* out = bp_.data() + at(i, 0);
      for (int k = 0; k < n; ++k) out[k] = brow[p[k]];
    }
    if (!sym_)
      for (int i = 0; i < n; ++i)
        for (int k = 0; k < n; ++k) bpt_[at(k, i)] = bp_[at(i, k)];
    const S* at_data = sym_ ? a_.data() : at_.data();
    const S* bpt_data = sym_ ? bp_.data() : bpt_.data();
    for (int a = 0; a < m_; ++a) {
      if (stop && stop->should_stop()) return false;
      const int r = movable_[a];
      const S* ar = a_.data() + at(r, 0);
      const S* bpr = bp_.data() + at(r, 0);
      const S* atr = at_data + at(r, 0);
      const S* btr = bpt_data + at(r, 0);
      for (int b = a + 1; b < m_; ++b) {
        const int s = movable_[b];
        const S* as = a_.data() + at(s, 0);
        const S* bps = bp_.data() + at(s, 0);
        S sum = 0;
        if (sym_) {
          for (int k = 0; k < n; ++k) sum += (ar[k] - as[k]) * (bps[k] - bpr[k]);
          sum -= (ar[r] - as[r]) * (bps[r] - bpr[r]) + (ar[s] - as[s]) * (bps[s] - bpr[s]);
          d_[row_offset(a) + b] = 2 * sum + (ar[r] - as[s]) * (bps[s] - bpr[r]);
          continue;
        }
        const S* ats = at_data + at(s, 0);
        const S* bts = bpt_data + at(s, 0);
        for (int k = 0; k < n; ++k) sum += (atr[k] - ats[k]) * (bts[k] - btr[k]) + (ar[k] - as[k]) * (bps[k] - bpr[k]);
        sum -= (atr[r] - ats[r]) * (bts[r] - btr[r]) + (ar[r] - as[r]) * (bps[r] - bpr[r]);
        sum -= (atr[s] - ats[s]) * (bts[s] - btr[s]) + (ar[s] - as[s]) * (bps[s] - bpr[s]);
        d_[row_offset(a) + b] = sum + (ar[r] - as[s]) * (bps[s] - bpr[r]) + (ar[s] - as[r]) * (bps[r] - bpr[s]);
      }
    }
    return true;
  }

  /// Exchange the locations of movable facilities a < b in p and bring every entry up to date.
  void apply_swap(std::vector<int>& p, int a, int b) {
#if MEZAN_X86_DISPATCH
    if (simd_) return apply_swap_avx2(p, a, b);
#endif
    apply_swap_plain(p, a, b);
  }

 private:
  static std::size_t padded(int m) { return static_cast<std::size_t>(m + 7) / 8 * 8; }
  std::size_t at(int i, int k) const { return static_cast<std::size_t>(i) * n_ + k; }
  std::size_t row_offset(int a) const { return static_cast<std::size_t>(a) * stride_; }

  template <class T>
  static std::vector<S> convert(const std::vector<T>& v) {
    std::vector<S> out(v.size());
    for (std::size_t k = 0; k < v.size(); ++k) out[k] = static_cast<S>(v[k]);  // int64 -> uint32: mod 2^32
    return out;
  }
  std::vector<S> transpose(const std::vector<S>& m) const {
    std::vector<S> t(m.size());
    for (int i = 0; i < n_; ++i)
      for (int k = 0; k < n_; ++k) t[at(k, i)] = m[at(i, k)];
    return t;
  }

  void apply_swap_plain(std::vector<int>& p, int a, int b) { apply_swap_body(p, a, b); }
#if MEZAN_X86_DISPATCH
  MEZAN_TARGET_AVX2 void apply_swap_avx2(std::vector<int>& p, int a, int b) { apply_swap_body(p, a, b); }
#endif

  MEZAN_ALWAYS_INLINE void apply_swap_body(std::vector<int>& p, int a, int b) {
    const int r = movable_[a], s = movable_[b];
    std::swap(p[r], p[s]);
    swap_rows_and_columns(bp_.data(), r, s);
    if (!sym_) swap_rows_and_columns(bpt_.data(), r, s);
    gather_xy(r, s);
    if (sym_)
      taillard_update<true>();
    else
      taillard_update<false>();
    // Pairs touching a or b got a wrong update above: recompute them exactly.
    accumulate_touching(r, s);
    for (int c = 0; c < m_; ++c) {
      const int u = movable_[c];
      if (c != a) d_[c < a ? row_offset(c) + a : row_offset(a) + c] = c < a ? finish(u, r, acc_r_[u]) : finish(r, u, acc_r_[u]);
      if (c != b && c != a)
        d_[c < b ? row_offset(c) + b : row_offset(b) + c] = c < b ? finish(u, s, acc_s_[u]) : finish(s, u, acc_s_[u]);
    }
  }

  /// BP[i][k] = B[p_i][p_k] after p_r and p_s were exchanged: exchange rows r, s and columns r, s.
  MEZAN_ALWAYS_INLINE void swap_rows_and_columns(S* m, int r, int s) {
    std::swap_ranges(m + at(r, 0), m + at(r, 0) + n_, m + at(s, 0));
    for (int i = 0; i < n_; ++i) std::swap(m[at(i, r)], m[at(i, s)]);
  }

  /// x_c = a_ru - a_su (doubled if symmetric), y_c = b_{p_s p_u} - b_{p_r p_u} = BP[s][u] - BP[r][u] for
  /// u = movable[c]; x2, y2 the transposed counterparts (asymmetric only). Same expressions as DeltaTable.
  MEZAN_ALWAYS_INLINE void gather_xy(int r, int s) {
    const S* ar = a_.data() + at(r, 0);
    const S* as = a_.data() + at(s, 0);
    const S* br = bp_.data() + at(r, 0);
    const S* bs = bp_.data() + at(s, 0);
    S* __restrict x = x_.data();
    S* __restrict y = y_.data();
    const int m = m_;
    const int* mv = movable_.data();
    if (all_movable_) {  // contiguous
      if (sym_)
        for (int c = 0; c < m; ++c) x[c] = 2 * (ar[c] - as[c]);
      else
        for (int c = 0; c < m; ++c) x[c] = ar[c] - as[c];
      for (int c = 0; c < m; ++c) y[c] = bs[c] - br[c];
    } else {
      for (int c = 0; c < m; ++c) {
        const int u = mv[c];
        x[c] = sym_ ? 2 * (ar[u] - as[u]) : ar[u] - as[u];
        y[c] = bs[u] - br[u];
      }
    }
    if (sym_) return;
    const S* atr = at_.data() + at(r, 0);
    const S* ats = at_.data() + at(s, 0);
    const S* btr = bpt_.data() + at(r, 0);
    const S* bts = bpt_.data() + at(s, 0);
    S* __restrict x2 = x2_.data();
    S* __restrict y2 = y2_.data();
    if (all_movable_) {
      for (int c = 0; c < m; ++c) x2[c] = atr[c] - ats[c];
      for (int c = 0; c < m; ++c) y2[c] = bts[c] - btr[c];
    } else {
      for (int c = 0; c < m; ++c) {
        const int u = mv[c];
        x2[c] = atr[u] - ats[u];
        y2[c] = bts[u] - btr[u];
      }
    }
  }

  /// d_uv += (x_u - x_v)(y_u - y_v) [+ (x2_u - x2_v)(y2_u - y2_v)] for every pair u < v (Taillard). Each row
  /// is done in whole vectors (simd.hpp's Lanes: 8 or 4 lanes) from the one holding u + 1 (x, y are
  /// zero-padded to a multiple of 8):
  /// no scalar prologue or epilogue per row. The first and last blocks keep the entries v <= u and v >= m
  /// unchanged (a select, not a branch), so the padding keeps its value.
  template <bool Sym>
  MEZAN_ALWAYS_INLINE void taillard_update() {
    const S* x = x_.data();
    const S* y = y_.data();
    const S* x2 = x2_.data();
    const S* y2 = y2_.data();
    S* const d = d_.data();
    const int m = m_;
    const std::size_t stride = static_cast<std::size_t>(stride_);
    using L = Lanes<S>;
    using V = typename L::Vec;
    using U = typename L::Unaligned;
    constexpr int width = L::size;
    typename L::Mask lane;
    for (int l = 0; l < width; ++l) lane[l] = l;
    for (int u = 0; u + 1 < m; ++u) {
      S* du = d + u * stride;
      const S xu = x[u], yu = y[u];
      const S x2u = Sym ? S(0) : x2[u], y2u = Sym ? S(0) : y2[u];
      for (int v = (u + 1) / width * width; v < m; v += width) {
        V change = (xu - *reinterpret_cast<const U*>(x + v)) * (yu - *reinterpret_cast<const U*>(y + v));
        if constexpr (!Sym) change += (x2u - *reinterpret_cast<const U*>(x2 + v)) * (y2u - *reinterpret_cast<const U*>(y2 + v));
        const V old = *reinterpret_cast<const U*>(du + v);
        V next = old + change;
        if (v <= u || v + width > m) {
          const auto index = lane + static_cast<typename L::Int>(v);
          next = (index > u) & (index < m) ? next : old;
        }
        *reinterpret_cast<U*>(du + v) = next;
      }
    }
  }

  /// acc_r[u], acc_s[u]: the main sums of swap_delta for the pairs {u, r} and {u, s}, every u at once (the
  /// lanes), k = 0..n-1 in order. For real data the lanes after r (after s) evaluate the pair with r (s)
  /// first, as the reference does; integers need no such care (exact), so one segment does.
  MEZAN_ALWAYS_INLINE void accumulate_touching(int r, int s) {
    const int lo = std::min(r, s), hi = std::max(r, s);
    if constexpr (std::is_floating_point_v<S>) {
      // u < lo: u first for both; lo <= u < hi: first-moved first for its own pair; u >= hi: both flipped.
      const bool r_first = r < s;
      if (sym_) {
        accumulate<true, false, false>(r, s, 0, lo);
        if (r_first) accumulate<true, true, false>(r, s, lo, hi); else accumulate<true, false, true>(r, s, lo, hi);
        accumulate<true, true, true>(r, s, hi, n_);
      } else {
        accumulate<false, false, false>(r, s, 0, lo);
        if (r_first) accumulate<false, true, false>(r, s, lo, hi); else accumulate<false, false, true>(r, s, lo, hi);
        accumulate<false, true, true>(r, s, hi, n_);
      }
    } else {
      (void)lo;
      (void)hi;
      if (sym_)
        accumulate<true, false, false>(r, s, 0, n_);
      else
        accumulate<false, false, false>(r, s, 0, n_);
    }
  }

  /// Lanes u in [lo, hi). FlipR: the pair {u, r} is evaluated as swap_delta(p, r, u) (r first), else
  /// swap_delta(p, u, r); FlipS likewise. Four k at a time per pass over u (each lane still adds its
  /// terms in k order), so the accumulators are loaded and stored once per four rows.
  template <bool Sym, bool FlipR, bool FlipS>
  MEZAN_ALWAYS_INLINE void accumulate(int r, int s, int lo, int hi) {
    if (lo >= hi) return;
    const int n = n_;
    S* __restrict accr = acc_r_.data();
    S* __restrict accs = acc_s_.data();
    for (int u = lo; u < hi; ++u) accr[u] = accs[u] = S(0);
    const S* A = a_.data();
    const S* AT = Sym ? a_.data() : at_.data();
    const S* P = bp_.data();
    const S* PT = Sym ? bp_.data() : bpt_.data();
    // A[r][k] = A(r,k); AT[r][k] = A[k][r]; BP[r][k]; BPT[r][k] = BP[k][r]: rows r and s of each.
    const S* ar = A + at(r, 0);
    const S* as = A + at(s, 0);
    const S* atr = AT + at(r, 0);
    const S* ats = AT + at(s, 0);
    const S* pr = P + at(r, 0);
    const S* ps = P + at(s, 0);
    const S* ptr = PT + at(r, 0);
    const S* pts = PT + at(s, 0);
    // One term of lane u at row k. Symmetric: (A[u][k] - A[r][k])(BP[r][k] - BP[u][k]) with A[u][k] =
    // A[k][u], BP[u][k] = BP[k][u]. Asymmetric: (AT[u][k] - AT[r][k])(BPT[r][k] - BPT[u][k]) + (A[u][k] -
    // A[r][k])(BP[r][k] - BP[u][k]) with AT[u][k] = A[k][u], BPT[u][k] = BP[k][u], A[u][k] = AT[k][u],
    // BP[u][k] = BPT[k][u]: rows k of A, BP, AT, BPT.
    // term<Flip>(u1, x1, v1, y1, u2, x2, v2, y2) = (u1 - x1)(y1 - v1) [+ (u2 - x2)(y2 - v2)]; flipped (the
    // other facility first): (x1 - u1)(v1 - y1) [+ (x2 - u2)(v2 - y2)] — the same products.
    int k = 0;
    for (; k + 4 <= n; k += 4) {
      const S* A0 = A + at(k, 0);
      const S* P0 = P + at(k, 0);
      const S* T0 = AT + at(k, 0);
      const S* Q0 = PT + at(k, 0);
      // the scalars of rows r and s at k..k+3
      const S r_at0 = atr[k], r_at1 = atr[k + 1], r_at2 = atr[k + 2], r_at3 = atr[k + 3];
      const S r_pt0 = ptr[k], r_pt1 = ptr[k + 1], r_pt2 = ptr[k + 2], r_pt3 = ptr[k + 3];
      const S r_a0 = ar[k], r_a1 = ar[k + 1], r_a2 = ar[k + 2], r_a3 = ar[k + 3];
      const S r_p0 = pr[k], r_p1 = pr[k + 1], r_p2 = pr[k + 2], r_p3 = pr[k + 3];
      const S s_at0 = ats[k], s_at1 = ats[k + 1], s_at2 = ats[k + 2], s_at3 = ats[k + 3];
      const S s_pt0 = pts[k], s_pt1 = pts[k + 1], s_pt2 = pts[k + 2], s_pt3 = pts[k + 3];
      const S s_a0 = as[k], s_a1 = as[k + 1], s_a2 = as[k + 2], s_a3 = as[k + 3];
      const S s_p0 = ps[k], s_p1 = ps[k + 1], s_p2 = ps[k + 2], s_p3 = ps[k + 3];
      MEZAN_IVDEP
      for (int u = lo; u < hi; ++u) {
        S sr = accr[u], ss = accs[u];
        const S a0 = A0[u], a1 = A0[u + n], a2 = A0[u + 2 * n], a3 = A0[u + 3 * n];
        const S p0 = P0[u], p1 = P0[u + n], p2 = P0[u + 2 * n], p3 = P0[u + 3 * n];
        const S t0 = T0[u], t1 = T0[u + n], t2 = T0[u + 2 * n], t3 = T0[u + 3 * n];
        const S q0 = Q0[u], q1 = Q0[u + n], q2 = Q0[u + 2 * n], q3 = Q0[u + 3 * n];
        sr += term<Sym, FlipR>(a0, r_at0, p0, r_pt0, t0, r_a0, q0, r_p0);
        ss += term<Sym, FlipS>(a0, s_at0, p0, s_pt0, t0, s_a0, q0, s_p0);
        sr += term<Sym, FlipR>(a1, r_at1, p1, r_pt1, t1, r_a1, q1, r_p1);
        ss += term<Sym, FlipS>(a1, s_at1, p1, s_pt1, t1, s_a1, q1, s_p1);
        sr += term<Sym, FlipR>(a2, r_at2, p2, r_pt2, t2, r_a2, q2, r_p2);
        ss += term<Sym, FlipS>(a2, s_at2, p2, s_pt2, t2, s_a2, q2, s_p2);
        sr += term<Sym, FlipR>(a3, r_at3, p3, r_pt3, t3, r_a3, q3, r_p3);
        ss += term<Sym, FlipS>(a3, s_at3, p3, s_pt3, t3, s_a3, q3, s_p3);
        accr[u] = sr;
        accs[u] = ss;
      }
    }
    for (; k < n; ++k) {
      const S* A0 = A + at(k, 0);
      const S* P0 = P + at(k, 0);
      const S* T0 = AT + at(k, 0);
      const S* Q0 = PT + at(k, 0);
      const S r_at = atr[k], r_pt = ptr[k], r_a = ar[k], r_p = pr[k];
      const S s_at = ats[k], s_pt = pts[k], s_a = as[k], s_p = ps[k];
      MEZAN_IVDEP
      for (int u = lo; u < hi; ++u) {
        accr[u] += term<Sym, FlipR>(A0[u], r_at, P0[u], r_pt, T0[u], r_a, Q0[u], r_p);
        accs[u] += term<Sym, FlipS>(A0[u], s_at, P0[u], s_pt, T0[u], s_a, Q0[u], s_p);
      }
    }
  }

  template <bool Sym, bool Flip>
  MEZAN_ALWAYS_INLINE static S term(S u1, S x1, S v1, S y1, S u2, S x2, S v2, S y2) {
    if constexpr (Sym) {
      (void)u2, (void)x2, (void)v2, (void)y2;
      return Flip ? (x1 - u1) * (v1 - y1) : (u1 - x1) * (y1 - v1);
    } else {
      return Flip ? (x1 - u1) * (v1 - y1) + (x2 - u2) * (v2 - y2) : (u1 - x1) * (y1 - v1) + (u2 - x2) * (y2 - v2);
    }
  }

  /// swap_delta(p, f, g) from its main sum over k: the O(1) corrections, term by term as in objective.hpp.
  MEZAN_ALWAYS_INLINE S finish(int f, int g, S sum) const {
    const S* A = a_.data();
    const S* P = bp_.data();
    auto a = [&](int i, int k) { return A[at(i, k)]; };
    auto b = [&](int i, int k) { return P[at(i, k)]; };  // B[p_i][p_k]
    if (sym_) {
      sum -= (a(f, f) - a(g, f)) * (b(g, f) - b(f, f)) + (a(f, g) - a(g, g)) * (b(g, g) - b(f, g));
      return 2 * sum + (a(f, f) - a(g, g)) * (b(g, g) - b(f, f));
    }
    // (at_f[k] - at_g[k]) (bt_{p_g}[p_k] - bt_{p_f}[p_k]) + (a_f[k] - a_g[k]) (b_{p_g}[p_k] - b_{p_f}[p_k]), k = f then g
    sum -= (a(f, f) - a(f, g)) * (b(f, g) - b(f, f)) + (a(f, f) - a(g, f)) * (b(g, f) - b(f, f));
    sum -= (a(g, f) - a(g, g)) * (b(g, g) - b(g, f)) + (a(f, g) - a(g, g)) * (b(g, g) - b(f, g));
    return sum + (a(f, f) - a(g, g)) * (b(g, g) - b(f, f)) + (a(f, g) - a(g, f)) * (b(g, f) - b(f, g));
  }

  int n_, m_, stride_;
  bool sym_, simd_;
  bool all_movable_ = false;      // movable == 0..n-1: the x/y gathers are contiguous copies
  std::vector<int> movable_;
  std::vector<S> a_, b_;          // A and B (in S), row-major n x n
  std::vector<S> at_;             // A^T (asymmetric only)
  std::vector<S> bp_, bpt_;       // BP[i][k] = B[p_i][p_k] and its transpose (asymmetric only)
  std::vector<S> d_;              // the table: entry (a, b), a < b, at a * stride + b; padding pad()
  std::vector<S> x_, y_, x2_, y2_;  // per move: Taillard's x, y (and transposed x', y') per position
  std::vector<S> acc_r_, acc_s_;  // per move: main sums of the pairs {u, r}, {u, s}, by facility u
};

}  // namespace mezan::qap
