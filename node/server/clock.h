// The node's clock: wall-clock milliseconds since the Unix epoch, the time
// base of TTLs, nodes.conf, the cluster bus and replication timeouts.
#pragma once

#include <chrono>
#include <cstdint>

namespace shardnode::node {

// The same clock in microseconds.
inline int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

inline int64_t NowMs() { return NowUs() / 1000; }

}  // namespace shardnode::node
