#include "node/commands/blocked_serve.h"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/cycle_clock.h"
#include "node/commands/command.h"
#include "node/commands/errors.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/monitoring.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/tracking.h"
#include "node/server/write_stream.h"

namespace shardnode::node {
namespace {

// The block type a value can serve, or false for the other types.
bool BlockTypeOf(const Entry& e, BlockType* type) {
  switch (e.value().type()) {
    case ValueType::kList:
      *type = BlockType::kList;
      return true;
    case ValueType::kZSet:
      *type = BlockType::kZSet;
      return true;
    case ValueType::kStream:
      *type = BlockType::kStream;
      return true;
    default:
      return false;
  }
}

// Serves one waiting session from `key` and ends its wait, unless a
// stream reader's ServeFn wrote no reply (nothing for it yet).
void ServeOne(Server& server, Session& session, const std::string& key, int64_t now_ms) {
  const BlockedClient* c = server.blocking().Find(session);
  std::vector<std::string> args = c->args;  // the record dies with the wait
  const CommandSpec& spec = *c->spec;
  const ServeFn serve = c->serve;
  const int db_index = c->db;

  if (spec.is_write() && server.before_write) {
    std::vector<std::string_view> keys;
    for (int i : KeyIndexes(spec, args)) keys.push_back(args[i]);
    server.before_write(db_index, keys);
  }
  // As the dispatcher runs a command: on the view of its one shard (the
  // key's), or on the control loop's when it spans shards (BLMOVE into a
  // key of another shard).
  Shard* view = &server.local_shard();
  ShardGrant grant = GrantFor(spec, args, *view);
  if (server.num_shards() > 1 && grant.single() > 0) view = &server.shard_view(grant.single());
  Shard& shard = *view;
  std::string out;
  resp::ReplyBuilder reply(&out, session.protocol);
  reply.on_error = [&shard](std::string_view message) { shard.stats().CountError(message); };
  CommandContext ctx(shard, server, session, reply, spec, now_ms, db_index, std::move(grant));
  // The served client is the current one while its command completes:
  // client-side caching sends its own invalidations after its reply.
  Tracking& tracking = server.tracking();
  Session* const outer_client = tracking.SetCurrent(&session);
  const uint64_t outer_modifier = tracking.SetModifier(session.id);
  tracking.EnterCall();
  const int64_t start = base::CycleClock::Now();
  serve(ctx, std::span<std::string>(args.data(), args.size()), key);
  tracking.LeaveCall();
  tracking.SetModifier(outer_modifier);
  if (out.empty()) {  // a stream reader that keeps waiting
    tracking.FlushPending();
    tracking.SetCurrent(outer_client);
    return;
  }
  // As Redis's updateStatsOnUnblock: the command is measured when served
  // (its call was counted when it blocked).
  const int64_t usec = base::CycleClock::NanosSince(start) / 1000;
  const ServerOptions& opts = server.options();
  CommandStats& stats = StatsOf(shard, spec);
  stats.usec += static_cast<uint64_t>(usec);
  if (opts.latency_tracking) stats.histogram.Record(usec * 1000);
  Monitoring& mon = server.monitoring();
  if (!(spec.flags & kCmdSkipSlowlog)) {
    mon.slowlog.MaybeAdd(args, RedactedArgs(args), usec, opts.slowlog_log_slower_than,
                         opts.slowlog_max_len, now_ms / 1000, session.addr, session.name);
  }
  mon.latency.AddIfNeeded("command-unblocking", usec / 1000, opts.latency_monitor_threshold,
                          now_ms / 1000);
  // The running thread's side of the stream (RunningWriter).
  RunningWriter stream(server.write_stream());
  if (stream.wanted()) {
    ForEachPropagatedWrite(
        server.commands(), spec, ctx, /*received=*/nullptr,
        [&](std::span<const std::string> op, int slot) { stream.Append(db_index, slot, op); });
  }
  if (reply.errors() != 0) ++stats.failed_calls;
  FinishBlocked(server, session, out);
  tracking.FlushPending();
  tracking.SetCurrent(outer_client);
}

// Serves the clients waiting for `key`, made ready on keyspace shard
// `shard`: its waiters and its value are that shard's.
void ServeKey(Server& server, int shard, int db_index, const std::string& key, int64_t now_ms) {
  Db& db = server.shard(shard).db(db_index);
  for (Session* s : server.blocking().keys(shard).Waiters(db_index, key)) {
    const BlockedClient* c = server.blocking().Find(*s);
    if (c == nullptr) continue;
    // Stream readers decide for themselves (XREADGROUP is answered when its
    // key or group went away).
    if (c->type == BlockType::kStream) {
      ServeOne(server, *s, key, now_ms);
      continue;
    }
    // Each serve may empty and delete the key: look it up every time.
    const Entry* e = db.Find(key, now_ms, /*touch=*/false);
    BlockType type;
    if (e == nullptr || !BlockTypeOf(*e, &type)) continue;
    if (c->type != type) continue;
    ServeOne(server, *s, key, now_ms);
  }
}

}  // namespace

void ReplyUnblockedPop(resp::ReplyBuilder& reply, const UnblockOutcome& outcome) {
  struct Wording {
    resp::ReplyBuilder& reply;
    void operator()(const unblock::TimedOut&) { reply.NullArray(); }
    void operator()(const unblock::ByClientUnblock&) { reply.Error(errors::kUnblockedByClient); }
    void operator()(const unblock::RoleChanged&) { reply.Error(errors::kUnblockedRoleChanged); }
    void operator()(const unblock::ClusterDown&) { reply.Error(errors::kClusterDown); }
    void operator()(const unblock::SlotUnbound&) { reply.Error(errors::kClusterDownUnbound); }
    void operator()(const unblock::Moved& m) {
      reply.Error(errors::Moved(m.slot, m.endpoint, m.port));
    }
  };
  std::visit(Wording{reply}, outcome);
}

void ServeBlockedClients(Server& server, int64_t now_ms) {
  BlockingTable& table = server.blocking();
  while (table.has_ready()) {
    for (const ReadyKey& r : table.TakeReady()) ServeKey(server, r.shard, r.db, r.key, now_ms);
  }
}

}  // namespace shardnode::node
