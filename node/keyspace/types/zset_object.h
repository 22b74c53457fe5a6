// ZSetObject: the value of a sorted-set key (ZADD and friends).
//
// Two representations, matching the encodings Redis 7.0.15 reports:
// - "listpack": one Packed buffer of member, score, member, score... sorted
//   by (score, member bytes); members are always stored as strings (so that
//   views of them stay valid), scores as integers when integral (which drops
//   the sign of -0, as a listpack does) or as 8 raw bytes. Lookups walk the
//   buffer; it holds at most max_listpack_entries() members.
// - "skiplist": a StringMap member -> score for O(1) lookups, and an
//   order-statistics red-black tree of (score, member) for ranks and ranges
//   in O(log n). The tree's member views point into the map's nodes, which
//   never move.
// A set starts as listpack and becomes skiplist for good when an insertion
// would make it longer than max_listpack_entries() or brings a member
// longer than max_listpack_value() (the STORE commands pick the encoding of their
// result with set_listpack).
//
// Pure data; not thread-safe; owned by the Value of its key.
#pragma once

#include <atomic>
#include <cstdint>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "absl/functional/function_ref.h"
#include "node/keyspace/dict.h"
#include "node/keyspace/types/packed.h"
#include "node/keyspace/value.h"

namespace shardnode::node {

class ZSetObject : public TypedObject {
 public:
  // zset-max-listpack-entries and zset-max-listpack-value. Process-wide, as
  // Redis's globals: the server sets them from its configuration (startup
  // and CONFIG SET); every set reads them when it grows or is stored.
  static size_t max_listpack_entries() { return max_entries_.load(std::memory_order_relaxed); }
  static size_t max_listpack_value() { return max_value_.load(std::memory_order_relaxed); }
  static void SetListpackLimits(size_t entries, size_t value) {
    max_entries_.store(entries, std::memory_order_relaxed);
    max_value_.store(value, std::memory_order_relaxed);
  }

  using Item = std::pair<double, std::string_view>;  // (score, member)
  // Called per member in a walk; valid during the call only (not stored).
  using Visitor = absl::FunctionRef<void(std::string_view member, double score)>;

  std::string_view EncodingName() const override { return big_ ? "skiplist" : "listpack"; }
  std::unique_ptr<TypedObject> Clone() const override;
  size_t MemoryUsage(size_t samples) const override;
  bool is_listpack() const { return !big_; }
  // Sets the encoding a STORE command computed for its result (converting
  // the representation).
  void set_listpack(bool v);

  size_t Size() const { return big_ ? big_->map.size() : lp_.count() / 2; }
  // The score of `member`, or nullopt.
  std::optional<double> Score(std::string_view member) const;
  // Adds a new member. REQUIRES: absent; `member` does not point into this set.
  void Insert(std::string_view member, double score);
  // Changes the score of a present member.
  void Update(std::string_view member, double score);
  // Returns whether `member` was there.
  bool Remove(std::string_view member);

  // 0-based ascending rank of a present member.
  size_t Rank(std::string_view member) const;
  // The item at ascending rank `rank` (the member view is valid until the
  // set changes). REQUIRES: rank < Size().
  Item At(size_t rank) const;
  // Calls fn for ranks [from, to] ascending (or descending when reverse, from
  // `to` down to `from`). REQUIRES: from <= to < Size(); fn does not change
  // the set.
  void Range(size_t from, size_t to, bool reverse, const Visitor& fn) const;
  // Number of items whose score is < s (or <= s when `inclusive`).
  size_t CountBelow(double s, bool inclusive) const;
  // First rank r in [0, Size()] such that pred(At(r)) holds, given that pred
  // is false then true along the ranks (binary search).
  size_t FirstRank(const std::function<bool(const Item&)>& pred) const;

  // One ZSCAN step; listpack returns everything with cursor 0.
  uint64_t Scan(uint64_t cursor, size_t count, const Visitor& fn) const;

 private:
  inline static std::atomic<size_t> max_entries_{128};
  inline static std::atomic<size_t> max_value_{64};
  // Listpack helpers: the position of `member`'s entry (or lp_.bytes()),
  // the item whose member entry starts at `pos` (and the position of the
  // pair after it), and where (score, member) belongs in the order.
  size_t FindPacked(std::string_view member) const;
  Item PackedItemAt(size_t pos, size_t* next = nullptr) const;
  size_t PackedInsertPos(double score, std::string_view member) const;
  void ToSkiplist();
  void ToListpack();

  struct Less {
    bool operator()(const Item& a, const Item& b) const {
      if (a.first != b.first) return a.first < b.first;
      return a.second < b.second;
    }
  };
  using Tree = __gnu_pbds::tree<Item, __gnu_pbds::null_type, Less, __gnu_pbds::rb_tree_tag,
                                __gnu_pbds::tree_order_statistics_node_update>;

  // One member of the skiplist form: one allocation, the member's bytes
  // inline after the node (the tree's view points at them; nodes never move).
  struct Node {
    Node* dict_next = nullptr;
    double score;
    Tree::iterator where;  // this member's tree node: erasing needs no search
    uint32_t member_len;
    std::string_view member() const {
      return {reinterpret_cast<const char*>(this + 1), static_cast<size_t>(member_len)};
    }
  };
  static Node* NewNode(std::string_view member, double score);
  struct NodeTraits {
    static std::string_view Key(const Node& n) { return n.member(); }
    static void Free(Node* n) {
      n->~Node();
      ::operator delete(n);
    }
  };

  // The skiplist representation (a separate allocation: an empty tree
  // allocates its header node, which small sets should not pay for).
  struct Big {
    Dict<Node, NodeTraits> map;
    Tree tree;
  };

  types::Packed lp_;          // listpack (empty while big_ is set)
  std::unique_ptr<Big> big_;  // skiplist
};

}  // namespace shardnode::node
