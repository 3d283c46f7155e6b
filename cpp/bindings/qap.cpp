// QAP: objectives, swap deltas, the Gilmore–Lawler bound, solve(), QAPLIB reading. One name per
// value type (solve_i64, solve_f64, ...): the Python layer picks the type, so no overload resolution
// can silently cast real data to integers.
#include "common.hpp"
#include "mezan/qap/bounds.hpp"
#include "mezan/qap/qaplib.hpp"
#include "mezan/qap/solve.hpp"

#include <algorithm>

namespace mezan::bindings {

template <class T>
qap::Instance<T> make_instance(const Array<T>& A, const Array<T>& B) {
  const int n = require_square_pair(A, B);
  const std::size_t nn = static_cast<std::size_t>(n) * n;
  return qap::Instance<T>(n, std::vector<T>(A.data(), A.data() + nn), std::vector<T>(B.data(), B.data() + nn));
}

template qap::Instance<std::int64_t> make_instance(const Array<std::int64_t>&, const Array<std::int64_t>&);
template qap::Instance<double> make_instance(const Array<double>&, const Array<double>&);

namespace {

/// What solve_i64 / solve_f64 return: qap::SolveReport, the objective of its permutation in the
/// instance's value type, and the incumbent's trace of (seconds, objective).
template <class T>
struct QapReport {
  py::array_t<int> permutation;
  T objective{};
  std::int64_t iterations = 0;
  StopReason reason = StopReason::none;
  bool proven_optimal = false;
  std::string summary;
  Trace trace;
};

template <class T>
QapReport<T> solve_typed(const Array<T>& A, const Array<T>& B, const std::string& method, std::uint64_t seed,
                         int threads, std::int64_t max_iter, const std::optional<Array<int>>& initial,
                         const std::optional<Array<int>>& fixed, SolveControl& control,
                         const std::vector<std::string>& members) {
  const qap::Instance<T> inst = make_instance(A, B);
  qap::SolveOptions opt;
  opt.method = qap::parse_method(method);
  opt.seed = seed;
  opt.threads = threads;
  opt.max_iter = max_iter;
  opt.initial = to_vector(initial);  // solve() checks both: sizes, ranges, consistency
  opt.fixed = to_vector(fixed);
  for (const std::string& name : members) opt.members.push_back(qap::parse_method(name));
  qap::SolveReport report;
  QapReport<T> out;
  {
    py::gil_scoped_release release;
    report = qap::solve(inst, opt, control.stop, control.incumbent);
    out.objective = qap::objective(inst, report.permutation);
  }
  out.permutation = to_array(report.permutation);
  out.iterations = report.iterations;
  out.reason = report.reason;
  out.proven_optimal = report.proven_optimal;
  out.summary = report.summary;
  out.trace = control.incumbent.trace();
  return out;
}

template <class T>
void bind_typed(py::module_& m, const std::string& suffix, const char* report_name) {
  const std::string doc = "The result of solve_" + suffix + " (read-only)";
  py::class_<QapReport<T>>(m, report_name, doc.c_str())
      .def_readonly("permutation", &QapReport<T>::permutation)
      .def_readonly("objective", &QapReport<T>::objective)
      .def_readonly("iterations", &QapReport<T>::iterations)
      .def_readonly("reason", &QapReport<T>::reason)
      .def_readonly("proven_optimal", &QapReport<T>::proven_optimal)
      .def_readonly("summary", &QapReport<T>::summary)
      .def_readonly("trace", &QapReport<T>::trace);
  m.def(("solve_" + suffix).c_str(), &solve_typed<T>, py::arg("A"), py::arg("B"), py::arg("method"), py::arg("seed"),
        py::arg("threads"), py::arg("max_iter"), py::arg("initial"), py::arg("fixed"), py::arg("control"),
        py::arg("members") = std::vector<std::string>{});
  m.def(
      ("objective_" + suffix).c_str(),
      [](const Array<T>& A, const Array<T>& B, const Array<int>& p) {
        const qap::Instance<T> inst = make_instance(A, B);
        return qap::objective(inst, require_permutation(p, inst.n(), "p"));
      },
      py::arg("A"), py::arg("B"), py::arg("p"));
  m.def(
      ("swap_delta_" + suffix).c_str(),
      [](const Array<T>& A, const Array<T>& B, const Array<int>& p, int r, int s) {
        const qap::Instance<T> inst = make_instance(A, B);
        return qap::swap_delta(inst, require_permutation(p, inst.n(), "p"), require_index(r, inst.n(), "r"),
                               require_index(s, inst.n(), "s"));
      },
      py::arg("A"), py::arg("B"), py::arg("p"), py::arg("r"), py::arg("s"));
  m.def(
      ("gilmore_lawler_bound_" + suffix).c_str(),
      [](const Array<T>& A, const Array<T>& B) {
        const qap::Instance<T> inst = make_instance(A, B);
        py::gil_scoped_release release;
        return qap::gilmore_lawler_bound(inst);
      },
      py::arg("A"), py::arg("B"));
}

}  // namespace

void bind_qap(py::module_ m) {
  py::register_exception<qap::QaplibError>(m, "QaplibError", PyExc_ValueError);
  m.def("int64_safe", &qap::int64_safe, py::arg("max_abs_a"), py::arg("max_abs_b"), py::arg("n"));
  m.attr("MAX_OBJECTIVE_SCALE") = qap::kMaxObjectiveScale;
  m.def(
      "dense_matrix",
      [](const Array<double>& M) {
        const int n = require_square(M, "M");
        return qap::dense_matrix(M.data(), n);
      },
      py::arg("M"), "At least 95 % of the square matrix M's off-diagonal entries are non-zero (the core's rule).");
  m.def("memetic_setup_iterations", &qap::memetic_setup_iterations, py::arg("n"), py::arg("dense"),
        "RoTS iterations the memetic search spends on its default population before any crossover.");
  m.def("qap_method_names", &qap::method_names,
        "The QAP methods by name, in the core's order: the one table Python's METHODS, the CLI and the docs read.");
  bind_typed<std::int64_t>(m, "i64", "SolveReportI64");
  bind_typed<double>(m, "f64", "SolveReportF64");
  m.def(
      "read_qaplib",
      [](const std::string& path) {
        qap::QaplibData d = qap::read_qaplib(path);
        py::array_t<double> A({d.n, d.n}), B({d.n, d.n});
        std::copy(d.a.begin(), d.a.end(), A.mutable_data());
        std::copy(d.b.begin(), d.b.end(), B.mutable_data());
        return py::make_tuple(A, B, d.integral);
      },
      py::arg("path"));
}

}  // namespace mezan::bindings
