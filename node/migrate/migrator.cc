#include "node/migrate/migrator.h"

// Boost 1.74's asio/awaitable.hpp uses std::exchange without <utility>.
#include <utility>
// The others.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <chrono>
#include <limits>
#include <optional>
#include <thread>
#include <vector>

#include "node/commands/blocked_serve.h"
#include "node/commands/command.h"
#include "node/commands/command_table.h"
#include "node/commands/errors.h"
#include "node/config/config.h"
#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/migrate/migrate_plan.h"
#include "node/migrate/value_dumper.h"
#include "node/net/resp_client.h"
#include "node/resp/reply.h"
#include "node/server/clock.h"
#include "node/server/server.h"
#include "node/server/session.h"
#include "node/server/suspend.h"
#include "node/server/write_stream.h"
#include "slots/hash_slot.h"

namespace shardnode::node::migrate {
namespace asio = boost::asio;

// One MIGRATE in progress.
struct Migrator::Job {
  // The loop the transfer runs on: the keyspace's, or, inside MULTI/EXEC,
  // a private one that the command runs to the end (sync).
  asio::io_context* io = nullptr;
  bool sync = false;
  uint64_t client_id = 0;
  int protocol = 2;
  int db = 0;  // the source database (the client's)
  bool cluster_mode = false;
  MigrateArgs args;
  replication::RdbWriterOptions dump_options;
  struct Item {
    std::string key;
    const Entry* entry = nullptr;  // what was found, checked before each slice
    const TypedObject* object = nullptr;
    int64_t ttl_ms = 0;
    bool skipped = false;  // expired or changed before it was sent
    bool sliced = false;   // big: serialized in slices, freed off the loop
    // The DUMP payload, in chunks (one for a small value; one per slice for
    // a big one), and its size. Empty once handed to a connection.
    std::vector<std::string> payload;
    size_t payload_size = 0;
  };
  std::vector<Item> items;
  std::vector<size_t> sent;  // indexes into items, in the order sent
  // The reply: set when the transfer ended.
  std::optional<MigrateReply> reply;
  std::vector<size_t> acked;  // indexes into items
  bool serialized = false;    // every payload made, `sent` filled
  // Set when StartAtOnce wrote the batch on the cached connection: Send
  // reads the replies on it first.
  std::shared_ptr<RespClient> early_client;
  BatchHeader early_header;
  bool early_drain = false;
  absl::Status early_status;
};

namespace {

// Destroys `value` on a thread of its own: a big collection's nodes are
// freed without holding up the loop. The value owns everything it points
// to, and the allocator is thread-safe.
void FreeLater(Value value) {
  std::thread([v = std::move(value)]() mutable { v = Value(); }).detach();
}

// The client's error text for a MIGRATE argument error.
std::string_view ArgsErrorText(ArgsError e) {
  switch (e) {
    case ArgsError::kSyntax:
      return errors::kSyntax;
    case ArgsError::kKeysWithKeyArg:
      return errors::kMigrateKeysWithKeyArg;
    case ArgsError::kNotInteger:
      return errors::kNotInteger;
    case ArgsError::kNone:
      break;
  }
  return errors::kSyntax;
}

}  // namespace

std::string MigrateErrorText(const MigrateReply& reply) {
  switch (reply.kind) {
    case MigrateReply::Kind::kTargetError:
      return errors::MigrateTargetError(reply.target_error);
    case MigrateReply::Kind::kIoErrorWriting:
      return std::string(errors::kMigrateIoWriting);
    case MigrateReply::Kind::kIoErrorReading:
      return std::string(errors::kMigrateIoReading);
    case MigrateReply::Kind::kConnectTimeout:
      return std::string(errors::kMigrateConnectTimeout);
    case MigrateReply::Kind::kOk:
      break;
  }
  return "";
}

Migrator::Migrator(asio::io_context& io, Server& server) : io_(io), server_(server), sweep_(io) {}

Migrator::~Migrator() { Stop(); }

void Migrator::Start() {
  server_.migrate = [this](CommandContext& ctx, std::span<std::string> args) { Handle(ctx, args); };
  server_.run_off_loop = [this](CommandContext& ctx, std::string_view key,
                                std::function<void()> work,
                                std::function<void(CommandContext&)> finish) {
    RunOffLoop(ctx, key, std::move(work), std::move(finish));
  };
  SweepIdle();
}

void Migrator::Stop() {
  stopped_ = true;
  {
    std::lock_guard<std::mutex> lock(gate_->mu);
    gate_->open = false;
  }
  sweep_.cancel();
  for (auto& [name, c] : cache_) c.client->Close();
  cache_.clear();
}

// One command whose heavy part runs off the loop.
struct Migrator::OffLoop {
  uint64_t client_id = 0;
  int protocol = 2;
  int db = 0;
  const CommandSpec* spec = nullptr;
  std::string key;
  std::function<void()> work;
  std::function<void(CommandContext&)> finish;
};

void Migrator::RunOffLoop(CommandContext& ctx, std::string_view key, std::function<void()> work,
                          std::function<void(CommandContext&)> finish) {
  auto job = std::make_shared<OffLoop>();
  job->client_id = ctx.session.id;
  job->protocol = ctx.session.protocol;
  job->db = ctx.db_index();
  job->spec = &ctx.spec;
  job->key = std::string(key);
  job->work = std::move(work);
  job->finish = std::move(finish);
  server_.keys_in_flight().Add(job->db, job->key);
  Suspend(ctx.session, WaitReason::kMigrate);
  std::thread([this, gate = gate_, job]() mutable {
    job->work();
    std::lock_guard<std::mutex> lock(gate->mu);
    if (gate->open) asio::post(io_, [this, job] { FinishOffLoop(*job); });
  }).detach();
}

void Migrator::FinishOffLoop(OffLoop& job) {
  server_.keys_in_flight().Remove(job.db, job.key);
  auto it = server_.clients().find(job.client_id);
  if (it != server_.clients().end()) {
    Session& session = *it->second;
    const int64_t now = NowMs();
    std::string out;
    resp::ReplyBuilder reply(&out, job.protocol);
    reply.on_error = [this](std::string_view message) { server_.stats().CountError(message); };
    CommandContext ctx(server_.local_shard(), server_, session, reply, *job.spec, now, job.db);
    // As the dispatcher runs a write: the key serialized for a snapshot in
    // progress before it changes, the changes propagated as one unit, the
    // clients blocked on the key served after it.
    if (server_.before_write) server_.before_write(job.db, {job.key});
    server_.write_stream().BeginUnit();
    job.finish(ctx);
    if (ctx.dirty != 0 && server_.write_stream().wanted()) {
      ForEachPropagatedWrite(server_.commands(), *job.spec, ctx, /*received=*/nullptr,
                             [&](std::span<const std::string> op, int slot) {
                               server_.write_stream().Append(job.db, slot, op);
                             });
    }
    server_.write_stream().EndUnit();
    if (reply.errors() != 0) ++StatsOf(server_.local_shard(), *job.spec).failed_calls;
    Complete(session, out);
    if (server_.blocking().has_ready()) ServeBlockedClients(server_, now);
  }
  // The work's buffers (a 100 MB payload) are freed off the loop too.
  std::thread([j = std::move(job.work), f = std::move(job.finish)]() mutable {
    j = nullptr;
    f = nullptr;
  }).detach();
  for (uint64_t id : server_.keys_in_flight().TakeWaiters()) {
    auto w = server_.clients().find(id);
    if (w != server_.clients().end()) Retry(*w->second);
  }
}

void Migrator::SweepIdle() {
  const int64_t now = NowMs();
  for (auto it = cache_.begin(); it != cache_.end();) {
    if (!it->second.busy && now - it->second.last_use_ms > kIdleCloseMs) {
      it->second.client->Close();
      it = cache_.erase(it);
    } else {
      ++it;
    }
  }
  if (stopped_) return;
  sweep_.expires_after(std::chrono::seconds(1));
  sweep_.async_wait([this](boost::system::error_code ec) {
    if (!ec) SweepIdle();
  });
}

void Migrator::Handle(CommandContext& ctx, std::span<std::string> args) {
  auto job = std::make_shared<Job>();
  const ArgsError parse_error =
      ParseMigrateArgs(std::span<const std::string>(args.data(), args.size()), &job->args);
  if (parse_error != ArgsError::kNone) {
    ctx.reply.Error(ArgsErrorText(parse_error));
    return;
  }
  job->io = &io_;
  job->client_id = ctx.session.id;
  job->protocol = ctx.session.protocol;
  job->db = ctx.session.db_index;
  job->cluster_mode = server_.cluster_enabled();
  job->dump_options.compression = server_.options().rdbcompression;
  for (int i : job->args.key_indexes) {
    const std::string& key = args[static_cast<size_t>(i)];
    Entry* e = ctx.DbFor(key).FindRead(key, ctx.now_ms);
    if (e == nullptr) continue;
    Job::Item item;
    item.key = key;
    item.entry = e;
    item.object = e->value().object();
    job->items.push_back(std::move(item));
  }
  if (job->items.empty()) {
    ctx.reply.SimpleString("NOKEY");
    return;
  }
  // Inside MULTI/EXEC the reply belongs in EXEC's array now and nothing
  // else may run before the transaction ends: the transfer runs to the end
  // here, as Redis runs every MIGRATE, bounded by its timeout.
  if (ctx.session.deny_blocking) {
    RunNow(ctx, std::move(job));
    return;
  }
  for (const Job::Item& item : job->items) server_.keys_in_flight().Add(job->db, item.key);
  Suspend(ctx.session, WaitReason::kMigrate);
  // Small values to a target with an idle cached connection: the batch is
  // written now, and the coroutine, which starts on a later turn of the
  // loop, only reads the replies (the turn overlaps the round trip).
  (void)StartAtOnce(*job);
  asio::co_spawn(io_, Run(std::move(job)), asio::detached);
}

void Migrator::RunNow(CommandContext& ctx, std::shared_ptr<Job> job) {
  // A private loop, run on this thread until the transfer is over: the
  // keyspace's loop (every other client) waits meanwhile. Its connection
  // is a fresh one, closed at the end (the cached ones live on the
  // keyspace's loop).
  asio::io_context private_io;
  job->io = &private_io;
  job->sync = true;
  asio::co_spawn(private_io, Transfer(job), asio::detached);
  private_io.run();
  job->io = &io_;
  // Deleted and propagated with the transaction (as DEL, like Redis's
  // rewritten MIGRATE), the reply in EXEC's array.
  std::vector<std::string> del = DeleteAcked(*job);
  if (del.size() > 1) {
    ctx.dirty += del.size() - 1;  // already counted in the node's stats
    ctx.propagate_as = std::move(del);
  }
  const MigrateReply r = job->reply.value_or(MigrateReply{});
  if (r.kind == MigrateReply::Kind::kOk) {
    ctx.reply.Ok();
  } else {
    ctx.reply.Error(MigrateErrorText(r));
  }
}

asio::awaitable<void> Migrator::Run(std::shared_ptr<Job> job) {
  co_await Transfer(job);
  Finish(*job);
}

asio::awaitable<void> Migrator::Transfer(std::shared_ptr<Job> job) {
  if (!job->serialized) co_await Serialize(*job);
  if (!job->reply) co_await Send(*job);
}

bool Migrator::Prepare(Job& job, size_t index) {
  Job::Item& item = job.items[index];
  Db& db = server_.ShardForSlot(slots::KeyHashSlot(item.key)).db(job.db);
  if (db.Peek(item.key) != item.entry) {
    item.skipped = true;
    return false;
  }
  // The remaining TTL, as Redis computes it just before serializing: a
  // key whose TTL passed is left out, a live one gets at least 1 ms.
  const int64_t expire = db.ExpireOf(item.entry);
  if (expire != -1) {
    const int64_t ttl = expire - NowMs();
    if (ttl < 0) {
      item.skipped = true;
      return false;
    }
    item.ttl_ms = ttl < 1 ? 1 : ttl;
  }
  return true;
}

asio::awaitable<void> Migrator::Serialize(Job& job) {
  for (size_t i = 0; i < job.items.size(); ++i) {
    if (Prepare(job, i)) co_await Dump(job, i);
  }
  for (size_t i = 0; i < job.items.size(); ++i) {
    if (!job.items[i].skipped) job.sent.push_back(i);
  }
  job.serialized = true;
}

asio::awaitable<void> Migrator::Dump(Job& job, size_t index) {
  Job::Item& item = job.items[index];
  Db& db = server_.ShardForSlot(slots::KeyHashSlot(item.key)).db(job.db);
  ValueDumper dumper(item.entry->value(), job.dump_options);
  while (!dumper.Step(kSliceBudget)) {
    if (!job.sync) co_await asio::post(*job.io, asio::use_awaitable);
    const Entry* now_there = db.Peek(item.key);
    if (now_there != item.entry || now_there->value().object() != item.object) {
      item.skipped = true;  // gone (a deleted slot): never read it again
      co_return;
    }
  }
  item.payload_size = dumper.payload_size();
  item.payload = dumper.TakeChunks();
  item.sliced = dumper.sliced();
  if (item.sliced && !job.sync) co_await asio::post(*job.io, asio::use_awaitable);
}

bool Migrator::StartAtOnce(Job& job) {
  const MigrateArgs& a = job.args;
  auto it = cache_.find(a.Target());
  if (it == cache_.end() || it->second.busy || !it->second.client->is_open()) return false;
  for (size_t i = 0; i < job.items.size(); ++i) {
    if (!Prepare(job, i)) continue;
    Job::Item& item = job.items[i];
    ValueDumper dumper(item.entry->value(), job.dump_options);
    if (!dumper.Step(kSliceBudget) || dumper.sliced()) {
      // A big value: the coroutine serializes everything a slice at a time.
      for (Job::Item& undo : job.items) {
        undo.skipped = false;
        undo.ttl_ms = 0;
        undo.payload.clear();
        undo.payload_size = 0;
      }
      return false;
    }
    item.payload_size = dumper.payload_size();
    item.payload = dumper.TakeChunks();
  }
  for (size_t i = 0; i < job.items.size(); ++i) {
    if (!job.items[i].skipped) job.sent.push_back(i);
  }
  job.serialized = true;
  Cached& cached = it->second;
  cached.busy = true;
  cached.last_use_ms = NowMs();
  cached.client->set_io_timeout(std::chrono::milliseconds(a.timeout_ms));
  job.early_header = {.auth = a.password.has_value(), .select = cached.last_db != a.db};
  job.early_status = WriteBatch(job, *cached.client, job.early_header, &job.early_drain);
  job.early_client = cached.client;
  return true;
}

absl::Status Migrator::WriteBatch(Job& job, RespClient& client, const BatchHeader& header,
                                  bool* drain) {
  const MigrateArgs& a = job.args;
  // The RESTORE's bulk header carries the payload's size, known once it
  // is all serialized. A big payload's chunks are handed over as they
  // are (written with scatter/gather, made again if the batch must be
  // sent again); everything else is gathered into one buffer, so that a
  // small batch leaves in one write, at once, and reaches the target as
  // one read.
  absl::Status st;
  std::string batch = EncodeBatchPrefix(a, header);
  bool any_sliced = false;
  for (size_t i : job.sent) {
    Job::Item& item = job.items[i];
    batch += EncodeRestoreHead(a, item.key, item.ttl_ms, item.payload_size, job.cluster_mode);
    if (item.sliced) {
      any_sliced = true;
      st = client.SendRaw(std::move(batch));
      batch.clear();
      if (st.ok()) st = client.SendChunks(std::move(item.payload));
      item.payload.clear();
      if (!st.ok()) break;
    } else {
      for (const std::string& chunk : item.payload) batch += chunk;
    }
    batch += EncodeRestoreTail(a);
  }
  const size_t last_write = batch.size();
  if (st.ok()) st = client.SendRaw(std::move(batch));
  // A small batch is not waited for: it is on the socket already (or its
  // write fails and closes the connection, which ends the read), and the
  // first reply cannot come before it arrived. A big one is drained
  // first: its write gets the whole timeout, as Redis's, then each reply.
  *drain = any_sliced || last_write > kNoDrainBatch;
  return st;
}

asio::awaitable<void> Migrator::Send(Job& job) {
  const MigrateArgs& a = job.args;
  const std::string target = a.Target();
  const auto timeout = std::chrono::milliseconds(a.timeout_ms);
  for (bool first_attempt : {true, false}) {
    std::shared_ptr<RespClient> client;
    BatchHeader header;
    bool drain = false;
    absl::Status st;
    if (job.early_client) {
      // StartAtOnce wrote the batch on the cached connection already.
      client = std::move(job.early_client);
      job.early_client.reset();
      header = job.early_header;
      drain = job.early_drain;
      st = job.early_status;
    } else {
      // A cached connection, or a new one (not cached while another MIGRATE
      // uses the cached one).
      Cached* cached = nullptr;
      auto it = job.sync ? cache_.end() : cache_.find(target);
      if (it != cache_.end() && !it->second.busy && it->second.client->is_open()) {
        cached = &it->second;
      } else {
        if (it != cache_.end() && !it->second.busy) {
          it->second.client->Close();
          cache_.erase(it);
        }
        RespClientOptions options;
        options.connect_timeout = timeout;
        options.io_timeout = timeout;
        options.max_output_bytes = std::numeric_limits<size_t>::max() / 2;
        options.limits.max_bulk_len = 512 * 1024 * 1024;
        if (tls_client) options.tls = tls_client();
        auto fresh = RespClient::Create(job.io->get_executor(), options);
        int port = 0;
        for (char ch : a.port) {
          if (ch < '0' || ch > '9') break;  // atoi, as Redis reads it
          port = port * 10 + (ch - '0');
          if (port > 65535) break;
        }
        const absl::Status connected = co_await fresh->Connect(a.host, port);
        if (connected.code() == absl::StatusCode::kDeadlineExceeded) {
          job.reply = MigrateReply{.kind = MigrateReply::Kind::kConnectTimeout};
          co_return;
        }
        if (!connected.ok()) {
          // Redis's non-blocking connect reports a refused connection only
          // when it writes: a write error, retried once on a new connection.
          const BatchOutcome o = FoldReplies(a, {}, job.sent.size(), {},
                                             {.happened = true, .writing = true}, first_attempt);
          if (o.retry) continue;
          job.reply = ReplyFor(o);
          co_return;
        }
        client = fresh;
        if (!job.sync && cache_.count(target) == 0) {
          if (cache_.size() >= kMaxCachedConnections) {
            // Too many: drop one that is not in use, as Redis drops one at random.
            for (auto c = cache_.begin(); c != cache_.end(); ++c) {
              if (!c->second.busy) {
                c->second.client->Close();
                cache_.erase(c);
                break;
              }
            }
          }
          cached = &cache_[target];
          cached->client = fresh;
        }
      }
      if (cached != nullptr) {
        client = cached->client;
        cached->busy = true;
        cached->last_use_ms = NowMs();
      }
      client->set_io_timeout(timeout);
      const int64_t last_db = cached != nullptr ? cached->last_db : -1;
      header = {.auth = a.password.has_value(), .select = last_db != a.db};
      st = WriteBatch(job, *client, header, &drain);
    }
    IoFailure failure;
    std::vector<TargetReply> replies;
    if (st.ok() && drain) st = co_await client->Drain();
    if (!st.ok()) {
      failure = {.happened = true,
                 .writing = true,
                 .timeout = st.code() == absl::StatusCode::kDeadlineExceeded};
    } else {
      const size_t expected = (header.auth ? 1 : 0) + (header.select ? 1 : 0) + job.sent.size();
      while (replies.size() < expected) {
        absl::StatusOr<resp::ReplyValue> r = co_await client->ReadReply();
        if (!r.ok()) {
          // Without the drain, a read can end because the write failed or
          // never finished: that is a failure writing, as Redis words it.
          const bool unwritten = client->write_failed() || client->pending_output() > 0;
          failure = {.happened = true,
                     .writing = unwritten,
                     .timeout = r.status().code() == absl::StatusCode::kDeadlineExceeded};
          break;
        }
        replies.push_back({.error = r->is_error(), .text = r->is_error() ? r->str : r->ToLine()});
      }
    }
    const BatchOutcome outcome =
        FoldReplies(a, header, job.sent.size(), replies, failure, first_attempt);
    // The connection is kept only when it is still in a known state.
    auto again = cache_.find(target);
    const bool ours = again != cache_.end() && again->second.client == client;
    if (outcome.io_error || outcome.retry) {
      client->Close();
      if (ours) cache_.erase(again);
    } else if (ours) {
      again->second.busy = false;
      again->second.last_db = outcome.cached_db;
      again->second.last_use_ms = NowMs();
    } else {
      client->Close();
    }
    if (outcome.retry) {
      // The big payloads went into the broken connection: make them again
      // (the keys are still held, so the bytes are the same).
      for (size_t i : job.sent) {
        Job::Item& item = job.items[i];
        if (item.sliced && item.payload.empty() && !item.skipped) co_await Dump(job, i);
      }
      continue;
    }
    for (size_t k : outcome.acked) job.acked.push_back(job.sent[k]);
    job.reply = ReplyFor(outcome);
    co_return;
  }
}

std::vector<std::string> Migrator::DeleteAcked(Job& job) {
  const int64_t now = NowMs();
  std::vector<std::string> del = {"DEL"};
  if (!job.args.copy && !job.acked.empty()) {
    std::vector<std::string_view> keys;
    for (size_t i : job.acked) keys.push_back(job.items[i].key);
    if (server_.before_write) server_.before_write(job.db, keys);
    for (size_t i : job.acked) {
      const Job::Item& item = job.items[i];
      Db& db = server_.ShardForSlot(slots::KeyHashSlot(item.key)).db(job.db);
      if (db.Peek(item.key) != item.entry) continue;
      // A big value is freed on another thread (Redis's lazyfree): freeing
      // a million fields here would stall every client.
      if (item.sliced) {
        Entry* e = db.Find(item.key, now, /*touch=*/false);
        if (e != nullptr) FreeLater(std::move(e->value()));
      }
      if (!db.Delete(item.key, now)) continue;
      ++server_.stats().dirty;
      server_.NotifyKeyspaceEvent(kNotifyGeneric, "del", item.key, job.db);
      del.push_back(item.key);
    }
  }
  return del;
}

void Migrator::Finish(Job& job) {
  // Keys the target acknowledged leave this node (unless COPY), as one DEL
  // for the replicas and the AOF.
  const std::vector<std::string> del = DeleteAcked(job);
  if (del.size() > 1) {
    const std::span<const std::string> op(del.data(), del.size());
    server_.write_stream().Append(job.db, RewrittenWriteSlot(server_.commands(), op), op);
  }
  for (const Job::Item& item : job.items) server_.keys_in_flight().Remove(job.db, item.key);
  // Commands that waited for these keys run again (one that finds another
  // key still in flight waits again).
  for (uint64_t id : server_.keys_in_flight().TakeWaiters()) {
    auto it = server_.clients().find(id);
    if (it != server_.clients().end()) Retry(*it->second);
  }
  auto it = server_.clients().find(job.client_id);
  if (it == server_.clients().end()) return;  // the client left meanwhile
  std::string out;
  resp::ReplyBuilder reply(&out, job.protocol);
  reply.on_error = [this](std::string_view message) { server_.stats().CountError(message); };
  const MigrateReply r = job.reply.value_or(MigrateReply{});
  if (r.kind == MigrateReply::Kind::kOk) {
    reply.Ok();
  } else {
    reply.Error(MigrateErrorText(r));
    if (const CommandSpec* spec = server_.commands().Find("migrate")) {
      ++StatsOf(server_.local_shard(), *spec).failed_calls;
    }
  }
  Complete(*it->second, out);
}

}  // namespace shardnode::node::migrate
