#include "mezan/qap/faq.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <stdexcept>

#include "mezan/core/lap.hpp"

namespace mezan::qap {

using Matrix = Eigen::MatrixXd;
using RowMajorMap = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

namespace {

std::vector<int> lap_rows(const Matrix& cost) {
  const int m = static_cast<int>(cost.rows());
  std::vector<double> c(static_cast<std::size_t>(m) * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) c[static_cast<std::size_t>(i) * m + j] = cost(i, j);
  return solve_lap(c.data(), m).assignment;
}

}  // namespace

std::vector<double> randomized_start(int m, Rng& rng) {
  Matrix K(m, m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) K(i, j) = rng.uniform() + 1e-3;
  for (int sweep = 0; sweep < 500; ++sweep) {  // Sinkhorn–Knopp balancing
    K.array().colwise() /= K.rowwise().sum().array();
    K.array().rowwise() /= K.colwise().sum().array();
    if ((K.rowwise().sum().array() - 1.0).abs().maxCoeff() < 1e-10) break;
  }
  std::vector<double> out(static_cast<std::size_t>(m) * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) out[static_cast<std::size_t>(i) * m + j] = 0.5 * (1.0 / m + K(i, j));
  return out;
}

FaqResult faq(const double* a_data, const double* b_data, int n, const std::vector<int>& fixed,
              const std::vector<double>& P0, const FaqOptions& options, StopToken* stop) {
  if (static_cast<int>(fixed.size()) != n) throw std::invalid_argument("faq: fixed must have n entries");
  const Matrix A = RowMajorMap(a_data, n, n);
  const Matrix B = RowMajorMap(b_data, n, n);
  std::vector<int> rows, cols;
  std::vector<char> taken(n, 0);
  for (int i = 0; i < n; ++i) {
    if (fixed[i] >= 0)
      taken[fixed[i]] = 1;
    else
      rows.push_back(i);
  }
  for (int k = 0; k < n; ++k)
    if (!taken[k]) cols.push_back(k);
  const int m = static_cast<int>(rows.size());
  if (static_cast<int>(cols.size()) != m) throw std::invalid_argument("faq: fixed locations must be distinct");

  Matrix D(m, m);
  if (P0.empty()) {
    D.setConstant(m > 0 ? 1.0 / m : 0.0);
  } else {
    if (static_cast<int>(P0.size()) != m * m) throw std::invalid_argument("faq: P0 must be m x m");
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) D(i, j) = P0[static_cast<std::size_t>(i) * m + j];
  }
  Matrix P = Matrix::Zero(n, n);
  for (int i = 0; i < n; ++i)
    if (fixed[i] >= 0) P(i, fixed[i]) = 1.0;
  auto embed = [&](const Matrix& sub, Matrix& full) {
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) full(rows[i], cols[j]) = sub(i, j);
  };

  FaqResult result;
  Matrix G(n, n), Gsub(m, m), R = Matrix::Zero(n, n), Rsub(m, m);
  for (int it = 0; it < options.max_iter && m > 1; ++it) {
    if (stop && (stop->should_stop() || (stop->has_deadline() &&
                                          stop->time_fraction() >= options.until_time_fraction)))
      break;
    embed(D, P);
    G.noalias() = A * P * B.transpose();
    G.noalias() += A.transpose() * P * B;
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) Gsub(i, j) = G(rows[i], cols[j]);
    const std::vector<int> q = lap_rows(Gsub);
    Rsub = -D;
    for (int i = 0; i < m; ++i) Rsub(i, q[i]) += 1.0;
    embed(Rsub, R);
    const double lin = (Gsub.array() * Rsub.array()).sum();
    const double quad = (A.array() * (R * B * R.transpose()).array()).sum();
    // Minimise lin * alpha + quad * alpha^2 over [0, 1].
    double alpha = (lin + quad < 0) ? 1.0 : 0.0;
    double best = std::min(0.0, lin + quad);
    if (quad > 0) {
      const double vertex = -lin / (2 * quad);
      if (vertex > 0 && vertex < 1 && lin * vertex + quad * vertex * vertex < best) alpha = vertex;
    }
    result.iterations = it + 1;
    if (alpha == 0.0) break;
    D += alpha * Rsub;
    if (alpha * Rsub.norm() / std::sqrt(static_cast<double>(m)) < options.tol) break;
  }
  // Round: the permutation closest to D maximises <D, Q>.
  const std::vector<int> q = m > 0 ? lap_rows(-D) : std::vector<int>{};
  result.permutation.assign(n, -1);
  for (int i = 0; i < n; ++i)
    if (fixed[i] >= 0) result.permutation[i] = fixed[i];
  for (int i = 0; i < m; ++i) result.permutation[rows[i]] = cols[q[i]];
  double f = 0;
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) f += A(i, j) * B(result.permutation[i], result.permutation[j]);
  result.objective = f;
  return result;
}

}  // namespace mezan::qap
