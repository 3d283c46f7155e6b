// Permutation operators for evolutionary search: crossovers, mutations, selection, distances.
//
// A permutation is a vector p of 0..n-1 (for QAP p[i] = location of facility i; for TSP and linear
// ordering p[i] = the element at position i). Every operator writes a valid permutation and
// allocates nothing when given its Scratch buffers; each is O(n) (selection O(k) / O(pop log pop)).
//
//  order_crossover (OX, Davis 1985): child[a,b) = p1[a,b); the other positions, from b cyclically,
//      take the remaining elements in p2's cyclic order from b.  Keeps a slice and relative order.
//  pmx (partially mapped, Goldberg & Lingle 1985): child[a,b) = p1[a,b); outside, p2's element is
//      kept unless already used, then mapped through the section (v -> p2[pos_p1(v)]) until free.
//  cycle_crossover (CX, Oliver, Smith & Holland 1987): the cycles of (p1, p2) are copied alternately
//      from p1 and p2, so every child[i] is p1[i] or p2[i].
//  position_based_crossover (Syswerda 1991): a random half of the positions keep p1's elements, the
//      other positions take the remaining elements in p2's order.
//  uniform_like_crossover (ULX, Tate & Smith 1995; the "cohesive"/uniform family for QAP): positions
//      where the parents agree are kept; the others, in random order, take p1[i] or p2[i] at random
//      when still unused, and the remaining elements at random otherwise.
//  mutations: swap (two positions), insert (move one element), inversion (reverse a segment),
//      scramble (shuffle a segment).
#pragma once
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "mezan/core/errors.hpp"
#include "mezan/core/rng.hpp"

namespace mezan::evo {

enum class Crossover { ox, pmx, cx, position, uniform };
enum class Mutation { swap, insert, inversion, scramble };

inline Crossover parse_crossover(const std::string& s) {
  if (s == "ox") return Crossover::ox;
  if (s == "pmx") return Crossover::pmx;
  if (s == "cx") return Crossover::cx;
  if (s == "position") return Crossover::position;
  if (s == "uniform") return Crossover::uniform;
  throw unknown_name("crossover", s, {"ox", "pmx", "cx", "position", "uniform"});
}

inline Mutation parse_mutation(const std::string& s) {
  if (s == "swap") return Mutation::swap;
  if (s == "insert") return Mutation::insert;
  if (s == "inversion") return Mutation::inversion;
  if (s == "scramble") return Mutation::scramble;
  throw unknown_name("mutation", s, {"swap", "insert", "inversion", "scramble"});
}

/// Per-thread work buffers of size n (positions, used-marks, an order list).
struct Scratch {
  explicit Scratch(int n = 0) : pos(n), used(n), order(n) {}  // every buffer has exactly n entries
  std::vector<int> pos;
  std::vector<char> used;
  std::vector<int> order;
};

/// Random bits drawn 64 at a time (the coin flips of position-based and uniform-like crossover).
class CoinFlips {
 public:
  explicit CoinFlips(Rng& rng) : rng_(rng) {}
  bool next() {
    if (left_ == 0) {
      bits_ = rng_.next();
      left_ = 64;
    }
    --left_;
    const bool bit = bits_ & 1;
    bits_ >>= 1;
    return bit;
  }

 private:
  Rng& rng_;
  std::uint64_t bits_ = 0;
  int left_ = 0;
};

/// Two cut points 0 <= a < b <= n, drawn uniformly.
inline void random_cut(int n, Rng& rng, int& a, int& b) {
  a = static_cast<int>(rng.below(n));
  b = static_cast<int>(rng.below(n));
  if (a > b) std::swap(a, b);
  ++b;
}

inline void order_crossover(const int* p1, const int* p2, int n, int a, int b, int* child, Scratch& s) {
  std::fill(s.used.begin(), s.used.end(), 0);
  for (int i = a; i < b; ++i) {
    child[i] = p1[i];
    s.used[p1[i]] = 1;
  }
  int out = b % n;
  for (int k = 0; k < n; ++k) {
    const int v = p2[(b + k) % n];
    if (s.used[v]) continue;
    child[out] = v;
    out = (out + 1) % n;
  }
}

inline void pmx(const int* p1, const int* p2, int n, int a, int b, int* child, Scratch& s) {
  std::fill(s.used.begin(), s.used.end(), 0);
  for (int i = 0; i < n; ++i) s.pos[p1[i]] = i;  // position of each element in p1
  for (int i = a; i < b; ++i) {
    child[i] = p1[i];
    s.used[p1[i]] = 1;
  }
  for (int i = 0; i < n; ++i) {
    if (i >= a && i < b) continue;
    int v = p2[i];
    while (s.used[v]) v = p2[s.pos[v]];  // v is in p1's section: follow the mapping
    child[i] = v;
  }
}

inline void cycle_crossover(const int* p1, const int* p2, int n, int* child, Scratch& s) {
  for (int i = 0; i < n; ++i) s.pos[p1[i]] = i;
  std::fill(s.used.begin(), s.used.end(), 0);  // used[i]: position i assigned
  bool from_p1 = true;
  for (int start = 0; start < n; ++start) {
    if (s.used[start]) continue;
    int i = start;
    do {
      s.used[i] = 1;
      child[i] = from_p1 ? p1[i] : p2[i];
      i = s.pos[p2[i]];
    } while (i != start);
    from_p1 = !from_p1;
  }
}

inline void position_based_crossover(const int* p1, const int* p2, int n, int* child, Rng& rng, Scratch& s) {
  std::fill(s.used.begin(), s.used.end(), 0);  // used[v]: element v placed
  CoinFlips coin(rng);
  for (int i = 0; i < n; ++i) {
    if (coin.next()) {
      child[i] = p1[i];
      s.used[p1[i]] = 1;
    } else {
      child[i] = -1;
    }
  }
  int k = 0;
  for (int i = 0; i < n; ++i) {
    if (child[i] >= 0) continue;
    while (s.used[p2[k]]) ++k;
    child[i] = p2[k];
    s.used[p2[k]] = 1;
  }
}

inline void uniform_like_crossover(const int* p1, const int* p2, int n, int* child, Rng& rng, Scratch& s) {
  std::fill(s.used.begin(), s.used.end(), 0);
  int open = 0;
  for (int i = 0; i < n; ++i) {
    if (p1[i] == p2[i]) {
      child[i] = p1[i];
      s.used[p1[i]] = 1;
    } else {
      child[i] = -1;
      s.order[open++] = i;
    }
  }
  // Visit the open positions in random order.
  for (int k = open; k > 1; --k) std::swap(s.order[k - 1], s.order[rng.below(static_cast<std::uint32_t>(k))]);
  int left = 0;
  CoinFlips coin(rng);
  for (int k = 0; k < open; ++k) {
    const int i = s.order[k];
    const int first = coin.next() ? p1[i] : p2[i];
    const int second = first == p1[i] ? p2[i] : p1[i];
    if (!s.used[first]) {
      child[i] = first;
      s.used[first] = 1;
    } else if (!s.used[second]) {
      child[i] = second;
      s.used[second] = 1;
    } else {
      s.order[left++] = i;  // reuse the visited prefix of order[] for still-empty positions
    }
  }
  // Fill the still-empty positions with the unused elements in random order.
  int placed = 0;
  std::vector<int>& free_values = s.pos;
  for (int v = 0; v < n; ++v)
    if (!s.used[v]) free_values[placed++] = v;
  for (int k = placed; k > 1; --k) std::swap(free_values[k - 1], free_values[rng.below(static_cast<std::uint32_t>(k))]);
  for (int k = 0; k < left; ++k) child[s.order[k]] = free_values[k];
}

inline void crossover(Crossover kind, const int* p1, const int* p2, int n, int* child, Rng& rng, Scratch& s) {
  int a, b;
  switch (kind) {
    case Crossover::ox:
      random_cut(n, rng, a, b);
      order_crossover(p1, p2, n, a, b, child, s);
      return;
    case Crossover::pmx:
      random_cut(n, rng, a, b);
      pmx(p1, p2, n, a, b, child, s);
      return;
    case Crossover::cx:
      cycle_crossover(p1, p2, n, child, s);
      return;
    case Crossover::position:
      position_based_crossover(p1, p2, n, child, rng, s);
      return;
    case Crossover::uniform:
      uniform_like_crossover(p1, p2, n, child, rng, s);
      return;
  }
}

inline void mutate(Mutation kind, int* p, int n, Rng& rng) {
  if (n < 2) return;
  int i = static_cast<int>(rng.below(n));
  int j = static_cast<int>(rng.below(n - 1));
  if (j >= i) ++j;  // i != j
  switch (kind) {
    case Mutation::swap:
      std::swap(p[i], p[j]);
      return;
    case Mutation::insert: {  // move the element at i to position j
      const int v = p[i];
      if (i < j)
        std::copy(p + i + 1, p + j + 1, p + i);
      else
        std::copy_backward(p + j, p + i, p + i + 1);
      p[j] = v;
      return;
    }
    case Mutation::inversion:
      if (i > j) std::swap(i, j);
      std::reverse(p + i, p + j + 1);
      return;
    case Mutation::scramble:
      if (i > j) std::swap(i, j);
      for (int k = j - i + 1; k > 1; --k) std::swap(p[i + k - 1], p[i + rng.below(static_cast<std::uint32_t>(k))]);
      return;
  }
}

/// Tournament of size k over fitness (minimised): index of the best of k uniform draws.
inline int tournament(const std::vector<double>& fitness, int k, Rng& rng) {
  const int m = static_cast<int>(fitness.size());
  int best = static_cast<int>(rng.below(m));
  for (int t = 1; t < k; ++t) {
    const int c = static_cast<int>(rng.below(m));
    if (fitness[c] < fitness[best]) best = c;
  }
  return best;
}

/// Linear rank selection: `ranked` lists indices best first; rank r (0-based) is drawn with
/// probability proportional to m - r.
inline int rank_select(const std::vector<int>& ranked, Rng& rng) {
  const std::uint64_t m = ranked.size();
  const std::uint64_t total = m * (m + 1) / 2;
  std::uint64_t ticket = static_cast<std::uint64_t>(rng.uniform() * static_cast<double>(total));
  for (std::uint64_t r = 0; r < m; ++r) {
    const std::uint64_t weight = m - r;
    if (ticket < weight) return ranked[r];
    ticket -= weight;
  }
  return ranked.back();
}

/// Number of positions where p and q differ. Stops counting once it reaches `bound` (then returns
/// a value >= bound): callers that only ask "closer than bound?" pay about bound comparisons.
inline double hamming_distance(const int* p, const int* q, int n,
                               double bound = std::numeric_limits<double>::infinity()) {
  int d = 0;
  int i = 0;
  for (; i + 16 <= n; i += 16) {  // blocks of 16 vectorise; the bound is checked between blocks
    for (int j = i; j < i + 16; ++j) d += p[j] != q[j];
    if (d >= bound) return d;
  }
  for (; i < n; ++i) d += p[i] != q[i];
  return d;
}

/// Sum over elements of |position in p - position in q| (pos_q: position of each element in q),
/// with the same early stop at `bound`.
inline double position_distance(const int* p, const int* pos_q, int n,
                                double bound = std::numeric_limits<double>::infinity()) {
  double d = 0;
  for (int i = 0; i < n; ++i)
    if ((d += std::abs(i - pos_q[p[i]])) >= bound) break;
  return d;
}

}  // namespace mezan::evo
