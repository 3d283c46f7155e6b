// Linear assignment problem (LAP): min over permutations p of sum_i C[i, p(i)].
//
// Shortest augmenting path with dual potentials, the Jonker–Volgenant scheme (Jonker & Volgenant,
// Computing 38, 1987): column reduction, then row reduction, assign the rows whose cheapest reduced
// cell is in a free column; then one Dijkstra-like search per row left over reduced costs
// C[i,j] - u[i] - v[j] >= 0 (JV's augmenting row reduction is not used). O(n^3) time, O(n) extra
// memory. Costs must be finite.
#pragma once
#include <vector>

namespace mezan {

struct LapResult {
  std::vector<int> assignment;  // assignment[i] = column assigned to row i
  double cost = 0.0;            // sum_i C[i, assignment[i]]
  // Optimal dual potentials: row_dual[i] + col_dual[j] <= C[i, j] for every cell, with equality on the
  // assignment, so sum(row_dual) + sum(col_dual) = cost. The reduced cost C[i, j] - row_dual[i] - col_dual[j]
  // of a cell is what forcing row i onto column j adds at least: every assignment using (i, j) costs at
  // least cost + that reduced cost (LP duality), the test branch and bound prunes children with.
  std::vector<double> row_dual, col_dual;
};

/// The working arrays of solve_lap (potentials, shortest-path labels, the matching). A caller that solves many
/// LAPs — branch and bound's nodes, FAQ's Frank-Wolfe steps — keeps one workspace and one LapResult, and solves
/// without allocating once their capacity fits the largest n.
struct LapWorkspace {
  std::vector<double> u, v, min_to;
  std::vector<int> row_of, prev;
  std::vector<char> used, assigned;
};

/// Solve a dense n x n LAP given row-major costs, into `out`, with `work`'s arrays. Throws InvalidProblem on
/// non-finite costs.
void solve_lap(const double* cost, int n, LapWorkspace& work, LapResult& out);

/// The same, with arrays of its own.
LapResult solve_lap(const double* cost, int n);

}  // namespace mezan
