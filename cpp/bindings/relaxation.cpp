// The relaxation side of QAP: FAQ (Frank–Wolfe), its gradient products (GEMM or FFT for structured
// matrices), structure detection, the projection bound, and the linear assignment solver.
#include "common.hpp"
#include "mezan/core/lap.hpp"
#include "mezan/core/rng.hpp"
#include "mezan/qap/faq.hpp"
#include "mezan/qap/projection_bound.hpp"
#include "mezan/qap/structured.hpp"

namespace mezan::bindings {
namespace {

/// What faq() returns: qap::FaqResult with the permutation as an array.
struct FaqReport {
  py::array_t<int> permutation;
  double objective = 0;
  int iterations = 0;
  std::string products;
};

}  // namespace

void bind_relaxation(py::module_ m) {
  m.def(
      "solve_lap",
      [](const Array<double>& C) {
        const int n = require_square(C, "cost");
        LapResult r;
        {
          py::gil_scoped_release release;
          r = solve_lap(C.data(), n);
        }
        return py::make_tuple(to_array(r.assignment), r.cost);
      },
      py::arg("cost"));

  m.def(
      "projection_bound",
      [](const Array<double>& A, const Array<double>& B) -> std::optional<double> {
        const int n = require_square_pair(A, B);
        py::gil_scoped_release release;
        return qap::projection_bound(A.data(), B.data(), n);
      },
      py::arg("A"), py::arg("B"));

  m.def(
      "detect_structure",
      [](const Array<double>& M, double tol) {
        const int n = require_square(M, "M");
        const qap::Structure s = qap::detect_structure(M.data(), n, tol);
        return py::make_tuple(qap::structure_name(s.kind), s.rows, s.cols);
      },
      py::arg("M"), py::arg("tol") = 1e-9);

  m.def(
      "fft_pays_from", [](const std::string& kind) { return qap::fft_pays_from(qap::parse_structure_kind(kind)); },
      py::arg("kind"));

  py::class_<qap::RelaxationProducts>(m, "RelaxationProducts")
      .def(py::init([](const Array<double>& A, const Array<double>& B, const std::string& products, double tol) {
             require_square_pair(A, B);
             return qap::RelaxationProducts(to_matrix(A, "A"), to_matrix(B, "B"), qap::parse_products(products), tol);
           }),
           py::arg("A"), py::arg("B"), py::arg("products") = "auto", py::arg("tol") = 1e-9)
      .def(
          "gradient",
          [](const qap::RelaxationProducts& r, const Array<double>& P) {
            const Eigen::MatrixXd p = to_matrix(P, "P", false);  // gradient() checks its size
            Eigen::MatrixXd G;
            const double f = r.gradient(p, G);
            return py::make_tuple(to_array(G), f);
          },
          py::arg("P"))
      .def_property_readonly("structure_a",
                             [](const qap::RelaxationProducts& r) { return qap::structure_name(r.structure_a().kind); })
      .def_property_readonly("structure_b",
                             [](const qap::RelaxationProducts& r) { return qap::structure_name(r.structure_b().kind); })
      .def_property_readonly("path", &qap::RelaxationProducts::path)
      .def_property_readonly("n", &qap::RelaxationProducts::n);

  py::class_<FaqReport>(m, "FaqReport", "The result of faq (read-only)")
      .def_readonly("permutation", &FaqReport::permutation)
      .def_readonly("objective", &FaqReport::objective)
      .def_readonly("iterations", &FaqReport::iterations)
      .def_readonly("products", &FaqReport::products);

  m.def(
      "faq",
      [](const Array<double>& A, const Array<double>& B, const Array<int>& fixed,
         const std::optional<Array<double>>& P0, int max_iter, double tol, const std::string& products) {
        const int n = require_square_pair(A, B);
        const std::vector<int> fx = require_fixed(fixed, n);
        std::vector<double> p0;  // faq() checks its size against the free facilities
        if (P0) p0.assign(P0->data(), P0->data() + P0->size());
        qap::FaqOptions options;
        options.max_iter = max_iter;
        options.tol = tol;
        options.products = qap::parse_products(products);
        qap::FaqResult r;
        {
          py::gil_scoped_release release;
          r = qap::faq(A.data(), B.data(), n, fx, p0, options);
        }
        return FaqReport{to_array(r.permutation), r.objective, r.iterations, r.products};
      },
      py::arg("A"), py::arg("B"), py::arg("fixed"), py::arg("P0"), py::arg("max_iter"), py::arg("tol"),
      py::arg("products") = "gemm");

  // scipy's "randomized" FAQ start (mezan.qap.scipy_compat draws its starts here, so its runs match solve()'s).
  m.def(
      "faq_randomized_start",
      [](int size, std::uint64_t seed) {
        if (size < 0) throw InvalidParameter("m must be >= 0, got " + std::to_string(size));
        Rng rng(seed);
        const std::vector<double> start = qap::randomized_start(size, rng);
        return py::array_t<double>(start.size(), start.data());
      },
      py::arg("m"), py::arg("seed"));
}

}  // namespace mezan::bindings
