// The memory figures INFO and MEMORY STATS / DOCTOR report, from the
// counting allocator (node/server/memory_counter.h), glibc's mallinfo2 and
// /proc/self/statm, in Redis 7.0's names (getMemoryOverheadData).
//
// Loop: the command's loop (reads node-wide state through CommandContext).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace shardnode::node {

struct CommandContext;

// Keys and keys with a TTL of one database, summed over the shards.
struct DbKeyCounts {
  uint64_t keys = 0;
  uint64_t expires = 0;
};

// INFO's "# Memory" section (header included), every field of 7.0.15 in
// its order. `dbs`: key counts by database, for the dataset/overhead split;
// `used`: used_memory when the command started (UsedMemory() read before
// its fan-out gathered the shards' figures: those are the command's
// scaffolding, one set per shard, which Redis's INFO does not have, and
// would make used_memory grow with `threads`).
void AppendMemoryInfo(CommandContext& ctx, const std::vector<DbKeyCounts>& dbs, size_t used,
                      std::string& s);

}  // namespace shardnode::node
