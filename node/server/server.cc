#include "node/server/server.h"

#include <algorithm>
#include <random>
#include <string>
#include <utility>

#include "clusterbus/cluster_state.h"
#include "node/config/config.h"
#include "node/keyspace/keyspace.h"
#include "node/keyspace/types/hash_object.h"
#include "node/keyspace/types/zset_object.h"
#include "node/server/blocking.h"
#include "node/server/clock.h"
#include "node/server/cluster_setup.h"
#include "node/server/keyspace_events.h"
#include "node/server/log.h"
#include "node/server/memory_counter.h"
#include "node/server/oom_score.h"
#include "node/server/replication_control.h"
#include "node/server/session.h"
#include "node/server/suspend.h"
#include "replication/output_limit.h"
#include "slots/hash_slot.h"

namespace shardnode::node {

void Server::PauseClients(PausePurpose purpose, int64_t until_ms, bool all) {
  pauses_[static_cast<int>(purpose)].Set(until_ms, all);
  HoldExpiryWhilePaused(true);
}

void Server::HoldExpiryWhilePaused(bool paused) {
  // A replica's keys already wait for its primary's DELs.
  if (replication_ != nullptr && replication_->is_replica()) return;
  const ExpiryMode mode = paused ? ExpiryMode::kHide : ExpiryMode::kDelete;
  for (int i = 0; i < num_shards(); ++i) {
    Keyspace& ks = shard(i);
    for (int d = 0; d < ks.num_dbs(); ++d) ks.db(d).set_expiry_mode(mode);
  }
}

bool Server::WritesPaused(int64_t now_ms) const {
  for (const Pause& p : pauses_) {
    if (p.until() > now_ms) return true;
  }
  return false;
}

bool Server::AllPaused(int64_t now_ms) const {
  for (const Pause& p : pauses_) {
    if (p.until() > now_ms && p.pauses_all()) return true;
  }
  return false;
}

void Server::DetachSession(Session& session) {
  if (session.import_link && on_session_detached) {
    session.import_link = false;
    on_session_detached(session.id);
  }
  blocking_.Unblock(session);
  pubsub_.RemoveSession(session);
  watches_.Unwatch(session);
  tracking_.Disable(session);
  std::erase(monitoring_.monitors, session.id);
  client_memory_.fetch_sub(session.counted_memory, std::memory_order_relaxed);
  session.counted_memory = 0;
  auto it = clients_.find(session.id);
  if (it != clients_.end() && it->second == &session) {
    clients_.erase(it);
    if (session.replica && replica_sessions_ > 0) --replica_sessions_;
    if (session.replica && on_replica_detached) on_replica_detached(session.id);
  }
}

size_t Server::ClientEvictionLimit() const {
  const ServerOptions& o = options();
  size_t limit = 0;
  if (o.maxmemory_clients < 0 && o.maxmemory > 0) {
    limit = static_cast<size_t>(static_cast<double>(o.maxmemory) *
                                -static_cast<double>(o.maxmemory_clients) / 100);
  } else if (o.maxmemory_clients > 0) {
    limit = static_cast<size_t>(o.maxmemory_clients);
  } else {
    return 0;
  }
  // Never so low that nobody could connect to fix the configuration.
  return std::max<size_t>(limit, 128 * 1024);
}

namespace {
// Normal and Pub/Sub clients: those maxmemory-clients counts.
bool CountsForClientEviction(const Session& s) {
  return !s.replica && !s.from_primary && !s.monitor;
}
}  // namespace

void Server::UpdateClientMemory(Session& s) {
  // (The limit first: with none, shard threads may run commands, and this
  // touches nothing then.)
  if (ClientEvictionLimit() == 0 || client_memory_limit_ == 0) return;
  size_t mem = 0;
  if (CountsForClientEviction(s)) {
    CountOutputOf(s);
    mem = ClientMemoryUsage(s);
  }
  // Added before the old figure leaves: the total never dips below the
  // sum of the others' figures.
  client_memory_.fetch_add(mem, std::memory_order_relaxed);
  client_memory_.fetch_sub(s.counted_memory, std::memory_order_relaxed);
  s.counted_memory = mem;
}

bool Server::NeedsClientEviction() const {
  const size_t limit = ClientEvictionLimit();
  return limit != 0 &&
         (limit != client_memory_limit_ || client_memory_.load(std::memory_order_relaxed) >= limit);
}

size_t Server::EvictClients() {
  const size_t limit = ClientEvictionLimit();
  if (limit == 0) {
    client_memory_limit_ = 0;
    return 0;
  }
  if (!NeedsClientEviction()) return 0;
  // Every client weighed now: the total is exact again.
  client_memory_limit_ = limit;
  size_t total = 0;
  std::vector<std::pair<size_t, Session*>> evictable;
  for (const auto& [id, s] : clients_) {
    s->counted_memory = 0;
    if (!CountsForClientEviction(*s)) continue;
    CountOutputOf(*s);
    const size_t mem = ClientMemoryUsage(*s);
    s->counted_memory = mem;
    total += mem;
    if (!s->no_evict && s->kill) evictable.emplace_back(mem, s);
  }
  client_memory_.store(total, std::memory_order_relaxed);
  if (total < limit) return 0;
  // The biggest first (Redis walks its buckets from the largest).
  std::sort(evictable.begin(), evictable.end(),
            [](const auto& a, const auto& b) { return a.first > b.first; });
  size_t evicted = 0;
  for (const auto& [mem, s] : evictable) {
    if (total < limit) break;
    Logf(LogLevel::kNotice, "Evicting client: %s", ClientInfoLine(*s, NowMs()));
    total -= mem;
    ++stats().evicted_clients;
    ++evicted;
    s->kill();
  }
  if (total >= limit) {
    Logf(LogLevel::kWarning, "Over client maxmemory after evicting all evictable clients");
  }
  return evicted;
}

const Server::ClientOutputLimits& Server::OutputLimits() const {
  // Parsed again only when the configuration changed (this runs on every
  // reply and every push): looking the directive up costs more than the
  // check itself. One copy per thread (shard threads read it too).
  thread_local ClientOutputLimits parsed;
  if (parsed.generation != config_->generation() || parsed.generation == 0) {
    const std::string text = config_->Value("client-output-buffer-limit").value_or("");
    parsed.normal = replication::OutputLimit::ForClass(text, "normal");
    parsed.pubsub = replication::OutputLimit::ForClass(text, "pubsub");
    parsed.generation = config_->generation();
  }
  return parsed;
}

bool Server::OutputLimitReached(Session& s, int64_t now_ms, bool async) {
  // Replicas are the replication manager's; our primary's link and the
  // socketless clients are never closed for their replies.
  if (s.replica || s.from_primary || s.import_link || !s.kill) return false;
  // Redis looks only at a client with a reply list (none: nothing pending).
  if (s.output_buffer_bytes == 0) return false;
  const ClientOutputLimits& limits = OutputLimits();
  const replication::OutputLimit& limit = s.in_pubsub() ? limits.pubsub : limits.normal;
  if (!s.obuf_check.Exceeded(limit, s.output_buffer_bytes, 0, now_ms)) return false;
  if (async) {
    Logf(LogLevel::kWarning,
         "Client %s scheduled to be closed ASAP for overcoming of output buffer limits.",
         ClientInfoLine(s, now_ms));
  } else {
    Logf(LogLevel::kWarning, "Client %s closed for overcoming of output buffer limits.",
         ClientInfoLine(s, now_ms));
  }
  return true;
}

void Server::CloseClientsOverOutputLimit(int64_t now_ms) {
  std::vector<Session*> over;
  for (const auto& [id, s] : clients_) {
    if (OutputLimitReached(*s, now_ms, false)) over.push_back(s);
  }
  for (Session* s : over) s->kill();
}

void Server::ExpirePauses(int64_t now_ms) {
  for (PausePurpose purpose :
       {PausePurpose::kClientCommand, PausePurpose::kFailover, PausePurpose::kShutdown}) {
    const int64_t until = pauses_[static_cast<int>(purpose)].until();
    if (until != 0 && until <= now_ms) UnpauseClients(purpose);
  }
}

void Server::UnpauseClients(PausePurpose purpose) {
  pauses_[static_cast<int>(purpose)].Set(0, false);
  for (const Pause& p : pauses_) {
    if (p.until() != 0) return;  // still paused for the other purpose
  }
  HoldExpiryWhilePaused(false);
  // Each parked session runs its waiting command on its own (posted) turn.
  std::vector<uint64_t> parked = std::move(paused_sessions_);
  paused_sessions_.clear();
  for (uint64_t id : parked) {
    auto it = clients_.find(id);
    if (it == clients_.end()) continue;
    Retry(*it->second);
  }
}

void Server::ParkSession(Session& session) {
  Suspend(session, WaitReason::kPause);
  paused_sessions_.push_back(session.id);
}

std::string RandomHexId() {
  static constexpr char kHex[] = "0123456789abcdef";
  std::random_device rd;
  std::mt19937_64 gen((static_cast<uint64_t>(rd()) << 32) ^ rd());
  std::string id(40, '0');
  for (char& c : id) c = kHex[gen() & 15];
  return id;
}

void Stats::CountError(std::string_view message) {
  ++total_error_replies;
  // Redis keys the statistic by the text before the first space (looked
  // for in the first 32 bytes); without one, the code is "ERR".
  const size_t space = message.substr(0, 32).find(' ');
  const std::string_view code = space == std::string_view::npos ? "ERR" : message.substr(0, space);
  auto it = error_codes.find(code);
  if (it != error_codes.end()) {
    ++it->second;
  } else if (error_codes.size() < 128) {
    error_codes.emplace(std::string(code), 1);
  }
}

Server::Server(Config* config, const CommandTable* commands)
    : config_(config),
      commands_(commands),
      watches_(std::max(1, config->options().threads)),
      blocking_(std::max(1, config->options().threads)),
      run_id_(RandomHexId()) {
  const int threads = std::max(1, options().threads);
  for (int i = 0; i < threads; ++i) {
    shard_stats_.push_back(std::make_unique<Stats>());
    shard_views_.push_back(std::make_unique<Shard>(&shards_, &watches_, &blocking_,
                                                   shard_stats_.back().get(), &keys_in_flight_));
  }
  local_shard_ = shard_views_[0].get();
  evictor_.ApplyOptions();
  ApplyEncodingOptions();
  for (int i = 0; i < threads; ++i) {
    shards_.push_back(std::make_unique<Keyspace>(options().databases, SlotShare{i, threads}));
    Keyspace& ks = *shards_.back();
    // This keyspace's watched keys: its hooks touch its own table only.
    WatchTable* watches = &watches_.table(i);
    // Likewise its waited keys (blocking.h).
    BlockedKeys* blocked = &blocking_.keys(i);
    for (int d = 0; d < ks.num_dbs(); ++d) {
      ks.db(d).set_access_clock(&evictor_.access_clock());
      // The Db's own keyspace events (new, keymiss, expired, evicted).
      ks.db(d).notify_classes = &options().notify_keyspace_events;
      ks.db(d).on_event = [this, d](int cls, std::string_view event, std::string_view key) {
        NotifyKeyspaceEvent(cls, event, key, d);
      };
      ks.db(d).on_key_modified = [this, watches, blocked, d](std::string_view key) {
        // Blocked clients wait for a key to be written; a flush wakes the
        // waiters of every key of the database (each decides: the blocking
        // pops wait on, a consumer group reader gets its key's end).
        if (key.empty()) {
          blocked->SignalDb(d);
        } else {
          blocked->Signal(d, key);
          // Client-side caching (a flush is signalled by the command:
          // Tracking::Flushed). Shard threads run no command on a key a
          // tracking client may cache (Dispatcher::PlainShard).
          if (!running_on_shard_thread) tracking_.KeyModified(key);
        }
        if (watches->empty()) return;
        if (key.empty()) {
          watches->TouchFlushed(d);
        } else {
          watches->Touch(d, key);
        }
      };
      // Db d of every keyspace shard gets its slot index with this one's
      // (the others' already allocated return at once).
      if (threads > 1) {
        ks.db(d).on_index_allocated = [this, d]() {
          // (Never on a shard thread: Dispatcher::PlainShard leaves a
          // db's first write to the control loop.)
          if (running_on_shard_thread) return;
          for (auto& other : shards_) other->db(d).AllocateIndex();
        };
      }
      // A key that expires on a primary is deleted on its replicas by a DEL,
      // sent with the writes of the command that found it expired.
      ks.db(d).on_key_expired = [this, d](std::string_view key) {
        if (!running_on_shard_thread)
          tracking_.NextChangeByServer();  // its on_key_modified follows
        if (replication_ != nullptr && replication_->is_replica()) return;
        // The running thread's side, where the unit of the command that
        // found the key expired is (a shard thread's Producer).
        RunningWriter writer(write_stream_);
        if (!writer.wanted()) return;
        const std::string args[2] = {"DEL", std::string(key)};
        writer.Append(d, slots::KeyHashSlot(key), args);
      };
    }
  }
}

Server::~Server() = default;

Stats Server::TotalStats() const {
  // A new counter in Stats must be summed here too.
  static_assert(sizeof(Stats) == 18 * sizeof(uint64_t) + sizeof(Stats::error_codes));
  Stats total;
  for (const auto& st : shard_stats_) {
    total.total_connections_received += st->total_connections_received;
    total.total_commands_processed += st->total_commands_processed;
    total.total_net_input_bytes += st->total_net_input_bytes;
    total.total_net_output_bytes += st->total_net_output_bytes;
    total.rejected_connections += st->rejected_connections;
    total.total_error_replies += st->total_error_replies;
    total.unexpected_error_replies += st->unexpected_error_replies;
    total.keyspace_hits += st->keyspace_hits;
    total.keyspace_misses += st->keyspace_misses;
    total.expired_keys += st->expired_keys;
    total.evicted_keys += st->evicted_keys;
    total.evicted_clients += st->evicted_clients;
    total.dirty += st->dirty;
    total.total_reads_processed += st->total_reads_processed;
    total.total_writes_processed += st->total_writes_processed;
    total.reply_buffer_shrinks += st->reply_buffer_shrinks;
    total.reply_buffer_expands += st->reply_buffer_expands;
    total.shard_thread_commands += st->shard_thread_commands;
    for (const auto& [code, count] : st->error_codes) {
      auto it = total.error_codes.find(code);
      if (it != total.error_codes.end()) {
        it->second += count;
      } else if (total.error_codes.size() < 128) {
        total.error_codes.emplace(code, count);
      }
    }
  }
  return total;
}

uint64_t Server::TotalStat(uint64_t Stats::*field) const {
  uint64_t total = 0;
  for (const auto& st : shard_stats_) total += (*st).*field;
  return total;
}

CommandStats Server::TotalCommandStats(int index) const {
  CommandStats total;
  for (const auto& view : shard_views_) {
    if (const CommandStats* st = view->FindCommandStats(index)) total.Add(*st);
  }
  return total;
}

void Server::ResetStats() {
  for (auto& st : shard_stats_) st->Reset();
  // INFO commandstats / latencystats, every view's.
  for (auto& view : shard_views_) view->ResetCommandStats();
  // The lookup and expiry counters each database keeps (INFO keyspace_hits,
  // keyspace_misses, expired_keys), as Redis's resetServerStats clears them.
  for (int i = 0; i < num_shards(); ++i) {
    Keyspace& ks = shard(i);
    for (int d = 0; d < ks.num_dbs(); ++d) ks.db(d).mutable_stats() = DbStats();
  }
}

void Server::SetDirty(uint64_t dirty) {
  for (auto& st : shard_stats_) st->dirty = 0;
  shard_stats_[0]->dirty = dirty;
}

const ServerOptions& Server::options() const { return config_->options(); }

absl::Status Server::ApplyOomScore() {
  const bool replica = replication_ != nullptr && replication_->is_replica();
  return ApplyOomScoreAdj(config_->Value("oom-score-adj").value_or("no"),
                          config_->Value("oom-score-adj-values").value_or(""),
                          replica ? OomClass::kReplica : OomClass::kPrimary);
}

void Server::ApplyEncodingOptions() {
  ZSetObject::SetListpackLimits(static_cast<size_t>(options().zset_max_listpack_entries),
                                static_cast<size_t>(options().zset_max_listpack_value));
  HashObject::SetListpackLimits(static_cast<size_t>(options().hash_max_listpack_entries),
                                static_cast<size_t>(options().hash_max_listpack_value));
}

void Server::ApplyMemoryOptions(int64_t now_ms) {
  evictor_.ApplyOptions();
  ApplyEncodingOptions();
  // A lower maxmemory takes effect soon after the command, as Redis's
  // CONFIG SET starts its eviction time proc (the next command evicts first
  // anyway).
  if (evictor_.BytesOverLimit() > 0) {
    Logf(LogLevel::kWarning,
         "WARNING: the new maxmemory value set via CONFIG SET (%lld) is smaller than the current "
         "memory usage (%zu). This will result in key eviction and/or the inability to accept "
         "new write commands depending on the maxmemory-policy.",
         static_cast<long long>(options().maxmemory), UsedMemory());
    evictor_.Start(now_ms);
  }
}

void Server::set_cluster(std::unique_ptr<clusterbus::ClusterState> cluster) {
  cluster_ = std::move(cluster);
  // Built unconditionally: a table of another ClusterState says nothing
  // about this one (IsCurrent compares versions of one state).
  if (cluster_) slot_tables_.Publish(clusterbus::SlotTable::Build(*cluster_));
}

void Server::PublishSlotTable() {
  if (!cluster_) return;
  // Most calls follow a step that changed nothing routing reads (a ping, a
  // pong): the published table answers that without a walk of the slots.
  // Otherwise the new table is the published one with the changed slots
  // re-read (a SETSLOT changes one).
  std::shared_ptr<const clusterbus::SlotTable> current = slot_tables_.Load();
  if (current && current->IsCurrent(*cluster_)) return;
  slot_tables_.Publish(clusterbus::SlotTable::Build(*cluster_, current.get()));
}

void Server::ApplyClusterEffects(int64_t now_ms) { node::ApplyClusterEffects(*this, now_ms); }

void Server::RefreshClusterOptions() { node::RefreshClusterOptions(*this); }

bool Server::UnblockClient(uint64_t id, bool with_error) {
  return UnblockClientById(*this, id, with_error);
}

ShutdownOutcome Server::RequestShutdown(int flags, int64_t now_ms) {
  if (!request_shutdown) return ShutdownOutcome::kFailed;
  return request_shutdown(flags, now_ms);
}

bool Server::SaveClusterConfig(bool fsync, std::string* error) {
  return save_cluster_config && save_cluster_config(fsync, error);
}

void Server::ClusterPublish(std::string_view channel, std::string_view message, bool shard) {
  if (cluster_publish) cluster_publish(channel, message, shard);
}

void Server::Sleep(int64_t ms) {
  if (sleep) sleep(ms);
}

bool Server::SlotMigrationCommand(CommandContext& ctx, std::span<std::string> args) {
  if (!slot_migration) return false;
  slot_migration(ctx, args);
  return true;
}

void Server::SetSlotsHidden(const slots::SlotSet& slots, bool hidden) {
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (!slots.Test(s) || hidden_slots_.Test(s) == hidden) continue;
    if (hidden) {
      hidden_slots_.Set(s);
      ++hidden_count_;
    } else {
      hidden_slots_.Clear(s);
      --hidden_count_;
    }
  }
}

void Server::SetHiddenSlots(const slots::SlotSet& slots) {
  slots::SlotSet shown = hidden_slots_;
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (slots.Test(s)) shown.Clear(s);
  }
  SetSlotsHidden(shown, false);
  SetSlotsHidden(slots, true);
}

void Server::SetSlotWritesPaused(const slots::SlotSet& slots, bool paused) {
  for (int s = 0; s < slots::kNumSlots; ++s) {
    if (!slots.Test(s) || paused_write_slots_.Test(s) == paused) continue;
    if (paused) {
      paused_write_slots_.Set(s);
      ++paused_slot_count_;
    } else {
      paused_write_slots_.Clear(s);
      --paused_slot_count_;
    }
  }
  if (paused) return;
  // Every parked writer runs again on its own turn: one whose slot is still
  // paused (another job) parks again.
  std::vector<uint64_t> parked = std::move(slot_paused_sessions_);
  slot_paused_sessions_.clear();
  for (uint64_t id : parked) {
    auto it = clients_.find(id);
    if (it != clients_.end()) Retry(*it->second);
  }
}

void Server::SendToMonitors(const std::string& line) {
  for (uint64_t id : monitoring_.monitors) {
    auto it = clients_.find(id);
    if (it != clients_.end() && it->second->push) it->second->push(line);
  }
}

void Server::ParkForSlotPause(Session& session) {
  Suspend(session, WaitReason::kPause);
  slot_paused_sessions_.push_back(session.id);
}

bool Server::Migrate(CommandContext& ctx, std::span<std::string> args) {
  if (!migrate) return false;
  migrate(ctx, args);
  return true;
}

}  // namespace shardnode::node

namespace shardnode::node {

std::string_view Server::ShardCommandsBlocker() const {
  // (maxmemory-clients: a command goes to the control loop while the
  // clients' running total is over the limit: Dispatcher::PlainShard.)
  // (Commands on waited keys run on the control loop: Dispatcher::PlainShard.)
  if (blocking_.has_ready()) return "blocked clients";
  if (loading_.active) return "loading";
  if (!busy_script_error_.empty()) return "busy script";
  if (output_gate_.held()) return "output gate";
  return {};
}

}  // namespace shardnode::node
