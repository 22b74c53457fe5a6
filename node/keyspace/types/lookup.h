// Typed key lookups for the collection command families: find a key, check
// its type, and hand back the owned object, so that handlers read as
// "get the hash or reply WRONGTYPE".
//
// Pure (works on a Db); used on the shard thread that owns the Db.
#pragma once

#include <memory>
#include <string_view>

#include "node/keyspace/db.h"
#include "node/keyspace/value.h"

namespace shardnode::node::types {

enum class Found { kMissing, kWrongType, kOk };

// Looks `key` up for reading (counts a keyspace hit or miss) or writing.
// On kOk, *obj points at the object of type T (valid until the key changes).
template <typename T>
Found FindTyped(Db& db, std::string_view key, int64_t now_ms, ValueType type, bool read, T** obj,
                Entry** entry = nullptr) {
  Entry* e = read ? db.FindRead(key, now_ms) : db.Find(key, now_ms);
  if (entry) *entry = e;
  if (e == nullptr) return Found::kMissing;
  if (e->value().type() != type) return Found::kWrongType;
  *obj = static_cast<T*>(e->value().object());
  return Found::kOk;
}

// Stores a fresh empty object of type T at `key` (which must be absent) and
// returns it.
template <typename T>
T* CreateTyped(Db& db, std::string_view key, int64_t now_ms, ValueType type) {
  auto owned = std::make_unique<T>();
  T* raw = owned.get();
  db.Set(key, Value::FromObject(type, std::move(owned)), now_ms);
  return raw;
}

}  // namespace shardnode::node::types
