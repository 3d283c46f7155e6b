// QAPLIB file format (Burkard, Karisch & Rendl, J. Global Optim. 10, 1997): the size n, then the
// n x n matrix A, then the n x n matrix B, all whitespace separated (line breaks are not
// significant: some files wrap long rows).
#pragma once
#include <stdexcept>
#include <string>
#include <vector>

namespace mezan::qap {

/// A malformed file: line() is the 1-based line of the offending token (0 if not line-specific).
class QaplibError : public std::runtime_error {
 public:
  QaplibError(const std::string& path, int line, const std::string& what)
      : std::runtime_error(path + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": " + what),
        line_(line) {}
  int line() const { return line_; }

 private:
  int line_;
};

struct QaplibData {
  int n = 0;
  std::vector<double> a, b;  // n*n row-major
  bool integral = true;      // every value is an integer (exactly representable)
};

/// Read a QAPLIB .dat file. Throws QaplibError (missing file, bad n, non-numbers, wrong counts).
QaplibData read_qaplib(const std::string& path);

}  // namespace mezan::qap
