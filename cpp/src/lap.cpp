#include "mezan/core/lap.hpp"
#include "mezan/core/errors.hpp"

#include <cmath>
#include <limits>
#include <stdexcept>
#include <string>

namespace mezan {

LapResult solve_lap(const double* cost, int n) {
  LapWorkspace work;
  LapResult out;
  solve_lap(cost, n, work, out);
  return out;
}

void solve_lap(const double* cost, int n, LapWorkspace& work, LapResult& out) {
  if (n < 0) throw InvalidProblem("solve_lap: n must be >= 0; got " + std::to_string(n));
  out.assignment.assign(n, -1);
  out.cost = 0.0;
  out.row_dual.clear();
  out.col_dual.clear();
  if (n <= 0) return;
  for (long k = 0; k < static_cast<long>(n) * n; ++k)
    if (!std::isfinite(cost[k]))
      throw InvalidProblem("solve_lap: cost[" + std::to_string(k / n) + "][" +
                           std::to_string(k % n) + "] is not finite");

  const double inf = std::numeric_limits<double>::infinity();
  // 1-based arrays; column 0 is the virtual source of each augmentation. assign() keeps their capacity.
  std::vector<double>&u = work.u, &v = work.v, &min_to = work.min_to;
  std::vector<int>&row_of = work.row_of, &prev = work.prev;
  std::vector<char>&used = work.used, &assigned = work.assigned;
  u.assign(n + 1, 0.0);
  v.assign(n + 1, 0.0);
  min_to.assign(n + 1, inf);
  row_of.assign(n + 1, 0);
  prev.assign(n + 1, 0);
  used.assign(n + 1, 0);
  assigned.assign(n + 1, 0);

  // Start from a partial assignment on tight cells (Jonker & Volgenant's initialisation, in its two cheapest steps):
  // column reduction (v[j] = the column's minimum; its row takes the column when still free), then row reduction
  // of the rows left (u[i] = the row's least reduced cost; the row takes that column when it is free). The
  // potentials stay feasible and every assigned cell tight, so the augmentations below need only run for the rows
  // left, and give the same optimum.
  for (int j = 1; j <= n; ++j) {
    int best = 1;
    for (int i = 2; i <= n; ++i)
      if (cost[static_cast<long>(i - 1) * n + (j - 1)] < cost[static_cast<long>(best - 1) * n + (j - 1)]) best = i;
    v[j] = cost[static_cast<long>(best - 1) * n + (j - 1)];
    if (!assigned[best]) {
      row_of[j] = best;
      assigned[best] = 1;
    }
  }
  for (int i = 1; i <= n; ++i) {
    if (assigned[i]) continue;
    const double* row = cost + static_cast<long>(i - 1) * n;
    int best = 1;
    for (int j = 2; j <= n; ++j)
      if (row[j - 1] - v[j] < row[best - 1] - v[best]) best = j;
    u[i] = row[best - 1] - v[best];
    if (row_of[best] == 0) {
      row_of[best] = i;
      assigned[i] = 1;
    }
  }

  for (int i = 1; i <= n; ++i) {
    if (assigned[i]) continue;
    row_of[0] = i;
    int j0 = 0;
    std::fill(min_to.begin(), min_to.end(), inf);
    std::fill(used.begin(), used.end(), 0);
    // Dijkstra over columns: grow the alternating tree until a free column is reached.
    do {
      used[j0] = 1;
      const int i0 = row_of[j0];
      const double* row = cost + static_cast<long>(i0 - 1) * n;
      double delta = inf;
      int j1 = 0;
      for (int j = 1; j <= n; ++j) {
        if (used[j]) continue;
        const double reduced = row[j - 1] - u[i0] - v[j];
        if (reduced < min_to[j]) {
          min_to[j] = reduced;
          prev[j] = j0;
        }
        if (min_to[j] < delta) {
          delta = min_to[j];
          j1 = j;
        }
      }
      for (int j = 0; j <= n; ++j) {
        if (used[j]) {
          u[row_of[j]] += delta;
          v[j] -= delta;
        } else {
          min_to[j] -= delta;
        }
      }
      j0 = j1;
    } while (row_of[j0] != 0);
    // Augment along the shortest path back to the source.
    do {
      const int j1 = prev[j0];
      row_of[j0] = row_of[j1];
      j0 = j1;
    } while (j0 != 0);
  }
  for (int j = 1; j <= n; ++j) out.assignment[row_of[j] - 1] = j - 1;
  out.row_dual.assign(u.begin() + 1, u.end());
  out.col_dual.assign(v.begin() + 1, v.end());
  for (int i = 0; i < n; ++i) out.cost += cost[static_cast<long>(i) * n + out.assignment[i]];
}

}  // namespace mezan
