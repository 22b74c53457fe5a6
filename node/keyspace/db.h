// Db: one numbered database of one shard (SELECT n). It owns its keys and
// their values, split into one hash table per hash slot, so that counting,
// listing or dropping a slot's keys costs what the slot holds. Slot tables
// (and the slot index arrays) are allocated on first use, so a Db never used
// costs a few words; a flushed one keeps its index arrays.
//
// Expiry: a key may carry an absolute expiry time in ms. Expired keys are
// removed lazily, when a lookup finds them, and actively by SampleExpired,
// which picks keys at random among those with a TTL (kept in a dense side
// array of 16-byte records, so sampling is O(1) per key and keys without a
// TTL pay nothing).
//
// Time comes in as `now_ms`; randomness from an internal generator seeded at
// construction (set_seed for tests). Pure data: no I/O, no clock.
//
// Loop: owned by its Keyspace, used only on that shard's thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <unordered_set>
#include <vector>

#include "base/fast_rng.h"
#include "node/keyspace/dict.h"
#include "node/keyspace/eviction.h"
#include "node/keyspace/slot_share.h"
#include "node/keyspace/value.h"
#include "slots/hash_slot.h"

namespace shardnode::node {

// One key of a Db, in one allocation: a 40-byte header (chain link, Value,
// expiry index, access clock and key length), then the key bytes. A string
// value of up to 22 bytes is inline in the Value, so a short key and value
// cost one block (16-byte key and value: 56 bytes, glibc's 64-byte chunk).
// A key of 255 bytes or more has its length as a uint32 before its bytes.
// Allocated and freed by the Db only.
class Entry {
 public:
  std::string_view key() const {
    const char* p = reinterpret_cast<const char*>(this + 1);
    const uint32_t len = meta_ >> kKeyLenShift;
    if (len != kLongKey) return {p, len};
    uint32_t long_len;
    std::memcpy(&long_len, p, sizeof(long_len));
    return {p + sizeof(long_len), long_len};
  }
  Value& value() { return value_; }
  const Value& value() const { return value_; }
  bool has_expire() const { return expire_index_ != kNoExpire; }
  // The access clock (eviction.h): 24 bits, LRU seconds or LFU
  // minutes+counter, by the policy in force when the key was last touched.
  uint32_t lru() const { return meta_ & kLruClockMax; }
  void set_lru(uint32_t lru) { meta_ = (meta_ & ~kLruClockMax) | (lru & kLruClockMax); }

  struct Traits;  // Dict's traits for entries (db.cc)

 private:
  friend class Db;
  static constexpr uint32_t kNoExpire = UINT32_MAX;
  // meta_: the access clock in the low 24 bits, the key length (or
  // kLongKey) in the high 8.
  static constexpr int kKeyLenShift = 24;
  static constexpr uint32_t kLongKey = 0xff;

  static Entry* Create(std::string_view key, Value value);
  static void Destroy(Entry* e);

 public:
  Entry* dict_next = nullptr;  // Dict's chain link

 private:
  Value value_;
  uint32_t expire_index_ = kNoExpire;  // position in Db::expires_
  uint32_t meta_ = 0;
};

static_assert(sizeof(Entry) == 40, "Entry's header must stay 40 bytes");

// How lookups treat a key whose TTL has passed (Redis's expireIfNeeded).
enum class ExpiryMode : uint8_t {
  // A primary: the key is removed (on_key_expired propagates a DEL).
  kDelete,
  // A replica: expiry belongs to the primary, whose DEL will come. Reads see
  // the key as missing but leave it; a write (on a writable replica) still
  // removes it first. Active expiry does not run.
  kHide,
  // Applying the primary's stream: keys are never considered expired.
  kKeep,
};

struct DbStats {
  uint64_t hits = 0;     // read lookups that found a live key
  uint64_t misses = 0;   // read lookups that did not
  uint64_t expired = 0;  // keys removed because their TTL passed
};

class Db {
 public:
  // The Db of keyspace shard `share`: it holds keys of those slots only,
  // and its slot index has an entry per slot held (a Db of shard i of N
  // spends 1/N of a whole index).
  explicit Db(SlotShare share = {});
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Keys held, expired-but-not-yet-removed included (DBSIZE).
  size_t Size() const { return size_; }
  // Keys with a TTL (INFO keyspace "expires=").
  size_t expires_count() const { return expires_.size(); }

  // --- Lookups. All of them remove `key` first if it has expired (or, as
  // expiry_mode() says, hide or keep it). ---

  // The live entry of `key`, or nullptr. `touch` updates the access clock
  // (false for OBJECT, TYPE-like introspection that must not: Redis's
  // LOOKUP_NOTOUCH).
  Entry* Find(std::string_view key, int64_t now_ms, bool touch = true);
  // Find for read commands: also counts a keyspace hit or miss, and raises
  // "keymiss" on a miss unless !notify (OBJECT: Redis's LOOKUP_NONOTIFY).
  Entry* FindRead(std::string_view key, int64_t now_ms, bool touch = true, bool notify = true);
  // The entry of `key` as stored, expired or not, with no side effect (no
  // expiry, no access clock, no hit/miss): for a MIGRATE checking that the
  // key it serializes is still the one it started with.
  const Entry* Peek(std::string_view key) const;
  // Whether `key` exists (lazily expires; no hit/miss counted).
  bool Exists(std::string_view key, int64_t now_ms) { return Find(key, now_ms, false); }

  // --- Writes. Each one calls on_key_modified(key). ---

  // Stores `value` at `key`, replacing any old value. The TTL is dropped
  // unless `keep_ttl`. Returns the entry (valid until the next write).
  Entry* Set(std::string_view key, Value value, int64_t now_ms, bool keep_ttl = false);
  // Stores `value` only if `key` is absent (or expired). nullptr if present.
  Entry* Add(std::string_view key, Value value, int64_t now_ms);
  // Removes `key`. Returns whether a live key was removed (an expired one is
  // reaped but counts as absent).
  bool Delete(std::string_view key, int64_t now_ms);
  // Sets the absolute expiry of an existing key. REQUIRES: `e` is live here.
  void SetExpire(Entry* e, int64_t when_ms);
  // Drops the TTL of `e`; returns whether it had one.
  bool Persist(Entry* e);
  // Tells watchers that the value of `key` changed in place (APPEND, INCR...).
  void NotifyModified(std::string_view key) {
    if (on_key_modified) on_key_modified(key);
  }
  // Removes every key (FLUSHDB). Calls on_key_modified("") once if any key
  // was there.
  void Clear();
  // Allocates the slot index (320 KB / share.count; Clear keeps it) now,
  // else the first key does.
  void AllocateIndex() { index(); }
  // Whether the slot index exists (the db has had a key).
  bool index_allocated() const { return index_ != nullptr; }
  // Exchanges the keys (their values, TTLs and slot index) with `other`,
  // as Redis's swapMainDbWithTempDb: each Db keeps its hooks, stats,
  // expiry mode and access clock. Calls on_key_modified("") on each Db
  // that had or now has keys. O(1): no key is copied.
  // REQUIRES: `other` holds the same slots (share()).
  void SwapKeys(Db& other);

  // Absolute expiry in ms of `e`, or -1 when it has none.
  int64_t ExpireOf(const Entry* e) const;

  // --- Slots (cluster). ---
  const SlotShare& share() const { return share_; }
  // A slot this Db does not hold has no keys here.
  size_t CountKeysInSlot(int slot) const;
  // Up to `max` keys of `slot`; costs what the slot holds at most.
  std::vector<std::string> KeysInSlot(int slot, size_t max) const;
  // Removes every key of `slot`; returns how many.
  size_t DeleteSlot(int slot);

  // --- Iteration. ---

  // A random live key, or "" with false when the Db is empty. Slots are
  // chosen in proportion to their key count, so the choice is close to
  // uniform. Expired keys met on the way are reaped.
  bool RandomKey(int64_t now_ms, std::string* key);
  // One SCAN step: calls fn(const Entry&) for the keys of a few buckets,
  // until at least `count` keys were visited or the scan ended. Expired keys
  // are not passed to fn but to on_expired when given (not reaped: the scan
  // must not change the tables; the caller may reap them after). Returns the
  // next cursor (0: done). The cursor packs slot (low 14 bits) and the slot
  // table's bucket cursor (high bits). The walk stops before `end_slot`
  // (returning end_slot as the cursor, or 0 when it is kNumSlots), so that a
  // caller can interleave the Dbs of several shards slot by slot.
  uint64_t Scan(uint64_t cursor, size_t count, int64_t now_ms,
                const std::function<void(const Entry&)>& fn, int end_slot = slots::kNumSlots,
                const std::function<void(const Entry&)>& on_expired = nullptr) const;
  // Every entry, expired ones included. `fn` must not change the Db.
  void ForEach(const std::function<void(const Entry&)>& fn) const;

  // --- Eviction (node/server/evictor.h). ---

  // Appends up to `n` entries picked at random, among the keys with a TTL
  // when `with_ttl_only` (uniformly, with repetition), else among all keys
  // (the tables of neighbouring slots from a random key's, as Redis samples
  // neighbouring buckets); expired keys included. No side effect but the generator. Pointers are
  // valid until the next change to the Db.
  void SampleEntries(bool with_ttl_only, size_t n, std::vector<Entry*>* out);
  // Removes `key` whatever its TTL says (an eviction); calls
  // on_key_modified. Returns whether it was there. `removed`, when given,
  // is called once the key is freed, before its watchers and events hear
  // of it (the evictor measures there what the key freed, as Redis's
  // performEvictions measures around the delete only: what the
  // invalidations pushed to tracking clients cost is not taken for it).
  // REQUIRES: `key` does not point into the entry (nothing is allocated
  // between the evictor's measure and the removal, such as a copy of it).
  bool Evict(std::string_view key, const std::function<void()>& removed = nullptr);
  // Where a key is: its entry (nullptr: not there), slot and hash, found
  // once for the checks before an eviction and the eviction itself.
  struct Located {
    Entry* entry = nullptr;
    int slot = 0;
    uint64_t hash = 0;
  };
  Located Locate(std::string_view key);
  // As Evict(key, removed), with `at` from Locate(key) and nothing changed
  // in the Db since.
  bool Evict(std::string_view key, const Located& at, const std::function<void()>& removed);
  // How touches update the access clock; nullptr: LRU. REQUIRES: outlives
  // the Db or is reset.
  void set_access_clock(const AccessClock* clock) { access_clock_ = clock; }

  // --- Expiry. ---

  // Samples up to `samples` keys with a TTL and removes the expired ones.
  // Returns how many were removed.
  size_t SampleExpired(int64_t now_ms, size_t samples);

  ExpiryMode expiry_mode() const { return expiry_mode_; }
  // kDelete (a primary again) forgets the keys ExpireOwnKeys would watch.
  void set_expiry_mode(ExpiryMode mode) {
    expiry_mode_ = mode;
    if (mode == ExpiryMode::kDelete) ForgetOwnExpires();
  }

  // A writable replica's own keys with a TTL (Redis's slaveKeysWithExpire):
  // a TTL set in kHide mode (by a client of the replica, not its primary's
  // stream, which runs in kKeep) is remembered, since no DEL will come from
  // the primary for it. ExpireOwnKeys removes those whose TTL passed (a few
  // random picks, as Redis's expireSlaveKeys) and forgets the ones gone or
  // persisted; returns how many it removed.
  size_t ExpireOwnKeys(int64_t now_ms);
  size_t own_expires_count() const { return own_expires_.size(); }

  const DbStats& stats() const { return stats_; }
  DbStats& mutable_stats() { return stats_; }
  void set_seed(uint64_t seed) { rng_.seed(seed); }

  // Called on every change to a key: write, delete, expiry, flush (empty key:
  // all keys). WATCH and blocked clients hook here.
  std::function<void(std::string_view key)> on_key_modified;
  // Called when a key is removed because it expired (lazily or actively), so
  // that replication and AOF can propagate a DEL.
  std::function<void(std::string_view key)> on_key_expired;
  // Called once the slot index was allocated. The Server allocates the
  // same db's index in every keyspace shard then: used_memory grows once
  // per db number, at its first key, as at `threads 1` (maxmemory tests
  // measure used_memory around the keys they add to a db used before).
  std::function<void()> on_index_allocated;
  // Keyspace notifications the Db raises itself (node/keyspace/notify.h):
  // "new" when a write creates a key, "keymiss" when a read lookup misses,
  // "expired" after an expired key is removed, "evicted" after an eviction.
  // Called only when *notify_classes (the node's notify-keyspace-events,
  // which must outlive the Db) has the event's class; the commands' own
  // events are raised by their handlers (CommandContext::Notify).
  std::function<void(int cls, std::string_view event, std::string_view key)> on_event;
  const int* notify_classes = nullptr;

 private:
  struct ExpireRecord {
    Entry* entry;
    int64_t when_ms;
  };
  struct SlotIndex;  // per-slot tables and the Fenwick tree of their sizes

  // Lazily expires (per expiry_mode_; `write`: for a write, which removes an
  // expired key even in kHide); returns the live entry or nullptr.
  Entry* FindLive(std::string_view key, int slot, int64_t now_ms, bool write);
  void RemoveEntry(Entry* e, int slot);
  // The same, given HashKey of its key.
  void RemoveEntry(Entry* e, int slot, uint64_t hash);
  void ExpireEntry(Entry* e, int slot);
  void DropExpire(Entry* e);
  void Touch(Entry* e, int64_t now_ms);
  void Event(int cls, std::string_view event, std::string_view key) {
    if (notify_classes != nullptr && (*notify_classes & cls) && on_event) on_event(cls, event, key);
  }
  bool IsExpired(const Entry* e, int64_t now_ms) const {
    return e->has_expire() && expires_[e->expire_index_].when_ms <= now_ms;
  }
  SlotIndex& index();
  void ForgetOwnExpires() {
    own_expires_.clear();
    own_expires_set_.clear();
  }

  SlotShare share_;
  std::unique_ptr<SlotIndex> index_;
  size_t size_ = 0;
  ExpiryMode expiry_mode_ = ExpiryMode::kDelete;
  // A deque, not a vector: it grows by 512-byte blocks, so it never holds
  // up to twice the records it needs nor copies them all when it grows.
  std::deque<ExpireRecord> expires_;
  DbStats stats_;
  base::FastRng rng_;
  // Where SampleEntries starts next time (-1: none), and the two calls
  // after: each start is drawn three calls ahead, and each call moves the
  // three a stage on (tables' headers, their buckets, their first entries
  // requested), so that no call waits for a chain of misses.
  int next_sample_ = -1;
  int sample_stages_[2] = {-1, -1};
  const AccessClock* access_clock_ = nullptr;
  // ExpireOwnKeys's keys: a list to pick from at random, a set against
  // duplicates.
  std::vector<std::string> own_expires_;
  std::unordered_set<std::string> own_expires_set_;
};

}  // namespace shardnode::node
