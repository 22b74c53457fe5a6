// StreamObject: the value of a stream key (XADD and friends), with its
// consumer groups.
//
// Entries are kept in nodes as Redis 7.0.15 keeps them in listpacks under a
// radix tree: a node is keyed by the id of the first entry added to it (its
// "master id"), holds entries in id order in one byte buffer (each entry:
// flags, its id as varint deltas from the master id, then its values, and
// its field names only when they differ from the node's first entry's), and
// deleted entries stay in their node as tombstones until the whole node goes (a node whose last
// live entry is deleted is dropped, as Redis frees the listpack). A node closes when adding an
// entry would make it reach stream-node-max-bytes, counted as the size Redis's listpack would have
// (RedisLpBytes), or when it holds stream-node-max-entries entries, live and deleted; so that
// XADD/XTRIM with
// "~" trim at the same node boundaries as Redis and XINFO reports the same
// radix-tree-keys.
//
// Consumer groups, their consumers and the pending entries lists (PEL) are
// ordered maps, as Redis's radix trees order them (names bytewise, ids
// numerically).
//
// Pure data (time comes in as arguments); not thread-safe; owned by the Value
// of its key.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "node/keyspace/value.h"

namespace shardnode::node {

struct StreamId {
  uint64_t ms = 0;
  uint64_t seq = 0;

  friend auto operator<=>(const StreamId&, const StreamId&) = default;
  friend bool operator==(const StreamId&, const StreamId&) = default;
  static constexpr StreamId Max() { return {UINT64_MAX, UINT64_MAX}; }
  bool IsZero() const { return ms == 0 && seq == 0; }
  // The next / previous id; false (and *this unchanged) at the ends.
  bool Incr();
  bool Decr();
  // "<ms>-<seq>".
  std::string ToString() const;
  // The longest text of an id: two 20-digit numbers and the dash.
  static constexpr size_t kMaxText = 41;
  // Writes "<ms>-<seq>" at `buf` (kMaxText bytes at least); returns its length.
  size_t Format(char* buf) const;
};

// One entry's fields and values, alternating.
using StreamFields = std::vector<std::string>;

struct StreamNack {
  int64_t delivery_time = 0;  // ms
  uint64_t delivery_count = 1;
  std::string consumer;
};

struct StreamConsumer {
  int64_t seen_time = 0;  // ms
  std::set<StreamId> pel;
};

struct StreamGroup {
  StreamId last_id;
  // Logical reads counter; kInvalidEntriesRead when unknown.
  int64_t entries_read = 0;
  std::map<StreamId, StreamNack> pel;
  std::map<std::string, StreamConsumer, std::less<>> consumers;
};

class StreamObject : public TypedObject {
 public:
  static constexpr int64_t kInvalidEntriesRead = -1;

  // Node limits (stream-node-max-bytes, stream-node-max-entries), read at
  // each Append.
  struct Limits {
    uint64_t max_bytes = 4096;
    int64_t max_entries = 100;
  };
  enum class TrimStrategy { kNone, kMaxLen, kMinId };
  struct TrimArgs {
    TrimStrategy strategy = TrimStrategy::kNone;
    bool approx = false;
    int64_t limit = 0;  // 0: no limit
    uint64_t maxlen = 0;
    StreamId minid;
  };
  // `fields` is valid during the call only.
  using EntryVisitor = std::function<bool(const StreamId& id, const StreamFields& fields)>;
  // One entry of a node, deleted ones included (persistence).
  struct Item {
    StreamId id;
    bool deleted = false;
    bool same_fields = false;
    StreamFields fields;
  };

  std::string_view EncodingName() const override { return "stream"; }
  // A deep copy (COPY).
  std::unique_ptr<TypedObject> Clone() const override;
  // MEMORY USAGE: the nodes (up to `samples` of them, scaled to all; 0:
  // all) and the consumer groups with their pending entries and consumers.
  size_t MemoryUsage(size_t samples) const override;

  uint64_t Length() const { return length_; }
  const StreamId& last_id() const { return last_id_; }
  const StreamId& first_id() const { return first_id_; }
  // The id of the first entry, deleted or not; Max() when there is none
  // (what an approximate MINID trim propagates).
  StreamId FirstIdWithTombstones() const;
  const StreamId& max_deleted_id() const { return max_deleted_id_; }
  uint64_t entries_added() const { return entries_added_; }
  size_t NodeCount() const { return nodes_.size(); }
  // An estimate of the radix tree's internal node count (XINFO).
  size_t RaxNodeEstimate() const;
  void set_last_id(StreamId id) { last_id_ = id; }
  void set_max_deleted_id(StreamId id) { max_deleted_id_ = id; }
  void set_entries_added(uint64_t n) { entries_added_ = n; }

  // Adds an entry with id `id`. REQUIRES: id > last_id(), fields non-empty
  // and even in number.
  void Append(const StreamId& id, std::span<const std::string> fields, const Limits& limits);
  // Trims from the head as Redis's streamTrim does; returns entries removed.
  int64_t Trim(const TrimArgs& args);
  // Deletes the live entry `id`; false when there is none. Keeps first_id()
  // (the first live entry) current.
  bool Delete(const StreamId& id);
  // Whether a live entry `id` exists.
  bool Exists(const StreamId& id) const;
  // Calls fn for each live entry with start <= id <= end, ascending (or
  // descending when `rev`), until fn returns false.
  void Range(const StreamId& start, const StreamId& end, bool rev, const EntryVisitor& fn) const;
  // Copies the fields of the live entry `id` into *out (when not null);
  // false when there is no such entry.
  bool Find(const StreamId& id, StreamFields* out) const;
  // First (or last) live entry, its fields copied into *fields when not
  // null; false when empty.
  bool Edge(bool first, StreamId* id, StreamFields* fields) const;

  // Lag support (Redis's streamRangeHasTombstones and
  // streamEstimateDistanceFromFirstEverEntry).
  bool RangeHasTombstones(const StreamId* start, const StreamId* end) const;
  int64_t EstimateDistanceFromFirstEverEntry(const StreamId& id) const;
  // The lag of `g` or nullopt when it is not known.
  std::optional<int64_t> GroupLag(const StreamGroup& g) const;

  // Consumer groups.
  std::map<std::string, StreamGroup, std::less<>>& groups() { return groups_; }
  const std::map<std::string, StreamGroup, std::less<>>& groups() const { return groups_; }
  StreamGroup* FindGroup(std::string_view name);
  // nullptr when a group of that name exists.
  StreamGroup* CreateGroup(std::string_view name, StreamId last_id, int64_t entries_read);
  // Removes consumer `name` and its pending entries; returns how many.
  static size_t DeleteConsumer(StreamGroup& g, std::string_view name);

  // Persistence: calls fn(master id, master fields, items) for each node
  // in order.
  template <typename Fn>
  void ForEachNode(Fn&& fn) const {
    std::vector<Item> items;
    for (const auto& [master, n] : nodes_) {
      DecodeNode(master, n, &items);
      fn(master, n.master_fields, items);
    }
  }
  // Adds a node as loaded (after the last one), then, once all are in,
  // SetLoaded fixes the metadata. REQUIRES: items non-empty, ascending and
  // after every node added before.
  void LoadNode(const StreamId& master, StreamFields master_fields, std::vector<Item> items);
  void SetLoaded(uint64_t length, StreamId last_id, StreamId first_id, StreamId max_deleted_id,
                 uint64_t entries_added);

  // Bytes owned (MEMORY USAGE estimate).
  size_t HeapBytes() const;

 private:
  struct Node {
    std::string data;            // the entries, encoded (stream_object.cc)
    StreamFields master_fields;  // the field names of the first entry
    StreamId last;               // the id of its last entry, deleted or not
    int64_t live = 0;
    int64_t deleted = 0;
    // Redis's listpack bytes apart from the two counters (count, deleted).
    uint64_t rest_bytes = 0;
    uint64_t LpBytes() const;
  };
  using NodeMap = std::map<StreamId, Node>;

  // An entry as EntryLpBytes and EncodeItem read it (an Item's, or a
  // command's arguments in place).
  struct ItemView {
    StreamId id;
    bool deleted = false;
    bool same_fields = false;
    std::span<const std::string> fields;
  };
  static ItemView ViewOf(const Item& item) {
    return {item.id, item.deleted, item.same_fields, item.fields};
  }
  // The bytes Redis's listpack spends on `item` in a node of master id
  // `master`.
  static uint64_t EntryLpBytes(const StreamId& master, const ItemView& item);
  // One entry's header as decoded from a node's data.
  struct Cursor;
  static void EncodeItem(const StreamId& master, const ItemView& item, std::string* out);
  static void DecodeNode(const StreamId& master, const Node& n, std::vector<Item>* out);
  // Calls fn(cursor) for each entry of `n` in order until it returns false.
  template <typename Fn>
  static void Walk(const StreamId& master, const Node& n, Fn&& fn);
  // Marks the entry whose flags byte is at `flag_pos` deleted (dropping the
  // node when it was its last live entry).
  void MarkDeleted(NodeMap::iterator it, size_t flag_pos);
  void RefreshFirstId();

  NodeMap nodes_;
  uint64_t length_ = 0;
  StreamId last_id_;
  StreamId first_id_;
  StreamId max_deleted_id_;
  uint64_t entries_added_ = 0;
  std::map<std::string, StreamGroup, std::less<>> groups_;
};

// The size in bytes of one listpack element holding `s` (an integer when it
// is one, as lpAppend stores it) or the integer `v`.
uint64_t RedisLpStringBytes(std::string_view s);
uint64_t RedisLpIntBytes(int64_t v);

}  // namespace shardnode::node
