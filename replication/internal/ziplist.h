// Ziplist and zipmap: the pre-7.0 compact encodings that RDB files written by
// Redis 2.x-6.x hold (types 9, 10, 12, 13 and the nodes of type 14). Redis
// 7.0 reads them and converts; so do we. The encoders exist for tests and to
// produce legacy files; the RDB writer never emits these types.
// Internal to replication/. Pure.
//
// Ziplist: u32 LE total bytes, u32 LE offset of the last entry, u16 LE count
// (65535 = "count it"), entries, 0xFF. Entry: prevlen (1 byte < 254, or 0xFE
// + u32 LE), encoding, data. Encodings: 00LLLLLL str6; 01LLLLLL LLLLLLLL
// str14 (big endian); 10000000 + u32 BE str32; C0 int16, D0 int32, E0 int64,
// F0 int24, FE int8 (all LE); F1..FD the immediates 0..12.
//
// Zipmap: count byte (254+ = "count it"), then pairs <len>key<len><free>value
// <free bytes>, then 0xFF; len is one byte < 254, or 254 + u32 LE.
#ifndef SHARDNODE_REPLICATION_INTERNAL_ZIPLIST_H_
#define SHARDNODE_REPLICATION_INTERNAL_ZIPLIST_H_

#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace shardnode::replication::internal {

// Appends the ziplist's elements to `*out` (integers as decimal text).
// DataLoss ("Ziplist integrity check failed: ...") when malformed.
absl::Status DecodeZiplist(absl::string_view blob, std::vector<std::string>* out);

// A ziplist holding `elements`, integers encoded as Redis 6 encoded them.
std::string EncodeZiplist(const std::vector<std::string>& elements);

// Appends the zipmap's pairs to `*out`. DataLoss when malformed.
absl::Status DecodeZipmap(absl::string_view blob,
                          std::vector<std::pair<std::string, std::string>>* out);

// A zipmap holding `pairs` (no free bytes).
std::string EncodeZipmap(const std::vector<std::pair<std::string, std::string>>& pairs);

}  // namespace shardnode::replication::internal

#endif  // SHARDNODE_REPLICATION_INTERNAL_ZIPLIST_H_
