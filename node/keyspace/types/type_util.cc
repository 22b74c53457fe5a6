#include "node/keyspace/types/type_util.h"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>

#include "absl/strings/match.h"
#include "node/keyspace/value.h"

namespace shardnode::node::types {

bool ParseDouble(std::string_view s, double* out) {
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return false;
  const std::string buf(s);  // NUL-terminated for strtod; an inner NUL stops it early
  char* end = nullptr;
  errno = 0;
  const double v = std::strtod(buf.c_str(), &end);
  if (static_cast<size_t>(end - buf.c_str()) != buf.size()) return false;
  if (errno == ERANGE && (v == HUGE_VAL || v == -HUGE_VAL || v == 0.0)) return false;
  if (std::isnan(v)) return false;
  *out = v;
  return true;
}

bool ParseLongDouble(std::string_view s, long double* out) {
  constexpr size_t kMaxChars = 5 * 1024;
  if (s.empty() || s.size() >= kMaxChars) return false;
  if (std::isspace(static_cast<unsigned char>(s[0]))) return false;
  const std::string buf(s);
  char* end = nullptr;
  errno = 0;
  const long double v = std::strtold(buf.c_str(), &end);
  if (static_cast<size_t>(end - buf.c_str()) != buf.size()) return false;
  if (errno == ERANGE && (v == HUGE_VALL || v == -HUGE_VALL || v == 0.0L)) return false;
  if (errno == EINVAL || std::isnan(v)) return false;
  *out = v;
  return true;
}

bool ParseScanCursor(const std::string& s, uint64_t* cursor) {
  if (!s.empty() && std::isspace(static_cast<unsigned char>(s[0]))) return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (*end != '\0' || errno == ERANGE) return false;
  *cursor = v;
  return true;
}

ScanOptionsError ParseScanOptions(std::span<const std::string> args, size_t first,
                                  ScanOptions* opts) {
  for (size_t i = first; i < args.size();) {
    const size_t left = args.size() - i;
    if (absl::EqualsIgnoreCase(args[i], "count") && left >= 2) {
      int64_t count;
      if (!ParseInt64(args[i + 1], &count)) return ScanOptionsError::kNotInteger;
      if (count < 1) return ScanOptionsError::kSyntax;
      opts->count = static_cast<size_t>(count);
      i += 2;
    } else if (absl::EqualsIgnoreCase(args[i], "match") && left >= 2) {
      opts->pattern = args[i + 1];
      opts->use_pattern = opts->pattern != "*";
      i += 2;
    } else {
      return ScanOptionsError::kSyntax;
    }
  }
  return ScanOptionsError::kNone;
}

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng(0x5eed5eedULL);
  return rng;
}

}  // namespace shardnode::node::types
