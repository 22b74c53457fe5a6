#include "node/keyspace/types/list_object.h"

#include <tuple>
#include <utility>

#include "node/keyspace/types/type_util.h"

namespace shardnode::node {

std::pair<size_t, size_t> ListObject::Locate(size_t index) const {
  if (index < size_ / 2) {
    size_t i = 0;
    while (index >= nodes_[i].count()) index -= nodes_[i++].count();
    return {i, index};
  }
  // Count from the tail: the node holding `index` is the one where the
  // elements after it stop covering the distance to the end.
  size_t from_end = size_ - index;  // >= 1
  size_t i = nodes_.size() - 1;
  while (from_end > nodes_[i].count()) from_end -= nodes_[i--].count();
  return {i, nodes_[i].count() - from_end};
}

void ListObject::DropIfEmpty(size_t i) {
  if (nodes_[i].empty()) nodes_.erase(nodes_.begin() + static_cast<std::ptrdiff_t>(i));
}

std::string ListObject::PopAt(size_t node, size_t pos) {
  std::string scratch;
  std::string v(nodes_[node].At(pos).Text(&scratch));
  nodes_[node].Erase(pos);
  --size_;
  DropIfEmpty(node);
  return v;
}

std::string ListObject::PopFront() { return PopAt(0, 0); }

std::string ListObject::PopBack() {
  const size_t last = nodes_.size() - 1;
  return PopAt(last, nodes_[last].Prev(nodes_[last].bytes()));
}

std::string_view ListObject::Get(size_t index, std::string* scratch) const {
  auto [i, k] = Locate(index);
  return nodes_[i].At(nodes_[i].PosOf(k)).Text(scratch);
}

void ListObject::Set(size_t index, std::string_view v) {
  auto [i, k] = Locate(index);
  nodes_[i].ReplaceText(nodes_[i].PosOf(k), v);
}

bool ListObject::SetPackedThreshold(size_t bytes) {
  if (bytes > (size_t{1} << 32) - (size_t{1} << 20)) return false;
  packed_threshold_.store(bytes == 0 ? kDefaultPackedThreshold : bytes, std::memory_order_relaxed);
  return true;
}

bool ListObject::IsPlain(size_t i) const {
  const types::Packed& node = nodes_[i];
  if (node.count() != 1) return false;
  std::string scratch;
  return node.At(0).Text(&scratch).size() >= packed_threshold();
}

void ListObject::Insert(size_t index, std::string_view v) {
  // Room for the entry with its largest header and back length.
  const size_t entry = v.size() + 2 * 10;
  // A large element gets a node of its own; a plain node takes nothing more.
  const bool large = v.size() >= packed_threshold();
  auto no_room = [&](size_t j) {
    return large || nodes_[j].bytes() + entry > kNodeBytes || IsPlain(j);
  };
  if (nodes_.empty()) nodes_.emplace_back();
  size_t i, k;
  if (index == size_) {
    i = nodes_.size() - 1;
    k = nodes_[i].count();
  } else {
    std::tie(i, k) = Locate(index);
  }
  types::Packed* node = &nodes_[i];
  if (!node->empty() && no_room(i)) {
    // The node is full. At either end of it, start a neighbour node (or use
    // the neighbour when it has room); in the middle, split it.
    if (k == 0) {
      if (i == 0 || no_room(i - 1)) {
        nodes_.emplace(nodes_.begin() + static_cast<std::ptrdiff_t>(i));
      } else {
        --i;
      }
      k = nodes_[i].count();
    } else if (k == node->count()) {
      if (i + 1 == nodes_.size() || no_room(i + 1)) {
        nodes_.emplace(nodes_.begin() + static_cast<std::ptrdiff_t>(i + 1));
      }
      ++i;
      k = 0;
    } else {
      types::Packed tail = node->TakeTail(node->PosOf(k));
      nodes_.insert(nodes_.begin() + static_cast<std::ptrdiff_t>(i + 1), std::move(tail));
      if (large) {  // its own node, between the two halves
        nodes_.emplace(nodes_.begin() + static_cast<std::ptrdiff_t>(i + 1));
        ++i;
        k = 0;
      }
    }
    node = &nodes_[i];
  }
  node->InsertText(k == node->count() ? node->bytes() : node->PosOf(k), v);
  ++size_;
}

void ListObject::TrimFront(size_t n) {
  size_ -= n;
  size_t whole = 0;
  while (n > 0 && n >= nodes_[whole].count()) n -= nodes_[whole++].count();
  nodes_.erase(nodes_.begin(), nodes_.begin() + static_cast<std::ptrdiff_t>(whole));
  if (n > 0) nodes_[0].Erase(0, n);
}

void ListObject::TrimBack(size_t n) {
  size_ -= n;
  while (n > 0 && n >= nodes_.back().count()) {
    n -= nodes_.back().count();
    nodes_.pop_back();
  }
  if (n > 0) {
    types::Packed& last = nodes_.back();
    last.Erase(last.PosOf(last.count() - n), n);
  }
}

size_t ListObject::RemoveMatching(std::string_view v, size_t limit, bool from_tail) {
  int64_t as_int = 0;
  const bool is_int = v.size() <= 20 && types::ParseInt64(v, &as_int);
  size_t removed = 0;
  auto more = [&] { return limit == 0 || removed < limit; };
  if (!from_tail) {
    for (size_t i = 0; i < nodes_.size() && more();) {
      types::Packed& node = nodes_[i];
      for (size_t pos = 0; pos < node.bytes() && more();) {
        if (node.At(pos).Matches(v, is_int, as_int)) {
          node.Erase(pos);
          ++removed;
        } else {
          pos = node.Next(pos);
        }
      }
      if (node.empty()) {
        DropIfEmpty(i);
      } else {
        ++i;
      }
    }
  } else {
    for (size_t i = nodes_.size(); i > 0 && more(); --i) {
      types::Packed& node = nodes_[i - 1];
      for (size_t pos = node.bytes(); pos > 0 && more();) {
        pos = node.Prev(pos);
        if (node.At(pos).Matches(v, is_int, as_int)) {
          node.Erase(pos);
          ++removed;
        }
      }
      DropIfEmpty(i - 1);
    }
  }
  size_ -= removed;
  return removed;
}

void ListObject::Walk(size_t from, bool reverse, const Walker& fn) const {
  if (size_ == 0) return;
  auto [i, k] = Locate(from);
  size_t pos = nodes_[i].PosOf(k);
  size_t index = from;
  std::string scratch;
  for (;;) {
    const types::Packed& node = nodes_[i];
    if (!fn(index, node.At(pos).Text(&scratch))) return;
    if (!reverse) {
      if (++index == size_) return;
      pos = node.Next(pos);
      if (pos == node.bytes()) {
        ++i;
        pos = 0;
      }
    } else {
      if (index-- == 0) return;
      if (pos == 0) {
        --i;
        pos = nodes_[i].bytes();
      }
      pos = nodes_[i].Prev(pos);
    }
  }
}

std::unique_ptr<TypedObject> ListObject::Clone() const {
  auto out = std::make_unique<ListObject>();
  out->nodes_.reserve(nodes_.size());
  for (const types::Packed& n : nodes_) out->nodes_.push_back(n.Copy());
  out->size_ = size_;
  return out;
}

size_t ListObject::MemoryUsage(size_t samples) const {
  (void)samples;  // the nodes are few (8 KB each): all counted
  size_t bytes = sizeof(*this) + nodes_.capacity() * sizeof(types::Packed);
  for (const types::Packed& node : nodes_) bytes += node.HeapBytes();
  return bytes;
}

}  // namespace shardnode::node
