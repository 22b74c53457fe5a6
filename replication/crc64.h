// CRC-64/Jones as used by Redis for RDB files and DUMP payloads: polynomial
// 0xAD93D23594C935A9 (reflected 0x95AC9329AC4BC9B5), reflected input and
// output, init 0, no final xor. Crc64(0, "123456789") == 0xE9C6D914C4B8D9CA.
//
// Pure and thread-safe; the lookup tables are built once, at first use.
#ifndef SHARDNODE_REPLICATION_CRC64_H_
#define SHARDNODE_REPLICATION_CRC64_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace shardnode::replication {

// Returns the CRC of `data` continued from `crc` (the CRC of the bytes before
// it; 0 to start). Crc64(Crc64(0, a), b) == Crc64(0, a + b).
uint64_t Crc64(uint64_t crc, absl::string_view data);

}  // namespace shardnode::replication

#endif  // SHARDNODE_REPLICATION_CRC64_H_
