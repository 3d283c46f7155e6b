// mezan._core._testing: hooks for the tests and timers for the benchmarks, kept out of the public
// module. Each exposes one core routine on its own (an operator, the delta table, a gradient).
#include "common.hpp"
#include "mezan/core/errors.hpp"
#include "mezan/core/lap.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/evo/operators.hpp"
#include "mezan/qap/delta_table.hpp"
#include "mezan/qap/assignment.hpp"
#include "mezan/qap/breakout.hpp"
#include "mezan/qap/reference_tabu.hpp"
#include "mezan/qap/structured.hpp"
#include "mezan/qap/tabu.hpp"

#include <chrono>

namespace mezan::bindings {
namespace {

/// The delta table after applying `swaps` (indices into the movable facilities) from p0; entry
/// (a, b) for a < b, zeros elsewhere. Checks the incremental update against a fresh one.
template <class T>
py::array_t<T> delta_table_after_swaps(const Array<T>& A, const Array<T>& B, const Array<int>& p0,
                                       const std::vector<std::pair<int, int>>& swaps,
                                       const std::optional<Array<int>>& fixed) {
  const qap::Instance<T> inst = make_instance(A, B);
  const int* start = require_permutation(p0, inst.n(), "p");
  std::vector<int> p(start, start + inst.n());
  std::vector<int> fx;
  if (fixed) {
    if (fixed->ndim() != 1 || fixed->shape(0) != inst.n())
      throw InvalidParameter("fixed must have one entry per facility, got shape " + shape_of(*fixed));
    fx = require_fixed(*fixed, inst.n());
  }
  qap::DeltaTable<T> table(inst, qap::movable_facilities(inst.n(), fx));
  table.reset(p);
  for (auto [a, b] : swaps) {
    require_index(a, table.size(), "swap index");
    require_index(b, table.size(), "swap index");
    if (a != b) table.apply_swap(p, a < b ? a : b, a < b ? b : a);
  }
  const int m = table.size();
  py::array_t<T> out({m, m});
  auto view = out.template mutable_unchecked<2>();
  for (int a = 0; a < m; ++a)
    for (int b = 0; b < m; ++b) view(a, b) = a < b ? table(a, b) : T(0);
  return out;
}

/// The first `iterations` moves of robust tabu search from p0: the facilities exchanged at each iteration
/// (r < s), the cost after it, then the final and best permutations and costs, and which kernel ran.
/// reference: ReferenceRobustTabu (the plain first version) instead of RobustTabu. The kernel options
/// (simd, narrow, clock_period) choose how RobustTabu computes, never what.
template <class T, class Search>
py::dict run_trajectory(const qap::Instance<T>& inst, const std::vector<int>& movable, std::vector<int> p,
                        std::uint64_t seed, std::int64_t iterations, const qap::TabuOptions& options) {
  Search search(inst, movable, seed, options);
  py::array_t<int> moves({static_cast<py::ssize_t>(iterations), static_cast<py::ssize_t>(2)});
  py::array_t<T> costs(static_cast<py::ssize_t>(iterations));
  auto mv = moves.template mutable_unchecked<2>();
  auto cv = costs.template mutable_unchecked<1>();
  std::string kernel = "reference";
  if constexpr (std::is_same_v<Search, qap::RobustTabu<T>>) kernel = search.kernel();
  {
    py::gil_scoped_release release;
    StopToken stop;
    Incumbent incumbent(stop);
    search.start(p);
    for (std::int64_t i = 0; i < iterations; ++i) {
      const std::vector<int> before = search.current();
      search.run(stop, incumbent, 1);
      const std::vector<int>& after = search.current();
      int first = -1, second = -1;
      for (int k = 0; k < inst.n(); ++k)
        if (before[k] != after[k]) (first < 0 ? first : second) = k;
      mv(i, 0) = first;
      mv(i, 1) = second;
      cv(i) = search.current_cost();
    }
  }
  py::dict out;
  out["moves"] = moves;
  out["costs"] = costs;
  out["current"] = to_array(search.current());
  out["current_cost"] = search.current_cost();
  out["best"] = to_array(search.best());
  out["best_cost"] = search.best_cost();
  out["kernel"] = kernel;
  return out;
}

template <class T>
py::dict rots_trajectory(const Array<T>& A, const Array<T>& B, const Array<int>& p0, std::uint64_t seed,
                         std::int64_t iterations, const std::optional<Array<int>>& fixed, bool reference,
                         double tenure_max, double aspiration, bool simd, bool narrow, std::int64_t clock_period) {
  const qap::Instance<T> inst = make_instance(A, B);
  const int* start = require_permutation(p0, inst.n(), "p");
  std::vector<int> fx;
  if (fixed) {
    if (fixed->ndim() != 1 || fixed->shape(0) != inst.n())
      throw InvalidParameter("fixed must have one entry per facility, got shape " + shape_of(*fixed));
    fx = require_fixed(*fixed, inst.n());
  }
  if (iterations < 0) throw InvalidParameter("iterations must be >= 0");
  qap::TabuOptions options;
  options.tenure_max = tenure_max;
  options.aspiration = aspiration;
  options.kernel.simd = simd;
  options.kernel.narrow = narrow;
  if (clock_period > 0) options.kernel.clock_period = clock_period;
  const std::vector<int> movable = qap::movable_facilities(inst.n(), fx);
  std::vector<int> p(start, start + inst.n());
  if (reference) return run_trajectory<T, qap::ReferenceRobustTabu<T>>(inst, movable, p, seed, iterations, options);
  return run_trajectory<T, qap::RobustTabu<T>>(inst, movable, p, seed, iterations, options);
}

/// Breakout local search from p0 for `moves` moves (whole cycles, at least that many moves): the moves done, then
/// the current and best permutations and costs and the jump magnitude. reference: on DeltaTable (the plain table)
/// and the plain scalar scan instead of PermutedDeltaTable and the vectorised one — the same search, so every field
/// must agree. fixed: location of each facility or -1 (p must put the fixed ones there; they never move).
template <class T>
py::dict breakout_trajectory(const Array<T>& A, const Array<T>& B, const Array<int>& p0, std::uint64_t seed,
                             std::int64_t moves, bool reference, const std::optional<Array<int>>& fixed) {
  const qap::Instance<T> inst = make_instance(A, B);
  const int* start = require_permutation(p0, inst.n(), "p");
  if (moves < 0) throw InvalidParameter("moves must be >= 0");
  std::vector<int> fx;
  if (fixed) {
    if (fixed->ndim() != 1 || fixed->shape(0) != inst.n())
      throw InvalidParameter("fixed must have one entry per facility, got shape " + shape_of(*fixed));
    fx = require_fixed(*fixed, inst.n());
  }
  const std::vector<int> p(start, start + inst.n());
  const std::vector<int> movable = qap::movable_facilities(inst.n(), fx);
  auto run = [&](auto& search) {
    StopToken stop;
    Incumbent incumbent(stop);
    search.start(p);
    py::dict out;
    out["moves"] = search.run(stop, incumbent, -1, moves);
    out["current"] = to_array(search.current());
    out["cost"] = search.current_cost();
    out["best"] = to_array(search.best());
    out["best_cost"] = search.best_cost();
    out["jump"] = search.jump();
    return out;
  };
  if (reference) {
    qap::BreakoutSearch<T, qap::DeltaTable<T>> search(inst, movable, seed);
    return run(search);
  }
  qap::BreakoutSearch<T> search(inst, movable, seed);
  return run(search);
}

}  // namespace

void bind_testing(py::module_ t) {
  t.doc() = "Test hooks and benchmark timers of mezan._core (not a public API)";
  t.def("delta_table_after_swaps_i64", &delta_table_after_swaps<std::int64_t>, py::arg("A"), py::arg("B"),
        py::arg("p"), py::arg("swaps"), py::arg("fixed") = py::none());
  t.def("delta_table_after_swaps_f64", &delta_table_after_swaps<double>, py::arg("A"), py::arg("B"), py::arg("p"),
        py::arg("swaps"), py::arg("fixed") = py::none());

  t.def("rots_trajectory_i64", &rots_trajectory<std::int64_t>, py::arg("A"), py::arg("B"), py::arg("p"),
        py::arg("seed"), py::arg("iterations"), py::arg("fixed") = py::none(), py::arg("reference") = false,
        py::arg("tenure_max") = 0.0, py::arg("aspiration") = 0.0, py::arg("simd") = true, py::arg("narrow") = true,
        py::arg("clock_period") = 0);
  t.def("rots_trajectory_f64", &rots_trajectory<double>, py::arg("A"), py::arg("B"), py::arg("p"), py::arg("seed"),
        py::arg("iterations"), py::arg("fixed") = py::none(), py::arg("reference") = false, py::arg("tenure_max") = 0.0,
        py::arg("aspiration") = 0.0, py::arg("simd") = true, py::arg("narrow") = true, py::arg("clock_period") = 0);
  t.def("breakout_trajectory_i64", &breakout_trajectory<std::int64_t>, py::arg("A"), py::arg("B"), py::arg("p"),
        py::arg("seed"), py::arg("moves"), py::arg("reference") = false, py::arg("fixed") = py::none());
  t.def("breakout_trajectory_f64", &breakout_trajectory<double>, py::arg("A"), py::arg("B"), py::arg("p"),
        py::arg("seed"), py::arg("moves"), py::arg("reference") = false, py::arg("fixed") = py::none());
  t.def(
      "lap_duals",
      [](const Array<double>& C) {
        const int n = require_square(C, "cost");
        const LapResult r = solve_lap(C.data(), n);
        const auto vec = [](const std::vector<double>& x) { return py::array_t<double>(x.size(), x.data()); };
        return py::make_tuple(to_array(r.assignment), r.cost, vec(r.row_dual), vec(r.col_dual));
      },
      py::arg("cost"), "solve_lap with its optimal dual potentials (row, column): the certificate branch and bound uses");
  t.def(
      "lap_sequence",
      [](const std::vector<Array<double>>& costs) {
        // one workspace and one result for every LAP, as branch and bound and FAQ keep them; a LAP that is refused
        // (a non-finite cost) gives None and the next one goes on in the same buffers
        LapWorkspace work;
        LapResult r;
        py::list out;
        for (const auto& C : costs) {
          const int n = require_square(C, "cost");
          try {
            solve_lap(C.data(), n, work, r);
          } catch (const InvalidProblem&) {
            out.append(py::none());
            continue;
          }
          const auto vec = [](const std::vector<double>& x) { return py::array_t<double>(x.size(), x.data()); };
          out.append(py::make_tuple(to_array(r.assignment), r.cost, vec(r.row_dual), vec(r.col_dual)));
        }
        return out;
      },
      py::arg("costs"), "solve_lap on each cost matrix in turn, reusing one LapWorkspace and LapResult");
  t.def("cpu_has_avx2", &qap::cpu_has_avx2, "True if the AVX2 copies of the hot loops run on this CPU");
  t.def(
      "measure_clock_hz",
      []() {
        // The core's clock under load (bench/rots_speed.py's limit): a chain of dependent one-cycle integer
        // operations, four per loop trip so that the loop's own instructions run in their shadow.
        py::gil_scoped_release release;
        std::uint64_t x = 1;
        const std::uint64_t trips = 50'000'000;
        const auto t0 = std::chrono::steady_clock::now();
        for (std::uint64_t i = 0; i < trips; ++i) {
#if defined(__GNUC__)
          x += i;
          asm volatile("" : "+r"(x));
          x ^= i;
          asm volatile("" : "+r"(x));
          x += i;
          asm volatile("" : "+r"(x));
          x ^= i;
          asm volatile("" : "+r"(x));
#else
          x = (x + i) ^ i;
#endif
        }
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        return (x == 0 ? 4.0 : 4.0) * static_cast<double>(trips) / seconds;
      },
      "Cycles per second of one core, measured by a chain of dependent one-cycle adds");

  t.def(
      "time_gradient",
      [](const qap::RelaxationProducts& r, const Array<double>& P, int repeats) {
        // Seconds per gradient evaluation, one entry per repeat, timed around the products only.
        const Eigen::MatrixXd p = to_matrix(P, "P", false);
        Eigen::MatrixXd G;
        r.gradient(p, G);  // checks P's size before the GIL is released (and warms the buffers)
        std::vector<double> seconds;
        py::gil_scoped_release release;
        for (int k = 0; k < repeats; ++k) {
          const auto t0 = std::chrono::steady_clock::now();
          r.gradient(p, G);
          seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        }
        return seconds;
      },
      py::arg("products"), py::arg("P"), py::arg("repeats"));

  t.def(
      "evo_crossover",
      [](const std::string& kind, const Array<int>& p1, const Array<int>& p2, std::uint64_t seed, int a, int b) {
        const evo::Crossover c = evo::parse_crossover(kind);
        const int n = static_cast<int>(p1.size());
        if (n < 2) throw InvalidParameter("parents must be permutations of at least 2 elements");
        require_permutation(p1, n, "p1");
        require_permutation(p2, n, "p2");
        if (a >= 0 && (a > n || b < a || b > n))  // the slice [a, b) of the first parent
          throw InvalidParameter("the cut points must satisfy 0 <= a <= b <= n");
        std::vector<int> child(n);
        evo::Scratch scratch(n);
        Rng rng(seed);
        if (a >= 0 && c == evo::Crossover::ox)
          evo::order_crossover(p1.data(), p2.data(), n, a, b, child.data(), scratch);
        else if (a >= 0 && c == evo::Crossover::pmx)
          evo::pmx(p1.data(), p2.data(), n, a, b, child.data(), scratch);
        else
          evo::crossover(c, p1.data(), p2.data(), n, child.data(), rng, scratch);
        return to_array(child);
      },
      py::arg("kind"), py::arg("p1"), py::arg("p2"), py::arg("seed") = 0, py::arg("a") = -1, py::arg("b") = -1);
  t.def(
      "evo_mutate",
      [](const std::string& kind, const Array<int>& p, std::uint64_t seed) {
        const evo::Mutation mutation = evo::parse_mutation(kind);
        if (p.size() < 2) throw InvalidParameter("p must be a permutation of at least 2 elements");
        const int* start = require_permutation(p, static_cast<int>(p.size()), "p");
        std::vector<int> q(start, start + p.size());
        Rng rng(seed);
        evo::mutate(mutation, q.data(), static_cast<int>(q.size()), rng);
        return to_array(q);
      },
      py::arg("kind"), py::arg("p"), py::arg("seed") = 0);
}

}  // namespace mezan::bindings
