// What every binding source shares: the array type, the one set of argument checks, conversions,
// the solve control, and the bind_* entry points that module.cpp calls. Every check here exists
// for memory safety (never read past an array the caller passed) and throws the core's error types
// (mezan/core/errors.hpp), which module.cpp translates to mezan.errors types.
#pragma once
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <Eigen/Dense>
#include <optional>
#include <string>
#include <vector>

#include "mezan/core/errors.hpp"
#include "mezan/core/incumbent.hpp"
#include "mezan/core/stop_token.hpp"
#include "mezan/qap/instance.hpp"

namespace mezan::bindings {

namespace py = pybind11;

/// Every array argument: C-contiguous, converted to the element type (a copy only when needed).
template <class T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

inline std::string shape_of(const py::array& a) {
  std::string s = "(";
  for (py::ssize_t d = 0; d < a.ndim(); ++d) s += (d ? ", " : "") + std::to_string(a.shape(d));
  return s + (a.ndim() == 1 ? ",)" : ")");
}

/// The one shape check of a matrix argument: 2-D and square. Returns n. The data of a problem
/// (A, B, D, W, cost) is InvalidProblem; an argument such as a relaxation point P, InvalidParameter.
template <class T>
int require_square(const Array<T>& M, const char* name, bool problem_data = true) {
  if (M.ndim() != 2 || M.shape(0) != M.shape(1)) {
    const std::string what = std::string(name) + " must be a square matrix, got shape " + shape_of(M);
    if (problem_data) throw InvalidProblem(what);
    throw InvalidParameter(what);
  }
  return static_cast<int>(M.shape(0));
}

/// A and B square and of the same size (every QAP entry point). Returns n.
template <class T>
int require_square_pair(const Array<T>& A, const Array<T>& B, const char* names = "A and B") {
  if (A.ndim() != 2 || B.ndim() != 2 || A.shape(0) != A.shape(1) || B.shape(0) != B.shape(1) ||
      A.shape(0) != B.shape(0))
    throw InvalidProblem(std::string(names) + " must be square matrices of the same size, got shapes " +
                         shape_of(A) + " and " + shape_of(B));
  return static_cast<int>(A.shape(0));
}

/// Every entry point that reads a permutation goes through this: a 1-D array of n distinct values in
/// [0, n) — otherwise InvalidParameter naming the argument (never an out-of-bounds read).
inline const int* require_permutation(const Array<int>& p, int n, const char* name) {
  if (p.ndim() != 1 || p.shape(0) != n)
    throw InvalidParameter(std::string(name) + " must be a permutation of length " + std::to_string(n) +
                           ", got shape " + shape_of(p));
  std::vector<char> seen(static_cast<std::size_t>(n), 0);
  for (int i = 0; i < n; ++i) {
    const int v = p.data()[i];
    if (v < 0 || v >= n || seen[v])
      throw InvalidParameter(std::string(name) + " must be a permutation of 0.." + std::to_string(n - 1));
    seen[v] = 1;
  }
  return p.data();
}

/// An index argument in [0, n).
inline int require_index(int k, int n, const char* name) {
  if (k < 0 || k >= n)
    throw InvalidParameter(std::string(name) + " must lie in [0, " + std::to_string(n - 1) + "], got " +
                           std::to_string(k));
  return k;
}

/// Fixed locations: n entries, each -1 (free) or a location in [0, n).
inline std::vector<int> require_fixed(const Array<int>& fixed, int n, const char* name = "fixed") {
  if (fixed.ndim() != 1 || fixed.shape(0) != n)
    throw InvalidParameter(std::string(name) + " must have n entries (one per facility), got shape " +
                           shape_of(fixed));
  for (int i = 0; i < n; ++i)
    if (fixed.data()[i] < -1 || fixed.data()[i] >= n)
      throw InvalidParameter(std::string(name) + "[i] must be -1 (free) or a location in [0, n)");
  return std::vector<int>(fixed.data(), fixed.data() + n);
}

inline std::vector<int> to_vector(const std::optional<Array<int>>& a) {
  if (!a) return {};
  return std::vector<int>(a->data(), a->data() + a->size());
}

inline py::array_t<int> to_array(const std::vector<int>& v) { return py::array_t<int>(v.size(), v.data()); }

/// A square float64 array as an Eigen matrix (copied; Eigen is column-major).
inline Eigen::MatrixXd to_matrix(const Array<double>& M, const char* name, bool problem_data = true) {
  const auto n = static_cast<Eigen::Index>(require_square(M, name, problem_data));
  return Eigen::Map<const Eigen::Matrix<double, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>>(M.data(), n, n);
}

inline py::array_t<double> to_array(const Eigen::MatrixXd& M) {
  py::array_t<double> out({M.rows(), M.cols()});
  auto view = out.mutable_unchecked<2>();
  for (Eigen::Index i = 0; i < M.rows(); ++i)
    for (Eigen::Index j = 0; j < M.cols(); ++j) view(i, j) = M(i, j);
  return out;
}

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

using Trace = std::vector<std::pair<double, double>>;

/// A QAP instance from two matrices checked by require_square_pair (qap.cpp; instantiated for
/// std::int64_t and double). The Instance constructor checks the values (InvalidProblem).
template <class T>
qap::Instance<T> make_instance(const Array<T>& A, const Array<T>& B);

void bind_core(py::module_ m);        // core.cpp: StopReason, SolveControl, error translation
void bind_qap(py::module_ m);         // qap.cpp: objectives, deltas, bounds, solve, QAPLIB
void bind_relaxation(py::module_ m);  // relaxation.cpp: FAQ, products, structure, projection bound, LAP
void bind_evo(py::module_ m);         // evo.cpp: permutation objectives, evolve
void bind_testing(py::module_ m);     // testing.cpp: test hooks and timers (mezan._core._testing)

}  // namespace mezan::bindings
