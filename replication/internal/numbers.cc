#include "replication/internal/numbers.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace shardnode::replication::internal {

bool CanonicalInt64(absl::string_view s, int64_t* value) {
  // 20 characters hold "-9223372036854775808"; longer cannot be canonical.
  if (s.empty() || s.size() > 20) return false;
  if (s == "0") {
    *value = 0;
    return true;
  }
  size_t i = 0;
  bool negative = s[0] == '-';
  if (negative) i = 1;
  if (i >= s.size() || s[i] < '1' || s[i] > '9') return false;
  uint64_t v = 0;
  for (; i < s.size(); ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    uint64_t digit = static_cast<uint64_t>(s[i] - '0');
    if (v > (UINT64_MAX - digit) / 10) return false;
    v = v * 10 + digit;
  }
  if (negative) {
    if (v > static_cast<uint64_t>(INT64_MAX) + 1) return false;
    *value = static_cast<int64_t>(0 - v);
  } else {
    if (v > static_cast<uint64_t>(INT64_MAX)) return false;
    *value = static_cast<int64_t>(v);
  }
  return true;
}

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
