// CycleClock: a cheap monotonic clock for timing short spans, such as the
// run time of each command (INFO commandstats, the latency histograms, the
// slow log). It reads the processor's time-stamp counter where the
// counter is invariant and the kernel keeps time with it (one instruction,
// about 8 ns in a VM, against 18 ns for clock_gettime(CLOCK_MONOTONIC)
// through the vDSO); anywhere else it is std::chrono::steady_clock.
//
// Ticks are converted to nanoseconds with a rate measured once, at program
// start (a spin of about 2 ms against CLOCK_MONOTONIC). Differences of two
// readings only: a reading has no meaning of its own, and readings taken
// before main() began may be on another scale. Thread-safe.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace shardnode::base {

namespace cycle_clock_internal {
// Set by cycle_clock.cc's initializer, before main(); read-only after.
extern bool use_tsc;
extern double ns_per_tick;
}  // namespace cycle_clock_internal

class CycleClock {
 public:
  // A reading, in ticks.
  static int64_t Now() {
#if defined(__x86_64__)
    if (cycle_clock_internal::use_tsc) return static_cast<int64_t>(__rdtsc());
#endif
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }

  // The nanoseconds in a span of `ticks` (a difference of two readings);
  // never negative.
  static int64_t ToNanos(int64_t ticks) {
    if (ticks <= 0) return 0;
    return static_cast<int64_t>(static_cast<double>(ticks) * cycle_clock_internal::ns_per_tick);
  }

  // Nanoseconds from `start` (a reading) to now.
  static int64_t NanosSince(int64_t start) { return ToNanos(Now() - start); }

  // Whether the time-stamp counter is in use (for a test and the log).
  static bool UsesTsc() { return cycle_clock_internal::use_tsc; }
};

}  // namespace shardnode::base
