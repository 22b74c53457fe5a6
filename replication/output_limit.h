// OutputLimit: one class of client-output-buffer-limit, and Redis's
// rule for when a client over it is closed. A client whose pending output
// reaches the hard limit is closed at once; one that stays at or above the
// soft limit for more than soft_seconds is closed too (the clock starts the
// first time it is seen above, and stops as soon as it is seen below). For
// replicas Redis raises a hard limit below repl-backlog-size to that size (a
// smaller one would drop replicas right after a partial resync).
//
// Pure: no clock (time comes in), no I/O.
#pragma once

#include <cstdint>
#include <string_view>

namespace shardnode::replication {

struct OutputLimit {
  uint64_t hard_bytes = 0;  // 0: no hard limit
  uint64_t soft_bytes = 0;  // 0: no soft limit
  int64_t soft_seconds = 0;

  // The "slave" (replica) class of a client-output-buffer-limit value in
  // its canonical form ("normal 0 0 0 slave 268435456 67108864 60 pubsub
  // ..."). A value without that class gives Redis's defaults.
  static OutputLimit ReplicaClass(std::string_view config_value);
  // Another class of it: "normal" or "pubsub" (or "slave"); Redis's
  // defaults for a class the value does not have.
  static OutputLimit ForClass(std::string_view config_value, std::string_view cls);
};

// The soft-limit clock of one client.
class OutputLimitCheck {
 public:
  // Whether a client with `used` bytes pending must be closed at `now_ms`
  // under `limit` (hard limit raised to `backlog_size`, as above). Updates
  // the soft-limit clock.
  bool Exceeded(const OutputLimit& limit, uint64_t used, int64_t backlog_size, int64_t now_ms);

 private:
  bool soft_reached_ = false;  // seen at or above the soft limit, since:
  int64_t soft_since_ms_ = 0;
};

}  // namespace shardnode::replication
