// The split of the hash slots over keyspace shards: shard i of N holds the
// slots s with s % N == i. The one place the split is written (the Server,
// each Shard view, the blocking index, WATCH and each Db's slot index use
// it).
#pragma once

#include <string_view>

#include "slots/hash_slot.h"

namespace shardnode::node {

// The keyspace shard of a hash slot, and of a key, among `num_shards`.
inline int KeyspaceShardOfSlot(int slot, int num_shards) { return slot % num_shards; }
inline int KeyspaceShardOfKey(std::string_view key, int num_shards) {
  return num_shards == 1 ? 0 : KeyspaceShardOfSlot(slots::KeyHashSlot(key), num_shards);
}

// The slots one keyspace shard holds: shard `index` of `count`.
struct SlotShare {
  int index = 0;
  int count = 1;

  bool Holds(int slot) const { return KeyspaceShardOfSlot(slot, count) == index; }
  // How many slots it holds; they are numbered 0..SlotsHeld()-1 in slot
  // order (Position / SlotAt).
  int SlotsHeld() const { return (slots::kNumSlots - index + count - 1) / count; }
  // REQUIRES: Holds(slot).
  int Position(int slot) const { return count == 1 ? slot : slot / count; }
  int SlotAt(int position) const { return position * count + index; }
  // The first slot held at or after `slot` (kNumSlots when none).
  int NextHeld(int slot) const {
    if (count == 1) return slot;
    const int r = slot % count;
    const int next = slot + (index - r + count) % count;
    return next < slots::kNumSlots ? next : slots::kNumSlots;
  }
};

}  // namespace shardnode::node
