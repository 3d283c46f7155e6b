// balance and the one-thread portfolio: several sides of the QAP on one instance, run in slices of
// work on one thread, exchanging solutions, with an online controller that gives the next slice to
// the side that has lately improved the shared incumbent most.
//
// Sides (arms):
//  * relaxation (continuous): FAQ's Frank–Wolfe on the doubly stochastic relaxation (faq.hpp; FFT
//    products where a matrix is structured). Its first slice starts at the barycenter J; every later
//    one is warm-started between the barycenter and the incumbent's permutation matrix X,
//    P0 = (1 - lambda) J + lambda X with lambda ~ U[0.5, 0.95], so the relaxation explores around what
//    search found. With `random_starts` (the portfolio sets it, and balance does where the barycenter is
//    flat: barycenter_is_flat) each slice then goes on with scipy's
//    randomised starts (faq.hpp) until it has done a discrete slice's work (the best rounding goes on),
//    so the relaxation also explores away from the incumbent and gets a fair share of the time:
//    where the data are symmetric under rotation (circulant flows on a ring) the barycenter's gradient
//    is flat and the incumbent's basin is a trap, and FAQ from random starts finds what search misses
//    (ring_circulant, n = 100: FAQ from random starts reached 747,400 in 1 s for 4 seeds of 4; breakout
//    and RoTS, 3 s, 1 of 4 and 0 of 4). The rounded solution (a LAP) is improved by a first-improvement
//    descent and offered to the incumbent; it is also handed to the discrete sides as an immigrant (below).
//  * breakout (discrete): breakout local search (breakout.hpp), a slice = `slice_moves` swaps.
//  * tabu (discrete, portfolio only): robust tabu search (tabu.hpp), a slice = `slice_moves` iterations.
// Exchange: a discrete side restarts from the newest immigrant when it is better than the side's own best,
// or, once the side has gone `patience` slices without a new best of its own, when it is better than
// where the side stands (counted as an immigrant taken). Breakout and tabu need long uninterrupted
// runs, so an immigrant never interrupts a side that is still improving.
// Controller (a small bandit over slices): each side's score is the mean relative improvement of the
// shared incumbent over its last `memory` slices (an untried side scores +inf: every side is tried once);
// the next slice goes to the side with the largest score, except that a side whose share of the last
// `window` slices is below `floor` gets it first (every side keeps being tried, so a side that
// starts to pay is noticed). Ties (e.g. once no side improves any more) go to the earlier side in the
// list, a discrete one. Gains are per slice, and slices
// are sized in work (swaps, Frank–Wolfe iterations), not in time: with one thread the run depends only
// on the input and the seed.
// Cost per slice: relaxation max_iter x (2-4 products + a LAP) + O(n^2) per descent move; breakout and
// tabu O(n^2) per swap. The summary (slices, incumbent improvements and immigrants per side, warm
// starts) goes to the result's explanation.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/core/stop_token.hpp"
#include "mezan/qap/breakout.hpp"
#include "mezan/qap/faq.hpp"
#include "mezan/qap/local_search.hpp"
#include "mezan/qap/objective.hpp"
#include "mezan/qap/tabu.hpp"

namespace mezan::qap {

enum class Side { relaxation, breakout, tabu };

inline const char* side_name(Side s) {
  return s == Side::relaxation ? "relaxation" : s == Side::breakout ? "breakout" : "tabu";
}

struct BalanceOptions {
  std::vector<Side> sides{Side::breakout, Side::relaxation};  // ties go to the first: search, not the relaxation
  std::int64_t slice_moves = 0;  // swaps per discrete slice; <= 0: 50 n (about the work of one FAQ start)
  double floor = 0.1;            // least share of the last `window` slices each side gets
  int patience = 20;             // slices without an own new best before a discrete side restarts from an immigrant
  int window = 20;
  int memory = 5;                // the controller's memory: a side's last slices whose gains it averages
  bool random_starts = false;    // relaxation: alternate warm starts with randomised starts (the portfolio's choice)
  bool barycenter = true;        // relaxation: the first slice from the barycenter (false: a later round of a portfolio)
  FaqOptions faq;                // the relaxation side (until_time_fraction is ignored)
  BreakoutOptions breakout;
  TabuOptions tabu;
};

/// True when the relaxation's first step from the barycenter J = 11^T/n cannot prefer any permutation. The
/// gradient of tr(A P B^T P^T) there is ((A1)(B1)^T + (A^T 1)(B^T 1)^T) / n, so a permutation p pays
/// sum_i (A1)_i (B1)_p(i) + (A^T 1)_i (B^T 1)_p(i), the same for every p when, in each of the two terms, one
/// matrix has constant sums (a circulant, the distances of a ring or a torus, a regular graph's adjacency).
/// FAQ from the barycenter then rounds to an arbitrary permutation and warm starts only circle the incumbent's
/// basin, so balance follows them with randomised starts (what finds the optimum on ring_circulant). Constant
/// means a spread of at most 1e-9 of the largest sum. Cost O(n^2).
template <class T>
bool barycenter_is_flat(const Instance<T>& inst) {
  const int n = inst.n();
  const auto constant = [n](const auto& sum) {
    double lo = sum(0), hi = lo;
    for (int i = 1; i < n; ++i) {
      lo = std::min(lo, sum(i));
      hi = std::max(hi, sum(i));
    }
    return hi - lo <= 1e-9 * std::max(std::abs(lo), std::abs(hi));
  };
  const auto row_sum = [n](const T* row) {
    double s = 0;
    for (int j = 0; j < n; ++j) s += static_cast<double>(row[j]);
    return s;
  };
  const bool a_rows = constant([&](int i) { return row_sum(inst.a_row(i)); });
  const bool b_rows = constant([&](int k) { return row_sum(inst.b_row(k)); });
  const bool a_cols = constant([&](int i) { return row_sum(inst.at_row(i)); });
  const bool b_cols = constant([&](int k) { return row_sum(inst.bt_row(k)); });
  return (a_rows || b_rows) && (a_cols || b_cols);
}

struct SideStats {
  std::int64_t slices = 0;
  std::int64_t improvements = 0;  // slices after which the shared incumbent was better
  std::int64_t immigrants = 0;    // restarts of this (discrete) side from a relaxation solution
};

struct BalanceStats {
  std::vector<Side> sides;
  std::vector<SideStats> per_side;
  std::int64_t warm_starts = 0;  // relaxation slices started from the incumbent
  std::int64_t random_starts = 0;  // relaxation slices started from a randomised doubly stochastic matrix
  std::int64_t restarts = 0;     // relaxation solutions handed over as immigrants

  std::string summary() const {
    std::string s;
    for (std::size_t k = 0; k < sides.size(); ++k) {
      if (k) s += "; ";
      s += std::string(side_name(sides[k])) + " " + std::to_string(per_side[k].slices) + " slices, " +
           std::to_string(per_side[k].improvements) + " improvements of the incumbent";
      if (sides[k] != Side::relaxation) s += ", " + std::to_string(per_side[k].immigrants) + " immigrants taken";
    }
    return s + "; relaxation warm starts " + std::to_string(warm_starts) + ", random starts " +
           std::to_string(random_starts) + ", solutions handed over " +
           std::to_string(restarts);
  }
};

/// fixed: empty or n entries (location or -1); movable: the free facilities; p: the start (consistent with
/// fixed). Runs until the stop token fires or `cap` moves are done (<= 0: none). Returns the moves and
/// relaxation iterations done; `stats` (optional) receives the controller's record.
template <class T>
std::int64_t balance(const Instance<T>& inst, const std::vector<int>& fixed_locations, const std::vector<int>& movable,
                     std::vector<int> p, const BalanceOptions& options, Rng& rng, StopToken& stop, Incumbent& inc,
                     std::int64_t cap, BalanceStats* stats = nullptr) {
  const int n = inst.n();
  const int m = static_cast<int>(movable.size());
  const std::size_t arms = options.sides.size();
  BalanceStats local;
  local.sides = options.sides;
  local.per_side.assign(arms, {});
  inc.offer(static_cast<double>(objective(inst, p)), p);
  if (m < 2 || arms == 0) {
    if (stats) *stats = local;
    return 0;
  }
  const std::vector<double> a(inst.a_data().begin(), inst.a_data().end());
  const std::vector<double> b(inst.b_data().begin(), inst.b_data().end());
  const std::vector<int> fixed = fixed_locations.empty() ? std::vector<int>(n, -1) : fixed_locations;
  std::vector<int> free_locations;  // increasing order, as faq() indexes its doubly stochastic start
  {
    std::vector<char> used(static_cast<std::size_t>(n), 0);
    for (int i = 0; i < n; ++i)
      if (fixed[i] >= 0) used[fixed[i]] = 1;
    for (int l = 0; l < n; ++l)
      if (!used[l]) free_locations.push_back(l);
  }
  std::vector<int> facility_rank(static_cast<std::size_t>(n), -1);
  for (int k = 0; k < m; ++k) facility_rank[movable[k]] = k;
  std::vector<int> location_rank(static_cast<std::size_t>(n), -1);
  for (int k = 0; k < m; ++k) location_rank[free_locations[k]] = k;

  const std::int64_t slice = options.slice_moves > 0 ? options.slice_moves : 50LL * n;
  FaqOptions faq_options = options.faq;
  faq_options.until_time_fraction = 1.0;
  std::vector<std::unique_ptr<BreakoutSearch<T>>> breakouts(arms);
  std::vector<std::unique_ptr<RobustTabu<T>>> tabus(arms);
  for (std::size_t k = 0; k < arms; ++k) {
    if (options.sides[k] == Side::breakout) {
      breakouts[k] = std::make_unique<BreakoutSearch<T>>(inst, movable, rng.next(), options.breakout);
      breakouts[k]->start(p, &stop);
    } else if (options.sides[k] == Side::tabu) {
      tabus[k] = std::make_unique<RobustTabu<T>>(inst, movable, rng.next(), options.tabu);
      tabus[k]->start(p, &stop);
    }
  }
  std::vector<std::deque<double>> gains(arms);  // each side's last `memory` gains
  const auto score = [&](std::size_t k) {        // an untried side first, then the mean recent gain
    if (gains[k].empty()) return std::numeric_limits<double>::infinity();
    double sum = 0;
    for (double g : gains[k]) sum += g;
    return sum / static_cast<double>(gains[k].size());
  };
  std::vector<int> stale(arms, 0);       // slices since a discrete side last improved its own best
  std::deque<std::size_t> recent;
  std::vector<int> immigrant;
  T immigrant_cost = 0;
  std::int64_t done = 0;
  bool first_relaxation = options.barycenter;

  while (!stop.should_stop() && (cap <= 0 || done < cap)) {
    // Choose: a side under its floor in the window first, else the best score.
    std::size_t pick = 0;
    bool starved = false;
    if (static_cast<int>(recent.size()) >= std::min<int>(options.window, static_cast<int>(arms) * 2)) {
      for (std::size_t k = 0; k < arms && !starved; ++k) {
        const double share =
            static_cast<double>(std::count(recent.begin(), recent.end(), k)) / static_cast<double>(recent.size());
        if (share < options.floor) {
          pick = k;
          starved = true;
        }
      }
    }
    if (!starved)
      for (std::size_t k = 1; k < arms; ++k)
        if (score(k) > score(pick)) pick = k;

    const double before = inc.best();
    const Side side = options.sides[pick];
    if (side == Side::relaxation) {
      // The slice's first start: the barycenter the first time, then a warm start around the incumbent.
      // With random_starts, randomised starts follow until the slice has done the work of a discrete
      // slice (a Frank–Wolfe iteration, two n^3 products, ~ n/4 swaps: measured 20 us a swap and 0.4 ms
      // an iteration at n = 100, 41 us and 1.4 ms at n = 150); the best rounding goes on.
      const std::int64_t work = options.random_starts ? std::max<std::int64_t>(1, slice * 4 / n) : 1;
      std::int64_t iterations = 0;
      std::vector<int> q;
      T c = std::numeric_limits<T>::max();
      for (int start = 0; (start == 0 || iterations < work) && !stop.should_stop(); ++start) {
        std::vector<double> p0;
        if (start > 0) {
          p0 = randomized_start(m, rng);
          ++local.random_starts;
        } else if (!first_relaxation && inc.has_solution()) {  // warm start between J and the incumbent
          const std::vector<int> x = inc.solution();
          const double lambda = 0.5 + 0.45 * rng.uniform();
          p0.assign(static_cast<std::size_t>(m) * m, (1.0 - lambda) / m);
          for (int k = 0; k < m; ++k) {
            const int l = location_rank[x[movable[k]]];
            if (l >= 0) p0[static_cast<std::size_t>(k) * m + l] += lambda;
          }
          ++local.warm_starts;
        }
        first_relaxation = false;
        const FaqResult r = faq(a.data(), b.data(), n, fixed, p0, faq_options, &stop);
        iterations += r.iterations;
        const T cost = objective(inst, r.permutation);
        if (q.empty() || cost < c) {
          q = r.permutation;
          c = cost;
        }
        if (r.iterations == 0) break;  // stopped before its first iteration
      }
      std::int64_t moves = 0;
      if (!q.empty()) {
        moves = first_improvement(inst, movable, q, stop, -1);
        c = objective(inst, q);
        inc.offer(static_cast<double>(c), q);
        if (immigrant.empty() || c < immigrant_cost) {
          immigrant = q;
          immigrant_cost = c;
          ++local.restarts;
        }
      }
      done += iterations + moves;
    } else {
      const bool is_breakout = side == Side::breakout;
      const T own_before = is_breakout ? breakouts[pick]->best_cost() : tabus[pick]->best_cost();
      const std::int64_t moves =
          is_breakout ? breakouts[pick]->run(stop, inc, -1, slice) : tabus[pick]->run(stop, inc, slice);
      done += moves;
      const T own_after = is_breakout ? breakouts[pick]->best_cost() : tabus[pick]->best_cost();
      const T current = is_breakout ? breakouts[pick]->current_cost() : tabus[pick]->current_cost();
      stale[pick] = own_after < own_before ? 0 : stale[pick] + 1;
      // Take the immigrant when it beats this side's own best, or, after `patience` slices without a new own
      // best, when it beats where the side stands now (a restart from elsewhere: diversification).
      const bool better = !immigrant.empty() && (immigrant_cost < own_after ||
                                                 (stale[pick] >= options.patience && immigrant_cost < current));
      if (better && !stop.should_stop()) {
        stale[pick] = 0;
        if (is_breakout)
          breakouts[pick]->start(immigrant, &stop);
        else
          tabus[pick]->start(immigrant, &stop);
        ++local.per_side[pick].immigrants;
        immigrant.clear();
      }
    }
    const double after = inc.best();
    const double gain = before > after ? (before - after) / std::max(1e-12, std::abs(before)) : 0.0;
    gains[pick].push_back(gain);
    if (static_cast<int>(gains[pick].size()) > options.memory) gains[pick].pop_front();
    ++local.per_side[pick].slices;
    if (gain > 0) ++local.per_side[pick].improvements;
    recent.push_back(pick);
    if (static_cast<int>(recent.size()) > options.window) recent.pop_front();
  }
  if (stats) *stats = local;
  return done;
}

}  // namespace mezan::qap
