// Assignments with fixed facilities (partial matches): which facilities may move, and random
// permutations that keep the fixed ones in place. fixed is empty (nothing fixed) or has n entries:
// the location of facility i, or -1 if it is free.
#pragma once
#include <vector>

#include "mezan/core/rng.hpp"

namespace mezan::qap {

/// Random permutation that keeps fixed facilities at their locations.
inline std::vector<int> random_permutation(int n, const std::vector<int>& fixed, Rng& rng) {
  std::vector<int> p(n, -1);
  std::vector<char> taken(n, 0);
  if (!fixed.empty())
    for (int i = 0; i < n; ++i)
      if (fixed[i] >= 0) {
        p[i] = fixed[i];
        taken[fixed[i]] = 1;
      }
  std::vector<int> free_locations;
  for (int k = 0; k < n; ++k)
    if (!taken[k]) free_locations.push_back(k);
  rng.shuffle(free_locations);
  for (int i = 0, c = 0; i < n; ++i)
    if (p[i] < 0) p[i] = free_locations[c++];
  return p;
}

inline std::vector<int> movable_facilities(int n, const std::vector<int>& fixed) {
  std::vector<int> movable;
  for (int i = 0; i < n; ++i)
    if (fixed.empty() || fixed[i] < 0) movable.push_back(i);
  return movable;
}

}  // namespace mezan::qap
