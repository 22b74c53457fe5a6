// AtomicMigrator: the shell of atomic slot migration (Valkey 9.0's CLUSTER
// MIGRATESLOTS, GETSLOTMIGRATIONS, CANCELSLOTMIGRATIONS and the internal
// SYNCSLOTS). The decisions are clusterbus/slot_migration.h's pure jobs;
// this file carries out their actions (std::visit over MigrationAction, no
// default branch) and feeds them what happened.
//
// The channel is one RESP connection from the source to the target's client
// port (RespClient), described in clusterbus/slot_migration.h. On it:
//   - the snapshot: the slots' keys walked slot by slot (Db::Scan's cursor),
//     one batch per turn of the loop (other clients and the bus run in
//     between): CLUSTER SYNCSLOTS LOAD <batch>, where the batch is a format
//     byte (kLoadFormat) then, per key, u32 key length, key, i64 absolute
//     expiry in ms (0: none), u32 payload length, payload in DUMP's format
//     (RDB value, RDB version, CRC64; a string is never LZF-compressed
//     there, which cost more CPU than it saved), integers little-endian; at most
//     kKeysPerBatch keys or about kBatchBytes. The target checks the whole
//     batch (format, lengths, every key in the job's slots) before applying
//     it, and propagates each key to its replicas and AOF as the
//     RESTORE key expiry payload REPLACE ABSTTL it stands for. A value too
//     big for a batch (ValueDumper::sliced(): a string over 1 MB, a
//     collection over 1024 elements) is rebuilt with ordinary commands, one
//     per turn of the loop: SET then APPEND of at most kBigStringBytes, or
//     DEL then HSET / SADD / ZADD / RPUSH of at most kBigElements elements,
//     then PEXPIREAT; the key is frozen meanwhile (KeysInFlight: commands
//     on it wait, as for MIGRATE), so no payload of the whole value is ever
//     built, on either side, and no step stalls a loop. The target applies
//     them like any link command (the slot is hidden until the claim) and
//     its replicas and AOF receive them as they are.
//     One command per batch instead of one per key: the target parses and
//     dispatches once per batch. No fork and no global image:
//     every write made to the slots since the job started goes on the same
//     connection, in order (this is a WriteConsumer of the write stream,
//     filtered by slot), so a key sent early is brought up to date by the
//     writes that follow it, and a key written before the walk reaches it is
//     replaced by its current value when it does. Every command the target
//     applies is deterministic (the replication stream's form), so the
//     target ends with the source's image of the slots;
//   - CLUSTER SYNCSLOTS ACK every second both ways as a keepalive;
//   - the handoff steps (SNAPSHOT-EOF, WAIT, FINISH <source configEpoch>).
// The source's output waiting for the socket is bounded (kMaxOutputBytes):
// the walk waits for it to drain; past the bound the job fails.
//
// On the target the link is an ordinary client session marked import_link:
// its commands apply to the importing slots without routing, replicate to
// the target's replicas and AOF like any write, and get no replies. Keys of
// importing slots are hidden (Server::SetSlotsHidden) until the claim, on
// its shardnode replicas too (SetHidden sends them the hidden set,
// clusterbus::HiddenSlotsCommand).
//
// A restart must not keep an unfinished import's keys: the AOF replays them
// (as RESTOREs, nothing marks them) and Redis 7.0's rule would then set the
// slots importing. So a primary keeps the drop record beside nodes.conf
// (node/server/nodes_conf_file.h), rewritten (fsync, rename) whenever it
// changes: its hidden slots and the slots whose keys it is deleting (after
// an export, a failed import, or a restart). At startup a recorded slot that
// nodes.conf does not bind to me has its keys hidden, then deleted here
// (DropOrphanHiddenSlots) with DELs that reach the AOF and replicas, and
// leaves the record once they are gone. A claim leaves the record only after
// nodes.conf holds it (ClaimSlots).
//
// The handoff pauses writes to the moving slots only (Server::
// SetSlotWritesPaused): reads, and every other slot, go on. Writers that
// waited run again once the slots moved and get MOVED.
//
// Loop: the control loop (Server's). Not thread-safe.
#pragma once

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>
// The others.
#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "clusterbus/slot_migration.h"

namespace shardnode::node {

class Server;
struct CommandContext;

namespace migrate {

class AtomicMigrator {
 public:
  static constexpr size_t kMaxOutputBytes = 256 * 1024 * 1024;
  // The walk waits for the socket when this much is queued.
  static constexpr size_t kDrainAbove = 8 * 1024 * 1024;
  // Keys deleted per turn of the loop (a quarter of the DELs of a slice).
  static constexpr size_t kKeysPerSlice = 256;
  // The snapshot's batches (CLUSTER SYNCSLOTS LOAD): one per turn of the
  // loop, at most this many keys or about this many bytes (a bigger value
  // goes alone, as RESTORE), Db::Scan called kScanStep keys at a time.
  static constexpr size_t kKeysPerBatch = 1024;
  static constexpr size_t kBatchBytes = 256 * 1024;
  static constexpr size_t kScanStep = 64;
  // A big value (ValueDumper::sliced()) is rebuilt on the target with
  // ordinary commands of at most kBigElements elements or kBigStringBytes
  // bytes each (SendBigKey).
  static constexpr size_t kBigElements = 1024;
  static constexpr size_t kBigStringBytes = 1024 * 1024;
  // The first byte of a LOAD batch (its format's version).
  static constexpr char kLoadFormat = 1;
  static constexpr int64_t kTickMs = 100;
  static constexpr int64_t kAckEveryMs = 1000;

  // REQUIRES: `io` and `server` outlive the migrator.
  AtomicMigrator(boost::asio::io_context& io, Server& server);
  ~AtomicMigrator();
  AtomicMigrator(const AtomicMigrator&) = delete;
  AtomicMigrator& operator=(const AtomicMigrator&) = delete;

  // Installs Server::slot_migration and on_session_detached, starts the tick.
  void Start();
  // Cancels every job and stops the tick.
  void Stop();

  // CLUSTER MIGRATESLOTS | GETSLOTMIGRATIONS | CANCELSLOTMIGRATIONS | SYNCSLOTS.
  void Handle(CommandContext& ctx, std::span<std::string> args);

  const clusterbus::SlotMigrations& jobs() const { return jobs_; }

 private:
  struct Link;  // one job's I/O (export: the client; import: the session)

  void MigrateSlots(CommandContext& ctx, std::span<std::string> args);
  void GetSlotMigrations(CommandContext& ctx);
  void Cancel(CommandContext& ctx);
  void SyncSlots(CommandContext& ctx, std::span<std::string> args);

  // Feeds `event` to the job and carries out what it decided.
  void Feed(clusterbus::SlotMigrationJob& job, const clusterbus::MigrationEvent& event);
  void CarryOut(clusterbus::SlotMigrationJob& job,
                std::vector<clusterbus::MigrationAction> actions);
  Link* LinkOf(const clusterbus::SlotMigrationJob& job);
  // A link for `job` (replacing its entry in links_), with a new serial.
  std::shared_ptr<Link> NewLink(const clusterbus::SlotMigrationJob& job);
  // Feeds `event` to the job `name` on a later turn of the loop, if its
  // link is still the one numbered `serial` (not a closed attempt's).
  void FeedIfCurrent(const std::string& name, uint64_t serial, clusterbus::MigrationEvent event);
  // ESTABLISH of a job name whose import is still running here (the
  // source's previous attempt, whose link died unseen): fails that import.
  void SupersedeImport(std::span<const std::string> args);
  // Holds configEpoch collision bumps while an export has sent FINISH.
  void HoldEpochWhileGranted();

  boost::asio::awaitable<void> Connect(std::shared_ptr<Link> link);
  // Reads one reply and feeds the job what it means (`kind` names the step).
  enum class Awaiting { kEstablish, kCaughtUp, kWait, kFinish };
  boost::asio::awaitable<void> ReadStep(std::shared_ptr<Link> link, Awaiting kind);
  boost::asio::awaitable<void> Walk(std::shared_ptr<Link> link);
  // Deletes the keys of `slot_list` (a slice per turn of the loop, DELs to
  // the write stream), the slots in the drop record meanwhile; with `show`
  // the slots are hidden until their keys are gone, then shown.
  void DropKeys(std::vector<int> slot_list, bool show);
  boost::asio::awaitable<void> DeleteKeys(std::vector<int> slots, bool show);
  // Rewrites the drop record (node/server/nodes_conf_file.h) when what it
  // must hold changed: my hidden slots and those being deleted.
  void SyncDropRecord();
  // Sends the big value of `key` (db `dbi`, slot `slot`) a slice per turn of
  // the loop; false when the link failed.
  boost::asio::awaitable<bool> SendBigKey(std::shared_ptr<Link> link, int slot, int dbi,
                                          std::string key);
  // Appends to `out` the SELECT that makes `db` the link's (nothing when it
  // is already).
  void SelectOnLink(Link& link, int db, std::string* out);
  // CLUSTER SYNCSLOTS LOAD on the import side: applies a snapshot batch.
  void ApplyLoad(CommandContext& ctx, Link& link, clusterbus::SlotMigrationJob& job,
                 std::string_view blob);
  // Sends one command on the export link; false (and the link fails) when
  // it could not be queued.
  bool SendOn(Link& link, std::vector<std::string> args);

  void ClaimSlots(clusterbus::SlotMigrationJob& job);
  // Hides (or shows) `slots` here and tells my replicas the hidden set.
  void SetHidden(const slots::SlotSet& slots, bool hidden);
  // A primary whose hidden slots no import job holds (a replica promoted
  // during its primary's import, or a node that restarted with an
  // unfinished import's keys: Persistence::ReconcileClusterSlots) drops
  // their keys and then shows the slots.
  void DropOrphanHiddenSlots();
  void CommitExport(clusterbus::SlotMigrationJob& job, uint64_t epoch);
  void Tick();
  void ArmTick();

  boost::asio::io_context& io_;
  Server& server_;
  boost::asio::steady_timer tick_;
  bool stopped_ = false;
  int64_t last_ack_ms_ = 0;
  clusterbus::SlotMigrations jobs_;
  std::map<std::string, std::shared_ptr<Link>> links_;  // by job name
  uint64_t link_serials_ = 0;
  // Per slot, how many DeleteKeys runs are deleting its keys.
  std::map<int, int> dropping_;
};

}  // namespace migrate
}  // namespace shardnode::node
