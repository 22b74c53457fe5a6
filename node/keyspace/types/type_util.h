// Helpers shared by the collection types and their command families: number
// parsing with Redis 7.0.15's exact acceptance rules, and the seeded random
// source used by SPOP, SRANDMEMBER, HRANDFIELD and ZRANDMEMBER.
//
// Pure; the random source is per thread.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <string_view>

#include "base/strings.h"

namespace shardnode::node::types {

// Redis's string2ll: canonical decimal int64 only ("-0", "+1", " 1", "01"
// refused). The families' name for base::ParseStrictInt64.
inline bool ParseInt64(std::string_view s, int64_t* out) { return base::ParseStrictInt64(s, out); }
// Redis's string2d (ZADD scores, ZINCRBY): strtod over the whole text, no
// leading space, no NaN, no overflow to +-HUGE_VAL ("inf" itself is allowed).
bool ParseDouble(std::string_view s, double* out);
// Redis's string2ld (HINCRBYFLOAT): strtold over the whole text.
bool ParseLongDouble(std::string_view s, long double* out);

// HSCAN/SSCAN/ZSCAN arguments after the cursor.
struct ScanOptions {
  size_t count = 10;
  bool use_pattern = false;  // false for no MATCH or MATCH "*"
  std::string pattern;
};
// Redis's parseScanCursorOrReply: strtoul over the whole text, no leading
// space. False means "ERR invalid cursor".
bool ParseScanCursor(const std::string& s, uint64_t* cursor);
// What ParseScanOptions found wrong, if anything; node/commands words it
// ("ERR value is not an integer or out of range", "ERR syntax error").
enum class ScanOptionsError { kNone, kNotInteger, kSyntax };
// Parses [MATCH pattern] [COUNT n] from args[first...] into *opts.
ScanOptionsError ParseScanOptions(std::span<const std::string> args, size_t first,
                                  ScanOptions* opts);

// The random generator of this thread (seeded with a constant, so runs are
// reproducible in tests).
std::mt19937_64& Rng();
// A uniform integer in [0, n). REQUIRES: n > 0.
inline uint64_t RandomBelow(uint64_t n) { return Rng()() % n; }

}  // namespace shardnode::node::types
