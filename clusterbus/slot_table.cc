#include "clusterbus/slot_table.h"

#include <utility>

#include "clusterbus/cluster_state.h"

namespace shardnode::clusterbus {

std::shared_ptr<const SlotTable> SlotTable::Build(const ClusterState& state,
                                                  const SlotTable* previous) {
  static_assert(kChunkSlots == ClusterState::kSlotChunk,
                "a table chunk is a chunk of the state's routing versions");
  // The nodes behind previous's targets, in order; any of them gone (deleted
  // or renamed) means a build from scratch.
  std::vector<const ClusterNode*> seen;
  if (previous != nullptr) {
    for (const std::string& id : previous->target_ids_) {
      const ClusterNode* node = state.FindNode(id);
      if (node == nullptr) {
        previous = nullptr;
        seen.clear();
        break;
      }
      seen.push_back(node);
    }
  }
  std::shared_ptr<SlotTable> t(previous ? new SlotTable(*previous) : new SlotTable());
  const ClusterNode& me = state.myself();
  t->ok_ = state.ok();
  t->myself_is_replica_ = me.is_replica();
  t->routing_version_ = state.routing_version();
  // Addresses are written directly (no version): every kept target is
  // re-read.
  for (size_t i = 0; i < seen.size(); ++i) {
    t->targets_[i] = Target{state.Endpoint(*seen[i]), seen[i]->port, seen[i]->pport};
  }
  // Nodes get an index on first sight; runs of slots share an owner, so the
  // last lookup is remembered.
  const ClusterNode* last = nullptr;
  int16_t last_index = kNone;
  auto index_of = [&](const ClusterNode* node) -> int16_t {
    if (node == last) return last_index;
    int16_t i = 0;
    while (i < static_cast<int16_t>(seen.size()) && seen[i] != node) ++i;
    if (i == static_cast<int16_t>(seen.size())) {
      seen.push_back(node);
      t->targets_.push_back(Target{state.Endpoint(*node), node->port, node->pport});
      t->target_ids_.push_back(node->id);
    }
    last = node;
    last_index = i;
    return i;
  };
  for (int c = 0; c < kNumChunks; ++c) {
    if (previous && state.slot_chunk_version(c) <= previous->routing_version_) continue;
    auto chunk = std::make_shared<Chunk>();
    for (int i = 0; i < kChunkSlots; ++i) {
      const int s = c * kChunkSlots + i;
      const ClusterNode* owner = state.SlotOwner(s);
      chunk->owner[i] = owner ? index_of(owner) : kNone;
      const ClusterNode* to = state.MigratingTo(s);
      chunk->migrating[i] = to ? index_of(to) : kNone;
      chunk->importing.set(i, state.ImportingFrom(s) != nullptr);
    }
    t->chunks_[c] = std::move(chunk);
  }
  t->myself_ = kNone;
  t->my_primary_ = kNone;
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i] == &me) t->myself_ = static_cast<int16_t>(i);
    if (me.is_replica() && me.primary && seen[i] == me.primary) {
      t->my_primary_ = static_cast<int16_t>(i);
    }
  }
  return t;
}

bool SlotTable::IsCurrent(const ClusterState& state) const {
  if (state.routing_version() != routing_version_ || state.ok() != ok_) return false;
  const ClusterNode& me = state.myself();
  if (me.is_replica() != myself_is_replica_) return false;
  // Which target is my primary, as Build would find it.
  int16_t my_primary = kNone;
  for (size_t i = 0; i < target_ids_.size(); ++i) {
    const ClusterNode* node = state.FindNode(target_ids_[i]);
    // Deletions and renames change the version: a missing node is a bug
    // elsewhere, answered by rebuilding.
    if (node == nullptr) return false;
    if (node->port != targets_[i].port || node->pport != targets_[i].pport ||
        state.Endpoint(*node) != targets_[i].endpoint) {
      return false;
    }
    if (me.is_replica() && me.primary == node) my_primary = static_cast<int16_t>(i);
  }
  return my_primary == my_primary_;
}

bool SlotTable::operator==(const SlotTable& o) const {
  if (ok_ != o.ok_ || myself_is_replica_ != o.myself_is_replica_ || myself_ != o.myself_ ||
      my_primary_ != o.my_primary_ || targets_ != o.targets_) {
    return false;
  }
  for (int c = 0; c < kNumChunks; ++c) {
    if (chunks_[c] != o.chunks_[c] && !(*chunks_[c] == *o.chunks_[c])) return false;
  }
  return true;
}

bool SlotTableBox::Publish(std::shared_ptr<const SlotTable> table) {
  std::shared_ptr<const SlotTable> current = Load();
  if (current && *current == *table) {
    table_.store(std::move(table), std::memory_order_release);
    return false;
  }
  table_.store(std::move(table), std::memory_order_release);
  version_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

}  // namespace shardnode::clusterbus
