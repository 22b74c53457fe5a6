// IntSet: a sorted set of int64 in one heap buffer, each member stored in the
// narrowest width (2, 4 or 8 bytes) that holds every member, as Redis's
// intset: a set of small integers costs 2 bytes a member. The width only
// grows (re-encoding every member once), never shrinks.
//
// Layout of the allocation: uint32 count, uint32 width, then the members in
// ascending order, native byte order. An empty IntSet owns no memory.
//
// Pure data; not thread-safe.
#pragma once

#include <malloc.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace shardnode::node::types {

class IntSet {
 public:
  IntSet() = default;
  ~IntSet();
  IntSet(IntSet&& other) noexcept : buf_(other.buf_) { other.buf_ = nullptr; }
  IntSet& operator=(IntSet&& other) noexcept;
  IntSet(const IntSet&) = delete;
  IntSet& operator=(const IntSet&) = delete;
  // A byte-for-byte copy (COPY).
  IntSet Copy() const;

  size_t size() const { return Field(0); }
  // Bytes per member (0 when empty).
  size_t width() const { return Field(1); }
  bool Contains(int64_t v) const;
  // Returns false when `v` was already there.
  bool Insert(int64_t v);
  // Returns whether `v` was there.
  bool Erase(int64_t v);
  // The member of rank `i`. REQUIRES: i < size().
  int64_t At(size_t i) const;
  void Clear();

  // Heap bytes owned (MEMORY USAGE).
  size_t HeapBytes() const { return buf_ ? malloc_usable_size(buf_) : 0; }

 private:
  static constexpr size_t kHeader = 8;
  // Header field k (0: count, 1: width); 0 when there is no buffer.
  size_t Field(int k) const {
    if (buf_ == nullptr) return 0;
    uint32_t v;
    std::memcpy(&v, buf_ + 4 * k, 4);
    return v;
  }
  // First rank whose member is >= v.
  size_t LowerBound(int64_t v) const;
  void Set(size_t i, int64_t v);
  // Re-encodes every member with width `w` and room for `count` members.
  void Resize(size_t count, size_t w);

  char* buf_ = nullptr;
};

}  // namespace shardnode::node::types
