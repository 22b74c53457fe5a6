#include "node/keyspace/eviction.h"

#include <set>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "node/keyspace/db.h"

namespace shardnode::node {
namespace {

constexpr int64_t kNow = 1'700'000'000'000;

TEST(EvictionPoolTest, KeepsTheSixteenBestInOrderAndPopsTheHighestIdle) {
  EvictionPool pool;
  for (int i = 0; i < 40; ++i) {
    // Idles 0..39 in a scrambled order.
    const int idle = (i * 17) % 40;
    pool.Offer(idle, 0, 0, "k" + std::to_string(idle));
  }
  ASSERT_EQ(pool.size(), EvictionPool::kSize);
  for (size_t i = 1; i < pool.size(); ++i) EXPECT_LT(pool.at(i - 1).idle, pool.at(i).idle);
  EvictionPool::Candidate c;
  ASSERT_TRUE(pool.PopBest(&c));
  EXPECT_EQ(c.idle, 39u);
  EXPECT_EQ(c.key, "k39");
  ASSERT_TRUE(pool.PopBest(&c));
  EXPECT_EQ(c.idle, 38u);
  // The worst of a full pool is dropped; an offer worse than all is ignored.
  EXPECT_EQ(pool.at(0).idle, 24u);
}

TEST(EvictionPoolTest, WorseThanAFullPoolIsIgnoredAndDuplicatesAreNotAdded) {
  EvictionPool pool;
  for (int i = 100; i < 116; ++i) pool.Offer(i, 0, 0, "k" + std::to_string(i));
  pool.Offer(1, 0, 0, "low");
  EXPECT_EQ(pool.at(0).key, "k100");
  pool.Offer(500, 0, 0, "k100");  // already there
  EXPECT_EQ(pool.size(), EvictionPool::kSize);
  EXPECT_EQ(pool.at(15).key, "k115");
  // Same key name in another db is another candidate.
  pool.Offer(500, 0, 1, "k100");
  EXPECT_EQ(pool.at(15).db, 1);
  EXPECT_EQ(pool.at(0).key, "k101");
}

TEST(LruClockTest, IdleTimeWrapsWithTheTwentyFourBitClock) {
  const uint32_t then = LruClock(kNow);
  EXPECT_EQ(LruIdleMs(then, kNow + 7'000), 7'000u);
  // A field from just before the clock wrapped.
  const int64_t wrap_ms = ((kNow / 1000) | kLruClockMax) * 1000;  // clock == max
  const uint32_t before_wrap = LruClock(wrap_ms);
  EXPECT_EQ(before_wrap, kLruClockMax);
  EXPECT_EQ(LruClock(wrap_ms + 3'000), 2u);
  // Redis's estimate: (clock + (MAX - lru)) seconds.
  EXPECT_EQ(LruIdleMs(before_wrap, wrap_ms + 3'000), 2'000u);
}

TEST(LfuTest, LogIncrementFollowsRedisProbabilities) {
  // Up to the initial value, every access counts.
  EXPECT_EQ(LfuLogIncr(0, 10, 0.999), 1);
  EXPECT_EQ(LfuLogIncr(5, 10, 0.999), 6);
  // Above it, p = 1 / ((counter - 5) * factor + 1).
  EXPECT_EQ(LfuLogIncr(6, 10, 1.0 / 11 - 1e-9), 7);
  EXPECT_EQ(LfuLogIncr(6, 10, 1.0 / 11 + 1e-9), 6);
  EXPECT_EQ(LfuLogIncr(255, 0, 0.0), 255);
  // Factor 0: always increments.
  EXPECT_EQ(LfuLogIncr(100, 0, 0.999), 101);
}

TEST(LfuTest, CounterDecaysOnePerDecayPeriod) {
  const uint32_t field = (LfuMinutes(kNow) << 8) | 20;
  EXPECT_EQ(LfuDecayedCounter(field, kNow, 1), 20);
  EXPECT_EQ(LfuDecayedCounter(field, kNow + 3 * 60'000, 1), 17);
  EXPECT_EQ(LfuDecayedCounter(field, kNow + 3 * 60'000, 2), 19);
  EXPECT_EQ(LfuDecayedCounter(field, kNow + 3 * 60'000, 0), 20);  // no decay
  EXPECT_EQ(LfuDecayedCounter(field, kNow + 60 * 60'000, 1), 0);
  // A touch decays first, then increments, and stamps the minutes now.
  AccessClock clock{.lfu = true, .lfu_log_factor = 0, .lfu_decay_time = 1};
  const uint32_t touched = TouchField(field, clock, kNow + 3 * 60'000, 0.5);
  EXPECT_EQ(touched & 0xff, 18u);
  EXPECT_EQ(touched >> 8, LfuMinutes(kNow + 3 * 60'000));
  EXPECT_EQ(LfuInitField(kNow) & 0xff, kLfuInitVal);
}

TEST(EvictionTimeLimitTest, TenacityAsRedis) {
  EXPECT_EQ(EvictionTimeLimitUs(0), 0u);
  EXPECT_EQ(EvictionTimeLimitUs(10), 500u);
  EXPECT_EQ(EvictionTimeLimitUs(11), 575u);
  EXPECT_EQ(EvictionTimeLimitUs(100), UINT64_MAX);
}

TEST(EvictionPolicyTest, NamesAndKinds) {
  EXPECT_STREQ(EvictionPolicyName(EvictionPolicy::kAllkeysLru), "allkeys-lru");
  EXPECT_STREQ(EvictionPolicyName(EvictionPolicy::kVolatileTtl), "volatile-ttl");
  EXPECT_TRUE(IsVolatilePolicy(EvictionPolicy::kVolatileRandom));
  EXPECT_FALSE(IsVolatilePolicy(EvictionPolicy::kAllkeysRandom));
  EXPECT_TRUE(IsLfuPolicy(EvictionPolicy::kVolatileLfu));
  EXPECT_FALSE(IsLfuPolicy(EvictionPolicy::kNoEviction));
}

TEST(DbAccessClockTest, LruTouchAndNoTouchAndLfuCounter) {
  Db db;
  db.Set("k", Value::FromString("v"), kNow);
  EXPECT_EQ(db.Find("k", kNow)->lru(), LruClock(kNow));
  // A lookup without touch leaves the clock.
  db.Find("k", kNow + 5'000, /*touch=*/false);
  EXPECT_EQ(LruIdleMs(db.Peek("k")->lru(), kNow + 5'000), 5'000u);
  db.Find("k", kNow + 5'000);
  EXPECT_EQ(LruIdleMs(db.Peek("k")->lru(), kNow + 5'000), 0u);

  AccessClock lfu{.lfu = true, .lfu_log_factor = 0, .lfu_decay_time = 1};
  db.set_access_clock(&lfu);
  db.Set("f", Value::FromString("v"), kNow);
  EXPECT_EQ(LfuDecayedCounter(db.Peek("f")->lru(), kNow, 1), kLfuInitVal);
  for (int i = 0; i < 10; ++i) db.Find("f", kNow);
  EXPECT_EQ(LfuDecayedCounter(db.Peek("f")->lru(), kNow, 1), kLfuInitVal + 10);
  // An overwrite keeps (and bumps) the counter, as Redis keeps robj->lru.
  db.Set("f", Value::FromString("w"), kNow);
  EXPECT_EQ(LfuDecayedCounter(db.Peek("f")->lru(), kNow, 1), kLfuInitVal + 11);
}

TEST(DbEvictionTest, SamplesAllOrOnlyKeysWithTtlAndEvictsWhateverTheTtl) {
  Db db;
  std::vector<std::string> modified;
  db.on_key_modified = [&](std::string_view k) { modified.emplace_back(k); };
  for (int i = 0; i < 50; ++i) db.Set("p" + std::to_string(i), Value::FromString("v"), kNow);
  for (int i = 0; i < 5; ++i) {
    Entry* e = db.Set("t" + std::to_string(i), Value::FromString("v"), kNow);
    db.SetExpire(e, kNow - 1);  // already expired: still a candidate
  }
  std::vector<Entry*> sample;
  db.SampleEntries(/*with_ttl_only=*/true, 100, &sample);
  ASSERT_EQ(sample.size(), 100u);
  for (const Entry* e : sample) EXPECT_EQ(e->key()[0], 't');
  sample.clear();
  db.SampleEntries(false, 400, &sample);
  std::set<std::string> seen;
  for (const Entry* e : sample) seen.insert(std::string(e->key()));
  EXPECT_GT(seen.size(), 40u);  // close to uniform over 55 keys
  modified.clear();
  // `removed` runs once the key is gone, before the watchers hear of it.
  std::vector<std::string> order;
  EXPECT_TRUE(db.Evict("t0", [&]() {
    order.push_back(db.Peek("t0") == nullptr ? "gone" : "there");
    order.insert(order.end(), modified.begin(), modified.end());
  }));
  EXPECT_EQ(order, std::vector<std::string>{"gone"});
  EXPECT_FALSE(db.Evict("t0", [&]() { order.push_back("again"); }));
  EXPECT_EQ(order.size(), 1u);
  EXPECT_EQ(modified, std::vector<std::string>{"t0"});
  EXPECT_EQ(db.Size(), 54u);
  EXPECT_EQ(db.expires_count(), 4u);
  EXPECT_EQ(db.stats().expired, 0u);  // an eviction is not an expiry
}

}  // namespace
}  // namespace shardnode::node
