// Shard: what a command runs on. A handler reaches its data through this view
// (CommandContext::shard) and node-wide services through NodeServices, never
// through the whole Server.
//
// The view holds the keyspace shards the command's thread serves (each owns
// the keys of its hash slots), the watch and blocking indexes over those keys,
// the statistics its commands count and the keys in flight to other nodes.
// With one shard thread (today) that thread serves every keyspace shard, and
// the indexes and statistics still live in the Server, which builds the one
// view over them; with shard threads each thread gets its own.
//
// Loop: the shard's thread (today the control loop).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace shardnode::node {

class Keyspace;
class WatchTable;
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

class Shard {
 public:
  // REQUIRES: every pointee outlives the view; `keyspaces` is not empty.
  Shard(std::vector<std::unique_ptr<Keyspace>>* keyspaces, WatchTable* watches,
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
  int IndexForSlot(int slot) const { return slot % num_keyspaces(); }
  Keyspace& keyspace(int i) { return *(*keyspaces_)[i]; }
  Keyspace& KeyspaceForSlot(int slot) { return keyspace(IndexForSlot(slot)); }

  WatchTable& watches() { return *watches_; }
  BlockingTable& blocking() { return *blocking_; }
  Stats& stats() { return *stats_; }
  KeysInFlight& keys_in_flight() { return *keys_in_flight_; }

 private:
  std::vector<std::unique_ptr<Keyspace>>* keyspaces_;
  WatchTable* watches_;
  BlockingTable* blocking_;
  Stats* stats_;
  KeysInFlight* keys_in_flight_;
};

}  // namespace shardnode::node
