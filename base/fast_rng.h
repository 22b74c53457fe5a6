// FastRng: a small, fast pseudo-random generator (SplitMix64: a 64-bit
// counter stepped by a fixed odd constant, then mixed), for the hot paths
// that draw a number per command (eviction sampling, LFU's log counter).
// std::mt19937_64 costs a 2.5 KB state and regenerates it every 312
// draws. Not for anything that needs unpredictability.
// Satisfies UniformRandomBitGenerator. Thread-compatible.
#pragma once

#include <cstdint>
#include <limits>

namespace shardnode::base {

class FastRng {
 public:
  using result_type = uint64_t;

  explicit FastRng(uint64_t seed = 0) : state_(seed) {}
  void seed(uint64_t seed) { state_ = seed; }

  static constexpr result_type min() { return 0; }
  static constexpr result_type max() { return std::numeric_limits<result_type>::max(); }

  result_type operator()() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  uint64_t state_;
};

}  // namespace shardnode::base
