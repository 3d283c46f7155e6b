// mezan._core: thin pybind11 bindings of mezan::core. Converts arrays, releases the GIL around
// every solve, maps C++ errors to Python ones. No algorithm and no policy lives here.
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include "mezan/core/lap.hpp"
#include "mezan/evo/engine.hpp"
#include "mezan/qap/bounds.hpp"
#include "mezan/qap/projection_bound.hpp"
#include "mezan/qap/qaplib.hpp"
#include "mezan/qap/solve.hpp"
#include "mezan/qap/structured.hpp"

#include <algorithm>
#include <chrono>

namespace py = pybind11;
using namespace mezan;
using namespace mezan::qap;

namespace {

template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

/// The stop token and the incumbent of one solve, shared with Python for polling and cancelling.
/// The budget is armed at construction, before any thread reads the clock.
struct SolveControl {
  SolveControl(double time_limit, std::optional<double> target) {
    stop.arm(time_limit);
    if (target) stop.set_target(*target);
  }
  StopToken stop;
  Incumbent incumbent{stop};
};

template <class T>
Instance<T> make_instance(const Array<T>& A, const Array<T>& B) {
  if (A.ndim() != 2 || B.ndim() != 2 || A.shape(0) != A.shape(1) || B.shape(0) != B.shape(1) ||
      A.shape(0) != B.shape(0))
    throw std::invalid_argument("A and B must be square matrices of the same size");
  const int n = static_cast<int>(A.shape(0));
  const std::size_t nn = static_cast<std::size_t>(n) * n;
  return Instance<T>(n, std::vector<T>(A.data(), A.data() + nn), std::vector<T>(B.data(), B.data() + nn));
}

/// Every entry point that reads a permutation goes through this: a 1-D array of n distinct values in
/// [0, n) — otherwise std::invalid_argument naming the argument (never an out-of-bounds read).
const int* require_permutation(const Array<int>& p, int n, const char* name) {
  if (p.ndim() != 1 || p.shape(0) != n)
    throw std::invalid_argument(std::string(name) + " must be a permutation of length " + std::to_string(n));
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    const int v = p.data()[i];
    if (v < 0 || v >= n || seen[v]) throw std::invalid_argument(std::string(name) + " must be a permutation of 0.." +
                                                                 std::to_string(n - 1));
    seen[v] = 1;
  }
  return p.data();
}

/// An index argument in [0, n).
int require_index(int k, int n, const char* name) {
  if (k < 0 || k >= n) throw std::invalid_argument(std::string(name) + " must lie in [0, " + std::to_string(n - 1) + "]");
  return k;
}

std::vector<int> to_vector(const std::optional<Array<int>>& a) {
  if (!a) return {};
  return std::vector<int>(a->data(), a->data() + a->size());
}

py::array_t<int> to_array(const std::vector<int>& v) { return py::array_t<int>(v.size(), v.data()); }

/// A square float64 array as an Eigen matrix (copied; Eigen is column-major).
Eigen::MatrixXd to_matrix(const Array<double>& M, const char* name) {
  if (M.ndim() != 2 || M.shape(0) != M.shape(1)) throw std::invalid_argument(std::string(name) + " must be a square matrix");
  const auto n = static_cast<Eigen::Index>(M.shape(0));
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(M.data(), n, n);
}

py::array_t<double> to_array(const Eigen::MatrixXd& M) {
  py::array_t<double> out({M.rows(), M.cols()});
  auto view = out.mutable_unchecked<2>();
  for (Eigen::Index i = 0; i < M.rows(); ++i)
    for (Eigen::Index j = 0; j < M.cols(); ++j) view(i, j) = M(i, j);
  return out;
}

template <class T>
py::dict solve_typed(const Array<T>& A, const Array<T>& B, const std::string& method, std::uint64_t seed,
                     int threads, std::int64_t max_iter, const std::optional<Array<int>>& initial,
                     const std::optional<Array<int>>& fixed, SolveControl& control) {
  const Instance<T> inst = make_instance(A, B);
  SolveOptions opt;
  opt.method = parse_method(method);
  opt.seed = seed;
  opt.threads = threads;
  opt.max_iter = max_iter;
  opt.initial = to_vector(initial);
  opt.fixed = to_vector(fixed);
  SolveReport report;
  T value;
  {
    py::gil_scoped_release release;
    report = solve(inst, opt, control.stop, control.incumbent);
    value = objective(inst, report.permutation);
  }
  py::dict out;
  out["permutation"] = to_array(report.permutation);
  out["objective"] = value;
  out["iterations"] = report.iterations;
  out["reason"] = to_string(report.reason);
  out["proven_optimal"] = report.proven_optimal;
  out["trace"] = control.incumbent.trace();
  return out;
}

template <class T>
py::array_t<T> delta_table_after_swaps(const Array<T>& A, const Array<T>& B, const Array<int>& p0,
                                       const std::vector<std::pair<int, int>>& swaps,
                                       const std::optional<Array<int>>& fixed) {
  const Instance<T> inst = make_instance(A, B);
  const int* start = require_permutation(p0, inst.n(), "p");
  std::vector<int> p(start, start + inst.n());
  const std::vector<int> fx = to_vector(fixed);
  if (!fx.empty() && static_cast<int>(fx.size()) != inst.n())
    throw std::invalid_argument("fixed must have one entry per facility");
  DeltaTable<T> table(inst, movable_facilities(inst.n(), fx));
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

/// A Python callable as an objective: evaluated on the engine's thread, taking the GIL once per
/// batch. An exception raised by the callable propagates (as error_already_set) out of evolve().
class CallableObjective : public evo::PermutationObjective {
 public:
  CallableObjective(py::function fn, int n) : fn_(std::move(fn)), n_(n) {}
  int size() const override { return n_; }
  bool thread_safe() const override { return false; }
  double evaluate(const int* p) const override {
    py::gil_scoped_acquire gil;
    return call(p);
  }
  void evaluate_batch(std::vector<int>& batch, int count, bool, std::vector<double>& out, StopToken&,
                      ThreadPool*) const override {
    py::gil_scoped_acquire gil;
    for (int c = 0; c < count; ++c) out[c] = call(batch.data() + static_cast<std::size_t>(c) * n_);
  }

 private:
  double call(const int* p) const {
    py::array_t<int> perm(n_, p);
    py::object value = fn_(perm);
    double v;
    try {
      v = value.cast<double>();
    } catch (const py::cast_error&) {
      throw py::type_error("the objective must return a number, got " +
                           std::string(py::str(py::type::of(value).attr("__name__"))));
    }
    if (std::isnan(v)) throw py::value_error("the objective returned NaN");
    return v;
  }
  py::function fn_;
  int n_;
};

template <class T>
std::shared_ptr<evo::PermutationObjective> qap_objective(const Array<T>& A, const Array<T>& B) {
  return std::make_shared<evo::QAPObjective<T>>(make_instance(A, B));
}

std::vector<double> square(const Array<double>& M, const char* name, int& n) {
  if (M.ndim() != 2 || M.shape(0) != M.shape(1)) throw std::invalid_argument(std::string(name) + " must be square");
  n = static_cast<int>(M.shape(0));
  return std::vector<double>(M.data(), M.data() + M.size());
}

}  // namespace

PYBIND11_MODULE(_core, m) {
  m.doc() = "MEZAN C++ core (mezan::core) bindings";
  py::register_exception<QaplibError>(m, "QaplibError", PyExc_ValueError);

  py::class_<SolveControl>(m, "SolveControl")
      .def(py::init<double, std::optional<double>>(), py::arg("time_limit"), py::arg("target") = py::none(),
           "Arm a budget: time_limit seconds (<= 0: none) and an optional target objective")
      .def("cancel", [](SolveControl& c) { c.stop.cancel(); })
      .def("snapshot",
           [](const SolveControl& c) {
             const double best = c.incumbent.best();
             return py::make_tuple(c.incumbent.has_solution() && std::isfinite(best) ? py::cast(best) : py::none(), c.stop.elapsed(),
                                   c.incumbent.iterations());
           },
           "(best objective or None, elapsed seconds, iterations) — safe to call while a solve runs");

  m.def("int64_safe", &int64_safe, py::arg("max_abs_a"), py::arg("max_abs_b"), py::arg("n"));
  m.attr("MAX_OBJECTIVE_SCALE") = kMaxObjectiveScale;

#define MEZAN_BIND_TYPED(T, SUFFIX)                                                                                  \
  m.def("solve_" SUFFIX, &solve_typed<T>, py::arg("A"), py::arg("B"), py::arg("method"), py::arg("seed"),            \
        py::arg("threads"), py::arg("max_iter"), py::arg("initial"),                                           \
        py::arg("fixed"), py::arg("control"));                                                                 \
  m.def("objective_" SUFFIX, [](const Array<T>& A, const Array<T>& B, const Array<int>& p) {                          \
    const Instance<T> inst = make_instance(A, B);                                                              \
    return objective(inst, require_permutation(p, inst.n(), "p"));                                             \
  });                                                                                                          \
  m.def("swap_delta_" SUFFIX, [](const Array<T>& A, const Array<T>& B, const Array<int>& p, int r, int s) {          \
    const Instance<T> inst = make_instance(A, B);                                                              \
    return swap_delta(inst, require_permutation(p, inst.n(), "p"), require_index(r, inst.n(), "r"),           \
                      require_index(s, inst.n(), "s"));                                                        \
  });                                                                                                          \
  m.def("delta_table_after_swaps_" SUFFIX, &delta_table_after_swaps<T>, py::arg("A"), py::arg("B"), py::arg("p"),    \
        py::arg("swaps"), py::arg("fixed") = py::none());                                                      \
  m.def("gilmore_lawler_bound_" SUFFIX, [](const Array<T>& A, const Array<T>& B) {                                    \
    const Instance<T> inst = make_instance(A, B);                                                              \
    py::gil_scoped_release release;                                                                            \
    return gilmore_lawler_bound(inst);                                                                         \
  });

  // One name per value type (solve_i64, solve_f64, ...): the Python layer picks the type, so no
  // overload resolution can silently cast real data to integers.
  MEZAN_BIND_TYPED(std::int64_t, "i64")
  MEZAN_BIND_TYPED(double, "f64")
#undef MEZAN_BIND_TYPED

  m.def(
      "solve_lap",
      [](const Array<double>& C) {
        if (C.ndim() != 2 || C.shape(0) != C.shape(1)) throw std::invalid_argument("cost must be a square matrix");
        LapResult r;
        {
          py::gil_scoped_release release;
          r = solve_lap(C.data(), static_cast<int>(C.shape(0)));
        }
        return py::make_tuple(to_array(r.assignment), r.cost);
      },
      py::arg("cost"));

  m.def(
      "projection_bound",
      [](const Array<double>& A, const Array<double>& B) -> std::optional<double> {
        if (A.ndim() != 2 || B.ndim() != 2 || A.shape(0) != A.shape(1) || B.shape(0) != B.shape(1) ||
            A.shape(0) != B.shape(0))
          throw std::invalid_argument("A and B must be square matrices of the same size");
        py::gil_scoped_release release;
        return projection_bound(A.data(), B.data(), static_cast<int>(A.shape(0)));
      },
      py::arg("A"), py::arg("B"));

  m.def(
      "detect_structure",
      [](const Array<double>& M, double tol) {
        if (M.ndim() != 2 || M.shape(0) != M.shape(1)) throw std::invalid_argument("M must be a square matrix");
        const Structure s = detect_structure(M.data(), static_cast<int>(M.shape(0)), tol);
        return py::make_tuple(structure_name(s.kind), s.rows, s.cols);
      },
      py::arg("M"), py::arg("tol") = 1e-9);

  m.def(
      "fft_pays_from",
      [](const std::string& kind) {
        for (StructureKind k : {StructureKind::circulant, StructureKind::toeplitz, StructureKind::grid_manhattan,
                                StructureKind::grid_euclidean})
          if (kind == structure_name(k)) return fft_pays_from(k);
        throw std::invalid_argument("unknown structure '" + kind + "'");
      },
      py::arg("kind"));

  py::class_<RelaxationProducts>(m, "RelaxationProducts")
      .def(py::init([](const Array<double>& A, const Array<double>& B, const std::string& products, double tol) {
             return RelaxationProducts(to_matrix(A, "A"), to_matrix(B, "B"), parse_products(products), tol);
           }),
           py::arg("A"), py::arg("B"), py::arg("products") = "auto", py::arg("tol") = 1e-9)
      .def("gradient",
           [](const RelaxationProducts& r, const Array<double>& P) {
             const Eigen::MatrixXd p = to_matrix(P, "P");
             Eigen::MatrixXd G;
             const double f = r.gradient(p, G);
             return py::make_tuple(to_array(G), f);
           })
      .def("time_gradient",
           [](const RelaxationProducts& r, const Array<double>& P, int repeats) {
             // Seconds per gradient evaluation, one entry per repeat, timed around the products only.
             const Eigen::MatrixXd p = to_matrix(P, "P");
             Eigen::MatrixXd G;
             std::vector<double> seconds;
             py::gil_scoped_release release;
             for (int k = 0; k < repeats; ++k) {
               const auto t0 = std::chrono::steady_clock::now();
               r.gradient(p, G);
               seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
             }
             return seconds;
           },
           py::arg("P"), py::arg("repeats"))
      .def_property_readonly("structure_a", [](const RelaxationProducts& r) { return structure_name(r.structure_a().kind); })
      .def_property_readonly("structure_b", [](const RelaxationProducts& r) { return structure_name(r.structure_b().kind); })
      .def_property_readonly("path", &RelaxationProducts::path);

  m.def(
      "faq",
      [](const Array<double>& A, const Array<double>& B, const Array<int>& fixed,
         const std::optional<Array<double>>& P0, int max_iter, double tol, const std::string& products) {
        if (A.ndim() != 2 || B.ndim() != 2 || A.shape(0) != A.shape(1) || B.shape(0) != B.shape(1) ||
            A.shape(0) != B.shape(0))
          throw std::invalid_argument("A and B must be square matrices of the same size");
        const int n = static_cast<int>(A.shape(0));
        if (fixed.ndim() != 1 || fixed.shape(0) != n) throw std::invalid_argument("fixed must have n entries");
        for (int i = 0; i < n; ++i)
          if (fixed.data()[i] < -1 || fixed.data()[i] >= n)
            throw std::invalid_argument("fixed[i] must be -1 (free) or a location in [0, n)");
        std::vector<double> p0;
        if (P0) p0.assign(P0->data(), P0->data() + P0->size());
        std::vector<int> fx(fixed.data(), fixed.data() + fixed.size());
        FaqResult r;
        {
          py::gil_scoped_release release;
          FaqOptions options;
          options.max_iter = max_iter;
          options.tol = tol;
          options.products = parse_products(products);
          r = faq(A.data(), B.data(), n, fx, p0, options);
        }
        py::dict out;
        out["permutation"] = to_array(r.permutation);
        out["objective"] = r.objective;
        out["iterations"] = r.iterations;
        out["products"] = r.products;
        return out;
      },
      py::arg("A"), py::arg("B"), py::arg("fixed"), py::arg("P0"), py::arg("max_iter"), py::arg("tol"),
      py::arg("products") = "gemm");

  m.def(
      "faq_randomized_start",
      [](int m, std::uint64_t seed) {
        Rng rng(seed);
        const std::vector<double> start = randomized_start(m, rng);
        return py::array_t<double>(start.size(), start.data());
      },
      py::arg("m"), py::arg("seed"));

  // ---- EvoFlow ------------------------------------------------------------------------------
  py::class_<evo::PermutationObjective, std::shared_ptr<evo::PermutationObjective>>(m, "PermutationObjective")
      .def_property_readonly("n", &evo::PermutationObjective::size)
      .def_property_readonly("has_local_search", &evo::PermutationObjective::has_local_search)
      .def("evaluate", [](const evo::PermutationObjective& o, const Array<int>& p) {
        return o.evaluate(require_permutation(p, o.size(), "p"));
      })
      .def("improve", [](const evo::PermutationObjective& o, const Array<int>& p) {
        const int* start = require_permutation(p, o.size(), "p");
        std::vector<int> q(start, start + o.size());
        StopToken stop;
        const double v = o.improve(q.data(), stop);
        return py::make_tuple(to_array(q), v);
      });
  m.def("qap_objective_i64", &qap_objective<std::int64_t>);
  m.def("qap_objective_f64", &qap_objective<double>);
  m.def("tsp_objective", [](const Array<double>& D) -> std::shared_ptr<evo::PermutationObjective> {
    int n;
    auto d = square(D, "D", n);
    return std::make_shared<evo::TSPObjective>(n, std::move(d));
  });
  m.def("linear_ordering_objective", [](const Array<double>& W) -> std::shared_ptr<evo::PermutationObjective> {
    int n;
    auto w = square(W, "W", n);
    return std::make_shared<evo::LinearOrderingObjective>(n, std::move(w));
  });
  m.def("callable_objective", [](py::function fn, int n) -> std::shared_ptr<evo::PermutationObjective> {
    return std::make_shared<CallableObjective>(std::move(fn), n);
  });

  m.def(
      "evolve",
      [](std::shared_ptr<evo::PermutationObjective> objective, int population, std::int64_t generations,
         std::int64_t max_evaluations, const std::string& crossover, const std::string& mutation,
         double mutation_rate, bool local_search, const std::string& selection, int tournament_size,
         const std::string& distance, std::uint64_t seed, int threads, SolveControl& control) {
        evo::EvoOptions opt;
        opt.population = population;
        opt.generations = generations;
        opt.max_evaluations = max_evaluations;
        opt.crossover = evo::parse_crossover(crossover);
        opt.mutation = evo::parse_mutation(mutation);
        opt.mutation_rate = mutation_rate;
        opt.local_search = local_search;
        opt.selection = selection == "rank" ? evo::Selection::rank : evo::Selection::tournament;
        opt.tournament_size = tournament_size;
        opt.distance = distance == "position" ? evo::Distance::position : evo::Distance::hamming;
        opt.seed = seed;
        opt.threads = threads;
        evo::EvoReport report;
        {
          py::gil_scoped_release release;
          report = evo::evolve(*objective, opt, control.stop, control.incumbent);
        }
        py::dict out;
        out["permutation"] = to_array(report.best);
        out["objective"] = report.fitness;
        out["evaluations"] = report.evaluations;
        out["generations"] = report.generations;
        out["reason"] = to_string(report.reason);
        out["trace"] = control.incumbent.trace();
        return out;
      },
      py::arg("objective"), py::arg("population"), py::arg("generations"), py::arg("max_evaluations"),
      py::arg("crossover"), py::arg("mutation"), py::arg("mutation_rate"), py::arg("local_search"),
      py::arg("selection"), py::arg("tournament_size"), py::arg("distance"), py::arg("seed"), py::arg("threads"),
      py::arg("control"));

  m.def(
      "evo_crossover",
      [](const std::string& kind, const Array<int>& p1, const Array<int>& p2, std::uint64_t seed, int a, int b) {
        const int n = static_cast<int>(p1.size());
        if (n < 2) throw std::invalid_argument("parents must be permutations of at least 2 elements");
        require_permutation(p1, n, "p1");
        require_permutation(p2, n, "p2");
        if (a >= 0 && (a > n || b < a || b > n))  // the slice [a, b) of the first parent
          throw std::invalid_argument("the cut points must satisfy 0 <= a <= b <= n");
        std::vector<int> child(n);
        evo::Scratch scratch(n);
        Rng rng(seed);
        const evo::Crossover c = evo::parse_crossover(kind);
        if (a >= 0 && c == evo::Crossover::ox)
          evo::order_crossover(p1.data(), p2.data(), n, a, b, child.data(), scratch);
        else if (a >= 0 && c == evo::Crossover::pmx)
          evo::pmx(p1.data(), p2.data(), n, a, b, child.data(), scratch);
        else
          evo::crossover(c, p1.data(), p2.data(), n, child.data(), rng, scratch);
        return to_array(child);
      },
      py::arg("kind"), py::arg("p1"), py::arg("p2"), py::arg("seed") = 0, py::arg("a") = -1, py::arg("b") = -1);
  m.def(
      "evo_mutate",
      [](const std::string& kind, const Array<int>& p, std::uint64_t seed) {
        if (p.size() < 2) throw std::invalid_argument("p must be a permutation of at least 2 elements");
        const int* start = require_permutation(p, static_cast<int>(p.size()), "p");
        std::vector<int> q(start, start + p.size());
        Rng rng(seed);
        evo::mutate(evo::parse_mutation(kind), q.data(), static_cast<int>(q.size()), rng);
        return to_array(q);
      },
      py::arg("kind"), py::arg("p"), py::arg("seed") = 0);

  m.def(
      "read_qaplib",
      [](const std::string& path) {
        QaplibData d = read_qaplib(path);
        py::array_t<double> A({d.n, d.n}), B({d.n, d.n});
        std::copy(d.a.begin(), d.a.end(), A.mutable_data());
        std::copy(d.b.begin(), d.b.end(), B.mutable_data());
        return py::make_tuple(A, B, d.integral);
      },
      py::arg("path"));
}
