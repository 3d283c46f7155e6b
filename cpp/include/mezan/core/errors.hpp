// The errors mezan::core raises about its input, by what is wrong rather than by message:
//
//   InputError          base; derives from std::invalid_argument, so a C++ caller that catches that
//   ├─ InvalidProblem   the instance data: sizes, shapes, non-finite entries, a value range
//   └─ InvalidParameter an option or argument: an unknown name, an index, a permutation, a length
//
// The Python bindings translate each to its mezan.errors type (InvalidProblemError,
// InvalidParameterError) by type, never by parsing the message.
#pragma once
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <vector>

namespace mezan {

class InputError : public std::invalid_argument {
 public:
  using std::invalid_argument::invalid_argument;
};

class InvalidProblem : public InputError {
 public:
  using InputError::InputError;
};

class InvalidParameter : public InputError {
 public:
  using InputError::InputError;
};

/// The error of a parse_* function: "unknown <what> 'name'; expected one of: a, b, c".
inline InvalidParameter unknown_name(const std::string& what, const std::string& name,
                                     std::initializer_list<const char*> valid) {
  std::string list;
  for (const char* v : valid) list += (list.empty() ? "" : ", ") + std::string(v);
  return InvalidParameter("unknown " + what + " '" + name + "'; expected one of: " + list);
}

inline InvalidParameter unknown_name(const std::string& what, const std::string& name,
                                     const std::vector<std::string>& valid) {
  std::string list;
  for (const std::string& v : valid) list += (list.empty() ? "" : ", ") + v;
  return InvalidParameter("unknown " + what + " '" + name + "'; expected one of: " + list);
}

}  // namespace mezan
