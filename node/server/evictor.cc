#include "node/server/evictor.h"

#include <chrono>
#include <limits>

#include "node/keyspace/db.h"
#include "node/keyspace/keyspace.h"
#include "node/server/memory_counter.h"
#include "node/server/replication_control.h"
#include "node/server/server.h"
#include "slots/hash_slot.h"

namespace shardnode::node {

Evictor::Evictor(Server& server) : server_(server) {}

void Evictor::ApplyOptions() {
  const ServerOptions& o = server_.options();
  const bool lfu = IsLfuPolicy(static_cast<EvictionPolicy>(o.maxmemory_policy));
  // A pool filled under another policy holds idles of another kind.
  if (lfu != clock_.lfu) pool_.Clear();
  clock_.lfu = lfu;
  clock_.lfu_log_factor = o.lfu_log_factor;
  clock_.lfu_decay_time = o.lfu_decay_time;
}

size_t Evictor::NotCountedMemory() const {
  // The shared replication buffer above repl-backlog-size, replicas or not
  // (a buffer still being trimmed after slow replicas left).
  const ReplicationControl* repl = server_.replication();
  size_t bytes = repl != nullptr ? repl->backlog_not_counted() : 0;
  // Clients' output on its way to a shard thread's socket (memory_counter.h).
  bytes += OutputInFlight();
  // Checked before every command while over the limit: skip the walk over
  // every client when no replica is connected.
  if (server_.replica_sessions() == 0) return bytes;
  for (const auto& [id, session] : server_.clients()) {
    if (session->replica) bytes += session->output_buffer_allocated;
  }
  return bytes;
}

size_t Evictor::BytesOverLimit() const {
  const int64_t maxmemory = server_.options().maxmemory;
  if (maxmemory <= 0) return 0;
  const size_t limit = static_cast<size_t>(maxmemory);
  size_t used = UsedMemory();
  if (used <= limit) return 0;
  const size_t excluded = NotCountedMemory();
  used = used > excluded ? used - excluded : 0;
  return used > limit ? used - limit : 0;
}

bool Evictor::SafeToEvict(int64_t now_ms) const {
  if (server_.loading().active || !server_.busy_script_error().empty()) return false;
  const ReplicationControl* repl = server_.replication();
  if (repl != nullptr && repl->is_replica() && server_.options().replica_ignore_maxmemory) {
    return false;
  }
  // A paused dataset stays as it is: no expiry, no eviction.
  return !server_.WritesPaused(now_ms);
}

size_t Evictor::FillPool(EvictionPolicy policy, int64_t now_ms) {
  const bool ttl_only = IsVolatilePolicy(policy);
  const size_t samples = static_cast<size_t>(std::max(1, server_.options().maxmemory_samples));
  const int decay = server_.options().lfu_decay_time;
  size_t total = 0;
  for (int ks = 0; ks < server_.num_shards(); ++ks) {
    Keyspace& keyspace = server_.shard(ks);
    for (int d = 0; d < keyspace.num_dbs(); ++d) {
      Db& db = keyspace.db(d);
      const size_t keys = ttl_only ? db.expires_count() : db.Size();
      if (keys == 0) continue;
      total += keys;
      sample_.clear();
      db.SampleEntries(ttl_only, samples, &sample_);
      for (const Entry* e : sample_) {
        uint64_t idle = 0;
        if (IsLruPolicy(policy)) {
          idle = LruIdleMs(e->lru(), now_ms);
        } else if (IsLfuPolicy(policy)) {
          idle = 255 - LfuDecayedCounter(e->lru(), now_ms, decay);
        } else {
          // volatile-ttl: the sooner it expires, the better a candidate.
          idle = std::numeric_limits<uint64_t>::max() - static_cast<uint64_t>(db.ExpireOf(e));
        }
        pool_.Offer(idle, ks, d, e->key(), e, e->value().OwnedBlock());
      }
    }
  }
  return total;
}

bool Evictor::PickRandom(EvictionPolicy policy, int* ks, int* db, std::string* key) {
  const bool ttl_only = IsVolatilePolicy(policy);
  const int per_shard = server_.shard(0).num_dbs();
  const int total = server_.num_shards() * per_shard;
  for (int i = 0; i < total; ++i) {
    next_random_db_ = (next_random_db_ + 1) % total;
    Db& d = server_.shard(next_random_db_ / per_shard).db(next_random_db_ % per_shard);
    if ((ttl_only ? d.expires_count() : d.Size()) == 0) continue;
    sample_.clear();
    d.SampleEntries(ttl_only, 1, &sample_);
    *ks = next_random_db_ / per_shard;
    *db = next_random_db_ % per_shard;
    key->assign(sample_[0]->key());
    return true;
  }
  return false;
}

void Evictor::EvictKey(int ks, int db, const std::string& key, const Db::Located& at,
                       const std::function<void()>& removed) {
  if (!server_.shard(ks).db(db).Evict(key, at, removed)) return;
  ++server_.stats().evicted_keys;
  const ReplicationControl* repl = server_.replication();
  if (repl != nullptr && repl->is_replica()) return;  // a writable replica's own
  WriteStream& stream = server_.write_stream();
  if (!stream.wanted()) return;
  const std::string args[2] = {server_.options().lazyfree_lazy_eviction ? "UNLINK" : "DEL", key};
  // Each DEL is its own unit: Redis propagates evictions without MULTI.
  stream.BeginUnit();
  stream.Append(db, at.slot, args);
  stream.EndUnit();
}

void Evictor::Start(int64_t now_ms) {
  if (!server_.schedule_eviction) {
    Perform(now_ms);
    return;
  }
  running_ = true;
  if (!scheduled_) {
    scheduled_ = true;
    server_.schedule_eviction();
  }
}

void Evictor::Continue(int64_t now_ms) {
  scheduled_ = false;
  if (running_) Perform(now_ms);
}

EvictResult Evictor::Perform(int64_t now_ms) {
  // The common case first: one load of the counter.
  const int64_t maxmemory = server_.options().maxmemory;
  if (maxmemory <= 0 || UsedMemory() <= static_cast<size_t>(maxmemory) || !SafeToEvict(now_ms)) {
    running_ = false;
    return EvictResult::kOk;
  }
  const size_t to_free = BytesOverLimit();
  if (to_free == 0) {
    running_ = false;
    return EvictResult::kOk;
  }
  const auto policy = static_cast<EvictionPolicy>(server_.options().maxmemory_policy);
  if (policy == EvictionPolicy::kNoEviction) {
    running_ = false;
    return EvictResult::kFail;
  }
  const uint64_t limit_us = EvictionTimeLimitUs(server_.options().maxmemory_eviction_tenacity);
  // The clock is read once a second key is needed: most runs (a write that
  // went over by one key's size) end after one key, and never look at it.
  std::chrono::steady_clock::time_point start;
  const bool random =
      policy == EvictionPolicy::kAllkeysRandom || policy == EvictionPolicy::kVolatileRandom;
  size_t freed = 0;
  uint64_t keys_freed = 0;
  std::string key;
  // Keys an atomic slot migration is importing are never evicted (their
  // source still owns them); draws that find only those give up.
  auto hidden = [this](int slot) { return server_.AnySlotHidden() && server_.SlotHidden(slot); };
  int hidden_draws = 0;
  constexpr int kMaxHiddenDraws = 64;
  while (freed < to_free) {
    int ks = 0, db = 0;
    Db::Located at;
    bool found = false;
    if (random) {
      while (PickRandom(policy, &ks, &db, &key)) {
        at = server_.shard(ks).db(db).Locate(key);
        if (!hidden(at.slot)) {
          found = true;
          break;
        }
        if (++hidden_draws > kMaxHiddenDraws) break;
      }
    } else {
      // Sample until the pool yields a key that still exists (candidates
      // from earlier runs may be gone).
      while (!found && hidden_draws <= kMaxHiddenDraws) {
        if (FillPool(policy, now_ms) == 0) break;
        EvictionPool::Candidate c;
        while (pool_.PopBest(&c)) {
          at = server_.shard(c.keyspace).db(c.db).Locate(c.key);
          const Entry* e = at.entry;
          if (e == nullptr || (IsVolatilePolicy(policy) && !e->has_expire())) continue;
          if (hidden(at.slot)) {
            ++hidden_draws;
            continue;
          }
          e->value().PrefetchBlock();
          ks = c.keyspace;
          db = c.db;
          key = std::move(c.key);
          found = true;
          break;
        }
      }
    }
    if (!found) {
      running_ = false;
      return EvictResult::kFail;  // nothing left to evict
    }
    // What this thread freed: with shard threads, others allocate and free
    // meanwhile (UsedMemory's difference would count that too, and an
    // allocation elsewhere would look like a key that freed nothing).
    // Measured around the removal only, as Redis: the invalidations pushed
    // to tracking clients (with shard threads, a new buffer posted for
    // each) and the DEL propagated come after.
    const int64_t before = ThreadNetAllocated();
    int64_t after = before;
    EvictKey(ks, db, key, at, [&after]() { after = ThreadNetAllocated(); });
    if (before > after) freed += static_cast<size_t>(before - after);
    ++keys_freed;
    if (keys_freed == 1) {
      if (freed >= to_free) break;
      start = std::chrono::steady_clock::now();
    }
    if (keys_freed % 16 == 0) {
      // Freed elsewhere (lazyfree-lazy-eviction's thread), or the limit
      // met meanwhile: as Redis checks for lazy eviction.
      if (BytesOverLimit() == 0) break;
      const auto elapsed = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - start);
      if (static_cast<uint64_t>(elapsed.count()) > limit_us) {
        running_ = true;
        if (!scheduled_ && server_.schedule_eviction) {
          scheduled_ = true;
          server_.schedule_eviction();
        }
        return EvictResult::kRunning;
      }
    }
  }
  running_ = false;
  pool_.PrefetchBest();
  return EvictResult::kOk;
}

}  // namespace shardnode::node
