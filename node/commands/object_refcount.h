// The refcount Redis shows for a value (OBJECT REFCOUNT, DEBUG OBJECT).
#pragma once

#include <cstdint>

namespace shardnode::node {

struct CommandContext;
class Value;

// INT32_MAX for the integers Redis shares (0..9999, unless maxmemory with an
// LRU/LFU policy forbids sharing), else 1. generic_family.cc.
int64_t ValueRefCount(CommandContext& ctx, const Value& value);

}  // namespace shardnode::node
