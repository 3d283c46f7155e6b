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
//  - Threads never cost quality: with k > 1 threads (any method but the portfolio), run 0 works on a
//    private view of the incumbent (it sees only its own offers, and forwards them), so it makes
//    exactly the moves of the one-thread solve with the same seed; runs 1..k-1 share the global
//    incumbent, run 0's best included. The result is at least as good as the one-thread result for
//    the same work (bench/threads.py measures it at equal wall time).
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
//  balance      the breakout and relaxation sides in controlled slices, exchanging solutions (balance.hpp; the
//               relaxation adds randomised starts where the barycenter is flat, barycenter_is_flat);
//               with threads > 1 every thread runs its own balance (own seed) on the shared incumbent
//  portfolio    one thread: breakout, RoTS and the relaxation (with randomised starts) in controlled slices
//               (balance.hpp), the side of opt.members' first entry first (it wins ties); k threads: one
//               member per thread, in the order of opt.members or by default balance (its relaxation with
//               randomised starts), iterated, memetic, hybrid, anneal, rots, breakout (then again), where both
//               matrices are dense iterated twice first (portfolio_members, both_matrices_dense), all
//               offering to the shared incumbent; with a time limit, a controller at round boundaries moves
//               a thread whose member brought little to the member that brought most (detail::portfolio_thread,
//               detail::portfolio_controller); members keep running otherwise
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <chrono>
#include <future>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
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
  bool in_portfolio = false;     // set by the portfolio for its members: a balance member's relaxation adds random starts
  bool later_round = false;      // set by the portfolio after its first round: a balance member skips the barycenter
};

struct SolveReport {
  std::vector<int> permutation;
  std::int64_t iterations = 0;
  StopReason reason = StopReason::none;
  bool proven_optimal = false;  // bnb exhausted its tree
  std::string summary;          // balance / portfolio: what the controller did (BalanceStats::summary)
};

/// The members of a multi-thread portfolio in the order threads take them: `first`, then the default order
/// (balance — breakout and the relaxation with randomised starts —, iterated, memetic, hybrid, anneal, rots,
/// breakout) without repeats. The first two cover the families where single modes fail (bench/balance.py):
/// iterated RoTS on dense uniform data (Taillard-a), breakout on sparse heavy-tailed flows (Taillard-b), the
/// relaxation from random starts on circulant ones. On data where both matrices are dense (both_matrices_dense)
/// and no `first` is given, the order starts with iterated RoTS twice: on unstructured random data robust tabu
/// search is the strongest method (Taillard 1995, Comparison of iterative searches for the QAP), and two iterated
/// threads restarting from each other's best beat one beside a balance thread (bench/balance.py, 2 threads,
/// 10 s, Taillard-a n = 80-150: 0.13 % against 0.23 %), because balance's breakout and relaxation bring almost
/// nothing there.
inline std::vector<Method> portfolio_members(const std::vector<Method>& first = {}, bool dense = false) {
  std::vector<Method> order = first;
  if (order.empty() && dense) order = {Method::iterated, Method::iterated};
  for (Method m : {Method::balance, Method::iterated, Method::memetic, Method::hybrid, Method::anneal, Method::rots,
                   Method::breakout})
    if (std::find(order.begin(), order.end(), m) == order.end()) order.push_back(m);
  return order;
}

namespace detail {

template <class T>
std::int64_t run_one(const Instance<T>& inst, const SolveOptions& opt, int k, StopToken& stop, Incumbent& inc,
                     bool* proven, BalanceStats* stats) {
  const int n = inst.n();
  Rng rng(Rng::derive(opt.seed, static_cast<std::uint64_t>(k)));
  const std::vector<int> movable = movable_facilities(n, opt.fixed);
  const bool from_initial = (k == 0 || opt.in_portfolio) && !opt.initial.empty();
  std::vector<int> p = from_initial ? opt.initial : random_permutation(n, opt.fixed, rng);
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
      return memetic(inst, movable, opt.fixed, rng, stop, inc, cap, MemeticOptions{}, opt.tabu,
                     from_initial ? p : std::vector<int>{});
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
      options.random_starts = opt.method == Method::portfolio || opt.in_portfolio || barycenter_is_flat(inst);
      options.barycenter = !opt.later_round;  // a portfolio's later round: the barycenter's FAQ was done
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

inline void merge_stats(BalanceStats& into, const BalanceStats& round) {
  if (round.sides.empty()) return;
  if (into.sides != round.sides) {
    into = round;
    return;
  }
  for (std::size_t s = 0; s < into.per_side.size(); ++s) {
    into.per_side[s].slices += round.per_side[s].slices;
    into.per_side[s].improvements += round.per_side[s].improvements;
    into.per_side[s].immigrants += round.per_side[s].immigrants;
  }
  into.warm_starts += round.warm_starts;
  into.random_starts += round.random_starts;
  into.restarts += round.restarts;
}

/// The round structure of a multi-thread portfolio with a time limit (and no max_iter): the budget is cut into
/// kPortfolioRounds equal rounds on the solve's clock. Threads run their members without interruption; only at
/// round boundaries does the controller (portfolio_controller, its own thread) move effort, by cutting the run
/// of a thread whose member should change.
constexpr int kPortfolioRounds = 5;

/// What the threads of a racing portfolio share with the controller. Per thread, under its lock: the member it
/// should run (`desired`), the member it runs (`current`) and that run's StopToken (`running`, null between
/// runs), so that a change of member either reaches a thread before its next run or cuts the run it is in.
/// `played` (threads x rounds, -1 until set) records each thread's member per round and `runs` how many member runs
/// each thread started, for the explanation.
struct PortfolioBoard {
  PortfolioBoard(int threads, std::vector<Method> members_)
      : members(std::move(members_)),
        desired(static_cast<std::size_t>(threads), -1),
        current(static_cast<std::size_t>(threads), -1),
        running(static_cast<std::size_t>(threads), nullptr),
        locks(static_cast<std::size_t>(threads)),
        played(static_cast<std::size_t>(threads) * kPortfolioRounds),
        runs(static_cast<std::size_t>(threads)) {
    for (auto& m : played) m.store(-1);
    for (auto& r : runs) r.store(0);
  }
  std::vector<Method> members;  // portfolio_members for this solve: thread k's own member is members[k mod size]
  std::vector<int> desired;
  std::vector<int> current;
  std::vector<StopToken*> running;
  std::vector<std::mutex> locks;
  std::vector<std::atomic<int>> played;
  std::vector<std::atomic<int>> runs;  // member runs started per thread (1: never cut nor restarted)
  std::atomic<bool> finished{false};  // set once every thread has returned: the controller leaves
  std::atomic<int>& slot(int thread, int round) {
    return played[static_cast<std::size_t>(thread) * kPortfolioRounds + static_cast<std::size_t>(round)];
  }
};

/// Thread k's own member: members[k mod size] (portfolio_members for this solve).
inline Method own_member(const std::vector<Method>& members, int k) {
  return members[static_cast<std::size_t>(k) % members.size()];
}

/// One thread k of a multi-thread portfolio. Without a time limit, or with max_iter, it runs its own member for
/// the whole solve. Otherwise it runs the member the board asks for (its own first: thread 0 from opt.initial,
/// the others from random starts) until the solve stops; when the controller changes its member, the run is cut
/// and the new member starts from the shared incumbent; a run that ends by itself restarts from the thread's own
/// best. Members keep their search state (tabu tenures, jump magnitudes, populations) for as long as they keep
/// their thread — restarting every member at every round boundary cost up to 0.2 % of gap on dense uniform
/// instances at 10 s.
template <class T>
std::int64_t portfolio_thread(const Instance<T>& inst, const SolveOptions& opt, int k, StopToken& stop,
                              Incumbent& inc, BalanceStats* stats, PortfolioBoard& board) {
  SolveOptions member = opt;
  member.in_portfolio = true;
  member.method = own_member(board.members, k);
  if (k != 0) member.initial.clear();
  incumbent_source = k;
  struct ForgetSource {  // the pool's thread outlives this solve: leave it unattributed, even on an exception
    ~ForgetSource() { incumbent_source = -1; }
  } forget;
  if (!stop.has_deadline() || opt.max_iter > 0) {
    board.runs[static_cast<std::size_t>(k)].fetch_add(1);  // round 0's member was recorded by solve()
    return run_one(inst, member, k, stop, inc, nullptr, stats);
  }
  const double budget = stop.budget();
  std::int64_t done = 0;
  for (int run = 0; !stop.should_stop(); ++run) {
    StopToken run_stop;
    run_stop.follow(&stop);
    run_stop.set_target(stop.target());
    run_stop.arm(std::max(1e-3, budget - stop.elapsed()));  // the rest of the solve: members' schedules see it
    {
      std::lock_guard<std::mutex> lock(board.locks[static_cast<std::size_t>(k)]);
      const int wanted = board.desired[static_cast<std::size_t>(k)];
      if (run > 0) {
        member.later_round = true;
        member.seed = Rng::derive(opt.seed, static_cast<std::uint64_t>(1000 + run));
        const bool change = wanted >= 0 && wanted != static_cast<int>(member.method);
        if (change) member.method = static_cast<Method>(wanted);
        member.initial = change ? std::vector<int>{} : inc.solution_of(k);
        if (member.initial.empty()) member.initial = inc.solution();
      }
      board.current[static_cast<std::size_t>(k)] = static_cast<int>(member.method);
      board.running[static_cast<std::size_t>(k)] = &run_stop;
    }
    board.runs[static_cast<std::size_t>(k)].fetch_add(1);
    BalanceStats run_stats;
    try {
      done += run_one(inst, member, k, run_stop, inc, nullptr, &run_stats);
    } catch (...) {
      std::lock_guard<std::mutex> lock(board.locks[static_cast<std::size_t>(k)]);
      board.running[static_cast<std::size_t>(k)] = nullptr;
      throw;
    }
    {
      std::lock_guard<std::mutex> lock(board.locks[static_cast<std::size_t>(k)]);
      board.running[static_cast<std::size_t>(k)] = nullptr;
    }
    merge_stats(*stats, run_stats);
  }
  return done;
}

/// The controller of a racing portfolio (its own thread, sleeping between round boundaries). At the boundary
/// before round r it adds, per member, the gains the threads running it brought to the shared incumbent in round
/// r - 1 (relative improvements, Incumbent::gain_of with one source per thread) to the member's sum since round
/// 1 (round 0's gains are mostly descents from random starts and are not counted). A thread whose member's sum
/// is less than half of the best member's takes the best member; when nothing improved the incumbent in the
/// round, every thread goes back to its own member. Effort so moves to the members that pay on this instance
/// (iterated RoTS on dense uniform data, breakout or the relaxation elsewhere) while every thread starts diverse.
/// Cost: O(threads) per boundary, plus a wake-up every 5 ms.
inline void portfolio_controller(int threads, StopToken& stop, const Incumbent& inc,
                                 PortfolioBoard& board) {
  const double budget = stop.budget();
  std::vector<double> gain(method_names().size(), 0.0);
  std::vector<double> before(static_cast<std::size_t>(threads), 0.0);
  for (int round = 1; round < kPortfolioRounds; ++round) {
    while (!board.finished.load() && !stop.stop_requested() && stop.elapsed() < budget * round / kPortfolioRounds)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (board.finished.load() || stop.stop_requested() || stop.elapsed() >= budget) return;
    double round_gain = 0.0;
    for (int j = 0; j < threads; ++j) {
      const double g = inc.gain_of(j) - before[static_cast<std::size_t>(j)];
      before[static_cast<std::size_t>(j)] = inc.gain_of(j);
      const int m = board.slot(j, round - 1).load();
      if (round >= 2 && m >= 0) {
        gain[static_cast<std::size_t>(m)] += g;
        round_gain += g;
      }
    }
    const int best = static_cast<int>(std::max_element(gain.begin(), gain.end()) - gain.begin());
    for (int j = 0; j < threads; ++j) {
      int next = board.slot(j, round - 1).load();
      if (round >= 2 && round_gain == 0.0)
        next = static_cast<int>(own_member(board.members, j));
      else if (round >= 2 && gain[static_cast<std::size_t>(next)] < 0.5 * gain[static_cast<std::size_t>(best)])
        next = best;
      std::lock_guard<std::mutex> lock(board.locks[static_cast<std::size_t>(j)]);
      board.desired[static_cast<std::size_t>(j)] = next;
      board.slot(j, round).store(next);
      if (board.running[static_cast<std::size_t>(j)] != nullptr && board.current[static_cast<std::size_t>(j)] != next)
        board.running[static_cast<std::size_t>(j)]->cancel();
    }
  }
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
  const bool racing = opt.method == Method::portfolio && threads > 1;
  const bool dense_rule = racing && opt.members.empty() && both_matrices_dense(inst);  // iterated leads (below)
  const std::vector<Method> members = racing ? portfolio_members(opt.members, dense_rule) : std::vector<Method>{};
  detail::PortfolioBoard board(racing ? threads : 0, members);
  if (racing) {
    incumbent.track_sources(threads);
    for (int k = 0; k < threads; ++k) board.slot(k, 0).store(static_cast<int>(detail::own_member(board.members, k)));
  }
  if (threads == 1) {
    const std::int64_t done = detail::run_one(inst, opt, 0, stop, incumbent, &proven, stats.data());
    all_hit_cap = opt.max_iter > 0 && done >= opt.max_iter;
  } else {
    ThreadPool pool(static_cast<unsigned>(threads));
    Incumbent own(stop, &incumbent);  // run 0's private view: it runs exactly the one-thread search
    std::vector<std::future<std::int64_t>> runs;
    for (int k = 0; k < threads; ++k)
      runs.push_back(pool.submit([&, k] {
        return racing ? detail::portfolio_thread(inst, opt, k, stop, incumbent, &stats[k], board)
                      : detail::run_one(inst, opt, k, stop, k == 0 ? own : incumbent, nullptr, &stats[k]);
      }));
    std::thread controller;
    if (racing && stop.has_deadline() && opt.max_iter <= 0)
      controller = std::thread([&] { detail::portfolio_controller(threads, stop, incumbent, board); });
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
    board.finished.store(true);
    if (controller.joinable()) controller.join();
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
  if (racing) {
    report.summary = dense_rule
                         ? "both matrices dense: iterated RoTS first on two threads; members by thread and round:"
                         : "members by thread and round:";
    for (int k = 0; k < threads; ++k) {
      report.summary += std::string(k ? ";" : "") + " thread " + std::to_string(k);
      for (int r = 0; r < detail::kPortfolioRounds; ++r) {
        const int m = board.slot(k, r).load();
        if (m >= 0) report.summary += (r ? ", " : " ") + method_name(static_cast<Method>(m));
      }
      const int started = board.runs[static_cast<std::size_t>(k)].load();
      report.summary += " (" + std::to_string(started) + (started == 1 ? " run)" : " runs)");
    }
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
