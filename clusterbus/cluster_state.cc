#include "clusterbus/cluster_state.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace shardnode::clusterbus {
namespace {

using slots::kNumSlots;
using slots::SlotRange;

constexpr int64_t kForgetBanMs = 60 * 1000;
constexpr int64_t kMinRejoinDelayMs = 500;
constexpr int64_t kMaxRejoinDelayMs = 5000;
// A primary must stay orphaned this long before a replica migrates to it,
// so that its own replicas can announce a failover first.
constexpr int64_t kReplicaMigrationDelayMs = 5000;

// Printed flag names in their fixed order.
constexpr std::pair<uint16_t, const char*> kFlagNames[] = {
    {kFlagMyself, "myself"}, {kFlagPrimary, "master"},
    {kFlagReplica, "slave"}, {kFlagPfail, "fail?"},
    {kFlagFail, "fail"},     {kFlagHandshake, "handshake"},
    {kFlagNoAddr, "noaddr"}, {kFlagNoFailover, "nofailover"},
};

constexpr const char* kMessageTypeNames[kNumMessageTypes] = {
    "ping",     "pong",   "meet",    "fail",   "publish",     "auth-req",
    "auth-ack", "update", "mfstart", "module", "publishshard"};

absl::Status Err(std::string text) { return absl::FailedPreconditionError(std::move(text)); }

// Replicas of `primary` not flagged FAIL.
int CountWorkingReplicas(const ClusterNode& primary) {
  int n = 0;
  for (const ClusterNode* r : primary.replicas) n += r->failed() ? 0 : 1;
  return n;
}

}  // namespace

std::string FlagsText(uint16_t flags) {
  std::string out;
  for (const auto& [bit, name] : kFlagNames) {
    if (!(flags & bit)) continue;
    if (!out.empty()) out.push_back(',');
    out += name;
  }
  return out.empty() ? "noflags" : out;
}

bool IsValidNodeId(std::string_view id) {
  if (id.size() != kNodeIdLen) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

ClusterState::ClusterState(std::string my_id, ClusterOptions options) : options_(options) {
  myself_ = &AddNode(std::move(my_id), kFlagMyself | kFlagPrimary, 0);
}

// ---- Node table ---------------------------------------------------------

ClusterNode* ClusterState::FindNode(std::string_view id) {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

const ClusterNode* ClusterState::FindNode(std::string_view id) const {
  auto it = by_id_.find(id);
  return it == by_id_.end() ? nullptr : it->second;
}

ClusterNode& ClusterState::AddNode(std::string id, uint16_t flags, int64_t now_ms) {
  auto node = std::make_unique<ClusterNode>();
  node->id = id;
  node->flags = flags;
  node->ctime_ms = now_ms;
  ClusterNode& ref = *node;
  auto [it, inserted] = nodes_.emplace(std::move(id), std::move(node));
  (void)it;
  if (!inserted) std::abort();  // REQUIRES violated: a bug, not an error.
  by_id_.emplace(ref.id, &ref);
  return ref;
}

void ClusterState::RemoveFromPrimary(ClusterNode& replica) {
  if (!replica.primary) return;
  auto& list = replica.primary->replicas;
  list.erase(std::remove(list.begin(), list.end(), &replica), list.end());
  replica.primary = nullptr;
}

void ClusterState::SetPrimary(ClusterNode& replica, ClusterNode* primary) {
  if (replica.primary == primary) return;
  RemoveFromPrimary(replica);
  replica.primary = primary;
  if (!primary) return;
  primary->replicas.push_back(&replica);
  // A primary that ever had replicas is a replica migration target.
  primary->flags |= kFlagMigrateTo;
}

void ClusterState::DeleteNode(std::string_view id) {
  auto it = nodes_.find(id);
  if (it == nodes_.end()) return;
  ClusterNode* node = it->second.get();
  if (node == myself_) std::abort();
  for (int s = 0; s < kNumSlots; ++s) {
    if (owners_[s] == node) UnbindSlot(s);
    if (migrating_to_[s] == node) migrating_to_.Set(s, nullptr);
    if (importing_from_[s] == node) importing_from_.Set(s, nullptr);
  }
  for (auto& [other_id, other] : nodes_) other->fail_reports.erase(node->id);
  RemoveFromPrimary(*node);
  for (ClusterNode* replica : node->replicas) replica->primary = nullptr;
  node->replicas.clear();
  by_id_.erase(node->id);
  nodes_.erase(it);
  ++table_generation_;
  ++routing_version_.all;
}

void ClusterState::RenameMyself(std::string new_id) { RenameNode(*myself_, std::move(new_id)); }

void ClusterState::RenameNode(ClusterNode& node, std::string new_id) {
  if (node.id == new_id) return;
  if (nodes_.count(new_id)) std::abort();  // REQUIRES violated.
  auto it = nodes_.find(node.id);
  std::unique_ptr<ClusterNode> owned = std::move(it->second);
  by_id_.erase(owned->id);
  nodes_.erase(it);
  // Failure reports are keyed by the reporter's id.
  for (auto& [other_id, other] : nodes_) {
    auto report = other->fail_reports.find(owned->id);
    if (report == other->fail_reports.end()) continue;
    int64_t when = report->second;
    other->fail_reports.erase(report);
    other->fail_reports[new_id] = when;
  }
  owned->id = new_id;
  by_id_.emplace(owned->id, owned.get());
  nodes_.emplace(std::move(new_id), std::move(owned));
  ++table_generation_;
  ++routing_version_.all;
}

void ClusterState::BecomeReplicaOf(ClusterNode& primary) {
  if (&primary == myself_) std::abort();  // REQUIRES violated.
  if (myself_->is_primary()) {
    myself_->flags = (myself_->flags & ~(kFlagPrimary | kFlagMigrateTo)) | kFlagReplica;
    CloseAllSlots();
  }
  SetPrimary(*myself_, &primary);
  pending_.replicate_primary = primary.id;
}

void ClusterState::PromoteMyself(int64_t now_ms) {
  ClusterNode* old_primary = myself_->primary;
  if (myself_->is_primary() || old_primary == nullptr) return;
  myself_->flags = (myself_->flags & ~kFlagReplica) | kFlagPrimary;
  SetPrimary(*myself_, nullptr);
  pending_.stop_replication = true;
  pending_.replicate_primary.clear();
  for (int s = 0; s < kNumSlots; ++s) {
    if (owners_[s] != old_primary) continue;
    UnbindSlot(s);
    BindSlot(s, *myself_);
  }
  UpdateState(now_ms);
  RequestSave(/*fsync=*/true);
  pending_.broadcast_pong = true;
}

void ClusterState::SetMyself(ClusterNode& node) {
  if (myself_ && myself_ != &node) myself_->flags &= ~kFlagMyself;
  if (myself_ != &node) ++routing_version_.all;
  myself_ = &node;
  node.flags |= kFlagMyself;
}

// ---- Slots ----------------------------------------------------------------

void ClusterState::BindSlot(int slot, ClusterNode& node) {
  if (owners_[slot] == &node) return;
  UnbindSlot(slot);
  owners_.Set(slot, &node);
  node.slots.Set(slot);
  ++node.slot_count;
  ++node.slots_version;
}

void ClusterState::UnbindSlot(int slot) {
  ClusterNode* owner = owners_[slot];
  if (!owner) return;
  if (owner == myself_ || myself_->primary == owner) {
    pending_.unsubscribe_shard_slots.push_back(slot);
  }
  owner->slots.Clear(slot);
  --owner->slot_count;
  ++owner->slots_version;
  owners_.Set(slot, nullptr);
}

void ClusterState::CloseAllSlots() {
  migrating_to_.ClearAll();
  importing_from_.ClearAll();
}

// ---- Epochs ---------------------------------------------------------------

uint64_t ClusterState::MaxEpoch() const {
  uint64_t max = current_epoch_;
  for (const auto& [id, node] : nodes_) max = std::max(max, node->config_epoch);
  return max;
}

uint64_t ClusterState::MyEpoch() const {
  if (myself_->is_replica() && myself_->primary) return myself_->primary->config_epoch;
  return myself_->config_epoch;
}

bool ClusterState::BumpEpochWithoutConsensus() {
  uint64_t max = MaxEpoch();
  if (myself_->config_epoch != 0 && myself_->config_epoch == max) return false;
  ++current_epoch_;
  myself_->config_epoch = current_epoch_;
  RequestSave(/*fsync=*/true);
  Log(LogSeverity::kWarning, absl::StrCat("New configEpoch set to ", myself_->config_epoch));
  return true;
}

// ---- Cluster state ---------------------------------------------------------

void ClusterState::UpdateState(int64_t now_ms) {
  pending_.update_state = false;
  if (first_update_ms_ < 0) first_update_ms_ = now_ms;
  // A primary that just started stays failing for a moment, giving the rest
  // of the cluster a chance to reconfigure it before it accepts writes.
  if (myself_->is_primary() && !ok_ && now_ms - first_update_ms_ < kWritableDelayMs) return;

  bool new_ok = true;
  int size = 0;
  int reachable = 0;
  // Every slot is served by a node not failed exactly when all slots have
  // an owner and failed nodes own none (each slot's owner holds it in its
  // `slots`): counts instead of a walk of the slots.
  int served = owners_.set_count();
  for (const auto& [id, node] : nodes_) {
    if (node->slot_count == 0) continue;
    if (node->failed()) served -= node->num_slots();
    if (node->is_primary()) {
      ++size;
      if (!(node->flags & (kFlagFail | kFlagPfail))) ++reachable;
    }
  }
  if (options_.require_full_coverage && served != kNumSlots) new_ok = false;
  size_ = size;
  if (reachable < size / 2 + 1) {
    new_ok = false;
    among_minority_ms_ = now_ms;
  }
  if (new_ok == ok_) return;
  int64_t rejoin_delay = std::clamp(options_.node_timeout_ms, kMinRejoinDelayMs, kMaxRejoinDelayMs);
  if (new_ok && myself_->is_primary() && now_ms - among_minority_ms_ < rejoin_delay) return;
  ok_ = new_ok;
  pending_.state_changed = true;
  Log(LogSeverity::kWarning, absl::StrCat("Cluster state changed: ", ok_ ? "ok" : "fail"));
}

void ClusterState::Tick(int64_t now_ms) {
  MaybeMigrateReplica(now_ms);
  if (pending_.update_state || !ok_) UpdateState(now_ms);
}

void ClusterState::MaybeMigrateReplica(int64_t now_ms) {
  if (!myself_->is_replica() || !options_.allow_replica_migration) return;
  // Orphaned primaries (serving slots, with replicas once, none working
  // now), the most working replicas any primary has, and my primary's.
  int orphaned = 0, max_replicas = 0, mine = 0;
  for (const auto& [id, node] : nodes_) {
    if (node->flags & (kFlagMyself | kFlagNoAddr | kFlagHandshake)) continue;
    if (!node->is_primary() || node->failed()) continue;
    const int working = CountWorkingReplicas(*node);
    if (working == 0 && node->num_slots() > 0 && (node->flags & kFlagMigrateTo)) ++orphaned;
    max_replicas = std::max(max_replicas, working);
    if (myself_->primary == node.get()) mine = working;
  }
  if (orphaned == 0 || max_replicas < 2 || mine != max_replicas) return;
  if (!ok_ || !myself_->primary) return;
  // My primary must keep more than cluster-migration-barrier replicas.
  int reachable = 0;
  for (const ClusterNode* r : myself_->primary->replicas) {
    reachable += (r->flags & (kFlagFail | kFlagPfail)) ? 0 : 1;
  }
  if (reachable <= options_.migration_barrier) return;
  // Only the replica with the smallest id among the primaries with the
  // most working replicas moves, to the first orphaned primary with slots.
  const ClusterNode* candidate = myself_;
  ClusterNode* target = nullptr;
  for (const auto& [id, node] : nodes_) {
    const int working = node->is_primary() ? CountWorkingReplicas(*node) : 0;
    const bool is_orphaned =
        node->is_primary() && !node->failed() && (node->flags & kFlagMigrateTo) && working == 0;
    if (is_orphaned) {
      if (!target && node->num_slots() > 0) target = node.get();
      if (node->orphaned_since_ms == 0) node->orphaned_since_ms = now_ms;
    } else {
      node->orphaned_since_ms = 0;
    }
    if (working != max_replicas) continue;
    for (const ClusterNode* r : node->replicas) {
      if (r->id < candidate->id) candidate = r;
    }
  }
  if (!target || candidate != myself_) return;
  if (now_ms - target->orphaned_since_ms <= kReplicaMigrationDelayMs) return;
  Log(LogSeverity::kWarning, absl::StrCat("Migrating to orphaned master ", target->id));
  BecomeReplicaOf(*target);
  RequestSave(false);
  RequestStateUpdate();
}

// ---- Admin commands --------------------------------------------------------

absl::Status ClusterState::ValidateSlotChanges(std::span<const SlotRange> ranges, bool del) const {
  std::vector<uint8_t> seen(kNumSlots, 0);
  for (const SlotRange& r : ranges) {
    if (r.start > r.end) {
      return Err(absl::StrFormat("start slot number %d is greater than end slot number %d", r.start,
                                 r.end));
    }
    for (int s = r.start; s <= r.end; ++s) {
      if (del && !owners_[s]) return Err(absl::StrFormat("Slot %d is already unassigned", s));
      if (!del && owners_[s]) return Err(absl::StrFormat("Slot %d is already busy", s));
      if (seen[s]++ == 1) return Err(absl::StrFormat("Slot %d specified multiple times", s));
    }
  }
  return absl::OkStatus();
}

absl::Status ClusterState::ChangeSlots(std::span<const SlotRange> ranges, bool del) {
  absl::Status st = ValidateSlotChanges(ranges, del);
  if (!st.ok()) return st;
  for (const SlotRange& r : ranges) {
    for (int s = r.start; s <= r.end; ++s) {
      // Owning (or giving up) the slot ends any import of it.
      importing_from_.Set(s, nullptr);
      if (del) {
        UnbindSlot(s);
      } else {
        BindSlot(s, *myself_);
      }
    }
  }
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

absl::Status ClusterState::FlushSlots(bool db_empty) {
  if (!db_empty) return Err("DB must be empty to perform CLUSTER FLUSHSLOTS.");
  for (int s = 0; s < kNumSlots; ++s) {
    if (owners_[s] == myself_) UnbindSlot(s);
  }
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

absl::Status ClusterState::SetSlotMigrating(int slot, std::string_view node_id) {
  if (myself_->is_replica()) return Err("Please use SETSLOT only with masters.");
  if (owners_[slot] != myself_) {
    return Err(absl::StrFormat("I'm not the owner of hash slot %d", slot));
  }
  ClusterNode* n = FindNode(node_id);
  if (!n) return Err(absl::StrCat("I don't know about node ", std::string(node_id)));
  if (n->is_replica()) return Err("Target node is not a master");
  migrating_to_.Set(slot, n);
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

absl::Status ClusterState::SetSlotImporting(int slot, std::string_view node_id) {
  if (myself_->is_replica()) return Err("Please use SETSLOT only with masters.");
  if (owners_[slot] == myself_) {
    return Err(absl::StrFormat("I'm already the owner of hash slot %d", slot));
  }
  ClusterNode* n = FindNode(node_id);
  if (!n) return Err(absl::StrCat("I don't know about node ", std::string(node_id)));
  if (n->is_replica()) return Err("Target node is not a master");
  importing_from_.Set(slot, n);
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

absl::Status ClusterState::SetSlotStable(int slot) {
  if (myself_->is_replica()) return Err("Please use SETSLOT only with masters.");
  importing_from_.Set(slot, nullptr);
  migrating_to_.Set(slot, nullptr);
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

absl::Status ClusterState::SetSlotNode(int slot, std::string_view node_id, uint64_t keys_in_slot) {
  if (myself_->is_replica()) return Err("Please use SETSLOT only with masters.");
  ClusterNode* n = FindNode(node_id);
  if (!n) return Err(absl::StrCat("Unknown node ", std::string(node_id)));
  if (n->is_replica()) return Err("Target node is not a master");
  if (owners_[slot] == myself_ && n != myself_ && keys_in_slot != 0) {
    return Err(absl::StrFormat(
        "Can't assign hashslot %d to a different node while I still hold keys for this hash "
        "slot.",
        slot));
  }
  if (keys_in_slot == 0) migrating_to_.Set(slot, nullptr);
  bool was_mine = owners_[slot] == myself_;
  // Redis unbinds first even when `n` already owns the slot (subscribers of
  // its shard channels are told).
  UnbindSlot(slot);
  BindSlot(slot, *n);
  if (was_mine && n != myself_ && myself_->num_slots() == 0 && options_.allow_replica_migration) {
    Log(LogSeverity::kWarning,
        absl::StrCat("Configuration change detected. Reconfiguring myself as a replica of ",
                     n->id));
    myself_->flags = (myself_->flags & ~(kFlagPrimary | kFlagMigrateTo)) | kFlagReplica;
    SetPrimary(*myself_, n);
    CloseAllSlots();
    pending_.replicate_primary = n->id;
    RequestSave(true);
  }
  if (n == myself_ && importing_from_[slot]) {
    if (BumpEpochWithoutConsensus()) {
      Log(LogSeverity::kWarning,
          absl::StrFormat("configEpoch updated after importing slot %d", slot));
    }
    pending_.finished_imports.push_back({slot, importing_from_[slot]->id});
    importing_from_.Set(slot, nullptr);
    pending_.broadcast_pong = true;
  }
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

absl::Status ClusterState::MirrorPrimarySetSlot(int slot, SetSlotAction action,
                                                std::string_view node_id, uint64_t keys_in_slot) {
  ClusterNode* n = nullptr;
  if (action != SetSlotAction::kStable) {
    n = FindNode(node_id);
    if (!n) {
      return Err(absl::StrCat(
          action == SetSlotAction::kNode ? "Unknown node " : "I don't know about node ",
          std::string(node_id)));
    }
    if (n->is_replica()) return Err("Target node is not a master");
  }
  switch (action) {
    case SetSlotAction::kMigrating:
      SetMigrating(slot, n);
      break;
    case SetSlotAction::kImporting:
      SetImporting(slot, n);
      break;
    case SetSlotAction::kStable:
      SetMigrating(slot, nullptr);
      SetImporting(slot, nullptr);
      break;
    case SetSlotAction::kNode: {
      ClusterNode* my_primary = myself_->primary;
      if (keys_in_slot == 0) SetMigrating(slot, nullptr);
      const bool was_primarys = my_primary != nullptr && owners_[slot] == my_primary;
      UnbindSlot(slot);
      BindSlot(slot, *n);
      if (n == my_primary) SetImporting(slot, nullptr);
      // My primary gave away its last slot and turns into a replica of the
      // new owner (SetSlotNode); its replicas follow it there. The bus
      // would do it from the primary's next PONG, but the slot is already
      // bound to `n` here, so the gossip no longer sees the change.
      if (was_primarys && n != my_primary && my_primary->num_slots() == 0 &&
          options_.allow_replica_migration && n != myself_) {
        Log(LogSeverity::kWarning,
            absl::StrCat("Configuration change detected. Reconfiguring myself as a replica of ",
                         n->id));
        BecomeReplicaOf(*n);
        RequestSave(true);
      }
      break;
    }
  }
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

std::vector<std::vector<std::string>> ClusterState::OpenSlotCommands() const {
  std::vector<std::vector<std::string>> out;
  for (int s = 0; s < kNumSlots; ++s) {
    if (migrating_to_[s]) {
      out.push_back({"CLUSTER", "SETSLOT", absl::StrCat(s), "MIGRATING", migrating_to_[s]->id});
    } else if (importing_from_[s]) {
      out.push_back({"CLUSTER", "SETSLOT", absl::StrCat(s), "IMPORTING", importing_from_[s]->id});
    }
  }
  return out;
}

absl::Status ClusterState::Reset(bool hard, bool has_keys, std::string new_id) {
  if (myself_->is_primary() && has_keys) {
    return Err("CLUSTER RESET can't be called with master nodes containing keys");
  }
  if (myself_->is_replica()) {
    myself_->flags = (myself_->flags & ~kFlagReplica) | kFlagPrimary;
    SetPrimary(*myself_, nullptr);
    pending_.stop_replication = true;
    pending_.flush_data = true;
    pending_.replicate_primary.clear();
  }
  CloseAllSlots();
  for (int s = 0; s < kNumSlots; ++s) UnbindSlot(s);
  std::vector<std::string> others;
  for (const auto& [id, node] : nodes_) {
    if (node.get() != myself_) others.push_back(id);
  }
  for (const std::string& id : others) DeleteNode(id);
  if (hard) {
    current_epoch_ = 0;
    last_vote_epoch_ = 0;
    myself_->config_epoch = 0;
    Log(LogSeverity::kWarning, "configEpoch set to 0 via CLUSTER RESET HARD");
    RenameMyself(std::move(new_id));
    Log(LogSeverity::kNotice, absl::StrCat("Node hard reset, now I'm ", myself_->id));
  }
  RequestSave(true);
  RequestStateUpdate();
  return absl::OkStatus();
}

absl::Status ClusterState::SetConfigEpoch(int64_t epoch) {
  if (epoch < 0) return Err(absl::StrCat("Invalid config epoch specified: ", epoch));
  if (nodes_.size() > 1) {
    return Err(
        "The user can assign a config epoch only when the node does not know any other node.");
  }
  if (myself_->config_epoch != 0) return Err("Node config epoch is already non-zero");
  myself_->config_epoch = static_cast<uint64_t>(epoch);
  Log(LogSeverity::kWarning,
      absl::StrCat("configEpoch set to ", epoch, " via CLUSTER SET-CONFIG-EPOCH"));
  if (current_epoch_ < static_cast<uint64_t>(epoch)) current_epoch_ = epoch;
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

absl::Status ClusterState::Forget(std::string_view node_id, int64_t now_ms) {
  ClusterNode* n = FindNode(node_id);
  if (!n) return Err(absl::StrCat("Unknown node ", std::string(node_id)));
  if (n == myself_) return Err("I tried hard but I can't forget myself...");
  if (myself_->is_replica() && myself_->primary == n) return Err("Can't forget my master!");
  banned_until_ms_[n->id] = now_ms + kForgetBanMs;
  DeleteNode(node_id);
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

bool ClusterState::IsBanned(std::string_view id, int64_t now_ms) const {
  auto it = banned_until_ms_.find(id);
  return it != banned_until_ms_.end() && it->second > now_ms;
}

absl::StatusOr<int> ClusterState::CountFailureReports(std::string_view node_id,
                                                      int64_t now_ms) const {
  const ClusterNode* n = FindNode(node_id);
  if (!n) return Err(absl::StrCat("Unknown node ", std::string(node_id)));
  int count = 0;
  const int64_t validity = options_.node_timeout_ms * 2;
  for (const auto& [reporter, time_ms] : n->fail_reports) {
    if (now_ms - time_ms <= validity) ++count;
  }
  return count;
}

absl::Status ClusterState::Replicate(std::string_view node_id, bool has_keys) {
  ClusterNode* n = FindNode(node_id);
  if (!n) return Err(absl::StrCat("Unknown node ", std::string(node_id)));
  if (n == myself_) return Err("Can't replicate myself");
  if (n->is_replica()) return Err("I can only replicate a master, not a replica.");
  if (myself_->is_primary() && (myself_->num_slots() != 0 || has_keys)) {
    return Err("To set a master the node must be empty and without assigned slots.");
  }
  BecomeReplicaOf(*n);
  RequestSave(false);
  RequestStateUpdate();
  return absl::OkStatus();
}

absl::StatusOr<std::vector<const ClusterNode*>> ClusterState::Replicas(
    std::string_view node_id) const {
  const ClusterNode* n = FindNode(node_id);
  if (!n) return Err(absl::StrCat("Unknown node ", std::string(node_id)));
  if (n->is_replica()) return Err("The specified node is not a master");
  return std::vector<const ClusterNode*>(n->replicas.begin(), n->replicas.end());
}

// ---- Text and reply data ---------------------------------------------------

std::string ClusterState::NodeLine(const ClusterNode& node, bool use_pport) const {
  int port = use_pport && node.pport ? node.pport : node.port;
  std::string line = absl::StrCat(node.id, " ", node.ip, ":", port, "@", node.cport);
  if (!node.hostname.empty()) absl::StrAppend(&line, ",", node.hostname);
  uint64_t epoch = node.config_epoch;
  if (node.is_replica() && node.primary) epoch = node.primary->config_epoch;
  absl::StrAppend(&line, " ", FlagsText(node.flags), " ",
                  node.primary ? node.primary->id : std::string("-"), " ", node.ping_sent_ms, " ",
                  node.pong_received_ms, " ", epoch, " ",
                  (node.link_connected || node.is_myself()) ? "connected" : "disconnected");
  if (node.slots_text_version != node.slots_version) {
    node.slots_text.clear();
    for (const SlotRange& r : node.slots.Ranges()) {
      if (r.start == r.end) {
        absl::StrAppend(&node.slots_text, " ", r.start);
      } else {
        absl::StrAppend(&node.slots_text, " ", r.start, "-", r.end);
      }
    }
    node.slots_text_version = node.slots_version;
  }
  line += node.slots_text;
  if (node.is_myself()) {
    // Open slots are few (usually none or one): the walk ends at the last.
    int open = migrating_to_.set_count() + importing_from_.set_count();
    for (int s = 0; s < kNumSlots && open > 0; ++s) {
      open -= (migrating_to_[s] != nullptr) + (importing_from_[s] != nullptr);
      if (migrating_to_[s]) {
        absl::StrAppend(&line, " [", s, "->-", migrating_to_[s]->id, "]");
      } else if (importing_from_[s]) {
        absl::StrAppend(&line, " [", s, "-<-", importing_from_[s]->id, "]");
      }
    }
  }
  return line;
}

std::string ClusterState::NodesText(bool include_handshake, bool use_pport) const {
  std::string out;
  for (const auto& [id, node] : nodes_) {
    if (!include_handshake && (node->flags & kFlagHandshake)) continue;
    out += NodeLine(*node, use_pport);
    out.push_back('\n');
  }
  return out;
}

std::string ClusterState::InfoText() const {
  int assigned = 0, slots_ok = 0, slots_pfail = 0, slots_fail = 0;
  for (int s = 0; s < kNumSlots; ++s) {
    const ClusterNode* n = owners_[s];
    if (!n) continue;
    ++assigned;
    if (n->failed()) {
      ++slots_fail;
    } else if (n->timed_out()) {
      ++slots_pfail;
    } else {
      ++slots_ok;
    }
  }
  std::string out =
      absl::StrCat("cluster_state:", ok_ ? "ok" : "fail", "\r\ncluster_slots_assigned:", assigned,
                   "\r\ncluster_slots_ok:", slots_ok, "\r\ncluster_slots_pfail:", slots_pfail,
                   "\r\ncluster_slots_fail:", slots_fail, "\r\ncluster_known_nodes:", nodes_.size(),
                   "\r\ncluster_size:", size_, "\r\ncluster_current_epoch:", current_epoch_,
                   "\r\ncluster_my_epoch:", MyEpoch(), "\r\n");
  auto append_stats = [&out](const std::array<uint64_t, kNumMessageTypes>& counts,
                             const char* direction) {
    uint64_t total = 0;
    for (int i = 0; i < kNumMessageTypes; ++i) {
      if (counts[i] == 0) continue;
      total += counts[i];
      absl::StrAppend(&out, "cluster_stats_messages_", kMessageTypeNames[i], "_", direction, ":",
                      counts[i], "\r\n");
    }
    absl::StrAppend(&out, "cluster_stats_messages_", direction, ":", total, "\r\n");
  };
  append_stats(messages_sent_, "sent");
  append_stats(messages_received_, "received");
  absl::StrAppend(&out, "total_cluster_links_buffer_limit_exceeded:", links_buffer_limit_exceeded,
                  "\r\n");
  return out;
}

std::vector<SlotsEntry> ClusterState::SlotsReply() const {
  std::vector<SlotsEntry> out;
  int s = 0;
  while (s < kNumSlots) {
    const ClusterNode* owner = owners_[s];
    if (!owner) {
      ++s;
      continue;
    }
    int start = s;
    while (s < kNumSlots && owners_[s] == owner) ++s;
    SlotsEntry entry{start, s - 1, {owner}};
    for (const ClusterNode* replica : owner->replicas) {
      if (replica->failed() || replica->repl_offset == 0) continue;
      entry.nodes.push_back(replica);
    }
    out.push_back(std::move(entry));
  }
  return out;
}

std::vector<ShardEntry> ClusterState::ShardsReply() const {
  std::vector<ShardEntry> out;
  for (const auto& [id, node] : nodes_) {
    if (!node->is_primary()) continue;
    ShardEntry entry{node->slots.Ranges(), {node.get()}};
    entry.nodes.insert(entry.nodes.end(), node->replicas.begin(), node->replicas.end());
    out.push_back(std::move(entry));
  }
  return out;
}

std::string ClusterState::Endpoint(const ClusterNode& node) const {
  switch (options_.preferred_endpoint) {
    case PreferredEndpoint::kIp:
      return node.ip;
    case PreferredEndpoint::kHostname:
      return node.hostname.empty() ? "?" : node.hostname;
    case PreferredEndpoint::kUnknown:
      return "";
  }
  return node.ip;
}

// ---- Effects ---------------------------------------------------------------

Ready ClusterState::TakeReady(int64_t now_ms) {
  if (pending_.update_state) UpdateState(now_ms);
  Pending p = std::move(pending_);
  pending_ = Pending();
  // A PONG broadcast and the finished imports are the bus engine's.
  pending_.broadcast_pong = p.broadcast_pong;
  pending_.finished_imports = std::move(p.finished_imports);
  Ready ready;
  for (LogLine& line : p.logs) ready.items.emplace_back(std::move(line));
  if (p.flush_data) ready.items.emplace_back(FlushData{});
  if (!p.delete_keys_in_slots.empty()) {
    ready.items.emplace_back(DeleteKeysInSlots{std::move(p.delete_keys_in_slots)});
  }
  if (!p.unsubscribe_shard_slots.empty()) {
    ready.items.emplace_back(UnsubscribeShardSlots{std::move(p.unsubscribe_shard_slots)});
  }
  if (p.pause_writes_until_ms >= 0) ready.items.emplace_back(PauseWrites{p.pause_writes_until_ms});
  if (p.stop_replication) ready.items.emplace_back(StopReplication{});
  if (!p.replicate_primary.empty()) {
    ready.items.emplace_back(ReplicatePrimary{std::move(p.replicate_primary)});
  }
  if (p.state_changed) ready.items.emplace_back(ClusterStateChanged{ok_});
  if (p.save_config) ready.items.emplace_back(SaveConfig{p.fsync_config});
  return ready;
}

void ClusterState::RequestSave(bool fsync) {
  pending_.save_config = true;
  pending_.fsync_config = pending_.fsync_config || fsync;
}

void ClusterState::RequestDeleteKeysInSlots(const std::vector<int>& slots) {
  auto& out = pending_.delete_keys_in_slots;
  out.insert(out.end(), slots.begin(), slots.end());
}

void ClusterState::Log(LogSeverity severity, std::string text) {
  pending_.logs.push_back({severity, std::move(text)});
}

}  // namespace shardnode::clusterbus
