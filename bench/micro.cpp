// google-benchmark microbenchmarks of the QAP kernels on Taillard-style uniform instances:
// swap delta (O(n)), delta-table update after a move (O(n^2)), one RoTS iteration (scan + update),
// symmetric and asymmetric, at n = 50, 100, 200, 400; and at scale (n = 500, 1,000) one RoTS
// iteration, one breakout move and one Frank-Wolfe step of FAQ, each with the heap allocations it
// makes (counter "allocs": allocations per iteration, counted at malloc, Eigen's buffers included;
// search must make none).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <new>
#include <vector>

#include "mezan/evo/operators.hpp"
#include "mezan/qap/breakout.hpp"
#include "mezan/qap/delta_table.hpp"
#include "mezan/qap/faq.hpp"
#include "mezan/qap/tabu.hpp"

// Allocations are counted at malloc, which operator new and Eigen's buffers (its GEMM's packing blocks among them)
// call: this definition interposes glibc's, and the count is read around the timed loops. calloc, realloc and the
// aligned allocators are not counted (nothing timed here calls them); not for sanitizer builds, which replace malloc.
static std::atomic<std::int64_t> g_allocations{0};
extern "C" void* __libc_malloc(std::size_t size);
extern "C" void* malloc(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  return __libc_malloc(size);
}

using mezan::Rng;
using namespace mezan::qap;

static Instance<std::int64_t> make_instance(int n, bool symmetric, std::uint64_t seed = 1) {
  Rng rng(seed);
  std::vector<std::int64_t> a(static_cast<std::size_t>(n) * n), b(a.size());
  for (int i = 0; i < n; ++i)
    for (int j = 0; j < n; ++j) {
      a[i * n + j] = i == j ? 0 : rng.below(100);
      b[i * n + j] = i == j ? 0 : rng.below(100);
    }
  if (symmetric)
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < i; ++j) {
        a[i * n + j] = a[j * n + i];
        b[i * n + j] = b[j * n + i];
      }
  return Instance<std::int64_t>(n, a, b);
}

static std::vector<int> identity(int n) {
  std::vector<int> p(n);
  for (int i = 0; i < n; ++i) p[i] = i;
  return p;
}

static void BM_SwapDelta(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto inst = make_instance(n, state.range(1) != 0);
  std::vector<int> p = identity(n);
  Rng rng(2);
  rng.shuffle(p);
  int r = 0, s = 1;
  for (auto _ : state) {
    benchmark::DoNotOptimize(swap_delta(inst, p, r, s));
    r = (r + 7) % n;
    s = (r + 1 + (s % (n - 1))) % n;
    if (s == r) s = (r + 1) % n;
  }
  state.SetLabel(state.range(1) ? "symmetric" : "asymmetric");
}

static void BM_DeltaTableUpdate(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto inst = make_instance(n, state.range(1) != 0);
  std::vector<int> p = identity(n);
  DeltaTable<std::int64_t> table(inst, identity(n));
  table.reset(p);
  Rng rng(3);
  for (auto _ : state) {
    const int a = static_cast<int>(rng.below(n - 1));
    const int b = a + 1 + static_cast<int>(rng.below(n - 1 - a));
    table.apply_swap(p, a, b);
    benchmark::ClobberMemory();
  }
  state.SetLabel(state.range(1) ? "symmetric" : "asymmetric");
}

static void BM_RotsIteration(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto inst = make_instance(n, state.range(1) != 0);
  RobustTabu<std::int64_t> tabu(inst, identity(n), 4);
  tabu.start(identity(n));
  mezan::StopToken stop;
  stop.arm(0.0);
  mezan::Incumbent incumbent(stop);
  for (auto _ : state) tabu.run(stop, incumbent, 1);
  state.SetItemsProcessed(state.iterations());
  state.SetLabel(state.range(1) ? "symmetric" : "asymmetric");
}

// EvoFlow operators: children (or mutated permutations) per second at n = 100 and 1,000.
static void BM_Crossover(benchmark::State& state) {
  const auto kind = static_cast<mezan::evo::Crossover>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  Rng rng(5);
  std::vector<int> p1 = identity(n), p2 = identity(n), child(n);
  rng.shuffle(p1);
  rng.shuffle(p2);
  mezan::evo::Scratch scratch(n);
  for (auto _ : state) {
    mezan::evo::crossover(kind, p1.data(), p2.data(), n, child.data(), rng, scratch);
    benchmark::DoNotOptimize(child.data());
  }
  state.SetItemsProcessed(state.iterations());
  static const char* names[] = {"ox", "pmx", "cx", "position", "uniform"};
  state.SetLabel(names[state.range(0)]);
}

static void BM_Mutation(benchmark::State& state) {
  const auto kind = static_cast<mezan::evo::Mutation>(state.range(0));
  const int n = static_cast<int>(state.range(1));
  Rng rng(6);
  std::vector<int> p = identity(n);
  for (auto _ : state) {
    mezan::evo::mutate(kind, p.data(), n, rng);
    benchmark::DoNotOptimize(p.data());
  }
  state.SetItemsProcessed(state.iterations());
  static const char* names[] = {"swap", "insert", "inversion", "scramble"};
  state.SetLabel(names[state.range(0)]);
}

// At scale: allocations per iteration beside the time (symmetric instances).
static void count_allocations(benchmark::State& state, std::int64_t before, std::int64_t units) {
  state.counters["allocs"] = benchmark::Counter(
      static_cast<double>(g_allocations.load() - before) / static_cast<double>(std::max<std::int64_t>(1, units)));
}

static void BM_RotsIterationAtScale(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto inst = make_instance(n, true);
  RobustTabu<std::int64_t> tabu(inst, identity(n), 4);
  tabu.start(identity(n));
  mezan::StopToken stop;
  stop.arm(0.0);
  mezan::Incumbent incumbent(stop);
  tabu.run(stop, incumbent, 10);  // first moves, first offers to the incumbent
  const std::int64_t before = g_allocations.load();
  for (auto _ : state) tabu.run(stop, incumbent, 1);
  count_allocations(state, before, state.iterations());
  state.SetItemsProcessed(state.iterations());
}

static void BM_BreakoutMoveAtScale(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto inst = make_instance(n, true);
  BreakoutSearch<std::int64_t> search(inst, identity(n), 7);
  search.start(identity(n));
  mezan::StopToken stop;
  stop.arm(0.0);
  mezan::Incumbent incumbent(stop);
  search.run(stop, incumbent, -1, 1000);  // past the first descent's offers
  const std::int64_t before = g_allocations.load();
  std::int64_t moves = 0;
  for (auto _ : state) moves += search.run(stop, incumbent, -1, 100);
  count_allocations(state, before, moves);
  state.SetItemsProcessed(moves);
}

// One FAQ call of `steps` Frank-Wolfe steps (tol 0: all of them); the per-step cost and allocations are the
// difference between the two step counts.
static void BM_FaqAtScale(benchmark::State& state) {
  const int n = static_cast<int>(state.range(0));
  const auto inst = make_instance(n, true);
  const std::vector<double> a(inst.a_data().begin(), inst.a_data().end()), b(inst.b_data().begin(), inst.b_data().end());
  FaqOptions options;
  options.max_iter = static_cast<int>(state.range(1));
  options.tol = 0.0;
  const std::int64_t before = g_allocations.load();
  for (auto _ : state) benchmark::DoNotOptimize(faq(a.data(), b.data(), n, std::vector<int>(n, -1), {}, options));
  count_allocations(state, before, state.iterations());
  state.SetLabel(std::to_string(options.max_iter) + " steps per call");
}

BENCHMARK(BM_Crossover)->ArgsProduct({{0, 1, 2, 3, 4}, {100, 1000}});
BENCHMARK(BM_Mutation)->ArgsProduct({{0, 1, 2, 3}, {100, 1000}});

#define SIZES ArgsProduct({{50, 100, 200, 400}, {1, 0}})
BENCHMARK(BM_SwapDelta)->SIZES;
BENCHMARK(BM_DeltaTableUpdate)->SIZES;
BENCHMARK(BM_RotsIteration)->SIZES;
BENCHMARK(BM_RotsIterationAtScale)->Arg(500)->Arg(1000);
BENCHMARK(BM_BreakoutMoveAtScale)->Arg(500)->Arg(1000);
BENCHMARK(BM_FaqAtScale)->ArgsProduct({{500, 1000}, {2, 6}})->Unit(benchmark::kMillisecond);
BENCHMARK_MAIN();
