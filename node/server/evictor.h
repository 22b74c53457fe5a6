// Evictor: maxmemory enforcement, Redis's performEvictions. Before each
// command (and when CONFIG SET lowers maxmemory, and from the cron while a
// run was cut short) it compares used memory (memory_counter.h, less the
// replica output buffers, as freeMemoryGetNotCountedMemory) with maxmemory
// and, by maxmemory-policy, removes keys until it is under the limit:
//  - *-lru / *-lfu / volatile-ttl: maxmemory-samples keys of each database
//    feed the eviction pool (keyspace/eviction.h); its best candidate goes.
//  - *-random: a random key, the databases taken in turn.
// Each evicted key leaves the write stream as DEL (UNLINK under
// lazyfree-lazy-eviction), one unit each (no MULTI), counts in INFO
// evicted_keys and wakes WATCH. A run stops after the time
// maxmemory-eviction-tenacity allows (checked every 16 keys) and goes on
// from the event loop between commands; it fails when no candidate key is
// left.
//
// It does nothing on a replica with replica-ignore-maxmemory (the primary's
// DELs keep it a copy), while loading, during a busy script or while writes
// are paused.
//
// Loop: the loop that owns the Server (it walks every keyspace shard).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "node/keyspace/db.h"
#include "node/keyspace/eviction.h"

namespace shardnode::node {

class Server;

enum class EvictResult {
  kOk,       // under the limit (or eviction does not apply)
  kRunning,  // over, keys were evicted, the cron goes on
  kFail,     // over and nothing could be evicted: deny-oom commands fail
};

class Evictor {
 public:
  // REQUIRES: `server` outlives the Evictor.
  explicit Evictor(Server& server);

  EvictResult Perform(int64_t now_ms);
  // Whether a run stopped on its time limit while still over. Such a run
  // asks Server::schedule_eviction to call Continue soon (Redis's eviction
  // time proc); the cron resumes it too.
  bool running() const { return running_; }
  void Continue(int64_t now_ms);
  // Starts a run to be made soon, through Server::schedule_eviction, rather
  // than now (Redis's startEvictionTimeProc after CONFIG SET maxmemory): a
  // command that lowers maxmemory evicts nothing itself, so its DELs never
  // join its own writes (or a MULTI's). Without schedule_eviction (no
  // loop), runs at once.
  void Start(int64_t now_ms);

  // Re-reads the policy and the LFU knobs (after CONFIG SET / startup).
  void ApplyOptions();
  // The keyspaces' access clock (every Db points at it).
  const AccessClock& access_clock() const { return clock_; }

  // Memory not counted against maxmemory (INFO mem_not_counted_for_evict):
  // the replicas' output buffers.
  size_t NotCountedMemory() const;
  // Bytes over maxmemory by Redis's count (0 when under, or no maxmemory).
  size_t BytesOverLimit() const;

 private:
  // Fills the pool from every database; returns the keys sampled from.
  size_t FillPool(EvictionPolicy policy, int64_t now_ms);
  bool PickRandom(EvictionPolicy policy, int* ks, int* db, std::string* key);
  bool SafeToEvict(int64_t now_ms) const;
  // `removed`: Db::Evict's.
  // `at`: Db::Locate(key) of that database, nothing changed since.
  void EvictKey(int ks, int db, const std::string& key, const Db::Located& at,
                const std::function<void()>& removed);

  Server& server_;
  AccessClock clock_;
  EvictionPool pool_;
  std::vector<Entry*> sample_;
  int next_random_db_ = 0;
  bool running_ = false;
  bool scheduled_ = false;  // a Continue is pending
};

}  // namespace shardnode::node
