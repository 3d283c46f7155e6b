// EvoFlow: permutation objectives (QAP, TSP, linear ordering, a Python callable) and evolve().
#include "common.hpp"
#include "mezan/evo/engine.hpp"

#include <cmath>

namespace mezan::bindings {
namespace {

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

/// What evolve() returns: evo::EvoReport with the best permutation as an array, and the
/// incumbent's trace of (seconds, objective).
struct EvoReport {
  py::array_t<int> permutation;
  double objective = 0;
  std::int64_t evaluations = 0;
  std::int64_t generations = 0;
  StopReason reason = StopReason::none;
  Trace trace;
};

template <class T>
std::shared_ptr<evo::PermutationObjective> qap_objective(const Array<T>& A, const Array<T>& B) {
  return std::make_shared<evo::QAPObjective<T>>(make_instance(A, B));
}

std::vector<double> square_data(const Array<double>& M, const char* name, int& n) {
  n = require_square(M, name);
  return std::vector<double>(M.data(), M.data() + M.size());
}

}  // namespace

void bind_evo(py::module_ m) {
  py::class_<evo::PermutationObjective, std::shared_ptr<evo::PermutationObjective>>(m, "PermutationObjective")
      .def_property_readonly("n", &evo::PermutationObjective::size)
      .def_property_readonly("has_local_search", &evo::PermutationObjective::has_local_search)
      .def(
          "evaluate",
          [](const evo::PermutationObjective& o, const Array<int>& p) {
            return o.evaluate(require_permutation(p, o.size(), "p"));
          },
          py::arg("p"))
      .def(
          "improve",
          [](const evo::PermutationObjective& o, const Array<int>& p) {
            const int* start = require_permutation(p, o.size(), "p");
            std::vector<int> q(start, start + o.size());
            StopToken stop;
            const double v = o.improve(q.data(), stop);
            return py::make_tuple(to_array(q), v);
          },
          py::arg("p"));
  m.def("qap_objective_i64", &qap_objective<std::int64_t>, py::arg("A"), py::arg("B"));
  m.def("qap_objective_f64", &qap_objective<double>, py::arg("A"), py::arg("B"));
  m.def(
      "tsp_objective",
      [](const Array<double>& D) -> std::shared_ptr<evo::PermutationObjective> {
        int n;
        auto d = square_data(D, "D", n);
        return std::make_shared<evo::TSPObjective>(n, std::move(d));
      },
      py::arg("D"));
  m.def(
      "linear_ordering_objective",
      [](const Array<double>& W) -> std::shared_ptr<evo::PermutationObjective> {
        int n;
        auto w = square_data(W, "W", n);
        return std::make_shared<evo::LinearOrderingObjective>(n, std::move(w));
      },
      py::arg("W"));
  m.def(
      "callable_objective",
      [](py::function fn, int n) -> std::shared_ptr<evo::PermutationObjective> {
        if (n < 1) throw InvalidParameter("n must be >= 1, got " + std::to_string(n));
        return std::make_shared<CallableObjective>(std::move(fn), n);
      },
      py::arg("fn"), py::arg("n"));

  py::class_<EvoReport>(m, "EvoReport", "The result of evolve (read-only)")
      .def_readonly("permutation", &EvoReport::permutation)
      .def_readonly("objective", &EvoReport::objective)
      .def_readonly("evaluations", &EvoReport::evaluations)
      .def_readonly("generations", &EvoReport::generations)
      .def_readonly("reason", &EvoReport::reason)
      .def_readonly("trace", &EvoReport::trace);

  m.def(
      "evolve",
      [](std::shared_ptr<evo::PermutationObjective> objective, int population, std::int64_t generations,
         std::int64_t max_evaluations, const std::string& crossover, const std::string& mutation,
         double mutation_rate, bool local_search, const std::string& selection, int tournament_size,
         const std::string& distance, std::uint64_t seed, int threads, SolveControl& control) {
        if (!objective) throw InvalidParameter("objective must not be None");
        evo::EvoOptions opt;
        opt.population = population;
        opt.generations = generations;
        opt.max_evaluations = max_evaluations;
        opt.crossover = evo::parse_crossover(crossover);
        opt.mutation = evo::parse_mutation(mutation);
        opt.mutation_rate = mutation_rate;
        opt.local_search = local_search;
        opt.selection = evo::parse_selection(selection);
        opt.tournament_size = tournament_size;
        opt.distance = evo::parse_distance(distance);
        opt.seed = seed;
        opt.threads = threads;
        evo::EvoReport report;
        {
          py::gil_scoped_release release;
          report = evo::evolve(*objective, opt, control.stop, control.incumbent);
        }
        EvoReport out;
        out.permutation = to_array(report.best);
        out.objective = report.fitness;
        out.evaluations = report.evaluations;
        out.generations = report.generations;
        out.reason = report.reason;
        out.trace = control.incumbent.trace();
        return out;
      },
      py::arg("objective"), py::arg("population"), py::arg("generations"), py::arg("max_evaluations"),
      py::arg("crossover"), py::arg("mutation"), py::arg("mutation_rate"), py::arg("local_search"),
      py::arg("selection"), py::arg("tournament_size"), py::arg("distance"), py::arg("seed"), py::arg("threads"),
      py::arg("control"));
}

}  // namespace mezan::bindings
