#include "node/lua/rand48.h"

namespace shardnode::node::lua {
namespace {

// The 48-bit linear congruential generator of POSIX's lrand48:
// x' = (a * x + c) mod 2^48, returning the top 31 bits.
constexpr uint64_t kMask48 = (uint64_t{1} << 48) - 1;
constexpr uint64_t kA = 0x5DEECE66D;
constexpr uint64_t kC = 0xB;
uint64_t state = 0x1234ABCD330E;

}  // namespace

int32_t Rand48Next() {
  state = (kA * state + kC) & kMask48;
  return static_cast<int32_t>(state >> 17);
}

void Rand48Seed(int32_t seed) {
  state = ((static_cast<uint64_t>(static_cast<uint32_t>(seed)) << 16) | 0x330E) & kMask48;
}

}  // namespace shardnode::node::lua
