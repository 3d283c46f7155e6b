// Incumbent: the best solution found so far by all workers of one solve, with its anytime trace.
//
// Workers call offer() when their own best improves; the incumbent keeps the global best, appends
// (elapsed seconds, objective) to the trace on every global improvement, and raises the stop token
// when the target objective is reached. A lock-free read of the best value lets workers skip the
// mutex when they cannot improve. Readers (the Python progress display) poll snapshot(). Optionally
// (track_sources) it records per source (the offering thread's incumbent_source) the gains it made and
// its own best: the multi-thread portfolio moves effort by them. An incumbent may forward to another
// (a private view): what improves it is offered on to the other, and its iterations are counted there
// too, while its readers see only their own offers — thread 0 of a multi-thread solve runs so (solve.hpp).
#pragma once
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <limits>
#include <mutex>
#include <utility>
#include <vector>

#include "mezan/core/stop_token.hpp"

namespace mezan {

/// Who is offering, for the incumbent's per-source record (track_sources): a worker sets it for its thread
/// (the multi-thread portfolio sets its thread's index); -1, the default, records nothing.
inline thread_local int incumbent_source = -1;

class Incumbent {
 public:
  explicit Incumbent(StopToken& stop) : stop_(stop) {}
  /// A private view: offers that improve it are also offered to `forward`, iterations are added to both.
  Incumbent(StopToken& stop, Incumbent* forward) : stop_(stop), forward_(forward) {}

  /// Offer a candidate; returns true if it became the new global best. The first candidate is always
  /// kept, whatever its value (so a solve always has a solution to report); a NaN objective never
  /// replaces a kept one and never enters the trace.
  bool offer(double objective, const std::vector<int>& solution) {
    const bool kept = keep(objective, solution);
    if (kept && forward_ != nullptr) forward_->offer(objective, solution);
    return kept;
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

  /// Keep a record for the sources 0..count-1 (call before the workers start): per source, the summed
  /// relative improvements (old - new) / |old| of the global best its offers made, and the best solution
  /// it offered (whether or not that became the global best). A tracked offer always takes the mutex.
  void track_sources(int count) { sources_.assign(static_cast<std::size_t>(std::max(0, count)), Source{}); }
  double gain_of(int source) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return source >= 0 && source < static_cast<int>(sources_.size()) ? sources_[source].gain : 0.0;
  }
  /// The best solution `source` offered (empty if none).
  std::vector<int> solution_of(int source) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return source >= 0 && source < static_cast<int>(sources_.size()) ? sources_[source].solution : std::vector<int>{};
  }

  void add_iterations(std::int64_t k) {
    iterations_.fetch_add(k, std::memory_order_relaxed);
    if (forward_ != nullptr) forward_->add_iterations(k);
  }
  std::int64_t iterations() const { return iterations_.load(std::memory_order_relaxed); }

 private:
  /// offer() for this incumbent alone: true if the candidate became its best.
  bool keep(double objective, const std::vector<int>& solution) {
    const int source = incumbent_source;
    const bool tracked = source >= 0 && source < static_cast<int>(sources_.size());
    if (!tracked && has_solution_.load(std::memory_order_acquire) &&
        !(objective < best_.load(std::memory_order_relaxed)))
      return false;
    std::lock_guard<std::mutex> lock(mutex_);
    if (tracked && !std::isnan(objective) && (sources_[source].solution.empty() || objective < sources_[source].best)) {
      sources_[source].best = objective;
      sources_[source].solution = solution;
    }
    const bool first = !has_solution_.load();
    if (!first && !(objective < best_.load())) return false;
    solution_ = solution;
    has_solution_.store(true, std::memory_order_release);
    if (std::isnan(objective)) return first;
    const double previous = best_.load();
    if (tracked && !first && std::isfinite(previous))
      sources_[source].gain += (previous - objective) / std::max(1e-12, std::abs(previous));
    best_.store(objective);
    trace_.emplace_back(stop_.elapsed(), objective);
    if (objective <= stop_.target()) stop_.request_stop(StopReason::target);
    return true;
  }

  StopToken& stop_;
  Incumbent* forward_ = nullptr;  // a private view's shared incumbent (not owned), or none
  mutable std::mutex mutex_;
  std::atomic<double> best_{std::numeric_limits<double>::infinity()};
  std::atomic<bool> has_solution_{false};
  std::vector<int> solution_;
  std::vector<std::pair<double, double>> trace_;
  std::atomic<std::int64_t> iterations_{0};
  struct Source {
    double gain = 0.0;
    double best = std::numeric_limits<double>::infinity();
    std::vector<int> solution;
  };
  std::vector<Source> sources_;  // sized by track_sources before the workers start, then only its entries change
};

}  // namespace mezan
