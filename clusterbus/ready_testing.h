// Test helper: a Ready folded into one summary (the state's effects) plus
// the link actions in order, so that tests can assert on what one step
// decided. Used by the clusterbus unit tests only.
#pragma once

#include <string>
#include <vector>

#include "clusterbus/ready.h"

namespace shardnode::clusterbus {

struct ReadySummary {
  std::vector<ReadyItem> link_actions;  // Connect/Send/Close/Deliver, in order
  std::vector<LogLine> logs;
  bool save_config = false;
  bool fsync_config = false;
  bool flush_data = false;
  std::vector<int> delete_keys_in_slots;
  std::vector<int> unsubscribe_shard_slots;
  int64_t pause_writes_until_ms = -1;  // -1: none asked
  bool stop_replication = false;
  std::string replicate_primary;
  bool state_changed = false;
};

// True for the bus engine's link actions (Connect, Send, Close, Deliver).
inline bool IsLinkAction(const ReadyItem& item) {
  return std::holds_alternative<ConnectAction>(item) || std::holds_alternative<SendAction>(item) ||
         std::holds_alternative<CloseAction>(item) || std::holds_alternative<DeliverAction>(item);
}

inline ReadySummary Summarize(Ready ready) {
  ReadySummary s;
  for (ReadyItem& item : ready.items) {
    std::visit(Overloaded{
                   [&](ConnectAction& a) { s.link_actions.emplace_back(std::move(a)); },
                   [&](SendAction& a) { s.link_actions.emplace_back(std::move(a)); },
                   [&](CloseAction& a) { s.link_actions.emplace_back(std::move(a)); },
                   [&](DeliverAction& a) { s.link_actions.emplace_back(std::move(a)); },
                   [&](LogLine& l) { s.logs.push_back(std::move(l)); },
                   [&](SaveConfig& c) {
                     s.save_config = true;
                     s.fsync_config = s.fsync_config || c.fsync;
                   },
                   [&](FlushData&) { s.flush_data = true; },
                   [&](DeleteKeysInSlots& d) {
                     s.delete_keys_in_slots.insert(s.delete_keys_in_slots.end(), d.slots.begin(),
                                                   d.slots.end());
                   },
                   [&](UnsubscribeShardSlots& u) {
                     s.unsubscribe_shard_slots.insert(s.unsubscribe_shard_slots.end(),
                                                      u.slots.begin(), u.slots.end());
                   },
                   [&](PauseWrites& p) { s.pause_writes_until_ms = p.until_ms; },
                   [&](StopReplication&) { s.stop_replication = true; },
                   [&](ReplicatePrimary& r) { s.replicate_primary = r.node_id; },
                   [&](ClusterStateChanged&) { s.state_changed = true; },
               },
               item);
  }
  return s;
}

}  // namespace shardnode::clusterbus
