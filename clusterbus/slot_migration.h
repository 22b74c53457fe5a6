// Atomic slot migration (Valkey 9.0's CLUSTER MIGRATESLOTS): the decisions,
// as a pure core. The bytes are moved by node/migrate/atomic_migrator.h.
//
// One SlotMigrationJob per (source, target, slot ranges). The source (the
// slots' owner) drives it over one RESP connection it opens to the target's
// client port (our own node-to-node channel, CLUSTER SYNCSLOTS):
//
//   source                                        target
//   connect ------------------------------------>
//   CLUSTER SYNCSLOTS ESTABLISH SOURCE <id> NAME <job> SLOTSRANGE a b ...
//                                                 validates, creates the import
//                                                 job (slots hidden), +OK; from
//                                                 now on the link's other
//                                                 commands get no reply
//   snapshot: CLUSTER SYNCSLOTS LOAD <batch of keys> (a big value as
//   bounded ordinary commands), a batch per turn of the loop, interleaved in
//   order with every write the source makes to the slots (the write stream
//   filtered by slot); see node/migrate/atomic_migrator.h
//   CLUSTER SYNCSLOTS SNAPSHOT-EOF -------------->  :<online replicas>  (all
//                                                 before it is applied)
//   pause writes to the migrating slots only (reads go on; other slots too)
//   WAIT <replicas> <timeout> ------------------>  its replicas ACK the offset
//                                                 that holds every moved key
//   CLUSTER SYNCSLOTS FINISH <epoch> ----------->  bumps its config epoch
//   (my configEpoch, held from now                above <epoch> and every
//   until the job ends: no collision              epoch it knows, claims the
//   bump may move it)                             slots, saves nodes.conf
//                                                 (fsync), broadcasts;
//                                                 :<config epoch>
//   binds the slots to the target at that epoch, answers MOVED to the paused
//   writers, deletes its copies of the keys
//
// Failure before FINISH leaves the source authoritative: it unpauses, the
// target drops the staged keys. A failure that may pass (the link broke or
// went idle, the connect failed, the target's replicas did not ACK in time,
// the target refused ESTABLISH for a passing reason) starts the export again
// from the connect, a bounded number of times with a doubling backoff; the
// job's message says so meanwhile ("Retry 1 of 3 in 1000 ms after: ...")
// and after ("Succeeded after 1 retry; ..." / "... (gave up after 3
// retries)"). The new attempt's ESTABLISH carries the same job name: the
// target fails an import of that name still running there (its link died
// unseen) and refuses slots whose staged keys it is still deleting
// (kTargetCleaningUp), and any import while its writes are paused
// (kTargetPaused); both are retried. A link lost after FINISH was sent is
// ambiguous: the source stays paused (and deletes nothing) until it sees the
// target's claim in gossip (success) or the pause deadline passes (failed;
// the keys are still here).
//
// Pure: no sockets, no clock (time comes in as now_ms), no logging. Each
// step returns the actions the shell must carry out (MigrationAction, one
// std::variant handled exhaustively with std::visit).
// Loop: the control loop (the owner of the ClusterState).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "slots/slot_set.h"

namespace shardnode::clusterbus {

class ClusterState;

enum class MigrationOp { kImport, kExport };

enum class MigrationState {
  // Export (source) side.
  kConnecting,
  kReadingEstablishResponse,
  kSnapshotting,
  kReplicating,      // SNAPSHOT-EOF sent: the target catches up
  kFailoverPaused,   // writes to the slots paused; the target's replicas ACK
  kFailoverGranted,  // FINISH sent: the target claims the slots
  // Import (target) side.
  kReceivingSnapshot,
  kWaitingForPaused,  // SNAPSHOT-EOF applied
  // Both.
  kSuccess,
  kCancelled,
  kFailed,
};

// Valkey's state strings (GETSLOTMIGRATIONS "state").
std::string_view MigrationStateName(MigrationState state);
bool IsTerminal(MigrationState state);

// ---- Events (inputs) --------------------------------------------------------
struct MigConnected {};
struct MigConnectFailed {
  std::string error;  // the system's text, e.g. "Connection refused"
};
// The reply to ESTABLISH: empty error when +OK.
struct MigEstablishReply {
  std::string error;
};
// The source finished walking the slots' keys.
struct MigSnapshotDone {};
// The reply to SNAPSHOT-EOF: the target applied everything before it.
struct MigCaughtUp {
  int64_t target_replicas = 0;
};
// The reply to WAIT.
struct MigReplicasAcked {
  int64_t acked = 0;
};
// The reply to FINISH: the target's new config epoch, or an error.
struct MigFinishReply {
  uint64_t epoch = 0;
  std::string error;
};
// Import side: SNAPSHOT-EOF / FINISH received on the link.
struct MigSnapshotEofReceived {};
struct MigFinishReceived {};
// The link broke (either side).
struct MigLinkDown {
  std::string error;
};
// The cluster view changed: whether the slots' owner is now the target
// (export side), or no longer the source (import side), or myself lost
// them some other way.
struct MigOwnership {
  bool target_owns_all = false;
  bool source_owns_all = true;
};
// Any byte of the link made progress (resets the idle timeout).
struct MigProgress {};
struct MigCancel {};
// Myself became a replica, or the data was flushed.
struct MigAbort {
  std::string reason;
};
struct MigTick {};

using MigrationEvent =
    std::variant<MigConnected, MigConnectFailed, MigEstablishReply, MigSnapshotDone, MigCaughtUp,
                 MigReplicasAcked, MigFinishReply, MigSnapshotEofReceived, MigFinishReceived,
                 MigLinkDown, MigOwnership, MigProgress, MigCancel, MigAbort, MigTick>;

// ---- Actions (outputs) ------------------------------------------------------
struct ActConnect {};  // open the link to the target's client port
struct ActSendEstablish {};
struct ActStartSnapshot {};  // start walking the keys and forwarding writes
struct ActSendSnapshotEof {};
// Pause writes to the job's slots until `until_ms` (0: end the pause).
struct ActPauseSlots {
  int64_t until_ms = 0;
};
struct ActWaitReplicas {
  int64_t replicas = 0;
  int64_t timeout_ms = 0;
};
struct ActSendFinish {};
// Export done: bind the slots to the target at `epoch` (if newer than what
// is known), then delete this node's keys in them.
struct ActCommitExport {
  uint64_t epoch = 0;
};
// Import done: bump my config epoch, claim the slots, save, broadcast; the
// staged keys become visible.
struct ActClaimSlots {};
// Import failed: delete the staged keys of the slots (propagated).
struct ActDropImported {};
struct ActCloseLink {};

using MigrationAction =
    std::variant<ActConnect, ActSendEstablish, ActStartSnapshot, ActSendSnapshotEof, ActPauseSlots,
                 ActWaitReplicas, ActSendFinish, ActCommitExport, ActClaimSlots, ActDropImported,
                 ActCloseLink>;

struct MigrationTimeouts {
  // No progress on the link for this long fails the job (repl-timeout).
  int64_t idle_ms = 60'000;
  // The write pause on the slots (Valkey: cluster-manual-failover-timeout x 2).
  int64_t pause_ms = 10'000;
  // An export whose attempt failed for a reason that may pass (FailOrRetry's
  // callers; IsTransientEstablishError for ESTABLISH's refusals) starts
  // again from the connect, at most `retries` times, after
  // retry_backoff_ms, then twice that, and so on (beyond Valkey, which
  // fails the job at once). The import side never retries: the source
  // drives, and a new attempt reaches the target as a new ESTABLISH under
  // the same job name.
  int retries = 3;
  int64_t retry_backoff_ms = 1000;
};

// The ESTABLISH refusals that may pass by themselves (the target is still
// deleting a failed attempt's keys, its writes are paused, gossip has not
// told it about the source or the slots yet, it is loading), so an attempt
// that met one is retried.
bool IsTransientEstablishError(std::string_view error);
// The target's refusal while a previous attempt's staged keys of the slots
// are being deleted (without "ERR ").
inline constexpr std::string_view kTargetCleaningUp =
    "Slots are being cleaned up on the target after a previous attempt";
// The target's refusal while its writes are paused (a manual failover, a
// CLIENT PAUSE WRITE, a shutdown).
inline constexpr std::string_view kTargetPaused = "Writes are paused on the target";

class SlotMigrationJob {
 public:
  SlotMigrationJob(MigrationOp op, std::string name, std::vector<slots::SlotRange> ranges,
                   std::string source_id, std::string target_id, int64_t now_ms,
                   MigrationTimeouts timeouts = {});

  // Starts the job: the export side asks to connect; the import side was
  // established already (no action).
  std::vector<MigrationAction> Start(int64_t now_ms);
  // One input; returns what the shell must do, in order. Events that do not
  // apply to the current state are ignored, except that an unexpected
  // protocol step fails the job ("Unexpected state machine transition").
  std::vector<MigrationAction> Step(const MigrationEvent& event, int64_t now_ms);

  MigrationOp op() const { return op_; }
  const std::string& name() const { return name_; }
  const std::vector<slots::SlotRange>& ranges() const { return ranges_; }
  const slots::SlotSet& slot_set() const { return slot_set_; }
  bool HasSlot(int slot) const { return slot_set_.Test(slot); }
  const std::string& source_id() const { return source_id_; }
  const std::string& target_id() const { return target_id_; }
  MigrationState state() const { return state_; }
  bool finished() const { return IsTerminal(state_); }
  const std::string& message() const { return message_; }
  // "0-9 20-29".
  std::string RangesText() const;
  // Seconds since the epoch, as GETSLOTMIGRATIONS reports them.
  int64_t create_time() const { return create_ms_ / 1000; }
  int64_t last_update_time() const { return update_ms_ / 1000; }
  int64_t last_ack_time() const { return ack_ms_ / 1000; }
  // Whether writes to the slots are paused now (export side).
  bool paused() const { return pause_until_ms_ != 0; }
  int64_t pause_until_ms() const { return pause_until_ms_; }
  // The longest write pause so far, in ms (0 until one ended).
  int64_t write_pause_ms() const { return write_pause_ms_; }
  // Export: how many times the job started again after a transient failure,
  // and whether it waits to (the next attempt connects at retry_at_ms()).
  int retries() const { return retries_; }
  bool retry_pending() const { return retry_at_ms_ != 0; }
  int64_t retry_at_ms() const { return retry_at_ms_; }

 private:
  void SetState(MigrationState s, int64_t now_ms);
  // Ends the job as failed / cancelled, with the cleanup its state needs.
  void Fail(std::string message, int64_t now_ms, std::vector<MigrationAction>* out);
  // A failure that may pass: an export with retries left closes the link,
  // unpauses and waits for the next attempt (back in kConnecting); anything
  // else fails.
  void FailOrRetry(std::string message, int64_t now_ms, std::vector<MigrationAction>* out);
  void End(MigrationState terminal, std::string message, int64_t now_ms,
           std::vector<MigrationAction>* out);
  void Unpause(int64_t now_ms, std::vector<MigrationAction>* out);
  void Succeed(int64_t now_ms, std::vector<MigrationAction>* out, uint64_t epoch);

  MigrationOp op_;
  std::string name_;
  std::vector<slots::SlotRange> ranges_;
  slots::SlotSet slot_set_;
  std::string source_id_;
  std::string target_id_;
  MigrationTimeouts timeouts_;
  MigrationState state_;
  std::string message_;
  int64_t create_ms_;
  int64_t update_ms_;
  int64_t ack_ms_;
  int64_t pause_until_ms_ = 0;
  int64_t pause_start_ms_ = 0;
  int64_t write_pause_ms_ = 0;
  int64_t target_replicas_ = 0;
  bool link_lost_after_finish_ = false;
  int retries_ = 0;
  int64_t retry_at_ms_ = 0;   // 0: no attempt waits to start
  std::string last_failure_;  // what the last retried attempt met
};

// CLUSTER SYNCSLOTS HIDDEN "<slots>": how a target tells its replicas which
// slots it is importing (and so hides), the whole set each time, as
// SlotSet::Format writes it ("" for none). Sent in the replication stream
// only to shardnode replicas (those that announced capa shardnode-setslot),
// when the set changes and after an image (a replica clears its own when an
// image comes, so only a non-empty set follows one); a replica sets its own hidden
// set to it (as the primary's commands are applied, the reply goes nowhere).
std::vector<std::string> HiddenSlotsCommand(const slots::SlotSet& hidden);

// What a primary does at startup, once its data is loaded, with a slot it
// holds keys of (Persistence::ReconcileClusterSlots). `mine`: nodes.conf
// binds the slot to me; `importing`: a legacy CLUSTER SETSLOT IMPORTING
// (nodes.conf's [slot-<-node]); `assigned`: bound to some node; `dropped`:
// the slot is in the drop record (node/server/nodes_conf_file.h), so its
// keys here came from an atomic import that never claimed it, or are left
// from an export or a failed import that was deleting them. Keys of my slots
// and of legacy imports are kept; recorded keys of a slot that is not mine
// are dropped (hidden first, then deleted with DELs that reach the AOF and
// replicas); the others follow Redis 7.0: an unassigned slot is taken, one
// bound elsewhere is set importing.
enum class StartupSlotFate { kKeep, kDrop, kTakeOwnership, kSetImporting };
StartupSlotFate DecideStartupSlot(bool mine, bool importing, bool assigned, bool dropped);

// One SLOTSRANGE ... NODE ... block of MIGRATESLOTS, validated.
struct MigrateSlotsRequest {
  std::vector<slots::SlotRange> ranges;
  std::string target_id;
};

// The jobs of this node (both directions) and the finished ones kept for
// GETSLOTMIGRATIONS (at most `log_max_len` finished, oldest dropped first).
class SlotMigrations {
 public:
  static constexpr size_t kDefaultLogMaxLen = 1000;

  // CLUSTER MIGRATESLOTS's arguments (args[0] is "CLUSTER", args[1]
  // "MIGRATESLOTS"), checked in Valkey's order against `cluster`. Errors
  // are Valkey's texts, without "ERR " (a syntax error is "syntax error").
  absl::StatusOr<std::vector<MigrateSlotsRequest>> ParseMigrateSlots(
      std::span<const std::string> args, const ClusterState& cluster) const;
  // CLUSTER SYNCSLOTS ESTABLISH's arguments (from args[3]), on the target.
  struct Establish {
    std::string source_id;
    std::string name;
    std::vector<slots::SlotRange> ranges;
  };
  absl::StatusOr<Establish> ParseEstablish(std::span<const std::string> args,
                                           const ClusterState& cluster) const;

  SlotMigrationJob& Add(std::unique_ptr<SlotMigrationJob> job);
  SlotMigrationJob* Find(std::string_view name);
  // Newest first.
  const std::deque<std::unique_ptr<SlotMigrationJob>>& jobs() const { return jobs_; }
  // Drops the oldest finished jobs beyond the log's length.
  void Trim();
  void set_log_max_len(size_t n) { log_max_len_ = n; }

  // Whether a job in progress exports / imports `slot`.
  bool Exporting(int slot) const;
  bool Importing(int slot) const;
  bool AnyExporting() const;
  bool AnyImporting() const;
  // Why CLUSTER SETSLOT is refused now (Valkey's text, without "ERR "): a
  // job in progress owns its slots' states, so every SETSLOT waits for it
  // to end, whatever the slot. Empty when SETSLOT may run.
  std::string_view SetSlotRefusal() const;

 private:
  std::deque<std::unique_ptr<SlotMigrationJob>> jobs_;
  size_t log_max_len_ = kDefaultLogMaxLen;
};

}  // namespace shardnode::clusterbus
