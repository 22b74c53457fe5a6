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
// Loop: the shard's thread (the control loop for every view; view i's plain
// data commands run on shard thread i while Server::shard_commands is on).
//
// State ownership, for shard threads (`threads N` > 1). "Control" is the
// control loop (it owns no keyspace shard of its own); "owner" is the thread
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
//   - pre_command_oom: the state of the command running on the control
//     loop (a shard thread runs a command only while the node is under
//     maxmemory: Dispatcher::PlainShard; it evicts nothing); the evictor and
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
//   - keyspace events: raised on a shard thread, queued in the Server's
//     KeyspaceEventQueue (one mutex, so in the order the commands ran) and
//     published by the control loop (keyspace_events.h).
//   - keys in flight (keys_in_flight.h): MIGRATE adds and removes them on
//     the control loop, in its global steps; a command on one of them goes
//     to the control loop (Dispatcher::PlainShard), which holds it back
//     until the MIGRATE is over.
//   - MONITOR: a shard thread's command queues its line
//     (Monitoring::shard_lines, a HandoffQueue like the keyspace events');
//     the control loop sends the lines in the order the commands ran, before
//     anything else it does. The slow log and latency events: under one
//     mutex.
//   - still control-loop-only, reached from another thread by posting to
//     the control loop: Pub/Sub,
//     client tracking (a shard thread runs no command on a key it
//     concerns: Tracking::Concerns), the ops samples (per-view counters
//     read by the cron), the client table and ids,
//     the OutputGate and AOF state, persistence, replication and the
//     cluster state.
//
// What runs on shard threads today (steps A to E): `threads N` (N > 1)
// starts N shard threads (node/net/shard_threads.h) beside the control
// loop; shard thread i serves keyspace shard i, and the control loop owns
// none (it reaches every shard under the global step). The NetServer
// spreads client connections over the shard threads, round-robin (TLS ones
// stay on the control loop). A connection's shard thread owns its socket:
// it reads one chunk at a time and sends (output posted to it, counted as
// unsent until the socket took it), and closes it.
//
// Who runs a chunk's commands: the node-wide word (Server::shard_commands)
// says whether shard threads may run commands at all. It is on while none
// of the features that a plain data command would have to tell is in use
// (Server::ShardCommandsBlocker: ready keys of blocked clients
// not served yet, loading, a busy script, a held output gate; a command
// goes to the control loop while maxmemory-clients' running total of the
// clients' memory is at its limit, Server::NeedsClientEviction). While it is
// on, every handler of the control loop first
// takes the global step (NetServer's StepHook, run by Asio before each
// handler through base/asio_handler_hook.h: every shard thread parked
// between two of its handlers, the writes they committed delivered and the
// keyspace events they raised published first) and the step's end
// recomputes the word; it is turned on by a handler of its own (every
// 100 ms), as that handler's last action. So a shard thread that found the
// word on runs while the control loop runs nothing: it may read any
// control loop state (options, the cluster's slot table, the command
// table, the session's flags, the replication role) and writes only its
// own keyspace shard, its view's Stats and CommandStats, its write-stream
// producer, the keyspace event queue and the connection it runs (the slow
// log, the latency monitor and the ACL log under one mutex). The socket
// thread then runs the chunk itself while its commands are plain data
// commands of its own shard (Dispatcher::PlainShard); a plain data command
// of another shard's keys goes, with the rest of the chunk, to that
// shard's thread, and any other command to the control loop, which hands
// plain commands back the same way. A connection is touched by one thread
// at a time: the one its chunk was posted to. The replies go back in
// request order in one buffer; the read after them is asked by whichever
// thread ends the chunk. Key-wide and multi-shard commands, MULTI/EXEC,
// blocking, Pub/Sub, scripts and everything else run on the control loop,
// as at `threads 1`; so do a replica's writes (its primary's stream is
// applied there; its clients' reads run on the shard threads), a command
// on a key some blocked client waits for (the control loop serves the
// waiters right after it, before the next command), a command on a key a
// tracking client may cache or under a BCAST prefix (the control loop
// sends the invalidations; tracking clients' own commands run there too,
// remembering what they read), a command on a key a MIGRATE has in
// flight, a write to a slot an atomic slot migration's handoff paused
// and, while a client pause is set, every command it may hold (each held
// back there until the MIGRATE or the pause is over; the
// slots a target imports are hidden from the key-wide commands only, all
// on the control loop, and their keys reach the shard threads as MOVED)
// and, with maxmemory
// set, every command while the node is over the limit (or an eviction run
// is unfinished): the control loop evicts, walking every shard, or refuses
// with OOM. With the AOF on, a reply must not leave before the AOF wrote
// the write it acknowledges: a chunk that ran on a shard thread with
// writes committed and not yet acknowledged (its own, or earlier ones of
// that thread, which it may have read: WriteStream::ReplyWaits) ends on the
// control loop, whose step takes them to the AOF and holds the reply at
// the OutputGate; the step's end has the AOF write (and fsync, per policy)
// what it was given, releases the gate and acknowledges the delivered
// units, so the gate is never held while shard threads run. While a
// snapshot is live (BGSAVE, a full sync, an AOF rewrite), a shard thread's
// write first saves its keys' values at the snapshot's instant
// (Server::before_write, serialized between shard threads by
// Persistence's mutex); the snapshot is fixed, walked and read in global
// steps, where the committed writes were drained first, so its instant
// and the write stream's offset (or the AOF's new incr file) agree. A
// normal client's output limit is checked by the thread running its
// connection, as its reply grows and after the chunk (a client over it is
// closed by the control loop, where the chunk then ends). With the word
// off, every command runs on the control loop (step A) and the shard
// threads only move bytes.
//
// Order across connections: Redis's one event loop reads a socket that
// became readable earlier first; here two clients' chunks reach the control
// loop (or a shard thread) from different socket threads in no set order.
// Where Redis's own tests rely on it, a command that reports on other
// clients (INFO, CLIENT LIST, CLIENT KILL: Dispatcher::ObservesOtherClients)
// first passes an input fence (net_server.cc): it waits (kInputFence) until
// every shard thread's reactor has polled and what it read was posted on,
// then runs; so a big argument another client sent just before counts in
// its memory, and SHUTDOWNs sent just before on other connections are seen.
// Other commands are not fenced (a fence costs a round trip through every
// shard thread): a deferred command of one client and the next command of
// another may still run in either order.
//
// Left of the plan below: the features in the blocker list turn the word
// off instead of being served from the shard threads.
//
// The plan this follows (kept for the parts not built yet):
//   - The global step is taken lazily, by the accessors. (Built instead as
//     a step around every control loop handler while the word is on.)
//   - Connections are spread over the shard threads; a command runs on its
//     connection's thread when it touches only that thread's shard and
//     nothing of the control loop's list above is in play (the word, a
//     command flag, the session's state).
//   - Such a command on another shard's keys goes to that shard's thread
//     with its connection; replies stay in request order because a
//     connection has one chunk in flight at a time. Any other command goes
//     to the control loop the same way and runs there under the global
//     step.
//   - Per thread: a Dispatcher (its slot-table reader), a view's Stats, a
//     write-stream producer, the read scratch room (all exist). Client ids
//     and the client table stay the control loop's (Register and Detach run
//     there).
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

// True while a shard thread runs commands (node/net's ShardRunScope, with
// Server::shard_commands on): what the keyspace's hooks would tell the
// control loop's features (client tracking) is left out, none of them
// being in use then, and nothing reaches another shard.
inline thread_local bool running_on_shard_thread = false;

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
  // Commands a shard thread ran itself (INFO threads: shard_thread_commands).
  uint64_t shard_thread_commands = 0;
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
