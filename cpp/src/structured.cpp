#include "mezan/qap/structured.hpp"
#include "mezan/core/errors.hpp"

#include <algorithm>
#include <cmath>
#include <complex>
#include <limits>
#include <stdexcept>
#include <unsupported/Eigen/FFT>
#include <vector>

namespace mezan::qap {

using cd = std::complex<double>;

const char* structure_name(StructureKind kind) {
  switch (kind) {
    case StructureKind::circulant: return "circulant";
    case StructureKind::toeplitz: return "toeplitz";
    case StructureKind::grid_manhattan: return "grid_manhattan";
    case StructureKind::grid_euclidean: return "grid_euclidean";
    case StructureKind::dense: break;
  }
  return "dense";
}

StructureKind parse_structure_kind(const std::string& name) {
  for (StructureKind k : {StructureKind::dense, StructureKind::circulant, StructureKind::toeplitz,
                          StructureKind::grid_manhattan, StructureKind::grid_euclidean})
    if (name == structure_name(k)) return k;
  throw unknown_name("structure", name, {"dense", "circulant", "toeplitz", "grid_manhattan", "grid_euclidean"});
}

namespace {

/// True when |M[i,j] - predict(i, j)| <= atol everywhere (stops at the first miss).
template <class Predict>
bool matches(const double* M, int n, double atol, Predict predict) {
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j)
      if (std::abs(M[static_cast<std::size_t>(i) * n + j] - predict(i, j)) > atol) return false;
  return true;
}

/// Smallest 2^a 3^b 5^c >= m: the lengths kissfft transforms fastest.
int nice_length(int m) {
  for (int L = std::max(m, 1);; ++L) {
    int r = L;
    for (int f : {2, 3, 5})
      while (r % f == 0) r /= f;
    if (r == 1) return L;
  }
}

}  // namespace

Structure detect_structure(const double* M, int n, double tol) {
  Structure s;
  if (n < 2) return s;
  double scale = 0;
  for (std::size_t k = 0; k < static_cast<std::size_t>(n) * n; ++k) scale = std::max(scale, std::abs(M[k]));
  const double atol = tol * std::max(scale, 1e-300);
  auto at = [&](int i, int j) { return M[static_cast<std::size_t>(i) * n + j]; };
  if (matches(M, n, atol, [&](int i, int j) { return at(0, ((j - i) % n + n) % n); })) {
    s.kind = StructureKind::circulant;
    return s;
  }
  if (matches(M, n, atol, [&](int i, int j) { return j >= i ? at(0, j - i) : at(i - j, 0); })) {
    s.kind = StructureKind::toeplitz;
    return s;
  }
  for (int k = 2; k * k <= n; ++k) {
    if (n % k) continue;
    for (int cols : {n / k, k}) {  // lattice width; rows = n / cols
      const double unit = at(0, 1);  // points 0 and 1 are neighbours at distance 1
      if (std::abs(unit) <= atol) continue;
      auto dy = [&](int i, int j) { return std::abs(i / cols - j / cols); };
      auto dx = [&](int i, int j) { return std::abs(i % cols - j % cols); };
      s.rows = n / cols;
      s.cols = cols;
      if (matches(M, n, atol, [&](int i, int j) { return unit * (dy(i, j) + dx(i, j)); })) {
        s.kind = StructureKind::grid_manhattan;
        return s;
      }
      if (matches(M, n, atol, [&](int i, int j) { return unit * std::hypot(dy(i, j), dx(i, j)); })) {
        s.kind = StructureKind::grid_euclidean;
        return s;
      }
    }
  }
  return Structure{};
}

/// A cyclic 2-D convolution on an Lr x Lc array whose inputs and outputs are rows x cols corners:
/// y = crop(IFFT2(spectrum ⊙ FFT2(pad(x)))). 1-D convolutions are the case rows = Lr = 1.
/// The Manhattan lattice is separable (header comment) and uses two 1-D convolutions instead.
struct MatrixOperator::Fft {
  int rows = 1, cols = 0, Lr = 1, Lc = 0;
  std::vector<cd> spectrum;  // Lr x Lc row-major
  std::unique_ptr<Fft> along_rows, along_cols;  // Manhattan: |dy| on the row sums, |dx| on the column sums
  mutable Eigen::FFT<double> fft;
  mutable std::vector<cd> buf, line_in, line_out;
  mutable std::vector<double> sums_rows, sums_cols, products_rows, products_cols;  // separable scratch

  Fft() = default;  // the separable (Manhattan) form: only along_rows and along_cols are used
  /// kernel(dy, dx) for |dy| < rows, |dx| < cols, wrapped into the Lr x Lc array and transformed.
  template <class Kernel>
  Fft(int rows_, int cols_, int Lr_, int Lc_, Kernel kernel) : rows(rows_), cols(cols_), Lr(Lr_), Lc(Lc_) {
    std::vector<cd> k(static_cast<std::size_t>(Lr) * Lc, cd(0, 0));
    for (int dy = -(rows - 1); dy < rows; ++dy)
      for (int dx = -(cols - 1); dx < cols; ++dx)
        k[static_cast<std::size_t>(((dy % Lr) + Lr) % Lr) * Lc + ((dx % Lc) + Lc) % Lc] = kernel(dy, dx);
    spectrum = transform(k);
    // The inverse transforms run unscaled; their 1 / (Lr Lc) is folded into the spectrum once.
    for (cd& v : spectrum) v /= static_cast<double>(Lr) * Lc;
    fft.SetFlag(Eigen::FFT<double>::Unscaled);
  }

  std::vector<cd> transform(const std::vector<cd>& a) const {  // full forward 2-D FFT
    std::vector<cd> out(a.size()), line(Lc), col(Lr), col_out(Lr);
    for (int r = 0; r < Lr; ++r) {
      fft.fwd(line.data(), a.data() + static_cast<std::size_t>(r) * Lc, Lc);
      std::copy(line.begin(), line.end(), out.begin() + static_cast<std::ptrdiff_t>(r) * Lc);
    }
    if (Lr > 1)
      for (int c = 0; c < Lc; ++c) {
        for (int r = 0; r < Lr; ++r) col[r] = out[static_cast<std::size_t>(r) * Lc + c];
        fft.fwd(col_out.data(), col.data(), Lr);
        for (int r = 0; r < Lr; ++r) out[static_cast<std::size_t>(r) * Lc + c] = col_out[r];
      }
    return out;
  }

  /// out_x = K x and out_y = K y (y may be null), or K^T when conj (real kernel: conjugate spectrum).
  void apply(const double* x, const double* y, double* out_x, double* out_y, bool conj) const {
    if (along_rows) return apply_separable(x, y, out_x, out_y);
    if (Lr == 1) return apply_1d(x, y, out_x, out_y, conj);
    buf.assign(static_cast<std::size_t>(Lr) * Lc, cd(0, 0));
    line_in.resize(std::max(Lr, Lc));
    line_out.resize(std::max(Lr, Lc));
    for (int r = 0; r < rows; ++r) {  // pack x + i y and transform the non-zero rows
      for (int c = 0; c < cols; ++c) line_in[c] = cd(x[r * cols + c], y ? y[r * cols + c] : 0.0);
      std::fill(line_in.begin() + cols, line_in.begin() + Lc, cd(0, 0));
      fft.fwd(line_out.data(), line_in.data(), Lc);
      std::copy(line_out.begin(), line_out.begin() + Lc, buf.begin() + static_cast<std::ptrdiff_t>(r) * Lc);
    }
    for (int c = 0; c < Lc; ++c) {  // per column: transform, multiply, transform back, keep `rows` entries
      for (int r = 0; r < Lr; ++r) line_in[r] = buf[static_cast<std::size_t>(r) * Lc + c];
      fft.fwd(line_out.data(), line_in.data(), Lr);
      for (int r = 0; r < Lr; ++r) {
        const cd s = spectrum[static_cast<std::size_t>(r) * Lc + c];
        line_out[r] *= conj ? std::conj(s) : s;
      }
      fft.inv(line_in.data(), line_out.data(), Lr);
      for (int r = 0; r < rows; ++r) buf[static_cast<std::size_t>(r) * Lc + c] = line_in[r];
    }
    for (int r = 0; r < rows; ++r) {
      fft.inv(line_out.data(), buf.data() + static_cast<std::size_t>(r) * Lc, Lc);
      for (int c = 0; c < cols; ++c) {
        out_x[r * cols + c] = line_out[c].real();
        if (out_y) out_y[r * cols + c] = line_out[c].imag();
      }
    }
  }

  void apply_1d(const double* x, const double* y, double* out_x, double* out_y, bool conj) const {
    line_in.resize(Lc);
    line_out.resize(Lc);
    for (int c = 0; c < cols; ++c) line_in[c] = cd(x[c], y ? y[c] : 0.0);
    std::fill(line_in.begin() + cols, line_in.end(), cd(0, 0));
    fft.fwd(line_out.data(), line_in.data(), Lc);
    if (conj)
      for (int c = 0; c < Lc; ++c) line_out[c] *= std::conj(spectrum[c]);
    else
      for (int c = 0; c < Lc; ++c) line_out[c] *= spectrum[c];
    fft.inv(line_in.data(), line_out.data(), Lc);
    for (int c = 0; c < cols; ++c) out_x[c] = line_in[c].real();
    if (out_y)
      for (int c = 0; c < cols; ++c) out_y[c] = line_in[c].imag();
  }

  /// Manhattan lattice: (K x)[r, c] = (T_r s_rows)[r] + (T_c s_cols)[c] with s the row and column
  /// sums of x as a rows x cols array. The kernel is symmetric, so conj changes nothing.
  void apply_separable(const double* x, const double* y, double* out_x, double* out_y) const {
    std::vector<double>& sr = sums_rows;  // x's sums in the first half, y's in the second
    std::vector<double>& sc = sums_cols;
    std::vector<double>& tr = products_rows;
    std::vector<double>& tc = products_cols;
    sr.assign(2 * rows, 0.0);
    sc.assign(2 * cols, 0.0);
    tr.resize(2 * rows);
    tc.resize(2 * cols);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        sr[r] += x[r * cols + c];
        sc[c] += x[r * cols + c];
        if (y) {
          sr[rows + r] += y[r * cols + c];
          sc[cols + c] += y[r * cols + c];
        }
      }
    along_rows->apply(sr.data(), sr.data() + rows, tr.data(), tr.data() + rows, false);
    along_cols->apply(sc.data(), sc.data() + cols, tc.data(), tc.data() + cols, false);
    for (int r = 0; r < rows; ++r)
      for (int c = 0; c < cols; ++c) {
        out_x[r * cols + c] = tr[r] + tc[c];
        if (out_y) out_y[r * cols + c] = tr[rows + r] + tc[cols + c];
      }
  }
};

MatrixOperator::MatrixOperator(const Eigen::MatrixXd& M, Structure structure) : structure_(structure) {
  const int n = static_cast<int>(M.rows());
  if (M.cols() != n) throw InvalidProblem("MatrixOperator: the matrix must be square");
  switch (structure.kind) {
    case StructureKind::dense:
      dense_ = M;
      return;
    case StructureKind::circulant:  // M[i, j] = c[(i - j) mod n]: an n-periodic 1-D kernel, no padding
      fft_ = std::make_unique<Fft>(1, n, 1, n, [&](int, int d) { return d >= 0 ? M(d, 0) : M(0, -d); });
      return;
    case StructureKind::toeplitz:  // M[i, j] = t[i - j]
      fft_ = std::make_unique<Fft>(1, n, 1, nice_length(2 * n - 1),
                                   [&](int, int d) { return d >= 0 ? M(d, 0) : M(0, -d); });
      return;
    case StructureKind::grid_manhattan:
    case StructureKind::grid_euclidean: {
      const int rows = structure.rows, cols = structure.cols;
      if (rows * cols != n || rows < 1 || cols < 1)
        throw InvalidProblem("MatrixOperator: lattice shape does not match n");
      // Kernel K(dy, dx) = M[(y1, x1), (y2, x2)] with y1 - y2 = dy, x1 - x2 = dx, read from M itself.
      auto K = [&, cols](int dy, int dx) {
        const int i = (dy >= 0 ? dy : 0) * cols + (dx >= 0 ? dx : 0);
        const int j = (dy >= 0 ? 0 : -dy) * cols + (dx >= 0 ? 0 : -dx);
        return M(i, j);
      };
      if (structure.kind == StructureKind::grid_euclidean) {
        fft_ = std::make_unique<Fft>(rows, cols, rows > 1 ? nice_length(2 * rows - 1) : 1, nice_length(2 * cols - 1),
                                     [&](int dy, int dx) { return K(dy, dx); });
        return;
      }
      // Separable: K(dy, dx) = K(dy, 0) + K(0, dx) since K(0, 0) = 0.
      fft_ = std::make_unique<Fft>();
      fft_->rows = rows;
      fft_->cols = cols;
      fft_->along_rows =
          std::make_unique<Fft>(1, rows, 1, nice_length(2 * rows - 1), [&](int, int d) { return K(d, 0); });
      fft_->along_cols =
          std::make_unique<Fft>(1, cols, 1, nice_length(2 * cols - 1), [&](int, int d) { return K(0, d); });
      return;
    }
  }
}

MatrixOperator::~MatrixOperator() = default;
MatrixOperator::MatrixOperator(MatrixOperator&&) noexcept = default;
MatrixOperator& MatrixOperator::operator=(MatrixOperator&&) noexcept = default;

void MatrixOperator::left(const Eigen::MatrixXd& X, Eigen::MatrixXd& out, bool transpose) const {
  if (!fft_) {
    if (transpose)
      out.noalias() = dense_.transpose() * X;
    else
      out.noalias() = dense_ * X;
    return;
  }
  out.resize(X.rows(), X.cols());
  for (Eigen::Index j = 0; j < X.cols(); j += 2) {  // columns in pairs: one complex transform for two
    const bool pair = j + 1 < X.cols();
    fft_->apply(X.col(j).data(), pair ? X.col(j + 1).data() : nullptr, out.col(j).data(),
                pair ? out.col(j + 1).data() : nullptr, transpose);
  }
}

void MatrixOperator::right(const Eigen::MatrixXd& X, Eigen::MatrixXd& out, bool transpose) const {
  if (!fft_) {
    if (transpose)
      out.noalias() = X * dense_.transpose();
    else
      out.noalias() = X * dense_;
    return;
  }
  // Row i of X M is M^T applied to row i of X. Rows are strided in column-major X, so they are
  // copied in blocks of 8 (one cache line per column) into contiguous rows, transformed in pairs,
  // and copied back the same way.
  constexpr Eigen::Index block = 8;
  const Eigen::Index rows = X.rows(), n = X.cols();
  out.resize(rows, n);
  block_in_.resize(n, block);
  block_out_.resize(n, block);
  for (Eigen::Index i0 = 0; i0 < rows; i0 += block) {
    const Eigen::Index b = std::min(block, rows - i0);
    block_in_.leftCols(b) = X.middleRows(i0, b).transpose();
    for (Eigen::Index r = 0; r < b; r += 2) {
      const bool pair = r + 1 < b;
      fft_->apply(block_in_.col(r).data(), pair ? block_in_.col(r + 1).data() : nullptr, block_out_.col(r).data(),
                  pair ? block_out_.col(r + 1).data() : nullptr, !transpose);
    }
    out.middleRows(i0, b) = block_out_.leftCols(b).transpose();
  }
}

namespace {

Structure structure_of(const Eigen::MatrixXd& M, Products products, double tol) {
  if (products == Products::gemm) return Structure{};
  // M is column-major, so this detects the structure of M^T: every kind is closed under transposition
  // (and the lattice kinds are symmetric), so the kind and shape are M's.
  const int n = static_cast<int>(M.rows());
  const Structure s = detect_structure(M.data(), n, tol);
  if (products == Products::automatic && n < fft_pays_from(s.kind)) return Structure{};
  return s;
}

}  // namespace

Products parse_products(const std::string& name) {
  if (name == "gemm") return Products::gemm;
  if (name == "fft") return Products::fft;
  if (name == "auto") return Products::automatic;
  throw InvalidParameter("products must be 'gemm', 'fft' or 'auto', got '" + name + "'");
}

int fft_pays_from(StructureKind kind) {
  switch (kind) {
    case StructureKind::circulant:
    case StructureKind::grid_manhattan: return 64;
    case StructureKind::toeplitz: return 256;
    case StructureKind::grid_euclidean: return 512;
    case StructureKind::dense: break;
  }
  return std::numeric_limits<int>::max();
}

RelaxationProducts::RelaxationProducts(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B, Products products,
                                       double tol)
    : a_(A, structure_of(A, products, tol)), b_(B, structure_of(B, products, tol)) {
  if (A.rows() != A.cols() || B.rows() != B.cols() || A.rows() != B.rows())
    throw InvalidProblem("RelaxationProducts: A and B must be square and of the same size");
  n_ = static_cast<int>(A.rows());
  const bool sym_a = A == A.transpose(), sym_b = B == B.transpose();
  if (sym_a && sym_b) {
    form_ = Form::both_symmetric;
  } else if (sym_a) {
    form_ = Form::a_symmetric;
    const Eigen::MatrixXd S = B + B.transpose();
    sum_ = std::make_unique<MatrixOperator>(S, structure_of(S, products, tol));
  } else if (sym_b) {
    form_ = Form::b_symmetric;
    const Eigen::MatrixXd S = A + A.transpose();
    sum_ = std::make_unique<MatrixOperator>(S, structure_of(S, products, tol));
  } else {
    form_ = Form::general;
  }
}

double RelaxationProducts::gradient(const Eigen::MatrixXd& P, Eigen::MatrixXd& G) const {
  if (P.rows() != n_ || P.cols() != n_)
    throw InvalidParameter("RelaxationProducts::gradient: P must be " + std::to_string(n_) + " x " +
                           std::to_string(n_));
  switch (form_) {
    case Form::both_symmetric:  // A P B^T + A^T P B = 2 A P B
      b_.right(P, t1_);
      a_.left(t1_, G);
      G *= 2.0;
      break;
    case Form::a_symmetric:  // A P (B^T + B)
      sum_->right(P, t1_);
      a_.left(t1_, G);
      break;
    case Form::b_symmetric:  // (A + A^T) P B
      b_.right(P, t1_);
      sum_->left(t1_, G);
      break;
    case Form::general:
      b_.right(P, t1_, true);
      a_.left(t1_, G);
      b_.right(P, t1_);
      a_.left(t1_, t2_, true);
      G += t2_;
      break;
  }
  return 0.5 * (P.array() * G.array()).sum();
}

std::string RelaxationProducts::path() const {
  int structured = 0, used = 2;
  structured += a_.structure().kind != StructureKind::dense;
  structured += b_.structure().kind != StructureKind::dense;
  if (sum_) {
    ++used;
    structured += sum_->structure().kind != StructureKind::dense;
  }
  return structured == 0 ? "gemm" : structured == used ? "fft" : "mixed";
}

}  // namespace mezan::qap
