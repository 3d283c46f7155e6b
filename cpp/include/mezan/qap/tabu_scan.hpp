// The scan of one robust tabu search iteration (tabu.hpp): which swap to make, out of the m(m-1)/2.
//
// Taillard's rule, as RoTS applies it pair by pair in order (a = 0..m-2, b = a+1..m-1):
//   aspired    = a facility has not been on its target location for `aspiration` iterations, or the
//                swap gives a new best cost (cost + delta < best);
//   authorised = at least one facility's tabu on its target location has expired;
//   take the first pair of least delta among the aspired pairs if there are any, else among the
//   authorised pairs, else among all pairs.
// That is one argmin of the key (class, delta, pair order) with class 0 = aspired, 1 = authorised and
// not aspired, 2 = neither — which is what is computed here, without branches: each vector lane keeps
// its own best key and pair index (strict <, so the first of equal keys in the lane), and the lanes are
// reduced at the end (least key, then least index, which is the scan order).
//
// Tabu state per pair. Both conditions only ever ask whether min(t_u, t_v) < it and < it - aspiration,
// where t_u is the tabu time of facility u on v's current location and t_v that of v on u's; so the
// search keeps, beside the tabu lists, the matrix tabu_min[a][b] = min(t_u, t_v) laid out exactly like
// the delta table (same stride, same padding): the scan reads two contiguous rows.
//
// Two variants, each compiled twice (plain and AVX2, see simd.hpp):
//  * 32-bit (integer data in the 32-bit ring, permuted_delta_table.hpp): deltas are int32 with
//    |delta| <= 2^28, tabu times int32 relative to a base iteration (tabu.hpp keeps them in range), so
//    the class becomes an offset: key = delta - 2^30 (aspired), delta (authorised), delta + 2^30 (neither)
//    — one int32 argmin, 8 pairs per AVX2 instruction. The padding (delta pad(), tabu time INT32_MAX)
//    has a key above every real one, so rows are read in whole vectors.
//  * 64-bit (int64 or double deltas, int64 tabu times): a lexicographic (class, delta) argmin, 4 pairs
//    per instruction, the lanes past the end of a row masked out. cost + delta < best is evaluated as
//    written (one rounded addition for doubles), so the decision is the reference's, bit for bit.
#pragma once
#include <cstdint>
#include <limits>
#include <type_traits>

#include "mezan/qap/simd.hpp"

namespace mezan::qap {

/// A scan's choice: the pair (a, b), a < b, as positions in the movable list.
struct ScanChoice {
  int a = 0, b = 1;
};

/// Inputs of the 32-bit scan. it and old = it - aspiration are relative to the tabu clock's base;
/// improve = best - cost clamped to int32 (a delta below it gives a new best).
struct Scan32 {
  const std::uint32_t* delta;  // m rows of `stride`, read as int32
  const std::int32_t* tabu_min;
  int m, stride;
  std::int32_t it, old, improve;
};

inline constexpr std::int32_t kClassStep = 1 << 30;

inline ScanChoice scan32_plain(const Scan32& q) {
  std::int32_t best_key = std::numeric_limits<std::int32_t>::max();
  ScanChoice best;
  for (int a = 0; a + 1 < q.m; ++a) {
    const std::uint32_t* drow = q.delta + static_cast<std::size_t>(a) * q.stride;
    const std::int32_t* trow = q.tabu_min + static_cast<std::size_t>(a) * q.stride;
    for (int b = a + 1; b < q.m; ++b) {
      const std::int32_t d = static_cast<std::int32_t>(drow[b]);
      const bool aspired = trow[b] < q.old || d < q.improve;
      const bool authorised = trow[b] < q.it;
      const std::int32_t key = d + (aspired ? -kClassStep : authorised ? 0 : kClassStep);
      if (key < best_key) {
        best_key = key;
        best = {a, b};
      }
    }
  }
  return best;
}

#if MEZAN_X86_DISPATCH
MEZAN_TARGET_AVX2 inline ScanChoice scan32_avx2(const Scan32& q) {
  const __m256i it = _mm256_set1_epi32(q.it), old = _mm256_set1_epi32(q.old), improve = _mm256_set1_epi32(q.improve);
  const __m256i step = _mm256_set1_epi32(kClassStep), eight = _mm256_set1_epi32(8);
  const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  __m256i best_key = _mm256_set1_epi32(std::numeric_limits<std::int32_t>::max());
  __m256i best_index = _mm256_setzero_si256();
  for (int a = 0; a + 1 < q.m; ++a) {
    const std::uint32_t* drow = q.delta + static_cast<std::size_t>(a) * q.stride;
    const std::int32_t* trow = q.tabu_min + static_cast<std::size_t>(a) * q.stride;
    __m256i index = _mm256_add_epi32(_mm256_set1_epi32(a * q.stride + a + 1), lane);  // a * stride + b
    for (int b = a + 1; b < q.m; b += 8) {
      const __m256i d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(drow + b));
      const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(trow + b));
      const __m256i aspired = _mm256_or_si256(_mm256_cmpgt_epi32(old, t), _mm256_cmpgt_epi32(improve, d));
      const __m256i authorised = _mm256_cmpgt_epi32(it, t);
      // key = d + 2^30 * (1 - [aspired or authorised] - [aspired]); the masks are 0 / -1
      const __m256i classes = _mm256_add_epi32(_mm256_or_si256(aspired, authorised), aspired);  // 0, -1, -2
      const __m256i key = _mm256_add_epi32(_mm256_add_epi32(d, step), _mm256_slli_epi32(classes, 30));
      const __m256i better = _mm256_cmpgt_epi32(best_key, key);
      best_key = _mm256_min_epi32(best_key, key);
      best_index = _mm256_blendv_epi8(best_index, index, better);
      index = _mm256_add_epi32(index, eight);
    }
  }
  alignas(32) std::int32_t keys[8], indices[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(keys), best_key);
  _mm256_store_si256(reinterpret_cast<__m256i*>(indices), best_index);
  int k = 0;
  for (int l = 1; l < 8; ++l)
    if (keys[l] < keys[k] || (keys[l] == keys[k] && indices[l] < indices[k])) k = l;
  return {indices[k] / q.stride, indices[k] % q.stride};
}
#endif

inline ScanChoice scan32(const Scan32& q, bool simd) {
#if MEZAN_X86_DISPATCH
  if (simd) return scan32_avx2(q);
#endif
  (void)simd;
  return scan32_plain(q);
}

/// Inputs of the 64-bit scan (S = std::int64_t or double); tabu times are absolute iterations.
template <class S>
struct Scan64 {
  const S* delta;
  const std::int64_t* tabu_min;
  int m, stride;
  std::int64_t it, old;
  S cost, best;
};

template <class S>
ScanChoice scan64_plain(const Scan64<S>& q) {
  int best_class = 3;
  S best_delta = S(0);
  ScanChoice best;
  for (int a = 0; a + 1 < q.m; ++a) {
    const S* drow = q.delta + static_cast<std::size_t>(a) * q.stride;
    const std::int64_t* trow = q.tabu_min + static_cast<std::size_t>(a) * q.stride;
    for (int b = a + 1; b < q.m; ++b) {
      const S d = drow[b];
      const bool aspired = trow[b] < q.old || q.cost + d < q.best;
      const int cls = aspired ? 0 : trow[b] < q.it ? 1 : 2;
      if (cls < best_class || (cls == best_class && d < best_delta)) {
        best_class = cls;
        best_delta = d;
        best = {a, b};
      }
    }
  }
  return best;
}

#if MEZAN_X86_DISPATCH
template <class S>
MEZAN_TARGET_AVX2 ScanChoice scan64_avx2(const Scan64<S>& q) {
  static_assert(std::is_same_v<S, std::int64_t> || std::is_same_v<S, double>);
  // Per lane: best class (0..3, 3 = nothing yet), its delta (as the raw 64 bits), its pair index.
  const __m256i it = _mm256_set1_epi64x(q.it), old = _mm256_set1_epi64x(q.old);
  const __m256i one = _mm256_set1_epi64x(1), four = _mm256_set1_epi64x(4);
  const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
  __m256i best_class = _mm256_set1_epi64x(3), best_delta = _mm256_setzero_si256(), best_index = _mm256_setzero_si256();
  for (int a = 0; a + 1 < q.m; ++a) {
    const S* drow = q.delta + static_cast<std::size_t>(a) * q.stride;
    const std::int64_t* trow = q.tabu_min + static_cast<std::size_t>(a) * q.stride;
    const __m256i row_end = _mm256_set1_epi64x(static_cast<std::int64_t>(a) * q.stride + q.m);
    __m256i index = _mm256_add_epi64(_mm256_set1_epi64x(static_cast<std::int64_t>(a) * q.stride + a + 1), lane);
    for (int b = a + 1; b < q.m; b += 4) {
      const __m256i t = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(trow + b));
      __m256i d, improving, lower;  // d: the raw bits; improving: cost + d < best; lower: d < best_delta
      if constexpr (std::is_same_v<S, double>) {
        const __m256d dv = _mm256_loadu_pd(drow + b);
        d = _mm256_castpd_si256(dv);
        improving = _mm256_castpd_si256(
            _mm256_cmp_pd(_mm256_add_pd(_mm256_set1_pd(q.cost), dv), _mm256_set1_pd(q.best), _CMP_LT_OQ));
        lower = _mm256_castpd_si256(_mm256_cmp_pd(dv, _mm256_castsi256_pd(best_delta), _CMP_LT_OQ));
      } else {
        d = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(drow + b));
        improving = _mm256_cmpgt_epi64(_mm256_set1_epi64x(q.best), _mm256_add_epi64(_mm256_set1_epi64x(q.cost), d));
        lower = _mm256_cmpgt_epi64(best_delta, d);
      }
      const __m256i aspired = _mm256_or_si256(_mm256_cmpgt_epi64(old, t), improving);
      const __m256i authorised = _mm256_cmpgt_epi64(it, t);
      // class = 2 + [aspired or authorised] * -1 + [aspired] * -1 (masks are 0 / -1)
      const __m256i cls = _mm256_add_epi64(_mm256_add_epi64(_mm256_add_epi64(one, one), aspired),
                                           _mm256_or_si256(aspired, authorised));
      const __m256i better = _mm256_and_si256(
          _mm256_or_si256(_mm256_cmpgt_epi64(best_class, cls),
                          _mm256_and_si256(_mm256_cmpeq_epi64(best_class, cls), lower)),
          _mm256_cmpgt_epi64(row_end, index));  // lanes past the row's end never win
      best_class = _mm256_blendv_epi8(best_class, cls, better);
      best_delta = _mm256_blendv_epi8(best_delta, d, better);
      best_index = _mm256_blendv_epi8(best_index, index, better);
      index = _mm256_add_epi64(index, four);
    }
  }
  alignas(32) std::int64_t classes[4], indices[4];
  alignas(32) S deltas[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(classes), best_class);
  _mm256_store_si256(reinterpret_cast<__m256i*>(indices), best_index);
  _mm256_store_si256(reinterpret_cast<__m256i*>(deltas), best_delta);
  int k = 0;
  for (int l = 1; l < 4; ++l) {
    const bool better = classes[l] < classes[k] ||
                        (classes[l] == classes[k] && (deltas[l] < deltas[k] || (!(deltas[k] < deltas[l]) && indices[l] < indices[k])));
    if (better) k = l;
  }
  return {static_cast<int>(indices[k] / q.stride), static_cast<int>(indices[k] % q.stride)};
}
#endif

template <class S>
ScanChoice scan64(const Scan64<S>& q, bool simd) {
#if MEZAN_X86_DISPATCH
  if (simd) return scan64_avx2(q);
#endif
  (void)simd;
  return scan64_plain(q);
}

}  // namespace mezan::qap
