// The memetic search's settings compared at equal work: one thread, a budget of robust-tabu iterations (not of
// seconds), so the result of a run depends only on its settings and seed, never on the machine's load, and two
// runs may share the machine. Prints, per run, the best objective and its gap to a reference value.
//
//   mezan_memetic_settings FILE.dat REFERENCE ITERATIONS SEED [POPULATION [IMPROVE_PER_N [STAGNATION [TENURE_PER_N]]]]
//
// FILE.dat: a QAPLIB-format instance (integer data); REFERENCE: the best-known value, or any value to measure gaps
// against; ITERATIONS: robust-tabu iterations in all; POPULATION, IMPROVE_PER_N (a child's tabu run, in units of
// n iterations), STAGNATION (generations without a new best before the population is perturbed), TENURE_PER_N
// (the tabu tenure's maximum, in units of n): 0 or absent keeps the memetic search's default (memetic.hpp).
// Built by `make bench-cpp` (build/bench/bench/mezan_memetic_settings).
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>
#include <vector>

#include "mezan/qap/memetic.hpp"
#include "mezan/qap/qaplib.hpp"

using namespace mezan;
using namespace mezan::qap;

int main(int argc, char** argv) try {
  if (argc < 5) {
    std::fprintf(stderr,
                 "usage: %s FILE.dat REFERENCE ITERATIONS SEED [POPULATION [IMPROVE_PER_N [STAGNATION "
                 "[TENURE_PER_N]]]]\n",
                 argv[0]);
    return 2;
  }
  const QaplibData data = read_qaplib(argv[1]);
  if (!data.integral) throw std::invalid_argument("FILE.dat: integer data expected");
  const double reference = std::stod(argv[2]);
  const std::int64_t iterations = std::stoll(argv[3]);
  if (iterations <= 0) throw std::invalid_argument("ITERATIONS must be > 0 (it is the only budget)");
  const int seed = std::stoi(argv[4]);
  const int n = data.n;
  Instance<std::int64_t> inst(n, std::vector<std::int64_t>(data.a.begin(), data.a.end()),
                              std::vector<std::int64_t>(data.b.begin(), data.b.end()));
  MemeticOptions options;
  TabuOptions tabu;
  if (argc > 5) options.population = std::stoi(argv[5]);
  if (argc > 6) options.improve_iters = static_cast<std::int64_t>(std::stod(argv[6]) * n);
  if (argc > 7 && std::stoi(argv[7]) > 0) options.stagnation = std::stoi(argv[7]);
  if (argc > 8) tabu.tenure_max = std::stod(argv[8]) * n;
  std::vector<int> movable(n), fixed(n, -1);
  for (int i = 0; i < n; ++i) movable[i] = i;
  Rng rng(static_cast<std::uint64_t>(seed));
  StopToken stop;
  stop.arm(0);  // no deadline: the iteration budget ends the run
  Incumbent incumbent(stop);
  const auto began = std::chrono::steady_clock::now();
  const std::int64_t used = memetic(inst, movable, fixed, rng, stop, incumbent, iterations, options, tabu);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  std::printf("seed %d objective %.0f gap %.4f %% iterations %lld seconds %.2f\n", seed, incumbent.best(),
              100.0 * (incumbent.best() - reference) / reference, static_cast<long long>(used), seconds);
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "error: %s\n", e.what());
  return 2;
}
