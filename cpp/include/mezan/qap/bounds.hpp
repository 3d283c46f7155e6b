// Gilmore–Lawler lower bound (Gilmore 1962, Lawler 1963) for the QAP.
//
// For facility i placed at location k, the cost of i's row, sum_j a_ij b_{k p(j)}, is at least
//   l_ik = a_ii b_kk + <a_i, b_k>_-     (minimal scalar product of the off-diagonal rows:
//                                         a_i sorted ascending against b_k sorted descending).
// Any permutation costs at least sum_i l_{i p(i)}, so GLB = LAP(L) <= optimum. It also bounds every
// constrained problem (partial match), since constraints only raise the optimum.
// Cost: O(n^2 log n) sorting + O(n^3) for L + O(n^3) LAP. Memory O(n^2).
#pragma once
#include <algorithm>
#include <functional>
#include <vector>

#include "mezan/core/lap.hpp"
#include "mezan/qap/instance.hpp"

namespace mezan::qap {

template <class T>
double gilmore_lawler_bound(const Instance<T>& inst, std::vector<int>* assignment = nullptr) {
  const int n = inst.n();
  const int w = n - 1;
  std::vector<T> ra(static_cast<std::size_t>(n) * w), rb(static_cast<std::size_t>(n) * w);
  for (int i = 0; i < n; ++i) {
    T* a = ra.data() + static_cast<std::size_t>(i) * w;
    T* b = rb.data() + static_cast<std::size_t>(i) * w;
    for (int j = 0, c = 0; j < n; ++j)
      if (j != i) {
        a[c] = inst.a(i, j);
        b[c] = inst.b(i, j);
        ++c;
      }
    std::sort(a, a + w);
    std::sort(b, b + w, std::greater<T>());
  }
  std::vector<double> cost(static_cast<std::size_t>(n) * n);
  for (int i = 0; i < n; ++i) {
    const T* a = ra.data() + static_cast<std::size_t>(i) * w;
    for (int k = 0; k < n; ++k) {
      const T* b = rb.data() + static_cast<std::size_t>(k) * w;
      T dot = inst.a(i, i) * inst.b(k, k);
      for (int j = 0; j < w; ++j) dot += a[j] * b[j];
      cost[static_cast<std::size_t>(i) * n + k] = static_cast<double>(dot);
    }
  }
  LapResult lap = solve_lap(cost.data(), n);
  if (assignment) *assignment = lap.assignment;
  return lap.cost;
}

}  // namespace mezan::qap
