#include "base/cycle_clock.h"

#include <time.h>

#include <fstream>
#include <string>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace shardnode::base {
namespace cycle_clock_internal {

bool use_tsc = false;
double ns_per_tick = 1.0;

namespace {

int64_t MonotonicNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

#if defined(__x86_64__)
// The counter runs at one rate in every power state and on every core
// (CPUID's invariant-TSC bit), and the kernel trusts it enough to keep
// time with it (it switches the clock source away from a counter it finds
// unsynchronized between cores).
bool TscUsable() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid_max(0x80000000, nullptr) < 0x80000007) return false;
  __cpuid(0x80000007, eax, ebx, ecx, edx);
  if ((edx & (1u << 8)) == 0) return false;
  std::ifstream f("/sys/devices/system/clocksource/clocksource0/current_clocksource");
  std::string source;
  return static_cast<bool>(f >> source) && source == "tsc";
}

// One reading of both clocks: the counter read just before and just after
// the monotonic clock, the narrowest bracket of a few tries (a preemption
// between the reads widens one try, not the best).
struct Pair {
  double ticks;
  int64_t ns;
};

Pair ReadPair() {
  Pair best{0, 0};
  uint64_t best_width = UINT64_MAX;
  for (int i = 0; i < 5; ++i) {
    const uint64_t before = __rdtsc();
    const int64_t ns = MonotonicNs();
    const uint64_t after = __rdtsc();
    if (after - before < best_width) {
      best_width = after - before;
      best = {static_cast<double>(before) + static_cast<double>(after - before) / 2, ns};
    }
  }
  return best;
}

void Calibrate() {
  if (!TscUsable()) return;
  const Pair start = ReadPair();
  while (MonotonicNs() - start.ns < 2'000'000) {
  }
  const Pair end = ReadPair();
  const double ticks = end.ticks - start.ticks;
  if (ticks <= 0) return;
  ns_per_tick = static_cast<double>(end.ns - start.ns) / ticks;
  use_tsc = true;
}
#else
void Calibrate() {}
#endif

[[maybe_unused]] const bool calibrated = (Calibrate(), true);

}  // namespace
}  // namespace cycle_clock_internal
}  // namespace shardnode::base
