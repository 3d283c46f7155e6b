// Relaxations of the QAP over the doubly stochastic matrices (the Birkhoff polytope).
//
// FAQ: Fast Approximate QAP (Vogelstein et al., "Fast approximate quadratic programming for graph
// matching", PLOS ONE 2015) — Frank–Wolfe on the relaxation over doubly stochastic matrices.
//
// With P[i,k] = 1 iff facility i sits at location k, f(P) = tr(A^T P B P^T) and
// grad f(P) = A P B^T + A^T P B. Each iteration: the Frank–Wolfe vertex Q = argmin_Q <grad, Q> is a
// LAP; the exact line search on P + alpha (Q - P) minimises the quadratic
//   f(P) + alpha <grad, R> + alpha^2 f(R),  alpha in [0, 1],  R = Q - P,
// where f(R) = f(Q) - <grad f(P), Q> + f(P) (f is a quadratic form) costs O(n^2), not a product;
// stop when ||alpha R||_F / sqrt(m) < tol or after max_iter iterations. The relaxed solution is
// rounded to the nearest permutation by one more LAP (maximise <P, Q>).
// Facilities with fixed[i] >= 0 stay at that location (seeded graph matching); the doubly
// stochastic variable D lives on the m free facilities x m free locations.
// Cost per iteration: the gradient — two n x n operator products (four when neither A nor B is
// symmetric) — + O(n^2) + one m x m LAP. The products are GEMMs (O(n^3)),
// or FFT convolutions (O(n^2 log n)) for circulant, Toeplitz and lattice matrices as
// options.products says (structured.hpp) — the "fft" mode uses Products::automatic.
//
// Nesterov (same relaxation): accelerated projected gradient with an entropic projection — each step
// is X <- Sinkhorn(Y * exp(-step * grad f(Y) / max|grad f(Y)|)) from the momentum point
// Y = X + (t_{k-1} - 1)/t_k (X - X_prev) (Nesterov 1983), i.e. a KL (Bregman) projection onto the
// doubly stochastic matrices computed by Sinkhorn–Knopp balancing, not the Euclidean one; momentum
// restarts when f increases (O'Donoghue & Candes 2015). The best iterate is rounded by LAP.
// Cost per iteration: the gradient's products + Sinkhorn sweeps (O(n^2) each).
#pragma once
#include <string>
#include <vector>

#include "mezan/core/rng.hpp"
#include "mezan/core/stop_token.hpp"
#include "mezan/qap/structured.hpp"

namespace mezan::qap {

struct FaqOptions {
  int max_iter = 30;
  double tol = 0.03;
  double until_time_fraction = 1.0;  // also stop once this fraction of the stop token's budget is used
  Products products = Products::gemm;  // FFT for structured matrices? (structured.hpp)
};

struct FaqResult {
  std::vector<int> permutation;  // full permutation, fixed facilities included
  double objective = 0;          // f of that permutation
  int iterations = 0;            // Frank–Wolfe iterations done
  std::string products;          // "gemm", "fft" or "mixed" (RelaxationProducts::path)
};

/// A, B: n*n row-major. fixed: size n, location or -1. P0: m*m row-major doubly stochastic start
/// over (free facilities x free locations) in increasing index order, or empty for the barycenter.
FaqResult faq(const double* A, const double* B, int n, const std::vector<int>& fixed,
              const std::vector<double>& P0, const FaqOptions& options, StopToken* stop = nullptr);

struct NesterovOptions {
  int max_iter = 100;
  double tol = 1e-4;
  double step = 5.0;                 // largest multiplicative change exp(step) per entry and step
  int sinkhorn_sweeps = 50;
  double until_time_fraction = 1.0;
  Products products = Products::gemm;
};

/// Same conventions as faq(); FaqResult.iterations counts Nesterov steps.
FaqResult nesterov(const double* A, const double* B, int n, const std::vector<int>& fixed,
                   const std::vector<double>& P0, const NesterovOptions& options, StopToken* stop = nullptr);

/// (J + K) / 2 with J the barycenter and K a Sinkhorn-balanced random positive matrix: the
/// "randomized" start of scipy's FAQ. m*m row-major.
std::vector<double> randomized_start(int m, Rng& rng);

}  // namespace mezan::qap
