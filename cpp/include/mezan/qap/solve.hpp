// solve(): run one QAP method as `threads` independent runs on a thread pool, sharing the stop
// token and the incumbent, and report the best. Run k uses the seed Rng::derive(seed, k); run 0
// starts from the caller's initial permutation when one is given, the others from random ones
// (facilities fixed by a partial match keep their locations in every run).
//
// Methods: rots (robust tabu search), anneal (simulated annealing), local (multi-start
// best-improvement descents; an iteration is a move or a descent started), local_first (one first-improvement descent, scipy's "2opt"),
// faq (Frank–Wolfe relaxation from the barycenter, then from randomised starts, each rounded),
// bnb (exact branch and bound, one thread, seeded by a short RoTS run unless given a start; max_iter
// caps its nodes), memetic (memetic.hpp), iterated (iterated RoTS with perturbations, sharing the
// incumbent between threads), hybrid, fft and nesterov (a relaxation — FAQ, FAQ with FFT products for
// structured matrices, or Nesterov — for the first tenth of the budget, then RoTS from the best
// rounded solution; see relaxation_then_tabu).
// With one thread and an iteration cap, the result depends only on the input and the seed.
#pragma once
#include <algorithm>
#include <cstdint>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

#include "mezan/core/thread_pool.hpp"
#include "mezan/qap/anneal.hpp"
#include "mezan/qap/assignment.hpp"
#include "mezan/qap/branch_bound.hpp"
#include "mezan/qap/faq.hpp"
#include "mezan/qap/memetic.hpp"
#include "mezan/qap/tabu.hpp"

namespace mezan::qap {

enum class Method { rots, anneal, local, local_first, faq, bnb, memetic, iterated, hybrid, nesterov, fft };

inline Method parse_method(const std::string& name) {
  if (name == "rots") return Method::rots;
  if (name == "anneal") return Method::anneal;
  if (name == "local") return Method::local;
  if (name == "local_first") return Method::local_first;
  if (name == "faq") return Method::faq;
  if (name == "bnb") return Method::bnb;
  if (name == "memetic") return Method::memetic;
  if (name == "iterated") return Method::iterated;
  if (name == "hybrid") return Method::hybrid;
  if (name == "nesterov") return Method::nesterov;
  if (name == "fft") return Method::fft;
  throw std::invalid_argument("unknown QAP method '" + name + "'");
}

struct SolveOptions {
  Method method = Method::rots;
  std::uint64_t seed = 0;
  int threads = 1;
  std::int64_t max_iter = -1;  // per run; <= 0: none
  std::vector<int> initial;    // empty or a permutation of size n
  std::vector<int> fixed;      // empty or size n: location of facility i, or -1 if free
  TabuOptions tabu;
  FaqOptions faq;
};

struct SolveReport {
  std::vector<int> permutation;
  std::int64_t iterations = 0;
  StopReason reason = StopReason::none;
  bool proven_optimal = false;  // bnb exhausted its tree
};

namespace detail {

/// hybrid / fft / nesterov: a relaxation (FAQ, FAQ with structured products, or Nesterov) from the barycenter, then from randomised
/// starts, for the first tenth of the time budget (three starts without one), each solution rounded
/// and offered; then RoTS from the best rounded permutation for the rest of the budget.
template <class T>
std::int64_t relaxation_then_tabu(const Instance<T>& inst, const SolveOptions& opt, const std::vector<int>& movable,
                                  std::vector<int> p, Rng& rng, StopToken& stop, Incumbent& inc, std::int64_t cap) {
  const int n = inst.n();
  const std::vector<double> a(inst.a_data().begin(), inst.a_data().end());
  const std::vector<double> b(inst.b_data().begin(), inst.b_data().end());
  const std::vector<int> fixed = opt.fixed.empty() ? std::vector<int>(n, -1) : opt.fixed;
  const int m = static_cast<int>(movable.size());
  const double phase_end = 0.1;
  FaqOptions faq_phase = opt.faq;
  faq_phase.until_time_fraction = phase_end;
  if (opt.method == Method::fft) faq_phase.products = Products::automatic;
  NesterovOptions nesterov_phase;
  nesterov_phase.until_time_fraction = phase_end;
  std::vector<int> best = p;
  T best_cost = objective(inst, p);
  std::int64_t iters = 0;
  for (int start = 0; !stop.should_stop(); ++start) {
    const bool more = stop.has_deadline() ? stop.time_fraction() < phase_end : start < 3;
    if (start > 0 && !more) break;
    const std::vector<double> p0 = start == 0 ? std::vector<double>{} : randomized_start(m, rng);
    const FaqResult r = opt.method == Method::nesterov
                            ? nesterov(a.data(), b.data(), n, fixed, p0, nesterov_phase, &stop)
                            : faq(a.data(), b.data(), n, fixed, p0, faq_phase, &stop);
    iters += r.iterations;
    const T c = objective(inst, r.permutation);
    inc.offer(static_cast<double>(c), r.permutation);
    if (c < best_cost) {
      best_cost = c;
      best = r.permutation;
    }
  }
  inc.add_iterations(iters);
  RobustTabu<T> tabu(inst, movable, rng.next(), opt.tabu);
  tabu.start(best, &stop);
  return iters + tabu.run(stop, inc, cap);
}

template <class T>
std::int64_t run_one(const Instance<T>& inst, const SolveOptions& opt, int k, StopToken& stop, Incumbent& inc,
                     bool* proven) {
  const int n = inst.n();
  Rng rng(Rng::derive(opt.seed, static_cast<std::uint64_t>(k)));
  const std::vector<int> movable = movable_facilities(n, opt.fixed);
  std::vector<int> p = (k == 0 && !opt.initial.empty()) ? opt.initial : random_permutation(n, opt.fixed, rng);
  const std::int64_t cap = opt.max_iter > 0 ? opt.max_iter : -1;
  switch (opt.method) {
    case Method::rots: {
      RobustTabu<T> tabu(inst, movable, rng.next(), opt.tabu);
      tabu.start(p, &stop);
      return tabu.run(stop, inc, cap);
    }
    case Method::anneal:
      return anneal(inst, movable, p, rng, stop, inc, cap);
    case Method::local_first: {
      inc.offer(static_cast<double>(objective(inst, p)), p);
      const std::int64_t moves = first_improvement(inst, movable, p, stop, cap);
      inc.offer(static_cast<double>(objective(inst, p)), p);
      inc.add_iterations(moves);
      return moves;
    }
    case Method::local: {
      DeltaTable<T> table(inst, movable);
      std::int64_t moves = 0;
      for (bool first = true; moves != cap && !stop.should_stop(); first = false) {
        if (!first) p = random_permutation(n, opt.fixed, rng);
        if (!table.reset(p, &stop)) break;
        // One iteration per descent started plus one per move, so that a cap ends the loop even
        // when every start is already a local optimum.
        const std::int64_t m = 1 + best_improvement(table, p, stop, cap > 0 ? cap - moves - 1 : -1);
        moves += m;
        inc.add_iterations(m);
        inc.offer(static_cast<double>(objective(inst, p)), p);
      }
      return moves;
    }
    case Method::bnb: {
      if (opt.initial.empty()) {  // a good incumbent first: it is what makes pruning work
        RobustTabu<T> tabu(inst, movable, rng.next(), opt.tabu);
        tabu.start(p, &stop);
        tabu.run(stop, inc, 200LL * n);
        p = tabu.best();
      }
      BranchAndBound<T> bnb(inst, opt.fixed);
      const BranchBoundReport r = bnb.run(p, stop, inc, cap);
      *proven = r.proven;
      return r.nodes;
    }
    case Method::memetic:
      return memetic(inst, movable, opt.fixed, rng, stop, inc, cap, MemeticOptions{}, opt.tabu);
    case Method::iterated:
      return iterated_tabu(inst, movable, p, rng, stop, inc, cap, 0, opt.tabu);
    case Method::hybrid:
    case Method::fft:
    case Method::nesterov:
      return relaxation_then_tabu(inst, opt, movable, p, rng, stop, inc, cap);
    case Method::faq: {
      std::vector<double> a(inst.a_data().begin(), inst.a_data().end());
      std::vector<double> b(inst.b_data().begin(), inst.b_data().end());
      std::vector<int> fixed = opt.fixed.empty() ? std::vector<int>(n, -1) : opt.fixed;
      const int m = static_cast<int>(movable.size());
      std::int64_t iters = 0;
      for (std::int64_t start = 0; (cap < 0 || iters < cap) && !stop.should_stop(); ++start) {
        const std::vector<double> p0 = (start == 0 && k == 0) ? std::vector<double>{} : randomized_start(m, rng);
        const FaqResult r = faq(a.data(), b.data(), n, fixed, p0, opt.faq, &stop);
        iters += r.iterations;
        inc.add_iterations(r.iterations);
        inc.offer(static_cast<double>(objective(inst, r.permutation)), r.permutation);
        if (r.iterations == 0) break;
      }
      return iters;
    }
  }
  return 0;
}

}  // namespace detail

template <class T>
SolveReport solve(const Instance<T>& inst, const SolveOptions& opt, StopToken& stop, Incumbent& incumbent) {
  const int n = inst.n();
  if (!opt.initial.empty() && static_cast<int>(opt.initial.size()) != n)
    throw std::invalid_argument("solve: initial permutation must have n entries");
  if (!opt.fixed.empty() && static_cast<int>(opt.fixed.size()) != n)
    throw std::invalid_argument("solve: fixed must have n entries");
  // Every index below is used to address arrays: check values, not only sizes.
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < static_cast<int>(opt.fixed.size()); ++i) {
    const int l = opt.fixed[i];
    if (l < -1 || l >= n) throw std::invalid_argument("solve: fixed[i] must be -1 (free) or a location in [0, n)");
    if (l >= 0 && seen[l]++) throw std::invalid_argument("solve: two facilities are fixed at the same location");
  }
  std::fill(seen.begin(), seen.end(), 0);
  for (int i = 0; i < static_cast<int>(opt.initial.size()); ++i) {
    const int l = opt.initial[i];
    if (l < 0 || l >= n || seen[l]++) throw std::invalid_argument("solve: initial must be a permutation of 0..n-1");
    if (!opt.fixed.empty() && opt.fixed[i] >= 0 && opt.fixed[i] != l)
      throw std::invalid_argument("solve: initial must put each fixed facility at its fixed location");
  }
  const int threads = opt.threads < 1 || opt.method == Method::bnb ? 1 : opt.threads;
  bool all_hit_cap = true;
  bool proven = false;
  if (threads == 1) {
    const std::int64_t done = detail::run_one(inst, opt, 0, stop, incumbent, &proven);
    all_hit_cap = opt.max_iter > 0 && done >= opt.max_iter;
  } else {
    ThreadPool pool(static_cast<unsigned>(threads));
    std::vector<std::future<std::int64_t>> runs;
    for (int k = 0; k < threads; ++k)
      runs.push_back(pool.submit([&, k] { return detail::run_one(inst, opt, k, stop, incumbent, nullptr); }));
    std::exception_ptr error;
    for (auto& r : runs) {
      try {
        const std::int64_t done = r.get();
        all_hit_cap = all_hit_cap && opt.max_iter > 0 && done >= opt.max_iter;
      } catch (...) {
        stop.cancel();
        if (!error) error = std::current_exception();
      }
    }
    if (error) std::rethrow_exception(error);
  }
  SolveReport report;
  report.permutation = incumbent.solution();
  if (static_cast<int>(report.permutation.size()) != n) {  // stopped before any run offered a solution
    report.permutation = opt.initial;
    if (report.permutation.empty()) {
      Rng rng(opt.seed);
      report.permutation = random_permutation(n, opt.fixed, rng);
    }
  }
  report.iterations = incumbent.iterations();
  report.reason = stop.reason();
  report.proven_optimal = proven;
  if (report.reason == StopReason::none && all_hit_cap && !proven) report.reason = StopReason::iteration_limit;
  return report;
}

}  // namespace mezan::qap
