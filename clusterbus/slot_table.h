// SlotTable: what key routing needs of the cluster state, as an immutable
// snapshot: for every slot its owner (and whether that is myself or my
// primary), the node it is migrating to and whether it is importing, with
// each target's client endpoint (MOVED / ASK), plus the cluster state
// (ok / fail) and my role. The control loop builds it from the ClusterState
// (Build) and publishes it through a SlotTableBox whenever it differs from
// the last one; routing (routing.h) reads only this, so that shard threads
// can route without touching the ClusterState or taking a lock. A reshard
// changes the state a slot at a time, thousands of times, so the control
// loop first asks the published table whether it still matches the state
// (IsCurrent, a few comparisons) and, when it does not, builds the new one
// from it: a copy with only the chunks of slots changed since re-read
// (ClusterState::slot_chunk_version), not a walk of every slot.
//
// Loop: Build on the control loop (the ClusterState's); a built table is
// immutable and may be read from any thread. SlotTableBox: Publish from the
// control loop, Load from any thread.
#pragma once

#include <array>
#include <atomic>
#include <bitset>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "slots/hash_slot.h"

namespace shardnode::clusterbus {

class ClusterState;

class SlotTable {
 public:
  // A node that owns a slot or that a slot migrates to, as clients reach it.
  struct Target {
    std::string endpoint;  // ClusterState::Endpoint: ip, hostname, "?" or ""
    int port = 0;          // client port
    int pport = 0;         // plain client port under tls-cluster, else 0
    bool operator==(const Target&) const = default;
  };
  static constexpr int16_t kNone = -1;

  // The snapshot of `state` now. With `previous` (a table built from this
  // same ClusterState), it is the same table, made by copying `previous`
  // and re-reading only the slot chunks changed since it was built; a
  // target that no longer owns or receives a slot may stay in the target
  // list (unused) until a node is deleted or renamed.
  static std::shared_ptr<const SlotTable> Build(const ClusterState& state,
                                                const SlotTable* previous = nullptr);

  // True when Build(state) now would give a table equal to this one: the
  // state's routing_version() is the one this table was built from, and
  // ok(), my role, my primary and each target's endpoint and port are
  // unchanged. (False may still mean an equal table.) Costs a few
  // comparisons per target, not a walk of the slots.
  // REQUIRES: control loop (reads the ClusterState).
  bool IsCurrent(const ClusterState& state) const;

  bool ok() const { return ok_; }
  bool myself_is_replica() const { return myself_is_replica_; }
  // Index of the owner of `slot` in targets, or kNone when unbound.
  int16_t owner(int slot) const { return chunk(slot).owner[slot % kChunkSlots]; }
  bool owned_by_myself(int slot) const {
    const int16_t o = owner(slot);
    return o != kNone && o == myself_;
  }
  // True when myself is a replica and `slot` belongs to its primary.
  bool owned_by_my_primary(int slot) const {
    const int16_t o = owner(slot);
    return o != kNone && o == my_primary_;
  }
  // The node `slot` is migrating to, or nullptr.
  const Target* migrating_to(int slot) const {
    const int16_t m = chunk(slot).migrating[slot % kChunkSlots];
    return m == kNone ? nullptr : &targets_[m];
  }
  // True when `slot` is migrating to myself (CLUSTER SETSLOT MIGRATING <my id>).
  bool migrating_to_myself(int slot) const {
    const int16_t m = chunk(slot).migrating[slot % kChunkSlots];
    return m != kNone && m == myself_;
  }
  bool importing(int slot) const { return chunk(slot).importing.test(slot % kChunkSlots); }
  // REQUIRES: index is an owner() or migration index (not kNone).
  const Target& target(int16_t index) const { return targets_[index]; }

  // Same routing decisions for every input (the publisher republishes only
  // when this is false against the last table).
  bool operator==(const SlotTable& other) const;

 private:
  // The slots come in chunks of kChunkSlots (ClusterState::kSlotChunk),
  // shared between a table and the one built from it while unchanged: a
  // SETSLOT makes one new chunk, not a copy of every slot.
  static constexpr int kChunkSlots = 256;
  static constexpr int kNumChunks = slots::kNumSlots / kChunkSlots;
  struct Chunk {
    std::array<int16_t, kChunkSlots> owner;
    std::array<int16_t, kChunkSlots> migrating;
    std::bitset<kChunkSlots> importing;
    bool operator==(const Chunk&) const = default;
  };

  SlotTable() = default;
  SlotTable(const SlotTable&) = default;
  const Chunk& chunk(int slot) const { return *chunks_[slot / kChunkSlots]; }

  std::vector<Target> targets_;
  std::array<std::shared_ptr<const Chunk>, kNumChunks> chunks_;
  int16_t myself_ = kNone;      // myself in targets_, if it owns or receives a slot
  int16_t my_primary_ = kNone;  // my primary in targets_ (replicas only)
  bool ok_ = false;
  bool myself_is_replica_ = false;
  // For IsCurrent only (not part of the routing decisions, nor of ==).
  uint64_t routing_version_ = 0;
  std::vector<std::string> target_ids_;  // node id of each targets_ entry
};

// The published table: one writer (the control loop) swaps it atomically;
// readers load it, or keep a SlotTableReader that reloads only when a newer
// table was published.
class SlotTableBox {
 public:
  // Publishes `table` if it differs from the current one; returns whether
  // it did. An equal table still replaces the one Load() returns (so that it
  // carries the newest routing_version for IsCurrent), but readers are not
  // told (version() stays). REQUIRES: table != nullptr.
  bool Publish(std::shared_ptr<const SlotTable> table);
  // The current table (nullptr until the first Publish).
  std::shared_ptr<const SlotTable> Load() const { return table_.load(std::memory_order_acquire); }
  // Counts publications.
  uint64_t version() const { return version_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::shared_ptr<const SlotTable>> table_;
  std::atomic<uint64_t> version_{0};
};

// One reading thread's cached view of a SlotTableBox: Get() costs one
// atomic load while nothing new was published. REQUIRES: the box outlives
// the reader. Not thread-safe itself (one per thread).
class SlotTableReader {
 public:
  explicit SlotTableReader(const SlotTableBox& box) : box_(box) {}
  // The latest published table, or nullptr when none was. Valid until the
  // next Get() on this reader.
  const SlotTable* Get() {
    const uint64_t v = box_.version();
    if (v != seen_) {
      cached_ = box_.Load();
      seen_ = v;
    }
    return cached_.get();
  }

 private:
  const SlotTableBox& box_;
  uint64_t seen_ = 0;
  std::shared_ptr<const SlotTable> cached_;
};

}  // namespace shardnode::clusterbus
