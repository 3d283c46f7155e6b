// relaxation_then_tabu: the QAP methods hybrid, fft and nesterov. A continuous relaxation over
// doubly stochastic matrices — FAQ's Frank–Wolfe (faq.hpp), FAQ with FFT products where a matrix is
// structured (structured.hpp), or Nesterov's entropic projected gradient — is solved from the
// barycenter, then from randomised starts; every relaxed solution is rounded (a LAP) and offered to
// the incumbent. Robust tabu search (tabu.hpp) then runs from the best rounded permutation for the
// rest of the budget.
#pragma once
#include <cstdint>
#include <vector>

#include "mezan/core/incumbent.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/core/stop_token.hpp"
#include "mezan/qap/faq.hpp"
#include "mezan/qap/instance.hpp"
#include "mezan/qap/objective.hpp"
#include "mezan/qap/tabu.hpp"

namespace mezan::qap {

enum class Relaxation {
  faq,             // Frank–Wolfe with the products of FaqOptions::products
  faq_structured,  // Frank–Wolfe with Products::automatic: FFT for a structured matrix where it pays
  nesterov,        // Nesterov-accelerated entropic (Sinkhorn) projected gradient
};

struct RelaxationThenTabuOptions {
  Relaxation relaxation = Relaxation::faq;
  /// The share of the time budget given to the relaxation phase. The relaxation only seeds the tabu
  /// search, which does the improving: a tenth of the budget buys several relaxation starts (each
  /// stops within FAQ's or Nesterov's iteration cap) and leaves nine tenths to RoTS. Every
  /// relaxation run also stops at this fraction itself, so one slow start cannot eat the budget.
  double relaxation_fraction = 0.1;
  /// Starts without a deadline (an iteration cap only): the barycenter and two randomised starts —
  /// enough for the rounding to differ between starts, bounded so that the phase ends.
  int starts_without_deadline = 3;
  FaqOptions faq;  // until_time_fraction is overridden by relaxation_fraction
  NesterovOptions nesterov;  // likewise
  TabuOptions tabu;
};

/// fixed: empty or n entries (location or -1); movable: the free facilities; p: a permutation
/// consistent with fixed (the fallback when no relaxation start completes). Returns the iterations
/// done: relaxation iterations plus RoTS iterations (RoTS stops after `cap`, <= 0: none).
template <class T>
std::int64_t relaxation_then_tabu(const Instance<T>& inst, const std::vector<int>& fixed_locations,
                                  const std::vector<int>& movable, std::vector<int> p,
                                  const RelaxationThenTabuOptions& options, Rng& rng, StopToken& stop, Incumbent& inc,
                                  std::int64_t cap) {
  const int n = inst.n();
  const std::vector<double> a(inst.a_data().begin(), inst.a_data().end());
  const std::vector<double> b(inst.b_data().begin(), inst.b_data().end());
  const std::vector<int> fixed = fixed_locations.empty() ? std::vector<int>(n, -1) : fixed_locations;
  const int m = static_cast<int>(movable.size());
  FaqOptions faq_phase = options.faq;
  faq_phase.until_time_fraction = options.relaxation_fraction;
  if (options.relaxation == Relaxation::faq_structured) faq_phase.products = Products::automatic;
  NesterovOptions nesterov_phase = options.nesterov;
  nesterov_phase.until_time_fraction = options.relaxation_fraction;
  std::vector<int> best = p;
  T best_cost = objective(inst, p);
  std::int64_t iters = 0;
  for (int start = 0; !stop.should_stop(); ++start) {
    const bool more = stop.has_deadline() ? stop.time_fraction() < options.relaxation_fraction
                                          : start < options.starts_without_deadline;
    if (start > 0 && !more) break;
    const std::vector<double> p0 = start == 0 ? std::vector<double>{} : randomized_start(m, rng);
    const FaqResult r = options.relaxation == Relaxation::nesterov
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
  RobustTabu<T> tabu(inst, movable, rng.next(), options.tabu);
  tabu.start(best, &stop);
  return iters + tabu.run(stop, inc, cap);
}

}  // namespace mezan::qap
