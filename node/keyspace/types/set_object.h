// SetObject: the value of a set key (SADD and friends).
//
// Two encodings, as Redis 7.0.15 has them. "intset": an IntSet (sorted,
// 2/4/8 bytes a member), used while every member is a canonical integer and there are at most
// kMaxIntsetEntries of them. "hashtable": a StringMap (dict.h) with
// Redis-style SCAN cursors. Conversion to hashtable is one-way.
//
// Pure data; not thread-safe; owned by the Value of its key.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "node/keyspace/dict.h"
#include "node/keyspace/types/intset.h"
#include "node/keyspace/value.h"

namespace shardnode::node {

class SetObject : public TypedObject {
 public:
  static constexpr size_t kMaxIntsetEntries = 512;  // set-max-intset-entries

  using Visitor = std::function<void(std::string_view member)>;

  std::string_view EncodingName() const override { return is_intset() ? "intset" : "hashtable"; }
  size_t MemoryUsage(size_t samples) const override;
  bool is_intset() const { return !table_; }
  std::unique_ptr<TypedObject> Clone() const override;

  size_t Size() const { return table_ ? table_->size() : ints_.size(); }
  bool Contains(std::string_view member) const;
  // Returns true when `member` was new.
  bool Add(std::string_view member);
  // Returns whether `member` was there.
  bool Remove(std::string_view member);

  // Every member (ascending for intset). `fn` must not change the set.
  void ForEach(const Visitor& fn) const;
  // Every member, copied out.
  std::vector<std::string> Members() const;
  // One SSCAN step; intset returns everything with cursor 0.
  uint64_t Scan(uint64_t cursor, size_t count, const Visitor& fn) const;
  // A uniformly random member. REQUIRES: Size() > 0.
  std::string Random() const;

 private:
  void ConvertToTable();

  types::IntSet ints_;                      // intset
  std::unique_ptr<StringMap<char>> table_;  // hashtable
};

}  // namespace shardnode::node
