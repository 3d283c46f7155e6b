// solve(): the QAP dispatcher. It checks the options, runs one method as `threads` independent
// runs on a thread pool sharing the stop token and the incumbent, and reports the best. It holds no
// algorithm of its own: each method is in its own header.
//
// Contract:
//  - inst: a valid Instance; opt.initial: empty or a permutation of 0..n-1 that puts each fixed
//    facility at its location; opt.fixed: empty or n entries, each -1 (free) or a location, no two
//    facilities at one location. Anything else throws InvalidParameter before any run starts.
//  - Run k uses the seed Rng::derive(seed, k); run 0 starts from opt.initial when given, the others
//    from random permutations; facilities fixed by a partial match keep their locations in every
//    run and in the result.
//  - opt.max_iter caps each run (<= 0: no cap); the stop token carries the time limit, the target and
//    cancellation. An exception in one run cancels the others and is rethrown.
//  - The report holds the incumbent's best permutation (opt.initial, or a random permutation, when
//    the budget ended before any run offered one), the iterations of every run, why the solve
//    stopped (iteration_limit when every run hit its cap), and whether bnb proved optimality.
//  - With one thread and an iteration cap, the result depends only on the input and the seed.
//
// Methods:
//  rots         robust tabu search (tabu.hpp)
//  anneal       simulated annealing (anneal.hpp)
//  local        multi-start best-improvement descents (multistart.hpp)
//  local_first  one first-improvement descent, scipy's "2opt" (local_search.hpp)
//  faq          Frank–Wolfe relaxation from the barycenter, then from randomised starts (multistart.hpp)
//  bnb          exact branch and bound, one thread, seeded by a short RoTS run unless given a start
//               (seeded_bnb.hpp; max_iter caps its nodes)
//  memetic      memetic.hpp
//  iterated     iterated RoTS with perturbations, sharing the incumbent between threads (tabu.hpp)
//  hybrid, fft, nesterov
//               a relaxation (FAQ, FAQ with FFT products for structured matrices, or Nesterov) for
//               the first tenth of the budget, then RoTS (relaxation_then_tabu.hpp)
//  breakout     breakout local search (breakout.hpp)
//  balance      the breakout and relaxation sides in controlled slices, exchanging solutions (balance.hpp);
//               with threads > 1 every thread runs its own balance (own seed) on the shared incumbent
//  portfolio    one thread: breakout, RoTS and the relaxation in controlled slices (balance.hpp), the side
//               of opt.members' first entry first (it wins ties); k threads: one member per thread, in the
//               order of opt.members or by default breakout, rots, memetic, hybrid, anneal, iterated (then
//               again), all offering to the shared incumbent
#pragma once
#include <algorithm>
#include <cstdint>
#include <future>
#include <stdexcept>
#include <string>
#include <vector>

#include "mezan/core/errors.hpp"
#include "mezan/core/thread_pool.hpp"
#include "mezan/qap/anneal.hpp"
#include "mezan/qap/assignment.hpp"
#include "mezan/qap/balance.hpp"
#include "mezan/qap/breakout.hpp"
#include "mezan/qap/branch_bound.hpp"
#include "mezan/qap/faq.hpp"
#include "mezan/qap/local_search.hpp"
#include "mezan/qap/memetic.hpp"
#include "mezan/qap/multistart.hpp"
#include "mezan/qap/relaxation_then_tabu.hpp"
#include "mezan/qap/seeded_bnb.hpp"
#include "mezan/qap/tabu.hpp"

namespace mezan::qap {

enum class Method {
  rots, anneal, local, local_first, faq, bnb, memetic, iterated, hybrid, nesterov, fft, breakout, balance, portfolio
};

/// The methods by name, in enum order: the one table parse_method() and method_name() read.
inline const std::vector<std::string>& method_names() {
  static const std::vector<std::string> names{"rots",     "anneal",  "local",    "local_first", "faq",
                                              "bnb",      "memetic", "iterated", "hybrid",      "nesterov",
                                              "fft",      "breakout", "balance", "portfolio"};
  return names;
}

inline Method parse_method(const std::string& name) {
  const std::vector<std::string>& names = method_names();
  for (std::size_t k = 0; k < names.size(); ++k)
    if (names[k] == name) return static_cast<Method>(k);
  throw unknown_name("QAP method", name, names);
}

inline const std::string& method_name(Method m) { return method_names()[static_cast<std::size_t>(m)]; }

struct SolveOptions {
  Method method = Method::rots;
  std::uint64_t seed = 0;
  int threads = 1;
  std::int64_t max_iter = -1;  // per run; <= 0: none
  std::vector<int> initial;    // empty or a permutation of size n
  std::vector<int> fixed;      // empty or size n: location of facility i, or -1 if free
  TabuOptions tabu;
  FaqOptions faq;
  std::vector<Method> members;  // portfolio: members to put first (e.g. an advisor's choice), before the default order
};

struct SolveReport {
  std::vector<int> permutation;
  std::int64_t iterations = 0;
  StopReason reason = StopReason::none;
  bool proven_optimal = false;  // bnb exhausted its tree
  std::string summary;          // balance / portfolio: what the controller did (BalanceStats::summary)
};

/// The members of a multi-thread portfolio in the order threads take them: `first`, then the default order
/// (breakout, rots, memetic, hybrid, anneal, iterated) without repeats.
inline std::vector<Method> portfolio_members(const std::vector<Method>& first = {}) {
  std::vector<Method> order = first;
  for (Method m : {Method::breakout, Method::rots, Method::memetic, Method::hybrid, Method::anneal, Method::iterated})
    if (std::find(order.begin(), order.end(), m) == order.end()) order.push_back(m);
  return order;
}

namespace detail {

template <class T>
std::int64_t run_one(const Instance<T>& inst, const SolveOptions& opt, int k, StopToken& stop, Incumbent& inc,
                     bool* proven, BalanceStats* stats) {
  if (opt.method == Method::portfolio && opt.threads > 1) {  // this thread's member
    const std::vector<Method> members = portfolio_members(opt.members);
    SolveOptions member = opt;
    member.method = members[static_cast<std::size_t>(k) % members.size()];
    return run_one(inst, member, k, stop, inc, proven, stats);
  }
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
    case Method::local:
      return multistart_local(inst, opt.fixed, movable, p, rng, stop, inc, cap);
    case Method::bnb:  // a good incumbent first (unless the caller gave one): it is what makes pruning work
      return seeded_branch_and_bound(inst, opt.fixed, movable, p, opt.initial.empty(), opt.tabu, rng, stop, inc, cap,
                                     proven);
    case Method::memetic:
      return memetic(inst, movable, opt.fixed, rng, stop, inc, cap, MemeticOptions{}, opt.tabu);
    case Method::iterated:
      return iterated_tabu(inst, movable, p, rng, stop, inc, cap, 0, opt.tabu);
    case Method::hybrid:
    case Method::fft:
    case Method::nesterov: {
      RelaxationThenTabuOptions options;
      options.relaxation = opt.method == Method::nesterov ? Relaxation::nesterov
                           : opt.method == Method::fft    ? Relaxation::faq_structured
                                                          : Relaxation::faq;
      options.faq = opt.faq;
      options.tabu = opt.tabu;
      return relaxation_then_tabu(inst, opt.fixed, movable, p, options, rng, stop, inc, cap);
    }
    case Method::faq:  // the barycenter is deterministic: only run 0 starts there
      return faq_multistart(inst, opt.fixed, movable, k == 0, opt.faq, rng, stop, inc, cap);
    case Method::breakout: {
      BreakoutSearch<T> search(inst, movable, rng.next());
      search.start(p, &stop);
      return search.run(stop, inc, -1, cap);
    }
    case Method::balance:
    case Method::portfolio: {
      BalanceOptions options;
      options.faq = opt.faq;
      options.faq.products = Products::automatic;
      options.tabu = opt.tabu;
      if (opt.method == Method::portfolio) {  // the first member named, when it is a side, goes first (wins ties)
        options.sides = {Side::breakout, Side::tabu, Side::relaxation};
        const Method lead = opt.members.empty() ? Method::breakout : opt.members.front();
        if (lead == Method::rots) options.sides = {Side::tabu, Side::breakout, Side::relaxation};
        if (lead == Method::hybrid || lead == Method::faq || lead == Method::fft || lead == Method::nesterov)
          options.sides = {Side::relaxation, Side::breakout, Side::tabu};
      }
      return balance(inst, opt.fixed, movable, p, options, rng, stop, inc, cap, stats);
    }
  }
  return 0;
}

}  // namespace detail

template <class T>
SolveReport solve(const Instance<T>& inst, const SolveOptions& opt, StopToken& stop, Incumbent& incumbent) {
  const int n = inst.n();
  if (!opt.initial.empty() && static_cast<int>(opt.initial.size()) != n)
    throw InvalidParameter("solve: initial permutation must have n entries");
  if (!opt.fixed.empty() && static_cast<int>(opt.fixed.size()) != n)
    throw InvalidParameter("solve: fixed must have n entries");
  // Every index below is used to address arrays: check values, not only sizes.
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < static_cast<int>(opt.fixed.size()); ++i) {
    const int l = opt.fixed[i];
    if (l < -1 || l >= n) throw InvalidParameter("solve: fixed[i] must be -1 (free) or a location in [0, n)");
    if (l >= 0 && seen[l]++) throw InvalidParameter("solve: two facilities are fixed at the same location");
  }
  std::fill(seen.begin(), seen.end(), 0);
  for (int i = 0; i < static_cast<int>(opt.initial.size()); ++i) {
    const int l = opt.initial[i];
    if (l < 0 || l >= n || seen[l]++) throw InvalidParameter("solve: initial must be a permutation of 0..n-1");
    if (!opt.fixed.empty() && opt.fixed[i] >= 0 && opt.fixed[i] != l)
      throw InvalidParameter("solve: initial must put each fixed facility at its fixed location");
  }
  for (Method m : opt.members)
    if (m == Method::portfolio || m == Method::bnb || m == Method::local_first)
      throw InvalidParameter("solve: a portfolio member must be a search method (not portfolio, bnb or local_first)");
  const int threads = opt.threads < 1 || opt.method == Method::bnb ? 1 : opt.threads;
  bool all_hit_cap = true;
  bool proven = false;
  std::vector<BalanceStats> stats(static_cast<std::size_t>(threads));
  if (threads == 1) {
    const std::int64_t done = detail::run_one(inst, opt, 0, stop, incumbent, &proven, stats.data());
    all_hit_cap = opt.max_iter > 0 && done >= opt.max_iter;
  } else {
    ThreadPool pool(static_cast<unsigned>(threads));
    std::vector<std::future<std::int64_t>> runs;
    for (int k = 0; k < threads; ++k)
      runs.push_back(pool.submit([&, k] { return detail::run_one(inst, opt, k, stop, incumbent, nullptr, &stats[k]); }));
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
  if (opt.method == Method::portfolio && threads > 1) {
    const std::vector<Method> members = portfolio_members(opt.members);
    report.summary = "members by thread:";
    for (int k = 0; k < threads; ++k)
      report.summary += (k ? ", " : " ") + method_name(members[static_cast<std::size_t>(k) % members.size()]);
  }
  for (std::size_t k = 0; k < stats.size(); ++k) {
    if (stats[k].sides.empty()) continue;
    if (!report.summary.empty()) report.summary += " | ";
    report.summary += (stats.size() > 1 ? "thread " + std::to_string(k) + ": " : std::string()) + stats[k].summary();
  }
  if (report.reason == StopReason::none && all_hit_cap && !proven) report.reason = StopReason::iteration_limit;
  return report;
}

}  // namespace mezan::qap
