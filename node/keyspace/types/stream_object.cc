#include "node/keyspace/types/stream_object.h"

#include <algorithm>
#include <charconv>

#include "absl/strings/str_cat.h"
#include "base/strings.h"

namespace shardnode::node {
namespace {

// Bytes of a listpack element's back-length field for an element of `len`.
uint64_t BacklenBytes(uint64_t len) {
  if (len <= 127) return 1;
  if (len < 16383) return 2;
  if (len < 2097151) return 3;
  if (len < 268435455) return 4;
  return 5;
}

// The listpack header and terminator Redis counts in lpBytes.
constexpr uint64_t kLpOverhead = 7;

// Node data: per entry a flags byte (kDeleted, kSameFields), the id as
// zigzag varint deltas from the node's master id (ms, then seq), the field
// count and names unless kSameFields, then the values; every string is a
// varint length and its bytes.
constexpr uint8_t kDeleted = 1;
constexpr uint8_t kSameFields = 2;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint64_t GetVarint(const std::string& data, size_t* pos) {
  uint64_t v = 0;
  for (int shift = 0;; shift += 7) {
    const auto b = static_cast<uint8_t>(data[(*pos)++]);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
}

uint64_t ZigZag(uint64_t delta) {
  const auto d = static_cast<int64_t>(delta);
  return (static_cast<uint64_t>(d) << 1) ^ static_cast<uint64_t>(d >> 63);
}
uint64_t UnZigZag(uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s.data(), s.size());
}

}  // namespace

uint64_t RedisLpIntBytes(int64_t v) {
  uint64_t enc;
  if (v >= 0 && v <= 127) {
    enc = 1;
  } else if (v >= -4096 && v <= 4095) {
    enc = 2;
  } else if (v >= -32768 && v <= 32767) {
    enc = 3;
  } else if (v >= -8388608 && v <= 8388607) {
    enc = 4;
  } else if (v >= INT32_MIN && v <= INT32_MAX) {
    enc = 5;
  } else {
    enc = 9;
  }
  return enc + BacklenBytes(enc);
}

uint64_t RedisLpStringBytes(std::string_view s) {
  int64_t v;
  if (base::ParseStrictInt64(s, &v)) return RedisLpIntBytes(v);
  uint64_t enc = s.size() < 64 ? 1 + s.size() : s.size() < 4096 ? 2 + s.size() : 5 + s.size();
  return enc + BacklenBytes(enc);
}

bool StreamId::Incr() {
  if (seq == UINT64_MAX) {
    if (ms == UINT64_MAX) return false;
    ++ms;
    seq = 0;
  } else {
    ++seq;
  }
  return true;
}

bool StreamId::Decr() {
  if (seq == 0) {
    if (ms == 0) return false;
    --ms;
    seq = UINT64_MAX;
  } else {
    --seq;
  }
  return true;
}

std::string StreamId::ToString() const {
  char buf[kMaxText];
  return std::string(buf, Format(buf));
}

size_t StreamId::Format(char* buf) const {
  char* p = std::to_chars(buf, buf + 20, ms).ptr;
  *p++ = '-';
  return static_cast<size_t>(std::to_chars(p, p + 20, seq).ptr - buf);
}

// Walks a node's data: Next() reads an entry's header; then Fields() reads
// its fields and values, or Skip() steps over them.
struct StreamObject::Cursor {
  const StreamId& master;
  const Node& node;
  size_t pos = 0;
  // The current entry's header.
  size_t flag_pos = 0;
  StreamId id;
  bool deleted = false;
  bool same = false;

  bool Next() {
    if (pos >= node.data.size()) return false;
    flag_pos = pos;
    const auto flags = static_cast<uint8_t>(node.data[pos++]);
    deleted = flags & kDeleted;
    same = flags & kSameFields;
    id.ms = master.ms + UnZigZag(GetVarint(node.data, &pos));
    id.seq = master.seq + UnZigZag(GetVarint(node.data, &pos));
    return true;
  }
  std::string_view String() {
    const size_t len = GetVarint(node.data, &pos);
    std::string_view s(node.data.data() + pos, len);
    pos += len;
    return s;
  }
  void Fields(StreamFields* out) {
    const size_t nf = same ? node.master_fields.size() : GetVarint(node.data, &pos);
    out->resize(nf * 2);
    for (size_t i = 0; i < nf; ++i) {
      if (same) {
        (*out)[i * 2] = node.master_fields[i];
      } else {
        (*out)[i * 2] = String();
      }
      (*out)[i * 2 + 1] = String();
    }
  }
  void Skip() {
    const size_t nf = same ? node.master_fields.size() : GetVarint(node.data, &pos);
    for (size_t i = 0; i < (same ? nf : nf * 2); ++i) String();
  }
};

template <typename Fn>
void StreamObject::Walk(const StreamId& master, const Node& n, Fn&& fn) {
  Cursor c{master, n};
  while (c.Next()) {
    const size_t before = c.pos;
    if (!fn(c)) return;
    if (c.pos == before) c.Skip();  // fn read no payload
  }
}

void StreamObject::EncodeItem(const StreamId& master, const ItemView& item, std::string* out) {
  out->push_back(
      static_cast<char>((item.deleted ? kDeleted : 0) | (item.same_fields ? kSameFields : 0)));
  PutVarint(out, ZigZag(item.id.ms - master.ms));
  PutVarint(out, ZigZag(item.id.seq - master.seq));
  const size_t nf = item.fields.size() / 2;
  if (!item.same_fields) PutVarint(out, nf);
  for (size_t i = 0; i < nf; ++i) {
    if (!item.same_fields) PutString(out, item.fields[i * 2]);
    PutString(out, item.fields[i * 2 + 1]);
  }
}

void StreamObject::DecodeNode(const StreamId& master, const Node& n, std::vector<Item>* out) {
  out->clear();
  Walk(master, n, [out](Cursor& c) {
    Item& item = out->emplace_back();
    item.id = c.id;
    item.deleted = c.deleted;
    item.same_fields = c.same;
    c.Fields(&item.fields);
    return true;
  });
}

uint64_t StreamObject::EntryLpBytes(const StreamId& master, const ItemView& item) {
  // flags, ms delta, seq delta, [num-fields], [fields], values, lp-count.
  const size_t nf = item.fields.size() / 2;
  uint64_t bytes = RedisLpIntBytes((item.deleted ? 1 : 0) | (item.same_fields ? 2 : 0));
  bytes += RedisLpIntBytes(static_cast<int64_t>(item.id.ms - master.ms));
  bytes += RedisLpIntBytes(static_cast<int64_t>(item.id.seq - master.seq));
  int64_t lp_count = static_cast<int64_t>(nf) + 3;
  if (!item.same_fields) {
    bytes += RedisLpIntBytes(static_cast<int64_t>(nf));
    lp_count += static_cast<int64_t>(nf) + 1;
  }
  for (size_t i = 0; i < nf; ++i) {
    if (!item.same_fields) bytes += RedisLpStringBytes(item.fields[i * 2]);
    bytes += RedisLpStringBytes(item.fields[i * 2 + 1]);
  }
  return bytes + RedisLpIntBytes(lp_count);
}

uint64_t StreamObject::Node::LpBytes() const {
  return kLpOverhead + RedisLpIntBytes(live) + RedisLpIntBytes(deleted) + rest_bytes;
}

std::unique_ptr<TypedObject> StreamObject::Clone() const {
  auto out = std::make_unique<StreamObject>();
  out->nodes_ = nodes_;
  out->length_ = length_;
  out->last_id_ = last_id_;
  out->first_id_ = first_id_;
  out->max_deleted_id_ = max_deleted_id_;
  out->entries_added_ = entries_added_;
  out->groups_ = groups_;
  return out;
}

size_t StreamObject::RaxNodeEstimate() const {
  // A radix tree of 16-byte keys: the head, and per key about a
  // compressed path node and a leaf (one key: the head holds the path).
  if (nodes_.size() <= 1) return nodes_.size() + 1;
  return nodes_.size() * 2 + 2;
}

StreamId StreamObject::FirstIdWithTombstones() const {
  if (nodes_.empty()) return StreamId::Max();
  StreamId id = StreamId::Max();
  Walk(nodes_.begin()->first, nodes_.begin()->second, [&id](Cursor& c) {
    id = c.id;
    return false;
  });
  return id;
}

void StreamObject::Append(const StreamId& id, std::span<const std::string> fields,
                          const Limits& limits) {
  uint64_t total_len = 0;
  for (const std::string& f : fields) total_len += f.size();
  Node* node = nullptr;
  if (!nodes_.empty()) {
    node = &std::prev(nodes_.end())->second;
    uint64_t max_bytes = limits.max_bytes;
    constexpr uint64_t kMaxLp = uint64_t{1} << 30;  // STREAM_LISTPACK_MAX_SIZE
    if (max_bytes == 0 || max_bytes > kMaxLp) max_bytes = kMaxLp;
    if (node->LpBytes() + total_len >= max_bytes ||
        (limits.max_entries > 0 && node->live + node->deleted >= limits.max_entries)) {
      node->data.shrink_to_fit();  // it is closed: give back the growth slack
      node = nullptr;
    }
  }
  const size_t numfields = fields.size() / 2;
  ItemView item;
  item.id = id;
  StreamId master;
  if (node == nullptr) {
    master = id;
    node = &nodes_[id];
    for (size_t i = 0; i < numfields; ++i) node->master_fields.push_back(fields[i * 2]);
    node->rest_bytes = RedisLpIntBytes(static_cast<int64_t>(numfields)) + RedisLpIntBytes(0);
    for (const std::string& f : node->master_fields) node->rest_bytes += RedisLpStringBytes(f);
    item.same_fields = true;
  } else {
    master = std::prev(nodes_.end())->first;
    if (node->master_fields.size() == numfields) {
      item.same_fields = true;
      for (size_t i = 0; i < numfields; ++i) {
        if (node->master_fields[i] != fields[i * 2]) {
          item.same_fields = false;
          break;
        }
      }
    }
  }
  item.fields = fields;
  node->rest_bytes += EntryLpBytes(master, item);
  EncodeItem(master, item, &node->data);
  node->last = id;
  ++node->live;
  ++length_;
  ++entries_added_;
  last_id_ = id;
  if (length_ == 1) first_id_ = id;
}

void StreamObject::MarkDeleted(NodeMap::iterator it, size_t flag_pos) {
  Node& n = it->second;
  // The flags integer stays one byte in Redis too (0/2 -> 1/3).
  n.data[flag_pos] = static_cast<char>(n.data[flag_pos] | kDeleted);
  --length_;
  if (n.live == 1) {
    nodes_.erase(it);
    return;
  }
  --n.live;
  ++n.deleted;
}

int64_t StreamObject::Trim(const TrimArgs& args) {
  if (args.strategy == TrimStrategy::kNone) return 0;
  int64_t deleted = 0;
  auto it = nodes_.begin();
  while (it != nodes_.end()) {
    if (args.strategy == TrimStrategy::kMaxLen && length_ <= args.maxlen) break;
    Node& n = it->second;
    const int64_t entries = n.live;
    if (args.limit && deleted + entries > args.limit) break;
    bool remove_node;
    if (args.strategy == TrimStrategy::kMaxLen) {
      remove_node = length_ - static_cast<uint64_t>(entries) >= args.maxlen;
    } else {
      // The node's last entry, deleted or not (lpGetEdgeStreamID).
      remove_node = n.last < args.minid;
    }
    if (remove_node) {
      length_ -= static_cast<uint64_t>(entries);
      deleted += entries;
      it = nodes_.erase(it);
      continue;
    }
    if (args.approx) break;
    int64_t from_node = 0;
    Walk(it->first, n, [&](Cursor& c) {
      const bool stop =
          args.strategy == TrimStrategy::kMaxLen ? length_ <= args.maxlen : c.id >= args.minid;
      if (stop) return false;
      if (!c.deleted) {
        n.data[c.flag_pos] = static_cast<char>(n.data[c.flag_pos] | kDeleted);
        ++from_node;
        --length_;
      }
      return true;
    });
    n.live -= from_node;
    n.deleted += from_node;
    deleted += from_node;
    // A node left with no live entry stays (Redis only frees it on XDEL).
    break;
  }
  if (length_ == 0) {
    first_id_ = StreamId{};
  } else if (deleted) {
    RefreshFirstId();
  }
  return deleted;
}

void StreamObject::RefreshFirstId() {
  StreamId id;
  if (!Edge(true, &id, nullptr)) id = StreamId::Max();
  first_id_ = id;
}

bool StreamObject::Delete(const StreamId& id) {
  auto it = nodes_.upper_bound(id);
  if (it == nodes_.begin()) return false;
  --it;
  size_t flag_pos = std::string::npos;
  Walk(it->first, it->second, [&](Cursor& c) {
    if (c.id < id) return true;
    if (c.id == id && !c.deleted) flag_pos = c.flag_pos;
    return false;
  });
  if (flag_pos == std::string::npos) return false;
  MarkDeleted(it, flag_pos);
  if (length_ == 0) {
    first_id_ = StreamId{};
  } else if (id == first_id_) {
    RefreshFirstId();
  }
  return true;
}

bool StreamObject::Find(const StreamId& id, StreamFields* out) const {
  auto it = nodes_.upper_bound(id);
  if (it == nodes_.begin()) return false;
  --it;
  bool found = false;
  Walk(it->first, it->second, [&](Cursor& c) {
    if (c.id < id) return true;
    if (c.id == id && !c.deleted) {
      found = true;
      if (out) c.Fields(out);
    }
    return false;
  });
  return found;
}

bool StreamObject::Exists(const StreamId& id) const { return Find(id, nullptr); }

void StreamObject::Range(const StreamId& start, const StreamId& end, bool rev,
                         const EntryVisitor& fn) const {
  if (start > end || nodes_.empty()) return;
  StreamFields fields;
  if (!rev) {
    auto it = nodes_.upper_bound(start);
    if (it != nodes_.begin()) --it;
    bool go = true;
    for (; go && it != nodes_.end() && it->first <= end; ++it) {
      if (it->second.last < start) continue;
      Walk(it->first, it->second, [&](Cursor& c) {
        if (c.id < start || c.deleted) return true;
        if (c.id > end) return go = false;
        c.Fields(&fields);
        return go = fn(c.id, fields);
      });
    }
    return;
  }
  auto it = nodes_.upper_bound(end);
  std::vector<size_t> offsets;
  while (it != nodes_.begin()) {
    --it;
    const Node& n = it->second;
    offsets.clear();
    Walk(it->first, n, [&](Cursor& c) {
      if (c.id > end) return false;
      if (!c.deleted && c.id >= start) offsets.push_back(c.flag_pos);
      return true;
    });
    for (auto o = offsets.rbegin(); o != offsets.rend(); ++o) {
      Cursor c{it->first, n, *o};
      c.Next();
      c.Fields(&fields);
      if (!fn(c.id, fields)) return;
    }
    if (it->first <= start) return;
  }
}

bool StreamObject::Edge(bool first, StreamId* id, StreamFields* fields) const {
  bool found = false;
  Range(StreamId{}, StreamId::Max(), !first, [&](const StreamId& i, const StreamFields& f) {
    *id = i;
    if (fields) *fields = f;
    found = true;
    return false;
  });
  return found;
}

bool StreamObject::RangeHasTombstones(const StreamId* start, const StreamId* end) const {
  if (length_ == 0 || max_deleted_id_.IsZero()) return false;
  if (first_id_ > max_deleted_id_) return false;
  const StreamId s = start ? *start : StreamId{};
  const StreamId e = end ? *end : StreamId::Max();
  return s <= max_deleted_id_ && max_deleted_id_ <= e;
}

int64_t StreamObject::EstimateDistanceFromFirstEverEntry(const StreamId& id) const {
  if (entries_added_ == 0) return 0;
  if (length_ == 0 && id <= last_id_) return static_cast<int64_t>(entries_added_);
  if (id == last_id_) return static_cast<int64_t>(entries_added_);
  if (id > last_id_) return kInvalidEntriesRead;
  if (max_deleted_id_.IsZero() || max_deleted_id_ < first_id_) {
    if (id < first_id_) return static_cast<int64_t>(entries_added_ - length_);
    if (id == first_id_) return static_cast<int64_t>(entries_added_ - length_ + 1);
  }
  return kInvalidEntriesRead;
}

std::optional<int64_t> StreamObject::GroupLag(const StreamGroup& g) const {
  if (entries_added_ == 0) return 0;
  if (g.entries_read != kInvalidEntriesRead && !RangeHasTombstones(&g.last_id, nullptr)) {
    return static_cast<int64_t>(entries_added_) - g.entries_read;
  }
  const int64_t read = EstimateDistanceFromFirstEverEntry(g.last_id);
  if (read == kInvalidEntriesRead) return std::nullopt;
  return static_cast<int64_t>(entries_added_) - read;
}

StreamGroup* StreamObject::FindGroup(std::string_view name) {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : &it->second;
}

StreamGroup* StreamObject::CreateGroup(std::string_view name, StreamId last_id,
                                       int64_t entries_read) {
  auto [it, inserted] = groups_.try_emplace(std::string(name));
  if (!inserted) return nullptr;
  it->second.last_id = last_id;
  it->second.entries_read = entries_read;
  return &it->second;
}

size_t StreamObject::DeleteConsumer(StreamGroup& g, std::string_view name) {
  auto it = g.consumers.find(name);
  if (it == g.consumers.end()) return 0;
  const size_t pending = it->second.pel.size();
  for (const StreamId& id : it->second.pel) g.pel.erase(id);
  g.consumers.erase(it);
  return pending;
}

void StreamObject::LoadNode(const StreamId& master, StreamFields master_fields,
                            std::vector<Item> items) {
  Node& n = nodes_[master];
  n.master_fields = std::move(master_fields);
  const size_t nmaster = n.master_fields.size();
  n.rest_bytes = RedisLpIntBytes(static_cast<int64_t>(nmaster)) + RedisLpIntBytes(0);
  for (const std::string& f : n.master_fields) n.rest_bytes += RedisLpStringBytes(f);
  for (Item& item : items) {
    const size_t nf = item.fields.size() / 2;
    item.same_fields = nf == nmaster;
    for (size_t i = 0; item.same_fields && i < nf; ++i) {
      item.same_fields = item.fields[i * 2] == n.master_fields[i];
    }
    n.rest_bytes += EntryLpBytes(master, ViewOf(item));
    (item.deleted ? n.deleted : n.live) += 1;
    EncodeItem(master, ViewOf(item), &n.data);
    n.last = item.id;
  }
}

void StreamObject::SetLoaded(uint64_t length, StreamId last_id, StreamId first_id,
                             StreamId max_deleted_id, uint64_t entries_added) {
  length_ = length;
  last_id_ = last_id;
  first_id_ = first_id;
  max_deleted_id_ = max_deleted_id;
  entries_added_ = entries_added;
}

size_t StreamObject::HeapBytes() const {
  size_t total = 0;
  for (const auto& [id, n] : nodes_) {
    total += sizeof(Node) + 48 + n.data.capacity();
    for (const std::string& f : n.master_fields) total += sizeof(std::string) + f.capacity();
  }
  for (const auto& [name, g] : groups_) {
    total += 96 + name.size() + g.pel.size() * 96;
    for (const auto& [cname, c] : g.consumers) total += 96 + cname.size() + c.pel.size() * 48;
  }
  return total;
}

namespace {

// What a std::map / std::set node costs besides its value: the red-black
// tree's links and colour, rounded as malloc rounds a small block.
constexpr size_t kTreeNodeBytes = 48;

size_t StringHeapBytes(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;  // beyond the inline buffer
}

}  // namespace

size_t StreamObject::MemoryUsage(size_t samples) const {
  size_t bytes = sizeof(*this);
  size_t seen = 0, node_bytes = 0;
  for (const auto& [master, node] : nodes_) {
    if (samples != 0 && seen == samples) break;
    node_bytes += kTreeNodeBytes + sizeof(StreamId) + sizeof(Node) + StringHeapBytes(node.data) +
                  node.master_fields.capacity() * sizeof(std::string);
    for (const std::string& f : node.master_fields) node_bytes += StringHeapBytes(f);
    ++seen;
  }
  if (seen != 0) bytes += (node_bytes * nodes_.size() + seen / 2) / seen;
  for (const auto& [name, group] : groups_) {
    bytes += kTreeNodeBytes + sizeof(std::string) + sizeof(StreamGroup) + StringHeapBytes(name);
    for (const auto& [id, nack] : group.pel) {
      bytes +=
          kTreeNodeBytes + sizeof(StreamId) + sizeof(StreamNack) + StringHeapBytes(nack.consumer);
    }
    for (const auto& [consumer, c] : group.consumers) {
      bytes += kTreeNodeBytes + sizeof(std::string) + sizeof(StreamConsumer) +
               StringHeapBytes(consumer) + c.pel.size() * (kTreeNodeBytes + sizeof(StreamId));
    }
  }
  return bytes;
}

}  // namespace shardnode::node
