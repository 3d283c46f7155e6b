// qap_host FILE [SECONDS] [SEED]: solve a QAPLIB instance with mezan's robust tabu search.
// Prints "n=<n> objective=<value> iterations=<k> reason=<why>" and the 0-based permutation.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <iostream>

#include "mezan/qap/bounds.hpp"
#include "mezan/qap/qaplib.hpp"
#include "mezan/qap/solve.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: qap_host FILE [SECONDS] [SEED]\n";
    return 2;
  }
  const double seconds = argc > 2 ? std::atof(argv[2]) : 1.0;
  const std::uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 0;
  try {
    mezan::qap::QaplibData data = mezan::qap::read_qaplib(argv[1]);
    std::vector<std::int64_t> a(data.a.begin(), data.a.end()), b(data.b.begin(), data.b.end());
    mezan::qap::Instance<std::int64_t> inst(data.n, std::move(a), std::move(b));

    mezan::StopToken stop;
    stop.arm(seconds);
    mezan::Incumbent best(stop);
    mezan::qap::SolveOptions options;
    options.seed = seed;
    const mezan::qap::SolveReport report = mezan::qap::solve(inst, options, stop, best);

    std::cout << "n=" << data.n << " objective=" << mezan::qap::objective(inst, report.permutation)
              << " bound=" << mezan::qap::gilmore_lawler_bound(inst) << " iterations=" << report.iterations
              << " reason=" << mezan::to_string(report.reason) << "\n";
    for (int loc : report.permutation) std::cout << loc << ' ';
    std::cout << "\n";
  } catch (const std::exception& e) {
    std::cerr << "qap_host: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
