// Projection (eigenvalue) lower bound for the QAP: Hadley, Rendl & Wolkowicz, "A new lower bound via
// projection for the quadratic assignment problem", Math. Oper. Res. 17 (1992).
//
// Every permutation matrix X satisfies X e = X^T e = e, so X = E + V Y V^T with E = e e^T / n,
// V an n x (n-1) orthonormal basis of e's complement and Y orthogonal. For symmetric A, B with
// zero diagonals (diagonals a, b are split off as the linear term sum_i a_i b_p(i)) that gives
//   tr(A X B X^T) = tr(Â Y B̂ Y^T) + (2/n) r_A^T X r_B - s_A s_B / n^2,
// Â = V^T A V, B̂ = V^T B V, r = row sums, s = total sums. Minimising the two parts separately:
//   PB = <λ(Â), λ(B̂)>_-  +  LAP(C)  -  s_A s_B / n^2,   C_ik = (2/n) r_A,i r_B,k + a_i b_k,
// where <·,·>_- pairs the eigenvalues ascending with descending (the minimum of tr(Â Y B̂ Y^T) over
// orthogonal Y; Finke, Burkard & Rendl 1987). V is taken from a Householder reflection, so Â and
// B̂ are two rank-2 updates of A and B. If only one of A, B is symmetric the other is replaced by
// its symmetric part (the objective is unchanged); if neither is, there is no bound (nullopt).
// Cost: two (n-1) x (n-1) symmetric eigenvalue problems (O(n^3), Eigen's SelfAdjointEigenSolver)
// + one n x n LAP; memory O(n^2). The value returned is lowered by a rounding margin of
// 1e-9 x (the magnitude of its terms), so it stays a valid bound in floating point.
#pragma once
#include <optional>

namespace mezan::qap {

/// A, B: n x n row-major. The projection bound, or nullopt when neither A nor B is symmetric.
std::optional<double> projection_bound(const double* A, const double* B, int n);

}  // namespace mezan::qap
