// The rand48 generator Redis gives math.random (platform-independent, so a
// script's random sequence is the same everywhere). Process-wide state shared
// by every VM, as in Redis. Loop: the loop that runs scripts.
#pragma once

#include <cstdint>

namespace shardnode::node::lua {

inline constexpr int32_t kRand48Max = INT32_MAX;

// The next value, in [0, 2^31).
int32_t Rand48Next();
// Restarts the sequence from `seed`.
void Rand48Seed(int32_t seed);

}  // namespace shardnode::node::lua
