// The shared vocabulary of every binding: StopReason, SolveControl, and the translation of the
// core's error types (mezan/core/errors.hpp) to the Python types that mezan.errors hands down.
#include "common.hpp"

#if PYBIND11_VERSION_MAJOR >= 3
#include <pybind11/native_enum.h>
#endif

namespace mezan::bindings {
namespace {

/// The Python types the core's errors become, set once by mezan.errors at import time (the lower
/// layer never imports the higher one). Owned references, kept for the life of the interpreter.
PyObject* invalid_problem_type = nullptr;
PyObject* invalid_parameter_type = nullptr;

void set_type(PyObject*& slot, const py::handle& type, const char* name) {
  if (!PyExceptionClass_Check(type.ptr()) || !PyObject_IsSubclass(type.ptr(), PyExc_ValueError))
    throw py::type_error(std::string(name) + " must be a subclass of ValueError");
  Py_INCREF(type.ptr());
  Py_XDECREF(slot);
  slot = type.ptr();
}

}  // namespace

void bind_core(py::module_ m) {
  m.def(
      "_set_error_types",
      [](const py::handle& invalid_problem, const py::handle& invalid_parameter) {
        set_type(invalid_problem_type, invalid_problem, "invalid_problem");
        set_type(invalid_parameter_type, invalid_parameter, "invalid_parameter");
      },
      py::arg("invalid_problem"), py::arg("invalid_parameter"),
      "Called once by mezan.errors: the Python types of the core's InvalidProblem and InvalidParameter "
      "(ValueError until set)");
  // By type, never by message: InvalidProblem -> invalid_problem; InvalidParameter and any other
  // std::invalid_argument -> invalid_parameter. Other exceptions fall through to pybind11's defaults.
  py::register_local_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const InvalidProblem& e) {
      PyErr_SetString(invalid_problem_type ? invalid_problem_type : PyExc_ValueError, e.what());
    } catch (const std::invalid_argument& e) {
      PyErr_SetString(invalid_parameter_type ? invalid_parameter_type : PyExc_ValueError, e.what());
    }
  });

  // A Python enum.Enum where pybind11 offers one (3.0+: native_enum), pybind11's enum_ otherwise;
  // both have .name and compare with their members.
#if PYBIND11_VERSION_MAJOR >= 3
  py::native_enum<StopReason>(m, "StopReason", "enum.Enum", "Why a solve stopped")
#else
  py::enum_<StopReason>(m, "StopReason", "Why a solve stopped")
#endif
      .value("none", StopReason::none, "ran to natural completion (e.g. a local optimum, a proof)")
      .value("time_limit", StopReason::time_limit, "the wall-clock deadline passed")
      .value("iteration_limit", StopReason::iteration_limit, "every run reached its iteration cap")
      .value("target", StopReason::target, "an objective <= target was found")
      .value("cancelled", StopReason::cancelled, "cancel() was called")
#if PYBIND11_VERSION_MAJOR >= 3
      .finalize()
#endif
      ;

  py::class_<SolveControl>(m, "SolveControl")
      .def(py::init<double, std::optional<double>>(), py::arg("time_limit"), py::arg("target") = py::none(),
           "Arm a budget: time_limit seconds (<= 0: none) and an optional target objective")
      .def("cancel", [](SolveControl& c) { c.stop.cancel(); })
      .def(
          "snapshot",
          [](const SolveControl& c) {
            const double best = c.incumbent.best();
            return py::make_tuple(c.incumbent.has_solution() && std::isfinite(best) ? py::cast(best) : py::none(),
                                  c.stop.elapsed(), c.incumbent.iterations());
          },
          "(best objective or None, elapsed seconds, iterations) — safe to call while a solve runs");
}

}  // namespace mezan::bindings
