// mezan._core: thin pybind11 bindings of mezan::core, one source per domain. They convert arrays,
// check shapes and indices (common.hpp), release the GIL around every solve and translate the core's
// error types (core.cpp). No algorithm and no policy lives here: parsing option names, defaults and
// every algorithm are in the C++ headers; which method and budget, in Python.
#include "common.hpp"

#ifndef MEZAN_BUILD_TYPE
#define MEZAN_BUILD_TYPE "unknown"
#endif
#ifndef MEZAN_BUILD_FLAGS
#define MEZAN_BUILD_FLAGS ""
#endif

PYBIND11_MODULE(_core, m) {
  using namespace mezan::bindings;
  m.doc() = "MEZAN C++ core (mezan::core) bindings";
  bind_core(m);
  bind_qap(m);
  bind_relaxation(m);
  bind_evo(m);
  bind_testing(m.def_submodule("_testing"));
  m.def("build_info", [] {
    py::dict info;
#if defined(__clang__)
    info["compiler"] = std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
    info["compiler"] = std::string("gcc ") + __VERSION__;
#else
    info["compiler"] = "unknown";
#endif
    info["build_type"] = MEZAN_BUILD_TYPE;
    info["flags"] = MEZAN_BUILD_FLAGS;
    return info;
  }, "The compiler, build type and compile flags this module was built with (a dict of strings).");
}
