// mezan._core: thin pybind11 bindings of mezan::core, one source per domain. They convert arrays,
// check shapes and indices (common.hpp), release the GIL around every solve and translate the core's
// error types (core.cpp). No algorithm and no policy lives here: parsing option names, defaults and
// every algorithm are in the C++ headers; which method and budget, in Python.
#include "common.hpp"

PYBIND11_MODULE(_core, m) {
  using namespace mezan::bindings;
  m.doc() = "MEZAN C++ core (mezan::core) bindings";
  bind_core(m);
  bind_qap(m);
  bind_relaxation(m);
  bind_evo(m);
  bind_testing(m.def_submodule("_testing"));
}
