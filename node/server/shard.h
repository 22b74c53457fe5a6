// Shard: what a command runs on. A handler reaches its data through this view
// (CommandContext::shard) and node-wide services through NodeServices, never
// through the whole Server.
//
// The view holds the keyspace shards (each owns the keys of its hash slots;
// the context's grant decides which it may reach), the watch and blocking
// indexes (each split into one part per keyspace shard), the statistics its
// commands count and the keys in flight to other nodes. The Server builds
// one view per keyspace shard (Server::shard_view): a command granted
// exactly one shard runs on that shard's view, any other command (keyless,
// several shards, a fan-out's merge) on view 0, the control loop's. Each
// view counts into its own Stats and CommandStats; readers sum them
// (NodeServices::TotalStats, TotalCommandStats). With one shard thread
// (today) one thread runs every view.
//
// Loop: the shard's thread (today the control loop).
//
// State ownership, for shard threads (`threads N` > 1). "Control" is the
// control loop (thread 0, which also serves shard 0); "owner" is the thread
// of the shard a command was granted. What each piece of node-wide state a
// command may touch belongs to, and how another thread reaches it:
//   - keys, per-slot index, expiry index, DbStats (hits, misses, expired):
//     the keyspace shard's owner. Other threads only through a fan-out step
//     (fan_out.h) or a global step (every shard parked).
//   - Stats (shard.h): one per view, written by the view's thread only;
//     Server::stats() is view 0's (what the control loop counts: connections,
//     the cron, replication, evictions). INFO and the cron's samples sum
//     them (TotalStats / TotalStat); CONFIG RESETSTAT resets every view's and
//     every DbStats; `dirty` is summed for the save points and set through
//     SetDirty (a save, DEBUG LOADAOF) - both on the control loop, which with
//     shard threads must run them as a global step.
//   - CommandStats (INFO commandstats / latencystats, LATENCY HISTOGRAM):
//     one set per view (command_stats, by CommandSpec::stats_index), written
//     by the view's thread only: a command counts on the view it runs on, a
//     refusal before it ran (arity, ACL, routing, a script's refusals) and
//     MULTI/EXEC/DISCARD on view 0; a blocked client's failed_calls points
//     into the view it blocked on (CLIENT UNBLOCK counts there: with shard
//     threads, a post to that thread). Readers sum them (TotalCommandStats);
//     CONFIG RESETSTAT resets every view's (a global step with threads).
//   - the write stream (write_stream.h): the control loop's; a shard
//     thread appends through its own WriteStream::Producer (units committed
//     whole under one short lock, delivered by the control loop in commit
//     order, one global offset advanced there). The dispatcher's unit
//     around a command, the command's writes, the lazy-expire DELs
//     (Db::on_key_expired) and the writes of the blocked clients it serves
//     go through RunningWriter: the running thread's producer when it
//     installed one (RunningProducerScope: a shard thread, for its run),
//     else the stream (the control loop, and every thread today). The
//     other writers (evictions, MIGRATE, slot deletions, replication's own
//     writes) run on the control loop.
//   - options: Config::options() is the control loop's live copy;
//     Config::options_snapshot() an immutable copy swapped by CONFIG SET
//     (and PublishOptions), for the shard threads.
//   - client pauses (Server::WritesPaused / AllPaused): set on the control
//     loop, atomics readable anywhere. The slot pauses and hidden slots of
//     atomic migration (SlotWritesPaused, SlotHidden) are control-loop
//     bitsets: to be published as a snapshot like the slot table before a
//     shard thread reads them.
//   - pre_command_oom: the state of the command running, so the running
//     thread's (to move into the view with shard threads); the evictor and
//     the memory counter: UsedMemory() is one process-wide atomic (any
//     thread); eviction walks every shard, so it runs on the control loop
//     (Evictor::Start/Continue posted there) as a global step.
//   - the watch index (watch.h): one WatchTable per keyspace shard, the
//     owner's (keyspace i's Db hooks touch table i only); WATCH over keys of
//     several shards, UNWATCH, EXEC / DISCARD / RESET's unwatch, a client's
//     detach and SWAPDB walk several tables (WatchIndex): global steps. The
//     session's dirty flag (Session::watch_dirty) is the one field of a
//     session that an owner writes: a SharedFlag (atomic).
//   - the blocking index (blocking.h): one BlockedKeys per keyspace shard
//     (waited keys and ready queue), the owner's: keyspace i's Db hooks
//     signal BlockedKeys i, and a key made ready there is served from it.
//     The records of blocked clients and their deadlines are the session's
//     side (BlockingTable): Block and Unblock touch the BlockedKeys of every
//     key of the client (a global step when they span shards; so does the
//     serving of ready keys of several shards, in their signal order).
//   - still control-loop-only, reached from another thread by posting to
//     the control loop (the next session's work): keys in
//     flight (MIGRATE runs on the control loop; a command on a shard thread
//     checks them under the global step that MIGRATE's slices are), Pub/Sub
//     and keyspace events (Db::on_event publishes to PubSub: to be queued by
//     the owner and published by the control loop), client tracking
//     (KeyModified: likewise queued), Monitoring (slowlog, latency events,
//     MONITOR feed, ops samples: per-view buffers merged by the cron, or a
//     post), the client table and ids, the OutputGate and AOF state,
//     persistence, replication and the cluster state.
//
// What runs on shard threads today (step A): `threads N` starts N - 1
// shard threads (node/net/shard_threads.h) and the NetServer spreads client
// connections over them and the control loop, round-robin (TLS ones stay on
// the control loop). A connection's shard thread owns its socket: it reads
// (one chunk at a time, posted to the control loop, the next read only when
// the control loop asks) and sends (output posted to it, counted as unsent
// until the socket took it), and closes it. Sessions, query buffers,
// parsing, replies and every command stay on the control loop, so every
// view still runs there and nothing of the ownership list above is crossed
// yet (net_server.cc, Connection, says which member each side touches).
//
// How shard threads are to run commands (the next steps; not built yet):
//   - The global step is taken lazily, by the accessors. On the control
//     loop with N > 1, reaching another shard's data (Server::shard(i),
//     ShardForSlot, view 0's keyspace(i), the watch and blocking walks, a
//     push to a session homed on another thread) first parks every other
//     shard thread (a handler posted to each, which blocks until released)
//     unless they are parked already, and posts the release to the control
//     loop at that moment: the step lasts to the end of the control loop's
//     current handler (and whatever was queued before the release), so no
//     caller of the control loop (bus actions, cron, replication, snapshot
//     slices, MIGRATE, scripts) needs to know about it. The rule it asks
//     for: no reference into another shard's data is kept across a
//     co_await or a post on the control loop (fetch it again after); TSan
//     at threads 4 finds the places that break it.
//   - Connections are spread over the shard threads (their socket, query
//     buffer, parser, reply buffer and Session live there). A command runs
//     on its connection's thread when it touches only that thread's shard
//     and nothing of the control loop's list above is in play: a node-wide
//     word, set by the control loop during a global step, says whether any
//     of keyspace events, tracking clients, MONITOR, blocked clients,
//     a client pause, keys in flight, an atomic migration, a snapshot or
//     rewrite in progress, appendfsync always, maxmemory over its limit,
//     or the replica role is in play; a command flag says whether the
//     command is a plain data command (not blocking, Pub/Sub, admin,
//     script, MULTI/EXEC) and the session says whether it is in MULTI,
//     tracking, monitoring, subscribed in RESP2 or a replication link.
//   - Such a command on another shard's keys goes to that shard's thread
//     with its session (the home thread does not touch the session until
//     the reply is back; consecutive commands for one shard travel as one
//     batch, so pipelines keep their batching), and replies stay in request
//     order because a connection has one batch out at a time. Any other
//     command goes to the control loop the same way and runs there under
//     the global step.
//   - Per thread: a Dispatcher (its slot-table reader and propagation
//     state), a view's Stats, a write-stream producer (exists), the read
//     scratch room (exists). Client ids become an atomic; the client table,
//     Register and Detach go through the control loop; slow log and latency
//     events (rare) take a short lock.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "node/keyspace/slot_share.h"
#include "node/server/latency.h"
#include "slots/hash_slot.h"

namespace shardnode::node {

class Keyspace;
class WatchIndex;
class BlockingTable;
class KeysInFlight;

struct Stats {
  uint64_t total_connections_received = 0;
  uint64_t total_commands_processed = 0;
  uint64_t total_net_input_bytes = 0;
  uint64_t total_net_output_bytes = 0;
  uint64_t rejected_connections = 0;
  uint64_t total_error_replies = 0;
  uint64_t unexpected_error_replies = 0;
  uint64_t keyspace_hits = 0;
  uint64_t keyspace_misses = 0;
  uint64_t expired_keys = 0;
  uint64_t evicted_keys = 0;
  uint64_t evicted_clients = 0;  // maxmemory-clients
  uint64_t dirty = 0;            // changes since the last save
  // Socket reads and writes that moved client bytes (INFO stats
  // total_reads_processed / total_writes_processed).
  uint64_t total_reads_processed = 0;
  uint64_t total_writes_processed = 0;
  // Reply buffers resized by the cron (INFO reply_buffer_shrinks / _expands).
  uint64_t reply_buffer_shrinks = 0;
  uint64_t reply_buffer_expands = 0;
  // Error replies by their first word (INFO errorstats), at most 128 codes.
  std::map<std::string, uint64_t, std::less<>> error_codes;
  // CONFIG RESETSTAT: every figure but `dirty`, which save points and INFO
  // persistence go on counting (as Redis's resetServerStats leaves it).
  void Reset() {
    const uint64_t kept = dirty;
    *this = Stats();
    dirty = kept;
  }
  // Counts one error reply (`message` without the leading '-').
  void CountError(std::string_view message);
};

// Per-command statistics (INFO commandstats and latencystats, LATENCY
// HISTOGRAM): each view keeps one set per command (Shard::command_stats, by
// CommandSpec::stats_index), written by the view's thread only; readers sum
// them (NodeServices::TotalCommandStats).
struct CommandStats {
  uint64_t calls = 0;
  uint64_t usec = 0;
  uint64_t rejected_calls = 0;  // refused before running (arity, auth, routing...)
  uint64_t failed_calls = 0;    // ran and replied with an error
  // Durations (latency-tracking: INFO latencystats, LATENCY HISTOGRAM).
  LatencyHistogram histogram;
  // Adds `other`'s figures.
  void Add(const CommandStats& other) {
    calls += other.calls;
    usec += other.usec;
    rejected_calls += other.rejected_calls;
    failed_calls += other.failed_calls;
    histogram.Merge(other.histogram);
  }
};

class Shard {
 public:
  // REQUIRES: every pointee outlives the view; `keyspaces` is not empty.
  Shard(std::vector<std::unique_ptr<Keyspace>>* keyspaces, WatchIndex* watches,
        BlockingTable* blocking, Stats* stats, KeysInFlight* keys_in_flight)
      : keyspaces_(keyspaces),
        watches_(watches),
        blocking_(blocking),
        stats_(stats),
        keys_in_flight_(keys_in_flight) {}
  Shard(const Shard&) = delete;
  Shard& operator=(const Shard&) = delete;

  // The keyspace shards, split by hash slot (Server::ShardIndexForSlot).
  // Handlers do not walk them: they reach keys through their context's
  // DbFor (bound to the shards the dispatcher granted them), and commands
  // that span shards run as a fan-out that the dispatcher drives
  // (node/commands/fan_out.h).
  int num_keyspaces() const { return static_cast<int>(keyspaces_->size()); }
  int IndexForSlot(int slot) const { return KeyspaceShardOfSlot(slot, num_keyspaces()); }
  Keyspace& keyspace(int i) { return *(*keyspaces_)[i]; }
  Keyspace& KeyspaceForSlot(int slot) { return keyspace(IndexForSlot(slot)); }

  // The node's watch index: keyspace shard i's keys are in its table(i).
  WatchIndex& watches() { return *watches_; }
  BlockingTable& blocking() { return *blocking_; }
  Stats& stats() { return *stats_; }
  // This view's statistics of the command whose CommandSpec::stats_index
  // is `index` (commands registered late, node/repl's, grow the set).
  // References stay valid as the set grows (a blocked client keeps its
  // command's failed_calls). REQUIRES: index >= 0.
  CommandStats& command_stats(int index) {
    const size_t i = static_cast<size_t>(index);
    if (i / kStatsChunk >= command_stats_.size()) [[unlikely]] {
      command_stats_.resize(i / kStatsChunk + 1);
      for (auto& chunk : command_stats_) {
        if (chunk == nullptr) chunk = std::make_unique<StatsChunk>();
      }
    }
    return (*command_stats_[i / kStatsChunk])[i % kStatsChunk];
  }
  // The same, for a reader: nullptr when this view never counted it (or a
  // zeroed set).
  const CommandStats* FindCommandStats(int index) const {
    const size_t i = static_cast<size_t>(index);
    return i / kStatsChunk < command_stats_.size()
               ? &(*command_stats_[i / kStatsChunk])[i % kStatsChunk]
               : nullptr;
  }
  // CONFIG RESETSTAT: every command's figures back to zero.
  void ResetCommandStats() {
    for (auto& chunk : command_stats_) {
      for (CommandStats& st : *chunk) st = CommandStats();
    }
  }
  KeysInFlight& keys_in_flight() { return *keys_in_flight_; }

 private:
  std::vector<std::unique_ptr<Keyspace>>* keyspaces_;
  WatchIndex* watches_;
  BlockingTable* blocking_;
  Stats* stats_;
  KeysInFlight* keys_in_flight_;
  // In fixed chunks, so references stay valid as the set grows and a lookup
  // is a shift and two loads (a deque's index cost ~60 instructions per
  // command).
  static constexpr size_t kStatsChunk = 64;
  using StatsChunk = std::array<CommandStats, kStatsChunk>;
  std::vector<std::unique_ptr<StatsChunk>> command_stats_;
};

}  // namespace shardnode::node
