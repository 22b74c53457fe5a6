#include "node/keyspace/eviction.h"

#include <cmath>
#include <utility>

#include "node/keyspace/value.h"

namespace shardnode::node {

const char* EvictionPolicyName(EvictionPolicy p) {
  switch (p) {
    case EvictionPolicy::kVolatileLru:
      return "volatile-lru";
    case EvictionPolicy::kVolatileLfu:
      return "volatile-lfu";
    case EvictionPolicy::kVolatileRandom:
      return "volatile-random";
    case EvictionPolicy::kVolatileTtl:
      return "volatile-ttl";
    case EvictionPolicy::kAllkeysLru:
      return "allkeys-lru";
    case EvictionPolicy::kAllkeysLfu:
      return "allkeys-lfu";
    case EvictionPolicy::kAllkeysRandom:
      return "allkeys-random";
    case EvictionPolicy::kNoEviction:
      return "noeviction";
  }
  return "noeviction";
}

uint64_t LruIdleMs(uint32_t lru, int64_t now_ms) {
  const uint32_t clock = LruClock(now_ms);
  lru &= kLruClockMax;
  const uint64_t seconds = clock >= lru ? clock - lru : clock + (kLruClockMax - lru);
  return seconds * 1000;
}

uint8_t LfuDecayedCounter(uint32_t field, int64_t now_ms, int decay_time) {
  const uint32_t then = (field >> 8) & 0xffff;
  uint32_t counter = field & 0xff;
  if (decay_time <= 0) return static_cast<uint8_t>(counter);
  const uint32_t now = LfuMinutes(now_ms);
  const uint32_t elapsed = now >= then ? now - then : 65535 - then + now;
  const uint32_t periods = elapsed / static_cast<uint32_t>(decay_time);
  counter = periods > counter ? 0 : counter - periods;
  return static_cast<uint8_t>(counter);
}

uint8_t LfuLogIncr(uint8_t counter, int log_factor, double r) {
  if (counter == 255) return 255;
  double base = static_cast<double>(counter) - kLfuInitVal;
  if (base < 0) base = 0;
  const double p = 1.0 / (base * log_factor + 1);
  return r < p ? static_cast<uint8_t>(counter + 1) : counter;
}

uint32_t TouchField(uint32_t field, const AccessClock& clock, int64_t now_ms, double r) {
  if (!clock.lfu) return LruClock(now_ms);
  uint8_t counter = LfuDecayedCounter(field, now_ms, clock.lfu_decay_time);
  counter = LfuLogIncr(counter, clock.lfu_log_factor, r);
  return (LfuMinutes(now_ms) << 8) | counter;
}

uint64_t EvictionTimeLimitUs(int tenacity) {
  if (tenacity <= 10) return 50u * static_cast<uint64_t>(tenacity < 0 ? 0 : tenacity);
  if (tenacity < 100) return static_cast<uint64_t>(500.0 * std::pow(1.15, tenacity - 10.0));
  return UINT64_MAX;
}

void EvictionPool::Offer(uint64_t idle, int keyspace, int db, std::string_view key,
                         const void* entry_hint, const char* block_hint) {
  // First position whose candidate is not better (lower idle) than this one.
  size_t k = 0;
  while (k < size_ && slots_[k].idle < idle) ++k;
  if (k == 0 && size_ == kSize) return;  // worse than every candidate held
  // Sampling repeats keys: one slot per key. (After the cheap test above:
  // with a full pool most samples stop there, before any key compare.)
  // A key's entry stays where it is while the key lives: candidates whose
  // entries lay elsewhere are other keys, or a copy of this one from before
  // it was deleted and written again (a duplicate then, harmless: the
  // second pop finds the key gone or takes it again, as Redis's pool).
  for (size_t i = 0; i < size_; ++i) {
    const Candidate& c = slots_[i];
    if (c.entry_hint == entry_hint && c.key == key && c.db == db && c.keyspace == keyspace) {
      return;
    }
  }
  if (size_ < kSize) {
    // Room at the end: shift [k, size) right by one.
    for (size_t i = size_; i > k; --i) slots_[i] = std::move(slots_[i - 1]);
    ++size_;
  } else {
    // Full: drop the worst (index 0), shifting [1, k) left; insert at k-1.
    --k;
    for (size_t i = 0; i < k; ++i) slots_[i] = std::move(slots_[i + 1]);
  }
  Candidate& c = slots_[k];
  c.idle = idle;
  c.keyspace = keyspace;
  c.db = db;
  c.key.assign(key);
  c.entry_hint = entry_hint;
  c.block_hint = block_hint;
}

void EvictionPool::PrefetchBest() const {
  if (size_ == 0) return;
  const Candidate& c = slots_[size_ - 1];
  if (c.entry_hint != nullptr) __builtin_prefetch(c.entry_hint);
  Value::PrefetchBlockAt(c.block_hint);
}

bool EvictionPool::PopBest(Candidate* out) {
  if (size_ == 0) return false;
  *out = std::move(slots_[size_ - 1]);
  --size_;
  return true;
}

}  // namespace shardnode::node
