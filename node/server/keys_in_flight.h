// KeysInFlight: the keys a MIGRATE is moving right now, and the clients
// whose commands wait for them.
//
// While a key is in flight its value is being serialized and sent, a slice
// at a time, with the node serving in between; nothing may change or read
// it meanwhile. So the dispatcher holds back every command that touches an
// in-flight key (or, like FLUSHALL, every key) with suspend.h's kKeysBusy,
// and runs it again once the MIGRATE is over: by then the key is either
// still here (MIGRATE failed, or COPY) or gone, and routing answers ASK for
// a migrating slot. No write to a key in flight is lost or reordered.
//
// Loop: the keyspace's loop. Not thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace shardnode::node {

class KeysInFlight {
 public:
  // Marks `key` of database `db` as in flight (counted: two MIGRATEs may
  // not hold one key, but the count keeps Remove safe).
  void Add(int db, std::string_view key);
  void Remove(int db, std::string_view key);
  bool Contains(int db, std::string_view key) const;
  bool empty() const { return keys_.empty(); }
  size_t size() const { return keys_.size(); }

  // A client whose command waits until the keys it touches land.
  void AddWaiter(uint64_t client_id) { waiters_.push_back(client_id); }
  // The waiting clients, in arrival order; the list restarts empty (a
  // retried command that still finds a key in flight waits again).
  std::vector<uint64_t> TakeWaiters() { return std::exchange(waiters_, {}); }

 private:
  static std::string Id(int db, std::string_view key);
  absl::flat_hash_map<std::string, int> keys_;
  std::vector<uint64_t> waiters_;
};

}  // namespace shardnode::node
