#include "node/keyspace/types/zset_object.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace shardnode::node {

void ZSetObject::Insert(std::string_view member, double score) {
  if (listpack_ && (map_.size() + 1 > kMaxListpackEntries || member.size() > kMaxListpackValue)) {
    listpack_ = false;
  }
  if (listpack_ && score == 0) score = 0.0;  // drops the sign of -0
  // The tree's view points at the node's own copy of the member.
  Node* node = new Node{nullptr, score, std::string(member)};
  map_.Insert(node);
  tree_.insert(Item(score, node->member));
}

void ZSetObject::Update(std::string_view member, double score) {
  if (listpack_ && score == 0) score = 0.0;
  Node* node = map_.Find(member);
  tree_.erase(Item(node->score, node->member));
  node->score = score;
  tree_.insert(Item(score, node->member));
}

void ZSetObject::set_listpack(bool v) {
  if (v && !listpack_) {
    // Re-key the negative zeros as +0 (equal in the tree's order).
    std::vector<std::string> zeros;
    for (const Item& it : tree_) {
      if (it.first == 0 && std::signbit(it.first)) zeros.emplace_back(it.second);
    }
    listpack_ = true;
    for (const std::string& m : zeros) Update(m, 0.0);
  }
  listpack_ = v;
}

bool ZSetObject::Remove(std::string_view member) {
  Node* node = map_.Find(member);
  if (node == nullptr) return false;
  tree_.erase(Item(node->score, node->member));
  map_.Erase(member);
  return true;
}

size_t ZSetObject::Rank(std::string_view member) const {
  const Node* node = map_.Find(member);
  return tree_.order_of_key(Item(node->score, node->member));
}

ZSetObject::Item ZSetObject::At(size_t rank) const { return *tree_.find_by_order(rank); }

void ZSetObject::Range(size_t from, size_t to, bool reverse, const Visitor& fn) const {
  if (!reverse) {
    auto it = tree_.find_by_order(from);
    for (size_t r = from; r <= to; ++r, ++it) fn(it->second, it->first);
  } else {
    auto it = tree_.find_by_order(to);
    for (size_t r = to + 1; r > from; --r) {
      fn(it->second, it->first);
      if (r - 1 > from) --it;
    }
  }
}

size_t ZSetObject::CountBelow(double s, bool inclusive) const {
  if (inclusive) {
    if (s == std::numeric_limits<double>::infinity()) return Size();
    s = std::nextafter(s, std::numeric_limits<double>::infinity());
  }
  // The empty member sorts first, so this counts scores strictly below s.
  return tree_.order_of_key(Item(s, std::string_view()));
}

size_t ZSetObject::FirstRank(const std::function<bool(const Item&)>& pred) const {
  size_t lo = 0, hi = Size();
  while (lo < hi) {
    const size_t mid = lo + (hi - lo) / 2;
    if (pred(At(mid))) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  return lo;
}

uint64_t ZSetObject::Scan(uint64_t cursor, size_t count, const Visitor& fn) const {
  if (listpack_) {
    for (const Item& it : tree_) fn(it.second, it.first);
    return 0;
  }
  size_t seen = 0;
  size_t budget = count * 10;
  do {
    cursor = map_.Scan(cursor, [&](Node& n) {
      fn(n.member, n.score);
      ++seen;
    });
  } while (cursor != 0 && budget-- > 0 && seen < count);
  return cursor;
}

}  // namespace shardnode::node
