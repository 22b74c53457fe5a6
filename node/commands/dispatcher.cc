#include "node/commands/dispatcher.h"

#include <algorithm>
#include <chrono>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/cycle_clock.h"
#include "base/strings.h"
#include "clusterbus/routing.h"
#include "node/commands/acl_family.h"
#include "node/commands/blocked_serve.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/commands/fan_out.h"
#include "node/config/config.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/persist/persistence.h"
#include "node/resp/reply.h"
#include "node/server/blocking.h"
#include "node/server/clock.h"
#include "node/server/evictor.h"
#include "node/server/memory_counter.h"
#include "node/server/monitoring.h"
#include "node/server/replication_control.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/slowlog.h"
#include "node/server/suspend.h"
#include "node/server/tracking.h"
#include "node/server/write_stream.h"
#include "slots/hash_slot.h"

namespace shardnode::node {
namespace {

// The table entry of `parent`'s subcommand `sub`, or nullptr.
const CommandSpec* SubcommandOf(const CommandTable& table, std::string_view parent,
                                std::string_view sub) {
  const CommandSpec* spec = table.Find(parent);
  return spec == nullptr ? nullptr : CommandTable::FindSub(*spec, sub);
}

// The work of these three is done by the dispatcher; their handlers only
// exist so that COMMAND lists them and a handler pointer is never null.
void NoopHandler(CommandContext&, Args) {}

// The commands a RESP2 client may send while subscribed.
bool AllowedWhileSubscribed(std::string_view name) {
  return name == "ping" || name == "subscribe" || name == "ssubscribe" || name == "unsubscribe" ||
         name == "sunsubscribe" || name == "psubscribe" || name == "punsubscribe" ||
         name == "quit" || name == "reset";
}

bool IsTransactionControl(std::string_view name) {
  return name == "exec" || name == "discard" || name == "multi" || name == "watch" ||
         name == "quit" || name == "reset";
}

void Watch(CommandContext& ctx, Args args) {
  if (ctx.session.in_multi) {
    ctx.reply.Error(errors::kWatchInMulti);
    return;
  }
  // Each key goes to its keyspace shard's table (with shard threads, keys
  // on several shards make WATCH a global step).
  const int num_shards = ctx.shard.num_keyspaces();
  for (size_t i = 1; i < args.size(); ++i) {
    const bool existed = ctx.DbFor(args[i]).Exists(args[i], ctx.now_ms);
    ctx.shard.watches().Watch(ctx.session, KeyspaceShardOfKey(args[i], num_shards), ctx.db_index(),
                              args[i], existed);
  }
  ctx.reply.Ok();
}

void Unwatch(CommandContext& ctx, Args) {
  ctx.shard.watches().Unwatch(ctx.session);
  ctx.reply.Ok();
}

// What shard threads running commands at once share besides their own
// shards: the slow log and the ACL log (the control loop touches them only
// while they wait, in the global step).
std::mutex& SharedLogsMutex() {
  static std::mutex mu;
  return mu;
}

// Whether a shard thread may run `spec` (Dispatcher::PlainShard): a command
// on keys of one data type or the generic key commands, whose handler
// reaches only the keys it declares, blocks nobody and touches nothing of
// the node's beyond its keys' shard.
bool PlainDataCommand(const CommandSpec& spec) {
  static constexpr std::string_view kGroups[] = {"string", "list",        "set",    "sorted-set",
                                                 "hash",   "hyperloglog", "bitmap", "geo",
                                                 "stream", "generic"};
  if (std::find(std::begin(kGroups), std::end(kGroups), spec.group) == std::end(kGroups)) {
    return false;
  }
  if (spec.handler == nullptr || spec.fan_out != nullptr ||
      spec.name.find('|') != std::string::npos) {
    return false;
  }
  if (!(spec.flags & (kCmdWrite | kCmdReadonly))) return false;
  if (spec.flags & (kCmdBlocking | kCmdAdmin | kCmdPubSub | kCmdNoScript | kCmdAllShards |
                    kCmdTouchesArbitraryKeys | kCmdProtected | kCmdNoMulti)) {
    return false;
  }
  if (spec.first_key <= 0 && spec.keys == nullptr) return false;
  // Keys they reach without declaring them (SORT's BY and GET patterns),
  // another database (MOVE, COPY ... DB), another node (MIGRATE).
  static constexpr std::string_view kElsewhere[] = {"sort", "sort_ro", "move", "copy", "migrate"};
  return std::find(std::begin(kElsewhere), std::end(kElsewhere), spec.name) == std::end(kElsewhere);
}

// The port of a redirect: under tls-cluster a client of the plain port is
// sent to the target's plain port (Redis's clusterRedirectClient).
int ClientPort(const Session& session, bool tls_cluster, int port, int pport) {
  return tls_cluster && !session.tls && pport ? pport : port;
}

}  // namespace

void Dispatcher::RegisterTransactionCommands(CommandTable& table) {
  table.Register({.name = "watch",
                  .arity = -2,
                  .flags = kCmdNoScript | kCmdLoading | kCmdStale | kCmdFast | kCmdAllowBusy,
                  .first_key = 1,
                  .last_key = -1,
                  .key_step = 1,
                  .handler = Watch,
                  .group = "transactions",
                  .summary = "Watch the given keys to determine execution of the MULTI/EXEC block",
                  .since = "2.2.0"});
  table.Register({.name = "unwatch",
                  .arity = 1,
                  .flags = kCmdNoScript | kCmdLoading | kCmdStale | kCmdFast | kCmdAllowBusy,
                  .handler = Unwatch,
                  .group = "transactions",
                  .summary = "Forget about all watched keys",
                  .since = "2.2.0"});
  table.Register({.name = "multi",
                  .arity = 1,
                  .flags = kCmdNoScript | kCmdLoading | kCmdStale | kCmdFast | kCmdAllowBusy,
                  .handler = NoopHandler,
                  .group = "transactions",
                  .summary = "Mark the start of a transaction block",
                  .since = "1.2.0",
                  .subcommands = {}});
  table.Register({.name = "exec",
                  .arity = 1,
                  .flags = kCmdNoScript | kCmdLoading | kCmdStale | kCmdSkipSlowlog,
                  .handler = NoopHandler,
                  .group = "transactions",
                  .summary = "Execute all commands issued after MULTI",
                  .since = "1.2.0",
                  .subcommands = {}});
  table.Register({.name = "discard",
                  .arity = 1,
                  .flags = kCmdNoScript | kCmdLoading | kCmdStale | kCmdFast | kCmdAllowBusy,
                  .handler = NoopHandler,
                  .group = "transactions",
                  .summary = "Discard all commands issued after MULTI",
                  .since = "2.0.0",
                  .subcommands = {}});
}

Dispatcher::Dispatcher(Server& server) : Dispatcher(server, 0, false) {}

Dispatcher::Dispatcher(Server& server, int home_shard) : Dispatcher(server, home_shard, true) {}

Dispatcher::Dispatcher(Server& server, int home_shard, bool shard_thread)
    : server_(server),
      home_shard_(home_shard),
      shard_thread_(shard_thread),
      multi_(server.commands().Find("multi")),
      exec_(server.commands().Find("exec")),
      discard_(server.commands().Find("discard")),
      info_(server.commands().Find("info")),
      client_list_(SubcommandOf(server.commands(), "client", "list")),
      client_kill_(SubcommandOf(server.commands(), "client", "kill")),
      slot_table_(server.slot_tables()) {
  if (!shard_thread_) return;
  plain_.resize(static_cast<size_t>(std::max(0, server_.commands().num_stats_indexes())));
  for (const auto& spec : server_.commands().all()) {
    if (spec != nullptr && spec->stats_index >= 0 &&
        static_cast<size_t>(spec->stats_index) < plain_.size()) {
      plain_[static_cast<size_t>(spec->stats_index)] = PlainDataCommand(*spec);
    }
  }
}

int Dispatcher::PlainShard(const Session& session, const std::vector<std::string>& args) const {
  if (session.in_multi || session.suspended() || session.in_pubsub() || session.tracking.on ||
      session.monitor || session.replica || session.from_primary || session.import_link ||
      session.script || session.aof_loader || session.asking) {
    return kControlLoop;
  }
  const CommandSpec* spec = Lookup(args);
  if (spec == nullptr) return kControlLoop;
  const int argc = static_cast<int>(args.size());
  if (!ArityOk(*spec, argc)) return kControlLoop;
  // While a client pause is set (CLIENT PAUSE, a failover's, SHUTDOWN's),
  // a command it may hold goes to the control loop, which parks it or, the
  // pause being over, runs it (whatever the time here: the control loop
  // ends the pause). (Pauses change on the control loop only.)
  if (bool all = false; server_.AnyPauseSet(&all) && (all || MayReplicate(*spec, args))) {
    return kControlLoop;
  }
  // Clients to evict first (maxmemory-clients): the control loop does it,
  // before the command.
  if (server_.NeedsClientEviction()) return kControlLoop;
  if (spec->name == "ping" || spec->name == "echo") return kAnyShard;
  if (spec->stats_index < 0 || static_cast<size_t>(spec->stats_index) >= plain_.size() ||
      !plain_[static_cast<size_t>(spec->stats_index)]) {
    return kControlLoop;
  }
  const int shards = server_.num_shards();
  // A key that a tracking client may cache (or under a BCAST prefix) keeps
  // the command on the control loop, which sends the invalidations (a read
  // may expire the key); so does a key some blocked client waits for: the
  // control loop serves the waiters right after the command, before the
  // next one (as Redis). (Only the control loop changes either table, so
  // they hold still here.)
  // A key a MIGRATE has in flight, too, and a write to a slot whose writes
  // an atomic slot migration's handoff paused: the control loop holds the
  // command back until the MIGRATE or the pause is over (keys_in_flight.h,
  // Server::SetSlotWritesPaused). (Both change on the control loop only.)
  const Tracking& tracking = server_.tracking();
  const bool tracked = tracking.in_use();
  BlockingTable& blocking = server_.blocking();
  const KeysInFlight& in_flight = server_.keys_in_flight();
  const bool migrating = !in_flight.empty();
  const bool paused_writes = server_.AnySlotWritesPaused() && MayReplicate(*spec, args);
  int where = kControlLoop;
  bool one = true;
  bool watched = false;
  ForEachKeyIndex(*spec, args, [&](int i) {
    const std::string& key = args[static_cast<size_t>(i)];
    const int shard = KeyspaceShardOfKey(key, shards);
    if (where == kControlLoop) where = shard;
    one = one && shard == where;
    watched = watched || (tracked && tracking.Concerns(key)) ||
              blocking.keys(shard).Waited(session.db_index, key) ||
              (migrating && in_flight.Contains(session.db_index, key)) ||
              (paused_writes && server_.SlotWritesPaused(slots::KeyHashSlot(key)));
  });
  if (!one || where == kControlLoop || watched) return kControlLoop;
  // A replica's own data comes from its primary's stream, applied on the
  // control loop; its clients' reads may run on the shard threads, their
  // writes (refused, or on a writable replica kept off the stream) run on
  // the control loop too.
  if (spec->is_write() && server_.replication() != nullptr && server_.replication()->is_replica()) {
    return kControlLoop;
  }
  // maxmemory: a command may run on a shard thread while the node is under
  // its limit; over it (or while an eviction run is unfinished) it runs on
  // the control loop, which evicts first, walking every shard, or refuses
  // it with OOM. (UsedMemory() is process-wide: this errs toward the
  // control loop, which subtracts what Redis does not count.)
  if (const int64_t maxmemory = server_.options().maxmemory;
      maxmemory > 0 &&
      (UsedMemory() > static_cast<size_t>(maxmemory) || server_.evictor().running())) {
    return kControlLoop;
  }
  // The first key of a database allocates the slot index of every shard's
  // (Server's on_index_allocated, so that memory is counted as Redis
  // counts it): that write runs on the control loop, where it may reach
  // them all. (Only the control loop allocates, so reading another shard's
  // Db here races with nothing.)
  if (spec->is_write() && session.db_index < server_.shard(where).num_dbs() &&
      !server_.shard(where).db(session.db_index).index_allocated()) {
    return kControlLoop;
  }
  return where;
}

void Dispatcher::Reject(Session& session, resp::ReplyBuilder& out, std::string_view error,
                        const CommandSpec* spec) {
  if (session.in_multi) session.multi_dirty = true;
  if (spec != nullptr) ++StatsOf(home_view(), *spec).rejected_calls;
  if (spec != nullptr && spec == exec_) {
    // A refused EXEC discards the transaction (Redis's execCommandAbort).
    server_.watches().Unwatch(session);
    session.in_multi = false;
    session.multi_dirty = false;
    session.queued.clear();
    if (!error.empty() && error[0] == '-') error.remove_prefix(1);
    out.Error(absl::StrCat("EXECABORT Transaction discarded because of: ", base::ToAbsl(error)));
    return;
  }
  out.Error(error);
}

const CommandSpec* Dispatcher::Resolve(Session& session, const std::vector<std::string>& args,
                                       resp::ReplyBuilder& out) {
  const CommandSpec* spec = server_.commands().Find(args[0]);
  if (spec == nullptr) {
    Reject(session, out, errors::UnknownCommand(args[0], args.data() + 1, args.size() - 1));
    return nullptr;
  }
  if (!spec->subcommands.empty() && args.size() >= 2) {
    const CommandSpec* sub = CommandTable::FindSub(*spec, args[1]);
    if (sub == nullptr) {
      Reject(session, out, errors::UnknownSubcommand(args[0], args[1]));
      return nullptr;
    }
    spec = sub;
  }
  const int argc = static_cast<int>(args.size());
  if (!ArityOk(*spec, argc)) {
    Reject(session, out, ArityError(*spec), spec);
    return nullptr;
  }
  if ((spec->flags & kCmdProtected) && !ProtectedAllowed(session, *spec)) {
    const std::string root = spec->name.substr(0, spec->name.find('|'));
    Reject(session, out,
           absl::StrCat("ERR ", absl::AsciiStrToUpper(root), " command not allowed. If the enable-",
                        root,
                        "-command option is set to \"local\", you can run it from a local "
                        "connection, otherwise you need to set this option in the configuration "
                        "file, and then restart the server."),
           spec);
    return nullptr;
  }
  return spec;
}

bool Dispatcher::ProtectedAllowed(const Session& session, const CommandSpec& spec) {
  const std::string root = spec.name.substr(0, spec.name.find('|'));
  const std::string setting =
      server_.config().Value(absl::StrCat("enable-", root, "-command")).value_or("no");
  if (setting == "yes") return true;
  if (setting != "local") return false;
  // Redis's islocalClient: the unix socket or the loopback address.
  if (session.unix_socket) return true;
  const std::string_view ip = std::string_view(session.addr).substr(0, session.addr.rfind(':'));
  return ip == "127.0.0.1" || ip == "::1";
}

bool Dispatcher::Route(Session& session, const CommandSpec& spec,
                       const std::vector<std::string>& args, resp::ReplyBuilder& out,
                       int64_t now_ms) {
  clusterbus::ClusterState* cluster = server_.cluster();
  if (cluster == nullptr || session.from_primary || session.import_link) return true;
  const bool is_exec = &spec == exec_;
  if (!is_exec && spec.first_key <= 0 && spec.keys == nullptr) return true;

  clusterbus::RouteInput in;
  in.asking = session.asking || (spec.flags & kCmdAsking);
  in.readonly = session.readonly;
  in.allow_reads_when_down = server_.options().cluster_allow_reads_when_down;
  in.allow_pubsubshard_when_down = server_.options().cluster_allow_pubsubshard_when_down;
  auto add_keys = [this, &in](const CommandSpec& s, const std::vector<std::string>& a) {
    ForEachKeyIndex(s, a, [&](int i) { in.keys.push_back(a[i]); });
    // A script with a shebang (or a function) is a write unless it
    // declares no-writes: Redis routes it as one (MOVED from a replica).
    if (s.is_write() || ScriptWritesOf(s, a) == ScriptWrites::kWrites) {
      in.is_write = true;
    }
  };
  if (is_exec) {
    for (const auto& queued : session.queued) {
      const CommandSpec* s = server_.commands().Find(queued[0]);
      if (s != nullptr && !s->subcommands.empty() && queued.size() >= 2) {
        s = CommandTable::FindSub(*s, queued[1]);
      }
      if (s != nullptr) add_keys(*s, queued);
    }
  } else {
    add_keys(spec, args);
    in.shard_pubsub =
        spec.name == "spublish" || spec.name == "ssubscribe" || spec.name == "sunsubscribe";
    in.is_migrate = spec.name == "migrate";
  }
  if (in.keys.empty() && !is_exec) return true;

  auto exists = [this, now_ms](std::string_view key) {
    return server_.ShardForSlot(slots::KeyHashSlot(key)).db(0).Exists(key, now_ms);
  };
  const clusterbus::SlotTable* table = slot_table_.Get();
  if (table == nullptr) return true;  // not published yet: nothing to route by
  const clusterbus::RouteResult r = clusterbus::Route(*table, in, exists);
  std::string error;
  switch (r.outcome) {
    case clusterbus::RouteOutcome::kLocal:
      return true;
    case clusterbus::RouteOutcome::kMoved:
      error = errors::Moved(r.slot, r.endpoint,
                            ClientPort(session, server_.options().tls_cluster, r.port, r.pport));
      break;
    case clusterbus::RouteOutcome::kAsk:
      error = errors::Ask(r.slot, r.endpoint,
                          ClientPort(session, server_.options().tls_cluster, r.port, r.pport));
      break;
    case clusterbus::RouteOutcome::kCrossSlot:
      error = errors::kCrossSlot;
      break;
    case clusterbus::RouteOutcome::kUnbound:
      error = errors::kClusterDownUnbound;
      break;
    case clusterbus::RouteOutcome::kDown:
      error = errors::kClusterDown;
      break;
    case clusterbus::RouteOutcome::kDownReadOnly:
      error = errors::kClusterDownReadOnly;
      break;
    case clusterbus::RouteOutcome::kTryAgain:
      error = errors::kTryAgain;
      break;
  }
  if (is_exec) {
    // The transaction is discarded, its WATCHes with it (as DISCARD does).
    server_.watches().Unwatch(session);
    session.in_multi = false;
    session.multi_dirty = false;
    session.queued.clear();
    ++StatsOf(home_view(), spec).rejected_calls;
    out.Error(error);
  } else {
    Reject(session, out, error, &spec);
  }
  return false;
}

void Dispatcher::Call(Session& session, const CommandSpec& spec, std::vector<std::string>& args,
                      resp::ReplyBuilder& out, int64_t now_ms) {
  // The handler finds each key's shard itself (CommandContext::DbFor),
  // among the shards of its key arguments, which are all it is granted.
  const int db_index = session.db_index < server_.shard(0).num_dbs() ? session.db_index : 0;
  // A command granted one shard runs on that shard's view (its statistics;
  // with shard threads, its thread); any other on the view of the thread
  // running it (a shard thread's PING: its own).
  Shard* view = &home_view();
  ShardGrant grant = GrantFor(spec, args, *view);
  if (server_.num_shards() > 1) {
    const int home = grant.single();
    if (home > 0) view = &server_.shard_view(home);
  }
  Shard& shard = *view;
  CommandContext ctx(shard, server_, session, out, spec, now_ms, db_index, std::move(grant));

  if (spec.is_write() && server_.before_write) {
    std::vector<std::string_view> keys;
    ForEachKeyIndex(spec, args, [&](int i) { keys.push_back(args[i]); });
    server_.before_write(db_index, keys);
  }
  const uint64_t errors_before = out.errors();
  // Scripts (skip-monitor) show in MONITOR before the commands they run.
  if ((spec.flags & kCmdSkipMonitor) && !server_.monitoring().monitors.empty()) {
    FeedMonitors(session, args);
  }
  // A client's command (not a script's) is what client-side caching
  // remembers when a script reads (RememberTrackedKeys).
  const CommandSpec* const outer_spec = client_spec_;
  std::vector<std::string>* const outer_args = client_args_;
  if (!session.script) {
    client_spec_ = &spec;
    client_args_ = &args;
  }
  const int64_t start = base::CycleClock::Now();
  if (on_shard_thread()) {
    // A plain data command of this thread's shard (PlainShard): not a
    // tracking client's, on no key a tracking client may cache.
    spec.handler(ctx, Args(args.data(), args.size()));
  } else {
    Tracking& tracking = server_.tracking();
    const uint64_t outer_modifier = tracking.SetModifier(session.id);
    tracking.EnterCall();
    if (spec.fan_out != nullptr) [[unlikely]] {
      // A command that spans shards: its steps run over the shards, then
      // its merge replies (fan_out.h).
      RunFanOut(ctx, spec.fan_out, Args(args.data(), args.size()));
    } else {
      spec.handler(ctx, Args(args.data(), args.size()));
    }
    tracking.LeaveCall();
    tracking.SetModifier(outer_modifier);
    if (spec.flags & kCmdReadonly) RememberTrackedKeys(session, spec);
  }
  client_spec_ = outer_spec;
  client_args_ = outer_args;
  // A command that changed the dataset (its handler counted changes on its
  // context) goes to the write stream, as received or as rewritten.
  if (ctx.dirty != 0 && propagate_targets_ != kToNone && !session.aof_loader) {
    RunningWriter stream(server_.write_stream());
    if (stream.wanted()) {
      ForEachPropagatedWrite(server_.commands(), spec, ctx, &args,
                             [&](std::span<const std::string> op, int slot) {
                               stream.Append(db_index, slot, op, propagate_targets_);
                             });
    }
  }
  if (out.errors() != errors_before) ++StatsOf(shard, spec).failed_calls;
  Record(session, spec, args, start, now_ms, &shard);
}

void Dispatcher::RememberTrackedKeys(Session& session, const CommandSpec& spec) {
  // As Redis's call(): the read-only script commands remember nothing
  // themselves; a read inside a script remembers its caller's command's
  // keys (the script's declared keys).
  if (spec.name == "eval_ro" || spec.name == "evalsha_ro" || spec.name == "fcall_ro") return;
  Session* caller = &session;
  const CommandSpec* cmd = &spec;
  std::vector<std::string>* args = client_args_;
  if (session.script) {
    caller = server_.tracking().current();
    cmd = client_spec_;
  }
  if (caller == nullptr || cmd == nullptr || args == nullptr) return;
  if (!caller->tracking.on || caller->tracking.bcast) return;
  // Shard channels (SSUBSCRIBE...) are keys for routing only.
  if (cmd->flags & kCmdPubSub) return;
  std::vector<std::string_view> keys;
  ForEachKeyIndex(*cmd, *args, [&](int i) { keys.push_back((*args)[i]); });
  if (!keys.empty()) server_.tracking().RememberKeys(*caller, keys);
}

void Dispatcher::Record(Session& session, const CommandSpec& spec,
                        const std::vector<std::string>& args, int64_t start, int64_t now_ms,
                        Shard* view) {
  const int64_t ns = base::CycleClock::NanosSince(start);
  const int64_t usec = ns / 1000;
  const ServerOptions& opts = server_.options();
  Shard& shard = view != nullptr ? *view : home_view();
  ++shard.stats().total_commands_processed;
  CommandStats& stats = StatsOf(shard, spec);
  ++stats.calls;
  stats.usec += static_cast<uint64_t>(usec);
  // A command that blocked is measured when it is served (as Redis, which
  // leaves it out of the histogram and the slow log when it blocks).
  const bool blocked = session.suspended();
  if (opts.latency_tracking && !blocked) stats.histogram.Record(usec * 1000);
  Monitoring& mon = server_.monitoring();
  const std::string_view latency_event = (spec.flags & kCmdFast) ? "fast-command" : "command";
  const bool to_slowlog = !blocked && !(spec.flags & kCmdSkipSlowlog) &&
                          opts.slowlog_log_slower_than >= 0 && usec >= opts.slowlog_log_slower_than;
  const bool to_latency =
      opts.latency_monitor_threshold > 0 && usec / 1000 >= opts.latency_monitor_threshold;
  const bool to_monitors = !mon.monitors.empty() && !server_.loading().active &&
                           !(spec.flags & (kCmdSkipMonitor | kCmdAdmin));
  if (on_shard_thread()) {
    // The MONITOR line goes to the control loop, which sends the lines in
    // the order the commands ran; the latency monitor and the slow log are
    // shared with the other shard threads.
    const std::vector<int> redacted =
        to_monitors || to_slowlog ? RedactedArgs(args) : std::vector<int>();
    if (to_monitors) mon.shard_lines.Push(MonitorLineOf(session, args, redacted));
    if (!to_latency && !to_slowlog) return;
    std::lock_guard<std::mutex> lock(SharedLogsMutex());
    if (to_latency) mon.latency.Add(latency_event, usec / 1000, now_ms / 1000);
    if (to_slowlog) {
      mon.slowlog.Trim(opts.slowlog_max_len);
      mon.slowlog.MaybeAdd(args, redacted, usec, opts.slowlog_log_slower_than, opts.slowlog_max_len,
                           now_ms / 1000, session.addr, session.name);
    }
    return;
  }
  if (to_latency) mon.latency.Add(latency_event, usec / 1000, now_ms / 1000);
  if (!to_slowlog) mon.slowlog.Trim(opts.slowlog_max_len);  // CONFIG SET shrank it
  if (!to_slowlog && !to_monitors) return;
  const std::vector<int> redacted = RedactedArgs(args);
  if (to_slowlog) {
    mon.slowlog.MaybeAdd(args, redacted, usec, opts.slowlog_log_slower_than, opts.slowlog_max_len,
                         now_ms / 1000, session.addr, session.name);
  }
  if (to_monitors) FeedMonitors(session, args, &redacted);
}

void Dispatcher::FeedMonitors(const Session& session, const std::vector<std::string>& args,
                              const std::vector<int>* redacted) {
  if (server_.loading().active) return;
  server_.SendToMonitors(
      MonitorLineOf(session, args, redacted != nullptr ? *redacted : RedactedArgs(args)));
}

std::string Dispatcher::MonitorLineOf(const Session& session, const std::vector<std::string>& args,
                                      const std::vector<int>& redacted) const {
  const int64_t now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  // Redis names a unix client by its socket, not by its address.
  std::string source = session.script ? std::string("lua") : session.addr;
  if (session.unix_socket) {
    source = absl::StrCat("unix:", server_.config().Value("unixsocket").value_or(""));
  }
  return MonitorLine(now_us, session.db_index, source, args, redacted);
}

void Dispatcher::CallForScript(Session& session, const CommandSpec& spec,
                               std::vector<std::string>& args, resp::ReplyBuilder& out,
                               int64_t now_ms, WriteTargets targets) {
  const WriteTargets outer = propagate_targets_;
  propagate_targets_ = targets;
  Call(session, spec, args, out, now_ms);
  propagate_targets_ = outer;
}

namespace {
const char* ExecDenialReason(acl::Verdict v) {
  switch (v) {
    case acl::Verdict::kDeniedCmd:
      return "no permission to execute the command or subcommand";
    case acl::Verdict::kDeniedKey:
      return "no permission to touch the specified keys";
    case acl::Verdict::kDeniedChannel:
      return "no permission to access one of the channels used as arguments";
    default:
      return "no permission";
  }
}
}  // namespace

bool Dispatcher::Exec(Session& session, resp::ReplyBuilder& out, int64_t now_ms) {
  if (!session.in_multi) {
    out.Error(errors::kExecWithoutMulti);
    return false;
  }
  std::vector<std::vector<std::string>> queued = std::move(session.queued);
  const bool dirty = session.multi_dirty;
  session.in_multi = false;
  session.multi_dirty = false;
  session.queued.clear();
  if (dirty) {
    server_.watches().Unwatch(session);
    out.Error(errors::kExecAbort);
    return false;
  }
  // A watched key that was live at WATCH and has expired since counts as
  // changed: looking it up expires it, which touches its watchers.
  for (const WatchedKey& w : std::vector<WatchedKey>(session.watched)) {
    if (w.existed) server_.shard(w.shard).db(w.db).Exists(w.key, now_ms);
  }
  const bool watch_dirty = session.watch_dirty.get();
  server_.watches().Unwatch(session);
  if (watch_dirty) {
    out.NullArray();
    return true;
  }
  out.ArrayHeader(queued.size());
  // Blocking commands inside a transaction act as their non-blocking form.
  const bool deny_blocking = session.deny_blocking;
  session.deny_blocking = true;
  // A command that closes this very connection (CLIENT KILL of itself)
  // ends what the client receives, as Redis's CLOSE_AFTER_REPLY does: the
  // commands after it still run, their replies are dropped (errors still
  // count), and the connection closes once the reply so far is written.
  std::string dropped;
  resp::ReplyBuilder drop(&dropped, out.protocol());
  drop.on_error = out.on_error;
  for (auto& args : queued) {
    // Lookup and arity were checked when the command was queued.
    const CommandSpec* spec = server_.commands().Find(args[0]);
    if (!spec->subcommands.empty() && args.size() >= 2) {
      spec = CommandTable::FindSub(*spec, args[1]);
    }
    resp::ReplyBuilder& to = session.close_after_reply ? drop : out;
    // The rules may have changed since the command was queued.
    if (acl::CheckResult r = AclCheck(server_.acl_ref(), session.user, *spec, args);
        r.verdict != acl::Verdict::kOk) {
      AclLogDenial(server_, session, *session.user, r, acl::LogContext::kMulti, *spec, args,
                   now_ms);
      to.Error(absl::StrCat(
          "NOPERM ACLs rules changed between the moment the transaction was accumulated and the "
          "EXEC call. This command is no longer allowed for the following reason: ",
          ExecDenialReason(r.verdict)));
      dropped.clear();
      continue;
    }
    Call(session, *spec, args, to, now_ms);
    dropped.clear();
  }
  session.deny_blocking = deny_blocking;
  return true;
}

std::string_view Dispatcher::DiskError(const Session& session, const CommandSpec& spec) const {
  std::string_view error;
  const persist::Persistence* persistence = server_.persistence();
  if (server_.options().stop_writes_on_bgsave_error && !server_.options().save.empty() &&
      persistence != nullptr && !persistence->last_bgsave_ok()) {
    error = errors::kMisconf;
  } else if (!server_.aof_misconf().empty()) {
    error = server_.aof_misconf();  // the AOF cannot be written (aof.h)
  }
  if (error.empty()) return {};
  if (spec.is_write() || spec.name == "ping") return error;
  if (&spec != exec_ || !session.in_multi) return {};
  for (const std::vector<std::string>& queued : session.queued) {
    const CommandSpec* q = server_.commands().Find(queued[0]);
    if (q != nullptr && q->is_write()) return error;
  }
  return {};
}

bool Dispatcher::DeniedOnOom(const Session& session, const CommandSpec& spec) const {
  if (spec.flags & kCmdDenyOom) return true;
  if (spec.name == "exec") {
    // EXEC is denied when a command it would run is (queued before the
    // limit was reached).
    for (const std::vector<std::string>& queued : session.queued) {
      const CommandSpec* q = queued.empty() ? nullptr : server_.commands().Find(queued[0]);
      if (q != nullptr && !q->subcommands.empty() && queued.size() >= 2) {
        q = CommandTable::FindSub(*q, queued[1]);
      }
      if (q != nullptr && (q->flags & kCmdDenyOom)) return true;
    }
    return false;
  }
  // Queueing in MULTI takes memory without limit: only the commands that
  // end the transaction (or the connection) pass.
  return session.in_multi && spec.name != "discard" && spec.name != "quit" && spec.name != "reset";
}

std::string Dispatcher::ReplicationRefusal(const Session& session, const CommandSpec& spec) const {
  bool write = spec.is_write();
  bool stale_ok = (spec.flags & kCmdStale) != 0;
  if (&spec == exec_ && session.in_multi) {
    // EXEC writes when a queued command does, and may run on a stale
    // replica only when each of them may (Redis's cmd_flags / cmd_inv_flags).
    for (const std::vector<std::string>& queued : session.queued) {
      const CommandSpec* q = queued.empty() ? nullptr : server_.commands().Find(queued[0]);
      if (q != nullptr && !q->subcommands.empty() && queued.size() >= 2) {
        q = CommandTable::FindSub(*q, queued[1]);
      }
      if (q == nullptr) continue;
      // A queued script that declared its flags writes unless no-writes.
      write = write || q->is_write() || ScriptWritesOf(*q, queued) == ScriptWrites::kWrites;
      stale_ok = stale_ok && (q->flags & kCmdStale) != 0;
    }
  }
  return server_.replication()->CheckCommand(write, stale_ok);
}

bool Dispatcher::WaitsForPause(const Session& session, const std::vector<std::string>& args,
                               int64_t now_ms) const {
  // The primary's stream waits as well, as Redis's master client does (it
  // is no replica): ReplicationManager parks it.
  if (args.empty()) return false;
  // A slot import's link goes on through a client's CLIENT PAUSE, and waits
  // through a manual failover's or a shutdown's pause: the replica taking
  // over catches up with an offset that must stay put (else the failover
  // times out), and a shutdown saves what is there.
  if (session.import_link) {
    return server_.WritesPausedFor(NodeServices::PausePurpose::kFailover, now_ms) ||
           server_.WritesPausedFor(NodeServices::PausePurpose::kShutdown, now_ms);
  }
  // As Redis's processCommand, an unknown command or subcommand and a
  // wrong number of arguments are replied at once, paused or not.
  const CommandSpec* spec = Lookup(args);
  if (spec == nullptr) return false;
  const int argc = static_cast<int>(args.size());
  if (!ArityOk(*spec, argc)) return false;
  // Replicas are never paused (their REPLCONF ACKs keep flowing).
  if (spec->name == "replconf") return false;
  if (server_.AllPaused(now_ms)) return true;
  if (spec == exec_) {
    return AnyQueued(session, [this](const CommandSpec& q, const std::vector<std::string>& a) {
      return MayReplicate(q, a);
    });
  }
  return MayReplicate(*spec, args);
}

bool Dispatcher::ObservesOtherClients(const Session& session,
                                      const std::vector<std::string>& args) const {
  if (session.in_multi || args.empty()) return false;
  const CommandSpec* spec = Lookup(args);
  return spec != nullptr && (spec == info_ || spec == client_list_ || spec == client_kill_);
}

const CommandSpec* Dispatcher::Lookup(const std::vector<std::string>& args) const {
  const CommandSpec* s = server_.commands().Find(args[0]);
  if (s != nullptr && !s->subcommands.empty() && args.size() >= 2) {
    s = CommandTable::FindSub(*s, args[1]);
  }
  return s;
}

bool Dispatcher::AnyQueued(const Session& session, const QueuedTest& test) const {
  if (!session.in_multi) return false;
  for (const std::vector<std::string>& queued : session.queued) {
    const CommandSpec* q = queued.empty() ? nullptr : Lookup(queued);
    if (q != nullptr && test(*q, queued)) return true;
  }
  return false;
}

ScriptWrites Dispatcher::ScriptWritesOf(const CommandSpec& spec,
                                        std::span<const std::string> args) const {
  if (spec.group != "scripting" || !server_.script_writes) return ScriptWrites::kUndeclared;
  return server_.script_writes(args);
}

bool Dispatcher::MayReplicate(const CommandSpec& spec, std::span<const std::string> args) const {
  if (spec.is_write()) return true;
  if (!(spec.flags & kCmdMayReplicate)) return false;
  // As Redis's is_may_replicate_command: commands that may replicate (EVAL,
  // FCALL, PUBLISH...), but a script that declared its flags replaces
  // EVAL's with them (a no-writes script is a read).
  return ScriptWritesOf(spec, args) != ScriptWrites::kNoWrites;
}

bool Dispatcher::WritesToPausedSlot(const Session& session,
                                    const std::vector<std::string>& args) const {
  if (session.from_primary || session.import_link || args.empty()) return false;
  auto writes = [&](const CommandSpec& s, const std::vector<std::string>& a) {
    if (!s.is_write() && !(s.flags & kCmdMayReplicate)) return false;
    bool found = false;
    ForEachKeyIndex(
        s, a, [&](int i) { found = found || server_.SlotWritesPaused(slots::KeyHashSlot(a[i])); });
    return found;
  };
  const CommandSpec* spec = Lookup(args);
  if (spec == nullptr) return false;
  if (spec == exec_) return AnyQueued(session, writes);
  // Queued in MULTI a command does not run yet: EXEC is held instead.
  if (session.in_multi && !IsTransactionControl(spec->name)) return false;
  return writes(*spec, args);
}

bool Dispatcher::TouchesKeysInFlight(const Session& session,
                                     const std::vector<std::string>& args) const {
  if (session.from_primary) return false;
  const KeysInFlight& busy = server_.keys_in_flight();
  auto touches = [&](const CommandSpec& s, const std::vector<std::string>& a) {
    // A write to every key (FLUSHALL, FLUSHDB) touches the ones in flight.
    if (s.is_write() && (s.flags & kCmdAllShards)) return true;
    bool found = false;
    ForEachKeyIndex(s, a, [&](int i) { found = found || busy.Contains(session.db_index, a[i]); });
    return found;
  };
  const CommandSpec* spec = Lookup(args);
  if (spec == nullptr) return false;
  if (spec == exec_) return AnyQueued(session, touches);
  // Queued inside MULTI a command does not run, but it is routed now (ASK or
  // TRYAGAIN by which keys are here), so it waits too: as in Redis, where
  // it would arrive after the MIGRATE, a key that left gets ASK at once and
  // EXEC then EXECABORT. EXEC is checked again for keys in flight since.
  return touches(*spec, args);
}

void Dispatcher::Execute(Session& session, std::vector<std::string>& args, resp::ReplyBuilder& out,
                         int64_t now_ms) {
  session.last_interaction_ms = now_ms;
  if (on_shard_thread()) {
    // Not a tracking client's command, nor on a tracked key (PlainShard).
    ExecuteAsCurrent(session, args, out, now_ms);
    return;
  }
  // The client whose command runs (Redis's current_client): client-side
  // caching holds its invalidations until its reply is written.
  Tracking& tracking = server_.tracking();
  Session* const outer_client = tracking.SetCurrent(&session);
  ExecuteAsCurrent(session, args, out, now_ms);
  tracking.FlushPending();
  tracking.SetCurrent(outer_client);
}

void Dispatcher::ExecuteAsCurrent(Session& session, std::vector<std::string>& args,
                                  resp::ReplyBuilder& out, int64_t now_ms) {
  // A command on keys that a MIGRATE has in flight waits until it is over,
  // then runs again from the start (keys_in_flight.h).
  if (!server_.keys_in_flight().empty() && TouchesKeysInFlight(session, args)) {
    Suspend(session, WaitReason::kKeysBusy);
    server_.keys_in_flight().AddWaiter(session.id);
    return;
  }
  // The handoff of an atomic slot migration: a write to a moving slot waits
  // (never longer than the pause's bound) and runs again afterwards, when
  // it gets MOVED if the slot left (node/migrate/atomic_migrator.h).
  if (server_.AnySlotWritesPaused() && WritesToPausedSlot(session, args)) {
    server_.ParkForSlotPause(session);
    return;
  }
  // maxmemory-clients: the clients taking too much memory go first (this
  // one too, perhaps: then nothing runs), before any key is evicted. (A
  // shard thread runs a command only while the clients' running total was
  // under the limit when it was routed there: PlainShard.)
  if (!on_shard_thread() && server_.ClientEvictionLimit() != 0 && server_.EvictClients() != 0 &&
      !server_.clients().count(session.id) && !session.from_primary) {
    return;
  }
  // Its arguments count in its memory while it runs (not for the eviction
  // above: Redis's figure there dates from its last command).
  session.argc = args.size();
  session.argv_bytes = 0;
  for (const std::string& a : args) session.argv_bytes += a.size();
  // maxmemory: evict first (the DELs leave as units of their own, as
  // Redis's propagate_no_multi); OOM when nothing could be evicted. Not
  // while a busy script serves the loop (its run must not mix with DELs).
  // (A shard thread runs a command only while the node was under the limit
  // when it was routed there: PlainShard.)
  bool oom = false;
  if (server_.options().maxmemory > 0 && server_.busy_script_error().empty() &&
      !on_shard_thread()) {
    oom = server_.evictor().Perform(now_ms) == EvictResult::kFail;
    server_.set_pre_command_oom(oom);
  }
  // tracking-table-max-keys is enforced before each command (and by the
  // cron).
  if (server_.tracking().num_clients() > 0 && !on_shard_thread()) {
    server_.tracking().LimitTable(static_cast<size_t>(server_.options().tracking_table_max_keys));
  }
  // CLIENT REPLY OFF / SKIP: whatever this command replies is dropped, but
  // for its pushes (Pub/Sub confirmations). An atomic migration's link
  // hears back only about its protocol steps (WAIT, CLUSTER SYNCSLOTS).
  const bool was_silenced = out.silenced();
  out.set_silenced(session.reply_off || session.reply_skip || session.import_link);
  // The command's writes (and the DELs of keys it found expired) propagate
  // together when it ends, before any blocked client it served: one unit,
  // on the running thread's side (RunningWriter: a shard thread's Producer).
  RunningWriter writer(server_.write_stream());
  writer.BeginUnit();
  const CommandSpec* spec = Resolve(session, args, out);
  if (spec != nullptr && session.import_link &&
      (spec->name == "wait" || spec->name == "cluster|syncslots")) {
    out.set_silenced(session.reply_off || session.reply_skip);
  }
  if (spec != nullptr) {
    session.last_command = spec->name;
    acl::CheckResult acl_result;
    if (server_.AuthRequired(session) && !(spec->flags & kCmdNoAuth)) {
      Reject(session, out, errors::kNoAuth, spec);
    } else if (session.in_multi && (spec->flags & kCmdNoMulti)) {
      Reject(session, out, errors::kNotInMulti, spec);
    } else if (acl_result = AclCheck(server_.acl_ref(), session.user, *spec, args);
               acl_result.verdict != acl::Verdict::kOk) {
      // Denied by the user's ACL rules: logged, refused before anything ran.
      std::unique_lock<std::mutex> lock;
      if (on_shard_thread()) lock = std::unique_lock<std::mutex>(SharedLogsMutex());
      AclLogDenial(server_, session, *session.user, acl_result,
                   session.in_multi ? acl::LogContext::kMulti : acl::LogContext::kToplevel, *spec,
                   args, now_ms);
      Reject(session, out, NoPermError(acl_result, *spec), spec);
    } else if (!Route(session, *spec, args, out, now_ms)) {
      // Route() replied with the redirection.
    } else if (oom && !session.from_primary && !session.import_link &&
               DeniedOnOom(session, *spec)) {
      // (An atomic migration's link applies what its source already
      // accepted, as a replica applies its primary's stream: refusing a
      // write there would lose it without a word.)
      Reject(session, out, errors::kOom, spec);
    } else if (std::string_view disk_error = session.from_primary || session.import_link
                                                 ? std::string_view()
                                                 : DiskError(session, *spec);
               !disk_error.empty()) {
      Reject(session, out, disk_error, spec);
    } else if ((session.monitor || session.replica) &&
               (spec->flags & (kCmdWrite | kCmdReadonly | kCmdMayReplicate))) {
      // A replica (and a MONITOR client, a replica to Redis) may not touch
      // keys: it is exempt from client pauses.
      Reject(session, out, errors::kReplicaKeyspace, spec);
    } else if (std::string refusal = server_.replication() && !session.from_primary
                                         ? ReplicationRefusal(session, *spec)
                                         : std::string();
               !refusal.empty()) {
      Reject(session, out, refusal, spec);
    } else if (session.in_pubsub() && session.protocol == 2 &&
               !AllowedWhileSubscribed(spec->name)) {
      Reject(session, out, errors::NotAllowedWhileSubscribed(spec->name), spec);
    } else if (const LoadingState& loading = server_.loading();
               loading.active && !session.aof_loader &&
               (loading.async ? (spec->flags & kCmdNoAsyncLoading) != 0
                              : !(spec->flags & kCmdLoading))) {
      // Async loading serves the old dataset: only no_async_loading
      // commands wait for the new one.
      Reject(session, out, errors::kLoading, spec);
    } else if (!server_.busy_script_error().empty() && !(spec->flags & kCmdAllowBusy) &&
               !session.from_primary && !session.import_link) {
      // A script runs past busy-reply-threshold (node/script). The
      // primary's stream is applied meanwhile rather than refused (its
      // replies are discarded: a refusal would lose the write); Redis holds
      // it back until the script ends instead.
      Reject(session, out, server_.busy_script_error(), spec);
    } else {
      if (session.in_multi && !IsTransactionControl(spec->name)) {
        session.queued.push_back(std::move(args));
        out.SimpleString("QUEUED");
      } else if (spec == multi_ || spec == exec_ || spec == discard_) {
        // Counted as commands (INFO commandstats, SLOWLOG, MONITOR) as in
        // Redis, where they run through call(); EXEC fails only by its own
        // errors (its commands count theirs).
        const int64_t start = base::CycleClock::Now();
        bool failed = false;
        if (spec == multi_) {
          failed = session.in_multi;
          if (session.in_multi) {
            out.Error(errors::kNestedMulti);
          } else {
            session.in_multi = true;
            session.multi_dirty = false;
            session.queued.clear();
            out.Ok();
          }
        } else if (spec == exec_) {
          failed = !Exec(session, out, now_ms);
        } else if (!session.in_multi) {
          failed = true;
          out.Error(errors::kDiscardWithoutMulti);
        } else {
          server_.watches().Unwatch(session);
          session.in_multi = false;
          session.multi_dirty = false;
          session.queued.clear();
          out.Ok();
        }
        if (failed) ++StatsOf(home_view(), *spec).failed_calls;
        Record(session, *spec, args, start, now_ms);
      } else {
        // SCAN and RANDOMKEY run by the client itself: the DELs of the keys
        // they reap go one by one, as Redis's active expiry sends them.
        if (spec->flags & kCmdTouchesArbitraryKeys) writer.SetNoMulti();
        Call(session, *spec, args, out, now_ms);
      }
    }
  }
  // ASKING lasts for one command, or until EXEC/DISCARD inside MULTI; an
  // unknown command or an arity error ends it too, as in Redis.
  if ((spec == nullptr || spec->name != "asking") && !session.in_multi) session.asking = false;
  writer.EndUnit();
  out.set_silenced(was_silenced);
  session.argc = 0;
  session.argv_bytes = 0;
  // maxmemory-clients' running total sees what the command left (its
  // reply, its transaction's queue), as Redis's after processCommand.
  server_.UpdateClientMemory(session);
  session.reply_skip = false;
  if (session.reply_skip_next) {
    session.reply_skip_next = false;
    session.reply_skip = true;
  }
  // CLIENT CACHING applies to the next command (or transaction) only; any
  // CLIENT subcommand keeps it, as in Redis.
  if (!session.in_multi && (spec == nullptr || !spec->name.starts_with("client|"))) {
    session.tracking.caching = false;
  }
  // Invalidations of this command's own keys follow its reply.
  if (!on_shard_thread()) server_.tracking().FlushPending();
  // Clients blocked on keys this command wrote are served now (not while
  // a busy script's event serving runs other clients' commands: its keys
  // are served when it ends).
  // They see the clock as it is now, past the command's own frozen time (a
  // key that expired while a transaction ran, DEBUG SLEEP inside it, is
  // gone for them), as Redis's handleClientsBlockedOnKeys does.
  // (The clock is read here only when someone is to be served.)
  // (None on a shard thread: it runs no command on a waited key,
  // PlainShard.)
  if (!on_shard_thread() && server_.blocking().has_ready() && server_.busy_script_error().empty()) {
    ServeBlockedClients(server_, std::max(now_ms, NowMs()));
  }
}

}  // namespace shardnode::node
