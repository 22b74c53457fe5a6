#include "node/keyspace/db.h"

#include <algorithm>
#include <cassert>
#include <cstring>
#include <new>

#include "node/keyspace/notify.h"
#include "slots/hash_slot.h"

namespace shardnode::node {

using slots::kNumSlots;

struct Entry::Traits {
  static std::string_view Key(const Entry& e) { return e.key(); }
  static void Free(Entry* e) { Entry::Destroy(e); }
};

Entry* Entry::Create(std::string_view key, Value value) {
  // One allocation: the header, then the key bytes (after their length when
  // the key is long).
  const bool long_key = key.size() >= kLongKey;
  const size_t prefix = long_key ? sizeof(uint32_t) : 0;
  void* mem = ::operator new(sizeof(Entry) + prefix + key.size());
  Entry* e = new (mem) Entry();
  char* p = reinterpret_cast<char*>(e + 1);
  const uint32_t len = static_cast<uint32_t>(key.size());
  if (long_key) std::memcpy(p, &len, sizeof(len));
  if (!key.empty()) std::memcpy(p + prefix, key.data(), key.size());
  e->meta_ = (long_key ? kLongKey : len) << kKeyLenShift;
  e->value_ = std::move(value);
  return e;
}

void Entry::Destroy(Entry* e) {
  e->~Entry();
  ::operator delete(e);
}

using SlotTable = Dict<Entry, Entry::Traits>;
// One per slot held, side by side: kept at two words (bench/README.md,
// sections 10 and 15).
static_assert(sizeof(SlotTable) == 16);

// Allocated on the first insert: one slot table per slot held (an empty
// one allocates nothing), in one array, so that a lookup reads the slot's
// bucket word without a pointer to follow, and a Fenwick tree of their
// sizes, which finds "the slot holding the r-th key" in 14 steps for
// RandomKey. Slots are kept by their position among the slots held
// (SlotShare::Position).
struct Db::SlotIndex {
  explicit SlotIndex(SlotShare s)
      : share(s),
        size(s.SlotsHeld()),
        tables(std::make_unique<SlotTable[]>(static_cast<size_t>(size))),
        fenwick(std::make_unique<uint32_t[]>(static_cast<size_t>(size) + 1)) {}

  SlotShare share;
  int size;  // slots held
  std::unique_ptr<SlotTable[]> tables;
  std::unique_ptr<uint32_t[]> fenwick;

  // nullptr for a slot not held. One shard (threads 1) holds every slot:
  // no division on the lookup path.
  SlotTable* table(int slot) const {
    if (share.count == 1) return &tables[slot];
    return share.Holds(slot) ? &tables[share.Position(slot)] : nullptr;
  }
  SlotTable* TableAt(int position) const { return &tables[position]; }
  // REQUIRES: share.Holds(slot) (the Server puts a key in its slot's shard).
  SlotTable& MutableTable(int slot) {
    assert(share.Holds(slot));
    return tables[share.Position(slot)];
  }
  void AddCount(int slot, int64_t delta) {
    for (int i = share.Position(slot) + 1; i <= size; i += i & -i) {
      fenwick[i] = static_cast<uint32_t>(fenwick[i] + delta);
    }
  }
  // The position of the slot holding the key of rank r (0-based) in slot
  // order. REQUIRES: r < total keys.
  int FindRank(uint64_t r) const {
    int pos = 0;
    for (int step = kNumSlots; step > 0; step >>= 1) {
      const int next = pos + step;
      if (next <= size && fenwick[next] <= r) {
        pos = next;
        r -= fenwick[next];
      }
    }
    return pos;  // fenwick is 1-based: pos is the 0-based position
  }
  void Clear() {
    for (int i = 0; i < size; ++i) tables[i].Clear();
    std::fill(fenwick.get(), fenwick.get() + size + 1, 0u);
  }
};

Db::Db(SlotShare share) : share_(share), rng_(0x5eed5eedULL) {}

Db::~Db() {
  expires_.clear();
  index_.reset();
}

Db::SlotIndex& Db::index() {
  if (!index_) {
    index_ = std::make_unique<SlotIndex>(share_);
    if (on_index_allocated) on_index_allocated();
  }
  return *index_;
}

Entry* Db::FindLive(std::string_view key, int slot, int64_t now_ms, bool write) {
  // An empty database answers without touching its slot index (128 KB
  // that a flushed database keeps: a miss there costs a cache miss).
  if (!index_ || size_ == 0) return nullptr;
  SlotTable* t = index_->table(slot);
  if (!t) return nullptr;
  Entry* e = t->Find(key);
  if (e && IsExpired(e, now_ms)) {
    if (expiry_mode_ == ExpiryMode::kKeep) return e;
    if (expiry_mode_ == ExpiryMode::kHide && !write) return nullptr;
    ExpireEntry(e, slot);
    return nullptr;
  }
  return e;
}

const Entry* Db::Peek(std::string_view key) const {
  if (!index_) return nullptr;
  const SlotTable* t = index_->table(slots::KeyHashSlot(key));
  return t ? t->Find(key) : nullptr;
}

Entry* Db::Find(std::string_view key, int64_t now_ms, bool touch) {
  Entry* e = FindLive(key, slots::KeyHashSlot(key), now_ms, false);
  if (e && touch) Touch(e, now_ms);
  return e;
}

Entry* Db::FindRead(std::string_view key, int64_t now_ms, bool touch, bool notify) {
  Entry* e = Find(key, now_ms, touch);
  if (e) {
    ++stats_.hits;
  } else {
    ++stats_.misses;
    if (notify) Event(kNotifyKeyMiss, "keymiss", key);
  }
  return e;
}

Entry* Db::Set(std::string_view key, Value value, int64_t now_ms, bool keep_ttl) {
  const int slot = slots::KeyHashSlot(key);
  Entry* e = FindLive(key, slot, now_ms, true);
  if (e) {
    // As Redis: the write's lookup touched the key, and an LFU counter
    // survives the new value.
    Touch(e, now_ms);
    e->value_ = std::move(value);
    if (!keep_ttl) DropExpire(e);
  } else {
    e = Entry::Create(key, std::move(value));
    static const AccessClock kLru;
    e->set_lru(NewField(access_clock_ ? *access_clock_ : kLru, now_ms));
    index().MutableTable(slot).Insert(e);
    index_->AddCount(slot, 1);
    ++size_;
    Event(kNotifyNew, "new", key);
  }
  NotifyModified(key);
  return e;
}

Entry* Db::Add(std::string_view key, Value value, int64_t now_ms) {
  if (FindLive(key, slots::KeyHashSlot(key), now_ms, true)) return nullptr;
  return Set(key, std::move(value), now_ms);
}

bool Db::Delete(std::string_view key, int64_t now_ms) {
  const int slot = slots::KeyHashSlot(key);
  Entry* e = FindLive(key, slot, now_ms, true);
  if (!e) return false;
  RemoveEntry(e, slot);
  NotifyModified(key);
  return true;
}

void Db::Touch(Entry* e, int64_t now_ms) {
  if (access_clock_ == nullptr || !access_clock_->lfu) {
    e->set_lru(LruClock(now_ms));
    return;
  }
  const double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng_);
  e->set_lru(TouchField(e->lru(), *access_clock_, now_ms, r));
}

void Db::SampleEntries(bool with_ttl_only, size_t n, std::vector<Entry*>* out) {
  if (with_ttl_only) {
    if (expires_.empty()) return;
    for (size_t i = 0; i < n; ++i) out->push_back(expires_[rng_() % expires_.size()].entry);
    return;
  }
  if (size_ == 0) return;
  // As Redis's dictGetSomeKeys: a random start, then neighbours. Here the
  // start is a random key's slot and the walk takes whole slot tables in
  // slot order (one rank lookup, then sequential reads), or random entries
  // of a table bigger than what is still wanted.
  const int held = index_->size;
  auto table_at = [this, held](int p) -> const SlotTable& {
    return *index_->TableAt(p < held ? p : p % held);
  };
  // The tables lie side by side; each is one or two dependent cache misses
  // away from its entries (its bucket array, then its entries; a table of
  // one key holds its entry's address itself). The tables a walk from
  // `start` takes are known from their sizes alone: their buckets (or
  // only entry) are requested first, then the entries of those with
  // buckets, so that the misses overlap instead of coming one after
  // another.
  auto prefetch_walk = [&](int start, bool heads) {
    constexpr int kMaxAhead = 16;
    size_t covered = 0;
    for (int i = 0; i < kMaxAhead && i < held && covered < n; ++i) {
      const SlotTable& t = table_at(start + i);
      if (heads) {
        t.PrefetchHeads();
      } else {
        t.PrefetchBuckets();
      }
      covered += t.size();
    }
  };
  // The start was drawn three calls ago, and each call since requested a
  // further step of its walk (tables' headers, buckets, first entries):
  // while those commands ran the lines came into the cache, and little is
  // left to wait for here (an eviction for each write of a new key waited
  // for the whole chain each time; with one step ahead, for most of it:
  // lines requested a command earlier were often not there yet).
  int pos = next_sample_;
  if (pos < 0 || pos >= held) {
    pos = index_->FindRank(rng_() % size_);
    prefetch_walk(pos, /*heads=*/false);
    prefetch_walk(pos, /*heads=*/true);
  }
  size_t want = n;
  for (int visited = 0; want > 0 && visited < held; ++visited) {
    const SlotTable& t = table_at(pos);
    if (t.size() > 0) {
      if (t.size() <= want) {
        t.ForEach([&](Entry& e) { out->push_back(&e); });
        want -= t.size();
      } else {
        for (; want > 0; --want) out->push_back(t.Random(rng_));
      }
    }
    pos = pos + 1 == held ? 0 : pos + 1;
  }
  // The next three calls' starts, each a stage further: the tables' heads
  // (their buckets came during the previous call), their buckets (their
  // headers came then), and a new start's headers.
  auto valid = [held](int p) { return p >= 0 && p < held; };
  next_sample_ = sample_stages_[0];
  if (valid(next_sample_)) prefetch_walk(next_sample_, /*heads=*/true);
  sample_stages_[0] = sample_stages_[1];
  if (valid(sample_stages_[0])) prefetch_walk(sample_stages_[0], /*heads=*/false);
  sample_stages_[1] = index_->FindRank(rng_() % size_);
  const char* headers = reinterpret_cast<const char*>(index_->TableAt(sample_stages_[1]));
  Prefetch(headers);
  Prefetch(headers + 64);
}

Db::Located Db::Locate(std::string_view key) {
  Located at;
  if (!index_) return at;
  at.slot = slots::KeyHashSlot(key);
  const SlotTable* t = index_->table(at.slot);
  if (t == nullptr) return at;
  at.hash = HashKey(key);
  at.entry = t->Find(key, at.hash);
  return at;
}

bool Db::Evict(std::string_view key, const std::function<void()>& removed) {
  return Evict(key, Locate(key), removed);
}

bool Db::Evict(std::string_view key, const Located& at, const std::function<void()>& removed) {
  if (at.entry == nullptr) return false;
  RemoveEntry(at.entry, at.slot, at.hash);
  if (removed) removed();
  NotifyModified(key);
  Event(kNotifyEvicted, "evicted", key);
  return true;
}

void Db::RemoveEntry(Entry* e, int slot) { RemoveEntry(e, slot, HashKey(e->key())); }

void Db::RemoveEntry(Entry* e, int slot, uint64_t hash) {
  DropExpire(e);
  SlotTable* t = index_->table(slot);
  Entry* detached = t->Detach(e->key(), hash);
  (void)detached;  // == e
  Entry::Destroy(e);
  index_->AddCount(slot, -1);
  --size_;
}

void Db::ExpireEntry(Entry* e, int slot) {
  ++stats_.expired;
  if (!on_key_modified && !on_key_expired && !on_event) {
    RemoveEntry(e, slot);
    return;
  }
  const std::string key(e->key());
  RemoveEntry(e, slot);
  // As Redis: the "expired" event comes first.
  Event(kNotifyExpired, "expired", key);
  if (on_key_expired) on_key_expired(key);
  NotifyModified(key);
}

void Db::SetExpire(Entry* e, int64_t when_ms) {
  if (e->has_expire()) {
    expires_[e->expire_index_].when_ms = when_ms;
  } else {
    e->expire_index_ = static_cast<uint32_t>(expires_.size());
    expires_.push_back({e, when_ms});
  }
  if (expiry_mode_ == ExpiryMode::kHide && own_expires_set_.emplace(e->key()).second) {
    own_expires_.emplace_back(e->key());
  }
  NotifyModified(e->key());
}

void Db::DropExpire(Entry* e) {
  if (!e->has_expire()) return;
  const uint32_t idx = e->expire_index_;
  const ExpireRecord last = expires_.back();
  expires_[idx] = last;
  last.entry->expire_index_ = idx;
  expires_.pop_back();
  e->expire_index_ = Entry::kNoExpire;
}

bool Db::Persist(Entry* e) {
  if (!e->has_expire()) return false;
  DropExpire(e);
  NotifyModified(e->key());
  return true;
}

int64_t Db::ExpireOf(const Entry* e) const {
  return e->has_expire() ? expires_[e->expire_index_].when_ms : -1;
}

void Db::Clear() {
  const bool had_keys = size_ > 0;
  expires_.clear();
  // Frees every table and entry but keeps the slot index: a FLUSHALL must
  // not make the next key cost the index again (maxmemory tests measure
  // used_memory around it, as Redis's keep their empty tables).
  if (index_) index_->Clear();
  size_ = 0;
  if (had_keys) NotifyModified("");
}

void Db::SwapKeys(Db& other) {
  assert(share_.index == other.share_.index && share_.count == other.share_.count);
  const bool had_keys = size_ > 0 || other.size_ > 0;
  // The expiry records point at entries, not into the Db: moving the
  // containers keeps them valid.
  std::swap(index_, other.index_);
  std::swap(size_, other.size_);
  expires_.swap(other.expires_);
  own_expires_.swap(other.own_expires_);
  own_expires_set_.swap(other.own_expires_set_);
  if (had_keys) {
    NotifyModified("");
    other.NotifyModified("");
  }
}

size_t Db::CountKeysInSlot(int slot) const {
  if (!index_) return 0;
  const SlotTable* t = index_->table(slot);
  return t ? t->size() : 0;
}

std::vector<std::string> Db::KeysInSlot(int slot, size_t max) const {
  std::vector<std::string> keys;
  if (!index_ || max == 0) return keys;
  const SlotTable* t = index_->table(slot);
  if (!t) return keys;
  keys.reserve(std::min(max, t->size()));
  uint64_t cursor = 0;
  do {
    cursor = t->Scan(cursor, [&](const Entry& e) {
      if (keys.size() < max) keys.emplace_back(e.key());
    });
  } while (cursor != 0 && keys.size() < max);
  return keys;
}

size_t Db::DeleteSlot(int slot) {
  if (!index_) return 0;
  SlotTable* t = index_->table(slot);
  if (!t || t->empty()) return 0;
  std::vector<std::string> keys;
  const bool notify = static_cast<bool>(on_key_modified);
  t->ForEach([&](Entry& e) {
    DropExpire(&e);
    if (notify) keys.emplace_back(e.key());
  });
  const size_t n = t->size();
  t->Clear();
  index_->AddCount(slot, -static_cast<int64_t>(n));
  size_ -= n;
  for (const std::string& k : keys) NotifyModified(k);
  return n;
}

bool Db::RandomKey(int64_t now_ms, std::string* key) {
  // Each round either returns a live key or reaps an expired one, so the loop
  // ends even when every key has expired. A replica reaps nothing: like
  // Redis, it gives up after 100 expired picks and returns the last one.
  int hidden_tries = 100;
  while (size_ > 0) {
    const int slot = share_.SlotAt(index_->FindRank(rng_() % size_));
    Entry* e = index_->table(slot)->Random(rng_);
    if (IsExpired(e, now_ms) && expiry_mode_ != ExpiryMode::kKeep) {
      if (expiry_mode_ == ExpiryMode::kDelete) {
        ExpireEntry(e, slot);
        continue;
      }
      if (--hidden_tries > 0) continue;
    }
    key->assign(e->key());
    return true;
  }
  key->clear();
  return false;
}

uint64_t Db::Scan(uint64_t cursor, size_t count, int64_t now_ms,
                  const std::function<void(const Entry&)>& fn, int end_slot,
                  const std::function<void(const Entry&)>& on_expired) const {
  if (!index_) return end_slot < kNumSlots ? static_cast<uint64_t>(end_slot) : 0;
  int slot = static_cast<int>(cursor & (kNumSlots - 1));
  uint64_t table_cursor = cursor >> 14;
  size_t visited = 0;
  auto visit = [&](const Entry& e) {
    ++visited;
    if (!IsExpired(&e, now_ms)) {
      fn(e);
    } else if (on_expired) {
      on_expired(e);
    }
  };
  // The walk steps over the slots this Db does not hold (a cursor naming
  // one has a table cursor of 0), never past end_slot.
  auto next_held = [&](int from) { return std::min(share_.NextHeld(from), end_slot); };
  if (slot < end_slot && !share_.Holds(slot)) {
    slot = next_held(slot);
    table_cursor = 0;
  }
  while (slot < end_slot) {
    const SlotTable* t = index_->table(slot);
    if (t && !t->empty()) {
      do {
        table_cursor = t->Scan(table_cursor, visit);
      } while (table_cursor != 0 && visited < count);
      if (table_cursor != 0) return (table_cursor << 14) | static_cast<uint64_t>(slot);
    }
    slot = next_held(slot + 1);
    table_cursor = 0;
    // slot >= 1 here, so the cursor cannot be mistaken for "done".
    if (visited >= count && slot < kNumSlots) return static_cast<uint64_t>(slot);
  }
  return slot < kNumSlots ? static_cast<uint64_t>(slot) : 0;
}

void Db::ForEach(const std::function<void(const Entry&)>& fn) const {
  if (!index_) return;
  for (int pos = 0; pos < index_->size; ++pos) {
    if (const SlotTable* t = index_->TableAt(pos)) t->ForEach(fn);
  }
}

size_t Db::ExpireOwnKeys(int64_t now_ms) {
  size_t removed = 0;
  int still_alive = 0;
  // As Redis: stop after a few keys that cannot expire yet.
  for (int picks = 0; picks < 1024 && !own_expires_.empty() && still_alive <= 3; ++picks) {
    const size_t i = rng_() % own_expires_.size();
    const std::string key = own_expires_[i];  // a copy: ExpireEntry's callbacks run
    const int slot = slots::KeyHashSlot(key);
    Entry* e = nullptr;
    if (index_) {
      if (SlotTable* t = index_->table(slot)) e = t->Find(key);
    }
    if (e != nullptr && e->has_expire() && !IsExpired(e, now_ms)) {
      ++still_alive;
      continue;
    }
    if (e != nullptr && e->has_expire()) {
      ExpireEntry(e, slot);
      ++removed;
    }
    own_expires_set_.erase(key);
    own_expires_[i] = std::move(own_expires_.back());
    own_expires_.pop_back();
  }
  return removed;
}

size_t Db::SampleExpired(int64_t now_ms, size_t samples) {
  size_t removed = 0;
  for (size_t i = 0; i < samples && !expires_.empty(); ++i) {
    const ExpireRecord rec = expires_[rng_() % expires_.size()];
    if (rec.when_ms <= now_ms) {
      ExpireEntry(rec.entry, slots::KeyHashSlot(rec.entry->key()));
      ++removed;
    }
  }
  return removed;
}

}  // namespace shardnode::node
