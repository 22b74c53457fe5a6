// ZSetObject: the value of a sorted-set key (ZADD and friends).
//
// Members are kept twice: a StringMap member -> score for O(1) lookups, and an
// order-statistics red-black tree of (score, member) for ranks and ranges in
// O(log n). The tree's member views point into the map's nodes, which never
// move. The encoding OBJECT ENCODING reports follows Redis 7.0.15's rules:
// "listpack" until an insertion would make the set longer than
// kMaxListpackEntries or brings a member longer than kMaxListpackValue, then
// "skiplist" for good (the STORE commands recompute it for their result).
// A listpack stores integral scores as integers, which loses the sign of
// -0: scores are normalized the same way while the encoding is listpack.
//
// Pure data; not thread-safe; owned by the Value of its key.
#pragma once

#include <cstdint>
#include <ext/pb_ds/assoc_container.hpp>
#include <ext/pb_ds/tree_policy.hpp>
#include <functional>
#include <string>
#include <string_view>
#include <utility>

#include "node/keyspace/dict.h"
#include "node/keyspace/value.h"

namespace shardnode::node {

class ZSetObject : public TypedObject {
 public:
  static constexpr size_t kMaxListpackEntries = 128;  // zset-max-listpack-entries
  static constexpr size_t kMaxListpackValue = 64;     // zset-max-listpack-value

  using Item = std::pair<double, std::string_view>;  // (score, member)
  using Visitor = std::function<void(std::string_view member, double score)>;

  std::string_view EncodingName() const override { return listpack_ ? "listpack" : "skiplist"; }
  bool is_listpack() const { return listpack_; }
  // Sets the encoding a STORE command computed for its result.
  void set_listpack(bool v);

  size_t Size() const { return map_.size(); }
  // The score of `member`, or nullptr.
  const double* Score(std::string_view member) const {
    const Node* n = map_.Find(member);
    return n ? &n->score : nullptr;
  }
  // Adds a new member. REQUIRES: absent.
  void Insert(std::string_view member, double score);
  // Changes the score of a present member.
  void Update(std::string_view member, double score);
  // Returns whether `member` was there.
  bool Remove(std::string_view member);

  // 0-based ascending rank of a present member.
  size_t Rank(std::string_view member) const;
  // The item at ascending rank `rank`. REQUIRES: rank < Size().
  Item At(size_t rank) const;
  // Calls fn for ranks [from, to] ascending (or descending when reverse, from
  // `to` down to `from`). REQUIRES: from <= to < Size().
  void Range(size_t from, size_t to, bool reverse, const Visitor& fn) const;
  // Number of items whose score is < s (or <= s when `inclusive`).
  size_t CountBelow(double s, bool inclusive) const;
  // First rank r in [0, Size()] such that pred(At(r)) holds, given that pred
  // is false then true along the ranks (binary search).
  size_t FirstRank(const std::function<bool(const Item&)>& pred) const;

  // One ZSCAN step; listpack returns everything with cursor 0.
  uint64_t Scan(uint64_t cursor, size_t count, const Visitor& fn) const;

 private:
  struct Less {
    bool operator()(const Item& a, const Item& b) const {
      if (a.first != b.first) return a.first < b.first;
      return a.second < b.second;
    }
  };
  using Tree = __gnu_pbds::tree<Item, __gnu_pbds::null_type, Less, __gnu_pbds::rb_tree_tag,
                                __gnu_pbds::tree_order_statistics_node_update>;

  struct Node {
    Node* dict_next = nullptr;
    double score;
    std::string member;
  };
  struct NodeTraits {
    static std::string_view Key(const Node& n) { return n.member; }
    static void Free(Node* n) { delete n; }
  };

  Dict<Node, NodeTraits> map_;
  Tree tree_;
  bool listpack_ = true;
};

}  // namespace shardnode::node
