#include "node/keyspace/keyspace.h"

#include <algorithm>

namespace shardnode::node {

namespace {
// Keys sampled per round in one database, and the share of expired keys in a
// round above which the database is sampled again (Redis: 20 keys, 10%).
constexpr int kKeysPerRound = 20;
constexpr int kAcceptableStalePercent = 10;
}  // namespace

Keyspace::Keyspace(int databases, SlotShare share) {
  dbs_.reserve(std::max(1, databases));
  for (int i = 0; i < std::max(1, databases); ++i) {
    dbs_.push_back(std::make_unique<Db>(share));
    dbs_.back()->set_seed(0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(i + 1));
  }
}

size_t Keyspace::ActiveExpireCycle(int64_t now_ms, int max_keys) {
  size_t removed = 0;
  int budget = max_keys;
  for (int n = 0; n < num_dbs() && budget > 0; ++n) {
    Db& d = *dbs_[next_expire_db_];
    next_expire_db_ = (next_expire_db_ + 1) % num_dbs();
    while (budget > 0 && d.expires_count() > 0) {
      const int sample = std::min(kKeysPerRound, budget);
      const size_t expired = d.SampleExpired(now_ms, static_cast<size_t>(sample));
      budget -= sample;
      removed += expired;
      if (expired * 100 <= static_cast<size_t>(sample) * kAcceptableStalePercent) break;
    }
  }
  return removed;
}

size_t Keyspace::TotalKeys() const {
  size_t n = 0;
  for (const auto& d : dbs_) n += d->Size();
  return n;
}

DbStats Keyspace::TotalStats() const {
  DbStats total;
  for (const auto& d : dbs_) {
    total.hits += d->stats().hits;
    total.misses += d->stats().misses;
    total.expired += d->stats().expired;
  }
  return total;
}

void Keyspace::Clear() {
  for (auto& d : dbs_) d->Clear();
}

void Keyspace::SwapDbs(int a, int b) {
  if (a == b) return;
  std::swap(dbs_[a], dbs_[b]);
  std::swap(dbs_[a]->on_key_modified, dbs_[b]->on_key_modified);
  std::swap(dbs_[a]->on_key_expired, dbs_[b]->on_key_expired);
  std::swap(dbs_[a]->on_event, dbs_[b]->on_event);
}

}  // namespace shardnode::node
