// Watches: optimistic locking for MULTI/EXEC (WATCH). Any change to a
// watched key marks the sessions watching it dirty, and their next EXEC
// fails with a null reply.
//
// Redis 7.0's rules: a write, delete or expiry of the key touches it; a
// flush touches only the watched keys that existed when WATCH ran (a key
// created later has already touched its watchers).
//
// The index is split as the keyspace is: WatchTable holds the watched keys
// of one keyspace shard's slots, and that keyspace's Db hooks touch it and
// no other (Server wires them), so with shard threads a table belongs to its
// shard's thread. WatchIndex is the node's set of tables, one per keyspace
// shard; what spans tables goes through it: WATCH (its keys may live on
// several shards), UNWATCH, the unwatch of EXEC / DISCARD / RESET and of a
// client's detach (Server::DetachSession), which walk the session's watched
// keys over their tables, and SWAPDB, which looks at every table. With shard
// threads those are global steps when the keys span shards; a flush
// (FLUSHDB / FLUSHALL) reaches each table through its own keyspace's hook.
//
// The session's dirty flag is the one thing a table's thread writes in a
// session (Session::watch_dirty, an atomic); the session's list of watched
// keys is written only here, by WatchIndex, on the session's side.
//
// Loop: a WatchTable, its keyspace shard's thread (today the control loop);
// WatchIndex, the control loop (as a global step when its tables belong to
// several threads). Not thread-safe.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardnode::node {

struct Session;

class WatchTable {
 public:
  // Records `s` as watching `key` of `db` (`existed`: the key was live).
  // Returns false, changing nothing, when it already did.
  bool Add(Session& s, int db, std::string_view key, bool existed);
  // Forgets that `s` watches `key` of `db` (no-op when it does not).
  void Remove(Session& s, int db, std::string_view key);
  // A change to `key` of `db`: its watchers turn dirty.
  void Touch(int db, std::string_view key);
  // Every key of `db` was removed (FLUSHDB / FLUSHALL): the watchers of the
  // keys that were live at their WATCH turn dirty.
  void TouchFlushed(int db);
  bool empty() const { return watchers_.empty(); }
  // The keys of `db` that some session watches (SWAPDB).
  std::vector<std::string> KeysOf(int db) const;

 private:
  using Key = std::pair<int, std::string>;
  // Each watcher with whether the key was live at its WATCH.
  std::map<Key, std::map<Session*, bool>, std::less<>> watchers_;
};

class WatchIndex {
 public:
  // One table per keyspace shard. REQUIRES: shards >= 1.
  explicit WatchIndex(int shards);
  WatchIndex(const WatchIndex&) = delete;
  WatchIndex& operator=(const WatchIndex&) = delete;

  int num_tables() const { return static_cast<int>(tables_.size()); }
  // The table of keyspace shard `shard`. REQUIRES: 0 <= shard < num_tables().
  WatchTable& table(int shard) { return *tables_[shard]; }

  // WATCH of `key` of `db`, which lives on keyspace shard `shard`
  // (`existed`: it was live). REQUIRES: the session is not in MULTI.
  void Watch(Session& s, int shard, int db, std::string_view key, bool existed);
  // Forgets every key the session watches, on every table, and clears its
  // dirty flag.
  void Unwatch(Session& s);

 private:
  std::vector<std::unique_ptr<WatchTable>> tables_;
};

}  // namespace shardnode::node
