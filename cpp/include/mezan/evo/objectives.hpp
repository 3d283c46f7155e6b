// Objectives the evolutionary engine minimises over permutations, and their local searches.
//
// PermutationObjective is the engine's only view of a problem: evaluate one permutation, and
// optionally improve one in place (the memetic hook). Built-ins run entirely in C++ and are
// thread-safe (const), so batches are evaluated in parallel:
//  QAPObjective           f(p) = sum_ij A[i,j] B[p_i,p_j]; local search: first-improvement swaps
//                         with O(n) deltas (mezan/qap/local_search.hpp — the same code QAPFlow runs).
//  TSPObjective           tour length of the closed tour p_0 -> p_1 -> ... -> p_{n-1} -> p_0 over a
//                         distance matrix D; local search: first-improvement 2-opt, O(n^2) per pass.
//  LinearOrderingObjective  f(p) = sum of W[p_j, p_i] over i < j (the weight of backward pairs);
//                         minimising it maximises the forward weight sum_{i<j} W[p_i, p_j].
//                         Local search: first-improvement insertion moves with O(n) gains.
#pragma once
#include <algorithm>
#include <cstdint>
#include <future>
#include <vector>

#include "mezan/core/stop_token.hpp"
#include "mezan/core/thread_pool.hpp"
#include "mezan/qap/local_search.hpp"

namespace mezan::evo {

class PermutationObjective {
 public:
  virtual ~PermutationObjective() = default;
  virtual int size() const = 0;
  virtual double evaluate(const int* p) const = 0;
  /// Improve p in place; returns its new value. Default: no local search.
  virtual double improve(int* p, StopToken& /*stop*/) const { return evaluate(p); }
  virtual bool has_local_search() const { return false; }
  /// May evaluate() run on several threads at once? (built-ins: yes, a Python callable: no)
  virtual bool thread_safe() const { return true; }
  /// Evaluate count permutations stored back to back in `batch` (n ints each). The engine calls
  /// this once per generation; the default splits the batch over `pool` (built-ins are const and
  /// thread-safe). A Python callable overrides it to take the GIL once per batch.
  virtual void evaluate_batch(std::vector<int>& batch, int count, bool improve_each, std::vector<double>& out,
                              StopToken& stop, ThreadPool* pool) const {
    const int n = size();
    auto work = [&](int begin, int end) {
      for (int c = begin; c < end; ++c) {
        int* p = batch.data() + static_cast<std::size_t>(c) * n;
        out[c] = improve_each ? improve(p, stop) : evaluate(p);
      }
    };
    if (!pool || pool->size() < 2 || count < 2) {
      work(0, count);
      return;
    }
    const int parts = static_cast<int>(pool->size());
    std::vector<std::future<void>> done;
    for (int k = 0; k < parts; ++k) {
      const int begin = count * k / parts, end = count * (k + 1) / parts;
      done.push_back(pool->submit([&work, begin, end] { work(begin, end); }));
    }
    for (auto& f : done) f.get();
  }
};

template <class T>
class QAPObjective : public PermutationObjective {
 public:
  explicit QAPObjective(qap::Instance<T> inst) : inst_(std::move(inst)) {
    for (int i = 0; i < inst_.n(); ++i) all_.push_back(i);
  }
  int size() const override { return inst_.n(); }
  double evaluate(const int* p) const override { return static_cast<double>(qap::objective(inst_, p)); }
  double improve(int* p, StopToken& stop) const override {
    std::vector<int> q(p, p + inst_.n());
    qap::first_improvement(inst_, all_, q, stop);
    std::copy(q.begin(), q.end(), p);
    return evaluate(p);
  }
  bool has_local_search() const override { return true; }
  const qap::Instance<T>& instance() const { return inst_; }

 private:
  qap::Instance<T> inst_;
  std::vector<int> all_;
};

class TSPObjective : public PermutationObjective {
 public:
  TSPObjective(int n, std::vector<double> d) : n_(n), d_(std::move(d)) {
    for (int a = 0; a < n_ && symmetric_; ++a)
      for (int b = a + 1; b < n_; ++b)
        if (dist(a, b) != dist(b, a)) {
          symmetric_ = false;
          break;
        }
  }
  int size() const override { return n_; }
  double dist(int a, int b) const { return d_[static_cast<std::size_t>(a) * n_ + b]; }
  double evaluate(const int* p) const override {
    double length = dist(p[n_ - 1], p[0]);
    for (int i = 0; i + 1 < n_; ++i) length += dist(p[i], p[i + 1]);
    return length;
  }
  /// 2-opt: reverse p[i+1..j] when d(p_i,p_j) + d(p_{i+1},p_{j+1}) < d(p_i,p_{i+1}) + d(p_j,p_{j+1}).
  /// Offered for symmetric D only (reversing a segment changes its inner cost when D is asymmetric).
  double improve(int* p, StopToken& stop) const override {
    bool improved = true;
    while (improved && !stop.should_stop()) {
      improved = false;
      for (int i = 0; i < n_ - 2; ++i) {
        const int a = p[i], b = p[i + 1];
        const double dab = dist(a, b);
        for (int j = i + 2; j < n_ - (i == 0 ? 1 : 0); ++j) {
          const int c = p[j], e = p[(j + 1) % n_];
          if (dist(a, c) + dist(b, e) < dab + dist(c, e) - 1e-12) {
            std::reverse(p + i + 1, p + j + 1);
            improved = true;
            break;
          }
        }
      }
    }
    return evaluate(p);
  }
  bool has_local_search() const override { return symmetric_; }

 private:
  int n_;
  std::vector<double> d_;
  bool symmetric_ = true;
};

class LinearOrderingObjective : public PermutationObjective {
 public:
  LinearOrderingObjective(int n, std::vector<double> w) : n_(n), w_(std::move(w)) {}
  int size() const override { return n_; }
  double weight(int a, int b) const { return w_[static_cast<std::size_t>(a) * n_ + b]; }
  double evaluate(const int* p) const override {
    double backward = 0;
    for (int i = 0; i < n_; ++i)
      for (int j = i + 1; j < n_; ++j) backward += weight(p[j], p[i]);
    return backward;
  }
  /// Insertion moves: moving v right past x changes f by w(v, x) - w(x, v), moving it left past x
  /// by w(x, v) - w(v, x); the gain of a move is the sum over the elements passed.
  double improve(int* p, StopToken& stop) const override {
    bool improved = true;
    while (improved && !stop.should_stop()) {
      improved = false;
      for (int i = 0; i < n_ && !improved; ++i) {
        const int v = p[i];
        double gain = 0;
        for (int j = i + 1; j < n_; ++j) {  // move right past p[j]
          gain += weight(v, p[j]) - weight(p[j], v);
          if (gain < -1e-12) {
            std::copy(p + i + 1, p + j + 1, p + i);
            p[j] = v;
            improved = true;
            break;
          }
        }
        if (improved) break;
        gain = 0;
        for (int j = i - 1; j >= 0; --j) {  // move left past p[j]
          gain += weight(p[j], v) - weight(v, p[j]);
          if (gain < -1e-12) {
            std::copy_backward(p + j, p + i, p + i + 1);
            p[j] = v;
            improved = true;
            break;
          }
        }
      }
    }
    return evaluate(p);
  }
  bool has_local_search() const override { return true; }

 private:
  int n_;
  std::vector<double> w_;
};

}  // namespace mezan::evo
