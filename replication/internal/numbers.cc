#include "replication/internal/numbers.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace shardnode::replication::internal {

std::string Int64ToString(int64_t v) { return std::to_string(v); }

std::string ScoreToString(double score) {
  if (std::isnan(score)) return "nan";
  if (std::isinf(score)) return score < 0 ? "-inf" : "inf";
  // Integral values within +-2^62 print as integers (Redis's double2ll
  // range); -0.0 prints as "0" here, as Redis stores it in a listpack.
  constexpr double kLimit = static_cast<double>(INT64_MAX / 2);
  if (score >= -kLimit && score <= kLimit) {
    auto as_int = static_cast<int64_t>(score);
    if (static_cast<double>(as_int) == score) return std::to_string(as_int);
  }
  char buf[64];
  int n = std::snprintf(buf, sizeof(buf), "%.17g", score);
  return std::string(buf, static_cast<size_t>(n));
}

bool ParseScore(absl::string_view s, double* score) {
  if (s.empty() || s.size() > 200) return false;
  std::string copy(s);
  char* end = nullptr;
  *score = std::strtod(copy.c_str(), &end);
  return end == copy.c_str() + copy.size();
}

}  // namespace shardnode::replication::internal
