// Tracking: server-assisted client-side caching (CLIENT TRACKING), with
// Redis 7.0's semantics (tracking.c).
//
// Two tables:
//   - the tracking table: each key a tracking client read (in the default
//     mode) -> the ids of the clients that may cache it. A change to the key
//     sends each of them an invalidation and forgets the key;
//   - the prefix table (BCAST mode): each registered prefix -> its clients
//     and the keys under it changed since the last broadcast (each with the
//     client that changed it last, for NOLOOP). BroadcastPending sends them,
//     once per turn of the event loop (Redis's beforeSleep).
// Keys are not per database: a key name stands for that name in every db.
//
// Invalidations go out through Session::push, as a RESP3 push
// `>2 invalidate [keys]` (a null for "everything" after a flush), or, for a
// RESP2 client redirecting to a subscriber of __redis__:invalidate, as a
// Pub/Sub message on that channel. A client whose redirect target is gone
// gets `tracking-redir-broken <id>` (RESP3) instead.
//
// The command being executed (SetCurrent / the call depth) decides two
// things, as Redis's current_client: NOLOOP clients get nothing for their own
// changes, and invalidations meant for the client whose command runs wait
// until its reply is written (FlushPending), so they never interleave with it.
//
// Loop: the loop that owns the sessions. Not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <random>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace shardnode::node {

struct Session;

class Tracking {
 public:
  // REQUIRES: `clients` (the connected clients by id) outlives the table.
  explicit Tracking(const std::map<uint64_t, Session*>* clients);

  // CLIENT TRACKING ON's options.
  struct Options {
    uint64_t redirect = 0;
    bool bcast = false;
    bool optin = false;
    bool optout = false;
    bool noloop = false;
    std::vector<std::string> prefixes;
  };
  // Turns tracking on for `s` (or changes its options), after Redis's
  // checks. Returns the error text (without '-') on refusal, "" on success.
  // *enabled says whether tracking was enabled: Redis enables it even with
  // an error when a later PREFIX overlaps another new one (the client then
  // gets the error and +OK).
  std::string Enable(Session& s, const Options& options, bool* enabled);
  // Turns tracking off (no-op when off). The client's ids stay in the
  // tracking table and are skipped lazily, as Redis does.
  void Disable(Session& s);

  // After `s` ran a read-only command whose keys are `keys`: remembers them
  // for `s` (default mode), unless OPTIN/OPTOUT with CLIENT CACHING says no.
  void RememberKeys(Session& s, std::span<const std::string_view> keys);

  // A key changed (Redis's signalModifiedKey): invalidates its trackers and
  // records it for the BCAST prefixes it falls under.
  void KeyModified(std::string_view key);
  // Whether a change to `key` would reach some tracking client: the key is
  // in the tracking table or under a BCAST prefix. (Shard threads leave
  // such keys to the control loop: Dispatcher::PlainShard.)
  bool Concerns(std::string_view key) const;
  // Whether any client tracks or any key is remembered.
  bool in_use() const { return num_clients_ > 0 || !table_.empty() || !prefixes_.empty(); }
  // The next KeyModified comes from no client (an expiry, an eviction): a
  // NOLOOP BCAST client still hears of it.
  void NextChangeByServer() { by_server_ = true; }
  // A FLUSHDB / FLUSHALL: every tracking client gets a null invalidation
  // and the tracking table is emptied.
  void Flushed();
  // Sends the BCAST invalidations gathered since the last call.
  void BroadcastPending();
  // tracking-table-max-keys: invalidates random keys while the table holds
  // more than `max_keys` (0: no limit), with an effort that grows while the
  // limit is not reached.
  void LimitTable(size_t max_keys);

  // The client whose command the node is processing (nullptr: none), as
  // Redis's current_client. Returns the previous one.
  Session* SetCurrent(Session* s) {
    Session* prev = current_;
    current_ = s;
    return prev;
  }
  Session* current() const { return current_; }
  // The client whose command changes keys now (the script's client inside a
  // script): BCAST's NOLOOP filters on it. Returns the previous one.
  uint64_t SetModifier(uint64_t id) {
    const uint64_t prev = modifier_;
    modifier_ = id;
    return prev;
  }
  // Inside a command's execution (Redis's call): invalidations for the
  // current client wait for FlushPending.
  void EnterCall() { ++call_depth_; }
  void LeaveCall() { --call_depth_; }
  // Sends the current client the invalidations that waited for its reply.
  void FlushPending();

  // Called when a key is recorded for a broadcast and none is scheduled;
  // the shell posts BroadcastPending to the loop. Unset: the caller
  // broadcasts itself (tests).
  std::function<void()> schedule_broadcast;

  // INFO.
  size_t num_clients() const { return num_clients_; }
  size_t total_keys() const { return table_.size(); }
  size_t total_items() const { return total_items_; }
  size_t total_prefixes() const { return prefixes_.size(); }

  // Redis's sendTrackingMessage: sends `s` (or its redirect target) the
  // invalidation whose key part is `keys_resp` (a RESP array or null).
  void SendMessage(Session& s, std::string_view keys_resp);

 private:
  struct Tracked {
    std::set<uint64_t> ids;
    size_t pos = 0;  // in keys_
  };
  struct Bcast {
    std::set<uint64_t> clients;
    std::map<std::string, uint64_t> keys;  // key -> its last modifier (0: none)
  };
  Session* Find(uint64_t id) const;
  // Redis's trackingInvalidateKey; `modifier`: who changed it (BCAST NOLOOP).
  void Invalidate(std::string_view key, bool bcast, uint64_t modifier);
  void Forget(std::unordered_map<std::string, Tracked>::iterator it);

  const std::map<uint64_t, Session*>* clients_;
  std::unordered_map<std::string, Tracked> table_;
  std::vector<std::string> keys_;  // the table's keys, for random picks
  size_t total_items_ = 0;
  std::map<std::string, Bcast, std::less<>> prefixes_;
  size_t num_clients_ = 0;
  Session* current_ = nullptr;
  uint64_t modifier_ = 0;
  bool by_server_ = false;  // NextChangeByServer
  int call_depth_ = 0;
  bool broadcast_scheduled_ = false;
  // Invalidations held until the reply of client `id` is out: a key, or
  // (flush) everything.
  struct PendingItem {
    uint64_t id = 0;
    bool flush = false;
    std::string key;
  };
  std::vector<PendingItem> pending_;
  unsigned limit_rounds_ = 0;  // LimitTable calls in a row still over the limit
  std::mt19937_64 rng_{0x7472616b};
};

}  // namespace shardnode::node
