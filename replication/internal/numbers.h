// Number <-> string conversions with Redis's exact rules, shared by the RDB
// encoders (internal to replication/). Pure functions.
#ifndef SHARDNODE_REPLICATION_INTERNAL_NUMBERS_H_
#define SHARDNODE_REPLICATION_INTERNAL_NUMBERS_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace shardnode::replication::internal {

// The decimal form of `v`.
std::string Int64ToString(int64_t v);

// A score as Redis prints it into a sorted-set listpack: "inf", "-inf",
// integers without a fraction when exactly representable, else "%.17g".
std::string ScoreToString(double score);

// Parses a score the way strtod does over the whole string; false when any
// byte is left over or the string is empty.
bool ParseScore(absl::string_view s, double* score);

}  // namespace shardnode::replication::internal

#endif  // SHARDNODE_REPLICATION_INTERNAL_NUMBERS_H_
