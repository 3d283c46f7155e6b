// mezan._core._testing: hooks for the tests and timers for the benchmarks, kept out of the public
// module. Each exposes one core routine on its own (an operator, the delta table, a gradient).
#include "common.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/evo/operators.hpp"
#include "mezan/qap/delta_table.hpp"
#include "mezan/qap/assignment.hpp"
#include "mezan/qap/structured.hpp"

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

}  // namespace

void bind_testing(py::module_ t) {
  t.doc() = "Test hooks and benchmark timers of mezan._core (not a public API)";
  t.def("delta_table_after_swaps_i64", &delta_table_after_swaps<std::int64_t>, py::arg("A"), py::arg("B"),
        py::arg("p"), py::arg("swaps"), py::arg("fixed") = py::none());
  t.def("delta_table_after_swaps_f64", &delta_table_after_swaps<double>, py::arg("A"), py::arg("B"), py::arg("p"),
        py::arg("swaps"), py::arg("fixed") = py::none());

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
