// Runtime dispatch of the hot QAP loops to AVX2 while the binary stays portable (x86-64 baseline SSE2).
//
// A hot loop is written once, as an always-inline function of plain C++ (elementwise loops that GCC and
// Clang vectorise on their own) or, where the compiler cannot vectorise it (an argmin with ties broken by
// index), with AVX2 intrinsics. It is then compiled twice: inside a wrapper marked MEZAN_TARGET_AVX2
// (the body is inlined and vectorised with 256-bit registers) and inside a plain wrapper (SSE2). The
// object that owns the loops asks cpu_has_avx2() once, at construction, and calls one wrapper or the
// other. Only AVX2 is enabled, never FMA: a multiply-add is never contracted, so floating-point
// results are bit-identical between the two copies and with the plain build (the CMake build also
// passes -ffp-contract=off for the same reason).
//
// On other compilers or architectures MEZAN_X86_DISPATCH is 0, only the plain copy exists and
// cpu_has_avx2() returns false.
#pragma once
#include <cstdint>
#include <type_traits>

#if (defined(__GNUC__) || defined(__clang__)) && (defined(__x86_64__) || defined(__i386__))
#define MEZAN_X86_DISPATCH 1
#include <immintrin.h>
#define MEZAN_TARGET_AVX2 __attribute__((target("avx2")))
#else
#define MEZAN_X86_DISPATCH 0
#define MEZAN_TARGET_AVX2
#endif

#if defined(__GNUC__) || defined(__clang__)
#define MEZAN_ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define MEZAN_ALWAYS_INLINE inline
#endif

// Before an elementwise loop whose output does not overlap its inputs (checked by construction, not at
// run time): lets the vectoriser skip its run-time alias checks, of which it allows only ten per loop.
#if defined(__clang__)
#define MEZAN_IVDEP _Pragma("clang loop vectorize(assume_safety)")
#elif defined(__GNUC__)
#define MEZAN_IVDEP _Pragma("GCC ivdep")
#else
#define MEZAN_IVDEP
#endif

namespace mezan::qap {

// One 256-bit vector of S as a GCC/Clang vector-extension value: 8 lanes of 32-bit values, 4 of 64-bit.
// The compiler lowers +, -, * and ?: lane by lane to the function's target (one AVX2 register; two SSE2
// registers in the plain copy). Each lane is the scalar IEEE operation: results are bit-identical to
// the scalar loop. Mask is the matching lane mask (a comparison's result, 0 or -1 per lane); Unaligned
// reads and writes memory at any element boundary (*reinterpret_cast<Unaligned*>(p)).
template <class S>
struct Lanes {
  static constexpr int size = static_cast<int>(32 / sizeof(S));
  using Int = std::conditional_t<sizeof(S) == 4, std::int32_t, std::int64_t>;
  typedef S Vec __attribute__((vector_size(32)));
  typedef Int Mask __attribute__((vector_size(32)));
  typedef S Unaligned __attribute__((vector_size(32), aligned(alignof(S)), may_alias));
};

/// True if this CPU (and the OS, which must save the YMM registers) runs AVX2 code.
inline bool cpu_has_avx2() {
#if MEZAN_X86_DISPATCH
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") != 0;
  }();
  return yes;
#else
  return false;
#endif
}

}  // namespace mezan::qap
