// Eviction's pure parts: the maxmemory policies, the per-key access clock
// (LRU seconds or LFU counter, as Redis keeps them in robj->lru), and the
// eviction pool that approximates LRU/LFU/TTL order from sampled keys.
//
// The access clock is one 24-bit field per key (Entry::lru()):
//  - LRU policies: the seconds clock of the last access, mod 2^24.
//  - LFU policies: the minutes clock of the last decrement (16 bits) above a
//    logarithmic access counter (8 bits), which starts at 5 (kLfuInitVal),
//    grows with probability 1/((counter-5)*lfu-log-factor+1) per access and
//    loses one per lfu-decay-time minutes idle.
// Switching policy at run time reinterprets the field, as in Redis (the
// values take some time to adjust).
//
// Nothing here reads a clock or a socket: time comes in as now_ms and
// randomness as a number in [0,1).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace shardnode::node {

// maxmemory-policy, by the enum values of the config table.
enum class EvictionPolicy : int {
  kVolatileLru = 0,
  kVolatileLfu = 1,
  kVolatileRandom = 2,
  kVolatileTtl = 3,
  kAllkeysLru = 4,
  kAllkeysLfu = 5,
  kAllkeysRandom = 6,
  kNoEviction = 7,
};

// INFO's maxmemory_policy text (the config name).
const char* EvictionPolicyName(EvictionPolicy p);
inline bool IsLfuPolicy(EvictionPolicy p) {
  return p == EvictionPolicy::kVolatileLfu || p == EvictionPolicy::kAllkeysLfu;
}
inline bool IsLruPolicy(EvictionPolicy p) {
  return p == EvictionPolicy::kVolatileLru || p == EvictionPolicy::kAllkeysLru;
}
// Policies that choose among keys with a TTL only.
inline bool IsVolatilePolicy(EvictionPolicy p) { return static_cast<int>(p) <= 3; }

// How the keyspace updates a key's access clock when it is touched.
struct AccessClock {
  bool lfu = false;
  int lfu_log_factor = 10;
  int lfu_decay_time = 1;  // minutes per decrement; 0: never decays
};

inline constexpr uint32_t kLruClockMax = (1u << 24) - 1;
inline constexpr uint8_t kLfuInitVal = 5;

// Redis's LRU_CLOCK() at 1 s resolution.
inline uint32_t LruClock(int64_t now_ms) {
  return static_cast<uint32_t>(now_ms / 1000) & kLruClockMax;
}
// Milliseconds since the LRU field `lru` (estimateObjectIdleTime), with the
// 24-bit clock's wrap.
uint64_t LruIdleMs(uint32_t lru, int64_t now_ms);

// Minutes clock mod 2^16.
inline uint32_t LfuMinutes(int64_t now_ms) {
  return static_cast<uint32_t>(now_ms / 60000) & 0xffff;
}
// The field of a key just created under an LFU policy.
inline uint32_t LfuInitField(int64_t now_ms) { return (LfuMinutes(now_ms) << 8) | kLfuInitVal; }
// The counter of `field` after the decay due by now (LFUDecrAndReturn); this
// is what OBJECT FREQ answers. Does not change the field.
uint8_t LfuDecayedCounter(uint32_t field, int64_t now_ms, int decay_time);
// One logarithmic increment of `counter`; `r` uniform in [0,1).
uint8_t LfuLogIncr(uint8_t counter, int log_factor, double r);

// The field after one access at now_ms, by `clock` (LRU: the clock now; LFU:
// decay, then increment, stamped with the minutes now).
uint32_t TouchField(uint32_t field, const AccessClock& clock, int64_t now_ms, double r);
// The field of a new key.
inline uint32_t NewField(const AccessClock& clock, int64_t now_ms) {
  return clock.lfu ? LfuInitField(now_ms) : LruClock(now_ms);
}

// maxmemory-eviction-tenacity -> the time one eviction run may take, in us
// (0..10: 50 us steps; then +15% a step; 100: no limit, UINT64_MAX).
uint64_t EvictionTimeLimitUs(int tenacity);

// The eviction pool: the best candidates seen so far, kept in ascending
// "idle" order (for LFU 255 - frequency, for TTL the inverted expire time),
// at most kSize of them. Offer() is Redis's evictionPoolPopulate insertion
// step; PopBest() takes the candidate with the highest idle. Candidates
// outlive the keys they name: the caller checks the key still exists.
class EvictionPool {
 public:
  static constexpr size_t kSize = 16;
  struct Candidate {
    uint64_t idle = 0;
    int keyspace = 0;  // which keyspace shard
    int db = 0;
    std::string key;
    // Where the key's entry and its value's block were when sampled: only
    // ever prefetched (the key may be gone since), never read.
    const void* entry_hint = nullptr;
    const char* block_hint = nullptr;
  };

  // Inserts the candidate in order, if it beats the worst one of a full pool
  // (which then drops out). A key already in the pool is not added twice.
  void Offer(uint64_t idle, int keyspace, int db, std::string_view key,
             const void* entry_hint = nullptr, const char* block_hint = nullptr);
  // Removes and returns the candidate with the highest idle; false if empty.
  bool PopBest(Candidate* out);
  // Starts loading the best candidate's entry and value block: the next
  // eviction most likely takes it, a command later (when a free would
  // otherwise wait for the block's allocator header).
  void PrefetchBest() const;
  size_t size() const { return size_; }
  void Clear() { size_ = 0; }
  // Candidate i in ascending order (tests).
  const Candidate& at(size_t i) const { return slots_[i]; }

 private:
  std::array<Candidate, kSize> slots_;
  size_t size_ = 0;
};

}  // namespace shardnode::node
