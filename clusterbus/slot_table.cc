#include "clusterbus/slot_table.h"

#include <utility>

#include "clusterbus/cluster_state.h"

namespace shardnode::clusterbus {

std::shared_ptr<const SlotTable> SlotTable::Build(const ClusterState& state) {
  std::shared_ptr<SlotTable> t(new SlotTable());
  const ClusterNode& me = state.myself();
  t->ok_ = state.ok();
  t->myself_is_replica_ = me.is_replica();
  // Nodes get an index on first sight; runs of slots share an owner, so the
  // last lookup is remembered.
  std::vector<const ClusterNode*> seen;
  const ClusterNode* last = nullptr;
  int16_t last_index = kNone;
  auto index_of = [&](const ClusterNode* node) -> int16_t {
    if (node == last) return last_index;
    int16_t i = 0;
    while (i < static_cast<int16_t>(seen.size()) && seen[i] != node) ++i;
    if (i == static_cast<int16_t>(seen.size())) {
      seen.push_back(node);
      t->targets_.push_back(Target{state.Endpoint(*node), node->port});
    }
    last = node;
    last_index = i;
    return i;
  };
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (const ClusterNode* owner = state.SlotOwner(s)) t->owner_[s] = index_of(owner);
    if (const ClusterNode* to = state.MigratingTo(s)) t->migrating_[s] = index_of(to);
    if (state.ImportingFrom(s)) t->importing_.set(s);
  }
  for (size_t i = 0; i < seen.size(); ++i) {
    if (seen[i] == &me) t->myself_ = static_cast<int16_t>(i);
    if (me.is_replica() && me.primary && seen[i] == me.primary) {
      t->my_primary_ = static_cast<int16_t>(i);
    }
  }
  return t;
}

bool SlotTable::operator==(const SlotTable& o) const {
  return ok_ == o.ok_ && myself_is_replica_ == o.myself_is_replica_ && myself_ == o.myself_ &&
         my_primary_ == o.my_primary_ && targets_ == o.targets_ && importing_ == o.importing_ &&
         owner_ == o.owner_ && migrating_ == o.migrating_;
}

bool SlotTableBox::Publish(std::shared_ptr<const SlotTable> table) {
  std::shared_ptr<const SlotTable> current = Load();
  if (current && *current == *table) return false;
  table_.store(std::move(table), std::memory_order_release);
  version_.fetch_add(1, std::memory_order_acq_rel);
  return true;
}

}  // namespace shardnode::clusterbus
