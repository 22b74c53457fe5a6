// Intset: the sorted integer array Redis keeps small all-integer sets in and
// stores verbatim inside an RDB string (type 11). Internal to replication/.
// Pure.
//
// Layout: u32 LE width in bytes (2, 4 or 8, the smallest holding every
// member), u32 LE count, then the members ascending, each `width` bytes LE.
#ifndef SHARDNODE_REPLICATION_INTERNAL_INTSET_H_
#define SHARDNODE_REPLICATION_INTERNAL_INTSET_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace shardnode::replication::internal {

// Appends the members (decimal text, ascending) to `*out`. DataLoss
// ("Intset integrity check failed: ...") for a bad width, a size that does
// not match the count, or members not strictly ascending.
absl::Status DecodeIntset(absl::string_view blob, std::vector<std::string>* out);

// An intset of `members`, which need not be sorted.
// REQUIRES: no duplicates.
std::string EncodeIntset(std::vector<int64_t> members);

}  // namespace shardnode::replication::internal

#endif  // SHARDNODE_REPLICATION_INTERNAL_INTSET_H_
