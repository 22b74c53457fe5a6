// ListObject: the value of a list key (LPUSH and friends).
//
// A chain of Packed nodes, each holding up to about kNodeBytes of elements
// (an element longer than that gets a node of its own), as Redis's
// quicklist of listpacks with list-max-listpack-size -2 (8 KB). Elements
// that are canonical integers are stored as integers. Redis 7.0.15 always
// reports lists as "quicklist" (the listpack list encoding arrived in 7.2),
// so there is a single encoding name.
//
// Indexes are 0-based from the head. Views handed out point into a node or
// into a caller's scratch string and are valid until the list changes.
//
// Pure data; not thread-safe; owned by the Value of its key.
#pragma once

#include <atomic>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "node/keyspace/types/packed.h"
#include "node/keyspace/value.h"

namespace shardnode::node {

class ListObject : public TypedObject {
 public:
  // A node is not grown past this many bytes of entries.
  static constexpr size_t kNodeBytes = 8192;

  // Redis's quicklist packed threshold (DEBUG QUICKLIST-PACKED-THRESHOLD):
  // an element of at least this many bytes is inserted into a node of its
  // own (a "plain" node), and nothing else is inserted into such a node.
  // Process-wide, as Redis's. Returns false, changing nothing, for a
  // value of 4 GB - 1 MB or more; 0 restores the default (1 GB).
  static bool SetPackedThreshold(size_t bytes);
  static size_t packed_threshold() { return packed_threshold_.load(std::memory_order_relaxed); }

  // fn(index, element) returns false to stop the walk.
  using Walker = std::function<bool(size_t index, std::string_view element)>;

  std::string_view EncodingName() const override { return "quicklist"; }
  std::unique_ptr<TypedObject> Clone() const override;
  size_t MemoryUsage(size_t samples) const override;

  size_t Size() const { return size_; }
  size_t node_count() const { return nodes_.size(); }
  // The bytes of every node's packed encoding (DEBUG OBJECT's
  // ql_uncompressed_size).
  size_t PackedBytes() const {
    size_t n = 0;
    for (const types::Packed& node : nodes_) n += node.bytes();
    return n;
  }

  void PushFront(std::string_view v) { Insert(0, v); }
  void PushBack(std::string_view v) { Insert(size_, v); }
  // REQUIRES: Size() > 0.
  std::string PopFront();
  std::string PopBack();

  // The element at `index`. REQUIRES: index < Size().
  std::string_view Get(size_t index, std::string* scratch) const;
  // Replaces the element at `index`. REQUIRES: index < Size().
  void Set(size_t index, std::string_view v);
  // Inserts `v` before the element at `index` (Size() appends).
  void Insert(size_t index, std::string_view v);
  // Removes `n` elements from the head / the tail. REQUIRES: n <= Size().
  void TrimFront(size_t n);
  void TrimBack(size_t n);
  // Removes elements equal to `v`, at most `limit` of them (0: all),
  // scanning from the tail when `from_tail`. Returns how many went.
  size_t RemoveMatching(std::string_view v, size_t limit, bool from_tail);

  // Calls fn for indexes from `from` towards the tail (or towards the head
  // when `reverse`) until fn returns false or the list ends. fn must not
  // change the list. REQUIRES: from < Size() unless the list is empty.
  void Walk(size_t from, bool reverse, const Walker& fn) const;

 private:
  // The node holding `index` and the index within that node.
  std::pair<size_t, size_t> Locate(size_t index) const;
  // Removes node `i` if it has become empty.
  void DropIfEmpty(size_t i);
  std::string PopAt(size_t node, size_t pos);
  // Whether node `i` holds a single element of packed_threshold() bytes
  // or more (a plain node: nothing is added to it).
  bool IsPlain(size_t i) const;

  static constexpr size_t kDefaultPackedThreshold = size_t{1} << 30;
  inline static std::atomic<size_t> packed_threshold_{kDefaultPackedThreshold};

  std::vector<types::Packed> nodes_;
  size_t size_ = 0;
};

}  // namespace shardnode::node
