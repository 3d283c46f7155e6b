// QAP instance: minimise f(p) = sum_ij A[i,j] * B[p(i), p(j)] over permutations p, where p(i) is the
// location of facility i (A: flows between facilities, B: distances between locations).
//
// Matrices are stored contiguous and row-major. For asymmetric instances the transposes are kept
// too, so that every O(n) swap-delta walks rows only (no strided column walks). Symmetry (A and B
// both symmetric) is detected once at construction; the search kernels then use the cheaper
// symmetric formulas. T is std::int64_t for integer data (callers must check int64_safe() first)
// or double for real data.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

#include "mezan/core/errors.hpp"

namespace mezan::qap {

/// True if every objective and swap delta of an integer instance fits in int64 with a margin:
/// |f(p)| <= n^2 max|A| max|B| and every delta <= 4 n max|A| max|B|, so we require
/// 4 n^2 max|A| max|B| < 2^63.
inline bool int64_safe(double max_abs_a, double max_abs_b, int n) {
  const double bound = 4.0 * static_cast<double>(n) * n * max_abs_a * max_abs_b;
  return bound < 9.2e18;
}

/// The representable range of real data: every objective is bounded by n^2 max|A| max|B|, every swap
/// delta by 4 n max|A| max|B|, a relaxation's gradient entry (A X B^T + A^T X B) by 2 n max|A| max|B|
/// and the dual potentials of a LAP on it by a few times that. Requiring n^2 max|A| max|B| <= 1e300
/// (DBL_MAX is 1.8e308) leaves a factor 1e8 of headroom for all of these intermediate sums, so no
/// kernel ever produces an infinity or a NaN from finite data. Data beyond it is refused.
inline constexpr double kMaxObjectiveScale = 1e300;

/// True if n^2 max|A| max|B| <= kMaxObjectiveScale (computed in logs: the product itself may overflow).
inline bool objective_representable(double max_abs_a, double max_abs_b, int n) {
  if (max_abs_a == 0 || max_abs_b == 0) return true;
  if (!std::isfinite(max_abs_a) || !std::isfinite(max_abs_b)) return false;
  const double log_scale = 2.0 * std::log10(static_cast<double>(n)) + std::log10(max_abs_a) + std::log10(max_abs_b);
  return log_scale <= std::log10(kMaxObjectiveScale);
}

template <class T>
class Instance {
  static_assert(std::is_same_v<T, std::int64_t> || std::is_same_v<T, double>,
                "Instance<T>: T must be std::int64_t or double");

 public:
  using value_type = T;

  /// a, b: n*n row-major. Throws InvalidProblem (a std::invalid_argument) naming the problem.
  Instance(int n, std::vector<T> a, std::vector<T> b) : n_(n), a_(std::move(a)), b_(std::move(b)) {
    if (n < 2) throw InvalidProblem("QAP instance: n must be >= 2, got " + std::to_string(n));
    const std::size_t nn = static_cast<std::size_t>(n) * n;
    if (a_.size() != nn || b_.size() != nn)
      throw InvalidProblem("QAP instance: A and B must both hold n*n = " + std::to_string(nn) +
                           " values, got " + std::to_string(a_.size()) + " and " +
                           std::to_string(b_.size()));
    if constexpr (std::is_same_v<T, double>) {
      double max_a = 0, max_b = 0;
      for (std::size_t k = 0; k < nn; ++k) {
        if (!std::isfinite(a_[k])) throw InvalidProblem("QAP instance: A has a non-finite entry");
        if (!std::isfinite(b_[k])) throw InvalidProblem("QAP instance: B has a non-finite entry");
        max_a = std::max(max_a, std::abs(a_[k]));
        max_b = std::max(max_b, std::abs(b_[k]));
      }
      if (!objective_representable(max_a, max_b, n))
        throw InvalidProblem("QAP instance: n^2 max|A| max|B| exceeds 1e300, the range in which every objective "
                           "and intermediate sum is representable in double");
    }
    symmetric_ = is_symmetric(a_) && is_symmetric(b_);
    if (!symmetric_) {
      at_ = transpose(a_);
      bt_ = transpose(b_);
    }
  }

  int n() const { return n_; }
  bool symmetric() const { return symmetric_; }
  const T* a_row(int i) const { return a_.data() + static_cast<std::size_t>(i) * n_; }
  const T* b_row(int k) const { return b_.data() + static_cast<std::size_t>(k) * n_; }
  /// Row i of A^T (= column i of A); equals a_row(i) for symmetric instances.
  const T* at_row(int i) const { return symmetric_ ? a_row(i) : at_.data() + static_cast<std::size_t>(i) * n_; }
  const T* bt_row(int k) const { return symmetric_ ? b_row(k) : bt_.data() + static_cast<std::size_t>(k) * n_; }
  T a(int i, int j) const { return a_[static_cast<std::size_t>(i) * n_ + j]; }
  T b(int k, int l) const { return b_[static_cast<std::size_t>(k) * n_ + l]; }
  const std::vector<T>& a_data() const { return a_; }
  const std::vector<T>& b_data() const { return b_; }

 private:
  bool is_symmetric(const std::vector<T>& m) const {
    for (int i = 0; i < n_; ++i)
      for (int j = i + 1; j < n_; ++j)
        if (m[static_cast<std::size_t>(i) * n_ + j] != m[static_cast<std::size_t>(j) * n_ + i]) return false;
    return true;
  }
  std::vector<T> transpose(const std::vector<T>& m) const {
    std::vector<T> t(m.size());
    for (int i = 0; i < n_; ++i)
      for (int j = 0; j < n_; ++j) t[static_cast<std::size_t>(j) * n_ + i] = m[static_cast<std::size_t>(i) * n_ + j];
    return t;
  }

  int n_;
  std::vector<T> a_, b_, at_, bt_;
  bool symmetric_ = false;
};

/// Share of non-zero off-diagonal entries from which a matrix counts as dense (see dense_matrix).
inline constexpr double kDenseShare = 0.95;

/// True when at least kDenseShare of the n x n row-major matrix m's off-diagonal entries are non-zero: QAPLIB's
/// unstructured random classes (tai..a, rou, had, lipa; of those with n <= 20 a few are sparser) and the generated
/// Taillard-a and lipa have both matrices dense. In every structured class of ../shared/qaplib (bur, chr, els, esc,
/// kra, nug, scr, ste, tai..b, tho, wil) and in the generated grids, rings and Taillard-b, one matrix is at most 90 %
/// non-zero. Cost O(n^2).
template <class T>
bool dense_matrix(const T* m, int n) {
  std::int64_t nonzero = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) nonzero += i != j && m[static_cast<std::size_t>(i) * n + j] != T(0);
  return nonzero >= kDenseShare * n * (n - 1);
}

/// Both of the instance's matrices are dense (dense_matrix): the data on which robust tabu search is the strongest
/// method (Taillard 1995), which the memetic search's defaults and the portfolio's order read.
template <class T>
bool both_matrices_dense(const Instance<T>& inst) {
  return dense_matrix(inst.a_data().data(), inst.n()) && dense_matrix(inst.b_data().data(), inst.n());
}

}  // namespace mezan::qap
