// Incumbent: the best solution found so far by all workers of one solve, with its anytime trace.
//
// Workers call offer() when their own best improves; the incumbent keeps the global best, appends
// (elapsed seconds, objective) to the trace on every global improvement, and raises the stop token
// when the target objective is reached. A lock-free read of the best value lets workers skip the
// mutex when they cannot improve. Readers (the Python progress display) poll snapshot().
#pragma once
#include <atomic>
#include <cmath>
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

  /// Offer a candidate; returns true if it became the new global best. The first candidate is always
  /// kept, whatever its value (so a solve always has a solution to report); a NaN objective never
  /// replaces a kept one and never enters the trace.
  bool offer(double objective, const std::vector<int>& solution) {
    if (has_solution_.load(std::memory_order_acquire) && !(objective < best_.load(std::memory_order_relaxed)))
      return false;
    std::lock_guard<std::mutex> lock(mutex_);
    const bool first = !has_solution_.load();
    if (!first && !(objective < best_.load())) return false;
    solution_ = solution;
    has_solution_.store(true, std::memory_order_release);
    if (std::isnan(objective)) return first;
    best_.store(objective);
    trace_.emplace_back(stop_.elapsed(), objective);
    if (objective <= stop_.target()) stop_.request_stop(StopReason::target);
    return true;
  }

  /// The best objective offered (+inf before any finite one).
  double best() const { return best_.load(); }
  bool has_solution() const { return has_solution_.load(std::memory_order_acquire); }

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
  std::atomic<bool> has_solution_{false};
  std::vector<int> solution_;
  std::vector<std::pair<double, double>> trace_;
  std::atomic<std::int64_t> iterations_{0};
};

}  // namespace mezan
