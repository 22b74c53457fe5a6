#include "node/commands/fan_out.h"

#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/server/shard.h"

namespace shardnode::node {

Db& ShardStep::db() { return keyspace_.db(db_index_); }

ShardList FanOut::FirstRound(int num_shards) { return AllShards(num_shards); }

ShardList AllShards(int num_shards) {
  ShardList all;
  for (int i = 0; i < num_shards; ++i) all.push_back(i);
  return all;
}

void RunFanOut(CommandContext& ctx, FanOutFn begin, Args args) {
  std::unique_ptr<FanOut> op = begin(ctx, args);
  if (op == nullptr) return;
  Shard& shards = ctx.shard;
  // Each round's steps run in shard order, here; with shard threads each
  // would be posted to its shard's thread and Merge would run once all of
  // them reported back.
  for (ShardList round = op->FirstRound(shards.num_keyspaces());;) {
    for (int i : round) {
      ShardStep step(i, shards.keyspace(i), ctx.db_index(), ctx.now_ms);
      op->Step(step);
    }
    round = op->Merge(ctx);
    if (round.empty()) break;
  }
}

void FanOutHandler(CommandContext& ctx, Args args) { RunFanOut(ctx, ctx.spec.fan_out, args); }

}  // namespace shardnode::node
