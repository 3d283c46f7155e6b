#include "mezan/qap/projection_bound.hpp"

#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <vector>

#include "mezan/core/lap.hpp"

namespace mezan::qap {

namespace {

using Matrix = Eigen::MatrixXd;
using Vector = Eigen::VectorXd;

/// Eigenvalues of V^T M V (ascending), V = the first n-1 columns of the Householder reflection
/// H = I - 2 w w^T that maps e / sqrt(n) to the last unit vector.
Vector projected_eigenvalues(const Matrix& M) {
  const Eigen::Index n = M.rows();
  Vector w = Vector::Constant(n, 1.0 / std::sqrt(static_cast<double>(n)));
  w(n - 1) -= 1.0;
  w /= w.norm();
  const Vector Mw = M * w;
  const double wMw = w.dot(Mw);
  // H M H = M - 2 w (M w)^T - 2 (M w) w^T + 4 (w^T M w) w w^T  (M symmetric)
  Matrix HMH = M - 2.0 * w * Mw.transpose() - 2.0 * Mw * w.transpose() + 4.0 * wMw * w * w.transpose();
  const Matrix projected = HMH.topLeftCorner(n - 1, n - 1);
  return Eigen::SelfAdjointEigenSolver<Matrix>(projected, Eigen::EigenvaluesOnly).eigenvalues();
}

}  // namespace

std::optional<double> projection_bound(const double* a_data, const double* b_data, int n) {
  if (n < 2) return std::nullopt;
  using RowMajor = Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;
  Matrix A = Eigen::Map<const RowMajor>(a_data, n, n), B = Eigen::Map<const RowMajor>(b_data, n, n);
  const bool sym_a = A == A.transpose(), sym_b = B == B.transpose();
  if (!sym_a && !sym_b) return std::nullopt;
  if (!sym_a) A = 0.5 * (A + A.transpose()).eval();  // tr(A X B X^T) = tr(sym(A) X B X^T) for symmetric B
  if (!sym_b) B = 0.5 * (B + B.transpose()).eval();
  const Vector da = A.diagonal(), db = B.diagonal();
  A.diagonal().setZero();
  B.diagonal().setZero();

  const Vector la = projected_eigenvalues(A), lb = projected_eigenvalues(B);
  double quadratic = 0, magnitude = 0;
  for (Eigen::Index k = 0; k < n - 1; ++k) {  // ascending against descending
    quadratic += la(k) * lb(n - 2 - k);
    magnitude += std::abs(la(k) * lb(n - 2 - k));
  }
  const Vector ra = A.rowwise().sum(), rb = B.rowwise().sum();
  const double sa = ra.sum(), sb = rb.sum();
  std::vector<double> cost(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i)
    for (int k = 0; k < n; ++k) cost[static_cast<std::size_t>(i) * n + k] = 2.0 / n * ra(i) * rb(k) + da(i) * db(k);
  const double linear = solve_lap(cost.data(), n).cost;
  const double constant = sa * sb / (static_cast<double>(n) * n);
  magnitude += std::abs(linear) + std::abs(constant) + 2.0 / n * ra.cwiseAbs().sum() * rb.cwiseAbs().maxCoeff();
  return quadratic + linear - constant - 1e-9 * magnitude;
}

}  // namespace mezan::qap
