// ClusterState: this node's view of the cluster, as a pure state machine.
//
// It owns the node table (every known node, myself included), the slot ->
// owner table with the importing/migrating marks, currentEpoch and
// lastVoteEpoch, and the cluster state (ok / fail). Inputs are admin commands
// (CLUSTER ADDSLOTS, SETSLOT, RESET...), ticks carrying the current time and,
// later, decoded bus messages. It never does I/O, reads no clock and does not
// log: everything the shell must do afterwards (save nodes.conf, fsync it,
// log a line, start replicating a primary, flush the data set, delete the
// keys of lost slots) is accumulated and drained as one Ready (ready.h) by
// TakeReady(); a PONG broadcast is left for the bus engine to carry out.
// Randomness (new node ids) is passed in by the caller.
//
// Loop: owned by the control loop (thread 0). Other threads must not touch it.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/btree_map.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "clusterbus/codec/message.h"
#include "clusterbus/ready.h"
#include "slots/hash_slot.h"
#include "slots/slot_set.h"

namespace shardnode::clusterbus {

inline constexpr int kNodeIdLen = 40;
// Bus message types (kNumMessageTypes, in the order CLUSTER INFO prints their
// statistics) come from clusterbus/codec/message.h.
inline constexpr int64_t kWritableDelayMs = 2000;

// Node flags: the bit values of the bus header and gossip entries (spec 5.1),
// the same constants as the codec's kNodeFlag*.
enum NodeFlag : uint16_t {
  kFlagPrimary = kNodeFlagPrimary,  // "master"
  kFlagReplica = kNodeFlagReplica,  // "slave"
  kFlagPfail = kNodeFlagPfail,
  kFlagFail = kNodeFlagFail,
  kFlagMyself = kNodeFlagMyself,
  kFlagHandshake = kNodeFlagHandshake,
  kFlagNoAddr = kNodeFlagNoAddr,
  kFlagMeet = kNodeFlagMeet,
  kFlagMigrateTo = kNodeFlagMigrateTo,
  kFlagNoFailover = kNodeFlagNoFailover,
};

// "myself,master", "slave,fail?", "noflags"...: the CLUSTER NODES text of
// `flags` (MEET and MIGRATE_TO are never printed).
std::string FlagsText(uint16_t flags);

// True when `id` is exactly 40 characters of [a-z0-9] (Redis's check).
bool IsValidNodeId(std::string_view id);

struct ClusterNode {
  std::string id;
  std::string ip;  // empty while unknown
  int port = 0;    // client port
  int cport = 0;   // bus port
  int pport = 0;   // plaintext client port (TLS clusters), 0 if none
  std::string hostname;
  uint16_t flags = 0;
  ClusterNode* primary = nullptr;      // for replicas; borrowed from the table
  std::vector<ClusterNode*> replicas;  // for primaries; borrowed from the table
  int64_t ctime_ms = 0;
  int64_t ping_sent_ms = 0;
  int64_t pong_received_ms = 0;
  int64_t fail_time_ms = 0;
  uint64_t config_epoch = 0;
  // The highest configEpoch it announced while a primary (not saved). A
  // primary's own configEpoch never goes down, so a primary's message with
  // an older one was overtaken by a newer message on the other link.
  uint64_t primary_epoch_heard = 0;
  slots::SlotSet slots;  // always equal to the slots the owner table gives it
  int slot_count = 0;    // slots.Count(), kept by ClusterState::BindSlot / UnbindSlot
  // Bumped by every change of `slots`; NodeLine's text of the slot runs is
  // kept for the version it was made from (nodes.conf is written on every
  // change of the cluster and lists every node's runs).
  uint64_t slots_version = 0;
  mutable uint64_t slots_text_version = ~uint64_t{0};
  mutable std::string slots_text;
  int64_t repl_offset = 0;
  int64_t repl_offset_time_ms = 0;
  int64_t data_received_ms = 0;   // last time any bus message came from it
  int64_t orphaned_since_ms = 0;  // replica migration: 0 = not orphaned
  // When I last voted for a replica of this primary (spec 10.4, rule 5).
  int64_t voted_time_ms = 0;
  // Redis's `node->link != NULL`: an outbound bus link exists, connected or
  // still connecting ("connected" in CLUSTER NODES, read by elections). The
  // bus engine sets it; the links themselves are the engine's (BusEngine's
  // links and per-node link records), not the node table's.
  bool link_connected = false;
  std::map<std::string, int64_t> fail_reports;  // reporter id -> report time

  bool is_primary() const { return flags & kFlagPrimary; }
  bool is_replica() const { return flags & kFlagReplica; }
  bool is_myself() const { return flags & kFlagMyself; }
  bool failed() const { return flags & kFlagFail; }
  bool timed_out() const { return flags & kFlagPfail; }
  int num_slots() const { return slot_count; }
};

enum class PreferredEndpoint { kIp, kHostname, kUnknown };

// The cluster-* options the state machine reads. The shell refreshes them on
// CONFIG SET through set_options().
struct ClusterOptions {
  int64_t node_timeout_ms = 15000;
  // cluster-announce-ip: put in every bus header; when empty the node learns
  // its own IP from the sockets peers reach it on.
  std::string announce_ip;
  bool require_full_coverage = true;
  bool allow_replica_migration = true;
  int migration_barrier = 1;  // cluster-migration-barrier
  // Replica elections (spec 10.2): cluster-replica-validity-factor (0: any
  // data age may fail over), repl-ping-replica-period in seconds, and
  // cluster-replica-no-failover (no automatic failover; manual still works).
  int replica_validity_factor = 10;
  int64_t repl_ping_replica_period_s = 10;
  bool replica_no_failover = false;
  PreferredEndpoint preferred_endpoint = PreferredEndpoint::kIp;
};

// One element of CLUSTER SLOTS: a run of slots and the nodes serving it.
struct SlotsEntry {
  int start = 0;
  int end = 0;
  std::vector<const ClusterNode*> nodes;  // primary first, then replicas
};

// One element of CLUSTER SHARDS: a primary (with or without slots).
struct ShardEntry {
  std::vector<slots::SlotRange> ranges;
  std::vector<const ClusterNode*> nodes;  // primary first, then replicas
};

class ClusterState {
 public:
  // A fresh node: only myself, a primary with id `my_id` (40 hex chars).
  ClusterState(std::string my_id, ClusterOptions options);
  ClusterState(const ClusterState&) = delete;
  ClusterState& operator=(const ClusterState&) = delete;

  const ClusterOptions& options() const { return options_; }
  void set_options(const ClusterOptions& options) { options_ = options; }

  // ---- Node table -----------------------------------------------------
  ClusterNode& myself() { return *myself_; }
  const ClusterNode& myself() const { return *myself_; }
  // nullptr when unknown (exact match on the 40-char id).
  ClusterNode* FindNode(std::string_view id);
  const ClusterNode* FindNode(std::string_view id) const;
  // Adds a node with this id (flags as given). REQUIRES: id not known yet.
  ClusterNode& AddNode(std::string id, uint16_t flags, int64_t now_ms);
  // Deletes a node: unbinds its slots and open-slot marks, drops its failure
  // reports and detaches it from its primary/replicas. REQUIRES: not myself.
  void DeleteNode(std::string_view id);
  // Makes `replica` a replica of `primary` (nullptr: detached replica).
  void SetPrimary(ClusterNode& replica, ClusterNode* primary);
  // In id order. Adding or deleting a node invalidates iterators: a walk
  // that may do either copies the pointers first.
  const absl::btree_map<std::string, std::unique_ptr<ClusterNode>, std::less<>>& nodes() const {
    return nodes_;
  }
  size_t num_nodes() const { return nodes_.size(); }
  // Renames myself (CLUSTER RESET HARD, or loading nodes.conf).
  void RenameMyself(std::string new_id);
  // Renames any node (a handshake node learning its real id).
  // REQUIRES: `new_id` not known yet.
  void RenameNode(ClusterNode& node, std::string new_id);
  // Counts node deletions and renames, so that holders of node ids (the
  // bus engine's links) know when to re-check them.
  uint64_t table_generation() const { return table_generation_; }
  // Changes whenever a slot's owner, migrating or importing mark changes, a
  // node is deleted or renamed, or another node becomes myself: what a
  // routing snapshot (SlotTable) holds besides node addresses, roles and
  // ok(). Those are written directly (the bus engine sets addresses and
  // flags) and are not counted: SlotTable::IsCurrent compares them itself.
  // Gossip that changes none of this (ping and pong times, failure reports,
  // repeated claims of the same slots) leaves it alone.
  uint64_t routing_version() const { return routing_version_.all; }
  // Slots in runs of kSlotChunk: the routing_version() at which a slot of
  // chunk `chunk` (slot / kSlotChunk) last changed owner or mark, so that a
  // snapshot built at version V rebuilds only the chunks changed after V.
  static constexpr int kSlotChunk = 256;
  static constexpr int kNumSlotChunks = slots::kNumSlots / kSlotChunk;
  uint64_t slot_chunk_version(int chunk) const { return routing_version_.chunk[chunk]; }
  // Redis's clusterSetMaster: myself becomes a replica of `primary`
  // (closing open slots if I was a primary) and the shell is asked to
  // replicate it. REQUIRES: `primary` is not myself; myself has no slots.
  void BecomeReplicaOf(ClusterNode& primary);
  // Asks the shell to (re)point replication at `primary` (its address changed).
  void RequestReplication(const ClusterNode& primary) { pending_.replicate_primary = primary.id; }
  // Marks `node` as myself, e.g. while loading nodes.conf. REQUIRES: in table.
  void SetMyself(ClusterNode& node);

  // ---- Slots ----------------------------------------------------------
  const ClusterNode* SlotOwner(int slot) const { return owners_[slot]; }
  const ClusterNode* MigratingTo(int slot) const { return migrating_to_[slot]; }
  const ClusterNode* ImportingFrom(int slot) const { return importing_from_[slot]; }
  // Whether any slot is migrating or importing (counted, not walked).
  bool HasOpenSlots() const { return migrating_to_.set_count() + importing_from_.set_count() > 0; }
  // Binds `slot` to `node` (unbinding it from any previous owner; no-op when
  // `node` already owns it).
  void BindSlot(int slot, ClusterNode& node);
  // Unbinding a slot of my shard requests unsubscribe_shard_slots.
  void UnbindSlot(int slot);
  void SetMigrating(int slot, ClusterNode* node) { migrating_to_.Set(slot, node); }
  void SetImporting(int slot, ClusterNode* node) { importing_from_.Set(slot, node); }
  void CloseAllSlots();

  // ---- Epochs ---------------------------------------------------------
  uint64_t current_epoch() const { return current_epoch_; }
  void set_current_epoch(uint64_t e) { current_epoch_ = e; }
  uint64_t last_vote_epoch() const { return last_vote_epoch_; }
  void set_last_vote_epoch(uint64_t e) { last_vote_epoch_ = e; }
  // max(currentEpoch, every node's configEpoch).
  uint64_t MaxEpoch() const;
  // myself's configEpoch, or its primary's when myself is a replica.
  uint64_t MyEpoch() const;
  // Spec 9.5: bumps myself's configEpoch if it is 0 or not the maximum.
  // Returns true when it changed (and requests save + fsync, logs).
  bool BumpEpochWithoutConsensus();
  // While held, a configEpoch collision does not move myself's epoch (it is
  // resolved once released, at the next message from the other primary).
  // An atomic slot migration's source holds it from FINISH to the job's
  // end: its epoch was sent to the target, whose claim must stay above it
  // (a bump would let the source claim the moving slots back at a higher
  // epoch, and the target would drop them).
  void set_collision_bumps_held(bool held) { collision_bumps_held_ = held; }
  bool collision_bumps_held() const { return collision_bumps_held_; }

  // ---- Cluster state --------------------------------------------------
  bool ok() const { return ok_; }
  // Primaries serving at least one slot, as of the last UpdateState().
  int size() const { return size_; }
  // Spec 8.5. Re-evaluates ok/fail; logs and flags state_changed on change.
  void UpdateState(int64_t now_ms);
  // The 100 ms cron: replica migration (a replica of a primary with the
  // most working replicas moves to a primary left without any, spec 10.9),
  // then evaluates the state when asked to or while failing.
  void Tick(int64_t now_ms);

  // ---- Admin commands (errors: the text after "ERR ") -------------------
  // ADDSLOTS/DELSLOTS and the RANGE forms. Checks every range in order
  // ("start slot number A is greater than end slot number B", "Slot N is
  // already busy" / "already unassigned", "Slot N specified multiple times")
  // before changing anything. REQUIRES: slot numbers in range.
  absl::Status ValidateSlotChanges(std::span<const slots::SlotRange> ranges, bool del) const;
  absl::Status ChangeSlots(std::span<const slots::SlotRange> ranges, bool del);
  // FLUSHSLOTS. `db_empty`: the caller's check of DB 0.
  absl::Status FlushSlots(bool db_empty);
  // SETSLOT. `keys_in_slot`: keys of `slot` held here (NODE only).
  absl::Status SetSlotMigrating(int slot, std::string_view node_id);
  absl::Status SetSlotImporting(int slot, std::string_view node_id);
  absl::Status SetSlotStable(int slot);
  absl::Status SetSlotNode(int slot, std::string_view node_id, uint64_t keys_in_slot);
  // SETSLOT arriving in my primary's replication stream (beyond Redis 7.0,
  // as Valkey 8 does): myself, a replica, mirrors the open state or the new
  // owner its primary just set, so that after a failover the promoted
  // replica still shows the migration ([slot->-id] / [slot-<-id]) and it
  // can be continued or closed by `redis-cli --cluster fix`. No ownership
  // or key checks (the primary made them); NODE clears the migrating mark
  // when `keys_in_slot` (held here) is 0 and the importing mark when the
  // new owner is my primary, and when my primary gives away its last slot
  // myself follows the new owner (cluster-allow-replica-migration), as the
  // primary itself does. Errors: "I don't know about node <id>" (MIGRATING,
  // IMPORTING), "Unknown node <id>" (NODE), "Target node is not a master".
  // REQUIRES: myself is a replica.
  enum class SetSlotAction { kMigrating, kImporting, kStable, kNode };
  absl::Status MirrorPrimarySetSlot(int slot, SetSlotAction action, std::string_view node_id,
                                    uint64_t keys_in_slot);
  // The SETSLOT commands that give a replica this node's open slots after
  // a full sync (which carries no cluster state), one per open slot:
  // {"CLUSTER", "SETSLOT", "<slot>", "MIGRATING"|"IMPORTING", "<id>"}.
  std::vector<std::vector<std::string>> OpenSlotCommands() const;
  // RESET [HARD]. `has_keys`: the caller's check of the data set; `new_id`
  // is used by HARD only.
  absl::Status Reset(bool hard, bool has_keys, std::string new_id);
  // SET-CONFIG-EPOCH (the integer was parsed by the caller).
  absl::Status SetConfigEpoch(int64_t epoch);
  // FORGET: deletes the node and bans its id from gossip for 60 s.
  absl::Status Forget(std::string_view node_id, int64_t now_ms);
  // True while `id` is banned by FORGET (gossip must not re-add it).
  bool IsBanned(std::string_view id, int64_t now_ms) const;
  // COUNT-FAILURE-REPORTS: valid reports (expired ones are not counted).
  absl::StatusOr<int> CountFailureReports(std::string_view node_id, int64_t now_ms) const;
  // REPLICATE <id>: myself becomes a replica of that primary (Redis's
  // clusterSetMaster), requests a state update, a config save and the
  // replicate_primary effect. `has_keys`: the caller's check of DB 0 (a
  // primary must be empty and slotless to turn into a replica). Errors:
  // "Unknown node <id>", "Can't replicate myself", "I can only replicate a
  // master, not a replica.", "To set a master the node must be empty and
  // without assigned slots.".
  absl::Status Replicate(std::string_view node_id, bool has_keys);
  // REPLICAS / SLAVES <id>.
  absl::StatusOr<std::vector<const ClusterNode*>> Replicas(std::string_view node_id) const;

  // ---- Text and reply data ----------------------------------------------
  // One CLUSTER NODES line, without the trailing LF. `use_pport`: print the
  // plaintext port when non-zero.
  std::string NodeLine(const ClusterNode& node, bool use_pport = false) const;
  // CLUSTER NODES: every node (handshake ones too unless excluded), LF-ended.
  std::string NodesText(bool include_handshake = true, bool use_pport = false) const;
  // CLUSTER INFO (CRLF-terminated lines).
  std::string InfoText() const;
  std::vector<SlotsEntry> SlotsReply() const;
  std::vector<ShardEntry> ShardsReply() const;
  // The endpoint clients are redirected to for `node` (MOVED/ASK), per
  // cluster-preferred-endpoint-type: ip, hostname ("?" if none) or "".
  std::string Endpoint(const ClusterNode& node) const;

  // ---- Statistics (bus shells increment them) -------------------------
  std::array<uint64_t, kNumMessageTypes>& messages_sent() { return messages_sent_; }
  std::array<uint64_t, kNumMessageTypes>& messages_received() { return messages_received_; }
  uint64_t links_buffer_limit_exceeded = 0;

  // ---- Effects --------------------------------------------------------
  // Everything requested since the last call, as ReadyItems in the order the
  // shell carries them out (logs, data, pubsub, pauses, replication, state
  // change, save), and clears it. Runs UpdateState(now_ms) first when a
  // state evaluation was requested. A requested PONG broadcast stays pending
  // for the bus engine (TakeBroadcastPong).
  Ready TakeReady(int64_t now_ms);
  // Whether UpdateState() was requested and has not run since.
  bool update_state_requested() const { return pending_.update_state; }
  void RequestSave(bool fsync);
  void RequestStateUpdate() { pending_.update_state = true; }
  // Asks for a PONG to every node (so that a change of what myself
  // announces reaches the cluster now rather than with the next pings).
  void RequestBroadcastPong() { pending_.broadcast_pong = true; }
  // Asks the shell to delete the keys this node holds in `slots` (see
  // DeleteKeysInSlots).
  void RequestDeleteKeysInSlots(const std::vector<int>& slots);
  // Returns and clears the pending broadcast_pong request (the bus engine
  // carries it out itself).
  bool TakeBroadcastPong() { return std::exchange(pending_.broadcast_pong, false); }
  // Imports that SETSLOT NODE myself closed since the last call: (slot, id
  // of the node imported from), for the bus engine (BusEngine's
  // import_guards_).
  std::vector<std::pair<int, std::string>> TakeFinishedImports() {
    return std::exchange(pending_.finished_imports, {});
  }
  // See PauseWrites: pause client writes until `until_ms` (0: end the pause).
  void RequestWritePause(int64_t until_ms) { pending_.pause_writes_until_ms = until_ms; }
  // Redis's clusterFailoverReplaceYourMaster (spec 10.5): myself, a
  // replica, becomes a primary, takes every slot of its old primary and asks
  // the shell to stop replicating, to save with fsync and (through the bus
  // engine) to broadcast a PONG. No-op when myself is a primary or has no
  // primary. The caller has given myself its new configEpoch already.
  void PromoteMyself(int64_t now_ms);
  void Log(LogSeverity severity, std::string text);

 private:
  void RemoveFromPrimary(ClusterNode& replica);
  void MaybeMigrateReplica(int64_t now_ms);

  struct RoutingVersion {
    uint64_t all = 0;
    std::array<uint64_t, kNumSlotChunks> chunk{};
    void BumpSlot(int slot) { chunk[slot / kSlotChunk] = ++all; }
  };
  // slot -> node, for owners and the open-slot marks. Every change goes
  // through Set, which bumps routing_version_ (the only writer of the
  // arrays, so the version cannot miss one).
  class SlotNodes {
   public:
    explicit SlotNodes(RoutingVersion* version)
        : version_(version), nodes_(slots::kNumSlots, nullptr) {}
    ClusterNode* operator[](int slot) const { return nodes_[slot]; }
    void Set(int slot, ClusterNode* node) {
      if (nodes_[slot] == node) return;
      set_count_ += (node != nullptr) - (nodes_[slot] != nullptr);
      nodes_[slot] = node;
      version_->BumpSlot(slot);
    }
    // Slots with a node (so that a walk for them can stop early).
    int set_count() const { return set_count_; }
    void ClearAll() {
      for (int s = 0; s < slots::kNumSlots; ++s) Set(s, nullptr);
    }

   private:
    RoutingVersion* version_;  // the owning ClusterState's routing_version_
    std::vector<ClusterNode*> nodes_;
    int set_count_ = 0;
  };

  ClusterOptions options_;
  RoutingVersion routing_version_;  // before the SlotNodes that point to it
  // A B-tree: walked on every message and tick, in id order (the node
  // lines, replies and gossip choices follow it).
  absl::btree_map<std::string, std::unique_ptr<ClusterNode>, std::less<>> nodes_;
  // FindNode's index over nodes_: the views are the nodes' own ids (which
  // stay put, unlike nodes_'s keys), kept in step by AddNode, DeleteNode
  // and RenameNode.
  absl::flat_hash_map<std::string_view, ClusterNode*> by_id_;
  ClusterNode* myself_ = nullptr;
  SlotNodes owners_{&routing_version_};
  SlotNodes migrating_to_{&routing_version_};
  SlotNodes importing_from_{&routing_version_};
  uint64_t current_epoch_ = 0;
  uint64_t last_vote_epoch_ = 0;
  bool collision_bumps_held_ = false;
  bool ok_ = false;
  int size_ = 0;
  int64_t first_update_ms_ = -1;
  int64_t among_minority_ms_ = INT64_MIN / 2;  // "long ago"
  uint64_t table_generation_ = 0;
  std::map<std::string, int64_t, std::less<>> banned_until_ms_;  // FORGET
  std::array<uint64_t, kNumMessageTypes> messages_sent_{};
  std::array<uint64_t, kNumMessageTypes> messages_received_{};

  // What TakeReady() hands out, coalesced until then (one save, the last
  // replication target, the last pause).
  struct Pending {
    bool save_config = false;
    bool fsync_config = false;
    bool update_state = false;
    bool state_changed = false;
    bool broadcast_pong = false;
    bool flush_data = false;
    bool stop_replication = false;
    std::string replicate_primary;  // non-empty: replicate this node id
    std::vector<int> delete_keys_in_slots;
    std::vector<int> unsubscribe_shard_slots;
    std::vector<LogLine> logs;
    int64_t pause_writes_until_ms = -1;  // -1: no change
    std::vector<std::pair<int, std::string>> finished_imports;
  };
  Pending pending_;
};

}  // namespace shardnode::clusterbus
