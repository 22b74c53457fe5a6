// Keyspace: every database of one shard (SELECT 0..databases-1). The node
// keeps one Keyspace per shard thread; each shard owns a subset of the hash
// slots.
//
// Loop: owned by the Server, used only on its shard's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "node/keyspace/db.h"

namespace shardnode::node {

class Keyspace {
 public:
  // The databases of keyspace shard `share` (SlotShare): each holds keys of
  // its slots only. REQUIRES: databases >= 1.
  explicit Keyspace(int databases, SlotShare share = {});

  // REQUIRES: 0 <= index < num_dbs().
  Db& db(int index) { return *dbs_[index]; }
  const Db& db(int index) const { return *dbs_[index]; }
  int num_dbs() const { return static_cast<int>(dbs_.size()); }

  // Active expiry: samples keys with a TTL across the databases (round robin,
  // resuming where the last call stopped) and removes the expired ones,
  // looking at no more than `max_keys` keys in all. Like Redis, a database
  // keeps being sampled while more than 10% of its sample had expired.
  // Returns the keys removed. Called 10 times a second by the node's cron.
  size_t ActiveExpireCycle(int64_t now_ms, int max_keys);

  // Keys in all databases.
  size_t TotalKeys() const;
  // Sum of the databases' hit/miss/expired counters.
  DbStats TotalStats() const;
  // SWAPDB: databases `a` and `b` exchange their keys (each index keeps
  // its hooks, on_key_modified and on_key_expired).
  void SwapDbs(int a, int b);
  // FLUSHALL.
  void Clear();

 private:
  std::vector<std::unique_ptr<Db>> dbs_;
  int next_expire_db_ = 0;
};

}  // namespace shardnode::node
