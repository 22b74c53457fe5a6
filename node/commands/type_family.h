// Helpers the data-type families share (string_family.cc, hash_family.cc,
// list_family.cc, set_family.cc, zset_family.cc): a typed lookup that replies WRONGTYPE,
// integer arguments that reply Redis's error, and the bookkeeping after a
// write. Loop: the command's, like every handler.
#pragma once

#include <cstdint>
#include <string_view>

#include "node/commands/command.h"
#include "node/keyspace/types/lookup.h"

namespace shardnode::node {

// Replies "WRONGTYPE Operation against a key holding the wrong kind of value".
void ReplyWrongType(CommandContext& ctx);

// `key`'s value in the command's database when it holds a `type` value
// (types::FindTyped, which `read` passes on); when it holds another type,
// replies Redis's WRONGTYPE error and returns kWrongType.
template <typename T>
types::Found FindTypedOrReply(CommandContext& ctx, std::string_view key, ValueType type, bool read,
                              T** out) {
  const types::Found f = types::FindTyped(ctx.DbFor(key), key, ctx.now_ms, type, read, out);
  if (f == types::Found::kWrongType) ReplyWrongType(ctx);
  return f;
}

// After a write of `changes` to `key`: touches the key (WATCH) and counts the
// changes (CommandContext::AddDirty).
void Wrote(CommandContext& ctx, std::string_view key, uint64_t changes);

// `s` as an int64 (Redis's string2ll rules, types::ParseInt64); otherwise
// replies "ERR value is not an integer or out of range" and returns false.
bool ParseLong(std::string_view s, int64_t* out, CommandContext& ctx);

// INCRBY / HINCRBY: *value += incr, or replies "ERR increment or decrement
// would overflow" and returns false when the sum leaves int64.
bool AddIncrementOrReply(CommandContext& ctx, int64_t incr, int64_t* value);

// INCRBYFLOAT / HINCRBYFLOAT: *value += incr, or replies "ERR increment
// would produce NaN or Infinity" and returns false.
bool AddFloatIncrementOrReply(CommandContext& ctx, long double incr, long double* value);

}  // namespace shardnode::node
