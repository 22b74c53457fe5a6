// HashObject: the value of a hash key (HSET and friends).
//
// Two encodings, as Redis 7.0.15 has them. "listpack": one Packed buffer of
// field, value, field, value... in insertion order, for small hashes
// (canonical integers stored as integers, as a listpack does). "hashtable": a
// StringMap (dict.h) with Redis-style SCAN cursors. A hash starts as listpack
// and converts once, for good, when it holds more than max_listpack_entries()
// fields, when a field or value longer than max_listpack_value() bytes is
// written, or when a command's arguments include such a string
// (ConvertIfLong, as HSET checks all its arguments first).
//
// Pure data; not thread-safe; owned by the Value of its key.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "node/keyspace/dict.h"
#include "node/keyspace/types/packed.h"
#include "node/keyspace/value.h"

namespace shardnode::node {

class HashObject : public TypedObject {
 public:
  // hash-max-listpack-entries (7.0.15 compiles in 512; redis.conf samples
  // 128) and hash-max-listpack-value (64). Process-wide, as Redis's
  // globals: the server sets them from its configuration (startup and
  // CONFIG SET); every hash reads them when it grows or is loaded.
  static size_t max_listpack_entries() { return max_entries_.load(std::memory_order_relaxed); }
  static size_t max_listpack_value() { return max_value_.load(std::memory_order_relaxed); }
  static void SetListpackLimits(size_t entries, size_t value) {
    max_entries_.store(entries, std::memory_order_relaxed);
    max_value_.store(value, std::memory_order_relaxed);
  }

  using Visitor = std::function<void(std::string_view field, std::string_view value)>;

  size_t MemoryUsage(size_t samples) const override;
  std::string_view EncodingName() const override {
    return is_listpack() ? "listpack" : "hashtable";
  }
  bool is_listpack() const { return !table_; }
  std::unique_ptr<TypedObject> Clone() const override;

  size_t Size() const { return table_ ? table_->size() : pairs_.count() / 2; }
  // The value of `field`, or nullopt. The view points into the hash or into
  // `scratch` (an integer rendered as text); valid until the next write.
  std::optional<std::string_view> Get(std::string_view field, std::string* scratch) const;
  bool Contains(std::string_view field) const;
  // Inserts or overwrites; returns true when `field` was new.
  bool Set(std::string_view field, std::string_view value);
  // Returns whether `field` was there.
  bool Delete(std::string_view field);
  // Converts to hashtable when `len` exceeds the listpack value limit (Redis
  // checks the lengths of the arguments before a write).
  void ConvertIfLong(size_t len);

  // Every pair, in encoding order (insertion order for listpack).
  void ForEach(const Visitor& fn) const;
  // One HSCAN step over about `count` fields; listpack returns everything at
  // once with cursor 0. Returns the next cursor.
  uint64_t Scan(uint64_t cursor, size_t count, const Visitor& fn) const;
  // A uniformly random pair (views as Get's, into the two scratches).
  // REQUIRES: Size() > 0.
  std::pair<std::string_view, std::string_view> Random(std::string* field_scratch,
                                                       std::string* value_scratch) const;

 private:
  void ConvertToTable();
  // Position of the field entry equal to `field` in pairs_, or pairs_.bytes().
  size_t FindPacked(std::string_view field) const;

  inline static std::atomic<size_t> max_entries_{512};
  inline static std::atomic<size_t> max_value_{64};

  types::Packed pairs_;                            // listpack: field, value, field, value...
  std::unique_ptr<StringMap<std::string>> table_;  // hashtable
};

}  // namespace shardnode::node
