// Objective and 2-exchange (swap) deltas of the QAP.
//
// objective(p)            = sum_ij A[i,j] B[p_i,p_j]                        O(n^2)
// swap_delta(p, r, s)     = f(p with p_r and p_s exchanged) - f(p)           O(n)
//   general (Taillard 1991, eq. for Delta(p, r, s)):
//     (a_rr - a_ss)(b_{p_s p_s} - b_{p_r p_r}) + (a_rs - a_sr)(b_{p_s p_r} - b_{p_r p_s})
//     + sum_{k != r,s} (a_kr - a_ks)(b_{p_k p_s} - b_{p_k p_r}) + (a_rk - a_sk)(b_{p_s p_k} - b_{p_r p_k})
//   symmetric A and B: the two sums are equal, so one of them is computed and doubled.
#pragma once
#include <vector>

#include "mezan/qap/instance.hpp"

namespace mezan::qap {

template <class T>
T objective(const Instance<T>& inst, const int* p) {
  const int n = inst.n();
  T total = 0;
  for (int i = 0; i < n; ++i) {
    const T* ai = inst.a_row(i);
    const T* bpi = inst.b_row(p[i]);
    T row = 0;
    for (int j = 0; j < n; ++j) row += ai[j] * bpi[p[j]];
    total += row;
  }
  return total;
}

template <class T>
T objective(const Instance<T>& inst, const std::vector<int>& p) {
  return objective(inst, p.data());
}

template <class T>
T swap_delta(const Instance<T>& inst, const int* p, int r, int s) {
  const int n = inst.n();
  const int pr = p[r], ps = p[s];
  const T* ar = inst.a_row(r);
  const T* as = inst.a_row(s);
  const T* br = inst.b_row(pr);
  const T* bs = inst.b_row(ps);
  // Sum over all k, then remove the k = r and k = s terms (keeps the loop branch-free).
  T sum = 0;
  if (inst.symmetric()) {
    for (int k = 0; k < n; ++k) sum += (ar[k] - as[k]) * (bs[p[k]] - br[p[k]]);
    sum -= (ar[r] - as[r]) * (bs[pr] - br[pr]) + (ar[s] - as[s]) * (bs[ps] - br[ps]);
    return 2 * sum + (ar[r] - as[s]) * (bs[ps] - br[pr]);
  }
  const T* atr = inst.at_row(r);
  const T* ats = inst.at_row(s);
  const T* btr = inst.bt_row(pr);
  const T* bts = inst.bt_row(ps);
  for (int k = 0; k < n; ++k) {
    const int pk = p[k];
    sum += (atr[k] - ats[k]) * (bts[pk] - btr[pk]) + (ar[k] - as[k]) * (bs[pk] - br[pk]);
  }
  sum -= (atr[r] - ats[r]) * (bts[pr] - btr[pr]) + (ar[r] - as[r]) * (bs[pr] - br[pr]);
  sum -= (atr[s] - ats[s]) * (bts[ps] - btr[ps]) + (ar[s] - as[s]) * (bs[ps] - br[ps]);
  return sum + (ar[r] - as[s]) * (bs[ps] - br[pr]) + (ar[s] - as[r]) * (bs[pr] - br[ps]);
}

template <class T>
T swap_delta(const Instance<T>& inst, const std::vector<int>& p, int r, int s) {
  return swap_delta(inst, p.data(), r, s);
}

}  // namespace mezan::qap
