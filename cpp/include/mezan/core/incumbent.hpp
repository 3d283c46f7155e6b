// Incumbent: the best solution found so far by all workers of one solve, with its anytime trace.
//
// Workers call offer() when their own best improves; the incumbent keeps the global best, appends
// (elapsed seconds, objective) to the trace on every global improvement, and raises the stop token
// when the target objective is reached. A lock-free read of the best value lets workers skip the
// mutex when they cannot improve. Readers (the Python progress display) poll snapshot().
#pragma once
#include <atomic>
#include <cstdint>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "mezan/core/stop_token.hpp"

namespace mezan {

class Incumbent {
 public:
  explicit Incumbent(StopToken& stop) : stop_(stop) {}

  /// Offer a candidate; returns true if it became the new global best.
  bool offer(double objective, const std::vector<int>& solution) {
    if (!(objective < best_.load(std::memory_order_relaxed))) return false;
    std::lock_guard<std::mutex> lock(mutex_);
    if (!(objective < best_.load())) return false;
    best_.store(objective);
    solution_ = solution;
    trace_.emplace_back(stop_.elapsed(), objective);
    if (objective <= stop_.target()) stop_.request_stop(StopReason::target);
    return true;
  }

  double best() const { return best_.load(); }
  bool has_solution() const { return best_.load() < std::numeric_limits<double>::infinity(); }

  std::vector<int> solution() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return solution_;
  }
  std::vector<std::pair<double, double>> trace() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return trace_;
  }

  void add_iterations(std::int64_t k) { iterations_.fetch_add(k, std::memory_order_relaxed); }
  std::int64_t iterations() const { return iterations_.load(std::memory_order_relaxed); }

 private:
  StopToken& stop_;
  mutable std::mutex mutex_;
  std::atomic<double> best_{std::numeric_limits<double>::infinity()};
  std::vector<int> solution_;
  std::vector<std::pair<double, double>> trace_;
  std::atomic<std::int64_t> iterations_{0};
};

}  // namespace mezan
