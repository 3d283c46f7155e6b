#include "mezan/qap/faq.hpp"
#include "mezan/core/errors.hpp"

#include <Eigen/Dense>
#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

#include "mezan/core/lap.hpp"
#include "mezan/qap/structured.hpp"

namespace mezan::qap {

using Matrix = Eigen::MatrixXd;
using RowMajorMap = Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;
using RowMajorOut = Eigen::Map<Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>;

namespace {

/// The relaxation shared by FAQ and Nesterov: f(P) = tr(A^T P B P^T) over P = fixed part + the
/// doubly stochastic block D on (free facilities x free locations); gradients and curvature on the
/// full n x n matrices (RelaxationProducts: GEMM, or FFT for structured matrices), rounding by LAP. Its buffers
/// (the LAP's costs and arrays, the vertex's permutation) are kept across steps: MEZAN's code allocates nothing
/// per step (Eigen's GEMM still allocates its packing buffers, two per product).
class Relaxation {
 public:
  Relaxation(const double* a_data, const double* b_data, int n, const std::vector<int>& fixed, Products products,
             const char* who)
      : n_(n), a_(a_data), b_(b_data), fixed_(fixed),
        products_(RowMajorMap(a_data, n, n), RowMajorMap(b_data, n, n), products),
        P_(Matrix::Zero(n, n)), G_(n, n) {
    if (static_cast<int>(fixed.size()) != n) throw InvalidParameter(std::string(who) + ": fixed must have n entries");
    std::vector<char> taken(n, 0);
    for (int i = 0; i < n; ++i) {
      if (fixed[i] >= 0) {
        taken[fixed[i]] = 1;
        P_(i, fixed[i]) = 1.0;
      } else {
        rows_.push_back(i);
      }
    }
    for (int k = 0; k < n; ++k)
      if (!taken[k]) cols_.push_back(k);
    if (cols_.size() != rows_.size()) throw InvalidParameter(std::string(who) + ": fixed locations must be distinct");
  }

  int m() const { return static_cast<int>(rows_.size()); }

  Matrix start(const std::vector<double>& P0, const char* who) const {
    const int m = this->m();
    Matrix D(m, m);
    if (P0.empty()) {
      D.setConstant(m > 0 ? 1.0 / m : 0.0);
      return D;
    }
    if (static_cast<int>(P0.size()) != m * m) throw InvalidParameter(std::string(who) + ": P0 must be m x m");
    for (int i = 0; i < m; ++i)
      for (int j = 0; j < m; ++j) D(i, j) = P0[static_cast<std::size_t>(i) * m + j];
    return D;
  }

  /// Gradient of f at (fixed part + D), restricted to the free block; returns f there.
  double gradient(const Matrix& D, Matrix& Gsub) {
    embed(D, P_);
    const double f = products_.gradient(P_, G_);
    Gsub.resize(m(), m());
    for (int i = 0; i < m(); ++i)
      for (int j = 0; j < m(); ++j) Gsub(i, j) = G_(rows_[i], cols_[j]);
    return f;
  }

  /// The LAP's assignment on the m x m block: argmin over permutations q of sum_i sign * C(i, q(i)) (sign -1:
  /// the permutation closest to C).
  const std::vector<int>& assign(const Matrix& C, double sign) {
    const int m = this->m();
    lap_cost_.resize(static_cast<std::size_t>(m) * m);
    RowMajorOut(lap_cost_.data(), m, m) = sign * C;
    solve_lap(lap_cost_.data(), m, lap_work_, lap_);
    return lap_.assignment;
  }

  /// f(R) = tr(A^T R B R^T) along R = Q - P from the last gradient point P to the vertex Q (the
  /// permutation q on the free block). f is a quadratic form, so f(Q - P) = f(Q) - <grad f(P), Q> + f(P):
  /// one QAP objective and one sum over the permutation, O(n^2), no matrix product.
  double curvature_to_vertex(const std::vector<int>& q, double f_at_P) {
    perm_.resize(n_);
    double g_at_Q = 0;
    for (int i = 0; i < n_; ++i) {
      if (fixed_[i] >= 0) perm_[i] = fixed_[i];
    }
    for (int i = 0; i < m(); ++i) perm_[rows_[i]] = cols_[q[i]];
    for (int i = 0; i < n_; ++i) g_at_Q += G_(i, perm_[i]);
    return objective_of(perm_) - g_at_Q + f_at_P;
  }

  /// The permutation closest to D (maximise <D, Q> by LAP), fixed facilities in place, and its f.
  FaqResult round(const Matrix& D, int iterations) {
    const int m = this->m();
    const std::vector<int> q = m > 0 ? assign(D, -1.0) : std::vector<int>{};
    FaqResult result;
    result.iterations = iterations;
    result.products = products_.path();
    result.permutation.assign(n_, -1);
    for (int i = 0; i < n_; ++i)
      if (fixed_[i] >= 0) result.permutation[i] = fixed_[i];
    for (int i = 0; i < m; ++i) result.permutation[rows_[i]] = cols_[q[i]];
    result.objective = objective_of(result.permutation);
    return result;
  }

 private:
  double objective_of(const std::vector<int>& p) const {
    double f = 0;
    for (int i = 0; i < n_; ++i)
      for (int j = 0; j < n_; ++j) f += a_[static_cast<std::size_t>(i) * n_ + j] * b_[static_cast<std::size_t>(p[i]) * n_ + p[j]];
    return f;
  }

  void embed(const Matrix& sub, Matrix& full) const {
    for (int i = 0; i < m(); ++i)
      for (int j = 0; j < m(); ++j) full(rows_[i], cols_[j]) = sub(i, j);
  }

  int n_;
  const double *a_, *b_;  // row-major, owned by the caller for the relaxation's lifetime
  std::vector<int> fixed_, rows_, cols_;
  RelaxationProducts products_;
  Matrix P_, G_;  // the last gradient point (fixed part included) and the gradient there
  std::vector<double> lap_cost_;  // the LAP's m x m costs, row-major
  LapWorkspace lap_work_;
  LapResult lap_;
  std::vector<int> perm_;  // the vertex's full permutation
};

bool out_of_time(StopToken* stop, double until_fraction) {
  return stop && (stop->should_stop() || (stop->has_deadline() && stop->time_fraction() >= until_fraction));
}

/// Sinkhorn–Knopp: scale the rows and columns of a positive matrix until it is doubly stochastic. `rows` and
/// `cols` hold the sums (kept by the caller across calls: no allocation once sized); a sweep's row sums, which
/// its convergence test reads, are the next sweep's divisors.
void sinkhorn(Matrix& K, int sweeps, double tol, Eigen::VectorXd& rows, Eigen::RowVectorXd& cols) {
  rows.noalias() = K.rowwise().sum();
  for (int sweep = 0; sweep < sweeps; ++sweep) {
    K.array().colwise() /= rows.array();
    cols.noalias() = K.colwise().sum();
    K.array().rowwise() /= cols.array();
    rows.noalias() = K.rowwise().sum();
    if ((rows.array() - 1.0).abs().maxCoeff() < tol) break;
  }
}

}  // namespace

std::vector<double> randomized_start(int m, Rng& rng) {
  Matrix K(m, m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) K(i, j) = rng.uniform() + 1e-3;
  Eigen::VectorXd rows(m);
  Eigen::RowVectorXd cols(m);
  sinkhorn(K, 500, 1e-10, rows, cols);
  std::vector<double> out(static_cast<std::size_t>(m) * m);
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < m; ++j) out[static_cast<std::size_t>(i) * m + j] = 0.5 * (1.0 / m + K(i, j));
  return out;
}

FaqResult faq(const double* a_data, const double* b_data, int n, const std::vector<int>& fixed,
              const std::vector<double>& P0, const FaqOptions& options, StopToken* stop) {
  Relaxation relax(a_data, b_data, n, fixed, options.products, "faq");
  const int m = relax.m();
  Matrix D = relax.start(P0, "faq");
  Matrix Gsub, Rsub(m, m);
  int done = 0;
  for (int it = 0; it < options.max_iter && m > 1; ++it) {
    if (out_of_time(stop, options.until_time_fraction)) break;
    const double f = relax.gradient(D, Gsub);
    const std::vector<int>& q = relax.assign(Gsub, 1.0);
    Rsub = -D;
    for (int i = 0; i < m; ++i) Rsub(i, q[i]) += 1.0;
    const double lin = (Gsub.array() * Rsub.array()).sum();
    const double quad = relax.curvature_to_vertex(q, f);
    // Minimise lin * alpha + quad * alpha^2 over [0, 1].
    double alpha = (lin + quad < 0) ? 1.0 : 0.0;
    double best = std::min(0.0, lin + quad);
    if (quad > 0) {
      const double vertex = -lin / (2 * quad);
      if (vertex > 0 && vertex < 1 && lin * vertex + quad * vertex * vertex < best) alpha = vertex;
    }
    done = it + 1;
    if (alpha == 0.0) break;
    D += alpha * Rsub;
    if (alpha * Rsub.norm() / std::sqrt(static_cast<double>(m)) < options.tol) break;
  }
  return relax.round(D, done);
}

FaqResult nesterov(const double* a_data, const double* b_data, int n, const std::vector<int>& fixed,
                   const std::vector<double>& P0, const NesterovOptions& options, StopToken* stop) {
  Relaxation relax(a_data, b_data, n, fixed, options.products, "nesterov");
  const int m = relax.m();
  Matrix X = relax.start(P0, "nesterov"), X_prev = X, Y(m, m), G;
  Eigen::VectorXd rows(m);
  Eigen::RowVectorXd cols(m);
  Matrix best_X = X;
  double best_f = std::numeric_limits<double>::infinity(), prev_f = best_f;
  double t = 1.0;
  int done = 0;
  for (int it = 0; it < options.max_iter && m > 1; ++it) {
    if (out_of_time(stop, options.until_time_fraction)) break;
    // Momentum point (Nesterov): Y = X + (t_{k-1} - 1) / t_k (X - X_prev), kept strictly positive.
    const double t_next = 0.5 * (1.0 + std::sqrt(1.0 + 4.0 * t * t));
    Y = X + ((t - 1.0) / t_next) * (X - X_prev);
    Y = Y.cwiseMax(1e-12);
    const double f = relax.gradient(Y, G);
    if (f < best_f) {
      best_f = f;
      best_X = Y;
    }
    // Entropic (KL) projected step: Y * exp(-step * G / max|G|), then Sinkhorn onto the polytope.
    const double scale = G.cwiseAbs().maxCoeff();
    X_prev = X;
    X = Y.array() * (-(options.step / (scale > 0 ? scale : 1.0)) * G.array()).exp();
    sinkhorn(X, options.sinkhorn_sweeps, 1e-9, rows, cols);
    t = (f > prev_f) ? 1.0 : t_next;  // adaptive restart (O'Donoghue & Candes 2015) on an increase
    prev_f = f;
    done = it + 1;
    if ((X - X_prev).norm() / std::sqrt(static_cast<double>(m)) < options.tol) break;
  }
  return relax.round(done > 0 ? best_X : X, done);
}

}  // namespace mezan::qap
