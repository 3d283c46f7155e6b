// StopToken: the one place every MEZAN loop asks "should I stop?".
//
// A token carries a wall-clock deadline, an optional target objective and a cancel flag shared by
// every worker of a solve. It is set once before the solve starts; afterwards only the cancel flag
// changes (from any thread: a Python Ctrl-C handler, a reached target, a user). Checking it costs
// one relaxed atomic load plus, when a deadline is set, one steady_clock read.
#pragma once
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>

namespace mezan {

enum class StopReason : int {
  none = 0,        // still running / ran to natural completion (e.g. local optimum reached)
  time_limit = 1,  // the wall-clock deadline passed
  iteration_limit = 2,
  target = 3,      // an objective <= target was found
  cancelled = 4,   // cancel() was called from outside
};

inline const char* to_string(StopReason r) {
  switch (r) {
    case StopReason::none: return "none";
    case StopReason::time_limit: return "time_limit";
    case StopReason::iteration_limit: return "iteration_limit";
    case StopReason::target: return "target";
    case StopReason::cancelled: return "cancelled";
  }
  return "none";
}

class StopToken {
 public:
  using Clock = std::chrono::steady_clock;

  StopToken() : start_(Clock::now()) {}

  /// Restart the clock and set the budget. time_limit <= 0 or inf means no deadline. A budget past what the
  /// clock can represent from now (about 292 years of steady_clock nanoseconds, less the uptime) saturates at
  /// the clock's last instant instead of overflowing into the past: every finite budget runs.
  void arm(double time_limit_seconds) {
    start_ = Clock::now();
    has_deadline_ = std::isfinite(time_limit_seconds) && time_limit_seconds > 0;
    if (has_deadline_) deadline_ = saturating_deadline(start_, time_limit_seconds);
    reason_.store(static_cast<int>(StopReason::none));
  }

  /// start + seconds, or Clock::time_point::max() when that sum would not fit in the clock's representation.
  static Clock::time_point saturating_deadline(Clock::time_point start, double seconds) {
    const double room = std::chrono::duration<double>(Clock::time_point::max() - start).count();
    if (!(seconds < 0.5 * room)) return Clock::time_point::max();  // margin for the double -> int64 rounding
    return start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  }

  void set_target(double target) { target_ = target; }
  double target() const { return target_; }

  /// Ask every worker to stop; the first reason recorded wins.
  void request_stop(StopReason why) {
    int expected = static_cast<int>(StopReason::none);
    reason_.compare_exchange_strong(expected, static_cast<int>(why));
  }
  void cancel() { request_stop(StopReason::cancelled); }

  /// Make this token also stop when `parent` stops (with the parent's reason): a round of a longer solve
  /// (the multi-thread portfolio's) gets its own deadline but still obeys the solve's budget, target and cancel.
  void follow(StopToken* parent) { parent_ = parent; }

  bool stop_requested() const {
    return reason_.load(std::memory_order_relaxed) != 0 || (parent_ != nullptr && parent_->stop_requested());
  }
  StopReason reason() const { return static_cast<StopReason>(reason_.load()); }

  /// The check done by every loop: true if a stop was requested or the deadline passed.
  bool should_stop() {
    if (parent_ != nullptr && parent_->should_stop()) {
      request_stop(parent_->reason());
      return true;
    }
    if (stop_requested()) return true;
    if (has_deadline_ && Clock::now() >= deadline_) {
      request_stop(StopReason::time_limit);
      return true;
    }
    return false;
  }

  double elapsed() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  /// Fraction of the time budget used, in [0, 1] (0 without a deadline).
  double time_fraction() const {
    if (!has_deadline_) return 0.0;
    const double total = std::chrono::duration<double>(deadline_ - start_).count();
    const double f = elapsed() / total;
    return f < 1.0 ? f : 1.0;
  }
  bool has_deadline() const { return has_deadline_; }
  /// The budget armed, in seconds (0 without a deadline).
  double budget() const {
    return has_deadline_ ? std::chrono::duration<double>(deadline_ - start_).count() : 0.0;
  }

 private:
  Clock::time_point start_;
  Clock::time_point deadline_{};
  bool has_deadline_ = false;
  double target_ = -std::numeric_limits<double>::infinity();
  std::atomic<int> reason_{0};
  StopToken* parent_ = nullptr;
};

}  // namespace mezan
