// The thin C++ shim between utcp's C benchmark cases (ubench.h) and Google Benchmark.
#include "ubench.h"

#include <benchmark/benchmark.h>
#include <x86intrin.h>

#include <string>
#include <vector>

struct ubench_state {
  benchmark::State *gb;
  int64_t arg;
  int64_t bytes_per_op = 0;
  int64_t ops_per_iter = 1;
  uint64_t tsc_start = 0, tsc_paused_at = 0, tsc_excluded = 0;
  bool started = false;
};

extern "C" bool ubench_run(struct ubench_state *st) {
  if (!st->started) {
    st->started = true;
    st->tsc_start = __rdtsc();
  }
  return st->gb->KeepRunning();
}

extern "C" int64_t ubench_arg(const struct ubench_state *st) { return st->arg; }

extern "C" void ubench_pause(struct ubench_state *st) {
  st->tsc_paused_at = __rdtsc();
  st->gb->PauseTiming();
}

extern "C" void ubench_resume(struct ubench_state *st) {
  st->gb->ResumeTiming();
  st->tsc_excluded += __rdtsc() - st->tsc_paused_at;
}

extern "C" void ubench_bytes_per_op(struct ubench_state *st, int64_t bytes) {
  st->bytes_per_op = bytes;
}
extern "C" void ubench_ops_per_iter(struct ubench_state *st, int64_t ops) { st->ops_per_iter = ops; }
extern "C" void ubench_fail(struct ubench_state *st, const char *why) { st->gb->SkipWithError(why); }

namespace {

struct Case {
  std::string name;
  ubench_fn fn;
  int64_t arg;
};

std::vector<Case> &cases() {
  static std::vector<Case> v;
  return v;
}

void run_case(benchmark::State &gb, const Case &c) {
  ubench_state st{};
  st.gb = &gb;
  st.arg = c.arg;
  c.fn(&st);
  if (!st.started) {
    // The case failed before its loop (it called ubench_fail); Google Benchmark still needs
    // the loop to run once.
    for (auto _ : gb) {
    }
    return;
  }
  uint64_t tsc = __rdtsc() - st.tsc_start - st.tsc_excluded;
  int64_t ops = gb.iterations() * st.ops_per_iter;
  if (ops > 0) {
    gb.counters["cycles/op"] = benchmark::Counter(double(tsc) / double(ops));
    gb.SetItemsProcessed(ops);
    if (st.bytes_per_op > 0) gb.SetBytesProcessed(ops * st.bytes_per_op);
  }
}

}  // namespace

extern "C" void ubench_register(const char *name, ubench_fn fn, int64_t arg) {
  cases().push_back(Case{name, fn, arg});
}

int main(int argc, char **argv) {
  bench_register_cksum();
  bench_register_wire();
  bench_register_timer();
  bench_register_flow();
  bench_register_tcp();
  for (const Case &c : cases()) {
    benchmark::RegisterBenchmark(c.name.c_str(), [c](benchmark::State &gb) { run_case(gb, c); });
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
