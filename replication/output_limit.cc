#include "replication/output_limit.h"

#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"

namespace shardnode::replication {

OutputLimit OutputLimit::ReplicaClass(std::string_view config_value) {
  return ForClass(config_value, "slave");
}

OutputLimit OutputLimit::ForClass(std::string_view config_value, std::string_view cls) {
  const bool replica = cls == "slave" || cls == "replica";
  // Redis's defaults: normal 0 0 0, replica 256mb 64mb 60, pubsub 32mb 8mb 60.
  OutputLimit limit;
  if (replica) {
    limit = OutputLimit{256ULL << 20, 64ULL << 20, 60};
  } else if (cls == "pubsub") {
    limit = OutputLimit{32ULL << 20, 8ULL << 20, 60};
  }
  const std::vector<std::string> parts = absl::StrSplit(
      absl::string_view(config_value.data(), config_value.size()), ' ', absl::SkipEmpty());
  for (size_t i = 0; i + 3 < parts.size(); i += 4) {
    const bool match = replica ? parts[i] == "slave" || parts[i] == "replica" : parts[i] == cls;
    if (!match) continue;
    OutputLimit parsed;
    if (absl::SimpleAtoi(parts[i + 1], &parsed.hard_bytes) &&
        absl::SimpleAtoi(parts[i + 2], &parsed.soft_bytes) &&
        absl::SimpleAtoi(parts[i + 3], &parsed.soft_seconds)) {
      limit = parsed;
    }
  }
  return limit;
}

bool OutputLimitCheck::Exceeded(const OutputLimit& limit, uint64_t used, int64_t backlog_size,
                                int64_t now_ms) {
  uint64_t hard = limit.hard_bytes;
  if (hard != 0 && backlog_size > 0 && hard < static_cast<uint64_t>(backlog_size)) {
    hard = static_cast<uint64_t>(backlog_size);
  }
  if (hard != 0 && used >= hard) return true;
  if (limit.soft_bytes == 0 || used < limit.soft_bytes) {
    soft_reached_ = false;
    return false;
  }
  if (!soft_reached_) {
    soft_reached_ = true;
    soft_since_ms_ = now_ms;
    return false;
  }
  return now_ms - soft_since_ms_ > limit.soft_seconds * 1000;
}

}  // namespace shardnode::replication
