// Structured matrices and the products of the QAP relaxation computed with them.
//
// Many QAP matrices are convolutions in disguise: a circulant matrix (M[i,j] depends only on
// (i - j) mod n), a Toeplitz matrix (only on i - j), or the distance matrix of a regular 2-D lattice
// (rows x cols points in row-major order; Manhattan or Euclidean distance times a unit). Then M·x is
// a convolution of x with M's kernel and costs O(n log n) by FFT (Eigen's FFT module, kissfft)
// instead of O(n^2), so a product M·X with an n x n matrix X costs O(n^2 log n) instead of the
// O(n^3) of a GEMM (Cooley & Tukey 1965; circulant embedding of Toeplitz matrices: Strang 1986).
//
// How each structure is applied (to every column of X; X·M is done on the rows of X):
// - circulant: length-n cyclic convolution, no padding; M^T has the conjugate spectrum.
// - Toeplitz: embedded in a circulant of length L >= 2n - 1 (the next 2^a 3^b 5^c), x zero-padded,
//   the first n outputs kept.
// - 2-D lattice, Euclidean: a block-Toeplitz matrix with Toeplitz blocks, embedded in a 2-D
//   circulant of Lr x Lc >= (2 rows - 1) x (2 cols - 1); only the non-zero input rows are
//   transformed forward and only the kept output rows backward.
// - 2-D lattice, Manhattan: the distance is separable, M = u (T_r ⊗ J + J ⊗ T_c) with T_k[i,i'] =
//   |i - i'| and J all ones, so M·x needs the row and column sums of x (as a rows x cols array) and
//   two small Toeplitz products (by FFT): O(n) per vector plus the small transforms.
// Two real vectors share one complex transform (x + i y), which halves the FFT count.
// Detection compares every entry with the structure's prediction, to a tolerance relative to max|M|;
// a matrix that matches nothing is "dense" and multiplied by GEMM.
#pragma once
#include <Eigen/Dense>
#include <memory>
#include <string>

namespace mezan::qap {

enum class StructureKind { dense, circulant, toeplitz, grid_manhattan, grid_euclidean };

struct Structure {
  StructureKind kind = StructureKind::dense;
  int rows = 0, cols = 0;  // lattice shape for the grid kinds (rows * cols == n)
};

/// "dense", "circulant", "toeplitz", "grid_manhattan" or "grid_euclidean".
const char* structure_name(StructureKind kind);

/// The kind named by structure_name(); anything else throws InvalidParameter listing the names.
StructureKind parse_structure_kind(const std::string& name);

/// The structure of the n x n row-major matrix M (tol relative to max |M|; see the header comment).
/// Order of preference: circulant, Toeplitz, Manhattan lattice, Euclidean lattice (the cheapest product first).
Structure detect_structure(const double* M, int n, double tol = 1e-9);

/// An n x n matrix as a linear operator on n x k matrices: by FFT when `structure` is not dense
/// (the kernel is read from M's first row and column), by GEMM otherwise. Not thread-safe: the
/// transforms use scratch buffers owned by the operator.
class MatrixOperator {
 public:
  MatrixOperator(const Eigen::MatrixXd& M, Structure structure);
  ~MatrixOperator();
  MatrixOperator(MatrixOperator&&) noexcept;
  MatrixOperator& operator=(MatrixOperator&&) noexcept;

  /// out = M X, or M^T X when transpose.
  void left(const Eigen::MatrixXd& X, Eigen::MatrixXd& out, bool transpose = false) const;
  /// out = X M, or X M^T when transpose.
  void right(const Eigen::MatrixXd& X, Eigen::MatrixXd& out, bool transpose = false) const;
  const Structure& structure() const { return structure_; }

 private:
  struct Fft;  // the FFT plans and spectra; null for a dense operator
  Structure structure_;
  Eigen::MatrixXd dense_;
  std::unique_ptr<Fft> fft_;
  mutable Eigen::MatrixXd block_in_, block_out_;  // right(): rows of X gathered 8 at a time
};

/// Which products RelaxationProducts uses: GEMM always; FFT for every detected structure; or
/// automatic — FFT only from the size where it beats GEMM for that structure (both sides structured,
/// one thread, measured by bench/fft_products.py): circulant and Manhattan lattices from n = 64,
/// Toeplitz from n = 256, Euclidean lattices (2-D transforms, no separable shortcut) from n = 512.
enum class Products { gemm, fft, automatic };

/// "gemm", "fft" or "auto"; anything else throws InvalidParameter (a std::invalid_argument).
Products parse_products(const std::string& name);

/// The smallest n from which Products::automatic uses FFT for a structure of this kind (INT_MAX for dense).
int fft_pays_from(StructureKind kind);

/// The gradient A P B^T + A^T P B of the relaxation f(P) = tr(A^T P B P^T) over n x n matrices P.
/// Symmetry is used: with A symmetric the gradient is A P (B + B^T), with B symmetric (A + A^T) P B —
/// two operator products instead of four. Each operator's structure is detected (tol) unless
/// products is gemm, and applied by FFT as `products` says.
class RelaxationProducts {
 public:
  RelaxationProducts(const Eigen::MatrixXd& A, const Eigen::MatrixXd& B, Products products, double tol = 1e-9);
  /// The size n of A and B.
  int n() const { return n_; }
  /// G = grad f(P); returns f(P) = <P, G> / 2 (f is homogeneous of degree 2). P must be n x n
  /// (InvalidParameter otherwise).
  double gradient(const Eigen::MatrixXd& P, Eigen::MatrixXd& G) const;
  /// Structures of A and B as the operators see them.
  Structure structure_a() const { return a_.structure(); }
  Structure structure_b() const { return b_.structure(); }
  /// "fft" when every operator used is structured, "gemm" when none is, "mixed" otherwise.
  std::string path() const;

 private:
  enum class Form { both_symmetric, a_symmetric, b_symmetric, general };
  Form form_;
  int n_ = 0;
  MatrixOperator a_, b_;
  std::unique_ptr<MatrixOperator> sum_;  // B + B^T (a_symmetric) or A + A^T (b_symmetric)
  mutable Eigen::MatrixXd t1_, t2_;
};

}  // namespace mezan::qap
