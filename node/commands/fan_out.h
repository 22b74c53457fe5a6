// Cross-shard commands: a command that spans shards (KEYS, SCAN, DBSIZE,
// RANDOMKEY, FLUSHALL, FLUSHDB, INFO, the CLUSTER subcommands that count or
// list keys) does not walk the shards in its handler. Its table entry
// declares a fan-out (CommandSpec::fan_out) and the dispatcher runs it:
//
//   1. the entry's FanOutFn parses the arguments and returns a FanOut (or
//      replies an error and returns nullptr);
//   2. in rounds: Step runs once for each shard of the round (FirstRound,
//      then what Merge asks for), each seeing one keyspace shard only
//      (ShardStep) and writing only the partial result it keeps for that
//      shard; then Merge, on the command's own thread, combines the round's
//      partials and either writes the reply or names the shards of another
//      round (SCAN moves on to the next slot's shard; RANDOMKEY counts every
//      shard, then draws from one).
//
// Today every step runs inline, in shard order, on the dispatcher's thread;
// with shard threads each step runs on its shard's thread and Merge after
// the last one reports back. A step must therefore touch nothing but its
// ShardStep and its own partial, and Merge nothing but the partials and its
// CommandContext (reply, statistics, AddDirty): it is granted no shard.
//
// Loop: the dispatcher's (steps: see above).
#pragma once

#include <cstdint>
#include <memory>

#include "absl/container/inlined_vector.h"
#include "node/commands/command.h"

namespace shardnode::node {

class Keyspace;
class Db;

// What one step sees: one keyspace shard, the command's database index and
// the clock.
class ShardStep {
 public:
  // REQUIRES: `keyspace` outlives the step.
  ShardStep(int index, Keyspace& keyspace, int db_index, int64_t now_ms)
      : index_(index), keyspace_(keyspace), db_index_(db_index), now_ms_(now_ms) {}

  // The shard's index (Server::ShardIndexForSlot's numbering).
  int index() const { return index_; }
  Keyspace& keyspace() { return keyspace_; }
  // The command's database on this shard.
  Db& db();
  int db_index() const { return db_index_; }
  int64_t now_ms() const { return now_ms_; }

 private:
  int index_;
  Keyspace& keyspace_;
  int db_index_;
  int64_t now_ms_;
};

// The shards one round visits, in order.
using ShardList = absl::InlinedVector<int, 8>;

// One execution of a cross-shard command (created per call by its FanOutFn).
class FanOut {
 public:
  virtual ~FanOut() = default;
  // The shards of the first round: every shard unless the command needs
  // fewer (SCAN: its cursor's shard; CLUSTER COUNTKEYSINSLOT: the slot's).
  // May be empty: Merge then runs at once.
  virtual ShardList FirstRound(int num_shards);
  // Runs on one shard of the round; see the file comment for what it may
  // touch.
  virtual void Step(ShardStep& shard) = 0;
  // After every step of the round: combines the partials and replies
  // (returning an empty list), or returns the shards of another round.
  virtual ShardList Merge(CommandContext& ctx) = 0;
};

// Every shard, 0..num_shards-1.
ShardList AllShards(int num_shards);

// Runs the fan-out `begin` for `args` over the shards of ctx.shard: what the
// dispatcher does for an entry with a fan_out (and what tests call to run
// one without it). REQUIRES: ctx grants no shard (the merge reaches data
// only through the steps).
void RunFanOut(CommandContext& ctx, FanOutFn begin, Args args);

// The handler that CommandTable::Register gives an entry with a fan_out, so
// that every entry has one: it runs RunFanOut with ctx.spec.fan_out.
void FanOutHandler(CommandContext& ctx, Args args);

}  // namespace shardnode::node
