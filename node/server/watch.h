// WatchTable: optimistic locking for MULTI/EXEC (WATCH). It maps each watched
// (db, key) to the sessions watching it; any change to the key marks those
// sessions dirty, and their next EXEC fails with a null reply.
//
// Redis 7.0's rules: a write, delete or expiry of the key touches it; a
// flush touches only the watched keys that existed when WATCH ran (a key
// created later has already touched its watchers).
//
// Loop: the loop that owns the sessions. Not thread-safe.
#pragma once

#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace shardnode::node {

struct Session;

class WatchTable {
 public:
  // REQUIRES: the session is not in MULTI. `existed`: the key was live.
  void Watch(Session& s, int db, std::string_view key, bool existed);
  // Forgets every key the session watches and clears its dirty flag.
  void Unwatch(Session& s);
  // A change to `key` of `db`.
  void Touch(int db, std::string_view key);
  // Every key of `db` was removed (FLUSHDB / FLUSHALL).
  void TouchFlushed(int db);
  bool empty() const { return watchers_.empty(); }
  // The keys of `db` that some session watches (SWAPDB).
  std::vector<std::string> KeysOf(int db) const;

 private:
  using Key = std::pair<int, std::string>;
  std::map<Key, std::set<Session*>, std::less<>> watchers_;
};

}  // namespace shardnode::node
