#include "node/keyspace/types/zset_object.h"

#include <cmath>
#include <cstring>
#include <limits>
#include <new>
#include <string>
#include <vector>

namespace shardnode::node {
namespace {

// (score, member) ordering shared by both representations.
bool ItemLess(double as, std::string_view am, double bs, std::string_view bm) {
  if (as != bs) return as < bs;
  return am < bm;
}

}  // namespace

ZSetObject::Node* ZSetObject::NewNode(std::string_view member, double score) {
  void* mem = ::operator new(sizeof(Node) + member.size());
  Node* node = new (mem) Node{nullptr, score, {}, static_cast<uint32_t>(member.size())};
  if (!member.empty())
    std::memcpy(static_cast<char*>(mem) + sizeof(Node), member.data(), member.size());
  return node;
}

// --- listpack helpers ---

size_t ZSetObject::FindPacked(std::string_view member) const {
  const size_t end = lp_.bytes();
  for (size_t pos = 0; pos < end;) {
    const types::PackedItem m = lp_.At(pos);
    if (m.str == member) return pos;
    pos = lp_.Next(m.next);  // skips the score
  }
  return end;
}

ZSetObject::Item ZSetObject::PackedItemAt(size_t pos, size_t* next) const {
  const types::PackedItem m = lp_.At(pos);
  const types::PackedItem s = lp_.At(m.next);
  if (next) *next = s.next;
  return Item(s.d, m.str);
}

size_t ZSetObject::PackedInsertPos(double score, std::string_view member) const {
  const size_t end = lp_.bytes();
  if (end == 0) return 0;
  // Scores often arrive in increasing order (timestamps, counters): check
  // the last pair before walking from the head.
  const Item last = PackedItemAt(lp_.Prev(lp_.Prev(end)));
  if (ItemLess(last.first, last.second, score, member)) return end;
  size_t pos = 0;
  while (pos < end) {
    size_t next;
    const Item it = PackedItemAt(pos, &next);
    if (ItemLess(score, member, it.first, it.second)) break;
    pos = next;
  }
  return pos;
}

void ZSetObject::ToSkiplist() {
  auto big = std::make_unique<Big>();
  const size_t end = lp_.bytes();
  for (size_t pos = 0; pos < end; pos = lp_.Next(lp_.Next(pos))) {
    const Item it = PackedItemAt(pos);
    Node* node = NewNode(it.second, it.first);
    big->map.Insert(node);
    node->where = big->tree.insert(Item(node->score, node->member())).first;
  }
  big_ = std::move(big);
  lp_.Clear();
}

std::unique_ptr<TypedObject> ZSetObject::Clone() const {
  auto out = std::make_unique<ZSetObject>();
  if (!big_) {
    out->lp_ = lp_.Copy();
    return out;
  }
  auto big = std::make_unique<Big>();
  for (const Item& it : big_->tree) {
    Node* node = NewNode(it.second, it.first);
    big->map.Insert(node);
    node->where = big->tree.insert(Item(node->score, node->member())).first;
  }
  out->big_ = std::move(big);
  return out;
}

void ZSetObject::ToListpack() {
  // The tree is already in order: append. InsertDouble stores integral
  // scores as integers, which turns -0 into 0 as a listpack does.
  types::Packed lp;
  for (const Item& it : big_->tree) {
    lp.InsertText(lp.bytes(), it.second, /*as_string=*/true);
    lp.InsertDouble(lp.bytes(), it.first);
  }
  lp_ = std::move(lp);
  big_.reset();
}

// --- both representations ---

void ZSetObject::set_listpack(bool v) {
  if (v && big_) {
    ToListpack();
  } else if (!v && !big_) {
    ToSkiplist();
  }
}

std::optional<double> ZSetObject::Score(std::string_view member) const {
  if (big_) {
    const Node* n = big_->map.Find(member);
    if (n == nullptr) return std::nullopt;
    return n->score;
  }
  const size_t pos = FindPacked(member);
  if (pos == lp_.bytes()) return std::nullopt;
  return lp_.At(lp_.Next(pos)).d;
}

void ZSetObject::Insert(std::string_view member, double score) {
  if (!big_ && (Size() + 1 > max_listpack_entries() || member.size() > max_listpack_value())) {
    ToSkiplist();
  }
  if (!big_) {
    const size_t pos = PackedInsertPos(score, member);
    lp_.InsertText(pos, member, /*as_string=*/true);
    lp_.InsertDouble(lp_.Next(pos), score);
    return;
  }
  // The tree's view points at the node's own copy of the member.
  Node* node = NewNode(member, score);
  big_->map.Insert(node);
  node->where = big_->tree.insert(Item(score, node->member())).first;
}

void ZSetObject::Update(std::string_view member, double score) {
  if (!big_) {
    // Copy first: `member` may be a view of the entry about to move.
    const std::string m(member);
    lp_.Erase(FindPacked(m), 2);
    const size_t pos = PackedInsertPos(score, m);
    lp_.InsertText(pos, m, /*as_string=*/true);
    lp_.InsertDouble(lp_.Next(pos), score);
    return;
  }
  Node* node = big_->map.Find(member);
  big_->tree.erase(node->where);
  node->score = score;
  node->where = big_->tree.insert(Item(score, node->member())).first;
}

bool ZSetObject::Remove(std::string_view member) {
  if (!big_) {
    const size_t pos = FindPacked(member);
    if (pos == lp_.bytes()) return false;
    lp_.Erase(pos, 2);
    return true;
  }
  Node* node = big_->map.Find(member);
  if (node == nullptr) return false;
  big_->tree.erase(node->where);
  big_->map.Erase(member);
  return true;
}

size_t ZSetObject::Rank(std::string_view member) const {
  if (!big_) {
    size_t rank = 0;
    for (size_t pos = 0; lp_.At(pos).str != member; pos = lp_.Next(lp_.Next(pos))) ++rank;
    return rank;
  }
  const Node* node = big_->map.Find(member);
  return big_->tree.order_of_key(Item(node->score, node->member()));
}

ZSetObject::Item ZSetObject::At(size_t rank) const {
  if (!big_) return PackedItemAt(lp_.PosOf(2 * rank));
  return *big_->tree.find_by_order(rank);
}

void ZSetObject::Range(size_t from, size_t to, bool reverse, const Visitor& fn) const {
  if (!big_) {
    if (!reverse) {
      size_t pos = lp_.PosOf(2 * from);
      for (size_t r = from; r <= to; ++r, pos = lp_.Next(lp_.Next(pos))) {
        const Item it = PackedItemAt(pos);
        fn(it.second, it.first);
      }
    } else {
      size_t pos = lp_.PosOf(2 * to);
      for (size_t r = to + 1; r > from; --r) {
        const Item it = PackedItemAt(pos);
        fn(it.second, it.first);
        if (r - 1 > from) pos = lp_.Prev(lp_.Prev(pos));
      }
    }
    return;
  }
  if (!reverse) {
    auto it = big_->tree.find_by_order(from);
    for (size_t r = from; r <= to; ++r, ++it) fn(it->second, it->first);
  } else {
    auto it = big_->tree.find_by_order(to);
    for (size_t r = to + 1; r > from; --r) {
      fn(it->second, it->first);
      if (r - 1 > from) --it;
    }
  }
}

size_t ZSetObject::CountBelow(double s, bool inclusive) const {
  if (!big_) {
    size_t n = 0;
    const size_t end = lp_.bytes();
    for (size_t pos = 0; pos < end; pos = lp_.Next(lp_.Next(pos)), ++n) {
      const double score = lp_.At(lp_.Next(pos)).d;
      if (inclusive ? score > s : score >= s) break;
    }
    return n;
  }
  if (inclusive) {
    if (s == std::numeric_limits<double>::infinity()) return Size();
    s = std::nextafter(s, std::numeric_limits<double>::infinity());
  }
  // The empty member sorts first, so this counts scores strictly below s.
  return big_->tree.order_of_key(Item(s, std::string_view()));
}

size_t ZSetObject::FirstRank(const std::function<bool(const Item&)>& pred) const {
  if (!big_) {
    // A walk costs less than a binary search over a buffer without an index.
    size_t rank = 0;
    const size_t end = lp_.bytes();
    for (size_t pos = 0; pos < end && !pred(PackedItemAt(pos)); pos = lp_.Next(lp_.Next(pos))) {
      ++rank;
    }
    return rank;
  }
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
  if (!big_) {
    if (Size()) Range(0, Size() - 1, false, fn);
    return 0;
  }
  size_t seen = 0;
  size_t budget = count * 10;
  do {
    cursor = big_->map.Scan(cursor, [&](Node& n) {
      fn(n.member(), n.score);
      ++seen;
    });
  } while (cursor != 0 && budget-- > 0 && seen < count);
  return cursor;
}

size_t ZSetObject::MemoryUsage(size_t samples) const {
  size_t bytes = sizeof(*this) + lp_.HeapBytes();
  if (big_) {
    // Each member: its node (member bytes inline) and its tree node (the
    // Item and the red-black links).
    constexpr size_t kTreeNode = sizeof(Item) + 4 * sizeof(void*);
    bytes += sizeof(Big) + big_->map.EstimateBytes(samples, [](const Node& n) {
      return malloc_usable_size(const_cast<Node*>(&n)) + kTreeNode;
    });
  }
  return bytes;
}

}  // namespace shardnode::node
