#include "mezan/qap/qaplib.hpp"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mezan::qap {

namespace {

/// A decimal number as QAPLIB writes them: sign, digits, point, exponent — no hex, inf, nan, nor embedded NULs.
bool decimal_token(const std::string& token) {
  if (token.empty()) return false;
  bool digit = false;
  for (const char c : token) {
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != '+' && c != '-' && c != '.' && c != 'e' && c != 'E') {
      return false;
    }
  }
  return digit;
}

/// The token as an error message shows it: at most 24 characters, anything unprintable as '?'.
std::string shown(const std::string& token) {
  std::string out;
  for (const char c : token.substr(0, 24)) out += (c >= 32 && c < 127) ? c : '?';
  return token.size() > 24 ? out + "..." : out;
}

}  // namespace

QaplibData read_qaplib(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw QaplibError(path, 0, "cannot open file");
  QaplibData out;
  std::vector<double> values;
  std::size_t expected = 0;
  int line_no = 0, last_line = 0;
  std::string line, token;
  while (std::getline(in, line)) {
    ++line_no;
    std::istringstream words(line);
    while (words >> token) {
      const char* begin = token.c_str();
      char* end = nullptr;
      errno = 0;
      const double v = decimal_token(token) ? std::strtod(begin, &end) : 0.0;
      if (end != begin + token.size() || errno == ERANGE || !std::isfinite(v))
        throw QaplibError(path, line_no, "'" + shown(token) + "' is not a finite number");
      last_line = line_no;
      if (out.n == 0) {
        if (v != std::floor(v) || v < 2 || v > 1e6)
          throw QaplibError(path, line_no, "the size n must be an integer >= 2, got '" + shown(token) + "'");
        out.n = static_cast<int>(v);
        expected = 2 * static_cast<std::size_t>(out.n) * out.n;
        continue;
      }
      if (values.size() == expected)
        throw QaplibError(path, line_no, "unexpected value '" + shown(token) + "' after the two " + std::to_string(out.n) +
                                             "x" + std::to_string(out.n) + " matrices");
      if (v != std::floor(v) || std::fabs(v) > 9007199254740992.0) out.integral = false;
      values.push_back(v);
    }
  }
  if (out.n == 0) throw QaplibError(path, 0, "empty file: expected the size n");
  if (values.size() != expected)
    throw QaplibError(path, last_line,
                      "expected 2*n*n = " + std::to_string(expected) + " matrix values for n = " +
                          std::to_string(out.n) + ", found " + std::to_string(values.size()) +
                          " (the file ends early)");
  const std::size_t nn = static_cast<std::size_t>(out.n) * out.n;
  out.a.assign(values.begin(), values.begin() + nn);
  out.b.assign(values.begin() + nn, values.end());
  return out;
}

}  // namespace mezan::qap
